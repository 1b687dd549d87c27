/*
 * test_fault_diff.c — demand paging and real bytes against a plain
 * reference model.
 *
 * Seeded random sequences of mmap (MAP_FIXED, private or
 * MAP_SHARED|MAP_ANONYMOUS, sometimes MAP_POPULATE), mprotect, fork,
 * touch, write, read, munmap, madvise(MADV_DONTNEED) and exit run on a few
 * processes inside a small window of pages.  The reference keeps, per
 * process and page, only what a user program can see: the protection
 * (unmapped, ---, r--, rw-) and the bytes — a private page's own 4 KiB
 * (copied at fork), or a page of a shared object (one per shared mmap,
 * the same for every process that inherited it).  It predicts every
 * access: SIGSEGV with SEGV_MAPERR outside any mapping, SEGV_ACCERR
 * against the protection, at the first byte of the faulting page (or addr
 * itself on the first page), the process then gone; otherwise the bytes.
 * DONTNEED drops private bytes (zeros again) and keeps shared ones.
 *
 * After each step: the engine's return code, touch/read/write pages and
 * signal, every byte read, and a clean invariant checker.  Machines are
 * small (8 MiB x86_64, 12 MiB i386) and reused across sequences, with
 * zero_page on and off; every sequence ends with all its processes gone
 * and no anonymous page or content buffer left behind.
 *
 * With swap, madvise(MADV_PAGEOUT) over random ranges forces pages out
 * and MADV_WILLNEED reads some back; accesses fault them in.  A "tight"
 * run also fills the machine with kernel pages (a balloon) until only a
 * few pages stay free above the low watermark, and lets time pass now and
 * then (a tick), so the processes' own faults make kswapd and direct
 * reclaim swap anonymous pages out on their own.  The model does not change: swap keeps every byte.  Those
 * sequences end with every swap slot free again.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdlib.h>
#include <string.h>

#define PG 4096ull
#define NPAGES 24u     /* the window: [base, base + NPAGES pages) */
#define NPROC 4
#define NOBJ 64        /* shared objects per sequence */
#define STEPS 14       /* operations per sequence */
#define MAXIO (3 * PG) /* longest read or write */

enum { P_UNMAPPED, P_NONE, P_R, P_RW };

struct rpage {
	uint8_t prot;
	uint8_t obj;    /* shared object + 1, 0 = private */
	uint8_t idx;    /* page within the object */
	uint8_t *bytes; /* private bytes (NULL: zeros) */
};

struct rproc {
	int pid;        /* 0: free slot */
	struct rpage pg[NPAGES];
};

struct ref {
	struct rproc p[NPROC];
	uint8_t *obj[NOBJ][NPAGES]; /* shared objects' pages (NULL: zeros) */
	int nobj;
};

struct run {
	struct mm_machine *m;
	uint64_t base;
	uint64_t rng;
	struct ref r;
	uint8_t io[MAXIO], got[MAXIO];
	long reads, writes, touches, signals, forks, bytes, pageouts;
	bool swap;
	uint32_t *balloon;     /* kernel pages held during a tight sequence */
	uint32_t nballoon;
};

static uint64_t rnd(struct run *x)
{
	x->rng ^= x->rng << 13;
	x->rng ^= x->rng >> 7;
	x->rng ^= x->rng << 17;
	return x->rng;
}

static void page_drop(struct rpage *p)
{
	free(p->bytes);
	memset(p, 0, sizeof(*p));
}

static void proc_drop(struct rproc *p)
{
	for (unsigned i = 0; i < NPAGES; i++)
		page_drop(&p->pg[i]);
	p->pid = 0;
}

/* The bytes a process sees at page i (NULL: zeros), and where to write. */
static uint8_t **page_store(struct run *x, struct rproc *p, unsigned i)
{
	struct rpage *g = &p->pg[i];
	return g->obj ? &x->r.obj[g->obj - 1][g->idx] : &g->bytes;
}

/* Predicted outcome of an access of [addr, addr + len) by p: 0, or the
 * signal code with *at its address.  *pages gets the accesses that
 * complete. */
static int predict(struct run *x, struct rproc *p, uint64_t addr, uint64_t len,
		   bool write, uint64_t *at, uint64_t *pages)
{
	*pages = 0;
	for (uint64_t va = addr; va < addr + len; va = (va | (PG - 1)) + 1) {
		uint64_t i = (va - x->base) / PG;
		int prot = va >= x->base && i < NPAGES ? p->pg[i].prot : P_UNMAPPED;
		*at = va;
		if (prot == P_UNMAPPED)
			return MM_SEGV_MAPERR;
		if (prot == P_NONE || (write && prot != P_RW))
			return MM_SEGV_ACCERR;
		(*pages)++;
	}
	return 0;
}

static void expect_signal(const struct mm_touch_result *t, int code,
			  uint64_t at, uint64_t pages)
{
	ASSERT_EQ(t->signal.signo, code ? MM_SIGSEGV : 0);
	if (code) {
		ASSERT_EQ(t->signal.code, code);
		ASSERT_EQ_HEX(t->signal.addr, at);
	}
	ASSERT_EQ_U64(t->pages, pages);
}

static int pick_proc(struct run *x)
{
	int n = 0, live[NPROC];
	for (int i = 0; i < NPROC; i++)
		if (x->r.p[i].pid)
			live[n++] = i;
	return n ? live[rnd(x) % (uint64_t)n] : -1;
}

static int prot_bits(int prot)
{
	return prot == P_RW ? MM_PROT_READ | MM_PROT_WRITE
			    : prot == P_R ? MM_PROT_READ : MM_PROT_NONE;
}

/* An access range: mostly inside the window, one in eight across its
 * edges; often at odd offsets. */
static void pick_range(struct run *x, uint64_t *addr, uint64_t *len,
		       uint64_t maxlen)
{
	*len = 1 + rnd(x) % maxlen;
	if (rnd(x) % 8 == 0) {
		*addr = x->base + (rnd(x) % (NPAGES + 2)) * PG - PG +
			rnd(x) % PG;
		return;
	}
	*addr = x->base + rnd(x) % (NPAGES * PG - *len + 1);
}

/* Mostly rw-, then r--, sometimes ---. */
static int pick_prot(struct run *x)
{
	int r = (int)(rnd(x) % 20);
	return r < 12 ? P_RW : r < 17 ? P_R : P_NONE;
}

static void do_access(struct run *x, struct rproc *p, int kind)
{
	struct mm_machine *m = x->m;
	uint64_t addr, len, at = 0, pages;
	struct mm_touch_result t;

	pick_range(x, &addr, &len, kind == 0 ? 4 * PG : MAXIO);
	bool write = kind == 1 || (kind == 0 && rnd(x) % 2);
	int code = predict(x, p, addr, len, write, &at, &pages);
	uint64_t moved = code ? at - addr : len;
	if (kind == 0) {
		x->touches++;
		ASSERT_EQ(mm_touch(m, p->pid, addr, len,
				   write ? MM_ACCESS_WRITE : MM_ACCESS_READ, &t), 0);
	} else if (kind == 1) {
		x->writes++;
		for (uint64_t k = 0; k < len; k++)
			x->io[k] = (uint8_t)(rnd(x) >> 24);
		ASSERT_EQ(mm_write(m, p->pid, addr, x->io, len, &t), 0);
		for (uint64_t k = 0; k < moved;) {
			uint64_t va = addr + k, i = (va - x->base) / PG;
			uint64_t n = MM_MIN(moved - k, PG - (va & (PG - 1)));
			uint8_t **b = page_store(x, p, (unsigned)i);
			if (!*b) {
				*b = calloc(1, PG);
				ASSERT(*b != NULL);
			}
			memcpy(*b + (va & (PG - 1)), x->io + k, n);
			k += n;
		}
	} else {
		x->reads++;
		memset(x->got, 0xa5, len);
		ASSERT_EQ(mm_read(m, p->pid, addr, x->got, len, &t), 0);
		for (uint64_t k = 0; k < moved;) {
			uint64_t va = addr + k, i = (va - x->base) / PG;
			uint64_t n = MM_MIN(moved - k, PG - (va & (PG - 1)));
			const uint8_t *b = *page_store(x, p, (unsigned)i);
			for (uint64_t j = 0; j < n; j++) {
				uint8_t want = b ? b[(va & (PG - 1)) + j] : 0;
				if (x->got[k + j] != want)
					th_fail(__FILE__, __LINE__, "pid %d read "
						"0x%llx: byte %02x, want %02x",
						p->pid, (unsigned long long)(va + j),
						x->got[k + j], want);
			}
			k += n;
		}
		x->bytes += (long)moved;
	}
	expect_signal(&t, code, at, pages);
	if (code) {
		x->signals++;
		ASSERT(mm_task_get(m, p->pid) == NULL);
		proc_drop(p);
	}
}

static void do_mmap(struct run *x, struct rproc *p, unsigned first,
		    unsigned n, int prot, bool shared)
{
	int flags = MM_MAP_FIXED | MM_MAP_ANONYMOUS |
		    (shared ? MM_MAP_SHARED : MM_MAP_PRIVATE);
	if (rnd(x) % 6 == 0)
		flags |= MM_MAP_POPULATE;
	uint64_t out;
	ASSERT_EQ(mm_mmap(x->m, p->pid, x->base + first * PG, n * PG,
			  prot_bits(prot), flags, -1, 0, &out), 0);
	int obj = shared ? ++x->r.nobj : 0;
	for (unsigned i = 0; i < n; i++) {
		struct rpage *g = &p->pg[first + i];
		page_drop(g);
		g->prot = (uint8_t)prot;
		g->obj = (uint8_t)obj;
		g->idx = (uint8_t)i;
	}
}

/* mprotect and madvise(DONTNEED) on [first, first + n): Linux's walks. */
static void do_range_op(struct run *x, struct rproc *p, int kind)
{
	unsigned first = (unsigned)(rnd(x) % NPAGES);
	unsigned n = 1 + (unsigned)(rnd(x) % (NPAGES - first));
	uint64_t a = x->base + first * PG, len = n * PG;
	bool hole = false;

	for (unsigned i = first; i < first + n; i++)
		hole |= p->pg[i].prot == P_UNMAPPED;
	if (kind == 0) {
		int prot = pick_prot(x);
		/* mprotect changes the VMAs up to the first hole */
		ASSERT_EQ(mm_mprotect(x->m, p->pid, a, len, prot_bits(prot)),
			  hole ? -MM_ENOMEM : 0);
		for (unsigned i = first; i < first + n && p->pg[i].prot; i++)
			p->pg[i].prot = (uint8_t)prot;
	} else if (kind == 1) {
		/* DONTNEED zaps every mapped part, ENOMEM for a hole */
		ASSERT_EQ(mm_madvise(x->m, p->pid, a, len, MM_MADV_DONTNEED),
			  hole ? -MM_ENOMEM : 0);
		for (unsigned i = first; i < first + n; i++)
			if (!p->pg[i].obj) {
				free(p->pg[i].bytes);
				p->pg[i].bytes = NULL;
			}
	} else {
		ASSERT_EQ(mm_munmap(x->m, p->pid, a, len), 0);
		for (unsigned i = first; i < first + n; i++)
			page_drop(&p->pg[i]);
	}
}

/* madvise(MADV_PAGEOUT or MADV_WILLNEED) over a random range: ENOMEM
 * for a hole, the bytes unchanged either way. */
static void do_swap_op(struct run *x, struct rproc *p)
{
	unsigned first = (unsigned)(rnd(x) % NPAGES);
	unsigned n = 1 + (unsigned)(rnd(x) % (NPAGES - first));
	bool hole = false;

	for (unsigned i = first; i < first + n; i++)
		hole |= p->pg[i].prot == P_UNMAPPED;
	int advice = rnd(x) % 4 ? MM_MADV_PAGEOUT : MM_MADV_WILLNEED;
	ASSERT_EQ(mm_madvise(x->m, p->pid, x->base + first * PG, n * PG, advice),
		  hole ? -MM_ENOMEM : 0);
	x->pageouts++;
}

/* Kernel pages until free memory is a few pages above the low
 * watermark. */
static void balloon_fill(struct run *x)
{
	struct mm_machine *m = x->m;
	uint64_t want = 0;

	for (int n = 0; n < m->nr_nodes; n++)
		for (int z = 0; z < m->nr_zone_types; z++)
			want += mm_wmark_pages(&m->nodes[n].zones[z], MM_WMARK_LOW);
	want += 4;
	x->balloon = malloc(m->nr_pfns * sizeof(uint32_t));
	ASSERT(x->balloon != NULL);
	x->nballoon = 0;
	for (;;) {
		uint64_t free_pages = 0;
		for (int n = 0; n < m->nr_nodes; n++)
			for (int z = 0; z < m->nr_zone_types; z++)
				free_pages += (uint64_t)m->nodes[n].zones[z]
						      .vm_stat[MM_NR_FREE_PAGES];
		struct mm_alloc_result r;
		if (free_pages <= want ||
		    mm_alloc_pages(m, MM_GFP_NOWAIT, 0, 0, -1, &r))
			break;
		x->balloon[x->nballoon++] = r.pfn;
	}
}

static void balloon_free(struct run *x)
{
	for (uint32_t i = 0; i < x->nballoon; i++)
		ASSERT_EQ(mm_free_pages(x->m, x->balloon[i], 0, 0), 0);
	free(x->balloon);
	x->balloon = NULL;
	x->nballoon = 0;
}

static void do_fork(struct run *x, struct rproc *p)
{
	int slot = -1;
	for (int i = 0; i < NPROC; i++)
		if (!x->r.p[i].pid)
			slot = i;
	if (slot < 0)
		return;
	struct rproc *c = &x->r.p[slot];
	ASSERT_EQ(mm_fork(x->m, p->pid, &c->pid), 0);
	x->forks++;
	for (unsigned i = 0; i < NPAGES; i++) {
		c->pg[i] = p->pg[i];
		if (p->pg[i].bytes) {
			c->pg[i].bytes = malloc(PG);
			ASSERT(c->pg[i].bytes != NULL);
			memcpy(c->pg[i].bytes, p->pg[i].bytes, PG);
		}
	}
}

static void random_mmap(struct run *x, struct rproc *p)
{
	unsigned first = (unsigned)(rnd(x) % NPAGES);
	unsigned n = 1 + (unsigned)(rnd(x) % (NPAGES - first));
	do_mmap(x, p, first, n, pick_prot(x),
		rnd(x) % 4 == 0 && x->r.nobj < NOBJ);
}

/* A process starts with the window mapped rw- (private), half the time
 * with a shared part. */
static void start_process(struct run *x, int slot)
{
	ASSERT_EQ(mm_spawn(x->m, "d", -1, &x->r.p[slot].pid), 0);
	do_mmap(x, &x->r.p[slot], 0, NPAGES, P_RW, false);
	if (rnd(x) % 2)
		random_mmap(x, &x->r.p[slot]);
}

static void one_sequence(struct run *x)
{
	start_process(x, 0);
	for (int step = 0; step < STEPS; step++) {
		int i = pick_proc(x);
		if (i < 0) {
			start_process(x, 0);
			i = 0;
		}
		struct rproc *p = &x->r.p[i];
		if (x->swap && rnd(x) % 5 == 0) {
			do_swap_op(x, p);
			tu_check(x->m, "swap op");
			continue;
		}
		if (x->balloon && rnd(x) % 4 == 0) {
			struct mm_tick_result tr;
			mm_tick(x->m, 1, &tr);
			tu_check(x->m, "tick");
		}
		int op = (int)(rnd(x) % 100);
		if (op < 18)
			random_mmap(x, p);
		else if (op < 30)
			do_access(x, p, 0);
		else if (op < 50)
			do_access(x, p, 1);
		else if (op < 70)
			do_access(x, p, 2);
		else if (op < 77)
			do_range_op(x, p, 0);
		else if (op < 84)
			do_range_op(x, p, 1);
		else if (op < 89)
			do_range_op(x, p, 2);
		else if (op < 97)
			do_fork(x, p);
		else {
			ASSERT_EQ(mm_exit(x->m, p->pid, 0), 0);
			proc_drop(p);
		}
		tu_check(x->m, "step");
	}
	for (int i = 0; i < NPROC; i++)
		if (x->r.p[i].pid) {
			ASSERT_EQ(mm_exit(x->m, x->r.p[i].pid, 0), 0);
			proc_drop(&x->r.p[i]);
		}
	for (int o = 0; o < NOBJ; o++)
		for (unsigned k = 0; k < NPAGES; k++) {
			free(x->r.obj[o][k]);
			x->r.obj[o][k] = NULL;
		}
	x->r.nobj = 0;
	int64_t anon = 0;
	for (int n = 0; n < x->m->nr_nodes; n++)
		anon += x->m->nodes[n].vm_stat[MM_NR_ANON_PAGES] +
			x->m->nodes[n].vm_stat[MM_NR_SHMEM];
	ASSERT_EQ(anon, 0);
	ASSERT_EQ(x->m->nr_content, 0);
	ASSERT_EQ_U64(x->m->swap_free, mm__swap_total(x->m));
}

/* swap: 0 none, 1 a swap area (forced swap-outs), 2 the same on a
 * machine ballooned tight (reclaim swaps too). */
static void diff_run(enum mm_arch arch, bool zero_page, uint64_t seed,
		     long sequences, int swap)
{
	struct mm_config c = tu_config(arch, arch == MM_ARCH_I386 ? 12ull << 20
								   : 8ull << 20);
	c.zero_page = zero_page;
	c.swap = swap ? 4ull << 20 : 0;
	struct run *x = calloc(1, sizeof(*x));
	ASSERT(x != NULL);
	x->m = tu_machine(&c);
	x->swap = swap != 0;
	x->base = arch == MM_ARCH_I386 ? 0x40000000ull : 0x100000000ull;
	for (long s = 0; s < sequences; s++) {
		x->rng = (seed + (uint64_t)s) * 0x9e3779b97f4a7c15ull | 1;
		if (swap == 2)
			balloon_fill(x);
		one_sequence(x);
		if (swap == 2)
			balloon_free(x);
	}
	printf("  %-6s zero_page=%d swap=%d seed %llu: %ld sequences, %ld "
	       "touches, %ld writes, %ld reads (%ld bytes compared), %ld forks, "
	       "%ld SIGSEGV, %ld swap madvises; pswpout %llu pswpin %llu "
	       "pgsteal_anon %llu\n", arch == MM_ARCH_I386 ? "i386" : "x86_64",
	       zero_page, swap, (unsigned long long)seed, sequences, x->touches,
	       x->writes, x->reads, x->bytes, x->forks, x->signals, x->pageouts,
	       (unsigned long long)x->m->events[MM_PSWPOUT],
	       (unsigned long long)x->m->events[MM_PSWPIN],
	       (unsigned long long)x->m->events[MM_PGSTEAL_ANON]);
	if (swap) {
		ASSERT(x->m->events[MM_PSWPOUT] > 0);
		ASSERT(x->m->events[MM_PSWPIN] > 0);
	}
	if (swap == 2)
		ASSERT(x->m->events[MM_PGSTEAL_KSWAPD] +
		       x->m->events[MM_PGSTEAL_DIRECT] > 0);
	mm_machine_destroy(x->m);
	free(x);
}

TEST(fault_diff_x86_64_zero_page)
{
	diff_run(MM_ARCH_X86_64, true, 1, th_scale(6000), 0);
}

TEST(fault_diff_x86_64_no_zero_page)
{
	diff_run(MM_ARCH_X86_64, false, 100001, th_scale(6000), 0);
}

TEST(fault_diff_i386_zero_page)
{
	diff_run(MM_ARCH_I386, true, 200001, th_scale(4000), 0);
}

TEST(fault_diff_i386_no_zero_page)
{
	diff_run(MM_ARCH_I386, false, 300001, th_scale(4000), 0);
}

TEST(fault_diff_x86_64_swap)
{
	diff_run(MM_ARCH_X86_64, false, 400001, th_scale(3000), 1);
}

TEST(fault_diff_i386_swap)
{
	diff_run(MM_ARCH_I386, true, 500001, th_scale(2000), 1);
}

TEST(fault_diff_x86_64_swap_tight)
{
	diff_run(MM_ARCH_X86_64, true, 600001, th_scale(1500), 2);
}

TEST(fault_diff_i386_swap_tight)
{
	diff_run(MM_ARCH_I386, false, 700001, th_scale(1000), 2);
}
