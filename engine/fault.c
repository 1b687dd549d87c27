/*
 * fault.c — demand paging of anonymous memory (mm/memory.c of Linux 6.18:
 * handle_mm_fault, do_anonymous_page, do_wp_page, copy_page_range,
 * zap_pte_range, free_pgtables; arch/x86/mm/fault.c do_user_addr_fault;
 * mm/gup.c populate; mm/mprotect.c change_pte_range).
 *
 * Each mm owns a top-level table (pgd) from spawn/fork to exit; lower
 * tables appear on the first fault under them and go when munmap/exit
 * leaves no VMA under their span (free_pgtables).  A PTE maps either the
 * shared zero page (m->zero_pfn, a reserved kernel-image frame, never
 * counted in mapcount, always read-only) or an anonymous page:
 * PG_swapbacked, mapping = the anon_vma it was faulted under, index = its
 * linear page index, mapcount = the PTEs mapping it, refcount = mapcount
 * (no other references yet), PG_anon_exclusive while only one mm maps it.
 *
 * Invariants (check.c): every present PTE points to the zero page, to an
 * allocated anonymous frame or to a page-cache frame; mapcount = the PTEs
 * found (and what the rmap finds); refcount >= mapcount (+ 1 for the swap
 * cache's reference, whose pages may be unmapped); an anonymous page
 * mapped more than once is read-only everywhere (COW); each mm's
 * rss_anon/rss_shmem/rss_file = its PTEs of each kind.
 *
 * Shared anonymous memory is a shmem object (m->shmem): its pages stay in
 * its cache (refcount = 1 + mapcount) until no VMA maps the object; read
 * faults map the cached pages around the address (fault-around).
 *
 * A COW copy copies the frame's bytes (content.c) with it.
 *
 * File VMAs fault through the page cache (pagecache.c): do_read_fault
 * with fault-around, do_cow_fault, do_shared_fault, wp_page_shared with
 * write-notify, major faults retried after read-around, SIGBUS past EOF;
 * a page-cache page's PTE holds a reference next to the cache's.
 *
 * Swap (swap.c): a PTE may hold a swap entry instead of a page.  Zap drops
 * the slot reference (free_swap_and_cache), fork duplicates it, mprotect
 * keeps it, a fault reads the page back or finds it in the swap cache
 * (do_swap_page, with swap readahead); reclaim's try_to_unmap puts the
 * entries there
 * (mm__try_to_unmap_one).  Each mm counts them in rss_swap (MM_SWAPENTS).
 *
 * Not yet: no anon_vma/anon_vma_chain slab objects.
 */
#include "engine/internal.h"

#include <stdlib.h>

#define MM_STACK_RLIMIT (8ull << 20)
#define MM_STACK_GUARD_GAP (256ull << MM_PAGE_SHIFT)
#define MM_MMAP_MIN_ADDR 4096ull

/* ---- PTE helpers ------------------------------------------------------ */

static inline bool mm__pte_present(uint64_t e)
{
	return e & (MM_PTE_PRESENT | MM_PTE_PROTNONE);
}

static inline uint32_t mm__pte_pfn(uint64_t e)
{
	return (uint32_t)((e & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
}

/* vm_get_page_prot() bits of a VMA, without RW (private mappings are
 * write-protected until the fault decides; shared ones are handled by the
 * callers). */
static uint64_t mm__vma_prot(const struct mm_machine *m, uint64_t flags)
{
	uint64_t e;

	if (!(flags & (MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC)))
		return MM_PTE_PROTNONE | MM_PTE_ACCESSED;
	e = MM_PTE_PRESENT | MM_PTE_USER;
	if (!(flags & MM_VM_EXEC) && m->cfg.arch != MM_ARCH_I386)
		e |= MM_PTE_NX;
	return e;
}

/* The PTE slot of va, or NULL when a level above is missing. */
uint64_t *mm__pte_lookup(struct mm_machine *m, const struct mm_mm *mm,
			 uint64_t va)
{
	uint64_t *pte;

	if (mm__pt_walk(m, mm->pgd, va, false, 0, &pte, NULL, NULL))
		return NULL;
	return pte;
}

/* ---- anonymous pages -------------------------------------------------- */

static void mm__anon_stat(struct mm_machine *m, uint32_t pfn, int64_t d)
{
	m->nodes[mm_page_zone(m, pfn)->node].vm_stat[MM_NR_ANON_PAGES] += d;
}

/* A new zeroed anonymous page mapped once (folio_add_new_anon_rmap). */
static int mm__anon_page_new(struct mm_machine *m, const struct mm_vma *v,
			     uint64_t va, int cpu, uint32_t *pfn)
{
	struct mm_alloc_result r;
	int rc = mm__alloc_pages(m, MM_GFP_HIGHUSER_MOVABLE | MM___GFP_ZERO, 0,
				 cpu, -1, &r);

	if (rc)
		return rc;
	struct mm_page *p = &m->pages[r.pfn];
	mm__set(p, MM_PG_swapbacked);
	mm__set(p, MM_PG_anon_exclusive);
	mm__set(p, MM_PG_uptodate);
	p->mapping = v->anon_vma;
	p->index = (uint32_t)(v->pgoff + ((va - v->start) >> MM_PAGE_SHIFT));
	p->mapcount = 1;
	mm__anon_stat(m, r.pfn, 1);
	mm__lru_add_new(m, r.pfn, v->flags);
	*pfn = r.pfn;
	return 0;
}

/* Drops one mapping and one reference of an anonymous page; frees it with
 * the last reference. */
static void mm__anon_page_put(struct mm_machine *m, uint32_t pfn, int cpu)
{
	struct mm_page *p = &m->pages[pfn];

	MM_ASSERT(p->mapcount > 0 && p->refcount >= p->mapcount);
	if (--p->mapcount == 0) {
		mm__anon_stat(m, pfn, -1);
		/* free_swap_cache(): unmapped, with no swap entry naming its
		 * slot, the page leaves the swap cache */
		if (mm_page_test(p, MM_PG_swapcache) &&
		    !mm__swap_count(m, p->private)) {
			mm__swap_cache_del(m, pfn);
			p->refcount--;
		}
	}
	if (p->refcount > 1) {
		p->refcount--;
		return;
	}
	mm__anon_page_release(m, pfn, cpu);
}

void mm__anon_page_release(struct mm_machine *m, uint32_t pfn, int cpu)
{
	struct mm_page *p = &m->pages[pfn];

	MM_ASSERT(p->refcount == 1 && !p->mapcount &&
		  !mm_page_test(p, MM_PG_swapcache));
	mm__lru_remove(m, pfn);
	p->flags &= ~((1u << MM_PG_swapbacked) | (1u << MM_PG_anon_exclusive) |
		      (1u << MM_PG_uptodate) | (1u << MM_PG_dirty) |
		      (1u << MM_PG_reclaim));
	p->mapping = 0;
	p->index = 0;
	mm__free_pages(m, pfn, 0, cpu);
}

/* A page-cache page (shmem or file) gets one more PTE (folio_add_file_rmap). */
static void mm__cache_page_map(struct mm_machine *m, struct mm_mm *mm,
			       uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (p->mapcount++ == 0)
		m->nodes[mm_page_zone(m, pfn)->node].vm_stat[MM_NR_MAPPED]++;
	p->refcount++;
	if (mm__file_is_shmem(p->mapping))
		mm->rss_shmem++;
	else
		mm->rss_file++;
}

/* Drops one PTE's mapping of pfn (PTE value e): a page-cache page keeps
 * the cache's reference (and turns dirty with a dirty PTE); an anonymous
 * page is freed with its last reference (zap_present_ptes). */
static void mm__page_unmap(struct mm_machine *m, struct mm_mm *mm, uint32_t pfn,
			   uint64_t e, int cpu)
{
	struct mm_page *p = &m->pages[pfn];

	if (mm__file_is_shmem(p->mapping) || mm__file_is_reg(p->mapping)) {
		MM_ASSERT(p->mapcount > 0 && p->refcount > p->mapcount);
		if (--p->mapcount == 0)
			m->nodes[mm_page_zone(m, pfn)->node].vm_stat[MM_NR_MAPPED]--;
		p->refcount--;
		if (mm__file_is_shmem(p->mapping)) {
			if (e & MM_PTE_DIRTY)
				mm__set(p, MM_PG_dirty);
			mm->rss_shmem--;
		} else {
			if (e & MM_PTE_DIRTY)
				mm__page_set_dirty(m, pfn);
			mm->rss_file--;
		}
		return;
	}
	mm->rss_anon--;
	mm__anon_page_put(m, pfn, cpu);
}

/* Clears one PTE at va, dropping what it mapped (zap_present_ptes); a page
 * of a VM_LOCKED VMA loses that mlock (folio_remove_rmap_ptes). */
static void mm__zap_pte(struct mm_machine *m, struct mm_mm *mm, uint64_t va,
			uint64_t *pte, int cpu)
{
	uint64_t e = *pte;

	*pte = 0;
	if (mm__pte_is_swap(e)) {
		/* zap_nonpresent_ptes() */
		mm->rss_swap--;
		mm__free_swap_and_cache(m, mm__pte_swp_offset(m, e), cpu);
		return;
	}
	if (!mm__pte_present(e) || mm__pte_pfn(e) == m->zero_pfn)
		return;
	uint32_t pfn = mm__pte_pfn(e);
	if (mm_page_test(&m->pages[pfn], MM_PG_mlocked)) {
		uint32_t id = mm__find_vma(m, mm, va);
		if (id != MM_NIL && (m->vmas[id].flags & MM_VM_LOCKED))
			mm__munlock_page(m, pfn);
	}
	mm__page_unmap(m, mm, pfn, e, cpu);
}

void mm__unmap_one(struct mm_machine *m, struct mm_mm *mm, uint64_t va, int cpu)
{
	uint64_t *pte = mm__pte_lookup(m, mm, va);

	MM_ASSERT(pte && mm__pte_present(*pte));
	mm->hiwater_rss = MM_MAX(mm->hiwater_rss,
				 mm->rss_anon + mm->rss_shmem + mm->rss_file);
	mm__zap_pte(m, mm, va, pte, cpu);
}

void mm__try_to_unmap_one(struct mm_machine *m, struct mm_mm *mm, uint64_t va,
			  int cpu)
{
	uint64_t *pte = mm__pte_lookup(m, mm, va);

	MM_ASSERT(pte && mm__pte_present(*pte));
	uint32_t pfn = mm__pte_pfn(*pte);
	struct mm_page *p = &m->pages[pfn];
	if (!mm_page_test(p, MM_PG_swapcache)) {
		mm__unmap_one(m, mm, va, cpu);
		return;
	}
	mm->hiwater_rss = MM_MAX(mm->hiwater_rss,
				 mm->rss_anon + mm->rss_shmem + mm->rss_file);
	/* try_to_unmap_one() of an anonymous page in the swap cache: the PTE
	 * becomes its swap entry (exclusive if the page was), one more
	 * reference of the slot; a dirty PTE dirties the page */
	uint32_t off = p->private;
	bool exclusive = mm_page_test(p, MM_PG_anon_exclusive);
	if (*pte & MM_PTE_DIRTY)
		mm__set(p, MM_PG_dirty);
	mm__swap_duplicate(m, off);
	*pte = mm__swp_entry_pte(m, off, exclusive);
	mm__clear(p, MM_PG_anon_exclusive);
	mm->rss_anon--;
	mm->rss_swap++;
	mm__anon_page_put(m, pfn, cpu);
}

/* ---- range walks ------------------------------------------------------- */

static uint64_t mm__level_span(const struct mm_machine *m, int level)
{
	unsigned bits = m->cfg.arch == MM_ARCH_I386 ? 10 : 9;
	return 1ull << (MM_PAGE_SHIFT + bits * (unsigned)(level - 1));
}

static uint32_t mm__entry_table(uint64_t e)
{
	return mm__pte_pfn(e);
}

/* The entries [*first, *last) of the table at (level, base) whose spans
 * intersect [start, end) (start < end, and the table's span meets it). */
static void mm__level_range(const struct mm_machine *m, int level,
			    uint64_t base, uint64_t start, uint64_t end,
			    uint32_t *first, uint32_t *last)
{
	uint64_t span = mm__level_span(m, level), n = mm__pt_entries(m);

	*first = start > base ? (uint32_t)MM_MIN((start - base) / span, n) : 0;
	*last = end > base ? (uint32_t)MM_MIN((end - 1 - base) / span + 1, n) : 0;
}

/* Zaps the PTEs of [start, end) under table (level, base va). */
static void mm__zap_level(struct mm_machine *m, struct mm_mm *mm,
			  uint32_t table, int level, uint64_t base,
			  uint64_t start, uint64_t end, int cpu)
{
	uint64_t span = mm__level_span(m, level);
	uint32_t first, last;

	mm__level_range(m, level, base, start, end, &first, &last);
	for (uint32_t i = first; i < last; i++) {
		uint64_t lo = base + span * i;
		uint64_t *e = &mm__ptable_entries(m, table)[i];
		if (level == 1) {
			mm__zap_pte(m, mm, lo, e, cpu);
		} else if (*e & MM_PTE_PRESENT) {
			mm__zap_level(m, mm, mm__entry_table(*e), level - 1, lo,
				      start, end, cpu);
		}
	}
}

/* zap_page_range(): unmaps every page of [start, end); tables stay. */
void mm__zap_range(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		   uint64_t end, int cpu)
{
	if (mm->pgd == MM_NIL || start >= end)
		return;
	/* update_hiwater_rss() */
	mm->hiwater_rss = MM_MAX(mm->hiwater_rss,
				 mm->rss_anon + mm->rss_shmem + mm->rss_file);
	mm__zap_level(m, mm, mm->pgd, mm__pt_levels(m), 0, start, end, cpu);
}

static bool mm__span_has_vma(const struct mm_machine *m, const struct mm_mm *mm,
			     uint64_t lo, uint64_t hi)
{
	uint32_t id = mm__find_vma(m, mm, lo);
	return id != MM_NIL && m->vmas[id].start < hi;
}

/* Frees the tables under table that intersect [start, end) and lie under
 * no VMA (all=true: every table). */
static void mm__free_level(struct mm_machine *m, struct mm_mm *mm,
			   uint32_t table, int level, uint64_t base,
			   uint64_t start, uint64_t end, bool all, int cpu)
{
	uint64_t span = mm__level_span(m, level);
	uint32_t first, last;

	if (level == 1)
		return;
	mm__level_range(m, level, base, start, end, &first, &last);
	for (uint32_t i = first; i < last; i++) {
		uint64_t lo = base + span * i, hi = lo + span;
		uint64_t *e = &mm__ptable_entries(m, table)[i];
		if (!(*e & MM_PTE_PRESENT))
			continue;
		uint32_t child = mm__entry_table(*e);
		mm__free_level(m, mm, child, level - 1, lo, start, end, all, cpu);
		if (all || !mm__span_has_vma(m, mm, lo, hi)) {
			*e = 0;
			mm__ptable_free(m, child, cpu);
		}
	}
}

/* free_pgtables() after [start, end) was unmapped: tables no VMA needs. */
void mm__free_pgtables(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		       uint64_t end, int cpu)
{
	if (mm->pgd == MM_NIL || start >= end)
		return;
	mm__free_level(m, mm, mm->pgd, mm__pt_levels(m), 0, start, end, false,
		       cpu);
}

/* pgd_alloc(): the mm's top table. */
int mm__mm_pgd_alloc(struct mm_machine *m, struct mm_mm *mm, int cpu)
{
	mm->pgd = MM_NIL;
	return mm__ptable_new(m, cpu, &mm->pgd);
}

/* exit_mmap(): every page and table, the pgd too unless keep_pgd. */
void mm__mm_teardown(struct mm_machine *m, struct mm_mm *mm, bool keep_pgd,
		     int cpu)
{
	if (mm->pgd == MM_NIL)
		return;
	mm__zap_range(m, mm, 0, UINT64_MAX, cpu);
	mm__free_level(m, mm, mm->pgd, mm__pt_levels(m), 0, 0, UINT64_MAX, true,
		       cpu);
	MM_ASSERT(mm->rss_anon == 0 && mm->rss_shmem == 0 && mm->rss_file == 0 &&
		  mm->rss_swap == 0);
	if (!keep_pgd) {
		mm__ptable_free(m, mm->pgd, cpu);
		mm->pgd = MM_NIL;
	}
}

/* ---- anon_vma ---------------------------------------------------------- */

/* anon_vma_compatible(): could a and b (a below b) share an anon_vma? */
static bool mm__anon_vma_compat(const struct mm_vma *a, const struct mm_vma *b)
{
	return a->end == b->start && a->file == b->file &&
	       !((a->flags ^ b->flags) &
		 ~(MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC | MM_VM_SOFTDIRTY)) &&
	       b->pgoff == a->pgoff + ((b->start - a->start) >> MM_PAGE_SHIFT);
}

/* anon_vma_prepare(): reuse a neighbour's (find_mergeable_anon_vma: next
 * first, then prev, only when its chain is singular) or take a new one. */
void mm__anon_vma_prepare(struct mm_machine *m, struct mm_vma *v)
{
	if (v->anon_vma)
		return;
	struct mm_vma *nx = mm__vma(m, v->next), *pv = mm__vma(m, v->prev);
	if (nx && nx->anon_vma && !nx->anon_chained && mm__anon_vma_compat(v, nx))
		v->anon_vma = nx->anon_vma;
	else if (pv && pv->anon_vma && !pv->anon_chained &&
		 mm__anon_vma_compat(pv, v))
		v->anon_vma = pv->anon_vma;
	else
		v->anon_vma = mm__anon_vma_new(m, 0);
}

/* ---- the fault handler -------------------------------------------------- */

struct mm_fault_counts {
	uint64_t cow, zero;
};

/* ---- shmem (shared anonymous memory) ------------------------------------ */

struct mm_shmem *mm__shmem_find(struct mm_machine *m, uint32_t file,
				bool create)
{
	struct mm_shmem *free_rec = NULL;

	for (uint32_t i = 0; i < m->nr_shmem; i++) {
		if (m->shmem[i].file == file)
			return &m->shmem[i];
		if (!m->shmem[i].file && !free_rec)
			free_rec = &m->shmem[i];
	}
	if (!create)
		return NULL;
	if (!free_rec) {
		if (m->nr_shmem == m->cap_shmem) {
			uint32_t cap = m->cap_shmem ? m->cap_shmem * 2 : 8;
			struct mm_shmem *n = realloc(m->shmem, cap * sizeof(*n));
			if (!n)
				return NULL;
			m->shmem = n;
			m->cap_shmem = cap;
		}
		free_rec = &m->shmem[m->nr_shmem++];
	}
	memset(free_rec, 0, sizeof(*free_rec));
	free_rec->file = file;
	free_rec->i_mmap = MM_NIL;
	return free_rec;
}

static void mm__shmem_stat(struct mm_machine *m, uint32_t pfn, int64_t d)
{
	struct mm_node *n = &m->nodes[mm_page_zone(m, pfn)->node];
	n->vm_stat[MM_NR_SHMEM] += d;
	n->vm_stat[MM_NR_FILE_PAGES] += d;
}

void mm__shmem_put(struct mm_machine *m, uint32_t file, int cpu)
{
	struct mm_shmem *o = mm__shmem_find(m, file, false);
	if (!o || o->i_mmap != MM_NIL) /* still mapped (i_mmap.c) */
		return;
	for (uint32_t k = 0; k < o->nr; k++) {
		uint32_t pfn = o->pages[k];
		if (pfn == MM_NIL)
			continue;
		struct mm_page *p = &m->pages[pfn];
		MM_ASSERT(p->mapcount == 0 && p->refcount == 1);
		mm__lru_remove(m, pfn);
		p->flags &= ~((1u << MM_PG_swapbacked) | (1u << MM_PG_uptodate) |
			      (1u << MM_PG_dirty));
		p->mapping = 0;
		p->index = 0;
		mm__shmem_stat(m, pfn, -1);
		mm__free_pages(m, pfn, 0, cpu);
	}
	free(o->pages);
	memset(o, 0, sizeof(*o));
}

/* shmem_get_folio(): the object's page at idx, allocated (zeroed) if
 * missing; the cache holds one reference. */
static int mm__shmem_page(struct mm_machine *m, uint32_t file, uint64_t idx,
			  int cpu, uint32_t *pfn)
{
	struct mm_shmem *o = mm__shmem_find(m, file, true);

	if (!o || idx >= UINT32_MAX)
		return -MM_ENOMEM;
	if (idx >= o->nr) {
		uint32_t nr = MM_MAX((uint32_t)idx + 1, o->nr * 2);
		uint32_t *n = realloc(o->pages, nr * sizeof(*n));
		if (!n)
			return -MM_ENOMEM;
		for (uint32_t k = o->nr; k < nr; k++)
			n[k] = MM_NIL;
		o->pages = n;
		o->nr = nr;
	}
	if (o->pages[idx] != MM_NIL) {
		*pfn = o->pages[idx];
		return 0;
	}
	struct mm_alloc_result r;
	int rc = mm__alloc_pages(m, MM_GFP_HIGHUSER_MOVABLE | MM___GFP_ZERO, 0,
				 cpu, -1, &r);
	if (rc)
		return rc;
	struct mm_page *p = &m->pages[r.pfn];
	mm__set(p, MM_PG_swapbacked);
	mm__set(p, MM_PG_uptodate);
	p->mapping = file;
	p->index = (uint32_t)idx;
	mm__shmem_stat(m, r.pfn, 1);
	mm__lru_add_new(m, r.pfn, 0); /* shmem_add_to_page_cache + folio_add_lru */
	o = mm__shmem_find(m, file, false);
	o->pages[idx] = r.pfn;
	*pfn = r.pfn;
	return 0;
}

static uint32_t mm__shmem_lookup(struct mm_machine *m, uint32_t file,
				 uint64_t idx)
{
	struct mm_shmem *o = mm__shmem_find(m, file, false);
	return o && idx < o->nr ? o->pages[idx] : MM_NIL;
}

/* The page-cache page of v's page idx that fault-around may map, or
 * MM_NIL (shmem: any cached page; files: filemap_map_pages' rules). */
static uint32_t mm__around_page(struct mm_machine *m, const struct mm_vma *v,
				uint64_t idx)
{
	if (mm__file_is_shmem(v->file))
		return mm__shmem_lookup(m, v->file, idx);
	return mm__filemap_map_page(m, mm__file(m, v->file), idx);
}

/* Maps page-cache page pfn at pte (set_pte_range / finish_fault): shared
 * anonymous memory writable with the VMA; a shared file mapping only on a
 * write (write-notify: the first write to a clean page faults); private
 * mappings read-only. */
static void mm__cache_map(struct mm_machine *m, struct mm_mm *mm,
			  const struct mm_vma *v, uint64_t *pte, uint32_t pfn,
			  bool write)
{
	uint64_t e = ((uint64_t)pfn << MM_PAGE_SHIFT) | mm__vma_prot(m, v->flags) |
		     MM_PTE_ACCESSED;

	if ((v->flags & (MM_VM_WRITE | MM_VM_SHARED)) == (MM_VM_WRITE | MM_VM_SHARED) &&
	    (write || mm__file_is_shmem(v->file)))
		e |= MM_PTE_RW;
	if (write) {
		e |= MM_PTE_DIRTY;
		if (mm__file_is_reg(v->file))
			mm__page_set_dirty(m, pfn);
	}
	*pte = e;
	mm__cache_page_map(m, mm, pfn);
	if ((v->flags & (MM_VM_LOCKED | MM_VM_SPECIAL)) == MM_VM_LOCKED)
		mm__mlock_page(m, pfn); /* mlock_vma_folio() */
}

/* do_fault_around(): maps the cached pages of the fault_around_bytes
 * window around va (aligned to its size, clipped to the VMA and to the
 * PTE table) whose PTEs are empty.  true when va itself got mapped. */
static bool mm__fault_around(struct mm_machine *m, struct mm_mm *mm,
			     const struct mm_vma *v, uint64_t va)
{
	uint64_t nr = m->cfg.fault_around_bytes >> MM_PAGE_SHIFT;
	uint64_t ptrs = mm__pt_entries(m);
	uint64_t pte_off = (va >> MM_PAGE_SHIFT) & (ptrs - 1);
	uint64_t vma_off = (va - v->start) >> MM_PAGE_SHIFT;
	uint64_t from = MM_MAX(pte_off & ~(nr - 1),
			       pte_off - MM_MIN(pte_off, vma_off));
	uint64_t vma_pages = (v->end - v->start) >> MM_PAGE_SHIFT;
	uint64_t to = MM_MIN(MM_MIN(from + nr, ptrs),
			     pte_off + vma_pages - vma_off);
	uint64_t base = va - (pte_off << MM_PAGE_SHIFT);
	bool hit = false;

	for (uint64_t k = from; k < to; k++) {
		uint64_t a = base + (k << MM_PAGE_SHIFT), *e;
		if (mm__pt_walk(m, mm->pgd, a, false, 0, &e, NULL, NULL) || *e)
			continue;
		uint32_t pfn = mm__around_page(m, v, v->pgoff + ((a - v->start) >>
								MM_PAGE_SHIFT));
		if (pfn == MM_NIL)
			continue;
		mm__cache_map(m, mm, v, e, pfn, false);
		hit |= a == va;
	}
	return hit;
}

static bool mm__should_fault_around(const struct mm_machine *m)
{
	return (m->cfg.fault_around_bytes >> MM_PAGE_SHIFT) > 1;
}

/* do_read_fault() / do_shared_fault() on a shared anonymous VMA: a read
 * first maps what the page cache holds around va (do_fault_around,
 * fault_around_bytes), then the page itself, allocated if need be. */
static int mm__do_shmem_fault(struct mm_machine *m, struct mm_task *t,
			      struct mm_vma *v, uint64_t va, uint64_t *pte,
			      bool write)
{
	struct mm_mm *mm = &m->mms[t->mm];
	uint64_t idx = v->pgoff + ((va - v->start) >> MM_PAGE_SHIFT);

	if (mm__pte_present(*pte)) {
		/* wp_page_shared(): a write-protected shared PTE */
		*pte |= MM_PTE_RW | MM_PTE_DIRTY | MM_PTE_ACCESSED;
		m->events[MM_PGREUSE]++; /* wp_page_reuse() */
		return 0;
	}
	if (!write && mm__should_fault_around(m) && mm__fault_around(m, mm, v, va))
		return 0;
	uint32_t pfn;
	int rc = mm__shmem_page(m, v->file, idx, t->cpu, &pfn);
	if (rc)
		return rc;
	mm__cache_map(m, mm, v, pte, pfn, write);
	return 0;
}

static int mm__do_wp_page(struct mm_machine *m, struct mm_mm *mm,
			  struct mm_vma *v, uint64_t va, uint64_t *pte, int cpu,
			  struct mm_fault_counts *fc);

#define MM__FAULT_SIGBUS (-1000) /* VM_FAULT_SIGBUS: access beyond EOF */

/*
 * A fault on a file VMA (do_read_fault / do_cow_fault / do_shared_fault,
 * wp_page_shared).  A read fault tries fault-around first; a page missing
 * from the cache is a major fault whose read-around drops the fault
 * (VM_FAULT_RETRY), as a hit on a readahead mark does: the retry faults
 * around the pages just read.  *major is set for a major fault.  -MM_ENOMEM, or
 * MM__FAULT_SIGBUS past EOF.
 */
static int mm__do_file_fault(struct mm_machine *m, struct mm_task *t,
			     struct mm_vma *v, uint64_t va, uint64_t *pte,
			     bool write, struct mm_fault_counts *fc, bool *major)
{
	struct mm_mm *mm = &m->mms[t->mm];
	struct mm_file *f = mm__file(m, v->file);
	uint64_t idx = v->pgoff + ((va - v->start) >> MM_PAGE_SHIFT);
	bool shared = v->flags & MM_VM_SHARED;
	uint32_t pfn;

	if (mm__pte_present(*pte)) {
		if (!shared)
			return mm__do_wp_page(m, mm, v, va, pte, t->cpu, fc);
		/* wp_page_shared(): page_mkwrite, then dirty
		 * (finish_mkwrite_fault: wp_page_reuse) */
		*pte |= MM_PTE_RW | MM_PTE_DIRTY | MM_PTE_ACCESSED;
		m->events[MM_PGREUSE]++;
		mm__page_set_dirty(m, mm__pte_pfn(*pte));
		return 0;
	}
	if (!write && mm__should_fault_around(m) && mm__fault_around(m, mm, v, va))
		return 0;
	if (mm__file_beyond_eof(f, idx))
		return MM__FAULT_SIGBUS;
	bool retry;
	int rc = mm__filemap_fault(m, f, v->flags, idx, t->cpu, &pfn, major,
				   &retry);
	if (rc)
		return rc;
	/* VM_FAULT_RETRY: the fault runs again (counted once, major when
	 * the first try was), faulting around the pages just read */
	if (retry && !write && mm__should_fault_around(m) &&
	    mm__fault_around(m, mm, v, va))
		return 0;
	if (write && !shared) {
		/* do_cow_fault(): a private copy of the cache page */
		uint32_t anon;
		mm__anon_vma_prepare(m, v);
		/* the source is held while the copy is allocated (reclaim
		 * leaves a page with an extra reference alone) */
		m->pages[pfn].refcount++;
		rc = mm__anon_page_new(m, v, va, t->cpu, &anon);
		m->pages[pfn].refcount--;
		if (rc)
			return rc;
		if ((rc = mm__content_copy(m, anon, pfn))) {
			mm__anon_page_put(m, anon, t->cpu);
			return rc;
		}
		*pte = ((uint64_t)anon << MM_PAGE_SHIFT) |
		       mm__vma_prot(m, v->flags) | MM_PTE_ACCESSED | MM_PTE_RW |
		       MM_PTE_DIRTY;
		mm->rss_anon++;
		return 0;
	}
	mm__cache_map(m, mm, v, pte, pfn, write);
	return 0;
}

/* do_anonymous_page(): pte is empty. */
static int mm__do_anonymous_page(struct mm_machine *m, struct mm_mm *mm,
				 struct mm_vma *v, uint64_t va, uint64_t *pte,
				 bool write, int cpu, struct mm_fault_counts *fc)
{
	uint64_t prot = mm__vma_prot(m, v->flags);

	if (!write && m->cfg.zero_page) {
		*pte = ((uint64_t)m->zero_pfn << MM_PAGE_SHIFT) | prot |
		       MM_PTE_ACCESSED;
		fc->zero++;
		return 0;
	}
	mm__anon_vma_prepare(m, v);
	uint32_t pfn;
	int rc = mm__anon_page_new(m, v, va, cpu, &pfn);
	if (rc)
		return rc;
	uint64_t e = ((uint64_t)pfn << MM_PAGE_SHIFT) | prot | MM_PTE_ACCESSED;
	if (v->flags & MM_VM_WRITE)
		e |= MM_PTE_RW | MM_PTE_DIRTY;
	*pte = e;
	mm->rss_anon++;
	return 0;
}

/* do_wp_page(): a write to a present, write-protected PTE of a writable
 * private VMA: reuse the page when it is exclusively ours
 * (wp_can_reuse_anon_folio: PageAnonExclusive, or refcount 1), else copy
 * it (the zero page always copies). */
static int mm__do_wp_page(struct mm_machine *m, struct mm_mm *mm,
			  struct mm_vma *v, uint64_t va, uint64_t *pte, int cpu,
			  struct mm_fault_counts *fc)
{
	uint32_t old = mm__pte_pfn(*pte);
	uint64_t prot = mm__vma_prot(m, v->flags);

	if (old != m->zero_pfn && mm_page_test(&m->pages[old], MM_PG_swapbacked)) {
		struct mm_page *p = &m->pages[old];
		/* wp_can_reuse_anon_folio(): a page only the swap cache shares
		 * with us leaves it when no swap entry names its slot */
		if (!mm_page_test(p, MM_PG_anon_exclusive) && p->refcount == 2 &&
		    mm_page_test(p, MM_PG_swapcache))
			mm__folio_free_swap(m, old);
		if (mm_page_test(p, MM_PG_anon_exclusive) || p->refcount == 1) {
			/* folio_move_anon_rmap() + wp_page_reuse() */
			mm__anon_vma_prepare(m, v);
			p->mapping = v->anon_vma;
			mm__set(p, MM_PG_anon_exclusive);
			*pte |= MM_PTE_RW | MM_PTE_DIRTY | MM_PTE_ACCESSED;
			m->events[MM_PGREUSE]++;
			return 0;
		}
	}
	mm__anon_vma_prepare(m, v);
	uint32_t pfn;
	/* the old page is held while the copy is allocated (reclaim leaves
	 * a page with an extra reference alone: it cannot swap it out) */
	if (old != m->zero_pfn)
		m->pages[old].refcount++;
	int rc = mm__anon_page_new(m, v, va, cpu, &pfn);
	if (old != m->zero_pfn)
		m->pages[old].refcount--;
	if (rc)
		return rc;
	if (old != m->zero_pfn && (rc = mm__content_copy(m, pfn, old))) {
		mm__anon_page_put(m, pfn, cpu);
		return rc;
	}
	if (old != m->zero_pfn) {
		if (v->flags & MM_VM_LOCKED)
			mm__munlock_page(m, old);
		mm__page_unmap(m, mm, old, *pte, cpu);
	}
	mm->rss_anon++;
	*pte = ((uint64_t)pfn << MM_PAGE_SHIFT) | prot | MM_PTE_ACCESSED |
	       MM_PTE_RW | MM_PTE_DIRTY;
	fc->cow++;
	return 0;
}

/*
 * do_swap_page(): the PTE holds a swap entry.  The page is looked up in
 * the swap cache (a minor fault: a fork sibling swapped it in already, or
 * it was not freed yet), else read in (a major fault: pgmajfault, pswpin).
 * The entry's slot reference goes (swap_free) and the cached copy too when
 * should_try_to_free_swap() says so (swap over half full, VM_LOCKED, or a
 * write fault on a page only we and the cache hold).  An exclusive entry,
 * or a page nobody else holds, maps writable in a writable VMA (dirty on
 * a write fault, which is then done); otherwise a write goes on to
 * do_wp_page.  A page new to the rmap takes the VMA's anon_vma, or its
 * root when it may be shared (__folio_set_anon).
 */
static int mm__do_swap_page(struct mm_machine *m, struct mm_mm *mm,
			    struct mm_vma *v, uint64_t va, uint64_t *pte,
			    bool write, int cpu, struct mm_fault_counts *fc,
			    bool *major)
{
	uint64_t entry = *pte;
	uint32_t off = mm__pte_swp_offset(m, entry);
	uint32_t pfn = mm__swap_cache_lookup(m, off);

	mm__anon_vma_prepare(m, v);
	if (pfn != MM_NIL) {
		mm__swap_readahead_hit(m, pfn);
	} else {
		uint64_t read;
		int rc = mm__swapin_readahead(m, off, cpu, &pfn, &read);
		if (rc < 0)
			return rc;
		*major = true;
		m->events[MM_PGMAJFAULT]++;
		if (read)
			mm_event_emit(m, MM_EV_SWAP_IN, mm_page_zone(m, pfn)->node,
				      read, 0, 0, 0);
	}
	struct mm_page *p = &m->pages[pfn];
	p->refcount++; /* the mapping's */
	mm__swap_free(m, off);
	if (mm__vm_swap_full(m) || (v->flags & MM_VM_LOCKED) ||
	    mm_page_test(p, MM_PG_mlocked) || (write && p->refcount == 2))
		mm__folio_free_swap(m, pfn);
	bool exclusive = mm__pte_swp_exclusive(m, entry) || p->refcount == 1;
	uint64_t e = ((uint64_t)pfn << MM_PAGE_SHIFT) | mm__vma_prot(m, v->flags) |
		     MM_PTE_ACCESSED;
	if (exclusive && (v->flags & MM_VM_WRITE)) {
		e |= MM_PTE_RW;
		if (write)
			e |= MM_PTE_DIRTY;
		write = false;
	}
	if (!p->mapping) {
		uint32_t av = v->anon_vma;
		while (!exclusive && av < m->cap_anon_parent && m->anon_parent[av])
			av = m->anon_parent[av];
		p->mapping = av;
		p->index = (uint32_t)(v->pgoff + ((va - v->start) >> MM_PAGE_SHIFT));
	}
	if (exclusive)
		mm__set(p, MM_PG_anon_exclusive);
	if (p->mapcount++ == 0)
		mm__anon_stat(m, pfn, 1);
	mm->rss_anon++;
	mm->rss_swap--;
	*pte = e;
	if ((v->flags & (MM_VM_LOCKED | MM_VM_SPECIAL)) == MM_VM_LOCKED)
		mm__mlock_page(m, pfn);
	return write ? mm__do_wp_page(m, mm, v, va, pte, cpu, fc) : 0;
}

/*
 * handle_mm_fault() for an access the VMA allows at va (inside v): counts
 * pgfault, then maps or un-write-protects the page, and counts the task's
 * min_flt or maj_flt (mm_account_fault).  ptep may be NULL; else *ptep is
 * the PTE slot of va when the caller has it (NULL: walk, creating tables)
 * and gets it on return.  Returns 0, -MM_ENOMEM (nothing changed but the
 * counters), MM__FAULT_SIGBUS (a file page past EOF), -MM_ENODEV (exec
 * images and special mappings: not simulated).
 */
int mm__handle_fault(struct mm_machine *m, struct mm_task *t, uint32_t vma,
		     uint64_t va, enum mm_access access,
		     struct mm_fault_counts *fc, uint64_t **ptep)
{
	struct mm_mm *mm = &m->mms[t->mm];
	struct mm_vma *v = &m->vmas[vma];
	bool write = access == MM_ACCESS_WRITE, major = false;
	uint64_t *pte;

	bool shmem = mm__file_is_shmem(v->file) && (v->flags & MM_VM_SHARED);
	bool file = mm__file_is_reg(v->file);
	if ((v->file && !shmem && !file) ||
	    ((v->flags & MM_VM_SHARED) && !shmem && !file))
		return -MM_ENODEV;
	va &= ~(uint64_t)(MM_PAGE_SIZE - 1);
	m->events[MM_PGFAULT]++;
	int rc = 0;
	if (ptep && *ptep)
		pte = *ptep;    /* the caller's walk found the slot */
	else
		rc = mm__pt_walk(m, mm->pgd, va, true, t->cpu, &pte, NULL, NULL);
	if (rc)
		return rc;
	if (ptep)
		*ptep = pte; /* table entries never move: valid after the fault */
	if (mm__pte_is_swap(*pte))
		rc = mm__do_swap_page(m, mm, v, va, pte, write, t->cpu, fc, &major);
	else if (file)
		rc = mm__do_file_fault(m, t, v, va, pte, write, fc, &major);
	else if (shmem)
		rc = mm__do_shmem_fault(m, t, v, va, pte, write);
	else if (!mm__pte_present(*pte))
		rc = mm__do_anonymous_page(m, mm, v, va, pte, write, t->cpu, fc);
	else if (write && !(*pte & MM_PTE_RW))
		rc = mm__do_wp_page(m, mm, v, va, pte, t->cpu, fc);
	else
		*pte |= MM_PTE_ACCESSED; /* spurious: the PTE already allows it */
	if (rc == MM__FAULT_SIGBUS)
		return rc;
	if (major)
		t->maj_flt++;
	else
		t->min_flt++;
	return rc;
}

/* Does the PTE let the MMU do the access without a fault? */
static bool mm__pte_allows(uint64_t e, enum mm_access access)
{
	if (!(e & MM_PTE_PRESENT))
		return false;
	if (access == MM_ACCESS_WRITE && !(e & MM_PTE_RW))
		return false;
	if (access == MM_ACCESS_EXEC && (e & MM_PTE_NX))
		return false;
	return true;
}

/* What the hardware does on a successful access: set accessed/dirty. */
static void mm__pte_access(uint64_t *pte, enum mm_access access)
{
	*pte |= MM_PTE_ACCESSED;
	if (access == MM_ACCESS_WRITE)
		*pte |= MM_PTE_DIRTY;
}

/* expand_downwards(): grow stack VMA v down to cover addr; 0 or -errno. */
static int mm__expand_stack(struct mm_machine *m, struct mm_mm *mm,
			    struct mm_vma *v, uint64_t addr)
{
	addr &= ~(uint64_t)(MM_PAGE_SIZE - 1);
	if (addr < MM_MMAP_MIN_ADDR)
		return -MM_EPERM;
	struct mm_vma *pv = mm__vma(m, v->prev);
	if (pv && !(pv->flags & MM_VM_GROWSDOWN) &&
	    (pv->flags & (MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC)) &&
	    (addr < pv->end || addr - pv->end < MM_STACK_GUARD_GAP))
		return -MM_ENOMEM;
	if (v->end - addr > MM_STACK_RLIMIT)
		return -MM_ENOMEM;
	uint64_t grow = (v->start - addr) >> MM_PAGE_SHIFT;
	if ((v->flags & MM_VM_ACCOUNT) &&
	    mm__vm_enough_memory(m, mm, (int64_t)grow))
		return -MM_ENOMEM;
	mm__anon_vma_prepare(m, v);
	/* The tree is keyed by start: relink around the change. */
	uint32_t id = mm__vma_id(m, v);
	mm__vma_unlink(m, mm, id);
	v->start = addr;
	v->pgoff -= grow;
	mm__vma_link(m, mm, id);
	if (v->flags & MM_VM_LOCKED)
		mm->locked_vm += grow;
	mm__vm_stat_account(mm, v->flags, (int64_t)grow);
	return 0;
}

/*
 * What a range access (mm__access_range) keeps from one page for the next:
 * the VMA and the PTE slot of the page it handled.  The next page in the
 * same VMA and the same page-table page needs neither find_vma nor a walk:
 * its slot is the next entry of the same table.  Nothing a fault does
 * frees one of the faulting mm's page tables or changes its VMAs (reclaim
 * clears PTEs, the OOM killer only kills other tasks at once), so the
 * slot stays valid for the whole loop.
 */
struct mm__range_hint {
	uint32_t vma;   /* MM_NIL: nothing kept */
	uint64_t va;    /* the page the slot belongs to */
	uint64_t *pte;
};

/* Are a and b mapped by the same page-table page (the last level)? */
static bool mm__same_pte_table(const struct mm_machine *m, uint64_t a,
			       uint64_t b)
{
	unsigned shift = MM_PAGE_SHIFT + (m->cfg.arch == MM_ARCH_I386 ? 10 : 9);

	return (a >> shift) == (b >> shift);
}

/* The hint's slot for va, or NULL when va is outside its VMA or table. */
static uint64_t *mm__hint_pte(const struct mm_machine *m, const struct mm_mm *mm,
			      const struct mm__range_hint *h, uint64_t va)
{
	if (!h || h->vma == MM_NIL || !mm__same_pte_table(m, va, h->va))
		return NULL;
	const struct mm_vma *v = &m->vmas[h->vma];
	if (v->mm != mm->id || va < v->start || va >= v->end)
		return NULL;
	return h->pte + ((int64_t)(va >> MM_PAGE_SHIFT) -
			 (int64_t)(h->va >> MM_PAGE_SHIFT));
}

/* do_user_addr_fault() up to handle_mm_fault: 1 = no fault needed,
 * 0 = fault handled (*ptep: the PTE slot, either way), -MM_EFAULT with
 * *code = SEGV_*, other -errno.  h (may be NULL) is the range hint: used
 * when it covers va, and updated on success. */
static int mm__user_access(struct mm_machine *m, struct mm_task *t,
			   uint64_t va, enum mm_access access,
			   struct mm_fault_counts *fc, int *code, uint64_t **ptep,
			   struct mm__range_hint *h)
{
	struct mm_mm *mm = &m->mms[t->mm];
	uint64_t *pte = mm__hint_pte(m, mm, h, va);
	uint32_t id;

	if (pte) {
		id = h->vma;
	} else {
		id = mm__find_vma(m, mm, va);
		*code = MM_SEGV_MAPERR;
		if (id == MM_NIL)
			return -MM_EFAULT;
		if (m->vmas[id].start > va) {
			if (!(m->vmas[id].flags & MM_VM_GROWSDOWN) ||
			    mm__expand_stack(m, mm, &m->vmas[id], va))
				return -MM_EFAULT;
			id = mm__find_vma(m, mm, va);
		}
	}
	const struct mm_vma *v = &m->vmas[id];
	*code = MM_SEGV_ACCERR;
	if (access == MM_ACCESS_WRITE && !(v->flags & MM_VM_WRITE))
		return -MM_EFAULT;
	if (!(v->flags & (MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC)))
		return -MM_EFAULT;
	if (!pte)
		pte = mm__pte_lookup(m, mm, va);
	if (pte && mm__pte_allows(*pte, access)) {
		if (access == MM_ACCESS_EXEC && !(v->flags & MM_VM_EXEC))
			return -MM_EFAULT;
		mm__pte_access(pte, access);
		*ptep = pte;
		if (h)
			*h = (struct mm__range_hint){id, va, pte};
		return 1;
	}
	if (pte && (*pte & MM_PTE_PRESENT) && access == MM_ACCESS_EXEC)
		return -MM_EFAULT; /* an NX page: X86_PF_INSTR|PROT */
	int rc = mm__handle_fault(m, t, id, va, access, fc, &pte);
	if (rc)
		return rc;
	*ptep = pte;
	if (h)
		*h = (struct mm__range_hint){id, va, pte};
	if (access == MM_ACCESS_EXEC && (*pte & MM_PTE_NX))
		return -MM_EFAULT; /* the retry faults on NX */
	mm__pte_access(pte, access);
	return 0;
}

int mm__access(struct mm_machine *m, struct mm_task *t, uint64_t va,
	       enum mm_access access, int *code)
{
	struct mm_fault_counts fc = {0, 0};
	uint64_t *pte = NULL;
	int rc = mm__user_access(m, t, va, access, &fc, code, &pte, NULL);

	if (rc == MM__FAULT_SIGBUS) {
		*code = MM_BUS_ADRERR;
		return -MM_ENXIO; /* SIGBUS */
	}
	return rc;
}

/* What a user access does with the bytes of one page once it is mapped:
 * [off, off + len) of frame pfn, done bytes of the whole access before. */
typedef int (*mm__bytes_fn)(struct mm_machine *m, uint32_t pfn, uint32_t off,
			    uint32_t len, uint64_t done, void *arg);

/*
 * The loop behind touch, read and write: one user access at addr and at
 * the first byte of each following page below addr + len, then fn (may
 * be NULL) on the page's part of the range.  A SIGSEGV stops the loop,
 * fills r->signal and kills the process.
 */
static int mm__access_range(struct mm_machine *m, int pid, uint64_t addr,
			    uint64_t len, enum mm_access access,
			    struct mm_touch_result *r, mm__bytes_fn fn, void *arg)
{
	struct mm_task *t = mm_task_get(m, pid);

	memset(r, 0, sizeof(*r));
	if (!t)
		return -MM_ESRCH;
	if (access != MM_ACCESS_READ && access != MM_ACCESS_WRITE &&
	    access != MM_ACCESS_EXEC)
		return -MM_EINVAL;
	if (!len)
		return 0;
	uint64_t end = addr + len < addr ? UINT64_MAX : addr + len;
	uint64_t min0 = t->min_flt, maj0 = t->maj_flt;
	struct mm_fault_counts fc = {0, 0};
	struct mm__range_hint hint = {MM_NIL, 0, NULL};
	int rc = 0;
	mm__oom_enter(m, pid);
	for (uint64_t va = addr; va < end;) {
		int code;
		uint64_t *pte = NULL;
		rc = mm__user_access(m, t, va, access, &fc, &code, &pte, &hint);
		if (rc == MM__FAULT_SIGBUS) {
			r->signal.signo = MM_SIGBUS;
			r->signal.code = MM_BUS_ADRERR;
			r->signal.addr = va;
			r->signal.name = "SIGBUS";
			r->signal.code_name = "BUS_ADRERR";
			rc = 0;
			break;
		}
		if (rc == -MM_EFAULT) {
			r->signal.signo = MM_SIGSEGV;
			r->signal.code = code;
			r->signal.addr = va;
			r->signal.name = "SIGSEGV";
			r->signal.code_name = code == MM_SEGV_MAPERR ? "SEGV_MAPERR"
								     : "SEGV_ACCERR";
			rc = 0;
			break;
		}
		if (rc < 0)
			break;
		uint64_t next = (va | (MM_PAGE_SIZE - 1)) + 1;
		if (fn) {
			uint64_t stop = next <= va ? end : MM_MIN(next, end);
			rc = fn(m, mm__pte_pfn(*pte),
				(uint32_t)(va & (MM_PAGE_SIZE - 1)),
				(uint32_t)(stop - va), va - addr, arg);
			if (rc)
				break;
		}
		rc = 0;
		r->pages++;
		if (next <= va)
			break;
		va = next;
	}
	r->minor = t->min_flt - min0;
	r->major = t->maj_flt - maj0;
	r->cow = fc.cow;
	r->zero = fc.zero;
	if (mm__oom_leave(m)) {
		/* the OOM killer chose this task: SIGKILL ends the access */
		rc = 0;
		r->signal.signo = MM_SIGKILL;
		r->signal.code = 0;
		r->signal.addr = 0;
		r->signal.name = "SIGKILL";
		r->signal.code_name = "SI_KERNEL";
	}
	if (r->signal.signo)
		mm_exit(m, pid, 128 + r->signal.signo);
	return rc;
}

int mm_touch(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
	     enum mm_access access, struct mm_touch_result *r)
{
	return mm__access_range(m, pid, addr, len, access, r, NULL, NULL);
}

static int mm__write_bytes(struct mm_machine *m, uint32_t pfn, uint32_t off,
			   uint32_t len, uint64_t done, void *arg)
{
	return mm_frame_write(m, pfn, off, (const uint8_t *)arg + done, len);
}

static int mm__read_bytes(struct mm_machine *m, uint32_t pfn, uint32_t off,
			  uint32_t len, uint64_t done, void *arg)
{
	mm_frame_read(m, pfn, off, (uint8_t *)arg + done, len);
	return 0;
}

int mm_write(struct mm_machine *m, int pid, uint64_t addr, const void *buf,
	     uint64_t len, struct mm_touch_result *r)
{
	return mm__access_range(m, pid, addr, len, MM_ACCESS_WRITE, r,
				mm__write_bytes, (void *)buf);
}

int mm_read(struct mm_machine *m, int pid, uint64_t addr, void *buf,
	    uint64_t len, struct mm_touch_result *r)
{
	return mm__access_range(m, pid, addr, len, MM_ACCESS_READ, r,
				mm__read_bytes, buf);
}

/* ---- populate (__mm_populate / populate_vma_page_range) ---------------- */

/*
 * Faults in [start, end) as get_user_pages() would: writable private VMAs
 * with FOLL_WRITE, others for read; VM_IO/VM_PFNMAP VMAs are skipped,
 * shared and file VMAs too (not simulated yet).  An inaccessible VMA
 * answers -MM_EFAULT (when !ignore_errors; else it is skipped).
 */
int mm__populate(struct mm_machine *m, struct mm_task *t, uint64_t start,
		 uint64_t end, bool ignore_errors)
{
	struct mm_mm *mm = &m->mms[t->mm];
	struct mm_fault_counts fc = {0, 0};

	for (uint64_t va = start; va < end;) {
		uint32_t id = mm__find_vma(m, mm, va);
		if (id == MM_NIL || m->vmas[id].start >= end)
			break;
		const struct mm_vma *v = &m->vmas[id];
		uint64_t vend = MM_MIN(v->end, end);
		va = MM_MAX(va, v->start);
		uint64_t f = v->flags;
		if (f & (MM_VM_IO | MM_VM_PFNMAP)) {
			va = vend;
			continue;
		}
		if (!(f & (MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC))) {
			if (!ignore_errors)
				return -MM_EFAULT;
			va = vend;
			continue;
		}
		if (v->file && !mm__file_is_shmem(v->file) &&
		    !mm__file_is_reg(v->file)) {
			va = vend; /* exec images, special mappings */
			continue;
		}
		/* FOLL_WRITE only for private writable memory */
		enum mm_access acc = (f & (MM_VM_WRITE | MM_VM_SHARED)) == MM_VM_WRITE
					     ? MM_ACCESS_WRITE : MM_ACCESS_READ;
		/* The slot of the page before, while the pages stay in one
		 * page-table page: the next slot is the next entry (nothing a
		 * fault does frees a table of this mm; see mm__range_hint). */
		uint64_t *pte = NULL, prev = 0;
		for (; va < vend; prev = va, va += MM_PAGE_SIZE) {
			if (pte && mm__same_pte_table(m, va, prev))
				pte++;
			else
				pte = mm__pte_lookup(m, mm, va);
			if (pte && mm__pte_allows(*pte, acc))
				continue;
			int rc = mm__handle_fault(m, t, id, va, acc, &fc, &pte);
			if (rc == MM__FAULT_SIGBUS)
				rc = -MM_EFAULT; /* GUP: past EOF */
			if (rc && !ignore_errors)
				return rc;
			if (rc)
				break;
		}
		va = vend;
	}
	return 0;
}

/* ---- fork and mprotect -------------------------------------------------- */

/* In a page-by-page walk, va has no PTE table: moves va to the last page
 * before the next PMD-level span, so the loop's increment lands on it.
 * false when that span would wrap the address space (end the walk). */
static bool mm__skip_missing_table(const struct mm_machine *m, uint64_t *va)
{
	uint64_t span = mm__level_span(m, 2);
	uint64_t next = (*va & ~(span - 1)) + span;

	if (next <= *va)
		return false;
	*va = next - MM_PAGE_SIZE;
	return true;
}

/* A page-by-page walk's next PTE: the first page at or after *va (below
 * end) whose PTE table exists; NULL when none is left. */
static uint64_t *mm__next_pte(struct mm_machine *m, struct mm_mm *mm,
			      uint64_t *va, uint64_t end)
{
	for (; *va < end; *va += MM_PAGE_SIZE) {
		uint64_t *pte = mm__pte_lookup(m, mm, *va);
		if (pte)
			return pte;
		if (!mm__skip_missing_table(m, va))
			return NULL;
	}
	return NULL;
}

/*
 * copy_page_range() for one VMA: only VMAs with an anon_vma have pages to
 * copy (vma_needs_copy); private writable pages become read-only in both
 * (COW) and lose PG_anon_exclusive; the child's PTEs are old.
 */
int mm__copy_page_range(struct mm_machine *m, struct mm_mm *dst,
			struct mm_mm *src, const struct mm_vma *v, int cpu)
{
	if (!v->anon_vma)
		return 0;
	bool cow = (v->flags & (MM_VM_SHARED | MM_VM_MAYWRITE)) == MM_VM_MAYWRITE;
	uint64_t start = v->start, end = v->end;

	uint64_t *spte;
	for (uint64_t va = start; (spte = mm__next_pte(m, src, &va, end));
	     va += MM_PAGE_SIZE) {
		if (!*spte)
			continue;
		uint64_t *dpte;
		int rc = mm__pt_walk(m, dst->pgd, va, true, cpu, &dpte, NULL, NULL);
		if (rc)
			return rc;
		spte = mm__pte_lookup(m, src, va);
		if (mm__pte_is_swap(*spte)) {
			/* copy_nonpresent_pte(): the entry is shared now */
			mm__swap_duplicate(m, mm__pte_swp_offset(m, *spte));
			*spte = mm__pte_swp_clear_exclusive(m, *spte);
			*dpte = *spte;
			dst->rss_swap++;
			continue;
		}
		uint32_t pfn = mm__pte_pfn(*spte);
		if (pfn != m->zero_pfn && mm__file_is_reg(m->pages[pfn].mapping)) {
			mm__cache_page_map(m, dst, pfn); /* folio_dup_file_rmap */
			if (cow)
				*spte &= ~MM_PTE_RW;
		} else if (pfn != m->zero_pfn) {
			struct mm_page *p = &m->pages[pfn];
			p->refcount++;
			p->mapcount++;
			mm__clear(p, MM_PG_anon_exclusive);
			dst->rss_anon++;
			if (cow)
				*spte &= ~MM_PTE_RW;
		}
		*dpte = *spte & ~MM_PTE_ACCESSED;
	}
	return 0;
}

/* madvise_willneed() on anonymous memory (swapin_walk_pmd_entry): each
 * swap entry of [start, end) whose page is not in the swap cache is read
 * into it (read_swap_cache_async), not mapped: the access that follows is
 * a minor fault (no readahead hit: read_swap_cache_async marks nothing).
 * Stops at the first allocation failure. */
void mm__swapin_range(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		      uint64_t end, int cpu)
{
	uint64_t read = 0;
	int node = 0;

	uint64_t *pte;
	for (uint64_t va = start; (pte = mm__next_pte(m, mm, &va, end));
	     va += MM_PAGE_SIZE) {
		if (!mm__pte_is_swap(*pte))
			continue;
		uint32_t off = mm__pte_swp_offset(m, *pte), pfn;
		if (mm__swap_cache_lookup(m, off) != MM_NIL)
			continue;
		int rc = mm__swapin(m, off, cpu, &pfn);
		if (rc == -MM_ENOMEM)
			break;
		if (rc < 0)
			continue;
		node = mm_page_zone(m, pfn)->node;
		read += (uint64_t)rc;
	}
	if (read)
		mm_event_emit(m, MM_EV_SWAP_IN, node, read, 0, 0, 0);
}

/* change_pte_range(): the PTEs of [start, end) in v take v's new flags;
 * an exclusive anonymous page of a writable VMA stays (or becomes)
 * writable (can_change_pte_writable), others are write-protected. */
void mm__change_protection(struct mm_machine *m, struct mm_mm *mm,
			   const struct mm_vma *v, uint64_t start, uint64_t end)
{
	uint64_t prot = mm__vma_prot(m, v->flags);
	uint64_t keep = MM_PTE_PFN_MASK | MM_PTE_ACCESSED | MM_PTE_DIRTY;

	uint64_t *pte;
	for (uint64_t va = start; (pte = mm__next_pte(m, mm, &va, end));
	     va += MM_PAGE_SIZE) {
		if (!mm__pte_present(*pte))
			continue;
		uint64_t e = (*pte & keep) | prot;
		uint32_t pfn = mm__pte_pfn(e);
		if ((v->flags & MM_VM_WRITE) && (prot & MM_PTE_PRESENT) &&
		    pfn != m->zero_pfn &&
		    ((v->flags & MM_VM_SHARED) ?
		     !mm__file_is_reg(v->file) || (e & MM_PTE_DIRTY) :
		     mm_page_test(&m->pages[pfn], MM_PG_anon_exclusive)))
			e |= MM_PTE_RW;
		*pte = e;
	}
}

/* mlock_vma_pages_range(): the pages mapped in [start, end) gain (lock) or
 * lose one VM_LOCKED mapping; the zero page is no one's. */
void mm__mlock_pages(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		     uint64_t end, bool lock)
{
	uint64_t *pte;
	for (uint64_t va = start; (pte = mm__next_pte(m, mm, &va, end));
	     va += MM_PAGE_SIZE) {
		if (!mm__pte_present(*pte) || mm__pte_pfn(*pte) == m->zero_pfn)
			continue;
		if (lock)
			mm__mlock_page(m, mm__pte_pfn(*pte));
		else
			mm__munlock_page(m, mm__pte_pfn(*pte));
	}
}

/* ---- read-only walks (procfs) ------------------------------------------- */

static void mm__walk_level(const struct mm_machine *m, uint32_t table,
			   int level, uint64_t base, uint64_t start,
			   uint64_t end, mm__pte_fn fn, void *arg,
			   uint64_t *tables, bool swap)
{
	uint64_t span = mm__level_span(m, level);
	const uint64_t *e = mm__ptable_entries(m, table);
	uint32_t first, last;

	mm__level_range(m, level, base, start, end, &first, &last);
	for (uint32_t i = first; i < last; i++) {
		uint64_t lo = base + span * i;
		if (level == 1) {
			if (fn && (swap ? mm__pte_is_swap(e[i])
					: mm__pte_present(e[i])))
				fn(m, lo, e[i], arg);
		} else if (e[i] & MM_PTE_PRESENT) {
			if (tables)
				(*tables)++;
			mm__walk_level(m, mm__entry_table(e[i]), level - 1, lo,
				       start, end, fn, arg, tables, swap);
		}
	}
}

void mm__walk_ptes(const struct mm_machine *m, const struct mm_mm *mm,
		   uint64_t start, uint64_t end, mm__pte_fn fn, void *arg)
{
	if (mm->pgd != MM_NIL && start < end)
		mm__walk_level(m, mm->pgd, mm__pt_levels(m), 0, start, end, fn,
			       arg, NULL, false);
}

void mm__walk_swap_ptes(const struct mm_machine *m, const struct mm_mm *mm,
			uint64_t start, uint64_t end, mm__pte_fn fn, void *arg)
{
	if (mm->pgd != MM_NIL && start < end)
		mm__walk_level(m, mm->pgd, mm__pt_levels(m), 0, start, end, fn,
			       arg, NULL, true);
}

uint64_t mm__nr_ptables(const struct mm_machine *m, const struct mm_mm *mm)
{
	uint64_t n = 0;

	if (mm->pgd != MM_NIL)
		mm__walk_level(m, mm->pgd, mm__pt_levels(m), 0, 0, UINT64_MAX,
			       NULL, NULL, &n, false);
	return n;
}

int mm_pagetable_walk(const struct mm_machine *m, int pid, uint64_t addr,
		      struct mm_translation *t)
{
	const struct mm_task *task = mm_task_get(m, pid);
	uint64_t leaf = 0;

	memset(t, 0, sizeof(*t));
	t->kind = "user";
	t->pfn = MM_NIL;
	if (!task)
		return -MM_ESRCH;
	const struct mm_mm *mm = &m->mms[task->mm];
	if (mm->pgd == MM_NIL)
		return 0;
	int rc = mm__pt_lookup(m, mm->pgd, addr, t->walk, &t->nr_steps, &leaf);
	if (!rc && mm__pte_is_swap(leaf)) {
		t->kind = "swap";
		t->swapped = true;
		t->swap_type = mm__pte_swp_type(m, leaf);
		t->swap_offset = mm__pte_swp_offset(m, leaf);
		return 0;
	}
	if (rc || !mm__pte_present(leaf))
		return 0;
	t->pfn = mm__pte_pfn(leaf);
	t->phys = ((uint64_t)t->pfn << MM_PAGE_SHIFT) | (addr & (MM_PAGE_SIZE - 1));
	t->mapped = (leaf & MM_PTE_PRESENT) != 0;
	return 0;
}
