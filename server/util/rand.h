/* rand.h: secrets and PINs from the OS random source (getrandom). */
#ifndef CQ_RAND_H
#define CQ_RAND_H

#include <stddef.h>
#include <stdint.h>

#define CQ_TOKEN_BYTES 24 /* 192 bits -> 32 base64url characters */

int cq_rand_bytes(void *buf, size_t n);
/* Writes a base64url token of CQ_TOKEN_BYTES random bytes; out >= 33 bytes. */
int cq_rand_token(char *out, size_t cap);
/* Six decimal digits, 100000..999999. */
int cq_rand_pin(char out[7]);
uint64_t cq_rand_u64(void);

#endif
