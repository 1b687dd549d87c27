/*
 * exec.c — execve() of a static ELF executable, after Linux 6.18
 * fs/binfmt_elf.c (load_elf_binary, elf_load, elf_map, padzero,
 * total_mapping_size, maximum_alignment, create_elf_tables) and fs/exec.c
 * (bprm_mm_init, setup_arg_pages), plus the x86 vDSO (map_vdso).
 *
 * The image is validated completely before anything changes, then a new
 * address space is built beside the old one in a nascent mm (a struct
 * mm_mm that no task uses yet) and swapped in only when complete: exec is
 * all-or-nothing.  Any failure leaves the old mm as it was (Linux would
 * kill a process failing after its point of no return; the simulator keeps
 * it and answers the error).  Errors:
 *   -MM_ESRCH    no such process
 *   -MM_ENOEXEC  not a loadable image: bad magic, wrong class, data
 *                encoding or machine for the arch (ELF64/EM_X86_64 on
 *                x86_64, ELF32/EM_386|EM_486 on i386), not ET_EXEC/ET_DYN,
 *                truncated header, e_phentsize wrong, program header table
 *                empty, over ELF_MIN_ALIGN (Linux's limit) or out of the
 *                file, no PT_LOAD, PT_LOADs unsorted or overlapping, a
 *                segment with p_filesz > p_memsz, beyond the file, beyond
 *                TASK_SIZE, with p_offset and p_vaddr disagreeing modulo the
 *                page size, an entry point beyond TASK_SIZE, a segment
 *                landing on the stack; and PT_INTERP: dynamically linked
 *                executables need their interpreter (ld.so) loaded from a
 *                file, and the engine has no files yet — refused, not
 *                half-done.  The reason goes to the environment's log sink.
 *   -MM_ENOMEM   no vm_area_struct/mm_struct object, the commit charge
 *                refused (overcommit), max_map_count, no room for the image.
 *
 * What exec builds, in Linux's order and with its flags:
 *   - the stack VMA "[stack]": STACK_TOP (= TASK_SIZE; randomized when
 *     randomize_va_space >= 1), the pages the argument strings use plus
 *     setup_arg_pages()'s 128 KiB (bounded by the 8 MiB rlimit), VM_STACK_FLAGS
 *     with VM_EXEC per PT_GNU_STACK; argv = [path], envp = [];
 *   - mmap_base as process.c's arch_pick_mmap_layout();
 *   - each PT_LOAD: a private file mapping [PAGESTART(v), PAGEALIGN(v +
 *     p_filesz)) with pgoff (p_offset - PAGEOFFSET(v)) >> 12, prot from
 *     p_flags, VM_MAY{READ,WRITE,EXEC}, VM_ACCOUNT when writable; the rest
 *     of p_memsz after the next page boundary is vm_brk_flags() anonymous
 *     memory (VM_ACCOUNT, VM_EXEC kept for PF_X).  padzero()'s write to
 *     the partial last page of a writable segment faults it in: that VMA
 *     gets an anon_vma (as the stack does from the argument copy);
 *   - ET_EXEC loads at p_vaddr; ET_DYN without interpreter (static PIE)
 *     goes top-down below mmap_base like a hint-less mmap of
 *     total_mapping_size(), and when maximum_alignment() (largest
 *     power-of-two p_align, at least a page, no upper limit in 6.18) is
 *     above a page, at that address rounded down to the alignment;
 *   - the vDSO top-down below mmap_base: [vvar] (4 pages), [vvar_vclock]
 *     (2) and [vdso] (2), as the host kernel maps them;
 *   - start_code/end_code/start_data/end_data as load_elf_binary sets them,
 *     start_stack = the initial stack pointer create_elf_tables() leaves
 *     (strings, platform string, AT_RANDOM bytes, auxv, argv/envp, 16-byte
 *     rounding), start_brk = brk = PAGEALIGN(end of the highest segment), or
 *     ELF_ET_DYN_BASE for a static PIE, randomized when
 *     randomize_va_space == 2.
 * i386 images without PT_GNU_STACK get READ_IMPLIES_EXEC for the mappings
 * exec makes (segments, bss, stack).
 *
 * Naming: without files, the image is "/tmp/mmsim-exec-PID" (PID of the
 * exec'ing process), device 00:MM_EXEC_DEV_MINOR, inode PID: mm_vma.file
 * = MM_FILE_EXEC | PID.  vDSO VMAs carry MM_FILE_SPECIAL | kind.  The
 * process keeps its task, pid and kernel stack; its mm record is reused
 * for the new mm, its mm_struct object is replaced by a new one as
 * exec_mmap() does.  Commit charges follow Linux's order: the argument
 * pages are charged while the old mm still holds its charges, the rest
 * after it gave them back.
 *
 * Where this differs from Linux, on purpose or for want of a model:
 *   - all-or-nothing (above): Linux kills a process failing after its
 *     point of no return, with EINVAL/EEXIST/ENOMEM that nobody sees;
 *   - refused with ENOEXEC although Linux would map something: PT_LOADs
 *     overlapping or out of p_vaddr order (the ELF spec forbids them;
 *     segments sharing a page are fine), file contents beyond the end of
 *     the image (Linux maps them and SIGBUSes later), an ET_DYN image whose
 *     first PT_LOAD has no file contents, PT_INTERP;
 *   - the name stays (Linux sets comm to the file's basename);
 *   - the old VMAs' and mm_struct's objects are freed after the new ones
 *     are allocated (Linux frees them first): slab counts end equal, object
 *     addresses may differ;
 *   - VmPeak: the engine keeps no hiwater_vm, so the transient whole-image
 *     mapping of an aligned static PIE is not remembered;
 *   - READ_IMPLIES_EXEC does not outlive exec (later mmap/brk ignore it);
 *   - no page contents yet: padzero() and the argument copy only give their
 *     VMAs an anon_vma, nothing is resident;
 *   - the file THP alignment of thp_get_unmapped_area() for static PIEs of
 *     2 MiB or more on large-folio filesystems is not applied (no files);
 *   - the x86_64 [vsyscall] gate area is not a VMA and is not shown.
 */
#include "engine/internal.h"

#include <stdio.h>

#define MM_EXEC_PAGE_MASK (~(uint64_t)(MM_PAGE_SIZE - 1))
#define MM_EXEC_PAGESTART(x) ((x) & MM_EXEC_PAGE_MASK)
#define MM_EXEC_PAGEOFF(x) ((x) & (MM_PAGE_SIZE - 1))
#define MM_EXEC_PAGEALIGN(x) (((x) + MM_PAGE_SIZE - 1) & MM_EXEC_PAGE_MASK)

#define MM_EXEC_TASK_SIZE_X86_64 0x7ffffffff000ull
#define MM_EXEC_TASK_SIZE_I386 0xc0000000ull
#define MM_EXEC_STACK_RLIMIT (8ull << 20)
#define MM_EXEC_STACK_EXPAND 131072ull     /* setup_arg_pages() */
#define MM_EXEC_GUARD_GAP (256ull << MM_PAGE_SHIFT) /* stack_guard_gap */
#define MM_EXEC_VVAR_PAGES 4               /* VDSO_NR_PAGES */
#define MM_EXEC_VCLOCK_PAGES 2             /* VDSO_NR_VCLOCK_PAGES */
#define MM_EXEC_VDSO_PAGES 2               /* vdso64/vdso32 image size */

/* ELF definitions (include/uapi/linux/elf.h) */
enum { MM_ET_EXEC = 2, MM_ET_DYN = 3 };
enum { MM_EM_386 = 3, MM_EM_486 = 6, MM_EM_X86_64 = 62 };
enum { MM_PT_LOAD = 1, MM_PT_INTERP = 3, MM_PT_GNU_STACK = 0x6474e551 };
enum { MM_PF_X = 1, MM_PF_W = 2, MM_PF_R = 4 };
enum { MM_EXSTACK_DEFAULT, MM_EXSTACK_DISABLE_X, MM_EXSTACK_ENABLE_X };
/* ELF_MIN_ALIGN bytes of program headers at most (load_elf_phdrs()). */
#define MM_EXEC_PHDRS_MAX_BYTES 4096u
#define MM_EXEC_MAX_LOADS (MM_EXEC_PHDRS_MAX_BYTES / 32u)

struct mm__phdr {
	uint32_t flags;
	uint64_t offset, vaddr, filesz, memsz, align;
};

/* The parts of a validated image that loading needs. */
struct mm__elf {
	bool dyn;                  /* ET_DYN (static PIE) */
	uint64_t entry;
	uint16_t phnum;
	int exstack;               /* MM_EXSTACK_* from PT_GNU_STACK */
	int nload;
	struct mm__phdr load[MM_EXEC_MAX_LOADS];
};

/* One exec in progress: the machine, the task, the nascent mm. */
struct mm__exec {
	struct mm_machine *m;
	struct mm_task *t;
	int cpu;
	bool i386;
	uint64_t wmask;            /* unsigned long of the arch */
	uint32_t file;             /* the image's mm_vma.file */
	bool rie;                  /* READ_IMPLIES_EXEC personality */
	bool rnd;                  /* PF_RANDOMIZE */
	struct mm_mm mm;
	uint64_t arg_p;            /* bprm->p after copying the strings */
	uint64_t stack_top;
	uint32_t stack_id;         /* the stack VMA */
};

/* ---- image parsing --------------------------------------------------- */

static uint16_t mm__rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t mm__rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t mm__rd64(const uint8_t *p)
{
	return (uint64_t)mm__rd32(p) | (uint64_t)mm__rd32(p + 4) << 32;
}

static uint64_t mm__exec_task_size(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_I386 ? MM_EXEC_TASK_SIZE_I386
					   : MM_EXEC_TASK_SIZE_X86_64;
}

/*
 * Checks the image as load_elf_binary() does before its point of no return,
 * and what it would find wrong later, and fills *elf.  Returns 0 or
 * -MM_ENOEXEC with the reason in *why.  Reads nothing beyond len.
 */
static int mm__elf_parse(const struct mm_machine *m, const uint8_t *img,
			 size_t len, struct mm__elf *elf, const char **why)
{
	bool is64 = m->cfg.arch == MM_ARCH_X86_64;
	size_t ehsize = is64 ? 64 : 52, phentsize = is64 ? 56 : 32;
	uint64_t task_size = mm__exec_task_size(m);

#define MM__NOEXEC(reason)                                                 \
	do {                                                               \
		*why = reason;                                             \
		return -MM_ENOEXEC;                                        \
	} while (0)
	if (!img || len < 4 || memcmp(img, "\177ELF", 4) != 0)
		MM__NOEXEC("bad ELF magic");
	if (len < 16)
		MM__NOEXEC("truncated ELF header");
	if (img[4] != (is64 ? 2 : 1))
		MM__NOEXEC(is64 ? "not ELFCLASS64 (the machine is x86_64)"
				: "not ELFCLASS32 (the machine is i386)");
	if (img[5] != 1)
		MM__NOEXEC("not little-endian (ELFDATA2LSB)");
	if (len < ehsize)
		MM__NOEXEC("truncated ELF header");
	uint16_t type = mm__rd16(img + 16), machine = mm__rd16(img + 18);
	if (type != MM_ET_EXEC && type != MM_ET_DYN)
		MM__NOEXEC("e_type is neither ET_EXEC nor ET_DYN");
	if (is64 ? machine != MM_EM_X86_64
		 : machine != MM_EM_386 && machine != MM_EM_486)
		MM__NOEXEC(is64 ? "e_machine is not EM_X86_64"
				: "e_machine is not EM_386");
	uint64_t phoff = is64 ? mm__rd64(img + 32) : mm__rd32(img + 28);
	uint16_t phent = mm__rd16(img + (is64 ? 54 : 42));
	uint16_t phnum = mm__rd16(img + (is64 ? 56 : 44));
	elf->dyn = type == MM_ET_DYN;
	elf->entry = is64 ? mm__rd64(img + 24) : mm__rd32(img + 24);
	elf->phnum = phnum;
	/* load_elf_phdrs(): exact entry size, 1 .. ELF_MIN_ALIGN bytes. */
	if (phent != phentsize)
		MM__NOEXEC("e_phentsize is not the size of a program header");
	uint64_t phsize = (uint64_t)phnum * phentsize;
	if (phsize == 0 || phsize > MM_EXEC_PHDRS_MAX_BYTES)
		MM__NOEXEC("e_phnum is 0 or the program headers exceed 4096 bytes");
	if (phoff > len || phsize > len - phoff)
		MM__NOEXEC("program headers lie beyond the end of the file");

	elf->exstack = MM_EXSTACK_DEFAULT;
	elf->nload = 0;
	uint64_t prev_end = 0;
	for (uint16_t i = 0; i < phnum; i++) {
		const uint8_t *p = img + phoff + (uint64_t)i * phentsize;
		uint32_t ptype = mm__rd32(p);
		struct mm__phdr ph;
		if (is64) {
			ph.flags = mm__rd32(p + 4);
			ph.offset = mm__rd64(p + 8);
			ph.vaddr = mm__rd64(p + 16);
			ph.filesz = mm__rd64(p + 32);
			ph.memsz = mm__rd64(p + 40);
			ph.align = mm__rd64(p + 48);
		} else {
			ph.offset = mm__rd32(p + 4);
			ph.vaddr = mm__rd32(p + 8);
			ph.filesz = mm__rd32(p + 16);
			ph.memsz = mm__rd32(p + 20);
			ph.flags = mm__rd32(p + 24);
			ph.align = mm__rd32(p + 28);
		}
		if (ptype == MM_PT_INTERP)
			MM__NOEXEC("PT_INTERP: dynamically linked executables need "
				   "an interpreter loaded from a file, not modelled");
		if (ptype == MM_PT_GNU_STACK)
			elf->exstack = (ph.flags & MM_PF_X) ? MM_EXSTACK_ENABLE_X
							    : MM_EXSTACK_DISABLE_X;
		if (ptype != MM_PT_LOAD)
			continue;
		/* The checks load_elf_binary() makes per segment (EINVAL
		 * there, after the point of no return), vm_mmap()'s offset
		 * alignment, and the ELF rule that PT_LOADs ascend. */
		if (ph.filesz > ph.memsz)
			MM__NOEXEC("PT_LOAD with p_filesz > p_memsz");
		if (ph.vaddr >= task_size || ph.memsz > task_size ||
		    task_size - ph.memsz < ph.vaddr)
			MM__NOEXEC("PT_LOAD beyond TASK_SIZE");
		if (ph.offset > len || ph.filesz > len - ph.offset)
			MM__NOEXEC("PT_LOAD file contents beyond the end of the file");
		if (MM_EXEC_PAGEOFF(ph.offset) != MM_EXEC_PAGEOFF(ph.vaddr))
			MM__NOEXEC("PT_LOAD p_offset and p_vaddr differ modulo "
				   "the page size");
		if (elf->nload && ph.vaddr < prev_end)
			MM__NOEXEC("PT_LOAD segments overlap or are not sorted by "
				   "p_vaddr");
		if (elf->dyn && !elf->nload && !ph.filesz)
			MM__NOEXEC("first PT_LOAD of an ET_DYN image has no file "
				   "contents to place it by");
		MM_ASSERT(elf->nload < (int)MM_EXEC_MAX_LOADS);
		elf->load[elf->nload++] = ph;
		prev_end = ph.vaddr + ph.memsz;
	}
	if (!elf->nload)
		MM__NOEXEC("no PT_LOAD segment");
	if (!elf->dyn && elf->entry >= task_size)
		MM__NOEXEC("entry point beyond TASK_SIZE");
	return 0;
#undef MM__NOEXEC
}

/* total_mapping_size(): from the first page to the end of the last byte. */
static uint64_t mm__total_mapping_size(const struct mm__elf *elf)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (int i = 0; i < elf->nload; i++) {
		lo = MM_MIN(lo, MM_EXEC_PAGESTART(elf->load[i].vaddr));
		hi = MM_MAX(hi, elf->load[i].vaddr + elf->load[i].memsz);
	}
	return hi - lo;
}

/* maximum_alignment(): the largest power-of-two p_align, at least a page. */
static uint64_t mm__maximum_alignment(const struct mm__elf *elf)
{
	uint64_t a = 0;

	for (int i = 0; i < elf->nload; i++) {
		uint64_t pa = elf->load[i].align;
		if (pa && !(pa & (pa - 1)))
			a = MM_MAX(a, pa);
	}
	return MM_EXEC_PAGEALIGN(a);
}

/* ---- the nascent mm ---------------------------------------------------- */

static uint64_t mm__exec_start_gap(const struct mm_vma *v)
{
	if (!(v->flags & MM_VM_GROWSDOWN))
		return v->start;
	return v->start > MM_EXEC_GUARD_GAP ? v->start - MM_EXEC_GUARD_GAP : 0;
}

/*
 * arch_get_unmapped_area_topdown() without a hint: the highest len bytes
 * free between PAGE_SIZE and mmap_base.  0 when nothing fits (the
 * bottom-up fallback cannot succeed either for an image this size).
 */
static uint64_t mm__exec_topdown(const struct mm__exec *x, uint64_t len)
{
	const struct mm_machine *m = x->m;
	const struct mm_mm *mm = &x->mm;
	uint64_t low = MM_PAGE_SIZE, high = mm->mmap_base, gap_hi = UINT64_MAX;
	uint32_t id = mm->last;

	for (int guard = 0; guard <= (int)mm->map_count; guard++) {
		uint64_t gap_lo = id == MM_NIL ? 0 : m->vmas[id].end;
		uint64_t hi = MM_MIN(gap_hi, high), lo = MM_MAX(gap_lo, low);
		if (hi > lo && hi - lo >= len)
			return hi - len;
		if (id == MM_NIL || gap_lo <= low)
			break;
		gap_hi = mm__exec_start_gap(&m->vmas[id]);
		id = m->vmas[id].prev;
	}
	return 0;
}

/* True when no VMA of the nascent mm meets [start, end). */
static bool mm__exec_range_free(const struct mm__exec *x, uint64_t start,
				uint64_t end)
{
	uint32_t id = mm__find_vma(x->m, &x->mm, start);
	return id == MM_NIL || x->m->vmas[id].start >= end;
}

/*
 * mmap_region() / do_brk_flags() / insert_vm_struct() on the nascent mm:
 * [start, end) replaces whatever is there, is charged when VM_ACCOUNT is in
 * flags, and extends the previous VMA (merge_prev) or is absorbed by the
 * next one (merge_next) when Linux's merge rules allow.  -MM_ENOMEM from
 * max_map_count, the commit charge or the vm_area_struct cache; the
 * caller unwinds the whole nascent mm then.
 */
static int mm__exec_map(struct mm__exec *x, uint64_t start, uint64_t end,
			uint64_t flags, uint32_t file, uint64_t pgoff,
			bool merge_prev, bool merge_next)
{
	struct mm_machine *m = x->m;
	struct mm_mm *mm = &x->mm;
	uint64_t pages = (end - start) >> MM_PAGE_SHIFT;

	MM_ASSERT(start < end && !MM_EXEC_PAGEOFF(start | end));
	int rc = mm__do_munmap(m, mm, start, end, x->cpu);
	if (rc)
		return rc;
	if (mm->map_count > (uint32_t)m->cfg.max_map_count)
		return -MM_ENOMEM;
	if ((flags & MM_VM_ACCOUNT) && mm__vm_enough_memory(m, mm, (int64_t)pages))
		return -MM_ENOMEM;
	flags |= MM_VM_SOFTDIRTY;
	uint32_t prev = mm__find_vma_before(m, mm, start);
	uint32_t next = prev == MM_NIL ? mm->first : m->vmas[prev].next;
	struct mm_vma *pv = mm__vma(m, prev), *nx = mm__vma(m, next);
	bool left = merge_prev && mm__can_merge_after(pv, start, flags, file, 0, pgoff);
	bool right = merge_next &&
		     mm__can_merge_before(nx, end, flags, file, 0, pgoff, pages) &&
		     (!left || mm__anon_vma_compatible(pv->anon_vma, nx->anon_vma));
	if (left && right) {
		pv->end = nx->end;
		if (!pv->anon_vma)
			pv->anon_vma = nx->anon_vma;
		mm__vma_unlink(m, mm, next);
		mm__vma_free(m, next, x->cpu);
	} else if (left) {
		pv->end = end;
	} else if (right) {
		nx->start = start;
		nx->pgoff = pgoff;
	} else {
		uint32_t id = mm__vma_alloc(m, mm, x->cpu);
		if (id == MM_NIL) {
			if (flags & MM_VM_ACCOUNT)
				mm__vm_unacct(m, (int64_t)pages);
			return -MM_ENOMEM;
		}
		struct mm_vma *v = &m->vmas[id];
		v->start = start;
		v->end = end;
		v->flags = flags;
		v->pgoff = pgoff;
		v->file = file;
		mm__vma_link(m, mm, id);
	}
	mm__vm_stat_account(mm, flags, (int64_t)pages);
	return 0;
}

/* VM_DATA_DEFAULT_FLAGS of x86: VM_EXEC only with READ_IMPLIES_EXEC. */
static uint64_t mm__exec_data_flags(const struct mm__exec *x)
{
	return MM_VM_READ | MM_VM_WRITE | MM_VM_MAYREAD | MM_VM_MAYWRITE |
	       MM_VM_MAYEXEC | (x->rie ? MM_VM_EXEC : 0);
}

/* vm_brk_flags(): anonymous memory for a segment's bss. */
static int mm__exec_brk(struct mm__exec *x, uint64_t addr, uint64_t len,
			uint64_t extra)
{
	if (!len)
		return 0;
	if (addr + len > x->mm.task_size || addr + len < addr)
		return -MM_ENOMEM; /* check_brk_limits() */
	uint64_t flags = extra | mm__exec_data_flags(x) | MM_VM_ACCOUNT |
			 x->mm.def_flags;
	return mm__exec_map(x, addr, addr + len, flags, 0, addr >> MM_PAGE_SHIFT,
			    true, false);
}

/* A private file mapping of the image (vm_mmap() with MAP_FIXED). */
static int mm__exec_file_map(struct mm__exec *x, uint64_t addr, uint64_t size,
			     int prot, uint64_t off)
{
	uint64_t flags = MM_VM_MAYREAD | MM_VM_MAYWRITE | MM_VM_MAYEXEC |
			 x->mm.def_flags;

	if (prot & MM_PROT_READ)
		flags |= MM_VM_READ;
	if (prot & MM_PROT_WRITE)
		flags |= MM_VM_WRITE | MM_VM_ACCOUNT; /* accountable_mapping() */
	if (prot & MM_PROT_EXEC)
		flags |= MM_VM_EXEC;
	if (addr + size > x->mm.task_size || addr + size < addr)
		return -MM_ENOMEM;
	return mm__exec_map(x, addr, addr + size, flags, x->file,
			    off >> MM_PAGE_SHIFT, true, true);
}

/*
 * elf_load(): the file part of a segment at map_addr (page aligned, chosen
 * by the caller), padzero() of its last page, and the bss beyond.
 */
static int mm__exec_load(struct mm__exec *x, const struct mm__phdr *ph,
			 uint64_t addr, uint64_t map_addr, int prot)
{
	uint64_t zero_start, zero_end, pageoff = MM_EXEC_PAGEOFF(ph->vaddr);
	int rc;

	if (ph->filesz) {
		uint64_t size = MM_EXEC_PAGEALIGN(ph->filesz + pageoff);
		rc = mm__exec_file_map(x, map_addr, size, prot, ph->offset - pageoff);
		if (rc)
			return rc;
		zero_start = map_addr + pageoff + ph->filesz;
		zero_end = map_addr + pageoff + ph->memsz;
		/* padzero(): clearing the tail of the last file page is a
		 * write fault there (it fails harmlessly when not writable). */
		if (ph->memsz > ph->filesz && MM_EXEC_PAGEOFF(zero_start) &&
		    (prot & MM_PROT_WRITE)) {
			uint32_t id = mm__find_vma(x->m, &x->mm, zero_start);
			MM_ASSERT(id != MM_NIL && x->m->vmas[id].start <= zero_start);
			if (!x->m->vmas[id].anon_vma)
				x->m->vmas[id].anon_vma = mm__anon_vma_new(x->m, 0);
		}
	} else {
		zero_start = MM_EXEC_PAGESTART(addr);
		zero_end = zero_start + pageoff + ph->memsz;
	}
	if (ph->memsz > ph->filesz) {
		zero_start = MM_EXEC_PAGEALIGN(zero_start);
		zero_end = MM_EXEC_PAGEALIGN(zero_end);
		rc = mm__exec_brk(x, zero_start, zero_end - zero_start,
				  (prot & MM_PROT_EXEC) ? MM_VM_EXEC : 0);
		if (rc)
			return rc;
	}
	return 0;
}

/* make_prot() + do_mmap()'s READ_IMPLIES_EXEC. */
static int mm__exec_prot(const struct mm__exec *x, uint32_t p_flags)
{
	int prot = 0;

	if (p_flags & MM_PF_R)
		prot |= MM_PROT_READ;
	if (p_flags & MM_PF_W)
		prot |= MM_PROT_WRITE;
	if (p_flags & MM_PF_X)
		prot |= MM_PROT_EXEC;
	if ((prot & MM_PROT_READ) && x->rie)
		prot |= MM_PROT_EXEC;
	return prot;
}

static uint64_t mm__exec_random(struct mm__exec *x)
{
	return mm_env_random(&x->m->env);
}

/* arch_align_stack() */
static uint64_t mm__exec_align_stack(struct mm__exec *x, uint64_t sp)
{
	if (x->rnd)
		sp -= mm__exec_random(x) % 8192;
	return sp & ~(uint64_t)15;
}

/* The exec file's name: also argv[0] and bprm->filename. */
static size_t mm__exec_path_len(uint32_t file)
{
	char path[64];
	return mm__exec_path(file, path, sizeof(path));
}

/*
 * bprm_mm_init() and setup_arg_pages(): the stack VMA at its final place
 * and size.  Charges the pages the strings use first (before the old mm
 * goes, as Linux); the expansion is charged by mm__exec_stack_expand().
 */
static int mm__exec_stack(struct mm__exec *x, int exstack, uint32_t *stack_id,
			  uint64_t *expand_pages)
{
	struct mm_machine *m = x->m;
	uint64_t word = x->i386 ? 4 : 8, top = x->mm.task_size;

	/* randomize_stack_top(STACK_TOP), arch_align_stack(), PAGE_ALIGN */
	if (x->rnd)
		top -= (mm__exec_random(x) & (x->i386 ? 0x7ffull : 0x3fffffull))
		       << MM_PAGE_SHIFT;
	top = MM_EXEC_PAGEALIGN(mm__exec_align_stack(x, top));
	x->stack_top = top;
	/* copy_string_kernel(filename), copy_strings(envp = []),
	 * copy_strings(argv = [filename]) below the NULL word at the top. */
	size_t len = mm__exec_path_len(x->file) + 1;
	x->arg_p = top - word - 2 * len;
	uint64_t arg_pages = (top - MM_EXEC_PAGESTART(x->arg_p)) >> MM_PAGE_SHIFT;
	uint64_t stack_size = arg_pages << MM_PAGE_SHIFT;
	uint64_t expand = MM_MIN(MM_EXEC_STACK_RLIMIT & MM_EXEC_PAGE_MASK,
				 stack_size + MM_EXEC_STACK_EXPAND);
	uint64_t start = MM_EXEC_PAGESTART(top - expand);
	uint64_t flags = MM_VM_GROWSDOWN | mm__exec_data_flags(x) | MM_VM_ACCOUNT;

	if (exstack == MM_EXSTACK_ENABLE_X)
		flags |= MM_VM_EXEC;
	else if (exstack == MM_EXSTACK_DISABLE_X)
		flags &= ~MM_VM_EXEC;
	flags |= x->mm.def_flags | MM_VM_SOFTDIRTY;
	if (mm__vm_enough_memory(m, &x->mm, (int64_t)arg_pages))
		return -MM_ENOMEM;
	uint32_t id = mm__vma_alloc(m, &x->mm, x->cpu);
	if (id == MM_NIL) {
		mm__vm_unacct(m, (int64_t)arg_pages);
		return -MM_ENOMEM;
	}
	struct mm_vma *v = &m->vmas[id];
	v->start = top - stack_size;
	v->end = top;
	v->flags = flags;
	/* insert_vm_struct() at STACK_TOP_MAX (= TASK_SIZE here); the shift
	 * keeps vm_pgoff, each downward expansion lowers it. */
	v->pgoff = (x->mm.task_size - stack_size) >> MM_PAGE_SHIFT;
	/* get_arg_page() wrote the strings: the first fault's anon_vma. */
	v->anon_vma = mm__anon_vma_new(m, 0);
	mm__vma_link(m, &x->mm, id);
	mm__vm_stat_account(&x->mm, flags, (int64_t)arg_pages);
	x->mm.start_stack = x->arg_p;
	*stack_id = id;
	*expand_pages = (top - start - stack_size) >> MM_PAGE_SHIFT;
	return 0;
}

/* expand_stack_locked() of setup_arg_pages(): acct_stack_growth(). */
static int mm__exec_stack_expand(struct mm__exec *x, uint32_t id, uint64_t pages)
{
	struct mm_machine *m = x->m;

	if (!pages)
		return 0;
	if (mm__vm_enough_memory(m, &x->mm, (int64_t)pages))
		return -MM_ENOMEM;
	struct mm_vma *v = &m->vmas[id];
	mm__vma_unlink(m, &x->mm, id);
	v->start -= pages << MM_PAGE_SHIFT;
	v->pgoff -= pages;
	mm__vma_link(m, &x->mm, id);
	mm__vm_stat_account(&x->mm, v->flags, (int64_t)pages);
	return 0;
}

/* map_vdso(): [vvar] [vvar_vclock] [vdso] top-down below mmap_base. */
static int mm__exec_vdso(struct mm__exec *x)
{
	uint64_t vvar = MM_EXEC_VVAR_PAGES << MM_PAGE_SHIFT;
	uint64_t vclock = MM_EXEC_VCLOCK_PAGES << MM_PAGE_SHIFT;
	uint64_t text = MM_EXEC_VDSO_PAGES << MM_PAGE_SHIFT;
	uint64_t addr = mm__exec_topdown(x, vvar + vclock + text);
	/* _install_special_mapping() adds VM_DONTEXPAND (| VM_SOFTDIRTY). */
	uint64_t data = MM_VM_READ | MM_VM_MAYREAD | MM_VM_IO | MM_VM_DONTDUMP |
			MM_VM_PFNMAP | MM_VM_DONTEXPAND | x->mm.def_flags;
	uint64_t code = MM_VM_READ | MM_VM_EXEC | MM_VM_MAYREAD | MM_VM_MAYWRITE |
			MM_VM_MAYEXEC | MM_VM_DONTEXPAND | x->mm.def_flags;
	int rc;

	if (!addr)
		return -MM_ENOMEM;
	rc = mm__exec_map(x, addr + vvar + vclock, addr + vvar + vclock + text,
			  code, MM_FILE_SPECIAL | MM_SPECIAL_VDSO, 0, false, false);
	if (!rc)
		rc = mm__exec_map(x, addr, addr + vvar, data,
				  MM_FILE_SPECIAL | MM_SPECIAL_VVAR, 0, false, false);
	if (!rc)
		rc = mm__exec_map(x, addr + vvar, addr + vvar + vclock, data,
				  MM_FILE_SPECIAL | MM_SPECIAL_VVAR_VCLOCK, 0, false,
				  false);
	return rc;
}

/*
 * create_elf_tables(): the initial stack pointer below the platform
 * string, 16 AT_RANDOM bytes, the auxiliary vector (x86_64: 22 entries
 * with the vDSO's AT_SYSINFO_EHDR and AT_MINSIGSTKSZ; i386 adds
 * AT_SYSINFO), AT_NULL, argv and envp with their NULLs and argc, rounded
 * down to 16 bytes.
 */
static uint64_t mm__exec_initial_sp(struct mm__exec *x, int argc, int envc)
{
	uint64_t word = x->i386 ? 4 : 8;
	uint64_t p = mm__exec_align_stack(x, x->arg_p);
	const char *platform = x->i386 ? "i686" : "x86_64"; /* ELF_PLATFORM */
	uint64_t nauxv = x->i386 ? 23 : 22;

	p -= strlen(platform) + 1;
	p -= 16;
	uint64_t sp = p - (nauxv + 1) * 2 * word;
	uint64_t items = (uint64_t)(argc + 1) + (uint64_t)(envc + 1) + 1;
	return (sp - items * word) & ~(uint64_t)15;
}

/* randomize_page() */
static uint64_t mm__exec_randomize_page(struct mm__exec *x, uint64_t start,
					uint64_t range)
{
	if (start > x->wmask - range)
		range = x->wmask - start;
	range >>= MM_PAGE_SHIFT;
	if (!range)
		return start;
	return start + ((mm__exec_random(x) % range) << MM_PAGE_SHIFT);
}

/* Tears the nascent mm down after a failure (charges, stats, objects). */
static void mm__exec_unwind(struct mm__exec *x)
{
	struct mm_machine *m = x->m;

	while (x->mm.first != MM_NIL) {
		uint32_t id = x->mm.first;
		mm__vma_unlink(m, &x->mm, id);
		mm__vma_destroy(m, &x->mm, id, x->cpu);
	}
	if (x->mm.slab_addr)
		mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_MM_STRUCT],
				   x->mm.slab_addr, x->cpu);
}


/* True when [start, end) meets the stack VMA. */
static bool mm__exec_hits_stack(const struct mm__exec *x, uint64_t start,
				uint64_t end)
{
	const struct mm_vma *v = &x->m->vmas[x->stack_id];
	return start < v->end && end > v->start;
}

/*
 * The body of load_elf_binary() from the first PT_LOAD to the entry point,
 * on the nascent mm: maps every segment, sets start/end_code/data and
 * answers the entry point and the end of the highest segment (elf_brk).
 * Returns 0, -MM_ENOMEM, or -MM_ENOEXEC with *why.
 */
static int mm__exec_load_image(struct mm__exec *x, const struct mm__elf *elf,
			       const char **why, uint64_t *entry,
			       uint64_t *elf_brk_out)
{
	struct mm_mm *mm = &x->mm;
	uint64_t load_bias = 0, start_code = x->wmask, end_code = 0;
	uint64_t start_data = 0, end_data = 0, elf_brk = 0;

	for (int i = 0; i < elf->nload; i++) {
		const struct mm__phdr *ph = &elf->load[i];
		int prot = mm__exec_prot(x, ph->flags);
		uint64_t vaddr = ph->vaddr, pageoff = MM_EXEC_PAGEOFF(vaddr);
		uint64_t claim = MM_EXEC_PAGEALIGN(ph->filesz + pageoff);
		uint64_t map_addr;
		bool noreplace = i == 0; /* MAP_FIXED_NOREPLACE, else MAP_FIXED */

		if (i == 0 && elf->dyn) {
			/* Static PIE: where a hint-less mmap of the whole
			 * image lands in the mmap region, rounded down to
			 * the requested alignment (then NOREPLACE). */
			uint64_t total = MM_EXEC_PAGEALIGN(mm__total_mapping_size(elf));
			uint64_t align = mm__maximum_alignment(elf);
			uint64_t a = mm__exec_topdown(x, total);
			if (!a)
				return -MM_ENOMEM;
			load_bias = align > MM_PAGE_SIZE ? a & ~(align - 1) : 0;
			load_bias = MM_EXEC_PAGESTART((load_bias - vaddr) & x->wmask);
			if (align > MM_PAGE_SIZE) {
				map_addr = MM_EXEC_PAGESTART((load_bias + vaddr) & x->wmask);
			} else {
				map_addr = a;
				noreplace = false;
			}
			claim = total;
		} else {
			map_addr = MM_EXEC_PAGESTART((load_bias + vaddr) & x->wmask);
		}
		uint64_t end = map_addr +
			       MM_MAX(claim, MM_EXEC_PAGEALIGN(pageoff + ph->memsz));
		if (end > mm->task_size || end < map_addr) {
			*why = "PT_LOAD lands beyond TASK_SIZE";
			return -MM_ENOEXEC;
		}
		/* NOREPLACE would answer EEXIST, MAP_FIXED would wipe the
		 * stack out: either way the new program could not run. */
		if ((noreplace && !mm__exec_range_free(x, map_addr, map_addr + claim)) ||
		    mm__exec_hits_stack(x, map_addr, end)) {
			*why = "PT_LOAD overlaps the stack";
			return -MM_ENOEXEC;
		}
		int rc = mm__exec_load(x, ph, (load_bias + vaddr) & x->wmask,
				       map_addr, prot);
		if (rc)
			return rc;
		if (i == 0 && elf->dyn)
			load_bias = (load_bias + map_addr -
				     MM_EXEC_PAGESTART((load_bias + vaddr) & x->wmask)) &
				    x->wmask;
		uint64_t k = vaddr;
		if ((ph->flags & MM_PF_X) && k < start_code)
			start_code = k;
		if (start_data < k)
			start_data = k;
		k = vaddr + ph->filesz;
		if ((ph->flags & MM_PF_X) && end_code < k)
			end_code = k;
		if (end_data < k)
			end_data = k;
		k = vaddr + ph->memsz;
		if (k > elf_brk)
			elf_brk = k;
	}
	*entry = (elf->entry + load_bias) & x->wmask;
	if (*entry >= mm->task_size) {
		*why = "entry point beyond TASK_SIZE"; /* BAD_ADDR(elf_entry) */
		return -MM_ENOEXEC;
	}
	mm->start_code = (start_code + load_bias) & x->wmask;
	mm->end_code = (end_code + load_bias) & x->wmask;
	mm->start_data = (start_data + load_bias) & x->wmask;
	mm->end_data = (end_data + load_bias) & x->wmask;
	*elf_brk_out = (elf_brk + load_bias) & x->wmask;
	return 0;
}

static void mm__exec_log(struct mm_machine *m, int pid, int err,
			 const char *why)
{
	char msg[192];

	if (!m->env.log)
		return;
	snprintf(msg, sizeof(msg), "exec pid %d: %s: %s", pid, mm_errname(err),
		 why);
	m->env.log(m->env.log_ctx, MM_LOG_INFO, msg);
}

size_t mm__exec_path(uint32_t file, char *buf, size_t len)
{
	MM_ASSERT(mm__file_is_exec(file));
	int n = snprintf(buf, len, "/tmp/mmsim-exec-%u", file & ~MM_FILE_EXEC);
	return n < 0 ? 0 : (size_t)n;
}

const char *mm__special_name(uint32_t file)
{
	if ((file & 0xf0000000u) != MM_FILE_SPECIAL)
		return NULL;
	switch (file & ~MM_FILE_SPECIAL) {
	case MM_SPECIAL_VVAR:
		return "[vvar]";
	case MM_SPECIAL_VVAR_VCLOCK:
		return "[vvar_vclock]";
	case MM_SPECIAL_VDSO:
		return "[vdso]";
	}
	return NULL;
}

int mm_exec(struct mm_machine *m, int pid, const uint8_t *image, size_t len,
	    struct mm_exec_result *out)
{
	struct mm_task *t = mm_task_get(m, pid);
	struct mm__elf elf;
	const char *why = "out of memory";
	uint64_t entry = 0, elf_brk = 0, expand = 0;
	int64_t old_charge = 0;
	bool released = false;
	int rc;

	if (!t)
		return -MM_ESRCH;
	rc = mm__elf_parse(m, image, len, &elf, &why);
	if (rc) {
		mm__exec_log(m, pid, rc, why);
		return rc;
	}

	struct mm_mm *old = &m->mms[t->mm];
	/* One task per mm: fork copies, there are no threads or vfork.  With
	 * sharers the record could not be reused for the new mm. */
	MM_ASSERT(old->users == 1);
	struct mm__exec x;
	memset(&x, 0, sizeof(x));
	x.mm.pgd = MM_NIL; /* the nascent mm takes the old pgd at the end */
	x.m = m;
	x.t = t;
	x.cpu = t->cpu;
	x.i386 = m->cfg.arch == MM_ARCH_I386;
	x.wmask = x.i386 ? 0xffffffffull : UINT64_MAX;
	x.file = MM_FILE_EXEC | (uint32_t)pid;
	x.rnd = m->cfg.randomize_va_space >= 1;
	/* elf_read_implies_exec(): ia32 without PT_GNU_STACK. */
	x.rie = x.i386 && elf.exstack == MM_EXSTACK_DEFAULT;
	x.mm.id = old->id;
	x.mm.users = old->users;
	x.mm.root = x.mm.first = x.mm.last = MM_NIL;
	x.mm.def_flags = old->def_flags & MM_VM_NOHUGEPAGE; /* VM_INIT_DEF_MASK */

	/* bprm_mm_init(): the mm_struct (its layout comes with
	 * setup_new_exec()) and the stack with the argument strings. */
	if (mm_kmem_cache_alloc(m, m->engine_caches[MM_CACHE_MM_STRUCT],
				MM_GFP_KERNEL, x.cpu, &x.mm.slab_addr)) {
		x.mm.slab_addr = 0;
		rc = -MM_ENOMEM;
		goto err_unwind;
	}
	mm__pick_mmap_layout(m, &x.mm); /* setup_new_exec() */
	rc = mm__exec_stack(&x, elf.exstack, &x.stack_id, &expand);
	if (rc)
		goto err_unwind;
	/* exec_mmap(): the old mm's charges go back now (its VMAs stay until
	 * the new mm is complete, so that failure can restore it). */
	for (uint32_t id = old->first; id != MM_NIL; id = m->vmas[id].next)
		if (m->vmas[id].flags & MM_VM_ACCOUNT)
			old_charge += (int64_t)((m->vmas[id].end - m->vmas[id].start) >>
						MM_PAGE_SHIFT);
	m->committed -= old_charge;
	released = true;
	rc = mm__exec_stack_expand(&x, x.stack_id, expand);
	if (rc)
		goto err_unwind;
	rc = mm__exec_load_image(&x, &elf, &why, &entry, &elf_brk);
	if (rc)
		goto err_unwind;
	rc = mm__exec_vdso(&x);
	if (rc)
		goto err_unwind;
	x.mm.start_stack = mm__exec_initial_sp(&x, 1, 0);
	/* The brk: after the image, or for a static PIE ELF_ET_DYN_BASE. */
	bool brk_moved = false;
	if (elf.dyn) {
		elf_brk = x.i386 ? MM_EXEC_TASK_SIZE_I386 / 3 * 2
				 : MM_EXEC_TASK_SIZE_X86_64 / 3 * 2;
		brk_moved = true;
	}
	x.mm.start_brk = x.mm.brk = MM_EXEC_PAGEALIGN(elf_brk) & x.wmask;
	if (x.rnd && m->cfg.randomize_va_space > 1) {
		if (!brk_moved)
			x.mm.brk = x.mm.start_brk = x.mm.brk + MM_PAGE_SIZE;
		x.mm.brk = x.mm.start_brk =
			mm__exec_randomize_page(&x, x.mm.brk,
						x.i386 ? 32ull << 20 : 1ull << 30);
	}

	/* The point of no return, here for real: the old mm goes. */
	m->committed += old_charge;
	mm__mm_teardown(m, old, true, x.cpu);
	x.mm.pgd = old->pgd;
	x.mm.rss_anon = 0;
	x.mm.hiwater_rss = 0;
	x.mm.rss_shmem = 0;
	x.mm.rss_file = 0;
	x.mm.rss_swap = 0;
	while (old->first != MM_NIL) {
		uint32_t id = old->first;
		mm__vma_unlink(m, old, id);
		mm__vma_destroy(m, old, id, x.cpu);
	}
	mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_MM_STRUCT], old->slab_addr,
			   x.cpu);
	*old = x.mm;
	if (out) {
		out->entry = entry;
		out->start_brk = x.mm.start_brk;
		out->stack = x.mm.start_stack;
	}
	return 0;

err_unwind:
	mm__exec_unwind(&x);
	if (released)
		m->committed += old_charge;
	mm__exec_log(m, pid, rc, why);
	return rc;
}
