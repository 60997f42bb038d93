// Streams in RDB files between Cinnabar and redis-server 7.0.15: a file redis-server SAVEs with
// streams (multi-node, tombstones, groups with PELs and consumers, empty, with a TTL) loads in
// Cinnabar with every stream dumping to redis-server's bytes; a file Cinnabar SAVEs passes
// redis-check-rdb and loads in redis-server to the same XINFO STREAM FULL. DEBUG RELOAD and
// BGSAVE keep streams and groups; a corrupt stream stops start-up with the reason redis-server
// gives for the same file.
using System.Buffers.Binary;
using System.Text;
using Cinnabar.Persistence;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.StreamHistories;

namespace Cinnabar.Tests.Persistence;

[Collection(RedisServerCollection.Name)]
public sealed class StreamRdbTests(RedisServerFixture redis) : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("cinnabar-stream-rdb-").FullName;

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

    /// <summary>The streams of the dataset: each Plain history in its own db, the group history in db 9, a TTL on one.</summary>
    static List<(int Db, string Key)> Keys() =>
        [.. Plain.Keys.Select((_, i) => (i, "s")), (9, "g"), (9, "g:empty")];

    /// <summary>Builds the Plain histories (db 0..n) on c; the group streams come from groupPayloads (db 9).</summary>
    static void BuildPlain(RespClient c)
    {
        int db = 0;
        foreach (var name in Plain.Keys)
        {
            c.Call("SELECT", (db++).ToString());
            Build(c, name);
        }
        c.Call("SELECT", "0");
        c.Call("PEXPIRE", "s", "5000000");
    }

    /// <summary>DUMP of every stream key, db by db.</summary>
    static List<string> Dumps(RespClient c)
    {
        var dumps = new List<string>();
        foreach (var (db, key) in Keys())
        {
            c.Call("SELECT", db.ToString());
            var d = c.Call("DUMP", key);
            Assert.False(d.IsNull, $"db {db} {key} missing");
            dumps.Add(d.Text!);
        }
        c.Call("SELECT", "0");
        return dumps;
    }

    static List<string> Xinfos(RespClient c)
    {
        var all = new List<string>();
        foreach (var (db, key) in Keys())
        {
            c.Call("SELECT", db.ToString());
            all.Add(XinfoFull(c, key));
        }
        c.Call("SELECT", "0");
        return all;
    }

    /// <summary>The group history built on the shared redis-server, as DUMP payloads of g and g:empty.</summary>
    (string G, string Empty) GroupPayloads()
    {
        using var r = redis.Connect();
        r.Call("DEL", "g", "g:empty");
        Run(r, Groups("g"));
        var result = (r.Call("DUMP", "g").Text!, r.Call("DUMP", "g:empty").Text!);
        r.Call("DEL", "g", "g:empty");
        return result;
    }

    static void RestoreGroups(RespClient c, (string G, string Empty) payloads)
    {
        c.Call("SELECT", "9");
        Assert.Equal("OK", c.Call("RESTORE", "g", "0", payloads.G).Text);
        Assert.Equal("OK", c.Call("RESTORE", "g:empty", "0", payloads.Empty).Text);
        c.Call("SELECT", "0");
    }

    [RequiresToolsFact("redis-server")]
    public void AFileSavedByRedisServerWithStreamsLoadsInCinnabar()
    {
        var groups = GroupPayloads();
        List<string> expected;
        using (var loader = new RedisServerFixture(_dir))
        using (var r = loader.Connect())
        {
            BuildPlain(r);
            RestoreGroups(r, groups);
            expected = Dumps(r);
            Assert.Equal("+OK", r.CallS("SAVE"));
        }
        using var cinnabar = Cinnabar();
        using var c = cinnabar.Connect();
        Assert.Equal(expected, Dumps(c));
        Assert.True(c.Call("PTTL", "s").Integer > 0);
        Assert.Contains($"rdb_last_load_keys_loaded:{Keys().Count}\r\n", c.Call("INFO", "persistence").Text);
    }

    [RequiresToolsFact("redis-server", "redis-check-rdb")]
    public void AFileSavedByCinnabarWithStreamsPassesRedisCheckRdbAndLoadsInRedisServer()
    {
        var groups = GroupPayloads();
        List<string> dumps, xinfos;
        using (var r = redis.Connect())
        {
            // The reference: the same streams built (or restored) by redis-server itself.
            var dbs = Enumerable.Range(0, 10).Select(i => i.ToString());
            foreach (var db in dbs)
            {
                r.Call("SELECT", db);
                r.Call("DEL", "s", "g", "g:empty");
            }
            BuildPlain(r);
            RestoreGroups(r, groups);
            xinfos = Xinfos(r);
            foreach (var db in dbs)
            {
                r.Call("SELECT", db);
                r.Call("DEL", "s", "g", "g:empty");
            }
            r.Call("SELECT", "0");
        }
        using (var cinnabar = Cinnabar())
        using (var c = cinnabar.Connect())
        {
            BuildPlain(c);
            RestoreGroups(c, groups);
            dumps = Dumps(c);
            Assert.Equal("+OK", c.CallS("SAVE"));
        }
        var check = ToolProcess.Run("redis-check-rdb", [DumpPath]);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains("RDB looks OK", check.Stdout);
        Assert.Contains($"[info] {Keys().Count} keys read", check.Stdout);

        using var loaded = new RedisServerFixture(_dir);
        using var l = loaded.Connect();
        Assert.Equal(xinfos, Xinfos(l));
        Assert.Equal(dumps, Dumps(l));
        Assert.True(l.Call("PTTL", "s").Integer > 0);
    }

    [Fact]
    public void DebugReloadAndBgsaveKeepStreamsWithTheirGroups()
    {
        using var cinnabar = Cinnabar();
        using var c = cinnabar.Connect();
        BuildPlain(c);
        c.Call("SELECT", "9");
        Assert.Equal("OK", c.Call("RESTORE", "g", "0", HandBuilt().Serialize()).Text);
        Assert.Equal("OK", c.Call("RESTORE", "g:empty", "0", EmptyWithGroup()).Text);
        c.Call("SELECT", "0");
        var before = Dumps(c);
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD"));
        Assert.Equal(before, Dumps(c));

        // The forkless snapshot (BGSAVE) serializes through the same writer.
        File.Delete(DumpPath);
        Assert.Equal("+Background saving started", c.CallS("BGSAVE"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (c.Call("INFO", "persistence").Text!.Contains("rdb_bgsave_in_progress:1") && sw.ElapsedMilliseconds < 10000) Thread.Sleep(10);
        Assert.Contains("rdb_last_bgsave_status:ok", c.Call("INFO", "persistence").Text);
        Assert.True(File.Exists(DumpPath));
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD", "NOSAVE")); // what BGSAVE wrote, loaded over the dataset
        Assert.Equal(before, Dumps(c));
    }

    /// <summary>An empty stream (last ID 5-0, 3 entries added, all gone) with a group and an idle consumer.</summary>
    static string EmptyWithGroup()
    {
        var p = new StreamPayload { LastId = new(5, 0), EntriesAdded = 3, MaxDeletedId = new(4, 0) };
        p.Groups.Add(new("g"u8.ToArray(), new(5, 0), 3, [], [new("idle"u8.ToArray(), 1700000000000, [])]));
        return p.Serialize();
    }

    // ------------------------------------------------------------------ corrupt files

    /// <summary>An RDB file holding one key whose value is the payload's object bytes (type byte included).</summary>
    static byte[] RdbFileWith(string key, string payload)
    {
        var obj = Encoding.Latin1.GetBytes(payload)[..^10];
        var w = new RdbWriter(compression: false);
        w.WriteRaw("REDIS0010"u8);
        w.WriteByte(RdbTypes.OpSelectDb);
        w.SaveLen(0);
        w.WriteByte(obj[0]);
        w.SaveRawString(Encoding.ASCII.GetBytes(key));
        w.WriteRaw(obj.AsSpan(1));
        w.WriteByte(RdbTypes.OpEof);
        ulong crc = Crc64.Compute(0, w.Written);
        BinaryPrimitives.WriteUInt64LittleEndian(w.Grow(8), crc);
        return w.Written.ToArray();
    }

    public static TheoryData<string, string> CorruptFiles => new()
    {
        { "node-key", "Stream node key entry is not the size of a stream ID" },
        { "empty-listpack", "Empty listpack inside stream" },
        { "duplicate-group", "Duplicated consumer group name g" },
        { "consumer-pel", "Consumer entry not found in group global PEL" },
    };

    static string Corrupt(string name)
    {
        var p = HandBuilt();
        switch (name)
        {
            case "node-key": p.Nodes[0] = p.Nodes[0] with { Key = p.Nodes[0].Key[..12] }; break;
            case "empty-listpack": p.Nodes[0] = p.Nodes[0] with { Listpack = StreamPayload.ListpackOf() }; break;
            case "duplicate-group": p.Groups.Add(p.Groups[0]); break;
            case "consumer-pel": p.Groups[0].Consumers[1].Pel.Add(StreamPayload.Key(1, 2)); break;
        }
        return p.Serialize();
    }

    [RequiresToolsTheory("redis-server", "redis-check-rdb")]
    [MemberData(nameof(CorruptFiles))]
    public void ACorruptStreamStopsStartUpWithTheReasonRedisServerGives(string name, string reason)
    {
        File.WriteAllBytes(DumpPath, RdbFileWith("bad", Corrupt(name)));
        var e = Assert.Throws<InvalidOperationException>(Cinnabar);
        Assert.Equal("Terminating server after rdb file reading failure.", e.Message);
        var load = Assert.IsType<RdbLoadException>(e.InnerException);
        Assert.Contains("Bad data format loading key 'bad': RDB: " + reason, load.Message);

        // redis-server refuses the file with the same reason; redis-check-rdb (which validates
        // deeply, so an empty listpack is already an integrity failure there) refuses it too.
        var refused = ToolProcess.Run("redis-server", ["--port", "0", "--unixsocket", Path.Combine(_dir, "redis.sock"), "--dir", _dir, "--save", "", "--appendonly", "no"], timeout: TimeSpan.FromSeconds(20));
        Assert.True(refused.ExitCode != 0 && refused.Stdout.Contains(reason), refused.ToString());
        var check = ToolProcess.Run("redis-check-rdb", [DumpPath]);
        Assert.True(check.ExitCode != 0 && check.Stdout.Contains("--- RDB ERROR DETECTED ---"), check.ToString());
    }

    [Fact]
    public void AValidFileOfTheSameShapeLoads()
    {
        File.WriteAllBytes(DumpPath, RdbFileWith("good", HandBuilt().Serialize()));
        using var cinnabar = Cinnabar();
        using var c = cinnabar.Connect();
        Assert.Equal(HandBuilt().Serialize(), c.Call("DUMP", "good").Text);
    }
}
