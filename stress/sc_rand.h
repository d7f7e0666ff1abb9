/*
 * Per-thread PRNG of the stress suite: xorshift64*, seeded through
 * splitmix64. Header only; the same seed gives the same sequence.
 */
#ifndef FK_SC_RAND_H
#define FK_SC_RAND_H

#include <stdint.h>

static inline uint64_t sc_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint64_t sc_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) (n > 0). */
static inline uint64_t sc_below(uint64_t *s, uint64_t n)
{
	return sc_rand(s) % n;
}

/* True with probability p. */
static inline int sc_chance(uint64_t *s, double p)
{
	return p > 0 && (double)(sc_rand(s) >> 11) * (1.0 / 9007199254740992.0) < p;
}

#endif /* FK_SC_RAND_H */
