/*
 * simulate.c — runs a fidelity scenario on the engine (the simulator side
 * of SPEC §8; the host side is recorder.c).
 *
 *   fidelity-sim [--host 'SETTINGS' | --recording FILE] SCENARIO
 *
 * Prints exactly what the recorder prints for the same scenario (the text
 * comes from the shared formatter in scenario.c), so the two outputs can be
 * compared with diff.  The machine is an x86_64 machine configured like
 * the host the reference came from: the SETTINGS are the words of a
 * recording's "# host:" line (record-all writes them), e.g.
 *
 *   overcommit_memory=0 thp=madvise shmem_thp=never mmap_min_addr=4096
 *   max_map_count=65530 stack_rlimit=8192 memtotal_kb=24684084 swaptotal_kb=0
 *
 * memtotal_kb becomes the machine's totalram (MemTotal, exactly: the boot
 * reservations are topped up through zones_managed_pages) and swaptotal_kb
 * its swap, so the heuristic overcommit check (pages > totalram + swap)
 * answers as on that host; overcommit_memory picks the policy and
 * max_map_count the limit.  Settings the engine hard-codes (mmap_min_addr
 * 4096, an 8 MiB stack rlimit) are checked, not silently assumed.  Without
 * --host/--recording the settings come from the scenario's checked-in
 * recording (../recordings/NAME.out), else from this host's /proc.
 * randomize_va_space is 0, so placement is deterministic (mmap results
 * outside the window print as "outside" anyway).
 *
 * One process is spawned and each op applied through the engine's syscalls
 * (mm_mmap, mm_munmap, mm_mprotect, mm_madvise, mm_mlock, mm_munlock,
 * mm_touch, mm_fork, mm_exit; `maps` renders mm_proc_pid_maps()) by the
 * process the scenario names (scn_op.proc: fork, child, parent and exit
 * move between them), with the invariant checker after each (a violation
 * is an engine failure, exit 2).  A touch's SIGSEGV ends the run, as it
 * ends the recorder's scenario.  The host's zero_page setting (probed by
 * the recorder) configures the machine.  Ops the engine cannot simulate
 * yet are not faked: a touch of file-backed memory (mm_touch answers
 * ENODEV).  The first such op prints
 *
 *   LINE OP ARGS = unsupported
 *
 * and ends the run, because every later result could depend on it (a write
 * fault gives a VMA its anon_vma, which decides merges).  tests/fidelity/
 * compare then compares the lines before it and reports the rest skipped.
 *
 * Exit status: 0 when the scenario ran (up to an unsupported op), 2 for a
 * usage error, a malformed scenario or an engine failure, 3 when the
 * reference host has a setting the engine does not model (the message says
 * which).
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/mm.h"
#include "tests/fidelity/scenario.h"

#define SIM_MAX_OPS 4096
#define SIM_EXIT_USAGE 2
#define SIM_EXIT_HOST 3
/* machines above this size are probed at it first (see sim_machine) */
#define SIM_PROBE_MIB 4608ull

static const char *sim_prog = "fidelity-sim";

/* The reference host's settings that results depend on. */
struct sim_host {
	int overcommit_memory;     /* 0 heuristic, 1 always, 2 never */
	long long max_map_count;
	long long mmap_min_addr;
	long long stack_rlimit_kb; /* -1: unlimited */
	uint64_t memtotal_kb;
	uint64_t swaptotal_kb;
	uint64_t read_ahead_kb;    /* the files' disk (bdi) readahead */
	bool have_mem;
	int zero_page;             /* 1: read faults map the zero page */
};

static void __attribute__((noreturn, format(printf, 2, 3)))
sim_die(int status, const char *fmt, ...);

static void sim_die(int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", sim_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* Whole file, NUL-terminated; NULL if it cannot be read. */
static char *sim_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

/* ---- host settings ------------------------------------------------------ */

static void sim_host_defaults(struct sim_host *h)
{
	memset(h, 0, sizeof(*h));
	h->overcommit_memory = 0;
	h->max_map_count = 65530;
	h->mmap_min_addr = 4096;
	h->stack_rlimit_kb = 8192;
	h->zero_page = 1;          /* recordings before the probe: Linux's */
	h->read_ahead_kb = 128;
}

static bool sim_parse_ll(const char *v, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(v, &end, 10);
	return !errno && end != v && !*end;
}

/* Words "key=value" separated by blanks; unknown keys are ignored. */
static void sim_parse_host(struct sim_host *h, const char *line)
{
	char buf[1024];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *w = strtok_r(buf, " \t\n", &save); w;
	     w = strtok_r(NULL, " \t\n", &save)) {
		char *eq = strchr(w, '=');
		long long v;

		if (!eq)
			continue;
		*eq = 0;
		const char *val = eq + 1;
		if (strcmp(w, "stack_rlimit") == 0 && strcmp(val, "unlimited") == 0) {
			h->stack_rlimit_kb = -1;
			continue;
		}
		if (!sim_parse_ll(val, &v))
			continue;       /* thp=madvise, "?" … */
		if (strcmp(w, "overcommit_memory") == 0)
			h->overcommit_memory = (int)v;
		else if (strcmp(w, "max_map_count") == 0)
			h->max_map_count = v;
		else if (strcmp(w, "mmap_min_addr") == 0)
			h->mmap_min_addr = v;
		else if (strcmp(w, "stack_rlimit") == 0)
			h->stack_rlimit_kb = v;
		else if (strcmp(w, "memtotal_kb") == 0 && v > 0) {
			h->memtotal_kb = (uint64_t)v;
			h->have_mem = true;
		} else if (strcmp(w, "swaptotal_kb") == 0 && v >= 0)
			h->swaptotal_kb = (uint64_t)v;
		else if (strcmp(w, "zero_page") == 0)
			h->zero_page = v != 0;
		else if (strcmp(w, "read_ahead_kb") == 0 && v >= 4)
			h->read_ahead_kb = (uint64_t)v;
	}
}

/* The "# host:" line of a recording; false if it has none. */
static bool sim_host_from_recording(struct sim_host *h, const char *path)
{
	size_t len;
	char *text = sim_read_file(path, &len);
	bool found = false;

	if (!text)
		return false;
	for (char *p = text; p && *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (strncmp(p, "# host:", 7) == 0) {
			sim_parse_host(h, p + 7);
			found = true;
			break;
		}
		p = nl ? nl + 1 : NULL;
	}
	free(text);
	return found;
}

/* This host's settings, read the way record-all reads them. */
static void sim_host_from_proc(struct sim_host *h)
{
	char line[256];
	FILE *f;
	long long v;

	if ((f = fopen("/proc/sys/vm/overcommit_memory", "r"))) {
		if (fgets(line, sizeof(line), f) && sim_parse_ll(strtok(line, "\n"), &v))
			h->overcommit_memory = (int)v;
		fclose(f);
	}
	if ((f = fopen("/proc/sys/vm/max_map_count", "r"))) {
		if (fgets(line, sizeof(line), f) && sim_parse_ll(strtok(line, "\n"), &v))
			h->max_map_count = v;
		fclose(f);
	}
	if ((f = fopen("/proc/sys/vm/mmap_min_addr", "r"))) {
		if (fgets(line, sizeof(line), f) && sim_parse_ll(strtok(line, "\n"), &v))
			h->mmap_min_addr = v;
		fclose(f);
	}
	if ((f = fopen("/proc/meminfo", "r"))) {
		unsigned long long kb;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) {
				h->memtotal_kb = kb;
				h->have_mem = true;
			} else if (sscanf(line, "SwapTotal: %llu kB", &kb) == 1) {
				h->swaptotal_kb = kb;
			}
		}
		fclose(f);
	}
	/* the stack rlimit is the one this process runs with */
}

/* ---- the machine ---------------------------------------------------------- */

static struct mm_machine *sim_create(const struct mm_config *cfg)
{
	struct mm_machine *m;
	char err[256];

	if (mm_machine_create(cfg, &m, err, sizeof(err)))
		sim_die(SIM_EXIT_USAGE, "cannot create the machine: %s", err);
	return m;
}

/*
 * An x86_64 machine with exactly memtotal_kb / 4 pages of totalram (Linux's
 * MemTotal is totalram_pages) and the host's swap.  memory is MemTotal plus
 * room for the boot reservations (the memmap is 64 bytes per page); the
 * surplus is reserved from the top zone with zones_managed_pages.  The lower
 * zones' managed pages are learnt from a probe: above SIM_PROBE_MIB the
 * DMA/DMA32 layout no longer depends on the size (the memmap and the top of
 * memory are in Normal), so a 4.5 GiB probe answers for any larger machine.
 */
static struct mm_machine *sim_machine(const struct sim_host *h)
{
	struct mm_config cfg;
	uint64_t target = h->memtotal_kb / 4; /* pages */
	uint64_t mib = 1ull << 20;

	mm_config_default(&cfg);
	cfg.arch = MM_ARCH_X86_64;
	cfg.randomize_va_space = 0;
	cfg.overcommit = h->overcommit_memory == 1 ? MM_OVERCOMMIT_ALWAYS
			 : h->overcommit_memory == 2 ? MM_OVERCOMMIT_NEVER
						     : MM_OVERCOMMIT_HEURISTIC;
	cfg.max_map_count = (int)h->max_map_count;
	cfg.zero_page = h->zero_page;
	cfg.read_ahead_kb = (uint32_t)h->read_ahead_kb;
	/* SwapTotal excludes the swap header page; the engine's swap size
	 * includes it (its total_swap_pages is swap / 4096 - 1). */
	cfg.swap = h->swaptotal_kb ? h->swaptotal_kb * 1024 + MM_PAGE_SIZE : 0;

	uint64_t need = target * MM_PAGE_SIZE;
	need += need / 32 + 64 * mib;               /* memmap + kernel + slack */
	need = (need + mib - 1) / mib * mib;
	if (need > 64ull << 30)
		sim_die(SIM_EXIT_HOST, "memtotal_kb=%" PRIu64 " is beyond the "
			"engine's 64 GiB", h->memtotal_kb);
	cfg.memory = need;

	/* probe the zones' managed pages without an override */
	struct mm_config probe = cfg;
	bool small = need <= SIM_PROBE_MIB * mib;
	if (!small)
		probe.memory = SIM_PROBE_MIB * mib;
	struct mm_machine *m = sim_create(&probe);
	const struct mm_node *node = &m->nodes[0];
	int top = 0;
	uint64_t below = 0;
	for (int z = 0; z < node->nr_zones; z++)
		if (node->zones[z].managed)
			top = z;
	if (small) {
		if (m->totalram_pages == target)
			return m;
		for (int z = 0; z < top; z++)
			below += node->zones[z].managed;
	} else {
		/* in the full machine the top zone is Normal, above 4 GiB */
		top = 0;
		for (int z = 0; z < node->nr_zones; z++)
			if (strcmp(node->zones[z].name, "Normal") == 0)
				top = z;
		for (int z = 0; z < top; z++)
			below += node->zones[z].managed;
	}
	mm_machine_destroy(m);
	if (target <= below)
		sim_die(SIM_EXIT_HOST, "memtotal_kb=%" PRIu64 " is too small "
			"to reproduce", h->memtotal_kb);
	cfg.zones_managed_pages[0][top] = (int64_t)(target - below);
	m = sim_create(&cfg);
	if (m->totalram_pages != target)
		sim_die(SIM_EXIT_USAGE, "totalram %" PRIu64 " pages, wanted %"
			PRIu64, m->totalram_pages, target);
	return m;
}

/* ---- running ops ------------------------------------------------------------ */

static char *sim_maps;
static size_t sim_maps_cap;

static size_t sim_render_maps(const struct mm_machine *m, int pid)
{
	size_t need = mm_proc_pid_maps(m, pid, sim_maps, sim_maps_cap);

	if (need >= sim_maps_cap) {
		free(sim_maps);
		sim_maps_cap = need + 1;
		sim_maps = malloc(sim_maps_cap);
		if (!sim_maps)
			sim_die(SIM_EXIT_USAGE, "out of memory");
		need = mm_proc_pid_maps(m, pid, sim_maps, sim_maps_cap);
	}
	return need;
}

static int sim_files[SCN_MAX_FILES]; /* engine file ids by scenario index */

/* Runs one op and prints its result; false when the run must stop. */
static bool sim_run(struct mm_machine *m, int *pids,
		    const struct scn_scenario *s, const struct scn_op *op)
{
	static char out[1 << 20];
	struct scn_result r;
	int rc = 0, pid = pids[op->proc];

	memset(&r, 0, sizeof(r));
	switch (op->op) {
	case SCN_MMAP:
		rc = mm_mmap(m, pid, op->addr, op->len, op->prot, op->flags,
			     op->file ? sim_files[op->file - 1] : -1, op->offset,
			     &r.addr);
		break;
	case SCN_FILE: {
		/* as the recorder writes it: page k holds 'a' + k % 26 */
		uint8_t *b = malloc(op->len * MM_PAGE_SIZE);
		if (!b)
			sim_die(SIM_EXIT_USAGE, "out of memory");
		for (uint64_t k = 0; k < op->len; k++)
			memset(b + k * MM_PAGE_SIZE, 'a' + (int)(k % 26),
			       MM_PAGE_SIZE);
		rc = mm_file_create(m, s->files[op->file - 1],
				    op->len * MM_PAGE_SIZE, b,
				    op->len * MM_PAGE_SIZE, &sim_files[op->file - 1]);
		free(b);
		if (!rc) /* the recorder fsyncs: clean cached pages */
			rc = mm_file_sync(m, sim_files[op->file - 1]);
		break;
	}
	case SCN_DROP: {
		struct mm_drop_result dr;
		rc = mm_drop_caches(m, 1, &dr);
		break;
	}
	case SCN_MUNMAP:
		rc = mm_munmap(m, pid, op->addr, op->len);
		break;
	case SCN_MPROTECT:
		rc = mm_mprotect(m, pid, op->addr, op->len, op->prot);
		break;
	case SCN_MADVISE:
		rc = mm_madvise(m, pid, op->addr, op->len, op->advice);
		break;
	case SCN_MLOCK:
		rc = mm_mlock(m, pid, op->addr, op->len);
		break;
	case SCN_MUNLOCK:
		rc = mm_munlock(m, pid, op->addr, op->len);
		break;
	case SCN_MAPS:
		r.maps_len = sim_render_maps(m, pid);
		r.maps = sim_maps;
		break;
	case SCN_TOUCH: {
		struct mm_touch_result t;
		rc = mm_touch(m, pid, op->addr, op->len,
			      op->write ? MM_ACCESS_WRITE : MM_ACCESS_READ, &t);
		if (rc == -MM_ENODEV) {
			/* exec images and special mappings */
			scn_format_op(s, op, out, sizeof(out));
			printf("%d %s = unsupported\n", op->line, out);
			return false;
		}
		r.pages = t.pages;
		r.minor = t.minor;
		r.major = t.major;
		r.sig = t.signal.signo;
		r.sigcode = t.signal.code;
		r.sigaddr = t.signal.addr;
		break;
	}
	case SCN_FORK:
		rc = mm_fork(m, pid, &pids[op->target]);
		break;
	case SCN_EXIT:
		rc = mm_exit(m, pid, 0);
		break;
	case SCN_CHILD:         /* the next op runs in op->target */
	case SCN_PARENT:
		break;
	}
	r.err = rc;
	size_t n = scn_format_result(s, op, &r, out, sizeof(out));
	if (n == 0)
		sim_die(SIM_EXIT_USAGE, "line %d: result does not fit or the "
			"engine's maps text does not parse", op->line);
	fwrite(out, 1, n, stdout);
	struct mm_violation v[4];
	int nv = mm_check(m, v, 4);
	if (nv)
		sim_die(SIM_EXIT_USAGE, "line %d: invariant %s broken: %s",
			op->line, v[0].invariant, v[0].detail);
	/* A fatal signal ends the process, and the scenario with it. */
	return !(op->op == SCN_TOUCH && r.sig);
}

static void sim_check_host(const struct sim_host *h)
{
	if (h->mmap_min_addr != 4096)
		sim_die(SIM_EXIT_HOST, "mmap_min_addr=%lld is not modelled "
			"(the engine's is 4096)", h->mmap_min_addr);
	if (h->stack_rlimit_kb != 8192)
		sim_die(SIM_EXIT_HOST, "stack_rlimit=%lld is not modelled "
			"(the engine's is 8192 KiB)", h->stack_rlimit_kb);
	if (h->overcommit_memory < 0 || h->overcommit_memory > 2)
		sim_die(SIM_EXIT_HOST, "overcommit_memory=%d is unknown",
			h->overcommit_memory);
	if (h->max_map_count < 1 || h->max_map_count > 1 << 24)
		sim_die(SIM_EXIT_HOST, "max_map_count=%lld is out of the "
			"engine's range", h->max_map_count);
	if (!h->have_mem)
		sim_die(SIM_EXIT_HOST, "no memtotal_kb in the host settings");
}

static void sim_usage(void)
{
	fprintf(stderr, "usage: %s [--host 'SETTINGS' | --recording FILE] "
		"SCENARIO\n", sim_prog);
	exit(SIM_EXIT_USAGE);
}

int main(int argc, char **argv)
{
	static struct scn_op ops[SIM_MAX_OPS];
	static struct scn_scenario s;
	struct sim_host host;
	const char *host_line = NULL, *recording = NULL, *path = NULL;

	if (argc > 0 && argv[0])
		sim_prog = argv[0];
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--host") == 0 && i + 1 < argc)
			host_line = argv[++i];
		else if (strcmp(argv[i], "--recording") == 0 && i + 1 < argc)
			recording = argv[++i];
		else if (argv[i][0] == '-' || path)
			sim_usage();
		else
			path = argv[i];
	}
	if (!path || (host_line && recording))
		sim_usage();

	size_t len;
	char *text = sim_read_file(path, &len);
	if (!text)
		sim_die(SIM_EXIT_USAGE, "%s: %s", path, strerror(errno));
	s.ops = ops;
	s.cap = SIM_MAX_OPS;
	if (scn_parse(&s, text, len)) {
		for (int i = 0; i < s.ndiags; i++)
			fprintf(stderr, "%s:%d: %s\n", path, s.diags[i].line,
				s.diags[i].msg);
		if (s.nerrors > s.ndiags)
			fprintf(stderr, "%s: … and %d more\n", path,
				s.nerrors - s.ndiags);
		return SIM_EXIT_USAGE;
	}

	sim_host_defaults(&host);
	if (host_line) {
		sim_parse_host(&host, host_line);
	} else if (recording) {
		if (!sim_host_from_recording(&host, recording))
			sim_die(SIM_EXIT_USAGE, "%s: no '# host:' line", recording);
	} else {
		/* SCENARIO's own recording: DIR/../recordings/NAME.out */
		char rec[4096];
		const char *slash = strrchr(path, '/');
		const char *base = slash ? slash + 1 : path;
		int dirlen = slash ? (int)(slash - path) : 1;
		const char *dir = slash ? path : ".";
		size_t blen = strlen(base);
		if (blen > 4 && strcmp(base + blen - 4, ".scn") == 0)
			blen -= 4;
		snprintf(rec, sizeof(rec), "%.*s/../recordings/%.*s.out", dirlen,
			 dir, (int)blen, base);
		if (!sim_host_from_recording(&host, rec))
			sim_host_from_proc(&host);
	}
	sim_check_host(&host);

	struct mm_machine *m = sim_machine(&host);
	int pids[SCN_MAX_PROCS] = {0};
	if (mm_spawn(m, "recorder", -1, &pids[0]))
		sim_die(SIM_EXIT_USAGE, "cannot spawn the process");
	for (size_t i = 0; i < s.nops; i++)
		if (!sim_run(m, pids, &s, &s.ops[i]))
			break;
	if (fflush(stdout) || ferror(stdout))
		sim_die(SIM_EXIT_USAGE, "write: %s", strerror(errno));
	mm_machine_destroy(m);
	free(sim_maps);
	free(text);
	return 0;
}
