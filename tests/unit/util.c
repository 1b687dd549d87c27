#include "tests/unit/util.h"

#include <stdio.h>
#include <stdlib.h>

struct mm_machine *tu_machine(const struct mm_config *cfg)
{
	struct mm_machine *m = NULL;
	char err[256] = "";
	int rc = mm_machine_create(cfg, &m, err, sizeof(err));
	if (rc)
		th_fail(__FILE__, __LINE__, "mm_machine_create: %s (%s)",
			mm_errname(rc), err);
	return m;
}

struct mm_config tu_config(enum mm_arch arch, uint64_t memory)
{
	struct mm_config c;
	mm_config_default(&c);
	c.arch = arch;
	c.memory = memory;
	return c;
}

struct mm_touch_result tu_touch(struct mm_machine *m, int pid, uint64_t addr,
				uint64_t len, enum mm_access acc)
{
	struct mm_touch_result r;

	ASSERT_EQ(mm_touch(m, pid, addr, len, acc, &r), 0);
	tu_check(m, "touch");
	return r;
}

void tu_check(const struct mm_machine *m, const char *when)
{
	struct mm_violation v[8];
	int n = mm_check(m, v, 8);
	if (!n)
		return;
	for (int i = 0; i < n && i < 8; i++)
		fprintf(stderr, "  %s: %s\n", v[i].invariant, v[i].detail);
	th_fail(__FILE__, __LINE__, "%d invariant violations %s", n, when);
}

char *tu_render(const struct mm_machine *m,
		size_t (*fn)(const struct mm_machine *, char *, size_t))
{
	size_t need = fn(m, NULL, 0);
	char *buf = malloc(need + 1);
	ASSERT(buf != NULL);
	size_t got = fn(m, buf, need + 1);
	ASSERT_EQ(got, need);
	ASSERT_EQ(strlen(buf), need);
	return buf;
}

char *tu_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	if (s)
		s[n] = '\0';
	fclose(f);
	return s;
}
