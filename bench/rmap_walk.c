/*
 * rmap_walk.c — the cost of the file reverse-map walk (mm_rmap_walk) on a
 * file mapped by 1,000 VMAs, for an instruction count under callgrind
 * (docs/files-and-swap.md):
 *
 *   valgrind --tool=callgrind --toggle-collect=mm_rmap_walk \
 *       build/bench-rmap-walk own|shared
 *
 * own:    one process maps a 4,000-page file 1,000 times, VMA i mapping
 *         pages [4i, 4i + 4); every page is touched, then one page of
 *         each VMA is walked (1,000 walks, one mapper each);
 * shared: ten processes map the file's first 4 pages 100 times each
 *         (1,000 VMAs of one offset); page 0 is walked 1,000 times (each
 *         walk finds 1,000 mappers).
 * Prints the walks made and the PTEs they found (a check that both
 * builds did the same work).
 */
#include "engine/mm.h"

#include <stdio.h>
#include <string.h>

#define PG 4096ull
#define BASE 0x100000000ull

int main(int argc, char **argv)
{
	struct mm_config c;
	struct mm_machine *m;
	struct mm_touch_result r;
	struct mm_translation t;
	char err[160];
	bool own = argc > 1 && !strcmp(argv[1], "own");
	int pids[10], f, nproc = own ? 1 : 10, per = own ? 1000 : 100;
	uint64_t out, found = 0, walks = 0;

	if (argc != 2 || (!own && strcmp(argv[1], "shared"))) {
		fprintf(stderr, "usage: %s own|shared\n", argv[0]);
		return 2;
	}
	mm_config_default(&c);
	c.memory = 512ull << 20;
	if (mm_machine_create(&c, &m, err, sizeof(err)) ||
	    mm_file_create(m, "f", 4000 * PG, NULL, 0, &f))
		return 1;
	for (int p = 0; p < nproc; p++) {
		if (mm_spawn(m, "p", 0, &pids[p]))
			return 1;
		for (int i = 0; i < per; i++) {
			/* a gap between VMAs: none merge */
			uint64_t a = BASE + (uint64_t)i * 8 * PG;
			if (mm_mmap(m, pids[p], a, 4 * PG, MM_PROT_READ,
				    MM_MAP_SHARED | MM_MAP_FIXED, f,
				    own ? (uint64_t)i * 4 * PG : 0, &out) ||
			    mm_touch(m, pids[p], a, 4 * PG, MM_ACCESS_READ, &r))
				return 1;
		}
	}
	for (int i = 0; i < 1000; i++) {
		uint64_t a = BASE + (own ? (uint64_t)i * 8 * PG : 0);
		if (mm_pagetable_walk(m, pids[0], a, &t))
			return 1;
		found += (uint64_t)mm_rmap_walk(m, t.pfn, NULL, 0);
		walks++;
	}
	printf("%s: %llu walks, %llu PTEs found\n", argv[1],
	       (unsigned long long)walks, (unsigned long long)found);
	mm_machine_destroy(m);
	return 0;
}
