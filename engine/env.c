/*
 * env.c — the injected environment: errno names, the seeded RNG
 * (xoshiro256** seeded through splitmix64, so the whole stream is a pure
 * function of the machine's seed), GFP flag names and the assertion hook.
 */
#include "engine/internal.h"

#include <stdlib.h>

static const struct {
	int err;
	const char *name;
} mm_errnames[] = {
	{MM_EPERM, "EPERM"},   {MM_ENOENT, "ENOENT"},   {MM_ESRCH, "ESRCH"},
	{MM_EINTR, "EINTR"},   {MM_EIO, "EIO"},         {MM_ENXIO, "ENXIO"},
	{MM_E2BIG, "E2BIG"},   {MM_ENOEXEC, "ENOEXEC"}, {MM_EBADF, "EBADF"},
	{MM_ECHILD, "ECHILD"}, {MM_EAGAIN, "EAGAIN"},   {MM_ENOMEM, "ENOMEM"},
	{MM_EACCES, "EACCES"}, {MM_EFAULT, "EFAULT"},   {MM_EBUSY, "EBUSY"},
	{MM_EEXIST, "EEXIST"}, {MM_ENODEV, "ENODEV"},   {MM_EINVAL, "EINVAL"},
	{MM_ENFILE, "ENFILE"}, {MM_EMFILE, "EMFILE"},   {MM_EFBIG, "EFBIG"},
	{MM_ENOSPC, "ENOSPC"}, {MM_ERANGE, "ERANGE"},
	{MM_ENAMETOOLONG, "ENAMETOOLONG"},              {MM_EOVERFLOW, "EOVERFLOW"},
};

const char *mm_errname(int err)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(mm_errnames) / sizeof(mm_errnames[0]); i++)
		if (mm_errnames[i].err == err)
			return mm_errnames[i].name;
	return "E?";
}

static uint64_t mm__splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void mm_env_init(struct mm_env *env, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		env->rng[i] = mm__splitmix64(&x);
	env->clock = 0;
}

static inline uint64_t mm__rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t mm_env_random(struct mm_env *env)
{
	uint64_t *s = env->rng;
	uint64_t r = mm__rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = mm__rotl(s[3], 45);
	return r;
}

static const struct {
	const char *name;
	uint32_t bits;
} mm_gfp_table[] = {
	{"GFP_KERNEL", MM_GFP_KERNEL},
	{"GFP_ATOMIC", MM_GFP_ATOMIC},
	{"GFP_NOWAIT", MM_GFP_NOWAIT},
	{"GFP_USER", MM_GFP_USER},
	{"GFP_DMA", MM_GFP_DMA},
	{"GFP_DMA32", MM_GFP_DMA32},
	{"GFP_HIGHUSER", MM_GFP_HIGHUSER},
	{"GFP_HIGHUSER_MOVABLE", MM_GFP_HIGHUSER_MOVABLE},
	{"__GFP_DMA", MM___GFP_DMA},
	{"__GFP_HIGHMEM", MM___GFP_HIGHMEM},
	{"__GFP_DMA32", MM___GFP_DMA32},
	{"__GFP_MOVABLE", MM___GFP_MOVABLE},
	{"__GFP_RECLAIMABLE", MM___GFP_RECLAIMABLE},
	{"__GFP_HIGH", MM___GFP_HIGH},
	{"__GFP_IO", MM___GFP_IO},
	{"__GFP_FS", MM___GFP_FS},
	{"__GFP_ZERO", MM___GFP_ZERO},
	{"__GFP_DIRECT_RECLAIM", MM___GFP_DIRECT_RECLAIM},
	{"__GFP_KSWAPD_RECLAIM", MM___GFP_KSWAPD_RECLAIM},
	{"__GFP_NOWARN", MM___GFP_NOWARN},
	{"__GFP_RETRY_MAYFAIL", MM___GFP_RETRY_MAYFAIL},
	{"__GFP_NOFAIL", MM___GFP_NOFAIL},
	{"__GFP_NORETRY", MM___GFP_NORETRY},
	{"__GFP_MEMALLOC", MM___GFP_MEMALLOC},
	{"__GFP_COMP", MM___GFP_COMP},
	{"__GFP_NOMEMALLOC", MM___GFP_NOMEMALLOC},
	{"__GFP_HARDWALL", MM___GFP_HARDWALL},
	{"__GFP_THISNODE", MM___GFP_THISNODE},
	{"__GFP_ACCOUNT", MM___GFP_ACCOUNT},
};
#define MM_NR_GFP (sizeof(mm_gfp_table) / sizeof(mm_gfp_table[0]))

const char *const mm_gfp_names[] = {
	"GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_USER", "GFP_DMA",
	"GFP_DMA32", "GFP_HIGHUSER", "GFP_HIGHUSER_MOVABLE", "__GFP_DMA",
	"__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_MOVABLE", "__GFP_RECLAIMABLE",
	"__GFP_HIGH", "__GFP_IO", "__GFP_FS", "__GFP_ZERO",
	"__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_NOWARN",
	"__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY",
	"__GFP_MEMALLOC", "__GFP_COMP", "__GFP_NOMEMALLOC", "__GFP_HARDWALL",
	"__GFP_THISNODE", "__GFP_ACCOUNT", NULL,
};
_Static_assert(sizeof(mm_gfp_names) / sizeof(mm_gfp_names[0]) == MM_NR_GFP + 1,
	       "mm_gfp_names out of step with mm_gfp_table");

int mm_gfp_parse(const char *name, uint32_t *gfp)
{
	for (size_t i = 0; i < MM_NR_GFP; i++) {
		if (strcmp(mm_gfp_table[i].name, name) == 0) {
			*gfp |= mm_gfp_table[i].bits;
			return 0;
		}
	}
	return -MM_EINVAL;
}

const char *const mm_migratetype_names[MM_MIGRATE_TYPES] = {
	"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate",
};

#ifndef NDEBUG
void mm__assert_fail(const char *expr, const char *file, int line)
{
	/* No I/O in the engine: a failed assertion is a programmer error and
	 * ends the process; debuggers and sanitizers show the site. */
	(void)expr;
	(void)file;
	(void)line;
	abort();
}
#endif
