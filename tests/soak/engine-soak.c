/*
 * engine-soak.c — the randomized engine soak: random operation records from
 * the operation table (tests/fuzz/opgen.h, so every op is exercised through
 * the same decoder and applier the server uses) on several machines per
 * seed and arch, the invariant checker after every 1,000 records of a
 * machine and on every machine at the end.  The first seed is run twice
 * and must give the same digests (determinism).
 *
 *   engine-soak [--ops N] [--seeds 1,2,3] [--machines K] [--check-every C]
 *               [--trace PREFIX]
 *
 * N records per seed and arch (default 20000), spread over K machines
 * (default 3) in slices of 1,000; C (default 1000; 1 to find the record
 * that broke an invariant) records between checks.  Each (seed, arch) is one test; the
 * output ends with "N passed, N failed".  MMSIM_SRCDIR/golden/elf gives
 * the exec images.
 *
 *   engine-soak --pressure N [--first K] [--seeds S]
 *
 * runs N random pressure sequences (from sequence K; --check-every 1
 * checks after every operation and names the one that broke) instead (soak_pressure below): small
 * machines under memory pressure, each sequence applied twice, once
 * straight and once through a snapshot save and load halfway; both must
 * end on the same digest with the checker clean.  Every 1,000 sequences
 * are one test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ops.h"
#include "tests/fuzz/opgen.h"

#define SOAK_MAX_MACHINES 8
#define SOAK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SOAK_SLICE 1000

static struct og_state soak_proto;
static uint64_t soak_check_every = SOAK_SLICE;
static const char *soak_trace;

/* A config drawn from the seed: 16..64 MiB, 1..4 cpus, 1..2 nodes, no
 * swap or 8/16 MiB of it. */
static void soak__config(struct mm_config *c, enum mm_arch arch,
			 struct og_src *s, int k)
{
	mm_config_default(c);
	c->arch = arch;
	c->memory = (16u << og_below(s, 3)) << 20;
	c->cpus = 1 + (int)og_below(s, 4);
	c->nodes = arch == MM_ARCH_X86_64 && c->memory >= (32u << 20) && k == 1
		? 2 : 1;
	c->seed = og_below(s, 1000);
	c->overcommit = (enum mm_overcommit)og_below(s, 3);
	c->pid_max = 301 + (int)og_below(s, 2) * 1000;
	c->swap = og_below(s, 3) * (8ull << 20);
}

/* ---- pressure sequences ------------------------------------------------- */

/*
 * One sequence: a machine of 8..24 MiB (x86_64 with 1 or 2 nodes, or
 * i386), then SOAK_PRESSURE_OPS operations drawn up front (so both runs
 * apply the same ones): files created, read, written, synced, truncated
 * and deleted; file and anonymous mappings touched, advised (cold,
 * pageout, dontneed); forks and exits; ticks (kswapd), proactive reclaim,
 * dropCaches and kernel allocations that push to direct reclaim and the
 * OOM killer.  Slots name the files, processes and regions; what an
 * operation finds missing it skips (the same way in both runs).
 */
#define SOAK_PRESSURE_OPS 64
#define SOAK_SLOTS 4
#define SOAK_BASE 0x10000000ull       /* region r at BASE + r * 16 MiB */
#define SOAK_REGION_PAGES 4096ull

struct soak_op {
	uint8_t kind, slot, arg;
	uint32_t a, b;
};

struct soak_seq {
	struct mm_config cfg;
	struct soak_op op[SOAK_PRESSURE_OPS];
};

/* The runner's names for what the machine holds (file ids, pids): the
 * same after a snapshot, since the machine is. */
struct soak_names {
	int file[SOAK_SLOTS];
	int pid[SOAK_SLOTS];
	char name[SOAK_SLOTS][8];
};

enum { SP_CREATE, SP_READ, SP_SPARSE, SP_WRITE, SP_TRUNCATE, SP_DELETE, SP_SYNC,
       SP_MMAP, SP_TOUCH, SP_MADVISE, SP_FORK, SP_EXIT, SP_TICK, SP_RECLAIM,
       SP_DROP, SP_KALLOC, SP_OOM_ADJ, SP_KINDS };

static void soak__draw(struct soak_seq *q, struct og_src *s)
{
	mm_config_default(&q->cfg);
	q->cfg.arch = og_below(s, 4) ? MM_ARCH_X86_64 : MM_ARCH_I386;
	q->cfg.memory = (6ull + 2 * og_below(s, 6)) << 20;
	q->cfg.nodes = q->cfg.arch == MM_ARCH_X86_64 && q->cfg.memory >= (8u << 20) &&
		       og_below(s, 3) == 0 ? 2 : 1;
	q->cfg.cpus = 1 + (int)og_below(s, 2);
	q->cfg.seed = og_below(s, 1u << 20);
	q->cfg.swappiness = (int)og_below(s, 201);
	q->cfg.overcommit = (enum mm_overcommit)og_below(s, 3);
	q->cfg.kswapd_pages_per_tick = 32 + og_below(s, 128);
	for (int i = 0; i < SOAK_PRESSURE_OPS; i++) {
		struct soak_op *o = &q->op[i];
		/* reads and touches weigh more: they make the pressure */
		static const uint8_t weighted[] = {
			SP_READ, SP_READ, SP_READ, SP_READ, SP_READ, SP_TOUCH,
			SP_TOUCH, SP_TOUCH, SP_TOUCH, SP_CREATE, SP_CREATE,
			SP_MMAP, SP_MMAP, SP_KALLOC};
		uint64_t w = og_below(s, SP_KINDS + sizeof(weighted));
		o->kind = (uint8_t)(w < SP_KINDS ? w : weighted[w - SP_KINDS]);
		o->slot = (uint8_t)og_below(s, SOAK_SLOTS);
		o->arg = (uint8_t)og_below(s, 256);
		o->a = (uint32_t)og_below(s, SOAK_REGION_PAGES);
		o->b = 1 + (uint32_t)og_below(s, 1024);
	}
}

static void soak__apply(struct mm_machine *m, struct soak_names *nm,
			const struct soak_op *o)
{
	static uint8_t buf[1 << 16];
	int *file = &nm->file[o->slot], *pid = &nm->pid[o->slot];
	uint64_t region = SOAK_BASE + (uint64_t)(o->arg % 4) * (SOAK_REGION_PAGES << 12);
	uint64_t off = (uint64_t)o->a << 12;
	uint64_t len = (uint64_t)SOAK_MIN(o->b, SOAK_REGION_PAGES - o->a) << 12;
	uint64_t got, major, addr;
	struct mm_touch_result tr;
	struct mm_tick_result kr;
	struct mm_reclaim_stats rs;
	struct mm_drop_result dr;
	struct mm_alloc_result ar;

	if (*pid > 0 && !mm_task_get(m, *pid))
		*pid = 0;       /* the OOM killer took it */
	if (*file >= 0 && !mm_file_get(m, *file))
		*file = -1;
	switch (o->kind) {
	case SP_CREATE:
		if (*file < 0 && !mm_file_create(m, nm->name[o->slot],
						 off + 8 * len, buf,
						 o->arg & 1 ? 100 : 0, file))
			break;
		/* an existing file is read instead */
		/* fall through */
	case SP_READ:
		for (uint64_t p = 0; *file >= 0 && p < len; p += sizeof(buf))
			mm_file_read(m, *file, off + p, sizeof(buf), buf, &got, &major);
		break;
	case SP_SPARSE: /* one page in 64: leaves of few pages, then shadows */
		for (uint64_t p = 0; *file >= 0 && p < len; p += 8 << 12)
			mm_file_read(m, *file, (off + 8 * p) % (8 * len + off + 1),
				     64, buf, &got, &major);
		break;
	case SP_WRITE:
		if (*file >= 0)
			mm_file_write(m, *file, off, buf, SOAK_MIN(len, sizeof(buf)));
		break;
	case SP_TRUNCATE:
		if (*file >= 0)
			mm_file_truncate(m, *file, off + (o->arg & 0xfff));
		break;
	case SP_DELETE:
		if (*file >= 0 && !mm_file_delete(m, *file))
			*file = -1;
		break;
	case SP_SYNC:
		if (*file >= 0)
			mm_file_sync(m, *file);
		break;
	case SP_MMAP:
		if (!*pid && mm_spawn(m, "p", -1, pid))
			*pid = 0;
		if (!*pid)
			break;
		if (o->arg & 0x10 && *file >= 0)
			mm_mmap(m, *pid, region, SOAK_REGION_PAGES << 12,
				MM_PROT_READ | MM_PROT_WRITE,
				(o->arg & 0x20 ? MM_MAP_SHARED : MM_MAP_PRIVATE) |
				MM_MAP_FIXED, *file, 0, &addr);
		else
			mm_mmap(m, *pid, region, SOAK_REGION_PAGES << 12,
				MM_PROT_READ | MM_PROT_WRITE,
				MM_MAP_PRIVATE | MM_MAP_ANONYMOUS | MM_MAP_FIXED, -1,
				0, &addr);
		break;
	case SP_TOUCH:
		if (*pid)
			mm_touch(m, *pid, region + off, len, o->arg & 0x40 ?
				 MM_ACCESS_WRITE : MM_ACCESS_READ, &tr);
		break;
	case SP_MADVISE: {
		static const int adv[4] = {MM_MADV_COLD, MM_MADV_PAGEOUT,
					   MM_MADV_DONTNEED, MM_MADV_RANDOM};
		if (*pid)
			mm_madvise(m, *pid, region + off, len, adv[o->arg >> 6]);
		break;
	}
	case SP_FORK: {
		int *child = &nm->pid[(o->slot + 1) % SOAK_SLOTS];
		if (*pid && !*child && mm_fork(m, *pid, child))
			*child = 0;
		break;
	}
	case SP_EXIT:
		if (*pid && !mm_exit(m, *pid, 0))
			*pid = 0;
		break;
	case SP_TICK:
		mm_tick(m, 1 + o->arg % 8, &kr);
		break;
	case SP_RECLAIM:
		mm_reclaim(m, o->b / 2, o->arg % 3 == 2 ? 0 : -1, &rs);
		break;
	case SP_DROP:
		mm_drop_caches(m, 1 + o->arg % 3, &dr);
		break;
	case SP_KALLOC:
		for (uint32_t i = 0; i < o->b / 8; i++)
			if (mm_alloc_pages(m, MM_GFP_KERNEL, o->arg % 3, 0, -1, &ar))
				break;
		break;
	default:
		if (*pid)
			mm_set_oom_score_adj(m, *pid, (int)o->a % 2001 - 1000);
		break;
	}
}

/* Applies ops [from, to) of q; the checker's first violation into why. */
static int soak__steps(struct mm_machine *m, struct soak_names *nm,
		       const struct soak_seq *q, int from, int to, char *why,
		       size_t len)
{
	struct mm_violation v[1];

	for (int i = from; i < to; i++) {
		soak__apply(m, nm, &q->op[i]);
		if (soak_check_every == 1 && mm_check(m, v, 1)) {
			/* --check-every 1: the op that broke an invariant */
			fprintf(stderr, "engine-soak: op %d (kind %d slot %d arg "
				"%d a %u b %u) broke it\n", i, q->op[i].kind,
				q->op[i].slot, q->op[i].arg, q->op[i].a, q->op[i].b);
			break;
		}
	}
	if (mm_check(m, v, 1)) {
		snprintf(why, len, "after op %d: %s: %s", to, v[0].invariant,
			 v[0].detail);
		return -1;
	}
	return 0;
}

/* What the sequences' first runs did, summed: the proof of pressure. */
static const struct {
	const char *name;
	int item;
	bool node;
} soak_seen[] = {
	{"pgsteal_direct", MM_PGSTEAL_DIRECT, false},
	{"pgsteal_kswapd", MM_PGSTEAL_KSWAPD, false},
	{"oom_kill", MM_OOM_KILL, false},
	{"workingset_refault_file", MM_WORKINGSET_REFAULT_FILE, true},
	{"workingset_activate_file", MM_WORKINGSET_ACTIVATE_FILE, true},
	{"workingset_restore_file", MM_WORKINGSET_RESTORE_FILE, true},
	{"workingset_nodereclaim", MM_WORKINGSET_NODERECLAIM, true},
	{"pgrotated", MM_PGROTATED, false},
	{"slabs_scanned", MM_SLABS_SCANNED, false},
};
#define SOAK_SEEN (sizeof(soak_seen) / sizeof(soak_seen[0]))
static uint64_t soak_seen_sum[SOAK_SEEN];

static void soak__count(const struct mm_machine *m)
{
	for (size_t i = 0; i < SOAK_SEEN; i++) {
		if (!soak_seen[i].node) {
			soak_seen_sum[i] += m->events[soak_seen[i].item];
			continue;
		}
		for (int n = 0; n < m->nr_nodes; n++)
			soak_seen_sum[i] += (uint64_t)m->nodes[n].vm_stat[soak_seen[i].item];
	}
}

/* Sequence k of a pressure soak: 0, or -1 with the reason printed. */
static int soak__pressure_one(uint64_t seed, uint64_t k)
{
	static struct soak_seq q;
	struct soak_names nm[2];
	struct mm_machine *m[2] = {NULL, NULL};
	struct og_src s;
	char err[256] = "", mid[2][MM_DIGEST_HEX], end[2][MM_DIGEST_HEX];
	int half = SOAK_PRESSURE_OPS / 2, rc = -1;

	og_src_seed(&s, seed * 0x9e3779b97f4a7c15ull + k);
	soak__draw(&q, &s);
	for (int r = 0; r < 2; r++) {
		for (int i = 0; i < SOAK_SLOTS; i++) {
			nm[r].file[i] = -1;
			nm[r].pid[i] = 0;
			snprintf(nm[r].name[i], sizeof(nm[r].name[i]), "f%d", i);
		}
		if (mm_machine_create(&q.cfg, &m[r], err, sizeof(err)))
			goto out;
		if (soak__steps(m[r], &nm[r], &q, 0, half, err, sizeof(err)))
			goto out;
		mm_digest(m[r], mid[r]);
		if (r == 1) { /* the second run goes through an image */
			struct mm_bytes img;
			struct mm_machine *back;
			if (mm_snapshot_save(m[r], &img)) {
				snprintf(err, sizeof(err), "snapshot save failed");
				goto out;
			}
			int lr = mm_snapshot_load(img.p, img.len, &back, err,
						  sizeof(err));
			free(img.p);
			if (lr)
				goto out;
			mm_machine_destroy(m[r]);
			m[r] = back;
			mm_digest(m[r], mid[r]);
		}
		if (soak__steps(m[r], &nm[r], &q, half, SOAK_PRESSURE_OPS, err,
				sizeof(err)))
			goto out;
		mm_digest(m[r], end[r]);
		if (r == 0)
			soak__count(m[r]);
	}
	if (strcmp(mid[0], mid[1]) || strcmp(end[0], end[1]))
		snprintf(err, sizeof(err), "digests differ: halfway %s / %s, at "
			 "the end %s / %s", mid[0], mid[1], end[0], end[1]);
	else
		rc = 0;
out:
	if (rc)
		fprintf(stderr, "engine-soak: pressure seed %llu sequence %llu: "
			"%s\n", (unsigned long long)seed, (unsigned long long)k,
			err);
	for (int r = 0; r < 2; r++)
		if (m[r])
			mm_machine_destroy(m[r]);
	return rc;
}

/* Sequences [first, first + n); every 1,000 (and the rest) one test line. */
static void soak_pressure(uint64_t seed, uint64_t first, uint64_t n, int *pass,
			  int *fail)
{
	uint64_t bad = 0, done = 0;

	for (uint64_t k = first; k < first + n; k++) {
		bad += soak__pressure_one(seed, k) != 0;
		if (++done == 1000 || k + 1 == first + n) {
			printf("%s pressure seed %llu: sequences %llu..%llu\n",
			       bad ? "FAIL" : "ok  ", (unsigned long long)seed,
			       (unsigned long long)(k + 1 - done),
			       (unsigned long long)k);
			fflush(stdout);
			bad ? (*fail)++ : (*pass)++;
			bad = done = 0;
		}
	}
}

/* One soak: *digests gets the final digest of each machine.  0 or -1. */
static int soak__run(uint64_t seed, enum mm_arch arch, uint64_t ops,
		     int nm, char digests[][MM_DIGEST_HEX], uint64_t *answers,
		     uint64_t *op_ok)
{
	struct mm_machine *m[SOAK_MAX_MACHINES];
	struct og_state g[SOAK_MAX_MACHINES];
	struct og_src s;
	uint64_t applied[SOAK_MAX_MACHINES] = {0}, done = 0;
	char err[256];
	int rc = 0;

	og_src_seed(&s, seed * 2 + (uint64_t)arch);
	for (int k = 0; k < nm; k++) {
		struct mm_config cfg;
		soak__config(&cfg, arch, &s, k);
		if (mm_machine_create(&cfg, &m[k], err, sizeof(err))) {
			fprintf(stderr, "engine-soak: machine: %s\n", err);
			return -1;
		}
		g[k] = soak_proto;
		g[k].malformed = true;
		if (soak_trace) {
			char path[1024];
			snprintf(path, sizeof(path), "%s-%llu-%s-%d.ndjson", soak_trace,
				 (unsigned long long)seed, arch ? "i386" : "x86_64", k);
			g[k].trace = fopen(path, "w");
			json_t *h = json_pack("{s:i, s:{s:o}}", "mmsim_journal", 1,
					      "machine", "config",
					      api_config_encode(&cfg));
			char *text = json_dumps(h, JSON_COMPACT);
			if (g[k].trace && text)
				fprintf(g[k].trace, "%s\n", text);
			free(text);
			json_decref(h);
		}
	}
	while (done < ops && !rc) {
		int k = (int)og_below(&s, (uint64_t)nm);
		uint64_t n = ops - done < SOAK_SLICE ? ops - done : SOAK_SLICE;
		uint64_t before = applied[k];
		rc = og_run(&g[k], &s, m[k], n, soak_check_every, &applied[k]);
		done += applied[k] - before;
	}
	for (int k = 0; k < nm; k++) {
		struct mm_violation v[8];
		int nv = rc ? 0 : mm_check(m[k], v, 8);
		for (int i = 0; i < nv && i < 8; i++)
			fprintf(stderr, "engine-soak: machine %d at the end: %s: %s\n",
				k, v[i].invariant, v[i].detail);
		if (nv)
			rc = -1;
		mm_digest(m[k], digests[k]);
		for (int i = 0; i < 4; i++)
			answers[i] += g[k].answers[i];
		for (int i = 0; i < 64; i++)
			op_ok[i] += g[k].op_ok[i];
		mm_machine_destroy(m[k]);
		if (g[k].trace)
			fclose(g[k].trace);
	}
	return rc;
}

int main(int argc, char **argv)
{
	uint64_t ops = 20000, seeds[16], pressure = 0, first = 0;
	int nseeds = 0, nm = 3, pass = 0, fail = 0;
	const char *seedlist = "1,2";

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--ops"))
			ops = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seeds"))
			seedlist = argv[i + 1];
		else if (!strcmp(argv[i], "--machines"))
			nm = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--trace"))
			soak_trace = argv[i + 1];
		else if (!strcmp(argv[i], "--check-every"))
			soak_check_every = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--pressure"))
			pressure = strtoull(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--first"))
			first = strtoull(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "usage: engine-soak [--ops N] [--seeds "
				"1,2] [--machines K] [--check-every C] [--trace "
				"PREFIX] [--pressure N [--first K]]\n");
			return 2;
		}
	}
	if (nm < 1 || nm > SOAK_MAX_MACHINES)
		nm = 3;
	for (const char *p = seedlist; *p && nseeds < 16;) {
		char *end;
		seeds[nseeds++] = strtoull(p, &end, 10);
		p = *end == ',' ? end + 1 : end + strlen(end);
	}
	if (pressure) {
		for (int i = 0; i < nseeds; i++)
			soak_pressure(seeds[i], first, pressure, &pass, &fail);
		printf("%llu pressure sequences per seed, each twice (one "
		       "through a snapshot); in all:", (unsigned long long)pressure);
		for (size_t i = 0; i < SOAK_SEEN; i++)
			printf(" %s %llu", soak_seen[i].name,
			       (unsigned long long)soak_seen_sum[i]);
		printf("\n");
		printf("%d passed, %d failed\n", pass, fail);
		return fail ? 1 : 0;
	}
	const char *dir = getenv("MMSIM_SRCDIR");
	if (dir) {
		og_load_elf(&soak_proto, dir, "x86_64-exec.elf");
		og_load_elf(&soak_proto, dir, "x86_64-pie.elf");
		og_load_elf(&soak_proto, dir, "i386-exec.elf");
		og_load_elf(&soak_proto, dir, "i386-pie.elf");
	}

	uint64_t total = 0, answers[4] = {0}, op_ok[64] = {0};
	for (int i = 0; i < nseeds; i++) {
		for (int a = 0; a < 2; a++) {
			enum mm_arch arch = a ? MM_ARCH_I386 : MM_ARCH_X86_64;
			char d1[SOAK_MAX_MACHINES][MM_DIGEST_HEX];
			char d2[SOAK_MAX_MACHINES][MM_DIGEST_HEX];
			uint64_t junk[4] = {0}, junk_ok[64] = {0};
			int rc = soak__run(seeds[i], arch, ops, nm, d1, answers, op_ok);
			if (!rc && i == 0) {
				rc = soak__run(seeds[i], arch, ops, nm, d2, junk, junk_ok);
				for (int k = 0; !rc && k < nm; k++)
					if (strcmp(d1[k], d2[k])) {
						fprintf(stderr, "engine-soak: seed "
							"%llu: machine %d digests "
							"differ between two runs\n",
							(unsigned long long)seeds[i], k);
						rc = -1;
					}
			}
			printf("%s seed %llu %s: %llu operations\n", rc ? "FAIL" : "ok  ",
			       (unsigned long long)seeds[i], a ? "i386" : "x86_64",
			       (unsigned long long)ops);
			total += ops;
			rc ? fail++ : pass++;
		}
	}
	int covered = 0;
	for (size_t k = 0; k < api_nops && k < 64; k++)
		covered += op_ok[k] > 0;
	printf("%llu operations: %llu applied, %llu refused (400), %llu not "
	       "found (404), %llu errno (422); %d of %zu ops succeeded at least "
	       "once\n", (unsigned long long)total,
	       (unsigned long long)answers[0], (unsigned long long)answers[1],
	       (unsigned long long)answers[2], (unsigned long long)answers[3],
	       covered, api_nops);
	for (size_t k = 0; k < api_nops && k < 64; k++)
		if (!op_ok[k])
			printf("  never succeeded: %s\n", api_ops[k].name);
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}
