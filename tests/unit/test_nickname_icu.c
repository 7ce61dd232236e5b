/* The nickname keys against ICU itself, on whole strings: the tables hold
 * the key of each character alone (scripts/gen-unicode), and a name's key
 * is their concatenation. This checks that concatenation, the table lookup
 * and the Hangul arithmetic against ICU's skeleton of the whole string, for
 * the fixture names and for random strings over the scripts look-alikes
 * come from. Built only where ICU is installed (libicu-dev). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>

#include "cq_utf8.h"
#include "nickname.h"
#include "text.h"

#define MAXU 4096

/* The key nickname.h defines, computed by ICU on the whole string. */
static void icu_key(const char *s, unsigned how, char *out, size_t cap)
{
    static UChar in[MAXU], a[MAXU], b[MAXU];
    UErrorCode st = U_ZERO_ERROR;
    int32_t n, k, m = 0;
    USpoofChecker *sc = uspoof_open(&st);
    const UNormalizer2 *norm =
        how == CQ_NICK_SHAPE ? unorm2_getNFKCInstance(&st) : unorm2_getNFKCCasefoldInstance(&st);
    u_strFromUTF8(in, MAXU, &n, s, -1, &st);
    /* Default-ignorables vanish from keys (NFKC_Casefold drops them too). */
    for (int32_t i = 0; i < n; i++)
        if (!u_hasBinaryProperty(in[i], UCHAR_DEFAULT_IGNORABLE_CODE_POINT))
            in[m++] = in[i];
    k = unorm2_normalize(norm, in, m, a, MAXU, &st);
    k = uspoof_getSkeleton(sc, 0, a, k, b, MAXU, &st);
    m = 0;
    for (int32_t i = 0; i < k; i++)
        if (b[i] < 0x300 || b[i] > 0x36f)
            a[m++] = b[i];
    k = u_strFoldCase(b, MAXU, a, m, U_FOLD_CASE_DEFAULT, &st);
    u_strToUTF8(out, (int32_t)cap, NULL, b, k, &st);
    cr_assert(U_SUCCESS(st), "ICU: %s", u_errorName(st));
    uspoof_close(sc);
}

static unsigned checked, differ;

static void compare(const char *s, bool must)
{
    char ours[CQ_NICK_KEY_MAX], raw[4 * MAXU], theirs[4 * MAXU];
    for (unsigned how = CQ_NICK_FOLDED; how <= CQ_NICK_SHAPE; how++) {
        cr_assert(cq_nickname_key(s, how, ours, sizeof ours), "%s", s);
        icu_key(s, how, raw, sizeof raw);
        /* A key has no space at either end, even where a character next to
         * the space keys to nothing (an accent): one space between words. */
        cr_assert(cq_text_trim(raw, theirs, sizeof theirs));
        checked++;
        if (strcmp(ours, theirs)) {
            differ++;
            cr_expect(!must, "%s key of \"%s\": ours \"%s\", ICU \"%s\"", how ? "shape" : "folded",
                      s, ours, theirs);
        }
    }
}

Test(nickname_icu, fixture_names_key_as_icu_says)
{
    json_error_t e;
    json_t *cases = json_load_file(CQ_SOURCE_DIR "/tests/fixtures/nicknames/check.json", 0, &e);
    json_t *c;
    size_t i;
    cr_assert_not_null(cases, "%s", e.text);
    json_array_foreach(cases, i, c)
    {
        struct cq_nickname out;
        char why[CQ_NICK_WHY_MAX];
        if (!cq_nickname_check(json_string_value(json_object_get(c, "nickname")), 20, &out, why,
                               sizeof why))
            compare(out.shown, true);
    }
    json_decref(cases);
}

/* Random names over the ranges look-alikes come from; with `stacks`, each
 * character carries up to three combining marks of mixed classes, in any
 * order (the key puts them in canonical order, as ICU's NFD does). */
static const uint32_t ranges[][2] = {
    {0x20, 0x7e},       {0xa1, 0x24f},    {0x300, 0x36f},   {0x370, 0x3ff},   {0x400, 0x52f},
    {0x591, 0x5c7},     {0x610, 0x61a},   {0x64b, 0x65f},   {0x900, 0x97f},   {0x1100, 0x11ff},
    {0x1d00, 0x1dbf},   {0x1e00, 0x1fff}, {0x2100, 0x218f}, {0x2460, 0x24ff}, {0x3131, 0x318e},
    {0xac00, 0xd7a3},   {0xf900, 0xfaff}, {0xfb00, 0xfb4f}, {0xff01, 0xffee}, {0x1d400, 0x1d7ff},
    {0x1f100, 0x1f1ff},
};
static const uint32_t marks[][2] = {
    {0x300, 0x36f}, {0x591, 0x5c7}, {0x64b, 0x65f}, {0x1dc0, 0x1dff}, {0x20d0, 0x20f0},
};

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static bool put(char *s, size_t cap, size_t *o, const uint32_t (*r)[2], size_t nr)
{
    const uint32_t *g = r[next() % nr];
    uint32_t cp = g[0] + next() % (g[1] - g[0] + 1);
    int t = u_charType((UChar32)cp);
    char u[4];
    if (t == U_UNASSIGNED || t == U_CONTROL_CHAR)
        return true;
    size_t k = cq_utf8_encode(cp, u);
    if (*o + k + 1 >= cap)
        return false;
    memcpy(s + *o, u, k);
    *o += k;
    return true;
}

static void random_name(char *s, size_t cap, bool stacks)
{
    size_t o = 0, len = 1 + next() % 8;
    for (size_t i = 0; i < len; i++) {
        if (!put(s, cap, &o, ranges, sizeof ranges / sizeof ranges[0]))
            break;
        for (uint32_t m = stacks ? next() % 4 : 0; m > 0; m--)
            if (!put(s, cap, &o, marks, sizeof marks / sizeof marks[0]))
                break;
    }
    s[o] = '\0';
}

Test(nickname_icu, random_names_key_as_icu_says)
{
    char s[96], t[96];
    for (int i = 0; i < 20000; i++) {
        random_name(s, sizeof s, false);
        cr_assert(cq_text_trim(s, t, sizeof t)); /* keys are of trimmed names */
        compare(t, true);
    }
    cr_log_info("%u keys compared with ICU, %u differ", checked, differ);
}

Test(nickname_icu, random_names_with_stacked_marks)
{
    char s[96], t[96];
    for (int i = 0; i < 20000; i++) {
        random_name(s, sizeof s, true);
        cr_assert(cq_text_trim(s, t, sizeof t));
        compare(t, true);
    }
    cr_log_info("stacked marks: %u keys compared with ICU, %u differ", checked, differ);
}
