/* nickname.h: the nickname rules (PROTOCOL.md, "Nickname rules").
 *
 * A nickname is refused when it holds a control, invisible or
 * direction-control character, or is blank or too long once trimmed. Two
 * nicknames are the same name when their keys are equal. The key follows
 * Unicode's confusable skeleton (UTS #39): the name is case-folded, each
 * character replaced by the prototype of what it looks like (Cyrillic "А",
 * fullwidth "Ａ" and Latin "A" all become "a"; "m" becomes "rn"), accents
 * (U+0300..U+036F) dropped and the result folded again. The blocked-word
 * filter (wordlist.h) compares keys too. Pure: tables only, no I/O.
 */
#ifndef CQ_NICKNAME_H
#define CQ_NICKNAME_H

#include <stdbool.h>
#include <stddef.h>

#define CQ_NICK_SHOWN_MAX (4 * 64 + 1) /* bytes of a trimmed nickname, NUL included */
#define CQ_NICK_KEY_MAX   1024         /* bytes of a key, NUL included */
#define CQ_NICK_WHY_MAX   160          /* bytes of a refusal's reason (an error message) */

struct cq_nickname {
    char shown[CQ_NICK_SHOWN_MAX]; /* trimmed, inner white space one U+0020 */
    char key[CQ_NICK_KEY_MAX];     /* equal keys: the same name */
};

/* Applies the character and length rules to `raw` (at most `max_chars`
 * code points after trimming). Returns 0 and fills `out`, or
 * CQ_ENICKNAME_INVALID with the reason in `why` (may be NULL), e.g.
 * "nickname contains an invisible or direction-control character (U+200B)". */
int cq_nickname_check(const char *raw, unsigned max_chars, struct cq_nickname *out, char *why,
                      size_t why_cap);

/* Writes the key of `text` (well-formed UTF-8) into `out`: white space runs
 * become one space, default-ignorable characters vanish. With `leet`, the
 * digits 0 1 3 4 5 7 (and their look-alikes) read as o i e a s t first, as
 * the blocked-word filter wants. False when `out` is too small or `text` is
 * not well-formed. */
bool cq_nickname_key(const char *text, bool leet, char *out, size_t cap);

/* The Unicode version of the tables ("15.0"). */
const char *cq_nickname_unicode_version(void);

#endif
