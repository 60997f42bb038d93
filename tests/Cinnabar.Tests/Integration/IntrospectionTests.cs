// Integration tests for the introspection and administration commands: COMMAND, CONFIG,
// SLOWLOG, INFO, DEBUG, TIME, LASTSAVE and SHUTDOWN, over a real socket.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Integration;

public class IntrospectionTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void InfoGcReportsCollectionsOnlyWhenAskedFor()
    {
        using var c = fx.Connect();
        GC.Collect(0); // the server runs in this process: a collection must show in its counters
        string gc = c.Call("INFO", "gc").Text!;
        Assert.StartsWith("# Gc\r\n", gc);
        long gen0 = long.Parse(gc.Split("\r\n").Single(l => l.StartsWith("gc_gen0_collections:", StringComparison.Ordinal)).Split(':')[1]);
        Assert.True(gen0 >= 1, gc);
        Assert.Contains("gc_pause_total_ms:", gc);
        // INFO everything stays Redis's exact set of sections.
        Assert.DoesNotContain("gc_", c.Call("INFO", "everything").Text!);
    }

    [Fact]
    public void CommandCountMatchesImplementedTopLevelCommands()
    {
        using var c = fx.Connect();
        long count = c.Call("COMMAND", "COUNT").Integer;
        Assert.Equal(fx.Server.Commands.Implemented.Count(), count);
        Assert.Equal(count, c.Call("COMMAND").Items!.Count);
    }

    [Fact]
    public void CommandInfoReturnsRedisEntryAndNullForUnknown()
    {
        using var c = fx.Connect();
        var r = c.Call("COMMAND", "INFO", "get", "nosuchcommand");
        Assert.Equal("\"get\"", r.Items![0].Items![0].ToString());
        Assert.Equal(":2", r.Items[0].Items![1].ToString());
        Assert.True(r.Items[1].IsNull);
    }

    [Fact]
    public void CommandInfoOfSubcommandByPipeName()
    {
        using var c = fx.Connect();
        var r = c.Call("COMMAND", "INFO", "config|get");
        Assert.Equal("\"config|get\"", r.Items![0].Items![0].ToString());
    }

    [Fact]
    public void CommandDocsOmitsUnknownNames()
    {
        using var c = fx.Connect();
        var r = c.Call("COMMAND", "DOCS", "get", "nosuchcommand");
        Assert.Equal(2, r.Items!.Count);
        Assert.Equal("\"get\"", r.Items[0].ToString());
    }

    [Fact]
    public void CommandGetKeysOverTheSocket()
    {
        using var c = fx.Connect();
        Assert.Equal("*[\"k\"]", c.CallS("COMMAND", "GETKEYS", "GET", "k"));
        Assert.Equal("*[*[\"k\", *[+OW, +update]]]", c.CallS("COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v"));
        Assert.Equal("*[*[\"k\", *[+RW, +access, +update]]]", c.CallS("COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v", "GET"));
        Assert.Equal("-ERR Invalid command specified", c.CallS("COMMAND", "GETKEYS", "nosuch", "a"));
        Assert.Equal("-ERR Invalid number of arguments specified for command", c.CallS("COMMAND", "GETKEYS", "SET", "a"));
        Assert.Equal("-ERR The command has no key arguments", c.CallS("COMMAND", "GETKEYS", "CONFIG", "GET", "x"));
        Assert.Equal("-ERR The command has no key arguments", c.CallS("COMMAND", "GETKEYS", "PING", "x"));
    }

    [Fact]
    public void CommandListFiltersByPatternAndAclCategory()
    {
        using var c = fx.Connect();
        var names = c.Call("COMMAND", "LIST", "FILTERBY", "PATTERN", "config*").Items!.Select(i => i.Text).ToHashSet();
        Assert.Contains("config", names);
        Assert.Contains("config|get", names);
        var admin = c.Call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "admin").Items!.Select(i => i.Text).ToHashSet();
        Assert.Contains("config|set", admin);
        Assert.DoesNotContain("get", admin);
        Assert.Equal("*[]", c.CallS("COMMAND", "LIST", "FILTERBY", "MODULE", "x"));
        Assert.Equal("-ERR syntax error", c.CallS("COMMAND", "LIST", "FILTERBY", "x", "y"));
    }

    [Fact]
    public void ConfigSetIsAllOrNothing()
    {
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "maxmemory-samples", "7"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive",
            c.CallS("CONFIG", "SET", "maxmemory-samples", "9", "hz", "-1"));
        Assert.Equal("*[\"maxmemory-samples\", \"7\"]", c.CallS("CONFIG", "GET", "maxmemory-samples"));
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "maxmemory-samples", "5"));
    }

    [Fact]
    public void ConfigSetErrorsMatchRedis()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR Unknown option or number of arguments for CONFIG SET - 'foo'", c.CallS("CONFIG", "SET", "hz", "5", "foo", "1"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config", c.CallS("CONFIG", "SET", "daemonize", "yes"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config", c.CallS("CONFIG", "SET", "dir", "/tmp"));
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter", c.CallS("CONFIG", "SET", "maxmemory", "1", "maxmemory", "2"));
        Assert.Equal("-ERR syntax error", c.CallS("CONFIG", "SET", "hz", "5", "maxmemory"));
        Assert.Equal("*[\"hz\", \"10\"]", c.CallS("CONFIG", "GET", "hz"));
    }

    [Fact]
    public void ConfigGetAcceptsAliasesAndSeveralPatterns()
    {
        using var c = fx.Connect();
        Assert.Equal("*[\"slave-read-only\", \"yes\", \"hash-max-ziplist-entries\", \"512\"]",
            c.CallS("CONFIG", "GET", "slave-read-only", "hash-max-ziplist-entries"));
        var all = c.Call("CONFIG", "GET", "*").Items!;
        Assert.True(all.Count / 2 >= 190);
        Assert.DoesNotContain(all, i => i.Text == "use-exit-on-panic"); // hidden: exact name only
        Assert.Equal("*[\"use-exit-on-panic\", \"no\"]", c.CallS("CONFIG", "GET", "use-exit-on-panic"));
    }

    [Fact]
    public void ConfigRewriteWithoutFileFails()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR The server is running without a config file", c.CallS("CONFIG", "REWRITE"));
    }

    [Fact]
    public void InfoHasRedisSectionsAndVersion()
    {
        using var c = fx.Connect();
        string info = c.Call("INFO").Text!;
        Assert.Contains("# Server\r\nredis_version:7.0.15\r\n", info);
        Assert.Contains("\r\n# Keyspace\r\n", info);
        Assert.DoesNotContain("# Commandstats", info);
        string everything = c.Call("INFO", "everything").Text!;
        foreach (var s in new[] { "Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace" })
            Assert.Contains("# " + s + "\r\n", everything);
        Assert.Equal("", c.Call("INFO", "nosuchsection").Text);
    }

    [Fact]
    public void InfoCommandstatsCountsSubcommandsAndFailures()
    {
        using var c = fx.Connect();
        c.Call("CONFIG", "GET", "hz");
        c.Call("CONFIG", "SET", "hz", "abc");
        string stats = c.Call("INFO", "commandstats").Text!;
        Assert.Matches(@"cmdstat_config\|get:calls=\d+,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=\d+,failed_calls=\d+\r\n", stats);
        Assert.Matches(@"cmdstat_config\|set:calls=\d+,usec=\d+,usec_per_call=[\d.]+,rejected_calls=\d+,failed_calls=[1-9]", stats);
        Assert.Matches(@"errorstat_ERR:count=[1-9]", c.Call("INFO", "errorstats").Text!);
    }

    [Fact]
    public void SlowlogRecordsTruncatedArguments()
    {
        using var server = new ServerFixture(cfg => cfg.Set("slowlog-log-slower-than", "0", startup: true));
        using var c = server.Connect();
        Assert.Equal("+OK", c.CallS("SLOWLOG", "RESET"));
        c.Call("ECHO", new string('x', 200));
        var entry = c.Call("SLOWLOG", "GET", "1").Items![0];
        Assert.Equal(6, entry.Items!.Count);
        var logged = entry.Items[3].Items!;
        Assert.Equal(new string('x', 128) + "... (72 more bytes)", logged[1].Text);
        var many = new[] { "SET", "k", "v" }.Concat(Enumerable.Range(0, 40).Select(i => "x" + i)).ToArray();
        c.Call(many);
        var last = c.Call("SLOWLOG", "GET", "1").Items![0].Items![3].Items!;
        Assert.Equal(32, last.Count);
        Assert.Equal("... (12 more arguments)", last[31].Text);
        Assert.True(c.Call("SLOWLOG", "LEN").Integer >= 2);
        Assert.Equal("-ERR count should be greater than or equal to -1", c.CallS("SLOWLOG", "GET", "-2"));
    }

    [Fact]
    public void SlowlogRedactsPasswordsAndSensitiveConfigValues()
    {
        using var server = new ServerFixture(cfg => cfg.Set("slowlog-log-slower-than", "0", startup: true));
        using var c = server.Connect();
        c.Call("SLOWLOG", "RESET");
        c.Call("CONFIG", "SET", "masterauth", "secret", "maxmemory-samples", "5");
        c.Call("ACL", "SETUSER", "slow-u", ">pw", "+get");
        c.Call("AUTH", "slow-u", "pw");
        var entries = c.Call("SLOWLOG", "GET", "3").Items!;
        string Args(int i) => string.Join(' ', entries[i].Items![3].Items!.Select(a => a.Text));
        Assert.Equal("AUTH (redacted) (redacted)", Args(0));
        Assert.Equal("ACL SETUSER (redacted) (redacted) (redacted)", Args(1));
        Assert.Equal("CONFIG SET masterauth (redacted) maxmemory-samples 5", Args(2));
    }

    [Fact]
    public void SlowlogIgnoresFastCommandsByDefault()
    {
        using var c = fx.Connect();
        c.Call("SLOWLOG", "RESET");
        c.Call("PING");
        Assert.Equal(":0", c.CallS("SLOWLOG", "LEN"));
    }

    [Fact]
    public void DebugObjectShowsEncodingAndSerializedLength()
    {
        using var c = fx.Connect();
        c.Call("SET", "dbg:s", "hello");
        c.Call("SET", "dbg:n", "123");
        Assert.Matches(@"^\+Value at:0x[0-9a-f]+ refcount:1 encoding:embstr serializedlength:6 lru:\d+ lru_seconds_idle:\d+$", c.CallS("DEBUG", "OBJECT", "dbg:s"));
        Assert.Matches(@"refcount:2147483647 encoding:int serializedlength:2 ", c.CallS("DEBUG", "OBJECT", "dbg:n"));
        Assert.Equal("-ERR no such key", c.CallS("DEBUG", "OBJECT", "dbg:none"));
    }

    [Fact]
    public void DebugDigestChangesWithContentAndIsStable()
    {
        using var c = fx.Connect();
        c.Call("SET", "dig:a", "1");
        string d1 = c.Call("DEBUG", "DIGEST").Text!;
        Assert.Equal(d1, c.Call("DEBUG", "DIGEST").Text);
        c.Call("SET", "dig:a", "2");
        Assert.NotEqual(d1, c.Call("DEBUG", "DIGEST").Text);
        Assert.Equal(new string('0', 40), c.Call("DEBUG", "DIGEST-VALUE", "dig:none").Items![0].Text);
    }

    [Fact]
    public void DebugProtocolAndError()
    {
        using var c = fx.Connect();
        Assert.Equal("-foo bar", c.CallS("DEBUG", "ERROR", "foo bar"));
        Assert.Equal("*[:0, :0, :1, :1, :2, :0]", c.CallS("DEBUG", "PROTOCOL", "map"));
        Assert.Equal("-ERR RESP2 is not supported by this command", c.CallS("DEBUG", "PROTOCOL", "push"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.", c.CallS("DEBUG", "nosuch"));
    }

    [Fact]
    public void DebugIsRejectedWhenNotEnabled()
    {
        using var server = new ServerFixture(cfg => cfg.Set("enable-debug-command", "no", startup: true));
        using var c = server.Connect();
        Assert.Equal("-ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            c.CallS("DEBUG", "HELP"));
    }

    [Fact]
    public void TimeAndLastsave()
    {
        using var c = fx.Connect();
        var t = c.Call("TIME").Items!;
        long secs = long.Parse(t[0].Text!);
        Assert.InRange(secs, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
        Assert.InRange(long.Parse(t[1].Text!), 0, 999_999);
        Assert.InRange(c.Call("LASTSAVE").Integer, secs - 3600, secs);
    }

    [Fact]
    public void ShutdownStopsTheServer()
    {
        var server = new ServerFixture(null);
        using var c = server.Connect();
        Assert.Equal("-ERR syntax error", c.CallS("SHUTDOWN", "SAVE", "NOSAVE"));
        Assert.Equal("-ERR No shutdown in progress.", c.CallS("SHUTDOWN", "ABORT"));
        c.Send("SHUTDOWN", "NOSAVE");
        Assert.True(c.IsClosedByServer());
        server.Server.WaitForShutdown();
        server.Dispose();
    }
}
