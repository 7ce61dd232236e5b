/* libFuzzer target: the nickname rules and the blocked-word filter on any
 * bytes (scripts/fuzz 60 nickname). Checks the promises nickname.h makes:
 * an accepted name has a non-blank key, and checking it again gives the
 * same shown name and keys. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nickname.h"
#include "wordlist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cq_wordlist wl;
    static int loaded;
    struct cq_nickname a, b;
    char why[CQ_NICK_WHY_MAX];
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    if (!loaded) {
        cq_wordlist_add(&wl, "badword");
        cq_wordlist_add(&wl, "*longbadword");
        loaded = 1;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if (cq_nickname_check(s, 40, &a, why, sizeof why) == 0) {
        if (!a.key[0] || strspn(a.key, " ") == strlen(a.key))
            abort();
        if (cq_nickname_check(a.shown, 40, &b, why, sizeof why) != 0 || strcmp(a.shown, b.shown) ||
            strcmp(a.key, b.key) || strcmp(a.shape, b.shape))
            abort();
        (void)cq_wordlist_blocks(&wl, a.shown);
    }
    free(s);
    return 0;
}
