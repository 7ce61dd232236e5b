/* nickname.h: the nickname rules (PROTOCOL.md, "Nickname rules").
 *
 * A nickname is refused when it holds a control, invisible or
 * direction-control character, or is blank or too long once trimmed. Two
 * nicknames are the same name when one of their two keys is equal. Both
 * follow Unicode's confusable skeleton (UTS #39): each character replaced by
 * the prototype of what it looks like (Cyrillic "А", fullwidth "Ａ" and Latin
 * "A" all become "a"; "m" becomes "rn"), accents (U+0300..U+036F) dropped,
 * case folded. The folded key folds case (NFKC_Casefold) before the
 * skeleton, so "Ian" and "ian" are one name; the shape key looks at the
 * letters as typed, so "Ian" and "lan" (capital i, small L), or Greek "ΒΟΒ"
 * and "BOB", are one name too. The blocked-word filter (wordlist.h) reads
 * both keys. scripts/gen-unicode makes the tables from ICU. Pure: no I/O.
 */
#ifndef CQ_NICKNAME_H
#define CQ_NICKNAME_H

#include <stdbool.h>
#include <stddef.h>

/* Characters a nickname can ever have, above any --max-nickname (at most 40):
 * the buffers below are sized from it. A trimmed nickname is at most
 * CQ_NICK_SHOWN_MAX bytes, NUL included. */
#define CQ_NICK_CHARS_CAP 64
#define CQ_NICK_SHOWN_MAX (4 * CQ_NICK_CHARS_CAP + 1)
#define CQ_NICK_KEY_MAX   1024 /* bytes of a key, NUL included */
#define CQ_NICK_WHY_MAX   160  /* bytes of a refusal's reason (an error message) */
/* Combining marks (combining class not 0) stacked on one character: more
 * would spill over the lines above and below on the projector ("Zalgo").
 * Vietnamese needs 2, pointed and accented Hebrew up to 4. */
#define CQ_NICK_MARKS_MAX 4

struct cq_nickname {
    char shown[CQ_NICK_SHOWN_MAX]; /* trimmed, inner white space one U+0020 */
    char key[CQ_NICK_KEY_MAX];     /* folded key */
    char shape[CQ_NICK_KEY_MAX];   /* shape key */
};

/* cq_nickname_key's `how`. */
#define CQ_NICK_FOLDED 0u /* the folded key */
#define CQ_NICK_SHAPE  1u /* the shape key */
#define CQ_NICK_LEET   2u /* digits 0 1 3 4 5 7 (and look-alikes) read as o i e a s t first */

/* Applies the character and length rules to `raw` (at most `max_chars`
 * code points after trimming). Returns 0 and fills `out`, or
 * CQ_ENICKNAME_INVALID with the reason in `why` (may be NULL), e.g.
 * "nickname contains an invisible or direction-control character (U+200B)". */
int cq_nickname_check(const char *raw, unsigned max_chars, struct cq_nickname *out, char *why,
                      size_t why_cap);

/* Writes a key of `text` (well-formed UTF-8) into `out`, as `how` says:
 * white space runs become one space, default-ignorable characters vanish.
 * False when `out` is too small or `text` is not well-formed. */
bool cq_nickname_key(const char *text, unsigned how, char *out, size_t cap);

/* The Unicode version of the tables ("15.0"). */
const char *cq_nickname_unicode_version(void);

#endif
