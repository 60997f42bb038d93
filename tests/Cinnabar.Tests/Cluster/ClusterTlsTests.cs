// The cluster bus over TLS (tls-cluster yes) in a cluster of Cinnabar and redis-server 7.0.15
// nodes created by redis-cli --tls --cluster create: the nodes gossip over TLS (redis-server
// accepts nothing else on its bus then), announce their TLS port as the node's port and the
// plaintext one as pport, and tell each client the kind of port it speaks: CLUSTER NODES, SLOTS
// and -MOVED give a plaintext client the plaintext ports and a TLS client the TLS ones; CLUSTER
// SHARDS gives both. redis-cli --tls --cluster reshard moves slots with their keys both ways
// between the servers, MIGRATE speaking TLS to the target. Every process is ended by pid.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Cluster.ClusterTestKit;

namespace Cinnabar.Tests.Cluster;

public sealed class ClusterTlsTests
{
    [RequiresToolsFact("redis-server", "redis-cli")]
    public void A_TLS_cluster_of_both_servers_gossips_over_TLS_and_gives_each_client_its_kind_of_port()
    {
        using var certs = new TestCertificates();
        using var root = new TempRoot("cinnabar-tls-cluster-");
        string[] tls = ["--tls-cert-file", certs.ServerCertFile, "--tls-key-file", certs.ServerKeyFile,
            "--tls-client-cert-file", certs.ClientCertFile, "--tls-client-key-file", certs.ClientKeyFile,
            "--tls-ca-cert-file", certs.CaFile, "--tls-cluster", "yes", "--tls-replication", "yes"];
        var processes = new List<IDisposable>();
        try
        {
            var nodes = new List<(int Plain, int Tls)>();
            foreach (var kind in new[] { "cinnabar", "redis-server", "cinnabar" })
            {
                // The bus port is the TLS port + 10000 under tls-cluster.
                int plain = CinnabarProcess.FreePort(), tlsPort = ClusterPort();
                string dir = root.Dir("n" + nodes.Count);
                processes.Add(kind == "cinnabar"
                    ? new CinnabarProcess(dir, plain, [.. CinnabarOptions, "--tls-port", tlsPort.ToString(), .. tls])
                    : new RedisNode(dir, plain, ["--tls-port", tlsPort.ToString(), .. tls]));
                nodes.Add((plain, tlsPort));
            }
            string[] cliTls = ["--tls", "--cacert", certs.CaFile, "--cert", certs.ClientCertFile, "--key", certs.ClientKeyFile];
            ClusterCli(["create", .. nodes.Select(n => $"127.0.0.1:{n.Tls}"), "--cluster-yes", .. cliTls]);
            foreach (var (plain, _) in nodes) WaitFor(() => Info(plain, "cluster_state") == "ok", $"{plain} to see the cluster ok");
            // redis-server learns our plaintext ports from our messages' pport, we learn its.
            foreach (var (plain, _) in nodes)
                WaitFor(() => nodes.All(n => Nodes(plain).Contains($":{n.Plain}@{n.Tls + 10000}", StringComparison.Ordinal)), $"{plain} to know every node's plaintext port");

            for (int i = 0; i < nodes.Count; i++)
            {
                using var plainClient = new RespClient(nodes[i].Plain);
                using var tlsClient = new RespClient(nodes[i].Tls, certs.ClientOptions(certs.Client));
                string tlsNodes = tlsClient.Call("CLUSTER", "NODES").Text!;
                foreach (var n in nodes) Assert.Contains($":{n.Tls}@{n.Tls + 10000}", tlsNodes, StringComparison.Ordinal);

                // A key owned by the next node: each client is sent to that node's port of its kind.
                var owner = nodes[(i + 1) % nodes.Count];
                string key = Enumerable.Range(0, 100000).Select(k => "k" + k).First(k => SlotOwners(owner.Plain)[SlotOf(k)] == owner.Plain);
                Assert.Equal($"MOVED {SlotOf(key)} 127.0.0.1:{owner.Plain}", plainClient.Call("GET", key).Text);
                Assert.Equal($"MOVED {SlotOf(key)} 127.0.0.1:{owner.Tls}", tlsClient.Call("GET", key).Text);
                Assert.Equal("OK", ClusterCall(nodes[i].Plain, "SET", key, "v" + i).Text);

                var tlsSlots = tlsClient.Call("CLUSTER", "SLOTS").Items!;
                Assert.Equal(nodes.Select(n => n.Tls).Order(), tlsSlots.Select(r => (int)r.Items![2].Items![1].Integer).Order());

                // CLUSTER SHARDS names both ports of every node.
                var shards = plainClient.Call("CLUSTER", "SHARDS").Items!;
                var described = shards.SelectMany(s => s.Items![3].Items!).Select(n => n.Items!.Select(f => f.Text).ToList()).ToList();
                Assert.Equal(nodes.Count, described.Count);
                foreach (var n in nodes)
                    Assert.Contains(described, d => d[d.IndexOf("port") + 1] == n.Plain.ToString() && d[d.IndexOf("tls-port") + 1] == n.Tls.ToString());
            }
            for (int i = 0; i < nodes.Count; i++)
            {
                var owner = nodes[(i + 1) % nodes.Count];
                string key = Enumerable.Range(0, 100000).Select(k => "k" + k).First(k => SlotOwners(owner.Plain)[SlotOf(k)] == owner.Plain);
                Assert.Equal("v" + i, ClusterCall(nodes[0].Plain, "GET", key).Text);
            }

            // Resharding Cinnabar -> redis-server -> Cinnabar: MIGRATE to each target's TLS port.
            var data = Load(nodes[0].Plain, "r:", 3000);
            for (int i = 0; i < 2; i++)
            {
                WaitForAgreement(nodes[0].Plain);
                ClusterCli(["reshard", $"127.0.0.1:{nodes[0].Tls}", "--cluster-from", MyId(nodes[i].Plain), "--cluster-to", MyId(nodes[i + 1].Plain),
                    "--cluster-slots", "200", "--cluster-yes", .. cliTls]);
            }
            foreach (var (plain, _) in nodes) WaitFor(() => SlotOwners(plain).SequenceEqual(SlotOwners(nodes[0].Plain)), $"{plain} to agree on the slots");
            Assert.Equal(5461 - 200, SlotCount(nodes[0].Plain)); // redis-cli create gives the first node 0-5460
            AssertEveryKeyOnItsOwner(nodes[0].Plain, data);
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
        }
    }
}
