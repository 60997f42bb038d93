// The active expire cycle driven directly with a controllable clock: keys go away with no
// access at all, effort widens the sampling, avg_ttl and the stale estimate follow the data.
// The integration half checks that an expired key is never observable through commands.
using System.Text;
using Cinnabar.Keyspace;
using Cinnabar.Server;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Keyspace;

public class ActiveExpireTests
{
    sealed class TestOwner : IKeyspaceOwner
    {
        public long NowMs { get; set; } = 1_000_000_000;
        public bool IsReplica => false;
        public bool ExpiryPaused => false;
        public readonly List<string> Expired = new();
        public void TouchObject(RedisObject o) { }
        public void InitObjectLru(RedisObject o) { }
        public void OnKeyspaceLookup(Database db, ReadOnlySpan<byte> key, bool hit, bool notify) { }
        public void OnKeyAdded(Database db, ReadOnlySpan<byte> key) { }
        public void OnKeyExpired(Database db, byte[] key) => Expired.Add(Encoding.ASCII.GetString(key));
        public void OnValueFreed(RedisObject o) { }
        public void SignalModifiedKey(Database db, ReadOnlySpan<byte> key) { }
        public void NotifyKeyspaceEvent(Cinnabar.Server.NotifyClass type, string eventName, ReadOnlySpan<byte> key, int dbId) { }
        public void AddDirty(long changes) { }
    }

    static (Database Db, TestOwner Owner, ActiveExpire Cycle) Create(int effort = 1)
    {
        var owner = new TestOwner();
        var db = new Database(0, owner);
        var config = new ServerConfig { ActiveExpireEffort = effort };
        var cycle = new ActiveExpire([db], config, new ServerStats(), new LatencyMonitor(config), () => owner.NowMs);
        return (db, owner, cycle);
    }

    static void AddKeys(Database db, string prefix, int n, long expireAt)
    {
        for (int i = 0; i < n; i++)
        {
            var key = Encoding.ASCII.GetBytes(prefix + i);
            db.Add(key, RedisObject.CreateString("v"u8));
            if (expireAt > 0) db.SetExpire(key, expireAt);
        }
    }

    [Fact]
    public void ExpiredKeysDisappearThroughTheCycleAloneWithoutAccess()
    {
        var (db, owner, cycle) = Create();
        AddKeys(db, "volatile:", 2000, owner.NowMs + 100);
        AddKeys(db, "persistent:", 500, 0);
        AddKeys(db, "later:", 300, owner.NowMs + 60_000);
        owner.NowMs += 101;
        for (int i = 0; i < 1000 && owner.Expired.Count < 2000; i++) cycle.Cycle(fast: false);
        Assert.Equal(2000, owner.Expired.Count);
        Assert.All(owner.Expired, k => Assert.StartsWith("volatile:", k));
        Assert.Equal(800, db.Count);
        Assert.Equal(300, db.Expires.Count);
    }

    [Fact]
    public void KeyWhoseDeadlineEqualsNowIsNotYetExpired()
    {
        var (db, owner, cycle) = Create();
        AddKeys(db, "k", 10, owner.NowMs);
        cycle.Cycle(fast: false);
        Assert.Equal(10, db.Count);
        owner.NowMs++;
        cycle.Cycle(fast: false);
        Assert.Equal(0, db.Count);
    }

    [Fact]
    public void HigherEffortSamplesMoreKeysPerLoop()
    {
        var (db1, owner1, cycle1) = Create(effort: 1);
        AddKeys(db1, "k", 5000, owner1.NowMs + 3_600_000);
        cycle1.Cycle(fast: false);
        var (db10, owner10, cycle10) = Create(effort: 10);
        AddKeys(db10, "k", 5000, owner10.NowMs + 3_600_000);
        cycle10.Cycle(fast: false);
        // effort 1: 20 keys per loop; effort 10: 20 + 5*9 = 65. Nothing is stale, so one loop each.
        Assert.InRange(cycle1.LastCycleSampled, 20, 64);
        Assert.InRange(cycle10.LastCycleSampled, 65, 200);
        Assert.Equal(0, cycle1.LastCycleExpired + cycle10.LastCycleExpired);
    }

    [Fact]
    public void AvgTtlTracksTheRemainingTimeToLiveOfSampledKeys()
    {
        var (db, owner, cycle) = Create();
        AddKeys(db, "k", 1000, owner.NowMs + 10_000);
        cycle.Cycle(fast: false);
        Assert.InRange(db.AvgTtl, 9_000, 10_000);
        owner.NowMs += 5_000;
        for (int i = 0; i < 200; i++) cycle.Cycle(fast: false);
        Assert.InRange(db.AvgTtl, 5_000, 9_000); // a moving average drifting toward 5000
    }

    [Fact]
    public void StalePercentageRisesWithExpiredSamplesAndDecaysWithoutThem()
    {
        var (db, owner, cycle) = Create();
        AddKeys(db, "dead", 5000, owner.NowMs + 10);
        AddKeys(db, "alive", 5000, owner.NowMs + 3_600_000);
        owner.NowMs += 11;
        cycle.Cycle(fast: false);
        double afterStale = cycle.StalePercent;
        Assert.True(afterStale > 0, "expired samples must raise the stale estimate");
        for (int i = 0; i < 1000 && db.Expires.Count > 5000; i++) cycle.Cycle(fast: false);
        Assert.Equal(5000, db.Expires.Count);
        double peak = cycle.StalePercent;
        for (int i = 0; i < 50; i++) cycle.Cycle(fast: false);
        Assert.True(cycle.StalePercent < peak, "cycles without expired samples must lower the estimate");
    }
}

public class ExpiredKeysAreNeverObservableTests : IDisposable
{
    // Active expiry off, so only passive expiry and the command paths decide what is visible.
    readonly ServerFixture _fx = new(config => config.ActiveExpireEnabled = false);

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void ExpiredKeyIsHiddenFromEveryReadPathButCountedByDbsizeUntilReclaimed()
    {
        using var c = _fx.Connect();
        c.Call("SET", "gone", "v");
        c.Call("SET", "kept", "v");
        Assert.Equal(":1", c.CallS("PEXPIRE", "gone", "20"));
        Thread.Sleep(100);
        // As in Redis, DBSIZE counts a key that expired but was not reclaimed yet...
        Assert.Equal(":2", c.CallS("DBSIZE"));
        var keys = c.Call("KEYS", "*");
        Assert.Equal(["kept"], keys.Items!.Select(i => i.Text));
        Assert.Equal(":2", c.CallS("DBSIZE")); // KEYS does not reclaim
        var scan = c.Call("SCAN", "0", "COUNT", "100");
        Assert.Equal(["kept"], scan.Items![1].Items!.Select(i => i.Text));
        Assert.Equal(":1", c.CallS("DBSIZE")); // ...and SCAN reclaims what it meets, like Redis
        c.Call("SET", "gone2", "v");
        c.Call("PEXPIRE", "gone2", "20");
        Thread.Sleep(100);
        Assert.Equal(":0", c.CallS("EXISTS", "gone2"));
        Assert.True(c.Call("GET", "gone2").IsNull);
        Assert.Equal(":-2", c.CallS("TTL", "gone2"));
        Assert.Equal("+none", c.CallS("TYPE", "gone2"));
        Assert.Equal(":1", c.CallS("DBSIZE"));
        Assert.Equal("\"kept\"", c.CallS("RANDOMKEY"));
    }
}
