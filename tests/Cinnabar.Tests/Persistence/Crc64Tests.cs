// Redis's CRC-64 Jones variant: the check value crc64.c's own test asserts.
using System.Text;
using Cinnabar.Persistence;

namespace Cinnabar.Tests.Persistence;

public class Crc64Tests
{
    [Fact]
    public void CheckValueOf123456789MatchesRedis() =>
        Assert.Equal(0xe9c6d914c4b8d9caUL, Crc64.Compute(0, Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void ComputingInPiecesEqualsComputingAtOnce()
    {
        var data = Encoding.ASCII.GetBytes("This is a test of the emergency broadcast system.");
        Assert.Equal(Crc64.Compute(0, data), Crc64.Compute(Crc64.Compute(0, data.AsSpan(0, 10)), data.AsSpan(10)));
    }

    /// <summary>The slicing-by-8 path equals the plain byte-at-a-time definition for every length and split.</summary>
    [Fact]
    public void EightBytesAtATimeEqualsTheBytewiseDefinition()
    {
        var rng = new Random(7);
        for (int len = 0; len < 200; len++)
        {
            var data = new byte[len];
            rng.NextBytes(data);
            ulong expected = 0;
            foreach (byte b in data)
            {
                expected ^= b;
                for (int k = 0; k < 8; k++) expected = (expected & 1) != 0 ? (expected >> 1) ^ 0x95AC9329AC4BC9B5UL : expected >> 1;
            }
            Assert.Equal(expected, Crc64.Compute(0, data));
            int split = len / 3;
            Assert.Equal(expected, Crc64.Compute(Crc64.Compute(0, data.AsSpan(0, split)), data.AsSpan(split)));
        }
    }
}
