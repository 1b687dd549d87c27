/*
 * fuzz_snapshot.c — libFuzzer driver for mm_snapshot_load() (`make fuzz`).
 *
 * Any input must be refused with a message or give a machine that can be
 * hashed, saved again (to the same bytes) and destroyed; ASan and UBSan
 * watch everything.  Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION,
 * the loader skips its checksum and digest checks (snapshot.c), so
 * mutations reach the parser instead of stopping at the checksum.
 *
 * Without libFuzzer (MMSIM_FUZZ_SEEDS=DIR build/fuzz/fuzz-snapshot -runs=0 DIR), the driver
 * writes seed images of a few machines into DIR instead.
 */
#include "engine/mm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mm_machine *m = NULL;
	char err[256] = "";
	char hex[MM_DIGEST_HEX];

	if (mm_snapshot_load(data, size, &m, err, sizeof(err)) != 0) {
		if (!err[0])
			abort(); /* a refusal always says why */
		return 0;
	}
	mm_digest(m, hex);
	struct mm_bytes again = {0};
	if (mm_snapshot_save(m, &again) == 0)
		free(again.p);
	mm_machine_destroy(m);
	return 0;
}

static void seed(const char *dir, const char *name, enum mm_arch arch,
		 uint64_t memory, int ops, uint64_t swap)
{
	struct mm_config c;
	struct mm_machine *m;
	struct mm_bytes img = {0};
	char err[128], path[1024];
	int pid;

	mm_config_default(&c);
	c.arch = arch;
	c.memory = memory;
	c.swap = swap;
	if (mm_machine_create(&c, &m, err, sizeof(err)))
		return;
	for (int i = 0; i < ops; i++) {
		uint64_t addr, out;
		if (mm_spawn(m, "seed", -1, &pid) == 0 &&
		    mm_mmap(m, pid, 0, 8 * MM_PAGE_SIZE, MM_PROT_READ | MM_PROT_WRITE,
			    MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &addr) == 0) {
			struct mm_touch_result r;
			int child;
			mm_touch(m, pid, addr, 8 * MM_PAGE_SIZE, MM_ACCESS_WRITE, &r);
			/* with swap: bytes written, paged out, one page read
			 * back (its readahead window in the swap cache) */
			for (int k = 0; swap && k < 8; k++)
				mm_write(m, pid, addr + (uint64_t)k * MM_PAGE_SIZE, "seed",
					 4, &r);
			if (swap) {
				char b[4];
				mm_madvise(m, pid, addr, 8 * MM_PAGE_SIZE,
					   MM_MADV_PAGEOUT);
				mm_read(m, pid, addr + MM_PAGE_SIZE, b, 4, &r);
			}
			mm_fork(m, pid, &child);
		}
		mm_kmalloc(m, 100 + (uint64_t)i * 50, MM_GFP_KERNEL, 0, &out, &pid);
		mm_vmalloc(m, 3 * MM_PAGE_SIZE, 0, &out);
	}
	if (mm_snapshot_save(m, &img) == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		FILE *f = fopen(path, "wb");
		if (f) {
			fwrite(img.p, 1, img.len, f);
			fclose(f);
		}
		free(img.p);
	}
	mm_machine_destroy(m);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("MMSIM_FUZZ_SEEDS");
	(void)argc;
	(void)argv;
	if (dir) {
		seed(dir, "fresh-x86_64", MM_ARCH_X86_64, 4u << 20, 0, 0);
		seed(dir, "busy-x86_64", MM_ARCH_X86_64, 8u << 20, 3, 0);
		seed(dir, "busy-i386", MM_ARCH_I386, 8u << 20, 2, 0);
		seed(dir, "swapped-x86_64", MM_ARCH_X86_64, 8u << 20, 2, 4u << 20);
		seed(dir, "swapped-i386", MM_ARCH_I386, 8u << 20, 2, 4u << 20);
	}
	return 0;
}
