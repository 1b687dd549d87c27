/*
 * routes.c — the routing table and the handlers of HTTP API v1 (SPEC §4.1).
 *
 * One table: fixed routes (below) plus one route per row of the operation
 * table (api_ops; POST unless the row names another method, as DELETE
 * …/kmemCaches/{cache}), added at start-up — so a new op needs no edit
 * here.  The same table yields the OpenAPI document (each fixed route
 * carries its documentation; ops are described by api/openapi.c).
 *
 * Patterns are literal text with {name} captures; a capture is 1..127
 * characters up to the next '/' or ':' (ids never contain either), so
 * "/v1/machines/{m}:check" and "/v1/machines/{m}/digest" are distinct.
 * Dispatch: no pattern matches → 404; patterns match but not the method →
 * 405 with Allow; then who is asking (SPEC §5): /v1/machines… needs a
 * tenant key (401 without or with a bad one, 403 for the admin key),
 * /v1/tenants… and /metrics the admin key (403 for a tenant key) — in
 * single-tenant mode every caller is the tenant "default" and needs no
 * key; then the tenant's rate limit (429 + Retry-After); unknown query
 * parameter → 400; {m} not a machine OF THIS TENANT → 404, word for word
 * what a never-made id answers; then the handler, which always fills the
 * response.
 */
#include "server/srv.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/ops.h"

#define SRV_MAX_CAPTURES 4
#define SRV_CAPTURE_MAX 128
#define SRV_MAX_VIOLATIONS 64
#define SRV_PAGE_SIZE_DEFAULT 100
#define SRV_PAGE_SIZE_MAX 1000

struct srv_route;

struct srv_ctx {
	struct srv_app *app;
	const struct srv_request *req;
	struct srv_response *res;
	const struct srv_route *route;
	struct srv_machine *m;   /* the {m} of the path, when there is one */
	struct srv_tenant *tenant; /* the caller (tenant routes) */
	int ncap;
	struct {
		char name[32];
		char value[SRV_CAPTURE_MAX];
	} cap[SRV_MAX_CAPTURES];
};

typedef void (*srv_handler_fn)(struct srv_ctx *x);

struct srv_route {
	const char *method;
	const char *pattern;
	srv_handler_fn fn;
	const char *const *query;   /* allowed query parameters (NULL = none) */
	const struct api_op *op;    /* op routes */
	struct api_route_doc doc;   /* for the OpenAPI document */
	size_t tail;                /* length of the literal text after the
				     * pattern's last capture (srv_app_init) */
};

/* ---- helpers ---------------------------------------------------------------- */

static const char *srv__cap(const struct srv_ctx *x, const char *name)
{
	for (int i = 0; i < x->ncap; i++)
		if (!strcmp(x->cap[i].name, name))
			return x->cap[i].value;
	return NULL;
}

/* A JSON string of wire bytes that may not be UTF-8. */
static json_t *srv__jstr(const char *s)
{
	json_t *j = json_string(s);
	return j ? j : json_string("(not UTF-8)");
}

/* Parses an unsigned query parameter (decimal or 0x hex) within [lo, hi]. */
static int srv__query_u64(struct srv_ctx *x, const char *key, uint64_t dflt,
			  uint64_t lo, uint64_t hi, uint64_t *out)
{
	const char *v = srv_query(x->req, key);
	struct api_error e;

	*out = dflt;
	if (!v)
		return 0;
	json_t *j = json_string(v);
	int rc = j ? api_parse_addr(j, key, out, &e) : -1;
	json_decref(j);
	if (rc || *out < lo || *out > hi) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", key),
				"%s: \"%.60s\" is not a number in [%llu, %llu]", key,
				v, (unsigned long long)lo, (unsigned long long)hi);
		return -1;
	}
	return 0;
}

/* The body as a JSON object with only the given keys, or NULL (answered). */
static json_t *srv__body(struct srv_ctx *x, const char *const *keys)
{
	json_t *b = srv_body_object(x->req, x->res);
	const char *key;
	json_t *v;

	if (!b)
		return NULL;
	json_object_foreach(b, key, v) {
		int k = 0;
		while (keys && keys[k] && strcmp(keys[k], key))
			k++;
		if (!keys || !keys[k]) {
			srv_reply_error(x->res, 400, json_pack("{s:o}", "field",
							       srv__jstr(key)),
					"unknown field \"%.100s\"", key);
			json_decref(b);
			return NULL;
		}
	}
	return b;
}

/* ---- health and documents ------------------------------------------------------ */

static void srv__healthz(struct srv_ctx *x)
{
	srv_reply_json(x->res, 200, json_pack("{s:s}", "status", "ok"));
}

static void srv__readyz(struct srv_ctx *x)
{
	if (x->app->shutting_down) {
		snprintf(x->res->retry_after, sizeof(x->res->retry_after), "1");
		srv_reply_error(x->res, 503, NULL, "the server is shutting down");
		return;
	}
	if (x->app->recovering) {
		snprintf(x->res->retry_after, sizeof(x->res->retry_after), "1");
		srv_reply_error(x->res, 503, NULL, "recovering the machines from "
				"the journal");
		return;
	}
	srv_reply_json(x->res, 200, json_pack("{s:s}", "status", "ready"));
}

static void srv__openapi(struct srv_ctx *x)
{
	srv_reply_json(x->res, 200, json_incref(x->app->openapi));
}

/* ---- machines -------------------------------------------------------------------- */

/*
 * Creates and journals a machine; answers the error itself (429 over a
 * server limit, 503 out of memory, 400 for a config the engine refuses)
 * and returns NULL, or sets Location and returns the machine.
 */
int srv_quota_check(struct srv_app *app, const struct srv_tenant *tn,
		    uint64_t memory, struct srv_response *res)
{
	const struct srv_quotas *q = &tn->q;
	size_t count;
	uint64_t used;

	srv_machines_usage(&app->machines, tn->id, &count, &used);
	if (count >= q->machines) {
		snprintf(res->retry_after, sizeof(res->retry_after), "60");
		srv_reply_error(res, 429, json_pack("{s:s, s:I}", "limit",
						    "machines", "machines",
						    (json_int_t)q->machines),
				"tenant quota: at most %llu machines; delete one "
				"first", (unsigned long long)q->machines);
		return -1;
	}
	if (memory > q->memory || used > q->memory - memory) {
		snprintf(res->retry_after, sizeof(res->retry_after), "60");
		srv_reply_error(res, 429, json_pack("{s:s, s:I, s:I}", "limit",
						    "memory", "memory",
						    (json_int_t)q->memory, "used",
						    (json_int_t)used),
				"tenant quota: at most %llu MiB of simulated memory "
				"in all machines; %llu MiB are in use",
				(unsigned long long)(q->memory >> 20),
				(unsigned long long)(used >> 20));
		return -1;
	}
	return 0;
}

static struct srv_machine *srv__create(struct srv_ctx *x, const char *name,
				       const struct mm_config *cfg)
{
	struct srv_machine *sm;
	char err[256];

	if (srv_quota_check(x->app, x->tenant, cfg->memory, x->res))
		return NULL;
	int rc = srv_machines_create(&x->app->machines, x->tenant->id, name, cfg,
				     &sm, err, sizeof(err));
	if (rc == -MM_ENOSPC) {
		snprintf(x->res->retry_after, sizeof(x->res->retry_after), "60");
		srv_reply_error(x->res, 429, json_pack("{s:s}", "limit", "server"),
				"%s", err);
	} else if (rc == -MM_ENOMEM) {
		snprintf(x->res->retry_after, sizeof(x->res->retry_after), "10");
		srv_reply_error(x->res, 503, NULL, "%s", err);
	} else if (rc) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "config"),
				"config: %s", err);
	} else if (x->app->journal && srv_journal_create(x->app->journal, sm)) {
		srv_machines_delete(&x->app->machines, sm->id);
		snprintf(x->res->retry_after, sizeof(x->res->retry_after), "10");
		srv_reply_error(x->res, 503, NULL, "the host is out of memory");
	} else {
		snprintf(x->res->location, sizeof(x->res->location),
			 "/v1/machines/%s", sm->id);
		return sm;
	}
	return NULL;
}

static void srv__machine_create(struct srv_ctx *x)
{
	static const char *const keys[] = {"name", "config", NULL};
	struct mm_config cfg;
	struct api_error e = {{0}, {0}};
	struct srv_machine *sm;
	const char *name = NULL;

	json_t *b = srv__body(x, keys);
	if (!b)
		return;
	json_t *jn = json_object_get(b, "name");
	if (jn && !json_is_null(jn)) {
		if (!json_is_string(jn) || json_string_length(jn) < 1 ||
		    json_string_length(jn) > SRV_NAME_MAX) {
			srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "name"),
					"name: expected a string of 1 to %d bytes",
					SRV_NAME_MAX);
			goto out;
		}
		name = json_string_value(jn);
		for (const unsigned char *p = (const void *)name; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				name = NULL;
		if (!name || strlen(json_string_value(jn)) != json_string_length(jn)) {
			srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "name"),
					"name: control characters are not allowed");
			goto out;
		}
	}
	if (api_config_decode(json_object_get(b, "config"), &cfg, &e)) {
		char field[sizeof(e.field)];
		snprintf(field, sizeof(field), "%s", e.field);
		if (strcmp(field, "config") != 0)
			snprintf(e.field, sizeof(e.field), "config.%.50s", field);
		srv_reply_error_json(x->res, api_error_invalid(&e));
		goto out;
	}
	sm = srv__create(x, name, &cfg);
	if (sm)
		srv_reply_json(x->res, 201, srv_machine_json(sm));
out:
	json_decref(b);
}

/*
 * The list-envelope arguments: page_size and page_token, a token being
 * PREFIX followed by a decimal number in [min, max] (what the list put in
 * next_page_token).  *after is 0 and *given false without a token.
 * Answers 400 itself and returns -1 on bad input.
 */
static int srv__page_args(struct srv_ctx *x, const char *prefix, uint64_t min,
			  uint64_t max, uint64_t *size, uint64_t *after,
			  bool *given)
{
	*after = 0;
	*given = false;
	if (srv__query_u64(x, "page_size", SRV_PAGE_SIZE_DEFAULT, 1,
			   SRV_PAGE_SIZE_MAX, size))
		return -1;
	const char *tok = srv_query(x->req, "page_token");
	if (!tok || !*tok)
		return 0;
	size_t plen = strlen(prefix);
	const char *num = tok + plen;
	char *end = NULL;
	if (strncmp(tok, prefix, plen) == 0 && *num >= '0' && *num <= '9')
		*after = strtoull(num, &end, 10);
	if (!end || *end || *after < min || *after > max) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "page_token"),
				"page_token: \"%.60s\" is not a token from "
				"next_page_token", tok);
		return -1;
	}
	*given = true;
	return 0;
}

static void srv__machine_list(struct srv_ctx *x)
{
	const struct srv_machines *t = &x->app->machines;
	uint64_t size, after;
	bool given;

	if (srv__page_args(x, "m-", 1, UINT64_MAX, &size, &after, &given))
		return;
	json_t *items = json_array();
	const char *last = NULL;
	size_t i = srv_machines_after(t, after), got = 0;
	for (; i < t->n; i++) {
		if (strcmp(t->v[i]->tenant, x->tenant->id))
			continue;
		if (got == size)
			break;
		json_array_append_new(items, srv_machine_json(t->v[i]));
		last = t->v[i]->id;
		got++;
	}
	/* a next page only if another of this tenant's machines follows */
	json_t *next = json_string(i < t->n && last ? last : "");
	srv_reply_json(x->res, 200, json_pack("{s:o, s:o}", "items", items,
					      "next_page_token", next));
}

static void srv__machine_get(struct srv_ctx *x)
{
	srv_reply_json(x->res, 200, srv_machine_json(x->m));
}

static void srv__machine_delete(struct srv_ctx *x)
{
	if (x->app->journal && srv_journal_delete(x->app->journal, x->m->num)) {
		snprintf(x->res->retry_after, sizeof(x->res->retry_after), "10");
		srv_reply_error(x->res, 503, NULL, "the host is out of memory");
		return;
	}
	srv_sse_machine_gone(x->app->sse, x->m->num, "the machine was deleted");
	srv_machines_delete(&x->app->machines, x->m->id);
	x->m = NULL;
	srv_reply_json(x->res, 200, json_object());
}

/* ---- tenants (admin) --------------------------------------------------------------- */

static json_t *srv__tenant_json(struct srv_ctx *x, const struct srv_tenant *tn)
{
	size_t count;
	uint64_t used;
	srv_machines_usage(&x->app->machines, tn->id, &count, &used);
	return srv_tenant_json(tn, count, used);
}

/* The {t} of the path as an existing tenant, or NULL (answered 404). */
static struct srv_tenant *srv__tenant_arg(struct srv_ctx *x)
{
	const char *id = srv__cap(x, "t");
	struct srv_tenant *tn = srv_tenant_get(&x->app->tenants, id);
	if (!tn)
		srv_reply_error(x->res, 404, json_pack("{s:o}", "tenant",
						       srv__jstr(id)),
				"no tenant \"%.63s\"", id);
	return tn;
}

/* A new key for tn, journaled; answers {"id","api_key"} with status. */
static void srv__tenant_key(struct srv_ctx *x, struct srv_tenant *tn,
			    int status)
{
	char key[160], hash[SRV_HASH_LEN * 2 + 1];
	srv_tenant_new_key(&x->app->tenants, tn, key, sizeof(key), hash);
	if (x->app->journal &&
	    srv_journal_tenant_put(x->app->journal, tn->id, hash, tn->given)) {
		snprintf(x->res->retry_after, sizeof(x->res->retry_after), "10");
		srv_reply_error(x->res, 503, NULL, "the host is out of memory");
		return;
	}
	srv_reply_json(x->res, status, json_pack("{s:s, s:s, s:o}", "id", tn->id,
						 "api_key", key, "tenant",
						 srv__tenant_json(x, tn)));
}

static void srv__tenant_put(struct srv_ctx *x)
{
	static const char *const keys[] = {"quotas", NULL};
	const char *id = srv__cap(x, "t");
	char err[200];
	json_t *q;

	if (!srv_tenant_id_ok(id)) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "tenant"),
				"tenant id: \"%.80s\" is not [a-z0-9-]{1,63}", id);
		return;
	}
	json_t *b = srv__body(x, keys);
	if (!b)
		return;
	if (srv_quotas_decode(json_object_get(b, "quotas"), &q, err,
			      sizeof(err))) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "quotas"),
				"%s", err);
		json_decref(b);
		return;
	}
	json_decref(b);
	struct srv_tenant *tn = srv_tenant_get(&x->app->tenants, id);
	if (tn) {
		/* An existing tenant: new quotas, the key stays. */
		char hash[SRV_HASH_LEN * 2 + 1];
		sodium_bin2hex(hash, sizeof(hash), tn->hash, SRV_HASH_LEN);
		srv_tenant_add(&x->app->tenants, id, NULL, q);
		if (x->app->journal &&
		    srv_journal_tenant_put(x->app->journal, id, hash, tn->given)) {
			srv_reply_error(x->res, 503, NULL, "the host is out of "
					"memory");
			return;
		}
		srv_reply_json(x->res, 200, srv__tenant_json(x, tn));
		return;
	}
	tn = srv_tenant_add(&x->app->tenants, id, NULL, q);
	if (!tn) {
		srv_reply_error(x->res, 503, NULL, "the host is out of memory");
		return;
	}
	snprintf(x->res->location, sizeof(x->res->location), "/v1/tenants/%s", id);
	srv__tenant_key(x, tn, 201);
}

static void srv__tenant_rotate(struct srv_ctx *x)
{
	struct srv_tenant *tn = srv__tenant_arg(x);
	json_t *b = tn ? srv__body(x, NULL) : NULL;
	if (!b)
		return;
	json_decref(b);
	srv__tenant_key(x, tn, 200);
}

static void srv__tenant_get(struct srv_ctx *x)
{
	struct srv_tenant *tn = srv__tenant_arg(x);
	if (tn)
		srv_reply_json(x->res, 200, srv__tenant_json(x, tn));
}

static void srv__tenant_list(struct srv_ctx *x)
{
	const struct srv_tenants *t = &x->app->tenants;
	uint64_t size;
	if (srv__query_u64(x, "page_size", SRV_PAGE_SIZE_DEFAULT, 1,
			   SRV_PAGE_SIZE_MAX, &size))
		return;
	const char *tok = srv_query(x->req, "page_token");
	size_t i = tok && *tok ? srv_tenants_after(t, tok) : 0, end = i;
	json_t *items = json_array();
	for (; end < t->n && end - i < size; end++)
		json_array_append_new(items, srv__tenant_json(x, t->v[end]));
	json_t *next = json_string(end < t->n && end > i ? t->v[end - 1]->id : "");
	srv_reply_json(x->res, 200, json_pack("{s:o, s:o}", "items", items,
					      "next_page_token", next));
}

/* DELETE /v1/tenants/{t}: its machines go first, then the tenant. */
static void srv__tenant_delete(struct srv_ctx *x)
{
	struct srv_tenant *tn = srv__tenant_arg(x);
	struct srv_machines *t = &x->app->machines;
	if (!tn)
		return;
	for (size_t i = t->n; i-- > 0;) {
		struct srv_machine *sm = t->v[i];
		if (strcmp(sm->tenant, tn->id))
			continue;
		if (x->app->journal && srv_journal_delete(x->app->journal, sm->num))
			goto err_oom;
		srv_sse_machine_gone(x->app->sse, sm->num, "the machine's tenant "
				     "was deleted");
		srv_machines_delete(t, sm->id);
	}
	if (x->app->journal && srv_journal_tenant_delete(x->app->journal, tn->id))
		goto err_oom;
	srv_tenant_remove(&x->app->tenants, tn->id);
	srv_reply_json(x->res, 200, json_object());
	return;
err_oom:
	snprintf(x->res->retry_after, sizeof(x->res->retry_after), "10");
	srv_reply_error(x->res, 503, NULL, "the host is out of memory");
}

/* ---- events and metrics ------------------------------------------------------------------ */

static void srv__events(struct srv_ctx *x)
{
	srv_events_route(x->app, x->req, x->m, x->res);
}

static void srv__metrics(struct srv_ctx *x)
{
	size_t len;
	char *text = srv_metrics_text(x->app, &len);
	if (!text) {
		srv_reply_error(x->res, 503, NULL, "out of memory");
		return;
	}
	free(x->res->body);
	x->res->status = 200;
	x->res->content_type = "text/plain; version=0.0.4; charset=utf-8";
	x->res->body = text;
	x->res->len = len;
}

/* ---- operations ---------------------------------------------------------------------- */

/*
 * Applies a record; 200 and 422 are results: they advance seq and are
 * appended to the journal (the HTTP layer then waits for their commit in
 * strict mode).
 */
static int srv__apply(struct srv_ctx *x, const json_t *rec, json_t **result,
		      json_t **error)
{
	struct srv_machine *m = x->m;
	int st = api_op_apply(m->mm, rec, result, error);
	if (st == 200 || st == 422) {
		m->seq++;
		if (x->app->journal &&
		    srv_journal_op(x->app->journal, m->num, m->seq, rec, st,
				   st == 200 ? *result : *error))
			srv_log_event("journal", "out of memory: an operation "
				      "was not journaled");
		srv_history_after_op(x->app, m);
	}
	return st;
}

static void srv__op(struct srv_ctx *x)
{
	const struct api_op *op = x->route->op;
	json_t *b = srv_body_object(x->req, x->res), *result, *error;

	if (!b)
		return;
	json_t *name = json_object_get(b, "op");
	if (name && !(json_is_string(name) &&
		      !strcmp(json_string_value(name), op->name))) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "op"),
				"op: this route runs \"%s\"; leave \"op\" out or "
				"set it to that", op->name);
		goto out;
	}
	/* Path ids other than the machine become fields of the record. */
	for (int i = 0; i < x->ncap; i++) {
		if (!strcmp(x->cap[i].name, "m"))
			continue;
		if (json_object_get(b, x->cap[i].name)) {
			srv_reply_error(x->res, 400, json_pack("{s:s}", "field",
							       x->cap[i].name),
					"%s: given in the path; leave it out of "
					"the body", x->cap[i].name);
			goto out;
		}
		/* A string argument (a cache name) stays a string even when
		 * it looks like a number; other ids are integers if they can. */
		bool is_string = false;
		for (int k = 0; k < op->nargs; k++)
			if (!strcmp(op->args[k].name, x->cap[i].name))
				is_string = op->args[k].type == API_T_STRING;
		char *end;
		long long n = strtoll(x->cap[i].value, &end, 10);
		json_object_set_new(b, x->cap[i].name,
				    is_string || *end || end == x->cap[i].value
					    ? srv__jstr(x->cap[i].value)
					    : json_integer(n));
	}
	json_object_set_new(b, "op", json_string(op->name));
	int st = srv__apply(x, b, &result, &error);
	if (st == 200)
		srv_reply_json(x->res, 200, result);
	else
		srv_reply_error_json(x->res, error);
out:
	json_decref(b);
}

static void srv__batch(struct srv_ctx *x)
{
	static const char *const keys[] = {"ops", "stop_on_error", NULL};
	size_t limit = x->app->opt->max_batch, i;
	json_t *b = srv__body(x, keys), *rec, *result, *error;

	if (!b)
		return;
	json_t *ops = json_object_get(b, "ops");
	json_t *stop = json_object_get(b, "stop_on_error");
	if (!ops || !json_is_array(ops)) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "ops"),
				"ops: %s", ops ? "expected an array of operation "
				"records" : "\"ops\" is required");
		goto out;
	}
	if (stop && !json_is_boolean(stop)) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field",
						       "stop_on_error"),
				"stop_on_error: expected true or false");
		goto out;
	}
	if (json_array_size(ops) > limit) {
		srv_reply_error(x->res, 413, json_pack("{s:s, s:I, s:I}", "field",
						       "ops", "limit",
						       (json_int_t)limit, "count",
						       (json_int_t)json_array_size(ops)),
				"ops: %zu records; a batch holds at most %zu "
				"(--max-batch)", json_array_size(ops), limit);
		goto out;
	}
	bool stop_on_error = !stop || json_is_true(stop);
	json_t *results = json_array();
	json_array_foreach(ops, i, rec) {
		int st = srv__apply(x, rec, &result, &error);
		if (st == 200) {
			json_array_append_new(results, json_pack(
				"{s:b, s:o}", "ok", 1, "result", result));
			continue;
		}
		json_object_set_new(json_object_get(error, "details"), "index",
				    json_integer((json_int_t)i));
		json_array_append_new(results, json_pack("{s:b, s:o}", "ok", 0,
							 "error", error));
		if (stop_on_error)
			break;
	}
	srv_reply_json(x->res, 200, json_pack("{s:o}", "results", results));
out:
	json_decref(b);
}

/* ---- reads --------------------------------------------------------------------------- */

static void srv__check(struct srv_ctx *x)
{
	struct mm_violation v[SRV_MAX_VIOLATIONS];
	json_t *b = srv__body(x, NULL);

	if (!b)
		return;
	json_decref(b);
	int n = mm_check(x->m->mm, v, SRV_MAX_VIOLATIONS);
	json_t *list = json_array();
	for (int i = 0; i < n && i < SRV_MAX_VIOLATIONS; i++)
		json_array_append_new(list, json_pack(
			"{s:s, s:o}", "invariant", v[i].invariant, "detail",
			srv__jstr(v[i].detail)));
	srv_reply_json(x->res, 200, json_pack("{s:b, s:o, s:i}", "ok", n == 0,
					      "violations", list, "count", n));
}

/* GET …/journal: NDJSON, SPEC §6, streamed. */
static void srv__journal(struct srv_ctx *x)
{
	if (!x->app->journal || srv_journal_export(x->app->journal, x->m, x->res)) {
		snprintf(x->res->retry_after, sizeof(x->res->retry_after), "1");
		srv_reply_error(x->res, 503, NULL, "the journal cannot be read "
				"now");
	}
}

/* ---- history: snapshots, :restore, :rewind, :clone (history.c) -------------- */

static void srv__snapshots_create(struct srv_ctx *x)
{
	static const char *const keys[] = {"name", NULL};
	json_t *b = srv__body(x, keys);
	if (b)
		srv_history_create(x->app, x->m, b, x->res);
	json_decref(b);
}

static void srv__snapshots_list(struct srv_ctx *x)
{
	srv_history_list(x->app, x->m, x->res);
}

static void srv__snapshot_get(struct srv_ctx *x)
{
	srv_history_get(x->app, x->m, srv__cap(x, "s"), x->res);
}

static void srv__snapshot_delete(struct srv_ctx *x)
{
	srv_history_delete(x->app, x->m, srv__cap(x, "s"), x->res);
}

static void srv__snapshot_restore(struct srv_ctx *x)
{
	json_t *b = srv__body(x, NULL);
	if (b)
		srv_history_restore(x->app, x->m, srv__cap(x, "s"), x->res);
	json_decref(b);
}

static void srv__rewind(struct srv_ctx *x)
{
	static const char *const keys[] = {"seq", NULL};
	json_t *b = srv__body(x, keys);
	if (b)
		srv_history_rewind(x->app, x->m, b, x->res);
	json_decref(b);
}

static void srv__clone(struct srv_ctx *x)
{
	static const char *const keys[] = {"seq", NULL};
	json_t *b = srv__body(x, keys);
	if (b)
		srv_history_clone(x->app, x->m, b, x->res);
	json_decref(b);
}

static void srv__digest(struct srv_ctx *x)
{
	char hex[MM_DIGEST_HEX];
	mm_digest(x->m->mm, hex);
	srv_reply_json(x->res, 200, json_pack("{s:s, s:I}", "digest", hex, "seq",
					      (json_int_t)x->m->seq));
}

static void srv__proc(struct srv_ctx *x)
{
	const char *name = srv__cap(x, "name");
	const char *accept = x->req->accept;
	char *text;

	if (accept && strstr(accept, "application/json")) {
		json_t *j = api_proc_json(x->m->mm, name);
		if (j) {
			srv_reply_json(x->res, 200, j);
			return;
		}
	} else if (api_proc_text(x->m->mm, name, &text) == 0) {
		srv_reply_text(x->res, 200, "text/plain; charset=utf-8", text,
			       strlen(text));
		free(text);
		return;
	}
	srv_reply_error(x->res, 404, json_pack("{s:o}", "name", srv__jstr(name)),
			"no /proc/%.60s here (buddyinfo, pagetypeinfo, zoneinfo, "
			"meminfo, vmstat, slabinfo, vmallocinfo, swaps)", name);
}

/* ---- kernel allocators ----------------------------------------------------------------- */

/* The required ?addr= of a kernel read (number, 0x hex); -1 = answered. */
static int srv__query_addr(struct srv_ctx *x, uint64_t *addr)
{
	if (!srv_query(x->req, "addr")) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "addr"),
				"addr: the query parameter ?addr= is required");
		return -1;
	}
	return srv__query_u64(x, "addr", 0, 0, UINT64_MAX, addr);
}

/* GET …/kmemCaches: oldest first; page_token is the creation number of
 * the last cache of the previous page (stable across destroys). */
static void srv__caches(struct srv_ctx *x)
{
	const struct mm_machine *mm = x->m->mm;
	int ids[MM_SLAB_MAX_CACHES];
	uint64_t size, after;
	bool given;

	if (srv__page_args(x, "", 0, UINT32_MAX, &size, &after, &given))
		return;
	int n = api_kmem_cache_ids(mm, false, ids), i = 0;
	while (given && i < n && mm->caches[ids[i]]->seq <= after)
		i++;
	json_t *items = json_array();
	int end = i;
	for (; end < n && (uint64_t)(end - i) < size; end++)
		json_array_append_new(items, api_kmem_cache_json(mm, ids[end]));
	char next[16] = "";
	if (end < n && end > i)
		snprintf(next, sizeof(next), "%u", mm->caches[ids[end - 1]]->seq);
	srv_reply_json(x->res, 200, json_pack("{s:o, s:s}", "items", items,
					      "next_page_token", next));
}

static void srv__cache(struct srv_ctx *x)
{
	const char *name = srv__cap(x, "cache");
	int id = mm_kmem_cache_lookup(x->m->mm, name);

	if (id < 0) {
		srv_reply_error(x->res, 404, json_pack("{s:o}", "cache",
						       srv__jstr(name)),
				"no kmem cache \"%.60s\"", name);
		return;
	}
	srv_reply_json(x->res, 200, api_kmem_cache_json(x->m->mm, id));
}

static void srv__translate(struct srv_ctx *x)
{
	uint64_t addr;

	if (srv__query_addr(x, &addr))
		return;
	srv_reply_json(x->res, 200, api_translate_json(x->m->mm, addr));
}

/* ksize() of something that is not an allocated object is a bad address
 * (400), not an errno: a GET is no operation and changes nothing. */
static void srv__ksize(struct srv_ctx *x)
{
	uint64_t addr;

	if (srv__query_addr(x, &addr))
		return;
	int64_t size = mm_ksize(x->m->mm, addr);
	if (size < 0) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "addr"),
				"addr: 0x%llx is not an allocated slab object or "
				"kmalloc_large block", (unsigned long long)addr);
		return;
	}
	srv_reply_json(x->res, 200, json_pack("{s:I}", "size", (json_int_t)size));
}

static void srv__zones(struct srv_ctx *x)
{
	srv_reply_json(x->res, 200, json_pack("{s:o}", "items",
					      api_zones_json(x->m->mm)));
}

static void srv__lru(struct srv_ctx *x)
{
	srv_reply_json(x->res, 200, json_pack("{s:o}", "items",
					      api_lru_json(x->m->mm, 4096)));
}

static void srv__frames(struct srv_ctx *x)
{
	uint32_t nr = x->m->mm->nr_pfns;
	uint64_t start, count;

	if (srv__query_u64(x, "start", 0, 0, nr, &start) ||
	    srv__query_u64(x, "count", API_FRAMES_MAX, 0, API_FRAMES_MAX, &count))
		return;
	json_t *j = api_frames_json(x->m->mm, (uint32_t)start, (uint32_t)count);
	srv_reply_json(x->res, j ? 200 : 500, j);
}

static void srv__frame(struct srv_ctx *x)
{
	const char *v = srv__cap(x, "pfn");
	struct api_error e;
	uint64_t pfn;

	json_t *j = json_string(v);
	int rc = j ? api_parse_addr(j, "pfn", &pfn, &e) : -1;
	json_decref(j);
	if (rc) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "pfn"),
				"pfn: \"%.60s\" is not a frame number", v);
		return;
	}
	if (pfn >= x->m->mm->nr_pfns) {
		srv_reply_error(x->res, 404, json_pack("{s:s}", "pfn", v),
				"no frame %llu: the machine has frames [0, %u)",
				(unsigned long long)pfn, x->m->mm->nr_pfns);
		return;
	}
	srv_reply_json(x->res, 200, api_frame_json(x->m->mm, (uint32_t)pfn));
}

/* ---- processes ------------------------------------------------------------------------ */

/* The live task of the path's {pid}, or NULL when answered: 400 for what
 * is not a pid, 404 (details {"pid": N}, as the ops answer) for no such
 * process. */
static const struct mm_task *srv__task(struct srv_ctx *x)
{
	const char *v = srv__cap(x, "pid");
	char *end;

	long long pid = v[0] >= '0' && v[0] <= '9' ? strtoll(v, &end, 10) : -1;
	if (pid < 1 || pid > INT32_MAX || *end) {
		srv_reply_error(x->res, 400, json_pack("{s:s}", "field", "pid"),
				"pid: \"%.60s\" is not a process id (an integer "
				"from 1)", v);
		return NULL;
	}
	const struct mm_task *t = mm_task_get(x->m->mm, (int)pid);
	if (!t)
		srv_reply_error(x->res, 404, json_pack("{s:I}", "pid",
						       (json_int_t)pid),
				"pid: no process %lld", pid);
	return t;
}

/* GET …/processes: in pid order; page_token is the last pid of the
 * previous page. */
static void srv__processes(struct srv_ctx *x)
{
	const struct mm_machine *mm = x->m->mm;
	int32_t pids[MM_MAX_TASKS];
	uint64_t size, after;
	bool given;

	if (srv__page_args(x, "", 0, INT32_MAX, &size, &after, &given))
		return;
	int n = api_process_pids(mm, pids), i = 0;
	while (i < n && (uint64_t)pids[i] <= after)
		i++;
	json_t *items = json_array();
	int end = i;
	for (; end < n && (uint64_t)(end - i) < size; end++)
		json_array_append_new(items, api_process_json(
			mm, mm_task_get(mm, pids[end]), false));
	char next[16] = "";
	if (end < n && end > i)
		snprintf(next, sizeof(next), "%d", pids[end - 1]);
	srv_reply_json(x->res, 200, json_pack("{s:o, s:s}", "items", items,
					      "next_page_token", next));
}

/* GET …/files: by name order of creation (file ids); page_token is the
 * last id of the previous page. */
static void srv__files(struct srv_ctx *x)
{
	const struct mm_machine *mm = x->m->mm;
	uint64_t size, after;
	bool given;

	if (srv__page_args(x, "", 0, UINT32_MAX, &size, &after, &given))
		return;
	json_t *items = json_array();
	uint32_t id = given ? (uint32_t)after + 1 : 0, last = 0;
	for (; id < mm->nr_files && json_array_size(items) < size; id++)
		if (mm_file_get(mm, (int)id)) {
			json_array_append_new(items, api_file_json(mm, (int)id));
			last = id;
		}
	bool more = false;
	for (uint32_t k = id; k < mm->nr_files && !more; k++)
		more = mm_file_get(mm, (int)k) != NULL;
	char next[16] = "";
	if (more && json_array_size(items))
		snprintf(next, sizeof(next), "%u", last);
	srv_reply_json(x->res, 200, json_pack("{s:o, s:s}", "items", items,
					      "next_page_token", next));
}

static void srv__file(struct srv_ctx *x)
{
	const char *name = srv__cap(x, "file");
	int id = mm_file_lookup(x->m->mm, name);

	if (id < 0) {
		srv_reply_error(x->res, 404, json_pack("{s:o}", "file",
						       srv__jstr(name)),
				"no file \"%.60s\"", name);
		return;
	}
	srv_reply_json(x->res, 200, api_file_json(x->m->mm, id));
}

static void srv__process(struct srv_ctx *x)
{
	const struct mm_task *t = srv__task(x);

	if (t)
		srv_reply_json(x->res, 200, api_process_json(x->m->mm, t, true));
}

/* GET …/processes/{pid}/maps|smaps|status: the last path segment names
 * the file (each has its own route). */
static void srv__pid_proc(struct srv_ctx *x)
{
	const struct mm_task *t = srv__task(x);
	const char *name = strrchr(x->req->path, '/') + 1;
	const char *accept = x->req->accept;
	char *text;

	if (!t)
		return;
	if (accept && strstr(accept, "application/json")) {
		json_t *j = api_pid_proc_json(x->m->mm, t->pid, name);
		srv_reply_json(x->res, j ? 200 : 500, j);
		return;
	}
	if (api_pid_proc_text(x->m->mm, t->pid, name, &text)) {
		srv_reply_error(x->res, 500, NULL, "out of memory");
		return;
	}
	srv_reply_text(x->res, 200, "text/plain; charset=utf-8", text,
		       strlen(text));
	free(text);
}

/* GET …/processes/{pid}/pagetable?addr=: the walk of a user address. */
static void srv__pagetable(struct srv_ctx *x)
{
	const struct mm_task *t = srv__task(x);
	uint64_t addr;

	if (!t || srv__query_addr(x, &addr))
		return;
	srv_reply_json(x->res, 200, api_pagetable_json(x->m->mm, t->pid, addr));
}

/* ---- labs (labs.c holds the definitions and the grader) ------------------------- */

static void srv__labs(struct srv_ctx *x)
{
	srv_reply_json(x->res, 200, srv_labs_list(x->app->labs));
}

/* The lab of the path's {lab}, or NULL (404 answered). */
static const json_t *srv__lab_of(struct srv_ctx *x)
{
	const char *id = srv__cap(x, "lab");
	const json_t *lab = srv_lab_find(x->app->labs, id);

	if (!lab)
		srv_reply_error(x->res, 404, json_pack("{s:o}", "lab", srv__jstr(id)),
				"no lab \"%.60s\" (GET /v1/labs lists them)", id);
	return lab;
}

static void srv__lab(struct srv_ctx *x)
{
	const json_t *lab = srv__lab_of(x);

	if (lab)
		srv_reply_json(x->res, 200, srv_lab_public(lab, true));
}

/* POST /v1/labs/{lab}:start: a machine of the lab's config named
 * "lab:ID", with the setup records applied (journaled like any
 * operation).  201 {"machine","lab","seq","setup":[results]}. */
static void srv__lab_start(struct srv_ctx *x)
{
	const json_t *lab = srv__lab_of(x);
	struct mm_config cfg;
	struct api_error e;
	char name[SRV_NAME_MAX + 1];
	json_t *b, *rec, *result, *error;
	size_t i;

	if (!lab || !(b = srv__body(x, NULL)))
		return;
	json_decref(b);
	snprintf(name, sizeof(name), "lab:%s",
		 json_string_value(json_object_get(lab, "id")));
	if (api_config_decode(json_object_get(lab, "config"), &cfg, &e)) {
		srv_reply_error(x->res, 500, NULL, "lab config: %s", e.message);
		return;
	}
	x->m = srv__create(x, name, &cfg);
	if (!x->m)
		return;
	json_t *results = json_array();
	json_array_foreach(json_object_get(lab, "setup"), i, rec) {
		int st = srv__apply(x, rec, &result, &error);
		if (st != 200) {
			/* a lab whose setup fails is a bug of the lab file */
			json_decref(results);
			json_t *msg = json_object_get(error, "message");
			srv_reply_error(x->res, 500, json_pack("{s:I, s:s}", "index",
					(json_int_t)i, "machine", x->m->id),
					"lab setup record %zu failed: %s", i,
					json_string_value(msg) ? json_string_value(msg)
							       : "?");
			json_decref(error);
			return;
		}
		json_array_append_new(results, result);
	}
	srv_reply_json(x->res, 201, json_pack("{s:s, s:O, s:I, s:o}", "machine",
		x->m->id, "lab", json_object_get(lab, "id"), "seq",
		(json_int_t)x->m->seq, "setup", results));
}

/* POST /v1/labs/{lab}/attempts {"machine"?, "answers"?}: graded now,
 * nothing stored, nothing changed. */
static void srv__lab_attempt(struct srv_ctx *x)
{
	static const char *const keys[] = {"machine", "answers", NULL};
	const json_t *lab = srv__lab_of(x);
	const struct mm_machine *mm = NULL;
	json_t *b, *v;
	const char *key;

	if (!lab || !(b = srv__body(x, keys)))
		return;
	json_t *mid = json_object_get(b, "machine");
	json_t *answers = json_object_get(b, "answers");
	if (mid && !json_is_null(mid)) {
		struct srv_machine *sm = json_is_string(mid)
			? srv_machines_get(&x->app->machines, x->tenant->id,
					   json_string_value(mid))
			: NULL;
		if (!json_is_string(mid)) {
			srv_reply_error(x->res, 400, json_pack("{s:s}", "field",
				"machine"), "machine: expected a machine id (\"m-1\")");
			goto out;
		}
		if (!sm) {
			srv_reply_error(x->res, 404, json_pack("{s:O}", "machine", mid),
					"no machine \"%.60s\"", json_string_value(mid));
			goto out;
		}
		mm = sm->mm;
	}
	if (answers && !json_is_null(answers)) {
		if (!json_is_object(answers) || json_object_size(answers) > 64) {
			srv_reply_error(x->res, 400, json_pack("{s:s}", "field",
				"answers"), "answers: expected an object of at "
				"most 64 answers");
			goto out;
		}
		json_object_foreach(answers, key, v) {
			if (!(json_is_number(v) || (json_is_string(v) &&
			      json_string_length(v) <= 200) || json_is_null(v))) {
				srv_reply_error(x->res, 400, json_pack("{s:s}",
					"field", "answers"), "answers.%.60s: expected "
					"a number or a string of at most 200 bytes",
					key);
				goto out;
			}
		}
	}
	srv_reply_json(x->res, 200, srv_lab_grade(lab, mm, answers));
out:
	json_decref(b);
}

/* ---- the table ---------------------------------------------------------------------- */

static const char *const srv_q_list[] = {"page_size", "page_token", NULL};
static const char *const srv_q_frames[] = {"start", "count", NULL};
static const char *const srv_q_addr[] = {"addr", NULL};
static const char *const srv_q_events[] = {"since", "types", "limit", NULL};

/* A fixed route's documentation; its method and path are the route's own
 * (filled in by srv_app_init), and so is its tail (the last field). */
#define SRV_DOC(sum, st, req, resp, q) \
	{NULL, NULL, sum, st, req, resp, q}, 0

static const struct srv_route srv_fixed_routes[] = {
	{"GET", "/healthz", srv__healthz, NULL, NULL,
	 SRV_DOC("liveness", 200, NULL, "Status", NULL)},
	{"GET", "/readyz", srv__readyz, NULL, NULL,
	 SRV_DOC("readiness (503 while shutting down)", 200,
		 NULL, "Status", NULL)},
	{"GET", "/v1/openapi.json", srv__openapi, NULL, NULL,
	 SRV_DOC("this OpenAPI 3.1 document", 200,
		 NULL, "OpenAPI", NULL)},
	{"GET", "/metrics", srv__metrics, NULL, NULL,
	 SRV_DOC("Prometheus text format (admin key when "
		 "multi-tenant)", 200, NULL, "text", NULL)},
	{"PUT", "/v1/tenants/{t}", srv__tenant_put, NULL, NULL,
	 SRV_DOC("admin: create tenant t ([a-z0-9-]"
		 "{1,63}) with optional quotas {machines, memory, "
		 "requests_per_second, burst}; 201 with its api_key (shown once), "
		 "or 200 with new quotas when it exists", 201, "Tenant", "Tenant",
		 NULL)},
	{"GET", "/v1/tenants", srv__tenant_list, srv_q_list, NULL,
	 SRV_DOC("admin: list tenants", 200, NULL,
		 "TenantList", "page_size:integer,page_token:string")},
	{"GET", "/v1/tenants/{t}", srv__tenant_get, NULL, NULL,
	 SRV_DOC("admin: one tenant, its quotas and "
		 "usage", 200, NULL, "Tenant", NULL)},
	{"DELETE", "/v1/tenants/{t}", srv__tenant_delete, NULL, NULL,
	 SRV_DOC("admin: delete a tenant and all "
		 "its machines", 200, NULL, "Empty", NULL)},
	{"POST", "/v1/tenants/{t}:rotateKey", srv__tenant_rotate, NULL, NULL,
	 SRV_DOC("admin: a new api_key "
		 "(shown once); the old one stops working, the id stays", 200,
		 "Empty", "Tenant", NULL)},
	{"POST", "/v1/machines", srv__machine_create, NULL, NULL,
	 SRV_DOC("create a machine", 201,
		 "MachineCreate", "Machine", NULL)},
	{"GET", "/v1/machines", srv__machine_list, srv_q_list, NULL,
	 SRV_DOC("list machines (page_size default 100, "
		 "max 1000)", 200, NULL, "MachineList",
		 "page_size:integer,page_token:string")},
	{"GET", "/v1/machines/{m}", srv__machine_get, NULL, NULL,
	 SRV_DOC("one machine", 200, NULL, "Machine",
		 NULL)},
	{"DELETE", "/v1/machines/{m}", srv__machine_delete, NULL, NULL,
	 SRV_DOC("destroy a machine", 200, NULL,
		 "Empty", NULL)},
	{"POST", "/v1/machines/{m}:batch", srv__batch, NULL, NULL,
	 SRV_DOC("run operation records in "
		 "order (not atomic)", 200, "Batch", "BatchResult", NULL)},
	{"POST", "/v1/machines/{m}:check", srv__check, NULL, NULL,
	 SRV_DOC("run the invariant checker",
		 200, "Empty", "Check", NULL)},
	{"POST", "/v1/machines/{m}:rewind", srv__rewind, NULL, NULL,
	 SRV_DOC("the machine becomes what it "
		 "was after operation seq; later operations and snapshots are "
		 "discarded", 200, "Rewind", "Seq", NULL)},
	{"POST", "/v1/machines/{m}:clone", srv__clone, NULL, NULL,
	 SRV_DOC("a new machine with the "
		 "config, the journal up to seq (default: all) and the snapshots "
		 "up to it", 201, "Clone", "Machine", NULL)},
	{"POST", "/v1/machines/{m}/snapshots", srv__snapshots_create, NULL, NULL,
	 SRV_DOC("snapshot the machine at "
		 "its seq (name default \"snap-SEQ\"; \"auto-\" names are the "
		 "automatic ones); 409 ALREADY_EXISTS for a name in use", 201,
		 "SnapshotCreate", "Snapshot", NULL)},
	{"GET", "/v1/machines/{m}/snapshots", srv__snapshots_list, NULL, NULL,
	 SRV_DOC("the machine's snapshots "
		 "by seq (one page: at most 64 named and --snapshot-keep "
		 "automatic ones)", 200, NULL, "Items", NULL)},
	{"GET", "/v1/machines/{m}/snapshots/{s}", srv__snapshot_get, NULL, NULL,
	 SRV_DOC("one snapshot", 200,
		 NULL, "Snapshot", NULL)},
	{"DELETE", "/v1/machines/{m}/snapshots/{s}", srv__snapshot_delete, NULL,
	 NULL,
	 SRV_DOC("delete a snapshot",
		 200, NULL, "Empty", NULL)},
	{"POST", "/v1/machines/{m}/snapshots/{s}:restore", srv__snapshot_restore,
	 NULL, NULL,
	 SRV_DOC("rewind to the "
		 "snapshot's seq (409 ABORTED if it is no longer on the history)",
		 200, "Empty", "Seq", NULL)},
	{"GET", "/v1/machines/{m}/digest", srv__digest, NULL, NULL,
	 SRV_DOC("state digest after seq", 200,
		 NULL, "Digest", NULL)},
	{"GET", "/v1/machines/{m}/events", srv__events, srv_q_events, NULL,
	 SRV_DOC("the machine's events: "
		 "Server-Sent Events (id, event: TYPE, data: JSON; resume with "
		 "Last-Event-ID; heartbeat comments; a reader that falls "
		 "--sse-max-lag events behind gets a final \"dropped\" event), "
		 "or with ?since=ID a JSON page {items, last_id, oldest_id}; "
		 "?types=op,oom_kill,… filters", 200, NULL, "text",
		 "since:integer,types:string,limit:integer")},
	{"GET", "/v1/machines/{m}/journal", srv__journal, NULL, NULL,
	 SRV_DOC("the operation journal as "
		 "NDJSON: a header line {\"mmsim_journal\":1,\"machine\":{…}}, "
		 "then {\"seq\":N,\"op\":…,args…,\"result\"|\"error\":…} per "
		 "operation", 200, NULL, "text", NULL)},
	{"GET", "/v1/machines/{m}/proc/{name}", srv__proc, NULL, NULL,
	 SRV_DOC("/proc/NAME (buddyinfo, "
		 "pagetypeinfo, zoneinfo, meminfo, vmstat, slabinfo, "
		 "vmallocinfo, swaps) as Linux text, or JSON with Accept: "
		 "application/json (slabinfo: the caches, newest first; "
		 "vmallocinfo: the areas; swaps: the swap areas)", 200, NULL,
		 "text", NULL)},
	{"GET", "/v1/machines/{m}/kmemCaches", srv__caches, srv_q_list, NULL,
	 SRV_DOC("kmem caches, oldest "
		 "first (page_size default 100, max 1000)", 200, NULL,
		 "KmemCacheList", "page_size:integer,page_token:string")},
	{"GET", "/v1/machines/{m}/kmemCaches/{cache}", srv__cache, NULL, NULL,
	 SRV_DOC("one kmem cache "
		 "by name (404 if none)", 200, NULL, "KmemCache", NULL)},
	{"GET", "/v1/machines/{m}/kernel/translate", srv__translate, srv_q_addr,
	 NULL,
	 SRV_DOC("translate a "
		 "kernel virtual address ?addr= (number or 0x hex): __pa for the "
		 "direct map, the kernel page-table walk for vmalloc and pkmap",
		 200, NULL, "Translation", "addr:string")},
	{"GET", "/v1/machines/{m}/kernel/ksize", srv__ksize, srv_q_addr, NULL,
	 SRV_DOC("ksize(?addr=): usable "
		 "size of a kmalloc'd or kmem_cache object; 400 "
		 "INVALID_ARGUMENT (field addr) when addr is not an allocated "
		 "object", 200, NULL, "Ksize", "addr:string")},
	{"GET", "/v1/machines/{m}/zones", srv__zones, NULL, NULL,
	 SRV_DOC("zones: layout, watermarks, "
		 "free lists, per-CPU lists", 200, NULL, "Items", NULL)},
	{"GET", "/v1/machines/{m}/lru", srv__lru, NULL, NULL,
	 SRV_DOC("each node's LRU lists "
		 "(inactive/active anon and file, unevictable): count and up to "
		 "4096 pfns from the head (newest), kswapd state", 200, NULL,
		 "Items", NULL)},
	{"GET", "/v1/machines/{m}/frames", srv__frames, srv_q_frames, NULL,
	 SRV_DOC("frame states of [start, "
		 "start+count), count <= 65536", 200, NULL, "Frames",
		 "start:integer,count:integer")},
	{"GET", "/v1/machines/{m}/frames/{pfn}", srv__frame, NULL, NULL,
	 SRV_DOC("one frame descriptor",
		 200, NULL, "Frame", NULL)},
	{"GET", "/v1/machines/{m}/files", srv__files, srv_q_list, NULL,
	 SRV_DOC("in-memory files in creation "
		 "order (page_size default 100, max 1000)", 200, NULL, "Items",
		 "page_size:integer,page_token:string")},
	{"GET", "/v1/machines/{m}/files/{file}", srv__file, NULL, NULL,
	 SRV_DOC("one file by name: "
		 "size, inode, cached and dirty pages (404 if none)", 200, NULL,
		 "File", NULL)},
	{"GET", "/v1/machines/{m}/processes", srv__processes, srv_q_list, NULL,
	 SRV_DOC("live processes in pid "
		 "order (page_size default 100, max 1000; rss in pages)", 200, NULL, "ProcessList",
		 "page_size:integer,page_token:string")},
	{"GET", "/v1/machines/{m}/processes/{pid}", srv__process, NULL, NULL,
	 SRV_DOC("one process, with "
		 "its address-space summary (404 if none has the pid)", 200,
		 NULL, "Process", NULL)},
	{"GET", "/v1/machines/{m}/processes/{pid}/maps", srv__pid_proc, NULL,
	 NULL,
	 SRV_DOC("/proc/PID/maps "
		 "as Linux text, or with Accept: application/json {\"items\": "
		 "[{start, end, perms, offset, dev, inode, name}]}", 200, NULL,
		 "text", NULL)},
	{"GET", "/v1/machines/{m}/processes/{pid}/smaps", srv__pid_proc, NULL,
	 NULL,
	 SRV_DOC("/proc/PID/smaps as Linux text, or with Accept: application/json "
		 "{\"items\": [the maps fields plus every smaps field under "
		 "Linux's key, in kB, and VmFlags as a list]}", 200, NULL, "text",
		 NULL)},
	{"GET", "/v1/machines/{m}/processes/{pid}/pagetable", srv__pagetable,
	 srv_q_addr, NULL,
	 SRV_DOC("the "
		 "page-table walk of a user address ?addr=: each level's table "
		 "frame, index and entry; kind \"user\", mapped when the PTE is "
		 "present", 200, NULL, "Translation", "addr:string")},
	{"GET", "/v1/machines/{m}/processes/{pid}/status", srv__pid_proc, NULL,
	 NULL,
	 SRV_DOC("/proc/PID/status as Linux text, or with Accept: "
		 "application/json an object of its keys (decimal numbers as "
		 "numbers, kB stay kB; masks and other text as strings)", 200,
		 NULL, "text", NULL)},
	{"GET", "/v1/labs", srv__labs, NULL, NULL,
	 SRV_DOC("the lab exercises: id, title, summary, "
		 "max score, number of tasks", 200, NULL, "Items", NULL)},
	{"GET", "/v1/labs/{lab}", srv__lab, NULL, NULL,
	 SRV_DOC("one lab: concept, config, setup "
		 "records and task prompts (never the solutions)", 200, NULL,
		 "Lab", NULL)},
	{"POST", "/v1/labs/{lab}:start", srv__lab_start, NULL, NULL,
	 SRV_DOC("a new machine \"lab:ID\" "
		 "with the lab's config and setup applied: {\"machine\", "
		 "\"lab\", \"seq\", \"setup\": [results]}", 201, "Empty",
		 "LabStart", NULL)},
	{"POST", "/v1/labs/{lab}/attempts", srv__lab_attempt, NULL, NULL,
	 SRV_DOC("grade an attempt "
		 "{\"machine\"?, \"answers\"?}: {\"lab\", \"score\", "
		 "\"max\", \"tasks\": [{\"id\", \"ok\", \"points\", "
		 "\"feedback\"}]}; deterministic, nothing is stored", 200,
		 "LabAttempt", "LabResult", NULL)},
};
#define SRV_NFIXED (sizeof(srv_fixed_routes) / sizeof(srv_fixed_routes[0]))

/* The length of the literal text after pattern's last '}' (all of it
 * when it has no capture). */
static size_t srv__tail_len(const char *pattern)
{
	const char *close = strrchr(pattern, '}');
	return strlen(close ? close + 1 : pattern);
}

/* Matches path against route r's pattern, filling the captures.  A path
 * that does not end with the pattern's literal tail (":touch", "/maps")
 * cannot match: checked first, it turns most routes away with one memcmp. */
static bool srv__match(const struct srv_route *r, const char *path,
		       size_t path_len, struct srv_ctx *x)
{
	const char *p = r->pattern, *s = path;
	size_t pl = strlen(p);

	if (path_len < r->tail ||
	    memcmp(path + path_len - r->tail, p + pl - r->tail, r->tail))
		return false;

	x->ncap = 0;
	while (*p) {
		if (*p != '{') {
			if (*p++ != *s++)
				return false;
			continue;
		}
		const char *close = strchr(p, '}');
		size_t nlen = (size_t)(close - p - 1), vlen = strcspn(s, "/:");
		if (vlen == 0 || vlen >= SRV_CAPTURE_MAX ||
		    x->ncap == SRV_MAX_CAPTURES || nlen >= sizeof(x->cap[0].name))
			return false;
		memcpy(x->cap[x->ncap].name, p + 1, nlen);
		x->cap[x->ncap].name[nlen] = '\0';
		memcpy(x->cap[x->ncap].value, s, vlen);
		x->cap[x->ncap].value[vlen] = '\0';
		x->ncap++;
		p = close + 1;
		s += vlen;
	}
	return *s == '\0';
}

/*
 * Test hooks, only with MMSIM_TEST_HOOKS=1 in the environment (not in the
 * OpenAPI document): POST /v1/test:failCommits {"n"} makes the next n group
 * commits fail as SQLITE_FULL would.  Returns true when it answered.
 */
static bool srv__test_hook(struct srv_app *app, const struct srv_request *req,
			   struct srv_response *res)
{
	if (!app->test_hooks || strcmp(req->path, "/v1/test:failCommits") ||
	    strcmp(req->method, "POST"))
		return false;
	json_t *b = srv_body_object(req, res);
	if (!b)
		return true;
	json_t *n = json_object_get(b, "n");
	if (!json_is_integer(n) || json_integer_value(n) < 0 ||
	    json_integer_value(n) > 1000000 || !app->store) {
		srv_reply_error(res, 400, json_pack("{s:s}", "field", "n"),
				"n: expected an integer in [0, 1000000]");
	} else {
		pst_fail_commits(app->store, (int)json_integer_value(n));
		srv_reply_json(res, 200, json_object());
	}
	json_decref(b);
	return true;
}

enum srv_access { SRV_PUBLIC, SRV_TENANT, SRV_ADMIN };

static enum srv_access srv__access(const struct srv_app *app,
				   const struct srv_route *r)
{
	if (!strncmp(r->pattern, "/v1/machines", 12) ||
	    (!strncmp(r->pattern, "/v1/labs/", 9) && strcmp(r->method, "GET")))
		return SRV_TENANT;	/* lab starts and attempts use machines */
	if (!strncmp(r->pattern, "/v1/tenants", 11))
		return SRV_ADMIN;
	if (!strcmp(r->pattern, "/metrics") && app->tenants.multi)
		return SRV_ADMIN;
	return SRV_PUBLIC;
}

/*
 * Who may call route r: answers 401/403/429 itself and returns -1, or
 * returns 0 with *tenant set for tenant routes.
 */
static int srv__authorize(struct srv_app *app, const struct srv_route *r,
			  const struct srv_request *req, struct srv_response *res,
			  struct srv_tenant **tenant)
{
	enum srv_access need = srv__access(app, r);
	unsigned retry;

	*tenant = NULL;
	if (need == SRV_PUBLIC)
		return 0;
	enum srv_who who = srv_tenants_auth(&app->tenants, req->authorization,
					    tenant);
	res->tenant = *tenant ? (*tenant)->id : who == SRV_WHO_ADMIN ? "(admin)"
								      : NULL;
	if (need == SRV_ADMIN && !app->tenants.multi) {
		srv_reply_error(res, 403, NULL, "tenant administration needs an "
				"admin key: start mmsimd with --admin-key-file "
				"(single-tenant mode)");
		return -1;
	}
	if (who == SRV_WHO_NONE || who == SRV_WHO_BAD) {
		app->metrics.auth_failures++;
		res->www_authenticate = true;
		srv_reply_error(res, 401, NULL, who == SRV_WHO_NONE
				? "this route needs a key: Authorization: Bearer "
				  "mmk_<tenant>_<secret>%s"
				: "the key is not valid (unknown, mistyped or "
				  "rotated)%s", need == SRV_ADMIN
				? " (the admin key for /v1/tenants and /metrics)"
				: "");
		return -1;
	}
	if (need == SRV_ADMIN && who != SRV_WHO_ADMIN) {
		srv_reply_error(res, 403, NULL, "this route needs the admin key; "
				"a tenant key manages machines only");
		return -1;
	}
	if (need == SRV_TENANT && who != SRV_WHO_TENANT) {
		srv_reply_error(res, 403, NULL, "the admin key manages tenants; "
				"machines need a tenant key");
		return -1;
	}
	if (need == SRV_TENANT &&
	    srv_tenant_take(*tenant, uv_hrtime(), &retry)) {
		app->metrics.rate_limited++;
		snprintf(res->retry_after, sizeof(res->retry_after), "%u", retry);
		srv_reply_error(res, 429, json_pack("{s:s, s:f, s:f}", "limit",
						    "requests_per_second",
						    "requests_per_second",
						    (*tenant)->q.rps, "burst",
						    (*tenant)->q.burst),
				"tenant %s is over its rate limit of %.0f "
				"requests/s (burst %.0f); retry after %u s",
				(*tenant)->id, (*tenant)->q.rps, (*tenant)->q.burst,
				retry);
		return -1;
	}
	return 0;
}

void srv_route(struct srv_app *app, const struct srv_request *req,
	       struct srv_response *res)
{
	struct srv_ctx x = {.app = app, .req = req, .res = res};
	const struct srv_route *routes = app->routes, *hit = NULL;
	char allow[64] = "";
	bool matched = false;

	if (srv__test_hook(app, req, res) ||
	    srv_static(app->opt->web_dir, req, res))
		return;

	size_t path_len = strlen(req->path);
	for (size_t i = 0; i < app->nroutes && !hit; i++) {
		if (!srv__match(&routes[i], req->path, path_len, &x))
			continue;
		matched = true;
		if (!strcmp(routes[i].method, req->method)) {
			hit = &routes[i];
			break;
		}
		size_t l = strlen(allow);
		if (!strstr(allow, routes[i].method))
			snprintf(allow + l, sizeof(allow) - l, "%s%s", l ? ", " : "",
				 routes[i].method);
	}
	if (!matched) {
		srv_reply_error(res, 404, json_pack("{s:s, s:o}", "method",
						    req->method, "path",
						    srv__jstr(req->path)),
				"no route %s %.200s", req->method, req->path);
		return;
	}
	if (!hit) {
		snprintf(res->allow, sizeof(res->allow), "%s", allow);
		srv_reply_error(res, 405, json_pack("{s:s}", "allow", allow),
				"%s is not allowed on %.200s (allowed: %s)",
				req->method, req->path, allow);
		return;
	}
	x.route = hit; /* the loop stopped right after matching hit: x holds
			* its captures */
	res->route = (int)(hit - routes) + 1;
	if (app->recovering && hit->fn != srv__healthz && hit->fn != srv__readyz &&
	    hit->fn != srv__openapi) {
		snprintf(res->retry_after, sizeof(res->retry_after), "1");
		srv_reply_error(res, 503, NULL, "recovering the machines from the "
				"journal; retry when /readyz answers 200");
		return;
	}
	if (srv__authorize(app, hit, req, res, &x.tenant))
		return;
	if (req->query_overflow) {
		srv_reply_error(res, 400, json_pack("{s:i}", "max_query",
						    SRV_MAX_QUERY),
				"more than %d query parameters", SRV_MAX_QUERY);
		return;
	}
	const char *bad = srv_query_unknown(req, hit->query);
	if (bad) {
		srv_reply_error(res, 400, json_pack("{s:o}", "field", srv__jstr(bad)),
				"unknown query parameter \"%.60s\"", bad);
		return;
	}
	const char *mid = srv__cap(&x, "m");
	if (mid) {
		x.m = srv_machines_get(&app->machines, x.tenant->id, mid);
		if (!x.m) {
			srv_reply_error(res, 404, json_pack("{s:o}", "machine",
							    srv__jstr(mid)),
					"no machine \"%.60s\"", mid);
			return;
		}
	}
	hit->fn(&x);
}

int srv_app_init(struct srv_app *app, const struct srv_options *opt)
{
	struct api_route_doc *docs;
	struct srv_route *routes;
	size_t n = SRV_NFIXED + api_nops;

	memset(app, 0, sizeof(*app));
	app->opt = opt;
	const char *hooks = getenv("MMSIM_TEST_HOOKS");
	app->test_hooks = hooks && !strcmp(hooks, "1");
	srv_machines_init(&app->machines, opt->max_machines, opt->max_memory);
	routes = calloc(n, sizeof(*routes));
	docs = calloc(SRV_NFIXED, sizeof(*docs));
	if (!routes || !docs)
		goto err_free;
	for (size_t i = 0; i < SRV_NFIXED; i++) {
		routes[i] = srv_fixed_routes[i];
		docs[i] = srv_fixed_routes[i].doc;
		docs[i].method = srv_fixed_routes[i].method;
		docs[i].path = srv_fixed_routes[i].pattern;
	}
	for (size_t i = 0; i < api_nops; i++) {
		struct srv_route *r = &routes[SRV_NFIXED + i];
		char *pattern = malloc(strlen("/v1/machines/{m}") +
				       strlen(api_ops[i].path) + 1);
		if (!pattern)
			goto err_free_patterns;
		strcpy(pattern, "/v1/machines/{m}");
		strcat(pattern, api_ops[i].path);
		r->method = api_op_method(&api_ops[i]);
		r->pattern = pattern;
		r->fn = srv__op;
		r->op = &api_ops[i];
	}
	for (size_t i = 0; i < n; i++)
		routes[i].tail = srv__tail_len(routes[i].pattern);
	app->routes = routes;
	app->nroutes = n;
	if (srv_metrics_init(&app->metrics, n))
		goto err_free_app;
	app->sse = srv_sse_new(app);
	if (!app->sse)
		goto err_free_app;
	app->openapi = api_openapi(docs, SRV_NFIXED, SRV_VERSION);
	free(docs);
	if (!app->openapi)
		goto err_free_app;
	return 0;

err_free_patterns:
	for (size_t i = SRV_NFIXED; i < n; i++)
		free((char *)routes[i].pattern);
err_free:
	free(routes);
	free(docs);
	return -1;
err_free_app:
	srv_app_free(app);
	return -1;
}

const char *srv_route_pattern(const struct srv_app *app, size_t i)
{
	return i < app->nroutes ? app->routes[i].pattern : "(none)";
}

const char *srv_route_method(const struct srv_app *app, size_t i)
{
	return i < app->nroutes ? app->routes[i].method : "";
}

void srv_app_free(struct srv_app *app)
{
	struct srv_route *routes = app->routes;
	for (size_t i = SRV_NFIXED; routes && i < app->nroutes; i++)
		free((char *)routes[i].pattern);
	free(routes);
	json_decref(app->openapi);
	srv_labs_free(app->labs);
	srv_sse_free(app->sse);
	srv_metrics_free(&app->metrics);
	srv_tenants_free(&app->tenants);
	srv_machines_free(&app->machines);
	memset(app, 0, sizeof(*app));
}
