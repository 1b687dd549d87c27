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
 * route, :batch, the journal and the OpenAPI document pick it up.
 */
#include "api/ops.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int api__fail(struct api_error *err, const char *field, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));
static int api__fail(struct api_error *err, const char *field, const char *fmt,
		     ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- the generic decoder -------------------------------------------------- */

static int api__decode_one(const struct api_arg *a, const json_t *v,
			   union api_value *out, struct api_error *err)
{
	switch (a->type) {
	case API_T_INT: {
		if (!json_is_integer(v))
			return api__fail(err, a->name, "%s: expected an integer",
					 a->name);
		json_int_t i = json_integer_value(v);
		if (i < a->lo || i > a->hi)
			return api__fail(err, a->name, "%s: %lld is outside "
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
			return api__fail(err, a->name, "%s: %llu is larger than "
					 "%llu", a->name,
					 (unsigned long long)out->u,
					 (unsigned long long)a->uhi);
		return 0;
	case API_T_GFP:
		return api_parse_gfp(v, a->name, &out->gfp, err);
	case API_T_ENUM: {
		if (json_is_string(v))
			for (int k = 0; a->names[k]; k++)
				if (!strcmp(a->names[k], json_string_value(v))) {
					out->i = k;
					return 0;
				}
		char msg[200];
		size_t l = (size_t)snprintf(msg, sizeof(msg), "expected one of");
		for (int k = 0; a->names[k] && l < sizeof(msg); k++)
			l += (size_t)snprintf(msg + l, sizeof(msg) - l, "%s\"%s\"",
					      k ? ", " : " ", a->names[k]);
		return api__fail(err, a->name, "%s: %s", a->name, msg);
	}
	case API_T_STRING:
		if (!json_is_string(v))
			return api__fail(err, a->name, "%s: expected a string",
					 a->name);
		if ((int64_t)json_string_length(v) > a->hi)
			return api__fail(err, a->name, "%s: longer than %lld "
					 "bytes", a->name, (long long)a->hi);
		if (strlen(json_string_value(v)) != json_string_length(v))
			return api__fail(err, a->name, "%s: contains a NUL "
					 "character", a->name);
		out->s = json_string_value(v);
		return 0;
	case API_T_BOOL:
		if (!json_is_boolean(v))
			return api__fail(err, a->name, "%s: expected true or "
					 "false", a->name);
		out->i = json_is_true(v);
		return 0;
	}
	return api__fail(err, a->name, "%s: unsupported type", a->name);
}

int api_args_decode(const struct api_op *op, const json_t *obj, unsigned flags,
		    struct api_args *out, struct api_error *err)
{
	const char *key;
	json_t *v;

	memset(out, 0, sizeof(*out));
	out->op = op;
	if (!json_is_object(obj))
		return api__fail(err, "", "%s: the arguments must be a JSON "
				 "object", op->name);
	json_object_foreach((json_t *)obj, key, v) {
		int k;
		if (!strcmp(key, "op"))
			continue;
		if ((flags & API_DECODE_JOURNAL) &&
		    (!strcmp(key, "seq") || !strcmp(key, "result") ||
		     !strcmp(key, "error")))
			continue;
		for (k = 0; k < op->nargs; k++)
			if (!strcmp(op->args[k].name, key))
				break;
		if (k == op->nargs)
			return api__fail(err, key, "%s: unknown field \"%.100s\"",
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
			return api__fail(err, a->name, "%s: \"%s\" is required",
					 op->name, a->name);
		out->v[k].i = a->dflt;
	}
	return 0;
}

const struct api_op *api_op_find(const char *name)
{
	for (size_t i = 0; i < api_nops; i++)
		if (!strcmp(api_ops[i].name, name))
			return &api_ops[i];
	return NULL;
}

int api_op_decode(const json_t *record, unsigned flags, struct api_args *out,
		  struct api_error *err)
{
	if (!json_is_object(record))
		return api__fail(err, "", "an operation record must be a JSON "
				 "object {\"op\": NAME, …}");
	json_t *name = json_object_get(record, "op");
	if (!name)
		return api__fail(err, "op", "op: \"op\" is required");
	if (!json_is_string(name))
		return api__fail(err, "op", "op: expected an operation name");
	const struct api_op *op = api_op_find(json_string_value(name));
	if (!op)
		return api__fail(err, "op", "op: unknown operation \"%.100s\"",
				 json_string_value(name));
	return api_args_decode(op, record, flags, out, err);
}

int api_op_apply(struct mm_machine *m, const json_t *record, json_t **result,
		 json_t **error)
{
	struct api_args args;
	struct api_error err = {{0}, {0}};
	union api_result res;

	*result = NULL;
	*error = NULL;
	if (api_op_decode(record, 0, &args, &err) ||
	    (args.op->check && args.op->check(m, &args, &err))) {
		*error = api_error_invalid(&err);
		return 400;
	}
	memset(&res, 0, sizeof(res));
	int rc = args.op->apply(m, &args, &res);
	if (rc < 0) {
		*error = api_error_errno(args.op->name, rc);
		return 422;
	}
	*result = args.op->encode(m, &args, &res);
	return 200;
}

/* ---- shared argument helpers ------------------------------------------------ */

static int api__check_cpu(const struct mm_machine *m, int64_t cpu,
			  struct api_error *err)
{
	if (cpu >= m->cfg.cpus)
		return api__fail(err, "cpu", "cpu: %lld is outside [0, %d] (the "
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
		return api__fail(err, "node", "node: %lld is outside [0, %d] "
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
		return api__fail(err, "pfn", "pfn: %lld is outside [0, %u] (the "
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

/* ---- the table ---------------------------------------------------------------- */

#define API_N(a) ((int)(sizeof(a) / sizeof((a)[0])))

const struct api_op api_ops[] = {
	{"allocPages", "/kernel:allocPages",
	 "alloc_pages(gfp, order): a block of 2^order frames from the buddy "
	 "allocator (order 0 through the cpu's per-CPU list)",
	 api_alloc_pages_args, API_N(api_alloc_pages_args),
	 api_alloc_pages_results, API_N(api_alloc_pages_results),
	 api__alloc_pages_check, api__alloc_pages, api__alloc_pages_encode},
	{"freePages", "/kernel:freePages",
	 "__free_pages(page, order): return a block obtained from allocPages",
	 api_free_pages_args, API_N(api_free_pages_args), NULL, 0,
	 api__free_pages_check, api__free_pages, api__empty_encode},
};
const size_t api_nops = sizeof(api_ops) / sizeof(api_ops[0]);

_Static_assert(sizeof(api_alloc_pages_args) / sizeof(struct api_arg) <= API_MAX_ARGS,
	       "allocPages has too many arguments");
_Static_assert(sizeof(api_free_pages_args) / sizeof(struct api_arg) <= API_MAX_ARGS,
	       "freePages has too many arguments");
