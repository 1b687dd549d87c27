/*
 * history.c — the history of a machine (SPEC §6): snapshots, :restore,
 * :rewind and :clone.
 *
 * History is linear: seq 1, 2, 3, … of the journal.  A snapshot is a named
 * point {name, seq} with an engine image (mm_snapshot_save) of the machine
 * after op seq.  Automatic snapshots "auto-SEQ" are taken when seq is a
 * multiple of --snapshot-every (the last --snapshot-keep of them are kept);
 * named ones are made on demand and kept until deleted or rewound past.
 * Snapshots bound replay: recovery, the rebuild after a failed commit and a
 * rewind start from the newest usable snapshot at or before the point they
 * want and replay the journal from there (journal.c, srv_replay_*).
 *
 *   :rewind {seq}    the machine becomes what it was after op seq; the
 *                    later operations and snapshots are discarded (a
 *                    REWIND entry deletes their rows in the same commit
 *                    order as everything else);
 *   :restore         a rewind to the snapshot's seq;
 *   :clone {seq?}    a new machine with the config and the journal prefix
 *                    1..seq (default: all) and the snapshots up to it,
 *                    with its own journal from there.
 *
 * Every change is a journal entry, committed with its request's group
 * commit like an operation (strict: answered once durable); images are
 * written by the commit job on the threadpool, never on the loop.  The
 * snapshot list of each machine is kept in memory (names and seqs) and
 * reloaded from the store after a failed commit.
 */
#include "server/srv.h"

#include <stdlib.h>
#include <string.h>

#include "api/ops.h"

#define SRV_MAX_NAMED_SNAPSHOTS 64

void srv_history_free(struct srv_machine *sm)
{
	free(sm->snaps);
	sm->snaps = NULL;
	sm->nsnaps = sm->capsnaps = 0;
}

static ssize_t srv__snap_find(const struct srv_machine *sm, const char *name)
{
	for (size_t i = 0; i < sm->nsnaps; i++)
		if (!strcmp(sm->snaps[i].name, name))
			return (ssize_t)i;
	return -1;
}

/* Inserts {name, seq} in (seq, name) order; 0 or -1 (out of memory). */
static int srv__snap_add(struct srv_machine *sm, const char *name, uint64_t seq)
{
	if (sm->nsnaps == sm->capsnaps) {
		size_t cap = sm->capsnaps ? sm->capsnaps * 2 : 8;
		struct srv_snap *v = realloc(sm->snaps, cap * sizeof(*v));
		if (!v)
			return -1;
		sm->snaps = v;
		sm->capsnaps = cap;
	}
	size_t at = sm->nsnaps;
	while (at > 0 && (sm->snaps[at - 1].seq > seq ||
			  (sm->snaps[at - 1].seq == seq &&
			   strcmp(sm->snaps[at - 1].name, name) > 0)))
		at--;
	memmove(&sm->snaps[at + 1], &sm->snaps[at],
		(sm->nsnaps - at) * sizeof(sm->snaps[0]));
	struct srv_snap *s = &sm->snaps[at];
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->seq = seq;
	s->automatic = !strncmp(name, "auto-", 5);
	sm->nsnaps++;
	return 0;
}

static void srv__snap_remove(struct srv_machine *sm, size_t i)
{
	memmove(&sm->snaps[i], &sm->snaps[i + 1],
		(sm->nsnaps - i - 1) * sizeof(sm->snaps[0]));
	sm->nsnaps--;
}

static int srv__snap_row(void *arg, const struct pst_snapshot_row *row)
{
	return srv__snap_add(arg, row->name, row->seq);
}

int srv_history_load(struct srv_app *app, struct srv_machine *sm)
{
	sm->nsnaps = 0;
	return pst_snapshots_each(app->store, sm->num, srv__snap_row, sm) ? -1 : 0;
}

/* Saves sm's image as snapshot name at its seq: 0, or -1 (host out of
 * memory, logged). */
static int srv__snapshot(struct srv_app *app, struct srv_machine *sm,
			 const char *name)
{
	struct mm_bytes img = {0};

	if (mm_snapshot_save(sm->mm, &img) ||
	    srv__snap_add(sm, name, sm->seq)) {
		free(img.p);
		srv_log_event("snapshot-failed", "out of memory");
		return -1;
	}
	if (srv_journal_snapshot(app->journal, sm->num, name, sm->seq, img.p,
				 img.len)) {
		srv__snap_remove(sm, (size_t)srv__snap_find(sm, name));
		srv_log_event("snapshot-failed", "out of memory");
		return -1;
	}
	return 0;
}

static int srv__snapshot_delete(struct srv_app *app, struct srv_machine *sm,
				size_t i)
{
	if (srv_journal_snapshot_delete(app->journal, sm->num, sm->snaps[i].name))
		return -1;
	srv__snap_remove(sm, i);
	return 0;
}

void srv_history_after_op(struct srv_app *app, struct srv_machine *sm)
{
	uint64_t every = app->opt->snapshot_every;
	char name[32];
	size_t autos = 0;

	if (!app->journal || !every || sm->seq % every)
		return;
	snprintf(name, sizeof(name), "auto-%llu", (unsigned long long)sm->seq);
	if (srv__snap_find(sm, name) >= 0 || srv__snapshot(app, sm, name))
		return;
	for (size_t i = 0; i < sm->nsnaps; i++)
		autos += sm->snaps[i].automatic;
	for (size_t i = 0; autos > app->opt->snapshot_keep && i < sm->nsnaps;) {
		if (!sm->snaps[i].automatic) {
			i++;
			continue;
		}
		if (srv__snapshot_delete(app, sm, i))
			return;
		autos--;
	}
}

static json_t *srv__snap_json(const struct srv_snap *s)
{
	return json_pack("{s:s, s:I, s:b}", "name", s->name, "seq",
			 (json_int_t)s->seq, "automatic", s->automatic);
}

/* [A-Za-z0-9._-]{1,63}: names appear in paths. */
static bool srv__snap_name_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= SRV_SNAP_NAME_MAX ||
		    !(((s[n] | 0x20) >= 'a' && (s[n] | 0x20) <= 'z') ||
		      (s[n] >= '0' && s[n] <= '9') || s[n] == '-' ||
		      s[n] == '_' || s[n] == '.'))
			return false;
	return n > 0;
}

static void srv__no_journal(struct srv_response *res)
{
	srv_reply_error(res, 503, NULL, "history needs the store (--data)");
}

static void srv__oom(struct srv_response *res)
{
	snprintf(res->retry_after, sizeof(res->retry_after), "10");
	srv_reply_error(res, 503, NULL, "the host is out of memory");
}

void srv_history_create(struct srv_app *app, struct srv_machine *sm,
			json_t *body, struct srv_response *res)
{
	json_t *jn = json_object_get(body, "name");
	char name[SRV_SNAP_NAME_MAX + 1];
	size_t named = 0;

	if (!app->journal)
		return srv__no_journal(res);
	if (jn && !json_is_null(jn)) {
		const char *s = json_string_value(jn);
		if (!s || strlen(s) != json_string_length(jn) ||
		    !srv__snap_name_ok(s) || !strncmp(s, "auto-", 5)) {
			srv_reply_error(res, 400, json_pack("{s:s}", "field", "name"),
					"name: 1 to %d letters, digits, '.', '_' "
					"or '-', not starting with \"auto-\" "
					"(automatic snapshots)", SRV_SNAP_NAME_MAX);
			return;
		}
		snprintf(name, sizeof(name), "%s", s);
	} else {
		snprintf(name, sizeof(name), "snap-%llu",
			 (unsigned long long)sm->seq);
	}
	if (srv__snap_find(sm, name) >= 0) {
		srv_reply_error(res, 409, json_pack("{s:s}", "name", name),
				"machine %s already has a snapshot \"%s\"", sm->id,
				name);
		return;
	}
	for (size_t i = 0; i < sm->nsnaps; i++)
		named += !sm->snaps[i].automatic;
	if (named >= SRV_MAX_NAMED_SNAPSHOTS) {
		srv_reply_error(res, 429, json_pack("{s:i}", "limit",
						    SRV_MAX_NAMED_SNAPSHOTS),
				"a machine keeps at most %d named snapshots; "
				"delete one first", SRV_MAX_NAMED_SNAPSHOTS);
		return;
	}
	if (srv__snapshot(app, sm, name))
		return srv__oom(res);
	snprintf(res->location, sizeof(res->location),
		 "/v1/machines/%s/snapshots/%s", sm->id, name);
	srv_reply_json(res, 201, srv__snap_json(&sm->snaps[srv__snap_find(sm, name)]));
}

void srv_history_list(struct srv_app *app, struct srv_machine *sm,
		      struct srv_response *res)
{
	(void)app;
	json_t *items = json_array();
	for (size_t i = 0; i < sm->nsnaps; i++)
		json_array_append_new(items, srv__snap_json(&sm->snaps[i]));
	srv_reply_json(res, 200, json_pack("{s:o, s:s}", "items", items,
					   "next_page_token", ""));
}

static ssize_t srv__snap_or_404(struct srv_machine *sm, const char *name,
				struct srv_response *res)
{
	ssize_t i = srv__snap_find(sm, name);
	if (i < 0)
		srv_reply_error(res, 404, json_pack("{s:s}", "snapshot", name),
				"machine %s has no snapshot \"%.63s\"", sm->id,
				name);
	return i;
}

void srv_history_get(struct srv_app *app, struct srv_machine *sm,
		     const char *name, struct srv_response *res)
{
	(void)app;
	ssize_t i = srv__snap_or_404(sm, name, res);
	if (i >= 0)
		srv_reply_json(res, 200, srv__snap_json(&sm->snaps[i]));
}

void srv_history_delete(struct srv_app *app, struct srv_machine *sm,
			const char *name, struct srv_response *res)
{
	if (!app->journal)
		return srv__no_journal(res);
	ssize_t i = srv__snap_or_404(sm, name, res);
	if (i < 0)
		return;
	if (srv__snapshot_delete(app, sm, (size_t)i))
		return srv__oom(res);
	srv_reply_json(res, 200, json_object());
}

/*
 * The machine sm was after op seq (<= sm->seq), built from the newest
 * usable snapshot at or before it and the journal.  Returns 0 and *out, or
 * answers res itself (503) and returns -1.
 */
static int srv__state_at(struct srv_app *app, struct srv_machine *sm,
			 uint64_t seq, struct mm_machine **out,
			 struct srv_response *res)
{
	struct srv_replay r;
	char err[300];
	int rc;

	if (seq == sm->seq) {
		/* the live machine: an image and back is exact and fast */
		struct mm_bytes img = {0};
		rc = mm_snapshot_save(sm->mm, &img);
		if (!rc)
			rc = mm_snapshot_load(img.p, img.len, out, err, sizeof(err));
		free(img.p);
		if (rc == -MM_EINVAL) {
			/* an engine bug: the live machine does not round-trip */
			srv_log_event("snapshot-roundtrip-failed", err);
			srv_reply_error(res, 503, NULL, "%s", err);
			return -1;
		}
		if (rc) {
			srv__oom(res);
			return -1;
		}
		return 0;
	}
	rc = srv_replay_begin(&r, app, sm->num, &sm->mm->cfg, seq, err,
			      sizeof(err));
	while (rc == 0 && (rc = srv_replay_step(&r, 4096, err, sizeof(err))) == 1)
		rc = 0;
	if (rc == 0 && r.seq != seq) {
		snprintf(err, sizeof(err), "machine %s: the journal ends at seq "
			 "%llu, before %llu", sm->id, (unsigned long long)r.seq,
			 (unsigned long long)seq);
		rc = -1;
	}
	if (rc == 0) {
		*out = r.mm;
		r.mm = NULL;
	} else {
		srv_log_event("history-replay-failed", err);
		snprintf(res->retry_after, sizeof(res->retry_after), "1");
		srv_reply_error(res, 503, NULL, "%s", err);
	}
	srv_replay_end(&r);
	return rc ? -1 : 0;
}

/* seq of a body: an integer in [0, sm->seq] (dflt when absent and
 * allowed); -1 after answering 400. */
static int srv__body_seq(struct srv_machine *sm, json_t *body, bool required,
			 uint64_t *seq, struct srv_response *res)
{
	json_t *j = json_object_get(body, "seq");
	if (!j && !required) {
		*seq = sm->seq;
		return 0;
	}
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > sm->seq) {
		srv_reply_error(res, 400, json_pack("{s:s, s:I}", "field", "seq",
						    "max", (json_int_t)sm->seq),
				"seq: %s an integer from 0 to the machine's seq "
				"%llu", j ? "expected" : "required:",
				(unsigned long long)sm->seq);
		return -1;
	}
	*seq = (uint64_t)json_integer_value(j);
	return 0;
}

/* Rewinds sm to seq and answers {"seq"} (or the error). */
static void srv__rewind(struct srv_app *app, struct srv_machine *sm,
			uint64_t seq, struct srv_response *res)
{
	struct mm_machine *mm;

	if (seq < sm->seq) {
		if (srv__state_at(app, sm, seq, &mm, res))
			return;
		if (srv_journal_rewind(app->journal, sm->num, seq)) {
			mm_machine_destroy(mm);
			return srv__oom(res);
		}
		mm_machine_destroy(sm->mm);
		sm->mm = mm;
		sm->seq = seq;
		while (sm->nsnaps && sm->snaps[sm->nsnaps - 1].seq > seq)
			sm->nsnaps--;
	}
	srv_reply_json(res, 200, json_pack("{s:I}", "seq", (json_int_t)sm->seq));
}

void srv_history_rewind(struct srv_app *app, struct srv_machine *sm,
			json_t *body, struct srv_response *res)
{
	uint64_t seq;

	if (!app->journal)
		return srv__no_journal(res);
	if (srv__body_seq(sm, body, true, &seq, res))
		return;
	srv__rewind(app, sm, seq, res);
}

void srv_history_restore(struct srv_app *app, struct srv_machine *sm,
			 const char *name, struct srv_response *res)
{
	if (!app->journal)
		return srv__no_journal(res);
	ssize_t i = srv__snap_or_404(sm, name, res);
	if (i < 0)
		return;
	if (sm->snaps[i].seq > sm->seq) {
		srv_reply_error_json(res, api_error_new(
			409, "ABORTED", json_pack("{s:s, s:I}", "snapshot", name,
						  "seq", (json_int_t)sm->snaps[i].seq),
			"snapshot \"%s\" (seq %llu) is no longer on the history of "
			"%s (seq %llu)", name, (unsigned long long)sm->snaps[i].seq,
			sm->id, (unsigned long long)sm->seq));
		return;
	}
	srv__rewind(app, sm, sm->snaps[i].seq, res);
}

void srv_history_clone(struct srv_app *app, struct srv_machine *sm,
		       json_t *body, struct srv_response *res)
{
	struct mm_machine *mm;
	struct srv_machine *c;
	uint64_t seq;
	char err[256];

	if (!app->journal)
		return srv__no_journal(res);
	const struct srv_tenant *tn = srv_tenant_get(&app->tenants, sm->tenant);
	if (srv__body_seq(sm, body, false, &seq, res) ||
	    (tn && srv_quota_check(app, tn, sm->mm->cfg.memory, res)) ||
	    srv__state_at(app, sm, seq, &mm, res))
		return;
	int rc = srv_machines_adopt(&app->machines, sm->tenant, sm->name, mm,
				    &c, err, sizeof(err));
	if (rc) {
		mm_machine_destroy(mm);
		if (rc == -MM_ENOSPC) {
			snprintf(res->retry_after, sizeof(res->retry_after), "60");
			srv_reply_error(res, 429, NULL, "%s", err);
		} else {
			srv__oom(res);
		}
		return;
	}
	c->seq = seq;
	for (size_t i = 0; i < sm->nsnaps && sm->snaps[i].seq <= seq; i++)
		if (srv__snap_add(c, sm->snaps[i].name, sm->snaps[i].seq))
			rc = -1;
	if (rc || srv_journal_clone(app->journal, c, sm->num, seq)) {
		srv_machines_delete(&app->machines, c->id);
		return srv__oom(res);
	}
	snprintf(res->location, sizeof(res->location), "/v1/machines/%s", c->id);
	srv_reply_json(res, 201, srv_machine_json(c));
}
