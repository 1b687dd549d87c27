/*
 * test_ops.c — the operation table without HTTP: the schema decoder for
 * every wire type (on a synthetic op, so types no engine op uses yet are
 * covered too), api_op_apply's three status classes on a real machine, the
 * SPEC §4 error shape, the generated OpenAPI document, the kernel allocator
 * ops, and the process ops (spawn … exec, their 400/404/422 classes and the
 * JSON views of /proc/PID/maps, smaps and status).  Built as
 * build/api-op-tests with the in-tree harness (tests/harness.h).
 */
#include "api/ops.h"
#include "tests/harness.h"

#include <ctype.h>
#include <stdarg.h>

static json_t *tj(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!j)
		th_fail(__FILE__, __LINE__, "bad test JSON %s: %s", text, e.text);
	return j;
}

static const char *const colours[] = {"red", "green", NULL};
enum { A_N, A_SIZE, A_ADDR, A_GFP, A_COLOUR, A_LABEL, A_FLAG, A_SLAB, A_PROT,
       A_MAP, A_B64 };
static const struct api_arg demo_args[] = {
	[A_N] = {"n", API_T_INT, true, -5, 5, 0, NULL, 0, "an int"},
	[A_SIZE] = {"size", API_T_SIZE, false, 0, 0, 1u << 20, NULL, 0, "a size"},
	[A_ADDR] = {"addr", API_T_ADDR, false, 0, 0, 0, NULL, 0, "an address"},
	[A_GFP] = {"gfp", API_T_GFP, false, 0, 0, 0, NULL, 0, "flags"},
	[A_COLOUR] = {"colour", API_T_ENUM, false, 0, 0, 0, colours, 1, "enum"},
	[A_LABEL] = {"label", API_T_STRING, false, 0, 8, 0, NULL, 0, "string"},
	[A_FLAG] = {"flag", API_T_BOOL, false, 0, 0, 0, NULL, 1, "bool"},
	[A_SLAB] = {"slab", API_T_SLAB_FLAGS, false, 0, 0, 0, NULL, 0, "slab flags"},
	[A_PROT] = {"prot", API_T_PROT, false, 0, 0, 0, NULL, 0, "prot"},
	[A_MAP] = {"map", API_T_MAP_FLAGS, false, 0, 0, 0, NULL, 0, "mmap flags"},
	[A_B64] = {"b64", API_T_BASE64, false, 0, 0, 0, NULL, 0, "base64"},
};
static const struct api_op demo = {
	.name = "demo", .path = "/demo", .summary = "a synthetic op",
	.args = demo_args, .nargs = (int)(sizeof(demo_args) / sizeof(demo_args[0])),
};

/*
 * Decodes text against demo; returns the error field ("" = success).  The
 * record lives until the next call (strings in *out are borrowed from it).
 */
static const char *decode(const char *text, struct api_args *out)
{
	static struct api_error err;
	static json_t *j;
	json_decref(j);
	j = tj(text);
	memset(&err, 0, sizeof(err));
	int rc = api_args_decode(&demo, j, 0, out, &err);
	if (rc == 0)
		return "";
	ASSERT(err.message[0] != '\0');
	return err.field;
}

TEST(ops_decode_every_type)
{
	struct api_args a;

	ASSERT_EQ_STR(decode("{\"n\": -5, \"size\": \"64K\", \"addr\": \"0x7f00\", "
			     "\"gfp\": [\"GFP_KERNEL\", \"__GFP_ZERO\"], "
			     "\"colour\": \"red\", \"label\": \"12345678\", "
			     "\"flag\": false, \"slab\": [\"SLAB_POISON\", "
			     "\"SLAB_HWCACHE_ALIGN\"], \"prot\": \"r-x\", "
			     "\"map\": [\"MAP_PRIVATE\", \"MAP_ANONYMOUS\", "
			     "\"MAP_FIXED_NOREPLACE\"], \"b64\": \"aGk=\"}", &a),
		      "");
	ASSERT_EQ(a.v[A_N].i, -5);
	ASSERT_EQ_U64(a.v[A_SIZE].u, 65536);
	ASSERT_EQ_HEX(a.v[A_ADDR].u, 0x7f00);
	ASSERT_EQ_HEX(a.v[A_GFP].gfp, MM_GFP_KERNEL | MM___GFP_ZERO);
	ASSERT_EQ(a.v[A_COLOUR].i, 0);
	ASSERT_EQ_STR(a.v[A_LABEL].s, "12345678");
	ASSERT_EQ(a.v[A_FLAG].i, 0);
	ASSERT_EQ_HEX(a.v[A_SLAB].flags, MM_SLAB_POISON | MM_SLAB_HWCACHE_ALIGN);
	ASSERT_EQ(a.v[A_PROT].prot, MM_PROT_READ | MM_PROT_EXEC);
	ASSERT_EQ_HEX(a.v[A_MAP].flags, MM_MAP_PRIVATE | MM_MAP_ANONYMOUS |
		      MM_MAP_FIXED_NOREPLACE);
	ASSERT_EQ_STR(a.v[A_B64].s, "aGk=");
	ASSERT_EQ(a.present, 0x7ff);
	ASSERT_EQ_STR(decode("{\"n\": 0, \"prot\": \"---\", \"map\": []}", &a), "");
	ASSERT_EQ(a.v[A_PROT].prot, MM_PROT_NONE);
	ASSERT_EQ(a.v[A_MAP].flags, 0);
	ASSERT_EQ_STR(decode("{\"n\": 0, \"prot\": \"rwx\"}", &a), "");
	ASSERT_EQ(a.v[A_PROT].prot, MM_PROT_READ | MM_PROT_WRITE | MM_PROT_EXEC);

	/* defaults for absent optional arguments */
	ASSERT_EQ_STR(decode("{\"n\": 0, \"op\": \"demo\"}", &a), "");
	ASSERT_EQ(a.present, 1);
	ASSERT_EQ(a.v[A_COLOUR].i, 1);
	ASSERT_EQ(a.v[A_FLAG].i, 1);
	ASSERT_EQ_U64(a.v[A_ADDR].u, 0);
}

TEST(ops_decode_rejects_and_names_the_field)
{
	struct api_args a;

	ASSERT_EQ_STR(decode("{}", &a), "n");
	ASSERT_EQ_STR(decode("{\"n\": 6}", &a), "n");
	ASSERT_EQ_STR(decode("{\"n\": -6}", &a), "n");
	ASSERT_EQ_STR(decode("{\"n\": 1.0}", &a), "n");
	ASSERT_EQ_STR(decode("{\"n\": \"1\"}", &a), "n");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"size\": \"2M\"}", &a), "size");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"size\": -1}", &a), "size");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"addr\": \"0xg\"}", &a), "addr");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"gfp\": [\"GFP_NOPE\"]}", &a), "gfp");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"colour\": \"blue\"}", &a), "colour");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"label\": \"123456789\"}", &a), "label");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"label\": \"a\\u0000b\"}", &a), "label");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"flag\": 1}", &a), "flag");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"slab\": [\"SLAB_NOPE\"]}", &a), "slab");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"slab\": \"SLAB_POISON\"}", &a), "slab");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"slab\": [7]}", &a), "slab");
	ASSERT_EQ_STR(decode("{\"n\": 0, \"extra\": 1}", &a), "extra");
	/* protections and mmap flags: names only, no numbers */
	static const char *const bad_prot[] = {"\"rwz\"", "\"rw\"", "\"rw--\"",
					       "\"wr-\"", "\"RW-\"", "\"\"", "3",
					       "[\"PROT_READ\"]", "null"};
	for (size_t i = 0; i < sizeof(bad_prot) / sizeof(bad_prot[0]); i++) {
		char text[80];
		snprintf(text, sizeof(text), "{\"n\": 0, \"prot\": %s}", bad_prot[i]);
		ASSERT_EQ_STR(decode(text, &a), "prot");
	}
	static const char *const bad_map[] = {"[\"MAP_PRIVTE\"]", "[2]",
					      "\"MAP_PRIVATE\"", "[\"PROT_READ\"]",
					      "[\"map_private\"]", "34"};
	for (size_t i = 0; i < sizeof(bad_map) / sizeof(bad_map[0]); i++) {
		char text[80];
		snprintf(text, sizeof(text), "{\"n\": 0, \"map\": %s}", bad_map[i]);
		ASSERT_EQ_STR(decode(text, &a), "map");
	}
	/* base64: the alphabet, padding only at the end and to a multiple of 4 */
	static const char *const bad_b64[] = {"\"a*b=\"", "\"QUJD=\"",
					      "\"QUJDRA===\"", "\"Q\"", "\"QU\\nJD\"",
					      "\"QU=D\"", "\"====\"", "7"};
	for (size_t i = 0; i < sizeof(bad_b64) / sizeof(bad_b64[0]); i++) {
		char text[80];
		snprintf(text, sizeof(text), "{\"n\": 0, \"b64\": %s}", bad_b64[i]);
		ASSERT_EQ_STR(decode(text, &a), "b64");
	}
	/* journal keys only with API_DECODE_JOURNAL */
	ASSERT_EQ_STR(decode("{\"n\": 0, \"seq\": 3}", &a), "seq");
	struct api_error err;
	json_t *j = tj("{\"n\": 0, \"seq\": 3, \"result\": {}, \"error\": {}}");
	ASSERT_EQ(api_args_decode(&demo, j, API_DECODE_JOURNAL, &a, &err), 0);
	json_decref(j);
}

static struct mm_machine *small_machine(void)
{
	struct mm_config cfg;
	struct mm_machine *m;
	char err[200];

	mm_config_default(&cfg);
	cfg.memory = 16u << 20;
	if (mm_machine_create(&cfg, &m, err, sizeof(err)))
		th_fail(__FILE__, __LINE__, "machine: %s", err);
	return m;
}

static int apply(struct mm_machine *m, const char *text, json_t **res,
		 json_t **error)
{
	json_t *rec = tj(text);
	int st = api_op_apply(m, rec, res, error);
	json_decref(rec);
	ASSERT((st == 200) == (*res != NULL));
	ASSERT((st == 200) == (*error == NULL));
	return st;
}

TEST(ops_apply_status_classes)
{
	struct mm_machine *m = small_machine();
	json_t *res, *e;
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];

	mm_digest(m, d0);
	ASSERT_EQ(apply(m, "{\"op\": \"allocPages\", \"order\": 2, \"gfp\": "
		  "[\"GFP_KERNEL\"]}", &res, &e), 200);
	json_int_t pfn = json_integer_value(json_object_get(res, "pfn"));
	ASSERT_EQ(json_integer_value(json_object_get(res, "order")), 2);
	ASSERT_EQ_STR(json_string_value(json_object_get(res, "zone")), "DMA");
	json_decref(res);

	/* 400: not applied, named field; the machine is unchanged */
	mm_digest(m, d0);
	ASSERT_EQ(apply(m, "{\"op\": \"allocPages\", \"order\": 2, \"gfp\": [], "
		  "\"cpu\": 2}", &res, &e), 400);
	ASSERT_EQ_STR(json_string_value(json_object_get(e, "code")),
		      "INVALID_ARGUMENT");
	ASSERT_EQ_STR(json_string_value(json_object_get(
			      json_object_get(e, "details"), "field")), "cpu");
	json_decref(e);
	ASSERT_EQ(apply(m, "{\"op\": \"bogus\"}", &res, &e), 400);
	ASSERT_CONTAINS(json_string_value(json_object_get(e, "message")), "bogus");
	json_decref(e);
	ASSERT_EQ(apply(m, "[1]", &res, &e), 400);
	json_decref(e);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);

	/* 422: errno name as code, details.op */
	char rec[160];
	snprintf(rec, sizeof(rec), "{\"op\": \"freePages\", \"pfn\": %lld, "
		 "\"order\": 1}", (long long)pfn);
	ASSERT_EQ(apply(m, rec, &res, &e), 422);
	ASSERT_EQ_STR(json_string_value(json_object_get(e, "code")), "EINVAL");
	ASSERT_EQ(json_integer_value(json_object_get(e, "status")), 422);
	ASSERT_EQ_STR(json_string_value(json_object_get(
			      json_object_get(e, "details"), "op")), "freePages");
	json_decref(e);
	snprintf(rec, sizeof(rec), "{\"op\": \"freePages\", \"pfn\": %lld, "
		 "\"order\": 2}", (long long)pfn);
	ASSERT_EQ(apply(m, rec, &res, &e), 200);
	ASSERT_EQ(json_object_size(res), 0);
	json_decref(res);

	struct mm_violation v[4];
	ASSERT_EQ(mm_check(m, v, 4), 0);
	mm_machine_destroy(m);
}

TEST(ops_error_shape)
{
	json_t *e = api_error_new(404, NULL, NULL, "no machine \"%s\"", "m-\xff");
	json_t *wrapped = api_error_wrap(json_incref(e));
	char *s = json_dumps(wrapped, JSON_COMPACT);
	json_decref(wrapped);
	ASSERT_EQ_STR(s, "{\"error\":{\"code\":\"NOT_FOUND\",\"status\":404,"
		      "\"message\":\"no machine \\\"m-?\\\"\",\"details\":{}}}");
	free(s);
	json_decref(e);
	/* every wrapped error leaks nothing: json_incref above + wrap + dumps */
	e = api_error_errno("allocPages", -MM_ENOMEM);
	s = json_dumps(e, JSON_COMPACT);
	ASSERT_EQ_STR(s, "{\"code\":\"ENOMEM\",\"status\":422,\"message\":"
		      "\"allocPages: Cannot allocate memory (ENOMEM)\","
		      "\"details\":{\"op\":\"allocPages\"}}");
	free(s);
	json_decref(e);
	ASSERT_EQ_STR(api_status_code(413), "PAYLOAD_TOO_LARGE");
	ASSERT_EQ_STR(api_status_code(415), "UNSUPPORTED_MEDIA_TYPE");
}

TEST(ops_openapi_from_the_table)
{
	struct api_route_doc r = {"get", "/v1/things/{t}", "a thing", 200, NULL,
				  "Empty", "page_size:integer"};
	json_t *doc = api_openapi(&r, 1, "test");
	json_t *paths = json_object_get(doc, "paths");
	ASSERT(doc && paths);
	for (size_t i = 0; i < api_nops; i++) {
		char path[160];
		snprintf(path, sizeof(path), "/v1/machines/{m}%s", api_ops[i].path);
		char method[16];
		snprintf(method, sizeof(method), "%s", api_op_method(&api_ops[i]));
		for (char *c = method; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		json_t *post = json_object_get(json_object_get(paths, path), method);
		ASSERT(post != NULL);
		ASSERT_EQ_STR(json_string_value(json_object_get(post, "operationId")),
			      api_ops[i].name);
	}
	json_t *get = json_object_get(json_object_get(paths, "/v1/things/{t}"), "get");
	ASSERT(get != NULL);
	ASSERT_EQ(json_array_size(json_object_get(get, "parameters")), 2);
	/* a DELETE op route, with no body (its only argument is the path id) */
	json_t *del = json_object_get(json_object_get(
		paths, "/v1/machines/{m}/kmemCaches/{cache}"), "delete");
	ASSERT(del != NULL);
	ASSERT(json_object_get(del, "requestBody") == NULL);
	ASSERT_EQ(json_array_size(json_object_get(del, "parameters")), 2);
	json_t *schemas = json_object_get(json_object_get(doc, "components"),
					  "schemas");
	json_t *cache = json_object_get(json_object_get(json_object_get(
		schemas, "kmallocResult"), "properties"), "cache");
	char *t = json_dumps(json_object_get(cache, "type"), JSON_COMPACT);
	ASSERT_EQ_STR(t, "[\"string\",\"null\"]");
	free(t);
	json_t *flags = json_object_get(json_object_get(json_object_get(
		schemas, "kmemCacheCreateArgs"), "properties"), "flags");
	ASSERT_EQ_STR(json_string_value(json_array_get(json_object_get(
		json_object_get(flags, "items"), "enum"), 0)), "SLAB_HWCACHE_ALIGN");
	ASSERT(json_object_get(schemas, "KmemCache") != NULL);
	json_decref(doc);
}

/* ---- the kernel allocator ops ------------------------------------------------ */

static struct mm_machine *machine_of(const char *arch, uint64_t memory)
{
	struct mm_config cfg;
	struct mm_machine *m;
	char err[200];

	mm_config_default(&cfg);
	cfg.arch = strcmp(arch, "i386") ? MM_ARCH_X86_64 : MM_ARCH_I386;
	cfg.memory = memory;
	if (mm_machine_create(&cfg, &m, err, sizeof(err)))
		th_fail(__FILE__, __LINE__, "machine: %s", err);
	return m;
}

/* Applies a record built with printf; answers the status with *res or *error set
 * (the caller decrefs whichever is not NULL). */
static int applyf(struct mm_machine *m, json_t **res, json_t **error,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int applyf(struct mm_machine *m, json_t **res, json_t **error,
		  const char *fmt, ...)
{
	char text[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return apply(m, text, res, error);
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));
	return v ? v : "(not a string)";
}

/* Expects a 4xx/422 with code and (for 400) the field; frees the error. */
static void expect_err(int st, json_t *e, int want, const char *code,
		       const char *field)
{
	ASSERT_EQ(st, want);
	ASSERT_EQ_STR(jstr(e, "code"), code);
	json_t *d = json_object_get(e, "details");
	if (field)
		ASSERT_EQ_STR(jstr(d, "field"), field);
	json_decref(e);
}

/* call is an apply()/applyf() into &r, &e: its error is checked after it
 * ran (a macro, so that e is read after the call, not before). */
#define EXPECT_ERR(call, want, code, field)                                 \
	do {                                                                 \
		int st_ = (call);                                            \
		expect_err(st_, e, want, code, field);                       \
	} while (0)

static void assert_consistent(const struct mm_machine *m)
{
	struct mm_violation v[4];
	int n = mm_check(m, v, 4);
	if (n)
		th_fail(__FILE__, __LINE__, "%s: %s", v[0].invariant, v[0].detail);
}

TEST(ops_kmalloc_kfree)
{
	struct mm_machine *m = machine_of("x86_64", 64u << 20);
	json_t *r, *e;
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX], addr[40];

	ASSERT_EQ(apply(m, "{\"op\": \"kmalloc\", \"size\": 64, \"gfp\": "
		  "[\"GFP_KERNEL\"]}", &r, &e), 200);
	ASSERT_EQ(json_object_size(r), 2);
	ASSERT_EQ_STR(jstr(r, "cache"), "kmalloc-64");
	snprintf(addr, sizeof(addr), "%s", jstr(r, "addr"));
	ASSERT(!strncmp(addr, "0xffff888", 9));
	json_decref(r);
	ASSERT_EQ(mm_ksize(m, strtoull(addr, NULL, 16)), 64);
	/* a size with a unit, the dma type and a cpu */
	ASSERT_EQ(apply(m, "{\"op\": \"kmalloc\", \"size\": \"1K\", \"gfp\": "
		  "[\"GFP_KERNEL\", \"GFP_DMA\"], \"cpu\": 1}", &r, &e), 200);
	ASSERT_EQ_STR(jstr(r, "cache"), "dma-kmalloc-1k");
	json_decref(r);
	/* kmalloc_large and size 0 have no cache */
	ASSERT_EQ(apply(m, "{\"op\": \"kmalloc\", \"size\": \"16K\", \"gfp\": "
		  "[\"GFP_KERNEL\"]}", &r, &e), 200);
	ASSERT(json_is_null(json_object_get(r, "cache")));
	char large[40];
	snprintf(large, sizeof(large), "%s", jstr(r, "addr"));
	json_decref(r);
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"kfree\", \"addr\": \"%s\"}",
			 large), 200);
	json_decref(r);
	ASSERT_EQ(apply(m, "{\"op\": \"kmalloc\", \"size\": 0, \"gfp\": []}",
		  &r, &e), 200);
	ASSERT_EQ_STR(jstr(r, "addr"), "0x10");
	ASSERT(json_is_null(json_object_get(r, "cache")));
	json_decref(r);
	/* errno results: over KMALLOC_MAX_SIZE */
	EXPECT_ERR(apply(m, "{\"op\": \"kmalloc\", \"size\": \"8M\", \"gfp\": "
		   "[\"GFP_KERNEL\"]}", &r, &e), 422, "ENOMEM", NULL);
	/* 400s name the field */
	EXPECT_ERR(apply(m, "{\"op\": \"kmalloc\", \"size\": "
		   "\"9223372036854775808\", \"gfp\": []}", &r, &e), 400,
		   "INVALID_ARGUMENT", "size");
	EXPECT_ERR(apply(m, "{\"op\": \"kmalloc\", \"size\": 8, \"gfp\": [], "
		   "\"cpu\": 2}", &r, &e), 400, "INVALID_ARGUMENT", "cpu");
	EXPECT_ERR(apply(m, "{\"op\": \"kmalloc\", \"gfp\": []}", &r, &e), 400,
		   "INVALID_ARGUMENT", "size");
	EXPECT_ERR(apply(m, "{\"op\": \"kfree\", \"addr\": \"0xzz\"}", &r, &e),
		   400, "INVALID_ARGUMENT", "addr");
	/* kfree, then the double free: EINVAL and nothing changes */
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"kfree\", \"addr\": \"%s\"}",
			 addr), 200);
	ASSERT_EQ(json_object_size(r), 0);
	json_decref(r);
	mm_digest(m, d0);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"kfree\", \"addr\": \"%s\"}",
			  addr), 422, "EINVAL", NULL);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	/* kfree(NULL) is a no-op */
	ASSERT_EQ(apply(m, "{\"op\": \"kfree\", \"addr\": 0}", &r, &e), 200);
	json_decref(r);
	assert_consistent(m);
	mm_machine_destroy(m);
}

TEST(ops_kmem_cache_life_cycle)
{
	struct mm_machine *m = machine_of("x86_64", 64u << 20);
	json_t *r, *e;
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX], addr[40];

	ASSERT_EQ(apply(m, "{\"op\": \"kmemCacheCreate\", \"name\": \"demo\", "
		  "\"size\": 100, \"flags\": [\"SLAB_HWCACHE_ALIGN\"]}", &r, &e),
		  200);
	ASSERT_EQ_STR(jstr(r, "name"), "demo");
	ASSERT_EQ(json_integer_value(json_object_get(r, "object_size")), 100);
	ASSERT_EQ(json_integer_value(json_object_get(r, "size")), 128);
	ASSERT_EQ(json_integer_value(json_object_get(r, "align")), 64);
	ASSERT_EQ(json_integer_value(json_object_get(r, "objects_per_slab")), 32);
	ASSERT_EQ(json_integer_value(json_object_get(r, "pages_per_slab")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(r, "num_objs")), 0);
	ASSERT_EQ_STR(json_string_value(json_array_get(json_object_get(r, "flags"),
						       0)), "SLAB_HWCACHE_ALIGN");
	ASSERT(json_is_false(json_object_get(r, "builtin")));
	json_decref(r);
	/* the name is taken: EEXIST is the kernel's answer (422, not 409) */
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheCreate\", \"name\": \"demo\", "
		   "\"size\": 8}", &r, &e), 422, "EEXIST", NULL);
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheCreate\", \"name\": "
		   "\"kmalloc-64\", \"size\": 8}", &r, &e), 422, "EEXIST", NULL);
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheCreate\", \"name\": \"z\", "
		   "\"size\": 0}", &r, &e), 422, "EINVAL", NULL);
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheCreate\", \"name\": \"z\", "
		   "\"size\": 8, \"align\": 24}", &r, &e), 422, "EINVAL", NULL);
	static const char *const bad_names[] = {"\"\"", "\"a/b\"", "\"a:b\"",
						 "\"a b\"", "\"\\u00e9\"",
						 "\"0123456789012345678901234567890123\"",
						 "7"};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"kmemCacheCreate\", "
				  "\"name\": %s, \"size\": 8}", bad_names[i]),
			   400, "INVALID_ARGUMENT", "name");
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheCreate\", \"name\": \"z\", "
		   "\"size\": 8, \"flags\": [\"SLAB_NOPE\"]}", &r, &e), 400,
		   "INVALID_ARGUMENT", "flags");
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheCreate\", \"name\": \"z\", "
		   "\"size\": \"8G\"}", &r, &e), 400, "INVALID_ARGUMENT", "size");

	/* alloc, then destroy while the object lives: EBUSY */
	ASSERT_EQ(apply(m, "{\"op\": \"kmemCacheAlloc\", \"cache\": \"demo\", "
		  "\"gfp\": [\"GFP_KERNEL\"]}", &r, &e), 200);
	snprintf(addr, sizeof(addr), "%s", jstr(r, "addr"));
	json_decref(r);
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheDestroy\", \"cache\": \"demo\"}",
			 &r, &e), 422, "EBUSY", NULL);
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheDestroy\", \"cache\": "
		   "\"kmalloc-64\"}", &r, &e), 422, "EPERM", NULL);
	/* kfree of a kmem_cache_alloc object, a free into the wrong cache */
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"kfree\", \"addr\": \"%s\"}",
			  addr), 422, "EINVAL", NULL);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"kmemCacheFree\", \"cache\": "
			  "\"kmalloc-128\", \"addr\": \"%s\"}", addr), 422,
		   "EINVAL", NULL);
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"kmemCacheFree\", \"cache\": "
			 "\"demo\", \"addr\": \"%s\", \"cpu\": 1}", addr), 200);
	json_decref(r);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"kmemCacheFree\", \"cache\": "
			  "\"demo\", \"addr\": \"%s\"}", addr), 422, "EINVAL",
		   NULL);
	/* an unknown cache: 404 naming it, nothing applied */
	mm_digest(m, d0);
	int st = apply(m, "{\"op\": \"kmemCacheAlloc\", \"cache\": \"nope\", "
		       "\"gfp\": []}", &r, &e);
	ASSERT_EQ(st, 404);
	ASSERT_EQ_STR(jstr(e, "code"), "NOT_FOUND");
	ASSERT_EQ_STR(jstr(json_object_get(e, "details"), "cache"), "nope");
	ASSERT_CONTAINS(jstr(e, "message"), "nope");
	json_decref(e);
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheShrink\", \"cache\": \"nope\"}",
			 &r, &e), 404, "NOT_FOUND", NULL);
	/* a 400 of a known cache is still a 400 (cpu), a 404 wins over it */
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheAlloc\", \"cache\": \"demo\", "
		   "\"gfp\": [], \"cpu\": 9}", &r, &e), 400, "INVALID_ARGUMENT",
		   "cpu");
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	/* shrink gives the (now empty) cpu slab back: one page */
	ASSERT_EQ(apply(m, "{\"op\": \"kmemCacheShrink\", \"cache\": \"demo\"}",
			&r, &e), 200);
	ASSERT_EQ(json_integer_value(json_object_get(r, "freed")), 1);
	json_decref(r);
	ASSERT_EQ(apply(m, "{\"op\": \"kmemCacheDestroy\", \"cache\": \"demo\"}",
			&r, &e), 200);
	ASSERT_EQ(json_object_size(r), 0);
	json_decref(r);
	ASSERT_EQ(mm_kmem_cache_lookup(m, "demo"), -MM_ENOENT);
	EXPECT_ERR(apply(m, "{\"op\": \"kmemCacheDestroy\", \"cache\": \"demo\"}",
			 &r, &e), 404, "NOT_FOUND", NULL);
	assert_consistent(m);
	mm_machine_destroy(m);
}

TEST(ops_vmalloc_kmap)
{
	struct mm_machine *m = machine_of("x86_64", 64u << 20);
	json_t *r, *e;
	char addr[40];

	ASSERT_EQ(apply(m, "{\"op\": \"vmalloc\", \"size\": \"10K\"}", &r, &e),
		  200);
	snprintf(addr, sizeof(addr), "%s", jstr(r, "addr"));
	ASSERT_EQ_STR(addr, "0xffffc90000000000");
	json_decref(r);
	ASSERT_EQ(m->nr_vm_areas, 1);
	ASSERT_EQ(m->vm_areas[0].nr_pages, 3);
	EXPECT_ERR(apply(m, "{\"op\": \"vmalloc\", \"size\": 0}", &r, &e), 422,
		   "EINVAL", NULL);
	EXPECT_ERR(apply(m, "{\"op\": \"vmalloc\", \"size\": \"1G\"}", &r, &e),
		   422, "ENOMEM", NULL);
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"vfree\", \"addr\": \"%s\"}",
			 addr), 200);
	json_decref(r);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"vfree\", \"addr\": \"%s\"}",
			  addr), 422, "EINVAL", NULL);
	/* kmap of a lowmem frame is its direct-map address */
	ASSERT_EQ(apply(m, "{\"op\": \"kmap\", \"pfn\": 4096}", &r, &e), 200);
	ASSERT_EQ_STR(jstr(r, "addr"), "0xffff888001000000");
	json_decref(r);
	ASSERT_EQ(apply(m, "{\"op\": \"kunmap\", \"addr\": "
		  "\"0xffff888001000000\"}", &r, &e), 200);
	json_decref(r);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"kmap\", \"pfn\": %u}",
			  m->nr_pfns), 400, "INVALID_ARGUMENT", "pfn");
	EXPECT_ERR(apply(m, "{\"op\": \"kmap\", \"pfn\": 0}", &r, &e), 422,
		   "EINVAL", NULL); /* pfn 0 is a hole */
	EXPECT_ERR(apply(m, "{\"op\": \"kunmap\", \"addr\": 4096}", &r, &e),
		   422, "EINVAL", NULL);
	assert_consistent(m);
	mm_machine_destroy(m);

	/* i386 with HighMem: a pkmap slot, kunmap once per kmap */
	m = machine_of("i386", 1u << 30);
	uint32_t high = (900u << 20) >> MM_PAGE_SHIFT;
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"kmap\", \"pfn\": %u}", high),
		  200);
	snprintf(addr, sizeof(addr), "%s", jstr(r, "addr"));
	ASSERT(!strncmp(addr, "0xff8", 5));
	json_decref(r);
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"kunmap\", \"addr\": \"%s\"}",
			 addr), 200);
	json_decref(r);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"kunmap\", \"addr\": \"%s\"}",
			  addr), 422, "EINVAL", NULL);
	assert_consistent(m);
	mm_machine_destroy(m);
}

/* ---- processes and address spaces -------------------------------------------- */

TEST(ops_value_names_and_base64)
{
	/* every name the api offers is one the engine parses */
	for (int k = 0; api_map_flag_names[k]; k++) {
		int flags = 0;
		ASSERT_EQ(mm_map_flag_parse(api_map_flag_names[k], &flags), 0);
		ASSERT(flags != 0);
	}
	for (int k = 0; api_madv_names[k]; k++) {
		int advice = -1;
		ASSERT_EQ(mm_madv_parse(api_madv_names[k], &advice), 0);
	}
	char p[4];
	ASSERT_EQ_STR(api_prot_str(MM_PROT_READ | MM_PROT_EXEC, p), "r-x");
	ASSERT_EQ_STR(api_prot_str(MM_PROT_NONE, p), "---");

	/* base64: padded, unpadded, and every byte value round trip */
	static const struct {
		const char *b64, *plain;
	} cases[] = {
		{"", ""}, {"aGk=", "hi"}, {"aGk", "hi"}, {"aGVsbG8=", "hello"},
		{"aGVsbG8sIHdvcmxk", "hello, world"}, {"YQ==", "a"}, {"YQ", "a"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct api_error err;
		size_t len = 99;
		json_t *j = json_string(cases[i].b64);
		ASSERT_EQ(api_parse_base64(j, "x", &len, &err), 0);
		json_decref(j);
		ASSERT_EQ(len, strlen(cases[i].plain));
		uint8_t out[32] = {0};
		ASSERT_EQ(api_base64_decode(cases[i].b64, out), len);
		ASSERT(!memcmp(out, cases[i].plain, len));
	}
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t bytes[256], back[256];
	char text[345];
	size_t n = 0;
	for (int i = 0; i < 256; i++)
		bytes[i] = (uint8_t)(255 - i);
	for (int i = 0; i < 256; i += 3) {
		uint32_t v = (uint32_t)bytes[i] << 16 |
			     (i + 1 < 256 ? (uint32_t)bytes[i + 1] << 8 : 0) |
			     (i + 2 < 256 ? bytes[i + 2] : 0);
		text[n++] = alphabet[v >> 18 & 63];
		text[n++] = alphabet[v >> 12 & 63];
		text[n++] = i + 1 < 256 ? alphabet[v >> 6 & 63] : '=';
		text[n++] = i + 2 < 256 ? alphabet[v & 63] : '=';
	}
	text[n] = '\0';
	struct api_error err;
	size_t len;
	json_t *j = json_string(text);
	ASSERT_EQ(api_parse_base64(j, "x", &len, &err), 0);
	json_decref(j);
	ASSERT_EQ(len, 256);
	ASSERT_EQ(api_base64_decode(text, back), 256);
	ASSERT(!memcmp(bytes, back, 256));
}

/* The pid field of a result. */
static int rpid(const json_t *r)
{
	return (int)json_integer_value(json_object_get(r, "pid"));
}

TEST(ops_process_life_cycle)
{
	struct mm_machine *m = machine_of("x86_64", 64u << 20);
	json_t *r, *e;
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];

	ASSERT_EQ(apply(m, "{\"op\": \"spawn\"}", &r, &e), 200);
	ASSERT_EQ(json_object_size(r), 1);
	ASSERT_EQ(rpid(r), 1);
	json_decref(r);
	ASSERT_EQ(apply(m, "{\"op\": \"spawn\", \"name\": \"worker\", \"cpu\": 0, "
		  "\"rss_limit_pages\": 8, \"oom_score_adj\": -1000}", &r, &e),
		  200);
	ASSERT_EQ(rpid(r), 2);
	json_decref(r);
	const struct mm_task *t = mm_task_get(m, 2);
	ASSERT(t != NULL);
	ASSERT_EQ_STR(t->comm, "worker");
	ASSERT_EQ(t->cpu, 0);
	ASSERT_EQ(t->rss_limit_pages, 8);
	ASSERT_EQ(t->oom_score_adj, -1000);
	ASSERT_EQ(mm_task_get(m, 1)->rss_limit_pages, -1);
	ASSERT_EQ_STR(mm_task_get(m, 1)->comm, "proc");

	/* the JSON views */
	json_t *o = api_process_json(m, t, false);
	ASSERT_EQ(json_object_size(o), 9);
	ASSERT_EQ_STR(jstr(o, "state"), "running");
	json_decref(o);
	o = api_process_json(m, mm_task_get(m, 1), true);
	ASSERT_EQ(json_object_size(o), 15);
	ASSERT(json_is_null(json_object_get(o, "rss_limit_pages")));
	ASSERT(!strncmp(jstr(o, "mmap_base"), "0x", 2));
	json_decref(o);
	int32_t pids[MM_MAX_TASKS];
	ASSERT_EQ(api_process_pids(m, pids), 2);
	ASSERT_EQ(pids[0], 1);
	ASSERT_EQ(pids[1], 2);

	/* 400s: nothing applied */
	mm_digest(m, d0);
	EXPECT_ERR(apply(m, "{\"op\": \"spawn\", \"name\": \"0123456789abcdef\"}",
			 &r, &e), 400, "INVALID_ARGUMENT", "name");
	EXPECT_ERR(apply(m, "{\"op\": \"spawn\", \"name\": \"a\\nb\"}", &r, &e),
		   400, "INVALID_ARGUMENT", "name");
	EXPECT_ERR(apply(m, "{\"op\": \"spawn\", \"cpu\": 2}", &r, &e), 400,
		   "INVALID_ARGUMENT", "cpu");
	EXPECT_ERR(apply(m, "{\"op\": \"spawn\", \"oom_score_adj\": -1001}", &r,
			 &e), 400, "INVALID_ARGUMENT", "oom_score_adj");
	EXPECT_ERR(apply(m, "{\"op\": \"fork\", \"pid\": 0}", &r, &e), 400,
		   "INVALID_ARGUMENT", "pid");
	EXPECT_ERR(apply(m, "{\"op\": \"fork\"}", &r, &e), 400,
		   "INVALID_ARGUMENT", "pid");
	EXPECT_ERR(apply(m, "{\"op\": \"exit\", \"pid\": 1, \"status\": -1}", &r,
			 &e), 400, "INVALID_ARGUMENT", "status");
	/* 404: an unknown pid is a path id naming nothing, details {"pid": N} */
	static const char *const ops[] = {
		"\"fork\"", "\"exit\"", "\"exec\", \"elf\": \"\"",
		"\"mmap\", \"length\": 1, \"prot\": \"r--\", \"flags\": []",
		"\"munmap\", \"addr\": 0, \"length\": 1",
		"\"mprotect\", \"addr\": 0, \"length\": 1, \"prot\": \"---\"",
		"\"madvise\", \"addr\": 0, \"length\": 1, \"advice\": \"MADV_COLD\"",
		"\"mlock\", \"addr\": 0, \"length\": 1",
		"\"munlock\", \"addr\": 0, \"length\": 1",
		"\"brk\", \"addr\": 0", "\"setOomScoreAdj\", \"value\": 1",
	};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		int st = applyf(m, &r, &e, "{\"op\": %s, \"pid\": 9}", ops[i]);
		ASSERT_EQ(st, 404);
		ASSERT_EQ_STR(jstr(e, "code"), "NOT_FOUND");
		ASSERT_EQ(json_integer_value(json_object_get(
				  json_object_get(e, "details"), "pid")), 9);
		ASSERT_CONTAINS(jstr(e, "message"), "no process 9");
		json_decref(e);
	}
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);

	/* fork, exit; the exited pid is 404 */
	ASSERT_EQ(apply(m, "{\"op\": \"fork\", \"pid\": 2}", &r, &e), 200);
	int child = rpid(r);
	json_decref(r);
	ASSERT_EQ(mm_task_get(m, child)->ppid, 2);
	ASSERT_EQ(mm_task_get(m, child)->oom_score_adj, -1000);
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"exit\", \"pid\": %d, \"status\": "
			 "1}", child), 200);
	ASSERT_EQ(json_object_size(r), 0);
	json_decref(r);
	ASSERT(mm_task_get(m, child) == NULL);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"exit\", \"pid\": %d}", child),
		   404, "NOT_FOUND", NULL);
	ASSERT_EQ(apply(m, "{\"op\": \"setOomScoreAdj\", \"pid\": 1, \"value\": "
		  "999}", &r, &e), 200);
	json_decref(r);
	ASSERT_EQ(mm_task_get(m, 1)->oom_score_adj, 999);
	assert_consistent(m);
	mm_machine_destroy(m);
}

TEST(ops_mmap_family)
{
	struct mm_machine *m = machine_of("x86_64", 64u << 20);
	json_t *r, *e;
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];

	ASSERT_EQ(apply(m, "{\"op\": \"spawn\"}", &r, &e), 200);
	json_decref(r);
	ASSERT_EQ(apply(m, "{\"op\": \"mmap\", \"pid\": 1, \"length\": \"64K\", "
		  "\"prot\": \"rw-\", \"flags\": [\"MAP_PRIVATE\", "
		  "\"MAP_ANONYMOUS\"]}", &r, &e), 200);
	ASSERT_EQ(json_object_size(r), 1);
	uint64_t a = strtoull(jstr(r, "addr"), NULL, 16);
	json_decref(r);
	const struct mm_vma *v = mm_find_vma(m, mm_task_mm(m, mm_task_get(m, 1)), a);
	ASSERT(v != NULL);
	ASSERT_EQ_HEX(v->start, a);
	ASSERT_EQ_HEX(v->end, a + 65536);
	ASSERT_EQ_HEX(v->flags & (MM_VM_READ | MM_VM_WRITE | MM_VM_EXEC),
		      MM_VM_READ | MM_VM_WRITE);

	/* mprotect the middle: three VMAs, as maps JSON shows them */
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"mprotect\", \"pid\": 1, \"addr\": "
			 "\"0x%llx\", \"length\": \"16K\", \"prot\": \"r--\"}",
			 (unsigned long long)a + 16384), 200);
	json_decref(r);
	json_t *maps = api_pid_proc_json(m, 1, "maps");
	json_t *items = json_object_get(maps, "items");
	ASSERT_EQ(json_array_size(items), 3);
	ASSERT_EQ_STR(jstr(json_array_get(items, 1), "perms"), "r--p");
	ASSERT(json_is_null(json_object_get(json_array_get(items, 1), "name")));
	json_decref(maps);
	char *text;
	ASSERT_EQ(api_pid_proc_text(m, 1, "maps", &text), 0);
	ASSERT_CONTAINS(text, " r--p 00000000 00:00 0 \n");
	free(text);
	ASSERT_EQ(api_pid_proc_text(m, 1, "environ", &text), -1);
	ASSERT(api_pid_proc_json(m, 1, "environ") == NULL);
	json_t *status = api_pid_proc_json(m, 1, "status");
	ASSERT_EQ(json_integer_value(json_object_get(status, "VmSize")), 64);
	ASSERT_EQ_STR(jstr(status, "Umask"), "0022");
	ASSERT_EQ_STR(jstr(status, "Cpus_allowed"), "3");
	ASSERT_EQ(json_array_size(json_object_get(status, "Uid")), 4);
	json_decref(status);
	json_t *sm = api_pid_proc_json(m, 1, "smaps");
	json_t *first = json_array_get(json_object_get(sm, "items"), 0);
	ASSERT_EQ(json_integer_value(json_object_get(first, "Size")), 16);
	ASSERT_EQ_STR(json_string_value(json_array_get(json_object_get(first,
			"VmFlags"), 0)), "rd");
	json_decref(sm);

	/* madvise by name, mlock's fault counts, munlock, brk */
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"madvise\", \"pid\": 1, \"addr\": "
			 "%llu, \"length\": 4096, \"advice\": \"MADV_DONTFORK\"}",
			 (unsigned long long)a), 200);
	json_decref(r);
	ASSERT(mm_find_vma(m, mm_task_mm(m, mm_task_get(m, 1)), a)->flags &
	       MM_VM_DONTCOPY);
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"mlock\", \"pid\": 1, \"addr\": "
			 "%llu, \"length\": \"64K\"}", (unsigned long long)a), 200);
	char *s = json_dumps(r, JSON_COMPACT);
	/* populate: one write fault per page of the private rw- mapping */
	ASSERT_EQ_STR(s, "{\"minor\":16,\"major\":0}");
	free(s);
	json_decref(r);
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, 1))->locked_vm, 16);
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"munlock\", \"pid\": 1, \"addr\": "
			 "%llu, \"length\": \"64K\"}", (unsigned long long)a), 200);
	json_decref(r);
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, 1))->locked_vm, 0);
	uint64_t sb = mm_task_mm(m, mm_task_get(m, 1))->start_brk;
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"brk\", \"pid\": 1, \"addr\": "
			 "\"0x%llx\"}", (unsigned long long)sb + 8192), 200);
	char want[40];
	snprintf(want, sizeof(want), "0x%llx", (unsigned long long)sb + 8192);
	ASSERT_EQ_STR(jstr(r, "brk"), want);
	json_decref(r);

	/* errno results change nothing */
	mm_digest(m, d0);
	EXPECT_ERR(apply(m, "{\"op\": \"mmap\", \"pid\": 1, \"length\": 0, "
		   "\"prot\": \"rw-\", \"flags\": [\"MAP_PRIVATE\", "
		   "\"MAP_ANONYMOUS\"]}", &r, &e), 422, "EINVAL", NULL);
	EXPECT_ERR(apply(m, "{\"op\": \"mmap\", \"pid\": 1, \"length\": \"1T\", "
		   "\"prot\": \"rw-\", \"flags\": [\"MAP_PRIVATE\", "
		   "\"MAP_ANONYMOUS\"]}", &r, &e), 422, "ENOMEM", NULL);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"mmap\", \"pid\": 1, \"addr\": "
			  "%llu, \"length\": 4096, \"prot\": \"rw-\", \"flags\": "
			  "[\"MAP_PRIVATE\", \"MAP_ANONYMOUS\", "
			  "\"MAP_FIXED_NOREPLACE\"]}", (unsigned long long)a),
		   422, "EEXIST", NULL);
	/* a name no file has: a descriptor that is not open */
	EXPECT_ERR(apply(m, "{\"op\": \"mmap\", \"pid\": 1, \"length\": 4096, "
		   "\"prot\": \"rw-\", \"flags\": [\"MAP_PRIVATE\"], "
		   "\"file\": \"f\"}", &r, &e), 422, "EBADF", NULL);
	EXPECT_ERR(applyf(m, &r, &e, "{\"op\": \"munmap\", \"pid\": 1, \"addr\": "
			  "%llu, \"length\": 1}", (unsigned long long)a + 1), 422,
		   "EINVAL", NULL);
	int st = apply(m, "{\"op\": \"mprotect\", \"pid\": 1, \"addr\": 65536, "
		       "\"length\": 1, \"prot\": \"r--\"}", &r, &e);
	ASSERT_EQ(st, 422);
	ASSERT_EQ_STR(jstr(e, "code"), "ENOMEM");
	ASSERT_EQ_STR(jstr(json_object_get(e, "details"), "op"), "mprotect");
	json_decref(e);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	/* names, not numbers */
	EXPECT_ERR(apply(m, "{\"op\": \"mmap\", \"pid\": 1, \"length\": 1, "
		   "\"prot\": 3, \"flags\": []}", &r, &e), 400, "INVALID_ARGUMENT",
		   "prot");
	EXPECT_ERR(apply(m, "{\"op\": \"mmap\", \"pid\": 1, \"length\": 1, "
		   "\"prot\": \"rw-\", \"flags\": [\"MAP_PRIVTE\"]}", &r, &e), 400,
		   "INVALID_ARGUMENT", "flags");
	st = apply(m, "{\"op\": \"madvise\", \"pid\": 1, \"addr\": 0, "
		   "\"length\": 1, \"advice\": \"MADV_FREE\"}", &r, &e);
	ASSERT_EQ(st, 400);
	ASSERT_CONTAINS(jstr(e, "message"), "\"MADV_FREE\" is not one of");
	json_decref(e);
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);
	ASSERT_EQ(applyf(m, &r, &e, "{\"op\": \"munmap\", \"pid\": 1, \"addr\": "
			 "%llu, \"length\": \"64K\"}", (unsigned long long)a), 200);
	json_decref(r);
	assert_consistent(m);
	mm_machine_destroy(m);
}

/* A file of tests/golden/elf/ as base64 (malloc'd): MMSIM_SRCDIR's tests/,
 * else ./tests (the repository root). */
static char *golden_b64(const char *name)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char path[512];
	snprintf(path, sizeof(path), "%s/golden/elf/%s", th_srcdir(), name);
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(path, sizeof(path), "tests/golden/elf/%s", name);
		f = fopen(path, "rb");
	}
	if (!f)
		th_fail(__FILE__, __LINE__, "no golden file %s", name);
	uint8_t buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	ASSERT(n > 0 && n < sizeof(buf));
	char *out = malloc(n / 3 * 4 + 8), *o = out;
	ASSERT(out != NULL);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)buf[i] << 16 |
			     (i + 1 < n ? (uint32_t)buf[i + 1] << 8 : 0) |
			     (i + 2 < n ? buf[i + 2] : 0);
		*o++ = alphabet[v >> 18 & 63];
		*o++ = alphabet[v >> 12 & 63];
		*o++ = i + 1 < n ? alphabet[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? alphabet[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

TEST(ops_exec)
{
	struct mm_machine *m = machine_of("x86_64", 64u << 20);
	json_t *r, *e;

	ASSERT_EQ(apply(m, "{\"op\": \"spawn\", \"name\": \"loader\"}", &r, &e),
		  200);
	json_decref(r);
	/* a malformed image: ENOEXEC, the (empty) address space untouched */
	int st = apply(m, "{\"op\": \"exec\", \"pid\": 1, \"elf\": \"aGVsbG8=\"}",
		       &r, &e);
	ASSERT_EQ(st, 422);
	ASSERT_EQ_STR(jstr(e, "code"), "ENOEXEC");
	ASSERT_EQ_STR(jstr(json_object_get(e, "details"), "op"), "exec");
	json_decref(e);
	ASSERT_EQ(mm_task_mm(m, mm_task_get(m, 1))->map_count, 0);
	EXPECT_ERR(apply(m, "{\"op\": \"exec\", \"pid\": 1, \"elf\": \"#!\"}", &r,
			 &e), 400, "INVALID_ARGUMENT", "elf");
	EXPECT_ERR(apply(m, "{\"op\": \"exec\", \"pid\": 1}", &r, &e), 400,
		   "INVALID_ARGUMENT", "elf");

	char *b64 = golden_b64("x86_64-exec.elf");
	json_t *rec = json_pack("{s:s, s:i, s:s}", "op", "exec", "pid", 1, "elf",
				b64);
	free(b64);
	ASSERT_EQ(api_op_apply(m, rec, &r, &e), 200);
	json_decref(rec);
	ASSERT_EQ(json_object_size(r), 3);
	ASSERT_EQ_STR(jstr(r, "entry"), "0x401000");
	uint64_t sp = strtoull(jstr(r, "stack"), NULL, 16);
	uint64_t brk = strtoull(jstr(r, "start_brk"), NULL, 16);
	json_decref(r);
	const struct mm_mm *mm = mm_task_mm(m, mm_task_get(m, 1));
	ASSERT_EQ_HEX(mm->start_brk, brk);
	const struct mm_vma *v = mm_find_vma(m, mm, sp);
	ASSERT(v != NULL && v->start <= sp);
	ASSERT(v->flags & MM_VM_GROWSDOWN);
	char *text;
	ASSERT_EQ(api_pid_proc_text(m, 1, "maps", &text), 0);
	ASSERT(!strncmp(text, "00400000-00401000 r--p ", 23));
	ASSERT_CONTAINS(text, "[stack]\n");
	ASSERT_CONTAINS(text, "[vdso]\n");
	free(text);
	assert_consistent(m);
	mm_machine_destroy(m);
}

/* trace, tick, reclaim: schemas, 400/404 before the engine, answers. */
TEST(ops_trace_tick_reclaim)
{
	struct mm_machine *m = small_machine();
	json_t *r, *e;
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];

	ASSERT_EQ(apply(m, "{\"op\": \"spawn\", \"rss_limit_pages\": 3}", &r, &e),
		  200);
	json_decref(r);
	ASSERT_EQ(apply(m, "{\"op\": \"spawn\"}", &r, &e), 200);
	json_decref(r);
	ASSERT_EQ(apply(m, "{\"op\": \"mmap\", \"pid\": 2, \"addr\": "
			"\"0x100000000\", \"length\": \"64K\", \"prot\": \"rw-\", "
			"\"flags\": [\"MAP_PRIVATE\", \"MAP_ANONYMOUS\", "
			"\"MAP_FIXED\"]}", &r, &e), 200);
	json_decref(r);
	mm_digest(m, d0);
	EXPECT_ERR(apply(m, "{\"op\": \"trace\", \"pid\": 2, \"addr\": 0, "
			 "\"pages\": 3, \"access\": \"read\"}", &r, &e), 400,
		   "INVALID_ARGUMENT", "pages");
	EXPECT_ERR(apply(m, "{\"op\": \"trace\", \"pid\": 2, \"addr\": 0, "
			 "\"pages\": [1, -1], \"access\": \"read\"}", &r, &e), 400,
		   "INVALID_ARGUMENT", "pages");
	EXPECT_ERR(apply(m, "{\"op\": \"trace\", \"pid\": 2, \"addr\": 0, "
			 "\"pages\": [\"1\"], \"access\": \"read\"}", &r, &e), 400,
		   "INVALID_ARGUMENT", "pages");
	EXPECT_ERR(apply(m, "{\"op\": \"trace\", \"pid\": 2, \"addr\": 0, "
			 "\"pages\": [4294967296], \"access\": \"read\"}", &r, &e),
		   400, "INVALID_ARGUMENT", "pages");
	EXPECT_ERR(apply(m, "{\"op\": \"trace\", \"pid\": 2, \"addr\": 0, "
			 "\"pages\": [], \"access\": \"peek\"}", &r, &e), 400,
		   "INVALID_ARGUMENT", "access");
	EXPECT_ERR(apply(m, "{\"op\": \"trace\", \"pid\": 9, \"addr\": 0, "
			 "\"pages\": [], \"access\": \"read\"}", &r, &e), 404,
		   "NOT_FOUND", NULL);
	EXPECT_ERR(apply(m, "{\"op\": \"trace\", \"pid\": 2, \"addr\": 1, "
			 "\"pages\": [0], \"access\": \"read\"}", &r, &e), 422,
		   "EINVAL", NULL);
	EXPECT_ERR(apply(m, "{\"op\": \"tick\", \"n\": 0}", &r, &e), 400,
		   "INVALID_ARGUMENT", "n");
	EXPECT_ERR(apply(m, "{\"op\": \"reclaim\", \"pages\": 0}", &r, &e), 400,
		   "INVALID_ARGUMENT", "pages");
	EXPECT_ERR(apply(m, "{\"op\": \"reclaim\", \"pages\": 1, \"node\": 1}",
			 &r, &e), 400, "INVALID_ARGUMENT", "node");
	mm_digest(m, d1);
	ASSERT_EQ_STR(d0, d1);

	/* pid 2 has no limit: every page stays */
	ASSERT_EQ(apply(m, "{\"op\": \"trace\", \"pid\": 2, \"addr\": "
			"\"0x100000000\", \"pages\": [0, 1, 0, 2], \"access\": "
			"\"write\"}", &r, &e), 200);
	ASSERT_EQ_STR(jstr(r, "sequence"), "MMHM");
	ASSERT_EQ(json_integer_value(json_object_get(r, "hits")), 1);
	ASSERT_EQ(json_integer_value(json_object_get(r, "misses")), 3);
	ASSERT_EQ(json_array_size(json_object_get(r, "resident")), 3);
	ASSERT(json_is_null(json_object_get(r, "signal")));
	json_decref(r);
	/* a page outside the mapping: SIGSEGV, the process is gone */
	ASSERT_EQ(apply(m, "{\"op\": \"trace\", \"pid\": 2, \"addr\": "
			"\"0x100000000\", \"pages\": [0, 99], \"access\": "
			"\"read\"}", &r, &e), 200);
	ASSERT_EQ_STR(jstr(json_object_get(r, "signal"), "name"), "SIGSEGV");
	ASSERT_EQ_STR(jstr(r, "sequence"), "HM");
	json_decref(r);
	ASSERT(mm_task_get(m, 2) == NULL);

	ASSERT_EQ(apply(m, "{\"op\": \"tick\", \"n\": 3}", &r, &e), 200);
	ASSERT_EQ(json_integer_value(json_object_get(r, "ticks")), 3);
	ASSERT_EQ(json_integer_value(json_object_get(r, "kswapd_runs")), 0);
	json_decref(r);
	ASSERT_EQ(m->env.clock, 3);
	ASSERT_EQ(apply(m, "{\"op\": \"reclaim\", \"pages\": 64}", &r, &e), 200);
	ASSERT_EQ(json_integer_value(json_object_get(r, "requested")), 64);
	ASSERT_EQ(json_integer_value(json_object_get(r, "reclaimed")), 0);
	ASSERT(json_integer_value(json_object_get(r, "passes")) >= 1);
	json_decref(r);
	assert_consistent(m);
	mm_machine_destroy(m);
}
