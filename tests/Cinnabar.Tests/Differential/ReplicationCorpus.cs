// Parses the replication-stream corpus (ReplicationCorpus/*.redis): the syntax of the reply
// corpus (one command per line, redis-cli quoting, # comments, !sorted, !noreply, !sleep) plus
// the multi-client and timing directives a stream needs: `!block NAME <cmd>` (send a blocking
// command on connection NAME and wait until the server counts it blocked), `!reply NAME` (read
// that connection's reply once another client served it) and `!wait-dbsize N` (poll DBSIZE
// until it is N: active expiry has run).
using System.Globalization;
using System.Text;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.Differential;

public enum ReplicationStepKind { Compare, Sorted, NoReply, Sleep, Block, Reply, WaitDbsize }

/// <summary>One step; Name is the connection of !block/!reply, Number the ms of !sleep or the size of !wait-dbsize.</summary>
public sealed record ReplicationStep(int Line, string Text, ReplicationStepKind Kind, byte[][] Args, string Name, int Number);

public static class ReplicationCorpus
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Differential", "ReplicationCorpus");

    public static IEnumerable<string> Names() =>
        System.IO.Directory.GetFiles(Directory, "*.redis").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal);

    public static List<ReplicationStep> Parse(string name)
    {
        var steps = new List<ReplicationStep>();
        var lines = File.ReadAllLines(Path.Combine(Directory, name), Encoding.Latin1);
        for (int i = 0; i < lines.Length; i++)
        {
            string text = lines[i].Trim();
            if (text.Length == 0 || text[0] == '#') continue;
            string where = $"{name}:{i + 1}";
            if (text[0] != '!')
            {
                steps.Add(new ReplicationStep(i + 1, text, ReplicationStepKind.Compare, Split(text, where), "", 0));
                continue;
            }
            var parts = text.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            string rest = text[parts[0].Length..].Trim();
            steps.Add(parts[0] switch
            {
                "!sorted" => new ReplicationStep(i + 1, text, ReplicationStepKind.Sorted, Split(rest, where), "", 0),
                "!noreply" => new ReplicationStep(i + 1, text, ReplicationStepKind.NoReply, Split(rest, where), "", 0),
                "!sleep" => new ReplicationStep(i + 1, text, ReplicationStepKind.Sleep, [], "", Number(rest, where)),
                "!wait-dbsize" => new ReplicationStep(i + 1, text, ReplicationStepKind.WaitDbsize, [], "", Number(rest, where)),
                "!reply" when parts.Length == 2 => new ReplicationStep(i + 1, text, ReplicationStepKind.Reply, [], parts[1], 0),
                "!block" when parts.Length == 3 => new ReplicationStep(i + 1, text, ReplicationStepKind.Block, Split(parts[2], where), parts[1], 0),
                _ => throw new FormatException($"{where}: unknown or incomplete directive: {text}"),
            });
        }
        return steps;
    }

    static int Number(string s, string where) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw new FormatException($"{where}: a number is expected: {s}");

    static byte[][] Split(string command, string where)
    {
        var args = new List<byte[]>();
        if (!InlineSplitter.Split(Encoding.Latin1.GetBytes(command), args)) throw new FormatException($"{where}: unbalanced quotes: {command}");
        if (args.Count == 0) throw new FormatException($"{where}: a command is expected");
        return args.ToArray();
    }
}
