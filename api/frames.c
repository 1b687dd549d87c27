/*
 * frames.c — the physical frame map for visualisation and single-frame
 * descriptors (SPEC §4.1 GET …/frames).
 *
 * The map is a string, one character per frame, so 65536 frames cost 64 KiB
 * of JSON:  '.' hole  'r' reserved  'A'..'K' head of a free buddy block of
 * order 0..10  '-' inside a free block  'p' on a per-CPU list  'k' block
 * allocated by allocPages (head)  '+' tail of an allocated compound block
 * 's' slab  't' page table  'z' the shared zero page  'a' anonymous page
 * mapped by one process  'c' anonymous page shared copy-on-write by
 * several  'w' in the swap cache, mapped by no PTE (read ahead, or on its
 * way out)  'f' page-cache page (a file's or shmem's)  'u' other in-use
 * frame (kernel)
 * '?' none of these (the checker's frame-owner invariant forbids it).  A range may start inside a
 * free block: the block's head is found by looking back at the aligned
 * candidates of each order.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A shmem object's file id is 0x80000000 | n (mm.h, struct mm_machine). */
static bool api__is_shmem(uint32_t mapping)
{
	return (mapping & 0x80000000u) != 0;
}

static const char *const api_pageflag_names[MM_NR_PAGEFLAGS] = {
	[MM_PG_locked] = "locked",         [MM_PG_referenced] = "referenced",
	[MM_PG_uptodate] = "uptodate",     [MM_PG_dirty] = "dirty",
	[MM_PG_lru] = "lru",               [MM_PG_head] = "head",
	[MM_PG_tail] = "tail",             [MM_PG_active] = "active",
	[MM_PG_workingset] = "workingset", [MM_PG_reserved] = "reserved",
	[MM_PG_private] = "private",       [MM_PG_writeback] = "writeback",
	[MM_PG_reclaim] = "reclaim",       [MM_PG_swapbacked] = "swapbacked",
	[MM_PG_unevictable] = "unevictable", [MM_PG_mlocked] = "mlocked",
	[MM_PG_buddy] = "buddy",           [MM_PG_pcp] = "pcp",
	[MM_PG_slab] = "slab",             [MM_PG_pgtable] = "pgtable",
	[MM_PG_hole] = "hole",             [MM_PG_kalloc] = "kalloc",
	[MM_PG_large_kmalloc] = "large_kmalloc",
	[MM_PG_anon_exclusive] = "anon_exclusive", [MM_PG_swapcache] = "swapcache",
};

const char *api_pageflag_name(enum mm_pageflag f)
{
	return (unsigned)f < MM_NR_PAGEFLAGS && api_pageflag_names[f]
		       ? api_pageflag_names[f] : "?";
}

/*
 * If pfn lies inside a free buddy block, returns 1 and its head and order;
 * else 0.
 */
static int api__free_block(const struct mm_machine *m, uint32_t pfn,
			   uint32_t *head, unsigned *order)
{
	for (unsigned k = 0; k <= MM_MAX_ORDER; k++) {
		uint32_t h = pfn & ~((1u << k) - 1);
		const struct mm_page *p = &m->pages[h];
		if (mm_page_test(p, MM_PG_buddy) && p->private <= MM_MAX_ORDER &&
		    h + (1u << p->private) > pfn) {
			*head = h;
			*order = p->private;
			return 1;
		}
	}
	return 0;
}

static char api__frame_char(const struct mm_machine *m, uint32_t pfn)
{
	const struct mm_page *p = &m->pages[pfn];

	if (pfn == m->zero_pfn)
		return 'z';
	if (mm_page_test(p, MM_PG_hole))
		return '.';
	if (mm_page_test(p, MM_PG_buddy))
		return (char)('A' + (p->private <= MM_MAX_ORDER ? p->private : 0));
	if (mm_page_test(p, MM_PG_pcp))
		return 'p';
	if (mm_page_test(p, MM_PG_reserved))
		return 'r';
	if (mm_page_test(p, MM_PG_slab))
		return 's';
	if (mm_page_test(p, MM_PG_pgtable))
		return 't';
	if (mm_page_test(p, MM_PG_kalloc))
		return 'k';
	if (mm_page_test(p, MM_PG_tail))
		return '+';
	if (p->refcount > 0 && (p->mapping & 0xf0000000u) == MM_FILE_REG)
		return 'f';
	if (mm_page_test(p, MM_PG_swapbacked) && p->refcount > 0)
		return api__is_shmem(p->mapping) ? 'f'
		       : mm_page_test(p, MM_PG_swapcache) && !p->mapcount ? 'w'
		       : p->mapcount > 1 ? 'c' : 'a';
	if (p->refcount > 0)
		return 'u';
	return '?';
}

json_t *api_frames_json(const struct mm_machine *m, uint32_t start,
			uint32_t count)
{
	if (start > m->nr_pfns)
		start = m->nr_pfns;
	if (count > m->nr_pfns - start)
		count = m->nr_pfns - start;
	char *s = malloc((size_t)count + 1);
	if (!s)
		return NULL;

	uint32_t free_end = 0, head;
	unsigned order;
	if (count && api__free_block(m, start, &head, &order))
		free_end = head + (1u << order);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t pfn = start + i;
		const struct mm_page *p = &m->pages[pfn];
		if (mm_page_test(p, MM_PG_buddy) && p->private <= MM_MAX_ORDER)
			free_end = pfn + (1u << p->private);
		else if (pfn < free_end) {
			s[i] = '-';
			continue;
		}
		s[i] = api__frame_char(m, pfn);
	}
	s[count] = '\0';

	json_t *legend = json_pack(
		"{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
		"s:s, s:s}", ".", "hole", "r", "reserved", "-", "inside a free block",
		"p", "free on a per-CPU list", "k", "allocated by allocPages (head)",
		"+", "tail of an allocated compound block", "s", "slab", "t",
		"page table", "z", "the shared zero page", "a",
		"anonymous, one process", "c", "anonymous, shared copy-on-write",
		"w", "swap cache, unmapped", "f", "page cache (file or shmem)",
		"u", "in use (kernel)", "?", "unowned");
	for (unsigned k = 0; k <= MM_MAX_ORDER; k++) {
		char key[2] = {(char)('A' + k), '\0'}, what[40];
		snprintf(what, sizeof(what), "head of a free block of order %u", k);
		json_object_set_new(legend, key, json_string(what));
	}
	json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:o}", "start",
			      (json_int_t)start, "count", (json_int_t)count,
			      "nr_pfns", (json_int_t)m->nr_pfns, "states", s,
			      "legend", legend);
	free(s);
	return o;
}

/*
 * The frame's mappers, found through the engine's reverse map: "mappings"
 * ({pid, vaddr, pte}, at most 64, and nr_mappings the full count) and, for
 * the UI, "rmap" ({pid, addr, vma_start, vma_end, writable}) of the same
 * PTEs.  The zero page and unmapped frames have none.
 */
static void api__mappers(const struct mm_machine *m, uint32_t pfn, json_t *o)
{
	struct mm_rmap_entry e[64];
	int n = mm_rmap_walk(m, pfn, e, 64);
	json_t *maps = json_array(), *rmap = json_array();

	for (int i = 0; i < n && i < 64; i++) {
		json_array_append_new(maps, json_pack("{s:i, s:o, s:o}", "pid",
			e[i].pid, "vaddr", api_hex(e[i].vaddr), "pte",
			api_hex(e[i].pte)));
		const struct mm_vma *v = mm_find_vma(m, &m->mms[e[i].mm], e[i].vaddr);
		if (!e[i].pid || !v)
			continue;
		json_array_append_new(rmap, json_pack("{s:i, s:o, s:o, s:o, s:b}",
			"pid", e[i].pid, "addr", api_hex(e[i].vaddr), "vma_start",
			api_hex(v->start), "vma_end", api_hex(v->end), "writable",
			(e[i].pte & MM_PTE_RW) != 0));
	}
	json_object_set_new(o, "rmap", rmap);
	json_object_set_new(o, "mappings", maps);
	json_object_set_new(o, "nr_mappings", json_integer(n));
}

json_t *api_frame_json(const struct mm_machine *m, uint32_t pfn)
{
	const struct mm_page *p = &m->pages[pfn];
	const struct mm_zone *z = mm_page_zone(m, pfn);
	json_t *flags = json_array();
	uint32_t head;
	unsigned order;

	for (int f = 0; f < MM_NR_PAGEFLAGS; f++) {
		if (!mm_page_test(p, (enum mm_pageflag)f))
			continue;
		char unnamed[16];
		const char *name = api_pageflag_name((enum mm_pageflag)f);
		if (!strcmp(name, "?")) {
			/* a flag newer than this table: still visible */
			snprintf(unnamed, sizeof(unnamed), "flag%d", f);
			name = unnamed;
		}
		json_array_append_new(flags, json_string(name));
	}
	json_t *o = json_pack(
		"{s:I, s:o, s:i, s:i, s:s, s:i, s:s, s:I, s:I, s:I}", "pfn",
		(json_int_t)pfn, "flags", flags, "refcount", (int)p->refcount,
		"mapcount", (int)p->mapcount, "zone", z->name, "node", (int)z->node,
		"migratetype",
		mm_migratetype_names[mm_pageblock_migratetype(m, pfn)],
		"private", (json_int_t)p->private, "mapping",
		(json_int_t)p->mapping, "index", (json_int_t)p->index);
	/* "state": the frame-map character. */
	char st[2] = {api__frame_char(m, pfn), '\0'};
	if (api__free_block(m, pfn, &head, &order)) {
		if (head != pfn)
			st[0] = '-';
		json_object_set_new(o, "free_block", json_pack(
			"{s:I, s:i}", "head", (json_int_t)head, "order", (int)order));
		if (head == pfn)
			json_object_set_new(o, "order", json_integer(order));
	} else if (mm_page_test(p, MM_PG_head) || mm_page_test(p, MM_PG_kalloc)) {
		json_object_set_new(o, "order", json_integer(
			mm_page_test(p, MM_PG_head) ? p->private : 0));
	}
	json_object_set_new(o, "state", json_string(st));
	api__mappers(m, pfn, o);
	return o;
}
