/*
 * mmap.c — the address-space syscalls of Linux 6.18 (mm/mmap.c, mm/vma.c,
 * mm/mprotect.c, mm/madvise.c, mm/mlock.c): mmap, munmap, mprotect,
 * madvise, mlock/munlock and brk, with Linux's argument checks and errno
 * for each case, top-down placement below mmap_base (hint honoured when
 * free, THP alignment of large anonymous mappings), MAP_FIXED replacing and
 * MAP_FIXED_NOREPLACE refusing, VMA merging and splitting by Linux's rules,
 * and commit accounting (VM_ACCOUNT, Committed_AS, the overcommit policy).
 *
 * Pages come and go through fault.c: munmap zaps the range and frees the
 * page tables no VMA needs any more, DONTNEED zaps, mprotect rewrites the
 * PTEs, MAP_POPULATE/MAP_LOCKED and mlock prefault (populate).
 */
#include "engine/internal.h"

#define MM_PMD_SIZE (1ull << 21)
#define MM_MMAP_MIN_ADDR 4096ull          /* vm.mmap_min_addr of the host */
#define MM_STACK_GUARD_GAP (256ull << MM_PAGE_SHIFT)
/* prot bits only mprotect() looks at (uapi asm-generic/mman-common.h) */
#define MM__PROT_SEM 0x8
#define MM__PROT_GROWSDOWN 0x01000000
#define MM__PROT_GROWSUP 0x02000000

static uint64_t mm__page_align(uint64_t x)
{
	return (x + MM_PAGE_SIZE - 1) & ~(uint64_t)(MM_PAGE_SIZE - 1);
}

static struct mm_mm *mm__task_mm(struct mm_machine *m, int pid,
				 struct mm_task **task)
{
	struct mm_task *t = mm_task_get(m, pid);

	if (!t)
		return NULL;
	*task = t;
	return &m->mms[t->mm];
}

/* ---- accounting (mm/util.c __vm_enough_memory, vm_stat_account) ---- */

static uint64_t mm__commit_limit(const struct mm_machine *m)
{
	uint64_t swap = m->cfg.swap ? (m->cfg.swap >> MM_PAGE_SHIFT) - 1 : 0;
	return m->totalram_pages * (uint64_t)m->cfg.overcommit_ratio / 100 + swap;
}

/* security_vm_enough_memory_mm(): commits pages or answers -ENOMEM.  The
 * simulated processes run as root (CAP_SYS_ADMIN: no admin reserve). */
int mm__vm_enough_memory(struct mm_machine *m, const struct mm_mm *mm,
			 int64_t pages)
{
	m->committed += pages;
	if (m->cfg.overcommit == MM_OVERCOMMIT_ALWAYS)
		return 0;
	if (m->cfg.overcommit == MM_OVERCOMMIT_HEURISTIC) {
		uint64_t swap = m->cfg.swap ? (m->cfg.swap >> MM_PAGE_SHIFT) - 1 : 0;
		if ((uint64_t)pages <= m->totalram_pages + swap)
			return 0;
	} else {
		int64_t allowed = (int64_t)mm__commit_limit(m);
		if (mm)
			allowed -= (int64_t)MM_MIN(mm->total_vm / 32,
						   m->user_reserve_pages);
		if (m->committed < allowed)
			return 0;
	}
	m->committed -= pages;
	return -MM_ENOMEM;
}

void mm__vm_unacct(struct mm_machine *m, int64_t pages)
{
	m->committed -= pages;
}

/* vm_stat_account(): is_exec_mapping() is executable, not writable and not
 * stack (VM_STACK is VM_GROWSDOWN on x86) — shared or not. */
void mm__vm_stat_account(struct mm_mm *mm, uint64_t flags, int64_t pages)
{
	mm->total_vm += (uint64_t)pages;
	if ((flags & (MM_VM_WRITE | MM_VM_GROWSDOWN | MM_VM_EXEC)) == MM_VM_EXEC)
		mm->exec_vm += (uint64_t)pages;
	else if (flags & MM_VM_GROWSDOWN)
		mm->stack_vm += (uint64_t)pages;
	else if ((flags & (MM_VM_WRITE | MM_VM_SHARED | MM_VM_GROWSDOWN)) ==
		 MM_VM_WRITE)
		mm->data_vm += (uint64_t)pages;
}

static uint64_t mm__pages(const struct mm_vma *v)
{
	return (v->end - v->start) >> MM_PAGE_SHIFT;
}

/* Tears a detached VMA down: accounting, record, vm_area_struct. */
void mm__vma_destroy(struct mm_machine *m, struct mm_mm *mm, uint32_t id,
		     int cpu)
{
	struct mm_vma *v = &m->vmas[id];
	uint64_t pages = mm__pages(v);

	if (v->flags & MM_VM_ACCOUNT)
		mm__vm_unacct(m, (int64_t)pages);
	if (v->flags & MM_VM_LOCKED)
		mm->locked_vm -= pages;
	mm__vm_stat_account(mm, v->flags, -(int64_t)pages);
	mm__vma_free(m, id, cpu);
}

/* ---- munmap (do_vmi_align_munmap) ------------------------------------ */

/*
 * Removes every mapping in [start, end) (page aligned), splitting the VMAs
 * that straddle either end.  -ENOMEM when a split would exceed
 * max_map_count or no vm_area_struct can be had (nothing is removed then).
 */
int mm__do_munmap(struct mm_machine *m, struct mm_mm *mm, uint64_t start,
		  uint64_t end, int cpu)
{
	uint32_t id = mm__find_vma(m, mm, start);

	if (id == MM_NIL || m->vmas[id].start >= end)
		return 0;
	if (start > m->vmas[id].start) {
		if (end < m->vmas[id].end &&
		    mm->map_count >= (uint32_t)m->cfg.max_map_count)
			return -MM_ENOMEM;
		if (mm__vma_split(m, mm, id, start, true, cpu) == MM_NIL)
			return -MM_ENOMEM;
	}
	uint32_t last = id;
	while (m->vmas[last].next != MM_NIL && m->vmas[m->vmas[last].next].start < end)
		last = m->vmas[last].next;
	/* The part above end splits off as a new VMA; last keeps the part
	 * being removed. */
	if (m->vmas[last].end > end &&
	    mm__vma_split(m, mm, last, end, false, cpu) == MM_NIL)
		return -MM_ENOMEM;
	/* unmap_region(): the pages, the VMAs, then the tables no VMA
	 * needs.  After the splits, [start, end) is exactly the VMAs id … */
	mm__zap_range(m, mm, start, end, cpu);
	while (id != MM_NIL && m->vmas[id].start < end) {
		uint32_t next = m->vmas[id].next;
		mm__vma_unlink(m, mm, id);
		mm__vma_destroy(m, mm, id, cpu);
		id = next;
	}
	mm__free_pgtables(m, mm, start, end, cpu);
	return 0;
}

int mm_munmap(struct mm_machine *m, int pid, uint64_t addr, uint64_t len)
{
	struct mm_task *t;
	struct mm_mm *mm = mm__task_mm(m, pid, &t);

	if (!mm)
		return -MM_ESRCH;
	if ((addr & (MM_PAGE_SIZE - 1)) || addr > mm->task_size ||
	    len > mm->task_size - addr)
		return -MM_EINVAL;
	uint64_t end = addr + mm__page_align(len);
	if (end == addr)
		return -MM_EINVAL;
	return mm__do_munmap(m, mm, addr, end, t->cpu);
}

/* ---- placement (get_unmapped_area) ------------------------------------ */

static uint64_t mm__vm_start_gap(const struct mm_vma *v)
{
	if ((v->flags & MM_VM_GROWSDOWN) && v->start > MM_STACK_GUARD_GAP)
		return v->start - MM_STACK_GUARD_GAP;
	return (v->flags & MM_VM_GROWSDOWN) ? 0 : v->start;
}

/* unmapped_area_topdown(): the highest free range of len bytes below high
 * and above low, aligned to align_mask around align_offset, leaving
 * start_gap below it (a shadow stack's guard page).  Gaps are bounded by
 * each VMA's vm_start_gap() above and end below.  Returns the address or
 * -ENOMEM as uint64_t. */
static uint64_t mm__unmapped_area_topdown(const struct mm_machine *m,
					  const struct mm_mm *mm, uint64_t len,
					  uint64_t low, uint64_t high,
					  uint64_t align_mask,
					  uint64_t align_offset,
					  uint64_t start_gap)
{
	uint64_t length = len + align_mask + start_gap;
	uint64_t gap_hi = UINT64_MAX;
	uint32_t id = mm->last;

	if (length < len)
		return (uint64_t)-MM_ENOMEM;
	for (;;) {
		uint64_t gap_lo = id == MM_NIL ? 0 : m->vmas[id].end;
		uint64_t hi = MM_MIN(gap_hi, high), lo = MM_MAX(gap_lo, low);
		if (hi > lo && hi - lo >= length) {
			uint64_t addr = hi - len;
			addr -= (addr - align_offset) & align_mask;
			return addr;
		}
		if (id == MM_NIL || gap_lo <= low)
			break;
		gap_hi = mm__vm_start_gap(&m->vmas[id]);
		id = m->vmas[id].prev;
	}
	return (uint64_t)-MM_ENOMEM;
}

/* arch_get_unmapped_area_topdown() for anonymous memory, with the THP
 * alignment of __get_unmapped_area() for hint-less PMD-multiple lengths.
 * Returns the address or a negative errno as uint64_t. */
static uint64_t mm__get_unmapped_area(const struct mm_machine *m,
				      const struct mm_mm *mm, uint64_t addr,
				      uint64_t len, uint64_t pgoff, int flags,
				      uint64_t vm_flags)
{
	if (len > mm->task_size)
		return (uint64_t)-MM_ENOMEM;
	if (flags & MM_MAP_FIXED) {
		if (addr > mm->task_size - len)
			return (uint64_t)-MM_ENOMEM;
		if (addr & (MM_PAGE_SIZE - 1))
			return (uint64_t)-MM_EINVAL;
		return addr;
	}
	if (addr) {
		addr &= ~(uint64_t)(MM_PAGE_SIZE - 1);
		if (addr <= mm->task_size - len && addr >= MM_MMAP_MIN_ADDR) {
			uint32_t id = mm__find_vma(m, mm, addr);
			if (id == MM_NIL || addr + len <= mm__vm_start_gap(&m->vmas[id]))
				return addr;
		}
	}
	/* stack_guard_placement(): only VM_SHADOW_STACK mappings keep a gap
	 * below them; a new MAP_GROWSDOWN mapping does not (its guard gap
	 * is honoured later, by the searches of mappings placed below it). */
	uint64_t start_gap = 0;
	/* Hint-less private anonymous mappings of a PMD multiple are THP
	 * aligned (CONFIG_TRANSPARENT_HUGEPAGE, 64-bit only). */
	bool thp = m->cfg.arch == MM_ARCH_X86_64 && !addr &&
		   (flags & MM_MAP_TYPE) == MM_MAP_PRIVATE &&
		   (len & (MM_PMD_SIZE - 1)) == 0;
	uint64_t r;
	if (thp) {
		/* __thp_get_unmapped_area(): search len + PMD, then align. */
		r = mm__unmapped_area_topdown(m, mm, len + MM_PMD_SIZE, MM_PAGE_SIZE,
					      mm->mmap_base, 0, 0, start_gap);
		if (r < (uint64_t)-4095) {
			uint64_t off_sub = (0 - r) & (MM_PMD_SIZE - 1);
			return off_sub ? r + off_sub : r + MM_PMD_SIZE;
		}
	}
	r = mm__unmapped_area_topdown(m, mm, len, MM_PAGE_SIZE, mm->mmap_base, 0,
				      pgoff << MM_PAGE_SHIFT, start_gap);
	if (r < (uint64_t)-4095)
		return r;
	/* bottom-up fallback: arch_get_unmapped_area() from TASK_UNMAPPED_BASE */
	uint64_t base = mm__page_align(mm->task_size / 3);
	for (uint32_t id = mm__find_vma(m, mm, base);; id = m->vmas[id].next) {
		uint64_t limit = id == MM_NIL ? mm->task_size : mm__vm_start_gap(&m->vmas[id]);
		if (limit >= base && limit - base >= len)
			return base;
		if (id == MM_NIL)
			break;
		base = MM_MAX(base, m->vmas[id].end);
	}
	return (uint64_t)-MM_ENOMEM;
}

/* ---- mmap ------------------------------------------------------------- */

static uint64_t mm__calc_vm_flags(int prot, int flags)
{
	uint64_t f = 0;

	if (prot & MM_PROT_READ)
		f |= MM_VM_READ;
	if (prot & MM_PROT_WRITE)
		f |= MM_VM_WRITE;
	if (prot & MM_PROT_EXEC)
		f |= MM_VM_EXEC;
	if (flags & MM_MAP_GROWSDOWN)
		f |= MM_VM_GROWSDOWN;
	if (flags & MM_MAP_LOCKED)
		f |= MM_VM_LOCKED;
	if (flags & MM_MAP_SYNC)
		f |= MM_VM_SYNC;
	if (flags & MM_MAP_STACK)
		f |= MM_VM_NOHUGEPAGE;
	return f;
}

/* accountable_mapping() */
static bool mm__accountable(uint64_t vm_flags)
{
	return (vm_flags & (MM_VM_NORESERVE | MM_VM_SHARED | MM_VM_WRITE)) ==
	       MM_VM_WRITE;
}

/* shmem_zero_setup(): shared anonymous mappings are backed by their own
 * shmem object (ids from a machine counter, never equal, so they never
 * merge), whose record holds its i_mmap; 0 when the record cannot be had. */
static uint32_t mm__shmem_object(struct mm_machine *m)
{
	uint32_t file = 0x80000000u | mm__anon_vma_new(m, 0);

	return mm__shmem_find(m, file, true) ? file : 0;
}

/* mmap_region() for an anonymous mapping at a chosen address. */
static int mm__mmap_region(struct mm_machine *m, struct mm_mm *mm,
			   struct mm_task *t, uint64_t addr, uint64_t len,
			   uint64_t vm_flags, uint64_t pgoff, uint32_t file)
{
	uint64_t end = addr + len, pages = len >> MM_PAGE_SHIFT;
	int rc;

	/* MAP_FIXED over existing mappings: unmap them first, keeping their
	 * commit charge for the new mapping (vms->nr_accounted). */
	int64_t reused = 0;
	for (uint32_t id = mm__find_vma(m, mm, addr);
	     id != MM_NIL && m->vmas[id].start < end; id = m->vmas[id].next)
		if (m->vmas[id].flags & MM_VM_ACCOUNT)
			reused += (int64_t)((MM_MIN(end, m->vmas[id].end) -
					     MM_MAX(addr, m->vmas[id].start)) >>
					    MM_PAGE_SHIFT);
	int64_t charged = 0;
	if (mm__accountable(vm_flags)) {
		charged = (int64_t)pages - reused;
		if (charged > 0 && mm__vm_enough_memory(m, mm, charged))
			return -MM_ENOMEM;
		vm_flags |= MM_VM_ACCOUNT;
	}
	/* Unmapping gives the old charge back; an accountable new mapping
	 * takes it over again once it exists (vms->nr_accounted). */
	rc = mm__do_munmap(m, mm, addr, end, t->cpu);
	if (rc)
		goto err_unacct;

	uint32_t prev = mm__find_vma_before(m, mm, addr);
	uint32_t next = prev == MM_NIL ? mm->first : m->vmas[prev].next;
	struct mm_vma *pv = mm__vma(m, prev), *nx = mm__vma(m, next);
	bool mergeable = !file || mm__file_is_reg(file);
	bool left = mergeable && mm__can_merge_after(pv, addr, vm_flags | MM_VM_SOFTDIRTY,
						 file, 0, pgoff);
	bool right = mergeable && mm__can_merge_before(nx, end, vm_flags | MM_VM_SOFTDIRTY,
						   file, 0, pgoff, pages) &&
		     (!left || mm__anon_vma_compatible(pv->anon_vma, nx->anon_vma));
	vm_flags |= MM_VM_SOFTDIRTY;
	/* vma_expand() of prev or next: the target leaves the file's i_mmap
	 * while its range changes (vma_prepare/vma_complete) */
	if (left || right)
		mm__vma_prepare(m, left ? prev : next, MM_NIL);
	if (left && right) {
		pv->end = nx->end;
		/* dup_anon_vma(): next's pages keep their anon_vma */
		if (!pv->anon_vma) {
			pv->anon_vma = nx->anon_vma;
			pv->anon_chained = nx->anon_chained;
		}
		mm__vma_complete(m, prev, MM_NIL);
		mm__vma_unlink(m, mm, next);
		/* next's pages and accounting now belong to prev */
		mm__vma_free(m, next, t->cpu);
	} else if (left) {
		pv->end = end;
		mm__vma_complete(m, prev, MM_NIL);
	} else if (right) {
		nx->start = addr;
		nx->pgoff = pgoff;
		mm__vma_complete(m, next, MM_NIL);
	} else {
		uint32_t id = mm__vma_alloc(m, mm, t->cpu);
		if (id == MM_NIL) {
			rc = -MM_ENOMEM;
			goto err_unacct;
		}
		struct mm_vma *v = &m->vmas[id];
		v->start = addr;
		v->end = end;
		v->flags = vm_flags;
		v->pgoff = pgoff;
		v->file = file;
		mm__vma_link(m, mm, id);
		mm__i_mmap_insert(m, id); /* __vma_link_file() */
	}
	mm__vm_stat_account(mm, vm_flags, (int64_t)pages);
	if (vm_flags & MM_VM_LOCKED)
		mm->locked_vm += pages;
	if (vm_flags & MM_VM_ACCOUNT)
		m->committed += reused;
	return 0;

err_unacct:
	if (charged > 0)
		mm__vm_unacct(m, charged);
	return rc;
}

int mm_mmap(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
	    int prot, int flags, int file, uint64_t offset, uint64_t *out)
{
	struct mm_task *t;
	struct mm_mm *mm = mm__task_mm(m, pid, &t);

	if (!mm)
		return -MM_ESRCH;
	if (offset & (MM_PAGE_SIZE - 1))
		return -MM_EINVAL;
	/* ksys_mmap_pgoff(): the descriptor first (anonymous maps ignore it) */
	if (!(flags & MM_MAP_ANONYMOUS) && !mm_file_get(m, file))
		return -MM_EBADF;
	uint64_t pgoff = offset >> MM_PAGE_SHIFT;
	if (!len)
		return -MM_EINVAL;
	/* MAP_FIXED_NOREPLACE is MAP_FIXED for everything but EEXIST — its
	 * address is not a hint to round (do_mmap() sets MAP_FIXED first). */
	if (flags & MM_MAP_FIXED_NOREPLACE)
		flags |= MM_MAP_FIXED;
	if (!(flags & MM_MAP_FIXED)) {
		/* round_hint_to_min(): a hint below the first page is no hint */
		addr &= ~(uint64_t)(MM_PAGE_SIZE - 1);
		if (addr && addr < MM_MMAP_MIN_ADDR)
			addr = mm__page_align(MM_MMAP_MIN_ADDR);
	}
	len = mm__page_align(len); /* wraps to 0 past the top, as Linux */
	if (!len)
		return -MM_ENOMEM;
	/* Offset overflow, in unsigned long: on i386 the page offset of
	 * mmap2() is 32 bits (glibc refuses byte offsets of 2^44 and more
	 * with EINVAL before the syscall). */
	if (m->cfg.arch == MM_ARCH_I386) {
		if (pgoff > UINT32_MAX)
			return -MM_EINVAL;
		if ((uint32_t)(pgoff + (len >> MM_PAGE_SHIFT)) < (uint32_t)pgoff)
			return -MM_EOVERFLOW;
	} else if (pgoff + (len >> MM_PAGE_SHIFT) < pgoff) {
		return -MM_EOVERFLOW;
	}
	if (mm->map_count > (uint32_t)m->cfg.max_map_count)
		return -MM_ENOMEM;
	/* Linux does not validate prot here: calc_vm_prot_bits() keeps
	 * PROT_READ/WRITE/EXEC and ignores every other bit. */
	uint64_t vm_flags = mm__calc_vm_flags(prot, flags) | mm->def_flags |
			    MM_VM_MAYREAD | MM_VM_MAYWRITE | MM_VM_MAYEXEC;
	int type = flags & MM_MAP_TYPE;
	uint64_t a = mm__get_unmapped_area(m, mm, addr, len, 0, flags, vm_flags);
	if (a >= (uint64_t)-4095)
		return (int)(int64_t)a;
	if ((flags & MM_MAP_FIXED_NOREPLACE)) {
		uint32_t id = mm__find_vma(m, mm, a);
		if (id != MM_NIL && m->vmas[id].start < a + len)
			return -MM_EEXIST;
	}
	/* The map type is judged after placement (do_mmap()'s switch):
	 * neither MAP_SHARED nor MAP_PRIVATE is EINVAL, but only once
	 * ENOMEM/EINVAL of the address and EEXIST had their say. */
	uint32_t shm = 0;
	bool anon = flags & MM_MAP_ANONYMOUS;
	if (type != MM_MAP_SHARED && type != MM_MAP_PRIVATE &&
	    (anon || type != MM_MAP_SHARED_VALIDATE))
		return -MM_EINVAL;
	if (!anon) {
		/* a file opened O_RDWR: both types map it; no growing */
		if (vm_flags & MM_VM_GROWSDOWN)
			return -MM_EINVAL;
		if (type != MM_MAP_PRIVATE)
			vm_flags |= MM_VM_SHARED | MM_VM_MAYSHARE;
		shm = MM_FILE_REG | (uint32_t)file;
	} else if (type == MM_MAP_SHARED) {
		if (vm_flags & MM_VM_GROWSDOWN)
			return -MM_EINVAL;
		pgoff = 0;
		vm_flags |= MM_VM_SHARED | MM_VM_MAYSHARE;
	} else {
		pgoff = a >> MM_PAGE_SHIFT;
	}
	if ((flags & MM_MAP_NORESERVE) && m->cfg.overcommit != MM_OVERCOMMIT_NEVER)
		vm_flags |= MM_VM_NORESERVE;
	if (anon && type == MM_MAP_SHARED && !(shm = mm__shmem_object(m)))
		return -MM_ENOMEM;
	int rc = mm__mmap_region(m, mm, t, a, len, vm_flags, pgoff, shm);
	if (rc) {
		if (mm__file_is_shmem(shm)) /* the object no VMA maps goes */
			mm__shmem_put(m, shm, t->cpu);
		return rc;
	}
	/* do_mmap()'s populate: MAP_POPULATE without MAP_NONBLOCK, or
	 * VM_LOCKED; mm_populate() ignores errors. */
	if ((vm_flags & MM_VM_LOCKED) ||
	    (flags & (MM_MAP_POPULATE | MM_MAP_NONBLOCK)) == MM_MAP_POPULATE)
		mm__populate(m, t, a, a + len, true);
	*out = a;
	return 0;
}

/* ---- changing flags of a range (vma_modify_flags) --------------------- */

/*
 * Gives [start, end) — inside VMA id — the flags newflags: merges with the
 * previous and/or next VMA when Linux would (vma_merge_existing_range()),
 * otherwise splits id at start and/or end.  Returns the VMA now covering
 * [start, end) or MM_NIL (-ENOMEM: split limits).
 */
static uint32_t mm__vma_modify(struct mm_machine *m, struct mm_mm *mm,
			       uint32_t id, uint64_t start, uint64_t end,
			       uint64_t newflags, int cpu)
{
	struct mm_vma *v = &m->vmas[id];
	uint64_t pgoff = v->pgoff + ((start - v->start) >> MM_PAGE_SHIFT);
	uint64_t pages = (end - start) >> MM_PAGE_SHIFT;
	struct mm_vma *pv = start == v->start ? mm__vma(m, v->prev) : NULL;
	struct mm_vma *nx = end == v->end ? mm__vma(m, v->next) : NULL;
	bool left = mm__can_merge_after(pv, start, newflags, v->file, v->anon_vma,
					pgoff);
	bool right = mm__can_merge_before(nx, end, newflags, v->file, v->anon_vma,
					  pgoff, pages) &&
		     (!left || mm__anon_vma_compatible(pv->anon_vma, nx->anon_vma));
	/* is_mergeable_anon_vma() case 1: v's anon_vma would be duplicated
	 * into a target without one, refused when v had uncowed parents. */
	if (v->anon_chained) {
		left = left && pv->anon_vma;
		right = right && nx->anon_vma;
	}

	/* commit_merge(): the target (and the neighbour whose start moves
	 * with it) leave the file's i_mmap while their ranges change and
	 * come back after (vma_prepare/vma_complete); merged-away VMAs leave
	 * it when freed. */
	if (left && right) {
		/* prev absorbs the whole of v and next */
		uint32_t pid_ = v->prev, nid = v->next;
		mm__vma_prepare(m, pid_, MM_NIL);
		m->vmas[pid_].end = m->vmas[nid].end;
		if (!m->vmas[pid_].anon_vma)
			m->vmas[pid_].anon_vma = v->anon_vma ? v->anon_vma
							     : m->vmas[nid].anon_vma;
		mm__vma_complete(m, pid_, MM_NIL);
		mm__vma_unlink(m, mm, id);
		mm__vma_unlink(m, mm, nid);
		mm__vma_free(m, id, cpu);
		mm__vma_free(m, nid, cpu);
		return pid_;
	}
	if (left) {
		/* prev grows; v shrinks from below (__adjust_middle_start)
		 * or goes */
		uint32_t pid_ = v->prev, adj = end == v->end ? MM_NIL : id;
		mm__vma_prepare(m, pid_, adj);
		m->vmas[pid_].end = end;
		if (!m->vmas[pid_].anon_vma)
			m->vmas[pid_].anon_vma = v->anon_vma;
		if (adj != MM_NIL) {
			v->pgoff += (end - v->start) >> MM_PAGE_SHIFT;
			v->start = end;
		}
		mm__vma_complete(m, pid_, adj);
		if (adj == MM_NIL) {
			mm__vma_unlink(m, mm, id);
			mm__vma_free(m, id, cpu);
		}
		return pid_;
	}
	if (right) {
		/* next grows down; v shrinks from above (then v is the VMA
		 * prepared and next the adjusted one: __adjust_next_start)
		 * or goes (next is the target) */
		uint32_t nid = v->next;
		uint32_t anon = v->anon_vma;
		bool keep = start != v->start;
		if (keep)
			mm__vma_prepare(m, id, nid);
		else
			mm__vma_prepare(m, nid, MM_NIL);
		/* Unlink v before next takes over its start: the tree is keyed
		 * by start and two equal keys would confuse the removal.  It
		 * is freed once next is back in the i_mmap (a file mapped by
		 * no VMA in between would go). */
		if (!keep)
			mm__vma_unlink(m, mm, id);
		else
			v->end = start;
		m->vmas[nid].start = start;
		m->vmas[nid].pgoff = pgoff;
		if (!m->vmas[nid].anon_vma)
			m->vmas[nid].anon_vma = anon;
		if (keep) {
			mm__vma_complete(m, id, nid);
		} else {
			mm__vma_complete(m, nid, MM_NIL);
			mm__vma_free(m, id, cpu);
		}
		return nid;
	}
	/* No merge: split.  __split_vma() refuses past max_map_count. */
	if (start > v->start) {
		if (mm->map_count >= (uint32_t)m->cfg.max_map_count)
			return MM_NIL;
		if (mm__vma_split(m, mm, id, start, true, cpu) == MM_NIL)
			return MM_NIL;
		v = &m->vmas[id];
	}
	if (end < v->end) {
		/* A refused second split keeps the first one, as in Linux:
		 * two equal neighbours that stay apart. */
		if (mm->map_count >= (uint32_t)m->cfg.max_map_count ||
		    mm__vma_split(m, mm, id, end, false, cpu) == MM_NIL) {
			if (start > m->vmas[id].start || v->prev != MM_NIL) {
				v->unmerged = 1;
				if (v->prev != MM_NIL)
					m->vmas[v->prev].unmerged = 1;
			}
			return MM_NIL;
		}
	}
	m->vmas[id].flags = newflags;
	return id;
}

/* ---- mprotect (do_mprotect_pkey / mprotect_fixup) ---------------------- */

static int mm__mprotect_fixup(struct mm_machine *m, struct mm_mm *mm,
			      uint32_t id, uint64_t start, uint64_t end,
			      uint64_t newflags, int cpu)
{
	struct mm_vma *v = &m->vmas[id];
	uint64_t oldflags = v->flags, pages = (end - start) >> MM_PAGE_SHIFT;
	int64_t charged = 0;

	if (newflags == oldflags)
		return 0;
	if (newflags & MM_VM_WRITE) {
		if (!(oldflags & (MM_VM_ACCOUNT | MM_VM_WRITE | MM_VM_HUGETLB |
				  MM_VM_SHARED | MM_VM_NORESERVE))) {
			charged = (int64_t)pages;
			if (mm__vm_enough_memory(m, mm, charged))
				return -MM_ENOMEM;
			newflags |= MM_VM_ACCOUNT;
		}
	} else if ((oldflags & MM_VM_ACCOUNT) && !v->file && !v->anon_vma) {
		/* Unfaulted anonymous memory stops being charged. */
		newflags &= ~MM_VM_ACCOUNT;
	}
	uint32_t nid = mm__vma_modify(m, mm, id, start, end, newflags, cpu);
	if (nid == MM_NIL) {
		if (charged)
			mm__vm_unacct(m, charged);
		return -MM_ENOMEM;
	}
	if ((oldflags & MM_VM_ACCOUNT) && !(newflags & MM_VM_ACCOUNT))
		mm__vm_unacct(m, (int64_t)pages);
	mm__vm_stat_account(mm, oldflags, -(int64_t)pages);
	mm__vm_stat_account(mm, newflags, (int64_t)pages);
	mm__change_protection(m, mm, &m->vmas[nid], start, end);
	return 0;
}

int mm_mprotect(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
		int prot)
{
	struct mm_task *t;
	struct mm_mm *mm = mm__task_mm(m, pid, &t);

	if (!mm)
		return -MM_ESRCH;
	int grows = prot & (MM__PROT_GROWSDOWN | MM__PROT_GROWSUP);
	prot &= ~(MM__PROT_GROWSDOWN | MM__PROT_GROWSUP);
	if (grows == (MM__PROT_GROWSDOWN | MM__PROT_GROWSUP))
		return -MM_EINVAL;
	if (addr & (MM_PAGE_SIZE - 1))
		return -MM_EINVAL;
	if (!len)
		return 0;
	len = mm__page_align(len); /* wraps to 0 past the top, as Linux */
	uint64_t end = addr + len;
	if (end <= addr)
		return -MM_ENOMEM;
	/* arch_validate_prot(): PROT_SEM is accepted (and ignored). */
	if (prot & ~(MM_PROT_READ | MM_PROT_WRITE | MM_PROT_EXEC | MM__PROT_SEM))
		return -MM_EINVAL;
	prot &= ~MM__PROT_SEM;
	uint32_t id = mm__find_vma(m, mm, addr);
	if (id == MM_NIL || m->vmas[id].start >= end)
		return -MM_ENOMEM;
	if (grows & MM__PROT_GROWSDOWN) {
		/* PROT_GROWSDOWN: the change reaches down to the start of the
		 * first VMA of the range, which must grow down. */
		addr = m->vmas[id].start;
		if (!(m->vmas[id].flags & MM_VM_GROWSDOWN))
			return -MM_EINVAL;
	} else if (m->vmas[id].start > addr) {
		return -MM_ENOMEM;
	} else if (grows & MM__PROT_GROWSUP) {
		return -MM_EINVAL; /* x86 has no VM_GROWSUP */
	}
	/* Each VMA of the range in turn; a hole ends the walk with ENOMEM,
	 * leaving the VMAs before it changed (Linux's partial effect). */
	uint64_t nstart = addr;
	while (nstart < end) {
		id = mm__find_vma(m, mm, nstart);
		if (id == MM_NIL || m->vmas[id].start > nstart)
			return -MM_ENOMEM;
		struct mm_vma *v = &m->vmas[id];
		uint64_t newflags = mm__calc_vm_flags(prot, 0) |
				    (v->flags & ~(MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC));
		/* VM_MAY* sit four bits above VM_*: no access beyond them. */
		if ((newflags & ~(newflags >> 4)) &
		    (MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC))
			return -MM_EACCES;
		uint64_t vend = MM_MIN(v->end, end);
		int error = mm__mprotect_fixup(m, mm, id, nstart, vend, newflags,
					       t->cpu);
		if (error)
			return error;
		nstart = vend;
	}
	return 0;
}

/* ---- madvise ------------------------------------------------------------ */

static bool mm__madv_valid(int advice)
{
	switch (advice) {
	case MM_MADV_NORMAL: case MM_MADV_RANDOM: case MM_MADV_SEQUENTIAL:
	case MM_MADV_WILLNEED: case MM_MADV_DONTNEED: case MM_MADV_COLD:
	case MM_MADV_PAGEOUT: case 10 /* DONTFORK */: case 11 /* DOFORK */:
		return true;
	}
	return false;
}

static int mm__madvise_vma(struct mm_machine *m, struct mm_mm *mm, uint32_t id,
			   uint64_t start, uint64_t end, int advice, int cpu,
			   uint32_t *covering)
{
	struct mm_vma *v = &m->vmas[id];
	uint64_t newflags = v->flags;

	*covering = id;
	switch (advice) {
	case MM_MADV_NORMAL:
		newflags &= ~(MM_VM_RAND_READ | MM_VM_SEQ_READ);
		break;
	case MM_MADV_RANDOM:
		newflags = (newflags & ~MM_VM_SEQ_READ) | MM_VM_RAND_READ;
		break;
	case MM_MADV_SEQUENTIAL:
		newflags = (newflags & ~MM_VM_RAND_READ) | MM_VM_SEQ_READ;
		break;
	case 10:
		newflags |= MM_VM_DONTCOPY;
		break;
	case 11:
		if (v->flags & MM_VM_SPECIAL)
			return -MM_EINVAL;
		newflags &= ~MM_VM_DONTCOPY;
		break;
	case MM_MADV_DONTNEED:
		if (v->flags & (MM_VM_LOCKED | MM_VM_PFNMAP | MM_VM_HUGETLB))
			return -MM_EINVAL;
		mm__zap_range(m, mm, start, end, cpu);
		return 0;
	case MM_MADV_COLD:
	case MM_MADV_PAGEOUT:
		if (v->flags & (MM_VM_LOCKED | MM_VM_PFNMAP | MM_VM_HUGETLB))
			return -MM_EINVAL;
		mm__madvise_cold_pageout(m, mm, start, end,
					 advice == MM_MADV_PAGEOUT, cpu);
		return 0;
	case MM_MADV_WILLNEED:
		/* madvise_willneed(): file readahead; anonymous swap-in is
		 * the swap issue */
		if (mm__file_is_reg(v->file)) {
			uint64_t idx = v->pgoff + ((start - v->start) >> MM_PAGE_SHIFT);
			mm__file_willneed(m, mm__file(m, v->file), idx,
					  (end - start) >> MM_PAGE_SHIFT, cpu);
		}
		return 0;
	}
	if (newflags == v->flags)
		return 0;
	uint32_t nid = mm__vma_modify(m, mm, id, start, end, newflags, cpu);
	/* madvise_vma_behavior(): "madvise() returns EAGAIN if kernel
	 * resources, such as slab, are temporarily unavailable" — a split
	 * refused at max_map_count included. */
	if (nid == MM_NIL)
		return -MM_EAGAIN;
	*covering = nid;
	return 0;
}

int mm_madvise(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
	       int advice)
{
	struct mm_task *t;
	struct mm_mm *mm = mm__task_mm(m, pid, &t);

	if (!mm)
		return -MM_ESRCH;
	if (!mm__madv_valid(advice))
		return -MM_EINVAL;
	if (addr & (MM_PAGE_SIZE - 1))
		return -MM_EINVAL;
	uint64_t alen = mm__page_align(len); /* wraps to 0, as PAGE_ALIGN */
	if (len && !alen)
		return -MM_EINVAL;
	uint64_t end = addr + alen;
	if (end < addr)
		return -MM_EINVAL;
	if (end == addr)
		return 0;
	/* madvise_walk_vmas(): holes are skipped but answer ENOMEM at the end. */
	int unmapped = 0;
	uint64_t start = addr;
	uint32_t id = mm__find_vma(m, mm, start);
	for (;;) {
		if (id == MM_NIL)
			return -MM_ENOMEM;
		if (start < m->vmas[id].start) {
			unmapped = -MM_ENOMEM;
			start = m->vmas[id].start;
			if (start >= end)
				break;
		}
		uint64_t tmp = MM_MIN(m->vmas[id].end, end);
		uint32_t cover;
		int rc = mm__madvise_vma(m, mm, id, start, tmp, advice, t->cpu, &cover);
		if (rc)
			return rc;
		start = tmp;
		if (start < m->vmas[cover].end)
			start = m->vmas[cover].end;
		if (start >= end)
			break;
		id = mm__find_vma(m, mm, m->vmas[cover].end);
	}
	return unmapped;
}

/* ---- mlock / munlock (apply_vma_lock_flags) ------------------------------ */

static int mm__lock_range(struct mm_machine *m, int pid, uint64_t addr,
			  uint64_t len, uint64_t lockflags)
{
	struct mm_task *t;
	struct mm_mm *mm = mm__task_mm(m, pid, &t);

	if (!mm)
		return -MM_ESRCH;
	/* do_mlock(): PAGE_ALIGN(len + offset) in unsigned long, so a length
	 * that wraps past the top becomes 0 and locks nothing (answer 0). */
	uint64_t off = addr & (MM_PAGE_SIZE - 1);
	len = mm__page_align(len + off);
	uint64_t start = addr - off, end = start + len;
	if (end < start)
		return -MM_EINVAL;
	if (end == start)
		return 0;
	uint32_t id = mm__find_vma(m, mm, start);
	if (id == MM_NIL || m->vmas[id].start > start)
		return -MM_ENOMEM;
	uint64_t nstart = start;
	while (nstart < end) {
		id = mm__find_vma(m, mm, nstart);
		if (id == MM_NIL || m->vmas[id].start > nstart)
			return -MM_ENOMEM;
		struct mm_vma *v = &m->vmas[id];
		uint64_t oldflags = v->flags;
		uint64_t newflags = (oldflags & ~(MM_VM_LOCKED | MM_VM_LOCKONFAULT)) |
				    lockflags;
		uint64_t vend = MM_MIN(v->end, end);
		if (newflags != oldflags && !(oldflags & MM_VM_SPECIAL)) {
			if (mm__vma_modify(m, mm, id, nstart, vend, newflags,
					   t->cpu) == MM_NIL)
				return -MM_ENOMEM;
			if ((newflags ^ oldflags) & MM_VM_LOCKED)
				mm__mlock_pages(m, mm, nstart, vend,
						newflags & MM_VM_LOCKED);
			int64_t pages = (int64_t)((vend - nstart) >> MM_PAGE_SHIFT);
			if (!(newflags & MM_VM_LOCKED))
				pages = -pages;
			else if (oldflags & MM_VM_LOCKED)
				pages = 0;
			mm->locked_vm += (uint64_t)pages;
		}
		nstart = vend;
	}
	if (!(lockflags & MM_VM_LOCKED))
		return 0;
	/*
	 * do_mlock() then populates the range (__mm_populate(start, len, 0),
	 * no holes left by now).  populate_vma_page_range() asks for
	 * FOLL_FORCE only on accessible VMAs, so get_user_pages() fails a
	 * PROT_NONE VMA in check_vma_flags() with -EFAULT, which
	 * __mlock_posix_error_return() turns into -ENOMEM; VM_IO/VM_PFNMAP
	 * VMAs are skipped.  The VMAs stay locked either way.  (The faults
	 * themselves, and the anon_vma a write fault gives a VMA, arrive
	 * with paging.)
	 */
	int rc = mm__populate(m, t, start, end, false);
	return rc == -MM_EFAULT || rc == -MM_ENOMEM ? -MM_ENOMEM : 0;
}

int mm_mlock(struct mm_machine *m, int pid, uint64_t addr, uint64_t len)
{
	return mm__lock_range(m, pid, addr, len, MM_VM_LOCKED);
}

int mm_munlock(struct mm_machine *m, int pid, uint64_t addr, uint64_t len)
{
	return mm__lock_range(m, pid, addr, len, 0);
}

/* ---- brk ---------------------------------------------------------------- */

int mm_brk(struct mm_machine *m, int pid, uint64_t brk, uint64_t *out)
{
	struct mm_task *t;
	struct mm_mm *mm = mm__task_mm(m, pid, &t);

	if (!mm)
		return -MM_ESRCH;
	uint64_t origbrk = mm->brk;
	*out = origbrk;
	if (brk < mm->start_brk || brk > mm->task_size)
		return 0;
	uint64_t newbrk = mm__page_align(brk), oldbrk = mm__page_align(mm->brk);
	if (oldbrk == newbrk) {
		mm->brk = brk;
		*out = brk;
		return 0;
	}
	if (brk <= mm->brk) {
		/* Always allow shrinking brk: unmap [newbrk, oldbrk). */
		uint32_t id = mm__find_vma(m, mm, newbrk);
		if (id == MM_NIL || m->vmas[id].start >= oldbrk)
			return 0;
		if (mm__do_munmap(m, mm, newbrk, oldbrk, t->cpu))
			return 0;
		mm->brk = brk;
		*out = brk;
		return 0;
	}
	/* check_brk_limits() and the stack guard gap of the next VMA. */
	uint64_t len = newbrk - oldbrk;
	if (len > mm->task_size || oldbrk > mm->task_size - len)
		return 0;
	uint32_t next = mm__find_vma(m, mm, oldbrk);
	if (next != MM_NIL && newbrk + MM_PAGE_SIZE > mm__vm_start_gap(&m->vmas[next]) &&
	    m->vmas[next].start < newbrk + MM_PAGE_SIZE + MM_STACK_GUARD_GAP)
		return 0;
	/* do_brk_flags() */
	uint64_t flags = MM_VM_READ | MM_VM_WRITE | MM_VM_MAYREAD | MM_VM_MAYWRITE |
			 MM_VM_MAYEXEC | MM_VM_ACCOUNT | mm->def_flags;
	if (mm->map_count > (uint32_t)m->cfg.max_map_count)
		return 0;
	uint64_t pages = len >> MM_PAGE_SHIFT;
	if (mm__vm_enough_memory(m, mm, (int64_t)pages))
		return 0;
	uint32_t prev = mm__find_vma_before(m, mm, oldbrk);
	struct mm_vma *pv = mm__vma(m, prev);
	/* brkvma = vma_prev_limit(&vmi, mm->start_brk): the VMA below oldbrk
	 * if it reaches above start_brk; do_brk_flags() extends it when it
	 * ends at oldbrk and can_vma_merge_after() agrees. */
	if (pv && pv->end > mm->start_brk &&
	    mm__can_merge_after(pv, oldbrk, flags | MM_VM_SOFTDIRTY, 0, 0,
				oldbrk >> MM_PAGE_SHIFT)) {
		pv->end = newbrk;
	} else {
		uint32_t id = mm__vma_alloc(m, mm, t->cpu);
		if (id == MM_NIL) {
			mm__vm_unacct(m, (int64_t)pages);
			return 0;
		}
		struct mm_vma *v = &m->vmas[id];
		v->start = oldbrk;
		v->end = newbrk;
		v->flags = flags | MM_VM_SOFTDIRTY;
		v->pgoff = oldbrk >> MM_PAGE_SHIFT;
		mm__vma_link(m, mm, id);
	}
	mm__vm_stat_account(mm, flags, (int64_t)pages);
	if (flags & MM_VM_LOCKED)
		mm->locked_vm += pages;
	mm->brk = brk;
	*out = brk;
	return 0;
}

/* ---- flag names ------------------------------------------------------- */

static const struct {
	const char *name;
	int value;
} mm_map_names[] = {
	{"PROT_NONE", 0}, {"PROT_READ", MM_PROT_READ}, {"PROT_WRITE", MM_PROT_WRITE},
	{"PROT_EXEC", MM_PROT_EXEC}, {"MAP_SHARED", MM_MAP_SHARED},
	{"MAP_PRIVATE", MM_MAP_PRIVATE}, {"MAP_SHARED_VALIDATE", MM_MAP_SHARED_VALIDATE},
	{"MAP_FIXED", MM_MAP_FIXED}, {"MAP_ANONYMOUS", MM_MAP_ANONYMOUS},
	{"MAP_ANON", MM_MAP_ANONYMOUS}, {"MAP_GROWSDOWN", MM_MAP_GROWSDOWN},
	{"MAP_DENYWRITE", MM_MAP_DENYWRITE}, {"MAP_EXECUTABLE", MM_MAP_EXECUTABLE},
	{"MAP_LOCKED", MM_MAP_LOCKED}, {"MAP_NORESERVE", MM_MAP_NORESERVE},
	{"MAP_POPULATE", MM_MAP_POPULATE}, {"MAP_NONBLOCK", MM_MAP_NONBLOCK},
	{"MAP_STACK", MM_MAP_STACK}, {"MAP_HUGETLB", MM_MAP_HUGETLB},
	{"MAP_SYNC", MM_MAP_SYNC}, {"MAP_FIXED_NOREPLACE", MM_MAP_FIXED_NOREPLACE},
};

int mm_map_flag_parse(const char *name, int *flags)
{
	for (size_t i = 0; i < sizeof(mm_map_names) / sizeof(mm_map_names[0]); i++)
		if (strcmp(mm_map_names[i].name, name) == 0) {
			*flags |= mm_map_names[i].value;
			return 0;
		}
	return -MM_EINVAL;
}

int mm_madv_parse(const char *name, int *advice)
{
	static const struct {
		const char *name;
		int value;
	} names[] = {
		{"MADV_NORMAL", MM_MADV_NORMAL}, {"MADV_RANDOM", MM_MADV_RANDOM},
		{"MADV_SEQUENTIAL", MM_MADV_SEQUENTIAL},
		{"MADV_WILLNEED", MM_MADV_WILLNEED}, {"MADV_DONTNEED", MM_MADV_DONTNEED},
		{"MADV_DONTFORK", 10}, {"MADV_DOFORK", 11}, {"MADV_COLD", MM_MADV_COLD},
		{"MADV_PAGEOUT", MM_MADV_PAGEOUT},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(names[i].name, name) == 0) {
			*advice = names[i].value;
			return 0;
		}
	return -MM_EINVAL;
}
