// The AOF rewrite of streams (aof.c's rewriteStreamObject): a command base holds exactly the
// commands redis-server 7.0.15's own rewrite writes for the same streams (XADD per entry, XSETID,
// XGROUP CREATE, XGROUP CREATECONSUMER, XCLAIM ... FORCE), byte for byte; redis-check-aof accepts
// it; a restart from it rebuilds the streams redis-server rebuilds from its file; an RDB-preamble
// base keeps streams with their groups.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Persistence.AofData;
using static Cinnabar.Tests.Support.StreamHistories;

namespace Cinnabar.Tests.Persistence;

[Collection(RedisServerCollection.Name)]
public sealed class StreamAofRewriteTests(RedisServerFixture redis) : IDisposable
{
    readonly string _dir = NewDir();

    public void Dispose() => DeleteDir(_dir);

    /// <summary>The one base file, once the rewrite's history files are gone (they are deleted in the background, as Redis's bio does).</summary>
    static string BaseFile(string dir)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        string[] files;
        while ((files = Directory.GetFiles(Path.Combine(dir, "appendonlydir"), "*.base.aof")).Length > 1 && sw.ElapsedMilliseconds < 5000) Thread.Sleep(10);
        return files.Single();
    }

    /// <summary>Cinnabar's command base after a BGREWRITEAOF of what fill builds.</summary>
    static byte[] CinnabarRewrite(string dir, Action<RespClient> fill)
    {
        using var s = new AofServer(dir, "aof-use-rdb-preamble", "no");
        using var c = s.Connect();
        fill(c);
        Assert.Equal("+Background append only file rewriting started", c.CallS("BGREWRITEAOF"));
        WaitRewrite(c);
        return File.ReadAllBytes(BaseFile(dir));
    }

    /// <summary>
    /// redis-server's command base for what fill builds (CONFIG SET appendonly yes writes it), and
    /// the DUMP of keys after redis-server reloads the dataset from that file (DEBUG LOADAOF).
    /// </summary>
    static (byte[] Base, List<string> Reloaded) RedisRewrite(string dir, Action<RespClient> fill, IEnumerable<(int Db, string Key)> keys)
    {
        using var r0 = new RedisServerFixture(dir);
        using var r = r0.Connect();
        fill(r);
        r.Call("CONFIG", "SET", "aof-use-rdb-preamble", "no");
        Assert.Equal("+OK", r.CallS("CONFIG", "SET", "appendonly", "yes"));
        WaitRewrite(r);
        var file = File.ReadAllBytes(BaseFile(dir));
        Assert.Equal("+OK", r.CallS("DEBUG", "LOADAOF"));
        return (file, Dumps(r, keys));
    }

    static List<string> Dumps(RespClient c, IEnumerable<(int Db, string Key)> keys)
    {
        var dumps = new List<string>();
        foreach (var (db, key) in keys)
        {
            c.Call("SELECT", db.ToString());
            dumps.Add(c.Call("DUMP", key).Text ?? $"db {db} {key} missing");
        }
        c.Call("SELECT", "0");
        return dumps;
    }

    static string Text(byte[] file) => System.Text.Encoding.Latin1.GetString(file);

    [RequiresToolsFact("redis-server", "redis-check-aof")]
    public void TheRewriteOfStreamsIsRedisServersAndRestartsToTheStreamsRedisServerRebuilds()
    {
        // Each history in its own db, so both files list the keys in the same order.
        var keys = Plain.Keys.Select((_, i) => (i, "s")).ToList();
        void Fill(RespClient c)
        {
            int db = 0;
            foreach (var name in Plain.Keys)
            {
                c.Call("SELECT", (db++).ToString());
                Build(c, name);
            }
            c.Call("SELECT", "0");
        }
        var (expectedBase, reloaded) = RedisRewrite(Path.Combine(_dir, "redis"), Fill, keys);
        var cinnabarDir = Path.Combine(_dir, "cinnabar");
        Directory.CreateDirectory(cinnabarDir);
        Assert.Equal(Text(expectedBase), Text(CinnabarRewrite(cinnabarDir, Fill)));

        var check = ToolProcess.Run("redis-check-aof", [Path.Combine(cinnabarDir, "appendonlydir", "appendonly.aof.manifest")]);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("All AOF files and manifest are valid", check.Stdout);

        // Restarted from the rewrite: the streams redis-server rebuilt from its (identical) file,
        // metadata included (the tombstones and emptied nodes are gone on both).
        using var s = new AofServer(cinnabarDir, "aof-use-rdb-preamble", "no");
        using var c = s.Connect();
        Assert.Equal(reloaded, Dumps(c, keys));
    }

    [RequiresToolsFact("redis-server", "redis-check-aof")]
    public void TheRewriteOfStreamsWithGroupsIsRedisServersByteForByte()
    {
        // Cinnabar has no XGROUP/XCLAIM to build groups with: the streams come from redis-server
        // as DUMP payloads, restored on both sides (g in db 0, g:empty in db 1).
        string g, empty;
        using (var r = redis.Connect())
        {
            r.Call("DEL", "g", "g:empty");
            Run(r, Groups("g"));
            g = r.Call("DUMP", "g").Text!;
            empty = r.Call("DUMP", "g:empty").Text!;
            r.Call("DEL", "g", "g:empty");
        }
        void Fill(RespClient c)
        {
            Assert.Equal("OK", c.Call("RESTORE", "g", "0", g).Text);
            c.Call("SELECT", "1");
            Assert.Equal("OK", c.Call("RESTORE", "g:empty", "0", empty).Text);
            c.Call("SELECT", "0");
        }
        var (expectedBase, _) = RedisRewrite(Path.Combine(_dir, "redis"), Fill, []);
        var cinnabarDir = Path.Combine(_dir, "cinnabar");
        Directory.CreateDirectory(cinnabarDir);
        var file = CinnabarRewrite(cinnabarDir, Fill);
        Assert.Equal(Text(expectedBase), Text(file));
        Assert.Contains("XCLAIM", Text(file));
        Assert.Contains("CREATECONSUMER", Text(file));

        var check = ToolProcess.Run("redis-check-aof", [Path.Combine(cinnabarDir, "appendonlydir", "appendonly.aof.manifest")]);
        Assert.True(check.ExitCode == 0, check.ToString());
    }

    [Fact]
    public void TheRewriteOfAStreamIsTheseCommands()
    {
        var file = CinnabarRewrite(_dir, c =>
        {
            Assert.Equal("OK", c.Call("RESTORE", "k", "0", HandBuilt().Serialize()).Text);
            c.Call("XADD", "e", "MAXLEN", "0", "7-7", "a", "b"); // empty, last ID 7-7
        });
        static string Cmd(params string[] args) => string.Concat(args.Select(a => $"${a.Length}\r\n{a}\r\n").Prepend($"*{args.Length}\r\n"));
        string k = string.Concat(
            Cmd("XADD", "k", "1-1", "f", "a"),
            Cmd("XADD", "k", "1-2", "f", "b"),
            Cmd("XSETID", "k", "1-2", "ENTRIESADDED", "2", "MAXDELETEDID", "0-0"),
            Cmd("XGROUP", "CREATE", "k", "g", "1-2", "ENTRIESREAD", "2"),
            Cmd("XCLAIM", "k", "g", "alice", "0", "1-1", "TIME", "1700000000000", "RETRYCOUNT", "3", "JUSTID", "FORCE"),
            Cmd("XGROUP", "CREATECONSUMER", "k", "g", "bob"));
        string e = string.Concat(
            Cmd("XADD", "e", "MAXLEN", "0", "0-1", "x", "y"),
            Cmd("XSETID", "e", "7-7", "ENTRIESADDED", "1", "MAXDELETEDID", "0-0"));
        string text = Text(file);
        Assert.StartsWith(Cmd("SELECT", "0"), text);
        Assert.True(text == Cmd("SELECT", "0") + k + e || text == Cmd("SELECT", "0") + e + k, text);
    }

    [Fact]
    public void AnRdbPreambleRewriteKeepsStreamsWithTheirGroups()
    {
        string before;
        using (var s = new AofServer(_dir, "aof-use-rdb-preamble", "yes"))
        {
            using var c = s.Connect();
            Assert.Equal("OK", c.Call("RESTORE", "k", "0", HandBuilt().Serialize()).Text);
            Build(c, "multi-node-mixed");
            c.Call("BGREWRITEAOF");
            WaitRewrite(c);
            Assert.EndsWith(".base.rdb", Directory.GetFiles(Path.Combine(_dir, "appendonlydir"), "*.base.*").Single());
            c.Call("XADD", "k", "2-0", "after", "rewrite"); // into the incr file
            before = c.Call("DUMP", "k").Text! + c.Call("DUMP", "s").Text!;
        }
        using (var s = new AofServer(_dir, "aof-use-rdb-preamble", "yes"))
        {
            using var c = s.Connect();
            Assert.Equal(before, c.Call("DUMP", "k").Text! + c.Call("DUMP", "s").Text!);
        }
    }

    [Fact]
    public void AStreamWithGroupsSurvivesACommandRewriteAndRestart()
    {
        string before;
        using (var s = new AofServer(_dir, "aof-use-rdb-preamble", "no"))
        {
            using var c = s.Connect();
            Assert.Equal("OK", c.Call("RESTORE", "k", "0", HandBuilt().Serialize()).Text);
            c.Call("BGREWRITEAOF");
            WaitRewrite(c);
            before = StreamPayload.MaskTimes(c.Call("DUMP", "k").Text!);
        }
        using (var s = new AofServer(_dir, "aof-use-rdb-preamble", "no"))
        {
            using var c = s.Connect();
            // XCLAIM and XGROUP CREATECONSUMER stamp the consumers' seen time with the load time.
            Assert.Equal(before, StreamPayload.MaskTimes(c.Call("DUMP", "k").Text!));
        }
    }
}
