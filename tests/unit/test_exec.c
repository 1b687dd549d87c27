/*
 * test_exec.c — exec of static ELF images (engine/exec.c) against Linux
 * 6.18's load_elf_binary().
 *
 * Fidelity: tests/golden/elf/ holds seven images of tests/elf/prog.c
 * (tests/elf/build.sh) and, for each, what it printed about itself when
 * run on the host under `setarch -R` as /tmp/mmsim-exec-1
 * (tests/elf/record.sh): /proc/self/stat, status and maps, brk(0), then
 * maps again after brk(old + 0x5000).  The simulator execs the same bytes
 * as pid 1 of a default x86_64 machine (randomize_va_space 0, 8 MiB stack
 * rlimit) and must print the same maps, line by line:
 *   - compared exactly: start-end, perms, offset, the name and the column
 *     it starts at; anonymous lines (bss, [heap], [stack], [vvar],
 *     [vvar_vclock], [vdso]) as whole text, "00:00 0" included;
 *   - normalised: the device and inode of the image's lines (host: the
 *     real file on the host's disk; simulator: 00:02 and the pid, see
 *     exec.c), only required to be the same on every line of the image;
 *   - skipped: [vsyscall], the gate area at 0xffffffffff600000 that
 *     show_map() appends on x86_64 — not a VMA of the mm, not modelled.
 * The stat fields start_code, end_code, startstack, start_data, end_data,
 * start_brk, the status lines VmPeak/VmSize/VmData/VmStk/VmExe/VmLib (not
 * the RSS ones: nothing is faulted in yet; VmPeak not where the host's
 * hiwater_vm saw a transient mapping, see fidelity()) and the brk answers
 * must be equal too.  The i386 images were recorded in the x86_64 kernel's compat
 * mode, whose stack, vDSO and mmap region sit elsewhere than on a native
 * i386 kernel (STACK_TOP 0xffffe000 vs 0xc0000000): for them only the
 * image's lines, the bss, the heap and the code/data/brk fields are
 * compared, and the native layout is checked against Linux's formulas.
 *
 * Also: malformed images (each -ENOEXEC, digest unchanged), the exact
 * layouts of synthetic images (page-sharing segments, merging, bss-only
 * segments, executable bss, alignment), freeing the old address space,
 * brk after exec, fork after exec, ENOMEM keeping the old mm, re-exec and
 * randomization.  The invariant checker runs after every exec.
 */
#include "tests/unit/util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define PG 4096ull
#define RW (MM_PROT_READ | MM_PROT_WRITE)

/* ---- helpers -------------------------------------------------------- */

static struct mm_machine *mk(enum mm_arch arch)
{
	struct mm_config c = tu_config(arch, 256ull << 20);
	return tu_machine(&c);
}

static int spawn(struct mm_machine *m, const char *name)
{
	int pid = 0;
	ASSERT_EQ(mm_spawn(m, name, -1, &pid), 0);
	return pid;
}

typedef size_t (*pid_render)(const struct mm_machine *, int, char *, size_t);

static char *render_pid(const struct mm_machine *m, int pid, pid_render fn)
{
	size_t need = fn(m, pid, NULL, 0);
	char *buf = malloc(need + 1);
	ASSERT(buf != NULL);
	ASSERT_EQ(fn(m, pid, buf, need + 1), need);
	return buf;
}

static char *maps_of(const struct mm_machine *m, int pid)
{
	return render_pid(m, pid, mm_proc_pid_maps);
}

static const struct mm_mm *mm_of(const struct mm_machine *m, int pid)
{
	const struct mm_task *t = mm_task_get(m, pid);
	ASSERT(t != NULL);
	return mm_task_mm(m, t);
}

static void digest(const struct mm_machine *m, char out[MM_DIGEST_HEX])
{
	mm_digest(m, out);
}

/* A file of tests/golden/elf/ (binary safe); fails the test if missing. */
static uint8_t *golden(const char *name, size_t *len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/golden/elf/%s", th_srcdir(), name);
	FILE *f = fopen(path, "rb");
	if (!f)
		th_fail(__FILE__, __LINE__, "missing %s (tests/elf/build.sh, "
			"record.sh)", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc((size_t)n + 1);
	ASSERT(b != NULL);
	ASSERT_EQ(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	b[n] = 0;
	*len = (size_t)n;
	return b;
}

/* Execs tests/golden/elf/NAME.elf in pid; returns the result. */
static struct mm_exec_result exec_golden(struct mm_machine *m, int pid,
					 const char *name)
{
	char file[128];
	size_t len;
	snprintf(file, sizeof(file), "%s.elf", name);
	uint8_t *img = golden(file, &len);
	struct mm_exec_result r;
	memset(&r, 0, sizeof(r));
	int rc = mm_exec(m, pid, img, len, &r);
	if (rc)
		th_fail(__FILE__, __LINE__, "exec %s: %s", name, mm_errname(rc));
	free(img);
	tu_check(m, "after exec");
	return r;
}

/* The lines after "== title" up to the next "== " line, malloc'd. */
static char *section(const char *rec, const char *title)
{
	char head[64];
	snprintf(head, sizeof(head), "== %s\n", title);
	const char *s = strstr(rec, head);
	if (!s)
		th_fail(__FILE__, __LINE__, "recording has no \"%s\"", title);
	s += strlen(head);
	const char *e = s;
	while (*e && strncmp(e, "== ", 3) != 0) {
		const char *nl = strchr(e, '\n');
		e = nl ? nl + 1 : e + strlen(e);
	}
	char *out = malloc((size_t)(e - s) + 1);
	ASSERT(out != NULL);
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = 0;
	return out;
}

struct mline {
	uint64_t start, end, off;
	char perms[8];
	unsigned maj, min;
	unsigned long ino;
	int name_col;          /* -1: no name */
	char name[128];
	char text[256];
};

static bool parse_mline(const char *s, size_t n, struct mline *l)
{
	int used = 0;
	memset(l, 0, sizeof(*l));
	if (n >= sizeof(l->text))
		return false;
	memcpy(l->text, s, n);
	l->text[n] = 0;
	if (sscanf(l->text, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %lu%n",
		   &l->start, &l->end, l->perms, &l->off, &l->maj, &l->min, &l->ino,
		   &used) != 7)
		return false;
	const char *p = l->text + used;
	while (*p == ' ')
		p++;
	l->name_col = *p ? (int)(p - l->text) : -1;
	snprintf(l->name, sizeof(l->name), "%s", p);
	return true;
}

/* Splits text into parsed lines; returns how many. */
static int mlines(const char *text, struct mline *out, int max)
{
	int n = 0;
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t len = nl ? (size_t)(nl - text) : strlen(text);
		if (len) {
			ASSERT(n < max);
			if (!parse_mline(text, len, &out[n]))
				th_fail(__FILE__, __LINE__, "bad maps line: %.*s",
					(int)len, text);
			n++;
		}
		text += len + (nl ? 1 : 0);
	}
	return n;
}

enum { CMP_ALL, CMP_IMAGE };

/* Lines a comparison leaves out: the gate area always; with CMP_IMAGE
 * everything but the image, its bss and the heap (i386 compat). */
static bool skipped(const struct mline *l, int mode)
{
	if (!strcmp(l->name, "[vsyscall]"))
		return true;
	if (mode == CMP_IMAGE)
		return l->name[0] == '[' && strcmp(l->name, "[heap]") != 0;
	return false;
}

/* Compares the simulator's maps with the host's, as the header says. */
static void compare_maps(const char *what, const char *sim, const char *host,
			 int mode)
{
	struct mline s[64], h[64];
	int ns = mlines(sim, s, 64), nh = mlines(host, h, 64);
	int i = 0, j = 0;
	unsigned long host_ino = 0;
	unsigned host_maj = 0, host_min = 0;

	for (;;) {
		while (i < ns && skipped(&s[i], mode))
			i++;
		while (j < nh && skipped(&h[j], mode))
			j++;
		if (i == ns || j == nh)
			break;
		const struct mline *a = &s[i], *b = &h[j];
		bool file = b->ino != 0;
		bool same = a->start == b->start && a->end == b->end &&
			    !strcmp(a->perms, b->perms) && a->off == b->off &&
			    !strcmp(a->name, b->name) && (a->ino != 0) == file;
		if (mode == CMP_ALL)
			same = same && a->name_col == b->name_col;
		if (file) {
			/* the image: 00:02 and the pid here, one real file
			 * there — the same one on every line */
			same = same && a->maj == 0 && a->min == 2 && a->ino == 1;
			if (host_ino)
				same = same && b->ino == host_ino &&
				       b->maj == host_maj && b->min == host_min;
			host_ino = b->ino;
			host_maj = b->maj;
			host_min = b->min;
		} else if (mode == CMP_ALL) {
			same = same && !strcmp(a->text, b->text);
		}
		if (!same)
			th_fail(__FILE__, __LINE__, "%s: maps line %d differs:\n"
				"  sim:  %s\n  host: %s\n--- sim ---\n%s--- host ---\n%s",
				what, i, a->text, b->text, sim, host);
		i++;
		j++;
	}
	if (i != ns || j != nh)
		th_fail(__FILE__, __LINE__, "%s: %d sim lines, %d host lines\n"
			"--- sim ---\n%s--- host ---\n%s", what, ns, nh, sim, host);
}

/* Field k (1-based, as proc(5) numbers them) of a /proc/PID/stat line. */
static uint64_t stat_field(const char *stat, int k)
{
	const char *p = strrchr(stat, ')');
	ASSERT(p != NULL && k >= 3);
	p += 2;
	for (int f = 3; f < k; f++) {
		p = strchr(p, ' ');
		ASSERT(p != NULL);
		p++;
	}
	return strtoull(p, NULL, 10);
}

/* The kB value of "Label:" in a status text; -1 if absent. */
static int64_t status_kb(const char *status, const char *label)
{
	char key[32];
	snprintf(key, sizeof(key), "\n%s:", label);
	const char *p = strstr(status, key);
	if (!p && !strncmp(status, key + 1, strlen(key + 1)))
		p = status - 1;
	if (!p)
		return -1;
	return strtoll(p + strlen(key), NULL, 10);
}

/*
 * Execs NAME.elf as pid 1 and compares it with NAME.maps.  native: the
 * recording comes from a kernel of the simulated arch (else i386 compat).
 */
static void fidelity(enum mm_arch arch, const char *name, bool native)
{
	struct mm_machine *m = mk(arch);
	int pid = spawn(m, "mmsim-exec-1");
	ASSERT_EQ(pid, 1);
	struct mm_exec_result r = exec_golden(m, pid, name);
	char file[128];
	size_t len;
	snprintf(file, sizeof(file), "%s.maps", name);
	char *rec = (char *)golden(file, &len);
	const struct mm_mm *mm = mm_of(m, pid);

	/* /proc/PID/stat: what load_elf_binary() stored in the mm */
	char *stat = section(rec, "stat");
	ASSERT_EQ_HEX(mm->start_code, stat_field(stat, 26));
	ASSERT_EQ_HEX(mm->end_code, stat_field(stat, 27));
	ASSERT_EQ_HEX(mm->start_data, stat_field(stat, 45));
	ASSERT_EQ_HEX(mm->end_data, stat_field(stat, 46));
	ASSERT_EQ_HEX(mm->start_brk, stat_field(stat, 47));
	ASSERT_EQ_HEX(r.start_brk, mm->start_brk);
	ASSERT_EQ_HEX(r.stack, mm->start_stack);
	if (native)
		ASSERT_EQ_HEX(mm->start_stack, stat_field(stat, 28));

	/* /proc/PID/status: the counters */
	char *hs = section(rec, "status");
	char *ss = render_pid(m, pid, mm_proc_pid_status);
	static const char *const vm[] = {"VmPeak", "VmSize", "VmData", "VmStk",
					 "VmExe", "VmLib"};
	for (size_t k = 0; native && k < sizeof(vm) / sizeof(vm[0]); k++) {
		/* VmPeak is hiwater_vm, which the engine does not keep (its
		 * VmPeak is VmSize): Linux's peak also saw the transient
		 * mapping of a whole aligned static PIE that load_elf_binary()
		 * makes to find its place, then unmaps (x86_64-pie-2m). */
		if (k == 0 && status_kb(hs, "VmPeak") != status_kb(hs, "VmSize"))
			continue;
		if (status_kb(ss, vm[k]) != status_kb(hs, vm[k]))
			th_fail(__FILE__, __LINE__, "%s: %s %" PRId64 " kB, host %"
				PRId64 " kB", name, vm[k], status_kb(ss, vm[k]),
				status_kb(hs, vm[k]));
	}
	if (!native) {
		ASSERT_EQ(status_kb(ss, "VmData"), status_kb(hs, "VmData"));
		ASSERT_EQ(status_kb(ss, "VmExe"), status_kb(hs, "VmExe"));
	}

	/* /proc/PID/maps as exec left it */
	char *hm = section(rec, "maps");
	char *sm = maps_of(m, pid);
	compare_maps(name, sm, hm, native ? CMP_ALL : CMP_IMAGE);

	/* brk(0), brk(old + 0x5000), maps again */
	const char *b = strstr(rec, "== brk ");
	ASSERT(b != NULL);
	uint64_t old_brk = strtoull(b + 7, (char **)&b, 16);
	uint64_t new_brk = strtoull(b, NULL, 16);
	uint64_t got = 0;
	ASSERT_EQ(mm_brk(m, pid, 0, &got), 0);
	ASSERT_EQ_HEX(got, old_brk);
	ASSERT_EQ(mm_brk(m, pid, old_brk + 0x5000, &got), 0);
	ASSERT_EQ_HEX(got, new_brk);
	tu_check(m, "after brk");
	char *hm2 = section(rec, "maps-after-brk");
	char *sm2 = maps_of(m, pid);
	compare_maps(name, sm2, hm2, native ? CMP_ALL : CMP_IMAGE);

	free(stat);
	free(hs);
	free(ss);
	free(hm);
	free(sm);
	free(hm2);
	free(sm2);
	free(rec);
	mm_machine_destroy(m);
}

TEST(exec_fidelity_x86_64_exec)
{
	fidelity(MM_ARCH_X86_64, "x86_64-exec", true);
}

TEST(exec_fidelity_x86_64_pie)
{
	fidelity(MM_ARCH_X86_64, "x86_64-pie", true);
}

TEST(exec_fidelity_x86_64_pie_2m)
{
	fidelity(MM_ARCH_X86_64, "x86_64-pie-2m", true);
}

TEST(exec_fidelity_x86_64_exec_2m)
{
	fidelity(MM_ARCH_X86_64, "x86_64-exec-2m", true);
}

TEST(exec_fidelity_x86_64_execstack)
{
	fidelity(MM_ARCH_X86_64, "x86_64-execstack", true);
}

TEST(exec_fidelity_i386_exec_image)
{
	fidelity(MM_ARCH_I386, "i386-exec", false);
}

/* ---- a small ELF writer for synthetic images ---------------------------- */

struct tph {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, memsz, align;
};

enum { PT_LOAD = 1, PT_INTERP = 3, PT_NOTE = 4, PT_GNU_STACK = 0x6474e551 };
enum { PF_X = 1, PF_W = 2, PF_R = 4 };

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static void wr16(uint8_t *p, uint64_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint64_t v)
{
	wr16(p, v);
	wr16(p + 2, v >> 16);
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, v);
	wr32(p + 4, v >> 32);
}

/* An ELF image of size bytes (zeros but the headers), phdrs at e_phoff. */
static uint8_t *gen_elf(bool is64, uint16_t type, uint64_t entry,
			const struct tph *ph, int n, size_t size)
{
	size_t eh = is64 ? 64 : 52, pe = is64 ? 56 : 32;
	uint8_t *b = calloc(1, size);
	ASSERT(b != NULL);
	ASSERT(size >= eh + (size_t)n * pe);
	memcpy(b, "\177ELF", 4);
	b[4] = is64 ? 2 : 1;
	b[5] = 1;
	b[6] = 1;
	wr16(b + 16, type);
	wr16(b + 18, is64 ? 62 : 3);
	wr32(b + 20, 1);
	if (is64) {
		wr64(b + 24, entry);
		wr64(b + 32, eh);
		wr16(b + 52, eh);
		wr16(b + 54, pe);
		wr16(b + 56, (uint64_t)n);
	} else {
		wr32(b + 24, entry);
		wr32(b + 28, eh);
		wr16(b + 40, eh);
		wr16(b + 42, pe);
		wr16(b + 44, (uint64_t)n);
	}
	for (int i = 0; i < n; i++) {
		uint8_t *p = b + eh + (size_t)i * pe;
		wr32(p, ph[i].type);
		if (is64) {
			wr32(p + 4, ph[i].flags);
			wr64(p + 8, ph[i].offset);
			wr64(p + 16, ph[i].vaddr);
			wr64(p + 24, ph[i].vaddr);
			wr64(p + 32, ph[i].filesz);
			wr64(p + 40, ph[i].memsz);
			wr64(p + 48, ph[i].align);
		} else {
			wr32(p + 4, ph[i].offset);
			wr32(p + 8, ph[i].vaddr);
			wr32(p + 12, ph[i].vaddr);
			wr32(p + 16, ph[i].filesz);
			wr32(p + 20, ph[i].memsz);
			wr32(p + 24, ph[i].flags);
			wr32(p + 28, ph[i].align);
		}
	}
	return b;
}

/* Execs a synthetic image and answers the maps lines before [vvar]. */
static char *exec_synth(struct mm_machine *m, int pid, bool is64, uint16_t type,
			uint64_t entry, const struct tph *ph, int n, size_t size,
			struct mm_exec_result *r)
{
	uint8_t *img = gen_elf(is64, type, entry, ph, n, size);
	int rc = mm_exec(m, pid, img, size, r);
	free(img);
	if (rc)
		th_fail(__FILE__, __LINE__, "exec: %s", mm_errname(rc));
	tu_check(m, "after exec");
	char *all = maps_of(m, pid);
	char *v = strstr(all, "[vvar]");
	if (v) {
		while (v > all && v[-1] != '\n')
			v--;
		*v = 0;
	}
	return all;
}

/*
 * Appends one maps line as show_map_vma() prints it: the head up to the
 * inode and its space, then, for a named VMA, padding to column
 * 25 + 6 * sizeof(void *) - 1 and a space before the name (the fidelity
 * tests check this column against the host).
 */
static void add_line(char *buf, size_t len, bool is64, const char *head,
		     const char *name)
{
	size_t used = strlen(buf);
	if (name)
		snprintf(buf + used, len - used, "%-*s %s\n", is64 ? 72 : 48, head,
			 name);
	else
		snprintf(buf + used, len - used, "%s\n", head);
}

#define IMG "/tmp/mmsim-exec-1"

/* Two PT_LOADs sharing a page: the second (MAP_FIXED) replaces the first's
 * page; its bss continues as anonymous memory. */
TEST(exec_layout_shared_page_and_bss)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m, "t");
	const struct tph ph[] = {
		{PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x180, 0x180, 0x1000},
		{PT_LOAD, PF_R | PF_W, 0x180, 0x400180, 0x100, 0x3000, 0x1000},
	};
	struct mm_exec_result r;
	char *s = exec_synth(m, pid, true, 2, 0x400000, ph, 2, 0x1000, &r);
	char want[1024] = "";
	add_line(want, sizeof(want), true, "00400000-00401000 rw-p 00000000 00:02 1 ",
		 IMG);
	add_line(want, sizeof(want), true, "00401000-00404000 rw-p 00000000 00:00 0 ",
		 NULL);
	ASSERT_EQ_STR(s, want);
	const struct mm_mm *mm = mm_of(m, pid);
	ASSERT_EQ_HEX(mm->start_code, 0x400000);
	ASSERT_EQ_HEX(mm->end_code, 0x400180);
	ASSERT_EQ_HEX(mm->start_data, 0x400180);
	ASSERT_EQ_HEX(mm->end_data, 0x400280);
	ASSERT_EQ_HEX(mm->start_brk, 0x404000);
	ASSERT_EQ_HEX(r.entry, 0x400000);
	/* padzero() wrote into the shared page: it has an anon_vma now */
	ASSERT(mm_find_vma(m, mm, 0x400000)->anon_vma != 0);
	free(s);
	mm_machine_destroy(m);
}

/* Contiguous segments with equal flags merge (mmap_region()); a bss-only
 * segment is all anonymous; an executable bss keeps VM_EXEC. */
TEST(exec_layout_merge_bss_only_exec_bss)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m, "t");
	const struct tph ph[] = {
		{PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1000, 0x1000, 0x1000},
		{PT_LOAD, PF_R | PF_X, 0x1000, 0x401000, 0x800, 0x800, 0x1000},
		{PT_LOAD, PF_R | PF_W, 0, 0x600000, 0, 0x2000, 0x1000},
		{PT_LOAD, PF_R | PF_W | PF_X, 0x2000, 0x800000, 0x10, 0x5000, 0x1000},
	};
	struct mm_exec_result r;
	char *s = exec_synth(m, pid, true, 2, 0x400000, ph, 4, 0x3000, &r);
	char want[1024] = "";
	add_line(want, sizeof(want), true, "00400000-00402000 r-xp 00000000 00:02 1 ",
		 IMG);
	add_line(want, sizeof(want), true, "00600000-00602000 rw-p 00000000 00:00 0 ",
		 NULL);
	add_line(want, sizeof(want), true, "00800000-00801000 rwxp 00002000 00:02 1 ",
		 IMG);
	add_line(want, sizeof(want), true, "00801000-00805000 rwxp 00000000 00:00 0 ",
		 NULL);
	ASSERT_EQ_STR(s, want);
	const struct mm_mm *mm = mm_of(m, pid);
	ASSERT_EQ_HEX(mm->start_brk, 0x805000);
	ASSERT_EQ_HEX(mm->start_data, 0x800000);
	ASSERT_EQ_HEX(mm->end_code, 0x800010);
	/* the bss of a writable segment is charged (VM_ACCOUNT), like the
	 * writable file pages and the stack */
	const struct mm_vma *v = mm_find_vma(m, mm, 0x600000);
	ASSERT((v->flags & MM_VM_ACCOUNT) != 0);
	v = mm_find_vma(m, mm, 0x400000);
	ASSERT((v->flags & MM_VM_ACCOUNT) == 0);
	free(s);
	mm_machine_destroy(m);
}

/* A static PIE asking for 16 MiB alignment (non-power-of-two p_align is
 * ignored): top-down below mmap_base, then rounded down to 16 MiB. */
TEST(exec_layout_pie_alignment)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m, "t");
	const struct tph ph[] = {
		{PT_LOAD, PF_R | PF_X, 0, 0, 0x800, 0x800, 0x1000000},
		{PT_LOAD, PF_R | PF_W, 0x800, 0x1800, 0x10, 0x10, 0x3000},
	};
	struct mm_exec_result r;
	char *s = exec_synth(m, pid, true, 3, 0x100, ph, 2, 0x1000, &r);
	/* mmap_base 0x7ffff7fff000 - 0x2000 = 0x7ffff7ffd000, & ~(16M - 1) */
	char want[1024] = "";
	add_line(want, sizeof(want), true,
		 "7ffff7000000-7ffff7001000 r-xp 00000000 00:02 1 ", IMG);
	add_line(want, sizeof(want), true,
		 "7ffff7001000-7ffff7002000 rw-p 00000000 00:02 1 ", IMG);
	ASSERT_EQ_STR(s, want);
	ASSERT_EQ_HEX(r.entry, 0x7ffff7000100);
	ASSERT_EQ_HEX(r.start_brk, 0x555555555000); /* ELF_ET_DYN_BASE, aligned */
	free(s);
	s = maps_of(m, pid);
	/* the vDSO takes the gap the alignment left below mmap_base */
	ASSERT_CONTAINS(s, "7ffff7ff7000-7ffff7ffb000 r--p 00000000 00:00 0");
	free(s);
	mm_machine_destroy(m);
}

/* The native i386 layout, from Linux's formulas: STACK_TOP = TASK_SIZE =
 * 0xc0000000, mmap_base 128 MiB below, vDSO just under it, the static
 * PIE's brk at ELF_ET_DYN_BASE = 0x80000000, the initial stack pointer
 * below "/tmp/mmsim-exec-1" twice, "i686", 16 random bytes, 24 auxv
 * pairs (AT_SYSINFO too), argc/argv/envp: 0xbffffee0. */
TEST(exec_i386_native_layout)
{
	struct mm_machine *m = mk(MM_ARCH_I386);
	int pid = spawn(m, "t");
	struct mm_exec_result r = exec_golden(m, pid, "i386-exec");
	char *s = maps_of(m, pid);
	ASSERT_CONTAINS(s, "b7ff8000-b7ffc000 r--p 00000000 00:00 0          [vvar]\n"
			   "b7ffc000-b7ffe000 r--p 00000000 00:00 0          [vvar_vclock]\n"
			   "b7ffe000-b8000000 r-xp 00000000 00:00 0          [vdso]\n"
			   "bffdf000-c0000000 rw-p 00000000 00:00 0          [stack]\n");
	ASSERT_EQ_HEX(r.stack, 0xbffffee0);
	ASSERT_EQ_HEX(r.entry, 0x8049000);
	free(s);

	/* The static PIE: total_mapping_size() (from its PT_LOADs) right
	 * below mmap_base, the vDSO mapped after it, below it. */
	size_t len;
	uint8_t *img = golden("i386-pie.elf", &len);
	uint32_t phoff = rd32(img + 28), entry = rd32(img + 24), total = 0;
	uint32_t start_code = UINT32_MAX;
	for (int i = 0; i < rd16(img + 44); i++) {
		const uint8_t *p = img + phoff + 32 * i;
		if (rd32(p) != PT_LOAD)
			continue;
		if (rd32(p + 8) + rd32(p + 20) > total)
			total = rd32(p + 8) + rd32(p + 20);
		if ((rd32(p + 24) & PF_X) && rd32(p + 8) < start_code)
			start_code = rd32(p + 8);
	}
	free(img);
	uint64_t base = 0xb8000000 - ((total + PG - 1) & ~(PG - 1));
	int pid2 = spawn(m, "u");
	r = exec_golden(m, pid2, "i386-pie");
	const struct mm_mm *mm = mm_of(m, pid2);
	ASSERT_EQ_HEX(mm->start_brk, 0x80000000);
	ASSERT_EQ_HEX(r.entry, base + entry);
	ASSERT_EQ_HEX(mm->start_code, base + start_code);
	ASSERT_EQ_HEX(mm->start_stack, 0xbffffee0);
	const struct mm_vma *v = mm_find_vma(m, mm, 0);
	ASSERT_EQ_HEX(v->start, base - 0x8000); /* [vvar] */
	v = mm_find_vma(m, mm, base);
	ASSERT_EQ_HEX(v->start, base);
	while (mm_vma_next(m, v) && mm_vma_next(m, v)->start < 0xb8000000)
		v = mm_vma_next(m, v);
	ASSERT_EQ_HEX(v->end, 0xb8000000);      /* the bss ends the image */
	tu_check(m, "i386 pie");
	mm_machine_destroy(m);
}

/* i386 without PT_GNU_STACK: READ_IMPLIES_EXEC for what exec maps. */
TEST(exec_i386_read_implies_exec)
{
	struct mm_machine *m = mk(MM_ARCH_I386);
	int pid = spawn(m, "t");
	const struct tph ph[] = {
		{PT_LOAD, PF_R, 0, 0x8048000, 0x100, 0x100, 0x1000},
		{PT_LOAD, PF_R | PF_W, 0x100, 0x8049100, 0x10, 0x2000, 0x1000},
	};
	struct mm_exec_result r;
	char *s = exec_synth(m, pid, false, 2, 0x8048000, ph, 2, 0x1000, &r);
	char want[1024] = "";
	add_line(want, sizeof(want), false, "08048000-08049000 r-xp 00000000 00:02 1 ",
		 IMG);
	add_line(want, sizeof(want), false, "08049000-0804a000 rwxp 00000000 00:02 1 ",
		 IMG);
	add_line(want, sizeof(want), false, "0804a000-0804c000 rwxp 00000000 00:00 0 ",
		 NULL);
	ASSERT_EQ_STR(s, want);
	free(s);
	s = maps_of(m, pid);
	ASSERT_CONTAINS(s, "bffdf000-c0000000 rwxp 00000000 00:00 0          [stack]");
	free(s);
	mm_machine_destroy(m);
}

/* ---- malformed images ------------------------------------------------- */

static char last_log[256];

static void log_sink(void *ctx, enum mm_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* An image that loads, phdrs at 64: 0 PT_LOAD r-x, 1 PT_LOAD rw- with
 * bss, 2 PT_GNU_STACK. */
static uint8_t *good64(size_t *len)
{
	const struct tph ph[] = {
		{PT_LOAD, PF_R | PF_X, 0, 0x400000, 0x1000, 0x1000, 0x1000},
		{PT_LOAD, PF_R | PF_W, 0x1000, 0x401000, 0x100, 0x2000, 0x1000},
		{PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0, 0x10},
	};
	*len = 0x2000;
	return gen_elf(true, 2, 0x400000, ph, 3, *len);
}

#define PH(i) (64 + 56 * (i))

TEST(exec_malformed_enoexec)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	m->env.log = log_sink;
	int pid = spawn(m, "t");
	/* an address space worth keeping: a heap and a mapping */
	uint64_t a, brk;
	ASSERT_EQ(mm_mmap(m, pid, 0, 5 * PG, RW, MM_MAP_PRIVATE | MM_MAP_ANONYMOUS,
			  -1, 0, &a), 0);
	ASSERT_EQ(mm_brk(m, pid, mm_of(m, pid)->start_brk + 3 * PG, &brk), 0);
	size_t len;
	uint8_t *ok = good64(&len);
	{
		/* the unmodified image loads (in another process) */
		int p2 = spawn(m, "u");
		ASSERT_EQ(mm_exec(m, p2, ok, len, NULL), 0);
		ASSERT_EQ(mm_exit(m, p2, 0), 0);
	}
	char *maps_before = maps_of(m, pid);
	char before[MM_DIGEST_HEX], after[MM_DIGEST_HEX];
	digest(m, before);
	int64_t committed = m->committed;

	static const struct {
		const char *name;
		size_t off;      /* byte to patch (SIZE_MAX: none) */
		int width;       /* 1, 2, 4, 8 */
		uint64_t value;
		size_t len;      /* 0: whole image */
		const char *why; /* expected in the log */
	} cases[] = {
		{"bad magic", 1, 1, 'X', 0, "magic"},
		{"ELF32 class on x86_64", 4, 1, 1, 0, "ELFCLASS64"},
		{"big-endian", 5, 1, 2, 0, "little-endian"},
		{"ET_REL", 16, 2, 1, 0, "e_type"},
		{"ET_CORE", 16, 2, 4, 0, "e_type"},
		{"EM_386 on x86_64", 18, 2, 3, 0, "e_machine"},
		{"truncated header", SIZE_MAX, 0, 0, 40, "truncated"},
		{"only the magic", SIZE_MAX, 0, 0, 4, "truncated"},
		{"empty", SIZE_MAX, 0, 0, 0x10000, "magic"},
		{"e_phentsize 32", 54, 2, 32, 0, "e_phentsize"},
		{"e_phnum 0", 56, 2, 0, 0, "e_phnum"},
		{"e_phnum 74 (> 4096 bytes)", 56, 2, 74, 0, "e_phnum"},
		{"e_phnum 0xffff", 56, 2, 0xffff, 0, "e_phnum"},
		{"phdrs beyond the file", 32, 8, 0x1fe0, 0, "program headers"},
		{"phoff huge", 32, 8, UINT64_MAX - 8, 0, "program headers"},
		{"phdrs cut off", SIZE_MAX, 0, 0, PH(2) + 10, "program headers"},
		{"p_filesz > p_memsz", PH(1) + 32, 8, 0x3000, 0, "p_filesz"},
		{"segment beyond the file", PH(1) + 8, 8, 0x1f80, 0, "end of the file"},
		{"p_offset huge", PH(1) + 8, 8, UINT64_MAX - 0xfff, 0, "end of the file"},
		{"p_vaddr beyond TASK_SIZE", PH(1) + 16, 8, 0x800000000000ull, 0,
		 "TASK_SIZE"},
		{"p_memsz huge", PH(1) + 40, 8, UINT64_MAX, 0, "TASK_SIZE"},
		{"end beyond TASK_SIZE", PH(1) + 16, 8, 0x7ffffffff000ull, 0,
		 "TASK_SIZE"},
		{"p_offset/p_vaddr misaligned", PH(1) + 16, 8, 0x401800, 0,
		 "modulo"},
		{"unsorted PT_LOADs", PH(1) + 16, 8, 0x300000, 0, "sorted"},
		{"overlapping PT_LOADs", PH(1) + 16, 8, 0x400000, 0, "overlap"},
		{"no PT_LOAD", SIZE_MAX, 0, 0, 0, "no PT_LOAD"}, /* patched below */
		{"PT_INTERP", PH(2), 4, PT_INTERP, 0, "PT_INTERP"},
		{"entry beyond TASK_SIZE", 24, 8, 0xffff800000000000ull, 0, "entry"},
		{"segment on the stack", PH(1) + 16, 8, 0x7fffffff0000ull, 0, "stack"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *img = malloc(len);
		ASSERT(img != NULL);
		memcpy(img, ok, len);
		size_t n = cases[i].len ? cases[i].len : len;
		if (cases[i].len == 0x10000)
			n = 0;
		if (cases[i].off != SIZE_MAX) {
			if (cases[i].width == 1)
				img[cases[i].off] = (uint8_t)cases[i].value;
			else if (cases[i].width == 2)
				wr16(img + cases[i].off, cases[i].value);
			else if (cases[i].width == 4)
				wr32(img + cases[i].off, cases[i].value);
			else
				wr64(img + cases[i].off, cases[i].value);
		}
		if (!strcmp(cases[i].name, "no PT_LOAD")) {
			wr32(img + PH(0), PT_NOTE);
			wr32(img + PH(1), PT_NOTE);
		}
		if (!strcmp(cases[i].name, "segment on the stack"))
			wr64(img + PH(1) + 8, 0); /* keep p_offset congruent */
		last_log[0] = 0;
		int rc = mm_exec(m, pid, n ? img : NULL, n, NULL);
		if (rc != -MM_ENOEXEC)
			th_fail(__FILE__, __LINE__, "%s: %s, want ENOEXEC", cases[i].name,
				mm_errname(rc));
		if (!strstr(last_log, cases[i].why))
			th_fail(__FILE__, __LINE__, "%s: logged \"%s\", want \"%s\"",
				cases[i].name, last_log, cases[i].why);
		digest(m, after);
		/* failing after the layout was begun frees what it built */
		if (strcmp(cases[i].name, "segment on the stack") != 0)
			ASSERT_EQ_STR(after, before);
		char *maps_after = maps_of(m, pid);
		ASSERT_EQ_STR(maps_after, maps_before);
		ASSERT_EQ(m->committed, committed);
		free(maps_after);
		tu_check(m, cases[i].name);
		free(img);
	}
	/* Wrong arch the other way round: the x86_64 image on i386. */
	struct mm_machine *m32 = mk(MM_ARCH_I386);
	int p32 = spawn(m32, "t");
	digest(m32, before);
	ASSERT_EQ(mm_exec(m32, p32, ok, len, NULL), -MM_ENOEXEC);
	digest(m32, after);
	ASSERT_EQ_STR(after, before);
	ASSERT_EQ(mm_exec(m32, 99, ok, len, NULL), -MM_ESRCH);
	mm_machine_destroy(m32);
	free(ok);
	free(maps_before);
	mm_machine_destroy(m);
}

/* Random corruption of a real image: never a crash, ENOEXEC or success,
 * the checker clean either way. */
TEST(exec_malformed_fuzz)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	size_t len;
	uint8_t *img = golden("x86_64-pie.elf", &len);
	uint8_t *buf = malloc(len);
	ASSERT(buf != NULL);
	uint64_t x = 0x9e3779b97f4a7c15ull;
	long rounds = th_scale(300);
	int ok = 0;
	for (long i = 0; i < rounds; i++) {
		memcpy(buf, img, len);
		for (int k = 0; k < 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* mostly the headers, where the loader looks */
			size_t at = (size_t)(x % (k ? 64 + 9 * 56 : len));
			buf[at] = (uint8_t)(x >> 32);
		}
		int pid = spawn(m, "f");
		int rc = mm_exec(m, pid, buf, len, NULL);
		ASSERT(rc == 0 || rc == -MM_ENOEXEC || rc == -MM_ENOMEM);
		ok += rc == 0;
		tu_check(m, "fuzzed exec");
		ASSERT_EQ(mm_exit(m, pid, 0), 0);
	}
	ASSERT(ok > 0);
	free(buf);
	free(img);
	mm_machine_destroy(m);
}

/* ---- the old address space, brk, fork ----------------------------------- */

/* In-use objects of an engine cache. */
static uint64_t objects_in_use(const struct mm_machine *m, enum mm_engine_cache c)
{
	int id = m->engine_caches[c];
	uint64_t n = 0;
	for (uint32_t s = 0; s < m->nr_slabs; s++)
		if (m->slabs[s].pfn != MM_NIL && m->slabs[s].cache == (uint32_t)id)
			n += m->slabs[s].inuse;
	return n;
}

static uint64_t vmas_in_use(const struct mm_machine *m)
{
	uint64_t n = 0;
	for (int pid = 1; pid < 100; pid++)
		if (mm_task_get(m, pid))
			n += mm_of(m, pid)->map_count;
	return n;
}

static uint64_t mem_free_kb(const struct mm_machine *m)
{
	char *s = tu_render(m, mm_proc_meminfo);
	const char *p = strstr(s, "MemFree:");
	ASSERT(p != NULL);
	uint64_t kb = strtoull(p + 8, NULL, 10);
	free(s);
	return kb;
}

/* Many mappings, then exec: they are all gone, with their charges and
 * vm_area_struct objects; the same process life (spawn, mappings, exec,
 * exit) again and again leaves MemFree where it was.  (The first round
 * leaves SLUB's empty slabs cached, as Linux does: compare from round 1.) */
TEST(exec_frees_old_mappings)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	uint64_t mem[3];
	for (int round = 0; round < 3; round++) {
		int pid = spawn(m, "t");
		int64_t committed0 = m->committed;
		for (int i = 0; i < 200; i++) {
			uint64_t a;
			/* alternate prot so that nothing merges */
			int prot = i % 2 ? RW : MM_PROT_READ;
			ASSERT_EQ(mm_mmap(m, pid, 0, PG, prot,
					  MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &a), 0);
		}
		ASSERT_EQ(mm_of(m, pid)->map_count, 200);
		ASSERT_EQ(m->committed - committed0, 100);
		exec_golden(m, pid, "x86_64-exec");
		const struct mm_mm *mm = mm_of(m, pid);
		/* 4 segments, bss, 3 vDSO, stack */
		ASSERT_EQ(mm->map_count, 9);
		/* charged: the rw- page, 4 bss pages, 33 stack pages */
		ASSERT_EQ(m->committed - committed0, 1 + 4 + 33);
		ASSERT_EQ(objects_in_use(m, MM_CACHE_VM_AREA_STRUCT), vmas_in_use(m));
		ASSERT_EQ(objects_in_use(m, MM_CACHE_MM_STRUCT), 1);
		ASSERT_EQ(mm->total_vm, 49);
		ASSERT_EQ(mm->stack_vm, 33);
		ASSERT_EQ(mm->data_vm, 5);
		ASSERT_EQ(mm->exec_vm, 3);
		ASSERT_EQ(mm_exit(m, pid, 0), 0);
		ASSERT_EQ(m->committed, committed0);
		ASSERT_EQ(objects_in_use(m, MM_CACHE_VM_AREA_STRUCT), 0);
		tu_check(m, "after exit");
		mem[round] = mem_free_kb(m);
	}
	ASSERT_EQ(mem[2], mem[1]);
	mm_machine_destroy(m);
}

/* brk after exec: [heap] right after the bss, a VMA of its own (brk never
 * merges below start_brk); it grows, merges with itself, shrinks away. */
TEST(exec_then_brk)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m, "t");
	struct mm_exec_result r = exec_golden(m, pid, "x86_64-exec");
	uint64_t got;
	ASSERT_EQ(mm_brk(m, pid, r.start_brk + 2 * PG, &got), 0);
	ASSERT_EQ(mm_brk(m, pid, r.start_brk + 3 * PG + 1, &got), 0);
	ASSERT_EQ_HEX(got, r.start_brk + 3 * PG + 1);
	tu_check(m, "brk up");
	char *s = maps_of(m, pid);
	ASSERT_CONTAINS(s, "00404000-00408000 rw-p 00000000 00:00 0 \n"
			   "00408000-0040c000 rw-p 00000000 00:00 0       "
			   "                           [heap]\n");
	free(s);
	/* below start_brk is refused: the answer is the old break */
	ASSERT_EQ(mm_brk(m, pid, r.start_brk - PG, &got), 0);
	ASSERT_EQ_HEX(got, r.start_brk + 3 * PG + 1);
	ASSERT_EQ(mm_brk(m, pid, r.start_brk, &got), 0);
	ASSERT_EQ_HEX(got, r.start_brk);
	tu_check(m, "brk down");
	s = maps_of(m, pid);
	ASSERT(strstr(s, "[heap]") == NULL);
	ASSERT_CONTAINS(s, "00404000-00408000 rw-p 00000000 00:00 0 \n7ffff7ff7000");
	free(s);
	mm_machine_destroy(m);
}

/* fork after exec copies the layout, the mm fields and the charges; the
 * child can exec something else without touching the parent. */
TEST(exec_then_fork)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m, "t");
	exec_golden(m, pid, "x86_64-pie");
	int64_t c0 = m->committed;
	int child;
	ASSERT_EQ(mm_fork(m, pid, &child), 0);
	tu_check(m, "after fork");
	char *pm = maps_of(m, pid), *cm = maps_of(m, child);
	ASSERT_EQ_STR(cm, pm);
	const struct mm_mm *a = mm_of(m, pid), *b = mm_of(m, child);
	ASSERT_EQ_HEX(b->start_code, a->start_code);
	ASSERT_EQ_HEX(b->start_brk, a->start_brk);
	ASSERT_EQ_HEX(b->start_stack, a->start_stack);
	ASSERT_EQ(b->total_vm, a->total_vm);
	/* the writable data page, 4 bss pages (ELF: 0x4190 bytes at
	 * 0x3f30) and the stack are charged again */
	ASSERT_EQ(m->committed - c0, 2 + 4 + 33);
	exec_golden(m, child, "x86_64-exec");
	char *pm2 = maps_of(m, pid);
	ASSERT_EQ_STR(pm2, pm);
	char *cm2 = maps_of(m, child);
	ASSERT_CONTAINS(cm2, "00400000-00401000 r--p 00000000 00:02 2 ");
	ASSERT_CONTAINS(cm2, "/tmp/mmsim-exec-2\n");
	free(pm);
	free(cm);
	free(pm2);
	free(cm2);
	mm_machine_destroy(m);
}

/* Exec twice in a row: the second replaces the first exactly. */
TEST(exec_twice_same_layout)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m, "t");
	exec_golden(m, pid, "x86_64-exec-2m");
	char *one = maps_of(m, pid);
	int64_t c1 = m->committed;
	exec_golden(m, pid, "x86_64-exec-2m");
	char *two = maps_of(m, pid);
	ASSERT_EQ_STR(two, one);
	ASSERT_EQ(m->committed, c1);
	ASSERT_EQ(objects_in_use(m, MM_CACHE_VM_AREA_STRUCT), vmas_in_use(m));
	free(one);
	free(two);
	mm_machine_destroy(m);
}

/* ENOMEM (overcommit "never", another process holding the commit): the
 * old address space stays, charges and all. */
TEST(exec_enomem_keeps_old_mm)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	c.overcommit = MM_OVERCOMMIT_NEVER;
	struct mm_machine *m = tu_machine(&c);
	int hog = spawn(m, "hog"), pid = spawn(m, "t");
	uint64_t a;
	ASSERT_EQ(mm_mmap(m, pid, 0, 3 * PG, RW, MM_MAP_PRIVATE | MM_MAP_ANONYMOUS,
			  -1, 0, &a), 0);
	/* take all but 20 pages of what can be committed */
	uint64_t lo = 0, hi = 1ull << 20;
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;
		int rc = mm_mmap(m, hog, 0, mid * PG, RW,
				 MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &a);
		if (rc == 0) {
			ASSERT_EQ(mm_munmap(m, hog, a, mid * PG), 0);
			lo = mid;
		} else {
			hi = mid;
		}
	}
	ASSERT_EQ(mm_mmap(m, hog, 0, (lo - 20) * PG, RW,
			  MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &a), 0);
	char *before = maps_of(m, pid);
	int64_t c0 = m->committed;
	size_t len;
	uint8_t *img = golden("x86_64-exec.elf", &len);
	/* needs 1 + 4 + 33 pages, 3 come back from the old mm */
	ASSERT_EQ(mm_exec(m, pid, img, len, NULL), -MM_ENOMEM);
	char *after = maps_of(m, pid);
	ASSERT_EQ_STR(after, before);
	ASSERT_EQ(m->committed, c0);
	tu_check(m, "after failed exec");
	/* with the hog gone it fits */
	ASSERT_EQ(mm_exit(m, hog, 0), 0);
	ASSERT_EQ(mm_exec(m, pid, img, len, NULL), 0);
	tu_check(m, "after exec");
	free(img);
	free(before);
	free(after);
	mm_machine_destroy(m);
}

/* randomize_va_space 2: same seed, same layout; another seed, another
 * layout; the stack, mmap region and brk move within Linux's ranges. */
TEST(exec_randomized)
{
	char *maps_by_seed[3];
	uint64_t stack[3], brk[3];
	for (int i = 0; i < 3; i++) {
		struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
		c.randomize_va_space = 2;
		c.seed = i < 2 ? 42 : 43;
		struct mm_machine *m = tu_machine(&c);
		int pid = spawn(m, "t");
		struct mm_exec_result r = exec_golden(m, pid, "x86_64-exec");
		maps_by_seed[i] = maps_of(m, pid);
		stack[i] = r.stack;
		brk[i] = r.start_brk;
		/* stack: up to 16 GiB (22 bits of pages) below TASK_SIZE;
		 * brk: one page past the bss plus up to 1 GiB */
		ASSERT(r.stack < 0x7ffffffff000ull &&
		       r.stack > 0x7ffffffff000ull - (17ull << 30));
		ASSERT(r.start_brk >= 0x409000 && r.start_brk < 0x409000 + (1ull << 30));
		mm_machine_destroy(m);
	}
	ASSERT_EQ_STR(maps_by_seed[1], maps_by_seed[0]);
	ASSERT(strcmp(maps_by_seed[2], maps_by_seed[0]) != 0);
	ASSERT_EQ_HEX(stack[1], stack[0]);
	ASSERT_EQ_HEX(brk[1], brk[0]);
	ASSERT(stack[2] != stack[0] || brk[2] != brk[0]);
	for (int i = 0; i < 3; i++)
		free(maps_by_seed[i]);
}

/* No memory for vm_area_struct objects: exec fails at each step in turn
 * (stack, segments, bss, vDSO) as objects are handed back one by one, and
 * every failure unwinds to the old address space; then it succeeds. */
TEST(exec_enomem_slab_unwinds)
{
	struct mm_machine *m = mk(MM_ARCH_X86_64);
	int pid = spawn(m, "t"), hog;
	/* on the same cpu: SLUB's per-cpu slabs are per cpu */
	ASSERT_EQ(mm_spawn(m, "hog", mm_task_get(m, pid)->cpu, &hog), 0);
	/* the allocations below must fail, not OOM-kill the hog (pid 1 is
	 * init, never chosen) */
	ASSERT_EQ(mm_set_oom_score_adj(m, hog, -1000), 0);
	uint64_t a;
	ASSERT_EQ(mm_mmap(m, pid, 0, 3 * PG, RW, MM_MAP_PRIVATE | MM_MAP_ANONYMOUS,
			  -1, 0, &a), 0);
	/* every free page taken, then every free vm_area_struct object */
	struct mm_alloc_result res;
	long pages = 0;
	while (mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &res) == 0)
		pages++;
	ASSERT(pages > 0);
	uint64_t *hogs = malloc(100000 * sizeof(*hogs));
	ASSERT(hogs != NULL);
	int nh = 0;
	while (nh < 100000 &&
	       mm_mmap(m, hog, 0, PG, nh % 2 ? RW : MM_PROT_READ,
		       MM_MAP_PRIVATE | MM_MAP_ANONYMOUS, -1, 0, &hogs[nh]) == 0)
		nh++;
	ASSERT(nh < 100000);
	char *before = maps_of(m, pid);
	int64_t c0 = m->committed;
	size_t len;
	uint8_t *img = golden("x86_64-exec.elf", &len);
	int failures = 0, rc;
	for (int k = 0; k <= 20; k++) {
		rc = mm_exec(m, pid, img, len, NULL);
		if (rc == 0)
			break;
		ASSERT_EQ(rc, -MM_ENOMEM);
		failures++;
		char *after = maps_of(m, pid);
		ASSERT_EQ_STR(after, before);
		free(after);
		ASSERT_EQ(m->committed, c0);
		ASSERT_EQ(objects_in_use(m, MM_CACHE_VM_AREA_STRUCT), vmas_in_use(m));
		tu_check(m, "after exec ENOMEM");
		/* one more object for the next try */
		ASSERT(nh > 0);
		nh--;
		ASSERT_EQ(mm_munmap(m, hog, hogs[nh], PG), 0);
		c0 = m->committed;
	}
	ASSERT_EQ(rc, 0);
	/* 9 VMAs: the first tries failed at each step of the way */
	if (failures < 9)
		th_fail(__FILE__, __LINE__, "only %d failures", failures);
	tu_check(m, "after exec");
	free(img);
	free(hogs);
	free(before);
	mm_machine_destroy(m);
}
