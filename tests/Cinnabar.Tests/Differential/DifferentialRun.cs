// Replays a parsed corpus against two connections (the oracle first, then the subject) and
// collects every mismatch as "file:line: command / redis: ... / cinnabar: ...". A closed
// connection renders as <connection closed> for the rest of the file; a missing reply stops
// the file, since that connection is out of step from then on.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

public static class DifferentialRun
{
    public static (int Commands, List<string> Mismatches) Compare(string file, IEnumerable<CorpusStep> steps, RespClient oracleClient, RespClient subjectClient)
    {
        var oracle = new Side("redis", oracleClient);
        var subject = new Side("cinnabar", subjectClient);
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
                mismatches.Add($"{file}:{step.Line}: stopped here: {(oracle.Stalled ? "redis" : "cinnabar")} did not reply within {subjectClient.ReadTimeout.TotalSeconds}s");
                break;
            }
        }
        return (commands, mismatches);
    }

    /// <summary>One server's connection; remembers a closed connection or a missing reply.</summary>
    sealed class Side(string name, RespClient client)
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
    }

    /// <summary>Sorts the top-level elements of an array or set reply (a map's pairs by key).</summary>
    internal static RespReply Sorted(RespReply r)
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
