/*
 * openapi.c — the OpenAPI 3.1 document, generated (never hand-written):
 *
 *   - for each row of api_ops: POST (or the row's method) on
 *     /v1/machines/{m}<path>, whose request body schema is built from the
 *     argument table minus the path ids (types, ranges, enums, required,
 *     additionalProperties: false; no body when every argument is in the
 *     path), whose 200 schema is built from the result fields, plus the
 *     400/404/413/415/422 error answers;
 *     and a record schema {"op": NAME, …} per operation for :batch;
 *   - for each fixed route the server passes in (its own routing table):
 *     method, path parameters, query parameters, request/answer schemas;
 *   - the shared component schemas those routes name (Error, Machine, …).
 */
#include "api/ops.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* JSON Schema of one argument. */
static json_t *api__arg_schema(const struct api_arg *a)
{
	json_t *s;

	switch (a->type) {
	case API_T_INT:
		s = json_pack("{s:s, s:I, s:I}", "type", "integer", "minimum",
			      (json_int_t)a->lo, "maximum", (json_int_t)a->hi);
		if (!a->required)
			json_object_set_new(s, "default", json_integer(a->dflt));
		break;
	case API_T_SIZE:
		s = json_pack("{s:[{s:s, s:i}, {s:s, s:s}]}", "oneOf", "type",
			      "integer", "minimum", 0, "type", "string", "pattern",
			      "^[0-9]+(K|k|KiB|M|MiB|G|GiB|T|TiB)?$");
		break;
	case API_T_ADDR:
		s = json_pack("{s:[{s:s, s:i}, {s:s, s:s}]}", "oneOf", "type",
			      "integer", "minimum", 0, "type", "string", "pattern",
			      "^(0[xX][0-9a-fA-F]+|[0-9]+)$");
		break;
	case API_T_PROT:
		s = json_pack("{s:s, s:s}", "type", "string", "pattern",
			      "^[r-][w-][x-]$");
		break;
	case API_T_BASE64:
		s = json_pack("{s:s, s:s, s:s}", "type", "string",
			      "contentEncoding", "base64", "pattern",
			      "^[A-Za-z0-9+/]*={0,2}$");
		break;
	case API_T_GFP:
	case API_T_SLAB_FLAGS:
	case API_T_MAP_FLAGS: {
		const char *const *list = a->type == API_T_GFP ? mm_gfp_names
					  : a->type == API_T_SLAB_FLAGS
						  ? mm_slab_flag_names
						  : api_map_flag_names;
		json_t *names = json_array();
		for (int k = 0; list[k]; k++)
			json_array_append_new(names, json_string(list[k]));
		s = json_pack("{s:s, s:{s:s, s:o}}", "type", "array", "items",
			      "type", "string", "enum", names);
		break;
	}
	case API_T_ENUM: {
		json_t *names = json_array();
		for (int k = 0; a->names[k]; k++)
			json_array_append_new(names, json_string(a->names[k]));
		s = json_pack("{s:s, s:o}", "type", "string", "enum", names);
		if (!a->required)
			json_object_set_new(s, "default",
					    json_string(a->names[a->dflt]));
		break;
	}
	case API_T_INT_ARRAY:
		s = json_pack("{s:s, s:I, s:{s:s, s:i, s:I}}", "type", "array",
			      "maxItems", (json_int_t)a->hi, "items", "type",
			      "integer", "minimum", 0, "maximum",
			      (json_int_t)a->uhi);
		break;
	case API_T_STRING:
		s = json_pack("{s:s, s:I}", "type", "string", "maxLength",
			      (json_int_t)a->hi);
		break;
	case API_T_BOOL:
	default:
		s = json_pack("{s:s}", "type", "boolean");
		if (!a->required)
			json_object_set_new(s, "default", json_boolean(a->dflt));
		break;
	}
	if (a->doc)
		json_object_set_new(s, "description", json_string(a->doc));
	return s;
}

/* Whether "{name}" is a segment of path. */
static bool api__in_path(const char *path, const char *name)
{
	char pat[80];
	snprintf(pat, sizeof(pat), "{%s}", name);
	return strstr(path, pat) != NULL;
}

/* The object schema of op's arguments; with_op adds "op": const. */
static json_t *api__args_schema(const struct api_op *op, bool with_op)
{
	json_t *props = json_object(), *req = json_array();

	if (with_op) {
		json_object_set_new(props, "op", json_pack("{s:s}", "const", op->name));
		json_array_append_new(req, json_string("op"));
	}
	for (int k = 0; k < op->nargs; k++) {
		const struct api_arg *a = &op->args[k];
		/* Path ids are fields of the record but not of the body. */
		if (!with_op && api__in_path(op->path, a->name))
			continue;
		json_object_set_new(props, a->name, api__arg_schema(a));
		if (a->required)
			json_array_append_new(req, json_string(a->name));
	}
	return json_pack("{s:s, s:o, s:o, s:b, s:s}", "type", "object",
			 "properties", props, "required", req,
			 "additionalProperties", 0, "description", op->summary);
}

static json_t *api__result_schema(const struct api_op *op)
{
	json_t *props = json_object(), *req = json_array();

	for (int k = 0; k < op->nresults; k++) {
		const struct api_field *f = &op->results[k];
		/* "string|null" → ["string", "null"] (OpenAPI 3.1 types) */
		const char *bar = strchr(f->json_type, '|');
		json_t *type = bar ? json_pack("[s#, s]", f->json_type,
					       (int)(bar - f->json_type), bar + 1)
				   : json_string(f->json_type);
		json_object_set_new(props, f->name,
				    json_pack("{s:o, s:s}", "type", type,
					      "description", f->doc));
		json_array_append_new(req, json_string(f->name));
	}
	return json_pack("{s:s, s:o, s:o}", "type", "object", "properties",
			 props, "required", req);
}

static json_t *api__ref(const char *name)
{
	char ref[128];
	snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
	return json_pack("{s:s}", "$ref", ref);
}

static json_t *api__json_content(json_t *schema)
{
	return json_pack("{s:{s:o}}", "application/json", "schema", schema);
}

static json_t *api__error_response(const char *what)
{
	return json_pack("{s:s, s:o}", "description", what, "content",
			 api__json_content(api__ref("Error")));
}

/* Path parameters of a path: {m} is a machine id, others are strings
 * unless op declares an argument of that name (then its schema). */
static json_t *api__path_params(const char *path, const struct api_op *op)
{
	json_t *params = json_array();

	for (const char *p = strchr(path, '{'); p; p = strchr(p + 1, '{')) {
		const char *e = strchr(p, '}');
		if (!e || e - p - 1 <= 0 || e - p - 1 >= 64)
			break;
		char name[64];
		memcpy(name, p + 1, (size_t)(e - p - 1));
		name[e - p - 1] = '\0';
		json_t *schema = NULL;
		const char *doc = "path id";
		if (!strcmp(name, "m")) {
			schema = json_pack("{s:s, s:s}", "type", "string", "pattern",
					   "^m-[1-9][0-9]*$");
			doc = "machine id (\"m-1\")";
		}
		for (int k = 0; !schema && op && k < op->nargs; k++)
			if (!strcmp(op->args[k].name, name))
				schema = api__arg_schema(&op->args[k]);
		if (!schema)
			schema = json_pack("{s:s}", "type", "string");
		json_array_append_new(params,
				      json_pack("{s:s, s:s, s:b, s:s, s:o}", "name",
						name, "in", "path", "required", 1,
						"description", doc, "schema", schema));
	}
	return params;
}

/* "page_size:integer,page_token:string" → query parameter objects. */
static void api__query_params(json_t *params, const char *spec)
{
	while (spec && *spec) {
		const char *comma = strchr(spec, ',');
		size_t len = comma ? (size_t)(comma - spec) : strlen(spec);
		char item[80], *type;
		snprintf(item, sizeof(item), "%.*s", (int)(len < 79 ? len : 79), spec);
		type = strchr(item, ':');
		if (type)
			*type++ = '\0';
		json_array_append_new(params,
				      json_pack("{s:s, s:s, s:b, s:{s:s}}", "name",
						item, "in", "query", "required", 0,
						"schema", "type", type ? type : "string"));
		spec = comma ? comma + 1 : NULL;
	}
}

/* paths[path][lowercase method] = operation (a new reference is taken). */
static void api__set_operation(json_t *paths, const char *path,
			       const char *method, json_t *operation)
{
	json_t *item = json_object_get(paths, path);
	char m[16];

	if (!item) {
		item = json_object();
		json_object_set_new(paths, path, item);
	}
	snprintf(m, sizeof(m), "%s", method);
	for (char *c = m; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	json_object_set_new(item, m, operation);
}

/* ---- fixed component schemas ----------------------------------------------- */

static json_t *api__obj(const char *desc, json_t *props, json_t *required)
{
	return json_pack("{s:s, s:s, s:o, s:o}", "type", "object", "description",
			 desc, "properties", props, "required", required);
}

static void api__fixed_schemas(json_t *schemas, json_t *record_refs)
{
	json_t *eprops = json_pack(
		"{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}", "code", "type", "string",
		"status", "type", "integer", "message", "type", "string",
		"details", "type", "object");
	json_object_set_new(schemas, "Error", api__obj(
		"The one error shape (SPEC §4)",
		json_pack("{s:{s:s, s:o, s:[s,s,s,s]}}", "error", "type", "object",
			  "properties", eprops, "required", "code", "status",
			  "message", "details"),
		json_pack("[s]", "error")));
	json_object_set_new(schemas, "Config", json_pack(
		"{s:s, s:s}", "type", "object", "description",
		"Machine configuration (SPEC §3); every key optional, unknown keys "
		"rejected: arch, memory, nodes, distance, zones_managed_pages, cpus, "
		"swap, page_policy, min_free_kbytes, watermark_scale_factor, "
		"zero_page, fault_around_bytes, swappiness, overcommit, "
		"overcommit_ratio, kswapd_pages_per_tick, seed, max_map_count, "
		"pid_max, randomize_va_space, event_ring"));
	json_object_set_new(schemas, "MachineCreate", json_pack(
		"{s:s, s:{s:{s:s, s:i}, s:o}, s:b}", "type", "object", "properties",
		"name", "type", "string", "maxLength", 63, "config",
		api__ref("Config"), "additionalProperties", 0));
	json_object_set_new(schemas, "Machine", api__obj(
		"A simulated machine",
		json_pack("{s:{s:s}, s:{s:[s,s]}, s:o, s:{s:s}}", "id", "type",
			  "string", "name", "type", "string", "null", "config",
			  api__ref("Config"), "seq", "type", "integer"),
		json_pack("[s,s,s,s]", "id", "name", "config", "seq")));
	json_object_set_new(schemas, "MachineList", api__obj(
		"A page of machines; next_page_token is \"\" on the last page",
		json_pack("{s:{s:s, s:o}, s:{s:s}}", "items", "type", "array",
			  "items", api__ref("Machine"), "next_page_token", "type",
			  "string"),
		json_pack("[s,s]", "items", "next_page_token")));
	json_object_set_new(schemas, "Tenant", json_pack(
		"{s:s, s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}}", "type",
		"object", "description", "A tenant (admin routes).  PUT sends "
		"{\"quotas\"?: {machines, memory, requests_per_second, burst}}; "
		"answers carry id, quotas (in force), quotas_given, usage, and "
		"api_key once (creation, :rotateKey)", "properties", "id", "type",
		"string", "api_key", "type", "string", "quotas", "type", "object",
		"usage", "type", "object"));
	json_object_set_new(schemas, "TenantList", api__obj(
		"A page of tenants by id; next_page_token is \"\" on the last page",
		json_pack("{s:{s:s, s:o}, s:{s:s}}", "items", "type", "array",
			  "items", api__ref("Tenant"), "next_page_token", "type",
			  "string"),
		json_pack("[s,s]", "items", "next_page_token")));
	json_object_set_new(schemas, "Empty", json_pack(
		"{s:s, s:b}", "type", "object", "additionalProperties", 0));
	json_object_set_new(schemas, "Batch", json_pack(
		"{s:s, s:{s:{s:s, s:{s:s, s:o, s:{s:s}}}, s:{s:s, s:b}}, s:[s], s:b, "
		"s:s}",
		"type", "object", "properties", "ops", "type", "array", "items",
		"type", "object", "oneOf", record_refs, "discriminator", "propertyName", "op",
		"stop_on_error", "type", "boolean", "default", 1, "required", "ops",
		"additionalProperties", 0, "description",
		"Operation records applied in order; not atomic; a 422 counts as "
		"an error"));
	json_object_set_new(schemas, "BatchResult", api__obj(
		"One entry per record that ran",
		json_pack("{s:{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}, s:o}, s:[s]}}}",
			  "results", "type", "array", "items", "type", "object",
			  "properties", "ok", "type", "boolean", "result", "type",
			  "object", "error", api__ref("Error"), "required", "ok"),
		json_pack("[s]", "results")));
	json_object_set_new(schemas, "Check", api__obj(
		"Invariant checker verdict",
		json_pack("{s:{s:s}, s:{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}}}}}",
			  "ok", "type", "boolean", "violations", "type", "array",
			  "items", "type", "object", "properties", "invariant",
			  "type", "string", "detail", "type", "string"),
		json_pack("[s,s]", "ok", "violations")));
	json_object_set_new(schemas, "Digest", api__obj(
		"State hash after operation seq",
		json_pack("{s:{s:s}, s:{s:s}}", "digest", "type", "string", "seq",
			  "type", "integer"),
		json_pack("[s,s]", "digest", "seq")));
	json_object_set_new(schemas, "Seq", api__obj(
		"The machine's seq after the change",
		json_pack("{s:{s:s}}", "seq", "type", "integer"),
		json_pack("[s]", "seq")));
	json_object_set_new(schemas, "Rewind", json_pack(
		"{s:s, s:{s:{s:s, s:i}}, s:[s], s:b}", "type", "object",
		"properties", "seq", "type", "integer", "minimum", 0, "required",
		"seq", "additionalProperties", 0));
	json_object_set_new(schemas, "Clone", json_pack(
		"{s:s, s:{s:{s:s, s:i}}, s:b}", "type", "object", "properties",
		"seq", "type", "integer", "minimum", 0, "additionalProperties", 0));
	json_object_set_new(schemas, "SnapshotCreate", json_pack(
		"{s:s, s:{s:{s:s, s:s}}, s:b}", "type", "object", "properties",
		"name", "type", "string", "pattern", "^[A-Za-z0-9._-]{1,63}$",
		"additionalProperties", 0));
	json_object_set_new(schemas, "Snapshot", api__obj(
		"A named point of the history with its image",
		json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "name", "type", "string",
			  "seq", "type", "integer", "automatic", "type", "boolean"),
		json_pack("[s,s,s]", "name", "seq", "automatic")));
	json_object_set_new(schemas, "Items", api__obj(
		"A list", json_pack("{s:{s:s}}", "items", "type", "array"),
		json_pack("[s]", "items")));
	json_object_set_new(schemas, "Frames", api__obj(
		"Frame states, one character per frame from start (see legend)",
		json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}", "start",
			  "type", "integer", "count", "type", "integer", "nr_pfns",
			  "type", "integer", "states", "type", "string", "legend",
			  "type", "object"),
		json_pack("[s,s,s,s,s]", "start", "count", "nr_pfns", "states",
			  "legend")));
	json_object_set_new(schemas, "File", api__obj(
		"An in-memory file and its page cache",
		json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}", "name",
			  "type", "string", "size", "type", "integer", "inode",
			  "type", "integer", "cached_pages", "type", "integer",
			  "dirty_pages", "type", "integer"),
		json_pack("[s,s,s,s,s]", "name", "size", "inode", "cached_pages",
			  "dirty_pages")));
	json_object_set_new(schemas, "Frame", api__obj(
		"One frame descriptor: flags, counts, zone, migrate type, state "
		"(the frame-map character) and rmap (every pid and address "
		"mapping it)",
		json_pack("{s:{s:s}, s:{s:s, s:{s:s}}, s:{s:s}, s:{s:s}}", "pfn",
			  "type", "integer", "flags", "type", "array", "items",
			  "type", "string", "refcount", "type", "integer",
			  "mapcount", "type", "integer"),
		json_pack("[s,s,s,s]", "pfn", "flags", "refcount", "mapcount")));
	/* The kernel allocators' read routes; a cache is what
	 * kmemCacheCreate answers (one definition: its result fields). */
	const struct api_op *create = api_op_find("kmemCacheCreate");
	if (create)
		json_object_set_new(schemas, "KmemCache", api__result_schema(create));
	json_object_set_new(schemas, "KmemCacheList", api__obj(
		"A page of kmem caches, oldest first; next_page_token is \"\" on "
		"the last page",
		json_pack("{s:{s:s, s:o}, s:{s:s}}", "items", "type", "array",
			  "items", api__ref("KmemCache"), "next_page_token",
			  "type", "string"),
		json_pack("[s,s]", "items", "next_page_token")));
	json_object_set_new(schemas, "Translation", api__obj(
		"A kernel virtual address translated: __pa() for the direct map "
		"(empty walk), a walk of the kernel page table for vmalloc and "
		"pkmap addresses (or of a process's for a user address); kind "
		"is direct-map, vmalloc, pkmap, user, swap (a user PTE holding "
		"a swap entry: swap names its type and offset) or unmapped; "
		"pfn and phys are null when no frame backs it",
		json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:[s,s]}, s:{s:[s,s]}, "
			  "s:{s:[s,s], s:{s:{s:s}, s:{s:s}}}, "
			  "s:{s:s, s:{s:s, s:{s:{s:s}, s:{s:s}, s:{s:s}, "
			  "s:{s:s}}}}}",
			  "addr", "type", "string", "kind", "type", "string",
			  "mapped", "type", "boolean", "pfn", "type", "integer",
			  "null", "phys", "type", "string", "null",
			  "swap", "type", "object", "null", "properties", "type",
			  "type", "integer", "offset", "type", "integer",
			  "walk", "type",
			  "array", "items", "type", "object", "properties",
			  "level", "type", "integer", "table_pfn", "type",
			  "integer", "index", "type", "integer", "entry", "type",
			  "string"),
		json_pack("[s,s,s,s,s,s]", "addr", "kind", "mapped", "pfn",
			  "phys", "walk")));
	json_object_set_new(schemas, "Ksize", api__obj(
		"ksize(): usable bytes of an allocated object",
		json_pack("{s:{s:s}}", "size", "type", "integer"),
		json_pack("[s]", "size")));
	/* Processes: the list items (the first proc_summary fields), and the
	 * one-process object with its address-space summary (all of them). */
	enum { proc_summary = 9 };
	static const char *const proc_fields[][3] = {
		{"pid", "integer", "process id"},
		{"ppid", "integer", "parent's pid (0: none)"},
		{"state", "string", "\"running\""},
		{"cpu", "integer", "CPU it runs on"},
		{"name", "string", "its comm"},
		{"rss", "integer", "resident pages (VmRSS in pages)"},
		{"min_flt", "integer", "minor faults"},
		{"maj_flt", "integer", "major faults"},
		{"vm_size", "integer", "VmSize in bytes"},
		{"oom_score_adj", "integer", "-1000 .. 1000"},
		{"rss_limit_pages", "integer|null", "resident limit; null: none"},
		{"mmap_base", "string", "mmap_base, lowercase hex"},
		{"start_brk", "string", "start of the heap, lowercase hex"},
		{"brk", "string", "the program break, lowercase hex"},
		{"map_count", "integer", "number of VMAs"},
	};
	json_t *sum = json_object(), *sum_req = json_array(),
	       *full = json_object(), *full_req = json_array();
	for (size_t k = 0; k < sizeof(proc_fields) / sizeof(proc_fields[0]); k++) {
		const char *type = proc_fields[k][1];
		json_t *t = strcmp(type, "integer|null")
				    ? json_string(type)
				    : json_pack("[s, s]", "integer", "null");
		json_t *p = json_pack("{s:o, s:s}", "type", t, "description",
				      proc_fields[k][2]);
		if (k < proc_summary) {
			json_object_set(sum, proc_fields[k][0], p);
			json_array_append_new(sum_req, json_string(proc_fields[k][0]));
		}
		json_object_set_new(full, proc_fields[k][0], p);
		json_array_append_new(full_req, json_string(proc_fields[k][0]));
	}
	json_object_set_new(schemas, "ProcessSummary", api__obj(
		"A live process", sum, sum_req));
	json_object_set_new(schemas, "Process", api__obj(
		"A live process and its address-space summary", full, full_req));
	json_object_set_new(schemas, "ProcessList", api__obj(
		"A page of processes in pid order; next_page_token is \"\" on the "
		"last page",
		json_pack("{s:{s:s, s:o}, s:{s:s}}", "items", "type", "array",
			  "items", api__ref("ProcessSummary"), "next_page_token",
			  "type", "string"),
		json_pack("[s,s]", "items", "next_page_token")));
	json_object_set_new(schemas, "Lab", api__obj(
		"A lab exercise without its solutions",
		json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
			  "s:{s:s}, s:{s:s}}", "id", "type", "string", "title",
			  "type", "string", "summary", "type", "string", "concept",
			  "type", "string", "config", "type", "object", "setup",
			  "type", "array", "tasks", "type", "array", "max", "type",
			  "integer"),
		json_pack("[s,s,s,s,s,s,s,s]", "id", "title", "summary", "concept",
			  "config", "setup", "tasks", "max")));
	json_object_set_new(schemas, "LabStart", api__obj(
		"The lab's machine, after its setup records",
		json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}}", "machine", "type",
			  "string", "lab", "type", "string", "seq", "type",
			  "integer", "setup", "type", "array"),
		json_pack("[s,s,s,s]", "machine", "lab", "seq", "setup")));
	json_object_set_new(schemas, "LabAttempt", json_pack(
		"{s:s, s:{s:{s:s}, s:{s:s, s:i}}, s:b}", "type", "object",
		"properties", "machine", "type", "string", "answers", "type",
		"object", "maxProperties", 64, "additionalProperties", 0));
	json_object_set_new(schemas, "LabResult", api__obj(
		"A graded attempt; feedback is at most 400 bytes per task",
		json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:{s:s, s:{s:{s:s}, "
			  "s:{s:s}, s:{s:s}, s:{s:s}}}}}", "lab", "type", "string",
			  "score", "type", "integer", "max", "type", "integer",
			  "tasks", "type", "array", "items", "type", "object",
			  "properties", "id", "type", "string", "ok", "type",
			  "boolean", "points", "type", "integer", "feedback",
			  "type", "string"),
		json_pack("[s,s,s,s]", "lab", "score", "max", "tasks")));
	json_object_set_new(schemas, "Status", api__obj(
		"Health", json_pack("{s:{s:s}}", "status", "type", "string"),
		json_pack("[s]", "status")));
	json_object_set_new(schemas, "OpenAPI", json_pack(
		"{s:s, s:s}", "type", "object", "description",
		"This document"));
}

json_t *api_openapi(const struct api_route_doc *routes, size_t n,
		    const char *version)
{
	json_t *doc = json_object(), *paths = json_object(),
	       *schemas = json_object(), *record_refs = json_array();
	char name[96];

	json_object_set_new(doc, "openapi", json_string("3.1.0"));
	json_object_set_new(doc, "info", json_pack(
		"{s:s, s:s, s:s}", "title", "mmsim", "version", version,
		"description", "A networked, deterministic Linux memory-manager "
		"simulator. Every mutating route is an operation record "
		"{\"op\": NAME, ...args}; the same records are accepted by :batch."));

	for (size_t i = 0; i < api_nops; i++) {
		const struct api_op *op = &api_ops[i];
		char path[160];

		snprintf(name, sizeof(name), "%sArgs", op->name);
		json_object_set_new(schemas, name, api__args_schema(op, false));
		snprintf(name, sizeof(name), "%sRecord", op->name);
		json_object_set_new(schemas, name, api__args_schema(op, true));
		json_array_append_new(record_refs, api__ref(name));
		snprintf(name, sizeof(name), "%sResult", op->name);
		json_object_set_new(schemas, name, api__result_schema(op));

		snprintf(path, sizeof(path), "/v1/machines/{m}%s", op->path);
		json_t *post = json_object();
		json_object_set_new(post, "operationId", json_string(op->name));
		json_object_set_new(post, "summary", json_string(op->summary));
		json_object_set_new(post, "parameters", api__path_params(path, op));
		/* A body only when some argument is not a path id. */
		bool body = false, ids = false;
		for (int k = 0; k < op->nargs; k++) {
			bool id = api__in_path(op->path, op->args[k].name);
			body |= !id;
			ids |= id;
		}
		snprintf(name, sizeof(name), "%sArgs", op->name);
		if (body)
			json_object_set_new(post, "requestBody", json_pack(
				"{s:b, s:o}", "required", 0, "content",
				api__json_content(api__ref(name))));
		snprintf(name, sizeof(name), "%sResult", op->name);
		json_object_set_new(post, "responses", json_pack(
			"{s:{s:s, s:o}, s:o, s:o, s:o, s:o, s:o}",
			"200", "description", "applied", "content",
			api__json_content(api__ref(name)),
			"400", api__error_response("invalid record (not applied)"),
			"404", api__error_response(ids ? "no such machine, or the "
						   "path id names nothing (not "
						   "applied)"
						   : "no such machine"),
			"413", api__error_response("body too large"),
			"415", api__error_response("unsupported content type"),
			"422", api__error_response("the simulated kernel returned an "
						   "errno (code = its name, "
						   "details.op)")));
		api__set_operation(paths, path, api_op_method(op), post);
	}

	api__fixed_schemas(schemas, record_refs);

	for (size_t i = 0; i < n; i++) {
		const struct api_route_doc *r = &routes[i];
		json_t *o = json_object(), *params = api__path_params(r->path, NULL);
		char status[8];

		api__query_params(params, r->query);
		json_object_set_new(o, "summary", json_string(r->summary));
		json_object_set_new(o, "parameters", params);
		if (r->request)
			json_object_set_new(o, "requestBody", json_pack(
				"{s:b, s:o}", "required", 0, "content",
				api__json_content(api__ref(r->request))));
		json_t *content;
		if (r->response && !strcmp(r->response, "text"))
			content = json_pack("{s:{s:{s:s}}, s:{s:{}}}",
					    "text/plain", "schema", "type", "string",
					    "application/json", "schema");
		else
			content = api__json_content(r->response ? api__ref(r->response)
							       : json_object());
		snprintf(status, sizeof(status), "%d", r->status);
		json_t *responses = json_object();
		json_object_set_new(responses, status, json_pack(
			"{s:s, s:o}", "description", r->summary, "content", content));
		json_object_set_new(responses, "4XX",
				    api__error_response("client error"));
		json_object_set_new(o, "responses", responses);
		api__set_operation(paths, r->path, r->method, o);
	}

	json_object_set_new(doc, "paths", paths);
	json_object_set_new(doc, "components",
			    json_pack("{s:o}", "schemas", schemas));
	return doc;
}
