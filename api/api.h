/*
 * api.h — JSON ⇄ engine.  Value conventions of SPEC §4 (sizes with binary
 * units, addresses as numbers or hex/decimal strings, gfp arrays) and the
 * machine config decoder.  Errors are reported as an api_error that the
 * HTTP layer turns into the SPEC §4 error shape.
 */
#ifndef MMSIM_API_API_H
#define MMSIM_API_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/mm.h"

/* A decode error: which field, and why (400 INVALID_ARGUMENT). */
struct api_error {
	char field[64];
	char message[256];
};

/* Fills err (field and a formatted message) and returns -1. */
int api_fail(struct api_error *err, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parses a size: a non-negative integer or a string of digits with an
 * optional binary unit K, M, G, T (also KiB/MiB/GiB/TiB and "k"): "64K" =
 * 65536.  Returns 0 or -1 (message in err, naming field).
 */
int api_parse_size(const json_t *v, const char *field, uint64_t *out,
		   struct api_error *err);
/* Parses an address: integer, "0x…" hex string or decimal string. */
int api_parse_addr(const json_t *v, const char *field, uint64_t *out,
		   struct api_error *err);
/* Parses ["GFP_KERNEL", "__GFP_ZERO", …] into engine GFP bits. */
int api_parse_gfp(const json_t *v, const char *field, uint32_t *out,
		  struct api_error *err);
/* Parses ["SLAB_HWCACHE_ALIGN", …] into engine MM_SLAB_* bits. */
int api_parse_slab_flags(const json_t *v, const char *field, uint32_t *out,
			 struct api_error *err);
/* An address as the answers carry it: a lowercase hex string "0x…". */
json_t *api_hex(uint64_t v);

/*
 * Parses a protection triplet "[r-][w-][x-]" ("rw-", "---" = PROT_NONE)
 * into MM_PROT_* bits.  Raw numbers are refused: names only (SPEC §4).
 */
int api_parse_prot(const json_t *v, const char *field, int *out,
		   struct api_error *err);
/* The triplet of MM_PROT_* bits: "rw-".  buf holds at least 4 bytes. */
const char *api_prot_str(int prot, char *buf);
/*
 * Parses ["MAP_PRIVATE", "MAP_ANONYMOUS", …] (names of api_map_flag_names)
 * into MM_MAP_* bits; numbers and unknown names are refused, naming the
 * bad element: flags[1]: unknown mmap flag "MAP_PRIVTE".
 */
int api_parse_map_flags(const json_t *v, const char *field, uint32_t *out,
			struct api_error *err);
/* The accepted mmap flag names, NULL-terminated (docs and OpenAPI). */
extern const char *const api_map_flag_names[];
/* The accepted madvise advice names, NULL-terminated. */
extern const char *const api_madv_names[];

/*
 * Checks that v is a base64 string (RFC 4648 standard alphabet, "="
 * padding optional, no line breaks); *len gets the decoded size.  0 or -1.
 */
int api_parse_base64(const json_t *v, const char *field, size_t *len,
		     struct api_error *err);
/* Decodes a string api_parse_base64() accepted into out (room for the
 * size it reported); returns the number of bytes written. */
size_t api_base64_decode(const char *s, uint8_t *out);
/* The base64 text (standard alphabet, "=" padding) of len bytes, as a new
 * JSON string; NULL when out of memory. */
json_t *api_base64_string(const uint8_t *p, size_t len);

/* Prints v into buf[size] exactly as json_dumpb(v, JSON_COMPACT) would, but
 * faster (api/dump.c); returns its length, or 0 when it does not fit or
 * holds a real number (print those with jansson). */
size_t api_json_compact(const json_t *v, char *buf, size_t size);

/* json_dumps(v, JSON_COMPACT), printed by api_json_compact when it can (a
 * small value without reals): malloc'd text, its length in *len (may be
 * NULL); NULL when out of memory.  The server's answers and journal
 * entries go through it. */
char *api_json_text(const json_t *v, size_t *len);

/*
 * Decodes a machine config object (unknown keys rejected, types and ranges
 * checked, engine consistency checks applied).  NULL or {} gives the
 * defaults.  Returns 0 or -1 with err filled.
 */
int api_config_decode(const json_t *obj, struct mm_config *cfg,
		      struct api_error *err);
/* Encodes a config back to JSON (every key, canonical units as numbers). */
json_t *api_config_encode(const struct mm_config *cfg);

/* ---- events (api/event.c) ---- */
/* An engine event as JSON (new reference; see api/event.c for the shape). */
json_t *api_event_json(const struct mm_event *e);
/* "op,oom_kill" → a mask of 1 << type; -1 with err for an unknown name. */
int api_event_types(const char *list, uint32_t *mask, struct api_error *err);

/* ---- JSON views of the engine's /proc data (api/proc.c) ---- */
/*
 * Renders /proc/NAME of machine m as Linux text (*text, malloc'd, caller
 * frees) or as JSON (returned; caller decrefs).  NAME is one of buddyinfo,
 * pagetypeinfo, zoneinfo, meminfo, vmstat, slabinfo, vmallocinfo.  Returns
 * NULL / -1 for an unknown name.
 */
int api_proc_text(const struct mm_machine *m, const char *name, char **text);
json_t *api_proc_json(const struct mm_machine *m, const char *name);
/* The zones of every node: layout, watermarks, free lists, pcp lists. */
json_t *api_zones_json(const struct mm_machine *m);
/* Each node's LRU lists (count, the first `limit` pfns from the head —
 * the most recently added — and whether more follow), kswapd state and
 * reclaim costs. */
json_t *api_lru_json(const struct mm_machine *m, uint32_t limit);

/* ---- kernel allocators: kmem caches, vmalloc areas, translation
 *      (api/kernel.c) ---- */
/*
 * One kmem cache (id must name one): {"name","object_size","size","align",
 * "objects_per_slab","pages_per_slab","order","flags":[SLAB_* names],
 * "builtin","active_objs","num_objs","slabs"} — the object counts as
 * /proc/slabinfo shows them.  New reference.
 */
json_t *api_kmem_cache_json(const struct mm_machine *m, int id);
/*
 * The ids of every cache into ids[MM_SLAB_MAX_CACHES], oldest first
 * (creation order) or newest first (/proc/slabinfo's order).  Returns how
 * many.
 */
int api_kmem_cache_ids(const struct mm_machine *m, bool newest_first,
		       int *ids);
/* /proc/slabinfo as JSON: the cache objects, newest first. */
json_t *api_slabinfo_json(const struct mm_machine *m);
/* /proc/vmallocinfo as JSON: [{"addr","end","size","pages","caller",
 * "nodes":[{"node","pages"}]}] in address order (addresses as hex). */
json_t *api_vmallocinfo_json(const struct mm_machine *m);
/* A kernel address translated: {"addr","kind","mapped","pfn","phys",
 * "walk":[{"level","table_pfn","index","entry"}]}; pfn and phys are null
 * when no frame backs the address. */
json_t *api_translate_json(const struct mm_machine *m, uint64_t addr);
/* GET …/processes/{pid}/pagetable?addr=: the user walk (NULL: no pid). */
json_t *api_pagetable_json(const struct mm_machine *m, int pid, uint64_t addr);

/* ---- processes (api/process.c) ---- */
/* Every live pid into pids[MM_MAX_TASKS], in increasing order; how many. */
int api_process_pids(const struct mm_machine *m, int32_t *pids);
/*
 * A live process: {"pid","ppid","state","cpu","name","rss","min_flt",
 * "maj_flt","vm_size"} (vm_size in bytes; rss 0 until demand paging), and
 * with detail also "oom_score_adj", "rss_limit_pages" (null: none),
 * "mmap_base", "start_brk", "brk" (hex) and "map_count".  New reference.
 */
/* One file (GET …/files/{f}): name, size, inode, cached and dirty pages. */
json_t *api_file_json(const struct mm_machine *m, int id);
json_t *api_process_json(const struct mm_machine *m, const struct mm_task *t,
			 bool detail);
/*
 * /proc/PID/NAME (maps, smaps or status) of a live pid as Linux text
 * (*text malloc'd, the caller frees; 0) or as JSON (new reference: maps
 * and smaps {"items": [...]}, status an object).  -1 / NULL for another
 * name.
 */
int api_pid_proc_text(const struct mm_machine *m, int pid, const char *name,
		      char **text);
json_t *api_pid_proc_json(const struct mm_machine *m, int pid,
			  const char *name);

/* ---- frame map and frame descriptors (api/frames.c) ---- */
/* Most frames one api_frames_json() call describes. */
#define API_FRAMES_MAX 65536
/*
 * {"start","count","nr_pfns","states","legend"}: one character per frame
 * of [start, start + count) clipped to the machine (count <= API_FRAMES_MAX
 * is the caller's duty); the legend maps each character to its meaning.
 */
json_t *api_frames_json(const struct mm_machine *m, uint32_t start,
			uint32_t count);
/* The descriptor of frame pfn (< m->nr_pfns): flags by name, counts, zone,
 * node, pageblock migratetype, order of a free or compound block. */
json_t *api_frame_json(const struct mm_machine *m, uint32_t pfn);
/* Linux's name of a page flag ("buddy", "reserved", …). */
const char *api_pageflag_name(enum mm_pageflag f);

#endif
