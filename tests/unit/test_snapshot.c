/*
 * test_snapshot.c — snapshot images (engine/snapshot.c, state.c).
 *
 * Random machines of every feature (page allocations, kmalloc, slab caches
 * with and without SLAB_POISON, vmalloc, kmap/pkmap, processes with exec,
 * fork, COW, touches, private and shared anonymous memory, mprotect,
 * madvise, mlock, brk, exit; x86_64, i386 with HighMem, NUMA) are saved
 * and loaded: the copy has the same digest, the same /proc renders and a
 * clean checker, and the same further random operations give both the
 * same results and digests.  Then every kind of damage is refused: each
 * header byte, random payload bytes, truncation, trailing bytes, another
 * format, a foreign file, and payload changes behind a forged checksum.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdlib.h>
#include <string.h>

#define PG 4096ull

/* ---- a random operation driver (its state is copied with the machine) ---- */
#define DRV_MAX 64
struct drv {
	uint64_t rng;
	uint32_t kpfn[DRV_MAX];
	unsigned korder[DRV_MAX];
	int nk;
	uint64_t kmalloc[DRV_MAX];
	int nkm;
	uint64_t vmalloc[DRV_MAX];
	int nv;
	int cache[8];
	int nc;
	uint64_t obj[DRV_MAX];
	int obj_cache[DRV_MAX];
	int nobj;
	uint64_t kmap[DRV_MAX];
	int nkmap;
	int pid[32];
	int np;
	uint32_t serial;
};

static uint8_t *elf_x86_64, *elf_i386;
static size_t elf_x86_64_len, elf_i386_len;

static uint8_t *load_elf(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/golden/elf/%s", th_srcdir(), name);
	FILE *f = fopen(path, "rb");
	if (!f)
		th_fail(__FILE__, __LINE__, "missing %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n);
	ASSERT(b != NULL);
	ASSERT_EQ(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static uint64_t rnd(struct drv *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

static uint64_t below(struct drv *d, uint64_t n)
{
	return n ? rnd(d) % n : 0;
}

/* The k-th VMA of pid (k random), or NULL. */
static const struct mm_vma *pick_vma(struct drv *d, struct mm_machine *m,
				     int pid)
{
	struct mm_task *t = mm_task_get(m, pid);
	if (!t)
		return NULL;
	const struct mm_mm *mm = mm_task_mm(m, t);
	if (!mm->map_count)
		return NULL;
	uint64_t k = below(d, mm->map_count);
	const struct mm_vma *v = mm_find_vma(m, mm, 0);
	while (v && k--)
		v = mm_vma_next(m, v);
	return v;
}

/* A page-aligned sub-range of v: [*a, *a + *len). */
static void sub_range(struct drv *d, const struct mm_vma *v, uint64_t *a,
		      uint64_t *len)
{
	uint64_t pages = (v->end - v->start) / PG;
	uint64_t first = below(d, pages), n = 1 + below(d, MM_MIN(pages - first, 48));
	*a = v->start + first * PG;
	*len = n * PG;
}

static void drop(void *arr, int *n, int i, size_t elem)
{
	char *b = arr;
	memmove(b + (size_t)i * elem, b + (size_t)(*n - 1) * elem, elem);
	(*n)--;
}

/* One random operation; returns its engine return code (compared). */
static int64_t drv_step(struct drv *d, struct mm_machine *m)
{
	int cpu = (int)below(d, (uint64_t)m->cfg.cpus);
	uint64_t a, len, out;
	int rc, i;

	switch (below(d, 24)) {
	case 0: { /* alloc_pages */
		if (d->nk == DRV_MAX)
			return 0;
		struct mm_alloc_result r;
		unsigned order = (unsigned)below(d, 4);
		uint32_t gfp = below(d, 3) == 0 ? MM_GFP_ATOMIC : MM_GFP_KERNEL;
		if (below(d, 4) == 0)
			gfp |= MM___GFP_MOVABLE;
		rc = mm_alloc_pages(m, gfp, order, cpu, -1, &r);
		if (!rc) {
			d->kpfn[d->nk] = r.pfn;
			d->korder[d->nk++] = order;
			return r.pfn;
		}
		return rc;
	}
	case 1: /* free_pages */
		if (!d->nk)
			return 0;
		i = (int)below(d, (uint64_t)d->nk);
		rc = mm_free_pages(m, d->kpfn[i], d->korder[i], cpu);
		d->kpfn[i] = d->kpfn[d->nk - 1];
		d->korder[i] = d->korder[--d->nk];
		return rc;
	case 2: /* kmalloc */
		if (d->nkm == DRV_MAX)
			return 0;
		{
			int cache;
			uint64_t size = 1 + below(d, below(d, 8) ? 2048 : 20000);
			rc = mm_kmalloc(m, size, MM_GFP_KERNEL, cpu, &out, &cache);
			if (!rc)
				d->kmalloc[d->nkm++] = out;
			return rc ? rc : (int64_t)(out & 0xffffff);
		}
	case 3: /* kfree */
		if (!d->nkm)
			return 0;
		i = (int)below(d, (uint64_t)d->nkm);
		rc = mm_kfree(m, d->kmalloc[i], cpu);
		drop(d->kmalloc, &d->nkm, i, sizeof(d->kmalloc[0]));
		return rc;
	case 4: /* kmem_cache_create */
		if (d->nc == 8)
			return 0;
		{
			char name[32];
			snprintf(name, sizeof(name), "snap-%u", d->serial++);
			uint32_t flags = below(d, 2) ? MM_SLAB_POISON : 0;
			if (below(d, 2))
				flags |= MM_SLAB_HWCACHE_ALIGN;
			rc = mm_kmem_cache_create(m, name, 8 + (uint32_t)below(d, 600),
						  0, flags);
			if (rc >= 0)
				d->cache[d->nc++] = rc;
			return rc;
		}
	case 5:
	case 6: /* kmem_cache_alloc */
		if (!d->nc || d->nobj == DRV_MAX)
			return 0;
		i = (int)below(d, (uint64_t)d->nc);
		rc = mm_kmem_cache_alloc(m, d->cache[i], MM_GFP_KERNEL, cpu, &out);
		if (!rc) {
			d->obj[d->nobj] = out;
			d->obj_cache[d->nobj++] = d->cache[i];
		}
		return rc ? rc : (int64_t)(out & 0xffffff);
	case 7: /* kmem_cache_free */
		if (!d->nobj)
			return 0;
		i = (int)below(d, (uint64_t)d->nobj);
		rc = mm_kmem_cache_free(m, d->obj_cache[i], d->obj[i], cpu);
		d->obj[i] = d->obj[d->nobj - 1];
		d->obj_cache[i] = d->obj_cache[--d->nobj];
		return rc;
	case 8: /* kmem_cache_shrink / destroy of an empty cache */
		if (!d->nc)
			return 0;
		i = (int)below(d, (uint64_t)d->nc);
		if (below(d, 2))
			return mm_kmem_cache_shrink(m, d->cache[i]);
		for (int k = 0; k < d->nobj; k++)
			if (d->obj_cache[k] == d->cache[i])
				return mm_kmem_cache_shrink(m, d->cache[i]);
		rc = mm_kmem_cache_destroy(m, d->cache[i]);
		if (!rc)
			drop(d->cache, &d->nc, i, sizeof(d->cache[0]));
		return rc;
	case 9: /* vmalloc / vfree */
		if (d->nv && below(d, 2)) {
			i = (int)below(d, (uint64_t)d->nv);
			rc = mm_vfree(m, d->vmalloc[i], cpu);
			drop(d->vmalloc, &d->nv, i, sizeof(d->vmalloc[0]));
			return rc;
		}
		if (d->nv == DRV_MAX)
			return 0;
		rc = mm_vmalloc(m, 1 + below(d, 40 * PG), cpu, &out);
		if (!rc)
			d->vmalloc[d->nv++] = out;
		return rc ? rc : (int64_t)(out & 0xffffff);
	case 10: /* kmap / kunmap of an allocated page */
		if (d->nkmap && below(d, 2)) {
			i = (int)below(d, (uint64_t)d->nkmap);
			rc = mm_kunmap(m, d->kmap[i]);
			drop(d->kmap, &d->nkmap, i, sizeof(d->kmap[0]));
			return rc;
		}
		if (!d->nk || d->nkmap == DRV_MAX)
			return 0;
		rc = mm_kmap(m, d->kpfn[below(d, (uint64_t)d->nk)], &out);
		if (!rc)
			d->kmap[d->nkmap++] = out;
		return rc;
	case 11: /* spawn, sometimes exec */
		if (d->np == 32)
			return 0;
		{
			int pid;
			rc = mm_spawn(m, "rnd", -1, &pid);
			if (rc)
				return rc;
			d->pid[d->np++] = pid;
			if (below(d, 3) == 0) {
				struct mm_exec_result er;
				bool i386 = m->cfg.arch == MM_ARCH_I386;
				rc = mm_exec(m, pid, i386 ? elf_i386 : elf_x86_64,
					     i386 ? elf_i386_len : elf_x86_64_len, &er);
				return rc ? rc : (int64_t)er.entry;
			}
			return pid;
		}
	case 12: /* fork */
		if (!d->np || d->np == 32)
			return 0;
		{
			int child;
			rc = mm_fork(m, d->pid[below(d, (uint64_t)d->np)], &child);
			if (!rc)
				d->pid[d->np++] = child;
			return rc ? rc : child;
		}
	case 13: /* exit */
		if (!d->np || below(d, 2))
			return 0;
		i = (int)below(d, (uint64_t)d->np);
		rc = mm_exit(m, d->pid[i], 0);
		drop(d->pid, &d->np, i, sizeof(d->pid[0]));
		return rc;
	case 14:
	case 15: { /* mmap: private or shared anonymous */
		if (!d->np)
			return 0;
		int flags = (below(d, 4) ? MM_MAP_PRIVATE : MM_MAP_SHARED) |
			    MM_MAP_ANONYMOUS;
		if (below(d, 8) == 0)
			flags |= MM_MAP_POPULATE;
		int prot = below(d, 5) ? MM_PROT_READ | MM_PROT_WRITE : MM_PROT_READ;
		rc = mm_mmap(m, d->pid[below(d, (uint64_t)d->np)], 0,
			     (1 + below(d, 64)) * PG, prot, flags, -1, 0, &out);
		return rc ? rc : (int64_t)(out & 0xffffffff);
	}
	case 18: { /* write bytes (frame contents), then read them back */
		if (!d->np)
			return 0;
		int pid = d->pid[below(d, (uint64_t)d->np)];
		const struct mm_vma *v = pick_vma(d, m, pid);
		if (!v)
			return 0;
		uint8_t buf[64], back[64];
		struct mm_touch_result r;
		a = v->start + below(d, v->end - v->start - sizeof(buf) + 1);
		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = (uint8_t)below(d, 256);
		rc = mm_write(m, pid, a, buf, sizeof(buf), &r);
		if (!rc && r.signal.signo) {
			for (int k = 0; k < d->np; k++)
				if (d->pid[k] == pid)
					drop(d->pid, &d->np, k, sizeof(d->pid[0]));
			return r.signal.code;
		}
		if (rc || mm_read(m, pid, a, back, sizeof(back), &r))
			return rc;
		return (int64_t)r.minor * 1000 + back[0] + back[63];
	}
	case 16:
	case 17: { /* touch */
		if (!d->np)
			return 0;
		int pid = d->pid[below(d, (uint64_t)d->np)];
		const struct mm_vma *v = pick_vma(d, m, pid);
		if (!v)
			return 0;
		sub_range(d, v, &a, &len);
		struct mm_touch_result r;
		rc = mm_touch(m, pid, a, len, below(d, 3) ? MM_ACCESS_WRITE
							 : MM_ACCESS_READ, &r);
		if (!rc && r.signal.signo)
			for (int k = 0; k < d->np; k++)
				if (d->pid[k] == pid)
					drop(d->pid, &d->np, k, sizeof(d->pid[0]));
		return rc ? rc : (int64_t)(r.minor * 1000 + r.cow * 10 + r.zero);
	}
	case 19: { /* munmap / mprotect / madvise / mlock of a sub-range */
		if (!d->np)
			return 0;
		int pid = d->pid[below(d, (uint64_t)d->np)];
		const struct mm_vma *v = pick_vma(d, m, pid);
		if (!v)
			return 0;
		sub_range(d, v, &a, &len);
		switch (below(d, 7)) {
		case 0:
			return mm_munmap(m, pid, a, len);
		case 1:
			return mm_mprotect(m, pid, a, len, (int)below(d, 4));
		case 2:
			return mm_madvise(m, pid, a, len, MM_MADV_DONTNEED);
		case 3:
			return mm_mlock(m, pid, a, len);
		case 4:
			return mm_munlock(m, pid, a, len);
		case 5: /* to swap, when the machine has some */
			return mm_madvise(m, pid, a, len, MM_MADV_PAGEOUT);
		default:
			return mm_madvise(m, pid, a, len, MM_MADV_WILLNEED);
		}
	}
	case 20: { /* brk */
		if (!d->np)
			return 0;
		int pid = d->pid[below(d, (uint64_t)d->np)];
		struct mm_task *t = mm_task_get(m, pid);
		if (!t)
			return 0;
		uint64_t brk = mm_task_mm(m, t)->brk;
		uint64_t delta = below(d, 32) * PG;
		mm_brk(m, pid, below(d, 3) ? brk + delta : brk - MM_MIN(delta, brk), &out);
		return (int64_t)(out & 0xffffffff);
	}
	case 21: /* oom_score_adj */
		if (!d->np)
			return 0;
		return mm_set_oom_score_adj(m, d->pid[below(d, (uint64_t)d->np)],
					    (int)below(d, 2001) - 1000);
	case 22:
		switch (below(d, 6)) {
		case 0:
			mm_drain_all_pages(m);
			return 0;
		case 1: { /* a file: created, written, synced, or dropped */
			char name[16];
			int id;
			uint8_t buf[300];
			snprintf(name, sizeof(name), "f%u", (unsigned)below(d, 4));
			memset(buf, (int)below(d, 256), sizeof(buf));
			id = mm_file_lookup(m, name);
			if (id < 0)
				return mm_file_create(m, name, below(d, 40000), buf,
						      sizeof(buf), &id);
			switch (below(d, 4)) {
			case 0:
				return mm_file_write(m, id, below(d, 60000), buf,
						     sizeof(buf));
			case 1:
				return mm_file_sync(m, id);
			case 2:
				return mm_file_truncate(m, id, below(d, 40000));
			default:
				return mm_file_delete(m, id);
			}
		}
		case 2: { /* map a file shared or private into a process */
			if (!d->np)
				return 0;
			char name[16];
			snprintf(name, sizeof(name), "f%u", (unsigned)below(d, 4));
			int id = mm_file_lookup(m, name);
			if (id < 0)
				return id;
			return mm_mmap(m, d->pid[below(d, (uint64_t)d->np)], 0,
				       MM_PAGE_SIZE * (1 + below(d, 12)),
				       MM_PROT_READ | MM_PROT_WRITE,
				       below(d, 2) ? MM_MAP_SHARED : MM_MAP_PRIVATE,
				       id, 0, &out);
		}
		case 3: {
			struct mm_drop_result dr;
			return mm_drop_caches(m, 1 + (int)below(d, 3), &dr);
		}
		default: { /* reclaim: the LRU lists, kswapd, maybe OOM */
			struct mm_reclaim_stats st;
			return mm_reclaim(m, below(d, 64), -1, &st);
		}
		}
	default: /* order 3-5 allocations on a chosen node churn the buddy */
		if (d->nk == DRV_MAX)
			return 0;
		{
			struct mm_alloc_result r;
			unsigned order = 3 + (unsigned)below(d, 3);
			rc = mm_alloc_pages(m, MM_GFP_KERNEL, order, cpu,
					    (int)below(d, (uint64_t)m->nr_nodes), &r);
			if (rc)
				return rc;
			d->kpfn[d->nk] = r.pfn;
			d->korder[d->nk++] = order;
			return r.pfn;
		}
	}
}

/* ---- comparing two machines ------------------------------------------------ */

typedef size_t (*render_fn)(const struct mm_machine *, char *, size_t);
typedef size_t (*pid_render_fn)(const struct mm_machine *, int, char *, size_t);

static char *pid_render(const struct mm_machine *m, int pid, pid_render_fn fn)
{
	size_t n = fn(m, pid, NULL, 0);
	char *b = malloc(n + 1);
	ASSERT(b != NULL);
	fn(m, pid, b, n + 1);
	return b;
}

static void same_machine(const struct mm_machine *a, const struct mm_machine *b,
			 const char *when)
{
	static const render_fn renders[] = {
		mm_proc_buddyinfo, mm_proc_pagetypeinfo, mm_proc_zoneinfo,
		mm_proc_meminfo, mm_proc_vmstat, mm_proc_slabinfo,
		mm_proc_vmallocinfo,
	};
	static const pid_render_fn pid_renders[] = {
		mm_proc_pid_maps, mm_proc_pid_smaps, mm_proc_pid_status,
	};
	char da[MM_DIGEST_HEX], db[MM_DIGEST_HEX];
	struct mm_violation va[4], vb[4];

	mm_digest(a, da);
	mm_digest(b, db);
	if (strcmp(da, db) != 0)
		th_fail(__FILE__, __LINE__, "%s: digests %s and %s", when, da, db);
	for (size_t i = 0; i < sizeof(renders) / sizeof(renders[0]); i++) {
		char *ra = tu_render(a, renders[i]), *rb = tu_render(b, renders[i]);
		ASSERT_EQ_STR(rb, ra);
		free(ra);
		free(rb);
	}
	for (uint32_t i = 0; i < MM_MAX_TASKS; i++) {
		int pid = a->tasks[i].pid;
		if (!pid)
			continue;
		ASSERT_EQ(b->tasks[i].pid, pid);
		for (size_t k = 0; k < sizeof(pid_renders) / sizeof(pid_renders[0]); k++) {
			char *ra = pid_render(a, pid, pid_renders[k]);
			char *rb = pid_render(b, pid, pid_renders[k]);
			ASSERT_EQ_STR(rb, ra);
			free(ra);
			free(rb);
		}
	}
	ASSERT_EQ(mm_check(b, vb, 4), mm_check(a, va, 4));
	tu_check(b, when);
}

static struct mm_machine *reload(const struct mm_machine *m, struct mm_bytes *img)
{
	struct mm_machine *r = NULL;
	char err[200] = "";

	ASSERT_EQ(mm_snapshot_save(m, img), 0);
	ASSERT(img->len > 48);
	int rc = mm_snapshot_load(img->p, img->len, &r, err, sizeof(err));
	if (rc)
		th_fail(__FILE__, __LINE__, "load: %s: %s", mm_errname(rc), err);
	return r;
}

/*
 * n random operations on a fresh machine of cfg, a save and a load, then
 * the same `more` operations on both, compared as they go; the copy is
 * itself saved and reloaded once more halfway (an image of a restored
 * machine is the same image).  Returns whether the image held swapped
 * pages.
 */
static bool round_trip(struct mm_config cfg, uint64_t seed, long n, long more)
{
	struct mm_machine *m = tu_machine(&cfg);
	struct drv d = {.rng = seed | 1};
	struct mm_bytes img = {0}, img2 = {0};

	if (!elf_x86_64) {
		elf_x86_64 = load_elf("x86_64-pie.elf", &elf_x86_64_len);
		elf_i386 = load_elf("i386-pie.elf", &elf_i386_len);
	}
	for (long i = 0; i < n; i++)
		drv_step(&d, m);
	tu_check(m, "before the snapshot");
	bool swapped = m->events[MM_PSWPOUT] > 0 &&
		       m->swap_free < mm__swap_total(m);
	struct mm_machine *r = reload(m, &img);
	same_machine(m, r, "after the load");

	/* Saving the restored machine gives the same bytes. */
	ASSERT_EQ(mm_snapshot_save(r, &img2), 0);
	ASSERT_EQ(img2.len, img.len);
	ASSERT(memcmp(img.p, img2.p, img.len) == 0);
	free(img2.p);

	struct drv e = d;
	for (long i = 0; i < more; i++) {
		int64_t ra = drv_step(&d, m), rb = drv_step(&e, r);
		ASSERT_EQ(rb, ra);
		if (i % 50 == 49 || i + 1 == more) {
			char da[MM_DIGEST_HEX], db[MM_DIGEST_HEX];
			mm_digest(m, da);
			mm_digest(r, db);
			ASSERT_EQ_STR(db, da);
		}
	}
	same_machine(m, r, "after the same further operations");
	free(img.p);
	mm_machine_destroy(r);
	mm_machine_destroy(m);
	return swapped;
}

TEST(snapshot_round_trip_x86_64)
{
	for (long s = 1; s <= th_scale(4); s++)
		round_trip(tu_config(MM_ARCH_X86_64, 64ull << 20), s * 7919, 600, 400);
}

TEST(snapshot_round_trip_i386_highmem)
{
	/* 1 GiB on i386: HighMem frames, kmap through the pkmap area. */
	for (long s = 1; s <= th_scale(2); s++)
		round_trip(tu_config(MM_ARCH_I386, 1024ull << 20), s * 104729, 600, 300);
}

TEST(snapshot_round_trip_numa)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 128ull << 20);
	c.nodes = 2;
	c.cpus = 4;
	for (long s = 1; s <= th_scale(2); s++)
		round_trip(c, s * 15485863, 600, 300);
}

TEST(snapshot_round_trip_small_pressure)
{
	/* 8 MiB: allocations fail, processes die, zero page off. */
	struct mm_config c = tu_config(MM_ARCH_X86_64, 8ull << 20);
	c.zero_page = false;
	for (long s = 1; s <= th_scale(3); s++)
		round_trip(c, s * 31337, 800, 400);
}

TEST(snapshot_round_trip_swap)
{
	/* swapped pages: entries, the swap cache, the stored bytes.  The
	 * seeds of the default scale are known to swap; the further ones of
	 * MMSIM_TEST_SCALE may not (800 random operations need not fill
	 * memory), and still round-trip. */
	struct mm_config c = tu_config(MM_ARCH_X86_64, 16ull << 20);
	c.swap = 16ull << 20;
	for (long s = 1; s <= th_scale(3); s++)
		ASSERT(round_trip(c, s * 65537, 800, 400) || s > 3);
	c = tu_config(MM_ARCH_I386, 24ull << 20);
	c.swap = 8ull << 20;
	for (long s = 1; s <= th_scale(2); s++)
		ASSERT(round_trip(c, s * 257, 800, 400) || s > 2);
}

TEST(snapshot_fresh_machine)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 16ull << 20);
	struct mm_machine *m = tu_machine(&c);
	struct mm_bytes img = {0};
	struct mm_machine *r = reload(m, &img);
	same_machine(m, r, "fresh");
	free(img.p);
	mm_machine_destroy(r);
	mm_machine_destroy(m);
}

/* ---- damaged images are refused ------------------------------------------------ */

static void refused(const uint8_t *p, size_t len, const char *want)
{
	struct mm_machine *r = (struct mm_machine *)&r; /* must stay untouched */
	struct mm_machine *before = r;
	char err[200] = "";
	int rc = mm_snapshot_load(p, len, &r, err, sizeof(err));
	if (rc != -MM_EINVAL)
		th_fail(__FILE__, __LINE__, "a damaged image (%zu bytes) loaded: "
			"%d %s", len, rc, err);
	ASSERT(r == before);
	ASSERT(err[0] != '\0');
	if (want)
		ASSERT_CONTAINS(err, want);
}

static struct mm_bytes small_image(struct mm_machine **keep)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 8ull << 20);
	struct mm_machine *m = tu_machine(&c);
	struct drv d = {.rng = 99};
	struct mm_bytes img = {0};

	if (!elf_x86_64) {
		elf_x86_64 = load_elf("x86_64-pie.elf", &elf_x86_64_len);
		elf_i386 = load_elf("i386-pie.elf", &elf_i386_len);
	}
	for (int i = 0; i < 300; i++)
		drv_step(&d, m);
	ASSERT_EQ(mm_snapshot_save(m, &img), 0);
	*keep = m;
	return img;
}

TEST(snapshot_refuses_damage)
{
	struct mm_machine *m;
	struct mm_bytes img = small_image(&m);
	uint8_t *c = malloc(img.len + 1);
	uint64_t rng = 12345;

	ASSERT(c != NULL);
	/* every bit of the header, and of the first and last 128 bytes */
	for (size_t i = 0; i < img.len; i++) {
		if (i >= 128 && i + 128 < img.len)
			continue;
		for (int bit = 0; bit < 8; bit++) {
			memcpy(c, img.p, img.len);
			c[i] ^= (uint8_t)(1u << bit);
			refused(c, img.len, NULL);
		}
	}
	/* random bytes anywhere */
	for (long k = 0; k < th_scale(1000); k++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		size_t i = (size_t)(rng >> 20) % img.len;
		memcpy(c, img.p, img.len);
		c[i] ^= (uint8_t)(1 + (rng >> 8) % 255);
		refused(c, img.len, NULL);
	}
	/* truncated anywhere, or with a byte more */
	for (size_t len = 0; len < img.len; len += 1 + len / 16)
		refused(img.p, len, NULL);
	memcpy(c, img.p, img.len);
	c[img.len] = 0;
	refused(c, img.len + 1, "trailing");
	refused(img.p, img.len - 1, "truncated");
	/* named causes */
	memcpy(c, img.p, img.len);
	memcpy(c, "SQLite f", 8);
	refused(c, img.len, "not an mmsim snapshot");
	memcpy(c, img.p, img.len);
	char other[32];
	c[8] = MM_SNAPSHOT_FORMAT + 1;
	snprintf(other, sizeof(other), "format %d", MM_SNAPSHOT_FORMAT + 1);
	refused(c, img.len, other);
	memcpy(c, img.p, img.len);
	c[img.len / 2] ^= 0x40;
	refused(c, img.len, "checksum");
	refused((const uint8_t *)"", 0, "not an mmsim snapshot");
	/* the untouched image still loads */
	struct mm_machine *r = NULL;
	char err[200];
	ASSERT_EQ(mm_snapshot_load(img.p, img.len, &r, err, sizeof(err)), 0);
	same_machine(m, r, "undamaged");
	mm_machine_destroy(r);
	mm_machine_destroy(m);
	free(c);
	free(img.p);
}

/* The checksum as snapshot.c computes it (a test may forge one). */
static void hash_bytes(struct mm__hash *h, const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i < n; i += 8) {
		uint64_t w = 0;
		for (size_t k = 0; k < 8 && i + k < n; k++)
			w |= (uint64_t)p[i + k] << (8 * k);
		mm__hash_word(h, w);
	}
	mm__hash_word(h, n);
}

static void forge_checksum(uint8_t *img, size_t len)
{
	struct mm__hash h = MM__HASH_INIT;
	uint64_t r[2];
	hash_bytes(&h, img, 40);
	hash_bytes(&h, img + 48, len - 48);
	mm__hash_final(&h, r);
	uint64_t sum = r[0] ^ mm__rotl64(r[1], 17);
	for (int i = 0; i < 8; i++)
		img[40 + i] = (uint8_t)(sum >> (8 * i));
}

TEST(snapshot_forged_checksum_never_crashes)
{
	struct mm_machine *m;
	struct mm_bytes img = small_image(&m);
	uint8_t *c = malloc(img.len);
	uint64_t rng = 777;

	ASSERT(c != NULL);
	memcpy(c, img.p, img.len);
	forge_checksum(c, img.len);
	ASSERT(memcmp(c, img.p, img.len) == 0); /* the same checksum */
	for (long k = 0; k < th_scale(1000); k++) {
		memcpy(c, img.p, img.len);
		for (int j = 0; j < 1 + (int)(k % 3); j++) {
			rng = rng * 6364136223846793005ull + 1442695040888963407ull;
			size_t i = 48 + (size_t)(rng >> 20) % (img.len - 48);
			c[i] = (uint8_t)(rng >> 8);
		}
		forge_checksum(c, img.len);
		struct mm_machine *r = NULL;
		char err[200] = "";
		int rc = mm_snapshot_load(c, img.len, &r, err, sizeof(err));
		if (rc == 0) {
			/* accepted only when it restores to its digest and is
			 * consistent (e.g. a byte after a name's NUL) */
			tu_check(r, "forged image");
			mm_machine_destroy(r);
		} else {
			ASSERT_EQ(rc, -MM_EINVAL);
			ASSERT(err[0] != '\0');
		}
	}
	mm_machine_destroy(m);
	free(c);
	free(img.p);
}

TEST(snapshot_digest_covers_state)
{
	/* A change to a field of each structure changes the digest and the
	 * image; restoring the changed image gives the changed digest. */
	struct mm_machine *m;
	struct mm_bytes img = small_image(&m);
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(m, d0);
	m->env.clock++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	struct mm_bytes img2 = {0};
	struct mm_machine *r = reload(m, &img2);
	same_machine(m, r, "after a clock change");
	ASSERT(img2.len != img.len || memcmp(img.p, img2.p, img.len) != 0);
	free(img.p);
	free(img2.p);
	mm_machine_destroy(r);
	mm_machine_destroy(m);
}
