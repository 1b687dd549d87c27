/*
 * bench/policy.c — the paging-policy experiment (SPEC §9: fifo/lru/opt
 * over 1M references, >= 10 million references/s), beside its baseline in
 * the same run: the textbook simulator (bench/policy_textbook.py, run by
 * bench/run with the same trace parameters) reports its own rate.
 *
 * The trace: 1,000,000 references over 4096 pages of one anonymous
 * mapping, 90% drawn from a hot set of 256 pages, the rest uniform; the
 * process's rss_limit_pages is 512.  Each policy runs on a fresh machine
 * (mm_trace: every reference through the MMU, misses through the fault
 * path and an eviction), timed over the call; the median of the runs
 * decides.  Prints a table and, with --json FILE, writes the numbers.
 *
 * usage: bench-policy [--runs N] [--refs N] [--json FILE]
 */
#define _POSIX_C_SOURCE 200809L
#include "bench/bench.h"
#include "engine/mm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGES 4096u
#define HOT 256u
#define LIMIT 512
#define BASE 0x100000000ull
#define BUDGET 10e6

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The trace generator bench/policy_textbook.py repeats: xorshift64. */
static void make_trace(uint64_t *refs, size_t n)
{
	uint64_t s = 88172645463325252ull;
	for (size_t i = 0; i < n; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		refs[i] = (s % 10) ? (s >> 8) % HOT : (s >> 8) % PAGES;
	}
}

static double run_once(enum mm_page_policy pol, const uint64_t *refs, size_t n,
		       char *seq, uint64_t *res, uint64_t *misses)
{
	struct mm_config c;
	struct mm_machine *m;
	char err[200];
	int pid;
	uint64_t addr;
	struct mm_trace_result tr;

	mm_config_default(&c);
	c.memory = 256ull << 20;
	c.page_policy = pol;
	if (mm_machine_create(&c, &m, err, sizeof(err))) {
		fprintf(stderr, "bench-policy: %s\n", err);
		exit(1);
	}
	if (mm_spawn(m, "bench", -1, &pid) || mm_set_rss_limit(m, pid, LIMIT) ||
	    mm_mmap(m, pid, BASE, (uint64_t)PAGES << 12,
		    MM_PROT_READ | MM_PROT_WRITE,
		    MM_MAP_PRIVATE | MM_MAP_ANONYMOUS | MM_MAP_FIXED, -1, 0, &addr)) {
		fprintf(stderr, "bench-policy: set-up failed\n");
		exit(1);
	}
	double t0 = now();
	int rc = mm_trace(m, pid, BASE, refs, n, MM_ACCESS_WRITE, seq, res, &tr);
	double t1 = now();
	if (rc || tr.hits + tr.misses != n) {
		fprintf(stderr, "bench-policy: trace failed (%d)\n", rc);
		exit(1);
	}
	*misses = tr.misses;
	mm_machine_destroy(m);
	return (double)n / (t1 - t0);
}

int main(int argc, char **argv)
{
	int runs = 5;
	size_t n = 1000000;
	const char *json = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--refs") && i + 1 < argc)
			n = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else {
			fprintf(stderr, "usage: bench-policy [--runs N] [--refs N] "
				"[--json FILE]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > 99 || n < 1) {
		fprintf(stderr, "bench-policy: bad --runs or --refs\n");
		return 2;
	}
	uint64_t *refs = malloc(n * sizeof(*refs)), *res = malloc(n * sizeof(*res));
	char *seq = malloc(n + 1);
	if (!refs || !res || !seq)
		return 1;
	make_trace(refs, n);

	static const struct {
		const char *name;
		enum mm_page_policy pol;
		bool budgeted;
	} pols[] = {
		{"fifo", MM_POLICY_FIFO, true}, {"lru", MM_POLICY_LRU, true},
		{"opt", MM_POLICY_OPT, true}, {"clock", MM_POLICY_CLOCK, false},
		{"random", MM_POLICY_RANDOM, false},
	};
	FILE *jf = json ? fopen(json, "w") : NULL;
	if (json && !jf) {
		perror(json);
		return 1;
	}
	printf("%-8s %-14s %-10s %-16s %s\n", "policy", "refs/s (med)", "misses",
	       "budget", "verdict");
	if (jf)
		fprintf(jf, "{\"refs\": %zu, \"pages\": %u, \"rss_limit\": %d, "
			"\"policies\": {", n, PAGES, LIMIT);
	for (size_t p = 0; p < sizeof(pols) / sizeof(pols[0]); p++) {
		double rate[99];
		uint64_t misses = 0;
		for (int r = 0; r < runs; r++)
			rate[r] = run_once(pols[p].pol, refs, n, seq, res, &misses);
		qsort(rate, (size_t)runs, sizeof(double), cmp_double);
		double med = rate[runs / 2];
		const char *verdict = !pols[p].budgeted ? "(info)"
				      : med >= BUDGET ? "ok" : "MISS";
		printf("%-8s %-14.0f %-10llu %-16s %s\n", pols[p].name, med,
		       (unsigned long long)misses,
		       pols[p].budgeted ? ">= 10000000/s" : "-", verdict);
		if (jf)
			fprintf(jf, "%s\"%s\": {\"refs_per_s\": %.0f, \"misses\": %llu, "
				"\"budget_ok\": %s}", p ? ", " : "", pols[p].name, med,
				(unsigned long long)misses,
				!pols[p].budgeted ? "null" : med >= BUDGET ? "true"
									  : "false");
	}
	if (jf) {
		fprintf(jf, "}}\n");
		fclose(jf);
	}
	free(refs);
	free(res);
	free(seq);
	return 0;
}
