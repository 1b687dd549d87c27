/*
 * test_mmap.c — the address-space syscalls one edge case at a time, each
 * answer as Linux 6.18 gives it (mm/mmap.c do_mmap, __get_unmapped_area,
 * arch/x86 arch_get_unmapped_area_topdown, mm/vma.c do_vmi_munmap and the
 * merge/split rules, mm/mprotect.c, mm/madvise.c, mm/mlock.c, brk), plus
 * commit accounting under the three overcommit policies, fork and exit,
 * pid allocation and the exact text of /proc/PID/maps, smaps and status.
 *
 * Unless a test says otherwise the machine is x86_64 with 256 MiB,
 * randomize_va_space 0, so mmap_base is 0x7ffff7fff000 (TASK_SIZE less the
 * 128 MiB minimum gap) and brk starts at ELF_ET_DYN_BASE 0x555555554000.
 * Where Linux reaches a state the invariant checker calls wrong (adjacent
 * VMAs it could have merged but did not), the test says so, checks that
 * only "vma-mergeable" fires, and undoes the state before tu_check.
 */
#include "tests/unit/util.h"

#include <stdarg.h>
#include <stdlib.h>

#define PG 4096ull
#define X86_BASE 0x7ffff7fff000ull  /* mmap_base, x86_64 */
#define I386_BASE 0xb8000000ull     /* mmap_base, i386 */
#define X86_BRK 0x555555554000ull   /* ELF_ET_DYN_BASE, x86_64 */
#define I386_BRK 0x80000000ull      /* ELF_ET_DYN_BASE, i386 */
#define W 0x100000000ull            /* a quiet window for MAP_FIXED */
#define RW (MM_PROT_READ | MM_PROT_WRITE)
#define RO MM_PROT_READ
#define RWX (MM_PROT_READ | MM_PROT_WRITE | MM_PROT_EXEC)
#define PRIV MM_MAP_PRIVATE
#define FIX (MM_MAP_PRIVATE | MM_MAP_FIXED)
#define MADV_DONTFORK 10
#define MADV_DOFORK 11

/* ---- helpers -------------------------------------------------------- */

static struct mm_machine *mk(enum mm_arch arch)
{
	struct mm_config c = tu_config(arch, 256ull << 20);
	return tu_machine(&c);
}

static int spawn(struct mm_machine *m)
{
	int pid = 0;
	ASSERT_EQ(mm_spawn(m, "t", -1, &pid), 0);
	return pid;
}

/* mmap(addr, len, prot, flags | MAP_ANONYMOUS, -1, 0) */
static int map(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
	       int prot, int flags, uint64_t *out)
{
	return mm_mmap(m, pid, addr, len, prot, flags | MM_MAP_ANONYMOUS, -1, 0,
		       out);
}

static uint64_t map_ok(struct mm_machine *m, int pid, uint64_t addr,
		       uint64_t len, int prot, int flags)
{
	uint64_t a = 0;
	int rc = map(m, pid, addr, len, prot, flags, &a);
	if (rc)
		th_fail(__FILE__, __LINE__, "mmap(0x%" PRIx64 ", 0x%" PRIx64
			") = %s", addr, len, mm_errname(rc));
	return a;
}

typedef size_t (*pid_render)(const struct mm_machine *, int, char *, size_t);

static char *render_pid(const struct mm_machine *m, int pid, pid_render fn)
{
	size_t need = fn(m, pid, NULL, 0);
	char *buf = malloc(need + 1);
	ASSERT(buf != NULL);
	ASSERT_EQ(fn(m, pid, buf, need + 1), need);
	return buf;
}

static char *maps(const struct mm_machine *m, int pid)
{
	return render_pid(m, pid, mm_proc_pid_maps);
}

/* The maps text must equal want; frees the render. */
static void expect_maps(const struct mm_machine *m, int pid, const char *want)
{
	char *got = maps(m, pid);
	ASSERT_EQ_STR(got, want);
	free(got);
}

/* Builds expected text (named maps lines need their padding). */
struct text {
	char s[8192];
	size_t n;
};

static void add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(t->s + t->n, sizeof(t->s) - t->n, fmt, ap);
	va_end(ap);
	ASSERT(k >= 0 && (size_t)k < sizeof(t->s) - t->n);
	t->n += (size_t)k;
}

/* "Key:   N kB" of a text, in kB; fails when absent. */
static uint64_t field_kb(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	if (!p)
		th_fail(__FILE__, __LINE__, "no %s in:\n%s", key, text);
	return strtoull(p + strlen(key), NULL, 10);
}

static uint64_t meminfo_kb(const struct mm_machine *m, const char *key)
{
	char *mi = tu_render(m, mm_proc_meminfo);
	uint64_t v = field_kb(mi, key);
	free(mi);
	return v;
}

static uint64_t status_kb(const struct mm_machine *m, int pid, const char *key)
{
	char *st = render_pid(m, pid, mm_proc_pid_status);
	uint64_t v = field_kb(st, key);
	free(st);
	return v;
}

/* The VmFlags line of the smaps entry of the VMA starting at start. */
static char *vmflags(const struct mm_machine *m, int pid, uint64_t start)
{
	char *sm = render_pid(m, pid, mm_proc_pid_smaps);
	char head[40];
	snprintf(head, sizeof(head), "%08" PRIx64 "-", start);
	char *p = strstr(sm, head);
	if (!p)
		th_fail(__FILE__, __LINE__, "no VMA at 0x%" PRIx64 ":\n%s", start, sm);
	char *f = strstr(p, "VmFlags:");
	ASSERT(f != NULL);
	char *nl = strchr(f, '\n');
	*nl = '\0';
	char *out = strdup(f);
	free(sm);
	return out;
}

static void expect_vmflags(const struct mm_machine *m, int pid, uint64_t start,
			   const char *want)
{
	char *got = vmflags(m, pid, start);
	ASSERT_EQ_STR(got, want);
	free(got);
}

static uint32_t map_count(const struct mm_machine *m, int pid)
{
	return mm_task_mm(m, mm_task_get(m, pid))->map_count;
}

/* Linux reached a state with two adjacent, equal VMAs it did not merge:
 * the VMAs carry the `unmerged` mark and the checker accepts them. */
static void expect_only_unmerged(const struct mm_machine *m)
{
	tu_check(m, "with VMAs Linux leaves unmerged");
}

/* ---- mmap argument checks (do_mmap order) ---------------------------- */

TEST(mmap_len_zero_einval)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a = 7;
	ASSERT_EQ(map(m, pid, 0, 0, RW, PRIV, &a), -MM_EINVAL);
	ASSERT_EQ(map(m, pid, W, 0, RW, FIX, &a), -MM_EINVAL);
	ASSERT_EQ_U64(a, 7); /* untouched on failure */
	ASSERT_EQ(map_count(m, pid), 0);
	tu_check(m, "mmap len 0");
	mm_machine_destroy(m);
}

TEST(mmap_unaligned_offset_einval)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a;
	/* The syscall entry checks the byte offset before anything else —
	 * even before len 0. */
	ASSERT_EQ(mm_mmap(m, pid, 0, PG, RW, PRIV | MM_MAP_ANONYMOUS, -1, 100, &a),
		  -MM_EINVAL);
	ASSERT_EQ(mm_mmap(m, pid, 0, 0, RW, PRIV | MM_MAP_ANONYMOUS, -1, 1, &a),
		  -MM_EINVAL);
	/* An aligned offset is ignored for anonymous memory (pgoff = addr). */
	ASSERT_EQ(mm_mmap(m, pid, 0, PG, RW, PRIV | MM_MAP_ANONYMOUS, -1,
			  0x7000, &a), 0);
	ASSERT_EQ_HEX(a, X86_BASE - PG);
	expect_maps(m, pid, "7ffff7ffe000-7ffff7fff000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "mmap offset");
	mm_machine_destroy(m);
}

TEST(mmap_fixed_unaligned_addr_einval)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a;
	ASSERT_EQ(map(m, pid, W + 1, PG, RW, FIX, &a), -MM_EINVAL);
	ASSERT_EQ(map(m, pid, W + 0x800, PG, RW,
		      PRIV | MM_MAP_FIXED_NOREPLACE, &a), -MM_EINVAL);
	/* Without MAP_FIXED the hint is only rounded down. */
	ASSERT_EQ(map(m, pid, W + 0x123, PG, RW, PRIV, &a), 0);
	ASSERT_EQ_HEX(a, W);
	/* A hint below the first page rounds to 0: no hint at all
	 * (round_hint_to_min); one inside [4096, mmap_min_addr) would be
	 * raised to mmap_min_addr (4096 here). */
	ASSERT_EQ(map(m, pid, 0x10, PG, RO, PRIV, &a), 0);
	ASSERT_EQ_HEX(a, X86_BASE - PG);
	ASSERT_EQ(map(m, pid, 0x1800, PG, RO, PRIV, &a), 0);
	ASSERT_EQ_HEX(a, 0x1000);
	tu_check(m, "mmap fixed unaligned");
	mm_machine_destroy(m);
}

TEST(mmap_len_over_task_size_enomem)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a;
	const uint64_t ts = 0x7ffffffff000ull;
	ASSERT_EQ(map(m, pid, 0, ts + PG, RW, PRIV, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, 0, ts + PG, RW, FIX, &a), -MM_ENOMEM);
	/* MAP_FIXED reaching past TASK_SIZE: ENOMEM, before the alignment
	 * check of the address (addr > TASK_SIZE - len comes first). */
	ASSERT_EQ(map(m, pid, ts - PG, 2 * PG, RW, FIX, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, ts - PG + 1, 2 * PG, RW, FIX, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, ts - PG, PG, RO, FIX, &a), 0);
	ASSERT_EQ_HEX(a, ts - PG);
	/* i386: TASK_SIZE is 3 GiB. */
	struct mm_machine *m32 = mk(MM_ARCH_I386);
	int p32 = spawn(m32);
	ASSERT_EQ(map(m32, p32, 0, 0xc0001000ull, RW, PRIV, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m32, p32, 0xbffff000ull, 2 * PG, RW, FIX, &a), -MM_ENOMEM);
	tu_check(m, "len > TASK_SIZE");
	tu_check(m32, "len > TASK_SIZE i386");
	mm_machine_destroy(m);
	mm_machine_destroy(m32);
}

TEST(mmap_len_rounding_overflow_enomem)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a;
	/* PAGE_ALIGN(len) wraps to 0: "Careful about overflows.." ENOMEM. */
	ASSERT_EQ(map(m, pid, 0, UINT64_MAX, RW, PRIV, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, 0, UINT64_MAX - 4094, RW, PRIV, &a), -MM_ENOMEM);
	/* One page less does not wrap, and is merely > TASK_SIZE. */
	ASSERT_EQ(map(m, pid, 0, UINT64_MAX - 4095, RW, PRIV, &a), -MM_ENOMEM);
	/* The wrap is checked before the map type. */
	ASSERT_EQ(map(m, pid, 0, UINT64_MAX, RW, 0, &a), -MM_ENOMEM);
	tu_check(m, "len wrap");
	mm_machine_destroy(m);
}

TEST(mmap_pgoff_overflow_eoverflow)
{
	/* On x86_64 pgoff + pages cannot wrap a 64-bit unsigned long: the
	 * largest aligned offset is accepted (and ignored for anon). */
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a;
	ASSERT_EQ(mm_mmap(m, pid, 0, 2 * PG, RW, PRIV | MM_MAP_ANONYMOUS, -1,
			  UINT64_MAX & ~(PG - 1), &a), 0);
	/* On i386 the page offset is a 32-bit unsigned long (mmap2). */
	struct mm_machine *m32 = mk(MM_ARCH_I386);
	int p32 = spawn(m32);
	uint64_t off = 0xffffffffull << 12; /* pgoff 0xffffffff */
	ASSERT_EQ(mm_mmap(m32, p32, 0, 2 * PG, RW, PRIV | MM_MAP_ANONYMOUS, -1,
			  off, &a), -MM_EOVERFLOW);
	ASSERT_EQ(mm_mmap(m32, p32, 0, PG, RW, PRIV | MM_MAP_ANONYMOUS, -1,
			  off - PG, &a), 0); /* pgoff + 1 page = 2^32 - 1 */
	/* EOVERFLOW comes before the map type and max_map_count checks. */
	ASSERT_EQ(mm_mmap(m32, p32, 0, 2 * PG, RW, MM_MAP_ANONYMOUS, -1, off, &a),
		  -MM_EOVERFLOW);
	ASSERT_EQ(map_count(m32, p32), 1);
	tu_check(m, "pgoff");
	tu_check(m32, "pgoff i386");
	mm_machine_destroy(m);
	mm_machine_destroy(m32);
}

TEST(mmap_map_type_einval)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a;
	ASSERT_EQ(map(m, pid, 0, PG, RW, 0, &a), -MM_EINVAL);
	ASSERT_EQ(map(m, pid, W, PG, RW, MM_MAP_FIXED, &a), -MM_EINVAL);
	/* MAP_SHARED_VALIDATE has no anonymous meaning. */
	ASSERT_EQ(map(m, pid, 0, PG, RW, MM_MAP_SHARED_VALIDATE, &a), -MM_EINVAL);
	/* The type is judged after placement: a clash with
	 * MAP_FIXED_NOREPLACE answers EEXIST first. */
	map_ok(m, pid, W, PG, RW, FIX);
	ASSERT_EQ(map(m, pid, W, PG, RW, MM_MAP_FIXED_NOREPLACE, &a), -MM_EEXIST);
	/* Unknown prot bits are ignored by mmap (calc_vm_prot_bits). */
	ASSERT_EQ(map(m, pid, W + 2 * PG, PG, RW | 0x8 | 0x10, FIX, &a), 0);
	expect_maps(m, pid, "100000000-100001000 rw-p 00000000 00:00 0 \n"
			    "100002000-100003000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "map type");
	mm_machine_destroy(m);
}

TEST(mmap_shared_growsdown_einval)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a;
	ASSERT_EQ(map(m, pid, 0, PG, RW, MM_MAP_SHARED | MM_MAP_GROWSDOWN, &a),
		  -MM_EINVAL);
	ASSERT_EQ(map(m, pid, W, PG, RW,
		      MM_MAP_SHARED | MM_MAP_FIXED | MM_MAP_GROWSDOWN, &a),
		  -MM_EINVAL);
	ASSERT_EQ(map_count(m, pid), 0);
	/* Private growsdown is fine and shows "gd"; shared anon is fine and
	 * is a /dev/zero shmem object. */
	a = map_ok(m, pid, W, 2 * PG, RW, FIX | MM_MAP_GROWSDOWN);
	expect_vmflags(m, pid, W, "VmFlags: rd wr mr mw me gd ac sd ");
	uint64_t s = map_ok(m, pid, W + 4 * PG, PG, RW,
			    MM_MAP_SHARED | MM_MAP_FIXED);
	expect_vmflags(m, pid, s, "VmFlags: rd wr sh mr mw me ms sd ");
	char *mp = maps(m, pid);
	ASSERT_CONTAINS(mp, "100004000-100005000 rw-s 00000000 00:01 ");
	ASSERT_CONTAINS(mp, "/dev/zero (deleted)\n");
	free(mp);
	tu_check(m, "shared growsdown");
	mm_machine_destroy(m);
}

TEST(mmap_randomized_base)
{
	/* randomize_va_space 2: mmap_base = PAGE_ALIGN(TASK_SIZE - gap - rnd)
	 * where the gap also reserves stack_maxrandom_size() (16 GiB - 4 KiB
	 * on x86_64: 9 MiB + that, above the 128 MiB minimum) and rnd has 28
	 * random page bits (8 on i386, whose gap stays 128 MiB).  The seed
	 * decides: same seed, same layout. */
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
	c.randomize_va_space = 2;
	c.seed = 42;
	struct mm_machine *m = tu_machine(&c), *m2 = tu_machine(&c);
	int pid = spawn(m), pid2 = spawn(m2);
	uint64_t base = mm_task_mm(m, mm_task_get(m, pid))->mmap_base;
	const uint64_t top = 0x7ffffffff000ull - (9ull << 20) - ((0x3fffffull) << 12);
	ASSERT_EQ_HEX(base & (PG - 1), 0);
	ASSERT(base <= top && base >= top - ((1ull << 28) - 1) * PG);
	ASSERT_EQ_HEX(mm_task_mm(m2, mm_task_get(m2, pid2))->mmap_base, base);
	ASSERT_EQ_HEX(map_ok(m, pid, 0, PG, RW, PRIV), base - PG);

	struct mm_config c32 = tu_config(MM_ARCH_I386, 256ull << 20);
	c32.randomize_va_space = 2;
	struct mm_machine *m32 = tu_machine(&c32);
	int p32 = spawn(m32);
	uint64_t b32 = mm_task_mm(m32, mm_task_get(m32, p32))->mmap_base;
	ASSERT(b32 <= I386_BASE && b32 >= I386_BASE - 255 * PG);
	tu_check(m, "randomized");
	tu_check(m32, "randomized i386");
	mm_machine_destroy(m);
	mm_machine_destroy(m2);
	mm_machine_destroy(m32);
}

/* ---- MAP_FIXED and MAP_FIXED_NOREPLACE ------------------------------- */

TEST(mmap_fixed_noreplace)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t a = 0;
	map_ok(m, pid, W + 4 * PG, 4 * PG, RW, FIX);
	const int nr = PRIV | MM_MAP_FIXED_NOREPLACE;
	/* Any overlap, even one page at either end, is EEXIST. */
	ASSERT_EQ(map(m, pid, W + 4 * PG, 4 * PG, RO, nr, &a), -MM_EEXIST);
	ASSERT_EQ(map(m, pid, W + 2 * PG, 3 * PG, RO, nr, &a), -MM_EEXIST);
	ASSERT_EQ(map(m, pid, W + 7 * PG, 3 * PG, RO, nr, &a), -MM_EEXIST);
	ASSERT_EQ(map(m, pid, W, 16 * PG, RO, nr, &a), -MM_EEXIST);
	expect_maps(m, pid, "100004000-100008000 rw-p 00000000 00:00 0 \n");
	/* The free ranges on both sides work, and merge when they can. */
	ASSERT_EQ(map(m, pid, W, 4 * PG, RO, nr, &a), 0);
	ASSERT_EQ_HEX(a, W);
	ASSERT_EQ(map(m, pid, W + 8 * PG, 2 * PG, RW, nr, &a), 0);
	ASSERT_EQ_HEX(a, W + 8 * PG);
	expect_maps(m, pid, "100000000-100004000 r--p 00000000 00:00 0 \n"
			    "100004000-10000a000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "noreplace");
	mm_machine_destroy(m);
}

TEST(mmap_fixed_replaces_and_splits)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");
	map_ok(m, pid, W, 8 * PG, RW, FIX);
	/* Replacing the middle splits the old mapping in three. */
	map_ok(m, pid, W + 2 * PG, 2 * PG, RO, FIX);
	expect_maps(m, pid, "100000000-100002000 rw-p 00000000 00:00 0 \n"
			    "100002000-100004000 r--p 00000000 00:00 0 \n"
			    "100004000-100008000 rw-p 00000000 00:00 0 \n");
	ASSERT_EQ(map_count(m, pid), 3);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:") - c0, 6 * 4);
	/* Mapping it writable again merges all three back into one. */
	map_ok(m, pid, W + 2 * PG, 2 * PG, RW, FIX);
	expect_maps(m, pid, "100000000-100008000 rw-p 00000000 00:00 0 \n");
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:") - c0, 8 * 4);
	/* Replacing the start and the end. */
	map_ok(m, pid, W, PG, RWX, FIX);
	map_ok(m, pid, W + 7 * PG, PG, MM_PROT_NONE, FIX);
	expect_maps(m, pid, "100000000-100001000 rwxp 00000000 00:00 0 \n"
			    "100001000-100007000 rw-p 00000000 00:00 0 \n"
			    "100007000-100008000 ---p 00000000 00:00 0 \n");
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:") - c0, 7 * 4);
	tu_check(m, "fixed replace");
	mm_machine_destroy(m);
}

TEST(mmap_fixed_over_several_mappings_and_holes)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 4 * PG, RW, FIX);
	map_ok(m, pid, W + 6 * PG, 2 * PG, RO, FIX);
	map_ok(m, pid, W + 10 * PG, 2 * PG, RWX, FIX);
	map_ok(m, pid, W + 14 * PG, PG, RO, FIX);
	ASSERT_EQ(map_count(m, pid), 4);
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");
	/* [W+2, W+11) swallows a hole, one whole mapping, another hole and
	 * the first page of the RWX one; it merges with the head of the
	 * first mapping, same flags and contiguous pgoff. */
	map_ok(m, pid, W + 2 * PG, 9 * PG, RW, FIX);
	expect_maps(m, pid, "100000000-10000b000 rw-p 00000000 00:00 0 \n"
			    "10000b000-10000c000 rwxp 00000000 00:00 0 \n"
			    "10000e000-10000f000 r--p 00000000 00:00 0 \n");
	/* 2 pages were charged already (part of the first mapping) and 1
	 * of the RWX one: the charge grows by 9 - 2 - 1 = 6 pages. */
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:") - c0, 6 * 4);
	ASSERT_EQ_U64(status_kb(m, pid, "VmSize:"), 13 * 4);
	tu_check(m, "fixed over several");
	mm_machine_destroy(m);
}

/* ---- placement --------------------------------------------------------- */

TEST(mmap_hint_honoured_or_ignored)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	const uint64_t h = 0x200000000ull;
	ASSERT_EQ_HEX(map_ok(m, pid, h, 4 * PG, RW, PRIV), h);
	/* Occupied: the hint is dropped for the top-down search. */
	ASSERT_EQ_HEX(map_ok(m, pid, h + PG, PG, RO, PRIV), X86_BASE - PG);
	/* A hint that does not fit before the next VMA is dropped too (and
	 * the mapping merges with the read-only page above it). */
	ASSERT_EQ_HEX(map_ok(m, pid, h - PG, 2 * PG, RO, PRIV), X86_BASE - 3 * PG);
	/* Fitting exactly in front of the next VMA is fine (and merges). */
	ASSERT_EQ_HEX(map_ok(m, pid, h - 2 * PG, 2 * PG, RW, PRIV), h - 2 * PG);
	/* A hint reaching past TASK_SIZE is ignored, not refused. */
	ASSERT_EQ_HEX(map_ok(m, pid, 0x7ffffffff000ull - PG, 2 * PG, RWX, PRIV),
		      X86_BASE - 5 * PG);
	/* Hints above mmap_base are fine when free. */
	ASSERT_EQ_HEX(map_ok(m, pid, 0x7ffff8000000ull, PG, RW, PRIV),
		      0x7ffff8000000ull);
	expect_maps(m, pid, "1ffffe000-200004000 rw-p 00000000 00:00 0 \n"
			    "7ffff7ffa000-7ffff7ffc000 rwxp 00000000 00:00 0 \n"
			    "7ffff7ffc000-7ffff7fff000 r--p 00000000 00:00 0 \n"
			    "7ffff8000000-7ffff8001000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "hint");
	mm_machine_destroy(m);
}

TEST(mmap_topdown_below_mmap_base)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	ASSERT_EQ_HEX(mm_task_mm(m, mm_task_get(m, pid))->mmap_base, X86_BASE);
	ASSERT_EQ_HEX(map_ok(m, pid, 0, PG, RW, PRIV), X86_BASE - PG);
	ASSERT_EQ_HEX(map_ok(m, pid, 0, PG, RO, PRIV), X86_BASE - 2 * PG);
	ASSERT_EQ_HEX(map_ok(m, pid, 0, 2 * PG, RW, PRIV), X86_BASE - 4 * PG);
	/* The highest hole that fits wins. */
	ASSERT_EQ(mm_munmap(m, pid, X86_BASE - 2 * PG, PG), 0);
	ASSERT_EQ_HEX(map_ok(m, pid, 0, 2 * PG, RWX, PRIV), X86_BASE - 6 * PG);
	ASSERT_EQ_HEX(map_ok(m, pid, 0, PG, RWX, PRIV), X86_BASE - 2 * PG);
	expect_maps(m, pid, "7ffff7ff9000-7ffff7ffb000 rwxp 00000000 00:00 0 \n"
			    "7ffff7ffb000-7ffff7ffd000 rw-p 00000000 00:00 0 \n"
			    "7ffff7ffd000-7ffff7ffe000 rwxp 00000000 00:00 0 \n"
			    "7ffff7ffe000-7ffff7fff000 rw-p 00000000 00:00 0 \n");

	struct mm_machine *m32 = mk(MM_ARCH_I386);
	int p32 = spawn(m32);
	ASSERT_EQ_HEX(mm_task_mm(m32, mm_task_get(m32, p32))->mmap_base, I386_BASE);
	ASSERT_EQ_HEX(map_ok(m32, p32, 0, PG, RW, PRIV), I386_BASE - PG);
	ASSERT_EQ_HEX(map_ok(m32, p32, 0, 3 * PG, RO, PRIV), I386_BASE - 4 * PG);
	expect_maps(m32, p32, "b7ffc000-b7fff000 r--p 00000000 00:00 0 \n"
			      "b7fff000-b8000000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "topdown");
	tu_check(m32, "topdown i386");
	mm_machine_destroy(m);
	mm_machine_destroy(m32);
}

TEST(mmap_topdown_respects_stack_guard_gap)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	const uint64_t gap = 256 * PG; /* stack_guard_gap */
	uint64_t g = map_ok(m, pid, X86_BASE - 16 * PG, 16 * PG, RW,
			    FIX | MM_MAP_GROWSDOWN);
	ASSERT_EQ_U64(status_kb(m, pid, "VmStk:"), 64);
	/* Nothing may be placed in the 256 pages below a growsdown VMA
	 * (vm_start_gap()). */
	ASSERT_EQ_HEX(map_ok(m, pid, 0, PG, RW, PRIV), g - gap - PG);
	/* A hint inside the guard gap is refused the same way. */
	ASSERT_EQ_HEX(map_ok(m, pid, g - 2 * PG, PG, RO, PRIV), g - gap - 2 * PG);
	/* ...but one below it is honoured. */
	ASSERT_EQ_HEX(map_ok(m, pid, g - gap - 8 * PG, PG, RWX, PRIV),
		      g - gap - 8 * PG);
	/* MAP_FIXED ignores guard gaps altogether. */
	map_ok(m, pid, g - PG, PG, RO, FIX);
	tu_check(m, "guard gap");
	mm_machine_destroy(m);
}

TEST(mmap_growsdown_needs_no_gap_below_itself)
{
	/* stack_guard_placement() reserves room below a new mapping only for
	 * shadow stacks: a MAP_GROWSDOWN mapping fits a hole of its size. */
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, X86_BASE - 16 * PG, 16 * PG, RW, FIX);
	map_ok(m, pid, X86_BASE - 24 * PG, 4 * PG, RO, FIX);
	uint64_t s = map_ok(m, pid, 0, 4 * PG, RW, PRIV | MM_MAP_GROWSDOWN);
	ASSERT_EQ_HEX(s, X86_BASE - 20 * PG);
	expect_maps(m, pid, "7ffff7fe7000-7ffff7feb000 r--p 00000000 00:00 0 \n"
			    "7ffff7feb000-7ffff7fef000 rw-p 00000000 00:00 0 \n"
			    "7ffff7fef000-7ffff7fff000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "growsdown placement");
	mm_machine_destroy(m);
}

TEST(mmap_thp_alignment)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	const uint64_t pmd = 2ull << 20;
	/* __thp_get_unmapped_area(): search len + 2 MiB top-down, then move
	 * up to the next PMD boundary. */
	uint64_t a = map_ok(m, pid, 0, pmd, RW, PRIV);
	ASSERT_EQ_HEX(a, 0x7ffff7c00000ull);
	uint64_t b = map_ok(m, pid, 0, 2 * pmd, RO, PRIV);
	ASSERT_EQ_HEX(b, 0x7ffff7800000ull);
	/* Not a PMD multiple, a hint, or shared: no alignment. */
	ASSERT_EQ_HEX(map_ok(m, pid, 0, pmd + PG, RW, PRIV), b - pmd - PG);
	uint64_t h = map_ok(m, pid, 0x300001000ull, pmd, RW, PRIV);
	ASSERT_EQ_HEX(h, 0x300001000ull);
	uint64_t s = map_ok(m, pid, 0, pmd, RW, MM_MAP_SHARED);
	ASSERT_EQ_HEX(s, b - 2 * pmd - PG);
	/* i386 (no THP): a 2 MiB mapping goes right below the last one. */
	struct mm_machine *m32 = mk(MM_ARCH_I386);
	int p32 = spawn(m32);
	map_ok(m32, p32, 0, PG, RW, PRIV);
	ASSERT_EQ_HEX(map_ok(m32, p32, 0, pmd, RO, PRIV), I386_BASE - PG - pmd);
	tu_check(m, "thp");
	tu_check(m32, "thp i386");
	mm_machine_destroy(m);
	mm_machine_destroy(m32);
}

/* ---- max_map_count ----------------------------------------------------- */

/* A 4-page VMA at W and single pages at W+10, W+12, …: n VMAs in all. */
static void fill_vmas(struct mm_machine *m, int pid, int n)
{
	map_ok(m, pid, W, 4 * PG, RW, FIX);
	for (int i = 1; i < n; i++)
		map_ok(m, pid, W + (8 + 2 * (uint64_t)i) * PG, PG, RW, FIX);
	ASSERT_EQ(map_count(m, pid), n);
}

TEST(mmap_max_map_count)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
	c.max_map_count = 8;
	struct mm_machine *m = tu_machine(&c);
	int pid = spawn(m);
	uint64_t a;
	fill_vmas(m, pid, 8);
	char *before = maps(m, pid);
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(m, d0);

	/* At the limit, anything that must split in the middle fails with
	 * nothing changed: munmap (the start-split guard), mprotect/mlock
	 * (split_vma()), madvise (EAGAIN for ENOMEM), MAP_FIXED. */
	ASSERT_EQ(mm_munmap(m, pid, W + PG, PG), -MM_ENOMEM);
	ASSERT_EQ(mm_mprotect(m, pid, W + PG, PG, RO), -MM_ENOMEM);
	ASSERT_EQ(mm_mlock(m, pid, W + PG, PG), -MM_ENOMEM);
	ASSERT_EQ(mm_madvise(m, pid, W + PG, PG, MM_MADV_RANDOM), -MM_EAGAIN);
	ASSERT_EQ(map(m, pid, W + PG, PG, RO, FIX, &a), -MM_ENOMEM);
	/* The checks that change no VMA still pass. */
	ASSERT_EQ(mm_madvise(m, pid, W + PG, PG, MM_MADV_DONTNEED), 0);
	ASSERT_EQ(mm_mprotect(m, pid, W + PG, PG, RW), 0);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d1, d0);
	expect_maps(m, pid, before);
	free(before);

	/* Cutting at a VMA's end or start never adds a VMA: allowed. */
	ASSERT_EQ(mm_munmap(m, pid, W + 3 * PG, PG), 0);
	ASSERT_EQ(mm_munmap(m, pid, W, PG), 0);
	ASSERT_EQ(map_count(m, pid), 8);

	/* do_mmap() refuses only when map_count > max: a new VMA at the
	 * limit is still allowed (map_count becomes max + 1), the next is
	 * not; merging into a neighbour is refused too at that point. */
	ASSERT_EQ(map(m, pid, W + 40 * PG, PG, RW, FIX, &a), 0);
	ASSERT_EQ(map_count(m, pid), 9);
	ASSERT_EQ(map(m, pid, W + 44 * PG, PG, RW, FIX, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, W + 41 * PG, PG, RW, FIX, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, 0, PG, RW, PRIV, &a), -MM_ENOMEM);
	/* brk's do_brk_flags() has the same "> max" rule. */
	uint64_t brk;
	ASSERT_EQ(mm_brk(m, pid, X86_BRK + PG, &brk), 0);
	ASSERT_EQ_HEX(brk, X86_BRK);
	/* munmap of whole VMAs brings it down again. */
	ASSERT_EQ(mm_munmap(m, pid, W + 40 * PG, PG), 0);
	ASSERT_EQ(map_count(m, pid), 8);
	ASSERT_EQ(mm_brk(m, pid, X86_BRK + PG, &brk), 0);
	ASSERT_EQ_HEX(brk, X86_BRK + PG);
	ASSERT_EQ(map_count(m, pid), 9);
	tu_check(m, "max_map_count");
	mm_machine_destroy(m);
}

TEST(mmap_max_map_count_partial_split)
{
	/* One below the limit, mprotect of a VMA's middle splits the start
	 * (map_count reaches the limit) and then refuses the end split: Linux
	 * answers ENOMEM and leaves the first split in place, two adjacent
	 * VMAs with the same flags (vma_modify() does not undo it).  munmap
	 * in the middle one below the limit succeeds (its end split is
	 * __split_vma(), unchecked). */
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
	c.max_map_count = 8;
	struct mm_machine *m = tu_machine(&c);
	int pid = spawn(m);
	fill_vmas(m, pid, 7);
	ASSERT_EQ(mm_mprotect(m, pid, W + PG, PG, RO), -MM_ENOMEM);
	ASSERT_EQ(map_count(m, pid), 8);
	char *mp = maps(m, pid);
	ASSERT_CONTAINS(mp, "100000000-100001000 rw-p 00000000 00:00 0 \n"
			    "100001000-100004000 rw-p 00000000 00:00 0 \n");
	free(mp);
	expect_only_unmerged(m);
	/* Putting the page back to the same flags does not re-merge (no
	 * change, no merge attempt); remapping it does. */
	ASSERT_EQ(mm_mprotect(m, pid, W, PG, RW), 0);
	expect_only_unmerged(m);
	ASSERT_EQ(mm_munmap(m, pid, W, 4 * PG), 0);
	tu_check(m, "after cleanup");
	fill_vmas(m, pid, 7);
	ASSERT_EQ(mm_munmap(m, pid, W + PG, PG), 0);
	ASSERT_EQ(map_count(m, pid), 8);
	tu_check(m, "munmap middle below the limit");
	mm_machine_destroy(m);
}

/* ---- munmap ------------------------------------------------------------ */

TEST(mmap_munmap_edges)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 16 * PG, RW, FIX);
	ASSERT_EQ(mm_munmap(m, pid, W, 0), -MM_EINVAL);
	ASSERT_EQ(mm_munmap(m, pid, W + 1, PG), -MM_EINVAL);
	ASSERT_EQ(mm_munmap(m, pid, 0x800000000000ull, PG), -MM_EINVAL);
	ASSERT_EQ(mm_munmap(m, pid, 0x7ffffffff000ull, 2 * PG), -MM_EINVAL);
	/* Nothing mapped there: success. */
	ASSERT_EQ(mm_munmap(m, pid, W + 32 * PG, 4 * PG), 0);
	ASSERT_EQ(mm_munmap(m, pid, 0, PG), 0);
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");
	/* The start, the middle (len rounds up) and the end. */
	ASSERT_EQ(mm_munmap(m, pid, W, PG), 0);
	ASSERT_EQ(mm_munmap(m, pid, W + 4 * PG, PG + 1), 0);
	ASSERT_EQ(mm_munmap(m, pid, W + 15 * PG, PG), 0);
	expect_maps(m, pid, "100001000-100004000 rw-p 00000000 00:00 0 \n"
			    "100006000-10000f000 rw-p 00000000 00:00 0 \n");
	ASSERT_EQ_U64(c0 - meminfo_kb(m, "Committed_AS:"), 4 * 4);
	ASSERT_EQ_U64(status_kb(m, pid, "VmSize:"), 12 * 4);
	/* One call spanning holes and several VMAs, cutting both ends. */
	map_ok(m, pid, W + 20 * PG, 2 * PG, RO, FIX);
	ASSERT_EQ(mm_munmap(m, pid, W + 2 * PG, 19 * PG), 0);
	expect_maps(m, pid, "100001000-100002000 rw-p 00000000 00:00 0 \n"
			    "100015000-100016000 r--p 00000000 00:00 0 \n");
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), c0 - 15 * 4);
	tu_check(m, "munmap");
	mm_machine_destroy(m);
}

/* ---- mprotect -------------------------------------------------------- */

TEST(mmap_mprotect_errors)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 4 * PG, RW, FIX);
	map_ok(m, pid, W + 6 * PG, 4 * PG, RW, FIX);
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(m, d0);
	ASSERT_EQ(mm_mprotect(m, pid, W + 1, PG, RO), -MM_EINVAL);
	ASSERT_EQ(mm_mprotect(m, pid, W, PG, 0x10), -MM_EINVAL);
	/* len 0 answers 0 before looking at anything else but alignment. */
	ASSERT_EQ(mm_mprotect(m, pid, W + 100 * PG, 0, 0x10), 0);
	/* end wraps: ENOMEM; checked before prot. */
	ASSERT_EQ(mm_mprotect(m, pid, W, UINT64_MAX, 0x10), -MM_ENOMEM);
	/* Starting in a hole, or beyond every VMA: ENOMEM, nothing done. */
	ASSERT_EQ(mm_mprotect(m, pid, W - PG, 2 * PG, RO), -MM_ENOMEM);
	ASSERT_EQ(mm_mprotect(m, pid, W + 4 * PG, 4 * PG, RO), -MM_ENOMEM);
	ASSERT_EQ(mm_mprotect(m, pid, W + 20 * PG, PG, RO), -MM_ENOMEM);
	/* PROT_GROWSDOWN on a VMA that does not grow down; both GROWS*. */
	ASSERT_EQ(mm_mprotect(m, pid, W, PG, RO | 0x01000000), -MM_EINVAL);
	ASSERT_EQ(mm_mprotect(m, pid, W, PG, RO | 0x03000000), -MM_EINVAL);
	ASSERT_EQ(mm_mprotect(m, pid, W, PG, RO | 0x02000000), -MM_EINVAL);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d1, d0);
	/* A hole in the middle: the VMAs before it are changed, then ENOMEM. */
	ASSERT_EQ(mm_mprotect(m, pid, W + 2 * PG, 6 * PG, RO), -MM_ENOMEM);
	expect_maps(m, pid, "100000000-100002000 rw-p 00000000 00:00 0 \n"
			    "100002000-100004000 r--p 00000000 00:00 0 \n"
			    "100006000-10000a000 rw-p 00000000 00:00 0 \n");
	/* A range ending in a hole past the last VMA: same. */
	ASSERT_EQ(mm_mprotect(m, pid, W + 8 * PG, 4 * PG, RWX), -MM_ENOMEM);
	expect_maps(m, pid, "100000000-100002000 rw-p 00000000 00:00 0 \n"
			    "100002000-100004000 r--p 00000000 00:00 0 \n"
			    "100006000-100008000 rw-p 00000000 00:00 0 \n"
			    "100008000-10000a000 rwxp 00000000 00:00 0 \n");
	/* PROT_SEM is accepted (and means nothing here). */
	ASSERT_EQ(mm_mprotect(m, pid, W, PG, RW | 0x8), 0);
	tu_check(m, "mprotect errors");
	mm_machine_destroy(m);
}

TEST(mmap_mprotect_split_and_merge_back)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 8 * PG, RW, FIX);
	ASSERT_EQ(mm_mprotect(m, pid, W, PG, RO), 0);              /* start */
	ASSERT_EQ(mm_mprotect(m, pid, W + 3 * PG, 2 * PG, RWX), 0); /* middle */
	ASSERT_EQ(mm_mprotect(m, pid, W + 7 * PG, PG, MM_PROT_NONE), 0); /* end */
	expect_maps(m, pid, "100000000-100001000 r--p 00000000 00:00 0 \n"
			    "100001000-100003000 rw-p 00000000 00:00 0 \n"
			    "100003000-100005000 rwxp 00000000 00:00 0 \n"
			    "100005000-100007000 rw-p 00000000 00:00 0 \n"
			    "100007000-100008000 ---p 00000000 00:00 0 \n");
	ASSERT_EQ(map_count(m, pid), 5);
	/* The same protection again is no change at all. */
	ASSERT_EQ(mm_mprotect(m, pid, W + 3 * PG, 2 * PG, RWX), 0);
	ASSERT_EQ(map_count(m, pid), 5);
	/* One call over all five: they become one VMA again (each piece
	 * merges with the one before it as the walk goes). */
	ASSERT_EQ(mm_mprotect(m, pid, W, 8 * PG, RW), 0);
	expect_maps(m, pid, "100000000-100008000 rw-p 00000000 00:00 0 \n");
	/* Merging with the next VMA only (prot of the tail equals next's). */
	map_ok(m, pid, W + 8 * PG, 2 * PG, RO, FIX);
	ASSERT_EQ(mm_mprotect(m, pid, W + 6 * PG, 2 * PG, RO), 0);
	expect_maps(m, pid, "100000000-100006000 rw-p 00000000 00:00 0 \n"
			    "100006000-10000a000 r--p 00000000 00:00 0 \n");
	/* Back again, then over the boundary: the walk skips what already
	 * has the protection and merges the rest. */
	ASSERT_EQ(mm_mprotect(m, pid, W + 6 * PG, 2 * PG, RW), 0);
	ASSERT_EQ(mm_mprotect(m, pid, W + 6 * PG, 4 * PG, RW), 0);
	expect_maps(m, pid, "100000000-10000a000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "mprotect split/merge");
	mm_machine_destroy(m);
}

TEST(mmap_mprotect_growsdown)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 8 * PG, RW, FIX | MM_MAP_GROWSDOWN);
	/* PROT_GROWSDOWN extends the range down to the VMA's start. */
	ASSERT_EQ(mm_mprotect(m, pid, W + 4 * PG, PG, RO | 0x01000000), 0);
	expect_maps(m, pid, "100000000-100005000 r--p 00000000 00:00 0 \n"
			    "100005000-100008000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "PROT_GROWSDOWN");
	mm_machine_destroy(m);
}

TEST(mmap_mprotect_never_eacces_for_anonymous)
{
	/* Anonymous mappings (private and shared) are created with
	 * VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC (and VM_MAYSHARE when shared),
	 * so the "newflags & ~(newflags >> 4)" test of do_mprotect_pkey()
	 * never fires: EACCES only arises for file mappings (a read-only
	 * file mapped shared, a noexec mount). */
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t p = map_ok(m, pid, W, 4 * PG, MM_PROT_NONE, FIX);
	uint64_t s = map_ok(m, pid, W + 8 * PG, 4 * PG, MM_PROT_NONE,
			    MM_MAP_SHARED | MM_MAP_FIXED);
	expect_vmflags(m, pid, p, "VmFlags: mr mw me sd ");
	expect_vmflags(m, pid, s, "VmFlags: sh mr mw me ms sd ");
	for (int prot = 0; prot < 8; prot++) {
		ASSERT_EQ(mm_mprotect(m, pid, p, 4 * PG, prot), 0);
		ASSERT_EQ(mm_mprotect(m, pid, s, 4 * PG, prot), 0);
	}
	tu_check(m, "no EACCES");
	mm_machine_destroy(m);
}

/* ---- madvise ------------------------------------------------------------ */

TEST(mmap_madvise)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 4 * PG, RW, FIX);
	map_ok(m, pid, W + 6 * PG, 4 * PG, RW, FIX);
	ASSERT_EQ(mm_madvise(m, pid, W, PG, 12345), -MM_EINVAL);
	ASSERT_EQ(mm_madvise(m, pid, W + 1, PG, MM_MADV_RANDOM), -MM_EINVAL);
	/* Invalid advice is refused before alignment and len 0. */
	ASSERT_EQ(mm_madvise(m, pid, W + 1, 0, 12345), -MM_EINVAL);
	ASSERT_EQ(mm_madvise(m, pid, W + 100 * PG, 0, MM_MADV_RANDOM), 0);
	ASSERT_EQ(mm_madvise(m, pid, W, UINT64_MAX, MM_MADV_RANDOM), -MM_EINVAL);
	/* Wholly unmapped: ENOMEM. */
	ASSERT_EQ(mm_madvise(m, pid, W + 20 * PG, PG, MM_MADV_RANDOM), -MM_ENOMEM);
	ASSERT_EQ(map_count(m, pid), 2);
	/* Holes are skipped: both mapped parts change, then ENOMEM. */
	ASSERT_EQ(mm_madvise(m, pid, W - PG, 9 * PG, MM_MADV_RANDOM), -MM_ENOMEM);
	expect_maps(m, pid, "100000000-100004000 rw-p 00000000 00:00 0 \n"
			    "100006000-100008000 rw-p 00000000 00:00 0 \n"
			    "100008000-10000a000 rw-p 00000000 00:00 0 \n");
	expect_vmflags(m, pid, W, "VmFlags: rd wr mr mw me rr ac sd ");
	expect_vmflags(m, pid, W + 6 * PG, "VmFlags: rd wr mr mw me rr ac sd ");
	expect_vmflags(m, pid, W + 8 * PG, "VmFlags: rd wr mr mw me ac sd ");
	/* SEQUENTIAL replaces RANDOM; NORMAL merges everything back. */
	ASSERT_EQ(mm_madvise(m, pid, W + PG, 2 * PG, MM_MADV_SEQUENTIAL), 0);
	expect_vmflags(m, pid, W + PG, "VmFlags: rd wr mr mw me sr ac sd ");
	ASSERT_EQ(map_count(m, pid), 5);
	ASSERT_EQ(mm_madvise(m, pid, W, 10 * PG, MM_MADV_NORMAL), -MM_ENOMEM);
	expect_maps(m, pid, "100000000-100004000 rw-p 00000000 00:00 0 \n"
			    "100006000-10000a000 rw-p 00000000 00:00 0 \n");
	/* The advices that change no VMA. */
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_WILLNEED), 0);
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_DONTNEED), 0);
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_COLD), 0);
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ(mm_madvise(m, pid, W, 5 * PG, MM_MADV_DONTNEED), -MM_ENOMEM);
	/* DONTNEED, COLD and PAGEOUT refuse VM_LOCKED memory; the walk stops
	 * there, so EINVAL wins over the hole seen before it. */
	ASSERT_EQ(mm_mlock(m, pid, W + 6 * PG, PG), 0);
	ASSERT_EQ(mm_madvise(m, pid, W, 10 * PG, MM_MADV_DONTNEED), -MM_EINVAL);
	ASSERT_EQ(mm_madvise(m, pid, W + 6 * PG, PG, MM_MADV_COLD), -MM_EINVAL);
	ASSERT_EQ(mm_madvise(m, pid, W + 6 * PG, PG, MM_MADV_PAGEOUT), -MM_EINVAL);
	ASSERT_EQ(mm_madvise(m, pid, W + 7 * PG, PG, MM_MADV_DONTNEED), 0);
	/* The hint advices do not care about VM_LOCKED. */
	ASSERT_EQ(mm_madvise(m, pid, W + 6 * PG, 4 * PG, MM_MADV_RANDOM), 0);
	expect_vmflags(m, pid, W + 6 * PG, "VmFlags: rd wr mr mw me lo rr ac sd ");
	tu_check(m, "madvise");
	mm_machine_destroy(m);
}

TEST(mmap_madvise_dontfork)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 4 * PG, RW, FIX);
	ASSERT_EQ(mm_madvise(m, pid, W + PG, PG, MADV_DONTFORK), 0);
	expect_vmflags(m, pid, W + PG, "VmFlags: rd wr mr mw me dc ac sd ");
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	/* The child has no copy of the DONTFORK page, and is charged only
	 * for what it got. */
	expect_maps(m, child, "100000000-100001000 rw-p 00000000 00:00 0 \n"
			      "100002000-100004000 rw-p 00000000 00:00 0 \n");
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:") - c0, 3 * 4);
	ASSERT_EQ_U64(status_kb(m, child, "VmSize:"), 12);
	/* DOFORK merges the page back. */
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MADV_DOFORK), 0);
	expect_maps(m, pid, "100000000-100004000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "dontfork");
	mm_machine_destroy(m);
}

/* ---- mlock ---------------------------------------------------------------- */

TEST(mmap_mlock_munlock)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 8 * PG, RW, FIX);
	map_ok(m, pid, W + 10 * PG, 2 * PG, RW, FIX);
	/* The address rounds down and the length up around it. */
	ASSERT_EQ(mm_mlock(m, pid, W + 2 * PG + 100, PG), 0);
	expect_vmflags(m, pid, W + 2 * PG, "VmFlags: rd wr mr mw me lo ac sd ");
	ASSERT_EQ(map_count(m, pid), 4);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLck:"), 8);
	char *sm = render_pid(m, pid, mm_proc_pid_smaps);
	ASSERT_CONTAINS(sm, "100002000-100004000 rw-p 00000000 00:00 0 \n"
			    "Size:                  8 kB\n");
	free(sm);
	/* Locking again counts nothing twice. */
	ASSERT_EQ(mm_mlock(m, pid, W, 8 * PG), 0);
	ASSERT_EQ(map_count(m, pid), 2);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLck:"), 32);
	/* A hole: ENOMEM after locking what comes before it. */
	ASSERT_EQ(mm_mlock(m, pid, W + 6 * PG, 8 * PG), -MM_ENOMEM);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLck:"), 32);
	ASSERT_EQ(mm_munlock(m, pid, W + 7 * PG, 6 * PG), -MM_ENOMEM);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLck:"), 28);
	expect_maps(m, pid, "100000000-100007000 rw-p 00000000 00:00 0 \n"
			    "100007000-100008000 rw-p 00000000 00:00 0 \n"
			    "10000a000-10000c000 rw-p 00000000 00:00 0 \n");
	/* Starting in a hole: nothing happens. */
	ASSERT_EQ(mm_mlock(m, pid, W + 9 * PG, 2 * PG), -MM_ENOMEM);
	ASSERT_EQ(mm_munlock(m, pid, W + 8 * PG, PG), -MM_ENOMEM);
	/* munlock merges back; len 0 and a wrapping len lock nothing. */
	ASSERT_EQ(mm_munlock(m, pid, W, 8 * PG), 0);
	ASSERT_EQ(mm_mlock(m, pid, W, 0), 0);
	ASSERT_EQ(mm_mlock(m, pid, W, UINT64_MAX), 0);
	ASSERT_EQ(mm_mlock(m, pid, W, UINT64_MAX - 2 * PG), -MM_EINVAL);
	expect_maps(m, pid, "100000000-100008000 rw-p 00000000 00:00 0 \n"
			    "10000a000-10000c000 rw-p 00000000 00:00 0 \n");
	ASSERT_EQ_U64(status_kb(m, pid, "VmLck:"), 0);
	/* MAP_LOCKED is VM_LOCKED from the start. */
	map_ok(m, pid, W + 20 * PG, 2 * PG, RW, FIX | MM_MAP_LOCKED);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLck:"), 8);
	/* PROT_NONE: locked, but populating it fails (get_user_pages ->
	 * -EFAULT, reported as -ENOMEM); the host does the same
	 * (tests/fidelity mlock.scn line 47).  Exec-only is accessible. */
	map_ok(m, pid, W + 30 * PG, 2 * PG, MM_PROT_NONE, FIX);
	map_ok(m, pid, W + 32 * PG, 2 * PG, RO, FIX);
	map_ok(m, pid, W + 34 * PG, 2 * PG, MM_PROT_EXEC, FIX);
	ASSERT_EQ(mm_mlock(m, pid, W + 32 * PG, 4 * PG), 0);
	ASSERT_EQ(mm_mlock(m, pid, W + 31 * PG, 2 * PG), -MM_ENOMEM);
	expect_vmflags(m, pid, W + 31 * PG, "VmFlags: mr mw me lo sd ");
	expect_vmflags(m, pid, W + 30 * PG, "VmFlags: mr mw me sd ");
	ASSERT_EQ_U64(status_kb(m, pid, "VmLck:"), 8 + 20);
	ASSERT_EQ(mm_munlock(m, pid, W + 30 * PG, 6 * PG), 0);
	tu_check(m, "mlock");
	mm_machine_destroy(m);
}

/* ---- brk ---------------------------------------------------------------- */

TEST(mmap_brk)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t b;
	const uint64_t s = X86_BRK;
	ASSERT_EQ(mm_brk(m, pid, 0, &b), 0);
	ASSERT_EQ_HEX(b, s);
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");
	ASSERT_EQ(mm_brk(m, pid, s + PG, &b), 0);
	ASSERT_EQ_HEX(b, s + PG);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:") - c0, 4);
	/* An unaligned break is kept as given; the heap covers its page. */
	ASSERT_EQ(mm_brk(m, pid, s + PG + 100, &b), 0);
	ASSERT_EQ_HEX(b, s + PG + 100);
	struct text t = {.n = 0};
	add(&t, "555555554000-555555556000 rw-p 00000000 00:00 0 %24s [heap]\n", "");
	expect_maps(m, pid, t.s);
	expect_vmflags(m, pid, s, "VmFlags: rd wr mr mw me ac sd ");
	ASSERT_EQ_U64(status_kb(m, pid, "VmData:"), 8);
	/* Shrinking unmaps the pages above the new break. */
	ASSERT_EQ(mm_brk(m, pid, s + 50, &b), 0);
	ASSERT_EQ_HEX(b, s + 50);
	t.n = 0;
	add(&t, "555555554000-555555555000 rw-p 00000000 00:00 0 %24s [heap]\n", "");
	expect_maps(m, pid, t.s);
	/* Below start_brk: refused, the old break answered. */
	ASSERT_EQ(mm_brk(m, pid, s - PG, &b), 0);
	ASSERT_EQ_HEX(b, s + 50);
	/* Back to start_brk: the heap VMA goes. */
	ASSERT_EQ(mm_brk(m, pid, s, &b), 0);
	ASSERT_EQ_HEX(b, s);
	expect_maps(m, pid, "");
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), c0);
	/* A mapping 8 pages up: the heap may grow to leave one free page
	 * below it (newbrk + PAGE_SIZE <= vm_start_gap(next)), no further. */
	map_ok(m, pid, s + 8 * PG, PG, RO, FIX);
	ASSERT_EQ(mm_brk(m, pid, s + 7 * PG + 1, &b), 0);
	ASSERT_EQ_HEX(b, s);
	ASSERT_EQ(mm_brk(m, pid, s + 9 * PG, &b), 0);
	ASSERT_EQ_HEX(b, s);
	ASSERT_EQ(mm_brk(m, pid, s + 7 * PG, &b), 0);
	ASSERT_EQ_HEX(b, s + 7 * PG);
	t.n = 0;
	add(&t, "555555554000-55555555b000 rw-p 00000000 00:00 0 %24s [heap]\n"
		"55555555c000-55555555d000 r--p 00000000 00:00 0 \n", "");
	expect_maps(m, pid, t.s);
	/* A heap made read-only does not merge with the next brk growth. */
	ASSERT_EQ(mm_munmap(m, pid, s + 8 * PG, PG), 0);
	ASSERT_EQ(mm_mprotect(m, pid, s, 7 * PG, RO), 0);
	ASSERT_EQ(mm_brk(m, pid, s + 8 * PG, &b), 0);
	ASSERT_EQ(map_count(m, pid), 2);
	tu_check(m, "brk");
	mm_machine_destroy(m);
}

TEST(mmap_heap_name_bounds)
{
	/* vma_is_initial_heap(): vm_start < brk && vm_end > start_brk — a
	 * VMA ending at start_brk, or starting at an aligned brk, is not the
	 * heap. */
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, X86_BRK - PG, PG, RO, FIX);
	map_ok(m, pid, X86_BRK, PG, RW, FIX);
	expect_maps(m, pid, "555555553000-555555554000 r--p 00000000 00:00 0 \n"
			    "555555554000-555555555000 rw-p 00000000 00:00 0 \n");
	/* Once brk moves above start_brk, the VMA under the break is the
	 * heap (a new VMA: the read-only one cannot be extended). */
	ASSERT_EQ(mm_munmap(m, pid, X86_BRK, PG), 0);
	uint64_t b;
	ASSERT_EQ(mm_brk(m, pid, X86_BRK + PG, &b), 0);
	struct text t = {.n = 0};
	add(&t, "555555553000-555555554000 r--p 00000000 00:00 0 \n"
		"555555554000-555555555000 rw-p 00000000 00:00 0 %24s [heap]\n", "");
	expect_maps(m, pid, t.s);
	/* A writable mapping laid over the heap and reaching below start_brk
	 * is extended by the next brk (do_brk_flags() expands brkvma, the
	 * VMA below the break when it ends above start_brk). */
	map_ok(m, pid, X86_BRK - PG, 2 * PG, RW, FIX);
	ASSERT_EQ(mm_brk(m, pid, X86_BRK + 2 * PG, &b), 0);
	ASSERT_EQ_HEX(b, X86_BRK + 2 * PG);
	t.n = 0;
	add(&t, "555555553000-555555556000 rw-p 00000000 00:00 0 %24s [heap]\n", "");
	expect_maps(m, pid, t.s);
	tu_check(m, "heap name");
	mm_machine_destroy(m);
}

/* ---- overcommit and Committed_AS ------------------------------------- */

static struct mm_machine *overcommit_machine(enum mm_overcommit policy)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	c.overcommit = policy;
	return tu_machine(&c);
}

TEST(mmap_overcommit_never)
{
	struct mm_machine *m = overcommit_machine(MM_OVERCOMMIT_NEVER);
	int pid = spawn(m);
	uint64_t a;
	uint64_t limit = m->totalram_pages * 50 / 100; /* no swap */
	ASSERT_EQ_U64(meminfo_kb(m, "CommitLimit:"), limit * 4);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), 0);
	/* __vm_enough_memory(): committed (with the new pages) must stay
	 * below CommitLimit less min(total_vm / 32, user_reserve). */
	ASSERT_EQ(map(m, pid, 0, limit * PG, RW, PRIV, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, W, limit * PG, RW, FIX, &a), -MM_ENOMEM);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), 0);
	ASSERT_EQ(map(m, pid, W, (limit - 1) * PG, RW, FIX, &a), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), (limit - 1) * 4);
	expect_vmflags(m, pid, W, "VmFlags: rd wr mr mw me ac sd ");
	/* One more writable page is too much; so is MAP_NORESERVE, which
	 * "never" ignores (VM_NORESERVE is set only under the other two). */
	ASSERT_EQ(map(m, pid, 0, PG, RW, PRIV, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, 0, PG, RW, PRIV | MM_MAP_NORESERVE, &a), -MM_ENOMEM);
	/* Read-only and shared mappings are not charged. */
	uint64_t r = map_ok(m, pid, 0, 4 * PG, RO, PRIV);
	map_ok(m, pid, 0, 4 * PG, RW, MM_MAP_SHARED);
	expect_vmflags(m, pid, r, "VmFlags: rd mr mw me sd ");
	/* Making the read-only one writable needs the charge: refused, and
	 * the VMA is left as it was. */
	ASSERT_EQ(mm_mprotect(m, pid, r, 4 * PG, RW), -MM_ENOMEM);
	expect_vmflags(m, pid, r, "VmFlags: rd mr mw me sd ");
	/* Replacing accounted pages in place costs nothing new. */
	ASSERT_EQ(map(m, pid, W, PG, RWX, FIX, &a), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), (limit - 1) * 4);
	/* Unfaulted memory made read-only gives its charge back... */
	ASSERT_EQ(mm_mprotect(m, pid, W, 4 * PG, RO), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), (limit - 5) * 4);
	/* That is not enough room yet: the allowance also keeps back
	 * min(total_vm / 32, user_reserve) pages for a process this big. */
	ASSERT_EQ(mm_mprotect(m, pid, r, 2 * PG, RW), -MM_ENOMEM);
	/* Unmapping the rest gives it all back, and the read-only mapping
	 * can become writable. */
	ASSERT_EQ(mm_munmap(m, pid, W + 4 * PG, (limit - 5) * PG), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), 0);
	ASSERT_EQ(mm_mprotect(m, pid, r, 2 * PG, RW), 0);
	expect_vmflags(m, pid, r, "VmFlags: rd wr mr mw me ac sd ");
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), 2 * 4);
	tu_check(m, "never");
	mm_machine_destroy(m);
}

TEST(mmap_overcommit_heuristic_and_always)
{
	struct mm_machine *m = overcommit_machine(MM_OVERCOMMIT_HEURISTIC);
	int pid = spawn(m);
	uint64_t a, ram = m->totalram_pages;
	/* "heuristic" refuses a single request above RAM + swap only. */
	ASSERT_EQ(map(m, pid, 0, (ram + 1) * PG, RW, PRIV, &a), -MM_ENOMEM);
	ASSERT_EQ(map(m, pid, 0, ram * PG, RW, PRIV, &a), 0);
	ASSERT_EQ(map(m, pid, 0, ram * PG, RW, PRIV, &a), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), 2 * ram * 4);
	/* MAP_NORESERVE is honoured here: no charge, "nr", no "ac". */
	uint64_t n = map_ok(m, pid, 0, (ram + 1) * PG, RW, PRIV | MM_MAP_NORESERVE);
	expect_vmflags(m, pid, n, "VmFlags: rd wr mr mw me nr sd ");
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), 2 * ram * 4);
	/* A NORESERVE mapping made writable again is never charged. */
	ASSERT_EQ(mm_mprotect(m, pid, n, PG, RO), 0);
	ASSERT_EQ(mm_mprotect(m, pid, n, PG, RW), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), 2 * ram * 4);
	/* mprotect's charge is judged the same way. */
	uint64_t r = map_ok(m, pid, 0, (ram + 1) * PG, RO, PRIV);
	ASSERT_EQ(mm_mprotect(m, pid, r, (ram + 1) * PG, RW), -MM_ENOMEM);
	ASSERT_EQ(mm_mprotect(m, pid, r, ram * PG, RW), 0);
	tu_check(m, "heuristic");
	mm_machine_destroy(m);

	m = overcommit_machine(MM_OVERCOMMIT_ALWAYS);
	pid = spawn(m);
	const uint64_t tb = 1ull << 40;
	ASSERT_EQ(map(m, pid, 0, tb, RW, PRIV, &a), 0);
	ASSERT_EQ(map(m, pid, 0, tb, RW, PRIV, &a), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), 2 * (tb >> 10));
	tu_check(m, "always");
	mm_machine_destroy(m);
}

TEST(mmap_mprotect_charges_unwritten_private)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");
	uint64_t r = map_ok(m, pid, W, 4 * PG, RO, FIX);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), c0);
	ASSERT_EQ(mm_mprotect(m, pid, r, 4 * PG, RW), 0);
	expect_vmflags(m, pid, r, "VmFlags: rd wr mr mw me ac sd ");
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:") - c0, 16);
	/* Read-only again while never written (no anon_vma): the charge and
	 * VM_ACCOUNT go, so it merges with a read-only neighbour... */
	map_ok(m, pid, W + 4 * PG, 4 * PG, RO, FIX);
	ASSERT_EQ(map_count(m, pid), 2);
	ASSERT_EQ(mm_mprotect(m, pid, r, 4 * PG, RO), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), c0);
	expect_maps(m, pid, "100000000-100008000 r--p 00000000 00:00 0 \n");
	expect_vmflags(m, pid, r, "VmFlags: rd mr mw me sd ");
	/* ...but not with a read-only VM_NORESERVE one: the flags differ. */
	map_ok(m, pid, W + 8 * PG, 4 * PG, RW, FIX | MM_MAP_NORESERVE);
	ASSERT_EQ(mm_mprotect(m, pid, W + 8 * PG, 4 * PG, RO), 0);
	expect_maps(m, pid, "100000000-100008000 r--p 00000000 00:00 0 \n"
			    "100008000-10000c000 r--p 00000000 00:00 0 \n");
	expect_vmflags(m, pid, W + 8 * PG, "VmFlags: rd mr mw me nr sd ");
	tu_check(m, "mprotect accounting");
	mm_machine_destroy(m);
}

/* ---- fork and exit ---------------------------------------------------- */

TEST(mmap_fork_duplicates_vmas)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 4 * PG, RW, FIX);
	map_ok(m, pid, W + 8 * PG, 2 * PG, RO, FIX);
	map_ok(m, pid, W + 16 * PG, 2 * PG, RW, MM_MAP_SHARED | MM_MAP_FIXED);
	map_ok(m, pid, W + 20 * PG, 2 * PG, RWX, FIX | MM_MAP_GROWSDOWN);
	uint64_t b;
	ASSERT_EQ(mm_brk(m, pid, X86_BRK + 2 * PG, &b), 0);
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	ASSERT_EQ(child, pid + 1);
	ASSERT_EQ(mm_task_get(m, child)->ppid, pid);
	char *pm = maps(m, pid), *cm = maps(m, child);
	ASSERT_EQ_STR(cm, pm);
	free(pm);
	free(cm);
	/* Every VM_ACCOUNT VMA is charged again: 4 + 2 + 2 pages. */
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:") - c0, 8 * 4);
	ASSERT_EQ_U64(status_kb(m, child, "VmSize:"), status_kb(m, pid, "VmSize:"));
	ASSERT_EQ_U64(status_kb(m, child, "VmStk:"), 8);
	/* The child's copy is separate. */
	ASSERT_EQ(mm_munmap(m, child, W, 4 * PG), 0);
	ASSERT_EQ(map_count(m, pid), 5);
	tu_check(m, "fork");
	mm_machine_destroy(m);
}

TEST(mmap_fork_never_and_locked)
{
	struct mm_machine *m = overcommit_machine(MM_OVERCOMMIT_NEVER);
	int pid = spawn(m);
	uint64_t limit = m->totalram_pages * 50 / 100;
	map_ok(m, pid, W, (limit / 2) * PG, RW, FIX);
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");
	int child = 0;
	uint32_t tasks = m->nr_tasks;
	ASSERT_EQ(mm_fork(m, pid, &child), -MM_ENOMEM);
	ASSERT_EQ(m->nr_tasks, tasks);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), c0);
	/* Without the charge (DONTFORK) the fork goes through; the pid was
	 * not used up by the failed attempt. */
	ASSERT_EQ(mm_madvise(m, pid, W, (limit / 2) * PG, MADV_DONTFORK), 0);
	map_ok(m, pid, W + limit * PG, 4 * PG, RW, FIX | MM_MAP_LOCKED);
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	ASSERT_EQ(child, pid + 1);
	/* mlock is not inherited. */
	ASSERT_EQ_U64(status_kb(m, pid, "VmLck:"), 16);
	ASSERT_EQ_U64(status_kb(m, child, "VmLck:"), 0);
	expect_vmflags(m, child, W + limit * PG, "VmFlags: rd wr mr mw me ac sd ");
	tu_check(m, "fork never");
	mm_machine_destroy(m);
}

TEST(mmap_fork_keeps_unmerged_neighbours)
{
	/* dup_mmap() copies VMA by VMA and clears VM_LOCKED in the child
	 * without merging: two parent VMAs that differed only in VM_LOCKED
	 * are two VMAs with equal flags in the child, as in Linux. */
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 4 * PG, RW, FIX);
	ASSERT_EQ(mm_mlock(m, pid, W, 2 * PG), 0);
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	expect_maps(m, child, "100000000-100002000 rw-p 00000000 00:00 0 \n"
			      "100002000-100004000 rw-p 00000000 00:00 0 \n");
	expect_only_unmerged(m);
	/* mlock populated the locked half (write faults: an anon_vma), so
	 * the child's copy has an anon_vma chained to its parent's, and
	 * is_mergeable_anon_vma() refuses to merge the unfaulted half into
	 * it ("uncowed parents"): a change across the boundary keeps two. */
	ASSERT_EQ(mm_mprotect(m, child, W, 4 * PG, RO), 0);
	expect_maps(m, child, "100000000-100002000 r--p 00000000 00:00 0 \n"
			      "100002000-100004000 r--p 00000000 00:00 0 \n");
	/* Without pages (munlock does not unmap them: unmap and map again
	 * in the parent) the next change merges them. */
	map_ok(m, pid, W, 4 * PG, RW, FIX);
	ASSERT_EQ(mm_mprotect(m, pid, W, 2 * PG, RO), 0);
	ASSERT_EQ(mm_mprotect(m, pid, W, 4 * PG, RW), 0);
	expect_maps(m, pid, "100000000-100004000 rw-p 00000000 00:00 0 \n");
	tu_check(m, "fork merge");
	mm_machine_destroy(m);
}

/* Objects in use in one of the engine's slab caches. */
static uint64_t cache_inuse(const struct mm_machine *m, enum mm_engine_cache c)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < m->nr_slabs; i++)
		if (m->slabs[i].pfn != MM_NIL &&
		    (int)m->slabs[i].cache == m->engine_caches[c])
			n += m->slabs[i].inuse;
	return n;
}

static void settle(struct mm_machine *m)
{
	mm_drain_all_pages(m);
	for (int i = 0; i < MM_SLAB_MAX_CACHES; i++)
		if (m->caches[i])
			mm_kmem_cache_shrink(m, i);
	mm_drain_all_pages(m);
}

TEST(mmap_exit_frees_everything)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	/* Warm up once so kernel page tables of the vmalloc area exist. */
	int w = spawn(m);
	ASSERT_EQ(mm_exit(m, w, 0), 0);
	settle(m);
	uint64_t free0 = meminfo_kb(m, "MemFree:");
	uint64_t stack0 = meminfo_kb(m, "KernelStack:");
	uint64_t vm0 = meminfo_kb(m, "VmallocUsed:");
	uint64_t c0 = meminfo_kb(m, "Committed_AS:");

	int pid = spawn(m);
	ASSERT_EQ_U64(meminfo_kb(m, "KernelStack:") - stack0, 16);
	for (uint64_t i = 0; i < 200; i++)
		map_ok(m, pid, W + 2 * i * PG, PG, (int)(i % 3), FIX);
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	uint64_t b;
	ASSERT_EQ(mm_brk(m, child, X86_BRK + 4 * PG, &b), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "KernelStack:") - stack0, 32);
	ASSERT_EQ_U64(cache_inuse(m, MM_CACHE_VM_AREA_STRUCT), 401);
	ASSERT_EQ_U64(cache_inuse(m, MM_CACHE_MM_STRUCT), 2);
	ASSERT_EQ_U64(cache_inuse(m, MM_CACHE_TASK_STRUCT), 2);
	tu_check(m, "before exit");

	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT(mm_task_get(m, pid) == NULL);
	ASSERT_EQ(mm_task_get(m, child)->ppid, 0); /* no init to adopt it */
	ASSERT_EQ(mm_exit(m, child, 0), 0);
	ASSERT_EQ(mm_exit(m, child, 0), -MM_ESRCH);
	ASSERT_EQ_U64(cache_inuse(m, MM_CACHE_VM_AREA_STRUCT), 0);
	ASSERT_EQ_U64(cache_inuse(m, MM_CACHE_MM_STRUCT), 0);
	ASSERT_EQ_U64(cache_inuse(m, MM_CACHE_TASK_STRUCT), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "KernelStack:"), stack0);
	ASSERT_EQ_U64(meminfo_kb(m, "VmallocUsed:"), vm0);
	ASSERT_EQ_U64(meminfo_kb(m, "Committed_AS:"), c0);
	settle(m);
	ASSERT_EQ_U64(meminfo_kb(m, "MemFree:"), free0);
	tu_check(m, "after exit");
	mm_machine_destroy(m);

	/* i386: THREAD_SIZE is 8 KiB. */
	m = mk(MM_ARCH_I386);
	stack0 = meminfo_kb(m, "KernelStack:");
	pid = spawn(m);
	ASSERT_EQ_U64(meminfo_kb(m, "KernelStack:") - stack0, 8);
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT_EQ_U64(meminfo_kb(m, "KernelStack:"), stack0);
	tu_check(m, "exit i386");
	mm_machine_destroy(m);
}

TEST(mmap_pid_allocation)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
	c.pid_max = 305; /* pids 1..304; after a wrap, 300..304 */
	struct mm_machine *m = tu_machine(&c);
	int pid;
	ASSERT_EQ(mm_spawn(m, "a", -1, &pid), 0);
	ASSERT_EQ(pid, 1);
	ASSERT_EQ(mm_spawn(m, "b", -1, &pid), 0);
	ASSERT_EQ(pid, 2);
	/* A freed pid is not reused at once: allocation is cyclic. */
	ASSERT_EQ(mm_exit(m, 2, 0), 0);
	ASSERT_EQ(mm_spawn(m, "c", -1, &pid), 0);
	ASSERT_EQ(pid, 3);
	for (int want = 4; want <= 304; want++) {
		ASSERT_EQ(mm_spawn(m, "x", -1, &pid), 0);
		ASSERT_EQ(pid, want);
	}
	/* Past pid_max the search wraps to RESERVED_PIDS (300), never below:
	 * pid 2 is free but 300..304 are taken. */
	ASSERT_EQ(mm_spawn(m, "y", -1, &pid), -MM_EAGAIN);
	ASSERT_EQ(mm_fork(m, 1, &pid), -MM_EAGAIN);
	ASSERT_EQ(mm_exit(m, 302, 0), 0);
	ASSERT_EQ(mm_exit(m, 5, 0), 0);
	ASSERT_EQ(mm_spawn(m, "z", -1, &pid), 0);
	ASSERT_EQ(pid, 302);
	ASSERT_EQ(mm_spawn(m, "z", -1, &pid), -MM_EAGAIN);
	ASSERT_EQ(mm_exit(m, 300, 0), 0);
	ASSERT_EQ(mm_fork(m, 1, &pid), 0);
	ASSERT_EQ(pid, 300);
	/* cpu = pid % cpus unless asked. */
	ASSERT_EQ(mm_task_get(m, 300)->cpu, 300 % c.cpus);
	tu_check(m, "pids");
	mm_machine_destroy(m);
}

/* ---- /proc/PID/maps, smaps, status -------------------------------------- */

TEST(mmap_proc_maps_format)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	uint64_t b;
	ASSERT_EQ(mm_brk(m, pid, X86_BRK + PG, &b), 0);
	map_ok(m, pid, 0, PG, RWX, PRIV);
	map_ok(m, pid, 0, PG, MM_PROT_NONE, PRIV);
	/* show_vma_header_prefix() ends with a space; a named line is padded
	 * to column 25 + 6 * sizeof(void *) = 73 before the name. */
	struct text t = {.n = 0};
	add(&t, "555555554000-555555555000 rw-p 00000000 00:00 0%26s[heap]\n"
		"7ffff7ffd000-7ffff7ffe000 ---p 00000000 00:00 0 \n"
		"7ffff7ffe000-7ffff7fff000 rwxp 00000000 00:00 0 \n", "");
	expect_maps(m, pid, t.s);
	char *mp = maps(m, pid);
	ASSERT_EQ((int)(strstr(mp, "[heap]") - mp), 73);
	free(mp);
	/* A shared anonymous mapping is a deleted /dev/zero shmem file whose
	 * pgoff shows after a split. */
	uint64_t s = map_ok(m, pid, W, 4 * PG, RO, MM_MAP_SHARED | MM_MAP_FIXED);
	ASSERT_EQ(mm_munmap(m, pid, s, PG), 0);
	mp = maps(m, pid);
	ASSERT_CONTAINS(mp, "100001000-100004000 r--s 00001000 00:01 ");
	free(mp);

	struct mm_machine *m32 = mk(MM_ARCH_I386);
	int p32 = spawn(m32);
	ASSERT_EQ(mm_brk(m32, p32, I386_BRK + 2 * PG, &b), 0);
	map_ok(m32, p32, 0, PG, RW, PRIV);
	t.n = 0;
	add(&t, "80000000-80002000 rw-p 00000000 00:00 0%10s[heap]\n"
		"b7fff000-b8000000 rw-p 00000000 00:00 0 \n", "");
	expect_maps(m32, p32, t.s);
	mp = maps(m32, p32);
	ASSERT_EQ((int)(strstr(mp, "[heap]") - mp), 49);
	free(mp);
	/* No such process: empty. */
	expect_maps(m, 999, "");
	tu_check(m, "maps");
	tu_check(m32, "maps i386");
	mm_machine_destroy(m);
	mm_machine_destroy(m32);
}

TEST(mmap_proc_smaps_format)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, 0, 2 * PG, RW, PRIV);
	const char *want =
		"7ffff7ffd000-7ffff7fff000 rw-p 00000000 00:00 0 \n"
		"Size:                  8 kB\n"
		"KernelPageSize:        4 kB\n"
		"MMUPageSize:           4 kB\n"
		"Rss:                   0 kB\n"
		"Pss:                   0 kB\n"
		"Pss_Dirty:             0 kB\n"
		"Shared_Clean:          0 kB\n"
		"Shared_Dirty:          0 kB\n"
		"Private_Clean:         0 kB\n"
		"Private_Dirty:         0 kB\n"
		"Referenced:            0 kB\n"
		"Anonymous:             0 kB\n"
		"KSM:                   0 kB\n"
		"LazyFree:              0 kB\n"
		"AnonHugePages:         0 kB\n"
		"ShmemPmdMapped:        0 kB\n"
		"FilePmdMapped:         0 kB\n"
		"Shared_Hugetlb:        0 kB\n"
		"Private_Hugetlb:       0 kB\n"
		"Swap:                  0 kB\n"
		"SwapPss:               0 kB\n"
		"Locked:                0 kB\n"
		"THPeligible:           0\n"
		"VmFlags: rd wr mr mw me ac sd \n";
	char *sm = render_pid(m, pid, mm_proc_pid_smaps);
	ASSERT_EQ_STR(sm, want);
	free(sm);
	/* Flags in bit order: rd wr ex … gd … lo … sr rr dc … ac nr … sd. */
	map_ok(m, pid, W, PG, RWX, FIX | MM_MAP_GROWSDOWN | MM_MAP_LOCKED |
					   MM_MAP_NORESERVE);
	ASSERT_EQ(mm_madvise(m, pid, W, PG, MM_MADV_SEQUENTIAL), 0);
	ASSERT_EQ(mm_madvise(m, pid, W, PG, MADV_DONTFORK), 0);
	expect_vmflags(m, pid, W, "VmFlags: rd wr ex mr mw me gd lo sr dc nr sd ");
	/* MAP_STACK is VM_NOHUGEPAGE ("nh"). */
	map_ok(m, pid, W + 4 * PG, PG, RW, FIX | MM_MAP_STACK);
	expect_vmflags(m, pid, W + 4 * PG, "VmFlags: rd wr mr mw me ac sd nh ");
	/* i386 has no soft-dirty tracking (CONFIG_MEM_SOFT_DIRTY needs
	 * x86_64): no "sd". */
	struct mm_machine *m32 = mk(MM_ARCH_I386);
	int p32 = spawn(m32);
	uint64_t a = map_ok(m32, p32, 0, PG, RW, PRIV);
	expect_vmflags(m32, p32, a, "VmFlags: rd wr mr mw me ac ");
	tu_check(m, "smaps");
	tu_check(m32, "smaps i386");
	mm_machine_destroy(m);
	mm_machine_destroy(m32);
}

TEST(mmap_proc_status_memory_lines)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	map_ok(m, pid, W, 4 * PG, RW, FIX);                        /* data */
	map_ok(m, pid, W + 8 * PG, 2 * PG, RO, FIX);               /* neither */
	map_ok(m, pid, W + 16 * PG, PG, MM_PROT_READ | MM_PROT_EXEC, FIX); /* exec */
	map_ok(m, pid, W + 24 * PG, 3 * PG, RW, FIX | MM_MAP_GROWSDOWN); /* stack */
	map_ok(m, pid, W + 32 * PG, 2 * PG, RW, MM_MAP_SHARED | MM_MAP_FIXED);
	ASSERT_EQ(mm_mlock(m, pid, W, 2 * PG), 0);
	/* mlock faulted its two pages in (RSS), under one PUD, PMD and
	 * PTE table (VmPTE: the tables below the pgd). */
	char *st = render_pid(m, pid, mm_proc_pid_status);
	ASSERT_CONTAINS(st, "VmPeak:\t      48 kB\n"
			    "VmSize:\t      48 kB\n"
			    "VmLck:\t       8 kB\n"
			    "VmPin:\t       0 kB\n"
			    "VmHWM:\t       8 kB\n"
			    "VmRSS:\t       8 kB\n"
			    "RssAnon:\t       8 kB\n"
			    "RssFile:\t       0 kB\n"
			    "RssShmem:\t       0 kB\n"
			    "VmData:\t      16 kB\n"
			    "VmStk:\t      12 kB\n"
			    "VmExe:\t       0 kB\n"
			    "VmLib:\t       4 kB\n"
			    "VmPTE:\t      12 kB\n"
			    "VmSwap:\t       0 kB\n");
	ASSERT_CONTAINS(st, "Name:\tt\n");
	free(st);
	/* VmExe is PAGE_ALIGN(end_code) - start_code, at most exec_vm; the
	 * rest of exec_vm is VmLib.  (As exec would set the code bounds.) */
	struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));
	mm->start_code = W + 16 * PG;
	mm->end_code = W + 18 * PG + 0x234;
	ASSERT_EQ_U64(status_kb(m, pid, "VmExe:"), 4);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLib:"), 0);
	mm->start_code = mm->end_code = 0;
	/* mprotect moves pages between the classes. */
	ASSERT_EQ(mm_mprotect(m, pid, W + 8 * PG, 2 * PG, RW), 0);
	ASSERT_EQ_U64(status_kb(m, pid, "VmData:"), 24);
	ASSERT_EQ(mm_mprotect(m, pid, W + 16 * PG, PG, RO), 0);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLib:"), 0);
	/* is_exec_mapping() is "executable, not writable, not stack": a
	 * shared r-x mapping counts, a growsdown r-x one is stack. */
	ASSERT_EQ(mm_mprotect(m, pid, W + 32 * PG, 2 * PG,
			      MM_PROT_READ | MM_PROT_EXEC), 0);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLib:"), 8);
	ASSERT_EQ(mm_mprotect(m, pid, W + 24 * PG, 3 * PG,
			      MM_PROT_READ | MM_PROT_EXEC), 0);
	ASSERT_EQ_U64(status_kb(m, pid, "VmLib:"), 8);
	ASSERT_EQ_U64(status_kb(m, pid, "VmStk:"), 12);
	tu_check(m, "status");
	mm_machine_destroy(m);
}

/* ---- the VMA tree under many VMAs ---------------------------------------- */

TEST(vma_tree_find_many)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m);
	const int n = 3000;
	/* Adjacent single pages of alternating protection: no merging. */
	for (int i = 0; i < n; i++)
		map_ok(m, pid, W + (uint64_t)i * PG, PG, i % 2 ? RO : RW, FIX);
	ASSERT_EQ(map_count(m, pid), n);
	const struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));
	for (int i = 0; i < n; i += 7) {
		const struct mm_vma *v = mm_find_vma(m, mm, W + (uint64_t)i * PG + 5);
		ASSERT(v != NULL);
		ASSERT_EQ_HEX(v->start, W + (uint64_t)i * PG);
	}
	ASSERT(mm_find_vma(m, mm, W + (uint64_t)n * PG) == NULL);
	ASSERT_EQ_HEX(mm_find_vma(m, mm, 0)->start, W);
	/* Remove every third page, then make all read-only: the runs
	 * between the holes merge into one VMA each. */
	for (int i = 0; i < n; i += 3)
		ASSERT_EQ(mm_munmap(m, pid, W + (uint64_t)i * PG, PG), 0);
	tu_check(m, "after munmap");
	for (int i = 1; i < n; i += 3)
		ASSERT_EQ(mm_mprotect(m, pid, W + (uint64_t)i * PG, 2 * PG, RO), 0);
	ASSERT_EQ(map_count(m, pid), n / 3);
	int k = 0;
	for (const struct mm_vma *v = mm_find_vma(m, mm, 0); v; v = mm_vma_next(m, v)) {
		ASSERT_EQ_HEX(v->start, W + (uint64_t)(3 * k + 1) * PG);
		ASSERT_EQ_HEX(v->end - v->start, 2 * PG);
		k++;
	}
	ASSERT_EQ(k, n / 3);
	tu_check(m, "tree");
	mm_machine_destroy(m);
}
