/*
 * test_policy.c — experiment mode (engine/policy.c): the trace operation
 * under fifo, lru and opt against textbook reference implementations (a
 * frames array and linear searches, written from the definitions), over
 * thousands of seeded random traces: the H/M sequence, the counts and the
 * final resident set must be identical.  clock and random are checked for
 * their own rules (clock: a referenced page survives one sweep; random:
 * same seed, same sequence), and every trace ends with a clean checker.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdlib.h>
#include <string.h>

#define PG 4096ull
#define W 0x100000000ull
#define RW (MM_PROT_READ | MM_PROT_WRITE)
#define FIX (MM_MAP_PRIVATE | MM_MAP_FIXED | MM_MAP_ANONYMOUS)

/* ---- the textbook, straight from the definitions ------------------------ */

/* Simulates policy over refs with k frames; writes seq and the resident
 * pages (ascending); returns their count. */
static int textbook(enum mm_page_policy policy, const uint64_t *refs, int n,
		    int k, char *seq, uint64_t *res)
{
	uint64_t frame[64];
	int loaded[64], used[64], nf = 0;

	for (int i = 0; i < n; i++) {
		int hit = -1;
		for (int f = 0; f < nf; f++)
			if (frame[f] == refs[i])
				hit = f;
		if (hit >= 0) {
			seq[i] = 'H';
			used[hit] = i;
			continue;
		}
		seq[i] = 'M';
		int slot = nf;
		if (nf == k) {
			slot = 0;
			for (int f = 1; f < nf; f++) {
				if (policy == MM_POLICY_FIFO && loaded[f] < loaded[slot])
					slot = f;
				if (policy == MM_POLICY_LRU && used[f] < used[slot])
					slot = f;
			}
			if (policy == MM_POLICY_OPT) {
				int best = -1;
				for (int f = 0; f < nf; f++) {
					int next = n + (n - loaded[f]); /* never: first loaded */
					for (int j = i + 1; j < n; j++)
						if (refs[j] == frame[f]) {
							next = j;
							break;
						}
					if (next > best) {
						best = next;
						slot = f;
					}
				}
			}
		} else {
			nf++;
		}
		frame[slot] = refs[i];
		loaded[slot] = used[slot] = i;
	}
	seq[n] = 0;
	for (int f = 0; f < nf; f++)
		res[f] = frame[f];
	for (int a = 0; a < nf; a++)
		for (int b = a + 1; b < nf; b++)
			if (res[b] < res[a]) {
				uint64_t t = res[a];
				res[a] = res[b];
				res[b] = t;
			}
	return nf;
}

static struct mm_machine *mk(enum mm_page_policy policy, uint64_t seed)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	c.page_policy = policy;
	c.seed = seed;
	return tu_machine(&c);
}

static int spawn_limited(struct mm_machine *m, int64_t limit, uint64_t pages)
{
	int pid = 0;
	uint64_t out;
	ASSERT_EQ(mm_spawn(m, "t", -1, &pid), 0);
	ASSERT_EQ(mm_set_rss_limit(m, pid, limit), 0);
	ASSERT_EQ(mm_mmap(m, pid, W, pages * PG, RW, FIX, -1, 0, &out), 0);
	return pid;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void differential(enum mm_page_policy policy)
{
	int rounds = th_scale(1500);
	uint64_t s = 0x9e3779b97f4a7c15ull + (uint64_t)policy;
	struct mm_machine *m = mk(policy, 1);

	for (int r = 0; r < rounds; r++) {
		int n = 1 + (int)(rnd(&s) % 60), pages = 1 + (int)(rnd(&s) % 12);
		int k = 1 + (int)(rnd(&s) % 8);
		uint64_t refs[64], res[64], got_res[64];
		char want[65], got[65];
		for (int i = 0; i < n; i++)
			refs[i] = rnd(&s) % (uint64_t)pages;
		int nres = textbook(policy, refs, n, k, want, res);
		int pid = spawn_limited(m, k, (uint64_t)pages);
		struct mm_trace_result tr;
		enum mm_access acc = r % 2 ? MM_ACCESS_WRITE : MM_ACCESS_READ;
		ASSERT_EQ(mm_trace(m, pid, W, refs, (size_t)n, acc, got, got_res,
				   &tr), 0);
		ASSERT_EQ_STR(got, want);
		ASSERT_EQ_U64(tr.nr_resident, (uint64_t)nres);
		for (int i = 0; i < nres; i++)
			ASSERT_EQ_U64(got_res[i], res[i]);
		uint64_t misses = 0;
		for (int i = 0; i < n; i++)
			misses += want[i] == 'M';
		ASSERT_EQ_U64(tr.misses, misses);
		ASSERT_EQ_U64(tr.hits, (uint64_t)n - misses);
		if (r % 100 == 0)
			tu_check(m, "trace");
		ASSERT_EQ(mm_exit(m, pid, 0), 0);
	}
	tu_check(m, "end");
	mm_machine_destroy(m);
}

TEST(policy_fifo_matches_textbook) { differential(MM_POLICY_FIFO); }
TEST(policy_lru_matches_textbook) { differential(MM_POLICY_LRU); }
TEST(policy_opt_matches_textbook) { differential(MM_POLICY_OPT); }

/* The classic: Belady's anomaly string under FIFO, 3 and 4 frames. */
TEST(policy_fifo_belady_anomaly)
{
	static const uint64_t refs[] = {1, 2, 3, 4, 1, 2, 5, 1, 2, 3, 4, 5};
	struct mm_machine *m = mk(MM_POLICY_FIFO, 1);
	char seq[16];
	uint64_t res[16];
	struct mm_trace_result tr;

	int pid = spawn_limited(m, 3, 8);
	ASSERT_EQ(mm_trace(m, pid, W, refs, 12, MM_ACCESS_WRITE, seq, res, &tr), 0);
	ASSERT_EQ_STR(seq, "MMMMMMMHHMMH");
	ASSERT_EQ_U64(tr.misses, 9);
	int pid4 = spawn_limited(m, 4, 8);
	ASSERT_EQ(mm_trace(m, pid4, W, refs, 12, MM_ACCESS_WRITE, seq, res, &tr), 0);
	ASSERT_EQ_STR(seq, "MMMMHHMMMMMM");
	ASSERT_EQ_U64(tr.misses, 10);
	ASSERT_EQ_U64(tr.nr_resident, 4);
	ASSERT_EQ_U64(res[0], 2);
	ASSERT_EQ_U64(res[3], 5);
	/* evicted pages are really gone: rss = the resident set */
	ASSERT_EQ_U64(mm_task_mm(m, mm_task_get(m, pid4))->rss_anon, 4);
	tu_check(m, "belady");
	mm_machine_destroy(m);
}

/* Clock: frames 0, 1, 2 load with their accessed bits set; the miss on 3
 * sweeps all three clear and evicts page 0 (hand on frame 1 after); 1 is
 * referenced again (bit set); the miss on 4 clears page 1's bit (second
 * chance) and evicts page 2. */
TEST(policy_clock_second_chance)
{
	static const uint64_t refs[] = {0, 1, 2, 3, 1, 4};
	struct mm_machine *m = mk(MM_POLICY_CLOCK, 1);
	char seq[8];
	uint64_t res[8];
	struct mm_trace_result tr;

	int pid = spawn_limited(m, 3, 8);
	ASSERT_EQ(mm_trace(m, pid, W, refs, 6, MM_ACCESS_WRITE, seq, res, &tr), 0);
	ASSERT_EQ_STR(seq, "MMMMHM");
	ASSERT_EQ_U64(tr.nr_resident, 3);
	ASSERT_EQ_U64(res[0], 1);
	ASSERT_EQ_U64(res[1], 3);
	ASSERT_EQ_U64(res[2], 4);
	/* the bit the sweep cleared is clear in the PTE (MMU state) */
	struct mm_translation t;
	ASSERT_EQ(mm_pagetable_walk(m, pid, W + PG, &t), 0);
	ASSERT(t.mapped);
	ASSERT_EQ_U64(t.walk[t.nr_steps - 1].entry & MM_PTE_ACCESSED, 0);
	tu_check(m, "clock");
	mm_machine_destroy(m);
}

TEST(policy_random_is_seeded)
{
	uint64_t refs[400], s = 7;
	char a[401], b[401];
	uint64_t res[400];
	struct mm_trace_result tr;

	for (int i = 0; i < 400; i++)
		refs[i] = rnd(&s) % 20;
	for (int k = 0; k < 2; k++) {
		struct mm_machine *m = mk(MM_POLICY_RANDOM, 42);
		int pid = spawn_limited(m, 5, 20);
		ASSERT_EQ(mm_trace(m, pid, W, refs, 400, MM_ACCESS_READ,
				   k ? b : a, res, &tr), 0);
		ASSERT_EQ_U64(tr.nr_resident, 5);
		tu_check(m, "random");
		mm_machine_destroy(m);
	}
	ASSERT_EQ_STR(a, b);
}

/* Without a limit every page stays; pages outside a VMA raise SIGSEGV,
 * which ends the trace and kills the process. */
TEST(policy_unlimited_and_sigsegv)
{
	static const uint64_t refs[] = {0, 1, 0, 1, 2, 0};
	struct mm_machine *m = mk(MM_POLICY_LRU, 1);
	char seq[8];
	uint64_t res[8];
	struct mm_trace_result tr;

	int pid = spawn_limited(m, -1, 8);
	ASSERT_EQ(mm_trace(m, pid, W, refs, 6, MM_ACCESS_READ, seq, res, &tr), 0);
	ASSERT_EQ_STR(seq, "MMHHMH");
	ASSERT_EQ_U64(tr.nr_resident, 3);
	static const uint64_t bad[] = {0, 100, 1};
	ASSERT_EQ(mm_trace(m, pid, W, bad, 3, MM_ACCESS_READ, seq, res, &tr), 0);
	ASSERT_EQ(tr.sig, MM_SIGSEGV);
	ASSERT_EQ_STR(seq, "HM");
	ASSERT(mm_task_get(m, pid) == NULL);
	ASSERT_EQ(mm_trace(m, 9999, W, refs, 6, MM_ACCESS_READ, seq, res, &tr),
		  -MM_ESRCH);
	tu_check(m, "sigsegv");
	mm_machine_destroy(m);
}

/* A file mapping: a miss maps only its own page (no fault-around), so the
 * next reference to a neighbour is a miss too, and only the referenced
 * pages are resident (the soak once found fault-around's pages "hit"). */
TEST(policy_file_mapping_one_page_per_miss)
{
	static const uint64_t refs[] = {0, 2, 0, 5, 2};
	struct mm_machine *m = mk(MM_POLICY_FIFO, 1);
	uint8_t data[16 * 4096];
	char seq[8];
	uint64_t res[8], out;
	struct mm_trace_result tr;
	int pid = 0, id;

	memset(data, 'x', sizeof(data));
	ASSERT_EQ(mm_file_create(m, "f", sizeof(data), data, sizeof(data), &id), 0);
	ASSERT_EQ(mm_spawn(m, "t", -1, &pid), 0);
	ASSERT_EQ(mm_set_rss_limit(m, pid, 2), 0);
	ASSERT_EQ(mm_mmap(m, pid, W, sizeof(data), MM_PROT_READ,
			  MM_MAP_PRIVATE | MM_MAP_FIXED, id, 0, &out), 0);
	ASSERT_EQ(mm_trace(m, pid, W, refs, 5, MM_ACCESS_READ, seq, res, &tr), 0);
	ASSERT_EQ_STR(seq, "MMHMH");
	ASSERT_EQ_U64(tr.nr_resident, 2);
	ASSERT_EQ_U64(res[0], 2);
	ASSERT_EQ_U64(res[1], 5);
	ASSERT_EQ(m->cfg.fault_around_bytes, 65536u); /* restored */
	tu_check(m, "file trace");
	mm_machine_destroy(m);
}
