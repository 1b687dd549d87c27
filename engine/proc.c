/*
 * proc.c — /proc renders in the reference kernel's exact formats (6.18; the
 * format strings follow mm/vmstat.c and fs/proc/meminfo.c, golden copies of
 * the host's files are in tests/golden/host/).  Each render writes into the
 * caller's buffer and returns the length the whole text needs.
 */
#include "engine/internal.h"

#define MM__NAME(e, name) name,
#define MM__NAMEZ(e, name) name,
static const char *const mm_zone_stat_names[] = {MM_ZONE_STAT_ITEMS(MM__NAME)};
static const char *const mm_node_stat_names[] = {MM_NODE_STAT_ITEMS(MM__NAME)};
static const char *const mm_vm_stat_names[] = {MM_VM_STAT_ITEMS(MM__NAME)};
#undef MM__NAME
#undef MM__NAMEZ
static const char *const mm_numa_stat_names[] = {
	"numa_hit", "numa_miss", "numa_foreign", "numa_interleave",
	"numa_local", "numa_other",
};

/* NUMA counters exist on x86_64 (CONFIG_NUMA); i386 kernels are UMA. */
static bool mm__numa(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_X86_64;
}

/*
 * Node stats that exist only with CONFIG_NUMA_BALANCING (which needs
 * CONFIG_NUMA, impossible on a non-PAE i386 kernel): pgpromote_*.
 */
static bool mm__node_stat_shown(const struct mm_machine *m, int item)
{
	return mm__numa(m) || item < MM_PGPROMOTE_SUCCESS ||
	       item > MM_PGPROMOTE_CANDIDATE_NRL;
}

/* Events under CONFIG_NUMA (zone_reclaim_*) and CONFIG_NUMA_BALANCING
 * (numa_pte_updates … numa_pages_migrated). */
static bool mm__event_shown(const struct mm_machine *m, int e)
{
	return mm__numa(m) ||
	       !((e >= MM_ZONE_RECLAIM_SUCCESS && e <= MM_ZONE_RECLAIM_FAILED) ||
		 (e >= MM_NUMA_PTE_UPDATES && e <= MM_NUMA_PAGES_MIGRATED));
}

size_t mm_proc_buddyinfo(const struct mm_machine *m, char *buf, size_t len)
{
	struct mm_buf b = {buf, len, 0};

	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &m->nodes[n].zones[z];
			if (!mm_zone_populated(zone))
				continue;
			mm__bprintf(&b, "Node %d, zone %8s ", n, zone->name);
			for (int o = 0; o < MM_NR_ORDERS; o++)
				mm__bprintf(&b, "%6lu ",
					    (unsigned long)zone->free_area[o].nr_free);
			mm__bprintf(&b, "\n");
		}
	return mm__bfinish(&b);
}

size_t mm_proc_pagetypeinfo(const struct mm_machine *m, char *buf, size_t len)
{
	struct mm_buf b = {buf, len, 0};

	for (int n = 0; n < m->nr_nodes; n++) {
		const struct mm_node *node = &m->nodes[n];
		if (!node->present)
			continue;
		mm__bprintf(&b, "Page block order: %d\n", m->pageblock_order);
		mm__bprintf(&b, "Pages per block:  %lu\n",
			    (unsigned long)mm__pageblock_nr(m));
		mm__bprintf(&b, "\n");
		mm__bprintf(&b, "%-43s ", "Free pages count per migrate type at order");
		for (int o = 0; o < MM_NR_ORDERS; o++)
			mm__bprintf(&b, "%6d ", o);
		mm__bprintf(&b, "\n");
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &node->zones[z];
			if (!mm_zone_populated(zone))
				continue;
			for (int t = 0; t < MM_MIGRATE_TYPES; t++) {
				mm__bprintf(&b, "Node %4d, zone %8s, type %12s ", n,
					    zone->name, mm_migratetype_names[t]);
				for (int o = 0; o < MM_NR_ORDERS; o++) {
					uint32_t c = zone->free_area[o].free_list[t].count;
					mm__bprintf(&b, "%s%6lu ", c >= 100000 ? ">" : "",
						    (unsigned long)(c >= 100000 ? 100000 : c));
				}
				mm__bprintf(&b, "\n");
			}
		}
		mm__bprintf(&b, "\n%-23s", "Number of blocks type ");
		for (int t = 0; t < MM_MIGRATE_TYPES; t++)
			mm__bprintf(&b, "%12s ", mm_migratetype_names[t]);
		mm__bprintf(&b, "\n");
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &node->zones[z];
			if (!mm_zone_populated(zone))
				continue;
			unsigned long count[MM_MIGRATE_TYPES] = {0};
			uint32_t end = zone->start_pfn + zone->spanned;
			for (uint32_t pfn = zone->start_pfn; pfn < end;
			     pfn += mm__pageblock_nr(m))
				count[mm_pageblock_migratetype(m, pfn)]++;
			mm__bprintf(&b, "Node %d, zone %8s ", n, zone->name);
			for (int t = 0; t < MM_MIGRATE_TYPES; t++)
				mm__bprintf(&b, "%12lu ", count[t]);
			mm__bprintf(&b, "\n");
		}
	}
	return mm__bfinish(&b);
}

/* calculate_normal_threshold(): the per-cpu vmstat fold threshold. */
static int mm__stat_threshold(const struct mm_machine *m,
			      const struct mm_zone *z)
{
	uint64_t mem = z->managed >> (27 - MM_PAGE_SHIFT);
	int fls_cpus = 32 - __builtin_clz((unsigned)m->cfg.cpus);
	int fls_mem = mem ? 64 - __builtin_clzll(mem) : 0;
	int t = 2 * fls_cpus * (1 + fls_mem);

	return t < 125 ? t : 125;
}

static void mm__zoneinfo_zone(const struct mm_machine *m, struct mm_buf *b,
			      const struct mm_node *node, const struct mm_zone *z)
{
	mm__bprintf(b, "Node %d, zone %8s", node->id, z->name);
	bool first_populated = mm_zone_populated(z);
	for (int i = 0; i < z->idx; i++)
		if (mm_zone_populated(&node->zones[i]))
			first_populated = false;
	if (first_populated) {
		mm__bprintf(b, "\n  per-node stats");
		for (int i = 0; i < MM_NR_NODE_STAT; i++)
			if (mm__node_stat_shown(m, i))
				mm__bprintf(b, "\n      %-12s %lu",
					    mm_node_stat_names[i],
					    (unsigned long)node->vm_stat[i]);
	}
	mm__bprintf(b,
		    "\n  pages free     %lu"
		    "\n        boost    %lu"
		    "\n        min      %lu"
		    "\n        low      %lu"
		    "\n        high     %lu"
		    "\n        promo    %lu"
		    "\n        spanned  %lu"
		    "\n        present  %lu"
		    "\n        managed  %lu"
		    "\n        cma      %lu",
		    (unsigned long)z->vm_stat[MM_NR_FREE_PAGES],
		    (unsigned long)z->watermark_boost,
		    (unsigned long)mm_wmark_pages(z, MM_WMARK_MIN),
		    (unsigned long)mm_wmark_pages(z, MM_WMARK_LOW),
		    (unsigned long)mm_wmark_pages(z, MM_WMARK_HIGH),
		    (unsigned long)mm_wmark_pages(z, MM_WMARK_PROMO),
		    (unsigned long)z->spanned, (unsigned long)z->present,
		    (unsigned long)z->managed, 0ul);
	mm__bprintf(b, "\n        protection: (%ld", (long)z->lowmem_reserve[0]);
	for (int i = 1; i < m->nr_zone_types; i++)
		mm__bprintf(b, ", %ld", (long)z->lowmem_reserve[i]);
	mm__bprintf(b, ")");
	if (!mm_zone_populated(z)) {
		mm__bprintf(b, "\n");
		return;
	}
	for (int i = 0; i < MM_NR_ZONE_STAT; i++)
		mm__bprintf(b, "\n      %-12s %lu", mm_zone_stat_names[i],
			    (unsigned long)z->vm_stat[i]);
	if (mm__numa(m))
		for (int i = 0; i < 6; i++)
			mm__bprintf(b, "\n      %-12s %lu", mm_numa_stat_names[i],
				    (unsigned long)z->numa[i]);
	mm__bprintf(b, "\n  pagesets");
	for (int c = 0; c < m->cfg.cpus; c++) {
		const struct mm_pcp *p = &z->pcp[c];
		mm__bprintf(b,
			    "\n    cpu: %i"
			    "\n              count:    %i"
			    "\n              high:     %i"
			    "\n              batch:    %i"
			    "\n              high_min: %i"
			    "\n              high_max: %i",
			    c, p->count, p->high, p->batch, p->high_min,
			    p->high_max);
		mm__bprintf(b, "\n  vm stats threshold: %d",
			    mm__stat_threshold(m, z));
	}
	mm__bprintf(b,
		    "\n  node_unreclaimable:  %u"
		    "\n  start_pfn:           %lu",
		    0u, (unsigned long)z->start_pfn);
	mm__bprintf(b, "\n");
}

size_t mm_proc_zoneinfo(const struct mm_machine *m, char *buf, size_t len)
{
	struct mm_buf b = {buf, len, 0};

	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			mm__zoneinfo_zone(m, &b, &m->nodes[n], &m->nodes[n].zones[z]);
	return mm__bfinish(&b);
}

static const char *mm__zone_event_suffix(const struct mm_machine *m, int z)
{
	static const char *const x86_64[] = {"dma", "dma32", "normal", "movable",
					     "device"};
	static const char *const i386[] = {"dma", "normal", "high", "movable"};
	return m->cfg.arch == MM_ARCH_I386 ? i386[z] : x86_64[z];
}

static int64_t mm__node_stat_sum(const struct mm_machine *m, int item)
{
	int64_t sum = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		sum += m->nodes[n].vm_stat[item];
	return sum;
}

static int64_t mm__zone_stat_sum(const struct mm_machine *m, int item)
{
	int64_t sum = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			sum += m->nodes[n].zones[z].vm_stat[item];
	return sum;
}

size_t mm_proc_vmstat(const struct mm_machine *m, char *buf, size_t len)
{
	struct mm_buf b = {buf, len, 0};

	for (int i = 0; i < MM_NR_ZONE_STAT; i++)
		mm__bprintf(&b, "%s %ld\n", mm_zone_stat_names[i],
			    (long)mm__zone_stat_sum(m, i));
	if (mm__numa(m))
		for (int i = 0; i < 6; i++) {
			uint64_t sum = 0;
			for (int n = 0; n < m->nr_nodes; n++)
				for (int z = 0; z < m->nr_zone_types; z++)
					sum += m->nodes[n].zones[z].numa[i];
			mm__bprintf(&b, "%s %lu\n", mm_numa_stat_names[i],
				    (unsigned long)sum);
		}
	for (int i = 0; i < MM_NR_NODE_STAT; i++)
		if (mm__node_stat_shown(m, i))
			mm__bprintf(&b, "%s %ld\n", mm_node_stat_names[i],
				    (long)mm__node_stat_sum(m, i));
	uint64_t vm_stat[MM_NR_VM_STAT] = {0};
	/* global_dirty_limits(): 20% / 10% of dirtyable memory (free + file
	 * pages, minus the high watermarks and lowmem reserves). */
	int64_t dirtyable = (int64_t)mm_nr_free_pages(m) - (int64_t)m->totalreserve_pages +
			    mm__node_stat_sum(m, MM_NR_INACTIVE_FILE) +
			    mm__node_stat_sum(m, MM_NR_ACTIVE_FILE);
	if (dirtyable < 0)
		dirtyable = 0;
	vm_stat[MM_NR_DIRTY_THRESHOLD] = (uint64_t)dirtyable * 20 / 100;
	vm_stat[MM_NR_DIRTY_BACKGROUND_THRESHOLD] = (uint64_t)dirtyable * 10 / 100;
	for (int n = 0; n < m->nr_nodes; n++) {
		uint32_t sizeof_page = m->cfg.arch == MM_ARCH_I386 ? 32 : 64;
		uint64_t span = m->nodes[n].spanned + (m->nodes[n].start_pfn == 1);
		vm_stat[MM_NR_MEMMAP_BOOT_PAGES] +=
			(span * sizeof_page + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	}
	for (int i = 0; i < MM_NR_VM_STAT; i++)
		mm__bprintf(&b, "%s %lu\n", mm_vm_stat_names[i],
			    (unsigned long)vm_stat[i]);
#define MM__EV(e, name)                                                    \
	if (mm__event_shown(m, e))                                         \
		mm__bprintf(&b, "%s %lu\n", name, (unsigned long)m->events[e]);
#define MM__EVZ(e, name)                                                   \
	for (int z = 0; z < m->nr_zone_types; z++)                         \
		mm__bprintf(&b, "%s_%s %lu\n", name, mm__zone_event_suffix(m, z), \
			    (unsigned long)m->events[e + z]);
	MM_VM_EVENT_ITEMS(MM__EV, MM__EVZ)
#undef MM__EV
#undef MM__EVZ
	mm__bprintf(&b, "nr_unstable 0\n");
	return mm__bfinish(&b);
}

static void mm__kb(struct mm_buf *b, const char *label, uint64_t pages)
{
	mm__bprintf(b, "%-16s%8lu kB\n", label,
		    (unsigned long)(pages << (MM_PAGE_SHIFT - 10)));
}

size_t mm_proc_meminfo(const struct mm_machine *m, char *buf, size_t len)
{
	struct mm_buf b = {buf, len, 0};
	int64_t free = (int64_t)mm_nr_free_pages(m);
	int64_t active_anon = mm__node_stat_sum(m, MM_NR_ACTIVE_ANON);
	int64_t inactive_anon = mm__node_stat_sum(m, MM_NR_INACTIVE_ANON);
	int64_t active_file = mm__node_stat_sum(m, MM_NR_ACTIVE_FILE);
	int64_t inactive_file = mm__node_stat_sum(m, MM_NR_INACTIVE_FILE);
	int64_t sreclaimable = mm__node_stat_sum(m, MM_NR_SLAB_RECLAIMABLE);
	int64_t sunreclaim = mm__node_stat_sum(m, MM_NR_SLAB_UNRECLAIMABLE);
	int64_t kmisc = mm__node_stat_sum(m, MM_NR_KERNEL_MISC_RECLAIMABLE);
	uint64_t swap_pages = mm__swap_total(m);

	/* si_mem_available() */
	int64_t wmark_low = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			wmark_low += (int64_t)mm_wmark_pages(&m->nodes[n].zones[z],
							     MM_WMARK_LOW);
	int64_t available = free - (int64_t)m->totalreserve_pages;
	int64_t pagecache = active_file + inactive_file;
	pagecache -= MM_MIN(pagecache / 2, wmark_low);
	available += pagecache;
	int64_t reclaimable = sreclaimable + kmisc;
	available += reclaimable - MM_MIN(reclaimable / 2, wmark_low);
	if (available < 0)
		available = 0;
	int64_t cached = mm__node_stat_sum(m, MM_NR_FILE_PAGES) -
			 mm__node_stat_sum(m, MM_NR_SWAPCACHED);
	if (cached < 0)
		cached = 0;

	mm__kb(&b, "MemTotal:", m->totalram_pages);
	mm__kb(&b, "MemFree:", (uint64_t)free);
	mm__kb(&b, "MemAvailable:", (uint64_t)available);
	mm__kb(&b, "Buffers:", 0);
	mm__kb(&b, "Cached:", (uint64_t)cached);
	mm__kb(&b, "SwapCached:", (uint64_t)mm__node_stat_sum(m, MM_NR_SWAPCACHED));
	mm__kb(&b, "Active:", (uint64_t)(active_anon + active_file));
	mm__kb(&b, "Inactive:", (uint64_t)(inactive_anon + inactive_file));
	mm__kb(&b, "Active(anon):", (uint64_t)active_anon);
	mm__kb(&b, "Inactive(anon):", (uint64_t)inactive_anon);
	mm__kb(&b, "Active(file):", (uint64_t)active_file);
	mm__kb(&b, "Inactive(file):", (uint64_t)inactive_file);
	mm__kb(&b, "Unevictable:", (uint64_t)mm__node_stat_sum(m, MM_NR_UNEVICTABLE));
	mm__kb(&b, "Mlocked:", (uint64_t)mm__zone_stat_sum(m, MM_NR_MLOCK));
	if (m->cfg.arch == MM_ARCH_I386) {
		uint64_t high_total = 0, high_free = 0;
		for (int n = 0; n < m->nr_nodes; n++) {
			const struct mm_zone *z = &m->nodes[n].zones[MM_I386_HIGHMEM];
			high_total += z->managed;
			high_free += (uint64_t)z->vm_stat[MM_NR_FREE_PAGES];
		}
		mm__kb(&b, "HighTotal:", high_total);
		mm__kb(&b, "HighFree:", high_free);
		mm__kb(&b, "LowTotal:", m->totalram_pages - high_total);
		mm__kb(&b, "LowFree:", (uint64_t)free - high_free);
	}
	mm__kb(&b, "SwapTotal:", swap_pages);
	mm__kb(&b, "SwapFree:", m->swap_free);
	mm__kb(&b, "Zswap:", 0);
	mm__kb(&b, "Zswapped:", 0);
	mm__kb(&b, "Dirty:", (uint64_t)mm__node_stat_sum(m, MM_NR_DIRTY));
	mm__kb(&b, "Writeback:", (uint64_t)mm__node_stat_sum(m, MM_NR_WRITEBACK));
	mm__kb(&b, "AnonPages:", (uint64_t)mm__node_stat_sum(m, MM_NR_ANON_PAGES));
	mm__kb(&b, "Mapped:", (uint64_t)mm__node_stat_sum(m, MM_NR_MAPPED));
	mm__kb(&b, "Shmem:", (uint64_t)mm__node_stat_sum(m, MM_NR_SHMEM));
	mm__kb(&b, "KReclaimable:", (uint64_t)(sreclaimable + kmisc));
	mm__kb(&b, "Slab:", (uint64_t)(sreclaimable + sunreclaim));
	mm__kb(&b, "SReclaimable:", (uint64_t)sreclaimable);
	mm__kb(&b, "SUnreclaim:", (uint64_t)sunreclaim);
	mm__bprintf(&b, "KernelStack:    %8lu kB\n",
		    (unsigned long)mm__node_stat_sum(m, MM_NR_KERNEL_STACK));
	mm__kb(&b, "PageTables:", (uint64_t)mm__node_stat_sum(m, MM_NR_PAGE_TABLE_PAGES));
	mm__kb(&b, "SecPageTables:", 0);
	mm__kb(&b, "NFS_Unstable:", 0);
	mm__kb(&b, "Bounce:", 0);
	mm__kb(&b, "WritebackTmp:", 0);
	uint64_t commit_limit = m->totalram_pages *
				(uint64_t)m->cfg.overcommit_ratio / 100 + swap_pages;
	mm__kb(&b, "CommitLimit:", commit_limit);
	/* vm_memory_committed(): percpu_counter_read_positive() */
	mm__kb(&b, "Committed_AS:", m->committed > 0 ? (uint64_t)m->committed : 0);
	uint64_t vstart, vend;
	mm_vmalloc_range(m, &vstart, &vend);
	/* x86_64 prints VMALLOC_END - VMALLOC_START with the inclusive end. */
	uint64_t vmalloc_total = vend - vstart - (m->cfg.arch == MM_ARCH_I386 ? 0 : 1);
	mm__bprintf(&b, "VmallocTotal:   %8lu kB\n", (unsigned long)(vmalloc_total >> 10));
	mm__kb(&b, "VmallocUsed:", m->vmalloc_pages);
	mm__kb(&b, "VmallocChunk:", 0);
	mm__kb(&b, "Percpu:", 0);
	if (m->cfg.arch == MM_ARCH_X86_64) {
		mm__kb(&b, "AnonHugePages:", 0);
		mm__kb(&b, "ShmemHugePages:", 0);
		mm__kb(&b, "ShmemPmdMapped:", 0);
		mm__kb(&b, "FileHugePages:", 0);
		mm__kb(&b, "FilePmdMapped:", 0);
	}
	mm__kb(&b, "Balloon:", 0);
	mm__bprintf(&b, "HugePages_Total:   %5lu\nHugePages_Free:    %5lu\n"
			"HugePages_Rsvd:    %5lu\nHugePages_Surp:    %5lu\n"
			"Hugepagesize:   %8lu kB\n",
		    0ul, 0ul, 0ul, 0ul,
		    m->cfg.arch == MM_ARCH_I386 ? 4096ul : 2048ul);
	mm__bprintf(&b, "Hugetlb:        %8lu kB\n", 0ul);
	/* The direct map: the first 2 MiB (4 MiB on i386) in 4K pages, then
	 * large pages (2M, and 1G where a whole aligned GiB is RAM). */
	uint64_t mem_kb = m->cfg.memory >> 10;
	if (m->cfg.arch == MM_ARCH_I386) {
		uint64_t direct = MM_MIN(mem_kb, 896ull << 10);
		uint64_t k4 = MM_MIN(direct, 4096u);
		mm__bprintf(&b, "DirectMap4k:    %8lu kB\n", (unsigned long)k4);
		mm__bprintf(&b, "DirectMap4M:    %8lu kB\n",
			    (unsigned long)((direct - k4) & ~4095ull));
	} else {
		uint64_t k4 = MM_MIN(mem_kb, 2048u);
		uint64_t g1 = mem_kb >= (1ull << 20) ? ((mem_kb >> 20) - 1) << 20 : 0;
		mm__bprintf(&b, "DirectMap4k:    %8lu kB\n", (unsigned long)k4);
		mm__bprintf(&b, "DirectMap2M:    %8lu kB\n",
			    (unsigned long)(mem_kb - k4 - g1));
		mm__bprintf(&b, "DirectMap1G:    %8lu kB\n", (unsigned long)g1);
	}
	return mm__bfinish(&b);
}
