/*
 * page_alloc.c — alloc_pages()/free_pages(), after Linux 6.18's
 * mm/page_alloc.c: GFP → highest zone and migratetype, the zonelist walk
 * with watermark checks (fast path at the low mark, slow path at min with
 * the reserve flags of gfp_to_alloc_flags()), ALLOC_NOFRAGMENT, high-order
 * atomic reserves, and the per-CPU lists for order-0 pages with their
 * auto-tuned high mark and batch (nr_pcp_alloc/nr_pcp_high/nr_pcp_free).
 *
 * The slow path wakes kswapd (reclaim.c), reclaims directly, and runs the
 * OOM killer as __alloc_pages_slowpath() does (see mm__alloc_direct).
 */
#include "engine/internal.h"

#define MM_PCP_BATCH_SCALE_MAX 5 /* CONFIG_PCP_BATCH_SCALE_MAX */
#define MM_MAX_RECLAIM_RETRIES 16
#define MM_PCPF_PREV_FREE_HIGH_ORDER 1u

struct mm__alloc_ctx {
	int highest_zoneidx;
	int migratetype;
	int preferred_nid;
	struct mm_node *node;    /* zonelist owner */
	int first;               /* index of the preferred zone in the zonelist */
	int cpu;
	uint32_t gfp;
};

/* gfp_zone() */
static int mm__gfp_zone(const struct mm_machine *m, uint32_t gfp)
{
	bool i386 = m->cfg.arch == MM_ARCH_I386;
	int normal = i386 ? MM_I386_NORMAL : MM_X86_64_NORMAL;
	int movable = i386 ? MM_I386_MOVABLE : MM_X86_64_MOVABLE;

	if (gfp & MM___GFP_DMA)
		return MM_X86_64_DMA;
	if (gfp & MM___GFP_DMA32)
		return i386 ? normal : MM_X86_64_DMA32;
	if (gfp & MM___GFP_HIGHMEM)
		return (gfp & MM___GFP_MOVABLE) ? movable
		       : i386 ? MM_I386_HIGHMEM : normal;
	return normal;
}

/* gfp_migratetype() */
static int mm__gfp_migratetype(const struct mm_machine *m, uint32_t gfp)
{
	if (m->mobility_disabled)
		return MM_MIGRATE_UNMOVABLE;
	if (gfp & MM___GFP_MOVABLE)
		return MM_MIGRATE_MOVABLE;
	if (gfp & MM___GFP_RECLAIMABLE)
		return MM_MIGRATE_RECLAIMABLE;
	return MM_MIGRATE_UNMOVABLE;
}

/* __zone_watermark_unusable_free() */
static int64_t mm__unusable_free(const struct mm_zone *z, unsigned order,
				 unsigned alloc_flags)
{
	int64_t unusable = (1 << order) - 1;

	if (!(alloc_flags & MM_ALLOC_RESERVES))
		unusable += z->nr_free_highatomic;
	return unusable;
}

bool mm__zone_watermark_ok(const struct mm_zone *z, unsigned order,
			   uint64_t mark, int highest_zoneidx,
			   unsigned alloc_flags, int64_t free_pages)
{
	int64_t min = (int64_t)mark;

	free_pages -= mm__unusable_free(z, order, alloc_flags);
	if (alloc_flags & MM_ALLOC_RESERVES) {
		if (alloc_flags & MM_ALLOC_MIN_RESERVE) {
			min -= min / 2;
			if (alloc_flags & MM_ALLOC_NON_BLOCK)
				min -= min / 4;
		}
		if (alloc_flags & MM_ALLOC_OOM)
			min -= min / 2;
	}
	if (free_pages <= min + (int64_t)z->lowmem_reserve[highest_zoneidx])
		return false;
	if (!order)
		return true;
	for (unsigned o = order; o < MM_NR_ORDERS; o++) {
		const struct mm_free_area *area = &z->free_area[o];
		if (!area->nr_free)
			continue;
		for (int mt = 0; mt < MM_MIGRATE_PCPTYPES; mt++)
			if (area->free_list[mt].count)
				return true;
		if ((alloc_flags & (MM_ALLOC_HIGHATOMIC | MM_ALLOC_OOM)) &&
		    area->free_list[MM_MIGRATE_HIGHATOMIC].count)
			return true;
	}
	return false;
}

/* zone_watermark_fast() */
static bool mm__zone_watermark_fast(const struct mm_zone *z, unsigned order,
				    uint64_t mark, int highest_zoneidx,
				    unsigned alloc_flags)
{
	int64_t free_pages = z->vm_stat[MM_NR_FREE_PAGES];

	if (!order) {
		int64_t reserved = mm__unusable_free(z, 0, alloc_flags);
		int64_t usable = free_pages - MM_MIN(free_pages, reserved);
		if (usable > (int64_t)(mark + z->lowmem_reserve[highest_zoneidx]))
			return true;
	}
	if (mm__zone_watermark_ok(z, order, mark, highest_zoneidx, alloc_flags,
				  free_pages))
		return true;
	if (!order && (alloc_flags & MM_ALLOC_MIN_RESERVE) && z->watermark_boost &&
	    (alloc_flags & MM_ALLOC_WMARK_MASK) == MM_ALLOC_WMARK_MIN)
		return mm__zone_watermark_ok(z, order, z->wmark[MM_WMARK_MIN],
					     highest_zoneidx, alloc_flags,
					     free_pages);
	return false;
}

/* zone_statistics(): numa_hit/miss/foreign/local/other, per allocation. */
static void mm__zone_statistics(struct mm_machine *m, struct mm_zone *preferred,
				struct mm_zone *z, int cpu)
{
	enum { HIT, MISS, FOREIGN, INTERLEAVE, LOCAL, OTHER };

	if (z->node == preferred->node) {
		z->numa[HIT]++;
	} else {
		z->numa[MISS]++;
		preferred->numa[FOREIGN]++;
	}
	z->numa[(int)z->node == m->cpu_node[cpu] ? LOCAL : OTHER]++;
}

/* nr_pcp_alloc(): how many pages one refill takes from the buddy. */
static int32_t mm__nr_pcp_alloc(struct mm_pcp *pcp, const struct mm_zone *z)
{
	int32_t base = pcp->batch, high;

	high = pcp->high = MM_MIN(MM_MAX(pcp->high, pcp->high_min), pcp->high_max);
	if (high < base)
		return 1;
	int32_t batch = base << pcp->alloc_factor;
	if (pcp->high_min != pcp->high_max &&
	    !(z->flags & (1u << MM_ZONE_BELOW_HIGH)))
		high = pcp->high = MM_MIN(high + batch, pcp->high_max);
	int32_t max_nr_alloc = MM_MAX(high - pcp->count - base, base);
	if (batch <= max_nr_alloc && pcp->alloc_factor < MM_PCP_BATCH_SCALE_MAX)
		pcp->alloc_factor++;
	batch = MM_MIN(batch, max_nr_alloc);
	if (batch > 1)
		batch = MM_MAX(batch, 2);
	return batch;
}

/* rmqueue_pcplist(): an order-0 page from the cpu's list, refilled in a
 * batch from the buddy (pages appended in pfn order) when empty. */
static uint32_t mm__rmqueue_pcplist(struct mm_machine *m, struct mm_zone *z,
				    int cpu, int mt, unsigned alloc_flags)
{
	struct mm_pcp *pcp = &z->pcp[cpu];
	struct mm_plist *list = &pcp->lists[mt];

	pcp->free_count >>= 1;
	if (list->head == MM_NIL) {
		uint32_t batch = (uint32_t)mm__nr_pcp_alloc(pcp, z), n;
		for (uint32_t i = 0; i < batch; i += n) {
			uint32_t pfn = mm__rmqueue_run(m, z, mt, alloc_flags,
						       batch - i, &n);
			if (pfn == MM_NIL)
				break;
			for (uint32_t end = pfn + n; pfn < end; pfn++) {
				mm__set(&m->pages[pfn], MM_PG_pcp);
				mm__plist_add_tail(m, list, pfn);
			}
			pcp->count += (int32_t)n;
		}
		if (list->head == MM_NIL)
			return MM_NIL;
	}
	uint32_t pfn = list->head;
	mm__plist_del(m, list, pfn);
	mm__clear(&m->pages[pfn], MM_PG_pcp);
	pcp->count--;
	return pfn;
}

/* rmqueue_buddy() */
static uint32_t mm__rmqueue_buddy(struct mm_machine *m, struct mm_zone *z,
				  unsigned order, int mt, unsigned alloc_flags)
{
	uint32_t pfn = MM_NIL;

	if (alloc_flags & MM_ALLOC_HIGHATOMIC)
		pfn = mm__rmqueue_smallest(m, z, order, MM_MIGRATE_HIGHATOMIC);
	if (pfn == MM_NIL)
		pfn = mm__rmqueue(m, z, order, mt, alloc_flags);
	if (pfn == MM_NIL && (alloc_flags & (MM_ALLOC_OOM | MM_ALLOC_NON_BLOCK)))
		pfn = mm__rmqueue_smallest(m, z, order, MM_MIGRATE_HIGHATOMIC);
	return pfn;
}

/* rmqueue() */
static uint32_t mm__rmqueue_zone(struct mm_machine *m, struct mm_zone *pref,
				 struct mm_zone *z, unsigned order,
				 const struct mm__alloc_ctx *ac,
				 unsigned alloc_flags)
{
	uint32_t pfn = MM_NIL;

	if (order == 0)
		pfn = mm__rmqueue_pcplist(m, z, ac->cpu, ac->migratetype,
					  alloc_flags);
	if (pfn == MM_NIL)
		pfn = mm__rmqueue_buddy(m, z, order, ac->migratetype, alloc_flags);
	if (pfn == MM_NIL)
		return MM_NIL;
	m->events[MM_PGALLOC + z->idx] += 1u << order;
	mm__zone_statistics(m, pref, z, ac->cpu);
	/* Woken kswapd would reclaim the boost away (reclaim issue). */
	if ((alloc_flags & MM_ALLOC_KSWAPD) &&
	    (z->flags & (1u << MM_ZONE_BOOSTED_WATERMARK)))
		z->flags &= ~(1u << MM_ZONE_BOOSTED_WATERMARK);
	return pfn;
}

/* get_page_from_freelist() */
static uint32_t mm__get_page_from_freelist(struct mm_machine *m,
					   unsigned order, unsigned alloc_flags,
					   const struct mm__alloc_ctx *ac,
					   struct mm_zone **zone_out)
{
	struct mm_node *nd = ac->node;
	struct mm_zone *pref = nd->zonelist[ac->first];

retry:
	for (int i = ac->first; i < nd->zonelist_len; i++) {
		struct mm_zone *z = nd->zonelist[i];
		if (z->idx > ac->highest_zoneidx)
			continue;
		if ((alloc_flags & MM_ALLOC_NOFRAGMENT) && m->nr_nodes > 1 &&
		    z != pref && z->node != pref->node) {
			alloc_flags &= ~MM_ALLOC_NOFRAGMENT;
			goto retry;
		}
		if (!(z->flags & (1u << MM_ZONE_BELOW_HIGH))) {
			if (mm__zone_watermark_fast(z, order,
						    mm_wmark_pages(z, MM_WMARK_HIGH),
						    ac->highest_zoneidx,
						    alloc_flags))
				goto try_this_zone;
			z->flags |= 1u << MM_ZONE_BELOW_HIGH;
		}
		if ((alloc_flags & MM_ALLOC_NO_WATERMARKS) == 0 &&
		    !mm__zone_watermark_fast(
			    z, order,
			    mm_wmark_pages(z, (enum mm_wmark)(alloc_flags &
							      MM_ALLOC_WMARK_MASK)),
			    ac->highest_zoneidx, alloc_flags))
			continue;
try_this_zone:;
		uint32_t pfn = mm__rmqueue_zone(m, pref, z, order, ac, alloc_flags);
		if (pfn != MM_NIL) {
			if (alloc_flags & MM_ALLOC_HIGHATOMIC)
				mm__reserve_highatomic_pageblock(m, z, pfn, order);
			*zone_out = z;
			return pfn;
		}
	}
	if (alloc_flags & MM_ALLOC_NOFRAGMENT) {
		alloc_flags &= ~MM_ALLOC_NOFRAGMENT;
		goto retry;
	}
	return MM_NIL;
}

/* alloc_flags_nofragment() */
static unsigned mm__alloc_flags_nofragment(const struct mm_machine *m,
					   const struct mm_zone *z, uint32_t gfp)
{
	unsigned flags = (gfp & MM___GFP_KSWAPD_RECLAIM) ? MM_ALLOC_KSWAPD : 0;

	if (m->cfg.arch != MM_ARCH_X86_64 || z->idx != MM_X86_64_NORMAL)
		return flags;
	if (m->nr_nodes > 1 &&
	    !mm_zone_populated(&m->nodes[z->node].zones[MM_X86_64_DMA32]))
		return flags;
	return flags | MM_ALLOC_NOFRAGMENT;
}

/* wake_all_kswapds(): each node of the zonelist once. */
static void mm__wake_all_kswapds(struct mm_machine *m,
				 const struct mm__alloc_ctx *ac)
{
	uint32_t seen = 0;

	for (int i = ac->first; i < ac->node->zonelist_len; i++) {
		struct mm_zone *z = ac->node->zonelist[i];
		if (z->idx > ac->highest_zoneidx || (seen & (1u << z->node)))
			continue;
		seen |= 1u << z->node;
		mm__wakeup_kswapd(m, z, ac->highest_zoneidx);
	}
}

/*
 * The rest of __alloc_pages_slowpath(): direct reclaim and a retry while
 * reclaim makes progress (at most MAX_RECLAIM_RETRIES rounds without
 * success); the first failure also gives back a high-order atomic reserve
 * and drains the per-CPU lists.  When reclaim makes no progress, and the
 * caller may fail no other way (not __GFP_NORETRY / __GFP_RETRY_MAYFAIL,
 * not costly, __GFP_FS), the OOM killer runs if the context allows it
 * (m->oom_allowed), and each kill is followed by a retry.
 */
static __attribute__((noinline)) uint32_t
mm__alloc_direct(struct mm_machine *m, uint32_t gfp, unsigned order,
		 unsigned flags, const struct mm__alloc_ctx *ac,
		 struct mm_zone **z)
{
	bool drained = false;
	int rounds = 0;

	for (;;) {
		uint64_t progress = mm__try_to_free_pages(m, ac->node,
							  ac->highest_zoneidx,
							  ac->cpu);
		uint32_t pfn = mm__get_page_from_freelist(m, order, flags, ac, z);
		if (pfn == MM_NIL && !drained) {
			mm__unreserve_highatomic_pageblock(m, ac->preferred_nid,
							   ac->migratetype, false);
			mm_drain_all_pages(m);
			drained = true;
			pfn = mm__get_page_from_freelist(m, order, flags, ac, z);
		}
		if (pfn != MM_NIL)
			return pfn;
		if (progress && ++rounds < MM_MAX_RECLAIM_RETRIES)
			continue;
		if ((gfp & (MM___GFP_NORETRY | MM___GFP_RETRY_MAYFAIL)) ||
		    !(gfp & MM___GFP_FS) || order > MM_PAGE_ALLOC_COSTLY_ORDER ||
		    !m->oom_allowed)
			return MM_NIL;
		/* __alloc_pages_may_oom(): a last try at the high mark */
		pfn = mm__get_page_from_freelist(
			m, order, MM_ALLOC_WMARK_HIGH | MM_ALLOC_CPUSET, ac, z);
		if (pfn != MM_NIL)
			return pfn;
		if (!mm__out_of_memory(m))
			return MM_NIL;
		/* a victim's memory is free: retry, the freelists first */
		rounds = 0;
		pfn = mm__get_page_from_freelist(m, order, flags, ac, z);
		if (pfn != MM_NIL)
			return pfn;
	}
}

/* gfp_to_alloc_flags() */
static unsigned mm__gfp_to_alloc_flags(uint32_t gfp, unsigned order)
{
	unsigned flags = MM_ALLOC_WMARK_MIN | MM_ALLOC_CPUSET;

	if (gfp & MM___GFP_HIGH)
		flags |= MM_ALLOC_MIN_RESERVE;
	if (gfp & MM___GFP_KSWAPD_RECLAIM)
		flags |= MM_ALLOC_KSWAPD;
	if (!(gfp & MM___GFP_DIRECT_RECLAIM)) {
		if (!(gfp & MM___GFP_NOMEMALLOC)) {
			flags |= MM_ALLOC_NON_BLOCK;
			if (order > 0 && (flags & MM_ALLOC_MIN_RESERVE))
				flags |= MM_ALLOC_HIGHATOMIC;
		}
		if (flags & MM_ALLOC_MIN_RESERVE)
			flags &= ~MM_ALLOC_CPUSET;
	}
	if ((gfp & MM___GFP_MEMALLOC) && !(gfp & MM___GFP_NOMEMALLOC))
		flags |= MM_ALLOC_NO_WATERMARKS;
	return flags;
}

static void mm__prep_new_page(struct mm_machine *m, uint32_t pfn,
			      unsigned order, uint32_t gfp)
{
	struct mm_page *p = &m->pages[pfn];

	p->refcount = 1;
	p->mapping = 0;
	p->index = 0;
	if (order && (gfp & MM___GFP_COMP)) {
		mm__set(p, MM_PG_head);
		p->private = order;
		for (struct mm_page *t = p + 1; t < p + (1u << order); t++)
			mm__set(t, MM_PG_tail);
	}
	/* __GFP_ZERO: a frame reads as zeros until written (content.c). */
}

int mm__alloc_pages(struct mm_machine *m, uint32_t gfp, unsigned order,
		    int cpu, int node, struct mm_alloc_result *res)
{
	if (order > MM_MAX_ORDER || cpu < 0 || cpu >= m->cfg.cpus ||
	    node >= m->nr_nodes)
		return -MM_EINVAL;
	if ((gfp & MM___GFP_DMA) && (gfp & MM___GFP_DMA32))
		return -MM_EINVAL;
	if ((gfp & MM___GFP_MOVABLE) && (gfp & MM___GFP_RECLAIMABLE))
		return -MM_EINVAL;

	struct mm__alloc_ctx ac = {
		.highest_zoneidx = mm__gfp_zone(m, gfp),
		.migratetype = mm__gfp_migratetype(m, gfp),
		.preferred_nid = node >= 0 ? node : m->cpu_node[cpu],
		.cpu = cpu,
		.gfp = gfp,
	};
	ac.node = &m->nodes[ac.preferred_nid];
	ac.first = 0;
	while (ac.first < ac.node->zonelist_len &&
	       ac.node->zonelist[ac.first]->idx > ac.highest_zoneidx)
		ac.first++;
	if (ac.first == ac.node->zonelist_len)
		return -MM_ENOMEM;

	struct mm_zone *z = NULL;
	unsigned flags = MM_ALLOC_WMARK_LOW |
			 mm__alloc_flags_nofragment(m, ac.node->zonelist[ac.first],
						    gfp);
	uint32_t pfn = mm__get_page_from_freelist(m, order, flags, &ac, &z);
	if (pfn == MM_NIL) {
		/* Slow path: wake kswapd, then the min watermark with the
		 * caller's reserves. */
		if (gfp & MM___GFP_KSWAPD_RECLAIM)
			mm__wake_all_kswapds(m, &ac);
		flags = mm__gfp_to_alloc_flags(gfp, order);
		pfn = mm__get_page_from_freelist(m, order, flags, &ac, &z);
	}
	if (pfn == MM_NIL && (gfp & MM___GFP_DIRECT_RECLAIM))
		pfn = mm__alloc_direct(m, gfp, order, flags, &ac, &z);
	if (pfn == MM_NIL)
		return -MM_ENOMEM;
	/* An allocation that leaves its zone below low wakes kswapd too. */
	if ((gfp & MM___GFP_KSWAPD_RECLAIM) &&
	    z->vm_stat[MM_NR_FREE_PAGES] < (int64_t)mm_wmark_pages(z, MM_WMARK_LOW))
		mm__wakeup_kswapd(m, z, ac.highest_zoneidx);
	mm__prep_new_page(m, pfn, order, gfp);
	res->pfn = pfn;
	res->node = z->node;
	res->zone = z->idx;
	return 0;
}

int mm_alloc_pages(struct mm_machine *m, uint32_t gfp, unsigned order,
		   int cpu, int node, struct mm_alloc_result *res)
{
	/* Blocks handed to API callers are compound so the order can be
	 * checked when they are freed. */
	mm__oom_enter(m, 0);
	int rc = mm__alloc_pages(m, gfp | MM___GFP_COMP, order, cpu, node, res);
	mm__oom_leave(m);
	if (rc == 0)
		mm__set(&m->pages[res->pfn], MM_PG_kalloc);
	return rc;
}

/* free_pcppages_bulk(): count pages from the cpu's lists, round-robin from
 * list mt, each taken from the tail (coldest). */
static void mm__free_pcppages_bulk(struct mm_machine *m, struct mm_zone *z,
				   struct mm_pcp *pcp, int32_t count, int mt)
{
	count = MM_MIN(pcp->count, count);
	mt--;
	while (count > 0) {
		struct mm_plist *list;
		do {
			if (++mt > MM_MIGRATE_PCPTYPES - 1)
				mt = 0;
			list = &pcp->lists[mt];
		} while (list->head == MM_NIL);
		do {
			uint32_t pfn = list->tail;
			mm__plist_del(m, list, pfn);
			mm__clear(&m->pages[pfn], MM_PG_pcp);
			count--;
			pcp->count--;
			mm__free_one_page(m, z, pfn, 0,
					  mm__pb_mt(m, z, pfn), false);
		} while (count > 0 && list->head != MM_NIL);
	}
}

/* nr_pcp_high() */
static int32_t mm__nr_pcp_high(struct mm_pcp *pcp, const struct mm_zone *z,
			       int32_t batch)
{
	int32_t high = pcp->high =
		MM_MIN(MM_MAX(pcp->high, pcp->high_min), pcp->high_max);

	if (!high)
		return 0;
	if (z->flags & (1u << MM_ZONE_RECLAIM_ACTIVE)) {
		int32_t fc = MM_MAX(pcp->free_count, batch);
		pcp->high = MM_MAX(high - fc, pcp->high_min);
		return MM_MIN(batch << 2, pcp->high);
	}
	if (pcp->high_min == pcp->high_max)
		return high;
	if (z->flags & (1u << MM_ZONE_BELOW_HIGH)) {
		int32_t fc = MM_MAX(pcp->free_count, batch);
		pcp->high = MM_MAX(high - fc, pcp->high_min);
		high = MM_MAX(pcp->count, pcp->high_min);
	} else if (pcp->count >= high) {
		int32_t need = pcp->free_count + batch;
		if (pcp->high < need)
			pcp->high = MM_MIN(MM_MAX(need, pcp->high_min),
					   pcp->high_max);
	}
	return high;
}

/* nr_pcp_free() */
static int32_t mm__nr_pcp_free(const struct mm_pcp *pcp, int32_t batch,
			       int32_t high)
{
	if (high < batch)
		return 1;
	return MM_MIN(MM_MAX(pcp->free_count, batch), high - batch);
}

/* free_frozen_page_commit() for order 0 */
static void mm__free_to_pcp(struct mm_machine *m, struct mm_zone *z, int cpu,
			    uint32_t pfn, int mt)
{
	struct mm_pcp *pcp = &z->pcp[cpu];
	int32_t batch = pcp->batch;

	pcp->alloc_factor >>= 1;
	mm__set(&m->pages[pfn], MM_PG_pcp);
	mm__plist_add(m, &pcp->lists[mt], pfn);
	pcp->count++;
	pcp->flags &= ~MM_PCPF_PREV_FREE_HIGH_ORDER;
	if (pcp->free_count < (batch << MM_PCP_BATCH_SCALE_MAX))
		pcp->free_count++;
	int32_t high = mm__nr_pcp_high(pcp, z, batch);
	if (pcp->count < high)
		return;
	mm__free_pcppages_bulk(m, z, pcp, mm__nr_pcp_free(pcp, batch, high), mt);
	if ((z->flags & (1u << MM_ZONE_BELOW_HIGH)) &&
	    mm__zone_watermark_ok(z, 0, mm_wmark_pages(z, MM_WMARK_HIGH),
				  m->cfg.arch == MM_ARCH_I386 ? MM_I386_MOVABLE
							      : MM_X86_64_MOVABLE,
				  0, z->vm_stat[MM_NR_FREE_PAGES]))
		z->flags &= ~(1u << MM_ZONE_BELOW_HIGH);
}

void mm__free_pages(struct mm_machine *m, uint32_t pfn, unsigned order, int cpu)
{
	struct mm_page *p = &m->pages[pfn];
	struct mm_zone *z = mm_page_zone(m, pfn);

	MM_ASSERT(p->refcount == 1);
	mm__clear(p, MM_PG_head);
	p->private = 0;
	p->refcount = 0;
	p->mapping = 0;
	p->index = 0;
	for (struct mm_page *t = p + 1; t < p + (1u << order); t++)
		mm__clear(t, MM_PG_tail);
	if (m->nr_content)
		mm__content_drop(m, pfn, 1u << order);
	m->events[MM_PGFREE] += 1u << order;

	int mt = mm__pb_mt(m, z, pfn);
	if (order == 0 && mt != MM_MIGRATE_ISOLATE) {
		if (mt >= MM_MIGRATE_PCPTYPES)
			mt = MM_MIGRATE_MOVABLE;
		mm__free_to_pcp(m, z, cpu, pfn, mt);
	} else {
		mm__free_one_page(m, z, pfn, order, mt, false);
	}
}

int mm_free_pages(struct mm_machine *m, uint32_t pfn, unsigned order, int cpu)
{
	if (pfn >= m->nr_pfns || order > MM_MAX_ORDER || cpu < 0 ||
	    cpu >= m->cfg.cpus || (pfn & ((1u << order) - 1)))
		return -MM_EINVAL;
	struct mm_page *p = &m->pages[pfn];
	if (!mm_page_test(p, MM_PG_kalloc) || p->refcount != 1)
		return -MM_EINVAL;
	if (order != (mm_page_test(p, MM_PG_head) ? p->private : 0))
		return -MM_EINVAL;
	mm__clear(p, MM_PG_kalloc);
	mm__free_pages(m, pfn, order, cpu);
	return 0;
}

/* drain_all_pages(): every cpu, every zone. */
void mm_drain_all_pages(struct mm_machine *m)
{
	for (int n = 0; n < m->nr_nodes; n++)
		for (int zi = 0; zi < m->nr_zone_types; zi++) {
			struct mm_zone *z = &m->nodes[n].zones[zi];
			if (!mm_zone_populated(z))
				continue;
			for (int c = 0; c < m->cfg.cpus; c++) {
				struct mm_pcp *pcp = &z->pcp[c];
				while (pcp->count)
					mm__free_pcppages_bulk(
						m, z, pcp,
						MM_MIN(pcp->count,
						       pcp->batch << MM_PCP_BATCH_SCALE_MAX),
						0);
			}
		}
}

uint64_t mm_nr_free_pages(const struct mm_machine *m)
{
	int64_t sum = 0;

	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			sum += m->nodes[n].zones[z].vm_stat[MM_NR_FREE_PAGES];
	return (uint64_t)sum;
}
