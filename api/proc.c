/*
 * proc.c — /proc files of a machine as Linux text and as JSON.  The JSON
 * forms carry the same numbers as the text (meminfo and vmstat are built
 * from the text render itself, so the two can never disagree).
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef size_t (*api_render_fn)(const struct mm_machine *, char *, size_t);

static const struct {
	const char *name;
	api_render_fn fn;
} api_procs[] = {
	{"buddyinfo", mm_proc_buddyinfo}, {"pagetypeinfo", mm_proc_pagetypeinfo},
	{"zoneinfo", mm_proc_zoneinfo},   {"meminfo", mm_proc_meminfo},
	{"vmstat", mm_proc_vmstat},       {"slabinfo", mm_proc_slabinfo},
	{"vmallocinfo", mm_proc_vmallocinfo}, {"swaps", mm_proc_swaps},
};

int api_proc_text(const struct mm_machine *m, const char *name, char **text)
{
	for (size_t i = 0; i < sizeof(api_procs) / sizeof(api_procs[0]); i++) {
		if (strcmp(api_procs[i].name, name) != 0)
			continue;
		size_t need = api_procs[i].fn(m, NULL, 0);
		*text = malloc(need + 1);
		if (!*text)
			return -1;
		api_procs[i].fn(m, *text, need + 1);
		return 0;
	}
	return -1;
}

/* "Key:   123 kB" or "key 123" lines → {"Key": 123}; kB values stay kB. */
static json_t *api__kv_json(const char *text)
{
	json_t *o = json_object();
	const char *p = text;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char line[256];
		if (len >= sizeof(line))
			len = sizeof(line) - 1;
		memcpy(line, p, len);
		line[len] = '\0';
		char *sep = strpbrk(line, ": ");
		if (sep) {
			*sep = '\0';
			char *num = sep + 1;
			while (*num == ' ' || *num == ':')
				num++;
			json_object_set_new(o, line,
					    json_integer(strtoll(num, NULL, 10)));
		}
		p += eol ? (size_t)(eol - p) + 1 : len;
	}
	return o;
}

static json_t *api__zone_name(const struct mm_zone *z)
{
	json_t *o = json_object();
	json_object_set_new(o, "node", json_integer(z->node));
	json_object_set_new(o, "zone", json_string(z->name));
	return o;
}

static json_t *api__buddyinfo(const struct mm_machine *m)
{
	json_t *items = json_array();
	for (int n = 0; n < m->nr_nodes; n++)
		for (int zi = 0; zi < m->nr_zone_types; zi++) {
			const struct mm_zone *z = &m->nodes[n].zones[zi];
			if (!mm_zone_populated(z))
				continue;
			json_t *o = api__zone_name(z), *free = json_array();
			for (int k = 0; k < MM_NR_ORDERS; k++)
				json_array_append_new(free, json_integer((json_int_t)z->free_area[k].nr_free));
			json_object_set_new(o, "free", free);
			json_array_append_new(items, o);
		}
	return items;
}

static json_t *api__pagetypeinfo(const struct mm_machine *m)
{
	json_t *o = json_object(), *free = json_array(), *blocks = json_array();
	uint32_t pb = 1u << m->pageblock_order;

	json_object_set_new(o, "pageblock_order", json_integer(m->pageblock_order));
	json_object_set_new(o, "pages_per_block", json_integer(pb));
	for (int n = 0; n < m->nr_nodes; n++)
		for (int zi = 0; zi < m->nr_zone_types; zi++) {
			const struct mm_zone *z = &m->nodes[n].zones[zi];
			if (!mm_zone_populated(z))
				continue;
			json_t *count = json_object();
			for (int t = 0; t < MM_MIGRATE_TYPES; t++) {
				json_t *row = api__zone_name(z), *c = json_array();
				json_object_set_new(row, "type", json_string(mm_migratetype_names[t]));
				for (int k = 0; k < MM_NR_ORDERS; k++)
					json_array_append_new(c, json_integer(z->free_area[k].free_list[t].count));
				json_object_set_new(row, "free", c);
				json_array_append_new(free, row);
			}
			json_int_t per[MM_MIGRATE_TYPES] = {0};
			for (uint32_t pfn = z->start_pfn; pfn < z->start_pfn + z->spanned; pfn += pb)
				per[mm_pageblock_migratetype(m, pfn)]++;
			for (int t = 0; t < MM_MIGRATE_TYPES; t++)
				json_object_set_new(count, mm_migratetype_names[t], json_integer(per[t]));
			json_t *row = api__zone_name(z);
			json_object_set_new(row, "blocks", count);
			json_array_append_new(blocks, row);
		}
	json_object_set_new(o, "free", free);
	json_object_set_new(o, "blocks", blocks);
	return o;
}

json_t *api_zones_json(const struct mm_machine *m)
{
	static const char *const wm[] = {"min", "low", "high", "promo"};
	json_t *items = json_array();

	for (int n = 0; n < m->nr_nodes; n++)
		for (int zi = 0; zi < m->nr_zone_types; zi++) {
			const struct mm_zone *z = &m->nodes[n].zones[zi];
			json_t *o = api__zone_name(z);
			json_object_set_new(o, "populated", json_boolean(mm_zone_populated(z)));
			json_object_set_new(o, "start_pfn", json_integer(z->start_pfn));
			json_object_set_new(o, "spanned", json_integer(z->spanned));
			json_object_set_new(o, "present", json_integer(z->present));
			json_object_set_new(o, "managed", json_integer(z->managed));
			json_object_set_new(o, "free", json_integer(z->vm_stat[MM_NR_FREE_PAGES]));
			json_object_set_new(o, "boost", json_integer((json_int_t)z->watermark_boost));
			json_t *w = json_object();
			for (int k = 0; k < MM_NR_WMARK; k++)
				json_object_set_new(w, wm[k], json_integer((json_int_t)mm_wmark_pages(z, k)));
			json_object_set_new(o, "watermarks", w);
			json_t *prot = json_array();
			for (int k = 0; k < m->nr_zone_types; k++)
				json_array_append_new(prot, json_integer((json_int_t)z->lowmem_reserve[k]));
			json_object_set_new(o, "protection", prot);
			json_object_set_new(o, "nr_reserved_highatomic",
					    json_integer((json_int_t)z->nr_reserved_highatomic));
			json_t *fa = json_array();
			for (int k = 0; k < MM_NR_ORDERS; k++) {
				json_t *byt = json_object();
				for (int t = 0; t < MM_MIGRATE_TYPES; t++)
					json_object_set_new(byt, mm_migratetype_names[t],
							    json_integer(z->free_area[k].free_list[t].count));
				json_array_append_new(fa, byt);
			}
			json_object_set_new(o, "free_area", fa);
			json_t *pcps = json_array();
			for (int c = 0; mm_zone_populated(z) && c < m->cfg.cpus; c++) {
				const struct mm_pcp *p = &z->pcp[c];
				json_t *po = json_object();
				json_object_set_new(po, "cpu", json_integer(c));
				json_object_set_new(po, "count", json_integer(p->count));
				json_object_set_new(po, "high", json_integer(p->high));
				json_object_set_new(po, "batch", json_integer(p->batch));
				json_object_set_new(po, "high_min", json_integer(p->high_min));
				json_object_set_new(po, "high_max", json_integer(p->high_max));
				json_array_append_new(pcps, po);
			}
			json_object_set_new(o, "pagesets", pcps);
			json_array_append_new(items, o);
		}
	return items;
}

json_t *api_lru_json(const struct mm_machine *m, uint32_t limit)
{
	json_t *items = json_array();

	for (int n = 0; n < m->nr_nodes; n++) {
		const struct mm_node *nd = &m->nodes[n];
		json_t *lists = json_object();
		for (int l = 0; l < MM_NR_LRU_LISTS; l++) {
			json_t *pfns = json_array();
			uint32_t pfn = nd->lru[l].head;
			for (uint32_t k = 0; k < limit && pfn != MM_NIL; k++) {
				json_array_append_new(pfns, json_integer(pfn));
				pfn = m->pages[pfn].lru_next;
			}
			json_object_set_new(lists, mm_lru_names[l],
					    json_pack("{s:I, s:o, s:b}", "count",
						      (json_int_t)nd->lru[l].count,
						      "pfns", pfns, "truncated",
						      pfn != MM_NIL));
		}
		json_t *o = json_pack("{s:i, s:o}", "node", n, "lists", lists);
		json_object_set_new(o, "kswapd", json_pack(
			"{s:b, s:i, s:i, s:i}", "awake", nd->kswapd_awake,
			"priority", nd->kswapd_priority, "failures",
			nd->kswapd_failures, "highest_zoneidx",
			nd->kswapd_highest_zoneidx));
		json_object_set_new(o, "anon_cost", json_integer((json_int_t)nd->anon_cost));
		json_object_set_new(o, "file_cost", json_integer((json_int_t)nd->file_cost));
		/* workingset.c: the shadow clock and the shadow-only tree nodes */
		json_object_set_new(o, "workingset", json_pack(
			"{s:I, s:I}", "nonresident_age",
			(json_int_t)nd->nonresident_age, "shadow_nodes",
			(json_int_t)nd->vm_stat[MM_WORKINGSET_NODES]));
		json_array_append_new(items, o);
	}
	return items;
}

/* /proc/swaps as JSON: one object per line after the header, its
 * numbers those of the text. */
static json_t *api__swaps(const struct mm_machine *m)
{
	json_t *items = json_array();
	char *text, *save = NULL;

	if (api_proc_text(m, "swaps", &text))
		return items;
	strtok_r(text, "\n", &save); /* the header */
	for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[64], type[16];
		unsigned long size, used;
		int prio;
		if (sscanf(l, "%63s %15s %lu %lu %d", name, type, &size, &used,
			   &prio) == 5)
			json_array_append_new(items, json_pack(
				"{s:s, s:s, s:I, s:I, s:i}", "filename", name,
				"type", type, "size_kb", (json_int_t)size,
				"used_kb", (json_int_t)used, "priority", prio));
	}
	free(text);
	return items;
}

json_t *api_proc_json(const struct mm_machine *m, const char *name)
{
	if (!strcmp(name, "buddyinfo"))
		return api__buddyinfo(m);
	if (!strcmp(name, "pagetypeinfo"))
		return api__pagetypeinfo(m);
	if (!strcmp(name, "zoneinfo"))
		return api_zones_json(m);
	if (!strcmp(name, "slabinfo"))
		return api_slabinfo_json(m);
	if (!strcmp(name, "vmallocinfo"))
		return api_vmallocinfo_json(m);
	if (!strcmp(name, "swaps"))
		return api__swaps(m);
	if (!strcmp(name, "meminfo") || !strcmp(name, "vmstat")) {
		char *text;
		if (api_proc_text(m, name, &text))
			return NULL;
		json_t *o = api__kv_json(text);
		free(text);
		return o;
	}
	return NULL;
}
