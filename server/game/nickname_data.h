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
extern const char cq_nick_key_pool[];
extern const struct cq_nick_range cq_nick_ignorable[]; /* Default_Ignorable_Code_Point */
extern const size_t cq_nick_ignorable_n;
extern const struct cq_nick_range cq_nick_bidi_control[]; /* Bidi_Control */
extern const size_t cq_nick_bidi_control_n;
extern const struct cq_nick_range cq_nick_pictographic[]; /* Extended_Pictographic */
extern const size_t cq_nick_pictographic_n;

#endif
