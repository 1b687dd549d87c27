/* util.h — helpers shared by the unit tests. */
#ifndef MMSIM_TESTS_UNIT_UTIL_H
#define MMSIM_TESTS_UNIT_UTIL_H

#include "engine/mm.h"
#include "tests/harness.h"

/* Creates a machine or fails the test with the engine's reason. */
struct mm_machine *tu_machine(const struct mm_config *cfg);
/* A default config with memory set (bytes). */
struct mm_config tu_config(enum mm_arch arch, uint64_t memory);
/* Fails the test, listing the violations, unless the checker is clean. */
void tu_check(const struct mm_machine *m, const char *when);
/* mm_touch that must succeed, then the checker; its fault counts. */
struct mm_touch_result tu_touch(struct mm_machine *m, int pid, uint64_t addr,
				uint64_t len, enum mm_access acc);
/* Renders a /proc file into a fresh malloc'd string. */
char *tu_render(const struct mm_machine *m,
		size_t (*fn)(const struct mm_machine *, char *, size_t));
/* Reads a file into a malloc'd string (NULL if missing). */
char *tu_read_file(const char *path);

#endif
