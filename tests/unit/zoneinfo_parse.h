/*
 * zoneinfo_parse.h — a reader of /proc/zoneinfo text for the tests that
 * compare the simulator with a kernel (test_proc.c against the golden host
 * copy, test_watermark.c against the live host).  The same reader parses
 * the simulator's own render, so both sides go through one code path.
 */
#ifndef MMSIM_TESTS_UNIT_ZONEINFO_PARSE_H
#define MMSIM_TESTS_UNIT_ZONEINFO_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#define ZI_MAX_ZONES 64     /* nodes x zone types of any real machine */
#define ZI_MAX_CPUS 1024
#define ZI_MAX_PROT 8

struct zi_pcp {
	int cpu;
	int64_t count, high, batch, high_min, high_max;
	int64_t threshold;  /* "vm stats threshold" printed after this cpu */
};

/* One "Node N, zone NAME" block; -1 for a field the block did not print. */
struct zi_zone {
	int node;
	char name[16];
	int64_t free, boost, min, low, high, promo;
	int64_t spanned, present, managed, cma;
	int nprot;
	int64_t prot[ZI_MAX_PROT];
	bool has_pagesets;      /* printed only for populated zones */
	int ncpus;
	struct zi_pcp *pcp;     /* [ncpus], owned by the struct zi */
	int64_t start_pfn;
};

struct zi {
	int nzones;
	struct zi_zone z[ZI_MAX_ZONES];
};

/*
 * Parses zoneinfo text into *out.  Returns 0, or -1 when a line that
 * belongs to the fields above cannot be read (the reason goes to stderr).
 * Free with zi_free().
 */
int zi_parse(const char *text, struct zi *out);
void zi_free(struct zi *zi);
/* The block of zone `name` on `node`, or NULL. */
const struct zi_zone *zi_find(const struct zi *zi, int node, const char *name);
/* Number of distinct nodes named by the blocks. */
int zi_nodes(const struct zi *zi);

/*
 * The smallest x86_64 memory size (bytes, a whole number of MiB) of a
 * one-node simulated machine whose DMA32 and Normal zones can each hold
 * the managed page counts given (MM_X86_64_* indices), following the
 * boot layout of engine/machine.c: the kernel image at 16 MiB inside
 * DMA32, and the memmap (64 bytes per frame) at the top of the node, so
 * inside Normal when Normal exists and inside DMA32 otherwise.  A machine
 * with Normal managed 0 stays at or below 4 GiB (no Normal zone).
 */
uint64_t zi_fit_memory_x86_64(const int64_t managed[5]);

#endif
