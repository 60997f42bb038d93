// GlobMatcher against Redis's stringmatchlen: every case below was checked on redis-server 7.0
// (KEYS <pattern> against a single key), including escapes, classes, negation, reversed and
// unterminated ranges; nocase cases follow the same code path with folded bytes.
using Cinnabar.Keyspace;

namespace Cinnabar.Tests.Keyspace;

public class GlobMatcherTests
{
    [Theory]
    [InlineData("*", "anything", true)]
    [InlineData("**", "x", true)]
    [InlineData("a*", "a", true)]
    [InlineData("a*b", "ab", true)]
    [InlineData("a*b", "axxb", true)]
    [InlineData("a*b", "axxbc", false)]
    [InlineData("*b", "b", true)]
    [InlineData("?", "a", true)]
    [InlineData("?", "ab", false)]
    [InlineData("??", "ab", true)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a?c", "ac", false)]
    [InlineData("[abc]", "b", true)]
    [InlineData("[abc]", "d", false)]
    [InlineData("[^abc]", "d", true)]
    [InlineData("[^abc]", "a", false)]
    [InlineData("[a-c]", "b", true)]
    [InlineData("[c-a]", "b", true)]
    [InlineData("[a-c]", "d", false)]
    [InlineData("[^a-c]", "d", true)]
    [InlineData("h[ae]llo", "hello", true)]
    [InlineData("h[ae]llo", "hillo", false)]
    [InlineData("h\\*llo", "h*llo", true)]
    [InlineData("h\\*llo", "hello", false)]
    [InlineData("\\?", "?", true)]
    [InlineData("\\?", "a", false)]
    [InlineData("[\\]]", "]", true)]
    [InlineData("[\\-]", "-", true)]
    [InlineData("[a\\-z]", "b", false)]
    [InlineData("[a-]", "-", false)]
    [InlineData("[abc", "a", true)]
    [InlineData("[abc", "b", true)]
    [InlineData("[abc", "abc", false)]
    [InlineData("[", "[", false)]
    [InlineData("a\\", "a\\", true)]
    [InlineData("\\", "\\", true)]
    [InlineData("*a*b*c*", "xaybzc", true)]
    [InlineData("*a*b*c*", "xaybz", false)]
    [InlineData("[]]", "]", false)]
    [InlineData("[]a]", "a", false)]
    [InlineData("[^]", "a", true)]
    [InlineData("[a-c-e]", "d", false)]
    [InlineData("*[0-9]", "key9", true)]
    [InlineData("k*y", "key", true)]
    [InlineData("k\\ey", "key", true)]
    [InlineData("[ab][cd]", "bd", true)]
    [InlineData("[!a]", "b", false)]
    [InlineData("[!a]", "!", true)]
    public void MatchesAsRedisStringmatchlen(string pattern, string str, bool expected) =>
        Assert.Equal(expected, GlobMatcher.Match(pattern, str));

    [Theory]
    [InlineData("HELLO", "hello", true)]
    [InlineData("h?LLO", "HeLlo", true)]
    [InlineData("[A-C]", "b", true)]
    [InlineData("[a-c]", "B", true)]
    [InlineData("[XY]", "x", true)]
    [InlineData("*KEY*", "my:key:1", true)]
    [InlineData("\\A", "a", true)]
    public void NocaseFoldsAsciiLetters(string pattern, string str, bool expected)
    {
        Assert.Equal(expected, GlobMatcher.Match(pattern, str, nocase: true));
        Assert.False(GlobMatcher.Match(pattern, str, nocase: false));
    }

    [Fact]
    public void PathologicalStarPatternsFailWithoutExponentialBacktracking()
    {
        string pattern = string.Concat(Enumerable.Repeat("*a", 40)) + "b";
        string str = new('a', 200);
        Assert.False(GlobMatcher.Match(pattern, str));
        Assert.True(GlobMatcher.Match(pattern, str + "b"));
    }

    [Fact]
    public void MatchesBinaryKeys()
    {
        byte[] key = [0x00, 0xff, (byte)'x'];
        Assert.True(GlobMatcher.Match("??x"u8, key));
        Assert.True(GlobMatcher.Match([(byte)'[', 0x00, (byte)']', (byte)'*'], key));
        Assert.False(GlobMatcher.Match("x*"u8, key));
    }
}
