// BGSAVE without fork: the point-in-time property (a file written while clients change, delete,
// rename, move, swap, flush and expire keys holds exactly the dataset of the moment BGSAVE
// started), the command's replies and errors, save points, FLUSHALL and SHUTDOWN killing a
// running save, -MISCONF after a failed one, and the INFO persistence fields around it.
using Cinnabar.Keyspace;
using Cinnabar.Persistence;
using Cinnabar.Tests.Performance;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Persistence;

public sealed class BackgroundSaveTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "cinnabar-bgsave-" + Guid.NewGuid().ToString("N"));

    public BackgroundSaveTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException) { }
    }

    ServerFixture Cinnabar(Action<Cinnabar.Server.ServerConfig>? more = null) => new(cfg =>
    {
        cfg.Dir = _dir;
        more?.Invoke(cfg);
    });

    /// <summary>Every key of every db as "db key dump-payload-hex expire-ms", read on the loop thread without lookups (no expiry).</summary>
    static SortedSet<string> Image(CinnabarServer server) => HotPathAllocationTests.OnLoop(server, () => ImageNow(server));

    static SortedSet<string> ImageNow(CinnabarServer server)
    {
        var lines = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var db in server.Databases)
            foreach (var o in db.Main.Entries())
                lines.Add($"{db.Id} {Convert.ToHexString(o.KeySpan)} {Content(o)} {db.GetExpire(o.KeySpan)}");
        return lines;
    }

    /// <summary>The DUMP payload, except for hashtable sets, whose payload order depends on the dict: their sorted members.</summary>
    static string Content(RedisObject o) => o.Type == ObjType.Set && o.Encoding == ObjEncoding.HashTable
        ? "set:" + string.Join(",", global::Cinnabar.DataTypes.SetType.Members(o).Select(Convert.ToHexString).Order(StringComparer.Ordinal))
        : Convert.ToHexString(RdbWriter.CreateDumpPayload(o, compression: false));

    static void Fill(RespClient c, int db, int n)
    {
        c.Call("SELECT", db.ToString());
        for (int i = 0; i < n; i++)
        {
            string k = $"k{i}";
            var reply = (i % 6) switch
            {
                0 => c.Call("SET", k, "value-" + i),
                1 => c.Call("RPUSH", k, "a", "b", i.ToString()),
                2 => c.Call("HSET", k, "f", "v", "n", i.ToString()),
                3 => c.Call("SADD", k, "x", "y", i.ToString()),
                4 => c.Call("ZADD", k, "1", "a", i.ToString(), "b"),
                _ => c.Call("SET", k, i.ToString()),
            };
            Assert.False(reply.IsError, reply.ToString());
            if (i % 10 == 0) c.Call("PEXPIRE", k, (i % 20 == 0 ? 60 : 600_000).ToString()); // some expire during the save
        }
    }

    static string Info(RespClient c, string field) =>
        c.Call("INFO", "persistence").Text!.Split("\r\n").First(l => l.StartsWith(field + ":"))[(field.Length + 1)..];

    static void WaitBgsaveDone(RespClient c, int seconds = 30)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (Info(c, "rdb_bgsave_in_progress") == "1" && sw.Elapsed.TotalSeconds < seconds) Thread.Sleep(20);
        Assert.Equal("0", Info(c, "rdb_bgsave_in_progress"));
    }

    [Fact]
    public void File_holds_the_dataset_as_it_was_when_BGSAVE_started_while_clients_write()
    {
        SortedSet<string> atStart;
        using (var f = Cinnabar())
        {
            using var c = f.Connect();
            Fill(c, 0, 1200);
            Fill(c, 1, 300);
            Fill(c, 2, 300);
            Fill(c, 3, 300);
            c.Call("SELECT", "0");
            c.Call("CONFIG", "SET", "rdb-key-save-delay", "1000"); // ~2 s for 2100 keys: the writes below land mid-walk, even on a loaded machine
            // The image and the start in one loop callback: nothing runs in between.
            atStart = HotPathAllocationTests.OnLoop(f.Server, () =>
            {
                var image = ImageNow(f.Server);
                Assert.True(f.Server.BackgroundSave.Start());
                return image;
            });
            Assert.Equal("1", Info(c, "rdb_bgsave_in_progress"));

            // Changes of every kind, while the walk is in progress.
            for (int i = 0; i < 1200; i += 7)
            {
                string k = $"k{i}";
                switch (i % 6)
                {
                    case 0: c.Call("APPEND", k, "-more"); break;
                    case 1: c.Call("LPUSH", k, "new"); break;
                    case 2: c.Call("HSET", k, "f", "changed"); break;
                    case 3: c.Call("SREM", k, "x"); break;
                    case 4: c.Call("ZINCRBY", k, "10", "a"); break;
                    default: c.Call("INCR", k); break;
                }
            }
            for (int i = 1; i < 1200; i += 13) c.Call("DEL", $"k{i}");
            for (int i = 3; i < 1200; i += 17) c.Call("EXPIRE", $"k{i}", "100");
            for (int i = 20; i < 1200; i += 40) c.Call("PERSIST", $"k{i}");
            for (int i = 0; i < 300; i++) c.Call("SET", $"new{i}", "created-after-start");
            c.Call("RENAME", "k5", "k5-renamed");
            c.Call("MOVE", "k11", "3");
            c.Call("SWAPDB", "1", "2");
            c.Call("SELECT", "3");
            c.Call("FLUSHDB");
            c.Call("SET", "after-flush", "x");
            c.Call("SELECT", "0");
            Thread.Sleep(100); // the 60 ms TTLs pass: active expiry deletes them mid-walk
            Assert.Equal("1", Info(c, "rdb_bgsave_in_progress")); // all of it happened during the save
            Assert.NotEqual(atStart, Image(f.Server));
            WaitBgsaveDone(c);
            Assert.Equal("ok", Info(c, "rdb_last_bgsave_status"));
            Assert.True(long.Parse(Info(c, "rdb_last_cow_size")) > 0, "the pre-write hook saved keys ahead of the walk");
            c.Call("CONFIG", "SET", "save", "");
            c.Send("SHUTDOWN", "NOSAVE");
            f.Server.WaitForShutdown();
        }

        // Loaded as a replica would (expired keys kept), the file is the image at the start.
        using var loaded = Cinnabar();
        var image = HotPathAllocationTests.OnLoop(loaded.Server, () =>
        {
            foreach (var db in loaded.Server.Databases) db.Flush();
            RdbLoader.Load(loaded.Server, RdbFile.PathOf(loaded.Server), allowDuplicates: false, keepExpired: true);
            return ImageNow(loaded.Server);
        });
        var missing = atStart.Except(image).Take(5).ToList();
        var extra = image.Except(atStart).Take(5).ToList();
        Assert.True(missing.Count == 0 && extra.Count == 0, $"{atStart.Count} keys at start, {image.Count} in the file; missing: {string.Join(" | ", missing)}; unexpected: {string.Join(" | ", extra)}");
    }

    [Fact]
    public void BGSAVE_replies_errors_and_resets_the_change_counter()
    {
        using var f = Cinnabar(cfg => cfg.Set("save", "", startup: true));
        using var c = f.Connect();
        Assert.Equal("-ERR syntax error", c.CallS("BGSAVE", "NOW"));
        Assert.Equal("-ERR syntax error", c.CallS("BGSAVE", "SCHEDULE", "X"));
        c.Call("DEBUG", "POPULATE", "2000");
        c.Call("SET", "a", "b");
        Assert.Equal("1", Info(c, "rdb_changes_since_last_save"));
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "1000");
        Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
        Assert.Equal("-ERR Background save already in progress", c.CallS("BGSAVE"));
        Assert.Equal("-ERR Background save already in progress", c.CallS("BGSAVE", "SCHEDULE"));
        Assert.Equal("-ERR Background save already in progress", c.CallS("SAVE"));
        Assert.Equal("2001", Info(c, "current_save_keys_total"));
        c.Call("SET", "during", "x"); // counted after the save: dirty keeps what came after the start
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
        // The delay was read at the start: the walk goes on at one key per ms, about 2 s.
        WaitBgsaveSucceeded(c);
        Assert.Equal("1", Info(c, "rdb_saves"));
    }

    static void WaitBgsaveSucceeded(RespClient c)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (Info(c, "rdb_bgsave_in_progress") == "1" && sw.Elapsed.TotalSeconds < 10) Thread.Sleep(20);
        Assert.Equal("0", Info(c, "rdb_bgsave_in_progress"));
        Assert.Equal("1", Info(c, "rdb_changes_since_last_save"));
        Assert.Equal("ok", Info(c, "rdb_last_bgsave_status"));
        Assert.NotEqual("-1", Info(c, "rdb_last_bgsave_time_sec"));
    }

    [Fact]
    public void FLUSHALL_kills_a_running_BGSAVE_and_keeps_the_change_counter()
    {
        // integration/rdb.tcl "Test FLUSHALL aborts bgsave" and "bgsave resets the change counter".
        using var f = Cinnabar(cfg => cfg.Set("save", "", startup: true));
        using var c = f.Connect();
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "1000");
        for (int i = 0; i < 5000; i++) c.Send("SET", "key:" + i, "v");
        for (int i = 0; i < 5000; i++) c.Read();
        Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
        Assert.Equal("1", Info(c, "rdb_bgsave_in_progress"));
        Assert.Equal("+OK", c.CallS("FLUSHALL"));
        Assert.Equal("0", Info(c, "rdb_bgsave_in_progress"));
        Assert.True(long.Parse(Info(c, "rdb_changes_since_last_save")) > 999);
        Assert.Empty(Directory.GetFiles(_dir, "temp-*.rdb"));
        Assert.False(File.Exists(Path.Combine(_dir, "dump.rdb")));
        Assert.Equal("+OK", c.CallS("SET", "x", "xx"));
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
        Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
        WaitBgsaveDone(c);
        Assert.Equal("0", Info(c, "rdb_changes_since_last_save"));
        Assert.True(File.Exists(Path.Combine(_dir, "dump.rdb")));
    }

    [Fact]
    public void FLUSHALL_with_save_points_saves_the_empty_dataset_and_resets_the_counter()
    {
        // unit/other.tcl: "FLUSHALL should not reset the dirty counter if we disable save" / "... reset ... if we enable save".
        using var f = Cinnabar(cfg => cfg.Set("save", "", startup: true));
        using var c = f.Connect();
        c.Call("SET", "key", "value");
        c.Call("FLUSHALL");
        Assert.True(long.Parse(Info(c, "rdb_changes_since_last_save")) > 0);
        c.Call("CONFIG", "SET", "save", "3600 1 300 100 60 10000");
        c.Call("SET", "key", "value");
        c.Call("FLUSHALL");
        Assert.Equal("0", Info(c, "rdb_changes_since_last_save"));
        Assert.True(File.Exists(Path.Combine(_dir, "dump.rdb")));
    }

    [Fact]
    public void A_save_point_starts_a_background_save_from_cron()
    {
        using var f = Cinnabar(cfg => cfg.Set("save", "", startup: true));
        using var c = f.Connect();
        for (int i = 0; i < 5; i++) c.Call("SET", "k" + i, "v");
        long lastSave = long.Parse(Info(c, "rdb_last_save_time"));
        Thread.Sleep(1100); // "more than seconds since the last save": 1 s must have passed
        c.Call("CONFIG", "SET", "save", "1 5");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (Info(c, "rdb_saves") == "0" && sw.Elapsed.TotalSeconds < 5) Thread.Sleep(20);
        WaitBgsaveDone(c);
        Assert.Equal("1", Info(c, "rdb_saves"));
        Assert.Equal("0", Info(c, "rdb_changes_since_last_save"));
        Assert.True(long.Parse(Info(c, "rdb_last_save_time")) > lastSave);
        Assert.True(File.Exists(Path.Combine(_dir, "dump.rdb")));
    }

    [Fact]
    public void BGSAVE_inside_MULTI_is_scheduled_and_cron_runs_it()
    {
        using var f = Cinnabar(cfg => cfg.Set("save", "", startup: true));
        using var c = f.Connect();
        c.Call("SET", "k", "v");
        c.Call("MULTI");
        c.Call("BGSAVE");
        var exec = c.Call("EXEC");
        Assert.Equal("Background saving scheduled", exec.Items![0].Text);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (Info(c, "rdb_saves") == "0" && sw.Elapsed.TotalSeconds < 5) Thread.Sleep(20);
        WaitBgsaveDone(c);
        Assert.Equal("1", Info(c, "rdb_saves"));
        Assert.True(File.Exists(Path.Combine(_dir, "dump.rdb")));
    }

    [Fact]
    public void A_failed_save_makes_writes_and_PING_answer_MISCONF_until_a_save_succeeds()
    {
        using var f = Cinnabar();
        using var c = f.Connect();
        c.Call("SET", "x", "x");
        // The dir becomes unwritable for the temp file: a directory in its place.
        Directory.CreateDirectory(Path.Combine(_dir, $"temp-bgsave-{Environment.ProcessId}.rdb"));
        Assert.StartsWith("-ERR", c.CallS("BGSAVE"));
        Assert.Equal("err", Info(c, "rdb_last_bgsave_status"));
        Assert.Equal("$1:x", "$1:" + c.Call("GET", "x").Text);
        Assert.Equal("-" + BackgroundSave.MisconfError[1..], c.CallS("SET", "x", "y"));
        Assert.StartsWith("-MISCONF", c.CallS("PING"));
        c.Call("MULTI");
        Assert.StartsWith("-MISCONF", c.CallS("SET", "x", "z")); // refused when queued: EXEC aborts
        Assert.StartsWith("-EXECABORT", c.CallS("EXEC"));
        // stop-writes-on-bgsave-error no lets writes through.
        c.Call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no");
        Assert.Equal("+OK", c.CallS("SET", "x", "y"));
        c.Call("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes");
        Assert.StartsWith("-MISCONF", c.CallS("SET", "x", "y"));
        Directory.Delete(Path.Combine(_dir, $"temp-bgsave-{Environment.ProcessId}.rdb"));
        Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
        WaitBgsaveDone(c);
        Assert.Equal("ok", Info(c, "rdb_last_bgsave_status"));
        Assert.Equal("+OK", c.CallS("SET", "x", "y"));
    }

    [Fact]
    public void SHUTDOWN_during_a_BGSAVE_kills_it_and_removes_its_temp_file()
    {
        // unit/shutdown.tcl "Temp rdb will be deleted if we use bg_unlink when shutdown".
        using var f = Cinnabar();
        using var c = f.Connect();
        for (int i = 0; i < 20; i++) c.Call("SET", i.ToString(), i.ToString());
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "100000");
        Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
        Thread.Sleep(100);
        Assert.True(File.Exists(Path.Combine(_dir, $"temp-bgsave-{Environment.ProcessId}.rdb")));
        c.Send("SHUTDOWN", "NOSAVE");
        f.Server.WaitForShutdown();
        Assert.Empty(Directory.GetFiles(_dir, "temp-*.rdb"));
    }

    [Fact]
    public void The_snapshot_mark_survives_an_aborted_save_so_the_next_one_is_complete()
    {
        using var f = Cinnabar(cfg => cfg.Set("save", "", startup: true));
        using var c = f.Connect();
        c.Call("DEBUG", "POPULATE", "3000");
        c.Call("SELECT", "1");
        c.Call("DEBUG", "POPULATE", "1000", "one");
        c.Call("SELECT", "0");
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "500");
        Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
        Thread.Sleep(100);
        // A failed write kills the save half way (marks half the keys): simulated by a kill.
        HotPathAllocationTests.OnLoop(f.Server, () =>
        {
            f.Server.BackgroundSave.Kill();
            return 0;
        });
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
        var before = Image(f.Server);
        Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
        WaitBgsaveDone(c);
        using var loaded = new ServerFixture(cfg => cfg.Dir = _dir);
        Assert.Equal(before, Image(loaded.Server));
    }

    /// <summary>Every key of dbs 0-3 over the wire: "db key DUMP-hex has-ttl", sorted.</summary>
    static List<string> WireImage(RespClient c)
    {
        var lines = new List<string>();
        for (int db = 0; db < 4; db++)
        {
            c.Call("SELECT", db.ToString());
            foreach (var k in c.Call("KEYS", "*").Items!.Select(i => i.Text!))
                lines.Add($"{db} {k} {Convert.ToHexString(System.Text.Encoding.Latin1.GetBytes(c.Call("DUMP", k).Text!))} {c.Call("PTTL", k).Integer > 0}");
        }
        c.Call("SELECT", "0");
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    [RequiresToolsFact("redis-server", "redis-check-rdb")]
    public void A_file_with_databases_interleaved_by_the_hook_passes_redis_check_rdb_and_loads_in_redis_server()
    {
        List<string> expected;
        using (var f = Cinnabar(cfg => cfg.Set("save", "", startup: true)))
        {
            using var c = f.Connect();
            for (int db = 0; db < 4; db++)
            {
                c.Call("SELECT", db.ToString());
                for (int i = 0; i < 300; i++)
                {
                    c.Call(i % 2 == 0 ? "SET" : "RPUSH", $"k{i}", $"db{db}-value-{i}");
                    if (i % 7 == 0) c.Call("EXPIRE", $"k{i}", "100000");
                }
            }
            c.Call("SELECT", "0");
            expected = WireImage(c);
            c.Call("CONFIG", "SET", "rdb-key-save-delay", "1000");
            Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
            // While the walk is in db 0, changes in dbs 3, 1 and 2 write their keys ahead of it.
            foreach (var db in new[] { "3", "1", "2", "3" })
            {
                c.Call("SELECT", db);
                for (int i = 0; i < 300; i += 29) c.Call("APPEND", $"k{i}", "-changed");
            }
            c.Call("SELECT", "0");
            Assert.Equal("1", Info(c, "rdb_bgsave_in_progress"));
            c.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
            WaitBgsaveDone(c);
            Assert.Equal("ok", Info(c, "rdb_last_bgsave_status"));
        }
        var path = Path.Combine(_dir, "dump.rdb");
        var check = ToolProcess.Run("redis-check-rdb", [path]);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("Checksum OK", check.Stdout);
        Assert.Contains("1200 keys read", check.Stdout);
        using var redis = new RedisServerFixture(_dir);
        using var r = redis.Connect();
        Assert.Equal(expected, WireImage(r));
    }
}
