/*
 * bench/bench.h — what the engine benchmarks (alloc.c, fault.c, growth.c,
 * policy.c) share: the clock, a fresh default machine, run statistics.  Host code: it may use the clock
 * and stdio.
 */
#ifndef MMSIM_BENCH_H
#define MMSIM_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/mm.h"

/* CLOCK_MONOTONIC in ns (it cannot fail with a valid clock id). */
static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A fresh x86_64 machine of `bytes` with the default config; on failure
 * prints "PROG: machine: REASON" and exits 1.  The caller owns it
 * (mm_machine_destroy). */
static inline struct mm_machine *bench_machine(const char *prog, uint64_t bytes)
{
	struct mm_config cfg;
	struct mm_machine *m;
	char err[256] = "";

	mm_config_default(&cfg);
	cfg.arch = MM_ARCH_X86_64;
	cfg.memory = bytes;
	int rc = mm_machine_create(&cfg, &m, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "%s: machine: %s (%s)\n", prog, err, mm_errname(rc));
		exit(1);
	}
	return m;
}

/* ---- statistics of repeated runs (min / median / max) -------------------- */
#define BENCH_MIN_RUNS 5
#define BENCH_MAX_RUNS 101

struct stat3 {
	double min, median, max;
};

/* qsort order of doubles. */
static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* v[0..n) (n <= BENCH_MAX_RUNS) left as it is; an even n's median is the
 * mean of the middle two. */
static inline struct stat3 stat3_of(const double *v, int n)
{
	double s[BENCH_MAX_RUNS];
	struct stat3 st;

	memcpy(s, v, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_double);
	st.min = s[0];
	st.max = s[n - 1];
	st.median = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	return st;
}

/* "KEY": {"min": …, "median": …, "max": …} */
static inline void json_stat3(FILE *f, const char *key, struct stat3 s)
{
	fprintf(f, "\"%s\": {\"min\": %.3f, \"median\": %.3f, \"max\": %.3f}",
		key, s.min, s.median, s.max);
}

#endif
