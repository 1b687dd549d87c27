/*
 * test_scenario.c — the fidelity scenario parser's process slots
 * (tests/fidelity/scenario.c): fork gives the next slot, child picks the
 * active process's latest live child, parent and exit go back up; a child
 * without a live child, a parent/exit of the first process and a switch to
 * an exited parent are malformed lines.
 */
#include "tests/fidelity/scenario.h"
#include "tests/unit/util.h"

#include <string.h>

static int parse(const char *text, struct scn_scenario *s, struct scn_op *ops)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->cap = 64;
	return scn_parse(s, text, strlen(text));
}

TEST(scenario_process_slots)
{
	static const char text[] =
		"window 0x100000000 0x1000000\n"
		"fork\n"        /* 0: slot 0 forks slot 1 */
		"fork\n"        /* 1: slot 0 forks slot 2 */
		"child\n"       /* 2: -> slot 2 (the latest) */
		"fork\n"        /* 3: slot 2 forks slot 3 */
		"child\n"       /* 4: -> 3 */
		"exit\n"        /* 5: 3 exits -> 2 */
		"parent\n"      /* 6: -> 0 */
		"child\n"       /* 7: -> 2 */
		"exit\n"        /* 8: -> 0 */
		"child\n"       /* 9: -> 1 (2 is gone) */
		"touch +0x0 0x1000 write\n";
	static const int proc[] = {0, 0, 0, 2, 2, 3, 2, 0, 2, 0, 1};
	static const int target[] = {1, 2, 2, 3, 3, 2, 0, 2, 0, 1, 1};
	struct scn_scenario s;
	struct scn_op ops[64];

	ASSERT_EQ(parse(text, &s, ops), 0);
	ASSERT_EQ(s.nops, 11);
	for (size_t i = 0; i < s.nops; i++) {
		ASSERT_EQ(ops[i].proc, proc[i]);
		ASSERT_EQ(ops[i].target, target[i]);
	}
}

TEST(scenario_process_errors)
{
	static const char *const bad[] = {
		"window 0x100000000 0x1000000\nchild\n",
		"window 0x100000000 0x1000000\nparent\n",
		"window 0x100000000 0x1000000\nexit\n",
		"window 0x100000000 0x1000000\nfork\nchild\nexit\nchild\n",
		"window 0x100000000 0x1000000\nfork\nchild\nfork\nparent\n"
		"exit\nchild\nparent\n",
		"window 0x100000000 0x1000000\nfork\nfork\nfork\nfork\nfork\n"
		"fork\nfork\nfork\n",
	};
	struct scn_scenario s;
	struct scn_op ops[64];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse(bad[i], &s, ops) != 1)
			th_fail(__FILE__, __LINE__, "case %zu: %d errors, want 1",
				i, s.nerrors);
}
