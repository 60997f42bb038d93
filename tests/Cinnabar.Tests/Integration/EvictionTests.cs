// maxmemory eviction end to end: each policy against a live server with a limit set just above
// the current usage, checking which keys go (sampled LRU keeps recently read keys, LFU keeps hot
// keys, volatile-* touches only keys with a TTL, volatile-ttl takes the soonest expiry first),
// that used memory stays near the limit, the OOM reply, the "evicted" notification and stats.
using System.Globalization;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Integration;

public sealed class EvictionTests
{
    const string OomError = "-OOM command not allowed when used memory > 'maxmemory'.";
    static readonly string Value = new('x', 1000);

    static long InfoField(RespClient c, string section, string field)
    {
        string info = c.Call("INFO", section).Text!;
        foreach (var line in info.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
                return long.Parse(line[(field.Length + 1)..], CultureInfo.InvariantCulture);
        throw new InvalidOperationException("no INFO field " + field);
    }

    static long UsedMemory(RespClient c) => InfoField(c, "memory", "used_memory");

    /// <summary>Pipelines the commands and returns the replies (one write per batch, as a client library would).</summary>
    static List<RespReply> Pipeline(RespClient c, IEnumerable<string[]> commands)
    {
        var replies = new List<RespReply>();
        foreach (var batch in commands.Chunk(50))
        {
            var buf = new List<byte>();
            foreach (var cmd in batch) buf.AddRange(RespClient.Encode(cmd));
            c.SendRaw(buf.ToArray());
            foreach (var _ in batch) replies.Add(c.Read());
        }
        return replies;
    }

    static void Fill(RespClient c, string prefix, int count, int ttlSeconds = 0, Func<int, int>? ttlOf = null)
    {
        var cmds = Enumerable.Range(0, count).Select(i =>
            ttlOf != null ? ["SET", prefix + i, Value, "EX", ttlOf(i).ToString(CultureInfo.InvariantCulture)]
            : ttlSeconds > 0 ? ["SET", prefix + i, Value, "EX", ttlSeconds.ToString(CultureInfo.InvariantCulture)]
            : new[] { "SET", prefix + i, Value });
        var replies = Pipeline(c, cmds);
        Assert.All(replies, r => Assert.Equal("+OK", r.ToString()));
    }

    static int Surviving(RespClient c, string prefix, IEnumerable<int> ids) =>
        Pipeline(c, ids.Select(i => new[] { "EXISTS", prefix + i })).Count(r => r.Integer == 1);

    /// <summary>Sets the limit to the current usage plus some headroom, under the given policy.</summary>
    static long LimitAtCurrentUsage(RespClient c, string policy, long headroom = 20_000)
    {
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "maxmemory-policy", policy));
        long limit = UsedMemory(c) + headroom;
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "maxmemory", limit.ToString(CultureInfo.InvariantCulture)));
        return limit;
    }

    [Fact]
    public void NoevictionRefusesDenyoomCommandsWithRedisOomErrorButServesReadsAndDeletes()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("SET", "k", "v");
        c.Call("CONFIG", "SET", "maxmemory", "1");
        Assert.Equal(OomError, c.CallS("SET", "a", "b"));
        Assert.Equal(OomError, c.CallS("LPUSH", "l", "x"));
        Assert.Equal("\"v\"", c.CallS("GET", "k"));
        Assert.Equal(":1", c.CallS("DEL", "k"));
        Assert.Equal(0, InfoField(c, "stats", "evicted_keys"));
        // MULTI queueing is refused too; EXEC of a transaction holding a denyoom command aborts.
        Assert.Equal("+OK", c.CallS("MULTI"));
        Assert.Equal(OomError, c.CallS("GET", "k"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", c.CallS("EXEC"));
        using var admin = fx.Connect();
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "maxmemory", "0"));
        Assert.Equal("+OK", c.CallS("MULTI"));
        Assert.Equal("+QUEUED", c.CallS("SET", "a", "b"));
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "maxmemory", "1"));
        Assert.Equal("-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.", c.CallS("EXEC"));
    }

    [Fact]
    public void AllkeysLruKeepsRecentlyReadKeysAndStaysNearTheLimit()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Fill(c, "old:", 1000);
        Thread.Sleep(2100); // the LRU clock has one-second resolution
        Pipeline(c, Enumerable.Range(0, 200).Select(i => new[] { "GET", "old:" + i }));
        long limit = LimitAtCurrentUsage(c, "allkeys-lru");
        Fill(c, "new:", 600);
        Assert.InRange(UsedMemory(c), limit - 50_000, limit + 5_000); // the last write may overshoot by its own size, as in Redis
        Assert.True(InfoField(c, "stats", "evicted_keys") >= 500);
        int readKept = Surviving(c, "old:", Enumerable.Range(0, 200));
        int unreadKept = Surviving(c, "old:", Enumerable.Range(200, 800));
        Assert.True(readKept >= 190, $"recently read keys kept: {readKept}/200");
        Assert.True(unreadKept <= 400, $"idle keys kept: {unreadKept}/800");
    }

    [Fact]
    public void VolatileLruEvictsOnlyKeysWithTtlThenReturnsOom()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Fill(c, "persist:", 300);
        Fill(c, "volatile:", 300, ttlSeconds: 1000);
        LimitAtCurrentUsage(c, "volatile-lru");
        var replies = Pipeline(c, Enumerable.Range(0, 600).Select(i => new[] { "SET", "new:" + i, Value }));
        Assert.Equal(300, Surviving(c, "persist:", Enumerable.Range(0, 300)));
        Assert.Equal(0, Surviving(c, "volatile:", Enumerable.Range(0, 300)));
        // Once no key has a TTL nothing can be freed: the writes past that point are refused.
        Assert.Contains(replies, r => r.ToString() == OomError);
        Assert.Equal(300, InfoField(c, "stats", "evicted_keys"));
        Assert.Equal(OomError, c.CallS("SET", "another", "v"));
    }

    [Fact]
    public void VolatilePoliciesWithoutTtlKeysReplyOom()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Fill(c, "k:", 50);
        foreach (var policy in new[] { "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl" })
        {
            c.Call("CONFIG", "SET", "maxmemory-policy", policy);
            c.Call("CONFIG", "SET", "maxmemory", "1");
            Assert.Equal(OomError, c.CallS("SET", "x", "y"));
            Assert.Equal(50, c.Call("DBSIZE").Integer);
            c.Call("CONFIG", "SET", "maxmemory", "0");
        }
    }

    [Fact]
    public void VolatileTtlEvictsTheSoonestExpiringKeysFirst()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Fill(c, "t:", 600, ttlOf: i => 10_000 + i * 10); // t:0 expires first
        LimitAtCurrentUsage(c, "volatile-ttl");
        Fill(c, "new:", 300);
        int soonKept = Surviving(c, "t:", Enumerable.Range(0, 150));
        int lateKept = Surviving(c, "t:", Enumerable.Range(450, 150));
        // Sampling approximates the order (a random choice would keep ~75 of each group).
        Assert.True(soonKept <= 40, $"soonest-expiring keys kept: {soonKept}/150");
        Assert.True(lateKept >= 135, $"latest-expiring keys kept: {lateKept}/150");
    }

    [Fact]
    public void AllkeysLfuKeepsHotKeys()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu");
        Fill(c, "k:", 1000);
        // 100 hot keys read 100 times each: their counters climb well above LFU_INIT_VAL.
        Pipeline(c, Enumerable.Range(0, 100).SelectMany(_ => Enumerable.Range(0, 100).Select(i => new[] { "GET", "k:" + (i * 10) })));
        var freq = c.Call("OBJECT", "FREQ", "k:0").Integer;
        Assert.True(freq > 5, $"hot key counter {freq}");
        LimitAtCurrentUsage(c, "allkeys-lfu");
        Fill(c, "new:", 600);
        int hotKept = Surviving(c, "k:", Enumerable.Range(0, 100).Select(i => i * 10));
        Assert.True(hotKept >= 95, $"hot keys kept: {hotKept}/100");
        Assert.True(InfoField(c, "stats", "evicted_keys") >= 500);
    }

    [Theory]
    [InlineData("allkeys-random")]
    [InlineData("volatile-random")]
    [InlineData("allkeys-lru")]
    [InlineData("volatile-lfu")]
    public void EveryEvictingPolicyKeepsUsedMemoryUnderTheLimit(string policy)
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        long limit = LimitAtCurrentUsage(c, policy, headroom: 300_000);
        Fill(c, "k:", 2000, ttlSeconds: 1000);
        long used = UsedMemory(c);
        Assert.InRange(used, limit - 100_000, limit + 5_000);
        long keys = c.Call("DBSIZE").Integer;
        Assert.Equal(2000 - keys, InfoField(c, "stats", "evicted_keys"));
        Assert.Equal(limit, InfoField(c, "memory", "maxmemory"));
    }

    [Fact]
    public void EvictionSendsEvictedNotificationsAndCountsThem()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        using var sub = fx.Connect();
        c.Call("CONFIG", "SET", "notify-keyspace-events", "Ee");
        Assert.Equal("*[\"subscribe\", \"__keyevent@0__:evicted\", :1]", sub.CallS("SUBSCRIBE", "__keyevent@0__:evicted"));
        Fill(c, "k:", 100);
        LimitAtCurrentUsage(c, "allkeys-random");
        Fill(c, "n:", 50);
        long evicted = InfoField(c, "stats", "evicted_keys");
        Assert.True(evicted >= 20, $"evicted {evicted}");
        var keys = new List<string>();
        for (int i = 0; i < evicted; i++)
        {
            var m = sub.Read();
            Assert.Equal("message", m.Items![0].Text);
            Assert.Equal("__keyevent@0__:evicted", m.Items[1].Text);
            keys.Add(m.Items[2].Text!);
        }
        Assert.All(keys, k => Assert.Equal(":0", c.CallS("EXISTS", k)));
        sub.AssertNoReply(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void EvictionTouchesWatchedKeys()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        using var w = fx.Connect();
        c.Call("SET", "watched", Value);
        Assert.Equal("+OK", w.CallS("WATCH", "watched"));
        w.Call("MULTI");
        w.Call("PING");
        c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-random");
        c.Call("CONFIG", "SET", "maxmemory", "1"); // evicts everything at once
        Assert.Equal(0, c.Call("DBSIZE").Integer);
        c.Call("CONFIG", "SET", "maxmemory", "0");
        Assert.Equal("*nil", w.CallS("EXEC"));
    }

    [Fact]
    public void TheKeyspaceTableDoesNotGrowPastMaxmemory()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-random");
        // 4096 keys fill a 4096-bucket table: the next key would grow it to 8192 buckets (64 KiB).
        var replies = Pipeline(c, Enumerable.Range(0, 4096).Select(i => new[] { "SET", "key:" + i, "v" }));
        Assert.All(replies, r => Assert.Equal("+OK", r.ToString()));
        long limit = UsedMemory(c) + 10 * 1024;
        c.Call("CONFIG", "SET", "maxmemory", limit.ToString(CultureInfo.InvariantCulture));
        c.Call("SET", "k1", "v1");
        c.Call("SET", "k2", "v2");
        // Growing would have crossed the limit and evicted keys: the table stays, the chains lengthen.
        Assert.Equal(4098, c.Call("DBSIZE").Integer);
        Assert.Equal(0, InfoField(c, "stats", "evicted_keys"));
    }

    [Fact]
    public void InfoReportsMaxmemoryFields()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("CONFIG", "SET", "maxmemory", "100mb");
        c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu");
        string info = c.Call("INFO", "memory").Text!;
        Assert.Contains("maxmemory:104857600\r\n", info);
        Assert.Contains("maxmemory_human:100.00M\r\n", info);
        Assert.Contains("maxmemory_policy:allkeys-lfu\r\n", info);
        Assert.Contains("mem_not_counted_for_evict:0\r\n", info);
        Assert.Equal(0, InfoField(c, "stats", "evicted_clients"));
        Assert.Equal(0, InfoField(c, "stats", "current_eviction_exceeded_time"));
    }
}
