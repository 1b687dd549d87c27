/*
 * error.c — the one error shape of SPEC §4:
 *
 *   {"error":{"code":"INVALID_ARGUMENT","status":400,"message":"…","details":{…}}}
 *
 * Codes follow the status (400 INVALID_ARGUMENT, 404 NOT_FOUND, …) except
 * 422, whose code is the errno name of a simulated syscall ("ENOMEM") with
 * details.op naming the operation.  The errno texts are glibc's strerror()
 * strings, spelled out here so answers never depend on the host's locale.
 */
#include "api/ops.h"

#include <stdarg.h>
#include <stdio.h>

const char *api_status_code(int status)
{
	switch (status) {
	case 400: return "INVALID_ARGUMENT";
	case 401: return "UNAUTHENTICATED";
	case 403: return "PERMISSION_DENIED";
	case 404: return "NOT_FOUND";
	case 405: return "METHOD_NOT_ALLOWED";
	case 409: return "ALREADY_EXISTS";
	case 413: return "PAYLOAD_TOO_LARGE";
	case 415: return "UNSUPPORTED_MEDIA_TYPE";
	case 429: return "RESOURCE_EXHAUSTED";
	case 500: return "INTERNAL";
	case 503: return "UNAVAILABLE";
	default: return "UNKNOWN";
	}
}

const char *api_errno_message(int err)
{
	switch (err < 0 ? -err : err) {
	case MM_EPERM: return "Operation not permitted";
	case MM_ENOENT: return "No such file or directory";
	case MM_ESRCH: return "No such process";
	case MM_EINTR: return "Interrupted system call";
	case MM_EIO: return "Input/output error";
	case MM_ENXIO: return "No such device or address";
	case MM_E2BIG: return "Argument list too long";
	case MM_ENOEXEC: return "Exec format error";
	case MM_EBADF: return "Bad file descriptor";
	case MM_ECHILD: return "No child processes";
	case MM_EAGAIN: return "Resource temporarily unavailable";
	case MM_ENOMEM: return "Cannot allocate memory";
	case MM_EACCES: return "Permission denied";
	case MM_EFAULT: return "Bad address";
	case MM_EBUSY: return "Device or resource busy";
	case MM_EEXIST: return "File exists";
	case MM_ENODEV: return "No such device";
	case MM_EINVAL: return "Invalid argument";
	case MM_ENFILE: return "Too many open files in system";
	case MM_EMFILE: return "Too many open files";
	case MM_EFBIG: return "File too large";
	case MM_ENOSPC: return "No space left on device";
	case MM_ERANGE: return "Numerical result out of range";
	case MM_ENAMETOOLONG: return "File name too long";
	case MM_EOVERFLOW: return "Value too large for defined data type";
	default: return "Unknown error";
	}
}

/*
 * Replaces every byte that is not part of a well-formed UTF-8 sequence with
 * '?' (messages quote user input such as path segments, and truncation may
 * cut a sequence): JSON strings must be valid UTF-8.
 */
static void api__utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	while (*p) {
		int n = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 1
			: (*p & 0xf0) == 0xe0 ? 2
			: (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 3 : -1;
		int k = 1;
		for (; n > 0 && k <= n; k++)
			if ((p[k] & 0xc0) != 0x80)
				break;
		/* overlong 3/4-byte forms, surrogates, > U+10FFFF */
		if (n == 2 && k == 3 &&
		    ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] >= 0xa0)))
			n = -1;
		if (n == 3 && k == 4 &&
		    ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] >= 0x90)))
			n = -1;
		if (n < 0 || (n > 0 && k != n + 1)) {
			*p++ = '?';
			continue;
		}
		p += n + 1;
	}
}

json_t *api_error_vnew(int status, const char *code, json_t *details,
		       const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	json_t *o = json_object();
	json_object_set_new(o, "code", json_string(code ? code
							: api_status_code(status)));
	json_object_set_new(o, "status", json_integer(status));
	api__utf8_sanitize(msg);
	json_object_set_new(o, "message", json_string(msg));
	json_object_set_new(o, "details", details ? details : json_object());
	return o;
}

json_t *api_error_new(int status, const char *code, json_t *details,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	json_t *o = api_error_vnew(status, code, details, fmt, ap);
	va_end(ap);
	return o;
}

json_t *api_error_invalid(const struct api_error *e)
{
	json_t *d = json_object();
	char field[sizeof(e->field)];

	snprintf(field, sizeof(field), "%s", e->field);
	api__utf8_sanitize(field);
	if (field[0])
		json_object_set_new(d, "field", json_string(field));
	return api_error_new(400, NULL, d, "%s", e->message);
}

json_t *api_error_errno(const char *op, int err)
{
	json_t *d = json_object();
	json_object_set_new(d, "op", json_string(op));
	return api_error_new(422, mm_errname(err), d, "%s: %s (%s)", op,
			     api_errno_message(err), mm_errname(err));
}

json_t *api_error_wrap(json_t *inner)
{
	json_t *o = json_object();
	json_object_set_new(o, "error", inner);
	return o;
}
