/*
 * test_content.c — the sparse frame content store (engine/content.c):
 * frames read as zeros until written, only written frames hold a buffer,
 * a freed frame loses its bytes, the digest follows the bytes, and the
 * checker's frame-content invariant catches a buffer on a free frame or a
 * wrong count.
 */
#include "engine/internal.h"
#include "tests/unit/util.h"

#include <stdlib.h>
#include <string.h>

static uint32_t alloc_frame(struct mm_machine *m)
{
	struct mm_alloc_result r;
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, -1, &r), 0);
	return r.pfn;
}

static bool reads_zero(const struct mm_machine *m, uint32_t pfn)
{
	uint8_t b[MM_PAGE_SIZE];
	mm_frame_read(m, pfn, 0, b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		if (b[i])
			return false;
	return true;
}

TEST(content_zero_until_written_and_dropped_on_free)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	char d0[MM_DIGEST_HEX], d1[MM_DIGEST_HEX];
	uint32_t a = alloc_frame(m), b = alloc_frame(m);

	ASSERT(mm_frame_bytes(m, a) == NULL);
	ASSERT(reads_zero(m, a));
	ASSERT(reads_zero(m, m->zero_pfn));
	mm_digest(m, d0);

	ASSERT_EQ(mm_frame_write(m, a, 4090, "abcdef", 6), 0);
	ASSERT_EQ(m->nr_content, 1);
	char got[8] = {0};
	mm_frame_read(m, a, 4089, got, 7);
	ASSERT_EQ(got[0], 0);
	ASSERT_EQ_STR(got + 1, "abcdef");
	ASSERT(reads_zero(m, b));
	ASSERT(mm_frame_bytes(m, b) == NULL);
	mm_digest(m, d1);
	ASSERT(strcmp(d0, d1) != 0);
	tu_check(m, "written");

	/* Same length, other bytes: another digest. */
	char d2[MM_DIGEST_HEX];
	ASSERT_EQ(mm_frame_write(m, a, 4095, "g", 1), 0);
	mm_digest(m, d2);
	ASSERT(strcmp(d1, d2) != 0);

	ASSERT_EQ(mm_free_pages(m, a, 0, 0), 0);
	ASSERT_EQ(m->nr_content, 0);
	ASSERT(mm_frame_bytes(m, a) == NULL);
	tu_check(m, "freed");
	/* The frame comes back from the pcp list reading zeros. */
	uint32_t again = alloc_frame(m);
	ASSERT_EQ(again, a);
	ASSERT(reads_zero(m, again));
	ASSERT_EQ(mm_free_pages(m, again, 0, 0), 0);
	ASSERT_EQ(mm_free_pages(m, b, 0, 0), 0);
	mm_machine_destroy(m);
}

TEST(content_order_n_free_drops_every_frame)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	struct mm_alloc_result r;

	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL | MM___GFP_COMP, 2, 0, -1, &r), 0);
	for (uint32_t i = 0; i < 4; i++)
		ASSERT_EQ(mm_frame_write(m, r.pfn + i, 0, "x", 1), 0);
	ASSERT_EQ(m->nr_content, 4);
	tu_check(m, "written");
	ASSERT_EQ(mm_free_pages(m, r.pfn, 2, 0), 0);
	ASSERT_EQ(m->nr_content, 0);
	tu_check(m, "freed");
	mm_machine_destroy(m);
}

static void expect_violation(struct mm_machine *m, const char *inv)
{
	struct mm_violation v[16];
	int n = mm_check(m, v, 16);
	for (int i = 0; i < n && i < 16; i++)
		if (strcmp(v[i].invariant, inv) == 0)
			return;
	th_fail(__FILE__, __LINE__, "checker did not name %s (%d violations, "
		"first %s)", inv, n, n ? v[0].invariant : "-");
}

TEST(content_check_corruptions)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 64ull << 20);
	struct mm_machine *m = tu_machine(&c);
	uint32_t a = alloc_frame(m);

	ASSERT_EQ(mm_frame_write(m, a, 0, "x", 1), 0);
	tu_check(m, "written");

	/* The count disagrees with the buffers. */
	m->nr_content++;
	expect_violation(m, "frame-content");
	m->nr_content--;

	/* A free frame or the zero page holds bytes (a's buffer, slipped
	 * into their slots). */
	uint8_t *buf = m->content[a >> 10][a & 1023];
	uint32_t bad[2] = {alloc_frame(m), m->zero_pfn};
	ASSERT_EQ(mm_free_pages(m, bad[0], 0, 0), 0);
	for (int i = 0; i < 2; i++) {
		uint32_t pfn = bad[i];
		if (!m->content[pfn >> 10])
			m->content[pfn >> 10] = calloc(1024, sizeof(uint8_t *));
		m->content[pfn >> 10][pfn & 1023] = buf;
		m->nr_content++;
		expect_violation(m, "frame-content");
		m->content[pfn >> 10][pfn & 1023] = NULL;
		m->nr_content--;
	}

	tu_check(m, "restored");
	ASSERT_EQ(mm_free_pages(m, a, 0, 0), 0);
	mm_machine_destroy(m);
}
