/* Export then import keeps every question the format can express: the
 * built-in bank through GIFT (single, multi, truefalse, typeanswer) and
 * through the Kahoot! CSV layout (single and multi with up to 4 options,
 * truefalse). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

struct builtin {
    struct cq_bank *bank;
    struct cq_content_sources sources;
    json_t *doc; /* the canonical JSON of the bank */
};

static void builtin_load(struct builtin *b)
{
    struct cq_content_errors errs;
    cq_content_errors_init(&errs, 10);
    b->bank = cq_content_load_file(BUILTIN, &errs, &b->sources);
    cr_assert_not_null(b->bank, "%s", errs.n ? errs.lines[0] : "");
    b->doc = cq_content_bank_to_json(b->bank, &b->sources);
    cq_content_errors_free(&errs);
}

static void builtin_free(struct builtin *b)
{
    json_decref(b->doc);
    cq_content_sources_free(&b->sources);
    cq_bank_free(b->bank);
}

static json_t *find(json_t *bank, const char *id)
{
    size_t i;
    json_t *q;
    json_array_foreach(json_object_get(bank, "questions"), i, q)
    {
        if (!strcmp(json_string_value(json_object_get(q, "id")), id))
            return q;
    }
    return NULL;
}

static void expect_same(json_t *want, json_t *got, const char *id, const char *key)
{
    char *a = json_dumps(json_object_get(want, key), JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = json_dumps(json_object_get(got, key), JSON_COMPACT | JSON_ENCODE_ANY);
    cr_expect(a == b || (a && b && !strcmp(a, b)), "%s: %s: %s became %s", id, key,
              a ? a : "(none)", b ? b : "(none)");
    free(a);
    free(b);
}

Test(roundtrip, gift_keeps_every_expressible_question_of_the_builtin_bank)
{
    static const char *const keys[] = {
        "type",   "prompt",     "options",    "correct", "accepted", "explanation", "tags",
        "source", "difficulty", "time_limit", "points",  "image",    "excludes"};
    struct builtin b;
    struct cq_content_errors errs;
    struct cq_content_buf out;
    size_t skipped, expressible = 0;
    builtin_load(&b);
    cq_content_errors_init(&errs, 100);
    cq_content_buf_init(&out, CQ_EXPORT_MAX);
    cr_assert_eq(cq_gift_export(b.bank, &b.sources, "bank.json", &out, &errs, &skipped), 0);
    for (size_t i = 0; i < b.bank->n_questions; i++) {
        enum cq_qtype t = b.bank->questions[i].type;
        expressible +=
            t == CQ_Q_SINGLE || t == CQ_Q_MULTI || t == CQ_Q_TRUEFALSE || t == CQ_Q_TYPEANSWER;
    }
    cr_expect_eq(expressible, 164);
    cr_expect_eq(skipped, b.bank->n_questions - expressible);
    cr_expect_eq(errs.n, skipped);

    struct t_import t;
    t_import_text(&t, CQ_IMPORT_GIFT, "bank.gift", out.p);
    cr_expect_eq(t.status, 0, "%s", t.errs.n ? t.errs.lines[0] : "");
    cr_assert_eq(t.r.imported, expressible);
    cr_expect_eq(t.r.generated_explanations, 0);
    /* The bank's metadata and sources come back too. */
    static const char *const bank_keys[] = {"id",      "title",   "description", "language",
                                            "version", "licence", "sources"};
    for (size_t k = 0; k < sizeof bank_keys / sizeof bank_keys[0]; k++)
        expect_same(b.doc, t.r.bank, "(bank)", bank_keys[k]);
    for (size_t i = 0; i < b.bank->n_questions; i++) {
        const struct cq_question *q = &b.bank->questions[i];
        json_t *want = find(b.doc, q->id), *got = find(t.r.bank, q->id);
        if (q->type == CQ_Q_ORDERING || q->type == CQ_Q_POLL) {
            cr_expect_null(got, "%s was exported", q->id);
            continue;
        }
        cr_assert_not_null(got, "%s is missing after the round trip", q->id);
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            expect_same(want, got, q->id, keys[k]);
    }
    t_import_free(&t);
    cq_content_buf_free(&out);
    cq_content_errors_free(&errs);
    builtin_free(&b);
}

Test(roundtrip, csv_keeps_every_expressible_question_of_the_builtin_bank)
{
    struct builtin b;
    struct cq_content_errors errs;
    struct cq_content_buf out;
    size_t skipped, expressible = 0;
    builtin_load(&b);
    cq_content_errors_init(&errs, 100);
    cq_content_buf_init(&out, CQ_EXPORT_MAX);
    cr_assert_eq(cq_csv_export(b.bank, "bank.json", &out, &errs, &skipped), 0);
    struct t_import t;
    t_import_text(&t, CQ_IMPORT_CSV, "bank.csv", out.p);
    cr_expect_eq(t.status, 0, "%s", t.errs.n ? t.errs.lines[0] : "");
    json_t *qs = json_object_get(t.r.bank, "questions");
    /* Ids come from the prompts in CSV; questions keep their order. */
    size_t k = 0;
    for (size_t i = 0; i < b.bank->n_questions; i++) {
        const struct cq_question *q = &b.bank->questions[i];
        bool fits = q->type == CQ_Q_TRUEFALSE ||
                    ((q->type == CQ_Q_SINGLE || q->type == CQ_Q_MULTI) && q->n_options <= 4);
        if (!fits)
            continue;
        expressible++;
        json_t *want = find(b.doc, q->id), *got = json_array_get(qs, k++);
        cr_assert_not_null(got, "%s is missing after the round trip", q->id);
        expect_same(want, got, q->id, "type");
        expect_same(want, got, q->id, "prompt");
        expect_same(want, got, q->id, "options");
        expect_same(want, got, q->id, "correct");
        expect_same(want, got, q->id, "time_limit");
    }
    cr_expect_eq(expressible, 129);
    cr_expect_eq(t.r.imported, expressible);
    cr_expect_eq(skipped, b.bank->n_questions - expressible);
    t_import_free(&t);
    cq_content_buf_free(&out);
    cq_content_errors_free(&errs);
    builtin_free(&b);
}
