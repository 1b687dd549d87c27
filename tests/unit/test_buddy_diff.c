/*
 * test_buddy_diff.c — the page allocator (buddy + per-CPU lists) against a
 * naive reference, on seeded random alloc/free sequences (SQLite-style
 * differential testing).
 *
 * The reference is one byte per frame — free, allocated, reserved, or taken
 * by the engine at boot — and a brute-force reading of Linux's allocation
 * rules.  For every operation:
 *   - a returned block is aligned to its order, was entirely free in the
 *     reference, lies in one zone of a type the GFP mask allows (gfp_zone()
 *     for the arch, any node), and that zone passed Linux's watermark test
 *     before the call (fast path: low mark; slow path: min mark with
 *     gfp_to_alloc_flags()' reserves);
 *   - -ENOMEM is allowed only when no allowed zone passes the slow-path
 *     watermark test with every free frame counted (or, for masks that
 *     cannot drain the per-CPU lists, every free frame not on one) AND
 *     holds a naturally aligned free run of 2^order frames in the bitmap;
 *   - an allocation that cannot drain never takes a page from another
 *     cpu's per-CPU list, nor from any per-CPU list for order > 0;
 *   - frees of live blocks succeed; deliberately bad frees (double, wrong
 *     order, tail, reserved, out of range, bad cpu) return -EINVAL and leave
 *     the state digest unchanged;
 *   - after EVERY step the invariant checker is clean and each zone's free
 *     frames in the reference equal NR_FREE_PAGES plus its per-CPU pages.
 * At the end everything is freed and /proc/buddyinfo equals the boot one
 * (unless HighAtomic pageblocks, which merge with no other type, remain).
 *
 * Watermarks, boost, lowmem_reserve and nr_free_highatomic are read from
 * the engine (their formulas are cross-checked elsewhere), and so are the
 * pageblock types and per-CPU list membership the HighAtomic and no-drain
 * refinements need; the flag logic, gfp_zone(), the layout of zones and
 * nodes and the frame states are the reference's own.
 *
 * Five shapes of 21,000 operations each (x MMSIM_TEST_SCALE): x86_64
 * 16M, i386 12M, x86_64 16M on 2 nodes, x86_64 8M with a wide watermark
 * gap, and x86_64 24M on 2 nodes (DMA + DMA32).
 */
#include "engine/mm.h"
#include "tests/unit/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1ull << 20)

/* Frame states: free, allocated by the test, reserved (PG_reserved), or
 * taken at boot by the engine itself (page tables, slabs). */
enum { R_FREE, R_ALLOC, R_RESV, R_BOOT };
enum { X_DMA, X_DMA32, X_NORMAL, X_MOVABLE };
enum { I_DMA, I_NORMAL, I_HIGHMEM, I_MOVABLE };

/* ALLOC_* of mm/internal.h, the reference's own copy. */
enum {
	AF_WMARK_MIN = 0, AF_WMARK_LOW = 1, AF_WMARK_MASK = 3, AF_OOM = 0x08,
	AF_NON_BLOCK = 0x10, AF_MIN_RESERVE = 0x20, AF_CPUSET = 0x40,
	AF_HIGHATOMIC = 0x200, AF_KSWAPD = 0x800,
};
#define AF_RESERVES (AF_NON_BLOCK | AF_MIN_RESERVE | AF_HIGHATOMIC | AF_OOM)

static const uint32_t diff_gfps[] = {
	MM_GFP_KERNEL,
	MM_GFP_ATOMIC,
	MM_GFP_NOWAIT,
	MM_GFP_USER,
	MM_GFP_DMA,
	MM_GFP_DMA32,
	MM_GFP_HIGHUSER,
	MM_GFP_HIGHUSER_MOVABLE,
	MM_GFP_KERNEL | MM___GFP_RECLAIMABLE,
	MM_GFP_ATOMIC | MM___GFP_NOMEMALLOC,
	MM_GFP_KERNEL | MM_GFP_DMA,
	MM_GFP_ATOMIC | MM_GFP_DMA32,
	MM_GFP_NOWAIT | MM___GFP_MOVABLE,
	MM_GFP_KERNEL | MM___GFP_NORETRY | MM___GFP_NOWARN,
};
#define NR_GFPS (sizeof(diff_gfps) / sizeof(diff_gfps[0]))

struct shape {
	const char *name;
	enum mm_arch arch;
	uint64_t mib;
	int nodes, cpus;
	int wsf;          /* watermark_scale_factor */
	uint64_t seed;
};

struct live {
	uint32_t pfn;
	unsigned order;
};

struct ref {
	struct mm_machine *m;
	const struct shape *sh;
	uint32_t nr;              /* frames */
	uint8_t *st;              /* R_* per pfn */
	uint8_t *zid;             /* node * MM_MAX_ZONES + zone type per pfn */
	uint8_t *pcp_cpu;         /* per pfn: 1 + cpu of its pcp list, or 0 */
	int64_t zfree[MM_MAX_NODES * MM_MAX_ZONES];
	struct live *live;
	size_t nlive, cap;
	uint64_t rng;
	long ops, ok, enomem, frees, bad, drains;
	long ok_order[MM_NR_ORDERS], fail_order[MM_NR_ORDERS];
};

static uint64_t rnd(struct ref *r) /* splitmix64 */
{
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(struct ref *r, uint32_t n)
{
	return (uint32_t)(rnd(r) % n);
}

static struct mm_zone *zone_at(const struct ref *r, unsigned id)
{
	return &r->m->nodes[id / MM_MAX_ZONES].zones[id % MM_MAX_ZONES];
}

static unsigned zone_id(const struct mm_zone *z)
{
	return (unsigned)z->node * MM_MAX_ZONES + z->idx;
}

static int64_t zone_pcp(const struct ref *r, const struct mm_zone *z)
{
	int64_t n = 0;

	for (int c = 0; c < r->m->cfg.cpus; c++)
		n += z->pcp[c].count;
	return n;
}

/* ---- the reference's rules ------------------------------------------------ */

/* gfp_zone() per arch (include/linux/gfp.h's table). */
static int gfp_highest_zone(enum mm_arch arch, uint32_t gfp)
{
	bool i386 = arch == MM_ARCH_I386;

	if (gfp & MM___GFP_DMA)
		return X_DMA;
	if (gfp & MM___GFP_DMA32)
		return i386 ? I_NORMAL : X_DMA32;
	if ((gfp & MM___GFP_HIGHMEM) && (gfp & MM___GFP_MOVABLE))
		return i386 ? I_MOVABLE : X_MOVABLE;
	if (gfp & MM___GFP_HIGHMEM)
		return i386 ? I_HIGHMEM : X_NORMAL;
	return i386 ? I_NORMAL : X_NORMAL;
}

/* Zone type of a pfn by the arch's fixed boundaries (16 MiB, 4 GiB, and
 * 896 MiB on i386). */
static int zone_type_of(enum mm_arch arch, uint32_t pfn)
{
	if (arch == MM_ARCH_I386)
		return pfn < 4096 ? I_DMA
		       : pfn < (896u << 8) ? I_NORMAL : I_HIGHMEM;
	return pfn < 4096 ? X_DMA : pfn < (1u << 20) ? X_DMA32 : X_NORMAL;
}

/* gfp_to_alloc_flags(). */
static unsigned slow_flags(uint32_t gfp, unsigned order)
{
	unsigned f = AF_WMARK_MIN | AF_CPUSET;

	if (gfp & MM___GFP_HIGH)
		f |= AF_MIN_RESERVE;
	if (gfp & MM___GFP_KSWAPD_RECLAIM)
		f |= AF_KSWAPD;
	if (!(gfp & MM___GFP_DIRECT_RECLAIM)) {
		if (!(gfp & MM___GFP_NOMEMALLOC)) {
			f |= AF_NON_BLOCK;
			if (order > 0 && (f & AF_MIN_RESERVE))
				f |= AF_HIGHATOMIC;
		}
		if (f & AF_MIN_RESERVE)
			f &= ~(unsigned)AF_CPUSET;
	}
	return f;
}

/* The fast path: ALLOC_WMARK_LOW and the gfp's kswapd bit. */
static unsigned fast_flags(uint32_t gfp)
{
	return AF_WMARK_LOW | (gfp & MM___GFP_KSWAPD_RECLAIM ? AF_KSWAPD : 0);
}

/* The free-page test of __zone_watermark_ok(); free_ha is the free
 * HighAtomic count taken as unusable without ALLOC_RESERVES. */
static bool count_ok(const struct mm_zone *z, unsigned order, int64_t mark,
		     int hz, unsigned flags, int64_t free, int64_t free_ha)
{
	int64_t min = mark;

	free -= (1 << order) - 1;
	if (!(flags & AF_RESERVES))
		free -= free_ha;
	if (flags & AF_RESERVES) {
		if (flags & AF_MIN_RESERVE) {
			min -= min / 2;
			if (flags & AF_NON_BLOCK)
				min -= min / 4;
		}
		if (flags & AF_OOM)
			min -= min / 2;
	}
	return free > min + (int64_t)z->lowmem_reserve[hz];
}

/* zone_watermark_fast()'s free-page tests at the mark the flags select. */
static bool fast_count_ok(const struct mm_zone *z, unsigned order, int hz,
			  unsigned flags, int64_t free, int64_t free_ha)
{
	int w = (int)(flags & AF_WMARK_MASK);
	int64_t mark = (int64_t)(z->wmark[w] + z->watermark_boost);

	if (!order) {
		int64_t res = flags & AF_RESERVES ? 0 : free_ha;
		if (free - (free < res ? free : res) >
		    mark + (int64_t)z->lowmem_reserve[hz])
			return true;
	}
	if (count_ok(z, order, mark, hz, flags, free, free_ha))
		return true;
	if (!order && (flags & AF_MIN_RESERVE) && z->watermark_boost &&
	    w == AF_WMARK_MIN)
		return count_ok(z, 0, (int64_t)z->wmark[MM_WMARK_MIN], hz, flags,
				free, free_ha);
	return false;
}

/* Free frames of z (in the reference) inside HighAtomic pageblocks: where
 * the drain puts them back, on the HighAtomic lists. */
static int64_t ref_free_highatomic(const struct ref *r, const struct mm_zone *z)
{
	uint32_t pb = 1u << r->m->pageblock_order;
	uint32_t end = z->start_pfn + z->spanned;
	int64_t n = 0;

	for (uint32_t b = z->start_pfn & ~(pb - 1); b < end; b += pb) {
		uint32_t s = b < z->start_pfn ? z->start_pfn : b;
		if (mm_pageblock_migratetype(r->m, s) != MM_MIGRATE_HIGHATOMIC)
			continue;
		for (uint32_t p = s; p < b + pb && p < end; p++)
			n += r->st[p] == R_FREE;
	}
	return n;
}

/*
 * Is there a naturally aligned run of 2^order free frames in z that the
 * buddy lists must hold as (part of) one block?  Runs over HighAtomic
 * pageblocks count only when ha_ok and all of the run's pageblocks are
 * HighAtomic (only then do they merge); with no_pcp, frames on per-CPU
 * lists do not count.
 */
static bool run_exists(const struct ref *r, const struct mm_zone *z,
		       unsigned order, bool ha_ok, bool no_pcp)
{
	uint32_t nr = 1u << order, pb = 1u << r->m->pageblock_order;
	uint32_t end = z->start_pfn + z->spanned;
	uint8_t id = (uint8_t)zone_id(z);

	for (uint32_t p = (z->start_pfn + nr - 1) & ~(nr - 1); p + nr <= end;
	     p += nr) {
		bool good = true;
		for (uint32_t q = p; q < p + nr && good; q++)
			good = r->st[q] == R_FREE && r->zid[q] == id &&
			       !(no_pcp && r->pcp_cpu[q]);
		if (!good)
			continue;
		int blocks = 0, ha = 0;
		for (uint32_t q = p; q < p + nr; q += pb) {
			int t = mm_pageblock_migratetype(r->m, q);
			good &= t != MM_MIGRATE_ISOLATE;
			ha += t == MM_MIGRATE_HIGHATOMIC;
			blocks++;
		}
		if (good && (!ha || (ha_ok && ha == blocks)))
			return true;
	}
	return false;
}

/*
 * Must (gfp, order) succeed?  Yes when some allowed zone passes the slow
 * path's watermark test and holds a usable free run.  Masks with
 * __GFP_DIRECT_RECLAIM drain every per-CPU list before giving up, so all
 * free frames count (and per-CPU pages of HighAtomic blocks go back to
 * those); other masks see only the buddy lists.
 */
static bool must_succeed(const struct ref *r, uint32_t gfp, unsigned order)
{
	const struct mm_machine *m = r->m;
	int hz = gfp_highest_zone(m->cfg.arch, gfp);
	bool drains = gfp & MM___GFP_DIRECT_RECLAIM;
	unsigned flags = slow_flags(gfp, order);
	unsigned ha_flags = AF_HIGHATOMIC | AF_OOM | (order ? 0 : AF_NON_BLOCK);

	for (int n = 0; n < m->nr_nodes; n++)
		for (int t = 0; t <= hz && t < m->nr_zone_types; t++) {
			const struct mm_zone *z = &m->nodes[n].zones[t];
			if (!mm_zone_populated(z))
				continue;
			int64_t all = r->zfree[zone_id(z)];
			int64_t cnt = drains ? all : all - zone_pcp(r, z);
			int64_t ha = drains ? ref_free_highatomic(r, z)
					    : z->nr_free_highatomic;
			if (fast_count_ok(z, order, hz, flags, cnt, ha) &&
			    run_exists(r, z, order, flags & ha_flags, !drains))
				return true;
		}
	return false;
}

/*
 * May z have served (gfp, order)?  Its pre-call state must pass the fast
 * path's or the slow path's watermark, counted as generously as the call
 * could have seen it (after a drain, with HighAtomic reserves released).
 */
static bool may_serve(const struct ref *r, const struct mm_zone *z,
		      uint32_t gfp, unsigned order)
{
	int hz = gfp_highest_zone(r->m->cfg.arch, gfp);
	bool drains = gfp & MM___GFP_DIRECT_RECLAIM;
	int64_t all = r->zfree[zone_id(z)];
	int64_t cnt = drains ? all : all - zone_pcp(r, z);
	int64_t ha = drains ? 0 : z->nr_free_highatomic;

	return fast_count_ok(z, order, hz, fast_flags(gfp), cnt, ha) ||
	       fast_count_ok(z, order, hz, slow_flags(gfp, order), cnt, ha);
}

/* ---- bookkeeping -------------------------------------------------------- */

/* The reference's own layout: nodes split evenly on 4 MiB boundaries, the
 * last one taking the rest; zones by the arch's fixed boundaries. */
static void ref_layout(struct ref *r)
{
	const struct mm_config *c = &r->m->cfg;
	uint64_t start = 0;

	for (int n = 0; n < c->nodes; n++) {
		uint64_t bytes = (c->memory / (uint64_t)c->nodes) &
				 ~((4ull << 20) - 1);
		if (n == c->nodes - 1)
			bytes = c->memory - start;
		for (uint64_t p = start >> 12; p < (start + bytes) >> 12; p++)
			r->zid[p] = (uint8_t)(n * MM_MAX_ZONES +
					      zone_type_of(c->arch, (uint32_t)p));
		start += bytes;
	}
	ASSERT_EQ_U64(start >> 12, r->nr);
}

static void ref_init(struct ref *r, struct mm_machine *m, const struct shape *sh)
{
	memset(r, 0, sizeof(*r));
	r->m = m;
	r->sh = sh;
	r->nr = m->nr_pfns;
	r->rng = sh->seed;
	r->st = calloc(r->nr, 1);
	r->zid = calloc(r->nr, 1);
	r->pcp_cpu = calloc(r->nr, 1);
	ASSERT(r->st && r->zid && r->pcp_cpu);
	ref_layout(r);
	/* The starting state: free frames are those of the free blocks and
	 * the per-CPU lists at boot. */
	for (uint32_t p = 0; p < r->nr; p++) {
		bool resv = mm_page_test(&m->pages[p], MM_PG_reserved);
		ASSERT(mm_page_zone(m, p) == zone_at(r, r->zid[p]));
		r->st[p] = resv ? R_RESV : R_BOOT;
	}
	for (uint32_t p = 0; p < r->nr; p++) {
		const struct mm_page *pg = &m->pages[p];
		if (mm_page_test(pg, MM_PG_pcp))
			r->st[p] = R_FREE;
		if (mm_page_test(pg, MM_PG_buddy))
			for (uint32_t k = 0; k < (1u << pg->private); k++) {
				ASSERT(r->st[p + k] == R_BOOT);
				r->st[p + k] = R_FREE;
			}
	}
	for (uint32_t p = 0; p < r->nr; p++) {
		r->zfree[r->zid[p]] += r->st[p] == R_FREE;
		/* Boot allocations are the engine's, never the caller's. */
		if (r->st[p] == R_BOOT)
			ASSERT(!mm_page_test(&m->pages[p], MM_PG_kalloc) &&
			       m->pages[p].refcount >= 1);
	}
}

/* Which cpu's list each per-CPU page is on (read from the engine, to
 * check where non-draining allocations may take pages from). */
static void ref_scan_pcp(struct ref *r)
{
	const struct mm_machine *m = r->m;

	memset(r->pcp_cpu, 0, r->nr);
	for (int n = 0; n < m->nr_nodes; n++)
		for (int t = 0; t < m->nr_zone_types; t++) {
			const struct mm_zone *z = &m->nodes[n].zones[t];
			if (!mm_zone_populated(z))
				continue;
			for (int c = 0; c < m->cfg.cpus; c++)
				for (int l = 0; l < MM_MIGRATE_PCPTYPES; l++) {
					uint32_t p = z->pcp[c].lists[l].head;
					for (uint32_t k = 0;
					     k < z->pcp[c].lists[l].count; k++) {
						ASSERT(p < r->nr);
						r->pcp_cpu[p] = (uint8_t)(c + 1);
						p = m->pages[p].lru_next;
					}
				}
		}
}

/* After every step: the checker, and the free counts zone by zone. */
static void ref_verify(struct ref *r, const char *what)
{
	const struct mm_machine *m = r->m;
	char when[128];
	int64_t ref_total = 0, eng_total = 0;

	snprintf(when, sizeof(when), "%s seed %llu after op %ld (%s)",
		 r->sh->name, (unsigned long long)r->sh->seed, r->ops, what);
	tu_check(m, when);
	for (int n = 0; n < m->nr_nodes; n++)
		for (int t = 0; t < m->nr_zone_types; t++) {
			const struct mm_zone *z = &m->nodes[n].zones[t];
			int64_t eng = z->vm_stat[MM_NR_FREE_PAGES] +
				      (mm_zone_populated(z) ? zone_pcp(r, z) : 0);
			int64_t ref = r->zfree[zone_id(z)];
			if (ref != eng)
				th_fail(__FILE__, __LINE__, "%s: zone %d/%s: %lld "
					"free frames in the reference, %lld in "
					"the engine", when, n, z->name,
					(long long)ref, (long long)eng);
			ref_total += r->zfree[zone_id(z)];
			eng_total += eng;
		}
	ASSERT_EQ(ref_total, eng_total);
}

static void ref_mark(struct ref *r, uint32_t pfn, unsigned order, int state)
{
	for (uint32_t p = pfn; p < pfn + (1u << order); p++) {
		ASSERT(r->st[p] == (state == R_FREE ? R_ALLOC : R_FREE));
		r->st[p] = (uint8_t)state;
		r->zfree[r->zid[p]] += state == R_FREE ? 1 : -1;
	}
}

static void live_push(struct ref *r, uint32_t pfn, unsigned order)
{
	if (r->nlive == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1024;
		r->live = realloc(r->live, r->cap * sizeof(*r->live));
		ASSERT(r->live != NULL);
	}
	r->live[r->nlive].pfn = pfn;
	r->live[r->nlive].order = order;
	r->nlive++;
}

/* ---- operations ---------------------------------------------------------- */

static unsigned random_order(struct ref *r)
{
	uint32_t x = below(r, 100);

	if (x < 45)
		return 0;
	if (x < 65)
		return 1;
	if (x < 77)
		return 2;
	if (x < 85)
		return 3;
	return 4 + below(r, MM_MAX_ORDER - 3);
}

static void op_alloc(struct ref *r)
{
	struct mm_machine *m = r->m;
	uint32_t gfp = diff_gfps[below(r, NR_GFPS)];
	unsigned order = random_order(r);
	int cpu = (int)below(r, (uint32_t)m->cfg.cpus);
	int node = below(r, 4) == 0 ? (int)below(r, (uint32_t)m->nr_nodes) : -1;
	int hz = gfp_highest_zone(m->cfg.arch, gfp);
	bool drains = gfp & MM___GFP_DIRECT_RECLAIM;
	struct mm_alloc_result res;

	ref_scan_pcp(r);
	bool must = must_succeed(r, gfp, order);
	/* Pre-call verdicts for every zone (the call changes the counts). */
	bool may[MM_MAX_NODES * MM_MAX_ZONES] = {false};
	for (int n = 0; n < m->nr_nodes; n++)
		for (int t = 0; t < m->nr_zone_types; t++) {
			const struct mm_zone *z = &m->nodes[n].zones[t];
			if (mm_zone_populated(z))
				may[zone_id(z)] = may_serve(r, z, gfp, order);
		}

	int rc = mm_alloc_pages(m, gfp, order, cpu, node, &res);
	if (rc == -MM_ENOMEM) {
		if (must)
			th_fail(__FILE__, __LINE__, "%s op %ld: gfp %#x order %u "
				"cpu %d node %d failed, but a zone passes its "
				"watermark with a free run", r->sh->name, r->ops,
				gfp, order, cpu, node);
		r->enomem++;
		r->fail_order[order]++;
		return;
	}
	ASSERT_EQ(rc, 0);

	uint32_t nr = 1u << order, pfn = res.pfn;
	ASSERT_EQ(pfn & (nr - 1), 0);
	ASSERT_LE((uint64_t)pfn + nr, r->nr);
	ASSERT(res.node >= 0 && res.node < m->nr_nodes);
	ASSERT(res.zone >= 0 && res.zone <= hz);
	unsigned id = (unsigned)(res.node * MM_MAX_ZONES + res.zone);
	for (uint32_t p = pfn; p < pfn + nr; p++) {
		if (r->st[p] != R_FREE || r->zid[p] != id)
			th_fail(__FILE__, __LINE__, "%s op %ld: gfp %#x order "
				"%u returned pfn %u in zone %u, but frame %u is "
				"%s in zone %u in the reference", r->sh->name,
				r->ops, gfp, order, pfn, id, p,
				r->st[p] == R_FREE ? "free" : "not free",
				r->zid[p]);
		/* Without a drain, a page from a per-CPU list can only be an
		 * order-0 page from the allocating cpu's own list. */
		if (!drains && r->pcp_cpu[p])
			ASSERT(order == 0 && r->pcp_cpu[p] == cpu + 1);
	}
	if (!may[id])
		th_fail(__FILE__, __LINE__, "%s op %ld: gfp %#x order %u served "
			"by zone %u, which fails its watermarks", r->sh->name,
			r->ops, gfp, order, id);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_kalloc));
	ref_mark(r, pfn, order, R_ALLOC);
	live_push(r, pfn, order);
	r->ok++;
	r->ok_order[order]++;
}

static void op_free(struct ref *r)
{
	size_t k = below(r, (uint32_t)r->nlive);
	struct live l = r->live[k];
	int cpu = (int)below(r, (uint32_t)r->m->cfg.cpus);

	ASSERT_EQ(mm_free_pages(r->m, l.pfn, l.order, cpu), 0);
	ref_mark(r, l.pfn, l.order, R_FREE);
	r->live[k] = r->live[--r->nlive];
	r->frees++;
}

/* A frame in state st picked at random, or MM_NIL. */
static uint32_t random_frame(struct ref *r, int st)
{
	for (int i = 0; i < 64; i++) {
		uint32_t p = below(r, r->nr);
		if (r->st[p] == st)
			return p;
	}
	return MM_NIL;
}

static void op_bad_free(struct ref *r)
{
	struct mm_machine *m = r->m;
	uint32_t pfn = MM_NIL;
	unsigned order = 0;
	int cpu = (int)below(r, (uint32_t)m->cfg.cpus);
	struct live l = {MM_NIL, 0};
	char before[MM_DIGEST_HEX], after[MM_DIGEST_HEX];

	if (r->nlive)
		l = r->live[below(r, (uint32_t)r->nlive)];
	switch (below(r, 7)) {
	case 0: /* double free: a frame that is free */
		pfn = random_frame(r, R_FREE);
		order = below(r, 3);
		break;
	case 1: /* a live block with another order */
		pfn = l.pfn;
		order = (l.order + 1 + below(r, MM_MAX_ORDER)) % MM_NR_ORDERS;
		break;
	case 2: /* a tail page of a live block */
		if (l.pfn != MM_NIL && l.order) {
			pfn = l.pfn + 1 + below(r, (1u << l.order) - 1);
			order = below(r, l.order);
		}
		break;
	case 3: /* a reserved frame */
		pfn = random_frame(r, R_RESV);
		break;
	case 4: /* beyond the last frame */
		pfn = below(r, 2) ? r->nr + below(r, 4096)
				  : UINT32_MAX - below(r, 16);
		order = below(r, MM_NR_ORDERS);
		break;
	case 5: /* a bad cpu */
		pfn = l.pfn;
		order = l.order;
		cpu = below(r, 2) ? -1 - (int)below(r, 3)
				  : m->cfg.cpus + (int)below(r, 3);
		break;
	default: /* an order above MAX_PAGE_ORDER */
		pfn = l.pfn;
		order = MM_NR_ORDERS + below(r, 8);
		break;
	}
	if (pfn == MM_NIL)
		return;
	mm_digest(m, before);
	int rc = mm_free_pages(m, pfn, order, cpu);
	if (rc != -MM_EINVAL)
		th_fail(__FILE__, __LINE__, "%s op %ld: bad free of pfn %u order "
			"%u cpu %d returned %d", r->sh->name, r->ops, pfn, order,
			cpu, rc);
	mm_digest(m, after);
	ASSERT_EQ_STR(after, before);
	r->bad++;
}

static void run_shape(const struct shape *sh)
{
	struct mm_config c = tu_config(sh->arch, sh->mib * MIB);
	struct ref r;
	long nops = th_scale(21000);

	c.nodes = sh->nodes;
	c.cpus = sh->cpus;
	c.watermark_scale_factor = sh->wsf;
	c.seed = sh->seed;
	struct mm_machine *m = tu_machine(&c);
	ASSERT_LE(m->nr_pfns, 6144);
	ref_init(&r, m, sh);
	ref_verify(&r, "boot");
	char *buddy0 = tu_render(m, mm_proc_buddyinfo);

	/* Phases alternate between filling (mostly allocations, driving the
	 * zones into their watermarks) and draining (mostly frees). */
	bool fill = true;
	long phase_end = 0;
	for (r.ops = 0; r.ops < nops; r.ops++) {
		const char *what;
		if (r.ops >= phase_end) {
			fill = !fill;
			phase_end = r.ops + 200 + below(&r, 2000);
		}
		uint32_t x = below(&r, 1000);
		if (x < 15) {
			op_bad_free(&r);
			what = "bad free";
		} else if (x < 20) {
			mm_drain_all_pages(m);
			r.drains++;
			what = "drain";
		} else if (r.nlive && x < (fill ? 300u : 700u)) {
			op_free(&r);
			what = "free";
		} else {
			op_alloc(&r);
			what = "alloc";
		}
		ref_verify(&r, what);
	}

	while (r.nlive)
		op_free(&r);
	mm_drain_all_pages(m);
	ref_verify(&r, "free all");
	/* Everything free again: the blocks merged back as at boot (unless
	 * HighAtomic pageblocks, which merge with no other type, remain). */
	char *buddy1 = tu_render(m, mm_proc_buddyinfo);
	uint64_t ha = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		for (int t = 0; t < m->nr_zone_types; t++)
			ha += m->nodes[n].zones[t].nr_reserved_highatomic;
	if (!ha)
		ASSERT_EQ_STR(buddy1, buddy0);

	printf("  %-18s seed %llu: %ld ops, %ld allocs ok, %ld ENOMEM, "
	       "%ld frees, %ld bad frees, %ld drains\n", sh->name,
	       (unsigned long long)sh->seed, r.ops, r.ok, r.enomem, r.frees,
	       r.bad, r.drains);
	printf("  %-18s ok/ENOMEM by order:", "");
	for (int o = 0; o < MM_NR_ORDERS; o++)
		printf(" %d:%ld/%ld", o, r.ok_order[o], r.fail_order[o]);
	printf("\n");
	ASSERT_GT(r.ok, 0);
	ASSERT_GT(r.enomem, 0);
	ASSERT_GT(r.bad, 0);
	/* Some order-0 requests must have failed too: the zones were
	 * really driven to their watermarks, not only fragmented. */
	ASSERT_GT(r.fail_order[0], 0);

	free(buddy0);
	free(buddy1);
	free(r.st);
	free(r.zid);
	free(r.pcp_cpu);
	free(r.live);
	mm_machine_destroy(m);
}

TEST(buddy_diff_x86_64_16m)
{
	static const struct shape sh = {"x86_64 16M", MM_ARCH_X86_64, 16, 1, 2,
					10, 1};
	run_shape(&sh);
}

TEST(buddy_diff_i386_12m)
{
	/* i386: pageblock order 10, mobility grouping disabled. */
	static const struct shape sh = {"i386 12M", MM_ARCH_I386, 12, 1, 3, 10,
					2};
	run_shape(&sh);
}

TEST(buddy_diff_2node_16m)
{
	static const struct shape sh = {"x86_64 16M 2-node", MM_ARCH_X86_64, 16,
					2, 4, 10, 3};
	run_shape(&sh);
}

TEST(buddy_diff_x86_64_8m_wsf)
{
	/* Mobility grouping disabled on x86_64; a large watermark gap. */
	static const struct shape sh = {"x86_64 8M wsf=200", MM_ARCH_X86_64, 8,
					1, 2, 200, 4};
	run_shape(&sh);
}

TEST(buddy_diff_dma32_2node_24m)
{
	/* Beyond the 16 MiB frame budget on purpose: the only shape where
	 * GFP_DMA, lowmem_reserve and a DMA32 zone restrict anything. */
	static const struct shape sh = {"x86_64 24M 2-node", MM_ARCH_X86_64, 24,
					2, 3, 10, 5};
	run_shape(&sh);
}
