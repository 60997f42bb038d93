// SRANDMEMBER, HRANDFIELD and RANDOMKEY pick members of a hash table fairly
// (dictGetFairRandomKey), not by a random bucket, which favours members alone in their bucket.
// As Redis's own suite checks it: 1000 picks from 10 members, a chi-square below 40 (9 degrees
// of freedom: a fair pick exceeds it with probability 0.00001; the bucket pick scored ~90-130).
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Commands;

public sealed class RandomMemberFairnessTests
{
    static double ChiSquare(IEnumerable<string> picks)
    {
        var counts = picks.GroupBy(p => p).Select(g => g.Count()).ToList();
        double expected = (double)counts.Sum() / counts.Count;
        return counts.Sum(n => (n - expected) * (n - expected) / expected);
    }

    static readonly RedisValue[] Members = [.. Enumerable.Range(0, 10).Select(i => (RedisValue)("member:" + i))];

    static ConnectionMultiplexer Connect(ServerFixture fx) => ConnectionMultiplexer.Connect($"127.0.0.1:{fx.Port},syncTimeout=5000");

    [Fact]
    public void Srandmember_of_a_hashtable_set_is_fair()
    {
        using var fx = new ServerFixture();
        using var conn = Connect(fx);
        var db = conn.GetDatabase();
        db.SetAdd("fair:set", Members);
        Assert.Equal("hashtable", db.KeyEncoding("fair:set"));
        var picks = db.SetRandomMembers("fair:set", -1000).Select(v => (string)v!).ToList();
        Assert.Equal(1000, picks.Count);
        Assert.True(ChiSquare(picks) < 40, "chi-square " + ChiSquare(picks));
    }

    [Fact]
    public void Hrandfield_of_a_hashtable_hash_is_fair()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("hash-max-listpack-entries", "0", startup: true));
        using var conn = Connect(fx);
        var db = conn.GetDatabase();
        db.HashSet("fair:hash", [.. Members.Select(m => new HashEntry(m, "v"))]);
        Assert.Equal("hashtable", db.KeyEncoding("fair:hash"));
        var picks = db.HashRandomFields("fair:hash", -1000).Select(v => (string)v!).ToList();
        Assert.Equal(1000, picks.Count);
        Assert.True(ChiSquare(picks) < 40, "chi-square " + ChiSquare(picks));
    }

    [Fact]
    public async Task Randomkey_is_fair()
    {
        using var fx = new ServerFixture();
        using var conn = Connect(fx);
        var db = conn.GetDatabase();
        db.StringSet([.. Members.Select(m => new KeyValuePair<RedisKey, RedisValue>((string)m!, "v"))]);
        var picks = (await Task.WhenAll(Enumerable.Range(0, 1000).Select(_ => db.KeyRandomAsync()))).Select(k => (string)k!).ToList();
        Assert.True(ChiSquare(picks) < 40, "chi-square " + ChiSquare(picks));
    }
}
