/* replay.c: a room's inputs as log entries, and back. See replay.h. */
#include "replay.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cq_error.h"

/* Entry type names, indexed by enum cq_input_type. */
static const char *const in_names[] = {
    [CQ_IN_JOIN] = "join",   [CQ_IN_REJOIN] = "rejoin", [CQ_IN_DISCONNECT] = "drop",
    [CQ_IN_LEAVE] = "leave", [CQ_IN_SHOWN] = "shown",   [CQ_IN_ANSWER] = "answer",
    [CQ_IN_START] = "start", [CQ_IN_NEXT] = "next",     [CQ_IN_SKIP] = "skip",
    [CQ_IN_PAUSE] = "pause", [CQ_IN_RESUME] = "resume", [CQ_IN_ADD_TIME] = "add_time",
    [CQ_IN_END] = "end",     [CQ_IN_KICK] = "kick",     [CQ_IN_LOCK] = "lock",
    [CQ_IN_TICK] = "tick",   [CQ_IN_SHIFT] = "shift",
};
#define N_IN_NAMES (sizeof in_names / sizeof in_names[0])

static char *dump(json_t *j, size_t *len)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text && len)
        *len = strlen(text);
    return text;
}

/* ---- encoding --------------------------------------------------------------- */

static json_t *settings_json(const struct cq_room_settings *s)
{
    return json_pack(
        "{s:i, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:s, s:I}",
        "scoring", (int)s->rules.preset, "streak", s->rules.streak, "partial_credit",
        s->rules.partial_credit, "auto_advance", s->auto_advance, "late_join", s->late_join,
        "change_answer", s->change_answer, "time_limit_s", s->time_limit_s, "lead_in_s",
        s->lead_in_s, "max_players", (json_int_t)s->max_players, "nickname_max",
        (json_int_t)s->nickname_max, "reveal_us", (json_int_t)s->reveal_us, "leaderboard_us",
        (json_int_t)s->leaderboard_us, "max_show_delay_us", (json_int_t)s->max_show_delay_us,
        "rejoin_grace_us", (json_int_t)s->rejoin_grace_us, "ended_ttl_us",
        (json_int_t)s->ended_ttl_us, "idle_ttl_us", (json_int_t)s->idle_ttl_us, "group", s->group,
        "empty_lobby_us", (json_int_t)s->empty_lobby_us);
}

char *cq_replay_encode_create(const struct cq_replay_game *g, const struct cq_bank *bank,
                              const unsigned *qidx, unsigned n_q,
                              const struct cq_room_settings *set, const char *pin,
                              const char *host_token, uint64_t seed, int64_t now, size_t *len)
{
    char seed_hex[17];
    json_t *ids = json_array();
    for (unsigned i = 0; ids && i < n_q; i++)
        if (json_array_append_new(ids, json_string(bank->questions[qidx[i]].id))) {
            json_decref(ids);
            return NULL;
        }
    if (!ids)
        return NULL;
    snprintf(seed_hex, sizeof seed_hex, "%016" PRIx64, seed);
    /* The join secret only when the game has one: older logs have none. */
    json_t *j =
        json_pack("{s:i, s:s, s:I, s:s, s:o, s:o, s:s, s:s, s:s, s:I, s:s, s:s*}", "v",
                  CQ_REPLAY_VERSION, "game_id", g->game_id, "created", (json_int_t)g->created_unix,
                  "bank", bank->id, "questions", ids, "settings", settings_json(set), "pin", pin,
                  "host_token", host_token, "seed", seed_hex, "now", (json_int_t)now, "watch_token",
                  g->watch_token, "join_secret", g->join_secret[0] ? g->join_secret : NULL);
    if (j && g->group_digest[0])
        json_object_set_new(j, "group_owner", json_string(g->group_digest));
    return dump(j, len);
}

static json_t *answer_json(const struct cq_answer *a)
{
    switch (a->kind) {
    case CQ_ANSWER_CHOICE:
        return json_integer(a->choice);
    case CQ_ANSWER_BOOL:
        return json_boolean(a->value);
    case CQ_ANSWER_TEXT:
        return json_string(a->text);
    case CQ_ANSWER_CHOICES: {
        json_t *arr = json_array();
        for (unsigned i = 0; arr && i < a->n_items; i++)
            json_array_append_new(arr, json_integer(a->items[i]));
        return arr;
    }
    case CQ_ANSWER_NONE:
        break;
    }
    return NULL;
}

char *cq_replay_encode(uint64_t seq, const struct cq_input *in, size_t *len)
{
    json_t *args[4] = {NULL, NULL, NULL, NULL};
    if ((size_t)in->type >= N_IN_NAMES)
        return NULL;
    switch (in->type) {
    case CQ_IN_JOIN:
        args[0] = json_string(in->player->nickname);
        args[1] = json_string(in->player->token);
        break;
    case CQ_IN_REJOIN:
    case CQ_IN_DISCONNECT:
    case CQ_IN_LEAVE:
        args[0] = json_integer(in->player->id);
        break;
    case CQ_IN_SHOWN:
        args[0] = json_integer(in->player->id);
        args[1] = json_integer(in->question);
        break;
    case CQ_IN_ANSWER:
        args[0] = json_integer(in->player->id);
        args[1] = json_integer(in->question);
        args[2] = answer_json(in->answer);
        args[3] = json_integer(in->shown_delay);
        break;
    case CQ_IN_ADD_TIME:
        args[0] = json_integer(in->seconds);
        break;
    case CQ_IN_KICK:
        args[0] = json_integer(in->player_id);
        break;
    case CQ_IN_LOCK:
        args[0] = json_boolean(in->locked);
        break;
    case CQ_IN_SHIFT:
        args[0] = json_integer(in->delta);
        break;
    case CQ_IN_START:
    case CQ_IN_NEXT:
    case CQ_IN_SKIP:
    case CQ_IN_PAUSE:
    case CQ_IN_RESUME:
    case CQ_IN_END:
    case CQ_IN_TICK:
        break;
    }
    json_t *e = json_pack("[I, s, I]", (json_int_t)seq, in_names[in->type], (json_int_t)in->now);
    bool ok = e != NULL;
    /* append_new takes each argument, also when it fails. */
    for (size_t i = 0; i < 4; i++) {
        if (!args[i])
            continue;
        if (!ok)
            json_decref(args[i]);
        else if (json_array_append_new(e, args[i]))
            ok = false;
    }
    if (!ok || (in->type == CQ_IN_ANSWER && !args[2])) {
        json_decref(e);
        return NULL;
    }
    return dump(e, len);
}

/* ---- decoding ---------------------------------------------------------------- */

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int settings_from(json_t *j, struct cq_room_settings *s)
{
    int preset, time_limit, lead_in;
    int streak, partial, autoadv, late, change;
    json_int_t maxp, nickmax, reveal, board, showd, grace, ended, idle, empty = 0;
    const char *group;
    if (json_unpack(j,
                    "{s:i, s:b, s:b, s:b, s:b, s:b, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, "
                    "s:I, s:I, s:s, s?I}",
                    "scoring", &preset, "streak", &streak, "partial_credit", &partial,
                    "auto_advance", &autoadv, "late_join", &late, "change_answer", &change,
                    "time_limit_s", &time_limit, "lead_in_s", &lead_in, "max_players", &maxp,
                    "nickname_max", &nickmax, "reveal_us", &reveal, "leaderboard_us", &board,
                    "max_show_delay_us", &showd, "rejoin_grace_us", &grace, "ended_ttl_us", &ended,
                    "idle_ttl_us", &idle, "group", &group, "empty_lobby_us", &empty))
        return -1;
    if (preset != CQ_SCORING_SPEED && preset != CQ_SCORING_ACCURACY)
        return -1;
    if (maxp < 0 || maxp > UINT32_MAX || nickmax < 0 || nickmax > UINT32_MAX ||
        strlen(group) >= sizeof s->group)
        return -1;
    cq_room_settings_default(s);
    s->rules.preset = (enum cq_scoring)preset;
    s->rules.streak = streak;
    s->rules.partial_credit = partial;
    s->auto_advance = autoadv;
    s->late_join = late;
    s->change_answer = change;
    s->time_limit_s = time_limit;
    s->lead_in_s = lead_in;
    s->max_players = (unsigned)maxp;
    s->nickname_max = (unsigned)nickmax;
    s->reveal_us = reveal;
    s->leaderboard_us = board;
    s->max_show_delay_us = showd;
    s->rejoin_grace_us = grace;
    s->ended_ttl_us = ended;
    s->idle_ttl_us = idle;
    s->empty_lobby_us = empty; /* logs written before it existed: never */
    snprintf(s->group, sizeof s->group, "%s", group);
    return 0;
}

static int find_question(const struct cq_bank *bank, const char *id, unsigned *out)
{
    for (size_t i = 0; i < bank->n_questions; i++)
        if (!strcmp(bank->questions[i].id, id)) {
            *out = (unsigned)i;
            return 0;
        }
    return -1;
}

/* The room from the first entry. */
static int create_from(json_t *j, cq_replay_find_bank_fn find, void *ud,
                       struct cq_replay_result *out, int *version, char *err, size_t errlen)
{
    char key[CQ_SECRET_DIGEST_LEN + 1];
    int v;
    json_int_t created, now;
    const char *game_id, *bank_id, *pin, *token, *seed_hex, *watch = "";
    json_t *ids, *settings;
    struct cq_room_settings set;
    unsigned *qidx = NULL;
    int result;

    if (json_unpack(j, "{s:i, s:s, s:I, s:s, s:o, s:o, s:s, s:s, s:s, s:I, s?s}", "v", &v,
                    "game_id", &game_id, "created", &created, "bank", &bank_id, "questions", &ids,
                    "settings", &settings, "pin", &pin, "host_token", &token, "seed", &seed_hex,
                    "now", &now, "watch_token", &watch))
        return fail(err, errlen, CQ_EBAD_VALUE, "the first entry does not describe a game");
    if (v != CQ_REPLAY_VERSION && v != 1)
        return fail(err, errlen, CQ_EBAD_VALUE, "log version %d, this server reads 1 to %d", v,
                    CQ_REPLAY_VERSION);
    *version = v;
    if (strlen(game_id) > CQ_GAME_ID_MAX || strlen(pin) != CQ_PIN_DIGITS ||
        strlen(token) > CQ_TOKEN_MAX || strlen(watch) > CQ_TOKEN_MAX || !json_is_array(ids) ||
        settings_from(settings, &set))
        return fail(err, errlen, CQ_EBAD_VALUE, "the game's settings are not valid");
    char *end;
    uint64_t seed = strtoull(seed_hex, &end, 16);
    if (*end || !*seed_hex)
        return fail(err, errlen, CQ_EBAD_VALUE, "the game's seed is not valid");
    const struct cq_bank *bank = find(ud, bank_id);
    if (!bank)
        return fail(err, errlen, CQ_ENO_BANK, "bank %s is no longer loaded", bank_id);
    size_t n_q = json_array_size(ids);
    qidx = malloc((n_q ? n_q : 1) * sizeof *qidx);
    if (!qidx)
        return fail(err, errlen, CQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n_q; i++) {
        const char *qid = json_string_value(json_array_get(ids, i));
        if (!qid || find_question(bank, qid, &qidx[i])) {
            result = fail(err, errlen, CQ_ENO_QUESTIONS, "question %s is no longer in bank %s",
                          qid ? qid : "?", bank_id);
            goto out;
        }
    }
    if (v == 1) { /* a clear token, from before tokens were hashed */
        cq_secret_digest(token, key);
        token = key;
    }
    out->room = cq_room_create(bank, qidx, (unsigned)n_q, &set, pin, token, seed, now, NULL, NULL);
    if (!out->room) {
        result = fail(err, errlen, CQ_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(out->game.game_id, sizeof out->game.game_id, "%s", game_id);
    snprintf(out->game.watch_token, sizeof out->game.watch_token, "%s", watch);
    out->game.created_unix = created;
    const char *owner = json_string_value(json_object_get(j, "group_owner"));
    if (owner && strlen(owner) == CQ_SECRET_DIGEST_LEN)
        snprintf(out->game.group_digest, sizeof out->game.group_digest, "%s", owner);
    const char *secret = json_string_value(json_object_get(j, "join_secret"));
    if (secret && strlen(secret) > CQ_TOKEN_MAX) {
        result = fail(err, errlen, CQ_EBAD_VALUE, "the game's join secret is not valid");
        cq_room_free(out->room);
        out->room = NULL;
        goto out;
    }
    snprintf(out->game.join_secret, sizeof out->game.join_secret, "%s", secret ? secret : "");
    out->last_now = now;
    result = 0;
out:
    free(qidx);
    return result;
}

static int answer_from(json_t *j, struct cq_answer *a)
{
    memset(a, 0, sizeof *a);
    if (json_is_integer(j)) {
        a->kind = CQ_ANSWER_CHOICE;
        a->choice = (int)json_integer_value(j);
    } else if (json_is_boolean(j)) {
        a->kind = CQ_ANSWER_BOOL;
        a->value = json_is_true(j);
    } else if (json_is_string(j)) {
        a->kind = CQ_ANSWER_TEXT;
        a->text = json_string_value(j);
    } else if (json_is_array(j) && json_array_size(j) <= CQ_OPTIONS_MAX) {
        a->kind = CQ_ANSWER_CHOICES;
        a->n_items = (unsigned)json_array_size(j);
        for (unsigned i = 0; i < a->n_items; i++) {
            json_t *it = json_array_get(j, i);
            if (!json_is_integer(it))
                return -1;
            a->items[i] = (int)json_integer_value(it);
        }
    } else {
        return -1;
    }
    return 0;
}

static int type_from(const char *name)
{
    for (size_t i = 0; i < N_IN_NAMES; i++)
        if (!strcmp(in_names[i], name))
            return (int)i;
    return -1;
}

/* Applies one entry; 0, or the room's refusal (the log does not fit it). */
static int apply(struct cq_room *room, int type, int64_t now, json_t *a1, json_t *a2, json_t *a3,
                 json_t *a4, bool clear_tokens, int64_t *last_now)
{
    struct cq_player *p = NULL;
    json_int_t n1 = json_integer_value(a1);
    if (type == CQ_IN_REJOIN || type == CQ_IN_DISCONNECT || type == CQ_IN_LEAVE ||
        type == CQ_IN_SHOWN || type == CQ_IN_ANSWER) {
        if (!json_is_integer(a1) || n1 < 1 || n1 > UINT32_MAX ||
            !(p = cq_room_player(room, (uint32_t)n1)))
            return CQ_ENO_PLAYER;
    }
    *last_now = now;
    switch ((enum cq_input_type)type) {
    case CQ_IN_JOIN: {
        struct cq_player *np;
        char key[CQ_SECRET_DIGEST_LEN + 1];
        const char *token = json_string_value(a2);
        if (!json_is_string(a1) || !token)
            return CQ_EBAD_VALUE;
        if (clear_tokens) {
            cq_secret_digest(token, key);
            token = key;
        }
        return cq_room_join(room, json_string_value(a1), token, now, &np);
    }
    case CQ_IN_REJOIN:
        return cq_room_rejoin(room, p->token, now, &p);
    case CQ_IN_DISCONNECT:
        cq_room_disconnect(room, p, now);
        return 0;
    case CQ_IN_LEAVE:
        cq_room_leave(room, p, now);
        return 0;
    case CQ_IN_SHOWN:
        return json_is_integer(a2) ? cq_room_shown(room, p, (int)json_integer_value(a2), now)
                                   : CQ_EBAD_VALUE;
    case CQ_IN_ANSWER: {
        struct cq_answer ans;
        int64_t t;
        if (!json_is_integer(a2) || answer_from(a3, &ans) || !json_is_integer(a4))
            return CQ_EBAD_VALUE;
        int q = (int)json_integer_value(a2);
        int64_t delay = json_integer_value(a4);
        if (delay >= 0)
            cq_room_set_shown(room, p, q, delay);
        return cq_room_answer(room, p, q, &ans, now, &t);
    }
    case CQ_IN_START:
        return cq_room_start(room, now);
    case CQ_IN_NEXT:
        return cq_room_next(room, now);
    case CQ_IN_SKIP:
        return cq_room_skip(room, now);
    case CQ_IN_PAUSE:
        return cq_room_pause(room, now);
    case CQ_IN_RESUME:
        return cq_room_resume(room, now);
    case CQ_IN_ADD_TIME:
        return json_is_integer(a1) ? cq_room_add_time(room, (int)n1, now) : CQ_EBAD_VALUE;
    case CQ_IN_END:
        return cq_room_end(room, now);
    case CQ_IN_KICK:
        return json_is_integer(a1) && n1 >= 0 && n1 <= UINT32_MAX
                   ? cq_room_kick(room, (uint32_t)n1, now)
                   : CQ_EBAD_VALUE;
    case CQ_IN_LOCK:
        return json_is_boolean(a1) ? cq_room_lock(room, json_is_true(a1), now) : CQ_EBAD_VALUE;
    case CQ_IN_TICK:
        cq_room_tick(room, now);
        return 0;
    case CQ_IN_SHIFT:
        /* Its `now` is not a time; the clock moved by the argument. */
        if (!json_is_integer(a1))
            return CQ_EBAD_VALUE;
        cq_room_shift(room, n1);
        return 0;
    }
    return CQ_EBAD_VALUE;
}

int cq_replay_room(const char *const *entries, const size_t *lens, size_t n,
                   cq_replay_find_bank_fn find, void *ud, struct cq_replay_result *out, char *err,
                   size_t errlen)
{
    json_error_t jerr;
    json_t *j = NULL;
    uint64_t expect = 1; /* the next entry's number */
    int result;

    memset(out, 0, sizeof *out);
    if (!n)
        return fail(err, errlen, CQ_EBAD_VALUE, "the log is empty");
    j = json_loadb(entries[0], lens[0], 0, &jerr);
    if (!j)
        return fail(err, errlen, CQ_EBAD_JSON, "entry 0: %s", jerr.text);
    int version = 0;
    result = create_from(j, find, ud, out, &version, err, errlen);
    json_decref(j);
    j = NULL;
    if (result)
        return result;
    for (size_t i = 1; i < n; i++) {
        /* The first entry written again: it was in flight when the
         * connection dropped (stored, unanswered) and the journal replayed
         * it, as any write. It carries no number to be skipped by. */
        if (lens[i] == lens[0] && !memcmp(entries[i], entries[0], lens[0]))
            continue;
        j = json_loadb(entries[i], lens[i], 0, &jerr);
        json_int_t seq = json_integer_value(json_array_get(j, 0));
        const char *name = json_string_value(json_array_get(j, 1));
        json_t *now = json_array_get(j, 2);
        int type = name ? type_from(name) : -1;
        if (!j || !json_is_integer(json_array_get(j, 0)) || !json_is_integer(now) || type < 0) {
            result = fail(err, errlen, CQ_EBAD_JSON, "entry %zu is not an input", i);
            goto out;
        }
        /* A write replayed after a lost connection may have landed twice. */
        if (seq >= 1 && (uint64_t)seq < expect) {
            json_decref(j);
            j = NULL;
            continue;
        }
        if ((uint64_t)seq != expect) {
            result = fail(err, errlen, CQ_EBAD_VALUE,
                          "entry %zu is numbered %lld, not %llu: entries lost", i, (long long)seq,
                          (unsigned long long)expect);
            goto out;
        }
        expect++;
        int64_t last = out->last_now;
        result = apply(out->room, type, json_integer_value(now), json_array_get(j, 3),
                       json_array_get(j, 4), json_array_get(j, 5), json_array_get(j, 6),
                       version == 1, &out->last_now);
        if (type == CQ_IN_SHIFT)
            out->last_now = last + json_integer_value(json_array_get(j, 3));
        if (result) {
            result = fail(err, errlen, result, "entry %zu (%s) was refused: %s", i, name,
                          cq_err_message(result));
            goto out;
        }
        json_decref(j);
        j = NULL;
    }
    out->next_seq = expect;
    result = 0;
out:
    json_decref(j);
    if (result) {
        cq_room_free(out->room);
        out->room = NULL;
    }
    return result;
}
