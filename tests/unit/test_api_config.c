/*
 * test_api_config.c — the JSON side of machine configs and of the value
 * conventions (SPEC §4): binary size units, address forms, GFP arrays,
 * unknown keys and wrong types rejected with a message naming the field,
 * and encode → decode round trips that rebuild an identical machine.
 */
#include "api/api.h"
#include "tests/unit/util.h"

#include <stdlib.h>

static json_t *tj(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
	if (!j)
		th_fail(__FILE__, __LINE__, "bad test JSON %s: %s", text, e.text);
	return j;
}

static uint64_t size_ok(const char *text)
{
	struct api_error err;
	uint64_t v = 0;
	json_t *j = tj(text);
	if (api_parse_size(j, "size", &v, &err))
		th_fail(__FILE__, __LINE__, "%s: %s", text, err.message);
	json_decref(j);
	return v;
}

static const char *size_err(const char *text)
{
	static struct api_error err;
	uint64_t v;
	json_t *j = tj(text);
	int rc = api_parse_size(j, "size", &v, &err);
	json_decref(j);
	ASSERT_EQ(rc, -1);
	return err.message;
}

TEST(api_size_units)
{
	ASSERT_EQ_U64(size_ok("4096"), 4096);
	ASSERT_EQ_U64(size_ok("\"64K\""), 65536);
	ASSERT_EQ_U64(size_ok("\"64KiB\""), 65536);
	ASSERT_EQ_U64(size_ok("\"2M\""), 2u << 20);
	ASSERT_EQ_U64(size_ok("\"1G\""), 1u << 30);
	ASSERT_EQ_U64(size_ok("\"3T\""), 3ull << 40);
	ASSERT_EQ_U64(size_ok("\"123\""), 123);
	ASSERT_CONTAINS(size_err("-1"), "negative");
	ASSERT_CONTAINS(size_err("\"-1K\""), "not a size");
	ASSERT_CONTAINS(size_err("\"12Q\""), "unknown unit");
	ASSERT_CONTAINS(size_err("\"99999999999999999999\""), "not a size");
	ASSERT_CONTAINS(size_err("\"17179869184T\""), "overflows");
	ASSERT_CONTAINS(size_err("1.5"), "expected a size");
	ASSERT_CONTAINS(size_err("true"), "expected a size");
	ASSERT_CONTAINS(size_err("\"\""), "not a size");
}

TEST(api_addr_forms)
{
	struct api_error err;
	uint64_t v;
	json_t *j = tj("\"0x7f0000001000\"");
	ASSERT_EQ(api_parse_addr(j, "addr", &v, &err), 0);
	ASSERT_EQ_HEX(v, 0x7f0000001000ull);
	json_decref(j);
	j = tj("\"4096\"");
	ASSERT_EQ(api_parse_addr(j, "addr", &v, &err), 0);
	ASSERT_EQ_U64(v, 4096);
	json_decref(j);
	j = tj("8192");
	ASSERT_EQ(api_parse_addr(j, "addr", &v, &err), 0);
	ASSERT_EQ_U64(v, 8192);
	json_decref(j);
	const char *bad[] = {"\"0x\"", "\"0xzz\"", "\"12abc\"", "-5", "null",
			     "\" 12\"", "\"0x1 \""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		j = tj(bad[i]);
		ASSERT_EQ(api_parse_addr(j, "addr", &v, &err), -1);
		ASSERT_EQ_STR(err.field, "addr");
		json_decref(j);
	}
}

TEST(api_gfp_arrays)
{
	struct api_error err;
	uint32_t gfp;
	json_t *j = tj("[\"GFP_KERNEL\", \"__GFP_ZERO\"]");
	ASSERT_EQ(api_parse_gfp(j, "gfp", &gfp, &err), 0);
	ASSERT_EQ_HEX(gfp, MM_GFP_KERNEL | MM___GFP_ZERO);
	json_decref(j);
	j = tj("[\"GFP_KERNAL\"]");
	ASSERT_EQ(api_parse_gfp(j, "gfp", &gfp, &err), -1);
	ASSERT_CONTAINS(err.message, "GFP_KERNAL");
	json_decref(j);
	j = tj("\"GFP_KERNEL\"");
	ASSERT_EQ(api_parse_gfp(j, "gfp", &gfp, &err), -1);
	ASSERT_CONTAINS(err.message, "array");
	json_decref(j);
	j = tj("[1]");
	ASSERT_EQ(api_parse_gfp(j, "gfp", &gfp, &err), -1);
	json_decref(j);
}

static const char *config_err(const char *text)
{
	static struct api_error err;
	struct mm_config c;
	json_t *j = tj(text);
	int rc = api_config_decode(j, &c, &err);
	json_decref(j);
	if (rc != -1)
		th_fail(__FILE__, __LINE__, "config %s was accepted", text);
	return err.message;
}

TEST(api_config_errors)
{
	ASSERT_CONTAINS(config_err("{\"memroy\": \"1G\"}"), "unknown key \"memroy\"");
	ASSERT_CONTAINS(config_err("{\"memory\": \"1X\"}"), "memory");
	ASSERT_CONTAINS(config_err("{\"memory\": \"2M\"}"), "memory");
	ASSERT_CONTAINS(config_err("{\"memory\": \"65G\"}"), "memory");
	ASSERT_CONTAINS(config_err("{\"arch\": \"i386\", \"memory\": \"5G\"}"), "memory");
	ASSERT_CONTAINS(config_err("{\"arch\": \"arm64\"}"), "arch");
	ASSERT_CONTAINS(config_err("{\"cpus\": 0}"), "cpus");
	ASSERT_CONTAINS(config_err("{\"cpus\": \"2\"}"), "cpus: expected an integer");
	ASSERT_CONTAINS(config_err("{\"nodes\": 9}"), "nodes");
	ASSERT_CONTAINS(config_err("{\"arch\": \"i386\", \"nodes\": 2}"), "nodes");
	ASSERT_CONTAINS(config_err("{\"nodes\": [\"128M\", \"64M\"], \"memory\": \"256M\"}"),
			"node_memory");
	ASSERT_CONTAINS(config_err("{\"nodes\": 2, \"distance\": [[10, 20], [30, 10]]}"),
			"symmetric");
	ASSERT_CONTAINS(config_err("{\"zones_managed_pages\": {\"HighMem\": 5}}"),
			"HighMem");
	ASSERT_CONTAINS(config_err("{\"zero_page\": 1}"), "zero_page");
	ASSERT_CONTAINS(config_err("{\"overcommit\": \"sometimes\"}"), "overcommit");
	ASSERT_CONTAINS(config_err("{\"watermark_scale_factor\": 0}"), "watermark_scale_factor");
	ASSERT_CONTAINS(config_err("[1, 2]"), "object");
}

TEST(api_config_roundtrip)
{
	const char *text = "{\"arch\":\"x86_64\",\"memory\":\"64M\",\"nodes\":"
			   "[\"32M\",\"32M\"],\"distance\":[[10,21],[21,10]],"
			   "\"cpus\":4,\"seed\":\"18446744073709551615\","
			   "\"min_free_kbytes\":2048,\"swap\":\"16M\"}";
	struct api_error err;
	struct mm_config a, b;
	json_t *j = tj(text);
	ASSERT_EQ(api_config_decode(j, &a, &err), 0);
	json_decref(j);
	ASSERT_EQ_U64(a.seed, UINT64_MAX);
	ASSERT_EQ(a.distance[0][1], 21);
	json_t *enc = api_config_encode(&a);
	ASSERT_EQ(api_config_decode(enc, &b, &err), 0);
	json_decref(enc);
	struct mm_machine *ma = tu_machine(&a), *mb = tu_machine(&b);
	char da[MM_DIGEST_HEX], db[MM_DIGEST_HEX];
	mm_digest(ma, da);
	mm_digest(mb, db);
	ASSERT_EQ_STR(da, db);
	mm_machine_destroy(ma);
	mm_machine_destroy(mb);

	/* Defaults: null and {} decode to mm_config_default(). */
	struct mm_config d;
	mm_config_default(&d);
	j = tj("{}");
	ASSERT_EQ(api_config_decode(j, &a, &err), 0);
	json_decref(j);
	ASSERT(memcmp(&a, &d, sizeof(a)) == 0);
}

/* The JSON forms carry the same numbers as the text renders. */
TEST(api_proc_json_matches_text)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	struct mm_alloc_result r;
	for (int i = 0; i < 50; i++)
		ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, (unsigned)(i % 5), 0, -1, &r), 0);

	json_t *mi = api_proc_json(m, "meminfo");
	ASSERT_EQ(json_integer_value(json_object_get(mi, "MemFree")),
		  (int64_t)mm_nr_free_pages(m) * 4);
	ASSERT_EQ(json_integer_value(json_object_get(mi, "MemTotal")),
		  (int64_t)m->totalram_pages * 4);
	json_decref(mi);
	json_t *vs = api_proc_json(m, "vmstat");
	ASSERT_EQ(json_integer_value(json_object_get(vs, "nr_free_pages")),
		  (int64_t)mm_nr_free_pages(m));
	json_decref(vs);

	json_t *bi = api_proc_json(m, "buddyinfo");
	char *text;
	ASSERT_EQ(api_proc_text(m, "buddyinfo", &text), 0);
	size_t i;
	json_t *row;
	json_array_foreach(bi, i, row) {
		char line[256];
		int len = snprintf(line, sizeof(line), "Node %d, zone %8s ",
				   (int)json_integer_value(json_object_get(row, "node")),
				   json_string_value(json_object_get(row, "zone")));
		for (int o = 0; o < MM_NR_ORDERS; o++)
			len += snprintf(line + len, sizeof(line) - (size_t)len, "%6lld ",
					(long long)json_integer_value(
						json_array_get(json_object_get(row, "free"), (size_t)o)));
		ASSERT_CONTAINS(text, line);
	}
	free(text);
	json_decref(bi);
	ASSERT(api_proc_json(m, "nosuch") == NULL);
	ASSERT_EQ(api_proc_text(m, "nosuch", &text), -1);
	json_t *z = api_zones_json(m);
	ASSERT_EQ((int64_t)json_array_size(z), 5);
	json_decref(z);
	mm_machine_destroy(m);
}
