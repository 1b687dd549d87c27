/*
 * dump.c — a JSON value printed compactly into a caller's buffer, byte for
 * byte as json_dumpb(v, JSON_COMPACT) prints it, for the lines `mmsim run`
 * prints per record.  jansson's dumper fills a loop-check table (a
 * snprintf'd pointer key, a hash insert and delete) for every object and
 * array it enters: most of the cost of printing a small result.  Values
 * built by the operation table hold no cycles, so none is needed here.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct api__out {
	char *buf;
	size_t size, n;
	bool fail;  /* it did not fit, or holds a real */
};

static void api__put(struct api__out *o, const char *s, size_t len)
{
	if (o->fail || len > o->size - o->n) {
		o->fail = true;
		return;
	}
	memcpy(o->buf + o->n, s, len);
	o->n += len;
}

static void api__put_int(struct api__out *o, json_int_t v)
{
	char digits[24];
	size_t d = sizeof(digits);
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v
				     : (unsigned long long)v;

	do
		digits[--d] = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		digits[--d] = '-';
	api__put(o, digits + d, sizeof(digits) - d);
}

/* A string as jansson escapes it: '"', '\\' and the control bytes. */
static void api__put_string(struct api__out *o, const char *s, size_t len)
{
	static const char short_esc[0x20] = {
		['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
	};
	size_t run = 0;

	api__put(o, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		api__put(o, s + run, i - run);
		run = i + 1;
		char e[8];
		if (c >= 0x20)
			api__put(o, (char[]){'\\', (char)c}, 2);
		else if (short_esc[c])
			api__put(o, (char[]){'\\', short_esc[c]}, 2);
		else
			api__put(o, e, (size_t)snprintf(e, sizeof(e), "\\u%04X", c));
	}
	api__put(o, s + run, len - run);
	api__put(o, "\"", 1);
}

static void api__put_json(struct api__out *o, const json_t *v)
{
	const char *key;
	json_t *item;
	size_t i, klen;
	bool first = true;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		api__put(o, "{", 1);
		json_object_keylen_foreach((json_t *)v, key, klen, item) {
			if (!first)
				api__put(o, ",", 1);
			first = false;
			api__put_string(o, key, klen);
			api__put(o, ":", 1);
			api__put_json(o, item);
		}
		api__put(o, "}", 1);
		return;
	case JSON_ARRAY:
		api__put(o, "[", 1);
		json_array_foreach(v, i, item) {
			if (i)
				api__put(o, ",", 1);
			api__put_json(o, item);
		}
		api__put(o, "]", 1);
		return;
	case JSON_STRING:
		api__put_string(o, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		api__put_int(o, json_integer_value(v));
		return;
	case JSON_TRUE:
		api__put(o, "true", 4);
		return;
	case JSON_FALSE:
		api__put(o, "false", 5);
		return;
	case JSON_NULL:
		api__put(o, "null", 4);
		return;
	default:  /* a real: jansson's own format ("%.17g" and more) */
		o->fail = true;
	}
}

size_t api_json_compact(const json_t *v, char *buf, size_t size)
{
	struct api__out o = {buf, size, 0, false};

	api__put_json(&o, v);
	return o.fail ? 0 : o.n;
}

char *api_json_text(const json_t *v, size_t *len)
{
	char buf[4096];
	size_t n = api_json_compact(v, buf, sizeof(buf));
	char *text;

	if (!n) {
		text = json_dumps(v, JSON_COMPACT);
		if (text && len)
			*len = strlen(text);
		return text;
	}
	text = malloc(n + 1);
	if (!text)
		return NULL;
	memcpy(text, buf, n);
	text[n] = '\0';
	if (len)
		*len = n;
	return text;
}
