// The running used-memory estimate (Database.UsedMemory) must equal a recomputation over the
// keyspace after any sequence of writes, or maxmemory eviction works from a drifting number.
// Random operations on every type run against a live server; after each one the two totals
// are compared on the loop thread, so a failure names the command that drifted.
using Cinnabar.Tests.Commands;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Keyspace;

public sealed class MemoryAccountingTests : IClassFixture<ServerFixture>
{
    readonly ServerFixture _fx;

    public MemoryAccountingTests(ServerFixture fx) => _fx = fx;

    static string Val(Random r)
    {
        // Mix small ints, short strings and values long enough to convert encodings (listpack -> hashtable, embstr -> raw).
        return r.Next(4) switch
        {
            0 => r.Next(-1000, 100000).ToString(System.Globalization.CultureInfo.InvariantCulture),
            1 => new string((char)('a' + r.Next(26)), r.Next(1, 10)),
            2 => new string('v', r.Next(40, 120)),
            _ => "m" + r.Next(600),
        };
    }

    static string[] RandomCommand(Random r)
    {
        string k(string t) => t + r.Next(6);
        string v() => Val(r);
        return r.Next(62) switch
        {
            0 => ["SET", k("s"), v()],
            1 => ["APPEND", k("s"), v()],
            2 => ["SETRANGE", k("s"), r.Next(0, 200).ToString(), v()],
            3 => ["INCRBY", k("s"), r.Next(-5, 5).ToString()],
            4 => ["INCRBYFLOAT", k("s"), "1.5"],
            5 => ["SETBIT", k("s"), r.Next(0, 2000).ToString(), "1"],
            6 => ["GETSET", k("s"), v()],
            7 => ["MSET", k("s"), v(), k("s"), v()],
            8 => ["GETDEL", k("s")],
            9 => ["SETEX", k("s"), "100", v()],
            10 => ["LPUSH", k("l"), v(), v(), v()],
            11 => ["RPUSH", k("l"), v()],
            12 => ["LPOP", k("l"), r.Next(1, 4).ToString()],
            13 => ["RPOP", k("l")],
            14 => ["LSET", k("l"), "0", v()],
            15 => ["LINSERT", k("l"), "BEFORE", v(), v()],
            16 => ["LREM", k("l"), "0", v()],
            17 => ["LTRIM", k("l"), "1", "-2"],
            18 => ["LMOVE", k("l"), k("l"), "LEFT", "RIGHT"],
            19 => ["HSET", k("h"), v(), v(), v(), v()],
            20 => ["HDEL", k("h"), v()],
            21 => ["HINCRBY", k("h"), "n" + r.Next(5), "3"],
            22 => ["HINCRBYFLOAT", k("h"), "f" + r.Next(5), "0.25"],
            23 => ["HSETNX", k("h"), v(), v()],
            24 => ["SADD", k("t"), v(), v(), v()],
            25 => ["SADD", k("t"), r.Next(1000).ToString(), r.Next(1000).ToString()],
            26 => ["SREM", k("t"), v()],
            27 => ["SPOP", k("t"), r.Next(1, 3).ToString()],
            28 => ["SMOVE", k("t"), k("t"), v()],
            29 => ["SINTERSTORE", k("t"), k("t"), k("t")],
            30 => ["SUNIONSTORE", k("t"), k("t"), k("t")],
            31 => ["SDIFFSTORE", k("t"), k("t"), k("t")],
            32 => ["PFADD", k("p"), v(), v(), v(), v(), v()],
            33 => ["PFMERGE", k("p"), k("p"), k("p")],
            34 => ["PFCOUNT", k("p")],
            35 => ["DEL", k("s"), k("l"), k("h")],
            36 => ["RENAME", k("h"), k("h")],
            37 => ["EXPIRE", k("t"), "100"],
            38 => ["COPY", k("h"), k("h")], // COPY of a list fails on main: Quicklist is not IDuplicable yet
            39 => ["SETRANGE", k("p"), "0", "x"], // corrupts an HLL into a plain string on purpose
            40 => ["ZADD", k("z"), r.Next(100).ToString(), v(), r.Next(100).ToString(), v()],
            41 => ["ZINCRBY", k("z"), "2.5", v()],
            42 => ["ZREM", k("z"), v(), v()],
            43 => ["ZPOPMIN", k("z"), r.Next(1, 4).ToString()],
            44 => ["ZREMRANGEBYRANK", k("z"), "0", "1"],
            45 => ["ZUNIONSTORE", k("z"), "2", k("z"), k("z")],
            46 => ["ZRANGESTORE", k("z"), k("z"), "0", "2"],
            47 => ["LMOVE", k("l"), k("l"), "RIGHT", "LEFT"],
            48 => ["RPOPLPUSH", k("l"), k("l")],
            49 => ["SMOVE", k("t"), k("t"), r.Next(1000).ToString()],
            50 => ["SPOP", k("t"), r.Next(1, 40).ToString()],
            51 => ["GEOADD", k("g"), (r.NextDouble() * 100).ToString("F4", System.Globalization.CultureInfo.InvariantCulture), "10.5", v()],
            52 => ["GEOSEARCHSTORE", k("z"), k("g"), "FROMLONLAT", "50", "10", "BYRADIUS", "5000", "km"],
            53 => ["SORT", k("l"), "ALPHA", "STORE", k("l")],
            54 => ["BITFIELD", k("s"), "SET", "u16", r.Next(0, 500).ToString(), "65535"],
            55 => ["BITOP", "OR", k("s"), k("s"), k("s")],
            56 => ["HDEL", k("h"), v(), v(), v()],
            57 => ["LTRIM", k("l"), "0", r.Next(0, 3).ToString()],
            58 => ["MOVE", k("s"), "1"],
            59 => ["PERSIST", k("t")],
            60 => ["PFCOUNT", k("p"), k("p")],
            _ => ["SWAPDB", "0", "1"],
        };
    }

    (long Running, long Recomputed) Totals() => LoopAccess.Run(_fx.Server, () =>
    {
        long running = 0, recomputed = 0;
        foreach (var db in _fx.Server.Databases)
        {
            running += db.UsedMemory;
            recomputed += db.ComputeUsedMemory();
        }
        return (running, recomputed);
    });

    [Theory]
    [InlineData(12345)]
    [InlineData(7)]
    [InlineData(2024)]
    public void RunningUsedMemoryMatchesRecomputationAfterRandomWritesOnEveryType(int seed)
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        var r = new Random(seed);
        var log = new StringWriter();
        _fx.Server.Log.Console = log;
        for (int i = 0; i < 4000; i++)
        {
            var cmd = RandomCommand(r);
            try
            {
                c.Call(cmd);
            }
            catch (IOException e)
            {
                throw new InvalidOperationException($"op {i} '{string.Join(' ', cmd)}' lost the connection: {log}", e);
            }
            var (running, recomputed) = Totals();
            Assert.True(running == recomputed, $"after op {i} '{string.Join(' ', cmd)}': running {running} != recomputed {recomputed}");
        }
        Assert.True(c.Call("DBSIZE").Integer > 10); // the run built a real keyspace of every type
        // Deleting everything returns the running total to zero.
        c.Call("FLUSHALL");
        Assert.Equal((0L, 0L), Totals());
    }

    [Fact]
    public void GrowingAHllFromSparseToDenseIsAccounted()
    {
        using var c = _fx.Connect();
        c.Call("FLUSHALL");
        for (int i = 0; i < 3000; i += 100)
        {
            c.Call(new[] { "PFADD", "hll" }.Concat(Enumerable.Range(i, 100).Select(n => "e" + n)).ToArray());
            var (running, recomputed) = Totals();
            Assert.Equal(recomputed, running);
        }
        Assert.Equal("\"raw\"", c.CallS("OBJECT", "ENCODING", "hll"));
    }
}
