/*
 * fuzz_route.c — the HTTP routing layer without sockets: srv_route() of
 * server/routes.c (matcher, 404/405/400 dispatch, path ids, query
 * parameters, body decoding, every handler) on one application whose
 * machine table is fresh per input, holding one machine "m-1" with a process (pid 1), no journal.
 *
 * Input: line 1 "METHOD TARGET" (TARGET = path[?k=v&k2…], the bytes as the
 * transport would hand them over after decoding), line 2 the Content-Type
 * (empty: none), line 3 the Accept header, the rest the body.
 *
 * Oracles: a body is always set; no 500; a 503 only from the journal and
 * history routes (there is no store here) and the event stream (no
 * connection to hold); every status >= 400 answers the SPEC
 * §4 error shape with that status; JSON answers parse; a 405 names Allow;
 * the invariant checker is clean on every machine afterwards.
 */
#include <stdlib.h>
#include <string.h>

#include "server/srv.h"
#include "tests/fuzz/fuzz.h"

#define FZ_LINE 4096

static struct srv_options fz_opt;
static struct srv_app fz_app; /* routes and OpenAPI once; machines per input */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	char *none[] = {NULL};
	(void)argc;
	(void)argv;
	if (srv_options_parse(&fz_opt, 0, none, err, sizeof(err)))
		fz_fail("options: %s", err);
	fz_opt.max_machines = 4;
	fz_opt.max_memory = 64u << 20;
	fz_opt.max_batch = 64;
	srv_log_open("");
	if (srv_app_init(&fz_app, &fz_opt))
		fz_fail("srv_app_init failed");
	if (srv_tenants_init(&fz_app.tenants, &fz_opt, err, sizeof(err)))
		fz_fail("tenants: %s", err); /* single-tenant: "default" */
	return 0;
}

/* The next line of [*p, end) into buf (NUL-terminated, NULs kept). */
static size_t fz__line(const char **p, const char *end, char *buf)
{
	size_t n = 0;
	while (*p < end && **p != '\n' && n < FZ_LINE - 1)
		buf[n++] = *(*p)++;
	if (*p < end && **p == '\n')
		(*p)++;
	buf[n] = '\0';
	return n;
}

/* Routes that answer 503 here by design: the journal and the history need
 * the store (there is none), an event stream needs a connection. */
static bool fz__needs_store(const char *path)
{
	static const char *const parts[] = {"/journal", "/events", "/snapshots",
					    ":rewind", ":clone"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (strstr(path, parts[i]))
			return true;
	return false;
}

static void fz__oracle(const struct srv_request *req,
		       const struct srv_response *res)
{
	if (!res->body)
		fz_fail("no body for %s %s", req->method, req->path);
	if (res->status == 500 ||
	    (res->status == 503 && !fz__needs_store(req->path)) ||
	    res->status < 200 || res->status > 599)
		fz_fail("status %d for %s %s: %s", res->status, req->method,
			req->path, res->body);
	if (res->status == 405 && !res->allow[0])
		fz_fail("405 without Allow");
	bool is_json = res->content_type &&
		       !strcmp(res->content_type, "application/json");
	if (!is_json && res->status < 400)
		return;
	json_error_t e;
	json_t *j = json_loadb(res->body, res->len, 0, &e);
	if (!j || (res->status >= 400 && !is_json))
		fz_fail("answer %d is not JSON: %.200s", res->status, res->body);
	if (res->status >= 400)
		fz_error_shape(json_object_get(j, "error"), res->status);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	static char line[FZ_LINE], ctype[FZ_LINE], accept[FZ_LINE];
	struct srv_query_arg q[SRV_MAX_QUERY];
	struct srv_app *app = &fz_app;
	struct srv_machine *sm;
	struct mm_config cfg;
	char err[256];
	int pid;

	fz__line(&p, end, line);
	char *path = strchr(line, ' ');
	if (!path)
		return 0;
	*path++ = '\0';
	fz__line(&p, end, ctype);
	fz__line(&p, end, accept);

	struct srv_request req = {
		.method = line, .path = path, .content_type = ctype[0] ? ctype : NULL,
		.accept = accept[0] ? accept : NULL, .id = "fuzz", .query = q,
	};
	char *qs = strchr(path, '?');
	if (qs) {
		*qs++ = '\0';
		for (char *kv = strtok(qs, "&"); kv; kv = strtok(NULL, "&")) {
			if (req.nquery == SRV_MAX_QUERY) {
				req.query_overflow = true;
				break;
			}
			char *eq = strchr(kv, '=');
			if (eq)
				*eq++ = '\0';
			q[req.nquery].key = kv;
			q[req.nquery++].value = eq;
		}
	}
	char *body = NULL;
	if (p < end) {
		body = malloc((size_t)(end - p) + 1);
		if (!body)
			return 0;
		memcpy(body, p, (size_t)(end - p));
		body[end - p] = '\0';
		req.body = body;
		req.body_len = (size_t)(end - p);
	}

	srv_machines_init(&app->machines, fz_opt.max_machines, fz_opt.max_memory);
	mm_config_default(&cfg);
	cfg.memory = 8u << 20;
	if (srv_machines_create(&app->machines, "default", "fz", &cfg, &sm,
				err, sizeof(err)) ||
	    mm_spawn(sm->mm, "fz", -1, &pid))
		fz_fail("setup: %s", err);

	struct srv_response res = {0};
	srv_route(app, &req, &res);
	fz__oracle(&req, &res);
	free(res.body);
	for (size_t i = 0; i < app->machines.n; i++)
		fz_check(app->machines.v[i]->mm, "after the request");
	srv_machines_free(&app->machines);
	free(body);
	return 0;
}
