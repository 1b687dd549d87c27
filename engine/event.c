/*
 * event.c — the machine's event ring (mm.h, struct mm_events).
 *
 * A fixed array of cfg.event_ring slots allocated at boot; event id i lives
 * in slot (i - 1) % cap, so the ring holds ids [max(1, next_id - cap),
 * next_id) and a lookup is one division.  Emitting never fails and never
 * allocates: the oldest event is overwritten.  Everything in an event comes
 * from machine state (seq, simulated clock, counters), so two machines fed
 * the same operations hold the same ring.  The digest leaves the ring out:
 * its size is a config choice that changes no answer of the kernel.
 */
#include "engine/internal.h"

#include <stdlib.h>

static const char *const mm_event_names[MM_NR_EVENT_TYPES] = {
	[MM_EV_OP] = "op",
	[MM_EV_KSWAPD_WAKE] = "kswapd_wake",
	[MM_EV_KSWAPD_SLEEP] = "kswapd_sleep",
	[MM_EV_RECLAIM] = "reclaim",
	[MM_EV_SWAP_OUT] = "swap_out",
	[MM_EV_SWAP_IN] = "swap_in",
	[MM_EV_OOM_KILL] = "oom_kill",
};

const char *mm_event_type_name(int type)
{
	return type >= 0 && type < MM_NR_EVENT_TYPES ? mm_event_names[type] : NULL;
}

int mm_event_type_find(const char *name)
{
	for (int i = 0; i < MM_NR_EVENT_TYPES; i++)
		if (!strcmp(mm_event_names[i], name))
			return i;
	return -1;
}

int mm__events_init(struct mm_machine *m)
{
	m->ev.cap = m->cfg.event_ring;
	m->ev.next_id = 1;
	m->ev.ring = calloc(m->ev.cap, sizeof(*m->ev.ring));
	return m->ev.ring ? 0 : -MM_ENOMEM;
}

void mm__events_destroy(struct mm_machine *m)
{
	free(m->ev.ring);
	m->ev.ring = NULL;
}

static struct mm_event *mm__event_new(struct mm_machine *m, int type, int node)
{
	MM_ASSERT(m->ev.cap > 0 && type >= 0 && type < MM_NR_EVENT_TYPES);
	uint64_t id = m->ev.next_id++;
	struct mm_event *e = &m->ev.ring[(id - 1) % m->ev.cap];
	memset(e, 0, sizeof(*e));
	e->id = id;
	e->seq = m->ev.ops;
	e->clock = m->env.clock;
	e->type = (uint16_t)type;
	e->node = (int16_t)node;
	return e;
}

void mm_event_emit(struct mm_machine *m, enum mm_event_type type, int node,
		   uint64_t v0, uint64_t v1, uint64_t v2, uint64_t v3)
{
	struct mm_event *e = mm__event_new(m, type, node);
	e->v[0] = v0;
	e->v[1] = v1;
	e->v[2] = v2;
	e->v[3] = v3;
}

/* The counters an operation event reports, summed over zones. */
static void mm__op_counts(const struct mm_machine *m, uint64_t *c)
{
	c[MM_EVOP_PGFAULT] = m->events[MM_PGFAULT];
	c[MM_EVOP_PGMAJFAULT] = m->events[MM_PGMAJFAULT];
	c[MM_EVOP_PGFREE] = m->events[MM_PGFREE];
	c[MM_EVOP_PGALLOC] = 0;
	for (int z = 0; z < MM_MAX_ZONES; z++)
		c[MM_EVOP_PGALLOC] += m->events[MM_PGALLOC + z];
}

void mm_event_op_begin(struct mm_machine *m)
{
	mm__op_counts(m, m->ev.op_mark);
}

void mm_event_op_end(struct mm_machine *m, const char *op, int err)
{
	uint64_t now[MM_EVOP_NV];

	mm__op_counts(m, now);
	m->ev.ops++;
	struct mm_event *e = mm__event_new(m, MM_EV_OP, -1);
	e->err = err;
	for (int i = 0; i < MM_EVOP_NV; i++)
		e->v[i] = now[i] - m->ev.op_mark[i];
	size_t n = strlen(op);
	if (n >= sizeof(e->op))
		n = sizeof(e->op) - 1;
	memcpy(e->op, op, n);
	e->op[n] = '\0';
}

uint64_t mm_event_oldest(const struct mm_machine *m)
{
	return m->ev.next_id > m->ev.cap ? m->ev.next_id - m->ev.cap : 1;
}

const struct mm_event *mm_event_get(const struct mm_machine *m, uint64_t id)
{
	if (id < mm_event_oldest(m) || id >= m->ev.next_id)
		return NULL;
	const struct mm_event *e = &m->ev.ring[(id - 1) % m->ev.cap];
	MM_ASSERT(e->id == id);
	return e;
}
