/*
 * config.c — machine configuration: Linux-like defaults and the consistency
 * checks that do not need JSON (api/config.c decodes JSON into this struct
 * and rejects unknown keys and wrong types).
 */
#include "engine/internal.h"

#include <stdio.h>

#define MM_MIB (1ull << 20)
#define MM_GIB (1ull << 30)

void mm_config_default(struct mm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->arch = MM_ARCH_X86_64;
	cfg->memory = 256 * MM_MIB;
	cfg->nodes = 1;
	for (int n = 0; n < MM_MAX_NODES; n++)
		for (int z = 0; z < MM_MAX_ZONES; z++)
			cfg->zones_managed_pages[n][z] = -1;
	cfg->cpus = 2;
	cfg->page_policy = MM_POLICY_LINUX;
	cfg->min_free_kbytes = -1;
	cfg->watermark_scale_factor = 10;
	cfg->zero_page = true;
	cfg->fault_around_bytes = 65536;
	cfg->read_ahead_kb = MM_RA_PAGES * 4; /* VM_READAHEAD_PAGES */
	cfg->swappiness = 60;
	cfg->overcommit = MM_OVERCOMMIT_HEURISTIC;
	cfg->overcommit_ratio = 50;
	cfg->kswapd_pages_per_tick = 1024;
	cfg->seed = 0;
	cfg->max_map_count = 65530;
	cfg->pid_max = 32768;
	cfg->randomize_va_space = 0;
	cfg->event_ring = MM_EVENT_RING_DEFAULT;
}

#define MM_FAIL(...)                                   \
	do {                                           \
		if (errlen)                            \
			snprintf(err, errlen, __VA_ARGS__); \
		return -MM_EINVAL;                     \
	} while (0)

int mm_config_validate(const struct mm_config *cfg, char *err, size_t errlen)
{
	uint64_t max_mem = cfg->arch == MM_ARCH_I386 ? 4 * MM_GIB : 64 * MM_GIB;
	uint64_t min_mem = 4 * MM_MIB;

	if (cfg->arch != MM_ARCH_X86_64 && cfg->arch != MM_ARCH_I386)
		MM_FAIL("arch: must be \"x86_64\" or \"i386\"");
	if (cfg->memory < min_mem || cfg->memory > max_mem)
		MM_FAIL("memory: %llu bytes is outside [4M, %s] for %s",
			(unsigned long long)cfg->memory,
			cfg->arch == MM_ARCH_I386 ? "4G" : "64G",
			cfg->arch == MM_ARCH_I386 ? "i386" : "x86_64");
	if (cfg->memory % MM_MIB)
		MM_FAIL("memory: %llu bytes is not a whole number of MiB",
			(unsigned long long)cfg->memory);
	if (cfg->nodes < 1 || cfg->nodes > MM_MAX_NODES)
		MM_FAIL("nodes: %d is outside [1, %d]", cfg->nodes, MM_MAX_NODES);
	if (cfg->arch == MM_ARCH_I386 && cfg->nodes != 1)
		MM_FAIL("nodes: i386 machines have a single node");
	if (cfg->cpus < 1 || cfg->cpus > MM_MAX_CPUS)
		MM_FAIL("cpus: %d is outside [1, %d]", cfg->cpus, MM_MAX_CPUS);

	bool given = false;
	uint64_t sum = 0;
	for (int n = 0; n < MM_MAX_NODES; n++) {
		if (cfg->node_memory[n] && n >= cfg->nodes)
			MM_FAIL("node_memory: %d entries for %d nodes", n + 1,
				cfg->nodes);
		given |= cfg->node_memory[n] != 0;
		sum += cfg->node_memory[n];
	}
	if (given) {
		for (int n = 0; n < cfg->nodes; n++)
			if (cfg->node_memory[n] < 4 * MM_MIB ||
			    cfg->node_memory[n] % (4 * MM_MIB))
				MM_FAIL("node_memory[%d]: each node needs a "
					"multiple of 4M, at least 4M", n);
		if (sum != cfg->memory)
			MM_FAIL("node_memory: sums to %llu bytes, memory is %llu",
				(unsigned long long)sum,
				(unsigned long long)cfg->memory);
	} else if (cfg->memory / (uint64_t)cfg->nodes < 4 * MM_MIB) {
		MM_FAIL("nodes: %d nodes need at least %dM of memory",
			cfg->nodes, 4 * cfg->nodes);
	}
	for (int a = 0; a < cfg->nodes; a++) {
		for (int b = 0; b < cfg->nodes; b++) {
			int d = cfg->distance[a][b];
			if (d == 0)
				continue;
			if ((a == b && d != 10) || (a != b && (d <= 10 || d > 254)))
				MM_FAIL("distance[%d][%d]: %d (local must be 10, "
					"remote in (10, 254])", a, b, d);
			/* An entry left 0 means its default (10 / 20). */
			int back = cfg->distance[b][a] ? cfg->distance[b][a]
				   : a == b ? 10 : 20;
			if (back != d)
				MM_FAIL("distance: table is not symmetric at "
					"[%d][%d]", a, b);
		}
	}
	if (cfg->min_free_kbytes != -1 &&
	    (cfg->min_free_kbytes < 0 || cfg->min_free_kbytes > 262144 * 4))
		MM_FAIL("min_free_kbytes: %lld is outside [0, 1048576]",
			(long long)cfg->min_free_kbytes);
	if (cfg->watermark_scale_factor < 1 || cfg->watermark_scale_factor > 3000)
		MM_FAIL("watermark_scale_factor: %d is outside [1, 3000]",
			cfg->watermark_scale_factor);
	if (cfg->swappiness < 0 || cfg->swappiness > 200)
		MM_FAIL("swappiness: %d is outside [0, 200]", cfg->swappiness);
	if (cfg->overcommit_ratio < 0 || cfg->overcommit_ratio > 100000)
		MM_FAIL("overcommit_ratio: %d is out of range",
			cfg->overcommit_ratio);
	if (cfg->fault_around_bytes < MM_PAGE_SIZE ||
	    cfg->fault_around_bytes > 64 * 4096u * 8 ||
	    (cfg->fault_around_bytes & (cfg->fault_around_bytes - 1)))
		MM_FAIL("fault_around_bytes: must be a power of two in "
			"[4096, 2097152]");
	if (cfg->read_ahead_kb < 4 || cfg->read_ahead_kb > 65536 ||
	    cfg->read_ahead_kb % 4)
		MM_FAIL("read_ahead_kb: %u is not a multiple of 4 in [4, 65536]",
			cfg->read_ahead_kb);
	if (cfg->kswapd_pages_per_tick < 32 || cfg->kswapd_pages_per_tick > (1u << 24))
		MM_FAIL("kswapd_pages_per_tick: %u is outside [32, 16777216]",
			cfg->kswapd_pages_per_tick);
	if (cfg->swap > 64 * MM_GIB || cfg->swap % MM_PAGE_SIZE)
		MM_FAIL("swap: must be a multiple of 4K, at most 64G");
	if (cfg->max_map_count < 1 || cfg->max_map_count > 1 << 24)
		MM_FAIL("max_map_count: %d is outside [1, 16777216]",
			cfg->max_map_count);
	if (cfg->pid_max < 301 || cfg->pid_max > 4194304)
		MM_FAIL("pid_max: %d is outside [301, 4194304]", cfg->pid_max);
	if (cfg->event_ring < 16 || cfg->event_ring > MM_EVENT_RING_MAX)
		MM_FAIL("event_ring: %u is outside [16, %u]", cfg->event_ring,
			MM_EVENT_RING_MAX);
	if (cfg->randomize_va_space < 0 || cfg->randomize_va_space > 2)
		MM_FAIL("randomize_va_space: %d is not 0, 1 or 2",
			cfg->randomize_va_space);
	for (int n = cfg->nodes; n < MM_MAX_NODES; n++)
		for (int z = 0; z < MM_MAX_ZONES; z++)
			if (cfg->zones_managed_pages[n][z] != -1)
				MM_FAIL("zones_managed_pages: node %d does not "
					"exist", n);
	return 0;
}
