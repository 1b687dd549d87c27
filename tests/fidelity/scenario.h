/*
 * scenario.h — fidelity scenarios: parser and the one output format.
 *
 * A scenario (tests/fidelity/README.md) is a line-based list of memory
 * operations inside a fixed address window.  This module is shared by the
 * host recorder (tests/fidelity/recorder.c, which runs a scenario on the
 * real kernel) and by the simulator runner (which runs it on the engine), so
 * that both sides parse the same ops and print the same text:
 *
 *   scn_parse()          text -> window + array of scn_op (caller's storage)
 *   scn_format_op()      one op back to its canonical text
 *   scn_format_result()  "LINE op ... = RESULT" (+ maps lines) for one op
 *   scn_maps_window()    a raw /proc/PID/maps text -> the window's lines,
 *                        addresses relative, shared-anon ids normalised
 *
 * No I/O and no allocation: the caller owns every buffer.  Values of prot,
 * flags and advice are Linux's (the engine's MM_PROT_*, MM_MAP_*,
 * MM_MADV_* in engine/mm.h carry the same numbers).  Addresses in scn_op
 * are absolute (window base + relative), 0 meaning "none" / NULL.
 */
#ifndef MMSIM_TESTS_FIDELITY_SCENARIO_H
#define MMSIM_TESTS_FIDELITY_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

#define SCN_PAGE_SIZE 4096ull
/* x86_64 TASK_SIZE with 4-level paging: the last user address + 1. */
#define SCN_TASK_SIZE 0x7ffffffff000ull
#define SCN_MAX_LINE 512   /* bytes per scenario line, newline excluded */
#define SCN_MAX_DIAGS 16   /* malformed lines reported per parse */
#define SCN_MAX_FILES 8    /* files a scenario creates */
#define SCN_FILE_NAME 16   /* [a-z0-9_-], 1..15 bytes */
#define SCN_FILE_PAGES_MAX 65536
#define SCN_FILE_TOKEN "file"

enum scn_opcode {
	SCN_MMAP,       /* addr len prot flags offset */
	SCN_MUNMAP,     /* addr len */
	SCN_MPROTECT,   /* addr len prot */
	SCN_MADVISE,    /* addr len advice */
	SCN_MLOCK,      /* addr len */
	SCN_MUNLOCK,    /* addr len */
	SCN_MAPS,       /* (none): print the window's maps lines */
	SCN_TOUCH,      /* addr len write */
	SCN_FILE,       /* file NAME PAGES: a file of PAGES cached pages */
	SCN_DROP,       /* drop: the files' clean unmapped pages leave the cache */
	SCN_FORK,       /* the active process forks (the child waits) */
	SCN_CHILD,      /* its latest live child becomes the active process */
	SCN_PARENT,     /* its parent becomes the active process */
	SCN_EXIT,       /* it exits; its parent becomes the active process */
};

/* Processes of a scenario: slot 0 runs first, each fork takes the next
 * slot (slots are never reused). */
#define SCN_MAX_PROCS 8

struct scn_op {
	enum scn_opcode op;
	int line;          /* 1-based line in the scenario file */
	uint64_t addr;     /* absolute; 0 = none (mmap without hint) / NULL */
	uint64_t len;      /* bytes, as written (may be 0, unaligned, huge) */
	int prot;          /* PROT_* bits (mmap, mprotect) */
	int flags;         /* MAP_* bits (mmap) */
	int advice;        /* MADV_* value (madvise) */
	uint64_t offset;   /* mmap off=, bytes (0 if not given) */
	int write;         /* touch: 1 = write, 0 = read */
	int proc;          /* the process slot that runs the op */
	int target;        /* fork: the child's slot; child, parent, exit:
			    * the slot active after the op; else proc */
	int file;          /* mmap file=, file: index in files[] + 1; 0 none */
};

/* The address window every scenario address is relative to: [base, base+size). */
struct scn_window {
	uint64_t base;
	uint64_t size;
};

struct scn_diag {
	int line;
	char msg[120];
};

/*
 * A parsed scenario.  The caller points ops at an array of cap entries
 * before scn_parse(); the parser fills window, nops and diags.
 */
struct scn_scenario {
	struct scn_window window;
	struct scn_op *ops;
	size_t nops;
	size_t cap;
	char files[SCN_MAX_FILES][SCN_FILE_NAME]; /* names, in creation order */
	int nfiles;
	struct scn_diag diags[SCN_MAX_DIAGS];
	int ndiags;        /* diagnostics kept (at most SCN_MAX_DIAGS) */
	int nerrors;       /* malformed lines in total */
};

/*
 * Parses text[0..len) into s (whose ops/cap the caller set) and gives each
 * op its process slot (proc, target); a `child` without a live child, a
 * `parent` or `exit` of slot 0, or more than SCN_MAX_PROCS processes is a
 * malformed line.  Every malformed line is counted; the first SCN_MAX_DIAGS are kept with their
 * line numbers.  Returns the number of malformed lines (0 = success); on
 * failure s->ops holds whatever parsed and must not be run.
 */
int scn_parse(struct scn_scenario *s, const char *text, size_t len);

/*
 * Writes an address relative to the window: "0" for 0, "+0x1000" inside
 * or above the base, "-0x1000" below it.  Returns the length written
 * (always NUL-terminated; buf should hold 24 bytes).
 */
size_t scn_format_rel(const struct scn_window *w, uint64_t addr, char *buf,
		      size_t cap);

/* "rw-" (plus "+0x…" for bits beyond rwx).  buf: 24 bytes. */
size_t scn_format_prot(int prot, char *buf, size_t cap);
/* "private,anonymous,fixed" in bit order; "0" for none; unknown bits hex. */
size_t scn_format_flags(int flags, char *buf, size_t cap);
/* "dontneed"; unknown values in decimal. */
size_t scn_format_advice(int advice, char *buf, size_t cap);
/* "ENOMEM" for 12 or -12 (Linux numbers); "E?N" for unknown ones. */
const char *scn_errname(int err);
/* "SIGSEGV"; "SEGV_MAPERR" for (sig, code). */
const char *scn_signame(int sig);
const char *scn_sigcode_name(int sig, int code);

/* Canonical text of op, e.g. "mmap +0x0 0x4000 rw- private,anonymous,fixed". */
size_t scn_format_op(const struct scn_scenario *s, const struct scn_op *op,
		     char *buf, size_t cap);

/* What an op did, filled by whoever ran it (host or simulator). */
struct scn_result {
	int err;             /* 0 or a negative Linux errno */
	uint64_t addr;       /* mmap: the address returned (when err == 0) */
	/* maps: the whole /proc/PID/maps text, absolute addresses */
	const char *maps;
	size_t maps_len;
	/* touch */
	uint64_t pages;      /* pages accessed without a signal */
	uint64_t minor;      /* minor fault delta over the loop */
	uint64_t major;      /* major fault delta over the loop */
	int sig;             /* 0, or the fatal signal (SIGSEGV = 11, SIGBUS = 7) */
	int sigcode;         /* si_code of that signal */
	uint64_t sigaddr;    /* si_addr of that signal */
};

/*
 * Writes the recording text of one op: "LINE op ... = RESULT\n", and for
 * `maps` the window's lines after it (see README.md for the exact shape).
 * Returns the length (excluding the NUL), or 0 if cap was too small.
 */
size_t scn_format_result(const struct scn_scenario *s, const struct scn_op *op,
			 const struct scn_result *r, char *buf, size_t cap);

/*
 * Converts a raw maps text into the window's lines: every line whose range
 * intersects the window, addresses rewritten relative to the base, the rest
 * copied byte for byte (including the kernel's trailing space on nameless
 * lines), except that a shared-anonymous mapping's "00:01 INODE" becomes
 * the fixed token SCN_SHM_TOKEN padded to the same name column, and a
 * file's "MAJ:MIN INODE" the token SCN_FILE_TOKEN with its path cut to
 * the last component (the host's directory and device vary).  Each line
 * is written as "  " + line + "$\n".  Sets *nlines; returns the length
 * written, or 0 with *nlines = -1 when cap is too small or a line does
 * not parse.
 */
#define SCN_SHM_TOKEN "shm:anon"
size_t scn_maps_window(const struct scn_window *w, const char *maps,
		       size_t maps_len, char *buf, size_t cap, int *nlines);

#endif
