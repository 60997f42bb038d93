// RDB files between Cinnabar and redis-server 7.0.15 both ways: a file Cinnabar SAVEs passes
// redis-check-rdb and loads in redis-server with the same keys, types, encodings and TTLs; a file
// redis-server SAVEs loads in Cinnabar the same way. Also pinned: corrupt files stop start-up,
// expired keys are skipped on load, DEBUG RELOAD, SHUTDOWN SAVE/NOSAVE and the INFO fields.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Persistence;

public sealed class RdbFileTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "cinnabar-rdb-" + Guid.NewGuid().ToString("N"));

    public RdbFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException) { }
    }

    string DumpPath => Path.Combine(_dir, "dump.rdb");

    ServerFixture Cinnabar() => new(cfg => cfg.Dir = _dir);

    static string Repeat(string s, int n) => string.Concat(Enumerable.Repeat(s, n));

    /// <summary>One key per type and encoding, some with TTLs, and a key in db 5.</summary>
    static void BuildDataset(RespClient c)
    {
        string[][] cmds =
        [
            ["SET", "str-embstr", "hello"], ["SET", "str-int", "-12345"], ["SET", "str-int64", "5000000000"],
            ["SET", "str-lzf", Repeat("abcd", 50)], ["SET", "str-binary", "\0\x01\xff\r\n"],
            ["SET", "str-ttl", "v", "EX", "1000"],
            ["RPUSH", "list-small", "a", "b", "1", "-7"],
            ["RPUSH", "list-big", .. Enumerable.Range(0, 2000).Select(i => "element-" + i)],
            ["SADD", "set-intset", "1", "-5", "70000"],
            ["SADD", "set-hashtable", .. Enumerable.Range(0, 200).Select(i => "m" + i)],
            ["HSET", "hash-listpack", "f1", "v1", "f2", "2"],
            ["HSET", "hash-hashtable", "f", Repeat("q", 100), "g", "1"],
            ["ZADD", "zset-listpack", "1", "a", "2.5", "b", "-inf", "c"],
            ["ZADD", "zset-skiplist", .. Enumerable.Range(0, 200).SelectMany(i => new[] { (i * 1.5).ToString(System.Globalization.CultureInfo.InvariantCulture), "member" + i })],
            ["PEXPIRE", "zset-skiplist", "500000"],
            ["SELECT", "5"], ["SET", "in-db5", "x"], ["SELECT", "0"],
        ];
        foreach (var cmd in cmds) Assert.False(c.Call(cmd).IsError, string.Join(" ", cmd));
    }

    /// <summary>Every key of dbs 0 and 5 as "db key type encoding contents ttl-bucket", sorted; TTLs rounded to 10 s.</summary>
    static List<string> Snapshot(RespClient c)
    {
        var lines = new List<string>();
        foreach (var db in new[] { "0", "5" })
        {
            c.Call("SELECT", db);
            foreach (var k in c.Call("KEYS", "*").Items!.Select(i => i.Text!))
            {
                string type = c.Call("TYPE", k).Text!;
                var read = type switch
                {
                    "string" => c.Call("GET", k),
                    "list" => c.Call("LRANGE", k, "0", "-1"),
                    "set" => c.Call("SMEMBERS", k),
                    "hash" => c.Call("HGETALL", k),
                    _ => c.Call("ZRANGE", k, "0", "-1", "WITHSCORES"),
                };
                string contents = type is "set" or "hash"
                    ? string.Join(",", read.Items!.Select(i => i.Text).Order(StringComparer.Ordinal))
                    : read.ToString();
                long pttl = c.Call("PTTL", k).Integer;
                string ttl = pttl < 0 ? pttl.ToString() : "~" + ((pttl + 5000) / 10000);
                lines.Add($"{db} {k} {type} {c.Call("OBJECT", "ENCODING", k).Text} {contents} {ttl}");
            }
        }
        c.Call("SELECT", "0");
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    [RequiresToolsFact("redis-server", "redis-check-rdb")]
    public void FileSavedByCinnabarPassesRedisCheckRdbAndLoadsInRedisServer()
    {
        List<string> expected;
        using (var cinnabar = Cinnabar())
        using (var c = cinnabar.Connect())
        {
            BuildDataset(c);
            Assert.Equal("+OK", c.CallS("SAVE"));
            expected = Snapshot(c);
        }
        var check = ToolProcess.Run("redis-check-rdb", [DumpPath]);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("RDB looks OK", check.Stdout);
        Assert.Contains("Checksum OK", check.Stdout);

        using var redis = new RedisServerFixture(_dir);
        using var r = redis.Connect();
        Assert.Equal(15, expected.Count);
        Assert.Equal(expected, Snapshot(r));
    }

    [RequiresToolsFact("redis-server")]
    public void FileSavedByRedisServerLoadsInCinnabar()
    {
        List<string> expected;
        using (var redis = new RedisServerFixture(_dir))
        using (var r = redis.Connect())
        {
            BuildDataset(r);
            Assert.Equal("+OK", r.CallS("SAVE"));
            expected = Snapshot(r);
        }
        using var cinnabar = Cinnabar();
        using var c = cinnabar.Connect();
        Assert.Equal(expected, Snapshot(c));
        Assert.Contains("rdb_last_load_keys_loaded:15\r\n", c.Call("INFO", "persistence").Text);
    }

    /// <summary>Saves a small dataset with Cinnabar and returns the file's bytes.</summary>
    byte[] SavedFile()
    {
        using (var cinnabar = Cinnabar())
        using (var c = cinnabar.Connect())
        {
            c.Call("SET", "a", "1");
            c.Call("RPUSH", "l", "x", "y");
            Assert.Equal("+OK", c.CallS("SAVE"));
        }
        return File.ReadAllBytes(DumpPath);
    }

    [Fact]
    public void WrongChecksumFailsStartUp()
    {
        var bytes = SavedFile();
        bytes[^1] ^= 0xFF;
        File.WriteAllBytes(DumpPath, bytes);
        var e = Assert.Throws<InvalidOperationException>(Cinnabar);
        Assert.Equal("Terminating server after rdb file reading failure.", e.Message);
        Assert.StartsWith("Wrong RDB checksum expected: (", e.InnerException!.Message);
    }

    [Fact]
    public void TruncatedFileFailsStartUpWithShortRead()
    {
        var bytes = SavedFile();
        File.WriteAllBytes(DumpPath, bytes[..^12]);
        var e = Assert.Throws<InvalidOperationException>(Cinnabar);
        Assert.StartsWith("Short read or OOM loading DB. Unrecoverable error, aborting now.", e.InnerException!.Message);
    }

    [Fact]
    public void ZeroChecksumIsAcceptedAsSavedWithChecksumDisabled()
    {
        var bytes = SavedFile();
        Array.Clear(bytes, bytes.Length - 8, 8);
        File.WriteAllBytes(DumpPath, bytes);
        using var cinnabar = Cinnabar();
        using var c = cinnabar.Connect();
        Assert.Equal("\"1\"", c.CallS("GET", "a"));
    }

    [Fact]
    public void KeysExpiredWhileOnDiskAreSkippedOnLoad()
    {
        using (var cinnabar = Cinnabar())
        using (var c = cinnabar.Connect())
        {
            c.Call("SET", "short", "v", "PX", "50");
            c.Call("SET", "long", "v", "EX", "100");
            Assert.Equal("+OK", c.CallS("SAVE"));
        }
        Thread.Sleep(100);
        using var again = Cinnabar();
        using var c2 = again.Connect();
        Assert.Equal(":1", c2.CallS("DBSIZE"));
        var info = c2.Call("INFO", "persistence").Text!;
        Assert.Contains("rdb_last_load_keys_expired:1\r\n", info);
        Assert.Contains("rdb_last_load_keys_loaded:1\r\n", info);
    }

    [Fact]
    public void SaveResetsTheDirtyCounterAndSetsLastSave()
    {
        using var cinnabar = Cinnabar();
        using var c = cinnabar.Connect();
        c.Call("SET", "a", "1");
        Assert.Contains("rdb_changes_since_last_save:1\r\n", c.Call("INFO", "persistence").Text);
        long before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.Equal("+OK", c.CallS("SAVE"));
        Assert.Contains("rdb_changes_since_last_save:0\r\n", c.Call("INFO", "persistence").Text);
        Assert.True(c.Call("LASTSAVE").Integer >= before);
        Assert.Empty(Directory.GetFiles(_dir, "temp-*.rdb"));
    }

    [Fact]
    public void SaveIntoAMissingDirRepliesBareErr()
    {
        using var cinnabar = new ServerFixture(cfg => cfg.Dir = Path.Combine(_dir, "missing"));
        using var c = cinnabar.Connect();
        Assert.Equal("-ERR", c.CallS("SAVE"));
    }

    [Fact]
    public void DebugReloadKeepsTheDatasetAndTtls()
    {
        using var cinnabar = Cinnabar();
        using var c = cinnabar.Connect();
        BuildDataset(c);
        var before = Snapshot(c);
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD"));
        Assert.Equal(before, Snapshot(c));
        Assert.True(File.Exists(DumpPath));
        Assert.Equal("-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.", c.CallS("DEBUG", "RELOAD", "BOGUS"));
    }

    [Fact]
    public void DebugReloadNoSaveLoadsTheFileOnDisk()
    {
        using var cinnabar = Cinnabar();
        using var c = cinnabar.Connect();
        c.Call("SET", "saved", "1");
        c.Call("SAVE");
        c.Call("SET", "unsaved", "1");
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD", "NOSAVE"));
        Assert.Equal(":1", c.CallS("EXISTS", "saved"));
        Assert.Equal(":0", c.CallS("EXISTS", "unsaved"));
    }

    [Fact]
    public void ShutdownSavesWithSavePointsAndNoSaveSkipsIt()
    {
        var cinnabar = Cinnabar();
        using (var c = cinnabar.Connect())
        {
            c.Call("SET", "k", "v");
            c.Send("SHUTDOWN", "NOSAVE");
            Assert.True(c.IsClosedByServer());
        }
        cinnabar.Server.WaitForShutdown();
        cinnabar.Server.Stop();
        Assert.False(File.Exists(DumpPath));

        cinnabar = Cinnabar();
        using (var c = cinnabar.Connect())
        {
            c.Call("SET", "k", "v");
            c.Send("SHUTDOWN");
            Assert.True(c.IsClosedByServer());
        }
        cinnabar.Server.WaitForShutdown();
        Assert.True(File.Exists(DumpPath));
        using var reloaded = Cinnabar();
        using var c2 = reloaded.Connect();
        Assert.Equal("\"v\"", c2.CallS("GET", "k"));
    }

    [Fact]
    public void ShutdownSaveFailureKeepsTheServerRunningUnlessForced()
    {
        using var cinnabar = new ServerFixture(cfg => cfg.Dir = Path.Combine(_dir, "missing"));
        using var c = cinnabar.Connect();
        Assert.Equal("-ERR Errors trying to SHUTDOWN. Check logs.", c.CallS("SHUTDOWN", "SAVE"));
        Assert.Equal("+PONG", c.CallS("PING"));
        c.Send("SHUTDOWN", "SAVE", "FORCE");
        Assert.True(c.IsClosedByServer());
    }

    [Fact]
    public void A_load_sizes_the_tables_from_RESIZEDB_instead_of_growing_them()
    {
        string saved;
        using (var source = new ServerFixture())
        using (var c = source.Connect())
        {
            c.Call("DEBUG", "POPULATE", "5000");
            for (int i = 0; i < 300; i++) c.Call("EXPIRE", "key:" + i, "1000");
            c.Call("SAVE");
            saved = Path.Combine(Path.GetTempPath(), "cinnabar-resizedb-" + Guid.NewGuid().ToString("N") + ".rdb");
            File.Copy(Path.Combine(source.Dir, "dump.rdb"), saved);
        }
        using var fx = new ServerFixture(cfg => File.Move(saved, Path.Combine(cfg.Dir, "dump.rdb")));
        var (main, expires, rehashed) = Performance.HotPathAllocationTests.OnLoop(fx.Server, () =>
        {
            var db = fx.Server.Databases[0];
            return (db.Main.Table0Size, db.Expires.Table0Size, db.Main.RehashedBuckets + db.Expires.RehashedBuckets);
        });
        Assert.Equal(8192, main); // the next power of two over 5000, allocated before the first key
        Assert.Equal(512, expires);
        Assert.Equal(0, rehashed); // never grown during the load
        using var check = fx.Connect();
        Assert.Equal(":5000", check.CallS("DBSIZE"));
    }
}
