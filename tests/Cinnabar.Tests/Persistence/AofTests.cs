// The AOF end to end in-process: what a server writes, a restarted server loads (DEBUG DIGEST
// and a full dump equal) in every base format; rewrites at run time keep every write; CONFIG
// SET appendonly; a truncated tail loads or refuses as aof-load-truncated says, a transaction
// cut short is undone, a corrupt file refuses to start; the pre-7.0 single file is upgraded.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Persistence.AofData;

namespace Cinnabar.Tests.Persistence;

public sealed class AofTests : IDisposable
{
    readonly string _dir = NewDir();

    public void Dispose() => DeleteDir(_dir);

    (string Digest, string Dump) Capture(AofServer s)
    {
        using var c = s.Connect();
        return (c.CallS("DEBUG", "DIGEST"), Dump(c));
    }

    [Theory]
    [InlineData("yes", "no")]
    [InlineData("no", "no")]
    [InlineData("yes", "yes")]
    [InlineData("no", "yes")]
    public void WritesSurviveARestartAndARewriteInEveryBaseFormat(string preamble, string timestamps)
    {
        string[] opts = ["aof-use-rdb-preamble", preamble, "aof-timestamp-enabled", timestamps, "appendfsync", "always"];
        (string, string) before;
        using (var s = new AofServer(_dir, opts))
        {
            Assert.Contains("Creating AOF base file appendonly.aof.1.base." + (preamble == "yes" ? "rdb" : "aof") + " on server start", s.Log);
            Assert.Contains("Creating AOF incr file appendonly.aof.1.incr.aof on server start", s.Log);
            using var c = s.Connect();
            Write(c);
            before = Capture(s);
        }
        if (timestamps == "yes") Assert.StartsWith("#TS:", File.ReadAllText(IncrPath(_dir, 1)));
        using (var s = new AofServer(_dir, opts))
        {
            Assert.Contains("DB loaded from incr file appendonly.aof.1.incr.aof", s.Log);
            Assert.Contains("DB loaded from append only file:", s.Log);
            Assert.Equal(before, Capture(s));
            using var c = s.Connect();
            Assert.Equal("+Background append only file rewriting started", c.CallS("BGREWRITEAOF"));
            WaitRewrite(c);
            Write(c, "after:");
            before = Capture(s);
            Assert.Contains("Background AOF rewrite finished successfully", s.Log);
        }
        string ext = preamble == "yes" ? "rdb" : "aof";
        Assert.Equal($"file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n", Manifest(_dir));
        Assert.False(File.Exists(IncrPath(_dir, 1)), "the history incr file is deleted");
        using (var s = new AofServer(_dir, opts))
        {
            Assert.Contains($"DB loaded from base file appendonly.aof.2.base.{ext}", s.Log);
            Assert.Equal(before, Capture(s));
        }
    }

    [RequiresToolsTheory("redis-check-aof")]
    [InlineData("yes", "no")]
    [InlineData("no", "yes")]
    [InlineData("yes", "yes")]
    public void RedisCheckAofAcceptsTheFiles(string preamble, string timestamps)
    {
        using (var s = new AofServer(_dir, "aof-use-rdb-preamble", preamble, "aof-timestamp-enabled", timestamps))
        {
            using var c = s.Connect();
            Write(c);
            c.Call("BGREWRITEAOF");
            WaitRewrite(c);
            Write(c, "tail:");
        }
        var r = ToolProcess.Run("redis-check-aof", [Path.Combine(_dir, "appendonlydir", "appendonly.aof.manifest")]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("All AOF files and manifest are valid", r.Stdout);
    }

    [Fact]
    public void BgrewriteaofWhileClientsWriteKeepsEveryWrite()
    {
        long acked = 0;
        using (var s = new AofServer(_dir))
        {
            using var admin = s.Connect();
            using var writer = s.Connect();
            var stop = false;
            var t = new Thread(() =>
            {
                while (!Volatile.Read(ref stop))
                {
                    writer.Call("INCR", "counter");
                    writer.Call("RPUSH", "list", acked.ToString());
                    acked++;
                }
            });
            t.Start();
            for (int i = 0; i < 5; i++)
            {
                Thread.Sleep(50);
                string reply = admin.CallS("BGREWRITEAOF");
                Assert.True(reply is "+Background append only file rewriting started" or "-ERR Background append only file rewriting already in progress", reply);
                WaitRewrite(admin);
            }
            Volatile.Write(ref stop, true);
            t.Join();
            Assert.Equal("5", Info(admin, "aof_rewrites")); // the base created at start-up is not a background rewrite
        }
        using (var s = new AofServer(_dir))
        {
            using var c = s.Connect();
            Assert.Equal(acked.ToString(), c.Call("GET", "counter").Text);
            Assert.Equal(acked, c.Call("LLEN", "list").Integer);
        }
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("no")]
    public void A_slow_snapshot_base_keeps_the_writes_made_while_it_runs_and_excludes_BGSAVE(string preamble)
    {
        // The base (RDB preamble or commands) is the forkless snapshot: a slow one (rdb-key-save-delay) is
        // provably in progress while clients write, delete and flush; BGSAVE meanwhile is refused
        // or scheduled as with Redis's AOF child; after a restart the dataset is the live one.
        (string, string) live;
        using (var s = new AofServer(_dir, "aof-use-rdb-preamble", preamble))
        {
            using var c = s.Connect();
            c.Call("DEBUG", "POPULATE", "1000");
            c.Call("CONFIG", "SET", "rdb-key-save-delay", "500"); // about 0.5 s of walk
            Assert.Equal("+Background append only file rewriting started", c.CallS("BGREWRITEAOF"));
            Assert.Equal("1", Info(c, "aof_rewrite_in_progress"));
            Assert.Equal("0", Info(c, "rdb_bgsave_in_progress"));
            Assert.Equal("-ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.", c.CallS("BGSAVE"));
            Assert.Equal("+Background saving scheduled", c.CallS("BGSAVE", "SCHEDULE"));
            Assert.Equal("-ERR Background append only file rewriting already in progress", c.CallS("BGREWRITEAOF"));
            c.Call("SET", "key:1", "changed");
            c.Call("DEL", "key:2");
            c.Call("SET", "new", "x");
            c.Call("SELECT", "3");
            c.Call("SET", "in-db3", "y");
            c.Call("SELECT", "0");
            Assert.Equal("1", Info(c, "aof_rewrite_in_progress")); // the writes landed mid-rewrite
            c.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
            WaitRewrite(c);
            Assert.Equal("ok", Info(c, "aof_last_bgrewrite_status"));
            // The scheduled BGSAVE runs once the rewrite is over.
            var sw = System.Diagnostics.Stopwatch.StartNew();
            while (Info(c, "rdb_saves") == "0" && sw.Elapsed.TotalSeconds < 5) Thread.Sleep(20);
            Assert.Equal("1", Info(c, "rdb_saves"));
            live = Capture(s);
        }
        using (var s = new AofServer(_dir, "aof-use-rdb-preamble", preamble))
        {
            Assert.Equal(live, Capture(s));
            using var c = s.Connect();
            Assert.Equal("changed", c.Call("GET", "key:1").Text);
            Assert.True(c.Call("GET", "key:2").IsNull);
        }
    }

    [Fact]
    public void ConfigSetAppendonlyStartsWithARewriteAndStopsCleanly()
    {
        string dump;
        using (var s = new AofServer(_dir, "appendonly", "no"))
        {
            using var c = s.Connect();
            Write(c);
            Assert.Equal("0", Info(c, "aof_enabled"));
            Assert.Equal("+OK", c.CallS("CONFIG", "SET", "appendonly", "yes"));
            WaitRewrite(c);
            Assert.Equal("1", Info(c, "aof_enabled"));
            Assert.Contains("Background AOF rewrite finished successfully", s.Log);
            Assert.Equal("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n", Manifest(_dir));
            c.Call("SET", "after-enable", "1");
            dump = Dump(c);
            Assert.Equal("+OK", c.CallS("CONFIG", "SET", "appendonly", "no"));
            Assert.Equal("0", Info(c, "aof_enabled"));
            c.Call("SET", "after-disable", "1");
        }
        using (var s = new AofServer(_dir))
        {
            using var c = s.Connect();
            Assert.Equal(dump, Dump(c));
        }
    }

    [Fact]
    public void ATruncatedTailLoadsWithAofLoadTruncatedAndTheFileIsCut()
    {
        using (var s = new AofServer(_dir))
        using (var c = s.Connect())
            c.Call("SET", "a", "1");
        long good = new FileInfo(IncrPath(_dir, 1)).Length;
        Append(IncrPath(_dir, 1), "*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1");
        string refused = AofServer.StartFails(_dir, "aof-load-truncated", "no");
        Assert.Contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>.", refused);
        using (var s = new AofServer(_dir))
        {
            Assert.Contains("!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!", s.Log);
            Assert.Contains("AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled", s.Log);
            using var c = s.Connect();
            Assert.Equal("\"1\"", c.CallS("GET", "a"));
            Assert.Equal("$nil", c.CallS("GET", "b"));
        }
        Assert.Equal(good, new FileInfo(IncrPath(_dir, 1)).Length);
    }

    [Fact]
    public void AMultiWithoutExecAtTheEndIsUndone()
    {
        using (var s = new AofServer(_dir))
        using (var c = s.Connect())
            c.Call("SET", "a", "1");
        Append(IncrPath(_dir, 1), "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\nz\r\n$1\r\n1\r\n");
        AofServer.StartFails(_dir, "aof-load-truncated", "no");
        using (var s = new AofServer(_dir))
        {
            Assert.Contains("Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof", s.Log);
            using var c = s.Connect();
            Assert.Equal("$nil", c.CallS("GET", "z"));
            Assert.Equal("\"1\"", c.CallS("GET", "a"));
        }
    }

    [Fact]
    public void ACorruptFileRefusesToStart()
    {
        using (var s = new AofServer(_dir))
        using (var c = s.Connect())
            c.Call("SET", "a", "1");
        Append(IncrPath(_dir, 1), "!garbage\r\n");
        string log = AofServer.StartFails(_dir);
        Assert.Contains("Bad file format reading the append only file appendonly.aof.1.incr.aof: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>", log);
    }

    [Fact]
    public void AFileListedInTheManifestButMissingRefusesToStart()
    {
        using (var s = new AofServer(_dir)) { }
        File.Delete(IncrPath(_dir, 1));
        string log = AofServer.StartFails(_dir);
        Assert.Contains("appendonly.aof.1.incr.aof", log);
    }

    [Fact]
    public void AnOldStyleAppendonlyAofIsMigratedIntoTheDirectory()
    {
        File.WriteAllText(Path.Combine(_dir, "appendonly.aof"), "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$5\r\nvalue\r\n");
        using (var s = new AofServer(_dir))
        {
            Assert.Contains("Successfully migrated an old-style AOF file (appendonly.aof) into the AOF directory (appendonlydir).", s.Log);
            using var c = s.Connect();
            Assert.Equal("\"value\"", c.CallS("GET", "old"));
        }
        Assert.Equal("file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n", Manifest(_dir));
    }

    [Fact]
    public void DebugLoadaofReloadsTheSameDataset()
    {
        using var s = new AofServer(_dir);
        using var c = s.Connect();
        Write(c);
        string dump = Dump(c);
        Assert.Equal("+OK", c.CallS("DEBUG", "LOADAOF"));
        Assert.Equal(dump, Dump(c));
        Assert.Contains("Append Only File loaded by DEBUG LOADAOF", s.Log);
    }

    [Fact]
    public void InfoShowsTheAofFieldsWhenEnabled()
    {
        using var s = new AofServer(_dir);
        using var c = s.Connect();
        c.Call("SET", "k", "v");
        Assert.Equal("1", Info(c, "aof_enabled"));
        Assert.Equal("ok", Info(c, "aof_last_write_status"));
        Assert.True(long.Parse(Info(c, "aof_current_size")) > 0);
        foreach (var f in new[] { "aof_base_size", "aof_pending_rewrite", "aof_buffer_length", "aof_pending_bio_fsync", "aof_delayed_fsync", "aof_rewrites_consecutive_failures", "aof_last_cow_size" })
            Assert.NotEqual("", Info(c, f));
    }
}
