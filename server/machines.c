/*
 * machines.c — the in-memory machine table.
 *
 * Ids are "m-N".  Single-tenant, N is assigned from 1 upward and never
 * reused; multi-tenant, N is random below 2^53 (libsodium), so a tenant's
 * ids reveal nothing of how many machines others made.  The table (an
 * array of pointers) is kept sorted by N (an insertion); a lookup parses N
 * and binary-searches, a page of the list starts after a given N (the page
 * token), and a delete closes the gap.  Bounded: at most
 * max machines and max_memory simulated bytes in total (the host pays about
 * 1/128 of the simulated memory for frame descriptors).
 */
#include "server/srv.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"

void srv_machines_init(struct srv_machines *t, size_t max, uint64_t max_memory)
{
	memset(t, 0, sizeof(*t));
	t->next = 1;
	t->max = max;
	t->max_memory = max_memory;
}

static void srv__machine_free(struct srv_machine *sm)
{
	mm_machine_destroy(sm->mm);
	free(sm->name);
	free(sm);
}

void srv_machines_free(struct srv_machines *t)
{
	for (size_t i = 0; i < t->n; i++)
		srv__machine_free(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static size_t srv__index(const struct srv_machines *t, const char *id);

int srv_machines_create(struct srv_machines *t, const char *tenant,
			const char *name, const struct mm_config *cfg,
			struct srv_machine **out, char *err, size_t errlen)
{
	return srv_machines_create_num(t, 0, tenant, name, cfg, out, err, errlen);
}

int srv_machines_create_num(struct srv_machines *t, uint64_t num,
			    const char *tenant, const char *name,
			    const struct mm_config *cfg,
			    struct srv_machine **out, char *err, size_t errlen)
{
	struct srv_machine *sm;
	bool fresh = num == 0;
	int rc;

	if (fresh && t->random_ids) {
		/* multi-tenant: an id says nothing of other tenants' machines */
		do
			num = 1 + (randombytes_random() |
				   (uint64_t)(randombytes_random() & 0x1fffff) << 32);
		while (srv_machines_by_num(t, num));
	}
	if (num) {
		size_t i = srv_machines_after(t, num - 1);
		if (i < t->n && t->v[i]->num == num) {
			snprintf(err, errlen, "machine m-%llu exists",
				 (unsigned long long)num);
			return -MM_EEXIST;
		}
	}

	/* Limits bound new machines; recovery and rebuilds (num given)
	 * restore what the store holds even if the limits shrank. */
	if (fresh && t->n >= t->max) {
		snprintf(err, errlen, "this server holds at most %zu machines; "
			 "delete one first", t->max);
		return -MM_ENOSPC;
	}
	if (fresh && cfg->memory > t->max_memory - t->memory) {
		snprintf(err, errlen, "this server simulates at most %llu MiB in "
			 "total; %llu MiB are in use",
			 (unsigned long long)(t->max_memory >> 20),
			 (unsigned long long)(t->memory >> 20));
		return -MM_ENOSPC;
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct srv_machine **v = realloc(t->v, cap * sizeof(*v));
		if (!v)
			goto err_nomem;
		t->v = v;
		t->cap = cap;
	}
	sm = calloc(1, sizeof(*sm));
	if (!sm)
		goto err_nomem;
	if (name) {
		sm->name = strdup(name);
		if (!sm->name)
			goto err_free_sm;
	}
	rc = mm_machine_create(cfg, &sm->mm, err, errlen);
	if (rc) {
		if (rc == -MM_ENOMEM)
			snprintf(err, errlen, "the host is out of memory");
		free(sm->name);
		free(sm);
		return rc;
	}
	snprintf(sm->tenant, sizeof(sm->tenant), "%s", tenant);
	sm->num = num ? num : t->next;
	/* t->next stays the sequential counter of single-tenant mode */
	if (sm->num >= t->next && !t->random_ids)
		t->next = sm->num + 1;
	snprintf(sm->id, sizeof(sm->id), "m-%llu", (unsigned long long)sm->num);
	size_t at = srv_machines_after(t, sm->num);
	memmove(&t->v[at + 1], &t->v[at], (t->n - at) * sizeof(t->v[0]));
	t->v[at] = sm;
	t->n++;
	t->memory += cfg->memory;
	*out = sm;
	return 0;

err_free_sm:
	free(sm);
err_nomem:
	snprintf(err, errlen, "the host is out of memory");
	return -MM_ENOMEM;
}

/* N of "m-N" (canonical decimal, no leading zeros), or 0. */
static uint64_t srv__id_num(const char *id)
{
	if (strncmp(id, "m-", 2) != 0 || id[2] < '1' || id[2] > '9')
		return 0;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(id + 2, &end, 10);
	if (errno || *end)
		return 0;
	return n;
}

size_t srv_machines_after(const struct srv_machines *t, uint64_t after)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[mid]->num <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static size_t srv__index(const struct srv_machines *t, const char *id)
{
	uint64_t num = srv__id_num(id);
	if (!num)
		return t->n;
	size_t i = srv_machines_after(t, num - 1);
	return i < t->n && t->v[i]->num == num ? i : t->n;
}

struct srv_machine *srv_machines_get(const struct srv_machines *t,
				     const char *tenant, const char *id)
{
	size_t i = srv__index(t, id);
	if (i == t->n || (tenant && strcmp(t->v[i]->tenant, tenant)))
		return NULL;
	return t->v[i];
}

struct srv_machine *srv_machines_by_num(const struct srv_machines *t,
					uint64_t num)
{
	size_t i = num ? srv_machines_after(t, num - 1) : t->n;
	return i < t->n && t->v[i]->num == num ? t->v[i] : NULL;
}

void srv_machines_usage(const struct srv_machines *t, const char *tenant,
			size_t *count, uint64_t *memory)
{
	*count = 0;
	*memory = 0;
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i]->tenant, tenant)) {
			(*count)++;
			*memory += t->v[i]->mm->cfg.memory;
		}
}

int srv_machines_delete(struct srv_machines *t, const char *id)
{
	size_t i = srv__index(t, id);
	if (i == t->n)
		return -MM_ENOENT;
	struct srv_machine *sm = t->v[i];
	t->memory -= sm->mm->cfg.memory;
	memmove(&t->v[i], &t->v[i + 1], (t->n - i - 1) * sizeof(t->v[0]));
	t->n--;
	srv__machine_free(sm);
	return 0;
}

json_t *srv_machine_json(const struct srv_machine *sm)
{
	return json_pack("{s:s, s:o, s:o, s:I}", "id", sm->id, "name",
			 sm->name ? json_string(sm->name) : json_null(), "config",
			 api_config_encode(&sm->mm->cfg), "seq",
			 (json_int_t)sm->seq);
}
