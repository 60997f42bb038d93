// The primary's side of a full synchronisation (replication.c's syncCommand), on redis-server
// 7.0 and on Cinnabar: PSYNC ? -1 is answered with +FULLRESYNC <replid> <offset>, SYNC without
// it, then an RDB of version 10 as "$<len>\r\n<bytes>"; nothing follows until a write, which
// comes after the SELECT of its db; PINGs come every repl-ping-replica-period seconds.
using System.Text;
using System.Text.RegularExpressions;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Replication;

public class ReplicationHandshakeTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    /// <summary>A fresh primary of the named kind; its port.</summary>
    static IDisposable StartPrimary(string primary, out int port)
    {
        if (primary == "redis-server")
        {
            var redis = new RedisServerFixture();
            port = redis.Port;
            return redis;
        }
        var cinnabar = new ServerFixture();
        port = cinnabar.Port;
        return cinnabar;
    }

    static void AssertRdb70(ReplicationStreamReader r)
    {
        Assert.Equal("REDIS0010", Encoding.ASCII.GetString(r.RdbHeader));
        Assert.True(r.RdbLength > 9, $"an RDB payload of {r.RdbLength} bytes has no room for an EOF opcode and checksum");
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("redis-server")]
    [InlineData("cinnabar")]
    public void PsyncWithoutAReplicationIdForcesAFullResyncWithAnRdb(string primary)
    {
        using var server = StartPrimary(primary, out int port);
        using var r = ReplicationStreamReader.Psync(port, Timeout);
        Assert.Matches(new Regex("^\\+FULLRESYNC [0-9a-f]{40} [0-9]+$"), r.FullResync);
        AssertRdb70(r);
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("redis-server", "GET", "foo")]
    [InlineData("cinnabar", "GET", "foo")]
    [InlineData("redis-server", "SLOWLOG", "GET")]
    [InlineData("cinnabar", "SLOWLOG", "GET")]
    public void A_replica_whose_command_generates_a_reply_is_disconnected(string primary, params string[] command)
    {
        using var server = StartPrimary(primary, out int port);
        var log = new StringWriter();
        if (server is ServerFixture fx) fx.Server.Log.Console = TextWriter.Synchronized(log);
        using var c = new RespClient(port);
        using var replica = new RespClient(port);
        replica.Send("PSYNC", "replicationid", "-1");
        Assert.StartsWith("FULLRESYNC ", replica.Read().Text);
        replica.Send(command);
        ReplicationWait.WaitFor(() => ReplicationWait.Info(c, "connected_slaves") == "0", "the replica to be dropped");
        Assert.Equal("+PONG", c.CallS("PING"));
        if (server is not ServerFixture) return;
        string name = command[0].ToLowerInvariant() + (command[0] == "SLOWLOG" ? "|get" : "");
        Assert.Contains($"Replica generated a reply to command '{name}', disconnecting it: id=", log.ToString());
        if (command[0] == "GET")
            Assert.Contains("== CRITICAL == This master is sending an error to its replica: 'Replica can't interact with the keyspace' after processing the command 'get'", log.ToString());
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("redis-server")]
    [InlineData("cinnabar")]
    public void SyncSendsTheRdbWithoutAFullResyncLine(string primary)
    {
        using var server = StartPrimary(primary, out int port);
        using var r = ReplicationStreamReader.Sync(port, Timeout);
        Assert.Null(r.FullResync);
        AssertRdb70(r);
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("redis-server")]
    [InlineData("cinnabar")]
    public void TheStreamIsSilentUntilAWriteWhichFollowsTheSelectOfItsDb(string primary)
    {
        using var server = StartPrimary(primary, out int port);
        using var c = new RespClient(port);
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-ping-replica-period", "3600"));
        using var r = ReplicationStreamReader.Psync(port, Timeout);
        Assert.Empty(r.ReadQuiet(TimeSpan.FromMilliseconds(300)));
        Assert.Equal("+OK", c.CallS("SELECT", "3"));
        Assert.Equal("$nil", c.CallS("GET", "k")); // a read propagates nothing
        Assert.Equal("+OK", c.CallS("set", "k", "v"));
        Assert.Equal("+OK", c.CallS("SET", "k2", "v2"));
        var stream = r.ReadUntil(cmd => cmd.Arg(1) == "k2", Timeout);
        Assert.Equal("*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n",
            Encoding.Latin1.GetString(stream.SelectMany(cmd => cmd.Raw).ToArray()));
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("redis-server")]
    [InlineData("cinnabar")]
    public void LowerCasePingsArriveEveryReplPingReplicaPeriodWithoutASelect(string primary)
    {
        using var server = StartPrimary(primary, out int port);
        using var c = new RespClient(port);
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-ping-replica-period", "1"));
        using var r = ReplicationStreamReader.Sync(port, Timeout);
        var first = r.ReadUntil(cmd => true, TimeSpan.FromSeconds(3));
        // Redis's shared ping object is lower case.
        Assert.Equal("*1\r\n$4\r\nping\r\n", Encoding.Latin1.GetString(first[0].Raw));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var two = r.ReadUntil(cmd => r.Commands.Count == 2, TimeSpan.FromSeconds(3));
        Assert.Equal("ping", two[1].Name);
        Assert.InRange(sw.ElapsedMilliseconds, 500, 1600);
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("redis-server")]
    [InlineData("cinnabar")]
    public void ReplconfOptionsOfAReplicaAreAccepted(string primary)
    {
        using var server = StartPrimary(primary, out int port);
        using var c = new RespClient(port);
        Assert.Equal("+OK", c.CallS("REPLCONF", "listening-port", "6380"));
        Assert.Equal("+OK", c.CallS("REPLCONF", "capa", "eof", "capa", "psync2"));
        Assert.Equal("+OK", c.CallS("REPLCONF", "rdb-filter-only", ""));
    }
}
