/*
 * vmalloc.c — the kernel's virtual areas: vmalloc/vfree, kmap/kunmap of
 * i386 HighMem frames, and kernel address translation.
 *
 * vmalloc (after mm/vmalloc.c): the size is rounded up to pages and one
 * unmapped guard page is added; the area takes the lowest free address
 * range in [VMALLOC_START, VMALLOC_END) that fits (alloc_vmap_area()'s
 * lowest match); each page is an order-0 allocation (GFP_KERNEL |
 * __GFP_HIGHMEM, so i386 prefers HighMem) mapped by a PTE of the kernel page
 * table (PAGE_KERNEL: present, rw, accessed, dirty, global, nx), whose
 * missing tables are allocated on the way.  vfree unmaps and frees the
 * pages; the tables stay, as in Linux.  Freed address ranges are reusable
 * at once (Linux purges lazily; documented difference).
 *
 * kmap (after mm/highmem.c): lowmem frames are in the direct map; a HighMem
 * frame gets one of LAST_PKMAP slots at PKMAP_BASE, searched from the last
 * slot used; pkmap_count[] is 0 (free), 1 (mapped, unused) or 1 + users;
 * when the search wraps, slots with count 1 are unmapped and reused
 * (flush_all_zero_pkmaps()).
 */
#include "engine/internal.h"

#include <stdlib.h>

#define MM_PAGE_KERNEL (MM_PTE_PRESENT | MM_PTE_RW | MM_PTE_ACCESSED | \
			MM_PTE_DIRTY | MM_PTE_GLOBAL)
#define MM_X86_64_VMALLOC_START 0xffffc90000000000ull
#define MM_X86_64_VMALLOC_END 0xffffe90000000000ull /* VMALLOC_END + 1 */
#define MM_I386_PKMAP_BASE 0xff800000ull
#define MM_I386_VMALLOC_OFFSET (8ull << 20)
#define MM_MAX_VM_AREAS 65536

static uint64_t mm__lowmem_pfns(const struct mm_machine *m)
{
	uint64_t n = m->nr_pfns;
	return m->cfg.arch == MM_ARCH_I386 && n > (896u << 8) ? 896u << 8 : n;
}

void mm_vmalloc_range(const struct mm_machine *m, uint64_t *start,
		      uint64_t *end)
{
	if (m->cfg.arch == MM_ARCH_I386) {
		/* high_memory + VMALLOC_OFFSET … PKMAP_BASE - 2 pages. */
		*start = mm_page_offset(m) +
			 (mm__lowmem_pfns(m) << MM_PAGE_SHIFT) +
			 MM_I386_VMALLOC_OFFSET;
		*end = MM_I386_PKMAP_BASE - 2 * MM_PAGE_SIZE;
	} else {
		*start = MM_X86_64_VMALLOC_START;
		*end = MM_X86_64_VMALLOC_END;
	}
}

static uint64_t mm__pte_flags(const struct mm_machine *m)
{
	return MM_PAGE_KERNEL | (m->cfg.arch == MM_ARCH_I386 ? 0 : MM_PTE_NX);
}

int mm__vmalloc_init(struct mm_machine *m)
{
	int rc = mm__ptable_attach(m, m->kernel_image_pfn);

	if (rc)
		return rc;
	m->kernel_pgd = m->kernel_image_pfn;
	m->pkmap_table = MM_NIL;
	if (m->cfg.arch != MM_ARCH_I386)
		return 0;
	/* permanent_kmaps_init(): the pkmap PTE table exists from boot. */
	uint64_t *pte;
	rc = mm__pt_walk(m, m->kernel_pgd, MM_I386_PKMAP_BASE, true, 0, &pte,
			 NULL, NULL);
	if (rc)
		return rc;
	uint64_t pde = mm__ptable_entries(m, m->kernel_pgd)
		[mm__pt_index(m, MM_I386_PKMAP_BASE, 2)];
	m->pkmap_table = (uint32_t)((pde & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
	return 0;
}

void mm__vmalloc_destroy(struct mm_machine *m)
{
	for (uint32_t i = 0; i < m->nr_vm_areas; i++)
		free(m->vm_areas[i].pages);
	free(m->vm_areas);
	for (uint32_t i = 0; i < m->nr_ptables; i++)
		free(m->ptables[i].e);
	free(m->ptables);
}

/* Lowest gap of `size` bytes; returns the insertion index or -1. */
static int mm__find_gap(const struct mm_machine *m, uint64_t size,
			uint64_t *addr)
{
	uint64_t start, end, at;

	mm_vmalloc_range(m, &start, &end);
	at = start;
	for (uint32_t i = 0; i <= m->nr_vm_areas; i++) {
		uint64_t limit = i < m->nr_vm_areas ? m->vm_areas[i].addr : end;
		if (limit >= at && limit - at >= size) {
			*addr = at;
			return (int)i;
		}
		if (i < m->nr_vm_areas)
			at = m->vm_areas[i].addr + m->vm_areas[i].size;
	}
	return -1;
}

static void mm__vunmap_free(struct mm_machine *m, struct mm_vm_area *a,
			    uint32_t nr, int cpu)
{
	for (uint32_t i = 0; i < nr; i++) {
		uint64_t *pte;
		uint64_t va = a->addr + (uint64_t)i * MM_PAGE_SIZE;
		if (mm__pt_walk(m, m->kernel_pgd, va, false, cpu, &pte, NULL,
				NULL) == 0)
			*pte = 0;
		mm__free_pages(m, a->pages[i], 0, cpu);
	}
}

int mm_vmalloc(struct mm_machine *m, uint64_t size, int cpu, uint64_t *addr)
{
	if (cpu < 0 || cpu >= m->cfg.cpus || size == 0)
		return -MM_EINVAL;
	uint64_t pages = (size + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	if (pages > m->totalram_pages)
		return -MM_ENOMEM;
	if (m->nr_vm_areas == MM_MAX_VM_AREAS)
		return -MM_ENOMEM;
	struct mm_vm_area a = {0, (pages + 1) << MM_PAGE_SHIFT, (uint32_t)pages,
			       NULL};
	int at = mm__find_gap(m, a.size, &a.addr);
	if (at < 0)
		return -MM_ENOMEM;
	a.pages = malloc(pages * sizeof(uint32_t));
	if (!a.pages)
		return -MM_ENOMEM;
	if (mm__grow((void **)&m->vm_areas, &m->cap_vm_areas, m->nr_vm_areas,
		     sizeof(*m->vm_areas)))
		goto err_free_array;
	uint32_t done = 0;
	for (; done < pages; done++) {
		struct mm_alloc_result r;
		uint64_t *pte;
		if (mm__alloc_pages(m, MM_GFP_KERNEL | MM___GFP_HIGHMEM, 0, cpu, -1,
				    &r))
			goto err_unmap;
		a.pages[done] = r.pfn;
		if (mm__pt_walk(m, m->kernel_pgd,
				a.addr + (uint64_t)done * MM_PAGE_SIZE, true, cpu,
				&pte, NULL, NULL)) {
			mm__free_pages(m, r.pfn, 0, cpu);
			goto err_unmap;
		}
		*pte = ((uint64_t)r.pfn << MM_PAGE_SHIFT) | mm__pte_flags(m);
	}
	memmove(&m->vm_areas[at + 1], &m->vm_areas[at],
		(m->nr_vm_areas - (uint32_t)at) * sizeof(a));
	m->vm_areas[at] = a;
	m->nr_vm_areas++;
	m->vmalloc_pages += pages;
	*addr = a.addr;
	return 0;

err_unmap:
	mm__vunmap_free(m, &a, done, cpu);
err_free_array:
	free(a.pages);
	return -MM_ENOMEM;
}

int mm_vfree(struct mm_machine *m, uint64_t addr, int cpu)
{
	if (cpu < 0 || cpu >= m->cfg.cpus)
		return -MM_EINVAL;
	if (addr == 0)
		return 0;
	for (uint32_t i = 0; i < m->nr_vm_areas; i++) {
		struct mm_vm_area *a = &m->vm_areas[i];
		if (a->addr != addr)
			continue;
		mm__vunmap_free(m, a, a->nr_pages, cpu);
		m->vmalloc_pages -= a->nr_pages;
		free(a->pages);
		memmove(a, a + 1, (m->nr_vm_areas - i - 1) * sizeof(*a));
		m->nr_vm_areas--;
		return 0;
	}
	return -MM_EINVAL;
}

static bool mm__is_highmem_pfn(const struct mm_machine *m, uint32_t pfn)
{
	return pfn >= mm__lowmem_pfns(m);
}

static uint64_t mm__pkmap_addr(uint32_t nr)
{
	return MM_I386_PKMAP_BASE + (uint64_t)nr * MM_PAGE_SIZE;
}

/* flush_all_zero_pkmaps(): unmap every slot nobody uses. */
static void mm__flush_zero_pkmaps(struct mm_machine *m)
{
	uint64_t *e = mm__ptable_entries(m, m->pkmap_table);

	for (uint32_t i = 0; i < MM_LAST_PKMAP; i++)
		if (m->pkmap_count[i] == 1) {
			m->pkmap_count[i] = 0;
			e[i] = 0;
		}
}

int mm_kmap(struct mm_machine *m, uint32_t pfn, uint64_t *addr)
{
	if (pfn >= m->nr_pfns || mm_page_test(&m->pages[pfn], MM_PG_hole))
		return -MM_EINVAL;
	if (!mm__is_highmem_pfn(m, pfn)) {
		*addr = mm_pfn_to_virt(m, pfn);
		return 0;
	}
	uint64_t *e = mm__ptable_entries(m, m->pkmap_table);
	/* Already mapped (page_address()): one more user. */
	for (uint32_t i = 0; i < MM_LAST_PKMAP; i++)
		if (m->pkmap_count[i] &&
		    ((e[i] & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT) == pfn) {
			m->pkmap_count[i]++;
			*addr = mm__pkmap_addr(i);
			return 0;
		}
	/* map_new_virtual(): next free slot, flushing on wrap-around. */
	for (uint32_t count = MM_LAST_PKMAP; count > 0; count--) {
		m->last_pkmap_nr = (m->last_pkmap_nr + 1) & (MM_LAST_PKMAP - 1);
		if (!m->last_pkmap_nr) {
			mm__flush_zero_pkmaps(m);
			count = MM_LAST_PKMAP;
		}
		if (!m->pkmap_count[m->last_pkmap_nr])
			goto found;
	}
	return -MM_EAGAIN; /* Linux sleeps here until a slot is released */
found:
	e[m->last_pkmap_nr] = ((uint64_t)pfn << MM_PAGE_SHIFT) | MM_PAGE_KERNEL;
	m->pkmap_count[m->last_pkmap_nr] = 2; /* mapped + one user */
	*addr = mm__pkmap_addr(m->last_pkmap_nr);
	return 0;
}

int mm_kunmap(struct mm_machine *m, uint64_t addr)
{
	uint64_t off = mm_page_offset(m);

	if (addr >= off && addr - off < mm__lowmem_pfns(m) << MM_PAGE_SHIFT)
		return 0; /* lowmem: kunmap() does nothing */
	if (m->cfg.arch != MM_ARCH_I386 || addr < MM_I386_PKMAP_BASE ||
	    addr >= mm__pkmap_addr(MM_LAST_PKMAP) || (addr & (MM_PAGE_SIZE - 1)))
		return -MM_EINVAL;
	uint32_t nr = (uint32_t)((addr - MM_I386_PKMAP_BASE) >> MM_PAGE_SHIFT);
	if (m->pkmap_count[nr] < 2)
		return -MM_EINVAL; /* not kmapped */
	m->pkmap_count[nr]--;
	return 0;
}

void mm_translate(const struct mm_machine *m, uint64_t addr,
		  struct mm_translation *t)
{
	uint64_t off = mm_page_offset(m), start, end, leaf;

	memset(t, 0, sizeof(*t));
	t->kind = "unmapped";
	t->pfn = MM_NIL;
	if (addr >= off && addr - off < mm__lowmem_pfns(m) << MM_PAGE_SHIFT) {
		t->kind = "direct-map";
		t->phys = addr - off;
		t->pfn = (uint32_t)(t->phys >> MM_PAGE_SHIFT);
		t->mapped = !mm_page_test(&m->pages[t->pfn], MM_PG_hole);
		return;
	}
	mm_vmalloc_range(m, &start, &end);
	bool pkmap = m->cfg.arch == MM_ARCH_I386 && addr >= MM_I386_PKMAP_BASE &&
		     addr < mm__pkmap_addr(MM_LAST_PKMAP);
	if (!pkmap && (addr < start || addr >= end))
		return;
	t->kind = pkmap ? "pkmap" : "vmalloc";
	if (mm__pt_lookup(m, m->kernel_pgd, addr, t->walk, &t->nr_steps, &leaf) ||
	    !(leaf & MM_PTE_PRESENT))
		return;
	t->mapped = true;
	t->pfn = (uint32_t)((leaf & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
	t->phys = (leaf & MM_PTE_PFN_MASK) | (addr & (MM_PAGE_SIZE - 1));
}

size_t mm_proc_vmallocinfo(const struct mm_machine *m, char *buf, size_t len)
{
	struct mm_buf b = {buf, len, 0};
	int width = m->cfg.arch == MM_ARCH_I386 ? 8 : 16;

	for (uint32_t i = 0; i < m->nr_vm_areas; i++) {
		const struct mm_vm_area *a = &m->vm_areas[i];
		uint32_t per_node[MM_MAX_NODES] = {0};
		mm__bprintf(&b, "0x%0*llx-0x%0*llx %7llu pages=%u vmalloc", width,
			    (unsigned long long)a->addr, width,
			    (unsigned long long)(a->addr + a->size),
			    (unsigned long long)a->size, a->nr_pages);
		for (uint32_t k = 0; k < a->nr_pages; k++)
			per_node[mm_page_zone(m, a->pages[k])->node]++;
		for (int n = 0; n < m->nr_nodes; n++)
			if (per_node[n])
				mm__bprintf(&b, " N%d=%u", n, per_node[n]);
		mm__bprintf(&b, "\n");
	}
	return mm__bfinish(&b);
}
