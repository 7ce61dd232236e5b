/* nickname.c: the nickname rules and the confusable key (see nickname.h). */
#include "nickname.h"

#include "cq_error.h"
#include "cq_utf8.h"
#include "nickname_data.h"
#include "text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static bool in_ranges(const struct cq_nick_range *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

static uint8_t ccc_of(uint32_t cp);

/* Joining_Type of cp: 'L', 'D', 'R', 'T', or 0 for any other. */
static char joining_type(uint32_t cp)
{
    size_t lo = 0, hi = cq_nick_joining_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < cq_nick_joining[mid].lo)
            hi = mid;
        else if (cp > cq_nick_joining[mid].hi)
            lo = mid + 1;
        else
            return cq_nick_joining[mid].type;
    }
    return 0;
}

/* IDNA 2008's CONTEXTJ rule for U+200C between joining letters:
 * (L|D) T* ZWNJ T* (R|D). There it keeps two letters from joining, which
 * Persian spelling needs and the eye sees. */
static bool zwnj_between_joining_letters(const uint32_t *cps, size_t n, size_t i)
{
    size_t j = i, k = i + 1;
    while (j > 0 && joining_type(cps[j - 1]) == 'T')
        j--;
    while (k < n && joining_type(cps[k]) == 'T')
        k++;
    if (j == 0 || k == n)
        return false;
    char before = joining_type(cps[j - 1]), after = joining_type(cps[k]);
    return (before == 'L' || before == 'D') && (after == 'R' || after == 'D');
}

static bool is_pictographic(uint32_t cp)
{
    return in_ranges(cq_nick_pictographic, cq_nick_pictographic_n, cp);
}

static bool is_emoji_modifier(uint32_t cp)
{
    return cp >= 0x1f3fb && cp <= 0x1f3ff; /* skin tones */
}

/* Decodes the code points of a well-formed string into `cps`. */
static size_t decode_all(const char *s, uint32_t *cps, size_t cap)
{
    const char *end = s + strlen(s);
    size_t n = 0;
    while (s < end && n < cap) {
        size_t k = cq_utf8_decode(s, (size_t)(end - s), &cps[n]);
        if (!k)
            return 0;
        s += k;
        n++;
    }
    return s == end ? n : 0;
}

/* Why code point i of cps may not stand in a nickname, or NULL. A zero
 * width joiner is visible where it joins two emoji into one picture (👩‍💻),
 * and a presentation selector (U+FE0E, U+FE0F) where it follows an emoji or
 * a keycap's digit: everywhere else both are invisible. */
static const char *refusal(const uint32_t *cps, size_t n, size_t i)
{
    uint32_t cp = cps[i];
    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
        return "a control or line-break character";
    if (in_ranges(cq_nick_bidi_control, cq_nick_bidi_control_n, cp))
        return "an invisible or direction-control character";
    if ((cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xf0000 || (cp >= 0xfdd0 && cp <= 0xfdef) ||
        (cp & 0xfffe) == 0xfffe)
        return "a private-use or non-character code point";
    if (in_ranges(cq_nick_unassigned, cq_nick_unassigned_n, cp))
        return "a code point that Unicode 15.0 leaves unassigned";
    /* After a virama, both joiners choose a visible conjunct form (IDNA). */
    if ((cp == 0x200c || cp == 0x200d) && i > 0 && ccc_of(cps[i - 1]) == 9)
        return NULL;
    if (cp == 0x200c && zwnj_between_joining_letters(cps, n, i))
        return NULL;
    if (cp == 0x200d && i > 0 && i + 1 < n) {
        size_t j = i - 1;
        while (j > 0 && (cps[j] == 0xfe0f || is_emoji_modifier(cps[j])))
            j--;
        if (is_pictographic(cps[j]) && is_pictographic(cps[i + 1]))
            return NULL;
    }
    if ((cp == 0xfe0f || cp == 0xfe0e) && i > 0) {
        uint32_t prev = cps[i - 1];
        bool keycap = ((prev >= '0' && prev <= '9') || prev == '#' || prev == '*') && i + 1 < n &&
                      cps[i + 1] == 0x20e3;
        if (is_pictographic(prev) || keycap)
            return NULL;
    }
    /* U+2800 (braille blank) is not default-ignorable but shows nothing. */
    if (cp == 0x2800 || in_ranges(cq_nick_ignorable, cq_nick_ignorable_n, cp))
        return "an invisible or direction-control character";
    return NULL;
}

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    if (!why || !cap)
        return;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

int cq_nickname_check(const char *raw, unsigned max_chars, struct cq_nickname *out, char *why,
                      size_t why_cap)
{
    /* The decoder lets through at most 4 x nickname_max (at most 40) code
     * points; more is refused here as too long. */
    uint32_t cps[4 * CQ_NICK_CHARS_CAP];
    size_t n;

    if (!cq_utf8_valid(raw)) {
        say(why, why_cap, "nickname is not valid UTF-8");
        return CQ_ENICKNAME_INVALID;
    }
    n = decode_all(raw, cps, sizeof cps / sizeof cps[0]);
    if ((!n && *raw) || !cq_text_trim(raw, out->shown, sizeof out->shown)) {
        say(why, why_cap, "nickname has more than %u characters", max_chars);
        return CQ_ENICKNAME_INVALID;
    }
    for (size_t i = 0, marks = 0; i < n; i++) {
        const char *what = refusal(cps, n, i);
        if (what) {
            say(why, why_cap, "nickname contains %s (U+%04X)", what, (unsigned)cps[i]);
            return CQ_ENICKNAME_INVALID;
        }
        marks = ccc_of(cps[i]) ? marks + 1 : 0;
        if (marks > CQ_NICK_MARKS_MAX) {
            say(why, why_cap,
                "nickname stacks more than %d combining marks on one character (U+%04X)",
                CQ_NICK_MARKS_MAX, (unsigned)cps[i]);
            return CQ_ENICKNAME_INVALID;
        }
    }
    size_t len = cq_utf8_len(out->shown);
    if (len > max_chars) {
        say(why, why_cap, "nickname has %zu characters after trimming; at most %u are allowed", len,
            max_chars);
        return CQ_ENICKNAME_INVALID;
    }
    if (!cq_nickname_key(out->shown, CQ_NICK_FOLDED, out->key, sizeof out->key) ||
        !cq_nickname_key(out->shown, CQ_NICK_SHAPE, out->shape, sizeof out->shape)) {
        say(why, why_cap, "nickname is too long once its look-alike characters are spelled out");
        return CQ_ENICKNAME_INVALID;
    }
    if (len == 0 || strspn(out->key, " ") == strlen(out->key)) {
        say(why, why_cap, "nickname is blank: it has no visible character");
        return CQ_ENICKNAME_INVALID;
    }
    return 0;
}

/* Finds cp in a {code point, value} table; NULL when absent. */
static const uint32_t *lookup(const uint32_t (*t)[2], size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < t[mid][0])
            hi = mid;
        else if (cp > t[mid][0])
            lo = mid + 1;
        else
            return t[mid];
    }
    return NULL;
}

/* Reads cp as a leetspeak letter when it is (or NFKC makes it) one of the
 * digits 0 1 3 4 5 7. */
static uint32_t leet_of(uint32_t cp)
{
    static const char leet[] = "oi.eas.t..";
    uint32_t d = cp;
    if (cp >= 0x80) {
        const uint32_t *e = lookup(cq_nick_digits, cq_nick_digits_n, cp);
        d = e ? e[1] : cp;
    }
    return d >= '0' && d <= '9' && leet[d - '0'] != '.' ? (uint32_t)leet[d - '0'] : cp;
}

/* Appends the key of `cp` to out[*o]; false when it does not fit. */
static bool put_key(uint32_t cp, unsigned how, char *out, size_t cap, size_t *o)
{
    const uint32_t *e = NULL;
    const char *s;
    size_t n;
    char u[4];
    if (how & CQ_NICK_LEET)
        cp = leet_of(cp);
    if (how & CQ_NICK_SHAPE)
        e = lookup(cq_nick_shape_keys, cq_nick_shape_keys_n, cp);
    if (!e)
        e = lookup(cq_nick_keys, cq_nick_keys_n, cp);
    uint32_t v = e ? e[1] : cp;
    if (v & 0x80000000u) {
        s = cq_nick_key_pool + ((v >> 8) & 0x7fffffu);
        n = v & 0xffu;
    } else {
        n = cq_utf8_encode(v, u);
        s = u;
    }
    if (*o + n >= cap)
        return false;
    memcpy(out + *o, s, n);
    *o += n;
    return true;
}

static uint8_t ccc_of(uint32_t cp)
{
    size_t lo = 0, hi = cq_nick_ccc_n;
    if (cp < 0x300)
        return 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < cq_nick_ccc[mid].lo)
            hi = mid;
        else if (cp > cq_nick_ccc[mid].hi)
            lo = mid + 1;
        else
            return cq_nick_ccc[mid].ccc;
    }
    return 0;
}

/* Puts each run of combining marks in canonical order (stable, by
 * combining class), as NFD does: marks typed in another order look the same
 * and must key the same. Returns whether anything moved. */
static bool order_marks(uint32_t *cps, size_t n, bool folded)
{
    bool moved = false;
    for (size_t i = 1; i < n; i++) {
        /* Case folding makes U+0345 (ypogegrammeni) a letter, iota, before
         * NFKC_Casefold orders the marks. */
        uint8_t c = folded && cps[i] == 0x345 ? 0 : ccc_of(cps[i]);
        if (!c)
            continue;
        /* Insertion sort within the run: move back past higher classes. */
        for (size_t j = i; j > 0 && (folded && cps[j - 1] == 0x345 ? 0 : ccc_of(cps[j - 1])) > c;
             j--) {
            uint32_t t = cps[j];
            cps[j] = cps[j - 1];
            cps[j - 1] = t;
            moved = true;
        }
    }
    return moved;
}

bool cq_nickname_key(const char *text, unsigned how, char *out, size_t cap)
{
    uint32_t cps[CQ_NICK_KEY_MAX];
    const char *p = text, *end = text + strlen(text);
    size_t n = 0, o = 0;
    bool pending_space = false;

    if (!cap)
        return false;
    /* Decoded, default-ignorables dropped (UTS #39 15.1 drops them from
     * skeletons too; NFKC_Casefold does), marks in canonical order. */
    while (p < end) {
        uint32_t cp;
        size_t k = cq_utf8_decode(p, (size_t)(end - p), &cp);
        if (!k || n == CQ_NICK_KEY_MAX)
            return false;
        p += k;
        if (!in_ranges(cq_nick_ignorable, cq_nick_ignorable_n, cp))
            cps[n++] = cp;
    }
    order_marks(cps, n, !(how & CQ_NICK_SHAPE));
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = cps[i];
        if (cq_utf8_is_space(cp)) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space) {
            if (o + 1 >= cap)
                return false;
            out[o++] = ' ';
            pending_space = false;
        }
        if (cp >= 0xac00 && cp <= 0xd7a3) {
            /* A Hangul syllable keys as its jamo (scripts/gen-unicode checks
             * that this is what ICU's skeleton does). */
            uint32_t s = cp - 0xac00;
            if (!put_key(0x1100 + s / 588, how, out, cap, &o) ||
                !put_key(0x1161 + (s % 588) / 28, how, out, cap, &o) ||
                (s % 28 && !put_key(0x11a7 + s % 28, how, out, cap, &o)))
                return false;
            continue;
        }
        if (!put_key(cp, how, out, cap, &o))
            return false;
    }
    out[o] = '\0';
    /* The characters' keys may bring marks of their own: order again, as the
     * skeleton's final NFD does; and white space of their own (fullwidth
     * macron is NFKC " ̄"): one space between words, none at either end. */
    p = out;
    end = out + o;
    n = 0;
    while (p < end) /* well-formed and at most `cap` code points: encoded here */
        p += cq_utf8_decode(p, (size_t)(end - p), &cps[n++]);
    order_marks(cps, n, false);
    o = 0;
    pending_space = false;
    for (size_t i = 0; i < n; i++) {
        if (cq_utf8_is_space(cps[i])) {
            pending_space = o > 0;
            continue;
        }
        if (pending_space)
            out[o++] = ' ';
        pending_space = false;
        o += cq_utf8_encode(cps[i], out + o);
    }
    out[o] = '\0';
    return true;
}

const char *cq_nickname_unicode_version(void)
{
    return cq_nick_unicode_version;
}
