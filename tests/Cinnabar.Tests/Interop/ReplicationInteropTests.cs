// Replication between Cinnabar and Debian's redis-server 7.0.15, both ways, on loopback ports:
// a Cinnabar replica of redis-server (its "$EOF" diskless and "$len" disk transfers, loading
// to disk or from memory, a killed link resumed with +CONTINUE), a redis-server replica of
// Cinnabar resuming the same way, a mixed chain with identical offsets, and a replica catching
// up while redis-benchmark writes to the primary. DEBUG DIGEST, computed the same way by both,
// must agree after each step. The fixtures end redis-server by its pid.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Interop;

public class ReplicationInteropTests
{
    static ServerFixture Cinnabar(params (string Name, string Value)[] config) => new(cfg =>
    {
        cfg.Set("repl-diskless-sync-delay", "0", startup: true);
        foreach (var (name, value) in config) cfg.Set(name, value, startup: true);
    });

    static RedisServerFixture RedisServer(params string[] config)
    {
        var redis = new RedisServerFixture();
        using var c = redis.Connect();
        c.Call("CONFIG", "SET", "repl-diskless-sync-delay", "0");
        for (int i = 0; i < config.Length; i += 2) c.Call("CONFIG", "SET", config[i], config[i + 1]);
        return redis;
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("yes", "disabled")] // $EOF transfer, written to a temp file then loaded
    [InlineData("no", "disabled")]  // $len transfer from redis-server's dump.rdb
    [InlineData("yes", "swapdb")]   // loaded from memory
    public void A_Cinnabar_replica_follows_redis_server_and_resumes_after_a_dropped_link(string disklessSync, string disklessLoad)
    {
        using var redis = RedisServer("repl-diskless-sync", disklessSync);
        using var replicaFx = Cinnabar(("repl-diskless-load", disklessLoad));
        using var p = redis.Connect();
        using var r = replicaFx.Connect();
        PopulateEveryType(p);
        r.Call("REPLICAOF", "127.0.0.1", redis.Port.ToString());
        try
        {
            AssertSyncsThenResumesAfterDroppedLink(p, r);
            // redis-server sees our acknowledgements.
            string offset = Info(p, "master_repl_offset");
            WaitFor(() => Info(p, "slave0").Contains($"offset={offset},"), "REPLCONF ACK of offset " + offset);
        }
        finally
        {
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }

    [RequiresToolsFact("redis-server")]
    public void A_redis_server_replica_follows_Cinnabar_and_resumes_after_a_dropped_link()
    {
        using var primaryFx = Cinnabar();
        using var redis = RedisServer();
        using var p = primaryFx.Connect();
        using var r = redis.Connect();
        PopulateEveryType(p);
        r.Call("REPLICAOF", "127.0.0.1", primaryFx.Port.ToString());
        try
        {
            AssertSyncsThenResumesAfterDroppedLink(p, r);
            Assert.Equal(":1", p.CallS("WAIT", "1", "5000"));
        }
        finally
        {
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }

    [RequiresToolsFact("redis-server")]
    public void A_mixed_chain_keeps_identical_offsets_and_data()
    {
        using var top = Cinnabar();
        using var middle = RedisServer();
        using var bottom = Cinnabar();
        using var ct = top.Connect();
        using var cm = middle.Connect();
        using var cb = bottom.Connect();
        PopulateEveryType(ct);
        cm.Call("REPLICAOF", "127.0.0.1", top.Port.ToString());
        try
        {
            WaitForSync(cm);
            cb.Call("REPLICAOF", "127.0.0.1", middle.Port.ToString());
            WaitForSync(cb);
            AssertChainIdentical(ct, cm, cb);
        }
        finally
        {
            cm.Call("REPLICAOF", "NO", "ONE");
        }
    }

    [RequiresToolsFact("redis-server", "redis-benchmark")]
    public void A_replica_catching_up_under_redis_benchmark_ends_identical()
    {
        using var primaryFx = Cinnabar();
        using var replicaFx = Cinnabar();
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        p.Call("DEBUG", "POPULATE", "20000");
        using var bench = new BackgroundTool("redis-benchmark",
            ["-p", primaryFx.Port.ToString(), "-n", "200000", "-r", "50000", "-P", "16", "-q", "-t", "set,lpush,incr,hset"]);
        Thread.Sleep(200); // the sync starts while the benchmark writes
        r.Call("REPLICAOF", "127.0.0.1", primaryFx.Port.ToString());
        WaitForSync(r);
        Assert.True(bench.WaitForExit(TimeSpan.FromSeconds(60)), "redis-benchmark did not finish:\n" + bench);
        WaitForOffsets(p, r);
        Assert.Equal(Digest(p), Digest(r));
    }

    [RequiresToolsFact("redis-server")]
    public void A_replica_whose_output_buffer_overflows_is_dropped_and_resyncs()
    {
        using var primaryFx = Cinnabar(("client-output-buffer-limit", "replica 256kb 0 0"));
        using var redis = RedisServer();
        using var p = primaryFx.Connect();
        using var r = redis.Connect();
        r.Call("REPLICAOF", "127.0.0.1", primaryFx.Port.ToString());
        try
        {
            WaitForSync(r);
            r.Call("DEBUG", "SLEEP", "0"); // sanity: the replica answers
            // The replica stops reading (DEBUG SLEEP blocks it) while 20 MB of writes pile up.
            using var sleeper = redis.Connect();
            sleeper.Send("DEBUG", "SLEEP", "2");
            Thread.Sleep(100);
            var value = new string('v', 100_000);
            for (int i = 0; i < 200; i++) p.Call("SET", "big:" + (i % 20), value);
            Assert.Equal("0", Info(p, "connected_slaves"));
            sleeper.Read();
            // Dropped at the limit, the replica reconnects; the backlog (1 MB) no longer holds its
            // offset after 20 MB of writes, so it needs a second full sync.
            WaitFor(() => Info(p, "sync_full", "stats") == "2", "the dropped replica's new full sync");
            WaitForSync(r);
            WaitForOffsets(p, r);
            Assert.Equal(Digest(p), Digest(r));
        }
        finally
        {
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }
}
