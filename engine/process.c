/*
 * process.c — processes: pids, task and mm records, spawn, fork and exit.
 *
 * pids are handed out like Linux's alloc_pid(): cyclically from the last
 * one + 1, wrapping to RESERVED_PIDS (300) past pid_max, EAGAIN when none
 * is free.  A process costs what it costs Linux: a task_struct and an
 * mm_struct from their slab caches and a THREAD_SIZE kernel stack from
 * vmalloc (VMAP_STACK), counted in KernelStack.  The simulated parent
 * ignores SIGCHLD, so an exiting process is reaped at once (its memory is
 * freed and its pid becomes reusable).
 */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>

#define MM_RESERVED_PIDS 300
#define MM_TASK_SIZE_X86_64 0x7ffffffff000ull
#define MM_TASK_SIZE_I386 0xc0000000ull
#define MM_SIZE_128M (128ull << 20)
#define MM_STACK_RLIMIT (8ull << 20)
#define MM_GUARD_GAP (256ull << MM_PAGE_SHIFT)

static uint64_t mm__thread_size(const struct mm_machine *m)
{
	return m->cfg.arch == MM_ARCH_I386 ? 8192 : 16384;
}

int mm__process_init(struct mm_machine *m)
{
	m->tasks = calloc(MM_MAX_TASKS, sizeof(*m->tasks));
	if (!m->tasks)
		return -MM_ENOMEM;
	m->free_mms = MM_NIL;
	m->free_vmas = MM_NIL;
	m->free_xa_nodes = MM_NIL;
	/* init_user_reserve(): min(3% of free memory, 128 MiB). */
	m->user_reserve_pages = MM_MIN(mm_nr_free_pages(m) / 32,
				       (128ull << 20) >> MM_PAGE_SHIFT);
	return 0;
}

void mm__process_destroy(struct mm_machine *m)
{
	free(m->tasks);
	free(m->mms);
	free(m->vmas);
	for (uint32_t i = 0; i < m->nr_shmem; i++)
		free(m->shmem[i].pages);
	free(m->shmem);
}

struct mm_task *mm_task_get(const struct mm_machine *m, int pid)
{
	if (pid <= 0 || !m->tasks)
		return NULL;
	for (uint32_t i = 0; i < MM_MAX_TASKS; i++)
		if (m->tasks[i].pid == pid)
			return &m->tasks[i];
	return NULL;
}

struct mm_mm *mm_task_mm(const struct mm_machine *m, const struct mm_task *t)
{
	return &m->mms[t->mm];
}

/* alloc_pid(): the next free pid after last_pid, cyclically. */
static int mm__alloc_pid(struct mm_machine *m)
{
	int pid_max = m->cfg.pid_max;
	int pid = m->last_pid;

	for (int tries = 0; tries < pid_max; tries++) {
		pid = pid + 1 >= pid_max ? MM_RESERVED_PIDS : pid + 1;
		if (pid < 1)
			pid = 1;
		if (!mm_task_get(m, pid))
			return pid;
	}
	return -MM_EAGAIN;
}

static uint32_t mm__mm_alloc(struct mm_machine *m, int cpu)
{
	uint64_t obj;

	if (mm_kmem_cache_alloc(m, m->engine_caches[MM_CACHE_MM_STRUCT],
				MM_GFP_KERNEL, cpu, &obj))
		return MM_NIL;
	uint32_t id;
	if (m->free_mms != MM_NIL) {
		id = m->free_mms;
		m->free_mms = m->mms[id].root;
	} else {
		if (mm__grow((void **)&m->mms, &m->cap_mms, m->nr_mms,
			     sizeof(*m->mms))) {
			mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_MM_STRUCT],
					   obj, cpu);
			return MM_NIL;
		}
		id = m->nr_mms++;
	}
	struct mm_mm *mm = &m->mms[id];
	memset(mm, 0, sizeof(*mm));
	mm->id = id;
	mm->users = 1;
	mm->root = mm->first = mm->last = MM_NIL;
	mm->slab_addr = obj;
	mm->pgd = MM_NIL;
	if (mm__mm_pgd_alloc(m, mm, cpu)) {
		mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_MM_STRUCT], obj, cpu);
		mm->id = MM_NIL;
		mm->root = m->free_mms;
		m->free_mms = id;
		return MM_NIL;
	}
	return id;
}

static void mm__mm_free(struct mm_machine *m, uint32_t id, int cpu)
{
	struct mm_mm *mm = &m->mms[id];

	mm__mm_teardown(m, mm, false, cpu);
	while (mm->first != MM_NIL) {
		uint32_t v = mm->first;
		mm__vma_unlink(m, mm, v);
		mm__vma_destroy(m, mm, v, cpu);
	}
	mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_MM_STRUCT], mm->slab_addr,
			   cpu);
	memset(mm, 0, sizeof(*mm));
	mm->id = MM_NIL;
	mm->root = m->free_mms;
	m->free_mms = id;
}

/* arch_pick_mmap_layout() + mmap_base(): top-down below the stack gap
 * (spawn, and exec's setup_new_exec()). */
void mm__pick_mmap_layout(struct mm_machine *m, struct mm_mm *mm)
{
	uint64_t rnd = 0;

	mm->task_size = m->cfg.arch == MM_ARCH_I386 ? MM_TASK_SIZE_I386
						    : MM_TASK_SIZE_X86_64;
	if (m->cfg.randomize_va_space >= 1) {
		/* arch_mmap_rnd(): 28 bits on x86_64, 8 on i386 (pages). */
		unsigned bits = m->cfg.arch == MM_ARCH_I386 ? 8 : 28;
		rnd = (mm_env_random(&m->env) & ((1ull << bits) - 1)) << MM_PAGE_SHIFT;
	}
	/* stack_maxrandom_size(): with PF_RANDOMIZE the gap also leaves room
	 * for the stack's random offset (__STACK_RND_MASK pages). */
	uint64_t stack_rnd = 0;
	if (m->cfg.randomize_va_space >= 1)
		stack_rnd = (m->cfg.arch == MM_ARCH_I386 ? 0x7ffull : 0x3fffffull)
			    << MM_PAGE_SHIFT;
	uint64_t gap = MM_STACK_RLIMIT + MM_GUARD_GAP + stack_rnd;
	uint64_t gap_max = mm->task_size / 6 * 5;
	if (gap < MM_SIZE_128M)
		gap = MM_SIZE_128M;
	else if (gap > gap_max)
		gap = gap_max;
	mm->mmap_base = (mm->task_size - gap - rnd) & ~(uint64_t)(MM_PAGE_SIZE - 1);
}

static struct mm_task *mm__task_slot(struct mm_machine *m)
{
	for (uint32_t i = 0; i < MM_MAX_TASKS; i++)
		if (m->tasks[i].pid == 0)
			return &m->tasks[i];
	return NULL;
}

/* The task_struct object and kernel stack every process owns. */
static int mm__task_resources(struct mm_machine *m, struct mm_task *t, int cpu)
{
	if (mm_kmem_cache_alloc(m, m->engine_caches[MM_CACHE_TASK_STRUCT],
				MM_GFP_KERNEL, cpu, &t->slab_addr))
		return -MM_ENOMEM;
	if (mm_vmalloc(m, mm__thread_size(m), cpu, &t->stack_addr)) {
		mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_TASK_STRUCT],
				   t->slab_addr, cpu);
		return -MM_ENOMEM;
	}
	m->nodes[m->cpu_node[cpu]].vm_stat[MM_NR_KERNEL_STACK] +=
		(int64_t)(mm__thread_size(m) >> 10);
	return 0;
}

static void mm__task_release(struct mm_machine *m, struct mm_task *t)
{
	m->nodes[m->cpu_node[t->cpu]].vm_stat[MM_NR_KERNEL_STACK] -=
		(int64_t)(mm__thread_size(m) >> 10);
	mm_vfree(m, t->stack_addr, t->cpu);
	mm_kmem_cache_free(m, m->engine_caches[MM_CACHE_TASK_STRUCT], t->slab_addr,
			   t->cpu);
	memset(t, 0, sizeof(*t));
	m->nr_tasks--;
}

int mm_spawn(struct mm_machine *m, const char *name, int cpu, int *pid)
{
	struct mm_task *t = mm__task_slot(m);
	int p = mm__alloc_pid(m);

	if (p < 0 || !t)
		return -MM_EAGAIN;
	if (cpu >= m->cfg.cpus)
		return -MM_EINVAL;
	if (cpu < 0)
		cpu = p % m->cfg.cpus;
	memset(t, 0, sizeof(*t));
	t->cpu = cpu;
	if (mm__task_resources(m, t, cpu))
		return -MM_ENOMEM;
	uint32_t id = mm__mm_alloc(m, cpu);
	if (id == MM_NIL) {
		m->nr_tasks++;
		mm__task_release(m, t);
		return -MM_ENOMEM;
	}
	struct mm_mm *mm = &m->mms[id];
	mm__pick_mmap_layout(m, mm);
	/* As after exec of an empty static PIE at ELF_ET_DYN_BASE. */
	uint64_t et_dyn_base = m->cfg.arch == MM_ARCH_I386
				       ? (MM_TASK_SIZE_I386 / 3 * 2)
				       : (mm->task_size / 3 * 2) & ~(uint64_t)(MM_PAGE_SIZE - 1);
	mm->start_code = mm->end_code = mm->start_data = mm->end_data = et_dyn_base;
	mm->start_brk = mm->brk = et_dyn_base;
	t->pid = p;
	t->ppid = 0;
	t->mm = id;
	t->rss_limit_pages = -1;
	t->state = MM_TASK_RUNNING;
	snprintf(t->comm, sizeof(t->comm), "%s", name && *name ? name : "proc");
	m->last_pid = p;
	m->nr_tasks++;
	*pid = p;
	return 0;
}

/* dup_mmap(): the child gets a copy of every VMA but VM_DONTCOPY ones,
 * charged again for VM_ACCOUNT (fork fails with ENOMEM otherwise).  On a
 * failure part way, the charge of the VMAs not copied yet is given back
 * here; the copied ones return theirs when the caller frees mm. */
static int mm__dup_mmap(struct mm_machine *m, struct mm_mm *old,
			struct mm_mm *mm, int cpu)
{
	int64_t charge = 0;

	for (uint32_t id = old->first; id != MM_NIL; id = m->vmas[id].next)
		if ((m->vmas[id].flags & (MM_VM_ACCOUNT | MM_VM_DONTCOPY)) ==
		    MM_VM_ACCOUNT)
			charge += (int64_t)((m->vmas[id].end - m->vmas[id].start) >>
					    MM_PAGE_SHIFT);
	if (charge && mm__vm_enough_memory(m, old, charge))
		return -MM_ENOMEM;
	for (uint32_t id = old->first; id != MM_NIL; id = m->vmas[id].next) {
		const struct mm_vma *v = &m->vmas[id];
		if (v->flags & MM_VM_DONTCOPY)
			continue;
		uint32_t nid = mm__vma_alloc(m, mm, cpu);
		if (nid == MM_NIL) {
			mm__vm_unacct(m, charge);
			return -MM_ENOMEM; /* caller frees mm */
		}
		v = &m->vmas[id]; /* the table may have moved */
		struct mm_vma *n = &m->vmas[nid];
		n->start = v->start;
		n->end = v->end;
		n->flags = v->flags & ~(MM_VM_LOCKED | MM_VM_LOCKONFAULT);
		/* Linux does not re-merge neighbours that only differed in
		 * their lock flags. */
		n->unmerged = (v->flags & (MM_VM_LOCKED | MM_VM_LOCKONFAULT)) != 0 ||
			      v->unmerged;
		n->pgoff = v->pgoff;
		n->file = v->file;
		/* anon_vma_fork(): a new anon_vma chained to the parent's. */
		if (v->anon_vma) {
			n->anon_vma = mm__anon_vma_new(m, v->anon_vma);
			n->anon_chained = 1;
		}
		mm__vma_link(m, mm, nid);
		/* the child's VMA goes right after the parent's in the file's
		 * i_mmap (vma_interval_tree_insert_after) */
		mm__i_mmap_insert_after(m, nid, id);
		mm__vm_stat_account(mm, n->flags, (int64_t)((n->end - n->start) >>
							     MM_PAGE_SHIFT));
		if ((n->flags & MM_VM_ACCOUNT))
			charge -= (int64_t)((n->end - n->start) >> MM_PAGE_SHIFT);
		int rc = mm__copy_page_range(m, mm, old, &m->vmas[id], cpu);
		if (rc) {
			mm__vm_unacct(m, charge);
			return rc; /* caller frees mm */
		}
	}
	MM_ASSERT(charge == 0);
	return 0;
}

int mm_fork(struct mm_machine *m, int pid, int *child)
{
	struct mm_task *parent = mm_task_get(m, pid);

	if (!parent)
		return -MM_ESRCH;
	struct mm_task *t = mm__task_slot(m);
	int p = mm__alloc_pid(m);
	if (p < 0 || !t)
		return -MM_EAGAIN;
	int cpu = p % m->cfg.cpus;
	memset(t, 0, sizeof(*t));
	t->cpu = cpu;
	if (mm__task_resources(m, t, cpu))
		return -MM_ENOMEM;
	m->nr_tasks++;
	parent = mm_task_get(m, pid);
	uint32_t id = mm__mm_alloc(m, cpu);
	if (id == MM_NIL) {
		mm__task_release(m, t);
		return -MM_ENOMEM;
	}
	struct mm_mm *old = &m->mms[parent->mm], *mm = &m->mms[id];
	struct mm_mm keep = *mm;
	*mm = *old;
	mm->id = keep.id;
	mm->users = 1;
	mm->root = mm->first = mm->last = MM_NIL;
	mm->map_count = 0;
	mm->total_vm = mm->locked_vm = mm->data_vm = mm->exec_vm = mm->stack_vm = 0;
	mm->slab_addr = keep.slab_addr;
	mm->pgd = keep.pgd;
	mm->rss_anon = 0;
	mm->rss_shmem = 0;
	mm->rss_file = 0;
	mm->hiwater_rss = 0;
	int rc = mm__dup_mmap(m, &m->mms[parent->mm], &m->mms[id], cpu);
	if (rc) {
		mm__mm_free(m, id, cpu);
		mm__task_release(m, t);
		return rc;
	}
	t->pid = p;
	t->ppid = pid;
	t->mm = id;
	t->state = MM_TASK_RUNNING;
	t->oom_score_adj = parent->oom_score_adj;
	t->rss_limit_pages = parent->rss_limit_pages;
	memcpy(t->comm, parent->comm, sizeof(t->comm));
	m->last_pid = p;
	*child = p;
	return 0;
}

int mm_exit(struct mm_machine *m, int pid, int status)
{
	struct mm_task *t = mm_task_get(m, pid);

	if (!t)
		return -MM_ESRCH;
	(void)status;
	int cpu = t->cpu;
	struct mm_mm *mm = &m->mms[t->mm];
	if (--mm->users == 0)
		mm__mm_free(m, t->mm, cpu);
	/* Orphans are re-parented to init (pid 1), or to nobody. */
	for (uint32_t i = 0; i < MM_MAX_TASKS; i++)
		if (m->tasks[i].pid && m->tasks[i].ppid == pid)
			m->tasks[i].ppid = mm_task_get(m, 1) && pid != 1 ? 1 : 0;
	mm__task_release(m, t);
	return 0;
}

int mm_set_oom_score_adj(struct mm_machine *m, int pid, int value)
{
	struct mm_task *t = mm_task_get(m, pid);

	if (!t)
		return -MM_ESRCH;
	if (value < -1000 || value > 1000)
		return -MM_EINVAL;
	t->oom_score_adj = value;
	return 0;
}

int mm_set_rss_limit(struct mm_machine *m, int pid, int64_t pages)
{
	struct mm_task *t = mm_task_get(m, pid);

	if (!t)
		return -MM_ESRCH;
	if (pages < -1)
		return -MM_EINVAL;
	t->rss_limit_pages = pages;
	return 0;
}
