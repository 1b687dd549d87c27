/*
 * body.c — request bodies (SPEC §4 conventions).
 *
 * Accepted content types: application/json, none, or
 * application/x-www-form-urlencoded when the body parses as JSON (what
 * `curl -d` sends); any other → 415.  An empty (or all-whitespace) body
 * means {}.  Before parsing, the nesting depth is measured with a bracket
 * scan that skips strings (O(n), no recursion), so 10,000 '[' are answered
 * 413 (naming the limit, --max-json-depth) without ever reaching the parser; jansson then rejects bad syntax,
 * invalid UTF-8, NUL characters, integers beyond 64 bits and duplicate keys.
 */
#include "server/srv.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "api/ops.h"

int srv_json_depth(const char *s, size_t len, int limit)
{
	int depth = 0, max = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max) {
				max = depth;
				if (max > limit)
					return max;
			}
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return max;
}

/* Media type of a Content-Type value, without parameters, matches type. */
static bool srv__ctype_is(const char *ct, const char *type)
{
	size_t n = strlen(type);
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

json_t *srv_body_object(const struct srv_request *req, struct srv_response *res)
{
	const char *ct = req->content_type;
	bool form = false;
	json_error_t e;

	if (ct && *ct && !srv__ctype_is(ct, "application/json")) {
		form = srv__ctype_is(ct, "application/x-www-form-urlencoded");
		if (!form) {
			srv_reply_error(res, 415, json_pack("{s:s}", "content_type", ct),
					"Content-Type \"%.100s\" is not supported: "
					"send application/json", ct);
			return NULL;
		}
	}
	size_t i = 0;
	while (req->body && i < req->body_len && isspace((unsigned char)req->body[i]))
		i++;
	if (!req->body || i == req->body_len)
		return json_object();
	int limit = req->max_depth ? req->max_depth : SRV_JSON_MAX_DEPTH;
	int depth = srv_json_depth(req->body, req->body_len, limit);
	if (depth > limit) {
		srv_reply_error(res, 413, json_pack("{s:s, s:i}", "limit",
						    "max_json_depth",
						    "max_json_depth", limit),
				"JSON nesting deeper than %d levels "
				"(--max-json-depth)", limit);
		return NULL;
	}
	json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		if (form) {
			srv_reply_error(res, 415, json_pack("{s:s}", "content_type", ct),
					"the application/x-www-form-urlencoded "
					"body is not JSON (%s): send "
					"application/json", e.text);
			return NULL;
		}
		srv_reply_error(res, 400, json_pack("{s:i, s:i, s:i}", "line",
						    e.line, "column", e.column,
						    "position", e.position),
				"malformed JSON: %s (line %d, column %d)", e.text,
				e.line, e.column);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		srv_reply_error(res, 400, NULL, "the request body must be a JSON "
				"object");
		return NULL;
	}
	return j;
}
