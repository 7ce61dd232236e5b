/* Text folding and trimming for nicknames and typed answers. */
#include <criterion/criterion.h>
#include <string.h>

#include "cq_utf8.h"
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

/* The built-in list (for a content folder without one) is the shipped
 * file, entry for entry. */
Test(wordlist, the_built_in_list_is_the_shipped_file)
{
    struct cq_wordlist file, built;
    cr_assert_eq(cq_wordlist_load(CQ_SOURCE_DIR "/content/blocked-words.txt", &file), 0);
    cr_assert_eq(cq_wordlist_load_text(cq_wordlist_builtin, &built), 0);
    cr_assert_gt(file.n, 50);
    cr_assert_eq(built.n, file.n);
    for (size_t i = 0; i < file.n; i++)
        cr_assert_str_eq(built.words[i], file.words[i]);
    cq_wordlist_free(&file);
    cq_wordlist_free(&built);
}

/* The one decoder (cq_utf8.h) every layer uses. */
Test(utf8, decoder_accepts_only_well_formed_utf8)
{
    uint32_t cp = 0;
    cr_assert_eq(cq_utf8_decode("A", 1, &cp), 1);
    cr_assert_eq(cp, 'A');
    cr_assert_eq(cq_utf8_decode("\xc3\xa9", 2, &cp), 2);
    cr_assert_eq(cp, 0xe9);
    cr_assert_eq(cq_utf8_decode("\xf0\x9f\x91\xa9", 4, &cp), 4);
    cr_assert_eq(cp, 0x1f469);
    cr_assert_eq(cq_utf8_decode("\xc3\xa9", 1, &cp), 0);         /* cut by the length */
    cr_assert_eq(cq_utf8_decode("\xc0\xaf", 2, &cp), 0);         /* overlong */
    cr_assert_eq(cq_utf8_decode("\xe0\x80\xaf", 3, &cp), 0);     /* overlong */
    cr_assert_eq(cq_utf8_decode("\xed\xa0\x80", 3, &cp), 0);     /* surrogate */
    cr_assert_eq(cq_utf8_decode("\xf4\x90\x80\x80", 4, &cp), 0); /* above U+10FFFF */
    cr_assert_eq(cq_utf8_decode("\xa0", 1, &cp), 0);             /* lone continuation */
    char u[4];
    cr_assert_eq(cq_utf8_encode(0x3000, u), 3);
    cr_assert_eq(memcmp(u, "\xe3\x80\x80", 3), 0);
    cr_assert_eq(cq_utf8_encode(0xd800, u), 0);
    cr_assert(cq_utf8_valid("h\xc3\xa9llo"));
    cr_assert_not(cq_utf8_valid("h\xe9llo"));
}

/* One white-space table: Unicode's White_Space, in nicknames and answers
 * as in banks and imports (the game's used to know only ASCII and U+00A0). */
Test(utf8, one_white_space_table)
{
    char out[64];
    cr_assert(cq_text_trim("\xe3\x80\x80"
                           "Ann\xe2\x80\x83Lee\xe1\x9a\x80",
                           out, sizeof out));
    cr_assert_str_eq(out, "Ann Lee");
    cr_assert(cq_text_trim("\xe3\x80\x80\xe2\x80\x83", out, sizeof out));
    cr_assert_str_eq(out, "");
    cr_assert(cq_utf8_is_space(0x3000) && cq_utf8_is_space(0x2003) && cq_utf8_is_space(0x1680));
    cr_assert(cq_utf8_is_space(0xa0) && cq_utf8_is_space(0x85) && cq_utf8_is_space(0x202f));
    cr_assert_not(cq_utf8_is_space(0x200b)); /* invisible, but not white space */
    cr_assert_not(cq_utf8_is_space(0xfeff));
    cr_assert_not(cq_utf8_is_space(0x3164));
    cr_assert_not(cq_utf8_is_space(0x2800));
}

/* ---- secret.h: SHA-256 against FIPS 180-4 / NIST CAVP vectors ---------- */

#include "secret.h"

Test(secret, sha256_known_vectors)
{
    char out[CQ_SECRET_DIGEST_LEN + 1];
    cq_secret_digest("", out);
    cr_assert_str_eq(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    cq_secret_digest("abc", out);
    cr_assert_str_eq(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* 56 bytes: the length no longer fits the first padding block. */
    cq_secret_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", out);
    cr_assert_str_eq(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* Two full blocks and a tail. */
    cq_secret_digest(
        "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnop"
        "qklmnopqrlmnopqrsmnopqrstnopqrstu",
        out);
    cr_assert_str_eq(out, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
    /* 64 bytes exactly: padding is a block of its own. */
    cq_secret_digest("0123456789012345678901234567890123456789012345678901234567890123", out);
    cr_assert_str_eq(out, "9674d9e078535b7cec43284387a6ee39956188e735a85452b0050b55341cda56");
}
