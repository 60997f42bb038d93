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
}
