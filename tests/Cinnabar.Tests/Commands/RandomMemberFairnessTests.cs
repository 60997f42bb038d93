// SRANDMEMBER, HRANDFIELD and RANDOMKEY pick members of a hash table fairly
// (dictGetFairRandomKey), not by a random bucket, which favours members alone in their bucket.
// As Redis's own suite checks it: 1000 picks from 10 members, a chi-square below 40 (9 degrees
// of freedom: a fair pick exceeds it with probability 0.00001; the bucket pick scored ~90-130).
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public sealed class RandomMemberFairnessTests
{
    static double ChiSquare(IEnumerable<string> picks)
    {
        var counts = picks.GroupBy(p => p).Select(g => g.Count()).ToList();
        double expected = (double)counts.Sum() / counts.Count;
        return counts.Sum(n => (n - expected) * (n - expected) / expected);
    }

    static readonly string[] Members = Enumerable.Range(0, 10).Select(i => "member:" + i).ToArray();

    [Fact]
    public void Srandmember_of_a_hashtable_set_is_fair()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call(["SADD", "fair:set", .. Members]);
        Assert.Equal("\"hashtable\"", c.CallS("OBJECT", "ENCODING", "fair:set"));
        var picks = c.Call("SRANDMEMBER", "fair:set", "-1000").Items!.Select(i => i.Text!).ToList();
        Assert.Equal(1000, picks.Count);
        Assert.True(ChiSquare(picks) < 40, "chi-square " + ChiSquare(picks));
    }

    [Fact]
    public void Hrandfield_of_a_hashtable_hash_is_fair()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("hash-max-listpack-entries", "0", startup: true));
        using var c = fx.Connect();
        c.Call(["HSET", "fair:hash", .. Members.SelectMany(m => new[] { m, "v" })]);
        Assert.Equal("\"hashtable\"", c.CallS("OBJECT", "ENCODING", "fair:hash"));
        var picks = c.Call("HRANDFIELD", "fair:hash", "-1000").Items!.Select(i => i.Text!).ToList();
        Assert.True(ChiSquare(picks) < 40, "chi-square " + ChiSquare(picks));
    }

    [Fact]
    public void Randomkey_is_fair()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        foreach (var m in Members) c.Call("SET", m, "v");
        var picks = Enumerable.Range(0, 1000).Select(_ => c.Call("RANDOMKEY").Text!).ToList();
        Assert.True(ChiSquare(picks) < 40, "chi-square " + ChiSquare(picks));
    }
}
