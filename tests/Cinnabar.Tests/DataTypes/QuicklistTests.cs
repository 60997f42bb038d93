// Quicklist: randomized model tests against a List<string> over every operation (push, pop,
// index, replace, insert before/after, range delete, iteration with deletion from both ends)
// across fill settings (size classes and entry counts) and compress depths, with the
// structural invariants (links, counts, sizes, raw ends, memory accounting) checked as it goes.
using System.Globalization;
using System.Text;
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class QuicklistTests
{
    static byte[] B(string s) => Encoding.Latin1.GetBytes(s);
    static string S(byte[] b) => Encoding.Latin1.GetString(b);

    static string RandomValue(Random r) => r.Next(8) switch
    {
        0 => r.Next(-100000, 100000).ToString(CultureInfo.InvariantCulture),
        1 => r.NextInt64().ToString(CultureInfo.InvariantCulture),
        2 => new string((char)('a' + r.Next(26)), r.Next(1, 40)),
        3 => r.Next(30) == 0 ? new string('B', r.Next(2000, 9000)) : "v" + r.Next(1000),
        4 => "item-" + r.Next(1000) + new string('z', r.Next(0, 200)),
        _ => r.Next(100).ToString(CultureInfo.InvariantCulture),
    };

    [Theory]
    [InlineData(-2, 0)]
    [InlineData(-1, 1)]
    [InlineData(-5, 2)]
    [InlineData(1, 0)]
    [InlineData(2, 1)]
    [InlineData(5, 3)]
    [InlineData(128, 1)]
    [InlineData(-2, 1)]
    public void RandomizedOperationsMatchModel(int fill, int depth)
    {
        int seed = Environment.TickCount ^ (fill * 31 + depth);
        try
        {
            RunModel(seed, fill, depth, 5000);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"quicklist model failed: seed {seed} fill {fill} depth {depth}: {e}");
        }
    }

    internal static void RunModel(int seed, int fill, int depth, int steps)
    {
        var r = new Random(seed);
        var ql = new Quicklist(fill, depth);
        var model = new List<string>();
        for (int step = 0; step < steps; step++)
        {
            string v = RandomValue(r);
            int op = r.Next(12);
            if (model.Count > 600 && op < 3) op = 3;
            switch (op)
            {
                case 0:
                case 1:
                    if (r.Next(2) == 0) { ql.PushHead(B(v)); model.Insert(0, v); }
                    else { ql.PushTail(B(v)); model.Add(v); }
                    break;
                case 2:
                    for (int i = 0; i < 50; i++) { ql.PushTail(B("bulk" + i)); model.Add("bulk" + i); }
                    break;
                case 3:
                    {
                        bool head = r.Next(2) == 0;
                        var got = ql.Pop(head);
                        if (model.Count == 0) Assert.Null(got);
                        else
                        {
                            int i = head ? 0 : model.Count - 1;
                            Assert.Equal(model[i], S(got!));
                            model.RemoveAt(i);
                        }
                        break;
                    }
                case 4:
                    {
                        long idx = r.Next(-model.Count - 2, model.Count + 2);
                        var e = ql.Index(idx);
                        long norm = idx < 0 ? idx + model.Count : idx;
                        if (norm < 0 || norm >= model.Count) Assert.Null(e);
                        else
                        {
                            Assert.Equal(model[(int)norm], S(Quicklist.GetBytes(e!.Value)));
                            ql.Release(e.Value.Node);
                        }
                        break;
                    }
                case 5 when model.Count > 0:
                    {
                        int i = r.Next(model.Count);
                        ql.Replace(ql.Index(i)!.Value, B(v));
                        model[i] = v;
                        break;
                    }
                case 6 when model.Count > 0:
                case 7 when model.Count > 0:
                    {
                        int i = r.Next(model.Count);
                        bool after = r.Next(2) == 0;
                        ql.Insert(ql.Index(i)!.Value, B(v), after);
                        model.Insert(after ? i + 1 : i, v);
                        break;
                    }
                case 8 when model.Count > 0:
                    {
                        int start = r.Next(-model.Count, model.Count);
                        int count = r.Next(1, 80);
                        bool any = ql.DelRange(start, count);
                        int s = start < 0 ? start + model.Count : start;
                        Assert.True(any);
                        model.RemoveRange(s, Math.Min(count, model.Count - s));
                        break;
                    }
                case 9 when model.Count > 0:
                    {
                        // LREM-style: delete every element matching a value, from either end.
                        string target = model[r.Next(model.Count)];
                        bool fwd = r.Next(2) == 0;
                        var it = ql.GetIterator(fwd);
                        var seen = new List<string>();
                        while (it.Next(out var e))
                        {
                            var s = S(Quicklist.GetBytes(e));
                            seen.Add(s);
                            if (s == target) it.DelEntry(e);
                        }
                        if (!fwd) seen.Reverse();
                        Assert.Equal(model, seen);
                        model.RemoveAll(x => x == target);
                        break;
                    }
                case 10 when model.Count > 0:
                    {
                        int i = r.Next(model.Count);
                        bool fwd = r.Next(2) == 0;
                        var it = ql.GetIteratorAtIndex(i - (r.Next(2) == 0 ? 0 : model.Count), fwd)!.Value;
                        var got = new List<string>();
                        while (got.Count < 30 && it.Next(out var e)) got.Add(S(Quicklist.GetBytes(e)));
                        it.Release();
                        var expect = fwd ? model.Skip(i).Take(30).ToList() : model.Take(i + 1).Reverse().Take(30).ToList();
                        Assert.Equal(expect, got);
                        break;
                    }
                default:
                    Assert.Equal(model.Count, ql.Count);
                    break;
            }
            ql.Verify();
            Assert.Equal(model.Count, ql.Count);
            if (step % 50 == 0) Assert.Equal(model, ql.ToList().Select(S).ToList());
        }
        Assert.Equal(model, ql.ToList().Select(S).ToList());
        ql.Verify();
    }

    [Fact]
    public void InnerNodesAreCompressedAndEndsStayRaw()
    {
        var ql = new Quicklist(-1, 1);
        for (int i = 0; i < 5000; i++) ql.PushTail(B("element number " + i + " with padding padding padding"));
        Assert.True(ql.Len > 3);
        Assert.False(ql.Head!.IsCompressed);
        Assert.False(ql.Tail!.IsCompressed);
        Assert.True(ql.Head.Next!.IsCompressed);
        Assert.Equal("element number 2500 with padding padding padding", S(Quicklist.GetBytes(ql.Index(2500)!.Value)));
        ql.Verify();
    }

    [Fact]
    public void CompressedNodeKeepsItsLzfBytesInTheListpackFieldAndDuplicatesThem()
    {
        var ql = new Quicklist(-1, 1);
        for (int i = 0; i < 5000; i++) ql.PushTail(B("element number " + i + " with padding padding padding"));
        var inner = ql.Head!.Next!;
        Assert.True(inner.IsCompressed);
        Assert.Same(inner.Lp.Buf, inner.CompressedBytes);
        Assert.True(inner.CompressedBytes!.Length < inner.Sz);
        var copy = (Quicklist)ql.Duplicate();
        Assert.True(copy.Head!.Next!.IsCompressed);
        Assert.NotSame(inner.CompressedBytes, copy.Head.Next.CompressedBytes);
        copy.Verify();
        Assert.Equal(ql.ToList().Select(S), copy.ToList().Select(S));
    }

    /// <summary>Bytes one call of create allocates (after a warm-up call), measured on this thread.</summary>
    static long AllocatedBy(Func<object> create)
    {
        GC.KeepAlive(create());
        long before = GC.GetAllocatedBytesForCurrentThread();
        var o = create();
        long after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(o);
        return after - before;
    }

    // Measured, as the list's SizeInBytes (INFO used_memory) assumes them.
    [Fact]
    public void NodeObjectIsFiftySixBytes() => Assert.Equal(56, AllocatedBy(() => new QuicklistNode()));

    [Fact]
    public void EmptyQuicklistIsFiftySixBytesAndCountsAsSuch()
    {
        Assert.Equal(56, AllocatedBy(() => new Quicklist()));
        Assert.Equal(56, new Quicklist().SizeInBytes);
    }

    [Theory]
    [InlineData(100000, 32767)]
    [InlineData(-100, -5)]
    [InlineData(0, 1)]
    public void FillIsClampedToRedisSixteenBitRange(int fill, int expected) => Assert.Equal(expected, new Quicklist(fill).Fill);

    [Fact]
    public void PositiveFillLimitsEntriesPerNode()
    {
        var ql = new Quicklist(3, 0);
        for (int i = 0; i < 10; i++) ql.PushTail(B(i.ToString(CultureInfo.InvariantCulture)));
        Assert.Equal(4, ql.Len);
        Assert.Equal(3, ql.Head!.Count);
    }

    [Fact]
    public void SizeClassLimitsNodeBytes()
    {
        var ql = new Quicklist(-1, 0); // 4096 bytes
        var v = new string('x', 100);
        for (int i = 0; i < 200; i++) ql.PushTail(B(v));
        for (var n = ql.Head; n != null; n = n.Next) Assert.True(n.Sz <= 4096);
        Assert.True(ql.Len >= 5);
    }
}
