// Pins the corpus format the differential runner implements: quoting, comments, directives,
// and clear errors (file:line) for malformed lines.
namespace Cinnabar.Tests.Differential;

public class CorpusFileTests
{
    static List<CorpusStep> ParseText(string text)
    {
        string name = $"test-{Guid.NewGuid():N}.redis-tmp";
        string path = Path.Combine(CorpusFile.Directory, name);
        File.WriteAllText(path, text, System.Text.Encoding.Latin1);
        try
        {
            return CorpusFile.Parse(name);
        }
        finally
        {
            File.Delete(path);
        }
    }

    static string[] Args(CorpusStep s) => s.Args.Select(a => System.Text.Encoding.Latin1.GetString(a)).ToArray();

    [Fact]
    public void CommentsAndBlankLinesAreSkippedAndLineNumbersKept()
    {
        var steps = ParseText("# comment\n\n  PING\n   # indented comment\nGET k\n");
        Assert.Equal([3, 5], steps.Select(s => s.Line));
        Assert.Equal(["GET", "k"], Args(steps[1]));
    }

    [Fact]
    public void QuotingFollowsSdssplitargs()
    {
        var s = ParseText("SET \"a b\" 'it\\'s' \"\\x41\\n\"\n").Single();
        Assert.Equal(["SET", "a b", "it's", "A\n"], Args(s));
    }

    [Fact]
    public void DirectivesSetTheStepKind()
    {
        var steps = ParseText("!sorted SMEMBERS s\n!noreply RANDOMKEY\n!sleep 150\nPING\n");
        Assert.Equal([CorpusStepKind.Sorted, CorpusStepKind.NoReply, CorpusStepKind.Sleep, CorpusStepKind.Compare], steps.Select(s => s.Kind));
        Assert.Equal(["SMEMBERS", "s"], Args(steps[0]));
        Assert.Equal(150, steps[2].SleepMs);
    }

    [Theory]
    [InlineData("SET \"unclosed\n", "unbalanced quotes")]
    [InlineData("!bogus PING\n", "unknown directive")]
    [InlineData("!sleep soon\n", "!sleep needs milliseconds")]
    [InlineData("!sorted\n", "directive without a command")]
    public void MalformedLinesReportTheirLocation(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => ParseText(text));
        Assert.Contains(":1: " + message, e.Message);
    }
}
