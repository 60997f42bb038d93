// The primary side of a full synchronization: PSYNC's +FULLRESYNC line, the RDB transfer (a
// valid RDB with the replication aux fields, checked by redis-check-rdb), then the live stream
// beginning with SELECT; REPLCONF's options, the periodic PING, INFO replication's fields, and a
// replica that disconnects. What the stream carries is pinned in PropagationStreamTests.
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Replication;

public class SyncTests
{
    static string Command(RespReply r) => string.Join(" ", r.Items!.Select(i => i.Text));

    [Fact]
    public void PsyncAnswersFullResyncThenTheRdbThenTheStream()
    {
        using var fx = new ServerFixture();
        using var writer = fx.Connect();
        writer.Call("SET", "before", "1");
        using var replica = fx.Connect();
        Assert.Equal("+OK", replica.CallS("REPLCONF", "listening-port", "6999"));
        Assert.Equal("+OK", replica.CallS("REPLCONF", "capa", "eof", "capa", "psync2"));
        replica.Send("PSYNC", "?", "-1");
        var fullResync = replica.ReadSkippingKeepalives(); // with capa eof the diskless sync waits repl-diskless-sync-delay
        Assert.Equal('+', fullResync.Type);
        var parts = fullResync.Text!.Split(' ');
        Assert.Equal("FULLRESYNC", parts[0]);
        Assert.Matches("^[0-9a-f]{40}$", parts[1]);
        Assert.Equal(InfoField(writer, "master_replid"), parts[1]);
        var rdb = replica.ReadRdbTransfer();
        Assert.Equal("REDIS0010", Encoding.ASCII.GetString(rdb, 0, 9));
        Assert.Contains("repl-id", Encoding.Latin1.GetString(rdb));
        Assert.Contains("before", Encoding.Latin1.GetString(rdb));
        // A diskless (EOF-marked) transfer: the stream starts with the replica's first ACK, as in Redis.
        replica.Send("REPLCONF", "ACK", "0");

        writer.Call("SET", "after", "2");
        Assert.Equal("SELECT 0", Command(replica.Read()));
        Assert.Equal("SET after 2", Command(replica.Read()));

        var info = writer.CallS("INFO", "replication");
        Assert.Contains("connected_slaves:1", info);
        Assert.Contains("slave0:ip=127.0.0.1,port=6999,state=online,offset=0,lag=", info);
        Assert.Contains("repl_backlog_active:1", info);
    }

    [RequiresToolsFact("redis-check-rdb")]
    public void TheTransferredRdbPassesRedisCheckRdb()
    {
        using var fx = new ServerFixture();
        using var writer = fx.Connect();
        writer.Call("RPUSH", "list", "a", "b");
        writer.Call("HSET", "hash", "f", "v");
        writer.Call("SET", "ttl", "v", "EX", "100");
        using var replica = fx.Connect();
        replica.Send("SYNC");
        var rdb = replica.ReadRdbTransfer();
        string path = Path.Combine(fx.Dir, "transfer.rdb");
        File.WriteAllBytes(path, rdb);
        var check = ToolProcess.Run("redis-check-rdb", [path]);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("RDB looks OK", check.Stdout);
        Assert.Contains("repl-id", check.Stdout);
    }

    [Fact]
    public void SyncSendsNoFullResyncLineAndTheOffsetGrowsWithTheStream()
    {
        using var fx = new ServerFixture();
        using var writer = fx.Connect();
        using var replica = fx.Connect();
        replica.Send("SYNC");
        replica.ReadRdbTransfer(); // the first line is the transfer itself
        long offsetBefore = Offset(writer);
        writer.Call("SET", "k", "v");
        Assert.Equal("SELECT 0", Command(replica.Read()));
        Assert.Equal("SET k v", Command(replica.Read()));
        // SELECT 0 (23 bytes) and SET k v (27 bytes) went into the stream.
        Assert.Equal(offsetBefore + 23 + 27, Offset(writer));
    }

    static long Offset(RespClient c) => long.Parse(InfoField(c, "master_repl_offset"));

    static string InfoField(RespClient c, string name, string section = "replication") =>
        c.Call("INFO", section).Text!.Split("\r\n").Single(l => l.StartsWith(name + ":"))[(name.Length + 1)..];

    [Fact]
    public void ReplconfAcceptsTheReplicaOptionsAndRejectsOthers()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("REPLCONF", "listening-port", "7000", "capa", "eof"));
        Assert.Equal("+OK", c.CallS("REPLCONF", "ip-address", "10.0.0.1"));
        Assert.Equal("-ERR Unrecognized REPLCONF option: nope", c.CallS("REPLCONF", "nope", "1"));
        Assert.Equal("-ERR syntax error", c.CallS("REPLCONF", "listening-port"));
        // ACK from a connection that is not a replica gets no reply at all.
        c.Send("REPLCONF", "ACK", "10");
        c.AssertNoReply(TimeSpan.FromMilliseconds(200));
        Assert.Equal("+PONG", c.CallS("PING"));
    }

    [Fact]
    public void ReplicasArePingedEveryReplPingReplicaPeriod()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("repl-ping-replica-period", "1", startup: true));
        using var replica = fx.Connect();
        replica.Send("SYNC");
        replica.ReadRdbTransfer();
        var ping = replica.TryRead(TimeSpan.FromSeconds(3));
        Assert.NotNull(ping);
        Assert.Equal("ping", Command(ping!));
    }

    [Fact]
    public void AReplicaThatDisconnectsLeavesTheListAndTheBacklogStays()
    {
        using var fx = new ServerFixture();
        using var writer = fx.Connect();
        var replica = fx.Connect();
        replica.Send("SYNC");
        replica.ReadRdbTransfer();
        Assert.Contains("connected_slaves:1", writer.CallS("INFO", "replication"));
        replica.Dispose();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (writer.CallS("INFO", "replication").Contains("connected_slaves:1") && DateTime.UtcNow < deadline) Thread.Sleep(10);
        var info = writer.CallS("INFO", "replication");
        Assert.Contains("connected_slaves:0", info);
        Assert.Contains("repl_backlog_active:1", info);
        // The backlog keeps recording the stream for a replica that comes back.
        long before = Offset(writer);
        writer.Call("SET", "k", "v");
        Assert.True(Offset(writer) > before);
    }

    [Fact]
    public void TheBacklogIsCountedResizedAtRuntimeAndRecordedInSavedRdbs()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Assert.Contains("mem_replication_backlog:0", c.Call("INFO", "memory").Text);
        using var replica = fx.Connect();
        replica.Send("SYNC");
        replica.ReadRdbTransfer();
        c.Call("SET", "k", "v");
        // As Redis 7.0: the backlog is the shared buffer's blocks, one so far, not its configured size.
        long buffers = long.Parse(InfoField(c, "mem_total_replication_buffers", "memory"));
        Assert.InRange(buffers, 16 * 1024, 64 * 1024);
        Assert.Equal(buffers.ToString(), InfoField(c, "mem_replication_backlog", "memory"));
        long histlen = long.Parse(InfoField(c, "repl_backlog_histlen"));
        Assert.True(histlen > 0);
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-backlog-size", "2mb"));
        Assert.Equal("2097152", InfoField(c, "repl_backlog_size"));
        Assert.Equal(histlen, long.Parse(InfoField(c, "repl_backlog_histlen"))); // the history survives
        Assert.Equal(buffers.ToString(), InfoField(c, "mem_replication_backlog", "memory"));
        Assert.Equal("+OK", c.CallS("SAVE"));
        var saved = File.ReadAllBytes(Path.Combine(fx.Dir, "dump.rdb"));
        Assert.Contains("repl-id", Encoding.Latin1.GetString(saved));
        Assert.Contains(InfoField(c, "master_replid"), Encoding.Latin1.GetString(saved));
    }

    [Fact]
    public void ASecondSyncFromAReplicaIsIgnored()
    {
        using var fx = new ServerFixture();
        using var replica = fx.Connect();
        replica.Send("SYNC");
        replica.ReadRdbTransfer();
        replica.Send("SYNC");
        replica.AssertNoReply(TimeSpan.FromMilliseconds(200));
        using var other = fx.Connect();
        Assert.Contains("connected_slaves:1", other.CallS("INFO", "replication"));
    }
}
