/*
 * test_watermark.c — zone watermarks, lowmem reserves, per-CPU list sizes
 * and the default min_free_kbytes (engine/machine.c) against Linux.
 *
 * What the tests prove:
 *   - live cross-check: a simulated machine given THIS host's zones'
 *     managed pages, cpu count, min_free_kbytes and watermark_scale_factor
 *     (read from /proc at test time) computes, for every zone with managed
 *     pages, the host kernel's min/low/high/promo watermarks (without the
 *     boost the host may carry at the moment), its protection tuple
 *     (lowmem_reserve) and every cpu's pcp batch/high_min/high_max;
 *   - calculate_min_free_kbytes() (int_sqrt(lowmem_kbytes * 16), clamped)
 *     followed on x86_64 by khugepaged's set_recommended_min_free_kbytes()
 *     (2 + 3*3 pageblocks per populated zone <= Normal, at most 5% of
 *     nr_free_buffer_pages()): hand-computed results for machines where
 *     the 5% cap, the full THP reserve and the sqrt rule (i386, no THP)
 *     each decide, and the reference host's own 67584 kB;
 *   - i386 HighMem (and Movable) zones get min = clamp(managed/1024, 32,
 *     128), with low/high/promo spaced by max(tmp/4, managed*wsf/10000)
 *     where tmp is the zone's share of min_free_kbytes over lowmem.
 */
#include "tests/unit/util.h"
#include "tests/unit/zoneinfo_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1ull << 20)

/* Zone type indices (Linux's enum zone_type per arch). */
enum { X_DMA, X_DMA32, X_NORMAL, X_MOVABLE, X_DEVICE };
enum { I_DMA, I_NORMAL, I_HIGHMEM, I_MOVABLE };

/*
 * A whole file read to EOF into a malloc'd string, or NULL.  (Files under
 * /proc report size 0, so tu_read_file()'s seek-to-end cannot size them.)
 */
static char *read_proc(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 1 << 16, n = 0;
	char *s = f ? malloc(cap) : NULL;

	while (s) {
		n += fread(s + n, 1, cap - n - 1, f);
		if (n < cap - 1)
			break;
		char *t = realloc(s, cap * 2);
		if (!t) {
			free(s);
			s = NULL;
			break;
		}
		s = t;
		cap *= 2;
	}
	if (s)
		s[n] = '\0';
	if (f)
		fclose(f);
	return s;
}

/* The integer in a file (first token), or fails the test. */
static int64_t read_int(const char *path)
{
	char *s = read_proc(path);
	if (!s)
		th_fail(__FILE__, __LINE__, "cannot read %s", path);
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end == s)
		th_fail(__FILE__, __LINE__, "%s: no number in \"%s\"", path, s);
	free(s);
	return v;
}

/* ---- the live host ------------------------------------------------------ */

TEST(watermark_live_host_matches)
{
	char *text = read_proc("/proc/zoneinfo");
	struct zi host;

	ASSERT(text != NULL);
	ASSERT_EQ(zi_parse(text, &host), 0);
	free(text);
	int64_t min_free_kbytes = read_int("/proc/sys/vm/min_free_kbytes");
	int64_t wsf = read_int("/proc/sys/vm/watermark_scale_factor");
	int64_t high_fraction = read_int("/proc/sys/vm/percpu_pagelist_high_fraction");
	char *ratio = read_proc("/proc/sys/vm/lowmem_reserve_ratio");
	char *kernel = read_proc("/proc/sys/kernel/osrelease");

	/* The engine models one x86_64 node with Linux's default ratios and
	 * pcp sizing; on any other host say so instead of comparing. */
	if (zi_nodes(&host) != 1 || host.nzones != MM_MAX_ZONES) {
		fprintf(stderr, "    SKIP: host has %d nodes / %d zone blocks, the "
			"cross-check needs one x86_64 node\n", zi_nodes(&host),
			host.nzones);
		zi_free(&host);
		return;
	}
	int64_t managed[MM_MAX_ZONES];
	int cpus = 0;
	for (int i = 0; i < host.nzones; i++) {
		ASSERT_EQ_STR(host.z[i].name, mm_zone_type_name(MM_ARCH_X86_64, i));
		managed[i] = host.z[i].managed;
		if (host.z[i].has_pagesets && !cpus)
			cpus = host.z[i].ncpus;
	}
	if (cpus < 1 || cpus > MM_MAX_CPUS || managed[X_MOVABLE] ||
	    managed[X_DEVICE]) {
		fprintf(stderr, "    SKIP: host has %d cpus and %lld/%lld Movable/"
			"Device pages; the engine models 1..%d cpus and no "
			"movable or device memory\n", cpus,
			(long long)managed[X_MOVABLE], (long long)managed[X_DEVICE],
			MM_MAX_CPUS);
		zi_free(&host);
		return;
	}
	bool default_ratio = ratio && !strcmp(ratio, "256\t256\t32\t0\t0\n");
	bool default_pcp = high_fraction == 0;

	struct mm_config c = tu_config(MM_ARCH_X86_64, zi_fit_memory_x86_64(managed));
	c.cpus = cpus;
	for (int i = 0; i < MM_MAX_ZONES; i++)
		c.zones_managed_pages[0][i] = managed[i];
	c.min_free_kbytes = min_free_kbytes;
	c.watermark_scale_factor = (int)wsf;
	struct mm_machine *m = tu_machine(&c);

	fprintf(stderr, "    host %.*s: %d cpus, min_free_kbytes %lld, "
		"watermark_scale_factor %lld, managed DMA %lld DMA32 %lld "
		"Normal %lld (simulated with %llu MiB)\n",
		kernel ? (int)strcspn(kernel, "\n") : 1, kernel ? kernel : "?", cpus,
		(long long)min_free_kbytes, (long long)wsf,
		(long long)managed[X_DMA], (long long)managed[X_DMA32],
		(long long)managed[X_NORMAL], (unsigned long long)(c.memory >> 20));
	if (!default_ratio)
		fprintf(stderr, "    note: lowmem_reserve_ratio is not Linux's "
			"default; protection not compared\n");
	if (!default_pcp)
		fprintf(stderr, "    note: percpu_pagelist_high_fraction is %lld; "
			"pcp high_min/high_max not compared\n",
			(long long)high_fraction);

	int compared = 0;
	for (int i = 0; i < host.nzones; i++) {
		const struct zi_zone *h = &host.z[i];
		const struct mm_zone *z = &m->nodes[0].zones[i];
		if (h->managed <= 0)
			continue;  /* empty Movable/Device: nothing to size */
		compared++;
		ASSERT_EQ(z->managed, h->managed);
		/* The host prints wmark + boost; the boost is run-time state
		 * (watermark_boost_factor after a fragmenting fallback). */
		ASSERT_GE(h->boost, 0);
		ASSERT_EQ_U64(z->wmark[MM_WMARK_MIN], h->min - h->boost);
		ASSERT_EQ_U64(z->wmark[MM_WMARK_LOW], h->low - h->boost);
		ASSERT_EQ_U64(z->wmark[MM_WMARK_HIGH], h->high - h->boost);
		ASSERT_EQ_U64(z->wmark[MM_WMARK_PROMO], h->promo - h->boost);
		ASSERT_EQ(h->nprot, MM_MAX_ZONES);
		for (int k = 0; default_ratio && k < h->nprot; k++)
			ASSERT_EQ_U64(z->lowmem_reserve[k], h->prot[k]);
		ASSERT(h->has_pagesets);
		ASSERT_EQ(h->ncpus, cpus);
		for (int cpu = 0; cpu < h->ncpus; cpu++) {
			const struct mm_pcp *p = &z->pcp[cpu];
			ASSERT_EQ(h->pcp[cpu].cpu, cpu);
			ASSERT_EQ(p->batch, h->pcp[cpu].batch);
			if (!default_pcp)
				continue;
			ASSERT_EQ(p->high_min, h->pcp[cpu].high_min);
			ASSERT_EQ(p->high_max, h->pcp[cpu].high_max);
		}
	}
	ASSERT_GT(compared, 0);
	free(ratio);
	free(kernel);
	zi_free(&host);
	mm_machine_destroy(m);
}

/* ---- the default min_free_kbytes ---------------------------------------- */

/* A machine with min_free_kbytes left to Linux's formula. */
static struct mm_machine *formula_machine(enum mm_arch arch, uint64_t memory,
					  const int64_t *managed, int nzones)
{
	struct mm_config c = tu_config(arch, memory);

	ASSERT_EQ(c.min_free_kbytes, -1);
	for (int i = 0; i < nzones; i++)
		c.zones_managed_pages[0][i] = managed[i];
	return tu_machine(&c);
}

static void expect_wmarks(const struct mm_zone *z, uint64_t min, uint64_t low,
			  uint64_t high, uint64_t promo)
{
	ASSERT_EQ_U64(z->wmark[MM_WMARK_MIN], min);
	ASSERT_EQ_U64(z->wmark[MM_WMARK_LOW], low);
	ASSERT_EQ_U64(z->wmark[MM_WMARK_HIGH], high);
	ASSERT_EQ_U64(z->wmark[MM_WMARK_PROMO], promo);
}

TEST(watermark_default_min_free_kbytes)
{
	/*
	 * (a) x86_64 512 MiB, DMA 3840 + DMA32 60000 managed.
	 * calculate_min_free_kbytes(): watermarks are still 0, so lowmem is
	 * 63840 pages = 255360 kB; int_sqrt(255360 * 16) = 2021 kB.
	 * Watermarks for 2021 kB (505 pages): DMA min 505*3840/63840 = 30,
	 * gap max(30/4, 3) = 7, high 44; DMA32 min 474, gap max(118, 60),
	 * high 710.  nr_free_buffer_pages() = 3796 + 59290 = 63086.
	 * THP: 2 zones -> 512*2*2 + 512*2*9 = 11264 pages, capped at
	 * 63086/20 = 3154 pages = 12616 kB > 2021: min_free_kbytes 12616.
	 * Final: DMA min 3154*3840/63840 = 189, gap 47 (189/4 > 3);
	 * DMA32 min 2964, gap 741.
	 */
	int64_t a[] = {3840, 60000};
	struct mm_machine *m = formula_machine(MM_ARCH_X86_64, 512 * MIB, a, 2);
	ASSERT_EQ_U64(m->min_free_kbytes, 12616);
	expect_wmarks(&m->nodes[0].zones[X_DMA], 189, 236, 283, 330);
	expect_wmarks(&m->nodes[0].zones[X_DMA32], 2964, 3705, 4446, 5187);
	mm_machine_destroy(m);

	/*
	 * (b) x86_64 16 MiB, DMA only, 3000 managed: int_sqrt(12000*16) =
	 * 438 kB -> 109 pages, high 109 + 2*27 = 163; nr_free_buffer_pages
	 * 2837, THP 1 zone -> 5632 pages capped at 141 pages = 564 kB.
	 * Final: min 141, gap max(35, 3) = 35.
	 */
	int64_t b[] = {3000};
	m = formula_machine(MM_ARCH_X86_64, 16 * MIB, b, 1);
	ASSERT(!mm_zone_populated(&m->nodes[0].zones[X_DMA32]));
	ASSERT_EQ_U64(m->min_free_kbytes, 564);
	expect_wmarks(&m->nodes[0].zones[X_DMA], 141, 176, 211, 246);
	mm_machine_destroy(m);

	/*
	 * (c) x86_64 2 GiB, DMA 3840 + DMA32 500000: int_sqrt(2015360*16) =
	 * 5678 kB (5678^2 = 32239684 <= 32245760 < 5679^2).  With 1419 pages:
	 * DMA high 10 + 2*3 = 16, DMA32 high 1408 + 2*500 = 2408, so
	 * nr_free_buffer_pages = 3824 + 497592 = 501416, 5% = 25070 >= the
	 * full THP reserve 11264 pages = 45056 kB.  Final: DMA min
	 * 11264*3840/503840 = 85, gap 21; DMA32 min 11178, gap 2794.
	 */
	int64_t c[] = {3840, 500000};
	m = formula_machine(MM_ARCH_X86_64, 2048 * MIB, c, 2);
	ASSERT_EQ_U64(m->min_free_kbytes, 45056);
	expect_wmarks(&m->nodes[0].zones[X_DMA], 85, 106, 127, 148);
	expect_wmarks(&m->nodes[0].zones[X_DMA32], 11178, 13972, 16766, 19560);
	mm_machine_destroy(m);

	/*
	 * (d) i386 1 GiB (no THP: the sqrt rule alone), DMA 3000, Normal
	 * 200000, HighMem 30000: lowmem excludes HighMem, int_sqrt(203000*4
	 * *16) = 3604 kB (3604^2 = 12988816 <= 12992000 < 3605^2) = 901
	 * pages.  HighMem: min clamp(29, 32, 128) = 32, tmp 901*30000/203000
	 * = 133, gap max(33, 30) = 33.
	 */
	int64_t d[] = {3000, 200000, 30000};
	m = formula_machine(MM_ARCH_I386, 1024 * MIB, d, 3);
	ASSERT_EQ_U64(m->min_free_kbytes, 3604);
	expect_wmarks(&m->nodes[0].zones[I_DMA], 13, 16, 19, 22);
	expect_wmarks(&m->nodes[0].zones[I_NORMAL], 887, 1108, 1329, 1550);
	expect_wmarks(&m->nodes[0].zones[I_HIGHMEM], 32, 65, 98, 131);
	mm_machine_destroy(m);
}

TEST(watermark_default_min_free_kbytes_host)
{
	/* The reference host (golden zoneinfo): DMA 3840, DMA32 772915,
	 * Normal 229376 managed.  Its min_free_kbytes, 67584, is exactly the
	 * THP reserve of its 3 zones: (2 + 9) * 512 * 3 pages * 4 kB. */
	char path[1024];
	snprintf(path, sizeof(path), "%s/golden/host/min_free_kbytes", th_srcdir());
	int64_t golden = read_int(path);
	int64_t managed[MM_MAX_ZONES] = {3840, 772915, 229376, 0, 0};
	struct mm_machine *m = formula_machine(MM_ARCH_X86_64,
					       zi_fit_memory_x86_64(managed),
					       managed, MM_MAX_ZONES);

	ASSERT_EQ(golden, 67584);
	ASSERT_EQ_U64(m->min_free_kbytes, (uint64_t)golden);
	mm_machine_destroy(m);
}

/* ---- i386 HighMem ------------------------------------------------------- */

TEST(watermark_i386_highmem_min_clamp)
{
	/*
	 * min_free_kbytes 4096 = 1024 pages over lowmem DMA 3000 + Normal
	 * 200000 = 203000.  HighMem min = clamp(managed / 1024, 32, 128);
	 * its gap is max(tmp / 4, managed / 1000) with tmp = 1024 * managed
	 * / 203000 (HighMem is not lowmem, but Linux still computes tmp).
	 */
	static const struct {
		int64_t managed;
		uint64_t min, low, high, promo;
	} cases[] = {
		{20000, 32, 57, 82, 107},       /* 19 -> floor 32 */
		{32767, 32, 73, 114, 155},      /* 31 -> 32 */
		{32768, 32, 73, 114, 155},      /* exactly 32 */
		{100000, 97, 223, 349, 475},    /* inside the clamp */
		{131071, 127, 292, 457, 622},
		{131072, 128, 293, 458, 623},   /* exactly 128 */
		{250000, 128, 443, 758, 1073},  /* 244 -> ceiling 128 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mm_config c = tu_config(MM_ARCH_I386, 2048 * MIB);
		c.min_free_kbytes = 4096;
		c.zones_managed_pages[0][I_DMA] = 3000;
		c.zones_managed_pages[0][I_NORMAL] = 200000;
		c.zones_managed_pages[0][I_HIGHMEM] = cases[i].managed;
		struct mm_machine *m = tu_machine(&c);
		const struct mm_node *n = &m->nodes[0];

		ASSERT_EQ(n->zones[I_HIGHMEM].managed, cases[i].managed);
		expect_wmarks(&n->zones[I_HIGHMEM], cases[i].min, cases[i].low,
			      cases[i].high, cases[i].promo);
		/* Lowmem zones do not depend on HighMem. */
		expect_wmarks(&n->zones[I_DMA], 15, 18, 21, 24);
		expect_wmarks(&n->zones[I_NORMAL], 1008, 1260, 1512, 1764);
		/* The empty Movable zone: clamp(0, 32, 128) and no gap, as the
		 * host's zoneinfo shows (min = low = high = promo = 32). */
		expect_wmarks(&n->zones[I_MOVABLE], 32, 32, 32, 32);
		/* protection: Normal's ratio 32 over HighMem; HighMem's 0. */
		ASSERT_EQ_U64(n->zones[I_NORMAL].lowmem_reserve[I_HIGHMEM],
			      (uint64_t)cases[i].managed / 32);
		ASSERT_EQ_U64(n->zones[I_DMA].lowmem_reserve[I_HIGHMEM],
			      (uint64_t)(200000 + cases[i].managed) / 256);
		ASSERT_EQ_U64(n->zones[I_HIGHMEM].lowmem_reserve[I_MOVABLE], 0);
		tu_check(m, "after boot");
		mm_machine_destroy(m);
	}
}
