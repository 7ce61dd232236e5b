/* The nickname rules and the confusable key, driven by the tables in
 * tests/fixtures/nicknames/ (README.md there says their shape). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "cq_error.h"
#include "nickname.h"
#include "wordlist.h"

#define FIXTURES CQ_SOURCE_DIR "/tests/fixtures/nicknames/"

static json_t *load(const char *name)
{
    json_error_t e;
    json_t *j = json_load_file(name, JSON_REJECT_DUPLICATES, &e);
    cr_assert_not_null(j, "%s:%d: %s", name, e.line, e.text);
    return j;
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

Test(nickname, check_table)
{
    json_t *cases = load(FIXTURES "check.json");
    size_t i;
    json_t *c;
    cr_assert_gt(json_array_size(cases), 40);
    json_array_foreach(cases, i, c)
    {
        struct cq_nickname out;
        char why[CQ_NICK_WHY_MAX] = "";
        const char *nick = str(c, "nickname"), *key = str(c, "key"), *err = str(c, "error");
        int r = cq_nickname_check(nick, 20, &out, why, sizeof why);
        if (key) {
            cr_expect_eq(r, 0, "case %zu (%s) refused: %s", i, nick, why);
            if (!r)
                cr_expect_str_eq(out.key, key, "case %zu (%s): key %s", i, nick, out.key);
            if (!r && str(c, "shown"))
                cr_expect_str_eq(out.shown, str(c, "shown"), "case %zu", i);
        } else {
            cr_assert_not_null(err, "case %zu has neither key nor error", i);
            cr_expect_eq(r, CQ_ENICKNAME_INVALID, "case %zu (%s) accepted", i, nick);
            cr_expect(strstr(why, err) != NULL, "case %zu: \"%s\" does not say \"%s\"", i, why,
                      err);
            cr_expect(strncmp(why, "nickname ", 9) == 0, "case %zu: %s", i, why);
        }
    }
    json_decref(cases);
}

static void key_of(const char *nick, char *key)
{
    struct cq_nickname out;
    char why[CQ_NICK_WHY_MAX];
    cr_assert_eq(cq_nickname_check(nick, 20, &out, why, sizeof why), 0, "%s: %s", nick, why);
    strcpy(key, out.key);
}

/* The shape key, in a buffer of its own per call (two live at once). */
static const char *shape_of(const char *nick)
{
    static char buf[2][CQ_NICK_KEY_MAX];
    static int turn;
    struct cq_nickname out;
    char why[CQ_NICK_WHY_MAX];
    cr_assert_eq(cq_nickname_check(nick, 20, &out, why, sizeof why), 0, "%s: %s", nick, why);
    turn ^= 1;
    strcpy(buf[turn], out.shape);
    return buf[turn];
}

/* Look-alikes: one of the two keys is equal (nickname.h). */
Test(nickname, look_alikes_share_a_key)
{
    json_t *t = load(FIXTURES "same.json"), *group, *pair;
    size_t i, j;
    json_array_foreach(json_object_get(t, "same"), i, group)
    {
        char first[CQ_NICK_KEY_MAX], k[CQ_NICK_KEY_MAX];
        key_of(json_string_value(json_array_get(group, 0)), first);
        for (j = 1; j < json_array_size(group); j++) {
            const char *n = json_string_value(json_array_get(group, j));
            key_of(n, k);
            cr_expect(
                !strcmp(k, first) ||
                    !strcmp(shape_of(n), shape_of(json_string_value(json_array_get(group, 0)))),
                "group %zu: %s (%s, %s)", i, n, k, first);
        }
    }
    json_array_foreach(json_object_get(t, "differ"), i, pair)
    {
        char a[CQ_NICK_KEY_MAX], b[CQ_NICK_KEY_MAX];
        key_of(json_string_value(json_array_get(pair, 0)), a);
        key_of(json_string_value(json_array_get(pair, 1)), b);
        cr_expect_str_neq(a, b, "pair %zu", i);
        cr_expect_str_neq(shape_of(json_string_value(json_array_get(pair, 0))),
                          shape_of(json_string_value(json_array_get(pair, 1))), "pair %zu", i);
    }
    json_decref(t);
}

Test(nickname, blocked_words_through_look_alikes)
{
    struct cq_wordlist wl;
    json_t *cases = load(FIXTURES "blocked.json"), *c;
    size_t i;
    cr_assert_eq(cq_wordlist_load(CQ_SOURCE_DIR "/content/blocked-words.txt", &wl), 0);
    json_array_foreach(cases, i, c)
    {
        const char *n = str(c, "nickname");
        bool want = json_is_true(json_object_get(c, "blocked"));
        cr_expect_eq(cq_wordlist_blocks(&wl, n), want, "%s should %sbe blocked", n,
                     want ? "" : "not ");
    }
    cq_wordlist_free(&wl);
    json_decref(cases);
}

/* A key never overflows its buffer: it fails instead. */
Test(nickname, key_has_a_ceiling)
{
    char out[8];
    cr_assert(cq_nickname_key("Ann", false, out, sizeof out));
    cr_assert_str_eq(out, "ann");
    cr_assert_not(cq_nickname_key("mmmm", false, out, sizeof out)); /* "rnrnrnrn" */
    cr_assert_not(cq_nickname_key("\xff", false, out, sizeof out));
    cr_assert_str_eq(cq_nickname_unicode_version(), "15.0");
}
