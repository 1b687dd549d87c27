/*
 * i_mmap.c — the VMAs mapping a page-cache object, as an interval tree
 * (Linux 6.18 mm/interval_tree.c over include/linux/interval_tree_generic.h:
 * address_space->i_mmap, walked by rmap_walk_file()).
 *
 * Every VMA of a regular file (MM_FILE_REG) or of a shmem object (shared
 * anonymous memory) is a node of its object's tree from the moment it is
 * linked until its record is freed; anonymous VMAs, exec images and special
 * mappings are in none.  A node's interval is [vm_pgoff, vm_pgoff + pages - 1]
 * in file pages.  The tree is ordered by vm_pgoff and each node keeps
 * shared_last, the largest last page offset of its subtree
 * (rb_subtree_last), so a stabbing query skips every subtree that ends
 * before the page and stops at the first node that starts after it:
 * O(log n + k) for k VMAs mapping the page, where a scan of the VMAs was
 * O(every VMA of the machine).
 *
 * Order among equal vm_pgoff is Linux's, not a key: an insert goes after
 * every node with the same key (the rbtree descends right on equality),
 * insert_after puts a fork child's VMA right after its parent's
 * (vma_interval_tree_insert_after in dup_mmap), and an adjusted VMA leaves
 * and re-enters the tree where __split_vma() and commit_merge() do
 * (vma_prepare()/vma_complete()).  So the walk visits VMAs in the order
 * rmap_walk_file() would, and that order is history rather than a function
 * of the VMA set: the links are machine state, which the state visitor
 * carries (digest and snapshot) instead of rebuilding them on load.
 *
 * Balance: a treap whose priorities are a fixed bijective hash of the VMA
 * id (no RNG draw, no host pointer; unique, so the shape is a function of
 * the in-order sequence).  Rotations keep the in-order sequence; expected
 * depth O(log n).  The links live in the VMA record (Linux's
 * vma->shared.rb): no allocation.
 *
 * Invariants (check.c, "i-mmap"): every page-cache VMA is in its object's
 * tree exactly once and no other VMA is in any; parent links agree; the
 * in-order walk is sorted by vm_pgoff; shared_last is the subtree's
 * maximum; a parent's priority exceeds its children's.
 */
#include "engine/internal.h"

uint32_t mm__i_mmap_prio(uint32_t id)
{
	/* murmur3's fmix32: a bijection of the 32-bit ids */
	id ^= id >> 16;
	id *= 0x85ebca6bu;
	id ^= id >> 13;
	id *= 0xc2b2ae35u;
	return id ^ (id >> 16);
}

uint64_t mm__vma_last_pgoff(const struct mm_vma *v)
{
	return v->pgoff + ((v->end - v->start) >> MM_PAGE_SHIFT) - 1;
}

uint32_t *mm__i_mmap_root(const struct mm_machine *m, uint32_t file)
{
	if (mm__file_is_reg(file)) {
		struct mm_file *f = mm__file(m, file);
		return f ? &f->i_mmap : NULL;
	}
	if (mm__file_is_shmem(file))
		for (uint32_t i = 0; i < m->nr_shmem; i++)
			if (m->shmem[i].file == file)
				return &m->shmem[i].i_mmap;
	return NULL;
}

/* The subtree maximum of id from its own interval and its children's. */
static uint64_t mm__subtree_last(const struct mm_machine *m, uint32_t id)
{
	const struct mm_vma *v = &m->vmas[id];
	uint64_t last = mm__vma_last_pgoff(v);

	if (v->shared_left != MM_NIL)
		last = MM_MAX(last, m->vmas[v->shared_left].shared_last);
	if (v->shared_right != MM_NIL)
		last = MM_MAX(last, m->vmas[v->shared_right].shared_last);
	return last;
}

/* Recomputes shared_last from id up to the root (until one holds). */
static void mm__propagate(struct mm_machine *m, uint32_t id)
{
	while (id != MM_NIL) {
		uint64_t last = mm__subtree_last(m, id);
		if (m->vmas[id].shared_last == last)
			return;
		m->vmas[id].shared_last = last;
		id = m->vmas[id].shared_parent;
	}
}

/* Rotates x above its parent; the in-order sequence is unchanged. */
static void mm__rotate_up(struct mm_machine *m, uint32_t *root, uint32_t x)
{
	struct mm_vma *vx = &m->vmas[x];
	uint32_t p = vx->shared_parent, g = m->vmas[p].shared_parent;
	struct mm_vma *vp = &m->vmas[p];
	uint32_t *inner = vp->shared_left == x ? &vx->shared_right
					       : &vx->shared_left;

	if (vp->shared_left == x)
		vp->shared_left = *inner;
	else
		vp->shared_right = *inner;
	if (*inner != MM_NIL)
		m->vmas[*inner].shared_parent = p;
	*inner = p;
	vp->shared_parent = x;
	vx->shared_parent = g;
	if (g == MM_NIL)
		*root = x;
	else if (m->vmas[g].shared_left == p)
		m->vmas[g].shared_left = x;
	else
		m->vmas[g].shared_right = x;
	vp->shared_last = mm__subtree_last(m, p);
	vx->shared_last = mm__subtree_last(m, x);
}

/* Hangs id below parent (MM_NIL: as the root) on one side, then lifts it
 * while it outranks its parent. */
static void mm__link_leaf(struct mm_machine *m, uint32_t *root, uint32_t id,
			  uint32_t parent, bool left)
{
	struct mm_vma *v = &m->vmas[id];

	v->shared_left = v->shared_right = MM_NIL;
	v->shared_parent = parent;
	v->shared_last = mm__vma_last_pgoff(v);
	if (parent == MM_NIL)
		*root = id;
	else if (left)
		m->vmas[parent].shared_left = id;
	else
		m->vmas[parent].shared_right = id;
	mm__propagate(m, parent);
	while (v->shared_parent != MM_NIL &&
	       mm__i_mmap_prio(id) > mm__i_mmap_prio(v->shared_parent))
		mm__rotate_up(m, root, id);
}

void mm__i_mmap_insert(struct mm_machine *m, uint32_t id)
{
	uint32_t *root = mm__i_mmap_root(m, m->vmas[id].file);

	if (!root)
		return;
	uint32_t parent = MM_NIL, node = *root;
	bool left = false;
	for (uint32_t n = 0; node != MM_NIL && n <= m->nr_vmas; n++) {
		parent = node;
		left = m->vmas[id].pgoff < m->vmas[node].pgoff;
		node = left ? m->vmas[node].shared_left : m->vmas[node].shared_right;
	}
	mm__link_leaf(m, root, id, parent, left);
}

void mm__i_mmap_insert_after(struct mm_machine *m, uint32_t id, uint32_t prev)
{
	uint32_t *root = mm__i_mmap_root(m, m->vmas[id].file);

	if (!root)
		return;
	MM_ASSERT(m->vmas[prev].file == m->vmas[id].file &&
		  m->vmas[prev].pgoff == m->vmas[id].pgoff);
	uint32_t parent = m->vmas[prev].shared_right;
	if (parent == MM_NIL) {
		mm__link_leaf(m, root, id, prev, false);
		return;
	}
	for (uint32_t n = 0; m->vmas[parent].shared_left != MM_NIL &&
			     n <= m->nr_vmas; n++)
		parent = m->vmas[parent].shared_left;
	mm__link_leaf(m, root, id, parent, true);
}

void mm__i_mmap_remove(struct mm_machine *m, uint32_t id)
{
	uint32_t *root = mm__i_mmap_root(m, m->vmas[id].file);
	struct mm_vma *v = &m->vmas[id];

	if (!root)
		return;
	/* Rotate it down below its higher-ranked child until it has one
	 * child at most, then splice it out. */
	while (v->shared_left != MM_NIL && v->shared_right != MM_NIL) {
		uint32_t l = v->shared_left, r = v->shared_right;
		mm__rotate_up(m, root, mm__i_mmap_prio(l) > mm__i_mmap_prio(r) ? l : r);
	}
	uint32_t child = v->shared_left != MM_NIL ? v->shared_left : v->shared_right;
	uint32_t parent = v->shared_parent;
	if (child != MM_NIL)
		m->vmas[child].shared_parent = parent;
	if (parent == MM_NIL)
		*root = child;
	else if (m->vmas[parent].shared_left == id)
		m->vmas[parent].shared_left = child;
	else
		m->vmas[parent].shared_right = child;
	v->shared_left = v->shared_right = v->shared_parent = MM_NIL;
	v->shared_last = 0;
	mm__propagate(m, parent);
}

void mm__vma_prepare(struct mm_machine *m, uint32_t vma, uint32_t adj)
{
	mm__i_mmap_remove(m, vma);
	if (adj != MM_NIL)
		mm__i_mmap_remove(m, adj);
}

void mm__vma_complete(struct mm_machine *m, uint32_t vma, uint32_t adj)
{
	if (adj != MM_NIL)
		mm__i_mmap_insert(m, adj);
	mm__i_mmap_insert(m, vma);
}

/* ---- the stabbing query (interval_tree_generic.h's iter_first/next) ---- */

/* The leftmost node of the subtree of id meeting [first, last], given
 * that some node of it ends at or after first. */
static uint32_t mm__subtree_search(const struct mm_machine *m, uint32_t id,
				   uint64_t first, uint64_t last)
{
	for (uint32_t n = 0; n <= m->nr_vmas; n++) {
		const struct mm_vma *v = &m->vmas[id];
		if (v->shared_left != MM_NIL &&
		    first <= m->vmas[v->shared_left].shared_last) {
			id = v->shared_left;
			continue;
		}
		if (v->pgoff > last)
			return MM_NIL;
		if (first <= mm__vma_last_pgoff(v))
			return id;
		if (v->shared_right == MM_NIL ||
		    first > m->vmas[v->shared_right].shared_last)
			return MM_NIL;
		id = v->shared_right;
	}
	return MM_NIL;
}

uint32_t mm__i_mmap_first(const struct mm_machine *m, uint32_t root,
			  uint64_t first, uint64_t last)
{
	if (root == MM_NIL || m->vmas[root].shared_last < first)
		return MM_NIL;
	return mm__subtree_search(m, root, first, last);
}

uint32_t mm__i_mmap_next(const struct mm_machine *m, uint32_t id,
			 uint64_t first, uint64_t last)
{
	uint32_t right = m->vmas[id].shared_right;

	for (uint32_t n = 0; n <= m->nr_vmas; n++) {
		if (right != MM_NIL && first <= m->vmas[right].shared_last)
			return mm__subtree_search(m, right, first, last);
		/* up until we come from a left child */
		uint32_t from;
		do {
			from = id;
			id = m->vmas[id].shared_parent;
			if (id == MM_NIL)
				return MM_NIL;
			right = m->vmas[id].shared_right;
		} while (from == right);
		if (last < m->vmas[id].pgoff)
			return MM_NIL;
		if (first <= mm__vma_last_pgoff(&m->vmas[id]))
			return id;
	}
	return MM_NIL;
}
