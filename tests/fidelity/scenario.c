/*
 * scenario.c — parser and output format of fidelity scenarios.
 *
 * Parsing is one pass over lines: strip a '#' comment, split on blanks,
 * look the op up in a table that fixes its argument count, then convert
 * each argument (relative address, length, prot triplet, flag list,
 * advice).  A malformed line is counted and described with its line number
 * but does not stop the pass, so one run reports every bad line (up to
 * SCN_MAX_DIAGS kept).  Invariants after a successful parse: the window is
 * page aligned, non-empty and below 2^64; every op has its line number;
 * addresses are absolute (base + relative; a literal 0 stays 0).
 *
 * Output is produced only here so the host recorder and the simulator
 * runner cannot drift apart: same op text, same result text, same maps
 * rewriting.  Nothing here allocates or does I/O.
 */
#include "tests/fidelity/scenario.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "engine/mm.h"

/* ---- names ---------------------------------------------------------------- */

/* MAP_* flag names without the prefix, in bit order for printing. */
static const struct {
	const char *name;
	int bits;
} scn_flag_names[] = {
	/* the type field (MAP_TYPE, 0x0f) is handled as a whole */
	{ "shared", MM_MAP_SHARED },
	{ "private", MM_MAP_PRIVATE },
	{ "shared_validate", MM_MAP_SHARED_VALIDATE },
	{ "fixed", MM_MAP_FIXED },
	{ "anonymous", MM_MAP_ANONYMOUS },
	{ "growsdown", MM_MAP_GROWSDOWN },
	{ "denywrite", MM_MAP_DENYWRITE },
	{ "executable", MM_MAP_EXECUTABLE },
	{ "locked", MM_MAP_LOCKED },
	{ "noreserve", MM_MAP_NORESERVE },
	{ "populate", MM_MAP_POPULATE },
	{ "nonblock", MM_MAP_NONBLOCK },
	{ "stack", MM_MAP_STACK },
	{ "hugetlb", MM_MAP_HUGETLB },
	{ "sync", MM_MAP_SYNC },
	{ "fixed_noreplace", MM_MAP_FIXED_NOREPLACE },
};

static const struct {
	const char *name;
	int advice;
} scn_advice_names[] = {
	{ "normal", MM_MADV_NORMAL },
	{ "random", MM_MADV_RANDOM },
	{ "sequential", MM_MADV_SEQUENTIAL },
	{ "willneed", MM_MADV_WILLNEED },
	{ "dontneed", MM_MADV_DONTNEED },
	{ "cold", MM_MADV_COLD },
	{ "pageout", MM_MADV_PAGEOUT },
};

/* Linux (x86_64, asm-generic) errno numbers. */
static const struct {
	int err;
	const char *name;
} scn_errnames[] = {
	{ 1, "EPERM" }, { 2, "ENOENT" }, { 3, "ESRCH" }, { 4, "EINTR" },
	{ 5, "EIO" }, { 6, "ENXIO" }, { 7, "E2BIG" }, { 8, "ENOEXEC" },
	{ 9, "EBADF" }, { 10, "ECHILD" }, { 11, "EAGAIN" }, { 12, "ENOMEM" },
	{ 13, "EACCES" }, { 14, "EFAULT" }, { 16, "EBUSY" }, { 17, "EEXIST" },
	{ 19, "ENODEV" }, { 22, "EINVAL" }, { 23, "ENFILE" }, { 24, "EMFILE" },
	{ 26, "ETXTBSY" }, { 27, "EFBIG" }, { 28, "ENOSPC" }, { 34, "ERANGE" },
	{ 36, "ENAMETOOLONG" }, { 38, "ENOSYS" }, { 75, "EOVERFLOW" },
	{ 95, "EOPNOTSUPP" }, { 110, "ETIMEDOUT" },
};

const char *scn_errname(int err)
{
	static char unknown[24];

	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(scn_errnames) / sizeof(scn_errnames[0]); i++)
		if (scn_errnames[i].err == err)
			return scn_errnames[i].name;
	snprintf(unknown, sizeof(unknown), "E?%d", err);
	return unknown;
}

const char *scn_signame(int sig)
{
	switch (sig) {
	case 7: return "SIGBUS";
	case 11: return "SIGSEGV";
	default: return "SIG?";
	}
}

const char *scn_sigcode_name(int sig, int code)
{
	if (sig == 11) {
		switch (code) {
		case 1: return "SEGV_MAPERR";
		case 2: return "SEGV_ACCERR";
		case 4: return "SEGV_PKUERR";
		}
	} else if (sig == 7) {
		switch (code) {
		case 1: return "BUS_ADRALN";
		case 2: return "BUS_ADRERR";
		case 3: return "BUS_OBJERR";
		}
	}
	return "CODE?";
}

/* ---- parsing helpers -------------------------------------------------------- */

static void scn_diag(struct scn_scenario *s, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void scn_diag(struct scn_scenario *s, int line, const char *fmt, ...)
{
	s->nerrors++;
	if (s->ndiags >= SCN_MAX_DIAGS)
		return;
	struct scn_diag *d = &s->diags[s->ndiags++];
	va_list ap;

	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

/* Unsigned "0x…" hex or decimal, whole token, no overflow.  0 or -1. */
static int scn_parse_u64(const char *t, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;

	if (t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
		base = 16;
		t += 2;
	}
	if (!*t)
		return -1;
	for (; *t; t++) {
		unsigned d;

		if (*t >= '0' && *t <= '9')
			d = (unsigned)(*t - '0');
		else if (base == 16 && *t >= 'a' && *t <= 'f')
			d = (unsigned)(*t - 'a' + 10);
		else if (base == 16 && *t >= 'A' && *t <= 'F')
			d = (unsigned)(*t - 'A' + 10);
		else
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* "+N" / "-N" relative to the window base, or a literal "0". */
static int scn_parse_addr(const struct scn_window *w, const char *t,
			  uint64_t *out)
{
	uint64_t rel;

	if (strcmp(t, "0") == 0) {
		*out = 0;
		return 0;
	}
	if ((t[0] != '+' && t[0] != '-') || scn_parse_u64(t + 1, &rel) < 0)
		return -1;
	if (t[0] == '+') {
		if (rel > UINT64_MAX - w->base)
			return -1;
		*out = w->base + rel;
	} else {
		if (rel > w->base)
			return -1;
		*out = w->base - rel;
	}
	return 0;
}

/* "rwx" triplet ('-' for absent bits), optionally "+0xBITS" for others. */
static int scn_parse_prot(const char *t, int *out)
{
	static const char letters[3] = { 'r', 'w', 'x' };
	int prot = 0;

	for (int i = 0; i < 3; i++) {
		if (t[i] == letters[i])
			prot |= 1 << i;
		else if (t[i] != '-')
			return -1;
	}
	if (t[3] == '+') {
		uint64_t extra;

		if (scn_parse_u64(t + 4, &extra) < 0 || extra > 0x7fffffff ||
		    (extra & 7))
			return -1;
		prot |= (int)extra;
	} else if (t[3]) {
		return -1;
	}
	*out = prot;
	return 0;
}

/* Comma list of flag names, raw "0x…" bits allowed; "0" is no flags. */
static int scn_parse_flags(const char *t, int *out, char *bad, size_t badlen)
{
	int flags = 0;

	if (strcmp(t, "0") == 0) {
		*out = 0;
		return 0;
	}
	while (*t) {
		const char *comma = strchr(t, ',');
		size_t n = comma ? (size_t)(comma - t) : strlen(t);
		char word[40];
		bool found = false;
		uint64_t raw;

		if (n == 0 || n >= sizeof(word))
			goto bad;
		memcpy(word, t, n);
		word[n] = 0;
		for (size_t i = 0; i < sizeof(scn_flag_names) / sizeof(scn_flag_names[0]); i++) {
			if (strcmp(word, scn_flag_names[i].name) == 0) {
				flags |= scn_flag_names[i].bits;
				found = true;
				break;
			}
		}
		if (!found) {
			if (word[0] != '0' || scn_parse_u64(word, &raw) < 0 ||
			    raw > 0x7fffffff)
				goto bad;
			flags |= (int)raw;
		}
		t += n;
		if (*t == ',') {
			t++;
			if (!*t)
				goto bad_empty;
		}
		continue;
bad:
		snprintf(bad, badlen, "%.*s", (int)(n < 40 ? n : 40), t);
		return -1;
bad_empty:
		snprintf(bad, badlen, "(empty)");
		return -1;
	}
	*out = flags;
	return 0;
}

static int scn_parse_advice(const char *t, int *out)
{
	uint64_t raw;

	for (size_t i = 0; i < sizeof(scn_advice_names) / sizeof(scn_advice_names[0]); i++) {
		if (strcmp(t, scn_advice_names[i].name) == 0) {
			*out = scn_advice_names[i].advice;
			return 0;
		}
	}
	if (scn_parse_u64(t, &raw) < 0 || raw > 0x7fffffff)
		return -1;
	*out = (int)raw;
	return 0;
}

/* Argument shapes of each op. */
enum { A_ADDR = 1, A_LEN, A_PROT, A_FLAGS, A_ADVICE, A_RW };

static const struct {
	const char *name;
	enum scn_opcode op;
	int nargs;
	int args[4];
} scn_ops[] = {
	{ "mmap", SCN_MMAP, 4, { A_ADDR, A_LEN, A_PROT, A_FLAGS } },
	{ "munmap", SCN_MUNMAP, 2, { A_ADDR, A_LEN } },
	{ "mprotect", SCN_MPROTECT, 3, { A_ADDR, A_LEN, A_PROT } },
	{ "madvise", SCN_MADVISE, 3, { A_ADDR, A_LEN, A_ADVICE } },
	{ "mlock", SCN_MLOCK, 2, { A_ADDR, A_LEN } },
	{ "munlock", SCN_MUNLOCK, 2, { A_ADDR, A_LEN } },
	{ "maps", SCN_MAPS, 0, { 0 } },
	{ "touch", SCN_TOUCH, 3, { A_ADDR, A_LEN, A_RW } },
	{ "drop", SCN_DROP, 0, { 0 } },
	{ "fork", SCN_FORK, 0, { 0 } },
	{ "child", SCN_CHILD, 0, { 0 } },
	{ "parent", SCN_PARENT, 0, { 0 } },
	{ "exit", SCN_EXIT, 0, { 0 } },
};

static const char *const scn_arg_what[] = {
	[A_ADDR] = "address (+0x…, -0x… or 0)",
	[A_LEN] = "length (hex 0x… or decimal)",
	[A_PROT] = "prot (rwx triplet like rw-)",
	[A_FLAGS] = "flags (comma list like private,anonymous)",
	[A_ADVICE] = "advice (dontneed, willneed, … or a number)",
	[A_RW] = "access (read or write)",
};

#define SCN_MAX_TOKENS 8

/* Splits line (modified in place) on blanks; returns the token count. */
static int scn_tokenize(char *line, char **tok)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p)
			break;
		if (n == SCN_MAX_TOKENS)
			return n + 1;
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = 0;
	}
	return n;
}

static void scn_parse_window(struct scn_scenario *s, int lineno, char **tok,
			     int ntok, bool *have_window)
{
	uint64_t base, size;

	if (*have_window) {
		scn_diag(s, lineno, "second 'window' line");
		return;
	}
	if (ntok != 3 || scn_parse_u64(tok[1], &base) < 0 ||
	    scn_parse_u64(tok[2], &size) < 0) {
		scn_diag(s, lineno, "expected 'window BASE SIZE' (absolute hex)");
		return;
	}
	if (!base || !size || base % SCN_PAGE_SIZE || size % SCN_PAGE_SIZE ||
	    size > SCN_TASK_SIZE || base > SCN_TASK_SIZE - size) {
		scn_diag(s, lineno, "window must be page aligned, non-empty and "
			 "inside the user address space");
		return;
	}
	s->window.base = base;
	s->window.size = size;
	*have_window = true;
}

/* The index of the file named name, or -1. */
static int scn_file_index(const struct scn_scenario *s, const char *name)
{
	for (int i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i], name) == 0)
			return i;
	return -1;
}

/* file NAME PAGES: names are [a-z0-9_-], unique, at most SCN_MAX_FILES. */
static void scn_parse_file(struct scn_scenario *s, int lineno, char **tok,
			   int ntok)
{
	struct scn_op op;
	size_t n = ntok == 3 ? strlen(tok[1]) : 0;

	if (ntok != 3 || scn_parse_u64(tok[2], &op.len) < 0 || !op.len ||
	    op.len > SCN_FILE_PAGES_MAX || !n || n >= SCN_FILE_NAME ||
	    strspn(tok[1], "abcdefghijklmnopqrstuvwxyz0123456789_-") != n) {
		scn_diag(s, lineno, "expected 'file NAME PAGES' (NAME: 1 to 15 "
			 "of [a-z0-9_-], PAGES: 1 to %d)", SCN_FILE_PAGES_MAX);
		return;
	}
	if (scn_file_index(s, tok[1]) >= 0 || s->nfiles == SCN_MAX_FILES) {
		scn_diag(s, lineno, "file '%s' exists or too many files", tok[1]);
		return;
	}
	if (s->nops == s->cap) {
		scn_diag(s, lineno, "too many ops (limit %zu)", s->cap);
		return;
	}
	uint64_t pages = op.len;
	memset(&op, 0, sizeof(op));
	op.op = SCN_FILE;
	op.line = lineno;
	op.len = pages;
	memcpy(s->files[s->nfiles], tok[1], n + 1);
	op.file = ++s->nfiles;
	s->ops[s->nops++] = op;
}

/* Parses one op line (tokens) into s->ops[s->nops]. */
static void scn_parse_op(struct scn_scenario *s, int lineno, char **tok,
			 int ntok)
{
	struct scn_op op;
	size_t k;
	int nargs;

	if (strcmp(tok[0], "file") == 0) {
		scn_parse_file(s, lineno, tok, ntok);
		return;
	}
	for (k = 0; k < sizeof(scn_ops) / sizeof(scn_ops[0]); k++)
		if (strcmp(tok[0], scn_ops[k].name) == 0)
			break;
	if (k == sizeof(scn_ops) / sizeof(scn_ops[0])) {
		scn_diag(s, lineno, "unknown op '%.40s'", tok[0]);
		return;
	}
	memset(&op, 0, sizeof(op));
	op.op = scn_ops[k].op;
	op.line = lineno;
	nargs = scn_ops[k].nargs;

	/* mmap alone takes optional trailing off=… and file=NAME */
	while (op.op == SCN_MMAP && ntok > nargs + 1) {
		const char *t = tok[ntok - 1];
		if (strncmp(t, "off=", 4) == 0 && !op.offset) {
			if (scn_parse_u64(t + 4, &op.offset) < 0) {
				scn_diag(s, lineno, "bad offset '%.40s'", t);
				return;
			}
		} else if (strncmp(t, "file=", 5) == 0 && !op.file) {
			op.file = scn_file_index(s, t + 5) + 1;
			if (!op.file) {
				scn_diag(s, lineno, "no file '%.40s' yet", t + 5);
				return;
			}
		} else {
			break;
		}
		ntok--;
	}
	if (ntok != nargs + 1) {
		scn_diag(s, lineno, "'%s' takes %d argument%s, got %d",
			 scn_ops[k].name, nargs, nargs == 1 ? "" : "s",
			 ntok - 1);
		return;
	}
	for (int i = 0; i < nargs; i++) {
		const char *t = tok[i + 1];
		int kind = scn_ops[k].args[i];
		int rc = 0;
		char bad[48] = "";

		switch (kind) {
		case A_ADDR:
			rc = scn_parse_addr(&s->window, t, &op.addr);
			break;
		case A_LEN:
			rc = scn_parse_u64(t, &op.len);
			break;
		case A_PROT:
			rc = scn_parse_prot(t, &op.prot);
			break;
		case A_FLAGS:
			rc = scn_parse_flags(t, &op.flags, bad, sizeof(bad));
			break;
		case A_ADVICE:
			rc = scn_parse_advice(t, &op.advice);
			break;
		case A_RW:
			if (strcmp(t, "read") == 0)
				op.write = 0;
			else if (strcmp(t, "write") == 0)
				op.write = 1;
			else
				rc = -1;
			break;
		}
		if (rc < 0) {
			if (bad[0])
				scn_diag(s, lineno, "argument %d of '%s': unknown "
					 "flag '%s'", i + 1, scn_ops[k].name,
					 bad);
			else
				scn_diag(s, lineno, "argument %d of '%s': expected "
					 "%s, got '%.40s'", i + 1,
					 scn_ops[k].name, scn_arg_what[kind], t);
			return;
		}
	}
	if (s->nops == s->cap) {
		scn_diag(s, lineno, "too many ops (limit %zu)", s->cap);
		return;
	}
	s->ops[s->nops++] = op;
}

/*
 * Which process runs each op: slot 0 first; fork gives the next slot;
 * child picks the active process's latest live child, parent and exit its
 * parent (exit also ends the active slot).
 */
static void scn_assign_procs(struct scn_scenario *s)
{
	int parent[SCN_MAX_PROCS] = {-1}, nprocs = 1, cur = 0;
	bool live[SCN_MAX_PROCS] = {true};

	for (size_t i = 0; i < s->nops; i++) {
		struct scn_op *op = &s->ops[i];
		int t = cur;

		op->proc = cur;
		switch (op->op) {
		case SCN_FORK:
			if (nprocs == SCN_MAX_PROCS) {
				scn_diag(s, op->line, "more than %d processes",
					 SCN_MAX_PROCS);
				break;
			}
			t = nprocs++;
			parent[t] = cur;
			live[t] = true;
			op->target = t;
			continue;
		case SCN_CHILD:
			t = -1;
			for (int k = nprocs - 1; k > 0 && t < 0; k--)
				if (live[k] && parent[k] == cur)
					t = k;
			if (t < 0)
				scn_diag(s, op->line, "'child': this process has "
					 "no live child");
			break;
		case SCN_PARENT:
		case SCN_EXIT:
			t = parent[cur];
			if (t < 0)
				scn_diag(s, op->line, "'%s': the first process "
					 "has no parent",
					 op->op == SCN_EXIT ? "exit" : "parent");
			else if (!live[t])
				scn_diag(s, op->line, "'%s': the parent has "
					 "exited", op->op == SCN_EXIT ? "exit"
								      : "parent");
			if (t >= 0 && !live[t])
				t = -1;
			else if (t >= 0 && op->op == SCN_EXIT)
				live[cur] = false;
			break;
		default:
			break;
		}
		if (t < 0)
			t = cur;
		op->target = t;
		cur = t;
	}
}

int scn_parse(struct scn_scenario *s, const char *text, size_t len)
{
	bool have_window = false;
	int lineno = 0;
	size_t pos = 0;

	s->window.base = s->window.size = 0;
	s->nops = 0;
	s->nfiles = 0;
	s->ndiags = 0;
	s->nerrors = 0;
	while (pos < len) {
		char line[SCN_MAX_LINE + 1];
		char *tok[SCN_MAX_TOKENS];
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *hash;
		int ntok;

		lineno++;
		if (n > SCN_MAX_LINE) {
			scn_diag(s, lineno, "line longer than %d bytes",
				 SCN_MAX_LINE);
			pos += n + 1;
			continue;
		}
		memcpy(line, text + pos, n);
		line[n] = 0;
		pos += n + 1;
		if (memchr(line, 0, n)) {
			scn_diag(s, lineno, "NUL byte in line");
			continue;
		}
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		ntok = scn_tokenize(line, tok);
		if (ntok == 0)
			continue;
		if (ntok > SCN_MAX_TOKENS) {
			scn_diag(s, lineno, "too many words");
			continue;
		}
		if (strcmp(tok[0], "window") == 0) {
			if (s->nops)
				scn_diag(s, lineno, "'window' must come before "
					 "any op");
			else
				scn_parse_window(s, lineno, tok, ntok,
						 &have_window);
			continue;
		}
		if (!have_window) {
			scn_diag(s, lineno, "the first line must be "
				 "'window BASE SIZE'");
			/* parse on against a dummy window to find more errors */
			s->window.base = SCN_PAGE_SIZE;
			s->window.size = SCN_PAGE_SIZE;
			have_window = true;
		}
		scn_parse_op(s, lineno, tok, ntok);
	}
	if (!have_window)
		scn_diag(s, lineno ? lineno : 1, "no 'window BASE SIZE' line");
	scn_assign_procs(s);
	return s->nerrors;
}

/* ---- formatting ------------------------------------------------------------ */

size_t scn_format_rel(const struct scn_window *w, uint64_t addr, char *buf,
		      size_t cap)
{
	int n;

	if (addr == 0)
		n = snprintf(buf, cap, "0");
	else if (addr >= w->base)
		n = snprintf(buf, cap, "+0x%llx",
			     (unsigned long long)(addr - w->base));
	else
		n = snprintf(buf, cap, "-0x%llx",
			     (unsigned long long)(w->base - addr));
	return n < 0 ? 0 : (size_t)n;
}

size_t scn_format_prot(int prot, char *buf, size_t cap)
{
	int n;

	n = snprintf(buf, cap, "%c%c%c", prot & MM_PROT_READ ? 'r' : '-',
		     prot & MM_PROT_WRITE ? 'w' : '-',
		     prot & MM_PROT_EXEC ? 'x' : '-');
	if ((prot & ~7) && n > 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, "+0x%x",
			      (unsigned)(prot & ~7));
	return n < 0 ? 0 : (size_t)n;
}

size_t scn_format_flags(int flags, char *buf, size_t cap)
{
	size_t n = 0;
	unsigned rest = (unsigned)flags;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(scn_flag_names) / sizeof(scn_flag_names[0]); i++) {
		unsigned bits = (unsigned)scn_flag_names[i].bits;
		bool type = bits <= MM_MAP_TYPE;

		/* the type field matches as a whole value, other flags bitwise */
		if (type ? (rest & MM_MAP_TYPE) != bits : (rest & bits) != bits)
			continue;
		n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s",
				      n ? "," : "", scn_flag_names[i].name);
		rest &= ~(type ? (unsigned)MM_MAP_TYPE : bits);
	}
	if (rest)
		n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s0x%x",
				      n ? "," : "", rest);
	if (!n)
		n = (size_t)snprintf(buf, cap, "0");
	return n < cap ? n : cap - 1;
}

size_t scn_format_advice(int advice, char *buf, size_t cap)
{
	int n = -1;

	for (size_t i = 0; i < sizeof(scn_advice_names) / sizeof(scn_advice_names[0]); i++)
		if (scn_advice_names[i].advice == advice)
			n = snprintf(buf, cap, "%s", scn_advice_names[i].name);
	if (n < 0)
		n = snprintf(buf, cap, "%d", advice);
	return n < 0 ? 0 : (size_t)n;
}

size_t scn_format_op(const struct scn_scenario *s, const struct scn_op *op,
		     char *buf, size_t cap)
{
	char a[32], p[32], f[160];
	int n = 0;

	scn_format_rel(&s->window, op->addr, a, sizeof(a));
	switch (op->op) {
	case SCN_MMAP:
		scn_format_prot(op->prot, p, sizeof(p));
		scn_format_flags(op->flags, f, sizeof(f));
		n = snprintf(buf, cap, "mmap %s 0x%llx %s %s", a,
			     (unsigned long long)op->len, p, f);
		if (op->offset && n >= 0 && (size_t)n < cap)
			n += snprintf(buf + n, cap - (size_t)n, " off=0x%llx",
				      (unsigned long long)op->offset);
		if (op->file && n >= 0 && (size_t)n < cap)
			n += snprintf(buf + n, cap - (size_t)n, " file=%s",
				      s->files[op->file - 1]);
		break;
	case SCN_FILE:
		n = snprintf(buf, cap, "file %s %llu", s->files[op->file - 1],
			     (unsigned long long)op->len);
		break;
	case SCN_DROP:
		n = snprintf(buf, cap, "drop");
		break;
	case SCN_MPROTECT:
		scn_format_prot(op->prot, p, sizeof(p));
		n = snprintf(buf, cap, "mprotect %s 0x%llx %s", a,
			     (unsigned long long)op->len, p);
		break;
	case SCN_MADVISE:
		scn_format_advice(op->advice, p, sizeof(p));
		n = snprintf(buf, cap, "madvise %s 0x%llx %s", a,
			     (unsigned long long)op->len, p);
		break;
	case SCN_MUNMAP:
	case SCN_MLOCK:
	case SCN_MUNLOCK:
		n = snprintf(buf, cap, "%s %s 0x%llx",
			     op->op == SCN_MUNMAP ? "munmap" :
			     op->op == SCN_MLOCK ? "mlock" : "munlock",
			     a, (unsigned long long)op->len);
		break;
	case SCN_TOUCH:
		n = snprintf(buf, cap, "touch %s 0x%llx %s", a,
			     (unsigned long long)op->len,
			     op->write ? "write" : "read");
		break;
	case SCN_MAPS:
		n = snprintf(buf, cap, "maps");
		break;
	case SCN_FORK:
		n = snprintf(buf, cap, "fork");
		break;
	case SCN_CHILD:
		n = snprintf(buf, cap, "child");
		break;
	case SCN_PARENT:
		n = snprintf(buf, cap, "parent");
		break;
	case SCN_EXIT:
		n = snprintf(buf, cap, "exit");
		break;
	}
	if (n < 0)
		return 0;
	return (size_t)n < cap ? (size_t)n : cap - 1;
}

/*
 * Appender over a caller buffer; overflow is sticky.  With buf == NULL it
 * only measures (len grows, nothing is written).
 */
struct scn_out {
	char *buf;
	size_t cap, len;
	bool overflow;
};

static void scn_put(struct scn_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void scn_put(struct scn_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->overflow)
		return;
	va_start(ap, fmt);
	if (o->buf)
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	else
		n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (o->buf && (size_t)n >= o->cap - o->len)) {
		o->overflow = true;
		return;
	}
	o->len += (size_t)n;
}

static void scn_put_bytes(struct scn_out *o, const char *p, size_t n)
{
	if (o->overflow)
		return;
	if (o->buf) {
		if (n >= o->cap - o->len) {
			o->overflow = true;
			return;
		}
		memcpy(o->buf + o->len, p, n);
		o->buf[o->len + n] = 0;
	}
	o->len += n;
}

/* Lowercase hex digits at *p (as the kernel prints them); advances *p. */
static int scn_take_hex(const char **p, const char *end, uint64_t *v)
{
	const char *q = *p;
	uint64_t x = 0;

	while (q < end && ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f'))) {
		if (x >> 60)
			return -1;
		x = x * 16 + (uint64_t)(*q <= '9' ? *q - '0' : *q - 'a' + 10);
		q++;
	}
	if (q == *p)
		return -1;
	*p = q;
	*v = x;
	return 0;
}

/* Expects the byte c at *p; advances past it. */
static int scn_take_char(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

/* The name of a maps line after its inode when it is a file's path (not
 * shared anonymous memory), else NULL. */
static const char *scn_file_name(const char *p, const char *end)
{
	static const char shm_name[] = "/dev/zero (deleted)";

	while (p < end && *p == ' ')
		p++;
	if (p == end || *p != '/')
		return NULL;
	if ((size_t)(end - p) == sizeof(shm_name) - 1 &&
	    memcmp(p, shm_name, sizeof(shm_name) - 1) == 0)
		return NULL;
	return p;
}

/*
 * One maps line [p, end) without its newline, in the kernel's shape
 * "START-END PERM OFFSET MAJ:MIN INODE [pad NAME]".  Appends its window
 * form to o if it intersects the window.  Returns 1 if appended, 0 if the
 * line lies outside the window, -1 if it does not have that shape.
 */
static int scn_maps_line(const struct scn_window *w, const char *p,
			 const char *end, struct scn_out *o)
{
	static const char shm_name[] = "/dev/zero (deleted)";
	const size_t shm_len = sizeof(shm_name) - 1;
	const char *rest, *dev, *ino_end, *name;
	uint64_t start, stop, x;
	char rs[32], re[32];

	if (scn_take_hex(&p, end, &start) < 0 || scn_take_char(&p, end, '-') < 0 ||
	    scn_take_hex(&p, end, &stop) < 0)
		return -1;
	rest = p;                               /* " PERM OFFSET ..." */
	if (scn_take_char(&p, end, ' ') < 0 || end - p < 5)
		return -1;
	p += 4;                                 /* rwxp */
	if (scn_take_char(&p, end, ' ') < 0 || scn_take_hex(&p, end, &x) < 0 ||
	    scn_take_char(&p, end, ' ') < 0)
		return -1;
	dev = p;
	if (scn_take_hex(&p, end, &x) < 0 || scn_take_char(&p, end, ':') < 0 ||
	    scn_take_hex(&p, end, &x) < 0 || scn_take_char(&p, end, ' ') < 0 ||
	    scn_take_hex(&p, end, &x) < 0)      /* decimal digits ⊂ hex */
		return -1;
	ino_end = p;
	if (stop <= w->base || start >= w->base + w->size)
		return 0;

	scn_format_rel(w, start, rs, sizeof(rs));
	scn_format_rel(w, stop, re, sizeof(re));
	scn_put(o, "  %s-%s", rs, re);
	name = end - shm_len;
	if (end - ino_end > (ptrdiff_t)shm_len && memcmp(dev, "00:01 ", 6) == 0 &&
	    memcmp(name, shm_name, shm_len) == 0 && name[-1] == ' ') {
		/*
		 * Shared anonymous memory (a shmem file behind /dev/zero):
		 * device and inode vary per run.  The token keeps the name
		 * in the kernel's column, which does not depend on the inode.
		 */
		size_t width = (size_t)(name - dev), tok = strlen(SCN_SHM_TOKEN);

		scn_put_bytes(o, rest, (size_t)(dev - rest));
		scn_put(o, "%s%*s", SCN_SHM_TOKEN,
			(int)(width > tok ? width - tok : 1), "");
		scn_put_bytes(o, name, shm_len);
	} else if ((name = scn_file_name(ino_end, end)) != NULL) {
		/* A file: device, inode and directory vary per host and run. */
		const char *base = name;
		size_t width = (size_t)(name - dev), tok = strlen(SCN_FILE_TOKEN);

		for (const char *q = name; q < end; q++)
			if (*q == '/')
				base = q + 1;
		scn_put_bytes(o, rest, (size_t)(dev - rest));
		scn_put(o, "%s%*s/", SCN_FILE_TOKEN,
			(int)(width > tok ? width - tok : 1), "");
		scn_put_bytes(o, base, (size_t)(end - base));
	} else {
		scn_put_bytes(o, rest, (size_t)(end - rest));
	}
	scn_put(o, "$\n");
	return 1;
}

/* Runs every maps line through scn_maps_line; -1 on a malformed line. */
static int scn_maps_scan(const struct scn_window *w, const char *maps,
			 size_t maps_len, struct scn_out *o)
{
	const char *p = maps, *end = maps + maps_len;
	int count = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		int rc = scn_maps_line(w, p, nl ? nl : end, o);

		if (rc < 0)
			return -1;
		count += rc;
		p = nl ? nl + 1 : end;
	}
	return count;
}

size_t scn_maps_window(const struct scn_window *w, const char *maps,
		       size_t maps_len, char *buf, size_t cap, int *nlines)
{
	struct scn_out o = { buf, cap, 0, cap == 0 };
	int count;

	if (cap)
		buf[0] = 0;
	count = scn_maps_scan(w, maps, maps_len, &o);
	if (count < 0 || o.overflow) {
		*nlines = -1;
		return 0;
	}
	*nlines = count;
	return o.len;
}

size_t scn_format_result(const struct scn_scenario *s, const struct scn_op *op,
			 const struct scn_result *r, char *buf, size_t cap)
{
	struct scn_out o = { buf, cap, 0, cap == 0 };
	char text[256], a[32];

	scn_format_op(s, op, text, sizeof(text));
	scn_put(&o, "%d %s = ", op->line, text);
	if (op->op == SCN_MAPS) {
		/* count first (a measuring pass), then the lines */
		struct scn_out count = { NULL, 0, 0, false };
		int nlines = scn_maps_scan(&s->window, r->maps, r->maps_len,
					   &count);

		if (nlines < 0)
			return 0;
		scn_put(&o, "%d\n", nlines);
		scn_maps_scan(&s->window, r->maps, r->maps_len, &o);
	} else if (r->err) {
		scn_put(&o, "-%s\n", scn_errname(r->err));
	} else if (op->op == SCN_MMAP) {
		if (r->addr >= s->window.base &&
		    r->addr - s->window.base < s->window.size) {
			scn_format_rel(&s->window, r->addr, a, sizeof(a));
			scn_put(&o, "%s\n", a);
		} else {
			scn_put(&o, "outside\n");
		}
	} else if (op->op == SCN_TOUCH) {
		scn_put(&o, "pages=%llu minor=%llu major=%llu",
			(unsigned long long)r->pages,
			(unsigned long long)r->minor,
			(unsigned long long)r->major);
		if (r->sig) {
			scn_format_rel(&s->window, r->sigaddr, a, sizeof(a));
			scn_put(&o, " %s %s at %s", scn_signame(r->sig),
				scn_sigcode_name(r->sig, r->sigcode), a);
		}
		scn_put(&o, "\n");
	} else {
		scn_put(&o, "0\n");
	}
	return o.overflow ? 0 : o.len;
}
