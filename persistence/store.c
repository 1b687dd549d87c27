/*
 * store.c — the sqlite store (see pst.h for the schema and the threading).
 *
 * Opening is careful never to write into a file that is not ours:
 *   1. a non-empty file must start with sqlite's magic and carry our
 *      application_id in its header (read with plain read(2));
 *   2. a READ-ONLY connection then checks schema_version (refusing a newer
 *      schema) and runs PRAGMA quick_check (refusing corruption);
 *   3. only then is the writer opened: WAL, synchronous=FULL, migrations.
 * A brand-new (absent or empty) file, or one our own interrupted first
 * start left with application_id 0 and no table at all, is initialised.
 */
#include "persistence/pst.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pst_store {
	char path[1100];
	sqlite3 *w;                 /* writer: pst_commit only */
	sqlite3 *r;                 /* reader: the loop thread */
	sqlite3_stmt *ins_op, *ins_machine, *set_next, *del_ops, *del_machine,
		     *put_tenant, *del_tenant;
	_Atomic int fail_commits;   /* test hook */
};

struct pst_cursor {
	sqlite3_stmt *st;
};

/* Migrations: pst__migrations[v] takes schema v to v + 1. */
static const char *const pst__migrations[] = {
	/* 0 → 1: the first schema */
	"CREATE TABLE schema_version(version INTEGER NOT NULL);"
	"INSERT INTO schema_version VALUES(0);"
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"CREATE TABLE machines(id INTEGER PRIMARY KEY, name TEXT,"
	" config TEXT NOT NULL, created_seq INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE operations(machine INTEGER NOT NULL,"
	" seq INTEGER NOT NULL, status INTEGER NOT NULL,"
	" record TEXT NOT NULL, result TEXT NOT NULL,"
	" PRIMARY KEY(machine, seq)) WITHOUT ROWID;"
	"CREATE TABLE snapshots(machine INTEGER NOT NULL, name TEXT NOT NULL,"
	" seq INTEGER NOT NULL, format INTEGER NOT NULL, blob BLOB NOT NULL,"
	" PRIMARY KEY(machine, name));",
	/* 1 → 2: tenants; every machine belongs to one */
	"CREATE TABLE tenants(id TEXT PRIMARY KEY, key_hash TEXT NOT NULL,"
	" quotas TEXT NOT NULL) WITHOUT ROWID;"
	"ALTER TABLE machines ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';",
};
_Static_assert(sizeof(pst__migrations) / sizeof(pst__migrations[0]) ==
	       PST_SCHEMA_VERSION, "one migration per schema version");

static int pst__fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int pst__fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

const char *pst_path(const struct pst_store *st)
{
	return st->path;
}

/* Runs sql (no rows wanted); 0 or -1 with err. */
static int pst__exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	pst__fail(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

/* One integer from sql; 0 (found), 1 (no row) or -1 with err. */
static int pst__int(sqlite3 *db, const char *sql, int64_t *out, char *err,
		    size_t errlen)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return pst__fail(err, errlen, "%s", sqlite3_errmsg(db));
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(s, 0);
	else if (rc != SQLITE_DONE)
		pst__fail(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

/*
 * Step 1: the header.  Returns 1 = new (absent or empty), 0 = ours (or
 * our own empty first start, decided later), -1 = refused.
 */
static int pst__header(const char *path, uint32_t *app_id, char *err,
		       size_t errlen)
{
	unsigned char h[100];
	struct stat sb;

	if (stat(path, &sb)) {
		if (errno == ENOENT)
			return 1;
		return pst__fail(err, errlen, "%s: %s", path, strerror(errno));
	}
	if (!S_ISREG(sb.st_mode))
		return pst__fail(err, errlen, "%s is not a regular file", path);
	if (sb.st_size == 0)
		return 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pst__fail(err, errlen, "%s: %s", path, strerror(errno));
	ssize_t n = read(fd, h, sizeof(h));
	close(fd);
	if (n < (ssize_t)sizeof(h) || memcmp(h, "SQLite format 3", 16) != 0)
		return pst__fail(err, errlen, "%s is not an sqlite database "
				 "(corrupt, or another program's file); refusing "
				 "to open it — move it away or use another --data",
				 path);
	/* A header application_id other than 0 and ours is foreign for sure
	 * (ours reaches the file header only at the first checkpoint: until
	 * then it lives in the WAL, so 0 is decided by pst__inspect). */
	uint32_t id = (uint32_t)h[68] << 24 | (uint32_t)h[69] << 16 |
		      (uint32_t)h[70] << 8 | h[71];
	if (id != PST_APPLICATION_ID && id != 0)
		return pst__fail(err, errlen, "%s is another program's sqlite "
				 "database (application_id 0x%08x, mmsimd's is "
				 "0x%08x); refusing to open it", path, id,
				 PST_APPLICATION_ID);
	*app_id = id;
	return 0;
}

/*
 * Step 2: a read-only look.  *version receives the schema version (0 for
 * our own empty file).  Returns 0 or -1 (refused).
 */
static int pst__inspect(const char *path, uint32_t app_id, int64_t *version,
			char *err, size_t errlen)
{
	sqlite3 *db = NULL;
	char sub[512];
	int64_t ntables = 0;
	int ret = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		pst__fail(err, errlen, "%s: cannot open: %s", path,
			  db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	if (pst__int(db, "SELECT count(*) FROM sqlite_master", &ntables, sub,
		     sizeof(sub)) != 0) {
		pst__fail(err, errlen, "%s is corrupt or not an sqlite database "
			  "(%s); refusing to open it", path, sub);
		goto out;
	}
	int64_t id = 0;
	if (pst__int(db, "PRAGMA application_id", &id, sub, sizeof(sub)) != 0) {
		pst__fail(err, errlen, "%s is corrupt (%s); refusing to open it",
			  path, sub);
		goto out;
	}
	app_id = (uint32_t)id;
	if (app_id != PST_APPLICATION_ID && app_id != 0) {
		pst__fail(err, errlen, "%s is another program's sqlite database "
			  "(application_id 0x%08x, mmsimd's is 0x%08x); refusing "
			  "to open it", path, app_id, PST_APPLICATION_ID);
		goto out;
	}
	if (app_id == 0) {
		if (ntables != 0) {
			pst__fail(err, errlen, "%s is another program's sqlite "
				  "database (no mmsimd application_id, %lld "
				  "tables); refusing to open it", path,
				  (long long)ntables);
			goto out;
		}
		*version = 0;
		ret = 0;
		goto out;
	}
	int rc = pst__int(db, "SELECT version FROM schema_version", version, sub,
			  sizeof(sub));
	if (rc) {
		pst__fail(err, errlen, "%s: no schema version (%s); the database "
			  "is damaged, refusing to open it", path,
			  rc == 1 ? "empty schema_version table" : sub);
		goto out;
	}
	if (*version > PST_SCHEMA_VERSION || *version < 0) {
		pst__fail(err, errlen, "%s has schema version %lld and this "
			  "mmsimd knows up to %d; refusing to open it — it was "
			  "written by a newer mmsimd", path, (long long)*version,
			  PST_SCHEMA_VERSION);
		goto out;
	}
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, NULL) != SQLITE_OK) {
		pst__fail(err, errlen, "%s is corrupt (%s); refusing to open it",
			  path, sqlite3_errmsg(db));
		goto out;
	}
	rc = sqlite3_step(s);
	const char *res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0)
					   : NULL;
	if (!res || strcmp(res, "ok") != 0) {
		pst__fail(err, errlen, "%s is corrupt (quick_check: %.200s); "
			  "refusing to open it — restore a backup or move it "
			  "away", path, res ? res : sqlite3_errmsg(db));
		sqlite3_finalize(s);
		goto out;
	}
	sqlite3_finalize(s);
	ret = 0;
out:
	sqlite3_close(db);
	return ret;
}

/* Step 3 helper: schema version → PST_SCHEMA_VERSION, one txn per step. */
static int pst__migrate(sqlite3 *db, int64_t from, char *err, size_t errlen)
{
	char sql[128], sub[512];

	for (int64_t v = from; v < PST_SCHEMA_VERSION; v++) {
		if (pst__exec(db, "BEGIN IMMEDIATE", sub, sizeof(sub)))
			goto fail;
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version=%lld;"
			 "PRAGMA application_id=%d", (long long)v + 1,
			 PST_APPLICATION_ID);
		if (pst__exec(db, pst__migrations[v], sub, sizeof(sub)) ||
		    pst__exec(db, sql, sub, sizeof(sub)) ||
		    pst__exec(db, "COMMIT", sub, sizeof(sub))) {
			pst__exec(db, "ROLLBACK", sql, sizeof(sql));
			goto fail;
		}
		continue;
fail:
		return pst__fail(err, errlen, "migrating the schema from version "
				 "%lld: %s", (long long)v, sub);
	}
	return 0;
}

static int pst__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **s,
			char *err, size_t errlen)
{
	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, s, NULL) ==
	    SQLITE_OK)
		return 0;
	return pst__fail(err, errlen, "%s", sqlite3_errmsg(db));
}

int pst_open(const char *dir, struct pst_store **out, char *err, size_t errlen)
{
	struct pst_store *st;
	uint32_t app_id = 0;
	int64_t version = 0;
	char sub[512];

	st = calloc(1, sizeof(*st));
	if (!st)
		return pst__fail(err, errlen, "out of memory");
	snprintf(st->path, sizeof(st->path), "%s/%s", dir, PST_DB_NAME);
	int fresh = pst__header(st->path, &app_id, err, errlen);
	if (fresh < 0)
		goto err_free;
	if (!fresh && pst__inspect(st->path, app_id, &version, err, errlen))
		goto err_free;

	if (sqlite3_open_v2(st->path, &st->w, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		pst__fail(err, errlen, "%s: cannot open: %s", st->path,
			  st->w ? sqlite3_errmsg(st->w) : "out of memory");
		goto err_close;
	}
	/* Another process holding the write lock (a backup, an admin's
	 * sqlite3 shell) stalls commits this long before they fail (503). */
	sqlite3_busy_timeout(st->w, PST_BUSY_MS);
	int64_t dummy;
	if (pst__int(st->w, "PRAGMA journal_mode=WAL", &dummy, sub, sizeof(sub)) < 0 ||
	    pst__exec(st->w, "PRAGMA synchronous=FULL", sub, sizeof(sub)) ||
	    pst__migrate(st->w, version, sub, sizeof(sub))) {
		pst__fail(err, errlen, "%s: %s", st->path, sub);
		goto err_close;
	}
	if (version < PST_SCHEMA_VERSION &&
	    pst__exec(st->w, "PRAGMA wal_checkpoint(TRUNCATE)", sub, sizeof(sub))) {
		pst__fail(err, errlen, "%s: %s", st->path, sub);
		goto err_close;
	}
	if (pst__prepare(st->w, "INSERT INTO operations(machine, seq, status, "
			 "record, result) VALUES(?1, ?2, ?3, ?4, ?5)",
			 &st->ins_op, sub, sizeof(sub)) ||
	    pst__prepare(st->w, "INSERT INTO machines(id, name, config, "
			 "created_seq, tenant) VALUES(?1, ?2, ?3, ?4, ?5)",
			 &st->ins_machine, sub, sizeof(sub)) ||
	    pst__prepare(st->w, "INSERT OR REPLACE INTO tenants(id, key_hash, "
			 "quotas) VALUES(?1, ?2, ?3)", &st->put_tenant, sub,
			 sizeof(sub)) ||
	    pst__prepare(st->w, "DELETE FROM tenants WHERE id = ?1",
			 &st->del_tenant, sub, sizeof(sub)) ||
	    pst__prepare(st->w, "INSERT INTO meta(key, value) VALUES("
			 "'next_machine', ?1) ON CONFLICT(key) DO UPDATE SET "
			 "value = max(value, excluded.value)", &st->set_next,
			 sub, sizeof(sub)) ||
	    pst__prepare(st->w, "DELETE FROM operations WHERE machine = ?1",
			 &st->del_ops, sub, sizeof(sub)) ||
	    pst__prepare(st->w, "DELETE FROM machines WHERE id = ?1",
			 &st->del_machine, sub, sizeof(sub))) {
		pst__fail(err, errlen, "%s: %s", st->path, sub);
		goto err_close;
	}
	if (sqlite3_open_v2(st->path, &st->r, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		pst__fail(err, errlen, "%s: cannot open for reading: %s", st->path,
			  st->r ? sqlite3_errmsg(st->r) : "out of memory");
		goto err_close;
	}
	sqlite3_busy_timeout(st->r, 5000);
	*out = st;
	return 0;

err_close:
	pst_close(st);
	return -1;
err_free:
	free(st);
	return -1;
}

void pst_close(struct pst_store *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->ins_op);
	sqlite3_finalize(st->ins_machine);
	sqlite3_finalize(st->set_next);
	sqlite3_finalize(st->del_ops);
	sqlite3_finalize(st->del_machine);
	sqlite3_finalize(st->put_tenant);
	sqlite3_finalize(st->del_tenant);
	sqlite3_close(st->r);
	sqlite3_close(st->w);
	free(st);
}

void pst_fail_commits(struct pst_store *st, int n)
{
	atomic_store(&st->fail_commits, n);
}

/* Steps a bound statement to completion and resets it. */
static int pst__run(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int pst_commit(struct pst_store *st, const struct pst_entry *v, size_t n,
	       char *err, size_t errlen)
{
	sqlite3 *db = st->w;
	char sub[256];
	int rc = SQLITE_OK;

	int f = atomic_load(&st->fail_commits);
	if (f > 0) {
		atomic_fetch_sub(&st->fail_commits, 1);
		return pst__fail(err, errlen, "database or disk is full "
				 "(injected by the test hook)");
	}
	if (pst__exec(db, "BEGIN IMMEDIATE", sub, sizeof(sub)))
		return pst__fail(err, errlen, "%s", sub);
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++) {
		const struct pst_entry *e = &v[i];
		sqlite3_stmt *s;
		switch (e->kind) {
		case PST_OP:
			s = st->ins_op;
			sqlite3_bind_int64(s, 1, (sqlite3_int64)e->machine);
			sqlite3_bind_int64(s, 2, (sqlite3_int64)e->seq);
			sqlite3_bind_int(s, 3, e->status);
			sqlite3_bind_text(s, 4, e->record, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 5, e->result, -1, SQLITE_STATIC);
			rc = pst__run(s);
			break;
		case PST_MACHINE_CREATE:
			s = st->ins_machine;
			sqlite3_bind_int64(s, 1, (sqlite3_int64)e->machine);
			if (e->result)
				sqlite3_bind_text(s, 2, e->result, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 3, e->record, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 4, (sqlite3_int64)e->seq);
			sqlite3_bind_text(s, 5, e->tenant ? e->tenant : "default",
					  -1, SQLITE_STATIC);
			rc = pst__run(s);
			if (rc == SQLITE_OK) {
				sqlite3_bind_int64(st->set_next, 1,
						   (sqlite3_int64)e->machine + 1);
				rc = pst__run(st->set_next);
			}
			break;
		case PST_MACHINE_DELETE:
			sqlite3_bind_int64(st->del_ops, 1, (sqlite3_int64)e->machine);
			rc = pst__run(st->del_ops);
			if (rc == SQLITE_OK) {
				sqlite3_bind_int64(st->del_machine, 1,
						   (sqlite3_int64)e->machine);
				rc = pst__run(st->del_machine);
			}
			break;
		case PST_TENANT_PUT:
			s = st->put_tenant;
			sqlite3_bind_text(s, 1, e->tenant, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 2, e->result, -1, SQLITE_STATIC);
			sqlite3_bind_text(s, 3, e->record, -1, SQLITE_STATIC);
			rc = pst__run(s);
			break;
		case PST_TENANT_DELETE:
			sqlite3_bind_text(st->del_tenant, 1, e->tenant, -1,
					  SQLITE_STATIC);
			rc = pst__run(st->del_tenant);
			break;
		}
	}
	if (rc == SQLITE_OK && pst__exec(db, "COMMIT", sub, sizeof(sub)) == 0)
		return 0;
	if (rc != SQLITE_OK)
		snprintf(sub, sizeof(sub), "%s", sqlite3_errmsg(db));
	if (!sqlite3_get_autocommit(db)) {
		char ignore[64];
		pst__exec(db, "ROLLBACK", ignore, sizeof(ignore));
	}
	return pst__fail(err, errlen, "%s", sub);
}

/* ---- reading ------------------------------------------------------------------ */

const char *pst_reader_error(const struct pst_store *st)
{
	return sqlite3_errmsg(st->r);
}

int pst_next_machine(struct pst_store *st, uint64_t *next)
{
	char sub[256];
	int64_t v = 1;
	int rc = pst__int(st->r, "SELECT value FROM meta WHERE key = "
			  "'next_machine'", &v, sub, sizeof(sub));
	if (rc < 0)
		return -1;
	*next = v < 1 ? 1 : (uint64_t)v;
	return 0;
}

static int pst__machines(struct pst_store *st, const char *sql, int64_t id,
			 int (*fn)(void *, const struct pst_machine_row *),
			 void *arg, bool *found)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(st->r, sql, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (id)
		sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pst_machine_row row = {
			.id = (uint64_t)sqlite3_column_int64(s, 0),
			.name = (const char *)sqlite3_column_text(s, 1),
			.config = (const char *)sqlite3_column_text(s, 2),
			.created_seq = (uint64_t)sqlite3_column_int64(s, 3),
			.tenant = (const char *)sqlite3_column_text(s, 4),
		};
		*found = true;
		if (!row.config || !row.tenant) {
			ret = -1;
			break;
		}
		ret = fn(arg, &row);
		if (ret)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = -1;
	sqlite3_finalize(s);
	return ret;
}

int pst_machines_each(struct pst_store *st,
		      int (*fn)(void *, const struct pst_machine_row *),
		      void *arg)
{
	bool found = false;
	return pst__machines(st, "SELECT id, name, config, created_seq, tenant "
			     "FROM machines ORDER BY id", 0, fn, arg, &found);
}

int pst_machine_get(struct pst_store *st, uint64_t id,
		    int (*fn)(void *, const struct pst_machine_row *),
		    void *arg)
{
	bool found = false;
	int rc = pst__machines(st, "SELECT id, name, config, created_seq, tenant "
			       "FROM machines WHERE id = ?1", (int64_t)id, fn, arg,
			       &found);
	return rc < 0 ? -1 : found ? 1 : 0;
}

int pst_tenants_each(struct pst_store *st,
		     int (*fn)(void *, const struct pst_tenant_row *), void *arg)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(st->r, "SELECT id, key_hash, quotas FROM tenants "
			       "ORDER BY id", -1, &s, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct pst_tenant_row row = {
			.id = (const char *)sqlite3_column_text(s, 0),
			.key_hash = (const char *)sqlite3_column_text(s, 1),
			.quotas = (const char *)sqlite3_column_text(s, 2),
		};
		if (!row.id || !row.key_hash || !row.quotas) {
			ret = -1;
			break;
		}
		ret = fn(arg, &row);
		if (ret)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = -1;
	sqlite3_finalize(s);
	return ret;
}

int pst_ops_open(struct pst_store *st, uint64_t machine, uint64_t after,
		 struct pst_cursor **out)
{
	struct pst_cursor *c = calloc(1, sizeof(*c));
	if (!c)
		return -1;
	const char *sql = machine
		? "SELECT machine, seq, status, record, result FROM operations "
		  "WHERE machine = ?1 AND seq > ?2 ORDER BY seq"
		: "SELECT machine, seq, status, record, result FROM operations "
		  "WHERE seq > ?2 ORDER BY machine, seq";
	if (sqlite3_prepare_v2(st->r, sql, -1, &c->st, NULL) != SQLITE_OK) {
		free(c);
		return -1;
	}
	if (machine)
		sqlite3_bind_int64(c->st, 1, (sqlite3_int64)machine);
	sqlite3_bind_int64(c->st, 2, (sqlite3_int64)after);
	*out = c;
	return 0;
}

int pst_ops_next(struct pst_cursor *c, struct pst_op_row *row)
{
	int rc = sqlite3_step(c->st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return -1;
	row->machine = (uint64_t)sqlite3_column_int64(c->st, 0);
	row->seq = (uint64_t)sqlite3_column_int64(c->st, 1);
	row->status = sqlite3_column_int(c->st, 2);
	row->record = (const char *)sqlite3_column_text(c->st, 3);
	row->result = (const char *)sqlite3_column_text(c->st, 4);
	return row->record && row->result ? 1 : -1;
}

void pst_ops_close(struct pst_cursor *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->st);
	free(c);
}
