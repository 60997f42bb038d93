// Cluster mode with real processes on loopback, bounded in time, driven by the tools operators use:
// redis-cli --cluster create builds 3 primaries + 3 replicas of Cinnabar, --cluster check is
// clean, clients follow -MOVED, --cluster reshard moves slots with their keys (MIGRATE, SETSLOT),
// a SIGKILLed primary's replica is promoted and the cluster returns to ok; and mixed clusters
// both ways: a Cinnabar node joins a cluster of redis-server 7.0 nodes (and a redis-server node
// a Cinnabar cluster), takes slots by reshard, serves them, gives them back and leaves.
using System.Diagnostics;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Cluster.ClusterTestKit;
using Xunit;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Cluster;

public sealed class ClusterTopologyTests(ITestOutputHelper output)
{
    [RequiresToolsFact("redis-cli")]
    public void Redis_cli_creates_reshards_and_a_killed_primary_is_replaced()
    {
        string root = Path.Combine(Path.GetTempPath(), "cinnabar-cluster-" + Guid.NewGuid().ToString("N"));
        var nodes = new List<CinnabarProcess>();
        try
        {
            for (int i = 0; i < 6; i++)
            {
                string dir = Directory.CreateDirectory(Path.Combine(root, "n" + i)).FullName;
                nodes.Add(new CinnabarProcess(dir, ClusterPort(), CinnabarOptions));
            }
            var create = Cli(["--cluster", "create", .. nodes.Select(n => $"127.0.0.1:{n.Port}"), "--cluster-replicas", "1", "--cluster-yes"]);
            Assert.True(create.ExitCode == 0, create.ToString());
            Assert.Contains("[OK] All 16384 slots covered.", create.Stdout);
            foreach (var n in nodes) WaitFor(() => Info(n.Port, "cluster_state") == "ok", $"node {n.Port} to see the cluster ok");
            WaitFor(() => Cli("--cluster", "check", $"127.0.0.1:{nodes[0].Port}").ExitCode == 0, "the nodes to agree");
            var check = Cli("--cluster", "check", $"127.0.0.1:{nodes[0].Port}");
            Assert.True(check.ExitCode == 0, check.ToString());
            Assert.Contains("[OK] All nodes agree about slots configuration.", check.Stdout);

            // Writes through redirections land on each key's slot owner.
            for (int i = 0; i < 300; i++) Assert.Equal("OK", ClusterCall(nodes[0].Port, "SET", "key:" + i, "v" + i).Text);
            using (var c = new RespClient(nodes[0].Port))
            {
                var moved = c.Call("GET", "foo");
                Assert.True(moved.IsNull || moved.Text!.StartsWith("MOVED 12182 ", StringComparison.Ordinal), moved.ToString());
                Assert.Equal("CROSSSLOT Keys in request don't hash to the same slot", c.Call("MGET", "key:1", "key:2").Text);
            }

            // Reshard 100 slots with their keys from the owner of slot 0 to the owner of slot 16383.
            string from = MyId(nodes.Select(n => n.Port).First(p => ClusterCall(p, "CLUSTER", "COUNTKEYSINSLOT", "0") != null && OwnsSlot(p, 0)));
            int toPort = nodes.Select(n => n.Port).First(p => OwnsSlot(p, 16383));
            var reshard = Cli("--cluster", "reshard", $"127.0.0.1:{nodes[0].Port}", "--cluster-from", from, "--cluster-to", MyId(toPort),
                "--cluster-slots", "100", "--cluster-yes");
            Assert.True(reshard.ExitCode == 0, reshard.ToString());
            Assert.True(OwnsSlot(toPort, 0), "slot 0 moved");
            for (int i = 0; i < 300; i++) Assert.Equal("v" + i, ClusterCall(nodes[0].Port, "GET", "key:" + i).Text);
            check = Cli("--cluster", "check", $"127.0.0.1:{nodes[0].Port}");
            Assert.True(check.ExitCode == 0, check.ToString());

            // Kill the primary of slot 16383 (it has a replica): the replica takes over.
            var victim = nodes.First(n => n.Port == toPort);
            string victimId = MyId(victim.Port);
            var replica = nodes.First(n => n != victim && ReplicaOfId(n.Port) == victimId);
            // A replica that never completed a sync may not fail over (its data age is infinite, as in Redis).
            WaitFor(() => { using var rc = replica.Connect(); return ReplicationWait.Info(rc, "master_link_status") == "up"; }, "the replica to be in sync");
            victim.KillHard();
            var sw = Stopwatch.StartNew();
            try
            {
                WaitFor(() => Role(replica.Port) == "master" && OwnsSlot(replica.Port, 16383), "the replica to be promoted");
            }
            catch (TimeoutException e)
            {
                static string Tail(CinnabarProcess p) => string.Join('\n', p.Log.Split('\n')
                    .Where(l => !l.Contains("SYNC", StringComparison.Ordinal) && !l.Contains("Connecting to MASTER", StringComparison.Ordinal)).TakeLast(40));
                throw new TimeoutException(e.Message + "\n--- replica log\n" + Tail(replica) + "\n--- a primary's log\n" + Tail(nodes.First(n => n != victim && n != replica && Role(n.Port) == "master")), e);
            }
            output.WriteLine($"kill to promoted replica: {sw.ElapsedMilliseconds} ms (node timeout {NodeTimeoutMs} ms)");
            var survivor = nodes.First(n => n != victim && n != replica);
            WaitFor(() => Info(survivor.Port, "cluster_state") == "ok", "the cluster to be ok again");
            for (int i = 0; i < 300; i++) Assert.Equal("v" + i, ClusterCall(survivor.Port, "GET", "key:" + i).Text);
        }
        finally
        {
            foreach (var n in nodes) n.Dispose();
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { }
        }
    }

    /// <summary>
    /// A node of the other implementation joins a running cluster (add-node), takes 500 slots
    /// with their keys by reshard, serves them, gives them back and leaves (del-node), while the
    /// cluster stays consistent at each step.
    /// </summary>
    [RequiresToolsTheory("redis-server", "redis-cli")]
    [InlineData("redis-server", "cinnabar")]
    [InlineData("cinnabar", "redis-server")]
    public void A_node_of_the_other_server_joins_takes_slots_serves_them_and_leaves(string clusterOf, string joiner)
    {
        using var root = new TempRoot("cinnabar-mixed-");
        var nodes = new List<IDisposable>();
        try
        {
            int Start(string kind, string name)
            {
                if (kind == "cinnabar")
                {
                    var n = new CinnabarProcess(root.Dir(name), ClusterPort(), CinnabarOptions);
                    nodes.Add(n);
                    return n.Port;
                }
                var r = new RedisNode(root.Dir(name));
                nodes.Add(r);
                return r.Port;
            }

            var ports = Enumerable.Range(0, 3).Select(i => Start(clusterOf, "c" + i)).ToList();
            ClusterCli(["create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-yes"]);
            foreach (int p in ports) WaitFor(() => Info(p, "cluster_state") == "ok", $"{clusterOf} {p} to see the cluster ok");
            var data = Load(ports[0], "m:", 2000);

            int joined = Start(joiner, "joiner");
            // redis-cli refuses to add a node until the nodes agree on the configuration.
            WaitForAgreement(ports[0]);
            ClusterCli("add-node", $"127.0.0.1:{joined}", $"127.0.0.1:{ports[0]}");
            // Every node must know the new one by its real name (not a handshake entry): reshard's
            // SETSLOT NODE goes to all of them.
            string joinedId = MyId(joined);
            foreach (int p in ports)
                WaitFor(() => Nodes(p).Contains(joinedId, StringComparison.Ordinal) && !Nodes(p).Contains("handshake", StringComparison.Ordinal), $"{p} to know the new node");
            WaitFor(() => Info(joined, "cluster_known_nodes") == "4" && !Nodes(joined).Contains("handshake", StringComparison.Ordinal), "the new node to know the others");
            WaitForAgreement(joined);
            // A new node refuses RESTORE-ASKING until it sees the cluster ok.
            WaitFor(() => Info(joined, "cluster_state") == "ok", "the new node to see the cluster ok");

            ClusterCli("reshard", $"127.0.0.1:{ports[0]}", "--cluster-from", MyId(ports[0]), "--cluster-to", joinedId, "--cluster-slots", "500", "--cluster-yes");
            Assert.Equal(500, SlotCount(joined));
            Assert.True(OwnsSlot(joined, 0), "the new node owns slot 0");
            var onJoined = data.Keys.Where(k => SlotOf(k) < 500).ToList();
            Assert.NotEmpty(onJoined);
            using (var c = new RespClient(joined))
                foreach (var k in onJoined) Assert.Equal(data[k], c.Call("GET", k).Text);
            for (int i = 0; i < 50; i++) Assert.Equal("OK", ClusterCall(ports[1], "SET", "m:" + i, "w:" + i).Text);
            for (int i = 0; i < 50; i++) data["m:" + i] = "w:" + i;
            WaitForAgreement(ports[2]);
            var check = Cli("--cluster", "check", $"127.0.0.1:{ports[2]}");
            Assert.Contains("[OK] All nodes agree about slots configuration.", check.Stdout);
            AssertEveryKeyOnItsOwner(ports[1], data);

            // It leaves: its slots go back, then del-node makes every node forget it and shuts it down.
            ClusterCli("reshard", $"127.0.0.1:{ports[0]}", "--cluster-from", joinedId, "--cluster-to", MyId(ports[0]), "--cluster-slots", "500", "--cluster-yes");
            Assert.Equal(0, SlotCount(joined));
            ClusterCli("del-node", $"127.0.0.1:{ports[0]}", joinedId);
            foreach (int p in ports)
                WaitFor(() => Info(p, "cluster_known_nodes") == "3" && Info(p, "cluster_state") == "ok", $"{p} to forget the node that left");
            WaitForAgreement(ports[0]);
            AssertEveryKeyOnItsOwner(ports[2], data);
        }
        finally
        {
            foreach (var n in nodes) n.Dispose();
        }
    }
}
