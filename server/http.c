/*
 * http.c — libuv drives libmicrohttpd 0.9.75 in external-epoll mode, after
 * the verified recipe of shared/notes/http-loop.md:
 *
 *   - MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, no MHD
 *     threads; MHD's epoll fd is watched by a uv_poll;
 *   - srv__run() is the ONLY caller of MHD_run; after every MHD_run the
 *     uv_timer is re-armed from MHD_get_timeout, including timeout 0 (MHD's
 *     edge-triggered epoll leaves ready connections that only the timer
 *     revisits, P3); a connection closed during the run forces one more run
 *     (P8), and a 1 s safety timer keeps the daemon from going deaf;
 *   - the two-call handler idiom for EVERY request (P1): the first call only
 *     allocates the per-request state; upload calls append to a bounded
 *     buffer; the answer is queued on the final call (*upload_data_size ==
 *     0) — except 413 for a declared Content-Length over --max-body, which is
 *     queued on the first call (P6: MHD then closes without reading the
 *     body); a chunked body over the limit is drained and answered 413 on
 *     the final call, keeping the connection usable; the per-request state
 *     is freed only in NOTIFY_COMPLETED;
 *   - CONNECTION_TIMEOUT is --idle-timeout (P11); MHD's CONNECTION_LIMIT
 *     is set well above --max-connections (P8: MHD's own limit can leave
 *     the daemon deaf) and the application enforces --max-connections
 *     itself: a connection over it is shut down as soon as MHD reports it
 *     (a connection-level refusal, no HTTP answer); the per-IP limit is
 *     MHD's (P10), off with --behind-proxy, where every client shares the
 *     proxy's address;
 *   - slowloris: MHD has no header deadline (its timeout is reset by every
 *     byte), so each connection records when it started waiting for a
 *     request's headers (opened, or its previous request completed); the
 *     1 s sweep shuts down every connection that waited longer than
 *     --header-timeout;
 *   - event streams (events.c) are callback responses that suspend when
 *     idle; after every request srv_sse_publish() resumes those with new
 *     events, and MHD is run once more (P2);
 *   - SIGINT/SIGTERM (§4): MHD_quiesce_daemon + close the listening socket,
 *     answer new requests 503 with Connection: close, wait until no request
 *     is in flight (10 s deadline), then uv_close(poll) BEFORE
 *     MHD_stop_daemon (P9), close every handle, and uv_run returns.
 *
 * Bytes the transport refuses before the application sees them: "%00" in
 * the path or a query argument stays those three characters (a decoded NUL
 * would cut the C string the router matches, so "/v1/machines/m-1%00x"
 * would answer for m-1), and a Transfer-Encoding other than chunked is 400
 * on the first call (RFC 9112 §6.3: the body length cannot be known; MHD
 * would wait for the connection timeout).
 *
 * The listening socket is opened here (so port 0 can be read back with
 * getsockname) and handed to MHD with MHD_OPTION_LISTEN_SOCKET.
 */
#include "server/srv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "api/ops.h"

#define SRV_SHUTDOWN_DEADLINE_MS 10000
#define SRV_SAFETY_MS 1000

struct srv_http {
	struct srv_app *app;
	uv_loop_t loop;
	struct MHD_Daemon *d;
	uv_poll_t poll;
	uv_timer_t timer;     /* MHD_get_timeout */
	uv_timer_t safety;    /* P8 belt and braces */
	uv_timer_t deadline;  /* shutdown deadline */
	uv_idle_t recover;    /* recovery slices while app->recovering */
	bool failed;          /* recovery failed: exit 1 */
	uv_signal_t sigterm, sigint;
	int listen_fd;
	bool conn_closed;     /* a connection closed during this MHD_run */
	bool stopping, stopped;
	uint64_t inflight;    /* requests between first call and completion */
	uint64_t next_id;
	char id_prefix[12];
	bool need_run;        /* connections were resumed inside MHD_run */
	struct srv_conn *conns; /* open connections (header deadlines) */
};

/* Per connection (MHD's socket context): waiting for a request's headers
 * since t_wait when waiting. */
struct srv_conn {
	struct srv_conn *prev, *next;
	struct MHD_Connection *c;
	uint64_t t_wait;
	bool waiting;
};

/* Per-request state, *con_cls of MHD; freed in srv__completed only. */
struct srv_req {
	uint64_t t0;
	char id[72];
	char *body;
	size_t len, cap;
	bool too_large;       /* body over --max-body: discard, answer 413 */
	bool refused;         /* arrived while shutting down: answer 503 */
	bool answered;
	/* strict durability: the answer waits for the group commit */
	bool waiting;         /* suspended, registered with the journal */
	bool commit_done, commit_ok;
	struct MHD_Connection *conn;
	struct srv_response res; /* the answer to send once committed */
	char commit_err[200];
	int route;            /* srv_response.route, for the metrics */
	char tenant[SRV_TENANT_ID_MAX + 1]; /* for the access log */
};

/* ---- the MHD side --------------------------------------------------------------- */

static void srv__run(struct srv_http *h);

static int srv__hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10
	       : -1;
}

/* MHD's unescaper for paths and query arguments: "%HH" decoded, except
 * "%00" (no NUL may reach the router).  In place; returns the length. */
static size_t srv__unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s;
	(void)cls;
	(void)c;
	for (const char *r = s; *r;) {
		int hi = r[0] == '%' ? srv__hex(r[1]) : -1;
		int lo = hi >= 0 ? srv__hex(r[2]) : -1;
		if (lo >= 0 && (hi | lo)) {
			*w++ = (char)(hi << 4 | lo);
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* Collects the query parameters of c into q (first SRV_MAX_QUERY). */
struct srv__qcollect {
	struct srv_query_arg *q;
	size_t n;
	bool overflow;
};

static enum MHD_Result srv__qiter(void *cls, enum MHD_ValueKind kind,
				  const char *key, const char *value)
{
	struct srv__qcollect *c = cls;
	(void)kind;
	if (c->n == SRV_MAX_QUERY) {
		c->overflow = true;
		return MHD_NO;
	}
	c->q[c->n].key = key;
	c->q[c->n++].value = value;
	return MHD_YES;
}

static bool srv__id_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if (n >= 64 || !(((s[n] | 0x20) >= 'a' && (s[n] | 0x20) <= 'z') ||
				 (s[n] >= '0' && s[n] <= '9') || s[n] == '-' ||
				 s[n] == '_' || s[n] == '.'))
			return false;
	return n > 0;
}

/* Ends a connection from outside MHD's callbacks' reach: shutdown(2)
 * makes MHD see the end of the stream and close it in its next run. */
static void srv__shut(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		shutdown(ci->connect_fd, SHUT_RDWR);
}

/* A streamed body: MHD calls back for each block (chunked encoding). */
struct srv__stream {
	long (*fn)(void *arg, char *buf, size_t max);
	void (*done)(void *arg);
	void *arg;
};

static ssize_t srv__stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct srv__stream *s = cls;
	(void)pos;
	long n = s->fn(s->arg, buf, max);
	return n < 0 ? MHD_CONTENT_READER_END_WITH_ERROR
	       : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void srv__stream_free(void *cls)
{
	struct srv__stream *s = cls;
	s->done(s->arg);
	free(s);
}

static struct MHD_Response *srv__stream_response(struct srv_response *res)
{
	struct srv__stream *s = malloc(sizeof(*s));
	struct MHD_Response *resp = NULL;

	if (s) {
		*s = (struct srv__stream){res->stream, res->stream_done,
					  res->stream_arg};
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
							 64 * 1024,
							 srv__stream_read, s,
							 srv__stream_free);
	}
	if (!resp) {
		free(s);
		res->stream_done(res->stream_arg);
	}
	res->stream = NULL;
	return resp;
}

static enum MHD_Result srv__queue(struct srv_http *h, struct MHD_Connection *c,
				  struct srv_req *r, const char *method,
				  const char *path, struct srv_response *res)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (res->route)
		r->route = res->route;
	if (res->tenant)
		snprintf(r->tenant, sizeof(r->tenant), "%s", res->tenant);
	if (res->sse) {
		/* An event stream: MHD pulls it through events.c's reader. */
		resp = srv_sse_response(res->sse);
		res->sse = NULL;
		if (!resp)
			return MHD_NO;
		res->content_type = "text/event-stream";
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-cache");
	} else if (res->stream) {
		resp = srv__stream_response(res);
		if (!resp)
			return MHD_NO;
	} else {
		if (!res->body)
			srv_reply_json(res, 500, NULL);
		resp = MHD_create_response_from_buffer(res->len, res->body,
						       MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(res->body);
			res->body = NULL;
			return MHD_NO;
		}
		res->body = NULL; /* MHD owns it now */
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				res->content_type ? res->content_type
						  : "application/json");
	if (res->www_authenticate)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"mmsim\"");
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	if (res->allow[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, res->allow);
	if (res->location[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION,
					res->location);
	if (res->retry_after[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
					res->retry_after);
	if (res->etag[0])
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, res->etag);
	if (res->cache_control)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
					res->cache_control);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (h->stopping)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, (unsigned)res->status, resp);
	MHD_destroy_response(resp);
	r->answered = true;
	uint64_t us = (uv_hrtime() - r->t0) / 1000;
	srv_metrics_request(&h->app->metrics, r->route, res->status,
			    (double)us / 1e6);
	srv_log_access(r->id, method, path, r->tenant[0] ? r->tenant : NULL,
		       res->status, res->len, us);
	return ret;
}

static enum MHD_Result srv__ahc(void *cls, struct MHD_Connection *c,
				const char *url, const char *method,
				const char *version, const char *upload_data,
				size_t *upload_data_size, void **con_cls)
{
	struct srv_http *h = cls;
	struct srv_req *r = *con_cls;
	size_t max = h->app->opt->max_body;
	(void)version;

	if (!r) {
		/* First call: headers only; allocate, answer nothing (P1). */
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*con_cls = r;
		h->inflight++;
		r->t0 = uv_hrtime();
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if (ci && ci->socket_context)
			((struct srv_conn *)ci->socket_context)->waiting = false;
		const char *given = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								"X-Request-Id");
		if (given && srv__id_ok(given))
			snprintf(r->id, sizeof(r->id), "%s", given);
		else
			snprintf(r->id, sizeof(r->id), "%s-%06llx", h->id_prefix,
				 (unsigned long long)++h->next_id);
		r->refused = h->stopping;
		const char *te = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
		if (te && strcasecmp(te, "chunked")) {
			struct srv_response res = {0};
			srv_reply_error(&res, 400, json_pack("{s:s}",
				"transfer_encoding", te),
				"Transfer-Encoding \"%.60s\" is not supported "
				"(chunked or a Content-Length)", te);
			return srv__queue(h, c, r, method, url, &res);
		}
		const char *cl = MHD_lookup_connection_value(
			c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			errno = 0;
			unsigned long long n = strtoull(cl, &end, 10);
			if (errno || *end || n > max) {
				/* P6: declared too large — answer now; MHD
				 * closes without reading the body. */
				struct srv_response res = {0};
				r->too_large = true;
				srv_reply_error(&res, 413, json_pack("{s:I}",
					"max_body", (json_int_t)max),
					"request body larger than %zu bytes "
					"(--max-body)", max);
				return srv__queue(h, c, r, method, url, &res);
			}
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (r->answered || r->too_large || r->refused)
			return MHD_YES; /* drain */
		if (n > max - r->len) {
			/* P6, chunked: keep draining, answer on the final call. */
			r->too_large = true;
			free(r->body);
			r->body = NULL;
			r->len = r->cap = 0;
			return MHD_YES;
		}
		if (r->len + n + 1 > r->cap) {
			size_t cap = r->cap ? r->cap : 4096;
			while (cap < r->len + n + 1)
				cap *= 2;
			if (cap > max + 1)
				cap = max + 1;
			char *b = realloc(r->body, cap);
			if (!b)
				return MHD_NO;
			r->body = b;
			r->cap = cap;
		}
		memcpy(r->body + r->len, upload_data, n);
		r->len += n;
		r->body[r->len] = '\0';
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	if (r->waiting) {
		/* Resumed after the group commit (or spuriously called). */
		if (!r->commit_done)
			return MHD_YES;
		struct srv_response done = r->res;
		memset(&r->res, 0, sizeof(r->res));
		if (!r->commit_ok) {
			free(done.body);
			memset(&done, 0, sizeof(done));
			snprintf(done.retry_after, sizeof(done.retry_after), "1");
			srv_reply_error(&done, 503, NULL, "the operation was not "
					"made durable and was undone (store "
					"failure: %s); retry later", r->commit_err);
		}
		return srv__queue(h, c, r, method, url, &done);
	}

	/* Final call: the whole request is here. */
	struct srv_response res = {0};
	struct srv_journal *j = h->app->journal;
	uint64_t before = j ? srv_journal_appended(j) : 0;
	if (r->refused) {
		srv_reply_error(&res, 503, NULL, "the server is shutting down");
	} else if (r->too_large) {
		srv_reply_error(&res, 413, json_pack("{s:I}", "max_body",
						     (json_int_t)max),
				"request body larger than %zu bytes (--max-body)",
				max);
	} else {
		struct srv_query_arg q[SRV_MAX_QUERY];
		struct srv__qcollect qc = {q, 0, false};
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, srv__qiter,
					  &qc);
		struct srv_request req = {
			.method = strcmp(method, "HEAD") ? method : "GET",
			.path = url,
			.body = r->body,
			.body_len = r->len,
			.content_type = MHD_lookup_connection_value(
				c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
			.accept = MHD_lookup_connection_value(
				c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
			.authorization = MHD_lookup_connection_value(
				c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
			.last_event_id = MHD_lookup_connection_value(
				c, MHD_HEADER_KIND, "Last-Event-ID"),
			.if_none_match = MHD_lookup_connection_value(
				c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
			.conn = c,
			.max_depth = h->app->opt->max_json_depth,
			.id = r->id,
			.query = q,
			.nquery = qc.n,
			.query_overflow = qc.overflow,
		};
		srv_route(h->app, &req, &res);
		if (srv_sse_publish(h->app->sse))
			h->need_run = true;
		if (res.route)
			r->route = res.route;
		if (res.tenant)
			snprintf(r->tenant, sizeof(r->tenant), "%s", res.tenant);
		if (j && h->app->opt->durability == SRV_DURABILITY_STRICT &&
		    srv_journal_appended(j) != before) {
			/* Acknowledge only once committed: suspend (the
			 * journal resumes it from srv__resume). */
			r->res = res;
			r->conn = c;
			r->waiting = true;
			MHD_suspend_connection(c);
			if (srv_journal_wait(j, r, before) == 0)
				return MHD_YES;
			/* out of memory: answer 503 now */
			MHD_resume_connection(c);
			r->waiting = false;
			free(r->res.body);
			memset(&res, 0, sizeof(res));
			srv_reply_error(&res, 503, NULL, "out of memory");
		}
	}
	return srv__queue(h, c, r, method, url, &res);
}

/* The journal's verdict on a waiting request (loop thread). */
static void srv__resume(void *waiter, bool ok, const char *err)
{
	struct srv_req *r = waiter;
	r->commit_done = true;
	r->commit_ok = ok;
	if (!ok)
		snprintf(r->commit_err, sizeof(r->commit_err), "%s",
			 err ? err : "unknown");
	MHD_resume_connection(r->conn);
}

/* After each finished commit: run MHD for the resumed ones (P2).  Twice:
 * in the first run MHD calls the access handler of each resumed request,
 * which queues its answer; MHD writes a queued answer only in a later run
 * (the connection was not write-polled in this one), which would otherwise
 * wait for the zero timer of the next loop iteration. */
static void srv__after_commit(void *arg)
{
	srv__run(arg);
	srv__run(arg);
}

static void srv__completed(void *cls, struct MHD_Connection *c, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	struct srv_http *h = cls;
	struct srv_req *r = *con_cls;
	(void)toe;
	if (!r)
		return;
	free(r->body);
	free(r->res.body);
	free(r);
	*con_cls = NULL;
	h->inflight--;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci && ci->socket_context) {
		/* keep-alive: now waiting for the next request's headers */
		struct srv_conn *sc = ci->socket_context;
		sc->waiting = true;
		sc->t_wait = uv_hrtime();
	}
}

static void srv__conn_notify(void *cls, struct MHD_Connection *c,
			     void **socket_context,
			     enum MHD_ConnectionNotificationCode toe)
{
	struct srv_http *h = cls;
	struct srv_metrics *mt = &h->app->metrics;
	struct srv_conn *sc = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		mt->conns_total++;
		mt->conns_open++;
		sc = calloc(1, sizeof(*sc));
		if (sc) {
			sc->c = c;
			sc->t_wait = uv_hrtime();
			sc->waiting = true;
			sc->next = h->conns;
			if (h->conns)
				h->conns->prev = sc;
			h->conns = sc;
		}
		*socket_context = sc;
		if (!sc || mt->conns_open > h->app->opt->max_connections) {
			/* over --max-connections: refuse at the connection level */
			mt->conns_refused++;
			srv__shut(c);
		}
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_CLOSED)
		return;
	h->conn_closed = true;
	mt->conns_open--;
	if (!sc)
		return;
	if (sc->prev)
		sc->prev->next = sc->next;
	else
		h->conns = sc->next;
	if (sc->next)
		sc->next->prev = sc->prev;
	free(sc);
	*socket_context = NULL;
}

/* Header deadlines (slowloris): shuts connections that waited too long. */
static void srv__sweep(struct srv_http *h)
{
	uint64_t now = uv_hrtime();
	uint64_t limit = (uint64_t)h->app->opt->header_timeout * 1000000000ull;
	for (struct srv_conn *sc = h->conns; sc; sc = sc->next)
		if (sc->waiting && now - sc->t_wait > limit) {
			h->app->metrics.header_timeouts++;
			sc->waiting = false; /* once */
			srv__shut(sc->c);
		}
}

/* libmicrohttpd's own messages go to the access log as events. */
static void srv__mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	srv_log_event("libmicrohttpd", msg);
}

/* ---- the loop side ---------------------------------------------------------------- */

static void srv__on_close_noop(uv_handle_t *hd)
{
	(void)hd;
}

/* Stops serving: poll closed BEFORE MHD_stop_daemon (P9), all handles closed
 * so uv_run returns. */
static void srv__stop(struct srv_http *h)
{
	if (h->stopped)
		return;
	h->stopped = true;
	if (h->app->journal) {
		/* Suspended requests (deadline path only: otherwise none is
		 * left) are resumed before MHD_stop_daemon (P9) and closed
		 * with their connections, unanswered. */
		srv_journal_fail_waiters(h->app->journal, "the server stopped");
		srv_journal_stop(h->app->journal);
		srv_journal_recover_abort(h->app);
	}
	uv_close((uv_handle_t *)&h->recover, srv__on_close_noop);
	uv_close((uv_handle_t *)&h->poll, srv__on_close_noop);
	uv_close((uv_handle_t *)&h->timer, srv__on_close_noop);
	uv_close((uv_handle_t *)&h->safety, srv__on_close_noop);
	uv_close((uv_handle_t *)&h->deadline, srv__on_close_noop);
	uv_close((uv_handle_t *)&h->sigterm, srv__on_close_noop);
	uv_close((uv_handle_t *)&h->sigint, srv__on_close_noop);
	/* Closing the last uv_signal restores SIG_DFL: a late signal would
	 * then kill the process mid-teardown (exit status 143, not 0). */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	MHD_stop_daemon(h->d);
	h->d = NULL;
	srv_log_event("stopped", NULL);
}

static void srv__on_timer(uv_timer_t *t)
{
	srv__run(t->data);
}

/* Every second: header deadlines, event-stream heartbeats and dropped
 * readers' deadlines, then MHD (P8's safety run). */
static void srv__on_safety(uv_timer_t *t)
{
	struct srv_http *h = t->data;
	if (h->stopped)
		return;
	srv__sweep(h);
	srv_sse_tick(h->app->sse);
	srv__run(h);
}

/* The only caller of MHD_run (never from inside an MHD callback). */
static void srv__run(struct srv_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (h->stopped)
		return;
	h->conn_closed = false;
	h->need_run = false;
	MHD_run(h->d);
	if (h->conn_closed || h->need_run)
		uv_timer_start(&h->timer, srv__on_timer, 0, 0); /* P8 */
	else if (MHD_get_timeout(h->d, &ms) == MHD_YES)
		uv_timer_start(&h->timer, srv__on_timer, (uint64_t)ms, 0); /* P3 */
	else
		uv_timer_stop(&h->timer);
	if (h->stopping && h->inflight == 0)
		srv__stop(h);
}

/* One slice of recovery per loop iteration: HTTP keeps being served
 * (/readyz 503) meanwhile. */
static void srv__on_recover(uv_idle_t *i)
{
	struct srv_http *h = i->data;
	char err[512];

	int rc = srv_journal_recover(h->app, 4096, err, sizeof(err));
	if (rc == 1)
		return;
	uv_idle_stop(i);
	h->app->recovering = false;
	if (rc < 0) {
		fprintf(stderr, "mmsimd: recovery failed: %s\n", err);
		srv_log_event("recovery-failed", err);
		h->failed = true;
		srv__stop(h);
	}
}

static void srv__on_poll(uv_poll_t *p, int status, int events)
{
	(void)status;
	(void)events;
	srv__run(p->data);
}

static void srv__on_deadline(uv_timer_t *t)
{
	struct srv_http *h = t->data;
	srv_log_event("shutdown-deadline", "requests still in flight are dropped");
	srv__stop(h);
}

static void srv__on_signal(uv_signal_t *s, int signum)
{
	struct srv_http *h = s->data;

	if (h->stopping) {
		/* A second signal: stop now. */
		srv__stop(h);
		return;
	}
	h->stopping = true;
	h->app->shutting_down = true;
	srv_log_event("shutdown", signum == SIGINT ? "SIGINT" : "SIGTERM");
	MHD_socket ls = MHD_quiesce_daemon(h->d);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	h->listen_fd = -1;
	srv_sse_shutdown(h->app->sse);
	uv_timer_start(&h->deadline, srv__on_deadline, SRV_SHUTDOWN_DEADLINE_MS, 0);
	srv__run(h);
}

/* ---- the listening socket ---------------------------------------------------------- */

static bool srv__is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) &&
		       in6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

/*
 * Resolves host, refuses a non-loopback address unless allowed, binds and
 * listens.  Returns the socket, -1 (error) or -2 (refused by policy), with
 * a message in err; url receives "http://HOST:PORT".
 */
static int srv__listen(const struct srv_options *o, bool loopback_only,
		       char *url, size_t urllen, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	char port[8];
	int fd = -1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", o->port);
	rc = getaddrinfo(o->host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "--listen %s:%u: %s", o->host, o->port,
			 gai_strerror(rc));
		return -1;
	}
	if (loopback_only && !srv__is_loopback(ai->ai_addr)) {
		snprintf(err, errlen, "refusing to listen on %s: without "
			 "--admin-key-file mmsimd runs single-tenant and serves "
			 "only loopback addresses (127.0.0.1, ::1)", o->host);
		freeaddrinfo(ai);
		return -2;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    ai->ai_protocol);
	if (fd < 0)
		goto err_errno;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 511))
		goto err_close_fd;

	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[INET6_ADDRSTRLEN];
	if (getsockname(fd, (struct sockaddr *)&ss, &sl))
		goto err_close_fd;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (void *)&ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
		snprintf(url, urllen, "http://[%s]:%u", addr, ntohs(in6->sin6_port));
	} else {
		struct sockaddr_in *in = (void *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
		snprintf(url, urllen, "http://%s:%u", addr, ntohs(in->sin_port));
	}
	freeaddrinfo(ai);
	return fd;

err_close_fd:
	close(fd);
err_errno:
	snprintf(err, errlen, "--listen %s:%u: %s", o->host, o->port,
		 strerror(errno));
	freeaddrinfo(ai);
	return -1;
}

int srv_http_run(struct srv_app *app)
{
	struct srv_http *h;
	char url[128], err[512];
	int ret = -1;

	signal(SIGPIPE, SIG_IGN);
	h = calloc(1, sizeof(*h));
	if (!h) {
		fprintf(stderr, "mmsimd: out of memory\n");
		return -1;
	}
	h->app = app;
	snprintf(h->id_prefix, sizeof(h->id_prefix), "%08x",
		 (unsigned)(time(NULL) ^ ((unsigned)getpid() << 16)));
	h->listen_fd = srv__listen(app->opt, app->opt->admin_key_file[0] == '\0',
				   url, sizeof(url), err, sizeof(err));
	if (h->listen_fd < 0) {
		fprintf(stderr, "mmsimd: %s\n", err);
		ret = h->listen_fd == -2 ? -2 : -1;
		goto err_free_h;
	}
	if (uv_loop_init(&h->loop)) {
		fprintf(stderr, "mmsimd: uv_loop_init failed\n");
		goto err_close_listen;
	}
	h->d = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, srv__ahc, h,
		/* first, or MHD logs the options' own errors to stderr */
		MHD_OPTION_EXTERNAL_LOGGER, srv__mhd_log, NULL,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)h->listen_fd,
		MHD_OPTION_NOTIFY_COMPLETED, srv__completed, h,
		MHD_OPTION_NOTIFY_CONNECTION, srv__conn_notify, h,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)app->opt->conn_timeout,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)(app->opt->max_connections + 64),
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)(app->opt->behind_proxy ? 0
			       : app->opt->max_conn_per_ip),
		MHD_OPTION_UNESCAPE_CALLBACK, srv__unescape, NULL,
		MHD_OPTION_END);
	if (!h->d) {
		fprintf(stderr, "mmsimd: MHD_start_daemon failed\n");
		goto err_close_loop;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		fprintf(stderr, "mmsimd: no epoll fd from libmicrohttpd\n");
		goto err_stop_daemon;
	}
	uv_poll_init(&h->loop, &h->poll, info->epoll_fd);
	uv_timer_init(&h->loop, &h->timer);
	uv_timer_init(&h->loop, &h->safety);
	uv_timer_init(&h->loop, &h->deadline);
	uv_signal_init(&h->loop, &h->sigterm);
	uv_signal_init(&h->loop, &h->sigint);
	uv_idle_init(&h->loop, &h->recover);
	h->recover.data = h;
	if (app->journal)
		srv_journal_start(app->journal, &h->loop, srv__resume,
				  srv__after_commit, h);
	if (app->recovering)
		uv_idle_start(&h->recover, srv__on_recover);
	h->poll.data = h->timer.data = h->safety.data = h->deadline.data = h;
	h->sigterm.data = h->sigint.data = h;
	uv_poll_start(&h->poll, UV_READABLE, srv__on_poll);
	uv_timer_start(&h->safety, srv__on_safety, SRV_SAFETY_MS, SRV_SAFETY_MS);
	uv_unref((uv_handle_t *)&h->safety);
	uv_signal_start(&h->sigterm, srv__on_signal, SIGTERM);
	uv_signal_start(&h->sigint, srv__on_signal, SIGINT);

	srv__run(h);
	printf("listening on %s\n", url);
	fflush(stdout);
	srv_log_event("listening", url);
	uv_run(&h->loop, UV_RUN_DEFAULT);
	srv__stop(h); /* no-op after a normal shutdown */
	uv_run(&h->loop, UV_RUN_DEFAULT); /* let the close callbacks run */
	if (app->journal && srv_journal_flush_sync(app->journal))
		h->failed = true;
	if (uv_loop_close(&h->loop))
		fprintf(stderr, "mmsimd: warning: loop closed with live handles\n");
	ret = h->failed ? -1 : 0;
	free(h);
	return ret;

err_stop_daemon:
	MHD_stop_daemon(h->d); /* closes the listening socket it was given */
	h->listen_fd = -1;
err_close_loop:
	uv_loop_close(&h->loop);
err_close_listen:
	if (h->listen_fd >= 0)
		close(h->listen_fd);
err_free_h:
	free(h);
	return ret;
}
