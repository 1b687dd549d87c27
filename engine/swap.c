/*
 * swap.c — the swap area, swap entries and the swap cache (Linux 6.18
 * mm/swapfile.c, mm/swap_state.c, mm/page_io.c, include/linux/swapops.h,
 * arch/x86/include/asm/pgtable_64.h and pgtable-2level.h).
 *
 * A machine with cfg.swap > 0 has one swap partition, type 0, named
 * /dev/vda2 in /proc/swaps (priority -2, the first swapon's).  Slot 0 is
 * the header page, so swap / 4 KiB - 1 slots are usable (i386 also caps
 * the area at the 2^23 offsets its PTEs can hold, as read_swap_header()
 * truncates an oversized area).  Each slot has a swap_map count: the swap
 * entries in page tables naming it, plus MM_SWAP_HAS_CACHE while its page
 * is in the swap cache.  A slot is free when its map is 0.
 *
 * Slot allocation: Linux hands each CPU a free cluster and allocates
 * slots in order inside it.  The engine keeps one next-fit cursor over the
 * whole area (the lowest free slot at or after it, wrapping to 1), which
 * gives the same picture for a single reclaimer — consecutive swap-outs
 * take consecutive slots — and is deterministic.
 *
 * Swap entries live in non-present PTEs in the x86 layouts:
 *   x86_64: type in bits 59..63, the offset inverted (~offset, so a PTE
 *           never names low physical memory, the L1TF mitigation) in bits
 *           9..58, bit 3 (_PAGE_PWT) = _PAGE_SWP_EXCLUSIVE;
 *   i386:   type in bits 1..5, offset from bit 9, bit 7 (_PAGE_PSE) =
 *           _PAGE_SWP_EXCLUSIVE.
 * Bits 0 (present) and 8 (PROT_NONE) are clear, so a swap PTE is any
 * non-zero entry that is not present (is_swap_pte).  The exclusive bit
 * carries PG_anon_exclusive across the swap-out (fork clears it).
 *
 * The swap cache (Linux 6.18's swap table): per cluster of MM_SWAP_CLUSTER
 * slots, the pfn of the page cached for each slot.  A cached page is
 * PG_swapcache with private = its slot and holds one reference of the
 * cache; it counts in NR_FILE_PAGES and NR_SWAPCACHE (SwapCached).
 *
 * The disk is instant: pageout stores the page's bytes (content.c) in the
 * slot, swap-in copies them back.  A fault reads around its slot
 * (swap_cluster_readahead, page-cluster 3: up to 8 slots aligned on the
 * window; /dev/vda2 is a rotational disk, for which Linux turns the VMA
 * readahead off): the pages read ahead wait in the swap cache marked
 * PG_readahead (PG_reclaim's bit, as Linux), and a fault that finds one is
 * a readahead hit that widens the next window.  A page of zeros is not written: the
 * slot is marked zero (zeromap: no stored bytes) and counts swpout_zero,
 * its swap-in swpin_zero, instead of pswpout / pswpin.
 */
#include "engine/internal.h"

#include <stdlib.h>

#define MM_SWP_EXCL_X86_64 (1ull << 3)
#define MM_SWP_EXCL_I386 (1ull << 7)
#define MM_SWP_I386_MAX_SLOTS (1u << 23)

/* ---- entries in PTEs ----------------------------------------------------- */

uint64_t mm__swp_entry_pte(const struct mm_machine *m, uint32_t off,
			   bool exclusive)
{
	if (m->cfg.arch == MM_ARCH_I386)
		return ((uint64_t)off << 9) | (exclusive ? MM_SWP_EXCL_I386 : 0);
	return (~(uint64_t)off << 14 >> 5) | (exclusive ? MM_SWP_EXCL_X86_64 : 0);
}

uint32_t mm__pte_swp_offset(const struct mm_machine *m, uint64_t e)
{
	if (m->cfg.arch == MM_ARCH_I386)
		return (uint32_t)((e & 0xffffffffu) >> 9);
	return (uint32_t)(~e << 5 >> 14);
}

uint32_t mm__pte_swp_type(const struct mm_machine *m, uint64_t e)
{
	return m->cfg.arch == MM_ARCH_I386 ? (uint32_t)(e >> 1) & 31
					   : (uint32_t)(e >> 59);
}

bool mm__pte_swp_exclusive(const struct mm_machine *m, uint64_t e)
{
	return e & (m->cfg.arch == MM_ARCH_I386 ? MM_SWP_EXCL_I386
						: MM_SWP_EXCL_X86_64);
}

uint64_t mm__pte_swp_clear_exclusive(const struct mm_machine *m, uint64_t e)
{
	return e & ~(m->cfg.arch == MM_ARCH_I386 ? MM_SWP_EXCL_I386
						 : MM_SWP_EXCL_X86_64);
}

/* ---- the area ------------------------------------------------------------- */

uint32_t mm__swap_area_slots(const struct mm_config *cfg)
{
	uint64_t slots = cfg->swap >> MM_PAGE_SHIFT;

	if (cfg->arch == MM_ARCH_I386)
		slots = MM_MIN(slots, MM_SWP_I386_MAX_SLOTS);
	return slots > 1 ? (uint32_t)slots : 0;
}

uint64_t mm__swap_total(const struct mm_machine *m)
{
	return m->swap_slots ? m->swap_slots - 1 : 0;
}

int mm__swap_init(struct mm_machine *m)
{
	m->swap_slots = mm__swap_area_slots(&m->cfg);
	m->swap_free = (uint32_t)mm__swap_total(m);
	m->swap_next = 1;
	m->swap_ra_hits = 4; /* swapin_readahead_hits = ATOMIC_INIT(4) */
	if (!m->swap_slots)
		return 0;
	m->swap_clusters = calloc(mm__swap_nr_clusters(m),
				  sizeof(*m->swap_clusters));
	return m->swap_clusters ? 0 : -MM_ENOMEM;
}

static void mm__swap_cluster_free(struct mm_swap_cluster *c)
{
	if (c->data)
		for (uint32_t i = 0; i < MM_SWAP_CLUSTER; i++)
			free(c->data[i]);
	free(c->map);
	free(c->cache);
	free(c->data);
	memset(c, 0, sizeof(*c));
}

void mm__swap_destroy(struct mm_machine *m)
{
	for (uint32_t i = 0; m->swap_clusters && i < mm__swap_nr_clusters(m); i++)
		mm__swap_cluster_free(&m->swap_clusters[i]);
	free(m->swap_clusters);
	m->swap_clusters = NULL;
}

/* A cluster's arrays (allocated with its first used slot); 0 or -ENOMEM. */
int mm__swap_cluster_alloc(struct mm_swap_cluster *c)
{
	if (c->map)
		return 0;
	c->map = calloc(MM_SWAP_CLUSTER, sizeof(*c->map));
	c->cache = malloc(MM_SWAP_CLUSTER * sizeof(*c->cache));
	c->data = calloc(MM_SWAP_CLUSTER, sizeof(*c->data));
	if (!c->map || !c->cache || !c->data) {
		mm__swap_cluster_free(c);
		return -MM_ENOMEM;
	}
	for (uint32_t i = 0; i < MM_SWAP_CLUSTER; i++)
		c->cache[i] = MM_NIL;
	return 0;
}

static struct mm_swap_cluster *mm__swap_cluster(const struct mm_machine *m,
						uint32_t off)
{
	MM_ASSERT(off > 0 && off < m->swap_slots);
	return &m->swap_clusters[off / MM_SWAP_CLUSTER];
}

uint32_t mm__swap_map(const struct mm_machine *m, uint32_t off)
{
	const struct mm_swap_cluster *c = mm__swap_cluster(m, off);
	return c->map ? c->map[off % MM_SWAP_CLUSTER] : 0;
}

/* swp_swapcount(): the swap entries naming off. */
uint32_t mm__swap_count(const struct mm_machine *m, uint32_t off)
{
	return mm__swap_map(m, off) & MM_SWAP_COUNT_MASK;
}

uint32_t mm__swap_cache_lookup(const struct mm_machine *m, uint32_t off)
{
	const struct mm_swap_cluster *c = mm__swap_cluster(m, off);
	return c->cache ? c->cache[off % MM_SWAP_CLUSTER] : MM_NIL;
}

/* Sets slot off's map to v; a slot whose map drops to 0 is free again
 * (swap_entries_free: its stored bytes go, the cluster's arrays with its
 * last used slot). */
static void mm__swap_map_set(struct mm_machine *m, uint32_t off, uint32_t v)
{
	struct mm_swap_cluster *c = mm__swap_cluster(m, off);
	uint32_t i = off % MM_SWAP_CLUSTER;
	uint32_t old = c->map[i];

	c->map[i] = (uint16_t)v;
	if (old && !v) {
		free(c->data[i]);
		c->data[i] = NULL;
		m->swap_free++;
		if (!--c->used)
			mm__swap_cluster_free(c);
	} else if (!old && v) {
		c->used++;
		m->swap_free--;
	}
}

/* get_swap_pages() for one page: the next free slot from the cursor, with
 * HAS_CACHE set; 0 when the area is full (or host memory ran out). */
static uint32_t mm__swap_alloc_slot(struct mm_machine *m)
{
	uint32_t total = m->swap_slots;

	if (!m->swap_free)
		return 0;
	for (uint32_t n = 0, off = m->swap_next; n < total; n++, off++) {
		if (off >= total)
			off = 1;
		struct mm_swap_cluster *c = &m->swap_clusters[off / MM_SWAP_CLUSTER];
		if (c->used == MM_SWAP_CLUSTER) {
			/* a full cluster: on to the next one */
			uint32_t skip = MM_SWAP_CLUSTER - 1 - off % MM_SWAP_CLUSTER;
			n += skip;
			off += skip;
			continue;
		}
		if (mm__swap_cluster_alloc(c))
			return 0;
		if (c->map[off % MM_SWAP_CLUSTER])
			continue;
		mm__swap_map_set(m, off, MM_SWAP_HAS_CACHE);
		m->swap_next = off + 1 < total ? off + 1 : 1;
		return off;
	}
	return 0;
}

/* vm_swap_full(): more than half of the swap area is in use. */
bool mm__vm_swap_full(const struct mm_machine *m)
{
	return (uint64_t)m->swap_free * 2 < mm__swap_total(m);
}

/* ---- the swap cache -------------------------------------------------------- */

static void mm__swapcache_stat(struct mm_machine *m, uint32_t pfn, int64_t d)
{
	struct mm_node *n = &m->nodes[mm_page_zone(m, pfn)->node];
	n->vm_stat[MM_NR_FILE_PAGES] += d;
	n->vm_stat[MM_NR_SWAPCACHED] += d;
}

/* swap_cache_add_folio(): pfn joins the cache at off (whose HAS_CACHE the
 * caller set), with the cache's reference. */
static void mm__swap_cache_add(struct mm_machine *m, uint32_t pfn, uint32_t off)
{
	struct mm_page *p = &m->pages[pfn];

	mm__swap_cluster(m, off)->cache[off % MM_SWAP_CLUSTER] = pfn;
	mm__set(p, MM_PG_swapcache);
	p->private = off;
	p->refcount++;
	mm__swapcache_stat(m, pfn, 1);
}

bool mm__add_to_swap(struct mm_machine *m, uint32_t pfn)
{
	uint32_t off = mm__swap_alloc_slot(m);

	if (!off)
		return false;
	mm__swap_cache_add(m, pfn, off);
	/* "Normally the folio will be dirtied in unmap because its pte
	 * should be dirty": the slot holds nothing yet */
	mm__set(&m->pages[pfn], MM_PG_dirty);
	return true;
}

/* __delete_from_swap_cache() + put_swap_folio(): the page leaves the
 * cache (its reference is the caller's to drop); the slot loses HAS_CACHE
 * and is free if no entry names it. */
void mm__swap_cache_del(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];
	uint32_t off = p->private;

	MM_ASSERT(mm_page_test(p, MM_PG_swapcache));
	mm__swap_cluster(m, off)->cache[off % MM_SWAP_CLUSTER] = MM_NIL;
	mm__clear(p, MM_PG_swapcache);
	p->private = 0;
	mm__swapcache_stat(m, pfn, -1);
	mm__swap_map_set(m, off, mm__swap_map(m, off) & ~MM_SWAP_HAS_CACHE);
}

bool mm__folio_free_swap(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (!mm_page_test(p, MM_PG_swapcache) || mm__swap_count(m, p->private))
		return false;
	mm__swap_cache_del(m, pfn);
	p->refcount--;
	mm__set(p, MM_PG_dirty); /* the slot's copy is gone */
	return true;
}

void mm__swap_duplicate(struct mm_machine *m, uint32_t off)
{
	uint32_t map = mm__swap_map(m, off);

	MM_ASSERT((map & MM_SWAP_COUNT_MASK) < MM_SWAP_COUNT_MASK);
	mm__swap_map_set(m, off, map + 1);
}

void mm__swap_free(struct mm_machine *m, uint32_t off)
{
	uint32_t map = mm__swap_map(m, off);

	MM_ASSERT(map & MM_SWAP_COUNT_MASK);
	mm__swap_map_set(m, off, map - 1);
}

void mm__free_swap_and_cache(struct mm_machine *m, uint32_t off, int cpu)
{
	mm__swap_free(m, off);
	if (mm__swap_map(m, off) != MM_SWAP_HAS_CACHE)
		return;
	/* __try_to_reclaim_swap(TTRS_UNMAPPED | TTRS_FULL): the cached page
	 * goes when nothing maps it (or swap is over half full) */
	uint32_t pfn = mm__swap_cache_lookup(m, off);
	struct mm_page *p = &m->pages[pfn];
	if (p->mapcount && !mm__vm_swap_full(m))
		return;
	if (!p->mapcount && p->refcount == 1) {
		mm__swap_cache_del(m, pfn); /* and the last reference goes */
		mm__anon_page_release(m, pfn, cpu);
		return;
	}
	mm__folio_free_swap(m, pfn);
}

/*
 * The end of shrink_folio_list() for an unmapped anonymous page in the swap
 * cache: a dirty one is written (pageout: the disk is instant, so the
 * write has completed), then __remove_mapping() takes it out of the cache
 * and frees it.  A clean one (swapped in and not written since) goes
 * without I/O.  *written counts the pages written with bytes (pswpout).
 * false when host memory for the slot's bytes ran out (the page stays).
 */
bool mm__swap_pageout(struct mm_machine *m, uint32_t pfn, int cpu,
		      uint64_t *pageout, uint64_t *written)
{
	struct mm_page *p = &m->pages[pfn];

	MM_ASSERT(!p->mapcount && p->refcount == 1);
	if (mm_page_test(p, MM_PG_dirty)) {
		uint64_t before = m->events[MM_PSWPOUT];
		if (mm__swap_writepage(m, pfn) < 0)
			return false;
		(*pageout)++;
		*written += m->events[MM_PSWPOUT] - before;
	}
	mm__swap_cache_del(m, pfn);
	mm__anon_page_release(m, pfn, cpu);
	return true;
}

/* ---- the disk ---------------------------------------------------------------- */

static bool mm__zero_filled(const uint8_t *b)
{
	for (uint32_t i = 0; b && i < MM_PAGE_SIZE; i++)
		if (b[i])
			return false;
	return true;
}

int mm__swap_writepage(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];
	struct mm_swap_cluster *c = mm__swap_cluster(m, p->private);
	uint8_t **slot = &c->data[p->private % MM_SWAP_CLUSTER];
	const uint8_t *b = mm_frame_bytes(m, pfn);

	if (mm__zero_filled(b)) {
		/* swap_zeromap_folio_set(): no I/O */
		free(*slot);
		*slot = NULL;
		m->events[MM_SWPOUT_ZERO]++;
	} else {
		if (!*slot && !(*slot = malloc(MM_PAGE_SIZE)))
			return -MM_ENOMEM;
		memcpy(*slot, b, MM_PAGE_SIZE);
		m->events[MM_PSWPOUT]++;
	}
	mm__clear(p, MM_PG_dirty);
	return 1;
}

int mm__swap_readpage(struct mm_machine *m, uint32_t pfn, uint32_t off)
{
	const uint8_t *b = mm__swap_cluster(m, off)->data[off % MM_SWAP_CLUSTER];

	if (!b) {
		m->events[MM_SWPIN_ZERO]++;
		return 0;
	}
	int rc = mm_frame_write(m, pfn, 0, b, MM_PAGE_SIZE);
	if (!rc)
		m->events[MM_PSWPIN]++;
	return rc ? rc : 1;
}

/*
 * __read_swap_cache_async() + swap_read_folio() for one entry: a new page
 * with the slot's bytes, in the swap cache and on the inactive anon list.
 * Returns the pfn through *pfn; 1 when bytes were read (pswpin), 0 for a
 * zero slot, -MM_ENOMEM, or -MM_EAGAIN when the slot stopped being worth
 * reading while the page was allocated (reclaim's OOM kill freed it).
 */
int mm__swapin(struct mm_machine *m, uint32_t off, int cpu, uint32_t *pfn)
{
	struct mm_alloc_result r;
	int rc = mm__alloc_pages(m, MM_GFP_HIGHUSER_MOVABLE, 0, cpu, -1, &r);

	if (rc)
		return rc;
	if (!mm__swap_count(m, off) || mm__swap_cache_lookup(m, off) != MM_NIL) {
		mm__free_pages(m, r.pfn, 0, cpu);
		return -MM_EAGAIN;
	}
	rc = mm__swap_readpage(m, r.pfn, off);
	if (rc < 0) {
		mm__free_pages(m, r.pfn, 0, cpu);
		return rc;
	}
	struct mm_page *p = &m->pages[r.pfn];
	mm__set(p, MM_PG_swapbacked);
	mm__set(p, MM_PG_uptodate);
	p->refcount = 0; /* the cache's reference is the first */
	mm__swap_map_set(m, off, mm__swap_map(m, off) | MM_SWAP_HAS_CACHE);
	mm__swap_cache_add(m, r.pfn, off);
	mm__lru_add_new(m, r.pfn, 0); /* folio_add_lru() */
	*pfn = r.pfn;
	return rc;
}

/*
 * swapin_nr_pages(): the readahead window for a fault at off.  Readahead
 * hits since the last fault widen it (hits + 2, rounded up to a power of
 * two from 4, at most 1 << page-cluster); without hits it is 2 only when
 * off follows the last fault's slot, else 1; it never shrinks below half
 * the last window.  The counters start as Linux's (4 hits: the first
 * window is full).
 */
static uint32_t mm__swapin_nr_pages(struct mm_machine *m, uint32_t off)
{
	uint32_t hits = m->swap_ra_hits, pages = hits + 2;

	m->swap_ra_hits = 0;
	if (pages == 2) {
		if (off != m->swap_ra_prev + 1 && off != m->swap_ra_prev - 1)
			pages = 1;
	} else {
		uint32_t roundup = 4;
		while (roundup < pages)
			roundup <<= 1;
		pages = roundup;
	}
	pages = MM_MIN(pages, 1u << MM_PAGE_CLUSTER);
	pages = MM_MAX(pages, m->swap_ra_win / 2);
	if (!hits)
		m->swap_ra_prev = off;
	m->swap_ra_win = pages;
	return pages;
}

int mm__swapin_readahead(struct mm_machine *m, uint32_t off, int cpu,
			 uint32_t *pfn, uint64_t *read)
{
	uint32_t mask = mm__swapin_nr_pages(m, off) - 1;
	uint32_t start = off & ~mask, end = MM_MIN(off | mask, m->swap_slots - 1);

	*read = 0;
	for (uint32_t o = mask ? MM_MAX(start, 1u) : off; mask && o <= end; o++) {
		uint32_t p;
		/* __read_swap_cache_async(): slots no entry names, or whose
		 * page is cached, are not read */
		if (!mm__swap_count(m, o) || mm__swap_cache_lookup(m, o) != MM_NIL)
			continue;
		int rc = mm__swapin(m, o, cpu, &p);
		if (rc < 0)
			continue;
		*read += (uint64_t)rc;
		if (o != off) {
			mm__set(&m->pages[p], MM_PG_reclaim); /* PG_readahead */
			m->events[MM_SWAP_RA]++;
		}
	}
	*pfn = mm__swap_cache_lookup(m, off);
	if (*pfn != MM_NIL)
		return 0;
	int rc = mm__swapin(m, off, cpu, pfn);
	if (rc > 0)
		(*read)++;
	return rc < 0 ? rc : 0;
}

void mm__swap_readahead_hit(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (!mm_page_test(p, MM_PG_reclaim))
		return;
	mm__clear(p, MM_PG_reclaim);
	m->events[MM_SWAP_RA_HIT]++;
	m->swap_ra_hits++;
}

/* ---- /proc/swaps ------------------------------------------------------------------ */

size_t mm_proc_swaps(const struct mm_machine *m, char *buf, size_t len)
{
	struct mm_buf b = {buf, len, 0};
	static const char name[] = "/dev/vda2";

	mm__bprintf(&b, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
	if (m->swap_slots) {
		/* swap_show() */
		unsigned long bytes = (unsigned long)mm__swap_total(m) << 2;
		unsigned long inuse = (unsigned long)(mm__swap_total(m) -
						      m->swap_free) << 2;
		int pad = (int)sizeof(name) - 1 < 40 ? 40 - ((int)sizeof(name) - 1) : 1;
		mm__bprintf(&b, "%s%*s%s\t%lu\t%s%lu\t%s%d\n", name, pad, " ",
			    "partition", bytes, bytes < 10000000 ? "\t" : "",
			    inuse, inuse < 10000000 ? "\t" : "", -2);
	}
	return mm__bfinish(&b);
}
