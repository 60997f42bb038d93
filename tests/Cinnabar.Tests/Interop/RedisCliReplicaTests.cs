// Interop with `redis-cli --replica`: it attaches as a replica (REPLCONF capa eof, REPLCONF
// rdb-filter-only "", an inline SYNC), discards the RDB and prints every propagated command
// as a CSV line. Cinnabar and redis-server both send the diskless EOF-marked form, so redis-cli
// prints the same lines for both.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Interop;

public class RedisCliReplicaTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // What redis-cli prints for the writes of Writes(), one line per propagated command.
    static readonly string[] ExpectedStdout =
    [
        "\"SELECT\",\"0\"",
        "\"set\",\"k\",\"v x\"",
        "\"SELECT\",\"2\"",
        "\"rpush\",\"l\\\"q\",\"a\\nb\"",
        "\"SELECT\",\"0\"",
        "\"SET\",\"f\",\"1.5\",\"KEEPTTL\"",
        "\"DEL\",\"k\"",
    ];

    static void Writes(int port)
    {
        using var c = new RespClient(port);
        Assert.Equal("+OK", c.CallS("set", "k", "v x"));
        Assert.Equal("+OK", c.CallS("SELECT", "2"));
        Assert.Equal(":1", c.CallS("rpush", "l\"q", "a\nb"));
        Assert.Equal("+OK", c.CallS("SELECT", "0"));
        Assert.Equal("\"1.5\"", c.CallS("INCRBYFLOAT", "f", "1.5"));
        Assert.Equal("\"v x\"", c.CallS("GETDEL", "k"));
    }

    /// <summary>Runs redis-cli --replica until it logs, performs the writes and returns its output once it printed them all.</summary>
    static BackgroundTool Replica(int port, string readyLine, int expectedLines)
    {
        var cli = new BackgroundTool("redis-cli", ["-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--replica"]);
        Assert.True(cli.WaitFor((_, err) => err.Contains(readyLine), Timeout), "redis-cli did not start logging:\n" + cli);
        Writes(port);
        Assert.True(cli.WaitFor((o, _) => o.Length >= expectedLines, Timeout), "redis-cli did not print every command:\n" + cli);
        return cli;
    }

    /// <summary>
    /// redis-cli asks for a diskless (EOF-marked) RDB; with no delay the primary sends it at once.
    /// redis-cli sends REPLCONF ACK 0 a second after it and the primary streams from then on;
    /// redis-cli then waits for a reply to the ACK, which has none: the stream's first command
    /// (the SELECT 0) is read as that reply and never printed. Both servers must show exactly that.
    /// </summary>
    static void AssertReplicaMode(int port)
    {
        using (var c = new RespClient(port))
        {
            Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-diskless-sync-delay", "0"));
            Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-ping-replica-period", "3600"));
        }
        using var cli = Replica(port, "sending REPLCONF ACK 0", ExpectedStdout.Length - 1);
        Assert.Equal(ExpectedStdout[1..], cli.Stdout);
        Assert.Equal("sending REPLCONF capa eof", cli.Stderr[0]);
        Assert.Equal("sending REPLCONF rdb-filter-only ", cli.Stderr[1]);
        Assert.Equal("SYNC with master, discarding bytes of bulk transfer until EOF marker...", cli.Stderr[2]);
        Assert.Matches("^SYNC done after [0-9]+ bytes\\. Logging commands from master\\.$", cli.Stderr[3]);
        Assert.Equal("sending REPLCONF ACK 0", cli.Stderr[4]);
    }

    [RequiresToolsFact("redis-cli", "redis-server")]
    public void ReplicaModeLogsRedisServersStreamAsCsv()
    {
        using var redis = new RedisServerFixture();
        AssertReplicaMode(redis.Port);
    }

    [RequiresToolsFact("redis-cli")]
    public void ReplicaModeLogsCinnabarsStreamAsCsv()
    {
        using var fx = new ServerFixture();
        AssertReplicaMode(fx.Port);
    }
}
