/*
 * fuzz_replay.c — batch/journal replay: the input's bytes drive the
 * schema-driven generator (opgen.h) to a sequence of up to 256 operation
 * records (malformed values included) applied to one fresh machine; byte 0
 * picks the arch.  Oracles: only 200/400/404/422 answers, and the invariant
 * checker clean after every 32 records and at the end.
 *
 * With MMSIM_SRCDIR set, the checked-in ELF images (tests/golden/elf) are
 * the exec images the generator mutates.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/opgen.h"

static struct og_state fz_proto = {.malformed = true};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("MMSIM_SRCDIR");
	(void)argc;
	(void)argv;
	if (dir) {
		og_load_elf(&fz_proto, dir, "x86_64-exec.elf");
		og_load_elf(&fz_proto, dir, "x86_64-pie.elf");
		og_load_elf(&fz_proto, dir, "i386-exec.elf");
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct og_state g = fz_proto;
	struct og_src s;
	uint64_t applied = 0;

	if (size < 1)
		return 0;
	og_src_bytes(&s, data + 1, size - 1);
	struct mm_machine *m = fz_machine(data[0] & 1 ? MM_ARCH_I386
						       : MM_ARCH_X86_64);
	if (og_run(&g, &s, m, 256, 32, &applied))
		fz_fail("replay failed after %llu records",
			(unsigned long long)applied);
	mm_machine_destroy(m);
	return 0;
}
