/*
 * test_rmap.c — the i_mmap interval tree (engine/i_mmap.c) and the file
 * reverse map built on it (engine/rmap.c).
 *
 * What the tests prove:
 *   - the tree against a list model: random inserts (after every node of
 *     the same vm_pgoff), inserts right after a given node (fork) and
 *     removals keep the in-order sequence equal to the model's, every
 *     stabbing query [first, last] returns exactly the model's VMAs
 *     meeting it, in order, and the checker's i-mmap invariant holds;
 *   - the walk visits VMAs in Linux's order, not VMA-record order: a
 *     parent's VMA, then its latest fork child's, then the earlier one's;
 *     a VMA re-inserted by a split goes after the others of its offset;
 *     a snapshot restores that order (the tree is carried, not rebuilt);
 *   - the tree is digested state, and each part of the i-mmap invariant
 *     is detected (a wrong subtree
 *     maximum, a VMA missing from its tree, an out-of-order tree, a VMA of
 *     another file in a tree, a wrong parent link) and the checker is
 *     clean again once the field is restored;
 *   - a differential run: random mmap (private and shared file mappings at
 *     random offsets, shared anonymous memory), munmap, mprotect, madvise
 *     (splits and merges), fork, exit, touches and MADV_PAGEOUT on four
 *     processes; after every step the walk of every mapped page-cache
 *     frame finds exactly the PTEs a brute-force scan of all VMAs finds,
 *     and the checker is clean.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdlib.h>
#include <string.h>

#define PG 4096ull
#define W 0x100000000ull
#define RW (MM_PROT_READ | MM_PROT_WRITE)

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int mkfile(struct mm_machine *m, const char *name, uint64_t pages)
{
	int id;
	ASSERT_EQ(mm_file_create(m, name, pages * PG, NULL, 0, &id), 0);
	return id;
}

/* Fails unless the checker reports nothing under invariant inv (others,
 * of a state only the tree test builds, are ignored). */
static void check_only(const struct mm_machine *m, const char *inv)
{
	struct mm_violation v[16];
	int n = mm_check(m, v, 16);
	for (int i = 0; i < n && i < 16; i++)
		if (!strcmp(v[i].invariant, inv))
			th_fail(__FILE__, __LINE__, "%s: %s", v[i].invariant,
				v[i].detail);
}

static bool names(const struct mm_machine *m, const char *inv)
{
	struct mm_violation v[32];
	int n = mm_check(m, v, 32);
	for (int i = 0; i < n && i < 32; i++)
		if (!strcmp(v[i].invariant, inv))
			return true;
	return false;
}

/* ---- the tree against a list model ------------------------------------- */

#define TMAX 300

static void tree_run(uint64_t seed)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	int pid, fid = mkfile(m, "f", 16);
	uint32_t handle = MM_FILE_REG | (uint32_t)fid, model[TMAX];
	int n = 0;
	uint64_t s = seed;

	ASSERT_EQ(mm_spawn(m, "t", 0, &pid), 0);
	struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));
	const uint32_t *root = mm__i_mmap_root(m, handle);
	ASSERT(root != NULL && *root == MM_NIL);
	for (int step = 0; step < 1500; step++) {
		int op = (int)(rnd(&s) % 8);
		if (n && (op < 3 || n == TMAX)) { /* remove */
			int k = (int)(rnd(&s) % (uint64_t)n);
			mm__vma_free(m, model[k], 0);
			memmove(model + k, model + k + 1, (size_t)(n - k - 1) * 4);
			n--;
		} else {
			uint32_t id = mm__vma_alloc(m, mm, 0);
			ASSERT(id != MM_NIL);
			struct mm_vma *v = &m->vmas[id];
			v->file = handle;
			v->start = W + (uint64_t)id * (64 * PG);
			v->end = v->start + (rnd(&s) % 40 + 1) * PG;
			int at;
			if (n && op == 3) { /* insert_after a random node */
				int k = (int)(rnd(&s) % (uint64_t)n);
				v->pgoff = m->vmas[model[k]].pgoff;
				mm__i_mmap_insert_after(m, id, model[k]);
				at = k + 1;
			} else { /* after every node of its offset */
				v->pgoff = rnd(&s) % 64;
				mm__i_mmap_insert(m, id);
				for (at = n; at > 0 && m->vmas[model[at - 1]].pgoff > v->pgoff;)
					at--;
			}
			memmove(model + at + 1, model + at, (size_t)(n - at) * 4);
			model[at] = id;
			n++;
		}
		/* the whole sequence, then a random stabbing query */
		int k = 0;
		for (uint32_t id = mm__i_mmap_first(m, *root, 0, UINT64_MAX);
		     id != MM_NIL; id = mm__i_mmap_next(m, id, 0, UINT64_MAX))
			ASSERT_EQ(id, model[k++]);
		ASSERT_EQ(k, n);
		uint64_t first = rnd(&s) % 110, last = first + rnd(&s) % 8;
		uint32_t id = mm__i_mmap_first(m, *root, first, last);
		for (k = 0; k < n; k++) {
			const struct mm_vma *v = &m->vmas[model[k]];
			if (v->pgoff > last || mm__vma_last_pgoff(v) < first)
				continue;
			ASSERT_EQ(id, model[k]);
			id = mm__i_mmap_next(m, id, first, last);
		}
		ASSERT_EQ(id, MM_NIL);
		if (step % 16 == 0)
			check_only(m, "i-mmap");
	}
	while (n)
		mm__vma_free(m, model[--n], 0);
	ASSERT_EQ(*root, MM_NIL);
	tu_check(m, "tree emptied");
	mm_machine_destroy(m);
}

TEST(i_mmap_tree_against_list_model)
{
	for (uint64_t seed = 1; seed <= 6; seed++)
		tree_run(seed * 0x9e3779b97f4a7c15ull);
}

/* ---- Linux's order ----------------------------------------------------- */

static uint32_t pfn_at(const struct mm_machine *m, int pid, uint64_t va)
{
	struct mm_translation t;
	ASSERT_EQ(mm_pagetable_walk(m, pid, va, &t), 0);
	return t.pfn;
}

TEST(i_mmap_walk_order_is_linux)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	int f = mkfile(m, "f", 8), a, b1, b2;
	struct mm_rmap_entry e[4];
	struct mm_touch_result r;
	uint64_t out;

	ASSERT_EQ(mm_spawn(m, "a", 0, &a), 0);
	ASSERT_EQ(mm_mmap(m, a, W, 8 * PG, MM_PROT_READ, MM_MAP_SHARED |
			  MM_MAP_FIXED, f, 0, &out), 0);
	ASSERT_EQ(mm_fork(m, a, &b1), 0);
	ASSERT_EQ(mm_fork(m, a, &b2), 0);
	for (int pid = a; pid; pid = pid == a ? b1 : pid == b1 ? b2 : 0)
		ASSERT_EQ(mm_touch(m, pid, W, PG, MM_ACCESS_READ, &r), 0);
	tu_check(m, "forks");
	/* dup_mmap() puts each child's VMA right after the parent's: the
	 * latest child comes before the earlier one */
	uint32_t pfn = pfn_at(m, a, W);
	ASSERT_EQ(mm_rmap_walk(m, pfn, e, 4), 3);
	ASSERT_EQ(e[0].pid, a);
	ASSERT_EQ(e[1].pid, b2);
	ASSERT_EQ(e[2].pid, b1);
	/* __split_vma(): the piece above goes in, then a's VMA leaves and
	 * comes back after every VMA of its offset */
	ASSERT_EQ(mm_mprotect(m, a, W + 4 * PG, 4 * PG, MM_PROT_NONE), 0);
	ASSERT_EQ(mm_rmap_walk(m, pfn, e, 4), 3);
	ASSERT_EQ(e[0].pid, b2);
	ASSERT_EQ(e[1].pid, b1);
	ASSERT_EQ(e[2].pid, a);
	tu_check(m, "split");
	/* that order is history: a snapshot carries the tree as it is */
	struct mm_bytes img = {0};
	struct mm_machine *re = NULL;
	char err[160];
	ASSERT_EQ(mm_snapshot_save(m, &img), 0);
	ASSERT_EQ(mm_snapshot_load(img.p, img.len, &re, err, sizeof(err)), 0);
	ASSERT_EQ(mm_rmap_walk(re, pfn, e, 4), 3);
	ASSERT_EQ(e[0].pid, b2);
	ASSERT_EQ(e[1].pid, b1);
	ASSERT_EQ(e[2].pid, a);
	tu_check(re, "restored");
	free(img.p);
	mm_machine_destroy(re);
	mm_machine_destroy(m);
}

/* ---- the checker's i-mmap invariant ------------------------------------ */

#define CORRUPT(m, field, bad)                                          \
	do {                                                            \
		__typeof__(field) keep_ = (field);                      \
		(field) = (bad);                                        \
		ASSERT(names((m), "i-mmap"));                           \
		(field) = keep_;                                        \
		tu_check((m), "restored");                              \
	} while (0)

TEST(i_mmap_check_corruptions)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	int f = mkfile(m, "f", 64), g = mkfile(m, "g", 4), a, b;
	uint64_t out;

	ASSERT_EQ(mm_spawn(m, "a", 0, &a), 0);
	/* distinct offsets, alternating protections: no merges */
	for (int i = 0; i < 12; i++)
		ASSERT_EQ(mm_mmap(m, a, W + (uint64_t)i * 4 * PG, 4 * PG,
				  i % 2 ? MM_PROT_READ : RW, MM_MAP_SHARED |
				  MM_MAP_FIXED, f, (uint64_t)(11 - i) * 4 * PG,
				  &out), 0);
	ASSERT_EQ(mm_mmap(m, a, W + 0x100000, 4 * PG, RW, MM_MAP_SHARED |
			  MM_MAP_FIXED, g, 0, &out), 0);
	ASSERT_EQ(mm_fork(m, a, &b), 0);
	tu_check(m, "layout");
	uint32_t root = m->files[f].i_mmap;
	struct mm_vma *r = &m->vmas[root];
	ASSERT(r->shared_left != MM_NIL || r->shared_right != MM_NIL);

	/* the links and maxima are state: the digest follows them */
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(m, d0);
	r->shared_last++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	r->shared_last--;
	CORRUPT(m, r->shared_last, r->shared_last + 1);
	/* a VMA missing from its tree */
	uint32_t leaf = root;
	while (m->vmas[leaf].shared_left != MM_NIL)
		leaf = m->vmas[leaf].shared_left;
	if (m->vmas[leaf].shared_right == MM_NIL) {
		uint32_t p = m->vmas[leaf].shared_parent;
		CORRUPT(m, m->vmas[p].shared_left, MM_NIL);
	}
	/* out of order: a node's children swapped */
	uint32_t two = root;
	while (m->vmas[two].shared_left == MM_NIL ||
	       m->vmas[two].shared_right == MM_NIL)
		two = m->vmas[two].shared_left != MM_NIL ? m->vmas[two].shared_left
							 : m->vmas[two].shared_right;
	struct mm_vma *t = &m->vmas[two];
	uint32_t l = t->shared_left;
	t->shared_left = t->shared_right;
	t->shared_right = l;
	ASSERT(names(m, "i-mmap"));
	t->shared_right = t->shared_left;
	t->shared_left = l;
	tu_check(m, "children restored");
	/* a VMA of another file in f's tree (and missing from g's) */
	CORRUPT(m, m->vmas[leaf].file, MM_FILE_REG | (uint32_t)g);
	/* a wrong parent link */
	CORRUPT(m, m->vmas[leaf].shared_parent, root == leaf ? 0 : root);
	/* an anonymous VMA in no tree may not carry links */
	uint64_t anon;
	ASSERT_EQ(mm_mmap(m, a, W + 0x200000, PG, RW, MM_MAP_PRIVATE |
			  MM_MAP_ANONYMOUS | MM_MAP_FIXED, -1, 0, &anon), 0);
	uint32_t av = mm__find_vma(m, mm_task_mm(m, mm_task_get(m, a)), anon);
	CORRUPT(m, m->vmas[av].shared_parent, root);
	mm_machine_destroy(m);
}

/* ---- the walk against a brute-force scan -------------------------------- */

#define NP 4
#define SPAN (256 * PG)     /* each process's window */

struct hit {
	uint32_t mm;
	uint64_t va;
};

static int cmp_hit(const void *x, const void *y)
{
	const struct hit *a = x, *b = y;
	if (a->mm != b->mm)
		return a->mm < b->mm ? -1 : 1;
	return a->va < b->va ? -1 : a->va > b->va;
}

/* Every PTE mapping pfn, found by scanning every VMA of the machine. */
static int brute(const struct mm_machine *m, uint32_t pfn, struct hit *out,
		 int max)
{
	const struct mm_page *p = &m->pages[pfn];
	int n = 0;

	for (uint32_t i = 0; i < m->nr_vmas; i++) {
		const struct mm_vma *v = &m->vmas[i];
		if (!v->end || v->file != p->mapping || p->index < v->pgoff ||
		    p->index > mm__vma_last_pgoff(v))
			continue;
		uint64_t va = v->start + ((p->index - v->pgoff) << 12);
		uint64_t *pte = mm__pte_lookup((struct mm_machine *)m,
					       &m->mms[v->mm], va);
		if (pte && (*pte & (MM_PTE_PRESENT | MM_PTE_PROTNONE)) &&
		    ((*pte & MM_PTE_PFN_MASK) >> 12) == pfn && n < max)
			out[n++] = (struct hit){v->mm, va};
	}
	return n;
}

static void compare_all(const struct mm_machine *m, uint64_t *walks)
{
	struct mm_rmap_entry e[64];
	struct hit want[64], got[64];

	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		if (!p->mapcount || pfn == m->zero_pfn ||
		    !(mm__file_is_reg(p->mapping) || mm__file_is_shmem(p->mapping)))
			continue;
		int n = mm_rmap_walk(m, pfn, e, 64), k = brute(m, pfn, want, 64);
		ASSERT_EQ(n, k);
		ASSERT_EQ(n, p->mapcount);
		for (int i = 0; i < n; i++)
			got[i] = (struct hit){e[i].mm, e[i].vaddr};
		qsort(got, (size_t)n, sizeof(*got), cmp_hit);
		qsort(want, (size_t)k, sizeof(*want), cmp_hit);
		for (int i = 0; i < n; i++) {
			ASSERT_EQ(got[i].mm, want[i].mm);
			ASSERT_EQ_HEX(got[i].va, want[i].va);
		}
		(*walks)++;
	}
}

static void diff_run(uint64_t seed, uint64_t *walks)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 128ull << 20);
	struct mm_machine *m = tu_machine(&c);
	int files[2] = {mkfile(m, "f", 96), mkfile(m, "g", 40)};
	int pids[NP] = {0};
	uint64_t s = seed, out;
	struct mm_touch_result tr;

	for (int step = 0; step < 500; step++) {
		int k = (int)(rnd(&s) % NP), op = (int)(rnd(&s) % 11), live = 0;
		for (int i = 0; i < NP; i++) /* a fatal signal ends a process */
			if (pids[i] && !mm_task_get(m, pids[i]))
				pids[i] = 0;
		for (int i = 0; i < NP; i++)
			live += pids[i] != 0;
		if (!live)
			ASSERT_EQ(mm_spawn(m, "p", 0, &pids[k]), 0);
		if (!pids[k]) { /* a fork of a live process fills the slot */
			int from = (int)(rnd(&s) % NP);
			while (!pids[from])
				from = (from + 1) % NP;
			ASSERT_EQ(mm_fork(m, pids[from], &pids[k]), 0);
			tu_check(m, "fork");
			continue;
		}
		int pid = pids[k];
		uint64_t a = W + (rnd(&s) % 256) * PG;
		uint64_t len = (rnd(&s) % 48 + 1) * PG;
		if (a + len > W + SPAN)
			len = W + SPAN - a;
		int fi = (int)(rnd(&s) % 2);
		uint64_t fpages = fi ? 40 : 96;
		switch (op) {
		case 0: case 1: { /* a file mapping at a random offset */
			uint64_t off = rnd(&s) % fpages;
			int type = rnd(&s) % 2 ? MM_MAP_SHARED : MM_MAP_PRIVATE;
			ASSERT_EQ(mm_mmap(m, pid, a, len, rnd(&s) % 3 ? RW : MM_PROT_READ,
					  type | MM_MAP_FIXED, files[fi], off * PG,
					  &out), 0);
			break;
		}
		case 2: /* shared anonymous memory */
			ASSERT_EQ(mm_mmap(m, pid, a, len, RW, MM_MAP_SHARED |
					  MM_MAP_ANONYMOUS | MM_MAP_FIXED, -1, 0,
					  &out), 0);
			break;
		case 3:
			ASSERT_EQ(mm_munmap(m, pid, a, len), 0);
			break;
		case 4: /* splits, and merges back */
			mm_mprotect(m, pid, a, len, (int)(rnd(&s) % 2) ? RW : MM_PROT_READ);
			break;
		case 5:
			mm_madvise(m, pid, a, len, rnd(&s) % 2 ? MM_MADV_RANDOM
							      : MM_MADV_NORMAL);
			break;
		case 6: case 7: case 8: /* faults map cache pages (or copy) */
			mm_touch(m, pid, a, len, rnd(&s) % 3 ? MM_ACCESS_READ
							     : MM_ACCESS_WRITE, &tr);
			break;
		case 9: /* try_to_unmap through the walk */
			mm_madvise(m, pid, a, len, MM_MADV_PAGEOUT);
			break;
		case 10:
			ASSERT_EQ(mm_exit(m, pid, 0), 0);
			pids[k] = 0;
			break;
		}
		tu_check(m, "step");
		compare_all(m, walks);
	}
	mm_machine_destroy(m);
}

TEST(rmap_file_walk_equals_brute_force)
{
	uint64_t walks = 0;

	for (uint64_t seed = 1; seed <= 8; seed++)
		diff_run(seed * 0xd1342543de82ef95ull, &walks);
	/* the runs did map pages to compare */
	ASSERT_GT(walks, 10000);
}

/* An anonymous page's index keeps 32 bits: in a VMA of more than 2^32
 * pages (a brk heap grown past 16 TiB) the walk tries each candidate
 * offset (the soak once found such a page unreachable). */
TEST(rmap_anon_vma_over_16_tib)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	c.overcommit = MM_OVERCOMMIT_ALWAYS;
	struct mm_machine *m = tu_machine(&c);
	int pid = 0;
	uint64_t brk, top = 0x7ffff0000000ull;
	struct mm_touch_result r;
	struct mm_rmap_entry e[2];

	ASSERT_EQ(mm_spawn(m, "t", -1, &pid), 0);
	ASSERT_EQ(mm_brk(m, pid, top, &brk), 0);
	ASSERT_EQ_HEX(brk, top);
	ASSERT_EQ(mm_touch(m, pid, top - 4096, 1, MM_ACCESS_WRITE, &r), 0);
	struct mm_translation t;
	ASSERT_EQ(mm_pagetable_walk(m, pid, top - 4096, &t), 0);
	ASSERT_EQ(mm_rmap_walk(m, t.pfn, e, 2), 1);
	ASSERT_EQ_HEX(e[0].vaddr, top - 4096);
	tu_check(m, "16 TiB heap");
	mm_machine_destroy(m);
}
