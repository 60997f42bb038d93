// The AOF manifest's syntax and checks, as aof.c's aofLoadManifestFromFile and
// getAofManifestAsString define them: the round trip, the naming of new base/incr files, and
// every error Redis reports (with the line it reports it at).
using System.Text;
using Cinnabar.Persistence;

namespace Cinnabar.Tests.Persistence;

public class AofManifestTests
{
    static AofManifest Parse(string text) => AofManifest.Parse(Encoding.Latin1.GetBytes(text));

    static string Error(string text) => Assert.Throws<AofException>(() => Parse(text)).Lines[^1];

    [Fact]
    public void ParsesAndFormatsBaseHistoryAndIncrInRedisOrder()
    {
        var am = Parse("file appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.4.incr.aof seq 4 type i\nfile appendonly.aof.5.incr.aof seq 5 type i\n");
        Assert.Equal("appendonly.aof.2.base.rdb", am.Base!.FileName);
        Assert.Equal(2, am.CurrBaseFileSeq);
        Assert.Equal(5, am.CurrIncrFileSeq);
        Assert.Equal(["appendonly.aof.4.incr.aof", "appendonly.aof.5.incr.aof"], am.Incr.Select(i => i.FileName));
        Assert.Equal(
            "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.4.incr.aof seq 4 type i\nfile appendonly.aof.5.incr.aof seq 5 type i\n",
            am.Format());
        Assert.Equal(am.Format(), Parse(am.Format()).Format());
    }

    [Fact]
    public void CommentsAndExtraKeysAreAccepted()
    {
        var am = Parse("# a comment\nfile a.aof.1.incr.aof seq 1 type i future value\n");
        Assert.Single(am.Incr);
    }

    [Fact]
    public void NamesWithSpacesAreQuotedAndParsedBack()
    {
        var am = new AofManifest();
        am.NewBaseFileNameAndMarkPreAsHistory("my aof.aof", rdbPreamble: true);
        am.NewIncrAofName("my aof.aof");
        string text = am.Format();
        Assert.Equal("file \"my aof.aof.1.base.rdb\" seq 1 type b\nfile \"my aof.aof.1.incr.aof\" seq 1 type i\n", text);
        Assert.Equal("my aof.aof.1.incr.aof", Parse(text).Incr[0].FileName);
    }

    [Fact]
    public void ARewriteMakesTheOldBaseAndTheCoveredIncrsHistory()
    {
        var am = Parse("file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
        Assert.Equal("appendonly.aof.2.incr.aof", am.NewIncrAofName("appendonly.aof"));
        Assert.Equal("appendonly.aof.2.base.aof", am.NewBaseFileNameAndMarkPreAsHistory("appendonly.aof", rdbPreamble: false));
        am.MarkRewrittenIncrAofAsHistory(aofOpen: true);
        Assert.Equal(
            "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n",
            am.Format());
    }

    [Theory]
    [InlineData("", "Found an empty AOF manifest")]
    [InlineData("file a.1.base.rdb seq 1 type b\n\nfile a.1.incr.aof seq 1 type i\n", "Invalid AOF manifest file format")]
    [InlineData("file a.1.base.rdb seq 1 type b\nfile a.2.base.rdb seq 2 type b\n", "Found duplicate base file information")]
    [InlineData("file a.1.base.rdb seq 1 type x\n", "Unknown AOF file type")]
    [InlineData("file a.1.base.rdb seq 1 typo b\n", "Invalid AOF manifest file format")]
    [InlineData("file a.1.base.rdb seq 1\n", "Invalid AOF manifest file format")]
    [InlineData("file a.1.base.rdb seq 1 type b x\n", "Invalid AOF manifest file format")]
    [InlineData("file a.2.incr.aof seq 2 type i\nfile a.1.incr.aof seq 1 type i\n", "Found a non-monotonic sequence number")]
    [InlineData("file dir/a.1.incr.aof seq 1 type i\n", "File can't be a path, just a filename")]
    [InlineData("file a.1.incr.aof seq 1 type i", "The AOF manifest file contains too long line")]
    public void RedisErrorsAreReported(string text, string error) => Assert.Equal(error, Error(text));

    [Fact]
    public void ALineLongerThan1024BytesIsRefused() =>
        Assert.Equal("The AOF manifest file contains too long line", Error("file " + new string('a', 1100) + " seq 1 type i\n"));

    [Fact]
    public void TheFaultyLineIsReportedWithItsNumber()
    {
        var e = Assert.Throws<AofException>(() => Parse("file a.1.base.rdb seq 1 type b\nfile a.1.incr.aof seq 1 type z\n"));
        Assert.Contains("*** FATAL AOF MANIFEST FILE ERROR ***", e.Lines);
        Assert.Contains("Reading the manifest file, at line 2", e.Lines);
        Assert.Contains(">>> 'file a.1.incr.aof seq 1 type z'", e.Lines);
    }
}
