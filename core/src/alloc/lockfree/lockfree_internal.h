/* SPDX-License-Identifier: MIT */
/*
 * lockfree: private types shared by the files of the lock-free allocator.
 *
 * Glossary (one word, one meaning; see core/LOCKFREE.md):
 *   frame        4 KiB, numbered by pfn = paddr >> FK_PAGE_SHIFT.
 *   area         512 naturally aligned frames (2 MiB, order 9): 16 bit-field
 *                words of 32 frames each (bit set = allocated or absent)
 *                and a counter word (free frames with quota + a
 *                "reserved" flag).
 *   claim        the high half of a bit-field word: 0, or the CPU slot
 *                (+1) whose per-CPU cache the word's clear bits are. A
 *                claimed word's clear bits have no quota in the counter.
 *   quota        the counter's free frames; taken before bits are set,
 *                given back after bits are cleared (counter <= clear bits
 *                of unclaimed words).
 *   cache        a CPU slot's claimed words (up to LF_CACHE_WORDS): order-0
 *                allocations set one of their clear bits (one CAS); any
 *                free into a claimed word joins that cache (one RMW), and
 *                a free into a full unclaimed word claims it for the
 *                freeing slot (one CAS, no quota: it has no other clear
 *                bit). Retired (claim -> 0, quota of its clear bits given)
 *                by its owner when empty, by anyone before FK_ENOMEM, by
 *                drain and by removal.
 *   chunk        the areas covering one add_free_memory range (the core's
 *                word for such a record; the core's "region" is a
 *                hot-plug range of its own, region_internal.h). Its record
 *                is type-stable: never freed before destroy, recycled for
 *                a later range once every frame of it is withdrawn.
 *   reservation  a CPU slot's hint: the area it allocates small blocks
 *                from (res), and the area near which it looks for huge
 *                frames (huge). A hint, never an owner.
 *   block        a whole area taken as one order-9 allocation: counter
 *                flag LF_CTR_HUGE, words LF_WORD_HUGE (all set, claim
 *                LF_CLAIM_HUGE) until a free of a part converts them;
 *                freed whole with counter RMWs only (area.h).
 *   absent       a withdrawn frame (remove_free_memory): bit set, no quota.
 *   free map     one bit per area of a chunk: set when the area's counter
 *                reaches 512, cleared lazily by huge searches that find it
 *                taken; never misses a free area (a Dekker pair, area.h).
 *
 * Code map:
 *   bits.h     transitions of one bit-field word (take, release, withdraw,
 *              claim, cache take, retire)
 *   area.h     transitions of one area counter; allocation inside an area
 *   chunk.c    chunk records, lookup, add/remove (hot-plug), recycling
 *   reserve.c  reservations and placement: small, huge, span; drain
 *   stats.c    per-node statistics and the buddy view of free blocks
 *   lockfree.c ops table: create/destroy, alloc, dealloc
 */
#ifndef FK_LOCKFREE_INTERNAL_H
#define FK_LOCKFREE_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "alloc_internal.h"
#include "sched_fuzz_internal.h"

#define LF_AREA_ORDER  9
#define LF_AREA_FRAMES 512u
#define LF_WORD_ORDER  5   /* 32 frames per bit-field word */
#define LF_WORD_FRAMES 32u
#define LF_AREA_WORDS  16u
#define LF_WORD_BITS   0xffffffffull /* the frame bits of a word (low half) */
#define LF_CLAIM_SHIFT 32            /* the claim: high half, slot + 1 */
#define LF_CLAIM_HUGE  0xffffffffull /* not a slot: the word of a whole-area block */
#define LF_WORD_HUGE   ((LF_CLAIM_HUGE << LF_CLAIM_SHIFT) | LF_WORD_BITS)
#define LF_CACHE_WORDS 4u    /* claimed words per CPU slot (per-CPU cache) */
#define LF_MAX_CHUNKS  1024u /* records present at once: live or dead (recyclable) */
#define LF_HUGE_NEAR   8u    /* areas tried after the huge hint before a scan */
#define LF_RES_FILLING 256u  /* most free frames of an area a small reservation takes at once */
#define LF_WD_RETRIES  64u   /* retries of a failing allocation after withdrawals finished */
#define LF_WD_WAIT_NS  50000000u /* longest wait of a failing allocation for one in flight */

/* Area counter word: free frames (quota) in the low 16 bits, reserved flag. */
#define LF_CTR_FREE       0xffffu
#define LF_CTR_RESERVED   (1u << 31)
/* Whole-area blocks (area.h, lf_area_take_head): allocated as one order-9
 * block whose words are marked LF_WORD_HUGE (cleared when a part is freed);
 * being freed whole by one thread. */
#define LF_CTR_HUGE       (1u << 30)
#define LF_CTR_FREEING    (1u << 29)

/* Chunk record states. */
enum { LF_LIVE = 0, LF_DEAD = 1, LF_RECYCLING = 2 };

/* 16 words, two cache lines: word = claim << 32 | frame bits (bit set =
 * allocated or absent). */
struct lf_bits {
	_Atomic uint64_t w[LF_AREA_WORDS];
} __attribute__((aligned(64)));

/*
 * The counter sits on its own cache line: CPUs reserve neighbouring areas,
 * and packed counters (as in LLFree's tree children) would false-share on
 * every allocation (measured: 2 threads 2.2x slower per op than 1). An area
 * is 256 bytes, 128-aligned (chunk.c): the adjacent-line prefetcher fetches
 * aligned 128-byte pairs, and with 192-byte areas one area's last bit line
 * paired with the next area's counter line, so two CPUs working on
 * neighbouring areas pulled each other's lines (random order 9 at 2
 * threads: 62-71 ns per pair against 43-46 at 1 thread).
 */
struct lf_area {
	_Atomic uint32_t ctr;
	/* The claim id (lf_claim_id) of the CPU slot that reserved the area
	 * last, 0 if none: a placement hint (reserve.c, lf_dealloc). */
	_Atomic uint32_t owner;
	char pad[64 - 2 * sizeof(uint32_t)];
	struct lf_bits bits;
} __attribute__((aligned(128)));

/*
 * One add_free_memory range. The record is type-stable: a reader that
 * loaded it may still use it after the range was removed, so it is never
 * unmapped before destroy; a fully withdrawn record is recycled for a later
 * range of at most `cap` areas. start/end/area0/nr_areas change only while
 * the record is RECYCLING (every area has counter 0 and all bits set, so a
 * stale reader cannot take anything); a reader computes a pfn from area0
 * only after the acquire RMW that took the frames, which happens after the
 * recycler's release stores of the new bits and counters.
 */
struct lf_chunk {
	/* First line: read on every operation, written only while RECYCLING
	 * (and nr_absent by hot-plug), so it stays shared in every cache. */
	_Atomic uint64_t start, end; /* pfn [start, end) */
	_Atomic uint64_t area0;      /* area number of areas[0] (start / 512) */
	_Atomic uint64_t nr_absent;  /* frames withdrawn by remove_free_memory */
	struct lf_area *areas;       /* cap */
	_Atomic uint64_t *freemap;   /* cap bits: area possibly fully free (area.h, lf_freemap_word) */
	_Atomic uint32_t nr_areas;   /* <= cap */
	_Atomic int node;
	_Atomic int state; /* LF_LIVE, LF_DEAD (skipped by lookups), LF_RECYCLING */
	unsigned idx;      /* slot in lockfree.chunks; immutable */
	/* Second line: written by reservation refills, or cold. */
	_Atomic uint32_t hint __attribute__((aligned(64))); /* where reservation scans start */
	uint32_t cap;             /* areas allocated; immutable */
	size_t bytes;             /* for unmapping at destroy */
	int on_numa;
	_Atomic uint64_t *absent; /* cap * 512 bits, indexed by pfn - area0 * 512 */
};

/* Per node, allocated on that node. */
struct lf_node {
	size_t bytes;
	int on_numa;
	_Atomic uint64_t total;
};

/*
 * One CPU slot's state for one node: the cache and the reservations
 * (codes: 0 = none; area codes ((chunk << 32) | area) + 1, cache codes
 * ((chunk << 44) | (area << 4) | word) + 1) and the statistics of the
 * slot's operations on that node. The first line holds everything an
 * order-0 pair served by the cache and an order-9 pair touch, so each
 * touches one per-CPU line, not two; the reservation (read by a cache miss
 * and by small blocks) and the rarer statistics are on the second.
 */
struct lf_res {
	/* order 0: the claimed words (hints: a word's claim decides; a word
	 * whose code is lost to a race between two threads of one slot stays
	 * claimed until lf_retire_node, which every path before FK_ENOMEM,
	 * drain and removal run). Written with relaxed load + store. */
	_Atomic uint64_t cache[LF_CACHE_WORDS];
	_Atomic uint64_t huge; /* huge blocks: where to look first (no flag) */
	_Atomic uint64_t hits, frees, allocs;
	/* small blocks: the reserved area (flag set) */
	_Atomic uint64_t area __attribute__((aligned(64)));
	_Atomic uint64_t remote_frees, misses, fallback_allocs;
} __attribute__((aligned(64)));

struct lockfree {
	unsigned nr_nodes, nr_cpus;
	bool prefetchw; /* the CPU has PREFETCHW (lf_prefetch_rmw) */
	const int *cpu_node;
	struct lf_res *res; /* [cpu * nr_nodes + node] */
	/* Withdrawals (remove_free_memory) in flight and finished: an
	 * allocation about to fail retries while one may hold its frames. */
	_Atomic uint64_t wd_active, wd_done;
	struct lf_node *nodes[FK_MAX_NODES];
	_Atomic unsigned nr_chunks; /* slots ever used; records stay in them */
	_Atomic(struct lf_chunk *) chunks[LF_MAX_CHUNKS];
};

/*
 * Test-only pause points: where tests/test_lockfree_window_*.c stop a thread
 * to hold a race window open without timing (issue 18). Compiled in only
 * with FK_LF_PAUSE_HOOKS, which only those tests define (they build the
 * lockfree sources into their own binary and define lf_test_pause); the
 * library, the benchmarks and the stress programs have none.
 */
enum lf_pause_point {
	LF_PAUSE_RELEASE_WORD,   /* lf_bits_release: a word of the range cleared */
	LF_PAUSE_UNHUGE_WORD,    /* lf_area_unhuge: before converting a word */
	LF_PAUSE_RETIRED,        /* lf_area_retire: claim retired, quota not given */
	LF_PAUSE_QUOTA_HELD,     /* lf_area_alloc: quota taken, bits not searched */
	LF_PAUSE_ALLOC_WAIT,     /* lf_alloc_retry: about to wait for a holder */
	LF_PAUSE_REMOVE_RETIRED, /* lf_remove: a part's claims retired, quota not taken */
	LF_PAUSE_REMOVE_WAIT,    /* lf_remove: about to wait for a holder */
};
#ifdef FK_LF_PAUSE_HOOKS
void lf_test_pause(enum lf_pause_point p);
#define LF_PAUSE(p) lf_test_pause(p)
#else
#define LF_PAUSE(p) ((void)0)
#endif

/* ---- small shared helpers ---- */

/* The index of CPU slot (cpu, node) in lf->res. */
static inline unsigned lf_slot_index(const struct lockfree *lf, unsigned cpu, int node)
{
	return cpu * lf->nr_nodes + (unsigned)node;
}

/* For the bounded waits of a failing allocation or removal. */
static inline uint64_t lf_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* vDSO: no lock, no system call */
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline struct lf_res *lf_res_of(struct lockfree *lf, unsigned cpu, int node)
{
	return &lf->res[lf_slot_index(lf, cpu, node)];
}

static inline unsigned lf_nr_chunks(struct lockfree *lf)
{
	/* relaxed: only a bound; each slot is read with acquire below and may
	 * still be NULL while its adder is publishing it. */
	unsigned n = atomic_load_explicit(&lf->nr_chunks, memory_order_relaxed);
	return n < LF_MAX_CHUNKS ? n : LF_MAX_CHUNKS;
}

/*
 * Word w of r's free map (areas 64w .. 64w + 63). Each word has 128 bytes of
 * its own (LF_FREEMAP_STRIDE): CPUs whose searches start in different words
 * (reserve.c) then mark and clear bits without pulling one another's lines
 * (with 512 areas all 8 words shared a line, and order-10 bulk at 2 threads
 * cost 3.3x its 1-thread figure, every give's mark load a transfer).
 */
#define LF_FREEMAP_STRIDE 16u /* uint64_t per word: 128 bytes */
static inline _Atomic uint64_t *lf_freemap_word(struct lf_chunk *r, uint32_t w)
{
	return &r->freemap[(size_t)w * LF_FREEMAP_STRIDE];
}

static inline struct lf_chunk *lf_chunk_at(struct lockfree *lf, unsigned i)
{
	/* acquire: pairs with the release store in lf_add, so the record's
	 * immutable fields (cap, areas, absent) are initialised before use. */
	return atomic_load_explicit(&lf->chunks[i], memory_order_acquire);
}

static inline int lf_chunk_node(struct lf_chunk *r)
{
	/* relaxed: changes only while RECYCLING; a stale value only misplaces
	 * one allocation made while the record is being reused elsewhere. */
	return atomic_load_explicit(&r->node, memory_order_relaxed);
}

static inline bool lf_chunk_live(struct lf_chunk *r)
{
	/* acquire: pairs with the release store of LF_LIVE in lf_add/recycle,
	 * so a reader that finds the record live sees its new range. */
	return atomic_load_explicit(&r->state, memory_order_acquire) == LF_LIVE;
}

/* Record i if it is live and node's (the searches' filter), else NULL. */
static inline struct lf_chunk *lf_node_chunk(struct lockfree *lf, unsigned i, int node)
{
	struct lf_chunk *r = lf_chunk_at(lf, i);
	return r && lf_chunk_node(r) == node && lf_chunk_live(r) ? r : NULL;
}

static inline uint64_t lf_area0(struct lf_chunk *r)
{
	/* relaxed: written before the release stores that publish the
	 * record's areas; read after the acquire that took frames. */
	return atomic_load_explicit(&r->area0, memory_order_relaxed);
}

static inline uint32_t lf_chunk_areas(struct lf_chunk *r)
{
	/* relaxed: as lf_area0; never above cap, so any value is in bounds. */
	return atomic_load_explicit(&r->nr_areas, memory_order_relaxed);
}

static inline uint64_t lf_area_pfn(struct lf_chunk *r, uint32_t k)
{
	return (lf_area0(r) + k) * LF_AREA_FRAMES;
}

/* The claim value of CPU slot (cpu, node): its index + 1 (0 = unclaimed). */
static inline uint64_t lf_claim_id(struct lockfree *lf, unsigned cpu, int node)
{
	return (uint64_t)lf_slot_index(lf, cpu, node) + 1;
}

static inline uint64_t lf_cache_encode(unsigned chunk, uint32_t area, unsigned word)
{
	return (((uint64_t)chunk << 44) | ((uint64_t)area << 4) | word) + 1;
}

static inline unsigned lf_cache_chunk(uint64_t code)
{
	return (unsigned)((code - 1) >> 44);
}

static inline uint32_t lf_cache_area(uint64_t code)
{
	return (uint32_t)((code - 1) >> 4); /* area numbers are 32-bit (lf_chunk_areas) */
}

static inline unsigned lf_cache_word(uint64_t code)
{
	return (unsigned)((code - 1) & 15);
}

static inline uint64_t lf_res_encode(unsigned chunk, uint32_t area)
{
	return (((uint64_t)chunk << 32) | area) + 1;
}

/* The huge hint (struct lf_res.huge) was set by a free (lf_huge_hint_freed);
 * lf_hint_code strips the flag. Codes stay below it (chunk < 2^31). */
#define LF_HINT_FREED (1ull << 63)

static inline uint64_t lf_hint_code(uint64_t h)
{
	return h & ~LF_HINT_FREED;
}

static inline unsigned lf_res_chunk(uint64_t code)
{
	return (unsigned)((code - 1) >> 32);
}

static inline uint32_t lf_res_area(uint64_t code)
{
	return (uint32_t)(code - 1);
}

/* fk_cpu_current without the division when the CPU id is in range (a div
 * cost about 10 % of an order-0 pair). */
static inline unsigned lf_cpu(struct lockfree *lf)
{
	int c = sched_getcpu();
	if (c < 0)
		c = 0;
	return (unsigned)c < lf->nr_cpus ? (unsigned)c : (unsigned)c % lf->nr_cpus;
}

static inline int lf_cpu_node(struct lockfree *lf, unsigned cpu)
{
	int n = lf->cpu_node ? lf->cpu_node[cpu] : 0;
	return n >= 0 && (unsigned)n < lf->nr_nodes ? n : 0;
}

/*
 * Ask for the line of p in exclusive state ahead of an RMW on it. A free's
 * RMW lands on a line that another CPU often wrote last; loading the word
 * first would fetch the line shared and the RMW fetch it again to own it,
 * and an early write prefetch overlaps that one fetch with the free's
 * other work (2- and 4-thread random order 0: 7-8 % per pair, LOCKFREE.md).
 * A hint: x86 PREFETCHW where CPUID reports it, else nothing. No memory
 * access in the C11 sense (TSan does not see it, and needs not).
 */
static inline void lf_prefetch_rmw(const struct lockfree *lf, const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	if (lf->prefetchw)
		__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	(void)lf;
	(void)p;
#endif
}

static inline void lf_stat_inc(_Atomic uint64_t *c)
{
	/* relaxed load + store, not an RMW: a statistics counter orders
	 * nothing, and a locked RMW here cost ~5 ns per call. Two threads that
	 * share a CPU slot at the same instant may lose an increment; the
	 * counters are exact when each slot has one thread (or quiescent). */
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
	                      memory_order_relaxed);
}

/* ---- cross-file entry points ---- */

/* chunk.c */
void *lf_meta_alloc(size_t bytes, int node, int *on_numa);
void lf_meta_free(void *p, size_t bytes, int on_numa);
int lf_range_chunk(struct lockfree *lf, uint64_t paddr, uint64_t nframes, uint64_t *pfn,
                   struct lf_chunk **out);
bool lf_absent_any(struct lf_chunk *r, uint64_t pfn, uint64_t n);
void lf_range_free(struct lf_chunk *r, uint64_t pfn, uint64_t n);
int lf_add(void *state, uint64_t paddr, uint64_t nframes, int node);
int lf_remove(void *state, uint64_t paddr, uint64_t nframes);
void lf_chunks_destroy(struct lockfree *lf);

/* reserve.c */
void lf_unreserve(struct lockfree *lf, uint64_t code);
bool lf_alloc_node(struct lockfree *lf, unsigned cpu, int node, uint64_t n, unsigned align,
                   uint64_t *pfn);
unsigned lf_retire_node(struct lockfree *lf, int node);
int lf_cache_vacancy(struct lf_res *rs);
bool lf_block_visible(struct lockfree *lf, int node, uint64_t n, unsigned align);
void lf_huge_hint(struct lockfree *lf, unsigned cpu, int node, unsigned chunk, uint32_t area);
void lf_huge_hint_freed(struct lockfree *lf, unsigned cpu, int node, unsigned chunk,
                        uint32_t area);
void lf_forget_chunk(struct lockfree *lf, unsigned idx);
void lf_drain(void *state);

/* stats.c */
int lf_stats(void *state, int node, struct fk_alloc_stats *out);

#endif /* FK_LOCKFREE_INTERNAL_H */
