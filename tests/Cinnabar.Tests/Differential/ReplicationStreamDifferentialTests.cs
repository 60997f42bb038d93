// The replication-stream differential test: every ReplicationCorpus file is driven into a
// fresh redis-server 7.0 (the oracle) and a subject in lock step, each with a replica stream
// attached by SYNC, and the two streams must be the same commands, byte for byte but for
// deadlines computed from the clock (ReplicationStreamDiff). Two redis-servers against each
// other pin that the harness and corpus are deterministic; Cinnabar against redis-server is
// the test of Cinnabar's propagation. Replies are compared too: a differing reply means the
// two servers ran different scenarios, which would make the stream comparison meaningless.
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Differential;

public class ReplicationStreamDifferentialTests(ITestOutputHelper output)
{
    public static IEnumerable<object[]> Files() => ReplicationCorpus.Names().Select(n => new object[] { n });

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(Files))]
    public void TwoRedisServersPropagateTheSameStream(string file)
    {
        using var oracle = new RedisServerFixture();
        using var subject = new RedisServerFixture();
        AssertSameStream(file, oracle.Port, subject.Port, "redis-server #2");
    }

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(Files))]
    public void CinnabarPropagatesTheSameStreamAsRedis(string file)
    {
        using var oracle = new RedisServerFixture();
        using var subject = new ServerFixture();
        AssertSameStream(file, oracle.Port, subject.Port, "cinnabar");
    }

    void AssertSameStream(string file, int oraclePort, int subjectPort, string subjectName)
    {
        var steps = ReplicationCorpus.Parse(file);
        var r = ReplicationStreamRun.Run(file, steps, oraclePort, subjectPort);
        output.WriteLine($"{file}: {r.Commands} commands driven, redis-server propagated {r.Expected.Count}, {subjectName} {r.Actual.Count}");
        foreach (var c in r.Expected) output.WriteLine("  " + c);
        // The marker alone would make two empty streams equal: the corpus must propagate something.
        Assert.True(r.Expected.Count > 1, $"{file}: redis-server propagated nothing but the end marker");
        var diff = ReplicationStreamDiff.Report(r.Expected, r.Actual, "redis-server", subjectName);
        if (diff != null || r.ReplyMismatches.Count > 0)
            Assert.Fail($"{file}: {subjectName} differs from redis-server\n" + (diff ?? "the streams match\n") +
                        (r.ReplyMismatches.Count > 0 ? "--- replies that differ:\n" + string.Join("\n", r.ReplyMismatches) : ""));
    }
}
