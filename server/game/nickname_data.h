/* nickname_data.h: the Unicode tables of the nickname rules, generated into
 * nickname_data.c by scripts/gen-unicode from ICU (see that script for the
 * Unicode version and how each table is made). Only nickname.c reads them. */
#ifndef CQ_NICKNAME_DATA_H
#define CQ_NICKNAME_DATA_H

#include <stddef.h>
#include <stdint.h>

struct cq_nick_range {
    uint32_t lo, hi;
};

extern const char cq_nick_unicode_version[];
/* {code point, key}, sorted: a key below 0x110000 is one code point, else
 * 0x80000000 | offset << 8 | length of a slice of cq_nick_key_pool. */
extern const uint32_t cq_nick_keys[][2];
extern const size_t cq_nick_keys_n;
/* The shape key where it differs from the folded key (same encoding). */
extern const uint32_t cq_nick_shape_keys[][2];
extern const size_t cq_nick_shape_keys_n;
/* {code point, ASCII digit} for what NFKC makes a digit ("３", "𝟏"). */
extern const uint32_t cq_nick_digits[][2];
extern const size_t cq_nick_digits_n;
extern const char cq_nick_key_pool[];
struct cq_nick_ccc {
    uint32_t lo, hi;
    uint8_t ccc;
};
extern const struct cq_nick_ccc cq_nick_ccc[]; /* Canonical_Combining_Class, not 0 */
extern const size_t cq_nick_ccc_n;
struct cq_nick_joining {
    uint32_t lo, hi;
    char type; /* Joining_Type: 'L', 'D', 'R' or 'T' */
};
extern const struct cq_nick_joining cq_nick_joining[];
extern const size_t cq_nick_joining_n;
extern const struct cq_nick_range cq_nick_unassigned[]; /* General_Category Cn */
extern const size_t cq_nick_unassigned_n;
extern const struct cq_nick_range cq_nick_ignorable[]; /* Default_Ignorable_Code_Point */
extern const size_t cq_nick_ignorable_n;
extern const struct cq_nick_range cq_nick_bidi_control[]; /* Bidi_Control */
extern const size_t cq_nick_bidi_control_n;
extern const struct cq_nick_range cq_nick_pictographic[]; /* Extended_Pictographic */
extern const size_t cq_nick_pictographic_n;

#endif
