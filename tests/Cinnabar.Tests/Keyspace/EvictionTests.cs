// Unit tests for evict.c's arithmetic and the eviction pool: the LFU logarithmic counter
// against the growth table in Redis's redis.conf, LFU decay (including the 16-bit minute wrap),
// the tenacity time limit, and the pool's ordering, bounded size and ghost skipping.
using System.Text;
using Cinnabar.Keyspace;

namespace Cinnabar.Tests.Keyspace;

public sealed class EvictionTests
{
    sealed class Owner : IKeyspaceOwner
    {
        public long NowMs { get; set; } = 1_700_000_000_000;
        public bool IsReplica => false;
        public bool ExpiryPaused => false;
        public void TouchObject(RedisObject o) { }
        public void InitObjectLru(RedisObject o) { }
        public void OnKeyspaceLookup(Database db, ReadOnlySpan<byte> key, bool hit, bool notify) { }
        public void OnKeyAdded(Database db, ReadOnlySpan<byte> key) { }
        public void OnKeyExpired(Database db, byte[] key) { }
        public void OnValueFreed(RedisObject o) { }
        public void SignalModifiedKey(Database db, ReadOnlySpan<byte> key) { }
        public void NotifyKeyspaceEvent(Cinnabar.Server.NotifyClass type, string eventName, ReadOnlySpan<byte> key, int dbId) { }
        public void AddDirty(long changes) { }
    }

    static byte[] K(string s) => Encoding.ASCII.GetBytes(s);

    [Theory]
    [InlineData(5u, 10, 0.999, 6u)]   // at or below LFU_INIT_VAL the increment is certain
    [InlineData(0u, 10, 0.999, 1u)]
    [InlineData(6u, 10, 0.0909, 7u)]  // p = 1/(1*10+1) = 0.0909...
    [InlineData(6u, 10, 0.0910, 6u)]
    [InlineData(15u, 1, 0.0908, 16u)] // p = 1/(10*1+1)
    [InlineData(15u, 1, 0.0910, 15u)]
    [InlineData(255u, 0, 0.0, 255u)]  // saturates
    public void LogIncrIncrementsWithProbabilityOneOverBaseTimesFactorPlusOne(uint counter, int factor, double r, uint expected) =>
        Assert.Equal(expected, Eviction.LogIncr(counter, factor, r));

    static double MeanCounterAfterHits(int factor, int hits)
    {
        double sum = 0;
        for (int seed = 0; seed < 20; seed++)
        {
            var rng = new Random(seed);
            uint c = Eviction.LfuInitVal;
            for (int i = 0; i < hits && c < 255; i++) c = Eviction.LogIncr(c, factor, rng.NextDouble());
            sum += c;
        }
        return sum / 20;
    }

    // The table in Redis's redis.conf (lfu-log-factor): counter after N hits for a factor.
    [Theory]
    [InlineData(10, 100, 10)]
    [InlineData(10, 1000, 18)]
    [InlineData(10, 100_000, 142)]
    [InlineData(1, 100, 18)]
    [InlineData(1, 1000, 49)]
    [InlineData(100, 1000, 11)]
    [InlineData(100, 100_000, 49)]
    [InlineData(10, 10_000_000, 255)]
    public void LfuCounterGrowsAsRedisDocumentsForTheLogFactor(int factor, int hits, int redisTable)
    {
        double mean = MeanCounterAfterHits(factor, hits);
        Assert.InRange(mean, redisTable * 0.85, redisTable * 1.15 + 1);
    }

    [Fact]
    public void LfuFactorZeroIncrementsOnEveryHit()
    {
        uint c = Eviction.LfuInitVal;
        for (int i = 0; i < 100; i++) c = Eviction.LogIncr(c, 0);
        Assert.Equal(105u, c);
    }

    [Theory]
    [InlineData(1000u, 20u, 1010u, 1, 10u)]  // one per minute
    [InlineData(1000u, 20u, 1010u, 2, 15u)]  // one per two minutes
    [InlineData(1000u, 20u, 1010u, 0, 20u)]  // decay disabled
    [InlineData(1000u, 20u, 1100u, 1, 0u)]   // floors at zero
    [InlineData(65530u, 20u, 5u, 1, 10u)]    // the minutes clock wraps: 65535 - 65530 + 5 elapsed
    public void LfuCounterDecaysOnePerDecayTimeMinutes(uint ldt, uint counter, uint now, int decayTime, uint expected) =>
        Assert.Equal(expected, Eviction.DecrAndReturn((ldt << 8) | counter, now, decayTime));

    [Fact]
    public void IdleTimeWrapsAtTheTwentyFourBitClock()
    {
        Assert.Equal(5000, Eviction.IdleTimeMs(100, 105));
        Assert.Equal((Eviction.LruClockMax - (Eviction.LruClockMax - 2) + 3) * 1000L, Eviction.IdleTimeMs((uint)Eviction.LruClockMax - 2, 3));
    }

    [Theory]
    [InlineData(0, 0L)]
    [InlineData(10, 500L)]
    [InlineData(11, 575L)]
    [InlineData(99, 126_205_358L)]
    [InlineData(100, long.MaxValue)]
    public void TenacityTimeLimitFollowsRedisProgression(int tenacity, long expectedUs)
    {
        long got = Eviction.TimeLimitUs(tenacity);
        if (expectedUs == long.MaxValue) Assert.Equal(long.MaxValue, got);
        else Assert.InRange(got, expectedUs - expectedUs / 1000 - 1, expectedUs + expectedUs / 1000 + 1);
    }

    [Fact]
    public void PoolKeepsTheSixteenBestCandidatesInAscendingOrder()
    {
        var pool = new EvictionPool();
        var order = Enumerable.Range(0, 40).OrderBy(i => (i * 17) % 40).ToList();
        foreach (int i in order) pool.Insert(K("k" + i), (ulong)i, 0);
        var kept = pool.Entries().Select(e => e.Idle).ToList();
        Assert.Equal(Enumerable.Range(24, 16).Select(i => (ulong)i), kept);
    }

    [Fact]
    public void PoolPopsTheBestLiveKeyAndSkipsGhosts()
    {
        var owner = new Owner();
        var db = new Database(0, owner);
        foreach (var k in new[] { "a", "b", "c" }) db.Add(K(k), RedisObject.CreateString(K("v")));
        var pool = new EvictionPool();
        pool.Insert(K("a"), 10, 0);
        pool.Insert(K("b"), 30, 0);
        pool.Insert(K("ghost"), 50, 0);
        pool.Insert(K("c"), 20, 0);
        var best = pool.PopBest([db], allKeys: true);
        Assert.Equal("b", Encoding.ASCII.GetString(best!.Value.Key));
        Assert.Equal(2, pool.Count); // the ghost and b were removed
        Assert.Equal("c", Encoding.ASCII.GetString(pool.PopBest([db], allKeys: true)!.Value.Key));
    }

    [Fact]
    public void PopulateScoresLruByIdleTimeAndTtlBySoonestExpiry()
    {
        var owner = new Owner();
        var db = new Database(0, owner);
        for (int i = 0; i < 10; i++)
        {
            var o = RedisObject.CreateString(K("v"));
            db.Add(K("k" + i), o);
            o.Lru = (uint)(1000 + i); // k0 is the idlest
            db.SetExpire(K("k" + i), owner.NowMs + 100_000 - i * 1000); // k9 expires first
        }
        var lru = new EvictionPool();
        lru.Populate(db, 100, new EvictionPool.ScoreContext(MaxmemoryPolicy.AllKeysLru, 2000, 0, 1));
        Assert.Equal("k0", Encoding.ASCII.GetString(lru.PopBest([db], allKeys: true)!.Value.Key));

        var ttl = new EvictionPool();
        ttl.Populate(db, 100, new EvictionPool.ScoreContext(MaxmemoryPolicy.VolatileTtl, 2000, 0, 1));
        Assert.Equal("k9", Encoding.ASCII.GetString(ttl.PopBest([db], allKeys: false)!.Value.Key));
    }

    [Fact]
    public void PopulateScoresLfuByInvertedDecayedCounter()
    {
        var owner = new Owner();
        var db = new Database(0, owner);
        uint now = Eviction.LfuMinutes(owner.NowMs);
        for (int i = 0; i < 10; i++)
        {
            var o = RedisObject.CreateString(K("v"));
            db.Add(K("k" + i), o);
            o.Lru = (now << 8) | (uint)(50 - i); // k9 is the least frequently used
        }
        var pool = new EvictionPool();
        pool.Populate(db, 100, new EvictionPool.ScoreContext(MaxmemoryPolicy.AllKeysLfu, 0, now, 1));
        Assert.Equal("k9", Encoding.ASCII.GetString(pool.PopBest([db], allKeys: true)!.Value.Key));
    }
}
