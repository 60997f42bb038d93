// Interop with the real redis-benchmark against an in-process Cinnabar: the standard tests
// complete with no error replies, pipelined (-P 16) and with 50 concurrent unpipelined clients.
// These check correctness under load, not speed (bench/ measures speed).
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Interop;

public class RedisBenchmarkTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    // redis-benchmark -q names: -t ping runs PING_INLINE and PING_MBULK; mset sends 10 keys.
    static readonly Dictionary<string, string> s_lineNames = new()
    {
        ["ping"] = "PING_INLINE|PING_MBULK",
        ["set"] = "SET",
        ["get"] = "GET",
        ["incr"] = "INCR",
        ["mset"] = "MSET (10 keys)",
    };

    void RunBenchmark(string tests, params string[] extra)
    {
        var r = ToolProcess.Run("redis-benchmark", ["-p", fx.Port.ToString(), "-t", tests, "-q", .. extra],
            timeout: TimeSpan.FromMinutes(3));
        string details = r.ToString();
        Assert.True(r.ExitCode == 0, details);
        Assert.DoesNotContain("ERR", r.Stdout + r.Stderr);
        Assert.DoesNotContain("Error", r.Stdout + r.Stderr);
        // -q prints progress with \r and a final "NAME: N requests per second" line per test.
        var lines = r.Stdout.Split('\r', '\n').Select(l => l.Trim()).ToList();
        foreach (var t in tests.Split(','))
            foreach (var name in s_lineNames[t].Split('|'))
                Assert.True(lines.Any(l => l.StartsWith(name + ": ", StringComparison.Ordinal) && l.Contains("requests per second")),
                    $"no result line for {name}\n{details}");
    }

    [RequiresToolsFact("redis-benchmark")]
    public void PipelinedStandardTestsCompleteWithoutErrors() =>
        RunBenchmark("ping,set,get,incr,mset", "-n", "100000", "-P", "16");

    [RequiresToolsFact("redis-benchmark")]
    public void FiftyConcurrentClientsCompleteWithoutErrors() =>
        RunBenchmark("ping,set,get", "-c", "50", "-P", "1", "-n", "5000");
}
