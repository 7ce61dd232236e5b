/* wordlist.c: nickname filter. */
#include "wordlist.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* Letters and digits only, leetspeak digits read as letters. */
static void squeeze(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 1 < cap; in++) {
        char c = *in;
        if (c >= '0' && c <= '9') {
            switch (c) {
            case '0':
                c = 'o';
                break;
            case '1':
                c = 'i';
                break;
            case '3':
                c = 'e';
                break;
            case '4':
                c = 'a';
                break;
            case '5':
                c = 's';
                break;
            case '7':
                c = 't';
                break;
            default:
                break;
            }
            out[o++] = c;
        } else if ((c >= 'a' && c <= 'z') || (unsigned char)c >= 0x80) {
            out[o++] = c;
        }
    }
    out[o] = '\0';
}

int cq_wordlist_add(struct cq_wordlist *wl, const char *word)
{
    char fold[256], sq[256];
    bool sub = *word == '*';
    if (!cq_text_fold(word + sub, fold, sizeof fold))
        return -1;
    sq[0] = '*';
    squeeze(fold, sq + 1, sizeof sq - 1);
    if (!sq[1])
        return 0;
    char **nw = realloc(wl->words, (wl->n + 1) * sizeof *nw);
    if (!nw)
        return -1;
    wl->words = nw;
    if (!(wl->words[wl->n] = strdup(sub ? sq : sq + 1)))
        return -1;
    wl->n++;
    return 0;
}

int cq_wordlist_load(const char *path, struct cq_wordlist *wl)
{
    char line[256];
    FILE *f = fopen(path, "r");
    memset(wl, 0, sizeof *wl);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "#\r\n")] = '\0';
        if (cq_wordlist_add(wl, line)) {
            fclose(f);
            cq_wordlist_free(wl);
            return -1;
        }
    }
    fclose(f);
    return 0;
}

void cq_wordlist_free(struct cq_wordlist *wl)
{
    for (size_t i = 0; i < wl->n; i++)
        free(wl->words[i]);
    free(wl->words);
    memset(wl, 0, sizeof *wl);
}

static bool listed(const struct cq_wordlist *wl, const char *w, bool whole)
{
    for (size_t i = 0; i < wl->n; i++) {
        const char *e = wl->words[i];
        if (*e == '*' ? whole && strstr(w, e + 1) != NULL : !strcmp(w, e))
            return true;
    }
    return false;
}

bool cq_wordlist_blocks(const struct cq_wordlist *wl, const char *folded)
{
    char all[512], word[512];
    size_t start = 0;
    squeeze(folded, all, sizeof all);
    if (listed(wl, all, true))
        return true;
    /* Each space-separated word on its own. */
    for (size_t i = 0;; i++) {
        if (folded[i] == ' ' || !folded[i]) {
            size_t n = i - start < sizeof word - 1 ? i - start : sizeof word - 1;
            char raw[512];
            memcpy(raw, folded + start, n);
            raw[n] = '\0';
            squeeze(raw, word, sizeof word);
            if (*word && listed(wl, word, false))
                return true;
            if (!folded[i])
                break;
            start = i + 1;
        }
    }
    return false;
}
