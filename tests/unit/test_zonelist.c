/*
 * test_zonelist.c — NUMA layout and zonelists: memory split across nodes,
 * zones per node, and the fallback order of build_zonelists() /
 * find_next_best_node() (distance, the "prefer the next node" penalty and
 * node_load round-robin), worked out by hand for a 4-node table.
 */
#include "tests/unit/util.h"

static void expect_order(const struct mm_machine *m, int node,
			 const int *nodes, int nr)
{
	const struct mm_node *nd = &m->nodes[node];
	int seen[MM_MAX_NODES * MM_MAX_ZONES], k = 0;

	/* Collapse the zonelist to its node sequence. */
	for (int i = 0; i < nd->zonelist_len; i++)
		if (!k || seen[k - 1] != nd->zonelist[i]->node)
			seen[k++] = nd->zonelist[i]->node;
	ASSERT_EQ(k, nr);
	for (int i = 0; i < nr; i++)
		ASSERT_EQ(seen[i], nodes[i]);
}

TEST(zonelist_four_nodes_by_distance)
{
	static const uint8_t d[4][4] = {
		{10, 20, 30, 20}, {20, 10, 20, 30},
		{30, 20, 10, 20}, {20, 30, 20, 10},
	};
	struct mm_config c = tu_config(MM_ARCH_X86_64, 256ull << 20);
	c.nodes = 4;
	c.cpus = 4;
	for (int a = 0; a < 4; a++)
		memcpy(c.distance[a], d[a], 4);
	struct mm_machine *m = tu_machine(&c);

	/* Node 0: 1 and 3 tie at 20 (first wins), node_load[1]++; then 3,
	 * then 2 at distance 30.  Node 1: 2 beats 0 because 0 < 1 is
	 * penalised even though node 2 now carries load 1. */
	expect_order(m, 0, (const int[]){0, 1, 3, 2}, 4);
	expect_order(m, 1, (const int[]){1, 2, 0, 3}, 4);
	for (int n = 0; n < 4; n++) {
		ASSERT_EQ(m->nodes[n].zonelist[0]->node, n);
		ASSERT_EQ(m->cpu_node[n], n);
	}
	/* Each node owns 64 MiB; node 0 holds DMA and DMA32, the others
	 * DMA32 only (below 4 GiB), highest zone first in every list. */
	ASSERT_EQ(m->nodes[0].zonelist[0]->idx, 1);
	ASSERT_EQ(m->nodes[0].zonelist[1]->idx, 0);
	ASSERT_EQ(m->nodes[1].start_pfn, 16384u);
	ASSERT_EQ(m->nodes[1].spanned, 16384u);
	tu_check(m, "after boot");
	mm_machine_destroy(m);
}

TEST(zonelist_default_distance_and_split)
{
	struct mm_config c = tu_config(MM_ARCH_X86_64, 6ull << 30);
	c.nodes = 2;
	c.cpus = 3;
	struct mm_machine *m = tu_machine(&c);

	/* 3 GiB each: node 0 = DMA + DMA32, node 1 = DMA32 [3G,4G) + Normal. */
	ASSERT(mm_zone_populated(&m->nodes[0].zones[0]));
	ASSERT(mm_zone_populated(&m->nodes[0].zones[1]));
	ASSERT(!mm_zone_populated(&m->nodes[0].zones[2]));
	ASSERT(!mm_zone_populated(&m->nodes[1].zones[0]));
	ASSERT_EQ(m->nodes[1].zones[1].start_pfn, 3u << 18);
	ASSERT_EQ(m->nodes[1].zones[1].spanned, 1u << 18);
	ASSERT_EQ(m->nodes[1].zones[2].start_pfn, 1u << 20);
	expect_order(m, 0, (const int[]){0, 1}, 2);
	expect_order(m, 1, (const int[]){1, 0}, 2);
	/* cpus split 0,0,1 (cpu * nodes / cpus). */
	ASSERT_EQ(m->cpu_node[0], 0);
	ASSERT_EQ(m->cpu_node[1], 0);
	ASSERT_EQ(m->cpu_node[2], 1);

	/* A node-1 allocation is local; with node 1 asked explicitly from a
	 * node-0 cpu it is a numa_hit on node 1 but numa_other (remote cpu). */
	struct mm_alloc_result r;
	ASSERT_EQ(mm_alloc_pages(m, MM_GFP_KERNEL, 0, 0, 1, &r), 0);
	ASSERT_EQ(r.node, 1);
	ASSERT_EQ(r.zone, 2);
	ASSERT_EQ_U64(m->nodes[1].zones[2].numa[0], 1);  /* hit */
	ASSERT_EQ_U64(m->nodes[1].zones[2].numa[5], 1);  /* other */
	tu_check(m, "after a remote allocation");
	mm_machine_destroy(m);
}
