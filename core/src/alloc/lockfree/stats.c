/* SPDX-License-Identifier: MIT */
/*
 * lockfree: statistics. Per-node totals and per-CPU counters (bumped with
 * relaxed load + store), and a buddy view of each area's free bits.
 * Snapshots: exact only when quiescent.
 */
#include <string.h>

#include "area.h"

/* n (<= 64) bits from bit of a 64-bit word of the buddy view. */
static uint64_t mask64(unsigned bit, unsigned n)
{
	return (n >= 64 ? ~0ull : ((1ull << n) - 1)) << bit;
}

/* Buddy view of an area's free bits (8 words of 64): maximal aligned free blocks. */
static void count_blocks(const uint64_t *w, unsigned first, unsigned o, uint64_t *out)
{
	bool free;
	if (o >= 6) {
		free = true;
		for (unsigned i = first / 64; i < (first + (1u << o)) / 64; i++)
			free = free && w[i] == 0;
	} else {
		free = (w[first / 64] & mask64(first % 64, 1u << o)) == 0;
	}
	if (free) {
		out[o]++;
		return;
	}
	if (o == 0)
		return;
	if (o <= 6) { /* a fully allocated word part holds no free block */
		uint64_t m = mask64(first % 64, 1u << o);
		if ((w[first / 64] & m) == m)
			return;
	}
	count_blocks(w, first, o - 1, out);
	count_blocks(w, first + (1u << (o - 1)), o - 1, out);
}

int lf_stats(void *state, int node, struct fk_alloc_stats *out)
{
	struct lockfree *lf = state;
	if (out == NULL || (node >= 0 && (unsigned)node >= lf->nr_nodes))
		return FK_EINVAL;
	memset(out, 0, sizeof(*out));
	for (unsigned nd = 0; nd < lf->nr_nodes; nd++) {
		if (node >= 0 && (unsigned)node != nd)
			continue;
		struct lf_node *ln = lf->nodes[nd];
		/* relaxed, all: statistics snapshots, exact only when quiescent. */
		out->total_frames += atomic_load_explicit(&ln->total, memory_order_relaxed);
		for (unsigned c = 0; c < lf->nr_cpus; c++) {
			struct lf_res *s = lf_res_of(lf, c, (int)nd);
			out->allocs += atomic_load_explicit(&s->allocs, memory_order_relaxed) +
			               atomic_load_explicit(&s->hits, memory_order_relaxed);
			out->frees += atomic_load_explicit(&s->frees, memory_order_relaxed);
			out->remote_frees +=
			    atomic_load_explicit(&s->remote_frees, memory_order_relaxed);
			out->fallback_allocs +=
			    atomic_load_explicit(&s->fallback_allocs, memory_order_relaxed);
			out->cache_hits += atomic_load_explicit(&s->hits, memory_order_relaxed);
			out->cache_misses += atomic_load_explicit(&s->misses, memory_order_relaxed);
		}
	}
	unsigned nr = lf_nr_chunks(lf);
	for (unsigned i = 0; i < nr; i++) {
		struct lf_chunk *r = lf_chunk_at(lf, i);
		if (!r || !lf_chunk_live(r) || (node >= 0 && lf_chunk_node(r) != node))
			continue;
		uint32_t na = lf_chunk_areas(r);
		for (uint32_t k = 0; k < na; k++) {
			uint32_t v = lf_ctr_peek(&r->areas[k].ctr);
			uint64_t w[LF_AREA_FRAMES / 64] = {0};
			out->free_frames += v & LF_CTR_FREE;
			if (v & LF_CTR_RESERVED)
				out->cached_frames += v & LF_CTR_FREE;
			for (unsigned j = 0; j < LF_AREA_WORDS; j++) {
				/* relaxed: a snapshot. */
				uint64_t b = atomic_load_explicit(&r->areas[k].bits.w[j],
				                                  memory_order_relaxed);
				if (lf_word_claim(b)) { /* a per-CPU cache's frames */
					out->free_frames += lf_word_clear(b);
					out->cached_frames += lf_word_clear(b);
				}
				/* the buddy view: 512 frame bits in 64-bit words */
				w[j / 2] |= (b & LF_WORD_BITS) << (j % 2 * LF_WORD_FRAMES);
			}
			count_blocks(w, 0, LF_AREA_ORDER, out->free_blocks);
		}
	}
	return 0;
}
