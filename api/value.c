/*
 * value.c — the value conventions of SPEC §4: sizes ("64K" = 65536, binary
 * units), addresses (numbers, "0x…" or decimal strings; answered as
 * lowercase hex strings), GFP and SLAB_* flag arrays.
 */
#include "api/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Parses an unsigned decimal or 0x-hex string fully; 0 on success. */
static int api__parse_u64(const char *s, int base, uint64_t *out,
			  const char **end)
{
	if (!*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	char *e;
	unsigned long long v = strtoull(s, &e, base);
	if (errno || e == s)
		return -1;
	*out = v;
	*end = e;
	return 0;
}

int api_parse_size(const json_t *v, const char *field, uint64_t *out,
		   struct api_error *err)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return api__fail(err, field, "%s: must not be negative",
					 field);
		*out = (uint64_t)i;
		return 0;
	}
	if (!json_is_string(v))
		return api__fail(err, field, "%s: expected a size (number or "
				 "string like \"64K\")", field);
	const char *s = json_string_value(v), *e;
	uint64_t n;
	if (api__parse_u64(s, 10, &n, &e))
		return api__fail(err, field, "%s: \"%s\" is not a size", field, s);
	static const struct {
		const char *suffix;
		int shift;
	} units[] = {
		{"", 0},    {"K", 10},   {"k", 10},   {"KiB", 10}, {"M", 20},
		{"MiB", 20}, {"G", 30},  {"GiB", 30}, {"T", 40},   {"TiB", 40},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(e, units[i].suffix) != 0)
			continue;
		if (units[i].shift && n > (UINT64_MAX >> units[i].shift))
			return api__fail(err, field, "%s: \"%s\" overflows 64 bits",
					 field, s);
		*out = n << units[i].shift;
		return 0;
	}
	return api__fail(err, field, "%s: unknown unit in \"%s\" (use K, M, G "
			 "or T: binary units)", field, s);
}

int api_parse_addr(const json_t *v, const char *field, uint64_t *out,
		   struct api_error *err)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0)
			return api__fail(err, field, "%s: must not be negative",
					 field);
		*out = (uint64_t)i;
		return 0;
	}
	if (!json_is_string(v))
		return api__fail(err, field, "%s: expected an address (number, "
				 "\"0x…\" or decimal string)", field);
	const char *s = json_string_value(v), *e;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (api__parse_u64(hex ? s + 2 : s, hex ? 16 : 10, out, &e) || *e)
		return api__fail(err, field, "%s: \"%s\" is not an address",
				 field, s);
	return 0;
}

int api_parse_gfp(const json_t *v, const char *field, uint32_t *out,
		  struct api_error *err)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return api__fail(err, field, "%s: expected an array of GFP flag "
				 "names, e.g. [\"GFP_KERNEL\"]", field);
	*out = 0;
	json_array_foreach(v, i, item) {
		if (!json_is_string(item))
			return api__fail(err, field, "%s[%zu]: expected a flag name",
					 field, i);
		if (mm_gfp_parse(json_string_value(item), out))
			return api__fail(err, field, "%s[%zu]: unknown GFP flag "
					 "\"%s\"", field, i,
					 json_string_value(item));
	}
	return 0;
}

int api_parse_slab_flags(const json_t *v, const char *field, uint32_t *out,
			 struct api_error *err)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return api__fail(err, field, "%s: expected an array of SLAB_* "
				 "flag names, e.g. [\"SLAB_HWCACHE_ALIGN\"]",
				 field);
	*out = 0;
	json_array_foreach(v, i, item) {
		if (!json_is_string(item))
			return api__fail(err, field, "%s[%zu]: expected a flag name",
					 field, i);
		if (mm_slab_flag_parse(json_string_value(item), out))
			return api__fail(err, field, "%s[%zu]: unknown slab flag "
					 "\"%s\"", field, i,
					 json_string_value(item));
	}
	return 0;
}

json_t *api_hex(uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "0x%llx", (unsigned long long)v);
	return json_string(s);
}
