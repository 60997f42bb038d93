// The long double emulation behind INCRBYFLOAT: strtold parsing rules and "%.17Lf" digits
// as an x87 FPU produces them (expected values taken from redis-server 7.0).
using System.Text;
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class LongDoubleTests
{
    static LongDouble Parse(string s)
    {
        Assert.True(LongDouble.TryParse(Encoding.ASCII.GetBytes(s), out var v), s);
        return v;
    }

    [Theory]
    [InlineData("1000.1", "1000.09999999999999998")]
    [InlineData("123456.7", "123456.70000000000000284")]
    [InlineData("10.5", "10.5")]
    [InlineData("0x10", "16")]
    [InlineData("-0.0", "0")]
    [InlineData("1e20", "100000000000000000000")]
    [InlineData(".5", "0.5")]
    [InlineData("1.", "1")]
    [InlineData("0.1e-10", "0.00000000001")]
    public void FormatsLikePercent17Lf(string input, string expected) => Assert.Equal(expected, Parse(input).ToHumanString());

    [Theory]
    [InlineData("123456.7", "0.1", "123456.80000000000000426")]
    [InlineData("1.1", "2.2", "3.3")]
    [InlineData("5000", "2e-3", "5000.00199999999999978")]
    [InlineData("1", "-1", "0")]
    public void AddsWithOneRounding(string a, string b, string expected) =>
        Assert.Equal(expected, (Parse(a) + Parse(b)).ToHumanString());

    [Theory]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("abc")]
    [InlineData("nan")]
    [InlineData("1e")]
    [InlineData("1e5000")]
    [InlineData("1e-5000")]
    [InlineData("0x")]
    public void RejectsWhatString2ldRejects(string s) => Assert.False(LongDouble.TryParse(Encoding.ASCII.GetBytes(s), out _));

    [Fact]
    public void InfinityParsesAndStaysInfinite()
    {
        Assert.True(Parse("inf").IsInfinity);
        Assert.True((Parse("-Infinity") + Parse("1")).IsInfinity);
        Assert.False(Parse("1e400").IsInfinity); // within long double range, unlike double
    }

    [Fact]
    public void FromLongIsExact() => Assert.Equal("-9223372036854775808", LongDouble.FromLong(long.MinValue).ToHumanString());

    [Theory]
    [InlineData("1", 1000)]
    [InlineData("0.0000001", 1)]                 // ceiling: a positive sub-millisecond timeout waits 1 ms
    [InlineData("1e-400", 1)]                    // not zero in a long double
    [InlineData("-0.0000001", 0)]                // -0.0001 rounds up to 0: block forever
    [InlineData("-0x1", -1000)]
    [InlineData("9223372036854775.807", long.MaxValue)]
    [InlineData("9223372036854775.808", long.MinValue)] // out of range: x86's LLONG_MIN
    [InlineData("1e400", long.MinValue)]
    [InlineData("inf", long.MinValue)]
    public void MultiplyCeilingToInt64MatchesTimeoutConversion(string input, long expected) =>
        Assert.Equal(expected, Parse(input).MultiplyCeilingToInt64(1000));
}
