/*
 * test_vma_diff.c — the VMA code against a brute-force reference model.
 *
 * Seeded random mmap (MAP_FIXED, MAP_FIXED_NOREPLACE and hints; private
 * and, rarely, shared; MAP_NORESERVE, MAP_LOCKED, MAP_GROWSDOWN), munmap,
 * mprotect, madvise (NORMAL/RANDOM/SEQUENTIAL and the advices that change
 * no VMA) and mlock/munlock run on three processes inside a 256-page
 * window, with now and then an unaligned address, a zero or a wrapping
 * length, and a process that exits and is replaced.  The reference keeps
 * each process's VMAs as a sorted array of {start, end, flags, pgoff, shm}
 * and applies every operation the obvious way: split at the operation's
 * boundaries, walk the pieces in address order as Linux 6.18 does (so a
 * hole or a refused charge stops the walk with the earlier pieces already
 * changed), then merge every pair of neighbours Linux's rule calls
 * mergeable — the same backing (private anonymous, or the same shmem
 * object of a shared mapping), equal flags (VM_ACCOUNT, VM_NORESERVE,
 * VM_LOCKED and the read-ahead hints included), contiguous pgoff.  That
 * global merge equals Linux's local one because, without faults, anon_vma
 * or failed splits, every reachable state is already fully merged.
 *
 * Commit accounting is modelled too (__vm_enough_memory for the three
 * policies, mprotect_fixup's charge on becoming writable and the release
 * of VM_ACCOUNT when unfaulted anonymous memory becomes read-only), since
 * it decides both errno and which VMAs merge.  After every step the
 * engine's return code, address, /proc/PID/maps text, each VMA's flags and
 * Committed_AS must equal the reference, and the invariant checker must be
 * clean.
 *
 * One Linux behaviour is deliberately not modelled, and counted instead:
 * a MAP_FIXED mmap refused by the commit check after vms_gather_munmap_vmas()
 * split the VMAs at its ends leaves those splits in place in Linux
 * (reattach_vmas() undoes the detach, not the split); the engine, like this
 * reference, leaves the address space unchanged.
 */
#include "tests/unit/util.h"

#include <stdlib.h>
#include <time.h>

#define PG 4096ull
#define WIN 0x40000000ull   /* the window: [WIN, WIN + NPAGES pages) */
#define NPAGES 256u
#define NPROC 3
#define MAXV ((int)NPAGES + 8)

#define F_RWX (MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC)
#define F_BASE (MM_VM_MAYREAD | MM_VM_MAYWRITE | MM_VM_MAYEXEC | MM_VM_SOFTDIRTY)

struct rvma {
	uint64_t start, end;   /* [start, end) */
	uint64_t flags;        /* MM_VM_* as the engine must hold them */
	uint64_t pgoff;
	uint32_t shm;          /* shmem object id, 0 = private anonymous */
	/* anon_vma id (0 = none), mirrored from the engine after each step:
	 * which pages a populate faults in, and which anon_vma a fault
	 * reuses, is the fault path's business (test_fault.c); the
	 * reference only applies the merge and accounting rules to it. */
	uint32_t anon;
};

struct rproc {
	int pid;
	int n;
	struct rvma v[MAXV];
};

struct ref {
	struct mm_machine *m;
	enum mm_overcommit policy;
	uint64_t commit_limit, totalram, user_reserve, mmap_base, task_size;
	int64_t committed;
	uint32_t shm_next;     /* mirrors the machine's shmem id counter */
	struct rproc p[NPROC];
	/* what happened, for the summary */
	long ops, by_rc[4], fixed_enomem_split, commit_refused;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static uint64_t align_up(uint64_t x)
{
	return (x + PG - 1) & ~(PG - 1); /* wraps like PAGE_ALIGN */
}

/* ---- the reference's address space ---------------------------------- */

static uint64_t total_vm(const struct rproc *p)
{
	uint64_t n = 0;
	for (int i = 0; i < p->n; i++)
		n += (p->v[i].end - p->v[i].start) / PG;
	return n;
}

/* The entry containing addr, or -1. */
static int find_containing(const struct rproc *p, uint64_t addr)
{
	for (int i = 0; i < p->n; i++)
		if (p->v[i].start <= addr && addr < p->v[i].end)
			return i;
	return -1;
}

/* The first entry with end > addr (find_vma), or -1. */
static int find_vma(const struct rproc *p, uint64_t addr)
{
	for (int i = 0; i < p->n; i++)
		if (p->v[i].end > addr)
			return i;
	return -1;
}

static void insert_at(struct rproc *p, int i, struct rvma v)
{
	ASSERT(p->n < MAXV);
	memmove(&p->v[i + 1], &p->v[i], (size_t)(p->n - i) * sizeof(v));
	p->v[i] = v;
	p->n++;
}

static void remove_at(struct rproc *p, int i)
{
	memmove(&p->v[i], &p->v[i + 1], (size_t)(p->n - i - 1) * sizeof(p->v[0]));
	p->n--;
}

/* Splits the entry strictly containing addr, if any. */
static void split_at(struct rproc *p, uint64_t addr)
{
	int i = find_containing(p, addr);
	if (i < 0 || p->v[i].start == addr)
		return;
	struct rvma hi = p->v[i];
	hi.pgoff += (addr - hi.start) / PG;
	hi.start = addr;
	p->v[i].end = addr;
	insert_at(p, i + 1, hi);
}

static bool mergeable(const struct rvma *a, const struct rvma *b)
{
	return a->end == b->start && a->shm == b->shm && a->flags == b->flags &&
	       a->pgoff + (a->end - a->start) / PG == b->pgoff &&
	       (!a->anon || !b->anon || a->anon == b->anon);
}

static void merge_all(struct rproc *p)
{
	for (int i = 0; i + 1 < p->n;) {
		if (mergeable(&p->v[i], &p->v[i + 1])) {
			p->v[i].end = p->v[i + 1].end;
			if (!p->v[i].anon)
				p->v[i].anon = p->v[i + 1].anon;
			remove_at(p, i + 1);
		} else {
			i++;
		}
	}
}

static uint64_t accounted_in(const struct rproc *p, uint64_t start, uint64_t end)
{
	uint64_t n = 0;
	for (int i = 0; i < p->n; i++) {
		const struct rvma *v = &p->v[i];
		if (!(v->flags & MM_VM_ACCOUNT) || v->end <= start || v->start >= end)
			continue;
		uint64_t s = v->start > start ? v->start : start;
		uint64_t e = v->end < end ? v->end : end;
		n += (e - s) / PG;
	}
	return n;
}

/* Is x inside some entry, not at its start (a split point)? */
static bool strictly_inside(const struct rproc *p, uint64_t x)
{
	int i = find_containing(p, x);
	return i >= 0 && p->v[i].start < x;
}

/* The x86 hint test: free up to the next VMA's vm_start_gap(), which for
 * a growsdown VMA lies stack_guard_gap (256 pages) below its start. */
static bool hint_free(const struct rproc *p, uint64_t addr, uint64_t len)
{
	int i = find_vma(p, addr);
	if (i < 0)
		return true;
	uint64_t gap = p->v[i].start;
	if (p->v[i].flags & MM_VM_GROWSDOWN)
		gap = gap > 256 * PG ? gap - 256 * PG : 0;
	return addr + len <= gap;
}

static bool overlaps(const struct rproc *p, uint64_t start, uint64_t end)
{
	int i = find_vma(p, start);
	return i >= 0 && p->v[i].start < end;
}

/* Removes [start, end) (page aligned), giving back its charge. */
static void unmap_range(struct ref *r, struct rproc *p, uint64_t start,
			uint64_t end)
{
	r->committed -= (int64_t)accounted_in(p, start, end);
	split_at(p, start);
	split_at(p, end);
	for (int i = 0; i < p->n;)
		if (p->v[i].start >= start && p->v[i].end <= end)
			remove_at(p, i);
		else
			i++;
}

/* __vm_enough_memory() for root (no admin reserve). */
static bool enough_memory(struct ref *r, const struct rproc *p, int64_t pages)
{
	r->committed += pages;
	if (r->policy == MM_OVERCOMMIT_ALWAYS)
		return true;
	if (r->policy == MM_OVERCOMMIT_HEURISTIC) {
		if ((uint64_t)pages <= r->totalram)
			return true;
	} else {
		uint64_t tv = total_vm(p) / 32;
		int64_t allowed = (int64_t)r->commit_limit -
				  (int64_t)(tv < r->user_reserve ? tv : r->user_reserve);
		if (r->committed < allowed)
			return true;
	}
	r->committed -= pages;
	r->commit_refused++;
	return false;
}

static uint64_t prot_flags(int prot)
{
	return (prot & MM_PROT_READ ? MM_VM_READ : 0) |
	       (prot & MM_PROT_WRITE ? MM_VM_WRITE : 0) |
	       (prot & MM_PROT_EXEC ? MM_VM_EXEC : 0);
}

/* ---- the operations, as Linux answers them --------------------------- */

struct result {
	int rc;
	uint64_t addr;      /* mmap: where */
	bool elsewhere;     /* mmap: placed outside the window (hint refused) */
};

static struct result ref_mmap(struct ref *r, struct rproc *p, uint64_t addr,
			      uint64_t len, int prot, int flags)
{
	struct result res = {0, 0, false};
	if (!len)
		return (res.rc = -MM_EINVAL, res);
	if (flags & MM_MAP_FIXED_NOREPLACE)
		flags |= MM_MAP_FIXED;
	if (!(flags & MM_MAP_FIXED))
		addr &= ~(PG - 1);
	len = align_up(len);
	if (!len)
		return (res.rc = -MM_ENOMEM, res); /* PAGE_ALIGN wrapped */
	uint64_t pages = len / PG;
	if (len > r->task_size)
		return (res.rc = -MM_ENOMEM, res);
	if (flags & MM_MAP_FIXED) {
		if (addr > r->task_size - len)
			return (res.rc = -MM_ENOMEM, res);
		if (addr & (PG - 1))
			return (res.rc = -MM_EINVAL, res);
	} else if (addr > r->task_size - len || !hint_free(p, addr, len)) {
		/* The hint is taken: top-down from mmap_base, where nothing
		 * else of this process lives. */
		addr = r->mmap_base - len;
		res.elsewhere = true;
	}
	if ((flags & MM_MAP_FIXED_NOREPLACE) && overlaps(p, addr, addr + len))
		return (res.rc = -MM_EEXIST, res);
	uint64_t vf = prot_flags(prot) | F_BASE;
	if (flags & MM_MAP_GROWSDOWN)
		vf |= MM_VM_GROWSDOWN;
	uint32_t shm = 0;
	if ((flags & MM_MAP_TYPE) == MM_MAP_SHARED) {
		if (flags & MM_MAP_GROWSDOWN)
			return (res.rc = -MM_EINVAL, res);
		vf |= MM_VM_SHARED | MM_VM_MAYSHARE;
		shm = ++r->shm_next;
	}
	if (flags & MM_MAP_LOCKED)
		vf |= MM_VM_LOCKED;
	if ((flags & MM_MAP_NORESERVE) && r->policy != MM_OVERCOMMIT_NEVER)
		vf |= MM_VM_NORESERVE;
	uint64_t reused = res.elsewhere ? 0 : accounted_in(p, addr, addr + len);
	if ((vf & (MM_VM_NORESERVE | MM_VM_SHARED | MM_VM_WRITE)) == MM_VM_WRITE) {
		int64_t charged = (int64_t)pages - (int64_t)reused;
		if (charged > 0 && !enough_memory(r, p, charged)) {
			/* Linux would keep the splits made at the ends of a
			 * MAP_FIXED range by the gather step (see above). */
			if (!res.elsewhere && (strictly_inside(p, addr) ||
					       strictly_inside(p, addr + len)))
				r->fixed_enomem_split++;
			return (res.rc = -MM_ENOMEM, res);
		}
		if (charged > 0)
			r->committed -= charged; /* re-added below, by pages */
		vf |= MM_VM_ACCOUNT;
	}
	res.addr = addr;
	if (res.elsewhere)
		return res; /* the caller unmaps it again at once */
	unmap_range(r, p, addr, addr + len);
	if (vf & MM_VM_ACCOUNT)
		r->committed += (int64_t)pages;
	struct rvma v = {addr, addr + len, vf, shm ? 0 : addr / PG, shm, 0};
	int i = 0;
	while (i < p->n && p->v[i].start < addr)
		i++;
	insert_at(p, i, v);
	merge_all(p);
	return res;
}

static int ref_munmap(struct ref *r, struct rproc *p, uint64_t addr,
		      uint64_t len)
{
	if ((addr & (PG - 1)) || addr > r->task_size || len > r->task_size - addr)
		return -MM_EINVAL;
	uint64_t end = addr + align_up(len);
	if (end == addr)
		return -MM_EINVAL;
	unmap_range(r, p, addr, end);
	return 0;
}

/* Gives [start, end) inside one entry the flags nf. */
static void set_flags(struct rproc *p, uint64_t start, uint64_t end, uint64_t nf)
{
	split_at(p, start);
	split_at(p, end);
	int i = find_containing(p, start);
	ASSERT(i >= 0 && p->v[i].end == end);
	p->v[i].flags = nf;
}

static int ref_mprotect(struct ref *r, struct rproc *p, uint64_t addr,
			uint64_t len, int prot)
{
	if (addr & (PG - 1))
		return -MM_EINVAL;
	if (!len)
		return 0;
	uint64_t end = addr + align_up(len);
	if (end <= addr)
		return -MM_ENOMEM;
	int rc = 0;
	uint64_t nstart = addr;
	while (nstart < end) {
		int i = find_containing(p, nstart);
		if (i < 0) {
			rc = -MM_ENOMEM; /* a hole, or nothing at addr */
			break;
		}
		struct rvma *v = &p->v[i];
		uint64_t of = v->flags, nf = (of & ~F_RWX) | prot_flags(prot);
		uint64_t vend = v->end < end ? v->end : end;
		int64_t pages = (int64_t)((vend - nstart) / PG);
		if (nf != of) {
			if (nf & MM_VM_WRITE) {
				if (!(of & (MM_VM_ACCOUNT | MM_VM_WRITE | MM_VM_SHARED |
					    MM_VM_NORESERVE))) {
					if (!enough_memory(r, p, pages)) {
						rc = -MM_ENOMEM;
						break;
					}
					nf |= MM_VM_ACCOUNT;
				}
			} else if ((of & MM_VM_ACCOUNT) && !v->shm && !v->anon) {
				/* never written: no anon_vma */
				nf &= ~MM_VM_ACCOUNT;
				r->committed -= pages;
			}
			set_flags(p, nstart, vend, nf);
		}
		nstart = vend;
	}
	merge_all(p);
	return rc;
}

static int ref_madvise(struct ref *r, struct rproc *p, uint64_t addr,
		       uint64_t len, int advice)
{
	(void)r;
	switch (advice) {
	case MM_MADV_NORMAL: case MM_MADV_RANDOM: case MM_MADV_SEQUENTIAL:
	case MM_MADV_WILLNEED: case MM_MADV_DONTNEED: case MM_MADV_COLD:
	case MM_MADV_PAGEOUT:
		break;
	default:
		return -MM_EINVAL;
	}
	if (addr & (PG - 1))
		return -MM_EINVAL;
	uint64_t alen = align_up(len);
	if (len && !alen)
		return -MM_EINVAL;
	uint64_t end = addr + alen;
	if (end < addr)
		return -MM_EINVAL;
	if (end == addr)
		return 0;
	int unmapped = 0, rc = 0;
	uint64_t start = addr;
	for (;;) {
		int i = find_vma(p, start);
		if (i < 0) {
			rc = -MM_ENOMEM;
			break;
		}
		if (start < p->v[i].start) {
			unmapped = -MM_ENOMEM;
			start = p->v[i].start;
			if (start >= end)
				break;
		}
		struct rvma *v = &p->v[i];
		uint64_t tmp = v->end < end ? v->end : end;
		uint64_t nf = v->flags;
		if (advice == MM_MADV_DONTNEED || advice == MM_MADV_COLD ||
		    advice == MM_MADV_PAGEOUT) {
			if (v->flags & MM_VM_LOCKED) {
				rc = -MM_EINVAL;
				break;
			}
		} else if (advice == MM_MADV_NORMAL) {
			nf &= ~(MM_VM_RAND_READ | MM_VM_SEQ_READ);
		} else if (advice == MM_MADV_RANDOM) {
			nf = (nf & ~MM_VM_SEQ_READ) | MM_VM_RAND_READ;
		} else if (advice == MM_MADV_SEQUENTIAL) {
			nf = (nf & ~MM_VM_RAND_READ) | MM_VM_SEQ_READ;
		}
		if (nf != v->flags)
			set_flags(p, start, tmp, nf);
		start = tmp;
		if (start >= end)
			break;
	}
	merge_all(p);
	return rc ? rc : unmapped;
}

static int ref_mlock(struct ref *r, struct rproc *p, uint64_t addr,
		     uint64_t len, bool lock)
{
	(void)r;
	uint64_t off = addr & (PG - 1);
	len = align_up(len + off);
	uint64_t start = addr - off, end = start + len;
	if (end < start)
		return -MM_EINVAL;
	if (end == start)
		return 0;
	int rc = 0;
	uint64_t nstart = start;
	while (nstart < end) {
		int i = find_containing(p, nstart);
		if (i < 0) {
			rc = -MM_ENOMEM;
			break;
		}
		struct rvma *v = &p->v[i];
		uint64_t nf = (v->flags & ~MM_VM_LOCKED) | (lock ? MM_VM_LOCKED : 0);
		uint64_t vend = v->end < end ? v->end : end;
		if (nf != v->flags)
			set_flags(p, nstart, vend, nf);
		nstart = vend;
	}
	/* do_mlock()'s populate step: a PROT_NONE VMA in the (hole-free)
	 * range fails get_user_pages (-EFAULT), reported as -ENOMEM, the
	 * VMAs staying locked (host recording mlock.scn line 47). */
	if (!rc && lock)
		for (int i = 0; i < p->n; i++)
			if (p->v[i].start < end && p->v[i].end > start &&
			    !(p->v[i].flags & (MM_VM_READ | MM_VM_WRITE |
					       MM_VM_EXEC)))
				rc = -MM_ENOMEM;
	merge_all(p);
	return rc;
}

/* ---- comparing with the engine ---------------------------------------- */

static size_t render_ref(const struct ref *r, const struct rproc *p, char *buf,
			 size_t cap)
{
	size_t n = 0;
	int width = r->m->cfg.arch == MM_ARCH_I386 ? 48 : 72;
	for (int i = 0; i < p->n; i++) {
		const struct rvma *v = &p->v[i];
		char perms[5] = {v->flags & MM_VM_READ ? 'r' : '-',
				 v->flags & MM_VM_WRITE ? 'w' : '-',
				 v->flags & MM_VM_EXEC ? 'x' : '-',
				 v->shm ? 's' : 'p', 0};
		int k;
		if (!v->shm) {
			k = snprintf(buf + n, cap - n, "%08" PRIx64 "-%08" PRIx64
				     " %s 00000000 00:00 0 \n", v->start, v->end, perms);
		} else {
			int head;
			k = snprintf(buf + n, cap - n, "%08" PRIx64 "-%08" PRIx64
				     " %s %08" PRIx64 " 00:01 %u %n", v->start, v->end,
				     perms, (uint64_t)(v->pgoff * PG), 1024 + v->shm, &head);
			ASSERT(k > 0 && (size_t)k < cap - n);
			n += (size_t)k;
			k = snprintf(buf + n, cap - n, "%*s /dev/zero (deleted)\n",
				     head < width ? width - head : 0, "");
		}
		ASSERT(k > 0 && (size_t)k < cap - n);
		n += (size_t)k;
	}
	buf[n] = '\0';
	return n;
}

static char ebuf[1 << 16], rbuf[1 << 16];

/* Takes the engine's anon_vma ids (see struct rvma). */
static void mirror_anon(struct ref *r, struct rproc *p)
{
	/* anon_vma and shmem ids share the machine's counter */
	r->shm_next = r->m->nr_anon_vmas;
	const struct mm_task *t = mm_task_get(r->m, p->pid);
	const struct mm_mm *mm = mm_task_mm(r->m, t);
	const struct mm_vma *v = mm_find_vma(r->m, mm, 0);
	for (int i = 0; i < p->n && v; i++, v = mm_vma_next(r->m, v))
		p->v[i].anon = v->anon_vma;
}

static void compare(const struct ref *r, const struct rproc *p, long step,
		    const char *what)
{
	mm_proc_pid_maps(r->m, p->pid, ebuf, sizeof(ebuf));
	render_ref(r, p, rbuf, sizeof(rbuf));
	if (strcmp(ebuf, rbuf) != 0)
		th_fail(__FILE__, __LINE__, "step %ld (%s), pid %d: maps differ\n"
			"--- engine ---\n%s--- reference ---\n%s", step, what,
			p->pid, ebuf, rbuf);
	const struct mm_task *t = mm_task_get(r->m, p->pid);
	const struct mm_mm *mm = mm_task_mm(r->m, t);
	const struct mm_vma *v = mm_find_vma(r->m, mm, 0);
	for (int i = 0; i < p->n; i++, v = mm_vma_next(r->m, v)) {
		ASSERT(v != NULL);
		if (v->flags != p->v[i].flags || v->start != p->v[i].start)
			th_fail(__FILE__, __LINE__, "step %ld (%s), pid %d: VMA "
				"0x%" PRIx64 " flags 0x%" PRIx64 ", reference 0x%"
				PRIx64 " at 0x%" PRIx64, step, what, p->pid, v->start,
				v->flags, p->v[i].flags, p->v[i].start);
		if (!p->v[i].shm)
			ASSERT_EQ_U64(v->pgoff, p->v[i].pgoff);
	}
	ASSERT(v == NULL);
	if (r->m->committed != r->committed)
		th_fail(__FILE__, __LINE__, "step %ld (%s): Committed_AS %" PRId64
			" pages, reference %" PRId64, step, what, r->m->committed,
			r->committed);
}

/* ---- the driver ----------------------------------------------------------- */

static const int prots[] = {
	MM_PROT_NONE, MM_PROT_READ, MM_PROT_READ | MM_PROT_WRITE,
	MM_PROT_READ | MM_PROT_WRITE, MM_PROT_READ | MM_PROT_EXEC,
	MM_PROT_READ | MM_PROT_WRITE | MM_PROT_EXEC, MM_PROT_WRITE,
	MM_PROT_READ,
};

/* A page-aligned range inside the window (sometimes reaching a little
 * below or above it), length in pages >= 1. */
static void pick_range(uint64_t *addr, uint64_t *len, uint64_t maxpages)
{
	uint64_t s = below(NPAGES), n = 1 + below(maxpages);
	if (s + n > NPAGES)
		n = NPAGES - s;
	*addr = WIN + s * PG;
	*len = n * PG;
}

/* Half the time a range that starts inside a VMA of the process and ends
 * inside the same VMA (mostly) or one of the next two, holes between them
 * included; otherwise any range of the window. */
static void pick_mapped(const struct rproc *p, uint64_t *addr, uint64_t *len,
			uint64_t maxpages)
{
	if (!p->n || below(2)) {
		pick_range(addr, len, maxpages);
		return;
	}
	int i = (int)below((uint64_t)p->n);
	int j = below(3) ? i : i + 1 + (int)below(2);
	if (j >= p->n)
		j = p->n - 1;
	const struct rvma *a = &p->v[i], *b = &p->v[j];
	uint64_t s = a->start + below((a->end - a->start) / PG) * PG;
	uint64_t lo = s > b->start ? s : b->start;
	uint64_t e = lo + (1 + below((b->end - lo) / PG)) * PG;
	*addr = s;
	*len = e - s;
}

static void spawn_into(struct ref *r, struct rproc *p)
{
	ASSERT_EQ(mm_spawn(r->m, "diff", -1, &p->pid), 0);
	p->n = 0;
}

static void run_diff(const struct mm_config *cfg, uint64_t seed, long steps,
		     const char *name)
{
	struct ref *r = calloc(1, sizeof(*r));
	ASSERT(r != NULL);
	r->m = tu_machine(cfg);
	r->policy = cfg->overcommit;
	uint64_t swap = cfg->swap ? (cfg->swap / PG) - 1 : 0;
	r->totalram = r->m->totalram_pages + swap;
	r->commit_limit = r->m->totalram_pages * (uint64_t)cfg->overcommit_ratio / 100 +
			  swap;
	r->user_reserve = r->m->user_reserve_pages;
	r->shm_next = r->m->nr_anon_vmas;
	rng_state = seed * 0x9e3779b97f4a7c15ull + 1;
	for (int i = 0; i < NPROC; i++)
		spawn_into(r, &r->p[i]);
	const struct mm_mm *mm0 = mm_task_mm(r->m, mm_task_get(r->m, r->p[0].pid));
	r->mmap_base = mm0->mmap_base;
	r->task_size = mm0->task_size;
	clock_t t0 = clock();

	for (long step = 0; step < steps; step++) {
		struct rproc *p = &r->p[below(NPROC)];
		uint64_t addr = 0, len = 0;
		int expect, got;
		const char *what;
		unsigned op = (unsigned)below(100);
		if (op < 34) {
			what = "mmap";
			pick_range(&addr, &len, below(3) ? 24 : 64);
			int prot = prots[below(8)];
			unsigned kind = (unsigned)below(20);
			int flags = below(25) ? MM_MAP_PRIVATE : MM_MAP_SHARED;
			flags |= kind < 11 ? MM_MAP_FIXED
				 : kind < 15 ? MM_MAP_FIXED_NOREPLACE : 0;
			if (!below(8))
				flags |= MM_MAP_NORESERVE;
			if (!below(12))
				flags |= MM_MAP_LOCKED;
			if (!below(30))
				flags |= MM_MAP_GROWSDOWN;
			if (!below(60))
				len = 0;
			if (!below(60))
				addr += 1 + below(PG - 1);
			if (!below(10))
				len -= below(PG); /* rounds up again */
			struct result want = ref_mmap(r, p, addr, len, prot, flags);
			uint64_t a = 0;
			got = mm_mmap(r->m, p->pid, addr, len, prot,
				      flags | MM_MAP_ANONYMOUS, -1, 0, &a);
			expect = want.rc;
			if (got == 0 && expect == 0) {
				if (a != want.addr)
					th_fail(__FILE__, __LINE__, "step %ld: mmap(0x%"
						PRIx64 ", 0x%" PRIx64 ") at 0x%" PRIx64
						", reference 0x%" PRIx64, step, addr, len,
						a, want.addr);
				if (want.elsewhere)
					ASSERT_EQ(mm_munmap(r->m, p->pid, a, len), 0);
			}
		} else if (op < 54) {
			what = "munmap";
			pick_mapped(p, &addr, &len, 16);
			if (!below(40))
				addr += 8;
			if (!below(40))
				len = 0;
			if (!below(8))
				len -= below(PG);
			expect = ref_munmap(r, p, addr, len);
			got = mm_munmap(r->m, p->pid, addr, len);
		} else if (op < 78) {
			what = "mprotect";
			pick_mapped(p, &addr, &len, 48);
			int prot = prots[below(8)];
			if (!below(50))
				addr += 16;
			if (!below(50))
				len = 0;
			if (!below(8))
				len -= below(PG);
			expect = ref_mprotect(r, p, addr, len, prot);
			got = mm_mprotect(r->m, p->pid, addr, len, prot);
		} else if (op < 90) {
			what = "madvise";
			pick_mapped(p, &addr, &len, 48);
			static const int adv[] = {
				MM_MADV_NORMAL, MM_MADV_RANDOM, MM_MADV_SEQUENTIAL,
				MM_MADV_NORMAL, MM_MADV_RANDOM, MM_MADV_DONTNEED,
				MM_MADV_WILLNEED, MM_MADV_COLD, MM_MADV_PAGEOUT, 77,
			};
			int advice = adv[below(10)];
			if (!below(50))
				addr += 1;
			if (!below(50))
				len = 0;
			expect = ref_madvise(r, p, addr, len, advice);
			got = mm_madvise(r->m, p->pid, addr, len, advice);
		} else if (op < 99) {
			bool lock = below(2);
			what = lock ? "mlock" : "munlock";
			pick_mapped(p, &addr, &len, 32);
			if (!below(10))
				addr += below(PG); /* mlock rounds */
			if (!below(50))
				len = 0;
			expect = ref_mlock(r, p, addr, len, lock);
			got = lock ? mm_mlock(r->m, p->pid, addr, len)
				   : mm_munlock(r->m, p->pid, addr, len);
		} else {
			what = "exit+spawn";
			for (int i = 0; i < p->n; i++)
				if (p->v[i].flags & MM_VM_ACCOUNT)
					r->committed -= (int64_t)((p->v[i].end -
								   p->v[i].start) / PG);
			expect = 0;
			got = mm_exit(r->m, p->pid, 0);
			spawn_into(r, p);
		}
		if (got != expect)
			th_fail(__FILE__, __LINE__, "step %ld: %s(0x%" PRIx64 ", 0x%"
				PRIx64 ") pid %d = %s, reference %s", step, what, addr,
				len, p->pid, mm_errname(got), mm_errname(expect));
		r->ops++;
		r->by_rc[expect == 0 ? 0 : expect == -MM_ENOMEM ? 1
				       : expect == -MM_EINVAL ? 2 : 3]++;
		compare(r, p, step, what);
		mirror_anon(r, p);
		tu_check(r->m, what);
	}
	double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	fprintf(stderr, "  %s seed %" PRIu64 ": %ld ops (ok %ld, ENOMEM %ld, "
		"EINVAL %ld, other %ld), %ld commit refusals, %ld of them MAP_FIXED"
		" ranges Linux would leave split, %.2f s\n", name, seed, r->ops,
		r->by_rc[0], r->by_rc[1], r->by_rc[2], r->by_rc[3],
		r->commit_refused, r->fixed_enomem_split, secs);
	mm_machine_destroy(r->m);
	free(r);
}

TEST(vma_diff_x86_64_heuristic)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 32ull << 20);
	for (uint64_t seed = 1; seed <= 4; seed++)
		run_diff(&c, seed, th_scale(8000), "x86_64 heuristic");
}

TEST(vma_diff_x86_64_never)
{
	/* A CommitLimit of a few hundred pages: the three processes keep
	 * running into it, through mmap and mprotect. */
	struct mm_config c = tu_config(MM_ARCH_X86_64, 32ull << 20);
	c.overcommit = MM_OVERCOMMIT_NEVER;
	c.overcommit_ratio = 2;
	for (uint64_t seed = 11; seed <= 13; seed++)
		run_diff(&c, seed, th_scale(8000), "x86_64 never");
}

TEST(vma_diff_i386_always)
{
	struct mm_config c = tu_config(MM_ARCH_I386, 32ull << 20);
	c.overcommit = MM_OVERCOMMIT_ALWAYS;
	for (uint64_t seed = 21; seed <= 22; seed++)
		run_diff(&c, seed, th_scale(8000), "i386 always");
}
