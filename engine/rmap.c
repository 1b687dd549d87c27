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
 *    at vma->start + (index - vma->pgoff) pages;
 *  - a page-cache page (file or shmem) names its file: every VMA of that
 *    file (the i_mmap, found by a scan of the VMAs) covering its index.
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

int mm_rmap_walk(const struct mm_machine *m, uint32_t pfn,
		 struct mm_rmap_entry *out, int max)
{
	if (pfn >= m->nr_pfns || pfn == m->zero_pfn)
		return 0;
	const struct mm_page *p = &m->pages[pfn];
	bool cache = mm__file_is_reg(p->mapping) || mm__file_is_shmem(p->mapping);
	bool anon = !cache && mm_page_test(p, MM_PG_swapbacked);
	int n = 0;

	if (!p->mapcount || (!cache && !anon))
		return 0;
	for (uint32_t i = 0; i < m->nr_vmas; i++) {
		const struct mm_vma *v = &m->vmas[i];
		if (!v->end)
			continue;
		if (cache ? v->file != p->mapping
			  : !mm__anon_chain_has(m, v->anon_vma, p->mapping))
			continue;
		uint64_t pages = (v->end - v->start) >> MM_PAGE_SHIFT;
		if (p->index < v->pgoff || p->index >= v->pgoff + pages)
			continue;
		uint64_t va = v->start + ((p->index - v->pgoff) << MM_PAGE_SHIFT);
		const struct mm_mm *mm = &m->mms[v->mm];
		struct mm_walk_step steps[MM_MAX_LEVELS];
		int nsteps;
		uint64_t e = 0;
		if (mm->pgd == MM_NIL ||
		    mm__pt_lookup(m, mm->pgd, va, steps, &nsteps, &e) ||
		    !(e & (MM_PTE_PRESENT | MM_PTE_PROTNONE)) ||
		    ((e & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT) != pfn)
			continue;
		if (n < max)
			out[n] = (struct mm_rmap_entry){v->mm, mm__mm_pid(m, v->mm),
							va, e};
		n++;
	}
	return n;
}

void mm__mkclean(struct mm_machine *m, uint32_t pfn)
{
	/* The PTEs change, not which ones map the page: one walk. */
	int n = mm_rmap_walk(m, pfn, NULL, 0);
	struct mm_rmap_entry one, *e = n > 1 ? malloc((size_t)n * sizeof(*e)) : &one;

	if (!e) { /* no host memory for the list: one mapper at a time */
		e = &one;
		n = 1;
	}
	for (int k = 0, got = mm_rmap_walk(m, pfn, e, n); k < got && k < n; k++) {
		uint64_t *pte;
		if (mm__pt_walk(m, m->mms[e[k].mm].pgd, e[k].vaddr, false, 0, &pte,
				NULL, NULL))
			continue;
		if (*pte & MM_PTE_DIRTY)
			mm__page_set_dirty(m, pfn);
		*pte &= ~(MM_PTE_DIRTY | MM_PTE_RW);
	}
	if (e != &one)
		free(e);
}

void mm__try_to_unmap(struct mm_machine *m, uint32_t pfn, int cpu)
{
	struct mm_rmap_entry e;

	/* one mapping at a time: each unmap changes what the walk finds */
	while (m->pages[pfn].mapcount && mm_rmap_walk(m, pfn, &e, 1)) {
		mm__unmap_one(m, &m->mms[e.mm], e.vaddr, cpu);
	}
}
