/* gift.c: Moodle GIFT import and export (mapping: docs/import.md).
 *
 * The reader follows Moodle's own (question/format/gift/format.php):
 * questions are separated by blank lines, lines starting with // are
 * comments, `\` escapes ~ = # { } : \ and n, the answer block is the first
 * {...}, and the question type is decided the way Moodle decides it. What
 * Chainquiz cannot express faithfully is reported, never approximated.
 */
#include "content_tools.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cq_utf8.h"
#include "text.h"

/* Escaped special characters become these bytes while a block is parsed, so
 * that they are never read as syntax; control bytes cannot occur in a valid
 * input (checked first). */
#define PH_COLON   '\x01'
#define PH_HASH    '\x02'
#define PH_EQUALS  '\x03'
#define PH_LBRACE  '\x04'
#define PH_RBRACE  '\x05'
#define PH_TILDE   '\x06'
#define PH_NEWLINE '\x07'

#define GIFT_ANSWERS_MAX 64                /* answers parsed in one block (we keep at most 6) */
#define META_PREFIX      "chainquiz:"      /* one question's fields GIFT cannot say */
#define BANK_PREFIX      "chainquiz-bank:" /* the bank's metadata and sources */

enum fmt { FMT_MOODLE, FMT_HTML, FMT_PLAIN, FMT_MARKDOWN };

/* A span of the cooked block. */
struct span {
    const char *p;
    size_t n;
};

/* One question block while it is parsed. */
struct block {
    struct cq_import *im;
    const char *cooked; /* escapes replaced by PH_* */
    unsigned line0;     /* line of cooked[0] */
    const char *qid;    /* label for errors (the base id) */
    enum fmt fmt;       /* the question text's format */
    bool failed;        /* an error was reported */
};

struct answer {
    struct span raw; /* marker included */
    char marker;     /* '=', '~' or 0 */
    bool has_weight;
    double weight; /* percent */
    char *text, *feedback;
};

static unsigned line_at(const struct block *b, const char *p)
{
    unsigned line = b->line0;
    for (const char *s = b->cooked; s < p; s++)
        line += *s == '\n';
    return line;
}

static void fail(struct block *b, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail(struct block *b, const char *at, const char *fmt, ...)
{
    char why[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (!b->failed)
        cq_import_error(b->im, line_at(b, at), b->qid, "%s", why);
    b->failed = true;
}

static struct span trim_span(struct span s)
{
    size_t n;
    const char *p = cq_content_trim(s.p, s.n, &n);
    return (struct span){p, n};
}

static const char *find(struct span s, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= s.n; i++)
        if (!memcmp(s.p + i, needle, k))
            return s.p + i;
    return NULL;
}

static const char *find_last(struct span s, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = s.n; i >= k; i--)
        if (!memcmp(s.p + i - k, needle, k))
            return s.p + i - k;
    return NULL;
}

/* --- Text: format marker, escapes, HTML, white space. --- */

static const char *const latin1_a0[32] = {
    "nbsp",  "iexcl",  "cent", "pound", "curren", "yen",    "brvbar", "sect",
    "uml",   "copy",   "ordf", "laquo", "not",    "shy",    "reg",    "macr",
    "deg",   "plusmn", "sup2", "sup3",  "acute",  "micro",  "para",   "middot",
    "cedil", "sup1",   "ordm", "raquo", "frac14", "frac12", "frac34", "iquest"};
static const char *const latin1_c0[64] = {
    "Agrave", "Aacute", "Acirc",  "Atilde", "Auml",   "Aring",  "AElig", "Ccedil",
    "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave", "Iacute", "Icirc", "Iuml",
    "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde", "Ouml",  "times",
    "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN", "szlig",
    "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig", "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc", "iuml",
    "eth",    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",  "divide",
    "oslash", "ugrave", "uacute", "ucirc",  "uuml",   "yacute", "thorn", "yuml"};
static const struct {
    const char *name;
    uint32_t cp;
} other_entities[] = {
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},     {"apos", '\''},
    {"ndash", 0x2013}, {"mdash", 0x2014},  {"lsquo", 0x2018}, {"rsquo", 0x2019}, {"ldquo", 0x201c},
    {"rdquo", 0x201d}, {"hellip", 0x2026}, {"bull", 0x2022},  {"euro", 0x20ac},  {"trade", 0x2122},
    {"OElig", 0x152},  {"oelig", 0x153},   {"Scaron", 0x160}, {"scaron", 0x161}, {"Yuml", 0x178},
    {"laquo", 0xab},   {"raquo", 0xbb},    {"minus", 0x2212}, {"larr", 0x2190},  {"rarr", 0x2192},
    {"harr", 0x2194},  {"le", 0x2264},     {"ge", 0x2265},    {"ne", 0x2260},
};

static bool entity_cp(const char *name, size_t n, uint32_t *cp)
{
    for (unsigned i = 0; i < 32; i++)
        if (strlen(latin1_a0[i]) == n && !memcmp(latin1_a0[i], name, n)) {
            *cp = 0xa0 + i;
            return true;
        }
    for (unsigned i = 0; i < 64; i++)
        if (strlen(latin1_c0[i]) == n && !memcmp(latin1_c0[i], name, n)) {
            *cp = 0xc0 + i;
            return true;
        }
    for (size_t i = 0; i < sizeof other_entities / sizeof other_entities[0]; i++)
        if (strlen(other_entities[i].name) == n && !memcmp(other_entities[i].name, name, n)) {
            *cp = other_entities[i].cp;
            return true;
        }
    return false;
}

static void put_cp(struct cq_content_buf *o, uint32_t cp)
{
    char u[4];
    cq_content_buf_add(o, u, cq_utf8_encode(cp, u));
}

/* Inline tags whose text is kept: they only style it. Block tags in the
 * second list become a space. Everything else is refused by name. */
static bool tag_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(*list, name))
            return true;
    return false;
}

static const char *const inline_tags[] = {"b",    "strong", "i",     "em",  "u",    "span", "font",
                                          "code", "tt",     "small", "big", "mark", "abbr", NULL};
static const char *const break_tags[] = {"p", "div", "br", NULL};

/* HTML to plain text; `why` gets the reason on failure. */
static bool html_to_text(const char *s, struct cq_content_buf *o, char *why, size_t whycap)
{
    while (*s) {
        if (s[0] == '<' && !strncmp(s, "<!--", 4)) {
            const char *end = strstr(s + 4, "-->");
            if (!end) {
                snprintf(why, whycap, "an HTML comment <!-- is not closed");
                return false;
            }
            s = end + 3;
            continue;
        }
        if (s[0] == '<' &&
            (isalpha((unsigned char)s[1]) || (s[1] == '/' && isalpha((unsigned char)s[2])))) {
            const char *p = s + 1 + (s[1] == '/');
            char name[16];
            size_t n = 0;
            while (isalnum((unsigned char)p[n]) && n + 1 < sizeof name) {
                name[n] = (char)tolower((unsigned char)p[n]);
                n++;
            }
            name[n] = '\0';
            const char *q = p + n;
            char quote = 0;
            while (*q && (quote || *q != '>')) {
                if (quote && *q == quote)
                    quote = 0;
                else if (!quote && (*q == '"' || *q == '\''))
                    quote = *q;
                q++;
            }
            if (*q == '>' && (isspace((unsigned char)p[n]) || p[n] == '>' || p[n] == '/')) {
                if (tag_in(name, break_tags)) {
                    cq_content_buf_str(o, " ");
                } else if (!tag_in(name, inline_tags)) {
                    snprintf(why, whycap,
                             "the HTML tag <%s> cannot be imported: Chainquiz shows plain text",
                             name);
                    return false;
                }
                s = q + 1;
                continue;
            }
        }
        if (s[0] == '&') {
            const char *p = s + 1;
            size_t n = 0;
            uint32_t cp = 0;
            bool ok = false;
            if (*p == '#') {
                bool hex = p[1] == 'x' || p[1] == 'X';
                const char *d = p + 1 + hex;
                while ((hex ? isxdigit((unsigned char)d[n]) : isdigit((unsigned char)d[n])) &&
                       n < 8)
                    n++;
                if (n && d[n] == ';') {
                    cp = (uint32_t)strtoul(d, NULL, hex ? 16 : 10);
                    ok = cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
                    if (!ok) {
                        snprintf(why, whycap, "the HTML character reference &%.*s; is invalid",
                                 (int)(d + n - p), p);
                        return false;
                    }
                    s = d + n + 1;
                }
            } else {
                while (isalnum((unsigned char)p[n]) && n < 12)
                    n++;
                if (n && p[n] == ';') {
                    if (!entity_cp(p, n, &cp)) {
                        snprintf(why, whycap, "the HTML entity &%.*s; is not supported", (int)n, p);
                        return false;
                    }
                    ok = true;
                    s = p + n + 1;
                }
            }
            if (ok) {
                if (cp == 0xa0 || cp == '\t' || cp == '\n' || cp == '\r')
                    cq_content_buf_str(o, " ");
                else if (cp != 0xad) /* a soft hyphen is invisible */
                    put_cp(o, cp);
                continue;
            }
        }
        cq_content_buf_add(o, s, 1);
        s++;
    }
    return true;
}

/* One piece of GIFT text (prompt, answer, feedback) as plain text: its own
 * [format] marker or `dflt`, escapes restored, HTML/Markdown handled, white
 * space collapsed. Returns NULL after reporting. `fmt_out` may be NULL. */
static char *gift_text(struct block *b, struct span sp, enum fmt dflt, enum fmt *fmt_out,
                       const char *field)
{
    static const char *const names[] = {"moodle", "html", "plain", "markdown"};
    struct span s = trim_span(sp);
    enum fmt fmt = dflt;
    struct cq_content_buf raw, html;
    char why[200], *out = NULL;

    if (s.n && s.p[0] == '[') {
        for (int f = 0; f < 4; f++) {
            size_t k = strlen(names[f]);
            if (s.n >= k + 2 && !memcmp(s.p + 1, names[f], k) && s.p[k + 1] == ']') {
                fmt = (enum fmt)f;
                s.p += k + 2;
                s.n -= k + 2;
                break;
            }
        }
    }
    if (fmt_out)
        *fmt_out = fmt;
    cq_content_buf_init(&raw, s.n + 1);
    cq_content_buf_init(&html, 4 * s.n + 16);
    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        static const char ph[] = {PH_COLON, PH_HASH, PH_EQUALS, PH_LBRACE, PH_RBRACE, PH_TILDE};
        static const char lit[] = ":#={}~";
        const char *k = memchr(ph, ch, sizeof ph);
        if (k)
            ch = lit[k - ph];
        else if (ch == PH_NEWLINE || ch == '\n' || ch == '\t' || ch == '\r')
            ch = ' ';
        cq_content_buf_add(&raw, &ch, 1);
    }
    if (raw.failed)
        goto oom;
    const char *text = raw.p ? raw.p : "";
    if (fmt != FMT_PLAIN) {
        if (!html_to_text(text, &html, why, sizeof why)) {
            fail(b, sp.p, "%s: %s", field, why);
            goto out;
        }
        if (html.failed)
            goto oom;
        text = html.p ? html.p : "";
    }
    if (fmt == FMT_MARKDOWN) {
        if (strstr(text, "](")) {
            fail(b, sp.p,
                 "%s: a Markdown link or image cannot be imported: Chainquiz shows "
                 "plain text",
                 field);
            goto out;
        }
        char *w = html.p;
        for (const char *r = text; w && *r;) {
            if ((r[0] == '*' && r[1] == '*') || (r[0] == '_' && r[1] == '_')) {
                r += 2;
                continue;
            }
            *w++ = *r++;
        }
        if (w)
            *w = '\0';
    }
    size_t cap = strlen(text) + 1;
    out = malloc(cap);
    if (!out)
        goto oom;
    if (!cq_text_trim(text, out, cap)) {
        fail(b, sp.p, "%s: is not valid UTF-8", field);
        free(out);
        out = NULL;
    }
    goto out;
oom:
    fail(b, sp.p, "%s: out of memory", field);
out:
    cq_content_buf_free(&raw);
    cq_content_buf_free(&html);
    return out;
}

/* --- Answers. --- */

/* Moodle's weight: %[-]digits[.digits]% right after the marker. */
static bool parse_weight(struct span *s, double *w)
{
    const char *p = s->p, *end = s->p + s->n;
    if (p >= end || *p != '%')
        return false;
    const char *q = p + 1;
    if (q < end && *q == '-')
        q++;
    const char *digits = q;
    while (q < end && isdigit((unsigned char)*q))
        q++;
    if (q == digits)
        return false;
    if (q < end && *q == '.') {
        q++;
        while (q < end && isdigit((unsigned char)*q))
            q++;
    }
    if (q >= end || *q != '%')
        return false;
    char num[32];
    snprintf(num, sizeof num, "%.*s", (int)(q - p - 1), p + 1);
    *w = strtod(num, NULL);
    s->p = q + 1;
    s->n = (size_t)(end - s->p);
    return true;
}

static void answers_free(struct answer *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(a[i].text);
        free(a[i].feedback);
    }
}

/* Splits `s` at every unescaped character of `markers`; each answer keeps
 * its marker. Text before the first marker is an error. */
static size_t split_answers(struct block *b, struct span s, const char *markers, struct answer *out,
                            size_t max)
{
    size_t n = 0;
    const char *p = s.p, *end = s.p + s.n;
    struct span lead = {p, 0};
    while (p < end && !strchr(markers, *p))
        p++;
    lead.n = (size_t)(p - s.p);
    if (trim_span(lead).n) {
        struct span t = trim_span(lead);
        fail(b, t.p,
             "answer block: text before the first answer marker (\"%.*s\") cannot be "
             "imported",
             (int)(t.n > 40 ? 40 : t.n), t.p);
        return 0;
    }
    while (p < end) {
        if (n == max) {
            fail(b, p, "answer block: more than %zu answers", max);
            return 0;
        }
        const char *q = p + 1;
        while (q < end && !strchr(markers, *q))
            q++;
        memset(&out[n], 0, sizeof out[n]);
        out[n].marker = *p;
        out[n].raw = (struct span){p, (size_t)(q - p)};
        n++;
        p = q;
    }
    return n;
}

/* Weight (when `weights`), then "text#feedback". */
static bool answer_parse(struct block *b, struct answer *a, bool weights, const char *field)
{
    struct span s = {a->raw.p + 1, a->raw.n - 1};
    s = trim_span(s);
    if (weights)
        a->has_weight = parse_weight(&s, &a->weight);
    const char *hash = memchr(s.p, '#', s.n);
    struct span text = {s.p, hash ? (size_t)(hash - s.p) : s.n};
    a->text = gift_text(b, text, b->fmt, NULL, field);
    if (!a->text)
        return false;
    if (hash) {
        struct span fb = {hash + 1, (size_t)(s.p + s.n - hash - 1)};
        a->feedback = gift_text(b, fb, b->fmt, NULL, "feedback");
        if (!a->feedback)
            return false;
    }
    return true;
}

/* --- Explanation: general feedback, then the answers' feedback. --- */

struct parts {
    char *v[GIFT_ANSWERS_MAX + 4]; /* owned copies */
    size_t n;
};

/* Adds a copy of `s` ("prefix: s" with a prefix), once. */
static void parts_add(struct parts *p, const char *s, const char *prefix)
{
    if (!s || !*s || p->n >= sizeof p->v / sizeof p->v[0])
        return;
    size_t n = (prefix ? strlen(prefix) + 2 : 0) + strlen(s) + 1;
    char *own = malloc(n);
    if (!own)
        return;
    snprintf(own, n, "%s%s%s", prefix ? prefix : "", prefix ? ": " : "", s);
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->v[i], own)) {
            free(own);
            return;
        }
    p->v[p->n++] = own;
}

static void parts_free(struct parts *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    p->n = 0;
}

static void set_explanation(json_t *q, const struct parts *p)
{
    struct cq_content_buf b;
    cq_content_buf_init(&b, 64u << 10);
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            cq_content_buf_str(&b, " ");
        cq_content_buf_str(&b, p->v[i]);
    }
    if (b.p && !b.failed)
        json_object_set_new(q, "explanation", json_string(b.p));
    cq_content_buf_free(&b);
}

/* --- Question types. --- */

static bool map_multichoice(struct block *b, struct span ans, json_t *q, struct parts *ex)
{
    struct answer a[GIFT_ANSWERS_MAX];
    bool single = memchr(ans.p, '=', ans.n) != NULL, ok = false;
    size_t n = split_answers(b, ans, "=~", a, GIFT_ANSWERS_MAX), n_right = 0;
    json_t *opts = json_array(), *correct = json_array();
    if (!n)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char field[48];
        snprintf(field, sizeof field, "answer %zu", i + 1);
        /* Moodle reads a weight after ~ only; "=" is always 100%. */
        if (!answer_parse(b, &a[i], a[i].marker == '~', field))
            goto out;
        bool right;
        if (a[i].marker == '=') {
            right = true;
        } else if (single) {
            if (a[i].has_weight && a[i].weight > 0) {
                fail(b, a[i].raw.p,
                     "answer %zu (%g%%): partial credit cannot be imported: a Chainquiz single "
                     "question is right or wrong",
                     i + 1, a[i].weight);
                goto out;
            }
            right = false;
        } else {
            right = a[i].has_weight && a[i].weight > 0;
        }
        if (right && single && n_right) {
            fail(b, a[i].raw.p,
                 "answer %zu: a second answer marked \"=\": a Chainquiz single question has "
                 "exactly one right answer",
                 i + 1);
            goto out;
        }
        if (right) {
            n_right++;
            json_array_append_new(correct, json_integer((json_int_t)i));
        }
        json_array_append_new(opts, json_string(a[i].text));
    }
    if (!single && !n_right) {
        fail(b, ans.p, "multiple answers: no answer has a positive weight, so none is right");
        goto out;
    }
    if (!single && n_right == n) {
        fail(b, ans.p,
             "multiple answers: every answer has a positive weight; a Chainquiz multi "
             "question needs at least one wrong answer");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i].marker == '=' || (a[i].has_weight && a[i].weight > 0))
            parts_add(ex, a[i].feedback, NULL);
    for (size_t i = 0; i < n; i++)
        if (!(a[i].marker == '=' || (a[i].has_weight && a[i].weight > 0)))
            parts_add(ex, a[i].feedback, a[i].text);
    json_object_set_new(q, "type", json_string(single ? "single" : "multi"));
    json_object_set(q, "options", opts);
    json_object_set(q, "correct", correct);
    ok = true;
out:
    answers_free(a, n);
    json_decref(opts);
    json_decref(correct);
    return ok;
}

/* A whole number as typed answers compare it: "+042" is "42", "-0" is "0". */
static bool whole_number(const char *s, char *out, size_t cap)
{
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    const char *d = s;
    while (isdigit((unsigned char)*s))
        s++;
    if (s == d)
        return false;
    const char *dend = s;
    if (*s == '.') {
        s++;
        while (*s == '0')
            s++;
    }
    if (*s)
        return false;
    while (d + 1 < dend && *d == '0')
        d++;
    if ((size_t)(dend - d) + 2 > cap)
        return false;
    neg = neg && !(dend - d == 1 && *d == '0');
    snprintf(out, cap, "%s%.*s", neg ? "-" : "", (int)(dend - d), d);
    return true;
}

/* Answer i of a typed question (numerical, short answer): 1 when it is a
 * right answer to accept, 0 when it is a wrong one (its feedback goes to the
 * explanation), -1 on error (partial credit has no equivalent here). */
static int typed_answer(struct block *b, struct answer *a, size_t i, struct parts *ex,
                        const char *what)
{
    char field[48];
    snprintf(field, sizeof field, "answer %zu", i + 1);
    if (!answer_parse(b, &a[i], true, field))
        return -1;
    double w = a[i].has_weight ? a[i].weight : 100.0;
    if (w <= 0) {
        parts_add(ex, a[i].feedback, a[i].text);
        return 0;
    }
    if (w != 100.0) {
        fail(b, a[i].raw.p,
             "%s %zu (%g%%): partial credit cannot be imported: Chainquiz accepts a typed "
             "answer fully or not at all",
             what, i + 1, w);
        return -1;
    }
    return 1;
}

static bool map_numerical(struct block *b, struct span ans, json_t *q, struct parts *ex)
{
    struct answer a[GIFT_ANSWERS_MAX];
    struct span body = {ans.p + 1, ans.n - 1}, wrong = {NULL, 0};
    const char *tilde = memchr(body.p, '~', body.n);
    json_t *acc = json_array();
    bool ok = false;
    size_t n = 0;
    if (tilde) {
        wrong = (struct span){tilde, (size_t)(body.p + body.n - tilde)};
        body.n = (size_t)(tilde - body.p);
    }
    struct span t = trim_span(body);
    if (t.n && t.p[0] != '=') {
        /* {#3.14:0.01}: one unmarked answer, read as "=3.14:0.01". */
        a[0] = (struct answer){.raw = {t.p - 1, t.n + 1}, .marker = '='};
        n = 1;
    } else {
        n = split_answers(b, body, "=", a, GIFT_ANSWERS_MAX);
    }
    if (!n) {
        if (!b->failed)
            fail(b, ans.p, "numerical: no answer given");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char num[64];
        int use = typed_answer(b, a, i, ex, "numerical answer");
        if (use < 0)
            goto out;
        if (!use)
            continue;
        const char *v = a[i].text, *range = strstr(v, ".."), *colon = strchr(v, ':');
        char lo[64], hi[64];
        if (range && range > v) {
            snprintf(lo, sizeof lo, "%.*s", (int)(range - v), v);
            snprintf(hi, sizeof hi, "%s", range + 2);
            char *l = lo, *h = hi;
            while (*l == ' ')
                l++;
            while (*h == ' ')
                h++;
            for (char *e = l + strlen(l); e > l && e[-1] == ' ';)
                *--e = '\0';
            char nl[64], nh[64];
            if (!whole_number(l, nl, sizeof nl) || !whole_number(h, nh, sizeof nh) ||
                strcmp(nl, nh)) {
                fail(b, a[i].raw.p,
                     "numerical answer %s: a range cannot be imported: Chainquiz compares typed "
                     "answers as text, so only exact whole numbers can be imported",
                     v);
                goto out;
            }
            snprintf(num, sizeof num, "%s", nl);
        } else {
            char val[64];
            snprintf(val, sizeof val, "%.*s",
                     (int)(colon && colon > v ? colon - v : (long)strlen(v)), v);
            for (char *e = val + strlen(val); e > val && e[-1] == ' ';)
                *--e = '\0';
            bool zero_tol = true;
            if (colon && colon > v) {
                char *end;
                double tol = strtod(colon + 1, &end);
                while (*end == ' ')
                    end++;
                zero_tol = end != colon + 1 && !*end && tol == 0.0;
            }
            if (!zero_tol || !whole_number(val, num, sizeof num)) {
                fail(b, a[i].raw.p,
                     "numerical answer %s: not importable: Chainquiz compares typed answers as "
                     "text, so only exact whole numbers (no tolerance) can be imported",
                     v);
                goto out;
            }
        }
        bool dup = false;
        for (size_t k = 0; k < json_array_size(acc); k++)
            dup |= !strcmp(json_string_value(json_array_get(acc, k)), num);
        if (!dup)
            json_array_append_new(acc, json_string(num));
        parts_add(ex, a[i].feedback, NULL);
    }
    if (!json_array_size(acc)) {
        fail(b, ans.p, "numerical: no answer has full credit");
        goto out;
    }
    if (wrong.p) {
        struct span fb = trim_span((struct span){wrong.p + 1, wrong.n - 1});
        if (fb.n && fb.p[0] == '#') {
            char *f = gift_text(b, (struct span){fb.p + 1, fb.n - 1}, b->fmt, NULL, "feedback");
            if (!f)
                goto out;
            parts_add(ex, f, "Other answers");
            free(f);
        }
    }
    json_object_set_new(q, "type", json_string("typeanswer"));
    json_object_set(q, "accepted", acc);
    ok = true;
out:
    json_decref(acc);
    answers_free(a, n);
    return ok;
}

static bool map_shortanswer(struct block *b, struct span ans, json_t *q, struct parts *ex)
{
    struct answer a[GIFT_ANSWERS_MAX];
    json_t *acc = json_array();
    bool ok = false;
    size_t n = split_answers(b, ans, "=", a, GIFT_ANSWERS_MAX);
    if (!n)
        goto out;
    for (size_t i = 0; i < n; i++) {
        char fold[4 * CQ_ACCEPTED_TEXT_MAX + 1];
        int use = typed_answer(b, a, i, ex, "answer");
        if (use < 0)
            goto out;
        if (!use)
            continue;
        if (strchr(a[i].text, '*')) {
            fail(b, a[i].raw.p,
                 "answer %zu (\"%s\"): \"*\" is a Moodle wildcard, and Chainquiz matches typed "
                 "answers exactly",
                 i + 1, a[i].text);
            goto out;
        }
        /* Entries the server would match identically are one entry. */
        bool dup = false;
        if (cq_text_fold(a[i].text, fold, sizeof fold))
            for (size_t k = 0; k < json_array_size(acc); k++) {
                char other[4 * CQ_ACCEPTED_TEXT_MAX + 1];
                if (cq_text_fold(json_string_value(json_array_get(acc, k)), other, sizeof other) &&
                    !strcmp(fold, other))
                    dup = true;
            }
        if (!dup)
            json_array_append_new(acc, json_string(a[i].text));
        parts_add(ex, a[i].feedback, NULL);
    }
    if (!json_array_size(acc)) {
        fail(b, ans.p, "short answer: no answer has full credit");
        goto out;
    }
    json_object_set_new(q, "type", json_string("typeanswer"));
    json_object_set(q, "accepted", acc);
    ok = true;
out:
    json_decref(acc);
    answers_free(a, n);
    return ok;
}

/* --- Blocks. --- */

struct gift {
    struct cq_import *im;
    json_t *tags; /* from the last $CATEGORY, NULL when none */
};

/* `path` (n bytes, any length) to tags: the deepest CQ_QTAGS_MAX distinct
 * segments, shallowest first, without `top` and `$...$` segments. Read from
 * the deep end, so a path of any length costs at most its own length. */
static void set_category(struct gift *g, const char *path, size_t n)
{
    char *found[CQ_QTAGS_MAX];
    size_t nf = 0, end = n;
    while (end > 0 && nf < CQ_QTAGS_MAX) {
        size_t start = end;
        while (start > 0 && path[start - 1] != '/')
            start--;
        size_t tn;
        const char *t = cq_content_trim(path + start, end - start, &tn);
        bool skip = !tn || (tn >= 2 && t[0] == '$' && t[tn - 1] == '$') ||
                    (tn == 3 && !memcmp(t, "top", 3));
        char *seg = skip ? NULL : strndup(t, tn);
        char *slug = seg ? cq_content_slug(seg, CQ_TAG_MAX) : NULL;
        bool dup = false;
        for (size_t i = 0; slug && i < nf; i++)
            dup |= !strcmp(found[i], slug);
        if (slug && !dup)
            found[nf++] = slug;
        else
            free(slug);
        free(seg);
        end = start ? start - 1 : 0;
    }
    json_t *tags = json_array();
    for (size_t i = nf; i-- > 0;) {
        if (tags)
            json_array_append_new(tags, json_string(found[i]));
        free(found[i]);
    }
    json_decref(g->tags);
    g->tags = json_array_size(tags) ? tags : NULL;
    if (!g->tags)
        json_decref(tags);
}

/* Escapes to placeholders (Moodle's escapedchar_pre). */
static char *cook(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            const char *k = strchr(":#={}~n\\", s[i + 1]);
            if (k && s[i + 1]) {
                static const char ph[] = {PH_COLON,  PH_HASH,  PH_EQUALS,  PH_LBRACE,
                                          PH_RBRACE, PH_TILDE, PH_NEWLINE, '\\'};
                *o++ = ph[k - ":#={}~n\\"];
                i++;
                continue;
            }
        }
        *o++ = s[i];
    }
    *o = '\0';
    return out;
}

static void question(struct gift *g, const char *text, size_t len, unsigned line0, json_t *meta)
{
    struct block b = {g->im, NULL, line0, NULL, FMT_MOODLE, false};
    struct parts ex = {{0}, 0};
    char *cooked = cook(text, len), *title = NULL, *prompt = NULL, *gf = NULL, *base = NULL;
    json_t *q = json_object();
    if (!cooked || !q) {
        cq_import_error(g->im, line0, NULL, "out of memory");
        cq_import_skip(g->im);
        goto out;
    }
    b.cooked = cooked;
    struct span s = trim_span((struct span){cooked, strlen(cooked)});

    if (s.n >= 2 && !memcmp(s.p, "::", 2)) {
        const char *end = find((struct span){s.p + 2, s.n - 2}, "::");
        if (!end) {
            fail(&b, s.p, "title: \"::\" opens a question name that is not closed");
            goto skip;
        }
        title = gift_text(&b, (struct span){s.p + 2, (size_t)(end - s.p - 2)}, FMT_PLAIN, NULL,
                          "title");
        if (!title)
            goto skip;
        s = trim_span((struct span){end + 2, (size_t)(s.p + s.n - end - 2)});
    }
    const char *open = memchr(s.p, '{', s.n), *close = memchr(s.p, '}', s.n);
    /* The label for errors: the title, else the text before the answers. */
    {
        char *lead = NULL;
        if (!title) {
            struct span head = {s.p, open ? (size_t)(open - s.p) : s.n};
            struct block quiet = b;
            quiet.failed = true; /* no errors from this peek */
            lead = gift_text(&quiet, head, FMT_MOODLE, NULL, "prompt");
        }
        base = cq_content_slug(title ? title : lead ? lead : "", title ? CQ_QID_MAX : 48);
        free(lead);
        b.qid = base ? base : "q";
    }
    if (!open && !close) {
        fail(&b, s.p, "no answer block {...}: a GIFT description is not a question");
        goto skip;
    }
    if (!open || !close || close < open) {
        fail(&b, open ? open : close, "answer block: \"%c\" without a matching \"%c\"",
             open && (!close || close < open) ? '{' : '}',
             open && (!close || close < open) ? '}' : '{');
        goto skip;
    }
    struct span after = {close + 1, (size_t)(s.p + s.n - close - 1)};
    if (memchr(after.p, '{', after.n) || memchr(after.p, '}', after.n)) {
        const char *at = memchr(after.p, '{', after.n);
        fail(&b, at ? at : close + 1,
             "answer block: a second {...} cannot be imported (one answer block per question)");
        goto skip;
    }
    struct span ans = trim_span((struct span){open + 1, (size_t)(close - open - 1)});

    /* Question text: "_____" where the answers were, unless they end it. */
    struct cq_content_buf pt;
    cq_content_buf_init(&pt, s.n + 8);
    cq_content_buf_add(&pt, s.p, (size_t)(open - s.p));
    if (trim_span(after).n) {
        cq_content_buf_str(&pt, "_____");
        cq_content_buf_add(&pt, after.p, after.n);
    }
    if (pt.failed) {
        cq_content_buf_free(&pt);
        fail(&b, s.p, "out of memory");
        goto skip;
    }
    /* Errors in the prompt are reported by lines of `pt`, which starts
     * where the question text starts. */
    {
        struct block in_pt = b;
        in_pt.cooked = pt.p ? pt.p : "";
        in_pt.line0 = line_at(&b, s.p);
        prompt =
            gift_text(&in_pt, (struct span){in_pt.cooked, pt.len}, FMT_MOODLE, &b.fmt, "prompt");
        b.failed |= in_pt.failed;
    }
    cq_content_buf_free(&pt);
    if (!prompt)
        goto skip;

    const char *gfsep = find_last(ans, "####");
    if (gfsep) {
        gf = gift_text(&b, (struct span){gfsep + 4, (size_t)(ans.p + ans.n - gfsep - 4)}, b.fmt,
                       NULL, "general feedback");
        if (!gf)
            goto skip;
        ans = trim_span((struct span){ans.p, (size_t)(gfsep - ans.p)});
    }
    parts_add(&ex, gf, NULL);
    json_object_set_new(q, "prompt", json_string(prompt));

    if (!ans.n) {
        fail(&b, open,
             "essay (empty {}): not importable: an essay has no answer that Chainquiz "
             "can check");
        goto skip;
    }
    if (ans.p[0] == '#') {
        if (!map_numerical(&b, ans, q, &ex))
            goto skip;
    } else if (memchr(ans.p, '~', ans.n)) {
        if (!map_multichoice(&b, ans, q, &ex))
            goto skip;
    } else if (memchr(ans.p, '=', ans.n) && find(ans, "->")) {
        fail(&b, open,
             "matching (=item -> match): not importable: Chainquiz has no matching "
             "question, and an ordering question would ask something else");
        goto skip;
    } else {
        const char *hash = memchr(ans.p, '#', ans.n);
        struct span tf = trim_span((struct span){ans.p, hash ? (size_t)(hash - ans.p) : ans.n});
        bool is_t = (tf.n == 1 && tf.p[0] == 'T') || (tf.n == 4 && !memcmp(tf.p, "TRUE", 4));
        bool is_f = (tf.n == 1 && tf.p[0] == 'F') || (tf.n == 5 && !memcmp(tf.p, "FALSE", 5));
        if (is_t || is_f) {
            char *fb[2] = {NULL, NULL}; /* wrong, right */
            const char *p = hash;
            for (int k = 0; k < 2 && p; k++) {
                const char *next =
                    k == 0 ? memchr(p + 1, '#', (size_t)(ans.p + ans.n - p - 1)) : NULL;
                struct span f = {p + 1, (size_t)((next ? next : ans.p + ans.n) - p - 1)};
                fb[k] = gift_text(&b, f, b.fmt, NULL, "feedback");
                if (!fb[k])
                    break;
                p = next;
            }
            if (b.failed) {
                free(fb[0]);
                free(fb[1]);
                goto skip;
            }
            parts_add(&ex, fb[1], NULL);
            parts_add(&ex, fb[0], is_t ? "False" : "True");
            free(fb[0]);
            free(fb[1]);
            json_object_set_new(q, "type", json_string("truefalse"));
            json_object_set_new(q, "correct", json_boolean(is_t));
        } else if (!map_shortanswer(&b, ans, q, &ex)) {
            goto skip;
        }
    }
    if (ex.n)
        set_explanation(q, &ex);
    if (meta) {
        const char *key;
        json_t *v;
        json_object_foreach(meta, key, v) json_object_set(q, key, v);
    }
    if (g->tags && !json_object_get(q, "tags"))
        json_object_set(q, "tags", g->tags);
    cq_import_add(g->im, q, line0, b.qid);
    q = NULL;
    goto out;
skip:
    cq_import_skip(g->im);
out:
    parts_free(&ex);
    json_decref(q);
    free(cooked);
    free(title);
    free(prompt);
    free(gf);
    free(base);
}

/* A line is blank when it is all white space. */
static bool blank_line(const char *p, size_t n)
{
    size_t tn;
    cq_content_trim(p, n, &tn);
    return tn == 0;
}

/* Checks raw input bytes of one line: valid UTF-8 without control bytes
 * (tabs and a final CR are fine). */
static bool line_ok(const char *p, size_t n, char *why, size_t cap)
{
    char *copy = malloc(n + 1);
    if (!copy) {
        snprintf(why, cap, "out of memory");
        return false;
    }
    for (size_t i = 0; i < n; i++)
        copy[i] = p[i] == '\t' || p[i] == '\r' ? ' ' : p[i];
    copy[n] = '\0';
    bool ok = false;
    if (strlen(copy) != n)
        snprintf(why, cap, "contains a NUL byte");
    else
        ok = cq_text_check(copy, why, cap);
    free(copy);
    return ok;
}

/* The text after "// PREFIX" on a comment line, or NULL. */
static const char *comment_payload(const char *t, size_t tn, const char *prefix, size_t *n)
{
    size_t k = 2, pn = strlen(prefix);
    if (tn < 2 || memcmp(t, "//", 2))
        return NULL;
    while (k < tn && t[k] == ' ')
        k++;
    if (tn - k < pn || memcmp(t + k, prefix, pn))
        return NULL;
    *n = tn - k - pn;
    return t + k + pn;
}

/* "// chainquiz-bank: {...}" anywhere in the file (our export writes it
 * first) gives the bank's metadata and sources. */
static void bank_comment(struct cq_import *im, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    unsigned line = 0, found = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t tn, pn;
        const char *t = cq_content_trim(p, (size_t)((nl ? nl : end) - p), &tn);
        const char *payload = comment_payload(t, tn, BANK_PREFIX, &pn);
        line++;
        if (payload && found) {
            cq_import_error(im, line, NULL,
                            "chainquiz-bank comment: a second one (the first is "
                            "on line %u)",
                            found);
        } else if (payload) {
            json_error_t jerr;
            char why[JSON_ERROR_TEXT_LENGTH + 64];
            json_t *meta = json_loadb(payload, pn, JSON_REJECT_DUPLICATES, &jerr);
            found = line;
            if (!json_is_object(meta)) {
                cq_import_error(im, line, NULL, "chainquiz-bank comment: not a JSON object (%s)",
                                meta ? "another JSON value"
                                     : cq_content_json_why(jerr.text, why, sizeof why));
                json_decref(meta);
            } else {
                cq_import_set_bank(im, meta, line);
            }
        }
        if (!nl)
            break;
        p = nl + 1;
    }
}

void cq_gift_import(struct cq_import *im, const char *text, size_t len)
{
    struct gift g = {im, NULL};
    struct cq_content_buf qb;
    const char *p = text, *end = text + len;
    unsigned line = 0;
    unsigned q_line = 0, meta_line = 0;
    bool bad_bytes = false;
    json_t *meta = NULL;

    cq_content_buf_init(&qb, CQ_IMPORT_FILE_MAX);
    bank_comment(im, text, len);
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        line++;
        bool last = !nl;
        bool blank = blank_line(p, n);

        if (!blank) {
            size_t tn;
            const char *t = cq_content_trim(p, n, &tn);
            char bad_why[160];
            if (!line_ok(p, n, bad_why, sizeof bad_why)) {
                if (!bad_bytes)
                    cq_import_error(im, line, NULL, "the line %s", bad_why);
                bad_bytes = true;
                if (!q_line)
                    q_line = line;
            } else if (tn >= 2 && !memcmp(t, "//", 2)) {
                /* A comment; "// chainquiz: {...}" carries our metadata. */
                size_t pn;
                const char *payload = comment_payload(t, tn, META_PREFIX, &pn);
                if (payload) {
                    json_error_t jerr;
                    char why[JSON_ERROR_TEXT_LENGTH + 64];
                    static const char *const allowed[] = {
                        "difficulty", "time_limit", "points", "source", "image", "excludes", NULL};
                    json_decref(meta);
                    meta = json_loadb(payload, pn, JSON_REJECT_DUPLICATES, &jerr);
                    meta_line = line;
                    const char *badkey = NULL, *key;
                    json_t *v;
                    if (meta && json_is_object(meta))
                        json_object_foreach(meta, key, v)
                        {
                            bool found = false;
                            for (const char *const *a = allowed; *a; a++)
                                found |= !strcmp(*a, key);
                            if (!found && !badkey)
                                badkey = key;
                        }
                    if (!meta || !json_is_object(meta)) {
                        cq_import_error(im, line, NULL, "chainquiz comment: not a JSON object (%s)",
                                        meta ? "not an object"
                                             : cq_content_json_why(jerr.text, why, sizeof why));
                        bad_bytes = true; /* the question it belongs to is skipped */
                        json_decref(meta);
                        meta = NULL;
                    } else if (badkey) {
                        cq_import_error(im, line, NULL,
                                        "chainquiz comment: \"%s\" is not one of difficulty, "
                                        "time_limit, points, source, image, excludes",
                                        badkey);
                        bad_bytes = true;
                        json_decref(meta);
                        meta = NULL;
                    }
                }
                if (qb.len)
                    cq_content_buf_str(&qb, "\n");
            } else if (!qb.len && !q_line && tn >= 10 && !memcmp(t, "$CATEGORY:", 10)) {
                set_category(&g, t + 10, tn - 10);
            } else {
                if (!q_line)
                    q_line = line;
                else
                    cq_content_buf_str(&qb, "\n");
                cq_content_buf_add(&qb, p, n);
            }
        }
        if ((blank || last) && (q_line || bad_bytes || meta)) {
            if (bad_bytes) {
                if (q_line)
                    cq_import_skip(im);
            } else if (!q_line) {
                cq_import_error(im, meta_line, NULL,
                                "chainquiz comment: no question follows it in the same block");
            } else if (q_line) {
                if (qb.failed) {
                    cq_import_error(im, q_line, NULL, "question too long");
                    cq_import_skip(im);
                } else {
                    question(&g, qb.p ? qb.p : "", qb.len, q_line, meta);
                }
            }
            json_decref(meta);
            meta = NULL;
            bad_bytes = false;
            q_line = 0;
            qb.len = 0;
            qb.failed = false;
            if (qb.p)
                qb.p[0] = '\0';
        }
        if (last)
            break;
        p = nl + 1;
    }
    json_decref(meta);
    json_decref(g.tags);
    cq_content_buf_free(&qb);
}

/* --- Export. --- */

/* Moodle's weights for k right answers out of a multiple-answer question. */
static const char *const multi_weight[] = {"", "100", "50", "33.33333", "25", "20"};

static void put_escaped(struct cq_content_buf *o, const char *s)
{
    for (; *s; s++) {
        if (strchr("~=#{}:\\", *s))
            cq_content_buf_add(o, "\\", 1);
        cq_content_buf_add(o, s, 1);
    }
}

/* An answer text that would read as a [format] marker gets [plain] first. */
static void put_answer_text(struct cq_content_buf *o, const char *s)
{
    if (s[0] == '[' && (!strncmp(s, "[html]", 6) || !strncmp(s, "[moodle]", 8) ||
                        !strncmp(s, "[plain]", 7) || !strncmp(s, "[markdown]", 10)))
        cq_content_buf_str(o, "[plain]");
    put_escaped(o, s);
}

static bool same_tags(const struct cq_question *a, const struct cq_question *b)
{
    if (!b || a->n_tags != b->n_tags)
        return false;
    for (unsigned i = 0; i < a->n_tags; i++)
        if (strcmp(a->tags[i], b->tags[i]))
            return false;
    return true;
}

static const char *gift_unsupported(const struct cq_question *q, char *why, size_t cap)
{
    switch (q->type) {
    case CQ_Q_ORDERING:
        return "GIFT has no ordering question";
    case CQ_Q_POLL:
        return "GIFT has no poll (every GIFT choice question has a right answer)";
    case CQ_Q_TYPEANSWER:
        for (unsigned i = 0; i < q->n_accepted; i++) {
            if (strstr(q->accepted[i], "->")) {
                snprintf(why, cap,
                         "accepted[%u] contains \"->\", which GIFT reads as a matching "
                         "pair",
                         i);
                return why;
            }
            if (strchr(q->accepted[i], '*')) {
                snprintf(why, cap,
                         "accepted[%u] contains \"*\", which Moodle reads as a "
                         "wildcard",
                         i);
                return why;
            }
        }
        return NULL;
    default:
        return NULL;
    }
}

int cq_gift_export(const struct cq_bank *b, const struct cq_content_sources *s, const char *name,
                   struct cq_content_buf *out, struct cq_content_errors *errs, size_t *skipped)
{
    static const char *const difficulty[] = {"easy", "medium", "hard"};
    const struct cq_question *prev = NULL;
    *skipped = 0;
    cq_content_buf_printf(out, "// %s: exported by chainquiz-content from bank %s (%s %s).\n",
                          b->title, b->id, CQ_BANK_FORMAT, b->version);
    cq_content_buf_str(out, "// The \"// chainquiz...\" comments keep what GIFT cannot say; "
                            "Moodle ignores them.\n");
    json_t *bank = cq_content_bank_to_json(b, s);
    if (bank) {
        json_object_del(bank, "format");
        json_object_del(bank, "questions");
        char *m = json_dumps(bank, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (m)
            cq_content_buf_printf(out, "// %s %s\n", BANK_PREFIX, m);
        free(m);
        json_decref(bank);
    }
    cq_content_buf_str(out, "\n");
    for (size_t i = 0; i < b->n_questions; i++) {
        const struct cq_question *q = &b->questions[i];
        char why[160];
        const char *no = gift_unsupported(q, why, sizeof why);
        if (no) {
            cq_content_errors_add(errs, "%s: question %s: cannot be exported to GIFT: %s", name,
                                  q->id, no);
            (*skipped)++;
            continue;
        }
        if (!same_tags(q, prev)) {
            cq_content_buf_str(out, "$CATEGORY: ");
            for (unsigned t = 0; t < q->n_tags; t++)
                cq_content_buf_printf(out, "%s%s", t ? "/" : "", q->tags[t]);
            cq_content_buf_str(out, "\n\n");
        }
        prev = q;
        json_t *meta = json_pack("{s:s, s:{s:s, s:s}}", "difficulty", difficulty[q->difficulty % 3],
                                 "source", "file", q->source_file, "section", q->source_section);
        if (q->time_limit_s)
            json_object_set_new(meta, "time_limit", json_integer(q->time_limit_s));
        if (q->points != 1)
            json_object_set_new(meta, "points", json_integer(q->points));
        if (q->image)
            json_object_set_new(meta, "image", json_string(q->image));
        /* Only the excluded questions that this file holds too. */
        json_t *ex = json_array();
        for (unsigned k = 0; ex && k < q->n_exclude_ids; k++) {
            char why2[160];
            for (unsigned j = 0; j < q->n_excludes; j++) {
                const struct cq_question *o = &b->questions[q->excludes[j]];
                if (!strcmp(o->id, q->exclude_ids[k]) && !gift_unsupported(o, why2, sizeof why2))
                    json_array_append_new(ex, json_string(q->exclude_ids[k]));
            }
        }
        if (json_array_size(ex))
            json_object_set(meta, "excludes", ex);
        json_decref(ex);
        char *m = json_dumps(meta, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(meta);
        if (m)
            cq_content_buf_printf(out, "// %s %s\n", META_PREFIX, m);
        free(m);
        cq_content_buf_printf(out, "::%s::[plain]", q->id);
        put_escaped(out, q->prompt);
        cq_content_buf_str(out, " {\n");
        unsigned k = 0;
        for (unsigned o = 0; o < q->n_options; o++)
            k += (q->correct_mask >> o) & 1u;
        switch (q->type) {
        case CQ_Q_SINGLE:
            for (unsigned o = 0; o < q->n_options; o++) {
                bool right = (q->correct_mask >> o) & 1u;
                /* "~%5%..." would read as a weight: state the 0 explicitly. */
                cq_content_buf_str(out, right ? "\t=" : q->options[o][0] == '%' ? "\t~%0%" : "\t~");
                put_answer_text(out, q->options[o]);
                cq_content_buf_str(out, "\n");
            }
            break;
        case CQ_Q_MULTI:
            for (unsigned o = 0; o < q->n_options; o++) {
                bool right = (q->correct_mask >> o) & 1u;
                cq_content_buf_printf(out, "\t~%%%s%%", right ? multi_weight[k] : "-100");
                put_answer_text(out, q->options[o]);
                cq_content_buf_str(out, "\n");
            }
            break;
        case CQ_Q_TRUEFALSE:
            cq_content_buf_str(out, q->truth ? "\tTRUE\n" : "\tFALSE\n");
            break;
        case CQ_Q_TYPEANSWER:
            for (unsigned a = 0; a < q->n_accepted; a++) {
                cq_content_buf_str(out, q->accepted[a][0] == '%' ? "\t=%100%" : "\t=");
                put_answer_text(out, q->accepted[a]);
                cq_content_buf_str(out, "\n");
            }
            break;
        default:
            break;
        }
        cq_content_buf_str(out, "\t####");
        put_escaped(out, q->explanation);
        cq_content_buf_str(out, "\n}\n\n");
    }
    return out->failed ? -1 : 0;
}
