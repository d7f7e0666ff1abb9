/* SPDX-License-Identifier: MIT */
/*
 * Direct driver: LLFree-c called through its public API as its own
 * benchmarks call it (one llfree_t, request built once per thread with the
 * local index = the CPU the pinned thread runs on), against the same
 * workloads through framekit allocator plug-ins (fk_alloc_llfree.so),
 * interleaved in one process. Workloads = framekit_bench's alloc_raw_
 * {bulk,repeat,random}/order:K/held:N (bench/bench_alloc.c):
 *   bulk   = allocate N, free all N in order; one item = one pair
 *   repeat = hold N, then alloc+free pairs of one more block
 *   random = hold N per thread, shuffled across threads (fixed seed), then
 *            free a random held block and allocate its replacement
 * Memory: the bench's, 262144 frames grown by doubling until it covers
 * (held + 1) << order per thread plus a third.
 * Reports thread CPU ns per pair (sum of thread CPU time / pairs).
 *
 * usage: llf_direct [-r REPS] [-p PAIRS0] [-P PAIRS9] [-f ROWFILTER]
 *                   LABEL=PLUGIN.so ...
 * Contains no LLFree code: it includes llfree.h and links the libllc.a that
 * scripts/build-peers.sh builds from your checkout (it builds this driver
 * into build/peers/llf_direct). results/peers/README.md, "Adapter
 * overhead", has the commands and figures.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <framekit/allocator.h>
#include <llfree.h>

#define MAXT     2
#define MAXV     6
#define MEM_BASE ((uint64_t)1 << 32)
#define BATCH    64

enum { W_BULK, W_REPEAT, W_RANDOM };
static const char *wname[] = {"bulk", "repeat", "random"};

struct variant {
	const char *label;
	const struct fk_allocator_ops *ops; /* NULL: direct */
};

struct run {
	const struct variant *v;
	int work, threads;
	unsigned order;
	long held, pairs;
	size_t cores;
	/* direct */
	llfree_t *ll;
	llfree_meta_t meta;
	/* adapter */
	void *state;
	/* random pool: thread t's blocks at pool + t * held */
	uint64_t *pool;
	pthread_barrier_t bar;
	double cpu_ns[MAXT], wall_ns;
	int err;
};

static uint64_t now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

struct targ {
	struct run *r;
	int tid;
};

/* The pair loops, instantiated for direct calls and for plug-in ops. */
#define A_DIRECT(out)                                                                              \
	({                                                                                         \
		llfree_result_t res_ = llfree_get(r->ll, frame_id_none(), req);                    \
		(out) = res_.frame.value;                                                          \
		llfree_is_ok(res_) ? 0 : -1;                                                       \
	})
#define F_DIRECT(v) (llfree_is_ok(llfree_put(r->ll, frame_id(v), req)) ? 0 : -1)
#define A_OPS(out)  ops->alloc(st, nframes, r->order, -1, 0, &(out))
#define F_OPS(v)    ops->dealloc(st, (v), nframes)

#define BODY(ALLOC, FREE)                                                                          \
	do {                                                                                       \
		if (r->work != W_BULK)                                                             \
			for (long i = 0; i < r->held; i++)                                         \
				if (ALLOC(mine[i]))                                                \
					goto fail;                                                 \
		pthread_barrier_wait(&r->bar);                                                     \
		if (r->work == W_RANDOM && a->tid == 0) {                                          \
			uint64_t s = 0x9E3779B97F4A7C15ull;                                        \
			long n = r->threads * r->held;                                             \
			for (long i = n - 1; i > 0; i--) {                                         \
				long j = (long)(rnd(&s) % (uint64_t)(i + 1));                      \
				uint64_t x = r->pool[i];                                           \
				r->pool[i] = r->pool[j];                                           \
				r->pool[j] = x;                                                    \
			}                                                                          \
		}                                                                                  \
		pthread_barrier_wait(&r->bar);                                                     \
		for (int pass = 0; pass < 2; pass++) {                                             \
			long pairs = pass == 0 ? r->pairs / 10 : r->pairs;                         \
			if (pass == 1) {                                                           \
				pthread_barrier_wait(&r->bar);                                     \
				c0 = now(CLOCK_THREAD_CPUTIME_ID);                                 \
				if (a->tid == 0)                                                   \
					w0 = now(CLOCK_MONOTONIC);                                 \
			}                                                                          \
			if (r->work == W_REPEAT) {                                                 \
				for (long i = 0; i < pairs; i++) {                                 \
					uint64_t b;                                                \
					if (ALLOC(b) || FREE(b))                                   \
						goto fail;                                         \
				}                                                                  \
			} else if (r->work == W_RANDOM) {                                          \
				for (long i = 0; i < pairs; i++) {                                 \
					uint64_t k = rnd(&rng) % (uint64_t)r->held;                \
					if (FREE(mine[k]) || ALLOC(mine[k]))                       \
						goto fail;                                         \
				}                                                                  \
			} else {                                                                   \
				for (long done = 0; done < pairs; done += r->held) {               \
					for (long i = 0; i < r->held; i++)                         \
						if (ALLOC(mine[i]))                                \
							goto fail;                                 \
					for (long i = 0; i < r->held; i++)                         \
						if (FREE(mine[i]))                                 \
							goto fail;                                 \
				}                                                                  \
			}                                                                          \
		}                                                                                  \
		r->cpu_ns[a->tid] = (double)(now(CLOCK_THREAD_CPUTIME_ID) - c0);                   \
		pthread_barrier_wait(&r->bar);                                                     \
		if (a->tid == 0)                                                                   \
			r->wall_ns = (double)(now(CLOCK_MONOTONIC) - w0);                          \
		if (r->work != W_BULK)                                                             \
			for (long i = 0; i < r->held; i++)                                         \
				if (FREE(mine[i]))                                                 \
					goto fail;                                                 \
		return NULL;                                                                       \
	} while (0)

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *thread_direct(void *p)
{
	struct targ *a = p;
	struct run *r = a->r;
	pin(a->tid);
	int cpu = sched_getcpu();
	/* Built once per thread, as LLFree's benchmarks do. */
	llfree_request_t req =
	    llfree_simple_request(r->cores, (uint8_t)r->order, (size_t)(cpu < 0 ? 0 : cpu));
	uint64_t *mine = r->pool + (size_t)a->tid * (size_t)r->held;
	uint64_t rng = 0x2545F4914F6CDD1DULL * (uint64_t)(a->tid + 1), c0 = 0, w0 = 0;
	BODY(A_DIRECT, F_DIRECT);
fail:
	r->err = 1;
	fprintf(stderr, "direct: error\n");
	exit(1);
}

static void *thread_ops(void *p)
{
	struct targ *a = p;
	struct run *r = a->r;
	pin(a->tid);
	const struct fk_allocator_ops *ops = r->v->ops;
	void *st = r->state;
	uint64_t nframes = 1ull << r->order;
	uint64_t *mine = r->pool + (size_t)a->tid * (size_t)r->held;
	uint64_t rng = 0x2545F4914F6CDD1DULL * (uint64_t)(a->tid + 1), c0 = 0, w0 = 0;
	BODY(A_OPS, F_OPS);
fail:
	r->err = 1;
	fprintf(stderr, "%s: error\n", r->v->label);
	exit(1);
}

static uint64_t mem_frames(const struct run *r)
{
	uint64_t need = ((uint64_t)r->held + 1) << r->order;
	need *= (uint64_t)r->threads;
	need += need / 3;
	uint64_t f = 262144;
	while (f < need)
		f *= 2;
	return f;
}

static void run_one(struct run *r)
{
	uint64_t frames = mem_frames(r);
	int cpu_node[64] = {0};
	r->pool = calloc((size_t)r->threads * (size_t)r->held, sizeof(uint64_t));
	if (!r->v->ops) {
		llfree_classing_t c = llfree_classing_simple(r->cores);
		llfree_meta_size_t m = llfree_metadata_size(&c, frames);
		r->ll = aligned_alloc(64, (m.llfree + 63) & ~(size_t)63);
		r->meta.local = aligned_alloc(64, (m.local + 63) & ~(size_t)63);
		r->meta.trees = aligned_alloc(64, (m.trees + 63) & ~(size_t)63);
		r->meta.lower = aligned_alloc(4096, (m.lower + 4095) & ~(size_t)4095);
		if (!llfree_is_ok(llfree_init(r->ll, frames, LLFREE_INIT_FREE, r->meta, &c))) {
			fprintf(stderr, "llfree_init failed\n");
			exit(1);
		}
	} else {
		struct fk_alloc_params params;
		memset(&params, 0, sizeof(params));
		if (r->v->ops->create(&params, 1, cpu_node, (unsigned)r->cores, &r->state) ||
		    r->v->ops->add_free_memory(r->state, MEM_BASE, frames, 0)) {
			fprintf(stderr, "%s: create failed\n", r->v->label);
			exit(1);
		}
	}
	pthread_barrier_init(&r->bar, NULL, (unsigned)r->threads);
	pthread_t th[MAXT];
	struct targ a[MAXT];
	for (int t = 0; t < r->threads; t++) {
		a[t] = (struct targ){r, t};
		pthread_create(&th[t], NULL, r->v->ops ? thread_ops : thread_direct, &a[t]);
	}
	for (int t = 0; t < r->threads; t++)
		pthread_join(th[t], NULL);
	pthread_barrier_destroy(&r->bar);
	if (!r->v->ops) {
		free(r->ll);
		free(r->meta.local);
		free(r->meta.trees);
		free(r->meta.lower);
	} else {
		struct fk_alloc_stats s;
		r->v->ops->stats(r->state, -1, &s);
		if (s.free_frames != s.total_frames) {
			fprintf(stderr, "%s: leak: %llu of %llu free\n", r->v->label,
			        (unsigned long long)s.free_frames,
			        (unsigned long long)s.total_frames);
			exit(1);
		}
		r->v->ops->destroy(r->state);
	}
	free(r->pool);
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	int reps = 5;
	long pairs0 = 500000, pairs9 = 100000;
	const char *filter = NULL;
	int opt;
	while ((opt = getopt(argc, argv, "r:p:P:f:")) != -1) {
		switch (opt) {
		case 'r':
			reps = atoi(optarg);
			break;
		case 'p':
			pairs0 = atol(optarg);
			break;
		case 'P':
			pairs9 = atol(optarg);
			break;
		case 'f':
			filter = optarg;
			break;
		default:
			return 2;
		}
	}
	struct variant v[MAXV] = {{"direct", NULL}};
	int nv = 1;
	if (argc - optind > MAXV - 1) {
		fprintf(stderr, "llf_direct: at most %d plug-ins\n", MAXV - 1);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq)
			return 2;
		*eq = 0;
		/* RTLD_LOCAL: each plug-in keeps its own LLFree copy. */
		void *h = dlopen(eq + 1, RTLD_NOW | RTLD_LOCAL);
		const struct fk_allocator_plugin *pl =
		    h ? dlsym(h, FK_ALLOCATOR_PLUGIN_SYMBOL) : NULL;
		if (!pl) {
			fprintf(stderr, "%s: %s\n", eq + 1, dlerror());
			return 1;
		}
		v[nv++] = (struct variant){argv[i], pl->ops};
	}
	size_t cores = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
	static const unsigned orders[] = {0, 9};
	static const long helds[] = {8, 1024};
	static const int threads[] = {1, 2};
	enum { NROWS = 3 * 2 * 2 * 2 };
	static double res[NROWS][MAXV][64];
	static double wall[NROWS][MAXV][64];
	char names[NROWS][64];
	int active[NROWS];
	for (int rep = 0; rep < reps; rep++) {
		int row = 0;
		for (int w = 0; w < 3; w++)
			for (int o = 0; o < 2; o++)
				for (int h = 0; h < 2; h++)
					for (int t = 0; t < 2; t++, row++) {
						snprintf(names[row], sizeof(names[row]),
						         "%s/order:%u/held:%ld/threads:%d",
						         wname[w], orders[o], helds[h], threads[t]);
						active[row] = !filter || strstr(names[row], filter);
						if (!active[row])
							continue;
						/* Interleaved: the variants' order rotates per rep.
						 */
						for (int k = 0; k < nv; k++) {
							int vi = (k + rep) % nv;
							struct run r;
							memset(&r, 0, sizeof(r));
							r.v = &v[vi];
							r.work = w;
							r.order = orders[o];
							r.held = helds[h];
							r.threads = threads[t];
							r.cores = cores;
							r.pairs = r.order ? pairs9 : pairs0;
							run_one(&r);
							double cpu = 0;
							for (int i = 0; i < r.threads; i++)
								cpu += r.cpu_ns[i];
							long items = r.work == W_BULK
							                 ? (r.pairs + r.held - 1) /
							                       r.held * r.held
							                 : r.pairs;
							res[row][vi][rep] =
							    cpu / (double)(items * r.threads);
							wall[row][vi][rep] =
							    r.wall_ns / (double)items;
						}
					}
		fprintf(stderr, "rep %d done\n", rep + 1);
	}
	printf("# host: %d CPUs; %d reps; pairs/thread order 0: %ld, order 9: %ld\n", (int)cores,
	       reps, pairs0, pairs9);
	printf("# CPU ns per alloc+free pair: median [min-max] over reps\n");
	printf("%-34s", "row");
	for (int k = 0; k < nv; k++)
		printf(" | %-22s", v[k].label);
	printf("\n");
	for (int row = 0; row < NROWS; row++) {
		if (!active[row])
			continue;
		printf("%-34s", names[row]);
		for (int k = 0; k < nv; k++) {
			double s[64];
			memcpy(s, res[row][k], sizeof(double) * (size_t)reps);
			qsort(s, (size_t)reps, sizeof(double), cmpd);
			printf(" | %6.1f [%5.1f-%6.1f]", s[reps / 2], s[0], s[reps - 1]);
		}
		printf("\n");
	}
	printf("# paired difference (variant - direct), CPU ns per pair, median over reps\n");
	for (int row = 0; row < NROWS; row++) {
		if (!active[row])
			continue;
		printf("%-34s", names[row]);
		for (int k = 1; k < nv; k++) {
			double s[64];
			for (int i = 0; i < reps; i++)
				s[i] = res[row][k][i] - res[row][0][i];
			qsort(s, (size_t)reps, sizeof(double), cmpd);
			printf(" | %-8s %+6.1f", v[k].label, s[reps / 2]);
		}
		printf("\n");
	}
	(void)wall;
	return 0;
}
