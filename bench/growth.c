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
		double mn = ns[0], mx = ns[0];
		for (int r = 1; r < RUNS; r++) {
			mn = ns[r] < mn ? ns[r] : mn;
			mx = ns[r] > mx ? ns[r] : mx;
		}
		printf("%llu %.1f %.1f %.1f %.2f\n", (unsigned long long)mib, mn,
		       median(ns, RUNS), mx, create / RUNS / 1e6);
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

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "faults"))
		faults();
	else if (argc == 2 && !strcmp(argv[1], "vmas"))
		vmas();
	else {
		fprintf(stderr, "usage: bench-growth faults|vmas\n");
		return 2;
	}
	return 0;
}
