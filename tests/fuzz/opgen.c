/*
 * opgen.c — schema-driven random operation records (see opgen.h).
 */
#include "tests/fuzz/opgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ops.h"

/* ---- choices ------------------------------------------------------------------ */

void og_src_bytes(struct og_src *s, const uint8_t *data, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->data = data;
	s->len = len;
}

void og_src_seed(struct og_src *s, uint64_t seed)
{
	memset(s, 0, sizeof(*s));
	s->seed = seed;
}

bool og_more(const struct og_src *s)
{
	return !s->data || s->pos < s->len;
}

static uint64_t og__raw(struct og_src *s, uint64_t n)
{
	uint64_t v = 0;

	if (!s->data) {
		/* splitmix64 */
		uint64_t z = (s->seed += 0x9e3779b97f4a7c15ull);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		return z ^ (z >> 31);
	}
	/* as many bytes as n needs */
	for (int k = 0; k < 8 && s->pos < s->len && (k == 0 || (n >> (8 * k))); k++)
		v |= (uint64_t)s->data[s->pos++] << (8 * k);
	return v;
}

uint64_t og_below(struct og_src *s, uint64_t n)
{
	return n ? og__raw(s, n - 1) % n : 0;
}

/* One in n. */
static bool og__one_in(struct og_src *s, uint64_t n)
{
	return og_below(s, n) == 0;
}

void og_load_elf(struct og_state *g, const char *dir, const char *name)
{
	char path[1024];

	if (g->nelf == 4)
		return;
	snprintf(path, sizeof(path), "%s/golden/elf/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	uint8_t *buf = malloc(1 << 16);
	size_t n = buf ? fread(buf, 1, 1 << 16, f) : 0;
	fclose(f);
	if (!n) {
		free(buf);
		return;
	}
	g->elf[g->nelf] = buf;
	g->elf_len[g->nelf++] = n;
}

/* ---- values ------------------------------------------------------------------- */

static void og__push(struct og_state *g, enum og_kind k, uint64_t v,
		     uint32_t aux)
{
	struct og_pool *p = &g->pool[k];
	unsigned i = p->n < OG_POOL ? p->n++ : p->next++ % OG_POOL;

	p->v[i] = v;
	p->aux[i] = aux;
}

static void og__forget(struct og_state *g, enum og_kind k, uint64_t v)
{
	struct og_pool *p = &g->pool[k];

	for (unsigned i = 0; i < p->n; i++)
		if (p->v[i] == v) {
			p->v[i] = p->v[--p->n];
			p->aux[i] = p->aux[p->n];
			return;
		}
}

/* An entry of pool k (index into *i), or false when it is empty. */
static bool og__pick(struct og_state *g, struct og_src *s, enum og_kind k,
		     unsigned *i)
{
	if (!g->pool[k].n)
		return false;
	*i = (unsigned)og_below(s, g->pool[k].n);
	return true;
}

static json_t *og__hex(uint64_t a)
{
	char b[24];
	snprintf(b, sizeof(b), "0x%llx", (unsigned long long)a);
	return json_string(b);
}

static unsigned og__count(const char *const *names)
{
	unsigned n = 0;
	while (names[n])
		n++;
	return n;
}

static json_t *og__names(struct og_src *s, const char *const *names,
			 const char *first, unsigned max)
{
	json_t *a = json_array();
	unsigned n = og__count(names), k = (unsigned)og_below(s, max + 1);

	if (first && !og__one_in(s, 4))
		json_array_append_new(a, json_string(first));
	while (k--)
		json_array_append_new(a, json_string(names[og_below(s, n)]));
	return a;
}

static char *og__base64(const uint8_t *p, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				 "0123456789+/";
	char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;

	if (!out)
		abort();
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = al[v >> 18 & 63];
		*o++ = al[v >> 12 & 63];
		*o++ = i + 1 < n ? al[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? al[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* An ELF image: a known one, maybe with one byte changed, or garbage. */
static json_t *og__elf(struct og_state *g, struct og_src *s)
{
	uint8_t junk[64];

	if (!g->nelf || og__one_in(s, 8)) {
		size_t n = og_below(s, sizeof(junk) + 1);
		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)og_below(s, 256);
		char *b = og__base64(junk, n);
		json_t *j = json_string(b);
		free(b);
		return j;
	}
	unsigned k = (unsigned)og_below(s, g->nelf);
	size_t n = g->elf_len[k];
	uint8_t *img = malloc(n ? n : 1);
	if (!img)
		abort();
	memcpy(img, g->elf[k], n);
	if (n && og__one_in(s, 3)) /* a header byte, mostly */
		img[og_below(s, og__one_in(s, 2) ? (n < 128 ? n : 128) : n)] =
			(uint8_t)og_below(s, 256);
	char *b = og__base64(img, n);
	json_t *j = json_string(b);
	free(b);
	free(img);
	return j;
}

static json_t *og__size(struct og_src *s)
{
	static const char *const units[] = {"K", "M", "k", "KiB", "G", "T"};

	switch (og_below(s, 8)) {
	case 0:
		return json_integer((json_int_t)og_below(s, 1u << 24));
	case 1: {
		char b[32];
		snprintf(b, sizeof(b), "%llu%s", (unsigned long long)og_below(s, 64),
			 units[og_below(s, 6)]);
		return json_string(b);
	}
	case 2:
		return json_integer((json_int_t)(1ull << og_below(s, 63)));
	case 3:
		return json_integer(0);
	default: /* a few pages */
		return json_integer((json_int_t)((1 + og_below(s, 32)) << 12));
	}
}

static json_t *og__addr(struct og_state *g, struct og_src *s,
			const struct mm_machine *m)
{
	uint64_t a;

	switch (og_below(s, 8)) {
	case 0:
		a = 0;
		break;
	case 1:
		a = og__raw(s, UINT64_MAX) & ~0xfffull;
		break;
	case 2:
		a = m->cfg.arch == MM_ARCH_I386 ? 0x08048000ull : 0x400000ull;
		a += og_below(s, 1024) << 12;
		break;
	default: {
		unsigned i;
		a = og__pick(g, s, OG_USER, &i) ? g->pool[OG_USER].v[i] : 0;
		if (og__one_in(s, 3))
			a += (og_below(s, 9) - 4) << 12;
		break;
	}
	}
	if (og__one_in(s, 2))
		return json_integer((json_int_t)(a & INT64_MAX));
	return og__hex(a);
}

/* Per-record context: a chosen block's order follows its pfn. */
struct og_rec {
	int order;   /* -1: none chosen */
};

static json_t *og__int(struct og_state *g, struct og_src *s,
		       const struct mm_machine *m, const struct api_arg *a,
		       struct og_rec *r)
{
	if (!strcmp(a->name, "pid")) {
		int32_t pids[MM_MAX_TASKS];
		int n = api_process_pids(m, pids);
		if (n && !og__one_in(s, 8))
			return json_integer(pids[og_below(s, (uint64_t)n)]);
		return json_integer(1 + (json_int_t)og_below(s, 512));
	}
	if (!strcmp(a->name, "pfn")) {
		unsigned k;
		if (!og__one_in(s, 4) && og__pick(g, s, OG_BLOCK, &k)) {
			r->order = (int)g->pool[OG_BLOCK].aux[k];
			return json_integer((json_int_t)g->pool[OG_BLOCK].v[k]);
		}
		return json_integer((json_int_t)og_below(s, m->nr_pfns + 8));
	}
	if (!strcmp(a->name, "order") && r->order >= 0 && !og__one_in(s, 8))
		return json_integer(r->order);
	if (!strcmp(a->name, "order"))
		return json_integer((json_int_t)og_below(s, og__one_in(s, 4) ? 12 : 4));
	if (!strcmp(a->name, "cpu"))
		return json_integer(a->lo + (json_int_t)og_below(
			s, (uint64_t)(m->cfg.cpus - a->lo + og__one_in(s, 16))));
	if (!strcmp(a->name, "node"))
		return json_integer(-1 + (json_int_t)og_below(s, (uint64_t)m->nr_nodes + 1));
	uint64_t span = (uint64_t)(a->hi - a->lo);
	switch (og_below(s, 4)) {
	case 0:
		return json_integer(a->lo);
	case 1:
		return json_integer(a->hi);
	default:
		return json_integer(a->lo + (json_int_t)og_below(s, (span < 64 ? span
									  : 64) + 1));
	}
}

static json_t *og__string(struct og_state *g, struct og_src *s,
			  const struct api_op *op, const struct api_arg *a)
{
	char b[32];

	if (!strcmp(a->name, "cache"))
		return json_string(g->caches[og_below(s, g->ncaches)]);
	if (!strcmp(op->name, "kmemCacheCreate")) {
		snprintf(b, sizeof(b), "og-%u", (unsigned)og_below(s, 8));
		return json_string(b);
	}
	snprintf(b, sizeof(b), "p%u", (unsigned)og_below(s, 1000));
	return json_string(b);
}

static json_t *og__value(struct og_state *g, struct og_src *s,
			 const struct mm_machine *m, const struct api_op *op,
			 const struct api_arg *a, struct og_rec *r)
{
	static const char *const prots[] = {"---", "r--", "rw-", "r-x", "rwx",
					    "-w-", "--x", "-wx"};
	static const char *const anon[] = {"MAP_PRIVATE", "MAP_ANONYMOUS", NULL};

	switch (a->type) {
	case API_T_INT:
		return og__int(g, s, m, a, r);
	case API_T_SIZE:
		return og__size(s);
	case API_T_ADDR:
		return og__addr(g, s, m);
	case API_T_GFP:
		return og__names(s, mm_gfp_names, "GFP_KERNEL", 2);
	case API_T_ENUM:
		return json_string(a->names[og_below(s, og__count(a->names))]);
	case API_T_STRING:
		return og__string(g, s, op, a);
	case API_T_BOOL:
		return json_boolean(og_below(s, 2));
	case API_T_SLAB_FLAGS:
		return og__names(s, mm_slab_flag_names, NULL, 2);
	case API_T_PROT:
		return json_string(prots[og_below(s, 8)]);
	case API_T_MAP_FLAGS: {
		json_t *f = og__one_in(s, 6) ? og__names(s, api_map_flag_names,
							   NULL, 3) : json_array();
		if (!json_array_size(f))
			for (int k = og__one_in(s, 5) ? 1 : 0; anon[k]; k++)
				json_array_append_new(f, json_string(anon[k]));
		if (og__one_in(s, 4))
			json_array_append_new(f, json_string(api_map_flag_names[
				og_below(s, og__count(api_map_flag_names))]));
		return f;
	}
	case API_T_BASE64:
		return og__elf(g, s);
	case API_T_INT_ARRAY: { /* a short reference string (trace pages) */
		json_t *v = json_array();
		for (uint64_t k = og_below(s, 24); k > 0; k--)
			json_array_append_new(v, json_integer((json_int_t)og_below(s, 16)));
		return v;
	}
	}
	return json_null();
}

/* A value of the wrong shape, for the decoder's refusals. */
static json_t *og__bad(struct og_src *s)
{
	switch (og_below(s, 6)) {
	case 0: return json_null();
	case 1: return json_integer(-1);
	case 2: return json_string("0xzz");
	case 3: return json_array();
	case 4: return json_real(1.5);
	default: return json_integer(INT64_MAX);
	}
}

json_t *og_next(struct og_state *g, struct og_src *s,
		const struct mm_machine *m)
{
	const struct api_op *op = &api_ops[og_below(s, api_nops)];
	struct og_rec r = {.order = -1};
	int32_t pids[MM_MAX_TASKS];

	static const char *const builtin[] = {"kmalloc-64", "kmalloc-1k",
					      "kmalloc-8", "vm_area_struct"};
	if (!g->ncaches)
		for (; g->ncaches < 4; g->ncaches++)
			snprintf(g->caches[g->ncaches], MM_SLAB_NAME_MAX, "%s",
				 builtin[g->ncaches]);
	/* a process op on a machine without processes: mostly spawn one */
	if (op->nargs && !strcmp(op->args[0].name, "pid") &&
	    !api_process_pids(m, pids) && !og__one_in(s, 4))
		op = api_op_find("spawn");
	json_t *rec = json_pack("{s:s}", "op", op->name);

	for (int k = 0; k < op->nargs; k++) {
		const struct api_arg *a = &op->args[k];
		if (!a->required && og_below(s, 2))
			continue;
		json_t *v = g->malformed && og__one_in(s, 48)
			? og__bad(s) : og__value(g, s, m, op, a, &r);
		json_object_set_new(rec, a->name, v);
	}
	if (g->malformed && og__one_in(s, 64))
		json_object_set_new(rec, "bogus", json_true());
	/* the frees mostly free what an allocation answered */
	static const struct {
		const char *op;
		enum og_kind kind;
	} frees[] = {{"kfree", OG_KMALLOC}, {"vfree", OG_VMALLOC},
		     {"kunmap", OG_KMAP}, {"kmemCacheFree", OG_OBJ}};
	for (size_t k = 0; k < sizeof(frees) / sizeof(frees[0]); k++) {
		unsigned i;
		if (strcmp(op->name, frees[k].op) || og__one_in(s, 4) ||
		    !og__pick(g, s, frees[k].kind, &i))
			continue;
		json_object_set_new(rec, "addr", og__hex(g->pool[frees[k].kind].v[i]));
		if (frees[k].kind == OG_OBJ)
			json_object_set_new(rec, "cache", json_string(
				g->caches[g->pool[OG_OBJ].aux[i]]));
	}
	return rec;
}

/* The kind of address an op's result "addr" is. */
static enum og_kind og__kind_of(const char *op)
{
	static const struct {
		const char *op;
		enum og_kind kind;
	} kinds[] = {{"kmalloc", OG_KMALLOC}, {"vmalloc", OG_VMALLOC},
		     {"kmap", OG_KMAP}, {"kmemCacheAlloc", OG_OBJ}};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(op, kinds[k].op))
			return kinds[k].kind;
	return OG_USER;
}

static unsigned og__cache_index(struct og_state *g, const char *name)
{
	for (unsigned k = 0; k < g->ncaches; k++)
		if (!strcmp(g->caches[k], name))
			return k;
	return 0;
}

void og_note(struct og_state *g, const json_t *rec, const json_t *result)
{
	static const char *const keys[] = {"addr", "brk", "start_brk", "stack",
					   NULL};
	const char *op = json_string_value(json_object_get(rec, "op"));
	const char *cache = json_string_value(json_object_get(rec, "cache"));
	uint64_t addr = 0;

	if (!op)
		return;
	for (int k = 0; keys[k]; k++) {
		const char *v = json_string_value(json_object_get(result, keys[k]));
		if (v)
			og__push(g, og__kind_of(op), strtoull(v, NULL, 16),
				 cache ? og__cache_index(g, cache) : 0);
	}
	const char *a = json_string_value(json_object_get(rec, "addr"));
	json_t *ai = json_object_get(rec, "addr");
	addr = a ? strtoull(a, NULL, 0) : (uint64_t)json_integer_value(ai);
	if (!strcmp(op, "allocPages"))
		og__push(g, OG_BLOCK, (uint64_t)json_integer_value(
				 json_object_get(result, "pfn")),
			 (uint32_t)json_integer_value(json_object_get(result, "order")));
	else if (!strcmp(op, "freePages"))
		og__forget(g, OG_BLOCK, (uint64_t)json_integer_value(
				   json_object_get(rec, "pfn")));
	else if (!strcmp(op, "kfree"))
		og__forget(g, OG_KMALLOC, addr);
	else if (!strcmp(op, "vfree"))
		og__forget(g, OG_VMALLOC, addr);
	else if (!strcmp(op, "kunmap"))
		og__forget(g, OG_KMAP, addr);
	else if (!strcmp(op, "kmemCacheFree"))
		og__forget(g, OG_OBJ, addr);
	else if (!strcmp(op, "kmemCacheCreate") && g->ncaches < 12)
		snprintf(g->caches[g->ncaches++], MM_SLAB_NAME_MAX, "%s",
			 json_string_value(json_object_get(rec, "name")));
}

int og_run(struct og_state *g, struct og_src *s, struct mm_machine *m,
	   uint64_t n, uint64_t check_every, uint64_t *applied)
{
	struct mm_violation v[16];
	char last[256] = "";

	for (uint64_t i = 0; i < n && og_more(s); i++) {
		json_t *rec = og_next(g, s, m), *result, *error;
		int st = api_op_apply(m, rec, &result, &error);
		if (st == 200) {
			og_note(g, rec, result);
			const struct api_op *op = api_op_find(json_string_value(
				json_object_get(rec, "op")));
			size_t k = (size_t)(op - api_ops);
			if (k < 64)
				g->op_ok[k]++;
		}
		g->answers[st == 200 ? 0 : st == 400 ? 1 : st == 404 ? 2 : 3]++;
		char *text = json_dumps(rec, JSON_COMPACT);
		if (g->trace && text && (st == 200 || st == 422))
			fprintf(g->trace, "%s\n", text); /* as a journal would */
		snprintf(last, sizeof(last), "%.200s -> %d", text ? text : "?", st);
		free(text);
		json_decref(rec);
		json_decref(result);
		json_decref(error);
		if (st != 200 && st != 400 && st != 404 && st != 422) {
			fprintf(stderr, "opgen: status %d for %s\n", st, last);
			return -1;
		}
		(*applied)++;
		bool last_one = i + 1 == n || !og_more(s);
		if ((check_every && *applied % check_every == 0) || last_one) {
			int nv = mm_check(m, v, 16);
			if (nv) {
				fprintf(stderr, "opgen: %d violation(s) after %llu "
					"operations, the last %s\n", nv,
					(unsigned long long)*applied, last);
				for (int k = 0; k < nv && k < 16; k++)
					fprintf(stderr, "  %s: %s\n", v[k].invariant,
						v[k].detail);
				return -1;
			}
		}
	}
	return 0;
}
