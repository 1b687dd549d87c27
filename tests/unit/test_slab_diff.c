/*
 * test_slab_diff.c — the slab allocator against a trivial reference model,
 * on seeded random operation sequences (SQLite-style differential test).
 *
 * The model is a plain array of live objects sorted by address: address,
 * cache (-1 for a kmalloc_large() block), size requested, and the usable
 * size the engine reported (ksize, trusted only as an upper bound: it must
 * cover the request).  Each sequence mixes kmalloc of random sizes (mostly
 * small, sometimes up to 64 KiB, sometimes 0) with random GFP types, kfree,
 * kmem_cache_create of random user caches (sizes 8..6000, aligns, SLAB_
 * HWCACHE_ALIGN, SLAB_POISON, SLAB_RECLAIM_ACCOUNT, SLAB_TYPESAFE_BY_RCU),
 * kmem_cache_alloc/free, kmem_cache_shrink (of one cache, and of all every
 * 500 steps), kmem_cache_destroy (refused with -MM_EBUSY and the digest
 * unchanged while objects live), on random cpus, with phases that run the
 * machine out of memory, and invalid frees (double, interior, foreign,
 * wrong cache) that must fail with -MM_EINVAL and the digest unchanged.
 *
 * After every step it proves: kmalloc chose the cache of the size class
 * and GFP type; no two live objects' [addr, addr + ksize) overlap; every
 * object lies in the direct map, aligned to its cache's align (kmalloc:
 * the largest power of two dividing the bucket); a shrink gave back
 * exactly the pages it reports and left no empty slab; the
 * engine's live objects per cache (the sum of slab inuse) equal the model's;
 * the node NR_SLAB_* pages equal the slab records' pages plus the model's
 * large blocks; slab pages + free pages (buddy and pcp) + the pages
 * allocated at boot equal the managed pages, so nothing leaks; and the
 * invariant checker is clean.  Machines are small (8-16 MiB, at most 4096
 * frames): x86_64 with one and two nodes, i386, 2 to 4 cpus.
 */
#include "tests/unit/util.h"

#include <stdlib.h>
#include <time.h>

#define MAX_LIVE 8192
#define MAX_UCACHES 24
#define FREED_RING 64

struct obj {
	uint64_t addr, size, ksize;
	int cache;              /* -1: kmalloc_large() */
	unsigned order;         /* large blocks: the buddy order */
};

struct ucache {
	int id;
	uint32_t size, align, flags;
};

struct run {
	struct mm_machine *m;
	uint64_t rng;
	struct obj *live;       /* sorted by addr */
	int nlive;
	struct ucache uc[MAX_UCACHES];
	int nuc, names;
	uint32_t count[MM_SLAB_MAX_CACHES];
	uint64_t large_pages;
	uint64_t freed[FREED_RING];
	int nfreed;
	int64_t other_pages;    /* managed - slab - free at boot */
	uint64_t direct_end;    /* end of the direct map */
	bool pressure;          /* no frees: run into ENOMEM */
	long phase_start, phase_fails;
	long ops;               /* engine operations issued by the ops */
	long ok_alloc, fail_alloc, ok_free, bad_free, created, destroyed, busy,
	     shrunk;
};

static uint64_t rnd(struct run *r)
{
	/* xorshift64* */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545f4914f6cdd1dull;
}

static uint64_t below(struct run *r, uint64_t n)
{
	return rnd(r) % n;
}

/* ---- the model ---------------------------------------------------------- */

/* First index whose address is >= addr. */
static int lower_bound(const struct run *r, uint64_t addr)
{
	int lo = 0, hi = r->nlive;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (r->live[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool is_live_start(const struct run *r, uint64_t addr)
{
	int i = lower_bound(r, addr);
	return i < r->nlive && r->live[i].addr == addr;
}

/* Adds an object after checking it overlaps nothing live. */
static void model_add(struct run *r, const struct obj *o)
{
	int i = lower_bound(r, o->addr);
	if (i > 0 && r->live[i - 1].addr + r->live[i - 1].ksize > o->addr)
		th_fail(__FILE__, __LINE__, "object %#" PRIx64 "+%" PRIu64
			" overlaps live %#" PRIx64 "+%" PRIu64, o->addr, o->ksize,
			r->live[i - 1].addr, r->live[i - 1].ksize);
	if (i < r->nlive && o->addr + o->ksize > r->live[i].addr)
		th_fail(__FILE__, __LINE__, "object %#" PRIx64 "+%" PRIu64
			" overlaps live %#" PRIx64 "+%" PRIu64, o->addr, o->ksize,
			r->live[i].addr, r->live[i].ksize);
	ASSERT_LT(r->nlive, MAX_LIVE);
	memmove(&r->live[i + 1], &r->live[i],
		(size_t)(r->nlive - i) * sizeof(r->live[0]));
	r->live[i] = *o;
	r->nlive++;
	if (o->cache >= 0)
		r->count[o->cache]++;
	else
		r->large_pages += 1u << o->order;
}

static void model_del(struct run *r, int i)
{
	struct obj o = r->live[i];
	memmove(&r->live[i], &r->live[i + 1],
		(size_t)(r->nlive - i - 1) * sizeof(r->live[0]));
	r->nlive--;
	if (o.cache >= 0)
		r->count[o.cache]--;
	else
		r->large_pages -= 1u << o.order;
	r->freed[r->nfreed++ % FREED_RING] = o.addr;
}

static bool is_kmalloc_cache(const struct mm_machine *m, int id)
{
	for (int t = 0; t < MM_NR_KMALLOC_TYPES; t++)
		for (int i = 0; i <= MM_KMALLOC_SHIFT_HIGH; i++)
			if (m->kmalloc_caches[t][i] == id)
				return true;
	return false;
}

/* A random live object that kfree() or kmem_cache_free() owns; -1 if
 * none turned up. */
static int pick_live(struct run *r, bool kmalloced)
{
	for (int tries = 0; tries < 16 && r->nlive; tries++) {
		int i = (int)below(r, (uint64_t)r->nlive);
		const struct obj *o = &r->live[i];
		if ((o->cache < 0 || is_kmalloc_cache(r->m, o->cache)) == kmalloced)
			return i;
	}
	return -1;
}

/* ---- checks after every step ------------------------------------------- */

static void check_object(struct run *r, const struct obj *o, uint64_t align)
{
	uint64_t off = mm_page_offset(r->m);
	if (o->addr < off || o->addr + o->ksize > r->direct_end)
		th_fail(__FILE__, __LINE__, "object %#" PRIx64 "+%" PRIu64
			" outside the direct map", o->addr, o->ksize);
	if (o->ksize < o->size)
		th_fail(__FILE__, __LINE__, "ksize %" PRIu64 " below the %" PRIu64
			" bytes asked", o->ksize, o->size);
	if (align && o->addr % align)
		th_fail(__FILE__, __LINE__, "object %#" PRIx64 " not aligned to %"
			PRIu64, o->addr, align);
}

static int64_t free_pages(const struct mm_machine *m)
{
	int64_t f = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &m->nodes[n].zones[z];
			f += zone->vm_stat[MM_NR_FREE_PAGES];
			if (!mm_zone_populated(zone))
				continue;
			for (int c = 0; c < m->cfg.cpus; c++)
				f += zone->pcp[c].count;
		}
	return f;
}

static int64_t managed_pages(const struct mm_machine *m)
{
	int64_t s = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			s += m->nodes[n].zones[z].managed;
	return s;
}

static int64_t slab_stat_pages(const struct mm_machine *m)
{
	int64_t s = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		s += m->nodes[n].vm_stat[MM_NR_SLAB_RECLAIMABLE] +
		     m->nodes[n].vm_stat[MM_NR_SLAB_UNRECLAIMABLE];
	return s;
}

static void check_state(struct run *r, long step)
{
	const struct mm_machine *m = r->m;
	static uint32_t inuse[MM_SLAB_MAX_CACHES];
	int64_t slab_pages = 0;

	memset(inuse, 0, sizeof(inuse));
	for (uint32_t id = 0; id < m->nr_slabs; id++) {
		const struct mm_slab *sl = &m->slabs[id];
		if (sl->pfn == MM_NIL)
			continue;
		ASSERT_LT(sl->cache, MM_SLAB_MAX_CACHES);
		inuse[sl->cache] += sl->inuse;
		slab_pages += 1 << sl->order;
	}
	for (int c = 0; c < MM_SLAB_MAX_CACHES; c++)
		if (inuse[c] != r->count[c])
			th_fail(__FILE__, __LINE__, "step %ld: cache %d (%s) has %u "
				"objects in use, the model %u", step, c,
				m->caches[c] ? m->caches[c]->name : "none",
				inuse[c], r->count[c]);
	int64_t stat = slab_stat_pages(m);
	if (stat != slab_pages + (int64_t)r->large_pages)
		th_fail(__FILE__, __LINE__, "step %ld: NR_SLAB_* %" PRId64 " pages, "
			"slabs hold %" PRId64 " and large kmallocs %" PRIu64, step,
			stat, slab_pages, r->large_pages);
	int64_t other = managed_pages(m) - stat - free_pages(m);
	if (other != r->other_pages)
		th_fail(__FILE__, __LINE__, "step %ld: managed - slab - free = %"
			PRId64 " pages, %" PRId64 " at boot (a leak)", step, other,
			r->other_pages);
	tu_check(m, "after a step");
}

/* ---- operations ------------------------------------------------------------- */

static const uint32_t gfps[] = {
	MM_GFP_KERNEL, MM_GFP_ATOMIC, MM_GFP_KERNEL | MM___GFP_RECLAIMABLE,
	MM_GFP_DMA, MM_GFP_KERNEL | MM___GFP_ACCOUNT,
};
static const char *const type_prefix[] = {
	"kmalloc-", "kmalloc-", "kmalloc-rcl-", "dma-kmalloc-", "kmalloc-cg-",
};

static uint64_t kmalloc_bucket(uint64_t size)
{
	static const uint32_t small[] = {8, 16, 32, 64, 96, 128, 192};
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		if (size <= small[i])
			return small[i];
	uint64_t b = 256;
	while (b < size)
		b <<= 1;
	return b;
}

static unsigned get_order(uint64_t size)
{
	unsigned o = 0;
	while (((uint64_t)4096 << o) < size)
		o++;
	return o;
}

static int random_cpu(struct run *r)
{
	return (int)below(r, (uint64_t)r->m->cfg.cpus);
}

static void op_kmalloc(struct run *r)
{
	/* Mostly small; under pressure, large blocks fill memory fast. */
	uint64_t p = below(r, 100), size;
	if (r->pressure)
		p = p < 50 ? 99 : p;
	if (p < 3)
		size = 0;
	else if (p < 70)
		size = 1 + below(r, 256);
	else if (p < 93)
		size = 257 + below(r, 8192 - 256);
	else
		size = 8193 + below(r, 65536 - 8192);
	int g = (int)below(r, sizeof(gfps) / sizeof(gfps[0]));
	uint64_t addr = 0;
	int cache = -2;
	int rc = mm_kmalloc(r->m, size, gfps[g], random_cpu(r), &addr, &cache);
	r->ops++;
	if (rc == -MM_ENOMEM && size) {
		r->fail_alloc++;
		r->phase_fails++;
		return;
	}
	ASSERT_EQ(rc, 0);
	if (!size) {
		ASSERT_EQ_HEX(addr, MM_ZERO_SIZE_PTR);
		ASSERT_EQ(cache, -1);
		return;
	}
	r->ok_alloc++;
	struct obj o = {addr, size, 0, cache, 0};
	int64_t ks = mm_ksize(r->m, addr);
	ASSERT_GT(ks, 0);
	o.ksize = (uint64_t)ks;
	if (size > 8192) {
		ASSERT_EQ(cache, -1);
		o.order = get_order(size);
		ASSERT_EQ_U64(o.ksize, (uint64_t)4096 << o.order);
		check_object(r, &o, (uint64_t)4096 << o.order);
	} else {
		uint64_t b = kmalloc_bucket(size);
		ASSERT_GE(cache, 0);
		const char *name = r->m->caches[cache]->name;
		const char *pre = type_prefix[g];
		ASSERT(strncmp(name, pre, strlen(pre)) == 0);
		char want[48];
		if (b >= 1024)
			snprintf(want, sizeof(want), "%s%uk", pre, (unsigned)(b >> 10));
		else
			snprintf(want, sizeof(want), "%s%u", pre, (unsigned)b);
		ASSERT_EQ_STR(name, want);
		ASSERT(o.ksize <= b);
		check_object(r, &o, b & -b);
	}
	model_add(r, &o);
}

static void op_kfree(struct run *r)
{
	int i = pick_live(r, true);
	if (i < 0)
		return;
	ASSERT_EQ(mm_kfree(r->m, r->live[i].addr, random_cpu(r)), 0);
	model_del(r, i);
	r->ok_free++;
	r->ops++;
}

static void op_cache_create(struct run *r)
{
	static const uint32_t aligns[] = {0, 0, 0, 8, 16, 32, 64, 128, 256};
	if (r->nuc == MAX_UCACHES)
		return;
	char name[32];
	snprintf(name, sizeof(name), "user%d", r->names++);
	uint32_t size = below(r, 4) ? 8 + (uint32_t)below(r, 600)
				    : 8 + (uint32_t)below(r, 5993);
	uint32_t align = aligns[below(r, sizeof(aligns) / sizeof(aligns[0]))];
	uint32_t flags = 0;
	if (below(r, 2))
		flags |= MM_SLAB_HWCACHE_ALIGN;
	if (below(r, 6) == 0)
		flags |= MM_SLAB_POISON;
	if (below(r, 6) == 0)
		flags |= MM_SLAB_RECLAIM_ACCOUNT;
	if (below(r, 12) == 0)
		flags |= MM_SLAB_TYPESAFE_BY_RCU;
	int id = mm_kmem_cache_create(r->m, name, size, align, flags);
	ASSERT_GE(id, 0);
	r->ops += 2; /* and the duplicate below */
	const struct mm_kmem_cache *s = r->m->caches[id];
	/* The stride covers the object and keeps the alignment asked. */
	ASSERT_EQ(s->object_size, size);
	ASSERT_GE(s->size, size);
	ASSERT_EQ(s->align & (s->align - 1), 0);
	ASSERT_GE(s->align, 8);
	ASSERT_GE(s->align, align);
	ASSERT_EQ(s->size % s->align, 0);
	ASSERT_GE(s->objects, 1);
	r->uc[r->nuc++] = (struct ucache){id, size, align, flags};
	r->created++;
	/* The name is taken now. */
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(r->m, d0);
	ASSERT_EQ(mm_kmem_cache_create(r->m, name, 64, 0, 0), -MM_EEXIST);
	mm_digest(r->m, d1);
	ASSERT_EQ_STR(d1, d0);
}

static void op_cache_alloc(struct run *r)
{
	if (!r->nuc)
		return;
	const struct ucache *u = &r->uc[below(r, (uint64_t)r->nuc)];
	const struct mm_kmem_cache *s = r->m->caches[u->id];
	uint64_t addr;
	int rc = mm_kmem_cache_alloc(r->m, u->id,
				     gfps[below(r, sizeof(gfps) / sizeof(gfps[0]))],
				     random_cpu(r), &addr);
	r->ops++;
	if (rc == -MM_ENOMEM) {
		r->fail_alloc++;
		r->phase_fails++;
		return;
	}
	ASSERT_EQ(rc, 0);
	r->ok_alloc++;
	struct obj o = {addr, u->size, 0, u->id, 0};
	int64_t ks = mm_ksize(r->m, addr);
	ASSERT_GT(ks, 0);
	o.ksize = (uint64_t)ks;
	ASSERT(o.ksize <= s->size);
	check_object(r, &o, s->align);
	if (u->align)
		ASSERT_EQ_U64(addr % u->align, 0);
	model_add(r, &o);
}

static void op_cache_free(struct run *r)
{
	int i = pick_live(r, false);
	if (i < 0)
		return;
	ASSERT_EQ(mm_kmem_cache_free(r->m, r->live[i].cache, r->live[i].addr,
				     random_cpu(r)), 0);
	model_del(r, i);
	r->ok_free++;
	r->ops++;
}

static int cache_pages(const struct mm_machine *m, int cache)
{
	int pages = 0;
	for (uint32_t id = 0; id < m->nr_slabs; id++)
		if (m->slabs[id].pfn != MM_NIL && m->slabs[id].cache == (uint32_t)cache)
			pages += 1 << m->slabs[id].order;
	return pages;
}

static void op_shrink(struct run *r)
{
	int id;
	if (r->nuc && below(r, 2))
		id = r->uc[below(r, (uint64_t)r->nuc)].id;
	else
		id = r->m->kmalloc_caches[below(r, MM_NR_KMALLOC_TYPES)]
					 [1 + below(r, MM_KMALLOC_SHIFT_HIGH)];
	int before = cache_pages(r->m, id);
	int freed = mm_kmem_cache_shrink(r->m, id);
	r->ops++;
	ASSERT_GE(freed, 0);
	ASSERT_EQ(freed, before - cache_pages(r->m, id));
	/* No empty slab survives a shrink, and no cpu holds one. */
	const struct mm_kmem_cache *s = r->m->caches[id];
	for (int c = 0; c < r->m->cfg.cpus; c++) {
		ASSERT_EQ(s->cpu[c].slab, MM_NIL);
		ASSERT_EQ(s->cpu[c].partial.count, 0);
	}
	for (uint32_t sid = 0; sid < r->m->nr_slabs; sid++)
		if (r->m->slabs[sid].pfn != MM_NIL && r->m->slabs[sid].cache == (uint32_t)id)
			ASSERT_GT(r->m->slabs[sid].inuse, 0);
	r->shrunk++;
}

static void op_destroy(struct run *r)
{
	if (!r->nuc)
		return;
	int k = (int)below(r, (uint64_t)r->nuc);
	int id = r->uc[k].id;
	if (r->count[id] && below(r, 2)) {
		/* Empty the cache first (its objects, newest last, freed
		 * from random cpus), so destroys succeed too. */
		for (int i = r->nlive - 1; i >= 0; i--)
			if (r->live[i].cache == id) {
				ASSERT_EQ(mm_kmem_cache_free(r->m, id, r->live[i].addr,
							     random_cpu(r)), 0);
				model_del(r, i);
				r->ok_free++;
				r->ops++;
			}
	}
	r->ops++;
	if (r->count[id]) {
		char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
		mm_digest(r->m, d0);
		ASSERT_EQ(mm_kmem_cache_destroy(r->m, id), -MM_EBUSY);
		mm_digest(r->m, d1);
		ASSERT_EQ_STR(d1, d0);
		r->busy++;
		return;
	}
	ASSERT_EQ(mm_kmem_cache_destroy(r->m, id), 0);
	ASSERT(r->m->caches[id] == NULL);
	ASSERT_EQ(cache_pages(r->m, id), 0);
	r->uc[k] = r->uc[--r->nuc];
	r->destroyed++;
}

/* Invalid frees: each must fail with -MM_EINVAL and change nothing. */
static void op_bad_free(struct run *r)
{
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	uint64_t addr = 0;
	int kind = (int)below(r, 5), cache = -1, rc;

	mm_digest(r->m, d0);
	if (kind == 0 && r->nfreed) {
		/* double free (unless the address was handed out again) */
		int n = r->nfreed < FREED_RING ? r->nfreed : FREED_RING;
		addr = r->freed[below(r, (uint64_t)n)];
		if (is_live_start(r, addr))
			return;
		rc = mm_kfree(r->m, addr, random_cpu(r));
		if (r->nuc) {
			ASSERT_EQ(rc, -MM_EINVAL);
			cache = r->uc[below(r, (uint64_t)r->nuc)].id;
			rc = mm_kmem_cache_free(r->m, cache, addr, random_cpu(r));
		}
	} else if (kind == 1 && r->nlive) {
		/* a pointer inside an object */
		const struct obj *o = &r->live[below(r, (uint64_t)r->nlive)];
		if (o->ksize < 2)
			return;
		addr = o->addr + 1 + below(r, o->ksize - 1);
		rc = o->cache >= 0 && !is_kmalloc_cache(r->m, o->cache)
			     ? mm_kmem_cache_free(r->m, o->cache, addr, random_cpu(r))
			     : mm_kfree(r->m, addr, random_cpu(r));
	} else if (kind == 2) {
		/* a user-cache object given to kfree() */
		int i = pick_live(r, false);
		if (i < 0)
			return;
		rc = mm_kfree(r->m, r->live[i].addr, random_cpu(r));
	} else if (kind == 3 && r->nuc) {
		/* the wrong cache */
		int i = pick_live(r, true);
		if (i < 0 || r->live[i].cache < 0)
			return;
		rc = mm_kmem_cache_free(r->m, r->uc[below(r, (uint64_t)r->nuc)].id,
					r->live[i].addr, random_cpu(r));
	} else if (kind == 4) {
		/* a random page of the direct map that is no object start */
		addr = mm_page_offset(r->m) +
		       below(r, (r->direct_end - mm_page_offset(r->m)) >> 12) * 4096;
		if (is_live_start(r, addr))
			return;
		rc = mm_kfree(r->m, addr, random_cpu(r));
	} else {
		return;
	}
	ASSERT_EQ(rc, -MM_EINVAL);
	mm_digest(r->m, d1);
	ASSERT_EQ_STR(d1, d0);
	r->bad_free++;
	r->ops++;
}

/* ---- the driver ---------------------------------------------------------- */

struct setup {
	const char *what;
	enum mm_arch arch;
	uint64_t memory;
	int nodes, cpus;
};

static void run_seed(const struct setup *su, uint64_t seed, long ops)
{
	struct mm_config c = tu_config(su->arch, su->memory);
	c.nodes = su->nodes;
	c.cpus = su->cpus;
	c.seed = seed;
	struct run *r = calloc(1, sizeof(*r));
	ASSERT(r != NULL);
	r->live = calloc(MAX_LIVE, sizeof(r->live[0]));
	ASSERT(r->live != NULL);
	r->m = tu_machine(&c);
	ASSERT_LE(r->m->nr_pfns, 4096);
	r->rng = seed * 0x9e3779b97f4a7c15ull + 1;
	r->direct_end = mm_pfn_to_virt(r->m, r->m->nr_pfns);
	r->other_pages = managed_pages(r->m) - slab_stat_pages(r->m) -
			 free_pages(r->m);
	check_state(r, 0);

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long step = 0;
	while (r->ops < ops) {
		step++;
		/* Every 3000 steps a phase without frees runs the machine
		 * into -MM_ENOMEM (until 25 allocations failed). */
		if (!r->pressure && step % 3000 == 0) {
			r->pressure = true;
			r->phase_start = step;
			r->phase_fails = 0;
		} else if (r->pressure && (r->phase_fails >= 25 ||
					   step - r->phase_start > 2000)) {
			r->pressure = false;
		}
		/* Now and then every cache gives its empty slabs back. */
		if (step % 500 == 0)
			for (int id = 0; id < MM_SLAB_MAX_CACHES; id++)
				if (r->m->caches[id])
					ASSERT_GE(mm_kmem_cache_shrink(r->m, id), 0);
		/* Allocations and frees balance near 200 live objects. */
		uint64_t alloc_w = 100, free_w = r->pressure ? 0
					 : 100 * (uint64_t)r->nlive / 200;
		uint64_t p = below(r, alloc_w + free_w + 12);
		if (p < alloc_w)
			below(r, 3) ? op_kmalloc(r) : op_cache_alloc(r);
		else if (p < alloc_w + free_w)
			below(r, 3) ? op_kfree(r) : op_cache_free(r);
		else if (p < alloc_w + free_w + 3)
			op_cache_create(r);
		else if (p < alloc_w + free_w + 6)
			op_shrink(r);
		else if (p < alloc_w + free_w + 8)
			op_destroy(r);
		else
			op_bad_free(r);
		check_state(r, step);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* Free everything, destroy the user caches: all pages come back. */
	while (r->nlive) {
		int i = r->nlive - 1;
		const struct obj *o = &r->live[i];
		if (o->cache < 0 || is_kmalloc_cache(r->m, o->cache))
			ASSERT_EQ(mm_kfree(r->m, o->addr, 0), 0);
		else
			ASSERT_EQ(mm_kmem_cache_free(r->m, o->cache, o->addr, 0), 0);
		model_del(r, i);
	}
	while (r->nuc)
		ASSERT_EQ(mm_kmem_cache_destroy(r->m, r->uc[--r->nuc].id), 0);
	for (int id = 0; id < MM_SLAB_MAX_CACHES; id++)
		if (r->m->caches[id])
			ASSERT_GE(mm_kmem_cache_shrink(r->m, id), 0);
	ASSERT_EQ(slab_stat_pages(r->m), 0);
	check_state(r, step + 1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) +
		      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("  %-20s seed %" PRIu64 ": %ld ops in %ld steps: allocations %ld "
	       "ok / %ld ENOMEM, frees %ld, invalid frees %ld, caches %ld "
	       "created / %ld destroyed / %ld busy, %ld shrinks (%.1f s)\n",
	       su->what, seed, r->ops, step, r->ok_alloc, r->fail_alloc,
	       r->ok_free, r->bad_free, r->created, r->destroyed, r->busy,
	       r->shrunk, secs);
	fflush(stdout);
	ASSERT_GT(r->ok_alloc, ops / 4);
	ASSERT_GT(r->fail_alloc, 0);
	ASSERT_GT(r->bad_free, 0);
	ASSERT_GT(r->destroyed, 0);
	mm_machine_destroy(r->m);
	free(r->live);
	free(r);
}

static const struct setup setups[] = {
	{"x86_64 16M 1 node", MM_ARCH_X86_64, 16ull << 20, 1, 2},
	{"x86_64 16M 2 nodes", MM_ARCH_X86_64, 16ull << 20, 2, 4},
	{"i386 16M", MM_ARCH_I386, 16ull << 20, 1, 2},
	{"x86_64 8M 3 cpus", MM_ARCH_X86_64, 8ull << 20, 1, 3},
};

/* One test per machine so each gets its own timeout: 4 x 25,000 engine
 * operations (th_scale()d), each step followed by the full checks. */
TEST(slab_diff_x86_64_one_node)
{
	run_seed(&setups[0], 1, th_scale(25000));
}

TEST(slab_diff_x86_64_two_nodes)
{
	run_seed(&setups[1], 2, th_scale(25000));
}

TEST(slab_diff_i386)
{
	run_seed(&setups[2], 3, th_scale(25000));
}

TEST(slab_diff_x86_64_tiny_three_cpus)
{
	run_seed(&setups[3], 4, th_scale(25000));
}
