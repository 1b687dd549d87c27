/*
 * ops.c — the operation table: one schema-driven decoder, one applier, one
 * encoder per operation (SPEC §2, §4.1).
 *
 * Decoding is table-driven: each operation lists its arguments (name, wire
 * type, required, range); api_args_decode() walks the record's keys once,
 * rejecting unknown ones, then fills defaults and reports the first missing
 * required argument.  Keys are visited in the record's order (jansson keeps
 * insertion order), so error messages are deterministic.  Ranges that depend
 * on the machine (cpu < cpus) are checked by the op's check hook, before the
 * engine is touched, so a 400 never changes state.  An engine errno becomes
 * a 422 result.
 *
 * Adding an operation: write its args[] / results[] arrays and its
 * check/apply/encode functions, then add one row to api_ops[].  The HTTP
 * route, :batch, the journal and the OpenAPI document pick it up.  A
 * "{name}" segment of the row's path is an argument given in the path (a
 * cache name, a pid): its check hook answers API_CHECK_NOT_FOUND (→ 404)
 * when it names nothing, so an unknown id is never an errno result (an
 * unknown pid is 404, not ESRCH).
 *
 * Process ops take names, never numbers: prot is a triplet ("rw-"), mmap
 * flags and madvise advice are Linux's names (api/value.c), so a record
 * reads the same everywhere; all are checked before the engine runs.
 */
#include "api/ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the generic decoder -------------------------------------------------- */

static int api__decode_one(const struct api_arg *a, const json_t *v,
			   union api_value *out, struct api_error *err)
{
	switch (a->type) {
	case API_T_INT: {
		if (!json_is_integer(v))
			return api_fail(err, a->name, "%s: expected an integer",
					 a->name);
		json_int_t i = json_integer_value(v);
		if (i < a->lo || i > a->hi)
			return api_fail(err, a->name, "%s: %lld is outside "
					 "[%lld, %lld]", a->name, (long long)i,
					 (long long)a->lo, (long long)a->hi);
		out->i = i;
		return 0;
	}
	case API_T_SIZE:
	case API_T_ADDR:
		if ((a->type == API_T_SIZE ? api_parse_size : api_parse_addr)(
			    v, a->name, &out->u, err))
			return -1;
		if (a->uhi && out->u > a->uhi)
			return api_fail(err, a->name, "%s: %llu is larger than "
					 "%llu", a->name,
					 (unsigned long long)out->u,
					 (unsigned long long)a->uhi);
		return 0;
	case API_T_GFP:
		return api_parse_gfp(v, a->name, &out->gfp, err);
	case API_T_SLAB_FLAGS:
		return api_parse_slab_flags(v, a->name, &out->flags, err);
	case API_T_PROT:
		return api_parse_prot(v, a->name, &out->prot, err);
	case API_T_MAP_FLAGS:
		return api_parse_map_flags(v, a->name, &out->flags, err);
	case API_T_BASE64: {
		size_t len;
		if (api_parse_base64(v, a->name, &len, err))
			return -1;
		if (a->uhi && len > a->uhi)
			return api_fail(err, a->name, "%s: %zu bytes, more than "
					 "%llu", a->name, len,
					 (unsigned long long)a->uhi);
		out->s = json_string_value(v);
		return 0;
	}
	case API_T_ENUM: {
		if (json_is_string(v))
			for (int k = 0; a->names[k]; k++)
				if (!strcmp(a->names[k], json_string_value(v))) {
					out->i = k;
					return 0;
				}
		/* The message names the bad value, then the good ones. */
		char msg[240];
		size_t l = json_is_string(v)
			? (size_t)snprintf(msg, sizeof(msg), "\"%.40s\" is not "
					   "one of", json_string_value(v))
			: (size_t)snprintf(msg, sizeof(msg), "expected one of");
		for (int k = 0; a->names[k] && l < sizeof(msg); k++)
			l += (size_t)snprintf(msg + l, sizeof(msg) - l, "%s\"%s\"",
					      k ? ", " : " ", a->names[k]);
		return api_fail(err, a->name, "%s: %s", a->name, msg);
	}
	case API_T_INT_ARRAY: {
		if (!json_is_array(v))
			return api_fail(err, a->name, "%s: expected an array of "
					 "integers", a->name);
		if ((int64_t)json_array_size(v) > a->hi)
			return api_fail(err, a->name, "%s: more than %lld items",
					 a->name, (long long)a->hi);
		size_t k;
		json_t *e;
		json_array_foreach(v, k, e) {
			if (!json_is_integer(e) || json_integer_value(e) < 0 ||
			    (uint64_t)json_integer_value(e) > a->uhi)
				return api_fail(err, a->name, "%s[%zu]: expected an "
						 "integer in [0, %llu]", a->name, k,
						 (unsigned long long)a->uhi);
		}
		out->arr = v;
		return 0;
	}
	case API_T_STRING:
		if (!json_is_string(v))
			return api_fail(err, a->name, "%s: expected a string",
					 a->name);
		if ((int64_t)json_string_length(v) > a->hi)
			return api_fail(err, a->name, "%s: longer than %lld "
					 "bytes", a->name, (long long)a->hi);
		if (strlen(json_string_value(v)) != json_string_length(v))
			return api_fail(err, a->name, "%s: contains a NUL "
					 "character", a->name);
		out->s = json_string_value(v);
		return 0;
	case API_T_BOOL:
		if (!json_is_boolean(v))
			return api_fail(err, a->name, "%s: expected true or "
					 "false", a->name);
		out->i = json_is_true(v);
		return 0;
	}
	return api_fail(err, a->name, "%s: unsupported type", a->name);
}

/* strcmp() == 0, the first byte tested inline: the decoder compares each
 * key with every name of an op's table, and most differ there. */
static inline bool api__streq(const char *a, const char *b)
{
	return a[0] == b[0] && !strcmp(a, b);
}

int api_args_decode(const struct api_op *op, const json_t *obj, unsigned flags,
		    struct api_args *out, struct api_error *err)
{
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	out->op = op;
	if (!json_is_object(obj))
		return api_fail(err, "", "%s: the arguments must be a JSON "
				 "object", op->name);
	json_object_foreach((json_t *)obj, key, v) {
		int k;
		if (api__streq(key, "op"))
			continue;
		if ((flags & API_DECODE_JOURNAL) &&
		    (api__streq(key, "seq") || api__streq(key, "result") ||
		     api__streq(key, "error")))
			continue;
		for (k = 0; k < op->nargs; k++)
			if (api__streq(op->args[k].name, key))
				break;
		if (k == op->nargs)
			return api_fail(err, key, "%s: unknown field \"%.100s\"",
					 op->name, key);
		if (api__decode_one(&op->args[k], v, &out->v[k], err))
			return -1;
		out->present |= 1u << k;
	}
	for (int k = 0; k < op->nargs; k++) {
		const struct api_arg *a = &op->args[k];
		if (out->present & (1u << k))
			continue;
		if (a->required)
			return api_fail(err, a->name, "%s: \"%s\" is required",
					 op->name, a->name);
		out->v[k].i = a->dflt;
	}
	return 0;
}

const char *api_op_method(const struct api_op *op)
{
	return op->method ? op->method : "POST";
}

const struct api_op *api_op_find(const char *name)
{
	for (size_t i = 0; i < api_nops; i++)
		if (api__streq(api_ops[i].name, name))
			return &api_ops[i];
	return NULL;
}

int api_op_decode(const json_t *record, unsigned flags, struct api_args *out,
		  struct api_error *err)
{
	if (!json_is_object(record))
		return api_fail(err, "", "an operation record must be a JSON "
				 "object {\"op\": NAME, …}");
	json_t *name = json_object_get(record, "op");
	if (!name)
		return api_fail(err, "op", "op: \"op\" is required");
	if (!json_is_string(name))
		return api_fail(err, "op", "op: expected an operation name");
	const struct api_op *op = api_op_find(json_string_value(name));
	if (!op)
		return api_fail(err, "op", "op: unknown operation \"%.100s\"",
				 json_string_value(name));
	return api_args_decode(op, record, flags, out, err);
}

int api_op_apply(struct mm_machine *m, const json_t *record, json_t **result,
		 json_t **error)
{
	return api_op_apply_flags(m, record, 0, result, error);
}

int api_op_apply_flags(struct mm_machine *m, const json_t *record,
		       unsigned flags, json_t **result, json_t **error)
{
	struct api_args args;
	struct api_error err = {{0}, {0}};
	union api_result res;

	*result = NULL;
	*error = NULL;
	int chk = api_op_decode(record, flags, &args, &err);
	if (!chk && args.op->check)
		chk = args.op->check(m, &args, &err);
	if (chk == API_CHECK_NOT_FOUND) {
		/* details name the path id and its value: {"cache": "x"} */
		json_t *id = json_object_get(record, err.field);
		*error = api_error_new(404, NULL, json_pack("{s:O*}", err.field, id),
				       "%s", err.message);
		return 404;
	}
	if (chk) {
		*error = api_error_invalid(&err);
		return 400;
	}
	memset(&res, 0, sizeof(res));
	mm_event_op_begin(m);
	int rc = args.op->apply(m, &args, &res);
	mm_event_op_end(m, args.op->name, rc < 0 ? rc : 0);
	if (rc < 0)
		*error = api_error_errno(args.op->name, rc);
	else
		*result = args.op->encode(m, &args, &res);
	if (args.op->release)
		args.op->release(&res);
	return rc < 0 ? 422 : 200;
}

/* ---- shared argument helpers ------------------------------------------------ */

static int api__check_cpu(const struct mm_machine *m, int64_t cpu,
			  struct api_error *err)
{
	if (cpu >= m->cfg.cpus)
		return api_fail(err, "cpu", "cpu: %lld is outside [0, %d] (the "
				 "machine has %d cpus)", (long long)cpu,
				 m->cfg.cpus - 1, m->cfg.cpus);
	return 0;
}

/* ---- allocPages ------------------------------------------------------------ */

enum { ALLOC_ORDER, ALLOC_GFP, ALLOC_CPU, ALLOC_NODE };
static const struct api_arg api_alloc_pages_args[] = {
	[ALLOC_ORDER] = {"order", API_T_INT, true, 0, MM_MAX_ORDER, 0, NULL, 0,
			 "block of 2^order pages (0..10)"},
	[ALLOC_GFP] = {"gfp", API_T_GFP, true, 0, 0, 0, NULL, 0,
		       "GFP flag names, e.g. [\"GFP_KERNEL\"]"},
	[ALLOC_CPU] = {"cpu", API_T_INT, false, 0, MM_MAX_CPUS - 1, 0, NULL, 0,
		       "CPU whose per-CPU lists serve order-0 requests (default 0)"},
	[ALLOC_NODE] = {"node", API_T_INT, false, -1, MM_MAX_NODES - 1, 0, NULL,
			-1, "preferred NUMA node (default: the cpu's node)"},
};
static const struct api_field api_alloc_pages_results[] = {
	{"pfn", "integer", "first page frame of the block"},
	{"order", "integer", "the block's order"},
	{"zone", "string", "zone it came from (\"DMA32\", \"Normal\", …)"},
	{"node", "integer", "NUMA node it came from"},
};

static int api__alloc_pages_check(const struct mm_machine *m,
				  const struct api_args *a, struct api_error *err)
{
	if (api__check_cpu(m, a->v[ALLOC_CPU].i, err))
		return -1;
	if (a->v[ALLOC_NODE].i >= m->nr_nodes)
		return api_fail(err, "node", "node: %lld is outside [0, %d] "
				 "(the machine has %d nodes)",
				 (long long)a->v[ALLOC_NODE].i, m->nr_nodes - 1,
				 m->nr_nodes);
	return 0;
}

static int api__alloc_pages(struct mm_machine *m, const struct api_args *a,
			    union api_result *res)
{
	res->alloc_pages.order = (unsigned)a->v[ALLOC_ORDER].i;
	return mm_alloc_pages(m, a->v[ALLOC_GFP].gfp, res->alloc_pages.order,
			      (int)a->v[ALLOC_CPU].i, (int)a->v[ALLOC_NODE].i,
			      &res->alloc_pages.r);
}

static json_t *api__alloc_pages_encode(const struct mm_machine *m,
				       const struct api_args *a,
				       const union api_result *res)
{
	const struct mm_alloc_result *r = &res->alloc_pages.r;
	return json_pack("{s:I, s:i, s:s, s:i}", "pfn", (json_int_t)r->pfn,
			 "order", (int)res->alloc_pages.order, "zone",
			 mm_zone_type_name(m->cfg.arch, r->zone), "node", r->node);
}

/* ---- freePages -------------------------------------------------------------- */

enum { FREE_PFN, FREE_ORDER, FREE_CPU };
static const struct api_arg api_free_pages_args[] = {
	[FREE_PFN] = {"pfn", API_T_INT, true, 0, UINT32_MAX - 1, 0, NULL, 0,
		      "first frame of a block returned by allocPages"},
	[FREE_ORDER] = {"order", API_T_INT, true, 0, MM_MAX_ORDER, 0, NULL, 0,
			"the order it was allocated with"},
	[FREE_CPU] = {"cpu", API_T_INT, false, 0, MM_MAX_CPUS - 1, 0, NULL, 0,
		      "CPU whose per-CPU list takes an order-0 page (default 0)"},
};

static int api__free_pages_check(const struct mm_machine *m,
				 const struct api_args *a, struct api_error *err)
{
	if (a->v[FREE_PFN].i >= m->nr_pfns)
		return api_fail(err, "pfn", "pfn: %lld is outside [0, %u] (the "
				 "machine's frames)", (long long)a->v[FREE_PFN].i,
				 m->nr_pfns - 1);
	return api__check_cpu(m, a->v[FREE_CPU].i, err);
}

static int api__free_pages(struct mm_machine *m, const struct api_args *a,
			   union api_result *res)
{
	(void)res;
	return mm_free_pages(m, (uint32_t)a->v[FREE_PFN].i,
			     (unsigned)a->v[FREE_ORDER].i, (int)a->v[FREE_CPU].i);
}

static json_t *api__empty_encode(const struct mm_machine *m,
				 const struct api_args *a,
				 const union api_result *res)
{
	(void)m;
	(void)a;
	(void)res;
	return json_object();
}

/* ---- kernel allocators: shared pieces ------------------------------------ */

#define API_ARG_CPU(what)                                                     \
	{"cpu", API_T_INT, false, 0, MM_MAX_CPUS - 1, 0, NULL, 0,            \
	 "CPU " what " (default 0)"}
#define API_ARG_CACHE                                                         \
	{"cache", API_T_STRING, true, 0, 255, 0, NULL, 0,                    \
	 "cache name (path id), e.g. \"kmalloc-64\"; 404 if none has it"}

static const struct api_field api_addr_results[] = {
	{"addr", "string", "kernel virtual address, lowercase hex \"0x…\""},
};

static json_t *api__addr_encode(const struct mm_machine *m,
				const struct api_args *a,
				const union api_result *res)
{
	(void)m;
	(void)a;
	return json_pack("{s:o}", "addr", api_hex(res->addr));
}

/* A path id "cache" that names no cache → 404 (API_CHECK_NOT_FOUND). */
static int api__check_cache(const struct mm_machine *m, const char *name,
			    struct api_error *err)
{
	if (mm_kmem_cache_lookup(m, name) >= 0)
		return 0;
	api_fail(err, "cache", "cache: no kmem cache \"%.60s\"", name);
	return API_CHECK_NOT_FOUND;
}

/* ---- kmalloc / kfree ----------------------------------------------------- */

enum { KMALLOC_SIZE, KMALLOC_GFP, KMALLOC_CPU };
static const struct api_arg api_kmalloc_args[] = {
	[KMALLOC_SIZE] = {"size", API_T_SIZE, true, 0, 0, API_SIZE_MAX, NULL, 0,
			  "bytes (\"64\", \"8K\"): up to 8 KiB from kmalloc-<size>, "
			  "above from the buddy (kmalloc_large; over 4 MiB "
			  "ENOMEM); 0 answers ZERO_SIZE_PTR (0x10)"},
	[KMALLOC_GFP] = {"gfp", API_T_GFP, true, 0, 0, 0, NULL, 0,
			 "GFP flag names; __GFP_DMA picks dma-kmalloc-*, "
			 "__GFP_RECLAIMABLE kmalloc-rcl-*, __GFP_ACCOUNT "
			 "kmalloc-cg-*"},
	[KMALLOC_CPU] = API_ARG_CPU("whose per-CPU slab serves it"),
};
static const struct api_field api_kmalloc_results[] = {
	{"addr", "string", "the object's address, lowercase hex \"0x…\""},
	{"cache", "string|null", "the kmalloc cache it came from; null for "
	 "kmalloc_large and size 0"},
};

static int api__kmalloc_check(const struct mm_machine *m,
			      const struct api_args *a, struct api_error *err)
{
	return api__check_cpu(m, a->v[KMALLOC_CPU].i, err);
}

static int api__kmalloc(struct mm_machine *m, const struct api_args *a,
			union api_result *res)
{
	return mm_kmalloc(m, a->v[KMALLOC_SIZE].u, a->v[KMALLOC_GFP].gfp,
			  (int)a->v[KMALLOC_CPU].i, &res->kmalloc.addr,
			  &res->kmalloc.cache);
}

static json_t *api__kmalloc_encode(const struct mm_machine *m,
				   const struct api_args *a,
				   const union api_result *res)
{
	int id = res->kmalloc.cache;
	(void)a;
	return json_pack("{s:o, s:o}", "addr", api_hex(res->kmalloc.addr),
			 "cache", id >= 0 ? json_string(m->caches[id]->name)
					  : json_null());
}

enum { KFREE_ADDR, KFREE_CPU };
static const struct api_arg api_kfree_args[] = {
	[KFREE_ADDR] = {"addr", API_T_ADDR, true, 0, 0, 0, NULL, 0,
			"an address kmalloc answered (0 and 0x10 are no-ops)"},
	[KFREE_CPU] = API_ARG_CPU("whose per-CPU slab takes it back"),
};

static int api__kfree_check(const struct mm_machine *m,
			    const struct api_args *a, struct api_error *err)
{
	return api__check_cpu(m, a->v[KFREE_CPU].i, err);
}

static int api__kfree(struct mm_machine *m, const struct api_args *a,
		      union api_result *res)
{
	(void)res;
	return mm_kfree(m, a->v[KFREE_ADDR].u, (int)a->v[KFREE_CPU].i);
}

/* ---- vmalloc / vfree ----------------------------------------------------- */

enum { VMALLOC_SIZE, VMALLOC_CPU };
static const struct api_arg api_vmalloc_args[] = {
	[VMALLOC_SIZE] = {"size", API_T_SIZE, true, 0, 0, API_SIZE_MAX, NULL, 0,
			  "bytes, rounded up to pages; a guard page follows"},
	[VMALLOC_CPU] = API_ARG_CPU("whose per-CPU lists give the pages"),
};

static int api__vmalloc_check(const struct mm_machine *m,
			      const struct api_args *a, struct api_error *err)
{
	return api__check_cpu(m, a->v[VMALLOC_CPU].i, err);
}

static int api__vmalloc(struct mm_machine *m, const struct api_args *a,
			union api_result *res)
{
	return mm_vmalloc(m, a->v[VMALLOC_SIZE].u, (int)a->v[VMALLOC_CPU].i,
			  &res->addr);
}

enum { VFREE_ADDR, VFREE_CPU };
static const struct api_arg api_vfree_args[] = {
	[VFREE_ADDR] = {"addr", API_T_ADDR, true, 0, 0, 0, NULL, 0,
			"the start of a vmalloc area (0 is a no-op)"},
	[VFREE_CPU] = API_ARG_CPU("whose per-CPU lists take the pages"),
};

static int api__vfree_check(const struct mm_machine *m,
			    const struct api_args *a, struct api_error *err)
{
	return api__check_cpu(m, a->v[VFREE_CPU].i, err);
}

static int api__vfree(struct mm_machine *m, const struct api_args *a,
		      union api_result *res)
{
	(void)res;
	return mm_vfree(m, a->v[VFREE_ADDR].u, (int)a->v[VFREE_CPU].i);
}

/* ---- kmap / kunmap ------------------------------------------------------- */

enum { KMAP_PFN };
static const struct api_arg api_kmap_args[] = {
	[KMAP_PFN] = {"pfn", API_T_INT, true, 0, UINT32_MAX - 1, 0, NULL, 0,
		      "frame to map: lowmem answers its direct-map address, an "
		      "i386 HighMem frame a pkmap slot"},
};

static int api__kmap_check(const struct mm_machine *m,
			   const struct api_args *a, struct api_error *err)
{
	if (a->v[KMAP_PFN].i >= m->nr_pfns)
		return api_fail(err, "pfn", "pfn: %lld is outside [0, %u] (the "
				 "machine's frames)", (long long)a->v[KMAP_PFN].i,
				 m->nr_pfns - 1);
	return 0;
}

static int api__kmap(struct mm_machine *m, const struct api_args *a,
		     union api_result *res)
{
	return mm_kmap(m, (uint32_t)a->v[KMAP_PFN].i, &res->addr);
}

enum { KUNMAP_ADDR };
static const struct api_arg api_kunmap_args[] = {
	[KUNMAP_ADDR] = {"addr", API_T_ADDR, true, 0, 0, 0, NULL, 0,
			 "an address kmap answered"},
};

static int api__kunmap(struct mm_machine *m, const struct api_args *a,
		       union api_result *res)
{
	(void)res;
	return mm_kunmap(m, a->v[KUNMAP_ADDR].u);
}

/* ---- kmem caches --------------------------------------------------------- */

enum { CCREATE_NAME, CCREATE_SIZE, CCREATE_ALIGN, CCREATE_FLAGS };
static const struct api_arg api_cache_create_args[] = {
	[CCREATE_NAME] = {"name", API_T_STRING, true, 0, MM_SLAB_NAME_MAX - 1, 0,
			  NULL, 0, "cache name: printable ASCII without spaces, "
			  "'/' or ':' (it becomes a path id)"},
	[CCREATE_SIZE] = {"size", API_T_SIZE, true, 0, 0, UINT32_MAX, NULL, 0,
			  "object size in bytes (1 .. 4 MiB, else EINVAL)"},
	[CCREATE_ALIGN] = {"align", API_T_INT, false, 0, UINT32_MAX, 0, NULL, 0,
			   "alignment: 0 (the minimum) or a power of two up to "
			   "4096 (else EINVAL)"},
	[CCREATE_FLAGS] = {"flags", API_T_SLAB_FLAGS, false, 0, 0, 0, NULL, 0,
			   "SLAB_* flag names, e.g. [\"SLAB_HWCACHE_ALIGN\"]"},
};
static const struct api_field api_cache_results[] = {
	{"name", "string", "cache name"},
	{"object_size", "integer", "object size as asked"},
	{"size", "integer", "object stride (slabinfo's objsize)"},
	{"align", "integer", "effective alignment"},
	{"objects_per_slab", "integer", "objects per slab"},
	{"pages_per_slab", "integer", "frames per slab (2^order)"},
	{"order", "integer", "slab order chosen as SLUB's calculate_order()"},
	{"flags", "array", "SLAB_* flag names"},
	{"builtin", "boolean", "a kmalloc or engine cache (cannot be destroyed)"},
	{"active_objs", "integer", "objects not free on node partial slabs, as "
	 "/proc/slabinfo counts them"},
	{"num_objs", "integer", "objects of every slab"},
	{"slabs", "integer", "slabs"},
};

static int api__cache_create_check(const struct mm_machine *m,
				   const struct api_args *a,
				   struct api_error *err)
{
	const char *name = a->v[CCREATE_NAME].s;

	(void)m;
	if (!*name)
		return api_fail(err, "name", "name: must not be empty");
	for (const char *p = name; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '/' || *p == ':')
			return api_fail(err, "name", "name: \"%.40s\" has a "
					 "character other than printable ASCII "
					 "without spaces, '/' and ':'", name);
	return 0;
}

static int api__cache_create(struct mm_machine *m, const struct api_args *a,
			     union api_result *res)
{
	int rc = mm_kmem_cache_create(m, a->v[CCREATE_NAME].s,
				      (uint32_t)a->v[CCREATE_SIZE].u,
				      (uint32_t)a->v[CCREATE_ALIGN].i,
				      a->v[CCREATE_FLAGS].flags);
	if (rc < 0)
		return rc;
	res->cache = rc;
	return 0;
}

static json_t *api__cache_encode(const struct mm_machine *m,
				 const struct api_args *a,
				 const union api_result *res)
{
	(void)a;
	return api_kmem_cache_json(m, res->cache);
}

/* The ops below take the cache from the path: args[0] is "cache". */
enum { CACHE_NAME };

static int api__cache_check(const struct mm_machine *m,
			    const struct api_args *a, struct api_error *err)
{
	return api__check_cache(m, a->v[CACHE_NAME].s, err);
}

/* The checked path id's cache id. */
static int api__cache_id(const struct mm_machine *m, const struct api_args *a)
{
	return mm_kmem_cache_lookup(m, a->v[CACHE_NAME].s);
}

static const struct api_arg api_cache_args[] = {
	[CACHE_NAME] = API_ARG_CACHE,
};

static int api__cache_destroy(struct mm_machine *m, const struct api_args *a,
			      union api_result *res)
{
	(void)res;
	return mm_kmem_cache_destroy(m, api__cache_id(m, a));
}

static int api__cache_shrink(struct mm_machine *m, const struct api_args *a,
			     union api_result *res)
{
	int rc = mm_kmem_cache_shrink(m, api__cache_id(m, a));
	if (rc < 0)
		return rc;
	res->freed = rc;
	return 0;
}

static const struct api_field api_cache_shrink_results[] = {
	{"freed", "integer", "pages given back to the buddy allocator"},
};

static json_t *api__cache_shrink_encode(const struct mm_machine *m,
					const struct api_args *a,
					const union api_result *res)
{
	(void)m;
	(void)a;
	return json_pack("{s:i}", "freed", res->freed);
}

enum { CALLOC_GFP = CACHE_NAME + 1, CALLOC_CPU };
static const struct api_arg api_cache_alloc_args[] = {
	[CACHE_NAME] = API_ARG_CACHE,
	[CALLOC_GFP] = {"gfp", API_T_GFP, true, 0, 0, 0, NULL, 0,
			"GFP flag names for a new slab, e.g. [\"GFP_KERNEL\"]"},
	[CALLOC_CPU] = API_ARG_CPU("whose per-CPU slab serves it"),
};

static int api__cache_alloc_check(const struct mm_machine *m,
				  const struct api_args *a,
				  struct api_error *err)
{
	int rc = api__check_cache(m, a->v[CACHE_NAME].s, err);
	return rc ? rc : api__check_cpu(m, a->v[CALLOC_CPU].i, err);
}

static int api__cache_alloc(struct mm_machine *m, const struct api_args *a,
			    union api_result *res)
{
	return mm_kmem_cache_alloc(m, api__cache_id(m, a), a->v[CALLOC_GFP].gfp,
				   (int)a->v[CALLOC_CPU].i, &res->addr);
}

enum { CFREE_ADDR = CACHE_NAME + 1, CFREE_CPU };
static const struct api_arg api_cache_free_args[] = {
	[CACHE_NAME] = API_ARG_CACHE,
	[CFREE_ADDR] = {"addr", API_T_ADDR, true, 0, 0, 0, NULL, 0,
			"an object this cache's :alloc answered"},
	[CFREE_CPU] = API_ARG_CPU("whose per-CPU slab takes it back"),
};

static int api__cache_free_check(const struct mm_machine *m,
				 const struct api_args *a, struct api_error *err)
{
	int rc = api__check_cache(m, a->v[CACHE_NAME].s, err);
	return rc ? rc : api__check_cpu(m, a->v[CFREE_CPU].i, err);
}

static int api__cache_free(struct mm_machine *m, const struct api_args *a,
			   union api_result *res)
{
	(void)res;
	return mm_kmem_cache_free(m, api__cache_id(m, a), a->v[CFREE_ADDR].u,
				  (int)a->v[CFREE_CPU].i);
}

/* ---- processes and address spaces ---------------------------------------- */

/* TASK_COMM_LEN - 1: the longest name /proc/PID/status shows. */
#define API_COMM_MAX 15

#define API_ARG_PID                                                           \
	{"pid", API_T_INT, true, 1, INT32_MAX, 0, NULL, 0,                   \
	 "process id (path id); 404 if no live process has it"}
#define API_ARG_RANGE_ADDR(what)                                              \
	{"addr", API_T_ADDR, true, 0, 0, 0, NULL, 0,                         \
	 "start of the range" what ", page aligned (else EINVAL)"}
#define API_ARG_LENGTH                                                        \
	{"length", API_T_SIZE, true, 0, 0, 0, NULL, 0,                       \
	 "bytes (\"64K\"), rounded up to whole pages"}

/* The ops below take the process from the path: args[0] is "pid". */
enum { PROC_PID };

/* A path id "pid" that names no live process → 404 (API_CHECK_NOT_FOUND):
 * a pid is an id of the path, never an ESRCH result. */
static int api__pid_check(const struct mm_machine *m, const struct api_args *a,
			  struct api_error *err)
{
	if (mm_task_get(m, (int)a->v[PROC_PID].i))
		return 0;
	api_fail(err, "pid", "pid: no process %lld",
		  (long long)a->v[PROC_PID].i);
	return API_CHECK_NOT_FOUND;
}

static int api__pid(const struct api_args *a)
{
	return (int)a->v[PROC_PID].i;
}

static const struct api_field api_pid_results[] = {
	{"pid", "integer", "the new process's pid"},
};

static json_t *api__pid_encode(const struct mm_machine *m,
			       const struct api_args *a,
			       const union api_result *res)
{
	(void)m;
	(void)a;
	return json_pack("{s:i}", "pid", res->pid);
}

/* spawn */
enum { SPAWN_NAME, SPAWN_RSS_LIMIT, SPAWN_OOM_ADJ, SPAWN_CPU };
static const struct api_arg api_spawn_args[] = {
	[SPAWN_NAME] = {"name", API_T_STRING, false, 0, API_COMM_MAX, 0, NULL, 0,
			"its comm (Name: in /proc/PID/status): 1 to 15 printable "
			"ASCII characters (TASK_COMM_LEN); default \"proc\""},
	[SPAWN_RSS_LIMIT] = {"rss_limit_pages", API_T_INT, false, -1, UINT32_MAX,
			     0, NULL, -1, "resident-set limit in pages for the "
			     "paging-policy experiments (-1, the default: none): "
			     "the trace operation keeps at most this many of its "
			     "pages resident"},
	[SPAWN_OOM_ADJ] = {"oom_score_adj", API_T_INT, false, -1000, 1000, 0,
			   NULL, 0, "/proc/PID/oom_score_adj: added to the OOM "
			   "killer's badness"},
	[SPAWN_CPU] = {"cpu", API_T_INT, false, -1, MM_MAX_CPUS - 1, 0, NULL, -1,
		       "CPU it runs on (its per-CPU lists and slabs serve it); "
		       "-1, the default: pid % cpus"},
};

static int api__spawn_check(const struct mm_machine *m,
			    const struct api_args *a, struct api_error *err)
{
	if (a->present & (1u << SPAWN_NAME)) {
		const char *name = a->v[SPAWN_NAME].s;
		if (!*name)
			return api_fail(err, "name", "name: must not be empty");
		for (const char *p = name; *p; p++)
			if (*p < ' ' || *p > '~')
				return api_fail(err, "name", "name: \"%.40s\" has "
						 "a character other than printable "
						 "ASCII", name);
	}
	return api__check_cpu(m, a->v[SPAWN_CPU].i, err);
}

static int api__spawn(struct mm_machine *m, const struct api_args *a,
		      union api_result *res)
{
	const char *name = (a->present & (1u << SPAWN_NAME)) ? a->v[SPAWN_NAME].s
							    : NULL;
	int rc = mm_spawn(m, name, (int)a->v[SPAWN_CPU].i, &res->pid);
	if (rc)
		return rc;
	/* Ranges were checked by the schema: the setters cannot fail. */
	mm_set_rss_limit(m, res->pid, a->v[SPAWN_RSS_LIMIT].i);
	mm_set_oom_score_adj(m, res->pid, (int)a->v[SPAWN_OOM_ADJ].i);
	return 0;
}

/* fork, exit */
static const struct api_arg api_pid_args[] = {
	[PROC_PID] = API_ARG_PID,
};

static int api__fork(struct mm_machine *m, const struct api_args *a,
		     union api_result *res)
{
	return mm_fork(m, api__pid(a), &res->pid);
}

enum { EXIT_STATUS = PROC_PID + 1 };
static const struct api_arg api_exit_args[] = {
	[PROC_PID] = API_ARG_PID,
	[EXIT_STATUS] = {"status", API_T_INT, false, 0, 255, 0, NULL, 0,
			 "exit status (default 0)"},
};

static int api__exit(struct mm_machine *m, const struct api_args *a,
		     union api_result *res)
{
	(void)res;
	return mm_exit(m, api__pid(a), (int)a->v[EXIT_STATUS].i);
}

/* exec */
enum { EXEC_ELF = PROC_PID + 1 };
static const struct api_arg api_exec_args[] = {
	[PROC_PID] = API_ARG_PID,
	[EXEC_ELF] = {"elf", API_T_BASE64, true, 0, 0, 0, NULL, 0,
		      "the image, base64 (standard alphabet, no line breaks): a "
		      "static ELF64 x86_64 (or ELF32 i386) ET_EXEC or static-PIE "
		      "executable; anything else is ENOEXEC"},
};
static const struct api_field api_exec_results[] = {
	{"entry", "string", "entry point, lowercase hex"},
	{"start_brk", "string", "start of the heap (brk), lowercase hex"},
	{"stack", "string", "initial stack pointer, inside [stack], lowercase "
	 "hex"},
};

static int api__exec(struct mm_machine *m, const struct api_args *a,
		     union api_result *res)
{
	const char *b64 = a->v[EXEC_ELF].s;
	size_t n = strlen(b64);
	/* Host memory for the decoded image: the body limit bounds it.  A
	 * host allocation failure is answered as the kernel would answer
	 * its own (ENOMEM), before anything changed. */
	uint8_t *img = malloc(n / 4 * 3 + 3);
	if (!img)
		return -MM_ENOMEM;
	size_t len = api_base64_decode(b64, img);
	int rc = mm_exec(m, api__pid(a), img, len, &res->exec);
	free(img);
	return rc;
}

static json_t *api__exec_encode(const struct mm_machine *m,
				const struct api_args *a,
				const union api_result *res)
{
	(void)m;
	(void)a;
	return json_pack("{s:o, s:o, s:o}", "entry", api_hex(res->exec.entry),
			 "start_brk", api_hex(res->exec.start_brk), "stack",
			 api_hex(res->exec.stack));
}

/* mmap */
enum { MMAP_ADDR = PROC_PID + 1, MMAP_LENGTH, MMAP_PROT, MMAP_FLAGS, MMAP_FILE,
       MMAP_OFFSET };
static const struct api_arg api_mmap_args[] = {
	[PROC_PID] = API_ARG_PID,
	[MMAP_ADDR] = {"addr", API_T_ADDR, false, 0, 0, 0, NULL, 0,
		       "a hint (default 0: the kernel chooses, top-down below "
		       "mmap_base), or the address itself with MAP_FIXED / "
		       "MAP_FIXED_NOREPLACE"},
	[MMAP_LENGTH] = {"length", API_T_SIZE, true, 0, 0, 0, NULL, 0,
			 "bytes (\"64K\"), rounded up to whole pages; 0 is "
			 "EINVAL"},
	[MMAP_PROT] = {"prot", API_T_PROT, true, 0, 0, 0, NULL, 0,
		       "protection triplet [r-][w-][x-]: \"rw-\", \"r-x\", "
		       "\"---\" (PROT_NONE); raw PROT_* numbers are not accepted"},
	[MMAP_FLAGS] = {"flags", API_T_MAP_FLAGS, true, 0, 0, 0, NULL, 0,
			"MAP_* names, e.g. [\"MAP_PRIVATE\", \"MAP_ANONYMOUS\"]; "
			"neither MAP_SHARED nor MAP_PRIVATE is EINVAL; without "
			"MAP_ANONYMOUS \"file\" names the file (EBADF if none); "
			"raw numbers are not accepted"},
	[MMAP_FILE] = {"file", API_T_STRING, false, 0, 255, 0, NULL, 0,
		       "name of an in-memory file to map (createFile); an "
		       "unknown name is EBADF; ignored with MAP_ANONYMOUS"},
	[MMAP_OFFSET] = {"offset", API_T_SIZE, false, 0, 0, 0, NULL, 0,
			 "file offset in bytes, a multiple of the page size "
			 "(else EINVAL); default 0"},
};
static const struct api_field api_mmap_results[] = {
	{"addr", "string", "start of the new mapping, lowercase hex"},
};

static int api__mmap(struct mm_machine *m, const struct api_args *a,
		     union api_result *res)
{
	/* An unknown name is Linux's answer to a descriptor that is not
	 * open: EBADF (a file mapping without one too). */
	int file = (a->present & (1u << MMAP_FILE))
			   ? mm_file_lookup(m, a->v[MMAP_FILE].s) : -1;
	return mm_mmap(m, api__pid(a), a->v[MMAP_ADDR].u, a->v[MMAP_LENGTH].u,
		       a->v[MMAP_PROT].prot, (int)a->v[MMAP_FLAGS].flags,
		       file < 0 ? -1 : file, a->v[MMAP_OFFSET].u, &res->addr);
}

static json_t *api__mmap_encode(const struct mm_machine *m,
				const struct api_args *a,
				const union api_result *res)
{
	(void)m;
	(void)a;
	return json_pack("{s:o}", "addr", api_hex(res->addr));
}

/* munmap, mlock, munlock: a range */
enum { RANGE_ADDR = PROC_PID + 1, RANGE_LENGTH };
static const struct api_arg api_range_args[] = {
	[PROC_PID] = API_ARG_PID,
	[RANGE_ADDR] = API_ARG_RANGE_ADDR(""),
	[RANGE_LENGTH] = API_ARG_LENGTH,
};

static int api__munmap(struct mm_machine *m, const struct api_args *a,
		       union api_result *res)
{
	(void)res;
	return mm_munmap(m, api__pid(a), a->v[RANGE_ADDR].u,
			 a->v[RANGE_LENGTH].u);
}

static const struct api_field api_mlock_results[] = {
	{"minor", "integer", "minor faults of populating the range (counted "
	 "in the process's min_flt, as GUP faults are)"},
	{"major", "integer", "major faults of populating the range"},
};

static int api__mlock(struct mm_machine *m, const struct api_args *a,
		      union api_result *res)
{
	const struct mm_task *t = mm_task_get(m, api__pid(a));
	uint64_t min0 = t ? t->min_flt : 0, maj0 = t ? t->maj_flt : 0;
	int rc = mm_mlock(m, api__pid(a), a->v[RANGE_ADDR].u,
			  a->v[RANGE_LENGTH].u);
	t = mm_task_get(m, api__pid(a));
	res->faults.minor = t ? t->min_flt - min0 : 0;
	res->faults.major = t ? t->maj_flt - maj0 : 0;
	return rc;
}

static json_t *api__mlock_encode(const struct mm_machine *m,
				 const struct api_args *a,
				 const union api_result *res)
{
	(void)m;
	(void)a;
	return json_pack("{s:I, s:I}", "minor", (json_int_t)res->faults.minor,
			 "major", (json_int_t)res->faults.major);
}

/* touch */
static const char *const api_access_names[] = {"read", "write", "exec", NULL};
enum { TOUCH_ACCESS = RANGE_LENGTH + 1 };
static const struct api_arg api_touch_args[] = {
	[PROC_PID] = API_ARG_PID,
	[RANGE_ADDR] = API_ARG_RANGE_ADDR(""),
	[RANGE_LENGTH] = API_ARG_LENGTH,
	[TOUCH_ACCESS] = {"access", API_T_ENUM, true, 0, 0, 0, api_access_names, 0,
			  "\"read\", \"write\" or \"exec\": one access at addr "
			  "and at the first byte of every following page below "
			  "addr + length"},
};
static const struct api_field api_touch_results[] = {
	{"pages", "integer", "accesses completed"},
	{"minor", "integer", "minor faults taken"},
	{"major", "integer", "major faults taken"},
	{"cow", "integer", "write-protect faults that copied a page (zero page "
	 "included)"},
	{"zero", "integer", "read faults that mapped the shared zero page"},
	{"signal", "object", "null, or {\"name\", \"code\", \"addr\"} of the "
	 "fatal signal (SIGSEGV SEGV_MAPERR/SEGV_ACCERR; SIGBUS BUS_ADRERR: "
	 "a file page past EOF; SIGKILL SI_KERNEL when the OOM killer chose "
	 "this process); the process was killed and its memory freed"},
};

static int api__touch(struct mm_machine *m, const struct api_args *a,
		      union api_result *res)
{
	int rc = mm_touch(m, api__pid(a), a->v[RANGE_ADDR].u,
			  a->v[RANGE_LENGTH].u,
			  (enum mm_access)a->v[TOUCH_ACCESS].i, &res->touch);
	/* exec images and special mappings are not faulted */
	return rc == -MM_ENODEV ? -MM_EINVAL : rc;
}

static json_t *api__touch_encode(const struct mm_machine *m,
				 const struct api_args *a,
				 const union api_result *res)
{
	const struct mm_touch_result *t = &res->touch;
	json_t *sig = json_null();

	(void)m;
	(void)a;
	if (t->signal.signo)
		sig = json_pack("{s:s, s:s, s:o}", "name", t->signal.name, "code",
				t->signal.code_name, "addr", api_hex(t->signal.addr));
	/* Built key by key: json_pack's format parsing was a third of this
	 * result's cost in `mmsim run` (one touch in seven records). */
	json_t *r = json_object();
	json_object_set_new(r, "pages", json_integer((json_int_t)t->pages));
	json_object_set_new(r, "minor", json_integer((json_int_t)t->minor));
	json_object_set_new(r, "major", json_integer((json_int_t)t->major));
	json_object_set_new(r, "cow", json_integer((json_int_t)t->cow));
	json_object_set_new(r, "zero", json_integer((json_int_t)t->zero));
	json_object_set_new(r, "signal", sig);
	return r;
}

/* write, read: bytes at any address */
enum { IO_ADDR = PROC_PID + 1, IO_DATA, IO_LENGTH = IO_DATA };
#define API_ARG_IO_ADDR                                                       \
	{"addr", API_T_ADDR, true, 0, 0, 0, NULL, 0,                         \
	 "first byte (any alignment); each page from there faults as a user " \
	 "access would"}
static const struct api_arg api_write_args[] = {
	[PROC_PID] = API_ARG_PID,
	[IO_ADDR] = API_ARG_IO_ADDR,
	[IO_DATA] = {"data", API_T_BASE64, true, 0, 0, API_IO_MAX, NULL, 0,
		     "the bytes, base64 (standard alphabet), at most 64 KiB"},
};
static const struct api_arg api_read_args[] = {
	[PROC_PID] = API_ARG_PID,
	[IO_ADDR] = API_ARG_IO_ADDR,
	[IO_LENGTH] = {"length", API_T_SIZE, true, 0, 0, API_IO_MAX, NULL, 0,
		       "bytes to read (\"4K\"), at most 64 KiB"},
};
#define API_IO_RESULTS                                                        \
	{"pages", "integer", "pages accessed"},                              \
	{"minor", "integer", "minor faults taken"},                          \
	{"major", "integer", "major faults taken"},                          \
	{"cow", "integer", "write-protect faults that copied a page"},       \
	{"zero", "integer", "read faults that mapped the shared zero page"}, \
	{"signal", "object", "null, or {\"name\", \"code\", \"addr\"}: the "  \
	 "access stopped at addr (bytes before it were moved) and the "      \
	 "process was killed"}
static const struct api_field api_write_results[] = {API_IO_RESULTS};
static const struct api_field api_read_results[] = {
	API_IO_RESULTS,
	{"data", "string", "base64 of the bytes read (up to the signal's "
	 "address when one stopped the read)"},
};

static int api__write(struct mm_machine *m, const struct api_args *a,
		      union api_result *res)
{
	const char *b64 = a->v[IO_DATA].s;
	uint8_t *buf = malloc(strlen(b64) / 4 * 3 + 3);

	if (!buf)
		return -MM_ENOMEM;
	size_t len = api_base64_decode(b64, buf);
	int rc = mm_write(m, api__pid(a), a->v[IO_ADDR].u, buf, len,
			  &res->io.touch);
	free(buf);
	return rc == -MM_ENODEV ? -MM_EINVAL : rc;
}

static int api__read(struct mm_machine *m, const struct api_args *a,
		     union api_result *res)
{
	uint64_t addr = a->v[IO_ADDR].u, len = a->v[IO_LENGTH].u;

	res->io.data = malloc(len ? len : 1);
	if (!res->io.data)
		return -MM_ENOMEM;
	int rc = mm_read(m, api__pid(a), addr, res->io.data, len,
			 &res->io.touch);
	const struct mm_touch_result *t = &res->io.touch;
	res->io.len = t->signal.signo ? t->signal.addr - addr : len;
	return rc == -MM_ENODEV ? -MM_EINVAL : rc;
}

static void api__io_release(union api_result *res)
{
	free(res->io.data);
}

static json_t *api__read_encode(const struct mm_machine *m,
				const struct api_args *a,
				const union api_result *res)
{
	json_t *r = api__touch_encode(m, a, res);

	json_object_set_new(r, "data", api_base64_string(res->io.data,
							 res->io.len));
	return r;
}

static int api__munlock(struct mm_machine *m, const struct api_args *a,
			union api_result *res)
{
	(void)res;
	return mm_munlock(m, api__pid(a), a->v[RANGE_ADDR].u,
			  a->v[RANGE_LENGTH].u);
}

/* mprotect */
enum { MPROT_PROT = RANGE_LENGTH + 1 };
static const struct api_arg api_mprotect_args[] = {
	[PROC_PID] = API_ARG_PID,
	[RANGE_ADDR] = API_ARG_RANGE_ADDR(""),
	[RANGE_LENGTH] = API_ARG_LENGTH,
	[MPROT_PROT] = {"prot", API_T_PROT, true, 0, 0, 0, NULL, 0,
			"new protection triplet [r-][w-][x-] (\"r--\"); raw "
			"PROT_* numbers are not accepted"},
};

static int api__mprotect(struct mm_machine *m, const struct api_args *a,
			 union api_result *res)
{
	(void)res;
	return mm_mprotect(m, api__pid(a), a->v[RANGE_ADDR].u,
			   a->v[RANGE_LENGTH].u, a->v[MPROT_PROT].prot);
}

/* madvise */
enum { MADV_ADVICE = RANGE_LENGTH + 1 };
static const struct api_arg api_madvise_args[] = {
	[PROC_PID] = API_ARG_PID,
	[RANGE_ADDR] = API_ARG_RANGE_ADDR(""),
	[RANGE_LENGTH] = API_ARG_LENGTH,
	[MADV_ADVICE] = {"advice", API_T_ENUM, true, 0, 0, 0, api_madv_names, 0,
			 "MADV_* name; DONTNEED zaps the pages, COLD "
			 "deactivates them, PAGEOUT reclaims them now (file "
			 "pages; anonymous ones need swap); these and WILLNEED "
			 "change no VMA"},
};

static int api__madvise(struct mm_machine *m, const struct api_args *a,
			union api_result *res)
{
	int advice = 0;

	(void)res;
	/* every name of api_madv_names parses (tests/api/test_ops.c) */
	if (mm_madv_parse(api_madv_names[a->v[MADV_ADVICE].i], &advice))
		return -MM_EINVAL;
	return mm_madvise(m, api__pid(a), a->v[RANGE_ADDR].u,
			  a->v[RANGE_LENGTH].u, advice);
}

/* brk */
enum { BRK_ADDR = PROC_PID + 1 };
static const struct api_arg api_brk_args[] = {
	[PROC_PID] = API_ARG_PID,
	[BRK_ADDR] = {"addr", API_T_ADDR, true, 0, 0, 0, NULL, 0,
		      "the new program break (0 asks for the current one)"},
};
static const struct api_field api_brk_results[] = {
	{"brk", "string", "the break after the call: the new one, or the old "
	 "one when refused (brk() reports no errno), lowercase hex"},
};

static int api__brk(struct mm_machine *m, const struct api_args *a,
		    union api_result *res)
{
	return mm_brk(m, api__pid(a), a->v[BRK_ADDR].u, &res->addr);
}

static json_t *api__brk_encode(const struct mm_machine *m,
			       const struct api_args *a,
			       const union api_result *res)
{
	(void)m;
	(void)a;
	return json_pack("{s:o}", "brk", api_hex(res->addr));
}

/* setOomScoreAdj */
enum { OOMADJ_VALUE = PROC_PID + 1 };
static const struct api_arg api_oom_adj_args[] = {
	[PROC_PID] = API_ARG_PID,
	[OOMADJ_VALUE] = {"value", API_T_INT, true, -1000, 1000, 0, NULL, 0,
			  "OOM_SCORE_ADJ_MIN (-1000: never killed) .. "
			  "OOM_SCORE_ADJ_MAX (1000)"},
};

static int api__set_oom_adj(struct mm_machine *m, const struct api_args *a,
			    union api_result *res)
{
	(void)res;
	return mm_set_oom_score_adj(m, api__pid(a), (int)a->v[OOMADJ_VALUE].i);
}

/* trace (experiment mode) */
#define API_TRACE_MAX (1 << 24)
enum { TRACE_ADDR = PROC_PID + 1, TRACE_PAGES, TRACE_ACCESS };
static const struct api_arg api_trace_args[] = {
	[PROC_PID] = API_ARG_PID,
	[TRACE_ADDR] = {"addr", API_T_ADDR, true, 0, 0, 0, NULL, 0,
			"base address, page aligned (else EINVAL)"},
	[TRACE_PAGES] = {"pages", API_T_INT_ARRAY, true, 0, API_TRACE_MAX,
			 UINT32_MAX, NULL, 0, "the reference string: page "
			 "indices from addr, accessed in order"},
	[TRACE_ACCESS] = {"access", API_T_ENUM, true, 0, 0, 0, api_access_names,
			  0, "\"read\", \"write\" or \"exec\" for every "
			  "reference"},
};
static const struct api_field api_trace_results[] = {
	{"hits", "integer", "references to a resident page"},
	{"misses", "integer", "references that faulted the page in (after "
	 "evicting one when rss_limit_pages was reached)"},
	{"sequence", "string", "'H' or 'M' per reference, in order"},
	{"resident", "array", "page indices of the traced pages resident at "
	 "the end, ascending"},
	{"signal", "object", "null, or {\"name\"} of the signal that ended "
	 "the trace (SIGSEGV; SIGKILL from the OOM killer): the process was "
	 "killed"},
};

static int api__trace(struct mm_machine *m, const struct api_args *a,
		      union api_result *res)
{
	const json_t *arr = a->v[TRACE_PAGES].arr;
	size_t n = json_array_size(arr), k;
	uint64_t *pages = malloc((n ? n : 1) * sizeof(*pages));
	json_t *e;

	res->trace.seq = malloc(n + 1);
	res->trace.resident = malloc((n ? n : 1) * sizeof(uint64_t));
	if (!pages || !res->trace.seq || !res->trace.resident) {
		free(pages);
		return -MM_ENOMEM;
	}
	json_array_foreach(arr, k, e)
		pages[k] = (uint64_t)json_integer_value(e);
	int rc = mm_trace(m, api__pid(a), a->v[TRACE_ADDR].u, pages, n,
			  (enum mm_access)a->v[TRACE_ACCESS].i, res->trace.seq,
			  res->trace.resident, &res->trace.r);
	free(pages);
	return rc;
}

static void api__trace_release(union api_result *res)
{
	free(res->trace.seq);
	free(res->trace.resident);
}

static json_t *api__trace_encode(const struct mm_machine *m,
				 const struct api_args *a,
				 const union api_result *res)
{
	const struct mm_trace_result *r = &res->trace.r;
	json_t *resident = json_array(), *sig = json_null();

	(void)m;
	(void)a;
	for (uint64_t i = 0; i < r->nr_resident; i++)
		json_array_append_new(resident,
				      json_integer((json_int_t)res->trace.resident[i]));
	if (r->sig)
		sig = json_pack("{s:s}", "name", r->sig == MM_SIGKILL ? "SIGKILL"
						 : r->sig == MM_SIGBUS ? "SIGBUS"
								       : "SIGSEGV");
	json_t *out = json_pack("{s:I, s:I, s:s, s:o, s:o}", "hits",
				(json_int_t)r->hits, "misses",
				(json_int_t)r->misses, "sequence", res->trace.seq,
				"resident", resident, "signal", sig);
	return out;
}

/* ---- reclaim ---------------------------------------------------------------------- */

/* tick */
enum { TICK_N };
static const struct api_arg api_tick_args[] = {
	[TICK_N] = {"n", API_T_INT, false, 1, 1000000, 0, NULL, 1,
		    "ticks to run (default 1): each runs every woken kswapd "
		    "for up to kswapd_pages_per_tick scanned pages"},
};
static const struct api_field api_tick_results[] = {
	{"ticks", "integer", "ticks run (the clock advanced by as many)"},
	{"kswapd_runs", "integer", "node-ticks in which a kswapd ran"},
	{"sleeps", "integer", "kswapds that went back to sleep"},
	{"passes", "integer", "shrink passes (SWAP_CLUSTER_MAX batches)"},
	{"scanned", "integer", "inactive-list pages scanned"},
	{"reclaimed", "integer", "pages freed"},
};

static int api__tick(struct mm_machine *m, const struct api_args *a,
		     union api_result *res)
{
	mm_tick(m, (uint64_t)a->v[TICK_N].i, &res->tick);
	return 0;
}

static json_t *api__reclaim_stats(const struct mm_reclaim_stats *r)
{
	return json_pack("{s:I, s:I, s:I}", "passes", (json_int_t)r->passes,
			 "scanned", (json_int_t)r->scanned, "reclaimed",
			 (json_int_t)r->reclaimed);
}

static json_t *api__tick_encode(const struct mm_machine *m,
				const struct api_args *a,
				const union api_result *res)
{
	const struct mm_tick_result *t = &res->tick;
	json_t *o = api__reclaim_stats(&t->r);

	(void)m;
	(void)a;
	json_object_set_new(o, "ticks", json_integer((json_int_t)t->ticks));
	json_object_set_new(o, "kswapd_runs",
			    json_integer((json_int_t)t->kswapd_runs));
	json_object_set_new(o, "sleeps", json_integer((json_int_t)t->sleeps));
	return o;
}

/* reclaim */
enum { RECLAIM_PAGES, RECLAIM_NODE };
static const struct api_arg api_reclaim_args[] = {
	[RECLAIM_PAGES] = {"pages", API_T_INT, true, 1, UINT32_MAX, 0, NULL, 0,
			   "pages to reclaim"},
	[RECLAIM_NODE] = {"node", API_T_INT, false, -1, MM_MAX_NODES - 1, 0, NULL,
			  -1, "NUMA node (nodeN/reclaim); -1, the default: every "
			  "node (memory.reclaim)"},
};
static const struct api_field api_reclaim_results[] = {
	{"requested", "integer", "pages asked for"},
	{"passes", "integer", "shrink passes"},
	{"scanned", "integer", "inactive-list pages scanned"},
	{"reclaimed", "integer", "pages freed (less than requested: Linux's "
	 "write would fail with EAGAIN)"},
};

static int api__reclaim_check(const struct mm_machine *m,
			      const struct api_args *a, struct api_error *err)
{
	if (a->v[RECLAIM_NODE].i >= m->nr_nodes)
		return api_fail(err, "node", "node: %lld is outside [-1, %d] (the "
				 "machine has %d nodes)",
				 (long long)a->v[RECLAIM_NODE].i, m->nr_nodes - 1,
				 m->nr_nodes);
	return 0;
}

static int api__reclaim(struct mm_machine *m, const struct api_args *a,
			union api_result *res)
{
	res->reclaim.requested = (uint64_t)a->v[RECLAIM_PAGES].i;
	return mm_reclaim(m, res->reclaim.requested, (int)a->v[RECLAIM_NODE].i,
			  &res->reclaim.r);
}

static json_t *api__reclaim_encode(const struct mm_machine *m,
				   const struct api_args *a,
				   const union api_result *res)
{
	json_t *o = api__reclaim_stats(&res->reclaim.r);

	(void)m;
	(void)a;
	json_object_set_new(o, "requested",
			    json_integer((json_int_t)res->reclaim.requested));
	return o;
}

/* ---- the table ---------------------------------------------------------------- */

#define API_N(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* ---- files and the page cache --------------------------------------------- */

#define API_FILE_READ_MAX (16ull << 20) /* bytes one readFile answers */
#define API_FILE_SIZE_MAX ((uint64_t)MM_FILE_MAX_PAGES << MM_PAGE_SHIFT)

/* ops on …/files/{file}: args[0] is the path id "file" */
enum { FILE_NAME };
#define API_ARG_FILE                                                          \
	{"file", API_T_STRING, true, 0, MM_FILE_NAME_MAX - 1, 0, NULL, 0,    \
	 "file name (path id); 404 if no file has it"}

static int api__file_check(const struct mm_machine *m, const struct api_args *a,
			   struct api_error *err)
{
	if (mm_file_lookup(m, a->v[FILE_NAME].s) >= 0)
		return 0;
	api_fail(err, "file", "file: no file \"%.60s\"", a->v[FILE_NAME].s);
	return API_CHECK_NOT_FOUND;
}

static int api__file_id(const struct mm_machine *m, const struct api_args *a)
{
	return mm_file_lookup(m, a->v[FILE_NAME].s);
}

/* Decodes a validated base64 argument into a malloc'd buffer (*len). */
static uint8_t *api__bytes(const char *b64, size_t *len)
{
	uint8_t *p = malloc(strlen(b64) / 4 * 3 + 3);
	if (p)
		*len = api_base64_decode(b64, p);
	return p;
}

/* createFile */
enum { CREATE_NAME, CREATE_SIZE, CREATE_CONTENT };
static const struct api_arg api_file_create_args[] = {
	[CREATE_NAME] = {"name", API_T_STRING, true, 0, MM_FILE_NAME_MAX - 1, 0,
			 NULL, 0, "1 to 63 bytes, no '/'; unique among the "
			 "machine's files (EEXIST)"},
	[CREATE_SIZE] = {"size", API_T_SIZE, true, 0, 0, API_FILE_SIZE_MAX, NULL,
			 0, "i_size in bytes (\"1M\"); pages past the content "
			 "are holes on the disk"},
	[CREATE_CONTENT] = {"content", API_T_BASE64, false, 0, 0, 0, NULL, 0,
			    "the first bytes, base64; they start dirty in the "
			    "page cache, as after a write"},
};
static const struct api_field api_file_results[] = {
	{"name", "string", "the file's name"},
	{"size", "integer", "its size in bytes"},
};

static int api__file_create_check(const struct mm_machine *m,
				  const struct api_args *a, struct api_error *err)
{
	size_t len = 0;
	(void)m;
	if (a->present & (1u << CREATE_CONTENT)) {
		const char *b = a->v[CREATE_CONTENT].s;
		size_t n = strlen(b);
		while (n && b[n - 1] == '=')
			n--;
		len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	}
	if (len > a->v[CREATE_SIZE].u)
		return api_fail(err, "content", "content: %zu bytes, longer than "
				 "size %llu", len,
				 (unsigned long long)a->v[CREATE_SIZE].u);
	return 0;
}

static int api__file_create(struct mm_machine *m, const struct api_args *a,
			    union api_result *res)
{
	size_t len = 0;
	uint8_t *data = NULL;
	int id;

	(void)res;
	if ((a->present & (1u << CREATE_CONTENT)) &&
	    !(data = api__bytes(a->v[CREATE_CONTENT].s, &len)))
		return -MM_ENOMEM;
	int rc = mm_file_create(m, a->v[CREATE_NAME].s, a->v[CREATE_SIZE].u, data,
				len, &id);
	free(data);
	return rc;
}

static json_t *api__file_encode(const struct mm_machine *m,
				const struct api_args *a,
				const union api_result *res)
{
	(void)res;
	const struct mm_file *f = mm_file_get(m, mm_file_lookup(m, a->v[0].s));
	return json_pack("{s:s, s:I}", "name", f->name, "size",
			 (json_int_t)f->size);
}

/* deleteFile */
static const struct api_arg api_file_args[] = {
	[FILE_NAME] = API_ARG_FILE,
};

static int api__file_delete(struct mm_machine *m, const struct api_args *a,
			    union api_result *res)
{
	(void)res;
	return mm_file_delete(m, api__file_id(m, a));
}

/* writeFile */
enum { FWRITE_OFFSET = FILE_NAME + 1, FWRITE_DATA };
static const struct api_arg api_file_write_args[] = {
	[FILE_NAME] = API_ARG_FILE,
	[FWRITE_OFFSET] = {"offset", API_T_SIZE, true, 0, 0, API_FILE_SIZE_MAX,
			   NULL, 0, "byte offset (pwrite); the file grows to "
			   "offset + bytes"},
	[FWRITE_DATA] = {"data", API_T_BASE64, true, 0, 0, 0, NULL, 0,
			 "the bytes, base64"},
};

static int api__file_write(struct mm_machine *m, const struct api_args *a,
			   union api_result *res)
{
	size_t len;
	uint8_t *data = api__bytes(a->v[FWRITE_DATA].s, &len);

	(void)res;
	if (!data)
		return -MM_ENOMEM;
	int rc = mm_file_write(m, api__file_id(m, a), a->v[FWRITE_OFFSET].u, data,
			       len);
	free(data);
	return rc;
}

/* readFile */
enum { FREAD_OFFSET = FILE_NAME + 1, FREAD_LENGTH };
static const struct api_arg api_file_read_args[] = {
	[FILE_NAME] = API_ARG_FILE,
	[FREAD_OFFSET] = {"offset", API_T_SIZE, true, 0, 0, 0, NULL, 0,
			  "byte offset (pread)"},
	[FREAD_LENGTH] = {"length", API_T_SIZE, true, 0, 0, API_FILE_READ_MAX,
			  NULL, 0, "bytes to read (at most 16M); fewer come "
			  "back at end of file"},
};
static const struct api_field api_file_read_results[] = {
	{"data", "string", "the bytes read, base64"},
	{"major", "integer", "pages read from the disk (the request and its "
	 "readahead)"},
};

static int api__file_read(struct mm_machine *m, const struct api_args *a,
			  union api_result *res)
{
	uint64_t len = a->v[FREAD_LENGTH].u;

	res->read.data = malloc(len ? len : 1);
	if (!res->read.data)
		return -MM_ENOMEM;
	int rc = mm_file_read(m, api__file_id(m, a), a->v[FREAD_OFFSET].u, len,
			      res->read.data, &res->read.len, &res->read.major);
	if (rc) {
		free(res->read.data);
		res->read.data = NULL;
	}
	return rc;
}

static json_t *api__file_read_encode(const struct mm_machine *m,
				     const struct api_args *a,
				     const union api_result *res)
{
	(void)m;
	(void)a;
	json_t *data = api_base64_string(res->read.data, res->read.len);
	free(res->read.data);
	return json_pack("{s:o*, s:I}", "data", data, "major",
			 (json_int_t)res->read.major);
}

/* truncateFile */
enum { FTRUNC_SIZE = FILE_NAME + 1 };
static const struct api_arg api_file_truncate_args[] = {
	[FILE_NAME] = API_ARG_FILE,
	[FTRUNC_SIZE] = {"size", API_T_SIZE, true, 0, 0, API_FILE_SIZE_MAX, NULL,
			 0, "new i_size (ftruncate): pages past it are unmapped "
			 "and dropped"},
};

static int api__file_truncate(struct mm_machine *m, const struct api_args *a,
			      union api_result *res)
{
	(void)res;
	return mm_file_truncate(m, api__file_id(m, a), a->v[FTRUNC_SIZE].u);
}

/* syncFile */
static int api__file_sync(struct mm_machine *m, const struct api_args *a,
			  union api_result *res)
{
	(void)res;
	return mm_file_sync(m, api__file_id(m, a));
}

/* dropCaches */
static const struct api_arg api_drop_args[] = {
	{"mode", API_T_INT, true, 1, 3, 0, NULL, 0,
	 "/proc/sys/vm/drop_caches after a sync: 1 page cache, 2 slab, 3 both"},
};
static const struct api_field api_drop_results[] = {
	{"pagecache", "integer", "page-cache pages dropped"},
	{"slab", "integer", "slab pages given back"},
};

static int api__drop_caches(struct mm_machine *m, const struct api_args *a,
			    union api_result *res)
{
	return mm_drop_caches(m, (int)a->v[0].i, &res->drop);
}

static json_t *api__drop_encode(const struct mm_machine *m,
				const struct api_args *a,
				const union api_result *res)
{
	(void)m;
	(void)a;
	return json_pack("{s:I, s:I}", "pagecache", (json_int_t)res->drop.pagecache,
			 "slab", (json_int_t)res->drop.slab);
}

#define API_ARGS(a) .args = (a), .nargs = API_N(a)
#define API_RESULTS(r) .results = (r), .nresults = API_N(r)

const struct api_op api_ops[] = {
	{.name = "allocPages", .path = "/kernel:allocPages",
	 .summary = "alloc_pages(gfp, order): a block of 2^order frames from "
		    "the buddy allocator (order 0 through the cpu's per-CPU list)",
	 API_ARGS(api_alloc_pages_args), API_RESULTS(api_alloc_pages_results),
	 .check = api__alloc_pages_check, .apply = api__alloc_pages,
	 .encode = api__alloc_pages_encode},
	{.name = "freePages", .path = "/kernel:freePages",
	 .summary = "__free_pages(page, order): return a block obtained from "
		    "allocPages",
	 API_ARGS(api_free_pages_args), .check = api__free_pages_check,
	 .apply = api__free_pages, .encode = api__empty_encode},
	{.name = "kmalloc", .path = "/kernel:kmalloc",
	 .summary = "kmalloc(size, gfp): an object from the kmalloc cache of "
		    "its size class, or compound pages above 8 KiB",
	 API_ARGS(api_kmalloc_args), API_RESULTS(api_kmalloc_results),
	 .check = api__kmalloc_check, .apply = api__kmalloc,
	 .encode = api__kmalloc_encode},
	{.name = "kfree", .path = "/kernel:kfree",
	 .summary = "kfree(addr): EINVAL (state unchanged) for a double free "
		    "or an address kmalloc did not answer",
	 API_ARGS(api_kfree_args), .check = api__kfree_check,
	 .apply = api__kfree, .encode = api__empty_encode},
	{.name = "vmalloc", .path = "/kernel:vmalloc",
	 .summary = "vmalloc(size): order-0 pages mapped contiguously in the "
		    "vmalloc area, plus a guard page",
	 API_ARGS(api_vmalloc_args), API_RESULTS(api_addr_results),
	 .check = api__vmalloc_check, .apply = api__vmalloc,
	 .encode = api__addr_encode},
	{.name = "vfree", .path = "/kernel:vfree",
	 .summary = "vfree(addr): unmap and free a vmalloc area",
	 API_ARGS(api_vfree_args), .check = api__vfree_check,
	 .apply = api__vfree, .encode = api__empty_encode},
	{.name = "kmap", .path = "/kernel:kmap",
	 .summary = "kmap(page): a kernel address for a frame (the direct map, "
		    "or a pkmap slot for i386 HighMem; EAGAIN when all are busy)",
	 API_ARGS(api_kmap_args), API_RESULTS(api_addr_results),
	 .check = api__kmap_check, .apply = api__kmap,
	 .encode = api__addr_encode},
	{.name = "kunmap", .path = "/kernel:kunmap",
	 .summary = "kunmap(addr): drop one kmap of a pkmap address (no-op "
		    "for the direct map)",
	 API_ARGS(api_kunmap_args), .apply = api__kunmap,
	 .encode = api__empty_encode},
	{.name = "kmemCacheCreate", .path = "/kmemCaches",
	 .summary = "kmem_cache_create(name, size, align, flags): a new slab "
		    "cache sized as SLUB would (EEXIST for a name in use: a 422 "
		    "result, not 409)",
	 API_ARGS(api_cache_create_args), API_RESULTS(api_cache_results),
	 .check = api__cache_create_check, .apply = api__cache_create,
	 .encode = api__cache_encode},
	{.name = "kmemCacheDestroy", .method = "DELETE",
	 .path = "/kmemCaches/{cache}",
	 .summary = "kmem_cache_destroy(): EBUSY while objects are allocated, "
		    "EPERM for the kmalloc and engine caches",
	 API_ARGS(api_cache_args), .check = api__cache_check,
	 .apply = api__cache_destroy, .encode = api__empty_encode},
	{.name = "kmemCacheAlloc", .path = "/kmemCaches/{cache}:alloc",
	 .summary = "kmem_cache_alloc(cache, gfp): one object",
	 API_ARGS(api_cache_alloc_args), API_RESULTS(api_addr_results),
	 .check = api__cache_alloc_check, .apply = api__cache_alloc,
	 .encode = api__addr_encode},
	{.name = "kmemCacheFree", .path = "/kmemCaches/{cache}:free",
	 .summary = "kmem_cache_free(cache, addr): EINVAL (state unchanged) for "
		    "a double free or an address not of this cache",
	 API_ARGS(api_cache_free_args), .check = api__cache_free_check,
	 .apply = api__cache_free, .encode = api__empty_encode},
	{.name = "kmemCacheShrink", .path = "/kmemCaches/{cache}:shrink",
	 .summary = "kmem_cache_shrink(cache): flush the per-CPU slabs and give "
		    "empty slabs back",
	 API_ARGS(api_cache_args), API_RESULTS(api_cache_shrink_results),
	 .check = api__cache_check, .apply = api__cache_shrink,
	 .encode = api__cache_shrink_encode},
	{.name = "spawn", .path = "/processes",
	 .summary = "a new process with an empty address space (as after exec "
		    "of an empty static PIE); EAGAIN when no pid is free",
	 API_ARGS(api_spawn_args), API_RESULTS(api_pid_results),
	 .check = api__spawn_check, .apply = api__spawn,
	 .encode = api__pid_encode},
	{.name = "fork", .path = "/processes/{pid}:fork",
	 .summary = "fork(): a child with a copy of every VMA (but "
		    "MADV_DONTFORK ones), charged again for VM_ACCOUNT",
	 API_ARGS(api_pid_args), API_RESULTS(api_pid_results),
	 .check = api__pid_check, .apply = api__fork,
	 .encode = api__pid_encode},
	{.name = "exit", .path = "/processes/{pid}:exit",
	 .summary = "exit(): the process's memory is freed and it is reaped at "
		    "once (its children go to init); its pid is then 404",
	 API_ARGS(api_exit_args), .check = api__pid_check, .apply = api__exit,
	 .encode = api__empty_encode},
	{.name = "exec", .path = "/processes/{pid}:exec",
	 .summary = "execve() of a static ELF image: segments, bss, brk, vDSO "
		    "and [stack] as Linux's load_elf_binary(); all or nothing "
		    "(ENOEXEC for an image it cannot load; malformed base64 is "
		    "400)",
	 API_ARGS(api_exec_args), API_RESULTS(api_exec_results),
	 .check = api__pid_check, .apply = api__exec,
	 .encode = api__exec_encode},
	{.name = "mmap", .path = "/processes/{pid}:mmap",
	 .summary = "mmap(addr, length, prot, flags): anonymous mappings with "
		    "Linux's placement, merging and errno (EINVAL, ENOMEM, "
		    "EEXIST for MAP_FIXED_NOREPLACE over a mapping, …)",
	 API_ARGS(api_mmap_args), API_RESULTS(api_mmap_results),
	 .check = api__pid_check, .apply = api__mmap,
	 .encode = api__mmap_encode},
	{.name = "munmap", .path = "/processes/{pid}:munmap",
	 .summary = "munmap(addr, length): VMAs split at the ends of the range",
	 API_ARGS(api_range_args), .check = api__pid_check,
	 .apply = api__munmap, .encode = api__empty_encode},
	{.name = "mprotect", .path = "/processes/{pid}:mprotect",
	 .summary = "mprotect(addr, length, prot): VMAs split and merged as "
		    "Linux does; ENOMEM for a hole in the range, EACCES beyond "
		    "VM_MAY*",
	 API_ARGS(api_mprotect_args), .check = api__pid_check,
	 .apply = api__mprotect, .encode = api__empty_encode},
	{.name = "madvise", .path = "/processes/{pid}:madvise",
	 .summary = "madvise(addr, length, advice)",
	 API_ARGS(api_madvise_args), .check = api__pid_check,
	 .apply = api__madvise, .encode = api__empty_encode},
	{.name = "touch", .path = "/processes/{pid}:touch",
	 .summary = "user accesses to every page of a range, faulting as the "
		    "MMU would (zero page, COW, stack growth, shmem with "
		    "fault-around, files through the page cache: major faults "
		    "with read-around, SIGBUS past EOF); a signal kills the "
		    "process",
	 API_ARGS(api_touch_args), API_RESULTS(api_touch_results),
	 .check = api__pid_check, .apply = api__touch,
	 .encode = api__touch_encode},
	{.name = "write", .path = "/processes/{pid}:write",
	 .summary = "a user write of bytes at addr: every page faults as a "
		    "write touch would, then takes its bytes (a fork child's "
		    "write is private after COW, shared anonymous memory is "
		    "shared); SIGSEGV stops it and kills the process",
	 API_ARGS(api_write_args), API_RESULTS(api_write_results),
	 .check = api__pid_check, .apply = api__write,
	 .encode = api__touch_encode},
	{.name = "read", .path = "/processes/{pid}:read",
	 .summary = "a user read of length bytes at addr: every page faults "
		    "as a read touch would; never-written memory reads zeros",
	 API_ARGS(api_read_args), API_RESULTS(api_read_results),
	 .check = api__pid_check, .apply = api__read,
	 .encode = api__read_encode, .release = api__io_release},
	{.name = "mlock", .path = "/processes/{pid}:mlock",
	 .summary = "mlock(addr, length): sets VM_LOCKED and faults the range "
		    "in (write faults for private writable memory)",
	 API_ARGS(api_range_args), API_RESULTS(api_mlock_results),
	 .check = api__pid_check, .apply = api__mlock,
	 .encode = api__mlock_encode},
	{.name = "munlock", .path = "/processes/{pid}:munlock",
	 .summary = "munlock(addr, length)",
	 API_ARGS(api_range_args), .check = api__pid_check,
	 .apply = api__munlock, .encode = api__empty_encode},
	{.name = "brk", .path = "/processes/{pid}:brk",
	 .summary = "brk(addr): grow or shrink the heap; answers the break "
		    "(the old one when refused, as Linux)",
	 API_ARGS(api_brk_args), API_RESULTS(api_brk_results),
	 .check = api__pid_check, .apply = api__brk, .encode = api__brk_encode},
	{.name = "trace", .path = "/processes/{pid}:trace",
	 .summary = "experiment mode: run a reference string (page indices "
		    "from addr) through the MMU; with rss_limit_pages set, each "
		    "miss beyond it evicts a traced page chosen by the "
		    "machine's page_policy (fifo, lru, opt, clock, random)",
	 API_ARGS(api_trace_args), API_RESULTS(api_trace_results),
	 .check = api__pid_check, .apply = api__trace,
	 .encode = api__trace_encode, .release = api__trace_release},
	{.name = "tick", .path = ":tick",
	 .summary = "advance the simulated clock; every woken kswapd reclaims "
		    "in SWAP_CLUSTER_MAX batches until its node is balanced "
		    "(above the high watermark) or kswapd_pages_per_tick is spent",
	 API_ARGS(api_tick_args), API_RESULTS(api_tick_results),
	 .apply = api__tick, .encode = api__tick_encode},
	{.name = "reclaim", .path = ":reclaim",
	 .summary = "proactive reclaim of pages from a node or all "
		    "(memory.reclaim): batches of a quarter of what remains, "
		    "up to 16 without progress",
	 API_ARGS(api_reclaim_args), API_RESULTS(api_reclaim_results),
	 .check = api__reclaim_check, .apply = api__reclaim,
	 .encode = api__reclaim_encode},
	{.name = "setOomScoreAdj", .path = "/processes/{pid}:setOomScoreAdj",
	 .summary = "write /proc/PID/oom_score_adj (-1000 .. 1000)",
	 API_ARGS(api_oom_adj_args), .check = api__pid_check,
	 .apply = api__set_oom_adj, .encode = api__empty_encode},
	{.name = "createFile", .path = "/files",
	 .summary = "an in-memory file (creat + write + ftruncate): its content "
		    "pages start dirty in the page cache; EEXIST for a name in "
		    "use, EFBIG past 64 GiB",
	 API_ARGS(api_file_create_args), API_RESULTS(api_file_results),
	 .check = api__file_create_check, .apply = api__file_create,
	 .encode = api__file_encode},
	{.name = "deleteFile", .method = "DELETE", .path = "/files/{file}",
	 .summary = "unlink(): the name goes at once, the pages when no "
		    "mapping is left",
	 API_ARGS(api_file_args), .check = api__file_check,
	 .apply = api__file_delete, .encode = api__empty_encode},
	{.name = "writeFile", .path = "/files/{file}:write",
	 .summary = "pwrite(): through the page cache (pages turn dirty)",
	 API_ARGS(api_file_write_args), .check = api__file_check,
	 .apply = api__file_write, .encode = api__empty_encode},
	{.name = "readFile", .path = "/files/{file}:read",
	 .summary = "pread(): pages missing from the cache are read from the "
		    "disk with readahead",
	 API_ARGS(api_file_read_args), API_RESULTS(api_file_read_results),
	 .check = api__file_check, .apply = api__file_read,
	 .encode = api__file_read_encode},
	{.name = "syncFile", .path = "/files/{file}:sync",
	 .summary = "fsync(): dirty pages (and dirty PTEs) written to the disk; "
		    "they stay cached, clean",
	 API_ARGS(api_file_args), .check = api__file_check,
	 .apply = api__file_sync, .encode = api__empty_encode},
	{.name = "truncateFile", .path = "/files/{file}:truncate",
	 .summary = "ftruncate(): shrinking unmaps and drops the pages past "
		    "the end (SIGBUS for mappings touching them)",
	 API_ARGS(api_file_truncate_args), .check = api__file_check,
	 .apply = api__file_truncate, .encode = api__empty_encode},
	{.name = "dropCaches", .path = ":dropCaches",
	 .summary = "sync; echo MODE > /proc/sys/vm/drop_caches: clean unmapped "
		    "page-cache pages (1), slab caches shrunk (2), both (3)",
	 API_ARGS(api_drop_args), API_RESULTS(api_drop_results),
	 .apply = api__drop_caches, .encode = api__drop_encode},
};
const size_t api_nops = sizeof(api_ops) / sizeof(api_ops[0]);

#define API_ARGS_FIT(a) _Static_assert(API_N(a) <= API_MAX_ARGS, #a " too long")
API_ARGS_FIT(api_alloc_pages_args);
API_ARGS_FIT(api_free_pages_args);
API_ARGS_FIT(api_kmalloc_args);
API_ARGS_FIT(api_kfree_args);
API_ARGS_FIT(api_vmalloc_args);
API_ARGS_FIT(api_vfree_args);
API_ARGS_FIT(api_kmap_args);
API_ARGS_FIT(api_kunmap_args);
API_ARGS_FIT(api_cache_create_args);
API_ARGS_FIT(api_cache_args);
API_ARGS_FIT(api_cache_alloc_args);
API_ARGS_FIT(api_cache_free_args);
API_ARGS_FIT(api_spawn_args);
API_ARGS_FIT(api_pid_args);
API_ARGS_FIT(api_exit_args);
API_ARGS_FIT(api_exec_args);
API_ARGS_FIT(api_mmap_args);
API_ARGS_FIT(api_range_args);
API_ARGS_FIT(api_mprotect_args);
API_ARGS_FIT(api_madvise_args);
API_ARGS_FIT(api_touch_args);
API_ARGS_FIT(api_write_args);
API_ARGS_FIT(api_read_args);
API_ARGS_FIT(api_brk_args);
API_ARGS_FIT(api_oom_adj_args);
API_ARGS_FIT(api_trace_args);
API_ARGS_FIT(api_tick_args);
API_ARGS_FIT(api_reclaim_args);
API_ARGS_FIT(api_file_create_args);
API_ARGS_FIT(api_file_write_args);
API_ARGS_FIT(api_file_read_args);
API_ARGS_FIT(api_file_truncate_args);
