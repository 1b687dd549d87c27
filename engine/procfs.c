/*
 * procfs.c — /proc/PID/maps, smaps and status in Linux 6.18's formats
 * (fs/proc/task_mmu.c show_map_vma/show_smap, fs/proc/array.c).
 *
 * maps: "start-end perms offset major:minor inode", padded to column
 * 25 + 6 * sizeof(void *) before the name ([heap], [stack],
 * "/dev/zero (deleted)" for shared anonymous memory, an exec'd image's path
 * and the vDSO's [vvar]/[vvar_vclock]/[vdso], exec.c); anonymous lines end
 * with the separating space, as the kernel prints them.  Resident-set
 * figures are 0 until pages are faulted in (paging).
 */
#include "engine/internal.h"

#include <stdio.h>

#define MM_SHMEM_DEV_MINOR 1
#define MM_SHMEM_INO_BASE 1024
#define MM_FILE_DEV_MINOR 3

static const char *mm__vma_name(const struct mm_machine *m,
				const struct mm_mm *mm, const struct mm_vma *v,
				char *path, size_t len)
{
	if (v->file & 0x80000000u)
		return "/dev/zero (deleted)";
	if (mm__file_is_exec(v->file)) {
		mm__exec_path(v->file, path, len);
		return path;
	}
	if (mm__file_is_reg(v->file)) {
		const struct mm_file *f = mm__file(m, v->file);
		snprintf(path, len, "/%s%s", f->name, f->unlinked ? " (deleted)" : "");
		return path;
	}
	if (mm__special_name(v->file))
		return mm__special_name(v->file); /* vm_special_mapping name */
	if (v->start < mm->brk && v->end > mm->start_brk)
		return "[heap]"; /* vma_is_initial_heap(): strict bounds */
	if (mm->start_stack && v->start <= mm->start_stack &&
	    v->end >= mm->start_stack)
		return "[stack]";
	return NULL;
}

static void mm__maps_line(const struct mm_machine *m, struct mm_buf *b,
			  const struct mm_mm *mm, const struct mm_vma *v)
{
	size_t line_start = b->used;
	bool shmem = v->file & 0x80000000u;
	unsigned minor = shmem ? MM_SHMEM_DEV_MINOR : 0;
	unsigned long ino = shmem ? MM_SHMEM_INO_BASE + (v->file & 0x7fffffffu) : 0;
	uint64_t pgoff = shmem ? v->pgoff << MM_PAGE_SHIFT : 0;
	char path[MM_FILE_NAME_MAX + 16];

	if (mm__file_is_reg(v->file)) { /* in-memory files: device 00:03 */
		minor = MM_FILE_DEV_MINOR;
		ino = mm__file(m, v->file)->ino;
		pgoff = v->pgoff << MM_PAGE_SHIFT;
	}
	if (mm__file_is_exec(v->file)) { /* exec.c's stand-in for the file */
		minor = MM_EXEC_DEV_MINOR;
		ino = v->file & ~MM_FILE_EXEC;
		pgoff = v->pgoff << MM_PAGE_SHIFT;
	}

	mm__bprintf(b, "%08llx-%08llx %c%c%c%c %08llx %02x:%02x %lu ",
		    (unsigned long long)v->start, (unsigned long long)v->end,
		    v->flags & MM_VM_READ ? 'r' : '-',
		    v->flags & MM_VM_WRITE ? 'w' : '-',
		    v->flags & MM_VM_EXEC ? 'x' : '-',
		    v->flags & MM_VM_MAYSHARE ? 's' : 'p',
		    (unsigned long long)pgoff, 0u, minor, ino);
	const char *name = mm__vma_name(m, mm, v, path, sizeof(path));
	if (name) {
		size_t width = 25 + 6 * (m->cfg.arch == MM_ARCH_I386 ? 4 : 8) - 1;
		size_t used = b->used - line_start;
		if (used < width)
			mm__bprintf(b, "%*s", (int)(width - used), "");
		mm__bprintf(b, " %s", name);
	}
	mm__bprintf(b, "\n");
}

size_t mm_proc_pid_maps(const struct mm_machine *m, int pid, char *buf,
			size_t len)
{
	struct mm_buf b = {buf, len, 0};
	const struct mm_task *t = mm_task_get(m, pid);

	if (t) {
		const struct mm_mm *mm = &m->mms[t->mm];
		for (uint32_t id = mm->first; id != MM_NIL; id = m->vmas[id].next)
			mm__maps_line(m, &b, mm, &m->vmas[id]);
	}
	return mm__bfinish(&b);
}

static void mm__smaps_kb(struct mm_buf *b, const char *label, uint64_t kb)
{
	mm__bprintf(b, "%-16s%8llu kB\n", label, (unsigned long long)kb);
}

/* show_smap_vma_flags(): two-letter mnemonics in bit order. */
static void mm__vmflags(struct mm_buf *b, uint64_t flags)
{
	static const struct {
		uint64_t flag;
		const char *name;
	} names[] = {
		{MM_VM_READ, "rd"},        {MM_VM_WRITE, "wr"},
		{MM_VM_EXEC, "ex"},        {MM_VM_SHARED, "sh"},
		{MM_VM_MAYREAD, "mr"},     {MM_VM_MAYWRITE, "mw"},
		{MM_VM_MAYEXEC, "me"},     {MM_VM_MAYSHARE, "ms"},
		{MM_VM_GROWSDOWN, "gd"},   {MM_VM_PFNMAP, "pf"},
		{MM_VM_LOCKED, "lo"},      {MM_VM_IO, "io"},
		{MM_VM_SEQ_READ, "sr"},    {MM_VM_RAND_READ, "rr"},
		{MM_VM_DONTCOPY, "dc"},    {MM_VM_DONTEXPAND, "de"},
		{MM_VM_LOCKONFAULT, "lf"}, {MM_VM_ACCOUNT, "ac"},
		{MM_VM_NORESERVE, "nr"},   {MM_VM_HUGETLB, "ht"},
		{MM_VM_SYNC, "sf"},        {MM_VM_WIPEONFORK, "wf"},
		{MM_VM_DONTDUMP, "dd"},    {MM_VM_SOFTDIRTY, "sd"},
		{MM_VM_MIXEDMAP, "mm"},    {MM_VM_HUGEPAGE, "hg"},
		{MM_VM_NOHUGEPAGE, "nh"},
	};
	mm__bprintf(b, "VmFlags:");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].flag)
			mm__bprintf(b, " %s", names[i].name);
	mm__bprintf(b, " \n");
}

/* smaps_account() per PTE (in bytes; pss scaled by 2^12 as PSS_SHIFT). */
struct mm__smaps_stats {
	uint64_t resident, anonymous, referenced, locked_pss;
	uint64_t shared_clean, shared_dirty, private_clean, private_dirty;
	uint64_t pss, pss_dirty;
	uint64_t swap, swap_pss;
	bool locked;
};

/* smaps_pte_entry() of a swap entry: SwapPss shares the page among the
 * entries naming its slot (swp_swapcount). */
static void mm__smaps_swap(const struct mm_machine *m, uint64_t va, uint64_t e,
			   void *arg)
{
	struct mm__smaps_stats *s = arg;
	uint32_t count = mm__swap_count(m, mm__pte_swp_offset(m, e));

	(void)va;
	s->swap += MM_PAGE_SIZE;
	s->swap_pss += count >= 2 ? ((uint64_t)MM_PAGE_SIZE << 12) / count
				  : (uint64_t)MM_PAGE_SIZE << 12;
}

static void mm__smaps_pte(const struct mm_machine *m, uint64_t va, uint64_t e,
			  void *arg)
{
	struct mm__smaps_stats *s = arg;
	uint32_t pfn = (uint32_t)((e & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);

	(void)va;
	if (pfn == m->zero_pfn)
		return; /* vm_normal_page(): the zero page is not counted */
	const struct mm_page *p = &m->pages[pfn];
	bool dirty = (e & MM_PTE_DIRTY) || mm_page_test(p, MM_PG_dirty);
	bool young = (e & MM_PTE_ACCESSED) || mm_page_test(p, MM_PG_referenced);
	uint64_t size = MM_PAGE_SIZE;
	if (mm_page_test(p, MM_PG_swapbacked) && !mm__file_is_shmem(p->mapping))
		s->anonymous += size;
	s->resident += size;
	if (young)
		s->referenced += size;
	uint64_t pss = size << 12;
	bool private = p->refcount == 1 || p->mapcount < 2;
	if (!private)
		pss /= (uint64_t)p->mapcount;
	s->pss += pss;
	if (private)
		*(dirty ? &s->private_dirty : &s->private_clean) += size;
	else
		*(dirty ? &s->shared_dirty : &s->shared_clean) += size;
	if (dirty)
		s->pss_dirty += pss;
	if (s->locked)
		s->locked_pss += pss;
}

size_t mm_proc_pid_smaps(const struct mm_machine *m, int pid, char *buf,
			 size_t len)
{
	struct mm_buf b = {buf, len, 0};
	const struct mm_task *t = mm_task_get(m, pid);

	if (!t)
		return mm__bfinish(&b);
	const struct mm_mm *mm = &m->mms[t->mm];
	for (uint32_t id = mm->first; id != MM_NIL; id = m->vmas[id].next) {
		const struct mm_vma *v = &m->vmas[id];
		mm__maps_line(m, &b, mm, v);
		mm__smaps_kb(&b, "Size:", (v->end - v->start) >> 10);
		mm__smaps_kb(&b, "KernelPageSize:", 4);
		mm__smaps_kb(&b, "MMUPageSize:", 4);
		struct mm__smaps_stats st;
		memset(&st, 0, sizeof(st));
		st.locked = (v->flags & MM_VM_LOCKED) != 0;
		mm__walk_ptes(m, mm, v->start, v->end, mm__smaps_pte, &st);
		mm__walk_swap_ptes(m, mm, v->start, v->end, mm__smaps_swap, &st);
		mm__smaps_kb(&b, "Rss:", st.resident >> 10);
		mm__smaps_kb(&b, "Pss:", st.pss >> 22);
		mm__smaps_kb(&b, "Pss_Dirty:", st.pss_dirty >> 22);
		mm__smaps_kb(&b, "Shared_Clean:", st.shared_clean >> 10);
		mm__smaps_kb(&b, "Shared_Dirty:", st.shared_dirty >> 10);
		mm__smaps_kb(&b, "Private_Clean:", st.private_clean >> 10);
		mm__smaps_kb(&b, "Private_Dirty:", st.private_dirty >> 10);
		mm__smaps_kb(&b, "Referenced:", st.referenced >> 10);
		mm__smaps_kb(&b, "Anonymous:", st.anonymous >> 10);
		static const char *const zero[] = {
			"KSM:", "LazyFree:",
			"AnonHugePages:", "ShmemPmdMapped:", "FilePmdMapped:",
			"Shared_Hugetlb:", "Private_Hugetlb:",
		};
		for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
			mm__smaps_kb(&b, zero[i], 0);
		mm__smaps_kb(&b, "Swap:", st.swap >> 10);
		mm__smaps_kb(&b, "SwapPss:", st.swap_pss >> 22);
		mm__smaps_kb(&b, "Locked:", st.locked_pss >> 22);
		/* thp_vma_allowable_order(): THP "madvise" mode and no
		 * VM_HUGEPAGE flag here: not eligible. */
		mm__bprintf(&b, "THPeligible:           %d\n", 0);
		/* VM_SOFTDIRTY is VM_NONE without CONFIG_MEM_SOFT_DIRTY, which
		 * x86 offers on 64-bit only: i386 smaps never shows "sd". */
		mm__vmflags(&b, m->cfg.arch == MM_ARCH_I386
					? v->flags & ~MM_VM_SOFTDIRTY : v->flags);
	}
	return mm__bfinish(&b);
}

static void mm__status_kb(struct mm_buf *b, const char *label, uint64_t kb)
{
	mm__bprintf(b, "%s\t%8llu kB\n", label, (unsigned long long)kb);
}

size_t mm_proc_pid_status(const struct mm_machine *m, int pid, char *buf,
			  size_t len)
{
	struct mm_buf b = {buf, len, 0};
	const struct mm_task *t = mm_task_get(m, pid);

	if (!t)
		return mm__bfinish(&b);
	const struct mm_mm *mm = &m->mms[t->mm];
	uint64_t cpumask = (m->cfg.cpus >= 64) ? ~0ull : (1ull << m->cfg.cpus) - 1;
	mm__bprintf(&b, "Name:\t%s\nUmask:\t0022\nState:\tR (running)\n", t->comm);
	mm__bprintf(&b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n",
		    t->pid, t->pid, t->ppid);
	mm__bprintf(&b, "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t64\nGroups:\t \n");
	mm__bprintf(&b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\nKthread:\t0\n",
		    t->pid, t->pid, t->pid, t->pid);
	uint64_t kb = MM_PAGE_SIZE >> 10;
	mm__status_kb(&b, "VmPeak:", mm->total_vm * kb);
	mm__status_kb(&b, "VmSize:", mm->total_vm * kb);
	mm__status_kb(&b, "VmLck:", mm->locked_vm * kb);
	mm__status_kb(&b, "VmPin:", 0);
	uint64_t rss = mm->rss_anon + mm->rss_shmem + mm->rss_file;
	mm__status_kb(&b, "VmHWM:", MM_MAX(mm->hiwater_rss, rss) * kb);
	mm__status_kb(&b, "VmRSS:", rss * kb);
	mm__status_kb(&b, "RssAnon:", mm->rss_anon * kb);
	mm__status_kb(&b, "RssFile:", mm->rss_file * kb);
	mm__status_kb(&b, "RssShmem:", mm->rss_shmem * kb);
	mm__status_kb(&b, "VmData:", mm->data_vm * kb);
	mm__status_kb(&b, "VmStk:", mm->stack_vm * kb);
	/* task_mem(): text = PAGE_ALIGN(end_code) - (start_code & PAGE_MASK),
	 * at most exec_vm; the rest of exec_vm is VmLib. */
	uint64_t text = (((mm->end_code + 4095) & ~(uint64_t)4095) -
			 (mm->start_code & ~(uint64_t)4095)) >> 10;
	text = MM_MIN(text, mm->exec_vm * kb);
	mm__status_kb(&b, "VmExe:", text);
	mm__status_kb(&b, "VmLib:", mm->exec_vm * kb - text);
	mm__status_kb(&b, "VmPTE:", mm__nr_ptables(m, mm) * kb);
	mm__status_kb(&b, "VmSwap:", mm->rss_swap * kb);
	mm__bprintf(&b, "HugetlbPages:\t%8d kB\n", 0);
	mm__bprintf(&b, "CoreDumping:\t0\nTHP_enabled:\t1\n");
	if (m->cfg.arch == MM_ARCH_X86_64)
		mm__bprintf(&b, "untag_mask:\t0xffffffffffffffff\n");
	mm__bprintf(&b, "Threads:\t1\nSigQ:\t0/%d\n", m->cfg.pid_max);
	mm__bprintf(&b, "SigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"
			"SigBlk:\t0000000000000000\nSigIgn:\t0000000000010000\n"
			"SigCgt:\t0000000000000000\n");
	mm__bprintf(&b, "CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n"
			"CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n"
			"CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n"
			"Seccomp_filters:\t0\n");
	mm__bprintf(&b, "Cpus_allowed:\t%llx\nCpus_allowed_list:\t0-%d\n",
		    (unsigned long long)cpumask, m->cfg.cpus - 1);
	mm__bprintf(&b, "Mems_allowed:\t%08x\nMems_allowed_list:\t0-%d\n",
		    (1u << m->nr_nodes) - 1, m->nr_nodes - 1);
	mm__bprintf(&b, "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n");
	return mm__bfinish(&b);
}
