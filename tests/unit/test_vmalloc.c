/*
 * test_vmalloc.c — vmalloc areas with guard pages in the kernel page table,
 * kmap of i386 HighMem through the pkmap slots, and kernel address
 * translation (__pa/__va round trips across zones on both arches, walks for
 * vmalloc and pkmap addresses), with the checker's corruption cases.
 */
#include "tests/unit/util.h"

#include <stdlib.h>

static struct mm_machine *arch_machine(enum mm_arch arch, uint64_t mem)
{
	struct mm_config c = tu_config(arch, mem);
	return tu_machine(&c);
}

static int has_violation(const struct mm_machine *m, const char *name)
{
	struct mm_violation v[32];
	int n = mm_check(m, v, 32);
	for (int i = 0; i < n && i < 32; i++)
		if (strcmp(v[i].invariant, name) == 0)
			return 1;
	return 0;
}

TEST(vmalloc_layout_and_guard)
{
	struct mm_machine *m = arch_machine(MM_ARCH_X86_64, 256ull << 20);
	uint64_t start, end, a, b, c;
	mm_vmalloc_range(m, &start, &end);
	ASSERT_EQ_HEX(start, 0xffffc90000000000ull);
	uint64_t free0 = mm_nr_free_pages(m);

	ASSERT_EQ(mm_vmalloc(m, 1, 0, &a), 0);          /* 1 page + guard */
	ASSERT_EQ(mm_vmalloc(m, 3 * 4096, 0, &b), 0);   /* 3 pages + guard */
	ASSERT_EQ_HEX(a, start);
	ASSERT_EQ_HEX(b, start + 2 * 4096);
	struct mm_translation t;
	for (int i = 0; i < 3; i++) {
		mm_translate(m, b + (uint64_t)i * 4096 + 123, &t);
		ASSERT_EQ_STR(t.kind, "vmalloc");
		ASSERT(t.mapped);
		ASSERT_EQ(t.nr_steps, 4);
		ASSERT_EQ_HEX(t.phys & 0xfff, 123);
		/* PAGE_KERNEL: present, rw, accessed, dirty, global, nx. */
		uint64_t e = t.walk[3].entry;
		ASSERT_EQ_HEX(e & 0x1ff, 0x163);
		ASSERT(e >> 63);
	}
	mm_translate(m, b + 3 * 4096, &t);             /* the guard page */
	ASSERT(!t.mapped);
	ASSERT_EQ_STR(t.kind, "vmalloc");
	mm_translate(m, end + 4096, &t);
	ASSERT_EQ_STR(t.kind, "unmapped");

	/* 4 data pages plus the kernel tables created on the way (PUD, PMD,
	 * PTE: three frames). */
	char *mi = tu_render(m, mm_proc_meminfo);
	ASSERT_CONTAINS(mi, "VmallocUsed:          16 kB");
	ASSERT_CONTAINS(mi, "PageTables:           12 kB");
	free(mi);
	ASSERT_EQ_U64(free0 - mm_nr_free_pages(m) -
			      (uint64_t)m->nodes[0].zones[1].pcp[0].count, 7);

	/* The hole left by a is reused by the lowest-fit search. */
	ASSERT_EQ(mm_vfree(m, a, 0), 0);
	ASSERT_EQ(mm_vmalloc(m, 4096, 1, &c), 0);
	ASSERT_EQ_HEX(c, a);
	char *vi = tu_render(m, mm_proc_vmallocinfo);
	ASSERT_CONTAINS(vi, "0xffffc90000000000-0xffffc90000002000    8192 pages=1 vmalloc N0=1\n");
	ASSERT_CONTAINS(vi, "0xffffc90000002000-0xffffc90000006000   16384 pages=3 vmalloc N0=3\n");
	free(vi);
	tu_check(m, "after vmalloc");

	/* Errors leave the state alone. */
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(m, d0);
	ASSERT_EQ(mm_vfree(m, b + 4096, 0), -MM_EINVAL);
	ASSERT_EQ(mm_vmalloc(m, 0, 0, &a), -MM_EINVAL);
	ASSERT_EQ(mm_vmalloc(m, 1ull << 40, 0, &a), -MM_ENOMEM);
	ASSERT_EQ(mm_vfree(m, 0, 0), 0);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);

	ASSERT_EQ(mm_vfree(m, b, 0), 0);
	ASSERT_EQ(mm_vfree(m, c, 0), 0);
	mi = tu_render(m, mm_proc_meminfo);
	ASSERT_CONTAINS(mi, "VmallocUsed:           0 kB");
	ASSERT_CONTAINS(mi, "PageTables:           12 kB"); /* tables stay */
	free(mi);
	tu_check(m, "after vfree");
	mm_machine_destroy(m);
}

TEST(vmalloc_out_of_memory_leaves_nothing)
{
	struct mm_machine *m = arch_machine(MM_ARCH_X86_64, 16ull << 20);
	uint64_t a;
	mm_drain_all_pages(m);
	uint64_t free0 = mm_nr_free_pages(m);
	/* More than the free pages but less than totalram: pages run out
	 * part way and every page taken is given back. */
	ASSERT_EQ(mm_vmalloc(m, (free0 - 8) * 4096, 0, &a), -MM_ENOMEM);
	mm_drain_all_pages(m);
	tu_check(m, "after a failed vmalloc");
	ASSERT_EQ(m->nr_vm_areas, 0);
	/* Only the page-table frames made on the way stay (as in Linux). */
	ASSERT_EQ_U64(free0 - mm_nr_free_pages(m),
		      (uint64_t)m->nodes[0].vm_stat[MM_NR_PAGE_TABLE_PAGES]);
	mm_machine_destroy(m);
}

TEST(vmalloc_i386_prefers_highmem)
{
	struct mm_machine *m = arch_machine(MM_ARCH_I386, 1536ull << 20);
	uint64_t start, end, a;
	mm_vmalloc_range(m, &start, &end);
	/* high_memory (0xc0000000 + 896M) + 8M … PKMAP_BASE - 2 pages */
	ASSERT_EQ_HEX(start, 0xf8800000ull);
	ASSERT_EQ_HEX(end, 0xff7fe000ull);
	char *mi = tu_render(m, mm_proc_meminfo);
	ASSERT_CONTAINS(mi, "VmallocTotal:     114680 kB");
	free(mi);
	ASSERT_EQ(mm_vmalloc(m, 8192, 0, &a), 0);
	struct mm_translation t;
	mm_translate(m, a, &t);
	ASSERT(t.mapped);
	ASSERT_EQ(t.nr_steps, 2);
	ASSERT_GE(t.pfn, 896u << 8);           /* a HighMem frame */
	ASSERT_EQ_HEX(t.walk[1].entry & 0xfff, 0x163);
	tu_check(m, "after vmalloc");
	mm_machine_destroy(m);
}

/* __va(__pa(x)) == x for frames of every zone, both arches. */
TEST(translate_direct_map_round_trip)
{
	const struct {
		enum mm_arch arch;
		uint64_t mem, page_offset;
	} cases[] = {
		{MM_ARCH_X86_64, 6ull << 30, 0xffff888000000000ull},
		{MM_ARCH_I386, 3ull << 30, 0xc0000000ull},
	};
	for (size_t k = 0; k < 2; k++) {
		struct mm_machine *m = arch_machine(cases[k].arch, cases[k].mem);
		ASSERT_EQ_HEX(mm_page_offset(m), cases[k].page_offset);
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &m->nodes[0].zones[z];
			if (!mm_zone_populated(zone))
				continue;
			uint32_t pfns[] = {zone->start_pfn,
					   zone->start_pfn + zone->spanned / 2,
					   zone->start_pfn + zone->spanned - 1};
			for (int i = 0; i < 3; i++) {
				uint64_t va = 0;
				int rc = mm_kmap(m, pfns[i], &va);
				bool high = cases[k].arch == MM_ARCH_I386 &&
					    z == 2; /* HighMem */
				ASSERT_EQ(rc, 0);
				struct mm_translation t;
				mm_translate(m, va + 42, &t);
				ASSERT(t.mapped);
				ASSERT_EQ(t.pfn, pfns[i]);
				ASSERT_EQ_HEX(t.phys, ((uint64_t)pfns[i] << 12) + 42);
				if (!high) {
					ASSERT_EQ_STR(t.kind, "direct-map");
					ASSERT_EQ_HEX(va, mm_pfn_to_virt(m, pfns[i]));
				} else {
					ASSERT_EQ_STR(t.kind, "pkmap");
				}
				ASSERT_EQ(mm_kunmap(m, va), 0);
			}
		}
		tu_check(m, "after kmaps");
		mm_machine_destroy(m);
	}
}

TEST(kmap_pkmap_slots)
{
	struct mm_machine *m = arch_machine(MM_ARCH_I386, 2048ull << 20);
	uint32_t hi = 896u << 8;
	uint64_t a, b, c;

	ASSERT_EQ(mm_kmap(m, hi + 10, &a), 0);
	ASSERT_EQ_HEX(a, 0xff801000ull);     /* slot 1: searched from 0 + 1 */
	ASSERT_EQ(mm_kmap(m, hi + 10, &b), 0); /* same page: same slot */
	ASSERT_EQ_HEX(b, a);
	ASSERT_EQ(m->pkmap_count[1], 3);
	ASSERT_EQ(mm_kmap(m, hi + 11, &c), 0);
	ASSERT_EQ_HEX(c, 0xff802000ull);
	ASSERT_EQ(mm_kunmap(m, a), 0);
	ASSERT_EQ(mm_kunmap(m, a), 0);
	ASSERT_EQ(m->pkmap_count[1], 1);      /* mapped, unused */
	ASSERT_EQ(mm_kunmap(m, a), -MM_EINVAL);
	ASSERT_EQ(mm_kunmap(m, 0xff7f0000ull), -MM_EINVAL);
	ASSERT_EQ(mm_kunmap(m, mm_pfn_to_virt(m, 100)), 0); /* lowmem no-op */
	ASSERT_EQ(mm_kmap(m, 0, &a), -MM_EINVAL);           /* not RAM */
	ASSERT_EQ(mm_kmap(m, m->nr_pfns, &a), -MM_EINVAL);

	/* Fill every slot: slot 0 is never handed out before the first
	 * wrap; once all slots are busy kmap answers EAGAIN (Linux sleeps). */
	uint64_t addrs[MM_LAST_PKMAP];
	int got = 0;
	for (uint32_t i = 0; i < MM_LAST_PKMAP + 1; i++) {
		if (mm_kmap(m, hi + 100 + i, &addrs[got]) != 0)
			break;
		got++;
	}
	ASSERT_EQ(got, MM_LAST_PKMAP - 1);
	ASSERT_EQ(mm_kmap(m, hi + 5000, &a), -MM_EAGAIN);
	/* Releasing one makes its slot reusable at the next wrap. */
	ASSERT_EQ(mm_kunmap(m, addrs[7]), 0);
	ASSERT_EQ(mm_kmap(m, hi + 5000, &a), 0);
	ASSERT_EQ_HEX(a, addrs[7]);
	tu_check(m, "with all pkmap slots in use");

	/* Checker: a slot whose count and PTE disagree. */
	m->pkmap_count[(a - 0xff800000ull) >> 12] = 0;
	ASSERT(has_violation(m, "pkmap-count"));
	mm_machine_destroy(m);
}

TEST(check_vmalloc_and_pgtable_corruption)
{
	struct mm_machine *m = arch_machine(MM_ARCH_X86_64, 64ull << 20);
	uint64_t a;
	ASSERT_EQ(mm_vmalloc(m, 3 * 4096, 0, &a), 0);
	tu_check(m, "after vmalloc");

	/* vmalloc-area: unmap one page behind the area's back. */
	struct mm_translation t;
	mm_translate(m, a + 4096, &t);
	uint64_t *e = &m->ptables[m->pages[t.walk[3].table_pfn].index].e[t.walk[3].index];
	uint64_t saved = *e;
	*e = 0;
	ASSERT(has_violation(m, "vmalloc-area"));
	*e = saved;
	/* ... or map the guard page. */
	uint64_t *g = e + 2;
	*g = saved;
	ASSERT(has_violation(m, "vmalloc-area"));
	*g = 0;
	m->vmalloc_pages++;
	ASSERT(has_violation(m, "vmalloc-area"));
	m->vmalloc_pages--;
	tu_check(m, "restored");

	/* pgtable-frame: the counter, then a frame losing its flag. */
	m->nodes[0].vm_stat[MM_NR_PAGE_TABLE_PAGES]++;
	ASSERT(has_violation(m, "pgtable-frame"));
	m->nodes[0].vm_stat[MM_NR_PAGE_TABLE_PAGES]--;
	uint32_t pte_table = t.walk[3].table_pfn;
	m->pages[pte_table].flags &= ~(1u << MM_PG_pgtable);
	ASSERT(has_violation(m, "pgtable-frame"));
	m->pages[pte_table].flags |= 1u << MM_PG_pgtable;
	tu_check(m, "restored");

	/* The digest covers the kernel page table. */
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(m, d0);
	*e ^= MM_PTE_DIRTY;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	*e ^= MM_PTE_DIRTY;
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	mm_machine_destroy(m);
}
