/* wordlist.h: blocked words for nicknames (content/blocked-words.txt).
 *
 * One word per line, '#' comments. Words and nicknames are compared by their
 * keys (nickname.h: case folded, accents dropped, each character replaced by
 * the UTS #39 prototype of what it looks like, so Cyrillic "ѕһіt" is
 * "shit"), leetspeak digits 0,1,3,4,5,7 read as o,i,e,a,s,t, and all but
 * letters kept. A nickname is blocked when one of its words, or all its
 * words run together, equals a listed word; a listed word written "*word"
 * also blocks any nickname containing it (for long words only: "ass" as a
 * substring would block "Cassandra").
 */
#ifndef CQ_WORDLIST_H
#define CQ_WORDLIST_H

#include <stdbool.h>
#include <stddef.h>

struct cq_wordlist {
    char **words; /* squeezed; a leading '*' marks a substring entry */
    size_t n;
};

/* Loads a list; a missing file is an error (-1) with errno set. */
int cq_wordlist_load(const char *path, struct cq_wordlist *wl);
/* Loads a list from text in the file's format. */
int cq_wordlist_load_text(const char *text, struct cq_wordlist *wl);
/* The shipped content/blocked-words.txt, built into the program: the list
 * the server uses when its content folder has no blocked-words.txt. */
extern const char cq_wordlist_builtin[];
int cq_wordlist_add(struct cq_wordlist *wl, const char *word);
void cq_wordlist_free(struct cq_wordlist *wl);
/* `nickname` as shown (any case, accents, look-alikes: the key sees
 * through them). */
bool cq_wordlist_blocks(const struct cq_wordlist *wl, const char *nickname);

#endif
