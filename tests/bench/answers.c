/* answers.c: what the players answer.
 *
 * When the bench can read the bank file (the same content folder the server
 * loads), it finds each question by its prompt and maps the displayed
 * options back to the bank's, so that "right" players are right and "wrong"
 * players are wrong, and the server's scoring can be checked against it.
 * Without the file, answers have the right shape but unknown correctness.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "cq_limits.h"

struct cqb_bank {
    json_t *root;
    json_t *questions;
};

struct cqb_bank *cqb_bank_load(const char *content_dir, const char *bank_id)
{
    DIR *d = opendir(content_dir);
    struct dirent *e;
    struct cqb_bank *found = NULL;
    if (!d)
        return NULL;
    while (!found && (e = readdir(d))) {
        char path[1200];
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s/bank.json", content_dir, e->d_name);
        json_t *root = json_load_file(path, 0, NULL);
        if (!root)
            continue;
        const char *id = json_string_value(json_object_get(root, "id"));
        json_t *qs = json_object_get(root, "questions");
        if (id && !strcmp(id, bank_id) && json_is_array(qs) && (found = calloc(1, sizeof *found))) {
            found->root = root;
            found->questions = qs;
        } else {
            json_decref(root);
        }
    }
    closedir(d);
    return found;
}

void cqb_bank_free(struct cqb_bank *b)
{
    if (!b)
        return;
    json_decref(b->root);
    free(b);
}

static json_t *bank_question(const struct cqb_bank *b, const char *prompt, const char *qtype)
{
    size_t i;
    json_t *q;
    if (!b || !prompt)
        return NULL;
    json_array_foreach(b->questions, i, q)
    {
        const char *p = json_string_value(json_object_get(q, "prompt"));
        const char *t = json_string_value(json_object_get(q, "type"));
        if (p && t && !strcmp(p, prompt) && !strcmp(t, qtype))
            return q;
    }
    return NULL;
}

/* The bank index of a displayed option, by its text; -1 when not found. */
static int bank_index(json_t *bank_options, const char *text)
{
    size_t i;
    json_t *o;
    json_array_foreach(bank_options, i, o)
    {
        const char *s = json_string_value(o);
        if (s && !strcmp(s, text))
            return (int)i;
    }
    return -1;
}

static bool bank_correct(json_t *bq, int bank_idx)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(bq, "correct"), i, c)
    {
        if (json_integer_value(c) == bank_idx)
            return true;
    }
    return false;
}

static char *dump(json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return s;
}

static long long get_int(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

int cqb_plan_build(struct cqb_plan *p, const struct cqb_bank *bank, json_t *question, uint64_t seed)
{
    const char *qtype = json_string_value(json_object_get(question, "qtype"));
    const char *prompt = json_string_value(json_object_get(question, "prompt"));
    json_t *opts = json_object_get(question, "options");
    unsigned n = (unsigned)json_array_size(opts);
    int pos[CQ_OPTIONS_MAX];
    json_t *right = NULL, *wrong = NULL;

    memset(p, 0, sizeof *p);
    if (!qtype)
        return -1;
    snprintf(p->qtype, sizeof p->qtype, "%s", qtype);
    p->n_options = n;
    p->lead_in_ms = get_int(question, "lead_in_ms");
    p->remaining_ms = get_int(question, "remaining_ms");
    p->time_limit_ms = get_int(question, "time_limit_ms");
    p->total = get_int(question, "total");
    if (n > CQ_OPTIONS_MAX)
        n = CQ_OPTIONS_MAX;

    json_t *bq = bank_question(bank, prompt, qtype);
    json_t *bopts = bq ? json_object_get(bq, "options") : NULL;
    bool mapped = bq != NULL;
    for (unsigned i = 0; i < n; i++) {
        pos[i] = bopts ? bank_index(bopts, json_string_value(json_array_get(opts, i))) : -1;
        if (bopts && pos[i] < 0)
            mapped = false;
    }
    p->right_known = mapped ? 1 : -1;

    if (!strcmp(qtype, "single") || !strcmp(qtype, "poll")) {
        int r = 0, w = n > 1 ? 1 : 0;
        if (!strcmp(qtype, "poll")) {
            r = n ? (int)(cqb_mix(seed) % n) : 0;
            w = n ? (int)((unsigned)(r + 1) % n) : 0;
            p->right_known = 0;
        } else if (mapped) {
            r = w = -1;
            for (unsigned i = 0; i < n; i++) {
                if (bank_correct(bq, pos[i]) && r < 0)
                    r = (int)i;
                if (!bank_correct(bq, pos[i]) && w < 0)
                    w = (int)i;
            }
            if (r < 0 || w < 0) {
                r = 0;
                w = n > 1 ? 1 : 0;
                p->right_known = -1;
            }
        }
        right = json_integer(r);
        wrong = json_integer(w);
    } else if (!strcmp(qtype, "multi")) {
        right = json_array();
        wrong = json_array();
        if (mapped) {
            for (unsigned i = 0; i < n; i++)
                if (bank_correct(bq, pos[i]))
                    json_array_append_new(right, json_integer(i));
            for (unsigned i = 0; i < n && !json_array_size(wrong); i++)
                if (!bank_correct(bq, pos[i]))
                    json_array_append_new(wrong, json_integer(i));
        }
        if (!json_array_size(right) || !json_array_size(wrong)) {
            json_array_clear(right);
            json_array_clear(wrong);
            json_array_append_new(right, json_integer(0));
            json_array_append_new(wrong, json_integer(n > 1 ? 1 : 0));
            p->right_known = -1;
        }
    } else if (!strcmp(qtype, "truefalse")) {
        bool truth = true;
        json_t *c = bq ? json_object_get(bq, "correct") : NULL;
        if (json_is_boolean(c))
            truth = json_is_true(c);
        else
            p->right_known = -1;
        right = json_boolean(truth);
        wrong = json_boolean(!truth);
    } else if (!strcmp(qtype, "typeanswer")) {
        const char *acc =
            bq ? json_string_value(json_array_get(json_object_get(bq, "accepted"), 0)) : NULL;
        if (!acc)
            p->right_known = -1;
        right = json_string(acc ? acc : "benchmark");
        wrong = json_string("not the answer 42");
    } else if (!strcmp(qtype, "ordering")) {
        /* right: for each rank, the displayed position of that bank option */
        right = json_array();
        wrong = json_array();
        for (unsigned r = 0; r < n; r++) {
            int at = (int)r;
            if (mapped)
                for (unsigned i = 0; i < n; i++)
                    if (pos[i] == (int)r)
                        at = (int)i;
            json_array_append_new(right, json_integer(at));
        }
        for (unsigned r = n; r-- > 0;)
            json_array_append_new(wrong, json_copy(json_array_get(right, r)));
    } else {
        return -1;
    }
    p->right = dump(right);
    p->wrong = dump(wrong);
    if (!p->right || !p->wrong) {
        cqb_plan_free(p);
        return -1;
    }
    p->ready = true;
    return 0;
}

void cqb_plan_free(struct cqb_plan *p)
{
    free(p->right);
    free(p->wrong);
    p->right = p->wrong = NULL;
    p->ready = false;
}
