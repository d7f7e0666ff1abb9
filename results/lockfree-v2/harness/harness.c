/*
 * Comparison harness (not built with framekit; see ../README.md and
 * build.sh): the LLFree paper's workloads against llfree-c, framekit
 * lockfree (this tree), an earlier lockfree linked with its symbols renamed
 * ("lockfree-prev", "lockfree-v1": optional, weak) and framekit buddy-pcp,
 * in one process, allocators interleaved in every repetition. It calls only
 * llfree-c's public API (include/llfree.h) and framekit's allocator ops.
 *
 *   bulk:   each thread allocates N blocks, then frees them all (timed both)
 *   repeat: each thread holds N blocks, then P alloc+free pairs (timed)
 *   random: each thread holds N blocks; all held blocks are shuffled across
 *           threads; then P times: free a random one of its set, allocate a
 *           replacement (timed)
 *
 * Time: thread CPU time per alloc+free pair, mean over threads; threads
 * pinned to CPU tid % ncpu. Frames: 1 Mi (4 Mi when the held blocks need
 * more than 3/4 of 1 Mi). Every run ends with a conservation check.
 * Usage: harness ORDER WORKLOAD THREADS N PAIRS REPS [allocators...]
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <framekit/framekit.h>
#include <llfree.h>
#include <llfree_inner.h>

extern const struct fk_allocator_ops fk_alloc_lockfree_ops;
extern const struct fk_allocator_ops fk_alloc_lockfree_v1_ops __attribute__((weak));
extern const struct fk_allocator_ops fk_alloc_buddy_pcp_ops;
extern const struct fk_allocator_ops prev_fk_alloc_lockfree_ops __attribute__((weak));

static unsigned ncpu;
static uint64_t nframes;
#define BASE_PFN (1ull << 20)

struct impl {
	const char *name;
	const struct fk_allocator_ops *ops; /* NULL: llfree-c */
	void *st;
	llfree_t *ll;
	llfree_meta_t meta;
};

static int cpu_node[256];

static void impl_open(struct impl *im)
{
	if (im->ops) {
		struct fk_alloc_params p = {0};
		p.nr_cpus = ncpu;
		if (im->ops->create(&p, 1, cpu_node, ncpu, &im->st) ||
		    im->ops->add_free_memory(im->st, BASE_PFN << 12, nframes, 0)) {
			fprintf(stderr, "%s: create failed\n", im->name);
			exit(1);
		}
		return;
	}
	llfree_classing_t c = llfree_classing_simple(ncpu);
	llfree_meta_size_t m = llfree_metadata_size(&c, nframes);
	im->ll = aligned_alloc(64, (m.llfree + 63) & ~63ul);
	im->meta.local = aligned_alloc(64, (m.local + 63) & ~63ul);
	im->meta.trees = aligned_alloc(64, (m.trees + 63) & ~63ul);
	im->meta.lower = aligned_alloc(4096, (m.lower + 4095) & ~4095ul);
	if (!llfree_is_ok(llfree_init(im->ll, nframes, LLFREE_INIT_FREE, im->meta, &c))) {
		fprintf(stderr, "llfree init failed\n");
		exit(1);
	}
}

static void impl_close(struct impl *im)
{
	if (im->ops) {
		struct fk_alloc_stats s;
		im->ops->drain(im->st);
		im->ops->stats(im->st, -1, &s);
		if (s.free_frames != nframes) {
			fprintf(stderr, "%s: conservation: %lu free of %lu\n", im->name,
			        (unsigned long)s.free_frames, (unsigned long)nframes);
			exit(1);
		}
		im->ops->destroy(im->st);
		return;
	}
	llfree_drain(im->ll);
	ll_stats_t s = llfree_stats(im->ll);
	if (s.free_frames != nframes) {
		fprintf(stderr, "llfree: conservation: %zu free of %lu\n", s.free_frames,
		        (unsigned long)nframes);
		exit(1);
	}
	free(im->meta.local);
	free(im->meta.trees);
	free(im->meta.lower);
	free(im->ll);
}

static inline int get(struct impl *im, unsigned order, uint64_t *f)
{
	if (im->ops) {
		uint64_t pa;
		int e = im->ops->alloc(im->st, 1ull << order, order, -1, 0, &pa);
		*f = pa >> 12;
		return e;
	}
	llfree_result_t r = llfree_get(im->ll, frame_id_none(),
	                               llfree_simple_request(ncpu, (uint8_t)order,
	                                                     (size_t)sched_getcpu()));
	*f = r.frame.value;
	return r.error;
}

static inline int put(struct impl *im, unsigned order, uint64_t f)
{
	if (im->ops)
		return im->ops->dealloc(im->st, f << 12, 1ull << order);
	llfree_result_t r = llfree_put(im->ll, frame_id(f),
	                               llfree_simple_request(ncpu, (uint8_t)order,
	                                                     (size_t)sched_getcpu()));
	return r.error;
}

enum { BULK, REPEAT, RANDOM };
static int workload;
static unsigned order, nthreads;
static uint64_t held_n, pairs;
static struct impl *cur;
static pthread_barrier_t bar;
/* Thread t's blocks: all[t * stride .. t * stride + held_n). stride rounds
 * held_n up to whole cache lines and all is line-aligned, so no two threads
 * write one line of it (with 8 held, unpadded arrays shared a line, and its
 * transfers cost more per pair than the allocators did). */
static uint64_t *all, stride;
#define SLOT(x) (all[(x) / held_n * stride + (x) % held_n])
static double cpu_ns[256];
static _Atomic int failed;

static double tcpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *worker(void *arg)
{
	unsigned tid = (unsigned)(uintptr_t)arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(tid % ncpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	uint64_t *mine = all + tid * stride, seed = 0x9e3779b97f4a7c15ull * (tid + 1);
	double t = 0, t0;
	pthread_barrier_wait(&bar);
	if (workload == BULK) {
		uint64_t rounds = pairs / held_n ? pairs / held_n : 1;
		t0 = tcpu();
		for (uint64_t r = 0; r < rounds; r++) {
			for (uint64_t i = 0; i < held_n; i++)
				if (get(cur, order, &mine[i]))
					failed = 1;
			for (uint64_t i = 0; i < held_n; i++)
				if (put(cur, order, mine[i]))
					failed = 2;
		}
		t = tcpu() - t0;
		cpu_ns[tid] = t / (double)(rounds * held_n);
		pthread_barrier_wait(&bar);
		pthread_barrier_wait(&bar);
		return NULL;
	}
	for (uint64_t i = 0; i < held_n; i++)
		if (get(cur, order, &mine[i]))
			failed = 3;
	pthread_barrier_wait(&bar);
	if (workload == RANDOM && tid == 0) { /* shuffle across threads */
		uint64_t tot = held_n * nthreads, s = 12345;
		for (uint64_t i = tot - 1; i > 0; i--) {
			uint64_t j = rnd(&s) % (i + 1), x = SLOT(i);
			SLOT(i) = SLOT(j);
			SLOT(j) = x;
		}
	}
	pthread_barrier_wait(&bar);
	t0 = tcpu();
	if (workload == REPEAT) {
		for (uint64_t p = 0; p < pairs; p++) {
			uint64_t f;
			if (get(cur, order, &f) || put(cur, order, f))
				failed = 4;
		}
	} else {
		for (uint64_t p = 0; p < pairs; p++) {
			uint64_t i = rnd(&seed) % held_n;
			if (put(cur, order, mine[i]) || get(cur, order, &mine[i]))
				failed = 5;
		}
	}
	cpu_ns[tid] = (tcpu() - t0) / (double)pairs;
	pthread_barrier_wait(&bar);
	for (uint64_t i = 0; i < held_n; i++)
		if (put(cur, order, mine[i]))
			failed = 6;
	pthread_barrier_wait(&bar);
	return NULL;
}

static double run_one(struct impl *im)
{
	pthread_t t[256];
	cur = im;
	impl_open(im);
	pthread_barrier_init(&bar, NULL, nthreads);
	for (unsigned i = 0; i < nthreads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < nthreads; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	if (failed) {
		fprintf(stderr, "%s: a call failed (%d)\n", im->name, failed);
		exit(1);
	}
	impl_close(im);
	double s = 0;
	for (unsigned i = 0; i < nthreads; i++)
		s += cpu_ns[i];
	return s / nthreads;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: %s ORDER bulk|repeat|random THREADS N PAIRS REPS [impl..]\n",
		        argv[0]);
		return 2;
	}
	order = (unsigned)atoi(argv[1]);
	workload = !strcmp(argv[2], "bulk") ? BULK : !strcmp(argv[2], "repeat") ? REPEAT : RANDOM;
	nthreads = (unsigned)atoi(argv[3]);
	held_n = strtoull(argv[4], 0, 0);
	pairs = strtoull(argv[5], 0, 0);
	int reps = atoi(argv[6]);
	ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	nframes = 1ull << 20;
	while ((nthreads * held_n + 1) << order > nframes * 3 / 4)
		nframes <<= 1;
	stride = (held_n + 7) / 8 * 8;
	all = aligned_alloc(64, (nthreads * stride + 8) * sizeof(uint64_t));
	memset(all, 0, (nthreads * stride + 8) * sizeof(uint64_t));
	struct impl ims[8];
	int ni = 0;
	const char *names[] = {"llfree-c", "lockfree", "buddy-pcp"};
	for (int a = 7; a < argc || (argc == 7 && ni < 3); a++) {
		const char *nm = argc == 7 ? names[ni] : argv[a];
		struct impl im = {.name = nm};
		if (!strcmp(nm, "lockfree"))
			im.ops = &fk_alloc_lockfree_ops;
		else if (!strcmp(nm, "lockfree-v1"))
			im.ops = &fk_alloc_lockfree_v1_ops;
		else if (!strcmp(nm, "lockfree-prev"))
			im.ops = &prev_fk_alloc_lockfree_ops;
		if ((!strcmp(nm, "lockfree-v1") || !strcmp(nm, "lockfree-prev")) && !im.ops) {
			fprintf(stderr, "%s: not linked in (build.sh)\n", nm);
			return 2;
		}
		else if (!strcmp(nm, "buddy-pcp"))
			im.ops = &fk_alloc_buddy_pcp_ops;
		ims[ni++] = im;
	}
	double res[8][32];
	for (int r = 0; r < reps; r++) {
		int start = r % ni; /* rotate the order: interleaved */
		for (int k = 0; k < ni; k++) {
			int i = (start + k) % ni;
			struct impl im = ims[i];
			res[i][r] = run_one(&im);
		}
	}
	printf("order=%u workload=%s threads=%u held=%lu pairs=%lu frames=%lu reps=%d\n", order,
	       argv[2], nthreads, (unsigned long)held_n, (unsigned long)pairs,
	       (unsigned long)nframes, reps);
	for (int i = 0; i < ni; i++) {
		qsort(res[i], (size_t)reps, sizeof(double), cmpd);
		printf("  %-12s median %7.1f ns/pair  (min %6.1f max %6.1f)\n", ims[i].name,
		       res[i][reps / 2], res[i][0], res[i][reps - 1]);
	}
	return 0;
}
