/*
 * zoneinfo_parse.c — see zoneinfo_parse.h.  The reader keys on each
 * line's leading words ("pages free", "min", "high:", "cpu:", …), the
 * labels of mm/vmstat.c's zoneinfo_show_print(); counter lines of the
 * per-node and per-zone stat blocks are skipped.
 */
#include "tests/unit/zoneinfo_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void zi_zone_init(struct zi_zone *z, int node, const char *name)
{
	memset(z, 0, sizeof(*z));
	z->node = node;
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->free = z->boost = z->min = z->low = z->high = z->promo = -1;
	z->spanned = z->present = z->managed = z->cma = -1;
	z->start_pfn = -1;
}

/* "key<spaces>value" with key matched exactly (followed by a space). */
static bool zi_kv(const char *line, const char *key, int64_t *v)
{
	size_t n = strlen(key);
	long long x;

	if (strncmp(line, key, n) != 0 || line[n] != ' ')
		return false;
	if (sscanf(line + n, " %lld", &x) != 1)
		return false;
	*v = x;
	return true;
}

static int zi_line(struct zi *zi, const char *line)
{
	struct zi_zone *z = zi->nzones ? &zi->z[zi->nzones - 1] : NULL;
	struct zi_pcp *p = z && z->ncpus ? &z->pcp[z->ncpus - 1] : NULL;
	int node;
	char name[16];
	int64_t v;

	if (sscanf(line, "Node %d, zone %15s", &node, name) == 2) {
		if (zi->nzones == ZI_MAX_ZONES)
			return -1;
		zi_zone_init(&zi->z[zi->nzones++], node, name);
		return 0;
	}
	while (*line == ' ')
		line++;
	if (!z)
		return 0;
	if (!strncmp(line, "protection: (", 13)) {
		const char *s = line + 13;
		z->nprot = 0;
		for (;;) {
			char *end;
			long long x = strtoll(s, &end, 10);
			if (end == s || z->nprot == ZI_MAX_PROT)
				return -1;
			z->prot[z->nprot++] = x;
			if (*end == ')')
				return 0;
			if (strncmp(end, ", ", 2) != 0)
				return -1;
			s = end + 2;
		}
	}
	if (!strcmp(line, "pagesets")) {
		z->has_pagesets = true;
		return 0;
	}
	if (zi_kv(line, "cpu:", &v)) {
		if (z->ncpus == ZI_MAX_CPUS)
			return -1;
		if (!z->pcp)
			z->pcp = calloc(ZI_MAX_CPUS, sizeof(*z->pcp));
		if (!z->pcp)
			return -1;
		p = &z->pcp[z->ncpus++];
		memset(p, 0xff, sizeof(*p));  /* every field -1 */
		p->cpu = (int)v;
		return 0;
	}
	if (p) {
		if (zi_kv(line, "count:", &p->count) || zi_kv(line, "high:", &p->high) ||
		    zi_kv(line, "batch:", &p->batch) ||
		    zi_kv(line, "high_min:", &p->high_min) ||
		    zi_kv(line, "high_max:", &p->high_max) ||
		    zi_kv(line, "vm stats threshold:", &p->threshold))
			return 0;
	}
	if (zi_kv(line, "pages free", &z->free) || zi_kv(line, "boost", &z->boost) ||
	    zi_kv(line, "min", &z->min) || zi_kv(line, "low", &z->low) ||
	    zi_kv(line, "high", &z->high) || zi_kv(line, "promo", &z->promo) ||
	    zi_kv(line, "spanned", &z->spanned) ||
	    zi_kv(line, "present", &z->present) ||
	    zi_kv(line, "managed", &z->managed) || zi_kv(line, "cma", &z->cma) ||
	    zi_kv(line, "start_pfn:", &z->start_pfn))
		return 0;
	return 0;  /* a counter line */
}

int zi_parse(const char *text, struct zi *out)
{
	memset(out, 0, sizeof(*out));
	while (*text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		char line[512];
		if (n >= sizeof(line))
			n = sizeof(line) - 1;
		memcpy(line, text, n);
		line[n] = '\0';
		if (zi_line(out, line)) {
			fprintf(stderr, "  zoneinfo: cannot read line \"%s\"\n", line);
			return -1;
		}
		text += nl ? (size_t)(nl - text) + 1 : n;
	}
	return 0;
}

void zi_free(struct zi *zi)
{
	for (int i = 0; i < zi->nzones; i++) {
		free(zi->z[i].pcp);
		zi->z[i].pcp = NULL;
	}
	zi->nzones = 0;
}

const struct zi_zone *zi_find(const struct zi *zi, int node, const char *name)
{
	for (int i = 0; i < zi->nzones; i++)
		if (zi->z[i].node == node && !strcmp(zi->z[i].name, name))
			return &zi->z[i];
	return NULL;
}

int zi_nodes(const struct zi *zi)
{
	int n = 0;

	for (int i = 0; i < zi->nzones; i++)
		if (i == 0 || zi->z[i].node != zi->z[i - 1].node)
			n++;
	return n;
}

/* ceil(pfns * 64 / 4096): the memmap of a node of that many frames. */
static uint64_t zi_memmap_pages(uint64_t pfns)
{
	return (pfns * 64 + 4095) / 4096;
}

uint64_t zi_fit_memory_x86_64(const int64_t managed[5])
{
	const uint64_t dma32_start = 4096, normal_start = 1u << 20;
	const uint64_t kernel_pages = 4096;    /* 16 MiB image at 16 MiB */
	uint64_t pfns;

	if (managed[2] > 0) {
		/* Normal = [4G, end) minus the memmap at its top. */
		pfns = normal_start + (uint64_t)managed[2];
		pfns = (pfns + 255) & ~255ull;
		while (pfns - normal_start - zi_memmap_pages(pfns) < (uint64_t)managed[2])
			pfns += 256;
	} else {
		/* DMA32 = [16M, end) minus the kernel image and the memmap. */
		uint64_t want = managed[1] > 0 ? (uint64_t)managed[1] : 0;
		pfns = dma32_start + kernel_pages + want;
		pfns = (pfns + 255) & ~255ull;
		while (pfns - dma32_start - kernel_pages - zi_memmap_pages(pfns) < want)
			pfns += 256;
	}
	return pfns << 12;
}
