// The keyspace's object layout: a RedisObject is its own dict entry and a string keeps its
// value after the key in one array, as a listpack hash or sorted set keeps its listpack. A key's
// TTL entry shares that array, so every write that reallocates it (APPEND, SETRANGE, SETBIT,
// INCR of a raw number, PFADD, SET KEEPTTL, HSET/ZADD growing or converting a listpack) must
// leave the TTL entry pointing at the object's current array, never at a stale one.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Tests.Commands;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Keyspace;

public sealed class KeyEmbeddingTests : IClassFixture<ServerFixture>
{
    readonly ServerFixture _fx;

    public KeyEmbeddingTests(ServerFixture fx) => _fx = fx;

    static string[] RandomCommand(Random r)
    {
        string k() => "s" + r.Next(5);
        string v() => r.Next(3) switch
        {
            0 => r.Next(-50, 50000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            1 => new string('a', r.Next(1, 12)),
            _ => new string('b', r.Next(40, 90)),
        };
        return r.Next(16) switch
        {
            0 => ["SETEX", k(), "1000", v()],
            1 => ["EXPIRE", k(), "1000"],
            2 => ["APPEND", k(), v()],
            3 => ["SETRANGE", k(), r.Next(0, 120).ToString(System.Globalization.CultureInfo.InvariantCulture), v()],
            4 => ["INCRBY", k(), "3"],
            5 => ["SET", k(), v(), "KEEPTTL"],
            6 => ["SETBIT", k(), r.Next(0, 900).ToString(System.Globalization.CultureInfo.InvariantCulture), "1"],
            7 => ["INCRBYFLOAT", k(), "0.5"],
            8 => ["RENAME", k(), k()],
            9 => ["SET", k(), v()],
            10 => ["PERSIST", k()],
            11 => ["GETSET", k(), v()],
            12 => ["PFADD", "p" + r.Next(2), v(), v(), v()],
            13 => ["EXPIRE", "p" + r.Next(2), "1000"],
            14 => ["COPY", k(), k()],
            _ => ["DEL", k()],
        };
    }

    /// <summary>Every TTL entry shares its object's current array and key length; every object's key reads back as its key.</summary>
    string? CheckLayout() => LoopAccess.Run(_fx.Server, () =>
    {
        var db = _fx.Server.Databases[0];
        foreach (var x in db.Expires.Entries())
        {
            var o = db.Main.Find(x.KeySpan);
            if (o == null) return $"TTL entry for missing key {System.Text.Encoding.ASCII.GetString(x.KeySpan)}";
            if (!ReferenceEquals(o.KeyBuf, x.KeyBuf) || o.KeyLen != x.KeyLen)
                return $"TTL entry of {System.Text.Encoding.ASCII.GetString(x.KeySpan)} holds a stale array";
        }
        foreach (var o in db.Main.Entries())
        {
            if (o.IsString && o.Encoding == ObjEncoding.Int && o.ValueArea.Length != sizeof(long))
                return "an int-encoded string without exactly 8 value bytes";
            string name = System.Text.Encoding.ASCII.GetString(o.KeySpan);
            if (o.Ptr is byte[] b)
            {
                if (o.Encoding != ObjEncoding.Listpack) return $"{name}: a byte[] payload in encoding {o.Encoding}";
                if (!ReferenceEquals(b, o.KeyBuf)) return $"{name}: the listpack is not in the key's array";
                if (!Listpack.Validate(o.EmbeddedListpack.Bytes)) return $"{name}: the listpack after the key is corrupt";
            }
            else if (!o.IsString && o.KeyBuf.Length != o.KeyLen) return $"{name}: a container's key array holds more than the key";
        }
        if (db.UsedMemory != db.ComputeUsedMemory()) return $"UsedMemory {db.UsedMemory} != recount {db.ComputeUsedMemory()}";
        return (string?)null;
    });

    [Theory]
    [InlineData(1)]
    [InlineData(99)]
    public void TtlEntriesFollowStringArraysThroughEveryReallocatingWrite(int seed)
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        var r = new Random(seed);
        int volatileSeen = 0;
        for (int i = 0; i < 3000; i++)
        {
            var cmd = RandomCommand(r);
            c.Call(cmd);
            var problem = CheckLayout();
            Assert.True(problem == null, $"after op {i} '{string.Join(' ', cmd)}': {problem}");
            if (i % 100 == 0) volatileSeen += (int)LoopAccess.Run(_fx.Server, () => _fx.Server.Databases[0].Expires.Count);
        }
        Assert.True(volatileSeen > 0); // the run did exercise keys with a TTL
    }

    static string[] RandomContainerCommand(Random r)
    {
        string h() => "h" + r.Next(4);
        string z() => "z" + r.Next(4);
        string f() => "f" + r.Next(8);
        string v() => r.Next(6) == 0 ? new string('L', 70) : r.Next(3) == 0 ? r.Next(-99, 99999).ToString(System.Globalization.CultureInfo.InvariantCulture) : "v" + r.Next(100);
        string sc() => r.Next(3) == 0 ? "1.5" : r.Next(-5, 20).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return r.Next(20) switch
        {
            0 or 1 or 2 => ["HSET", h(), f(), v(), f(), v()],
            3 => ["HDEL", h(), f(), f()],
            4 => ["HINCRBY", h(), "n" + r.Next(2), "7"],
            5 => ["EXPIRE", r.Next(2) == 0 ? h() : z(), "1000"],
            6 => ["RENAME", r.Next(2) == 0 ? h() : z(), r.Next(2) == 0 ? h() : z()],
            7 => ["COPY", r.Next(2) == 0 ? h() : z(), r.Next(2) == 0 ? h() : z(), "REPLACE"],
            8 or 9 or 10 => ["ZADD", z(), sc(), f(), sc(), r.Next(8) == 0 ? new string('M', 70) : f()],
            11 => ["ZREM", z(), f(), f()],
            12 => ["ZREMRANGEBYRANK", z(), "0", r.Next(2).ToString(System.Globalization.CultureInfo.InvariantCulture)],
            13 => ["ZRANGESTORE", z(), z(), "0", r.Next(3).ToString(System.Globalization.CultureInfo.InvariantCulture)],
            14 => ["ZUNIONSTORE", z(), "2", z(), z()],
            15 => ["PERSIST", r.Next(2) == 0 ? h() : z()],
            16 => ["SET", r.Next(2) == 0 ? h() : z(), "str", "KEEPTTL"],
            17 => ["ZINCRBY", z(), "2", f()],
            18 => ["HSETNX", h(), f(), v()],
            _ => ["DEL", r.Next(2) == 0 ? h() : z()],
        };
    }

    [Theory]
    [InlineData(7)]
    [InlineData(2024)]
    public void ListpackHashesAndZSetsKeepTheirKeyInFrontAndTtlEntriesFollowThem(int seed)
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        var r = new Random(seed);
        int volatileSeen = 0, embedded = 0;
        for (int i = 0; i < 3000; i++)
        {
            var cmd = RandomContainerCommand(r);
            c.Call(cmd);
            var problem = CheckLayout();
            Assert.True(problem == null, $"after op {i} '{string.Join(' ', cmd)}': {problem}");
            if (i % 50 == 0)
            {
                volatileSeen += (int)LoopAccess.Run(_fx.Server, () => _fx.Server.Databases[0].Expires.Count);
                embedded += LoopAccess.Run(_fx.Server, () => _fx.Server.Databases[0].Main.Entries().Count(o => o.Ptr is byte[] && o.KeyLen > 0));
            }
        }
        Assert.True(volatileSeen > 0);
        Assert.True(embedded > 0);
        // What the keys hold survives a save and load (RDB encodings of the embedded listpacks).
        string digest = c.CallS("DEBUG", "DIGEST");
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD"));
        Assert.Equal(digest, c.CallS("DEBUG", "DIGEST"));
        Assert.Null(CheckLayout());
    }

    [Fact]
    public void AListpackHashLinkedUnderItsKeySharesOneArrayThatDumpRestoreAndConversionKeepRight()
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        c.Call("HSET", "hash:1", "field1", "val1-123", "field2", "val2-123");
        c.Call("EXPIRE", "hash:1", "1000");
        var (keyBuf, ptr, keyLen, expireBuf) = LoopAccess.Run(_fx.Server, () =>
        {
            var db = _fx.Server.Databases[0];
            var o = db.Main.Find("hash:1"u8)!;
            return (o.KeyBuf, o.Ptr, o.KeyLen, db.Expires.Find("hash:1"u8)!.KeyBuf);
        });
        Assert.Same(keyBuf, ptr);
        Assert.Same(keyBuf, expireBuf);
        Assert.Equal("hash:1", System.Text.Encoding.ASCII.GetString(keyBuf, 0, keyLen));
        // One array: the key, then exactly the listpack (rounded to 8 bytes).
        var lp = new Listpack(keyBuf, keyLen);
        Assert.Equal(4, lp.Count);
        Assert.Equal((keyLen + lp.TotalBytes + 7) & ~7, keyBuf.Length);
        Assert.Equal("\"listpack\"", c.CallS("OBJECT", "ENCODING", "hash:1"));

        var dump = c.Call("DUMP", "hash:1").Text!;
        c.Call("RESTORE", "copy", "0", dump);
        Assert.Equal(dump, c.Call("DUMP", "copy").Text);
        Assert.Equal(c.CallS("HGETALL", "hash:1"), c.CallS("HGETALL", "copy"));

        c.Call("HSET", "hash:1", "big", new string('x', 100)); // to hashtable: the key gets its own array
        Assert.Equal("\"hashtable\"", c.CallS("OBJECT", "ENCODING", "hash:1"));
        Assert.Equal("\"val2-123\"", c.CallS("HGET", "hash:1", "field2"));
        Assert.InRange(c.Call("TTL", "hash:1").Integer, 990, 1000);
        Assert.Null(CheckLayout());
    }

    [Fact]
    public void AppendToAVolatileStringKeepsItsTtlAndValue()
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        c.Call("SET", "k", "hello", "EX", "1000");
        Assert.Equal(11, c.Call("APPEND", "k", " world").Integer);
        Assert.Equal("\"hello world\"", c.CallS("GET", "k"));
        Assert.InRange(c.Call("TTL", "k").Integer, 990, 1000);
        Assert.Null(CheckLayout());
    }

    [Fact]
    public void IncrementOfARawDigitStringBecomesIntWithTheKeyStillReadable()
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        c.Call("SETRANGE", "n", "0", "41"); // SETRANGE leaves a raw string
        Assert.Equal("\"raw\"", c.CallS("OBJECT", "ENCODING", "n"));
        Assert.Equal(42, c.Call("INCR", "n").Integer);
        Assert.Equal("\"int\"", c.CallS("OBJECT", "ENCODING", "n"));
        Assert.Equal(1, c.Call("EXISTS", "n").Integer);
        Assert.Equal("\"42\"", c.CallS("GET", "n"));
    }

    /// <summary>The HLL's array, its expires entry's array, and whether UsedMemory matches a recount.</summary>
    (byte[] Value, byte[]? Expire, bool Accounted) HllArrays(string key) => LoopAccess.Run(_fx.Server, () =>
    {
        var db = _fx.Server.Databases[0];
        var k = System.Text.Encoding.ASCII.GetBytes(key);
        return (db.Main.Find(k)!.KeyBuf, db.Expires.Find(k)?.KeyBuf, db.UsedMemory == db.ComputeUsedMemory());
    });

    /// <summary>Runs body with hll-sparse-max-bytes at max, restoring the default for the other tests.</summary>
    void WithSparseMaxBytes(RespClient c, int max, Action body)
    {
        c.Call("CONFIG", "SET", "hll-sparse-max-bytes", max.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try { body(); }
        finally { c.Call("CONFIG", "SET", "hll-sparse-max-bytes", "3000"); }
    }

    [Fact]
    public void AVolatileSparseHllGrowingAndTurningDenseKeepsItsTtlOnItsCurrentArray()
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        WithSparseMaxBytes(c, 60, () =>
        {
            c.Call("PFADD", "h", "a");
            c.Call("EXPIRE", "h", "1000");
            var before = HllArrays("h");
            c.Call("PFADD", "h", "b", "c"); // the sparse opcodes split: a longer array
            var grown = HllArrays("h");
            Assert.Equal("+sparse", c.CallS("PFDEBUG", "ENCODING", "h"));
            Assert.True(grown.Value.Length > before.Value.Length);
            Assert.Same(grown.Value, grown.Expire);
            Assert.True(grown.Accounted);

            // Past 60 bytes the next split promotes the HLL to dense: a new 12,304-byte value after the key.
            for (int i = 0; i < 40 && c.CallS("PFDEBUG", "ENCODING", "h") == "+sparse"; i++) c.Call("PFADD", "h", "e" + i);
            Assert.Equal("+dense", c.CallS("PFDEBUG", "ENCODING", "h"));
            var dense = HllArrays("h");
            Assert.Equal(1 + 12304, dense.Value.Length);
            Assert.Same(dense.Value, dense.Expire);
            Assert.True(dense.Accounted);
            Assert.InRange(c.Call("TTL", "h").Integer, 990, 1000);
            Assert.Null(CheckLayout());

            // Dense registers then change in place: the same array, the TTL entry still on it.
            long count = c.Call("PFCOUNT", "h").Integer;
            c.Call("PFADD", "h", "more1", "more2", "more3");
            Assert.Same(dense.Value, HllArrays("h").Value);
            Assert.True(c.Call("PFCOUNT", "h").Integer > count);
            Assert.Same(dense.Value, HllArrays("h").Expire);
        });
    }

    [Fact]
    public void PfdebugTodenseAndPfmergeIntoAVolatileHllRetargetTheTtlEntry()
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        c.Call("PFADD", "t", "x", "y");
        c.Call("EXPIRE", "t", "1000");
        Assert.Equal(1, c.Call("PFDEBUG", "TODENSE", "t").Integer);
        var t = HllArrays("t");
        Assert.Same(t.Value, t.Expire);
        Assert.True(t.Accounted);

        // A dense source turns the sparse destination dense before the registers are merged.
        c.Call("PFADD", "m", "z");
        c.Call("EXPIRE", "m", "1000");
        Assert.Equal("OK", c.Call("PFMERGE", "m", "t").Text);
        Assert.Equal("+dense", c.CallS("PFDEBUG", "ENCODING", "m"));
        Assert.Equal(3, c.Call("PFCOUNT", "m").Integer);
        var m = HllArrays("m");
        Assert.Same(m.Value, m.Expire);
        Assert.True(m.Accounted);
        Assert.InRange(c.Call("TTL", "m").Integer, 990, 1000);
        Assert.Null(CheckLayout());
    }

    [Fact]
    public void RenameAndMoveCarryAStringWithItsTtlToTheNewKey()
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        c.Call("SET", "a", new string('x', 100), "EX", "1000");
        c.Call("RENAME", "a", "bb");
        Assert.Equal(0, c.Call("EXISTS", "a").Integer);
        Assert.Equal(100, c.Call("STRLEN", "bb").Integer);
        Assert.InRange(c.Call("TTL", "bb").Integer, 990, 1000);
        Assert.Null(CheckLayout());
        c.Call("MOVE", "bb", "1");
        c.Call("SELECT", "1");
        Assert.Equal(100, c.Call("STRLEN", "bb").Integer);
        Assert.InRange(c.Call("TTL", "bb").Integer, 990, 1000);
        c.Call("FLUSHALL");
    }
}
