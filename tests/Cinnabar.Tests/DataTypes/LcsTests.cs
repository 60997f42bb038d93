// LCS: the subsequence and its matching ranges in Redis's order (from the end backwards).
using System.Text;
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class LcsTests
{
    [Fact]
    public void ComputesSubsequenceAndRanges()
    {
        var ranges = new List<LcsRange>();
        var lcs = Lcs.Compute("ohmytext"u8, "mynewtext"u8, ranges);
        Assert.Equal("mytext", Encoding.ASCII.GetString(lcs));
        Assert.Equal([new LcsRange(4, 7, 5, 8), new LcsRange(2, 3, 0, 1)], ranges);
    }

    [Fact]
    public void EmptyInputsGiveEmptyResult()
    {
        var ranges = new List<LcsRange>();
        Assert.Empty(Lcs.Compute(""u8, "abc"u8, ranges));
        Assert.Empty(ranges);
    }
}
