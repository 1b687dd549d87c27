/*
 * digest.c — a hash of the full machine state (SPEC §2).
 *
 * The state visitor (state.c) feeds every field that is state, in a fixed
 * order, as one 64-bit word each: no struct padding, no host pointers, no
 * iteration order that could differ between runs or builds.  A snapshot
 * image is written by the same walk, so a restored machine has the same
 * digest by construction.  Tests change each structure and expect a change.
 */
#include "engine/internal.h"

#include <stdio.h>

static uint64_t mm__avalanche(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

void mm__hash_final(const struct mm__hash *h, uint64_t out[2])
{
	out[0] = mm__avalanche(h->a ^ h->n);
	out[1] = mm__avalanche(h->b ^ (h->a >> 7));
}

void mm_digest(const struct mm_machine *m, char out[MM_DIGEST_HEX])
{
	struct mm__vis v = {.mode = MM__V_HASH, .h = MM__HASH_INIT};
	/* A HASH walk only reads: the casts drop const for the shared walk. */
	struct mm_machine *w = (struct mm_machine *)m;
	uint64_t r[2];

	mm__visit_config(&v, &w->cfg);
	mm__visit_state(&v, w);
	mm__hash_final(&v.h, r);
	snprintf(out, MM_DIGEST_HEX, "%016llx%016llx", (unsigned long long)r[0],
		 (unsigned long long)r[1]);
}
