/*
 * list.c — intrusive doubly linked lists of frames, threaded through
 * mm_page.lru_next/lru_prev by pfn (Linux's list_head, with 32-bit pfns in
 * place of pointers so the descriptor stays at 32 bytes and the state is
 * free of host addresses).  A frame is on at most one list; MM_NIL ends.
 */
#include "engine/internal.h"

void mm__plist_init(struct mm_plist *l)
{
	l->head = l->tail = MM_NIL;
	l->count = 0;
}

void mm__plist_add(struct mm_machine *m, struct mm_plist *l, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	p->lru_prev = MM_NIL;
	p->lru_next = l->head;
	if (l->head != MM_NIL)
		m->pages[l->head].lru_prev = pfn;
	else
		l->tail = pfn;
	l->head = pfn;
	l->count++;
}

void mm__plist_add_tail(struct mm_machine *m, struct mm_plist *l, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	p->lru_next = MM_NIL;
	p->lru_prev = l->tail;
	if (l->tail != MM_NIL)
		m->pages[l->tail].lru_next = pfn;
	else
		l->head = pfn;
	l->tail = pfn;
	l->count++;
}

void mm__plist_del(struct mm_machine *m, struct mm_plist *l, uint32_t pfn)
{
	struct mm_page *p = &m->pages[pfn];

	MM_ASSERT(l->count > 0);
	if (p->lru_prev != MM_NIL)
		m->pages[p->lru_prev].lru_next = p->lru_next;
	else
		l->head = p->lru_next;
	if (p->lru_next != MM_NIL)
		m->pages[p->lru_next].lru_prev = p->lru_prev;
	else
		l->tail = p->lru_prev;
	p->lru_next = p->lru_prev = MM_NIL;
	l->count--;
}

void mm__plist_move_tail(struct mm_machine *m, struct mm_plist *to,
			 struct mm_plist *from, uint32_t pfn)
{
	mm__plist_del(m, from, pfn);
	mm__plist_add_tail(m, to, pfn);
}
