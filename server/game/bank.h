/* bank.h: questions and banks as the game sees them.
 *
 * A bank is immutable once loaded (server/content builds it); rooms borrow it
 * and must not outlive it.
 */
#ifndef CQ_BANK_H
#define CQ_BANK_H

#include <stdbool.h>
#include <stddef.h>

#include "cq_limits.h"

enum cq_qtype {
    CQ_Q_SINGLE = 0,
    CQ_Q_MULTI,
    CQ_Q_TRUEFALSE,
    CQ_Q_TYPEANSWER,
    CQ_Q_ORDERING,
    CQ_Q_POLL,
    CQ_Q__COUNT
};

#define CQ_ACCEPTED_MAX 10
#define CQ_QTAGS_MAX    6
#define CQ_EXCLUDES_MAX 16 /* ids in one question's `excludes` */

struct cq_question {
    char *id;
    enum cq_qtype type;
    char *prompt;
    char *options[CQ_OPTIONS_MAX]; /* ordering: listed in the correct order */
    unsigned n_options;
    unsigned correct_mask;                /* single/multi: bit i set when option i is correct */
    bool truth;                           /* truefalse */
    char *accepted[CQ_ACCEPTED_MAX];      /* typeanswer, as written */
    char *accepted_fold[CQ_ACCEPTED_MAX]; /* the same, folded for matching */
    unsigned n_accepted;
    char *explanation;
    char *tags[CQ_QTAGS_MAX];
    unsigned n_tags;
    int difficulty;   /* 0 easy, 1 medium, 2 hard */
    int time_limit_s; /* 0: the game's setting */
    int points;       /* multiplier 0, 1 or 2 */
    char *image;      /* NULL when none */
    char *source_file, *source_section;
    /* Questions that must not be in the same game as this one (they give
     * each other away). `exclude_ids` as written in the bank; `excludes`
     * the bank indexes of every question paired with this one in either
     * direction, resolved by the loader (NULL when none). */
    char *exclude_ids[CQ_EXCLUDES_MAX];
    unsigned n_exclude_ids;
    unsigned *excludes;
    unsigned n_excludes;
};

struct cq_bank {
    char *id, *title, *description, *language, *version, *licence;
    struct cq_question *questions;
    size_t n_questions;
    /* The folder of the bank's file (real path), where its `media/` files
     * are; NULL for a bank parsed from text. */
    char *dir;
};

const char *cq_qtype_name(enum cq_qtype t);
int cq_qtype_from_name(const char *name); /* -1 when unknown */

#endif
