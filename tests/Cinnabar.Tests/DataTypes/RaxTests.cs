// The rax against a model (a sorted dictionary with byte-wise order): random inserts and
// removals over keys that share prefixes (so edges split and merge), then every lookup, the
// ordered walk both ways, and each seek operator at random probes, plus rax.c's node counts.
using Cinnabar.DataTypes;

namespace Cinnabar.Tests.DataTypes;

public class RaxTests
{
    sealed class ByteOrder : IComparer<byte[]>
    {
        public static readonly ByteOrder Instance = new();
        public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);
    }

    static byte[] RandomKey(Random r)
    {
        // A small alphabet and short lengths give many shared prefixes and keys that are prefixes of others.
        var k = new byte[r.Next(0, 7)];
        for (int i = 0; i < k.Length; i++) k[i] = (byte)("abcz"[r.Next(4)]);
        return k;
    }

    static void AssertSameAsModel(Rax<string> rax, SortedDictionary<byte[], string> model, Random r)
    {
        Assert.Equal(model.Count, rax.Count);
        var keys = model.Keys.ToList();
        foreach (var k in keys) Assert.Equal(model[k], rax.Find(k));

        var it = rax.GetIterator();
        it.Seek(RaxSeek.First);
        var forward = new List<byte[]>();
        while (it.Next()) forward.Add(it.Key.ToArray());
        Assert.Equal(keys, forward);
        it.Seek(RaxSeek.Last);
        var backward = new List<byte[]>();
        while (it.Prev()) backward.Add(it.Key.ToArray());
        keys.Reverse();
        Assert.Equal(keys, backward);
        keys.Reverse();

        for (int probe = 0; probe < 40; probe++)
        {
            var p = RandomKey(r);
            Expect(it, RaxSeek.GreaterOrEqual, p, keys.FirstOrDefault(k => ByteOrder.Instance.Compare(k, p) >= 0));
            Expect(it, RaxSeek.Greater, p, keys.FirstOrDefault(k => ByteOrder.Instance.Compare(k, p) > 0));
            Expect(it, RaxSeek.LessOrEqual, p, keys.LastOrDefault(k => ByteOrder.Instance.Compare(k, p) <= 0));
            Expect(it, RaxSeek.Less, p, keys.LastOrDefault(k => ByteOrder.Instance.Compare(k, p) < 0));
            Expect(it, RaxSeek.Equal, p, model.ContainsKey(p) ? p : null);
            // After a seek, Next walks on in order.
            if (it.Seek(RaxSeek.GreaterOrEqual, p))
            {
                int at = keys.FindIndex(k => ByteOrder.Instance.Compare(k, p) >= 0);
                for (int i = at; i < Math.Min(keys.Count, at + 4); i++)
                {
                    Assert.True(it.Next());
                    Assert.Equal(keys[i], it.Key.ToArray());
                }
            }
        }
    }

    static void Expect(Rax<string>.Iterator it, RaxSeek op, byte[] probe, byte[]? expected)
    {
        bool found = it.Seek(op, probe);
        Assert.Equal(expected != null, found);
        Assert.Equal(expected != null, it.Next());
        if (expected != null) Assert.Equal(expected, it.Key.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomInsertsAndRemovesMatchASortedModel(int seed)
    {
        var r = new Random(seed);
        var rax = new Rax<string>();
        var model = new SortedDictionary<byte[], string>(ByteOrder.Instance);
        for (int round = 0; round < 30; round++)
        {
            for (int i = 0; i < 40; i++)
            {
                var k = RandomKey(r);
                string v = $"v{round}.{i}";
                bool isNew = !model.ContainsKey(k);
                if (r.Next(3) == 0)
                {
                    Assert.Equal(isNew, rax.TryInsert(k, v));
                    if (isNew) model[k] = v;
                }
                else
                {
                    Assert.Equal(isNew, rax.Insert(k, v));
                    model[k] = v;
                }
            }
            for (int i = 0; i < 25; i++)
            {
                var k = RandomKey(r);
                model.TryGetValue(k, out var expected);
                Assert.Equal(expected, rax.Remove(k));
                model.Remove(k);
            }
            AssertSameAsModel(rax, model, r);
        }
    }

    [Fact]
    public void StreamIdKeysIterateInIdOrder()
    {
        var rax = new Rax<string>();
        var ids = new List<StreamId>();
        var r = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            var id = new StreamId(1700000000000UL + (ulong)r.Next(0, 5000), (ulong)r.Next(0, 3));
            if (rax.Insert(id.ToKey(), id.ToString())) ids.Add(id);
        }
        ids.Sort();
        var it = rax.GetIterator();
        it.Seek(RaxSeek.First);
        foreach (var id in ids)
        {
            Assert.True(it.Next());
            Assert.Equal(id, StreamId.Decode(it.Key));
        }
        Assert.False(it.Next());
        Span<byte> last = stackalloc byte[16];
        Assert.True(rax.TryGetLast(last, out int len, out var v));
        Assert.Equal(16, len);
        Assert.Equal(ids[^1].ToString(), v);
    }

    [Fact]
    public void NodeCountFollowsRaxCompressedNodes()
    {
        var rax = new Rax<string>();
        Assert.Equal(1, rax.NodeCount); // the head
        rax.Insert("abc"u8, "1");
        Assert.Equal(2, rax.NodeCount); // head compressed "abc" -> key leaf
        rax.Insert("abd"u8, "2");
        // head compressed "ab" -> node [c,d] -> two leaves
        Assert.Equal(4, rax.NodeCount);
        rax.Insert("a"u8, "3");
        // head [a] -> key node compressed "b" -> [c,d] -> leaves
        Assert.Equal(5, rax.NodeCount);
        rax.Insert("axyz"u8, "4");
        // the key node under "a" branches [b,x]: "xyz" needs a compressed node of its own below it
        Assert.Equal(7, rax.NodeCount);
        rax.Remove("axyz"u8);
        Assert.Equal(5, rax.NodeCount);
        rax.Remove("a"u8);
        rax.Remove("abd"u8);
        Assert.Equal(2, rax.NodeCount);
    }
}
