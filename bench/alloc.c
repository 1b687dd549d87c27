/*
 * bench/alloc.c — physical-memory benchmarks (SPEC §9), each beside its
 * baseline in the same run.
 *
 *   order-0 alloc+free  mm_alloc_pages(GFP_KERNEL, 0, cpu 0) + mm_free_pages
 *                       on a 1 GiB x86_64 machine: the per-CPU list path
 *                       (budget <= 30 ns/pair), beside glibc
 *                       malloc(4096)+free;
 *   order-3 alloc+free  the same at order 3, which bypasses the pcp lists
 *                       and splits/merges in the buddy (budget <= 60 ns/pair),
 *                       beside glibc malloc(32768)+free.  On a fresh machine
 *                       the first GFP_KERNEL request claims an order-10
 *                       block for MIGRATE_UNMOVABLE and each free merges it
 *                       back, so every pair splits and merges 7 levels: the
 *                       worst case, and the one that decides;
 *   order-3, buddy held the best case, informative: one order-3 block stays
 *                       allocated, so its free buddy is taken and given back
 *                       with no split and no merge (same loop otherwise);
 *   kmalloc(64)+kfree   mm_kmalloc(64, GFP_KERNEL, cpu 0) + mm_kfree: the
 *                       SLUB per-CPU fast path of kmalloc-64 (the active
 *                       slab always has a free object, so no slab is ever
 *                       allocated in the timed loop), beside glibc
 *                       malloc(64)+free; budget: the median ratio <= 2.
 *                       Measured as built: debug builds (no -DNDEBUG) keep
 *                       a poison shadow per slab and kfree fills the freed
 *                       object with POISON_FREE;
 *   host bytes/frame    sizeof(struct mm_page) (budget <= 32 B), the bytes
 *                       the engine allocates per frame including the per-zone
 *                       arrays, and the host RSS growth (/proc/self/statm)
 *                       over creating a 4 GiB machine, divided by its frames.
 *
 * Method: one "run" times every kind once, back to back, so a run's ratio
 * (mmsim / baseline) compares figures taken under the same machine load;
 * runs are repeated (--runs, at least 5) and min/median/max are reported
 * for the ns figures and for the ratios.  The MEDIAN decides PASS/MISS.
 * Each timed loop checks every return value: a failing call aborts the
 * benchmark (exit 1) rather than timing an error path, and the machine is
 * run through mm_check() after the loops.
 *
 * `--callgrind-loop N KIND` creates the same machine and runs N pairs of
 * KIND (order0, order3, order3held, kmalloc64, malloc4k, malloc32k,
 * malloc64) without timing or output, for `valgrind --tool=callgrind`; bench/run subtracts an N=0 run
 * to get instructions per pair.
 *
 * This is a host program, not engine code: it may use libc, the clock and
 * stdio.  Exit status: 0 when everything ran (a missed budget is reported
 * as MISS, not as a failure), 1 when something could not run, 2 on usage.
 */
#include "bench/bench.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BENCH_GIB (1ull << 30)

enum bench_kind { K_ORDER0, K_ORDER3, K_ORDER3_HELD, K_KMALLOC64, K_MMAP,
		  K_MALLOC4K, K_MALLOC32K, K_MALLOC64, K_HOSTMMAP, K_NR };

static const char *const kind_names[K_NR] = {"order0", "order3", "order3held",
					     "kmalloc64", "mmap", "malloc4k",
					     "malloc32k", "malloc64",
					     "hostmmap"};

/* The kinds measured on the host alone (no simulated machine). */
static bool is_malloc_kind(enum bench_kind k)
{
	return k == K_MALLOC4K || k == K_MALLOC32K || k == K_MALLOC64 ||
	       k == K_HOSTMMAP;
}

/* Host mmap/munmap pairs cost microseconds: time fewer of them. */
static long kind_pairs(enum bench_kind k, long iters)
{
	return k == K_MMAP || k == K_HOSTMMAP ? iters / 20 + 1 : iters;
}

#define BENCH_MMAP_NEIGHBOURS 64

/* Escapes malloc's result so the compiler cannot elide the malloc/free
 * pair (GCC removes pairs whose pointer is never used). */
static void *volatile bench_sink;

static void die(const char *what, int err)
{
	fprintf(stderr, "bench-alloc: %s failed: %s (%d)\n", what,
		mm_errname(err), err);
	exit(1);
}

/* The 1 GiB machine a kind runs on (NULL for the malloc kinds); for
 * K_ORDER3_HELD one order-3 block is allocated and kept (it goes with the
 * machine). */
static struct mm_machine *kind_machine(enum bench_kind k)
{
	struct mm_alloc_result r;

	if (is_malloc_kind(k))
		return NULL;
	struct mm_machine *m = bench_machine("bench-alloc", BENCH_GIB);
	if (k == K_ORDER3_HELD) {
		int rc = mm_alloc_pages(m, MM_GFP_KERNEL, 3, 0, -1, &r);
		if (rc)
			die("mm_alloc_pages(order 3, held)", rc);
	}
	if (k == K_MMAP) {
		/* pid 1 with 64 mappings, separated by holes so they stay 64
		 * VMAs: the tree the benchmark's mmap/munmap work in. */
		int pid, rc = mm_spawn(m, "bench", 0, &pid);
		if (rc)
			die("mm_spawn", rc);
		for (int i = 0; i < BENCH_MMAP_NEIGHBOURS; i++) {
			uint64_t a;
			rc = mm_mmap(m, pid, 0x100000000ull + (uint64_t)i * 0x10000,
				     0x4000, MM_PROT_READ | MM_PROT_WRITE,
				     MM_MAP_PRIVATE | MM_MAP_ANONYMOUS | MM_MAP_FIXED,
				     -1, 0, &a);
			if (rc)
				die("mm_mmap(neighbour)", rc);
		}
	}
	return m;
}

/* Runs n pairs of one kind on m (NULL for the malloc kinds).  Every
 * return value is checked. */
static void run_pairs(struct mm_machine *m, enum bench_kind k, long n)
{
	struct mm_alloc_result r;
	uint64_t addr;
	int rc, cache;

	switch (k) {
	case K_ORDER0:
		for (long i = 0; i < n; i++) {
			rc = mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &r);
			if (rc)
				die("mm_alloc_pages(order 0)", rc);
			rc = mm_free_pages(m, r.pfn, 0, 0);
			if (rc)
				die("mm_free_pages(order 0)", rc);
		}
		break;
	case K_ORDER3:
	case K_ORDER3_HELD:
		for (long i = 0; i < n; i++) {
			rc = mm_alloc_pages(m, MM_GFP_KERNEL, 3, 0, -1, &r);
			if (rc)
				die("mm_alloc_pages(order 3)", rc);
			rc = mm_free_pages(m, r.pfn, 3, 0);
			if (rc)
				die("mm_free_pages(order 3)", rc);
		}
		break;
	case K_KMALLOC64:
		for (long i = 0; i < n; i++) {
			rc = mm_kmalloc(m, 64, MM_GFP_KERNEL, 0, &addr, &cache);
			if (rc)
				die("mm_kmalloc(64)", rc);
			rc = mm_kfree(m, addr, 0);
			if (rc)
				die("mm_kfree", rc);
		}
		break;
	case K_MMAP:
		for (long i = 0; i < n; i++) {
			rc = mm_mmap(m, 1, 0, 4096, MM_PROT_READ | MM_PROT_WRITE,
				     MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &addr);
			if (rc)
				die("mm_mmap", rc);
			rc = mm_munmap(m, 1, addr, 4096);
			if (rc)
				die("mm_munmap", rc);
		}
		break;
	case K_HOSTMMAP:
		for (long i = 0; i < n; i++) {
			void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				die("mmap", -errno);
			bench_sink = p;
			if (munmap(p, 4096))
				die("munmap", -errno);
		}
		break;
	case K_MALLOC4K:
	case K_MALLOC32K:
	case K_MALLOC64: {
		size_t size = k == K_MALLOC4K ? 4096 : k == K_MALLOC32K ? 32768 : 64;
		for (long i = 0; i < n; i++) {
			void *p = malloc(size);
			if (!p)
				die("malloc", -MM_ENOMEM);
			bench_sink = p;
			free(p);
		}
		break;
	}
	case K_NR:
		break;
	}
}

/* ns per pair of one timed loop. */
static double time_pairs(struct mm_machine *m, enum bench_kind k, long n)
{
	double t0 = bench_now_ns();
	run_pairs(m, k, n);
	return (bench_now_ns() - t0) / (double)n;
}

/* ---- host memory ------------------------------------------------------ */
/* Resident bytes of this process (/proc/self/statm, field 2). */
static long long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long long size, resident;

	if (!f)
		die("open /proc/self/statm", -errno);
	int ok = fscanf(f, "%lld %lld", &size, &resident) == 2;
	fclose(f);
	if (!ok)
		die("read /proc/self/statm", -MM_EIO);
	return resident * sysconf(_SC_PAGESIZE);
}

/* Bytes the engine allocated for m (the frame array, the machine, every
 * zone's pageblock-type and per-CPU arrays), as mm_machine_create sizes
 * them; malloc's own headers are not counted. */
static unsigned long long engine_bytes(const struct mm_machine *m)
{
	unsigned long long b = sizeof(*m) +
			       (unsigned long long)m->nr_pfns * sizeof(struct mm_page);

	for (int n = 0; n < m->nr_nodes; n++)
		for (int zi = 0; zi < m->nr_zone_types; zi++) {
			const struct mm_zone *z = &m->nodes[n].zones[zi];
			uint32_t nblocks = z->spanned
				? ((z->start_pfn + z->spanned - 1) >> m->pageblock_order) -
				  (z->start_pfn >> m->pageblock_order) + 1
				: 1;
			b += nblocks + (unsigned long long)m->cfg.cpus *
					       sizeof(struct mm_pcp);
		}
	return b;
}

struct mem_result {
	uint32_t nr_pfns;
	double engine_per_frame;       /* engine_bytes / frames */
	double rss_per_frame[BENCH_MAX_RUNS];
	struct stat3 rss;
};

static void measure_memory(struct mem_result *mr, uint64_t bytes, int runs)
{
	for (int r = 0; r < runs; r++) {
		long long before = rss_bytes();
		struct mm_machine *m = bench_machine("bench-alloc", bytes);
		long long after = rss_bytes();
		mr->nr_pfns = m->nr_pfns;
		mr->engine_per_frame = (double)engine_bytes(m) / m->nr_pfns;
		mr->rss_per_frame[r] = (double)(after - before) / m->nr_pfns;
		mm_machine_destroy(m);
	}
	mr->rss = stat3_of(mr->rss_per_frame, runs);
}

/* ---- the report ----------------------------------------------------- */
struct pair_bench {
	const char *name;       /* JSON key */
	const char *label;      /* table label */
	enum bench_kind kind, base;
	double budget_ns;       /* > 0: the median ns/pair must not exceed it */
	double budget_ratio;    /* > 0: the median ratio must not exceed it */
	double ns[BENCH_MAX_RUNS], base_ns[BENCH_MAX_RUNS], ratio[BENCH_MAX_RUNS];
	struct stat3 s, b, q;
};

/* 1 PASS, 0 MISS, -1 informative (no budget); the MEDIAN decides. */
static int verdict(const struct pair_bench *p)
{
	if (p->budget_ns > 0)
		return p->s.median <= p->budget_ns;
	if (p->budget_ratio > 0)
		return p->q.median <= p->budget_ratio;
	return -1;
}

static void json_array(FILE *f, const double *v, int n)
{
	fputc('[', f);
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%.3f", i ? ", " : "", v[i]);
	fputc(']', f);
}

static int write_json(const char *path, const struct pair_bench *pb, int npb,
		      const struct mem_result *mr, int runs, long iters,
		      uint64_t mem_bytes)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "bench-alloc: cannot write %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	fprintf(f, "{\n  \"benchmark\": \"alloc\",\n  \"runs\": %d,\n"
		   "  \"pairs_per_run\": %ld,\n  \"machine_bytes\": %llu,\n"
		   "  \"decided_by\": \"median\",\n",
		runs, iters, (unsigned long long)mem_bytes);
	for (int i = 0; i < npb; i++) {
		const struct pair_bench *p = &pb[i];
		fprintf(f, "  \"%s\": {\n    \"unit\": \"ns/pair\",\n"
			   "    \"runs\": ", p->name);
		json_array(f, p->ns, runs);
		fprintf(f, ",\n    ");
		json_stat3(f, "ns", p->s);
		fprintf(f, ",\n    \"baseline\": \"%s\",\n    \"baseline_runs\": ",
			kind_names[p->base]);
		json_array(f, p->base_ns, runs);
		fprintf(f, ",\n    ");
		json_stat3(f, "baseline_ns", p->b);
		fprintf(f, ",\n    \"ratio_runs\": ");
		json_array(f, p->ratio, runs);
		fprintf(f, ",\n    ");
		json_stat3(f, "ratio", p->q);
		if (p->budget_ns > 0)
			fprintf(f, ",\n    \"budget_ns\": %.0f", p->budget_ns);
		if (p->budget_ratio > 0)
			fprintf(f, ",\n    \"budget_ratio\": %.2f", p->budget_ratio);
		if (verdict(p) >= 0)
			fprintf(f, ",\n    \"pass\": %s",
				verdict(p) ? "true" : "false");
		fprintf(f, "\n  },\n");
	}
	fprintf(f, "  \"host_memory\": {\n    \"machine_bytes\": %llu,\n"
		   "    \"frames\": %u,\n    \"descriptor_bytes\": %zu,\n"
		   "    \"descriptor_budget\": 32,\n    \"pass\": %s,\n"
		   "    \"engine_bytes_per_frame\": %.3f,\n"
		   "    \"rss_bytes_per_frame_runs\": ",
		(unsigned long long)(4 * BENCH_GIB), mr->nr_pfns,
		sizeof(struct mm_page),
		sizeof(struct mm_page) <= 32 ? "true" : "false",
		mr->engine_per_frame);
	json_array(f, mr->rss_per_frame, runs);
	fprintf(f, ",\n    ");
	json_stat3(f, "rss_bytes_per_frame", mr->rss);
	fprintf(f, "\n  }\n}\n");
	if (fclose(f)) {
		fprintf(stderr, "bench-alloc: writing %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static void print_table(const struct pair_bench *pb, int npb,
			const struct mem_result *mr, int runs, long iters)
{
	printf("bench-alloc: %d runs x %ld pairs, 1 GiB x86_64 machine, cpu 0; "
	       "figures min/median/max, MEDIAN decides\n", runs, iters);
	printf("%-30s %-22s %-28s %-20s %-10s %s\n", "benchmark",
	       "mmsim ns/pair", "baseline ns/pair", "ratio", "budget", "result");
	for (int i = 0; i < npb; i++) {
		const struct pair_bench *p = &pb[i];
		char a[32], b[48], q[32], bud[16];
		snprintf(a, sizeof(a), "%.1f/%.1f/%.1f", p->s.min, p->s.median,
			 p->s.max);
		snprintf(b, sizeof(b), "%.1f/%.1f/%.1f %s", p->b.min,
			 p->b.median, p->b.max, kind_names[p->base]);
		snprintf(q, sizeof(q), "%.2f/%.2f/%.2f", p->q.min, p->q.median,
			 p->q.max);
		if (p->budget_ns > 0)
			snprintf(bud, sizeof(bud), "<= %.0f ns", p->budget_ns);
		else if (p->budget_ratio > 0)
			snprintf(bud, sizeof(bud), "<= %.1fx", p->budget_ratio);
		else
			snprintf(bud, sizeof(bud), "info");
		int v = verdict(p);
		printf("%-30s %-22s %-28s %-20s %-10s %s\n", p->label, a, b, q,
		       bud, v < 0 ? "-" : v ? "PASS" : "MISS");
	}
	char a[32], q[32];
	printf("%-30s %-22zu %-28s %-20s %-10s %s\n", "frame descriptor (B)",
	       sizeof(struct mm_page), "-", "-", "<= 32 B",
	       sizeof(struct mm_page) <= 32 ? "PASS" : "MISS");
	snprintf(a, sizeof(a), "%.2f", mr->engine_per_frame);
	snprintf(q, sizeof(q), "%.3f",
		 mr->engine_per_frame / (double)sizeof(struct mm_page));
	printf("%-30s %-22s %-28s %-20s %-10s %s\n",
	       "engine bytes/frame, 4 GiB", a, "descriptor", q, "info", "-");
	snprintf(a, sizeof(a), "%.2f/%.2f/%.2f", mr->rss.min, mr->rss.median,
		 mr->rss.max);
	snprintf(q, sizeof(q), "%.3f",
		 mr->rss.median / (double)sizeof(struct mm_page));
	printf("%-30s %-22s %-28s %-20s %-10s %s\n",
	       "host RSS bytes/frame, 4 GiB", a, "descriptor", q, "info", "-");
	printf("(ratio = mmsim / baseline per run; baselines are glibc "
	       "malloc+free pairs, informative except for kmalloc, whose budget "
	       "is the ratio; 4 GiB machine = %u frames)\n", mr->nr_pfns);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench-alloc [--json FILE] [--runs N] [--pairs N]\n"
		"       bench-alloc --callgrind-loop N "
		"order0|order3|order3held|kmalloc64|malloc4k|malloc32k|"
		"malloc64\n");
	exit(2);
}

static long parse_long(const char *s, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min)
		usage();
	return v;
}

/* Exits unless the invariant checker finds m consistent. */
static void check_machine(const struct mm_machine *m)
{
	struct mm_violation v[4];
	int nv = mm_check(m, v, 4);

	if (!nv)
		return;
	for (int i = 0; i < nv && i < 4; i++)
		fprintf(stderr, "bench-alloc: check: %s: %s\n", v[i].invariant,
			v[i].detail);
	die("mm_check after the loops", -MM_EFAULT);
}

/* The callgrind mode: a fresh machine, N untimed pairs, no output. */
static int callgrind_loop(long n, const char *kind)
{
	int k;

	for (k = 0; k < K_NR; k++)
		if (!strcmp(kind, kind_names[k]))
			break;
	if (k == K_NR)
		usage();
	/* Every kind gets a machine here, so that an N = 0 run of any kind
	 * is the baseline of all. */
	struct mm_machine *m = kind_machine((enum bench_kind)k);
	if (!m)
		m = bench_machine("bench-alloc", BENCH_GIB);
	run_pairs(m, (enum bench_kind)k, n);
	mm_machine_destroy(m);
	return 0;
}

int main(int argc, char **argv)
{
	const char *json = NULL;
	int runs = 7;
	long iters = 2000000;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") && i + 1 < argc)
			json = argv[++i];
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = (int)parse_long(argv[++i], BENCH_MIN_RUNS);
		else if (!strcmp(argv[i], "--pairs") && i + 1 < argc)
			iters = parse_long(argv[++i], 1);
		else if (!strcmp(argv[i], "--callgrind-loop") && i + 2 < argc &&
			 i + 3 == argc)
			return callgrind_loop(parse_long(argv[i + 1], 0),
					      argv[i + 2]);
		else
			usage();
	}
	if (runs > BENCH_MAX_RUNS)
		usage();

	struct pair_bench pb[] = {
		{.name = "order0_pcp", .label = "order-0 alloc+free (pcp)",
		 .kind = K_ORDER0, .base = K_MALLOC4K, .budget_ns = 30},
		{.name = "order3_buddy", .label = "order-3 alloc+free (buddy)",
		 .kind = K_ORDER3, .base = K_MALLOC32K, .budget_ns = 60},
		{.name = "order3_buddy_held", .label = "order-3, buddy held (info)",
		 .kind = K_ORDER3_HELD, .base = K_MALLOC32K, .budget_ns = 0},
		{.name = "kmalloc64", .label = "kmalloc(64)+kfree (slab)",
		 .kind = K_KMALLOC64, .base = K_MALLOC64, .budget_ratio = 2},
		{.name = "mmap_munmap", .label = "mmap+munmap 4K (64 VMAs)",
		 .kind = K_MMAP, .base = K_HOSTMMAP, .budget_ns = 0},
	};
	int npb = (int)(sizeof(pb) / sizeof(pb[0]));
	/* One fresh machine per engine benchmark, as in --callgrind-loop, so
	 * both modes time the same buddy state (one kind's leftovers would
	 * change how deep the other kind splits). */
	struct mm_machine *m[K_NR] = {NULL};
	for (int i = 0; i < npb; i++)
		m[pb[i].kind] = kind_machine(pb[i].kind);

	/* Warm up every path (pcp refill, malloc arenas, caches). */
	for (int k = 0; k < K_NR; k++)
		run_pairs(m[k], (enum bench_kind)k,
			  kind_pairs((enum bench_kind)k, iters) / 10 + 1);
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < npb; i++) {
			pb[i].ns[r] = time_pairs(m[pb[i].kind], pb[i].kind,
						 kind_pairs(pb[i].kind, iters));
			pb[i].base_ns[r] = time_pairs(NULL, pb[i].base,
						      kind_pairs(pb[i].base, iters));
			pb[i].ratio[r] = pb[i].ns[r] / pb[i].base_ns[r];
		}
	for (int i = 0; i < npb; i++) {
		pb[i].s = stat3_of(pb[i].ns, runs);
		pb[i].b = stat3_of(pb[i].base_ns, runs);
		pb[i].q = stat3_of(pb[i].ratio, runs);
		check_machine(m[pb[i].kind]);
		mm_machine_destroy(m[pb[i].kind]);
	}

	static struct mem_result mr;
	measure_memory(&mr, 4 * BENCH_GIB, runs);

	print_table(pb, npb, &mr, runs, iters);
	if (json && write_json(json, pb, npb, &mr, runs, iters, BENCH_GIB))
		return 1;
	return 0;
}
