/* text.h: UTF-8 text rules shared by nicknames and typed answers. */
#ifndef CQ_TEXT_H
#define CQ_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Folds `in` for comparison: lower case, Latin accents removed, runs of
 * white space made one space, leading/trailing space dropped. Writes at most
 * `cap` bytes including the NUL; returns false if it did not fit or `in` is
 * not valid UTF-8. */
bool cq_text_fold(const char *in, char *out, size_t cap);

/* The key a typed answer is compared by (and an accepted answer is stored
 * as): cq_text_fold, then punctuation forgiven and a leading article
 * dropped: "MTTR." = "mttr", "Obtain / build" = "obtain-build" = "obtain
 * build", "design & transition" = "design and transition", "don't" =
 * "dont", "an event" = "the event" = "event". Punctuation (ASCII and the
 * common Unicode quotes, dashes, ellipsis, inverted marks, CJK and
 * fullwidth stops) separates words; apostrophes join them; '&' is "and";
 * one leading "a", "an" or "the" goes. Needs up to 5 bytes of `out` per
 * byte of `in` ("&" -> " and "). Same contract as cq_text_fold; the key may
 * be empty ("...", "the"). */
bool cq_text_answer_key(const char *in, char *out, size_t cap);

/* True when `s` is valid UTF-8 with no control character and no invisible
 * or direction-control one (U+200B, U+200E/F, U+202A-E, U+2066-9, U+FEFF;
 * the joiners U+200C/D are fine). */
bool cq_text_valid(const char *s);
/* The same check, saying why when it fails (`why`, `cap` bytes): the code
 * point and the text before it, or the byte that is not UTF-8. */
bool cq_text_check(const char *s, char *why, size_t cap);

/* Copies `in` without leading/trailing white space, inner runs collapsed to
 * one space. Same contract as cq_text_fold. */
bool cq_text_trim(const char *in, char *out, size_t cap);

/* Compares a secret (`want`, never empty) with a guess in time that depends
 * only on their lengths, not on where they differ. */
bool cq_text_secret_equal(const char *want, const char *guess);

/* Number of code points in valid UTF-8. */
size_t cq_text_len(const char *s);

#endif
