/*
 * mm.h — the public interface of the mmsim engine.
 *
 * The engine simulates one Linux machine's memory manager.  It performs no
 * I/O, reads no clock and no random source: everything that varies comes in
 * through the config (including the seed) and the operations applied, so the
 * same config and operations always give the same state (SPEC §2).
 *
 * Conventions: functions return 0 or a negative -MM_E… code whose name is
 * the Linux errno (mm_errname()).  Page frame numbers are uint32_t (64 GiB of
 * 4 KiB pages fit).  Ranges are half-open [start, end).  Structures below are
 * readable by callers (renders, tests, the API); only the engine writes them.
 */
#ifndef MMSIM_ENGINE_MM_H
#define MMSIM_ENGINE_MM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/vmstat_items.h"

struct mm_machine;

#define MM_PAGE_SHIFT 12
#define MM_PAGE_SIZE (1u << MM_PAGE_SHIFT)
#define MM_MAX_ORDER 10 /* MAX_PAGE_ORDER: largest block 4 MiB */
#define MM_NR_ORDERS (MM_MAX_ORDER + 1)
#define MM_MAX_NODES 8
#define MM_MAX_ZONES 5  /* x86_64: DMA DMA32 Normal Movable Device */
#define MM_MAX_CPUS 64
#define MM_NIL UINT32_MAX /* "no pfn" in intrusive lists */

/* ---- counters of /proc/vmstat and /proc/zoneinfo ---- */
#define MM__ENUM(e, name) e,
#define MM__ENUMZ(e, name) e, e##_LAST_ = e + MM_MAX_ZONES - 1,
enum mm_zone_stat { MM_ZONE_STAT_ITEMS(MM__ENUM) MM_NR_ZONE_STAT };
enum mm_node_stat { MM_NODE_STAT_ITEMS(MM__ENUM) MM_NR_NODE_STAT };
enum mm_vm_stat { MM_VM_STAT_ITEMS(MM__ENUM) MM_NR_VM_STAT };
/* Events; per-zone ones (MM_PGALLOC, …) are indexed MM_PGALLOC + zone type. */
enum mm_vm_event { MM_VM_EVENT_ITEMS(MM__ENUM, MM__ENUMZ) MM_NR_VM_EVENTS };
#undef MM__ENUM
#undef MM__ENUMZ

/* ---- errors: Linux errno numbers, negated on return ------------------- */
enum {
	MM_EPERM = 1, MM_ENOENT = 2, MM_ESRCH = 3, MM_EINTR = 4, MM_EIO = 5,
	MM_ENXIO = 6, MM_E2BIG = 7, MM_ENOEXEC = 8, MM_EBADF = 9,
	MM_ECHILD = 10, MM_EAGAIN = 11, MM_ENOMEM = 12, MM_EACCES = 13,
	MM_EFAULT = 14, MM_EBUSY = 16, MM_EEXIST = 17, MM_ENODEV = 19,
	MM_EINVAL = 22, MM_ENFILE = 23, MM_EMFILE = 24, MM_EFBIG = 27,
	MM_ENOSPC = 28, MM_ERANGE = 34, MM_ENAMETOOLONG = 36,
	MM_EOVERFLOW = 75,
};
/* "ENOMEM" for MM_ENOMEM or -MM_ENOMEM; "E?" for unknown numbers. */
const char *mm_errname(int err);

/* ---- injected environment ---------------------------------------------- */
enum mm_log_level { MM_LOG_DEBUG, MM_LOG_INFO, MM_LOG_WARN };

/*
 * The machine's environment: a seeded RNG (xoshiro256**), the simulated
 * clock (advanced only by tick), and a log sink supplied by the caller
 * (may be NULL).  The RNG and clock are machine state (digested); the log
 * sink is not.
 */
struct mm_env {
	uint64_t rng[4];
	uint64_t clock;  /* simulated ticks since boot */
	void (*log)(void *ctx, enum mm_log_level level, const char *msg);
	void *log_ctx;
};
void mm_env_init(struct mm_env *env, uint64_t seed);
uint64_t mm_env_random(struct mm_env *env);

/* ---- configuration -------------------------------------------------- */
enum mm_arch { MM_ARCH_X86_64, MM_ARCH_I386 };
enum mm_overcommit { MM_OVERCOMMIT_HEURISTIC, MM_OVERCOMMIT_ALWAYS,
		     MM_OVERCOMMIT_NEVER };
enum mm_page_policy { MM_POLICY_LINUX, MM_POLICY_CLOCK, MM_POLICY_FIFO,
		      MM_POLICY_LRU, MM_POLICY_OPT, MM_POLICY_RANDOM };

struct mm_config {
	enum mm_arch arch;
	uint64_t memory;                     /* bytes */
	int nodes;
	uint64_t node_memory[MM_MAX_NODES];  /* all 0: split evenly */
	uint8_t distance[MM_MAX_NODES][MM_MAX_NODES]; /* all 0: 10 / 20 */
	/* per node and zone index; -1 = not overridden */
	int64_t zones_managed_pages[MM_MAX_NODES][MM_MAX_ZONES];
	int cpus;
	uint64_t swap;
	enum mm_page_policy page_policy;
	int64_t min_free_kbytes;             /* -1: Linux's formula */
	int watermark_scale_factor;
	bool zero_page;
	uint32_t fault_around_bytes;
	uint32_t read_ahead_kb;              /* the disk's: ra_pages * 4 */
	int swappiness;
	enum mm_overcommit overcommit;
	int overcommit_ratio;
	uint32_t kswapd_pages_per_tick;
	uint64_t seed;
	int max_map_count;
	int pid_max;
	int randomize_va_space;
	uint32_t event_ring;                 /* events kept (engine/event.c) */
};

/* Zone types of an arch: how many, and their Linux names ("DMA32", …). */
int mm_zone_type_count(enum mm_arch arch);
const char *mm_zone_type_name(enum mm_arch arch, int idx);

/* Fills the Linux-like defaults (x86_64, 256 MiB, 1 node, 2 cpus, …). */
void mm_config_default(struct mm_config *cfg);
/*
 * Checks a config for consistency.  Returns 0, or -MM_EINVAL with a
 * human-readable reason in err (never NULL-terminated beyond errlen).
 */
int mm_config_validate(const struct mm_config *cfg, char *err, size_t errlen);

/* ---- GFP flags ---------------------------------------------------------- */
enum {
	MM___GFP_DMA = 1u << 0,
	MM___GFP_HIGHMEM = 1u << 1,
	MM___GFP_DMA32 = 1u << 2,
	MM___GFP_MOVABLE = 1u << 3,
	MM___GFP_RECLAIMABLE = 1u << 4,
	MM___GFP_HIGH = 1u << 5,
	MM___GFP_IO = 1u << 6,
	MM___GFP_FS = 1u << 7,
	MM___GFP_ZERO = 1u << 8,
	MM___GFP_DIRECT_RECLAIM = 1u << 10,
	MM___GFP_KSWAPD_RECLAIM = 1u << 11,
	MM___GFP_NOWARN = 1u << 13,
	MM___GFP_RETRY_MAYFAIL = 1u << 14,
	MM___GFP_NOFAIL = 1u << 15,
	MM___GFP_NORETRY = 1u << 16,
	MM___GFP_MEMALLOC = 1u << 17,
	MM___GFP_COMP = 1u << 18,
	MM___GFP_NOMEMALLOC = 1u << 19,
	MM___GFP_HARDWALL = 1u << 20,
	MM___GFP_THISNODE = 1u << 21,
	MM___GFP_ACCOUNT = 1u << 22,
};
#define MM___GFP_RECLAIM (MM___GFP_DIRECT_RECLAIM | MM___GFP_KSWAPD_RECLAIM)
#define MM_GFP_ATOMIC (MM___GFP_HIGH | MM___GFP_KSWAPD_RECLAIM)
#define MM_GFP_KERNEL (MM___GFP_RECLAIM | MM___GFP_IO | MM___GFP_FS)
#define MM_GFP_NOWAIT (MM___GFP_KSWAPD_RECLAIM | MM___GFP_NOWARN)
#define MM_GFP_USER (MM_GFP_KERNEL | MM___GFP_HARDWALL)
#define MM_GFP_DMA MM___GFP_DMA
#define MM_GFP_DMA32 MM___GFP_DMA32
#define MM_GFP_HIGHUSER (MM_GFP_USER | MM___GFP_HIGHMEM)
#define MM_GFP_HIGHUSER_MOVABLE (MM_GFP_HIGHUSER | MM___GFP_MOVABLE)

/*
 * Parses one flag name ("GFP_KERNEL", "__GFP_ZERO", …) and ORs it into
 * *gfp.  Returns 0 or -MM_EINVAL for an unknown name.
 */
int mm_gfp_parse(const char *name, uint32_t *gfp);
/* Names of the accepted flags, NULL-terminated (for docs and OpenAPI). */
extern const char *const mm_gfp_names[];

/* ---- physical memory ------------------------------------------------------ */
enum mm_migratetype {
	MM_MIGRATE_UNMOVABLE,
	MM_MIGRATE_MOVABLE,
	MM_MIGRATE_RECLAIMABLE,
	MM_MIGRATE_PCPTYPES,
	MM_MIGRATE_HIGHATOMIC = MM_MIGRATE_PCPTYPES,
	MM_MIGRATE_ISOLATE,
	MM_MIGRATE_TYPES
};
extern const char *const mm_migratetype_names[MM_MIGRATE_TYPES];

/* Page flags (bits 0..23 of mm_page.flags); the zone id lives above. */
enum mm_pageflag {
	MM_PG_locked, MM_PG_referenced, MM_PG_uptodate, MM_PG_dirty,
	MM_PG_lru, MM_PG_head, MM_PG_tail, MM_PG_active, MM_PG_workingset,
	MM_PG_reserved, MM_PG_private, MM_PG_writeback, MM_PG_reclaim,
	MM_PG_swapbacked, MM_PG_unevictable, MM_PG_mlocked,
	MM_PG_buddy,   /* head of a free block on a buddy free list */
	MM_PG_pcp,     /* free, on a per-CPU list */
	MM_PG_slab, MM_PG_pgtable,
	MM_PG_hole,    /* no RAM behind this pfn (inside a zone's span) */
	MM_PG_kalloc,  /* allocated through the allocPages operation */
	MM_PG_large_kmalloc, /* head of a kmalloc() too big for a cache */
	MM_PG_anon_exclusive, /* anonymous page mapped by one mm only (PageAnonExclusive) */
	MM_PG_swapcache, /* in the swap cache; private = its swap slot (swap.c) */
	MM_NR_PAGEFLAGS
};
/* Zone id (node * MM_MAX_ZONES + zone type, < 64) in the top 6 bits. */
#define MM_PAGE_ZONE_SHIFT 26
_Static_assert(MM_NR_PAGEFLAGS <= MM_PAGE_ZONE_SHIFT, "page flags overflow");
_Static_assert(MM_MAX_NODES * MM_MAX_ZONES <= 64, "zone id overflows");

/*
 * The frame descriptor, Linux's struct page in 32 bytes (SPEC §3 budget).
 * lru_next/lru_prev link the frame into exactly one list at a time: a buddy
 * free list, a per-CPU list or (later) an LRU list.  private holds the order
 * of a free block (PG_buddy) or of an allocated compound head.
 */
struct mm_page {
	uint32_t flags;     /* 1 << MM_PG_*; zone id (node*MM_MAX_ZONES+idx) << 24 */
	int32_t refcount;   /* _refcount: 0 when free */
	int32_t mapcount;   /* number of page-table entries mapping it */
	uint32_t private;
	uint32_t lru_next;
	uint32_t lru_prev;
	uint32_t mapping;   /* owner handle (0 = none) */
	uint32_t index;     /* offset within mapping, in pages */
};
_Static_assert(sizeof(struct mm_page) <= 32, "frame descriptor over budget");

/* An intrusive doubly linked list of frames, threaded through lru_*. */
struct mm_plist {
	uint32_t head, tail;
	uint32_t count;
};

struct mm_free_area {
	struct mm_plist free_list[MM_MIGRATE_TYPES];
	uint64_t nr_free; /* blocks of this order, all types */
};

/* Per-CPU page list of one zone (order-0 only; see docs/physical-memory.md). */
struct mm_pcp {
	int32_t count;      /* pages on the lists */
	int32_t high;       /* current high mark (auto-tuned between min/max) */
	int32_t high_min, high_max;
	int32_t batch;
	int32_t free_count; /* pages freed since the last allocation */
	int32_t alloc_factor;
	uint32_t flags;
	struct mm_plist lists[MM_MIGRATE_PCPTYPES];
};

enum mm_wmark { MM_WMARK_MIN, MM_WMARK_LOW, MM_WMARK_HIGH, MM_WMARK_PROMO,
		MM_NR_WMARK };
enum mm_zone_flag { MM_ZONE_BOOSTED_WATERMARK, MM_ZONE_BELOW_HIGH,
		    MM_ZONE_RECLAIM_ACTIVE };

struct mm_zone {
	uint8_t node;
	uint8_t idx;                /* zone type index within the node */
	const char *name;           /* "DMA", "DMA32", "Normal", … */
	uint32_t start_pfn;         /* span: [start_pfn, start_pfn + spanned) */
	uint32_t spanned;
	uint32_t present;           /* RAM pages in the span */
	uint32_t managed;           /* present minus boot reservations */
	uint64_t wmark[MM_NR_WMARK];  /* _watermark[]: without the boost */
	uint64_t watermark_boost;
	uint32_t flags;             /* 1 << MM_ZONE_* */
	uint64_t lowmem_reserve[MM_MAX_ZONES];
	/* vm_stat[MM_NR_FREE_PAGES]: free pages on the buddy lists (per-CPU
	 * list pages excluded, as Linux); MM_NR_FREE_PAGES_BLOCKS: those in
	 * blocks of at least pageblock order. */
	int64_t vm_stat[MM_NR_ZONE_STAT];
	int64_t nr_free_highatomic; /* free pages on HIGHATOMIC lists */
	uint64_t nr_reserved_highatomic; /* pages in HIGHATOMIC pageblocks */
	struct mm_free_area free_area[MM_NR_ORDERS];
	uint8_t *pageblock_mt;      /* migratetype per pageblock of the span */
	struct mm_pcp *pcp;         /* [cpus] */
	uint64_t numa[6];           /* hit miss foreign interleave local other */
};

/* LRU lists of a node (Linux's enum lru_list; NR_LRU_BASE + lru orders the
 * node and zone counters the same way). */
enum mm_lru_list { MM_LRU_INACTIVE_ANON, MM_LRU_ACTIVE_ANON,
		   MM_LRU_INACTIVE_FILE, MM_LRU_ACTIVE_FILE, MM_LRU_UNEVICTABLE,
		   MM_NR_LRU_LISTS };
extern const char *const mm_lru_names[MM_NR_LRU_LISTS];

struct mm_node {
	int id;
	uint32_t start_pfn, spanned, present;
	int nr_zones;               /* zone types on this arch */
	struct mm_zone zones[MM_MAX_ZONES];
	/* Fallback order for allocations from this node (populated zones). */
	struct mm_zone *zonelist[MM_MAX_NODES * MM_MAX_ZONES];
	int zonelist_len;
	uint64_t cpumask;
	int64_t vm_stat[MM_NR_NODE_STAT];
	/* The node's lruvec (reclaim.c): head = most recently added, reclaim
	 * takes from the tail.  anon_cost/file_cost as lru_note_cost();
	 * refaults: the workingset activations seen at the last reclaim. */
	struct mm_plist lru[MM_NR_LRU_LISTS];
	uint64_t anon_cost, file_cost;
	int64_t refaults[2];
	/* workingset.c: nonresident_age (evictions + activations, the clock
	 * of shadow entries); the page-cache tree nodes holding only shadow
	 * entries whose object lives on this node, oldest first (the
	 * shadow_nodes list_lru; vm_stat[MM_WORKINGSET_NODES] counts them);
	 * the shadow shrinker's deferred scan count (nr_deferred). */
	uint64_t nonresident_age;
	uint32_t shadow_head, shadow_tail;
	int64_t shadow_deferred;
	/* kswapd: woken by an allocation that found a zone below low; runs
	 * on tick until the node is balanced or gives up. */
	bool kswapd_awake;
	int8_t kswapd_priority;     /* of the current balance run */
	int8_t kswapd_highest_zoneidx;
	uint8_t kswapd_failures;    /* runs that reclaimed nothing */
	uint64_t kswapd_reclaimed;  /* in the current run */
};


/* ---- slab allocator (slab.c) ------------------------------------------- */
/* kmem_cache_create() flags (Linux's SLAB_* names). */
enum {
	MM_SLAB_HWCACHE_ALIGN = 1u << 0,
	MM_SLAB_CACHE_DMA = 1u << 1,
	MM_SLAB_RECLAIM_ACCOUNT = 1u << 2,
	MM_SLAB_ACCOUNT = 1u << 3,
	MM_SLAB_PANIC = 1u << 4,
	MM_SLAB_TYPESAFE_BY_RCU = 1u << 5,
	MM_SLAB_POISON = 1u << 6,
};
/* Parses one flag name ("SLAB_HWCACHE_ALIGN", …) into *flags. */
int mm_slab_flag_parse(const char *name, uint32_t *flags);
extern const char *const mm_slab_flag_names[];

#define MM_SLAB_NAME_MAX 32
#define MM_SLAB_MAX_CACHES 512

enum mm_slab_state {
	MM_SLAB_CPU,         /* a cpu's active slab (frozen) */
	MM_SLAB_CPU_PARTIAL, /* on a cpu's partial list (frozen) */
	MM_SLAB_PARTIAL,     /* on its node's partial list */
	MM_SLAB_FULL,        /* every object in use, on no list */
};

/*
 * One slab (Linux's struct slab): 2^order frames holding `objects` objects.
 * Free objects form a LIFO chain through free_next[] (the free pointer that
 * SLUB keeps inside each free object); allocated objects hold
 * MM_SLAB_OBJ_USED, so a double free is detected without scanning.
 */
#define MM_SLAB_OBJ_END 0xfffeu
#define MM_SLAB_OBJ_USED 0xffffu
struct mm_slab {
	uint32_t pfn;          /* first frame; MM_NIL when the record is free */
	uint32_t cache;        /* cache id */
	uint32_t next, prev;   /* partial-list links (slab ids), MM_NIL ends */
	uint16_t inuse, objects;
	uint16_t freelist;     /* first free object, MM_SLAB_OBJ_END if none */
	uint8_t order, node;
	uint8_t state;         /* enum mm_slab_state */
	int8_t cpu;            /* owning cpu for MM_SLAB_CPU/CPU_PARTIAL */
	uint16_t *free_next;   /* [objects] */
	uint8_t *shadow;       /* poison bytes of free objects (SLAB_POISON) */
};

struct mm_slab_list {
	uint32_t head, tail, count;
};

struct mm_kmem_cache_cpu {
	uint32_t slab;                 /* active slab id or MM_NIL */
	struct mm_slab_list partial;   /* frozen partial slabs */
};

struct mm_kmem_cache_node {
	struct mm_slab_list partial;
	uint64_t nr_slabs, total_objects;
};

struct mm_kmem_cache {
	char name[MM_SLAB_NAME_MAX];
	uint32_t id;
	uint32_t seq;           /* creation order (slabinfo lists newest first) */
	uint32_t object_size;   /* as asked */
	uint32_t size;          /* object stride: aligned, with free pointer */
	uint32_t align;
	uint32_t flags;         /* MM_SLAB_* */
	uint32_t gfp;           /* allocflags for new slabs */
	uint8_t order, min_order;
	uint16_t objects, min_objects;
	uint32_t min_partial, cpu_partial_slabs;
	bool builtin;           /* kmalloc or engine cache: cannot be destroyed */
	struct mm_kmem_cache_cpu *cpu;   /* [cpus] */
	struct mm_kmem_cache_node node[MM_MAX_NODES];
};

/* kmalloc cache types, in Linux's creation order. */
enum mm_kmalloc_type { MM_KMALLOC_NORMAL, MM_KMALLOC_RECLAIM, MM_KMALLOC_DMA,
		       MM_KMALLOC_CGROUP, MM_NR_KMALLOC_TYPES };
#define MM_KMALLOC_SHIFT_LOW 3
#define MM_KMALLOC_SHIFT_HIGH 13 /* kmalloc-8k: KMALLOC_MAX_CACHE_SIZE */

/* The engine's own caches (allocated from by processes, files, …). */
enum mm_engine_cache { MM_CACHE_TASK_STRUCT, MM_CACHE_MM_STRUCT,
		       MM_CACHE_VM_AREA_STRUCT, MM_CACHE_ANON_VMA,
		       MM_CACHE_FILP, MM_CACHE_RADIX_TREE_NODE,
		       MM_NR_ENGINE_CACHES };

/* Kernel virtual address layout of the machine's arch. */
uint64_t mm_page_offset(const struct mm_machine *m);
/* __va(pfn << PAGE_SHIFT) for a frame with a direct mapping. */
uint64_t mm_pfn_to_virt(const struct mm_machine *m, uint32_t pfn);

/*
 * kmem_cache_create(): a cache of objects of `size` bytes (align 0 = the
 * architecture minimum).  Returns the cache id (>= 0), -MM_EEXIST for a
 * name in use, -MM_EINVAL for a bad size/align/name, -MM_ENOMEM when the
 * cache table is full.  Creating a cache allocates no slab yet (SLUB).
 */
int mm_kmem_cache_create(struct mm_machine *m, const char *name, uint32_t size,
			 uint32_t align, uint32_t flags);
/* Finds a cache by name; -MM_ENOENT if none. */
int mm_kmem_cache_lookup(const struct mm_machine *m, const char *name);
/*
 * kmem_cache_alloc(): one object, as a kernel virtual address in *addr.
 * -MM_ENOMEM when no slab page can be allocated; -MM_ENOENT bad cache.
 */
int mm_kmem_cache_alloc(struct mm_machine *m, int cache, uint32_t gfp, int cpu,
			uint64_t *addr);
/*
 * kmem_cache_free(): -MM_EINVAL (state unchanged) when addr is not an
 * allocated object of that cache: a double free, a foreign pointer or an
 * address inside an object.
 */
int mm_kmem_cache_free(struct mm_machine *m, int cache, uint64_t addr, int cpu);
/* kmem_cache_shrink(): releases empty slabs; returns pages freed (>= 0). */
int mm_kmem_cache_shrink(struct mm_machine *m, int cache);
/* kmem_cache_destroy(): -MM_EBUSY if objects remain, -MM_EPERM for the
 * kmalloc and engine caches. */
int mm_kmem_cache_destroy(struct mm_machine *m, int cache);
/* kmalloc(): from kmalloc-<size> (by gfp: dma-, -rcl-, -cg-) or, above
 * 8 KiB, compound pages from the buddy.  *cache is the cache id or -1. */
int mm_kmalloc(struct mm_machine *m, uint64_t size, uint32_t gfp, int cpu,
	       uint64_t *addr, int *cache);
/* kfree(): -MM_EINVAL (state unchanged) for anything kmalloc didn't return
 * or already freed; kfree(NULL/ZERO_SIZE_PTR) is a no-op. */
int mm_kfree(struct mm_machine *m, uint64_t addr, int cpu);
/* ksize(): usable size of a kmalloc'd object, or -MM_EINVAL. */
int64_t mm_ksize(const struct mm_machine *m, uint64_t addr);
#define MM_ZERO_SIZE_PTR 16u

size_t mm_proc_slabinfo(const struct mm_machine *m, char *buf, size_t len);

/* ---- page tables (pgtable.c) ------------------------------------------ */
/* x86 PTE bits (i386 without PAE has no NX). */
#define MM_PTE_PRESENT (1ull << 0)
#define MM_PTE_RW (1ull << 1)
#define MM_PTE_USER (1ull << 2)
#define MM_PTE_ACCESSED (1ull << 5)
#define MM_PTE_DIRTY (1ull << 6)
#define MM_PTE_GLOBAL (1ull << 8)
/* _PAGE_PROTNONE: a PROT_NONE mapping's PTE (not present to the MMU, still
 * mapping its page for the kernel); shares the bit with GLOBAL, as Linux. */
#define MM_PTE_PROTNONE MM_PTE_GLOBAL
#define MM_PTE_NX (1ull << 63)
#define MM_PTE_PFN_MASK 0x000ffffffffff000ull

/* One page-table frame's entries (host memory; the frame is simulated). */
struct mm_ptable {
	uint32_t pfn;       /* MM_NIL: record free */
	uint32_t next_free;
	uint64_t *e;        /* [512] x86_64, [1024] i386 */
};

/* The page cache of one shmem object (MM_NIL: no page at that index). */
struct mm_shmem {
	uint32_t file;      /* the VMAs' file id; 0: record free */
	uint32_t nr;        /* pages[] length */
	uint32_t *pages;    /* pfn by page index */
	uint32_t i_mmap;    /* root VMA of its interval tree (i_mmap.c) */
};

/*
 * In-memory files (pagecache.c).  A file's page cache is an xarray-like
 * radix tree: nodes of MM_XA_SLOTS slots, each node one object of the
 * radix_tree_node slab cache; leaves (shift 0) hold pfns or shadow
 * entries of evicted pages (workingset.c: bits 31..30 = 0b10), inner
 * nodes child node ids, MM_NIL an empty slot.  VMAs and page descriptors name
 * file n by the handle MM_FILE_REG | n (mm_vma.file, mm_page.mapping).
 */
#define MM_FILE_REG 0x10000000u
#define MM_FILE_NAME_MAX 64
#define MM_FILE_MAX_PAGES (1u << 24)   /* 64 GiB: larger sizes are EFBIG */
#define MM_XA_SHIFT 6
#define MM_XA_SLOTS (1u << MM_XA_SHIFT)
#define MM_RA_PAGES 32                 /* bdi ra_pages: 128 KiB */

struct mm_xa_node {
	uint32_t slots[MM_XA_SLOTS];
	uint32_t parent;    /* node id, MM_NIL for the root; free-list link */
	uint8_t shift;      /* 0: leaf; the node covers 64 << shift indices */
	uint8_t offset;     /* slot in the parent */
	uint8_t count;      /* used slots; 0 with shift 0xff: record free */
	uint8_t nr_values;  /* of them shadow entries (leaves only) */
	uint64_t slab_addr; /* its radix_tree_node object */
	/* links on its node's shadow-node list (workingset.c), MM_NIL ends;
	 * listed iff count == nr_values > 0 */
	uint32_t shadow_next, shadow_prev;
};

struct mm_file {
	char name[MM_FILE_NAME_MAX]; /* "": record free */
	uint64_t size;              /* i_size in bytes */
	uint32_t ino;
	uint32_t xa_root;           /* root node id, MM_NIL: empty cache */
	uint32_t nr_pages;          /* pages in the cache */
	uint32_t nr_dirty;          /* of them PG_dirty */
	bool unlinked;              /* deleted, kept while VMAs map it */
	/* file_ra_state (one open file per in-memory file) */
	uint64_t ra_start;
	uint32_t ra_size, ra_async_size, mmap_miss;
	int64_t prev_pos;
	uint64_t slab_addr;         /* its filp object */
	uint32_t i_mmap;            /* root VMA of its interval tree, MM_NIL:
				     * mapped by no VMA (i_mmap.c) */
	/* The simulated disk: written-back bytes by page index (NULL: a
	 * hole, reads as zeros); disk_nr entries. */
	uint8_t **disk;
	uint32_t disk_nr;
};

/*
 * The swap area (swap.c).  swap_map counts (swap entries in PTEs) of each
 * slot, with MM_SWAP_HAS_CACHE while the slot's page is in the swap cache;
 * Linux's byte-wide map chains continuation pages past SWAP_MAP_MAX, the
 * engine's 16-bit counts hold any number of forks directly.
 */
#define MM_SWAP_CLUSTER 512u
#define MM_SWAP_HAS_CACHE 0x8000u
#define MM_SWAP_COUNT_MASK 0x7fffu
#define MM_PAGE_CLUSTER 3   /* vm.page-cluster: readahead of 1 << 3 slots */
struct mm_swap_cluster {
	uint32_t used;      /* slots with a non-zero map (NULL arrays at 0) */
	uint16_t *map;      /* [MM_SWAP_CLUSTER] swap_map */
	uint32_t *cache;    /* [MM_SWAP_CLUSTER] swap cache pfn, MM_NIL none */
	uint8_t **data;     /* [MM_SWAP_CLUSTER] written bytes (NULL: zeros) */
};

/* One step of a page-table walk, for translate and pagetable answers. */
struct mm_walk_step {
	int level;          /* 4 = PGD … 1 = PTE on x86_64; 2, 1 on i386 */
	uint32_t table_pfn;
	uint32_t index;
	uint64_t entry;
};
#define MM_MAX_LEVELS 4

/* ---- vmalloc, kmap, translation (vmalloc.c) ----------------------------- */
struct mm_vm_area {
	uint64_t addr;      /* [addr, addr + size): size includes the guard page */
	uint64_t size;
	uint32_t nr_pages;
	uint32_t *pages;    /* [nr_pages] pfns */
};

#define MM_LAST_PKMAP 1024

struct mm_translation {
	const char *kind;   /* "direct-map", "vmalloc", "pkmap", "unmapped" */
	bool mapped;
	bool swapped;       /* user walk: the PTE holds a swap entry */
	uint32_t swap_type; /* its type (0: the one swap area) and offset */
	uint64_t swap_offset;
	uint32_t pfn;
	uint64_t phys;
	int nr_steps;
	struct mm_walk_step walk[MM_MAX_LEVELS];
};

/* [VMALLOC_START, VMALLOC_END) of the machine's arch. */
void mm_vmalloc_range(const struct mm_machine *m, uint64_t *start,
		      uint64_t *end);
/*
 * vmalloc(): size bytes (rounded up to pages) of order-0 pages mapped
 * virtually contiguous, followed by an unmapped guard page, at the lowest
 * free address.  -MM_EINVAL for size 0, -MM_ENOMEM when pages or address
 * space run out (nothing is left allocated).
 */
int mm_vmalloc(struct mm_machine *m, uint64_t size, int cpu, uint64_t *addr);
/* vfree(): -MM_EINVAL unless addr starts a vmalloc area; vfree(0) no-op. */
int mm_vfree(struct mm_machine *m, uint64_t addr, int cpu);
/*
 * kmap(): the kernel address of a frame.  Lowmem frames answer their
 * direct-map address; i386 HighMem frames get a pkmap slot (Linux's
 * kmap_high(), LAST_PKMAP slots, reused when their count drops).
 * -MM_EINVAL for a bad or non-RAM pfn, -MM_EAGAIN when every slot is busy.
 */
int mm_kmap(struct mm_machine *m, uint32_t pfn, uint64_t *addr);
/* kunmap(): drops one kmap of a pkmap address (direct-map: no-op). */
int mm_kunmap(struct mm_machine *m, uint64_t addr);
/* Translates a kernel virtual address: __pa for the direct map, a walk of
 * the kernel page table for vmalloc and pkmap addresses. */
void mm_translate(const struct mm_machine *m, uint64_t addr,
		  struct mm_translation *t);
size_t mm_proc_vmallocinfo(const struct mm_machine *m, char *buf, size_t len);

/* ---- processes and address spaces (process.c, vma.c, mmap.c) ---------- */
/* Linux's values, so scenarios and the host recorder share them. */
enum { MM_PROT_NONE = 0, MM_PROT_READ = 1, MM_PROT_WRITE = 2, MM_PROT_EXEC = 4 };
enum {
	MM_MAP_SHARED = 0x01, MM_MAP_PRIVATE = 0x02, MM_MAP_SHARED_VALIDATE = 0x03,
	MM_MAP_TYPE = 0x0f, MM_MAP_FIXED = 0x10, MM_MAP_ANONYMOUS = 0x20,
	MM_MAP_GROWSDOWN = 0x0100, MM_MAP_DENYWRITE = 0x0800,
	MM_MAP_EXECUTABLE = 0x1000, MM_MAP_LOCKED = 0x2000,
	MM_MAP_NORESERVE = 0x4000, MM_MAP_POPULATE = 0x8000,
	MM_MAP_NONBLOCK = 0x10000, MM_MAP_STACK = 0x20000,
	MM_MAP_HUGETLB = 0x40000, MM_MAP_SYNC = 0x80000,
	MM_MAP_FIXED_NOREPLACE = 0x100000,
};
enum {
	MM_MADV_NORMAL = 0, MM_MADV_RANDOM = 1, MM_MADV_SEQUENTIAL = 2,
	MM_MADV_WILLNEED = 3, MM_MADV_DONTNEED = 4, MM_MADV_COLD = 20,
	MM_MADV_PAGEOUT = 21,
};
/* Parses "MAP_PRIVATE", "PROT_READ", "MADV_DONTNEED", … (0 or -EINVAL). */
int mm_map_flag_parse(const char *name, int *flags);
int mm_madv_parse(const char *name, int *advice);

/* VMA flags (Linux's VM_* values). */
#define MM_VM_READ 0x1ull
#define MM_VM_WRITE 0x2ull
#define MM_VM_EXEC 0x4ull
#define MM_VM_SHARED 0x8ull
#define MM_VM_MAYREAD 0x10ull
#define MM_VM_MAYWRITE 0x20ull
#define MM_VM_MAYEXEC 0x40ull
#define MM_VM_MAYSHARE 0x80ull
#define MM_VM_GROWSDOWN 0x100ull
#define MM_VM_PFNMAP 0x400ull
#define MM_VM_LOCKED 0x2000ull
#define MM_VM_IO 0x4000ull
#define MM_VM_SEQ_READ 0x8000ull
#define MM_VM_RAND_READ 0x10000ull
#define MM_VM_DONTCOPY 0x20000ull
#define MM_VM_DONTEXPAND 0x40000ull
#define MM_VM_LOCKONFAULT 0x80000ull
#define MM_VM_ACCOUNT 0x100000ull
#define MM_VM_NORESERVE 0x200000ull
#define MM_VM_HUGETLB 0x400000ull
#define MM_VM_SYNC 0x800000ull
#define MM_VM_WIPEONFORK 0x2000000ull
#define MM_VM_DONTDUMP 0x4000000ull
#define MM_VM_SOFTDIRTY 0x8000000ull
#define MM_VM_MIXEDMAP 0x10000000ull
#define MM_VM_HUGEPAGE 0x20000000ull
#define MM_VM_NOHUGEPAGE 0x40000000ull
#define MM_VM_SPECIAL (MM_VM_IO | MM_VM_DONTEXPAND | MM_VM_PFNMAP | MM_VM_MIXEDMAP)

/*
 * A virtual memory area: [start, end) with one set of flags and backing.
 * VMAs of an mm sit in an AVL tree keyed by start (lookups) and on a list
 * in address order (walks), linked by VMA id.
 */
struct mm_vma {
	uint64_t start, end;    /* [start, end), page aligned; end 0 = free */
	uint64_t flags;         /* MM_VM_* */
	uint64_t pgoff;         /* in pages: file offset, or start >> 12 (anon) */
	uint32_t mm;            /* owner mm id */
	uint32_t file;          /* file id + 1; 0 = anonymous */
	uint32_t anon_vma;      /* anon_vma id + 1; 0 = none yet */
	uint32_t left, right;   /* AVL children (vma ids), MM_NIL none */
	uint32_t prev, next;    /* address order, MM_NIL none */
	int32_t height;
	/* 1 when Linux leaves this VMA apart from an equal neighbour (fork
	 * clearing VM_LOCKED, a split kept after a refused second split):
	 * the checker's vma-mergeable rule allows such pairs. */
	uint32_t unmerged;
	/* anon_vma_chain longer than one (a fork child's VMA chained to its
	 * parent's anon_vma): vma_had_uncowed_parents() refuses merges. */
	uint32_t anon_chained;
	uint64_t slab_addr;     /* its vm_area_struct object */
	/* i_mmap.c: a page-cache file's VMA is a node of the file's interval
	 * tree (Linux's vma->shared.rb): links by VMA id (MM_NIL none), and
	 * the largest last page offset of its subtree (rb_subtree_last). */
	uint32_t shared_left, shared_right, shared_parent;
	uint64_t shared_last;
};

struct mm_mm {
	uint32_t id;            /* MM_NIL when the record is free */
	uint32_t users;         /* tasks using it */
	uint32_t root, first, last;   /* VMA tree root and list ends */
	uint32_t map_count;
	uint64_t task_size, mmap_base;
	uint64_t start_code, end_code, start_data, end_data;
	uint64_t start_brk, brk, start_stack;
	uint64_t total_vm, locked_vm, data_vm, exec_vm, stack_vm;
	uint64_t def_flags;
	uint64_t slab_addr;     /* its mm_struct object */
	uint32_t pgd;           /* top-level page table frame (pgd_alloc) */
	uint64_t rss_anon;      /* MM_ANONPAGES: anonymous pages mapped */
	uint64_t hiwater_rss;   /* highest rss seen at an unmap (VmHWM) */
	uint64_t rss_shmem;     /* MM_SHMEMPAGES: shmem pages mapped */
	uint64_t rss_file;      /* MM_FILEPAGES: file pages mapped */
	uint64_t rss_swap;      /* MM_SWAPENTS: swap entries in its PTEs */
};

enum mm_task_state { MM_TASK_RUNNING, MM_TASK_DEAD };

struct mm_task {
	int32_t pid, ppid;      /* pid 0: free slot */
	uint32_t mm;            /* mm id */
	int32_t cpu;
	int32_t oom_score_adj;
	int32_t exit_code;
	uint8_t state;
	char comm[16];
	int64_t rss_limit_pages; /* -1: none */
	uint64_t min_flt, maj_flt;
	uint64_t slab_addr;     /* its task_struct object */
	uint64_t stack_addr;    /* kernel stack (vmalloc, THREAD_SIZE) */
};

#define MM_MAX_TASKS 4096

/*
 * spawn: a new process with an empty address space, as after exec of an
 * empty static PIE (brk at ELF_ET_DYN_BASE, no stack).  cpu < 0 picks
 * pid % cpus.  -MM_EAGAIN when no pid is free, -MM_ENOMEM without memory
 * for its task_struct, mm_struct or kernel stack.
 */
int mm_spawn(struct mm_machine *m, const char *name, int cpu, int *pid);
int mm_fork(struct mm_machine *m, int pid, int *child);
/* /proc/PID/oom_score_adj (-1000 … 1000) and the experiment-mode resident
 * limit (-1: none).  -MM_ESRCH / -MM_EINVAL. */
int mm_set_oom_score_adj(struct mm_machine *m, int pid, int value);
int mm_set_rss_limit(struct mm_machine *m, int pid, int64_t pages);
int mm_exit(struct mm_machine *m, int pid, int status);
/* The live task with this pid, or NULL. */
struct mm_task *mm_task_get(const struct mm_machine *m, int pid);
struct mm_mm *mm_task_mm(const struct mm_machine *m, const struct mm_task *t);

/* The syscalls: 0 / -MM_E… exactly as Linux's (see mmap.c). */
int mm_mmap(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
	    int prot, int flags, int file, uint64_t offset, uint64_t *out);
int mm_munmap(struct mm_machine *m, int pid, uint64_t addr, uint64_t len);
int mm_mprotect(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
		int prot);
int mm_madvise(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
	       int advice);
int mm_mlock(struct mm_machine *m, int pid, uint64_t addr, uint64_t len);
int mm_munlock(struct mm_machine *m, int pid, uint64_t addr, uint64_t len);
/* brk(): answers the new break, or the old one when refused (Linux). */
int mm_brk(struct mm_machine *m, int pid, uint64_t addr, uint64_t *out);

/*
 * exec of a static ELF image (engine/exec.c): ELF64/EM_X86_64 on x86_64,
 * ELF32/EM_386 on i386, ET_EXEC or ET_DYN without PT_INTERP.  Replaces the
 * process's address space with the image's segments, bss, vDSO and stack
 * as Linux's load_elf_binary() lays them out (argv = [path], no envp); the
 * task, pid and name stay.  All or nothing: -MM_ENOEXEC for an image that
 * cannot be loaded (malformed, other arch, dynamically linked),
 * -MM_ENOMEM, -MM_ESRCH, and the old address space is untouched.  out
 * (may be NULL) gets the entry point, the brk start and the initial stack
 * pointer.  The image bytes are only read during the call.
 */
struct mm_exec_result {
	uint64_t entry, start_brk, stack;
};
int mm_exec(struct mm_machine *m, int pid, const uint8_t *image, size_t len,
	    struct mm_exec_result *out);

/*
 * touch: one user access (read, write or exec) at addr and at the first
 * byte of every following page below addr + len, each faulting exactly as
 * the MMU would (a present PTE that allows the access is no fault).  A
 * fault outside any VMA (stack growth aside) or against the VMA's
 * protection raises SIGSEGV (SEGV_MAPERR / SEGV_ACCERR): the process is
 * killed (its memory freed) and r->signal says where.  Returns 0 (r filled,
 * signal or not), -MM_ESRCH, -MM_EINVAL (bad access), -MM_ENOMEM (out of
 * memory: the pages before stay), -MM_ENODEV for what the engine cannot
 * fault yet (shared or file-backed memory; nothing past it is done).
 */
enum mm_access { MM_ACCESS_READ, MM_ACCESS_WRITE, MM_ACCESS_EXEC };
enum { MM_SIGBUS = 7, MM_SIGKILL = 9, MM_SIGSEGV = 11 };
enum { MM_SEGV_MAPERR = 1, MM_SEGV_ACCERR = 2, MM_BUS_ADRERR = 2 };
struct mm_touch_result {
	uint64_t pages;         /* accesses completed */
	uint64_t minor, major;  /* faults taken (the task's min_flt/maj_flt delta) */
	uint64_t cow;           /* write-protect faults that copied a page */
	uint64_t zero;          /* read faults that mapped the zero page */
	struct {
		int signo;      /* 0: none; MM_SIGSEGV, MM_SIGBUS */
		int code;       /* MM_SEGV_MAPERR, … */
		uint64_t addr;
		const char *name, *code_name; /* "SIGSEGV", "SEGV_MAPERR" */
	} signal;
};
int mm_touch(struct mm_machine *m, int pid, uint64_t addr, uint64_t len,
	     enum mm_access access, struct mm_touch_result *r);
/*
 * write / read: len bytes from buf to the process's memory at addr (or
 * from its memory into buf), each page faulting exactly as touch's write
 * (read) access would, then moving the bytes of that page.  A SIGSEGV
 * stops at the page it names: the bytes before r->signal.addr were moved,
 * none after (buf is left alone there), and the process is killed.
 * Returns as mm_touch.
 */
int mm_write(struct mm_machine *m, int pid, uint64_t addr, const void *buf,
	     uint64_t len, struct mm_touch_result *r);
int mm_read(struct mm_machine *m, int pid, uint64_t addr, void *buf,
	    uint64_t len, struct mm_touch_result *r);

/* The walk of a user address in pid's page tables (GET …/pagetable):
 * kind "user", mapped when the PTE is present (PROT_NONE entries are not),
 * pfn/phys of the page (MM_NIL when none).  -MM_ESRCH for no such pid. */
int mm_pagetable_walk(const struct mm_machine *m, int pid, uint64_t addr,
		      struct mm_translation *t);

/* The first VMA with end > addr (find_vma), or NULL. */
const struct mm_vma *mm_find_vma(const struct mm_machine *m,
				 const struct mm_mm *mm, uint64_t addr);
const struct mm_vma *mm_vma_next(const struct mm_machine *m,
				 const struct mm_vma *v);

size_t mm_proc_pid_maps(const struct mm_machine *m, int pid, char *buf,
			size_t len);
size_t mm_proc_pid_status(const struct mm_machine *m, int pid, char *buf,
			  size_t len);
size_t mm_proc_pid_smaps(const struct mm_machine *m, int pid, char *buf,
			 size_t len);

/* ---- the event ring (event.c) ----------------------------------------------
 *
 * A bounded ring of the machine's recent events: one per applied operation
 * (its name, seq, errno and the fault/allocation counts it caused) and the
 * typed events the engine emits as things happen (kswapd waking and going
 * to sleep, a reclaim pass, a swap batch, an OOM kill).  Ids count from 1
 * and never repeat; the oldest event is overwritten when the ring is full.
 * The ring is machine state for snapshots (plain fields of struct
 * mm_events) but not for the digest: it records, it never decides.
 */
#define MM_EVENT_RING_DEFAULT 1024
#define MM_EVENT_RING_MAX (1u << 20)
#define MM_EVENT_OP_MAX 32

enum mm_event_type {
	MM_EV_OP,            /* an operation: op, err, v = counts below */
	MM_EV_KSWAPD_WAKE,   /* node, v[0] = order, v[1] = highest zone idx */
	MM_EV_KSWAPD_SLEEP,  /* node, v[0] = pages reclaimed while awake,
			      * v[1] = 1 balanced / 0 gave up */
	MM_EV_RECLAIM,       /* node, v[0] scanned, v[1] reclaimed,
			      * v[2] = 0 kswapd / 1 direct / 2 proactive,
			      * v[3] = priority (node -1: a zonelist) */
	MM_EV_SWAP_OUT,      /* node, v[0] = pages written in the batch */
	MM_EV_SWAP_IN,       /* node, v[0] = pages read in the batch */
	MM_EV_OOM_KILL,      /* v[0] = victim pid, v[1] = its rss pages,
			      * v[2] = oom_score_adj (two's complement) */
	MM_NR_EVENT_TYPES
};

/* MM_EV_OP counts: deltas of these vm events across the operation. */
enum { MM_EVOP_PGFAULT, MM_EVOP_PGMAJFAULT, MM_EVOP_PGALLOC, MM_EVOP_PGFREE,
       MM_EVOP_NV };

struct mm_event {
	uint64_t id;         /* 1, 2, 3, … */
	uint64_t seq;        /* operations applied when emitted (MM_EV_OP: its own) */
	uint64_t clock;      /* simulated ticks */
	uint16_t type;       /* enum mm_event_type */
	int16_t node;        /* -1 = machine-wide */
	int32_t err;         /* MM_EV_OP: 0 or -MM_E… */
	uint64_t v[4];
	char op[MM_EVENT_OP_MAX]; /* MM_EV_OP: the operation name */
};

struct mm_events {
	struct mm_event *ring;  /* [cap]; event id i lives at (i - 1) % cap */
	uint32_t cap;
	uint64_t next_id;       /* id of the next event (1 when empty) */
	uint64_t ops;           /* operations recorded (= the machine's seq) */
	uint64_t op_mark[MM_EVOP_NV]; /* counters at mm_event_op_begin */
};

/* "op", "kswapd_wake", …; NULL for an unknown type. */
const char *mm_event_type_name(int type);
/* The type of a name, or -1. */
int mm_event_type_find(const char *name);
/* Appends an event (id and clock filled in). */
void mm_event_emit(struct mm_machine *m, enum mm_event_type type, int node,
		   uint64_t v0, uint64_t v1, uint64_t v2, uint64_t v3);
/* Brackets one operation: begin notes the counters, end emits MM_EV_OP
 * with their deltas (err = 0 or the -MM_E… it failed with). */
void mm_event_op_begin(struct mm_machine *m);
void mm_event_op_end(struct mm_machine *m, const char *op, int err);
/* Oldest id still held (next_id when empty). */
uint64_t mm_event_oldest(const struct mm_machine *m);
/* The event with this id, or NULL when overwritten or not yet emitted. */
const struct mm_event *mm_event_get(const struct mm_machine *m, uint64_t id);

struct mm_machine {
	struct mm_config cfg;
	struct mm_env env;
	struct mm_page *pages;       /* [nr_pfns] */
	uint32_t nr_pfns;            /* highest pfn + 1 */
	int nr_nodes;
	struct mm_node nodes[MM_MAX_NODES];
	int nr_zone_types;
	int pageblock_order;
	int cpu_node[MM_MAX_CPUS];
	uint64_t min_free_kbytes;
	bool mobility_disabled;      /* page_group_by_mobility_disabled */
	uint64_t totalram_pages;     /* sum of managed */
	uint64_t totalreserve_pages; /* per calculate_totalreserve_pages */
	uint64_t events[MM_NR_VM_EVENTS];

	/* slab.c: caches by id (NULL = free id), slab records by id. */
	struct mm_kmem_cache *caches[MM_SLAB_MAX_CACHES];
	uint32_t cache_seq;
	int kmalloc_caches[MM_NR_KMALLOC_TYPES][MM_KMALLOC_SHIFT_HIGH + 1];
	int engine_caches[MM_NR_ENGINE_CACHES];
	struct mm_slab *slabs;
	uint32_t nr_slabs, cap_slabs;
	uint32_t free_slab_ids;      /* chain through slabs[].next */

	/* pgtable.c: table records by id (frame's index names its record). */
	struct mm_ptable *ptables;
	uint32_t nr_ptables, cap_ptables, free_ptables;
	uint32_t kernel_pgd;         /* swapper_pg_dir: a kernel-image frame */
	uint32_t kernel_image_pfn;   /* first frame of the kernel image */
	uint32_t zero_pfn;           /* empty_zero_page: a kernel-image frame */

	/* vmalloc.c: areas sorted by address; i386 pkmap state. */
	struct mm_vm_area *vm_areas;
	uint32_t nr_vm_areas, cap_vm_areas;
	uint64_t vmalloc_pages;
	uint16_t pkmap_count[MM_LAST_PKMAP];
	uint32_t last_pkmap_nr;
	uint32_t pkmap_table;        /* PTE table of the pkmap area (i386) */

	/* process.c / vma.c / mmap.c */
	struct mm_task *tasks;       /* [MM_MAX_TASKS] by slot */
	int32_t last_pid;
	uint32_t nr_tasks;
	struct mm_mm *mms;
	uint32_t nr_mms, cap_mms, free_mms;
	struct mm_vma *vmas;
	uint32_t nr_vmas, cap_vmas, free_vmas;
	uint32_t nr_anon_vmas;       /* anon_vma ids handed out */
	/* rmap.c: the anon_vma a fork chained each one to (0: a root), by
	 * id; [cap_anon_parent] */
	uint32_t *anon_parent;
	uint32_t cap_anon_parent;
	/* fault.c: shmem objects of shared anonymous mappings (file id
	 * 0x80000000 | n), their page cache as an array by page index. */
	struct mm_shmem *shmem;
	uint32_t nr_shmem, cap_shmem;
	/* content.c: bytes of frames that received any, by pfn:
	 * content[pfn >> MM_CONTENT_SHIFT][pfn & 1023] (NULL: the frame
	 * reads as zeros). */
#define MM_CONTENT_SHIFT 10
	uint8_t ***content;
	uint32_t nr_content;         /* frames holding a buffer */
	/* pagecache.c: files by id, radix-tree nodes by id. */
	struct mm_file *files;
	uint32_t nr_files, cap_files;
	uint32_t last_ino;
	struct mm_xa_node *xa_nodes;
	uint32_t nr_xa_nodes, cap_xa_nodes, free_xa_nodes;
	/* swap.c: the swap area (cfg.swap > 0): clusters of
	 * MM_SWAP_CLUSTER slots, each with its swap_map counts, swap cache
	 * (pfns) and stored page bytes, allocated while a slot is in use. */
	struct mm_swap_cluster *swap_clusters;
	uint32_t swap_slots;         /* slots, the header slot 0 included */
	uint32_t swap_free;          /* usable slots not in use */
	uint32_t swap_next;          /* the allocator's next-fit cursor */
	/* swapin_nr_pages(): readahead hits, the last fault's slot, the
	 * last window */
	uint32_t swap_ra_hits, swap_ra_prev, swap_ra_win;
	int64_t committed;           /* vm_committed_as, pages */
	/* reclaim.c, during one operation only (0 between operations, so not
	 * state): the pid a user-page allocation is made for, which the OOM
	 * killer marks (oom_victim) instead of freeing under its feet; and
	 * whether the allocation in progress may OOM-kill at all. */
	int32_t oom_current, oom_victim;
	bool oom_allowed;
	uint64_t user_reserve_pages; /* sysctl_user_reserve_kbytes */
	struct mm_events ev;         /* event.c: not digested */
};

/*
 * Creates a machine: lays out nodes and zones, reserves the boot-time frames
 * (docs/physical-memory.md), frees the rest into the buddy allocator and
 * computes watermarks and per-CPU list sizes.  The caller owns *out and
 * frees it with mm_machine_destroy().  On failure returns -MM_EINVAL (bad
 * config, reason in err) or -MM_ENOMEM (host out of memory); *out untouched.
 */
int mm_machine_create(const struct mm_config *cfg, struct mm_machine **out,
		      char *err, size_t errlen);
void mm_machine_destroy(struct mm_machine *m);

static inline struct mm_zone *mm_page_zone(const struct mm_machine *m,
					   uint32_t pfn)
{
	uint32_t id = m->pages[pfn].flags >> MM_PAGE_ZONE_SHIFT;
	return (struct mm_zone *)&m->nodes[id / MM_MAX_ZONES]
		.zones[id % MM_MAX_ZONES];
}
static inline const uint8_t *mm_frame_bytes(const struct mm_machine *m,
					    uint32_t pfn)
{
	if (!m->content || pfn >= m->nr_pfns)
		return NULL;
	uint8_t **chunk = m->content[pfn >> MM_CONTENT_SHIFT];
	return chunk ? chunk[pfn & ((1u << MM_CONTENT_SHIFT) - 1)] : NULL;
}
static inline bool mm_page_test(const struct mm_page *p, enum mm_pageflag f)
{
	return p->flags & (1u << f);
}
static inline bool mm_zone_populated(const struct mm_zone *z)
{
	return z->present != 0;
}
/* wmark_pages(): the watermark including the current boost. */
static inline uint64_t mm_wmark_pages(const struct mm_zone *z, enum mm_wmark w)
{
	return z->wmark[w] + z->watermark_boost;
}
int mm_pageblock_migratetype(const struct mm_machine *m, uint32_t pfn);

/* ---- the page allocator ----------------------------------------------- */
struct mm_alloc_result {
	uint32_t pfn;
	int node, zone;   /* zone type index */
};

/*
 * alloc_pages(gfp, order) on behalf of cpu (its node is preferred unless
 * node >= 0).  Order-0 requests go through the cpu's per-CPU lists.
 * Returns 0 and the block, or -MM_ENOMEM (no zone could satisfy it within
 * its watermarks), -MM_EINVAL (order > MAX_ORDER, bad cpu/node).
 * The block belongs to the caller (refcount 1, PG_kalloc on its head).
 */
int mm_alloc_pages(struct mm_machine *m, uint32_t gfp, unsigned order,
		   int cpu, int node, struct mm_alloc_result *res);
/*
 * Frees a block obtained from mm_alloc_pages (the block goes to the pcp list
 * of cpu when order is 0).  Returns -MM_EINVAL, state unchanged, when pfn is
 * not the head of an allocated block of exactly that order.
 */
int mm_free_pages(struct mm_machine *m, uint32_t pfn, unsigned order, int cpu);
/* Returns every page on every per-CPU list to the buddy lists. */
void mm_drain_all_pages(struct mm_machine *m);

/* Zone free-page totals for meminfo (pcp pages are not free: Linux). */
uint64_t mm_nr_free_pages(const struct mm_machine *m);

/* ---- page frame reclaim (reclaim.c) ------------------------------------ */
/* What a reclaim run did: pages scanned on the inactive lists, pages freed,
 * shrink passes (SWAP_CLUSTER_MAX batches). */
struct mm_reclaim_stats {
	uint64_t scanned, reclaimed;
	uint64_t passes;
};
/*
 * tick: advances the simulated clock by n and, per tick, runs kswapd of
 * every woken node in batches of SWAP_CLUSTER_MAX until the node is
 * balanced (it sleeps) or kswapd_pages_per_tick pages were scanned.
 * Never fails (n is bounded by the caller).
 */
struct mm_tick_result {
	uint64_t ticks;
	uint64_t kswapd_runs;   /* node-ticks in which a kswapd ran */
	uint64_t sleeps;        /* kswapds that went back to sleep */
	struct mm_reclaim_stats r;
};
void mm_tick(struct mm_machine *m, uint64_t n, struct mm_tick_result *out);
/*
 * reclaim: proactive reclaim of `pages` pages from one node (node >= 0, as
 * /sys/devices/system/node/nodeN/reclaim) or all (-1, as memory.reclaim),
 * in batches of a quarter of what remains, giving up after
 * MAX_RECLAIM_RETRIES batches without progress.  -MM_EINVAL bad node.
 */
int mm_reclaim(struct mm_machine *m, uint64_t pages, int node,
	       struct mm_reclaim_stats *out);
/* LRU list of a frame, or -1 when it is on none. */
int mm_page_lru(const struct mm_machine *m, uint32_t pfn);

/*
 * trace (experiment mode, policy.c): pid accesses addr + pages[i] *
 * PAGE_SIZE in order, each through the MMU and the fault path.  With
 * rss_limit_pages set, a miss that would exceed it first evicts one traced
 * page chosen by the machine's page_policy (fifo, lru, opt, clock, random;
 * "linux" = lru): its PTE is cleared and the page freed.  seq (n + 1
 * bytes, caller's) gets 'H'/'M' per access; resident (n entries, caller's)
 * the traced pages left resident, ascending.  -MM_ESRCH, -MM_EINVAL (bad
 * access, a page outside one anonymous private VMA), -MM_ENOMEM; a signal
 * ends the trace early (sig set, the process killed).
 */
struct mm_trace_result {
	uint64_t hits, misses;
	uint64_t nr_resident;
	int sig;               /* 0, MM_SIGSEGV, MM_SIGBUS, MM_SIGKILL (OOM) */
};
int mm_trace(struct mm_machine *m, int pid, uint64_t addr,
	     const uint64_t *pages, size_t n, enum mm_access access,
	     char *seq, uint64_t *resident, struct mm_trace_result *out);
/* ---- frame contents (content.c) -------------------------------------------
 * Every frame reads as zeros until written; only written frames hold a
 * 4 KiB buffer, dropped when the frame is freed and copied with it on a COW
 * fault.  off + len must not pass the page end (a programmer error).
 */
/* The frame's bytes, or NULL when it reads as zeros.  Owned by the engine,
 * valid until the next operation.  Inline: the checker and the digest ask
 * for every frame. */
static inline const uint8_t *mm_frame_bytes(const struct mm_machine *m,
					    uint32_t pfn);
void mm_frame_read(const struct mm_machine *m, uint32_t pfn, uint32_t off,
		   void *dst, uint32_t len);
/* 0, or -MM_ENOMEM (host out of memory: the frame is unchanged).  Never
 * the zero page. */
int mm_frame_write(struct mm_machine *m, uint32_t pfn, uint32_t off,
		   const void *src, uint32_t len);

/* ---- in-memory files (pagecache.c) ----------------------------------------
 * Files live in the machine (no directories): a name (1..63 bytes, no '/'),
 * i_size, a page cache and a simulated disk.  ids are small integers, reused
 * after deletion; the API names files by name.
 */
/* The id of the file named name, or -MM_ENOENT. */
int mm_file_lookup(const struct mm_machine *m, const char *name);
/* The live (not deleted) file id, or NULL. */
const struct mm_file *mm_file_get(const struct mm_machine *m, int id);
/* creat + write(content) + ftruncate(size) when size > len: content pages
 * start dirty in the page cache.  -MM_EEXIST, -MM_EINVAL (bad name),
 * -MM_EFBIG (over MM_FILE_MAX_PAGES), -MM_ENOMEM. */
int mm_file_create(struct mm_machine *m, const char *name, uint64_t size,
		   const uint8_t *content, size_t len, int *id);
/* pwrite(): pages come into the cache (a partial page is read from the
 * disk first) and turn dirty; i_size grows.  -MM_EBADF, -MM_EFBIG,
 * -MM_ENOMEM (the pages before stay written). */
int mm_file_write(struct mm_machine *m, int id, uint64_t offset,
		  const uint8_t *data, size_t len);
/* pread(): up to len bytes from offset (fewer at EOF) into out, *got the
 * count; missing pages are read from the disk with readahead, *major the
 * pages read.  -MM_EBADF, -MM_ENOMEM. */
int mm_file_read(struct mm_machine *m, int id, uint64_t offset, uint64_t len,
		 uint8_t *out, uint64_t *got, uint64_t *major);
/* ftruncate(): shrinking unmaps and drops the pages past the new end
 * (private COW copies too) and zeroes the tail of the last page. */
int mm_file_truncate(struct mm_machine *m, int id, uint64_t size);
/* fsync(): every dirty page (dirty PTEs included) is written to the disk
 * and stays cached, clean; writable shared PTEs are write-protected again
 * (folio_mkclean).  -MM_EBADF, -MM_ENOMEM. */
int mm_file_sync(struct mm_machine *m, int id);
/* unlink(): the name goes at once; pages, tree and object when no VMA
 * maps the file any more.  -MM_ENOENT. */
int mm_file_delete(struct mm_machine *m, int id);
/* echo mode > /proc/sys/vm/drop_caches after a sync: 1 page cache (dirty
 * pages written back, then every unmapped cache page dropped), 2 slab
 * (every cache shrunk), 3 both.  -MM_EINVAL for another mode. */
struct mm_drop_result {
	uint64_t pagecache;     /* pages dropped */
	uint64_t slab;          /* slab pages given back */
};
int mm_drop_caches(struct mm_machine *m, int mode, struct mm_drop_result *r);

/* ---- reverse mapping (rmap.c) --------------------------------------------
 * Every PTE mapping a frame, found from the frame alone: an anonymous page
 * through the anon_vma chains of the VMAs (a fork child's VMAs chain to
 * the parent's anon_vma), a page-cache page through its file's VMAs.
 */
struct mm_rmap_entry {
	uint32_t mm;            /* mm id */
	int pid;                /* its task (0 while it has none) */
	uint64_t vaddr;
	uint64_t pte;
};
/* Fills up to max entries (a page-cache page's in its file's i_mmap order,
 * which is Linux's rmap_walk_file order; an anonymous page's in VMA id
 * order) and returns how many PTEs map pfn (may exceed max).  The zero
 * page and unmapped frames: 0. */
int mm_rmap_walk(const struct mm_machine *m, uint32_t pfn,
		 struct mm_rmap_entry *out, int max);

/* ---- state digest --------------------------------------------------------- */
#define MM_DIGEST_HEX 33
/* A hash of the full machine state, as 32 lowercase hex digits + NUL. */
void mm_digest(const struct mm_machine *m, char out[MM_DIGEST_HEX]);

/* ---- snapshot images (snapshot.c, the walk in state.c) ------------------- */
/* Bumped whenever the walk of mm__visit_state() changes (state.c). */
#define MM_SNAPSHOT_FORMAT 7
/* A growable byte buffer; the caller frees p. */
struct mm_bytes {
	uint8_t *p;
	size_t len, cap;
};
/*
 * Writes an image of the whole machine (versioned, little-endian,
 * checksummed; layout in snapshot.c) into *out, a new malloc'd buffer the
 * caller owns.  Returns 0 or -MM_ENOMEM (nothing allocated).
 */
int mm_snapshot_save(const struct mm_machine *m, struct mm_bytes *out);
/*
 * Recreates a machine from an image: it has the digest the saved machine
 * had and behaves identically from there (its env.log sink is NULL: the
 * caller sets it).  Returns 0 and *out (free with mm_machine_destroy), or
 * -MM_EINVAL for an image that is foreign, of another format, truncated,
 * corrupt or inconsistent (reason in err), -MM_ENOMEM; never trusts part
 * of an image, never leaves anything allocated on failure.
 */
int mm_snapshot_load(const uint8_t *img, size_t len, struct mm_machine **out,
		     char *err, size_t errlen);

/* ---- invariant checker ---------------------------------------------------- */
struct mm_violation {
	const char *invariant;  /* a stable name, e.g. "buddy-flag" */
	char detail[160];
};
/*
 * Recomputes every structure from scratch.  Writes up to max violations
 * and returns how many were found (0 = consistent).
 */
int mm_check(const struct mm_machine *m, struct mm_violation *v, int max);

/* ---- /proc renders ------------------------------------------------------ */
/*
 * Each render writes the file's text into buf (truncated to len, always
 * NUL-terminated when len > 0) and returns the length the full text needs,
 * like snprintf.
 */
size_t mm_proc_buddyinfo(const struct mm_machine *m, char *buf, size_t len);
size_t mm_proc_pagetypeinfo(const struct mm_machine *m, char *buf, size_t len);
size_t mm_proc_zoneinfo(const struct mm_machine *m, char *buf, size_t len);
size_t mm_proc_meminfo(const struct mm_machine *m, char *buf, size_t len);
size_t mm_proc_vmstat(const struct mm_machine *m, char *buf, size_t len);
/* /proc/swaps (swap.c): the header and the machine's swap partition. */
size_t mm_proc_swaps(const struct mm_machine *m, char *buf, size_t len);

#endif
