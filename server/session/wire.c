/* wire.c: server->client messages built from the game's state.
 * Field by field as PROTOCOL.md documents them (wire.h). */
#include "wire.h"

#include <stdlib.h>
#include <string.h>

#include "content.h"
#include "cq_proto.h"

#define RECENT_NAMES 10 /* names in a player's `state.recent` */

static json_t *ms(int64_t us)
{
    return json_integer((json_int_t)((us + 999) / 1000));
}

json_t *cq_wire_welcome(const struct cq_limits *l)
{
    return json_pack("{s:s, s:i, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "type", "welcome",
                     "protocol", CQ_PROTOCOL_VERSION, "server", "chainquiz " CQ_VERSION, "limits",
                     "frame_bytes", (json_int_t)l->frame_bytes, "nickname_max",
                     (json_int_t)l->nickname_max, "answer_text_max", (json_int_t)l->answer_text_max,
                     "msgs_per_sec", (json_int_t)l->msgs_per_sec, "msgs_burst",
                     (json_int_t)l->msgs_burst, "max_players", (json_int_t)l->max_players);
}

json_t *cq_wire_banks(const struct cq_bankset *banks)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < banks->n; i++) {
        const struct cq_bank *b = banks->banks[i];
        json_t *tags = json_object(), *types = json_object();
        for (size_t k = 0; k < b->n_questions; k++) {
            const struct cq_question *q = &b->questions[k];
            for (unsigned t = 0; t < q->n_tags; t++) {
                json_t *c = json_object_get(tags, q->tags[t]);
                json_object_set_new(tags, q->tags[t],
                                    json_integer(c ? json_integer_value(c) + 1 : 1));
            }
            const char *tn = cq_qtype_name(q->type);
            json_t *c = json_object_get(types, tn);
            json_object_set_new(types, tn, json_integer(c ? json_integer_value(c) + 1 : 1));
        }
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "id", b->id, "title",
                           b->title, "description", b->description ? b->description : "",
                           "language", b->language, "version", b->version, "questions",
                           (json_int_t)b->n_questions, "tags", tags, "types", types));
    }
    return json_pack("{s:s, s:o}", "type", "banks", "banks", arr);
}

json_t *cq_wire_player(const struct cq_player *p)
{
    return json_pack("{s:I, s:s, s:b, s:I}", "id", (json_int_t)p->id, "nickname", p->nickname,
                     "connected", p->connected, "score", (json_int_t)p->score);
}

json_t *cq_wire_settings(const struct cq_room *room)
{
    const struct cq_room_settings *s = cq_room_settings(room);
    return json_pack("{s:s, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:s, s:I, s:s, s:s}", "scoring",
                     s->rules.preset == CQ_SCORING_SPEED ? "speed" : "accuracy", "streak",
                     s->rules.streak, "partial_credit", s->rules.partial_credit, "auto_advance",
                     s->auto_advance, "late_join", s->late_join, "change_answer", s->change_answer,
                     "time_limit", s->time_limit_s, "lead_in", s->lead_in_s, "group", s->group,
                     "max_players", (json_int_t)s->max_players, "bank", cq_room_bank(room)->id,
                     "bank_title", cq_room_bank(room)->title);
}

json_t *cq_wire_question(const struct cq_room *room, int64_t now)
{
    int k = cq_room_current(room);
    const struct cq_question *q = cq_room_question(room, k);
    const unsigned char *order = cq_room_order(room, k);
    json_t *opts = json_array();
    for (unsigned i = 0; i < q->n_options; i++)
        json_array_append_new(opts, json_string(q->options[order[i]]));
    if (q->type == CQ_Q_TRUEFALSE) {
        json_array_append_new(opts, json_string("True"));
        json_array_append_new(opts, json_string("False"));
    }
    /* `players`: players get no `progress`; this is their count per question. */
    json_t *o = json_pack("{s:s, s:i, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:b, s:I}", "type",
                          "question", "index", k, "total", (json_int_t)cq_room_n_questions(room),
                          "qtype", cq_qtype_name(q->type), "prompt", q->prompt, "options", opts,
                          "time_limit_ms", ms(cq_room_limit_us(room)), "lead_in_ms",
                          ms(cq_room_lead_remaining_us(room, now)), "remaining_ms",
                          ms(cq_room_remaining_us(room, now)), "points", q->points, "paused",
                          cq_room_paused(room), "players", (json_int_t)cq_room_n_players(room));
    if (q->type == CQ_Q_MULTI)
        json_object_set_new(o, "select", json_integer(__builtin_popcount(q->correct_mask)));
    if (q->image && !strncmp(q->image, "media/", 6)) /* the bank's own: served by us */
        json_object_set_new(o, "image",
                            json_sprintf("/media/%s/%s", cq_room_bank(room)->id, q->image + 6));
    else if (q->image)
        json_object_set_new(o, "image", json_string(q->image));
    return o;
}

/* The right answer as `reveal` gives it: displayed positions (ordering:
 * in the right order), true/false, or the accepted texts. */
static json_t *correct_json(const struct cq_question *q, const unsigned char *order)
{
    json_t *correct;
    switch (q->type) {
    case CQ_Q_SINGLE:
    case CQ_Q_MULTI:
        correct = json_array();
        for (unsigned i = 0; i < q->n_options; i++)
            if ((q->correct_mask >> i) & 1u)
                json_array_append_new(correct, json_integer(i));
        break;
    case CQ_Q_TRUEFALSE:
        correct = json_boolean(q->truth);
        break;
    case CQ_Q_TYPEANSWER:
        correct = json_array();
        for (unsigned i = 0; i < q->n_accepted; i++)
            json_array_append_new(correct, json_string(q->accepted[i]));
        break;
    case CQ_Q_ORDERING: {
        /* Displayed positions in the right order. */
        correct = json_array();
        for (unsigned rank = 0; rank < q->n_options; rank++)
            for (unsigned pos = 0; pos < q->n_options; pos++)
                if (order[pos] == rank)
                    json_array_append_new(correct, json_integer(pos));
        break;
    }
    default:
        correct = json_null();
        break;
    }
    return correct;
}

json_t *cq_wire_reveal(const struct cq_room *room)
{
    int k = cq_room_current(room);
    const struct cq_question *q = cq_room_question(room, k);
    const unsigned char *order = cq_room_order(room, k);
    const unsigned *counts = cq_room_counts(room);
    json_t *correct = correct_json(q, order), *cnt = json_array();
    unsigned n_counts = q->type == CQ_Q_TRUEFALSE ? 2
                        : (q->type == CQ_Q_SINGLE || q->type == CQ_Q_MULTI || q->type == CQ_Q_POLL)
                            ? q->n_options
                            : 0;
    for (unsigned i = 0; i < n_counts; i++)
        json_array_append_new(cnt, json_integer(counts[i]));
    return json_pack("{s:s, s:i, s:s, s:o, s:o, s:I, s:I, s:I, s:s}", "type", "reveal", "index", k,
                     "qtype", cq_qtype_name(q->type), "correct", correct, "counts", cnt, "answered",
                     (json_int_t)cq_room_answered(room), "correct_count",
                     (json_int_t)cq_room_n_correct(room), "players",
                     (json_int_t)cq_room_n_players(room), "explanation", q->explanation);
}

json_t *cq_wire_result(const struct cq_room *room, const struct cq_player *p)
{
    int k = cq_room_current(room);
    const struct cq_answer_rec *r = &p->answers[k];
    return json_pack("{s:s, s:i, s:b, s:b, s:I, s:I, s:I, s:i, s:i, s:I, s:I}", "type", "result",
                     "index", k, "answered", r->answered, "correct", r->correct, "points",
                     (json_int_t)r->points, "bonus", (json_int_t)r->bonus, "score",
                     (json_int_t)p->score, "streak", p->streak, "rank", p->rank, "players",
                     (json_int_t)cq_room_n_players(room), "time_ms",
                     (json_int_t)(r->answered ? r->time_us / 1000 : 0));
}

static json_t *ranking_rows(const struct cq_room *room, unsigned top)
{
    unsigned n;
    struct cq_player *const *r = cq_room_ranking(room, &n);
    json_t *arr = json_array();
    for (unsigned i = 0; i < n && i < top; i++)
        json_array_append_new(
            arr, json_pack("{s:i, s:i, s:I, s:s, s:I, s:i}", "rank", r[i]->rank, "prev_rank",
                           r[i]->prev_rank, "id", (json_int_t)r[i]->id, "nickname", r[i]->nickname,
                           "score", (json_int_t)r[i]->score, "streak", r[i]->streak));
    return arr;
}

json_t *cq_wire_leaderboard(const struct cq_room *room, unsigned top)
{
    return json_pack("{s:s, s:i, s:I, s:o, s:I}", "type", "leaderboard", "index",
                     cq_room_current(room), "total", (json_int_t)cq_room_n_questions(room), "top",
                     ranking_rows(room, top), "players", (json_int_t)cq_room_n_players(room));
}

json_t *cq_wire_ended(const struct cq_room *room, const char *game_id)
{
    /* The podium is every rank up to 3, so a tie for third is not cut. */
    unsigned n, podium = 0;
    struct cq_player *const *r = cq_room_ranking(room, &n);
    while (podium < n && podium < CQ_WIRE_TOP && r[podium]->rank <= 3)
        podium++;
    return json_pack("{s:s, s:o, s:o, s:I, s:s}", "type", "ended", "podium",
                     ranking_rows(room, podium), "top", ranking_rows(room, CQ_WIRE_TOP), "players",
                     (json_int_t)cq_room_n_players(room), "game_id", game_id);
}

json_t *cq_wire_unanswered(const struct cq_room *room, unsigned cap)
{
    unsigned n, count = 0;
    int k = cq_room_current(room);
    struct cq_player *const *all = cq_room_players(room, &n);
    json_t *list = json_array();
    for (unsigned i = 0; k >= 0 && i < n; i++) {
        const struct cq_player *p = all[i];
        if (!p || p->kicked || p->left || p->answers[k].answered)
            continue;
        if (count++ < cap)
            json_array_append_new(list,
                                  json_pack("{s:I, s:s, s:b}", "id", (json_int_t)p->id, "nickname",
                                            p->nickname, "connected", p->connected));
    }
    return json_pack("{s:s, s:i, s:I, s:o, s:I}", "type", "unanswered", "index", k, "count",
                     (json_int_t)count, "players", list, "more",
                     (json_int_t)(count - json_array_size(list)));
}

json_t *cq_wire_timing(const struct cq_room *room, const char *type, int64_t now)
{
    return json_pack("{s:s, s:i, s:o, s:o, s:o}", "type", type, "index", cq_room_current(room),
                     "remaining_ms", ms(cq_room_remaining_us(room, now)), "lead_in_ms",
                     ms(cq_room_lead_remaining_us(room, now)), "time_limit_ms",
                     ms(cq_room_limit_us(room)));
}

json_t *cq_wire_summary(const struct cq_room *room, const struct cq_player *p)
{
    json_t *qs = json_array();
    for (unsigned k = 0; k < cq_room_n_questions(room); k++) {
        const struct cq_answer_rec *r = &p->answers[k];
        const struct cq_question *q = cq_room_question(room, (int)k);
        json_array_append_new(qs, json_pack("{s:i, s:s, s:s, s:b, s:b, s:b, s:I, s:I}", "index",
                                            (int)k, "qtype", cq_qtype_name(q->type), "prompt",
                                            q->prompt, "skipped", cq_room_skipped(room, (int)k),
                                            "answered", r->answered, "correct", r->correct,
                                            "points", (json_int_t)(r->points + r->bonus), "time_ms",
                                            (json_int_t)(r->answered ? r->time_us / 1000 : 0)));
    }
    return json_pack("{s:s, s:i, s:I, s:I, s:o}", "type", "summary", "rank", p->rank, "score",
                     (json_int_t)p->score, "players", (json_int_t)cq_room_n_players(room),
                     "questions", qs);
}

json_t *cq_wire_state(const struct cq_room *room, const char *game_id, unsigned role,
                      const struct cq_player *p, int64_t now)
{
    enum cq_phase ph = cq_room_phase(room);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:b, s:b, s:i, s:I, s:I, s:I, s:o}", "type", "state", "pin",
        cq_room_pin(room), "phase", cq_phase_name(ph), "paused", cq_room_paused(room), "locked",
        cq_room_locked(room), "index", cq_room_current(room), "total",
        (json_int_t)cq_room_n_questions(room), "players", (json_int_t)cq_room_n_players(room),
        "connected", (json_int_t)cq_room_n_connected(room), "settings", cq_wire_settings(room));
    unsigned n;
    struct cq_player *const *all = cq_room_players(room, &n);
    if (role != CQ_ROLE_PLAYER) {
        /* The projector's full player list. */
        json_t *list = json_array();
        for (unsigned i = 0; i < n; i++)
            if (all[i] && !all[i]->kicked && !all[i]->left)
                json_array_append_new(list, cq_wire_player(all[i]));
        json_object_set_new(o, "list", list);
    } else if (ph == CQ_PHASE_LOBBY) {
        /* A phone's lobby screen: who joined last (players get no `lobby`). */
        json_t *recent = json_array();
        for (unsigned i = n; i-- > 0 && json_array_size(recent) < RECENT_NAMES;)
            if (all[i] && !all[i]->kicked && !all[i]->left && all[i] != p)
                json_array_insert_new(recent, 0, json_string(all[i]->nickname));
        json_object_set_new(o, "recent", recent);
    }
    if (ph == CQ_PHASE_QUESTION) {
        json_object_set_new(o, "question", cq_wire_question(room, now));
        json_object_set_new(o, "answered", json_integer((json_int_t)cq_room_answered(room)));
    }
    if (ph == CQ_PHASE_REVEAL || ph == CQ_PHASE_LEADERBOARD) {
        json_object_set_new(o, "question", cq_wire_question(room, now));
        json_object_set_new(o, "reveal", cq_wire_reveal(room));
    }
    if (ph == CQ_PHASE_LEADERBOARD)
        json_object_set_new(o, "leaderboard", cq_wire_leaderboard(room, CQ_WIRE_TOP));
    if (ph == CQ_PHASE_ENDED)
        json_object_set_new(o, "ended", cq_wire_ended(room, game_id));
    if (p) {
        json_t *you =
            json_pack("{s:I, s:s, s:I, s:i, s:i}", "id", (json_int_t)p->id, "nickname", p->nickname,
                      "score", (json_int_t)p->score, "streak", p->streak, "rank", p->rank);
        int k = cq_room_current(room);
        if (k >= 0 &&
            (ph == CQ_PHASE_QUESTION || ph == CQ_PHASE_REVEAL || ph == CQ_PHASE_LEADERBOARD))
            json_object_set_new(you, "answered", json_boolean(p->answers[k].answered));
        /* Only for a question the player was scored on: one who joined
         * after it closed got no `result` and has none. */
        if (k >= 0 && (ph == CQ_PHASE_REVEAL || ph == CQ_PHASE_LEADERBOARD) && p->answers[k].scored)
            json_object_set_new(you, "result", cq_wire_result(room, p));
        if (ph == CQ_PHASE_ENDED)
            json_object_set_new(you, "summary", cq_wire_summary(room, p));
        json_object_set_new(o, "you", you);
    }
    json_object_set_new(o, "game_id", json_string(game_id));
    return o;
}

/* An answer as recorded, in the shape the player sent it (ordering: the
 * items in the player's order, as bank option indexes). */
static json_t *record_answer(const struct cq_answer_rec *r, const struct cq_question *q,
                             const unsigned char *order)
{
    json_t *a;
    switch ((enum cq_answer_kind)r->kind) {
    case CQ_ANSWER_CHOICE:
        return json_integer(r->choice);
    case CQ_ANSWER_BOOL:
        return json_boolean(r->value);
    case CQ_ANSWER_TEXT:
        return json_string(r->text ? r->text : "");
    case CQ_ANSWER_CHOICES:
        a = json_array();
        for (unsigned k = 0; k < r->n_items; k++)
            json_array_append_new(
                a, json_integer(q->type == CQ_Q_ORDERING ? order[r->items[k]] : r->items[k]));
        return a;
    case CQ_ANSWER_NONE:
        break;
    }
    return json_null();
}

/* The options as the class saw them (`question.options`). */
static json_t *shown_options(const struct cq_question *q, const unsigned char *order)
{
    json_t *opts = json_array();
    if (q->type == CQ_Q_TYPEANSWER)
        return opts;
    for (unsigned i = 0; i < q->n_options; i++)
        json_array_append_new(opts, json_string(q->options[order[i]]));
    if (q->type == CQ_Q_TRUEFALSE) {
        json_array_append_new(opts, json_string("True"));
        json_array_append_new(opts, json_string("False"));
    }
    return opts;
}

/* A question's report for the teacher: of the players in the record, how
 * many answered and got it right, each shown option's count (as `reveal`),
 * and the mean answer time. */
static json_t *question_report(const struct cq_room *room, unsigned k, const struct cq_question *q)
{
    unsigned n, players = 0, answered = 0, right = 0, counts[CQ_OPTIONS_MAX + 2] = {0};
    int64_t time_us = 0;
    unsigned n_counts = q->type == CQ_Q_TRUEFALSE ? 2
                        : (q->type == CQ_Q_SINGLE || q->type == CQ_Q_MULTI || q->type == CQ_Q_POLL)
                            ? q->n_options
                            : 0;
    struct cq_player *const *all = cq_room_players(room, &n);
    for (unsigned i = 0; i < n; i++) {
        if (!all[i])
            continue;
        const struct cq_answer_rec *r = &all[i]->answers[k];
        players++;
        if (!r->answered)
            continue;
        answered++;
        right += r->correct;
        time_us += r->time_us;
        if (r->kind == CQ_ANSWER_CHOICE && r->choice >= 0 && (unsigned)r->choice < n_counts)
            counts[r->choice]++;
        else if (r->kind == CQ_ANSWER_BOOL && n_counts == 2)
            counts[r->value ? 0 : 1]++;
        else if (r->kind == CQ_ANSWER_CHOICES && q->type != CQ_Q_ORDERING)
            for (unsigned m = 0; m < r->n_items; m++)
                if (r->items[m] >= 0 && (unsigned)r->items[m] < n_counts)
                    counts[(unsigned)r->items[m]]++;
    }
    json_t *cnt = json_array();
    for (unsigned i = 0; i < n_counts; i++)
        json_array_append_new(cnt, json_integer(counts[i]));
    /* A poll has no right answer. */
    bool scored = q->type != CQ_Q_POLL && players > 0;
    return json_pack(
        "{s:I, s:I, s:I, s:o, s:o, s:o}", "players", (json_int_t)players, "answered",
        (json_int_t)answered, "correct", (json_int_t)right, "percent_correct",
        scored ? json_integer((json_int_t)((right * 100 + players / 2) / players)) : json_null(),
        "counts", cnt, "mean_time_ms",
        answered ? json_integer((json_int_t)(time_us / answered / 1000)) : json_null());
}

json_t *cq_wire_record_player(const struct cq_room *room, const struct cq_player *p)
{
    json_t *answers = json_array();
    for (unsigned k = 0; k < cq_room_n_questions(room); k++) {
        const struct cq_answer_rec *r = &p->answers[k];
        json_array_append_new(
            answers, json_pack("{s:i, s:b, s:b, s:I, s:I, s:I, s:o}", "index", (int)k, "answered",
                               r->answered, "correct", r->correct, "points", (json_int_t)r->points,
                               "bonus", (json_int_t)r->bonus, "time_ms",
                               (json_int_t)(r->answered ? r->time_us / 1000 : 0), "answer",
                               r->answered ? record_answer(r, cq_room_question(room, (int)k),
                                                           cq_room_order(room, (int)k))
                                           : json_null()));
    }
    return json_pack("{s:I, s:s, s:I, s:i, s:b, s:b, s:o}", "id", (json_int_t)p->id, "nickname",
                     p->nickname, "score", (json_int_t)p->score, "rank",
                     p->kicked || p->left ? 0 : p->rank, "kicked", p->kicked, "left", p->left,
                     "answers", answers);
}

json_t *cq_wire_record_head(const struct cq_room *room, const char *game_id, long long created,
                            long long ended, const char *host_token_key)
{
    unsigned n_q = cq_room_n_questions(room);
    json_t *qs = json_array();
    for (unsigned k = 0; k < n_q; k++) {
        const struct cq_question *q = cq_room_question(room, (int)k);
        const unsigned char *order = cq_room_order(room, (int)k);
        /* A game ended early never asked the rest. */
        json_t *o = json_pack(
            "{s:i, s:s, s:s, s:s, s:b, s:b, s:o, s:o, s:o}", "index", (int)k, "id", q->id, "qtype",
            cq_qtype_name(q->type), "prompt", q->prompt, "skipped", cq_room_skipped(room, (int)k),
            "asked", (int)k <= cq_room_current(room), "options", shown_options(q, order), "correct",
            correct_json(q, order), "report", question_report(room, k, q));
        if (o && q->type == CQ_Q_ORDERING) {
            json_t *ord = json_array();
            for (unsigned i = 0; i < q->n_options; i++)
                json_array_append_new(ord, json_integer(order[i]));
            json_object_set_new(o, "order", ord);
        }
        json_array_append_new(qs, o);
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:[]}", "game_id", game_id,
                     "pin", cq_room_pin(room), "bank", cq_room_bank(room)->id, "group",
                     cq_room_settings(room)->group, "host_token_sha256", host_token_key, "created",
                     (json_int_t)created, "ended", (json_int_t)ended, "settings",
                     cq_wire_settings(room), "questions", qs, "players");
}

char *cq_wire_record_splice(const char *head, size_t head_len, const char *players,
                            size_t players_len, size_t *len)
{
    /* The head's encoding ends with its empty "players" array: `[]}`. */
    static const char tail[] = "[]}";
    if (head_len < sizeof tail - 1 ||
        memcmp(head + head_len - (sizeof tail - 1), tail, sizeof tail - 1))
        return NULL;
    size_t keep = head_len - 2; /* up to and with the `[` */
    char *out = malloc(keep + players_len + 3);
    if (!out)
        return NULL;
    memcpy(out, head, keep);
    if (players_len)
        memcpy(out + keep, players, players_len);
    memcpy(out + keep + players_len, "]}", 3);
    *len = keep + players_len + 2;
    return out;
}
