/*
 * vma.c — the VMAs of an address space: records, the AVL tree keyed by
 * start address (find_vma in O(log n)), the address-ordered list, and the
 * primitives the syscalls are built from: insert, remove, split, and the
 * merge predicates of Linux 6.18 mm/vma.c (is_mergeable_vma,
 * is_mergeable_anon_vma, can_vma_merge_before/after).
 *
 * A page-cache file's VMA is also a node of the file's i_mmap tree
 * (i_mmap.c): a split inserts the new piece and re-inserts the old one,
 * freeing a record removes it.
 *
 * Invariants (checked by check.c): VMAs of an mm are page aligned,
 * non-empty, sorted and disjoint; the list and an in-order walk of the tree
 * agree; every node's height is 1 + the taller child and the children
 * differ by at most one.  Each VMA holds one object of the vm_area_struct
 * slab cache, so VMAs cost real simulated memory.
 */
#include "engine/internal.h"

#include <stdlib.h>

struct mm_vma *mm__vma(const struct mm_machine *m, uint32_t id)
{
	return id == MM_NIL ? NULL : &m->vmas[id];
}

uint32_t mm__vma_id(const struct mm_machine *m, const struct mm_vma *v)
{
	return (uint32_t)(v - m->vmas);
}

/* ---- records -------------------------------------------------------- */

/* A new VMA record with its vm_area_struct object; MM_NIL when out of
 * memory.  The caller fills and inserts it. */
uint32_t mm__vma_alloc(struct mm_machine *m, struct mm_mm *mm, int cpu)
{
	uint64_t obj;

	if (mm_kmem_cache_alloc(m, m->engine_caches[MM_CACHE_VM_AREA_STRUCT],
				MM_GFP_KERNEL, cpu, &obj))
		return MM_NIL;
	uint32_t id;
	if (m->free_vmas != MM_NIL) {
		id = m->free_vmas;
		m->free_vmas = m->vmas[id].next;
	} else {
		if (mm__grow((void **)&m->vmas, &m->cap_vmas, m->nr_vmas,
			     sizeof(*m->vmas))) {
			mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_VM_AREA_STRUCT],
					   obj, cpu);
			return MM_NIL;
		}
		id = m->nr_vmas++;
	}
	struct mm_vma *v = &m->vmas[id];
	memset(v, 0, sizeof(*v));
	v->mm = mm->id;
	v->left = v->right = v->prev = v->next = MM_NIL;
	v->shared_left = v->shared_right = v->shared_parent = MM_NIL;
	v->height = 1;
	v->slab_addr = obj;
	return id;
}

void mm__vma_free(struct mm_machine *m, uint32_t id, int cpu)
{
	struct mm_vma *v = &m->vmas[id];
	uint32_t file = v->file;

	mm__i_mmap_remove(m, id); /* __remove_shared_vm_struct() */
	mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_VM_AREA_STRUCT],
			   v->slab_addr, cpu);
	memset(v, 0, sizeof(*v));
	v->next = m->free_vmas;
	m->free_vmas = id;
	if (mm__file_is_shmem(file))
		mm__shmem_put(m, file, cpu);
	else if (mm__file_is_reg(file))
		mm__file_put(m, file, cpu);
}

/* ---- AVL tree by start ---------------------------------------------- */

static int32_t mm__h(const struct mm_machine *m, uint32_t id)
{
	return id == MM_NIL ? 0 : m->vmas[id].height;
}

static void mm__fix_height(struct mm_machine *m, uint32_t id)
{
	struct mm_vma *v = &m->vmas[id];
	v->height = 1 + MM_MAX(mm__h(m, v->left), mm__h(m, v->right));
}

static uint32_t mm__rotate_right(struct mm_machine *m, uint32_t id)
{
	uint32_t l = m->vmas[id].left;

	m->vmas[id].left = m->vmas[l].right;
	m->vmas[l].right = id;
	mm__fix_height(m, id);
	mm__fix_height(m, l);
	return l;
}

static uint32_t mm__rotate_left(struct mm_machine *m, uint32_t id)
{
	uint32_t r = m->vmas[id].right;

	m->vmas[id].right = m->vmas[r].left;
	m->vmas[r].left = id;
	mm__fix_height(m, id);
	mm__fix_height(m, r);
	return r;
}

static uint32_t mm__balance(struct mm_machine *m, uint32_t id)
{
	struct mm_vma *v = &m->vmas[id];

	mm__fix_height(m, id);
	int32_t bf = mm__h(m, v->left) - mm__h(m, v->right);
	if (bf > 1) {
		if (mm__h(m, m->vmas[v->left].left) < mm__h(m, m->vmas[v->left].right))
			v->left = mm__rotate_left(m, v->left);
		return mm__rotate_right(m, id);
	}
	if (bf < -1) {
		if (mm__h(m, m->vmas[v->right].right) < mm__h(m, m->vmas[v->right].left))
			v->right = mm__rotate_right(m, v->right);
		return mm__rotate_left(m, id);
	}
	return id;
}

static uint32_t mm__avl_insert(struct mm_machine *m, uint32_t root, uint32_t id)
{
	if (root == MM_NIL)
		return id;
	if (m->vmas[id].start < m->vmas[root].start)
		m->vmas[root].left = mm__avl_insert(m, m->vmas[root].left, id);
	else
		m->vmas[root].right = mm__avl_insert(m, m->vmas[root].right, id);
	return mm__balance(m, root);
}

static uint32_t mm__avl_remove_min(struct mm_machine *m, uint32_t root,
				   uint32_t *min)
{
	if (m->vmas[root].left == MM_NIL) {
		*min = root;
		return m->vmas[root].right;
	}
	m->vmas[root].left = mm__avl_remove_min(m, m->vmas[root].left, min);
	return mm__balance(m, root);
}

static uint32_t mm__avl_remove(struct mm_machine *m, uint32_t root, uint32_t id)
{
	MM_ASSERT(root != MM_NIL);
	if (root == id) {
		uint32_t l = m->vmas[id].left, r = m->vmas[id].right, min;
		if (r == MM_NIL)
			return l;
		r = mm__avl_remove_min(m, r, &min);
		m->vmas[min].left = l;
		m->vmas[min].right = r;
		return mm__balance(m, min);
	}
	if (m->vmas[id].start < m->vmas[root].start)
		m->vmas[root].left = mm__avl_remove(m, m->vmas[root].left, id);
	else
		m->vmas[root].right = mm__avl_remove(m, m->vmas[root].right, id);
	return mm__balance(m, root);
}

/* find_vma(): the first VMA with end > addr. */
uint32_t mm__find_vma(const struct mm_machine *m, const struct mm_mm *mm,
		      uint64_t addr)
{
	uint32_t node = mm->root, best = MM_NIL;

	while (node != MM_NIL) {
		const struct mm_vma *v = &m->vmas[node];
		if (v->end > addr) {
			best = node;
			node = v->left;
		} else {
			node = v->right;
		}
	}
	return best;
}

/* The last VMA with start < addr (the one before a new VMA at addr). */
uint32_t mm__find_vma_before(const struct mm_machine *m, const struct mm_mm *mm,
			     uint64_t addr)
{
	uint32_t node = mm->root, best = MM_NIL;

	while (node != MM_NIL) {
		const struct mm_vma *v = &m->vmas[node];
		if (v->start < addr) {
			best = node;
			node = v->right;
		} else {
			node = v->left;
		}
	}
	return best;
}

const struct mm_vma *mm_find_vma(const struct mm_machine *m,
				 const struct mm_mm *mm, uint64_t addr)
{
	return mm__vma(m, mm__find_vma(m, mm, addr));
}

const struct mm_vma *mm_vma_next(const struct mm_machine *m,
				 const struct mm_vma *v)
{
	return mm__vma(m, v->next);
}

/* Links a filled-in VMA into its mm (tree, list, map_count). */
void mm__vma_link(struct mm_machine *m, struct mm_mm *mm, uint32_t id)
{
	struct mm_vma *v = &m->vmas[id];
	uint32_t prev = mm__find_vma_before(m, mm, v->start);

	v->prev = prev;
	v->next = prev == MM_NIL ? mm->first : m->vmas[prev].next;
	if (prev == MM_NIL)
		mm->first = id;
	else
		m->vmas[prev].next = id;
	if (v->next == MM_NIL)
		mm->last = id;
	else
		m->vmas[v->next].prev = id;
	v->left = v->right = MM_NIL;
	v->height = 1;
	mm->root = mm__avl_insert(m, mm->root, id);
	mm->map_count++;
}

void mm__vma_unlink(struct mm_machine *m, struct mm_mm *mm, uint32_t id)
{
	struct mm_vma *v = &m->vmas[id];

	mm->root = mm__avl_remove(m, mm->root, id);
	if (v->prev == MM_NIL)
		mm->first = v->next;
	else
		m->vmas[v->prev].next = v->next;
	if (v->next == MM_NIL)
		mm->last = v->prev;
	else
		m->vmas[v->next].prev = v->prev;
	v->prev = v->next = MM_NIL;
	mm->map_count--;
}

/*
 * __split_vma(): cuts v at addr (strictly inside); the new VMA takes the
 * part below addr when new_below, else the part above.  Like vm_area_dup()
 * and anon_vma_clone(), the new VMA keeps everything v has: flags, file,
 * anon_vma and its chain (a fork child's piece still refuses merges with
 * VMAs without anon_vma), and whether Linux kept it apart.  Returns the
 * new VMA's id or MM_NIL (-ENOMEM) when no vm_area_struct can be had.
 */
uint32_t mm__vma_split(struct mm_machine *m, struct mm_mm *mm, uint32_t id,
		       uint64_t addr, bool new_below, int cpu)
{
	uint32_t nid = mm__vma_alloc(m, mm, cpu);

	if (nid == MM_NIL)
		return MM_NIL;
	struct mm_vma *v = &m->vmas[id], *n = &m->vmas[nid];
	MM_ASSERT(addr > v->start && addr < v->end);
	n->flags = v->flags;
	n->file = v->file;
	n->anon_vma = v->anon_vma;
	n->anon_chained = v->anon_chained; /* anon_vma_clone(): the whole chain */
	n->unmerged = v->unmerged;
	n->start = new_below ? v->start : addr;
	n->end = new_below ? addr : v->end;
	n->pgoff = v->pgoff + ((n->start - v->start) >> MM_PAGE_SHIFT);
	/* vma_prepare(): the new piece joins the file's i_mmap first, then
	 * v leaves it while its range changes and comes back after. */
	mm__i_mmap_insert(m, nid);
	mm__vma_prepare(m, id, MM_NIL);
	if (new_below) {
		v->pgoff += (addr - v->start) >> MM_PAGE_SHIFT;
		v->start = addr;
	} else {
		v->end = addr;
	}
	mm__vma_complete(m, id, MM_NIL);
	mm__vma_link(m, mm, nid);
	return nid;
}

/* ---- merge predicates (mm/vma.c) -------------------------------------- */

/* is_mergeable_vma(): same flags (soft-dirty aside) and same file. */
bool mm__vma_flags_mergeable(const struct mm_vma *v, uint64_t flags,
			     uint32_t file)
{
	return !((v->flags ^ flags) & ~MM_VM_SOFTDIRTY) && v->file == file &&
	       !(flags & MM_VM_SPECIAL);
}

/* is_mergeable_anon_vma(): one side has none, or they share one.  The
 * "uncowed parents" refinement (a target with an anon_vma chain longer
 * than one, i.e. a fork child's, takes no VMA without anon_vma) is in the
 * can_merge predicates, which see the target VMA. */
bool mm__anon_vma_compatible(uint32_t a, uint32_t b)
{
	return !a || !b || a == b;
}

/* Could [start, end) with (flags, file, anon_vma, pgoff) extend prev? */
bool mm__can_merge_after(const struct mm_vma *prev, uint64_t start,
			 uint64_t flags, uint32_t file, uint32_t anon_vma,
			 uint64_t pgoff)
{
	return prev && prev->end == start &&
	       mm__vma_flags_mergeable(prev, flags, file) &&
	       mm__anon_vma_compatible(prev->anon_vma, anon_vma) &&
	       !(prev->anon_chained && !anon_vma) &&
	       prev->pgoff + ((prev->end - prev->start) >> MM_PAGE_SHIFT) == pgoff;
}

/* Could [start, end) with (flags, file, anon_vma, pgoff) extend next down? */
bool mm__can_merge_before(const struct mm_vma *next, uint64_t end,
			  uint64_t flags, uint32_t file, uint32_t anon_vma,
			  uint64_t pgoff, uint64_t pages)
{
	return next && next->start == end &&
	       mm__vma_flags_mergeable(next, flags, file) &&
	       mm__anon_vma_compatible(next->anon_vma, anon_vma) &&
	       !(next->anon_chained && !anon_vma) &&
	       next->pgoff == pgoff + pages;
}
