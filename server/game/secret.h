/* secret.h: SHA-256, and the digest under which a secret is stored.
 *
 * Host tokens, players' resume tokens and group secrets are 192-bit random
 * strings made by the server (rand.h). Redis and the game's log keep only
 * their SHA-256, so a copy of the database (a backup, a replica, a shared
 * Redis) grants no seat, no host control and no group board. A plain hash
 * is enough here, no salt or slow hash: the secrets are random and too long
 * to guess, so a dictionary over them is pointless, and the same plain
 * digest lets an operator compute one with `printf %s "$secret" | sha256sum`.
 * Pure: no I/O, no allocation.
 */
#ifndef CQ_SECRET_H
#define CQ_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define CQ_SECRET_DIGEST_LEN 64 /* hex characters of a SHA-256 */

void cq_sha256(const void *data, size_t len, uint8_t out[32]);
/* Lower-case hex SHA-256 of the text `secret` (without its NUL). */
void cq_secret_digest(const char *secret, char out[CQ_SECRET_DIGEST_LEN + 1]);

#endif
