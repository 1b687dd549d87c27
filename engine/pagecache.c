/*
 * pagecache.c — in-memory files and their page cache (Linux 6.18
 * mm/filemap.c, mm/readahead.c, mm/truncate.c, fs/drop_caches.c).
 *
 * A file (struct mm_file) holds i_size, its page cache and its simulated
 * disk.  The page cache maps a page index to a frame through an
 * xarray-like radix tree (mm_xa_node: 64 slots, one radix_tree_node slab
 * object per node, so a big cache costs real slab memory, as Linux).  A
 * cached page: mapping = MM_FILE_REG | file id, index = its page index,
 * refcount = 1 (the cache) + mapcount (PTEs), PG_uptodate; PG_dirty when
 * its bytes differ from the disk (NR_FILE_DIRTY); PG_reclaim doubles as
 * PG_readahead, as in Linux.  Writes (createFile content, writeFile, a
 * write through a shared mapping) leave pages dirty in the cache;
 * dropCaches writes dirty pages back (as `sync` before it would) and then
 * drops every clean page no PTE maps.  A page missing from the cache is
 * read from the disk on access: a major fault with mmap read-around for a
 * mapping (do_sync_mmap_readahead), on-demand readahead for readFile.
 *
 * Invariants (check.c, "page-cache"): every tree slot names a frame whose
 * mapping/index name that slot; every frame naming a file is in its tree;
 * nr_pages, NR_FILE_PAGES, NR_FILE_DIRTY and NR_FILE_MAPPED equal the
 * recount; node counts and parent links agree; each node holds a live
 * radix_tree_node object and each file a filp object.
 *
 * Bytes: a cached page's bytes are its frame's (content.c); the disk
 * keeps a 4 KiB block per written-back page that holds any non-zero byte.
 * The VMAs mapping a file are its i_mmap interval tree (i_mmap.c).
 */
#include "engine/internal.h"

#include <stdlib.h>

#define MM_MMAP_LOTSAMISS 100

/* The disk's ra_pages (read_ahead_kb / 4; 32 by default). */
static uint32_t mm__ra_pages(const struct mm_machine *m)
{
	return m->cfg.read_ahead_kb / 4;
}

/* ---- file records ------------------------------------------------------ */

struct mm_file *mm__file(const struct mm_machine *m, uint32_t handle)
{
	uint32_t id = handle & ~MM_FILE_REG;

	if (!mm__file_is_reg(handle) || id >= m->nr_files || !m->files[id].ino)
		return NULL;
	return &m->files[id];
}

static uint32_t mm__file_handle(const struct mm_machine *m,
				const struct mm_file *f)
{
	return MM_FILE_REG | (uint32_t)(f - m->files);
}

int mm_file_lookup(const struct mm_machine *m, const char *name)
{
	for (uint32_t i = 0; i < m->nr_files; i++)
		if (m->files[i].ino && !m->files[i].unlinked &&
		    !strcmp(m->files[i].name, name))
			return (int)i;
	return -MM_ENOENT;
}

const struct mm_file *mm_file_get(const struct mm_machine *m, int id)
{
	if (id < 0 || (uint32_t)id >= m->nr_files || !m->files[id].ino ||
	    m->files[id].unlinked)
		return NULL;
	return &m->files[id];
}

static uint64_t mm__size_pages(uint64_t size)
{
	return (size + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
}

/* ---- the radix tree ------------------------------------------------------ */

static struct mm_xa_node *mm__xa(const struct mm_machine *m, uint32_t id)
{
	return &m->xa_nodes[id];
}

/* A node (radix_tree_node_alloc): MM_NIL when out of memory. */
static uint32_t mm__xa_node_new(struct mm_machine *m, uint8_t shift, int cpu)
{
	uint64_t obj;

	if (mm_kmem_cache_alloc(m, m->engine_caches[MM_CACHE_RADIX_TREE_NODE],
				MM_GFP_KERNEL | MM___GFP_RECLAIMABLE, cpu, &obj))
		return MM_NIL;
	uint32_t id;
	if (m->free_xa_nodes != MM_NIL) {
		id = m->free_xa_nodes;
		m->free_xa_nodes = m->xa_nodes[id].parent;
	} else {
		if (mm__grow((void **)&m->xa_nodes, &m->cap_xa_nodes,
			     m->nr_xa_nodes, sizeof(*m->xa_nodes))) {
			mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_RADIX_TREE_NODE],
					   obj, cpu);
			return MM_NIL;
		}
		id = m->nr_xa_nodes++;
	}
	struct mm_xa_node *n = &m->xa_nodes[id];
	memset(n, 0, sizeof(*n));
	for (uint32_t k = 0; k < MM_XA_SLOTS; k++)
		n->slots[k] = MM_NIL;
	n->parent = MM_NIL;
	n->shift = shift;
	n->slab_addr = obj;
	n->shadow_next = n->shadow_prev = MM_NIL;
	return id;
}

static void mm__xa_node_free(struct mm_machine *m, uint32_t id, int cpu)
{
	struct mm_xa_node *n = &m->xa_nodes[id];

	MM_ASSERT(n->shadow_prev == MM_NIL && n->shadow_next == MM_NIL);
	mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_RADIX_TREE_NODE],
			   n->slab_addr, cpu);
	memset(n, 0, sizeof(*n));
	n->shift = 0xff;
	n->shadow_next = n->shadow_prev = MM_NIL;
	n->parent = m->free_xa_nodes;
	m->free_xa_nodes = id;
}

/* Indices the tree rooted at root can hold: [0, 64 << root.shift). */
static uint64_t mm__xa_span(const struct mm_machine *m, uint32_t root)
{
	return root == MM_NIL ? 0 : (uint64_t)MM_XA_SLOTS << mm__xa(m, root)->shift;
}

/* xa_load() of the entry at idx: a frame, a shadow entry or MM_NIL. */
static uint32_t mm__xa_entry(const struct mm_machine *m, const struct mm_file *f,
			     uint64_t idx)
{
	uint32_t id = f->xa_root;

	if (idx >= mm__xa_span(m, id))
		return MM_NIL;
	for (;;) {
		const struct mm_xa_node *n = mm__xa(m, id);
		uint32_t slot = n->slots[(idx >> n->shift) & (MM_XA_SLOTS - 1)];
		if (!n->shift || slot == MM_NIL)
			return slot;
		id = slot;
	}
}

/* The frame cached at idx, or MM_NIL (a hole or a shadow entry). */
uint32_t mm__xa_load(const struct mm_machine *m, const struct mm_file *f,
		     uint64_t idx)
{
	uint32_t e = mm__xa_entry(m, f, idx);

	return mm__xa_is_shadow(e) ? MM_NIL : e;
}

/* The tree nodes a store at idx would add: exact for an empty tree or
 * along an existing path; when the tree must grow upwards, the new tops
 * plus a whole new path below them (an upper bound). */
static unsigned mm__xa_nodes_needed(const struct mm_machine *m,
				    const struct mm_file *f, uint64_t idx)
{
	unsigned levels = 1;

	while (idx >= ((uint64_t)MM_XA_SLOTS << (MM_XA_SHIFT * (levels - 1))))
		levels++;
	if (f->xa_root == MM_NIL)
		return levels;
	if (idx >= mm__xa_span(m, f->xa_root))
		return levels - (mm__xa(m, f->xa_root)->shift / MM_XA_SHIFT + 1) +
		       levels - 1;
	for (uint32_t id = f->xa_root;;) {
		const struct mm_xa_node *n = mm__xa(m, id);
		uint32_t slot = n->slots[(idx >> n->shift) & (MM_XA_SLOTS - 1)];
		if (!n->shift)
			return 0;
		if (slot == MM_NIL)
			return n->shift / MM_XA_SHIFT;
		id = slot;
	}
}

/* One of the nodes set aside for a store, as a node of shift. */
static uint32_t mm__xa_take(struct mm_machine *m, uint32_t *spare,
			    unsigned *nspare, uint8_t shift)
{
	MM_ASSERT(*nspare > 0);
	uint32_t id = spare[--*nspare];
	mm__xa(m, id)->shift = shift;
	return id;
}

/* xa_store() of pfn at an idx holding no page: grows the tree upwards
 * and downwards as needed; *prev gets the shadow entry it replaces (or
 * MM_NIL).  The nodes it needs are allocated first (radix_tree_preload,
 * xas_nomem): an allocation may reclaim, and reclaim may free shadow
 * nodes of this very tree, so the tree is only changed once no more
 * allocation is to come.  0, or -MM_ENOMEM with the tree unchanged. */
static int mm__xa_store(struct mm_machine *m, struct mm_file *f, uint64_t idx,
			uint32_t pfn, int cpu, uint32_t *prev)
{
	uint32_t spare[8];
	unsigned nspare = 0, need;

	*prev = MM_NIL;
	while ((need = mm__xa_nodes_needed(m, f, idx)) > nspare) {
		MM_ASSERT(nspare < 8);
		if ((spare[nspare] = mm__xa_node_new(m, 0, cpu)) == MM_NIL) {
			while (nspare)
				mm__xa_node_free(m, spare[--nspare], cpu);
			return -MM_ENOMEM;
		}
		nspare++;
	}
	if (f->xa_root == MM_NIL) {
		uint8_t shift = 0;
		while (idx >= ((uint64_t)MM_XA_SLOTS << shift))
			shift += MM_XA_SHIFT;
		f->xa_root = mm__xa_take(m, spare, &nspare, shift);
	}
	while (idx >= mm__xa_span(m, f->xa_root)) { /* xas_expand() */
		uint32_t old = f->xa_root;
		uint32_t top = mm__xa_take(m, spare, &nspare,
					   mm__xa(m, old)->shift + MM_XA_SHIFT);
		struct mm_xa_node *t = mm__xa(m, top), *o = mm__xa(m, old);
		t->slots[0] = old;
		t->count = 1;
		o->parent = top;
		o->offset = 0;
		f->xa_root = top;
	}
	uint32_t id = f->xa_root;
	for (;;) {
		struct mm_xa_node *n = mm__xa(m, id);
		unsigned off = (unsigned)(idx >> n->shift) & (MM_XA_SLOTS - 1);
		if (!n->shift) {
			*prev = n->slots[off];
			MM_ASSERT(*prev == MM_NIL || mm__xa_is_shadow(*prev));
			n->slots[off] = pfn;
			if (*prev == MM_NIL)
				n->count++;
			else
				n->nr_values--;
			mm__workingset_update_node(m, id);
			break;
		}
		if (n->slots[off] == MM_NIL) {
			uint32_t c = mm__xa_take(m, spare, &nspare,
						 n->shift - MM_XA_SHIFT);
			n->slots[off] = c;
			n->count++;
			mm__xa(m, c)->parent = id;
			mm__xa(m, c)->offset = (uint8_t)off;
		}
		id = n->slots[off];
	}
	while (nspare)  /* the upper bound's extra */
		mm__xa_node_free(m, spare[--nspare], cpu);
	return 0;
}

/* Frees empty nodes upwards from id, then shrinks a root that only uses
 * slot 0 (xas_delete_node / xas_shrink). */
static void mm__xa_shrink(struct mm_machine *m, struct mm_file *f, uint32_t id,
			  int cpu)
{
	while (id != MM_NIL && !mm__xa(m, id)->count) {
		uint32_t parent = mm__xa(m, id)->parent;
		if (parent != MM_NIL) {
			struct mm_xa_node *p = mm__xa(m, parent);
			p->slots[mm__xa(m, id)->offset] = MM_NIL;
			p->count--;
		} else {
			f->xa_root = MM_NIL;
		}
		mm__xa_node_free(m, id, cpu);
		id = parent;
	}
	while (f->xa_root != MM_NIL) {
		struct mm_xa_node *r = mm__xa(m, f->xa_root);
		if (!r->shift || r->count != 1 || r->slots[0] == MM_NIL)
			break;
		uint32_t child = r->slots[0];
		mm__xa_node_free(m, f->xa_root, cpu);
		f->xa_root = child;
		mm__xa(m, child)->parent = MM_NIL;
	}
}

/* Replaces the entry at idx (a frame or a shadow entry) with entry (a
 * shadow entry, or MM_NIL to empty the slot and free the nodes left
 * empty: xa_erase). */
static void mm__xa_replace(struct mm_machine *m, struct mm_file *f,
			   uint64_t idx, uint32_t entry, int cpu)
{
	uint32_t id = f->xa_root;

	for (;;) {
		struct mm_xa_node *n = mm__xa(m, id);
		unsigned off = (unsigned)(idx >> n->shift) & (MM_XA_SLOTS - 1);
		uint32_t old = n->slots[off];
		MM_ASSERT(old != MM_NIL);
		if (n->shift) {
			id = old;
			continue;
		}
		n->slots[off] = entry;
		n->nr_values += mm__xa_is_shadow(entry) - mm__xa_is_shadow(old);
		n->count -= entry == MM_NIL;
		break;
	}
	mm__workingset_update_node(m, id);
	if (entry == MM_NIL)
		mm__xa_shrink(m, f, id, cpu);
}

/* The first index >= idx (below end) holding a frame (or, with values,
 * any entry), or end. */
static uint64_t mm__xa_next(const struct mm_machine *m, uint32_t id,
			    uint64_t base, uint64_t idx, uint64_t end,
			    bool values)
{
	const struct mm_xa_node *n = mm__xa(m, id);
	uint64_t step = 1ull << n->shift;

	for (unsigned k = 0; k < MM_XA_SLOTS; k++) {
		uint64_t lo = base + step * k;
		uint32_t slot = n->slots[k];
		if (lo + step <= idx || slot == MM_NIL ||
		    (!n->shift && !values && mm__xa_is_shadow(slot)))
			continue;
		if (lo >= end)
			return end;
		if (!n->shift)
			return lo;
		uint64_t r = mm__xa_next(m, slot, lo, idx, end, values);
		if (r < end)
			return r;
	}
	return end;
}

static uint64_t mm__xa_find(const struct mm_machine *m, const struct mm_file *f,
			    uint64_t idx, uint64_t end, bool values)
{
	uint64_t lim = MM_MIN(end, mm__xa_span(m, f->xa_root));

	if (f->xa_root == MM_NIL || idx >= lim)
		return end;
	uint64_t r = mm__xa_next(m, f->xa_root, 0, idx, lim, values);
	return r < lim ? r : end;
}

uint64_t mm__pagecache_next(const struct mm_machine *m, const struct mm_file *f,
			    uint64_t idx, uint64_t end)
{
	return mm__xa_find(m, f, idx, end, false);
}

void mm__xa_delete_node(struct mm_machine *m, uint32_t id, int cpu)
{
	struct mm_xa_node *n = mm__xa(m, id);
	uint32_t root = id;

	MM_ASSERT(!n->shift && n->count && n->count == n->nr_values);
	while (mm__xa(m, root)->parent != MM_NIL)
		root = mm__xa(m, root)->parent;
	uint32_t i = 0;   /* the file whose tree it is */
	while (i < m->nr_files && (!m->files[i].ino || m->files[i].xa_root != root))
		i++;
	MM_ASSERT(i < m->nr_files);
	struct mm_file *f = &m->files[i];
	for (unsigned k = 0; k < MM_XA_SLOTS; k++)
		n->slots[k] = MM_NIL;
	n->count = n->nr_values = 0;
	mm__workingset_update_node(m, id);
	mm__xa_shrink(m, f, id, cpu);
}

/* ---- cache pages ------------------------------------------------------------ */

static void mm__file_stat(struct mm_machine *m, uint32_t pfn, int item, int64_t d)
{
	m->nodes[mm_page_zone(m, pfn)->node].vm_stat[item] += d;
}

/* folio_account_dirtied() (d = 1) / folio_account_cleaned() and the end
 * of writeback (d = -1): NR_FILE_DIRTY, the zone's write_pending (dirty
 * and under writeback, which is instant here) and nr_dirtied. */
static void mm__account_dirty(struct mm_machine *m, uint32_t pfn, int d)
{
	mm__file_stat(m, pfn, MM_NR_DIRTY, d);
	mm_page_zone(m, pfn)->vm_stat[MM_NR_ZONE_WRITE_PENDING] += d;
	if (d > 0)
		mm__file_stat(m, pfn, MM_NR_DIRTIED, 1);
}

void mm__page_set_dirty(struct mm_machine *m, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (mm_page_test(p, MM_PG_dirty))
		return;
	mm__set(p, MM_PG_dirty);
	mm__file(m, p->mapping)->nr_dirty++;
	mm__account_dirty(m, pfn, 1);
}

/* The disk block of page idx (NULL: a hole). */
static const uint8_t *mm__disk_block(const struct mm_file *f, uint64_t idx)
{
	return idx < f->disk_nr ? f->disk[idx] : NULL;
}

static void mm__pagecache_remove(struct mm_machine *m, struct mm_file *f,
				 uint32_t pfn, uint32_t shadow, int cpu);

/* A new page for idx, inserted in the cache (refcount 1, uptodate,
 * clean), its bytes read from the disk.  A shadow entry it replaces is a
 * refault (filemap_add_folio), unless the page is added for a write
 * (__GFP_WRITE).  0 or -MM_ENOMEM. */
static int mm__pagecache_add(struct mm_machine *m, struct mm_file *f,
			     uint64_t idx, bool write, int cpu, uint32_t *pfn)
{
	struct mm_alloc_result r;
	uint32_t shadow;
	int rc = mm__alloc_pages(m, MM_GFP_HIGHUSER_MOVABLE, 0, cpu, -1, &r);

	if (rc)
		return rc;
	rc = mm__xa_store(m, f, idx, r.pfn, cpu, &shadow);
	if (rc) {
		mm__free_pages(m, r.pfn, 0, cpu);
		return rc;
	}
	struct mm_page *p = &m->pages[r.pfn];
	mm__set(p, MM_PG_uptodate);
	p->mapping = mm__file_handle(m, f);
	p->index = (uint32_t)idx;
	f->nr_pages++;
	mm__file_stat(m, r.pfn, MM_NR_FILE_PAGES, 1);
	if (shadow != MM_NIL && !write)
		mm__workingset_refault(m, r.pfn, shadow);
	mm__lru_add_new(m, r.pfn, 0); /* filemap_add_folio: folio_add_lru */
	const uint8_t *blk = mm__disk_block(f, idx);
	if (blk && mm_frame_write(m, r.pfn, 0, blk, MM_PAGE_SIZE)) {
		mm__pagecache_remove(m, f, r.pfn, MM_NIL, cpu);
		return -MM_ENOMEM;
	}
	*pfn = r.pfn;
	return 0;
}

/* Writes a dirty page back to the disk (instantly: PG_writeback is never
 * seen between operations). */
static int mm__page_writeback(struct mm_machine *m, struct mm_file *f,
			      uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	if (p->mapcount)
		mm__mkclean(m, pfn); /* folio_clear_dirty_for_io() */
	if (!mm_page_test(p, MM_PG_dirty))
		return 0;
	if (p->index >= f->disk_nr) {
		uint32_t nr = MM_MAX(p->index + 1, f->disk_nr * 2);
		uint8_t **d = realloc(f->disk, nr * sizeof(*d));
		if (!d)
			return -MM_ENOMEM;
		memset(d + f->disk_nr, 0, (nr - f->disk_nr) * sizeof(*d));
		f->disk = d;
		f->disk_nr = nr;
	}
	const uint8_t *bytes = mm_frame_bytes(m, pfn);
	if (bytes && !f->disk[p->index] &&
	    !(f->disk[p->index] = malloc(MM_PAGE_SIZE)))
		return -MM_ENOMEM;
	if (bytes) {
		memcpy(f->disk[p->index], bytes, MM_PAGE_SIZE);
	} else {
		free(f->disk[p->index]);
		f->disk[p->index] = NULL;
	}
	mm__clear(p, MM_PG_dirty);
	f->nr_dirty--;
	mm__account_dirty(m, pfn, -1);
	mm__file_stat(m, pfn, MM_NR_WRITTEN, 1); /* folio_end_writeback() */
	m->events[MM_PGPGOUT] += MM_PAGE_SIZE >> 10;
	if (mm_page_test(p, MM_PG_reclaim)) {
		/* folio_end_writeback(): a page reclaim flagged for immediate
		 * reclaim goes to the inactive tail (folio_rotate_reclaimable),
		 * unless reclaim holds it isolated (its own pageout) */
		mm__clear(p, MM_PG_reclaim);
		mm__rotate_reclaimable(m, pfn);
	}
	return 0;
}

/* Removes an unmapped page from the cache and frees it, leaving shadow
 * (an entry, or MM_NIL for none) in its slot (__filemap_remove_folio +
 * folio_put). */
static void mm__pagecache_remove(struct mm_machine *m, struct mm_file *f,
				 uint32_t pfn, uint32_t shadow, int cpu)
{
	struct mm_page *p = &m->pages[pfn];

	MM_ASSERT(p->mapcount == 0 && p->refcount == 1);
	mm__lru_remove(m, pfn);
	mm__xa_replace(m, f, p->index, shadow, cpu);
	f->nr_pages--;
	if (mm_page_test(p, MM_PG_dirty)) {
		f->nr_dirty--;
		mm__account_dirty(m, pfn, -1);
	}
	mm__file_stat(m, pfn, MM_NR_FILE_PAGES, -1);
	p->flags &= ~((1u << MM_PG_uptodate) | (1u << MM_PG_dirty) |
		      (1u << MM_PG_reclaim) | (1u << MM_PG_referenced));
	p->mapping = 0;
	p->index = 0;
	mm__free_pages(m, pfn, 0, cpu);
}

/* ---- readahead (mm/readahead.c, order-0 folios) -------------------------- */

/* page_cache_ra_unbounded(): reads [idx, idx + nr) but the pages already
 * cached; marks idx + nr - lookahead PG_readahead.  Returns pages read. */
static uint64_t mm__ra_unbounded(struct mm_machine *m, struct mm_file *f,
				 uint64_t idx, uint64_t nr, uint64_t lookahead,
				 int cpu)
{
	uint64_t mark = lookahead <= nr ? nr - lookahead : UINT64_MAX, read = 0;

	for (uint64_t i = 0; i < nr; i++) {
		uint32_t pfn;
		if (mm__xa_load(m, f, idx + i) != MM_NIL)
			continue;
		if (mm__pagecache_add(m, f, idx + i, false, cpu, &pfn))
			break; /* readahead is best effort */
		if (i == mark)
			mm__set(&m->pages[pfn], MM_PG_reclaim);
		read++;
	}
	m->events[MM_PGPGIN] += read * (MM_PAGE_SIZE >> 10);
	return read;
}

/* do_page_cache_ra(): the window clipped to EOF. */
static uint64_t mm__do_page_cache_ra(struct mm_machine *m, struct mm_file *f,
				     uint64_t idx, uint64_t nr,
				     uint64_t lookahead, int cpu)
{
	if (!f->size)
		return 0;
	uint64_t end_index = (f->size - 1) >> MM_PAGE_SHIFT;
	if (idx > end_index)
		return 0;
	if (nr > end_index - idx)
		nr = end_index - idx + 1;
	return mm__ra_unbounded(m, f, idx, nr, lookahead, cpu);
}

static uint64_t mm__ra_submit(struct mm_machine *m, struct mm_file *f, int cpu)
{
	return mm__do_page_cache_ra(m, f, f->ra_start, f->ra_size,
				    f->ra_async_size, cpu);
}

/* get_init_ra_size() / get_next_ra_size() */
static uint32_t mm__init_ra_size(uint64_t size, uint32_t max)
{
	uint64_t n = 1;

	while (n < size)
		n <<= 1;
	if (n <= max / 32)
		return (uint32_t)n * 4;
	if (n <= max / 4)
		return (uint32_t)n * 2;
	return max;
}

static uint32_t mm__next_ra_size(uint32_t cur, uint32_t max)
{
	if (cur < max / 16)
		return 4 * cur;
	if (cur <= max / 2)
		return 2 * cur;
	return max;
}

/* page_cache_async_ra(): a PG_readahead page at idx was hit. */
static uint64_t mm__async_ra(struct mm_machine *m, struct mm_file *f,
			     uint32_t pfn, uint64_t idx, uint64_t req, int cpu)
{
	uint32_t max = MM_MAX((uint32_t)MM_MIN(req, UINT32_MAX), mm__ra_pages(m));

	mm__clear(&m->pages[pfn], MM_PG_reclaim);
	if (idx == f->ra_start + f->ra_size - f->ra_async_size) {
		f->ra_start += f->ra_size;
		f->ra_size = MM_MAX(f->ra_size, mm__next_ra_size(f->ra_size, max));
		f->ra_async_size = f->ra_size;
		return mm__ra_submit(m, f, cpu);
	}
	uint64_t start = idx + 1;
	while (start - idx <= max && mm__xa_load(m, f, start) != MM_NIL)
		start++;
	if (start - idx > max)
		return 0;
	f->ra_start = start;
	f->ra_size = (uint32_t)(start - idx + req);
	f->ra_size = mm__next_ra_size(f->ra_size, max);
	f->ra_async_size = f->ra_size;
	return mm__ra_submit(m, f, cpu);
}

/* page_cache_sync_ra(): readFile missed idx with req pages to go. */
static uint64_t mm__sync_ra(struct mm_machine *m, struct mm_file *f,
			    uint64_t idx, uint64_t req, int cpu)
{
	uint32_t max = MM_MAX((uint32_t)MM_MIN(req, UINT32_MAX), mm__ra_pages(m));
	uint64_t prev = f->prev_pos < 0 ? UINT64_MAX
					: (uint64_t)f->prev_pos >> MM_PAGE_SHIFT;

	if (!idx || req > max || idx - prev <= 1) {
		f->ra_start = idx;
		f->ra_size = mm__init_ra_size(req, max);
		f->ra_async_size = f->ra_size > req ? f->ra_size - (uint32_t)req
						    : f->ra_size;
		return mm__ra_submit(m, f, cpu);
	}
	/* page_cache_prev_miss(): the cached history behind idx */
	uint64_t miss = idx - 1, n = 0;
	while (n < max && mm__xa_load(m, f, miss) != MM_NIL) {
		n++;
		if (!miss--)
			break;
	}
	bool from_start = miss == UINT64_MAX;
	uint64_t contig = from_start ? idx : idx - miss - 1;
	if (contig <= req)
		return mm__do_page_cache_ra(m, f, idx, req, 0, cpu);
	if (from_start)
		contig *= 2;
	f->ra_start = idx;
	f->ra_size = (uint32_t)MM_MIN(contig + req, max);
	f->ra_async_size = 1;
	return mm__ra_submit(m, f, cpu);
}

/* ---- the fault side (called from fault.c) ------------------------------- */

/*
 * filemap_fault() for page idx of f: a cached page answers at once (with
 * async readahead at a PG_readahead mark); a missing one is a major fault
 * that reads the mmap read-around window first (do_sync_mmap_readahead).
 * Returns 0 with *pfn, *major set when it was read, *retry when readahead
 * I/O would have dropped the fault (VM_FAULT_RETRY); -MM_ENOMEM.
 */
int mm__filemap_fault(struct mm_machine *m, struct mm_file *f,
		      uint64_t vm_flags, uint64_t idx, int cpu, uint32_t *pfn,
		      bool *major, bool *retry)
{
	uint32_t p = mm__xa_load(m, f, idx);

	*major = *retry = false;
	if (p != MM_NIL) {
		/* do_async_mmap_readahead(): the I/O drops the lock, so the
		 * fault is retried */
		if (!(vm_flags & MM_VM_RAND_READ)) {
			if (f->mmap_miss)
				f->mmap_miss--;
			if (mm_page_test(&m->pages[p], MM_PG_reclaim)) {
				/* the lookup's reference: reclaim for the
				 * readahead's pages must not take this one */
				m->pages[p].refcount++;
				mm__async_ra(m, f, p, idx, mm__ra_pages(m), cpu);
				m->pages[p].refcount--;
				*retry = true;
			}
		}
		*pfn = p;
		return 0;
	}
	*major = *retry = true;
	m->events[MM_PGMAJFAULT]++;
	/* do_sync_mmap_readahead() */
	if (vm_flags & MM_VM_SEQ_READ) {
		mm__sync_ra(m, f, idx, mm__ra_pages(m), cpu);
	} else if (!(vm_flags & MM_VM_RAND_READ)) {
		if (f->mmap_miss < MM_MMAP_LOTSAMISS * 10)
			f->mmap_miss++;
		if (f->mmap_miss <= MM_MMAP_LOTSAMISS) {
			f->ra_start = idx > mm__ra_pages(m) / 2 ? idx - mm__ra_pages(m) / 2 : 0;
			f->ra_size = mm__ra_pages(m);
			f->ra_async_size = mm__ra_pages(m) / 4;
			mm__ra_submit(m, f, cpu);
		}
	}
	p = mm__xa_load(m, f, idx);
	if (p == MM_NIL) {
		/* no readahead (or it ran out of memory): read the page */
		int rc = mm__pagecache_add(m, f, idx, false, cpu, &p);
		if (rc)
			return rc;
		m->events[MM_PGPGIN] += MM_PAGE_SIZE >> 10;
	}
	*pfn = p;
	return 0;
}

/* Pages past EOF of f fault with SIGBUS. */
bool mm__file_beyond_eof(const struct mm_file *f, uint64_t idx)
{
	return idx >= mm__size_pages(f->size);
}

/* filemap_map_pages(): may page idx be mapped by fault-around?  Counts
 * the mapping against mmap_miss. */
uint32_t mm__filemap_map_page(struct mm_machine *m, struct mm_file *f,
			      uint64_t idx)
{
	if (mm__file_beyond_eof(f, idx))
		return MM_NIL;
	uint32_t pfn = mm__xa_load(m, f, idx);
	if (pfn == MM_NIL || !mm_page_test(&m->pages[pfn], MM_PG_uptodate) ||
	    mm_page_test(&m->pages[pfn], MM_PG_reclaim))
		return MM_NIL;
	if (f->mmap_miss)
		f->mmap_miss--;
	return pfn;
}

bool mm__pagecache_reclaim(struct mm_machine *m, uint32_t pfn, bool may_write,
			   int cpu)
{
	struct mm_page *p = &m->pages[pfn];
	struct mm_file *f = mm__file(m, p->mapping);

	if (!f || p->mapcount)
		return false;
	if (mm_page_test(p, MM_PG_dirty)) {
		/* shrink_folio_list(): only kswapd writes file pages, and
		 * only one already flagged for reclaim (PG_reclaim, the bit
		 * of PG_readahead); others are flagged and kept */
		if (!may_write || !mm_page_test(p, MM_PG_reclaim)) {
			mm__set(p, MM_PG_reclaim);
			mm__file_stat(m, pfn, MM_NR_VMSCAN_IMMEDIATE_RECLAIM, 1);
			return false;
		}
		/* pageout(): the simulated disk is instant, so the page is
		 * clean at once and freed in the same pass */
		if (mm__page_writeback(m, f, pfn))
			return false;
		mm__file_stat(m, pfn, MM_NR_VMSCAN_WRITE, 1);
	}
	/* __remove_mapping(): reclaim leaves a shadow entry */
	mm__pagecache_remove(m, f, pfn, mm__workingset_eviction(m, pfn), cpu);
	return true;
}

void mm__file_willneed(struct mm_machine *m, struct mm_file *f, uint64_t idx,
		       uint64_t nr, int cpu)
{
	/* force_page_cache_ra(): at most max(io_pages, ra_pages) pages (the
	 * disk's io_pages taken as no larger), no readahead marks, clipped
	 * to EOF; read in 2 MiB chunks, which changes nothing here */
	mm__do_page_cache_ra(m, f, idx, MM_MIN(nr, mm__ra_pages(m)), 0, cpu);
}

/* ---- unmapping a range of a file (unmap_mapping_range) -------------------- */

/* Zaps every PTE of f's VMAs that maps page indices >= from (with private
 * COW copies when even_cows, as truncate does). */
static void mm__unmap_mapping_from(struct mm_machine *m, struct mm_file *f,
				   uint64_t from, int cpu)
{
	uint32_t h = mm__file_handle(m, f);

	for (uint32_t i = 0; i < m->nr_vmas; i++) {
		struct mm_vma *v = &m->vmas[i];
		if (!v->end || v->file != h)
			continue;
		uint64_t pages = (v->end - v->start) >> MM_PAGE_SHIFT;
		if (v->pgoff + pages <= from)
			continue;
		uint64_t start = v->start;
		if (from > v->pgoff)
			start += (from - v->pgoff) << MM_PAGE_SHIFT;
		mm__zap_range(m, &m->mms[v->mm], start, v->end, cpu);
	}
}

/* truncate_inode_pages_range(): drops the cache pages from idx on (they
 * are unmapped) with the shadow entries there, and the disk blocks. */
static void mm__truncate_pages(struct mm_machine *m, struct mm_file *f,
			       uint64_t from, int cpu)
{
	for (uint64_t idx = mm__xa_find(m, f, from, UINT64_MAX, true);
	     idx != UINT64_MAX; idx = mm__xa_find(m, f, idx, UINT64_MAX, true)) {
		uint32_t e = mm__xa_entry(m, f, idx);
		if (mm__xa_is_shadow(e))
			mm__xa_replace(m, f, idx, MM_NIL, cpu);
		else
			mm__pagecache_remove(m, f, e, MM_NIL, cpu);
	}
	for (uint64_t k = from; k < f->disk_nr; k++) {
		free(f->disk[k]);
		f->disk[k] = NULL;
	}
}

/* The last reference to an unlinked file went: its pages, tree, object. */
static void mm__file_release(struct mm_machine *m, struct mm_file *f, int cpu)
{
	mm__truncate_pages(m, f, 0, cpu);
	MM_ASSERT(f->xa_root == MM_NIL && !f->nr_pages);
	mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_FILP], f->slab_addr, cpu);
	free(f->disk);
	memset(f, 0, sizeof(*f));
}

void mm__file_put(struct mm_machine *m, uint32_t handle, int cpu)
{
	struct mm_file *f = mm__file(m, handle);

	if (f && f->unlinked && f->i_mmap == MM_NIL) /* i_mmap.c */
		mm__file_release(m, f, cpu);
}

/* ---- the file operations ----------------------------------------------- */

static int mm__check_size(uint64_t size)
{
	return mm__size_pages(size) > MM_FILE_MAX_PAGES ? -MM_EFBIG : 0;
}

int mm_file_create(struct mm_machine *m, const char *name, uint64_t size,
		   const uint8_t *content, size_t len, int *id)
{
	size_t nl = strlen(name);

	if (!nl || nl >= MM_FILE_NAME_MAX || strchr(name, '/'))
		return -MM_EINVAL;
	if (mm_file_lookup(m, name) >= 0)
		return -MM_EEXIST;
	if (mm__check_size(size) || mm__check_size(len))
		return -MM_EFBIG;
	uint64_t obj;
	if (mm_kmem_cache_alloc(m, m->engine_caches[MM_CACHE_FILP], MM_GFP_KERNEL,
				0, &obj))
		return -MM_ENOMEM;
	uint32_t i = 0;
	while (i < m->nr_files && m->files[i].ino)
		i++;
	if (i == m->nr_files) {
		if (mm__grow((void **)&m->files, &m->cap_files, m->nr_files,
			     sizeof(*m->files))) {
			mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_FILP], obj, 0);
			return -MM_ENOMEM;
		}
		m->nr_files++;
	}
	struct mm_file *f = &m->files[i];
	memset(f, 0, sizeof(*f));
	memcpy(f->name, name, nl + 1);
	f->ino = ++m->last_ino;
	f->xa_root = MM_NIL;
	f->i_mmap = MM_NIL;
	f->prev_pos = -1;
	f->slab_addr = obj;
	*id = (int)i;
	if (len) {
		int rc = mm_file_write(m, (int)i, 0, content, len);
		if (rc) {
			mm__file_release(m, &m->files[i], 0);
			return rc;
		}
	}
	f = &m->files[i];
	f->size = MM_MAX(f->size, size);
	return 0;
}

int mm_file_write(struct mm_machine *m, int id, uint64_t offset,
		  const uint8_t *data, size_t len)
{
	struct mm_file *f = (struct mm_file *)mm_file_get(m, id);

	if (!f)
		return -MM_EBADF;
	if (!len)
		return 0;
	if (offset + len < offset || mm__check_size(offset + len))
		return -MM_EFBIG;
	for (uint64_t pos = offset; pos < offset + len;) {
		uint64_t idx = pos >> MM_PAGE_SHIFT;
		uint64_t next = MM_MIN((idx + 1) << MM_PAGE_SHIFT, offset + len);
		uint32_t pfn = mm__xa_load(m, f, idx);
		if (pfn == MM_NIL) {
			/* write_begin: a partial page inside i_size is read
			 * first, the rest starts zeroed */
			int rc = mm__pagecache_add(m, f, idx, true, 0, &pfn);
			if (rc)
				return rc; /* the pages before stay written */
		}
		uint32_t off = (uint32_t)(pos & (MM_PAGE_SIZE - 1));
		if (mm_frame_write(m, pfn, off, data + (pos - offset),
				   (uint32_t)(next - pos)))
			return -MM_ENOMEM;
		mm__page_set_dirty(m, pfn);
		pos = next;
		f->size = MM_MAX(f->size, pos);
	}
	return 0;
}

int mm_file_read(struct mm_machine *m, int id, uint64_t offset, uint64_t len,
		 uint8_t *out, uint64_t *got, uint64_t *major)
{
	struct mm_file *f = (struct mm_file *)mm_file_get(m, id);

	*major = *got = 0;
	if (!f)
		return -MM_EBADF;
	if (offset >= f->size || !len)
		return 0;
	uint64_t end = MM_MIN(f->size, offset + len < offset ? UINT64_MAX : offset + len);
	uint64_t last = (end - 1) >> MM_PAGE_SHIFT;
	for (uint64_t idx = offset >> MM_PAGE_SHIFT; idx <= last; idx++) {
		uint32_t pfn = mm__xa_load(m, f, idx);
		if (pfn == MM_NIL) {
			/* filemap_get_pages(): sync readahead, then the page */
			*major += mm__sync_ra(m, f, idx, last - idx + 1, 0);
			pfn = mm__xa_load(m, f, idx);
			if (pfn == MM_NIL) {
				int rc = mm__pagecache_add(m, f, idx, false, 0, &pfn);
				if (rc)
					return rc;
				m->events[MM_PGPGIN] += MM_PAGE_SIZE >> 10;
				(*major)++;
			}
		} else if (mm_page_test(&m->pages[pfn], MM_PG_reclaim)) {
			m->pages[pfn].refcount++; /* held across the readahead */
			*major += mm__async_ra(m, f, pfn, idx, last - idx + 1, 0);
			m->pages[pfn].refcount--;
		}
		mm__mark_page_accessed(m, pfn); /* filemap_read() */
		uint64_t lo = MM_MAX(offset, idx << MM_PAGE_SHIFT);
		uint64_t hi = MM_MIN(end, (idx + 1) << MM_PAGE_SHIFT);
		mm_frame_read(m, pfn, (uint32_t)(lo & (MM_PAGE_SIZE - 1)),
			      out + (lo - offset), (uint32_t)(hi - lo));
		*got = hi - offset;
	}
	f->prev_pos = (int64_t)end - 1;
	return 0;
}

int mm_file_truncate(struct mm_machine *m, int id, uint64_t size)
{
	struct mm_file *f = (struct mm_file *)mm_file_get(m, id);

	if (!f)
		return -MM_EBADF;
	if (mm__check_size(size))
		return -MM_EFBIG;
	uint64_t old = f->size;
	f->size = size;
	if (size < old) {
		/* truncate_pagecache(): unmap (COW copies too), drop, unmap */
		uint64_t from = mm__size_pages(size);
		mm__unmap_mapping_from(m, f, from, 0);
		mm__truncate_pages(m, f, from, 0);
		/* folio_zero_range() of the partial last page, on disk too */
		uint32_t tail = (uint32_t)(size & (MM_PAGE_SIZE - 1));
		uint64_t last = size >> MM_PAGE_SHIFT;
		uint32_t pfn = tail ? mm__xa_load(m, f, last) : MM_NIL;
		if (pfn != MM_NIL && mm_frame_bytes(m, pfn)) {
			static const uint8_t zeros[MM_PAGE_SIZE];
			if (mm_frame_write(m, pfn, tail, zeros, MM_PAGE_SIZE - tail))
				return -MM_ENOMEM;
		}
		if (tail && last < f->disk_nr && f->disk[last])
			memset(f->disk[last] + tail, 0, MM_PAGE_SIZE - tail);
	}
	return 0;
}

int mm_file_sync(struct mm_machine *m, int id)
{
	struct mm_file *f = (struct mm_file *)mm_file_get(m, id);

	if (!f)
		return -MM_EBADF;
	for (uint64_t idx = mm__pagecache_next(m, f, 0, UINT64_MAX);
	     idx != UINT64_MAX; idx = mm__pagecache_next(m, f, idx + 1, UINT64_MAX)) {
		int rc = mm__page_writeback(m, f, mm__xa_load(m, f, idx));
		if (rc)
			return rc;
	}
	return 0;
}

int mm_file_delete(struct mm_machine *m, int id)
{
	struct mm_file *f = (struct mm_file *)mm_file_get(m, id);

	if (!f)
		return -MM_ENOENT;
	f->unlinked = true;
	mm__file_put(m, mm__file_handle(m, f), 0);
	return 0;
}

int mm_drop_caches(struct mm_machine *m, int mode, struct mm_drop_result *r)
{
	memset(r, 0, sizeof(*r));
	if (mode < 1 || mode > 3)
		return -MM_EINVAL;
	if (mode & 1) {
		for (uint32_t i = 0; i < m->nr_files; i++) {
			struct mm_file *f = &m->files[i];
			if (!f->ino)
				continue;
			for (uint64_t idx = mm__xa_find(m, f, 0, UINT64_MAX, true);
			     idx != UINT64_MAX;) {
				uint32_t e = mm__xa_entry(m, f, idx);
				uint64_t next = mm__xa_find(m, f, idx + 1,
							    UINT64_MAX, true);
				/* invalidate_mapping_pages(): shadow entries
				 * are cleared (clear_shadow_entries); sync:
				 * dirty pages go to the disk first; a mapped
				 * page stays */
				if (mm__xa_is_shadow(e)) {
					mm__xa_replace(m, f, idx, MM_NIL, 0);
				} else if (mm__page_writeback(m, f, e) == 0 &&
					   !m->pages[e].mapcount) {
					mm__pagecache_remove(m, f, e, MM_NIL, 0);
					r->pagecache++;
				}
				idx = next;
			}
		}
		m->events[MM_DROP_PAGECACHE]++;
	}
	if (mode & 2) {
		mm__drop_slab(m); /* the shrinkers: shadow nodes */
		for (int c = 0; c < MM_SLAB_MAX_CACHES; c++)
			if (m->caches[c])
				r->slab += (uint64_t)mm_kmem_cache_shrink(m, c);
		m->events[MM_DROP_SLAB]++;
	}
	return 0;
}

void mm__pagecache_destroy(struct mm_machine *m)
{
	for (uint32_t i = 0; i < m->nr_files; i++) {
		/* a snapshot load that failed may leave disk NULL */
		for (uint32_t k = 0; m->files[i].disk && k < m->files[i].disk_nr; k++)
			free(m->files[i].disk[k]);
		free(m->files[i].disk);
	}
	free(m->files);
	free(m->xa_nodes);
}
