/*
 * harness.h — the in-tree micro test harness (after libuv's test/task.h and
 * Redis's testhelp.h).
 *
 * A test is declared with TEST(name) { ... }.  Declarations register
 * themselves in one table (a constructor per test, so no central list to
 * edit).  The runner forks one child per test, enforces a timeout, and ends
 * with the single line "N passed, N failed".  Assertions are typed and print
 * both sides; a failing assertion ends the child with status 1.
 *
 *   ./suite [substring ...]      run the tests whose name contains any arg
 *   MMSIM_TEST_TIMEOUT=seconds   per-test timeout (default 120)
 *   MMSIM_TEST_SCALE=n           multiplier for randomized test sizes
 */
#ifndef MMSIM_TESTS_HARNESS_H
#define MMSIM_TESTS_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*th_fn)(void);

void th_register(const char *name, th_fn fn);
void th_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));
/* Number of iterations for a randomized test: base * MMSIM_TEST_SCALE. */
long th_scale(long base);
/* Directory holding the repository's tests/ (for golden files). */
const char *th_srcdir(void);

#define TEST(name)                                                        \
	static void test_##name(void);                                    \
	__attribute__((constructor)) static void th_reg_##name(void)      \
	{                                                                 \
		th_register(#name, test_##name);                          \
	}                                                                 \
	static void test_##name(void)

#define ASSERT(cond)                                                      \
	do {                                                              \
		if (!(cond))                                              \
			th_fail(__FILE__, __LINE__, "assertion failed: %s", \
				#cond);                                   \
	} while (0)

#define TH_ASSERT_CMP(type, fmt, a, op, b)                                \
	do {                                                              \
		type th_a_ = (a), th_b_ = (b);                            \
		if (!(th_a_ op th_b_))                                    \
			th_fail(__FILE__, __LINE__,                       \
				"%s %s %s: " fmt " vs " fmt, #a, #op, #b, \
				th_a_, th_b_);                            \
	} while (0)

#define ASSERT_EQ(a, b) TH_ASSERT_CMP(int64_t, "%" PRId64, a, ==, b)
#define ASSERT_NE(a, b) TH_ASSERT_CMP(int64_t, "%" PRId64, a, !=, b)
#define ASSERT_LT(a, b) TH_ASSERT_CMP(int64_t, "%" PRId64, a, <, b)
#define ASSERT_LE(a, b) TH_ASSERT_CMP(int64_t, "%" PRId64, a, <=, b)
#define ASSERT_GT(a, b) TH_ASSERT_CMP(int64_t, "%" PRId64, a, >, b)
#define ASSERT_GE(a, b) TH_ASSERT_CMP(int64_t, "%" PRId64, a, >=, b)
#define ASSERT_EQ_U64(a, b) TH_ASSERT_CMP(uint64_t, "%" PRIu64, a, ==, b)
#define ASSERT_EQ_HEX(a, b) TH_ASSERT_CMP(uint64_t, "0x%" PRIx64, a, ==, b)

#define ASSERT_EQ_STR(a, b)                                               \
	do {                                                              \
		const char *th_a_ = (a), *th_b_ = (b);                    \
		if (!th_a_ || !th_b_ || strcmp(th_a_, th_b_) != 0)        \
			th_fail(__FILE__, __LINE__,                       \
				"%s == %s:\n--- got ---\n%s\n--- want ---\n%s", \
				#a, #b, th_a_ ? th_a_ : "(null)",         \
				th_b_ ? th_b_ : "(null)");                \
	} while (0)

#define ASSERT_CONTAINS(hay, needle)                                      \
	do {                                                              \
		const char *th_h_ = (hay), *th_n_ = (needle);             \
		if (!th_h_ || !strstr(th_h_, th_n_))                      \
			th_fail(__FILE__, __LINE__,                       \
				"%s does not contain \"%s\":\n%s", #hay,  \
				th_n_, th_h_ ? th_h_ : "(null)");         \
	} while (0)

#endif
