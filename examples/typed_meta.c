/* SPDX-License-Identifier: MIT */
/*
 * Typed metadata: a frame type with its own 40-byte metadata, an init
 * callback that may refuse a frame, an on_drop hook, checked typed views,
 * type erasure and downcast, and a unique frame whose metadata is mutable.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <framekit/framekit.h>

#define CHECK(call)                                                                                \
	do {                                                                                       \
		int err_ = (call);                                                                 \
		if (err_ < 0) {                                                                    \
			fprintf(stderr, "%s: %s\n", #call, fk_strerror_name(err_));                \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)
#define EXPECT(cond)                                                                               \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond);        \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* What a page cache might keep per frame; at most FK_META_MAX_SIZE bytes. */
struct cache_page {
	uint64_t file_id;
	uint64_t frame_no; /* frame number within the region */
	uint32_t dirty;
};
_Static_assert(sizeof(struct cache_page) <= FK_META_MAX_SIZE, "metadata too large");

/* on_drop may run on any thread that drops a last reference. */
static atomic_uint_fast64_t dirty_written_back;

static void cache_page_drop(void *meta, uint64_t paddr, void *ctx)
{
	(void)paddr;
	(void)ctx;
	const struct cache_page *p = meta;
	if (p->dirty)
		atomic_fetch_add_explicit(&dirty_written_back, 1, memory_order_relaxed);
}

static const struct fk_meta_type cache_page_type = {
    .name = "cache_page", .size = sizeof(struct cache_page), .on_drop = cache_page_drop};
static const struct fk_meta_type other_type = {.name = "other", .size = 8};

struct fill_args {
	uint64_t file_id, region_base;
	unsigned calls, refuse_at; /* init fails on call number refuse_at (0 = never) */
};

/* Runs once per frame with exclusive access, before any frame of the
 * allocation is published; an error rolls back the whole allocation. */
static int cache_page_init(void *meta, uint64_t paddr, void *ctx)
{
	struct fill_args *a = ctx;
	if (++a->calls == a->refuse_at)
		return FK_EINVAL;
	struct cache_page *p = meta;
	p->file_id = a->file_id;
	p->frame_no = (paddr - a->region_base) / FK_PAGE_SIZE;
	return 0;
}

int main(void)
{
	struct fk_region_config reg = {.base = 1ull << 32, .nframes = 4096, .node = 0};
	struct fk_mem_config cfg = {
	    .regions = &reg, .nr_regions = 1, .nr_nodes = 1, .raw_tracking = 1};
	fk_mem *mem;
	CHECK(fk_mem_create(&cfg, &mem));
	CHECK(fk_thread_enter(mem));

	struct fill_args args = {.file_id = 42, .region_base = reg.base};
	fk_segment seg;
	CHECK(fk_alloc_segment(mem, 8, &cache_page_type, cache_page_init, &args, 0, &seg));
	uint64_t first = (fk_segment_start_paddr(&seg) - reg.base) / FK_PAGE_SIZE;
	for (uint64_t i = 0; i < fk_segment_nframes(&seg); i++) {
		const struct cache_page *p = fk_segment_meta(&seg, i);
		EXPECT(p->file_id == 42 && p->frame_no == first + i);
	}

	/* An init that refuses the third frame: the call fails with init's
	 * error and every frame goes back to the allocator. */
	struct fk_alloc_stats before, after;
	CHECK(fk_mem_alloc_stats(mem, -1, &before));
	fk_segment bad;
	args.calls = 0;
	args.refuse_at = 3;
	EXPECT(fk_alloc_segment(mem, 4, &cache_page_type, cache_page_init, &args, 0, &bad) ==
	       FK_EINVAL);
	CHECK(fk_mem_alloc_stats(mem, -1, &after));
	EXPECT(after.free_frames == before.free_frames);

	/* Checked typed views of one frame. */
	fk_frame f;
	EXPECT(fk_segment_next(mem, &seg, &f) == 1);
	const void *view;
	CHECK(fk_frame_meta_as(&f, &cache_page_type, &view));
	EXPECT(fk_frame_meta_as(&f, &other_type, &view) == FK_ETYPE);

	/* Exclusive ownership makes the metadata writable; back to shared after. */
	fk_unique_frame uf;
	CHECK(fk_frame_try_into_unique(mem, &f, &uf));
	struct cache_page *w = fk_unique_frame_meta(&uf);
	w->dirty = 1;
	CHECK(fk_unique_frame_into_shared(mem, &uf, &f));
	CHECK(fk_frame_drop(mem, &f)); /* on_drop sees dirty == 1 */
	EXPECT(atomic_load(&dirty_written_back) == 1);

	/* Erase the type (Segment<dyn AnyFrameMeta>), then downcast back. */
	fk_segment_erase(&seg);
	EXPECT(fk_segment_downcast(mem, &seg, &other_type) == FK_ETYPE);
	CHECK(fk_segment_downcast(mem, &seg, &cache_page_type));
	CHECK(fk_segment_drop(mem, &seg));

	fk_thread_leave(mem);
	CHECK(fk_mem_destroy(mem, NULL));
	printf("typed_meta: ok, %llu dirty page(s) written back\n",
	       (unsigned long long)atomic_load(&dirty_written_back));
	return 0;
}
