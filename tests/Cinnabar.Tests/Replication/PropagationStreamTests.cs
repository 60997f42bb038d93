// What call() propagates, read off a replica's stream: commands that change nothing send
// nothing, one write leaves as itself, several writes of one unit leave inside MULTI/EXEC,
// SELECT precedes a change of db, deletions by expiry and eviction leave as DEL at once,
// PUBLISH and FLUSHALL leave even when nothing changed, and a blocked client served later is
// propagated, counted and logged through call() like any command. The byte-for-byte
// comparison with redis-server is the replication-stream differential test.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Replication;

public sealed class PropagationStreamTests : IDisposable
{
    readonly ReplicaStreamTap _tap = new();
    ServerFixture _fx => _tap.Server;
    RespClient _c => _tap.Client;

    public void Dispose() => _tap.Dispose();

    string Next() => _tap.Next();

    /// <summary>A marker write proves nothing else was propagated before it.</summary>
    void AssertNothingPropagatedBeforeMarker()
    {
        _c.Call("SET", "marker", "1");
        Assert.Equal("SET marker 1", Next());
    }

    [Fact]
    public void CommandsThatChangeNothingPropagateNothing()
    {
        _c.Call("SADD", "s", "a");
        Assert.Equal("SADD s a", Next());
        _c.Call("SADD", "s", "a");
        _c.Call("DEL", "missing");
        _c.Call("GET", "s");
        _c.Call("EXPIRE", "missing", "10");
        _c.Call("LPUSH", "s", "wrongtype");
        AssertNothingPropagatedBeforeMarker();
    }

    [Fact]
    public void ATransactionWithSeveralWritesIsWrappedAndOneWithASingleWriteIsNot()
    {
        _c.Call("MULTI");
        _c.Call("SET", "a", "1");
        _c.Call("GET", "a");
        _c.Call("SET", "b", "2");
        _c.Call("EXEC");
        Assert.Equal("MULTI", Next());
        Assert.Equal("SET a 1", Next());
        Assert.Equal("SET b 2", Next());
        Assert.Equal("EXEC", Next());

        _c.Call("MULTI");
        _c.Call("INCR", "n");
        _c.Call("GET", "n");
        _c.Call("EXEC");
        Assert.Equal("INCR n", Next());

        _c.Call("MULTI");
        _c.Call("GET", "n");
        _c.Call("EXEC");
        AssertNothingPropagatedBeforeMarker();
    }

    [Fact]
    public void SelectIsSentOnlyWhenTheDatabaseChanges()
    {
        _c.Call("SELECT", "3");
        _c.Call("SET", "x", "1");
        _c.Call("SET", "y", "1");
        _c.Call("SELECT", "0");
        _c.Call("SET", "z", "1");
        Assert.Equal("SELECT 3", Next());
        Assert.Equal("SET x 1", Next());
        Assert.Equal("SET y 1", Next());
        Assert.Equal("SELECT 0", Next());
        Assert.Equal("SET z 1", Next());
    }

    [Fact]
    public void RelativeExpiriesArePropagatedAsAbsoluteDeadlines()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        _c.Call("SET", "k", "v", "EX", "100");
        var set = Next().Split(' ');
        Assert.Equal(["SET", "k", "v", "PXAT"], set[..4]);
        Assert.InRange(long.Parse(set[4]), now + 99_000, now + 102_000);
        _c.Call("EXPIRE", "k", "50", "GT");
        AssertNothingPropagatedBeforeMarker(); // GT refused: nothing changed
        _c.Call("PEXPIRE", "k", "200000", "GT");
        var pexpire = Next().Split(' ');
        Assert.Equal(["PEXPIREAT", "k"], pexpire[..2]);
        Assert.Equal("GT", pexpire[3]);
        _c.Call("EXPIRE", "k", "-1");
        Assert.Equal("DEL k", Next());
        _c.Call("INCRBYFLOAT", "f", "1.5");
        Assert.Equal("SET f 1.5 KEEPTTL", Next());
    }

    [Fact]
    public void ALazilyExpiredKeysDelJoinsTheUnitOfTheCommandThatFoundIt()
    {
        _c.Call("DEBUG", "SET-ACTIVE-EXPIRE", "0");
        try
        {
            _c.Call("SET", "short", "1", "PX", "20");
            Assert.StartsWith("SET short 1 PXAT ", Next());
            Thread.Sleep(60);
            // Two commands in one unit: the DEL and the SET leave together, as in Redis 7.0.
            _c.Call("SET", "short", "2");
            Assert.Equal("MULTI", Next());
            Assert.Equal("DEL short", Next());
            Assert.Equal("SET short 2", Next());
            Assert.Equal("EXEC", Next());
            // A read that finds its key expired propagates the DEL alone.
            _c.Call("SET", "short", "3", "PX", "20");
            Assert.StartsWith("SET short 3 PXAT ", Next());
            Thread.Sleep(60);
            _c.Call("GET", "short");
            Assert.Equal("DEL short", Next());
        }
        finally
        {
            _c.Call("DEBUG", "SET-ACTIVE-EXPIRE", "1");
        }
    }

    [Fact]
    public void AnEvictedKeyIsPropagatedAsDel()
    {
        _c.Call("SET", "victim", "v");
        Assert.Equal("SET victim v", Next());
        _c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
        _c.Call("CONFIG", "SET", "maxmemory", "1");
        _c.Call("CONFIG", "SET", "maxmemory", "0");
        // One bare DEL per key, from the eviction time event CONFIG SET started.
        var deleted = new HashSet<string> { Next(), Next() };
        Assert.Equal(["DEL start", "DEL victim"], deleted.Order());
    }

    [Fact]
    public void ALimitLoweredInsideMultiEvictsAfterExec()
    {
        _c.Call("DEL", "start");
        Assert.Equal("DEL start", Next());
        _c.Call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
        _c.Call("MULTI");
        _c.Call("INCR", "x");
        _c.Call("CONFIG", "SET", "maxmemory", "1");
        _c.Call("INCR", "x");
        Assert.Equal("*[:1, +OK, :2]", _c.CallS("EXEC"));
        // The transaction's writes stay together; the eviction is not inside it (Redis 7.0's updateMaxmemory).
        Assert.Equal("MULTI", Next());
        Assert.Equal("INCR x", Next());
        Assert.Equal("INCR x", Next());
        Assert.Equal("EXEC", Next());
        Assert.Equal("DEL x", Next());
        _c.Call("CONFIG", "SET", "maxmemory", "0");
    }

    [Fact]
    public void PublishAndFlushOfEmptyDatabasesArePropagatedAnyway()
    {
        _c.Call("PUBLISH", "channel", "message");
        Assert.Equal("PUBLISH channel message", Next());
        _c.Call("SELECT", "5");
        _c.Call("FLUSHDB");
        Assert.Equal("SELECT 5", Next());
        Assert.Equal("FLUSHDB", Next());
    }

    [Fact]
    public void AServedBlockingPopIsPropagatedCountedAndLoggedThroughCall()
    {
        _c.Call("CONFIG", "RESETSTAT");
        _c.Call("SLOWLOG", "RESET");
        _c.Call("CONFIG", "SET", "slowlog-log-slower-than", "0");
        try
        {
            using var blocked = _fx.Connect();
            blocked.Send("BLPOP", "queue", "5");
            _fx.WaitBlocked(1);
            Assert.DoesNotContain("cmdstat_blpop", _c.CallS("INFO", "commandstats"));
            _c.Call("RPUSH", "queue", "job");
            Assert.Equal("*[\"queue\", \"job\"]", blocked.Read().ToString());
            Assert.Equal("RPUSH queue job", Next());
            Assert.Equal("LPOP queue", Next());
            Assert.Contains("cmdstat_blpop:calls=1,", _c.CallS("INFO", "commandstats"));
            var slowlog = _c.Call("SLOWLOG", "GET", "10");
            Assert.Contains(slowlog.Items!, e => e.Items![3].Items![0].Text == "BLPOP");
        }
        finally
        {
            _c.Call("CONFIG", "SET", "slowlog-log-slower-than", "10000");
        }
    }

    [Fact]
    public void GeoaddPropagatesAsTheZaddItRanWhileTheSlowlogKeepsTheGeoadd()
    {
        _c.Call("CONFIG", "SET", "slowlog-log-slower-than", "0");
        try
        {
            _c.Call("SLOWLOG", "RESET");
            _c.Call("GEOADD", "cities", "-122.33207", "47.60621", "Seattle");
            Assert.Equal("zadd cities 1558507292839943 Seattle", Next());
            var entry = _c.Call("SLOWLOG", "GET", "1").Items![0];
            Assert.Equal("GEOADD cities -122.33207 47.60621 Seattle", string.Join(" ", entry.Items![3].Items!.Select(i => i.Text)));
        }
        finally
        {
            _c.Call("CONFIG", "SET", "slowlog-log-slower-than", "10000");
        }
    }

    [Fact]
    public void SpopPropagatesTheMembersItRemoved()
    {
        _c.Call("SADD", "s", "a", "b", "c", "d", "e", "f");
        Assert.Equal("SADD s a b c d e f", Next());
        var popped = _c.Call("SPOP", "s", "2").Items!.Select(i => i.Text).ToHashSet();
        Assert.Equal("MULTI", Next());
        var removed = new HashSet<string?> { Next()[7..], Next()[7..] };
        Assert.Equal("EXEC", Next());
        Assert.Equal(popped, removed);
        var one = _c.Call("SPOP", "s").Text;
        Assert.Equal("SREM s " + one, Next());
        _c.Call("SPOP", "s", "10");
        Assert.Equal("DEL s", Next());
    }
}
