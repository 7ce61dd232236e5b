/* group.c: a group's boards belong to whoever created the group
 * (PROTOCOL.md, create_game; docs/redis.md). A create_game with a group
 * label first asks the store who owns the label: the game is made when the
 * label is new (its host gets the group's secret), or when the secret sent
 * is the owner's; it is refused otherwise. Only digests of secrets go to
 * the store (secret.h). */
#include <stdlib.h>

#include "log.h"
#include "net_priv.h"
#include "rand.h"
#include "secret.h"

/* A create_game waiting for Redis to say who owns its group. The store's
 * callback may outlive the connection: then `c` is NULL and the callback
 * only frees this. */
struct cq_group_check {
    struct cq_conn *c;
    struct cq_msg m;                           /* a copy; its `root` is a reference of ours */
    char given[CQ_SECRET_DIGEST_LEN + 1];      /* digest of the secret sent, or "" */
    char secret[CQ_TOKEN_MAX + 1];             /* the secret if the group is new */
    char new_digest[CQ_SECRET_DIGEST_LEN + 1]; /* and its digest */
    struct cq_store *store;                    /* to give the claim back (it outlives `c`) */
};

static void create_checked(struct cq_conn *c, struct cq_group_check *pc, enum cq_group_claim r)
{
    const struct cq_msg *m = &pc->m;
    switch (r) {
    case CQ_GROUP_NEW:
        cq_live_create_game(c, m, pc->new_digest, pc->secret);
        break;
    case CQ_GROUP_OWNER:
        cq_live_create_game(c, m, pc->given, NULL);
        break;
    case CQ_GROUP_REQUIRED:
    case CQ_GROUP_WRONG:
        cq_info("ws: %s: create_game refused: %s group secret", c->peer,
                r == CQ_GROUP_WRONG ? "wrong" : "no");
        cq_conn_error(c, m->req_id,
                      r == CQ_GROUP_WRONG ? CQ_EBAD_GROUP_SECRET : CQ_EGROUP_SECRET_REQUIRED,
                      "group_secret", NULL);
        break;
    case CQ_GROUP_UNKNOWN:
        /* Redis is away: the game is not held up; the counting script checks
         * the owner when the result is counted (store.h). */
        if (pc->given[0])
            cq_live_create_game(c, m, pc->given, NULL);
        else
            cq_live_create_game(c, m, pc->new_digest, pc->secret);
        break;
    }
}

static void on_group_claim(void *ud, enum cq_group_claim r)
{
    struct cq_group_check *pc = ud;
    struct cq_conn *c = pc->c;
    /* The label was claimed for a host that went away before its game was
     * made (a phone that lost its network): nobody got the secret, so the
     * claim is given back, or the class's label would be lost. */
    if (r == CQ_GROUP_NEW && (!c || c->net->stopping) && pc->store)
        cq_store_group_release(pc->store, pc->m.group, pc->new_digest);
    /* At shutdown the store fails its reads while lws tears the
     * connections down: nothing more is sent on them. */
    if (c && c->net->stopping) {
        c->creating = NULL;
    } else if (c) {
        c->creating = NULL;
        if (c->lr) /* it joined or watched a game meanwhile */
            cq_conn_error(c, pc->m.req_id, CQ_EALREADY_IN_GAME, "type", NULL);
        else
            create_checked(c, pc, r);
    }
    cq_msg_clear(&pc->m);
    free(pc);
}

void cq_group_create(struct cq_conn *c, const struct cq_msg *m)
{
    struct cq_net *net = c->net;
    struct cq_store *st = net->deps.store;
    if (c->creating) {
        cq_conn_error(c, m->req_id, CQ_EALREADY_IN_GAME, "type", NULL);
        return;
    }
    if (!m->group[0]) {
        cq_live_create_game(c, m, "", NULL);
        return;
    }
    /* Refusals that need no Redis come first (create_game repeats them). */
    if (!cq_bankset_find(net->deps.banks, m->bank) || net->n_rooms >= net->deps.cfg->max_games ||
        net->stopping) {
        cq_live_create_game(c, m, "", NULL);
        return;
    }
    struct cq_group_check *pc = calloc(1, sizeof *pc);
    if (!pc || cq_rand_token(pc->secret, sizeof pc->secret)) {
        free(pc);
        cq_conn_error(c, m->req_id, CQ_EINTERNAL, NULL, NULL);
        return;
    }
    pc->m = *m;
    json_incref(pc->m.root);
    if (m->present & CQ_F(GROUP_SECRET))
        cq_secret_digest(m->group_secret, pc->given);
    cq_secret_digest(pc->secret, pc->new_digest);
    if (!st || !cq_store_connected(st)) {
        pc->c = c;
        on_group_claim(pc, CQ_GROUP_UNKNOWN);
        return;
    }
    pc->c = c;
    pc->store = st;
    c->creating = pc; /* before the call: its callback may run at once */
    cq_store_group_claim(st, m->group, pc->given[0] ? pc->given : NULL, pc->new_digest,
                         on_group_claim, pc);
}

void cq_group_conn_gone(struct cq_conn *c)
{
    if (c->creating) {
        c->creating->c = NULL;
        c->creating = NULL;
    }
}
