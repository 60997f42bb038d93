// Drives a replication corpus file into two servers in lock step (each step on the oracle,
// then on the subject, from the same set of connections) while a ReplicationStreamReader is
// attached to each as a replica, then ends both streams with a marker write and returns what
// each propagated plus any reply that differed. Before attaching, both servers get
// repl-ping-replica-period 3600 (no PING interleaves with the commands) and active expiry off
// (a short TTL expires only where the corpus says so); the corpus may turn it back on.
using System.Text;
using System.Text.RegularExpressions;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

public static partial class ReplicationStreamRun
{
    public const string EndMarkerKey = "repl-stream:end";
    const string NoReply = "(no reply)";
    const string DidNotBlock = "(did not block)";
    static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(5);

    public sealed record Result(int Commands, List<ReplicatedCommand> Expected, List<ReplicatedCommand> Actual, List<string> ReplyMismatches);

    public static Result Run(string file, IEnumerable<ReplicationStep> steps, int oraclePort, int subjectPort)
    {
        using var oracle = new Side("redis", oraclePort);
        using var subject = new Side("subject", subjectPort);
        var mismatches = new List<string>();
        int commands = 0;
        foreach (var step in steps)
        {
            if (step.Kind == ReplicationStepKind.Sleep)
            {
                Thread.Sleep(step.Number);
                continue;
            }
            if (step.Kind is ReplicationStepKind.Compare or ReplicationStepKind.Sorted or ReplicationStepKind.NoReply or ReplicationStepKind.Block) commands++;
            string expected = oracle.Execute(step);
            string actual = subject.Execute(step);
            // Both sides not blocking or not served would compare equal but test nothing.
            bool stuck = expected is NoReply or DidNotBlock || actual is NoReply or DidNotBlock;
            if ((step.Kind != ReplicationStepKind.NoReply && expected != actual) || stuck)
                mismatches.Add($"{file}:{step.Line}: {step.Text}\n  redis:   {expected}\n  subject: {actual}");
            if (oracle.Broken || subject.Broken)
            {
                mismatches.Add($"{file}:{step.Line}: stopped here: {(oracle.Broken ? "redis" : "the subject")} failed");
                break;
            }
        }
        return new Result(commands, oracle.End(file), subject.End(file), mismatches);
    }

    [GeneratedRegex(@"blocked_clients:(\d+)")]
    private static partial Regex BlockedClients();

    /// <summary>One server: the corpus's main connection, the blocked ones by name, an admin connection and the replica stream.</summary>
    sealed class Side : IDisposable
    {
        readonly string _name;
        readonly int _port;
        readonly RespClient _main;
        readonly RespClient _admin;
        readonly Dictionary<string, RespClient> _blocked = [];
        readonly ReplicationStreamReader _stream;
        public bool Broken { get; private set; }
        string _db = "0";

        public Side(string name, int port)
        {
            _name = name;
            _port = port;
            _main = Connect();
            _admin = Connect();
            Expect("+OK", _admin.CallS("CONFIG", "SET", "repl-ping-replica-period", "3600"));
            Expect("+OK", _admin.CallS("DEBUG", "SET-ACTIVE-EXPIRE", "0"));
            _stream = ReplicationStreamReader.Sync(port, ReplyTimeout);
        }

        RespClient Connect() => new(_port) { ReadTimeout = ReplyTimeout };

        void Expect(string expected, string actual)
        {
            if (expected != actual) throw new InvalidOperationException($"{_name}: setting up the replication test got {actual}");
        }

        public string Execute(ReplicationStep step)
        {
            try
            {
                switch (step.Kind)
                {
                    case ReplicationStepKind.Block:
                        var b = Connect();
                        _blocked.Add(step.Name, b);
                        // A new connection starts in db 0: it blocks in the main connection's db.
                        if (_db != "0") b.Call("SELECT", _db);
                        b.Send(step.Args);
                        return WaitBlocked(_blocked.Count) ? "(blocked)" : DidNotBlock;
                    case ReplicationStepKind.Reply:
                        using (var c = _blocked[step.Name])
                        {
                            _blocked.Remove(step.Name);
                            return c.TryRead(ReplyTimeout)?.ToString() ?? NoReply;
                        }
                    case ReplicationStepKind.WaitDbsize:
                        return WaitDbsize(step.Number);
                    default:
                        var reply = _main.Call(step.Args);
                        if (step.Args.Length == 2 && Encoding.Latin1.GetString(step.Args[0]).Equals("SELECT", StringComparison.OrdinalIgnoreCase) && reply.Text == "OK")
                            _db = Encoding.Latin1.GetString(step.Args[1]);
                        return (step.Kind == ReplicationStepKind.Sorted ? DifferentialRun.Sorted(reply) : reply).ToString();
                }
            }
            catch (Exception e) when (e is IOException or InvalidDataException)
            {
                Broken = true;
                return $"<{e.GetType().Name}: {e.Message}>";
            }
        }

        bool WaitBlocked(int n)
        {
            var deadline = DateTime.UtcNow + ReplyTimeout;
            while (DateTime.UtcNow < deadline)
            {
                var m = BlockedClients().Match(_admin.Call("INFO", "clients").Text ?? "");
                if (m.Success && int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= n) return true;
                Thread.Sleep(2);
            }
            return false;
        }

        string WaitDbsize(int n)
        {
            var deadline = DateTime.UtcNow + ReplyTimeout;
            string size;
            do
            {
                size = _main.CallS("DBSIZE");
                if (size == ":" + n) return "(dbsize reached)";
                Thread.Sleep(5);
            } while (DateTime.UtcNow < deadline);
            return "(dbsize stayed " + size + ")";
        }

        /// <summary>Writes the end marker and reads the stream up to it.</summary>
        public List<ReplicatedCommand> End(string file)
        {
            var marker = Encoding.Latin1.GetBytes(EndMarkerKey);
            using var c = Connect();
            c.Call("SET", EndMarkerKey, file);
            try
            {
                return _stream.ReadUntil(cmd => cmd.Args.Length == 3 && cmd.Args[1].AsSpan().SequenceEqual(marker), ReplyTimeout);
            }
            catch (Exception e) when (e is TimeoutException or EndOfStreamException or InvalidDataException)
            {
                throw new Xunit.Sdk.XunitException($"{_name}'s replication stream did not reach the end marker: {e.Message}");
            }
        }

        public void Dispose()
        {
            foreach (var b in _blocked.Values) b.Dispose();
            _stream.Dispose();
            _admin.Dispose();
            _main.Dispose();
        }
    }
}
