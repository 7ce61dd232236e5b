/* stats.c: latency samples and their percentiles. */
#include <math.h>
#include <stdlib.h>

#include "bench.h"

void cqb_series_add(struct cqb_series *s, double v)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        double *nv = realloc(s->v, ncap * sizeof *nv);
        if (!nv)
            return; /* a sample lost to memory is not a protocol loss */
        s->v = nv;
        s->cap = ncap;
    }
    s->v[s->n++] = v;
    s->sorted = false;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double cqb_series_pct(struct cqb_series *s, double p)
{
    if (!s->n)
        return 0.0;
    if (!s->sorted) {
        qsort(s->v, s->n, sizeof *s->v, cmp_double);
        s->sorted = true;
    }
    /* nearest rank: the smallest value with at least p% of samples <= it */
    double rank = ceil(p / 100.0 * (double)s->n);
    size_t k = rank < 1.0 ? 0 : (size_t)rank - 1;
    if (k >= s->n)
        k = s->n - 1;
    return s->v[k];
}

double cqb_series_max(struct cqb_series *s)
{
    return cqb_series_pct(s, 100.0);
}

double cqb_series_mean(const struct cqb_series *s)
{
    double sum = 0.0;
    for (size_t i = 0; i < s->n; i++)
        sum += s->v[i];
    return s->n ? sum / (double)s->n : 0.0;
}

void cqb_series_free(struct cqb_series *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static json_t *num(double v)
{
    return json_real(round(v * 1000.0) / 1000.0);
}

json_t *cqb_series_json(struct cqb_series *s)
{
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o}", "n", (json_int_t)s->n, "p50",
                     num(cqb_series_pct(s, 50)), "p95", num(cqb_series_pct(s, 95)), "p99",
                     num(cqb_series_pct(s, 99)), "max", num(cqb_series_max(s)), "mean",
                     num(cqb_series_mean(s)), "min", num(cqb_series_pct(s, 0)));
}
