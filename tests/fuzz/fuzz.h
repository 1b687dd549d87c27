/*
 * fuzz.h — what the fuzz drivers share: a small fresh machine per input
 * (so every crash reproduces from its input alone), the invariant checker
 * as an oracle, and the SPEC §4 error shape as another.
 *
 * A driver is a file tests/fuzz/fuzz_NAME.c defining LLVMFuzzerTestOneInput;
 * its seed corpus lives in tests/fuzz/corpus/NAME/.  Any oracle failure
 * aborts, which libFuzzer reports as a crash with the input saved.
 */
#ifndef MMSIM_TESTS_FUZZ_FUZZ_H
#define MMSIM_TESTS_FUZZ_FUZZ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/mm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A fresh machine of the smallest useful size (8 MiB, 2 cpus). */
struct mm_machine *fz_machine(enum mm_arch arch);
/* Aborts, printing the violations, unless the checker finds none. */
void fz_check(const struct mm_machine *m, const char *when);
/* Aborts unless err is an inner error object {"code","status","message",
 * "details"} whose status is want. */
void fz_error_shape(const json_t *err, int want);
/* Aborts with a message (the oracle failed). */
void fz_fail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#endif
