/*
 * metrics.c — GET /metrics in the Prometheus text exposition format 0.0.4.
 *
 * Every number is counted where it happens (http.c per request and
 * connection, journal.c per commit, events.c per stream) or read from the
 * live state at render time (machines, tenants, simulated memory, the
 * engine's vm event counters summed over the live machines — a gauge, since
 * deleting a machine lowers it).  Histograms use fixed buckets in seconds.
 */
#include "server/srv.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const double srv_lat_bounds[SRV_LAT_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05,   0.1,   0.25,   0.5,   1,    2.5,
};

int srv_metrics_init(struct srv_metrics *mt, size_t nroutes)
{
	memset(mt, 0, sizeof(*mt));
	mt->routes = calloc(nroutes + 1, sizeof(*mt->routes));
	mt->nroutes = nroutes;
	return mt->routes ? 0 : -1;
}

void srv_metrics_free(struct srv_metrics *mt)
{
	free(mt->routes);
	mt->routes = NULL;
}

static void srv__observe(uint64_t *buckets, double v)
{
	int i = 0;
	while (i < SRV_LAT_BUCKETS && v > srv_lat_bounds[i])
		i++;
	buckets[i]++;
}

void srv_metrics_request(struct srv_metrics *mt, int route, int status,
			 double seconds)
{
	if (!mt->routes)
		return;
	size_t ix = route > 0 && (size_t)route <= mt->nroutes
		? (size_t)route - 1 : mt->nroutes;
	struct srv_route_stats *r = &mt->routes[ix];
	int k = 0;
	while (k < SRV_MAX_STATUSES - 1 && r->status[k] && r->status[k] != status)
		k++;
	/* the last slot collects statuses past SRV_MAX_STATUSES - 1 kinds */
	if (!r->status[k])
		r->status[k] = status;
	else if (r->status[k] != status)
		r->status[k] = -1; /* rendered status="other" */
	r->status_count[k]++;
	srv__observe(r->lat, seconds);
	r->lat_sum += seconds;
	r->n++;
}

void srv_metrics_commit(struct srv_metrics *mt, double seconds)
{
	srv__observe(mt->commit_lat, seconds);
	mt->commit_sum += seconds;
	mt->commit_n++;
}

/* ---- rendering ----------------------------------------------------------------- */

struct srv__text {
	char *p;
	size_t n, cap;
	bool oom;
};

static void srv__pf(struct srv__text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void srv__pf(struct srv__text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		if (t->oom)
			return;
		va_start(ap, fmt);
		int n = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->n) {
			t->n += (size_t)n;
			return;
		}
		size_t cap = t->cap * 2 + (size_t)(n > 0 ? n : 0);
		char *p = realloc(t->p, cap);
		if (!p) {
			t->oom = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
}

static void srv__head(struct srv__text *t, const char *name, const char *type,
		      const char *help)
{
	srv__pf(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void srv__hist(struct srv__text *t, const char *name, const char *labels,
		      const uint64_t *b, double sum, uint64_t n)
{
	uint64_t cum = 0;
	const char *sep = labels[0] ? "," : "";
	for (int i = 0; i < SRV_LAT_BUCKETS; i++) {
		cum += b[i];
		srv__pf(t, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
			srv_lat_bounds[i], (unsigned long long)cum);
	}
	srv__pf(t, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		(unsigned long long)n);
	if (labels[0]) {
		srv__pf(t, "%s_sum{%s} %.9f\n", name, labels, sum);
		srv__pf(t, "%s_count{%s} %llu\n", name, labels, (unsigned long long)n);
	} else {
		srv__pf(t, "%s_sum %.9f\n%s_count %llu\n", name, sum, name,
			(unsigned long long)n);
	}
}

/* A family of one sample. */
static void srv__single(struct srv__text *t, const char *name, const char *type,
		       const char *help, uint64_t v)
{
	srv__head(t, name, type, help);
	srv__pf(t, "%s %llu\n", name, (unsigned long long)v);
}

/* method="GET",route="/v1/machines/{m}" of route index i (the last index:
 * requests no route matched, method="",route="(none)"). */
static const char *srv__route_labels(const struct srv_app *app, size_t i,
				     char *buf, size_t len)
{
	snprintf(buf, len, "method=\"%s\",route=\"%s\"",
		 srv_route_method(app, i), srv_route_pattern(app, i));
	return buf;
}

char *srv_metrics_text(struct srv_app *app, size_t *len)
{
	struct srv_metrics *mt = &app->metrics;
	struct srv__text t = {malloc(16384), 0, 16384, false};
	char labels[256];

	if (!t.p)
		return NULL;
	srv__head(&t, "mmsim_http_requests_total", "counter",
		  "Requests answered, by route template and status.");
	for (size_t i = 0; i <= mt->nroutes; i++)
		for (int k = 0; k < SRV_MAX_STATUSES && mt->routes[i].status[k];
		     k++) {
			char st[12] = "other";
			if (mt->routes[i].status[k] > 0)
				snprintf(st, sizeof(st), "%d", mt->routes[i].status[k]);
			srv__pf(&t, "mmsim_http_requests_total{%s,status=\"%s\"} "
				"%llu\n", srv__route_labels(app, i, labels,
				sizeof(labels)), st,
				(unsigned long long)mt->routes[i].status_count[k]);
		}
	srv__head(&t, "mmsim_http_request_duration_seconds", "histogram",
		  "Time from a request's headers to its answer (strict "
		  "durability: including the group commit), by route template.");
	for (size_t i = 0; i <= mt->nroutes; i++) {
		if (!mt->routes[i].n)
			continue;
		srv__route_labels(app, i, labels, sizeof(labels));
		srv__hist(&t, "mmsim_http_request_duration_seconds", labels,
			  mt->routes[i].lat, mt->routes[i].lat_sum, mt->routes[i].n);
	}
	srv__single(&t, "mmsim_http_connections_open", "gauge",
		   "Open client connections.", mt->conns_open);
	srv__single(&t, "mmsim_http_connections_total", "counter",
		   "Client connections accepted.", mt->conns_total);
	srv__single(&t, "mmsim_http_connections_refused_total", "counter",
		   "Connections closed at once: over --max-connections.",
		   mt->conns_refused);
	srv__single(&t, "mmsim_http_header_timeouts_total", "counter",
		   "Connections closed for not sending a request's headers "
		   "within --header-timeout.", mt->header_timeouts);
	srv__single(&t, "mmsim_auth_failures_total", "counter",
		   "Requests answered 401.", mt->auth_failures);
	srv__single(&t, "mmsim_rate_limited_total", "counter",
		   "Requests answered 429 by a tenant's rate limit.",
		   mt->rate_limited);
	srv__single(&t, "mmsim_sse_subscribers", "gauge",
		   "Open event streams.", srv_sse_count(app->sse));
	srv__single(&t, "mmsim_sse_streams_total", "counter",
		   "Event streams opened.", mt->sse_total);
	srv__single(&t, "mmsim_sse_dropped_total", "counter",
		   "Event streams dropped for falling behind.", mt->sse_dropped);
	srv__single(&t, "mmsim_machines", "gauge", "Machines held.",
		   app->machines.n);
	srv__single(&t, "mmsim_tenants", "gauge", "Tenants (1 when single-tenant).",
		   app->tenants.n);
	srv__single(&t, "mmsim_simulated_memory_bytes", "gauge",
		   "Simulated memory of all machines.", app->machines.memory);
	if (app->journal) {
		uint64_t batches, rows, failures;
		srv_journal_stats(app->journal, &batches, &rows, &failures);
		srv__single(&t, "mmsim_journal_commits_total", "counter",
			   "Group commits finished (ok or failed).", batches);
		srv__single(&t, "mmsim_journal_rows_total", "counter",
			   "Journal entries committed.", rows);
		srv__single(&t, "mmsim_journal_commit_failures_total", "counter",
			   "Group commits that failed (their requests got 503).",
			   failures);
	}
	srv__head(&t, "mmsim_journal_commit_duration_seconds", "histogram",
		  "Time from handing a batch to the committer to its verdict.");
	srv__hist(&t, "mmsim_journal_commit_duration_seconds", "", mt->commit_lat,
		  mt->commit_sum, mt->commit_n);

	/* engine counters summed over the live machines */
	static const struct {
		enum mm_vm_event ev;
		const char *name;
	} evs[] = {
		{MM_PGFAULT, "pgfault"}, {MM_PGMAJFAULT, "pgmajfault"},
		{MM_PGFREE, "pgfree"}, {MM_PSWPIN, "pswpin"},
		{MM_PSWPOUT, "pswpout"}, {MM_OOM_KILL, "oom_kill"},
	};
	uint64_t sum[sizeof(evs) / sizeof(evs[0]) + 1] = {0};
	uint64_t ops = 0;
	for (size_t i = 0; i < app->machines.n; i++) {
		const struct mm_machine *m = app->machines.v[i]->mm;
		for (size_t k = 0; k < sizeof(evs) / sizeof(evs[0]); k++)
			sum[k] += m->events[evs[k].ev];
		for (int z = 0; z < MM_MAX_ZONES; z++)
			sum[sizeof(evs) / sizeof(evs[0])] += m->events[MM_PGALLOC + z];
		ops += app->machines.v[i]->seq;
	}
	srv__head(&t, "mmsim_engine_vm_events", "gauge",
		  "/proc/vmstat event counters summed over the live machines.");
	for (size_t k = 0; k < sizeof(evs) / sizeof(evs[0]); k++)
		srv__pf(&t, "mmsim_engine_vm_events{event=\"%s\"} %llu\n",
			evs[k].name, (unsigned long long)sum[k]);
	srv__pf(&t, "mmsim_engine_vm_events{event=\"pgalloc\"} %llu\n",
		(unsigned long long)sum[sizeof(evs) / sizeof(evs[0])]);
	srv__single(&t, "mmsim_engine_operations", "gauge",
		   "Operations applied to the live machines (the sum of their "
		   "seq).", ops);
	if (t.oom) {
		free(t.p);
		return NULL;
	}
	*len = t.n;
	return t.p;
}
