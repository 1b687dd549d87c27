/*
 * event.c — the JSON form of an engine event (GET …/events, SSE data):
 *
 *   {"id":7, "type":"op", "seq":3, "clock":0, "op":"touch", "ok":true,
 *    "errno":null, "pgfault":4, "pgmajfault":0, "pgalloc":4, "pgfree":0}
 *   {"id":9, "type":"oom_kill", "seq":5, "clock":12, "pid":3, "rss_pages":…,
 *    "oom_score_adj":0}
 *
 * Field names per type are the ones of mm.h's enum mm_event_type comment.
 */
#include "api/api.h"

#include <string.h>

static const char *const api_ev_fields[MM_NR_EVENT_TYPES][4] = {
	[MM_EV_OP] = {"pgfault", "pgmajfault", "pgalloc", "pgfree"},
	[MM_EV_KSWAPD_WAKE] = {"order", "highest_zoneidx", NULL, NULL},
	[MM_EV_KSWAPD_SLEEP] = {"reclaimed", NULL, NULL, NULL},
	[MM_EV_RECLAIM] = {"scanned", "reclaimed", "direct", "priority"},
	[MM_EV_SWAP_OUT] = {"pages", NULL, NULL, NULL},
	[MM_EV_SWAP_IN] = {"pages", NULL, NULL, NULL},
	[MM_EV_OOM_KILL] = {"pid", "rss_pages", "oom_score_adj", NULL},
};

json_t *api_event_json(const struct mm_event *e)
{
	json_t *o = json_pack("{s:I, s:s, s:I, s:I}", "id", (json_int_t)e->id,
			      "type", mm_event_type_name(e->type), "seq",
			      (json_int_t)e->seq, "clock", (json_int_t)e->clock);
	if (!o)
		return NULL;
	if (e->node >= 0)
		json_object_set_new(o, "node", json_integer(e->node));
	if (e->type == MM_EV_OP) {
		json_object_set_new(o, "op", json_string(e->op));
		json_object_set_new(o, "ok", json_boolean(e->err == 0));
		json_object_set_new(o, "errno", e->err ? json_string(mm_errname(e->err))
						       : json_null());
	}
	for (int i = 0; i < 4; i++) {
		const char *f = api_ev_fields[e->type][i];
		if (!f)
			continue;
		bool is_signed = e->type == MM_EV_OOM_KILL && i == 2;
		json_object_set_new(o, f, json_integer(is_signed
			? (json_int_t)(int64_t)e->v[i] : (json_int_t)e->v[i]));
	}
	return o;
}

int api_event_types(const char *list, uint32_t *mask, struct api_error *err)
{
	char name[32];

	*mask = 0;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		int t = -1;
		if (n > 0 && n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			t = mm_event_type_find(name);
		}
		if (t < 0) {
			snprintf(err->field, sizeof(err->field), "types");
			snprintf(err->message, sizeof(err->message), "types: \"%.*s\" "
				 "is not an event type (op, kswapd_wake, "
				 "kswapd_sleep, reclaim, swap_out, swap_in, "
				 "oom_kill)", (int)(n < 40 ? n : 40), p);
			return -1;
		}
		*mask |= 1u << t;
		p += n;
		if (*p == ',')
			p++;
	}
	if (!*mask) {
		snprintf(err->field, sizeof(err->field), "types");
		snprintf(err->message, sizeof(err->message), "types: empty list");
		return -1;
	}
	return 0;
}
