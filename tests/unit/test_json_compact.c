/*
 * test_json_compact.c — api_json_compact() prints what
 * json_dumpb(JSON_COMPACT) prints: nested objects and arrays in key order,
 * every escape (each control byte, '"', '\\', DEL, '/', UTF-8, a NUL inside
 * a string), integers at both ends of the range; 0 for a real or a buffer
 * too small.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "tests/harness.h"

/* Both printers on v: the same bytes. */
static void jc_same(json_t *v)
{
	char want[8192], got[8192];
	size_t wn = json_dumpb(v, want, sizeof(want), JSON_COMPACT | JSON_ENCODE_ANY);
	size_t gn = api_json_compact(v, got, sizeof(got));
	ASSERT(wn > 0 && wn < sizeof(want));
	want[wn] = '\0';
	ASSERT(gn < sizeof(got));
	got[gn] = '\0';
	ASSERT_EQ_STR(got, want);
	json_decref(v);
}

TEST(json_compact_matches_jansson)
{
	char all[128];
	for (int c = 0; c < 127; c++)
		all[c] = (char)(c + 1);  /* 0x01 .. 0x7f */
	jc_same(json_stringn(all, 127));
	jc_same(json_stringn("a\0b", 3));
	jc_same(json_string("é€😀/\"\\"));
	jc_same(json_string(""));
	jc_same(json_integer(0));
	jc_same(json_integer(-1));
	jc_same(json_integer(INT64_MAX));
	jc_same(json_integer(INT64_MIN));
	jc_same(json_true());
	jc_same(json_false());
	jc_same(json_null());
	jc_same(json_object());
	jc_same(json_array());
	jc_same(json_pack("{s:I, s:s, s:[i, {}, [], {s:n, s:b}], s:{s:{s:s}}, s:o}",
			  "pages", (json_int_t)16, "addr", "0x7ffff000", "list", 1,
			  "k\n\"", "ok", 1, "nested", "deeper", "x", "y\t",
			  "signal", json_null()));
	json_t *o = json_object();
	for (int i = 40; i > 0; i--)  /* insertion order, not sorted */
		json_object_set_new(o, (char[]){(char)('A' + i % 26), (char)('0' + i % 10), 0},
				    json_integer(i * 1000003LL));
	jc_same(o);
}

TEST(json_compact_refuses_reals_and_overflow)
{
	char buf[64];
	json_t *r = json_pack("{s:[i, f]}", "x", 1, 0.5);
	ASSERT_EQ(api_json_compact(r, buf, sizeof(buf)), 0);
	json_decref(r);
	json_t *s = json_string("0123456789");
	ASSERT_EQ(api_json_compact(s, buf, 12), 12);
	ASSERT_EQ(api_json_compact(s, buf, 11), 0);
	ASSERT_EQ(api_json_compact(s, buf, 0), 0);
	json_decref(s);
}

/* api_json_text(): json_dumps(JSON_COMPACT)'s text and length, through the
 * fast printer for small values and through jansson for reals and values
 * past its buffer. */
static void jt_same(json_t *v)
{
	char *want = json_dumps(v, JSON_COMPACT);
	size_t n = 0;
	char *got = api_json_text(v, &n);
	ASSERT(want && got);
	ASSERT_EQ_STR(got, want);
	ASSERT_EQ(n, strlen(want));
	free(want);
	free(got);
	json_decref(v);
}

TEST(json_text_matches_dumps)
{
	jt_same(json_pack("{s:i, s:s, s:[b, n]}", "pages", 1, "signal", "x",
			  "v", 1));
	jt_same(json_pack("{s:f}", "real", 0.25));
	char big[10000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	jt_same(json_pack("{s:s}", "big", big));
	char *null = api_json_text(json_null(), NULL);
	ASSERT_EQ_STR(null, "null");
	free(null);
}
