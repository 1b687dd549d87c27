/*
 * slab.c — the SLUB allocator over the buddy (after Linux 6.18 mm/slub.c).
 *
 * A cache hands out objects of one size from slabs: 2^order frames taken
 * from the page allocator, cut into `objects` objects.  The order and the
 * objects per slab are chosen by calculate_order() exactly as SLUB does
 * (at least 4 * (fls(cpus) + 1) objects, waste <= 1/16 of the slab, at most
 * order 3), so /proc/slabinfo shows the kernel's objperslab/pagesperslab.
 *
 * Slab life cycle (SLUB's): each cpu has an active slab it allocates from
 * (the per-CPU fast path) and a short list of frozen partial slabs; each
 * node keeps a list of partial slabs.  When the active slab runs out it is
 * dropped (a full slab is on no list), the next comes from the cpu partial
 * list, then from the node's partial list (which also refills the cpu
 * list), then a new slab is allocated.  A free into a full slab freezes it
 * onto the freeing cpu's partial list (flushed to the node when that list
 * is long); a slab that becomes empty on the node list is given back to the
 * buddy once the node keeps min_partial slabs.  Objects of a fresh slab are
 * handed out in address order (no CONFIG_SLAB_FREELIST_RANDOM); frees are
 * LIFO.  Caches created with SLAB_POISON are debug caches: like SLUB's they
 * skip the per-cpu slabs and allocate and free one object at a time on the
 * node partial list.
 *
 * Objects are named by kernel virtual addresses in the direct map
 * (__va(pfn << PAGE_SHIFT) + index * size).  Frames of a slab carry
 * PG_slab, mapping = cache id + 1 and index = slab id.  A double free, a
 * foreign pointer or a pointer into the middle of an object is refused with
 * -MM_EINVAL before anything changes.  In debug builds (and for caches
 * created with SLAB_POISON) each slab keeps a shadow of its objects' bytes;
 * a freed object is filled with POISON_FREE (0x6b, last byte POISON_END
 * 0xa5), which the invariant checker verifies.  The shadow is redundant
 * state (free objects are always poison, nothing writes allocated kernel
 * objects), so it is not part of the digest.
 */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>

#define MM_SLUB_MAX_ORDER MM_PAGE_ALLOC_COSTLY_ORDER
#define MM_MAX_OBJS_PER_PAGE 32767
#define MM_MIN_PARTIAL 5
#define MM_MAX_PARTIAL 10
#define MM_CACHE_LINE 64
#define MM_POISON_FREE 0x6b
#define MM_POISON_END 0xa5
#define MM_SHRINK_PROMOTE_MAX 32

static const struct {
	const char *name;
	uint32_t flag;
} mm_slab_flag_table[] = {
	{"SLAB_HWCACHE_ALIGN", MM_SLAB_HWCACHE_ALIGN},
	{"SLAB_CACHE_DMA", MM_SLAB_CACHE_DMA},
	{"SLAB_RECLAIM_ACCOUNT", MM_SLAB_RECLAIM_ACCOUNT},
	{"SLAB_ACCOUNT", MM_SLAB_ACCOUNT},
	{"SLAB_PANIC", MM_SLAB_PANIC},
	{"SLAB_TYPESAFE_BY_RCU", MM_SLAB_TYPESAFE_BY_RCU},
	{"SLAB_POISON", MM_SLAB_POISON},
};
#define MM_NR_SLAB_FLAGS (sizeof(mm_slab_flag_table) / sizeof(mm_slab_flag_table[0]))

const char *const mm_slab_flag_names[] = {
	"SLAB_HWCACHE_ALIGN", "SLAB_CACHE_DMA", "SLAB_RECLAIM_ACCOUNT",
	"SLAB_ACCOUNT", "SLAB_PANIC", "SLAB_TYPESAFE_BY_RCU", "SLAB_POISON",
	NULL,
};

int mm_slab_flag_parse(const char *name, uint32_t *flags)
{
	for (size_t i = 0; i < MM_NR_SLAB_FLAGS; i++)
		if (strcmp(mm_slab_flag_table[i].name, name) == 0) {
			*flags |= mm_slab_flag_table[i].flag;
			return 0;
		}
	return -MM_EINVAL;
}

/* ---- kernel virtual addresses ---------------------------------------- */

uint64_t mm_page_offset(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_I386 ? 0xC0000000ull
					   : 0xffff888000000000ull;
}

uint64_t mm_pfn_to_virt(const struct mm_machine *m, uint32_t pfn)
{
	return mm_page_offset(m) + ((uint64_t)pfn << MM_PAGE_SHIFT);
}

/* __pa() of a direct-map address as a pfn, or MM_NIL outside the map. */
uint32_t mm__virt_to_pfn(const struct mm_machine *m, uint64_t addr)
{
	uint64_t off = mm_page_offset(m);
	uint64_t lowmem = m->nr_pfns;

	if (m->cfg.arch == MM_ARCH_I386 && lowmem > (896u << 8))
		lowmem = 896u << 8;
	if (addr < off || addr - off >= lowmem << MM_PAGE_SHIFT)
		return MM_NIL;
	return (uint32_t)((addr - off) >> MM_PAGE_SHIFT);
}

/* ---- slab lists (by slab id) ---------------------------------------- */

static void mm__slist_init(struct mm_slab_list *l)
{
	l->head = l->tail = MM_NIL;
	l->count = 0;
}

static void mm__slist_add(struct mm_machine *m, struct mm_slab_list *l,
			  uint32_t id, bool tail)
{
	struct mm_slab *s = &m->slabs[id];

	if (tail) {
		s->next = MM_NIL;
		s->prev = l->tail;
		if (l->tail != MM_NIL)
			m->slabs[l->tail].next = id;
		else
			l->head = id;
		l->tail = id;
	} else {
		s->prev = MM_NIL;
		s->next = l->head;
		if (l->head != MM_NIL)
			m->slabs[l->head].prev = id;
		else
			l->tail = id;
		l->head = id;
	}
	l->count++;
}

static void mm__slist_del(struct mm_machine *m, struct mm_slab_list *l,
			  uint32_t id)
{
	struct mm_slab *s = &m->slabs[id];

	MM_ASSERT(l->count > 0);
	if (s->prev != MM_NIL)
		m->slabs[s->prev].next = s->next;
	else
		l->head = s->next;
	if (s->next != MM_NIL)
		m->slabs[s->next].prev = s->prev;
	else
		l->tail = s->prev;
	s->next = s->prev = MM_NIL;
	l->count--;
}

/* ---- sizing (calculate_sizes / calculate_order) ---------------------- */

static unsigned mm__get_order(uint64_t size)
{
	unsigned order = 0;

	while (((uint64_t)MM_PAGE_SIZE << order) < size)
		order++;
	return order;
}

static int mm__fls(uint64_t x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

static uint32_t mm__order_objects(unsigned order, uint32_t size)
{
	return (uint32_t)(((uint64_t)MM_PAGE_SIZE << order) / size);
}

static unsigned mm__calc_slab_order(uint32_t size, unsigned min_order,
				    unsigned max_order, unsigned fract)
{
	unsigned order;

	for (order = min_order; order <= max_order; order++) {
		uint32_t slab_size = MM_PAGE_SIZE << order;
		if (slab_size % size <= slab_size / fract)
			break;
	}
	return order;
}

static int mm__calculate_order(const struct mm_machine *m, uint32_t size)
{
	uint32_t min_objects = 4 * (uint32_t)(mm__fls((uint64_t)m->cfg.cpus) + 1);
	uint32_t max_objects = MM_MAX(mm__order_objects(MM_SLUB_MAX_ORDER, size), 1u);

	min_objects = MM_MIN(min_objects, max_objects);
	unsigned min_order = mm__get_order((uint64_t)min_objects * size);
	if (mm__order_objects(min_order, size) > MM_MAX_OBJS_PER_PAGE)
		return (int)mm__get_order((uint64_t)size * MM_MAX_OBJS_PER_PAGE) - 1;
	for (unsigned fract = 16; fract > 1; fract /= 2) {
		unsigned order = mm__calc_slab_order(size, min_order,
						     MM_SLUB_MAX_ORDER, fract);
		if (order <= MM_SLUB_MAX_ORDER)
			return (int)order;
	}
	unsigned order = mm__get_order(size);
	return order <= MM_MAX_ORDER ? (int)order : -1;
}

static uint32_t mm__ptr_size(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_I386 ? 4 : 8;
}

#define MM_ALIGN(x, a) (((x) + (a) - 1) / (a) * (a))

/*
 * kmem_cache_debug(): a cache created with a debug flag (SLAB_POISON is the
 * only one modelled) takes SLUB's slow path for every object — no cpu slab,
 * no cpu partial list; objects come from and go back to the node's partial
 * list (alloc_single_from_partial(), free_to_partial_list()).  Debug builds
 * poison every cache's free objects but keep the fast paths (slab.c header).
 */
static bool mm__debug_cache(const struct mm_kmem_cache *s)
{
	return s->flags & MM_SLAB_POISON;
}

/* calculate_sizes() + kmem_cache_open(): returns 0 or -MM_EINVAL. */
static int mm__cache_open(const struct mm_machine *m, struct mm_kmem_cache *s,
			  bool kmalloc)
{
	uint32_t align = s->align;

	/* create_boot_cache(): a kmalloc cache is aligned to the largest
	 * power of two dividing its size (96 -> 32, 192 -> 64, 2^n -> 2^n). */
	if (kmalloc)
		align = MM_MAX(align, s->object_size & -s->object_size);
	/* calculate_alignment(): the cache line (halved while the object
	 * fits in half of it), never below ARCH_SLAB_MINALIGN (8, the
	 * __alignof__ of unsigned long long on both arches, so also an
	 * explicit align of 4 on i386), rounded to a pointer. */
	if (s->flags & MM_SLAB_HWCACHE_ALIGN) {
		uint32_t ralign = MM_CACHE_LINE;
		while (s->object_size <= ralign / 2)
			ralign /= 2;
		align = MM_MAX(align, ralign);
	}
	align = MM_MAX(align, 8u);
	align = MM_ALIGN(align, mm__ptr_size(m));
	uint32_t size = MM_ALIGN(s->object_size, mm__ptr_size(m));
	/* The free pointer moves out of the object when the object must stay
	 * intact while free (RCU-typesafe, poisoned). */
	if (s->flags & (MM_SLAB_TYPESAFE_BY_RCU | MM_SLAB_POISON))
		size += mm__ptr_size(m);
	size = MM_ALIGN(size, align);
	int order = mm__calculate_order(m, size);
	if (order < 0)
		return -MM_EINVAL;
	s->align = align;
	s->size = size;
	s->order = (uint8_t)order;
	s->objects = (uint16_t)mm__order_objects((unsigned)order, size);
	s->min_order = (uint8_t)mm__get_order(size);
	s->min_objects = (uint16_t)mm__order_objects(s->min_order, size);
	s->min_partial = (uint32_t)MM_MIN(MM_MAX(mm__fls(size) - 1, 0) / 2, MM_MAX_PARTIAL);
	s->min_partial = MM_MAX(s->min_partial, (uint32_t)MM_MIN_PARTIAL);
	/* set_cpu_partial(): none for debug caches (kmem_cache_debug():
	 * SLAB_POISON here), which never use the per-cpu slabs. */
	uint32_t nr_objects = mm__debug_cache(s) ? 0
			      : size >= MM_PAGE_SIZE ? 6 : size >= 1024 ? 24
			      : size >= 256 ? 52 : 120;
	s->cpu_partial_slabs = (nr_objects * 2 + s->objects - 1) / s->objects;
	s->gfp = 0;
	if (s->flags & MM_SLAB_CACHE_DMA)
		s->gfp |= MM___GFP_DMA;
	if (s->flags & MM_SLAB_RECLAIM_ACCOUNT)
		s->gfp |= MM___GFP_RECLAIMABLE;
	return 0;
}

static int mm__cache_new(struct mm_machine *m, const char *name, uint32_t size,
			 uint32_t align, uint32_t flags, bool builtin,
			 bool kmalloc)
{
	if (!name[0] || strlen(name) >= MM_SLAB_NAME_MAX)
		return -MM_EINVAL;
	if (size < 1 || size > (MM_PAGE_SIZE << MM_MAX_ORDER))
		return -MM_EINVAL;
	if (align && ((align & (align - 1)) || align > MM_PAGE_SIZE))
		return -MM_EINVAL;
	if (mm_kmem_cache_lookup(m, name) >= 0)
		return -MM_EEXIST;
	int id = 0;
	while (id < MM_SLAB_MAX_CACHES && m->caches[id])
		id++;
	if (id == MM_SLAB_MAX_CACHES)
		return -MM_ENOMEM;
	struct mm_kmem_cache *s = calloc(1, sizeof(*s));
	if (!s)
		return -MM_ENOMEM;
	s->cpu = calloc((size_t)m->cfg.cpus, sizeof(*s->cpu));
	if (!s->cpu)
		goto err_free_cache;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->id = (uint32_t)id;
	s->seq = m->cache_seq++;
	s->object_size = size;
	s->align = align;
	s->flags = flags;
	s->builtin = builtin;
	if (mm__cache_open(m, s, kmalloc))
		goto err_free_cpu;
	for (int c = 0; c < m->cfg.cpus; c++) {
		s->cpu[c].slab = MM_NIL;
		mm__slist_init(&s->cpu[c].partial);
	}
	for (int n = 0; n < MM_MAX_NODES; n++)
		mm__slist_init(&s->node[n].partial);
	m->caches[id] = s;
	return id;

err_free_cpu:
	free(s->cpu);
err_free_cache:
	free(s);
	return -MM_EINVAL;
}

int mm_kmem_cache_create(struct mm_machine *m, const char *name, uint32_t size,
			 uint32_t align, uint32_t flags)
{
	return mm__cache_new(m, name, size, align, flags, false, false);
}

int mm_kmem_cache_lookup(const struct mm_machine *m, const char *name)
{
	for (int id = 0; id < MM_SLAB_MAX_CACHES; id++)
		if (m->caches[id] && strcmp(m->caches[id]->name, name) == 0)
			return id;
	return -MM_ENOENT;
}

static struct mm_kmem_cache *mm__cache(const struct mm_machine *m, int id)
{
	return id >= 0 && id < MM_SLAB_MAX_CACHES ? m->caches[id] : NULL;
}

/* ---- slabs ------------------------------------------------------------- */

static uint32_t mm__slab_record(struct mm_machine *m)
{
	if (m->free_slab_ids != MM_NIL) {
		uint32_t id = m->free_slab_ids;
		m->free_slab_ids = m->slabs[id].next;
		return id;
	}
	if (mm__grow((void **)&m->slabs, &m->cap_slabs, m->nr_slabs,
		     sizeof(*m->slabs)))
		return MM_NIL;
	return m->nr_slabs++;
}

/* Debug builds poison every cache's free objects (like slub_debug=P, but
 * without moving the free pointer, so sizes match the reference kernel);
 * SLAB_POISON caches are poisoned in every build. */
static bool mm__slab_poisons(const struct mm_kmem_cache *s)
{
#ifdef NDEBUG
	return s->flags & MM_SLAB_POISON;
#else
	(void)s;
	return true;
#endif
}

static void mm__poison(const struct mm_kmem_cache *s, struct mm_slab *sl,
		       uint32_t idx)
{
	if (!sl->shadow)
		return;
	uint8_t *o = sl->shadow + (size_t)idx * s->object_size;
	memset(o, MM_POISON_FREE, s->object_size - 1);
	o[s->object_size - 1] = MM_POISON_END;
}

static void mm__slab_stat(struct mm_machine *m, const struct mm_kmem_cache *s,
			  int node, int64_t pages)
{
	int item = (s->flags & MM_SLAB_RECLAIM_ACCOUNT) ? MM_NR_SLAB_RECLAIMABLE
							: MM_NR_SLAB_UNRECLAIMABLE;
	m->nodes[node].vm_stat[item] += pages;
}

/* allocate_slab(): the preferred order without reclaim, then the minimum. */
static uint32_t mm__new_slab(struct mm_machine *m, struct mm_kmem_cache *s,
			     uint32_t gfp, int cpu)
{
	struct mm_alloc_result r;
	/* new_slab(): only GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK of the
	 * caller's flags reach the page allocator; zone and migratetype come
	 * from the cache (s->allocflags). */
	uint32_t flags = (gfp & (MM___GFP_RECLAIM | MM___GFP_HIGH | MM___GFP_IO |
				 MM___GFP_FS | MM___GFP_NOWARN |
				 MM___GFP_RETRY_MAYFAIL | MM___GFP_NOFAIL |
				 MM___GFP_NORETRY | MM___GFP_MEMALLOC |
				 MM___GFP_NOMEMALLOC | MM___GFP_HARDWALL |
				 MM___GFP_THISNODE)) | s->gfp;
	unsigned order = s->order;
	uint32_t try = (flags | MM___GFP_NOWARN | MM___GFP_NORETRY) &
		       ~MM___GFP_NOFAIL;
	if ((try & MM___GFP_DIRECT_RECLAIM) && s->order > s->min_order)
		try = (try | MM___GFP_NOMEMALLOC) & ~MM___GFP_RECLAIM;
	int rc = mm__alloc_pages(m, try | (order ? MM___GFP_COMP : 0), order,
				 cpu, -1, &r);
	/* allocate_slab() retries with s->min and the full flags whenever
	 * the first try fails, even when both orders are the same. */
	if (rc) {
		order = s->min_order;
		rc = mm__alloc_pages(m, flags | (order ? MM___GFP_COMP : 0), order,
				     cpu, -1, &r);
	}
	if (rc)
		return MM_NIL;
	uint32_t id = mm__slab_record(m);
	if (id == MM_NIL)
		goto err_free_pages;
	struct mm_slab *sl = &m->slabs[id];
	memset(sl, 0, sizeof(*sl));
	sl->pfn = r.pfn;
	sl->cache = s->id;
	sl->next = sl->prev = MM_NIL;
	sl->order = (uint8_t)order;
	sl->node = (uint8_t)r.node;
	sl->objects = order == s->order ? s->objects : s->min_objects;
	sl->free_next = malloc(sl->objects * sizeof(uint16_t));
	if (!sl->free_next)
		goto err_free_record;
	if (mm__slab_poisons(s)) {
		sl->shadow = malloc((size_t)sl->objects * s->object_size);
		if (!sl->shadow)
			goto err_free_next;
	}
	for (uint32_t i = 0; i < sl->objects; i++) {
		sl->free_next[i] = i + 1 < sl->objects ? (uint16_t)(i + 1)
						       : MM_SLAB_OBJ_END;
		mm__poison(s, sl, i);
	}
	sl->freelist = 0;
	for (uint32_t i = 0; i < (1u << order); i++) {
		struct mm_page *p = &m->pages[r.pfn + i];
		mm__set(p, MM_PG_slab);
		p->mapping = s->id + 1;
		p->index = id;
	}
	s->node[r.node].nr_slabs++;
	s->node[r.node].total_objects += sl->objects;
	mm__slab_stat(m, s, r.node, 1 << order);
	return id;

err_free_next:
	free(sl->free_next);
err_free_record:
	sl->pfn = MM_NIL;
	sl->next = m->free_slab_ids;
	m->free_slab_ids = id;
err_free_pages:
	mm__free_pages(m, r.pfn, order, cpu);
	return MM_NIL;
}

/* discard_slab(): frames back to the buddy, the record to the free chain. */
static void mm__discard_slab(struct mm_machine *m, struct mm_kmem_cache *s,
			     uint32_t id, int cpu)
{
	struct mm_slab *sl = &m->slabs[id];
	uint32_t pfn = sl->pfn;
	unsigned order = sl->order;

	MM_ASSERT(sl->inuse == 0);
	for (uint32_t i = 0; i < (1u << order); i++) {
		struct mm_page *p = &m->pages[pfn + i];
		mm__clear(p, MM_PG_slab);
		p->mapping = 0;
		p->index = 0;
	}
	s->node[sl->node].nr_slabs--;
	s->node[sl->node].total_objects -= sl->objects;
	mm__slab_stat(m, s, sl->node, -(1 << order));
	free(sl->free_next);
	free(sl->shadow);
	sl->free_next = NULL;
	sl->shadow = NULL;
	sl->pfn = MM_NIL;
	sl->next = m->free_slab_ids;
	m->free_slab_ids = id;
	mm__free_pages(m, pfn, order, cpu);
}

/* Unfreezes one slab into its node (or discards it when empty and the node
 * has min_partial slabs already). */
static void mm__unfreeze(struct mm_machine *m, struct mm_kmem_cache *s,
			 uint32_t id, int cpu, bool tail)
{
	struct mm_slab *sl = &m->slabs[id];
	struct mm_kmem_cache_node *n = &s->node[sl->node];

	if (sl->inuse == 0 && n->partial.count >= s->min_partial) {
		mm__discard_slab(m, s, id, cpu);
	} else if (sl->inuse < sl->objects) {
		sl->state = MM_SLAB_PARTIAL;
		sl->cpu = 0;
		mm__slist_add(m, &n->partial, id, tail);
	} else {
		sl->state = MM_SLAB_FULL;
		sl->cpu = 0;
	}
}

/* Gives back the slabs of a chain linked through slabs[].next (a stack
 * of discards built by the callers below), in chain order. */
static void mm__discard_chain(struct mm_machine *m, struct mm_kmem_cache *s,
			      uint32_t id, int cpu)
{
	while (id != MM_NIL) {
		uint32_t next = m->slabs[id].next;
		mm__discard_slab(m, s, id, cpu);
		id = next;
	}
}

/* __put_partials(): the cpu's frozen partial slabs go to their nodes'
 * tails; empty ones over min_partial are discarded afterwards, last
 * found first (Linux stacks them on slab_to_discard). */
static void mm__put_partials(struct mm_machine *m, struct mm_kmem_cache *s,
			     int cpu)
{
	struct mm_slab_list *l = &s->cpu[cpu].partial;
	uint32_t discard = MM_NIL;

	while (l->head != MM_NIL) {
		uint32_t id = l->head;
		struct mm_slab *sl = &m->slabs[id];
		mm__slist_del(m, l, id);
		if (sl->inuse == 0 &&
		    s->node[sl->node].partial.count >= s->min_partial) {
			sl->next = discard;
			discard = id;
			continue;
		}
		mm__unfreeze(m, s, id, cpu, true);
	}
	mm__discard_chain(m, s, discard, cpu);
}

/* put_cpu_partial(): freeze a slab onto the cpu's partial list. */
static void mm__put_cpu_partial(struct mm_machine *m, struct mm_kmem_cache *s,
				uint32_t id, int cpu)
{
	struct mm_slab_list *l = &s->cpu[cpu].partial;

	if (l->count >= s->cpu_partial_slabs)
		mm__put_partials(m, s, cpu);
	m->slabs[id].state = MM_SLAB_CPU_PARTIAL;
	m->slabs[id].cpu = (int8_t)cpu;
	mm__slist_add(m, l, id, false);
}

static uint64_t mm__obj_addr(const struct mm_machine *m,
			     const struct mm_kmem_cache *s,
			     const struct mm_slab *sl, uint32_t idx)
{
	return mm_pfn_to_virt(m, sl->pfn) + (uint64_t)idx * s->size;
}

/* Takes the first free object of a slab that has one. */
static uint32_t mm__take_object(const struct mm_kmem_cache *s,
				struct mm_slab *sl)
{
	uint32_t idx = sl->freelist;

	MM_ASSERT(idx != MM_SLAB_OBJ_END);
	sl->freelist = sl->free_next[idx];
	sl->free_next[idx] = MM_SLAB_OBJ_USED;
	sl->inuse++;
	(void)s;
	return idx;
}

/* get_partial_node(): the first node partial slab becomes the cpu slab,
 * more go to the cpu partial list until it holds half its limit. */
static uint32_t mm__get_partial(struct mm_machine *m, struct mm_kmem_cache *s,
				int node, int cpu)
{
	struct mm_slab_list *l = &s->node[node].partial;
	uint32_t first = MM_NIL, slabs = 0;

	while (l->head != MM_NIL) {
		uint32_t id = l->head;
		mm__slist_del(m, l, id);
		if (first == MM_NIL) {
			first = id;
			if (s->cpu_partial_slabs == 0)
				break;
			continue;
		}
		mm__put_cpu_partial(m, s, id, cpu);
		if (++slabs > s->cpu_partial_slabs / 2)
			break;
	}
	return first;
}

/* The debug caches' allocation (___slab_alloc() under kmem_cache_debug()):
 * alloc_single_from_partial() from the first partial slab of the cpu's
 * node, else alloc_single_from_new_slab(), which puts a new slab that
 * still has free objects at the head of its node's list.  A slab that
 * fills up leaves the list (the full list exists only for
 * SLAB_STORE_USER). */
static int mm__alloc_debug(struct mm_machine *m, struct mm_kmem_cache *s,
			   uint32_t gfp, int cpu, uint64_t *addr)
{
	uint32_t id = s->node[m->cpu_node[cpu]].partial.head;

	if (id == MM_NIL) {
		id = mm__new_slab(m, s, gfp, cpu);
		if (id == MM_NIL)
			return -MM_ENOMEM;
		m->slabs[id].state = MM_SLAB_PARTIAL;
		m->slabs[id].cpu = 0;
		mm__slist_add(m, &s->node[m->slabs[id].node].partial, id, false);
	}
	struct mm_slab *sl = &m->slabs[id];
	uint32_t idx = mm__take_object(s, sl);
	if (sl->inuse == sl->objects) {
		mm__slist_del(m, &s->node[sl->node].partial, id);
		sl->state = MM_SLAB_FULL;
	}
	*addr = mm__obj_addr(m, s, sl, idx);
	return 0;
}

/* ___slab_alloc(): a cache without debug flags whose cpu has no active
 * slab with a free object.  A full active slab leaves the cpu, then the
 * next slab comes from the cpu partial list, the node, or the buddy. */
static __attribute__((noinline)) int
mm__cache_alloc_slow(struct mm_machine *m, struct mm_kmem_cache *s,
		     uint32_t gfp, int cpu, uint64_t *addr)
{
	struct mm_kmem_cache_cpu *c = &s->cpu[cpu];
	uint32_t id = c->slab;
	if (id != MM_NIL && m->slabs[id].freelist == MM_SLAB_OBJ_END) {
		/* The active slab is full: it leaves the cpu, on no list. */
		m->slabs[id].state = MM_SLAB_FULL;
		m->slabs[id].cpu = 0;
		c->slab = id = MM_NIL;
	}
	if (id == MM_NIL && c->partial.head != MM_NIL) {
		id = c->partial.head;
		mm__slist_del(m, &c->partial, id);
	}
	if (id == MM_NIL)
		id = mm__get_partial(m, s, m->cpu_node[cpu], cpu);
	if (id == MM_NIL)
		id = mm__new_slab(m, s, gfp, cpu);
	if (id == MM_NIL)
		return -MM_ENOMEM;
	struct mm_slab *sl = &m->slabs[id];
	sl->state = MM_SLAB_CPU;
	sl->cpu = (int8_t)cpu;
	c->slab = id;
	uint32_t idx = mm__take_object(s, sl);
	*addr = mm__obj_addr(m, s, sl, idx);
	return 0;
}

/* slab_alloc() for a valid cache and cpu.  The fast path (inlined into
 * kmalloc): the cpu's active slab has a free object; that slab is already
 * MM_SLAB_CPU and owned by cpu (the checker's slab-state invariant). */
static inline int mm__cache_alloc(struct mm_machine *m,
				  struct mm_kmem_cache *s, uint32_t gfp,
				  int cpu, uint64_t *addr)
{
	if (mm__debug_cache(s))
		return mm__alloc_debug(m, s, gfp, cpu, addr);
	uint32_t id = s->cpu[cpu].slab;
	if (id == MM_NIL || m->slabs[id].freelist == MM_SLAB_OBJ_END)
		return mm__cache_alloc_slow(m, s, gfp, cpu, addr);
	struct mm_slab *sl = &m->slabs[id];
	MM_ASSERT(sl->state == MM_SLAB_CPU && sl->cpu == cpu);
	*addr = mm__obj_addr(m, s, sl, mm__take_object(s, sl));
	return 0;
}

int mm_kmem_cache_alloc(struct mm_machine *m, int cache, uint32_t gfp, int cpu,
			uint64_t *addr)
{
	struct mm_kmem_cache *s = mm__cache(m, cache);

	if (!s)
		return -MM_ENOENT;
	if (cpu < 0 || cpu >= m->cfg.cpus)
		return -MM_EINVAL;
	return mm__cache_alloc(m, s, gfp, cpu, addr);
}

/* mm__find_object() for addr's frame pfn (mm__virt_to_pfn(m, addr)). */
static inline int mm__find_object_at(const struct mm_machine *m, int cache,
				     uint64_t addr, uint32_t pfn,
				     uint32_t *slab, uint32_t *idx)
{
	if (pfn == MM_NIL || !mm_page_test(&m->pages[pfn], MM_PG_slab))
		return -MM_EINVAL;
	uint32_t id = m->pages[pfn].index;
	const struct mm_slab *sl = &m->slabs[id];
	if (cache >= 0 && sl->cache != (uint32_t)cache)
		return -MM_EINVAL;
	const struct mm_kmem_cache *s = m->caches[sl->cache];
	/* obj_to_index(): pfn is one of the slab's frames, so off < 4 KiB <<
	 * MM_MAX_ORDER fits 32 bits; power-of-two strides (every kmalloc-2^n)
	 * shift instead of dividing. */
	uint32_t off = (uint32_t)(addr - mm_pfn_to_virt(m, sl->pfn));
	uint32_t size = s->size;
	uint32_t i = size & (size - 1) ? off / size
				       : off >> __builtin_ctz(size);
	if (off != i * size || i >= sl->objects)
		return -MM_EINVAL;
	if (sl->free_next[i] != MM_SLAB_OBJ_USED)
		return -MM_EINVAL; /* double free */
	*slab = id;
	*idx = i;
	return 0;
}

/* Resolves an object address to (slab id, index); -MM_EINVAL if addr is
 * not the start of an allocated object of cache (any cache if < 0). */
static int mm__find_object(const struct mm_machine *m, int cache, uint64_t addr,
			   uint32_t *slab, uint32_t *idx)
{
	return mm__find_object_at(m, cache, addr, mm__virt_to_pfn(m, addr), slab,
				  idx);
}

/* What a free does to a slab that is not frozen (or of a debug cache),
 * after the object went back on its freelist. */
static __attribute__((noinline)) void
mm__slab_free_slow(struct mm_machine *m, struct mm_kmem_cache *s, uint32_t id,
		   int cpu, bool was_full)
{
	struct mm_slab *sl = &m->slabs[id];

	if (mm__debug_cache(s)) {
		/* free_to_partial_list(): an empty slab goes when the node
		 * holds min_partial slabs, wherever it was; a full one that
		 * stays joins the node list's tail. */
		struct mm_kmem_cache_node *n = &s->node[sl->node];
		bool discard = sl->inuse == 0 && n->partial.count >= s->min_partial;
		if (was_full && !discard) {
			sl->state = MM_SLAB_PARTIAL;
			mm__slist_add(m, &n->partial, id, true);
		} else if (!was_full && discard) {
			mm__slist_del(m, &n->partial, id);
		}
		if (discard)
			mm__discard_slab(m, s, id, cpu);
		return;
	}
	if (was_full) {
		mm__put_cpu_partial(m, s, id, cpu);
		return;
	}
	struct mm_kmem_cache_node *n = &s->node[sl->node];
	if (sl->inuse == 0 && n->partial.count >= s->min_partial) {
		mm__slist_del(m, &n->partial, id);
		mm__discard_slab(m, s, id, cpu);
	}
}

/* slab_free(): the object goes back on its slab's freelist (LIFO) and is
 * poisoned; a frozen slab (a cpu's active or partial slab) needs nothing
 * more — the fast path, inlined into kfree. */
static inline void mm__slab_free(struct mm_machine *m, struct mm_kmem_cache *s,
				 uint32_t id, uint32_t idx, int cpu)
{
	struct mm_slab *sl = &m->slabs[id];
	bool was_full = sl->inuse == sl->objects;

	sl->free_next[idx] = sl->freelist;
	sl->freelist = (uint16_t)idx;
	sl->inuse--;
	mm__poison(s, sl, idx);
	if (!mm__debug_cache(s) &&
	    (sl->state == MM_SLAB_CPU || sl->state == MM_SLAB_CPU_PARTIAL))
		return;
	mm__slab_free_slow(m, s, id, cpu, was_full);
}

int mm_kmem_cache_free(struct mm_machine *m, int cache, uint64_t addr, int cpu)
{
	struct mm_kmem_cache *s = mm__cache(m, cache);
	uint32_t id, idx;

	if (!s)
		return -MM_ENOENT;
	if (cpu < 0 || cpu >= m->cfg.cpus)
		return -MM_EINVAL;
	if (mm__find_object(m, cache, addr, &id, &idx))
		return -MM_EINVAL;
	mm__slab_free(m, s, id, idx, cpu);
	return 0;
}

/* flush_all(): every cpu's active slab and partial list to the nodes. */
static void mm__flush_all(struct mm_machine *m, struct mm_kmem_cache *s)
{
	for (int c = 0; c < m->cfg.cpus; c++) {
		uint32_t id = s->cpu[c].slab;
		if (id != MM_NIL) {
			s->cpu[c].slab = MM_NIL;
			mm__unfreeze(m, s, id, c, false);
		}
		mm__put_partials(m, s, c);
	}
}

/* Pages held by a cache's slabs. */
static uint64_t mm__cache_pages(const struct mm_machine *m,
				const struct mm_kmem_cache *s)
{
	uint64_t pages = 0;

	for (uint32_t id = 0; id < m->nr_slabs; id++)
		if (m->slabs[id].pfn != MM_NIL && m->slabs[id].cache == s->id)
			pages += 1u << m->slabs[id].order;
	return pages;
}

/* __kmem_cache_shrink(): flush_all(), then per node the empty partial
 * slabs move to a discard list (list_move: the last found leads) and are
 * freed after the fullest slabs are promoted to the list head.  The
 * answer counts every page given back, flush_all()'s discards included. */
int mm_kmem_cache_shrink(struct mm_machine *m, int cache)
{
	struct mm_kmem_cache *s = mm__cache(m, cache);

	if (!s)
		return -MM_ENOENT;
	uint64_t before = mm__cache_pages(m, s);
	mm__flush_all(m, s);
	for (int n = 0; n < m->nr_nodes; n++) {
		struct mm_slab_list *l = &s->node[n].partial;
		struct mm_slab_list promote[MM_SHRINK_PROMOTE_MAX];
		uint32_t discard = MM_NIL;
		for (int i = 0; i < MM_SHRINK_PROMOTE_MAX; i++)
			mm__slist_init(&promote[i]);
		uint32_t id = l->head;
		while (id != MM_NIL) {
			uint32_t next = m->slabs[id].next;
			struct mm_slab *sl = &m->slabs[id];
			int free_objs = sl->objects - sl->inuse;
			if (sl->inuse == 0) {
				mm__slist_del(m, l, id);
				sl->next = discard;
				discard = id;
			} else if (free_objs <= MM_SHRINK_PROMOTE_MAX) {
				mm__slist_del(m, l, id);
				mm__slist_add(m, &promote[free_objs - 1], id, false);
			}
			id = next;
		}
		/* Fullest slabs first: promote[0] (one free object) leads. */
		for (int i = MM_SHRINK_PROMOTE_MAX - 1; i >= 0; i--)
			while (promote[i].tail != MM_NIL) {
				uint32_t t = promote[i].tail;
				mm__slist_del(m, &promote[i], t);
				mm__slist_add(m, l, t, false);
			}
		mm__discard_chain(m, s, discard, 0);
	}
	return (int)(before - mm__cache_pages(m, s));
}

int mm_kmem_cache_destroy(struct mm_machine *m, int cache)
{
	struct mm_kmem_cache *s = mm__cache(m, cache);

	if (!s)
		return -MM_ENOENT;
	if (s->builtin)
		return -MM_EPERM;
	for (uint32_t id = 0; id < m->nr_slabs; id++)
		if (m->slabs[id].pfn != MM_NIL && m->slabs[id].cache == s->id &&
		    m->slabs[id].inuse)
			return -MM_EBUSY;
	mm__flush_all(m, s);
	/* free_partial(): the (empty) partial slabs are list_add()ed to a
	 * discard list, so they are freed last first. */
	for (int n = 0; n < m->nr_nodes; n++) {
		uint32_t discard = MM_NIL;
		while (s->node[n].partial.head != MM_NIL) {
			uint32_t id = s->node[n].partial.head;
			mm__slist_del(m, &s->node[n].partial, id);
			m->slabs[id].next = discard;
			discard = id;
		}
		mm__discard_chain(m, s, discard, 0);
	}
	m->caches[cache] = NULL;
	free(s->cpu);
	free(s);
	return 0;
}

/* ---- kmalloc ------------------------------------------------------------ */

/* kmalloc_size_index[]: sizes up to 192 in 8-byte steps → cache index. */
static const uint8_t mm_kmalloc_size_index[24] = {
	3, 4, 5, 5, 6, 6, 6, 6, 1, 1, 1, 1,
	7, 7, 7, 7, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* kmalloc_index(): the size class of 1 <= size <= 8 KiB. */
static int mm__kmalloc_index(uint64_t size)
{
	return size <= 192 ? mm_kmalloc_size_index[(size - 1) / 8]
			   : mm__fls(size - 1);
}

static uint32_t mm__kmalloc_size(int index)
{
	return index == 1 ? 96 : index == 2 ? 192 : 1u << index;
}

static enum mm_kmalloc_type mm__kmalloc_type(uint32_t gfp)
{
	if (!(gfp & (MM___GFP_RECLAIMABLE | MM___GFP_DMA | MM___GFP_ACCOUNT)))
		return MM_KMALLOC_NORMAL;
	if (gfp & MM___GFP_DMA)
		return MM_KMALLOC_DMA;
	if (gfp & MM___GFP_RECLAIMABLE)
		return MM_KMALLOC_RECLAIM;
	return MM_KMALLOC_CGROUP;
}

/* kmalloc_large(): compound pages straight from the buddy (kept out of
 * kmalloc's fast path). */
static __attribute__((noinline)) int
mm__kmalloc_large(struct mm_machine *m, uint64_t size, uint32_t gfp, int cpu,
		  uint64_t *addr)
{
	unsigned order = mm__get_order(size);
	struct mm_alloc_result r;

	if (order > MM_MAX_ORDER)
		return -MM_ENOMEM;
	/* GFP_SLAB_BUG_MASK (__GFP_DMA32 | __GFP_HIGHMEM) is cleared by
	 * kmalloc_fix_flags(). */
	int rc = mm__alloc_pages(m, (gfp & ~(MM___GFP_HIGHMEM | MM___GFP_DMA32)) |
				 MM___GFP_COMP, order, cpu, -1, &r);
	if (rc)
		return rc;
	mm__set(&m->pages[r.pfn], MM_PG_large_kmalloc);
	m->pages[r.pfn].private = order;
	m->nodes[r.node].vm_stat[MM_NR_SLAB_UNRECLAIMABLE] += 1 << order;
	*addr = mm_pfn_to_virt(m, r.pfn);
	return 0;
}

int mm_kmalloc(struct mm_machine *m, uint64_t size, uint32_t gfp, int cpu,
	       uint64_t *addr, int *cache)
{
	*cache = -1;
	if (cpu < 0 || cpu >= m->cfg.cpus)
		return -MM_EINVAL;
	if (size == 0) {
		*addr = MM_ZERO_SIZE_PTR;
		return 0;
	}
	if (size > (1u << MM_KMALLOC_SHIFT_HIGH))
		return mm__kmalloc_large(m, size, gfp, cpu, addr);
	int id = m->kmalloc_caches[mm__kmalloc_type(gfp)][mm__kmalloc_index(size)];
	*cache = id;
	return mm__cache_alloc(m, m->caches[id], gfp, cpu, addr);
}

/* The kmalloc caches are the first MM_NR_KMALLOC_CACHES created at boot,
 * so they hold ids [0, MM_NR_KMALLOC_CACHES) for good (builtin caches are
 * never destroyed); mm__slab_init() asserts it. */
#define MM_NR_KMALLOC_CACHES (MM_NR_KMALLOC_TYPES * MM_KMALLOC_SHIFT_HIGH)

static bool mm__is_kmalloc_cache(const struct mm_kmem_cache *s)
{
	return s->id < MM_NR_KMALLOC_CACHES;
}

/* kfree() of a kmalloc_large() block (kept out of kfree's fast path). */
static __attribute__((noinline)) int
mm__kfree_large(struct mm_machine *m, uint64_t addr, uint32_t pfn, int cpu)
{
	if (addr & (MM_PAGE_SIZE - 1))
		return -MM_EINVAL;
	unsigned order = m->pages[pfn].private;
	int node = m->pages[pfn].flags >> MM_PAGE_ZONE_SHIFT;
	m->nodes[node / MM_MAX_ZONES].vm_stat[MM_NR_SLAB_UNRECLAIMABLE] -=
		1 << order;
	mm__clear(&m->pages[pfn], MM_PG_large_kmalloc);
	mm__free_pages(m, pfn, order, cpu);
	return 0;
}

int mm_kfree(struct mm_machine *m, uint64_t addr, int cpu)
{
	uint32_t id, idx;

	if (cpu < 0 || cpu >= m->cfg.cpus)
		return -MM_EINVAL;
	if (addr <= MM_ZERO_SIZE_PTR)
		return 0;
	uint32_t pfn = mm__virt_to_pfn(m, addr);
	if (pfn != MM_NIL && mm_page_test(&m->pages[pfn], MM_PG_large_kmalloc))
		return mm__kfree_large(m, addr, pfn, cpu);
	if (mm__find_object_at(m, -1, addr, pfn, &id, &idx))
		return -MM_EINVAL;
	struct mm_kmem_cache *s = m->caches[m->slabs[id].cache];
	if (!mm__is_kmalloc_cache(s))
		return -MM_EINVAL; /* kfree() of a kmem_cache_alloc() object */
	mm__slab_free(m, s, id, idx, cpu);
	return 0;
}

int64_t mm_ksize(const struct mm_machine *m, uint64_t addr)
{
	uint32_t id, idx;
	uint32_t pfn = mm__virt_to_pfn(m, addr);

	if (addr <= MM_ZERO_SIZE_PTR)
		return 0; /* ksize(NULL), ksize(ZERO_SIZE_PTR) */
	if (pfn != MM_NIL && mm_page_test(&m->pages[pfn], MM_PG_large_kmalloc) &&
	    !(addr & (MM_PAGE_SIZE - 1)))
		return (int64_t)MM_PAGE_SIZE << m->pages[pfn].private;
	if (mm__find_object(m, -1, addr, &id, &idx))
		return -MM_EINVAL;
	const struct mm_kmem_cache *s = m->caches[m->slabs[id].cache];
	/* slab_ksize(): the object size for SLAB_POISON (the padding is
	 * checked), s->inuse (the word-aligned object, before the moved free
	 * pointer) for SLAB_TYPESAFE_BY_RCU, else the whole stride. */
	if (s->flags & MM_SLAB_POISON)
		return s->object_size;
	if (s->flags & MM_SLAB_TYPESAFE_BY_RCU)
		return MM_ALIGN(s->object_size, mm__ptr_size(m));
	return s->size;
}

/* ---- boot and teardown -------------------------------------------------- */

int mm__slab_init(struct mm_machine *m)
{
	static const char *const prefix[MM_NR_KMALLOC_TYPES] = {
		"kmalloc-", "kmalloc-rcl-", "dma-kmalloc-", "kmalloc-cg-",
	};
	static const uint32_t type_flags[MM_NR_KMALLOC_TYPES] = {
		0, MM_SLAB_RECLAIM_ACCOUNT, MM_SLAB_CACHE_DMA, MM_SLAB_ACCOUNT,
	};
	/* The engine's own caches, sized as the reference kernel's
	 * (objsize column of its /proc/slabinfo). */
	static const struct {
		const char *name;
		uint32_t size, flags;
	} engine[MM_NR_ENGINE_CACHES] = {
		[MM_CACHE_TASK_STRUCT] = {"task_struct", 5888, MM_SLAB_HWCACHE_ALIGN},
		[MM_CACHE_MM_STRUCT] = {"mm_struct", 1600, MM_SLAB_HWCACHE_ALIGN},
		[MM_CACHE_VM_AREA_STRUCT] = {"vm_area_struct", 192, MM_SLAB_HWCACHE_ALIGN},
		[MM_CACHE_ANON_VMA] = {"anon_vma", 104, 0},
		[MM_CACHE_FILP] = {"filp", 192, MM_SLAB_HWCACHE_ALIGN},
		[MM_CACHE_RADIX_TREE_NODE] = {"radix_tree_node", 584,
					      MM_SLAB_RECLAIM_ACCOUNT},
	};

	m->free_slab_ids = MM_NIL;
	for (int t = 0; t < MM_NR_KMALLOC_TYPES; t++)
		for (int i = 0; i <= MM_KMALLOC_SHIFT_HIGH; i++)
			m->kmalloc_caches[t][i] = -1;
	for (int t = 0; t < MM_NR_KMALLOC_TYPES; t++) {
		static const int order_of_creation[] = {1, 2, 3, 4, 5, 6, 7,
							8, 9, 10, 11, 12, 13};
		for (size_t k = 0; k < sizeof(order_of_creation) / sizeof(int); k++) {
			int i = order_of_creation[k];
			uint32_t size = mm__kmalloc_size(i);
			char name[MM_SLAB_NAME_MAX];
			if (size >= 1024)
				snprintf(name, sizeof(name), "%s%uk", prefix[t], size >> 10);
			else
				snprintf(name, sizeof(name), "%s%u", prefix[t], size);
			int id = mm__cache_new(m, name, size, 0, type_flags[t], true, true);
			if (id < 0)
				return id;
			m->kmalloc_caches[t][i] = id;
			MM_ASSERT(mm__kmalloc_index(size) == i);
			MM_ASSERT(id == t * MM_KMALLOC_SHIFT_HIGH + i - 1);
		}
	}
	for (int e = 0; e < MM_NR_ENGINE_CACHES; e++) {
		int id = mm__cache_new(m, engine[e].name, engine[e].size, 0,
				       engine[e].flags, true, false);
		if (id < 0)
			return id;
		MM_ASSERT(!mm__is_kmalloc_cache(m->caches[id]));
		m->engine_caches[e] = id;
	}
	return 0;
}

void mm__slab_destroy(struct mm_machine *m)
{
	for (uint32_t id = 0; id < m->nr_slabs; id++) {
		free(m->slabs[id].free_next);
		free(m->slabs[id].shadow);
	}
	free(m->slabs);
	for (int i = 0; i < MM_SLAB_MAX_CACHES; i++)
		if (m->caches[i]) {
			free(m->caches[i]->cpu);
			free(m->caches[i]);
		}
}

/* ---- /proc/slabinfo ----------------------------------------------------- */

size_t mm_proc_slabinfo(const struct mm_machine *m, char *buf, size_t len)
{
	struct mm_buf b = {buf, len, 0};
	int order[MM_SLAB_MAX_CACHES], n = 0;

	mm__bprintf(&b, "slabinfo - version: 2.1\n");
	mm__bprintf(&b, "# name            <active_objs> <num_objs> <objsize> "
			"<objperslab> <pagesperslab> : tunables <limit> "
			"<batchcount> <sharedfactor> : slabdata <active_slabs> "
			"<num_slabs> <sharedavail>\n");
	for (int i = 0; i < MM_SLAB_MAX_CACHES; i++)
		if (m->caches[i])
			order[n++] = i;
	/* Newest first, as the slab_caches list is walked. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && m->caches[order[j]]->seq >
					       m->caches[order[j - 1]]->seq; j--) {
			int t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (int k = 0; k < n; k++) {
		const struct mm_kmem_cache *s = m->caches[order[k]];
		uint64_t nr_slabs = 0, nr_objs = 0, nr_free = 0;
		for (int nd = 0; nd < m->nr_nodes; nd++) {
			nr_slabs += s->node[nd].nr_slabs;
			nr_objs += s->node[nd].total_objects;
			/* count_partial(): only node partial slabs count as
			 * free; free objects of cpu slabs show as active. */
			for (uint32_t id = s->node[nd].partial.head; id != MM_NIL;
			     id = m->slabs[id].next)
				nr_free += m->slabs[id].objects - m->slabs[id].inuse;
		}
		mm__bprintf(&b, "%-17s %6lu %6lu %6u %4u %4d", s->name,
			    (unsigned long)(nr_objs - nr_free),
			    (unsigned long)nr_objs, s->size, s->objects,
			    1 << s->order);
		mm__bprintf(&b, " : tunables %4u %4u %4u", 0u, 0u, 0u);
		mm__bprintf(&b, " : slabdata %6lu %6lu %6lu\n",
			    (unsigned long)nr_slabs, (unsigned long)nr_slabs, 0ul);
	}
	if (len)
		buf[b.used < len ? b.used : len - 1] = '\0';
	return b.used;
}
