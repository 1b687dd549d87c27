/*
 * opgen.h — random operation records for the replay fuzzer and the engine
 * soak, generated from the operation table itself (api_ops), so every
 * operation — including ones added later — is covered without an edit here.
 *
 * Each argument is drawn from its schema type (api_arg.type), biased
 * towards values that mean something on the machine at hand: live pids,
 * addresses and frames earlier results returned, created cache names,
 * the CPU count.  A small share of records carries a malformed value
 * (wrong type, out of range) so the decoder's refusals run as well.
 *
 * The choices come from an og_src: either the bytes of a fuzz input
 * (consumed front to back; once exhausted every choice is 0) or a seeded
 * PRNG (splitmix64: a run is a pure function of its seed).
 */
#ifndef MMSIM_TESTS_FUZZ_OPGEN_H
#define MMSIM_TESTS_FUZZ_OPGEN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/mm.h"

#define OG_POOL 64

struct og_src {
	const uint8_t *data;  /* fuzz bytes, or NULL for the PRNG */
	size_t len, pos;
	uint64_t seed;        /* PRNG state */
};

/* What results handed out, by kind, so the free operations mostly free
 * something real (and the machine does not just fill up). */
enum og_kind { OG_USER, OG_KMALLOC, OG_VMALLOC, OG_KMAP, OG_OBJ, OG_BLOCK,
	       OG_NKINDS };

struct og_pool {
	uint64_t v[OG_POOL];       /* address, or pfn for OG_BLOCK */
	uint32_t aux[OG_POOL];     /* OG_BLOCK: order; OG_OBJ: cache index */
	unsigned n, next;          /* entries; where the next one goes when
				    * full (the oldest is forgotten) */
};

/* The generator's memory of the machine. */
struct og_state {
	struct og_pool pool[OG_NKINDS];
	char caches[12][MM_SLAB_NAME_MAX]; /* builtins, then created ones */
	unsigned ncaches;
	const uint8_t *elf[4];     /* images for exec (base64 of them) */
	size_t elf_len[4];
	unsigned nelf;
	bool malformed;            /* emit a malformed value now and then */
	FILE *trace;               /* og_run writes each applied record here
				    * (NDJSON after a journal header the caller
				    * writes: `mmsim run` replays it), or NULL */
	/* what og_run saw: answers by status, 200s per op of api_ops */
	uint64_t answers[4];       /* 200, 400, 404, 422 */
	uint64_t op_ok[64];
};

void og_src_bytes(struct og_src *s, const uint8_t *data, size_t len);
void og_src_seed(struct og_src *s, uint64_t seed);
/* True while a byte source has bytes left (a PRNG always has). */
bool og_more(const struct og_src *s);
/* A choice in [0, n) (n > 0). */
uint64_t og_below(struct og_src *s, uint64_t n);

/* Adds DIR/golden/elf/NAME to g's exec images (kept for the process);
 * a missing file is skipped. */
void og_load_elf(struct og_state *g, const char *dir, const char *name);

/* The next record {"op": …, args…} for machine m: a new reference. */
json_t *og_next(struct og_state *g, struct og_src *s,
		const struct mm_machine *m);
/* Remembers what a 200 result handed out (addresses, blocks, caches) and
 * forgets what a 200 free gave back. */
void og_note(struct og_state *g, const json_t *rec, const json_t *result);

/*
 * Applies n generated records to m (fewer when a byte source runs dry),
 * running mm_check every check_every records (0: never) and at the end.
 * Counts into *applied; returns 0, or -1 after printing the violations
 * (and the record that preceded them) to stderr.
 */
int og_run(struct og_state *g, struct og_src *s, struct mm_machine *m,
	   uint64_t n, uint64_t check_every, uint64_t *applied);

#endif
