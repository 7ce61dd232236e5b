/* text.c: folding and trimming for nicknames and answers (decoding and white
 * space: cq_utf8.h). */
#include "text.h"

#include "cq_utf8.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Base letters for U+00C0..U+017F; '.' keeps the code point as it is. */
static const char latin1_fold[64] = "aaaaaa.ceeeeiiiidnooooo.ouuuuy.."
                                    "aaaaaa.ceeeeiiiidnooooo.ouuuuy.y";
static const char latin_ext_a_fold[128] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii..jjkk."
    "llllllllllnnnnnn...oooooo..rrrrrrssssssssttttttuuuuuuuuuuuu"
    "wwyyyzzzzzzs";

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029;
}

/* Invisible or direction-changing: hidden text in a question. The joiners
 * U+200C and U+200D are not (emoji sequences such as 👩‍💻, Indic and
 * Persian spelling need them). */
static bool is_hidden(uint32_t cp)
{
    return cp == 0x200b || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff;
}

bool cq_text_secret_equal(const char *want, const char *guess)
{
    size_t n = strlen(want), m = strlen(guess);
    unsigned char diff = (unsigned char)(m != n);
    for (size_t i = 0; i < n; i++) {
        unsigned char g = i < m ? (unsigned char)guess[i] : 0;
        diff |= (unsigned char)((unsigned char)want[i] ^ g);
    }
    return n > 0 && diff == 0;
}

size_t cq_text_len(const char *s)
{
    return cq_utf8_len(s); /* the protocol's count: one rule for both */
}

bool cq_text_check(const char *s, char *why, size_t cap)
{
    const char *start = s, *end = s + strlen(s);
    while (s < end) {
        uint32_t cp;
        size_t n = cq_utf8_decode(s, (size_t)(end - s), &cp);
        if (!n) {
            if (cap)
                snprintf(why, cap, "is not valid UTF-8 (byte %zu)", (size_t)(s - start) + 1);
            return false;
        }
        if (is_control(cp) || is_hidden(cp)) {
            if (cap) {
                /* Up to 24 bytes of what comes before, cut at a character. */
                const char *from = s - start > 24 ? s - 24 : start;
                while (from < s && ((unsigned char)*from & 0xc0) == 0x80)
                    from++;
                snprintf(why, cap, "contains U+%04X (%s)%s%.*s%s", (unsigned)cp,
                         is_control(cp) ? "a control character"
                                        : "an invisible or direction-control character",
                         s > start ? " after \"" : " at the start", (int)(s - from), from,
                         s > start ? "\"" : "");
            }
            return false;
        }
        s += n;
    }
    return true;
}

bool cq_text_valid(const char *s)
{
    return cq_text_check(s, NULL, 0);
}

/* Shared walk: copy with white space collapsed, optionally folding letters. */
static bool text_copy(const char *in, char *out, size_t cap, bool fold)
{
    const char *p = in, *end = in + strlen(in);
    size_t o = 0;
    bool pending_space = false;

    if (!cap)
        return false;
    while (p < end) {
        uint32_t cp;
        size_t n = cq_utf8_decode(p, (size_t)(end - p), &cp);
        if (!n)
            return false;
        if (cq_utf8_is_space(cp)) {
            pending_space = o > 0;
            p += n;
            continue;
        }
        if (pending_space) {
            if (o + 1 >= cap)
                return false;
            out[o++] = ' ';
            pending_space = false;
        }
        char base = 0;
        if (fold) {
            if (cp >= 'A' && cp <= 'Z')
                base = (char)(cp - 'A' + 'a');
            else if (cp >= 0xc0 && cp <= 0xff && latin1_fold[cp - 0xc0] != '.')
                base = latin1_fold[cp - 0xc0];
            else if (cp >= 0x100 && cp <= 0x17f && latin_ext_a_fold[cp - 0x100] != '.')
                base = latin_ext_a_fold[cp - 0x100];
        }
        if (base) {
            if (o + 1 >= cap)
                return false;
            out[o++] = base;
        } else {
            if (o + n >= cap)
                return false;
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = '\0';
    return true;
}

bool cq_text_fold(const char *in, char *out, size_t cap)
{
    return text_copy(in, out, cap, true);
}

bool cq_text_trim(const char *in, char *out, size_t cap)
{
    return text_copy(in, out, cap, false);
}

/* Separates words in a typed answer: ASCII punctuation (but for '&' and the
 * apostrophe, handled apart) and the common Unicode marks. */
static bool answer_separator(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 0x21 && cp <= 0x2f && cp != '&' && cp != '\'') ||
               (cp >= 0x3a && cp <= 0x40) || (cp >= 0x5b && cp <= 0x60) ||
               (cp >= 0x7b && cp <= 0x7e);
    return cp == 0xa1 || cp == 0xab || cp == 0xb7 || cp == 0xbb || cp == 0xbf ||
           (cp >= 0x2010 && cp <= 0x2015) || (cp >= 0x201a && cp <= 0x201f) ||
           (cp >= 0x2026 && cp <= 0x2027) || cp == 0x2039 || cp == 0x203a || cp == 0x3001 ||
           cp == 0x3002 || cp == 0xff01 || cp == 0xff0c || cp == 0xff0e || cp == 0xff1a ||
           cp == 0xff1b || cp == 0xff1f;
}

static bool answer_apostrophe(uint32_t cp)
{
    return cp == '\'' || cp == 0x2018 || cp == 0x2019 || cp == 0x02bc;
}

bool cq_text_answer_key(const char *in, char *out, size_t cap)
{
    /* Folded first (at most as long as `in`), then rewritten into `out`. */
    size_t flen = strlen(in) + 1;
    char folded[1024];
    if (flen > sizeof folded || !cap || !cq_text_fold(in, folded, sizeof folded))
        return false;
    const char *p = folded, *end = folded + strlen(folded);
    size_t o = 0;
    bool space = false;
    while (p < end) {
        uint32_t cp;
        size_t n = cq_utf8_decode(p, (size_t)(end - p), &cp);
        if (!n)
            return false;
        if (cp == ' ' || answer_separator(cp) || cp == '&') {
            space = o > 0;
            if (cp == '&') {
                if (o + 5 >= cap)
                    return false;
                if (o)
                    out[o++] = ' ';
                memcpy(out + o, "and", 3);
                o += 3;
                space = true;
            }
        } else if (!answer_apostrophe(cp)) {
            if (o + n + 1 >= cap)
                return false;
            if (space)
                out[o++] = ' ';
            space = false;
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
    }
    out[o] = '\0';
    /* One leading article. */
    static const char *const articles[] = {"a ", "an ", "the "};
    for (size_t i = 0; i < sizeof articles / sizeof *articles; i++) {
        size_t k = strlen(articles[i]);
        if (!strncmp(out, articles[i], k)) {
            memmove(out, out + k, o - k + 1);
            break;
        }
    }
    return true;
}
