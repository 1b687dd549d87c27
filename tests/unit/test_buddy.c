/*
 * test_buddy.c — split/merge edge cases of the buddy allocator and of the
 * per-CPU lists (engine/buddy.c, engine/page_alloc.c), each checked against
 * what Linux 6.18's mm/page_alloc.c does in the same situation.
 *
 * What the tests prove:
 *   - order-10 blocks come back whole: a balanced alloc/free sequence ends
 *     with the boot-time /proc/buddyinfo, byte for byte;
 *   - expand() returns the upper halves: order 0 taken from a lone order-k
 *     block leaves exactly one free block at each order 0..k-1, at pfn + 2^o;
 *   - freeing merges with the buddy pfn ^ (1 << order) and only with it: a
 *     naive set of free blocks predicts every free_area[].nr_free;
 *   - HighAtomic pageblocks merge with no other type, and a HighAtomic
 *     block handed back by unreserve_highatomic_pageblock() stays unmerged
 *     next to its free buddy until the next free, as in Linux;
 *   - blocks never span zones or nodes; alloc-all/free-all restores every
 *     zone's free count on multi-node, 16 MiB-crossing and odd-sized-zone
 *     machines;
 *   - gfp_zone(): GFP_DMA, GFP_DMA32, GFP_HIGHUSER and GFP_KERNEL land in the
 *     zones Linux picks; the zonelist walk takes the first zone that passes
 *     its watermark (predicted exactly, allocation by allocation), and
 *     lowmem_reserve keeps GFP_KERNEL out of the protected part of ZONE_DMA;
 *   - migratetype fallback: unmovable requests claim whole Movable
 *     pageblocks (visible in /proc/pagetypeinfo); small movable requests
 *     steal from Unmovable blocks without retyping them;
 *   - per-CPU lists: batch refill, frees to the list head, bulk free past
 *     pcp->high, drain_all_pages, one list per cpu;
 *   - watermarks: GFP_KERNEL order 0 stops exactly at min + lowmem_reserve
 *     (free == mark + reserve fails, one page more succeeds); GFP_ATOMIC
 *     goes on down to 3/8 of min;
 *   - free_pages() rejects double, misaligned, wrong-order, reserved and
 *     out-of-range frees with -EINVAL and leaves the state digest unchanged.
 */
#include "engine/internal.h"
#include "engine/mm.h"
#include "tests/unit/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1ull << 20)

/* Zone type indices (Linux's enum zone_type per arch). */
enum { X_DMA, X_DMA32, X_NORMAL, X_MOVABLE };
enum { I_DMA, I_NORMAL, I_HIGHMEM, I_MOVABLE };

/* ---- small helpers ---------------------------------------------------- */

static uint64_t rng_next(uint64_t *s) /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(rng_next(s) % n);
}

struct blk {
	uint32_t pfn;
	unsigned order;
};

/* A growable array of allocated blocks; owned by the test. */
struct blks {
	struct blk *v;
	size_t n, cap;
};

static void blks_push(struct blks *b, uint32_t pfn, unsigned order)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		b->v = realloc(b->v, b->cap * sizeof(*b->v));
		ASSERT(b->v != NULL);
	}
	b->v[b->n].pfn = pfn;
	b->v[b->n].order = order;
	b->n++;
}

/* Watermarks at 0 (min_free_kbytes 0, smallest scale factor) so that
 * "allocate everything" really empties a small machine. */
static struct mm_config cfg_nowmark(enum mm_arch arch, uint64_t mib, int nodes)
{
	struct mm_config c = tu_config(arch, mib * MIB);

	c.nodes = nodes;
	c.min_free_kbytes = 0;
	c.watermark_scale_factor = 1;
	return c;
}

static int64_t zone_free(const struct mm_zone *z)
{
	return z->vm_stat[MM_NR_FREE_PAGES];
}

static int64_t zone_pcp(const struct mm_machine *m, const struct mm_zone *z)
{
	int64_t n = 0;

	for (int c = 0; c < m->cfg.cpus; c++)
		n += z->pcp[c].count;
	return n;
}

static int64_t all_pcp(const struct mm_machine *m)
{
	int64_t n = 0;

	for (int nd = 0; nd < m->nr_nodes; nd++)
		for (int zi = 0; zi < m->nr_zone_types; zi++)
			if (mm_zone_populated(&m->nodes[nd].zones[zi]))
				n += zone_pcp(m, &m->nodes[nd].zones[zi]);
	return n;
}

/* gfp_zone(), the test's own copy of include/linux/gfp.h's table. */
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

/* mm_alloc_pages() plus what every returned block must satisfy. */
static int alloc_checked(struct mm_machine *m, uint32_t gfp, unsigned order,
			 int cpu, int node, struct mm_alloc_result *res)
{
	int rc = mm_alloc_pages(m, gfp, order, cpu, node, res);

	if (rc)
		return rc;
	uint32_t nr = 1u << order;
	ASSERT_EQ(res->pfn & (nr - 1), 0);
	ASSERT_LE((uint64_t)res->pfn + nr, m->nr_pfns);
	ASSERT(res->node >= 0 && res->node < m->nr_nodes);
	ASSERT(res->zone >= 0 && res->zone < m->nr_zone_types);
	const struct mm_zone *z = &m->nodes[res->node].zones[res->zone];
	ASSERT(mm_page_zone(m, res->pfn) == z);
	ASSERT(mm_page_zone(m, res->pfn + nr - 1) == z);
	ASSERT_GE(res->pfn, z->start_pfn);
	ASSERT_LE(res->pfn + nr, z->start_pfn + z->spanned);
	ASSERT_LE(res->zone, gfp_highest_zone(m->cfg.arch, gfp));
	const struct mm_page *p = &m->pages[res->pfn];
	ASSERT(mm_page_test(p, MM_PG_kalloc));
	ASSERT_EQ(p->refcount, 1);
	return 0;
}

/* Allocates blocks of one order until -ENOMEM; returns how many. */
static size_t alloc_until_fail(struct mm_machine *m, uint32_t gfp,
			       unsigned order, int cpu, int node,
			       struct blks *out)
{
	for (size_t n = 0; n <= m->nr_pfns; n++) {
		struct mm_alloc_result r;
		int rc = alloc_checked(m, gfp, order, cpu, node, &r);
		if (rc == -MM_ENOMEM)
			return n;
		ASSERT_EQ(rc, 0);
		blks_push(out, r.pfn, order);
	}
	th_fail(__FILE__, __LINE__, "order-%u allocations never failed", order);
}

/* Largest blocks first, down to order 0, until each order fails. */
static void alloc_everything(struct mm_machine *m, uint32_t gfp, int cpu,
			     int node, struct blks *out)
{
	for (int o = MM_MAX_ORDER; o >= 0; o--)
		alloc_until_fail(m, gfp, (unsigned)o, cpu, node, out);
}

/* Frees every block of b in a shuffled order on random cpus. */
static void free_shuffled(struct mm_machine *m, struct blks *b, uint64_t seed)
{
	for (size_t i = b->n; i > 1; i--) {
		size_t j = rng_below(&seed, (uint32_t)i);
		struct blk t = b->v[i - 1];
		b->v[i - 1] = b->v[j];
		b->v[j] = t;
	}
	for (size_t i = 0; i < b->n; i++) {
		int cpu = (int)rng_below(&seed, (uint32_t)m->cfg.cpus);
		ASSERT_EQ(mm_free_pages(m, b->v[i].pfn, b->v[i].order, cpu), 0);
	}
	b->n = 0;
}

/* One free list: each block lies inside the zone and its node, and all
 * of its frames carry the zone's id. */
static void check_list_inside(const struct mm_machine *m,
			      const struct mm_zone *z, unsigned order,
			      const struct mm_plist *l)
{
	const struct mm_node *nd = &m->nodes[z->node];
	uint32_t pfn = l->head, nr = 1u << order;

	for (uint32_t i = 0; i < l->count; i++) {
		ASSERT(pfn < m->nr_pfns);
		ASSERT_GE(pfn, z->start_pfn);
		ASSERT_LE(pfn + nr, z->start_pfn + z->spanned);
		ASSERT_GE(pfn, nd->start_pfn);
		ASSERT_LE(pfn + nr, nd->start_pfn + nd->spanned);
		for (uint32_t k = 0; k < nr; k++)
			ASSERT(mm_page_zone(m, pfn + k) == z);
		pfn = m->pages[pfn].lru_next;
	}
	ASSERT_EQ(pfn, MM_NIL);
}

/* Every free list of every zone, by check_list_inside(). */
static void check_blocks_inside(const struct mm_machine *m)
{
	for (int n = 0; n < m->nr_nodes; n++)
		for (int zi = 0; zi < m->nr_zone_types; zi++) {
			const struct mm_zone *z = &m->nodes[n].zones[zi];
			for (unsigned o = 0; o < MM_NR_ORDERS; o++)
				for (int t = 0; t < MM_MIGRATE_TYPES; t++)
					check_list_inside(m, z, o,
						&z->free_area[o].free_list[t]);
		}
}

struct zone_counts {
	int64_t free[MM_MAX_NODES][MM_MAX_ZONES];
};

static struct zone_counts snapshot_free(const struct mm_machine *m)
{
	struct zone_counts s;

	memset(&s, 0, sizeof(s));
	for (int n = 0; n < m->nr_nodes; n++)
		for (int zi = 0; zi < m->nr_zone_types; zi++)
			s.free[n][zi] = zone_free(&m->nodes[n].zones[zi]);
	return s;
}

static void assert_free_restored(const struct mm_machine *m,
				 const struct zone_counts *s)
{
	for (int n = 0; n < m->nr_nodes; n++)
		for (int zi = 0; zi < m->nr_zone_types; zi++) {
			const struct mm_zone *z = &m->nodes[n].zones[zi];
			ASSERT_EQ(zone_free(z), s->free[n][zi]);
			ASSERT_EQ(zone_pcp(m, z), 0);
		}
}

/* ---- the watermark rules, the test's own transcription ----------------- */

/* ALLOC_* of mm/internal.h. */
enum {
	AF_WMARK_MIN = 0, AF_WMARK_LOW = 1, AF_WMARK_HIGH = 2,
	AF_WMARK_MASK = 3, AF_OOM = 0x08, AF_NON_BLOCK = 0x10,
	AF_MIN_RESERVE = 0x20, AF_CPUSET = 0x40, AF_HIGHATOMIC = 0x200,
	AF_KSWAPD = 0x800,
};
#define AF_RESERVES (AF_NON_BLOCK | AF_MIN_RESERVE | AF_HIGHATOMIC | AF_OOM)

/* alloc_flags of the fast path (ALLOC_WMARK_LOW | gfp's kswapd bit). */
static unsigned fast_flags(uint32_t gfp)
{
	return AF_WMARK_LOW | (gfp & MM___GFP_KSWAPD_RECLAIM ? AF_KSWAPD : 0);
}

/* gfp_to_alloc_flags(): the slow path's flags. */
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

/* The free-page test of __zone_watermark_ok(). */
static bool wmark_count_ok(const struct mm_zone *z, unsigned order,
			   int64_t mark, int hz, unsigned flags, int64_t free)
{
	int64_t min = mark;

	free -= (1 << order) - 1;
	if (!(flags & AF_RESERVES))
		free -= z->nr_free_highatomic;
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

/* The free-list test of __zone_watermark_ok(): a block of at least order. */
static bool zone_has_block(const struct mm_zone *z, unsigned order,
			   unsigned flags)
{
	if (!order)
		return true;
	for (unsigned o = order; o < MM_NR_ORDERS; o++) {
		const struct mm_free_area *a = &z->free_area[o];
		for (int t = 0; t < MM_MIGRATE_PCPTYPES; t++)
			if (a->free_list[t].count)
				return true;
		if ((flags & (AF_HIGHATOMIC | AF_OOM)) &&
		    a->free_list[MM_MIGRATE_HIGHATOMIC].count)
			return true;
	}
	return false;
}

/* zone_watermark_fast() at the mark alloc_flags selects (boost included),
 * on the buddy free count (per-CPU pages are not free, as in Linux). */
static bool zone_ok(const struct mm_zone *z, unsigned order, int hz,
		    unsigned flags)
{
	int w = (int)(flags & AF_WMARK_MASK);
	int64_t mark = (int64_t)mm_wmark_pages(z, (enum mm_wmark)w);
	int64_t free = zone_free(z);

	if (!order) {
		int64_t res = flags & AF_RESERVES ? 0 : z->nr_free_highatomic;
		if (free - (free < res ? free : res) >
		    mark + (int64_t)z->lowmem_reserve[hz])
			return true;
	}
	if (wmark_count_ok(z, order, mark, hz, flags, free) &&
	    zone_has_block(z, order, flags))
		return true;
	if (!order && (flags & AF_MIN_RESERVE) && z->watermark_boost &&
	    w == AF_WMARK_MIN)
		return wmark_count_ok(z, 0, (int64_t)z->wmark[MM_WMARK_MIN], hz,
				      flags, free);
	return false;
}

/*
 * The zone get_page_from_freelist() must pick for (gfp, order) from node's
 * zonelist: the first zone passing the low mark with the fast-path flags,
 * else the first passing the slow path's mark and flags.  NULL when neither
 * pass runs (the allocator may then drain the per-CPU lists and retry).
 * Only for machines without ALLOC_NOFRAGMENT (no x86_64 ZONE_NORMAL).
 */
static const struct mm_zone *predict_zone(const struct mm_machine *m,
					  int node, uint32_t gfp,
					  unsigned order)
{
	const struct mm_node *nd = &m->nodes[node];
	int hz = gfp_highest_zone(m->cfg.arch, gfp);
	unsigned pass[2] = {fast_flags(gfp), slow_flags(gfp, order)};

	for (int p = 0; p < 2; p++)
		for (int i = 0; i < nd->zonelist_len; i++) {
			const struct mm_zone *z = nd->zonelist[i];
			if (z->idx <= hz && zone_ok(z, order, hz, pass[p]))
				return z;
		}
	return NULL;
}

static const char *line_starting(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *l = text; l;) {
		if (!strncmp(l, prefix, n))
			return l;
		l = strchr(l, '\n');
		if (l)
			l++;
	}
	return NULL;
}

/* The "Number of blocks type" counts of /proc/pagetypeinfo for a zone. */
static void pagetype_blocks(const struct mm_machine *m, int node,
			    const char *zone, unsigned long out[MM_MIGRATE_TYPES])
{
	char *text = tu_render(m, mm_proc_pagetypeinfo);
	char prefix[64];
	const char *sec = strstr(text, "\nNumber of blocks type ");

	ASSERT(sec != NULL);
	for (int t = 0; t < MM_MIGRATE_TYPES; t++)
		ASSERT(strstr(sec, mm_migratetype_names[t]) != NULL);
	snprintf(prefix, sizeof(prefix), "Node %d, zone %8s ", node, zone);
	const char *l = line_starting(sec + 1, prefix);
	ASSERT(l != NULL);
	l += strlen(prefix);
	for (int t = 0; t < MM_MIGRATE_TYPES; t++) {
		char *end;
		out[t] = strtoul(l, &end, 10);
		ASSERT(end != l);
		l = end;
	}
	free(text);
}

/* ---- highest order ------------------------------------------------------ */

TEST(buddy_max_order_roundtrip)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct blks b = {0};
	struct mm_alloc_result r;

	mm_drain_all_pages(m);
	char *buddy0 = tu_render(m, mm_proc_buddyinfo);
	char *types0 = tu_render(m, mm_proc_pagetypeinfo);

	/* Movable order-10 blocks: no pageblock changes its type. */
	size_t n = alloc_until_fail(m, MM_GFP_HIGHUSER_MOVABLE, MM_MAX_ORDER, 0,
				    -1, &b);
	ASSERT_GE(n, 4);
	for (size_t i = 0; i < n; i++) {
		ASSERT_EQ(b.v[i].pfn % 1024, 0);
		ASSERT(mm_page_test(&m->pages[b.v[i].pfn], MM_PG_head));
		ASSERT_EQ(m->pages[b.v[i].pfn].private, MM_MAX_ORDER);
		ASSERT(mm_page_test(&m->pages[b.v[i].pfn + 1023], MM_PG_tail));
	}
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, MM_MAX_ORDER + 1, 0, -1, &r),
		  -MM_EINVAL);
	tu_check(m, "after order-10 allocations");
	while (b.n) {
		b.n--;
		ASSERT_EQ(mm_free_pages(m, b.v[b.n].pfn, MM_MAX_ORDER,
					(int)(b.n & 1)), 0);
	}
	mm_drain_all_pages(m);
	char *buddy1 = tu_render(m, mm_proc_buddyinfo);
	char *types1 = tu_render(m, mm_proc_pagetypeinfo);
	ASSERT_EQ_STR(buddy1, buddy0);
	ASSERT_EQ_STR(types1, types0);
	free(buddy1);
	free(types1);

	/* A balanced mixed sequence (unmovable, reclaimable, movable, DMA;
	 * all orders; both cpus): buddyinfo comes back too, although
	 * pageblocks were claimed by other types on the way. */
	static const uint32_t gfps[] = {
		MM_GFP_KERNEL, MM_GFP_HIGHUSER_MOVABLE,
		MM_GFP_KERNEL | MM___GFP_RECLAIMABLE, MM_GFP_KERNEL | MM_GFP_DMA,
	};
	uint64_t seed = 42;
	for (int i = 0; i < 3000; i++) {
		if (b.n && rng_below(&seed, 100) < 45) {
			size_t k = rng_below(&seed, (uint32_t)b.n);
			ASSERT_EQ(mm_free_pages(m, b.v[k].pfn, b.v[k].order,
						(int)rng_below(&seed, 2)), 0);
			b.v[k] = b.v[--b.n];
		} else {
			unsigned o = rng_below(&seed, 100) < 70
					     ? rng_below(&seed, 4)
					     : rng_below(&seed, MM_NR_ORDERS);
			uint32_t gfp = gfps[rng_below(&seed, 4)];
			if (alloc_checked(m, gfp, o, (int)rng_below(&seed, 2), -1,
					  &r) == 0)
				blks_push(&b, r.pfn, o);
		}
		if (i % 500 == 0)
			tu_check(m, "during the mixed sequence");
	}
	free_shuffled(m, &b, 7);
	mm_drain_all_pages(m);
	buddy1 = tu_render(m, mm_proc_buddyinfo);
	ASSERT_EQ_STR(buddy1, buddy0);
	tu_check(m, "after the balanced sequence");
	free(buddy0);
	free(buddy1);
	free(types0);
	free(b.v);
	mm_machine_destroy(m);
}

/* ---- split and merge ------------------------------------------------ */

/*
 * A 16 MiB x86_64 machine (one DMA zone, pcp batch 1, watermarks 0)
 * emptied by movable allocations, which all stay in *held except one
 * order-10 block, returned in *big (still allocated).
 */
static struct mm_machine *emptied_machine(struct blks *held, uint32_t *big)
{
	struct mm_config c = cfg_nowmark(MM_ARCH_X86_64, 16, 1);
	struct mm_machine *m = tu_machine(&c);
	struct mm_zone *z = &m->nodes[0].zones[X_DMA];

	ASSERT(!m->mobility_disabled);
	ASSERT_EQ(z->pcp[1].batch, 1);
	ASSERT_EQ(m->nr_zone_types, 5);
	ASSERT_EQ(m->nodes[0].zonelist_len, 1);
	alloc_everything(m, MM_GFP_HIGHUSER_MOVABLE, 0, -1, held);
	ASSERT_EQ(zone_free(z), 0);
	ASSERT_EQ(zone_pcp(m, z), 0);
	for (int o = 0; o < MM_NR_ORDERS; o++)
		ASSERT_EQ(z->free_area[o].nr_free, 0);
	ASSERT(held->n > 0 && held->v[0].order == MM_MAX_ORDER);
	*big = held->v[0].pfn;
	held->v[0] = held->v[--held->n];
	tu_check(m, "after emptying the zone");
	return m;
}

TEST(buddy_split_expand)
{
	for (unsigned k = 1; k <= MM_MAX_ORDER; k++) {
		struct blks held = {0};
		uint32_t big;
		struct mm_machine *m = emptied_machine(&held, &big);
		struct mm_zone *z = &m->nodes[0].zones[X_DMA];
		struct mm_alloc_result r;

		ASSERT_EQ(mm_free_pages(m, big, MM_MAX_ORDER, 0), 0);
		ASSERT_EQ(z->free_area[MM_MAX_ORDER].nr_free, 1);
		/* Carve the block down: each order j comes from the low half
		 * of the smallest block, the high half stays free. */
		for (int j = MM_MAX_ORDER - 1; j >= (int)k; j--) {
			ASSERT_EQ(alloc_checked(m, MM_GFP_HIGHUSER_MOVABLE,
						(unsigned)j, 0, -1, &r), 0);
			ASSERT_EQ(r.pfn, big + 1024 - (2u << j));
		}
		uint32_t lone = big + 1024 - (1u << k);
		for (unsigned o = 0; o < MM_NR_ORDERS; o++)
			ASSERT_EQ(z->free_area[o].nr_free, o == k);
		ASSERT(mm_page_test(&m->pages[lone], MM_PG_buddy));
		ASSERT_EQ(m->pages[lone].private, k);

		/* Order 0 on a cpu whose list is empty: the refill (batch
		 * 1, alloc_factor 0) takes exactly one page. */
		ASSERT_EQ(z->pcp[1].count, 0);
		ASSERT_EQ(alloc_checked(m, MM_GFP_HIGHUSER_MOVABLE, 0, 1, -1, &r),
			  0);
		ASSERT_EQ(r.pfn, lone);
		ASSERT_EQ(z->pcp[1].count, 0);
		ASSERT_EQ(zone_free(z), (1 << k) - 1);
		for (unsigned o = 0; o < MM_NR_ORDERS; o++) {
			ASSERT_EQ(z->free_area[o].nr_free, o < k);
			if (o >= k)
				continue;
			uint32_t up = lone + (1u << o);
			ASSERT(mm_page_test(&m->pages[up], MM_PG_buddy));
			ASSERT_EQ(m->pages[up].private, o);
			const struct mm_plist *l =
				&z->free_area[o].free_list[MM_MIGRATE_MOVABLE];
			ASSERT_EQ(l->head, up);
		}
		tu_check(m, "after the split");
		free(held.v);
		mm_machine_destroy(m);
	}
}

TEST(buddy_merge)
{
	struct blks held = {0}, b = {0};
	uint32_t big;
	struct mm_machine *m = emptied_machine(&held, &big);
	struct mm_zone *z = &m->nodes[0].zones[X_DMA];
	struct mm_alloc_result r;
	int8_t model[1024]; /* order of the free block starting here, or -1 */
	uint64_t seed = 1;

	ASSERT_EQ(mm_free_pages(m, big, MM_MAX_ORDER, 0), 0);
	for (unsigned o = 0; o < MM_MAX_ORDER; o++) {
		/* Cut the lone order-10 block into order-o blocks. */
		uint32_t count = 1u << (MM_MAX_ORDER - o);
		for (uint32_t i = 0; i < count; i++) {
			ASSERT_EQ(alloc_checked(m, MM_GFP_HIGHUSER_MOVABLE, o,
						(int)(i & 1), -1, &r), 0);
			ASSERT(r.pfn >= big && r.pfn < big + 1024);
			blks_push(&b, r.pfn, o);
		}
		ASSERT_EQ(zone_free(z), 0);
		ASSERT_EQ(zone_pcp(m, z), 0);
		if (o == 0) {
			/* Order 0 frees go to the per-CPU lists; the drain
			 * merges them back into one block. */
			free_shuffled(m, &b, seed++);
			ASSERT_GT(zone_pcp(m, z), 0);
			mm_drain_all_pages(m);
			ASSERT_EQ(z->free_area[MM_MAX_ORDER].nr_free, 1);
			ASSERT_EQ(zone_free(z), 1024);
			tu_check(m, "after merging order-0 pages");
			continue;
		}
		/* Free in random order; a naive block set says what merges:
		 * a block merges with pfn ^ (1 << order) when that is free at
		 * the same order, and with nothing else. */
		memset(model, -1, sizeof(model));
		for (size_t i = b.n; i > 1; i--) {
			size_t j = rng_below(&seed, (uint32_t)i);
			struct blk t = b.v[i - 1];
			b.v[i - 1] = b.v[j];
			b.v[j] = t;
		}
		for (size_t i = 0; i < b.n; i++) {
			uint32_t x = b.v[i].pfn - big;
			unsigned ord = o;
			bool buddy_free = model[x ^ (1u << ord)] == (int8_t)ord;
			ASSERT_EQ(mm_free_pages(m, b.v[i].pfn, o, 0), 0);
			while (ord < MM_MAX_ORDER &&
			       model[x ^ (1u << ord)] == (int8_t)ord) {
				model[x ^ (1u << ord)] = -1;
				x &= ~(1u << ord);
				ord++;
			}
			model[x] = (int8_t)ord;
			if (buddy_free) {
				/* The pair became one block of order + 1
				 * (or more), headed by the lower pfn. */
				uint32_t lo = (b.v[i].pfn - big) & ~(1u << o);
				ASSERT(!mm_page_test(&m->pages[big + lo +
							       (1u << o)],
						     MM_PG_buddy));
				const struct mm_page *head = &m->pages[big + x];
				ASSERT(mm_page_test(head, MM_PG_buddy));
				ASSERT_GT(head->private, o);
			}
			int64_t want[MM_NR_ORDERS] = {0};
			for (uint32_t p = 0; p < 1024; p++) {
				if (model[p] < 0)
					continue;
				const struct mm_page *pg = &m->pages[big + p];
				want[model[p]]++;
				ASSERT(mm_page_test(pg, MM_PG_buddy));
				ASSERT_EQ(pg->private, model[p]);
			}
			for (int k = 0; k < MM_NR_ORDERS; k++)
				ASSERT_EQ(z->free_area[k].nr_free, want[k]);
		}
		b.n = 0;
		ASSERT_EQ(z->free_area[MM_MAX_ORDER].nr_free, 1);
		ASSERT_EQ(model[0], MM_MAX_ORDER);
		tu_check(m, "after merging");
	}
	free(b.v);
	free(held.v);
	mm_machine_destroy(m);
}

/*
 * Merging across pageblocks depends on their types: a HighAtomic block
 * merges with no other type, and when unreserve_highatomic_pageblock()
 * hands a free HighAtomic order-9 block back to another type it only moves
 * it between lists (Linux 6.18: move_to_free_list() +
 * change_pageblock_range()), so it can sit unmerged next to its free buddy
 * until one of the two is allocated and freed again.
 */
TEST(buddy_highatomic_unmerged)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 512 * MIB);
	c.min_free_kbytes = 16384;
	struct mm_machine *m = tu_machine(&c);
	struct mm_zone *z = &m->nodes[0].zones[X_DMA32];
	struct blks b = {0};
	struct mm_alloc_result r;
	const uint32_t pb = 512;

	ASSERT_EQ(m->pageblock_order, 9);
	/* Fill the machine with movable pages, down to the min watermark. */
	alloc_everything(m, MM_GFP_HIGHUSER_MOVABLE, 0, -1, &b);
	/* High-order GFP_ATOMIC in the slow path reserves HighAtomic
	 * pageblocks, up to ~1% of the zone; use them all up. */
	uint64_t max_ha = (z->managed / 100 + pb - 1) / pb * pb;
	ASSERT_GE(max_ha, 3 * pb);
	for (int i = 0; z->nr_reserved_highatomic < max_ha ||
			z->nr_free_highatomic > 0; i++) {
		ASSERT_LT(i, 10000);
		ASSERT_EQ(alloc_checked(m, MM_GFP_ATOMIC, 1, 0, -1, &r), 0);
		blks_push(&b, r.pfn, 1);
	}
	/* A HighAtomic pageblock whose buddy pageblock is of another type. */
	uint32_t a = MM_NIL;
	for (uint32_t p = z->start_pfn; p < z->start_pfn + z->spanned; p += pb)
		if (mm_pageblock_migratetype(m, p) == MM_MIGRATE_HIGHATOMIC &&
		    mm_pageblock_migratetype(m, p ^ pb) != MM_MIGRATE_HIGHATOMIC)
			a = p;
	ASSERT(a != MM_NIL);
	uint32_t a2 = a ^ pb;
	int a2_mt = mm_pageblock_migratetype(m, a2);
	ASSERT_LT(a2_mt, MM_MIGRATE_PCPTYPES);

	/* Free both pageblocks entirely: two order-9 blocks, not merged. */
	uint64_t nr10 = z->free_area[MM_MAX_ORDER].nr_free;
	for (size_t i = 0; i < b.n;) {
		if ((b.v[i].pfn & ~(2 * pb - 1)) != (a & ~(2 * pb - 1))) {
			i++;
			continue;
		}
		ASSERT_EQ(mm_free_pages(m, b.v[i].pfn, b.v[i].order, 0), 0);
		b.v[i] = b.v[--b.n];
	}
	mm_drain_all_pages(m);
	ASSERT(mm_page_test(&m->pages[a], MM_PG_buddy));
	ASSERT_EQ(m->pages[a].private, 9);
	ASSERT(mm_page_test(&m->pages[a2], MM_PG_buddy));
	ASSERT_EQ(m->pages[a2].private, 9);
	ASSERT_EQ(z->free_area[9].free_list[MM_MIGRATE_HIGHATOMIC].count, 1);
	ASSERT_EQ(z->free_area[9].free_list[MM_MIGRATE_HIGHATOMIC].head, a);
	ASSERT_EQ(z->free_area[MM_MAX_ORDER].nr_free, nr10);
	ASSERT_EQ(z->nr_free_highatomic, pb);
	tu_check(m, "with a HighAtomic block next to a free buddy");

	/* A failing movable allocation gives a reserved block back (it is
	 * the only HighAtomic one with free pages): retyped, not merged. */
	uint64_t reserved = z->nr_reserved_highatomic;
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_HIGHUSER_MOVABLE, 0, 0, -1, &r),
		  -MM_ENOMEM);
	ASSERT_EQ(z->nr_reserved_highatomic, reserved - pb);
	ASSERT_EQ(mm_pageblock_migratetype(m, a), MM_MIGRATE_MOVABLE);
	ASSERT_EQ(mm_pageblock_migratetype(m, a2), a2_mt);
	ASSERT_EQ(z->nr_free_highatomic, 0);
	ASSERT(mm_page_test(&m->pages[a], MM_PG_buddy));
	ASSERT_EQ(m->pages[a].private, 9);
	ASSERT(mm_page_test(&m->pages[a2], MM_PG_buddy));
	ASSERT_EQ(m->pages[a2].private, 9);
	ASSERT_EQ(z->free_area[MM_MAX_ORDER].nr_free, nr10);
	tu_check(m, "after unreserving the HighAtomic block");

	/* The next free of either half merges the pair. */
	ASSERT_EQ(alloc_checked(m, MM_GFP_ATOMIC | MM___GFP_NOMEMALLOC, 9, 0, -1,
				&r), 0);
	ASSERT(r.pfn == a || r.pfn == a2);
	ASSERT_EQ(mm_free_pages(m, r.pfn, 9, 0), 0);
	ASSERT(mm_page_test(&m->pages[a & ~(2 * pb - 1)], MM_PG_buddy));
	ASSERT_EQ(m->pages[a & ~(2 * pb - 1)].private, MM_MAX_ORDER);
	ASSERT_EQ(z->free_area[MM_MAX_ORDER].nr_free, nr10 + 1);
	tu_check(m, "after the pair merged");
	free_shuffled(m, &b, 23);
	tu_check(m, "after freeing everything");
	free(b.v);
	mm_machine_destroy(m);
}

/* ---- zone and node boundaries, odd sizes ---------------------------------- */

/* Boot, allocate with each gfp until every order fails, free it all, and
 * check that nothing ever crossed a zone or node and the counts return. */
static void alloc_all_free_all(struct mm_machine *m, const uint32_t *gfps,
			       int ngfp, bool expect_empty)
{
	struct blks b = {0};

	tu_check(m, "at boot");
	check_blocks_inside(m);
	mm_drain_all_pages(m);
	struct zone_counts boot = snapshot_free(m);
	char *buddy0 = tu_render(m, mm_proc_buddyinfo);

	for (int g = 0; g < ngfp; g++)
		for (int n = 0; n < m->nr_nodes; n++)
			alloc_everything(m, gfps[g], n % m->cfg.cpus, n, &b);
	ASSERT_GT(b.n, 0);
	tu_check(m, "with everything allocated");
	check_blocks_inside(m);
	if (expect_empty) {
		for (int n = 0; n < m->nr_nodes; n++)
			for (int zi = 0; zi < m->nr_zone_types; zi++) {
				const struct mm_zone *z = &m->nodes[n].zones[zi];
				ASSERT_EQ(zone_free(z), 0);
				ASSERT_EQ(zone_pcp(m, z), 0);
			}
	}
	free_shuffled(m, &b, m->nr_pfns);
	mm_drain_all_pages(m);
	assert_free_restored(m, &boot);
	char *buddy1 = tu_render(m, mm_proc_buddyinfo);
	ASSERT_EQ_STR(buddy1, buddy0);
	check_blocks_inside(m);
	tu_check(m, "after freeing everything");
	free(buddy0);
	free(buddy1);
	free(b.v);
}

TEST(buddy_zone_node_boundaries)
{
	/* 2 nodes crossing 16 MiB: the node boundary at 20 MiB (pfn 5120)
	 * splits an order-10 buddy pair inside DMA32; 24 MiB puts it inside
	 * DMA (pfn 3072); 3 and 4 nodes add more boundaries. */
	static const struct {
		uint64_t mib;
		int nodes;
	} shapes[] = {{40, 2}, {24, 2}, {44, 3}, {16, 4}};
	/* GFP_KERNEL | __GFP_DMA last: it may drain, so no per-CPU page is
	 * left behind. */
	static const uint32_t gfps[] = {MM_GFP_KERNEL,
					MM_GFP_KERNEL | MM_GFP_DMA};

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct mm_config c = cfg_nowmark(MM_ARCH_X86_64, shapes[s].mib,
						 shapes[s].nodes);
		c.cpus = 4;
		struct mm_machine *m = tu_machine(&c);
		ASSERT_EQ(m->nr_nodes, shapes[s].nodes);
		for (int n = 1; n < m->nr_nodes; n++) {
			const struct mm_node *prev = &m->nodes[n - 1];
			ASSERT_EQ(m->nodes[n].start_pfn,
				  prev->start_pfn + prev->spanned);
		}
		alloc_all_free_all(m, gfps, 2, true);
		mm_machine_destroy(m);
	}
}

TEST(buddy_odd_sized_zones)
{
	static const struct {
		enum mm_arch arch;
		uint64_t mib;
		int nodes;
	} shapes[] = {
		{MM_ARCH_X86_64, 21, 1},   /* DMA32 of 1280 frames */
		{MM_ARCH_X86_64, 13, 1},   /* DMA ends mid order-10 block */
		{MM_ARCH_X86_64, 22, 2},   /* last node 14 MiB: not 4M-sized */
		{MM_ARCH_X86_64, 4100, 1}, /* Normal present, managed 0 */
		{MM_ARCH_I386, 17, 1},     /* Normal of 256 frames */
		{MM_ARCH_I386, 897, 1},    /* HighMem of 256 frames */
		{MM_ARCH_I386, 900, 1},    /* HighMem of 1024 frames */
	};
	static const uint32_t x86_64_gfps[] = {
		MM_GFP_KERNEL, MM_GFP_KERNEL | MM_GFP_DMA32,
		MM_GFP_KERNEL | MM_GFP_DMA,
	};
	static const uint32_t i386_gfps[] = {MM_GFP_HIGHUSER, MM_GFP_KERNEL,
					     MM_GFP_KERNEL | MM_GFP_DMA};

	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		struct mm_config c = cfg_nowmark(shapes[s].arch, shapes[s].mib,
						 shapes[s].nodes);
		struct mm_machine *m = tu_machine(&c);
		uint64_t managed = 0;
		for (int n = 0; n < m->nr_nodes; n++)
			for (int zi = 0; zi < m->nr_zone_types; zi++)
				managed += m->nodes[n].zones[zi].managed;
		ASSERT_EQ_U64(managed, m->totalram_pages);
		bool i386 = shapes[s].arch == MM_ARCH_I386;
		/* HighMem keeps its fixed 32..128-page min; x86_64 4100M
		 * keeps a scale-factor gap (and boost) in DMA32. */
		bool empty = shapes[s].mib < 896;
		alloc_all_free_all(m, i386 ? i386_gfps : x86_64_gfps, 3, empty);
		mm_machine_destroy(m);
	}
}

/* ---- GFP zone selection, zonelist fallback, lowmem reserve --------------- */

static void expect_zone(struct mm_machine *m, uint32_t gfp, unsigned order,
			int zone)
{
	struct mm_alloc_result r;

	ASSERT_EQ(alloc_checked(m, gfp, order, 0, -1, &r), 0);
	ASSERT_EQ(r.zone, zone);
	ASSERT_EQ(mm_free_pages(m, r.pfn, order, 0), 0);
}

TEST(buddy_gfp_zone_x86_64)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct mm_alloc_result r;

	for (unsigned o = 0; o <= 3; o += 3) {
		expect_zone(m, MM_GFP_DMA, o, X_DMA);
		expect_zone(m, MM_GFP_KERNEL | MM_GFP_DMA, o, X_DMA);
		expect_zone(m, MM_GFP_DMA32, o, X_DMA32);
		expect_zone(m, MM_GFP_ATOMIC | MM_GFP_DMA32, o, X_DMA32);
		/* No ZONE_NORMAL below 4 GiB: DMA32 is the highest zone. */
		expect_zone(m, MM_GFP_KERNEL, o, X_DMA32);
		expect_zone(m, MM_GFP_HIGHUSER_MOVABLE, o, X_DMA32);
	}
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_DMA | MM_GFP_DMA32, 0, 0, -1, &r),
		  -MM_EINVAL);
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL | MM___GFP_MOVABLE |
					    MM___GFP_RECLAIMABLE, 0, 0, -1, &r),
		  -MM_EINVAL);
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 2, -1, &r), -MM_EINVAL);
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, -1, -1, &r), -MM_EINVAL);
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, 1, &r), -MM_EINVAL);
	tu_check(m, "after zone selection");
	mm_machine_destroy(m);
}

TEST(buddy_gfp_zone_i386)
{
	struct mm_config c = tu_config(MM_ARCH_I386, 1024 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct blks b = {0};

	for (unsigned o = 0; o <= 3; o += 3) {
		expect_zone(m, MM_GFP_HIGHUSER, o, I_HIGHMEM);
		/* ZONE_MOVABLE is empty: the zonelist starts at HighMem. */
		expect_zone(m, MM_GFP_HIGHUSER_MOVABLE, o, I_HIGHMEM);
		expect_zone(m, MM_GFP_KERNEL, o, I_NORMAL);
		expect_zone(m, MM_GFP_USER, o, I_NORMAL);
		/* No ZONE_DMA32 on i386: __GFP_DMA32 means ZONE_NORMAL. */
		expect_zone(m, MM_GFP_DMA32, o, I_NORMAL);
		expect_zone(m, MM_GFP_DMA, o, I_DMA);
	}

	/* GFP_KERNEL never reaches HighMem, not even with lowmem exhausted
	 * (alloc_checked() asserts zone <= Normal for every block). */
	struct mm_zone *high = &m->nodes[0].zones[I_HIGHMEM];
	mm_drain_all_pages(m);
	int64_t high_free = zone_free(high);
	alloc_everything(m, MM_GFP_KERNEL, 0, -1, &b);
	alloc_everything(m, MM_GFP_KERNEL, 1, -1, &b);
	ASSERT_GT(b.n, 200);
	ASSERT_EQ(zone_free(high), high_free);
	ASSERT_EQ(zone_pcp(m, high), 0);
	for (size_t i = 0; i < b.n; i++)
		ASSERT_LE(mm_page_zone(m, b.v[i].pfn)->idx, I_NORMAL);
	/* ... while GFP_HIGHUSER still gets HighMem. */
	expect_zone(m, MM_GFP_HIGHUSER, 0, I_HIGHMEM);
	free_shuffled(m, &b, 3);
	tu_check(m, "after GFP_KERNEL exhaustion");
	free(b.v);
	mm_machine_destroy(m);
}

/*
 * Allocates with gfp, orders 10 down to 0, until each fails; when exact,
 * predicts every allocation's zone from the watermarks and the zonelist
 * order first (whenever the fast or slow pass can succeed).  Counts the
 * blocks per zone type in per_zone.
 */
static void exhaust_predicted(struct mm_machine *m, uint32_t gfp, bool exact,
			      struct blks *b, size_t per_zone[MM_MAX_ZONES])
{
	for (int o = MM_MAX_ORDER; o >= 0; o--) {
		for (uint32_t i = 0; i <= m->nr_pfns; i++) {
			struct mm_alloc_result r;
			const struct mm_zone *want = NULL;
			if (exact)
				want = predict_zone(m, 0, gfp, (unsigned)o);
			int rc = alloc_checked(m, gfp, (unsigned)o, 0, -1, &r);
			if (want) {
				ASSERT_EQ(rc, 0);
				ASSERT_EQ(r.zone, want->idx);
			}
			if (rc == -MM_ENOMEM)
				break;
			ASSERT_EQ(rc, 0);
			per_zone[r.zone]++;
			blks_push(b, r.pfn, (unsigned)o);
		}
	}
}

TEST(buddy_zonelist_fallback)
{
	/* i386 1 GiB: HighMem -> Normal -> DMA for GFP_HIGHUSER; x86_64
	 * 64 MiB: DMA32 -> DMA for GFP_KERNEL. */
	static const struct {
		enum mm_arch arch;
		uint64_t mib;
		uint32_t gfp;
		int zones;
	} cases[] = {
		{MM_ARCH_I386, 1024, MM_GFP_HIGHUSER, 3},
		{MM_ARCH_X86_64, 64, MM_GFP_KERNEL, 2},
	};

	for (size_t s = 0; s < sizeof(cases) / sizeof(cases[0]); s++) {
		struct mm_config c = tu_config(cases[s].arch, cases[s].mib * MIB);
		struct mm_machine *m = tu_machine(&c);
		const struct mm_node *nd = &m->nodes[0];
		struct blks b = {0};
		size_t per_zone[MM_MAX_ZONES] = {0};

		/* The zonelist: populated zones, highest first. */
		ASSERT_EQ(nd->zonelist_len, cases[s].zones);
		for (int i = 0; i < nd->zonelist_len; i++)
			ASSERT_EQ(nd->zonelist[i]->idx, cases[s].zones - 1 - i);
		exhaust_predicted(m, cases[s].gfp, true, &b, per_zone);
		for (int zi = 0; zi < cases[s].zones; zi++)
			ASSERT_GT(per_zone[zi], 0);
		tu_check(m, "with the zonelist exhausted");
		free_shuffled(m, &b, 5);
		tu_check(m, "after the fallback test");
		free(b.v);
		mm_machine_destroy(m);
	}
}

TEST(buddy_lowmem_reserve)
{
	struct blks b = {0};
	size_t per_zone[MM_MAX_ZONES] = {0};
	struct mm_alloc_result r;

	/* x86_64 5 GiB: ZONE_DMA's reserve against Normal and DMA32
	 * allocations exceeds the zone, so GFP_KERNEL and GFP_DMA32 never
	 * touch it, exhausting Normal then DMA32; GFP_DMA still can. */
	struct mm_config c = tu_config(MM_ARCH_X86_64, 5120 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct mm_zone *dma = &m->nodes[0].zones[X_DMA];
	ASSERT_GE(dma->lowmem_reserve[X_DMA32] + dma->wmark[MM_WMARK_MIN],
		  dma->managed);
	int64_t dma_free = zone_free(dma);
	/* (Normal is preferred: ALLOC_NOFRAGMENT may pick DMA32 first.) */
	exhaust_predicted(m, MM_GFP_KERNEL, false, &b, per_zone);
	ASSERT_GT(per_zone[X_NORMAL], 0);
	ASSERT_GT(per_zone[X_DMA32], 0);
	ASSERT_EQ(per_zone[X_DMA], 0);
	ASSERT_EQ(zone_free(dma), dma_free);
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 1, -1, &r), -MM_ENOMEM);
	/* DMA32 keeps lowmem_reserve[Normal] against GFP_KERNEL; a
	 * DMA32 request may have those, but still no DMA page. */
	struct mm_zone *dma32 = &m->nodes[0].zones[X_DMA32];
	ASSERT_GT(dma32->lowmem_reserve[X_NORMAL], 0);
	memset(per_zone, 0, sizeof(per_zone));
	exhaust_predicted(m, MM_GFP_KERNEL | MM_GFP_DMA32, true, &b, per_zone);
	ASSERT_GT(per_zone[X_DMA32], 0);
	ASSERT_EQ(per_zone[X_DMA], 0);
	ASSERT_EQ(zone_free(dma), dma_free);
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_DMA32, 0, 0, -1, &r), -MM_ENOMEM);
	expect_zone(m, MM_GFP_DMA, 0, X_DMA);
	tu_check(m, "with DMA protected");
	free_shuffled(m, &b, 11);
	mm_machine_destroy(m);

	/* i386 1 GiB: GFP_KERNEL may use ZONE_DMA down to min +
	 * lowmem_reserve[Normal] and not one page further. */
	c = tu_config(MM_ARCH_I386, 1024 * MIB);
	m = tu_machine(&c);
	dma = &m->nodes[0].zones[I_DMA];
	memset(per_zone, 0, sizeof(per_zone));
	exhaust_predicted(m, MM_GFP_KERNEL, true, &b, per_zone);
	ASSERT_GT(per_zone[I_DMA], 0);
	int64_t limit = (int64_t)(mm_wmark_pages(dma, MM_WMARK_MIN) +
				  dma->lowmem_reserve[I_NORMAL]);
	ASSERT_GT(dma->lowmem_reserve[I_NORMAL], 0);
	ASSERT_EQ(zone_pcp(m, dma), 0);
	ASSERT_LE(zone_free(dma), limit);
	ASSERT_GT(zone_free(dma) + (dma->pcp[0].batch << 5), limit);
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &r), -MM_ENOMEM);
	/* The protected pages are there for GFP_DMA. */
	expect_zone(m, MM_GFP_DMA, 0, I_DMA);
	expect_zone(m, MM_GFP_DMA, 3, I_DMA);
	tu_check(m, "with DMA at its protection");
	free_shuffled(m, &b, 13);
	tu_check(m, "after the lowmem_reserve test");
	free(b.v);
	mm_machine_destroy(m);
}

/* ---- migratetype fallback: claim and steal ---------------------------- */

TEST(buddy_migratetype_claim)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct mm_zone *z = &m->nodes[0].zones[X_DMA32];
	unsigned long before[MM_MIGRATE_TYPES], after[MM_MIGRATE_TYPES];
	struct mm_alloc_result r;

	/* At boot every pageblock is Movable (memmap_init()). */
	ASSERT(!m->mobility_disabled);
	for (uint32_t pfn = z->start_pfn; pfn < z->start_pfn + z->spanned;
	     pfn += 512)
		ASSERT_EQ(mm_pageblock_migratetype(m, pfn), MM_MIGRATE_MOVABLE);
	pagetype_blocks(m, 0, "DMA32", before);
	ASSERT_EQ(before[MM_MIGRATE_UNMOVABLE], 0);
	ASSERT_EQ(before[MM_MIGRATE_MOVABLE], z->spanned / 512);

	/* GFP_KERNEL finds no Unmovable block: __rmqueue_claim() takes the
	 * largest Movable block, order 10 = two pageblocks, and retypes it. */
	ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 0, 0, -1, &r), 0);
	ASSERT_EQ(r.zone, X_DMA32);
	ASSERT_EQ(mm_pageblock_migratetype(m, r.pfn), MM_MIGRATE_UNMOVABLE);
	ASSERT_EQ(mm_pageblock_migratetype(m, r.pfn ^ 512),
		  MM_MIGRATE_UNMOVABLE);
	pagetype_blocks(m, 0, "DMA32", after);
	ASSERT_EQ(after[MM_MIGRATE_UNMOVABLE], 2);
	ASSERT_EQ(after[MM_MIGRATE_MOVABLE], before[MM_MIGRATE_MOVABLE] - 2);
	/* The rest of the claimed block sits on the Unmovable lists. */
	for (unsigned o = 1; o < MM_MAX_ORDER; o++)
		ASSERT_EQ(z->free_area[o].free_list[MM_MIGRATE_UNMOVABLE].count,
			  1);

	/* Reclaimable claims its own pageblocks the same way. */
	ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL | MM___GFP_RECLAIMABLE, 0, 0,
				-1, &r), 0);
	ASSERT_EQ(mm_pageblock_migratetype(m, r.pfn), MM_MIGRATE_RECLAIMABLE);
	pagetype_blocks(m, 0, "DMA32", after);
	ASSERT_EQ(after[MM_MIGRATE_RECLAIMABLE], 2);
	ASSERT_EQ(after[MM_MIGRATE_MOVABLE], before[MM_MIGRATE_MOVABLE] - 4);
	tu_check(m, "after the claims");
	mm_machine_destroy(m);
}

/*
 * A 16 MiB x86_64 machine whose only free memory is the order-10 block *u,
 * all of it in Unmovable pageblocks.  Its min watermark is 0 and its high
 * one large, so that a watermark boost (from a claim attempt of a block
 * below pageblock order) would show.
 */
static struct mm_machine *unmovable_only(struct blks *held, uint32_t *u)
{
	struct mm_config c = cfg_nowmark(MM_ARCH_X86_64, 16, 1);
	c.watermark_scale_factor = 3000;
	struct mm_machine *m = tu_machine(&c);
	struct mm_zone *z = &m->nodes[0].zones[X_DMA];
	struct blks unmov = {0};

	ASSERT(!m->mobility_disabled);
	ASSERT_EQ(z->wmark[MM_WMARK_MIN], 0);
	ASSERT_GT(z->wmark[MM_WMARK_HIGH], 1000);
	/* Unmovable order-10 allocations claim whole Movable blocks. */
	ASSERT_GE(alloc_until_fail(m, MM_GFP_KERNEL, MM_MAX_ORDER, 0, -1,
				   &unmov), 1);
	/* The rest of the zone goes to movable allocations. */
	alloc_everything(m, MM_GFP_HIGHUSER_MOVABLE, 0, -1, held);
	ASSERT_EQ(zone_free(z), 0);
	ASSERT_EQ(zone_pcp(m, z), 0);
	*u = unmov.v[0].pfn;
	for (uint32_t i = 0; i < 1024; i += 512)
		ASSERT_EQ(mm_pageblock_migratetype(m, *u + i),
			  MM_MIGRATE_UNMOVABLE);
	ASSERT_EQ(mm_free_pages(m, *u, MM_MAX_ORDER, 0), 0);
	ASSERT_EQ(z->free_area[MM_MAX_ORDER].free_list[MM_MIGRATE_UNMOVABLE]
			  .count, 1);
	ASSERT_EQ(zone_free(z), 1024);
	ASSERT_EQ(z->watermark_boost, 0);
	for (size_t i = 1; i < unmov.n; i++)
		blks_push(held, unmov.v[i].pfn, unmov.v[i].order);
	free(unmov.v);
	tu_check(m, "with only an Unmovable block free");
	return m;
}

TEST(buddy_migratetype_steal)
{
	struct blks held = {0};
	uint32_t u;
	struct mm_alloc_result r;
	unsigned long before[MM_MIGRATE_TYPES], after[MM_MIGRATE_TYPES];

	/* A whole free Unmovable order-10 block: a movable request claims
	 * it (current order >= pageblock_order), both pageblocks turn
	 * Movable. */
	struct mm_machine *m = unmovable_only(&held, &u);
	pagetype_blocks(m, 0, "DMA", before);
	ASSERT_EQ(alloc_checked(m, MM_GFP_HIGHUSER_MOVABLE, 0, 1, -1, &r), 0);
	ASSERT_EQ(r.pfn, u);
	ASSERT_EQ(mm_pageblock_migratetype(m, u), MM_MIGRATE_MOVABLE);
	ASSERT_EQ(mm_pageblock_migratetype(m, u + 512), MM_MIGRATE_MOVABLE);
	pagetype_blocks(m, 0, "DMA", after);
	ASSERT_EQ(after[MM_MIGRATE_MOVABLE], before[MM_MIGRATE_MOVABLE] + 2);
	ASSERT_EQ(after[MM_MIGRATE_UNMOVABLE], before[MM_MIGRATE_UNMOVABLE] - 2);
	/* Whole-block claims do not boost the watermarks. */
	ASSERT_EQ(m->nodes[0].zones[X_DMA].watermark_boost, 0);
	tu_check(m, "after the movable claim");
	free(held.v);
	mm_machine_destroy(m);

	/* Only small Unmovable blocks (order 3 < pageblock_order / 2): a
	 * movable request does not claim (should_try_claim_block() is
	 * false), it steals the smallest block and leaves the pageblock
	 * and the split remainders Unmovable. */
	held.v = NULL;
	held.n = held.cap = 0;
	m = unmovable_only(&held, &u);
	struct mm_zone *z = &m->nodes[0].zones[X_DMA];
	for (int j = MM_MAX_ORDER - 1; j >= 3; j--) {
		ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, (unsigned)j, 0, -1, &r),
			  0);
		ASSERT_EQ(r.pfn, u + 1024 - (2u << j));
	}
	uint32_t lone = u + 1024 - 8;
	ASSERT_EQ(zone_free(z), 8);
	ASSERT_EQ(z->free_area[3].free_list[MM_MIGRATE_UNMOVABLE].head, lone);
	ASSERT_EQ(z->watermark_boost, 0);
	pagetype_blocks(m, 0, "DMA", before);
	ASSERT_EQ(alloc_checked(m, MM_GFP_HIGHUSER_MOVABLE, 0, 1, -1, &r), 0);
	ASSERT_EQ(r.pfn, lone);
	ASSERT_EQ(mm_pageblock_migratetype(m, lone), MM_MIGRATE_UNMOVABLE);
	pagetype_blocks(m, 0, "DMA", after);
	ASSERT_EQ(memcmp(before, after, sizeof(before)), 0);
	for (unsigned o = 0; o < MM_NR_ORDERS; o++) {
		ASSERT_EQ(z->free_area[o].free_list[MM_MIGRATE_UNMOVABLE].count,
			  o < 3);
		ASSERT_EQ(z->free_area[o].free_list[MM_MIGRATE_MOVABLE].count, 0);
	}
	/* No claim was even tried (try_to_claim_block() would have boosted
	 * the watermarks before finding the block too full to take). */
	ASSERT_EQ(z->watermark_boost, 0);
	/* Order 1 steals the same way. */
	ASSERT_EQ(alloc_checked(m, MM_GFP_HIGHUSER_MOVABLE, 1, 1, -1, &r), 0);
	ASSERT_EQ(r.pfn, lone + 2);
	ASSERT_EQ(mm_pageblock_migratetype(m, lone), MM_MIGRATE_UNMOVABLE);
	tu_check(m, "after stealing");
	free(held.v);
	mm_machine_destroy(m);
}

/* ---- per-CPU lists --------------------------------------------------------- */

static bool on_list(const struct mm_machine *m, const struct mm_plist *l,
		    uint32_t pfn)
{
	uint32_t p = l->head;

	for (uint32_t i = 0; i < l->count && p != MM_NIL; i++) {
		if (p == pfn)
			return true;
		p = m->pages[p].lru_next;
	}
	return false;
}

TEST(buddy_pcp_lists)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct mm_zone *z = &m->nodes[0].zones[X_DMA32];
	struct mm_pcp *p0 = &z->pcp[0], *p1 = &z->pcp[1];
	struct mm_alloc_result r;
	struct blks b = {0};
	const int mt = MM_MIGRATE_UNMOVABLE;

	ASSERT_GT(p0->batch, 1);
	mm_drain_all_pages(m); /* (boot-time page tables may use the lists) */
	ASSERT_EQ(all_pcp(m), 0);
	uint64_t boot_free = mm_nr_free_pages(m);

	/* The first order-0 allocation refills cpu 0's list with a batch. */
	int64_t free0 = zone_free(z);
	ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 0, 0, -1, &r), 0);
	ASSERT_EQ(r.zone, X_DMA32);
	blks_push(&b, r.pfn, 0);
	ASSERT_GT(p0->count, 0);
	ASSERT_EQ(p0->count, p0->lists[mt].count);
	ASSERT_GT(free0 - zone_free(z), 1);
	ASSERT_EQ(free0 - zone_free(z), p0->count + 1);
	ASSERT_EQ(p1->count, 0);
	/* The list is in pfn order (rmqueue_bulk() appends), the page
	 * handed out was its head. */
	for (uint32_t p = p0->lists[mt].head; m->pages[p].lru_next != MM_NIL;
	     p = m->pages[p].lru_next)
		ASSERT_LT(p, m->pages[p].lru_next);
	ASSERT(mm_page_test(&m->pages[p0->lists[mt].head], MM_PG_pcp));

	/* cpu 1 gets its own list, disjoint from cpu 0's. */
	int32_t c0 = p0->count;
	ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 0, 1, -1, &r), 0);
	blks_push(&b, r.pfn, 0);
	ASSERT_GT(p1->count, 0);
	ASSERT_EQ(p0->count, c0);
	ASSERT(!on_list(m, &p0->lists[mt], r.pfn));
	for (uint32_t p = p1->lists[mt].head; p != MM_NIL;
	     p = m->pages[p].lru_next)
		ASSERT(!on_list(m, &p0->lists[mt], p));

	/* Frees go to the head of the freeing cpu's list; the zone's free
	 * count does not move. */
	int64_t fz = zone_free(z);
	int32_t c1 = p1->count;
	ASSERT_EQ(mm_free_pages(m, b.v[0].pfn, 0, 1), 0);
	ASSERT_EQ(p1->count, c1 + 1);
	ASSERT_EQ(p0->count, c0);
	ASSERT_EQ(p1->lists[mt].head, b.v[0].pfn);
	ASSERT(mm_page_test(&m->pages[b.v[0].pfn], MM_PG_pcp));
	ASSERT_EQ(zone_free(z), fz);
	ASSERT_EQ(mm_free_pages(m, b.v[1].pfn, 0, 0), 0);
	ASSERT_EQ(p0->count, c0 + 1);
	ASSERT_EQ(p0->lists[mt].head, b.v[1].pfn);
	b.n = 0;
	/* ... and the next allocation on that cpu takes it back (LIFO: the
	 * cache-hot page first). */
	ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 0, 1, -1, &r), 0);
	ASSERT_EQ(r.pfn, b.v[0].pfn);
	ASSERT_EQ(p1->count, c1);
	ASSERT_EQ(mm_free_pages(m, r.pfn, 0, 1), 0);
	tu_check(m, "after pcp frees");

	/* Filling the list past pcp->high bulk-frees to the buddy: the
	 * zone gains exactly what the list loses, and at least batch pages
	 * stay (nr_pcp_free()). */
	int32_t n = p0->high_max + 4 * p0->batch;
	for (int32_t i = 0; i < n; i++) {
		ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 0, 0, -1, &r), 0);
		blks_push(&b, r.pfn, 0);
	}
	mm_drain_all_pages(m);
	ASSERT_EQ(all_pcp(m), 0);
	int drains = 0;
	for (size_t i = 0; i < b.n; i++) {
		int32_t cnt = p0->count;
		fz = zone_free(z);
		ASSERT_EQ(mm_free_pages(m, b.v[i].pfn, 0, 0), 0);
		if (p0->count == cnt + 1) {
			ASSERT_EQ(zone_free(z), fz);
			continue;
		}
		drains++;
		ASSERT_LT(p0->count, cnt + 1);
		ASSERT_GE(cnt + 1, p0->high_min);
		ASSERT_GE(p0->count, p0->batch);
		ASSERT_EQ(zone_free(z) - fz, cnt + 1 - p0->count);
		ASSERT_LE(p0->count, p0->high_max);
	}
	ASSERT_GT(drains, 0);
	ASSERT_GT(p0->count, 0);
	b.n = 0;

	/* drain_all_pages() empties every list of every zone. */
	ASSERT_EQ(alloc_checked(m, MM_GFP_DMA, 0, 1, -1, &r), 0);
	ASSERT_EQ(mm_free_pages(m, r.pfn, 0, 1), 0);
	ASSERT_GT(zone_pcp(m, &m->nodes[0].zones[X_DMA]), 0);
	mm_drain_all_pages(m);
	ASSERT_EQ(all_pcp(m), 0);
	for (int zi = 0; zi < m->nr_zone_types; zi++)
		for (int cpu = 0; cpu < m->cfg.cpus; cpu++) {
			const struct mm_pcp *pcp = &m->nodes[0].zones[zi].pcp[cpu];
			for (int t = 0; t < MM_MIGRATE_PCPTYPES; t++)
				ASSERT_EQ(pcp->lists[t].head, MM_NIL);
		}
	ASSERT_EQ_U64(mm_nr_free_pages(m), boot_free);
	tu_check(m, "after drain_all_pages");
	mm_machine_destroy(m);

	/* With a small high mark (watermarks 0: high_min = 4 * batch, and
	 * cpu 0 never allocates, which would raise it) the bulk free is
	 * capped at high - batch: "leave at least pcp->batch pages on the
	 * list". */
	c = cfg_nowmark(MM_ARCH_X86_64, 16, 1);
	m = tu_machine(&c);
	z = &m->nodes[0].zones[X_DMA];
	p0 = &z->pcp[0];
	for (int i = 0; i < 200; i++) {
		ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 0, 1, -1, &r), 0);
		blks_push(&b, r.pfn, 0);
	}
	mm_drain_all_pages(m);
	ASSERT_EQ(p0->batch, 1);
	ASSERT_LT(p0->high_min, 32);
	drains = 0;
	for (size_t i = 0; i < b.n; i++) {
		int32_t cnt = p0->count;
		ASSERT_EQ(mm_free_pages(m, b.v[i].pfn, 0, 0), 0);
		if (p0->count == cnt + 1)
			continue;
		drains++;
		ASSERT_GE(p0->count, p0->batch);
	}
	ASSERT_GT(drains, 1);
	b.n = 0;
	tu_check(m, "after small-high drains");
	free(b.v);
	mm_machine_destroy(m);
}

/* ---- watermarks --------------------------------------------------------- */

/*
 * The order-0 watermark of zone_ok() with the slow path's flags as one
 * number: the allocation passes iff free > it (no HighAtomic pages here).
 */
static int64_t order0_limit(const struct mm_zone *z, uint32_t gfp, int hz)
{
	unsigned f = slow_flags(gfp, 0);
	int64_t lim = -1;

	for (int boosted = 1; boosted >= 0; boosted--) {
		int64_t min = (int64_t)z->wmark[MM_WMARK_MIN] +
			      (boosted ? (int64_t)z->watermark_boost : 0);
		if (f & AF_MIN_RESERVE) {
			min -= min / 2;
			if (f & AF_NON_BLOCK)
				min -= min / 4;
		}
		if (lim < 0 || min < lim)
			lim = min;
		/* The boost is ignored only for ALLOC_MIN_RESERVE. */
		if (!(f & AF_MIN_RESERVE) || !z->watermark_boost)
			break;
	}
	return lim + (int64_t)z->lowmem_reserve[hz];
}

/*
 * Order-0 allocations with gfp until -ENOMEM, each one's zone (or its
 * failure) predicted from the watermarks.  last_limit[zone type] gets the
 * order0_limit() in force at the zone's last successful allocation.
 */
static void order0_until_fail(struct mm_machine *m, uint32_t gfp,
			      struct blks *b, int64_t last_limit[MM_MAX_ZONES])
{
	bool drains = gfp & MM___GFP_DIRECT_RECLAIM;
	int hz = gfp_highest_zone(m->cfg.arch, gfp);

	for (uint32_t i = 0; i <= m->nr_pfns; i++) {
		struct mm_alloc_result r;
		const struct mm_zone *want = predict_zone(m, 0, gfp, 0);
		int64_t limits[MM_MAX_ZONES];
		for (int zi = 0; zi < m->nr_zone_types; zi++)
			limits[zi] = order0_limit(&m->nodes[0].zones[zi], gfp,
						  hz);
		int rc = alloc_checked(m, gfp, 0, 0, -1, &r);
		if (want) {
			ASSERT_EQ(rc, 0);
			ASSERT_EQ(r.zone, want->idx);
		} else if (!drains || all_pcp(m) == 0) {
			/* Without a drain nothing changes before failing. */
			ASSERT_EQ(rc, -MM_ENOMEM);
		}
		if (rc == -MM_ENOMEM)
			return;
		ASSERT_EQ(rc, 0);
		last_limit[r.zone] = limits[r.zone];
		blks_push(b, r.pfn, 0);
	}
	th_fail(__FILE__, __LINE__, "order-0 allocations never failed");
}

TEST(buddy_watermarks)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct mm_zone *zones[2] = {&m->nodes[0].zones[X_DMA32],
				    &m->nodes[0].zones[X_DMA]};
	struct blks b = {0};
	struct mm_alloc_result r;
	int64_t last[MM_MAX_ZONES];
	const int hz = X_NORMAL; /* gfp_zone() of GFP_KERNEL and GFP_ATOMIC */
	mm_drain_all_pages(m);
	uint64_t boot_free = mm_nr_free_pages(m);

	/* GFP_KERNEL stops at min (+ boost) + lowmem_reserve[Normal] in each
	 * zone; the failing call drained the per-CPU lists first.  The last
	 * refill of a zone may have taken it below by at most one batch
	 * (batch << PCP_BATCH_SCALE_MAX pages). */
	order0_until_fail(m, MM_GFP_KERNEL, &b, last);
	ASSERT_EQ(all_pcp(m), 0);
	for (int i = 0; i < 2; i++) {
		struct mm_zone *z = zones[i];
		int64_t limit = (int64_t)(mm_wmark_pages(z, MM_WMARK_MIN) +
					  z->lowmem_reserve[hz]);
		ASSERT_EQ(order0_limit(z, MM_GFP_KERNEL, hz), limit);
		ASSERT_LE(zone_free(z), limit);
		ASSERT_GT(zone_free(z) + (z->pcp[0].batch << 5), last[z->idx]);
	}
	ASSERT_GT(zones[1]->lowmem_reserve[hz], 0);

	/* The boundary is exact: with free == mark + reserve the zone
	 * fails, with one page more it serves the allocation.  (Pages of
	 * Unmovable pageblocks are given back, so the refill takes them from
	 * its own list and no claim can move the boost.) */
	struct mm_zone *z = zones[0];
	int64_t limit = order0_limit(z, MM_GFP_KERNEL, hz);
	for (int extra = 0; extra <= 1; extra++) {
		int64_t need = limit + extra - zone_free(z);
		for (size_t i = b.n; i-- > 0 && need > 0;) {
			if (mm_page_zone(m, b.v[i].pfn) != z ||
			    mm_pageblock_migratetype(m, b.v[i].pfn) !=
				    MM_MIGRATE_UNMOVABLE)
				continue;
			ASSERT_EQ(mm_free_pages(m, b.v[i].pfn, 0, 0), 0);
			b.v[i] = b.v[--b.n];
			need--;
		}
		ASSERT_EQ(need, 0);
		mm_drain_all_pages(m);
		ASSERT_EQ(zone_free(z), limit + extra);
		ASSERT(predict_zone(m, 0, MM_GFP_KERNEL, 0) ==
		       (extra ? z : NULL));
		int rc = alloc_checked(m, MM_GFP_KERNEL, 0, 0, -1, &r);
		if (!extra) {
			ASSERT_EQ(rc, -MM_ENOMEM);
			continue;
		}
		ASSERT_EQ(rc, 0);
		ASSERT(mm_page_zone(m, r.pfn) == z);
		blks_push(&b, r.pfn, 0);
	}

	/* GFP_ATOMIC (ALLOC_MIN_RESERVE | ALLOC_NON_BLOCK) goes on down to
	 * min - min/2 - (min - min/2)/4, about 3/8 of min (of the unboosted
	 * min for order 0).  It does not drain: pages stay on the lists. */
	for (int i = 0; i < 2; i++)
		last[zones[i]->idx] = INT64_MAX / 2;
	order0_until_fail(m, MM_GFP_ATOMIC, &b, last);
	for (int i = 0; i < 2; i++) {
		z = zones[i];
		int64_t min = (int64_t)z->wmark[MM_WMARK_MIN];
		int64_t amin = min - min / 2;
		amin -= amin / 4;
		int64_t alimit = order0_limit(z, MM_GFP_ATOMIC, hz);
		ASSERT_LE(alimit, amin + (int64_t)z->lowmem_reserve[hz] +
					  (int64_t)z->watermark_boost);
		ASSERT_LE(zone_free(z), alimit);
		ASSERT_LT(alimit, order0_limit(z, MM_GFP_KERNEL, hz));
		if (last[z->idx] < INT64_MAX / 2)
			ASSERT_GT(zone_free(z) + (z->pcp[0].batch << 5),
				  last[z->idx]);
		ASSERT_LE(8 * amin, 3 * min + 16);
		ASSERT_GE(8 * amin, 3 * min - 16);
	}
	ASSERT_LT(zone_free(zones[0]), order0_limit(zones[0], MM_GFP_KERNEL, hz));
	tu_check(m, "at the atomic watermark");
	free_shuffled(m, &b, 17);
	mm_drain_all_pages(m);
	ASSERT_EQ_U64(mm_nr_free_pages(m), boot_free);
	tu_check(m, "after the watermark test");
	free(b.v);
	mm_machine_destroy(m);
}

/* ---- bad frees ------------------------------------------------------ */

static void expect_bad_free(struct mm_machine *m, uint32_t pfn, unsigned order,
			    int cpu)
{
	char before[MM_DIGEST_HEX], after[MM_DIGEST_HEX];

	mm_digest(m, before);
	ASSERT_EQ(mm_free_pages(m, pfn, order, cpu), -MM_EINVAL);
	mm_digest(m, after);
	ASSERT_EQ_STR(after, before);
}

TEST(buddy_free_errors)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct mm_alloc_result r;
	uint32_t a0, a0b, a3, a10;

	mm_drain_all_pages(m);
	uint64_t boot_free = mm_nr_free_pages(m);

	ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 0, 0, -1, &r), 0);
	a0 = r.pfn;
	ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 0, 0, -1, &r), 0);
	a0b = r.pfn;
	ASSERT_EQ(alloc_checked(m, MM_GFP_KERNEL, 3, 0, -1, &r), 0);
	a3 = r.pfn;
	ASSERT_EQ(alloc_checked(m, MM_GFP_HIGHUSER_MOVABLE, 10, 0, -1, &r), 0);
	a10 = r.pfn;

	/* Double frees: an order-3 block back on the buddy lists, an
	 * order-0 page on a per-CPU list, a page that is on both. */
	ASSERT_EQ(mm_free_pages(m, a3, 3, 0), 0);
	expect_bad_free(m, a3, 3, 0);
	expect_bad_free(m, a3, 0, 1);
	ASSERT_EQ(mm_free_pages(m, a0, 0, 0), 0);
	ASSERT(mm_page_test(&m->pages[a0], MM_PG_pcp));
	expect_bad_free(m, a0, 0, 0);
	expect_bad_free(m, a0, 0, 1);
	mm_drain_all_pages(m);
	expect_bad_free(m, a0, 0, 0);
	uint32_t buddy = 1;
	while (!mm_page_test(&m->pages[buddy], MM_PG_buddy) ||
	       m->pages[buddy].private == 0)
		buddy++;
	expect_bad_free(m, buddy, m->pages[buddy].private, 0);
	expect_bad_free(m, buddy, 0, 0);

	/* Wrong order for a live block. */
	expect_bad_free(m, a10, 9, 0);
	expect_bad_free(m, a10, 0, 0);
	expect_bad_free(m, a10, MM_MAX_ORDER + 1, 0);
	expect_bad_free(m, a0b, 1 + (a0b & 1), 0);
	/* Inside a block: tail pages, aligned or not. */
	expect_bad_free(m, a10 + 1, 0, 0);
	expect_bad_free(m, a10 + 8, 3, 0);
	expect_bad_free(m, a10 + 512, 9, 0);
	expect_bad_free(m, a10 + 1, 1, 0);
	expect_bad_free(m, a10 + 3, 10, 0);
	/* Reserved frames: the BIOS page, the low 64 KiB, the memmap at the
	 * top of the node, the VGA hole. */
	expect_bad_free(m, 0, 0, 0);
	expect_bad_free(m, 1, 0, 0);
	ASSERT(mm_page_test(&m->pages[m->nr_pfns - 1], MM_PG_reserved));
	expect_bad_free(m, m->nr_pfns - 1, 0, 0);
	expect_bad_free(m, 200, 0, 0);
	/* Out of range, bad cpus. */
	expect_bad_free(m, m->nr_pfns, 0, 0);
	expect_bad_free(m, m->nr_pfns + 1024, 10, 0);
	expect_bad_free(m, UINT32_MAX, 0, 0);
	expect_bad_free(m, a10, 10, -1);
	expect_bad_free(m, a10, 10, m->cfg.cpus);
	tu_check(m, "after the bad frees");

	/* The live blocks are still good. */
	ASSERT_EQ(mm_free_pages(m, a10, 10, 1), 0);
	ASSERT_EQ(mm_free_pages(m, a0b, 0, 1), 0);
	mm_drain_all_pages(m);
	ASSERT_EQ_U64(mm_nr_free_pages(m), boot_free);
	tu_check(m, "after the good frees");
	mm_machine_destroy(m);
}

/*
 * mm__rmqueue_run() (the per-CPU refill's bulk take) against the calls it
 * stands for: two machines built by the same seeded alloc/free sequence,
 * one takes `want` order-0 pages by runs, the other by one __rmqueue()
 * call per page; both must hand out the same pfns in the same order and
 * end in the same state (digest: every frame's flags, order, list links,
 * every free list and counter).  The wants cross block sizes and run the
 * zone's own-type blocks out, into the fallback.
 */
TEST(buddy_rmqueue_run_equals_single_calls)
{
	static const uint32_t wants[] = {1, 2, 3, 5, 31, 64, 100, 513, 2048,
					 4000};
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64 * MIB);

	for (uint64_t seed = 1; seed <= 4; seed++) {
		struct mm_machine *ma = tu_machine(&c), *mb = tu_machine(&c);
		for (int k = 0; k < 2; k++) {
			struct mm_machine *m = k ? mb : ma;
			uint64_t s = seed;
			struct mm_alloc_result r[256];
			unsigned ord[256];
			int n = 0;
			for (int i = 0; i < 600; i++) {
				if (n < 256 && rng_below(&s, 3)) {
					ord[n] = rng_below(&s, 5);
					uint32_t gfp = rng_below(&s, 2)
						       ? MM_GFP_KERNEL
						       : MM_GFP_HIGHUSER_MOVABLE;
					if (!mm_alloc_pages(m, gfp, ord[n], 0, -1, &r[n]))
						n++;
				} else if (n) {
					int j = (int)rng_below(&s, (uint32_t)n);
					ASSERT_EQ(mm_free_pages(m, r[j].pfn, ord[j], 0), 0);
					r[j] = r[--n];
					ord[j] = ord[n];
				}
			}
		}
		char da[MM_DIGEST_HEX], db[MM_DIGEST_HEX];
		mm_digest(ma, da);
		mm_digest(mb, db);
		ASSERT_EQ_STR(da, db);
		struct mm_zone *za = &ma->nodes[0].zones[X_DMA32];
		struct mm_zone *zb = &mb->nodes[0].zones[X_DMA32];
		for (size_t w = 0; w < sizeof(wants) / sizeof(wants[0]); w++) {
			int mt = w % 2 ? MM_MIGRATE_UNMOVABLE : MM_MIGRATE_MOVABLE;
			uint32_t got = 0;
			while (got < wants[w]) {
				uint32_t n, pfn = mm__rmqueue_run(
					ma, za, mt, MM_ALLOC_WMARK_LOW,
					wants[w] - got, &n);
				if (pfn == MM_NIL)
					break;
				ASSERT(n >= 1 && n <= wants[w] - got);
				for (uint32_t i = 0; i < n; i++, got++)
					ASSERT_EQ(mm__rmqueue(mb, zb, 0, mt,
							      MM_ALLOC_WMARK_LOW),
						  pfn + i);
			}
			if (got < wants[w])
				ASSERT_EQ(mm__rmqueue(mb, zb, 0, mt,
						      MM_ALLOC_WMARK_LOW),
					  MM_NIL);
			mm_digest(ma, da);
			mm_digest(mb, db);
			ASSERT_EQ_STR(da, db);
		}
		mm_machine_destroy(ma);
		mm_machine_destroy(mb);
	}
}
