/*
 * value.c — the value conventions of SPEC §4: sizes ("64K" = 65536, binary
 * units), addresses (numbers, "0x…" or decimal strings; answered as
 * lowercase hex strings), GFP, SLAB_* and MAP_* flag arrays, protection
 * triplets ("rw-") and base64 strings (ELF images, page contents).
 *
 * Flags and protections are names only: a raw number (PROT_READ = 1,
 * MAP_PRIVATE = 2) is refused, so a record reads the same to every reader
 * and no arch-specific value leaks into the journal.
 */
#include "api/api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int api_fail(struct api_error *err, const char *field, const char *fmt, ...)
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

/* A JSON integer as a non-negative 64-bit value. */
static int api__nonneg(const json_t *v, const char *field, uint64_t *out,
		       struct api_error *err)
{
	json_int_t i = json_integer_value(v);

	if (i < 0)
		return api_fail(err, field, "%s: must not be negative", field);
	*out = (uint64_t)i;
	return 0;
}

int api_parse_size(const json_t *v, const char *field, uint64_t *out,
		   struct api_error *err)
{
	if (json_is_integer(v))
		return api__nonneg(v, field, out, err);
	if (!json_is_string(v))
		return api_fail(err, field, "%s: expected a size (number or "
				 "string like \"64K\")", field);
	const char *s = json_string_value(v), *e;
	uint64_t n;
	if (api__parse_u64(s, 10, &n, &e))
		return api_fail(err, field, "%s: \"%s\" is not a size", field, s);
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
			return api_fail(err, field, "%s: \"%s\" overflows 64 bits",
					 field, s);
		*out = n << units[i].shift;
		return 0;
	}
	return api_fail(err, field, "%s: unknown unit in \"%s\" (use K, M, G "
			 "or T: binary units)", field, s);
}

int api_parse_addr(const json_t *v, const char *field, uint64_t *out,
		   struct api_error *err)
{
	if (json_is_integer(v))
		return api__nonneg(v, field, out, err);
	if (!json_is_string(v))
		return api_fail(err, field, "%s: expected an address (number, "
				 "\"0x…\" or decimal string)", field);
	const char *s = json_string_value(v), *e;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (api__parse_u64(hex ? s + 2 : s, hex ? 16 : 10, out, &e) || *e)
		return api_fail(err, field, "%s: \"%s\" is not an address",
				 field, s);
	return 0;
}

int api_parse_gfp(const json_t *v, const char *field, uint32_t *out,
		  struct api_error *err)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return api_fail(err, field, "%s: expected an array of GFP flag "
				 "names, e.g. [\"GFP_KERNEL\"]", field);
	*out = 0;
	json_array_foreach(v, i, item) {
		if (!json_is_string(item))
			return api_fail(err, field, "%s[%zu]: expected a flag name",
					 field, i);
		if (mm_gfp_parse(json_string_value(item), out))
			return api_fail(err, field, "%s[%zu]: unknown GFP flag "
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
		return api_fail(err, field, "%s: expected an array of SLAB_* "
				 "flag names, e.g. [\"SLAB_HWCACHE_ALIGN\"]",
				 field);
	*out = 0;
	json_array_foreach(v, i, item) {
		if (!json_is_string(item))
			return api_fail(err, field, "%s[%zu]: expected a flag name",
					 field, i);
		if (mm_slab_flag_parse(json_string_value(item), out))
			return api_fail(err, field, "%s[%zu]: unknown slab flag "
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

int api_parse_prot(const json_t *v, const char *field, int *out,
		   struct api_error *err)
{
	static const char letters[] = "rwx";

	if (!json_is_string(v))
		return api_fail(err, field, "%s: expected a triplet like \"rw-\" "
				 "or \"---\" (raw PROT_* numbers are not "
				 "accepted)", field);
	const char *s = json_string_value(v);
	int prot = 0;
	bool ok = json_string_length(v) == 3;
	for (int k = 0; ok && k < 3; k++) {
		if (s[k] == letters[k])
			prot |= 1 << k; /* MM_PROT_READ, _WRITE, _EXEC */
		else if (s[k] != '-')
			ok = false;
	}
	if (!ok)
		return api_fail(err, field, "%s: \"%.20s\" is not a protection "
				 "triplet [r-][w-][x-] such as \"rw-\" or \"---\"",
				 field, s);
	_Static_assert(MM_PROT_READ == 1 && MM_PROT_WRITE == 2 &&
		       MM_PROT_EXEC == 4, "prot bits follow the triplet");
	*out = prot;
	return 0;
}

const char *api_prot_str(int prot, char *buf)
{
	buf[0] = prot & MM_PROT_READ ? 'r' : '-';
	buf[1] = prot & MM_PROT_WRITE ? 'w' : '-';
	buf[2] = prot & MM_PROT_EXEC ? 'x' : '-';
	buf[3] = '\0';
	return buf;
}

/* Every MAP_* name the engine parses (mm_map_flag_parse), in uapi order. */
const char *const api_map_flag_names[] = {
	"MAP_SHARED", "MAP_PRIVATE", "MAP_SHARED_VALIDATE", "MAP_FIXED",
	"MAP_ANONYMOUS", "MAP_ANON", "MAP_GROWSDOWN", "MAP_DENYWRITE",
	"MAP_EXECUTABLE", "MAP_LOCKED", "MAP_NORESERVE", "MAP_POPULATE",
	"MAP_NONBLOCK", "MAP_STACK", "MAP_HUGETLB", "MAP_SYNC",
	"MAP_FIXED_NOREPLACE", NULL,
};

/* Every MADV_* name the engine parses (mm_madv_parse). */
const char *const api_madv_names[] = {
	"MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED",
	"MADV_DONTNEED", "MADV_DONTFORK", "MADV_DOFORK", "MADV_COLD",
	"MADV_PAGEOUT", NULL,
};

int api_parse_map_flags(const json_t *v, const char *field, uint32_t *out,
			struct api_error *err)
{
	size_t i;
	json_t *item;

	if (!json_is_array(v))
		return api_fail(err, field, "%s: expected an array of MAP_* flag "
				 "names, e.g. [\"MAP_PRIVATE\", \"MAP_ANONYMOUS\"]",
				 field);
	int flags = 0;
	json_array_foreach(v, i, item) {
		if (!json_is_string(item))
			return api_fail(err, field, "%s[%zu]: expected a flag name "
					 "like \"MAP_PRIVATE\" (raw numbers are "
					 "not accepted)", field, i);
		const char *name = json_string_value(item);
		int k = 0;
		while (api_map_flag_names[k] && strcmp(api_map_flag_names[k], name))
			k++;
		if (!api_map_flag_names[k] || mm_map_flag_parse(name, &flags))
			return api_fail(err, field, "%s[%zu]: unknown mmap flag "
					 "\"%.60s\"", field, i, name);
	}
	*out = (uint32_t)flags;
	return 0;
}

/* The value of a base64 digit, or -1. */
static int api__b64_digit(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int api_parse_base64(const json_t *v, const char *field, size_t *len,
		     struct api_error *err)
{
	if (!json_is_string(v))
		return api_fail(err, field, "%s: expected a base64 string", field);
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), digits = n;
	/* up to two '=' at the end, and then only to a multiple of 4 */
	while (digits > 0 && n - digits < 2 && s[digits - 1] == '=')
		digits--;
	for (size_t i = 0; i < digits; i++)
		if (api__b64_digit((unsigned char)s[i]) < 0)
			return api_fail(err, field, "%s: not base64: byte %zu is "
					 "not of the standard alphabet "
					 "[A-Za-z0-9+/] (no line breaks)", field,
					 i);
	if (digits % 4 == 1 || (digits < n && n % 4 != 0))
		return api_fail(err, field, "%s: not base64: %zu characters "
				 "cannot end a base64 text", field, n);
	*len = digits / 4 * 3 + (digits % 4 ? digits % 4 - 1 : 0);
	return 0;
}

size_t api_base64_decode(const char *s, uint8_t *out)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (; *s && *s != '='; s++) {
		acc = (acc << 6) | (uint32_t)api__b64_digit((unsigned char)*s);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return n;
}

json_t *api_base64_string(const uint8_t *p, size_t len)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = (len + 2) / 3 * 4;
	char *s = malloc(n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0, o = 0; i < len; i += 3, o += 4) {
		uint32_t w = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			w |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			w |= p[i + 2];
		s[o] = digits[w >> 18];
		s[o + 1] = digits[(w >> 12) & 63];
		s[o + 2] = i + 1 < len ? digits[(w >> 6) & 63] : '=';
		s[o + 3] = i + 2 < len ? digits[w & 63] : '=';
	}
	s[n] = 0;
	json_t *j = json_stringn(s, n);
	free(s);
	return j;
}
