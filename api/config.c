/*
 * config.c — decode/encode the machine config (SPEC §3): every key
 * optional, unknown keys rejected, types and ranges checked here; the
 * engine's mm_config_validate() then checks consistency.
 *
 *   {"arch":"x86_64", "memory":"256M", "nodes":2 | ["128M","128M"],
 *    "distance":[[10,20],[20,10]], "zones_managed_pages":{"DMA":3840,…} |
 *    [{…node 0…},{…node 1…}], "cpus":2, "swap":"0", "page_policy":"linux",
 *    "min_free_kbytes":…, "watermark_scale_factor":10, "zero_page":true,
 *    "fault_around_bytes":65536, "read_ahead_kb":128, "swappiness":60, "overcommit":"heuristic",
 *    "overcommit_ratio":50, "kswapd_pages_per_tick":1024, "seed":0,
 *    "max_map_count":65530, "pid_max":32768, "randomize_va_space":0,
 *    "event_ring":1024}
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>

static const char *const api_arch_names[] = {"x86_64", "i386"};
static const char *const api_policy_names[] = {"linux", "clock", "fifo",
					       "lru",   "opt",   "random"};
static const char *const api_overcommit_names[] = {"heuristic", "always",
						   "never"};

static int api__err(struct api_error *err, const char *field, const char *msg)
{
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), "%s: %s", field, msg);
	return -1;
}

static int api__int(const json_t *v, const char *field, long long lo,
		    long long hi, long long *out, struct api_error *err)
{
	if (!json_is_integer(v))
		return api__err(err, field, "expected an integer");
	long long i = json_integer_value(v);
	if (i < lo || i > hi) {
		snprintf(err->field, sizeof(err->field), "%s", field);
		snprintf(err->message, sizeof(err->message),
			 "%s: %lld is outside [%lld, %lld]", field, i, lo, hi);
		return -1;
	}
	*out = i;
	return 0;
}

static int api__enum(const json_t *v, const char *field,
		     const char *const *names, int n, int *out,
		     struct api_error *err)
{
	if (json_is_string(v))
		for (int i = 0; i < n; i++)
			if (strcmp(json_string_value(v), names[i]) == 0) {
				*out = i;
				return 0;
			}
	char msg[200] = "expected one of";
	for (int i = 0; i < n; i++) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, "%s\"%s\"", i ? ", " : " ",
			 names[i]);
	}
	return api__err(err, field, msg);
}

/* Zone type index of a zone name for the config's arch, or -1. */
static int api__zone_index(enum mm_arch arch, const char *name)
{
	for (int i = 0; i < mm_zone_type_count(arch); i++)
		if (strcmp(mm_zone_type_name(arch, i), name) == 0)
			return i;
	return -1;
}

static int api__zones_managed(const json_t *v, int node, struct mm_config *cfg,
			      struct api_error *err)
{
	const char *key;
	json_t *val;

	if (!json_is_object(v))
		return api__err(err, "zones_managed_pages",
				"expected {\"ZONE\": pages, …} per node");
	if (node >= MM_MAX_NODES)
		return api__err(err, "zones_managed_pages", "too many nodes");
	json_object_foreach((json_t *)v, key, val) {
		int z = api__zone_index(cfg->arch, key);
		long long pages;
		if (z < 0) {
			snprintf(err->field, sizeof(err->field),
				 "zones_managed_pages");
			snprintf(err->message, sizeof(err->message),
				 "zones_managed_pages: no zone \"%.60s\" on %s", key,
				 api_arch_names[cfg->arch]);
			return -1;
		}
		if (api__int(val, "zones_managed_pages", 0, 1ll << 26, &pages, err))
			return -1;
		cfg->zones_managed_pages[node][z] = pages;
	}
	return 0;
}

int api_config_decode(const json_t *obj, struct mm_config *cfg,
		      struct api_error *err)
{
	const char *key;
	json_t *v;
	long long i;
	int e;

	mm_config_default(cfg);
	if (!obj || json_is_null(obj))
		return 0;
	if (!json_is_object(obj))
		return api__err(err, "config", "expected an object");
	/* arch first: zone names depend on it. */
	v = json_object_get(obj, "arch");
	if (v) {
		if (api__enum(v, "arch", api_arch_names, 2, &e, err))
			return -1;
		cfg->arch = (enum mm_arch)e;
	}
	json_object_foreach((json_t *)obj, key, v) {
		if (!strcmp(key, "arch")) {
			continue;
		} else if (!strcmp(key, "memory")) {
			if (api_parse_size(v, "memory", &cfg->memory, err))
				return -1;
		} else if (!strcmp(key, "nodes")) {
			if (json_is_array(v)) {
				size_t n = json_array_size(v), k;
				json_t *item;
				if (n < 1 || n > MM_MAX_NODES)
					return api__err(err, "nodes", "between 1 and 8 nodes");
				cfg->nodes = (int)n;
				json_array_foreach(v, k, item)
					if (api_parse_size(item, "nodes", &cfg->node_memory[k], err))
						return -1;
			} else {
				if (api__int(v, "nodes", 1, MM_MAX_NODES, &i, err))
					return -1;
				cfg->nodes = (int)i;
			}
		} else if (!strcmp(key, "distance")) {
			size_t a, b;
			json_t *row, *d;
			if (!json_is_array(v) || json_array_size(v) > MM_MAX_NODES)
				return api__err(err, "distance", "expected a square "
						"array of arrays of integers");
			json_array_foreach(v, a, row) {
				if (!json_is_array(row) ||
				    json_array_size(row) != json_array_size(v))
					return api__err(err, "distance", "expected a "
							"square array of arrays");
				json_array_foreach(row, b, d) {
					if (api__int(d, "distance", 10, 254, &i, err))
						return -1;
					cfg->distance[a][b] = (uint8_t)i;
				}
			}
		} else if (!strcmp(key, "zones_managed_pages")) {
			if (json_is_array(v)) {
				size_t n;
				json_t *item;
				json_array_foreach(v, n, item)
					if (api__zones_managed(item, (int)n, cfg, err))
						return -1;
			} else if (api__zones_managed(v, 0, cfg, err)) {
				return -1;
			}
		} else if (!strcmp(key, "cpus")) {
			if (api__int(v, "cpus", 1, MM_MAX_CPUS, &i, err))
				return -1;
			cfg->cpus = (int)i;
		} else if (!strcmp(key, "swap")) {
			if (api_parse_size(v, "swap", &cfg->swap, err))
				return -1;
		} else if (!strcmp(key, "page_policy")) {
			if (api__enum(v, "page_policy", api_policy_names, 6, &e, err))
				return -1;
			cfg->page_policy = (enum mm_page_policy)e;
		} else if (!strcmp(key, "min_free_kbytes")) {
			if (api__int(v, "min_free_kbytes", 0, 1048576, &i, err))
				return -1;
			cfg->min_free_kbytes = i;
		} else if (!strcmp(key, "watermark_scale_factor")) {
			if (api__int(v, "watermark_scale_factor", 1, 3000, &i, err))
				return -1;
			cfg->watermark_scale_factor = (int)i;
		} else if (!strcmp(key, "zero_page")) {
			if (!json_is_boolean(v))
				return api__err(err, "zero_page", "expected true or false");
			cfg->zero_page = json_is_true(v);
		} else if (!strcmp(key, "fault_around_bytes")) {
			uint64_t s;
			if (api_parse_size(v, "fault_around_bytes", &s, err))
				return -1;
			if (s > UINT32_MAX)
				return api__err(err, "fault_around_bytes", "too large");
			cfg->fault_around_bytes = (uint32_t)s;
		} else if (!strcmp(key, "read_ahead_kb")) {
			if (api__int(v, "read_ahead_kb", 4, 65536, &i, err))
				return -1;
			cfg->read_ahead_kb = (uint32_t)i;
		} else if (!strcmp(key, "swappiness")) {
			if (api__int(v, "swappiness", 0, 200, &i, err))
				return -1;
			cfg->swappiness = (int)i;
		} else if (!strcmp(key, "overcommit")) {
			if (api__enum(v, "overcommit", api_overcommit_names, 3, &e, err))
				return -1;
			cfg->overcommit = (enum mm_overcommit)e;
		} else if (!strcmp(key, "overcommit_ratio")) {
			if (api__int(v, "overcommit_ratio", 0, 100000, &i, err))
				return -1;
			cfg->overcommit_ratio = (int)i;
		} else if (!strcmp(key, "kswapd_pages_per_tick")) {
			if (api__int(v, "kswapd_pages_per_tick", 32, 1 << 24, &i, err))
				return -1;
			cfg->kswapd_pages_per_tick = (uint32_t)i;
		} else if (!strcmp(key, "seed")) {
			if (api_parse_addr(v, "seed", &cfg->seed, err))
				return -1;
		} else if (!strcmp(key, "max_map_count")) {
			if (api__int(v, "max_map_count", 1, 1 << 24, &i, err))
				return -1;
			cfg->max_map_count = (int)i;
		} else if (!strcmp(key, "pid_max")) {
			if (api__int(v, "pid_max", 301, 4194304, &i, err))
				return -1;
			cfg->pid_max = (int)i;
		} else if (!strcmp(key, "event_ring")) {
			if (api__int(v, "event_ring", 16, MM_EVENT_RING_MAX, &i, err))
				return -1;
			cfg->event_ring = (uint32_t)i;
		} else if (!strcmp(key, "randomize_va_space")) {
			if (api__int(v, "randomize_va_space", 0, 2, &i, err))
				return -1;
			cfg->randomize_va_space = (int)i;
		} else {
			snprintf(err->field, sizeof(err->field), "config");
			snprintf(err->message, sizeof(err->message),
				 "config: unknown key \"%.100s\"", key);
			return -1;
		}
	}
	/* Canonical form: a distance equal to its default (10 local, 20
	 * remote) is stored as 0 = "default", so the config that
	 * api_config_encode() prints decodes to the same machine, digest
	 * included (the digest covers the raw table).
	 * A pair is canonicalized only when both directions hold the default,
	 * so mm_config_validate() still sees an asymmetric table. */
	for (int a = 0; a < MM_MAX_NODES; a++)
		for (int b = a; b < MM_MAX_NODES; b++) {
			int def = a == b ? 10 : 20;
			if (cfg->distance[a][b] == def && cfg->distance[b][a] == def)
				cfg->distance[a][b] = cfg->distance[b][a] = 0;
		}
	if (mm_config_validate(cfg, err->message, sizeof(err->message))) {
		snprintf(err->field, sizeof(err->field), "config");
		return -1;
	}
	return 0;
}

json_t *api_config_encode(const struct mm_config *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "arch", json_string(api_arch_names[c->arch]));
	json_object_set_new(o, "memory", json_integer((json_int_t)c->memory));
	bool given = false;
	for (int n = 0; n < c->nodes; n++)
		given |= c->node_memory[n] != 0;
	if (given) {
		json_t *a = json_array();
		for (int n = 0; n < c->nodes; n++)
			json_array_append_new(a, json_integer((json_int_t)c->node_memory[n]));
		json_object_set_new(o, "nodes", a);
	} else {
		json_object_set_new(o, "nodes", json_integer(c->nodes));
	}
	json_t *dist = json_array();
	for (int a = 0; a < c->nodes; a++) {
		json_t *row = json_array();
		for (int b = 0; b < c->nodes; b++) {
			int d = c->distance[a][b];
			json_array_append_new(row, json_integer(d ? d : a == b ? 10 : 20));
		}
		json_array_append_new(dist, row);
	}
	json_object_set_new(o, "distance", dist);
	json_t *zmp = json_array();
	bool any = false;
	for (int n = 0; n < c->nodes; n++) {
		json_t *zo = json_object();
		for (int z = 0; z < mm_zone_type_count(c->arch); z++)
			if (c->zones_managed_pages[n][z] >= 0) {
				json_object_set_new(zo, mm_zone_type_name(c->arch, z),
						    json_integer(c->zones_managed_pages[n][z]));
				any = true;
			}
		json_array_append_new(zmp, zo);
	}
	if (any)
		json_object_set_new(o, "zones_managed_pages", zmp);
	else
		json_decref(zmp);
	json_object_set_new(o, "cpus", json_integer(c->cpus));
	json_object_set_new(o, "swap", json_integer((json_int_t)c->swap));
	json_object_set_new(o, "page_policy", json_string(api_policy_names[c->page_policy]));
	if (c->min_free_kbytes >= 0)
		json_object_set_new(o, "min_free_kbytes", json_integer(c->min_free_kbytes));
	json_object_set_new(o, "watermark_scale_factor", json_integer(c->watermark_scale_factor));
	json_object_set_new(o, "zero_page", json_boolean(c->zero_page));
	json_object_set_new(o, "fault_around_bytes", json_integer(c->fault_around_bytes));
	json_object_set_new(o, "read_ahead_kb", json_integer(c->read_ahead_kb));
	json_object_set_new(o, "swappiness", json_integer(c->swappiness));
	json_object_set_new(o, "overcommit", json_string(api_overcommit_names[c->overcommit]));
	json_object_set_new(o, "overcommit_ratio", json_integer(c->overcommit_ratio));
	json_object_set_new(o, "kswapd_pages_per_tick", json_integer(c->kswapd_pages_per_tick));
	char seed[24];
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)c->seed);
	json_object_set_new(o, "seed", c->seed > INT64_MAX ? json_string(seed)
							   : json_integer((json_int_t)c->seed));
	json_object_set_new(o, "max_map_count", json_integer(c->max_map_count));
	json_object_set_new(o, "pid_max", json_integer(c->pid_max));
	json_object_set_new(o, "randomize_va_space", json_integer(c->randomize_va_space));
	json_object_set_new(o, "event_ring", json_integer(c->event_ring));
	return o;
}
