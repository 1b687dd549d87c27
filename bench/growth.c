/*
 * bench/growth.c — how the engine's cost grows (issue "Performance"): the
 * data behind `make plots` (bench/plots draws it with gnuplot).
 *
 *   bench-growth faults
 *       for machine sizes 64 MiB … 16 GiB (x4 each step): a fresh x86_64
 *       machine, one process, one anonymous mapping of FAULT_PAGES pages
 *       (32 MiB, which fits the smallest machine), mm_touch(write) over it:
 *       ns per simulated anonymous write fault, and the machine's creation
 *       time per MiB.  Prints "MiB min median max create_ms".
 *   bench-growth vmas
 *       for 10 … 60,000 VMAs (max_map_count is 65,530): one process whose
 *       address space holds N three-page mappings separated by one-page
 *       holes (so none merge), then, in the middle of them: an mmap+munmap
 *       pair of a new page, an mprotect pair that splits a VMA in three
 *       and merges it back, and a write fault in one of the VMAs followed
 *       by MADV_DONTNEED (so the next one faults again).  Prints
 *       "N mmap_munmap_ns mprotect_ns fault_ns" (medians).
 *   bench-growth reclaim
 *       memory pressure: a 128 MiB x86_64 machine with 1 GiB of swap and a
 *       working set of 0.25 … 3 times its memory, accessed in passes that
 *       visit every page once in a new pseudo-random order (so the share of
 *       accesses that miss grows like 1 - memory / working set).  Two
 *       workloads on fresh machines: "anon", one process writing 8 bytes
 *       into a page of an anonymous mapping (mm_write: swap-out and swap-in
 *       of non-zero pages), and "file", pread() of one page of a file
 *       (clean page-cache pages, reclaimed without I/O, read again with
 *       readahead).  The first pass fills memory (untimed); each of RUNS
 *       timed passes gives ns per page accessed; the counters are per page
 *       accessed over the timed passes.
 *       No simulated time passes (no mm_tick), so kswapd never runs and
 *       every page is reclaimed directly by the faulting allocation.
 *       Prints "kind ratio ns_min ns_median ns_max pgscan pgsteal pswpin
 *       pswpout major" per point.
 *
 * Each point is the median of RUNS timed loops.  A host program: it may
 * use the clock and stdio.  Every engine call is checked; a failure exits 1.
 */
#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RUNS 5
#define FAULT_PAGES 8192
#define PAGE 4096ull
#define VMA_BASE 0x100000000ull
#define RW (MM_PROT_READ | MM_PROT_WRITE)
#define ANON_FIXED (MM_MAP_PRIVATE | MM_MAP_ANONYMOUS | MM_MAP_FIXED)

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "bench-growth: %s: %d\n", what, rc);
		exit(1);
	}
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

static void faults(void)
{
	printf("# MiB  fault_ns_min fault_ns_median fault_ns_max create_ms\n");
	for (uint64_t mib = 64; mib <= 16384; mib *= 4) {
		double ns[RUNS], create = 0;
		for (int r = 0; r < RUNS; r++) {
			double t0 = bench_now_ns();
			struct mm_machine *m = bench_machine("bench-growth", mib << 20);
			create += bench_now_ns() - t0;
			struct mm_touch_result tr;
			uint64_t a;
			int pid;
			check(mm_spawn(m, "growth", 0, &pid), "spawn");
			check(mm_mmap(m, pid, 0, FAULT_PAGES * PAGE, RW,
				      MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &a),
			      "mmap");
			t0 = bench_now_ns();
			check(mm_touch(m, pid, a, FAULT_PAGES * PAGE,
				       MM_ACCESS_WRITE, &tr), "touch");
			ns[r] = (bench_now_ns() - t0) / FAULT_PAGES;
			if (tr.minor != FAULT_PAGES || tr.signal.signo)
				check(-1, "touch did not fault every page");
			mm_machine_destroy(m);
		}
		struct stat3 st = stat3_of(ns, RUNS);
		printf("%llu %.1f %.1f %.1f %.2f\n", (unsigned long long)mib,
		       st.min, st.median, st.max, create / RUNS / 1e6);
		fflush(stdout);
	}
}

/*
 * The layout: VMA i covers 3 pages at VMA_BASE + i * STRIDE, a one-page
 * hole follows it (so no two merge).  Median ns of one iteration of `what`
 * around the middle VMA: 0 mmap+munmap of the hole after it (read-only:
 * it merges with neither neighbour), 1 mprotect of its middle page and
 * back (split in three, merged back), 2 a write fault on its first page
 * and MADV_DONTNEED (so the next write faults again).
 */
#define STRIDE (4 * PAGE)
static double vma_op(struct mm_machine *m, int pid, long n, int what)
{
	enum { ITERS = 2000 };
	uint64_t mid = VMA_BASE + (uint64_t)(n / 2) * STRIDE;
	double v[RUNS];

	for (int r = 0; r < RUNS; r++) {
		double t0 = bench_now_ns();
		for (int i = 0; i < ITERS; i++) {
			struct mm_touch_result tr;
			uint64_t a;
			switch (what) {
			case 0:
				check(mm_mmap(m, pid, mid + 3 * PAGE, PAGE,
					      MM_PROT_READ, ANON_FIXED, -1, 0, &a),
				      "mmap");
				check(mm_munmap(m, pid, mid + 3 * PAGE, PAGE),
				      "munmap");
				break;
			case 1:
				check(mm_mprotect(m, pid, mid + PAGE, PAGE,
						  MM_PROT_READ), "mprotect");
				check(mm_mprotect(m, pid, mid + PAGE, PAGE, RW),
				      "mprotect back");
				break;
			default:
				check(mm_touch(m, pid, mid, PAGE, MM_ACCESS_WRITE,
					       &tr), "touch");
				if (tr.minor != 1)
					check(-1, "no fault");
				check(mm_madvise(m, pid, mid, PAGE, MM_MADV_DONTNEED),
				      "madvise");
				break;
			}
		}
		v[r] = (bench_now_ns() - t0) / ITERS;
	}
	return median(v, RUNS);
}

static void vmas(void)
{
	static const long counts[] = {10, 30, 100, 300, 1000, 3000, 10000,
				      30000, 60000};
	printf("# vmas mmap_munmap_ns mprotect_pair_ns fault_dontneed_ns\n");
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		long n = counts[k];
		struct mm_machine *m = bench_machine("bench-growth", 1ull << 30);
		uint64_t a;
		int pid;
		check(mm_spawn(m, "growth", 0, &pid), "spawn");
		for (long i = 0; i < n; i++)
			check(mm_mmap(m, pid, VMA_BASE + (uint64_t)i * STRIDE,
				      3 * PAGE, RW, ANON_FIXED, -1, 0, &a),
			      "mmap of the n VMAs");
		printf("%ld %.1f %.1f %.1f\n", n, vma_op(m, pid, n, 0),
		       vma_op(m, pid, n, 1), vma_op(m, pid, n, 2));
		fflush(stdout);
		mm_machine_destroy(m);
	}
}

#define RECLAIM_MEMORY (128ull << 20)

static uint64_t reclaim_events(const struct mm_machine *m, int which)
{
	switch (which) {
	case 0:
		return m->events[MM_PGSCAN_KSWAPD] + m->events[MM_PGSCAN_DIRECT];
	case 1:
		return m->events[MM_PGSTEAL_KSWAPD] + m->events[MM_PGSTEAL_DIRECT];
	case 2:
		return m->events[MM_PSWPIN];
	default:
		return m->events[MM_PSWPOUT];
	}
}

static uint64_t gcd(uint64_t x, uint64_t y)
{
	while (y) {
		uint64_t t = x % y;
		x = y;
		y = t;
	}
	return x;
}

/* Pass `pass` over the working set of `pages` pages, each page once, in
 * the order i -> (a * i + b) mod pages with a coprime to pages and a, b
 * new each pass (a fixed order would be a cycle, which LRU serves no
 * better than address order).  Returns the major faults (anon) or the
 * pages read from the disk (file). */
static uint64_t reclaim_pass(struct mm_machine *m, bool file, int id,
			     uint64_t addr, uint64_t pages, uint64_t pass)
{
	uint64_t a = (2654435761ull * (pass + 1)) % pages | 1, b = pass * 7919;
	uint64_t got, major, total = 0;
	struct mm_touch_result tr;
	uint8_t buf[PAGE];

	while (gcd(a, pages) != 1)
		a += 2;
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t pg = (a * i + b) % pages;
		if (file) {
			check(mm_file_read(m, id, pg * PAGE, PAGE, buf, &got,
					   &major), "pread");
			total += major;
			continue;
		}
		/* 8 non-zero bytes: a zero-filled page would leave without
		 * I/O (swpout_zero) */
		uint64_t v = pg + 1;
		check(mm_write(m, id, addr + pg * PAGE, &v, sizeof(v), &tr),
		      "write");
		if (tr.signal.signo)
			check(-1, "write was signalled");
		total += tr.major;
	}
	return total;
}

static void reclaim_point(bool file, double ratio)
{
	uint64_t pages = (uint64_t)(ratio * (double)(RECLAIM_MEMORY / PAGE));
	struct mm_config cfg;
	struct mm_machine *m;
	char err[256] = "";
	int id;
	uint64_t addr = 0;

	mm_config_default(&cfg);
	cfg.arch = MM_ARCH_X86_64;
	cfg.memory = RECLAIM_MEMORY;
	cfg.swap = 1ull << 30;
	if (mm_machine_create(&cfg, &m, err, sizeof(err))) {
		fprintf(stderr, "bench-growth: machine: %s\n", err);
		exit(1);
	}
	if (file) {
		check(mm_file_create(m, "data", pages * PAGE, NULL, 0, &id),
		      "file");
	} else {
		check(mm_spawn(m, "growth", 0, &id), "spawn");
		check(mm_mmap(m, id, 0, pages * PAGE, RW,
			      MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &addr),
		      "mmap");
	}
	reclaim_pass(m, file, id, addr, pages, 0);
	uint64_t before[4], major = 0;
	for (int k = 0; k < 4; k++)
		before[k] = reclaim_events(m, k);
	double ns[RUNS];
	for (int r = 0; r < RUNS; r++) {
		double t0 = bench_now_ns();
		major += reclaim_pass(m, file, id, addr, pages, r + 1);
		ns[r] = (bench_now_ns() - t0) / (double)pages;
	}
	double per = (double)pages * RUNS;
	struct stat3 st = stat3_of(ns, RUNS);
	printf("%s %.2f %.1f %.1f %.1f", file ? "file" : "anon", ratio, st.min,
	       st.median, st.max);
	for (int k = 0; k < 4; k++)
		printf(" %.3f", (double)(reclaim_events(m, k) - before[k]) / per);
	printf(" %.3f\n", (double)major / per);
	fflush(stdout);
	mm_machine_destroy(m);
}

static void reclaim(void)
{
	static const double ratios[] = {0.25, 0.5, 0.75, 0.9, 1.0, 1.1,
					1.25, 1.5, 2.0, 3.0};

	printf("# kind mem_ratio ns_min ns_median ns_max pgscan pgsteal "
	       "pswpin pswpout major   (counters per page accessed)\n");
	for (int file = 0; file < 2; file++) {
		for (size_t k = 0; k < sizeof(ratios) / sizeof(ratios[0]); k++)
			reclaim_point(file, ratios[k]);
		printf("\n\n"); /* gnuplot: one data block per kind */
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "faults"))
		faults();
	else if (argc == 2 && !strcmp(argv[1], "vmas"))
		vmas();
	else if (argc == 2 && !strcmp(argv[1], "reclaim"))
		reclaim();
	else {
		fprintf(stderr, "usage: bench-growth faults|vmas|reclaim\n");
		return 2;
	}
	return 0;
}
