/* cache.c: replies that many clients ask for, encoded once and shared.
 *
 * `banks` is the same for everyone for the server's life (the banks are
 * loaded at start): encoded at the first list_banks, then each reply is one
 * shared buffer (or a copy with the request's id spliced in front). Before
 * this, every list_banks re-encoded the whole bank list: 1,500 connections
 * asking saturated the loop (docs/performance.md).
 *
 * The host's and spectators' `state` of a game (the whole player list: 359
 * KB at 5,000 players) is encoded once per change of the game and shared by
 * every screen that asks until the next change: any room event or input
 * drops it. While a question runs, its `remaining_ms` ages, so the copy is
 * also dropped after STATE_MAX_AGE_US then.
 */
#include <stdlib.h>
#include <string.h>

#include "net_priv.h"

#define STATE_MAX_AGE_US 100000 /* during a question: its countdown moves */

struct cq_buf *cq_buf_from_bytes(const void *data, size_t len)
{
    struct cq_buf *b = malloc(offsetof(struct cq_buf, data) + LWS_PRE + len + 1);
    if (!b)
        return NULL;
    b->refs = 0;
    b->len = len;
    b->answer_at = 0;
    memcpy(b->data + LWS_PRE, data, len);
    b->data[LWS_PRE + len] = '\0';
    return b;
}

void cq_cache_send_banks(struct cq_conn *c, const json_t *req_id)
{
    struct cq_net *net = c->net;
    if (!net->banks_buf) {
        net->banks_buf = cq_buf_from_json(cq_wire_banks(net->deps.banks));
        if (!net->banks_buf) {
            cq_conn_error(c, req_id, CQ_ENOMEM, NULL, NULL);
            return;
        }
        net->banks_buf->refs = 1; /* the cache's own */
    }
    if (!req_id) {
        cq_conn_push(c, net->banks_buf);
        return;
    }
    /* {"id":ID,  + the cached text without its opening brace. */
    char *id = json_dumps(req_id, JSON_ENCODE_ANY | JSON_COMPACT);
    const char *text = (const char *)net->banks_buf->data + LWS_PRE;
    size_t idlen = id ? strlen(id) : 0, tlen = net->banks_buf->len;
    char *joined = id ? malloc(idlen + tlen + 8) : NULL;
    struct cq_buf *b = NULL;
    if (joined) {
        size_t n = 0;
        memcpy(joined + n, "{\"id\":", 6);
        n += 6;
        memcpy(joined + n, id, idlen);
        n += idlen;
        joined[n++] = ',';
        memcpy(joined + n, text + 1, tlen - 1);
        n += tlen - 1;
        b = cq_buf_from_bytes(joined, n);
    }
    free(id);
    free(joined);
    if (!b) {
        cq_conn_error(c, req_id, CQ_ENOMEM, NULL, NULL);
        return;
    }
    cq_conn_push(c, b);
    if (!b->refs)
        free(b);
}

void cq_cache_state_drop(struct cq_live_room *lr)
{
    if (lr->state_buf) {
        cq_buf_unref(lr->state_buf);
        lr->state_buf = NULL;
    }
}

struct cq_buf *cq_cache_state_get(struct cq_live_room *lr)
{
    if (lr->state_buf && cq_room_phase(lr->room) == CQ_PHASE_QUESTION &&
        cq_net_now_us() - lr->state_at > STATE_MAX_AGE_US)
        cq_cache_state_drop(lr);
    return lr->state_buf;
}

struct cq_buf *cq_cache_state_put(struct cq_live_room *lr, json_t *state)
{
    cq_cache_state_drop(lr);
    lr->state_buf = cq_buf_from_json(state);
    if (!lr->state_buf)
        return NULL;
    lr->state_buf->refs = 1; /* the room's own */
    lr->state_at = cq_net_now_us();
    lr->net->m.state_encodes++;
    return lr->state_buf;
}

void cq_cache_free(struct cq_net *net)
{
    cq_buf_unref(net->banks_buf);
    net->banks_buf = NULL;
}
