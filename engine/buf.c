/*
 * buf.c — host-memory helpers: growing record arrays, and appending formatted text to a caller's buffer, snprintf-style:
 * output beyond the buffer is dropped but counted, so a render returns the
 * length the whole text needs and the caller can retry with more room.
 */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>

void mm__bprintf(struct mm_buf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->used < b->len ? b->len - b->used : 0;

	va_start(ap, fmt);
	int n = vsnprintf(room ? b->p + b->used : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->used += (size_t)n;
}

size_t mm__bfinish(struct mm_buf *b)
{
	if (b->len)
		b->p[b->used < b->len ? b->used : b->len - 1] = '\0';
	return b->used;
}

int mm__grow(void **array, uint32_t *cap, uint32_t used, size_t elem)
{
	if (used < *cap)
		return 0;
	uint32_t n = *cap ? *cap * 2 : 16;
	void *p = realloc(*array, (size_t)n * elem);
	if (!p)
		return -MM_ENOMEM;
	*array = p;
	*cap = n;
	return 0;
}
