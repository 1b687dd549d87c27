/*
 * mmsim.h — the parts of the mmsim CLI: `run` (offline, mmsim.c) and
 * `get`/`post` (a running server, remote.c).
 */
#ifndef MMSIM_CLIENT_H
#define MMSIM_CLIENT_H

#include <stdbool.h>
#include <stdio.h>

void mmsim_usage(FILE *f);
/* `mmsim get PATH` / `mmsim post PATH [JSON|-]`: argv[1] is get or post.
 * Returns the exit status (0 2xx, 1 other status, 2 usage/connection). */
int mmsim_remote(int argc, char **argv);

#endif
