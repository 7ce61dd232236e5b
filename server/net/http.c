/* http.c: the small dynamic HTTP endpoints: health, readiness, metrics,
 * the bank list and the join QR code. Static files are lws's mount. */
#include <qrencode.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_priv.h"

#define BODY_MAX (1u << 20) /* a dynamic response's body, bytes */

/* Per-request state: the body waiting for WRITEABLE. */
struct http_pss {
    char *body; /* LWS_PRE headroom, then the body */
    size_t len;
};

size_t cq_http_pss_size(void)
{
    return sizeof(struct http_pss);
}

/* A growable text with a hard ceiling (curl's dynbuf idea). */
struct text {
    char *p;
    size_t len, cap;
    bool over;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    if (t->over)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->over = true;
            return;
        }
        if (t->p && (size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t ncap = t->cap ? t->cap * 2 : 4096;
        while (ncap < t->len + (size_t)n + 1 + LWS_PRE)
            ncap *= 2;
        if (ncap > BODY_MAX) {
            t->over = true;
            return;
        }
        char *np = realloc(t->p ? t->p - LWS_PRE : NULL, ncap);
        if (!np) {
            t->over = true;
            return;
        }
        t->p = np + LWS_PRE;
        t->cap = ncap - LWS_PRE;
    }
}

static int respond(struct lws *wsi, struct http_pss *pss, unsigned status, const char *ctype,
                   struct text *t)
{
    unsigned char hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start,
                                       *end = hdr + sizeof hdr - 1;
    if (t->over) {
        free(t->p ? t->p - LWS_PRE : NULL);
        return lws_return_http_status(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, NULL);
    }
    if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)t->len, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &p, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        free(t->p ? t->p - LWS_PRE : NULL);
        return 1;
    }
    pss->body = t->p ? t->p - LWS_PRE : NULL;
    pss->len = t->len;
    lws_callback_on_writable(wsi);
    return 0;
}

static void metrics(struct cq_net *net, struct text *t)
{
    const struct cq_net_metrics *m = &net->m;
    struct cq_store_stats st = {0};
    if (net->deps.store)
        cq_store_stats(net->deps.store, &st);
#define GAUGE(name, help, val)                                                                     \
    text_add(t, "# HELP " name " " help "\n# TYPE " name " gauge\n" name " %llu\n",                \
             (unsigned long long)(val))
#define COUNTER(name, help, val)                                                                   \
    text_add(t, "# HELP " name " " help "\n# TYPE " name " counter\n" name " %llu\n",              \
             (unsigned long long)(val))
    GAUGE("chainquiz_connections", "Open WebSocket connections.", m->conns);
    COUNTER("chainquiz_connections_total", "WebSocket connections accepted.", m->conns_total);
    GAUGE("chainquiz_games", "Live games.", net->n_rooms);
    COUNTER("chainquiz_games_created_total", "Games created.", m->games_created);
    GAUGE("chainquiz_players", "Players in live games.", cq_live_players(net));
    COUNTER("chainquiz_messages_in_total", "Messages received.", m->msgs_in);
    COUNTER("chainquiz_messages_out_total", "Messages sent.", m->msgs_out);
    COUNTER("chainquiz_bad_messages_total", "Messages refused (malformed, throttled).",
            m->bad_msgs);
    COUNTER("chainquiz_answers_total", "Answers accepted.", m->answers);
    COUNTER("chainquiz_slow_clients_dropped_total", "Connections cut off for a full send queue.",
            m->culled);
    GAUGE("chainquiz_redis_connected", "1 when Redis is connected.", st.connected);
    GAUGE("chainquiz_redis_journal_depth", "Redis writes waiting for Redis.", st.journal_depth);
    COUNTER("chainquiz_redis_errors_total", "Redis errors and timeouts.", st.errors);
    COUNTER("chainquiz_redis_journal_dropped_total", "Redis writes lost to the journal bound.",
            st.journal_dropped);
#undef GAUGE
#undef COUNTER
}

/* The join QR code as SVG; text is the join URL. */
static void qr_svg(const char *url, struct text *t)
{
    QRcode *qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr) {
        t->over = true;
        return;
    }
    int w = qr->width, q = 4;
    text_add(t,
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "shape-rendering=\"crispEdges\"><rect width=\"100%%\" height=\"100%%\" "
             "fill=\"#fff\"/><path fill=\"#000\" d=\"",
             w + 2 * q, w + 2 * q);
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if (qr->data[y * w + x] & 1)
                text_add(t, "M%d %dh1v1h-1z", x + q, y + q);
    text_add(t, "\"/></svg>");
    QRcode_free(qr);
}

static int serve(struct lws *wsi, struct http_pss *pss)
{
    struct cq_net *net = lws_context_user(lws_get_context(wsi));
    char uri[256];
    struct text t = {0};
    if (lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI) <= 0)
        return lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, NULL);

    if (!strcmp(uri, "/healthz")) {
        text_add(&t, "{\"status\":\"ok\"}");
        return respond(wsi, pss, HTTP_STATUS_OK, "application/json", &t);
    }
    if (!strcmp(uri, "/readyz")) {
        bool redis = net->deps.store && cq_store_connected(net->deps.store);
        text_add(&t, "{\"status\":\"%s\",\"redis\":%s,\"banks\":%zu}",
                 redis ? "ready" : "not ready", redis ? "true" : "false", net->deps.banks->n);
        return respond(wsi, pss, redis ? HTTP_STATUS_OK : HTTP_STATUS_SERVICE_UNAVAILABLE,
                       "application/json", &t);
    }
    if (!strcmp(uri, "/metrics")) {
        metrics(net, &t);
        return respond(wsi, pss, HTTP_STATUS_OK, "text/plain; version=0.0.4", &t);
    }
    if (!strcmp(uri, "/api/banks")) {
        json_t *b = cq_wire_banks(net->deps.banks);
        char *s = json_dumps(json_object_get(b, "banks"), JSON_COMPACT);
        json_decref(b);
        if (s)
            text_add(&t, "%s", s);
        else
            t.over = true;
        free(s);
        return respond(wsi, pss, HTTP_STATUS_OK, "application/json", &t);
    }
    if (!strcmp(uri, "/api/qr.svg")) {
        char arg[32] = "", host[200] = "", url[300];
        /* lws copies "pin=NNNNNN" and points past the name. */
        const char *pin = lws_get_urlarg_by_name(wsi, "pin=", arg, (int)sizeof arg);
        if (!pin || strspn(pin, "0123456789") != CQ_PIN_DIGITS || pin[CQ_PIN_DIGITS] ||
            lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0 || strpbrk(host, "\"<>'& "))
            return lws_return_http_status(wsi, HTTP_STATUS_BAD_REQUEST, "pin=NNNNNN required");
        snprintf(url, sizeof url, "http://%s/?pin=%s", host, pin);
        qr_svg(url, &t);
        return respond(wsi, pss, HTTP_STATUS_OK, "image/svg+xml", &t);
    }
    return lws_return_http_status(wsi, HTTP_STATUS_NOT_FOUND, NULL);
}

int cq_http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                     size_t len)
{
    struct http_pss *pss = user;
    (void)in;
    (void)len;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return -1; /* a WebSocket without our subprotocol */
    case LWS_CALLBACK_HTTP:
        return serve(wsi, pss);
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!pss->body && pss->len)
            return -1;
        int n =
            lws_write(wsi, pss->body ? (unsigned char *)pss->body + LWS_PRE : (unsigned char *)"",
                      pss->len, LWS_WRITE_HTTP_FINAL);
        free(pss->body);
        pss->body = NULL;
        if (n < 0)
            return -1;
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        free(pss ? pss->body : NULL);
        if (pss)
            pss->body = NULL;
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
