/*
 * prog.c — the program behind the exec fidelity recordings
 * (tests/golden/elf/).  Built without libc (-nostdlib, -static or
 * -static-pie) by tests/elf/build.sh, so its address space is exactly what
 * the kernel's ELF loader made of it: its PT_LOAD segments (text r-x,
 * rodata r--, data rw- followed by a bss of several pages), the bss/brk
 * area, the stack, and the kernel's vDSO.
 *
 * Run on the host (tests/elf/record.sh, under `setarch -R`), it prints,
 * using raw syscalls only:
 *   == stat            /proc/self/stat (start_code, end_code, startstack,
 *                      start_data, end_data, start_brk: fields 26-28, 45-47)
 *   == status          /proc/self/status (VmSize, VmData, VmStk, VmExe, …)
 *   == maps            /proc/self/maps as exec left it
 *   == brk OLD NEW     brk(0), then brk(OLD + 0x5000)
 *   == maps-after-brk  /proc/self/maps with the grown heap
 * and exits 0.  The simulator execs the same file and must agree
 * (tests/unit/test_exec.c).  It stores no absolute pointer in data, so the
 * static PIE needs no relocation.
 */
#if defined(__x86_64__)
enum { SYS_read = 0, SYS_write = 1, SYS_open = 2, SYS_close = 3,
       SYS_brk = 12, SYS_exit = 60 };
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}
__asm__(".text\n.globl _start\n_start:\n\txor %ebp, %ebp\n"
	"\tcall prog_main\n\thlt\n");
#elif defined(__i386__)
enum { SYS_read = 3, SYS_write = 4, SYS_open = 5, SYS_close = 6,
       SYS_brk = 45, SYS_exit = 1 };
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "a"(n), "b"(a), "c"(b), "d"(c)
			 : "memory");
	return r;
}
__asm__(".text\n.globl _start\n_start:\n\txor %ebp, %ebp\n"
	"\tcall prog_main\n\thlt\n");
#else
#error "x86_64 or i386 only"
#endif

void prog_main(void) __attribute__((noreturn, used));

/* rodata: the messages and a table filling most of a page. */
static const char msg_stat[] = "== stat\n";
static const char msg_status[] = "== status\n";
static const char msg_maps[] = "== maps\n";
static const char msg_after[] = "== maps-after-brk\n";
static const char path_stat[] = "/proc/self/stat";
static const char path_status[] = "/proc/self/status";
static const char path_maps[] = "/proc/self/maps";
static const char hexdigits[] = "0123456789abcdef";

/* data: initialised, so it lives in the file. */
static char banner[64] = "== brk ";

/* bss: the read buffer, four pages and a bit. */
static char buf[4 * 4096 + 123];

static unsigned long len(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static void out(const char *s, unsigned long n)
{
	while (n) {
		long w = sys3(SYS_write, 1, (long)s, (long)n);
		if (w <= 0)
			sys3(SYS_exit, 2, 0, 0);
		s += w;
		n -= (unsigned long)w;
	}
}

static void dump(const char *title, const char *path)
{
	out(title, len(title));
	long fd = sys3(SYS_open, (long)path, 0, 0);
	if (fd < 0)
		sys3(SYS_exit, 3, 0, 0);
	for (;;) {
		long n = sys3(SYS_read, fd, (long)buf, sizeof(buf));
		if (n <= 0)
			break;
		out(buf, (unsigned long)n);
	}
	sys3(SYS_close, fd, 0, 0);
}

static unsigned long hex(char *p, unsigned long v)
{
	char t[2 * sizeof(long)];
	unsigned long n = 0;
	do {
		t[n++] = hexdigits[v & 15];
		v >>= 4;
	} while (v);
	for (unsigned long i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

void prog_main(void)
{
	dump(msg_stat, path_stat);
	dump(msg_status, path_status);
	dump(msg_maps, path_maps);
	unsigned long old = (unsigned long)sys3(SYS_brk, 0, 0, 0);
	unsigned long new = (unsigned long)sys3(SYS_brk, (long)(old + 0x5000), 0, 0);
	unsigned long n = len(banner);
	banner[n++] = '0';
	banner[n++] = 'x';
	n += hex(banner + n, old);
	banner[n++] = ' ';
	banner[n++] = '0';
	banner[n++] = 'x';
	n += hex(banner + n, new);
	banner[n++] = '\n';
	out(banner, n);
	dump(msg_after, path_maps);
	sys3(SYS_exit, 0, 0, 0);
	for (;;)
		;
}
