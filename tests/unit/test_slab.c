/*
 * test_slab.c — the SLUB model (engine/slab.c), one test per cache path.
 *
 * What it proves:
 *   - sizing: every kmalloc-*, kmalloc-rcl-*, dma-kmalloc-*, kmalloc-cg-*
 *     cache and the engine's own caches show the objsize / objperslab /
 *     pagesperslab of the reference host's /proc/slabinfo (2 cpus), and user
 *     caches get the order and objects per slab that SLUB's
 *     calculate_sizes() + calculate_order() give, worked out by hand below
 *     for 2 and 8 cpus and for i386;
 *   - /proc/slabinfo has the host's header and column layout, and its
 *     active_objs follows count_partial() (free objects of cpu slabs count
 *     as active);
 *   - kmalloc picks its cache like kmalloc_index()/kmalloc_size_index[] and
 *     kmalloc_type(), goes to compound buddy pages above 8 KiB (accounted
 *     as unreclaimable slab), and kmalloc(0) is ZERO_SIZE_PTR;
 *   - the per-cpu fast path hands out one slab in address order, LIFO
 *     after frees, one active slab per cpu;
 *   - the partial / full / empty life cycle: cpu partial lists, their
 *     flush to the node at cpu_partial_slabs, the min_partial rule for
 *     empty slabs, kmem_cache_shrink, kmem_cache_destroy;
 *   - SLAB_POISON caches (debug caches: no cpu slabs, ksize = object size,
 *     poison checked by the checker), failure on a tiny machine with full
 *     recovery, every error leaving the digest unchanged, the checker
 *     naming each corrupted slab invariant, and the digest following slab
 *     state deterministically.
 */
#include "tests/unit/util.h"

#include <stdlib.h>

#define KB(pages) ((int64_t)(pages) * 4)

static struct mm_machine *new_machine(enum mm_arch arch, uint64_t mem, int cpus)
{
	struct mm_config c = tu_config(arch, mem);
	c.cpus = cpus;
	return tu_machine(&c);
}

/* Copies the next line of text into buf; returns where the one after
 * starts, or NULL at the end. */
static const char *next_line(const char *p, char *buf, size_t len)
{
	if (!p || !*p)
		return NULL;
	size_t n = strcspn(p, "\n");
	size_t k = n < len - 1 ? n : len - 1;
	memcpy(buf, p, k);
	buf[k] = '\0';
	return p[n] ? p + n + 1 : p + n;
}

/* A value of /proc/meminfo in kB ("MemFree:", "Slab:", …). */
static int64_t meminfo_kb(const struct mm_machine *m, const char *key)
{
	char *t = tu_render(m, mm_proc_meminfo);
	char line[256];
	int64_t v = -1;
	for (const char *p = t; (p = next_line(p, line, sizeof(line)));)
		if (strncmp(line, key, strlen(key)) == 0) {
			v = strtoll(line + strlen(key), NULL, 10);
			break;
		}
	free(t);
	ASSERT(v >= 0);
	return v;
}

/* MemFree with the per-CPU lists drained (pcp pages are not free). */
static int64_t drained_free_kb(struct mm_machine *m)
{
	mm_drain_all_pages(m);
	return meminfo_kb(m, "MemFree:");
}

static int violated(const struct mm_machine *m, const char *name)
{
	struct mm_violation v[64];
	int n = mm_check(m, v, 64);
	for (int i = 0; i < n && i < 64; i++)
		if (strcmp(v[i].invariant, name) == 0)
			return 1;
	return 0;
}

/* The slab record holding an object address. */
static uint32_t slab_of(const struct mm_machine *m, uint64_t addr)
{
	ASSERT(addr >= mm_page_offset(m));
	uint32_t pfn = (uint32_t)((addr - mm_page_offset(m)) >> MM_PAGE_SHIFT);
	ASSERT(pfn < m->nr_pfns);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_slab));
	return m->pages[pfn].index;
}

/* Pages held by a cache's slabs, recounted from the slab records. */
static uint64_t cache_pages(const struct mm_machine *m, int cache)
{
	uint64_t pages = 0;
	for (uint32_t id = 0; id < m->nr_slabs; id++)
		if (m->slabs[id].pfn != MM_NIL && m->slabs[id].cache == (uint32_t)cache)
			pages += 1u << m->slabs[id].order;
	return pages;
}

static int64_t node_slab_pages(const struct mm_machine *m, int item)
{
	int64_t s = 0;
	for (int n = 0; n < m->nr_nodes; n++)
		s += m->nodes[n].vm_stat[item];
	return s;
}

/* ---- /proc/slabinfo rows -------------------------------------------- */

struct si_row {
	char name[64];
	unsigned long active, num;
	unsigned objsize, perslab;
	int pages;
	unsigned limit, batch, shared;
	unsigned long aslabs, nslabs, avail;
};

static int si_parse(const char *line, struct si_row *r)
{
	return sscanf(line, "%63s %lu %lu %u %u %d : tunables %u %u %u : "
			    "slabdata %lu %lu %lu",
		      r->name, &r->active, &r->num, &r->objsize, &r->perslab,
		      &r->pages, &r->limit, &r->batch, &r->shared, &r->aslabs,
		      &r->nslabs, &r->avail) == 12;
}

/* The line Linux's slabinfo_show() prints for a row. */
static void si_format(const struct si_row *r, char *buf, size_t len)
{
	snprintf(buf, len, "%-17s %6lu %6lu %6u %4u %4d : tunables %4u %4u %4u "
			   ": slabdata %6lu %6lu %6lu",
		 r->name, r->active, r->num, r->objsize, r->perslab, r->pages,
		 r->limit, r->batch, r->shared, r->aslabs, r->nslabs, r->avail);
}

static int si_find(const char *text, const char *name, struct si_row *r)
{
	char line[512];
	for (const char *p = text; (p = next_line(p, line, sizeof(line)));)
		if (si_parse(line, r) && strcmp(r->name, name) == 0)
			return 1;
	return 0;
}

static struct si_row si_get(const struct mm_machine *m, const char *name)
{
	struct si_row r;
	char *t = tu_render(m, mm_proc_slabinfo);
	if (!si_find(t, name, &r))
		th_fail(__FILE__, __LINE__, "no slabinfo row for %s", name);
	free(t);
	return r;
}

static char *host_slabinfo(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/golden/host/slabinfo", th_srcdir());
	char *t = tu_read_file(path);
	if (!t)
		th_fail(__FILE__, __LINE__, "cannot read %s", path);
	return t;
}

static int is_compared_cache(const char *name)
{
	static const char *const prefixes[] = {"kmalloc-", "kmalloc-rcl-",
					       "dma-kmalloc-", "kmalloc-cg-"};
	static const char *const engine[] = {"task_struct", "mm_struct",
					     "vm_area_struct", "anon_vma",
					     "filp", "radix_tree_node"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(engine) / sizeof(engine[0]); i++)
		if (strcmp(name, engine[i]) == 0)
			return 1;
	return 0;
}

/* ---- sizing ------------------------------------------------------------ */

TEST(slab_sizing_matches_host_slabinfo)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 256ull << 20, 2);
	char *host = host_slabinfo();
	char *sim = tu_render(m, mm_proc_slabinfo);
	char line[512];
	int compared = 0;

	for (const char *p = host; (p = next_line(p, line, sizeof(line)));) {
		struct si_row h, s;
		if (!si_parse(line, &h) || !is_compared_cache(h.name))
			continue;
		if (!si_find(sim, h.name, &s))
			th_fail(__FILE__, __LINE__, "host cache %s missing", h.name);
		if (s.objsize != h.objsize || s.perslab != h.perslab ||
		    s.pages != h.pages)
			th_fail(__FILE__, __LINE__, "%s: objsize/objperslab/"
				"pagesperslab %u/%u/%d, host %u/%u/%d", h.name,
				s.objsize, s.perslab, s.pages, h.objsize,
				h.perslab, h.pages);
		compared++;
	}
	/* 4 kmalloc types x 13 sizes (8 … 8k with 96 and 192) + 6 engine
	 * caches. */
	ASSERT_EQ(compared, 4 * 13 + 6);
	free(host);
	free(sim);
	mm_machine_destroy(m);
}

struct sizing_case {
	const char *name;
	uint32_t size, align, flags;
	uint32_t want_size, want_align;
	unsigned want_order;
	uint32_t want_objects;
};

static void check_sizing(enum mm_arch arch, int cpus,
			 const struct sizing_case *cases, size_t n)
{
	struct mm_machine *m = new_machine(arch, 64ull << 20, cpus);
	for (size_t i = 0; i < n; i++) {
		const struct sizing_case *k = &cases[i];
		int id = mm_kmem_cache_create(m, k->name, k->size, k->align, k->flags);
		ASSERT_GE(id, 0);
		const struct mm_kmem_cache *s = m->caches[id];
		if (s->size != k->want_size || s->align != k->want_align ||
		    s->order != k->want_order || s->objects != k->want_objects)
			th_fail(__FILE__, __LINE__, "cpus %d %s: size %u align %u "
				"order %u objects %u, want %u %u %u %u", cpus,
				k->name, s->size, s->align, s->order, s->objects,
				k->want_size, k->want_align, k->want_order,
				k->want_objects);
		struct si_row r = si_get(m, k->name);
		ASSERT_EQ(r.objsize, k->want_size);
		ASSERT_EQ(r.perslab, k->want_objects);
		ASSERT_EQ(r.pages, 1 << k->want_order);
		/* s->min (the fallback): get_order(size) and its objects. */
		unsigned min_order = 0;
		while ((4096u << min_order) < k->want_size)
			min_order++;
		ASSERT_EQ(s->min_order, min_order);
		ASSERT_EQ(s->min_objects, (4096u << min_order) / k->want_size);
		/* A slab really has that many objects. */
		uint64_t a;
		ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &a), 0);
		ASSERT_EQ(m->slabs[slab_of(m, a)].objects, k->want_objects);
		ASSERT_EQ(m->slabs[slab_of(m, a)].order, k->want_order);
		ASSERT_EQ_U64(a % k->want_align, 0);
	}
	tu_check(m, "after creating the sized caches");
	mm_machine_destroy(m);
}

/*
 * calculate_sizes(): size = ALIGN(object_size, sizeof(void *)); a free
 * pointer word is appended for SLAB_POISON; align = calculate_alignment()
 * = max(align, cache line halved while size <= line / 2 [HWCACHE_ALIGN],
 * ARCH_SLAB_MINALIGN = 8) rounded to sizeof(void *); size = ALIGN(size,
 * align).  calculate_order(): min_objects = 4 * (fls(cpus) + 1) — 12 for
 * 2 cpus, 20 for 8 — capped by what fits in an order-3 slab; min_order =
 * get_order(min_objects * size); then the smallest order in
 * [min_order, 3] whose leftover is <= slab / 16, else / 8, else / 4;
 * if none (objects bigger than 32 KiB), get_order(size).
 */
TEST(slab_sizing_user_caches_two_cpus)
{
	static const struct sizing_case c[] = {
		/* 24 B, HWCACHE: line 64 halves to 32 (24 <= 32, not <= 16):
		 * size 32; 12 * 32 = 384 -> order 0, 4096 / 32 = 128. */
		{"u24hw", 24, 0, MM_SLAB_HWCACHE_ALIGN, 32, 32, 0, 128},
		{"u24a32", 24, 32, 0, 32, 32, 0, 128},
		/* align 128: 128 per object, 32 per page. */
		{"u24a128", 24, 128, 0, 128, 128, 0, 32},
		/* 100 -> 104; 12 * 104 -> order 0; 4096 = 39 * 104 + 40,
		 * 40 <= 4096 / 16. */
		{"u100", 100, 0, 0, 104, 8, 0, 39},
		{"u100hw", 100, 0, MM_SLAB_HWCACHE_ALIGN, 128, 64, 0, 32},
		/* 1000: 12 * 1000 = 12000 -> order 2 (16 KiB): 16 objects,
		 * leftover 384 <= 1024. */
		{"u1000", 1000, 0, 0, 1000, 8, 2, 16},
		{"u1000hw", 1000, 0, MM_SLAB_HWCACHE_ALIGN, 1024, 64, 2, 16},
		{"u1000a32", 1000, 32, 0, 1024, 32, 2, 16},
		/* 500 -> 504: 12 * 504 = 6048 -> order 1, 16 objects,
		 * leftover 128 <= 512. */
		{"u500", 500, 0, 0, 504, 8, 1, 16},
		/* 3000 HWCACHE -> 3008: at most 32768 / 3008 = 10 objects,
		 * min_objects 10 -> order 3; leftover 2688 > 32768 / 16 but
		 * <= 32768 / 8: order 3, 10 objects. */
		{"u3000hw", 3000, 0, MM_SLAB_HWCACHE_ALIGN, 3008, 64, 3, 10},
		/* align 128 -> 3072: leftover 2048 = 32768 / 16 exactly. */
		{"u3000a128", 3000, 128, 0, 3072, 128, 3, 10},
		/* 5000 align 32 -> 5024: 6 objects, leftover 2624 (fract 8). */
		{"u5000a32", 5000, 32, 0, 5024, 32, 3, 6},
		{"u5000a128", 5000, 128, MM_SLAB_HWCACHE_ALIGN, 5120, 128, 3, 6},
		/* Over 32 KiB no order <= 3 fits one: get_order(40000) = 4. */
		{"u40000", 40000, 0, 0, 40000, 8, 4, 1},
		/* SLAB_POISON: the free pointer moves behind the object:
		 * 104 + 8 = 112, 36 per page. */
		{"u100p", 100, 0, MM_SLAB_POISON, 112, 8, 0, 36},
		/* An explicit align below ARCH_SLAB_MINALIGN still gets 8. */
		{"u20a4", 20, 4, 0, 24, 8, 0, 170},
	};
	check_sizing(MM_ARCH_X86_64, 2, c, sizeof(c) / sizeof(c[0]));
}

TEST(slab_sizing_user_caches_eight_cpus)
{
	static const struct sizing_case c[] = {
		/* min_objects 20 changes nothing for small objects … */
		{"u24hw", 24, 0, MM_SLAB_HWCACHE_ALIGN, 32, 32, 0, 128},
		{"u100", 100, 0, 0, 104, 8, 0, 39},
		{"u100hw", 100, 0, MM_SLAB_HWCACHE_ALIGN, 128, 64, 0, 32},
		/* … but 20 * 1000 = 20000 needs order 3: 32 objects,
		 * leftover 768 <= 2048. */
		{"u1000", 1000, 0, 0, 1000, 8, 3, 32},
		{"u1000hw", 1000, 0, MM_SLAB_HWCACHE_ALIGN, 1024, 64, 3, 32},
		/* 20 * 504 = 10080 -> order 2: 32 objects, leftover 256. */
		{"u500", 500, 0, 0, 504, 8, 2, 32},
		/* Capped by the order-3 maximum: same as with 2 cpus. */
		{"u3000hw", 3000, 0, MM_SLAB_HWCACHE_ALIGN, 3008, 64, 3, 10},
		{"u5000a32", 5000, 32, 0, 5024, 32, 3, 6},
		{"u5000a128", 5000, 128, 0, 5120, 128, 3, 6},
	};
	check_sizing(MM_ARCH_X86_64, 8, c, sizeof(c) / sizeof(c[0]));
}

TEST(slab_sizing_user_caches_i386)
{
	static const struct sizing_case c[] = {
		/* sizeof(void *) = 4, ARCH_SLAB_MINALIGN is still 8
		 * (__alignof__(unsigned long long)): 20 -> 24. */
		{"i20", 20, 0, 0, 24, 8, 0, 170},
		{"i20a4", 20, 4, 0, 24, 8, 0, 170},
		/* 100 + a 4-byte free pointer = 104. */
		{"i100p", 100, 0, MM_SLAB_POISON, 104, 8, 0, 39},
		{"i1000", 1000, 0, 0, 1000, 8, 2, 16},
	};
	check_sizing(MM_ARCH_I386, 2, c, sizeof(c) / sizeof(c[0]));
}

/* ---- /proc/slabinfo format ------------------------------------------- */

TEST(slab_slabinfo_format_matches_host)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 256ull << 20, 2);
	char *host = host_slabinfo();
	uint64_t a;
	int cache;
	/* Some objects so that the counting columns are not all zero. */
	for (int i = 0; i < 100; i++)
		ASSERT_EQ(mm_kmalloc(m, 40 + (uint64_t)i * 50, MM_GFP_KERNEL, i % 2,
				     &a, &cache), 0);
	char *sim = tu_render(m, mm_proc_slabinfo);
	char hl[512], sl[512], again[512];
	const char *hp = next_line(host, hl, sizeof(hl));
	const char *sp = next_line(sim, sl, sizeof(sl));
	ASSERT_EQ_STR(sl, hl);
	hp = next_line(hp, hl, sizeof(hl));
	sp = next_line(sp, sl, sizeof(sl));
	ASSERT_EQ_STR(sl, hl);

	/* The host's rows are reproduced byte for byte by slabinfo_show()'s
	 * format (this pins the format string) … */
	int rows = 0;
	while ((hp = next_line(hp, hl, sizeof(hl)))) {
		struct si_row r;
		ASSERT(si_parse(hl, &r));
		si_format(&r, again, sizeof(again));
		ASSERT_EQ_STR(again, hl);
		rows++;
	}
	ASSERT_GT(rows, 58);
	/* … and so is every simulated row. */
	rows = 0;
	while ((sp = next_line(sp, sl, sizeof(sl)))) {
		struct si_row r;
		ASSERT(si_parse(sl, &r));
		si_format(&r, again, sizeof(again));
		ASSERT_EQ_STR(again, sl);
		ASSERT_EQ(r.limit + r.batch + r.shared + r.avail, 0);
		ASSERT_EQ(r.aslabs, r.nslabs);
		ASSERT_EQ(r.num, r.nslabs * r.perslab);
		rows++;
	}
	ASSERT_EQ(rows, 4 * 13 + 6);
	/* Newest first, in Linux's creation order: the cgroup kmalloc
	 * caches were created last (8k the very last), then dma, rcl and
	 * normal; 96 and 192 before 8 … 8k in each type. */
	static const char *const order[] = {
		"\nkmalloc-cg-8k ", "\nkmalloc-cg-8 ", "\nkmalloc-cg-192 ",
		"\nkmalloc-cg-96 ", "\ndma-kmalloc-8k ", "\ndma-kmalloc-96 ",
		"\nkmalloc-rcl-8k ", "\nkmalloc-rcl-96 ", "\nkmalloc-8k ",
		"\nkmalloc-4k ", "\nkmalloc-8 ", "\nkmalloc-192 ", "\nkmalloc-96 ",
	};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		ASSERT(strstr(sim, order[i]) != NULL);
		if (i)
			ASSERT(strstr(sim, order[i - 1]) < strstr(sim, order[i]));
	}
	free(host);
	free(sim);
	mm_machine_destroy(m);
}

/* ---- kmalloc ----------------------------------------------------------- */

/* kmalloc_size_index[] below 192, kmalloc_index() = fls(size - 1) above. */
static uint32_t kmalloc_bucket(uint64_t size)
{
	static const uint32_t small[] = {8, 16, 32, 64, 96, 128, 192};
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		if (size <= small[i])
			return small[i];
	uint32_t b = 256;
	while (b < size)
		b <<= 1;
	return b;
}

static void bucket_name(const char *prefix, uint32_t bucket, char *buf,
			size_t len)
{
	if (bucket >= 1024)
		snprintf(buf, len, "%s%uk", prefix, bucket >> 10);
	else
		snprintf(buf, len, "%s%u", prefix, bucket);
}

TEST(slab_kmalloc_size_classes)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 256ull << 20, 2);
	char want[64];

	for (uint64_t size = 1; size <= 8192; size++) {
		uint64_t a;
		int cache = -2;
		ASSERT_EQ(mm_kmalloc(m, size, MM_GFP_KERNEL, (int)(size & 1), &a,
				     &cache), 0);
		ASSERT_GE(cache, 0);
		uint32_t b = kmalloc_bucket(size);
		bucket_name("kmalloc-", b, want, sizeof(want));
		if (strcmp(m->caches[cache]->name, want) != 0)
			th_fail(__FILE__, __LINE__, "kmalloc(%lu) used %s, want %s",
				(unsigned long)size, m->caches[cache]->name, want);
		ASSERT_EQ(mm_ksize(m, a), b);
		/* kmalloc's alignment guarantee: the largest power of two
		 * dividing the bucket size. */
		ASSERT_EQ_U64(a % (b & -b), 0);
		ASSERT_EQ(mm_kfree(m, a, (int)(size & 1)), 0);
	}
	/* The boundaries named explicitly. */
	static const struct { uint64_t size; const char *name; } edge[] = {
		{1, "kmalloc-8"}, {8, "kmalloc-8"}, {9, "kmalloc-16"},
		{16, "kmalloc-16"}, {17, "kmalloc-32"}, {33, "kmalloc-64"},
		{64, "kmalloc-64"}, {65, "kmalloc-96"}, {96, "kmalloc-96"},
		{97, "kmalloc-128"}, {129, "kmalloc-192"}, {192, "kmalloc-192"},
		{193, "kmalloc-256"}, {257, "kmalloc-512"}, {1025, "kmalloc-2k"},
		{4096, "kmalloc-4k"}, {4097, "kmalloc-8k"}, {8192, "kmalloc-8k"},
	};
	for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		uint64_t a;
		int cache;
		ASSERT_EQ(mm_kmalloc(m, edge[i].size, MM_GFP_KERNEL, 0, &a, &cache), 0);
		ASSERT_EQ_STR(m->caches[cache]->name, edge[i].name);
	}
	/* create_boot_cache(): kmalloc caches are aligned to the largest
	 * power of two dividing their size (96 -> 32, 192 -> 64). */
	static const struct { const char *name; uint32_t align; } al[] = {
		{"kmalloc-8", 8}, {"kmalloc-96", 32}, {"kmalloc-192", 64},
		{"kmalloc-256", 256}, {"dma-kmalloc-96", 32}, {"kmalloc-8k", 8192},
	};
	for (size_t i = 0; i < sizeof(al) / sizeof(al[0]); i++) {
		int id = mm_kmem_cache_lookup(m, al[i].name);
		ASSERT_GE(id, 0);
		ASSERT_EQ(m->caches[id]->align, al[i].align);
	}
	tu_check(m, "after the size sweep");
	mm_machine_destroy(m);
}

TEST(slab_kmalloc_large_uses_buddy_pages)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 256ull << 20, 2);
	static const struct { uint64_t size; unsigned order; } c[] = {
		{8193, 2}, {12288, 2}, {16384, 2}, {16385, 3}, {32768, 3},
		{65536, 4}, {100000, 5}, {1u << 22, 10},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int64_t free0 = drained_free_kb(m);
		int64_t slab0 = meminfo_kb(m, "Slab:");
		int64_t sunr0 = meminfo_kb(m, "SUnreclaim:");
		int64_t srec0 = meminfo_kb(m, "SReclaimable:");
		uint64_t a;
		int cache = 7;
		/* __GFP_RECLAIMABLE does not matter: kmalloc_large() always
		 * accounts NR_SLAB_UNRECLAIMABLE_B. */
		uint32_t gfp = i % 2 ? MM_GFP_KERNEL | MM___GFP_RECLAIMABLE
				     : MM_GFP_KERNEL;
		ASSERT_EQ(mm_kmalloc(m, c[i].size, gfp, 1, &a, &cache), 0);
		ASSERT_EQ(cache, -1);
		ASSERT_EQ_U64(a % ((uint64_t)4096 << c[i].order), 0);
		ASSERT_EQ(mm_ksize(m, a), (int64_t)4096 << c[i].order);
		uint32_t pfn = (uint32_t)((a - mm_page_offset(m)) >> MM_PAGE_SHIFT);
		ASSERT(mm_page_test(&m->pages[pfn], MM_PG_large_kmalloc));
		ASSERT(mm_page_test(&m->pages[pfn], MM_PG_head));
		ASSERT(!mm_page_test(&m->pages[pfn], MM_PG_slab));
		ASSERT_EQ(m->pages[pfn].refcount, 1);
		int64_t pages = 1 << c[i].order;
		ASSERT_EQ(meminfo_kb(m, "MemFree:"), free0 - KB(pages));
		ASSERT_EQ(meminfo_kb(m, "Slab:"), slab0 + KB(pages));
		ASSERT_EQ(meminfo_kb(m, "SUnreclaim:"), sunr0 + KB(pages));
		ASSERT_EQ(meminfo_kb(m, "SReclaimable:"), srec0);
		tu_check(m, "with a large kmalloc");
		/* Not the head: refused, nothing changes. */
		char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
		mm_digest(m, d0);
		ASSERT_EQ(mm_kfree(m, a + 8, 0), -MM_EINVAL);
		ASSERT_EQ(mm_kfree(m, a + 4096, 0), -MM_EINVAL);
		ASSERT_EQ(mm_ksize(m, a + 4096), -MM_EINVAL);
		mm_digest(m, d1);
		ASSERT_EQ_STR(d1, d0);
		ASSERT_EQ(mm_kfree(m, a, 0), 0);
		ASSERT_EQ(meminfo_kb(m, "MemFree:"), free0);
		ASSERT_EQ(meminfo_kb(m, "Slab:"), slab0);
		ASSERT_EQ(mm_kfree(m, a, 0), -MM_EINVAL); /* double free */
	}
	/* Above MAX_PAGE_ORDER there is no block to give. */
	uint64_t a;
	int cache;
	ASSERT_EQ(mm_kmalloc(m, (1u << 22) + 1, MM_GFP_KERNEL, 0, &a, &cache),
		  -MM_ENOMEM);
	tu_check(m, "after the large kmallocs");
	mm_machine_destroy(m);
}

TEST(slab_kmalloc_gfp_types)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 256ull << 20, 2);
	static const struct { uint32_t gfp; const char *prefix; } c[] = {
		{MM_GFP_KERNEL, "kmalloc-"},
		{MM_GFP_ATOMIC, "kmalloc-"},
		{MM_GFP_KERNEL | MM___GFP_DMA, "dma-kmalloc-"},
		{MM_GFP_DMA, "dma-kmalloc-"},
		{MM_GFP_KERNEL | MM___GFP_RECLAIMABLE, "kmalloc-rcl-"},
		{MM_GFP_KERNEL | MM___GFP_ACCOUNT, "kmalloc-cg-"},
		/* kmalloc_type() priorities: DMA, then RECLAIMABLE, then
		 * ACCOUNT. */
		{MM_GFP_KERNEL | MM___GFP_DMA | MM___GFP_RECLAIMABLE, "dma-kmalloc-"},
		{MM_GFP_KERNEL | MM___GFP_DMA | MM___GFP_ACCOUNT, "dma-kmalloc-"},
		{MM_GFP_KERNEL | MM___GFP_RECLAIMABLE | MM___GFP_ACCOUNT,
		 "kmalloc-rcl-"},
	};
	char want[64];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t size = 24 + 200 * i;
		int64_t srec0 = meminfo_kb(m, "SReclaimable:");
		int64_t sunr0 = meminfo_kb(m, "SUnreclaim:");
		uint64_t a;
		int cache;
		bucket_name(c[i].prefix, kmalloc_bucket(size), want, sizeof(want));
		int id = mm_kmem_cache_lookup(m, want);
		ASSERT_GE(id, 0);
		uint64_t pages0 = cache_pages(m, id);
		ASSERT_EQ(mm_kmalloc(m, size, c[i].gfp, 0, &a, &cache), 0);
		ASSERT_EQ(cache, id);
		const struct mm_slab *sl = &m->slabs[slab_of(m, a)];
		const struct mm_zone *z = mm_page_zone(m, sl->pfn);
		/* A new slab, unless an earlier case used the same cache. */
		int64_t pages = (int64_t)(cache_pages(m, id) - pages0);
		ASSERT(pages == 0 || pages == 1 << sl->order);
		if (strcmp(c[i].prefix, "dma-kmalloc-") == 0)
			ASSERT_EQ_STR(z->name, "DMA");
		else
			ASSERT(strcmp(z->name, "DMA") != 0);
		if (strcmp(c[i].prefix, "kmalloc-rcl-") == 0) {
			ASSERT_EQ(meminfo_kb(m, "SReclaimable:"), srec0 + KB(pages));
			ASSERT_EQ(meminfo_kb(m, "SUnreclaim:"), sunr0);
			ASSERT_EQ(mm_pageblock_migratetype(m, sl->pfn),
				  MM_MIGRATE_RECLAIMABLE);
		} else {
			ASSERT_EQ(meminfo_kb(m, "SReclaimable:"), srec0);
			ASSERT_EQ(meminfo_kb(m, "SUnreclaim:"), sunr0 + KB(pages));
		}
	}
	/* The slab pages' migratetype comes from the cache, not the caller:
	 * new_slab() keeps only the reclaim and constraint bits of gfp. */
	int id = mm_kmem_cache_create(m, "plain", 64, 0, 0);
	uint64_t a;
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL | MM___GFP_RECLAIMABLE,
				      0, &a), 0);
	ASSERT_EQ(mm_pageblock_migratetype(m, m->slabs[slab_of(m, a)].pfn),
		  MM_MIGRATE_UNMOVABLE);
	tu_check(m, "after typed kmallocs");
	mm_machine_destroy(m);
}

TEST(slab_kmalloc_zero_size)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 64ull << 20, 2);
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	uint64_t a = 1;
	int cache = 5;

	mm_digest(m, d0);
	ASSERT_EQ(mm_kmalloc(m, 0, MM_GFP_KERNEL, 0, &a, &cache), 0);
	ASSERT_EQ_HEX(a, MM_ZERO_SIZE_PTR);
	ASSERT_EQ(cache, -1);
	ASSERT_EQ(mm_ksize(m, MM_ZERO_SIZE_PTR), 0); /* ksize(ZERO_SIZE_PTR) */
	ASSERT_EQ(mm_kfree(m, MM_ZERO_SIZE_PTR, 0), 0);
	ASSERT_EQ(mm_kfree(m, MM_ZERO_SIZE_PTR, 1), 0);
	ASSERT_EQ(mm_kfree(m, 0, 0), 0);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d1, d0);
	tu_check(m, "after kmalloc(0)");
	mm_machine_destroy(m);
}

/* ---- the per-cpu fast path ------------------------------------------- */

TEST(slab_cpu_fast_path)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 64ull << 20, 2);
	int id = mm_kmem_cache_create(m, "fast64", 64, 0, 0);
	ASSERT_GE(id, 0);
	const struct mm_kmem_cache *s = m->caches[id];
	ASSERT_EQ(s->size, 64);
	ASSERT_EQ(s->objects, 64);
	uint64_t a[64], x;

	/* A fresh slab hands out its objects in address order. */
	for (int i = 0; i < 64; i++) {
		ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &a[i]), 0);
		ASSERT_EQ_HEX(a[i], a[0] + 64u * (uint64_t)i);
	}
	ASSERT_EQ_U64(a[0] & 4095, 0);
	uint32_t sid = slab_of(m, a[0]);
	ASSERT_EQ(s->cpu[0].slab, sid);
	ASSERT_EQ(m->slabs[sid].state, MM_SLAB_CPU);
	ASSERT_EQ(m->slabs[sid].cpu, 0);
	ASSERT_EQ(m->slabs[sid].inuse, 64);

	/* LIFO: the last freed object comes back first. */
	ASSERT_EQ(mm_kmem_cache_free(m, id, a[10], 0), 0);
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &x), 0);
	ASSERT_EQ_HEX(x, a[10]);
	ASSERT_EQ(mm_kmem_cache_free(m, id, a[3], 0), 0);
	ASSERT_EQ(mm_kmem_cache_free(m, id, a[7], 0), 0);
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &x), 0);
	ASSERT_EQ_HEX(x, a[7]);
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &x), 0);
	ASSERT_EQ_HEX(x, a[3]);

	/* The full active slab is dropped (on no list) for a new one. */
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &x), 0);
	uint32_t sid2 = slab_of(m, x);
	ASSERT_NE(sid2, sid);
	ASSERT_EQ_U64(x & 4095, 0);
	ASSERT_EQ(m->slabs[sid].state, MM_SLAB_FULL);
	ASSERT_EQ(s->cpu[0].slab, sid2);

	/* cpu 1 gets its own active slab. */
	uint64_t y, y2;
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 1, &y), 0);
	uint32_t sid3 = slab_of(m, y);
	ASSERT_NE(sid3, sid);
	ASSERT_NE(sid3, sid2);
	ASSERT_EQ(s->cpu[1].slab, sid3);
	ASSERT_EQ(m->slabs[sid3].cpu, 1);
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 1, &y2), 0);
	ASSERT_EQ_HEX(y2, y + 64);
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &x), 0);
	ASSERT_EQ(slab_of(m, x), sid2);
	tu_check(m, "after the fast path");
	mm_machine_destroy(m);
}

/* ---- partial / full / empty life cycle --------------------------------- */

static void expect_list(const struct mm_machine *m, const struct mm_slab_list *l,
			const uint32_t *ids, uint32_t n)
{
	ASSERT_EQ(l->count, n);
	uint32_t id = l->head;
	for (uint32_t i = 0; i < n; i++) {
		if (id != ids[i])
			th_fail(__FILE__, __LINE__, "list position %u holds slab "
				"%u, want %u", i, id, ids[i]);
		id = m->slabs[id].next;
	}
	ASSERT_EQ(id, MM_NIL);
}

TEST(slab_partial_full_empty_life_cycle)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 256ull << 20, 2);
	int id = mm_kmem_cache_create(m, "life1k", 1024, 0, 0);
	ASSERT_GE(id, 0);
	const struct mm_kmem_cache *s = m->caches[id];
	/* 1024 B: order 2, 16 objects; set_cpu_partial(): 24 objects ->
	 * DIV_ROUND_UP(24 * 2, 16) = 3 slabs; min_partial = ilog2(1024) / 2
	 * = 5. */
	ASSERT_EQ(s->order, 2);
	ASSERT_EQ(s->objects, 16);
	ASSERT_EQ(s->cpu_partial_slabs, 3);
	ASSERT_EQ(s->min_partial, 5);

	int64_t free0 = drained_free_kb(m);
	uint64_t obj[12][16];
	uint32_t sid[12];
	for (int k = 0; k < 12; k++) {
		for (int j = 0; j < 16; j++) {
			ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0,
						      &obj[k][j]), 0);
			ASSERT_EQ_HEX(obj[k][j], obj[k][0] + 1024u * (uint64_t)j);
		}
		sid[k] = slab_of(m, obj[k][0]);
	}
	for (int k = 0; k < 11; k++)
		ASSERT_EQ(m->slabs[sid[k]].state, MM_SLAB_FULL);
	ASSERT_EQ(m->slabs[sid[11]].state, MM_SLAB_CPU);
	ASSERT_EQ(meminfo_kb(m, "MemFree:"), free0 - KB(12 * 4));
	struct si_row r = si_get(m, "life1k");
	ASSERT_EQ(r.num, 192);
	ASSERT_EQ(r.active, 192);
	ASSERT_EQ(r.nslabs, 12);

	/* One free per full slab on cpu 1: each slab goes to cpu 1's
	 * partial list (head first); the 4th finds 3 there and flushes them
	 * to the node list (tail adds, in list order), then goes alone. */
	for (int k = 0; k < 9; k++) {
		ASSERT_EQ(mm_kmem_cache_free(m, id, obj[k][0], 1), 0);
		ASSERT_EQ(m->slabs[sid[k]].state, MM_SLAB_CPU_PARTIAL);
		ASSERT_EQ(m->slabs[sid[k]].cpu, 1);
	}
	uint32_t node_want[] = {sid[2], sid[1], sid[0], sid[5], sid[4], sid[3]};
	uint32_t cpu_want[] = {sid[8], sid[7], sid[6]};
	expect_list(m, &s->node[0].partial, node_want, 6);
	expect_list(m, &s->cpu[1].partial, cpu_want, 3);
	expect_list(m, &s->cpu[0].partial, NULL, 0);
	for (int k = 0; k < 6; k++)
		ASSERT_EQ(m->slabs[sid[k]].state, MM_SLAB_PARTIAL);
	ASSERT_EQ(meminfo_kb(m, "MemFree:"), free0 - KB(12 * 4));
	/* count_partial(): only the node list's free objects are free; the
	 * three on cpu 1's partial slabs show as active. */
	r = si_get(m, "life1k");
	ASSERT_EQ(r.num, 192);
	ASSERT_EQ(r.active, 192 - 6);
	tu_check(m, "after the cpu partial flush");

	/* Empty the node's partial slabs (slab 0 first).  An empty slab is
	 * discarded while the node holds >= min_partial (5) partial slabs,
	 * counting itself: slab 0 at 6, slab 1 at 5; the other four stay,
	 * empty, on the list. */
	for (int k = 0; k < 6; k++)
		for (int j = 1; j < 16; j++)
			ASSERT_EQ(mm_kmem_cache_free(m, id, obj[k][j], 0), 0);
	ASSERT_EQ(m->slabs[sid[0]].pfn, MM_NIL);
	ASSERT_EQ(m->slabs[sid[1]].pfn, MM_NIL);
	uint32_t node_want2[] = {sid[2], sid[5], sid[4], sid[3]};
	expect_list(m, &s->node[0].partial, node_want2, 4);
	ASSERT_EQ(meminfo_kb(m, "MemFree:"), free0 - KB(10 * 4));
	ASSERT_EQ_U64(cache_pages(m, id), 40);
	/* 10 slabs, 64 free objects on the node list; 93 objects live plus
	 * the 3 free on cpu 1's partial slabs. */
	r = si_get(m, "life1k");
	ASSERT_EQ(r.nslabs, 10);
	ASSERT_EQ(r.num, 160);
	ASSERT_EQ(r.active, 96);
	tu_check(m, "after emptying node partial slabs");

	/* kmem_cache_shrink(): flush_all() moves cpu 0's full active slab
	 * off the cpu (full: on no list) and cpu 1's partial slabs to the
	 * node tail; then the four empty slabs are freed (16 pages) and the
	 * three slabs with one free object are promoted to the head in the
	 * order list_move() builds (reversed). */
	ASSERT_EQ(mm_kmem_cache_shrink(m, id), 16);
	ASSERT_EQ(s->cpu[0].slab, MM_NIL);
	ASSERT_EQ(m->slabs[sid[11]].state, MM_SLAB_FULL);
	uint32_t node_want3[] = {sid[6], sid[7], sid[8]};
	expect_list(m, &s->node[0].partial, node_want3, 3);
	expect_list(m, &s->cpu[1].partial, NULL, 0);
	ASSERT_EQ(meminfo_kb(m, "MemFree:"), free0 - KB(6 * 4));
	r = si_get(m, "life1k");
	ASSERT_EQ(r.nslabs, 6);
	ASSERT_EQ(r.active, 93);
	tu_check(m, "after shrink");

	/* Free the rest: every page comes back. */
	for (int k = 6; k < 12; k++)
		for (int j = 0; j < 16; j++)
			if (k >= 9 || j > 0)
				ASSERT_EQ(mm_kmem_cache_free(m, id, obj[k][j], k % 2), 0);
	uint64_t before = cache_pages(m, id);
	int freed = mm_kmem_cache_shrink(m, id);
	ASSERT_EQ(freed, (int64_t)before);
	ASSERT_EQ_U64(cache_pages(m, id), 0);
	ASSERT_EQ(drained_free_kb(m), free0);
	r = si_get(m, "life1k");
	ASSERT_EQ(r.num + r.active + r.nslabs, 0);
	tu_check(m, "after freeing everything");
	mm_machine_destroy(m);
}

/* shrink's answer is every page it gave back, including empty slabs that
 * flush_all() discards on the way (node already at min_partial). */
TEST(slab_shrink_counts_flushed_slabs)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 256ull << 20, 2);
	int id = mm_kmem_cache_create(m, "shr1k", 1024, 0, 0);
	const struct mm_kmem_cache *s = m->caches[id];
	uint64_t obj[12][16];

	for (int k = 0; k < 12; k++)
		for (int j = 0; j < 16; j++)
			ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0,
						      &obj[k][j]), 0);
	/* Slabs 0..8 to cpu 1's partial list and the node (as above), then
	 * empty slabs 6..8, which stay frozen on cpu 1's list. */
	for (int k = 0; k < 9; k++)
		ASSERT_EQ(mm_kmem_cache_free(m, id, obj[k][0], 1), 0);
	for (int k = 6; k < 9; k++)
		for (int j = 1; j < 16; j++)
			ASSERT_EQ(mm_kmem_cache_free(m, id, obj[k][j], 1), 0);
	ASSERT_EQ(s->cpu[1].partial.count, 3);
	ASSERT_EQ(s->node[0].partial.count, 6);
	int64_t free0 = drained_free_kb(m);
	uint64_t before = cache_pages(m, id);
	/* __put_partials() discards all three (node has 6 >= 5). */
	int freed = mm_kmem_cache_shrink(m, id);
	ASSERT_EQ(freed, 12);
	ASSERT_EQ_U64(before - cache_pages(m, id), 12);
	ASSERT_EQ(drained_free_kb(m), free0 + KB(12));
	tu_check(m, "after shrink");
	mm_machine_destroy(m);
}

/* ---- errors ------------------------------------------------------------ */

#define EXPECT_UNCHANGED(m, call, err)                                   \
	do {                                                              \
		char d0_[MM_DIGEST_HEX], d1_[MM_DIGEST_HEX];              \
		mm_digest(m, d0_);                                        \
		ASSERT_EQ(call, err);                                     \
		mm_digest(m, d1_);                                        \
		ASSERT_EQ_STR(d1_, d0_);                                  \
	} while (0)

TEST(slab_errors_leave_state_unchanged)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 64ull << 20, 2);
	int id = mm_kmem_cache_create(m, "err64", 64, 0, 0);
	int k64 = mm_kmem_cache_lookup(m, "kmalloc-64");
	ASSERT_GE(id, 0);
	ASSERT_GE(k64, 0);
	uint64_t a, b, k, k2;
	int cache;
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &a), 0);
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &b), 0);
	ASSERT_EQ(mm_kmalloc(m, 64, MM_GFP_KERNEL, 0, &k, &cache), 0);
	ASSERT_EQ(mm_kmalloc(m, 64, MM_GFP_KERNEL, 0, &k2, &cache), 0);
	ASSERT_EQ(cache, k64);

	/* kfree: double free, inside an object, non-slab memory. */
	ASSERT_EQ(mm_kfree(m, k, 1), 0);
	EXPECT_UNCHANGED(m, mm_kfree(m, k, 1), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kfree(m, k, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kfree(m, k2 + 8, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kfree(m, k2 + 63, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_ksize(m, k2 + 8), -MM_EINVAL);
	uint32_t buddy = MM_NIL, reserved = MM_NIL;
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		if (buddy == MM_NIL && mm_page_test(&m->pages[pfn], MM_PG_buddy))
			buddy = pfn;
		if (reserved == MM_NIL && mm_page_test(&m->pages[pfn], MM_PG_reserved) &&
		    !mm_page_test(&m->pages[pfn], MM_PG_hole))
			reserved = pfn;
	}
	ASSERT_NE(buddy, MM_NIL);
	ASSERT_NE(reserved, MM_NIL);
	EXPECT_UNCHANGED(m, mm_kfree(m, mm_pfn_to_virt(m, buddy), 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kfree(m, mm_pfn_to_virt(m, reserved), 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kfree(m, 0x1000, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kfree(m, mm_pfn_to_virt(m, m->nr_pfns), 0),
			 -MM_EINVAL);
	/* A kmem_cache_alloc() object is not kfree()'s. */
	EXPECT_UNCHANGED(m, mm_kfree(m, a, 0), -MM_EINVAL);
	/* kmem_cache_free: wrong cache both ways, double free. */
	EXPECT_UNCHANGED(m, mm_kmem_cache_free(m, id, k2, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_free(m, k64, a, 0), -MM_EINVAL);
	ASSERT_EQ(mm_kmem_cache_free(m, id, a, 1), 0);
	EXPECT_UNCHANGED(m, mm_kmem_cache_free(m, id, a, 1), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_free(m, id, b + 1, 0), -MM_EINVAL);
	/* Bad cpus. */
	EXPECT_UNCHANGED(m, mm_kfree(m, k2, 2), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kfree(m, k2, -1), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_free(m, id, b, 2), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 2, &a),
			 -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmalloc(m, 8, MM_GFP_KERNEL, 5, &a, &cache),
			 -MM_EINVAL);

	/* kmem_cache_create: duplicate names, bad size, align, name. */
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "err64", 64, 0, 0), -MM_EEXIST);
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "kmalloc-64", 8, 0, 0),
			 -MM_EEXIST);
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "filp", 8, 0, 0), -MM_EEXIST);
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "zero", 0, 0, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "huge", (4u << 20) + 1, 0, 0),
			 -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "a3", 64, 3, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "a24", 64, 24, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "a8k", 64, 8192, 0), -MM_EINVAL);
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, "", 64, 0, 0), -MM_EINVAL);
	char longname[MM_SLAB_NAME_MAX + 1];
	memset(longname, 'x', MM_SLAB_NAME_MAX);
	longname[MM_SLAB_NAME_MAX] = '\0';
	EXPECT_UNCHANGED(m, mm_kmem_cache_create(m, longname, 64, 0, 0), -MM_EINVAL);
	longname[MM_SLAB_NAME_MAX - 1] = '\0'; /* 31 characters fit */
	ASSERT_GE(mm_kmem_cache_create(m, longname, 64, 0, 0), 0);

	/* kmem_cache_destroy: live objects, kmalloc and engine caches. */
	EXPECT_UNCHANGED(m, mm_kmem_cache_destroy(m, id), -MM_EBUSY);
	EXPECT_UNCHANGED(m, mm_kmem_cache_destroy(m, k64), -MM_EPERM);
	EXPECT_UNCHANGED(m, mm_kmem_cache_destroy(m, m->engine_caches[MM_CACHE_FILP]),
			 -MM_EPERM);

	/* Unknown cache ids. */
	int unused = MM_SLAB_MAX_CACHES - 1;
	ASSERT(m->caches[unused] == NULL);
	static const int bad[] = {-1, MM_SLAB_MAX_CACHES - 1, MM_SLAB_MAX_CACHES,
				  100000};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_UNCHANGED(m, mm_kmem_cache_alloc(m, bad[i], MM_GFP_KERNEL, 0, &a),
				 -MM_ENOENT);
		EXPECT_UNCHANGED(m, mm_kmem_cache_free(m, bad[i], b, 0), -MM_ENOENT);
		EXPECT_UNCHANGED(m, mm_kmem_cache_shrink(m, bad[i]), -MM_ENOENT);
		EXPECT_UNCHANGED(m, mm_kmem_cache_destroy(m, bad[i]), -MM_ENOENT);
	}
	EXPECT_UNCHANGED(m, mm_kmem_cache_lookup(m, "nosuch"), -MM_ENOENT);
	tu_check(m, "after the errors");
	mm_machine_destroy(m);
}

/* ---- destroy ------------------------------------------------------------ */

TEST(slab_destroy_returns_pages_and_name)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 256ull << 20, 2);
	int64_t free0 = drained_free_kb(m);
	char *info0 = tu_render(m, mm_proc_slabinfo);

	int id = mm_kmem_cache_create(m, "dtest", 1000, 0, MM_SLAB_HWCACHE_ALIGN);
	ASSERT_GE(id, 0);
	uint64_t a[50];
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, i % 2, &a[i]), 0);
	ASSERT(meminfo_kb(m, "MemFree:") < free0);
	ASSERT_EQ(mm_kmem_cache_destroy(m, id), -MM_EBUSY);
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(mm_kmem_cache_free(m, id, a[(i * 7) % 50], (i / 3) % 2), 0);
	ASSERT_GT(cache_pages(m, id), 0);  /* kept for reuse until destroy */
	ASSERT_EQ(mm_kmem_cache_destroy(m, id), 0);
	ASSERT(m->caches[id] == NULL);
	ASSERT_EQ(drained_free_kb(m), free0);
	ASSERT_EQ(node_slab_pages(m, MM_NR_SLAB_UNRECLAIMABLE), 0);
	char *info1 = tu_render(m, mm_proc_slabinfo);
	ASSERT_EQ_STR(info1, info0);
	ASSERT(!strstr(info1, "dtest"));
	ASSERT_EQ(mm_kmem_cache_lookup(m, "dtest"), -MM_ENOENT);
	ASSERT_EQ(mm_kmem_cache_destroy(m, id), -MM_ENOENT);
	for (uint32_t sid = 0; sid < m->nr_slabs; sid++)
		ASSERT_EQ(m->slabs[sid].pfn, MM_NIL);
	tu_check(m, "after destroy");

	/* The name is free again, at another size. */
	int id2 = mm_kmem_cache_create(m, "dtest", 64, 0, 0);
	ASSERT_GE(id2, 0);
	uint64_t x;
	ASSERT_EQ(mm_kmem_cache_alloc(m, id2, MM_GFP_KERNEL, 0, &x), 0);
	ASSERT_EQ(si_get(m, "dtest").objsize, 64);
	ASSERT_EQ(mm_kmem_cache_free(m, id2, x, 0), 0);
	tu_check(m, "after reuse");
	free(info0);
	free(info1);
	mm_machine_destroy(m);
}

/* ---- SLAB_POISON -------------------------------------------------------- */

TEST(slab_poison_cache)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 64ull << 20, 2);
	int id = mm_kmem_cache_create(m, "poisoned", 100, 0, MM_SLAB_POISON);
	ASSERT_GE(id, 0);
	const struct mm_kmem_cache *s = m->caches[id];
	ASSERT_EQ(s->size, 112);
	/* A debug cache keeps no per-cpu partial slabs. */
	ASSERT_EQ(s->cpu_partial_slabs, 0);
	uint64_t a[3];
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 0, &a[i]), 0);
	ASSERT_EQ_HEX(a[1], a[0] + 112);
	/* slab_ksize(): SLAB_POISON gives the object size, not the stride. */
	ASSERT_EQ(mm_ksize(m, a[0]), 100);
	/* Debug caches take SLUB's slow path: no cpu slab, the slab sits on
	 * the node's partial list while it has free objects. */
	uint32_t sid = slab_of(m, a[0]);
	ASSERT_EQ(s->cpu[0].slab, MM_NIL);
	ASSERT_EQ(m->slabs[sid].state, MM_SLAB_PARTIAL);
	ASSERT_EQ(s->node[0].partial.head, sid);
	ASSERT_EQ(mm_kmem_cache_free(m, id, a[1], 1), 0);
	tu_check(m, "poisoned cache, clean");

	struct mm_slab *sl = &m->slabs[sid];
	ASSERT(sl->shadow != NULL);
	uint8_t *freed = sl->shadow + 1 * s->object_size;
	ASSERT_EQ(freed[0], 0x6b);
	ASSERT_EQ(freed[98], 0x6b);
	ASSERT_EQ(freed[99], 0xa5);
	freed[42] = 0x00;               /* a write after free */
	ASSERT(violated(m, "slab-poison"));
	freed[42] = 0x6b;
	freed[99] = 0x6b;               /* POISON_END overwritten */
	ASSERT(violated(m, "slab-poison"));
	freed[99] = 0xa5;
	/* Allocated objects hold anything. */
	sl->shadow[0] = 0x11;
	tu_check(m, "allocated object bytes are not checked");
	ASSERT_EQ(mm_kmem_cache_free(m, id, a[0], 0), 0);
	ASSERT_EQ(sl->shadow[0], 0x6b); /* re-poisoned on free */
	tu_check(m, "after freeing the written object");

	/* A full debug slab is on no list; a free puts it back on the node
	 * list (no cpu partial list). */
	uint64_t more[40];
	int n = 0;
	while (m->slabs[sid].inuse < m->slabs[sid].objects)
		ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 1, &more[n++]), 0);
	ASSERT_EQ(m->slabs[sid].state, MM_SLAB_FULL);
	ASSERT_EQ(s->node[0].partial.count, 0);
	ASSERT_EQ(mm_kmem_cache_free(m, id, more[0], 1), 0);
	ASSERT_EQ(m->slabs[sid].state, MM_SLAB_PARTIAL);
	ASSERT_EQ(s->cpu[1].partial.count, 0);
	tu_check(m, "after a full debug slab");
	mm_machine_destroy(m);
}

/* ksize() per slab_ksize(): the whole stride for plain caches, inuse
 * (the word-aligned object) for SLAB_TYPESAFE_BY_RCU. */
TEST(slab_ksize_per_cache_kind)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 64ull << 20, 2);
	int plain = mm_kmem_cache_create(m, "plain100", 100, 0, MM_SLAB_HWCACHE_ALIGN);
	int rcu = mm_kmem_cache_create(m, "rcu100", 100, 0, MM_SLAB_TYPESAFE_BY_RCU);
	uint64_t a, b;
	ASSERT_EQ(mm_kmem_cache_alloc(m, plain, MM_GFP_KERNEL, 0, &a), 0);
	ASSERT_EQ(mm_kmem_cache_alloc(m, rcu, MM_GFP_KERNEL, 0, &b), 0);
	ASSERT_EQ(mm_ksize(m, a), 128);
	ASSERT_EQ(m->caches[rcu]->size, 112);
	ASSERT_EQ(mm_ksize(m, b), 104);
	mm_machine_destroy(m);
}

/* ---- allocation failure ------------------------------------------------- */

static void shrink_all(struct mm_machine *m)
{
	for (int i = 0; i < MM_SLAB_MAX_CACHES; i++)
		if (m->caches[i])
			ASSERT_GE(mm_kmem_cache_shrink(m, i), 0);
}

TEST(slab_alloc_failure_on_tiny_machine)
{
	struct mm_machine *m = new_machine(MM_ARCH_X86_64, 8ull << 20, 2);
	shrink_all(m);
	int64_t free0 = drained_free_kb(m);
	static uint64_t obj[2048];
	int n = 0, rc = 0, cache = -1;

	while (n < 2048) {
		rc = mm_kmalloc(m, 8192, MM_GFP_KERNEL, n % 2, &obj[n], &cache);
		if (rc)
			break;
		n++;
	}
	ASSERT_EQ(rc, -MM_ENOMEM);
	ASSERT_GT(n, 100);
	ASSERT_LT(n, 8 << 20 >> 13);
	tu_check(m, "at ENOMEM");
	/* Still failing, and still consistent, on both cpus. */
	uint64_t x;
	ASSERT_EQ(mm_kmalloc(m, 8192, MM_GFP_KERNEL, 1, &x, &cache), -MM_ENOMEM);
	tu_check(m, "after a second ENOMEM");
	const struct si_row r = si_get(m, "kmalloc-8k");
	ASSERT_GE(r.active, (unsigned long)n);

	/* Odd ones first, so slabs go through the partial lists. */
	for (int i = 1; i < n; i += 2)
		ASSERT_EQ(mm_kfree(m, obj[i], 0), 0);
	for (int i = 0; i < n; i += 2)
		ASSERT_EQ(mm_kfree(m, obj[i], 1), 0);
	shrink_all(m);
	ASSERT_EQ(drained_free_kb(m), free0);
	ASSERT_EQ(node_slab_pages(m, MM_NR_SLAB_UNRECLAIMABLE), 0);
	ASSERT_EQ(node_slab_pages(m, MM_NR_SLAB_RECLAIMABLE), 0);
	tu_check(m, "after freeing everything");
	mm_machine_destroy(m);
}

/* ---- checker corruption cases ------------------------------------------- */

struct ck {
	struct mm_machine *m;
	int id;
	uint32_t full, cpu, cpu_partial, partial; /* one slab in each state */
	uint64_t obj[64];
};

/* 256 B objects, 16 per order-0 slab: one slab in each state. */
static void ck_setup(struct ck *c)
{
	c->m = new_machine(MM_ARCH_X86_64, 64ull << 20, 2);
	c->id = mm_kmem_cache_create(c->m, "ck256", 256, 0, 0);
	ASSERT_GE(c->id, 0);
	for (int i = 0; i < 64; i++)
		ASSERT_EQ(mm_kmem_cache_alloc(c->m, c->id, MM_GFP_KERNEL, 0,
					      &c->obj[i]), 0);
	/* slabs 0..2 full, 3 is cpu 0's active slab (full too) */
	ASSERT_EQ(mm_kmem_cache_free(c->m, c->id, c->obj[0], 1), 0);
	ASSERT_EQ(mm_kmem_cache_shrink(c->m, c->id), 0);   /* slab 0 -> node */
	ASSERT_EQ(mm_kmem_cache_free(c->m, c->id, c->obj[16], 1), 0);
	ASSERT_EQ(mm_kmem_cache_free(c->m, c->id, c->obj[63], 0), 0);
	c->partial = slab_of(c->m, c->obj[0]);
	c->cpu_partial = slab_of(c->m, c->obj[16]);
	c->full = slab_of(c->m, c->obj[32]);
	ASSERT_EQ(mm_kmem_cache_alloc(c->m, c->id, MM_GFP_KERNEL, 0, &c->obj[63]), 0);
	c->cpu = slab_of(c->m, c->obj[63]);
	const struct mm_slab *s = c->m->slabs;
	ASSERT_EQ(s[c->partial].state, MM_SLAB_PARTIAL);
	ASSERT_EQ(s[c->cpu_partial].state, MM_SLAB_CPU_PARTIAL);
	ASSERT_EQ(s[c->full].state, MM_SLAB_FULL);
	ASSERT_EQ(s[c->cpu].state, MM_SLAB_CPU);
	tu_check(c->m, "checker fixture");
}

TEST(slab_checker_slab_page)
{
	struct ck c;
	ck_setup(&c);
	struct mm_page *p = &c.m->pages[c.m->slabs[c.full].pfn];
	uint32_t keep = p->index;
	p->index = c.partial;              /* names another slab */
	ASSERT(violated(c.m, "slab-page"));
	p->index = keep;
	p->mapping++;                      /* names another cache */
	ASSERT(violated(c.m, "slab-page"));
	p->mapping--;
	/* A PG_slab frame that no slab owns. */
	uint32_t free_pfn = MM_NIL;
	for (uint32_t pfn = 0; pfn < c.m->nr_pfns && free_pfn == MM_NIL; pfn++)
		if (mm_page_test(&c.m->pages[pfn], MM_PG_buddy))
			free_pfn = pfn;
	c.m->pages[free_pfn].flags |= 1u << MM_PG_slab;
	ASSERT(violated(c.m, "slab-page"));
	c.m->pages[free_pfn].flags &= ~(1u << MM_PG_slab);
	tu_check(c.m, "restored");
	mm_machine_destroy(c.m);
}

TEST(slab_checker_slab_freelist)
{
	struct ck c;
	ck_setup(&c);
	struct mm_slab *sl = &c.m->slabs[c.partial];
	uint16_t head = sl->freelist, keep = sl->free_next[head];
	sl->free_next[head] = head;        /* a cycle */
	ASSERT(violated(c.m, "slab-freelist"));
	sl->free_next[head] = keep;
	sl->freelist = sl->objects;        /* outside the slab */
	ASSERT(violated(c.m, "slab-freelist"));
	sl->freelist = head;
	sl->inuse--;                       /* count disagrees with the chain */
	ASSERT(violated(c.m, "slab-freelist"));
	sl->inuse++;
	/* An allocated object on the chain. */
	sl->free_next[head] = 5;
	ASSERT(violated(c.m, "slab-freelist"));
	sl->free_next[head] = keep;
	tu_check(c.m, "restored");
	mm_machine_destroy(c.m);
}

TEST(slab_checker_slab_state)
{
	struct ck c;
	ck_setup(&c);
	struct mm_slab *s = c.m->slabs;
	s[c.full].state = MM_SLAB_PARTIAL;     /* not on the node list */
	ASSERT(violated(c.m, "slab-state"));
	s[c.full].state = MM_SLAB_FULL;
	s[c.partial].state = MM_SLAB_FULL;     /* on the list, not full */
	ASSERT(violated(c.m, "slab-state"));
	s[c.partial].state = MM_SLAB_PARTIAL;
	s[c.cpu_partial].state = MM_SLAB_CPU;
	ASSERT(violated(c.m, "slab-state"));
	s[c.cpu_partial].state = MM_SLAB_CPU_PARTIAL;
	/* The owner recorded in the slab must be the cpu that holds it. */
	s[c.cpu].cpu = 1;
	ASSERT(violated(c.m, "slab-state"));
	s[c.cpu].cpu = 0;
	s[c.cpu_partial].cpu = 0;
	ASSERT(violated(c.m, "slab-state"));
	s[c.cpu_partial].cpu = 1;
	/* A full slab named as a cpu's active slab. */
	struct mm_kmem_cache *kc = c.m->caches[c.id];
	uint32_t keep = kc->cpu[1].slab;
	kc->cpu[1].slab = c.full;
	ASSERT(violated(c.m, "slab-state"));
	kc->cpu[1].slab = keep;
	tu_check(c.m, "restored");
	mm_machine_destroy(c.m);
}

TEST(slab_checker_slab_counts)
{
	struct ck c;
	ck_setup(&c);
	struct mm_kmem_cache *s = c.m->caches[c.id];
	s->node[0].total_objects++;
	ASSERT(violated(c.m, "slab-counts"));
	s->node[0].total_objects--;
	s->node[0].nr_slabs--;
	ASSERT(violated(c.m, "slab-counts"));
	s->node[0].nr_slabs++;
	c.m->nodes[0].vm_stat[MM_NR_SLAB_UNRECLAIMABLE]++;
	ASSERT(violated(c.m, "slab-counts"));
	c.m->nodes[0].vm_stat[MM_NR_SLAB_UNRECLAIMABLE]--;
	c.m->nodes[0].vm_stat[MM_NR_SLAB_RECLAIMABLE]++;
	ASSERT(violated(c.m, "slab-counts"));
	c.m->nodes[0].vm_stat[MM_NR_SLAB_RECLAIMABLE]--;
	tu_check(c.m, "restored");
	mm_machine_destroy(c.m);
}

TEST(slab_checker_slab_poison)
{
	struct ck c;
	ck_setup(&c);
	int id = mm_kmem_cache_create(c.m, "ckp", 48, 0, MM_SLAB_POISON);
	uint64_t a, b;
	ASSERT_EQ(mm_kmem_cache_alloc(c.m, id, MM_GFP_KERNEL, 0, &a), 0);
	ASSERT_EQ(mm_kmem_cache_alloc(c.m, id, MM_GFP_KERNEL, 0, &b), 0);
	ASSERT_EQ(mm_kmem_cache_free(c.m, id, a, 0), 0);
	struct mm_slab *sl = &c.m->slabs[slab_of(c.m, a)];
	sl->shadow[47] = 0x6b;             /* last byte must be POISON_END */
	ASSERT(violated(c.m, "slab-poison"));
	sl->shadow[47] = 0xa5;
	/* A never-used object of the slab is poisoned too. */
	sl->shadow[5 * 48 + 3] ^= 0xff;
	ASSERT(violated(c.m, "slab-poison"));
	sl->shadow[5 * 48 + 3] ^= 0xff;
	tu_check(c.m, "restored");

	/* Every byte position kind, for objects below a word, word sized
	 * and longer than the checker's compare block. */
	static const uint32_t sizes[] = {1, 5, 9, 16, 100, 129, 1000, 3000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];
		snprintf(name, sizeof(name), "ckp%u", sizes[i]);
		int pid = mm_kmem_cache_create(c.m, name, sizes[i], 0, MM_SLAB_POISON);
		ASSERT_GE(pid, 0);
		ASSERT_EQ(mm_kmem_cache_alloc(c.m, pid, MM_GFP_KERNEL, 0, &a), 0);
		ASSERT_EQ(mm_kmem_cache_alloc(c.m, pid, MM_GFP_KERNEL, 0, &b), 0);
		ASSERT_EQ(mm_kmem_cache_free(c.m, pid, a, 0), 0);
		struct mm_slab *ps = &c.m->slabs[slab_of(c.m, a)];
		ASSERT_EQ_U64(a, mm_pfn_to_virt(c.m, ps->pfn)); /* object 0 */
		uint32_t n = sizes[i];
		uint32_t pos[] = {0, n / 2, n > 1 ? n - 2 : 0, n - 1, n > 8 ? n - 9 : 0};
		for (size_t k = 0; k < sizeof(pos) / sizeof(pos[0]); k++) {
			ps->shadow[pos[k]] ^= 0x10;
			if (!violated(c.m, "slab-poison"))
				th_fail(__FILE__, __LINE__, "size %u: byte %u "
					"corrupted, no slab-poison", n, pos[k]);
			ps->shadow[pos[k]] ^= 0x10;
		}
		tu_check(c.m, "poison restored");
	}
	mm_machine_destroy(c.m);
}

TEST(slab_checker_list_links)
{
	struct ck c;
	ck_setup(&c);
	struct mm_kmem_cache *s = c.m->caches[c.id];
	s->node[0].partial.count++;
	ASSERT(violated(c.m, "list-links"));
	s->node[0].partial.count--;
	s->cpu[1].partial.tail = MM_NIL;
	ASSERT(violated(c.m, "list-links"));
	s->cpu[1].partial.tail = c.cpu_partial;
	c.m->slabs[c.partial].prev = c.full;
	ASSERT(violated(c.m, "list-links"));
	c.m->slabs[c.partial].prev = MM_NIL;
	tu_check(c.m, "restored");
	mm_machine_destroy(c.m);
}

TEST(slab_checker_frame_owner)
{
	struct ck c;
	ck_setup(&c);
	/* A slab frame that lost PG_slab belongs to nothing. */
	struct mm_page *p = &c.m->pages[c.m->slabs[c.full].pfn];
	p->flags &= ~(1u << MM_PG_slab);
	ASSERT(violated(c.m, "frame-owner"));
	ASSERT(violated(c.m, "slab-page"));
	p->flags |= 1u << MM_PG_slab;
	tu_check(c.m, "restored");
	mm_machine_destroy(c.m);
}

/* ---- digest ---------------------------------------------------------------- */

static void digest_ops(struct mm_machine *m, char d[6][MM_DIGEST_HEX])
{
	uint64_t a, b;
	int cache;
	mm_digest(m, d[0]);
	ASSERT_EQ(mm_kmalloc(m, 100, MM_GFP_KERNEL, 0, &a, &cache), 0);
	mm_digest(m, d[1]);
	ASSERT_EQ(mm_kfree(m, a, 1), 0);
	mm_digest(m, d[2]);
	int id = mm_kmem_cache_create(m, "dig", 300, 0, 0);
	ASSERT_GE(id, 0);
	mm_digest(m, d[3]);
	ASSERT_EQ(mm_kmem_cache_alloc(m, id, MM_GFP_KERNEL, 1, &b), 0);
	ASSERT_EQ(mm_kmem_cache_free(m, id, b, 1), 0);
	/* shrink moves the cpu slab off the cpu (and frees it). */
	char before[MM_DIGEST_HEX];
	mm_digest(m, before);
	ASSERT_GT(mm_kmem_cache_shrink(m, id), 0);
	mm_digest(m, d[4]);
	ASSERT(strcmp(before, d[4]) != 0);
	ASSERT_EQ(mm_kmem_cache_destroy(m, id), 0);
	mm_digest(m, d[5]);
}

TEST(slab_digest_follows_slab_state)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m1 = tu_machine(&c), *m2 = tu_machine(&c);
	char d1[6][MM_DIGEST_HEX], d2[6][MM_DIGEST_HEX];
	digest_ops(m1, d1);
	digest_ops(m2, d2);
	for (int i = 0; i < 6; i++) {
		ASSERT_EQ_STR(d1[i], d2[i]);
		for (int j = 0; j < i; j++)
			if (strcmp(d1[i], d1[j]) == 0)
				th_fail(__FILE__, __LINE__, "digest %d equals "
					"digest %d", i, j);
	}
	/* Diverging in one object's cpu diverges the digest. */
	uint64_t a, b;
	int cache;
	ASSERT_EQ(mm_kmalloc(m1, 64, MM_GFP_KERNEL, 0, &a, &cache), 0);
	ASSERT_EQ(mm_kmalloc(m2, 64, MM_GFP_KERNEL, 1, &b, &cache), 0);
	mm_digest(m1, d1[0]);
	mm_digest(m2, d2[0]);
	ASSERT(strcmp(d1[0], d2[0]) != 0);
	mm_machine_destroy(m1);
	mm_machine_destroy(m2);
}
