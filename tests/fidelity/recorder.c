/*
 * recorder.c — runs a fidelity scenario on the real (host) kernel.
 *
 *   recorder SCENARIO      prints one result per op on stdout (README.md)
 *
 * Exit status: 0 when the scenario ran (whatever errnos the ops got), 2 for
 * a usage error, a malformed scenario, an op the recorder refuses to run on
 * its own address space, or a window that is not free.
 *
 * The recorder must not disturb what it measures, so:
 *  - it never allocates: the scenario text, the op array, the maps text and
 *    the output line live in static buffers, prefaulted at start; output is
 *    written with write(2) per op (no stdio buffers, no malloc arenas);
 *  - it checks the window is free (and a page on each side, so nothing
 *    merges in from outside) by mapping it PROT_NONE with
 *    MAP_FIXED_NOREPLACE and unmapping it again;
 *  - it refuses ops whose range could reach its own memory: a range must lie
 *    in the window (or below 64 KiB, where nothing is ever mapped) unless
 *    the kernel rejects it from its length or alignment alone;
 *  - syscalls go through syscall(2), so glibc's own checks (e.g. of mmap
 *    offsets) cannot stand in for the kernel's;
 *  - `touch` counts minor/major faults with getrusage() around a loop that
 *    accesses one byte per page; the loop code, the rusage buffers and the
 *    signal stack are warmed first so the delta is only the touched pages.
 *    A SIGSEGV/SIGBUS ends the scenario (as it ends the process it models):
 *    the touch line reports it and no later op runs;
 *  - `fork` forks the recorder itself; every process of the scenario is a
 *    real process, and only the active one runs: the others wait on their
 *    slot's pipe for a token (the index of the next op), so output stays in
 *    scenario order.  After a fork the recorder's own pages are shared
 *    copy-on-write: the child, then the parent, rewrite every buffer, the
 *    signal stack and 64 KiB of stack (the child copies each page, the
 *    parent then reuses its own), so that later touches count only the
 *    window's faults.

 *  - `file NAME PAGES` creates DIR/mmsim-fidelity.PID/NAME ($MMSIM_FIDELITY_DIR,
 *    default /var/tmp: a disk file system, whose pages can be dropped) in
 *    4 KiB writes (page k holds 'a' + k % 26), fsyncs it and reopens it
 *    O_RDWR: its pages are cached and clean, and mappings of it start with
 *    fresh readahead state.  `drop` fsyncs every file and drops its clean
 *    unmapped pages with posix_fadvise(POSIX_FADV_DONTNEED).  The files go
 *    when the recorder ends.  In a scenario with `drop`, every touch is
 *    followed by a pause (REC_SETTLE_NS) so that the readahead I/O it
 *    started has completed before the next op: fault-around skips pages
 *    still being read, which would make counts depend on disk timing (a
 *    scenario must not read pages in the same touch that started their
 *    readahead).
 *
 *   recorder --zero-page   prints 1 if a read fault of private anonymous
 *                          memory maps the shared zero page (a later write
 *                          faults again), 0 if it allocates a page
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/mm.h"
#include "tests/fidelity/scenario.h"

/* The scenario's numbers are handed to the kernel as they are. */
_Static_assert(MM_PROT_READ == PROT_READ && MM_PROT_WRITE == PROT_WRITE &&
	       MM_PROT_EXEC == PROT_EXEC, "prot values");
_Static_assert(MM_MAP_SHARED == MAP_SHARED && MM_MAP_PRIVATE == MAP_PRIVATE &&
	       MM_MAP_FIXED == MAP_FIXED && MM_MAP_ANONYMOUS == MAP_ANONYMOUS &&
	       MM_MAP_GROWSDOWN == MAP_GROWSDOWN &&
	       MM_MAP_NORESERVE == MAP_NORESERVE &&
	       MM_MAP_POPULATE == MAP_POPULATE && MM_MAP_LOCKED == MAP_LOCKED &&
	       MM_MAP_FIXED_NOREPLACE == MAP_FIXED_NOREPLACE, "map flags");
_Static_assert(MM_MADV_DONTNEED == MADV_DONTNEED &&
	       MM_MADV_WILLNEED == MADV_WILLNEED && MM_MADV_COLD == MADV_COLD &&
	       MM_MADV_PAGEOUT == MADV_PAGEOUT &&
	       MM_MADV_SEQUENTIAL == MADV_SEQUENTIAL, "advice values");
_Static_assert(ENOMEM == 12 && EINVAL == 22 && EEXIST == 17 &&
	       EOVERFLOW == 75 && EAGAIN == 11 && EPERM == 1,
	       "scenario.c names Linux errno numbers");
_Static_assert(SIGSEGV == 11 && SIGBUS == 7 && SEGV_MAPERR == 1 &&
	       SEGV_ACCERR == 2 && BUS_ADRERR == 2, "signal numbers");

#define REC_MAX_OPS 4096
#define REC_TEXT_MAX (1u << 20)
#define REC_MAPS_MAX (1u << 20)
#define REC_OUT_MAX (2u << 20)
#define REC_LOW_LIMIT 0x10000ull   /* nothing is ever mapped below this */
#define REC_SETTLE_NS 200000000L   /* readahead I/O done after a touch */

static char rec_text[REC_TEXT_MAX];
static struct scn_op rec_ops[REC_MAX_OPS];
static struct scn_scenario rec_scn;
static char rec_maps[REC_MAPS_MAX];
static char rec_out[REC_OUT_MAX];
static char rec_sigstack[64 * 1024] __attribute__((aligned(4096)));
static char rec_scratch[2 * 4096] __attribute__((aligned(4096)));
/* made PROT_NONE at start: the warm-up takes a SIGSEGV on it, so the
 * signal path's code is mapped too (a fork child has to fault its text
 * pages in again, and where libc's lie depends on ASLR) */
static char rec_guard[4096] __attribute__((aligned(4096)));
static char rec_page[4096] __attribute__((aligned(4096)));
static char rec_dir[256];
static int rec_fds[SCN_MAX_FILES];
static bool rec_settle;             /* the scenario drops pages: see above */

/* touch state shared with the signal handler */
static sigjmp_buf rec_touch_env;
static volatile sig_atomic_t rec_touch_active;
static volatile uint64_t rec_touch_pages;
static volatile int rec_sig, rec_sigcode;
static volatile uint64_t rec_sigaddr;

static const char *rec_prog = "recorder";

/* processes: each slot's token pipe (all made before the first fork, so
 * every process can wake every other), this process's slot, and the pids
 * of the slots it forked */
enum { REC_GO, REC_READY, REC_END, REC_DIE };
struct rec_token {
	int32_t what;   /* REC_* */
	int32_t next;   /* REC_GO: index of the next op to run */
	int32_t reap;   /* REC_GO: a child slot that exited, or -1 */
};
static int rec_pipe[SCN_MAX_PROCS][2];
static int rec_slot;
static pid_t rec_pids[SCN_MAX_PROCS];
static bool rec_forked;

static void rec_send(int slot, int what, int next, int reap);

static void rec_die(const char *path, int line, const char *msg)
{
	if (line > 0)
		fprintf(stderr, "%s: %s:%d: %s\n", rec_prog, path, line, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", rec_prog, path, msg);
	/* the other processes of the scenario end too */
	for (int k = 0; rec_forked && k < SCN_MAX_PROCS; k++)
		if (k != rec_slot)
			rec_send(k, REC_DIE, 0, -1);
	_exit(2);
}

/* write(2) all of buf; a short or failed write ends the program. */
static void rec_write(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(1, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: write: %s\n", rec_prog,
				strerror(errno));
			_exit(2);
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Whole file into rec_text; returns its length.  Exits on failure. */
static size_t rec_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		rec_die(path, 0, strerror(errno));
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rec_die(path, 0, strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap)
			rec_die(path, 0, "file too large");
	}
	close(fd);
	return len;
}

/* /proc/self/maps into rec_maps; returns its length (-1 on failure). */
static long rec_read_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t n = read(fd, rec_maps + len, sizeof(rec_maps) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || len + (size_t)n == sizeof(rec_maps)) {
			close(fd);
			return n < 0 || n > 0 ? -1 : (long)len;
		}
		len += (size_t)n;
	}
}

/* ---- safety: ops must not reach the recorder's own memory ---------------- */

/* [start, start + PAGE_ALIGN(len)) in the window or below REC_LOW_LIMIT;
 * true also when the aligned length or the end wraps (the kernel refuses). */
static bool rec_range_safe(const struct scn_window *w, uint64_t start,
			   uint64_t len)
{
	uint64_t alen = (len + SCN_PAGE_SIZE - 1) & ~(SCN_PAGE_SIZE - 1);

	if (len == 0)
		return true;
	if (alen == 0 || start + alen < start)
		return true;    /* PAGE_ALIGN or start + len wraps */
	if (start + alen <= REC_LOW_LIMIT)
		return true;
	return start >= w->base && start + alen <= w->base + w->size;
}

/* NULL if op is safe to run on the host, else why not. */
static const char *rec_unsafe(const struct scn_window *w, const struct scn_op *op)
{
	uint64_t alen = (op->len + SCN_PAGE_SIZE - 1) & ~(SCN_PAGE_SIZE - 1);
	uint64_t off = op->addr & (SCN_PAGE_SIZE - 1);

	switch (op->op) {
	case SCN_MAPS:
		return NULL;
	case SCN_MMAP:
		/* without MAP_FIXED the kernel never replaces a mapping; with
		 * it, bad alignment, lengths and ends fail before any unmap */
		if (!(op->flags & MAP_FIXED) || off || op->len == 0 ||
		    alen == 0 || op->addr > SCN_TASK_SIZE ||
		    alen > SCN_TASK_SIZE - op->addr)
			return NULL;
		break;
	case SCN_MUNMAP:
		/* do_vmi_munmap: EINVAL before looking at any VMA */
		if (off || op->addr > SCN_TASK_SIZE ||
		    op->len > SCN_TASK_SIZE - op->addr || op->len == 0)
			return NULL;
		break;
	case SCN_MPROTECT:
	case SCN_MADVISE:
		if (off)
			return NULL;   /* EINVAL */
		break;
	case SCN_MLOCK:
	case SCN_MUNLOCK:
		/* mlock rounds the start down and the length up */
		if (op->len > UINT64_MAX - off)
			return NULL;
		if (!rec_range_safe(w, op->addr - off, op->len + off))
			return "range leaves the window";
		return NULL;
	case SCN_TOUCH:
		if (op->addr + op->len < op->addr)
			return "touch range wraps";
		break;
	case SCN_FILE:
	case SCN_DROP:
		return NULL;
	case SCN_FORK:
	case SCN_CHILD:
	case SCN_PARENT:
	case SCN_EXIT:
		return NULL;
	}
	if (!rec_range_safe(w, op->addr, op->len))
		return "range leaves the window (the recorder refuses to touch "
		       "its own memory)";
	return NULL;
}

/* ---- touch -------------------------------------------------------------- */

static void rec_on_signal(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	if (!rec_touch_active) {
		/* not ours: die of it as we would have */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	rec_touch_active = 0;
	rec_sig = sig;
	rec_sigcode = si->si_code;
	rec_sigaddr = (uint64_t)(uintptr_t)si->si_addr;
	siglongjmp(rec_touch_env, 1);
}

static void rec_install_handlers(void)
{
	stack_t ss;
	struct sigaction sa;

	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = rec_sigstack;
	ss.ss_size = sizeof(rec_sigstack);
	if (sigaltstack(&ss, NULL) < 0)
		rec_die("sigaltstack", 0, strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = rec_on_signal;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL) < 0 || sigaction(SIGBUS, &sa, NULL) < 0)
		rec_die("sigaction", 0, strerror(errno));
}

/*
 * Accesses one byte in each page of [addr, addr + len): addr itself, then
 * the start of every following page.  Fills r->pages/minor/major and, if a
 * signal stopped the loop, r->sig/sigcode/sigaddr.
 */
static void rec_touch(uint64_t addr, uint64_t len, int write, struct scn_result *r)
{
	struct rusage before, after;
	/* live across siglongjmp: volatile (the loop reloads them anyway) */
	volatile uint64_t start = addr, end = addr + len;

	rec_touch_pages = 0;
	rec_sig = 0;
	getrusage(RUSAGE_SELF, &before);
	if (sigsetjmp(rec_touch_env, 1) == 0) {
		rec_touch_active = 1;
		for (volatile uint64_t p = start; p < end;
		     p = (p & ~(SCN_PAGE_SIZE - 1)) + SCN_PAGE_SIZE) {
			volatile char *c = (volatile char *)(uintptr_t)p;

			if (write)
				*c = 0;
			else
				(void)*c;
			rec_touch_pages = rec_touch_pages + 1;
		}
		rec_touch_active = 0;
	}
	getrusage(RUSAGE_SELF, &after);
	r->pages = rec_touch_pages;
	r->minor = (uint64_t)(after.ru_minflt - before.ru_minflt);
	r->major = (uint64_t)(after.ru_majflt - before.ru_majflt);
	r->sig = rec_sig;
	r->sigcode = rec_sigcode;
	r->sigaddr = rec_sigaddr;
}

/* Writes 64 KiB of stack below the caller: the frames of a later touch
 * (called from the same depth) then fault nothing. */
static void __attribute__((noinline)) rec_probe_stack(void)
{
	volatile char probe[64 * 1024];

	for (size_t i = 0; i < sizeof(probe); i += 512)
		probe[i] = 0;
}

/* Prefaults every buffer and runs each measured path once, outside the
 * window, so that later measurements see only the scenario's own faults. */
static void rec_warm_up(void)
{
	struct scn_result r;

	rec_probe_stack();
	memset(rec_maps, 0, sizeof(rec_maps));
	memset(rec_out, 0, sizeof(rec_out));
	memset(rec_sigstack, 0, sizeof(rec_sigstack));
	memset(rec_scratch, 0, sizeof(rec_scratch));
	memset(rec_page, 0, sizeof(rec_page));
	for (int i = 0; i < 3; i++) {
		rec_touch((uint64_t)(uintptr_t)rec_scratch, sizeof(rec_scratch),
			  i & 1, &r);
		rec_touch((uint64_t)(uintptr_t)rec_guard, 1, 0, &r);
		if (r.sig != SIGSEGV)
			rec_die("warm-up", 0, "no SIGSEGV on the guard page");
		if (rec_read_maps() < 0)
			rec_die("/proc/self/maps", 0, "cannot read");
	}
}

/* ---- processes -------------------------------------------------------------- */

static long rec_sys(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d,
		    uint64_t e, uint64_t f)
{
	long ret = syscall(nr, a, b, c, d, e, f);

	return ret == -1 ? -errno : ret;
}

static void rec_send(int slot, int what, int next, int reap)
{
	struct rec_token t = {what, next, reap};

	while (write(rec_pipe[slot][1], &t, sizeof(t)) < 0 && errno == EINTR)
		;
}

/* Waits for this slot's next token; REC_GO answers the op to run on
 * (reaping a child that exited), REC_END / REC_DIE end the process. */
static int rec_wait(int want)
{
	struct rec_token t;

	for (;;) {
		ssize_t n = read(rec_pipe[rec_slot][0], &t, sizeof(t));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(t))
			rec_die("pipe", 0, "short read of a token");
		if (t.what == REC_END || t.what == REC_DIE) {
			if (rec_slot != 0)
				_exit(t.what == REC_END ? 0 : 2);
			while (wait(NULL) > 0 || errno == EINTR)
				;
			exit(t.what == REC_END ? 0 : 2);
		}
		if (t.what != want)
			rec_die("pipe", 0, "unexpected token");
		if (t.what == REC_GO && t.reap >= 0)
			while (waitpid(rec_pids[t.reap], NULL, 0) < 0 &&
			       errno == EINTR)
				;
		return t.next;
	}
}

/* fork: the child (slot target) rewarms first, then the parent; answers
 * 0 in the parent, 1 in the child, or -errno. */
static long rec_fork(const struct scn_op *op)
{
	fflush(NULL);
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	rec_forked = true;
	if (pid == 0) {
		rec_slot = op->target;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		rec_warm_up();
		rec_send(op->proc, REC_READY, 0, -1);
		return 1;
	}
	rec_pids[op->target] = pid;
	rec_wait(REC_READY);
	rec_warm_up();
	return 0;
}

/* The scenario is over (its end or a fatal signal): every process ends. */
static int rec_end_all(void)
{
	for (int k = 0; rec_forked && k < SCN_MAX_PROCS; k++)
		if (k != rec_slot)
			rec_send(k, REC_END, 0, -1);
	if (rec_slot != 0)
		_exit(0);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}

/* recorder --zero-page: does a read fault map the shared zero page? */
static int rec_zero_page(void)
{
	struct scn_result r1, r2;
	long p = rec_sys(SYS_mmap, 0, SCN_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, (uint64_t)-1, 0);

	if (p < 0 && p >= -4095)
		rec_die("mmap", 0, strerror((int)-p));
	if (mprotect(rec_guard, sizeof(rec_guard), PROT_NONE) < 0)
		rec_die("mprotect", 0, strerror(errno));
	rec_install_handlers();
	rec_warm_up();
	rec_touch((uint64_t)p, 1, 0, &r1);
	rec_touch((uint64_t)p, 1, 1, &r2);
	if (r1.minor != 1 || r2.minor > 1)
		rec_die("--zero-page", 0, "unexpected fault counts");
	printf("%d\n", (int)r2.minor);
	return 0;
}

/* ---- main ------------------------------------------------------------------ */

/* ---- files ------------------------------------------------------------------- */

static void rec_file_path(const struct scn_scenario *s, int file, char *buf,
			  size_t cap)
{
	snprintf(buf, cap, "%s/%s", rec_dir, s->files[file - 1]);
}

/* file NAME PAGES: written in 4 KiB writes, synced, reopened; 0 / -errno. */
static long rec_file(const struct scn_scenario *s, const struct scn_op *op)
{
	char path[512];
	long ret = 0;

	if (!rec_dir[0]) {
		const char *d = getenv("MMSIM_FIDELITY_DIR");
		snprintf(rec_dir, sizeof(rec_dir), "%s/mmsim-fidelity.%d",
			 d && *d ? d : "/var/tmp", (int)getpid());
		if (mkdir(rec_dir, 0700) < 0)
			rec_die(rec_dir, 0, strerror(errno));
	}
	rec_file_path(s, op->file, path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (uint64_t k = 0; k < op->len && !ret; k++) {
		memset(rec_page, 'a' + (int)(k % 26), sizeof(rec_page));
		if (pwrite(fd, rec_page, sizeof(rec_page), (off_t)(k * 4096)) !=
		    (ssize_t)sizeof(rec_page))
			ret = -EIO;
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	close(fd);
	if (!ret && (rec_fds[op->file - 1] = open(path, O_RDWR | O_CLOEXEC)) < 0)
		ret = -errno;
	return ret;
}

/* drop: every file's clean unmapped pages leave the page cache. */
static long rec_drop(const struct scn_scenario *s)
{
	for (int i = 0; i < s->nfiles; i++) {
		if (rec_fds[i] <= 0)
			continue;
		if (fsync(rec_fds[i]) < 0)
			return -errno;
		int rc = posix_fadvise(rec_fds[i], 0, 0, POSIX_FADV_DONTNEED);
		if (rc)
			return -rc;
	}
	return 0;
}

static void rec_remove_files(const struct scn_scenario *s)
{
	char path[512];

	if (!rec_dir[0])
		return;
	for (int i = 0; i < s->nfiles; i++) {
		rec_file_path(s, i + 1, path, sizeof(path));
		unlink(path);
	}
	rmdir(rec_dir);
}

/* Runs one op; returns false if the scenario must end (fatal signal). */
static bool rec_run(const struct scn_scenario *s, const struct scn_op *op)
{
	struct scn_result r;
	long ret = 0;
	size_t n;

	memset(&r, 0, sizeof(r));
	switch (op->op) {
	case SCN_MMAP:
		ret = rec_sys(SYS_mmap, op->addr, op->len, (uint64_t)op->prot,
			      (uint64_t)op->flags,
			      op->file ? (uint64_t)rec_fds[op->file - 1]
				       : (uint64_t)-1, op->offset);
		/* an address in the last 4095 bytes reads as an errno: never
		 * inside a user window, so the test is exact */
		if (ret < 0 && ret >= -4095)
			r.err = (int)ret;
		else
			r.addr = (uint64_t)ret;
		break;
	case SCN_MUNMAP:
		ret = rec_sys(SYS_munmap, op->addr, op->len, 0, 0, 0, 0);
		break;
	case SCN_MPROTECT:
		ret = rec_sys(SYS_mprotect, op->addr, op->len,
			      (uint64_t)op->prot, 0, 0, 0);
		break;
	case SCN_MADVISE:
		ret = rec_sys(SYS_madvise, op->addr, op->len,
			      (uint64_t)op->advice, 0, 0, 0);
		break;
	case SCN_MLOCK:
		ret = rec_sys(SYS_mlock, op->addr, op->len, 0, 0, 0, 0);
		break;
	case SCN_MUNLOCK:
		ret = rec_sys(SYS_munlock, op->addr, op->len, 0, 0, 0, 0);
		break;
	case SCN_MAPS: {
		long len = rec_read_maps();

		if (len < 0)
			rec_die("/proc/self/maps", 0, "cannot read");
		r.maps = rec_maps;
		r.maps_len = (size_t)len;
		break;
	}
	case SCN_TOUCH:
		rec_touch(op->addr, op->len, op->write, &r);
		if (rec_settle) {
			struct timespec ts = {0, REC_SETTLE_NS};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		break;
	case SCN_FILE:
		ret = rec_file(s, op);
		break;
	case SCN_DROP:
		ret = rec_drop(s);
		break;
	case SCN_FORK:
		ret = rec_fork(op);
		if (ret == 1)
			return true;    /* the child: its parent prints */
		break;
	case SCN_CHILD:
	case SCN_PARENT:
	case SCN_EXIT:
		break;          /* the switch happens after the line */
	}
	if (op->op != SCN_MMAP && op->op != SCN_MAPS && op->op != SCN_TOUCH)
		r.err = ret < 0 ? (int)ret : 0;
	n = scn_format_result(s, op, &r, rec_out, sizeof(rec_out));
	if (n == 0) {
		fprintf(stderr, "%s: line %d: result does not fit or maps "
			"unparsable\n", rec_prog, op->line);
		_exit(2);
	}
	rec_write(rec_out, n);
	return r.sig == 0;
}

int main(int argc, char **argv)
{
	struct scn_scenario *s = &rec_scn;
	const char *path;
	size_t len;
	long ret;
	uint64_t lo, hi;

	if (argc > 0 && argv[0])
		rec_prog = argv[0];
	if (argc == 2 && strcmp(argv[1], "--zero-page") == 0)
		return rec_zero_page();
	if (argc != 2) {
		fprintf(stderr, "usage: %s SCENARIO | --zero-page\n", rec_prog);
		return 2;
	}
	path = argv[1];
	len = rec_read_file(path, rec_text, sizeof(rec_text));
	s->ops = rec_ops;
	s->cap = REC_MAX_OPS;
	if (scn_parse(s, rec_text, len)) {
		for (int i = 0; i < s->ndiags; i++)
			fprintf(stderr, "%s:%d: %s\n", path, s->diags[i].line,
				s->diags[i].msg);
		if (s->nerrors > s->ndiags)
			fprintf(stderr, "%s: … and %d more\n", path,
				s->nerrors - s->ndiags);
		return 2;
	}
	for (size_t i = 0; i < s->nops; i++) {
		const char *why = rec_unsafe(&s->window, &s->ops[i]);

		if (why)
			rec_die(path, s->ops[i].line, why);
	}

	for (int k = 0; k < SCN_MAX_PROCS; k++)
		if (pipe2(rec_pipe[k], O_CLOEXEC) < 0)
			rec_die("pipe", 0, strerror(errno));
	if (mprotect(rec_guard, sizeof(rec_guard), PROT_NONE) < 0)
		rec_die("mprotect", 0, strerror(errno));
	for (size_t i = 0; i < s->nops; i++)
		rec_settle |= s->ops[i].op == SCN_DROP;
	rec_install_handlers();
	rec_warm_up();

	/* the window, plus a page each side, must be free */
	lo = s->window.base - SCN_PAGE_SIZE;
	hi = s->window.base + s->window.size + SCN_PAGE_SIZE;
	ret = rec_sys(SYS_mmap, lo, hi - lo, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
		      MAP_FIXED_NOREPLACE, (uint64_t)-1, 0);
	if (ret < 0 && ret >= -4095)
		rec_die(path, 0, "window (±1 page) is not free");
	if ((uint64_t)ret != lo) {
		rec_sys(SYS_munmap, (uint64_t)ret, hi - lo, 0, 0, 0, 0);
		rec_die(path, 0, "kernel ignored MAP_FIXED_NOREPLACE");
	}
	if (rec_sys(SYS_munmap, lo, hi - lo, 0, 0, 0, 0) < 0)
		rec_die(path, 0, "cannot unmap the window probe");

	for (size_t i = 0; i < s->nops;) {
		const struct scn_op *op = &s->ops[i++];

		if (!rec_run(s, op))
			break;
		if (op->op == SCN_FORK) {
			if (rec_slot == op->target)     /* the new child waits */
				i = (size_t)rec_wait(REC_GO);
		} else if (op->target != op->proc) {
			rec_send(op->target, REC_GO, (int)i,
				 op->op == SCN_EXIT ? op->proc : -1);
			if (op->op == SCN_EXIT)
				_exit(0);
			i = (size_t)rec_wait(REC_GO);
		}
	}
	rec_remove_files(s);
	return rec_end_all();
}
