/*
 * state.c — one description of a machine's state, walked three ways.
 *
 * mm__visit_config() and mm__visit_state() name every field that is machine
 * state, in a fixed order.  The visitor they drive HASHES each field as one
 * 64-bit word (mm_digest, digest.c) and, in the other two modes, also SAVES
 * it as explicit little-endian bytes of the field's size (mm_snapshot_save,
 * snapshot.c) or LOADS it back from such bytes (mm_snapshot_load).  The
 * digest and the snapshot image can therefore never disagree about what
 * the state is: a field that is hashed is saved, a restored machine hashes
 * the same, and save and load get the digest from their own walk.
 *
 * ADDING A STRUCTURE (the one place to change): give it a
 * mm__visit_<thing>() below and call it from mm__visit_state(), using
 *   MM__V(v, field)             any integer, enum or bool field;
 *   MM__VFIX(v, field)          a value boot derives from the config (a
 *                               load checks it, never overwrites it);
 *   mm__v_array(v, &arr, &nr, &cap, sizeof *arr, min)
 *                               a record array that grows; then visit each
 *                               record's fields (a load gets zeroed records);
 *   mm__v_str / mm__v_u16s / mm__v_sparse64 / mm__v_sparse32 / mm__v_bytes
 *                               strings, arrays and mostly-empty tables;
 * and when LOADING allocate any per-record host array before visiting it
 * (see the slab's free_next).  Bump MM_SNAPSHOT_FORMAT in mm.h, because
 * older images no longer describe the whole machine.  Host memory that
 * boot owns (zone pcp arrays, pageblock bitmaps, zone name pointers) is
 * not reallocated: a load boots the machine from the image's config first
 * (snapshot.c) and then visits the state over it.  Pointers into the
 * machine itself (zonelists) are visited as ids.
 *
 * Loading is defensive: every count is bounded by the bytes that remain,
 * every index the loader itself follows is range-checked, and the first
 * failure is kept in v->err with the rest of the walk turned into no-ops.
 */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>

void mm__vfail(struct mm__vis *v, const char *fmt, ...)
{
	va_list ap;

	if (v->failed)
		return;
	v->failed = true;
	va_start(ap, fmt);
	vsnprintf(v->err, sizeof(v->err), fmt, ap);
	va_end(ap);
}

int mm__vsave_reserve(struct mm__vis *v, const void *src, size_t n)
{
	if (v->failed)
		return -1;
	if (v->len + n > v->cap) {
		size_t cap = v->cap ? v->cap : 4096;
		while (cap < v->len + n)
			cap *= 2;
		uint8_t *p = realloc(v->out, cap);
		if (!p) {
			v->oom = true;
			mm__vfail(v, "out of memory");
			return -1;
		}
		v->out = p;
		v->cap = cap;
	}
	memcpy(v->out + v->len, src, n);
	v->len += n;
	return 0;
}

/* Bytes left to load (0 once failed). */
static size_t mm__vleft(const struct mm__vis *v)
{
	return v->failed ? 0 : (size_t)(v->end - v->p);
}

uint64_t mm__vio_slow(struct mm__vis *v, uint64_t x, unsigned bytes)
{
	uint8_t b[8];

	if (v->mode == MM__V_SAVE) {
		for (unsigned i = 0; i < bytes; i++)
			b[i] = (uint8_t)(x >> (8 * i));
		mm__vsave_reserve(v, b, bytes);
		return x;
	}
	if (!v->failed)
		mm__vfail(v, "the image is truncated");
	return 0;
}

void mm__vfixed(struct mm__vis *v, uint64_t now, unsigned bytes,
		const char *what)
{
	uint64_t x = mm__vio(v, now, bytes);

	mm__hash_word(&v->h, now);
	if (v->mode == MM__V_LOAD && !v->failed && x != now)
		mm__vfail(v, "%s is %llu in the image, %llu for its config", what,
			  (unsigned long long)x, (unsigned long long)now);
}

void mm__v_bytes(struct mm__vis *v, void *p, size_t n)
{
	uint8_t *b = p;

	if (v->mode == MM__V_SAVE) {
		mm__vsave_reserve(v, b, n);
	} else if (v->mode == MM__V_LOAD) {
		if (mm__vleft(v) < n) {
			mm__vfail(v, "the image is truncated");
			memset(b, 0, n);
		} else {
			memcpy(b, v->p, n);
			v->p += n;
		}
	}
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = 0;
		for (size_t k = 0; k < 8 && i + k < n; k++)
			w |= (uint64_t)b[i + k] << (8 * k);
		mm__hash_word(&v->h, w);
	}
	mm__hash_word(&v->h, n);
}

/* A NUL-terminated string in a char[cap]: its length, then its bytes. */
static void mm__v_str(struct mm__vis *v, char *s, size_t cap)
{
	uint64_t n = strnlen(s, cap - 1);

	mm__vword(v, &n, 1);
	if (v->mode == MM__V_LOAD) {
		memset(s, 0, cap);
		if (n >= cap) {
			mm__vfail(v, "a name of %llu bytes (at most %zu)",
				  (unsigned long long)n, cap - 1);
			return;
		}
	}
	mm__v_bytes(v, s, n);
	if (v->mode == MM__V_LOAD)
		s[n] = '\0';
}

static void mm__v_u16s(struct mm__vis *v, uint16_t *a, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		MM__V(v, a[i]);
}

static void mm__v_u32s(struct mm__vis *v, uint32_t *a, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		MM__V(v, a[i]);
}

/*
 * A record array that grows (ids index it): its length, then (LOAD) a
 * zeroed allocation of that many records; min is the fewest image bytes a
 * record takes, which bounds the length by what is left.  Returns false
 * when the walk failed.
 */
static bool mm__v_array(struct mm__vis *v, void **arr, uint32_t *nr,
			uint32_t *cap, size_t elem, size_t min)
{
	MM__V(v, *nr);
	if (v->mode != MM__V_LOAD)
		return !v->failed;
	uint32_t n = *nr;
	*nr = 0;
	if (v->failed)
		return false;
	if ((uint64_t)n * min > mm__vleft(v)) {
		mm__vfail(v, "a table of %u records does not fit the image", n);
		return false;
	}
	free(*arr);
	*arr = calloc(n ? n : 1, elem);
	if (!*arr) {
		v->oom = true;
		mm__vfail(v, "out of memory");
		return false;
	}
	*nr = n;
	*cap = n ? n : 1;
	return true;
}

/*
 * A LOAD allocates a zeroed host array of n elements for *p.  min is the
 * fewest image bytes an element takes (0: n comes from the config, or the
 * array is sparse); no array exceeds MM__V_MAX_ELEMS.
 */
#define MM__V_MAX_ELEMS (1u << 28)
static bool mm__v_alloc(struct mm__vis *v, void **p, size_t n, size_t elem,
			size_t min)
{
	if (v->mode != MM__V_LOAD || v->failed)
		return !v->failed;
	if (n > MM__V_MAX_ELEMS || (uint64_t)n * min > mm__vleft(v)) {
		mm__vfail(v, "an array of %zu elements does not fit the image", n);
		return false;
	}
	*p = calloc(n ? n : 1, elem);
	if (!*p) {
		v->oom = true;
		mm__vfail(v, "out of memory");
		return false;
	}
	return true;
}

/*
 * A table of n words that are mostly 0 (page-table entries): the hash
 * sees (index, value) of each non-zero entry, the image holds their count
 * and then the pairs in increasing index order.
 */
static void mm__v_sparse64(struct mm__vis *v, uint64_t *a, uint32_t n)
{
	uint64_t count = 0;

	if (v->mode == MM__V_SAVE) {
		for (uint32_t i = 0; i < n; i++)
			count += a[i] != 0;
		mm__vio(v, count, 4);
		for (uint32_t i = 0; i < n; i++)
			if (a[i]) {
				mm__vio(v, i, 4);
				mm__vio(v, a[i], 8);
			}
	} else if (v->mode == MM__V_LOAD) {
		count = mm__vio(v, 0, 4);
		memset(a, 0, (size_t)n * sizeof(*a));
		if (count > n)
			mm__vfail(v, "a table with %llu entries of %u",
				  (unsigned long long)count, n);
		for (uint64_t k = 0, last = 0; k < count && !v->failed; k++) {
			uint64_t idx = mm__vio(v, 0, 4), val = mm__vio(v, 0, 8);
			if (idx >= n || (k && idx <= last) || !val) {
				mm__vfail(v, "a table entry out of order");
				break;
			}
			a[idx] = val;
			last = idx;
		}
	}
	for (uint32_t i = 0; i < n && !v->failed; i++)
		if (a[i])
			mm__hash_word(&v->h, ((uint64_t)i << 52) ^ a[i]);
}

/* The same for 32-bit values whose empty value is `none` (pfn tables). */
static void mm__v_sparse32(struct mm__vis *v, uint32_t *a, uint32_t n,
			   uint32_t none)
{
	uint64_t count = 0;

	if (v->mode == MM__V_SAVE) {
		for (uint32_t i = 0; i < n; i++)
			count += a[i] != none;
		mm__vio(v, count, 4);
		for (uint32_t i = 0; i < n; i++)
			if (a[i] != none) {
				mm__vio(v, i, 4);
				mm__vio(v, a[i], 4);
			}
	} else if (v->mode == MM__V_LOAD) {
		count = mm__vio(v, 0, 4);
		for (uint32_t i = 0; i < n; i++)
			a[i] = none;
		if (count > n)
			mm__vfail(v, "a table with %llu entries of %u",
				  (unsigned long long)count, n);
		for (uint64_t k = 0, last = 0; k < count && !v->failed; k++) {
			uint64_t idx = mm__vio(v, 0, 4), val = mm__vio(v, 0, 4);
			if (idx >= n || (k && idx <= last) || val == none) {
				mm__vfail(v, "a table entry out of order");
				break;
			}
			a[idx] = (uint32_t)val;
			last = idx;
		}
	}
	for (uint32_t i = 0; i < n && !v->failed; i++)
		if (a[i] != none)
			mm__hash_word(&v->h, ((uint64_t)i << 32) | a[i]);
}

/* ---- the configuration and the environment ----------------------------- */

void mm__visit_config(struct mm__vis *v, struct mm_config *c)
{
	MM__V(v, c->arch);
	MM__V(v, c->memory);
	MM__V(v, c->nodes);
	for (int n = 0; n < MM_MAX_NODES; n++) {
		MM__V(v, c->node_memory[n]);
		for (int k = 0; k < MM_MAX_NODES; k++)
			MM__V(v, c->distance[n][k]);
		for (int z = 0; z < MM_MAX_ZONES; z++)
			MM__V(v, c->zones_managed_pages[n][z]);
	}
	MM__V(v, c->cpus);
	MM__V(v, c->swap);
	MM__V(v, c->page_policy);
	MM__V(v, c->min_free_kbytes);
	MM__V(v, c->watermark_scale_factor);
	MM__V(v, c->zero_page);
	MM__V(v, c->fault_around_bytes);
	MM__V(v, c->read_ahead_kb);
	MM__V(v, c->swappiness);
	MM__V(v, c->overcommit);
	MM__V(v, c->overcommit_ratio);
	MM__V(v, c->kswapd_pages_per_tick);
	MM__V(v, c->seed);
	MM__V(v, c->max_map_count);
	MM__V(v, c->pid_max);
	MM__V(v, c->randomize_va_space);
	/* The event ring is kept out of the digest (SPEC §2). */
	struct mm__hash h = v->h;
	MM__V(v, c->event_ring);
	v->h = h;
}

/* ---- physical memory ------------------------------------------------------ */

static void mm__v_plist(struct mm__vis *v, struct mm_plist *l)
{
	MM__V(v, l->head);
	MM__V(v, l->tail);
	MM__V(v, l->count);
}

static void mm__visit_zone(struct mm__vis *v, struct mm_machine *m,
			   struct mm_zone *z)
{
	MM__VFIX(v, z->node);
	MM__VFIX(v, z->idx);
	MM__VFIX(v, z->start_pfn);
	MM__VFIX(v, z->spanned);
	MM__VFIX(v, z->present);
	MM__V(v, z->managed);
	for (int w = 0; w < MM_NR_WMARK; w++)
		MM__V(v, z->wmark[w]);
	MM__V(v, z->watermark_boost);
	MM__V(v, z->flags);
	for (int j = 0; j < MM_MAX_ZONES; j++)
		MM__V(v, z->lowmem_reserve[j]);
	for (int i = 0; i < MM_NR_ZONE_STAT; i++)
		MM__V(v, z->vm_stat[i]);
	MM__V(v, z->nr_free_highatomic);
	MM__V(v, z->nr_reserved_highatomic);
	for (int o = 0; o < MM_NR_ORDERS; o++) {
		MM__V(v, z->free_area[o].nr_free);
		for (int t = 0; t < MM_MIGRATE_TYPES; t++)
			mm__v_plist(v, &z->free_area[o].free_list[t]);
	}
	if (z->spanned) {
		uint32_t first = z->start_pfn >> m->pageblock_order;
		uint32_t last = (z->start_pfn + z->spanned - 1) >> m->pageblock_order;
		for (uint32_t b = 0; b <= last - first; b++)
			MM__V(v, z->pageblock_mt[b]);
	}
	for (int c = 0; c < m->cfg.cpus; c++) {
		struct mm_pcp *p = &z->pcp[c];
		MM__V(v, p->count);
		MM__V(v, p->high);
		MM__V(v, p->high_min);
		MM__V(v, p->high_max);
		MM__V(v, p->batch);
		MM__V(v, p->free_count);
		MM__V(v, p->alloc_factor);
		MM__V(v, p->flags);
		for (int t = 0; t < MM_MIGRATE_PCPTYPES; t++)
			mm__v_plist(v, &p->lists[t]);
	}
	for (int i = 0; i < 6; i++)
		MM__V(v, z->numa[i]);
}

static void mm__visit_physical(struct mm__vis *v, struct mm_machine *m)
{
	MM__VFIX(v, m->nr_pfns);
	MM__VFIX(v, m->nr_nodes);
	MM__VFIX(v, m->nr_zone_types);
	MM__VFIX(v, m->pageblock_order);
	for (int c = 0; c < MM_MAX_CPUS; c++)
		MM__VFIX(v, m->cpu_node[c]);
	MM__V(v, m->min_free_kbytes);
	MM__V(v, m->mobility_disabled);
	MM__V(v, m->totalram_pages);
	MM__V(v, m->totalreserve_pages);
	for (uint32_t pfn = 0; pfn < m->nr_pfns && !v->failed; pfn++) {
		struct mm_page *p = &m->pages[pfn];
		MM__V(v, p->flags);
		MM__V(v, p->refcount);
		MM__V(v, p->mapcount);
		MM__V(v, p->private);
		MM__V(v, p->lru_next);
		MM__V(v, p->lru_prev);
		MM__V(v, p->mapping);
		MM__V(v, p->index);
	}
	for (int n = 0; n < m->nr_nodes && !v->failed; n++) {
		struct mm_node *node = &m->nodes[n];
		MM__VFIX(v, node->id);
		MM__VFIX(v, node->start_pfn);
		MM__VFIX(v, node->spanned);
		MM__VFIX(v, node->present);
		MM__VFIX(v, node->nr_zones);
		MM__VFIX(v, node->cpumask);
		MM__VFIX(v, node->zonelist_len);
		for (int i = 0; i < node->zonelist_len; i++)
			MM__VFIX(v, mm__zone_id(node->zonelist[i]));
		for (int i = 0; i < MM_NR_NODE_STAT; i++)
			MM__V(v, node->vm_stat[i]);
		for (int z = 0; z < m->nr_zone_types; z++)
			mm__visit_zone(v, m, &node->zones[z]);
		/* the lruvec (list order lives in the frames' links) and kswapd */
		for (int l = 0; l < MM_NR_LRU_LISTS; l++)
			mm__v_plist(v, &node->lru[l]);
		MM__V(v, node->anon_cost);
		MM__V(v, node->file_cost);
		MM__V(v, node->refaults[0]);
		MM__V(v, node->refaults[1]);
		/* workingset.c: the shadow clock, shadow-node list, shrinker */
		MM__V(v, node->nonresident_age);
		MM__V(v, node->shadow_head);
		MM__V(v, node->shadow_tail);
		MM__V(v, node->shadow_deferred);
		MM__V(v, node->kswapd_awake);
		MM__V(v, node->kswapd_priority);
		MM__V(v, node->kswapd_highest_zoneidx);
		MM__V(v, node->kswapd_failures);
		MM__V(v, node->kswapd_reclaimed);
	}
	for (int e = 0; e < MM_NR_VM_EVENTS; e++)
		MM__V(v, m->events[e]);
}

/* ---- the slab allocator ------------------------------------------------------ */

static void mm__v_slist(struct mm__vis *v, struct mm_slab_list *l)
{
	MM__V(v, l->head);
	MM__V(v, l->tail);
	MM__V(v, l->count);
}

static void mm__visit_cache(struct mm__vis *v, struct mm_machine *m,
			    struct mm_kmem_cache *s)
{
	mm__v_str(v, s->name, sizeof(s->name));
	MM__V(v, s->id);
	MM__V(v, s->seq);
	MM__V(v, s->object_size);
	MM__V(v, s->size);
	MM__V(v, s->align);
	MM__V(v, s->flags);
	MM__V(v, s->gfp);
	MM__V(v, s->order);
	MM__V(v, s->min_order);
	MM__V(v, s->objects);
	MM__V(v, s->min_objects);
	MM__V(v, s->min_partial);
	MM__V(v, s->cpu_partial_slabs);
	MM__V(v, s->builtin);
	if (!mm__v_alloc(v, (void **)&s->cpu, (size_t)m->cfg.cpus, sizeof(*s->cpu),
			 0))
		return;
	for (int c = 0; c < m->cfg.cpus; c++) {
		MM__V(v, s->cpu[c].slab);
		mm__v_slist(v, &s->cpu[c].partial);
	}
	for (int n = 0; n < m->nr_nodes; n++) {
		mm__v_slist(v, &s->node[n].partial);
		MM__V(v, s->node[n].nr_slabs);
		MM__V(v, s->node[n].total_objects);
	}
}

static void mm__visit_slab(struct mm__vis *v, struct mm_machine *m)
{
	MM__V(v, m->cache_seq);
	for (uint32_t i = 0; i < MM_SLAB_MAX_CACHES && !v->failed; i++) {
		bool live = m->caches[i] != NULL;
		MM__V(v, live);
		if (!live)
			continue;
		if (v->mode == MM__V_LOAD &&
		    !mm__v_alloc(v, (void **)&m->caches[i], 1, sizeof(**m->caches), 0))
			return;
		mm__visit_cache(v, m, m->caches[i]);
		if (v->mode == MM__V_LOAD && m->caches[i]->id != i)
			mm__vfail(v, "cache %u names itself %u", i, m->caches[i]->id);
	}
	for (int t = 0; t < MM_NR_KMALLOC_TYPES; t++)
		for (int i = 0; i <= MM_KMALLOC_SHIFT_HIGH; i++)
			MM__V(v, m->kmalloc_caches[t][i]);
	for (int e = 0; e < MM_NR_ENGINE_CACHES; e++)
		MM__V(v, m->engine_caches[e]);
	if (!mm__v_array(v, (void **)&m->slabs, &m->nr_slabs, &m->cap_slabs,
			 sizeof(*m->slabs), 20))
		return;
	MM__V(v, m->free_slab_ids);
	for (uint32_t id = 0; id < m->nr_slabs && !v->failed; id++) {
		struct mm_slab *sl = &m->slabs[id];
		MM__V(v, sl->pfn);
		MM__V(v, sl->cache);
		MM__V(v, sl->next);
		MM__V(v, sl->prev);
		MM__V(v, sl->inuse);
		MM__V(v, sl->objects);
		MM__V(v, sl->freelist);
		MM__V(v, sl->order);
		MM__V(v, sl->node);
		MM__V(v, sl->state);
		MM__V(v, sl->cpu);
		if (sl->pfn == MM_NIL)
			continue;
		const struct mm_kmem_cache *s =
			sl->cache < MM_SLAB_MAX_CACHES ? m->caches[sl->cache] : NULL;
		if (v->mode == MM__V_LOAD && !s) {
			mm__vfail(v, "slab %u of a cache that does not exist", id);
			return;
		}
		if (!mm__v_alloc(v, (void **)&sl->free_next, sl->objects,
				 sizeof(uint16_t), 2))
			return;
		mm__v_u16s(v, sl->free_next, sl->objects);
		bool shadow = sl->shadow != NULL;
		MM__V(v, shadow);
		if (!shadow)
			continue;
		size_t bytes = (size_t)sl->objects * s->object_size;
		if (!mm__v_alloc(v, (void **)&sl->shadow, bytes, 1, 1))
			return;
		mm__v_bytes(v, sl->shadow, bytes);
	}
}

/* ---- page tables, vmalloc, pkmap ------------------------------------------------ */

static void mm__visit_kernel_maps(struct mm__vis *v, struct mm_machine *m)
{
	MM__V(v, m->kernel_pgd);
	MM__V(v, m->kernel_image_pfn);
	MM__V(v, m->zero_pfn);
	if (!mm__v_array(v, (void **)&m->ptables, &m->nr_ptables,
			 &m->cap_ptables, sizeof(*m->ptables), 8))
		return;
	MM__V(v, m->free_ptables);
	for (uint32_t id = 0; id < m->nr_ptables && !v->failed; id++) {
		struct mm_ptable *t = &m->ptables[id];
		MM__V(v, t->pfn);
		MM__V(v, t->next_free);
		if (t->pfn == MM_NIL)
			continue;
		if (v->mode == MM__V_LOAD && t->pfn >= m->nr_pfns) {
			mm__vfail(v, "page table %u in frame %u, outside the "
				  "machine", id, t->pfn);
			return;
		}
		if (!mm__v_alloc(v, (void **)&t->e, mm__pt_entries(m),
				 sizeof(uint64_t), 0))
			return;
		mm__v_sparse64(v, t->e, mm__pt_entries(m));
	}
	if (!mm__v_array(v, (void **)&m->vm_areas, &m->nr_vm_areas,
			 &m->cap_vm_areas, sizeof(*m->vm_areas), 20))
		return;
	MM__V(v, m->vmalloc_pages);
	for (uint32_t i = 0; i < m->nr_vm_areas && !v->failed; i++) {
		struct mm_vm_area *a = &m->vm_areas[i];
		MM__V(v, a->addr);
		MM__V(v, a->size);
		MM__V(v, a->nr_pages);
		if (v->mode == MM__V_LOAD && a->nr_pages > m->nr_pfns) {
			mm__vfail(v, "a vmalloc area of %u pages", a->nr_pages);
			return;
		}
		if (!mm__v_alloc(v, (void **)&a->pages, a->nr_pages,
				 sizeof(uint32_t), 4))
			return;
		mm__v_u32s(v, a->pages, a->nr_pages);
	}
	for (uint32_t i = 0; i < MM_LAST_PKMAP; i++)
		MM__V(v, m->pkmap_count[i]);
	MM__V(v, m->last_pkmap_nr);
	MM__V(v, m->pkmap_table);
}

/* ---- processes, address spaces, shmem ------------------------------------------- */

static void mm__visit_task(struct mm__vis *v, struct mm_task *t)
{
	MM__V(v, t->pid);
	MM__V(v, t->ppid);
	MM__V(v, t->mm);
	MM__V(v, t->cpu);
	MM__V(v, t->oom_score_adj);
	MM__V(v, t->exit_code);
	MM__V(v, t->state);
	mm__v_str(v, t->comm, sizeof(t->comm));
	MM__V(v, t->rss_limit_pages);
	MM__V(v, t->min_flt);
	MM__V(v, t->maj_flt);
	MM__V(v, t->slab_addr);
	MM__V(v, t->stack_addr);
}

static void mm__visit_mm(struct mm__vis *v, struct mm_mm *mm)
{
	MM__V(v, mm->id);
	MM__V(v, mm->users);
	MM__V(v, mm->root);
	MM__V(v, mm->first);
	MM__V(v, mm->last);
	MM__V(v, mm->map_count);
	MM__V(v, mm->task_size);
	MM__V(v, mm->mmap_base);
	MM__V(v, mm->start_code);
	MM__V(v, mm->end_code);
	MM__V(v, mm->start_data);
	MM__V(v, mm->end_data);
	MM__V(v, mm->start_brk);
	MM__V(v, mm->brk);
	MM__V(v, mm->start_stack);
	MM__V(v, mm->total_vm);
	MM__V(v, mm->locked_vm);
	MM__V(v, mm->data_vm);
	MM__V(v, mm->exec_vm);
	MM__V(v, mm->stack_vm);
	MM__V(v, mm->def_flags);
	MM__V(v, mm->slab_addr);
	MM__V(v, mm->pgd);
	MM__V(v, mm->rss_anon);
	MM__V(v, mm->hiwater_rss);
	MM__V(v, mm->rss_shmem);
	MM__V(v, mm->rss_file);
	MM__V(v, mm->rss_swap);
}

static void mm__visit_vma(struct mm__vis *v, struct mm_vma *a)
{
	MM__V(v, a->start);
	MM__V(v, a->end);
	MM__V(v, a->flags);
	MM__V(v, a->pgoff);
	MM__V(v, a->mm);
	MM__V(v, a->file);
	MM__V(v, a->anon_vma);
	MM__V(v, a->left);
	MM__V(v, a->right);
	MM__V(v, a->prev);
	MM__V(v, a->next);
	MM__V(v, a->height);
	MM__V(v, a->unmerged);
	MM__V(v, a->anon_chained);
	MM__V(v, a->slab_addr);
	/* the i_mmap tree as it is: its order among equal offsets is
	 * history, not derivable from the VMAs (i_mmap.c) */
	MM__V(v, a->shared_left);
	MM__V(v, a->shared_right);
	MM__V(v, a->shared_parent);
	MM__V(v, a->shared_last);
}

static void mm__visit_processes(struct mm__vis *v, struct mm_machine *m)
{
	MM__V(v, m->last_pid);
	MM__V(v, m->nr_tasks);
	MM__V(v, m->nr_anon_vmas);
	MM__V(v, m->committed);
	MM__V(v, m->user_reserve_pages);
	/* Live task slots only: (slot, task) pairs, then MM_NIL. */
	if (!mm__v_alloc(v, (void **)&m->tasks, MM_MAX_TASKS, sizeof(*m->tasks),
			 0))
		return;
	for (uint32_t i = 0; i <= MM_MAX_TASKS && !v->failed; i++) {
		if (v->mode != MM__V_LOAD && i < MM_MAX_TASKS && !m->tasks[i].pid)
			continue;
		uint32_t slot = i < MM_MAX_TASKS ? i : MM_NIL;
		MM__V(v, slot);
		if (slot == MM_NIL)
			break;
		if (slot >= MM_MAX_TASKS || (v->mode == MM__V_LOAD && slot < i)) {
			mm__vfail(v, "task slot %u out of order", slot);
			return;
		}
		i = slot;
		mm__visit_task(v, &m->tasks[slot]);
		if (v->mode == MM__V_LOAD && !m->tasks[slot].pid)
			mm__vfail(v, "task slot %u holds no task", slot);
	}
	if (!mm__v_array(v, (void **)&m->mms, &m->nr_mms, &m->cap_mms,
			 sizeof(*m->mms), 100))
		return;
	MM__V(v, m->free_mms);
	for (uint32_t i = 0; i < m->nr_mms && !v->failed; i++)
		mm__visit_mm(v, &m->mms[i]);
	if (!mm__v_array(v, (void **)&m->vmas, &m->nr_vmas, &m->cap_vmas,
			 sizeof(*m->vmas), 60))
		return;
	MM__V(v, m->free_vmas);
	for (uint32_t i = 0; i < m->nr_vmas && !v->failed; i++)
		mm__visit_vma(v, &m->vmas[i]);
	if (!mm__v_array(v, (void **)&m->shmem, &m->nr_shmem, &m->cap_shmem,
			 sizeof(*m->shmem), 8))
		return;
	/* A LOAD bounds the page-index arrays of all objects together (they
	 * are sparse in the image): a machine beyond it is rebuilt by replay. */
	uint64_t indexes = 0, max_indexes = MM_MAX(1ull << 20, 8ull * m->nr_pfns);
	for (uint32_t i = 0; i < m->nr_shmem && !v->failed; i++) {
		struct mm_shmem *o = &m->shmem[i];
		MM__V(v, o->file);
		MM__V(v, o->i_mmap);
		MM__V(v, o->nr);
		if (!o->nr)
			continue;
		indexes += o->nr;
		if (v->mode == MM__V_LOAD && indexes > max_indexes) {
			mm__vfail(v, "shmem page indexes beyond %llu",
				  (unsigned long long)max_indexes);
			return;
		}
		if (!mm__v_alloc(v, (void **)&o->pages, o->nr, sizeof(uint32_t), 0))
			return;
		mm__v_sparse32(v, o->pages, o->nr, MM_NIL);
	}
}

/* ---- the whole machine ------------------------------------------------------------ */

/* ---- files, their page cache and disk (pagecache.c); anon_vma links ---- */

static void mm__visit_file(struct mm__vis *v, struct mm_file *f)
{
	mm__v_str(v, f->name, sizeof(f->name));
	MM__V(v, f->size);
	MM__V(v, f->xa_root);
	MM__V(v, f->nr_pages);
	MM__V(v, f->nr_dirty);
	MM__V(v, f->unlinked);
	MM__V(v, f->ra_start);
	MM__V(v, f->ra_size);
	MM__V(v, f->ra_async_size);
	MM__V(v, f->mmap_miss);
	MM__V(v, f->prev_pos);
	MM__V(v, f->slab_addr);
	MM__V(v, f->i_mmap);
	MM__V(v, f->disk_nr);
	if (!mm__v_alloc(v, (void **)&f->disk, f->disk_nr, sizeof(*f->disk), 0))
		return;
	/* the written disk blocks: their count, then (index, bytes) */
	uint32_t nb = 0;
	for (uint32_t k = 0; v->mode != MM__V_LOAD && k < f->disk_nr; k++)
		nb += f->disk[k] != NULL;
	MM__V(v, nb);
	if (v->mode == MM__V_LOAD &&
	    (nb > f->disk_nr || (uint64_t)nb * MM_PAGE_SIZE > mm__vleft(v)))
		mm__vfail(v, "%u disk blocks cannot fit the image", nb);
	for (uint32_t k = 0, done = 0; done < nb && !v->failed; k++) {
		uint32_t idx = k;
		if (v->mode != MM__V_LOAD && !f->disk[k])
			continue;
		MM__V(v, idx);
		if (v->mode == MM__V_LOAD) {
			if (idx >= f->disk_nr || f->disk[idx]) {
				mm__vfail(v, "disk block %u out of place", idx);
				return;
			}
			f->disk[idx] = malloc(MM_PAGE_SIZE);
			if (!f->disk[idx]) {
				v->oom = true;
				mm__vfail(v, "out of memory");
				return;
			}
			k = idx;
		}
		mm__v_bytes(v, f->disk[idx], MM_PAGE_SIZE);
		done++;
	}
}

static void mm__visit_files(struct mm__vis *v, struct mm_machine *m)
{
	MM__V(v, m->last_ino);
	if (!mm__v_array(v, (void **)&m->files, &m->nr_files, &m->cap_files,
			 sizeof(*m->files), 4))
		return;
	for (uint32_t i = 0; i < m->nr_files && !v->failed; i++) {
		MM__V(v, m->files[i].ino);
		if (m->files[i].ino)    /* 0: a free record */
			mm__visit_file(v, &m->files[i]);
	}
	MM__V(v, m->free_xa_nodes);
	if (!mm__v_array(v, (void **)&m->xa_nodes, &m->nr_xa_nodes,
			 &m->cap_xa_nodes, sizeof(*m->xa_nodes), 8))
		return;
	for (uint32_t i = 0; i < m->nr_xa_nodes && !v->failed; i++) {
		struct mm_xa_node *n = &m->xa_nodes[i];
		MM__V(v, n->parent);
		MM__V(v, n->shift);
		MM__V(v, n->offset);
		MM__V(v, n->count);
		MM__V(v, n->nr_values);
		MM__V(v, n->slab_addr);
		MM__V(v, n->shadow_next);
		MM__V(v, n->shadow_prev);
		/* frames, child ids and shadow entries alike */
		mm__v_sparse32(v, n->slots, MM_XA_SLOTS, MM_NIL);
	}
	/* rmap.c: the anon_vma each fork chained an anon_vma to (0: a root) */
	MM__V(v, m->cap_anon_parent);
	if (v->mode == MM__V_LOAD && !v->failed) {
		free(m->anon_parent);
		m->anon_parent = NULL;
		if (m->cap_anon_parent && !mm__v_alloc(v, (void **)&m->anon_parent,
						       m->cap_anon_parent,
						       sizeof(uint32_t), 0))
			return;
	}
	if (m->cap_anon_parent)
		mm__v_sparse32(v, m->anon_parent, m->cap_anon_parent, 0);
}

/* ---- frame contents (content.c): each written frame's pfn and bytes ---- */

static void mm__visit_content(struct mm__vis *v, struct mm_machine *m)
{
	uint32_t n = m->nr_content;

	MM__V(v, n);
	if (v->mode != MM__V_LOAD) {
		for (uint32_t pfn = 0; n && pfn < m->nr_pfns; pfn++) {
			uint8_t *b = (uint8_t *)mm_frame_bytes(m, pfn);
			if (b) {
				MM__V(v, pfn);
				mm__v_bytes(v, b, MM_PAGE_SIZE);
			}
		}
		return;
	}
	if (n > m->nr_pfns || (uint64_t)n * MM_PAGE_SIZE > mm__vleft(v))
		mm__vfail(v, "%u frames of contents cannot fit the image", n);
	uint8_t *buf = malloc(MM_PAGE_SIZE);
	if (!buf)
		mm__vfail(v, "out of memory");
	for (uint32_t k = 0, last = 0, pfn = 0; k < n && !v->failed; k++) {
		MM__V(v, pfn);
		if (pfn >= m->nr_pfns || pfn == m->zero_pfn || (k && pfn <= last)) {
			mm__vfail(v, "frame contents of pfn %u out of order", pfn);
			break;
		}
		mm__v_bytes(v, buf, MM_PAGE_SIZE);
		if (!v->failed && mm_frame_write(m, pfn, 0, buf, MM_PAGE_SIZE))
			mm__vfail(v, "out of memory");
		last = pfn;
	}
	free(buf);
}

/* ---- the swap area (swap.c): the clusters in use, each with its swap_map,
 * swap cache and stored page bytes ---- */

static void mm__visit_swap_cluster(struct mm__vis *v, struct mm_swap_cluster *c)
{
	MM__V(v, c->used);
	if (v->mode == MM__V_LOAD && !v->failed &&
	    (!c->used || c->used > MM_SWAP_CLUSTER || mm__swap_cluster_alloc(c))) {
		mm__vfail(v, "a swap cluster of %u slots", c->used);
		return;
	}
	for (uint32_t k = 0; k < MM_SWAP_CLUSTER && !v->failed; k++)
		MM__V(v, c->map[k]);
	mm__v_sparse32(v, c->cache, MM_SWAP_CLUSTER, MM_NIL);
	uint32_t nb = 0;
	for (uint32_t k = 0; v->mode != MM__V_LOAD && k < MM_SWAP_CLUSTER; k++)
		nb += c->data[k] != NULL;
	MM__V(v, nb);
	if (v->mode == MM__V_LOAD &&
	    (nb > MM_SWAP_CLUSTER || (uint64_t)nb * MM_PAGE_SIZE > mm__vleft(v)))
		mm__vfail(v, "%u swap slots of bytes cannot fit the image", nb);
	for (uint32_t k = 0, done = 0; done < nb && !v->failed; k++) {
		uint32_t idx = k;
		if (v->mode != MM__V_LOAD && !c->data[k])
			continue;
		MM__V(v, idx);
		if (v->mode == MM__V_LOAD) {
			if (idx >= MM_SWAP_CLUSTER || c->data[idx] || idx < k) {
				mm__vfail(v, "swap slot bytes %u out of place", idx);
				return;
			}
			if (!(c->data[idx] = malloc(MM_PAGE_SIZE))) {
				v->oom = true;
				mm__vfail(v, "out of memory");
				return;
			}
			k = idx;
		}
		mm__v_bytes(v, c->data[idx], MM_PAGE_SIZE);
		done++;
	}
}

static void mm__visit_swap(struct mm__vis *v, struct mm_machine *m)
{
	uint32_t nc = mm__swap_nr_clusters(m);

	MM__VFIX(v, m->swap_slots);
	MM__V(v, m->swap_free);
	MM__V(v, m->swap_next);
	MM__V(v, m->swap_ra_hits);
	MM__V(v, m->swap_ra_prev);
	MM__V(v, m->swap_ra_win);
	/* (cluster, contents) of the clusters in use, then MM_NIL */
	for (uint32_t i = 0; i <= nc && !v->failed; i++) {
		if (v->mode != MM__V_LOAD && i < nc && !m->swap_clusters[i].used)
			continue;
		uint32_t id = i < nc ? i : MM_NIL;
		MM__V(v, id);
		if (id == MM_NIL)
			break;
		if (id >= nc || (v->mode == MM__V_LOAD && id < i)) {
			mm__vfail(v, "swap cluster %u out of order", id);
			return;
		}
		i = id;
		mm__visit_swap_cluster(v, &m->swap_clusters[id]);
	}
}

/* ---- the event ring: in the image, not in the digest (SPEC §3) ---------- */

static void mm__visit_events(struct mm__vis *v, struct mm_machine *m)
{
	struct mm_events *e = &m->ev;
	struct mm__hash h = v->h;

	MM__VFIX(v, e->cap);
	MM__V(v, e->next_id);
	MM__V(v, e->ops);
	for (int i = 0; i < MM_EVOP_NV; i++)
		MM__V(v, e->op_mark[i]);
	uint64_t first = e->next_id > e->cap ? e->next_id - e->cap : 1;
	uint64_t seq = 0;
	for (uint64_t id = first; id < e->next_id && !v->failed; id++) {
		struct mm_event *ev = &e->ring[(id - 1) % e->cap];
		MM__V(v, ev->id);
		MM__V(v, ev->seq);
		MM__V(v, ev->clock);
		MM__V(v, ev->type);
		MM__V(v, ev->node);
		MM__V(v, ev->err);
		for (int k = 0; k < 4; k++)
			MM__V(v, ev->v[k]);
		mm__v_bytes(v, ev->op, sizeof(ev->op));
		if (v->mode == MM__V_LOAD) {
			ev->op[sizeof(ev->op) - 1] = '\0';
			/* the checker's event-ring rule: ids in place, known
			 * types, operation numbers in order and not ahead */
			if (ev->id != id || !mm_event_type_name(ev->type) ||
			    ev->seq < seq || ev->seq > e->ops)
				mm__vfail(v, "event %llu is damaged",
					  (unsigned long long)id);
			seq = ev->seq;
		}
	}
	v->h = h;
}

void mm__visit_state(struct mm__vis *v, struct mm_machine *m)
{
	for (int i = 0; i < 4; i++)
		MM__V(v, m->env.rng[i]);
	MM__V(v, m->env.clock);
	mm__visit_physical(v, m);
	mm__visit_slab(v, m);
	mm__visit_kernel_maps(v, m);
	mm__visit_processes(v, m);
	mm__visit_files(v, m);
	mm__visit_content(v, m);
	mm__visit_swap(v, m);
	mm__visit_events(v, m);
	/* New structures: add their mm__visit_<thing>(v, m) here. */
}
