/*
 * test_event.c — the event ring: ids from 1, one event per applied
 * operation with its counts and errno, overwrite of the oldest, identical
 * rings for identical operations, and the digest left untouched by the
 * ring's size.
 */
#include "api/ops.h"
#include "tests/harness.h"

static struct mm_machine *ev_machine(uint32_t ring)
{
	struct mm_config c;
	struct mm_machine *m;
	char err[128];
	mm_config_default(&c);
	c.memory = 64ull << 20;
	c.event_ring = ring;
	ASSERT_EQ(mm_machine_create(&c, &m, err, sizeof(err)), 0);
	return m;
}

static int ev_apply(struct mm_machine *m, const char *text)
{
	json_error_t je;
	json_t *rec = json_loads(text, 0, &je), *res, *err;
	ASSERT(rec != NULL);
	int st = api_op_apply(m, rec, &res, &err);
	json_decref(rec);
	json_decref(res);
	json_decref(err);
	return st;
}

TEST(event_ring_ops_ids_counts_errno)
{
	struct mm_machine *m = ev_machine(16);
	ASSERT_EQ(mm_event_oldest(m), 1);
	ASSERT(mm_event_get(m, 1) == NULL);
	ASSERT_EQ(ev_apply(m, "{\"op\":\"allocPages\",\"order\":2,\"gfp\":[\"GFP_KERNEL\"]}"), 200);
	const struct mm_event *e = mm_event_get(m, 1);
	ASSERT(e != NULL);
	ASSERT_EQ(e->type, MM_EV_OP);
	ASSERT_EQ(e->seq, 1);
	ASSERT_EQ(e->err, 0);
	ASSERT_EQ(e->v[MM_EVOP_PGALLOC], 4);
	ASSERT(!strcmp(e->op, "allocPages"));
	/* a rejected record (400) is no operation: no event */
	ASSERT_EQ(ev_apply(m, "{\"op\":\"allocPages\",\"order\":99,\"gfp\":[]}"), 400);
	ASSERT_EQ(m->ev.next_id, 2);
	/* an errno result is an operation */
	ASSERT_EQ(ev_apply(m, "{\"op\":\"freePages\",\"pfn\":1,\"order\":0}"), 422);
	e = mm_event_get(m, 2);
	ASSERT(e != NULL && e->err < 0 && e->seq == 2);
	json_t *j = api_event_json(e);
	ASSERT(json_is_string(json_object_get(j, "errno")));
	ASSERT(json_is_false(json_object_get(j, "ok")));
	json_decref(j);
	mm_machine_destroy(m);
}

TEST(event_ring_overwrites_oldest)
{
	struct mm_machine *m = ev_machine(16);
	for (int i = 0; i < 40; i++)
		mm_event_emit(m, MM_EV_RECLAIM, 0, (uint64_t)i, 0, 0, 12);
	ASSERT_EQ(m->ev.next_id, 41);
	ASSERT_EQ(mm_event_oldest(m), 25);
	ASSERT(mm_event_get(m, 24) == NULL);
	ASSERT_EQ(mm_event_get(m, 25)->v[0], 24);
	ASSERT_EQ(mm_event_get(m, 40)->v[0], 39);
	ASSERT(mm_event_get(m, 41) == NULL);
	struct mm_violation v[4];
	ASSERT_EQ(mm_check(m, v, 4), 0);
	m->ev.ring[3].id = 7; /* a damaged slot is named */
	ASSERT_EQ(mm_check(m, v, 4), 1);
	ASSERT(!strcmp(v[0].invariant, "event-ring"));
	m->ev.ring[3].id = 36;
	ASSERT_EQ(mm_check(m, v, 4), 0);
	mm_machine_destroy(m);
}

TEST(event_ring_deterministic_not_digested)
{
	struct mm_machine *a = ev_machine(16), *b = ev_machine(64);
	const char *ops[] = {
		"{\"op\":\"spawn\"}",
		"{\"op\":\"mmap\",\"pid\":1,\"length\":\"64K\",\"prot\":\"rw-\","
		"\"flags\":[\"MAP_PRIVATE\",\"MAP_ANONYMOUS\"]}",
		"{\"op\":\"allocPages\",\"order\":0,\"gfp\":[\"GFP_KERNEL\"]}",
	};
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(ev_apply(a, ops[i]), 200);
		ASSERT_EQ(ev_apply(b, ops[i]), 200);
	}
	for (uint64_t id = 1; id < a->ev.next_id; id++)
		ASSERT(!memcmp(mm_event_get(a, id), mm_event_get(b, id),
			       sizeof(struct mm_event)));
	char ha[MM_DIGEST_HEX], hb[MM_DIGEST_HEX];
	mm_digest(a, ha);
	mm_digest(b, hb);
	ASSERT(!strcmp(ha, hb));
	ASSERT_EQ(mm_event_type_find("oom_kill"), MM_EV_OOM_KILL);
	ASSERT_EQ(mm_event_type_find("nope"), -1);
	uint32_t mask;
	struct api_error err;
	ASSERT_EQ(api_event_types("op,reclaim", &mask, &err), 0);
	ASSERT_EQ(mask, (1u << MM_EV_OP) | (1u << MM_EV_RECLAIM));
	ASSERT_EQ(api_event_types("op,,x", &mask, &err), -1);
	mm_machine_destroy(a);
	mm_machine_destroy(b);
}
