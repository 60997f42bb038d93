// HyperLogLog over a value stored after a key ([key][value]): edits happen in place, and the
// arrays made for a change of size (sparse growth and merges, promotion) keep the key in front
// and hold the same bytes as an HLL edited on its own.
using System.Text;
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class HyperLogLogTests
{
    static readonly byte[] Key = "mykey"u8.ToArray();

    static byte[] Embedded(byte[] hll) => [.. Key, .. hll];

    [Theory]
    [InlineData(3000)]
    [InlineData(40)] // promotes to dense early
    public void AnHllBehindAKeyChangesExactlyLikeOneOnItsOwn(long maxBytes)
    {
        var alone = HyperLogLog.Create();
        var embedded = Embedded(HyperLogLog.Create());
        for (int i = 0; i < 3000; i++)
        {
            var ele = Encoding.ASCII.GetBytes("ele" + i);
            int a = HyperLogLog.Add(ref alone, 0, ele, maxBytes);
            int b = HyperLogLog.Add(ref embedded, Key.Length, ele, maxBytes);
            Assert.Equal(a, b);
            Assert.Equal(Key, embedded[..Key.Length]);
            Assert.Equal(alone, embedded[Key.Length..]);
        }
        Assert.Equal(HyperLogLog.Dense, HyperLogLog.Encoding(alone));
        Assert.Equal(HyperLogLog.Count(alone, out _), HyperLogLog.Count(embedded.AsSpan(Key.Length), out bool invalid));
        Assert.False(invalid);
    }

    [Fact]
    public void ADenseHllIsUpdatedInPlace()
    {
        var buf = Embedded(HyperLogLog.Create());
        Assert.True(HyperLogLog.ToDense(ref buf, Key.Length));
        Assert.Equal(Key.Length + HyperLogLog.DenseSize, buf.Length);
        var dense = buf;
        for (int i = 0; i < 1000; i++) HyperLogLog.Add(ref buf, Key.Length, Encoding.ASCII.GetBytes("d" + i), 3000);
        Assert.Same(dense, buf);
        Assert.InRange(HyperLogLog.Count(buf.AsSpan(Key.Length), out _), 990UL, 1010UL);
    }

    [Fact]
    public void RaisingASingleRegisterValOpcodeKeepsTheSparseArray()
    {
        // One element makes XZERO VAL XZERO; raising that register again rewrites the VAL byte only.
        var buf = Embedded(HyperLogLog.Create());
        Assert.Equal(1, HyperLogLog.SparseSet(ref buf, Key.Length, 100, 2, 3000));
        var grown = buf;
        Assert.Equal(1, HyperLogLog.SparseSet(ref buf, Key.Length, 100, 5, 3000));
        Assert.Same(grown, buf);
        Assert.Equal(0, HyperLogLog.SparseSet(ref buf, Key.Length, 100, 3, 3000));
        Assert.Equal("Z:100 v:5,1 Z:16283", HyperLogLog.Decode(buf.AsSpan(Key.Length)));
    }

    [Fact]
    public void MergingEqualNeighboursShrinksTheSparseArrayAndKeepsTheKey()
    {
        // Registers 0 and 2 at 3, then 1 at 3: VAL 3,1 | VAL 3,1 | VAL 3,1 merge into VAL 3,3.
        var buf = Embedded(HyperLogLog.Create());
        HyperLogLog.SparseSet(ref buf, Key.Length, 0, 3, 3000);
        HyperLogLog.SparseSet(ref buf, Key.Length, 2, 3, 3000);
        int before = buf.Length;
        HyperLogLog.SparseSet(ref buf, Key.Length, 1, 3, 3000);
        Assert.True(buf.Length < before);
        Assert.Equal(Key, buf[..Key.Length]);
        Assert.Equal("v:3,3 Z:16381", HyperLogLog.Decode(buf.AsSpan(Key.Length)));
    }
}
