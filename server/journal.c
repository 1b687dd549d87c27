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

static void srv__entry_free(struct pst_entry *e)
{
	free((char *)e->record);
	free((char *)e->result);
	free((char *)e->tenant);
	free((void *)e->blob);
}

static void srv__batch_free(struct srv_jbatch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		srv__entry_free(&b->v[i]);
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

/* Appends one entry, taking ownership of record, result, e.tenant and
 * e.blob (even on failure). */
static int srv__append(struct srv_journal *j, struct pst_entry e, char *record,
		       char *result)
{
	struct srv_jbatch *b = srv__pending(j);
	bool needs_record = e.kind != PST_MACHINE_DELETE &&
			    e.kind != PST_REWIND && e.kind != PST_TENANT_DELETE;
	bool needs_tenant = e.kind == PST_MACHINE_CREATE || e.kind == PST_CLONE ||
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
	free((void *)e.blob);
	return -1;
}

int srv_journal_op(struct srv_journal *j, uint64_t machine, uint64_t seq,
		   const json_t *record, int status, const json_t *result)
{
	struct pst_entry e = {.kind = PST_OP, .machine = machine, .seq = seq,
			      .status = status};
	return srv__append(j, e, api_json_text(record, NULL),
			   api_json_text(result, NULL));
}

static int srv__create_entry(struct srv_journal *j, const struct srv_machine *sm,
			     struct pst_entry e)
{
	e.tenant = strdup(sm->tenant);
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

int srv_journal_create(struct srv_journal *j, const struct srv_machine *sm)
{
	struct pst_entry e = {.kind = PST_MACHINE_CREATE, .machine = sm->num,
			      .seq = sm->seq};
	return srv__create_entry(j, sm, e);
}

int srv_journal_clone(struct srv_journal *j, const struct srv_machine *sm,
		      uint64_t source, uint64_t seq)
{
	struct pst_entry e = {.kind = PST_CLONE, .machine = sm->num, .seq = seq,
			      .source = source};
	return srv__create_entry(j, sm, e);
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

int srv_journal_snapshot(struct srv_journal *j, uint64_t machine,
			 const char *name, uint64_t seq, void *blob, size_t len)
{
	struct pst_entry e = {.kind = PST_SNAPSHOT, .machine = machine,
			      .seq = seq, .status = MM_SNAPSHOT_FORMAT,
			      .blob = blob, .blob_len = len};
	return srv__append(j, e, strdup(name), NULL);
}

int srv_journal_snapshot_delete(struct srv_journal *j, uint64_t machine,
				const char *name)
{
	struct pst_entry e = {.kind = PST_SNAPSHOT_DELETE, .machine = machine};
	return srv__append(j, e, strdup(name), NULL);
}

int srv_journal_rewind(struct srv_journal *j, uint64_t machine, uint64_t seq)
{
	struct pst_entry e = {.kind = PST_REWIND, .machine = machine, .seq = seq};
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

/* ---- the history of a machine, replayed --------------------------------------- */

/*
 * The entries of machine still waiting for their commit (the running
 * commit, then the pending batch) that are on its history: operations not
 * discarded by a later rewind, copied into r->tail.  r->cut is the lowest
 * rewind among them: committed rows above it are discarded history.
 * Returns 0, -1 (out of memory) or -2 (the machine is a clone whose
 * creation is not committed: its rows are not in the store yet).
 */
static int srv__tail(struct srv_journal *j, uint64_t machine,
		     struct srv_replay *r)
{
	const struct pst_entry *mine[2 * 4096];
	const struct srv_jbatch *bs[2] = {j->inflight, j->pending};
	size_t n = 0, total = 0;

	r->cut = UINT64_MAX;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; bs[k] && i < bs[k]->n; i++)
			total += bs[k]->v[i].machine == machine;
	const struct pst_entry **v = total <= sizeof(mine) / sizeof(mine[0])
		? mine : malloc(total * sizeof(*v));
	if (!v)
		return -1;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; bs[k] && i < bs[k]->n; i++)
			if (bs[k]->v[i].machine == machine)
				v[n++] = &bs[k]->v[i];
	int rc = 0;
	r->tail = calloc(n ? n : 1, sizeof(*r->tail));
	if (!r->tail)
		rc = -1;
	/* Backwards: the lowest rewind after each entry. */
	uint64_t limit = UINT64_MAX;
	for (size_t i = n; i-- > 0 && !rc;) {
		const struct pst_entry *e = v[i];
		if (e->kind == PST_CLONE || e->kind == PST_MACHINE_CREATE) {
			if (e->kind == PST_CLONE)
				rc = -2;
			continue;
		}
		if (e->kind == PST_REWIND && e->seq < limit)
			limit = e->seq;
		if (e->kind != PST_OP || e->seq > limit)
			continue;
		struct pst_op_row *t = &r->tail[r->ntail++];
		t->machine = machine;
		t->seq = e->seq;
		t->status = e->status;
		t->record = strdup(e->record);
		t->result = strdup(e->result);
		if (!t->record || !t->result)
			rc = -1;
	}
	r->cut = limit;
	/* collected backwards: put them in order */
	for (size_t i = 0; i < r->ntail / 2; i++) {
		struct pst_op_row x = r->tail[i];
		r->tail[i] = r->tail[r->ntail - 1 - i];
		r->tail[r->ntail - 1 - i] = x;
	}
	if (v != mine)
		free(v);
	return rc;
}

struct srv__snaps {
	struct pst_snapshot_row *v;
	size_t n, cap;
	uint64_t upto;
};

static int srv__collect_snap(void *arg, const struct pst_snapshot_row *row)
{
	struct srv__snaps *x = arg;
	if (row->seq > x->upto)
		return 0;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct pst_snapshot_row *v = realloc(x->v, cap * sizeof(*v));
		if (!v)
			return -1;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n] = *row;
	x->v[x->n].name = strdup(row->name);
	if (!x->v[x->n].name)
		return -1;
	x->n++;
	return 0;
}

/*
 * The newest committed snapshot of r->num at or before seq bound that
 * loads; a snapshot that does not (corrupt, another format, another
 * config) is logged and an older one tried.  0 with r->mm (or none
 * found: r->mm NULL), -1 on a store error.
 */
static int srv__best_snapshot(struct srv_replay *r, const struct mm_config *cfg,
			      uint64_t bound)
{
	struct srv__snaps x = {.upto = bound};
	int rc = pst_snapshots_each(r->app->store, r->num, srv__collect_snap, &x);

	for (size_t i = x.n; rc == 0 && i-- > 0 && !r->mm;) {
		char err[256], detail[400];
		void *blob = NULL;
		size_t len = 0;
		struct mm_machine *mm = NULL;
		int got = x.v[i].format == MM_SNAPSHOT_FORMAT
			? pst_snapshot_blob(r->app->store, r->num, x.v[i].name,
					    &blob, &len) : 1;
		if (got < 0) {
			rc = -1;
			break;
		}
		if (got == 0)
			continue;
		if (x.v[i].format != MM_SNAPSHOT_FORMAT)
			snprintf(err, sizeof(err), "format %d, this build reads %d",
				 x.v[i].format, MM_SNAPSHOT_FORMAT);
		else if (mm_snapshot_load(blob, len, &mm, err, sizeof(err)) == 0 &&
			 (mm->cfg.memory != cfg->memory || mm->cfg.arch != cfg->arch ||
			  mm->cfg.seed != cfg->seed || mm->cfg.cpus != cfg->cpus ||
			  mm->cfg.nodes != cfg->nodes)) {
			snprintf(err, sizeof(err), "it is of another config");
			mm_machine_destroy(mm);
			mm = NULL;
		}
		free(blob);
		if (!mm) {
			snprintf(detail, sizeof(detail), "machine %s snapshot %s "
				 "(seq %llu) is not used: %s", r->id, x.v[i].name,
				 (unsigned long long)x.v[i].seq, err);
			srv_log_event("snapshot-unusable", detail);
			continue;
		}
		r->mm = mm;
		r->seq = x.v[i].seq;
		snprintf(r->from_buf, sizeof(r->from_buf), "snapshot %s",
			 x.v[i].name);
		r->from = r->from_buf;
	}
	for (size_t i = 0; i < x.n; i++)
		free((char *)x.v[i].name);
	free(x.v);
	return rc;
}

int srv_replay_begin(struct srv_replay *r, struct srv_app *app, uint64_t num,
		     const struct mm_config *cfg, uint64_t upto, char *err,
		     size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->app = app;
	r->num = num;
	r->upto = upto;
	snprintf(r->id, sizeof(r->id), "m-%llu", (unsigned long long)num);
	int rc = app->journal ? srv__tail(app->journal, num, r) : 0;
	if (rc) {
		snprintf(err, errlen, rc == -2 ? "machine %s is a clone still "
			 "being committed" : "out of memory", r->id);
		return rc;
	}
	if (upto > r->cut)
		upto = r->cut;
	if (srv__best_snapshot(r, cfg, upto)) {
		snprintf(err, errlen, "reading the snapshots of %s: %s", r->id,
			 pst_reader_error(app->store));
		return -1;
	}
	if (!r->mm) {
		rc = mm_machine_create(cfg, &r->mm, err, errlen);
		if (rc)
			return -1;
		r->from = "config";
	}
	r->last = r->first = r->seq;
	if (pst_ops_open(app->store, num, r->seq, &r->c)) {
		snprintf(err, errlen, "reading the journal of %s: %s", r->id,
			 pst_reader_error(app->store));
		return -1;
	}
	return 0;
}

/*
 * Applies one row.  Returns 0, or -1 with err (a gap in seq or a record
 * that does not apply).  A result that differs from the stored one is
 * logged (determinism broken), not fatal.
 */
static int srv__replay_row(struct srv_replay *r, const struct pst_op_row *row,
			   char *err, size_t errlen)
{
	json_error_t je;
	json_t *result, *error;

	if (row->seq != r->seq + 1) {
		snprintf(err, errlen, "machine %s: journal seq %llu follows %llu",
			 r->id, (unsigned long long)row->seq,
			 (unsigned long long)r->seq);
		return -1;
	}
	json_t *rec = json_loads(row->record, 0, &je);
	if (!rec) {
		snprintf(err, errlen, "machine %s seq %llu: record is not JSON: "
			 "%s", r->id, (unsigned long long)row->seq, je.text);
		return -1;
	}
	int st = api_op_apply(r->mm, rec, &result, &error);
	json_decref(rec);
	if (st != 200 && st != 422) {
		snprintf(err, errlen, "machine %s seq %llu: the record no longer "
			 "applies (%d: %s)", r->id, (unsigned long long)row->seq,
			 st, json_string_value(json_object_get(error, "message")));
		json_decref(error);
		return -1;
	}
	r->seq++;
	json_t *want = json_loads(row->result, 0, &je);
	json_t *got = st == 200 ? result : error;
	if (st != row->status || !want || !json_equal(want, got)) {
		char detail[160];
		snprintf(detail, sizeof(detail), "machine %s seq %llu: replayed "
			 "result differs from the journal", r->id,
			 (unsigned long long)row->seq);
		srv_log_event("recovery-mismatch", detail);
	}
	json_decref(want);
	json_decref(result);
	json_decref(error);
	return 0;
}

int srv_replay_step(struct srv_replay *r, size_t budget, char *err,
		    size_t errlen)
{
	uint64_t bound = r->upto < r->cut ? r->upto : r->cut;
	struct pst_op_row row;

	for (size_t i = 0; i < budget; i++) {
		if (r->c) {
			int rc = pst_ops_next(r->c, &row);
			if (rc < 0) {
				snprintf(err, errlen, "reading the journal of %s: "
					 "%s", r->id, pst_reader_error(r->app->store));
				return -1;
			}
			if (rc == 0 || row.seq > bound) {
				pst_ops_close(r->c);
				r->c = NULL;
				continue;
			}
		} else {
			/* the waiting rows, past what the store already had */
			while (r->itail < r->ntail && r->tail[r->itail].seq <= r->last)
				r->itail++;
			if (r->itail == r->ntail || r->tail[r->itail].seq > r->upto)
				return 0;
			row = r->tail[r->itail++];
		}
		if (srv__replay_row(r, &row, err, errlen))
			return -1;
		r->last = row.seq;
	}
	return 1;
}

void srv_replay_end(struct srv_replay *r)
{
	pst_ops_close(r->c);
	for (size_t i = 0; i < r->ntail; i++) {
		free((char *)r->tail[i].record);
		free((char *)r->tail[i].result);
	}
	free(r->tail);
	mm_machine_destroy(r->mm);
	memset(r, 0, sizeof(*r));
}

struct srv__mrow {
	struct srv_app *app;
	char *err;
	size_t errlen;
	int rc;
	uint64_t *nums;     /* recovery: the machines, in id order */
	size_t n, cap;
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
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 64;
		uint64_t *v = realloc(x->nums, cap * sizeof(*v));
		if (!v) {
			snprintf(x->err, x->errlen, "out of memory");
			return x->rc = -1;
		}
		x->nums = v;
		x->cap = cap;
	}
	x->nums[x->n++] = row->id;
	return 0;
}

static struct srv_machine *srv__by_num(struct srv_app *app, uint64_t num)
{
	return srv_machines_by_num(&app->machines, num);
}

/* The replayed machine becomes sm's state. */
static void srv__take(struct srv_machine *sm, struct srv_replay *r)
{
	mm_machine_destroy(sm->mm);
	sm->mm = r->mm;
	sm->seq = r->seq;
	r->mm = NULL;
}

/* Drops machine num from memory and, if the store has it, rebuilds it from
 * its last snapshot + committed journal.  Returns 0 or -1 (logged). */
static int srv__rebuild(struct srv_app *app, uint64_t num)
{
	char err[300], id[24];
	struct srv__mrow x = {app, err, sizeof(err), 0, NULL, 0, 0};
	struct srv_replay r;
	int rc;

	snprintf(id, sizeof(id), "m-%llu", (unsigned long long)num);
	srv_sse_machine_gone(app->sse, num, "the machine was rebuilt after a "
			     "failed commit; reconnect with Last-Event-ID");
	srv_machines_delete(&app->machines, id);
	rc = pst_machine_get(app->store, num, srv__machine_from_row, &x);
	free(x.nums);
	if (rc <= 0 || x.rc) {
		if (rc < 0 || x.rc)
			srv_log_event("rebuild-failed", rc < 0
				      ? pst_reader_error(app->store) : err);
		return rc < 0 || x.rc ? -1 : 0;
	}
	struct srv_machine *sm = srv__by_num(app, num);
	rc = srv_history_load(app, sm) ? -1 : srv_replay_begin(&r, app, num,
							       &sm->mm->cfg,
							       UINT64_MAX, err,
							       sizeof(err));
	while (rc == 0 && (rc = srv_replay_step(&r, 4096, err, sizeof(err))) == 1)
		rc = 0;
	char detail[200];
	if (rc == 0) {
		snprintf(detail, sizeof(detail), "%s from %s + %llu operations",
			 id, r.from, (unsigned long long)(r.seq - r.first));
		srv__take(sm, &r);
	}
	srv_replay_end(&r);
	if (rc < 0) {
		srv_log_event("rebuild-failed", err);
		srv_machines_delete(&app->machines, id);
		return -1;
	}
	srv_log_event("rebuilt", detail);
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
				srv__entry_free(&p->v[i]);
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
	uint64_t *nums;          /* the stored machines, in id order */
	size_t n, i;
	bool replaying;          /* r is machine nums[i]'s replay */
	struct srv_replay r;
	uint64_t ops, snaps;
	uint64_t t0;
};

void srv_journal_recover_abort(struct srv_app *app)
{
	struct srv__recovery *r = app->recover_state;
	if (!r)
		return;
	if (r->replaying)
		srv_replay_end(&r->r);
	free(r->nums);
	free(r);
	app->recover_state = NULL;
}

int srv_journal_recover(struct srv_app *app, size_t budget, char *err,
			size_t errlen)
{
	struct srv__recovery *r = app->recover_state;
	int rc;

	if (!r) {
		struct srv__mrow x = {app, err, errlen, 0, NULL, 0, 0};
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
		r->nums = x.nums;
		r->n = x.n;
		if (rc || x.rc || pst_next_machine(app->store, &next)) {
			if (!x.rc)
				snprintf(err, errlen, "reading %s: %s",
					 pst_path(app->store),
					 pst_reader_error(app->store));
			goto fail;
		}
		if (next > app->machines.next)
			app->machines.next = next;
	}
	while (budget > 0) {
		if (!r->replaying) {
			if (r->i == r->n)
				goto done;
			struct srv_machine *sm = srv__by_num(app, r->nums[r->i]);
			if (srv_history_load(app, sm)) {
				snprintf(err, errlen, "reading the snapshots of %s: "
					 "%s", sm->id, pst_reader_error(app->store));
				goto fail;
			}
			r->replaying = true;
			if (srv_replay_begin(&r->r, app, sm->num, &sm->mm->cfg,
					     UINT64_MAX, err, errlen))
				goto fail;
			r->snaps += strcmp(r->r.from, "config") != 0;
		}
		uint64_t before = r->r.seq;
		rc = srv_replay_step(&r->r, budget, err, errlen);
		if (rc < 0)
			goto fail;
		r->ops += r->r.seq - before;
		uint64_t used = r->r.seq - before + 1;
		budget -= used < budget ? used : budget;
		if (rc == 0) {
			srv__take(srv__by_num(app, r->nums[r->i]), &r->r);
			srv_replay_end(&r->r);
			r->replaying = false;
			r->i++;
		}
	}
	return 1;

done: {
	char detail[160];
	snprintf(detail, sizeof(detail), "%zu machines (%llu from a snapshot), "
		 "%llu operations replayed in %.3f s", app->machines.n,
		 (unsigned long long)r->snaps, (unsigned long long)r->ops,
		 (double)(uv_hrtime() - r->t0) / 1e9);
	srv_log_event("recovered", detail);
	}
	srv_journal_recover_abort(app);
	return 0;
fail:
	srv_journal_recover_abort(app);
	return -1;
}

/* ---- GET …/journal, streamed --------------------------------------------------------- */

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
static void srv__line(struct srv__buf *b, const struct pst_op_row *row)
{
	char head[40];
	size_t rl = strlen(row->record);
	int n = snprintf(head, sizeof(head), "{\"seq\":%llu,",
			 (unsigned long long)row->seq);
	srv__put(b, head, (size_t)n);
	if (rl >= 2)
		srv__put(b, row->record + 1, rl - 2); /* without { } */
	srv__put(b, row->status == 200 ? ",\"result\":" : ",\"error\":",
		 row->status == 200 ? 10 : 9);
	srv__put(b, row->result, strlen(row->result));
	srv__put(b, "}\n", 2);
}

/* The export: header, committed rows from its own cursor (up to the cut a
 * waiting rewind makes), then the waiting rows (r.tail). */
struct srv__export {
	struct srv_replay r;     /* only its tail, cut and last are used */
	struct pst_cursor *c;
	struct srv__buf out;     /* formatted, not yet handed out */
	size_t off;
};

#define SRV_EXPORT_CHUNK (64u << 10)

static long srv__export_read(void *arg, char *buf, size_t max)
{
	struct srv__export *x = arg;
	struct pst_op_row row;

	while (x->off == x->out.n) {
		x->out.n = x->off = 0;
		while (x->out.n < SRV_EXPORT_CHUNK && !x->out.oom) {
			if (x->c) {
				int rc = pst_ops_next(x->c, &row);
				if (rc < 0)
					return -1;
				if (rc == 0 || row.seq > x->r.cut) {
					pst_ops_close(x->c);
					x->c = NULL;
					continue;
				}
			} else {
				while (x->r.itail < x->r.ntail &&
				       x->r.tail[x->r.itail].seq <= x->r.last)
					x->r.itail++;
				if (x->r.itail == x->r.ntail)
					break;
				row = x->r.tail[x->r.itail++];
			}
			srv__line(&x->out, &row);
			x->r.last = row.seq;
		}
		if (x->out.oom)
			return -1;
		if (x->out.n == 0)
			return 0;
	}
	size_t n = x->out.n - x->off < max ? x->out.n - x->off : max;
	memcpy(buf, x->out.p + x->off, n);
	x->off += n;
	return (long)n;
}

static void srv__export_done(void *arg)
{
	struct srv__export *x = arg;
	pst_ops_close(x->c);
	srv_replay_end(&x->r);
	free(x->out.p);
	free(x);
}

int srv_journal_export(struct srv_journal *j, const struct srv_machine *sm,
		       struct srv_response *res)
{
	struct srv__export *x = calloc(1, sizeof(*x));
	if (!x)
		return -1;
	if (srv__tail(j, sm->num, &x->r) ||
	    pst_export_open(j->st, sm->num, 0, &x->c))
		goto err;
	/* The cursor's first step fixes its view of the store now, beside
	 * the tail just copied: rows the running commit adds are either in
	 * both (skipped by seq) or in the tail only. */
	json_t *head = json_pack("{s:i, s:{s:s, s:o, s:o}}", "mmsim_journal", 1,
				 "machine", "id", sm->id, "name",
				 sm->name ? json_string(sm->name) : json_null(),
				 "config", api_config_encode(&sm->mm->cfg));
	char *text = head ? json_dumps(head, JSON_COMPACT) : NULL;
	json_decref(head);
	if (!text)
		goto err;
	srv__put(&x->out, text, strlen(text));
	srv__put(&x->out, "\n", 1);
	free(text);
	struct pst_op_row row;
	int rc = pst_ops_next(x->c, &row);
	if (rc < 0)
		goto err;
	if (rc == 0 || row.seq > x->r.cut) {
		pst_ops_close(x->c);
		x->c = NULL;
	} else {
		srv__line(&x->out, &row);
		x->r.last = row.seq;
	}
	if (x->out.oom)
		goto err;
	free(res->body);
	res->body = NULL;
	res->len = 0;
	res->status = 200;
	res->content_type = "application/x-ndjson";
	res->stream = srv__export_read;
	res->stream_done = srv__export_done;
	res->stream_arg = x;
	return 0;
err:
	srv__export_done(x);
	return -1;
}
