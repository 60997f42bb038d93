// Parses a differential corpus file (Corpus/*.redis): one command per line in redis-cli
// quoting (sdssplitargs rules, via Cinnabar's own InlineSplitter), blank lines and # comments
// ignored, and three directives: `!sorted <cmd>` (compare the array reply with its elements
// sorted), `!noreply <cmd>` (run, compare nothing) and `!sleep <ms>` (pause both sides).
using System.Text;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.Differential;

public enum CorpusStepKind { Compare, Sorted, NoReply, Sleep }

public sealed record CorpusStep(int Line, string Text, CorpusStepKind Kind, byte[][] Args, int SleepMs);

public static class CorpusFile
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Differential", "Corpus");

    public static IEnumerable<string> Names() =>
        System.IO.Directory.GetFiles(Directory, "*.redis").Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal);

    public static List<CorpusStep> Parse(string name)
    {
        var steps = new List<CorpusStep>();
        var lines = File.ReadAllLines(Path.Combine(Directory, name), Encoding.Latin1);
        for (int i = 0; i < lines.Length; i++)
        {
            string text = lines[i].Trim();
            if (text.Length == 0 || text[0] == '#') continue;
            var kind = CorpusStepKind.Compare;
            string command = text;
            if (text[0] == '!')
            {
                int sp = text.IndexOf(' ');
                string directive = sp < 0 ? text : text[..sp];
                command = sp < 0 ? "" : text[(sp + 1)..].Trim();
                kind = directive switch
                {
                    "!sorted" => CorpusStepKind.Sorted,
                    "!noreply" => CorpusStepKind.NoReply,
                    "!sleep" => CorpusStepKind.Sleep,
                    _ => throw new FormatException($"{name}:{i + 1}: unknown directive {directive}"),
                };
                if (kind == CorpusStepKind.Sleep)
                {
                    if (!int.TryParse(command, out int ms) || ms < 0) throw new FormatException($"{name}:{i + 1}: !sleep needs milliseconds");
                    steps.Add(new CorpusStep(i + 1, text, kind, [], ms));
                    continue;
                }
            }
            var args = new List<byte[]>();
            if (!InlineSplitter.Split(Encoding.Latin1.GetBytes(command), args))
                throw new FormatException($"{name}:{i + 1}: unbalanced quotes: {text}");
            if (args.Count == 0) throw new FormatException($"{name}:{i + 1}: directive without a command: {text}");
            steps.Add(new CorpusStep(i + 1, text, kind, args.ToArray(), 0));
        }
        return steps;
    }
}
