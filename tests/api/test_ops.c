/*
 * test_ops.c — the operation table without HTTP: the schema decoder for
 * every wire type (on a synthetic op, so types no engine op uses yet are
 * covered too), api_op_apply's three status classes on a real machine, the
 * SPEC §4 error shape, and the generated OpenAPI document.  Built as
 * build/api-op-tests with the in-tree harness (tests/harness.h).
 */
#include "api/ops.h"
#include "tests/harness.h"

static json_t *tj(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!j)
		th_fail(__FILE__, __LINE__, "bad test JSON %s: %s", text, e.text);
	return j;
}

static const char *const colours[] = {"red", "green", NULL};
enum { A_N, A_SIZE, A_ADDR, A_GFP, A_COLOUR, A_LABEL, A_FLAG };
static const struct api_arg demo_args[] = {
	[A_N] = {"n", API_T_INT, true, -5, 5, 0, NULL, 0, "an int"},
	[A_SIZE] = {"size", API_T_SIZE, false, 0, 0, 1u << 20, NULL, 0, "a size"},
	[A_ADDR] = {"addr", API_T_ADDR, false, 0, 0, 0, NULL, 0, "an address"},
	[A_GFP] = {"gfp", API_T_GFP, false, 0, 0, 0, NULL, 0, "flags"},
	[A_COLOUR] = {"colour", API_T_ENUM, false, 0, 0, 0, colours, 1, "enum"},
	[A_LABEL] = {"label", API_T_STRING, false, 0, 8, 0, NULL, 0, "string"},
	[A_FLAG] = {"flag", API_T_BOOL, false, 0, 0, 0, NULL, 1, "bool"},
};
static const struct api_op demo = {
	"demo", "/demo", "a synthetic op", demo_args,
	(int)(sizeof(demo_args) / sizeof(demo_args[0])), NULL, 0, NULL, NULL, NULL,
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
			     "\"flag\": false}", &a), "");
	ASSERT_EQ(a.v[A_N].i, -5);
	ASSERT_EQ_U64(a.v[A_SIZE].u, 65536);
	ASSERT_EQ_HEX(a.v[A_ADDR].u, 0x7f00);
	ASSERT_EQ_HEX(a.v[A_GFP].gfp, MM_GFP_KERNEL | MM___GFP_ZERO);
	ASSERT_EQ(a.v[A_COLOUR].i, 0);
	ASSERT_EQ_STR(a.v[A_LABEL].s, "12345678");
	ASSERT_EQ(a.v[A_FLAG].i, 0);
	ASSERT_EQ(a.present, 0x7f);

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
	ASSERT_EQ_STR(decode("{\"n\": 0, \"extra\": 1}", &a), "extra");
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
	char *s = json_dumps(api_error_wrap(json_incref(e)), JSON_COMPACT);
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
		json_t *post = json_object_get(json_object_get(paths, path), "post");
		ASSERT(post != NULL);
		ASSERT_EQ_STR(json_string_value(json_object_get(post, "operationId")),
			      api_ops[i].name);
	}
	json_t *get = json_object_get(json_object_get(paths, "/v1/things/{t}"), "get");
	ASSERT(get != NULL);
	ASSERT_EQ(json_array_size(json_object_get(get, "parameters")), 2);
	json_decref(doc);
}
