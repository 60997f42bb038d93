// Interop with `redis-cli --replica`: it attaches as a replica (REPLCONF capa eof, REPLCONF
// rdb-filter-only "", an inline SYNC), discards the RDB and prints every propagated command
// as a CSV line. The redis-server case pins what redis-cli prints, so the Cinnabar case
// asserts the same lines (the RDB line in its "$<len>" form: Cinnabar sends no EOF marker).
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

    [RequiresToolsFact("redis-cli", "redis-server")]
    public void ReplicaModeLogsRedisServersStreamAsCsv()
    {
        using var redis = new RedisServerFixture();
        using (var c = redis.Connect())
        {
            // redis-cli asks for a diskless (EOF-marked) RDB; without the delay redis-server sends it at once.
            Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-diskless-sync-delay", "0"));
            Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-ping-replica-period", "3600"));
        }
        // With an EOF-marked RDB redis-cli sends REPLCONF ACK 0 a second after it; redis-server streams from then on.
        // redis-cli then waits for a reply to the ACK, which has none: the stream's first command
        // (the SELECT 0) is read as that reply and never printed.
        using var cli = Replica(redis.Port, "sending REPLCONF ACK 0", ExpectedStdout.Length - 1);
        Assert.Equal(ExpectedStdout[1..], cli.Stdout);
        Assert.Equal("sending REPLCONF capa eof", cli.Stderr[0]);
        Assert.Equal("sending REPLCONF rdb-filter-only ", cli.Stderr[1]);
        Assert.Equal("SYNC with master, discarding bytes of bulk transfer until EOF marker...", cli.Stderr[2]);
        Assert.Matches("^SYNC done after [0-9]+ bytes\\. Logging commands from master\\.$", cli.Stderr[3]);
        Assert.Equal("sending REPLCONF ACK 0", cli.Stderr[4]);
    }

    [RequiresToolsFact("redis-cli")]
    public void ReplicaModeLogsCinnabarsStreamAsCsv()
    {
        using var fx = new ServerFixture();
        using (var c = fx.Connect()) Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-ping-replica-period", "3600"));
        using var cli = Replica(fx.Port, "SYNC done. Logging commands from master.", ExpectedStdout.Length);
        Assert.Equal(ExpectedStdout, cli.Stdout);
        Assert.Equal("sending REPLCONF capa eof", cli.Stderr[0]);
        Assert.Equal("sending REPLCONF rdb-filter-only ", cli.Stderr[1]);
        Assert.Matches("^SYNC with master, discarding [0-9]+ bytes of bulk transfer\\.\\.\\.$", cli.Stderr[2]);
        Assert.Equal("SYNC done. Logging commands from master.", cli.Stderr[3]);
        Assert.Equal(4, cli.Stderr.Length);
    }
}
