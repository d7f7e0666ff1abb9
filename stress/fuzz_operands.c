/* SPDX-License-Identifier: MIT */
/*
 * Operands of the fuzz steps, read from the input: hostile paddrs and
 * ranges (unaligned, outside, forged ends), metadata types (also too big),
 * offsets, an injected init failure; and the sets of errors the model
 * predicts (expect_in / expect_rc abort on anything else).
 */
#include <string.h>

#include "fuzz.h"

/* ---- Operand selectors ---- */

uint64_t sel_paddr(void)
{
	uint8_t b = byte(), i = byte();
	switch (b & 7) {
	case 0:
	case 1:
	case 2:
		return M_BASE + (uint64_t)(i % M_N) * PG;
	case 3:
		return U_BASE + (uint64_t)(i % U_N) * PG;
	case 4:
		return H_BASE + (uint64_t)(i % H_N) * PG;
	case 5:
		return M_BASE + (uint64_t)(i % M_N) * PG + 1 + (uint64_t)(b >> 3) * 97;
	case 6: {
		static const uint64_t oob[8] = {0,
		                                PG,
		                                M_BASE - PG,
		                                M_BASE + M_N * PG,
		                                U_BASE + U_N * PG,
		                                H_BASE + H_N * PG,
		                                UINT64_MAX & ~(PG - 1),
		                                (UINT64_MAX >> 1) & ~(PG - 1)};
		return oob[i & 7];
	}
	default: {
		static const uint64_t edge[4] = {M_BASE + (M_N - 1) * PG, U_BASE,
		                                 U_BASE + (U_N - 1) * PG, H_BASE};
		return edge[i & 3];
	}
	}
}

/* A range: mostly start + n frames, sometimes a forged end. */
void sel_range(uint64_t *s, uint64_t *e)
{
	*s = sel_paddr();
	uint8_t b = byte();
	if (b < 200)
		*e = *s + (uint64_t)(b % 12) * PG;
	else if (b < 230)
		*e = sel_paddr();
	else
		*e = *s + (uint64_t)(b % 12) * PG + 7; /* unaligned end */
}

const struct fk_meta_type *sel_type(void)
{
	switch (byte() % 6) {
	case 0:
		return NULL;
	case 1:
	case 2:
		return &type_a;
	case 3:
		return &type_b;
	case 4:
		return &fk_meta_untyped;
	default:
		return &type_big;
	}
}

uint64_t sel_offset(uint64_t size)
{
	uint8_t b = byte();
	switch (b % 8) {
	case 0:
		return 0;
	case 1:
		return size;
	case 2:
		return size + PG;
	case 3:
		return (uint64_t)(b >> 3) * 13 + 1; /* unaligned */
	case 4:
		return UINT64_MAX & ~(PG - 1);
	default:
		return (uint64_t)(b >> 3) % (size / PG + 1) * PG;
	}
}

/* Arm an init failure for the next claim of n frames. */
int arm_fail(const struct fk_meta_type *t, uint64_t n)
{
	fz_init_calls = 0;
	fz_init_fail_at = -1;
	uint8_t b = byte();
	/* Only types with on_drop, so the rollback's on_drop count can be checked. */
	if ((t == &type_a || t == &type_b) && n && (b & 3) == 0) {
		fz_init_fail_at = (int)((b >> 2) % n);
		return 1;
	}
	return 0;
}

/* ---- Error sets ---- */

void add(struct eset *s, int e)
{
	for (int i = 0; i < s->n; i++)
		if (s->e[i] == e)
			return;
	s->e[s->n++] = e;
}

int in_set(const struct eset *s, int rc)
{
	for (int i = 0; i < s->n; i++)
		if (s->e[i] == rc)
			return 1;
	return 0;
}

int add_range_errors(struct eset *es, uint64_t s, uint64_t e)
{
	if ((s | e) & (PG - 1))
		add(es, FK_ENOTALIGNED);
	if (s >= e) {
		add(es, FK_EINVAL);
		return 0;
	}
	if (!range_in_region(s & ~(PG - 1), (e + PG - 1) & ~(PG - 1))) {
		add(es, FK_EOUTOFBOUND);
		return 0;
	}
	return 1;
}

void expect_in(const char *what, const struct eset *s, int rc)
{
	if (!in_set(s, rc)) {
		char buf[160] = "";
		for (int i = 0; i < s->n; i++) {
			strcat(buf, E(s->e[i]));
			strcat(buf, " ");
		}
		die("%s -> %s, expected one of { %s}", what, E(rc), buf);
	}
}

void expect_rc(const char *what, int want, int rc)
{
	if (rc != want)
		die("%s -> %s, expected %s", what, E(rc), E(want));
}
