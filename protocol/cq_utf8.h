/* cq_utf8.h: the one UTF-8 decoder and the one white-space table.
 *
 * Every layer (protocol, game, content) decodes text and tells white space
 * with these, so that "valid", "blank" and "trimmed" mean the same in the
 * decoder, the nickname rules, the bank loader and the importers. Pure: no
 * allocation, no library. Part of cq_protocol, the lowest layer.
 */
#ifndef CQ_UTF8_H
#define CQ_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from `s` (at most `n` bytes available). Returns
 * its length, 1 to 4, or 0 when the bytes are not well-formed UTF-8
 * (overlong forms, surrogates, above U+10FFFF, a sequence cut by `n`).
 * `*cp` is set only on success. */
size_t cq_utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Writes `cp` (a scalar value) as UTF-8 into `out`; returns 1 to 4, or 0
 * for a surrogate or a value above U+10FFFF. */
size_t cq_utf8_encode(uint32_t cp, char out[4]);

/* True when the NUL-terminated `s` is well-formed UTF-8. */
bool cq_utf8_valid(const char *s);

/* Number of code points in well-formed UTF-8. */
size_t cq_utf8_len(const char *s);

/* Unicode's White_Space property (PropList.txt, unchanged since Unicode
 * 6.3): tab to carriage return, space, U+0085, no-break space, U+1680,
 * U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000. */
bool cq_utf8_is_space(uint32_t cp);

#endif
