/* SPDX-License-Identifier: MIT */
/*
 * The one PRNG of the tests, the stress suite and the benchmarks:
 * xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift
 * generators, scrambled", 2016), seeded through the splitmix64 finaliser.
 * Header only, one uint64_t of state per thread (never 0); the same seed
 * gives the same sequence on every machine.
 */
#ifndef FK_RAND_H
#define FK_RAND_H

#include <stdint.h>

/* Mix a seed (any value, 0 included) into a well-spread 64-bit word:
 * fk_rand_mix(seed) | 1 is a good nonzero state. */
static inline uint64_t fk_rand_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Next value of the generator whose state is *s (nonzero). */
static inline uint64_t fk_rand_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) (n > 0; modulo bias is negligible for small n). */
static inline uint64_t fk_rand_below(uint64_t *s, uint64_t n)
{
	return fk_rand_next(s) % n;
}

/* True with probability p. */
static inline int fk_rand_chance(uint64_t *s, double p)
{
	return p > 0 && (double)(fk_rand_next(s) >> 11) * (1.0 / 9007199254740992.0) < p;
}

#endif /* FK_RAND_H */
