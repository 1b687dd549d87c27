/*
 * bench/fault.c — page-fault benchmarks (SPEC §9), each beside the host
 * kernel's real fault in the same run.
 *
 *   anon write fault  mm_touch(write) over BENCH_PAGES fresh pages of a
 *                     private anonymous mapping on a 4 GiB x86_64 machine:
 *                     each page takes one demand-zero fault (page allocated
 *                     from the cpu's pcp list, PTE table filled); budget
 *                     <= 100 ns/page.  Beside it: the host's minor fault,
 *                     one byte written per page of a fresh anonymous mmap
 *                     of the same size (each a real do_anonymous_page);
 *   COW fault         after fork, the child's mm_touch(write) over pages
 *                     the parent wrote: each a do_wp_page copy.  Beside it:
 *                     the host's COW fault, a forked child writing one byte
 *                     per page its parent wrote (timed in the child).
 * The ratio host / simulator must be >= 20 (the median decides).
 *
 * Method: times are the measuring thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID: user + kernel, so the host's faults count in
 * full, and time spent waiting for a CPU on a shared machine does not).
 * One run measures all four back to back, so a run's ratio
 * compares figures taken under the same machine load; runs are repeated
 * (--runs, at least 5) and min/median/max are reported.  Every return
 * value is checked and the machine goes through mm_check() after each run.
 *
 * `--callgrind-loop N KIND` (anon, cow, cowsetup) creates the same machine
 * and takes N faults of KIND without timing, for `valgrind
 * --tool=callgrind`; bench/run subtracts the N = 0 run (anon) or the
 * cowsetup run (cow: the same set-up without the child's writes) to get
 * instructions per fault.
 *
 * This is a host program, not engine code: it may use libc, the clock,
 * fork and stdio.  Exit status: 0 when everything ran (a missed budget is
 * reported as MISS), 1 when something could not run, 2 on usage.
 */
#include "bench/bench.h"
#include "engine/mm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_PAGES 16384ul            /* 64 MiB per measurement */
#define BENCH_ADDR 0x100000000ull
#define BENCH_ANON_BUDGET_NS 100.0
#define BENCH_RATIO_BUDGET 20.0

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-fault: %s failed: %s (%d)\n", what,
		mm_errname(err), err);
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts))
		die("clock_gettime", -errno);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- the simulator -------------------------------------------------------- */

/* A process with BENCH_PAGES of private anonymous memory at BENCH_ADDR. */
static int sim_process(struct mm_machine *m)
{
	int pid, rc = mm_spawn(m, "bench", 0, &pid);
	uint64_t a;

	if (rc)
		die("mm_spawn", rc);
	rc = mm_mmap(m, pid, BENCH_ADDR, (uint64_t)BENCH_PAGES * 4096,
		     MM_PROT_READ | MM_PROT_WRITE,
		     MM_MAP_PRIVATE | MM_MAP_ANONYMOUS | MM_MAP_FIXED, -1, 0, &a);
	if (rc)
		die("mm_mmap", rc);
	return pid;
}

/* Writes every page of pid's mapping; checks that each took the fault
 * it should (cow: a copy each). */
static void sim_write_all(struct mm_machine *m, int pid, bool cow)
{
	struct mm_touch_result r;
	int rc = mm_touch(m, pid, BENCH_ADDR, (uint64_t)BENCH_PAGES * 4096,
			  MM_ACCESS_WRITE, &r);

	if (rc)
		die("mm_touch", rc);
	if (r.minor != BENCH_PAGES || r.cow != (cow ? BENCH_PAGES : 0))
		die("mm_touch fault counts", -MM_EINVAL);
}

/* A parent that wrote every page and its fork child; *child gets it. */
static int sim_cow_setup(struct mm_machine *m, int *child)
{
	int pid = sim_process(m);

	sim_write_all(m, pid, false);
	int rc = mm_fork(m, pid, child);
	if (rc)
		die("mm_fork", rc);
	return pid;
}

static void sim_exit(struct mm_machine *m, int pid)
{
	int rc = mm_exit(m, pid, 0);
	if (rc)
		die("mm_exit", rc);
}

static void sim_check(const struct mm_machine *m)
{
	struct mm_violation v[4];
	int n = mm_check(m, v, 4);

	if (n) {
		fprintf(stderr, "bench-fault: invariant %s: %s\n", v[0].invariant,
			v[0].detail);
		exit(1);
	}
}

/* ns per page: fresh anonymous write faults. */
static double sim_anon(struct mm_machine *m)
{
	int pid = sim_process(m);
	double t0 = now_ns();

	sim_write_all(m, pid, false);
	double ns = (now_ns() - t0) / BENCH_PAGES;
	sim_exit(m, pid);
	return ns;
}

/* ns per page: the child's COW faults. */
static double sim_cow(struct mm_machine *m)
{
	int child, pid = sim_cow_setup(m, &child);
	double t0 = now_ns();

	sim_write_all(m, child, true);
	double ns = (now_ns() - t0) / BENCH_PAGES;
	sim_exit(m, child);
	sim_exit(m, pid);
	return ns;
}

/* ---- the host kernel ------------------------------------------------------ */

static char *host_map(void)
{
	char *p = mmap(NULL, BENCH_PAGES * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap", -errno);
	return p;
}

static void host_write_all(char *p)
{
	for (unsigned long i = 0; i < BENCH_PAGES; i++)
		((volatile char *)p)[i * 4096] = 1;
}

/* ns per page: minor faults of a fresh anonymous mapping. */
static double host_anon(void)
{
	char *p = host_map();
	double t0 = now_ns();

	host_write_all(p);
	double ns = (now_ns() - t0) / BENCH_PAGES;
	munmap(p, BENCH_PAGES * 4096);
	return ns;
}

/* ns per page: a forked child writing the pages its parent wrote (timed
 * in the child, sent back through a pipe). */
static double host_cow(void)
{
	char *p = host_map();
	int fd[2];
	double ns = 0;

	host_write_all(p);
	if (pipe(fd))
		die("pipe", -errno);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", -errno);
	if (pid == 0) {
		double t0 = now_ns();
		host_write_all(p);
		ns = (now_ns() - t0) / BENCH_PAGES;
		_exit(write(fd[1], &ns, sizeof(ns)) == sizeof(ns) ? 0 : 1);
	}
	int st;
	if (read(fd[0], &ns, sizeof(ns)) != sizeof(ns) ||
	    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("the COW child", -MM_EIO);
	close(fd[0]);
	close(fd[1]);
	munmap(p, BENCH_PAGES * 4096);
	return ns;
}

/* ---- report ---------------------------------------------------------------- */

struct fault_bench {
	const char *name, *label, *base_label;
	double budget_ns;
	double ns[BENCH_MAX_RUNS], host[BENCH_MAX_RUNS], ratio[BENCH_MAX_RUNS];
	struct stat3 s, h, q;
};

static bool passes(const struct fault_bench *f)
{
	return (f->budget_ns <= 0 || f->s.median <= f->budget_ns) &&
	       f->q.median >= BENCH_RATIO_BUDGET;
}

static void json_array(FILE *f, const char *key, const double *v, int n)
{
	fprintf(f, "\"%s\": [", key);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%.3f", i ? ", " : "", v[i]);
	fputc(']', f);
}

static int write_json(const char *path, const struct fault_bench *fb, int nfb,
		      int runs)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "bench-fault: cannot write %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"benchmark\": \"fault\",\n  \"runs\": %d,\n"
		   "  \"pages_per_run\": %lu,\n  \"decided_by\": \"median\",\n"
		   "  \"ratio_budget\": %.0f", runs, BENCH_PAGES,
		BENCH_RATIO_BUDGET);
	for (int i = 0; i < nfb; i++) {
		const struct fault_bench *b = &fb[i];
		fprintf(f, ",\n  \"%s\": {\"unit\": \"ns/page\", ", b->name);
		json_array(f, "runs", b->ns, runs);
		fputs(", ", f);
		json_stat3(f, "ns", b->s);
		fprintf(f, ", \"baseline\": \"%s\", ", b->base_label);
		json_array(f, "host_runs", b->host, runs);
		fputs(", ", f);
		json_stat3(f, "host_ns", b->h);
		fputs(", ", f);
		json_stat3(f, "ratio", b->q);
		if (b->budget_ns > 0)
			fprintf(f, ", \"budget_ns\": %.0f", b->budget_ns);
		fprintf(f, ", \"pass\": %s}", passes(b) ? "true" : "false");
	}
	fputs("\n}\n", f);
	return fclose(f) ? -1 : 0;
}

/* ---- callgrind loops ------------------------------------------------------ */

static int callgrind_loop(long n, const char *kind)
{
	struct mm_machine *m = bench_machine("bench-fault", 4ull << 30);
	struct mm_touch_result r;
	int child, pid;

	if (!strcmp(kind, "anon")) {
		pid = sim_process(m);
		if (n && mm_touch(m, pid, BENCH_ADDR, (uint64_t)n * 4096,
				  MM_ACCESS_WRITE, &r))
			die("mm_touch", -MM_EINVAL);
	} else if (!strcmp(kind, "cow") || !strcmp(kind, "cowsetup")) {
		if (n != (long)BENCH_PAGES)
			die("--callgrind-loop: cow takes N = 16384", -MM_EINVAL);
		sim_cow_setup(m, &child);
		if (!strcmp(kind, "cow"))
			sim_write_all(m, child, true);
	} else {
		fprintf(stderr, "bench-fault: unknown kind %s\n", kind);
		return 2;
	}
	mm_machine_destroy(m);
	return 0;
}

int main(int argc, char **argv)
{
	int runs = 7;
	const char *json = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			runs = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--json") && i + 1 < argc) {
			json = argv[++i];
		} else if (!strcmp(argv[i], "--callgrind-loop") && i + 2 < argc) {
			return callgrind_loop(atol(argv[i + 1]), argv[i + 2]);
		} else {
			fprintf(stderr, "usage: bench-fault [--runs N] [--json FILE]"
				" | --callgrind-loop N anon|cow|cowsetup\n");
			return 2;
		}
	}
	if (runs < BENCH_MIN_RUNS || runs > BENCH_MAX_RUNS) {
		fprintf(stderr, "bench-fault: --runs must be in [%d, %d]\n",
			BENCH_MIN_RUNS, BENCH_MAX_RUNS);
		return 2;
	}

	static struct fault_bench fb[2] = {
		{.name = "anon_write_fault", .label = "anon write fault (sim)",
		 .base_label = "host minor fault",
		 .budget_ns = BENCH_ANON_BUDGET_NS},
		{.name = "cow_fault", .label = "COW fault (sim)",
		 .base_label = "host COW fault"},
	};
	struct mm_machine *m = bench_machine("bench-fault", 4ull << 30);
	/* warm-up: the machine's pcp lists, the host's page tables */
	sim_anon(m);
	sim_cow(m);
	host_anon();
	host_cow();
	for (int r = 0; r < runs; r++) {
		fb[0].ns[r] = sim_anon(m);
		fb[0].host[r] = host_anon();
		fb[1].ns[r] = sim_cow(m);
		fb[1].host[r] = host_cow();
		sim_check(m);
		for (int i = 0; i < 2; i++)
			fb[i].ratio[r] = fb[i].host[r] / fb[i].ns[r];
	}
	mm_machine_destroy(m);

	printf("%d runs of %lu pages each (min / median / max)\n", runs,
	       BENCH_PAGES);
	printf("%-24s %-24s %-18s %-24s %s\n", "benchmark", "ns/page",
	       "host", "host/sim", "verdict");
	for (int i = 0; i < 2; i++) {
		struct fault_bench *b = &fb[i];
		char ns[48], host[48], ratio[48];
		b->s = stat3_of(b->ns, runs);
		b->h = stat3_of(b->host, runs);
		b->q = stat3_of(b->ratio, runs);
		snprintf(ns, sizeof(ns), "%.1f / %.1f / %.1f", b->s.min,
			 b->s.median, b->s.max);
		snprintf(host, sizeof(host), "%.0f / %.0f / %.0f", b->h.min,
			 b->h.median, b->h.max);
		snprintf(ratio, sizeof(ratio), "%.0fx / %.0fx / %.0fx", b->q.min,
			 b->q.median, b->q.max);
		printf("%-24s %-24s %-18s %-24s %s (%s%s>= %.0fx)\n", b->label, ns,
		       host, ratio, passes(b) ? "PASS" : "MISS",
		       b->budget_ns > 0 ? "<= 100 ns, " : "", "",
		       BENCH_RATIO_BUDGET);
	}
	printf("(host: %s and %s, same run)\n", fb[0].base_label,
	       fb[1].base_label);
	if (json && write_json(json, fb, 2, runs))
		return 1;
	return 0;
}
