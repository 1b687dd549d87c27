/*
 * content.c — the bytes of simulated frames, stored sparsely.
 *
 * A frame reads as zeros until something writes to it; only a frame that
 * received bytes owns a 4 KiB host buffer.  Buffers are found through a
 * two-level table indexed by pfn (content[pfn >> 10][pfn & 1023], NULL =
 * zeros), so a lookup is two loads and every walk goes in pfn order: no
 * result depends on host addresses.  A buffer lives exactly as long as its
 * frame stays allocated: mm__free_pages() drops it, a COW copy copies it,
 * and the zero page never has one (writing it is a programmer error).
 *
 * Invariants (check.c, frame-content): buffers sit only on allocated
 * frames, never on the zero page, and nr_content counts them.
 */
#include "engine/internal.h"

#include <stdlib.h>

#define MM_CONTENT_SHIFT 10
#define MM_CONTENT_CHUNK (1u << MM_CONTENT_SHIFT)

static uint32_t mm__content_chunks(const struct mm_machine *m)
{
	return (m->nr_pfns + MM_CONTENT_CHUNK - 1) >> MM_CONTENT_SHIFT;
}

const uint8_t *mm_frame_bytes(const struct mm_machine *m, uint32_t pfn)
{
	if (!m->content || pfn >= m->nr_pfns)
		return NULL;
	uint8_t **chunk = m->content[pfn >> MM_CONTENT_SHIFT];
	return chunk ? chunk[pfn & (MM_CONTENT_CHUNK - 1)] : NULL;
}

/* The buffer of pfn, allocated (zeroed) if it has none; NULL when the
 * host is out of memory. */
static uint8_t *mm__content_get(struct mm_machine *m, uint32_t pfn)
{
	MM_ASSERT(pfn < m->nr_pfns && pfn != m->zero_pfn);
	if (!m->content) {
		m->content = calloc(mm__content_chunks(m), sizeof(*m->content));
		if (!m->content)
			return NULL;
	}
	uint8_t ***chunk = &m->content[pfn >> MM_CONTENT_SHIFT];
	if (!*chunk) {
		*chunk = calloc(MM_CONTENT_CHUNK, sizeof(**chunk));
		if (!*chunk)
			return NULL;
	}
	uint8_t **slot = &(*chunk)[pfn & (MM_CONTENT_CHUNK - 1)];
	if (!*slot) {
		*slot = calloc(1, MM_PAGE_SIZE);
		if (!*slot)
			return NULL;
		m->nr_content++;
	}
	return *slot;
}

int mm_frame_write(struct mm_machine *m, uint32_t pfn, uint32_t off,
		   const void *src, uint32_t len)
{
	MM_ASSERT(off <= MM_PAGE_SIZE && len <= MM_PAGE_SIZE - off);
	if (!len)
		return 0;
	uint8_t *b = mm__content_get(m, pfn);
	if (!b)
		return -MM_ENOMEM;
	memcpy(b + off, src, len);
	return 0;
}

void mm_frame_read(const struct mm_machine *m, uint32_t pfn, uint32_t off,
		   void *dst, uint32_t len)
{
	const uint8_t *b = mm_frame_bytes(m, pfn);

	MM_ASSERT(off <= MM_PAGE_SIZE && len <= MM_PAGE_SIZE - off);
	if (b)
		memcpy(dst, b + off, len);
	else
		memset(dst, 0, len);
}

void mm__content_drop(struct mm_machine *m, uint32_t pfn, uint32_t nr)
{
	for (uint32_t i = 0; i < nr && m->nr_content; i++) {
		uint8_t **chunk = m->content[(pfn + i) >> MM_CONTENT_SHIFT];
		uint8_t **slot = chunk ? &chunk[(pfn + i) & (MM_CONTENT_CHUNK - 1)]
				       : NULL;
		if (slot && *slot) {
			free(*slot);
			*slot = NULL;
			m->nr_content--;
		}
	}
}

int mm__content_copy(struct mm_machine *m, uint32_t dst, uint32_t src)
{
	const uint8_t *s = mm_frame_bytes(m, src);

	if (!s) {
		mm__content_drop(m, dst, 1);
		return 0;
	}
	uint8_t *d = mm__content_get(m, dst);
	if (!d)
		return -MM_ENOMEM;
	memcpy(d, s, MM_PAGE_SIZE);
	return 0;
}

void mm__content_destroy(struct mm_machine *m)
{
	if (!m->content)
		return;
	for (uint32_t c = 0; c < mm__content_chunks(m); c++) {
		if (!m->content[c])
			continue;
		for (uint32_t i = 0; i < MM_CONTENT_CHUNK; i++)
			free(m->content[c][i]);
		free(m->content[c]);
	}
	free(m->content);
	m->content = NULL;
	m->nr_content = 0;
}
