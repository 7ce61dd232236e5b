/* Text folding and trimming for nicknames and typed answers. */
#include <criterion/criterion.h>

#include "text.h"
#include "wordlist.h"

Test(text, fold)
{
    char out[64];
    cr_assert(cq_text_fold("  Ça  VA\t bien ", out, sizeof out));
    cr_assert_str_eq(out, "ca va bien");
    cr_assert(cq_text_fold("Łódź Ñandú", out, sizeof out));
    cr_assert_str_eq(out, "lodz nandu");
    cr_assert(!cq_text_fold("\xff", out, sizeof out));
    cr_assert(!cq_text_fold("far too long for four", out, 5));
}

Test(text, trim_keeps_case)
{
    char out[64];
    cr_assert(cq_text_trim("  Ana   María ", out, sizeof out));
    cr_assert_str_eq(out, "Ana María");
    cr_assert_eq(cq_text_len(out), 9);
}

Test(text, valid_rejects_controls_and_bad_utf8)
{
    cr_assert(cq_text_valid("héllo"));
    cr_assert(!cq_text_valid("a\x01"
                             "b"));
    cr_assert(!cq_text_valid("\xc0\xaf"));     /* overlong */
    cr_assert(!cq_text_valid("\xed\xa0\x80")); /* surrogate */
    cr_assert(!cq_text_valid("a\xe2\x80\xae"
                             "b")); /* right-to-left override */
}

Test(wordlist, whole_words_leet_and_substrings)
{
    struct cq_wordlist wl = {0};
    char f[64];
    cr_assert_eq(cq_wordlist_add(&wl, "badword"), 0);
    cr_assert_eq(cq_wordlist_add(&wl, "*longbadword"), 0);
    cr_assert_eq(cq_wordlist_add(&wl, "ass"), 0);
    cq_text_fold("B4DW0RD", f, sizeof f);
    cr_assert(cq_wordlist_blocks(&wl, f));
    cq_text_fold("the badword", f, sizeof f);
    cr_assert(cq_wordlist_blocks(&wl, f));
    cq_text_fold("bad word", f, sizeof f);
    cr_assert(cq_wordlist_blocks(&wl, f)); /* run together */
    cq_text_fold("Cassandra", f, sizeof f);
    cr_assert(!cq_wordlist_blocks(&wl, f));
    cq_text_fold("xxlongbadwordxx", f, sizeof f);
    cr_assert(cq_wordlist_blocks(&wl, f));
    cq_wordlist_free(&wl);
}

/* The shipped list blocks the obvious and leaves real names alone. */
Test(wordlist, shipped_list)
{
    struct cq_wordlist wl;
    char f[64];
    cr_assert_eq(cq_wordlist_load(CQ_SOURCE_DIR "/content/blocked-words.txt", &wl), 0);
    const char *blocked[] = {"Fuck", "sh1t happens", "B1TCH", "big asshole", "xxFUCKxx"};
    const char *fine[] = {"Scunthorpe", "Cassandra", "the therapist", "Matsushita",
                          "Essex",      "Sussex FC", "Hancock"};
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++) {
        cq_text_fold(blocked[i], f, sizeof f);
        cr_expect(cq_wordlist_blocks(&wl, f), "%s should be blocked", blocked[i]);
    }
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        cq_text_fold(fine[i], f, sizeof f);
        cr_expect(!cq_wordlist_blocks(&wl, f), "%s should be allowed", fine[i]);
    }
    cq_wordlist_free(&wl);
}
