/*
 * fuzz_exec.c — the ELF loader (mm_exec): the input is the image, exec'd
 * by a fresh process on an x86_64 and an i386 machine.  Oracles: mm_exec
 * answers 0 or -MM_ENOEXEC / -MM_ENOMEM / -MM_EINVAL; a refused image
 * leaves the process as it was (/proc/PID/maps and status, Committed_AS —
 * a late refusal, e.g. an entry point beyond TASK_SIZE once a static PIE
 * is placed, may leave the slab caches changed, as in Linux); after a success the new address space can be
 * read and written where exec says (touch of the stack and the break), and
 * the invariant checker is clean either way.
 */
#include <string.h>

#include "tests/fuzz/fuzz.h"

/* /proc/PID/maps and status of pid into buf. */
static void fz__process(const struct mm_machine *m, int pid, char *buf,
			size_t len)
{
	size_t n = mm_proc_pid_maps(m, pid, buf, len);
	if (n < len)
		mm_proc_pid_status(m, pid, buf + n, len - n);
}

static void fz__exec(enum mm_arch arch, const uint8_t *data, size_t size)
{
	struct mm_machine *m = fz_machine(arch);
	static char before[16384], after[16384];
	struct mm_exec_result r;
	struct mm_touch_result t;
	int pid;

	if (mm_spawn(m, "fz", -1, &pid))
		fz_fail("spawn failed");
	int64_t committed = m->committed;
	fz__process(m, pid, before, sizeof(before));
	int rc = mm_exec(m, pid, data, size, &r);
	if (rc && rc != -MM_ENOEXEC && rc != -MM_ENOMEM && rc != -MM_EINVAL)
		fz_fail("mm_exec answered %d (%s)", rc, mm_errname(rc));
	if (rc) {
		fz__process(m, pid, after, sizeof(after));
		if (strcmp(before, after) || m->committed != committed)
			fz_fail("a refused exec (%s) changed the process:\n%s\n"
				"--- after ---\n%s", mm_errname(rc), before, after);
	} else {
		fz_check(m, "after exec");
		/* the initial stack pointer lies in [stack]: writable */
		rc = mm_touch(m, pid, r.stack & ~0xfffull, 4096, MM_ACCESS_WRITE,
			      &t);
		if (rc || t.signal.signo)
			fz_fail("the new stack at 0x%llx is not writable (%d)",
				(unsigned long long)r.stack, rc);
	}
	fz_check(m, rc ? "after a refused exec" : "after touching the stack");
	mm_machine_destroy(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz__exec(MM_ARCH_X86_64, data, size);
	fz__exec(MM_ARCH_I386, data, size);
	return 0;
}
