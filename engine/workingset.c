/*
 * workingset.c — workingset detection and the shadow-node shrinker
 * (Linux 6.18 mm/workingset.c with MGLRU off, mm/shrinker.c's
 * do_shrink_slab, mm/vmscan.c's drop_slab).
 *
 * Each node keeps nonresident_age, a clock that ticks once per page
 * evicted by reclaim and once per page activated.  When reclaim evicts a
 * page-cache page, the page's slot in the file's tree keeps a shadow entry
 * instead of going empty: the clock's reading E at eviction, the node,
 * and whether the page was in the workingset (PG_workingset: it had been
 * active).  When the page is read back in (a fault, readFile, readahead;
 * not a write), the clock now reads R and
 *
 *     refault distance = R - E        (modulo 2^26, the timestamp bits)
 *
 * is how many other pages were evicted or activated while it was out.
 * Had the inactive list been that much longer, the page would have been
 * found on it, i.e. it was evicted only because active pages took the
 * room.  So the refault activates the page when
 *
 *     refault distance <= workingset size
 *
 * where for a file page the workingset size is the node's active file
 * pages, plus all its anonymous pages when swap has free slots (an
 * anonymous page: active + inactive file, plus active anon with swap).
 * Counters (per node, in /proc/vmstat): workingset_refault_* every
 * refault, workingset_activate_* when activated, workingset_restore_*
 * when the page was in the workingset when evicted.
 *
 * Shadow entries cost tree nodes.  A leaf holding only shadow entries is
 * on its node's shadow-node list (workingset_nodes counts them); the
 * shadow shrinker frees the oldest ones when there are more than
 * present pages / 8 (count_shadow_nodes without memcg), counting
 * workingset_nodereclaim per node freed and slabs_scanned per object
 * scanned.  Reclaim runs it after each node's LRU pass (shrink_node's
 * shrink_slab), dropCaches 2/3 until it frees little (drop_slab).
 *
 * Invariants (check.c, "shadow-entry"): shadow entries sit only in leaf
 * slots below the file's EOF and name an existing node; a leaf's
 * nr_values counts them; a leaf is on the shadow list of its object's
 * node iff count == nr_values > 0, and each list's length is that node's
 * workingset_nodes.
 */
#include "engine/internal.h"

#define MM_WORKINGSET_SHIFT 1
#define MM_SHADOW_NODES_SHIFT 3
#define MM_EVICTION_BITS (30 - MM_WORKINGSET_SHIFT - MM_SHADOW_NODES_SHIFT)
#define MM_EVICTION_MASK ((1u << MM_EVICTION_BITS) - 1)
#define MM_SHRINK_BATCH 128
_Static_assert(MM_MAX_NODES <= 1 << MM_SHADOW_NODES_SHIFT, "node id bits");
/* pfns (64 GiB at most: 2^24 frames) and tree node ids (one per 64
 * slots of cached pages) never reach bit 30 */
_Static_assert((64ull << 30) >> MM_PAGE_SHIFT < (MM_SHADOW_TAG >> 1),
	       "pfns stay below the shadow tag");

/* bucket_order: timestamps drop this many low bits when the machine has
 * more pages than the 26 timestamp bits count (workingset_init). */
static unsigned mm__bucket_order(const struct mm_machine *m)
{
	unsigned max_order = 0;

	while (max_order < 64 && (m->totalram_pages - 1) >> max_order)
		max_order++;
	return max_order > MM_EVICTION_BITS ? max_order - MM_EVICTION_BITS : 0;
}

/* pack_shadow() / unpack_shadow() */
static uint32_t mm__pack_shadow(int nid, uint64_t eviction, bool workingset)
{
	uint32_t e = (uint32_t)(eviction & MM_EVICTION_MASK);

	e = (e << MM_SHADOW_NODES_SHIFT) | (uint32_t)nid;
	e = (e << MM_WORKINGSET_SHIFT) | workingset;
	return MM_SHADOW_TAG | e;
}

int mm__shadow_nid(uint32_t shadow)
{
	return (int)((shadow >> MM_WORKINGSET_SHIFT) &
		     ((1u << MM_SHADOW_NODES_SHIFT) - 1));
}

static uint64_t mm__shadow_eviction(uint32_t shadow)
{
	return ((shadow & ~0xc0000000u) >>
		(MM_WORKINGSET_SHIFT + MM_SHADOW_NODES_SHIFT));
}

void mm__workingset_age_nonresident(struct mm_machine *m, int nid, uint64_t nr)
{
	m->nodes[nid].nonresident_age += nr;
}

uint32_t mm__workingset_eviction(struct mm_machine *m, uint32_t pfn)
{
	int nid = mm_page_zone(m, pfn)->node;
	uint64_t eviction = m->nodes[nid].nonresident_age >> mm__bucket_order(m);

	MM_ASSERT(!mm_page_test(&m->pages[pfn], MM_PG_lru));
	mm__workingset_age_nonresident(m, nid, 1);
	return mm__pack_shadow(nid, eviction,
			       mm_page_test(&m->pages[pfn], MM_PG_workingset));
}

/* workingset_test_recent(): does the refault distance fit the
 * workingset of the eviction node? */
static bool mm__workingset_test_recent(const struct mm_machine *m,
				       uint32_t shadow, bool file)
{
	const struct mm_node *n = &m->nodes[mm__shadow_nid(shadow)];
	uint64_t eviction = mm__shadow_eviction(shadow) << mm__bucket_order(m);
	uint64_t refault = n->nonresident_age;
	/* modulo the timestamp bits, as Linux's EVICTION_MASK */
	uint64_t distance = (refault - eviction) & MM_EVICTION_MASK;
	int64_t size = n->vm_stat[MM_NR_ACTIVE_FILE];

	if (!file)
		size += n->vm_stat[MM_NR_INACTIVE_FILE];
	if (mm__nr_swap_free(m) > 0) {
		size += n->vm_stat[MM_NR_ACTIVE_ANON];
		if (file)
			size += n->vm_stat[MM_NR_INACTIVE_ANON];
	}
	return distance <= (uint64_t)MM_MAX(size, 0);
}

void mm__workingset_refault(struct mm_machine *m, uint32_t pfn, uint32_t shadow)
{
	struct mm_page *p = &m->pages[pfn];
	bool file = !mm_page_test(p, MM_PG_swapbacked);
	struct mm_node *n = &m->nodes[mm_page_zone(m, pfn)->node];

	n->vm_stat[MM_WORKINGSET_REFAULT_ANON + file]++;
	if (!mm__workingset_test_recent(m, shadow, file))
		return;
	mm__set(p, MM_PG_active);
	mm__workingset_age_nonresident(m, n->id, 1);
	n->vm_stat[MM_WORKINGSET_ACTIVATE_ANON + file]++;
	if (shadow & 1) { /* it was active before it was evicted */
		mm__set(p, MM_PG_workingset);
		mm__lru_note_cost(n, file, 1, 0); /* lru_note_cost_refault() */
		n->vm_stat[MM_WORKINGSET_RESTORE_ANON + file]++;
	}
}

void mm__workingset_activation(struct mm_machine *m, uint32_t pfn)
{
	mm__workingset_age_nonresident(m, mm_page_zone(m, pfn)->node, 1);
}

/* ---- shadow nodes ------------------------------------------------------- */

int mm__xa_node_nid(const struct mm_machine *m, uint32_t id)
{
	uint32_t pfn = mm__virt_to_pfn(m, m->xa_nodes[id].slab_addr);

	return pfn == MM_NIL ? -1 : mm_page_zone(m, pfn)->node;
}

static bool mm__shadow_listed(const struct mm_machine *m, uint32_t id, int nid)
{
	return m->xa_nodes[id].shadow_prev != MM_NIL ||
	       m->nodes[nid].shadow_head == id;
}

void mm__workingset_update_node(struct mm_machine *m, uint32_t id)
{
	struct mm_xa_node *x = &m->xa_nodes[id];
	int nid = mm__xa_node_nid(m, id);
	MM_ASSERT(nid >= 0);
	struct mm_node *n = &m->nodes[nid];
	bool want = x->count && x->count == x->nr_values;

	if (want == mm__shadow_listed(m, id, nid))
		return;
	if (want) { /* list_lru_add_obj(): at the tail */
		x->shadow_next = MM_NIL;
		x->shadow_prev = n->shadow_tail;
		if (n->shadow_tail != MM_NIL)
			m->xa_nodes[n->shadow_tail].shadow_next = id;
		else
			n->shadow_head = id;
		n->shadow_tail = id;
		n->vm_stat[MM_WORKINGSET_NODES]++;
		return;
	}
	if (x->shadow_prev != MM_NIL)
		m->xa_nodes[x->shadow_prev].shadow_next = x->shadow_next;
	else
		n->shadow_head = x->shadow_next;
	if (x->shadow_next != MM_NIL)
		m->xa_nodes[x->shadow_next].shadow_prev = x->shadow_prev;
	else
		n->shadow_tail = x->shadow_prev;
	x->shadow_next = x->shadow_prev = MM_NIL;
	n->vm_stat[MM_WORKINGSET_NODES]--;
}

/* count_shadow_nodes(): shadow nodes beyond present pages / 8 (the
 * worst-case density of 1/8 of 64 slots per node). */
static int64_t mm__count_shadow_nodes(const struct mm_machine *m, int nid)
{
	const struct mm_node *n = &m->nodes[nid];
	int64_t nodes = n->vm_stat[MM_WORKINGSET_NODES];
	int64_t max_nodes = (int64_t)(n->present >> (MM_XA_SHIFT - 3));

	return nodes <= max_nodes ? 0 : nodes - max_nodes;
}

/* scan_shadow_nodes(): frees up to nr nodes from the head (the oldest)
 * of nid's list (shadow_lru_isolate + xa_delete_node). */
static uint64_t mm__scan_shadow_nodes(struct mm_machine *m, int nid,
				      int64_t nr, int cpu)
{
	struct mm_node *n = &m->nodes[nid];
	uint64_t freed = 0;

	while (nr-- > 0 && n->shadow_head != MM_NIL) {
		mm__xa_delete_node(m, n->shadow_head, cpu);
		n->vm_stat[MM_WORKINGSET_NODERECLAIM]++;
		freed++;
	}
	return freed;
}

uint64_t mm__shrink_slab(struct mm_machine *m, int nid, int priority, int cpu)
{
	struct mm_node *n = &m->nodes[nid];
	int64_t freeable = mm__count_shadow_nodes(m, nid);
	int64_t scanned = 0;
	uint64_t freed = 0;

	if (!freeable)
		return 0;
	int64_t nr = n->shadow_deferred; /* xchg_nr_deferred() */
	n->shadow_deferred = 0;
	int64_t delta = freeable / 2;    /* seeks == 0: trim aggressively */
	int64_t total_scan = MM_MIN((nr >> priority) + delta, 2 * freeable);
	while (total_scan >= MM_SHRINK_BATCH || total_scan >= freeable) {
		int64_t nr_to_scan = MM_MIN(MM_SHRINK_BATCH, total_scan);
		freed += mm__scan_shadow_nodes(m, nid, nr_to_scan, cpu);
		m->events[MM_SLABS_SCANNED] += (uint64_t)nr_to_scan;
		total_scan -= nr_to_scan;
		scanned += nr_to_scan;
	}
	/* the work not done is deferred, at most twice the freeable */
	n->shadow_deferred = MM_MIN(MM_MAX(nr + delta - scanned, 0), 2 * freeable);
	return freed;
}

void mm__drop_slab(struct mm_machine *m)
{
	unsigned shift = 0;
	uint64_t freed;

	do {
		freed = 0;
		for (int nid = 0; nid < m->nr_nodes; nid++)
			freed += mm__shrink_slab(m, nid, 0, 0);
	} while (shift < 64 && (freed >> shift++) > 1);
}
