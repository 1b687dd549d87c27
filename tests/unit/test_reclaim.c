/*
 * test_reclaim.c — page frame reclaim (engine/reclaim.c), one rule at a
 * time: where new pages enter the LRU, promotion after two references,
 * second chance on the inactive list, demotion from the active list,
 * dirty pages written back before they are freed, kswapd woken at the low
 * watermark and asleep at high (with its exact batches), direct reclaim
 * below min, the OOM killer's choice, swappiness at its extremes, mlocked
 * pages on the unevictable list, a working set surviving a streaming
 * read; workingset detection (refault distance, restore, shadow entries
 * removed, the shadow-node shrinker, a thrashing set protected) and
 * pgrotated, with exact counters; the checker's LRU and shadow-entry
 * invariants with a corruption each; and a randomized run with the
 * checker after every step, twice, same digest.  The pressure comes from
 * a few helpers: read_pages() (page cache), anon_pages() (anonymous
 * memory), fill_below_low() and run_kswapd().
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdlib.h>
#include <string.h>

#define PG 4096ull
#define W 0x100000000ull
#define RW (MM_PROT_READ | MM_PROT_WRITE)
#define FIX (MM_MAP_PRIVATE | MM_MAP_FIXED | MM_MAP_ANONYMOUS)

static struct mm_machine *mk(uint64_t memory)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, memory);
	return tu_machine(&c);
}

static int spawn(struct mm_machine *m)
{
	int pid = 0;
	ASSERT_EQ(mm_spawn(m, "t", -1, &pid), 0);
	return pid;
}

static int64_t nr(const struct mm_machine *m, int lru)
{
	return m->nodes[0].vm_stat[MM_NR_INACTIVE_ANON + lru];
}

static uint64_t read_pages(struct mm_machine *m, int id, uint64_t from,
			   uint64_t n);

/* A file of pages pages, read once through read() into the cache. */
static int cached_file(struct mm_machine *m, const char *name, uint64_t pages)
{
	int id;
	ASSERT_EQ(mm_file_create(m, name, pages * PG, NULL, 0, &id), 0);
	read_pages(m, id, 0, pages);
	return id;
}

static uint32_t file_pfn(const struct mm_machine *m, int id, uint64_t idx)
{
	return mm__xa_load(m, mm_file_get(m, id), idx);
}

static void read_page(struct mm_machine *m, int id, uint64_t idx)
{
	uint8_t b[8];
	uint64_t got, major;
	ASSERT_EQ(mm_file_read(m, id, idx * PG, sizeof(b), b, &got, &major), 0);
}

/* Memory pressure from the page cache: reads pages [from, from + n) of
 * file id once, in 64 KiB reads (each a filemap_read with readahead);
 * the pages that had to come from the disk. */
static uint64_t read_pages(struct mm_machine *m, int id, uint64_t from,
			   uint64_t n)
{
	static uint8_t buf[1 << 16];
	uint64_t majors = 0;

	for (uint64_t off = 0; off < n * PG; off += sizeof(buf)) {
		uint64_t got, major;
		ASSERT_EQ(mm_file_read(m, id, from * PG + off,
				       MM_MIN(sizeof(buf), n * PG - off), buf,
				       &got, &major), 0);
		majors += major;
	}
	return majors;
}

/* Anonymous memory: n pages at addr of pid, mapped and written. */
static void anon_pages(struct mm_machine *m, int pid, uint64_t addr,
		       uint64_t n)
{
	uint64_t a;
	struct mm_touch_result r;

	ASSERT_EQ(mm_mmap(m, pid, addr, n * PG, RW, FIX, -1, 0, &a), 0);
	ASSERT_EQ(mm_touch(m, pid, addr, n * PG, MM_ACCESS_WRITE, &r), 0);
}

/* A shared mapping of file id at addr (MAP_FIXED). */
static void map_shared(struct mm_machine *m, int pid, uint64_t addr,
		       uint64_t len, int prot, int id)
{
	uint64_t a;

	ASSERT_EQ(mm_mmap(m, pid, addr, len, prot, MM_MAP_SHARED | MM_MAP_FIXED,
			  id, 0, &a), 0);
}

/* kswapd's ticks until it sleeps again. */
static uint64_t run_kswapd(struct mm_machine *m)
{
	struct mm_tick_result tr;
	uint64_t ticks = 0;

	while (m->nodes[0].kswapd_awake) {
		mm_tick(m, 1, &tr);
		ASSERT(++ticks < 100000);
	}
	return ticks;
}

/* New anonymous pages enter the inactive anon list at its head; freeing
 * takes them off; file pages go to the file list. */
TEST(lru_new_pages_enter_inactive)
{
	struct mm_machine *m = mk(64ull << 20);
	int pid = spawn(m);

	anon_pages(m, pid, W, 8);
	ASSERT_EQ(nr(m, MM_LRU_INACTIVE_ANON), 8);
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_ANON), 0);
	struct mm_translation t;
	ASSERT_EQ(mm_pagetable_walk(m, pid, W + 7 * PG, &t), 0);
	ASSERT_EQ(m->nodes[0].lru[MM_LRU_INACTIVE_ANON].head, t.pfn);
	ASSERT_EQ(mm_page_lru(m, t.pfn), MM_LRU_INACTIVE_ANON);
	int id = cached_file(m, "f", 4);
	ASSERT_EQ(nr(m, MM_LRU_INACTIVE_FILE), 4);
	ASSERT_EQ(mm_munmap(m, pid, W, 8 * PG), 0);
	ASSERT_EQ(nr(m, MM_LRU_INACTIVE_ANON), 0);
	ASSERT_EQ(mm_page_lru(m, t.pfn), -1);
	ASSERT(file_pfn(m, id, 0) != MM_NIL);
	tu_check(m, "lru");
	mm_machine_destroy(m);
}

/* read() references a page: the first marks it (PG_referenced), the
 * second activates it (folio_mark_accessed): pgactivate. */
TEST(lru_promotion_after_two_references)
{
	struct mm_machine *m = mk(64ull << 20);
	int id;
	ASSERT_EQ(mm_file_create(m, "f", 4 * PG, NULL, 0, &id), 0);
	read_page(m, id, 0);
	uint32_t pfn = file_pfn(m, id, 0);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_referenced));
	ASSERT_EQ(mm_page_lru(m, pfn), MM_LRU_INACTIVE_FILE);
	uint64_t act = m->events[MM_PGACTIVATE];
	read_page(m, id, 0);
	ASSERT_EQ(mm_page_lru(m, pfn), MM_LRU_ACTIVE_FILE);
	ASSERT(!mm_page_test(&m->pages[pfn], MM_PG_referenced));
	ASSERT_EQ_U64(m->events[MM_PGACTIVATE], act + 1);
	tu_check(m, "promotion");
	mm_machine_destroy(m);
}

/* A mapped page whose PTE was accessed since the last scan is kept and
 * rotated (second chance: PG_referenced set, the accessed bit harvested);
 * accessed again by the next scan, it is activated.  Unreferenced pages
 * are unmapped through the reverse map and freed. */
TEST(lru_second_chance_then_activation)
{
	struct mm_machine *m = mk(64ull << 20);
	int pid = spawn(m), id;
	struct mm_touch_result r;
	struct mm_reclaim_stats st;

	ASSERT_EQ(mm_file_create(m, "f", 3 * PG, NULL, 0, &id), 0);
	map_shared(m, pid, W, 3 * PG, MM_PROT_READ, id);
	ASSERT_EQ(mm_touch(m, pid, W, 3 * PG, MM_ACCESS_READ, &r), 0);
	uint32_t p[3];
	struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));
	for (int i = 0; i < 3; i++) {
		p[i] = file_pfn(m, id, (uint64_t)i);
		if (i != 1)
			*mm__pte_lookup(m, mm, W + (uint64_t)i * PG) &= ~MM_PTE_ACCESSED;
	}
	ASSERT_EQ(m->nodes[0].lru[MM_LRU_INACTIVE_FILE].tail, p[0]);
	ASSERT_EQ(mm_reclaim(m, 1, 0, &st), 0);
	/* priority 1 scans the tail (page 0: freed), priority 0 the other
	 * two: page 1 rotates, page 2 is freed */
	ASSERT_EQ_U64(st.reclaimed, 2);
	ASSERT_EQ_U64(st.scanned, 3);
	ASSERT_EQ(file_pfn(m, id, 0), MM_NIL);
	ASSERT_EQ(file_pfn(m, id, 2), MM_NIL);
	ASSERT_EQ(mm_page_lru(m, p[1]), MM_LRU_INACTIVE_FILE);
	ASSERT(mm_page_test(&m->pages[p[1]], MM_PG_referenced));
	ASSERT_EQ(*mm__pte_lookup(m, mm, W + PG) & MM_PTE_ACCESSED, 0);
	ASSERT_EQ(m->pages[p[1]].mapcount, 1);
	/* touched again: the next scan activates it (a page read once sits
	 * above it, so one page is freed and reclaim stops there) */
	ASSERT_EQ(mm_touch(m, pid, W + PG, PG, MM_ACCESS_READ, &r), 0);
	int g = cached_file(m, "g", 1);
	uint64_t act = m->events[MM_PGACTIVATE];
	ASSERT_EQ(mm_reclaim(m, 1, 0, &st), 0);
	ASSERT_EQ_U64(st.reclaimed, 1);
	ASSERT_EQ(file_pfn(m, g, 0), MM_NIL);
	ASSERT_EQ(mm_page_lru(m, p[1]), MM_LRU_ACTIVE_FILE);
	ASSERT_EQ_U64(m->events[MM_PGACTIVATE], act + 1);
	ASSERT_EQ(m->pages[p[1]].mapcount, 1);
	tu_check(m, "second chance");
	mm_machine_destroy(m);
}

/* When the inactive file list is low, shrink_active_list demotes active
 * pages (pgdeactivate, PG_workingset), clearing their accessed bits. */
TEST(lru_demotion_of_active_pages)
{
	struct mm_machine *m = mk(64ull << 20);
	int id;
	struct mm_reclaim_stats st;

	ASSERT_EQ(mm_file_create(m, "f", 64 * PG, NULL, 0, &id), 0);
	for (int k = 0; k < 2; k++)
		for (uint64_t i = 0; i < 64; i++)
			read_page(m, id, i);
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_FILE), 64);
	ASSERT_EQ(nr(m, MM_LRU_INACTIVE_FILE), 0);
	uint64_t deact = m->events[MM_PGDEACTIVATE];
	ASSERT_EQ(mm_reclaim(m, 8, 0, &st), 0);
	ASSERT(m->events[MM_PGDEACTIVATE] > deact);
	ASSERT(m->events[MM_PGREFILL] >= m->events[MM_PGDEACTIVATE] - deact);
	ASSERT(st.reclaimed >= 8);
	/* every page scanned off the active list was marked workingset and
	 * moved to the inactive one; the freed ones came from there */
	ASSERT_EQ_U64(m->events[MM_PGDEACTIVATE] - deact,
		      (uint64_t)nr(m, MM_LRU_INACTIVE_FILE) + st.reclaimed);
	for (uint32_t pfn = m->nodes[0].lru[MM_LRU_INACTIVE_FILE].head;
	     pfn != MM_NIL; pfn = m->pages[pfn].lru_next)
		ASSERT(mm_page_test(&m->pages[pfn], MM_PG_workingset));
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_FILE) + nr(m, MM_LRU_INACTIVE_FILE) +
		  (int64_t)st.reclaimed, 64);
	tu_check(m, "demotion");
	mm_machine_destroy(m);
}

static bool zone_below(const struct mm_zone *z, enum mm_wmark w)
{
	return z->vm_stat[MM_NR_FREE_PAGES] < (int64_t)mm_wmark_pages(z, w);
}

/* Fills the page cache until DMA32's free pages drop below low (kswapd
 * is woken by that allocation) but stay above min. */
static int fill_below_low(struct mm_machine *m, struct mm_zone **zp)
{
	struct mm_zone *z = &m->nodes[0].zones[MM_X86_64_DMA32];
	int id;
	uint64_t idx = 0;

	ASSERT_EQ(mm_file_create(m, "big", 1ull << 32, NULL, 0, &id), 0);
	while (!m->nodes[0].kswapd_awake) {
		read_page(m, id, idx++);
		ASSERT(idx < (1u << 20));
	}
	ASSERT(zone_below(z, MM_WMARK_LOW));
	ASSERT(!zone_below(z, MM_WMARK_MIN));
	*zp = z;
	return id;
}

/* kswapd: woken when an allocation leaves the zone below low; each tick
 * of kswapd_pages_per_tick = 32 runs exactly one pass of 32 pages (the
 * inactive list is big enough for 32 at DEF_PRIORITY); it sleeps on the
 * first check that finds the node balanced (above high), never before. */
TEST(kswapd_wakes_at_low_sleeps_at_high)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 1ull << 30);
	c.kswapd_pages_per_tick = 32;
	struct mm_machine *m = tu_machine(&c);
	struct mm_zone *z;
	struct mm_tick_result tr;

	uint64_t wakes = m->events[MM_PAGEOUTRUN];
	fill_below_low(m, &z);
	ASSERT_EQ_U64(m->events[MM_PAGEOUTRUN], wakes + 1);
	ASSERT(nr(m, MM_LRU_INACTIVE_FILE) >> 12 >= 32);
	uint64_t ticks = 0, passes = 0;
	while (m->nodes[0].kswapd_awake) {
		mm_tick(m, 1, &tr);
		ticks++;
		/* at most one batch a tick: exactly 32 scanned and freed */
		ASSERT_LE(tr.r.passes, 1);
		ASSERT_EQ_U64(tr.r.scanned, 32 * tr.r.passes);
		ASSERT_EQ_U64(tr.r.reclaimed, 32 * tr.r.passes);
		passes += tr.r.passes;
		if (m->nodes[0].kswapd_awake) {
			ASSERT_EQ_U64(tr.r.passes, 1);
			ASSERT(zone_below(z, MM_WMARK_HIGH)); /* not balanced yet */
		} else {
			ASSERT_EQ_U64(tr.sleeps, 1);
		}
		ASSERT(ticks < 100000);
	}
	ASSERT(passes > 1);
	ASSERT_EQ_U64(m->events[MM_PGSCAN_KSWAPD], passes * 32);
	ASSERT_EQ_U64(m->events[MM_PGSTEAL_KSWAPD], passes * 32);
	ASSERT_EQ_U64(m->events[MM_PGSCAN_DIRECT], 0);
	/* asleep: balanced, as pgdat_balanced sees it (free above high plus
	 * the lowmem reserve of a Movable-class allocation) */
	ASSERT(!zone_below(z, MM_WMARK_HIGH));
	tu_check(m, "kswapd");
	mm_machine_destroy(m);
}

/* A dirty file page is not written by proactive or direct reclaim: it is
 * flagged PG_reclaim and activated (nr_vmscan_immediate_reclaim).  Back on
 * the inactive list, kswapd writes it back before freeing it, and its
 * bytes come back from the disk on the next read (a major fault). */
TEST(kswapd_writes_dirty_pages_back)
{
	struct mm_machine *m = mk(256ull << 20);
	int pid = spawn(m), id;
	struct mm_reclaim_stats st;
	struct mm_touch_result r;
	struct mm_zone *z;
	static const uint8_t msg[] = "written before freed";

	ASSERT_EQ(mm_file_create(m, "d", PG, msg, sizeof(msg), &id), 0);
	uint32_t pfn = file_pfn(m, id, 0);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_DIRTY], 1);
	ASSERT_EQ(mm_reclaim(m, 1, -1, &st), 0);
	ASSERT_EQ_U64(st.reclaimed, 0);
	ASSERT_EQ(file_pfn(m, id, 0), pfn);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_reclaim));
	/* the retries found it again (demoted, flagged, activated) */
	ASSERT_GE(m->nodes[0].vm_stat[MM_NR_VMSCAN_IMMEDIATE_RECLAIM], 1);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_VMSCAN_WRITE], 0);
	/* back to the inactive list (mapped once, MADV_COLD, unmapped;
	 * MADV_RANDOM: no readahead, which would take PG_readahead — the
	 * same bit — off the page) */
	map_shared(m, pid, W, PG, MM_PROT_READ, id);
	ASSERT_EQ(mm_madvise(m, pid, W, PG, MM_MADV_RANDOM), 0);
	ASSERT_EQ(mm_touch(m, pid, W, PG, MM_ACCESS_READ, &r), 0);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_reclaim));
	ASSERT_EQ(mm_madvise(m, pid, W, PG, MM_MADV_COLD), 0);
	ASSERT_EQ(mm_munmap(m, pid, W, PG), 0);
	ASSERT_EQ(mm_page_lru(m, pfn), MM_LRU_INACTIVE_FILE);
	/* pressure: kswapd reaches it first (it is the oldest) */
	fill_below_low(m, &z);
	run_kswapd(m);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_VMSCAN_WRITE], 1);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_DIRTY], 0);
	ASSERT_EQ(file_pfn(m, id, 0), MM_NIL);
	uint8_t back[sizeof(msg)];
	uint64_t got, major;
	ASSERT_EQ(mm_file_read(m, id, 0, sizeof(back), back, &got, &major), 0);
	ASSERT_EQ_U64(major, 1);
	ASSERT_EQ_STR((const char *)back, (const char *)msg);
	tu_check(m, "writeback");
	mm_machine_destroy(m);
}

/* Below min, an allocation reclaims directly (allocstall, pgscan_direct)
 * before it succeeds. */
TEST(direct_reclaim_below_min)
{
	struct mm_machine *m = mk(256ull << 20);
	struct mm_zone *z;
	struct mm_alloc_result res;

	fill_below_low(m, &z);
	/* kernel pages down to min (kswapd never runs: no tick) */
	uint64_t stall = m->events[MM_ALLOCSTALL + MM_X86_64_NORMAL] +
			 m->events[MM_ALLOCSTALL + MM_X86_64_DMA32];
	int n = 0;
	while (m->events[MM_PGSTEAL_DIRECT] == 0) {
		ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &res), 0);
		ASSERT(++n < 100000);
	}
	ASSERT(m->events[MM_ALLOCSTALL + MM_X86_64_NORMAL] +
	       m->events[MM_ALLOCSTALL + MM_X86_64_DMA32] > stall);
	ASSERT(m->events[MM_PGSCAN_DIRECT] >= 32);
	ASSERT(m->events[MM_PGSTEAL_DIRECT] >= 32);
	ASSERT_EQ_U64(m->events[MM_OOM_KILL], 0);
	tu_check(m, "direct");
	mm_machine_destroy(m);
}

/* Fills memory with anonymous pages of three processes (no swap: nothing
 * reclaimable), then allocates: the OOM killer takes the largest, but
 * never one with oom_score_adj -1000, and never init (pid 1). */
static struct mm_machine *mk_overcommit(void)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	c.overcommit = MM_OVERCOMMIT_ALWAYS;
	return tu_machine(&c);
}

TEST(oom_kills_highest_badness)
{
	struct mm_machine *m = mk_overcommit();
	int init = spawn(m), big = spawn(m), mid = spawn(m);
	uint64_t a;
	struct mm_touch_result r;
	struct mm_alloc_result res;

	ASSERT_EQ(init, 1);
	anon_pages(m, big, W, 6000);
	anon_pages(m, mid, W, 3000);
	ASSERT_EQ(mm_set_oom_score_adj(m, big, -1000), 0);
	uint64_t kills = m->events[MM_OOM_KILL];
	while (mm_task_get(m, mid))
		ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &res), 0);
	ASSERT_EQ_U64(m->events[MM_OOM_KILL], kills + 1);
	ASSERT(mm_task_get(m, big) != NULL);
	/* the OOM kill event names the victim */
	const struct mm_event *ev = NULL;
	for (uint64_t id = m->ev.next_id - 1; id >= mm_event_oldest(m) && !ev; id--)
		if (mm_event_get(m, id)->type == MM_EV_OOM_KILL)
			ev = mm_event_get(m, id);
	ASSERT(ev != NULL);
	ASSERT_EQ_U64(ev->v[0], (uint64_t)mid);
	/* without adj the big one would have gone: the direct choice */
	ASSERT_EQ(mm_set_oom_score_adj(m, big, 0), 0);
	while (mm_task_get(m, big))
		ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &res), 0);
	ASSERT(mm_task_get(m, init) != NULL);
	/* only init and -1000 left: the allocation fails, nobody dies */
	ASSERT_EQ(mm_mmap(m, init, W, 20000 * PG, RW, FIX, -1, 0, &a), 0);
	ASSERT_EQ(mm_touch(m, init, W, 20000 * PG, MM_ACCESS_WRITE, &r), -MM_ENOMEM);
	ASSERT(mm_task_get(m, init) != NULL);
	tu_check(m, "oom");
	mm_machine_destroy(m);
}

/* The victim is the task faulting: it is killed when its access ends
 * (SIGKILL in the touch answer), and its memory is freed. */
TEST(oom_kills_the_faulting_task)
{
	struct mm_machine *m = mk_overcommit();
	int init = spawn(m), hog = spawn(m);
	uint64_t a;
	struct mm_touch_result r;

	(void)init;
	ASSERT_EQ(mm_mmap(m, hog, W, 16000 * PG, RW, FIX, -1, 0, &a), 0);
	ASSERT_EQ(mm_touch(m, hog, W, 16000 * PG, MM_ACCESS_WRITE, &r), 0);
	ASSERT_EQ(r.signal.signo, MM_SIGKILL);
	ASSERT_EQ_STR(r.signal.name, "SIGKILL");
	ASSERT(r.pages < 16000);
	ASSERT(mm_task_get(m, hog) == NULL);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_ANON_PAGES], 0);
	tu_check(m, "oom self");
	mm_machine_destroy(m);
}

/* get_scan_count's SCAN_FRACT weights at the swappiness extremes: 0 gives
 * anon nothing, 200 gives file nothing; 100 with equal costs is even.
 * Without a swap area only file lists are scanned whatever swappiness. */
TEST(swappiness_extremes)
{
	uint64_t f[2];
	mm__scan_fraction(0, 10, 10, f);
	ASSERT_EQ_U64(f[0], 0);
	ASSERT(f[1] > 0);
	mm__scan_fraction(200, 10, 10, f);
	ASSERT_EQ_U64(f[1], 0);
	ASSERT(f[0] > 0);
	mm__scan_fraction(100, 7, 7, f);
	ASSERT_EQ_U64(f[0], f[1]);
	/* a costly side gets less */
	mm__scan_fraction(60, 1000, 10, f);
	ASSERT(f[0] * 140 < f[1] * 60);

	for (int sw = 0; sw <= 200; sw += 200) {
		struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
		c.swappiness = sw;
		struct mm_machine *m = tu_machine(&c);
		int pid = spawn(m);
		struct mm_reclaim_stats st;
		anon_pages(m, pid, W, 64);
		cached_file(m, "f", 64);
		ASSERT_EQ(mm_reclaim(m, 64, -1, &st), 0);
		ASSERT_EQ_U64(m->events[MM_PGSCAN_ANON], 0);
		ASSERT_EQ_U64(st.reclaimed, 64);
		ASSERT_EQ(nr(m, MM_LRU_INACTIVE_ANON), 64);
		tu_check(m, "swappiness");
		mm_machine_destroy(m);
	}
}

/* mlock: pages move to the unevictable list (Mlocked, unevictable_pgs_*),
 * reclaim never takes them; munlock rescues them to the inactive list;
 * new faults in a locked VMA start unevictable. */
TEST(mlocked_pages_are_unevictable)
{
	struct mm_machine *m = mk(64ull << 20);
	int pid = spawn(m), id;
	uint64_t a;
	struct mm_touch_result r;
	struct mm_reclaim_stats st;

	ASSERT_EQ(mm_mmap(m, pid, W, 4 * PG, RW, FIX, -1, 0, &a), 0);
	ASSERT_EQ(mm_touch(m, pid, W, 2 * PG, MM_ACCESS_WRITE, &r), 0);
	ASSERT_EQ(mm_mlock(m, pid, W, 4 * PG), 0);
	ASSERT_EQ(nr(m, MM_LRU_UNEVICTABLE), 4);
	ASSERT_EQ(nr(m, MM_LRU_INACTIVE_ANON), 0);
	ASSERT_EQ(m->nodes[0].zones[MM_X86_64_DMA32].vm_stat[MM_NR_MLOCK] +
		  m->nodes[0].zones[MM_X86_64_DMA].vm_stat[MM_NR_MLOCK], 4);
	ASSERT_EQ_U64(m->events[MM_UNEVICTABLE_PGS_MLOCKED], 4);
	char *mi = tu_render(m, mm_proc_meminfo);
	ASSERT_CONTAINS(mi, "Unevictable:          16 kB");
	ASSERT_CONTAINS(mi, "Mlocked:              16 kB");
	free(mi);
	/* a locked file mapping: its cached page is not reclaimed */
	ASSERT_EQ(mm_file_create(m, "f", PG, NULL, 0, &id), 0);
	ASSERT_EQ(mm_mmap(m, pid, W + 16 * PG, PG, MM_PROT_READ,
			  MM_MAP_SHARED | MM_MAP_FIXED | MM_MAP_LOCKED, id, 0, &a), 0);
	ASSERT_EQ(nr(m, MM_LRU_UNEVICTABLE), 5);
	ASSERT_EQ(mm_reclaim(m, 8, -1, &st), 0);
	ASSERT_EQ_U64(st.reclaimed, 0);
	ASSERT(file_pfn(m, id, 0) != MM_NIL);
	ASSERT_EQ(mm_munlock(m, pid, W, 4 * PG), 0);
	ASSERT_EQ(nr(m, MM_LRU_UNEVICTABLE), 1);
	ASSERT_EQ(nr(m, MM_LRU_INACTIVE_ANON), 4);
	ASSERT_EQ_U64(m->events[MM_UNEVICTABLE_PGS_RESCUED], 4);
	ASSERT_EQ(mm_munmap(m, pid, W + 16 * PG, PG), 0);
	ASSERT_EQ(nr(m, MM_LRU_UNEVICTABLE), 0);
	ASSERT_EQ(nr(m, MM_LRU_INACTIVE_FILE), 1);
	tu_check(m, "mlock");
	mm_machine_destroy(m);
}

/* The point of two lists: a small mapped working set touched between
 * reclaim rounds stays resident while a big file read once streams
 * through the inactive list and is evicted. */
TEST(working_set_survives_streaming)
{
	struct mm_machine *m = mk(128ull << 20);
	int pid = spawn(m), ws;
	struct mm_touch_result r;
	struct mm_reclaim_stats st;

	ASSERT_EQ(mm_file_create(m, "ws", 256 * PG, NULL, 0, &ws), 0);
	map_shared(m, pid, W, 256 * PG, MM_PROT_READ, ws);
	int stream;
	ASSERT_EQ(mm_file_create(m, "stream", 1ull << 32, NULL, 0, &stream), 0);
	for (uint64_t mib = 0; mib < 64; mib += 4) {
		ASSERT_EQ(mm_touch(m, pid, W, 256 * PG, MM_ACCESS_READ, &r), 0);
		ASSERT_EQ(mm_reclaim(m, 1024, -1, &st), 0);
		read_pages(m, stream, mib * 256, 4 * 256);
	}
	for (uint64_t i = 0; i < 256; i++)
		ASSERT(file_pfn(m, ws, i) != MM_NIL);
	ASSERT_EQ_U64(mm_file_get(m, ws)->nr_pages, 256);
	ASSERT(mm_file_get(m, stream)->nr_pages < (64ull << 20) / PG / 2);
	ASSERT(m->events[MM_PGSTEAL_PROACTIVE] > 8000);
	/* the stream's evicted pages left shadow entries (the only
	 * refaults so far: readahead pages reclaimed before their read,
	 * recent enough to be activated) */
	int64_t refaults = m->nodes[0].vm_stat[MM_WORKINGSET_REFAULT_FILE];
	int64_t activated = m->nodes[0].vm_stat[MM_WORKINGSET_ACTIVATE_FILE];
	ASSERT(m->nodes[0].vm_stat[MM_WORKINGSET_NODES] > 0);
	ASSERT(activated <= refaults);
	/* read again, the stream's start refaults from some 16,000
	 * evictions back, far more than the active list holds: none is
	 * activated */
	uint64_t major = read_pages(m, stream, 0, 64);
	ASSERT_GE(major, 64);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_WORKINGSET_REFAULT_FILE],
		  refaults + (int64_t)major);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_WORKINGSET_ACTIVATE_FILE], activated);
	ASSERT_LT(m->nodes[0].vm_stat[MM_NR_ACTIVE_FILE], 16000);
	tu_check(m, "working set");
	mm_machine_destroy(m);
}

/* MADV_COLD deactivates the range's pages (clearing their accessed bits);
 * MADV_PAGEOUT reclaims file pages at once (dirty ones written back) and,
 * with no swap, activates anonymous ones. */
TEST(madvise_cold_and_pageout)
{
	struct mm_machine *m = mk(64ull << 20);
	int pid = spawn(m), id;
	uint64_t a;
	struct mm_touch_result r;

	ASSERT_EQ(mm_file_create(m, "f", 8 * PG, NULL, 0, &id), 0);
	ASSERT_EQ(mm_mmap(m, pid, W, 8 * PG, RW, MM_MAP_SHARED | MM_MAP_FIXED,
			  id, 0, &a), 0);
	ASSERT_EQ(mm_touch(m, pid, W, 8 * PG, MM_ACCESS_WRITE, &r), 0);
	for (uint64_t i = 0; i < 8; i++) {
		uint32_t pfn = file_pfn(m, id, i);
		mm__mark_page_accessed(m, pfn);
		mm__mark_page_accessed(m, pfn);
	}
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_FILE), 8);
	uint64_t deact = m->events[MM_PGDEACTIVATE];
	ASSERT_EQ(mm_madvise(m, pid, W, 4 * PG, MM_MADV_COLD), 0);
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_FILE), 4);
	ASSERT_EQ(nr(m, MM_LRU_INACTIVE_FILE), 4);
	ASSERT_EQ_U64(m->events[MM_PGDEACTIVATE], deact + 4);
	struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, pid));
	ASSERT_EQ(*mm__pte_lookup(m, mm, W) & MM_PTE_ACCESSED, 0);
	ASSERT(mm_page_test(&m->pages[file_pfn(m, id, 0)], MM_PG_workingset));
	/* pageout: unmapped; dirty pages flagged and kept, clean ones
	 * dropped */
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_DIRTY], 8);
	ASSERT_EQ(mm_file_sync(m, id), 0);
	ASSERT_EQ(mm_touch(m, pid, W + 2 * PG, 2 * PG, MM_ACCESS_WRITE, &r), 0);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_DIRTY], 2);
	ASSERT_EQ(mm_madvise(m, pid, W + 2 * PG, 6 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(mm_file_get(m, id)->nr_pages, 4);
	ASSERT(file_pfn(m, id, 2) != MM_NIL && file_pfn(m, id, 3) != MM_NIL);
	ASSERT(mm_page_test(&m->pages[file_pfn(m, id, 2)], MM_PG_reclaim));
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_VMSCAN_WRITE], 0);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_VMSCAN_IMMEDIATE_RECLAIM], 2);
	ASSERT_EQ_U64(mm->rss_file, 2);
	/* anonymous memory without swap: kept, activated */
	anon_pages(m, pid, W + 64 * PG, 4);
	ASSERT_EQ(mm_madvise(m, pid, W + 64 * PG, 4 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_ANON), 4);
	ASSERT_EQ_U64(mm->rss_anon, 4);
	tu_check(m, "madvise");
	mm_machine_destroy(m);
}

/* The digest covers the LRU: the order within a list and kswapd state. */
TEST(digest_covers_lru)
{
	struct mm_machine *m = mk(64ull << 20);
	int pid = spawn(m);
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];

	anon_pages(m, pid, W, 4);
	mm_digest(m, d0);
	struct mm_plist *l = &m->nodes[0].lru[MM_LRU_INACTIVE_ANON];
	uint32_t pfn = l->head;
	mm__plist_del(m, l, pfn);
	mm__plist_add_tail(m, l, pfn);
	tu_check(m, "rotated");
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	mm__plist_del(m, l, pfn);
	mm__plist_add(m, l, pfn);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	m->nodes[0].kswapd_failures++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	m->nodes[0].kswapd_failures--;
	m->nodes[0].file_cost++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	mm_machine_destroy(m);
}

/* ---- workingset detection (workingset.c) ------------------------------- */

static int64_t ws(const struct mm_machine *m, int item)
{
	return m->nodes[0].vm_stat[item];
}

/* The raw page-cache entry at idx: a frame, a shadow entry or MM_NIL. */
static uint32_t cache_entry(const struct mm_machine *m, int id, uint64_t idx)
{
	const struct mm_file *f = mm_file_get(m, id);
	uint32_t x = f->xa_root;

	if (x == MM_NIL || idx >= (uint64_t)MM_XA_SLOTS << m->xa_nodes[x].shift)
		return MM_NIL;
	for (;;) {
		const struct mm_xa_node *n = &m->xa_nodes[x];
		uint32_t slot = n->slots[(idx >> n->shift) & (MM_XA_SLOTS - 1)];
		if (!n->shift || slot == MM_NIL)
			return slot;
		x = slot;
	}
}

/*
 * The refault distance.  W (32 pages, read twice: active, the clock at
 * 32) and S (64 pages read once: inactive).  Reclaim of 32 pages never
 * touches the active list (inactive 64 >= active 32) and evicts S0..S43
 * oldest first (1 + 1 + 3 + 7 + 13 + 19 pages at priorities 6..1),
 * each leaving a shadow entry stamped with the clock, which each
 * eviction advances: S43 has E = 75, S1 E = 33, and the clock reads 76.
 * S43 read again: distance 1 <= 32 active file pages: activated.  S1
 * then: distance 77 - 33 = 44 > 33: a refault, left inactive.
 */
TEST(workingset_refault_distance)
{
	struct mm_machine *m = mk(64ull << 20);
	int w = cached_file(m, "w", 32), s;
	struct mm_reclaim_stats st;

	for (uint64_t i = 0; i < 32; i++)
		read_page(m, w, i);
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_FILE), 32);
	ASSERT_EQ_U64(m->nodes[0].nonresident_age, 32); /* 32 activations */
	s = cached_file(m, "s", 64);
	ASSERT_EQ(mm_reclaim(m, 1, 0, &st), 0);
	ASSERT_EQ_U64(st.reclaimed, 44);
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_FILE), 32);
	ASSERT_EQ_U64(m->nodes[0].nonresident_age, 76);
	for (uint64_t i = 0; i < 64; i++) {
		uint32_t e = cache_entry(m, s, i);
		ASSERT_EQ(mm__xa_is_shadow(e), i < 44);
		ASSERT_EQ(file_pfn(m, s, i) == MM_NIL, i < 44);
	}
	ASSERT_EQ(ws(m, MM_WORKINGSET_REFAULT_FILE), 0);
	/* within the distance */
	read_page(m, s, 43);
	ASSERT_EQ(ws(m, MM_WORKINGSET_REFAULT_FILE), 1);
	ASSERT_EQ(ws(m, MM_WORKINGSET_ACTIVATE_FILE), 1);
	ASSERT_EQ(ws(m, MM_WORKINGSET_RESTORE_FILE), 0);
	ASSERT_EQ(mm_page_lru(m, file_pfn(m, s, 43)), MM_LRU_ACTIVE_FILE);
	ASSERT_EQ_U64(m->nodes[0].nonresident_age, 77); /* the activation */
	/* beyond it */
	read_page(m, s, 1);
	ASSERT_EQ(ws(m, MM_WORKINGSET_REFAULT_FILE), 2);
	ASSERT_EQ(ws(m, MM_WORKINGSET_ACTIVATE_FILE), 1);
	ASSERT_EQ(mm_page_lru(m, file_pfn(m, s, 1)), MM_LRU_INACTIVE_FILE);
	ASSERT_EQ(ws(m, MM_WORKINGSET_REFAULT_ANON), 0);
	/* the activation is seen by the next reclaim (refaults[]): it may
	 * deactivate the file list although inactive is not low */
	ASSERT(m->nodes[0].refaults[1] != ws(m, MM_WORKINGSET_ACTIVATE_FILE));
	char *vm = tu_render(m, mm_proc_vmstat);
	ASSERT_CONTAINS(vm, "\nworkingset_refault_file 2\n");
	ASSERT_CONTAINS(vm, "\nworkingset_activate_file 1\n");
	free(vm);
	tu_check(m, "refault distance");
	mm_machine_destroy(m);
}

/* A page evicted while in the workingset (PG_workingset: it had been
 * active) and refaulting within the distance (1 <= the 3 other active
 * pages of its file) is restored: activated, PG_workingset again, counted in
 * workingset_restore_file, and its refault is an I/O cost of the file
 * side (lru_note_cost_refault).  MADV_PAGEOUT marks an active page
 * workingset and reclaims it, leaving a shadow entry like any reclaim. */
TEST(workingset_restore)
{
	struct mm_machine *m = mk(64ull << 20);
	int pid = spawn(m), id;
	struct mm_touch_result r;

	ASSERT_EQ(mm_file_create(m, "f", 4 * PG, NULL, 0, &id), 0);
	for (uint64_t i = 0; i < 4; i++) {
		read_page(m, id, i);
		read_page(m, id, i);
	}
	uint32_t pfn = file_pfn(m, id, 2);
	ASSERT_EQ(mm_page_lru(m, pfn), MM_LRU_ACTIVE_FILE);
	map_shared(m, pid, W, 4 * PG, MM_PROT_READ, id);
	ASSERT_EQ(mm_touch(m, pid, W + 2 * PG, PG, MM_ACCESS_READ, &r), 0);
	uint64_t age = m->nodes[0].nonresident_age;
	ASSERT_EQ(mm_madvise(m, pid, W + 2 * PG, PG, MM_MADV_PAGEOUT), 0);
	uint32_t e = cache_entry(m, id, 2);
	ASSERT(mm__xa_is_shadow(e));
	ASSERT_EQ(e & 1, 1);                     /* the workingset bit */
	ASSERT_EQ(mm__shadow_nid(e), 0);
	ASSERT_EQ_U64(m->nodes[0].nonresident_age, age + 1);
	uint64_t cost = m->nodes[0].file_cost;
	/* the fault reads it back (a major fault; read-around refaults
	 * only this page: the others were never evicted) */
	ASSERT_EQ(mm_touch(m, pid, W + 2 * PG, PG, MM_ACCESS_READ, &r), 0);
	ASSERT_EQ_U64(r.major, 1);
	pfn = file_pfn(m, id, 2);
	ASSERT_EQ(ws(m, MM_WORKINGSET_REFAULT_FILE), 1);
	ASSERT_EQ(ws(m, MM_WORKINGSET_ACTIVATE_FILE), 1);
	ASSERT_EQ(ws(m, MM_WORKINGSET_RESTORE_FILE), 1);
	ASSERT_EQ(mm_page_lru(m, pfn), MM_LRU_ACTIVE_FILE);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_workingset));
	/* cost 32 (one I/O), then halved: above a quarter of the LRU */
	ASSERT_EQ_U64(m->nodes[0].file_cost, (cost + 32) / 2);
	tu_check(m, "restore");
	mm_machine_destroy(m);
}

/* A write into an evicted slot is no refault (__GFP_WRITE), but takes
 * the shadow's place; truncate, delete and dropCaches remove shadow
 * entries (truncate_inode_pages_range, invalidate_mapping_pages), and the
 * tree nodes they kept go back to the slab. */
TEST(workingset_shadows_removed)
{
	struct mm_machine *m = mk(64ull << 20);
	struct mm_reclaim_stats st;
	struct mm_drop_result dr;
	int f = cached_file(m, "f", 128), g = cached_file(m, "g", 64);

	ASSERT_EQ(mm_reclaim(m, 1000, 0, &st), 0);
	ASSERT_EQ_U64(st.reclaimed, 192);
	ASSERT_EQ(ws(m, MM_NR_FILE_PAGES), 0);
	/* leaves of only shadow entries: f's two, g's one */
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), 3);
	ASSERT(mm__xa_is_shadow(cache_entry(m, f, 127)));
	uint8_t b[16] = "new";
	ASSERT_EQ(mm_file_write(m, f, 127 * PG, b, sizeof(b)), 0);
	ASSERT_EQ(ws(m, MM_WORKINGSET_REFAULT_FILE), 0);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), 2);
	ASSERT_EQ(mm_file_truncate(m, f, 64 * PG), 0);
	for (uint64_t i = 64; i < 128; i++)
		ASSERT_EQ(cache_entry(m, f, i), MM_NIL);
	ASSERT(mm__xa_is_shadow(cache_entry(m, f, 63)));
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), 2);
	tu_check(m, "truncated");
	ASSERT_EQ(mm_file_delete(m, g), 0);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), 1);
	tu_check(m, "deleted");
	ASSERT_EQ(mm_drop_caches(m, 1, &dr), 0);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), 0);
	ASSERT_EQ(mm_file_get(m, f)->xa_root, MM_NIL);
	read_page(m, f, 5);
	ASSERT_EQ(ws(m, MM_WORKINGSET_REFAULT_FILE), 0);
	tu_check(m, "dropped");
	mm_machine_destroy(m);
}

/* A file of n pages 64 apart, each faulted in through a mapping at addr
 * (MADV_RANDOM: no read-around) and paged out: n leaves of one shadow
 * entry each. */
static int sparse_shadows(struct mm_machine *m, int pid, const char *name,
			  uint64_t addr, uint64_t n)
{
	struct mm_touch_result r;
	int id;

	ASSERT_EQ(mm_file_create(m, name, n * 64 * PG, NULL, 0, &id), 0);
	map_shared(m, pid, addr, n * 64 * PG, MM_PROT_READ, id);
	ASSERT_EQ(mm_madvise(m, pid, addr, n * 64 * PG, MM_MADV_RANDOM), 0);
	for (uint64_t k = 0; k < n; k++)
		ASSERT_EQ(mm_touch(m, pid, addr + k * 64 * PG, PG, MM_ACCESS_READ,
				   &r), 0);
	ASSERT_EQ_U64(mm_file_get(m, id)->nr_pages, n);
	ASSERT_EQ(mm_madvise(m, pid, addr, n * 64 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ_U64(mm_file_get(m, id)->nr_pages, 0);
	return id;
}

/* The shadow shrinker (count_shadow_nodes) only touches nodes beyond
 * present / 8, and with seeks 0 asks for half of them.  drop_slab's first
 * pass at priority 0 scans nothing (44 < the 88 freeable) and defers the
 * 44; the next adds them: 88 scanned, 88 freed, nothing deferred.  In
 * reclaim, the shrinker runs after each node's LRU pass at its priority,
 * and the slab pages it frees count as reclaimed. */
TEST(workingset_shadow_node_shrinker)
{
	struct mm_machine *m = mk(16ull << 20);
	int pid = spawn(m);
	uint64_t max = m->nodes[0].present >> 3;
	struct mm_drop_result dr;
	struct mm_reclaim_stats st;

	int id = sparse_shadows(m, pid, "sparse", W, max + 88);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), (int64_t)(max + 88));
	tu_check(m, "shadow nodes");
	ASSERT_EQ(mm_drop_caches(m, 2, &dr), 0);
	ASSERT_EQ_U64(m->events[MM_SLABS_SCANNED], 0);
	ASSERT_EQ(m->nodes[0].shadow_deferred, 44);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), (int64_t)(max + 88));
	ASSERT_EQ(mm_drop_caches(m, 2, &dr), 0);
	ASSERT_EQ_U64(m->events[MM_SLABS_SCANNED], 88);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODERECLAIM), 88);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), (int64_t)max);
	ASSERT_EQ(m->nodes[0].shadow_deferred, 0);
	/* the oldest went: the first 88 leaves are empty now */
	ASSERT_EQ(cache_entry(m, id, 0), MM_NIL);
	ASSERT_EQ(cache_entry(m, id, 87 * 64), MM_NIL);
	ASSERT(mm__xa_is_shadow(cache_entry(m, id, 88 * 64)));
	tu_check(m, "shrunk");
	/* reclaim with nothing on the LRU lists: only the shrinker frees */
	sparse_shadows(m, pid, "more", W + (1ull << 32), 300);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), (int64_t)(max + 300));
	/* one pass, priority 12 down until 32 pages are back: at 12, 150
	 * asked, one batch of 128 scanned, 22 deferred; at 11..4 the 86
	 * asked plus the deferred >> priority stay below 128 and below the
	 * 172 freeable, so the deferred grows (capped at 344); at 3,
	 * 344 >> 3 + 86 = 129: a batch of 128, 302 deferred; at 2, 44
	 * freeable: 302 >> 2 + 22 capped at 88, one batch of 88 (the walk
	 * frees the oldest 88, beyond the excess), 88 deferred */
	ASSERT_EQ(mm_reclaim(m, 1, 0, &st), 0);
	ASSERT_EQ_U64(st.passes, 1);
	ASSERT_EQ_U64(m->events[MM_PGSTEAL_PROACTIVE], 0);
	ASSERT_EQ_U64(m->events[MM_SLABS_SCANNED], 88 + 128 + 128 + 88);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODERECLAIM), 88 + 128 + 128 + 88);
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), (int64_t)(max + 300 - 344));
	ASSERT_EQ(m->nodes[0].shadow_deferred, 88);
	ASSERT_GE(st.reclaimed, 32);       /* all of it freed slab pages */
	tu_check(m, "shrunk by reclaim");
	mm_machine_destroy(m);
}

/* folio_rotate_reclaimable(): a dirty page reclaim flagged PG_reclaim
 * (and activated) is written back by sync; at the end of its writeback
 * it moves to the tail of the inactive list (pgrotated).  Reclaim's own
 * writeback (kswapd's pageout) holds the page isolated: no rotation.
 * Along the way nr_dirtied, nr_written and nr_zone_write_pending. */
TEST(pgrotated_after_writeback)
{
	struct mm_machine *m = mk(64ull << 20);
	struct mm_reclaim_stats st;
	static const uint8_t msg[] = "dirty";
	int id;

	cached_file(m, "older", 4);
	ASSERT_EQ(mm_file_create(m, "d", PG, msg, sizeof(msg), &id), 0);
	uint32_t pfn = file_pfn(m, id, 0);
	/* dirtied once: nr_dirtied, and write_pending on its zone */
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_DIRTIED], 1);
	ASSERT_EQ(mm_page_zone(m, pfn)->vm_stat[MM_NR_ZONE_WRITE_PENDING], 1);
	ASSERT_EQ(mm_reclaim(m, 1, -1, &st), 0);
	ASSERT_EQ(file_pfn(m, id, 0), pfn);
	ASSERT(mm_page_test(&m->pages[pfn], MM_PG_reclaim));
	ASSERT_EQ(mm_page_lru(m, pfn), MM_LRU_ACTIVE_FILE);
	ASSERT_EQ_U64(m->events[MM_PGROTATED], 0);
	ASSERT_EQ(mm_file_sync(m, id), 0);
	ASSERT_EQ_U64(m->events[MM_PGROTATED], 1);
	ASSERT_EQ(m->nodes[0].vm_stat[MM_NR_WRITTEN], 1);
	ASSERT_EQ(mm_page_zone(m, pfn)->vm_stat[MM_NR_ZONE_WRITE_PENDING], 0);
	ASSERT_EQ(mm_page_lru(m, pfn), MM_LRU_INACTIVE_FILE);
	ASSERT_EQ(m->nodes[0].lru[MM_LRU_INACTIVE_FILE].tail, pfn);
	ASSERT(!mm_page_test(&m->pages[pfn], MM_PG_reclaim));
	/* a clean sync again: nothing to rotate */
	ASSERT_EQ(mm_file_sync(m, id), 0);
	ASSERT_EQ_U64(m->events[MM_PGROTATED], 1);
	tu_check(m, "rotated");
	mm_machine_destroy(m);
}

/*
 * What workingset detection is for: a file W read over and over that does
 * not fit the inactive list thrashes there (evicted before its next read)
 * while stale pages A, read twice long ago, sit on the active list.  Its
 * refault distances are within the active list's size, so W's refaults
 * activate it; the active list then sheds A and W becomes resident.
 */
TEST(workingset_protects_a_thrashing_set)
{
	struct mm_machine *m = mk(32ull << 20);
	int a = cached_file(m, "a", 4000), w, s;
	uint64_t majors[6];

	read_pages(m, a, 0, 4000);
	ASSERT_EQ(nr(m, MM_LRU_ACTIVE_FILE), 4000);
	ASSERT_EQ(mm_file_create(m, "w", 2000 * PG, NULL, 0, &w), 0);
	ASSERT_EQ(mm_file_create(m, "s", 1ull << 32, NULL, 0, &s), 0);
	for (int round = 0; round < 6; round++) {
		majors[round] = read_pages(m, w, 0, 2000);
		/* a stream of new pages between two reads of W */
		read_pages(m, s, (uint64_t)round * 2000, 2000);
	}
	/* rounds 0 and 1 read all of W from the disk; round 1's reads were
	 * refaults, most of them activated; from round 2 on W is resident */
	ASSERT_EQ_U64(majors[0], 2000);
	ASSERT_EQ_U64(majors[1], 2000);
	ASSERT_EQ(ws(m, MM_WORKINGSET_REFAULT_FILE), 2000);
	ASSERT_GE(ws(m, MM_WORKINGSET_ACTIVATE_FILE), 1000);
	ASSERT_EQ(ws(m, MM_WORKINGSET_RESTORE_FILE), 0);
	for (int round = 2; round < 6; round++)
		ASSERT_EQ_U64(majors[round], 0);
	ASSERT_EQ_U64(mm_file_get(m, w)->nr_pages, 2000);
	ASSERT_LT(mm_file_get(m, a)->nr_pages, 2000);
	tu_check(m, "thrashing");
	mm_machine_destroy(m);
}

/* ---- the checker ----------------------------------------------------------- */

static void expect(struct mm_machine *m, const char *inv)
{
	struct mm_violation v[8];
	int n = mm_check(m, v, 8);
	for (int i = 0; i < n && i < 8; i++)
		if (!strcmp(v[i].invariant, inv))
			return;
	th_fail(__FILE__, __LINE__, "expected %s, got %d violations (%s)", inv,
		n, n ? v[0].invariant : "none");
}

TEST(check_lru_corruption)
{
	struct mm_machine *m = mk(64ull << 20);
	int pid = spawn(m);

	anon_pages(m, pid, W, 4);
	tu_check(m, "before");
	uint32_t pfn = m->nodes[0].lru[MM_LRU_INACTIVE_ANON].head;
	struct mm_page *p = &m->pages[pfn];
	/* flags name another list */
	mm__set(p, MM_PG_active);
	expect(m, "lru-membership");
	mm__clear(p, MM_PG_active);
	/* on a list without PG_lru */
	mm__clear(p, MM_PG_lru);
	expect(m, "lru-membership");
	mm__set(p, MM_PG_lru);
	/* a user page on no list */
	mm__plist_del(m, &m->nodes[0].lru[MM_LRU_INACTIVE_ANON], pfn);
	expect(m, "lru-membership");
	mm__plist_add(m, &m->nodes[0].lru[MM_LRU_INACTIVE_ANON], pfn);
	tu_check(m, "restored");
	/* counters */
	m->nodes[0].vm_stat[MM_NR_INACTIVE_ANON]++;
	expect(m, "lru-count");
	m->nodes[0].vm_stat[MM_NR_INACTIVE_ANON]--;
	mm_page_zone(m, pfn)->vm_stat[MM_NR_ZONE_ACTIVE_ANON]++;
	expect(m, "lru-count");
	mm_page_zone(m, pfn)->vm_stat[MM_NR_ZONE_ACTIVE_ANON]--;
	mm_page_zone(m, pfn)->vm_stat[MM_NR_MLOCK]++;
	expect(m, "lru-count");
	mm_page_zone(m, pfn)->vm_stat[MM_NR_MLOCK]--;
	/* mlocked but evictable */
	mm__set(p, MM_PG_mlocked);
	expect(m, "lru-membership");
	mm__clear(p, MM_PG_mlocked);
	/* a broken link */
	m->pages[pfn].lru_prev = pfn;
	expect(m, "list-links");
	m->pages[pfn].lru_prev = MM_NIL;
	tu_check(m, "restored again");
	mm_machine_destroy(m);
}

/* The checker's shadow-entry invariants, one corruption each; the digest
 * sees shadow entries and the shadow clock. */
TEST(check_shadow_corruption)
{
	struct mm_machine *m = mk(64ull << 20);
	struct mm_reclaim_stats st;
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	int f = cached_file(m, "f", 96);

	ASSERT_EQ(mm_reclaim(m, 64, 0, &st), 0);
	ASSERT_EQ_U64(st.reclaimed, 78);   /* 0..77 shadows, 78..95 pages */
	ASSERT_EQ(ws(m, MM_WORKINGSET_NODES), 1);
	tu_check(m, "shadows");
	mm_digest(m, d0);
	struct mm_file *file = &m->files[f];
	struct mm_xa_node *leaf = &m->xa_nodes[m->xa_nodes[file->xa_root].slots[0]];
	uint32_t e = leaf->slots[5];
	ASSERT(mm__xa_is_shadow(e));
	/* a shadow entry naming a node the machine does not have */
	leaf->slots[5] = e | (7u << 1);
	expect(m, "shadow-entry");
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	leaf->slots[5] = e;
	/* nr_values off */
	leaf->nr_values--;
	expect(m, "shadow-entry");
	leaf->nr_values++;
	/* the workingset_nodes gauge off */
	m->nodes[0].vm_stat[MM_WORKINGSET_NODES]++;
	expect(m, "shadow-entry");
	m->nodes[0].vm_stat[MM_WORKINGSET_NODES]--;
	/* a shadow-only leaf missing from its list */
	uint32_t head = m->nodes[0].shadow_head;
	m->nodes[0].shadow_head = m->nodes[0].shadow_tail = MM_NIL;
	expect(m, "shadow-entry");
	m->nodes[0].shadow_head = m->nodes[0].shadow_tail = head;
	/* a listed leaf whose object is nowhere (the checker must not trust
	 * its address to find the node) */
	uint64_t addr = leaf->slab_addr;
	leaf->slab_addr = 0;
	expect(m, "shadow-entry");
	leaf->slab_addr = addr;
	/* shadow entries past EOF */
	uint64_t size = file->size;
	file->size = 3 * PG;
	expect(m, "shadow-entry");
	file->size = size;
	/* a shadow entry where a page is: the page is in no tree */
	struct mm_xa_node *leaf2 = &m->xa_nodes[m->xa_nodes[file->xa_root].slots[1]];
	uint32_t pfn = leaf2->slots[90 - 64];
	leaf2->slots[90 - 64] = e;
	leaf2->nr_values++;
	expect(m, "page-cache");
	leaf2->slots[90 - 64] = pfn;
	leaf2->nr_values--;
	tu_check(m, "restored");
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	/* the digest covers the clock and the shrinker's deferred count */
	m->nodes[0].nonresident_age++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	m->nodes[0].nonresident_age--;
	m->nodes[0].shadow_deferred++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	m->nodes[0].shadow_deferred--;
	/* and survives a snapshot */
	struct mm_bytes img;
	struct mm_machine *m2;
	char err[200];
	ASSERT_EQ(mm_snapshot_save(m, &img), 0);
	ASSERT_EQ(mm_snapshot_load(img.p, img.len, &m2, err, sizeof(err)), 0);
	mm_digest(m2, d1);
	ASSERT_EQ_STR(d0, d1);
	tu_check(m2, "loaded");
	read_page(m2, f, 60);
	ASSERT_EQ(m2->nodes[0].vm_stat[MM_WORKINGSET_REFAULT_FILE], 1);
	free(img.p);
	mm_machine_destroy(m2);
	mm_machine_destroy(m);
}

/* ---- randomized: checker after every step, digest equal across runs ---- */

static void random_run(uint64_t seed, int steps, char digest[MM_DIGEST_HEX])
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 32ull << 20);
	c.seed = seed;
	c.kswapd_pages_per_tick = 64;
	c.swappiness = (int)(seed % 201);
	struct mm_machine *m = tu_machine(&c);
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	int pids[4] = {0}, files[3];
	uint32_t kpages[64]; /* kernel pages held, freed oldest first */
	int nk = 0;
	uint8_t buf[8192];

	for (int f = 0; f < 3; f++) {
		char name[8] = {'f', (char)('0' + f), 0};
		ASSERT_EQ(mm_file_create(m, name, 2048 * PG, NULL, 0, &files[f]), 0);
	}
	for (int i = 0; i < steps; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		int k = (int)(s % 4), op = (int)((s >> 8) % 12);
		uint64_t pg = (s >> 16) % 2048, len = 1 + (s >> 32) % 256;
		struct mm_touch_result r;
		struct mm_reclaim_stats st;
		struct mm_tick_result tr;
		struct mm_alloc_result ar;
		uint64_t a, got, major;
		if (!pids[k] || !mm_task_get(m, pids[k])) {
			/* spawn may fail for want of memory (documented
			 * -MM_ENOMEM) once long runs leave memory full of
			 * mlocked and swapless anonymous pages */
			int rc = mm_spawn(m, "r", -1, &pids[k]);
			if (rc == -MM_ENOMEM) {
				pids[k] = 0;
				continue;
			}
			ASSERT_EQ(rc, 0);
			if (mm_mmap(m, pids[k], W, 2048 * PG, RW, FIX, -1, 0, &a) ||
			    mm_mmap(m, pids[k], W + 4096 * PG, 2048 * PG, RW,
				    MM_MAP_SHARED | MM_MAP_FIXED, files[k % 3], 0, &a))
				mm_exit(m, pids[k], 0);
			continue;
		}
		int pid = pids[k];
		uint64_t base = (s >> 40) & 1 ? W + 4096 * PG : W;
		len = MM_MIN(len, 2048 - pg);
		switch (op) {
		case 0: case 1: case 2:
			mm_touch(m, pid, base + pg * PG, len * PG,
				 (s >> 41) & 1 ? MM_ACCESS_WRITE : MM_ACCESS_READ, &r);
			break;
		case 3:
			mm_file_read(m, files[(s >> 42) % 3], pg * PG, sizeof(buf), buf,
				     &got, &major);
			break;
		case 4:
			mm_mlock(m, pid, base + pg * PG, len * PG);
			break;
		case 5:
			mm_munlock(m, pid, base + pg * PG, len * PG);
			break;
		case 6:
			mm_madvise(m, pid, W + pg * PG, len * PG, MM_MADV_DONTNEED);
			break;
		case 7:
			mm_reclaim(m, len, -1, &st);
			break;
		case 8:
			mm_tick(m, 1 + (s >> 44) % 4, &tr);
			break;
		case 9: /* at most 64 held: a longer run must not fill memory
			 * with pages nothing can reclaim */
			if (nk == 64) {
				ASSERT_EQ(mm_free_pages(m, kpages[0], 0, 0), 0);
				memmove(kpages, kpages + 1, sizeof(kpages) - sizeof(*kpages));
				nk--;
			}
			if (mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &ar) == 0)
				kpages[nk++] = ar.pfn;
			break;
		case 10:
			if ((s >> 45) % 8 == 0)
				mm_exit(m, pid, 0);
			else
				mm_set_oom_score_adj(m, pid, (int)((s >> 46) % 2001) - 1000);
			break;
		default:
			mm_file_write(m, files[(s >> 42) % 3], pg * PG, buf, 100);
			break;
		}
		tu_check(m, "random step");
	}
	mm_digest(m, digest);
	mm_machine_destroy(m);
}

TEST(reclaim_random_checked_and_deterministic)
{
	int steps = (int)th_scale(1500);
	for (uint64_t seed = 1; seed <= 3; seed++) {
		char a[MM_DIGEST_HEX], b[MM_DIGEST_HEX];
		random_run(seed, steps, a);
		random_run(seed, steps, b);
		ASSERT_EQ_STR(a, b);
	}
}
