/*
 * buddy.c — the binary buddy allocator of one zone, after Linux 6.18's
 * mm/page_alloc.c.
 *
 * A free block of 2^order frames is represented by its first frame: flag
 * PG_buddy, private = order, linked on free_area[order].free_list[mt] where
 * mt is the migratetype of the block's pageblock (since 6.10 a free block
 * always sits on its pageblock's list; blocks of MAX_ORDER span two
 * pageblocks that merging forces to the same type).  The buddy of a block is
 * pfn ^ (1 << order); freeing merges with free buddies of equal order up to
 * MAX_ORDER, allocation takes the first block of the smallest sufficient
 * order and returns the upper halves to the lists (expand()).
 *
 * When the requested type's lists are empty, __rmqueue() falls back:
 * claim (take over a whole pageblock of another type when enough of it is
 * free or compatible, largest block first), then steal (take the smallest
 * suitable block without changing ownership) unless ALLOC_NOFRAGMENT.
 * HIGHATOMIC pageblocks are reserved for high-order atomic allocations
 * (up to ~1% of the zone) and given back under pressure.
 *
 * Accounting: zone->vm_stat[MM_NR_FREE_PAGES] counts free pages on the buddy lists (not on
 * the per-CPU lists: Linux's NR_FREE_PAGES), nr_free_highatomic those on
 * HIGHATOMIC lists, nr_free_blocks those in blocks >= pageblock_order.
 */
#include "engine/internal.h"

#define MM_WATERMARK_BOOST_FACTOR 15000 /* vm.watermark_boost_factor */

static const int mm_fallbacks[MM_MIGRATE_PCPTYPES][MM_MIGRATE_PCPTYPES - 1] = {
	[MM_MIGRATE_UNMOVABLE] = {MM_MIGRATE_RECLAIMABLE, MM_MIGRATE_MOVABLE},
	[MM_MIGRATE_MOVABLE] = {MM_MIGRATE_RECLAIMABLE, MM_MIGRATE_UNMOVABLE},
	[MM_MIGRATE_RECLAIMABLE] = {MM_MIGRATE_UNMOVABLE, MM_MIGRATE_MOVABLE},
};

static void mm__account_freepages(struct mm_zone *z, int64_t nr, int mt)
{
	if (mt == MM_MIGRATE_ISOLATE)
		return;
	z->vm_stat[MM_NR_FREE_PAGES] += nr;
	if (mt == MM_MIGRATE_HIGHATOMIC)
		z->nr_free_highatomic += nr;
}

/* inline, like the two below: expand() and the merge loop call them once
 * per order, and the calls were ~15% of an order-3 pair's instructions.
 * They take the frame array and pageblock order from the caller, which
 * loads them once per block rather than once per order. */
static inline void mm__add_to_free_list(struct mm_page *pages, unsigned pb_order,
					struct mm_zone *z, uint32_t pfn,
					unsigned order, int mt, bool tail)
{
	struct mm_page *p = &pages[pfn];
	struct mm_free_area *area = &z->free_area[order];

	/* The block's pageblock type equals mt: mm_check() verifies it
	 * (buddy-migratetype); asserting it here doubled the split cost. */
	mm__set(p, MM_PG_buddy);
	p->private = order;
	if (tail)
		mm__plist_add_tail_in(pages, &area->free_list[mt], pfn);
	else
		mm__plist_add_in(pages, &area->free_list[mt], pfn);
	area->nr_free++;
	if (order >= pb_order && mt != MM_MIGRATE_ISOLATE)
		z->vm_stat[MM_NR_FREE_PAGES_BLOCKS] += 1 << order;
}

static inline void mm__del_from_free_list(struct mm_page *pages,
					  unsigned pb_order, struct mm_zone *z,
					  uint32_t pfn, unsigned order, int mt)
{
	struct mm_page *p = &pages[pfn];
	struct mm_free_area *area = &z->free_area[order];

	MM_ASSERT(mm_page_test(p, MM_PG_buddy) && p->private == order);
	mm__plist_del_in(pages, &area->free_list[mt], pfn);
	mm__clear(p, MM_PG_buddy);
	p->private = 0;
	area->nr_free--;
	if (order >= pb_order && mt != MM_MIGRATE_ISOLATE)
		z->vm_stat[MM_NR_FREE_PAGES_BLOCKS] -= 1 << order;
}

static void mm__move_to_free_list(struct mm_machine *m, struct mm_zone *z,
				  uint32_t pfn, unsigned order, int old_mt,
				  int new_mt)
{
	struct mm_free_area *area = &z->free_area[order];
	int64_t nr = 1 << order;

	mm__plist_move_tail(m, &area->free_list[new_mt],
			    &area->free_list[old_mt], pfn);
	mm__account_freepages(z, -nr, old_mt);
	mm__account_freepages(z, nr, new_mt);
}

/* page_is_buddy(): pfn heads a free block of this order in the zone whose
 * key is key (mm__buddy_key(): PG_buddy and the zone id, tested in one
 * comparison of the flags word; callers compute it once per block). */
static inline uint32_t mm__buddy_key(const struct mm_zone *z)
{
	return (uint32_t)mm__zone_id(z) << MM_PAGE_ZONE_SHIFT | 1u << MM_PG_buddy;
}

static inline bool mm__is_buddy(const struct mm_page *pages, uint32_t nr_pfns,
				uint32_t key, uint32_t pfn, unsigned order)
{
	const uint32_t mask = ~0u << MM_PAGE_ZONE_SHIFT | 1u << MM_PG_buddy;

	return pfn < nr_pfns && (pages[pfn].flags & mask) == key &&
	       pages[pfn].private == order;
}

static bool mm__mergeable(int mt)
{
	return mt < MM_MIGRATE_PCPTYPES;
}

/* __free_one_page().  The machine's and zone's fields the loop reads are
 * copied to locals first: every store to a frame descriptor (uint32_t)
 * could alias them, and reloading them was a third of the loop.  Below
 * pageblock_order (every step but the last one or two) buddy and block
 * share a pageblock, so the buddy is on list mt and counts in no
 * NR_FREE_PAGES_BLOCKS: the loop's common path tests nothing else. */
void mm__free_one(struct mm_machine *m, struct mm_zone *z, uint32_t pfn,
		  unsigned order, int mt, bool to_tail)
{
	struct mm_page *const pages = m->pages;
	const uint32_t nr_pfns = m->nr_pfns;
	const unsigned pb_order = (unsigned)m->pageblock_order;
	const uint32_t key = mm__buddy_key(z);
	struct mm_free_area *area = &z->free_area[order];
	uint32_t buddy_pfn = pfn ^ (1u << order);

	mm__account_freepages(z, 1 << order, mt);
	for (; order < MM_MAX_ORDER; order++, area++) {
		buddy_pfn = pfn ^ (1u << order);
		if (!mm__is_buddy(pages, nr_pfns, key, buddy_pfn, order))
			break;
		int buddy_mt = mt;
		if (order >= pb_order) {
			buddy_mt = mm__pb_mt(m, z, buddy_pfn);
			if (mt != buddy_mt &&
			    (!mm__mergeable(mt) || !mm__mergeable(buddy_mt)))
				break;
			if (buddy_mt != MM_MIGRATE_ISOLATE)
				z->vm_stat[MM_NR_FREE_PAGES_BLOCKS] -= 1 << order;
			if (buddy_mt != mt)
				mm__set_pageblock_mt(m, buddy_pfn, mt);
		}
		struct mm_page *b = &pages[buddy_pfn];
		mm__plist_del_in(pages, &area->free_list[buddy_mt], buddy_pfn);
		b->flags &= ~(1u << MM_PG_buddy);
		b->private = 0;
		area->nr_free--;
		pfn &= buddy_pfn;
	}
	/* buddy_merge_likely(): is the next-higher block's buddy free too? */
	if (!to_tail && order < MM_MAX_ORDER - 1)
		to_tail = mm__is_buddy(pages, nr_pfns, key,
				       (buddy_pfn & pfn) ^ (1u << (order + 1)),
				       order + 1);
	mm__add_to_free_list(pages, pb_order, z, pfn, order, mt, to_tail);
}

/* split_large_buddy(): a block larger than a pageblock is freed pageblock
 * by pageblock, each with its own migratetype. */
void mm__free_large(struct mm_machine *m, struct mm_zone *z, uint32_t pfn,
		    unsigned order, bool to_tail)
{
	uint32_t end = pfn + (1u << order);

	for (; pfn < end; pfn += mm__pageblock_nr(m))
		mm__free_one(m, z, pfn, (unsigned)m->pageblock_order,
			     mm__pb_mt(m, z, pfn), to_tail);
}

/* expand(): returns the upper halves of [pfn, pfn + 2^high) to the lists
 * until a block of order low is left; returns the pages put back. */
static uint32_t mm__expand(struct mm_machine *m, struct mm_zone *z,
			   uint32_t pfn, unsigned low, unsigned high, int mt)
{
	struct mm_page *const pages = m->pages;
	const unsigned pb_order = (unsigned)m->pageblock_order;
	uint32_t size = 1u << high, added = size - (1u << low);

	while (high > low) {
		high--;
		size >>= 1;
		mm__add_to_free_list(pages, pb_order, z, pfn + size, high, mt,
				     false);
	}
	return added;
}

static void mm__del_and_expand(struct mm_machine *m, struct mm_zone *z,
			       uint32_t pfn, unsigned low, unsigned high, int mt)
{
	int64_t nr = 1 << high;

	mm__del_from_free_list(m->pages, (unsigned)m->pageblock_order, z, pfn,
			       high, mt);
	nr -= mm__expand(m, z, pfn, low, high, mt);
	mm__account_freepages(z, -nr, mt);
}

uint32_t mm__rmqueue_smallest(struct mm_machine *m, struct mm_zone *z,
			      unsigned order, int mt)
{
	for (unsigned o = order; o < MM_NR_ORDERS; o++) {
		uint32_t pfn = z->free_area[o].free_list[mt].head;
		if (pfn == MM_NIL)
			continue;
		mm__del_and_expand(m, z, pfn, order, o, mt);
		return pfn;
	}
	return MM_NIL;
}

/*
 * The pages `want` successive __rmqueue(order 0, mt) calls would take while
 * mt has a block of its own (rmqueue_bulk() filling a per-CPU list): a run
 * of consecutive frames, returned as its first pfn and *n, in the order
 * those calls return them, with the free lists left as they leave them.
 * One call takes the head of the smallest non-empty order-k list, B, and
 * returns the upper halves to the empty lists below k; the next calls take
 * B + 1, B + 2, ... from those halves, so after j pages the rest of B sits
 * on the lists as its aligned blocks: order ctz(p) at B + p, from p = j.
 * Without a block of mt's own, one page through the fallback (*n = 1).
 */
uint32_t mm__rmqueue_run(struct mm_machine *m, struct mm_zone *z, int mt,
			 unsigned alloc_flags, uint32_t want, uint32_t *n)
{
	struct mm_page *const pages = m->pages;
	const unsigned pb_order = (unsigned)m->pageblock_order;

	for (unsigned k = 0; k < MM_NR_ORDERS; k++) {
		uint32_t pfn = z->free_area[k].free_list[mt].head;
		if (pfn == MM_NIL)
			continue;
		uint32_t size = 1u << k, j = MM_MIN(want, size);
		mm__del_from_free_list(pages, pb_order, z, pfn, k, mt);
		for (uint32_t p = j; p < size; p += p & -p)
			mm__add_to_free_list(pages, pb_order, z, pfn + p,
					     (unsigned)__builtin_ctz(p), mt,
					     false);
		mm__account_freepages(z, -(int64_t)j, mt);
		*n = j;
		return pfn;
	}
	*n = 1;
	return mm__rmqueue(m, z, 0, mt, alloc_flags);
}

static void mm__change_pageblock_range(struct mm_machine *m, uint32_t pfn,
				       unsigned order, int mt)
{
	uint32_t nr = 1u << order, pb = mm__pageblock_nr(m);

	for (uint32_t i = 0; i < nr; i += pb)
		mm__set_pageblock_mt(m, pfn + i, mt);
	if (nr < pb)
		mm__set_pageblock_mt(m, pfn, mt);
}

/* should_try_claim_block() */
static bool mm__should_try_claim(const struct mm_machine *m, unsigned order,
				 int start_mt)
{
	if (order >= (unsigned)m->pageblock_order / 2 || m->mobility_disabled)
		return true;
	return start_mt == MM_MIGRATE_RECLAIMABLE ||
	       start_mt == MM_MIGRATE_UNMOVABLE;
}

/* find_suitable_fallback(): -1 none at this order, -2 stop claiming. */
static int mm__find_fallback(const struct mm_machine *m,
			     const struct mm_free_area *area, unsigned order,
			     int mt, bool claimable)
{
	if (claimable && !mm__should_try_claim(m, order, mt))
		return -2;
	if (area->nr_free == 0)
		return -1;
	for (int i = 0; i < MM_MIGRATE_PCPTYPES - 1; i++) {
		int fb = mm_fallbacks[mt][i];
		if (area->free_list[fb].count)
			return fb;
	}
	return -1;
}

/* boost_watermark() */
static bool mm__boost_watermark(struct mm_machine *m, struct mm_zone *z)
{
	uint64_t pb = mm__pageblock_nr(m);

	if (pb * 4 > z->managed)
		return false;
	uint64_t max_boost = z->wmark[MM_WMARK_HIGH] * MM_WATERMARK_BOOST_FACTOR /
			     10000;
	if (!max_boost)
		return false;
	max_boost = MM_MAX(pb, max_boost);
	z->watermark_boost = MM_MIN(z->watermark_boost + pb, max_boost);
	return true;
}

/*
 * Moves every free block of the pageblock holding pfn from old_mt to new_mt
 * and retypes the pageblock (__move_freepages_block()).  Returns the pages
 * moved, or -1 when the pageblock straddles the zone's span.
 */
int mm__move_freepages_block(struct mm_machine *m, struct mm_zone *z,
			     uint32_t pfn, int old_mt, int new_mt)
{
	uint32_t pb = mm__pageblock_nr(m);
	uint32_t start = pfn & ~(pb - 1), end = start + pb;
	int moved = 0;

	if (start < z->start_pfn || end > z->start_pfn + z->spanned)
		return -1;
	for (pfn = start; pfn < end;) {
		const struct mm_page *p = &m->pages[pfn];
		if (!mm_page_test(p, MM_PG_buddy)) {
			pfn++;
			continue;
		}
		unsigned order = p->private;
		mm__move_to_free_list(m, z, pfn, order, old_mt, new_mt);
		pfn += 1u << order;
		moved += 1 << order;
	}
	mm__set_pageblock_mt(m, start, new_mt);
	return moved;
}

/* try_to_claim_block() */
static uint32_t mm__try_claim_block(struct mm_machine *m, struct mm_zone *z,
				    uint32_t pfn, unsigned current_order,
				    unsigned order, int start_mt, int block_mt,
				    unsigned alloc_flags)
{
	uint32_t pb = mm__pageblock_nr(m);

	if (current_order >= (unsigned)m->pageblock_order) {
		mm__del_from_free_list(m->pages, (unsigned)m->pageblock_order,
				       z, pfn, current_order, block_mt);
		mm__account_freepages(z, -(1 << current_order), block_mt);
		mm__change_pageblock_range(m, pfn, current_order, start_mt);
		uint32_t added = mm__expand(m, z, pfn, order, current_order, start_mt);
		mm__account_freepages(z, added, start_mt);
		return pfn;
	}
	if (mm__boost_watermark(m, z) && (alloc_flags & MM_ALLOC_KSWAPD))
		z->flags |= 1u << MM_ZONE_BOOSTED_WATERMARK;

	uint32_t start = pfn & ~(pb - 1), end = start + pb;
	if (start < z->start_pfn || end > z->start_pfn + z->spanned)
		return MM_NIL;
	uint32_t free_pages = 0, movable_pages = 0;
	for (uint32_t q = start; q < end;) {
		const struct mm_page *p = &m->pages[q];
		if (mm_page_test(p, MM_PG_buddy)) {
			free_pages += 1u << p->private;
			q += 1u << p->private;
			continue;
		}
		movable_pages += mm_page_test(p, MM_PG_lru);
		q++;
	}
	uint32_t alike;
	if (start_mt == MM_MIGRATE_MOVABLE)
		alike = movable_pages;
	else if (block_mt == MM_MIGRATE_MOVABLE)
		alike = pb - (free_pages + movable_pages);
	else
		alike = 0;
	if (free_pages + alike >= (1u << (m->pageblock_order - 1)) ||
	    m->mobility_disabled) {
		mm__move_freepages_block(m, z, start, block_mt, start_mt);
		return mm__rmqueue_smallest(m, z, order, start_mt);
	}
	return MM_NIL;
}

static uint32_t mm__rmqueue_claim(struct mm_machine *m, struct mm_zone *z,
				  unsigned order, int mt, unsigned alloc_flags)
{
	int min_order = (int)order;

	if ((int)order < m->pageblock_order && (alloc_flags & MM_ALLOC_NOFRAGMENT))
		min_order = m->pageblock_order;
	for (int o = MM_MAX_ORDER; o >= min_order; o--) {
		struct mm_free_area *area = &z->free_area[o];
		int fb = mm__find_fallback(m, area, (unsigned)o, mt, true);
		if (fb == -1)
			continue;
		if (fb == -2)
			break;
		uint32_t pfn = mm__try_claim_block(m, z, area->free_list[fb].head,
						   (unsigned)o, order, mt, fb,
						   alloc_flags);
		if (pfn != MM_NIL)
			return pfn;
	}
	return MM_NIL;
}

static uint32_t mm__rmqueue_steal(struct mm_machine *m, struct mm_zone *z,
				  unsigned order, int mt)
{
	for (unsigned o = order; o < MM_NR_ORDERS; o++) {
		struct mm_free_area *area = &z->free_area[o];
		int fb = mm__find_fallback(m, area, o, mt, false);
		if (fb < 0)
			continue;
		uint32_t pfn = area->free_list[fb].head;
		mm__del_and_expand(m, z, pfn, order, o, fb);
		return pfn;
	}
	return MM_NIL;
}

/* __rmqueue(): own type first, then claim, then steal (no ALLOC_NOFRAGMENT).
 * rmqueue_bulk() repeats this in a loop; the remembered mode only saves
 * Linux search time and does not change which block is found. */
static __attribute__((noinline)) uint32_t
mm__rmqueue_fallback(struct mm_machine *m, struct mm_zone *z, unsigned order,
		     int mt, unsigned alloc_flags)
{
	uint32_t pfn = mm__rmqueue_claim(m, z, order, mt, alloc_flags);

	if (pfn == MM_NIL && !(alloc_flags & MM_ALLOC_NOFRAGMENT))
		pfn = mm__rmqueue_steal(m, z, order, mt);
	return pfn;
}

uint32_t mm__rmqueue(struct mm_machine *m, struct mm_zone *z, unsigned order,
		     int mt, unsigned alloc_flags)
{
	uint32_t pfn = mm__rmqueue_smallest(m, z, order, mt);

	if (pfn != MM_NIL)
		return pfn;
	/* out of line: the hot path above then saves no registers */
	return mm__rmqueue_fallback(m, z, order, mt, alloc_flags);
}

/* reserve_highatomic_pageblock() */
void mm__reserve_highatomic_pageblock(struct mm_machine *m, struct mm_zone *z,
				      uint32_t pfn, unsigned order)
{
	uint64_t pb = mm__pageblock_nr(m);

	if (z->managed / 100 < pb)
		return;
	uint64_t max_managed = (z->managed / 100 + pb - 1) / pb * pb;
	if (z->nr_reserved_highatomic >= max_managed)
		return;
	int mt = mm_pageblock_migratetype(m, pfn);
	if (!mm__mergeable(mt))
		return;
	if (order < (unsigned)m->pageblock_order) {
		if (mm__move_freepages_block(m, z, pfn, mt, MM_MIGRATE_HIGHATOMIC) == -1)
			return;
		z->nr_reserved_highatomic += pb;
	} else {
		mm__change_pageblock_range(m, pfn, order, MM_MIGRATE_HIGHATOMIC);
		z->nr_reserved_highatomic += 1u << order;
	}
}

/* unreserve_highatomic_pageblock(): gives one reserved pageblock of the
 * node's zonelist back to migratetype `to` (the failing caller's type).
 * Returns true when one was released. */
bool mm__unreserve_highatomic_pageblock(struct mm_machine *m, int node,
					 int to, bool force)
{
	struct mm_node *nd = &m->nodes[node];
	uint64_t pb = mm__pageblock_nr(m);

	for (int i = 0; i < nd->zonelist_len; i++) {
		struct mm_zone *z = nd->zonelist[i];
		if (!force && z->nr_reserved_highatomic <= pb)
			continue;
		for (unsigned o = 0; o < MM_NR_ORDERS; o++) {
			struct mm_free_area *area = &z->free_area[o];
			uint32_t pfn = area->free_list[MM_MIGRATE_HIGHATOMIC].head;
			if (pfn == MM_NIL)
				continue;
			uint64_t size = MM_MAX(pb, 1ull << o);
			size = MM_MIN(size, z->nr_reserved_highatomic);
			z->nr_reserved_highatomic -= size;
			if (o < (unsigned)m->pageblock_order) {
				if (mm__move_freepages_block(m, z, pfn,
							     MM_MIGRATE_HIGHATOMIC,
							     to) > 0)
					return true;
			} else {
				mm__move_to_free_list(m, z, pfn, o,
						      MM_MIGRATE_HIGHATOMIC, to);
				mm__change_pageblock_range(m, pfn, o, to);
				return true;
			}
		}
	}
	return false;
}
