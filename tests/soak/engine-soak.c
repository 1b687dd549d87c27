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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ops.h"
#include "tests/fuzz/opgen.h"

#define SOAK_MAX_MACHINES 8
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
	uint64_t ops = 20000, seeds[16];
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
		else {
			fprintf(stderr, "usage: engine-soak [--ops N] [--seeds "
				"1,2] [--machines K] [--check-every C] [--trace PREFIX]\n");
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
