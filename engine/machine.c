/*
 * machine.c — boot: lay out nodes and zones, reserve boot-time frames, hand
 * the rest to the buddy allocator, compute watermarks, lowmem reserves,
 * per-CPU list sizes and zonelists exactly as Linux does at boot.
 *
 * Physical layout (documented in docs/physical-memory.md):
 *   pfn 0 is BIOS-owned and not RAM (x86 trims it from e820), so node 0 and
 *   its DMA zone start at pfn 1, as on a real x86 machine; [159, 256) is the
 *   legacy VGA/BIOS hole (640K–1M), spanned but not present.  Reserved at
 *   boot: the low 64 KiB (CONFIG_X86_RESERVE_LOW), the real-mode trampoline
 *   just below the hole, the kernel image (at 16 MiB, CONFIG_PHYSICAL_START,
 *   when memory allows, else at 1 MiB) and each node's memmap (the struct
 *   page array: 64 bytes per page on x86_64, 32 on i386) at the top of the
 *   node (memblock allocates top-down; on i386 at the top of lowmem).
 *   zones_managed_pages reserves further frames from the top of a zone.
 */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>

#define MM_HOLE_START 159u  /* 0x9f000: EBDA and the VGA/BIOS hole */
#define MM_HOLE_END 256u    /* 1 MiB */
#define MM_TRAMPOLINE_START 152u
#define MM_RESERVE_LOW 16u  /* 64 KiB */
#define MM_I386_LOWMEM_END (896u << 8) /* 896 MiB in pfns */

static const char *const mm_zone_names_x86_64[] = {"DMA", "DMA32", "Normal",
						   "Movable", "Device"};
static const char *const mm_zone_names_i386[] = {"DMA", "Normal", "HighMem",
						 "Movable"};
/* sysctl_lowmem_reserve_ratio defaults, per zone type. */
static const int mm_lowmem_ratio_x86_64[] = {256, 256, 32, 0, 0};
static const int mm_lowmem_ratio_i386[] = {256, 32, 0, 0};

int mm_zone_type_count(enum mm_arch arch)
{
	return arch == MM_ARCH_I386 ? 4 : 5;
}

const char *mm_zone_type_name(enum mm_arch arch, int idx)
{
	return arch == MM_ARCH_I386 ? mm_zone_names_i386[idx]
				    : mm_zone_names_x86_64[idx];
}

/* Zone type of a pfn, by the arch's fixed boundaries. */
static int mm__zone_type_of(const struct mm_machine *m, uint32_t pfn)
{
	if (m->cfg.arch == MM_ARCH_I386)
		return pfn < 4096 ? MM_I386_DMA
		       : pfn < MM_I386_LOWMEM_END ? MM_I386_NORMAL
						  : MM_I386_HIGHMEM;
	return pfn < 4096 ? MM_X86_64_DMA
	       : pfn < (1u << 20) ? MM_X86_64_DMA32 : MM_X86_64_NORMAL;
}

static bool mm__pfn_is_hole(uint32_t pfn)
{
	return pfn == 0 || (pfn >= MM_HOLE_START && pfn < MM_HOLE_END);
}

/* Marks the present frames of [start, end) reserved; returns how many. */
static uint32_t mm__reserve(struct mm_machine *m, uint32_t start, uint32_t end)
{
	uint32_t n = 0;

	for (uint32_t pfn = start; pfn < end && pfn < m->nr_pfns; pfn++) {
		struct mm_page *p = &m->pages[pfn];
		if (mm_page_test(p, MM_PG_reserved))
			continue;
		mm__set(p, MM_PG_reserved);
		p->refcount = 1;
		n++;
	}
	return n;
}

static void mm__layout_nodes(struct mm_machine *m, uint32_t node_start[],
			     uint32_t node_end[])
{
	const struct mm_config *c = &m->cfg;
	uint32_t pfn = 0;

	for (int n = 0; n < c->nodes; n++) {
		uint64_t bytes = c->node_memory[n];
		if (!bytes) {
			/* Even split on 4 MiB boundaries; the last node takes
			 * the remainder. */
			bytes = c->memory / (uint64_t)c->nodes & ~((4ull << 20) - 1);
			if (n == c->nodes - 1)
				bytes = c->memory - (uint64_t)pfn * MM_PAGE_SIZE;
		}
		node_start[n] = pfn;
		pfn += (uint32_t)(bytes >> MM_PAGE_SHIFT);
		node_end[n] = pfn;
	}
}

static void mm__init_zones(struct mm_machine *m, const uint32_t node_start[],
			   const uint32_t node_end[])
{
	for (int n = 0; n < m->nr_nodes; n++) {
		struct mm_node *node = &m->nodes[n];
		uint32_t ns = node_start[n] == 0 ? 1 : node_start[n];
		node->id = n;
		node->nr_zones = m->nr_zone_types;
		for (int l = 0; l < MM_NR_LRU_LISTS; l++)
			mm__plist_init(&node->lru[l]);
		node->shadow_head = node->shadow_tail = MM_NIL;
		node->start_pfn = ns;
		node->spanned = node_end[n] - ns;
		for (int z = 0; z < m->nr_zone_types; z++) {
			struct mm_zone *zone = &node->zones[z];
			zone->node = (uint8_t)n;
			zone->idx = (uint8_t)z;
			zone->name = mm_zone_type_name(m->cfg.arch, z);
		}
		for (uint32_t pfn = node_start[n]; pfn < node_end[n]; pfn++) {
			int t = mm__zone_type_of(m, pfn);
			struct mm_zone *zone = &node->zones[t];
			struct mm_page *p = &m->pages[pfn];
			p->flags = (uint32_t)mm__zone_id(zone) << MM_PAGE_ZONE_SHIFT;
			p->lru_next = p->lru_prev = MM_NIL;
			if (pfn == 0) {
				/* Outside every zone: not RAM. */
				mm__set(p, MM_PG_hole);
				mm__set(p, MM_PG_reserved);
				p->refcount = 1;
				continue;
			}
			if (!zone->spanned)
				zone->start_pfn = pfn;
			zone->spanned = pfn + 1 - zone->start_pfn;
			if (mm__pfn_is_hole(pfn)) {
				mm__set(p, MM_PG_hole);
				mm__set(p, MM_PG_reserved);
				p->refcount = 1;
			} else {
				zone->present++;
			}
		}
		for (int z = 0; z < m->nr_zone_types; z++)
			node->present += node->zones[z].present;
	}
}

static int mm__boot_reserve(struct mm_machine *m, const uint32_t node_start[],
			    const uint32_t node_end[], char *err, size_t errlen)
{
	uint64_t mem = m->cfg.memory;
	uint32_t sizeof_page = m->cfg.arch == MM_ARCH_I386 ? 32 : 64;

	mm__reserve(m, 1, MM_RESERVE_LOW);
	mm__reserve(m, MM_TRAMPOLINE_START, MM_HOLE_START);

	uint64_t kbytes = MM_MIN(MM_MAX(mem / 64, 1ull << 20), 16ull << 20);
	uint64_t kstart = mem >= (32ull << 20) + kbytes ? 16ull << 20 : 1ull << 20;
	m->kernel_image_pfn = (uint32_t)(kstart >> MM_PAGE_SHIFT);
	mm__reserve(m, m->kernel_image_pfn,
		    (uint32_t)((kstart + kbytes) >> MM_PAGE_SHIFT));
	/* empty_zero_page lives in the kernel image (its bss), after the
	 * frame swapper_pg_dir uses. */
	m->zero_pfn = m->kernel_image_pfn + 1;

	for (int n = 0; n < m->nr_nodes; n++) {
		uint32_t top = node_end[n];
		if (m->cfg.arch == MM_ARCH_I386)
			top = MM_MIN(top, MM_I386_LOWMEM_END);
		uint32_t span = node_end[n] - node_start[n];
		uint32_t pages = (uint32_t)(((uint64_t)span * sizeof_page +
					     MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT);
		mm__reserve(m, top - pages, top);
	}

	for (int n = 0; n < m->nr_nodes; n++) {
		for (int z = 0; z < m->nr_zone_types; z++) {
			struct mm_zone *zone = &m->nodes[n].zones[z];
			uint32_t reserved = 0;
			for (uint32_t i = 0; i < zone->spanned; i++) {
				const struct mm_page *p = &m->pages[zone->start_pfn + i];
				reserved += mm_page_test(p, MM_PG_reserved) &&
					    !mm_page_test(p, MM_PG_hole);
			}
			zone->managed = zone->present - reserved;
			int64_t want = m->cfg.zones_managed_pages[n][z];
			if (want < 0)
				continue;
			if ((uint64_t)want > zone->managed) {
				snprintf(err, errlen,
					 "zones_managed_pages: node %d zone %s wants "
					 "%lld managed pages but only %u fit",
					 n, zone->name, (long long)want,
					 zone->managed);
				return -MM_EINVAL;
			}
			/* Reserve from the top of the zone down. */
			uint32_t pfn = zone->start_pfn + zone->spanned;
			while (zone->managed > (uint64_t)want) {
				pfn--;
				zone->managed -= mm__reserve(m, pfn, pfn + 1);
			}
		}
	}
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			m->totalram_pages += m->nodes[n].zones[z].managed;
	if (m->totalram_pages < 256) {
		snprintf(err, errlen, "memory: only %llu pages left after boot "
			 "reservations", (unsigned long long)m->totalram_pages);
		return -MM_EINVAL;
	}
	return 0;
}

/* memblock_free_all(): frees each run of free frames in the largest
 * naturally aligned blocks, to the tail of the free lists. */
static void mm__free_boot_memory(struct mm_machine *m)
{
	uint32_t pfn = 0;

	while (pfn < m->nr_pfns) {
		if (mm_page_test(&m->pages[pfn], MM_PG_reserved)) {
			pfn++;
			continue;
		}
		uint32_t end = pfn;
		while (end < m->nr_pfns &&
		       !mm_page_test(&m->pages[end], MM_PG_reserved))
			end++;
		while (pfn < end) {
			unsigned order = MM_MAX_ORDER;
			if (pfn && (unsigned)__builtin_ctz(pfn) < order)
				order = (unsigned)__builtin_ctz(pfn);
			while (pfn + (1u << order) > end)
				order--;
			struct mm_zone *z = mm_page_zone(m, pfn);
			for (uint32_t i = 0; i < (1u << order); i++)
				m->pages[pfn + i].refcount = 0;
			mm__free_one_page(m, z, pfn, order,
					  mm_pageblock_migratetype(m, pfn), true);
			pfn += 1u << order;
		}
	}
}

static uint64_t mm__isqrt(uint64_t x)
{
	uint64_t r = 0, bit = 1ull << 62;

	while (bit > x)
		bit >>= 2;
	while (bit) {
		if (x >= r + bit) {
			x -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/* Zones an allocation with GFP_USER may use: up to ZONE_NORMAL. */
static bool mm__zone_is_lowmem(const struct mm_machine *m,
			       const struct mm_zone *z)
{
	return !mm__zone_is_highmem(m, z) && !mm__zone_is_movable(m, z) &&
	       !(m->cfg.arch == MM_ARCH_X86_64 && z->idx == MM_X86_64_DEVICE);
}

/* nr_free_buffer_pages(): sum of (managed - high) over zones <= Normal. */
static uint64_t mm__nr_free_buffer_pages(const struct mm_machine *m)
{
	uint64_t sum = 0;

	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &m->nodes[n].zones[z];
			if (!mm__zone_is_lowmem(m, zone))
				continue;
			if (zone->managed > zone->wmark[MM_WMARK_HIGH])
				sum += zone->managed - zone->wmark[MM_WMARK_HIGH];
		}
	return sum;
}

/* __setup_per_zone_wmarks() */
static void mm__setup_per_zone_wmarks(struct mm_machine *m)
{
	uint64_t pages_min = m->min_free_kbytes >> (MM_PAGE_SHIFT - 10);
	uint64_t lowmem_pages = 0;

	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &m->nodes[n].zones[z];
			if (!mm__zone_is_highmem(m, zone) &&
			    !mm__zone_is_movable(m, zone))
				lowmem_pages += zone->managed;
		}
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			struct mm_zone *zone = &m->nodes[n].zones[z];
			uint64_t tmp = lowmem_pages
					       ? pages_min * zone->managed / lowmem_pages
					       : 0;
			if (mm__zone_is_highmem(m, zone) ||
			    mm__zone_is_movable(m, zone)) {
				uint64_t min_pages = zone->managed / 1024;
				min_pages = MM_MIN(MM_MAX(min_pages, 32u), 128u);
				zone->wmark[MM_WMARK_MIN] = min_pages;
			} else {
				zone->wmark[MM_WMARK_MIN] = tmp;
			}
			uint64_t scaled = zone->managed *
					  (uint64_t)m->cfg.watermark_scale_factor /
					  10000;
			tmp = MM_MAX(tmp >> 2, scaled);
			zone->wmark[MM_WMARK_LOW] = zone->wmark[MM_WMARK_MIN] + tmp;
			zone->wmark[MM_WMARK_HIGH] = zone->wmark[MM_WMARK_LOW] + tmp;
			zone->wmark[MM_WMARK_PROMO] = zone->wmark[MM_WMARK_HIGH] + tmp;
		}
}

/* setup_per_zone_lowmem_reserve() */
static void mm__setup_lowmem_reserve(struct mm_machine *m)
{
	const int *ratio = m->cfg.arch == MM_ARCH_I386 ? mm_lowmem_ratio_i386
						       : mm_lowmem_ratio_x86_64;

	for (int n = 0; n < m->nr_nodes; n++) {
		struct mm_node *node = &m->nodes[n];
		for (int i = 0; i < m->nr_zone_types - 1; i++) {
			struct mm_zone *zone = &node->zones[i];
			bool clear = !ratio[i] || !zone->managed;
			uint64_t managed = 0;
			for (int j = i + 1; j < m->nr_zone_types; j++) {
				managed += node->zones[j].managed;
				zone->lowmem_reserve[j] =
					clear ? 0 : managed / (uint64_t)ratio[i];
			}
		}
	}
}

/* calculate_totalreserve_pages() */
static void mm__calculate_totalreserve(struct mm_machine *m)
{
	m->totalreserve_pages = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		for (int i = 0; i < m->nr_zone_types; i++) {
			struct mm_zone *zone = &m->nodes[n].zones[i];
			uint64_t max = 0;
			for (int j = i; j < m->nr_zone_types; j++)
				max = MM_MAX(max, zone->lowmem_reserve[j]);
			max += zone->wmark[MM_WMARK_HIGH];
			if (max > zone->managed)
				max = zone->managed;
			m->totalreserve_pages += max;
		}
}

/* zone_batchsize() */
static int32_t mm__zone_batchsize(const struct mm_zone *z)
{
	int64_t batch = MM_MIN(z->managed >> 10, (1u << 20) / MM_PAGE_SIZE);

	batch /= 4;
	if (batch < 1)
		batch = 1;
	batch += batch / 2;
	int64_t p = 1;
	while (p * 2 <= batch)
		p *= 2;
	return (int32_t)(p - 1);
}

/* zone_highsize() with cpu_online == 0 (steady state). */
static int32_t mm__zone_highsize(const struct mm_machine *m,
				 const struct mm_zone *z, int32_t batch,
				 int high_fraction)
{
	uint64_t total = high_fraction ? z->managed / (uint64_t)high_fraction
				       : z->wmark[MM_WMARK_LOW];
	int split = __builtin_popcountll(m->nodes[z->node].cpumask);

	if (!split)
		split = m->cfg.cpus;
	int64_t high = (int64_t)(total / (uint64_t)split);
	return (int32_t)MM_MAX(high, (int64_t)batch << 2);
}

/* zone_set_pageset_high_and_batch() (percpu_pagelist_high_fraction 0). */
static void mm__setup_pcp(struct mm_machine *m)
{
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			struct mm_zone *zone = &m->nodes[n].zones[z];
			int32_t batch = MM_MAX(1, mm__zone_batchsize(zone));
			int32_t high_min = mm__zone_highsize(m, zone, batch, 0);
			int32_t high_max = mm__zone_highsize(m, zone, batch, 8);
			for (int c = 0; c < m->cfg.cpus; c++) {
				struct mm_pcp *pcp = &zone->pcp[c];
				pcp->batch = batch;
				pcp->high_min = high_min;
				pcp->high_max = high_max;
				/* pcp->high stays at BOOT_PAGESET_HIGH (0)
				 * until the first allocation clamps it. */
			}
		}
}

void mm__setup_watermarks(struct mm_machine *m)
{
	mm__setup_per_zone_wmarks(m);
	mm__setup_lowmem_reserve(m);
	mm__calculate_totalreserve(m);
	mm__setup_pcp(m);
}

/* init_per_zone_wmark_min(), then khugepaged's set_recommended_min_free_kbytes()
 * on x86_64 (THP is available there; its reserve usually dominates). */
static void mm__init_min_free_kbytes(struct mm_machine *m)
{
	if (m->cfg.min_free_kbytes >= 0) {
		m->min_free_kbytes = (uint64_t)m->cfg.min_free_kbytes;
		mm__setup_watermarks(m);
		return;
	}
	uint64_t lowmem_kbytes = mm__nr_free_buffer_pages(m) * (MM_PAGE_SIZE >> 10);
	uint64_t v = mm__isqrt(lowmem_kbytes * 16);
	m->min_free_kbytes = MM_MIN(MM_MAX(v, 128u), 262144u);
	mm__setup_watermarks(m);
	if (m->cfg.arch != MM_ARCH_X86_64)
		return;
	uint64_t nr_zones = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &m->nodes[n].zones[z];
			if (mm_zone_populated(zone) && z <= MM_X86_64_NORMAL)
				nr_zones++;
		}
	uint64_t pb = mm__pageblock_nr(m);
	uint64_t rec = pb * nr_zones * 2 +
		       pb * nr_zones * MM_MIGRATE_PCPTYPES * MM_MIGRATE_PCPTYPES;
	rec = MM_MIN(rec, mm__nr_free_buffer_pages(m) / 20);
	rec <<= MM_PAGE_SHIFT - 10;
	if (rec > m->min_free_kbytes) {
		m->min_free_kbytes = rec;
		mm__setup_watermarks(m);
	}
}

static int mm__distance(const struct mm_machine *m, int a, int b)
{
	int d = m->cfg.distance[a][b];
	return d ? d : a == b ? 10 : 20;
}

/* build_zonelists(): nodes by find_next_best_node(), zones high to low. */
static void mm__build_zonelists(struct mm_machine *m)
{
	int node_load[MM_MAX_NODES] = {0};

	for (int local = 0; local < m->nr_nodes; local++) {
		struct mm_node *node = &m->nodes[local];
		bool used[MM_MAX_NODES] = {false};
		int order[MM_MAX_NODES], nr = 0, prev = local;
		for (;;) {
			int best = -1;
			if (!used[local]) {
				best = local;
			} else {
				int min_val = 1 << 30;
				for (int n = 0; n < m->nr_nodes; n++) {
					if (used[n])
						continue;
					int val = mm__distance(m, local, n);
					val += n < local;
					if (m->nodes[n].cpumask)
						val += 1; /* PENALTY_FOR_NODE_WITH_CPUS */
					val *= MM_MAX_NODES;
					val += node_load[n];
					if (val < min_val) {
						min_val = val;
						best = n;
					}
				}
			}
			if (best < 0)
				break;
			used[best] = true;
			if (mm__distance(m, local, best) != mm__distance(m, local, prev))
				node_load[best] += 1;
			order[nr++] = best;
			prev = best;
		}
		node->zonelist_len = 0;
		for (int i = 0; i < nr; i++)
			for (int z = m->nr_zone_types - 1; z >= 0; z--) {
				struct mm_zone *zone = &m->nodes[order[i]].zones[z];
				if (mm_zone_populated(zone))
					node->zonelist[node->zonelist_len++] = zone;
			}
	}
}

int mm_machine_create(const struct mm_config *cfg, struct mm_machine **out,
		      char *err, size_t errlen)
{
	int rc = mm_config_validate(cfg, err, errlen);
	if (rc)
		return rc;

	struct mm_machine *m = calloc(1, sizeof(*m));
	if (!m)
		return -MM_ENOMEM;
	m->cfg = *cfg;
	mm_env_init(&m->env, cfg->seed);
	m->nr_nodes = cfg->nodes;
	m->nr_zone_types = mm_zone_type_count(cfg->arch);
	m->pageblock_order = cfg->arch == MM_ARCH_I386 ? 10 : 9;
	m->nr_pfns = (uint32_t)(cfg->memory >> MM_PAGE_SHIFT);
	m->pages = calloc(m->nr_pfns, sizeof(struct mm_page));
	if (!m->pages)
		goto err_free_machine;

	for (int c = 0; c < cfg->cpus; c++) {
		int n = c * cfg->nodes / cfg->cpus;
		m->cpu_node[c] = n;
		m->nodes[n].cpumask |= 1ull << c;
	}

	uint32_t node_start[MM_MAX_NODES], node_end[MM_MAX_NODES];
	mm__layout_nodes(m, node_start, node_end);
	mm__init_zones(m, node_start, node_end);
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			struct mm_zone *zone = &m->nodes[n].zones[z];
			uint32_t nblocks = zone->spanned
				? ((zone->start_pfn + zone->spanned - 1) >> m->pageblock_order) -
				  (zone->start_pfn >> m->pageblock_order) + 1
				: 0;
			zone->pageblock_mt = malloc(nblocks ? nblocks : 1);
			zone->pcp = calloc((size_t)cfg->cpus, sizeof(struct mm_pcp));
			if (!zone->pageblock_mt || !zone->pcp)
				goto err_free_zones;
			memset(zone->pageblock_mt, MM_MIGRATE_MOVABLE, nblocks);
			for (int o = 0; o < MM_NR_ORDERS; o++)
				for (int t = 0; t < MM_MIGRATE_TYPES; t++)
					mm__plist_init(&zone->free_area[o].free_list[t]);
			for (int c = 0; c < cfg->cpus; c++)
				for (int t = 0; t < MM_MIGRATE_PCPTYPES; t++)
					mm__plist_init(&zone->pcp[c].lists[t]);
		}
	rc = mm__boot_reserve(m, node_start, node_end, err, errlen);
	if (rc)
		goto err_free_zones;
	mm__free_boot_memory(m);
	mm__build_zonelists(m);
	/* build_all_zonelists(): too small to group pages by mobility? */
	m->mobility_disabled = m->totalram_pages <
			       (uint64_t)mm__pageblock_nr(m) * MM_MIGRATE_TYPES;
	mm__init_min_free_kbytes(m);
	m->free_ptables = MM_NIL;
	rc = mm__slab_init(m);
	if (!rc)
		rc = mm__vmalloc_init(m);
	if (!rc)
		rc = mm__process_init(m);
	if (!rc)
		rc = mm__events_init(m);
	if (!rc)
		rc = mm__swap_init(m);
	if (rc)
		goto err_free_zones;
	*out = m;
	return 0;

err_free_zones:
	mm_machine_destroy(m);
	return rc ? rc : -MM_ENOMEM;
err_free_machine:
	free(m);
	return -MM_ENOMEM;
}

void mm_machine_destroy(struct mm_machine *m)
{
	if (!m)
		return;
	mm__events_destroy(m);
	mm__process_destroy(m);
	mm__pagecache_destroy(m);
	mm__swap_destroy(m);
	free(m->anon_parent);
	mm__content_destroy(m);
	mm__slab_destroy(m);
	mm__vmalloc_destroy(m);
	for (int n = 0; n < MM_MAX_NODES; n++)
		for (int z = 0; z < MM_MAX_ZONES; z++) {
			free(m->nodes[n].zones[z].pageblock_mt);
			free(m->nodes[n].zones[z].pcp);
		}
	free(m->pages);
	free(m);
}

int mm_pageblock_migratetype(const struct mm_machine *m, uint32_t pfn)
{
	const struct mm_zone *z = mm_page_zone(m, pfn);
	return z->pageblock_mt[(pfn >> m->pageblock_order) -
			       (z->start_pfn >> m->pageblock_order)];
}

void mm__set_pageblock_mt(struct mm_machine *m, uint32_t pfn, int mt)
{
	if (m->mobility_disabled && mt < MM_MIGRATE_PCPTYPES)
		mt = MM_MIGRATE_UNMOVABLE;
	struct mm_zone *z = mm_page_zone(m, pfn);
	z->pageblock_mt[(pfn >> m->pageblock_order) -
			(z->start_pfn >> m->pageblock_order)] = (uint8_t)mt;
}
