/*
 * fuzz_ops.c — the JSON operation decoder and the op table's apply.
 *
 * Input: byte 0 picks the arch (bit 0: i386); the rest is JSON text, one
 * operation record or an array of up to 32 (applied in order to one fresh
 * machine).  Oracles: api_op_apply answers only 200 (with a result), 400,
 * 404 or 422 (with an error object in the SPEC shape and the status it
 * returned); a refused record (400/404) leaves the digest unchanged; the
 * journal decoder (API_DECODE_JOURNAL) accepts what the plain one accepts;
 * the invariant checker is clean at the end.
 */
#include <string.h>

#include "api/ops.h"
#include "tests/fuzz/fuzz.h"

#define FZ_OPS_MAX 32

static void fz__apply(struct mm_machine *m, const json_t *rec)
{
	char before[MM_DIGEST_HEX], after[MM_DIGEST_HEX];
	struct api_args args;
	struct api_error e;
	json_t *result, *error;

	mm_digest(m, before);
	int st = api_op_apply(m, rec, &result, &error);
	switch (st) {
	case 200:
		if (!result || error)
			fz_fail("200 without a result");
		break;
	case 400:
	case 404:
	case 422:
		if (result || !error)
			fz_fail("%d without an error", st);
		fz_error_shape(error, st);
		break;
	default:
		fz_fail("api_op_apply answered %d", st);
	}
	if (st == 400 || st == 404) {
		mm_digest(m, after);
		if (strcmp(before, after))
			fz_fail("a refused record (%d) changed the machine", st);
	}
	if (!api_op_decode(rec, 0, &args, &e) &&
	    api_op_decode(rec, API_DECODE_JOURNAL, &args, &e))
		fz_fail("the journal decoder refused a record: %s", e.message);
	json_decref(result);
	json_decref(error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;

	if (size < 1)
		return 0;
	json_t *j = json_loadb((const char *)data + 1, size - 1,
			       JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return 0;
	struct mm_machine *m = fz_machine(data[0] & 1 ? MM_ARCH_I386
						       : MM_ARCH_X86_64);
	if (json_is_array(j)) {
		size_t i;
		json_t *rec;
		json_array_foreach(j, i, rec) {
			if (i == FZ_OPS_MAX)
				break;
			fz__apply(m, rec);
		}
	} else {
		fz__apply(m, j);
	}
	fz_check(m, "after the records");
	mm_machine_destroy(m);
	json_decref(j);
	return 0;
}
