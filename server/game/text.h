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

/* True when `s` is valid UTF-8 with no control characters. */
bool cq_text_valid(const char *s);

/* Copies `in` without leading/trailing white space, inner runs collapsed to
 * one space. Same contract as cq_text_fold. */
bool cq_text_trim(const char *in, char *out, size_t cap);

/* Compares a secret (`want`, never empty) with a guess in time that depends
 * only on their lengths, not on where they differ. */
bool cq_text_secret_equal(const char *want, const char *guess);

/* Number of code points in valid UTF-8. */
size_t cq_text_len(const char *s);

#endif
