/*
 * kernel.c — JSON views of the kernel allocators (SPEC §4.1): kmem caches
 * (GET …/kmemCaches, the kmemCacheCreate answer, /proc/slabinfo as JSON),
 * vmalloc areas (/proc/vmallocinfo as JSON) and kernel address translation
 * (GET …/kernel/translate).
 *
 * The numbers are those of the text renders: a cache's active_objs counts
 * every object of its slabs except the free ones on node partial lists,
 * exactly as /proc/slabinfo's count_partial() does (free objects of cpu
 * slabs show as active), so the JSON and the text never disagree.
 * Addresses are lowercase hex strings (SPEC §4); frame numbers are integers.
 */
#include "api/api.h"

#include <string.h>

/* Pages per slab, objects and free objects of a cache, as slabinfo. */
struct api__slab_counts {
	uint64_t slabs, objs, free_objs;
};

static struct api__slab_counts api__counts(const struct mm_machine *m,
					   const struct mm_kmem_cache *s)
{
	struct api__slab_counts c = {0, 0, 0};

	for (int nd = 0; nd < m->nr_nodes; nd++) {
		c.slabs += s->node[nd].nr_slabs;
		c.objs += s->node[nd].total_objects;
		/* Bounded by the slab records: a list is a chain of ids. */
		uint32_t n = 0;
		for (uint32_t id = s->node[nd].partial.head;
		     id != MM_NIL && n < m->nr_slabs; id = m->slabs[id].next, n++)
			c.free_objs += m->slabs[id].objects - m->slabs[id].inuse;
	}
	return c;
}

static json_t *api__slab_flags(uint32_t flags)
{
	json_t *a = json_array();

	for (int k = 0; mm_slab_flag_names[k]; k++) {
		uint32_t bit = 0;
		if (!mm_slab_flag_parse(mm_slab_flag_names[k], &bit) &&
		    (flags & bit))
			json_array_append_new(a, json_string(mm_slab_flag_names[k]));
	}
	return a;
}

json_t *api_kmem_cache_json(const struct mm_machine *m, int id)
{
	const struct mm_kmem_cache *s = m->caches[id];
	struct api__slab_counts c = api__counts(m, s);
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(s->name));
	json_object_set_new(o, "object_size", json_integer(s->object_size));
	json_object_set_new(o, "size", json_integer(s->size));
	json_object_set_new(o, "align", json_integer(s->align));
	json_object_set_new(o, "objects_per_slab", json_integer(s->objects));
	json_object_set_new(o, "pages_per_slab", json_integer(1 << s->order));
	json_object_set_new(o, "order", json_integer(s->order));
	json_object_set_new(o, "flags", api__slab_flags(s->flags));
	json_object_set_new(o, "builtin", json_boolean(s->builtin));
	json_object_set_new(o, "active_objs",
			    json_integer((json_int_t)(c.objs - c.free_objs)));
	json_object_set_new(o, "num_objs", json_integer((json_int_t)c.objs));
	json_object_set_new(o, "slabs", json_integer((json_int_t)c.slabs));
	return o;
}

int api_kmem_cache_ids(const struct mm_machine *m, bool newest_first, int *ids)
{
	int n = 0;

	for (int i = 0; i < MM_SLAB_MAX_CACHES; i++)
		if (m->caches[i])
			ids[n++] = i;
	/* Insertion sort by creation seq (ids are reused, seqs are not). */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0; j--) {
			uint32_t a = m->caches[ids[j - 1]]->seq,
				 b = m->caches[ids[j]]->seq;
			if (newest_first ? a > b : a < b)
				break;
			int t = ids[j];
			ids[j] = ids[j - 1];
			ids[j - 1] = t;
		}
	return n;
}

json_t *api_slabinfo_json(const struct mm_machine *m)
{
	int ids[MM_SLAB_MAX_CACHES];
	int n = api_kmem_cache_ids(m, true, ids);
	json_t *items = json_array();

	for (int i = 0; i < n; i++)
		json_array_append_new(items, api_kmem_cache_json(m, ids[i]));
	return items;
}

json_t *api_vmallocinfo_json(const struct mm_machine *m)
{
	json_t *items = json_array();

	for (uint32_t i = 0; i < m->nr_vm_areas; i++) {
		const struct mm_vm_area *a = &m->vm_areas[i];
		uint32_t per_node[MM_MAX_NODES] = {0};
		for (uint32_t k = 0; k < a->nr_pages; k++)
			per_node[mm_page_zone(m, a->pages[k])->node]++;
		json_t *nodes = json_array();
		for (int nd = 0; nd < m->nr_nodes; nd++)
			if (per_node[nd])
				json_array_append_new(nodes, json_pack(
					"{s:i, s:I}", "node", nd, "pages",
					(json_int_t)per_node[nd]));
		json_t *o = json_object();
		json_object_set_new(o, "addr", api_hex(a->addr));
		json_object_set_new(o, "end", api_hex(a->addr + a->size));
		json_object_set_new(o, "size", json_integer((json_int_t)a->size));
		json_object_set_new(o, "pages", json_integer(a->nr_pages));
		json_object_set_new(o, "caller", json_string("vmalloc"));
		json_object_set_new(o, "nodes", nodes);
		json_array_append_new(items, o);
	}
	return items;
}

static json_t *api__translation_json(uint64_t addr,
				     const struct mm_translation *tr);

json_t *api_translate_json(const struct mm_machine *m, uint64_t addr)
{
	struct mm_translation t;

	mm_translate(m, addr, &t);
	return api__translation_json(addr, &t);
}

json_t *api_pagetable_json(const struct mm_machine *m, int pid, uint64_t addr)
{
	struct mm_translation t;

	if (mm_pagetable_walk(m, pid, addr, &t))
		return NULL;
	return api__translation_json(addr, &t);
}

static json_t *api__translation_json(uint64_t addr,
				     const struct mm_translation *tr)
{
	struct mm_translation t = *tr;
	json_t *o = json_object(), *walk = json_array();

	json_object_set_new(o, "addr", api_hex(addr));
	json_object_set_new(o, "kind", json_string(t.kind));
	json_object_set_new(o, "mapped", json_boolean(t.mapped));
	json_object_set_new(o, "pfn", t.pfn == MM_NIL ? json_null()
						      : json_integer(t.pfn));
	json_object_set_new(o, "phys", t.pfn == MM_NIL ? json_null()
						       : api_hex(t.phys));
	json_object_set_new(o, "swap", !t.swapped ? json_null() : json_pack(
		"{s:i, s:I}", "type", (int)t.swap_type, "offset",
		(json_int_t)t.swap_offset));
	for (int i = 0; i < t.nr_steps && i < MM_MAX_LEVELS; i++)
		json_array_append_new(walk, json_pack(
			"{s:i, s:I, s:I, s:o}", "level", t.walk[i].level,
			"table_pfn", (json_int_t)t.walk[i].table_pfn, "index",
			(json_int_t)t.walk[i].index, "entry",
			api_hex(t.walk[i].entry)));
	json_object_set_new(o, "walk", walk);
	return o;
}
