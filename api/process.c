/*
 * process.c — JSON views of processes (SPEC §4.1): the objects of
 * GET …/processes and …/processes/{pid}, and /proc/PID/maps, smaps and
 * status as Linux text or as JSON.
 *
 * The JSON forms of the /proc files are parsed from the engine's text
 * renders themselves (as meminfo's are), so the text and the JSON never
 * disagree:
 *   maps    [{"start","end","perms","offset","dev","inode","name"}] —
 *           addresses as lowercase hex strings, offset and inode as
 *           numbers, name null for an anonymous mapping;
 *   smaps   the same objects plus every "Key:  N kB" field under Linux's
 *           key (kB stay kB), "THPeligible" and "VmFlags" (the two-letter
 *           mnemonics as a list);
 *   status  {"Key": value}: a decimal number (kB stay kB) is a number,
 *           tab-separated decimals (Uid, Gid) a list of numbers, anything
 *           else — hex masks, the octal umask, "R (running)" — the text.
 */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON string of engine text that is expected to be ASCII. */
static json_t *api__str(const char *s)
{
	json_t *j = json_string(s);
	return j ? j : json_string("(not UTF-8)");
}

static int api__pid_cmp(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

int api_process_pids(const struct mm_machine *m, int32_t *pids)
{
	int n = 0;

	for (uint32_t i = 0; i < MM_MAX_TASKS; i++)
		if (m->tasks[i].pid > 0)
			pids[n++] = m->tasks[i].pid;
	qsort(pids, (size_t)n, sizeof(*pids), api__pid_cmp);
	return n;
}

json_t *api_process_json(const struct mm_machine *m, const struct mm_task *t,
			 bool detail)
{
	const struct mm_mm *mm = mm_task_mm(m, t);
	json_t *o = json_object();

	json_object_set_new(o, "pid", json_integer(t->pid));
	json_object_set_new(o, "ppid", json_integer(t->ppid));
	json_object_set_new(o, "state", json_string(t->state == MM_TASK_RUNNING
						    ? "running" : "dead"));
	json_object_set_new(o, "cpu", json_integer(t->cpu));
	json_object_set_new(o, "name", api__str(t->comm));
	/* resident pages, as VmRSS: anonymous + shmem (the zero page is
	 * never counted) */
	json_object_set_new(o, "rss", json_integer(
		(json_int_t)(mm->rss_anon + mm->rss_shmem)));
	json_object_set_new(o, "min_flt", json_integer((json_int_t)t->min_flt));
	json_object_set_new(o, "maj_flt", json_integer((json_int_t)t->maj_flt));
	json_object_set_new(o, "vm_size", json_integer(
		(json_int_t)(mm->total_vm << MM_PAGE_SHIFT)));
	if (!detail)
		return o;
	json_object_set_new(o, "oom_score_adj", json_integer(t->oom_score_adj));
	json_object_set_new(o, "rss_limit_pages",
			    t->rss_limit_pages < 0
				    ? json_null()
				    : json_integer((json_int_t)t->rss_limit_pages));
	json_object_set_new(o, "mmap_base", api_hex(mm->mmap_base));
	json_object_set_new(o, "start_brk", api_hex(mm->start_brk));
	json_object_set_new(o, "brk", api_hex(mm->brk));
	json_object_set_new(o, "map_count", json_integer(mm->map_count));
	return o;
}

typedef size_t (*api_pid_render_fn)(const struct mm_machine *, int, char *,
				    size_t);

static api_pid_render_fn api__pid_render(const char *name)
{
	if (!strcmp(name, "maps"))
		return mm_proc_pid_maps;
	if (!strcmp(name, "smaps"))
		return mm_proc_pid_smaps;
	if (!strcmp(name, "status"))
		return mm_proc_pid_status;
	return NULL;
}

int api_pid_proc_text(const struct mm_machine *m, int pid, const char *name,
		      char **text)
{
	api_pid_render_fn fn = api__pid_render(name);

	if (!fn)
		return -1;
	size_t need = fn(m, pid, NULL, 0);
	*text = malloc(need + 1);
	if (!*text)
		return -1;
	fn(m, pid, *text, need + 1);
	return 0;
}

/* Copies the line at *p (without its '\n') into line[len] and advances *p;
 * false at the end of the text.  Longer lines are cut (the engine's are
 * far shorter: a path of at most 64 bytes). */
static bool api__next_line(const char **p, char *line, size_t len)
{
	if (!**p)
		return false;
	const char *eol = strchr(*p, '\n');
	size_t n = eol ? (size_t)(eol - *p) : strlen(*p);
	size_t k = n < len - 1 ? n : len - 1;
	memcpy(line, *p, k);
	line[k] = '\0';
	*p += n + (eol ? 1 : 0);
	return true;
}

/* A maps line "start-end perms offset dev inode [name]" as an object, or
 * NULL when line is not one. */
static json_t *api__maps_entry(const char *line)
{
	unsigned long long start, end, off, ino;
	char perms[5], dev[6];
	int n = 0;

	if (sscanf(line, "%llx-%llx %4s %llx %5s %llu%n", &start, &end, perms,
		   &off, dev, &ino, &n) != 6 || n == 0)
		return NULL;
	const char *name = line + n;
	while (*name == ' ')
		name++;
	json_t *o = json_object();
	json_object_set_new(o, "start", api_hex(start));
	json_object_set_new(o, "end", api_hex(end));
	json_object_set_new(o, "perms", api__str(perms));
	json_object_set_new(o, "offset", json_integer((json_int_t)off));
	json_object_set_new(o, "dev", api__str(dev));
	json_object_set_new(o, "inode", json_integer((json_int_t)ino));
	json_object_set_new(o, "name", *name ? api__str(name) : json_null());
	return o;
}

/* Whether s is a decimal number as Linux prints one: no sign, no leading
 * zero (so "0022" and "0000000000000000" stay text). */
static bool api__is_decimal(const char *s, size_t len)
{
	if (len == 0 || len > 18 || (s[0] == '0' && len > 1))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* A status value as JSON (see the header comment). */
static json_t *api__status_value(const char *key, char *v)
{
	size_t len = strlen(v);

	while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		v[--len] = '\0';
	if (len > 3 && !strcmp(v + len - 3, " kB")) {
		char *num = v;
		while (*num == ' ')
			num++;
		size_t nlen = (size_t)(v + len - 3 - num);
		if (api__is_decimal(num, nlen))
			return json_integer(strtoll(num, NULL, 10));
	}
	/* hex masks that happen to look decimal ("3") stay text */
	if (!strcmp(key, "Cpus_allowed") || !strcmp(key, "Mems_allowed"))
		return api__str(v);
	if (api__is_decimal(v, len))
		return json_integer(strtoll(v, NULL, 10));
	if (strchr(v, '\t')) {
		json_t *list = json_array();
		for (char *f = v; f; ) {
			char *tab = strchr(f, '\t');
			size_t flen = tab ? (size_t)(tab - f) : strlen(f);
			if (!api__is_decimal(f, flen)) {
				json_decref(list);
				return api__str(v);
			}
			json_array_append_new(list,
					      json_integer(strtoll(f, NULL, 10)));
			f = tab ? tab + 1 : NULL;
		}
		return list;
	}
	return api__str(v);
}

static json_t *api__status_json(const char *text)
{
	json_t *o = json_object();
	char line[512];

	for (const char *p = text; api__next_line(&p, line, sizeof(line));) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == '\t' || *v == ' ')
			v++;
		json_object_set_new(o, line, api__status_value(line, v));
	}
	return o;
}

static json_t *api__smaps_json(const char *text)
{
	json_t *items = json_array(), *cur = NULL;
	char line[512];

	for (const char *p = text; api__next_line(&p, line, sizeof(line));) {
		json_t *entry = api__maps_entry(line);
		if (entry) {
			json_array_append_new(items, entry);
			cur = entry;
			continue;
		}
		char *colon = strchr(line, ':');
		if (!cur || !colon)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		if (!strcmp(line, "VmFlags")) {
			json_t *flags = json_array();
			char *save = NULL;
			for (char *tok = strtok_r(v, " ", &save); tok;
			     tok = strtok_r(NULL, " ", &save))
				json_array_append_new(flags, api__str(tok));
			json_object_set_new(cur, line, flags);
			continue;
		}
		json_object_set_new(cur, line, json_integer(strtoll(v, NULL, 10)));
	}
	return items;
}

json_t *api_pid_proc_json(const struct mm_machine *m, int pid,
			  const char *name)
{
	char *text;
	json_t *o = NULL;

	if (api_pid_proc_text(m, pid, name, &text))
		return NULL;
	if (!strcmp(name, "status")) {
		o = api__status_json(text);
	} else if (!strcmp(name, "smaps")) {
		o = json_pack("{s:o}", "items", api__smaps_json(text));
	} else {
		json_t *items = json_array();
		char line[512];
		const char *p = text;
		while (api__next_line(&p, line, sizeof(line))) {
			json_t *entry = api__maps_entry(line);
			if (entry)
				json_array_append_new(items, entry);
		}
		o = json_pack("{s:o}", "items", items);
	}
	free(text);
	return o;
}

json_t *api_file_json(const struct mm_machine *m, int id)
{
	const struct mm_file *f = mm_file_get(m, id);

	return json_pack("{s:s, s:I, s:I, s:I, s:I}", "name", f->name, "size",
			 (json_int_t)f->size, "inode", (json_int_t)f->ino,
			 "cached_pages", (json_int_t)f->nr_pages, "dirty_pages",
			 (json_int_t)f->nr_dirty);
}
