// Pins the runner's comparison on two in-process servers (no redis-server needed): every
// mismatch of a file is reported with file:line and both replies, !noreply hides differences,
// !sorted ignores element order, and a closed connection keeps the run going.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

public class DifferentialRunTests
{
    static CorpusStep Step(int line, string text, CorpusStepKind kind = CorpusStepKind.Compare) =>
        new(line, text, kind, text.Split(' ').Select(System.Text.Encoding.Latin1.GetBytes).ToArray(), 0);

    [Fact]
    public void ReportsEveryMismatchWithLocationAndBothReplies()
    {
        using var a = new ServerFixture();
        using var b = new ServerFixture();
        using var ca = a.Connect();
        using var cb = b.Connect();
        cb.Call("SET", "k1", "only-on-b");
        cb.Call("SET", "k2", "only-on-b");
        var (commands, mismatches) = DifferentialRun.Compare("t.redis",
            [Step(1, "GET k1"), Step(2, "PING"), Step(3, "GET k2"), Step(4, "GET k1", CorpusStepKind.NoReply)], ca, cb);
        Assert.Equal(4, commands);
        Assert.Equal(
            [
                "t.redis:1: GET k1\n  redis:    $nil\n  cinnabar: \"only-on-b\"",
                "t.redis:3: GET k2\n  redis:    $nil\n  cinnabar: \"only-on-b\"",
            ],
            mismatches);
    }

    [Fact]
    public void ClosedConnectionIsReportedAndTheRunContinues()
    {
        using var a = new ServerFixture();
        using var b = new ServerFixture();
        using var ca = a.Connect();
        using var cb = b.Connect();
        cb.Call("QUIT");
        var (commands, mismatches) = DifferentialRun.Compare("t.redis", [Step(1, "PING"), Step(2, "PING")], ca, cb);
        Assert.Equal(2, commands);
        Assert.Equal(2, mismatches.Count);
        Assert.All(mismatches, m => Assert.Contains("cinnabar: <connection", m));
    }

    [Fact]
    public void SortedOrdersTopLevelElementsAndMapPairsByKey()
    {
        static RespReply Bulk(string s) => new() { Type = '$', Text = s };
        var array = new RespReply { Type = '*', Items = [Bulk("b"), new RespReply { Type = '*', Items = [Bulk("z"), Bulk("y")] }, Bulk("a")] };
        Assert.Equal("*[\"a\", \"b\", *[\"z\", \"y\"]]", DifferentialRun.Sorted(array).ToString());
        var map = new RespReply { Type = '%', Items = [Bulk("k2"), Bulk("v2"), Bulk("k1"), Bulk("v1")] };
        Assert.Equal("%[\"k1\", \"v1\", \"k2\", \"v2\"]", DifferentialRun.Sorted(map).ToString());
    }
}
