/*
 * pgtable.c — page tables built from simulated frames (x86_64: 4 levels of
 * 512 entries; i386 without PAE: 2 levels of 1024).
 *
 * A table is a frame taken from the page allocator, flagged PG_pgtable and
 * counted in NR_PAGE_TABLE_PAGES (as pagetable_ctor() does); its entries
 * live in host memory in a record named by the frame's `index`.  Entries
 * use the x86 bit layout (present, rw, user, accessed, dirty, global, nx and
 * the frame number in bits 12..51).  The kernel's top table
 * (swapper_pg_dir) is a frame of the kernel image, like Linux's static one.
 */
#include "engine/internal.h"

#include <stdlib.h>

#define MM_KERNPG_TABLE (MM_PTE_PRESENT | MM_PTE_RW | MM_PTE_ACCESSED | \
			 MM_PTE_DIRTY)

int mm__pt_levels(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_I386 ? 2 : 4;
}

uint32_t mm__pt_entries(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_I386 ? 1024 : 512;
}

uint32_t mm__pt_index(const struct mm_machine *m, uint64_t va, int level)
{
	unsigned bits = m->cfg.arch == MM_ARCH_I386 ? 10 : 9;
	return (uint32_t)(va >> (MM_PAGE_SHIFT + bits * (unsigned)(level - 1))) &
	       (mm__pt_entries(m) - 1);
}

/* Gives frame pfn a zeroed entry record; returns 0 or -MM_ENOMEM. */
int mm__ptable_attach(struct mm_machine *m, uint32_t pfn)
{
	uint32_t id;

	if (m->free_ptables != MM_NIL) {
		id = m->free_ptables;
		m->free_ptables = m->ptables[id].next_free;
	} else {
		if (mm__grow((void **)&m->ptables, &m->cap_ptables, m->nr_ptables,
			     sizeof(*m->ptables)))
			return -MM_ENOMEM;
		id = m->nr_ptables++;
	}
	struct mm_ptable *t = &m->ptables[id];
	t->e = calloc(mm__pt_entries(m), sizeof(uint64_t));
	if (!t->e) {
		t->pfn = MM_NIL;
		t->next_free = m->free_ptables;
		m->free_ptables = id;
		return -MM_ENOMEM;
	}
	t->pfn = pfn;
	t->next_free = MM_NIL;
	m->pages[pfn].index = id;
	return 0;
}

static void mm__ptable_detach(struct mm_machine *m, uint32_t pfn)
{
	uint32_t id = m->pages[pfn].index;
	struct mm_ptable *t = &m->ptables[id];

	free(t->e);
	t->e = NULL;
	t->pfn = MM_NIL;
	t->next_free = m->free_ptables;
	m->free_ptables = id;
	m->pages[pfn].index = 0;
}

uint64_t *mm__ptable_entries(const struct mm_machine *m, uint32_t pfn)
{
	return m->ptables[m->pages[pfn].index].e;
}

/* A new, empty table frame (GFP_PGTABLE_KERNEL/USER: zeroed, unmovable). */
int mm__ptable_new(struct mm_machine *m, int cpu, uint32_t *pfn)
{
	struct mm_alloc_result r;
	int rc = mm__alloc_pages(m, MM_GFP_KERNEL | MM___GFP_ZERO, 0, cpu, -1, &r);

	if (rc)
		return rc;
	rc = mm__ptable_attach(m, r.pfn);
	if (rc) {
		mm__free_pages(m, r.pfn, 0, cpu);
		return rc;
	}
	mm__set(&m->pages[r.pfn], MM_PG_pgtable);
	m->nodes[r.node].vm_stat[MM_NR_PAGE_TABLE_PAGES]++;
	*pfn = r.pfn;
	return 0;
}

void mm__ptable_free(struct mm_machine *m, uint32_t pfn, int cpu)
{
	int node = mm_page_zone(m, pfn)->node;

	mm__ptable_detach(m, pfn);
	mm__clear(&m->pages[pfn], MM_PG_pgtable);
	m->nodes[node].vm_stat[MM_NR_PAGE_TABLE_PAGES]--;
	mm__free_pages(m, pfn, 0, cpu);
}

int mm__pt_walk(struct mm_machine *m, uint32_t root, uint64_t va, bool create,
		int cpu, uint64_t **pte, struct mm_walk_step *steps, int *nsteps)
{
	uint32_t table = root;
	int n = 0;
	/* the geometry once, not per level: this is every fault's path */
	bool i386 = m->cfg.arch == MM_ARCH_I386;
	unsigned bits = i386 ? 10 : 9;
	uint32_t mask = (1u << bits) - 1;

	for (int level = i386 ? 2 : 4; level >= 1; level--) {
		uint32_t idx = (uint32_t)(va >> (MM_PAGE_SHIFT +
						  bits * (unsigned)(level - 1))) &
			       mask;
		uint64_t *e = &m->ptables[m->pages[table].index].e[idx];
		if (steps)
			steps[n] = (struct mm_walk_step){level, table, idx, *e};
		n++;
		if (level == 1) {
			*pte = e;
			break;
		}
		if (!(*e & MM_PTE_PRESENT)) {
			uint32_t pfn;
			if (!create) {
				if (nsteps)
					*nsteps = n;
				return -MM_EFAULT;
			}
			int rc = mm__ptable_new(m, cpu, &pfn);
			if (rc)
				return rc;
			/* The allocation may have moved nothing, but re-read the
			 * entry pointer: tables are stable host arrays. */
			e = &mm__ptable_entries(m, table)[idx];
			*e = ((uint64_t)pfn << MM_PAGE_SHIFT) | MM_KERNPG_TABLE;
			if (steps)
				steps[n - 1].entry = *e;
		}
		table = (uint32_t)((*e & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
	}
	if (nsteps)
		*nsteps = n;
	return 0;
}

/* Read-only walk (const machine): the steps taken and the leaf entry. */
int mm__pt_lookup(const struct mm_machine *m, uint32_t root, uint64_t va,
		  struct mm_walk_step *steps, int *nsteps, uint64_t *leaf)
{
	uint64_t *pte;
	int rc = mm__pt_walk((struct mm_machine *)m, root, va, false, 0, &pte,
			     steps, nsteps);

	if (rc)
		return rc;
	*leaf = *pte;
	return 0;
}
