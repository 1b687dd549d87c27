/*
 * labs.c — graded lab exercises (SPEC §4.1 /v1/labs), defined as data:
 * one JSON file per lab in the labs directory (clients/labs/ in the tree,
 * copied beside mmsimd by the build).  docs/web-ui.md describes the format;
 * in short:
 *
 *   {"id", "title", "summary", "concept", "config", "setup": [records],
 *    "tasks": [{"id", "prompt", "points"?, "check", "explain", "hint"}],
 *    "solution": {"ops": [records], "answers": {…}},
 *    "wrong": {"ops": [records], "answers": {…}}}
 *
 * A check is a small predicate evaluated over the machine's read views
 * (the same JSON and /proc text the GET routes answer) or over the
 * submitted answers:
 *
 *   {"get": VIEW, "path": P, "op"?: "==" | "!=" | "<" | "<=" | ">" | ">=",
 *    "value": V | "ref": P2, "ref_get"?: VIEW2}
 *                                      a value of a JSON view, against a
 *                                      constant or another value (of the
 *                                      same view, or of VIEW2)
 *   {"get": VIEW, "text": true, "regex": R, "absent"?: true}
 *                                      a regex over a view's Linux text
 *   {"answer": KEY, "equals": V | "regex": R | "get": VIEW, "path": P}
 *                                      a submitted answer
 *   {"all": [checks]} · {"any": [checks]}
 *
 * VIEW is "zones", "proc/NAME", "processes", "processes/PID",
 * "processes/PID/{maps,smaps,status}", "pagetable/PID/ADDR",
 * "frames/PFN", "kmemCaches/NAME" or "translate/ADDR".  A path is
 * dot-separated: object keys, array indexes, "#" (length of the array or
 * object) and "[key=value]" (the first array element whose key is value).
 *
 * Files are validated at start (a malformed lab stops the server: labs
 * ship with it), every lab must have a task graded from the machine's
 * state, and GET answers never include the solutions.  Grading is a pure
 * function of (lab, machine state, answers): deterministic, feedback
 * capped at SRV_LAB_FEEDBACK_MAX bytes per task.
 */
#include "server/srv.h"

#include <dirent.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/ops.h"

#define SRV_LABS_MAX 64
#define SRV_LAB_TASKS_MAX 32
#define SRV_LAB_FEEDBACK_MAX 400
#define SRV_LAB_DEPTH_MAX 8

struct srv_labs {
	json_t *v[SRV_LABS_MAX]; /* sorted by id */
	size_t n;
};

/* ---- views ------------------------------------------------------------------ */

/* Parses a whole decimal or 0x hex number. */
static bool srv__num(const char *s, uint64_t *out)
{
	json_t *j = json_string(s);
	struct api_error e;
	bool ok = j && api_parse_addr(j, "x", out, &e) == 0;
	json_decref(j);
	return ok;
}

/*
 * The view named by v: a JSON value (new reference) or, with text, Linux
 * text in *text (malloc'd).  NULL / -1 when the machine has no such thing
 * (a process that exited, a cache destroyed) or the name is not a view.
 * With mm NULL only the name is checked (load-time validation).
 */
static json_t *srv__view(const struct mm_machine *mm, const char *v,
			 bool text, char **out_text, bool *known)
{
	char a[64] = "", b[64] = "", c[64] = "";
	uint64_t n1 = 0, n2 = 0;
	int parts = sscanf(v, "%63[^/]/%63[^/]/%63s", a, b, c);

	*known = true;
	if (parts == 1 && !strcmp(a, "zones") && !text)
		return mm ? api_zones_json(mm) : NULL;
	if (parts == 1 && !strcmp(a, "processes") && !text) {
		if (!mm)
			return NULL;
		int32_t pids[MM_MAX_TASKS];
		int n = api_process_pids(mm, pids);
		json_t *arr = json_array();
		for (int i = 0; i < n; i++)
			json_array_append_new(arr, api_process_json(
				mm, mm_task_get(mm, pids[i]), false));
		return arr;
	}
	if (parts == 2 && !strcmp(a, "proc")) {
		if (!mm)
			return NULL;
		if (text)
			return api_proc_text(mm, b, out_text) ? NULL : json_true();
		return api_proc_json(mm, b);
	}
	if (parts >= 2 && !strcmp(a, "processes") && srv__num(b, &n1) &&
	    n1 <= INT32_MAX) {
		if (parts == 2 && !text)
			return mm && mm_task_get(mm, (int)n1)
				? api_process_json(mm, mm_task_get(mm, (int)n1), true)
				: NULL;
		if (parts == 3 && (!strcmp(c, "maps") || !strcmp(c, "smaps") ||
				   !strcmp(c, "status"))) {
			if (!mm || !mm_task_get(mm, (int)n1))
				return NULL;
			if (text)
				return api_pid_proc_text(mm, (int)n1, c, out_text)
					? NULL : json_true();
			return api_pid_proc_json(mm, (int)n1, c);
		}
	}
	if (parts == 3 && !strcmp(a, "pagetable") && !text && srv__num(b, &n1) &&
	    n1 <= INT32_MAX && srv__num(c, &n2))
		return mm ? api_pagetable_json(mm, (int)n1, n2) : NULL;
	if (parts == 2 && !strcmp(a, "frames") && !text && srv__num(b, &n1))
		return mm && n1 < mm->nr_pfns ? api_frame_json(mm, (uint32_t)n1)
					       : NULL;
	if (parts == 2 && !strcmp(a, "translate") && !text && srv__num(b, &n1))
		return mm ? api_translate_json(mm, n1) : NULL;
	if (parts == 2 && !strcmp(a, "kmemCaches") && !text) {
		int id = mm ? mm_kmem_cache_lookup(mm, b) : -1;
		return id >= 0 ? api_kmem_cache_json(mm, id) : NULL;
	}
	*known = false;
	return NULL;
}

/* Follows path from root (borrowed result; NULL when it leads nowhere).
 * "#" answers a new integer kept alive in *tmp. */
static json_t *srv__path(json_t *root, const char *path, json_t **tmp)
{
	char seg[128];
	json_t *cur = root;

	while (cur && *path) {
		size_t n = strcspn(path, ".");
		if (path[0] == '[') {
			const char *close = strchr(path, ']');
			n = close ? (size_t)(close - path) + 1 : strlen(path);
		}
		if (n == 0 || n >= sizeof(seg))
			return NULL;
		memcpy(seg, path, n);
		seg[n] = '\0';
		path += n;
		if (*path == '.')
			path++;
		char *eq;
		if (!strcmp(seg, "#")) {
			size_t len = json_is_array(cur) ? json_array_size(cur)
				: json_is_object(cur) ? json_object_size(cur) : 0;
			if (!json_is_array(cur) && !json_is_object(cur))
				return NULL;
			json_decref(*tmp);
			*tmp = json_integer((json_int_t)len);
			cur = *tmp;
		} else if (seg[0] == '[' && seg[n - 1] == ']' &&
			   (eq = strchr(seg, '='))) {
			seg[n - 1] = '\0';
			*eq = '\0';
			json_t *el, *hit = NULL;
			size_t i;
			if (!json_is_array(cur))
				return NULL;
			json_array_foreach(cur, i, el) {
				json_t *k = json_object_get(el, seg + 1);
				char num[32];
				const char *s = json_string_value(k);
				if (json_is_integer(k)) {
					snprintf(num, sizeof(num), "%lld",
						 (long long)json_integer_value(k));
					s = num;
				}
				if (s && !strcmp(s, eq + 1)) {
					hit = el;
					break;
				}
			}
			cur = hit;
		} else if (json_is_array(cur)) {
			char *end;
			long i = strtol(seg, &end, 10);
			cur = *end || i < 0 ? NULL : json_array_get(cur, (size_t)i);
		} else {
			cur = json_object_get(cur, seg);
		}
	}
	return cur;
}

/* ---- comparisons -------------------------------------------------------------- */

/* A number from a JSON number or a numeric string ("12", "0x1f"). */
static bool srv__as_num(const json_t *v, double *out)
{
	uint64_t u;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	const char *s = json_string_value(v);
	while (s && (*s == ' ' || *s == '\t'))
		s++;
	char buf[64];
	if (!s || strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	for (size_t n = strlen(buf); n && (buf[n - 1] == ' ' || buf[n - 1] == '\t');)
		buf[--n] = '\0';
	if (buf[0] == '-' && srv__num(buf + 1, &u)) {
		*out = -(double)u;
		return true;
	}
	if (!srv__num(buf, &u))
		return false;
	*out = (double)u;
	return true;
}

/* Loose equality for answers and values: numbers numerically (also when
 * written as strings), strings trimmed and case-insensitive, the rest
 * structurally. */
static bool srv__equal(const json_t *a, const json_t *b)
{
	double x, y;

	if ((json_is_number(a) || json_is_number(b)) && srv__as_num(a, &x) &&
	    srv__as_num(b, &y))
		return x == y;
	if (json_is_string(a) && json_is_string(b)) {
		const char *s = json_string_value(a), *t = json_string_value(b);
		while (*s == ' ')
			s++;
		while (*t == ' ')
			t++;
		size_t n = strlen(s), m = strlen(t);
		while (n && s[n - 1] == ' ')
			n--;
		while (m && t[m - 1] == ' ')
			m--;
		return n == m && !strncasecmp(s, t, n);
	}
	return json_equal((json_t *)a, (json_t *)b);
}

static bool srv__compare(const json_t *got, const char *op, const json_t *want)
{
	double x, y;

	if (!strcmp(op, "=="))
		return srv__equal(got, want);
	if (!strcmp(op, "!="))
		return !srv__equal(got, want);
	if (!srv__as_num(got, &x) || !srv__as_num(want, &y))
		return false;
	if (!strcmp(op, "<"))
		return x < y;
	if (!strcmp(op, "<="))
		return x <= y;
	if (!strcmp(op, ">"))
		return x > y;
	return x >= y; /* ">=" (validated at load) */
}

static bool srv__regex(const char *re, const char *text)
{
	regex_t r;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
		return false;
	bool hit = regexec(&r, text, 0, NULL, 0) == 0;
	regfree(&r);
	return hit;
}

/* ---- evaluation --------------------------------------------------------------- */

/* Drops a UTF-8 sequence that a cut left incomplete at the end of s. */
static void srv__utf8_cut(char *s)
{
	size_t n = strlen(s), i = n;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i > 0 && ((unsigned char)s[i - 1] & 0x80)) {
		unsigned char lead = (unsigned char)s[i - 1];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
		if (n - (i - 1) < need)
			s[i - 1] = '\0';
	}
}

struct srv_grade {
	const struct mm_machine *mm; /* NULL: no machine given */
	const json_t *answers;
	char why[200];               /* what was observed, on failure */
};

static void srv__why(struct srv_grade *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void srv__why(struct srv_grade *g, const char *fmt, ...)
{
	va_list ap;

	if (g->why[0])
		return; /* the first failure explains best */
	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	srv__utf8_cut(g->why);
}

/* The compact JSON of v, cut to fit a feedback line. */
static void srv__show(const json_t *v, char *buf, size_t cap)
{
	char *s = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	snprintf(buf, cap, "%s", s ? s : "nothing");
	if (s && strlen(s) >= cap && cap > 4)
		strcpy(buf + cap - 4, "...");
	free(s);
}

static bool srv__eval(const json_t *c, struct srv_grade *g);

static bool srv__eval_answer(const json_t *c, struct srv_grade *g)
{
	const char *key = json_string_value(json_object_get(c, "answer"));
	json_t *ans = json_object_get(g->answers, key);
	const json_t *eqv = json_object_get(c, "equals");
	const char *re = json_string_value(json_object_get(c, "regex"));
	const char *view = json_string_value(json_object_get(c, "get"));
	bool ok = false;

	if (!ans || json_is_null(ans)) {
		srv__why(g, "no answer \"%s\" was given", key);
		return false;
	}
	if (eqv) {
		ok = srv__equal(ans, eqv);
	} else if (re) {
		ok = json_is_string(ans) ? srv__regex(re, json_string_value(ans))
					 : false;
		if (!ok && json_is_number(ans)) {
			char num[64];
			srv__show(ans, num, sizeof(num));
			ok = srv__regex(re, num);
		}
	} else if (view) {
		bool known;
		char *unused = NULL;
		json_t *tmp = NULL;
		if (!g->mm) {
			srv__why(g, "answer \"%s\" is checked against the machine, "
				 "and no machine was given", key);
			return false;
		}
		json_t *root = srv__view(g->mm, view, false, &unused, &known);
		json_t *want = srv__path(root,
			json_string_value(json_object_get(c, "path")), &tmp);
		ok = want && srv__equal(ans, want);
		json_decref(tmp);
		json_decref(root);
	}
	if (!ok)
		srv__why(g, "answer \"%s\" is not right", key);
	return ok;
}

static bool srv__eval_get(const json_t *c, struct srv_grade *g)
{
	const char *view = json_string_value(json_object_get(c, "get"));
	bool text = json_is_true(json_object_get(c, "text")), known;
	char *t = NULL, shown[200];
	json_t *tmp = NULL;
	bool ok = false;

	if (!g->mm) {
		srv__why(g, "this task is graded from the machine, and no machine "
			 "was given");
		return false;
	}
	json_t *root = srv__view(g->mm, view, text, &t, &known);
	if (!root) {
		srv__why(g, "the machine has no %s", view);
		return false;
	}
	if (text) {
		const char *re = json_string_value(json_object_get(c, "regex"));
		bool absent = json_is_true(json_object_get(c, "absent"));
		ok = srv__regex(re, t) != absent;
		if (!ok)
			srv__why(g, "%s %s /%.100s/", view, absent ? "still matches"
				 : "does not match", re);
		free(t);
		json_decref(root);
		return ok;
	}
	const char *path = json_string_value(json_object_get(c, "path"));
	const char *op = json_string_value(json_object_get(c, "op"));
	json_t *got = srv__path(root, path, &tmp), *tmp2 = NULL;
	const json_t *want = json_object_get(c, "value");
	const char *ref = json_string_value(json_object_get(c, "ref"));
	const char *ref_view = json_string_value(json_object_get(c, "ref_get"));
	json_t *ref_root = ref_view ? srv__view(g->mm, ref_view, false, &t, &known)
				    : json_incref(root);
	if (ref)
		want = srv__path(ref_root, ref, &tmp2);
	ok = got && want && srv__compare(got, op ? op : "==", want);
	if (!ok) {
		srv__show(got, shown, sizeof(shown));
		srv__why(g, "%s: %s is %s", view, path, shown);
	}
	json_decref(tmp);
	json_decref(tmp2);
	json_decref(ref_root);
	json_decref(root);
	return ok;
}

static bool srv__eval(const json_t *c, struct srv_grade *g)
{
	json_t *list, *el;
	size_t i;

	if ((list = json_object_get(c, "all"))) {
		json_array_foreach(list, i, el)
			if (!srv__eval(el, g))
				return false;
		return true;
	}
	if ((list = json_object_get(c, "any"))) {
		json_array_foreach(list, i, el)
			if (srv__eval(el, g)) {
				g->why[0] = '\0';
				return true;
			}
		return false;
	}
	if (json_object_get(c, "answer"))
		return srv__eval_answer(c, g);
	return srv__eval_get(c, g);
}

json_t *srv_lab_grade(const json_t *lab, const struct mm_machine *mm,
		      const json_t *answers)
{
	json_t *tasks = json_array(), *t;
	int score = 0, max = 0;
	size_t i;

	json_array_foreach(json_object_get(lab, "tasks"), i, t) {
		struct srv_grade g = {.mm = mm, .answers = answers};
		json_t *pts = json_object_get(t, "points");
		int points = pts ? (int)json_integer_value(pts) : 1;
		bool ok = srv__eval(json_object_get(t, "check"), &g);
		char fb[SRV_LAB_FEEDBACK_MAX];
		const char *say = json_string_value(json_object_get(
			t, ok ? "explain" : "hint"));
		if (ok || !g.why[0])
			snprintf(fb, sizeof(fb), "%s", say ? say : "");
		else
			snprintf(fb, sizeof(fb), "%.190s (%s)", say ? say : "", g.why);
		srv__utf8_cut(fb);
		max += points;
		score += ok ? points : 0;
		json_array_append_new(tasks, json_pack(
			"{s:O, s:b, s:i, s:s}", "id", json_object_get(t, "id"),
			"ok", ok, "points", ok ? points : 0, "feedback", fb));
	}
	return json_pack("{s:O, s:i, s:i, s:o}", "lab", json_object_get(lab, "id"),
			 "score", score, "max", max, "tasks", tasks);
}

/* ---- loading and validation ----------------------------------------------------- */

static int srv__bad(char *err, size_t len, const char *file, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));
static int srv__bad(char *err, size_t len, const char *file, const char *fmt,
		    ...)
{
	va_list ap;
	int n = snprintf(err, len, "lab %s: ", file);

	va_start(ap, fmt);
	if (n > 0 && (size_t)n < len)
		vsnprintf(err + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static bool srv__str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);
	return json_is_string(v) && json_string_length(v) > 0;
}

/* Validates a check; *machine is set when it reads the machine. */
static int srv__check_ok(const json_t *c, int depth, bool *machine,
			 const char **why)
{
	static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">=", NULL};
	json_t *list, *el;
	size_t i;
	regex_t r;

	*why = "a check must be an object with all, any, answer or get";
	if (!json_is_object(c) || depth > SRV_LAB_DEPTH_MAX)
		return -1;
	if ((list = json_object_get(c, "all")) || (list = json_object_get(c, "any"))) {
		if (!json_is_array(list) || !json_array_size(list))
			return -1;
		json_array_foreach(list, i, el)
			if (srv__check_ok(el, depth + 1, machine, why))
				return -1;
		return 0;
	}
	const char *re = json_string_value(json_object_get(c, "regex"));
	*why = "bad regex";
	if (re) {
		if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
			return -1;
		regfree(&r);
	}
	const char *view = json_string_value(json_object_get(c, "get"));
	bool text = json_is_true(json_object_get(c, "text")), known;
	char *unused = NULL;
	const char *ref_view = json_string_value(json_object_get(c, "ref_get"));
	*why = "unknown view in \"get\" or \"ref_get\"";
	if (view) {
		srv__view(NULL, view, text, &unused, &known);
		if (!known)
			return -1;
	}
	if (ref_view) {
		srv__view(NULL, ref_view, false, &unused, &known);
		if (!known || !srv__str(c, "ref"))
			return -1;
	}
	if (json_object_get(c, "answer")) {
		*why = "an answer check needs answer and one of equals, regex, "
		       "get+path";
		if (!srv__str(c, "answer"))
			return -1;
		if (view)
			*machine = true;
		return json_object_get(c, "equals") || re ||
		       (view && srv__str(c, "path")) ? 0 : -1;
	}
	*why = "a get check needs text+regex or path with value or ref";
	if (!view)
		return -1;
	*machine = true;
	if (text)
		return re ? 0 : -1;
	const char *op = json_string_value(json_object_get(c, "op"));
	int k = 0;
	while (op && ops[k] && strcmp(ops[k], op))
		k++;
	if (op && !ops[k]) {
		*why = "op must be ==, !=, <, <=, > or >=";
		return -1;
	}
	return srv__str(c, "path") && (json_object_get(c, "value") ||
				       srv__str(c, "ref")) ? 0 : -1;
}

/* An operation file: {"ops": [records], "answers"?: {…}}. */
static bool srv__opfile_ok(const json_t *f)
{
	json_t *ops = json_object_get(f, "ops"), *rec;
	json_t *ans = json_object_get(f, "answers");
	size_t i;

	if (!json_is_object(f) || !json_is_array(ops) ||
	    (ans && !json_is_object(ans)))
		return false;
	json_array_foreach(ops, i, rec)
		if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "op")))
			return false;
	return true;
}

/* Checks one lab definition read from file (named for messages). */
static int srv__lab_ok(const json_t *lab, const char *file, char *err,
		       size_t len)
{
	static const char *const keys[] = {"id", "title", "summary", "concept",
		"config", "setup", "tasks", "solution", "wrong", NULL};
	const char *key, *why;
	json_t *v, *t;
	size_t i;
	struct mm_config cfg;
	struct api_error e;

	if (!json_is_object(lab))
		return srv__bad(err, len, file, "not a JSON object");
	json_object_foreach((json_t *)lab, key, v) {
		int k = 0;
		while (keys[k] && strcmp(keys[k], key))
			k++;
		if (!keys[k])
			return srv__bad(err, len, file, "unknown key \"%s\"", key);
	}
	const char *id = json_string_value(json_object_get(lab, "id"));
	if (!id || !*id || strlen(id) > 40 || strspn(id, "abcdefghijklmnopqrstuvwxyz"
						     "0123456789-") != strlen(id))
		return srv__bad(err, len, file, "id must be [a-z0-9-]{1,40}");
	if (!srv__str(lab, "title") || !srv__str(lab, "summary") ||
	    !srv__str(lab, "concept"))
		return srv__bad(err, len, file, "title, summary and concept are "
				"required strings");
	if (api_config_decode(json_object_get(lab, "config"), &cfg, &e))
		return srv__bad(err, len, file, "config.%s: %s", e.field, e.message);
	json_t *setup = json_object_get(lab, "setup");
	json_t *wrap = json_pack("{s:O}", "ops", setup ? setup : json_array());
	bool setup_ok = srv__opfile_ok(wrap);
	json_decref(wrap);
	if (!setup_ok)
		return srv__bad(err, len, file, "setup must be a list of operation "
				"records");
	if (!srv__opfile_ok(json_object_get(lab, "solution")) ||
	    !srv__opfile_ok(json_object_get(lab, "wrong")))
		return srv__bad(err, len, file, "solution and wrong must be "
				"{\"ops\": [records], \"answers\"?: {…}}");
	json_t *tasks = json_object_get(lab, "tasks");
	if (!json_is_array(tasks) || !json_array_size(tasks) ||
	    json_array_size(tasks) > SRV_LAB_TASKS_MAX)
		return srv__bad(err, len, file, "tasks: 1 to %d tasks",
				SRV_LAB_TASKS_MAX);
	bool any_machine = false;
	json_array_foreach(tasks, i, t) {
		bool machine = false;
		json_t *pts = json_object_get(t, "points");
		if (!srv__str(t, "id") || !srv__str(t, "prompt") ||
		    !srv__str(t, "explain") || !srv__str(t, "hint"))
			return srv__bad(err, len, file, "tasks[%zu]: id, prompt, "
					"explain and hint are required", i);
		for (size_t k = 0; k < i; k++)
			if (json_equal(json_object_get(t, "id"), json_object_get(
					json_array_get(tasks, k), "id")))
				return srv__bad(err, len, file, "tasks[%zu]: "
						"duplicate id", i);
		if (pts && (!json_is_integer(pts) || json_integer_value(pts) < 1 ||
			    json_integer_value(pts) > 100))
			return srv__bad(err, len, file, "tasks[%zu].points: 1..100",
					i);
		if (srv__check_ok(json_object_get(t, "check"), 0, &machine, &why))
			return srv__bad(err, len, file, "tasks[%zu].check: %s", i,
					why);
		any_machine |= machine;
	}
	if (!any_machine)
		return srv__bad(err, len, file, "no task is graded from the "
				"machine's state");
	return 0;
}

static int srv__by_id(const void *a, const void *b)
{
	return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "id")),
		      json_string_value(json_object_get(*(json_t *const *)b, "id")));
}

int srv_labs_load(const char *dir, struct srv_labs **out, char *err,
		  size_t errlen)
{
	struct srv_labs *labs = calloc(1, sizeof(*labs));
	struct dirent *de;
	DIR *d = dir && *dir ? opendir(dir) : NULL;

	*out = labs;
	if (!labs)
		return srv__bad(err, errlen, dir, "out of memory");
	if (!d)
		return 0; /* no labs installed */
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char path[1400], stem[64];
		json_error_t je;
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") ||
		    de->d_name[0] == '.')
			continue;
		if (labs->n == SRV_LABS_MAX) {
			closedir(d);
			return srv__bad(err, errlen, de->d_name, "more than %d labs",
					SRV_LABS_MAX);
		}
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		json_t *lab = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
		if (!lab) {
			closedir(d);
			return srv__bad(err, errlen, de->d_name, "line %d: %s",
					je.line, je.text);
		}
		snprintf(stem, sizeof(stem), "%.*s", (int)(n - 5), de->d_name);
		if (srv__lab_ok(lab, de->d_name, err, errlen) ||
		    (strcmp(stem, json_string_value(json_object_get(lab, "id"))) &&
		     srv__bad(err, errlen, de->d_name, "id must match the file "
			      "name"))) {
			json_decref(lab);
			closedir(d);
			return -1;
		}
		labs->v[labs->n++] = lab;
	}
	closedir(d);
	qsort(labs->v, labs->n, sizeof(labs->v[0]), srv__by_id);
	return 0;
}

void srv_labs_free(struct srv_labs *labs)
{
	for (size_t i = 0; labs && i < labs->n; i++)
		json_decref(labs->v[i]);
	free(labs);
}

const json_t *srv_lab_find(const struct srv_labs *labs, const char *id)
{
	for (size_t i = 0; labs && i < labs->n; i++)
		if (!strcmp(json_string_value(json_object_get(labs->v[i], "id")), id))
			return labs->v[i];
	return NULL;
}

/* Appends the answer keys a check reads (the form a UI shows). */
static void srv__answer_keys(const json_t *c, json_t *keys)
{
	json_t *list = json_object_get(c, "all"), *el;
	size_t i;

	if (!list)
		list = json_object_get(c, "any");
	json_array_foreach(list, i, el)
		srv__answer_keys(el, keys);
	json_t *k = json_object_get(c, "answer");
	bool seen = false;
	json_array_foreach(keys, i, el)
		seen |= json_equal(el, k);
	if (json_is_string(k) && !seen)
		json_array_append(keys, k);
}

json_t *srv_lab_public(const json_t *lab, bool detail)
{
	json_t *o = json_pack("{s:O, s:O, s:O}", "id", json_object_get(lab, "id"),
			      "title", json_object_get(lab, "title"), "summary",
			      json_object_get(lab, "summary"));
	json_t *tasks = json_array(), *t;
	size_t i;
	int max = 0;

	json_array_foreach(json_object_get(lab, "tasks"), i, t) {
		json_t *pts = json_object_get(t, "points");
		int p = pts ? (int)json_integer_value(pts) : 1;
		json_t *c = json_object_get(t, "check");
		bool machine = false;
		const char *why;
		srv__check_ok(c, 0, &machine, &why);
		max += p;
		json_t *keys = json_array();
		srv__answer_keys(c, keys);
		json_array_append_new(tasks, json_pack(
			"{s:O, s:O, s:i, s:s, s:o}", "id", json_object_get(t, "id"),
			"prompt", json_object_get(t, "prompt"), "points", p,
			"graded_from", machine ? "machine" : "answer", "answers",
			keys));
	}
	json_object_set_new(o, "max", json_integer(max));
	if (!detail) {
		json_object_set_new(o, "tasks", json_integer((json_int_t)
						json_array_size(tasks)));
		json_decref(tasks);
		return o;
	}
	json_object_set(o, "concept", json_object_get(lab, "concept"));
	json_object_set(o, "config", json_object_get(lab, "config"));
	json_object_set(o, "setup", json_object_get(lab, "setup")
					   ? json_object_get(lab, "setup")
					   : json_array());
	json_object_set_new(o, "tasks", tasks);
	return o;
}

json_t *srv_labs_list(const struct srv_labs *labs)
{
	json_t *items = json_array();

	for (size_t i = 0; labs && i < labs->n; i++)
		json_array_append_new(items, srv_lab_public(labs->v[i], false));
	return json_pack("{s:o}", "items", items);
}
