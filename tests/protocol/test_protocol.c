/* The protocol contract as data (jansson's test/suites layout):
 *   protocol/fixtures/valid/NAME.json            must decode
 *   protocol/fixtures/invalid/NAME/input.json    must fail, with the code on
 *   protocol/fixtures/invalid/NAME/error         line 1 and the field on line 2
 * and PROTOCOL.md, the schemas and the C tables must name the same
 * messages and error codes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cq_proto.h"

#define FIX CQ_SOURCE_DIR "/protocol/fixtures"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static int cmp_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

Test(fixtures, valid_messages_decode)
{
    struct dirent **e;
    struct cq_limits lim;
    int n = scandir(FIX "/valid", &e, NULL, cmp_names), seen = 0;
    cr_assert_gt(n, 0, "no fixtures in " FIX "/valid");
    cq_limits_default(&lim);
    for (int i = 0; i < n; i++) {
        char path[512];
        size_t len;
        if (strstr(e[i]->d_name, ".json")) {
            snprintf(path, sizeof path, FIX "/valid/%s", e[i]->d_name);
            char *text = slurp(path, &len);
            cr_assert_not_null(text, "%s", path);
            struct cq_msg m;
            struct cq_proto_error err;
            int r = cq_proto_decode(text, len, &lim, &m, &err);
            cr_expect_eq(r, 0, "%s: %s (%s) %s", e[i]->d_name, cq_err_code(err.code), err.field,
                         err.detail);
            cq_msg_clear(&m);
            free(text);
            seen++;
        }
        free(e[i]);
    }
    free(e);
    cr_assert_gt(seen, CQ_MSG__COUNT - 1, "at least one valid fixture per message type");
}

Test(fixtures, invalid_messages_fail_precisely)
{
    struct dirent **e;
    struct cq_limits lim;
    int n = scandir(FIX "/invalid", &e, NULL, cmp_names), seen = 0;
    cr_assert_gt(n, 0);
    cq_limits_default(&lim);
    for (int i = 0; i < n; i++) {
        char path[512], want_code[64] = "", want_field[64] = "";
        size_t len;
        if (e[i]->d_name[0] == '.') {
            free(e[i]);
            continue;
        }
        snprintf(path, sizeof path, FIX "/invalid/%s/error", e[i]->d_name);
        char *expect = slurp(path, NULL);
        cr_assert_not_null(expect, "%s", path);
        sscanf(expect, "%63[^\n]\n%63[^\n]", want_code, want_field);
        free(expect);
        snprintf(path, sizeof path, FIX "/invalid/%s/input.json", e[i]->d_name);
        char *text = slurp(path, &len);
        cr_assert_not_null(text, "%s", path);
        struct cq_msg m;
        struct cq_proto_error err;
        int r = cq_proto_decode(text, len, &lim, &m, &err);
        cr_expect_neq(r, 0, "%s decoded but must fail", e[i]->d_name);
        cr_expect_str_eq(cq_err_code(r), want_code, "%s", e[i]->d_name);
        cr_expect_str_eq(err.field, want_field, "%s: field", e[i]->d_name);
        cr_expect_gt(strlen(err.detail), 0, "%s: a human message", e[i]->d_name);
        cq_msg_clear(&m);
        free(text);
        free(e[i]);
        seen++;
    }
    free(e);
    cr_assert_gt(seen, 20);
}

/* Every wire error code has at least one invalid fixture or is raised by
 * the game, not the decoder; the decoder's own codes all have fixtures. */
Test(fixtures, every_decoder_rule_has_a_fixture)
{
    static const char *const decoder_codes[] = {
        "bad_json",      "bad_utf8", "not_object",   "too_large",  "unknown_type", "missing_field",
        "unknown_field", "bad_type", "out_of_range", "bad_length", "bad_value"};
    for (size_t i = 0; i < sizeof decoder_codes / sizeof decoder_codes[0]; i++) {
        struct dirent **e;
        int n = scandir(FIX "/invalid", &e, NULL, cmp_names), found = 0;
        for (int k = 0; k < n; k++) {
            char path[512];
            snprintf(path, sizeof path, FIX "/invalid/%s/error", e[k]->d_name);
            char *t = slurp(path, NULL);
            if (t && !strncmp(t, decoder_codes[i], strlen(decoder_codes[i])) &&
                (t[strlen(decoder_codes[i])] == '\n' || !t[strlen(decoder_codes[i])]))
                found++;
            free(t);
            free(e[k]);
        }
        free(e);
        cr_expect_gt(found, 0, "no invalid fixture expects %s", decoder_codes[i]);
    }
}

static char *spec;

static void load_spec(void)
{
    spec = slurp(CQ_SOURCE_DIR "/protocol/PROTOCOL.md", NULL);
    cr_assert_not_null(spec, "protocol/PROTOCOL.md missing");
}

static void free_spec(void)
{
    free(spec);
}

static bool has_section(const char *name)
{
    char h[96];
    snprintf(h, sizeof h, "\n### `%s`\n", name);
    return strstr(spec, h) != NULL;
}

static bool file_exists(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f)
        fclose(f);
    return f != NULL;
}

Test(spec, every_client_message_is_documented_with_a_schema, .init = load_spec, .fini = free_spec)
{
    for (int t = 0; t < CQ_MSG__COUNT; t++) {
        char path[256];
        const char *name = cq_msg_name((enum cq_msg_type)t);
        cr_expect(has_section(name), "PROTOCOL.md has no section ### `%s`", name);
        snprintf(path, sizeof path, CQ_SOURCE_DIR "/protocol/schema/client/%s.schema.json", name);
        cr_expect(file_exists(path), "no schema %s", path);
    }
}

Test(spec, every_server_message_is_documented_with_a_schema, .init = load_spec, .fini = free_spec)
{
#define CHECK_(name)                                                                               \
    do {                                                                                           \
        char path[256];                                                                            \
        cr_expect(has_section(#name), "PROTOCOL.md has no section ### `%s`", #name);               \
        snprintf(path, sizeof path, CQ_SOURCE_DIR "/protocol/schema/server/%s.schema.json",        \
                 #name);                                                                           \
        cr_expect(file_exists(path), "no schema %s", path);                                        \
    } while (0);
    CQ_SERVER_MSG_MAP(CHECK_)
#undef CHECK_
}

Test(spec, every_error_code_is_in_the_table, .init = load_spec, .fini = free_spec)
{
#define ROW_(name, code, msg)                                                                      \
    do {                                                                                           \
        char row[96];                                                                              \
        snprintf(row, sizeof row, "\n| `%s` |", code);                                             \
        cr_expect(strstr(spec, row) != NULL, "PROTOCOL.md's error table lacks %s", code);          \
        cr_expect_eq(cq_err_from_code(code), CQ_E##name == CQ_EINTERNAL ? CQ_ENOMEM : CQ_E##name,  \
                     "%s maps back", code);                                                        \
    } while (0);
    CQ_ERR_MAP(ROW_)
#undef ROW_
}

/* The error message's schema lists every code the server can send. */
Test(spec, every_error_code_is_in_the_error_schema)
{
    char *schema = slurp(CQ_SOURCE_DIR "/protocol/schema/server/error.schema.json", NULL);
    cr_assert_not_null(schema);
#define ROW_(name, code, msg)                                                                      \
    do {                                                                                           \
        char q[64];                                                                                \
        snprintf(q, sizeof q, "\"%s\"", code);                                                     \
        cr_expect(strstr(schema, q) != NULL, "error.schema.json lacks %s", code);                  \
    } while (0);
    CQ_ERR_MAP(ROW_)
#undef ROW_
    free(schema);
}

Test(spec, limits_match_the_document, .init = load_spec, .fini = free_spec)
{
    char want[64];
    struct cq_limits l;
    cq_limits_default(&l);
    snprintf(want, sizeof want, "%zu", l.frame_bytes);
    cr_expect(strstr(spec, want), "frame limit %s not in PROTOCOL.md", want);
    cr_expect(strstr(spec, CQ_SUBPROTOCOL));
    cr_expect(strstr(spec, "`" CQ_WS_PATH "`"));
}
