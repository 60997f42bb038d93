// Bit helpers: popcount, bit position search across partial and whole bytes, bitfield
// get/set, and the overflow checks for signed and unsigned fields.
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class BitOpsTests
{
    [Fact]
    public void PopcountCountsEveryByte()
    {
        var data = new byte[37];
        for (int i = 0; i < data.Length; i++) data[i] = (byte)i;
        long expected = data.Sum(b => System.Numerics.BitOperations.PopCount(b));
        Assert.Equal(expected, BitOps.Popcount(data));
    }

    [Fact]
    public void BitposScansPartialAndWholeBytes()
    {
        byte[] s = [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01];
        Assert.Equal(79, BitOps.Bitpos(s, 0, 79, 1));
        Assert.Equal(79, BitOps.Bitpos(s, 3, 79, 1));
        Assert.Equal(-1, BitOps.Bitpos(s, 3, 78, 1));
        Assert.Equal(3, BitOps.Bitpos(s, 3, 78, 0));
        byte[] ones = [0xff, 0xff, 0xfe];
        Assert.Equal(23, BitOps.Bitpos(ones, 0, 23, 0));
        Assert.Equal(-1, BitOps.Bitpos(ones, 0, 22, 0));
    }

    [Fact]
    public void BitfieldsAreBigEndianAndSignExtended()
    {
        var s = new byte[3];
        BitOps.SetUnsignedBitfield(s, 4, 8, 0xAB);
        Assert.Equal(new byte[] { 0x0A, 0xB0, 0x00 }, s);
        Assert.Equal(0xABUL, BitOps.GetUnsignedBitfield(s, 4, 8));
        Assert.Equal(-85, BitOps.GetSignedBitfield(s, 4, 8));
        Assert.Equal(0UL, BitOps.GetUnsignedBitfield(s, 100, 8)); // past the end reads zeros
    }

    [Fact]
    public void OverflowChecksWrapAndSaturate()
    {
        Assert.Equal(1, BitOps.CheckSignedOverflow(100, 100, 8, BitfieldOverflow.Wrap, out long wrapped));
        Assert.Equal(-56, wrapped);
        Assert.Equal(-1, BitOps.CheckSignedOverflow(-100, -100, 8, BitfieldOverflow.Sat, out long sat));
        Assert.Equal(-128, sat);
        Assert.Equal(0, BitOps.CheckSignedOverflow(long.MaxValue - 1, 1, 64, BitfieldOverflow.Fail, out _));
        Assert.Equal(1, BitOps.CheckUnsignedOverflow(255, 1, 8, BitfieldOverflow.Wrap, out ulong uw));
        Assert.Equal(0UL, uw);
        Assert.Equal(-1, BitOps.CheckUnsignedOverflow(0, -1, 8, BitfieldOverflow.Sat, out ulong us));
        Assert.Equal(0UL, us);
    }
}
