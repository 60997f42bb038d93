// HLL values move between redis-server and Cinnabar as plain strings (GET/SET): both read each
// other's sparse and dense representations and count them identically.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Interop;

[Collection(RedisServerCollection.Name)]
public class HyperLogLogInteropTests(RedisServerFixture redis)
{
    [RequiresToolsTheory("redis-server")]
    [InlineData(50)]
    [InlineData(20000)]
    public void HllWrittenByRedisCountsAndGrowsTheSameInCinnabar(int elements)
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        string key = "interop:hll:" + elements;
        r.Call("DEL", key);
        var batch = new List<string> { "PFADD", key };
        batch.AddRange(Enumerable.Range(0, elements).Select(i => "e" + i));
        r.Call(batch.ToArray());
        var bytes = r.Call("GET", key);
        c.Call("SET", key, bytes.Text!);
        Assert.Equal(r.CallS("PFCOUNT", key), c.CallS("PFCOUNT", key));
        Assert.Equal(r.CallS("PFDEBUG", "ENCODING", key), c.CallS("PFDEBUG", "ENCODING", key));
        r.Call("PFADD", key, "one-more", "and-another");
        c.Call("PFADD", key, "one-more", "and-another");
        Assert.Equal(r.CallS("GET", key), c.CallS("GET", key));
        Assert.Equal(r.CallS("PFCOUNT", key), c.CallS("PFCOUNT", key));
        r.Call("DEL", key);
    }
}
