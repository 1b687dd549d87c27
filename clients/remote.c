/*
 * remote.c — `mmsim get PATH` and `mmsim post PATH [JSON]` (SPEC §7): one
 * HTTP request to a running mmsimd, its answer body on stdout.
 *
 * The server is $MMSIM_URL (default http://127.0.0.1:8080; only http://,
 * an optional path prefix is kept); $MMSIM_KEY, when set, is sent as
 * "Authorization: Bearer KEY".  PATH is appended to the URL as given
 * ("/v1/machines").  POST sends JSON (an argument, "-" for stdin, or no
 * body) as application/json.  The request is HTTP/1.0 so the answer is a
 * plain body ended by the close: no chunked coding to undo.
 *
 * Exit status: 0 for a 2xx answer, 1 for any other status (the body, the
 * error object, is still printed; the status line goes to stderr), 2 for
 * usage or a server that cannot be reached or answers something that is
 * not HTTP.
 */
#include "clients/mmsim.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MMSIM_URL_DEFAULT "http://127.0.0.1:8080"
#define MMSIM_MAX_ANSWER (256u << 20)  /* bound on what is read back */

struct mmsim_url {
	char host[256];
	char port[8];
	char prefix[512];
};

/* Splits "http://HOST[:PORT][/PREFIX]"; -1 (printed) if it is not one. */
static int mmsim__parse_url(const char *url, struct mmsim_url *u)
{
	const char *h = url + strlen("http://"), *slash, *colon;
	size_t hlen;

	if (strncmp(url, "http://", 7))
		goto bad;
	slash = strchr(h, '/');
	hlen = slash ? (size_t)(slash - h) : strlen(h);
	colon = memchr(h, ':', hlen);
	if (h[0] == '[' || hlen == 0 || (colon ? (size_t)(colon - h) : hlen) >=
						  sizeof(u->host))
		goto bad;
	snprintf(u->host, sizeof(u->host), "%.*s",
		 (int)(colon ? colon - h : (long)hlen), h);
	snprintf(u->port, sizeof(u->port), "%.*s",
		 colon ? (int)(hlen - (size_t)(colon - h) - 1) : 2,
		 colon ? colon + 1 : "80");
	if (!u->port[0] || strspn(u->port, "0123456789") != strlen(u->port))
		goto bad;
	snprintf(u->prefix, sizeof(u->prefix), "%s", slash ? slash : "");
	size_t pl = strlen(u->prefix);
	if (pl && u->prefix[pl - 1] == '/')
		u->prefix[pl - 1] = '\0';
	return 0;
bad:
	fprintf(stderr, "mmsim: MMSIM_URL \"%s\" is not http://HOST[:PORT]\n", url);
	return -1;
}

static int mmsim__connect(const struct mmsim_url *u)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
	int fd = -1, rc = getaddrinfo(u->host, u->port, &hints, &res);

	if (rc) {
		fprintf(stderr, "mmsim: %s: %s\n", u->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen)) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	if (fd < 0)
		fprintf(stderr, "mmsim: cannot connect to %s:%s\n", u->host, u->port);
	return fd;
}

static int mmsim__write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads all of stdin (for "post PATH -"); NULL on error. */
static char *mmsim__slurp(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap || cap >= MMSIM_MAX_ANSWER)
			break;
		char *more = realloc(buf, cap * 2);
		if (!more)
			free(buf);
		buf = more;
		cap *= 2;
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	*len = n;
	return buf;
}

/* One request; prints the body and returns the exit status. */
static int mmsim__request(const char *method, const char *path,
			  const char *body, size_t blen)
{
	const char *url = getenv("MMSIM_URL"), *key = getenv("MMSIM_KEY");
	struct mmsim_url u;
	char head[2048 + sizeof(u.prefix)];
	int fd, n;

	if (mmsim__parse_url(url && *url ? url : MMSIM_URL_DEFAULT, &u))
		return 2;
	if (path[0] != '/' || strpbrk(path, " \r\n") || strlen(path) > 1024) {
		fprintf(stderr, "mmsim: PATH must start with / and hold no spaces\n");
		return 2;
	}
	if (key && strpbrk(key, "\r\n")) {
		fprintf(stderr, "mmsim: MMSIM_KEY holds a line break\n");
		return 2;
	}
	n = snprintf(head, sizeof(head),
		     "%s %s%s HTTP/1.0\r\nHost: %s:%s\r\n"
		     "%s%s%s%s",
		     method, u.prefix, path, u.host, u.port,
		     key && *key ? "Authorization: Bearer " : "",
		     key && *key ? key : "", key && *key ? "\r\n" : "",
		     body ? "Content-Type: application/json\r\n" : "");
	n += snprintf(head + n, sizeof(head) - (size_t)n,
		      "Content-Length: %zu\r\n\r\n", body ? blen : 0);
	if ((size_t)n >= sizeof(head))
		return 2;
	fd = mmsim__connect(&u);
	if (fd < 0)
		return 2;
	if (mmsim__write_all(fd, head, (size_t)n) ||
	    (body && mmsim__write_all(fd, body, blen))) {
		fprintf(stderr, "mmsim: the server closed the connection\n");
		close(fd);
		return 2;
	}
	FILE *in = fdopen(fd, "r");
	size_t len = 0;
	char *ans = in ? mmsim__slurp(in, &len) : NULL;
	if (in)
		fclose(in);
	else
		close(fd);
	int status = 0, ret = 2;
	char *end = ans ? memmem(ans, len, "\r\n\r\n", 4) : NULL;
	if (!end || sscanf(ans, "HTTP/1.%*1d %3d", &status) != 1) {
		fprintf(stderr, "mmsim: no HTTP answer from %s:%s\n", u.host, u.port);
		goto out;
	}
	const char *b = end + 4;
	size_t bl = len - (size_t)(b - ans);
	fwrite(b, 1, bl, stdout);
	if (bl && b[bl - 1] != '\n')
		fputc('\n', stdout);
	ret = status >= 200 && status < 300 ? 0 : 1;
	if (ret)
		fprintf(stderr, "mmsim: %s %s: %.*s\n", method, path,
			(int)strcspn(ans, "\r\n"), ans);
out:
	free(ans);
	return ret;
}

int mmsim_remote(int argc, char **argv)
{
	bool post = !strcmp(argv[1], "post");
	char *body = NULL;
	size_t blen = 0;

	if (argc < 3 || argc > (post ? 4 : 3)) {
		mmsim_usage(stderr);
		return 2;
	}
	if (post && argc == 4 && !strcmp(argv[3], "-")) {
		body = mmsim__slurp(stdin, &blen);
		if (!body) {
			fprintf(stderr, "mmsim: cannot read stdin\n");
			return 2;
		}
	} else if (post && argc == 4) {
		body = strdup(argv[3]);
		blen = body ? strlen(body) : 0;
	}
	int rc = mmsim__request(post ? "POST" : "GET", argv[2], body, blen);
	free(body);
	return rc;
}
