/*
 * reply.c — answers and query parameters, apart from the HTTP transport
 * (http.c) so the router can be driven without sockets (the routing fuzz
 * driver, tests/fuzz/fuzz_route.c): a request's query parameters arrive as
 * an array of key/value pairs collected by the transport.
 */
#include "server/srv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/ops.h"

/* ---- replies (shared with routes.c) ---------------------------------------- */

void srv_reply_json(struct srv_response *res, int status, json_t *body)
{
	size_t n = 0;
	char *text = body ? api_json_text(body, &n) : NULL;
	json_decref(body);
	free(res->body);
	if (!text) {
		static const char oom[] = "{\"error\":{\"code\":\"INTERNAL\",\"status\":"
					  "500,\"message\":\"out of memory\","
					  "\"details\":{}}}\n";
		res->status = 500;
		res->content_type = "application/json";
		res->body = strdup(oom);
		res->len = res->body ? sizeof(oom) - 1 : 0;
		return;
	}
	char *b = realloc(text, n + 2);
	if (b) {
		b[n++] = '\n';
		b[n] = '\0';
		text = b;
	}
	res->status = status;
	res->content_type = "application/json";
	res->body = text;
	res->len = n;
}

void srv_reply_text(struct srv_response *res, int status, const char *ctype,
		    const char *text, size_t len)
{
	free(res->body);
	res->body = malloc(len + 1);
	if (!res->body) {
		srv_reply_json(res, 500, NULL);
		return;
	}
	memcpy(res->body, text, len);
	res->body[len] = '\0';
	res->len = len;
	res->status = status;
	res->content_type = ctype;
}

void srv_reply_error_json(struct srv_response *res, json_t *inner)
{
	json_t *st = json_object_get(inner, "status");
	int status = st ? (int)json_integer_value(st) : 500;
	srv_reply_json(res, status, api_error_wrap(inner));
}

void srv_reply_error(struct srv_response *res, int status, json_t *details,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_t *e = api_error_vnew(status, NULL, details, fmt, ap);
	va_end(ap);
	srv_reply_error_json(res, e);
}

/* ---- query parameters -------------------------------------------------------- */

const char *srv_query(const struct srv_request *r, const char *key)
{
	for (size_t i = 0; i < r->nquery; i++)
		if (!strcmp(r->query[i].key, key))
			return r->query[i].value;
	return NULL;
}

const char *srv_query_unknown(const struct srv_request *r,
			      const char *const *allowed)
{
	for (size_t i = 0; i < r->nquery; i++) {
		int k = 0;
		while (allowed && allowed[k] && strcmp(allowed[k], r->query[i].key))
			k++;
		if (!allowed || !allowed[k])
			return r->query[i].key;
	}
	return NULL;
}
