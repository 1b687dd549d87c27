/*
 * harness.c — runner for the tests declared with TEST().
 *
 * Each test runs in a forked child so a crash, an abort from a sanitizer or
 * an infinite loop is one failed test, not a dead suite.  The parent waits
 * with a deadline (the child also arms alarm() as a second line) and prints
 * one line per test and the closing "N passed, N failed".
 */
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TH_MAX_TESTS 2048

static struct {
	const char *name;
	th_fn fn;
} th_tests[TH_MAX_TESTS];
static int th_ntests;

void th_register(const char *name, th_fn fn)
{
	if (th_ntests == TH_MAX_TESTS) {
		fprintf(stderr, "harness: more than %d tests\n", TH_MAX_TESTS);
		abort();
	}
	th_tests[th_ntests].name = name;
	th_tests[th_ntests].fn = fn;
	th_ntests++;
}

void th_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

long th_scale(long base)
{
	const char *s = getenv("MMSIM_TEST_SCALE");
	long k = s ? strtol(s, NULL, 10) : 1;

	return base * (k > 0 ? k : 1);
}

const char *th_srcdir(void)
{
	const char *s = getenv("MMSIM_SRCDIR");

	return s ? s : ".";
}

static int th_selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strstr(name, argv[i]))
			return 1;
	return 0;
}

static double th_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Waits for pid until deadline; kills it when the deadline passes. */
static int th_wait(pid_t pid, double deadline, int *timed_out)
{
	int status = 0;

	*timed_out = 0;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (th_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			*timed_out = 1;
			return status;
		}
		struct timespec nap = {0, 2 * 1000 * 1000};
		nanosleep(&nap, NULL);
	}
}

int main(int argc, char **argv)
{
	const char *t = getenv("MMSIM_TEST_TIMEOUT");
	int timeout = t ? atoi(t) : 120;
	int passed = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < th_ntests; i++) {
		if (!th_selected(th_tests[i].name, argc, argv))
			continue;
		double t0 = th_now();
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			alarm((unsigned)timeout + 5);
			th_tests[i].fn();
			fflush(stdout);
			_exit(0);
		}
		int timed_out;
		int st = th_wait(pid, t0 + timeout, &timed_out);
		double ms = (th_now() - t0) * 1000;
		if (!timed_out && st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			passed++;
			printf("ok   %-48s %8.1f ms\n", th_tests[i].name, ms);
		} else {
			failed++;
			if (timed_out)
				printf("FAIL %-48s timeout after %d s\n",
				       th_tests[i].name, timeout);
			else if (WIFSIGNALED(st))
				printf("FAIL %-48s signal %d\n", th_tests[i].name,
				       WTERMSIG(st));
			else
				printf("FAIL %-48s exit %d\n", th_tests[i].name,
				       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
