/*
 * fuzz.c — the drivers' shared oracles (fuzz.h).
 */
#include "tests/fuzz/fuzz.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void fz_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

struct mm_machine *fz_machine(enum mm_arch arch)
{
	struct mm_config cfg;
	struct mm_machine *m;
	char err[256];

	mm_config_default(&cfg);
	cfg.arch = arch;
	cfg.memory = 8u << 20;
	if (mm_machine_create(&cfg, &m, err, sizeof(err)))
		fz_fail("machine: %s", err);
	return m;
}

void fz_check(const struct mm_machine *m, const char *when)
{
	struct mm_violation v[8];
	int n = mm_check(m, v, 8);

	if (!n)
		return;
	for (int k = 0; k < n && k < 8; k++)
		fprintf(stderr, "  %s: %s\n", v[k].invariant, v[k].detail);
	fz_fail("%d invariant violation(s) %s", n, when);
}

void fz_error_shape(const json_t *err, int want)
{
	json_t *st = json_object_get(err, "status");

	if (!json_is_string(json_object_get(err, "code")) ||
	    !json_is_string(json_object_get(err, "message")) ||
	    !json_is_object(json_object_get(err, "details")) ||
	    !json_is_integer(st) || json_integer_value(st) != want)
		fz_fail("error object not in the SPEC shape for status %d", want);
}
