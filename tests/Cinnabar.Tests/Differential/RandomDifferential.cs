// The driver of the randomized differential tests: a fresh Cinnabar and the collection's shared
// redis-server, both flushed and prepared alike, then a seeded stream of random commands whose
// replies must be identical step by step. Config a test changes on the shared oracle is put
// back afterwards, and the seed is printed so a failure can be replayed.
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Differential;

internal static class RandomDifferential
{
    /// <param name="config">CONFIG SET commands run on both first; the oracle's previous values are restored after.</param>
    /// <param name="prepare">Runs against each side (oracle first) before the random steps.</param>
    /// <param name="canonical">Turns a reply into the text compared (default: the reply as is).</param>
    /// <param name="check">Runs after the steps with (oracle, subject, the Cinnabar fixture).</param>
    public static void Run(RedisServerFixture redis, ITestOutputHelper output, int seed, Func<Random, string[]> next, int steps,
        string[][]? config = null, Action<RespClient>? prepare = null, Func<RespReply, string[], string>? canonical = null,
        Action<RespClient, RespClient, ServerFixture>? check = null)
    {
        output.WriteLine($"seed {seed}");
        var r = new Random(seed);
        canonical ??= (reply, _) => reply.ToString();
        using var cinnabar = new ServerFixture();
        using var oracle = redis.Connect();
        using var subject = cinnabar.Connect();
        Assert.Equal("+OK", oracle.CallS("FLUSHALL"));
        config ??= [];
        var restore = config.Select(c => new[] { "CONFIG", "SET", c[2], oracle.Call("CONFIG", "GET", c[2]).Items![1].Text! }).ToList();
        try
        {
            foreach (var cmd in config) Assert.Equal(oracle.CallS(cmd), subject.CallS(cmd));
            prepare?.Invoke(oracle);
            prepare?.Invoke(subject);
            for (int i = 0; i < steps; i++)
            {
                var cmd = next(r);
                string expected = canonical(oracle.Call(cmd), cmd), actual = canonical(subject.Call(cmd), cmd);
                Assert.True(expected == actual, $"seed {seed} step {i}: {string.Join(' ', cmd)}\n  redis:    {expected}\n  cinnabar: {actual}");
            }
            check?.Invoke(oracle, subject, cinnabar);
        }
        finally
        {
            foreach (var cmd in restore) oracle.CallS(cmd);
        }
    }
}
