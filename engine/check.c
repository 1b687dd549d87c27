/*
 * check.c — the invariant checker: recomputes the physical-memory
 * structures from the frame descriptors and compares them with the
 * allocator's lists and counters.  Each broken invariant is reported with a
 * stable name (Linux's bad_reason style) and a detail line.
 *
 * Invariants of this layer:
 *   zone-span        zones lie inside their node, present/spanned agree
 *                    with the hole frames, frames carry their zone's id
 *   list-links       every list is a well-formed chain: prev/next agree,
 *                    count equals the walked length, no cycle
 *   buddy-flag       a frame on a free list is PG_buddy with private == the
 *                    list's order, aligned, inside its zone
 *   buddy-migratetype  a free block sits on its pageblock's list
 *   buddy-orphan     every PG_buddy frame is on a free list
 *   buddy-overlap    a frame belongs to at most one free block / pcp list /
 *                    allocation, and never to a reserved frame
 *   buddy-unmerged   below pageblock order, no free block has a free buddy
 *                    of its order
 *   free-count       nr_free, free_area.nr_free, highatomic and block
 *                    counters equal the recount
 *   pcp-count        pcp->count equals its lists; pcp frames are PG_pcp
 *   refcount         free frames have refcount 0, reserved ones 1,
 *                    allocated heads >= 1
 *   managed-count    managed = present - reserved frames
 *   highatomic-count nr_reserved_highatomic matches HighAtomic pageblocks
 *   frame-owner      every frame of a zone is reserved, free, on a pcp list,
 *                    allocated or part of a slab
 * and of the slab allocator:
 *   slab-page        a slab's frames carry PG_slab, its cache and its id;
 *                    every PG_slab frame belongs to a live slab
 *   slab-freelist    a slab's free chain stays inside the slab, has no
 *                    cycle and holds exactly objects - inuse objects
 *   slab-state       a slab is where its state says: the cpu's active
 *                    slab, on a cpu partial list (of the cpu it names),
 *                    on its node's partial list (not full) or on no list
 *                    (full)
 *   slab-counts      per-node slab and object counts, and the node's
 *                    NR_SLAB_* pages, equal the recount
 *   slab-poison      free objects of SLAB_POISON caches hold the poison
 * and of page tables and vmalloc:
 *   pgtable-frame    PG_pgtable frames and table records name each other;
 *                    NR_PAGE_TABLE_PAGES equals the PG_pgtable frames
 *   vmalloc-area     areas are sorted, disjoint, inside the vmalloc range;
 *                    each page is mapped by its PTE, the guard page is not;
 *                    VmallocUsed equals the pages of all areas
 *   pkmap-count      a pkmap slot is mapped exactly when its count is > 0
 * and of address spaces:
 *   vma-order        an mm's VMAs are page aligned, non-empty, sorted and
 *                    disjoint, below TASK_SIZE, and the list agrees with
 *                    an in-order walk of the tree
 *   vma-tree         every tree node's height is right and its children's
 *                    heights differ by at most one
 *   vma-mergeable    no two neighbours could have been one VMA (but the
 *                    heap's first VMA and the bss below it: brk() never
 *                    merges below start_brk, exec leaves them apart)
 *   vma-counts       map_count, total_vm, locked_vm and Committed_AS
 *                    equal the recount
 *   task-objects     every live task holds a task_struct, its mm an
 *                    mm_struct and each VMA a vm_area_struct object
 * and of paging (fault.c):
 *   pte-frame        every present user PTE maps the zero page, an
 *                    allocated anonymous (PG_swapbacked) frame or a file's
 *                    page-cache frame, inside a VMA
 *   page-mapcount    an anonymous frame's mapcount equals the PTEs mapping
 *                    it (and is > 0), its refcount is >= its mapcount
 *   pte-prot         a PTE allows no more than its VMA: RW only under
 *                    VM_WRITE, present (not PROT_NONE) exactly when the
 *                    VMA grants some access
 *   cow-readonly     a frame mapped more than once is read-only in every
 *                    PTE, a writable anonymous PTE maps an exclusive page;
 *                    the zero page is never writable
 *   anon-exclusive   a PG_anon_exclusive page is mapped by exactly one PTE
 *   rss-count        each mm's rss_anon/rss_shmem/rss_file and
 *                    NR_ANON_PAGES equal the recount
 *   pgtable-reach    every PG_pgtable frame is reached exactly once from
 *                    the kernel's or an mm's top table
 *   shmem-object     a shmem object's pages name it (mapping, index) and
 *                    every shmem frame is in its object, which some VMA
 *                    maps; shmem frames have refcount 1 + mapcount
 *   page-cache       (pagecache.c) every radix-tree slot names a frame
 *                    whose mapping/index name that slot, with refcount
 *                    1 + mapcount; every file frame is in its file's tree;
 *                    nodes' count/parent/offset/shift agree and each holds
 *                    a live radix_tree_node object, each file a filp
 *                    object; nr_pages, NR_FILE_PAGES (shmem + files),
 *                    NR_DIRTY, NR_MAPPED and each zone's
 *                    nr_zone_write_pending equal the recount
 *   shadow-entry     (workingset.c) shadow entries sit only in leaf slots
 *                    (no page there), below EOF, naming an existing node;
 *                    nr_values counts them; a leaf is on its object's
 *                    node's shadow list iff it holds only shadow entries;
 *                    each list is well linked and workingset_nodes long
 *   i-mmap           (i_mmap.c) every VMA of a regular file or shmem
 *                    object is in its object's interval tree exactly
 *                    once, no other VMA is in any and no tree holds a VMA
 *                    of another object; parent links agree, the in-order
 *                    walk is sorted by vm_pgoff, each node's shared_last
 *                    is its subtree's largest last page offset and a
 *                    parent's priority exceeds its children's
 *   rmap             (rmap.c) the reverse-mapping walk of every mapped
 *                    anonymous or cache frame finds exactly its mapcount
 *                    PTEs: anon_vma chains and file VMAs are complete
 *   frame-content    content buffers sit only on allocated frames (never
 *                    free, reserved or the zero page); nr_content counts
 *                    them
 * and of swap (swap.c):
 *   swap-entry       a swap entry in a PTE lies in a VMA, has type 0 and
 *                    names a usable slot that is in use
 *   swap-count       each slot's swap_map count equals the swap entries
 *                    naming it; each mm's rss_swap its entries
 *   swap-cache       a slot has SWAP_HAS_CACHE exactly when the swap cache
 *                    holds a page for it; that page is an anonymous,
 *                    allocated PG_swapcache frame whose private names the
 *                    slot, and every PG_swapcache frame is so held;
 *                    NR_SWAPCACHE counts them (and NR_FILE_PAGES them too)
 *   swap-free        swap_free = usable slots with a zero map; a cluster
 *                    has arrays exactly while it has used slots (its used
 *                    count right), stored bytes only on used slots
 * and of reclaim (reclaim.c):
 *   lru-membership   every frame on an LRU list is PG_lru, allocated, of
 *                    the list's node, and on the list its flags name
 *                    (swapbacked/active/unevictable); every PG_lru frame
 *                    is on a list; every user page (anonymous, shmem,
 *                    file) is on one; unevictable exactly when mlocked
 *   lru-count        each node's and zone's NR_{IN,}ACTIVE_{ANON,FILE}
 *                    and NR_UNEVICTABLE equal the list recount; NR_MLOCK
 *                    equals the PG_mlocked frames
 */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>

enum { OWN_NONE, OWN_RESERVED, OWN_FREE, OWN_PCP, OWN_ALLOC, OWN_SLAB,
       OWN_PGTABLE, OWN_VMALLOC };

struct mm__checker {
	const struct mm_machine *m;
	struct mm_violation *v;
	int max, n;
	uint8_t *own;
};

static void mm__report(struct mm__checker *c, const char *inv, const char *fmt,
		       ...) __attribute__((format(printf, 3, 4)));
static void mm__report(struct mm__checker *c, const char *inv, const char *fmt,
		       ...)
{
	if (c->n < c->max) {
		va_list ap;
		c->v[c->n].invariant = inv;
		va_start(ap, fmt);
		vsnprintf(c->v[c->n].detail, sizeof(c->v[c->n].detail), fmt, ap);
		va_end(ap);
	}
	c->n++;
}

/* Walks a list; reports list-links problems; calls fn per frame. */
static bool mm__walk(struct mm__checker *c, const struct mm_plist *l,
		     const char *what, void (*fn)(struct mm__checker *, uint32_t,
						  void *),
		     void *arg)
{
	const struct mm_machine *m = c->m;
	uint32_t prev = MM_NIL, pfn = l->head, n = 0;

	while (pfn != MM_NIL) {
		if (pfn >= m->nr_pfns || n > l->count) {
			mm__report(c, "list-links", "%s: chain runs past its count "
				   "%u or off the machine", what, l->count);
			return false;
		}
		if (m->pages[pfn].lru_prev != prev) {
			mm__report(c, "list-links", "%s: pfn %u has prev %u, "
				   "expected %u", what, pfn, m->pages[pfn].lru_prev,
				   prev);
			return false;
		}
		if (fn)
			fn(c, pfn, arg);
		prev = pfn;
		pfn = m->pages[pfn].lru_next;
		n++;
	}
	if (l->tail != prev || n != l->count) {
		mm__report(c, "list-links", "%s: walked %u frames ending at %u, "
			   "list says %u ending at %u", what, n, prev, l->count,
			   l->tail);
		return false;
	}
	return true;
}

/* An empty list that is well formed: nothing to walk or to name. */
static bool mm__plist_empty(const struct mm_plist *l)
{
	return l->head == MM_NIL && l->tail == MM_NIL && l->count == 0;
}

static void mm__claim(struct mm__checker *c, uint32_t pfn, uint32_t nr,
		      uint8_t owner, const char *what)
{
	for (uint32_t i = 0; i < nr && pfn + i < c->m->nr_pfns; i++) {
		if (c->own[pfn + i] != OWN_NONE) {
			mm__report(c, "buddy-overlap", "pfn %u of %s already "
				   "belongs to owner %u", pfn + i, what,
				   c->own[pfn + i]);
			return;
		}
		c->own[pfn + i] = owner;
	}
}

struct mm__free_ctx {
	const struct mm_zone *z;
	unsigned order;
	int mt;
	int64_t pages;
};

static void mm__check_free_block(struct mm__checker *c, uint32_t pfn, void *arg)
{
	struct mm__free_ctx *f = arg;
	const struct mm_machine *m = c->m;
	const struct mm_page *p = &m->pages[pfn];
	uint32_t nr = 1u << f->order;

	if (!mm_page_test(p, MM_PG_buddy) || p->private != f->order ||
	    (pfn & (nr - 1)) || pfn < f->z->start_pfn ||
	    pfn + nr > f->z->start_pfn + f->z->spanned ||
	    mm_page_zone(m, pfn) != f->z) {
		mm__report(c, "buddy-flag", "zone %s order %u list has pfn %u "
			   "(buddy=%d private=%u)", f->z->name, f->order, pfn,
			   mm_page_test(p, MM_PG_buddy), p->private);
		return;
	}
	uint32_t pb = mm__pageblock_nr(m);
	for (uint32_t i = 0; i < nr; i += pb) {
		int bmt = mm_pageblock_migratetype(m, pfn + i);
		if (bmt != f->mt) {
			mm__report(c, "buddy-migratetype", "zone %s: free block "
				   "%u order %u on %s list, pageblock is %s",
				   f->z->name, pfn, f->order,
				   mm_migratetype_names[f->mt],
				   mm_migratetype_names[bmt]);
			break;
		}
	}
	mm__claim(c, pfn, nr, OWN_FREE, "a free block");
	if (p->refcount != 0)
		mm__report(c, "refcount", "free block %u has refcount %d", pfn,
			   p->refcount);
	f->pages += nr;
	/* buddy-unmerged: the buddy must not be a free block of the same
	 * order.  Only below pageblock order: from there up Linux can leave
	 * two free buddies apart, e.g. when unreserve_highatomic_pageblock()
	 * hands a free HighAtomic block to another type next to its free
	 * buddy (it moves the block between lists, nothing merges them). */
	if (f->order < (unsigned)m->pageblock_order) {
		uint32_t b = pfn ^ nr;
		if (b >= f->z->start_pfn && b < f->z->start_pfn + f->z->spanned) {
			const struct mm_page *bp = &m->pages[b];
			if (mm_page_test(bp, MM_PG_buddy) &&
			    bp->private == f->order && pfn < b)
				mm__report(c, "buddy-unmerged", "free blocks %u "
					   "and %u of order %u were not merged",
					   pfn, b, f->order);
		}
	}
}

struct mm__pcp_ctx {
	const struct mm_zone *z;
	int32_t pages;
};

static void mm__check_pcp_page(struct mm__checker *c, uint32_t pfn, void *arg)
{
	struct mm__pcp_ctx *pc = arg;
	const struct mm_page *p = &c->m->pages[pfn];

	if (!mm_page_test(p, MM_PG_pcp) || mm_page_test(p, MM_PG_buddy) ||
	    mm_page_zone(c->m, pfn) != pc->z)
		mm__report(c, "pcp-count", "pcp list of zone %s holds pfn %u "
			   "(pcp=%d buddy=%d)", pc->z->name, pfn,
			   mm_page_test(p, MM_PG_pcp), mm_page_test(p, MM_PG_buddy));
	if (p->refcount != 0)
		mm__report(c, "refcount", "pcp page %u has refcount %d", pfn,
			   p->refcount);
	mm__claim(c, pfn, 1, OWN_PCP, "a pcp list");
	pc->pages++;
}

static void mm__check_zone(struct mm__checker *c, const struct mm_node *node,
			   const struct mm_zone *z)
{
	const struct mm_machine *m = c->m;
	int64_t free_pages = 0, free_ha = 0, free_blocks = 0;
	char what[64];

	if (z->spanned && (z->start_pfn < node->start_pfn ||
			   z->start_pfn + z->spanned > node->start_pfn + node->spanned))
		mm__report(c, "zone-span", "zone %s [%u, %u) outside node %d",
			   z->name, z->start_pfn, z->start_pfn + z->spanned, node->id);
	uint32_t holes = 0, reserved = 0, ha_blocks = 0;
	for (uint32_t i = 0; i < z->spanned; i++) {
		uint32_t pfn = z->start_pfn + i;
		const struct mm_page *p = &m->pages[pfn];
		if (mm_page_zone(m, pfn) != z) {
			mm__report(c, "zone-span", "pfn %u in zone %s span has "
				   "another zone id", pfn, z->name);
			continue;
		}
		holes += mm_page_test(p, MM_PG_hole);
		if (mm_page_test(p, MM_PG_reserved)) {
			reserved += !mm_page_test(p, MM_PG_hole);
			if (p->refcount != 1)
				mm__report(c, "refcount", "reserved pfn %u has "
					   "refcount %d", pfn, p->refcount);
			mm__claim(c, pfn, 1, OWN_RESERVED, "a reserved frame");
		}
		if (mm_page_test(p, MM_PG_swapbacked) && p->refcount > 0 &&
		    !mm_page_test(p, MM_PG_buddy) && !mm_page_test(p, MM_PG_pcp))
			mm__claim(c, pfn, 1, OWN_ALLOC, "an anonymous page");
		if (mm__file_is_reg(p->mapping) && p->refcount > 0 &&
		    !mm_page_test(p, MM_PG_buddy) && !mm_page_test(p, MM_PG_pcp))
			mm__claim(c, pfn, 1, OWN_ALLOC, "a page-cache page");
		if (mm_page_test(p, MM_PG_kalloc) ||
		    mm_page_test(p, MM_PG_large_kmalloc)) {
			uint32_t nr = mm_page_test(p, MM_PG_head) ? 1u << p->private : 1;
			if (p->refcount < 1)
				mm__report(c, "refcount", "allocated pfn %u has "
					   "refcount %d", pfn, p->refcount);
			mm__claim(c, pfn, nr, OWN_ALLOC, "an allocation");
		}
		if ((pfn & (mm__pageblock_nr(m) - 1)) == 0 || i == 0)
			ha_blocks += mm_pageblock_migratetype(m, pfn) ==
				     MM_MIGRATE_HIGHATOMIC;
	}
	if (z->present != z->spanned - holes)
		mm__report(c, "zone-span", "zone %s: present %u, spanned %u with "
			   "%u holes", z->name, z->present, z->spanned, holes);
	if (z->managed != z->present - reserved)
		mm__report(c, "managed-count", "zone %s: managed %u, present %u, "
			   "reserved %u", z->name, z->managed, z->present, reserved);
	if (z->nr_reserved_highatomic != (uint64_t)ha_blocks * mm__pageblock_nr(m))
		mm__report(c, "highatomic-count", "zone %s: nr_reserved_highatomic "
			   "%lu, %u HighAtomic pageblocks", z->name,
			   (unsigned long)z->nr_reserved_highatomic, ha_blocks);

	for (int o = 0; o < MM_NR_ORDERS; o++) {
		uint64_t blocks = 0;
		for (int t = 0; t < MM_MIGRATE_TYPES; t++) {
			const struct mm_plist *l = &z->free_area[o].free_list[t];
			struct mm__free_ctx f = {z, (unsigned)o, t, 0};
			/* Named only when there is something to walk: the
			 * formatting was a tenth of a check. */
			if (!mm__plist_empty(l)) {
				snprintf(what, sizeof(what), "zone %s free_list[%d][%s]",
					 z->name, o, mm_migratetype_names[t]);
				mm__walk(c, l, what, mm__check_free_block, &f);
			}
			blocks += l->count;
			if (t != MM_MIGRATE_ISOLATE)
				free_pages += f.pages;
			if (t == MM_MIGRATE_HIGHATOMIC)
				free_ha += f.pages;
			if (o >= m->pageblock_order && t != MM_MIGRATE_ISOLATE)
				free_blocks += f.pages;
		}
		if (blocks != z->free_area[o].nr_free)
			mm__report(c, "free-count", "zone %s order %d: nr_free %lu, "
				   "lists hold %lu", z->name, o,
				   (unsigned long)z->free_area[o].nr_free,
				   (unsigned long)blocks);
	}
	if (free_pages != z->vm_stat[MM_NR_FREE_PAGES] ||
	    free_ha != z->nr_free_highatomic ||
	    free_blocks != z->vm_stat[MM_NR_FREE_PAGES_BLOCKS])
		mm__report(c, "free-count", "zone %s: counters free %ld highatomic "
			   "%ld blocks %ld, recount %ld %ld %ld", z->name,
			   (long)z->vm_stat[MM_NR_FREE_PAGES],
			   (long)z->nr_free_highatomic,
			   (long)z->vm_stat[MM_NR_FREE_PAGES_BLOCKS], (long)free_pages,
			   (long)free_ha, (long)free_blocks);

	for (int cpu = 0; cpu < m->cfg.cpus; cpu++) {
		const struct mm_pcp *pcp = &z->pcp[cpu];
		struct mm__pcp_ctx pc = {z, 0};
		for (int t = 0; t < MM_MIGRATE_PCPTYPES; t++) {
			if (mm__plist_empty(&pcp->lists[t]))
				continue;
			snprintf(what, sizeof(what), "zone %s cpu %d pcp[%s]",
				 z->name, cpu, mm_migratetype_names[t]);
			mm__walk(c, &pcp->lists[t], what, mm__check_pcp_page, &pc);
		}
		if (pc.pages != pcp->count)
			mm__report(c, "pcp-count", "zone %s cpu %d: count %d, lists "
				   "hold %d", z->name, cpu, pcp->count, pc.pages);
	}
}

/* Membership marks while walking slab lists: which list saw each slab
 * (low two bits) and, for the cpu lists, which cpu (the bits above). */
enum { SEEN_NONE, SEEN_CPU, SEEN_CPU_PARTIAL, SEEN_PARTIAL };
#define MM__SEEN_MARK(seen) ((seen) & 3u)
#define MM__SEEN_CPU(seen) ((seen) >> 2)
_Static_assert(MM_MAX_CPUS <= 64, "cpu does not fit a seen mark");

/* Walks one partial list of cache s, the list of cpu or node idx (its
 * name is only formatted for a report: checks run after every step). */
static void mm__check_slab_list(struct mm__checker *c, const struct mm_slab_list *l,
				uint8_t *seen, uint8_t mark,
				const struct mm_kmem_cache *s, const char *owner,
				int idx)
{
	const struct mm_machine *m = c->m;
	uint32_t prev = MM_NIL, id = l->head, n = 0;

	while (id != MM_NIL) {
		if (id >= m->nr_slabs || n > l->count) {
			mm__report(c, "list-links", "cache %s %s %d partial: slab "
				   "chain runs past its count %u", s->name, owner,
				   idx, l->count);
			return;
		}
		const struct mm_slab *sl = &m->slabs[id];
		if (sl->prev != prev) {
			mm__report(c, "list-links", "cache %s %s %d partial: slab "
				   "%u has prev %u, expected %u", s->name, owner,
				   idx, id, sl->prev, prev);
			return;
		}
		if (sl->pfn == MM_NIL || sl->cache != s->id || seen[id])
			mm__report(c, "slab-state", "cache %s %s %d partial holds "
				   "slab %u (free record, other cache or listed "
				   "twice)", s->name, owner, idx, id);
		seen[id] = mark;
		prev = id;
		id = sl->next;
		n++;
	}
	if (l->tail != prev || n != l->count)
		mm__report(c, "list-links", "cache %s %s %d partial: walked %u "
			   "slabs, list says %u", s->name, owner, idx, n, l->count);
}

/*
 * The first byte of a free object that is not POISON_FREE (0x6b; the last
 * byte POISON_END, 0xa5), or size if it is all poison.  With every cache
 * poisoned in debug builds this scan is most of a check, so it compares
 * words and blocks, not bytes (see below).
 */
#define MM__P 0x6b6b6b6b6b6b6b6bull
#define MM__P8 MM__P, MM__P, MM__P, MM__P, MM__P, MM__P, MM__P, MM__P
static const uint64_t mm__poison_block[64] = {
	MM__P8, MM__P8, MM__P8, MM__P8, MM__P8, MM__P8, MM__P8, MM__P8,
};
#undef MM__P8
#undef MM__P

static uint32_t mm__poison_mismatch(const uint8_t *o, uint32_t size)
{
	uint32_t n = size - 1;   /* the bytes that must be POISON_FREE */
	bool ok = o[n] == 0xa5;

	/* Small objects a word at a time (the last word overlapping), big
	 * ones by memcmp() (vectorized in libc) in blocks; the byte that
	 * differs is looked for only when something does. */
	if (ok && n < 8) {
		for (uint32_t k = 0; k < n && ok; k++)
			ok = o[k] == 0x6b;
	} else if (ok && n <= 128) {
		uint64_t w;
		for (uint32_t k = 0; k + 8 <= n && ok; k += 8) {
			memcpy(&w, o + k, sizeof(w));
			ok = w == mm__poison_block[0];
		}
		memcpy(&w, o + n - 8, sizeof(w));
		ok = ok && w == mm__poison_block[0];
	} else if (ok) {
		for (uint32_t k = 0; k < n && ok; k += sizeof(mm__poison_block))
			ok = memcmp(o + k, mm__poison_block,
				    MM_MIN(n - k, sizeof(mm__poison_block))) == 0;
	}
	if (ok)
		return size;
	for (uint32_t k = 0; k < n; k++)
		if (o[k] != 0x6b)
			return k;
	return n;
}

static void mm__check_slabs(struct mm__checker *c)
{
	const struct mm_machine *m = c->m;
	uint8_t *seen = calloc(m->nr_slabs ? m->nr_slabs : 1, 1);
	int64_t pages[MM_MAX_NODES][2] = {{0}};

	if (!seen)
		return;
	for (int ci = 0; ci < MM_SLAB_MAX_CACHES; ci++) {
		const struct mm_kmem_cache *s = m->caches[ci];
		if (!s)
			continue;
		for (int cpu = 0; cpu < m->cfg.cpus; cpu++) {
			uint32_t id = s->cpu[cpu].slab;
			if (id != MM_NIL) {
				if (id >= m->nr_slabs || m->slabs[id].pfn == MM_NIL ||
				    m->slabs[id].cache != s->id || seen[id])
					mm__report(c, "slab-state", "cache %s cpu %d: "
						   "active slab %u is not a live slab "
						   "of the cache", s->name, cpu, id);
				else
					seen[id] = (uint8_t)(SEEN_CPU | cpu << 2);
			}
			mm__check_slab_list(c, &s->cpu[cpu].partial, seen,
					    (uint8_t)(SEEN_CPU_PARTIAL | cpu << 2),
					    s, "cpu", cpu);
		}
		for (int n = 0; n < m->nr_nodes; n++)
			mm__check_slab_list(c, &s->node[n].partial, seen,
					    SEEN_PARTIAL, s, "node", n);
	}
	uint64_t nr_slabs[MM_SLAB_MAX_CACHES][MM_MAX_NODES];
	uint64_t nr_objs[MM_SLAB_MAX_CACHES][MM_MAX_NODES];
	memset(nr_slabs, 0, sizeof(nr_slabs));
	memset(nr_objs, 0, sizeof(nr_objs));
	for (uint32_t id = 0; id < m->nr_slabs; id++) {
		const struct mm_slab *sl = &m->slabs[id];
		if (sl->pfn == MM_NIL)
			continue;
		const struct mm_kmem_cache *s =
			sl->cache < MM_SLAB_MAX_CACHES ? m->caches[sl->cache] : NULL;
		if (!s || sl->node >= m->nr_nodes ||
		    sl->pfn + (1u << sl->order) > m->nr_pfns) {
			mm__report(c, "slab-page", "slab %u: cache %u, node %u or "
				   "frames out of range", id, sl->cache, sl->node);
			continue;
		}
		for (uint32_t i = 0; i < (1u << sl->order); i++) {
			const struct mm_page *p = &m->pages[sl->pfn + i];
			if (!mm_page_test(p, MM_PG_slab) || p->mapping != s->id + 1 ||
			    p->index != id) {
				mm__report(c, "slab-page", "slab %u of %s: pfn %u has "
					   "slab=%d mapping %u index %u", id,
					   s->name, sl->pfn + i,
					   mm_page_test(p, MM_PG_slab), p->mapping,
					   p->index);
				break;
			}
		}
		/* A frame that lost PG_slab is owned by nothing (frame-owner
		 * names it, besides the slab-page report above). */
		for (uint32_t i = 0; i < (1u << sl->order); i++)
			if (mm_page_test(&m->pages[sl->pfn + i], MM_PG_slab))
				mm__claim(c, sl->pfn + i, 1, OWN_SLAB, "a slab");
		uint32_t nfree = 0, used = 0;
		for (uint32_t idx = sl->freelist; idx != MM_SLAB_OBJ_END;
		     idx = sl->free_next[idx]) {
			if (idx >= sl->objects || nfree >= sl->objects ||
			    sl->free_next[idx] == MM_SLAB_OBJ_USED) {
				mm__report(c, "slab-freelist", "slab %u of %s: free "
					   "chain breaks at object %u", id, s->name,
					   idx);
				nfree = UINT32_MAX;
				break;
			}
			if (sl->shadow) {
				const uint8_t *o = sl->shadow + (size_t)idx * s->object_size;
				uint32_t k = mm__poison_mismatch(o, s->object_size);
				if (k < s->object_size)
					mm__report(c, "slab-poison", "slab %u of %s: "
						   "free object %u byte %u is 0x%02x",
						   id, s->name, idx, k, o[k]);
			}
			nfree++;
		}
		for (uint32_t idx = 0; idx < sl->objects; idx++)
			used += sl->free_next[idx] == MM_SLAB_OBJ_USED;
		if (nfree != UINT32_MAX && (nfree + sl->inuse != sl->objects ||
					    used != sl->inuse))
			mm__report(c, "slab-freelist", "slab %u of %s: inuse %u, "
				   "%u free on the chain, %u marked used, %u objects",
				   id, s->name, sl->inuse, nfree, used, sl->objects);
		uint8_t want = sl->state == MM_SLAB_CPU ? SEEN_CPU
			       : sl->state == MM_SLAB_CPU_PARTIAL ? SEEN_CPU_PARTIAL
			       : sl->state == MM_SLAB_PARTIAL ? SEEN_PARTIAL : SEEN_NONE;
		bool frozen = want == SEEN_CPU || want == SEEN_CPU_PARTIAL;
		if (MM__SEEN_MARK(seen[id]) != want || sl->state > MM_SLAB_FULL ||
		    (frozen && MM__SEEN_CPU(seen[id]) != (unsigned)sl->cpu) ||
		    (sl->state == MM_SLAB_FULL && sl->inuse != sl->objects) ||
		    (sl->state == MM_SLAB_PARTIAL && sl->inuse == sl->objects))
			mm__report(c, "slab-state", "slab %u of %s: state %u cpu %d, "
				   "inuse %u/%u, found on list %u of cpu %u", id,
				   s->name, sl->state, sl->cpu, sl->inuse,
				   sl->objects, MM__SEEN_MARK(seen[id]),
				   MM__SEEN_CPU(seen[id]));
		nr_slabs[s->id][sl->node]++;
		nr_objs[s->id][sl->node] += sl->objects;
		pages[sl->node][(s->flags & MM_SLAB_RECLAIM_ACCOUNT) ? 1 : 0] +=
			1 << sl->order;
	}
	for (int ci = 0; ci < MM_SLAB_MAX_CACHES; ci++) {
		const struct mm_kmem_cache *s = m->caches[ci];
		for (int n = 0; s && n < m->nr_nodes; n++)
			if (s->node[n].nr_slabs != nr_slabs[ci][n] ||
			    s->node[n].total_objects != nr_objs[ci][n])
				mm__report(c, "slab-counts", "cache %s node %d: %lu "
					   "slabs %lu objects, recount %lu %lu",
					   s->name, n, (unsigned long)s->node[n].nr_slabs,
					   (unsigned long)s->node[n].total_objects,
					   (unsigned long)nr_slabs[ci][n],
					   (unsigned long)nr_objs[ci][n]);
	}
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		if (mm_page_test(p, MM_PG_large_kmalloc))
			pages[mm_page_zone(m, pfn)->node][0] += 1 << p->private;
		if (mm_page_test(p, MM_PG_slab) && c->own[pfn] != OWN_SLAB)
			mm__report(c, "slab-page", "pfn %u is PG_slab but in no "
				   "live slab", pfn);
	}
	for (int n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n].vm_stat[MM_NR_SLAB_UNRECLAIMABLE] != pages[n][0] ||
		    m->nodes[n].vm_stat[MM_NR_SLAB_RECLAIMABLE] != pages[n][1])
			mm__report(c, "slab-counts", "node %d: slab pages %ld/%ld "
				   "(unreclaimable/reclaimable), recount %ld/%ld", n,
				   (long)m->nodes[n].vm_stat[MM_NR_SLAB_UNRECLAIMABLE],
				   (long)m->nodes[n].vm_stat[MM_NR_SLAB_RECLAIMABLE],
				   (long)pages[n][0], (long)pages[n][1]);
	free(seen);
}

static void mm__check_kernel_maps(struct mm__checker *c)
{
	const struct mm_machine *m = c->m;
	int64_t pt_pages[MM_MAX_NODES] = {0};

	for (uint32_t id = 0; id < m->nr_ptables; id++) {
		const struct mm_ptable *t = &m->ptables[id];
		if (t->pfn == MM_NIL || t->pfn == m->kernel_pgd)
			continue;
		if (t->pfn >= m->nr_pfns ||
		    !mm_page_test(&m->pages[t->pfn], MM_PG_pgtable) ||
		    m->pages[t->pfn].index != id) {
			mm__report(c, "pgtable-frame", "table record %u names pfn "
				   "%u, which is not its PG_pgtable frame", id,
				   t->pfn);
			continue;
		}
		mm__claim(c, t->pfn, 1, OWN_PGTABLE, "a page table");
	}
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		if (!mm_page_test(p, MM_PG_pgtable))
			continue;
		pt_pages[mm_page_zone(m, pfn)->node]++;
		if (p->index >= m->nr_ptables || m->ptables[p->index].pfn != pfn)
			mm__report(c, "pgtable-frame", "PG_pgtable pfn %u has no "
				   "table record", pfn);
	}
	for (int n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n].vm_stat[MM_NR_PAGE_TABLE_PAGES] != pt_pages[n])
			mm__report(c, "pgtable-frame", "node %d: NR_PAGE_TABLE_PAGES "
				   "%ld, %ld PG_pgtable frames", n,
				   (long)m->nodes[n].vm_stat[MM_NR_PAGE_TABLE_PAGES],
				   (long)pt_pages[n]);

	uint64_t start, end, prev_end = 0, pages = 0;
	mm_vmalloc_range(m, &start, &end);
	for (uint32_t i = 0; i < m->nr_vm_areas; i++) {
		const struct mm_vm_area *a = &m->vm_areas[i];
		if (a->addr < start || a->addr + a->size > end ||
		    a->addr < prev_end || a->size != ((uint64_t)a->nr_pages + 1)
							  << MM_PAGE_SHIFT) {
			mm__report(c, "vmalloc-area", "area %u [0x%llx, +0x%llx) "
				   "overlaps, is out of range or misaligned", i,
				   (unsigned long long)a->addr,
				   (unsigned long long)a->size);
			continue;
		}
		prev_end = a->addr + a->size;
		pages += a->nr_pages;
		for (uint32_t k = 0; k <= a->nr_pages; k++) {
			uint64_t leaf = 0;
			bool present = mm__pt_lookup(m, m->kernel_pgd,
						     a->addr + (uint64_t)k * MM_PAGE_SIZE,
						     NULL, NULL, &leaf) == 0 &&
				       (leaf & MM_PTE_PRESENT);
			if (k == a->nr_pages) {
				if (present)
					mm__report(c, "vmalloc-area", "area 0x%llx: "
						   "guard page is mapped",
						   (unsigned long long)a->addr);
				break;
			}
			uint32_t pfn = a->pages[k];
			if (!present || ((leaf & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT) != pfn ||
			    pfn >= m->nr_pfns || m->pages[pfn].refcount != 1) {
				mm__report(c, "vmalloc-area", "area 0x%llx page %u "
					   "(pfn %u) is not mapped by its PTE or not "
					   "allocated", (unsigned long long)a->addr,
					   k, pfn);
				break;
			}
			mm__claim(c, pfn, 1, OWN_VMALLOC, "a vmalloc area");
		}
	}
	if (pages != m->vmalloc_pages)
		mm__report(c, "vmalloc-area", "VmallocUsed %lu pages, areas hold %lu",
			   (unsigned long)m->vmalloc_pages, (unsigned long)pages);

	if (m->cfg.arch != MM_ARCH_I386)
		return;
	const uint64_t *e = mm__ptable_entries(m, m->pkmap_table);
	for (uint32_t i = 0; i < MM_LAST_PKMAP; i++)
		if ((m->pkmap_count[i] != 0) != ((e[i] & MM_PTE_PRESENT) != 0))
			mm__report(c, "pkmap-count", "pkmap slot %u: count %u, PTE "
				   "%s", i, m->pkmap_count[i],
				   (e[i] & MM_PTE_PRESENT) ? "present" : "absent");
}

/* In-order walk of an mm's VMA tree, checking heights on the way up. */
static int32_t mm__check_tree(struct mm__checker *c, uint32_t id, uint32_t *order,
			      uint32_t *n, uint32_t max)
{
	const struct mm_machine *m = c->m;

	if (id == MM_NIL)
		return 0;
	if (id >= m->nr_vmas || *n > max) {
		mm__report(c, "vma-tree", "tree reaches vma %u beyond the records "
			   "or holds a cycle", id);
		return 0;
	}
	const struct mm_vma *v = &m->vmas[id];
	int32_t hl = mm__check_tree(c, v->left, order, n, max);
	if (*n <= max)
		order[(*n)++] = id;
	int32_t hr = mm__check_tree(c, v->right, order, n, max);
	if (v->height != 1 + MM_MAX(hl, hr) || hl - hr > 1 || hr - hl > 1)
		mm__report(c, "vma-tree", "vma %u [0x%llx, 0x%llx): height %d, "
			   "children %d and %d", id, (unsigned long long)v->start,
			   (unsigned long long)v->end, v->height, hl, hr);
	return 1 + MM_MAX(hl, hr);
}

static bool mm__object_live(const struct mm_machine *m, int cache, uint64_t addr)
{
	uint64_t off = mm_page_offset(m);
	if (addr < off || ((addr - off) >> MM_PAGE_SHIFT) >= m->nr_pfns)
		return false;
	uint32_t pfn = (uint32_t)((addr - off) >> MM_PAGE_SHIFT);
	const struct mm_page *p = &m->pages[pfn];
	if (!mm_page_test(p, MM_PG_slab) || p->index >= m->nr_slabs)
		return false;
	const struct mm_slab *sl = &m->slabs[p->index];
	const struct mm_kmem_cache *s = m->caches[sl->cache];
	uint64_t rel = addr - mm_pfn_to_virt(m, sl->pfn);
	return (int)sl->cache == cache && rel % s->size == 0 &&
	       rel / s->size < sl->objects &&
	       sl->free_next[rel / s->size] == MM_SLAB_OBJ_USED;
}

static void mm__check_mms(struct mm__checker *c)
{
	const struct mm_machine *m = c->m;
	int64_t committed = 0;

	for (uint32_t i = 0; m->tasks && i < MM_MAX_TASKS; i++) {
		const struct mm_task *t = &m->tasks[i];
		if (!t->pid)
			continue;
		if (!mm__object_live(m, m->engine_caches[MM_CACHE_TASK_STRUCT],
				     t->slab_addr) ||
		    t->mm >= m->nr_mms || m->mms[t->mm].id != t->mm)
			mm__report(c, "task-objects", "pid %d: task_struct 0x%llx "
				   "or mm %u is not live", t->pid,
				   (unsigned long long)t->slab_addr, t->mm);
	}
	for (uint32_t mi = 0; mi < m->nr_mms; mi++) {
		const struct mm_mm *mm = &m->mms[mi];
		if (mm->id != mi)
			continue;
		if (!mm__object_live(m, m->engine_caches[MM_CACHE_MM_STRUCT],
				     mm->slab_addr))
			mm__report(c, "task-objects", "mm %u: mm_struct is not live", mi);
		uint32_t max = m->nr_vmas + 1, n = 0;
		uint32_t *order = malloc(max * sizeof(uint32_t));
		if (!order)
			return;
		mm__check_tree(c, mm->root, order, &n, max - 1);
		uint32_t id = mm->first, k = 0, prev = MM_NIL;
		uint64_t pages = 0, locked = 0, prev_end = 0;
		const struct mm_vma *pv = NULL;
		while (id != MM_NIL && k <= max) {
			const struct mm_vma *v = &m->vmas[id];
			if (k >= n || order[k] != id || v->prev != prev || v->mm != mi)
				mm__report(c, "vma-order", "mm %u: list entry %u (vma %u) "
					   "disagrees with the tree or its links", mi, k, id);
			if ((v->start | v->end) & (MM_PAGE_SIZE - 1) || v->start >= v->end ||
			    v->start < prev_end || v->end > mm->task_size)
				mm__report(c, "vma-order", "mm %u: vma [0x%llx, 0x%llx) "
					   "misaligned, empty, overlapping or too high",
					   mi, (unsigned long long)v->start,
					   (unsigned long long)v->end);
			if (pv && pv->end == v->start && !pv->unmerged && !v->unmerged &&
			    mm__vma_flags_mergeable(pv, v->flags, v->file) &&
			    mm__anon_vma_compatible(pv->anon_vma, v->anon_vma) &&
			    !(pv->anon_chained && !v->anon_vma) &&
			    !(v->anon_chained && !pv->anon_vma) &&
			    pv->pgoff + ((pv->end - pv->start) >> MM_PAGE_SHIFT) == v->pgoff &&
			    !(v->file & 0x80000000u) &&
			    !(v->start == mm->start_brk && !v->file))
				mm__report(c, "vma-mergeable", "mm %u: [0x%llx, 0x%llx) and "
					   "[0x%llx, 0x%llx) could be one VMA", mi,
					   (unsigned long long)pv->start,
					   (unsigned long long)pv->end,
					   (unsigned long long)v->start,
					   (unsigned long long)v->end);
			if (!mm__object_live(m, m->engine_caches[MM_CACHE_VM_AREA_STRUCT],
					     v->slab_addr))
				mm__report(c, "task-objects", "vma %u: vm_area_struct is "
					   "not live", id);
			pages += (v->end - v->start) >> MM_PAGE_SHIFT;
			if (v->flags & MM_VM_LOCKED)
				locked += (v->end - v->start) >> MM_PAGE_SHIFT;
			if (v->flags & MM_VM_ACCOUNT)
				committed += (int64_t)((v->end - v->start) >> MM_PAGE_SHIFT);
			prev_end = v->end;
			pv = v;
			prev = id;
			id = v->next;
			k++;
		}
		if (k != n || mm->last != prev)
			mm__report(c, "vma-order", "mm %u: list holds %u VMAs, tree %u",
				   mi, k, n);
		if (mm->map_count != k || mm->total_vm != pages || mm->locked_vm != locked)
			mm__report(c, "vma-counts", "mm %u: map_count %u total_vm %lu "
				   "locked_vm %lu, recount %u %lu %lu", mi, mm->map_count,
				   (unsigned long)mm->total_vm,
				   (unsigned long)mm->locked_vm, k, (unsigned long)pages,
				   (unsigned long)locked);
		free(order);
	}
	if (committed != m->committed)
		mm__report(c, "vma-counts", "Committed_AS %ld pages, VM_ACCOUNT VMAs "
			   "hold %ld", (long)m->committed, (long)committed);
}

/* ---- the i_mmap trees (i_mmap.c) ---- */

struct mm__immap_ctx {
	uint32_t file;      /* the tree's object */
	uint32_t n;         /* nodes visited (a bound against cycles) */
	uint64_t prev;      /* vm_pgoff of the previous node in order */
	bool any, broken;
	uint8_t *seen;      /* per VMA: trees it was found in */
};

/* In-order walk of the subtree of id; returns its largest last offset. */
static uint64_t mm__check_immap_node(struct mm__checker *c,
				     struct mm__immap_ctx *x, uint32_t id,
				     uint32_t parent)
{
	const struct mm_machine *m = c->m;

	if (x->broken || id == MM_NIL)
		return 0;
	if (id >= m->nr_vmas || ++x->n > m->nr_vmas) {
		mm__report(c, "i-mmap", "i_mmap of %#x reaches vma %u beyond the "
			   "records or holds a cycle", x->file, id);
		x->broken = true;
		return 0;
	}
	const struct mm_vma *v = &m->vmas[id];
	if (!v->end || v->file != x->file)
		mm__report(c, "i-mmap", "i_mmap of %#x holds vma %u, %s %#x",
			   x->file, id, v->end ? "a VMA of" : "a free record, of",
			   v->file);
	if (v->shared_parent != parent ||
	    (parent != MM_NIL && mm__i_mmap_prio(id) > mm__i_mmap_prio(parent)))
		mm__report(c, "i-mmap", "i_mmap of %#x: vma %u names parent %u, "
			   "is below %u (priorities %#x, %#x)", x->file, id,
			   v->shared_parent, parent, mm__i_mmap_prio(id),
			   parent == MM_NIL ? 0 : mm__i_mmap_prio(parent));
	uint64_t last = v->end ? mm__vma_last_pgoff(v) : 0, sub;
	if (v->shared_left != MM_NIL) {
		sub = mm__check_immap_node(c, x, v->shared_left, id);
		last = MM_MAX(last, sub);
	}
	if (x->any && v->pgoff < x->prev)
		mm__report(c, "i-mmap", "i_mmap of %#x: vma %u (pgoff %#llx) "
			   "follows pgoff %#llx", x->file, id,
			   (unsigned long long)v->pgoff,
			   (unsigned long long)x->prev);
	x->prev = v->pgoff;
	x->any = true;
	if (x->seen[id] < UINT8_MAX)
		x->seen[id]++;
	if (v->shared_right != MM_NIL) {
		sub = mm__check_immap_node(c, x, v->shared_right, id);
		last = MM_MAX(last, sub);
	}
	if (!x->broken && v->shared_last != last)
		mm__report(c, "i-mmap", "i_mmap of %#x: vma %u shared_last "
			   "%#llx, its subtree ends at %#llx", x->file, id,
			   (unsigned long long)v->shared_last,
			   (unsigned long long)last);
	return last;
}

static void mm__check_i_mmap(struct mm__checker *c)
{
	const struct mm_machine *m = c->m;
	struct mm__immap_ctx x = {.seen = calloc(m->nr_vmas + 1, 1)};

	if (!x.seen)
		return;
	for (uint32_t i = 0; i < m->nr_files + m->nr_shmem; i++) {
		bool reg = i < m->nr_files;
		const struct mm_shmem *o = reg ? NULL : &m->shmem[i - m->nr_files];
		if (reg ? !m->files[i].ino : !o->file)
			continue;
		x.file = reg ? MM_FILE_REG | i : o->file;
		x.n = 0;
		x.any = x.broken = false;
		mm__check_immap_node(c, &x, reg ? m->files[i].i_mmap : o->i_mmap,
				     MM_NIL);
	}
	for (uint32_t id = 0; id < m->nr_vmas; id++) {
		const struct mm_vma *v = &m->vmas[id];
		bool cache = mm__file_is_reg(v->file) || mm__file_is_shmem(v->file);
		if (!v->end)
			continue;
		if (cache ? x.seen[id] != 1 || !mm__i_mmap_root(m, v->file)
			  : x.seen[id] || v->shared_parent != MM_NIL ||
			    v->shared_left != MM_NIL || v->shared_right != MM_NIL)
			mm__report(c, "i-mmap", "vma %u [0x%llx, 0x%llx) of %#x is "
				   "in i_mmap trees %u times", id,
				   (unsigned long long)v->start,
				   (unsigned long long)v->end, v->file, x.seen[id]);
	}
	free(x.seen);
}

struct mm__pt_ctx {
	uint8_t *reach;      /* per pfn: times reached as a table */
	int32_t *maps;       /* per pfn: PTEs mapping it */
	uint8_t *writable;   /* per pfn: some PTE maps it writable */
	const struct mm_mm *mm;
	uint64_t rss, rss_shmem, rss_file, rss_swap;
	uint32_t *swaprefs;  /* per swap slot: entries naming it */
};

static void mm__check_swap_pte(struct mm__checker *c, struct mm__pt_ctx *x,
			       uint64_t va, uint64_t e)
{
	const struct mm_machine *m = c->m;
	uint32_t vid = mm__find_vma(m, x->mm, va);
	uint32_t off = mm__pte_swp_offset(m, e);

	x->rss_swap++;
	if (vid == MM_NIL || m->vmas[vid].start > va)
		mm__report(c, "swap-entry", "mm %u: swap entry at 0x%llx outside "
			   "every VMA", x->mm->id, (unsigned long long)va);
	if (mm__pte_swp_type(m, e) != 0 || off == 0 || off >= m->swap_slots ||
	    !mm__swap_count(m, off)) {
		mm__report(c, "swap-entry", "mm %u: 0x%llx holds %#llx, not an "
			   "entry of a used swap slot", x->mm->id,
			   (unsigned long long)va, (unsigned long long)e);
		return;
	}
	x->swaprefs[off]++;
}

static void mm__check_pt_level(struct mm__checker *c, struct mm__pt_ctx *x,
			       uint32_t table, int level, uint64_t base)
{
	const struct mm_machine *m = c->m;
	unsigned bits = m->cfg.arch == MM_ARCH_I386 ? 10 : 9;
	uint64_t span = 1ull << (MM_PAGE_SHIFT + bits * (unsigned)(level - 1));

	if (table >= m->nr_pfns || !mm_page_test(&m->pages[table], MM_PG_pgtable)) {
		mm__report(c, "pgtable-reach", "table pfn %u (level %d) is not "
			   "a PG_pgtable frame", table, level);
		return;
	}
	if (x->reach[table]++) {
		mm__report(c, "pgtable-reach", "table pfn %u reached twice", table);
		return;
	}
	const uint64_t *e = mm__ptable_entries(m, table);
	uint32_t n = mm__pt_entries(m);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t va = base + span * i;
		if (!e[i])
			continue;
		if (level > 1) {
			if (e[i] & MM_PTE_PRESENT)
				mm__check_pt_level(c, x, (uint32_t)((e[i] & MM_PTE_PFN_MASK)
								    >> MM_PAGE_SHIFT),
						   level - 1, va);
			continue;
		}
		if (x->mm && mm__pte_is_swap(e[i]) && x->swaprefs) {
			mm__check_swap_pte(c, x, va, e[i]);
			continue;
		}
		if (!x->mm || !(e[i] & (MM_PTE_PRESENT | MM_PTE_PROTNONE)))
			continue;
		uint32_t pfn = (uint32_t)((e[i] & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
		uint32_t vid = mm__find_vma(m, x->mm, va);
		if (vid == MM_NIL || m->vmas[vid].start > va) {
			mm__report(c, "pte-frame", "mm %u: PTE of 0x%llx outside "
				   "every VMA", x->mm->id, (unsigned long long)va);
		} else {
			uint64_t vf = m->vmas[vid].flags;
			bool none = !(vf & (MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC));
			if (((e[i] & MM_PTE_RW) && !(vf & MM_VM_WRITE)) ||
			    ((e[i] & MM_PTE_PRESENT) && none) ||
			    ((e[i] & MM_PTE_PROTNONE) && !none))
				mm__report(c, "pte-prot", "mm %u: PTE of 0x%llx "
					   "(%#llx) allows more than, or differs "
					   "from, its VMA's flags %#llx", x->mm->id,
					   (unsigned long long)va,
					   (unsigned long long)e[i],
					   (unsigned long long)vf);
		}
		if (pfn == m->zero_pfn) {
			if (e[i] & MM_PTE_RW)
				mm__report(c, "cow-readonly", "mm %u: zero page "
					   "mapped writable at 0x%llx", x->mm->id,
					   (unsigned long long)va);
			continue;
		}
		const struct mm_page *p = pfn < m->nr_pfns ? &m->pages[pfn] : NULL;
		if (!p || p->refcount < 1 ||
		    !(mm_page_test(p, MM_PG_swapbacked) || mm__file_is_reg(p->mapping)) ||
		    mm_page_test(p, MM_PG_buddy) || mm_page_test(p, MM_PG_pcp)) {
			mm__report(c, "pte-frame", "mm %u: PTE of 0x%llx maps pfn "
				   "%u, not an allocated anonymous or cache frame",
				   x->mm->id, (unsigned long long)va, pfn);
			continue;
		}
		x->maps[pfn]++;
		if (mm__file_is_shmem(p->mapping))
			x->rss_shmem++;
		else if (mm__file_is_reg(p->mapping))
			x->rss_file++;
		else
			x->rss++;
		if (e[i] & MM_PTE_RW)
			x->writable[pfn] = 1;
		if ((e[i] & MM_PTE_RW) && !mm__file_is_shmem(p->mapping) &&
		    !mm__file_is_reg(p->mapping) &&
		    !mm_page_test(p, MM_PG_anon_exclusive))
			mm__report(c, "cow-readonly", "mm %u: 0x%llx maps pfn %u "
				   "writable, but the page is not exclusive "
				   "(a COW page)", x->mm->id,
				   (unsigned long long)va, pfn);
	}
}

/* ---- page cache ---------------------------------------------------------- */

struct mm__pc_ctx {
	const struct mm_file *f;
	uint32_t handle;
	const int32_t *maps;
	uint8_t *seen;          /* per pfn */
	uint32_t nodes, pages, dirty_pages;
	int64_t *files, dirty[MM_MAX_NODES];
	uint32_t shadow_nodes;  /* leaves holding only shadow entries */
	int64_t pending[MM_MAX_NODES * MM_MAX_ZONES]; /* dirty, by zone id */
};

static void mm__check_xa_node(struct mm__checker *c, struct mm__pc_ctx *x,
			      uint32_t id, uint32_t parent, unsigned offset,
			      int shift, uint64_t base)
{
	const struct mm_machine *m = c->m;
	const struct mm_xa_node *n = id < m->nr_xa_nodes ? &m->xa_nodes[id] : NULL;

	if (!n || n->shift != shift || n->parent != parent ||
	    (parent != MM_NIL && n->offset != offset) ||
	    !mm__object_live(m, m->engine_caches[MM_CACHE_RADIX_TREE_NODE],
			     n->slab_addr)) {
		mm__report(c, "page-cache", "file %s: node %u (shift %d) is not "
			   "a live node under %u slot %u", x->f->name, id, shift,
			   parent, offset);
		return;
	}
	x->nodes++;
	unsigned used = 0, values = 0;
	for (unsigned k = 0; k < MM_XA_SLOTS; k++) {
		uint32_t slot = n->slots[k];
		uint64_t idx = base + ((uint64_t)k << shift);
		if (slot == MM_NIL)
			continue;
		used++;
		if (mm__xa_is_shadow(slot)) {
			/* an evicted page's shadow: in a leaf, below EOF, of a
			 * node that exists */
			values++;
			if (shift || mm__shadow_nid(slot) >= m->nr_nodes ||
			    idx >= (x->f->size + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT)
				mm__report(c, "shadow-entry", "file %s index %llu: "
					   "shadow entry %#x %s", x->f->name,
					   (unsigned long long)idx, slot,
					   shift ? "in an inner node"
					   : mm__shadow_nid(slot) >= m->nr_nodes
					   ? "names no node" : "beyond EOF");
			continue;
		}
		if (shift) {
			mm__check_xa_node(c, x, slot, id, k, shift - MM_XA_SHIFT, idx);
			continue;
		}
		const struct mm_page *p = slot < m->nr_pfns ? &m->pages[slot] : NULL;
		if (!p || p->mapping != x->handle || p->index != idx ||
		    p->refcount != 1 + p->mapcount || p->mapcount != x->maps[slot] ||
		    x->seen[slot]++) {
			mm__report(c, "page-cache", "file %s index %llu: pfn %u "
				   "(mapping %#x index %u refcount %d mapcount %d, "
				   "%d PTEs)", x->f->name, (unsigned long long)idx,
				   slot, p ? p->mapping : 0, p ? p->index : 0,
				   p ? p->refcount : 0, p ? p->mapcount : 0,
				   p ? x->maps[slot] : 0);
			continue;
		}
		x->pages++;
		int node = mm_page_zone(m, slot)->node;
		x->files[node]++;
		if (mm_page_test(p, MM_PG_dirty)) {
			x->dirty[node]++;
			x->pending[mm__zone_id(mm_page_zone(m, slot))]++;
			x->dirty_pages++;
		}
	}
	if (used != n->count || !used)
		mm__report(c, "page-cache", "file %s: node %u counts %u slots, "
			   "%u used", x->f->name, id, n->count, used);
	if (values != n->nr_values)
		mm__report(c, "shadow-entry", "file %s: node %u counts %u shadow "
			   "entries, holds %u", x->f->name, id, n->nr_values, values);
	bool only = n->count && n->count == n->nr_values;
	x->shadow_nodes += only;
	int nid = mm__xa_node_nid(m, id);
	if (only != (n->shadow_prev != MM_NIL || m->nodes[nid].shadow_head == id))
		mm__report(c, "shadow-entry", "file %s: node %u (%u of %u slots "
			   "shadows) is %son node %d's shadow list", x->f->name, id,
			   n->nr_values, n->count, only ? "not " : "", nid);
}

/* Each node's shadow-node list: live leaves of shadow entries whose
 * object is on that node, linked both ways, workingset_nodes long; all of
 * them together the leaves the tree walk found. */
static void mm__check_shadow_lists(struct mm__checker *c, uint32_t found)
{
	const struct mm_machine *m = c->m;
	uint32_t listed = 0;

	for (int nid = 0; nid < m->nr_nodes; nid++) {
		const struct mm_node *n = &m->nodes[nid];
		uint32_t prev = MM_NIL, len = 0;
		for (uint32_t id = n->shadow_head; id != MM_NIL;
		     id = m->xa_nodes[id].shadow_next) {
			const struct mm_xa_node *x = id < m->nr_xa_nodes
				? &m->xa_nodes[id] : NULL;
			if (!x || x->shadow_prev != prev || x->shift ||
			    !x->count || x->count != x->nr_values ||
			    mm__xa_node_nid(m, id) != nid || len > m->nr_xa_nodes) {
				mm__report(c, "shadow-entry", "node %d: shadow list "
					   "entry %u (after %u) is not a listed "
					   "leaf of shadow entries", nid, id, prev);
				return;
			}
			prev = id;
			len++;
		}
		if (prev != n->shadow_tail ||
		    n->vm_stat[MM_WORKINGSET_NODES] != (int64_t)len)
			mm__report(c, "shadow-entry", "node %d: workingset_nodes "
				   "%ld, its shadow list holds %u (tail %u, last "
				   "%u)", nid, (long)n->vm_stat[MM_WORKINGSET_NODES],
				   len, n->shadow_tail, prev);
		listed += len;
	}
	if (listed != found)
		mm__report(c, "shadow-entry", "%u leaves hold only shadow entries, "
			   "%u are listed", found, listed);
}

static void mm__check_page_cache(struct mm__checker *c, const int32_t *maps,
				 int64_t *files)
{
	const struct mm_machine *m = c->m;
	struct mm__pc_ctx x = {NULL, 0, maps, calloc(m->nr_pfns, 1), 0, 0, 0,
			       files, {0}, 0, {0}};
	int64_t mapped[MM_MAX_NODES] = {0};

	if (!x.seen)
		return;
	for (uint32_t i = 0; i < m->nr_files; i++) {
		const struct mm_file *f = &m->files[i];
		if (!f->ino)
			continue;
		x.f = f;
		x.handle = MM_FILE_REG | i;
		x.pages = x.dirty_pages = 0;
		if (!mm__object_live(m, m->engine_caches[MM_CACHE_FILP], f->slab_addr))
			mm__report(c, "page-cache", "file %s holds no filp object",
				   f->name);
		if (f->xa_root != MM_NIL) {
			int shift = f->xa_root < m->nr_xa_nodes
				? m->xa_nodes[f->xa_root].shift : 0;
			mm__check_xa_node(c, &x, f->xa_root, MM_NIL, 0, shift, 0);
		}
		if (x.pages != f->nr_pages || x.dirty_pages != f->nr_dirty)
			mm__report(c, "page-cache", "file %s: nr_pages %u nr_dirty "
				   "%u, its tree holds %u (%u dirty)", f->name,
				   f->nr_pages, f->nr_dirty, x.pages, x.dirty_pages);
	}
	uint32_t free_nodes = 0;
	for (uint32_t id = m->free_xa_nodes; id != MM_NIL && free_nodes <= m->nr_xa_nodes;
	     id = m->xa_nodes[id].parent)
		free_nodes++;
	if (x.nodes + free_nodes != m->nr_xa_nodes)
		mm__report(c, "page-cache", "%u tree nodes reached, %u free, %u "
			   "records", x.nodes, free_nodes, m->nr_xa_nodes);
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		bool cache = mm__file_is_reg(p->mapping) ||
			     (mm__file_is_shmem(p->mapping) &&
			      mm_page_test(p, MM_PG_swapbacked));
		if (cache && p->mapcount > 0)
			mapped[mm_page_zone(m, pfn)->node]++;
		if (mm__file_is_reg(p->mapping) && !x.seen[pfn])
			mm__report(c, "page-cache", "pfn %u names file %#x index "
				   "%u but is in no file's tree", pfn, p->mapping,
				   p->index);
	}
	mm__check_shadow_lists(c, x.shadow_nodes);
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++) {
			const struct mm_zone *zone = &m->nodes[n].zones[z];
			if (zone->vm_stat[MM_NR_ZONE_WRITE_PENDING] !=
			    x.pending[mm__zone_id(zone)])
				mm__report(c, "page-cache", "node %d zone %s: "
					   "nr_zone_write_pending %ld, %ld dirty "
					   "file pages", n, zone->name,
					   (long)zone->vm_stat[MM_NR_ZONE_WRITE_PENDING],
					   (long)x.pending[mm__zone_id(zone)]);
		}
	for (int n = 0; n < m->nr_nodes; n++) {
		if (m->nodes[n].vm_stat[MM_NR_DIRTY] != x.dirty[n])
			mm__report(c, "page-cache", "node %d: NR_DIRTY %ld, %ld "
				   "dirty file pages", n,
				   (long)m->nodes[n].vm_stat[MM_NR_DIRTY],
				   (long)x.dirty[n]);
		if (m->nodes[n].vm_stat[MM_NR_MAPPED] != mapped[n])
			mm__report(c, "page-cache", "node %d: NR_MAPPED %ld, %ld "
				   "mapped cache pages", n,
				   (long)m->nodes[n].vm_stat[MM_NR_MAPPED],
				   (long)mapped[n]);
	}
	free(x.seen);
}

/* ---- swap ------------------------------------------------------------------- */

static void mm__check_swap(struct mm__checker *c, const uint32_t *refs,
			   int64_t *files)
{
	const struct mm_machine *m = c->m;
	int64_t cached[MM_MAX_NODES] = {0};
	uint64_t used = 0;
	uint32_t nc = mm__swap_nr_clusters(m);

	for (uint32_t ci = 0; ci < nc; ci++) {
		const struct mm_swap_cluster *cl = &m->swap_clusters[ci];
		uint32_t n = 0;
		for (uint32_t k = 0; k < MM_SWAP_CLUSTER; k++) {
			uint32_t off = ci * MM_SWAP_CLUSTER + k;
			uint32_t map = cl->map ? cl->map[k] : 0;
			uint32_t pfn = cl->cache ? cl->cache[k] : MM_NIL;
			if (off >= m->swap_slots || off == 0) {
				if (map || pfn != MM_NIL)
					mm__report(c, "swap-free", "swap slot %u "
						   "(outside the usable area) is used",
						   off);
				continue;
			}
			n += map != 0;
			if ((map & MM_SWAP_COUNT_MASK) != refs[off])
				mm__report(c, "swap-count", "swap slot %u: count %u, "
					   "%u entries name it", off,
					   map & MM_SWAP_COUNT_MASK, refs[off]);
			if (cl->data && cl->data[k] && !map)
				mm__report(c, "swap-free", "free swap slot %u holds "
					   "bytes", off);
			if (!(map & MM_SWAP_HAS_CACHE) != (pfn == MM_NIL)) {
				mm__report(c, "swap-cache", "swap slot %u: map %#x, "
					   "cache pfn %u", off, map, pfn);
				continue;
			}
			if (pfn == MM_NIL)
				continue;
			const struct mm_page *p = pfn < m->nr_pfns ? &m->pages[pfn] : NULL;
			if (!p || !mm_page_test(p, MM_PG_swapcache) ||
			    p->private != off || p->refcount < 1 + p->mapcount ||
			    !mm_page_test(p, MM_PG_swapbacked) ||
			    mm__file_is_shmem(p->mapping) || mm__file_is_reg(p->mapping)) {
				mm__report(c, "swap-cache", "swap slot %u caches pfn "
					   "%u, not its anonymous PG_swapcache page",
					   off, pfn);
				continue;
			}
			cached[mm_page_zone(m, pfn)->node]++;
		}
		if (n != cl->used || !n != !cl->map)
			mm__report(c, "swap-free", "swap cluster %u: %u used slots, "
				   "counted %u", ci, n, cl->used);
		used += n;
	}
	if (used + m->swap_free != mm__swap_total(m))
		mm__report(c, "swap-free", "swap_free %u, %llu of %llu slots used",
			   m->swap_free, (unsigned long long)used,
			   (unsigned long long)mm__swap_total(m));
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		if (mm_page_test(p, MM_PG_swapcache) &&
		    (p->private == 0 || p->private >= m->swap_slots ||
		     mm__swap_cache_lookup(m, p->private) != pfn))
			mm__report(c, "swap-cache", "pfn %u is PG_swapcache (slot "
				   "%u) but not in the swap cache", pfn, p->private);
	}
	for (int n = 0; n < m->nr_nodes; n++) {
		if (m->nodes[n].vm_stat[MM_NR_SWAPCACHED] != cached[n])
			mm__report(c, "swap-cache", "node %d: NR_SWAPCACHE %ld, %ld "
				   "pages in the swap cache", n,
				   (long)m->nodes[n].vm_stat[MM_NR_SWAPCACHED],
				   (long)cached[n]);
		files[n] += cached[n];
	}
}

static void mm__check_paging(struct mm__checker *c)
{
	const struct mm_machine *m = c->m;
	struct mm__pt_ctx x = {calloc(m->nr_pfns, 1),
			       calloc(m->nr_pfns, sizeof(int32_t)),
			       calloc(m->nr_pfns, 1), NULL, 0, 0, 0, 0,
			       calloc(MM_MAX(m->swap_slots, 1), sizeof(uint32_t))};

	if (!x.reach || !x.maps || !x.writable || !x.swaprefs)
		goto out;
	if (m->ptables && m->kernel_pgd < m->nr_pfns &&
	    m->pages[m->kernel_pgd].index < m->nr_ptables &&
	    m->ptables[m->pages[m->kernel_pgd].index].pfn == m->kernel_pgd) {
		/* swapper_pg_dir is a kernel-image frame, not PG_pgtable */
		x.reach[m->kernel_pgd] = 1;
		const uint64_t *e = mm__ptable_entries(m, m->kernel_pgd);
		int levels = mm__pt_levels(m);
		unsigned bits = m->cfg.arch == MM_ARCH_I386 ? 10 : 9;
		uint64_t span = 1ull << (MM_PAGE_SHIFT + bits * (unsigned)(levels - 1));
		for (uint32_t i = 0; i < mm__pt_entries(m); i++)
			if (e[i] & MM_PTE_PRESENT)
				mm__check_pt_level(c, &x, (uint32_t)((e[i] & MM_PTE_PFN_MASK)
								     >> MM_PAGE_SHIFT),
						   levels - 1, span * i);
	}
	int64_t anon[MM_MAX_NODES] = {0}, shmem[MM_MAX_NODES] = {0};
	for (uint32_t mi = 0; mi < m->nr_mms; mi++) {
		const struct mm_mm *mm = &m->mms[mi];
		if (mm->id != mi)
			continue;
		x.mm = mm;
		x.rss = x.rss_shmem = x.rss_file = x.rss_swap = 0;
		mm__check_pt_level(c, &x, mm->pgd, mm__pt_levels(m), 0);
		if (x.rss != mm->rss_anon || x.rss_shmem != mm->rss_shmem ||
		    x.rss_file != mm->rss_file)
			mm__report(c, "rss-count", "mm %u: rss_anon %lu rss_shmem "
				   "%lu rss_file %lu, PTEs map %lu, %lu and %lu",
				   mi, (unsigned long)mm->rss_anon,
				   (unsigned long)mm->rss_shmem,
				   (unsigned long)mm->rss_file, (unsigned long)x.rss,
				   (unsigned long)x.rss_shmem, (unsigned long)x.rss_file);
		if (x.rss_swap != mm->rss_swap)
			mm__report(c, "swap-count", "mm %u: rss_swap %lu, %lu swap "
				   "entries", mi, (unsigned long)mm->rss_swap,
				   (unsigned long)x.rss_swap);
	}
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		if (mm_page_test(p, MM_PG_pgtable) && !x.reach[pfn])
			mm__report(c, "pgtable-reach", "table pfn %u is reached "
				   "from no top table", pfn);
		if (!mm_page_test(p, MM_PG_swapbacked))
			continue;
		if (mm__file_is_shmem(p->mapping)) {
			if (p->mapcount != x.maps[pfn] ||
			    p->refcount != 1 + p->mapcount)
				mm__report(c, "page-mapcount", "shmem pfn %u: "
					   "mapcount %d refcount %d, %d PTEs map "
					   "it", pfn, p->mapcount, p->refcount,
					   x.maps[pfn]);
			shmem[mm_page_zone(m, pfn)->node]++;
			continue;
		}
		int32_t cached = mm_page_test(p, MM_PG_swapcache);
		if (p->mapcount != x.maps[pfn] || p->mapcount < 1 - cached ||
		    p->refcount < p->mapcount + cached)
			mm__report(c, "page-mapcount", "pfn %u: mapcount %d "
				   "refcount %d, %d PTEs map it", pfn, p->mapcount,
				   p->refcount, x.maps[pfn]);
		if (x.maps[pfn] > 1 && x.writable[pfn]) /* anonymous only */
			mm__report(c, "cow-readonly", "pfn %u mapped %d times, "
				   "writable in one", pfn, x.maps[pfn]);
		if (mm_page_test(p, MM_PG_anon_exclusive) && x.maps[pfn] != 1)
			mm__report(c, "anon-exclusive", "pfn %u is "
				   "PG_anon_exclusive but %d PTEs map it", pfn,
				   x.maps[pfn]);
		if (p->mapcount > 0)
			anon[mm_page_zone(m, pfn)->node]++;
	}
	for (uint32_t i = 0; i < m->nr_shmem; i++) {
		const struct mm_shmem *o = &m->shmem[i];
		if (!o->file)
			continue;
		bool used = false;
		for (uint32_t k = 0; k < m->nr_vmas && !used; k++)
			used = m->vmas[k].end && m->vmas[k].file == o->file;
		if (!used)
			mm__report(c, "shmem-object", "shmem object %#x is mapped "
				   "by no VMA but kept", o->file);
		for (uint32_t k = 0; k < o->nr; k++) {
			uint32_t pfn = o->pages[k];
			if (pfn == MM_NIL)
				continue;
			if (pfn >= m->nr_pfns ||
			    !mm_page_test(&m->pages[pfn], MM_PG_swapbacked) ||
			    m->pages[pfn].mapping != o->file ||
			    m->pages[pfn].index != k) {
				mm__report(c, "shmem-object", "shmem object %#x "
					   "page %u: pfn %u does not belong to it",
					   o->file, k, pfn);
				continue;
			}
			shmem[mm_page_zone(m, pfn)->node]--;
		}
	}
	int64_t files[MM_MAX_NODES] = {0};
	mm__check_page_cache(c, x.maps, files);
	mm__check_swap(c, x.swaprefs, files);
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		if (!x.maps[pfn] || pfn == m->zero_pfn)
			continue;
		int found = mm_rmap_walk(m, pfn, NULL, 0);
		if (found != x.maps[pfn])
			mm__report(c, "rmap", "pfn %u (mapping %#x index %u): %d "
				   "PTEs map it, the rmap walk finds %d", pfn,
				   p->mapping, p->index, x.maps[pfn], found);
	}
	for (int n = 0; n < m->nr_nodes; n++)
		if (shmem[n] != 0 ||
		    m->nodes[n].vm_stat[MM_NR_SHMEM] + files[n] !=
			    m->nodes[n].vm_stat[MM_NR_FILE_PAGES])
			mm__report(c, "shmem-object", "node %d: %ld shmem frames "
				   "outside (or missing from) their objects, "
				   "NR_SHMEM %ld", n, (long)shmem[n],
				   (long)m->nodes[n].vm_stat[MM_NR_SHMEM]);
	for (int n = 0; n < m->nr_nodes; n++)
		if (m->nodes[n].vm_stat[MM_NR_ANON_PAGES] != anon[n])
			mm__report(c, "rss-count", "node %d: NR_ANON_PAGES %ld, "
				   "%ld mapped anonymous frames", n,
				   (long)m->nodes[n].vm_stat[MM_NR_ANON_PAGES],
				   (long)anon[n]);
out:
	free(x.reach);
	free(x.maps);
	free(x.writable);
	free(x.swaprefs);
}

struct mm__lru_ctx {
	int node, lru;
	uint8_t *seen;
	int64_t zone[MM_MAX_ZONES];
};

static void mm__check_lru_page(struct mm__checker *c, uint32_t pfn, void *arg)
{
	const struct mm_machine *m = c->m;
	struct mm__lru_ctx *x = arg;
	const struct mm_page *p = &m->pages[pfn];
	const struct mm_zone *z = mm_page_zone(m, pfn);

	if (x->seen[pfn])
		mm__report(c, "lru-membership", "pfn %u is on two LRU lists", pfn);
	x->seen[pfn] = 1;
	x->zone[z->idx]++;
	if (!mm_page_test(p, MM_PG_lru) || p->refcount < 1 ||
	    mm_page_test(p, MM_PG_buddy) || mm_page_test(p, MM_PG_pcp) ||
	    z->node != x->node || mm_page_lru(m, pfn) != x->lru)
		mm__report(c, "lru-membership", "pfn %u on node %d's %s list: "
			   "flags %#x refcount %d node %d", pfn, x->node,
			   mm_lru_names[x->lru],
			   p->flags & ((1u << MM_PAGE_ZONE_SHIFT) - 1),
			   p->refcount, z->node);
}

static void mm__check_lru(struct mm__checker *c)
{
	const struct mm_machine *m = c->m;
	uint8_t *seen = calloc(m->nr_pfns, 1);
	int64_t mlocked[MM_MAX_NODES][MM_MAX_ZONES] = {{0}};

	if (!seen)
		return;
	for (int n = 0; n < m->nr_nodes; n++) {
		const struct mm_node *nd = &m->nodes[n];
		for (int l = 0; l < MM_NR_LRU_LISTS; l++) {
			struct mm__lru_ctx x = {n, l, seen, {0}};
			char what[48];
			snprintf(what, sizeof(what), "node %d %s", n, mm_lru_names[l]);
			if (!mm__walk(c, &nd->lru[l], what, mm__check_lru_page, &x))
				continue;
			if (nd->vm_stat[MM_NR_INACTIVE_ANON + l] != nd->lru[l].count)
				mm__report(c, "lru-count", "%s: counter %ld, %u on "
					   "the list", what,
					   (long)nd->vm_stat[MM_NR_INACTIVE_ANON + l],
					   nd->lru[l].count);
			for (int z = 0; z < m->nr_zone_types; z++)
				if (nd->zones[z].vm_stat[MM_NR_ZONE_INACTIVE_ANON + l] !=
				    x.zone[z])
					mm__report(c, "lru-count", "%s zone %s: counter "
						   "%ld, %ld on the list", what,
						   nd->zones[z].name,
						   (long)nd->zones[z].vm_stat[
							   MM_NR_ZONE_INACTIVE_ANON + l],
						   (long)x.zone[z]);
		}
	}
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		bool user = (mm_page_test(p, MM_PG_swapbacked) ||
			     mm__file_is_reg(p->mapping)) && p->refcount > 0 &&
			    !mm_page_test(p, MM_PG_buddy) &&
			    !mm_page_test(p, MM_PG_pcp);
		if ((mm_page_test(p, MM_PG_lru) || user) && !seen[pfn])
			mm__report(c, "lru-membership", "pfn %u (flags %#x) is "
				   "on no LRU list", pfn,
				   p->flags & ((1u << MM_PAGE_ZONE_SHIFT) - 1));
		if (mm_page_test(p, MM_PG_lru) &&
		    mm_page_test(p, MM_PG_unevictable) !=
			    mm_page_test(p, MM_PG_mlocked))
			mm__report(c, "lru-membership", "pfn %u: unevictable %d "
				   "but mlocked %d", pfn,
				   mm_page_test(p, MM_PG_unevictable),
				   mm_page_test(p, MM_PG_mlocked));
		if (mm_page_test(p, MM_PG_mlocked)) {
			const struct mm_zone *z = mm_page_zone(m, pfn);
			mlocked[z->node][z->idx]++;
		}
	}
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			if (m->nodes[n].zones[z].vm_stat[MM_NR_MLOCK] != mlocked[n][z])
				mm__report(c, "lru-count", "node %d zone %s: NR_MLOCK "
					   "%ld, %ld mlocked frames", n,
					   m->nodes[n].zones[z].name,
					   (long)m->nodes[n].zones[z].vm_stat[MM_NR_MLOCK],
					   (long)mlocked[n][z]);
	free(seen);
}

/* The event ring: every held id in its slot, valid types, seq never going
 * back, and no event from beyond the operations recorded. */
static void mm__check_events(struct mm__checker *c)
{
	const struct mm_events *ev = &c->m->ev;
	uint64_t seq = 0;

	for (uint64_t id = mm_event_oldest(c->m); id < ev->next_id; id++) {
		const struct mm_event *e = &ev->ring[(id - 1) % ev->cap];
		if (e->id != id || e->type >= MM_NR_EVENT_TYPES ||
		    e->seq < seq || e->seq > ev->ops) {
			mm__report(c, "event-ring", "slot of event %llu holds id "
				   "%llu type %u seq %llu (ops %llu)",
				   (unsigned long long)id,
				   (unsigned long long)e->id, e->type,
				   (unsigned long long)e->seq,
				   (unsigned long long)ev->ops);
			return;
		}
		seq = e->seq;
	}
}

int mm_check(const struct mm_machine *m, struct mm_violation *v, int max)
{
	struct mm__checker c = {m, v, max, 0, calloc(m->nr_pfns, 1)};

	if (!c.own) {
		if (max > 0) {
			v[0].invariant = "checker";
			snprintf(v[0].detail, sizeof(v[0].detail), "out of memory");
		}
		return 1;
	}
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			mm__check_zone(&c, &m->nodes[n], &m->nodes[n].zones[z]);
	mm__check_slabs(&c);
	mm__check_kernel_maps(&c);
	mm__check_mms(&c);
	mm__check_i_mmap(&c);
	mm__check_paging(&c);
	mm__check_lru(&c);
	mm__check_events(&c);
	uint32_t buddy = 0, pcp = 0, on_free = 0, on_pcp = 0, content = 0;
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		if (mm_frame_bytes(m, pfn)) {
			content++;
			if (pfn == m->zero_pfn || c.own[pfn] < OWN_ALLOC)
				mm__report(&c, "frame-content", "pfn %u holds "
					   "bytes but is not an allocated frame "
					   "(owner %u)", pfn, c.own[pfn]);
		}
		buddy += mm_page_test(p, MM_PG_buddy);
		pcp += mm_page_test(p, MM_PG_pcp);
		on_pcp += c.own[pfn] == OWN_PCP;
		if (c.own[pfn] == OWN_NONE && !mm_page_test(p, MM_PG_hole))
			mm__report(&c, "frame-owner", "pfn %u is neither reserved, "
				   "free, on a pcp list nor allocated (flags %#x)",
				   pfn, p->flags & ((1u << MM_PAGE_ZONE_SHIFT) - 1));
	}
	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			for (int o = 0; o < MM_NR_ORDERS; o++)
				for (int t = 0; t < MM_MIGRATE_TYPES; t++)
					on_free += m->nodes[n].zones[z].free_area[o]
							   .free_list[t].count;
	if (buddy != on_free)
		mm__report(&c, "buddy-orphan", "%u PG_buddy frames, %u on free "
			   "lists", buddy, on_free);
	if (pcp != on_pcp)
		mm__report(&c, "pcp-count", "%u PG_pcp frames, %u on pcp lists",
			   pcp, on_pcp);
	if (content != m->nr_content)
		mm__report(&c, "frame-content", "nr_content %u, %u frames hold "
			   "bytes", m->nr_content, content);
	free(c.own);
	return c.n;
}
