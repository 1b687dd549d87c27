/*
 * test_check.c — the invariant checker (engine/check.c), the state digest
 * (engine/digest.c) and configuration validation (engine/config.c).
 *
 * What the tests prove:
 *   - each physical-memory invariant named in check.c's header (zone-span,
 *     list-links, buddy-flag, buddy-migratetype, buddy-orphan,
 *     buddy-overlap, buddy-unmerged, free-count, pcp-count, refcount,
 *     managed-count, highatomic-count, frame-owner) is detected: on a
 *     16 MiB machine with populated buddy and per-CPU lists the checker is
 *     clean; corrupting exactly one field makes mm_check() report that
 *     invariant by name (possibly among others); restoring the field makes
 *     it clean again — so the report is caused by that field alone;
 *   - the digest is a function of the state: equal for two machines built
 *     and driven identically, unchanged by read-only calls (renders, the
 *     checker), changed by any allocation or free and by a change of one
 *     field of each structure (frame, free list, pcp, zone, pageblock,
 *     watermark, RNG, clock, events, node counters, …), and back to the
 *     original value when the field is restored;
 *   - mm_config_validate() rejects bad memory sizes, node counts, node
 *     memory splits, asymmetric distance tables and zones_managed_pages of
 *     missing nodes with a message that starts with the offending key, and
 *     mm_machine_create() rejects a zones_managed_pages that does not fit,
 *     naming the zone, without touching *out.
 */
#include "tests/unit/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1ull << 20)
#define MAXV 256

/* ---- a small machine with populated lists -------------------------------- */

struct fixture {
	struct mm_machine *m;
	uint32_t kept[64];      /* order-0 pages still allocated */
	int nkept;
	uint32_t kept2;         /* an order-2 block still allocated */
};

/*
 * 16 MiB x86_64 (only ZONE_DMA), 2 cpus: allocate order-0 pages on both
 * cpus and a few order-2 blocks, free every other one (order-0 frees go to
 * the per-CPU lists), keep the rest.
 */
static void fixture_init(struct fixture *f)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 16 * MIB);
	struct mm_alloc_result r;
	uint32_t pfn[128];

	memset(f, 0, sizeof(*f));
	f->m = tu_machine(&c);
	for (int i = 0; i < 128; i++) {
		ASSERT_EQ(mm_alloc_pages(f->m, MM_GFP_KERNEL, 0, i % 2, -1, &r), 0);
		pfn[i] = r.pfn;
	}
	for (int i = 0; i < 128; i++) {
		if (i % 2 && f->nkept < 64)
			f->kept[f->nkept++] = pfn[i];
		else
			ASSERT_EQ(mm_free_pages(f->m, pfn[i], 0, i % 2), 0);
	}
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(mm_alloc_pages(f->m, MM_GFP_KERNEL, 2, 0, -1, &r), 0);
		if (i == 0)
			f->kept2 = r.pfn;
		else if (i % 2)
			ASSERT_EQ(mm_free_pages(f->m, r.pfn, 2, 0), 0);
	}
	tu_check(f->m, "after the fixture's allocations");
	/* The lists the corruptions below need are populated. */
	const struct mm_zone *z = &f->m->nodes[0].zones[0];
	ASSERT_GT(z->pcp[0].count + z->pcp[1].count, 1);
	ASSERT_GT(z->vm_stat[MM_NR_FREE_PAGES], 0);
}

static struct mm_zone *dma(struct fixture *f)
{
	return &f->m->nodes[0].zones[0];
}

/* Fails unless mm_check() reports `inv` (listing what it did report). */
static void expect_violation(const struct mm_machine *m, const char *inv)
{
	static struct mm_violation v[MAXV];
	int n = mm_check(m, v, MAXV);

	for (int i = 0; i < n && i < MAXV; i++)
		if (!strcmp(v[i].invariant, inv))
			return;
	for (int i = 0; i < n && i < MAXV; i++)
		fprintf(stderr, "    %s: %s\n", v[i].invariant, v[i].detail);
	th_fail(__FILE__, __LINE__, "mm_check reported %d violations, none of "
		"them \"%s\"", n, inv);
}

/* A free block of `order` on a buddy list of zone z (its type in *mt), or
 * MM_NIL. */
static uint32_t free_block(const struct mm_zone *z, unsigned order, int *mt)
{
	for (int t = 0; t < MM_MIGRATE_TYPES; t++)
		if (z->free_area[order].free_list[t].head != MM_NIL) {
			if (mt)
				*mt = t;
			return z->free_area[order].free_list[t].head;
		}
	return MM_NIL;
}

/* The first free block of order >= min_order (its order and type out). */
static uint32_t free_block_from(const struct mm_zone *z, unsigned min_order,
				unsigned *order, int *mt)
{
	for (unsigned o = min_order; o < MM_NR_ORDERS; o++) {
		uint32_t pfn = free_block(z, o, mt);
		if (pfn != MM_NIL) {
			*order = o;
			return pfn;
		}
	}
	th_fail(__FILE__, __LINE__, "no free block of order >= %u", min_order);
}

/* The pcp list of z with at least two pages (cpu and type out). */
static struct mm_plist *long_pcp_list(struct mm_zone *z, int cpus, int *cpu)
{
	for (int c = 0; c < cpus; c++)
		for (int t = 0; t < MM_MIGRATE_PCPTYPES; t++)
			if (z->pcp[c].lists[t].count >= 2) {
				*cpu = c;
				return &z->pcp[c].lists[t];
			}
	th_fail(__FILE__, __LINE__, "no pcp list with two pages");
}

/*
 * Applies `corrupt` (one statement changing one field), expects `inv`,
 * undoes it with `restore` and expects a clean checker again.
 */
#define CORRUPT(f, inv, corrupt, restore)                  \
	do {                                               \
		corrupt;                                   \
		expect_violation((f)->m, inv);             \
		restore;                                   \
		tu_check((f)->m, "after restoring the field"); \
	} while (0)

static void fixture_done(struct fixture *f)
{
	tu_check(f->m, "at the end");
	mm_machine_destroy(f->m);
}

/* ---- one test per invariant ------------------------------------------ */

TEST(check_zone_span)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_node *node = &f.m->nodes[0];
	struct mm_zone *z = dma(&f);

	/* The node ends one frame before its last zone does. */
	CORRUPT(&f, "zone-span", node->spanned--, node->spanned++);
	/* present no longer equals spanned minus the hole frames. */
	CORRUPT(&f, "zone-span", z->present++, z->present--);
	/* A frame inside DMA's span carrying another zone's id. */
	uint32_t pfn = f.kept[0];
	uint32_t flags = f.m->pages[pfn].flags;
	CORRUPT(&f, "zone-span",
		f.m->pages[pfn].flags += 1u << MM_PAGE_ZONE_SHIFT,
		f.m->pages[pfn].flags = flags);
	fixture_done(&f);
}

TEST(check_list_links)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);
	int cpu;
	struct mm_plist *l = long_pcp_list(z, f.m->cfg.cpus, &cpu);
	uint32_t second = f.m->pages[l->head].lru_next;
	uint32_t prev = f.m->pages[second].lru_prev;

	/* A back link that does not point at the previous frame. */
	CORRUPT(&f, "list-links", f.m->pages[second].lru_prev = second,
		f.m->pages[second].lru_prev = prev);
	/* A list whose count disagrees with its chain. */
	CORRUPT(&f, "list-links", l->count++, l->count--);
	/* A tail that is not the last frame of the chain. */
	uint32_t tail = l->tail;
	CORRUPT(&f, "list-links", l->tail = l->head, l->tail = tail);
	/* A buddy free list too. */
	int mt;
	unsigned o;
	free_block_from(z, 1, &o, &mt);
	struct mm_plist *fl = &z->free_area[o].free_list[mt];
	CORRUPT(&f, "list-links", fl->count += 7, fl->count -= 7);
	fixture_done(&f);
}

TEST(check_buddy_flag)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);
	unsigned o;
	int mt;
	uint32_t pfn = free_block_from(z, 1, &o, &mt);

	/* The block's recorded order is not its list's order. */
	CORRUPT(&f, "buddy-flag", f.m->pages[pfn].private = o - 1,
		f.m->pages[pfn].private = o);
	/* A frame on a free list without PG_buddy. */
	CORRUPT(&f, "buddy-flag",
		f.m->pages[pfn].flags &= ~(1u << MM_PG_buddy),
		f.m->pages[pfn].flags |= 1u << MM_PG_buddy);
	fixture_done(&f);
}

TEST(check_buddy_migratetype)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);
	int mt;
	unsigned o;
	uint32_t pfn = free_block_from(z, 0, &o, &mt);

	uint8_t *pb = &z->pageblock_mt[(pfn >> f.m->pageblock_order) -
				       (z->start_pfn >> f.m->pageblock_order)];
	uint8_t saved = *pb;
	ASSERT_EQ(saved, mt);
	/* The block's pageblock says another type than its list. */
	CORRUPT(&f, "buddy-migratetype",
		*pb = (uint8_t)(mt == MM_MIGRATE_RECLAIMABLE ? MM_MIGRATE_UNMOVABLE
							     : MM_MIGRATE_RECLAIMABLE),
		*pb = saved);
	fixture_done(&f);
}

TEST(check_buddy_orphan)
{
	struct fixture f;
	fixture_init(&f);
	uint32_t pfn = f.kept[1];

	/* An allocated frame marked PG_buddy that is on no free list. */
	CORRUPT(&f, "buddy-orphan",
		f.m->pages[pfn].flags |= 1u << MM_PG_buddy,
		f.m->pages[pfn].flags &= ~(1u << MM_PG_buddy));
	fixture_done(&f);
}

TEST(check_buddy_overlap)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);
	unsigned o;
	int mt;
	uint32_t pfn = free_block_from(z, 0, &o, &mt);

	/* A free block whose head is also marked allocated. */
	CORRUPT(&f, "buddy-overlap",
		f.m->pages[pfn].flags |= 1u << MM_PG_kalloc,
		f.m->pages[pfn].flags &= ~(1u << MM_PG_kalloc));
	/* A reserved frame (pfn 1, in the low 64 KiB) also marked allocated. */
	uint32_t r = 1;
	ASSERT(mm_page_test(&f.m->pages[r], MM_PG_reserved));
	CORRUPT(&f, "buddy-overlap", f.m->pages[r].flags |= 1u << MM_PG_kalloc,
		f.m->pages[r].flags &= ~(1u << MM_PG_kalloc));
	fixture_done(&f);
}

TEST(check_buddy_unmerged)
{
	struct fixture f;
	fixture_init(&f);
	mm_drain_all_pages(f.m);
	tu_check(f.m, "after the drain");

	/* A kept (allocated) odd frame whose even buddy went back to the
	 * buddy lists as a free order-0 block: the pair could not merge.
	 * Marking the allocated one PG_buddy (private 0) makes the two look
	 * like free buddies that were not merged. */
	uint32_t pfn = MM_NIL;
	for (int i = 0; i < f.nkept && pfn == MM_NIL; i++) {
		uint32_t p = f.kept[i];
		const struct mm_page *b = &f.m->pages[p ^ 1];
		if ((p & 1) && mm_page_test(b, MM_PG_buddy) && b->private == 0 &&
		    f.m->pages[p].private == 0)
			pfn = p;
	}
	ASSERT(pfn != MM_NIL);
	CORRUPT(&f, "buddy-unmerged",
		f.m->pages[pfn].flags |= 1u << MM_PG_buddy,
		f.m->pages[pfn].flags &= ~(1u << MM_PG_buddy));
	fixture_done(&f);
}

TEST(check_free_count)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);

	CORRUPT(&f, "free-count", z->vm_stat[MM_NR_FREE_PAGES]++,
		z->vm_stat[MM_NR_FREE_PAGES]--);
	CORRUPT(&f, "free-count", z->vm_stat[MM_NR_FREE_PAGES_BLOCKS] += 512,
		z->vm_stat[MM_NR_FREE_PAGES_BLOCKS] -= 512);
	CORRUPT(&f, "free-count", z->free_area[1].nr_free++,
		z->free_area[1].nr_free--);
	CORRUPT(&f, "free-count", z->nr_free_highatomic++,
		z->nr_free_highatomic--);
	fixture_done(&f);
}

TEST(check_pcp_count)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);
	int cpu;
	struct mm_plist *l = long_pcp_list(z, f.m->cfg.cpus, &cpu);
	uint32_t pfn = l->head;

	CORRUPT(&f, "pcp-count", z->pcp[cpu].count++, z->pcp[cpu].count--);
	/* A page on a pcp list without PG_pcp. */
	CORRUPT(&f, "pcp-count", f.m->pages[pfn].flags &= ~(1u << MM_PG_pcp),
		f.m->pages[pfn].flags |= 1u << MM_PG_pcp);
	/* PG_pcp on an allocated page (on no pcp list). */
	uint32_t k = f.kept[2];
	CORRUPT(&f, "pcp-count", f.m->pages[k].flags |= 1u << MM_PG_pcp,
		f.m->pages[k].flags &= ~(1u << MM_PG_pcp));
	fixture_done(&f);
}

TEST(check_refcount)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);
	unsigned o;
	int mt;
	uint32_t free_pfn = free_block_from(z, 0, &o, &mt);
	int cpu;
	uint32_t pcp_pfn = long_pcp_list(z, f.m->cfg.cpus, &cpu)->head;

	/* A reserved frame (pfn 1) must hold exactly one reference. */
	CORRUPT(&f, "refcount", f.m->pages[1].refcount = 2,
		f.m->pages[1].refcount = 1);
	CORRUPT(&f, "refcount", f.m->pages[free_pfn].refcount = 1,
		f.m->pages[free_pfn].refcount = 0);
	CORRUPT(&f, "refcount", f.m->pages[pcp_pfn].refcount = 1,
		f.m->pages[pcp_pfn].refcount = 0);
	CORRUPT(&f, "refcount", f.m->pages[f.kept[3]].refcount = 0,
		f.m->pages[f.kept[3]].refcount = 1);
	fixture_done(&f);
}

TEST(check_managed_count)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);

	CORRUPT(&f, "managed-count", z->managed--, z->managed++);
	fixture_done(&f);
}

TEST(check_highatomic_count)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_zone *z = dma(&f);
	uint64_t pb = 1u << f.m->pageblock_order;

	CORRUPT(&f, "highatomic-count", z->nr_reserved_highatomic += pb,
		z->nr_reserved_highatomic -= pb);
	fixture_done(&f);
}

TEST(check_frame_owner)
{
	struct fixture f;
	fixture_init(&f);
	uint32_t pfn = f.kept[4];

	/* An allocated frame that lost its owner mark: nobody owns it. */
	CORRUPT(&f, "frame-owner", f.m->pages[pfn].flags &= ~(1u << MM_PG_kalloc),
		f.m->pages[pfn].flags |= 1u << MM_PG_kalloc);
	/* The order-2 block: its head's mark covers the three tail frames. */
	uint32_t head = f.kept2;
	ASSERT(mm_page_test(&f.m->pages[head], MM_PG_head));
	CORRUPT(&f, "frame-owner", f.m->pages[head].private = 0,
		f.m->pages[head].private = 2);
	fixture_done(&f);
}

/* ---- digest ------------------------------------------------------------ */

/* One deterministic sequence of operations on m. */
static void digest_ops(struct mm_machine *m, uint32_t *kept, int *nkept)
{
	struct mm_alloc_result r;

	*nkept = 0;
	for (int i = 0; i < 40; i++) {
		ASSERT_EQ(mm_alloc_pages(m, i % 3 ? MM_GFP_KERNEL : MM_GFP_HIGHUSER_MOVABLE,
					 (unsigned)(i % 4), i % 2, -1, &r), 0);
		if (i % 5 == 0)
			ASSERT_EQ(mm_free_pages(m, r.pfn, (unsigned)(i % 4), i % 2), 0);
		else if (i % 4 == 0)
			kept[(*nkept)++] = r.pfn;
	}
}

static void digest_of(const struct mm_machine *m, char out[MM_DIGEST_HEX])
{
	mm_digest(m, out);
	ASSERT_EQ(strlen(out), MM_DIGEST_HEX - 1);
	for (int i = 0; i < MM_DIGEST_HEX - 1; i++)
		ASSERT((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f'));
}

TEST(digest_identical_machines_agree)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64 * MIB);
	c.nodes = 2;
	c.seed = 42;
	struct mm_machine *a = tu_machine(&c), *b = tu_machine(&c);
	char da[MM_DIGEST_HEX], db[MM_DIGEST_HEX];
	uint32_t ka[64], kb[64];
	int na, nb;

	digest_of(a, da);
	digest_of(b, db);
	ASSERT_EQ_STR(da, db);
	digest_ops(a, ka, &na);
	digest_ops(b, kb, &nb);
	digest_of(a, da);
	digest_of(b, db);
	ASSERT_EQ_STR(da, db);
	/* Read-only calls leave the state alone. */
	free(tu_render(a, mm_proc_zoneinfo));
	free(tu_render(a, mm_proc_vmstat));
	tu_check(a, "after the operations");
	digest_of(a, db);
	ASSERT_EQ_STR(da, db);
	/* A different seed is a different machine. */
	c.seed = 43;
	struct mm_machine *s = tu_machine(&c);
	digest_of(s, db);
	digest_of(b, da);
	ASSERT(strcmp(da, db) != 0);
	mm_machine_destroy(a);
	mm_machine_destroy(b);
	mm_machine_destroy(s);
}

TEST(digest_follows_alloc_and_free)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 16 * MIB);
	struct mm_machine *m = tu_machine(&c);
	struct mm_alloc_result r;
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX], d2[MM_DIGEST_HEX];

	digest_of(m, d0);
	for (unsigned order = 0; order <= 3; order++) {
		ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, order, 1, -1, &r), 0);
		digest_of(m, d1);
		ASSERT(strcmp(d0, d1) != 0);
		ASSERT_EQ(mm_free_pages(m, r.pfn, order, 1), 0);
		digest_of(m, d2);
		ASSERT(strcmp(d1, d2) != 0);
		memcpy(d0, d2, sizeof(d0));
	}
	/* A rejected free (double free) changes nothing. */
	ASSERT_EQ(mm_free_pages(m, r.pfn, 3, 1), -MM_EINVAL);
	digest_of(m, d1);
	ASSERT_EQ_STR(d1, d0);
	mm_machine_destroy(m);
}

/*
 * Flips bits `mask` of one field: the digest must change, and come back
 * when the field is restored.
 */
#define DIGEST_FIELD(m, field, mask)                                       \
	do {                                                               \
		char d_[MM_DIGEST_HEX], o_[MM_DIGEST_HEX];                 \
		digest_of(m, o_);                                          \
		(field) ^= (mask);                                         \
		digest_of(m, d_);                                          \
		if (!strcmp(d_, o_))                                       \
			th_fail(__FILE__, __LINE__, "digest ignores %s", #field); \
		(field) ^= (mask);                                         \
		digest_of(m, d_);                                          \
		if (strcmp(d_, o_))                                        \
			th_fail(__FILE__, __LINE__, "digest did not return " \
				"after restoring %s", #field);             \
	} while (0)

TEST(digest_covers_each_structure)
{
	struct fixture f;
	fixture_init(&f);
	struct mm_machine *m = f.m;
	struct mm_zone *z = dma(&f);
	struct mm_node *node = &m->nodes[0];
	uint32_t pfn = f.kept[0];
	uint32_t last = m->nr_pfns - 1;
	int cpu;
	struct mm_plist *pl = long_pcp_list(z, m->cfg.cpus, &cpu);
	int mt;
	unsigned o;
	free_block_from(z, 0, &o, &mt);

	/* frame descriptors: every field, first and last frame too */
	DIGEST_FIELD(m, m->pages[pfn].flags, 1u << MM_PG_referenced);
	DIGEST_FIELD(m, m->pages[pfn].flags, 1u << MM_PAGE_ZONE_SHIFT);
	DIGEST_FIELD(m, m->pages[pfn].refcount, 1);
	DIGEST_FIELD(m, m->pages[pfn].mapcount, 1);
	DIGEST_FIELD(m, m->pages[pfn].private, 1);
	DIGEST_FIELD(m, m->pages[pfn].lru_next, 1);
	DIGEST_FIELD(m, m->pages[pfn].lru_prev, 1);
	DIGEST_FIELD(m, m->pages[pfn].mapping, 1);
	DIGEST_FIELD(m, m->pages[pfn].index, 1);
	DIGEST_FIELD(m, m->pages[0].flags, 1u << MM_PG_dirty);
	DIGEST_FIELD(m, m->pages[last].refcount, 4);
	/* buddy free lists */
	DIGEST_FIELD(m, z->free_area[o].free_list[mt].head, 1);
	DIGEST_FIELD(m, z->free_area[o].free_list[mt].tail, 1);
	DIGEST_FIELD(m, z->free_area[o].free_list[mt].count, 1);
	DIGEST_FIELD(m, z->free_area[MM_MAX_ORDER].nr_free, 1);
	/* per-CPU lists */
	DIGEST_FIELD(m, pl->head, 1);
	DIGEST_FIELD(m, z->pcp[cpu].count, 1);
	DIGEST_FIELD(m, z->pcp[cpu].high, 1);
	DIGEST_FIELD(m, z->pcp[cpu].high_min, 1);
	DIGEST_FIELD(m, z->pcp[cpu].high_max, 1);
	DIGEST_FIELD(m, z->pcp[cpu].batch, 1);
	DIGEST_FIELD(m, z->pcp[cpu].free_count, 1);
	DIGEST_FIELD(m, z->pcp[cpu].alloc_factor, 1);
	DIGEST_FIELD(m, z->pcp[cpu].flags, 1);
	DIGEST_FIELD(m, z->pcp[1 - cpu].count, 2);
	/* zone counters, sizes and reserves */
	DIGEST_FIELD(m, z->vm_stat[MM_NR_FREE_PAGES], 1);
	DIGEST_FIELD(m, z->vm_stat[MM_NR_ZONE_ACTIVE_ANON], 1);
	DIGEST_FIELD(m, z->nr_free_highatomic, 1);
	DIGEST_FIELD(m, z->nr_reserved_highatomic, 512);
	DIGEST_FIELD(m, z->managed, 1);
	DIGEST_FIELD(m, z->present, 1);
	DIGEST_FIELD(m, z->spanned, 1);
	DIGEST_FIELD(m, z->start_pfn, 1);
	DIGEST_FIELD(m, z->flags, 1u << MM_ZONE_BOOSTED_WATERMARK);
	DIGEST_FIELD(m, z->numa[0], 1);
	DIGEST_FIELD(m, z->lowmem_reserve[2], 1);
	/* pageblock migratetypes: first and last block of the zone */
	uint32_t nb = ((z->start_pfn + z->spanned - 1) >> m->pageblock_order) -
		      (z->start_pfn >> m->pageblock_order) + 1;
	DIGEST_FIELD(m, z->pageblock_mt[0], 2);
	DIGEST_FIELD(m, z->pageblock_mt[nb - 1], 2);
	/* watermarks */
	DIGEST_FIELD(m, z->wmark[MM_WMARK_MIN], 1);
	DIGEST_FIELD(m, z->wmark[MM_WMARK_LOW], 1);
	DIGEST_FIELD(m, z->wmark[MM_WMARK_HIGH], 1);
	DIGEST_FIELD(m, z->wmark[MM_WMARK_PROMO], 1);
	DIGEST_FIELD(m, z->watermark_boost, 1);
	/* the environment */
	DIGEST_FIELD(m, m->env.rng[0], 1);
	DIGEST_FIELD(m, m->env.rng[3], 1ull << 63);
	DIGEST_FIELD(m, m->env.clock, 1);
	/* events and node counters */
	DIGEST_FIELD(m, m->events[MM_PGFREE], 1);
	DIGEST_FIELD(m, m->events[MM_PGALLOC + 2], 1);
	DIGEST_FIELD(m, m->events[MM_NR_VM_EVENTS - 1], 1);
	DIGEST_FIELD(m, node->vm_stat[MM_NR_ANON_PAGES], 1);
	DIGEST_FIELD(m, node->vm_stat[MM_NR_KERNEL_STACK], 1);
	/* machine-wide values */
	DIGEST_FIELD(m, m->min_free_kbytes, 1);
	DIGEST_FIELD(m, m->totalram_pages, 1);
	DIGEST_FIELD(m, m->totalreserve_pages, 1);
	DIGEST_FIELD(m, m->cfg.swappiness, 1);
	fixture_done(&f);
}

/* ---- configuration validation ------------------------------------------ */

/* Expects validate to fail with a message starting with `key`. */
static void expect_invalid(const struct mm_config *c, const char *key)
{
	char err[256] = "";
	int rc = mm_config_validate(c, err, sizeof(err));

	if (rc != -MM_EINVAL || strncmp(err, key, strlen(key)) != 0)
		th_fail(__FILE__, __LINE__, "expected -EINVAL naming \"%s\", got "
			"%d \"%s\"", key, rc, err);
}

static void expect_valid(const struct mm_config *c)
{
	char err[256] = "";
	int rc = mm_config_validate(c, err, sizeof(err));

	if (rc)
		th_fail(__FILE__, __LINE__, "expected a valid config: %d \"%s\"",
			rc, err);
}

TEST(config_validation_rejects_bad_values)
{
	struct mm_config c;

	/* memory: [4M, 4G] on i386, [4M, 64G] on x86_64, whole MiB */
	c = tu_config(MM_ARCH_X86_64, 4 * MIB);
	expect_valid(&c);
	c.memory = 2 * MIB;
	expect_invalid(&c, "memory");
	c.memory = 0;
	expect_invalid(&c, "memory");
	c.memory = 64ull << 30;
	expect_valid(&c);
	c.memory = (64ull << 30) + MIB;
	expect_invalid(&c, "memory");
	c.memory = 128ull << 30;
	expect_invalid(&c, "memory");
	c.memory = 256 * MIB + 4096;
	expect_invalid(&c, "memory");
	c = tu_config(MM_ARCH_I386, 4096 * MIB);
	expect_valid(&c);
	c.memory = 4097 * MIB;
	expect_invalid(&c, "memory");
	c.memory = 8192 * MIB;
	expect_invalid(&c, "memory");
	c.memory = 3 * MIB;
	expect_invalid(&c, "memory");

	/* nodes */
	c = tu_config(MM_ARCH_X86_64, 256 * MIB);
	c.nodes = MM_MAX_NODES;
	expect_valid(&c);
	c.nodes = MM_MAX_NODES + 1;
	expect_invalid(&c, "nodes");
	c.nodes = 0;
	expect_invalid(&c, "nodes");
	c = tu_config(MM_ARCH_I386, 256 * MIB);
	c.nodes = 2;
	expect_invalid(&c, "nodes");

	/* node_memory must cover memory exactly, per existing node */
	c = tu_config(MM_ARCH_X86_64, 256 * MIB);
	c.nodes = 2;
	c.node_memory[0] = 128 * MIB;
	c.node_memory[1] = 128 * MIB;
	expect_valid(&c);
	c.node_memory[1] = 64 * MIB;
	expect_invalid(&c, "node_memory");
	c.node_memory[1] = 192 * MIB;
	expect_invalid(&c, "node_memory");
	c.node_memory[1] = 128 * MIB;
	c.node_memory[2] = 4 * MIB;
	expect_invalid(&c, "node_memory");

	/* distance: symmetric, 10 on the diagonal, (10, 254] elsewhere */
	c = tu_config(MM_ARCH_X86_64, 256 * MIB);
	c.nodes = 2;
	c.distance[0][1] = 20;
	c.distance[1][0] = 30;
	expect_invalid(&c, "distance");
	c.distance[1][0] = 20;
	expect_valid(&c);
	/* One side left to the default (20) while the other says 30. */
	c.distance[0][1] = 30;
	c.distance[1][0] = 0;
	expect_invalid(&c, "distance");
	c.distance[1][0] = 30;
	expect_valid(&c);
	c.distance[0][0] = 11;
	expect_invalid(&c, "distance");
	c.distance[0][0] = 10;
	c.distance[0][1] = c.distance[1][0] = 10;
	expect_invalid(&c, "distance");

	/* zones_managed_pages of a node that does not exist */
	c = tu_config(MM_ARCH_X86_64, 256 * MIB);
	c.zones_managed_pages[1][0] = 100;
	expect_invalid(&c, "zones_managed_pages");
}

TEST(config_zones_managed_pages_must_fit)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256 * MIB);
	struct mm_machine *m = (struct mm_machine *)&c; /* sentinel */
	char err[256] = "";

	/* DMA32 of a 256 MiB machine has 61440 frames, fewer managed. */
	c.zones_managed_pages[0][1] = 61440;
	expect_valid(&c);
	ASSERT_EQ(mm_machine_create(&c, &m, err, sizeof(err)), -MM_EINVAL);
	ASSERT(m == (struct mm_machine *)&c);
	ASSERT(strncmp(err, "zones_managed_pages", 19) == 0);
	ASSERT_CONTAINS(err, "DMA32");
	/* DMA holds at most 3976 managed pages (3998 present minus the low
	 * 64 KiB and the trampoline). */
	c.zones_managed_pages[0][1] = -1;
	c.zones_managed_pages[0][0] = 3977;
	ASSERT_EQ(mm_machine_create(&c, &m, err, sizeof(err)), -MM_EINVAL);
	ASSERT_CONTAINS(err, "zone DMA ");
	c.zones_managed_pages[0][0] = 3976;
	m = tu_machine(&c);
	ASSERT_EQ(m->nodes[0].zones[0].managed, 3976);
	tu_check(m, "with DMA at its managed maximum");
	mm_machine_destroy(m);
	/* A zone the machine does not have (Normal below 4 GiB). */
	c.zones_managed_pages[0][0] = -1;
	c.zones_managed_pages[0][2] = 1;
	m = (struct mm_machine *)&c;
	ASSERT_EQ(mm_machine_create(&c, &m, err, sizeof(err)), -MM_EINVAL);
	ASSERT(m == (struct mm_machine *)&c);
	ASSERT_CONTAINS(err, "zone Normal ");
}
