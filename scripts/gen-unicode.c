/* gen-unicode.c: writes server/game/nickname_data.c, the Unicode tables the
 * nickname rules need, from the ICU library (Debian libicu-dev; ICU 72 =
 * Unicode 15.0, whose UTS #39 confusable data ICU builds in).
 *
 * Run by scripts/gen-unicode (not part of the build): the output is committed
 * so that the server and the game module never link ICU.
 *
 * For every assigned code point c it computes two keys of c alone:
 *   folded key:  fold( strip( skeleton( NFKC_Casefold(c) ) ) )
 *   shape key:   fold( strip( skeleton( NFKC(c) ) ) )
 * where skeleton is UTS #39's (uspoof_getSkeleton: NFD, each character to
 * its confusable prototype, NFD), strip removes U+0300..U+036F (the accents
 * the old fold dropped) and fold is full case folding. NFKC first because
 * UTS #39's data leaves compatibility look-alikes (fullwidth, ligatures) to
 * it. The folded key makes "Ian" and "ian" one name; the shape key, which
 * looks before folding, makes "Ian" and "lan", or Greek "ΒΟΒ" and "BOB",
 * one name (folding first turns "Β" into "β", which looks like "ß").
 * A name's key is the concatenation of its characters' keys.
 *
 * Tables: the folded key where it is not c itself; the shape key where it
 * differs from the folded key; the code points that NFKC makes an ASCII
 * digit (for the blocked-word filter's leetspeak); the combining classes
 * (to put a key's marks in canonical order); Joining_Type (where a zero
 * width non-joiner is visible); the unassigned code points; the ranges of
 * Default_Ignorable_Code_Point, Bidi_Control and Extended_Pictographic. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/uspoof.h>
#include <unicode/ustring.h>
#include <unicode/uversion.h>

#define MAXU 128

static USpoofChecker *sc;
static const UNormalizer2 *nfkc, *nfkc_cf;

static void check(UErrorCode st)
{
    if (U_FAILURE(st)) {
        fprintf(stderr, "ICU: %s\n", u_errorName(st));
        exit(1);
    }
}

static int32_t key(const UChar *in, int32_t n, UChar *out, int shape)
{
    UChar a[MAXU], b[MAXU];
    UErrorCode st = U_ZERO_ERROR;
    int32_t k = unorm2_normalize(shape ? nfkc : nfkc_cf, in, n, a, MAXU, &st);
    check(st);
    k = uspoof_getSkeleton(sc, 0, a, k, b, MAXU, &st);
    check(st);
    int32_t m = 0;
    for (int32_t i = 0; i < k; i++)
        if (b[i] < 0x300 || b[i] > 0x36f)
            a[m++] = b[i];
    k = u_strFoldCase(out, MAXU, a, m, U_FOLD_CASE_DEFAULT, &st);
    check(st);
    return k;
}

static char pool[1 << 16];
static size_t used;

/* The table value of a key: one code point, or a slice of the pool. */
static uint32_t value(const UChar *k, int32_t m)
{
    UChar32 one;
    int32_t j = 0;
    if (m == 0)
        return 0x80000000u; /* empty */
    U16_NEXT(k, j, m, one);
    if (j == m)
        return (uint32_t)one;
    char u8[4 * MAXU];
    int32_t u8n;
    UErrorCode st = U_ZERO_ERROR;
    u_strToUTF8(u8, sizeof u8, &u8n, k, m, &st);
    check(st);
    if (u8n > 255 || used + (size_t)u8n > sizeof pool)
        exit(1);
    size_t at = used;
    for (size_t i = 0; i + (size_t)u8n <= used; i++)
        if (!memcmp(pool + i, u8, (size_t)u8n)) {
            at = i;
            break;
        }
    if (at == used) {
        memcpy(pool + used, u8, (size_t)u8n);
        used += (size_t)u8n;
    }
    return 0x80000000u | (uint32_t)at << 8 | (uint32_t)u8n;
}

static int assigned(UChar32 c)
{
    int t = u_charType(c);
    return t != U_UNASSIGNED && t != U_SURROGATE && t != U_PRIVATE_USE_CHAR && t != U_CONTROL_CHAR;
}

static int32_t one_key(UChar32 c, UChar *out, int shape)
{
    UChar in[2];
    int32_t k = 0;
    U16_APPEND_UNSAFE(in, k, c);
    return key(in, k, out, shape);
}

/* A Hangul syllable must key as its jamo: the runtime decomposes it. */
static void check_hangul(UChar32 c, int shape)
{
    UChar out[MAXU], jk[MAXU];
    int32_t m = one_key(c, out, shape), jm = 0, s = c - 0xac00;
    UChar32 jamo[3] = {0x1100 + s / 588, 0x1161 + (s % 588) / 28, 0x11a7 + s % 28};
    for (int i = 0; i < (s % 28 ? 3 : 2); i++)
        jm += one_key(jamo[i], jk + jm, shape);
    if (jm != m || memcmp(jk, out, (size_t)m * sizeof *out)) {
        fprintf(stderr, "U+%04X: key differs from its jamo keys\n", (unsigned)c);
        exit(1);
    }
}

static void keys(const char *name, int shape)
{
    size_t n = 0;
    printf("const uint32_t cq_nick_%s[][2] = {", name);
    for (UChar32 c = 0; c <= 0x10ffff; c++) {
        if (!assigned(c))
            continue;
        if (c >= 0xac00 && c <= 0xd7a3) {
            check_hangul(c, shape);
            continue;
        }
        UChar in[2], out[MAXU], base[MAXU];
        int32_t k = 0, m = one_key(c, out, shape);
        U16_APPEND_UNSAFE(in, k, c);
        if (shape) { /* only where it differs from the folded key */
            int32_t bm = one_key(c, base, 0);
            if (bm == m && !memcmp(base, out, (size_t)m * sizeof *out))
                continue;
        } else if (m == k && !memcmp(in, out, (size_t)k * sizeof *in)) {
            continue;
        }
        printf("%s{0x%X,0x%X},", n % 5 ? "" : "\n    ", (unsigned)c, value(out, m));
        n++;
    }
    printf("\n};\nconst size_t cq_nick_%s_n = %zu;\n\n", name, n);
}

static void ranges(const char *name, UProperty prop)
{
    printf("const struct cq_nick_range cq_nick_%s[] = {\n", name);
    int n = 0;
    for (UChar32 c = 0; c <= 0x10ffff; c++) {
        if (!u_hasBinaryProperty(c, prop))
            continue;
        UChar32 e = c;
        while (e < 0x10ffff && u_hasBinaryProperty(e + 1, prop))
            e++;
        printf("    {0x%04X, 0x%04X},\n", (unsigned)c, (unsigned)e);
        n++;
        c = e;
    }
    printf("};\nconst size_t cq_nick_%s_n = %d;\n\n", name, n);
}

int main(void)
{
    UErrorCode st = U_ZERO_ERROR;
    UVersionInfo uv;
    char uvs[U_MAX_VERSION_STRING_LENGTH];
    sc = uspoof_open(&st);
    check(st);
    nfkc = unorm2_getNFKCInstance(&st);
    check(st);
    nfkc_cf = unorm2_getNFKCCasefoldInstance(&st);
    check(st);
    u_getUnicodeVersion(uv);
    u_versionToString(uv, uvs);

    printf("/* nickname_data.c: GENERATED by scripts/gen-unicode from ICU %s (Unicode %s,\n"
           " * UTS #39 confusables). Do not edit; regenerate. */\n/* clang-format off */\n",
           U_ICU_VERSION, uvs);
    printf("#include \"nickname_data.h\"\n\n");
    printf("const char cq_nick_unicode_version[] = \"%s\";\n\n", uvs);
    keys("keys", 0);
    keys("shape_keys", 1);

    size_t n = 0;
    printf("const uint32_t cq_nick_digits[][2] = {");
    for (UChar32 c = 0x80; c <= 0x10ffff; c++) {
        if (!assigned(c))
            continue;
        UChar in[2], out[MAXU];
        int32_t k = 0;
        U16_APPEND_UNSAFE(in, k, c);
        int32_t m = unorm2_normalize(nfkc_cf, in, k, out, MAXU, &st);
        check(st);
        if (m == 1 && out[0] >= '0' && out[0] <= '9') {
            printf("%s{0x%X,'%c'},", n % 5 ? "" : "\n    ", (unsigned)c, (char)out[0]);
            n++;
        }
    }
    printf("\n};\nconst size_t cq_nick_digits_n = %zu;\n\n", n);

    /* An initializer list, not a string literal: C limits those to 4095. */
    printf("const char cq_nick_key_pool[] = {");
    for (size_t i = 0; i < used; i++)
        printf("%s'\\x%02x',", i % 12 ? "" : "\n    ", (unsigned char)pool[i]);
    printf("\n};\n\n");

    /* Canonical_Combining_Class, where not 0: the runtime puts the marks of
     * a key in canonical order, as the skeleton's NFD does. */
    n = 0;
    printf("const struct cq_nick_ccc cq_nick_ccc[] = {");
    for (UChar32 c = 0; c <= 0x10ffff; c++) {
        uint8_t k = u_getCombiningClass(c);
        if (!k)
            continue;
        UChar32 e = c;
        while (e < 0x10ffff && u_getCombiningClass(e + 1) == k)
            e++;
        printf("%s{0x%X,0x%X,%u},", n % 4 ? "" : "\n    ", (unsigned)c, (unsigned)e, k);
        n++;
        c = e;
    }
    printf("\n};\nconst size_t cq_nick_ccc_n = %zu;\n\n", n);

    /* Joining_Type L, D, R, T (Arabic-style joining), for where a zero width
     * non-joiner is visible (IDNA 2008's CONTEXTJ rule). */
    n = 0;
    printf("const struct cq_nick_joining cq_nick_joining[] = {");
    for (UChar32 c = 0; c <= 0x10ffff; c++) {
        int jt = u_getIntPropertyValue(c, UCHAR_JOINING_TYPE);
        char t = jt == U_JT_LEFT_JOINING    ? 'L'
                 : jt == U_JT_DUAL_JOINING  ? 'D'
                 : jt == U_JT_RIGHT_JOINING ? 'R'
                 : jt == U_JT_TRANSPARENT   ? 'T'
                                            : 0;
        if (!t)
            continue;
        UChar32 e = c;
        while (e < 0x10ffff && u_getIntPropertyValue(e + 1, UCHAR_JOINING_TYPE) == jt)
            e++;
        printf("%s{0x%X,0x%X,'%c'},", n % 4 ? "" : "\n    ", (unsigned)c, (unsigned)e, t);
        n++;
        c = e;
    }
    printf("\n};\nconst size_t cq_nick_joining_n = %zu;\n\n", n);

    /* Unassigned code points (not the noncharacters, refused by rule): they
     * show as the same empty box whatever their number. */
    n = 0;
    printf("const struct cq_nick_range cq_nick_unassigned[] = {");
    for (UChar32 c = 0; c <= 0x10ffff; c++) {
        if (u_charType(c) != U_UNASSIGNED)
            continue;
        UChar32 e = c;
        while (e < 0x10ffff && u_charType(e + 1) == U_UNASSIGNED)
            e++;
        printf("%s{0x%X,0x%X},", n % 5 ? "" : "\n    ", (unsigned)c, (unsigned)e);
        n++;
        c = e;
    }
    printf("\n};\nconst size_t cq_nick_unassigned_n = %zu;\n\n", n);

    ranges("ignorable", UCHAR_DEFAULT_IGNORABLE_CODE_POINT);
    ranges("bidi_control", UCHAR_BIDI_CONTROL);
    ranges("pictographic", UCHAR_EXTENDED_PICTOGRAPHIC);
    uspoof_close(sc);
    return 0;
}
