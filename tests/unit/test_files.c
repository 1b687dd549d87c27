/*
 * test_files.c — in-memory files and the page cache (engine/pagecache.c):
 * create/write/read/truncate/delete with their slab objects, dirty
 * accounting and dropCaches; file mappings: shared pages seen by every
 * mapper and by readFile, private COW, write-notify faults, the
 * fault-around window (aligned, clipped to the VMA), major faults with
 * mmap read-around and async readahead, SIGBUS past EOF, truncate and
 * delete under a mapping, fork; the checker's page-cache invariant with
 * corruptions; a differential run against a byte model of every file and
 * mapping, with fork, exit and forced swap-out (MADV_PAGEOUT) of random
 * pages, a swap area or none.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdlib.h>
#include <string.h>

#define PG 4096ull
#define W 0x100000000ull /* 2 MiB aligned: PTE offset 0 */
#define RW (MM_PROT_READ | MM_PROT_WRITE)

static struct mm_machine *mk(void)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
	return tu_machine(&c);
}

static int spawn(struct mm_machine *m)
{
	int pid = 0;
	ASSERT_EQ(mm_spawn(m, "t", -1, &pid), 0);
	return pid;
}

/* A file of pages pages, page k filled with byte 'a' + k % 26. */
static int mkfile(struct mm_machine *m, const char *name, uint64_t pages)
{
	uint8_t *b = malloc(pages * PG);
	int id;
	ASSERT(b != NULL);
	for (uint64_t k = 0; k < pages; k++)
		memset(b + k * PG, 'a' + (int)(k % 26), PG);
	ASSERT_EQ(mm_file_create(m, name, pages * PG, b, pages * PG, &id), 0);
	free(b);
	tu_check(m, "create");
	return id;
}

static void fmap(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
		 int prot, int type, int file, uint64_t off)
{
	uint64_t out;
	ASSERT_EQ(mm_mmap(m, pid, addr, len, prot, type | MM_MAP_FIXED, file, off,
			  &out), 0);
	ASSERT_EQ_HEX(out, addr);
}

static uint32_t pfn_at(const struct mm_machine *m, int pid, uint64_t va)
{
	struct mm_translation t;
	ASSERT_EQ(mm_pagetable_walk(m, pid, va, &t), 0);
	return t.pfn;
}

/* A user store of one byte at va: the write fault, then the byte. */
static void store(struct mm_machine *m, int pid, uint64_t va, uint8_t byte)
{
	tu_touch(m, pid, va, 1, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_frame_write(m, pfn_at(m, pid, va), (uint32_t)(va % PG),
				 &byte, 1), 0);
}

static uint8_t load(struct mm_machine *m, int pid, uint64_t va)
{
	uint8_t b;
	tu_touch(m, pid, va, 1, MM_ACCESS_READ);
	mm_frame_read(m, pfn_at(m, pid, va), (uint32_t)(va % PG), &b, 1);
	return b;
}

static uint8_t fbyte(struct mm_machine *m, int id, uint64_t off)
{
	uint8_t b = 0xee;
	uint64_t got, major;
	ASSERT_EQ(mm_file_read(m, id, off, 1, &b, &got, &major), 0);
	ASSERT_EQ(got, 1);
	return b;
}

static int64_t stat_sum(const struct mm_machine *m, int item)
{
	int64_t n = 0;
	for (int i = 0; i < m->nr_nodes; i++)
		n += m->nodes[i].vm_stat[item];
	return n;
}

static uint64_t objs(const struct mm_machine *m, enum mm_engine_cache e)
{
	const struct mm_kmem_cache *c = m->caches[m->engine_caches[e]];
	uint64_t used = 0;
	for (uint32_t s = 0; s < m->nr_slabs; s++)
		if (m->slabs[s].pfn != MM_NIL && m->slabs[s].cache == c->id)
			used += m->slabs[s].inuse;
	return used;
}

TEST(files_create_write_read_truncate_delete)
{
	struct mm_machine *m = mk();
	uint64_t filp = objs(m, MM_CACHE_FILP), nodes = objs(m, MM_CACHE_RADIX_TREE_NODE);
	int id, id2;

	ASSERT_EQ(mm_file_create(m, "a", 10000, (const uint8_t *)"hello", 5, &id), 0);
	ASSERT_EQ(mm_file_create(m, "a", 1, NULL, 0, &id2), -MM_EEXIST);
	ASSERT_EQ(mm_file_create(m, "x/y", 1, NULL, 0, &id2), -MM_EINVAL);
	ASSERT_EQ(mm_file_create(m, "big", (uint64_t)MM_FILE_MAX_PAGES * PG + 1,
				 NULL, 0, &id2), -MM_EFBIG);
	ASSERT_EQ(objs(m, MM_CACHE_FILP), filp + 1);
	ASSERT_EQ(objs(m, MM_CACHE_RADIX_TREE_NODE), nodes + 1);
	ASSERT_EQ(mm_file_get(m, id)->size, 10000);
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 1); /* only the content page */
	ASSERT_EQ(stat_sum(m, MM_NR_DIRTY), 1);
	tu_check(m, "created");

	/* A write far away grows the tree upwards: a 3-level tree. */
	ASSERT_EQ(mm_file_write(m, id, 300000 * PG + 10, (const uint8_t *)"xyz", 3), 0);
	ASSERT_EQ(mm_file_get(m, id)->size, 300000 * PG + 13);
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 2);
	ASSERT(objs(m, MM_CACHE_RADIX_TREE_NODE) >= nodes + 4);
	tu_check(m, "grown");

	uint8_t buf[16];
	uint64_t got, major;
	ASSERT_EQ(mm_file_read(m, id, 1, 8, buf, &got, &major), 0);
	ASSERT_EQ(got, 8);
	ASSERT_EQ(major, 0);
	ASSERT(!memcmp(buf, "ello\0\0\0\0", 8));
	ASSERT_EQ(mm_file_read(m, id, 300000 * PG + 9, 16, buf, &got, &major), 0);
	ASSERT_EQ(got, 4);
	ASSERT(!memcmp(buf, "\0xyz", 4));

	/* Truncating drops the far page; the tree shrinks back. */
	ASSERT_EQ(mm_file_truncate(m, id, 3), 0);
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 1);
	ASSERT_EQ(objs(m, MM_CACHE_RADIX_TREE_NODE), nodes + 1);
	ASSERT_EQ(mm_file_read(m, id, 0, 16, buf, &got, &major), 0);
	ASSERT_EQ(got, 3);
	ASSERT_EQ(mm_file_truncate(m, id, 5), 0);
	ASSERT_EQ(mm_file_read(m, id, 0, 16, buf, &got, &major), 0);
	ASSERT(!memcmp(buf, "hel\0\0", 5)); /* the tail was zeroed */
	tu_check(m, "truncated");

	/* dropCaches: written back, dropped, read again from the disk. */
	struct mm_drop_result dr;
	ASSERT_EQ(mm_drop_caches(m, 3, &dr), 0);
	ASSERT_EQ(dr.pagecache, 1);
	ASSERT_EQ(stat_sum(m, MM_NR_FILE_PAGES), 0);
	ASSERT_EQ(stat_sum(m, MM_NR_DIRTY), 0);
	ASSERT_EQ(mm_file_read(m, id, 0, 16, buf, &got, &major), 0);
	ASSERT_EQ(major, 1);
	ASSERT(!memcmp(buf, "hel\0\0", 5));
	ASSERT_EQ(mm_drop_caches(m, 4, &dr), -MM_EINVAL);
	tu_check(m, "dropped");

	ASSERT_EQ(mm_file_delete(m, id), 0);
	ASSERT_EQ(mm_file_lookup(m, "a"), -MM_ENOENT);
	ASSERT_EQ(stat_sum(m, MM_NR_FILE_PAGES), 0);
	ASSERT_EQ(objs(m, MM_CACHE_FILP), filp);
	ASSERT_EQ(objs(m, MM_CACHE_RADIX_TREE_NODE), nodes);
	tu_check(m, "deleted");
	mm_machine_destroy(m);
}

TEST(files_shared_private_cow_and_writenotify)
{
	struct mm_machine *m = mk();
	int id = mkfile(m, "f", 4), a = spawn(m), b = spawn(m);

	fmap(m, a, W, 4 * PG, RW, MM_MAP_SHARED, id, 0);
	fmap(m, b, W, 4 * PG, RW, MM_MAP_SHARED, id, 0);
	/* read faults map read-only (write-notify): fault-around maps all 4 */
	struct mm_touch_result r = tu_touch(m, a, W, 4 * PG, MM_ACCESS_READ);
	ASSERT_EQ(r.minor, 1);
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, a))->rss_file, 4);
	ASSERT_EQ(load(m, a, W + 2 * PG), 'c');
	ASSERT_EQ(stat_sum(m, MM_NR_MAPPED), 4);
	/* the drop syncs: every page is clean now */
	struct mm_drop_result dr;
	ASSERT_EQ(mm_drop_caches(m, 1, &dr), 0);
	ASSERT_EQ(dr.pagecache, 0); /* all mapped */
	ASSERT_EQ(stat_sum(m, MM_NR_DIRTY), 0);
	/* write after read: one write-notify fault per page */
	r = tu_touch(m, a, W, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ(r.minor, 4);
	ASSERT_EQ(stat_sum(m, MM_NR_DIRTY), 4);
	r = tu_touch(m, a, W, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ(r.minor, 0);
	/* a store through a is seen through b and by readFile */
	store(m, a, W + PG + 7, 'Z');
	ASSERT_EQ(load(m, b, W + PG + 7), 'Z');
	ASSERT_EQ(fbyte(m, id, PG + 7), 'Z');
	ASSERT_EQ(pfn_at(m, a, W + PG), pfn_at(m, b, W + PG));

	/* private: reads share the cache page, a write copies it */
	int c = spawn(m);
	fmap(m, c, W, 4 * PG, RW, MM_MAP_PRIVATE, id, 0);
	ASSERT_EQ(load(m, c, W + PG + 7), 'Z');
	ASSERT_EQ(pfn_at(m, c, W + PG), pfn_at(m, a, W + PG));
	r = tu_touch(m, c, W + PG, 1, MM_ACCESS_WRITE);
	ASSERT_EQ(r.cow, 1);
	ASSERT(pfn_at(m, c, W + PG) != pfn_at(m, a, W + PG));
	store(m, c, W + PG + 7, 'p');
	ASSERT_EQ(fbyte(m, id, PG + 7), 'Z');
	ASSERT_EQ(load(m, a, W + PG + 7), 'Z');
	/* fault-around mapped page 3 read-only: its write is a wp fault */
	r = tu_touch(m, c, W + 3 * PG, 1, MM_ACCESS_WRITE);
	ASSERT_EQ(r.minor, 1);
	ASSERT_EQ(r.cow, 1);
	ASSERT_EQ(load(m, c, W + 3 * PG), 'd');
	/* a first write to an unmapped page: do_cow_fault, no fault-around */
	fmap(m, c, W + (1 << 21), 4 * PG, RW, MM_MAP_PRIVATE, id, 0);
	r = tu_touch(m, c, W + (1 << 21) + 2 * PG, 1, MM_ACCESS_WRITE);
	ASSERT_EQ(r.minor, 1);
	ASSERT_EQ(r.cow, 0);
	ASSERT_EQ(load(m, c, W + (1 << 21) + 2 * PG), 'c');
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, c))->rss_anon, 3);
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, c))->rss_file, 2);

	/* fork: the child shares the cache pages and the COW copy */
	int d;
	ASSERT_EQ(mm_fork(m, c, &d), 0);
	tu_check(m, "fork");
	ASSERT_EQ(load(m, d, W + PG + 7), 'p');
	ASSERT_EQ(load(m, d, W + 7), 'a');
	store(m, d, W + PG + 7, 'q');
	ASSERT_EQ(load(m, c, W + PG + 7), 'p');
	ASSERT_EQ(mm_exit(m, d, 0), 0);
	ASSERT_EQ(mm_exit(m, c, 0), 0);
	tu_check(m, "exits");
	mm_machine_destroy(m);
}

TEST(files_fault_around_window)
{
	struct mm_machine *m = mk();
	int id = mkfile(m, "f", 64), pid = spawn(m);

	/* aligned start: 16-page windows */
	fmap(m, pid, W, 64 * PG, MM_PROT_READ, MM_MAP_PRIVATE, id, 0);
	struct mm_touch_result r = tu_touch(m, pid, W, 64 * PG, MM_ACCESS_READ);
	ASSERT_EQ(r.minor, 4);
	ASSERT_EQ(r.major, 0);
	/* three pages in: the first window is clipped to the VMA start, the
	 * last to its end: 3..18, 19..31, 32..47, 48..63, 64..66 */
	fmap(m, pid, W + (3 << 21), 64 * PG, MM_PROT_READ, MM_MAP_PRIVATE, id, 0);
	ASSERT_EQ(mm_munmap(m, pid, W + (3 << 21), 64 * PG), 0);
	fmap(m, pid, W + (4 << 21) + 3 * PG, 64 * PG, MM_PROT_READ,
	     MM_MAP_PRIVATE, id, 0);
	r = tu_touch(m, pid, W + (4 << 21) + 3 * PG, 64 * PG, MM_ACCESS_READ);
	ASSERT_EQ(r.minor, 5);
	/* never across a page-table boundary: a VMA over two PTE tables */
	fmap(m, pid, W + (6 << 21) - 8 * PG, 16 * PG, MM_PROT_READ,
	     MM_MAP_PRIVATE, id, PG);
	r = tu_touch(m, pid, W + (6 << 21) - 8 * PG, 16 * PG, MM_ACCESS_READ);
	ASSERT_EQ(r.minor, 2);
	/* only cached pages: a hole in the cache faults on its own */
	int h;
	ASSERT_EQ(mm_file_create(m, "h", 16 * PG, NULL, 0, &h), 0);
	ASSERT_EQ(mm_file_write(m, h, 5 * PG, (const uint8_t *)"x", 1), 0);
	fmap(m, pid, W + (8 << 21), 16 * PG, MM_PROT_READ, MM_MAP_SHARED, h, 0);
	r = tu_touch(m, pid, W + (8 << 21) + 5 * PG, 1, MM_ACCESS_READ);
	ASSERT_EQ(r.minor, 1);
	ASSERT_EQ(r.major, 0);
	r = tu_touch(m, pid, W + (8 << 21) + 6 * PG, 1, MM_ACCESS_READ);
	ASSERT_EQ(r.major, 1); /* a hole: read from the disk */
	/* fault_around_bytes 4096: no fault-around */
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	c.fault_around_bytes = 4096;
	struct mm_machine *m2 = tu_machine(&c);
	int id2 = mkfile(m2, "f", 16), p2 = spawn(m2);
	fmap(m2, p2, W, 16 * PG, MM_PROT_READ, MM_MAP_SHARED, id2, 0);
	r = tu_touch(m2, p2, W, 16 * PG, MM_ACCESS_READ);
	ASSERT_EQ(r.minor, 16);
	mm_machine_destroy(m2);
	mm_machine_destroy(m);
}

TEST(files_major_faults_read_around)
{
	struct mm_machine *m = mk();
	int id = mkfile(m, "f", 64), pid = spawn(m);
	struct mm_drop_result dr;

	ASSERT_EQ(mm_drop_caches(m, 1, &dr), 0);
	ASSERT_EQ(dr.pagecache, 64);
	fmap(m, pid, W, 64 * PG, MM_PROT_READ, MM_MAP_PRIVATE, id, 0);
	uint64_t pgfault = m->events[MM_PGFAULT];
	/* page 0: major; read-around 0..31 (mark 24), the retry maps 0..15 */
	struct mm_touch_result r = tu_touch(m, pid, W, PG, MM_ACCESS_READ);
	ASSERT_EQ(r.major, 1);
	ASSERT_EQ(r.minor, 0);
	ASSERT_EQ(m->events[MM_PGFAULT] - pgfault, 1);
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 32);
	ASSERT_EQ(load(m, pid, W + 31 * PG), 'a' + 31 % 26);
	/* 16 faults around 16..31 but the mark; 24 hits the mark (async
	 * readahead of 32..63); 32 and 48 fault around */
	r = tu_touch(m, pid, W, 64 * PG, MM_ACCESS_READ);
	ASSERT_EQ(r.major, 0);
	ASSERT_EQ(r.minor, 3);
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 64);
	ASSERT_EQ(load(m, pid, W + 63 * PG), 'a' + 63 % 26);
	/* the mark at 32 was hit with no window ahead: nothing past EOF */
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 64);
	/* a fault in the middle: the window is centred (idx - 16) */
	ASSERT_EQ(mm_munmap(m, pid, W, 64 * PG), 0);
	ASSERT_EQ(mm_drop_caches(m, 1, &dr), 0);
	fmap(m, pid, W, 64 * PG, MM_PROT_READ, MM_MAP_SHARED, id, 0);
	r = tu_touch(m, pid, W + 40 * PG, PG, MM_ACCESS_READ);
	ASSERT_EQ(r.major, 1);
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 32); /* 24..55 */
	ASSERT(mm__xa_load(m, mm_file_get(m, id), 23) == MM_NIL);
	ASSERT(mm__xa_load(m, mm_file_get(m, id), 55) != MM_NIL);
	/* readFile of a cold file reads ahead */
	ASSERT_EQ(mm_munmap(m, pid, W, 64 * PG), 0);
	ASSERT_EQ(mm_drop_caches(m, 1, &dr), 0);
	uint8_t b[PG];
	uint64_t got, major;
	ASSERT_EQ(mm_file_read(m, id, 0, PG, b, &got, &major), 0);
	ASSERT_EQ(major, 4); /* get_init_ra_size(1, 32) */
	ASSERT_EQ(b[0], 'a');
	tu_check(m, "read");
	mm_machine_destroy(m);
}

TEST(files_sigbus_truncate_delete_under_mapping)
{
	struct mm_machine *m = mk();
	int id = mkfile(m, "f", 4), pid = spawn(m);

	/* a mapping longer than the file: SIGBUS past EOF */
	fmap(m, pid, W, 8 * PG, RW, MM_MAP_SHARED, id, 0);
	struct mm_touch_result r = tu_touch(m, pid, W, 8 * PG, MM_ACCESS_READ);
	ASSERT_EQ(r.pages, 4);
	ASSERT_EQ(r.signal.signo, MM_SIGBUS);
	ASSERT_EQ_STR(r.signal.code_name, "BUS_ADRERR");
	ASSERT_EQ_HEX(r.signal.addr, W + 4 * PG);
	ASSERT(mm_task_get(m, pid) == NULL);
	tu_check(m, "sigbus");

	/* truncate under a mapping: the pages past the end go, COW too */
	pid = spawn(m);
	int q = spawn(m);
	fmap(m, pid, W, 4 * PG, RW, MM_MAP_SHARED, id, 0);
	fmap(m, q, W, 4 * PG, RW, MM_MAP_PRIVATE, id, 0);
	tu_touch(m, pid, W, 4 * PG, MM_ACCESS_WRITE);
	tu_touch(m, q, W, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_file_truncate(m, id, PG + 100), 0);
	tu_check(m, "truncate");
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, pid))->rss_file, 2);
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, q))->rss_anon, 2);
	r = tu_touch(m, q, W + 2 * PG, 1, MM_ACCESS_READ);
	ASSERT_EQ(r.signal.signo, MM_SIGBUS);
	/* extend again: a hole, read from the disk as zeros */
	ASSERT_EQ(mm_file_truncate(m, id, 4 * PG), 0);
	r = tu_touch(m, pid, W + 3 * PG, 1, MM_ACCESS_READ);
	ASSERT_EQ(r.major, 1);
	ASSERT_EQ(load(m, pid, W + 3 * PG + 5), 0);
	ASSERT_EQ(load(m, pid, W + PG + 200), 0); /* the zeroed tail */

	/* delete: the name goes, the pages stay while mapped */
	ASSERT_EQ(mm_file_delete(m, id), 0);
	ASSERT_EQ(mm_file_lookup(m, "f"), -MM_ENOENT);
	ASSERT(stat_sum(m, MM_NR_FILE_PAGES) > 0);
	char maps[512];
	mm_proc_pid_maps(m, pid, maps, sizeof(maps));
	ASSERT(strstr(maps, "/f (deleted)") != NULL);
	int again;
	ASSERT_EQ(mm_file_create(m, "f", 1, NULL, 0, &again), 0);
	tu_check(m, "deleted, mapped");
	ASSERT_EQ(mm_exit(m, pid, 0), 0);
	ASSERT_EQ(stat_sum(m, MM_NR_FILE_PAGES), 0);
	tu_check(m, "released");
	mm_machine_destroy(m);
}

static void expect_violation(struct mm_machine *m, const char *inv)
{
	struct mm_violation v[16];
	int n = mm_check(m, v, 16);
	for (int i = 0; i < n && i < 16; i++)
		if (!strcmp(v[i].invariant, inv))
			return;
	th_fail(__FILE__, __LINE__, "no %s violation (%d others)", inv, n);
}

TEST(files_check_corruptions)
{
	struct mm_machine *m = mk();
	int id = mkfile(m, "f", 4), pid = spawn(m);
	fmap(m, pid, W, 4 * PG, RW, MM_MAP_SHARED, id, 0);
	tu_touch(m, pid, W, PG, MM_ACCESS_READ);
	struct mm_file *f = &m->files[id];
	uint32_t pfn = mm__xa_load(m, f, 1);
	struct mm_page *p = &m->pages[pfn];
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	mm_digest(m, d0);

	p->index++;
	expect_violation(m, "page-cache");
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	p->index--;
	f->nr_pages++;
	expect_violation(m, "page-cache");
	f->nr_pages--;
	m->nodes[0].vm_stat[MM_NR_DIRTY]++;
	expect_violation(m, "page-cache");
	m->nodes[0].vm_stat[MM_NR_DIRTY]--;
	m->nodes[0].vm_stat[MM_NR_MAPPED]--;
	expect_violation(m, "page-cache");
	m->nodes[0].vm_stat[MM_NR_MAPPED]++;
	m->xa_nodes[f->xa_root].count++;
	expect_violation(m, "page-cache");
	m->xa_nodes[f->xa_root].count--;
	p->refcount++;
	expect_violation(m, "page-cache");
	p->refcount--;
	mm_task_mm(m, mm_task_get(m, pid))->rss_file++;
	expect_violation(m, "rss-count");
	mm_task_mm(m, mm_task_get(m, pid))->rss_file--;
	m->nodes[0].vm_stat[MM_NR_FILE_PAGES]++;
	expect_violation(m, "shmem-object");
	m->nodes[0].vm_stat[MM_NR_FILE_PAGES]--;
	tu_check(m, "restored");
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	/* the digest follows the file's size, the disk and the ra state */
	f->size++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	f->size--;
	f->mmap_miss++;
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	f->mmap_miss--;
	mm_machine_destroy(m);
}

/* ---- differential run against a byte model ----------------------------- */

#define NF 3
#define NMAP 4
#define MAXPG 24

struct model_file {
	bool live;
	uint64_t size;
	uint8_t bytes[MAXPG * PG];
};

struct model_map {
	int pid, file;      /* file -1: slot unused */
	bool shared;
	uint64_t addr, pages, pgoff;
	uint8_t priv[MAXPG * PG]; /* private view: bytes after COW */
	bool cow[MAXPG];
};

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The byte a mapping shows at page k, offset o (the model's view). */
static uint8_t model_view(const struct model_file *fs, const struct model_map *mp,
			  uint64_t k, uint64_t o)
{
	if (!mp->shared && mp->cow[k])
		return mp->priv[k * PG + o];
	return fs[mp->file].bytes[(mp->pgoff + k) * PG + o];
}

/* The process of slot i exits; a fresh one takes its place. */
static void respawn(struct mm_machine *m, struct model_map *x)
{
	ASSERT_EQ(mm_exit(m, x->pid, 0), 0);
	x->pid = spawn(m);
	x->file = -1;
}

/* Returns the pages swapped in (pswpin + swpin_zero). */
static uint64_t diff_run(uint64_t seed, uint64_t swap)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
	c.swap = swap;
	struct mm_machine *m = tu_machine(&c);
	struct model_file *fs = calloc(NF, sizeof(*fs));
	struct model_map *mp = calloc(NMAP, sizeof(*mp));
	int ids[NF];
	uint64_t s = seed;
	ASSERT(fs && mp);
	for (int i = 0; i < NMAP; i++) {
		mp[i].file = -1;
		mp[i].pid = spawn(m);
		mp[i].addr = W + (uint64_t)i * (64ull << 20);
	}
	for (int step = 0; step < 400; step++) {
		int op = (int)(rnd(&s) % 16), fi = (int)(rnd(&s) % NF);
		if (op >= 12) /* more stores and loads, more swap-outs */
			op = op < 14 ? 4 + (op & 1) : 11;
		int mi = (int)(rnd(&s) % NMAP);
		struct model_map *x = &mp[mi];
		char name[4] = {'f', (char)('0' + fi), 0, 0};
		if (!fs[fi].live) {
			uint64_t size = rnd(&s) % (MAXPG * PG - PG) + 1;
			ASSERT_EQ(mm_file_create(m, name, size, NULL, 0, &ids[fi]), 0);
			memset(fs[fi].bytes, 0, sizeof(fs[fi].bytes));
			fs[fi].size = size;
			fs[fi].live = true;
			continue;
		}
		uint64_t off = rnd(&s) % (MAXPG * PG - 64), len = rnd(&s) % 64 + 1;
		uint8_t buf[64];
		switch (op) {
		case 0: /* writeFile */
			for (uint64_t k = 0; k < len; k++)
				buf[k] = (uint8_t)rnd(&s);
			ASSERT_EQ(mm_file_write(m, ids[fi], off, buf, len), 0);
			memcpy(fs[fi].bytes + off, buf, len);
			fs[fi].size = MM_MAX(fs[fi].size, off + len);
			break;
		case 1: { /* readFile */
			uint64_t got, major;
			ASSERT_EQ(mm_file_read(m, ids[fi], off, len, buf, &got,
					       &major), 0);
			uint64_t want = off >= fs[fi].size ? 0
				: MM_MIN(len, fs[fi].size - off);
			ASSERT_EQ(got, want);
			ASSERT(!memcmp(buf, fs[fi].bytes + off, got));
			break;
		}
		case 2: { /* truncateFile, not below a live mapping's end */
			uint64_t size = rnd(&s) % (MAXPG * PG);
			bool mapped = false;
			for (int k = 0; k < NMAP; k++)
				mapped |= mp[k].file == fi;
			if (mapped)
				break;
			ASSERT_EQ(mm_file_truncate(m, ids[fi], size), 0);
			if (size < fs[fi].size)
				memset(fs[fi].bytes + size, 0,
				       sizeof(fs[fi].bytes) - size);
			fs[fi].size = size;
			break;
		}
		case 3: { /* mmap a fresh window of the file */
			uint64_t fpages = (fs[fi].size + PG - 1) / PG;
			if (!fpages)
				break;
			if (x->file >= 0)
				ASSERT_EQ(mm_munmap(m, x->pid, x->addr, x->pages * PG), 0);
			x->pgoff = rnd(&s) % fpages;
			x->pages = rnd(&s) % (fpages - x->pgoff) + 1;
			x->shared = rnd(&s) & 1;
			x->file = fi;
			memset(x->cow, 0, sizeof(x->cow));
			fmap(m, x->pid, x->addr, x->pages * PG, RW,
			     x->shared ? MM_MAP_SHARED : MM_MAP_PRIVATE, ids[fi],
			     x->pgoff * PG);
			break;
		}
		case 4:
		case 5: { /* a store or a load through a mapping */
			if (x->file < 0)
				break;
			uint64_t k = rnd(&s) % x->pages, o = rnd(&s) % PG;
			uint64_t va = x->addr + k * PG + o;
			if (op == 5) {
				ASSERT_EQ(load(m, x->pid, va), model_view(fs, x, k, o));
				break;
			}
			uint8_t v = (uint8_t)rnd(&s);
			if (!x->shared && !x->cow[k]) {
				memcpy(x->priv + k * PG,
				       fs[x->file].bytes + (x->pgoff + k) * PG, PG);
				x->cow[k] = true;
			}
			store(m, x->pid, va, v);
			if (x->shared)
				fs[x->file].bytes[(x->pgoff + k) * PG + o] = v;
			else
				x->priv[k * PG + o] = v;
			break;
		}
		case 6: { /* dropCaches */
			struct mm_drop_result dr;
			ASSERT_EQ(mm_drop_caches(m, (int)(rnd(&s) % 3) + 1, &dr), 0);
			break;
		}
		case 7: /* munmap */
			if (x->file >= 0) {
				ASSERT_EQ(mm_munmap(m, x->pid, x->addr, x->pages * PG), 0);
				x->file = -1;
			}
			break;
		case 8: { /* deleteFile (its mappings go first) */
			for (int k = 0; k < NMAP; k++)
				if (mp[k].file == fi && (rnd(&s) & 1)) {
					ASSERT_EQ(mm_munmap(m, mp[k].pid, mp[k].addr,
							    mp[k].pages * PG), 0);
					mp[k].file = -1;
				}
			bool mapped = false;
			for (int k = 0; k < NMAP; k++)
				mapped |= mp[k].file == fi;
			if (mapped) /* keep the model simple: only unmapped */
				break;
			ASSERT_EQ(mm_file_delete(m, ids[fi]), 0);
			fs[fi].live = false;
			break;
		}
		case 9: { /* fork: the child replaces another slot's process */
			int j = (int)(rnd(&s) % NMAP), child;
			if (j == mi || x->file < 0)
				break;
			ASSERT_EQ(mm_exit(m, mp[j].pid, 0), 0);
			ASSERT_EQ(mm_fork(m, x->pid, &child), 0);
			mp[j] = *x; /* the same mapping, bytes and COW state */
			mp[j].pid = child;
			break;
		}
		case 10: /* exit */
			respawn(m, x);
			break;
		case 11: { /* forced swap-out of a random range of the mapping */
			if (x->file < 0)
				break;
			uint64_t k = rnd(&s) % x->pages;
			uint64_t n = rnd(&s) % (x->pages - k) + 1;
			ASSERT_EQ(mm_madvise(m, x->pid, x->addr + k * PG, n * PG,
					     MM_MADV_PAGEOUT), 0);
			tu_check(m, "pageout");
			uint64_t q = k + rnd(&s) % n, o = rnd(&s) % PG;
			ASSERT_EQ(load(m, x->pid, x->addr + q * PG + o),
				  model_view(fs, x, q, o)); /* swap-in */
			break;
		}
		}
		tu_check(m, "diff step");
	}
	uint64_t swapped_in = (uint64_t)(m->events[MM_PSWPIN] +
					 m->events[MM_SWPIN_ZERO]);
	free(fs);
	free(mp);
	mm_machine_destroy(m);
	return swapped_in;
}

TEST(files_differential)
{
	uint64_t swapped_in = 0;
	for (uint64_t seed = 1; seed <= 12; seed++)
		swapped_in += diff_run(seed * 0x9e3779b97f4a7c15ull,
				       seed & 1 ? 64ull << 20 : 0);
	ASSERT(swapped_in >= 5); /* private copies went to swap and came back (10) */
}

/* ---- reverse mapping, pageout, sync ----------------------------------- */

TEST(files_rmap_fork_chain_and_pageout)
{
	struct mm_machine *m = mk();
	int id = mkfile(m, "f", 16), a = spawn(m), b, c;
	struct mm_rmap_entry e[8];

	/* an anonymous page shared by a parent, child and grandchild */
	uint64_t out;
	ASSERT_EQ(mm_mmap(m, a, W, 4 * PG, RW, MM_MAP_PRIVATE | MM_MAP_FIXED |
			  MM_MAP_ANONYMOUS, -1, 0, &out), 0);
	tu_touch(m, a, W, 4 * PG, MM_ACCESS_WRITE);
	uint32_t anon = pfn_at(m, a, W);
	ASSERT_EQ(mm_fork(m, a, &b), 0);
	ASSERT_EQ(mm_fork(m, b, &c), 0);
	tu_check(m, "forks");
	ASSERT_EQ(mm_rmap_walk(m, anon, e, 8), 3);
	ASSERT_EQ(e[0].pid + e[1].pid + e[2].pid, a + b + c);
	ASSERT_EQ_HEX(e[2].vaddr, W);
	/* the grandchild's COW copy is its own */
	tu_touch(m, c, W, 1, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_rmap_walk(m, anon, e, 8), 2);
	ASSERT_EQ(mm_rmap_walk(m, pfn_at(m, c, W), e, 8), 1);
	ASSERT_EQ(e[0].pid, c);
	/* a broken chain is named by the checker */
	uint32_t av = m->vmas[mm__find_vma(m, mm_task_mm(m, mm_task_get(m, b)),
					   W)].anon_vma;
	uint32_t parent = m->anon_parent[av];
	m->anon_parent[av] = 0;
	struct mm_violation v[8];
	int n = mm_check(m, v, 8);
	bool named = false;
	for (int i = 0; i < n && i < 8; i++)
		named |= !strcmp(v[i].invariant, "rmap");
	ASSERT(named);
	m->anon_parent[av] = parent;
	tu_check(m, "chain restored");

	/* file pages: every mapper, shared and private */
	fmap(m, a, W + (1 << 21), 16 * PG, RW, MM_MAP_SHARED, id, 0);
	fmap(m, b, W + (2 << 21), 16 * PG, MM_PROT_READ, MM_MAP_PRIVATE, id, 0);
	tu_touch(m, a, W + (1 << 21), 16 * PG, MM_ACCESS_READ);
	tu_touch(m, b, W + (2 << 21), 16 * PG, MM_ACCESS_READ);
	uint32_t fp = pfn_at(m, a, W + (1 << 21) + 3 * PG);
	ASSERT_EQ(mm_rmap_walk(m, fp, e, 8), 2);
	ASSERT_EQ(m->pages[fp].mapcount, 2);
	/* PAGEOUT leaves a page mapped twice alone */
	ASSERT_EQ(mm_madvise(m, a, W + (1 << 21), 16 * PG, MM_MADV_PAGEOUT), 0);
	ASSERT_EQ(m->pages[fp].mapcount, 2);
	/* mapped once: unmapped and dropped (clean), or kept (dirty) */
	ASSERT_EQ(mm_munmap(m, b, W + (2 << 21), 16 * PG), 0);
	tu_touch(m, a, W + (1 << 21), PG, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_file_sync(m, id), 0); /* write-protects: a write faults */
	struct mm_touch_result r = tu_touch(m, a, W + (1 << 21), PG, MM_ACCESS_WRITE);
	ASSERT_EQ(r.minor, 1);
	ASSERT_EQ(mm_madvise(m, a, W + (1 << 21), 16 * PG, MM_MADV_PAGEOUT), 0);
	tu_check(m, "pageout");
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 1); /* the dirty page */
	ASSERT(mm_page_test(&m->pages[mm__xa_load(m, mm_file_get(m, id), 0)],
			    MM_PG_reclaim));
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, a))->rss_file, 0);
	r = tu_touch(m, a, W + (1 << 21) + 5 * PG, PG, MM_ACCESS_READ);
	ASSERT_EQ(r.major, 1);
	/* WILLNEED reads ahead without faults */
	struct mm_drop_result dr;
	ASSERT_EQ(mm_madvise(m, a, W + (1 << 21), 16 * PG, MM_MADV_DONTNEED), 0);
	ASSERT_EQ(mm_drop_caches(m, 1, &dr), 0);
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 0);
	ASSERT_EQ(mm_madvise(m, a, W + (1 << 21), 16 * PG, MM_MADV_WILLNEED), 0);
	ASSERT_EQ(mm_file_get(m, id)->nr_pages, 16);
	r = tu_touch(m, a, W + (1 << 21), 16 * PG, MM_ACCESS_READ);
	ASSERT_EQ(r.major, 0);
	ASSERT_EQ(r.minor, 1);
	tu_check(m, "willneed");
	mm_machine_destroy(m);
}

TEST(files_rmap_high_addresses)
{
	/* above 16 TiB an anonymous page's linear index passes 2^32 */
	struct mm_machine *m = mk();
	int a = spawn(m), b;
	uint64_t hi = 0x7f0000000000ull, out;
	struct mm_rmap_entry e[4];

	ASSERT_EQ(mm_mmap(m, a, hi, 4 * PG, RW, MM_MAP_PRIVATE | MM_MAP_FIXED |
			  MM_MAP_ANONYMOUS, -1, 0, &out), 0);
	tu_touch(m, a, hi, 4 * PG, MM_ACCESS_WRITE);
	ASSERT_EQ(mm_fork(m, a, &b), 0);
	ASSERT_EQ(mm_rmap_walk(m, pfn_at(m, a, hi + 2 * PG), e, 4), 2);
	ASSERT_EQ_HEX(e[0].vaddr, hi + 2 * PG);
	tu_check(m, "high");
	mm_machine_destroy(m);
}
