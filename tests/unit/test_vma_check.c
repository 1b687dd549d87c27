/*
 * test_vma_check.c — one corruption test per address-space invariant of
 * the checker (vma-order, vma-tree, vma-mergeable, vma-counts,
 * task-objects): a clean process layout, one field broken, the checker
 * must name the invariant, and restoring the field makes it clean again.
 */
#include "tests/unit/util.h"

static int names(const struct mm_machine *m, const char *inv)
{
	struct mm_violation v[64];
	int n = mm_check(m, v, 64);
	for (int i = 0; i < n && i < 64; i++)
		if (strcmp(v[i].invariant, inv) == 0)
			return 1;
	return 0;
}

/* A process with 40 VMAs (alternating protections, so none merge). */
static struct mm_machine *layout(int *pid)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	uint64_t a;

	ASSERT_EQ(mm_spawn(m, "p", 0, pid), 0);
	for (int i = 0; i < 40; i++)
		ASSERT_EQ(mm_mmap(m, *pid, 0x100000000ull + (uint64_t)i * 0x2000, 0x2000,
				  i % 2 ? MM_PROT_READ : MM_PROT_READ | MM_PROT_WRITE,
				  MM_MAP_PRIVATE | MM_MAP_ANONYMOUS | MM_MAP_FIXED,
				  -1, 0, &a), 0);
	tu_check(m, "after the layout");
	return m;
}

static struct mm_vma *nth(struct mm_machine *m, int pid, int n)
{
	struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));
	uint32_t id = mm->first;
	while (n-- > 0)
		id = m->vmas[id].next;
	return &m->vmas[id];
}

TEST(vma_check_order)
{
	int pid;
	struct mm_machine *m = layout(&pid);
	struct mm_vma *v = nth(m, pid, 5);
	uint64_t end = v->end;

	v->end += 0x1000; /* overlaps its neighbour */
	ASSERT(names(m, "vma-order"));
	v->end = end;
	v->start += 1;    /* misaligned */
	ASSERT(names(m, "vma-order"));
	v->start -= 1;
	uint32_t prev = v->prev;
	v->prev = MM_NIL; /* list link disagrees */
	ASSERT(names(m, "vma-order"));
	v->prev = prev;
	tu_check(m, "restored");
	mm_machine_destroy(m);
}

TEST(vma_check_tree)
{
	int pid;
	struct mm_machine *m = layout(&pid);
	struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));
	struct mm_vma *root = &m->vmas[mm->root];
	int32_t h = root->height;

	root->height = h + 1;
	ASSERT(names(m, "vma-tree"));
	root->height = h;
	/* Unbalance: detach the root's left subtree and hang it deeper. */
	uint32_t l = root->left;
	root->left = MM_NIL;
	ASSERT(names(m, "vma-tree") || names(m, "vma-order"));
	root->left = l;
	tu_check(m, "restored");
	mm_machine_destroy(m);
}

TEST(vma_check_mergeable)
{
	int pid;
	struct mm_machine *m = layout(&pid);
	struct mm_vma *a = nth(m, pid, 2), *b = nth(m, pid, 3);
	uint64_t flags = b->flags;

	/* b takes a's flags: two adjacent, contiguous, equal VMAs. */
	b->flags = a->flags;
	ASSERT(names(m, "vma-mergeable"));
	b->flags = flags;
	tu_check(m, "restored");
	mm_machine_destroy(m);
}

TEST(vma_check_counts)
{
	int pid;
	struct mm_machine *m = layout(&pid);
	struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));

	mm->map_count++;
	ASSERT(names(m, "vma-counts"));
	mm->map_count--;
	mm->total_vm++;
	ASSERT(names(m, "vma-counts"));
	mm->total_vm--;
	m->committed++;
	ASSERT(names(m, "vma-counts"));
	m->committed--;
	tu_check(m, "restored");
	mm_machine_destroy(m);
}

TEST(vma_check_task_objects)
{
	int pid;
	struct mm_machine *m = layout(&pid);
	struct mm_task *t = mm_task_get(m, pid);
	uint64_t obj = t->slab_addr;

	t->slab_addr += 8; /* not the start of a task_struct */
	ASSERT(names(m, "task-objects"));
	t->slab_addr = obj;
	struct mm_vma *v = nth(m, pid, 7);
	obj = v->slab_addr;
	v->slab_addr = mm_task_mm(m, t)->slab_addr; /* an mm_struct, not a VMA's */
	ASSERT(names(m, "task-objects"));
	v->slab_addr = obj;
	tu_check(m, "restored");
	mm_machine_destroy(m);
}
