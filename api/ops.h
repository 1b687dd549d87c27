/*
 * ops.h — THE operation table (SPEC §2, §4.1) and what is generated from it.
 *
 * Every mutating request is one operation record {"op": NAME, ...args}.
 * This table is the only place an operation's wire format is defined: its
 * argument schema (decoder), the engine call (apply) and the JSON result
 * (encoder).  The HTTP routes, :batch, the journal and the offline CLI all
 * go through api_op_apply(); the OpenAPI document is generated from the same
 * table (api/openapi.c), so docs and behaviour cannot drift apart.
 *
 * Status classes of api_op_apply():
 *   200  applied; *result holds the encoded result
 *   400  INVALID_ARGUMENT: the record was rejected, the machine untouched
 *        (not journaled)
 *   404  NOT_FOUND: a path id of the record (the "cache" of
 *        …/kmemCaches/{cache}, the "pid" of …/processes/{pid}) names
 *        nothing; not applied, not journaled
 *   422  the simulated kernel returned an errno (-MM_E…); code is its name,
 *        details.op the operation — a result like any other (journaled)
 */
#ifndef MMSIM_API_OPS_H
#define MMSIM_API_OPS_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "engine/mm.h"

#define API_MAX_ARGS 16

/* Wire types of arguments and result fields (SPEC §4 value conventions). */
enum api_type {
	API_T_INT,    /* JSON integer within [lo, hi] */
	API_T_SIZE,   /* number or binary-unit string ("64K"), <= uhi if set */
	API_T_ADDR,   /* number, "0x…" or decimal string, <= uhi if set */
	API_T_GFP,    /* array of GFP flag names */
	API_T_ENUM,   /* one of names[] */
	API_T_STRING, /* string of at most hi bytes */
	API_T_BOOL,   /* true / false */
	API_T_SLAB_FLAGS, /* array of SLAB_* flag names (kmem_cache_create) */
	API_T_PROT,   /* protection triplet "rw-" (names only, no numbers) */
	API_T_MAP_FLAGS, /* array of MAP_* flag names */
	API_T_BASE64, /* base64 string, validated (decoded by the op); at most uhi bytes if set */
	API_T_INT_ARRAY, /* array of at most hi integers, each in [0, uhi] */
};

/* One argument of an operation. */
struct api_arg {
	const char *name;
	enum api_type type;
	bool required;
	int64_t lo, hi;           /* INT: inclusive range; STRING: hi = max len */
	uint64_t uhi;             /* SIZE / ADDR / BASE64 (decoded bytes): inclusive maximum (0 = none) */
	const char *const *names; /* ENUM: NULL-terminated */
	int64_t dflt;             /* INT / BOOL / ENUM value when absent */
	const char *doc;
};

/* One field of an operation's JSON result (for the OpenAPI document). */
struct api_field {
	const char *name;
	const char *json_type; /* "integer", "string", … */
	const char *doc;
};

/* A decoded argument value (which member is set follows the arg's type). */
union api_value {
	int64_t i;      /* INT, ENUM (index), BOOL */
	uint64_t u;     /* SIZE, ADDR */
	uint32_t gfp;   /* GFP */
	uint32_t flags; /* SLAB_FLAGS: MM_SLAB_* bits; MAP_FLAGS: MM_MAP_* */
	int prot;       /* PROT: MM_PROT_* bits */
	const char *s;  /* STRING, BASE64: borrowed from the record */
	const json_t *arr; /* INT_ARRAY: borrowed from the record */
};

struct api_op;

/*
 * Decoded arguments: v[k] belongs to op->args[k]; absent optional
 * arguments hold their default (present bit clear).
 */
struct api_args {
	const struct api_op *op;
	uint32_t present; /* 1 << k for each argument given */
	union api_value v[API_MAX_ARGS];
};

/* The engine's answer to one operation, before encoding. */
union api_result {
	struct {
		struct mm_alloc_result r;
		unsigned order;
	} alloc_pages;
	struct {
		uint64_t addr;
		int cache;      /* cache id, -1 for kmalloc_large / size 0 */
	} kmalloc;
	uint64_t addr;          /* vmalloc, kmap, kmemCacheAlloc, mmap, brk */
	int cache;              /* kmemCacheCreate: the new cache's id */
	int freed;              /* kmemCacheShrink: pages given back */
	int pid;                /* spawn, fork: the new process */
	struct mm_exec_result exec;
	struct mm_touch_result touch;
	struct {
		struct mm_touch_result touch; /* first: touch's encoder reads it */
		uint8_t *data;  /* read: the bytes (malloc'd, freed by release) */
		uint64_t len;   /* bytes moved */
	} io;                   /* read, write */
	struct {
		uint64_t minor, major;
	} faults;               /* mlock: populate's faults */
	struct mm_tick_result tick;
	struct {
		struct mm_reclaim_stats r;
		uint64_t requested;
	} reclaim;
	struct {
		struct mm_trace_result r;
		char *seq;          /* malloc'd by apply, freed by release */
		uint64_t *resident;
	} trace;
	struct {
		uint8_t *data;  /* malloc'd by apply, freed by the encoder */
		uint64_t len, major;
	} read;                 /* readFile */
	struct mm_drop_result drop; /* dropCaches */
};

/* Largest size argument of the kernel allocation ops: every engine size
 * computation stays within 64 bits (Linux answers NULL long before). */
#define API_SIZE_MAX ((uint64_t)INT64_MAX)

/* What a check hook returns when a path id names nothing (→ 404). */
#define API_CHECK_NOT_FOUND (-2)

struct api_op {
	const char *name;    /* the record's "op": "allocPages" */
	const char *method;  /* HTTP method of its route: "POST" (NULL) or
			      * "DELETE" */
	const char *path;    /* HTTP route after /v1/machines/{m}: "/kernel:allocPages",
			      * ":tick"; "{x}" segments are path ids that become
			      * fields */
	const char *summary;
	const struct api_arg *args;
	int nargs;
	const struct api_field *results;
	int nresults;
	/* Checks ranges that depend on the machine (cpu < cpus, …) and that
	 * path ids exist; may be NULL.  Returns 0, -1 with err filled (→ 400)
	 * or API_CHECK_NOT_FOUND with err naming the path id (→ 404). */
	int (*check)(const struct mm_machine *m, const struct api_args *a,
		     struct api_error *err);
	/* Applies the operation: 0 or a negative -MM_E… errno (→ 422). */
	int (*apply)(struct mm_machine *m, const struct api_args *a,
		     union api_result *res);
	/* Encodes a successful result; returns a new reference. */
	json_t *(*encode)(const struct mm_machine *m, const struct api_args *a,
			  const union api_result *res);
	/* Frees what apply allocated in res (may be NULL); called after
	 * apply, whatever it returned. */
	void (*release)(union api_result *res);
};

/* Largest read or write (bytes): the data travels in one JSON record and
 * in the journal. */
#define API_IO_MAX (64u << 10)

extern const struct api_op api_ops[];
extern const size_t api_nops;

/* The HTTP method of op's route ("POST" unless the row says otherwise). */
const char *api_op_method(const struct api_op *op);
/* The op named name, or NULL. */
const struct api_op *api_op_find(const char *name);

/* Decoder flags. */
enum {
	/* Journal lines also carry "seq", "result" and "error" (SPEC §6). */
	API_DECODE_JOURNAL = 1u << 0,
};

/*
 * Decodes obj's fields against op's schema into *out: unknown fields,
 * missing required ones, wrong types and out-of-range values are rejected
 * (err names the field).  The key "op" is skipped (it selected the op).
 * String values are borrowed from obj.  Returns 0 or -1.
 */
int api_args_decode(const struct api_op *op, const json_t *obj, unsigned flags,
		    struct api_args *out, struct api_error *err);
/* Finds the record's op by "op" and decodes its arguments.  0 or -1. */
int api_op_decode(const json_t *record, unsigned flags, struct api_args *out,
		  struct api_error *err);

/*
 * Applies one operation record to machine m.  Returns 200 with *result set
 * (new reference), or 400 / 404 / 422 with *error set to the inner error
 * object {"code","status","message","details"} (new reference; wrap it with
 * api_error_wrap() for an HTTP body; a 404's details name the path id:
 * {"cache": NAME}, {"pid": 42}).  The machine is changed only when 200 or
 * 422 is returned (both are journaled results).
 */
int api_op_apply(struct mm_machine *m, const json_t *record, json_t **result,
		 json_t **error);
/* The same with decoder flags: API_DECODE_JOURNAL applies a journal line as
 * it is, its "seq", "result" and "error" ignored (mmsim run). */
int api_op_apply_flags(struct mm_machine *m, const json_t *record,
		       unsigned flags, json_t **result, json_t **error);

/* ---- errors: the SPEC §4 shape (api/error.c) ----------------------------- */
/* The canonical code of an HTTP status: 400 → "INVALID_ARGUMENT", … */
const char *api_status_code(int status);
/* Linux's text for an errno (positive or negated): "Cannot allocate memory". */
const char *api_errno_message(int err);
/*
 * A new inner error object {"code","status","message","details"}.  code
 * NULL = api_status_code(status); details is stolen (NULL = {}).
 */
json_t *api_error_vnew(int status, const char *code, json_t *details,
		       const char *fmt, va_list ap);
json_t *api_error_new(int status, const char *code, json_t *details,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 400 INVALID_ARGUMENT from a decode error; details.field names the field. */
json_t *api_error_invalid(const struct api_error *e);
/* 422 for op failing with errno err: code "ENOMEM", details.op. */
json_t *api_error_errno(const char *op, int err);
/* {"error": inner}; inner is stolen. */
json_t *api_error_wrap(json_t *inner);

/* ---- OpenAPI 3.1 (api/openapi.c) ------------------------------------------ */
/*
 * A fixed (non-operation) route for the document.  request / response name
 * a schema in components/schemas (NULL: none; response "text" = a
 * text/plain answer with a JSON alternative).
 */
struct api_route_doc {
	const char *method;  /* "GET", "POST", "DELETE" */
	const char *path;    /* "/v1/machines/{m}" */
	const char *summary;
	int status;          /* success status */
	const char *request;
	const char *response;
	const char *query;   /* comma-separated query parameters, or NULL */
};
/*
 * The OpenAPI 3.1 document: every operation of api_ops as
 * POST (or its method) /v1/machines/{m}<path> with its generated request and
 * result schemas, the record schemas used by :batch, and the n fixed routes.
 * Returns a new reference.
 */
json_t *api_openapi(const struct api_route_doc *routes, size_t n,
		    const char *version);

#endif
