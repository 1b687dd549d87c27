/*
 * srv.h — the parts of mmsimd (srv_ prefix) and how they fit:
 *
 *   main.c      flags/env → srv_options, wiring, exit status
 *   options.c   parsing and validating the SPEC §7 flags and env variables
 *   http.c      the libuv loop driving libmicrohttpd (external epoll), the
 *               two-call handler idiom, body collection and limits, replies,
 *               graceful shutdown (shared/notes/http-loop.md)
 *   body.c      request bodies: content type, nesting depth, JSON → object
 *   routes.c    the routing table and the handlers; the OpenAPI route list
 *   machines.c  the in-memory machine table (ids "m-1", "m-2", …)
 *   log.c       the JSON access log
 *   journal.c   the durable journal: group commit on the libuv threadpool,
 *               recovery at start, rebuild after a failed commit
 *   tenants.c   tenants, keys (libsodium), quotas, the per-tenant rate limit
 *   events.c    GET …/events: Server-Sent Events from the engine's ring
 *               (MHD suspend/resume), and ?since= as JSON
 *   metrics.c   GET /metrics in the Prometheus text format
 *
 * Threading: everything runs on the loop thread; the engine is touched only
 * there (SPEC: engine has no threads).
 */
#ifndef MMSIM_SERVER_SRV_H
#define MMSIM_SERVER_SRV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/mm.h"
#include "persistence/pst.h"

#define SRV_VERSION "0.1.0"

/* ---- options (options.c) --------------------------------------------------- */
enum srv_durability { SRV_DURABILITY_STRICT, SRV_DURABILITY_RELAXED };

struct srv_options {
	char host[256];          /* numeric address or "localhost" */
	unsigned port;           /* 0 = any free port */
	char data_dir[1024];
	char admin_key_file[1024]; /* "" = none (single-tenant) */
	enum srv_durability durability;
	int threads;             /* libuv threadpool size */
	size_t max_body;         /* bytes */
	char log_path[1024];     /* "-" = stderr, "" = off */
	size_t max_batch;        /* records per :batch */
	size_t max_machines;
	uint64_t max_memory;     /* simulated bytes over all machines */
	unsigned conn_timeout;   /* seconds of idleness before a close */
	/* tenants (SPEC §5) */
	uint64_t tenant_max_machines;
	uint64_t tenant_max_memory;  /* simulated bytes */
	uint64_t rate;           /* requests/s per tenant, 0 = unlimited */
	uint64_t rate_burst;
	int max_json_depth;
	/* connections */
	unsigned max_connections;
	unsigned max_conn_per_ip;    /* 0 = off (--behind-proxy) */
	bool behind_proxy;
	unsigned header_timeout; /* seconds to send a request's headers */
	/* events */
	unsigned sse_max_lag;    /* events a subscriber may fall behind */
	unsigned sse_heartbeat;  /* seconds between heartbeat comments */
	unsigned max_subscribers;
};

/*
 * Fills o from the environment (MMSIM_LISTEN, …) and then argv (flags win).
 * Returns 0, 1 when --help was asked (usage printed to stdout), or -1 with
 * a message in err (the caller prints it and exits 2).
 */
int srv_options_parse(struct srv_options *o, int argc, char **argv, char *err,
		      size_t errlen);
void srv_options_usage(FILE *f);

/* ---- machines (machines.c) -------------------------------------------------- */
#define SRV_NAME_MAX 63

#define SRV_TENANT_ID_MAX 63

struct srv_machine {
	uint64_t num;            /* the N of "m-N" */
	char id[24];
	char tenant[SRV_TENANT_ID_MAX + 1]; /* its owner */
	char *name;              /* NULL = none */
	struct mm_machine *mm;
	uint64_t seq;            /* operations applied (200 and 422) */
};

/* Machines sorted by num (ids are assigned in increasing order). */
struct srv_machines {
	struct srv_machine **v;
	size_t n, cap;
	uint64_t next;           /* next num to assign (single-tenant) */
	bool random_ids;         /* multi-tenant: random nums */
	uint64_t memory;         /* simulated bytes of all machines */
	size_t max;
	uint64_t max_memory;
};

void srv_machines_init(struct srv_machines *t, size_t max, uint64_t max_memory);
void srv_machines_free(struct srv_machines *t);
/*
 * Creates a machine from cfg.  Returns 0 and *out (owned by the table), or
 * -MM_EINVAL (engine rejected the config, reason in err), -MM_ENOSPC (a
 * server limit: count or memory, reason in err) or -MM_ENOMEM (host).
 */
int srv_machines_create(struct srv_machines *t, const char *tenant,
			const char *name, const struct mm_config *cfg,
			struct srv_machine **out, char *err, size_t errlen);
/* The same with a given number (recovery, rebuild): inserted in order,
 * not bound by the limits; -MM_EEXIST if the number is taken.  t->next
 * stays above it. */
int srv_machines_create_num(struct srv_machines *t, uint64_t num,
			    const char *tenant, const char *name, const struct mm_config *cfg,
			    struct srv_machine **out, char *err, size_t errlen);
/* The machine with this id owned by tenant (NULL = any owner), or NULL:
 * another tenant's machine is not found, exactly like one never made. */
struct srv_machine *srv_machines_get(const struct srv_machines *t,
				     const char *tenant, const char *id);
/* The machine numbered num, or NULL. */
struct srv_machine *srv_machines_by_num(const struct srv_machines *t,
					uint64_t num);
/* Machines and simulated bytes owned by tenant. */
void srv_machines_usage(const struct srv_machines *t, const char *tenant,
			size_t *count, uint64_t *memory);
/* Destroys machine id; -MM_ENOENT if there is none. */
int srv_machines_delete(struct srv_machines *t, const char *id);
/* Index of the first machine whose num is greater than after. */
size_t srv_machines_after(const struct srv_machines *t, uint64_t after);
/* {"id","name","config","seq"}: a new reference. */
json_t *srv_machine_json(const struct srv_machine *sm);

/* ---- requests and responses (http.c) ---------------------------------------- */
struct MHD_Connection;

struct srv_request {
	const char *method;       /* "GET", "POST", … (HEAD is served as GET) */
	const char *path;         /* decoded path, no query string */
	const char *body;         /* NUL-terminated; NULL when empty */
	size_t body_len;
	const char *content_type; /* header value or NULL */
	const char *accept;       /* header value or NULL */
	const char *id;           /* X-Request-Id */
	const char *authorization; /* header value or NULL */
	int max_depth;            /* JSON nesting limit (0 = the default) */
	struct MHD_Connection *conn;
};

struct srv_response {
	int status;
	char *body;               /* malloc'd; owned by the response */
	size_t len;
	const char *content_type;
	char allow[64];           /* Allow header for 405 ("" = none) */
	char location[96];        /* Location header ("" = none) */
	char retry_after[16];
	bool www_authenticate;    /* 401: WWW-Authenticate: Bearer */
	int route;                /* 1 + index of the matched route in
				   * app->routes; 0 = none (metrics) */
	const char *tenant;       /* the caller's tenant id (access log) */
	struct srv_sub *sse;      /* an event stream to serve (events.c) */
};

/* Query parameter key of the request, or NULL. */
const char *srv_query(const struct srv_request *r, const char *key);
/*
 * Checks that every query parameter is in allowed (NULL-terminated);
 * returns NULL or the first unknown key (valid until the request ends).
 */
const char *srv_query_unknown(const struct srv_request *r,
			      const char *const *allowed);

/* Sets res to a JSON answer; body is stolen (NULL → 500). */
void srv_reply_json(struct srv_response *res, int status, json_t *body);
/* Sets res to a text answer (copied). */
void srv_reply_text(struct srv_response *res, int status, const char *ctype,
		    const char *text, size_t len);
/* Sets res to the SPEC §4 error shape; inner is stolen. */
void srv_reply_error_json(struct srv_response *res, json_t *inner);
void srv_reply_error(struct srv_response *res, int status, json_t *details,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- request bodies (body.c) -------------------------------------------------- */
#define SRV_JSON_MAX_DEPTH 64

/*
 * Decodes the request body as a JSON object (empty body → {}).  Checks the
 * content type (415), the nesting depth and the syntax (400), and that the
 * top level is an object (400).  Returns the object (new reference) or NULL
 * with res set to the error.
 */
json_t *srv_body_object(const struct srv_request *req, struct srv_response *res);
/* Nesting depth of JSON text (brackets outside strings), stops past limit. */
int srv_json_depth(const char *s, size_t len, int limit);

/* ---- the journal (journal.c) ------------------------------------------------------ */
struct srv_journal;
struct srv_app;

/*
 * Called on the loop thread for every request that waited on a group
 * commit: ok = the commit is durable; otherwise err says why (503).
 */
typedef void (*srv_journal_resume_fn)(void *waiter, bool ok, const char *err);

/* Creates the journal over an open store (owned by the caller). */
struct srv_journal *srv_journal_new(struct pst_store *st,
				    enum srv_durability mode);
void srv_journal_free(struct srv_journal *j);
/* The app whose machines a failed commit rebuilds. */
void srv_journal_set_app(struct srv_journal *j, struct srv_app *app);
/* Closes the journal's loop handles (before the loop ends). */
void srv_journal_stop(struct srv_journal *j);
/* Binds the journal to the loop: commits go to its threadpool; resume is
 * called per waiter and after() once per finished commit. */
void srv_journal_start(struct srv_journal *j, void *loop,
		       srv_journal_resume_fn resume, void (*after)(void *),
		       void *after_arg);
/* Entries appended so far (a request compares before and after). */
uint64_t srv_journal_appended(const struct srv_journal *j);
/* Appends: 0, or -1 (host out of memory). */
int srv_journal_op(struct srv_journal *j, uint64_t machine, uint64_t seq,
		   const json_t *record, int status, const json_t *result);
int srv_journal_create(struct srv_journal *j, const struct srv_machine *sm);
int srv_journal_delete(struct srv_journal *j, uint64_t machine);
/* Tenant rows: create/replace (hash hex, quotas given) and delete. */
int srv_journal_tenant_put(struct srv_journal *j, const char *id,
			   const char *hash_hex, const json_t *quotas);
int srv_journal_tenant_delete(struct srv_journal *j, const char *id);
/* The request waiter waits for the commit of the entries it appended
 * (those after the srv_journal_appended() value since; strict mode);
 * starts a commit if none is running.  0 or -1 (out of memory). */
int srv_journal_wait(struct srv_journal *j, void *waiter, uint64_t since);
/* Resumes every waiter as failed (shutdown deadline: MHD must not be
 * stopped with suspended connections). */
void srv_journal_fail_waiters(struct srv_journal *j, const char *why);
/* Drops a recovery in progress (shutdown during recovery). */
void srv_journal_recover_abort(struct srv_app *app);
/* Commits done, entries committed, commits failed. */
void srv_journal_stats(const struct srv_journal *j, uint64_t *batches,
		       uint64_t *rows, uint64_t *failures);
/* No commit running and nothing pending. */
bool srv_journal_idle(const struct srv_journal *j);
/* Commits what is pending on the calling thread (at exit, no job running).
 * Returns 0 or -1 (message on stderr). */
int srv_journal_flush_sync(struct srv_journal *j);
/*
 * Recovery, a slice at a time: machines from the store, then their
 * journals replayed through api_op_apply.  Returns 1 (more to do), 0
 * (done) or -1 (error, message in err).
 */
int srv_journal_recover(struct srv_app *app, size_t budget, char *err,
			size_t errlen);
/*
 * The NDJSON journal of sm (SPEC §6): committed lines from the store, then
 * the ones still waiting for their commit.  Returns a malloc'd text and its
 * length, or NULL.
 */
char *srv_journal_ndjson(struct srv_journal *j, const struct srv_machine *sm,
			 size_t *len);

/* ---- tenants (tenants.c) ------------------------------------------------------------ */
#define SRV_SECRET_LEN 32
#define SRV_HASH_LEN 32

struct srv_quotas {
	uint64_t machines, memory;
	double rps, burst;        /* rps 0 = unlimited */
};

struct srv_tenant {
	char id[SRV_TENANT_ID_MAX + 1];
	unsigned char hash[SRV_HASH_LEN]; /* keyed hash of its key */
	json_t *given;            /* the quotas the admin set (others: flags) */
	struct srv_quotas q;      /* in force */
	double tokens;            /* rate limit bucket */
	uint64_t t_last;          /* ns, uv_hrtime */
};

/* Sorted by id. */
struct srv_tenants {
	const struct srv_options *opt;
	struct srv_tenant **v;
	size_t n, cap;
	bool multi;               /* an admin key is configured */
	unsigned char secret[SRV_SECRET_LEN];
	unsigned char admin_hash[SRV_HASH_LEN];
};

enum srv_who { SRV_WHO_NONE, SRV_WHO_BAD, SRV_WHO_TENANT, SRV_WHO_ADMIN };

/* [a-z0-9-]{1,63} */
bool srv_tenant_id_ok(const char *id);
/* Single-tenant: the "default" tenant.  Multi-tenant: reads the admin key
 * file and DATA/server.secret (created if absent).  0 or -1 with err. */
int srv_tenants_init(struct srv_tenants *t, const struct srv_options *o,
		     char *err, size_t errlen);
void srv_tenants_free(struct srv_tenants *t);
struct srv_tenant *srv_tenant_get(const struct srv_tenants *t, const char *id);
/* Index of the first tenant whose id sorts after "after". */
size_t srv_tenants_after(const struct srv_tenants *t, const char *after);
/* Adds or updates tenant id (hash_hex NULL = keep the hash; quotas stolen,
 * NULL = none given).  NULL when out of memory. */
struct srv_tenant *srv_tenant_add(struct srv_tenants *t, const char *id,
				  const char *hash_hex, json_t *quotas);
void srv_tenant_remove(struct srv_tenants *t, const char *id);
/* A fresh key for tn: key (shown once) and the hex of its hash (stored);
 * tn's hash is replaced, so the old key stops working at once. */
void srv_tenant_new_key(const struct srv_tenants *t, struct srv_tenant *tn,
			char *key, size_t keylen, char *hash_hex);
/* Who an Authorization header is; *out the tenant for SRV_WHO_TENANT
 * (single-tenant: always the default tenant). */
enum srv_who srv_tenants_auth(const struct srv_tenants *t, const char *header,
			      struct srv_tenant **out);
/* Takes a token: 0, or -1 with *retry the seconds to wait. */
int srv_tenant_take(struct srv_tenant *tn, uint64_t now_ns, unsigned *retry);
/* {"machines","memory","requests_per_second","burst"} validated into a new
 * object (*out); -1 with err. */
int srv_quotas_decode(const json_t *in, json_t **out, char *err, size_t errlen);
json_t *srv_tenant_json(const struct srv_tenant *tn, size_t machines,
			uint64_t memory);

/* ---- metrics (metrics.c) ------------------------------------------------------------- */
#define SRV_LAT_BUCKETS 12
#define SRV_MAX_STATUSES 12

struct srv_route_stats {
	uint64_t status_count[SRV_MAX_STATUSES];
	int status[SRV_MAX_STATUSES];
	uint64_t lat[SRV_LAT_BUCKETS + 1]; /* cumulative at render; + Inf */
	double lat_sum;
	uint64_t n;
};

struct srv_metrics {
	struct srv_route_stats *routes;   /* [nroutes + 1]: last = no route */
	size_t nroutes;
	uint64_t conns_open, conns_total, conns_refused, header_timeouts;
	uint64_t sse_open, sse_total, sse_dropped;
	uint64_t commit_lat[SRV_LAT_BUCKETS + 1];
	double commit_sum;
	uint64_t commit_n;
	uint64_t auth_failures, rate_limited;
};

/* Counts one answered request. */
int srv_metrics_init(struct srv_metrics *mt, size_t nroutes);
void srv_metrics_free(struct srv_metrics *mt);
/* Counts one answered request (route: srv_response.route). */
void srv_metrics_request(struct srv_metrics *mt, int route, int status,
			 double seconds);
void srv_metrics_commit(struct srv_metrics *mt, double seconds);

/* ---- the application (routes.c) ------------------------------------------------ */
struct srv_route;
struct srv_sub;
struct srv_sse;

struct srv_app {
	const struct srv_options *opt;
	struct srv_machines machines;
	struct srv_route *routes;  /* fixed routes, then one per operation */
	size_t nroutes;
	json_t *openapi;           /* generated once at start */
	bool shutting_down;
	struct pst_store *store;   /* the database (main.c owns it) */
	struct srv_journal *journal;
	bool recovering;           /* /readyz 503, machine routes 503 */
	void *recover_state;       /* journal.c's cursor while recovering */
	bool test_hooks;           /* MMSIM_TEST_HOOKS=1: POST /v1/test:… */
	struct srv_tenants tenants;
	struct srv_metrics metrics;
	struct srv_sse *sse;       /* events.c: the subscribers */
};

/* The pattern of route index i ("/v1/machines/{m}"). */
const char *srv_route_pattern(const struct srv_app *app, size_t i);
const char *srv_route_method(const struct srv_app *app, size_t i);
/* GET /metrics: the Prometheus text (malloc'd) and its length, or NULL. */
char *srv_metrics_text(struct srv_app *app, size_t *len);

int srv_app_init(struct srv_app *app, const struct srv_options *opt);
void srv_app_free(struct srv_app *app);
/* Routes one complete request; always fills res. */
void srv_route(struct srv_app *app, const struct srv_request *req,
	       struct srv_response *res);

/* ---- events (events.c) ------------------------------------------------------------ */
/* Creates the subscriber table; NULL when out of memory. */
struct srv_sse *srv_sse_new(struct srv_app *app);
void srv_sse_free(struct srv_sse *s);
/* GET …/{m}/events: an SSE subscription (res->sse) or, with ?since=, JSON. */
void srv_events_route(struct srv_app *app, const struct srv_request *req,
		      struct srv_machine *m, struct srv_response *res);
/* After requests ran: wakes subscribers with new events, drops slow ones.
 * Returns true when a connection was resumed (the caller runs MHD, P2). */
bool srv_sse_publish(struct srv_sse *s);
/* Machine num is gone (deleted, its tenant deleted, or being rebuilt): its
 * subscribers end with a final event. */
void srv_sse_machine_gone(struct srv_sse *s, uint64_t num, const char *why);
/* Heartbeat comments; closes dropped readers that did not take their final
 * event in time.  Returns true when something was resumed. */
bool srv_sse_tick(struct srv_sse *s);
/* Shutdown: every stream ends. */
bool srv_sse_shutdown(struct srv_sse *s);
/* The MHD response of a subscription (http.c queues it). */
struct MHD_Response *srv_sse_response(struct srv_sub *sub);
unsigned srv_sse_count(const struct srv_sse *s);

/* ---- the access log (log.c) ------------------------------------------------------ */
/* Opens the log: "-" = stderr, "" = off.  Returns 0 or -1 (errno set). */
int srv_log_open(const char *path);
void srv_log_close(void);
/* One JSON line per answered request. */
void srv_log_access(const char *id, const char *method, const char *path,
		    const char *tenant, int status, size_t bytes, uint64_t usec);
/* A JSON line for a server event ("listening", "shutdown", …). */
void srv_log_event(const char *event, const char *detail);

/* ---- the HTTP server (http.c) ----------------------------------------------------- */
/*
 * Binds the listening socket, prints "listening on http://HOST:PORT" on
 * stdout, serves until SIGINT/SIGTERM and a drained shutdown.  Returns 0 on
 * a clean stop, -1 when the server could not start (message on stderr).
 */
int srv_http_run(struct srv_app *app);

#endif
