/*
 * events.c — GET /v1/machines/{m}/events (SPEC §4.1): the machine's event
 * ring (engine/event.c) as Server-Sent Events, or with ?since=ID as JSON.
 *
 * A stream is a libmicrohttpd callback response (chunked) whose reader
 * formats events from the ring into the subscriber's small buffer, after
 * shared/notes/http-loop.md P4: when there is nothing to send, the reader
 * suspends the connection and returns 0 (never a busy loop);
 * srv_sse_publish(), run by http.c after requests, resumes the subscribers
 * whose machine has new events, and http.c then runs MHD once (P2).
 *
 * Each subscriber keeps a cursor (the next event id).  The ring is the
 * only buffer: a reader whose cursor falls behind the ring's oldest event,
 * or more than --sse-max-lag events behind the head while its connection
 * is not taking data, is dropped — its stream ends with a final
 * "event: dropped" saying why, and if it does not take even that within
 * SRV_SSE_GRACE_MS its socket is shut down.  The loop never waits for a
 * reader.  A heartbeat comment every --sse-heartbeat seconds makes dead
 * clients visible (a suspended connection notices nothing by itself).
 *
 *   retry: 2000                       (first, so the headers go out at once)
 *   id: 42
 *   event: op
 *   data: {"id":42,"type":"op",...}   (api/event.c)
 *
 *   event: gap     data: {"lost":N,"oldest_id":X}   resumed past the ring
 *   event: dropped data: {"reason":…}               too slow; the end
 *   event: end     data: {"reason":…}               machine gone, shutdown
 */
#include "server/srv.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include "api/api.h"

#define SRV_SSE_FILL 8192          /* bytes formatted per refill */
#define SRV_SSE_GRACE_MS 10000     /* a dropped reader's last chance */
#define SRV_SSE_SNDBUF 32768       /* kernel send buffer per stream */
#define SRV_EVENTS_PAGE_DEFAULT 1000
#define SRV_EVENTS_PAGE_MAX 10000

struct srv_sub {
	struct srv_sse *s;
	struct srv_sub *prev, *next;
	struct MHD_Connection *conn;
	uint64_t machine;          /* the N of "m-N" */
	uint64_t cursor;           /* next event id to format */
	uint32_t types;            /* mask of 1 << enum mm_event_type */
	char *out;                 /* formatted, not yet handed to MHD */
	size_t out_len, out_off, out_cap;
	bool suspended;            /* waiting for events */
	bool resumed;              /* resumed, the reader has not run since */
	bool heartbeat;            /* a comment is due */
	const char *final_event;   /* "dropped" / "end": the stream's last */
	char final_reason[200];
	bool ending;               /* final event formatted */
	uint64_t deadline;         /* ns: dropped, shut the socket then */
};

struct srv_sse {
	struct srv_app *app;
	struct srv_sub *head;
	unsigned n;
	bool shutting;
	bool kicked;               /* resumed outside publish (machine gone) */
	uint64_t last_beat;        /* ns */
};

struct srv_sse *srv_sse_new(struct srv_app *app)
{
	struct srv_sse *s = calloc(1, sizeof(*s));
	if (s)
		s->app = app;
	return s;
}

void srv_sse_free(struct srv_sse *s)
{
	/* Subscribers belong to their MHD responses (freed with the daemon). */
	free(s);
}

unsigned srv_sse_count(const struct srv_sse *s)
{
	return s ? s->n : 0;
}

/* Appends text to the subscriber's buffer; false when out of memory. */
static bool srv__out(struct srv_sub *sub, const char *p, size_t n)
{
	if (sub->out_len + n > sub->out_cap) {
		size_t cap = sub->out_cap ? sub->out_cap : 1024;
		while (cap < sub->out_len + n)
			cap *= 2;
		char *o = realloc(sub->out, cap);
		if (!o)
			return false;
		sub->out = o;
		sub->out_cap = cap;
	}
	memcpy(sub->out + sub->out_len, p, n);
	sub->out_len += n;
	return true;
}

/* "event: NAME\ndata: JSON\n\n" (with "id: N\n" first when id != 0). */
static void srv__event(struct srv_sub *sub, uint64_t id, const char *name,
		       json_t *data)
{
	char head[96];
	char *text = data ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	int n = id ? snprintf(head, sizeof(head), "id: %llu\nevent: %s\ndata: ",
			      (unsigned long long)id, name)
		   : snprintf(head, sizeof(head), "event: %s\ndata: ", name);
	srv__out(sub, head, (size_t)n);
	srv__out(sub, text ? text : "{}", text ? strlen(text) : 2);
	srv__out(sub, "\n\n", 2);
	free(text);
}

static void srv__final(struct srv_sub *sub, const char *event, const char *why)
{
	if (sub->final_event)
		return;
	sub->final_event = event;
	snprintf(sub->final_reason, sizeof(sub->final_reason), "%s", why);
}

/* Formats what is due into the (empty) buffer. */
static void srv__fill(struct srv_sub *sub)
{
	struct srv_sse *s = sub->s;
	struct srv_machine *sm = srv_machines_by_num(&s->app->machines,
						     sub->machine);
	if (sub->ending)
		return;
	if (s->shutting)
		srv__final(sub, "end", "the server is shutting down");
	if (!sm)
		srv__final(sub, "end", "the machine is gone");
	if (!sub->final_event && sub->cursor < mm_event_oldest(sm->mm)) {
		s->app->metrics.sse_dropped++;
		srv__final(sub, "dropped", "too slow: events were overwritten "
			   "in the machine's ring before this reader took them");
	}
	if (sub->final_event) {
		srv__event(sub, 0, sub->final_event,
			   json_pack("{s:s}", "reason", sub->final_reason));
		sub->ending = true;
		return;
	}
	const struct mm_machine *m = sm->mm;
	while (sub->cursor < m->ev.next_id && sub->out_len < SRV_SSE_FILL) {
		const struct mm_event *e = mm_event_get(m, sub->cursor++);
		if (e && (sub->types & (1u << e->type)))
			srv__event(sub, e->id, mm_event_type_name(e->type),
				   api_event_json(e));
	}
	if (!sub->out_len && sub->heartbeat)
		srv__out(sub, ":\n\n", 3);
	sub->heartbeat = false;
}

static ssize_t srv__reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct srv_sub *sub = cls;
	(void)pos;

	sub->resumed = false;
	if (sub->out_off == sub->out_len) {
		sub->out_off = sub->out_len = 0;
		srv__fill(sub);
	}
	if (sub->out_off < sub->out_len) {
		size_t n = sub->out_len - sub->out_off;
		if (n > max)
			n = max;
		memcpy(buf, sub->out + sub->out_off, n);
		sub->out_off += n;
		return (ssize_t)n;
	}
	if (sub->ending)
		return MHD_CONTENT_READER_END_OF_STREAM;
	/* Nothing to send: suspend until publish/tick resumes (P4). */
	MHD_suspend_connection(sub->conn);
	sub->suspended = true;
	return 0;
}

static void srv__sub_free(void *cls)
{
	struct srv_sub *sub = cls;
	struct srv_sse *s = sub->s;
	if (sub->prev)
		sub->prev->next = sub->next;
	else
		s->head = sub->next;
	if (sub->next)
		sub->next->prev = sub->prev;
	s->n--;
	free(sub->out);
	free(sub);
}

static bool srv__resume(struct srv_sub *sub)
{
	if (!sub->suspended)
		return false;
	sub->suspended = false;
	sub->resumed = true;
	MHD_resume_connection(sub->conn);
	return true;
}

struct MHD_Response *srv_sse_response(struct srv_sub *sub)
{
	struct MHD_Response *r = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 4096, srv__reader, sub, srv__sub_free);
	if (!r)
		srv__sub_free(sub);
	return r;
}

static bool srv__lagging(const struct srv_sub *sub, const struct mm_machine *m,
			 unsigned max_lag)
{
	if (sub->cursor < mm_event_oldest(m))
		return true;
	/* A suspended reader, or one resumed but not yet run, is keeping up. */
	return !sub->suspended && !sub->resumed && max_lag &&
	       m->ev.next_id - sub->cursor > max_lag;
}

bool srv_sse_publish(struct srv_sse *s)
{
	bool any = s->kicked;
	unsigned max_lag = s->app->opt->sse_max_lag;

	s->kicked = false;
	for (struct srv_sub *sub = s->head; sub; sub = sub->next) {
		if (sub->final_event)
			continue;
		struct srv_machine *sm = srv_machines_by_num(&s->app->machines,
							     sub->machine);
		if (!sm)
			continue;
		if (srv__lagging(sub, sm->mm, max_lag)) {
			char why[200];
			snprintf(why, sizeof(why), "too slow: %llu events behind "
				 "(the limit is %u, --sse-max-lag); reconnect with "
				 "Last-Event-ID to resume from the ring",
				 (unsigned long long)(sm->mm->ev.next_id -
						      sub->cursor), max_lag);
			s->app->metrics.sse_dropped++;
			srv__final(sub, "dropped", why);
			sub->deadline = uv_hrtime() + SRV_SSE_GRACE_MS * 1000000ull;
			any |= srv__resume(sub);
		} else if (sub->cursor < sm->mm->ev.next_id) {
			any |= srv__resume(sub);
		}
	}
	return any;
}

void srv_sse_machine_gone(struct srv_sse *s, uint64_t num, const char *why)
{
	for (struct srv_sub *sub = s ? s->head : NULL; sub; sub = sub->next)
		if (sub->machine == num) {
			srv__final(sub, "end", why);
			sub->deadline = uv_hrtime() + SRV_SSE_GRACE_MS * 1000000ull;
			s->kicked |= srv__resume(sub);
		}
}

/* Shuts the socket of a reader that did not take its final event. */
static void srv__shut(struct srv_sub *sub)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		sub->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci)
		shutdown(ci->connect_fd, SHUT_RDWR);
	sub->deadline = 0;
}

bool srv_sse_tick(struct srv_sse *s)
{
	uint64_t now = uv_hrtime();
	bool beat = now - s->last_beat >=
		    (uint64_t)s->app->opt->sse_heartbeat * 1000000000ull;
	bool any = false;

	if (beat)
		s->last_beat = now;
	for (struct srv_sub *sub = s->head; sub; sub = sub->next) {
		if (sub->deadline && now > sub->deadline && !sub->suspended)
			srv__shut(sub);
		if (beat) {
			sub->heartbeat = true;
			any |= srv__resume(sub);
		}
	}
	return any;
}

bool srv_sse_shutdown(struct srv_sse *s)
{
	bool any = false;
	s->shutting = true;
	for (struct srv_sub *sub = s->head; sub; sub = sub->next)
		any |= srv__resume(sub);
	return any;
}

/* ---- the route ----------------------------------------------------------------- */

/* A decimal event id or count; -1 = answered 400. */
static int srv__u64(const char *key, const char *text, uint64_t *out,
		    struct srv_response *res)
{
	char *end;
	errno = 0;
	unsigned long long v = text[0] >= '0' && text[0] <= '9'
		? strtoull(text, &end, 10) : 0;
	if (text[0] < '0' || text[0] > '9' || errno || *end) {
		srv_reply_error(res, 400, json_pack("{s:s}", "field", key),
				"%s: \"%.40s\" is not an event id (a decimal "
				"integer >= 0)", key, text);
		return -1;
	}
	*out = v;
	return 0;
}

/* ?since=ID: {"items":[events with id > ID], "last_id", "next_id",
 * "oldest_id", "lost"}; continue with since=last_id. */
static void srv__since(const struct srv_request *req, const struct mm_machine *m,
		       uint64_t since, uint32_t types, struct srv_response *res)
{
	uint64_t limit = SRV_EVENTS_PAGE_DEFAULT;
	const char *l = srv_query(req, "limit");
	if (l && srv__u64("limit", l, &limit, res))
		return;
	if (limit < 1 || limit > SRV_EVENTS_PAGE_MAX) {
		srv_reply_error(res, 400, json_pack("{s:s}", "field", "limit"),
				"limit: must be in [1, %d]", SRV_EVENTS_PAGE_MAX);
		return;
	}
	uint64_t oldest = mm_event_oldest(m), id = since + 1, last = since;
	uint64_t lost = id < oldest ? oldest - id : 0;
	if (id < oldest)
		id = oldest;
	json_t *items = json_array();
	for (; id < m->ev.next_id && json_array_size(items) < limit; id++) {
		const struct mm_event *e = mm_event_get(m, id);
		last = id;
		if (types & (1u << e->type))
			json_array_append_new(items, api_event_json(e));
	}
	srv_reply_json(res, 200, json_pack("{s:o, s:I, s:I, s:I, s:I}", "items",
					   items, "last_id", (json_int_t)last,
					   "next_id", (json_int_t)m->ev.next_id,
					   "oldest_id", (json_int_t)oldest, "lost",
					   (json_int_t)lost));
}

void srv_events_route(struct srv_app *app, const struct srv_request *req,
		      struct srv_machine *sm, struct srv_response *res)
{
	struct srv_sse *s = app->sse;
	const struct mm_machine *m = sm->mm;
	uint32_t types = (1u << MM_NR_EVENT_TYPES) - 1;
	struct api_error e;
	uint64_t since;

	const char *t = srv_query(req, "types");
	if (t && api_event_types(t, &types, &e)) {
		srv_reply_error(res, 400, json_pack("{s:s}", "field", "types"), "%s",
				e.message);
		return;
	}
	const char *q = srv_query(req, "since");
	if (q) {
		if (!srv__u64("since", q, &since, res))
			srv__since(req, m, since, types, res);
		return;
	}
	if (srv_query(req, "limit")) {
		srv_reply_error(res, 400, json_pack("{s:s}", "field", "limit"),
				"limit: only with ?since= (a stream has none)");
		return;
	}
	if (s->n >= app->opt->max_subscribers) {
		snprintf(res->retry_after, sizeof(res->retry_after), "10");
		srv_reply_error(res, 429, json_pack("{s:s, s:I}", "limit",
						    "max_subscribers",
						    "max_subscribers",
						    (json_int_t)app->opt->max_subscribers),
				"at most %u event streams are open at once "
				"(--max-subscribers)", app->opt->max_subscribers);
		return;
	}
	uint64_t cursor = m->ev.next_id;
	const char *lei = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						      "Last-Event-ID");
	if (lei && *lei) {
		if (srv__u64("Last-Event-ID", lei, &since, res))
			return;
		cursor = since + 1 < m->ev.next_id ? since + 1 : m->ev.next_id;
	}
	struct srv_sub *sub = calloc(1, sizeof(*sub));
	if (!sub || !srv__out(sub, "retry: 2000\n\n", 13)) {
		free(sub);
		srv_reply_error(res, 503, NULL, "out of memory");
		return;
	}
	sub->s = s;
	sub->conn = req->conn;
	sub->machine = sm->num;
	sub->types = types;
	sub->resumed = true; /* its reader has not run yet: not lagging */
	uint64_t oldest = mm_event_oldest(m);
	if (cursor < oldest) {
		srv__event(sub, 0, "gap", json_pack("{s:I, s:I}", "lost",
						    (json_int_t)(oldest - cursor),
						    "oldest_id", (json_int_t)oldest));
		cursor = oldest;
	}
	sub->cursor = cursor;
	sub->next = s->head;
	if (s->head)
		s->head->prev = sub;
	s->head = sub;
	s->n++;
	app->metrics.sse_total++;
	/* Bound what the kernel holds for a reader that stops reading. */
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci) {
		int sz = SRV_SSE_SNDBUF;
		setsockopt(ci->connect_fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	free(res->body);
	res->body = NULL;
	res->status = 200;
	res->sse = sub;
}
