/* cq_proto.c: strict decoding of client messages, compact encoding. */
#include "cq_proto.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---------------------------------------------------------- */

struct err_entry {
    int err;
    const char *code;
    const char *msg;
};

static const struct err_entry err_table[] = {
#define CQ_ERR_ROW_(name, code, msg) {CQ_E##name, code, msg},
    CQ_ERR_MAP(CQ_ERR_ROW_)
#undef CQ_ERR_ROW_
};

static const struct err_entry *err_find(int err)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].err == err)
            return &err_table[i];
    return NULL;
}

const char *cq_err_code(int err)
{
    const struct err_entry *e = err_find(err);
    return e ? e->code : "internal";
}

const char *cq_err_message(int err)
{
    const struct err_entry *e = err_find(err);
    return e ? e->msg : "internal server error";
}

int cq_err_from_code(const char *code)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (!strcmp(err_table[i].code, code))
            return err_table[i].err;
    return 0;
}

void cq_limits_default(struct cq_limits *l)
{
    l->frame_bytes = CQ_DEFAULT_FRAME_BYTES;
    l->nickname_max = CQ_DEFAULT_NICKNAME_MAX;
    l->answer_text_max = CQ_DEFAULT_ANSWER_TEXT_MAX;
    l->msgs_per_sec = CQ_DEFAULT_MSGS_PER_SEC;
    l->msgs_burst = CQ_DEFAULT_MSGS_BURST;
    l->max_players = CQ_DEFAULT_MAX_PLAYERS;
}

/* ---- tables ---------------------------------------------------------- */

struct msg_spec {
    const char *name;
    unsigned roles;
    uint32_t allowed, required;
};

#define HOST_FIELDS                                                                                \
    (CQ_F(BANK) | CQ_F(TAGS) | CQ_F(COUNT) | CQ_F(SHUFFLE) | CQ_F(SCORING) | CQ_F(STREAK) |        \
     CQ_F(PARTIAL_CREDIT) | CQ_F(TIME_LIMIT) | CQ_F(LEAD_IN) | CQ_F(AUTO_ADVANCE) |                \
     CQ_F(LATE_JOIN) | CQ_F(CHANGE_ANSWER) | CQ_F(GROUP) | CQ_F(MAX_PLAYERS) |                     \
     CQ_F(GROUP_SECRET) | CQ_F(JOIN_SECRET))

static const uint32_t msg_required[CQ_MSG__COUNT] = {
    [CQ_MSG_CREATE_GAME] = CQ_F(BANK),
    [CQ_MSG_JOIN] = CQ_F(PIN) | CQ_F(NICKNAME),
    [CQ_MSG_WATCH] = CQ_F(PIN) | CQ_F(TOKEN),
    [CQ_MSG_REJOIN] = CQ_F(PIN) | CQ_F(TOKEN),
    [CQ_MSG_SHOWN] = CQ_F(QUESTION),
    [CQ_MSG_ANSWER] = CQ_F(QUESTION) | CQ_F(ANSWER),
    [CQ_MSG_ADD_TIME] = CQ_F(SECONDS),
    [CQ_MSG_KICK] = CQ_F(PLAYER),
    [CQ_MSG_LOCK] = CQ_F(LOCKED),
};

static const uint32_t msg_optional[CQ_MSG__COUNT] = {
    [CQ_MSG_CREATE_GAME] = HOST_FIELDS,
    [CQ_MSG_JOIN] = CQ_F(SECRET),
    [CQ_MSG_WATCH] = CQ_F(SECRET),
};

static const struct msg_spec msg_specs[CQ_MSG__COUNT] = {
#define CQ_MSG_ROW_(e, name, roles) [CQ_MSG_##e] = {name, roles, 0, 0},
    CQ_MSG_MAP(CQ_MSG_ROW_)
#undef CQ_MSG_ROW_
};

static const char *const field_names[CQ_FIELD__COUNT] = {
#define CQ_FIELD_ROW_(e, name) [CQ_FIELD_##e] = name,
    CQ_FIELD_MAP(CQ_FIELD_ROW_)
#undef CQ_FIELD_ROW_
};

const char *cq_msg_name(enum cq_msg_type t)
{
    return (unsigned)t < CQ_MSG__COUNT ? msg_specs[t].name : "?";
}

unsigned cq_msg_roles(enum cq_msg_type t)
{
    return (unsigned)t < CQ_MSG__COUNT ? msg_specs[t].roles : 0;
}

uint32_t cq_msg_fields(enum cq_msg_type t, uint32_t *required)
{
    if ((unsigned)t >= CQ_MSG__COUNT)
        return 0;
    if (required)
        *required = msg_required[t];
    return CQ_F(ID) | msg_required[t] | msg_optional[t];
}

/* ---- helpers --------------------------------------------------------- */

static int fail(struct cq_proto_error *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Cuts `s` back to a whole UTF-8 character when snprintf truncated it, so
 * the error reply stays valid JSON text. */
static void utf8_trim(char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n + 1 < cap)
        return;
    while (n > 0 && ((unsigned char)s[n - 1] & 0xc0) == 0x80)
        n--;
    if (n > 0 && ((unsigned char)s[n - 1] & 0x80))
        n--; /* the lead byte of the cut character */
    s[n] = '\0';
}

static int fail(struct cq_proto_error *err, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    utf8_trim(err->field, sizeof err->field);
    va_start(ap, fmt);
    vsnprintf(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
    utf8_trim(err->detail, sizeof err->detail);
    return code;
}

static int want_int(json_t *v, const char *f, long long lo, long long hi, int *out,
                    struct cq_proto_error *err)
{
    if (!json_is_integer(v))
        return fail(err, CQ_EBAD_TYPE, f, "%s must be an integer", f);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return fail(err, CQ_EOUT_OF_RANGE, f, "%s must be between %lld and %lld", f, lo, hi);
    *out = (int)x;
    return 0;
}

static int want_bool(json_t *v, const char *f, bool *out, struct cq_proto_error *err)
{
    if (!json_is_boolean(v))
        return fail(err, CQ_EBAD_TYPE, f, "%s must be true or false", f);
    *out = json_is_true(v);
    return 0;
}

static int want_str(json_t *v, const char *f, size_t lo, size_t hi, const char **out,
                    struct cq_proto_error *err)
{
    if (!json_is_string(v))
        return fail(err, CQ_EBAD_TYPE, f, "%s must be a string", f);
    const char *s = json_string_value(v); /* no NULs: JSON_ALLOW_NUL is off */
    size_t n = cq_utf8_len(s);
    if (n < lo || n > hi)
        return fail(err, CQ_EBAD_LENGTH, f, "%s must have %zu to %zu characters", f, lo, hi);
    *out = s;
    return 0;
}

static bool is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static int decode_answer(json_t *v, const struct cq_limits *lim, struct cq_answer *a,
                         struct cq_proto_error *err)
{
    const char *f = "answer";
    memset(a, 0, sizeof *a);
    if (json_is_integer(v)) {
        a->kind = CQ_ANSWER_CHOICE;
        return want_int(v, f, 0, CQ_OPTIONS_MAX - 1, &a->choice, err);
    }
    if (json_is_boolean(v)) {
        a->kind = CQ_ANSWER_BOOL;
        a->value = json_is_true(v);
        return 0;
    }
    if (json_is_string(v)) {
        a->kind = CQ_ANSWER_TEXT;
        return want_str(v, f, 1, lim->answer_text_max, &a->text, err);
    }
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        if (n < 1 || n > CQ_OPTIONS_MAX)
            return fail(err, CQ_EBAD_LENGTH, f, "answer must list 1 to %d options", CQ_OPTIONS_MAX);
        a->kind = CQ_ANSWER_CHOICES;
        for (size_t i = 0; i < n; i++) {
            int r = want_int(json_array_get(v, i), f, 0, CQ_OPTIONS_MAX - 1, &a->items[i], err);
            if (r)
                return r;
            for (size_t j = 0; j < i; j++)
                if (a->items[j] == a->items[i])
                    return fail(err, CQ_EBAD_VALUE, f, "answer lists option %d twice", a->items[i]);
        }
        a->n_items = (unsigned)n;
        return 0;
    }
    return fail(err, CQ_EBAD_TYPE, f,
                "answer must be an integer, a boolean, a string or an array of integers");
}

static int decode_field(enum cq_field f, json_t *v, const struct cq_limits *lim, struct cq_msg *m,
                        struct cq_proto_error *err)
{
    const char *n = field_names[f];
    switch (f) {
    case CQ_FIELD_ID:
        if (json_is_integer(v))
            return 0;
        if (json_is_string(v)) {
            const char *s;
            return want_str(v, n, 1, CQ_REQ_ID_MAX, &s, err);
        }
        return fail(err, CQ_EBAD_TYPE, n, "id must be a string or an integer");
    case CQ_FIELD_PIN: {
        int r = want_str(v, n, CQ_PIN_DIGITS, CQ_PIN_DIGITS, &m->pin, err);
        if (r)
            return r;
        for (const char *p = m->pin; *p; p++)
            if (*p < '0' || *p > '9')
                return fail(err, CQ_EBAD_VALUE, n, "pin must be %d digits", CQ_PIN_DIGITS);
        return 0;
    }
    case CQ_FIELD_NICKNAME:
        /* Trimming and character rules are the game's; here only a cap. */
        return want_str(v, n, 0, 4u * lim->nickname_max, &m->nickname, err);
    case CQ_FIELD_TOKEN:
    case CQ_FIELD_GROUP_SECRET: {
        const char **out = f == CQ_FIELD_TOKEN ? &m->token : &m->group_secret;
        int r = want_str(v, n, 1, CQ_TOKEN_MAX, out, err);
        if (r)
            return r;
        for (const char *p = *out; *p; p++)
            if (!is_token_char(*p))
                return fail(err, CQ_EBAD_VALUE, n, "%s has characters outside [A-Za-z0-9_-]", n);
        return 0;
    }
    case CQ_FIELD_SECRET: {
        int r = want_str(v, n, 1, CQ_TOKEN_MAX, &m->secret, err);
        if (r)
            return r;
        for (const char *p = m->secret; *p; p++)
            if (!is_token_char(*p))
                return fail(err, CQ_EBAD_VALUE, n, "secret has characters outside [A-Za-z0-9_-]");
        return 0;
    }
    case CQ_FIELD_JOIN_SECRET:
        return want_bool(v, n, &m->join_secret, err);
    case CQ_FIELD_BANK:
        return want_str(v, n, 1, CQ_BANK_ID_MAX, &m->bank, err);
    case CQ_FIELD_GROUP:
        return want_str(v, n, 0, CQ_GROUP_MAX, &m->group, err);
    case CQ_FIELD_TAGS: {
        if (!json_is_array(v))
            return fail(err, CQ_EBAD_TYPE, n, "tags must be an array of strings");
        size_t k = json_array_size(v);
        if (k > CQ_TAGS_MAX)
            return fail(err, CQ_EBAD_LENGTH, n, "at most %d tags", CQ_TAGS_MAX);
        for (size_t i = 0; i < k; i++) {
            int r = want_str(json_array_get(v, i), n, 1, CQ_TAG_MAX, &m->tags[i], err);
            if (r)
                return r;
        }
        m->n_tags = (unsigned)k;
        return 0;
    }
    case CQ_FIELD_SCORING: {
        const char *s;
        int r = want_str(v, n, 1, 16, &s, err);
        if (r)
            return r;
        if (!strcmp(s, "speed"))
            m->scoring = CQ_SCORING_SPEED;
        else if (!strcmp(s, "accuracy"))
            m->scoring = CQ_SCORING_ACCURACY;
        else
            return fail(err, CQ_EBAD_VALUE, n, "scoring must be \"speed\" or \"accuracy\"");
        return 0;
    }
    case CQ_FIELD_COUNT:
        return want_int(v, n, 1, CQ_QUESTIONS_MAX, &m->count, err);
    case CQ_FIELD_TIME_LIMIT:
        return want_int(v, n, 1, CQ_TIME_LIMIT_MAX_S, &m->time_limit, err);
    case CQ_FIELD_LEAD_IN:
        return want_int(v, n, 0, CQ_LEAD_IN_MAX_S, &m->lead_in, err);
    case CQ_FIELD_SECONDS:
        return want_int(v, n, 1, CQ_ADD_TIME_MAX_S, &m->seconds, err);
    case CQ_FIELD_QUESTION:
        return want_int(v, n, 0, CQ_QUESTIONS_MAX - 1, &m->question, err);
    case CQ_FIELD_PLAYER:
        return want_int(v, n, 1, INT32_MAX, &m->player, err);
    case CQ_FIELD_MAX_PLAYERS:
        return want_int(v, n, 1, (long long)lim->max_players, &m->max_players, err);
    case CQ_FIELD_SHUFFLE:
        return want_bool(v, n, &m->shuffle, err);
    case CQ_FIELD_STREAK:
        return want_bool(v, n, &m->streak, err);
    case CQ_FIELD_PARTIAL_CREDIT:
        return want_bool(v, n, &m->partial_credit, err);
    case CQ_FIELD_AUTO_ADVANCE:
        return want_bool(v, n, &m->auto_advance, err);
    case CQ_FIELD_LATE_JOIN:
        return want_bool(v, n, &m->late_join, err);
    case CQ_FIELD_CHANGE_ANSWER:
        return want_bool(v, n, &m->change_answer, err);
    case CQ_FIELD_LOCKED:
        return want_bool(v, n, &m->locked, err);
    case CQ_FIELD_ANSWER:
        return decode_answer(v, lim, &m->answer, err);
    case CQ_FIELD__COUNT:
        break;
    }
    return fail(err, CQ_EINTERNAL, n, "unhandled field");
}

static int field_lookup(const char *key)
{
    for (int i = 0; i < CQ_FIELD__COUNT; i++)
        if (!strcmp(field_names[i], key))
            return i;
    return -1;
}

/* ---- decode ---------------------------------------------------------- */

static void msg_defaults(struct cq_msg *m)
{
    memset(m, 0, sizeof *m);
    m->scoring = CQ_SCORING_SPEED;
    m->streak = true;
    m->shuffle = false;
    m->group = "";
}

int cq_proto_decode(const char *buf, size_t len, const struct cq_limits *lim, struct cq_msg *m,
                    struct cq_proto_error *err)
{
    json_error_t jerr;
    int result;

    msg_defaults(m);
    memset(err, 0, sizeof *err);
    if (len > lim->frame_bytes)
        return fail(err, CQ_ETOO_LARGE, NULL, "message is %zu bytes; the limit is %zu", len,
                    lim->frame_bytes);

    m->root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!m->root) {
        if (json_error_code(&jerr) == json_error_invalid_utf8)
            return fail(err, CQ_EBAD_UTF8, NULL, "%s", jerr.text);
        return fail(err, CQ_EBAD_JSON, NULL, "%s at position %d", jerr.text, jerr.position);
    }
    if (!json_is_object(m->root))
        return fail(err, CQ_ENOT_OBJECT, NULL, "the top level must be an object");

    /* The id first, so every later error can be correlated. */
    json_t *id = json_object_get(m->root, "id");
    if (id) {
        result = decode_field(CQ_FIELD_ID, id, lim, m, err);
        if (result)
            return result;
        m->req_id = id;
    }

    json_t *type = json_object_get(m->root, "type");
    if (!type)
        return fail(err, CQ_EMISSING_FIELD, "type", "type is required");
    if (!json_is_string(type))
        return fail(err, CQ_EBAD_TYPE, "type", "type must be a string");
    const char *tname = json_string_value(type);
    int t = -1;
    for (int i = 0; i < CQ_MSG__COUNT; i++)
        if (!strcmp(msg_specs[i].name, tname))
            t = i;
    if (t < 0)
        return fail(err, CQ_EUNKNOWN_TYPE, "type", "unknown message type");
    m->type = (enum cq_msg_type)t;

    uint32_t required = 0;
    uint32_t allowed = cq_msg_fields(m->type, &required);
    const char *key;
    json_t *v;
    json_object_foreach(m->root, key, v)
    {
        if (!strcmp(key, "type"))
            continue;
        int f = field_lookup(key);
        if (f < 0 || !(allowed & (1u << f)))
            return fail(err, CQ_EUNKNOWN_FIELD, key, "%s does not take the field %s", tname, key);
        if (f == CQ_FIELD_ID)
            continue;
        result = decode_field((enum cq_field)f, v, lim, m, err);
        if (result)
            return result;
        m->present |= 1u << f;
    }
    uint32_t missing = required & ~m->present;
    if (missing) {
        int f = __builtin_ctz(missing);
        return fail(err, CQ_EMISSING_FIELD, field_names[f], "%s requires the field %s", tname,
                    field_names[f]);
    }
    return 0;
}

void cq_msg_clear(struct cq_msg *m)
{
    if (m->root)
        json_decref(m->root);
    m->root = NULL;
    m->req_id = NULL;
}

/* ---- encode ---------------------------------------------------------- */

/* One pass into a buffer that grows by doubling: json_dumpb(NULL) to size it
 * first encoded every message twice (1.7 us for a `result`, 0.9 us in one
 * pass; docs/performance.md). */
struct dump_buf {
    char *b;
    size_t len, cap, head;
};

static int dump_add(const char *buf, size_t size, void *data)
{
    struct dump_buf *d = data;
    if (d->head + d->len + size + 1 > d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 4096;
        while (ncap < d->head + d->len + size + 1)
            ncap *= 2;
        char *nb = realloc(d->b, ncap);
        if (!nb)
            return -1;
        d->b = nb;
        d->cap = ncap;
    }
    memcpy(d->b + d->head + d->len, buf, size);
    d->len += size;
    return 0;
}

char *cq_proto_dump(const json_t *obj, size_t headroom, size_t *len)
{
    struct dump_buf d = {malloc(headroom + 256), 0, headroom + 256, headroom};
    if (!d.b)
        return NULL;
    if (json_dump_callback(obj, dump_add, &d, JSON_COMPACT) || !d.len) {
        free(d.b);
        return NULL;
    }
    d.b[headroom + d.len] = '\0';
    *len = d.len;
    return d.b;
}

int cq_proto_append(struct cq_proto_buf *pb, const json_t *obj, char sep)
{
    struct dump_buf d = {pb->b, pb->len, pb->cap, 0};
    int r = sep && d.len ? dump_add(&sep, 1, &d) : 0;
    if (!r && json_dump_callback(obj, dump_add, &d, JSON_COMPACT))
        r = -1;
    /* Grown or not, the buffer is the caller's again; on failure what was
     * appended is cut off. */
    pb->b = d.b;
    pb->cap = d.cap;
    if (!r)
        pb->len = d.len;
    if (pb->b)
        pb->b[pb->len] = '\0';
    return r;
}

void cq_proto_buf_free(struct cq_proto_buf *pb)
{
    free(pb->b);
    *pb = (struct cq_proto_buf){0};
}

json_t *cq_proto_error_msg(const json_t *req_id, int code, const char *field, const char *detail)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", cq_err_code(code), "message",
                          detail && *detail ? detail : cq_err_message(code));
    if (!o)
        return NULL;
    if (req_id)
        json_object_set(o, "id", (json_t *)req_id);
    if (field && *field)
        json_object_set_new(o, "field", json_string(field));
    return o;
}
