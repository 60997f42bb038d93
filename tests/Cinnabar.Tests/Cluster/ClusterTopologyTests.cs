// Cluster mode with real processes on loopback, bounded in time, driven by the tools operators use:
// redis-cli --cluster create builds 3 primaries + 3 replicas of Cinnabar, --cluster check is
// clean, clients follow -MOVED, --cluster reshard moves slots with their keys (MIGRATE, SETSLOT),
// a SIGKILLed primary's replica is promoted and the cluster returns to ok; and a Cinnabar node
// joins a cluster of redis-server 7.0 nodes, takes slots by reshard and serves them.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cinnabar.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Cluster;

public sealed class ClusterTopologyTests(ITestOutputHelper output)
{
    const int NodeTimeoutMs = 1000;
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(40);
    static readonly Random PortRandom = new();

    /// <summary>A port below 55535 whose bus port (port + 10000) is free too.</summary>
    static int ClusterPort()
    {
        while (true)
        {
            int p = PortRandom.Next(20000, 30000);
            if (IsFree(p) && IsFree(p + 10000)) return p;
        }
    }

    static bool IsFree(int port)
    {
        try
        {
            var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            l.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    static string[] ClusterOptions => ["--cluster-enabled", "yes", "--cluster-node-timeout", NodeTimeoutMs.ToString(), "--appendonly", "no"];

    static ToolResult Cli(params string[] args) => ToolProcess.Run("redis-cli", args, timeout: TimeSpan.FromSeconds(90));

    static string Info(int port, string field)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        foreach (var line in c.Call("CLUSTER", "INFO").Text!.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return line[(field.Length + 1)..];
        return "";
    }

    static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < Bound)
        {
            try
            {
                if (condition()) return;
            }
            catch (Exception e) when (e is SocketException or IOException) { }
            Thread.Sleep(100);
        }
        throw new TimeoutException($"timed out waiting for {what}");
    }

    /// <summary>A client that follows -MOVED and -ASK as cluster clients do.</summary>
    static RespReply ClusterCall(int anyPort, params string[] args)
    {
        int port = anyPort;
        bool asking = false;
        for (int hop = 0; hop < 5; hop++)
        {
            using var c = new RespClient(port, timeoutMs: 5000);
            if (asking) c.Call("ASKING");
            var r = c.Call(args);
            if (r.IsError && (r.Text!.StartsWith("MOVED ", StringComparison.Ordinal) || r.Text.StartsWith("ASK ", StringComparison.Ordinal)))
            {
                asking = r.Text.StartsWith("ASK ", StringComparison.Ordinal);
                port = int.Parse(r.Text[(r.Text.LastIndexOf(':') + 1)..]);
                continue;
            }
            return r;
        }
        throw new InvalidOperationException("too many redirections");
    }

    static string MyId(int port)
    {
        using var c = new RespClient(port);
        return c.Call("CLUSTER", "MYID").Text!;
    }

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
                nodes.Add(new CinnabarProcess(dir, ClusterPort(), ClusterOptions));
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

    static bool OwnsSlot(int port, int slot)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        string myId = c.Call("CLUSTER", "MYID").Text!;
        foreach (var range in c.Call("CLUSTER", "SLOTS").Items!)
        {
            long start = range.Items![0].Integer, end = range.Items[1].Integer;
            if (slot >= start && slot <= end) return range.Items[2].Items![2].Text == myId;
        }
        return false;
    }

    static string Nodes(int port)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        return c.Call("CLUSTER", "NODES").Text!;
    }

    static string Role(int port)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        return c.Call("ROLE").Items![0].Text!;
    }

    static string? ReplicaOfId(int port)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        foreach (var line in c.Call("CLUSTER", "NODES").Text!.Split('\n'))
        {
            var f = line.Split(' ');
            if (f.Length > 3 && f[2].Contains("myself")) return f[3] == "-" ? null : f[3];
        }
        return null;
    }

    [RequiresToolsFact("redis-server", "redis-cli")]
    public void A_cinnabar_node_joins_a_redis_server_cluster_and_serves_resharded_slots()
    {
        string root = Path.Combine(Path.GetTempPath(), "cinnabar-mixed-" + Guid.NewGuid().ToString("N"));
        var redis = new List<Process>();
        CinnabarProcess? cinnabar = null;
        try
        {
            var ports = new List<int>();
            for (int i = 0; i < 3; i++)
            {
                int port = ClusterPort();
                string dir = Directory.CreateDirectory(Path.Combine(root, "r" + i)).FullName;
                var psi = new ProcessStartInfo(ExternalTools.Require("redis-server")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--cluster-enabled", "yes", "--cluster-node-timeout", NodeTimeoutMs.ToString() })
                    psi.ArgumentList.Add(a);
                var p = Process.Start(psi)!;
                p.BeginOutputReadLine();
                p.BeginErrorReadLine();
                redis.Add(p);
                ports.Add(port);
                WaitFor(() => { using var c = new RespClient(port, timeoutMs: 1000); return c.CallS("PING") == "+PONG"; }, "redis-server to start");
            }
            var create = Cli(["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-yes"]);
            Assert.True(create.ExitCode == 0, create.ToString());
            foreach (int p in ports) WaitFor(() => Info(p, "cluster_state") == "ok", $"redis-server {p} to see the cluster ok");
            for (int i = 0; i < 200; i++) Assert.Equal("OK", ClusterCall(ports[0], "SET", "m:" + i, "v" + i).Text);

            string cdir = Directory.CreateDirectory(Path.Combine(root, "cinnabar")).FullName;
            cinnabar = new CinnabarProcess(cdir, ClusterPort(), ClusterOptions);
            // redis-cli refuses to add a node until the nodes agree on the configuration.
            WaitFor(() => Cli("--cluster", "check", $"127.0.0.1:{ports[0]}").ExitCode == 0, "the redis-server nodes to agree");
            var add = Cli("--cluster", "add-node", $"127.0.0.1:{cinnabar.Port}", $"127.0.0.1:{ports[0]}");
            Assert.True(add.ExitCode == 0, add.ToString());
            // Every node must know the new one by its real name (not a handshake entry): reshard's
            // SETSLOT NODE goes to all of them.
            string cinnabarId = MyId(cinnabar.Port);
            foreach (int p in ports)
                WaitFor(() => Nodes(p).Contains(cinnabarId, StringComparison.Ordinal) && !Nodes(p).Contains("handshake", StringComparison.Ordinal), $"redis-server {p} to know the Cinnabar node");
            WaitFor(() => Info(cinnabar.Port, "cluster_known_nodes") == "4" && !Nodes(cinnabar.Port).Contains("handshake", StringComparison.Ordinal), "the Cinnabar node to know the others");
            WaitFor(() => Cli("--cluster", "check", $"127.0.0.1:{cinnabar.Port}").ExitCode == 0, "all four nodes to agree");
            // Like a redis-server node, a new node refuses RESTORE-ASKING until it sees the cluster ok.
            WaitFor(() => Info(cinnabar.Port, "cluster_state") == "ok", "the Cinnabar node to see the cluster ok");
            var reshard = Cli("--cluster", "reshard", $"127.0.0.1:{ports[0]}", "--cluster-from", MyId(ports[0]), "--cluster-to", MyId(cinnabar.Port),
                "--cluster-slots", "500", "--cluster-yes");
            Assert.True(reshard.ExitCode == 0, reshard.ToString());
            Assert.True(OwnsSlot(cinnabar.Port, 0), "the Cinnabar node owns slot 0");
            for (int i = 0; i < 200; i++) Assert.Equal("v" + i, ClusterCall(ports[1], "GET", "m:" + i).Text);
            var check = Cli("--cluster", "check", $"127.0.0.1:{ports[2]}");
            Assert.True(check.ExitCode == 0, check.ToString());
            Assert.Contains("[OK] All nodes agree about slots configuration.", check.Stdout);
        }
        finally
        {
            cinnabar?.Dispose();
            foreach (var p in redis)
            {
                try { if (!p.HasExited) p.Kill(); p.WaitForExit(5000); }
                catch (InvalidOperationException) { }
                p.Dispose();
            }
            try { Directory.Delete(root, recursive: true); }
            catch (IOException) { }
        }
    }
}
