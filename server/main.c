/*
 * main.c — mmsimd: parse the flags (SPEC §7), prepare the data directory
 * and the log, start the HTTP server, and turn the outcome into an exit
 * status: 0 after a clean SIGINT/SIGTERM shutdown, 2 for a usage or policy
 * error (bad flag, non-loopback address without an admin key, an unusable
 * admin key file), 1 when the server could not start.
 */
#include "server/srv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* mkdir -p DIR. */
static int srv__mkdirs(const char *dir)
{
	char path[1024];
	size_t n = strlen(dir);

	if (n >= sizeof(path))
		return -1;
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -1;
		path[i] = c;
	}
	struct stat st;
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct srv_options opt;
	struct srv_app app;
	char err[512];
	int rc;

	rc = srv_options_parse(&opt, argc, argv, err, sizeof(err));
	if (rc == 1)
		return 0;
	if (rc) {
		fprintf(stderr, "mmsimd: %s\n", err);
		srv_options_usage(stderr);
		return 2;
	}
	if (srv__mkdirs(opt.data_dir)) {
		fprintf(stderr, "mmsimd: --data %s: cannot create the directory: "
			"%s\n", opt.data_dir, strerror(errno));
		return 1;
	}
	char threads[16];
	snprintf(threads, sizeof(threads), "%d", opt.threads);
	setenv("UV_THREADPOOL_SIZE", threads, 1);
	if (srv_log_open(opt.log_path)) {
		fprintf(stderr, "mmsimd: --log %s: %s\n", opt.log_path,
			strerror(errno));
		return 1;
	}
	if (srv_app_init(&app, &opt)) {
		fprintf(stderr, "mmsimd: out of memory at start-up\n");
		srv_log_close();
		return 1;
	}
	if (srv_tenants_init(&app.tenants, &opt, err, sizeof(err))) {
		fprintf(stderr, "mmsimd: %s\n", err);
		srv_app_free(&app);
		srv_log_close();
		return 2;
	}
	app.machines.random_ids = app.tenants.multi;
	char perr[1400];
	app.journal = NULL;
	if (pst_open(opt.data_dir, &app.store, perr, sizeof(perr))) {
		fprintf(stderr, "mmsimd: %s\n", perr);
		srv_app_free(&app);
		srv_log_close();
		return 1;
	}
	app.journal = srv_journal_new(app.store, opt.durability);
	if (!app.journal) {
		fprintf(stderr, "mmsimd: out of memory at start-up\n");
		pst_close(app.store);
		srv_app_free(&app);
		srv_log_close();
		return 1;
	}
	srv_journal_set_app(app.journal, &app);
	app.recovering = true;
	rc = srv_http_run(&app);
	struct srv_journal *j = app.journal;
	struct pst_store *st = app.store;
	srv_app_free(&app);
	srv_journal_free(j);
	pst_close(st);
	srv_log_close();
	return rc == 0 ? 0 : rc == -2 ? 2 : 1;
}
