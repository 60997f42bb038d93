// EVALSHA of a cached script doing a GET and an INCR (issue 12's benchmark script), measured
// like the other hot paths: after a warm-up nothing is allocated per call on the managed heap
// (the KEYS/ARGV tables and the reply conversion live in Lua's own allocator).
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Performance.HotPathAllocationTests;

namespace Cinnabar.Tests.Performance;

public class ScriptAllocationTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    const string Script = "redis.call('get', KEYS[1]) return redis.call('incr', KEYS[2])";

    [Fact]
    public void EvalshaOfGetAndIncrAllocatesNothing()
    {
        string sha;
        using (var c = fx.Connect()) sha = c.Call("SCRIPT", "LOAD", Script).Text!;
        var (allocated, reply) = Measure(fx.Server, Concat(Resp("SET", "s:k", "v"), Resp("SET", "s:n", "0")), Resp("EVALSHA", sha, "2", "s:k", "s:n"), 1, null);
        Assert.Equal(":1\r\n", reply);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void EvalOfTheSameBodyAllocatesNothing()
    {
        var (allocated, reply) = Measure(fx.Server, Resp("SET", "e:n", "0"), Resp("EVAL", "return redis.call('incr', KEYS[1])", "1", "e:n"), 1, null);
        Assert.Equal(":1\r\n", reply);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void FcallOfALibraryFunctionAllocatesNothing()
    {
        using (var c = fx.Connect()) c.Call("FUNCTION", "LOAD", "REPLACE", "#!lua name=alloc\nredis.register_function('bump', function(keys) return redis.call('incr', keys[1]) end)");
        var (allocated, reply) = Measure(fx.Server, Resp("SET", "f:n", "0"), Resp("FCALL", "bump", "1", "f:n"), 1, null);
        Assert.Equal(":1\r\n", reply);
        Assert.Equal(0, allocated);
    }
}
