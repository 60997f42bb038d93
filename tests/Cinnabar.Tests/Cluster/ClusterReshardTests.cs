// Live resharding of a Cinnabar cluster with redis-cli --cluster, as operators run it: 1000 slots
// move while a cluster client keeps writing (every acknowledged INCR is still there, every key
// on its slot's owner), and a fourth primary is added, given slots by rebalance, emptied by
// rebalance with weight 0 and removed by del-node (which resets it) without losing a key.
using Cinnabar.Tests.Support;
using Xunit;
using Xunit.Abstractions;
using static Cinnabar.Tests.Cluster.ClusterTestKit;

namespace Cinnabar.Tests.Cluster;

public sealed class ClusterReshardTests(ITestOutputHelper output)
{
    static List<CinnabarProcess> StartCluster(TempRoot root, int primaries)
    {
        var nodes = new List<CinnabarProcess>();
        for (int i = 0; i < primaries; i++) nodes.Add(new CinnabarProcess(root.Dir("n" + i), ClusterPort(), CinnabarOptions));
        ClusterCli(["create", .. nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-yes"]);
        foreach (var n in nodes) WaitFor(() => Info(n.Port, "cluster_state") == "ok", $"node {n.Port} to see the cluster ok");
        WaitForAgreement(nodes[0].Port);
        return nodes;
    }

    [RequiresToolsFact("redis-cli")]
    public void Reshard_of_1000_slots_under_a_writer_loses_no_acknowledged_write()
    {
        using var root = new TempRoot("cinnabar-reshard-");
        var nodes = StartCluster(root, 3);
        try
        {
            int first = nodes[0].Port;
            var data = Load(first, "k:", 20000);
            string from = MyId(first), to = MyId(nodes[2].Port);
            // The writer's keys spread over every slot, so some live in the slots that move.
            var writerKeys = Enumerable.Range(0, 1000).Select(i => "w:" + i).ToArray();
            Assert.Contains(writerKeys, k => SlotOf(k) < 1000);
            using var writer = new ClusterWriter(first, writerKeys);
            Thread.Sleep(300);
            long before = writer.Total;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            ClusterCli("reshard", $"127.0.0.1:{first}", "--cluster-from", from, "--cluster-to", to, "--cluster-slots", "1000", "--cluster-yes");
            output.WriteLine($"reshard of 1000 slots: {sw.ElapsedMilliseconds} ms");
            long during = writer.Total - before;
            Thread.Sleep(300);
            writer.Stop();
            output.WriteLine($"writes acknowledged {writer.Total} ({during} during the reshard), redirections {writer.Redirections}, retries {writer.Retries}");
            Assert.True(during > 0, "the writer kept writing during the reshard");
            Assert.True(writer.Redirections > 0, "the writer was redirected to the slots' new owner");

            Assert.Equal(1000, SlotOwners(first).Take(1000).Count(o => o == nodes[2].Port));
            WaitForAgreement(first);
            writer.AssertNothingLost(nodes[1].Port);
            AssertEveryKeyOnItsOwner(nodes[1].Port, data);
            // Nothing stays behind on the old owner.
            using var c = new RespClient(first);
            for (int slot = 0; slot < 1000; slot += 97) Assert.Equal(0, c.Call("CLUSTER", "COUNTKEYSINSLOT", slot.ToString()).Integer);
        }
        finally
        {
            foreach (var n in nodes) n.Dispose();
        }
    }

    [RequiresToolsFact("redis-cli")]
    public void Add_node_rebalance_and_del_node_move_slots_and_keep_every_key()
    {
        using var root = new TempRoot("cinnabar-rebalance-");
        var nodes = StartCluster(root, 3);
        try
        {
            int first = nodes[0].Port;
            var data = Load(first, "r:", 5000);

            var added = new CinnabarProcess(root.Dir("n3"), ClusterPort(), CinnabarOptions);
            nodes.Add(added);
            ClusterCli("add-node", $"127.0.0.1:{added.Port}", $"127.0.0.1:{first}");
            string addedId = MyId(added.Port);
            foreach (var n in nodes)
                WaitFor(() => Info(n.Port, "cluster_known_nodes") == "4" && !Nodes(n.Port).Contains("handshake", StringComparison.Ordinal), $"node {n.Port} to know all four");
            WaitForAgreement(added.Port);
            WaitFor(() => Info(added.Port, "cluster_state") == "ok", "the new node to see the cluster ok");
            Assert.Equal(0, SlotCount(added.Port));

            // An empty primary gets its share: 16384 / 4 slots.
            var sw = System.Diagnostics.Stopwatch.StartNew();
            ClusterCli("rebalance", $"127.0.0.1:{first}", "--cluster-use-empty-masters");
            output.WriteLine($"rebalance onto the empty primary: {sw.ElapsedMilliseconds} ms");
            WaitForAgreement(first);
            Assert.Equal(4096, SlotCount(added.Port));
            foreach (var n in nodes) Assert.InRange(SlotCount(n.Port), 4095, 4097);
            AssertEveryKeyOnItsOwner(first, data);

            // Weight 0 empties it (a primary that loses its last slot becomes a replica of the
            // node that took it, cluster-allow-replica-migration), then del-node makes every node
            // forget it and sends it CLUSTER RESET SOFT: alone again, a primary of nothing.
            sw.Restart();
            ClusterCli("rebalance", $"127.0.0.1:{first}", "--cluster-weight", addedId + "=0");
            output.WriteLine($"rebalance with weight 0: {sw.ElapsedMilliseconds} ms");
            WaitForAgreement(first);
            Assert.Equal(0, SlotCount(added.Port));
            ClusterCli("del-node", $"127.0.0.1:{first}", addedId);
            WaitFor(() => Info(added.Port, "cluster_known_nodes") == "1" && Role(added.Port) == "master", "the removed node to be reset");
            foreach (var n in nodes.Take(3))
                WaitFor(() => Info(n.Port, "cluster_known_nodes") == "3" && Info(n.Port, "cluster_state") == "ok", $"node {n.Port} to forget the removed node");
            WaitForAgreement(first);
            var check = Cli("--cluster", "check", $"127.0.0.1:{first}");
            Assert.Contains("[OK] All 16384 slots covered.", check.Stdout);
            AssertEveryKeyOnItsOwner(nodes[1].Port, data);
        }
        finally
        {
            foreach (var n in nodes) n.Dispose();
        }
    }
}
