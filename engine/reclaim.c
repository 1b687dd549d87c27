/*
 * reclaim.c — page frame reclaim after Linux 6.18 with MGLRU off (the
 * classic two-list LRU of mm/swap.c, mm/vmscan.c, mm/mlock.c,
 * mm/oom_kill.c).
 *
 * Each node has one lruvec: five lists (inactive/active anon, inactive/
 * active file, unevictable) threaded through mm_page.lru_next/lru_prev.
 * A user page joins its list when it is instantiated (folio_add_lru_vma:
 * the inactive list, or the unevictable one in a VM_LOCKED VMA) and leaves
 * it when freed.  Swap-backed pages (anonymous, shmem) are "anon", the
 * rest "file".  New pages enter at the head; reclaim isolates from the
 * tail.  Invariant (check.c "lru-membership"): a frame is on a list iff
 * PG_lru, on exactly the list its PG_swapbacked/PG_active/PG_unevictable
 * name, and the NR_*_ANON/FILE/UNEVICTABLE counters equal the list sizes.
 *
 * Reclaim (shrink_node): get_scan_count() splits the work between anon
 * and file by swappiness and the recent cost of each; shrink_active_list()
 * deactivates pages (clearing their accessed bits through the reverse
 * map); shrink_inactive_list() gives a referenced page a second trip
 * (folio_check_references: one reference rotates it, two activate it) and
 * frees the rest: a file page is unmapped through the reverse map and
 * dropped from the page cache (a dirty one is flagged PG_reclaim and kept,
 * and written back by kswapd when it comes round again); an anon page
 * goes to swap (swap.c: a slot, the swap cache, swap entries in its PTEs,
 * the write), so without free swap slots the anon lists are not scanned
 * at all (can_reclaim_anon_pages).
 *
 * kswapd is woken when an allocation finds (or leaves) a zone below its
 * low watermark and runs on tick until a zone of the node is above high;
 * an allocation that cannot stay above min reclaims directly; when that
 * makes no progress the OOM killer kills the task of highest oom_badness.
 */
#include "engine/internal.h"

#define MM_SWAP_CLUSTER_MAX 32u
#define MM_DEF_PRIORITY 12
#define MM_MAX_RECLAIM_RETRIES 16
#define MM_MAX_SWAPPINESS 200
#define MM_OOM_SCORE_ADJ_MIN (-1000)

const char *const mm_lru_names[MM_NR_LRU_LISTS] = {
	"inactive_anon", "active_anon", "inactive_file", "active_file",
	"unevictable",
};

/* ---- list membership --------------------------------------------------- */

static bool mm__is_file_lru(int lru)
{
	return lru == MM_LRU_INACTIVE_FILE || lru == MM_LRU_ACTIVE_FILE;
}

/* folio_lru_list() */
static int mm__folio_lru_list(const struct mm_page *p)
{
	if (mm_page_test(p, MM_PG_unevictable))
		return MM_LRU_UNEVICTABLE;
	int lru = mm_page_test(p, MM_PG_swapbacked) ? MM_LRU_INACTIVE_ANON
						   : MM_LRU_INACTIVE_FILE;
	return lru + (mm_page_test(p, MM_PG_active) ? 1 : 0);
}

int mm_page_lru(const struct mm_machine *m, uint32_t pfn)
{
	if (pfn >= m->nr_pfns || !mm_page_test(&m->pages[pfn], MM_PG_lru))
		return -1;
	return mm__folio_lru_list(&m->pages[pfn]);
}

static void mm__lru_account(struct mm_machine *m, uint32_t pfn, int lru,
			    int64_t d)
{
	struct mm_zone *z = mm_page_zone(m, pfn);
	m->nodes[z->node].vm_stat[MM_NR_INACTIVE_ANON + lru] += d;
	z->vm_stat[MM_NR_ZONE_INACTIVE_ANON + lru] += d;
}

/* lruvec_add_folio() / lruvec_add_folio_tail() */
static void mm__lruvec_add(struct mm_machine *m, uint32_t pfn, bool tail)
{
	struct mm_page *p = &m->pages[pfn];
	int lru = mm__folio_lru_list(p);
	struct mm_plist *l = &m->nodes[mm_page_zone(m, pfn)->node].lru[lru];

	mm__set(p, MM_PG_lru);
	if (tail)
		mm__plist_add_tail(m, l, pfn);
	else
		mm__plist_add(m, l, pfn);
	mm__lru_account(m, pfn, lru, 1);
}

/* lruvec_del_folio() + folio_test_clear_lru() (isolation) */
static void mm__lruvec_del(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];
	int lru = mm__folio_lru_list(p);

	MM_ASSERT(mm_page_test(p, MM_PG_lru));
	mm__plist_del(m, &m->nodes[mm_page_zone(m, pfn)->node].lru[lru], pfn);
	mm__lru_account(m, pfn, lru, -1);
	mm__clear(p, MM_PG_lru);
}

static void mm__mlock_count(struct mm_machine *m, uint32_t pfn, int d)
{
	mm_page_zone(m, pfn)->vm_stat[MM_NR_MLOCK] += d;
	m->events[d > 0 ? MM_UNEVICTABLE_PGS_MLOCKED
			: MM_UNEVICTABLE_PGS_MUNLOCKED]++;
}

void mm__lru_add_new(struct mm_machine *m, uint32_t pfn, uint64_t vm_flags)
{
	struct mm_page *p = &m->pages[pfn];

	MM_ASSERT(!mm_page_test(p, MM_PG_lru));
	if ((vm_flags & (MM_VM_LOCKED | MM_VM_SPECIAL)) == MM_VM_LOCKED) {
		/* mlock_new_folio() */
		mm__set(p, MM_PG_mlocked);
		mm__set(p, MM_PG_unevictable);
		mm__mlock_count(m, pfn, 1);
		p->private = 1; /* mlock_count */
	}
	mm__lruvec_add(m, pfn, false);
}

void mm__lru_remove(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (mm_page_test(p, MM_PG_lru))
		mm__lruvec_del(m, pfn);
	if (mm_page_test(p, MM_PG_mlocked)) {
		/* mlock_drain / free_pages_prepare: "page still mlocked" */
		mm_page_zone(m, pfn)->vm_stat[MM_NR_MLOCK]--;
		m->events[MM_UNEVICTABLE_PGS_CLEARED]++;
	}
	p->flags &= ~((1u << MM_PG_active) | (1u << MM_PG_referenced) |
		      (1u << MM_PG_unevictable) | (1u << MM_PG_mlocked) |
		      (1u << MM_PG_workingset));
	p->private = 0;
}

/* mlock_folio(): one more VM_LOCKED mapping of a page on the LRU. */
void mm__mlock_page(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	/* private is the mlock count or the swap slot: a page in the swap
	 * cache leaves it first, or, while a swap entry still names its slot,
	 * stays evictable (reclaim sees VM_LOCKED and keeps it active) */
	if (mm_page_test(p, MM_PG_swapcache) && !mm__folio_free_swap(m, pfn))
		return;
	if (!mm_page_test(p, MM_PG_mlocked)) {
		mm__set(p, MM_PG_mlocked);
		mm__mlock_count(m, pfn, 1);
	}
	if (mm_page_test(p, MM_PG_unevictable)) {
		p->private++;
		return;
	}
	mm__lruvec_del(m, pfn);
	mm__clear(p, MM_PG_active);
	mm__set(p, MM_PG_unevictable);
	p->private = 1;
	m->events[MM_UNEVICTABLE_PGS_CULLED]++;
	mm__lruvec_add(m, pfn, false);
}

/* munlock_folio(): one VM_LOCKED mapping less; the last one rescues the
 * page to the inactive list. */
void mm__munlock_page(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (mm_page_test(p, MM_PG_unevictable) && p->private && --p->private)
		return;
	if (!mm_page_test(p, MM_PG_mlocked))
		return;
	mm__clear(p, MM_PG_mlocked);
	mm__mlock_count(m, pfn, -1);
	if (mm_page_test(p, MM_PG_unevictable)) {
		mm__lruvec_del(m, pfn);
		mm__clear(p, MM_PG_unevictable);
		p->private = 0;
		mm__lruvec_add(m, pfn, false);
		m->events[MM_UNEVICTABLE_PGS_RESCUED]++;
	}
}

/* folio_mark_accessed(): the second reference of an inactive page
 * activates it (folio_activate), the first only marks it. */
void mm__mark_page_accessed(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (!mm_page_test(p, MM_PG_referenced)) {
		mm__set(p, MM_PG_referenced);
	} else if (!mm_page_test(p, MM_PG_unevictable) &&
		   !mm_page_test(p, MM_PG_active)) {
		if (mm_page_test(p, MM_PG_lru)) {
			mm__lruvec_del(m, pfn);
			mm__set(p, MM_PG_active);
			mm__lruvec_add(m, pfn, false);
			m->events[MM_PGACTIVATE]++;
		}
		mm__clear(p, MM_PG_referenced);
		mm__workingset_activation(m, pfn);
	}
}

/* folio_rotate_reclaimable() + lru_move_tail(): writeback ended on a
 * page flagged PG_reclaim; still reclaimable and on its list, it goes to
 * the tail of the inactive list (pgrotated). */
void mm__rotate_reclaimable(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (mm_page_test(p, MM_PG_dirty) || mm_page_test(p, MM_PG_unevictable) ||
	    !mm_page_test(p, MM_PG_lru))
		return;
	mm__lruvec_del(m, pfn);
	mm__clear(p, MM_PG_active);
	mm__lruvec_add(m, pfn, true);
	m->events[MM_PGROTATED]++;
}

/* ---- reverse mapping ------------------------------------------------------ */

struct mm__referenced {
	int referenced;
	uint64_t vm_flags;
};

/* folio_referenced_one(): harvest (test and clear) one accessed bit; a
 * VM_LOCKED mapping marks the page for the unevictable list. */
static void mm__referenced_one(struct mm_machine *m, uint32_t mmid, uint64_t va,
			       uint64_t e, void *arg)
{
	struct mm__referenced *r = arg;
	struct mm_mm *mm = &m->mms[mmid];
	uint32_t id = mm__find_vma(m, mm, va);

	if (id == MM_NIL)
		return;
	if (m->vmas[id].flags & MM_VM_LOCKED) {
		r->vm_flags |= MM_VM_LOCKED;
		return;
	}
	if (e & MM_PTE_ACCESSED) {
		*mm__pte_lookup(m, mm, va) &= ~MM_PTE_ACCESSED;
		r->referenced++;
		r->vm_flags |= m->vmas[id].flags;
	}
}

/* folio_referenced(): through the reverse map, how many PTEs mapping pfn
 * had the accessed bit (now cleared); their VMAs' flags in *vm_flags. */
static int mm__folio_referenced(struct mm_machine *m, uint32_t pfn,
				uint64_t *vm_flags)
{
	struct mm__referenced r = {0, 0};

	if (m->pages[pfn].mapcount > 0)
		mm__rmap_each(m, pfn, mm__referenced_one, &r);
	*vm_flags = r.vm_flags;
	return r.referenced;
}

/* ---- scan control -------------------------------------------------------- */

enum { MM_RECLAIM_KSWAPD, MM_RECLAIM_DIRECT, MM_RECLAIM_KHUGEPAGED,
       MM_RECLAIM_PROACTIVE };
enum { MM_DEACTIVATE_ANON = 1, MM_DEACTIVATE_FILE = 2 };

struct mm__scan_control {
	uint64_t nr_to_reclaim, nr_reclaimed, nr_scanned;
	int priority;
	int reclaim_idx;        /* highest zone index to take pages from */
	int who;                /* MM_RECLAIM_*: which pgscan/pgsteal count */
	uint8_t may_deactivate;
	bool may_swap;
	bool ignore_references; /* reclaim_pages(): MADV_PAGEOUT */
	bool cache_trim_mode, file_is_tiny;
	uint64_t anon_cost, file_cost;
	uint64_t nr_pageout;    /* swap writes (stat->nr_pageout) */
	int cpu;
};

/* get_nr_swap_pages(): free swap slots (swap.c). */
uint64_t mm__nr_swap_free(const struct mm_machine *m)
{
	return m->swap_free;
}

/* can_reclaim_anon_pages() */
static bool mm__can_reclaim_anon(const struct mm_machine *m)
{
	return mm__nr_swap_free(m) > 0;
}

static uint64_t mm__lru_size(const struct mm_node *n, int lru)
{
	return (uint64_t)n->vm_stat[MM_NR_INACTIVE_ANON + lru];
}

static uint64_t mm__int_sqrt(uint64_t x)
{
	uint64_t r = 0;
	while ((r + 1) * (r + 1) <= x)
		r++;
	return r;
}

/* inactive_is_low(): the inactive list is smaller than the active one
 * divided by sqrt(10 * GiB of both). */
static bool mm__inactive_is_low(const struct mm_node *n, int inactive_lru)
{
	uint64_t inactive = mm__lru_size(n, inactive_lru);
	uint64_t active = mm__lru_size(n, inactive_lru + 1);
	uint64_t gb = (inactive + active) >> (30 - MM_PAGE_SHIFT);
	uint64_t ratio = gb ? mm__int_sqrt(10 * gb) : 1;

	return inactive * ratio < active;
}

/* prepare_scan_control() */
static void mm__prepare_scan_control(struct mm_machine *m, struct mm_node *n,
				     struct mm__scan_control *sc)
{
	int64_t ra = n->vm_stat[MM_WORKINGSET_ACTIVATE_ANON];
	int64_t rf = n->vm_stat[MM_WORKINGSET_ACTIVATE_FILE];

	sc->may_deactivate = 0;
	if (ra != n->refaults[0] || mm__inactive_is_low(n, MM_LRU_INACTIVE_ANON))
		sc->may_deactivate |= MM_DEACTIVATE_ANON;
	if (rf != n->refaults[1] || mm__inactive_is_low(n, MM_LRU_INACTIVE_FILE))
		sc->may_deactivate |= MM_DEACTIVATE_FILE;
	sc->anon_cost = n->anon_cost;
	sc->file_cost = n->file_cost;
	uint64_t file = mm__lru_size(n, MM_LRU_INACTIVE_FILE);
	sc->cache_trim_mode = (file >> sc->priority) &&
			      !(sc->may_deactivate & MM_DEACTIVATE_FILE);
	uint64_t free = 0, high = 0;
	for (int z = 0; z < m->nr_zone_types; z++) {
		free += (uint64_t)n->zones[z].vm_stat[MM_NR_FREE_PAGES];
		high += mm_wmark_pages(&n->zones[z], MM_WMARK_HIGH);
	}
	file += mm__lru_size(n, MM_LRU_ACTIVE_FILE);
	sc->file_is_tiny = file + free <= high &&
			   !(sc->may_deactivate & MM_DEACTIVATE_ANON) &&
			   (mm__lru_size(n, MM_LRU_INACTIVE_ANON) >> sc->priority);
}

/* get_scan_count()'s SCAN_FRACT weights: anon gets swappiness, file
 * 200 - swappiness, each divided by its side's share of the recent cost. */
void mm__scan_fraction(uint64_t swappiness, uint64_t anon_cost,
		       uint64_t file_cost, uint64_t fraction[2])
{
	uint64_t total = anon_cost + file_cost;
	uint64_t ac = total + anon_cost, fc = total + file_cost;

	total = ac + fc;
	fraction[0] = swappiness * (total + 1) / (ac + 1);
	fraction[1] = (MM_MAX_SWAPPINESS - swappiness) * (total + 1) / (fc + 1);
}

/*
 * get_scan_count(): how many pages of each evictable list to scan at this
 * priority (list size >> priority), split by swappiness and the lists'
 * recent reclaim cost (SCAN_FRACT), or all from one side.
 */
static void mm__get_scan_count(const struct mm_machine *m,
			       const struct mm_node *n,
			       const struct mm__scan_control *sc, uint64_t nr[4])
{
	enum { SCAN_EQUAL, SCAN_FRACT, SCAN_ANON, SCAN_FILE } balance;
	uint64_t fraction[2] = {0, 0}, denominator = 0;
	uint64_t swappiness = (uint64_t)m->cfg.swappiness;

	if (!sc->may_swap || !mm__can_reclaim_anon(m)) {
		balance = SCAN_FILE;
	} else if (!sc->priority && swappiness) {
		balance = SCAN_EQUAL;
	} else if (sc->file_is_tiny) {
		balance = SCAN_ANON;
	} else if (sc->cache_trim_mode) {
		balance = SCAN_FILE;
	} else {
		balance = SCAN_FRACT;
		mm__scan_fraction(swappiness, sc->anon_cost, sc->file_cost,
				  fraction);
		denominator = fraction[0] + fraction[1];
	}
	for (int lru = 0; lru < MM_LRU_UNEVICTABLE; lru++) {
		int file = mm__is_file_lru(lru);
		uint64_t scan = mm__lru_size(n, lru) >> sc->priority;
		if (balance == SCAN_FRACT)
			scan = denominator ? (scan * fraction[file] + denominator - 1) /
						     denominator
					   : 0;
		else if (balance == SCAN_FILE || balance == SCAN_ANON)
			scan = (balance == SCAN_FILE) == file ? scan : 0;
		nr[lru] = scan;
	}
}

/* lru_note_cost(): reclaim work (I/O and rotations) raises a side's cost;
 * both halve once they pass a quarter of the LRU. */
void mm__lru_note_cost(struct mm_node *n, bool file, uint64_t nr_io,
			      uint64_t nr_rotated)
{
	uint64_t cost = nr_io * MM_SWAP_CLUSTER_MAX + nr_rotated;
	uint64_t lrusize = 0;

	if (file)
		n->file_cost += cost;
	else
		n->anon_cost += cost;
	for (int lru = 0; lru < MM_LRU_UNEVICTABLE; lru++)
		lrusize += mm__lru_size(n, lru);
	if (n->file_cost + n->anon_cost > lrusize / 4) {
		n->file_cost /= 2;
		n->anon_cost /= 2;
	}
}

/* ---- isolating and putting back ---------------------------------------- */

/* A batch of isolated pages (an array, oldest first), at most
 * SWAP_CLUSTER_MAX: isolate_lru_folios() never takes more. */
struct mm__batch {
	uint32_t pfn[MM_SWAP_CLUSTER_MAX];
	uint32_t n;
};

/* isolate_lru_folios(): up to nr pages from the tail of list lru, skipping
 * (pgskip) those of zones above reclaim_idx, which go back to the head. */
static uint64_t mm__isolate(struct mm_machine *m, struct mm_node *n, int lru,
			    uint64_t nr, const struct mm__scan_control *sc,
			    struct mm__batch *b)
{
	struct mm_plist *l = &n->lru[lru];
	uint32_t skipped[MM_SWAP_CLUSTER_MAX];
	uint32_t nskip = 0;
	uint64_t scanned = 0;

	b->n = 0;
	while (b->n < nr && b->n < MM_SWAP_CLUSTER_MAX &&
	       nskip < MM_SWAP_CLUSTER_MAX && l->tail != MM_NIL) {
		uint32_t pfn = l->tail;
		struct mm_zone *z = mm_page_zone(m, pfn);
		mm__lruvec_del(m, pfn);
		if (z->idx > sc->reclaim_idx) {
			m->events[MM_PGSKIP + z->idx]++;
			skipped[nskip++] = pfn;
			continue;
		}
		b->pfn[b->n++] = pfn;
		scanned++;
	}
	while (nskip)
		mm__lruvec_add(m, skipped[--nskip], false);
	return scanned;
}

/* move_folios_to_lru(): back to the head of the list their flags name,
 * oldest first so the batch keeps its order; each active page ages the
 * node's nonresident clock (age: not for reclaim_pages' putback). */
static void mm__putback(struct mm_machine *m, const struct mm__batch *b,
			bool age)
{
	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t pfn = b->pfn[i];
		struct mm_page *p = &m->pages[pfn];
		if (mm_page_test(p, MM_PG_mlocked) &&
		    !mm_page_test(p, MM_PG_unevictable)) {
			/* lru_add(): an mlocked page found on an evictable list
			 * is culled to the unevictable one */
			mm__clear(p, MM_PG_active);
			mm__set(p, MM_PG_unevictable);
			m->events[MM_UNEVICTABLE_PGS_CULLED]++;
		}
		mm__lruvec_add(m, pfn, false);
		if (age && mm_page_test(p, MM_PG_active))
			mm__workingset_age_nonresident(m, mm_page_zone(m, pfn)->node, 1);
	}
}

/* ---- the active list ------------------------------------------------------ */

/*
 * shrink_active_list(): every scanned page loses its accessed bits; a
 * referenced executable file page gets another trip around the active
 * list, all others move to the inactive list (pgdeactivate).
 */
static void mm__shrink_active_list(struct mm_machine *m, struct mm_node *n,
				   uint64_t nr_to_scan,
				   struct mm__scan_control *sc, int lru)
{
	struct mm__batch b, active = {.n = 0}, inactive = {.n = 0};
	uint64_t scanned = mm__isolate(m, n, lru, nr_to_scan, sc, &b);

	m->events[MM_PGREFILL] += scanned;
	for (uint32_t i = 0; i < b.n; i++) {
		uint32_t pfn = b.pfn[i];
		struct mm_page *p = &m->pages[pfn];
		uint64_t vm_flags;
		if (mm_page_test(p, MM_PG_mlocked)) {
			inactive.pfn[inactive.n++] = pfn; /* culled on putback */
			continue;
		}
		if (mm__folio_referenced(m, pfn, &vm_flags) &&
		    (vm_flags & MM_VM_EXEC) && mm__is_file_lru(lru)) {
			active.pfn[active.n++] = pfn;
			continue;
		}
		mm__clear(p, MM_PG_active);
		mm__set(p, MM_PG_workingset);
		inactive.pfn[inactive.n++] = pfn;
	}
	mm__putback(m, &active, true);
	mm__putback(m, &inactive, true);
	m->events[MM_PGDEACTIVATE] += inactive.n;
}

/* ---- the inactive list ------------------------------------------------------ */

enum mm__folio_ref { MM_REF_RECLAIM, MM_REF_RECLAIM_CLEAN, MM_REF_KEEP,
		     MM_REF_ACTIVATE };

/* folio_check_references(): a page mapped and referenced once is marked
 * and kept for another trip (second chance); referenced again, or
 * referenced in more than one PTE, it is activated. */
static enum mm__folio_ref mm__check_references(struct mm_machine *m,
					       uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];
	uint64_t vm_flags;
	int ptes = mm__folio_referenced(m, pfn, &vm_flags);
	bool was_referenced = mm_page_test(p, MM_PG_referenced);

	mm__clear(p, MM_PG_referenced);
	if (vm_flags & MM_VM_LOCKED)
		return MM_REF_ACTIVATE;
	if (ptes) {
		mm__set(p, MM_PG_referenced);
		if (was_referenced || ptes > 1)
			return MM_REF_ACTIVATE;
		if ((vm_flags & MM_VM_EXEC) && !mm_page_test(p, MM_PG_swapbacked))
			return MM_REF_ACTIVATE;
		return MM_REF_KEEP;
	}
	if (was_referenced && !mm_page_test(p, MM_PG_swapbacked))
		return MM_REF_RECLAIM_CLEAN;
	return MM_REF_RECLAIM;
}

/*
 * The end of a page chosen for eviction.  An anonymous page first gets a
 * swap slot and joins the swap cache (add_to_swap; with swap full it is
 * activated).  try_to_unmap() through the reverse map then clears its
 * PTEs (a dirty PTE dirties the page; an anonymous page leaves its swap
 * entry in each), and the page goes: a file page from the page cache (a
 * dirty one only from kswapd, written back first — see
 * mm__pagecache_reclaim), an anonymous one from the swap cache, written
 * to its slot first when dirty (mm__swap_pageout).  Shmem pages are not
 * swapped (docs/files-and-swap.md): they are kept.  A dirty page that was
 * only worth reclaiming clean stays on the inactive list.
 */
static bool mm__pageout(struct mm_machine *m, uint32_t pfn,
			enum mm__folio_ref ref, struct mm__scan_control *sc,
			uint64_t *written)
{
	struct mm_page *p = &m->pages[pfn];
	bool anon = mm_page_test(p, MM_PG_swapbacked);

	if (anon && mm__file_is_shmem(p->mapping))
		return false;
	if (ref == MM_REF_RECLAIM_CLEAN && mm_page_test(p, MM_PG_dirty))
		return false;
	/* someone holds a reference beyond the cache's and the PTEs' (a
	 * fault in progress): folio_ref_freeze() would fail */
	int32_t cache = anon ? mm_page_test(p, MM_PG_swapcache) : 1;
	if (p->refcount != cache + p->mapcount)
		return false;
	if (anon && !cache && !mm__add_to_swap(m, pfn))
		return false;
	if (p->mapcount > 0)
		mm__try_to_unmap(m, pfn, sc->cpu);
	if (p->mapcount > 0)
		return false;
	if (anon)
		return mm__swap_pageout(m, pfn, sc->cpu, &sc->nr_pageout, written);
	return mm__pagecache_reclaim(m, pfn, sc->who == MM_RECLAIM_KSWAPD,
				     sc->cpu);
}

/*
 * shrink_folio_list(): decides each isolated page's fate.  Returns the
 * pages freed; the survivors are put back (activated ones to the active
 * list).
 */
static uint64_t mm__shrink_folio_list(struct mm_machine *m,
				      struct mm__batch *b,
				      struct mm__scan_control *sc,
				      uint64_t *nr_activate)
{
	uint64_t reclaimed = 0, written = 0;
	uint32_t kept = 0;
	int node = b->n ? mm_page_zone(m, b->pfn[0])->node : 0;

	for (uint32_t i = 0; i < b->n; i++) {
		uint32_t pfn = b->pfn[i];
		struct mm_page *p = &m->pages[pfn];
		enum mm__folio_ref ref = MM_REF_ACTIVATE;
		if (sc->ignore_references)
			ref = MM_REF_RECLAIM;
		else if (!mm_page_test(p, MM_PG_mlocked))
			ref = mm__check_references(m, pfn);
		if ((ref == MM_REF_RECLAIM || ref == MM_REF_RECLAIM_CLEAN) &&
		    mm__pageout(m, pfn, ref, sc, &written)) {
			reclaimed++;
			continue;
		}
		if (ref == MM_REF_RECLAIM_CLEAN)
			ref = MM_REF_KEEP; /* dirty: keep_locked */
		if (ref != MM_REF_KEEP && !mm_page_test(p, MM_PG_mlocked)) {
			/* activate_locked */
			mm__set(p, MM_PG_active);
			(*nr_activate)++;
		}
		/* "Not a candidate for swapping, so reclaim swap space." */
		if (ref != MM_REF_KEEP && mm_page_test(p, MM_PG_swapcache) &&
		    (mm__vm_swap_full(m) || mm_page_test(p, MM_PG_mlocked)))
			mm__folio_free_swap(m, pfn);
		b->pfn[kept++] = pfn;
	}
	b->n = kept;
	m->events[MM_PGACTIVATE] += *nr_activate;
	if (written) /* one swap I/O batch */
		mm_event_emit(m, MM_EV_SWAP_OUT, node, written, 0, 0, 0);
	return reclaimed;
}

/* shrink_inactive_list() */
static uint64_t mm__shrink_inactive_list(struct mm_machine *m,
					 struct mm_node *n, uint64_t nr_to_scan,
					 struct mm__scan_control *sc, int lru)
{
	struct mm__batch b;
	uint64_t nr_activate = 0;
	uint64_t scanned = mm__isolate(m, n, lru, nr_to_scan, sc, &b);
	bool file = mm__is_file_lru(lru);
	uint64_t pageout = sc->nr_pageout;

	if (!scanned) {
		mm__putback(m, &b, true);
		return 0;
	}
	sc->nr_scanned += scanned;
	m->events[MM_PGSCAN_KSWAPD + sc->who] += scanned;
	m->events[MM_PGSCAN_ANON + file] += scanned;
	uint64_t reclaimed = mm__shrink_folio_list(m, &b, sc, &nr_activate);
	mm__putback(m, &b, true);
	m->events[MM_PGSTEAL_KSWAPD + sc->who] += reclaimed;
	m->events[MM_PGSTEAL_ANON + file] += reclaimed;
	mm__lru_note_cost(n, file, sc->nr_pageout - pageout, scanned - reclaimed);
	return reclaimed;
}

/* shrink_list() */
static uint64_t mm__shrink_list(struct mm_machine *m, struct mm_node *n,
				int lru, uint64_t nr_to_scan,
				struct mm__scan_control *sc)
{
	if (lru == MM_LRU_ACTIVE_ANON || lru == MM_LRU_ACTIVE_FILE) {
		if (sc->may_deactivate &
		    (mm__is_file_lru(lru) ? MM_DEACTIVATE_FILE : MM_DEACTIVATE_ANON))
			mm__shrink_active_list(m, n, nr_to_scan, sc, lru);
		return 0;
	}
	return mm__shrink_inactive_list(m, n, nr_to_scan, sc, lru);
}

/* shrink_lruvec(): the lists in rounds of SWAP_CLUSTER_MAX each until the
 * targets are scanned or enough was reclaimed; then rebalance anon. */
static void mm__shrink_lruvec(struct mm_machine *m, struct mm_node *n,
			      struct mm__scan_control *sc)
{
	uint64_t nr[4];
	uint64_t reclaimed = 0;

	mm__get_scan_count(m, n, sc, nr);
	while (nr[MM_LRU_INACTIVE_ANON] || nr[MM_LRU_ACTIVE_FILE] ||
	       nr[MM_LRU_INACTIVE_FILE]) {
		for (int lru = 0; lru < MM_LRU_UNEVICTABLE; lru++) {
			if (!nr[lru])
				continue;
			uint64_t scan = MM_MIN(nr[lru], MM_SWAP_CLUSTER_MAX);
			nr[lru] -= scan;
			reclaimed += mm__shrink_list(m, n, lru, scan, sc);
		}
		if (reclaimed >= sc->nr_to_reclaim)
			break;
	}
	sc->nr_reclaimed += reclaimed;
	if (mm__can_reclaim_anon(m) && mm__inactive_is_low(n, MM_LRU_INACTIVE_ANON))
		mm__shrink_active_list(m, n, MM_SWAP_CLUSTER_MAX, sc,
				       MM_LRU_ACTIVE_ANON);
}

/* Slab pages of the machine (SReclaimable + SUnreclaim). */
static int64_t mm__slab_pages(const struct mm_machine *m)
{
	int64_t pages = 0;

	for (int n = 0; n < m->nr_nodes; n++)
		pages += m->nodes[n].vm_stat[MM_NR_SLAB_RECLAIMABLE] +
			 m->nodes[n].vm_stat[MM_NR_SLAB_UNRECLAIMABLE];
	return pages;
}

/* shrink_node(): the LRU lists, then the shrinkers, whose freed slab
 * pages count as reclaimed (reclaim_state, flush_reclaim_state) */
static void mm__shrink_node(struct mm_machine *m, struct mm_node *n,
			    struct mm__scan_control *sc)
{
	uint64_t before = sc->nr_reclaimed;

	mm__prepare_scan_control(m, n, sc);
	mm__shrink_lruvec(m, n, sc);
	int64_t slab = mm__slab_pages(m);
	mm__shrink_slab(m, n->id, sc->priority, sc->cpu);
	sc->nr_reclaimed += (uint64_t)MM_MAX(slab - mm__slab_pages(m), 0);
	if (sc->nr_reclaimed > before)
		n->kswapd_failures = 0;
	/* snapshot_refaults() */
	n->refaults[0] = n->vm_stat[MM_WORKINGSET_ACTIVATE_ANON];
	n->refaults[1] = n->vm_stat[MM_WORKINGSET_ACTIVATE_FILE];
}

/* ---- kswapd -------------------------------------------------------------------- */

/* pgdat_balanced(): some zone up to highest_zoneidx is above its high
 * watermark (with the lowmem reserve an allocation of that class sees). */
static bool mm__pgdat_balanced(const struct mm_node *n, int highest_zoneidx)
{
	for (int z = 0; z <= highest_zoneidx && z < n->nr_zones; z++) {
		const struct mm_zone *zone = &n->zones[z];
		if (!zone->managed)
			continue;
		if (mm__zone_watermark_ok(zone, 0, mm_wmark_pages(zone, MM_WMARK_HIGH),
					  highest_zoneidx, 0,
					  zone->vm_stat[MM_NR_FREE_PAGES]))
			return true;
	}
	return false;
}

/* wakeup_kswapd() */
void mm__wakeup_kswapd(struct mm_machine *m, struct mm_zone *z,
		       int highest_zoneidx)
{
	struct mm_node *n = &m->nodes[z->node];

	if (n->kswapd_awake) {
		n->kswapd_highest_zoneidx = (int8_t)MM_MAX(n->kswapd_highest_zoneidx,
							   highest_zoneidx);
		return;
	}
	if (n->kswapd_failures >= MM_MAX_RECLAIM_RETRIES ||
	    mm__pgdat_balanced(n, highest_zoneidx))
		return;
	n->kswapd_awake = true;
	n->kswapd_highest_zoneidx = (int8_t)highest_zoneidx;
	n->kswapd_priority = MM_DEF_PRIORITY;
	n->kswapd_reclaimed = 0;
	m->events[MM_PAGEOUTRUN]++;
	mm_event_emit(m, MM_EV_KSWAPD_WAKE, n->id, 0, (uint64_t)highest_zoneidx,
		      0, 0);
}

/* kswapd goes back to sleep: the node is balanced, or it is hopeless
 * (MAX_RECLAIM_RETRIES runs in a row freed nothing). */
static void mm__kswapd_sleep(struct mm_machine *m, struct mm_node *n,
			     bool balanced, struct mm_tick_result *out)
{
	n->kswapd_awake = false;
	out->sleeps++;
	mm_event_emit(m, MM_EV_KSWAPD_SLEEP, n->id, n->kswapd_reclaimed,
		      balanced, 0, 0);
}

/*
 * One tick of kswapd on node n: balance_pgdat() in slices.  Each pass
 * asks shrink_node() for SWAP_CLUSTER_MAX pages at the run's priority; a
 * pass that frees less raises the priority (DEF_PRIORITY 12 down to 1).
 * A run that ends unbalanced starts over at DEF_PRIORITY, and counts as
 * a failure if it freed nothing; after MAX_RECLAIM_RETRIES failures the
 * node is hopeless and kswapd sleeps (kswapd_failures; it is not woken
 * again until reclaim somewhere frees a page).  The tick ends when the
 * node is balanced (kswapd sleeps) or kswapd_pages_per_tick pages were
 * scanned (a pass that scans nothing costs one).
 */
static void mm__kswapd_tick(struct mm_machine *m, struct mm_node *n,
			    struct mm_tick_result *out)
{
	uint64_t budget = m->cfg.kswapd_pages_per_tick;

	out->kswapd_runs++;
	for (;;) {
		if (mm__pgdat_balanced(n, n->kswapd_highest_zoneidx)) {
			mm__kswapd_sleep(m, n, true, out);
			return;
		}
		if (!budget)
			return;
		struct mm__scan_control sc = {
			.nr_to_reclaim = MM_SWAP_CLUSTER_MAX,
			.priority = n->kswapd_priority,
			.reclaim_idx = n->kswapd_highest_zoneidx,
			.who = MM_RECLAIM_KSWAPD,
			.may_swap = true,
		};
		mm__shrink_node(m, n, &sc);
		mm_event_emit(m, MM_EV_RECLAIM, n->id, sc.nr_scanned,
			      sc.nr_reclaimed, 0, (uint64_t)sc.priority);
		out->r.passes++;
		out->r.scanned += sc.nr_scanned;
		out->r.reclaimed += sc.nr_reclaimed;
		n->kswapd_reclaimed += sc.nr_reclaimed;
		budget -= MM_MIN(budget, MM_MAX(sc.nr_scanned, 1));
		if (sc.nr_reclaimed >= sc.nr_to_reclaim || --n->kswapd_priority >= 1)
			continue;
		/* the run is over, unbalanced */
		if (!n->kswapd_reclaimed &&
		    ++n->kswapd_failures >= MM_MAX_RECLAIM_RETRIES) {
			mm__kswapd_sleep(m, n, false, out);
			return;
		}
		n->kswapd_priority = MM_DEF_PRIORITY;
		n->kswapd_reclaimed = 0;
		m->events[MM_PAGEOUTRUN]++;
	}
}

void mm_tick(struct mm_machine *m, uint64_t n, struct mm_tick_result *out)
{
	memset(out, 0, sizeof(*out));
	for (uint64_t t = 0; t < n; t++) {
		m->env.clock++;
		out->ticks++;
		for (int nid = 0; nid < m->nr_nodes; nid++)
			if (m->nodes[nid].kswapd_awake)
				mm__kswapd_tick(m, &m->nodes[nid], out);
	}
}

/* ---- direct and proactive reclaim -------------------------------------------- */

/* do_try_to_free_pages() over the nodes of a zonelist (each once),
 * priority DEF_PRIORITY down to 0 until nr_to_reclaim is met. */
static void mm__do_try_to_free_pages(struct mm_machine *m,
				     struct mm_zone *const *zl, int nzl,
				     struct mm__scan_control *sc)
{
	for (sc->priority = MM_DEF_PRIORITY; sc->priority >= 0; sc->priority--) {
		uint64_t seen = 0;
		for (int i = 0; i < nzl; i++) {
			struct mm_zone *z = zl[i];
			if (z->idx > sc->reclaim_idx || (seen & (1ull << z->node)))
				continue;
			seen |= 1ull << z->node;
			mm__shrink_node(m, &m->nodes[z->node], sc);
		}
		if (sc->nr_reclaimed >= sc->nr_to_reclaim)
			break;
	}
	/* one event per run: node -1 when it spanned a zonelist */
	mm_event_emit(m, MM_EV_RECLAIM, nzl == 1 ? zl[0]->node : -1,
		      sc->nr_scanned, sc->nr_reclaimed,
		      sc->who == MM_RECLAIM_DIRECT ? 1 : 2,
		      (uint64_t)MM_MAX(sc->priority, 0));
}

uint64_t mm__try_to_free_pages(struct mm_machine *m, struct mm_node *nd,
			       int highest_zoneidx, int cpu)
{
	struct mm__scan_control sc = {
		.nr_to_reclaim = MM_SWAP_CLUSTER_MAX,
		.reclaim_idx = highest_zoneidx,
		.who = MM_RECLAIM_DIRECT,
		.may_swap = true,
		.cpu = cpu,
	};

	m->events[MM_ALLOCSTALL + highest_zoneidx]++;
	mm__do_try_to_free_pages(m, nd->zonelist, nd->zonelist_len, &sc);
	return sc.nr_reclaimed;
}

int mm_reclaim(struct mm_machine *m, uint64_t pages, int node,
	       struct mm_reclaim_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (node < -1 || node >= m->nr_nodes)
		return -MM_EINVAL;
	struct mm_zone *zl[MM_MAX_NODES * MM_MAX_ZONES];
	int nzl = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			if ((node < 0 || n == node) &&
			    mm_zone_populated(&m->nodes[n].zones[z]))
				zl[nzl++] = &m->nodes[n].zones[z];
	int retries = MM_MAX_RECLAIM_RETRIES;
	while (out->reclaimed < pages) {
		struct mm__scan_control sc = {
			.nr_to_reclaim = MM_MAX((pages - out->reclaimed) / 4,
						MM_SWAP_CLUSTER_MAX),
			.reclaim_idx = m->nr_zone_types - 1,
			.who = MM_RECLAIM_PROACTIVE,
			.may_swap = true,
		};
		mm__do_try_to_free_pages(m, zl, nzl, &sc);
		out->passes++;
		out->scanned += sc.nr_scanned;
		out->reclaimed += sc.nr_reclaimed;
		if (!sc.nr_reclaimed && !retries--)
			break;
	}
	return 0;
}

/* ---- MADV_COLD / MADV_PAGEOUT (mm/madvise.c) ------------------------------ */

/* reclaim_pages(): the isolated batch through shrink_folio_list() with
 * references ignored; survivors go back (activated ones to the active
 * list).  No pgscan/pgsteal: this is not LRU scanning. */
static void mm__reclaim_batch(struct mm_machine *m, struct mm__batch *b,
			      int cpu)
{
	struct mm__scan_control sc = {.ignore_references = true, .cpu = cpu,
				      .may_swap = true,
				      .who = MM_RECLAIM_PROACTIVE};
	uint64_t nr_activate = 0;

	mm__shrink_folio_list(m, b, &sc, &nr_activate);
	mm__putback(m, b, false); /* folio_putback_lru() */
	b->n = 0;
}

/*
 * madvise_cold_or_pageout_pte_range() over [start, end) of mm: each page
 * on the LRU that only this PTE maps loses its accessed bit and
 * PG_referenced (an active one is marked workingset); MADV_COLD then
 * deactivates it (to the inactive list, pgdeactivate), MADV_PAGEOUT
 * reclaims it at once (a clean file page is unmapped and dropped, a dirty
 * one unmapped, flagged PG_reclaim and kept; an anonymous one is swapped
 * out, or activated when swap is full or absent).
 */
void mm__madvise_cold_pageout(struct mm_machine *m, struct mm_mm *mm,
			      uint64_t start, uint64_t end, bool pageout,
			      int cpu)
{
	struct mm__batch b = {.n = 0};

	for (uint64_t va = start; va < end; va += MM_PAGE_SIZE) {
		uint64_t *pte = mm__pte_lookup(m, mm, va);
		if (!pte || !(*pte & MM_PTE_PRESENT))
			continue;
		uint32_t pfn = (uint32_t)((*pte & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
		struct mm_page *p = &m->pages[pfn];
		if (pfn == m->zero_pfn || !mm_page_test(p, MM_PG_lru) ||
		    p->mapcount != 1)
			continue;
		*pte &= ~MM_PTE_ACCESSED;
		mm__clear(p, MM_PG_referenced);
		if (mm_page_test(p, MM_PG_active))
			mm__set(p, MM_PG_workingset);
		if (mm_page_test(p, MM_PG_unevictable))
			continue;
		if (!pageout) {
			if (!mm_page_test(p, MM_PG_active))
				continue;
			/* lru_deactivate() */
			mm__lruvec_del(m, pfn);
			mm__clear(p, MM_PG_active);
			mm__lruvec_add(m, pfn, false);
			m->events[MM_PGDEACTIVATE]++;
			continue;
		}
		mm__lruvec_del(m, pfn);
		mm__clear(p, MM_PG_active);
		b.pfn[b.n++] = pfn;
		if (b.n == MM_SWAP_CLUSTER_MAX)
			mm__reclaim_batch(m, &b, cpu);
	}
	if (b.n)
		mm__reclaim_batch(m, &b, cpu);
}

/* ---- the OOM killer ------------------------------------------------------------ */

/* oom_badness(): rss (anon + file + shmem) + swap entries + page tables,
 * plus oom_score_adj thousandths of all memory; INT64_MIN for the
 * unkillable. */
static int64_t mm__oom_badness(const struct mm_machine *m,
			       const struct mm_task *t, uint64_t totalpages)
{
	if (t->oom_score_adj == MM_OOM_SCORE_ADJ_MIN)
		return INT64_MIN;
	const struct mm_mm *mm = &m->mms[t->mm];
	int64_t points = (int64_t)(mm->rss_anon + mm->rss_file + mm->rss_shmem +
				   mm->rss_swap + mm__nr_ptables(m, mm));
	return points + (int64_t)t->oom_score_adj * (int64_t)(totalpages / 1000);
}

/*
 * out_of_memory(): picks the task of highest badness (select_bad_process:
 * in pid order, a later task wins a tie; init is never chosen) and kills
 * it, freeing its memory — unless it is the task the allocation is made
 * for, which is only marked (m->oom_victim) and dies when its operation
 * ends.  Returns true when memory may have been freed.
 */
bool mm__out_of_memory(struct mm_machine *m)
{
	uint64_t totalpages = m->totalram_pages;
	int64_t best = INT64_MIN;
	int victim = 0;

	if (m->oom_victim)
		return false; /* a marked victim is already on its way out */
	for (uint32_t i = 0; i < MM_MAX_TASKS; i++) {
		const struct mm_task *t = &m->tasks[i];
		if (!t->pid || t->state != MM_TASK_RUNNING || t->pid == 1)
			continue;
		int64_t points = mm__oom_badness(m, t, totalpages);
		if (points == INT64_MIN || points < best)
			continue;
		if (points == best && t->pid < victim)
			continue;
		best = points;
		victim = t->pid;
	}
	if (!victim)
		return false;
	const struct mm_task *t = mm_task_get(m, victim);
	const struct mm_mm *mm = &m->mms[t->mm];
	m->events[MM_OOM_KILL]++;
	mm_event_emit(m, MM_EV_OOM_KILL, -1, (uint64_t)victim,
		      mm->rss_anon + mm->rss_file + mm->rss_shmem,
		      (uint64_t)(int64_t)t->oom_score_adj, 0);
	if (victim == m->oom_current) {
		m->oom_victim = victim;
		return false;
	}
	mm_exit(m, victim, 128 + MM_SIGKILL);
	return true;
}
