/*
 * digest.c — a hash of the full machine state (SPEC §2).
 *
 * Every field that is state is fed, in a fixed order, as explicit 64-bit
 * little-endian words: no struct padding, no host pointers, no iteration
 * order that could differ between runs or builds.  The mix is two
 * independent 64-bit multiply-rotate lanes with a final avalanche (a
 * state-equality check, not a cryptographic hash).  Each engine feature
 * feeds its own structures here; tests change each one and expect a change.
 */
#include "engine/internal.h"

#include <stdio.h>

struct mm__hash {
	uint64_t a, b, n;
};

static inline uint64_t mm__rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline void mm__h(struct mm__hash *h, uint64_t w)
{
	h->a = mm__rotl64((h->a ^ w) * 0x9e3779b97f4a7c15ull, 29);
	h->b = mm__rotl64(h->b + w * 0xc2b2ae3d27d4eb4full, 31) *
	       0x165667b19e3779f9ull;
	h->n++;
}

static uint64_t mm__avalanche(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

/* The node's LRU lists (their order lives in the frames' links) and its
 * reclaim and kswapd state. */
static void mm__h_lruvec(struct mm__hash *h, const struct mm_node *n)
{
	for (int l = 0; l < MM_NR_LRU_LISTS; l++) {
		mm__h(h, ((uint64_t)n->lru[l].head << 32) | n->lru[l].tail);
		mm__h(h, n->lru[l].count);
	}
	mm__h(h, n->anon_cost);
	mm__h(h, n->file_cost);
	mm__h(h, (uint64_t)n->refaults[0]);
	mm__h(h, (uint64_t)n->refaults[1]);
	mm__h(h, ((uint64_t)n->kswapd_awake << 24) |
		 ((uint64_t)(uint8_t)n->kswapd_priority << 16) |
		 ((uint64_t)(uint8_t)n->kswapd_highest_zoneidx << 8) |
		 n->kswapd_failures);
	mm__h(h, n->kswapd_reclaimed);
}

static void mm__h_config(struct mm__hash *h, const struct mm_config *c)
{
	mm__h(h, (uint64_t)c->arch);
	mm__h(h, c->memory);
	mm__h(h, (uint64_t)c->nodes);
	for (int n = 0; n < MM_MAX_NODES; n++) {
		mm__h(h, c->node_memory[n]);
		for (int k = 0; k < MM_MAX_NODES; k++)
			mm__h(h, c->distance[n][k]);
		for (int z = 0; z < MM_MAX_ZONES; z++)
			mm__h(h, (uint64_t)c->zones_managed_pages[n][z]);
	}
	mm__h(h, (uint64_t)c->cpus);
	mm__h(h, c->swap);
	mm__h(h, (uint64_t)c->page_policy);
	mm__h(h, (uint64_t)c->min_free_kbytes);
	mm__h(h, (uint64_t)c->watermark_scale_factor);
	mm__h(h, c->zero_page);
	mm__h(h, c->fault_around_bytes);
	mm__h(h, c->read_ahead_kb);
	mm__h(h, (uint64_t)c->swappiness);
	mm__h(h, (uint64_t)c->overcommit);
	mm__h(h, (uint64_t)c->overcommit_ratio);
	mm__h(h, c->kswapd_pages_per_tick);
	mm__h(h, c->seed);
	mm__h(h, (uint64_t)c->max_map_count);
	mm__h(h, (uint64_t)c->pid_max);
	mm__h(h, (uint64_t)c->randomize_va_space);
}

static void mm__h_plist(struct mm__hash *h, const struct mm_plist *l)
{
	mm__h(h, ((uint64_t)l->head << 32) | l->tail);
	mm__h(h, l->count);
}

static void mm__h_zone(struct mm__hash *h, const struct mm_machine *m,
		       const struct mm_zone *z)
{
	mm__h(h, ((uint64_t)z->start_pfn << 32) | z->spanned);
	mm__h(h, ((uint64_t)z->present << 32) | z->managed);
	for (int w = 0; w < MM_NR_WMARK; w++)
		mm__h(h, z->wmark[w]);
	for (int j = 0; j < MM_MAX_ZONES; j++)
		mm__h(h, z->lowmem_reserve[j]);
	mm__h(h, z->watermark_boost);
	mm__h(h, z->flags);
	for (int i = 0; i < MM_NR_ZONE_STAT; i++)
		mm__h(h, (uint64_t)z->vm_stat[i]);
	mm__h(h, (uint64_t)z->nr_free_highatomic);
	mm__h(h, z->nr_reserved_highatomic);
	for (int o = 0; o < MM_NR_ORDERS; o++) {
		mm__h(h, z->free_area[o].nr_free);
		for (int t = 0; t < MM_MIGRATE_TYPES; t++)
			mm__h_plist(h, &z->free_area[o].free_list[t]);
	}
	if (z->spanned) {
		uint32_t first = z->start_pfn >> m->pageblock_order;
		uint32_t last = (z->start_pfn + z->spanned - 1) >> m->pageblock_order;
		for (uint32_t b = 0; b <= last - first; b++)
			mm__h(h, z->pageblock_mt[b]);
	}
	for (int c = 0; c < m->cfg.cpus; c++) {
		const struct mm_pcp *p = &z->pcp[c];
		mm__h(h, ((uint64_t)(uint32_t)p->count << 32) | (uint32_t)p->high);
		mm__h(h, ((uint64_t)(uint32_t)p->high_min << 32) |
				 (uint32_t)p->high_max);
		mm__h(h, ((uint64_t)(uint32_t)p->batch << 32) |
				 (uint32_t)p->free_count);
		mm__h(h, ((uint64_t)(uint32_t)p->alloc_factor << 32) | p->flags);
		for (int t = 0; t < MM_MIGRATE_PCPTYPES; t++)
			mm__h_plist(h, &p->lists[t]);
	}
	for (int i = 0; i < 6; i++)
		mm__h(h, z->numa[i]);
}

static void mm__h_slist(struct mm__hash *h, const struct mm_slab_list *l)
{
	mm__h(h, ((uint64_t)l->head << 32) | l->tail);
	mm__h(h, l->count);
}

static void mm__h_bytes(struct mm__hash *h, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t w = 0;

	for (size_t i = 0; i < n; i++) {
		w |= (uint64_t)b[i] << (8 * (i % 8));
		if (i % 8 == 7 || i + 1 == n) {
			mm__h(h, w);
			w = 0;
		}
	}
	mm__h(h, n);
}

static void mm__h_slab(struct mm__hash *h, const struct mm_machine *m)
{
	mm__h(h, m->cache_seq);
	for (int i = 0; i < MM_SLAB_MAX_CACHES; i++) {
		const struct mm_kmem_cache *s = m->caches[i];
		mm__h(h, s != NULL);
		if (!s)
			continue;
		mm__h_bytes(h, s->name, strlen(s->name));
		mm__h(h, ((uint64_t)s->seq << 32) | s->object_size);
		mm__h(h, ((uint64_t)s->size << 32) | s->align);
		mm__h(h, ((uint64_t)s->flags << 32) | s->gfp);
		mm__h(h, ((uint64_t)s->order << 48) | ((uint64_t)s->min_order << 40) |
				 ((uint64_t)s->objects << 16) | s->min_objects);
		mm__h(h, ((uint64_t)s->min_partial << 32) | s->cpu_partial_slabs);
		mm__h(h, s->builtin);
		for (int c = 0; c < m->cfg.cpus; c++) {
			mm__h(h, s->cpu[c].slab);
			mm__h_slist(h, &s->cpu[c].partial);
		}
		for (int n = 0; n < m->nr_nodes; n++) {
			mm__h_slist(h, &s->node[n].partial);
			mm__h(h, s->node[n].nr_slabs);
			mm__h(h, s->node[n].total_objects);
		}
	}
	for (int t = 0; t < MM_NR_KMALLOC_TYPES; t++)
		for (int i = 0; i <= MM_KMALLOC_SHIFT_HIGH; i++)
			mm__h(h, (uint64_t)m->kmalloc_caches[t][i]);
	for (int e = 0; e < MM_NR_ENGINE_CACHES; e++)
		mm__h(h, (uint64_t)m->engine_caches[e]);
	mm__h(h, ((uint64_t)m->nr_slabs << 32) | m->free_slab_ids);
	for (uint32_t id = 0; id < m->nr_slabs; id++) {
		const struct mm_slab *sl = &m->slabs[id];
		mm__h(h, ((uint64_t)sl->pfn << 32) | sl->cache);
		mm__h(h, ((uint64_t)sl->next << 32) | sl->prev);
		mm__h(h, ((uint64_t)sl->inuse << 48) | ((uint64_t)sl->objects << 32) |
				 ((uint64_t)sl->freelist << 16) | sl->order);
		mm__h(h, ((uint64_t)sl->node << 16) | ((uint64_t)sl->state << 8) |
				 (uint8_t)sl->cpu);
		if (sl->pfn == MM_NIL)
			continue;
		for (uint32_t i = 0; i < sl->objects; i += 4) {
			uint64_t w = 0;
			for (uint32_t k = 0; k < 4 && i + k < sl->objects; k++)
				w |= (uint64_t)sl->free_next[i + k] << (16 * k);
			mm__h(h, w);
		}
	}
}

static void mm__h_kernel_maps(struct mm__hash *h, const struct mm_machine *m)
{
	mm__h(h, ((uint64_t)m->kernel_pgd << 32) | m->kernel_image_pfn);
	mm__h(h, m->zero_pfn);
	mm__h(h, ((uint64_t)m->nr_ptables << 32) | m->free_ptables);
	for (uint32_t id = 0; id < m->nr_ptables; id++) {
		const struct mm_ptable *t = &m->ptables[id];
		mm__h(h, ((uint64_t)t->pfn << 32) | t->next_free);
		if (t->pfn == MM_NIL)
			continue;
		for (uint32_t i = 0; i < mm__pt_entries(m); i++)
			if (t->e[i])
				mm__h(h, ((uint64_t)i << 52) ^ t->e[i]);
	}
	mm__h(h, m->nr_vm_areas);
	mm__h(h, m->vmalloc_pages);
	for (uint32_t i = 0; i < m->nr_vm_areas; i++) {
		const struct mm_vm_area *a = &m->vm_areas[i];
		mm__h(h, a->addr);
		mm__h(h, a->size);
		for (uint32_t k = 0; k < a->nr_pages; k++)
			mm__h(h, a->pages[k]);
	}
	mm__h(h, ((uint64_t)m->last_pkmap_nr << 32) | m->pkmap_table);
	for (uint32_t i = 0; i < MM_LAST_PKMAP; i += 4)
		mm__h(h, (uint64_t)m->pkmap_count[i] | (uint64_t)m->pkmap_count[i + 1] << 16 |
				 (uint64_t)m->pkmap_count[i + 2] << 32 |
				 (uint64_t)m->pkmap_count[i + 3] << 48);
}

/* Files: records, readahead state, the disk, and every tree node. */
static void mm__h_files(struct mm__hash *h, const struct mm_machine *m)
{
	mm__h(h, ((uint64_t)m->nr_files << 32) | m->last_ino);
	for (uint32_t i = 0; i < m->nr_files; i++) {
		const struct mm_file *f = &m->files[i];
		if (!f->ino)
			continue;
		mm__h_bytes(h, f->name, strnlen(f->name, sizeof(f->name)));
		mm__h(h, f->size);
		mm__h(h, ((uint64_t)f->ino << 32) | f->xa_root);
		mm__h(h, ((uint64_t)f->nr_pages << 33) | ((uint64_t)f->nr_dirty << 1) |
			     f->unlinked);
		mm__h(h, f->ra_start);
		mm__h(h, ((uint64_t)f->ra_size << 32) | f->ra_async_size);
		mm__h(h, ((uint64_t)f->mmap_miss << 32) ^ (uint64_t)f->prev_pos);
		mm__h(h, f->slab_addr);
		for (uint32_t k = 0; k < f->disk_nr; k++)
			if (f->disk[k]) {
				mm__h(h, k);
				mm__h_bytes(h, f->disk[k], MM_PAGE_SIZE);
			}
	}
	mm__h(h, ((uint64_t)m->nr_xa_nodes << 32) | m->free_xa_nodes);
	for (uint32_t i = 0; i < m->nr_xa_nodes; i++) {
		const struct mm_xa_node *n = &m->xa_nodes[i];
		mm__h(h, ((uint64_t)n->parent << 32) | ((uint32_t)n->shift << 16) |
			     ((uint32_t)n->offset << 8) | n->count);
		mm__h(h, n->slab_addr);
		for (unsigned k = 0; k < MM_XA_SLOTS; k += 2)
			mm__h(h, ((uint64_t)n->slots[k] << 32) | n->slots[k + 1]);
	}
}

static void mm__h_processes(struct mm__hash *h, const struct mm_machine *m)
{
	mm__h(h, ((uint64_t)(uint32_t)m->last_pid << 32) | m->nr_tasks);
	mm__h(h, ((uint64_t)m->nr_anon_vmas << 32) | m->nr_mms);
	for (uint32_t i = 0; i <= m->nr_anon_vmas && i < m->cap_anon_parent; i++)
		if (m->anon_parent[i])
			mm__h(h, ((uint64_t)i << 32) | m->anon_parent[i]);
	mm__h(h, (uint64_t)m->committed);
	mm__h(h, m->user_reserve_pages);
	for (uint32_t i = 0; m->tasks && i < MM_MAX_TASKS; i++) {
		const struct mm_task *t = &m->tasks[i];
		if (!t->pid)
			continue;
		mm__h(h, ((uint64_t)i << 32) | (uint32_t)t->pid);
		mm__h(h, ((uint64_t)(uint32_t)t->ppid << 32) | t->mm);
		mm__h(h, ((uint64_t)(uint32_t)t->cpu << 32) | (uint32_t)t->oom_score_adj);
		mm__h(h, ((uint64_t)(uint32_t)t->exit_code << 8) | t->state);
		mm__h_bytes(h, t->comm, strnlen(t->comm, sizeof(t->comm)));
		mm__h(h, (uint64_t)t->rss_limit_pages);
		mm__h(h, t->min_flt);
		mm__h(h, t->maj_flt);
		mm__h(h, t->slab_addr);
		mm__h(h, t->stack_addr);
	}
	mm__h(h, m->free_mms);
	for (uint32_t i = 0; i < m->nr_mms; i++) {
		const struct mm_mm *mm = &m->mms[i];
		mm__h(h, ((uint64_t)mm->id << 32) | mm->users);
		mm__h(h, ((uint64_t)mm->root << 32) | mm->first);
		mm__h(h, ((uint64_t)mm->last << 32) | mm->map_count);
		const uint64_t w[] = {mm->task_size, mm->mmap_base, mm->start_code,
				      mm->end_code, mm->start_data, mm->end_data,
				      mm->start_brk, mm->brk, mm->start_stack,
				      mm->total_vm, mm->locked_vm, mm->data_vm,
				      mm->exec_vm, mm->stack_vm, mm->def_flags,
				      mm->slab_addr, mm->pgd, mm->rss_anon,
				      mm->hiwater_rss, mm->rss_shmem, mm->rss_file};
		for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++)
			mm__h(h, w[k]);
	}
	mm__h(h, m->nr_shmem);
	for (uint32_t i = 0; i < m->nr_shmem; i++) {
		const struct mm_shmem *o = &m->shmem[i];
		mm__h(h, ((uint64_t)o->file << 32) | o->nr);
		for (uint32_t k = 0; k < o->nr; k++)
			if (o->pages[k] != MM_NIL)
				mm__h(h, ((uint64_t)k << 32) | o->pages[k]);
	}
	mm__h_files(h, m);
	mm__h(h, ((uint64_t)m->nr_vmas << 32) | m->free_vmas);
	for (uint32_t i = 0; i < m->nr_vmas; i++) {
		const struct mm_vma *v = &m->vmas[i];
		mm__h(h, v->start);
		mm__h(h, v->end);
		mm__h(h, v->flags);
		mm__h(h, v->pgoff);
		mm__h(h, ((uint64_t)v->mm << 32) | v->file);
		mm__h(h, ((uint64_t)v->anon_vma << 32) | (uint32_t)v->height);
		mm__h(h, ((uint64_t)v->left << 32) | v->right);
		mm__h(h, ((uint64_t)v->prev << 32) | v->next);
		mm__h(h, ((uint64_t)v->anon_chained << 32) | v->unmerged);
		mm__h(h, v->slab_addr);
	}
}

/* Frame contents in pfn order: each written frame's number and bytes. */
static void mm__h_content(struct mm__hash *h, const struct mm_machine *m)
{
	mm__h(h, m->nr_content);
	for (uint32_t pfn = 0; m->nr_content && pfn < m->nr_pfns; pfn++) {
		const uint8_t *b = mm_frame_bytes(m, pfn);
		if (!b)
			continue;
		mm__h(h, pfn);
		mm__h_bytes(h, b, MM_PAGE_SIZE);
	}
}

void mm_digest(const struct mm_machine *m, char out[MM_DIGEST_HEX])
{
	struct mm__hash h = {0x243f6a8885a308d3ull, 0x13198a2e03707344ull, 0};

	mm__h_config(&h, &m->cfg);
	for (int i = 0; i < 4; i++)
		mm__h(&h, m->env.rng[i]);
	mm__h(&h, m->env.clock);
	mm__h(&h, m->min_free_kbytes);
	mm__h(&h, m->totalram_pages);
	mm__h(&h, m->totalreserve_pages);
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		mm__h(&h, ((uint64_t)p->flags << 32) | (uint32_t)p->refcount);
		mm__h(&h, ((uint64_t)(uint32_t)p->mapcount << 32) | p->private);
		mm__h(&h, ((uint64_t)p->lru_next << 32) | p->lru_prev);
		mm__h(&h, ((uint64_t)p->mapping << 32) | p->index);
	}
	for (int n = 0; n < m->nr_nodes; n++) {
		for (int i = 0; i < MM_NR_NODE_STAT; i++)
			mm__h(&h, (uint64_t)m->nodes[n].vm_stat[i]);
		for (int z = 0; z < m->nr_zone_types; z++)
			mm__h_zone(&h, m, &m->nodes[n].zones[z]);
		mm__h_lruvec(&h, &m->nodes[n]);
	}
	mm__h(&h, m->mobility_disabled);
	mm__h_slab(&h, m);
	mm__h_kernel_maps(&h, m);
	mm__h_processes(&h, m);
	mm__h_content(&h, m);
	for (int e = 0; e < MM_NR_VM_EVENTS; e++)
		mm__h(&h, m->events[e]);

	uint64_t a = mm__avalanche(h.a ^ h.n), b = mm__avalanche(h.b ^ (h.a >> 7));
	snprintf(out, MM_DIGEST_HEX, "%016llx%016llx", (unsigned long long)a,
		 (unsigned long long)b);
}
