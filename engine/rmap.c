/*
 * rmap.c — reverse mapping (Linux 6.18 mm/rmap.c: rmap_walk_anon,
 * rmap_walk_file, try_to_unmap).
 *
 * From a frame to the PTEs that map it, without scanning page tables:
 *  - an anonymous page names the anon_vma it was faulted under (mapping).
 *    A VMA's anon_vma chain is its own anon_vma plus, for a fork child's
 *    VMA, the chain of the parent VMA it was copied from (anon_vma_fork):
 *    m->anon_parent[id] links each anon_vma to the one it was chained to.
 *    The page may be mapped by every VMA whose chain holds its anon_vma,
 *    at vma->start + (index - vma->pgoff) pages (index is 32 bits wide:
 *    the difference is taken modulo 2^32);
 *  - a page-cache page (file or shmem) names its file: the VMAs of the
 *    file's i_mmap interval tree (i_mmap.c) covering its index, in the
 *    tree's order, which is Linux's (rmap_walk_file).
 * A candidate address counts when its PTE is present and maps the frame.
 * The checker's "rmap" invariant: the walk finds exactly mapcount PTEs.
 */
#include "engine/internal.h"

#include <stdlib.h>

uint32_t mm__anon_vma_new(struct mm_machine *m, uint32_t parent)
{
	uint32_t id = ++m->nr_anon_vmas;

	if (id >= m->cap_anon_parent) {
		uint32_t cap = MM_MAX(64u, m->cap_anon_parent * 2);
		while (cap <= id)
			cap *= 2;
		uint32_t *n = realloc(m->anon_parent, cap * sizeof(*n));
		/* Without host memory the chain is unknown: a root anon_vma
		 * (the checker then names the pages a fork child shares). */
		if (!n)
			return id;
		memset(n + m->cap_anon_parent, 0,
		       (cap - m->cap_anon_parent) * sizeof(*n));
		m->anon_parent = n;
		m->cap_anon_parent = cap;
	}
	m->anon_parent[id] = parent;
	return id;
}

/* Does the chain of anon_vma av hold target? */
static bool mm__anon_chain_has(const struct mm_machine *m, uint32_t av,
			       uint32_t target)
{
	for (uint32_t n = 0; av && n <= m->nr_anon_vmas; n++) {
		if (av == target)
			return true;
		av = av < m->cap_anon_parent ? m->anon_parent[av] : 0;
	}
	return false;
}

static int mm__mm_pid(const struct mm_machine *m, uint32_t mm)
{
	for (uint32_t i = 0; m->tasks && i < MM_MAX_TASKS; i++)
		if (m->tasks[i].pid && m->tasks[i].state == MM_TASK_RUNNING &&
		    m->tasks[i].mm == mm)
			return m->tasks[i].pid;
	return 0;
}

/* One candidate: v may map pfn at page off of v; counts (and calls fn)
 * when that PTE is present and maps pfn. */
static int mm__rmap_one(const struct mm_machine *m, const struct mm_vma *v,
			uint64_t off, uint32_t pfn, mm__rmap_fn fn, void *arg)
{
	uint64_t va = v->start + (off << MM_PAGE_SHIFT);
	const struct mm_mm *mm = &m->mms[v->mm];
	struct mm_walk_step steps[MM_MAX_LEVELS];
	int nsteps;
	uint64_t e = 0;

	if (mm->pgd == MM_NIL ||
	    mm__pt_lookup(m, mm->pgd, va, steps, &nsteps, &e) ||
	    !(e & (MM_PTE_PRESENT | MM_PTE_PROTNONE)) ||
	    ((e & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT) != pfn)
		return 0;
	if (fn) /* the walk only reads; fn is the caller's writer */
		fn((struct mm_machine *)m, v->mm, va, e, arg);
	return 1;
}

/* rmap_walk_file(): the VMAs of the page's i_mmap covering its index,
 * in tree order (vma_interval_tree_foreach over [index, index]). */
static int mm__rmap_file(const struct mm_machine *m, uint32_t pfn,
			 mm__rmap_fn fn, void *arg)
{
	const struct mm_page *p = &m->pages[pfn];
	const uint32_t *root = mm__i_mmap_root(m, p->mapping);
	uint64_t idx = p->index;
	int n = 0;

	if (!root)
		return 0;
	for (uint32_t id = mm__i_mmap_first(m, *root, idx, idx); id != MM_NIL;
	     id = mm__i_mmap_next(m, id, idx, idx))
		n += mm__rmap_one(m, &m->vmas[id], idx - m->vmas[id].pgoff, pfn,
				  fn, arg);
	return n;
}

int mm__rmap_each(const struct mm_machine *m, uint32_t pfn, mm__rmap_fn fn,
		  void *arg)
{
	if (pfn >= m->nr_pfns || pfn == m->zero_pfn)
		return 0;
	const struct mm_page *p = &m->pages[pfn];
	bool cache = mm__file_is_reg(p->mapping) || mm__file_is_shmem(p->mapping);
	bool anon = !cache && mm_page_test(p, MM_PG_swapbacked);
	int n = 0;

	if (!p->mapcount || (!cache && !anon))
		return 0;
	if (cache)
		return mm__rmap_file(m, pfn, fn, arg);
	for (uint32_t i = 0; i < m->nr_vmas; i++) {
		const struct mm_vma *v = &m->vmas[i];
		if (!v->end || !mm__anon_chain_has(m, v->anon_vma, p->mapping))
			continue;
		/* index holds the low 32 bits of an anonymous page's linear
		 * index (start >> 12 passes 2^32 above 16 TiB): the offset in
		 * the VMA is known modulo 2^32, so a VMA of more than 2^32
		 * pages (a brk heap grown across 16 TiB) has one candidate
		 * per 2^32 pages; only the PTE that maps pfn counts */
		uint64_t pages = (v->end - v->start) >> MM_PAGE_SHIFT;
		for (uint64_t off = (uint32_t)(p->index - (uint32_t)v->pgoff);
		     off < pages; off += 1ull << 32)
			n += mm__rmap_one(m, v, off, pfn, fn, arg);
	}
	return n;
}

struct mm__rmap_list {
	struct mm_rmap_entry *out;
	int max, n;
};

static void mm__rmap_collect(struct mm_machine *m, uint32_t mm, uint64_t va,
			     uint64_t pte, void *arg)
{
	struct mm__rmap_list *l = arg;

	if (l->n < l->max)
		l->out[l->n] = (struct mm_rmap_entry){mm, mm__mm_pid(m, mm), va, pte};
	l->n++;
}

int mm_rmap_walk(const struct mm_machine *m, uint32_t pfn,
		 struct mm_rmap_entry *out, int max)
{
	struct mm__rmap_list l = {out, max, 0};

	return mm__rmap_each(m, pfn, out && max > 0 ? mm__rmap_collect : NULL, &l);
}

static void mm__mkclean_one(struct mm_machine *m, uint32_t mm, uint64_t va,
			    uint64_t e, void *arg)
{
	uint64_t *pte;
	uint32_t pfn = *(uint32_t *)arg;

	(void)e;
	if (mm__pt_walk(m, m->mms[mm].pgd, va, false, 0, &pte, NULL, NULL))
		return;
	if (*pte & MM_PTE_DIRTY)
		mm__page_set_dirty(m, pfn);
	*pte &= ~(MM_PTE_DIRTY | MM_PTE_RW);
}

void mm__mkclean(struct mm_machine *m, uint32_t pfn)
{
	mm__rmap_each(m, pfn, mm__mkclean_one, &pfn);
}

struct mm__unmap_ctx {
	int cpu;
};

static void mm__unmap_one_cb(struct mm_machine *m, uint32_t mm, uint64_t va,
			     uint64_t e, void *arg)
{
	(void)e;
	mm__try_to_unmap_one(m, &m->mms[mm], va,
			     ((struct mm__unmap_ctx *)arg)->cpu);
}

void mm__try_to_unmap(struct mm_machine *m, uint32_t pfn, int cpu)
{
	struct mm__unmap_ctx x = {cpu};

	/* a page-cache page survives its unmaps (the cache holds it), so
	 * does an anonymous page in the swap cache (its PTEs become swap
	 * entries); any other anonymous page would be freed with its last
	 * PTE: callers unmap only what stays allocated */
	mm__rmap_each(m, pfn, mm__unmap_one_cb, &x);
}
