// Differential tests: every corpus file runs against redis-server 7.0 (the oracle) and an
// in-process Cinnabar, and every reply is compared in its typed rendering (RespReply.ToString),
// so a wrong reply type, error code or text shows up. All mismatches of a file are reported in
// one failure (file:line, command, redis's reply, Cinnabar's reply) rather than the first only.
// Cinnabar gets a fresh in-process server per file (no state, config included, leaks between
// files); redis-server is shared by the collection and flushed before each file.
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Differential;

[Collection(RedisServerCollection.Name)]
public class DifferentialTests(RedisServerFixture redis, ITestOutputHelper output)
{
    static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);
    static int s_totalCommands;

    public static IEnumerable<object[]> Files() => CorpusFile.Names().Select(n => new object[] { n });

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(Files))]
    public void CorpusRepliesMatchRedis(string file)
    {
        var steps = CorpusFile.Parse(file);
        using var cinnabar = new ServerFixture();
        using var oracle = redis.Connect();
        using var subject = cinnabar.Connect();
        oracle.ReadTimeout = subject.ReadTimeout = ReplyTimeout;
        Assert.Equal("+OK", oracle.CallS("FLUSHALL"));

        var (commands, mismatches) = DifferentialRun.Compare(file, steps, oracle, subject);
        int total = Interlocked.Add(ref s_totalCommands, commands);
        // Parsed by run-tests.sh (from the TRX) to report the differential command count.
        output.WriteLine($"differential commands: {commands} ({file})");
        output.WriteLine($"running total: {total}");
        if (mismatches.Count > 0)
            Assert.Fail($"{file}: {mismatches.Count} of {commands} replies differ from redis-server\n" + string.Join("\n", mismatches));
    }
}
