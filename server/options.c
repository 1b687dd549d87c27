/*
 * options.c — mmsimd's flags and environment (SPEC §7).
 *
 * Each setting has a flag, an environment variable and a default; flags win
 * over the environment, which wins over the default.  Flags take their value
 * as the next argument or after '=' (--listen=127.0.0.1:0).  Values are
 * validated here, so the rest of the server only sees sane options.
 */
#include "server/srv.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

static int srv__fail(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int srv__fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

void srv_options_usage(FILE *f)
{
	fputs("usage: mmsimd [options]\n"
	      "  --listen HOST:PORT       address to serve (MMSIM_LISTEN; default "
	      "127.0.0.1:8080; port 0 = any free port)\n"
	      "  --data DIR               data directory, created if missing "
	      "(MMSIM_DATA; default ./var)\n"
	      "  --admin-key-file FILE    multi-tenant: the admin key, one line "
	      "(MMSIM_ADMIN_KEY_FILE;\n"
	      "                           without it: single-tenant, loopback "
	      "addresses only)\n"
	      "  --durability strict|relaxed   (MMSIM_DURABILITY; default strict)\n"
	      "  --threads N              libuv threadpool size (UV_THREADPOOL_SIZE;"
	      " default 4)\n"
	      "  --max-body BYTES         largest request body, binary units "
	      "(MMSIM_MAX_BODY; default 8M)\n"
	      "  --max-batch N            most records per :batch (MMSIM_MAX_BATCH;"
	      " default 10000)\n"
	      "  --max-machines N         most machines held at once "
	      "(MMSIM_MAX_MACHINES; default 4096)\n"
	      "  --log FILE|-             JSON access log, - = stderr (MMSIM_LOG; "
	      "default -)\n"
	      "  --max-memory SIZE        simulated memory of all machines "
	      "(MMSIM_MAX_MEMORY; default 256G)\n"
	      "  --tenant-max-machines N  default quota: machines per tenant "
	      "(MMSIM_TENANT_MAX_MACHINES; 256)\n"
	      "  --tenant-max-memory SIZE default quota: simulated memory per "
	      "tenant (MMSIM_TENANT_MAX_MEMORY; 64G)\n"
	      "  --rate N                 default quota: requests/s per tenant, "
	      "0 = unlimited (MMSIM_RATE; 0)\n"
	      "  --rate-burst N           default quota: token bucket size "
	      "(MMSIM_RATE_BURST; 100)\n"
	      "  --max-json-depth N       deepest JSON nesting of a body "
	      "(MMSIM_MAX_JSON_DEPTH; 64)\n"
	      "  --max-connections N      open connections (MMSIM_MAX_CONNECTIONS;"
	      " 1000)\n"
	      "  --max-connections-per-ip N   (MMSIM_MAX_CONNECTIONS_PER_IP; 256; "
	      "0 = off)\n"
	      "  --behind-proxy           clients share the proxy's address: no "
	      "per-IP limit (MMSIM_BEHIND_PROXY=1)\n"
	      "  --header-timeout S       seconds to send a request's headers "
	      "(MMSIM_HEADER_TIMEOUT; 10)\n"
	      "  --idle-timeout S         seconds an idle connection stays open "
	      "(MMSIM_IDLE_TIMEOUT; 30)\n"
	      "  --sse-max-lag N          events an event-stream reader may fall "
	      "behind before it is dropped (MMSIM_SSE_MAX_LAG; 256)\n"
	      "  --sse-heartbeat S        seconds between heartbeat comments "
	      "(MMSIM_SSE_HEARTBEAT; 15)\n"
	      "  --max-subscribers N      open event streams (MMSIM_MAX_SUBSCRIBERS;"
	      " 1024)\n"
	      "  --help                   this text\n"
	      "When ready, prints \"listening on http://HOST:PORT\" on stdout.\n",
	      f);
}

/* "HOST:PORT", "[V6]:PORT" → o->host, o->port. */
static int srv__listen(struct srv_options *o, const char *v, char *err,
		       size_t len)
{
	const char *colon, *host = v;
	size_t hlen;

	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (!close || close[1] != ':')
			return srv__fail(err, len, "--listen: \"%s\" is not "
					 "[IPV6]:PORT", v);
		host = v + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(v, ':');
		if (!colon)
			return srv__fail(err, len, "--listen: \"%s\" is not "
					 "HOST:PORT", v);
		hlen = (size_t)(colon - v);
	}
	if (hlen == 0 || hlen >= sizeof(o->host))
		return srv__fail(err, len, "--listen: bad host in \"%s\"", v);
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535 ||
	    colon[1] == '-' || colon[1] == '+')
		return srv__fail(err, len, "--listen: bad port in \"%s\" "
				 "(0..65535)", v);
	memcpy(o->host, host, hlen);
	o->host[hlen] = '\0';
	o->port = (unsigned)port;
	return 0;
}

static int srv__copy(char *dst, size_t cap, const char *flag, const char *v,
		     char *err, size_t len)
{
	if (strlen(v) >= cap)
		return srv__fail(err, len, "%s: value too long", flag);
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int srv__count(const char *flag, const char *v, long lo, long hi,
		      long *out, char *err, size_t len)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return srv__fail(err, len, "%s: \"%s\" is not a number in "
				 "[%ld, %ld]", flag, v, lo, hi);
	*out = n;
	return 0;
}

/* Applies one setting; flag is the long flag name (for messages). */
static int srv__set(struct srv_options *o, const char *flag, const char *v,
		    char *err, size_t len)
{
	long n;

	if (!strcmp(flag, "--listen"))
		return srv__listen(o, v, err, len);
	if (!strcmp(flag, "--data")) {
		if (!*v)
			return srv__fail(err, len, "--data: empty directory name");
		return srv__copy(o->data_dir, sizeof(o->data_dir), flag, v, err, len);
	}
	if (!strcmp(flag, "--admin-key-file"))
		return srv__copy(o->admin_key_file, sizeof(o->admin_key_file), flag,
				 v, err, len);
	if (!strcmp(flag, "--log"))
		return srv__copy(o->log_path, sizeof(o->log_path), flag, v, err, len);
	if (!strcmp(flag, "--durability")) {
		if (!strcmp(v, "strict"))
			o->durability = SRV_DURABILITY_STRICT;
		else if (!strcmp(v, "relaxed"))
			o->durability = SRV_DURABILITY_RELAXED;
		else
			return srv__fail(err, len, "--durability: \"%s\" is not "
					 "strict or relaxed", v);
		return 0;
	}
	if (!strcmp(flag, "--threads")) {
		if (srv__count(flag, v, 1, 1024, &n, err, len))
			return -1;
		o->threads = (int)n;
		return 0;
	}
	if (!strcmp(flag, "--max-batch")) {
		if (srv__count(flag, v, 1, 1000000, &n, err, len))
			return -1;
		o->max_batch = (size_t)n;
		return 0;
	}
	if (!strcmp(flag, "--max-machines")) {
		if (srv__count(flag, v, 1, 1000000, &n, err, len))
			return -1;
		o->max_machines = (size_t)n;
		return 0;
	}
	static const struct {
		const char *flag;
		long lo, hi;
		size_t off;
		int size;
	} counts[] = {
#define SRV_OPT(f, lo, hi, field) \
	{f, lo, hi, offsetof(struct srv_options, field), \
	 sizeof(((struct srv_options *)0)->field)}
		SRV_OPT("--tenant-max-machines", 0, 1000000, tenant_max_machines),
		SRV_OPT("--rate", 0, 1000000, rate),
		SRV_OPT("--rate-burst", 1, 1000000, rate_burst),
		SRV_OPT("--max-json-depth", 1, 10000, max_json_depth),
		SRV_OPT("--max-connections", 1, 100000, max_connections),
		SRV_OPT("--max-connections-per-ip", 0, 100000, max_conn_per_ip),
		SRV_OPT("--header-timeout", 1, 3600, header_timeout),
		SRV_OPT("--idle-timeout", 1, 86400, conn_timeout),
		SRV_OPT("--sse-max-lag", 1, (long)MM_EVENT_RING_MAX, sse_max_lag),
		SRV_OPT("--sse-heartbeat", 1, 3600, sse_heartbeat),
		SRV_OPT("--max-subscribers", 1, 100000, max_subscribers),
#undef SRV_OPT
	};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if (strcmp(flag, counts[i].flag))
			continue;
		if (srv__count(flag, v, counts[i].lo, counts[i].hi, &n, err, len))
			return -1;
		char *p = (char *)o + counts[i].off;
		if (counts[i].size == sizeof(uint64_t))
			*(uint64_t *)p = (uint64_t)n;
		else if (counts[i].size == sizeof(unsigned))
			*(unsigned *)p = (unsigned)n;
		return 0;
	}
	if (!strcmp(flag, "--behind-proxy")) {
		if (strcmp(v, "1") && strcmp(v, "0"))
			return srv__fail(err, len, "--behind-proxy: \"%s\" is not "
					 "1 or 0", v);
		o->behind_proxy = v[0] == '1';
		return 0;
	}
	if (!strcmp(flag, "--max-memory") || !strcmp(flag, "--tenant-max-memory")) {
		struct api_error e;
		uint64_t bytes;
		json_t *j = json_string(v);
		int rc = j ? api_parse_size(j, flag, &bytes, &e) : -1;
		json_decref(j);
		if (rc || bytes < (1u << 20) || bytes > (1ull << 46))
			return srv__fail(err, len, "%s: \"%s\" is not a size in "
					 "[1M, 64T]", flag, v);
		*(!strcmp(flag, "--max-memory") ? &o->max_memory
						: &o->tenant_max_memory) = bytes;
		return 0;
	}
	if (!strcmp(flag, "--max-body")) {
		struct api_error e;
		uint64_t bytes;
		json_t *j = json_string(v);
		int rc = j ? api_parse_size(j, "--max-body", &bytes, &e) : -1;
		json_decref(j);
		if (rc)
			return srv__fail(err, len, "--max-body: \"%s\" is not a size "
					 "(bytes, or binary units like 8M)", v);
		if (bytes < 1024 || bytes > (1ull << 30))
			return srv__fail(err, len, "--max-body: %s is outside "
					 "[1K, 1G]", v);
		o->max_body = (size_t)bytes;
		return 0;
	}
	return srv__fail(err, len, "unknown option %s", flag);
}

static const struct {
	const char *flag, *env;
} srv_envs[] = {
	{"--listen", "MMSIM_LISTEN"},
	{"--data", "MMSIM_DATA"},
	{"--admin-key-file", "MMSIM_ADMIN_KEY_FILE"},
	{"--durability", "MMSIM_DURABILITY"},
	{"--threads", "UV_THREADPOOL_SIZE"},
	{"--max-body", "MMSIM_MAX_BODY"},
	{"--max-batch", "MMSIM_MAX_BATCH"},
	{"--max-machines", "MMSIM_MAX_MACHINES"},
	{"--log", "MMSIM_LOG"},
	{"--max-memory", "MMSIM_MAX_MEMORY"},
	{"--tenant-max-machines", "MMSIM_TENANT_MAX_MACHINES"},
	{"--tenant-max-memory", "MMSIM_TENANT_MAX_MEMORY"},
	{"--rate", "MMSIM_RATE"},
	{"--rate-burst", "MMSIM_RATE_BURST"},
	{"--max-json-depth", "MMSIM_MAX_JSON_DEPTH"},
	{"--max-connections", "MMSIM_MAX_CONNECTIONS"},
	{"--max-connections-per-ip", "MMSIM_MAX_CONNECTIONS_PER_IP"},
	{"--behind-proxy", "MMSIM_BEHIND_PROXY"},
	{"--header-timeout", "MMSIM_HEADER_TIMEOUT"},
	{"--idle-timeout", "MMSIM_IDLE_TIMEOUT"},
	{"--sse-max-lag", "MMSIM_SSE_MAX_LAG"},
	{"--sse-heartbeat", "MMSIM_SSE_HEARTBEAT"},
	{"--max-subscribers", "MMSIM_MAX_SUBSCRIBERS"},
};

int srv_options_parse(struct srv_options *o, int argc, char **argv, char *err,
		      size_t errlen)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->port = 8080;
	snprintf(o->data_dir, sizeof(o->data_dir), "./var");
	o->durability = SRV_DURABILITY_STRICT;
	o->threads = 4;
	o->max_body = 8u << 20;
	snprintf(o->log_path, sizeof(o->log_path), "-");
	o->max_batch = 10000;
	o->max_machines = 4096;
	o->max_memory = 256ull << 30; /* 2 GiB of frame descriptors */
	o->conn_timeout = 30;
	o->tenant_max_machines = 256;
	o->tenant_max_memory = 64ull << 30;
	o->rate = 0;
	o->rate_burst = 100;
	o->max_json_depth = SRV_JSON_MAX_DEPTH;
	o->max_connections = 1000;
	o->max_conn_per_ip = 256;
	o->header_timeout = 10;
	o->sse_max_lag = 256;
	o->sse_heartbeat = 15;
	o->max_subscribers = 1024;

	for (size_t i = 0; i < sizeof(srv_envs) / sizeof(srv_envs[0]); i++) {
		const char *v = getenv(srv_envs[i].env);
		if (v && *v) {
			char sub[256];
			if (srv__set(o, srv_envs[i].flag, v, sub, sizeof(sub)))
				return srv__fail(err, errlen, "%s (from $%s)", sub,
						 srv_envs[i].env);
		}
	}
	for (int i = 1; i < argc; i++) {
		char flag[64];
		const char *a = argv[i], *v, *eq;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			srv_options_usage(stdout);
			return 1;
		}
		if (strncmp(a, "--", 2) != 0)
			return srv__fail(err, errlen, "unexpected argument \"%s\"", a);
		eq = strchr(a, '=');
		size_t flen = eq ? (size_t)(eq - a) : strlen(a);
		if (flen >= sizeof(flag))
			return srv__fail(err, errlen, "unknown option %s", a);
		memcpy(flag, a, flen);
		flag[flen] = '\0';
		size_t k = 0;
		while (k < sizeof(srv_envs) / sizeof(srv_envs[0]) &&
		       strcmp(srv_envs[k].flag, flag))
			k++;
		if (k == sizeof(srv_envs) / sizeof(srv_envs[0]))
			return srv__fail(err, errlen, "unknown option %s", flag);
		if (eq) {
			v = eq + 1;
		} else if (!strcmp(flag, "--behind-proxy")) {
			v = "1"; /* a switch */
		} else {
			if (i + 1 >= argc)
				return srv__fail(err, errlen, "%s needs a value", flag);
			v = argv[++i];
		}
		if (srv__set(o, flag, v, err, errlen))
			return -1;
	}
	if (o->behind_proxy)
		o->max_conn_per_ip = 0;
	return 0;
}
