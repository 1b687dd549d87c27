/*
 * vmstat_items.h — the counters of /proc/vmstat and /proc/zoneinfo, in the
 * reference kernel's order (6.18, read from tests/golden/host/vmstat).
 * Each list is an X-macro: X(ENUM, "name").  Counters the engine does not
 * model yet stay 0, as Linux prints 0 for features that are idle.
 */
#ifndef MMSIM_ENGINE_VMSTAT_ITEMS_H
#define MMSIM_ENGINE_VMSTAT_ITEMS_H

#define MM_ZONE_STAT_ITEMS(X) \
	X(MM_NR_FREE_PAGES, "nr_free_pages") \
	X(MM_NR_FREE_PAGES_BLOCKS, "nr_free_pages_blocks") \
	X(MM_NR_ZONE_INACTIVE_ANON, "nr_zone_inactive_anon") \
	X(MM_NR_ZONE_ACTIVE_ANON, "nr_zone_active_anon") \
	X(MM_NR_ZONE_INACTIVE_FILE, "nr_zone_inactive_file") \
	X(MM_NR_ZONE_ACTIVE_FILE, "nr_zone_active_file") \
	X(MM_NR_ZONE_UNEVICTABLE, "nr_zone_unevictable") \
	X(MM_NR_ZONE_WRITE_PENDING, "nr_zone_write_pending") \
	X(MM_NR_MLOCK, "nr_mlock") \
	X(MM_NR_ZSPAGES, "nr_zspages") \
	X(MM_NR_FREE_CMA, "nr_free_cma")

#define MM_NODE_STAT_ITEMS(X) \
	X(MM_NR_INACTIVE_ANON, "nr_inactive_anon") \
	X(MM_NR_ACTIVE_ANON, "nr_active_anon") \
	X(MM_NR_INACTIVE_FILE, "nr_inactive_file") \
	X(MM_NR_ACTIVE_FILE, "nr_active_file") \
	X(MM_NR_UNEVICTABLE, "nr_unevictable") \
	X(MM_NR_SLAB_RECLAIMABLE, "nr_slab_reclaimable") \
	X(MM_NR_SLAB_UNRECLAIMABLE, "nr_slab_unreclaimable") \
	X(MM_NR_ISOLATED_ANON, "nr_isolated_anon") \
	X(MM_NR_ISOLATED_FILE, "nr_isolated_file") \
	X(MM_WORKINGSET_NODES, "workingset_nodes") \
	X(MM_WORKINGSET_REFAULT_ANON, "workingset_refault_anon") \
	X(MM_WORKINGSET_REFAULT_FILE, "workingset_refault_file") \
	X(MM_WORKINGSET_ACTIVATE_ANON, "workingset_activate_anon") \
	X(MM_WORKINGSET_ACTIVATE_FILE, "workingset_activate_file") \
	X(MM_WORKINGSET_RESTORE_ANON, "workingset_restore_anon") \
	X(MM_WORKINGSET_RESTORE_FILE, "workingset_restore_file") \
	X(MM_WORKINGSET_NODERECLAIM, "workingset_nodereclaim") \
	X(MM_NR_ANON_PAGES, "nr_anon_pages") \
	X(MM_NR_MAPPED, "nr_mapped") \
	X(MM_NR_FILE_PAGES, "nr_file_pages") \
	X(MM_NR_DIRTY, "nr_dirty") \
	X(MM_NR_WRITEBACK, "nr_writeback") \
	X(MM_NR_SHMEM, "nr_shmem") \
	X(MM_NR_SHMEM_HUGEPAGES, "nr_shmem_hugepages") \
	X(MM_NR_SHMEM_PMDMAPPED, "nr_shmem_pmdmapped") \
	X(MM_NR_FILE_HUGEPAGES, "nr_file_hugepages") \
	X(MM_NR_FILE_PMDMAPPED, "nr_file_pmdmapped") \
	X(MM_NR_ANON_TRANSPARENT_HUGEPAGES, "nr_anon_transparent_hugepages") \
	X(MM_NR_VMSCAN_WRITE, "nr_vmscan_write") \
	X(MM_NR_VMSCAN_IMMEDIATE_RECLAIM, "nr_vmscan_immediate_reclaim") \
	X(MM_NR_DIRTIED, "nr_dirtied") \
	X(MM_NR_WRITTEN, "nr_written") \
	X(MM_NR_THROTTLED_WRITTEN, "nr_throttled_written") \
	X(MM_NR_KERNEL_MISC_RECLAIMABLE, "nr_kernel_misc_reclaimable") \
	X(MM_NR_FOLL_PIN_ACQUIRED, "nr_foll_pin_acquired") \
	X(MM_NR_FOLL_PIN_RELEASED, "nr_foll_pin_released") \
	X(MM_NR_KERNEL_STACK, "nr_kernel_stack") \
	X(MM_NR_PAGE_TABLE_PAGES, "nr_page_table_pages") \
	X(MM_NR_SEC_PAGE_TABLE_PAGES, "nr_sec_page_table_pages") \
	X(MM_NR_IOMMU_PAGES, "nr_iommu_pages") \
	X(MM_NR_SWAPCACHED, "nr_swapcached") \
	X(MM_PGPROMOTE_SUCCESS, "pgpromote_success") \
	X(MM_PGPROMOTE_CANDIDATE, "pgpromote_candidate") \
	X(MM_PGPROMOTE_CANDIDATE_NRL, "pgpromote_candidate_nrl") \
	X(MM_PGDEMOTE_KSWAPD, "pgdemote_kswapd") \
	X(MM_PGDEMOTE_DIRECT, "pgdemote_direct") \
	X(MM_PGDEMOTE_KHUGEPAGED, "pgdemote_khugepaged") \
	X(MM_PGDEMOTE_PROACTIVE, "pgdemote_proactive") \
	X(MM_NR_HUGETLB, "nr_hugetlb") \
	X(MM_NR_BALLOON_PAGES, "nr_balloon_pages") \
	X(MM_NR_KERNEL_FILE_PAGES, "nr_kernel_file_pages")

#define MM_VM_STAT_ITEMS(X) \
	X(MM_NR_DIRTY_THRESHOLD, "nr_dirty_threshold") \
	X(MM_NR_DIRTY_BACKGROUND_THRESHOLD, "nr_dirty_background_threshold") \
	X(MM_NR_MEMMAP_PAGES, "nr_memmap_pages") \
	X(MM_NR_MEMMAP_BOOT_PAGES, "nr_memmap_boot_pages")

/* Events; Z() entries are one counter per zone type, printed as
 * NAME_<zone> (pgalloc_dma, pgalloc_normal, …). */
#define MM_VM_EVENT_ITEMS(X, Z) \
	X(MM_PGPGIN, "pgpgin") \
	X(MM_PGPGOUT, "pgpgout") \
	X(MM_PSWPIN, "pswpin") \
	X(MM_PSWPOUT, "pswpout") \
	Z(MM_PGALLOC, "pgalloc") \
	Z(MM_ALLOCSTALL, "allocstall") \
	Z(MM_PGSKIP, "pgskip") \
	X(MM_PGFREE, "pgfree") \
	X(MM_PGACTIVATE, "pgactivate") \
	X(MM_PGDEACTIVATE, "pgdeactivate") \
	X(MM_PGLAZYFREE, "pglazyfree") \
	X(MM_PGFAULT, "pgfault") \
	X(MM_PGMAJFAULT, "pgmajfault") \
	X(MM_PGLAZYFREED, "pglazyfreed") \
	X(MM_PGREFILL, "pgrefill") \
	X(MM_PGREUSE, "pgreuse") \
	X(MM_PGSTEAL_KSWAPD, "pgsteal_kswapd") \
	X(MM_PGSTEAL_DIRECT, "pgsteal_direct") \
	X(MM_PGSTEAL_KHUGEPAGED, "pgsteal_khugepaged") \
	X(MM_PGSTEAL_PROACTIVE, "pgsteal_proactive") \
	X(MM_PGSCAN_KSWAPD, "pgscan_kswapd") \
	X(MM_PGSCAN_DIRECT, "pgscan_direct") \
	X(MM_PGSCAN_KHUGEPAGED, "pgscan_khugepaged") \
	X(MM_PGSCAN_PROACTIVE, "pgscan_proactive") \
	X(MM_PGSCAN_DIRECT_THROTTLE, "pgscan_direct_throttle") \
	X(MM_PGSCAN_ANON, "pgscan_anon") \
	X(MM_PGSCAN_FILE, "pgscan_file") \
	X(MM_PGSTEAL_ANON, "pgsteal_anon") \
	X(MM_PGSTEAL_FILE, "pgsteal_file") \
	X(MM_ZONE_RECLAIM_SUCCESS, "zone_reclaim_success") \
	X(MM_ZONE_RECLAIM_FAILED, "zone_reclaim_failed") \
	X(MM_PGINODESTEAL, "pginodesteal") \
	X(MM_SLABS_SCANNED, "slabs_scanned") \
	X(MM_KSWAPD_INODESTEAL, "kswapd_inodesteal") \
	X(MM_KSWAPD_LOW_WMARK_HIT_QUICKLY, "kswapd_low_wmark_hit_quickly") \
	X(MM_KSWAPD_HIGH_WMARK_HIT_QUICKLY, "kswapd_high_wmark_hit_quickly") \
	X(MM_PAGEOUTRUN, "pageoutrun") \
	X(MM_PGROTATED, "pgrotated") \
	X(MM_DROP_PAGECACHE, "drop_pagecache") \
	X(MM_DROP_SLAB, "drop_slab") \
	X(MM_OOM_KILL, "oom_kill") \
	X(MM_NUMA_PTE_UPDATES, "numa_pte_updates") \
	X(MM_NUMA_HUGE_PTE_UPDATES, "numa_huge_pte_updates") \
	X(MM_NUMA_HINT_FAULTS, "numa_hint_faults") \
	X(MM_NUMA_HINT_FAULTS_LOCAL, "numa_hint_faults_local") \
	X(MM_NUMA_PAGES_MIGRATED, "numa_pages_migrated") \
	X(MM_PGMIGRATE_SUCCESS, "pgmigrate_success") \
	X(MM_PGMIGRATE_FAIL, "pgmigrate_fail") \
	X(MM_THP_MIGRATION_SUCCESS, "thp_migration_success") \
	X(MM_THP_MIGRATION_FAIL, "thp_migration_fail") \
	X(MM_THP_MIGRATION_SPLIT, "thp_migration_split") \
	X(MM_COMPACT_MIGRATE_SCANNED, "compact_migrate_scanned") \
	X(MM_COMPACT_FREE_SCANNED, "compact_free_scanned") \
	X(MM_COMPACT_ISOLATED, "compact_isolated") \
	X(MM_COMPACT_STALL, "compact_stall") \
	X(MM_COMPACT_FAIL, "compact_fail") \
	X(MM_COMPACT_SUCCESS, "compact_success") \
	X(MM_COMPACT_DAEMON_WAKE, "compact_daemon_wake") \
	X(MM_COMPACT_DAEMON_MIGRATE_SCANNED, "compact_daemon_migrate_scanned") \
	X(MM_COMPACT_DAEMON_FREE_SCANNED, "compact_daemon_free_scanned") \
	X(MM_HTLB_BUDDY_ALLOC_SUCCESS, "htlb_buddy_alloc_success") \
	X(MM_HTLB_BUDDY_ALLOC_FAIL, "htlb_buddy_alloc_fail") \
	X(MM_UNEVICTABLE_PGS_CULLED, "unevictable_pgs_culled") \
	X(MM_UNEVICTABLE_PGS_SCANNED, "unevictable_pgs_scanned") \
	X(MM_UNEVICTABLE_PGS_RESCUED, "unevictable_pgs_rescued") \
	X(MM_UNEVICTABLE_PGS_MLOCKED, "unevictable_pgs_mlocked") \
	X(MM_UNEVICTABLE_PGS_MUNLOCKED, "unevictable_pgs_munlocked") \
	X(MM_UNEVICTABLE_PGS_CLEARED, "unevictable_pgs_cleared") \
	X(MM_UNEVICTABLE_PGS_STRANDED, "unevictable_pgs_stranded") \
	X(MM_THP_FAULT_ALLOC, "thp_fault_alloc") \
	X(MM_THP_FAULT_FALLBACK, "thp_fault_fallback") \
	X(MM_THP_FAULT_FALLBACK_CHARGE, "thp_fault_fallback_charge") \
	X(MM_THP_COLLAPSE_ALLOC, "thp_collapse_alloc") \
	X(MM_THP_COLLAPSE_ALLOC_FAILED, "thp_collapse_alloc_failed") \
	X(MM_THP_FILE_ALLOC, "thp_file_alloc") \
	X(MM_THP_FILE_FALLBACK, "thp_file_fallback") \
	X(MM_THP_FILE_FALLBACK_CHARGE, "thp_file_fallback_charge") \
	X(MM_THP_FILE_MAPPED, "thp_file_mapped") \
	X(MM_THP_SPLIT_PAGE, "thp_split_page") \
	X(MM_THP_SPLIT_PAGE_FAILED, "thp_split_page_failed") \
	X(MM_THP_DEFERRED_SPLIT_PAGE, "thp_deferred_split_page") \
	X(MM_THP_UNDERUSED_SPLIT_PAGE, "thp_underused_split_page") \
	X(MM_THP_SPLIT_PMD, "thp_split_pmd") \
	X(MM_THP_SCAN_EXCEED_NONE_PTE, "thp_scan_exceed_none_pte") \
	X(MM_THP_SCAN_EXCEED_SWAP_PTE, "thp_scan_exceed_swap_pte") \
	X(MM_THP_SCAN_EXCEED_SHARE_PTE, "thp_scan_exceed_share_pte") \
	X(MM_THP_SPLIT_PUD, "thp_split_pud") \
	X(MM_THP_ZERO_PAGE_ALLOC, "thp_zero_page_alloc") \
	X(MM_THP_ZERO_PAGE_ALLOC_FAILED, "thp_zero_page_alloc_failed") \
	X(MM_THP_SWPOUT, "thp_swpout") \
	X(MM_THP_SWPOUT_FALLBACK, "thp_swpout_fallback") \
	X(MM_BALLOON_INFLATE, "balloon_inflate") \
	X(MM_BALLOON_DEFLATE, "balloon_deflate") \
	X(MM_BALLOON_MIGRATE, "balloon_migrate") \
	X(MM_SWAP_RA, "swap_ra") \
	X(MM_SWAP_RA_HIT, "swap_ra_hit") \
	X(MM_SWPIN_ZERO, "swpin_zero") \
	X(MM_SWPOUT_ZERO, "swpout_zero") \
	X(MM_KSM_SWPIN_COPY, "ksm_swpin_copy") \
	X(MM_COW_KSM, "cow_ksm") \
	X(MM_ZSWPIN, "zswpin") \
	X(MM_ZSWPOUT, "zswpout") \
	X(MM_ZSWPWB, "zswpwb") \
	X(MM_DIRECT_MAP_LEVEL2_SPLITS, "direct_map_level2_splits") \
	X(MM_DIRECT_MAP_LEVEL3_SPLITS, "direct_map_level3_splits") \
	X(MM_DIRECT_MAP_LEVEL2_COLLAPSES, "direct_map_level2_collapses") \
	X(MM_DIRECT_MAP_LEVEL3_COLLAPSES, "direct_map_level3_collapses")

#endif
