/*
 * internal.h — engine-private helpers (mm__ prefix): frame lists, zone
 * lookups, the text buffer the /proc renders write into.
 */
#ifndef MMSIM_ENGINE_INTERNAL_H
#define MMSIM_ENGINE_INTERNAL_H

#include "engine/mm.h"

#include <stdarg.h>
#include <string.h>

#ifdef NDEBUG
#define MM_ASSERT(c) ((void)0)
#else
void mm__assert_fail(const char *expr, const char *file, int line)
	__attribute__((noreturn));
#define MM_ASSERT(c) ((c) ? (void)0 : mm__assert_fail(#c, __FILE__, __LINE__))
#endif

#define MM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MM_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Zone type indices per arch (Linux's enum zone_type for each). */
enum { MM_X86_64_DMA, MM_X86_64_DMA32, MM_X86_64_NORMAL, MM_X86_64_MOVABLE,
       MM_X86_64_DEVICE };
enum { MM_I386_DMA, MM_I386_NORMAL, MM_I386_HIGHMEM, MM_I386_MOVABLE };

#define MM_PAGE_ALLOC_COSTLY_ORDER 3

static inline void mm__set(struct mm_page *p, enum mm_pageflag f)
{
	p->flags |= 1u << f;
}
static inline void mm__clear(struct mm_page *p, enum mm_pageflag f)
{
	p->flags &= ~(1u << f);
}
static inline unsigned mm__zone_id(const struct mm_zone *z)
{
	return (unsigned)z->node * MM_MAX_ZONES + z->idx;
}
static inline bool mm__zone_is_highmem(const struct mm_machine *m,
				       const struct mm_zone *z)
{
	return m->cfg.arch == MM_ARCH_I386 && z->idx == MM_I386_HIGHMEM;
}
static inline bool mm__zone_is_movable(const struct mm_machine *m,
				       const struct mm_zone *z)
{
	return z->idx == (m->cfg.arch == MM_ARCH_I386 ? MM_I386_MOVABLE
						     : MM_X86_64_MOVABLE);
}
static inline uint32_t mm__pageblock_nr(const struct mm_machine *m)
{
	return 1u << m->pageblock_order;
}

/*
 * ---- frame lists ----
 * Intrusive doubly linked lists of frames, threaded through
 * mm_page.lru_next/lru_prev by pfn (Linux's list_head, with 32-bit pfns in
 * place of pointers so the descriptor stays at 32 bytes and the state is
 * free of host addresses).  A frame is on at most one list; MM_NIL ends.
 * Inline: they sit on every allocator hot path.
 */
static inline void mm__plist_init(struct mm_plist *l)
{
	l->head = l->tail = MM_NIL;
	l->count = 0;
}

/* The _in forms take the frame array itself: a caller in a loop loads
 * m->pages once (stores to frame fields cannot change it, but they can
 * change the machine's uint32_t/int fields the compiler would reload).
 * A link update stores through a pointer chosen between a neighbour's link
 * and the list's end (a conditional move, not a branch): the buddy
 * allocator's split and merge loops are mostly these. */
static inline void mm__plist_add_in(struct mm_page *pages, struct mm_plist *l,
				    uint32_t pfn)
{
	struct mm_page *p = &pages[pfn];
	uint32_t head = l->head;

	p->lru_prev = MM_NIL;
	p->lru_next = head;
	*(head != MM_NIL ? &pages[head].lru_prev : &l->tail) = pfn;
	l->head = pfn;
	l->count++;
}

static inline void mm__plist_add_tail_in(struct mm_page *pages,
					 struct mm_plist *l, uint32_t pfn)
{
	struct mm_page *p = &pages[pfn];
	uint32_t tail = l->tail;

	p->lru_next = MM_NIL;
	p->lru_prev = tail;
	*(tail != MM_NIL ? &pages[tail].lru_next : &l->head) = pfn;
	l->tail = pfn;
	l->count++;
}

static inline void mm__plist_del_in(struct mm_page *pages, struct mm_plist *l,
				    uint32_t pfn)
{
	struct mm_page *p = &pages[pfn];
	uint32_t prev = p->lru_prev, next = p->lru_next;

	*(prev != MM_NIL ? &pages[prev].lru_next : &l->head) = next;
	*(next != MM_NIL ? &pages[next].lru_prev : &l->tail) = prev;
	p->lru_next = p->lru_prev = MM_NIL;
	l->count--;
}

static inline void mm__plist_add(struct mm_machine *m, struct mm_plist *l,
				 uint32_t pfn)
{
	mm__plist_add_in(m->pages, l, pfn);
}

static inline void mm__plist_add_tail(struct mm_machine *m, struct mm_plist *l,
				      uint32_t pfn)
{
	mm__plist_add_tail_in(m->pages, l, pfn);
}

static inline void mm__plist_del(struct mm_machine *m, struct mm_plist *l,
				 uint32_t pfn)
{
	mm__plist_del_in(m->pages, l, pfn);
}

static inline void mm__plist_move_tail(struct mm_machine *m,
				       struct mm_plist *to,
				       struct mm_plist *from, uint32_t pfn)
{
	mm__plist_del(m, from, pfn);
	mm__plist_add_tail(m, to, pfn);
}

/* The migratetype of pfn's pageblock, pfn being in zone z. */
static inline int mm__pb_mt(const struct mm_machine *m,
			    const struct mm_zone *z, uint32_t pfn)
{
	return z->pageblock_mt[(pfn >> m->pageblock_order) -
			       (z->start_pfn >> m->pageblock_order)];
}

/* ---- buddy (buddy.c) ---- */
void mm__set_pageblock_mt(struct mm_machine *m, uint32_t pfn, int mt);
void mm__free_one(struct mm_machine *m, struct mm_zone *z, uint32_t pfn,
		  unsigned order, int mt, bool to_tail);
void mm__free_large(struct mm_machine *m, struct mm_zone *z, uint32_t pfn,
		    unsigned order, bool to_tail);

/* free_one_page(): mt is the pageblock's type, for blocks that fit in a
 * pageblock; larger blocks are freed pageblock by pageblock. */
static inline void mm__free_one_page(struct mm_machine *m, struct mm_zone *z,
				     uint32_t pfn, unsigned order, int mt,
				     bool to_tail)
{
	if (order <= (unsigned)m->pageblock_order)
		mm__free_one(m, z, pfn, order, mt, to_tail);
	else
		mm__free_large(m, z, pfn, order, to_tail);
}

/* Removes one block of order from z (after the fallback rules), or MM_NIL. */
uint32_t mm__rmqueue(struct mm_machine *m, struct mm_zone *z, unsigned order,
		     int mt, unsigned alloc_flags);
uint32_t mm__rmqueue_smallest(struct mm_machine *m, struct mm_zone *z,
			      unsigned order, int mt);
/* Up to want order-0 pages, consecutive, as that many mm__rmqueue calls
 * would take them: returns the first (MM_NIL: none), *n the count. */
uint32_t mm__rmqueue_run(struct mm_machine *m, struct mm_zone *z, int mt,
			 unsigned alloc_flags, uint32_t want, uint32_t *n);
void mm__reserve_highatomic_pageblock(struct mm_machine *m, struct mm_zone *z,
				      uint32_t pfn, unsigned order);
bool mm__unreserve_highatomic_pageblock(struct mm_machine *m, int node,
					 int to, bool force);
int mm__move_freepages_block(struct mm_machine *m, struct mm_zone *z,
			     uint32_t pfn, int old_mt, int new_mt);

/* ---- allocation context flags (Linux's ALLOC_*) ---- */
enum {
	MM_ALLOC_WMARK_MIN = MM_WMARK_MIN,
	MM_ALLOC_WMARK_LOW = MM_WMARK_LOW,
	MM_ALLOC_WMARK_HIGH = MM_WMARK_HIGH,
	MM_ALLOC_NO_WATERMARKS = 0x04,
	MM_ALLOC_WMARK_MASK = MM_ALLOC_NO_WATERMARKS - 1,
	MM_ALLOC_OOM = 0x08,
	MM_ALLOC_NON_BLOCK = 0x10,
	MM_ALLOC_MIN_RESERVE = 0x20,
	MM_ALLOC_CPUSET = 0x40,
	MM_ALLOC_NOFRAGMENT = 0x100,
	MM_ALLOC_HIGHATOMIC = 0x200,
	MM_ALLOC_KSWAPD = 0x800,
};
#define MM_ALLOC_RESERVES \
	(MM_ALLOC_NON_BLOCK | MM_ALLOC_MIN_RESERVE | MM_ALLOC_HIGHATOMIC | \
	 MM_ALLOC_OOM)

/*
 * The page allocator for engine-internal users (slab, page tables, …):
 * like mm_alloc_pages() but without the PG_kalloc ownership mark; order > 0
 * blocks are compound only with __GFP_COMP.  mm__free_pages() takes back a
 * block whose refcount is 1 (a programmer error otherwise).
 */
int mm__alloc_pages(struct mm_machine *m, uint32_t gfp, unsigned order,
		    int cpu, int node, struct mm_alloc_result *res);
void mm__free_pages(struct mm_machine *m, uint32_t pfn, unsigned order,
		    int cpu);

bool mm__zone_watermark_ok(const struct mm_zone *z, unsigned order,
			   uint64_t mark, int highest_zoneidx,
			   unsigned alloc_flags, int64_t free_pages);

/* ---- frame contents (content.c) ---- */
/* Drops the buffers of frames [pfn, pfn + nr) (they read as zeros again). */
void mm__content_drop(struct mm_machine *m, uint32_t pfn, uint32_t nr);
/* Frame dst takes src's bytes (copy_user_highpage); 0 or -MM_ENOMEM. */
int mm__content_copy(struct mm_machine *m, uint32_t dst, uint32_t src);
void mm__content_destroy(struct mm_machine *m);

/* ---- machine set-up (machine.c) ---- */
void mm__setup_watermarks(struct mm_machine *m);

/* ---- slab (slab.c) ---- */
/* __pa() of a direct-map address as a pfn, or MM_NIL outside the map. */
uint32_t mm__virt_to_pfn(const struct mm_machine *m, uint64_t addr);
int mm__slab_init(struct mm_machine *m);
void mm__slab_destroy(struct mm_machine *m);

/* ---- page tables (pgtable.c) ----
 * The geometry helpers are inline: every page-table walk calls them once
 * per level. */
static inline int mm__pt_levels(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_I386 ? 2 : 4;
}
static inline uint32_t mm__pt_entries(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_I386 ? 1024 : 512;
}
static inline uint32_t mm__pt_index(const struct mm_machine *m, uint64_t va,
				    int level)
{
	unsigned bits = m->cfg.arch == MM_ARCH_I386 ? 10 : 9;
	return (uint32_t)(va >> (MM_PAGE_SHIFT + bits * (unsigned)(level - 1))) &
	       (mm__pt_entries(m) - 1);
}
/* The entries of table frame pfn (a host array, stable while it lives). */
static inline uint64_t *mm__ptable_entries(const struct mm_machine *m,
					   uint32_t pfn)
{
	return m->ptables[m->pages[pfn].index].e;
}
int mm__ptable_attach(struct mm_machine *m, uint32_t pfn);
int mm__ptable_new(struct mm_machine *m, int cpu, uint32_t *pfn);
void mm__ptable_free(struct mm_machine *m, uint32_t pfn, int cpu);
/* Walks from root to the PTE of va, creating missing tables when create
 * (-MM_ENOMEM if a table frame cannot be had); -MM_EFAULT when a level is
 * not present and !create.  steps (may be NULL) records each level. */
int mm__pt_walk(struct mm_machine *m, uint32_t root, uint64_t va, bool create,
		int cpu, uint64_t **pte, struct mm_walk_step *steps, int *nsteps);
int mm__pt_lookup(const struct mm_machine *m, uint32_t root, uint64_t va,
		  struct mm_walk_step *steps, int *nsteps, uint64_t *leaf);

/* ---- vmalloc (vmalloc.c) ---- */
int mm__vmalloc_init(struct mm_machine *m);
void mm__vmalloc_destroy(struct mm_machine *m);

/* ---- VMAs (vma.c) ---- */
struct mm_vma *mm__vma(const struct mm_machine *m, uint32_t id);
uint32_t mm__vma_id(const struct mm_machine *m, const struct mm_vma *v);
uint32_t mm__vma_alloc(struct mm_machine *m, struct mm_mm *mm, int cpu);
void mm__vma_free(struct mm_machine *m, uint32_t id, int cpu);
uint32_t mm__find_vma(const struct mm_machine *m, const struct mm_mm *mm,
		      uint64_t addr);
uint32_t mm__find_vma_before(const struct mm_machine *m, const struct mm_mm *mm,
			     uint64_t addr);
void mm__vma_link(struct mm_machine *m, struct mm_mm *mm, uint32_t id);
void mm__vma_unlink(struct mm_machine *m, struct mm_mm *mm, uint32_t id);
uint32_t mm__vma_split(struct mm_machine *m, struct mm_mm *mm, uint32_t id,
		       uint64_t addr, bool new_below, int cpu);
bool mm__vma_flags_mergeable(const struct mm_vma *v, uint64_t flags,
			     uint32_t file);
bool mm__anon_vma_compatible(uint32_t a, uint32_t b);
bool mm__can_merge_after(const struct mm_vma *prev, uint64_t start,
			 uint64_t flags, uint32_t file, uint32_t anon_vma,
			 uint64_t pgoff);
bool mm__can_merge_before(const struct mm_vma *next, uint64_t end,
			  uint64_t flags, uint32_t file, uint32_t anon_vma,
			  uint64_t pgoff, uint64_t pages);

/* ---- address-space syscalls (mmap.c) ---- */
int mm__vm_enough_memory(struct mm_machine *m, const struct mm_mm *mm,
			 int64_t pages);
void mm__vm_unacct(struct mm_machine *m, int64_t pages);
void mm__vm_stat_account(struct mm_mm *mm, uint64_t flags, int64_t pages);
void mm__vma_destroy(struct mm_machine *m, struct mm_mm *mm, uint32_t id,
		     int cpu);
int mm__do_munmap(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		  uint64_t end, int cpu);

/* ---- exec images and special mappings (exec.c) ----
 * What mm_vma.file holds besides 0 (anonymous) and 0x80000000 | n (shared
 * anonymous memory, mmap.c): MM_FILE_EXEC | pid for the image pid exec'd
 * (named "/tmp/mmsim-exec-PID", device 00:MM_EXEC_DEV_MINOR, inode PID,
 * until the engine has in-memory files), MM_FILE_SPECIAL | MM_SPECIAL_*
 * for the vDSO's special mappings (no file: named, offset 0, 00:00 0). */
#define MM_FILE_EXEC 0x40000000u
#define MM_FILE_SPECIAL 0x20000000u
#define MM_EXEC_DEV_MINOR 2
enum { MM_SPECIAL_VVAR = 1, MM_SPECIAL_VVAR_VCLOCK, MM_SPECIAL_VDSO };
static inline bool mm__file_is_exec(uint32_t file)
{
	return (file & 0xe0000000u) == MM_FILE_EXEC;
}
/* The image's path into buf (snprintf-style); its length. */
size_t mm__exec_path(uint32_t file, char *buf, size_t len);
/* "[vvar]", "[vvar_vclock]", "[vdso]", or NULL when file is not special. */
const char *mm__special_name(uint32_t file);

/* ---- demand paging (fault.c) ---- */
struct mm_fault_counts;
int mm__mm_pgd_alloc(struct mm_machine *m, struct mm_mm *mm, int cpu);
void mm__mm_teardown(struct mm_machine *m, struct mm_mm *mm, bool keep_pgd,
		     int cpu);
void mm__zap_range(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		   uint64_t end, int cpu);
void mm__free_pgtables(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		       uint64_t end, int cpu);
void mm__anon_vma_prepare(struct mm_machine *m, struct mm_vma *v);
int mm__handle_fault(struct mm_machine *m, struct mm_task *t, uint32_t vma,
		     uint64_t va, enum mm_access access,
		     struct mm_fault_counts *fc, uint64_t **ptep);
int mm__populate(struct mm_machine *m, struct mm_task *t, uint64_t start,
		 uint64_t end, bool ignore_errors);
int mm__copy_page_range(struct mm_machine *m, struct mm_mm *dst,
			struct mm_mm *src, const struct mm_vma *v, int cpu);
void mm__change_protection(struct mm_machine *m, struct mm_mm *mm,
			   const struct mm_vma *v, uint64_t start, uint64_t end);

void mm__mlock_pages(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		     uint64_t end, bool lock);
uint64_t *mm__pte_lookup(struct mm_machine *m, const struct mm_mm *mm,
			 uint64_t va);
/* One user access at va as the MMU and the fault handler do it: 1 = no
 * fault needed, 0 = fault handled, -MM_EFAULT with *code = SEGV_*
 * (SIGSEGV), -MM_ENXIO (SIGBUS: a file page past EOF), or the fault's
 * -errno. */
int mm__access(struct mm_machine *m, struct mm_task *t, uint64_t va,
	       enum mm_access access, int *code);
/* The record of shmem object file; created (empty, mapped by no VMA) if
 * missing and create, NULL when that fails or without create. */
struct mm_shmem *mm__shmem_find(struct mm_machine *m, uint32_t file,
				bool create);
/* A VMA record with shmem object file went away: frees the object's pages
 * and record when no VMA maps it any more. */
void mm__shmem_put(struct mm_machine *m, uint32_t file, int cpu);
static inline bool mm__file_is_shmem(uint32_t file)
{
	return (file & 0x80000000u) != 0;
}
/* Calls fn for every present PTE of [start, end) (zero page included). */
typedef void (*mm__pte_fn)(const struct mm_machine *m, uint64_t va,
			   uint64_t pte, void *arg);
void mm__walk_ptes(const struct mm_machine *m, const struct mm_mm *mm,
		   uint64_t start, uint64_t end, mm__pte_fn fn, void *arg);
/* The same for every swap entry of [start, end). */
void mm__walk_swap_ptes(const struct mm_machine *m, const struct mm_mm *mm,
			uint64_t start, uint64_t end, mm__pte_fn fn, void *arg);
/* Page tables below the pgd (mm_pgtables_bytes() / PAGE_SIZE). */
uint64_t mm__nr_ptables(const struct mm_machine *m, const struct mm_mm *mm);

/* ---- page frame reclaim (reclaim.c) ---- */
/* folio_add_lru_vma(): a new user page joins its node's LRU (the
 * unevictable list, mlocked, in a VM_LOCKED VMA). */
void mm__lru_add_new(struct mm_machine *m, uint32_t pfn, uint64_t vm_flags);
/* A page about to be freed leaves its list; LRU flags are cleared. */
void mm__lru_remove(struct mm_machine *m, uint32_t pfn);
/* mlock_folio() / munlock_folio(): one VM_LOCKED mapping more / less
 * (mlock_count in mm_page.private while unevictable). */
void mm__mlock_page(struct mm_machine *m, uint32_t pfn);
void mm__munlock_page(struct mm_machine *m, uint32_t pfn);
/* folio_mark_accessed(): referenced twice, an inactive page activates. */
void mm__mark_page_accessed(struct mm_machine *m, uint32_t pfn);
/* folio_rotate_reclaimable(): writeback of a PG_reclaim page ended. */
void mm__rotate_reclaimable(struct mm_machine *m, uint32_t pfn);
void mm__scan_fraction(uint64_t swappiness, uint64_t anon_cost,
		       uint64_t file_cost, uint64_t fraction[2]);
/* wakeup_kswapd() for zone z's node (an allocation of highest_zoneidx
 * found it below low). */
void mm__wakeup_kswapd(struct mm_machine *m, struct mm_zone *z,
		       int highest_zoneidx);
/* try_to_free_pages(): direct reclaim of SWAP_CLUSTER_MAX pages over nd's
 * zonelist; pages freed. */
uint64_t mm__try_to_free_pages(struct mm_machine *m, struct mm_node *nd,
			       int highest_zoneidx, int cpu);
/* An operation of pid that may OOM-kill (touch, trace) begins / ends;
 * leave answers whether pid itself was chosen (and must now die). */
static inline void mm__oom_enter(struct mm_machine *m, int pid)
{
	m->oom_current = pid;
	m->oom_victim = 0;
	m->oom_allowed = true;
}
static inline bool mm__oom_leave(struct mm_machine *m)
{
	bool self = m->oom_victim && m->oom_victim == m->oom_current;
	m->oom_current = m->oom_victim = 0;
	m->oom_allowed = false;
	return self;
}
/* MADV_COLD (deactivate) / MADV_PAGEOUT (reclaim now) of [start, end). */
void mm__madvise_cold_pageout(struct mm_machine *m, struct mm_mm *mm,
			      uint64_t start, uint64_t end, bool pageout,
			      int cpu);
/* out_of_memory(): true when a victim was killed (memory freed). */
bool mm__out_of_memory(struct mm_machine *m);
/* get_nr_swap_pages(): free swap slots. */
uint64_t mm__nr_swap_free(const struct mm_machine *m);
/* lru_note_cost(): reclaim I/O and rotations raise a side's cost. */
void mm__lru_note_cost(struct mm_node *n, bool file, uint64_t nr_io,
		       uint64_t nr_rotated);

/* ---- workingset detection (workingset.c) ----
 * A shadow entry is what an evicted page leaves in its page-cache slot:
 * bits 31..30 = 0b10 (no pfn, node id or MM_NIL has them), then
 * [eviction timestamp:26][node:3][workingset:1] (pack_shadow). */
#define MM_SHADOW_TAG 0x80000000u
static inline bool mm__xa_is_shadow(uint32_t entry)
{
	return (entry & 0xc0000000u) == MM_SHADOW_TAG;
}
/* The node a shadow entry names (its eviction lruvec). */
int mm__shadow_nid(uint32_t shadow);
/* workingset_age_nonresident(): node nid's LRU aged by nr pages. */
void mm__workingset_age_nonresident(struct mm_machine *m, int nid, uint64_t nr);
/* workingset_eviction(): the shadow entry for page pfn, about to be freed
 * by reclaim (its flags still intact); ages its node. */
uint32_t mm__workingset_eviction(struct mm_machine *m, uint32_t pfn);
/* workingset_refault(): new page pfn (not yet on the LRU) replaces the
 * shadow entry: counts the refault and, when the refault distance fits
 * the workingset, sets PG_active (and PG_workingset when it was). */
void mm__workingset_refault(struct mm_machine *m, uint32_t pfn, uint32_t shadow);
/* workingset_activation(): folio_mark_accessed() activated pfn. */
void mm__workingset_activation(struct mm_machine *m, uint32_t pfn);
/* The node of tree node id (where its radix_tree_node object lives), -1
 * when its object address is outside the direct map (corrupt). */
int mm__xa_node_nid(const struct mm_machine *m, uint32_t id);
/* workingset_update_node(): lists tree node id on its node's shadow-node
 * list iff it holds only shadow entries, unlists it otherwise. */
void mm__workingset_update_node(struct mm_machine *m, uint32_t id);
/* shrink_slab() for node nid at priority: the one shrinker the engine
 * has, the shadow-node one (do_shrink_slab); objects freed. */
uint64_t mm__shrink_slab(struct mm_machine *m, int nid, int priority, int cpu);
/* drop_slab(): every node's shrinkers at priority 0 until little is freed. */
void mm__drop_slab(struct mm_machine *m);
/* ---- page cache (pagecache.c) ---- */
static inline bool mm__file_is_reg(uint32_t file)
{
	return (file & 0xf0000000u) == MM_FILE_REG;
}
/* The file of a handle (MM_FILE_REG | id), NULL if none. */
struct mm_file *mm__file(const struct mm_machine *m, uint32_t handle);
uint32_t mm__xa_load(const struct mm_machine *m, const struct mm_file *f,
		     uint64_t idx);
/* The first cached index in [idx, end), or end. */
uint64_t mm__pagecache_next(const struct mm_machine *m, const struct mm_file *f,
			    uint64_t idx, uint64_t end);
int mm__filemap_fault(struct mm_machine *m, struct mm_file *f,
		      uint64_t vm_flags, uint64_t idx, int cpu, uint32_t *pfn,
		      bool *major, bool *retry);
bool mm__file_beyond_eof(const struct mm_file *f, uint64_t idx);
uint32_t mm__filemap_map_page(struct mm_machine *m, struct mm_file *f,
			      uint64_t idx);
void mm__page_set_dirty(struct mm_machine *m, uint32_t pfn);
/* xa_delete_node(): tree node id, holding only shadow entries, is
 * emptied and freed (with the empty nodes above it). */
void mm__xa_delete_node(struct mm_machine *m, uint32_t id, int cpu);
/* A VMA of file handle went away: an unlinked file unmapped by every VMA
 * is freed. */
void mm__file_put(struct mm_machine *m, uint32_t handle, int cpu);
void mm__pagecache_destroy(struct mm_machine *m);

/* ---- the i_mmap interval tree of a page-cache object (i_mmap.c) ----
 * Every VMA of a regular file or shmem object is in its object's tree;
 * inserts and removals are no-ops for other VMAs. */
/* The root slot of file's tree (a MM_FILE_REG handle or shmem object id),
 * NULL when file has none (anonymous, exec image, special, freed). */
uint32_t *mm__i_mmap_root(const struct mm_machine *m, uint32_t file);
uint64_t mm__vma_last_pgoff(const struct mm_vma *v);
uint32_t mm__i_mmap_prio(uint32_t id);
/* vma_interval_tree_insert(): after every VMA with the same vm_pgoff. */
void mm__i_mmap_insert(struct mm_machine *m, uint32_t id);
/* vma_interval_tree_insert_after(): right after prev (same file and
 * vm_pgoff), as dup_mmap() places a child's VMA. */
void mm__i_mmap_insert_after(struct mm_machine *m, uint32_t id, uint32_t prev);
void mm__i_mmap_remove(struct mm_machine *m, uint32_t id);
/* vma_prepare() / vma_complete() of an adjustment: vma (and adj, the
 * neighbour adjusted with it; MM_NIL none) leave the tree before their
 * range changes, then adj and vma come back, in that order. */
void mm__vma_prepare(struct mm_machine *m, uint32_t vma, uint32_t adj);
void mm__vma_complete(struct mm_machine *m, uint32_t vma, uint32_t adj);
/* vma_interval_tree_foreach(): the VMAs of a tree meeting [first, last]
 * in file pages, in tree order: first, then next of each (MM_NIL: done). */
uint32_t mm__i_mmap_first(const struct mm_machine *m, uint32_t root,
			  uint64_t first, uint64_t last);
uint32_t mm__i_mmap_next(const struct mm_machine *m, uint32_t id,
			 uint64_t first, uint64_t last);

/* ---- reverse mapping (rmap.c) ---- */
/* Calls fn(mm id, va, pte) for every PTE mapping pfn (rmap_walk): a
 * page-cache page's in its file's i_mmap order, an anonymous page's in VMA
 * id order; fn may change or clear that PTE.  Returns the count. */
typedef void (*mm__rmap_fn)(struct mm_machine *m, uint32_t mm, uint64_t va,
			    uint64_t pte, void *arg);
int mm__rmap_each(const struct mm_machine *m, uint32_t pfn, mm__rmap_fn fn,
		  void *arg);
/* A new anon_vma id chained to parent (0: none); shmem object ids come
 * from the same counter. */
uint32_t mm__anon_vma_new(struct mm_machine *m, uint32_t parent);
/* folio_mkclean(): every PTE mapping pfn is write-protected and cleaned,
 * its dirty bit moved to the page. */
void mm__mkclean(struct mm_machine *m, uint32_t pfn);
/* try_to_unmap(): clears every PTE mapping pfn (swap entries for a page
 * in the swap cache). */
void mm__try_to_unmap(struct mm_machine *m, uint32_t pfn, int cpu);
/* Clears the PTE of va in mm (present), dropping its page. */
void mm__unmap_one(struct mm_machine *m, struct mm_mm *mm, uint64_t va, int cpu);
/* try_to_unmap_one(): the same, but an anonymous page in the swap cache
 * leaves its swap entry in the PTE. */
void mm__try_to_unmap_one(struct mm_machine *m, struct mm_mm *mm, uint64_t va,
			  int cpu);
/* Reclaims an unmapped page-cache page of a file (shrink_folio_list's
 * pageout + remove_mapping): a dirty page is written back only when
 * may_write (kswapd) and it was flagged PG_reclaim before; otherwise it is
 * flagged and kept.  false when it must stay (dirty, mapped). */
bool mm__pagecache_reclaim(struct mm_machine *m, uint32_t pfn, bool may_write,
			   int cpu);/* force_page_cache_ra() of [idx, idx + nr) (MADV_WILLNEED). */
void mm__file_willneed(struct mm_machine *m, struct mm_file *f, uint64_t idx,
		       uint64_t nr, int cpu);

/* ---- swap (swap.c) ----
 * Slots are numbered by offset in the one swap area (type 0); 0 is the
 * header and never an entry. */
static inline bool mm__pte_is_swap(uint64_t e)
{
	return e && !(e & (MM_PTE_PRESENT | MM_PTE_PROTNONE));
}
static inline uint32_t mm__swap_nr_clusters(const struct mm_machine *m)
{
	return (m->swap_slots + MM_SWAP_CLUSTER - 1) / MM_SWAP_CLUSTER;
}
uint64_t mm__swp_entry_pte(const struct mm_machine *m, uint32_t off,
			   bool exclusive);
uint32_t mm__pte_swp_offset(const struct mm_machine *m, uint64_t e);
uint32_t mm__pte_swp_type(const struct mm_machine *m, uint64_t e);
bool mm__pte_swp_exclusive(const struct mm_machine *m, uint64_t e);
uint64_t mm__pte_swp_clear_exclusive(const struct mm_machine *m, uint64_t e);
/* The slots of cfg's area (header included; 0: no swap). */
uint32_t mm__swap_area_slots(const struct mm_config *cfg);
/* Usable slots (SwapTotal in pages). */
uint64_t mm__swap_total(const struct mm_machine *m);
int mm__swap_init(struct mm_machine *m);
void mm__swap_destroy(struct mm_machine *m);
int mm__swap_cluster_alloc(struct mm_swap_cluster *c);
/* swap_map[off], its entry count (swp_swapcount), its cached pfn. */
uint32_t mm__swap_map(const struct mm_machine *m, uint32_t off);
uint32_t mm__swap_count(const struct mm_machine *m, uint32_t off);
uint32_t mm__swap_cache_lookup(const struct mm_machine *m, uint32_t off);
bool mm__vm_swap_full(const struct mm_machine *m);
/* add_to_swap(): a slot for anonymous page pfn, which joins the swap cache
 * (dirty); false when swap is full. */
bool mm__add_to_swap(struct mm_machine *m, uint32_t pfn);
void mm__swap_cache_del(struct mm_machine *m, uint32_t pfn);
/* folio_free_swap(): a cached page no entry names leaves the cache (and
 * frees its slot); false when it must stay. */
bool mm__folio_free_swap(struct mm_machine *m, uint32_t pfn);
/* swap_duplicate() / swap_free(): one entry more / less naming off. */
void mm__swap_duplicate(struct mm_machine *m, uint32_t off);
void mm__swap_free(struct mm_machine *m, uint32_t off);
/* free_swap_and_cache(): a zapped entry; an unmapped cached page goes. */
void mm__free_swap_and_cache(struct mm_machine *m, uint32_t off, int cpu);
/* swap_writepage() of a cached page (pswpout or swpout_zero; clean after);
 * 1 or -MM_ENOMEM. */
int mm__swap_writepage(struct mm_machine *m, uint32_t pfn);
/* Writes (if dirty) and frees an unmapped cached page (shrink_folio_list's
 * pageout + __remove_mapping); *pageout / *written count writes / pswpout. */
bool mm__swap_pageout(struct mm_machine *m, uint32_t pfn, int cpu,
		      uint64_t *pageout, uint64_t *written);
int mm__swap_readpage(struct mm_machine *m, uint32_t pfn, uint32_t off);
/* Reads entry off into a new swap-cache page: 1 bytes read (pswpin), 0 a
 * zero slot, -MM_ENOMEM, or -MM_EAGAIN (the slot went meanwhile). */
int mm__swapin(struct mm_machine *m, uint32_t off, int cpu, uint32_t *pfn);
/* swap_cluster_readahead(): entry off and the window around it into the
 * swap cache; *pfn = off's page, *read = pages read with bytes (pswpin).
 * 0 or -MM_ENOMEM. */
int mm__swapin_readahead(struct mm_machine *m, uint32_t off, int cpu,
			 uint32_t *pfn, uint64_t *read);
/* swap_update_readahead(): a fault found pfn in the swap cache; a page
 * read ahead counts a hit (swap_ra_hit) for the next window. */
void mm__swap_readahead_hit(struct mm_machine *m, uint32_t pfn);
/* fault.c: frees anonymous page pfn whose last reference (refcount 1,
 * unmapped) goes. */
void mm__anon_page_release(struct mm_machine *m, uint32_t pfn, int cpu);
/* MADV_WILLNEED of anonymous [start, end): swap entries read into the swap
 * cache. */
void mm__swapin_range(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		      uint64_t end, int cpu);

/* ---- processes (process.c) ---- */
int mm__process_init(struct mm_machine *m);
/* event.c */
int mm__events_init(struct mm_machine *m);
void mm__events_destroy(struct mm_machine *m);
void mm__pick_mmap_layout(struct mm_machine *m, struct mm_mm *mm);
void mm__process_destroy(struct mm_machine *m);

/* ---- text output (buf.c) ---- */
struct mm_buf {
	char *p;
	size_t len, used; /* used may exceed len: the length needed */
};
void mm__bprintf(struct mm_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Makes room for one more element in a record array of `used` elements
 * (doubling its capacity); 0 or -MM_ENOMEM with the array unchanged. */
int mm__grow(void **array, uint32_t *cap, uint32_t used, size_t elem);
/* NUL-terminates (truncating if needed); returns the full text's length. */
size_t mm__bfinish(struct mm_buf *b);

/* ---- the state visitor (state.c): digest, snapshot save and load ----
 * The hash is two independent 64-bit multiply-rotate lanes (a state
 * equality check, not a cryptographic hash); each word changes both. */
struct mm__hash {
	uint64_t a, b, n;
};
#define MM__HASH_INIT {0x243f6a8885a308d3ull, 0x13198a2e03707344ull, 0}
static inline uint64_t mm__rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}
static inline void mm__hash_word(struct mm__hash *h, uint64_t w)
{
	h->a = mm__rotl64((h->a ^ w) * 0x9e3779b97f4a7c15ull, 29);
	h->b = mm__rotl64(h->b + w * 0xc2b2ae3d27d4eb4full, 31) *
	       0x165667b19e3779f9ull;
	h->n++;
}
/* The two final 64-bit values of a hash (both lanes avalanched). */
void mm__hash_final(const struct mm__hash *h, uint64_t out[2]);

/*
 * Every mode hashes what it visits (SAVE and LOAD too: the image's digest
 * and the loaded machine's come from the same walk, for free).
 */
enum mm__vmode { MM__V_HASH, MM__V_SAVE, MM__V_LOAD };
struct mm__vis {
	enum mm__vmode mode;
	struct mm__hash h;          /* every mode */
	uint8_t *out;               /* SAVE: the bytes written (malloc'd) */
	size_t len, cap;
	const uint8_t *p, *end;     /* LOAD: the bytes still to read */
	bool failed, oom;           /* SAVE/LOAD: the first failure, in err */
	char err[160];
};
void mm__vfail(struct mm__vis *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
uint64_t mm__vio_slow(struct mm__vis *v, uint64_t x, unsigned bytes);
/* SAVE writes x as `bytes` little-endian bytes; LOAD returns the next
 * `bytes` (0 once failed); HASH returns x.  No hashing. */
static inline uint64_t mm__vio(struct mm__vis *v, uint64_t x, unsigned bytes)
{
	if (v->mode == MM__V_SAVE && v->cap - v->len >= 8) {
		for (unsigned i = 0; i < bytes; i++)
			v->out[v->len + i] = (uint8_t)(x >> (8 * i));
		v->len += bytes;
		return x;
	}
	if (v->mode == MM__V_LOAD && !v->failed &&
	    (size_t)(v->end - v->p) >= bytes) {
		x = 0;
		for (unsigned i = 0; i < bytes; i++)
			x |= (uint64_t)v->p[i] << (8 * i);
		v->p += bytes;
		return x;
	}
	return v->mode == MM__V_HASH ? x : mm__vio_slow(v, x, bytes);
}
/* An unsigned field of `bytes` bytes: moved as mm__vio, then hashed. */
static inline void mm__vword(struct mm__vis *v, uint64_t *x, unsigned bytes)
{
	*x = mm__vio(v, *x, bytes);
	mm__hash_word(&v->h, *x);
}
/* A value boot derives from the config: LOAD fails when the image's differs. */
void mm__vfixed(struct mm__vis *v, uint64_t now, unsigned bytes,
		const char *what);
void mm__v_bytes(struct mm__vis *v, void *p, size_t n);
/* SAVE: appends n bytes to the image (a header to fill in later). */
int mm__vsave_reserve(struct mm__vis *v, const void *src, size_t n);
/* Any integer, enum or bool lvalue; a LOAD assigns it; the hash sees its
 * value as a 64-bit word (signed ones sign-extended) in every mode. */
#define MM__V(v, lv)                                                       \
	do {                                                               \
		uint64_t mm__t_ = mm__vio((v), (uint64_t)(lv), sizeof(lv)); \
		if ((v)->mode == MM__V_LOAD)                               \
			(lv) = (__typeof__(lv))mm__t_;                     \
		mm__hash_word(&(v)->h, (uint64_t)(lv));                    \
	} while (0)
#define MM__VFIX(v, expr) mm__vfixed((v), (uint64_t)(expr), sizeof(expr), #expr)
/* The visit order of the whole state (see the comment atop state.c). */
void mm__visit_config(struct mm__vis *v, struct mm_config *c);
void mm__visit_state(struct mm__vis *v, struct mm_machine *m);

#endif
