/*
 * bench/baseline.c — the host baselines of SPEC §9 that need a program of
 * their own; each prints one figure on stdout.
 *
 *   bench-baseline sqlite-commit DIR N
 *       N transactions of one small INSERT each into a fresh sqlite
 *       database in DIR, WAL with synchronous=FULL (an fsync per commit, as
 *       the journal of mmsimd in strict mode): commits per second.
 *   bench-baseline host-touch BYTES
 *       mmap BYTES of private anonymous memory and write one byte per 4 KiB
 *       page (one real minor fault each), then munmap: faults per second.
 *   bench-baseline jansson-parse FILE
 *       json_loadb() of every line of FILE (read into memory first, as
 *       `mmsim run` reads it from the page cache), nothing else: records
 *       per second.
 *
 * Exit status 0, or 1 with a message when something fails.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, const char *detail)
{
	fprintf(stderr, "bench-baseline: %s: %s\n", what, detail);
	return 1;
}

static int sqlite_commit(const char *dir, long n)
{
	char path[4096];
	sqlite3 *db;
	sqlite3_stmt *ins;

	snprintf(path, sizeof(path), "%s/baseline.db", dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return die(path, sqlite3_errmsg(db));
	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			 "CREATE TABLE t(seq INTEGER PRIMARY KEY, rec TEXT)",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "INSERT INTO t(rec) VALUES "
			       "('{\"op\":\"touch\",\"pid\":1}')", -1, &ins,
			       NULL) != SQLITE_OK)
		return die(path, sqlite3_errmsg(db));
	double t0 = now_s();
	for (long i = 0; i < n; i++) {
		if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
		    sqlite3_step(ins) != SQLITE_DONE || sqlite3_reset(ins) ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			return die(path, sqlite3_errmsg(db));
	}
	double t = now_s() - t0;
	sqlite3_finalize(ins);
	sqlite3_close(db);
	printf("%.1f\n", (double)n / t);
	return 0;
}

static int host_touch(long bytes)
{
	double t0 = now_s();
	char *p = mmap(NULL, (size_t)bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return die("mmap", "failed");
	/* no transparent huge pages: one fault per 4 KiB, as the simulation */
	madvise(p, (size_t)bytes, MADV_NOHUGEPAGE);
	for (long off = 0; off < bytes; off += 4096)
		((volatile char *)p)[off] = 1;
	munmap(p, (size_t)bytes);
	printf("%.0f\n", (double)(bytes / 4096) / (now_s() - t0));
	return 0;
}

static int jansson_parse(const char *file)
{
	FILE *f = fopen(file, "rb");
	char *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) || !(buf = malloc((size_t)len + 1)) ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len)
		return die(file, "cannot read");
	fclose(f);
	buf[len] = '\n';
	long records = 0;
	double t0 = now_s();
	for (char *p = buf, *end = buf + len; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p + 1));
		json_error_t e;
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, &e);
		if (!j)
			return die(file, e.text);
		json_decref(j);
		records++;
		p = nl + 1;
	}
	printf("%.0f\n", (double)records / (now_s() - t0));
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "sqlite-commit"))
		return sqlite_commit(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "host-touch"))
		return host_touch(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "jansson-parse"))
		return jansson_parse(argv[2]);
	fprintf(stderr, "usage: bench-baseline sqlite-commit DIR N | host-touch "
		"BYTES | jansson-parse FILE\n");
	return 2;
}
