// Sentinel failover with real processes on loopback, bounded in time: three Cinnabar Sentinels
// fail over a SIGKILLed Cinnabar primary to one of its two replicas (the other follows, a write
// acknowledged by WAIT before the kill survives, the old primary rejoins as a replica), and a
// mixed quorum (two Cinnabar Sentinels with Debian's redis-sentinel) fails over redis-server
// instances, so both Sentinel implementations agree on the same election and configuration.
using System.Diagnostics;
using Cinnabar.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Sentinel;

public sealed class SentinelFailoverTests(ITestOutputHelper output)
{
    static readonly TimeSpan Discovery = TimeSpan.FromSeconds(30);
    static readonly TimeSpan FailoverBound = TimeSpan.FromSeconds(30);

    static string Role(int port)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        return c.Call("ROLE").Items![0].Text!;
    }

    static string ReplicationField(int port, string field)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        return ReplicationWait.Info(c, field);
    }

    /// <summary>Every Sentinel knows both replicas and the two other Sentinels.</summary>
    static void WaitForDiscovery(int[] sentinels)
    {
        foreach (int s in sentinels)
        {
            SentinelTopology.WaitFor(() => SentinelTopology.MasterField(s, "num-slaves") == "2", $"sentinel {s} to discover the replicas", Discovery);
            SentinelTopology.WaitFor(() => SentinelTopology.MasterField(s, "num-other-sentinels") == "2", $"sentinel {s} to discover the other sentinels", Discovery);
        }
    }

    [RequiresToolsFact("redis-cli")]
    public void Three_cinnabar_sentinels_promote_a_replica_when_the_primary_is_killed()
    {
        using var topo = new SentinelTopology();
        int[] ports = [.. Enumerable.Range(0, 6).Select(_ => CinnabarProcess.FreePort())];
        var primary = topo.StartCinnabar(ports[0]);
        topo.StartCinnabar(ports[1], ports[0]);
        topo.StartCinnabar(ports[2], ports[0]);
        int[] sentinels = [ports[3], ports[4], ports[5]];
        var sentinelProcs = sentinels.Select(p => topo.StartCinnabarSentinel(p, ports[0])).ToList();
        WaitForDiscovery(sentinels);

        using (var c = primary.Connect())
        {
            Assert.Equal("+OK", c.CallS("SET", "acknowledged", "before-the-kill"));
            Assert.Equal("2", c.Call("WAIT", "2", "5000").Text);
        }

        primary.KillHard();
        var sw = Stopwatch.StartNew();
        int newPrimary = -1;
        SentinelTopology.WaitFor(() =>
        {
            int p = SentinelTopology.MasterPortSeenBy(sentinels[0]);
            if (p != ports[1] && p != ports[2]) return false;
            if (Role(p) != "master") return false;
            using var c = new RespClient(p, timeoutMs: 2000);
            if (c.CallS("SET", "after", "failover") != "+OK") return false;
            newPrimary = p;
            return true;
        }, "a replica to be promoted and accept writes", FailoverBound);
        output.WriteLine($"kill to new primary accepting writes: {sw.ElapsedMilliseconds} ms (down-after {SentinelTopology.DownAfterMs} ms)");

        // Every Sentinel agrees, the other replica follows the new primary, the acknowledged write is there.
        foreach (int s in sentinels)
            SentinelTopology.WaitFor(() => SentinelTopology.MasterPortSeenBy(s) == newPrimary, $"sentinel {s} to switch", FailoverBound);
        int other = newPrimary == ports[1] ? ports[2] : ports[1];
        SentinelTopology.WaitFor(() => Role(other) == "slave" && ReplicationField(other, "master_port") == newPrimary.ToString()
            && ReplicationField(other, "master_link_status") == "up", "the other replica to follow the new primary", FailoverBound);
        using (var c = new RespClient(newPrimary))
            Assert.Equal("before-the-kill", c.Call("GET", "acknowledged").Text);

        // The old primary comes back empty on its port and is turned into a replica of the new one.
        topo.StartCinnabar(ports[0]);
        SentinelTopology.WaitFor(() => Role(ports[0]) == "slave" && ReplicationField(ports[0], "master_port") == newPrimary.ToString(),
            "the old primary to be reconfigured as a replica", TimeSpan.FromSeconds(40));
        SentinelTopology.WaitFor(() =>
        {
            using var c = new RespClient(ports[0], timeoutMs: 2000);
            return c.Call("GET", "after").Text == "failover";
        }, "the old primary to sync from the new one", FailoverBound);

        // The state is in every Sentinel's config file (a restarted Sentinel resumes from it).
        foreach (int s in sentinels)
        {
            string conf = File.ReadAllText(Path.Combine(topo.Dir, "sentinel-" + s, "sentinel.conf"));
            Assert.Contains($"sentinel monitor {SentinelTopology.MasterName} 127.0.0.1 {newPrimary} 2", conf);
            Assert.Contains("sentinel current-epoch 1", conf);
            Assert.Contains("sentinel known-sentinel", conf);
        }
        GC.KeepAlive(sentinelProcs);
    }

    [RequiresToolsFact("redis-server", "redis-sentinel", "redis-cli")]
    public void Cinnabar_and_redis_sentinels_fail_over_redis_servers_together()
    {
        using var topo = new SentinelTopology();
        int[] ports = [.. Enumerable.Range(0, 6).Select(_ => CinnabarProcess.FreePort())];
        var primary = topo.StartRedisServer(ports[0]);
        topo.StartRedisServer(ports[1], ports[0]);
        topo.StartRedisServer(ports[2], ports[0]);
        int[] sentinels = [ports[3], ports[4], ports[5]];
        topo.StartCinnabarSentinel(sentinels[0], ports[0]);
        topo.StartCinnabarSentinel(sentinels[1], ports[0]);
        topo.StartRedisSentinel(sentinels[2], ports[0]);
        WaitForDiscovery(sentinels);

        primary.KillHard();
        var sw = Stopwatch.StartNew();
        SentinelTopology.WaitFor(() =>
        {
            int p0 = SentinelTopology.MasterPortSeenBy(sentinels[0]);
            return (p0 == ports[1] || p0 == ports[2]) && sentinels.All(s => SentinelTopology.MasterPortSeenBy(s) == p0) && Role(p0) == "master";
        }, "all three sentinels to agree on a promoted replica", FailoverBound);
        output.WriteLine($"mixed quorum, kill to agreement: {sw.ElapsedMilliseconds} ms");
        int newPrimary = SentinelTopology.MasterPortSeenBy(sentinels[0]);
        int other = newPrimary == ports[1] ? ports[2] : ports[1];
        SentinelTopology.WaitFor(() => ReplicationField(other, "master_port") == newPrimary.ToString(), "the other replica to follow", FailoverBound);

        // A second failover, asked of a Cinnabar Sentinel: it leads (SENTINEL FAILOVER needs no
        // election), redis-sentinel follows its hello with the new configuration epoch.
        SentinelTopology.WaitFor(() => SentinelTopology.MasterField(sentinels[0], "num-slaves") != "0"
            && SentinelTopology.MasterField(sentinels[0], "flags") == "master", "the first failover to settle", FailoverBound);
        SentinelTopology.WaitFor(() =>
        {
            using var c = new RespClient(sentinels[0], timeoutMs: 2000);
            return c.CallS("SENTINEL", "FAILOVER", SentinelTopology.MasterName) == "+OK";
        }, "SENTINEL FAILOVER to be accepted", FailoverBound);
        SentinelTopology.WaitFor(() =>
        {
            int p = SentinelTopology.MasterPortSeenBy(sentinels[2]);
            return p != newPrimary && p != -1 && Role(p) == "master";
        }, "redis-sentinel to learn the failover a Cinnabar sentinel led", FailoverBound);
    }
}
