// Quicklist PLAIN nodes (Redis 7.0's quicklist.c): an element of packed_threshold bytes or more
// lives alone in a node holding its raw bytes. Pins the node layouts Redis 7.0.15 produces for
// push, pop, index, replace (plain <-> packed), insert (including the split of a packed node),
// range delete and iterator delete, that plain nodes are never merged, that inner plain nodes
// are LZF-compressed and read back, and the threshold's bounds; plus the randomized model run
// with a low threshold so plain and packed nodes mix.
using System.Text;
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class QuicklistPlainNodeTests
{
    static byte[] B(string s) => Encoding.Latin1.GetBytes(s);
    static string S(byte[] b) => Encoding.Latin1.GetString(b);

    /// <summary>Sets this thread's packed threshold for the test and restores the default after.</summary>
    sealed class Threshold : IDisposable
    {
        public Threshold(ulong sz) => Assert.True(Quicklist.TrySetPackedThreshold(sz));
        public void Dispose() => Quicklist.TrySetPackedThreshold(0);
    }

    /// <summary>The nodes head to tail: "P" for a plain node, else its entry count.</summary>
    static string Layout(Quicklist ql)
    {
        var parts = new List<string>();
        for (var n = ql.Head; n != null; n = n.Next) parts.Add(n.IsPlain ? "P" : n.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return string.Join(" ", parts);
    }

    static List<string> Items(Quicklist ql) => ql.ToList().Select(S).ToList();

    [Fact]
    public void ElementsFromTheThresholdUpGetAPlainNodeOfTheirOwn()
    {
        using var scope = new Threshold(5);
        var ql = new Quicklist();
        foreach (var v in new[] { "aa", "bb", "ccccc", "dd", "eeeeeeee" }) ql.PushTail(B(v));
        ql.PushHead(B("zzzzzz"));
        ql.PushHead(B("y"));
        Assert.Equal("1 P 2 P 1 P", Layout(ql));
        Assert.Equal(["y", "zzzzzz", "aa", "bb", "ccccc", "dd", "eeeeeeee"], Items(ql));
        Assert.Equal(5, ql.Index(4)!.Value.Node.Sz);
        ql.Verify();
        Assert.Equal("eeeeeeee", S(ql.Pop(head: false)!));
        Assert.Equal("y", S(ql.Pop(head: true)!));
        Assert.Equal("zzzzzz", S(ql.Pop(head: true)!));
        Assert.Equal("2 P 1", Layout(ql));
        ql.Verify();
    }

    [Fact]
    public void APlainElementReadsAsBytesEvenWhenItLooksLikeAnInteger()
    {
        using var scope = new Threshold(1);
        var ql = new Quicklist();
        ql.PushTail(B("9"));
        var e = ql.Index(0)!.Value;
        Assert.True(e.Node.IsPlain);
        Assert.True(Quicklist.Get(e, out var s, out _));
        Assert.Equal("9", Encoding.ASCII.GetString(s));
        Assert.True(Quicklist.EntryEquals(e, B("9")));
        Assert.False(Quicklist.EntryEquals(e, B("09")));
    }

    // The four LSET combinations of the Tcl suite's "Test LSET with packed / plain combinations".
    [Fact]
    public void ReplaceGoesPlainToPackedAndPackedToPlain()
    {
        using var scope = new Threshold(5);
        var ql = new Quicklist();
        foreach (var v in new[] { "aa", "bb", "cc", "dd" }) ql.PushTail(B(v));
        ql.Replace(ql.Index(1)!.Value, B("LARGE1")); // packed -> plain, inner: the node splits
        Assert.Equal("1 P 2", Layout(ql));
        ql.Replace(ql.Index(1)!.Value, B("LARGE22")); // plain -> plain, in place
        Assert.Equal("1 P 2", Layout(ql));
        ql.Replace(ql.Index(1)!.Value, B("x")); // plain -> packed: into the next node's head
        Assert.Equal("1 3", Layout(ql));
        Assert.Equal(["aa", "x", "cc", "dd"], Items(ql));
        ql.Replace(ql.Index(-1)!.Value, B("LARGE333")); // packed -> plain, the node's last entry
        Assert.Equal("1 2 P", Layout(ql));
        ql.Replace(ql.Index(0)!.Value, B("LARGE4444")); // packed -> plain, a one-entry node goes
        Assert.Equal("P 2 P", Layout(ql));
        ql.Replace(ql.Index(3)!.Value, B("e")); // plain -> packed at the tail: a new node
        Assert.Equal("P 2 1", Layout(ql));
        ql.Replace(ql.Index(1)!.Value, B("f")); // packed -> packed, in place
        Assert.Equal(["LARGE4444", "f", "cc", "e"], Items(ql));
        Assert.Equal(4, ql.Count);
        ql.Verify();
    }

    // "Crash due to split quicklist node wrongly": LSET -2 of a two-entry node with a large value.
    [Fact]
    public void ReplacingTheFirstOfTwoEntriesWithALargeValueKeepsTheSecond()
    {
        using var scope = new Threshold(10);
        var ql = new Quicklist();
        ql.PushHead(B("aa"));
        ql.PushHead(B("bb"));
        ql.Replace(ql.Index(-2)!.Value, B(new string('x', 10)));
        Assert.Equal("P 1", Layout(ql));
        Assert.Equal("aa", S(ql.Pop(head: false)!));
        Assert.Equal([new string('x', 10)], Items(ql));
        ql.Verify();
    }

    [Fact]
    public void InsertingALargeValueInsideAPackedNodeSplitsItAndPlainNodesNeverMerge()
    {
        using var scope = new Threshold(5);
        var ql = new Quicklist();
        foreach (var v in new[] { "a", "b", "c", "d" }) ql.PushTail(B(v));
        ql.Insert(ql.Index(1)!.Value, B("LLLLLL"), after: true);
        Assert.Equal("2 P 2", Layout(ql));
        ql.Insert(ql.Index(3)!.Value, B("MMMMMM"), after: false); // before "c", the head of its node
        Assert.Equal("2 P P 2", Layout(ql));
        ql.Insert(ql.Index(2)!.Value, B("s"), after: true); // after a plain node: the next one is plain too
        Assert.Equal("2 P 1 P 2", Layout(ql));
        ql.Insert(ql.Index(2)!.Value, B("t"), after: false); // before a plain node: onto the previous node's tail
        Assert.Equal("3 P 1 P 2", Layout(ql));
        Assert.Equal(["a", "b", "t", "LLLLLL", "s", "MMMMMM", "c", "d"], Items(ql));
        ql.Verify();
    }

    [Fact]
    public void RangeDeleteAndIteratorDeleteRemovePlainNodes()
    {
        using var scope = new Threshold(5);
        var ql = new Quicklist();
        foreach (var v in new[] { "9", "XXXXXXXXXXX", "9", "one", "YYYYYY", "one", "ZZZZZZZ" }) ql.PushHead(B(v));
        Assert.Equal("P 1 P 2 P 1", Layout(ql));
        Assert.True(ql.DelRange(1, 3)); // one, YYYYYY, one
        Assert.Equal(["ZZZZZZZ", "9", "XXXXXXXXXXX", "9"], Items(ql));
        var it = ql.GetIterator(fromHead: false);
        while (it.Next(out var e))
            if (Quicklist.GetBytes(e).Length > 1) it.DelEntry(e);
        Assert.Equal(["9", "9"], Items(ql));
        Assert.Equal(2, ql.Len);
        ql.Verify();
    }

    [Fact]
    public void InnerPlainNodesAreCompressedAndReadBack()
    {
        using var scope = new Threshold(50);
        var ql = new Quicklist(-2, 1);
        for (int i = 0; i < 6; i++) ql.PushTail(B(i + new string('p', 200)));
        Assert.All(NodesOf(ql), n => Assert.True(n.IsPlain));
        Assert.False(ql.Head!.IsCompressed);
        Assert.False(ql.Tail!.IsCompressed);
        Assert.True(ql.Head.Next!.IsCompressed);
        Assert.True(ql.Head.Next.CompressedBytes!.Length < ql.Head.Next.Sz);
        Assert.Equal(3 + new string('p', 200), S(Quicklist.GetBytes(ql.Index(3)!.Value)));
        ql.Release(ql.Index(3)!.Value.Node);
        var second = ql.Index(2)!.Value.Node;
        Assert.True(second.IsPlain && !second.IsCompressed);
        ql.Release(second);
        Assert.True(second.IsCompressed);
        var copy = (Quicklist)ql.Duplicate();
        Assert.True(copy.Head!.Next!.IsPlain);
        Assert.Equal(Items(ql), Items(copy));
        ql.Verify();
        copy.Verify();
    }

    static IEnumerable<QuicklistNode> NodesOf(Quicklist ql)
    {
        for (var n = ql.Head; n != null; n = n.Next) yield return n;
    }

    [Fact]
    public void RdbLoadingAppendsPlainNodesAsTheyAre()
    {
        var ql = new Quicklist();
        ql.AppendListpack(ListpackOf("a", "b"));
        ql.AppendPlainNode(B("short but plain"));
        ql.AppendListpack(ListpackOf("c"));
        Assert.Equal("2 P 1", Layout(ql));
        Assert.Equal(["a", "b", "short but plain", "c"], Items(ql));
        ql.Verify();
    }

    static byte[] ListpackOf(params string[] values)
    {
        var lp = new Listpack();
        foreach (var v in values) lp.Append(B(v));
        return lp.ToArray();
    }

    [Fact]
    public void PackedThresholdHasRedisBoundsAndBelongsToTheThread()
    {
        Assert.Equal(Quicklist.DefaultPackedThreshold, Quicklist.PackedThreshold);
        try
        {
            Assert.True(Quicklist.TrySetPackedThreshold((1UL << 32) - (1 << 20)));
            Assert.False(Quicklist.TrySetPackedThreshold((1UL << 32) - (1 << 20) + 1));
            Assert.True(Quicklist.TrySetPackedThreshold(7));
            Assert.Equal(7, Quicklist.PackedThreshold);
            long other = 0;
            var t = new Thread(() => other = Quicklist.PackedThreshold);
            t.Start();
            t.Join();
            Assert.Equal(Quicklist.DefaultPackedThreshold, other);
            Assert.True(Quicklist.TrySetPackedThreshold(0));
            Assert.Equal(Quicklist.DefaultPackedThreshold, Quicklist.PackedThreshold);
        }
        finally
        {
            Quicklist.TrySetPackedThreshold(0);
        }
    }

    [Theory]
    [InlineData(-2, 0, 40)]
    [InlineData(-2, 1, 40)]
    [InlineData(1, 0, 10)]
    [InlineData(3, 2, 1)]
    [InlineData(128, 1, 200)]
    public void RandomizedOperationsWithPlainNodesMatchModel(int fill, int depth, int threshold)
    {
        using var scope = new Threshold((ulong)threshold);
        int seed = Environment.TickCount ^ (fill * 31 + depth * 7 + threshold);
        try
        {
            QuicklistTests.RunModel(seed, fill, depth, 3000);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"quicklist model failed: seed {seed} fill {fill} depth {depth} threshold {threshold}: {e}");
        }
    }
}
