/*
 * snapshot.c — machine images: mm_snapshot_save() / mm_snapshot_load().
 *
 * An image is a 48-byte header and a payload, every number little-endian
 * with an explicit size:
 *
 *   offset size
 *        0    8  magic "MMSIMSNP"
 *        8    4  format version (MM_SNAPSHOT_FORMAT)
 *       12    4  header size (48)
 *       16    8  payload size
 *       24   16  the machine's digest (the two 64-bit words of mm_digest)
 *       40    8  checksum of bytes [0, 40) and of the payload
 *       48    …  payload: the config, then the state, in the order of
 *                mm__visit_config() and mm__visit_state() (state.c)
 *
 * The checksum is the digest's two-lane hash over 8-byte words: changing
 * any single byte of the image changes it.  Loading checks, in order, the
 * magic (a foreign file), the version, the sizes (a truncated image), the
 * checksum (a corrupt one); then boots a machine from the image's config,
 * reads the state over it (every count bounded, every index the loader
 * follows range-checked, every index the engine follows unchecked
 * validated), and finally requires the recorded digest.  Any failure
 * frees everything and says why; nothing is ever trusted half-way.  The
 * invariant checker is not part of loading: an image keeps whatever the
 * saved machine had, violations included (a replay would have them too).
 */
#include "engine/internal.h"

#include <stdio.h>
#include <stdlib.h>

#define MM__SNAP_MAGIC "MMSIMSNP"
#define MM__SNAP_HEADER 48

static void mm__put_le(uint8_t *p, uint64_t x, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t mm__get_le(const uint8_t *p, unsigned bytes)
{
	uint64_t x = 0;
	for (unsigned i = 0; i < bytes; i++)
		x |= (uint64_t)p[i] << (8 * i);
	return x;
}

static void mm__hash_bytes(struct mm__hash *h, const uint8_t *p, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8)
		mm__hash_word(h, mm__get_le(p + i, 8));
	if (i < n)
		mm__hash_word(h, mm__get_le(p + i, (unsigned)(n - i)));
	mm__hash_word(h, n);
}

static uint64_t mm__snap_checksum(const uint8_t *img, size_t payload)
{
	struct mm__hash h = MM__HASH_INIT;
	uint64_t r[2];

	mm__hash_bytes(&h, img, 40);
	mm__hash_bytes(&h, img + MM__SNAP_HEADER, payload);
	mm__hash_final(&h, r);
	return r[0] ^ mm__rotl64(r[1], 17);
}

int mm_snapshot_save(const struct mm_machine *m, struct mm_bytes *out)
{
	struct mm__vis v = {.mode = MM__V_SAVE, .h = MM__HASH_INIT};
	struct mm_machine *w = (struct mm_machine *)m; /* SAVE only reads */
	uint8_t head[MM__SNAP_HEADER] = {0};
	uint64_t d[2];

	mm__vsave_reserve(&v, head, sizeof(head));
	mm__visit_config(&v, &w->cfg);
	mm__visit_state(&v, w);
	if (v.failed) {
		free(v.out);
		return -MM_ENOMEM;
	}
	mm__hash_final(&v.h, d); /* the walk hashed what it wrote: mm_digest */
	memcpy(v.out, MM__SNAP_MAGIC, 8);
	mm__put_le(v.out + 8, MM_SNAPSHOT_FORMAT, 4);
	mm__put_le(v.out + 12, MM__SNAP_HEADER, 4);
	mm__put_le(v.out + 16, v.len - MM__SNAP_HEADER, 8);
	mm__put_le(v.out + 24, d[0], 8);
	mm__put_le(v.out + 32, d[1], 8);
	mm__put_le(v.out + 40, mm__snap_checksum(v.out, v.len - MM__SNAP_HEADER), 8);
	out->p = v.out;
	out->len = v.len;
	out->cap = v.cap;
	return 0;
}

/* Frees the records boot made that the image replaces (the image holds
 * every slab, page table, vmalloc area, task, mm, VMA and shmem object). */
static void mm__snap_reset(struct mm_machine *m)
{
	mm__process_destroy(m);
	mm__slab_destroy(m);
	mm__vmalloc_destroy(m);
	m->tasks = NULL;
	m->mms = NULL;
	m->nr_mms = m->cap_mms = 0;
	m->vmas = NULL;
	m->nr_vmas = m->cap_vmas = 0;
	m->shmem = NULL;
	m->nr_shmem = m->cap_shmem = 0;
	m->slabs = NULL;
	m->nr_slabs = m->cap_slabs = 0;
	memset(m->caches, 0, sizeof(m->caches));
	m->vm_areas = NULL;
	m->nr_vm_areas = m->cap_vm_areas = 0;
	m->ptables = NULL;
	m->nr_ptables = m->cap_ptables = 0;
}

static int mm__snap_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int mm__snap_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;
	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Indexes the engine follows without checking, which mm_check() also
 * follows: they must name something that exists. */
static const char *mm__snap_refs(const struct mm_machine *m)
{
	for (int t = 0; t < MM_NR_KMALLOC_TYPES; t++)
		for (int i = 0; i <= MM_KMALLOC_SHIFT_HIGH; i++) {
			int c = m->kmalloc_caches[t][i];
			if (c != -1 && (c < 0 || c >= MM_SLAB_MAX_CACHES ||
					!m->caches[c]))
				return "a kmalloc cache that does not exist";
		}
	for (int e = 0; e < MM_NR_ENGINE_CACHES; e++) {
		int c = m->engine_caches[e];
		if (c < 0 || c >= MM_SLAB_MAX_CACHES || !m->caches[c])
			return "an engine cache that does not exist";
	}
	for (uint32_t i = 0; i < m->nr_slabs; i++) {
		const struct mm_slab *sl = &m->slabs[i];
		if (sl->pfn != MM_NIL &&
		    (sl->pfn >= m->nr_pfns || sl->order > MM_MAX_ORDER ||
		     sl->pfn + (1u << sl->order) > m->nr_pfns ||
		     sl->node >= m->nr_nodes || !sl->objects))
			return "a slab outside the machine";
	}
	for (uint32_t pfn = 0; pfn < m->nr_pfns; pfn++) {
		const struct mm_page *p = &m->pages[pfn];
		if ((p->flags >> MM_PAGE_ZONE_SHIFT) / MM_MAX_ZONES >= (unsigned)m->nr_nodes ||
		    (p->flags >> MM_PAGE_ZONE_SHIFT) % MM_MAX_ZONES >= (unsigned)m->nr_zone_types)
			return "a frame in a zone that does not exist";
		if (mm_page_test(p, MM_PG_pgtable) &&
		    (p->index >= m->nr_ptables || m->ptables[p->index].pfn != pfn))
			return "a page-table frame without its table";
		if (mm_page_test(p, MM_PG_slab) && (p->index >= m->nr_slabs ||
						    m->slabs[p->index].pfn == MM_NIL))
			return "a slab frame without its slab";
	}
	for (uint32_t i = 0; i < m->nr_ptables; i++) {
		const struct mm_ptable *t = &m->ptables[i];
		if (t->pfn != MM_NIL && (t->pfn >= m->nr_pfns ||
					 m->pages[t->pfn].index != i))
			return "a page table whose frame does not name it";
	}
	if (m->kernel_pgd >= m->nr_pfns || m->zero_pfn >= m->nr_pfns ||
	    m->kernel_image_pfn >= m->nr_pfns ||
	    m->pages[m->kernel_pgd].index >= m->nr_ptables ||
	    m->ptables[m->pages[m->kernel_pgd].index].pfn != m->kernel_pgd)
		return "kernel page tables outside the machine";
	for (uint32_t i = 0; i < m->nr_vm_areas; i++)
		for (uint32_t k = 0; k < m->vm_areas[i].nr_pages; k++)
			if (m->vm_areas[i].pages[k] >= m->nr_pfns)
				return "a vmalloc page outside the machine";
	for (uint32_t i = 0; i < MM_MAX_TASKS; i++)
		if (m->tasks[i].pid && (m->tasks[i].mm >= m->nr_mms ||
					m->tasks[i].cpu < 0 ||
					m->tasks[i].cpu >= m->cfg.cpus))
			return "a task without its mm";
	for (uint32_t i = 0; i < m->nr_mms; i++) {
		const struct mm_mm *mm = &m->mms[i];
		if (mm->id == i && (mm->pgd >= m->nr_pfns ||
				    m->pages[mm->pgd].index >= m->nr_ptables ||
				    m->ptables[m->pages[mm->pgd].index].pfn != mm->pgd ||
				    (mm->root != MM_NIL && mm->root >= m->nr_vmas) ||
				    (mm->first != MM_NIL && mm->first >= m->nr_vmas)))
			return "an mm whose tables or VMAs do not exist";
	}
	for (uint32_t i = 0; i < m->nr_vmas; i++) {
		const struct mm_vma *v = &m->vmas[i];
		if (v->end && (v->mm >= m->nr_mms ||
			       (v->left != MM_NIL && v->left >= m->nr_vmas) ||
			       (v->right != MM_NIL && v->right >= m->nr_vmas) ||
			       (v->prev != MM_NIL && v->prev >= m->nr_vmas) ||
			       (v->next != MM_NIL && v->next >= m->nr_vmas) ||
			       (v->shared_left != MM_NIL && v->shared_left >= m->nr_vmas) ||
			       (v->shared_right != MM_NIL && v->shared_right >= m->nr_vmas) ||
			       (v->shared_parent != MM_NIL &&
				v->shared_parent >= m->nr_vmas)))
			return "a VMA linked to records that do not exist";
	}
	for (int n = 0; n < m->nr_nodes; n++)
		if ((m->nodes[n].shadow_head != MM_NIL &&
		     m->nodes[n].shadow_head >= m->nr_xa_nodes) ||
		    (m->nodes[n].shadow_tail != MM_NIL &&
		     m->nodes[n].shadow_tail >= m->nr_xa_nodes))
			return "a shadow-node list outside the tree nodes";
	for (uint32_t i = 0; i < m->nr_xa_nodes; i++) {
		const struct mm_xa_node *x = &m->xa_nodes[i];
		if ((x->shadow_next != MM_NIL && x->shadow_next >= m->nr_xa_nodes) ||
		    (x->shadow_prev != MM_NIL && x->shadow_prev >= m->nr_xa_nodes))
			return "a shadow-node link outside the tree nodes";
	}
	for (uint32_t i = 0; i < m->nr_files; i++)
		if (m->files[i].ino && m->files[i].i_mmap != MM_NIL &&
		    m->files[i].i_mmap >= m->nr_vmas)
			return "a file mapped by a VMA that does not exist";
	for (uint32_t i = 0; i < m->nr_shmem; i++)
		if (m->shmem[i].file && m->shmem[i].i_mmap != MM_NIL &&
		    m->shmem[i].i_mmap >= m->nr_vmas)
			return "a shmem object mapped by a VMA that does not exist";
	for (uint32_t i = 0; i < m->nr_shmem; i++)
		for (uint32_t k = 0; k < m->shmem[i].nr; k++)
			if (m->shmem[i].pages[k] != MM_NIL &&
			    m->shmem[i].pages[k] >= m->nr_pfns)
				return "a shmem page outside the machine";
	return NULL;
}

int mm_snapshot_load(const uint8_t *img, size_t len, struct mm_machine **out,
		     char *err, size_t errlen)
{
	struct mm__vis v = {.mode = MM__V_LOAD, .h = MM__HASH_INIT};
	struct mm_config cfg;
	struct mm_machine *m = NULL;
	char sub[160];
	int rc;

	if (len < 8 || memcmp(img, MM__SNAP_MAGIC, 8) != 0)
		return mm__snap_fail(err, errlen, -MM_EINVAL, "not an mmsim "
				     "snapshot image (no MMSIMSNP magic)");
	if (len < MM__SNAP_HEADER)
		return mm__snap_fail(err, errlen, -MM_EINVAL, "the image is "
				     "truncated (%zu bytes, its header alone "
				     "takes %d)", len, MM__SNAP_HEADER);
	uint64_t format = mm__get_le(img + 8, 4);
	if (format != MM_SNAPSHOT_FORMAT)
		return mm__snap_fail(err, errlen, -MM_EINVAL, "snapshot format %llu "
				     "(this build reads format %d)",
				     (unsigned long long)format, MM_SNAPSHOT_FORMAT);
	uint64_t hsize = mm__get_le(img + 12, 4), payload = mm__get_le(img + 16, 8);
	if (hsize != MM__SNAP_HEADER || payload != len - MM__SNAP_HEADER)
		return mm__snap_fail(err, errlen, -MM_EINVAL, "the image is "
				     "truncated or has trailing bytes (%zu bytes, "
				     "its header says %llu)", len,
				     (unsigned long long)(hsize + payload));
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	if (mm__snap_checksum(img, payload) != mm__get_le(img + 40, 8))
		return mm__snap_fail(err, errlen, -MM_EINVAL, "the image is "
				     "corrupt (checksum mismatch)");
#endif

	v.p = img + MM__SNAP_HEADER;
	v.end = img + len;
	memset(&cfg, 0, sizeof(cfg));
	mm__visit_config(&v, &cfg);
	if (v.failed)
		return mm__snap_fail(err, errlen, -MM_EINVAL, "%s", v.err);
	rc = mm_machine_create(&cfg, &m, sub, sizeof(sub));
	if (rc)
		return mm__snap_fail(err, errlen, rc, "the image's config: %s",
				     rc == -MM_ENOMEM ? "out of memory" : sub);
	mm__snap_reset(m);
	mm__visit_state(&v, m);
	if (!v.failed && v.p != v.end)
		mm__vfail(&v, "%zu bytes after the state", (size_t)(v.end - v.p));
	if (v.failed) {
		rc = v.oom ? -MM_ENOMEM : -MM_EINVAL;
		mm__snap_fail(err, errlen, rc, "%s", v.err);
		goto err_destroy;
	}
	const char *bad = mm__snap_refs(m);
	if (bad) {
		rc = mm__snap_fail(err, errlen, -MM_EINVAL, "the image holds %s",
				   bad);
		goto err_destroy;
	}
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	uint64_t d[2];
	mm__hash_final(&v.h, d); /* the walk hashed what it read: mm_digest */
	if (d[0] != mm__get_le(img + 24, 8) || d[1] != mm__get_le(img + 32, 8)) {
		rc = mm__snap_fail(err, errlen, -MM_EINVAL, "the image does not "
				   "restore to the digest it records");
		goto err_destroy;
	}
#endif
	*out = m;
	return 0;

err_destroy:
	mm_machine_destroy(m);
	return rc;
}
