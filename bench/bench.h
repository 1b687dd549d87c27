/*
 * bench/bench.h — what the engine benchmarks (alloc.c, growth.c) share:
 * the clock and a fresh default machine.  Host code: it may use the clock
 * and stdio.
 */
#ifndef MMSIM_BENCH_H
#define MMSIM_BENCH_H

#include <stdio.h>
#include <stdlib.h>
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

#endif
