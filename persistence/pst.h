/*
 * pst.h — the sqlite store of mmsimd (SPEC §6), prefix pst_.
 *
 * One database file, DIR/mmsim.db, in WAL mode with synchronous=FULL, holds
 *
 *   schema_version(version)                  one row: the schema of the file
 *   meta(key, value)                         next_machine: ids never reused
 *   machines(id, name, config, created_seq, tenant)
 *                                            id = the N of "m-N"; tenant
 *                                            its owner ("default" when
 *                                            single-tenant)
 *   tenants(id, key_hash, quotas)            key_hash: hex of the keyed
 *                                            hash of the key (never the
 *                                            key); quotas: a JSON object
 *   operations(machine, seq, status, record, result)
 *                                            the journal: PRIMARY KEY
 *                                            (machine, seq), seq from 1;
 *                                            status 200 (result = the
 *                                            result) or 422 (result = the
 *                                            inner error object)
 *   snapshots(machine, name, seq, format, blob)   (not written yet)
 *
 * The file is identified by PRAGMA application_id = PST_APPLICATION_ID; a
 * file that is not sqlite, is another program's sqlite database, is newer
 * than this build or fails sqlite's quick_check is refused with a message
 * and left byte-for-byte untouched.  Older schemas are migrated in code
 * (pst__migrations, one step per version, each in its own transaction).
 *
 * Two connections: the WRITER is used by pst_commit() only — on the libuv
 * threadpool, by one job at a time (the server's committer serialises it);
 * the READER (read-only) is used by the loop thread for recovery and
 * GET …/journal.  WAL lets the reader run beside a commit; it sees only
 * committed transactions.
 */
#ifndef MMSIM_PERSISTENCE_PST_H
#define MMSIM_PERSISTENCE_PST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PST_APPLICATION_ID 0x6d6d7369 /* "mmsi" */
#define PST_SCHEMA_VERSION 2 /* 2: tenants, machines.tenant */
#define PST_DB_NAME "mmsim.db"
#define PST_BUSY_MS 2000 /* a locked database fails a commit after this */

struct pst_store;

enum pst_kind {
	PST_OP,              /* one journaled operation */
	PST_MACHINE_CREATE,  /* a new machine row (and next_machine) */
	PST_MACHINE_DELETE,  /* the machine row and its journal go */
	PST_TENANT_PUT,      /* a tenant row, created or replaced */
	PST_TENANT_DELETE,   /* the tenant row goes (its machines first, by
			      * their own PST_MACHINE_DELETE entries) */
};

/* One change of a group commit.  Strings are borrowed for the call. */
struct pst_entry {
	enum pst_kind kind;
	uint64_t machine;    /* the N of "m-N" */
	uint64_t seq;        /* OP: its seq; CREATE: the created seq */
	int status;          /* OP: 200 or 422 */
	const char *record;  /* OP: the record JSON; CREATE: the config JSON */
	const char *result;  /* OP: result / error JSON; CREATE: name or NULL;
			      * TENANT_PUT: the key hash (hex) */
	const char *tenant;  /* CREATE and TENANT_*: the tenant id;
			      * TENANT_PUT: record = the quotas JSON */
};

/*
 * Opens (creating if absent) DIR/mmsim.db, validates or migrates it, and
 * prepares both connections.  Returns 0 and *out (free with pst_close), or
 * -1 with a message in err and the file untouched.
 */
int pst_open(const char *dir, struct pst_store **out, char *err, size_t errlen);
void pst_close(struct pst_store *st);
/* The database path ("DIR/mmsim.db"). */
const char *pst_path(const struct pst_store *st);

/*
 * Writes v[0..n) in one transaction (BEGIN IMMEDIATE … COMMIT, fsynced by
 * synchronous=FULL).  WRITER connection: one caller at a time.  Returns 0,
 * or -1 with the transaction rolled back and a message (sqlite's) in err.
 */
int pst_commit(struct pst_store *st, const struct pst_entry *v, size_t n,
	       char *err, size_t errlen);

/* Test hook: the next n commits fail as if the disk were full. */
void pst_fail_commits(struct pst_store *st, int n);

/* ---- reading (READER connection, the loop thread) --------------------------- */

struct pst_machine_row {
	uint64_t id;
	const char *name;        /* NULL = none */
	const char *config;      /* JSON */
	uint64_t created_seq;
	const char *tenant;
};

struct pst_tenant_row {
	const char *id, *key_hash, *quotas;
};
/* Calls fn for every tenant in id order (strings live for the call).
 * Returns 0, fn's nonzero value or -1. */
int pst_tenants_each(struct pst_store *st,
		     int (*fn)(void *arg, const struct pst_tenant_row *row),
		     void *arg);

/* The next machine number to assign (1 for an empty store). */
int pst_next_machine(struct pst_store *st, uint64_t *next);

/* Calls fn for every machine in id order; stops at fn's nonzero return.
 * Row strings live for the call only.  Returns 0, fn's value or -1. */
int pst_machines_each(struct pst_store *st,
		      int (*fn)(void *arg, const struct pst_machine_row *row),
		      void *arg);
/* The row of machine id: 1 found (fn called), 0 none, -1 error. */
int pst_machine_get(struct pst_store *st, uint64_t id,
		    int (*fn)(void *arg, const struct pst_machine_row *row),
		    void *arg);

struct pst_op_row {
	uint64_t machine, seq;
	int status;
	const char *record, *result; /* valid until the next pst_ops_next */
};

struct pst_cursor;
/* Operations of machine (0 = of every machine, by machine then seq) with
 * seq > after.  Returns 0 and *out, or -1. */
int pst_ops_open(struct pst_store *st, uint64_t machine, uint64_t after,
		 struct pst_cursor **out);
/* 1 with *row filled, 0 at the end, -1 on error. */
int pst_ops_next(struct pst_cursor *c, struct pst_op_row *row);
void pst_ops_close(struct pst_cursor *c);

/* sqlite's last message on the reader (for logs). */
const char *pst_reader_error(const struct pst_store *st);

#endif
