/*
 * test_swap.c — swap (engine/swap.c and its callers): the entry encoding
 * on both arches, MADV_PAGEOUT to swap and the fault back (pswpout,
 * pswpin, majflt, SwapFree, the bytes, the readahead windows and hits),
 * zero pages (zeromap), a clean
 * swapped-in page dropped without I/O, the write fault that frees the
 * slot, the swap cache shared after fork (one read for two processes),
 * slots freed by munmap and exit, mprotect keeping entries, mlock and
 * MADV_WILLNEED swapping in, swap full, reclaim under pressure swapping
 * on its own (kswapd asleep once balanced), /proc/swaps, smaps, status,
 * and a snapshot round trip of a machine with swapped pages.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG 4096ull
#define W 0x40000000ull
#define RW (MM_PROT_READ | MM_PROT_WRITE)
#define FIX (MM_MAP_PRIVATE | MM_MAP_FIXED | MM_MAP_ANONYMOUS)

static struct mm_machine *mk_swap(enum mm_arch arch, uint64_t memory,
				  uint64_t swap)
{
	struct mm_config c = tu_config(arch, memory);
	c.swap = swap;
	return tu_machine(&c);
}

static int spawn(struct mm_machine *m)
{
	int pid = 0;
	ASSERT_EQ(mm_spawn(m, "t", -1, &pid), 0);
	return pid;
}

static struct mm_mm *mm_of(struct mm_machine *m, int pid)
{
	return mm_task_mm(m, mm_task_get(m, pid));
}

static uint64_t pte_of(struct mm_machine *m, int pid, uint64_t va)
{
	uint64_t *pte = mm__pte_lookup(m, mm_of(m, pid), va);
	return pte ? *pte : 0;
}

/* n pages at W, page i holding the word i * 7 + 1 at offset 8 * i. */
static void map_pattern(struct mm_machine *m, int pid, uint64_t n)
{
	uint64_t a;
	struct mm_touch_result r;

	ASSERT_EQ(mm_mmap(m, pid, W, n * PG, RW, FIX, -1, 0, &a), 0);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t word = i * 7 + 1;
		ASSERT_EQ(mm_write(m, pid, W + i * PG + 8 * (i % 512), &word, 8, &r), 0);
	}
}

static void expect_pattern(struct mm_machine *m, int pid, uint64_t i)
{
	uint64_t word = 0;
	struct mm_touch_result r;

	ASSERT_EQ(mm_read(m, pid, W + i * PG + 8 * (i % 512), &word, 8, &r), 0);
	ASSERT_EQ_U64(word, i * 7 + 1);
}

static char *proc_text(struct mm_machine *m, int pid,
		       size_t (*fn)(const struct mm_machine *, int, char *, size_t))
{
	size_t need = fn(m, pid, NULL, 0);
	char *t = malloc(need + 1);
	fn(m, pid, t, need + 1);
	return t;
}

static uint64_t kb_field(const char *text, const char *label)
{
	const char *p = strstr(text, label);
	ASSERT(p != NULL);
	return strtoull(p + strlen(label), NULL, 10);
}

static uint64_t meminfo_kb(struct mm_machine *m, const char *label)
{
	char *t = tu_render(m, mm_proc_meminfo);
	uint64_t v = kb_field(t, label);
	free(t);
	return v;
}

TEST(swap_entry_encoding)
{
	for (int arch = 0; arch < 2; arch++) {
		struct mm_machine *m = mk_swap(arch ? MM_ARCH_I386 : MM_ARCH_X86_64,
					       64ull << 20, 16ull << 20);
		uint32_t offs[] = {1, 2, 511, 512, 4095};
		for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			for (int ex = 0; ex < 2; ex++) {
				uint64_t e = mm__swp_entry_pte(m, offs[i], ex);
				ASSERT(mm__pte_is_swap(e));
				ASSERT_EQ(mm__pte_swp_offset(m, e), offs[i]);
				ASSERT_EQ(mm__pte_swp_type(m, e), 0);
				ASSERT_EQ(mm__pte_swp_exclusive(m, e), ex);
				ASSERT_EQ(mm__pte_swp_offset(m, mm__pte_swp_clear_exclusive(m, e)),
					  offs[i]);
			}
		}
		if (arch) { /* pgtable-2level.h: offset << 9, exclusive bit 7 */
			ASSERT_EQ_U64(mm__swp_entry_pte(m, 3, true), (3ull << 9) | 0x80);
		} else {    /* pgtable_64.h: ~offset in bits 9..58, exclusive bit 3 */
			ASSERT_EQ_U64(mm__swp_entry_pte(m, 1, false), 0x07fffffffffffc00ull);
			ASSERT_EQ_U64(mm__swp_entry_pte(m, 1, true), 0x07fffffffffffc08ull);
		}
		ASSERT_EQ_U64(mm__swap_total(m), 4095);
		mm_machine_destroy(m);
	}
	/* i386's PTEs hold 23 offset bits: a larger area is truncated */
	struct mm_config c = tu_config(MM_ARCH_I386, 64ull << 20);
	c.swap = 40ull << 30;
	ASSERT_EQ(mm__swap_area_slots(&c), 1u << 23);
	c.arch = MM_ARCH_X86_64;
	ASSERT_EQ(mm__swap_area_slots(&c), 10u << 20);
}

/* MADV_PAGEOUT writes 8 dirty pages to slots 1..8.  The first fault
 * reads a full readahead window (slots 1..7, the first window being 8
 * aligned slots past the header); later windows follow the hits.  A read
 * keeps the swap-cache copy, so paging it out again needs no I/O; a write
 * fault frees the slot. */
TEST(swap_pageout_and_fault_back)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 16ull << 20);
	int pid = spawn(m);
	struct mm_mm *mm = mm_of(m, pid);
	struct mm_touch_result r;
	uint64_t total = mm__swap_total(m);
	uint64_t ev0 = m->ev.next_id;

	map_pattern(m, pid, 8);
	ASSERT_EQ_U64(meminfo_kb(m, "SwapTotal:"), total * 4);
	ASSERT_EQ(mm_madvise(m, pid, W, 8 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], 8);
	ASSERT_EQ_U64(mm->rss_anon, 0);
	ASSERT_EQ_U64(mm->rss_swap, 8);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_ANON_PAGES], 0);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_SWAPCACHED], 0);
	ASSERT_EQ_U64(m->swap_free, total - 8);
	ASSERT_EQ_U64(meminfo_kb(m, "SwapFree:"), (total - 8) * 4);
	for (uint64_t i = 0; i < 8; i++) {
		uint64_t e = pte_of(m, pid, W + i * PG);
		ASSERT(mm__pte_is_swap(e));
		ASSERT_EQ(mm__pte_swp_offset(m, e), i + 1);
		ASSERT(mm__pte_swp_exclusive(m, e));
		ASSERT_EQ(mm__swap_map(m, (uint32_t)i + 1), 1);
	}
	/* one MM_EV_SWAP_OUT for the batch */
	int outs = 0;
	for (uint64_t id = ev0; id < m->ev.next_id; id++) {
		const struct mm_event *ev = &m->ev.ring[(id - 1) % m->ev.cap];
		if (ev->type == MM_EV_SWAP_OUT) {
			outs++;
			ASSERT_EQ_U64(ev->v[0], 8);
		}
	}
	ASSERT_EQ(outs, 1);
	struct mm_translation t;
	ASSERT_EQ(mm_pagetable_walk(m, pid, W + 3 * PG, &t), 0);
	ASSERT(t.swapped && !t.mapped && t.pfn == MM_NIL);
	ASSERT_EQ_U64(t.swap_offset, 4);
	ASSERT_EQ_STR(t.kind, "swap");
	tu_check(m, "paged out");

	/* a read fault: major, the window read, the bytes back; the page
	 * stays in the swap cache (slot still used), mapped writable
	 * (exclusive), clean */
	expect_pattern(m, pid, 0);
	ASSERT_EQ_U64(mm_task_get(m, pid)->maj_flt, 1);
	ASSERT_EQ_U64(m->events[MM_PGMAJFAULT], 1);
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 7);
	ASSERT_EQ_U64(m->events[MM_SWAP_RA], 6);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_SWAPCACHED], 7);
	ASSERT_EQ_U64(meminfo_kb(m, "SwapCached:"), 28);
	ASSERT_EQ_U64(m->swap_free, total - 8);
	uint64_t e = pte_of(m, pid, W);
	ASSERT((e & MM_PTE_PRESENT) && (e & MM_PTE_RW) && !(e & MM_PTE_DIRTY));
	uint32_t pfn = (uint32_t)((e & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_swapcache));
	ASSERT_EQ(m->pages[pfn].private, 1);
	ASSERT_EQ(mm__swap_map(m, 1), MM_SWAP_HAS_CACHE);
	ASSERT_EQ(mm_page_lru(m, pfn), MM_LRU_INACTIVE_ANON);
	tu_check(m, "swapped in for read");

	/* paged out again untouched: dropped without I/O, same slot */
	ASSERT_EQ(mm_madvise(m, pid, W, PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], 8);
	ASSERT_EQ(mm__pte_swp_offset(m, pte_of(m, pid, W)), 1);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_SWAPCACHED], 6);
	/* read (a window of 4 after a window of 8, slots 2 and 3 cached
	 * already), then written through the writable PTE: dirty, written
	 * again, read back alone */
	expect_pattern(m, pid, 0);
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 8);
	uint64_t word = 99;
	ASSERT_EQ(mm_write(m, pid, W + 16, &word, 8, &r), 0);
	ASSERT_EQ_U64(r.major + r.minor, 0);
	ASSERT_EQ(mm_madvise(m, pid, W, PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], 9);
	word = 0;
	ASSERT_EQ(mm_read(m, pid, W + 16, &word, 8, &r), 0);
	ASSERT_EQ_U64(word, 99);
	ASSERT_EQ_U64(r.major, 1);
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 9);
	tu_check(m, "written after swap-in");

	/* a write fault on a page read ahead: minor (a readahead hit), the
	 * slot freed, the page out of the cache */
	uint64_t free0 = m->swap_free;
	word = 5;
	ASSERT_EQ(mm_write(m, pid, W + PG, &word, 8, &r), 0);
	ASSERT_EQ_U64(r.major, 0);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ_U64(m->events[MM_SWAP_RA_HIT], 1);
	ASSERT_EQ_U64(m->swap_free, free0 + 1);
	ASSERT_EQ(mm__swap_map(m, 2), 0);
	e = pte_of(m, pid, W + PG);
	ASSERT((e & MM_PTE_RW) && (e & MM_PTE_DIRTY));
	pfn = (uint32_t)((e & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
	ASSERT(!mm_page_test(&m->pages[pfn], MM_PG_swapcache));
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_anon_exclusive));
	/* slots 3..7 are hits; slot 8 is read (a window of 8 after 6 hits) */
	for (uint64_t i = 2; i < 8; i++)
		expect_pattern(m, pid, i);
	ASSERT_EQ_U64(mm_task_get(m, pid)->maj_flt, 4);
	ASSERT_EQ_U64(m->events[MM_SWAP_RA_HIT], 6);
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 10);
	ASSERT_EQ_U64(mm->rss_swap, 0);
	tu_check(m, "all back");
	mm_machine_destroy(m);
}

/* A page of zeros is not written (swpout_zero) nor read (swpin_zero); the
 * fault back is still major. */
TEST(swap_zero_pages)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 16ull << 20);
	int pid = spawn(m);
	uint64_t a;
	struct mm_touch_result r;

	ASSERT_EQ(mm_mmap(m, pid, W, 4 * PG, RW, FIX, -1, 0, &a), 0);
	ASSERT_EQ(mm_touch(m, pid, W, 4 * PG, MM_ACCESS_WRITE, &r), 0);
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(m->events[MM_SWPOUT_ZERO], 4);
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], 0);
	ASSERT_EQ_U64(mm_of(m, pid)->rss_swap, 4);
	ASSERT_EQ(mm_touch(m, pid, W, 4 * PG, MM_ACCESS_READ, &r), 0);
	ASSERT_EQ_U64(r.major, 1); /* the window reads all four */
	ASSERT_EQ_U64(r.minor, 3);
	ASSERT_EQ_U64(m->events[MM_SWPIN_ZERO], 4);
	ASSERT_EQ_U64(m->events[MM_SWAP_RA], 3);
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 0);
	tu_check(m, "zero pages");
	mm_machine_destroy(m);
}

/* After fork both processes' entries name the same slots (count 2); the
 * first fault reads the page, the second finds it in the swap cache (a
 * minor fault); SwapPss halves; exits free every slot. */
TEST(swap_shared_after_fork)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 16ull << 20);
	int pid = spawn(m), child;
	struct mm_reclaim_stats rs;
	uint64_t total = mm__swap_total(m);

	map_pattern(m, pid, 4);
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	/* shared pages: MADV_PAGEOUT leaves them alone, reclaim takes them */
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], 0);
	ASSERT_EQ(mm_reclaim(m, 4, -1, &rs), 0);
	ASSERT_EQ_U64(rs.reclaimed, 4);
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], 4);
	for (uint64_t i = 0; i < 4; i++) {
		uint64_t pe = pte_of(m, pid, W + i * PG), ce = pte_of(m, child, W + i * PG);
		ASSERT(mm__pte_is_swap(pe) && pe == ce);
		ASSERT(!mm__pte_swp_exclusive(m, pe));
		ASSERT_EQ(mm__swap_count(m, mm__pte_swp_offset(m, pe)), 2);
	}
	ASSERT_EQ_U64(mm_of(m, pid)->rss_swap, 4);
	ASSERT_EQ_U64(mm_of(m, child)->rss_swap, 4);
	tu_check(m, "shared swapped");

	struct mm_touch_result r;
	uint64_t word;
	ASSERT_EQ(mm_read(m, child, W, &word, 8, &r), 0);
	ASSERT_EQ_U64(word, 1);
	ASSERT_EQ_U64(r.major, 1);
	ASSERT_EQ(mm_read(m, pid, W, &word, 8, &r), 0);
	ASSERT_EQ_U64(word, 1);
	ASSERT_EQ_U64(r.major, 0);
	ASSERT_EQ_U64(r.minor, 1);
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 4); /* the child's window */
	uint64_t e = pte_of(m, pid, W);
	ASSERT_EQ_U64(pte_of(m, child, W), e);
	ASSERT(!(e & MM_PTE_RW));
	tu_check(m, "one read for two");

	/* a write in the child copies (the page was read ahead: minor); the
	 * parent's stays in the swap cache */
	word = 42;
	ASSERT_EQ(mm_write(m, child, W + PG + 8, &word, 8, &r), 0);
	ASSERT_EQ_U64(r.major, 0);
	ASSERT_EQ_U64(r.cow, 1);
	ASSERT_EQ(mm_read(m, pid, W + PG + 8, &word, 8, &r), 0);
	ASSERT_EQ_U64(word, 8);
	ASSERT_EQ_U64(r.major, 0);
	tu_check(m, "cow after swap");

	char *smaps = proc_text(m, pid, mm_proc_pid_smaps);
	ASSERT_EQ_U64(kb_field(smaps, "\nSwap:"), 8);
	ASSERT_EQ_U64(kb_field(smaps, "SwapPss:"), 4);
	free(smaps);
	char *status = proc_text(m, pid, mm_proc_pid_status);
	ASSERT_EQ_U64(kb_field(status, "VmSwap:"), 8);
	free(status);
	ASSERT_EQ(mm_exit(m, child, 0), 0);
	smaps = proc_text(m, pid, mm_proc_pid_smaps);
	ASSERT_EQ_U64(kb_field(smaps, "SwapPss:"), 8);
	free(smaps);
	tu_check(m, "child gone");
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT_EQ_U64(m->swap_free, total);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_SWAPCACHED], 0);
	tu_check(m, "both gone");
	mm_machine_destroy(m);
}

/* munmap and exit free the slots; mprotect keeps entries; MADV_DONTNEED
 * drops them; mlock and MADV_WILLNEED swap in. */
TEST(swap_entries_across_syscalls)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 16ull << 20);
	int pid = spawn(m);
	uint64_t total = mm__swap_total(m);
	struct mm_touch_result r;

	map_pattern(m, pid, 16);
	ASSERT_EQ(mm_madvise(m, pid, W, 16 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(m->swap_free, total - 16);
	ASSERT_EQ(mm_munmap(m, pid, W, 2 * PG), 0);
	ASSERT_EQ_U64(m->swap_free, total - 14);
	ASSERT_EQ(mm_madvise(m, pid, W + 2 * PG, 2 * PG, MM_MADV_DONTNEED), 0);
	ASSERT_EQ_U64(m->swap_free, total - 12);
	ASSERT_EQ_U64(mm_of(m, pid)->rss_swap, 12);
	ASSERT_EQ(mm_mprotect(m, pid, W + 4 * PG, 4 * PG, MM_PROT_READ), 0);
	ASSERT(mm__pte_is_swap(pte_of(m, pid, W + 4 * PG)));
	expect_pattern(m, pid, 4); /* slots 5..7 read: the window is 1..7 */
	ASSERT(!(pte_of(m, pid, W + 4 * PG) & MM_PTE_RW));
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 3);
	tu_check(m, "mprotect");
	/* WILLNEED: read into the swap cache, not mapped; then minor */
	ASSERT_EQ(mm_madvise(m, pid, W + 8 * PG, 4 * PG, MM_MADV_WILLNEED), 0);
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 7);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_SWAPCACHED], 7);
	ASSERT(mm__pte_is_swap(pte_of(m, pid, W + 8 * PG)));
	ASSERT_EQ(mm_touch(m, pid, W + 8 * PG, 4 * PG, MM_ACCESS_READ, &r), 0);
	ASSERT_EQ_U64(r.major, 0);
	ASSERT_EQ_U64(r.minor, 4);
	tu_check(m, "willneed");
	/* mlock populates: VM_LOCKED frees the slot, the page is mlocked */
	ASSERT_EQ(mm_mlock(m, pid, W + 12 * PG, 4 * PG), 0);
	for (uint64_t i = 12; i < 16; i++) {
		uint64_t e = pte_of(m, pid, W + i * PG);
		ASSERT(e & MM_PTE_PRESENT);
		uint32_t pfn = (uint32_t)((e & MM_PTE_PFN_MASK) >> MM_PAGE_SHIFT);
		ASSERT(mm_page_test(&m->pages[pfn], MM_PG_mlocked));
		ASSERT(!mm_page_test(&m->pages[pfn], MM_PG_swapcache));
		expect_pattern(m, pid, i);
	}
	tu_check(m, "mlock");
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT_EQ_U64(m->swap_free, total);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_SWAPCACHED], 0);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_FILE_PAGES], 0);
	tu_check(m, "exit");
	mm_machine_destroy(m);
}

/* A full swap area: the pages that find no slot stay (activated). */
TEST(swap_full)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 4 * PG);
	int pid = spawn(m);

	map_pattern(m, pid, 8);
	ASSERT_EQ(mm_madvise(m, pid, W, 8 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(m->swap_free, 0);
	ASSERT_EQ_U64(mm_of(m, pid)->rss_swap, 3);
	ASSERT_EQ_U64(mm_of(m, pid)->rss_anon, 5);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_ACTIVE_ANON], 5);
	char *t = tu_render(m, mm_proc_swaps);
	ASSERT_EQ_STR(t, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
			 "/dev/vda2                               partition\t12\t\t12\t\t-2\n");
	free(t);
	for (uint64_t i = 0; i < 8; i++)
		expect_pattern(m, pid, i);
	tu_check(m, "full");
	mm_machine_destroy(m);
	/* no swap: an empty /proc/swaps */
	m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 0);
	t = tu_render(m, mm_proc_swaps);
	ASSERT_EQ_STR(t, "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
	free(t);
	mm_machine_destroy(m);
}

/* A small machine with swap: writing more than memory makes reclaim swap
 * anonymous pages out on its own (no OOM kill), reading back swaps them in
 * with their bytes; kswapd goes to sleep once the node is balanced. */
TEST(swap_under_pressure)
{
	for (int arch = 0; arch < 2; arch++) {
		struct mm_machine *m = mk_swap(arch ? MM_ARCH_I386 : MM_ARCH_X86_64,
					       32ull << 20, 64ull << 20);
		int pid = spawn(m);
		uint64_t n = (40ull << 20) / PG;

		map_pattern(m, pid, n);
		ASSERT_EQ_U64(m->events[MM_OOM_KILL], 0);
		ASSERT(m->events[MM_PSWPOUT] > 0);
		ASSERT(m->events[MM_PGSTEAL_ANON] > 0);
		tu_check(m, "filled");
		for (uint64_t i = 0; i < n; i++)
			expect_pattern(m, pid, i);
		ASSERT(m->events[MM_PSWPIN] > 0);
		ASSERT_EQ_U64(m->events[MM_OOM_KILL], 0);
		struct mm_mm *mm = mm_of(m, pid);
		ASSERT_EQ_U64(mm->rss_anon + mm->rss_swap, n);
		struct mm_tick_result tr;
		mm_tick(m, 10000, &tr);
		for (int nid = 0; nid < m->nr_nodes; nid++)
			ASSERT(!m->nodes[nid].kswapd_awake);
		tu_check(m, "read back");
		mm_machine_destroy(m);
	}
}

/* The snapshot carries the swap map, the swap cache, the stored bytes and
 * the entries: the loaded machine has the same digest and reads the same
 * bytes back. */
TEST(swap_snapshot_round_trip)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 16ull << 20);
	int pid = spawn(m), child;

	map_pattern(m, pid, 600);
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	ASSERT_EQ(mm_madvise(m, child, W, 600 * PG, MM_MADV_PAGEOUT), 0);
	struct mm_reclaim_stats rs;
	ASSERT_EQ(mm_reclaim(m, 300, -1, &rs), 0);
	expect_pattern(m, child, 7); /* one in the swap cache */
	ASSERT(m->nodes[0].vm_stat[MM_NR_SWAPCACHED] > 0);
	tu_check(m, "before");
	struct mm_bytes img;
	ASSERT_EQ(mm_snapshot_save(m, &img), 0);
	struct mm_machine *l;
	char err[200];
	ASSERT_EQ(mm_snapshot_load(img.p, img.len, &l, err, sizeof(err)), 0);
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(m, d0);
	mm_digest(l, d1);
	ASSERT_EQ_STR(d0, d1);
	tu_check(l, "loaded");
	ASSERT_EQ_U64(l->swap_free, m->swap_free);
	for (uint64_t i = 0; i < 600; i += 13) {
		expect_pattern(l, pid, i);
		expect_pattern(l, child, i);
		expect_pattern(m, pid, i);
		expect_pattern(m, child, i);
	}
	mm_digest(m, d0);
	mm_digest(l, d1);
	ASSERT_EQ_STR(d0, d1);
	free(img.p);
	mm_machine_destroy(l);
	mm_machine_destroy(m);
}

/* ---- the checker: one corruption per swap invariant ---------------------- */

static void expect(struct mm_machine *m, const char *inv)
{
	struct mm_violation v[16];
	int n = mm_check(m, v, 16);
	for (int i = 0; i < n && i < 16; i++)
		if (!strcmp(v[i].invariant, inv))
			return;
	for (int i = 0; i < n && i < 16; i++)
		fprintf(stderr, "    %s: %s\n", v[i].invariant, v[i].detail);
	th_fail(__FILE__, __LINE__, "expected %s, got %d violations", inv, n);
}

TEST(check_swap_corruption)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 16ull << 20);
	int pid = spawn(m);
	struct mm_mm *mm = mm_of(m, pid);

	map_pattern(m, pid, 16);
	ASSERT_EQ(mm_madvise(m, pid, W, 16 * PG, MM_MADV_PAGEOUT), 0);
	expect_pattern(m, pid, 0); /* slots 1..7 cached, slot 1 count 0 */
	tu_check(m, "before");
	uint64_t *pte = mm__pte_lookup(m, mm, W + PG);
	uint64_t e = *pte;
	struct mm_swap_cluster *c = &m->swap_clusters[0];

	/* swap-entry: an entry naming a free slot, then one past the area */
	*pte = mm__swp_entry_pte(m, 100, false);
	expect(m, "swap-entry");
	*pte = mm__swp_entry_pte(m, m->swap_slots + 5, false);
	expect(m, "swap-entry");
	*pte = e;
	tu_check(m, "entry restored");
	/* swap-count: the map disagrees with the entries; rss_swap too */
	c->map[2]++;
	expect(m, "swap-count");
	c->map[2]--;
	mm->rss_swap++;
	expect(m, "swap-count");
	mm->rss_swap--;
	tu_check(m, "count restored");
	/* swap-cache: HAS_CACHE without a cached page; a cached page whose
	 * slot forgot it; PG_swapcache on a page the cache does not hold;
	 * NR_SWAPCACHE off */
	c->map[10] |= MM_SWAP_HAS_CACHE;
	expect(m, "swap-cache");
	c->map[10] &= ~MM_SWAP_HAS_CACHE;
	uint32_t pfn = c->cache[1];
	ASSERT(pfn != MM_NIL);
	c->cache[1] = MM_NIL;
	expect(m, "swap-cache");
	c->cache[1] = pfn;
	m->pages[pfn].private = 3;
	expect(m, "swap-cache");
	m->pages[pfn].private = 1;
	m->nodes[0].vm_stat[MM_NR_SWAPCACHED]++;
	expect(m, "swap-cache");
	m->nodes[0].vm_stat[MM_NR_SWAPCACHED]--;
	tu_check(m, "cache restored");
	/* swap-free: the free count, a cluster's used count, bytes on a free
	 * slot */
	m->swap_free--;
	expect(m, "swap-free");
	m->swap_free++;
	c->used++;
	expect(m, "swap-free");
	c->used--;
	c->data[50] = malloc(PG);
	expect(m, "swap-free");
	free(c->data[50]);
	c->data[50] = NULL;
	tu_check(m, "free restored");
	mm_machine_destroy(m);
}

/* The digest covers the swap map, the swap cache and the stored bytes. */
TEST(digest_covers_swap)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 16ull << 20);
	int pid = spawn(m);
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];

	map_pattern(m, pid, 4);
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_PAGEOUT), 0);
	mm_digest(m, d0);
	struct mm_swap_cluster *c = &m->swap_clusters[0];
	c->data[2][100] ^= 1;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	c->data[2][100] ^= 1;
	c->map[2]++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	c->map[2]--;
	m->swap_next++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	m->swap_next--;
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	mm_machine_destroy(m);
}

/* kswapd on a machine of anonymous memory only: woken at low, it swaps
 * pages out (every page it steals is one pswpout: each holds bytes) until
 * a zone is above its high watermark, then sleeps. */
TEST(swap_kswapd_balances_with_swap)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 64ull << 20);
	int pid = spawn(m);
	uint64_t a, i = 0;
	struct mm_touch_result r;

	ASSERT_EQ(mm_mmap(m, pid, W, 64ull << 20, RW, FIX, -1, 0, &a), 0);
	while (!m->nodes[0].kswapd_awake) {
		uint64_t word = i * 7 + 1;
		ASSERT_EQ(mm_write(m, pid, W + i * PG + 8 * (i % 512), &word, 8, &r), 0);
		i++;
	}
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], 0);
	struct mm_tick_result tr;
	mm_tick(m, 1000, &tr);
	ASSERT(!m->nodes[0].kswapd_awake);
	ASSERT_EQ_U64(tr.sleeps, 1);
	ASSERT(tr.r.reclaimed > 0);
	ASSERT_EQ_U64(m->events[MM_PGSTEAL_KSWAPD], tr.r.reclaimed);
	ASSERT_EQ_U64(m->events[MM_PGSTEAL_ANON], tr.r.reclaimed);
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], tr.r.reclaimed);
	ASSERT_EQ_U64(mm_of(m, pid)->rss_swap, tr.r.reclaimed);
	ASSERT_EQ_U64(m->swap_free, mm__swap_total(m) - tr.r.reclaimed);
	bool above_high = false;
	for (int z = 0; z < m->nr_zone_types; z++) {
		const struct mm_zone *zone = &m->nodes[0].zones[z];
		above_high |= zone->managed &&
			      (uint64_t)zone->vm_stat[MM_NR_FREE_PAGES] >
				      mm_wmark_pages(zone, MM_WMARK_HIGH);
	}
	ASSERT(above_high);
	for (uint64_t k = 0; k < i; k++)
		expect_pattern(m, pid, k);
	ASSERT(m->events[MM_PSWPIN] >= tr.r.reclaimed);
	tu_check(m, "balanced");
	mm_machine_destroy(m);
}

/* The private copies of a MAP_PRIVATE file mapping are anonymous: they go
 * to swap and fault back (before the file's own page), the file untouched. */
TEST(swap_private_file_copies)
{
	struct mm_machine *m = mk_swap(MM_ARCH_X86_64, 64ull << 20, 16ull << 20);
	int pid = spawn(m), id;
	uint64_t a;
	struct mm_touch_result r;
	uint8_t data[4 * PG];

	memset(data, 'f', sizeof(data));
	ASSERT_EQ(mm_file_create(m, "f", sizeof(data), data, sizeof(data), &id), 0);
	ASSERT_EQ(mm_mmap(m, pid, W, 4 * PG, RW, MM_MAP_PRIVATE | MM_MAP_FIXED, id,
			  0, &a), 0);
	ASSERT_EQ(mm_write(m, pid, W + PG + 10, "copy", 4, &r), 0);
	ASSERT_EQ_U64(mm_of(m, pid)->rss_anon, 1);
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(mm_of(m, pid)->rss_swap, 1);
	ASSERT_EQ_U64(m->events[MM_PSWPOUT], 1);
	ASSERT(mm__pte_is_swap(pte_of(m, pid, W + PG)));
	tu_check(m, "copy swapped");
	char got[6];
	ASSERT_EQ(mm_read(m, pid, W + PG + 8, got, 6, &r), 0);
	ASSERT(!memcmp(got, "ffcopy", 6));
	ASSERT_EQ_U64(r.major, 1);
	ASSERT_EQ_U64(m->events[MM_PSWPIN], 1);
	ASSERT_EQ(mm_read(m, pid, W + 2 * PG, got, 2, &r), 0);
	ASSERT(!memcmp(got, "ff", 2));
	tu_check(m, "copy back");
	mm_machine_destroy(m);
}
