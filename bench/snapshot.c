/*
 * bench/snapshot.c — snapshot images and the JSON baseline of `mmsim run`
 * (SPEC §9, docs/durability.md), used by bench/durability.
 *
 *   bench-snapshot image [RUNS]
 *       a 1 GiB x86_64 machine with a busy history (a process with 512 MiB
 *       mapped and written, a forked child sharing it copy-on-write, 4096
 *       kmallocs, 64 vmallocs): the image size, and per run the time of
 *       mm_snapshot_save and of mm_snapshot_load (which re-checks the
 *       digest) beside, in the same run, mm_machine_create of the same
 *       config (booting the empty machine) and a memcpy of the image;
 *       min/median/max over the runs (at least 5).  The loaded machine's
 *       digest must equal the saved one's.
 *   bench-snapshot parse FILE
 *       jansson's bare parse rate of an NDJSON file: every line through
 *       json_loadb (JSON_REJECT_DUPLICATES, as `mmsim run` reads it) and
 *       json_decref, nothing else; prints "lines seconds".
 *
 * A host program (clock, stdio).  Exit 0 when it ran, 1 on failure.
 */
#include "engine/mm.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void stats(const char *what, double *v, int n, const char *unit,
		  double scale)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	printf("%-34s min %9.2f  median %9.2f  max %9.2f %s\n", what,
	       v[0] * scale, v[n / 2] * scale, v[n - 1] * scale, unit);
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "bench-snapshot: %s: %s\n", what, mm_errname(rc));
	return 1;
}

static int busy_machine(struct mm_config *cfg, struct mm_machine **out)
{
	char err[160];
	struct mm_machine *m;
	uint64_t addr, a;
	int pid, child, cache, rc;

	mm_config_default(cfg);
	cfg->memory = 1ull << 30;
	rc = mm_machine_create(cfg, &m, err, sizeof(err));
	if (rc)
		return fail(err, rc);
	if ((rc = mm_spawn(m, "bench", -1, &pid)) ||
	    (rc = mm_mmap(m, pid, 0, 512ull << 20, MM_PROT_READ | MM_PROT_WRITE,
			  MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &addr)))
		return fail("spawn/mmap", rc);
	struct mm_touch_result r;
	if ((rc = mm_touch(m, pid, addr, 512ull << 20, MM_ACCESS_WRITE, &r)) ||
	    (rc = mm_fork(m, pid, &child)))
		return fail("touch/fork", rc);
	for (int i = 0; i < 4096; i++)
		if ((rc = mm_kmalloc(m, 32 + (uint64_t)(i % 64) * 16, MM_GFP_KERNEL,
				     i % cfg->cpus, &a, &cache)))
			return fail("kmalloc", rc);
	for (int i = 0; i < 64; i++)
		if ((rc = mm_vmalloc(m, (uint64_t)(1 + i % 8) * MM_PAGE_SIZE, 0, &a)))
			return fail("vmalloc", rc);
	*out = m;
	return 0;
}

#define MAX_RUNS 101

static int image(int runs)
{
	struct mm_config cfg;
	struct mm_machine *m = NULL, *r, *e;
	double save[MAX_RUNS], load[MAX_RUNS], boot[MAX_RUNS], copy[MAX_RUNS];
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX], err[200];
	size_t size = 0;

	if (busy_machine(&cfg, &m))
		return 1;
	mm_digest(m, d0);
	for (int i = 0; i < runs; i++) {
		struct mm_bytes img = {0};
		double t0 = now();
		int rc = mm_snapshot_save(m, &img);
		double t1 = now();
		if (rc)
			return fail("save", rc);
		rc = mm_snapshot_load(img.p, img.len, &r, err, sizeof(err));
		double t2 = now();
		if (rc)
			return fail(err, rc);
		rc = mm_machine_create(&cfg, &e, err, sizeof(err));
		double t3 = now();
		if (rc)
			return fail(err, rc);
		void *dst = malloc(img.len);
		if (!dst)
			return fail("malloc", -MM_ENOMEM);
		double t4 = now();
		memcpy(dst, img.p, img.len);
		double t5 = now();
		mm_digest(r, d1);
		if (strcmp(d0, d1) != 0) {
			fprintf(stderr, "bench-snapshot: digest %s after load, %s "
				"saved\n", d1, d0);
			return 1;
		}
		save[i] = t1 - t0;
		load[i] = t2 - t1;
		boot[i] = t3 - t2;
		copy[i] = t5 - t4;
		size = img.len;
		free(dst);
		free(img.p);
		mm_machine_destroy(r);
		mm_machine_destroy(e);
	}
	printf("1 GiB machine (131072 pages written, a COW child, slabs, "
	       "vmalloc): image %zu bytes (%.1f MiB), %d runs\n", size,
	       (double)size / (1 << 20), runs);
	double ratio[MAX_RUNS];
	for (int i = 0; i < runs; i++)
		ratio[i] = load[i] / boot[i];
	stats("mm_snapshot_save", save, runs, "ms", 1e3);
	stats("mm_snapshot_load (restore)", load, runs, "ms", 1e3);
	stats("baseline: mm_machine_create (boot)", boot, runs, "ms", 1e3);
	stats("baseline: memcpy of the image", copy, runs, "ms", 1e3);
	stats("restore / boot", ratio, runs, "x", 1);
	printf("JSON {\"image_bytes\": %zu, \"save_ms\": [%.3f, %.3f, %.3f], "
	       "\"restore_ms\": [%.3f, %.3f, %.3f], \"boot_ms\": [%.3f, %.3f, %.3f], "
	       "\"memcpy_ms\": [%.3f, %.3f, %.3f], \"runs\": %d}\n", size,
	       save[0] * 1e3, save[runs / 2] * 1e3, save[runs - 1] * 1e3,
	       load[0] * 1e3, load[runs / 2] * 1e3, load[runs - 1] * 1e3,
	       boot[0] * 1e3, boot[runs / 2] * 1e3, boot[runs - 1] * 1e3,
	       copy[0] * 1e3, copy[runs / 2] * 1e3, copy[runs - 1] * 1e3, runs);
	mm_machine_destroy(m);
	return 0;
}

static int parse(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lines = 0;
	json_error_t je;

	if (!f) {
		perror(path);
		return 1;
	}
	double t0 = now();
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &je);
		if (!j) {
			fprintf(stderr, "%s:%ld: %s\n", path, lines + 1, je.text);
			return 1;
		}
		json_decref(j);
		lines++;
	}
	double t1 = now();
	free(line);
	fclose(f);
	printf("%ld %.6f\n", lines, t1 - t0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "image")) {
		int runs = argc >= 3 ? atoi(argv[2]) : 5;
		if (runs < 5 || runs > MAX_RUNS)
			runs = 5;
		return image(runs);
	}
	if (argc == 3 && !strcmp(argv[1], "parse"))
		return parse(argv[2]);
	fprintf(stderr, "usage: bench-snapshot image [RUNS] | parse FILE\n");
	return 2;
}
