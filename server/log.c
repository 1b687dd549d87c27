/*
 * log.c — the JSON access log (SPEC §7 --log): one line per answered
 * request, {"ts","id","method","path","tenant"?,"status","bytes","us"} —
 * never a header, so no key reaches it — and a line
 * per server event.  Lines are built with jansson (so paths with quotes or
 * control characters stay valid JSON) and flushed one by one.  The log is
 * written from the loop thread only.
 */
#include "server/srv.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static FILE *srv_log_file;
static bool srv_log_owned;

int srv_log_open(const char *path)
{
	if (!path || !*path) {
		srv_log_file = NULL;
		return 0;
	}
	if (!strcmp(path, "-")) {
		srv_log_file = stderr;
		return 0;
	}
	srv_log_file = fopen(path, "a");
	if (!srv_log_file)
		return -1;
	srv_log_owned = true;
	return 0;
}

void srv_log_close(void)
{
	if (srv_log_owned && srv_log_file)
		fclose(srv_log_file);
	srv_log_file = NULL;
	srv_log_owned = false;
}

/* A new log record whose first key is "ts" (UTC, milliseconds). */
static json_t *srv__log_new(void)
{
	struct timespec ts;
	struct tm tm;
	char stamp[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(stamp + n, sizeof(stamp) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	json_t *o = json_object();
	json_object_set_new(o, "ts", json_string(stamp));
	return o;
}

static void srv__log_emit(json_t *o)
{
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line) {
		fprintf(srv_log_file, "%s\n", line);
		fflush(srv_log_file);
		free(line);
	}
	json_decref(o);
}

void srv_log_access(const char *id, const char *method, const char *path,
		    const char *tenant, int status, size_t bytes, uint64_t usec)
{
	if (!srv_log_file)
		return;
	json_t *o = srv__log_new();
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "method", json_string(method));
	/* The path came off the wire: it may be any bytes. */
	json_t *p = json_string(path);
	json_object_set_new(o, "path", p ? p : json_string("(not UTF-8)"));
	if (tenant)
		json_object_set_new(o, "tenant", json_string(tenant));
	json_object_set_new(o, "status", json_integer(status));
	json_object_set_new(o, "bytes", json_integer((json_int_t)bytes));
	json_object_set_new(o, "us", json_integer((json_int_t)usec));
	srv__log_emit(o);
}

void srv_log_event(const char *event, const char *detail)
{
	if (!srv_log_file)
		return;
	json_t *o = srv__log_new();
	json_object_set_new(o, "event", json_string(event));
	if (detail) {
		json_t *d = json_string(detail);
		json_object_set_new(o, "detail", d ? d : json_string("?"));
	}
	srv__log_emit(o);
}
