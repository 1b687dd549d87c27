/*
 * test_fault.c — demand paging of anonymous memory, one fault path at a
 * time (engine/fault.c): the per-mm pgd, read faults on the zero page,
 * write faults allocating zeroed pages, COW of the zero page, SIGSEGV
 * (MAPERR, ACCERR, PROT_NONE) killing the process, stack growth within the
 * rlimit, fork's COW copy with wp-reuse, DONTNEED/munmap/exit freeing pages
 * and tables, mprotect rewriting PTEs, populate, and the smaps/status
 * numbers read from the PTEs.  The invariant checker runs after each step.
 *
 * x86_64, 256 MiB, zero_page on unless a test says otherwise; W is a quiet
 * window for MAP_FIXED mappings.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdlib.h>
#include <string.h>

#define PG 4096ull
#define W 0x100000000ull
#define RW (MM_PROT_READ | MM_PROT_WRITE)
#define RO MM_PROT_READ
#define FIX (MM_MAP_PRIVATE | MM_MAP_FIXED | MM_MAP_ANONYMOUS)

static struct mm_machine *mk(bool zero_page)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
	c.zero_page = zero_page;
	return tu_machine(&c);
}

static int spawn(struct mm_machine *m)
{
	int pid = 0;
	ASSERT_EQ(mm_spawn(m, "t", -1, &pid), 0);
	return pid;
}

static void map(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
		int prot, int flags)
{
	uint64_t out;
	ASSERT_EQ(mm_mmap(m, pid, addr, len, prot, flags, -1, 0, &out), 0);
	ASSERT_EQ_HEX(out, addr);
}

static int64_t pt_pages(const struct mm_machine *m)
{
	int64_t n = 0;
	for (int i = 0; i < m->nr_nodes; i++)
		n += m->nodes[i].vm_stat[MM_NR_PAGE_TABLE_PAGES];
	return n;
}

static int64_t anon_pages(const struct mm_machine *m)
{
	int64_t n = 0;
	for (int i = 0; i < m->nr_nodes; i++)
		n += m->nodes[i].vm_stat[MM_NR_ANON_PAGES];
	return n;
}

static void settle(struct mm_machine *m)
{
	mm_drain_all_pages(m);
	for (int i = 0; i < MM_SLAB_MAX_CACHES; i++)
		if (m->caches[i])
			mm_kmem_cache_shrink(m, i);
	mm_drain_all_pages(m);
}

/* A first process builds the kernel page tables of the vmalloc area its
 * kernel stack uses; after it, PageTables moves only with user tables. */
static void warm_up(struct mm_machine *m)
{
	int w = spawn(m);
	ASSERT_EQ(mm_exit(m, w, 0), 0);
}

static const struct mm_mm *mmof(const struct mm_machine *m, int pid)
{
	return mm_task_mm(m, mm_task_get(m, pid));
}

/* The PTE of va in pid's page tables (0 when there is none). */
static uint64_t pte_of(const struct mm_machine *m, int pid, uint64_t va)
{
	struct mm_walk_step steps[MM_MAX_LEVELS];
	int n;
	uint64_t leaf = 0;
	if (mm__pt_lookup(m, mmof(m, pid)->pgd, va, steps, &n, &leaf))
		return 0;
	return leaf;
}

static uint32_t pfn_of(const struct mm_machine *m, int pid, uint64_t va)
{
	return (uint32_t)((pte_of(m, pid, va) & MM_PTE_PFN_MASK) >> 12);
}

static uint64_t smaps_kb(const struct mm_machine *m, int pid, const char *field)
{
	static char buf[1 << 16];
	mm_proc_pid_smaps(m, pid, buf, sizeof(buf));
	const char *p = strstr(buf, field);
	ASSERT(p != NULL);
	return strtoull(p + strlen(field), NULL, 10);
}

static uint64_t status_kb(const struct mm_machine *m, int pid, const char *field)
{
	static char buf[1 << 14];
	mm_proc_pid_status(m, pid, buf, sizeof(buf));
	const char *p = strstr(buf, field);
	ASSERT(p != NULL);
	return strtoull(p + strlen(field), NULL, 10);
}

TEST(fault_pgd_per_mm)
{
	struct mm_machine *m = mk(true);
	warm_up(m);
	int64_t pt0 = pt_pages(m);
	int pid = spawn(m);
	ASSERT_EQ(pt_pages(m) - pt0, 1); /* pgd_alloc */
	ASSERT_NE(mmof(m, pid)->pgd, MM_NIL);
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	ASSERT_EQ(pt_pages(m) - pt0, 2);
	ASSERT_NE(mmof(m, pid)->pgd, mmof(m, child)->pgd);
	tu_check(m, "fork");
	/* A first fault builds PUD, PMD and PTE tables under the pgd. */
	map(m, pid, W, 4 * PG, RW, FIX);
	tu_touch(m, pid, W, PG, MM_ACCESS_WRITE);
	ASSERT_EQ(pt_pages(m) - pt0, 5);
	ASSERT_EQ_U64(status_kb(m, pid, "VmPTE:"), 12);
	/* munmap frees the tables no VMA needs any more. */
	ASSERT_EQ(mm_munmap(m, pid, W, 4 * PG), 0);
	ASSERT_EQ(pt_pages(m) - pt0, 2);
	tu_check(m, "munmap");
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT_EQ(mm_exit(m, child, 0), 0);
	ASSERT_EQ(pt_pages(m), pt0);
	tu_check(m, "exit");
	mm_machine_destroy(m);
}

TEST(fault_read_zero_page_then_cow)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	uint64_t pgfault0 = m->events[MM_PGFAULT];
	map(m, pid, W, 16 * PG, RW, FIX);
	struct mm_touch_result r = tu_touch(m, pid, W, 8 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.pages, 8);
	ASSERT_EQ_U64(r.minor, 8);
	ASSERT_EQ_U64(r.zero, 8);
	ASSERT_EQ_U64(m->events[MM_PGFAULT] - pgfault0, 8);
	ASSERT_EQ(pfn_of(m, pid, W), m->zero_pfn);
	ASSERT(!(pte_of(m, pid, W) & MM_PTE_RW));
	ASSERT_EQ_U64(mmof(m, pid)->rss_anon, 0);
	/* The zero page has no anon_vma: none yet. */
	ASSERT_EQ(mm_find_vma(m, mmof(m, pid), W)->anon_vma, 0);
	/* Present PTEs: no faults. */
	r = tu_touch(m, pid, W, 8 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 0);
	/* Writes COW the zero page; new pages beyond are plain faults. */
	r = tu_touch(m, pid, W, 16 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 16);
	ASSERT_EQ_U64(r.cow, 8);
	ASSERT_EQ_U64(mmof(m, pid)->rss_anon, 16);
	ASSERT_EQ(anon_pages(m), 16);
	ASSERT_EQ(mm_task_get(m, pid)->min_flt, 24);
	uint32_t pfn = pfn_of(m, pid, W);
	ASSERT_NE(pfn, m->zero_pfn);
	ASSERT_EQ(m->pages[pfn].mapcount, 1);
	ASSERT_EQ(m->pages[pfn].refcount, 1);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_anon_exclusive));
	ASSERT(pte_of(m, pid, W) & MM_PTE_RW);
	ASSERT(pte_of(m, pid, W) & MM_PTE_DIRTY);
	ASSERT(pte_of(m, pid, W) & MM_PTE_NX);
	ASSERT_NE(mm_find_vma(m, mmof(m, pid), W)->anon_vma, 0);
	/* smaps and status read the PTEs. */
	ASSERT_EQ_U64(smaps_kb(m, pid, "Rss:"), 64);
	ASSERT_EQ_U64(smaps_kb(m, pid, "Anonymous:"), 64);
	ASSERT_EQ_U64(smaps_kb(m, pid, "Private_Dirty:"), 64);
	ASSERT_EQ_U64(smaps_kb(m, pid, "Referenced:"), 64);
	ASSERT_EQ_U64(status_kb(m, pid, "VmRSS:"), 64);
	ASSERT_EQ_U64(status_kb(m, pid, "RssAnon:"), 64);
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT_EQ(anon_pages(m), 0);
	tu_check(m, "exit");
	mm_machine_destroy(m);
}

TEST(fault_no_zero_page)
{
	struct mm_machine *m = mk(false);
	int pid = spawn(m);
	map(m, pid, W, 4 * PG, RW, FIX);
	struct mm_touch_result r = tu_touch(m, pid, W, 4 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 4);
	ASSERT_EQ_U64(r.zero, 0);
	ASSERT_EQ_U64(mmof(m, pid)->rss_anon, 4);
	/* do_anonymous_page maps a writable VMA's page writable and dirty. */
	r = tu_touch(m, pid, W, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 0);
	mm_machine_destroy(m);
}

TEST(fault_segv_kills)
{
	struct mm_machine *m = mk(true);
	warm_up(m);
	int64_t pt0 = pt_pages(m);
	int pid = spawn(m);
	map(m, pid, W, 3 * PG, RW, FIX);
	struct mm_touch_result r;
	ASSERT_EQ(mm_touch(m, pid, W, 5 * PG, MM_ACCESS_WRITE, &r), 0);
	ASSERT_EQ_U64(r.pages, 3);
	ASSERT_EQ_U64(r.minor, 3);
	ASSERT_EQ(r.signal.signo, MM_SIGSEGV);
	ASSERT_EQ(r.signal.code, MM_SEGV_MAPERR);
	ASSERT_EQ_STR(r.signal.code_name, "SEGV_MAPERR");
	ASSERT_EQ_HEX(r.signal.addr, W + 3 * PG);
	ASSERT(mm_task_get(m, pid) == NULL);
	ASSERT_EQ(pt_pages(m), pt0);
	ASSERT_EQ(anon_pages(m), 0);
	tu_check(m, "maperr");

	/* A write to a read-only page: ACCERR, not counted as a fault. */
	pid = spawn(m);
	map(m, pid, W, 2 * PG, RW, FIX);
	ASSERT_EQ(mm_mprotect(m, pid, W + PG, PG, RO), 0);
	r = tu_touch(m, pid, W, 2 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 2);
	ASSERT_EQ(mm_touch(m, pid, W, 2 * PG, MM_ACCESS_WRITE, &r), 0);
	ASSERT_EQ_U64(r.pages, 1);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ(r.signal.code, MM_SEGV_ACCERR);
	ASSERT_EQ_HEX(r.signal.addr, W + PG);
	tu_check(m, "accerr");

	/* PROT_NONE: a read is ACCERR. */
	pid = spawn(m);
	map(m, pid, W, 4 * PG, RW, FIX);
	ASSERT_EQ(mm_mprotect(m, pid, W + 2 * PG, PG, MM_PROT_NONE), 0);
	ASSERT_EQ(mm_touch(m, pid, W, 4 * PG, MM_ACCESS_READ, &r), 0);
	ASSERT_EQ_U64(r.pages, 2);
	ASSERT_EQ(r.signal.code, MM_SEGV_ACCERR);
	ASSERT_EQ_HEX(r.signal.addr, W + 2 * PG);

	/* exec of a readable, non-executable page: one fault maps it (NX),
	 * then the retry is ACCERR. */
	pid = spawn(m);
	map(m, pid, W, PG, RW, FIX);
	ASSERT_EQ(mm_touch(m, pid, W, PG, MM_ACCESS_EXEC, &r), 0);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ(r.signal.code, MM_SEGV_ACCERR);
	ASSERT_EQ(pt_pages(m), pt0);
	tu_check(m, "exec");
	mm_machine_destroy(m);
}

TEST(fault_stack_growth)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	uint64_t s = W + 0x3000000;
	map(m, pid, s, 2 * PG, RW, FIX | MM_MAP_GROWSDOWN);
	int64_t c0 = m->committed;
	struct mm_touch_result r = tu_touch(m, pid, s - PG, PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 1);
	const struct mm_vma *v = mm_find_vma(m, mmof(m, pid), s);
	ASSERT_EQ_HEX(v->start, s - PG);
	ASSERT_EQ(m->committed - c0, 1);
	r = tu_touch(m, pid, s - 5 * PG, PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ_HEX(mm_find_vma(m, mmof(m, pid), s)->start, s - 5 * PG);
	ASSERT_EQ_U64(mmof(m, pid)->stack_vm, 7);
	/* beyond RLIMIT_STACK below the end: MAPERR */
	ASSERT_EQ(mm_touch(m, pid, s + 2 * PG - (8ull << 20) - PG, PG,
			   MM_ACCESS_WRITE, &r), 0);
	ASSERT_EQ(r.signal.code, MM_SEGV_MAPERR);
	ASSERT_EQ_U64(r.minor, 0);
	tu_check(m, "rlimit");

	/* The guard gap: no growth to within 256 pages of the VMA below. */
	pid = spawn(m);
	map(m, pid, s, 2 * PG, RW, FIX | MM_MAP_GROWSDOWN);
	map(m, pid, s - 300 * PG, PG, RW, FIX);
	tu_touch(m, pid, s - 43 * PG, PG, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_touch(m, pid, s - 44 * PG, PG, MM_ACCESS_WRITE, &r), 0);
	ASSERT_EQ(r.signal.code, MM_SEGV_MAPERR);
	tu_check(m, "gap");
	mm_machine_destroy(m);
}

TEST(fault_fork_cow_and_reuse)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	map(m, pid, W, 4 * PG, RW, FIX);
	tu_touch(m, pid, W, 4 * PG, MM_ACCESS_WRITE);
	uint32_t p0 = pfn_of(m, pid, W), p1 = pfn_of(m, pid, W + PG);
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	tu_check(m, "fork");
	ASSERT_EQ(pfn_of(m, child, W), p0);
	ASSERT_EQ(m->pages[p0].mapcount, 2);
	ASSERT_EQ(m->pages[p0].refcount, 2);
	ASSERT(!mm_page_test(&m->pages[p0], MM_PG_anon_exclusive));
	ASSERT(!(pte_of(m, pid, W) & MM_PTE_RW));
	ASSERT(!(pte_of(m, child, W) & MM_PTE_RW));
	ASSERT(!(pte_of(m, child, W) & MM_PTE_ACCESSED));
	ASSERT_EQ_U64(mmof(m, child)->rss_anon, 4);
	/* The child's VMA has its own anon_vma, chained to the parent's. */
	const struct mm_vma *cv = mm_find_vma(m, mmof(m, child), W);
	ASSERT_NE(cv->anon_vma, mm_find_vma(m, mmof(m, pid), W)->anon_vma);
	ASSERT_EQ(cv->anon_chained, 1);
	/* Shared: Pss halves, Shared_Dirty. */
	ASSERT_EQ_U64(smaps_kb(m, pid, "Rss:"), 16);
	ASSERT_EQ_U64(smaps_kb(m, pid, "Pss:"), 8);
	ASSERT_EQ_U64(smaps_kb(m, pid, "Shared_Dirty:"), 16);
	/* The child's write copies. */
	struct mm_touch_result r = tu_touch(m, child, W, PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ_U64(r.cow, 1);
	ASSERT_NE(pfn_of(m, child, W), p0);
	ASSERT_EQ(m->pages[p0].mapcount, 1);
	/* The parent's write of that page reuses it (refcount 1): pgreuse. */
	ASSERT_EQ_U64(m->events[MM_PGREUSE], 0);
	r = tu_touch(m, pid, W, PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ_U64(r.cow, 0);
	ASSERT_EQ(pfn_of(m, pid, W), p0);
	ASSERT(mm_page_test(&m->pages[p0], MM_PG_anon_exclusive));
	ASSERT_EQ_U64(m->events[MM_PGREUSE], 1);
	/* A page still shared is copied by whoever writes first. */
	r = tu_touch(m, pid, W + PG, PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.cow, 1);
	ASSERT_EQ(pfn_of(m, child, W + PG), p1);
	/* A read of a COW page is no fault. */
	r = tu_touch(m, child, W, 4 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 0);
	/* The parent exits: the child's remaining pages become its alone. */
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	tu_check(m, "parent exit");
	r = tu_touch(m, child, W + 2 * PG, PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ_U64(r.cow, 0);
	ASSERT_EQ_U64(m->events[MM_PGREUSE], 2);
	ASSERT_EQ(mm_exit(m, child, 0), 0);
	ASSERT_EQ(anon_pages(m), 0);
	tu_check(m, "child exit");
	mm_machine_destroy(m);
}

TEST(fault_fork_without_anon_vma_copies_nothing)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	map(m, pid, W, 4 * PG, RW, FIX);
	tu_touch(m, pid, W, 4 * PG, MM_ACCESS_READ);
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	/* vma_needs_copy(): no anon_vma, nothing copied: the child faults. */
	ASSERT_EQ_U64(pte_of(m, child, W), 0);
	struct mm_touch_result r = tu_touch(m, child, W, 4 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 4);
	mm_machine_destroy(m);
}

TEST(fault_dontneed_and_mprotect)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	map(m, pid, W, 16 * PG, RW, FIX);
	tu_touch(m, pid, W, 16 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_DONTNEED), 0);
	tu_check(m, "dontneed");
	ASSERT_EQ_U64(mmof(m, pid)->rss_anon, 12);
	ASSERT_EQ_U64(status_kb(m, pid, "VmHWM:"), 64);
	struct mm_touch_result r = tu_touch(m, pid, W, 16 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 4);
	ASSERT_EQ_U64(r.zero, 4);
	r = tu_touch(m, pid, W, 16 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 4);
	/* mprotect: read-only PTEs; back to writable, exclusive pages stay
	 * writable (can_change_pte_writable), the zero page does not. */
	ASSERT_EQ(mm_mprotect(m, pid, W, 16 * PG, RO), 0);
	ASSERT(!(pte_of(m, pid, W) & MM_PTE_RW));
	tu_check(m, "mprotect ro");
	ASSERT_EQ(mm_mprotect(m, pid, W, 16 * PG, RW), 0);
	ASSERT(pte_of(m, pid, W) & MM_PTE_RW);
	r = tu_touch(m, pid, W, 16 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 0);
	map(m, pid, W + 0x30000, 4 * PG, RO, FIX);
	tu_touch(m, pid, W + 0x30000, 4 * PG, MM_ACCESS_READ);
	ASSERT_EQ(mm_mprotect(m, pid, W + 0x30000, 4 * PG, RW), 0);
	r = tu_touch(m, pid, W + 0x30000, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 4);
	ASSERT_EQ_U64(r.cow, 4);
	/* PROT_NONE keeps the pages (PROTNONE PTEs), for later. */
	ASSERT_EQ(mm_mprotect(m, pid, W, 16 * PG, MM_PROT_NONE), 0);
	ASSERT(!(pte_of(m, pid, W) & MM_PTE_PRESENT));
	ASSERT_EQ_U64(mmof(m, pid)->rss_anon, 20);
	tu_check(m, "prot none");
	ASSERT_EQ(mm_mprotect(m, pid, W, 16 * PG, RW), 0);
	r = tu_touch(m, pid, W, 16 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 0);
	mm_machine_destroy(m);
}

TEST(fault_populate_and_mlock)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	map(m, pid, W, 8 * PG, RW, FIX | MM_MAP_POPULATE);
	ASSERT_EQ(mm_task_get(m, pid)->min_flt, 8);
	ASSERT_EQ_U64(mmof(m, pid)->rss_anon, 8);
	struct mm_touch_result r = tu_touch(m, pid, W, 8 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 0);
	/* read-only populate maps the zero page */
	map(m, pid, W + 0x10000, 8 * PG, RO, FIX | MM_MAP_POPULATE);
	ASSERT_EQ(pfn_of(m, pid, W + 0x10000), m->zero_pfn);
	/* PROT_NONE populate: nothing, no error */
	map(m, pid, W + 0x20000, 4 * PG, MM_PROT_NONE, FIX | MM_MAP_POPULATE);
	ASSERT_EQ_U64(pte_of(m, pid, W + 0x20000), 0);
	/* mlock prefaults */
	pid = spawn(m);
	map(m, pid, W + 0x30000, 4 * PG, RW, FIX);
	ASSERT_EQ(mm_mlock(m, pid, W + 0x30000, 4 * PG), 0);
	r = tu_touch(m, pid, W + 0x30000, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 0);
	ASSERT_EQ_U64(smaps_kb(m, pid, "Locked:"), 16);
	tu_check(m, "populate");
	mm_machine_destroy(m);
}

TEST(fault_exit_frees_every_page)
{
	struct mm_machine *m = mk(true);
	warm_up(m);
	settle(m);
	uint64_t free0 = mm_nr_free_pages(m);
	int64_t pt0 = pt_pages(m);
	int pid = spawn(m);
	for (int i = 0; i < 8; i++) {
		uint64_t a = W + (uint64_t)i * (4ull << 20);
		map(m, pid, a, 64 * PG, RW, FIX);
		tu_touch(m, pid, a, 64 * PG, i % 2 ? MM_ACCESS_WRITE : MM_ACCESS_READ);
	}
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	tu_touch(m, child, W + (4ull << 20), 32 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_munmap(m, pid, W, 8 * (4ull << 20)), 0);
	tu_check(m, "munmap");
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT_EQ(mm_exit(m, child, 0), 0);
	ASSERT_EQ(pt_pages(m), pt0);
	ASSERT_EQ(anon_pages(m), 0);
	settle(m);
	ASSERT_EQ_U64(mm_nr_free_pages(m), free0);
	tu_check(m, "exit");
	mm_machine_destroy(m);
}

/* ---- randomized: every fault path under the checker --------------------- */

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void random_run(enum mm_arch arch, bool zero_page, uint64_t seed,
		       int steps)
{
	struct mm_config c = tu_config(arch, 64ull << 20);
	c.zero_page = zero_page;
	struct mm_machine *m = tu_machine(&c);
	uint64_t base = arch == MM_ARCH_I386 ? 0x40000000ull : W;
	int pids[6] = {0};
	uint64_t s = seed;
	for (int step = 0; step < steps; step++) {
		int slot = (int)(rng_next(&s) % 6);
		if (!pids[slot] || !mm_task_get(m, pids[slot])) {
			pids[slot] = spawn(m);
			continue;
		}
		int pid = pids[slot];
		uint64_t addr = base + (rng_next(&s) % 96) * PG;
		uint64_t len = (1 + rng_next(&s) % 24) * PG;
		int prot = (int)(rng_next(&s) % 4); /* ---, r--, -w-, rw- */
		uint64_t out;
		struct mm_touch_result r;
		int op = (int)(rng_next(&s) % 100);
		if (op < 20) {
			int fl = FIX;
			if (rng_next(&s) % 8 == 0)
				fl |= MM_MAP_POPULATE;
			if (rng_next(&s) % 10 == 0)
				fl = MM_MAP_SHARED | MM_MAP_FIXED | MM_MAP_ANONYMOUS;
			mm_mmap(m, pid, addr, len, prot, fl, -1, 0, &out);
		} else if (op < 55) {
			enum mm_access a = (enum mm_access)(rng_next(&s) % 3);
			int rc = mm_touch(m, pid, addr, len, a, &r);
			ASSERT(rc == 0 || rc == -MM_ENODEV);
		} else if (op < 63) {
			mm_munmap(m, pid, addr, len);
		} else if (op < 73) {
			mm_mprotect(m, pid, addr, len, prot);
		} else if (op < 80) {
			mm_madvise(m, pid, addr, len, MM_MADV_DONTNEED);
		} else if (op < 85) {
			mm_mlock(m, pid, addr, len);
		} else if (op < 93) {
			int child;
			int free_slot = -1;
			for (int i = 0; i < 6; i++)
				if (!pids[i] || !mm_task_get(m, pids[i]))
					free_slot = i;
			if (free_slot >= 0 && mm_fork(m, pid, &child) == 0)
				pids[free_slot] = child;
		} else {
			ASSERT_EQ(mm_exit(m, pid, 0), 0);
			pids[slot] = 0;
		}
		tu_check(m, "random step");
	}
	for (int i = 0; i < 6; i++)
		if (pids[i] && mm_task_get(m, pids[i]))
			ASSERT_EQ(mm_exit(m, pids[i], 0), 0);
	ASSERT_EQ(anon_pages(m), 0);
	tu_check(m, "all exited");
	mm_machine_destroy(m);
}

TEST(fault_random_x86_64)
{
	for (uint64_t seed = 1; seed <= 4; seed++)
		random_run(MM_ARCH_X86_64, seed != 2, seed * 0x9e3779b97f4a7c15ull,
			   1500);
}

TEST(fault_random_i386)
{
	for (uint64_t seed = 11; seed <= 13; seed++)
		random_run(MM_ARCH_I386, seed != 12, seed * 0x9e3779b97f4a7c15ull,
			   1500);
}

/* ---- one corruption per paging invariant ------------------------------- */

static void expect_violation(struct mm_machine *m, const char *inv)
{
	struct mm_violation v[16];
	int n = mm_check(m, v, 16);
	for (int i = 0; i < n && i < 16; i++)
		if (strcmp(v[i].invariant, inv) == 0)
			return;
	th_fail(__FILE__, __LINE__, "checker did not name %s (%d violations, "
		"first %s)", inv, n, n ? v[0].invariant : "-");
}

TEST(fault_check_corruptions)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	map(m, pid, W, 4 * PG, RW, FIX);
	tu_touch(m, pid, W, 2 * PG, MM_ACCESS_WRITE);
	tu_touch(m, pid, W + 2 * PG, PG, MM_ACCESS_READ);
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	tu_check(m, "before");
	struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));
	uint64_t *pte;
	ASSERT_EQ(mm__pt_walk(m, mm->pgd, W, false, 0, &pte, NULL, NULL), 0);
	uint32_t pfn = (uint32_t)((*pte & MM_PTE_PFN_MASK) >> 12);

	m->pages[pfn].mapcount++;
	expect_violation(m, "page-mapcount");
	m->pages[pfn].mapcount--;

	*pte |= MM_PTE_RW;
	expect_violation(m, "cow-readonly");
	*pte &= ~MM_PTE_RW;

	mm->rss_anon++;
	expect_violation(m, "rss-count");
	mm->rss_anon--;

	uint64_t saved = *pte;
	*pte = (saved & ~MM_PTE_PFN_MASK) | ((uint64_t)(pfn + 100) << 12);
	expect_violation(m, "pte-frame");
	*pte = saved;

	uint64_t *zpte;
	ASSERT_EQ(mm__pt_walk(m, mm->pgd, W + 2 * PG, false, 0, &zpte, NULL, NULL), 0);
	*zpte |= MM_PTE_RW;
	expect_violation(m, "cow-readonly");
	*zpte &= ~MM_PTE_RW;

	uint64_t pgd_entry = mm__ptable_entries(m, mm->pgd)[mm__pt_index(m, W, 4)];
	mm__ptable_entries(m, mm->pgd)[mm__pt_index(m, W, 4)] = 0;
	expect_violation(m, "pgtable-reach");
	mm__ptable_entries(m, mm->pgd)[mm__pt_index(m, W, 4)] = pgd_entry;

	tu_check(m, "restored");
	mm_machine_destroy(m);
}

/* The PTE slot of va in pid's tables (the test corrupts it). */
static uint64_t *pte_slot(struct mm_machine *m, int pid, uint64_t va)
{
	uint64_t *pte;
	ASSERT_EQ(mm__pt_walk(m, mm_task_mm(m, mm_task_get(m, pid))->pgd, va,
			      false, 0, &pte, NULL, NULL), 0);
	return pte;
}

TEST(fault_check_more_corruptions)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	map(m, pid, W, 4 * PG, RW, FIX);
	map(m, pid, W + 8 * PG, 2 * PG, RW,
	    MM_MAP_SHARED | MM_MAP_FIXED | MM_MAP_ANONYMOUS);
	tu_touch(m, pid, W, 4 * PG, MM_ACCESS_WRITE);
	tu_touch(m, pid, W + 8 * PG, 2 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_mprotect(m, pid, W + 2 * PG, PG, RO), 0);
	ASSERT_EQ(mm_mprotect(m, pid, W + 3 * PG, PG, MM_PROT_NONE), 0);
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	ASSERT_EQ(mm_write(m, child, W + PG, "c", 1, &(struct mm_touch_result){0}), 0);
	tu_check(m, "before");
	uint32_t shared = pfn_of(m, pid, W);     /* COW, mapped twice */
	uint32_t copy = pfn_of(m, child, W + PG); /* the child's copy: exclusive */
	uint64_t *e, saved;

	/* refcount below mapcount */
	m->pages[shared].refcount = 1;
	expect_violation(m, "page-mapcount");
	m->pages[shared].refcount = 2;

	/* a PTE mapping a free frame */
	struct mm_alloc_result r;
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &r), 0);
	ASSERT_EQ(mm_free_pages(m, r.pfn, 0, 0), 0);
	e = pte_slot(m, child, W + PG);
	saved = *e;
	*e = (saved & ~MM_PTE_PFN_MASK) | ((uint64_t)r.pfn << 12);
	expect_violation(m, "pte-frame");
	*e = saved;

	/* pte-prot: writable in a read-only VMA; present in a PROT_NONE one */
	e = pte_slot(m, pid, W + 2 * PG);
	*e |= MM_PTE_RW;
	expect_violation(m, "pte-prot");
	*e &= ~MM_PTE_RW;
	e = pte_slot(m, pid, W + 3 * PG);
	saved = *e;
	*e = (saved & ~MM_PTE_PROTNONE) | MM_PTE_PRESENT;
	expect_violation(m, "pte-prot");
	*e = saved;

	/* cow-readonly: a writable PTE of a page mapped once but not
	 * exclusive (the parent's page after the child copied its own) */
	e = pte_slot(m, pid, W + PG);
	*e |= MM_PTE_RW;
	expect_violation(m, "cow-readonly");
	*e &= ~MM_PTE_RW;
	/* ... and an exclusive page losing its mark */
	mm__clear(&m->pages[copy], MM_PG_anon_exclusive);
	expect_violation(m, "cow-readonly");
	mm__set(&m->pages[copy], MM_PG_anon_exclusive);

	/* anon-exclusive: the shared COW page marked exclusive */
	mm__set(&m->pages[shared], MM_PG_anon_exclusive);
	expect_violation(m, "anon-exclusive");
	mm__clear(&m->pages[shared], MM_PG_anon_exclusive);

	/* shmem-object: a shmem page naming another index */
	uint32_t sp = pfn_of(m, pid, W + 8 * PG);
	m->pages[sp].index++;
	expect_violation(m, "shmem-object");
	m->pages[sp].index--;
	m->pages[sp].refcount++;
	expect_violation(m, "page-mapcount");
	m->pages[sp].refcount--;

	/* page-table frames accounted: a PTE table loses PG_pgtable */
	struct mm_walk_step steps[MM_MAX_LEVELS];
	int n;
	uint64_t leaf;
	ASSERT_EQ(mm__pt_lookup(m, mmof(m, pid)->pgd, W, steps, &n, &leaf), 0);
	uint32_t table = steps[n - 1].table_pfn;
	mm__clear(&m->pages[table], MM_PG_pgtable);
	expect_violation(m, "pgtable-frame");
	expect_violation(m, "pgtable-reach");
	mm__set(&m->pages[table], MM_PG_pgtable);

	tu_check(m, "restored");
	mm_machine_destroy(m);
}

TEST(fault_shmem_fault_around_and_fork)
{
	struct mm_machine *m = mk(true);
	warm_up(m);
	settle(m);
	uint64_t free0 = mm_nr_free_pages(m);
	int pid = spawn(m);
	const int SH = MM_MAP_SHARED | MM_MAP_FIXED | MM_MAP_ANONYMOUS;
	map(m, pid, W, 8 * PG, RW, SH);
	/* reads allocate shmem pages (no zero page), mapped writable */
	struct mm_touch_result r = tu_touch(m, pid, W, 4 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 4);
	ASSERT_EQ_U64(r.zero, 0);
	ASSERT(pte_of(m, pid, W) & MM_PTE_RW);
	r = tu_touch(m, pid, W, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 0);
	r = tu_touch(m, pid, W + 4 * PG, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 4);
	ASSERT_EQ_U64(mmof(m, pid)->rss_shmem, 8);
	ASSERT_EQ_U64(status_kb(m, pid, "RssShmem:"), 32);
	ASSERT_EQ_U64(smaps_kb(m, pid, "Anonymous:"), 0);
	uint32_t pfn = pfn_of(m, pid, W);
	ASSERT_EQ(m->pages[pfn].refcount, 2); /* cache + one PTE */
	/* DONTNEED keeps the cache: one read maps all 8 (fault-around) */
	ASSERT_EQ(mm_madvise(m, pid, W, 8 * PG, MM_MADV_DONTNEED), 0);
	ASSERT_EQ_U64(mmof(m, pid)->rss_shmem, 0);
	tu_check(m, "dontneed");
	r = tu_touch(m, pid, W, 8 * PG, MM_ACCESS_READ);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ(pfn_of(m, pid, W), pfn);
	/* fork: nothing copied, the child maps the same pages on its faults */
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	ASSERT_EQ_U64(pte_of(m, child, W), 0);
	r = tu_touch(m, child, W, 8 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ_U64(r.minor, 8);
	ASSERT_EQ(pfn_of(m, child, W), pfn);
	ASSERT_EQ(m->pages[pfn].mapcount, 2);
	ASSERT_EQ(m->pages[pfn].refcount, 3);
	/* the pages outlive one mapper, go with the last */
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	tu_check(m, "parent gone");
	ASSERT_EQ(m->pages[pfn].mapcount, 1);
	ASSERT_EQ(mm_munmap(m, child, W, 8 * PG), 0);
	tu_check(m, "unmapped");
	ASSERT_EQ(mm_exit(m, child, 0), 0);
	settle(m);
	ASSERT_EQ_U64(mm_nr_free_pages(m), free0);
	tu_check(m, "all gone");
	mm_machine_destroy(m);
}

TEST(fault_uncowed_parents_block_merges)
{
	/* mm/vma.c is_mergeable_anon_vma(): a fork child's VMA (anon_vma
	 * chain of two) neither takes in nor joins a neighbour without an
	 * anon_vma; the parent's (singular chain) does. */
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	map(m, pid, W, 2 * PG, RW, FIX);
	tu_touch(m, pid, W, PG, MM_ACCESS_WRITE);
	map(m, pid, W + 2 * PG, 2 * PG, RO, FIX);
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	/* child: the unfaulted r-- neighbour made rw- stays apart (case 2) */
	ASSERT_EQ(mm_mprotect(m, child, W + 2 * PG, 2 * PG, RW), 0);
	ASSERT_EQ(mmof(m, child)->map_count, 2);
	tu_check(m, "child case 2");
	/* child: the faulted VMA made equal to an unfaulted one (case 1) */
	ASSERT_EQ(mm_mprotect(m, child, W + 2 * PG, 2 * PG, RO), 0);
	ASSERT_EQ(mm_mprotect(m, child, W, 2 * PG, RO), 0);
	ASSERT_EQ(mmof(m, child)->map_count, 2);
	tu_check(m, "child case 1");
	/* parent: the same change merges */
	ASSERT_EQ(mm_mprotect(m, pid, W + 2 * PG, 2 * PG, RW), 0);
	ASSERT_EQ(mmof(m, pid)->map_count, 1);
	tu_check(m, "parent merges");
	mm_machine_destroy(m);
}

/* ---- write / read: real bytes ------------------------------------------ */

static struct mm_touch_result wr(struct mm_machine *m, int pid, uint64_t addr,
				 const char *s)
{
	struct mm_touch_result r;
	ASSERT_EQ(mm_write(m, pid, addr, s, strlen(s), &r), 0);
	tu_check(m, "write");
	return r;
}

/* Reads len bytes and compares them with want (NUL bytes as '.'). */
static struct mm_touch_result rd_eq(struct mm_machine *m, int pid,
				    uint64_t addr, const char *want)
{
	struct mm_touch_result r;
	size_t n = strlen(want);
	char got[64];
	ASSERT(n < sizeof(got));
	memset(got, '?', sizeof(got));
	ASSERT_EQ(mm_read(m, pid, addr, got, n, &r), 0);
	tu_check(m, "read");
	for (size_t i = 0; i < n; i++)
		if (!got[i])
			got[i] = '.';
	got[n] = 0;
	ASSERT_EQ_STR(got, want);
	return r;
}

static void bytes_cow_and_shared(bool zero_page)
{
	struct mm_machine *m = mk(zero_page);
	int pid = spawn(m);
	map(m, pid, W, 4 * PG, RW, FIX);
	map(m, pid, W + 16 * PG, 2 * PG, RW,
	    MM_MAP_SHARED | MM_MAP_FIXED | MM_MAP_ANONYMOUS);

	/* Untouched memory reads zeros; a read faults like touch. */
	struct mm_touch_result r = rd_eq(m, pid, W + PG - 2, "....");
	ASSERT_EQ_U64(r.pages, 2);
	ASSERT_EQ_U64(r.minor, 2);
	ASSERT_EQ_U64(r.zero, zero_page ? 2 : 0);
	/* A write across a page boundary: 2 faults (COW of the zero page),
	 * none when the read mapped writable pages. */
	r = wr(m, pid, W + PG - 3, "parent");
	ASSERT_EQ_U64(r.pages, 2);
	ASSERT_EQ_U64(r.minor, zero_page ? 2 : 0);
	ASSERT_EQ_U64(r.cow, zero_page ? 2 : 0);
	rd_eq(m, pid, W + PG - 4, ".parent.");
	wr(m, pid, W + 16 * PG, "shared");

	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	rd_eq(m, child, W + PG - 3, "parent");
	/* The child's write copies the page: the parent keeps its bytes. */
	r = wr(m, child, W + PG - 3, "child!");
	ASSERT_EQ_U64(r.minor, 2);
	ASSERT_EQ_U64(r.cow, 2);
	rd_eq(m, child, W + PG - 3, "child!");
	r = rd_eq(m, pid, W + PG - 3, "parent");
	ASSERT_EQ_U64(r.minor, 0);
	/* The parent writes its page: reuse (the child copied), no COW. */
	r = wr(m, pid, W + PG - 3, "PA");
	ASSERT_EQ_U64(r.cow, 0);
	rd_eq(m, child, W + PG - 3, "child!");
	/* Shared anonymous memory is one object for both. */
	rd_eq(m, child, W + 16 * PG, "shared");
	wr(m, child, W + 16 * PG + 2, "ARED");
	rd_eq(m, pid, W + 16 * PG, "shARED");

	/* DONTNEED: private bytes go (zeros), shared ones stay in the object. */
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_DONTNEED), 0);
	ASSERT_EQ(mm_madvise(m, pid, W + 16 * PG, 2 * PG, MM_MADV_DONTNEED), 0);
	tu_check(m, "dontneed");
	rd_eq(m, pid, W + PG - 3, "......");
	rd_eq(m, pid, W + 16 * PG, "shARED");
	rd_eq(m, child, W + PG - 3, "child!");

	/* Exit frees every buffer with its frame. */
	ASSERT_EQ(mm_exit(m, child, 0), 0);
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT_EQ(m->nr_content, 0);
	tu_check(m, "exit");
	mm_machine_destroy(m);
}

TEST(fault_bytes_cow_and_shared_zero_page)
{
	bytes_cow_and_shared(true);
}

TEST(fault_bytes_cow_and_shared_no_zero_page)
{
	bytes_cow_and_shared(false);
}

TEST(fault_bytes_segv_midway)
{
	struct mm_machine *m = mk(true);
	int pid = spawn(m);
	map(m, pid, W, 2 * PG, RW, FIX);
	map(m, pid, W + 2 * PG, PG, RO, FIX);
	/* The write stops at the read-only page: the bytes before landed. */
	char big[3 * 4096];
	memset(big, 'x', sizeof(big));
	struct mm_touch_result r;
	ASSERT_EQ(mm_write(m, pid, W + 10, big, sizeof(big), &r), 0);
	ASSERT_EQ_U64(r.pages, 2);
	ASSERT_EQ(r.signal.signo, MM_SIGSEGV);
	ASSERT_EQ(r.signal.code, MM_SEGV_ACCERR);
	ASSERT_EQ_HEX(r.signal.addr, W + 2 * PG);
	ASSERT(mm_task_get(m, pid) == NULL);
	ASSERT_EQ(m->nr_content, 0); /* killed: its frames went */
	tu_check(m, "killed");

	/* A read past the mapping: MAPERR; buf keeps what follows. */
	pid = spawn(m);
	map(m, pid, W, PG, RW, FIX);
	wr(m, pid, W + PG - 2, "ab");
	char got[4] = {'?', '?', '?', '?'};
	ASSERT_EQ(mm_read(m, pid, W + PG - 2, got, 4, &r), 0);
	ASSERT_EQ(r.signal.code, MM_SEGV_MAPERR);
	ASSERT_EQ_HEX(r.signal.addr, W + PG);
	ASSERT(got[0] == 'a' && got[1] == 'b' && got[2] == '?' && got[3] == '?');
	tu_check(m, "maperr");
	mm_machine_destroy(m);
}
