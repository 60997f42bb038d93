// LZF: byte-exact output against vectors from redis-server 7.0's DUMP (RDB string compression
// uses liblzf), decoding of those vectors, and random round trips including incompressible data.
using System.Text;
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class LzfTests
{
    const string Sentence = "hello hello hello hello world world 0123456789 abcabcabcabcabc the quick brown fox jumps over the lazy dog hello world";
    const string SentenceLzf = "0668656C6C6F2068E0080504776F726C64A0050D3031323334353637383920616263E003021E2074686520717569636B2062726F776E20666F78206A756D7073206F766572601E076C617A7920646F67A0642058016C64";

    [Theory]
    [InlineData(Sentence, SentenceLzf)]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "016161E05700016161")]
    public void CompressMatchesLiblzfBytes(string text, string hex)
    {
        var input = Encoding.ASCII.GetBytes(text);
        var output = new byte[input.Length];
        int n = Lzf.Compress(input, output);
        Assert.Equal(hex, Convert.ToHexString(output, 0, n));
        var back = new byte[input.Length];
        Assert.Equal(input.Length, Lzf.Decompress(Convert.FromHexString(hex), back));
        Assert.Equal(input, back);
    }

    [Fact]
    public void RandomRoundTrips()
    {
        int seed = Environment.TickCount;
        var r = new Random(seed);
        for (int i = 0; i < 2000; i++)
        {
            int len = r.Next(1, i % 50 == 0 ? 100_000 : 2000);
            var input = new byte[len];
            int alphabet = r.Next(1, 257);
            int runs = r.Next(3);
            for (int j = 0; j < len; j++)
                input[j] = runs == 0 ? (byte)r.Next(alphabet) : j > 10 && r.Next(4) > 0 ? input[j - r.Next(1, Math.Min(j, 9000))] : (byte)r.Next(alphabet);
            var comp = new byte[len + len / 16 + 64];
            int n = Lzf.Compress(input, comp);
            Assert.True(n > 0, $"seed {seed}: compress failed");
            var back = new byte[len];
            Assert.True(Lzf.Decompress(comp.AsSpan(0, n), back) == len, $"seed {seed}: length");
            Assert.True(input.AsSpan().SequenceEqual(back), $"seed {seed}: content");
        }
    }

    [Fact]
    public void CompressReturnsZeroWhenOutputTooSmall()
    {
        var input = new byte[256];
        new Random(1).NextBytes(input);
        Assert.Equal(0, Lzf.Compress(input, new byte[200]));
    }

    [Fact]
    public void DecompressRejectsCorruptInput()
    {
        Assert.Equal(0, Lzf.Decompress(new byte[] { 0x20, 0x05 }, new byte[100])); // reference before start
        Assert.Equal(0, Lzf.Decompress(new byte[] { 0x05, 0x61 }, new byte[100]));  // literal run past end
        Assert.Equal(0, Lzf.Decompress(Convert.FromHexString("016161E05700016161"), new byte[50])); // too small
    }
}
