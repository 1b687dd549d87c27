/*
 * test_hardening.c — regressions found by the fuzz drivers and the engine
 * soak (tests/fuzz/, tests/soak/): each test replays the situation that
 * broke an invariant or crashed, and checks the fixed behaviour.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#define PG 4096ull
#define FIX (MM_MAP_PRIVATE | MM_MAP_FIXED | MM_MAP_ANONYMOUS)

/*
 * A fork failing part way through dup_mmap (no memory left for the child's
 * VMAs or page tables) gives back the commit charge of the VMAs it had not
 * copied yet: Committed_AS equals what the VM_ACCOUNT VMAs hold after every
 * failed attempt (the soak found a fork leaving 39 pages charged).
 */
TEST(fork_failure_returns_the_commit_charge)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 8ull << 20);
	struct mm_machine *m = tu_machine(&c);
	struct mm_alloc_result r;
	uint32_t pfns[4096];
	int pid, child, n = 0, failed = 0;
	uint64_t out;

	ASSERT_EQ(mm_spawn(m, "p", 0, &pid), 0);
	/* several accountable VMAs, far apart (each needs its own tables) */
	for (int k = 0; k < 6; k++) {
		uint64_t a = 0x100000000ull + (uint64_t)k * (1ull << 31);
		ASSERT_EQ(mm_mmap(m, pid, a, 4 * PG, MM_PROT_READ | MM_PROT_WRITE,
				  FIX, -1, 0, &out), 0);
		struct mm_touch_result t;
		ASSERT_EQ(mm_touch(m, pid, a, 4 * PG, MM_ACCESS_WRITE, &t), 0);
	}
	int64_t committed = m->committed;
	/* take every frame, then give them back one at a time, forking
	 * each time until a fork succeeds */
	while (n < 4096 && mm_alloc_pages(m, MM_GFP_KERNEL | MM___GFP_HIGH, 0, 0,
					  -1, &r) == 0)
		pfns[n++] = r.pfn;
	ASSERT_GT(n, 0);
	while (mm_fork(m, pid, &child) != 0) {
		failed++;
		ASSERT_EQ(m->committed, committed);
		tu_check(m, "after a failed fork");
		ASSERT_GT(n, 0);
		ASSERT_EQ(mm_free_pages(m, pfns[--n], 0, 0), 0);
	}
	ASSERT_GT(failed, 0);
	tu_check(m, "after the fork");
	ASSERT_EQ(m->committed, 2 * committed);
	mm_machine_destroy(m);
}

/*
 * A split piece of a fork child's VMA keeps the anon_vma chain (Linux's
 * __split_vma clones it): munmap of the head of such a VMA must not leave
 * a piece that could merge with a neighbour without anon_vma, which the
 * chained original could not (the soak found the checker's vma-mergeable
 * rule failing after exactly this munmap).
 */
TEST(split_keeps_the_anon_vma_chain)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	const uint64_t w = 0x100000000ull;
	struct mm_touch_result t;
	int pid, child;
	uint64_t out;

	ASSERT_EQ(mm_spawn(m, "p", 0, &pid), 0);
	ASSERT_EQ(mm_mmap(m, pid, w, 4 * PG, MM_PROT_READ | MM_PROT_WRITE, FIX,
			  -1, 0, &out), 0);
	ASSERT_EQ(mm_touch(m, pid, w, 4 * PG, MM_ACCESS_WRITE, &t), 0);
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	/* the child's neighbour without anon_vma stays apart */
	ASSERT_EQ(mm_mmap(m, child, w + 4 * PG, 4 * PG,
			  MM_PROT_READ | MM_PROT_WRITE, FIX, -1, 0, &out), 0);
	const struct mm_mm *mm = &m->mms[mm_task_get(m, child)->mm];
	ASSERT_EQ(mm->map_count, 2);
	tu_check(m, "after the neighbour");
	ASSERT_EQ(mm_munmap(m, child, w, PG), 0);
	const struct mm_vma *v = mm_find_vma(m, mm, w + PG);
	ASSERT_EQ_HEX(v->start, w + PG);
	ASSERT_EQ(v->anon_chained, 1);
	tu_check(m, "after munmap of the head");
	/* mprotect's splits too */
	ASSERT_EQ(mm_mprotect(m, child, w + 2 * PG, PG, MM_PROT_READ), 0);
	tu_check(m, "after mprotect");
	ASSERT_EQ(mm_find_vma(m, mm, w + 3 * PG)->anon_chained, 1);
	ASSERT_EQ(mm_mprotect(m, child, w + 2 * PG, PG,
			      MM_PROT_READ | MM_PROT_WRITE), 0);
	tu_check(m, "after mprotect back");
	mm_machine_destroy(m);
}
