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
        using var oracle = new Side("redis", redis.Connect());
        using var subject = new Side("cinnabar", cinnabar.Connect());
        oracle.Client.ReadTimeout = subject.Client.ReadTimeout = ReplyTimeout;
        Assert.Equal("+OK", oracle.Client.CallS("FLUSHALL"));

        var mismatches = new List<string>();
        int commands = 0;
        foreach (var step in steps)
        {
            if (step.Kind == CorpusStepKind.Sleep)
            {
                Thread.Sleep(step.SleepMs);
                continue;
            }
            commands++;
            string expected = oracle.Execute(step);
            string actual = subject.Execute(step);
            if (step.Kind != CorpusStepKind.NoReply && expected != actual)
                mismatches.Add($"{file}:{step.Line}: {step.Text}\n  redis:    {expected}\n  cinnabar: {actual}");
            if (oracle.Stalled || subject.Stalled)
            {
                mismatches.Add($"{file}:{step.Line}: stopped here: {(oracle.Stalled ? "redis" : "cinnabar")} did not reply within {ReplyTimeout.TotalSeconds}s");
                break;
            }
        }

        int total = Interlocked.Add(ref s_totalCommands, commands);
        // Parsed by run-tests.sh (from the TRX) to report the differential command count.
        output.WriteLine($"differential commands: {commands} ({file})");
        output.WriteLine($"running total: {total}");
        if (mismatches.Count > 0)
            Assert.Fail($"{file}: {mismatches.Count} of {commands} replies differ from redis-server\n" + string.Join("\n", mismatches));
    }

    /// <summary>One server's connection; remembers a closed connection or a missing reply.</summary>
    sealed class Side(string name, RespClient client) : IDisposable
    {
        public RespClient Client { get; } = client;
        public bool Stalled { get; private set; }
        bool _closed;

        public string Execute(CorpusStep step)
        {
            if (_closed) return "<connection closed>";
            try
            {
                var reply = Client.Call(step.Args);
                if (step.Kind == CorpusStepKind.Sorted) reply = Sorted(reply);
                return reply.ToString();
            }
            catch (EndOfStreamException)
            {
                _closed = true;
                return "<connection closed>";
            }
            catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.TimedOut })
            {
                Stalled = true;
                return "<no reply>";
            }
            catch (IOException e)
            {
                _closed = true;
                return $"<connection error: {e.Message}>";
            }
            catch (InvalidDataException e)
            {
                Stalled = true;
                return $"<{name} sent an unparsable reply: {e.Message}>";
            }
        }

        public void Dispose() => Client.Dispose();
    }

    /// <summary>Sorts the top-level elements of an array or set reply (a map's pairs by key).</summary>
    static RespReply Sorted(RespReply r)
    {
        if (r.Items == null) return r;
        if (r.Type is '%' or '|')
        {
            var pairs = Enumerable.Range(0, r.Items.Count / 2).Select(i => (k: r.Items[2 * i], v: r.Items[2 * i + 1]))
                .OrderBy(p => p.k.ToString(), StringComparer.Ordinal).ThenBy(p => p.v.ToString(), StringComparer.Ordinal);
            return new RespReply { Type = r.Type, Items = pairs.SelectMany(p => new[] { p.k, p.v }).ToList() };
        }
        return new RespReply { Type = r.Type, Items = r.Items.OrderBy(i => i.ToString(), StringComparer.Ordinal).ToList() };
    }
}
