// REPLCONF rdb-only and rdb-filter-only, what `redis-cli --rdb` and `--functions-rdb` send: an
// rdb-only replica gets its full sync's RDB and nothing else (no stream, never online) and is
// closed once the transfer is out; a filtered one (rdb-filter-only functions) gets an RDB of the
// AUX fields and the libraries without keys, always streamed to its socket (never written over
// dbfilename), from a snapshot it shares only with replicas asking for the same filter.
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Replication;

public class RdbOnlySyncTests
{
    static readonly TimeSpan CliTimeout = TimeSpan.FromSeconds(30);

    const string Library = "#!lua name=lib1\nredis.register_function('func1', function() return 123 end)";

    static string Info(RespClient c, string section, string field) =>
        c.Call("INFO", section).Text!.Split("\r\n").First(l => l.StartsWith(field + ":"))[(field.Length + 1)..];

    static ServerFixture Primary(string disklessSync)
    {
        var fx = new ServerFixture(cfg => cfg.Set("save", "", startup: true));
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-diskless-sync", disklessSync));
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "repl-diskless-sync-delay", "0"));
        Assert.Equal("+OK", c.CallS("DEBUG", "POPULATE", "1000"));
        Assert.Equal("\"lib1\"", c.CallS("FUNCTION", "LOAD", Library));
        return fx;
    }

    /// <summary>Runs redis-cli --rdb or --functions-rdb into fx.Dir/cli.rdb; returns the file's path.</summary>
    static string DumpWithCli(ServerFixture fx, string option)
    {
        string path = Path.Combine(fx.Dir, "cli.rdb");
        var r = ToolProcess.Run("redis-cli", ["-p", fx.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), option, path], timeout: CliTimeout);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("Transfer finished with success", r.Stderr);
        return path;
    }

    /// <summary>The test's steps (test_redis_cli_rdb_dump): the dump becomes dump.rdb, writes made since are dropped by DEBUG RELOAD NOSAVE.</summary>
    static void ReloadFrom(ServerFixture fx, string path, RespClient c)
    {
        File.Move(path, Path.Combine(fx.Dir, "dump.rdb"), overwrite: true);
        Assert.Equal("+OK", c.CallS("SET", "should-not-exist", "1"));
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD", "NOSAVE"));
        Assert.True(c.Call("GET", "should-not-exist").IsNull);
        var libraries = c.Call("FUNCTION", "LIST").Items!;
        Assert.Equal("lib1", Assert.Single(libraries).Items![1].Text);
    }

    static ToolResult CheckRdb(string path)
    {
        var check = ToolProcess.Run("redis-check-rdb", [path]);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("RDB looks OK", check.Stdout);
        return check;
    }

    [RequiresToolsTheory("redis-cli", "redis-check-rdb")]
    [InlineData("no")]
    [InlineData("yes")]
    public void Functions_rdb_dumps_the_libraries_and_no_keys(string disklessSync)
    {
        using var fx = Primary(disklessSync);
        using var c = fx.Connect();
        string path = DumpWithCli(fx, "--functions-rdb");
        var check = CheckRdb(path);
        Assert.Contains("[info] 0 keys read", check.Stdout);
        Assert.Contains("AUX FIELD repl-id", check.Stdout);
        Assert.DoesNotContain("Selecting DB ID", check.Stdout);
        Assert.Contains("lib1", Encoding.Latin1.GetString(File.ReadAllBytes(path)));
        ReloadFrom(fx, path, c);
        Assert.Equal(":0", c.CallS("DBSIZE"));
        Assert.Equal("0", Info(c, "replication", "connected_slaves"));
    }

    [RequiresToolsTheory("redis-cli", "redis-check-rdb")]
    [InlineData("no")]
    [InlineData("yes")]
    public void Rdb_dumps_every_key_and_the_libraries(string disklessSync)
    {
        using var fx = Primary(disklessSync);
        using var c = fx.Connect();
        string path = DumpWithCli(fx, "--rdb");
        Assert.Contains("[info] 1000 keys read", CheckRdb(path).Stdout);
        ReloadFrom(fx, path, c);
        Assert.Equal(":1000", c.CallS("DBSIZE"));
    }

    [Fact]
    public void Replconf_rdb_options_reply_as_redis()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Assert.Equal("-ERR Unsupported rdb-filter-only option: bogus", c.CallS("REPLCONF", "rdb-filter-only", "bogus"));
        Assert.Equal("-ERR Unsupported rdb-filter-only option: bogus", c.CallS("REPLCONF", "rdb-filter-only", "functions bogus"));
        Assert.Equal("-ERR Missing rdb-filter-only values", c.CallS("REPLCONF", "rdb-filter-only", "\"functions"));
        Assert.Equal("+OK", c.CallS("REPLCONF", "rdb-filter-only", "FUNCTIONS"));
        Assert.Equal("+OK", c.CallS("REPLCONF", "rdb-filter-only", ""));
        Assert.Equal("-ERR value is out of range, value must between 0 and 1", c.CallS("REPLCONF", "rdb-only", "2"));
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("REPLCONF", "rdb-only", "x"));
        Assert.Equal("+OK", c.CallS("REPLCONF", "rdb-only", "1", "rdb-only", "0"));
    }

    [Fact]
    public void A_filtered_replica_without_capa_eof_is_refused()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("REPLCONF", "rdb-filter-only", "functions"));
        Assert.Equal("-ERR Filtered replica requires EOF capability", c.CallS("SYNC"));
        Assert.Equal("0", Info(c, "replication", "connected_slaves"));
    }

    [Fact]
    public void An_empty_filter_sends_an_rdb_without_keys_or_libraries()
    {
        using var fx = Primary("no");
        using var replica = fx.Connect();
        Assert.Equal("+OK", replica.CallS("REPLCONF", "capa", "eof", "rdb-filter-only", ""));
        replica.Send("SYNC");
        var rdb = Encoding.Latin1.GetString(replica.ReadRdbTransfer());
        Assert.StartsWith("REDIS0010", rdb);
        Assert.Contains("repl-offset", rdb);
        Assert.DoesNotContain("lib1", rdb);
        Assert.DoesNotContain("key:", rdb);
    }

    /// <summary>
    /// The snapshot is slowed so the replica can be seen waiting for it; a write made meanwhile
    /// would be the stream of an ordinary replica: the rdb-only one gets the RDB, then the
    /// connection closes, and it is never an online replica (INFO, WAIT).
    /// </summary>
    [Theory]
    [InlineData("no")]
    [InlineData("yes")]
    public void An_rdb_only_replica_is_closed_after_the_transfer_and_never_online(string disklessSync)
    {
        using var fx = Primary(disklessSync);
        using var writer = fx.Connect();
        writer.Call("CONFIG", "SET", "rdb-key-save-delay", "500"); // about 0.5 s of walk
        using var replica = fx.Connect();
        Assert.Equal("+OK", replica.CallS("REPLCONF", "capa", "eof", "rdb-only", "1"));
        replica.Send("SYNC");
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (Info(writer, "replication", "connected_slaves") != "1" && DateTime.UtcNow < deadline) Thread.Sleep(5);
        Assert.Contains("state=wait_bgsave", writer.CallS("INFO", "replication"));
        writer.Call("SET", "during", "1");
        Assert.Equal(":0", writer.CallS("WAIT", "1", "1"));

        var rdb = Encoding.Latin1.GetString(replica.ReadRdbTransfer());
        Assert.Contains("key:999", rdb);
        Assert.DoesNotContain("during", rdb);
        Assert.True(replica.IsClosedByServer(5000), "the rdb-only replica got more than its RDB");
        deadline = DateTime.UtcNow.AddSeconds(5);
        while (Info(writer, "replication", "connected_slaves") != "0" && DateTime.UtcNow < deadline) Thread.Sleep(5);
        var info = writer.CallS("INFO", "replication");
        Assert.Contains("connected_slaves:0", info);
        Assert.DoesNotContain("state=online", info);
        Assert.Equal(0, fx.Server.Replication.GoodReplicas);
    }

    /// <summary>
    /// slave_req must match for replicas to share a snapshot: while one runs, a filtered replica
    /// and an ordinary one wait; the next snapshot is for the first of them (the filtered one)
    /// alone, and the ordinary one gets a later one, with the keys.
    /// </summary>
    [Fact]
    public void Waiting_replicas_with_different_filters_get_different_snapshots()
    {
        using var fx = Primary("yes");
        using var writer = fx.Connect();
        writer.Call("CONFIG", "SET", "rdb-key-save-delay", "300"); // about 0.3 s per full snapshot
        using var first = fx.Connect();
        Assert.Equal("+OK", first.CallS("REPLCONF", "capa", "eof"));
        first.Send("PSYNC", "?", "-1");
        Assert.StartsWith("FULLRESYNC", first.ReadSkippingKeepalives().Text);
        using var filtered = fx.Connect();
        Assert.Equal("+OK", filtered.CallS("REPLCONF", "capa", "eof", "rdb-filter-only", "functions"));
        filtered.Send("PSYNC", "?", "-1");
        using var full = fx.Connect();
        Assert.Equal("+OK", full.CallS("REPLCONF", "capa", "eof"));
        full.Send("PSYNC", "?", "-1");

        Assert.Contains("key:999", Encoding.Latin1.GetString(first.ReadRdbTransfer()));
        Assert.StartsWith("FULLRESYNC", filtered.ReadSkippingKeepalives().Text);
        var functionsOnly = Encoding.Latin1.GetString(filtered.ReadRdbTransfer());
        Assert.Contains("lib1", functionsOnly);
        Assert.DoesNotContain("key:", functionsOnly);
        Assert.StartsWith("FULLRESYNC", full.ReadSkippingKeepalives().Text);
        var everything = Encoding.Latin1.GetString(full.ReadRdbTransfer());
        Assert.Contains("lib1", everything);
        Assert.Contains("key:999", everything);
    }
}
