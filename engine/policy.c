/*
 * policy.c — experiment mode: the textbook page-replacement policies over
 * a reference string (the `trace` operation, SPEC §3).
 *
 * A trace is a list of page indices from a base address.  Every reference
 * is a real user access: a page whose PTE is present is a hit (the MMU sets
 * its accessed and dirty bits); any other is a miss and goes through the
 * fault path.  When the process has rss_limit_pages set, at most that many
 * of the traced pages stay resident: a miss with the limit reached first
 * evicts one traced page chosen by the machine's page_policy (its PTE is
 * cleared and an anonymous page freed, not swapped — the experiment
 * measures residency, not data).  A miss maps only the referenced page:
 * fault-around is off for the trace's own accesses:
 *
 *   fifo    the page loaded first (frames in a circle, the hand on the
 *           oldest)
 *   lru     the page referenced least recently (a recency list)
 *   opt     the page whose next reference is farthest; among pages never
 *           referenced again, the one loaded first (Belady; next uses are
 *           precomputed, the candidates kept in a max-heap)
 *   clock   second chance with the PTE's accessed bit: the hand clears set
 *           bits and evicts the first page found clear; "linux" is clock,
 *           the approximation Linux's LRU lists make of LRU
 *   random  uniformly, from the machine's seeded RNG
 *
 * Traced pages already resident when the trace starts count as loaded
 * before it, in ascending page order (and, past the limit, the highest are
 * evicted first).  The per-trace tables are host scratch memory, freed at
 * the end; only the RNG (random) and the pages themselves are state.
 */
#include "engine/internal.h"

#include <stdlib.h>

#define MM_NONE UINT32_MAX

struct mm__trace {
	struct mm_machine *m;
	struct mm_task *t;
	struct mm_mm *mm;
	uint64_t addr;
	enum mm_page_policy policy;
	uint32_t nslots;
	uint64_t *page;           /* slot -> page index */
	uint32_t *ref;            /* reference -> slot */
	uint8_t *resident;        /* slot */
	uint32_t nres, limit;
	/* fifo, clock, random: frame -> slot; where: slot -> frame */
	uint32_t *frame, *where, nframes, hand;
	/* lru: recency list, head = most recent */
	uint32_t *prev, *next, head, tail;
	/* opt */
	uint32_t *next_use;       /* reference -> next reference of its slot */
	uint64_t *key;            /* slot -> heap key */
	uint32_t *heap, *pos, nheap;
	uint64_t *loaded;         /* slot -> load sequence number */
	uint64_t loads;
};

static uint64_t mm__slot_va(const struct mm__trace *x, uint32_t s)
{
	return x->addr + (x->page[s] << MM_PAGE_SHIFT);
}

/* ---- opt: a max-heap of resident slots by key ---------------------------- */

static void mm__heap_swap(struct mm__trace *x, uint32_t a, uint32_t b)
{
	uint32_t sa = x->heap[a], sb = x->heap[b];
	x->heap[a] = sb;
	x->heap[b] = sa;
	x->pos[sb] = a;
	x->pos[sa] = b;
}

static void mm__heap_up(struct mm__trace *x, uint32_t i)
{
	while (i && x->key[x->heap[(i - 1) / 2]] < x->key[x->heap[i]]) {
		mm__heap_swap(x, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void mm__heap_down(struct mm__trace *x, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, big = i;
		if (l < x->nheap && x->key[x->heap[l]] > x->key[x->heap[big]])
			big = l;
		if (r < x->nheap && x->key[x->heap[r]] > x->key[x->heap[big]])
			big = r;
		if (big == i)
			return;
		mm__heap_swap(x, i, big);
		i = big;
	}
}

/* The key of a slot whose next reference is nu: that position, or, never
 * referenced again, above every position and larger the earlier it was
 * loaded. */
static uint64_t mm__opt_key(const struct mm__trace *x, uint32_t s,
			    uint32_t nu)
{
	return nu != MM_NONE ? nu : (1ull << 62) - x->loaded[s];
}

/* ---- the policies ------------------------------------------------------------ */

/* A page became resident (loaded) by reference i (MM_NONE: before the
 * trace, its first reference being first). */
static void mm__policy_load(struct mm__trace *x, uint32_t s, uint32_t nu,
			    uint32_t at_frame)
{
	x->resident[s] = 1;
	x->nres++;
	switch (x->policy) {
	case MM_POLICY_LRU:
		x->prev[s] = MM_NONE;
		x->next[s] = x->head;
		if (x->head != MM_NONE)
			x->prev[x->head] = s;
		else
			x->tail = s;
		x->head = s;
		break;
	case MM_POLICY_OPT:
		x->loaded[s] = x->loads++;
		x->key[s] = mm__opt_key(x, s, nu);
		x->heap[x->nheap] = s;
		x->pos[s] = x->nheap;
		mm__heap_up(x, x->nheap++);
		break;
	default: /* fifo, clock, random: the victim's frame, or a new one */
		if (at_frame == MM_NONE) {
			at_frame = x->nframes++;
		} else if (x->policy != MM_POLICY_RANDOM) {
			x->hand = (at_frame + 1) % x->nframes;
		}
		x->frame[at_frame] = s;
		x->where[s] = at_frame;
		break;
	}
}

/* Reference i hit resident slot s. */
static void mm__policy_hit(struct mm__trace *x, uint32_t s, uint32_t i)
{
	if (x->policy == MM_POLICY_LRU && x->head != s) {
		/* move to the head */
		x->next[x->prev[s]] = x->next[s];
		if (x->next[s] != MM_NONE)
			x->prev[x->next[s]] = x->prev[s];
		else
			x->tail = x->prev[s];
		x->prev[s] = MM_NONE;
		x->next[s] = x->head;
		x->prev[x->head] = s;
		x->head = s;
	} else if (x->policy == MM_POLICY_OPT) {
		x->key[s] = mm__opt_key(x, s, x->next_use[i]);
		mm__heap_up(x, x->pos[s]); /* keys only grow */
	}
}

/* Chooses, unmaps and forgets a victim; returns the frame it freed (fifo,
 * clock, random) or MM_NONE. */
static uint32_t mm__policy_evict(struct mm__trace *x)
{
	uint32_t s, f = MM_NONE;

	switch (x->policy) {
	case MM_POLICY_LRU:
		s = x->tail;
		x->tail = x->prev[s];
		if (x->tail != MM_NONE)
			x->next[x->tail] = MM_NONE;
		else
			x->head = MM_NONE;
		break;
	case MM_POLICY_OPT:
		s = x->heap[0];
		mm__heap_swap(x, 0, --x->nheap);
		mm__heap_down(x, 0);
		break;
	case MM_POLICY_RANDOM:
		f = (uint32_t)(mm_env_random(&x->m->env) % x->nframes);
		s = x->frame[f];
		break;
	case MM_POLICY_FIFO:
		f = x->hand;
		s = x->frame[f];
		break;
	default: /* clock (and linux): at most two sweeps */
		for (;;) {
			s = x->frame[x->hand];
			uint64_t *pte = mm__pte_lookup(x->m, x->mm, mm__slot_va(x, s));
			if (!pte || !(*pte & MM_PTE_ACCESSED))
				break;
			*pte &= ~MM_PTE_ACCESSED;
			x->hand = (x->hand + 1) % x->nframes;
		}
		f = x->hand;
		break;
	}
	x->resident[s] = 0;
	x->nres--;
	mm__unmap_one(x->m, x->mm, mm__slot_va(x, s), x->t->cpu);
	return f;
}

/* ---- set-up ---------------------------------------------------------------- */

static uint64_t mm__mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	return k ^ (k >> 33);
}

/* Dense slot numbers for the distinct pages, by first reference. */
static int mm__trace_slots(struct mm__trace *x, const uint64_t *pages, size_t n)
{
	uint32_t cap = 16;
	while (cap < 2 * n)
		cap <<= 1;
	uint32_t *table = malloc(cap * sizeof(*table));
	x->page = malloc(MM_MAX(n, 1) * sizeof(*x->page));
	x->ref = malloc(MM_MAX(n, 1) * sizeof(*x->ref));
	if (!table || !x->page || !x->ref) {
		free(table);
		return -MM_ENOMEM;
	}
	for (uint32_t i = 0; i < cap; i++)
		table[i] = MM_NONE;
	for (size_t i = 0; i < n; i++) {
		uint32_t h = (uint32_t)mm__mix(pages[i]) & (cap - 1);
		while (table[h] != MM_NONE && x->page[table[h]] != pages[i])
			h = (h + 1) & (cap - 1);
		if (table[h] == MM_NONE) {
			table[h] = x->nslots;
			x->page[x->nslots++] = pages[i];
		}
		x->ref[i] = table[h];
	}
	free(table);
	return 0;
}

static int mm__cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void mm__trace_free(struct mm__trace *x)
{
	free(x->page);
	free(x->ref);
	free(x->resident);
	free(x->frame);
	free(x->where);
	free(x->prev);
	free(x->next);
	free(x->next_use);
	free(x->key);
	free(x->heap);
	free(x->pos);
	free(x->loaded);
}

/* Allocates the policy's tables and enters the pages already resident. */
static int mm__trace_setup(struct mm__trace *x, size_t n)
{
	uint32_t k = x->nslots ? x->nslots : 1;

	x->resident = calloc(k, 1);
	x->frame = malloc(k * sizeof(uint32_t));
	x->where = malloc(k * sizeof(uint32_t));
	x->head = x->tail = MM_NONE;
	if (!x->resident || !x->frame || !x->where)
		return -MM_ENOMEM;
	uint32_t *first = NULL;
	if (x->policy == MM_POLICY_LRU) {
		x->prev = malloc(k * sizeof(uint32_t));
		x->next = malloc(k * sizeof(uint32_t));
		if (!x->prev || !x->next)
			return -MM_ENOMEM;
	} else if (x->policy == MM_POLICY_OPT) {
		x->next_use = malloc(MM_MAX(n, 1) * sizeof(uint32_t));
		x->key = malloc(k * sizeof(uint64_t));
		x->heap = malloc(k * sizeof(uint32_t));
		x->pos = malloc(k * sizeof(uint32_t));
		x->loaded = malloc(k * sizeof(uint64_t));
		first = x->where; /* scratch until the loads below */
		if (!x->next_use || !x->key || !x->heap || !x->pos || !x->loaded)
			return -MM_ENOMEM;
		for (uint32_t s = 0; s < x->nslots; s++)
			first[s] = MM_NONE;
		for (size_t i = n; i-- > 0;) {
			x->next_use[i] = first[x->ref[i]];
			first[x->ref[i]] = (uint32_t)i;
		}
	}
	/* Resident already: loaded before the trace, ascending page order. */
	uint64_t *order = malloc(k * sizeof(uint64_t));
	if (!order)
		return -MM_ENOMEM;
	uint32_t nr = 0;
	for (uint32_t s = 0; s < x->nslots; s++) {
		uint64_t *pte = mm__pte_lookup(x->m, x->mm, mm__slot_va(x, s));
		if (pte && (*pte & MM_PTE_PRESENT))
			order[nr++] = (x->page[s] << 32) | s; /* pages < 2^32 */
	}
	qsort(order, nr, sizeof(*order), mm__cmp_u64);
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t s = (uint32_t)order[i];
		if (i < x->limit) {
			uint32_t nu = first ? first[s] : MM_NONE;
			mm__policy_load(x, s, nu, MM_NONE);
		} else {
			mm__unmap_one(x->m, x->mm, mm__slot_va(x, s), x->t->cpu);
		}
	}
	free(order);
	return 0;
}

/* Checks every traced page lies in one VMA's reach of 32-bit indices. */
static bool mm__trace_pages_ok(uint64_t addr, const uint64_t *pages, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (pages[i] > UINT32_MAX ||
		    addr + (pages[i] << MM_PAGE_SHIFT) < addr)
			return false;
	return true;
}

int mm_trace(struct mm_machine *m, int pid, uint64_t addr,
	     const uint64_t *pages, size_t n, enum mm_access access,
	     char *seq, uint64_t *resident, struct mm_trace_result *out)
{
	struct mm_task *t = mm_task_get(m, pid);
	struct mm__trace x = {.m = m, .t = t, .addr = addr};
	int rc;

	memset(out, 0, sizeof(*out));
	seq[0] = 0;
	if (!t)
		return -MM_ESRCH;
	if ((access != MM_ACCESS_READ && access != MM_ACCESS_WRITE &&
	     access != MM_ACCESS_EXEC) || (addr & (MM_PAGE_SIZE - 1)) ||
	    n >= UINT32_MAX || !mm__trace_pages_ok(addr, pages, n))
		return -MM_EINVAL;
	x.mm = mm_task_mm(m, t);
	x.policy = m->cfg.page_policy == MM_POLICY_LINUX ? MM_POLICY_CLOCK
							 : m->cfg.page_policy;
	x.limit = t->rss_limit_pages < 0 ? UINT32_MAX
		  : (uint32_t)MM_MIN(t->rss_limit_pages, (int64_t)UINT32_MAX);
	rc = mm__trace_slots(&x, pages, n);
	if (!rc)
		rc = mm__trace_setup(&x, n);
	if (rc)
		goto out;
	mm__oom_enter(m, pid);
	size_t i;
	for (i = 0; i < n; i++) {
		uint32_t s = x.ref[i], f = MM_NONE;
		uint64_t va = mm__slot_va(&x, s);
		uint64_t *pte = mm__pte_lookup(m, x.mm, va);
		bool miss = !pte || !(*pte & MM_PTE_PRESENT);
		if (!miss) {
			MM_ASSERT(x.resident[s]);
			seq[i] = 'H';
			out->hits++;
			mm__policy_hit(&x, s, (uint32_t)i);
			/* the MMU's part; a fault only for protection */
			if (access == MM_ACCESS_READ ||
			    (access == MM_ACCESS_WRITE && (*pte & MM_PTE_RW))) {
				*pte |= MM_PTE_ACCESSED |
					(access == MM_ACCESS_WRITE ? MM_PTE_DIRTY : 0);
				continue;
			}
		} else {
			seq[i] = 'M';
			out->misses++;
			if (x.nres >= x.limit && x.nres)
				f = mm__policy_evict(&x);
		}
		/* the textbook MMU loads exactly the referenced page: no
		 * fault-around (file and shmem mappings) during a trace */
		uint32_t around = m->cfg.fault_around_bytes;
		int code;
		m->cfg.fault_around_bytes = MM_PAGE_SIZE;
		rc = mm__access(m, t, va, access, &code);
		m->cfg.fault_around_bytes = around;
		if (rc == -MM_EFAULT || rc == -MM_ENXIO) {
			out->sig = rc == -MM_EFAULT ? MM_SIGSEGV : MM_SIGBUS;
			rc = 0;
		}
		if (rc < 0 || out->sig) {
			i++;
			break;
		}
		rc = 0;
		if (miss && x.limit == 0)
			mm__unmap_one(m, x.mm, va, t->cpu);
		else if (miss)
			mm__policy_load(&x, s, x.next_use ? x.next_use[i] : MM_NONE,
					f);
	}
	seq[i] = 0;
	if (mm__oom_leave(m)) {
		out->sig = MM_SIGKILL;
		rc = 0;
	}
	for (uint32_t s = 0; s < x.nslots; s++)
		if (x.resident[s])
			resident[out->nr_resident++] = x.page[s];
	qsort(resident, out->nr_resident, sizeof(*resident), mm__cmp_u64);
	if (out->sig)
		mm_exit(m, pid, 128 + out->sig);
out:
	mm__trace_free(&x);
	return rc;
}
