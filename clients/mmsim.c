/*
 * mmsim.c — the CLI: `mmsim run FILE [--config F] [--check]` offline (SPEC
 * §6, this file) and `mmsim get|post PATH` against a server (remote.c).
 *
 * Runs a journal exported by GET …/journal (line 1 is its header and gives
 * the config) or a plain file of operation records, one JSON object per
 * line, on a fresh machine — no server: the engine and the operation table
 * (api_op_apply, the same code the server and its recovery use).  Prints one
 * line per operation, {"seq":N,"result":…} or {"seq":N,"error":…}, then
 * {"digest":…,"seq":N}.  --check compares each record's "result"/"error"
 * with the recomputed one and exits 1 at the first difference.  A malformed
 * record (not JSON, not a valid record) exits 2 naming its line.  Progress
 * goes to stderr every 100,000 operations.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/ops.h"
#include "clients/mmsim.h"
#include "engine/mm.h"

#define MMSIM_PROGRESS_EVERY 100000

void mmsim_usage(FILE *f)
{
	fputs("usage: mmsim run FILE [--config CONFIG.json] [--check]\n"
	      "  runs a journal (GET /v1/machines/{m}/journal) or a file of\n"
	      "  operation records offline; prints one result per line, then\n"
	      "  {\"digest\",\"seq\"}.  --check: exit 1 at the first result\n"
	      "  that differs from the record's; a malformed record exits 2.\n"
	      "       mmsim get PATH\n"
	      "       mmsim post PATH [JSON | -]\n"
	      "  one request to the server $MMSIM_URL (default\n"
	      "  http://127.0.0.1:8080) with $MMSIM_KEY as a Bearer key; prints\n"
	      "  the answer body; exit 1 if its status is not 2xx.\n",
	      f);
}

static void mmsim__print(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(j);
}

/* {"seq":N,"KEY":value} and a newline, without building that object and
 * with one fwrite: the line is assembled in a stack buffer (printf and a
 * write per JSON token were a fifth of a replayed record's cost, jansson's
 * dumper most of the rest: api_json_compact). */
static void mmsim__print_result(uint64_t seq, const char *key, const json_t *v)
{
	char line[4096], digits[24];
	size_t n = 0, d = 0;

	do
		digits[d++] = (char)('0' + seq % 10);
	while ((seq /= 10) != 0);
	memcpy(line, "{\"seq\":", 7);
	n = 7;
	while (d)
		line[n++] = digits[--d];
	size_t klen = strlen(key);  /* "result" or "error" */
	line[n++] = ',';
	line[n++] = '"';
	memcpy(line + n, key, klen);
	n += klen;
	memcpy(line + n, "\":", 2);
	n += 2;
	size_t len = api_json_compact(v, line + n, sizeof(line) - n - 2);
	if (len) {
		memcpy(line + n + len, "}\n", 2);
		fwrite(line, 1, n + len + 2, stdout);
		return;
	}
	fwrite(line, 1, n, stdout);
	json_dumpf(v, stdout, JSON_COMPACT | JSON_ENCODE_ANY);
	fputs("}\n", stdout);
}

static int mmsim__run(const char *file, const char *config_file, bool check)
{
	struct mm_config cfg;
	struct api_error e = {{0}, {0}};
	struct mm_machine *m = NULL;
	json_t *cfgj = NULL;
	json_error_t je;
	char err[256], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned long lineno = 0;
	uint64_t seq = 0;
	int ret = 2;

	FILE *f = strcmp(file, "-") ? fopen(file, "r") : stdin;
	if (!f) {
		fprintf(stderr, "mmsim: %s: %s\n", file, strerror(errno));
		return 2;
	}
	if (config_file) {
		cfgj = json_load_file(config_file, 0, &je);
		if (!cfgj) {
			fprintf(stderr, "mmsim: %s:%d: %s\n", config_file, je.line,
				je.text);
			goto out;
		}
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		json_t *rec = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &je);
		if (!rec || !json_is_object(rec)) {
			fprintf(stderr, "mmsim: %s:%lu: malformed record: %s\n", file,
				lineno, rec ? "not a JSON object" : je.text);
			json_decref(rec);
			goto out;
		}
		if (!m && json_object_get(rec, "mmsim_journal")) {
			/* The journal header: its config, unless --config. */
			if (!cfgj)
				cfgj = json_incref(json_object_get(
					json_object_get(rec, "machine"), "config"));
			json_decref(rec);
			if (!cfgj) {
				fprintf(stderr, "mmsim: %s:%lu: journal header "
					"without machine.config\n", file, lineno);
				goto out;
			}
			continue;
		}
		if (!m) {
			if (api_config_decode(cfgj, &cfg, &e) ||
			    mm_machine_create(&cfg, &m, err, sizeof(err))) {
				fprintf(stderr, "mmsim: bad config: %s\n",
					e.message[0] ? e.message : err);
				json_decref(rec);
				goto out;
			}
		}
		/* The journal keys are compared (--check), not applied. */
		json_t *result, *error;
		int st = api_op_apply_flags(m, rec, API_DECODE_JOURNAL, &result,
					    &error);
		if (st != 200 && st != 422) {
			fprintf(stderr, "mmsim: %s:%lu: malformed record: %s\n", file,
				lineno, json_string_value(json_object_get(error,
									  "message")));
			json_decref(error);
			json_decref(rec);
			goto out;
		}
		seq++;
		json_t *got = st == 200 ? result : error;
		if (check) {
			json_t *want_seq = json_object_get(rec, "seq");
			json_t *want_res = json_object_get(rec, "result");
			json_t *want_err = json_object_get(rec, "error");
			const char *why = NULL;
			if (want_seq && (!json_is_integer(want_seq) ||
					 (uint64_t)json_integer_value(want_seq) != seq))
				why = "seq";
			else if (st == 200 && want_err)
				why = "the journal has an error, the replay a result";
			else if (st == 422 && want_res)
				why = "the journal has a result, the replay an error";
			else if ((st == 200 && want_res && !json_equal(want_res, got)) ||
				 (st == 422 && want_err && !json_equal(want_err, got)))
				why = "the result";
			if (why) {
				char *a = json_dumps(st == 200 ? want_res : want_err,
						     JSON_COMPACT | JSON_ENCODE_ANY);
				char *b = json_dumps(got, JSON_COMPACT);
				fprintf(stderr, "mmsim: %s:%lu (seq %llu): %s differs:"
					"\n  journal:  %s\n  replayed: %s\n", file,
					lineno, (unsigned long long)seq, why,
					a ? a : "(none)", b ? b : "?");
				free(a);
				free(b);
				ret = 1;
			}
		}
		json_decref(rec);
		mmsim__print_result(seq, st == 200 ? "result" : "error", got);
		json_decref(result);
		json_decref(error);
		if (ret == 1)
			goto out;
		if (seq % MMSIM_PROGRESS_EVERY == 0)
			fprintf(stderr, "mmsim: %llu operations\n",
				(unsigned long long)seq);
	}
	if (ferror(f)) {
		fprintf(stderr, "mmsim: %s: %s\n", file, strerror(errno));
		goto out;
	}
	if (!m && (api_config_decode(cfgj, &cfg, &e) ||
		   mm_machine_create(&cfg, &m, err, sizeof(err)))) {
		fprintf(stderr, "mmsim: bad config: %s\n",
			e.message[0] ? e.message : err);
		goto out;
	}
	char hex[MM_DIGEST_HEX];
	mm_digest(m, hex);
	mmsim__print(json_pack("{s:s, s:I}", "digest", hex, "seq",
			       (json_int_t)seq));
	ret = 0;
out:
	fflush(stdout);
	free(line);
	json_decref(cfgj);
	if (m)
		mm_machine_destroy(m);
	if (f != stdin)
		fclose(f);
	return ret;
}

int main(int argc, char **argv)
{
	const char *file = NULL, *config = NULL;
	bool check = false;

	if (argc >= 2 && (!strcmp(argv[1], "get") || !strcmp(argv[1], "post")))
		return mmsim_remote(argc, argv);
	if (argc < 2 || strcmp(argv[1], "run")) {
		if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
			mmsim_usage(stdout);
			return 0;
		}
		mmsim_usage(stderr);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--check")) {
			check = true;
		} else if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config = argv[++i];
		} else if (!file && (argv[i][0] != '-' || !strcmp(argv[i], "-"))) {
			file = argv[i];
		} else {
			fprintf(stderr, "mmsim: unexpected argument \"%s\"\n", argv[i]);
			mmsim_usage(stderr);
			return 2;
		}
	}
	if (!file) {
		mmsim_usage(stderr);
		return 2;
	}
	return mmsim__run(file, config, check);
}
