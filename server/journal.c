/*
 * journal.c — the durable journal of mmsimd (SPEC §6), after the recipe of
 * shared/notes/http-loop.md §1:
 *
 *   - handlers apply an operation in memory, then append its entry (record,
 *     seq, result or error) to the PENDING batch; machine creations and
 *     deletions are entries too;
 *   - strict: the request is suspended and waits on the pending batch;
 *     srv__kick() moves the WHOLE pending batch to the threadpool when no
 *     commit is in flight (exactly one job at a time, so the store's writer
 *     connection is only ever used by one thread); when it returns, every
 *     waiter is resumed (ok or failed), the next batch is kicked, and
 *     after() lets http.c run MHD once (P2);
 *   - relaxed: nobody waits; a 20 ms timer kicks the pending batch, so an
 *     entry is committed within 50 ms of its answer (timer + one fsync);
 *   - a failed commit answers its waiters 503, drops the entries appended
 *     after it for the same machines (they were built on the lost state),
 *     and rebuilds every machine involved from the committed journal
 *     before it serves again;
 *   - recovery at start replays the committed journal through
 *     api_op_apply, a slice per loop iteration, while /readyz says 503.
 *
 * Invariant: entries reach the store in the order they were appended, and
 * a machine's seqs in the store are 1, 2, 3, … without gaps.
 */
#include "server/srv.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "api/ops.h"

#define SRV_RELAXED_MS 20
#define SRV_MAX_FAILED_MACHINES 4096

/* A suspended request and its entries v[from, to) of the batch. */
struct srv_jwaiter {
	void *req;
	size_t from, to;
};

struct srv_jbatch {
	uv_work_t work;
	struct srv_journal *j;
	struct pst_entry *v;    /* strings malloc'd, owned by the batch */
	size_t n, cap;
	struct srv_jwaiter *waiters;
	size_t nw, capw;
	int rc;
	char err[256];
	uint64_t t0;            /* handed to the threadpool (uv_hrtime) */
};

struct srv_journal {
	struct pst_store *st;
	enum srv_durability mode;
	uv_loop_t *loop;
	uv_timer_t timer;
	bool started;
	struct srv_jbatch *pending, *inflight;
	uint64_t appended;
	srv_journal_resume_fn resume;
	void (*after)(void *);
	void *after_arg;
	struct srv_app *app;     /* for rebuilds */
	uint64_t batches, rows, failures;
};

static void srv__batch_free(struct srv_jbatch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free((char *)b->v[i].record);
		free((char *)b->v[i].result);
		free((char *)b->v[i].tenant);
	}
	free(b->v);
	free(b->waiters);
	free(b);
}

struct srv_journal *srv_journal_new(struct pst_store *st,
				    enum srv_durability mode)
{
	struct srv_journal *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->st = st;
	j->mode = mode;
	return j;
}

void srv_journal_free(struct srv_journal *j)
{
	if (!j)
		return;
	srv__batch_free(j->pending);
	free(j);
}

static void srv__on_close_noop(uv_handle_t *h)
{
	(void)h;
}

void srv_journal_stop(struct srv_journal *j)
{
	if (j->started) {
		uv_close((uv_handle_t *)&j->timer, srv__on_close_noop);
		j->started = false;
	}
}

static void srv__kick(struct srv_journal *j);

static void srv__on_timer(uv_timer_t *t)
{
	srv__kick(t->data);
}

void srv_journal_start(struct srv_journal *j, void *loop,
		       srv_journal_resume_fn resume, void (*after)(void *),
		       void *after_arg)
{
	j->loop = loop;
	j->resume = resume;
	j->after = after;
	j->after_arg = after_arg;
	uv_timer_init(j->loop, &j->timer);
	j->timer.data = j;
	j->started = true;
}

uint64_t srv_journal_appended(const struct srv_journal *j)
{
	return j->appended;
}

void srv_journal_stats(const struct srv_journal *j, uint64_t *batches,
		       uint64_t *rows, uint64_t *failures)
{
	*batches = j->batches;
	*rows = j->rows;
	*failures = j->failures;
}

bool srv_journal_idle(const struct srv_journal *j)
{
	return !j->inflight && (!j->pending || j->pending->n == 0);
}

/* The pending batch, created on demand; NULL when the host is out of memory. */
static struct srv_jbatch *srv__pending(struct srv_journal *j)
{
	if (!j->pending) {
		j->pending = calloc(1, sizeof(*j->pending));
		if (j->pending)
			j->pending->j = j;
	}
	return j->pending;
}

/* Appends one entry, taking ownership of record, result and e.tenant (even
 * on failure). */
static int srv__append(struct srv_journal *j, struct pst_entry e, char *record,
		       char *result)
{
	struct srv_jbatch *b = srv__pending(j);
	bool needs_record = e.kind == PST_OP || e.kind == PST_MACHINE_CREATE ||
			    e.kind == PST_TENANT_PUT;
	bool needs_tenant = e.kind == PST_MACHINE_CREATE ||
			    e.kind == PST_TENANT_PUT || e.kind == PST_TENANT_DELETE;
	if (!b || (!record && needs_record) || (!e.tenant && needs_tenant) ||
	    (e.kind == PST_TENANT_PUT && !result))
		goto err_free;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct pst_entry *v = realloc(b->v, cap * sizeof(*v));
		if (!v)
			goto err_free;
		b->v = v;
		b->cap = cap;
	}
	e.record = record;
	e.result = result;
	b->v[b->n++] = e;
	j->appended++;
	if (j->mode == SRV_DURABILITY_RELAXED && j->started &&
	    !uv_is_active((uv_handle_t *)&j->timer))
		uv_timer_start(&j->timer, srv__on_timer, SRV_RELAXED_MS, 0);
	return 0;

err_free:
	free(record);
	free(result);
	free((char *)e.tenant);
	return -1;
}

int srv_journal_op(struct srv_journal *j, uint64_t machine, uint64_t seq,
		   const json_t *record, int status, const json_t *result)
{
	struct pst_entry e = {.kind = PST_OP, .machine = machine, .seq = seq,
			      .status = status};
	return srv__append(j, e, json_dumps(record, JSON_COMPACT),
			   json_dumps(result, JSON_COMPACT));
}

int srv_journal_create(struct srv_journal *j, const struct srv_machine *sm)
{
	struct pst_entry e = {.kind = PST_MACHINE_CREATE, .machine = sm->num,
			      .seq = sm->seq, .tenant = strdup(sm->tenant)};
	json_t *cfg = api_config_encode(&sm->mm->cfg);
	char *text = cfg ? json_dumps(cfg, JSON_COMPACT) : NULL;
	json_decref(cfg);
	char *name = sm->name ? strdup(sm->name) : NULL;
	if (sm->name && !name) {
		free(text);
		free((char *)e.tenant);
		return -1;
	}
	return srv__append(j, e, text, name);
}

int srv_journal_delete(struct srv_journal *j, uint64_t machine)
{
	struct pst_entry e = {.kind = PST_MACHINE_DELETE, .machine = machine};
	return srv__append(j, e, NULL, NULL);
}

int srv_journal_tenant_put(struct srv_journal *j, const char *id,
			   const char *hash_hex, const json_t *quotas)
{
	struct pst_entry e = {.kind = PST_TENANT_PUT, .tenant = strdup(id)};
	return srv__append(j, e, json_dumps(quotas, JSON_COMPACT),
			   strdup(hash_hex));
}

int srv_journal_tenant_delete(struct srv_journal *j, const char *id)
{
	struct pst_entry e = {.kind = PST_TENANT_DELETE, .tenant = strdup(id)};
	return srv__append(j, e, NULL, NULL);
}

int srv_journal_wait(struct srv_journal *j, void *waiter, uint64_t since)
{
	struct srv_jbatch *b = srv__pending(j);
	uint64_t count = j->appended - since;
	if (!b || count > b->n)
		return -1;
	if (b->nw == b->capw) {
		size_t cap = b->capw ? b->capw * 2 : 16;
		struct srv_jwaiter *w = realloc(b->waiters, cap * sizeof(*w));
		if (!w)
			return -1;
		b->waiters = w;
		b->capw = cap;
	}
	b->waiters[b->nw++] = (struct srv_jwaiter){waiter, b->n - count, b->n};
	srv__kick(j);
	return 0;
}

void srv_journal_fail_waiters(struct srv_journal *j, const char *why)
{
	struct srv_jbatch *bs[2] = {j->inflight, j->pending};
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; bs[k] && i < bs[k]->nw; i++)
			j->resume(bs[k]->waiters[i].req, false, why);
		if (bs[k])
			bs[k]->nw = 0;
	}
}

/* ---- the committer ---------------------------------------------------------------- */

/* Threadpool: one job at a time uses the writer connection. */
static void srv__work(uv_work_t *w)
{
	struct srv_jbatch *b = w->data;
	b->rc = pst_commit(b->j->st, b->v, b->n, b->err, sizeof(b->err));
}

static void srv__rebuild_after_failure(struct srv_journal *j,
				       struct srv_jbatch *failed);

static void srv__after_work(uv_work_t *w, int status)
{
	struct srv_jbatch *b = w->data;
	struct srv_journal *j = b->j;
	bool ok = status == 0 && b->rc == 0;

	j->inflight = NULL;
	j->batches++;
	if (j->app)
		srv_metrics_commit(&j->app->metrics,
				   (double)(uv_hrtime() - b->t0) / 1e9);
	if (ok) {
		j->rows += b->n;
	} else {
		char detail[400];
		j->failures++;
		snprintf(detail, sizeof(detail), "%zu entries, %zu requests: %s",
			 b->n, b->nw, status ? uv_strerror(status) : b->err);
		srv_log_event("commit-failed", detail);
		srv__rebuild_after_failure(j, b);
	}
	for (size_t i = 0; i < b->nw; i++)
		j->resume(b->waiters[i].req, ok, ok ? NULL : b->err);
	srv__batch_free(b);
	srv__kick(j);
	if (j->after)
		j->after(j->after_arg);
}

static void srv__kick(struct srv_journal *j)
{
	struct srv_jbatch *b = j->pending;

	if (j->inflight || !j->started || !b || b->n == 0)
		return;
	if (j->mode == SRV_DURABILITY_RELAXED)
		uv_timer_stop(&j->timer);
	j->pending = NULL;
	j->inflight = b;
	b->work.data = b;
	b->t0 = uv_hrtime();
	int rc = uv_queue_work(j->loop, &b->work, srv__work, srv__after_work);
	if (rc) {
		b->rc = -1;
		snprintf(b->err, sizeof(b->err), "uv_queue_work: %s",
			 uv_strerror(rc));
		srv__after_work(&b->work, 0);
	}
}

int srv_journal_flush_sync(struct srv_journal *j)
{
	struct srv_jbatch *b = j->pending;
	if (j->inflight || !b || b->n == 0)
		return 0;
	j->pending = NULL;
	int rc = pst_commit(j->st, b->v, b->n, b->err, sizeof(b->err));
	if (rc)
		fprintf(stderr, "mmsimd: the last %zu journal entries could not "
			"be committed: %s\n", b->n, b->err);
	srv__batch_free(b);
	return rc;
}

/* ---- rebuilding machines from the store ------------------------------------------ */

struct srv__mrow {
	struct srv_app *app;
	char *err;
	size_t errlen;
	int rc;
};

/* Recreates one machine from its store row (no journal yet). */
static int srv__machine_from_row(void *arg, const struct pst_machine_row *row)
{
	struct srv__mrow *x = arg;
	struct api_error e = {{0}, {0}};
	struct mm_config cfg;
	struct srv_machine *sm;
	json_error_t je;

	json_t *c = json_loads(row->config, 0, &je);
	if (!c || api_config_decode(c, &cfg, &e)) {
		snprintf(x->err, x->errlen, "machine m-%llu: stored config is not "
			 "valid: %s", (unsigned long long)row->id,
			 c ? e.message : je.text);
		json_decref(c);
		return x->rc = -1;
	}
	json_decref(c);
	int rc = srv_machines_create_num(&x->app->machines, row->id, row->tenant,
					 row->name, &cfg, &sm, x->err, x->errlen);
	if (rc)
		return x->rc = -1;
	sm->seq = row->created_seq;
	return 0;
}

static struct srv_machine *srv__by_num(struct srv_app *app, uint64_t num)
{
	return srv_machines_by_num(&app->machines, num);
}

/*
 * Applies one stored row to its machine.  Returns 0, or -1 with err (a
 * gap in seq or a record that does not apply).  A result that differs
 * from the stored one is logged (determinism broken), not fatal.
 */
static int srv__replay_row(struct srv_app *app, const struct pst_op_row *row,
			   char *err, size_t errlen)
{
	struct srv_machine *sm = srv__by_num(app, row->machine);
	json_error_t je;
	json_t *result, *error;

	if (!sm) {
		srv_log_event("recovery", "journal rows of an unknown machine "
			      "skipped");
		return 0;
	}
	if (row->seq != sm->seq + 1) {
		snprintf(err, errlen, "machine %s: journal seq %llu follows %llu",
			 sm->id, (unsigned long long)row->seq,
			 (unsigned long long)sm->seq);
		return -1;
	}
	json_t *rec = json_loads(row->record, 0, &je);
	if (!rec) {
		snprintf(err, errlen, "machine %s seq %llu: record is not JSON: "
			 "%s", sm->id, (unsigned long long)row->seq, je.text);
		return -1;
	}
	int st = api_op_apply(sm->mm, rec, &result, &error);
	json_decref(rec);
	if (st != 200 && st != 422) {
		snprintf(err, errlen, "machine %s seq %llu: the record no longer "
			 "applies (%d: %s)", sm->id, (unsigned long long)row->seq,
			 st, json_string_value(json_object_get(error, "message")));
		json_decref(error);
		return -1;
	}
	sm->seq++;
	json_t *want = json_loads(row->result, 0, &je);
	json_t *got = st == 200 ? result : error;
	if (st != row->status || !want || !json_equal(want, got)) {
		char detail[160];
		snprintf(detail, sizeof(detail), "machine %s seq %llu: replayed "
			 "result differs from the journal", sm->id,
			 (unsigned long long)row->seq);
		srv_log_event("recovery-mismatch", detail);
	}
	json_decref(want);
	json_decref(result);
	json_decref(error);
	return 0;
}

/* Drops machine num from memory and, if the store has it, rebuilds it from
 * config + committed journal.  Returns 0 or -1 (logged). */
static int srv__rebuild(struct srv_app *app, uint64_t num)
{
	char err[300], id[24];
	struct srv__mrow x = {app, err, sizeof(err), 0};
	struct pst_cursor *c;
	struct pst_op_row row;
	int rc;

	snprintf(id, sizeof(id), "m-%llu", (unsigned long long)num);
	srv_sse_machine_gone(app->sse, num, "the machine was rebuilt after a "
			     "failed commit; reconnect with Last-Event-ID");
	srv_machines_delete(&app->machines, id);
	rc = pst_machine_get(app->store, num, srv__machine_from_row, &x);
	if (rc <= 0 || x.rc) {
		if (rc < 0 || x.rc)
			srv_log_event("rebuild-failed", rc < 0
				      ? pst_reader_error(app->store) : err);
		return rc < 0 || x.rc ? -1 : 0;
	}
	if (pst_ops_open(app->store, num, 0, &c))
		return -1;
	while ((rc = pst_ops_next(c, &row)) == 1)
		if (srv__replay_row(app, &row, err, sizeof(err))) {
			rc = -1;
			break;
		}
	pst_ops_close(c);
	if (rc < 0) {
		srv_log_event("rebuild-failed", err);
		srv_machines_delete(&app->machines, id);
		return -1;
	}
	srv_log_event("rebuilt", id);
	return 0;
}

static bool srv__has(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

struct srv__trow {
	struct srv_app *app;
	const char *id;
};

static int srv__tenant_row(void *arg, const struct pst_tenant_row *row)
{
	struct srv__trow *x = arg;
	json_error_t je;
	if (strcmp(row->id, x->id))
		return 0;
	json_t *q = json_loads(row->quotas, 0, &je);
	srv_tenant_add(&x->app->tenants, row->id, row->key_hash,
		       json_is_object(q) ? q : NULL);
	if (q && !json_is_object(q))
		json_decref(q);
	return 1;
}

/* A tenant change was not committed: the tenant becomes what the store
 * holds (absent, or its stored key and quotas). */
static void srv__tenant_reload(struct srv_app *app, const char *id)
{
	struct srv__trow x = {app, id};
	if (!app->tenants.multi)
		return;
	srv_tenant_remove(&app->tenants, id);
	if (pst_tenants_each(app->store, srv__tenant_row, &x) < 0)
		srv_log_event("rebuild-failed", pst_reader_error(app->store));
}

/*
 * The failed batch's entries are not in the store.  Entries appended since
 * (the pending batch) for the same machines were computed on top of them:
 * they are dropped (their waiters get 503 too), and each machine is rebuilt
 * from the store.  Other machines' pending entries stay.
 */
static void srv__rebuild_after_failure(struct srv_journal *j,
				       struct srv_jbatch *failed)
{
	uint64_t nums[SRV_MAX_FAILED_MACHINES];
	size_t n = 0;

	if (!j->app)
		return;
	for (size_t i = 0; i < failed->n && n < SRV_MAX_FAILED_MACHINES; i++)
		if (!srv__has(nums, n, failed->v[i].machine))
			nums[n++] = failed->v[i].machine;
	struct srv_jbatch *p = j->pending;
	if (p && p->n) {
		/* newpos[i]: where kept entry i moves (newpos[n] = new n). */
		size_t *newpos = malloc((p->n + 1) * sizeof(*newpos)), k = 0;
		bool *drop = calloc(p->n, sizeof(*drop));
		for (size_t i = 0; i < p->n; i++) {
			bool d = srv__has(nums, n, p->v[i].machine);
			if (drop)
				drop[i] = d;
			if (newpos)
				newpos[i] = k;
			if (d) {
				free((char *)p->v[i].record);
				free((char *)p->v[i].result);
				free((char *)p->v[i].tenant);
				continue;
			}
			p->v[k++] = p->v[i];
		}
		if (newpos)
			newpos[p->n] = k;
		/* A request's entries are all of one machine: it fails (503)
		 * exactly when that machine is being rebuilt. */
		size_t kw = 0;
		for (size_t i = 0; i < p->nw; i++) {
			struct srv_jwaiter w = p->waiters[i];
			bool hit = !drop || !newpos; /* out of memory: fail all */
			for (size_t e = w.from; e < w.to && !hit; e++)
				hit = drop[e];
			if (hit) {
				j->resume(w.req, false, failed->err);
				continue;
			}
			w.from = newpos[w.from];
			w.to = newpos[w.to];
			p->waiters[kw++] = w;
		}
		p->nw = kw;
		p->n = k;
		free(newpos);
		free(drop);
	}
	for (size_t i = 0; i < n; i++)
		if (nums[i])
			srv__rebuild(j->app, nums[i]);
	for (size_t i = 0; i < failed->n; i++)
		if (failed->v[i].kind == PST_TENANT_PUT ||
		    failed->v[i].kind == PST_TENANT_DELETE)
			srv__tenant_reload(j->app, failed->v[i].tenant);
}

void srv_journal_set_app(struct srv_journal *j, struct srv_app *app)
{
	j->app = app;
}

/* ---- recovery ------------------------------------------------------------------------ */

/* Loads one stored tenant (multi-tenant only; single-tenant runs as
 * "default" and stored tenants wait for an admin key). */
static int srv__tenant_from_row(void *arg, const struct pst_tenant_row *row)
{
	struct srv_app *app = arg;
	json_error_t je;

	if (!app->tenants.multi)
		return 0;
	json_t *q = json_loads(row->quotas, 0, &je);
	if (!json_is_object(q)) {
		json_decref(q);
		q = NULL;
		srv_log_event("recovery", "a tenant's stored quotas are not an "
			      "object; the flags' defaults apply");
	}
	return srv_tenant_add(&app->tenants, row->id, row->key_hash, q) ? 0 : -1;
}

struct srv__recovery {
	struct pst_cursor *c;
	uint64_t ops;
	uint64_t t0;
};

void srv_journal_recover_abort(struct srv_app *app)
{
	struct srv__recovery *r = app->recover_state;
	if (!r)
		return;
	pst_ops_close(r->c);
	free(r);
	app->recover_state = NULL;
}

int srv_journal_recover(struct srv_app *app, size_t budget, char *err,
			size_t errlen)
{
	struct srv__recovery *r = app->recover_state;
	struct pst_op_row row;
	int rc;

	if (!r) {
		struct srv__mrow x = {app, err, errlen, 0};
		uint64_t next;
		r = calloc(1, sizeof(*r));
		if (!r) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		r->t0 = uv_hrtime();
		app->recover_state = r;
		rc = pst_tenants_each(app->store, srv__tenant_from_row, app);
		if (rc == 0)
			rc = pst_machines_each(app->store, srv__machine_from_row,
					       &x);
		if (rc || x.rc || pst_next_machine(app->store, &next) ||
		    pst_ops_open(app->store, 0, 0, &r->c)) {
			if (!x.rc)
				snprintf(err, errlen, "reading %s: %s",
					 pst_path(app->store),
					 pst_reader_error(app->store));
			goto fail;
		}
		if (next > app->machines.next)
			app->machines.next = next;
	}
	for (size_t i = 0; i < budget; i++) {
		rc = pst_ops_next(r->c, &row);
		if (rc == 0)
			goto done;
		if (rc < 0) {
			snprintf(err, errlen, "reading the journal: %s",
				 pst_reader_error(app->store));
			goto fail;
		}
		if (srv__replay_row(app, &row, err, errlen))
			goto fail;
		r->ops++;
	}
	return 1;

done: {
	char detail[128];
	snprintf(detail, sizeof(detail), "%zu machines, %llu operations in "
		 "%.3f s", app->machines.n, (unsigned long long)r->ops,
		 (double)(uv_hrtime() - r->t0) / 1e9);
	srv_log_event("recovered", detail);
	}
	pst_ops_close(r->c);
	free(r);
	app->recover_state = NULL;
	return 0;
fail:
	pst_ops_close(r->c);
	free(r);
	app->recover_state = NULL;
	return -1;
}

/* ---- GET …/journal --------------------------------------------------------------------- */

struct srv__buf {
	char *p;
	size_t n, cap;
	bool oom;
};

static void srv__put(struct srv__buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* {"seq":N,<record's members>,"result"|"error":…}\n — record is a compact
 * JSON object with at least "op". */
static void srv__line(struct srv__buf *b, uint64_t seq, int status,
		      const char *record, const char *result)
{
	char head[40];
	size_t rl = strlen(record);
	int n = snprintf(head, sizeof(head), "{\"seq\":%llu,",
			 (unsigned long long)seq);
	srv__put(b, head, (size_t)n);
	if (rl >= 2)
		srv__put(b, record + 1, rl - 2); /* without { } */
	srv__put(b, status == 200 ? ",\"result\":" : ",\"error\":", status == 200
		 ? 10 : 9);
	srv__put(b, result, strlen(result));
	srv__put(b, "}\n", 2);
}

static void srv__lines_of(struct srv__buf *b, const struct srv_jbatch *batch,
			  uint64_t machine, uint64_t *last)
{
	for (size_t i = 0; batch && i < batch->n; i++) {
		const struct pst_entry *e = &batch->v[i];
		if (e->kind != PST_OP || e->machine != machine || e->seq <= *last)
			continue;
		srv__line(b, e->seq, e->status, e->record, e->result);
		*last = e->seq;
	}
}

char *srv_journal_ndjson(struct srv_journal *j, const struct srv_machine *sm,
			 size_t *len)
{
	struct srv__buf b = {0};
	struct pst_cursor *c;
	struct pst_op_row row;
	uint64_t last = 0;
	int rc;

	json_t *head = json_pack("{s:i, s:{s:s, s:o, s:o}}", "mmsim_journal", 1,
				 "machine", "id", sm->id, "name",
				 sm->name ? json_string(sm->name) : json_null(),
				 "config", api_config_encode(&sm->mm->cfg));
	char *text = head ? json_dumps(head, JSON_COMPACT) : NULL;
	json_decref(head);
	if (!text)
		return NULL;
	srv__put(&b, text, strlen(text));
	srv__put(&b, "\n", 1);
	free(text);
	if (pst_ops_open(j->st, sm->num, 0, &c))
		goto err;
	while ((rc = pst_ops_next(c, &row)) == 1) {
		srv__line(&b, row.seq, row.status, row.record, row.result);
		last = row.seq;
	}
	pst_ops_close(c);
	if (rc < 0)
		goto err;
	/* Applied but not yet committed (relaxed mode, or a commit running). */
	srv__lines_of(&b, j->inflight, sm->num, &last);
	srv__lines_of(&b, j->pending, sm->num, &last);
	if (b.oom)
		goto err;
	*len = b.n;
	return b.p;
err:
	free(b.p);
	return NULL;
}
