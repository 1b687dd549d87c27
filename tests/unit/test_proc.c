/*
 * test_proc.c — the /proc renders (engine/proc.c) against golden copies of
 * the reference host's files (tests/golden/host/: kernel 6.18, x86_64, two
 * cpus, one node).
 *
 * What the tests prove:
 *   - format: a simulated machine configured like the host (its cpus, its
 *     zones' managed pages, min_free_kbytes and watermark_scale_factor)
 *     renders buddyinfo, pagetypeinfo, zoneinfo, meminfo and vmstat with
 *     the host's lines, in the host's order, with the host's labels and
 *     spacing: every line matches its golden twin as a template in which
 *     numbers are placeholders (see tpl_* below for the exact rule);
 *   - numbers that depend only on the configuration equal the host's
 *     exactly: every zone's min/low/high/promo watermarks, managed pages,
 *     protection (lowmem_reserve) tuple, per-cpu batch/high_min/high_max,
 *     vm stats threshold, the fixed PC layout of ZONE_DMA and each zone's
 *     start_pfn, and the whole text of the empty Movable and Device zones;
 *   - every render follows snprintf(): it returns the full length for any
 *     buffer size, writes at most len bytes, always NUL-terminates, and
 *     what it writes is a prefix of the full text;
 *   - i386 machines render zoneinfo with DMA, Normal, HighMem and Movable
 *     (no DMA32, no Device), meminfo with HighTotal/HighFree/LowTotal/
 *     LowFree where Linux puts them, and no numa_* counters anywhere.
 *
 * Reference kernel (golden uname -r): 6.18.44-fc-v669; the zoneinfo test
 * prints it again from the file.  Every golden line has a simulated twin:
 * no line of the five files is skipped or special-cased.
 *
 * The golden files were captured on a Firecracker guest whose Normal zone
 * is 21 GiB "present" but only partly managed (memory is handed to the
 * buddy allocator over time), so spanned/present of DMA32 and Normal and
 * every counter of the running system (free pages, events, meminfo sizes)
 * legitimately differ; those are compared as templates only.
 */
#include "tests/unit/util.h"
#include "tests/unit/zoneinfo_parse.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1ull << 20)

typedef size_t (*render_fn)(const struct mm_machine *, char *, size_t);

/* ---- golden files ------------------------------------------------------ */

/* The golden copy of /proc/<name> (or /proc/sys/vm/<name>); never NULL. */
static char *golden(const char *name)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/golden/host/%s", th_srcdir(), name);
	char *s = tu_read_file(path);
	if (!s)
		th_fail(__FILE__, __LINE__, "cannot read %s (set MMSIM_SRCDIR)", path);
	return s;
}

static int64_t golden_int(const char *name)
{
	char *s = golden(name);
	char *end;
	long long v = strtoll(s, &end, 10);

	ASSERT(end != s);
	free(s);
	return v;
}

/*
 * A machine configured like the reference host: x86_64, one node, the
 * golden zoneinfo's cpus and managed pages per zone, the golden
 * min_free_kbytes and watermark_scale_factor, and the smallest memory in
 * which every zone can hold its managed pages.  *gz gets the parsed golden
 * zoneinfo (the caller frees it with zi_free()).
 */
static struct mm_machine *host_machine(struct zi *gz)
{
	char *text = golden("zoneinfo");
	int64_t managed[MM_MAX_ZONES];

	ASSERT_EQ(zi_parse(text, gz), 0);
	free(text);
	ASSERT_EQ(zi_nodes(gz), 1);
	ASSERT_EQ(gz->nzones, mm_zone_type_count(MM_ARCH_X86_64));
	for (int i = 0; i < gz->nzones; i++) {
		ASSERT_EQ_STR(gz->z[i].name, mm_zone_type_name(MM_ARCH_X86_64, i));
		managed[i] = gz->z[i].managed;
	}
	struct mm_config c = tu_config(MM_ARCH_X86_64,
				       zi_fit_memory_x86_64(managed));
	c.cpus = gz->z[0].ncpus;
	ASSERT_EQ(c.cpus, 2);
	for (int i = 0; i < gz->nzones; i++)
		c.zones_managed_pages[0][i] = managed[i];
	c.min_free_kbytes = golden_int("min_free_kbytes");
	c.watermark_scale_factor = (int)golden_int("watermark_scale_factor");
	/* Settings the engine has no knob for must be Linux's defaults. */
	char *ratio = golden("lowmem_reserve_ratio");
	ASSERT_EQ_STR(ratio, "256\t256\t32\t0\t0\n");
	free(ratio);
	ASSERT_EQ(golden_int("percpu_pagelist_high_fraction"), 0);

	struct mm_machine *m = tu_machine(&c);
	/* 5072 MiB for the golden numbers: Normal must hold 229376 managed
	 * pages above 4 GiB plus the memmap of the whole node at its top. */
	ASSERT_EQ_U64(c.memory, 5072 * MIB);
	return m;
}

/* ---- line templates ------------------------------------------------------
 *
 * A line is compared as a sequence of tokens: literal characters, and
 * numbers.  A number is a run of spaces followed by an optionally signed
 * run of digits that is not glued to a word ("DMA32", "DirectMap4k" and
 * "pgalloc_dma32" stay literal text).  Two numbers match when
 *   - their space runs are equal: a value printed with "%lu" after fixed
 *     text ("pages free     %lu"), whatever its width; or
 *   - their space+digit widths are equal (and both have a space): a value
 *     right-aligned in a field ("%6lu ", "%8lu kB") that fits the field.
 * So a different field width, a changed label, a changed padding of a
 * label, a missing separator or an extra number all fail.
 */
struct tpl_tok {
	char c;         /* literal character, or 0 for a number */
	int spaces, width;
};

static int tpl_tokens(const char *s, size_t n, struct tpl_tok *t, int max)
{
	int k = 0;
	size_t i = 0;

	while (i < n && k < max) {
		size_t j = i;
		while (j < n && s[j] == ' ')
			j++;
		size_t d = j + (j < n && s[j] == '-');
		size_t e = d;
		while (e < n && isdigit((unsigned char)s[e]))
			e++;
		bool glued_before = j == i && i > 0 &&
				    (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '_');
		bool glued_after = e < n && (isalnum((unsigned char)s[e]) || s[e] == '_');
		if (e > d && !glued_before && !glued_after) {
			t[k].c = 0;
			t[k].spaces = (int)(j - i);
			t[k].width = (int)(e - i);
			k++;
			i = e;
			continue;
		}
		t[k].c = s[i];
		t[k].spaces = t[k].width = 0;
		k++;
		i++;
	}
	return k;
}

/* Whether line a (got) matches line b (golden) as a template. */
static bool tpl_line_match(const char *a, size_t na, const char *b, size_t nb)
{
	struct tpl_tok ta[512], tb[512];
	int ka = tpl_tokens(a, na, ta, 512), kb = tpl_tokens(b, nb, tb, 512);

	if (ka != kb || ka == 512)
		return false;
	for (int i = 0; i < ka; i++) {
		if (ta[i].c != tb[i].c)
			return false;
		if (ta[i].c)
			continue;
		if (ta[i].spaces != tb[i].spaces &&
		    (ta[i].width != tb[i].width || !ta[i].spaces || !tb[i].spaces))
			return false;
	}
	return true;
}

/* Splits text into lines (pointers into text); returns the count. */
static int tpl_split(const char *text, const char **line, size_t *len, int max)
{
	int n = 0;

	while (*text && n < max) {
		const char *nl = strchr(text, '\n');
		line[n] = text;
		len[n] = nl ? (size_t)(nl - text) : strlen(text);
		n++;
		text += len[n - 1] + (nl != NULL);
	}
	return n;
}

/*
 * Compares two whole files line by line; returns -1 if they match as
 * templates, else the index of the first mismatching line (a line count
 * difference is a mismatch at the shorter file's end).
 */
static int tpl_compare(const char *got, const char *want)
{
	enum { MAX_LINES = 4096 };
	static const char *gl[MAX_LINES], *wl[MAX_LINES];
	static size_t gn[MAX_LINES], wn[MAX_LINES];
	int ng = tpl_split(got, gl, gn, MAX_LINES);
	int nw = tpl_split(want, wl, wn, MAX_LINES);

	ASSERT_LT(ng, MAX_LINES);
	ASSERT_LT(nw, MAX_LINES);
	for (int i = 0; i < ng && i < nw; i++)
		if (!tpl_line_match(gl[i], gn[i], wl[i], wn[i]))
			return i;
	if (ng != nw)
		return ng < nw ? ng : nw;
	/* Both end with a newline, or neither does. */
	if ((got[strlen(got) - 1] == '\n') != (want[strlen(want) - 1] == '\n'))
		return ng - 1;
	return -1;
}

/* Fails the test with both lines unless got matches golden file `name`. */
static void expect_template(const char *name, const char *got)
{
	char *want = golden(name);
	int bad = tpl_compare(got, want);

	if (bad >= 0) {
		const char *gl[4096], *wl[4096];
		size_t gn[4096], wn[4096];
		int ng = tpl_split(got, gl, gn, 4096), nw = tpl_split(want, wl, wn, 4096);
		th_fail(__FILE__, __LINE__,
			"%s line %d differs (%d lines rendered, %d golden):\n"
			"  got:    \"%.*s\"\n  golden: \"%.*s\"", name, bad + 1, ng, nw,
			bad < ng ? (int)gn[bad] : 5, bad < ng ? gl[bad] : "(end)",
			bad < nw ? (int)wn[bad] : 5, bad < nw ? wl[bad] : "(end)");
	}
	free(want);
}

TEST(proc_template_compare_can_fail)
{
	/* Accepted: numbers of any width in fields they fit or after text. */
	ASSERT_EQ(tpl_compare("a      0      1 \n", "a 123456 654321 \n"), -1);
	ASSERT_EQ(tpl_compare("  pages free     772915\n",
			      "  pages free     3840\n"), -1);
	ASSERT_EQ(tpl_compare("MemTotal:          12345 kB\n",
			      "MemTotal:       24684084 kB\n"), -1);
	ASSERT_EQ(tpl_compare("Node 0, zone    DMA32      1 \n",
			      "Node 0, zone    DMA32      9 \n"), -1);
	/* Rejected: field width 5 vs 6, label padding, label text, glued
	 * digits of a name, a lost trailing space, a missing number, an extra
	 * line, a missing final newline. */
	ASSERT_EQ(tpl_compare("a     0 \n", "a      0 \n"), 0);
	ASSERT_EQ(tpl_compare("  pages free    3840\n", "  pages free     3840\n"), 0);
	ASSERT_EQ(tpl_compare("  pages used     3840\n", "  pages free     3840\n"), 0);
	ASSERT_EQ(tpl_compare("Node 0, zone    DMA31 \n", "Node 0, zone    DMA32 \n"), 0);
	ASSERT_EQ(tpl_compare("x 1 2\n", "x 1 2 \n"), 0);
	ASSERT_EQ(tpl_compare("protection: (0, 1)\n", "protection: (0, 1, 2)\n"), 0);
	ASSERT_EQ(tpl_compare("a 1\nb 2\n", "a 1\n"), 1);
	ASSERT_EQ(tpl_compare("a 1\nb 2", "a 1\nb 2\n"), 1);
	ASSERT_EQ(tpl_compare("MemTotal:         12345 kB\n",
			      "MemTotal:       24684084 kB\n"), 0);
}

/* ---- the five files against the golden copies ------------------------- */

/* The text of zone `name`'s block in a zoneinfo (malloc'd), or NULL. */
static char *zone_block(const char *text, const char *name)
{
	char head[64];

	snprintf(head, sizeof(head), "Node 0, zone %8s\n", name);
	const char *s = strstr(text, head);
	if (!s)
		return NULL;
	const char *e = strstr(s + 1, "\nNode ");
	size_t n = e ? (size_t)(e - s) + 1 : strlen(s);
	char *b = malloc(n + 1);
	ASSERT(b != NULL);
	memcpy(b, s, n);
	b[n] = '\0';
	return b;
}

static void print_reference_kernel(void)
{
	char *u = golden("uname");
	/* The golden uname file is `uname -r` then the capture time. */
	fprintf(stderr, "    reference kernel (golden uname -r): %.*s\n",
		(int)strcspn(u, "\n"), u);
	ASSERT(strncmp(u, "6.18.", 5) == 0);
	free(u);
}

TEST(proc_zoneinfo_matches_host)
{
	struct zi gz, sz;
	struct mm_machine *m = host_machine(&gz);
	char *text = tu_render(m, mm_proc_zoneinfo);
	char *want = golden("zoneinfo");

	print_reference_kernel();
	expect_template("zoneinfo", text);
	ASSERT_EQ(zi_parse(text, &sz), 0);
	ASSERT_EQ(sz.nzones, gz.nzones);
	for (int i = 0; i < gz.nzones; i++) {
		const struct zi_zone *g = &gz.z[i], *s = &sz.z[i];
		ASSERT_EQ_STR(s->name, g->name);
		ASSERT_EQ(s->boost, g->boost);
		ASSERT_EQ(s->min, g->min);
		ASSERT_EQ(s->low, g->low);
		ASSERT_EQ(s->high, g->high);
		ASSERT_EQ(s->promo, g->promo);
		ASSERT_EQ(s->managed, g->managed);
		ASSERT_EQ(s->cma, g->cma);
		ASSERT_EQ(s->nprot, g->nprot);
		ASSERT_EQ(s->nprot, MM_MAX_ZONES);
		for (int k = 0; k < g->nprot; k++)
			ASSERT_EQ(s->prot[k], g->prot[k]);
		ASSERT_EQ(s->has_pagesets, g->has_pagesets);
		ASSERT_EQ(s->ncpus, g->ncpus);
		for (int c = 0; c < g->ncpus; c++) {
			ASSERT_EQ(s->pcp[c].cpu, g->pcp[c].cpu);
			ASSERT_EQ(s->pcp[c].batch, g->pcp[c].batch);
			ASSERT_EQ(s->pcp[c].high_min, g->pcp[c].high_min);
			ASSERT_EQ(s->pcp[c].high_max, g->pcp[c].high_max);
			ASSERT_EQ(s->pcp[c].threshold, g->pcp[c].threshold);
			/* count and high are run-time state (high is 0 until
			 * the first allocation clamps it, as on the host). */
		}
		/* Zone boundaries are fixed on x86_64 (pfn 1, 16 MiB, 4 GiB). */
		ASSERT_EQ(s->start_pfn, g->start_pfn);
	}
	/* ZONE_DMA is the same on every PC: pfn 0 and the 640K-1M hole are
	 * not RAM.  DMA32/Normal spanned and present reflect the guest's
	 * memory map (a 3 GiB PCI hole below 4 GiB, hot-plugged memory above)
	 * and legitimately differ. */
	ASSERT_EQ(sz.z[0].spanned, gz.z[0].spanned);
	ASSERT_EQ(sz.z[0].present, gz.z[0].present);

	/* The unpopulated zones print a fixed short block: byte for byte. */
	static const char *const empty[] = {"Movable", "Device"};
	for (int i = 0; i < 2; i++) {
		char *a = zone_block(text, empty[i]), *b = zone_block(want, empty[i]);
		ASSERT(b != NULL);
		ASSERT_EQ_STR(a, b);
		free(a);
		free(b);
	}
	zi_free(&gz);
	zi_free(&sz);
	free(want);
	free(text);
	mm_machine_destroy(m);
}

TEST(proc_buddyinfo_matches_host)
{
	struct zi gz;
	struct mm_machine *m = host_machine(&gz);
	char *text = tu_render(m, mm_proc_buddyinfo);

	expect_template("buddyinfo", text);
	zi_free(&gz);
	free(text);
	mm_machine_destroy(m);
}

TEST(proc_pagetypeinfo_matches_host)
{
	struct zi gz;
	struct mm_machine *m = host_machine(&gz);
	char *text = tu_render(m, mm_proc_pagetypeinfo);

	/* The "Number of mixed blocks" table needs CONFIG_PAGE_OWNER with
	 * page_owner=on; the host has neither, and neither does the engine. */
	expect_template("pagetypeinfo", text);
	zi_free(&gz);
	free(text);
	mm_machine_destroy(m);
}

TEST(proc_meminfo_matches_host)
{
	struct zi gz;
	struct mm_machine *m = host_machine(&gz);
	char *text = tu_render(m, mm_proc_meminfo);

	/* Same lines, same order: the host's options (THP, zswap, no CMA, no
	 * memory-failure line, DirectMap4k/2M/1G) are the engine's x86_64. */
	expect_template("meminfo", text);
	/* Exact where the number is a constant of the configuration. */
	ASSERT_CONTAINS(text, "\nHugepagesize:       2048 kB\n");
	ASSERT_CONTAINS(text, "\nVmallocTotal:   34359738367 kB\n");
	zi_free(&gz);
	free(text);
	mm_machine_destroy(m);
}

TEST(proc_vmstat_matches_host)
{
	struct zi gz;
	struct mm_machine *m = host_machine(&gz);
	char *text = tu_render(m, mm_proc_vmstat);

	expect_template("vmstat", text);
	zi_free(&gz);
	free(text);
	mm_machine_destroy(m);
}

/* ---- snprintf semantics ------------------------------------------------ */

static void expect_snprintf(const struct mm_machine *m, render_fn fn,
			    const char *name)
{
	char *full = tu_render(m, fn);
	size_t need = strlen(full);
	const size_t sizes[] = {1, 2, 3, 17, need / 2, need - 1, need, need + 1,
				need + 64};

	ASSERT_GT(need, 0);
	/* len 0: nothing written, not even the NUL. */
	char guard[4] = "XXX";
	ASSERT_EQ_U64(fn(m, guard, 0), need);
	ASSERT_EQ_STR(guard, "XXX");
	ASSERT_EQ_U64(fn(m, NULL, 0), need);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t len = sizes[i];
		char *buf = malloc(len + 16);
		ASSERT(buf != NULL);
		memset(buf, 'X', len + 16);
		size_t got = fn(m, buf, len);
		if (got != need)
			th_fail(__FILE__, __LINE__, "%s with len %zu returned %zu, "
				"needs %zu", name, len, got, need);
		size_t written = len - 1 < need ? len - 1 : need;
		if (strlen(buf) != written || memcmp(buf, full, written) != 0)
			th_fail(__FILE__, __LINE__, "%s with len %zu: wrote %zu "
				"bytes, expected a %zu-byte prefix", name, len,
				strlen(buf), written);
		for (size_t k = len; k < len + 16; k++)
			if (buf[k] != 'X')
				th_fail(__FILE__, __LINE__, "%s with len %zu wrote "
					"past the buffer at %zu", name, len, k);
		free(buf);
	}
	free(full);
}

TEST(proc_render_snprintf_semantics)
{
	static const struct {
		render_fn fn;
		const char *name;
	} renders[] = {
		{mm_proc_buddyinfo, "buddyinfo"},
		{mm_proc_pagetypeinfo, "pagetypeinfo"},
		{mm_proc_zoneinfo, "zoneinfo"},
		{mm_proc_meminfo, "meminfo"},
		{mm_proc_vmstat, "vmstat"},
		{mm_proc_slabinfo, "slabinfo"},
		{mm_proc_vmallocinfo, "vmallocinfo"},
	};
	const enum mm_arch arch[] = {MM_ARCH_X86_64, MM_ARCH_I386};

	for (int a = 0; a < 2; a++) {
		struct mm_config c = tu_config(arch[a], 64 * MIB);
		struct mm_machine *m = tu_machine(&c);
		uint64_t addr;
		/* A vmalloc area, so that vmallocinfo is not empty. */
		ASSERT_EQ(mm_vmalloc(m, 3 * 4096, 0, &addr), 0);
		for (size_t i = 0; i < sizeof(renders) / sizeof(renders[0]); i++)
			expect_snprintf(m, renders[i].fn, renders[i].name);
		mm_machine_destroy(m);
	}
}

/* ---- i386 ---------------------------------------------------------------- */

/* The value (kB) of a meminfo line, and its line index; fails if absent. */
static int64_t meminfo_kb(const char *text, const char *label, int *index)
{
	const char *lines[256];
	size_t len[256];
	int n = tpl_split(text, lines, len, 256);
	size_t ll = strlen(label);

	for (int i = 0; i < n; i++)
		if (len[i] > ll && !strncmp(lines[i], label, ll) &&
		    lines[i][ll] == ':') {
			if (index)
				*index = i;
			return strtoll(lines[i] + ll + 1, NULL, 10);
		}
	th_fail(__FILE__, __LINE__, "meminfo has no %s line:\n%s", label, text);
}

TEST(proc_i386_zones_and_highmem)
{
	static const char *const zones[] = {"DMA", "Normal", "HighMem", "Movable"};
	const uint64_t sizes[] = {1024 * MIB, 2048 * MIB};

	for (int s = 0; s < 2; s++) {
		struct mm_config c = tu_config(MM_ARCH_I386, sizes[s]);
		struct mm_machine *m = tu_machine(&c);
		char *zi = tu_render(m, mm_proc_zoneinfo);
		char *mi = tu_render(m, mm_proc_meminfo);
		char *vs = tu_render(m, mm_proc_vmstat);
		char *bi = tu_render(m, mm_proc_buddyinfo);
		struct zi z;

		ASSERT_EQ(zi_parse(zi, &z), 0);
		ASSERT_EQ(z.nzones, 4);
		for (int i = 0; i < 4; i++) {
			ASSERT_EQ_STR(z.z[i].name, zones[i]);
			/* MAX_NR_ZONES is 4 on i386: DMA Normal HighMem Movable. */
			ASSERT_EQ(z.z[i].nprot, 4);
			ASSERT_EQ(z.z[i].has_pagesets, i < 3);
		}
		/* HighMem starts at 896 MiB and holds the rest of memory. */
		ASSERT_EQ(z.z[2].start_pfn, 896 * 256);
		ASSERT_EQ(z.z[2].present, (int64_t)(sizes[s] / 4096) - 896 * 256);
		ASSERT(!strstr(zi, "DMA32"));
		ASSERT(!strstr(zi, "Device"));
		ASSERT(!strstr(zi, "numa_"));
		ASSERT(!strstr(vs, "numa_"));
		/* Nor the other CONFIG_NUMA(_BALANCING) counters. */
		ASSERT(!strstr(zi, "pgpromote_"));
		ASSERT(!strstr(vs, "pgpromote_"));
		ASSERT(!strstr(vs, "zone_reclaim_"));
		ASSERT_CONTAINS(zi, "\n      pgdemote_kswapd 0\n");
		ASSERT(!strstr(bi, "DMA32"));
		ASSERT_CONTAINS(bi, "Node 0, zone  HighMem ");
		ASSERT_CONTAINS(vs, "\npgalloc_high 0\n");

		/* meminfo: the CONFIG_HIGHMEM block sits between Mlocked and
		 * SwapTotal (fs/proc/meminfo.c). */
		int i_mlocked, i_ht, i_hf, i_lt, i_lf, i_swap;
		int64_t total = meminfo_kb(mi, "MemTotal", NULL);
		int64_t free_kb = meminfo_kb(mi, "MemFree", NULL);
		meminfo_kb(mi, "Mlocked", &i_mlocked);
		int64_t ht = meminfo_kb(mi, "HighTotal", &i_ht);
		int64_t hf = meminfo_kb(mi, "HighFree", &i_hf);
		int64_t lt = meminfo_kb(mi, "LowTotal", &i_lt);
		int64_t lf = meminfo_kb(mi, "LowFree", &i_lf);
		meminfo_kb(mi, "SwapTotal", &i_swap);
		ASSERT_EQ(i_ht, i_mlocked + 1);
		ASSERT_EQ(i_hf, i_mlocked + 2);
		ASSERT_EQ(i_lt, i_mlocked + 3);
		ASSERT_EQ(i_lf, i_mlocked + 4);
		ASSERT_EQ(i_swap, i_mlocked + 5);
		ASSERT_EQ(ht, z.z[2].managed * 4);
		ASSERT_EQ(hf, z.z[2].free * 4);
		ASSERT_EQ(lt + ht, total);
		ASSERT_EQ(lf + hf, free_kb);
		ASSERT_GT(ht, 0);
		ASSERT_CONTAINS(mi, "\nHugepagesize:       4096 kB\n");
		ASSERT_CONTAINS(mi, "\nDirectMap4M:");

		zi_free(&z);
		free(zi);
		free(mi);
		free(vs);
		free(bi);
		mm_machine_destroy(m);
	}
}
