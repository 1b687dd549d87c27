/*
 * static.c — the web UI's files (SPEC §4.1 "/"): GET / answers
 * DIR/index.html, GET /ui/PATH answers DIR/PATH.
 *
 * Files are read on each request (they are small, and a rebuilt UI shows
 * up without a restart).  The ETag is a 64-bit FNV-1a hash of the content;
 * Cache-Control is "no-cache", so a browser keeps its copy and revalidates
 * it with If-None-Match, answered 304 when unchanged.  Paths are checked
 * before any file is opened: only [A-Za-z0-9._/-], no empty, "." or ".."
 * segment and no segment starting with '.', so nothing outside DIR (and
 * no hidden file inside it) can be named.  Symlinks inside DIR are not
 * followed out of it: O_NOFOLLOW on the last component, and the build
 * copies plain files.
 */
#include "server/srv.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SRV_STATIC_MAX (4u << 20) /* largest file served */

static const struct {
	const char *ext, *type;
} srv_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".mjs", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".json", "application/json"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
	{".txt", "text/plain; charset=utf-8"},
	{".map", "application/json"},
};

/* The Content-Type of a file name, or NULL for an extension not served. */
static const char *srv__type(const char *name)
{
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof(srv_types) / sizeof(srv_types[0]); i++)
		if (!strcmp(dot, srv_types[i].ext))
			return srv_types[i].type;
	return NULL;
}

/* A relative path of safe segments (see the header comment). */
static bool srv__path_ok(const char *p)
{
	if (!*p || strlen(p) > 200)
		return false;
	for (const char *s = p; *s; s++) {
		char c = *s;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
		      c == '/'))
			return false;
		/* each segment starts after a '/' (or at p): not empty, not
		 * hidden, so neither "." nor ".." */
		if ((s == p || s[-1] == '/') && (c == '/' || c == '.'))
			return false;
	}
	return p[strlen(p) - 1] != '/';
}

/* Reads dir/rel (at most SRV_STATIC_MAX bytes): malloc'd text, or NULL. */
static char *srv__read(const char *dir, const char *rel, size_t *len)
{
	char path[1400];
	struct stat st;
	char *buf = NULL;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, rel) >= sizeof(path))
		return NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > SRV_STATIC_MAX)
		goto out;
	buf = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(buf);
			buf = NULL;
			break;
		}
		got += (size_t)n;
	}
	if (buf) {
		buf[got] = '\0';
		*len = got;
	}
out:
	close(fd);
	return buf;
}

bool srv_static(const char *dir, const struct srv_request *req,
		struct srv_response *res)
{
	const char *rel;

	if (!strcmp(req->path, "/"))
		rel = "index.html";
	else if (!strncmp(req->path, "/ui/", 4))
		rel = req->path + 4;
	else
		return false;
	if (strcmp(req->method, "GET")) {
		snprintf(res->allow, sizeof(res->allow), "GET, HEAD");
		srv_reply_error(res, 405, json_pack("{s:s}", "allow", "GET, HEAD"),
				"%s is not allowed on %.200s (allowed: GET, HEAD)",
				req->method, req->path);
		return true;
	}
	if (!srv__path_ok(rel)) {
		srv_reply_error(res, 400, json_pack("{s:s}", "field", "path"),
				"path: \"%.200s\" is not a file name of the web UI",
				req->path);
		return true;
	}
	const char *type = srv__type(rel);
	size_t len = 0;
	char *body = type ? srv__read(dir, rel, &len) : NULL;
	if (!body) {
		srv_reply_error(res, 404, json_pack("{s:s}", "path", req->path),
				"no file %.200s in the web UI", req->path);
		return true;
	}
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)body[i]) * 0x100000001b3ull;
	snprintf(res->etag, sizeof(res->etag), "\"%016llx\"", (unsigned long long)h);
	res->cache_control = "no-cache";
	const char *inm = req->if_none_match;
	if (inm && strstr(inm, res->etag)) {
		free(body);
		srv_reply_text(res, 304, type, "", 0);
		return true;
	}
	free(res->body);
	res->body = body;
	res->len = len;
	res->status = 200;
	res->content_type = type;
	return true;
}
