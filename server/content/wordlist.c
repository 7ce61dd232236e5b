/* wordlist.c: nickname filter on confusable keys (nickname.h). */
#include "wordlist.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nickname.h"

/* Keeps the letters of a key: ASCII a-z and every non-ASCII character
 * (the key has folded case, look-alikes and leet digits already). Works on
 * bytes: UTF-8 never hides an ASCII byte inside a longer character. `cap`
 * exceeds strlen(in), so nothing is cut. */
static void squeeze(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 1 < cap; in++) {
        unsigned char c = (unsigned char)*in;
        if ((c >= 'a' && c <= 'z') || c >= 0x80)
            out[o++] = (char)c;
    }
    out[o] = '\0';
}

static int add_one(struct cq_wordlist *wl, const char *word, bool sub, unsigned how)
{
    char key[CQ_NICK_KEY_MAX], sq[CQ_NICK_KEY_MAX + 1];
    if (!cq_nickname_key(word, how | CQ_NICK_LEET, key, sizeof key))
        return -1;
    sq[0] = '*';
    squeeze(key, sq + 1, sizeof sq - 1);
    if (!sq[1])
        return 0;
    for (size_t i = 0; i < wl->n; i++)
        if (!strcmp(wl->words[i], sub ? sq : sq + 1))
            return 0; /* both keys alike, or listed twice */
    char **nw = realloc(wl->words, (wl->n + 1) * sizeof *nw);
    if (!nw)
        return -1;
    wl->words = nw;
    if (!(wl->words[wl->n] = strdup(sub ? sq : sq + 1)))
        return -1;
    wl->n++;
    return 0;
}

/* A word is listed by its keys, as a nickname is read both ways: the shape
 * key of the word in capitals too ("BITCH" looks like "BlTCH"). */
int cq_wordlist_add(struct cq_wordlist *wl, const char *word)
{
    char upper[256];
    bool sub = *word == '*';
    size_t i = 0;
    for (const char *p = word + sub; *p && i + 1 < sizeof upper; p++)
        upper[i++] = *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
    upper[i] = '\0';
    if (add_one(wl, word + sub, sub, CQ_NICK_FOLDED) || add_one(wl, word + sub, sub, CQ_NICK_SHAPE))
        return -1;
    return strlen(word + sub) < sizeof upper ? add_one(wl, upper, sub, CQ_NICK_SHAPE) : 0;
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

int cq_wordlist_load_text(const char *text, struct cq_wordlist *wl)
{
    char line[256];
    memset(wl, 0, sizeof *wl);
    while (*text) {
        size_t n = strcspn(text, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), text);
        line[strcspn(line, "#\r")] = '\0';
        if (cq_wordlist_add(wl, line)) {
            cq_wordlist_free(wl);
            return -1;
        }
        text += n + (text[n] == '\n');
    }
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

static bool blocks_key(const struct cq_wordlist *wl, const char *key)
{
    char all[CQ_NICK_KEY_MAX], word[CQ_NICK_KEY_MAX], raw[CQ_NICK_KEY_MAX];
    size_t start = 0;
    squeeze(key, all, sizeof all);
    if (listed(wl, all, true))
        return true;
    /* Each space-separated word on its own. */
    for (size_t i = 0;; i++) {
        if (key[i] == ' ' || !key[i]) {
            memcpy(raw, key + start, i - start);
            raw[i - start] = '\0';
            squeeze(raw, word, sizeof word);
            if (*word && listed(wl, word, false))
                return true;
            if (!key[i])
                break;
            start = i + 1;
        }
    }
    return false;
}

bool cq_wordlist_blocks(const struct cq_wordlist *wl, const char *nickname)
{
    char key[CQ_NICK_KEY_MAX];
    for (unsigned how = CQ_NICK_FOLDED; how <= CQ_NICK_SHAPE; how++) {
        if (!cq_nickname_key(nickname, how | CQ_NICK_LEET, key, sizeof key))
            return true; /* cannot be checked: refused (nicknames fit, see nickname.h) */
        if (blocks_key(wl, key))
            return true;
    }
    return false;
}
