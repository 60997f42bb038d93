// Model-checked skiplist and ZSet: thousands of random inserts, score updates and deletes are
// mirrored in a sorted list, and after every step ranks, rank lookups, score and lex ranges and
// range deletions must agree with it. The seed is printed so a failure can be replayed.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Xunit.Abstractions;

namespace Cinnabar.Tests.DataTypes;

public class SkipListTests(ITestOutputHelper output)
{
    static int Cmp((double S, string E) a, (double S, string E) b)
    {
        int c = a.S.CompareTo(b.S);
        return c != 0 ? c : string.CompareOrdinal(a.E, b.E);
    }

    static byte[] B(string s) => System.Text.Encoding.ASCII.GetBytes(s);

    static string S(byte[] b) => System.Text.Encoding.ASCII.GetString(b);

    [Fact]
    public void RandomOperationsMatchASortedListModel()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        var zsl = new SkipList(new Random(seed));
        var model = new List<(double S, string E)>();
        for (int step = 0; step < 5000; step++)
        {
            int op = rng.Next(10);
            if (op < 5 || model.Count == 0)
            {
                string e = "m" + rng.Next(2000);
                if (model.Exists(x => x.E == e)) continue;
                double s = rng.Next(100);
                zsl.Insert(s, B(e));
                model.Add((s, e));
                model.Sort(Cmp);
            }
            else if (op < 7)
            {
                var (s, e) = model[rng.Next(model.Count)];
                Assert.True(zsl.Delete(s, B(e)), $"step {step}: delete {e}");
                model.Remove((s, e));
            }
            else if (op < 9)
            {
                int i = rng.Next(model.Count);
                var (s, e) = model[i];
                double ns = rng.Next(100);
                zsl.UpdateScore(s, B(e), ns);
                model[i] = (ns, e);
                model.Sort(Cmp);
            }
            else
            {
                var r = new ScoreRange(rng.Next(100), rng.Next(100), rng.Next(2) == 0, rng.Next(2) == 0);
                var expected = model.Where(x => r.Contains(x.S)).ToList();
                long removed = zsl.DeleteRangeByScore(r, _ => { });
                Assert.Equal(expected.Count, removed);
                model.RemoveAll(x => r.Contains(x.S));
            }
            Assert.Equal(model.Count, zsl.Length);
            if (model.Count == 0) continue;

            // Rank of a random element and the element at a random rank.
            int k = rng.Next(model.Count);
            Assert.Equal(k + 1, zsl.GetRank(model[k].S, B(model[k].E)));
            var n = zsl.GetElementByRank(k + 1)!;
            Assert.Equal(model[k].E, S(n.Ele));

            // First/last in a random score range.
            var range = new ScoreRange(rng.Next(100), rng.Next(100), rng.Next(2) == 0, rng.Next(2) == 0);
            var inRange = model.Where(x => range.Contains(x.S)).ToList();
            Assert.Equal(inRange.Count == 0 ? null : inRange[0].E, zsl.FirstInRange(range) is { } f ? S(f.Ele) : null);
            Assert.Equal(inRange.Count == 0 ? null : inRange[^1].E, zsl.LastInRange(range) is { } l ? S(l.Ele) : null);
        }
        // Full walk forwards and backwards.
        var fwd = new List<string>();
        for (var x = zsl.First; x != null; x = x.Forward[0]) fwd.Add(S(x.Ele));
        Assert.Equal(model.Select(x => x.E), fwd);
        var back = new List<string>();
        for (var x = zsl.Tail; x != null; x = x.Backward) back.Add(S(x.Ele));
        back.Reverse();
        Assert.Equal(fwd, back);
    }

    [Fact]
    public void LexRangesAndRankDeletesOnEqualScoresMatchModel()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        for (int round = 0; round < 200; round++)
        {
            var zsl = new SkipList(new Random(seed + round));
            var members = Enumerable.Range(0, rng.Next(1, 300)).Select(i => $"e{rng.Next(1000):D4}").Distinct().OrderBy(x => x, StringComparer.Ordinal).ToList();
            foreach (var m in members) zsl.Insert(0, B(m));
            string a = $"e{rng.Next(1000):D4}", b = $"e{rng.Next(1000):D4}";
            bool aex = rng.Next(2) == 0, bex = rng.Next(2) == 0;
            Assert.True(LexRange.TryParse(B((aex ? "(" : "[") + a), B((bex ? "(" : "[") + b), out var lex));
            var expected = members.Where(m => (aex ? string.CompareOrdinal(m, a) > 0 : string.CompareOrdinal(m, a) >= 0) &&
                                              (bex ? string.CompareOrdinal(m, b) < 0 : string.CompareOrdinal(m, b) <= 0)).ToList();
            Assert.Equal(expected.Count == 0 ? null : expected[0], zsl.FirstInLexRange(lex) is { } f ? S(f.Ele) : null);
            Assert.Equal(expected.Count == 0 ? null : expected[^1], zsl.LastInLexRange(lex) is { } l ? S(l.Ele) : null);

            long start = rng.Next(members.Count) + 1, end = Math.Min(members.Count, start + rng.Next(20));
            var gone = new List<string>();
            Assert.Equal(end - start + 1, zsl.DeleteRangeByRank(start, end, n => gone.Add(S(n.Ele))));
            Assert.Equal(members.Skip((int)start - 1).Take((int)(end - start + 1)), gone);
            Assert.Equal(members.Count - gone.Count, zsl.Length);
        }
    }

    [Fact]
    public void ListpackZSetKeepsItsArrayInThePtrUntilItConvertsToTheSkiplistObject()
    {
        var z = ZSet.CreateListpack();
        for (int i = 0; i < 3; i++)
        {
            var flags = ZAddFlags.None;
            z.Add(i, B("member-" + i), ref flags, out _, 3, 64);
        }
        var lp = new Listpack(Assert.IsType<byte[]>(z.Object.Ptr));
        Assert.Equal(6, lp.Count);
        Assert.Equal(ObjEncoding.Listpack, z.Object.Encoding);

        var f = ZAddFlags.None;
        z.Add(3, B("member-3"), ref f, out _, 3, 64);
        Assert.IsType<ZSetSkipList>(z.Object.Ptr);
        Assert.Equal(ObjEncoding.SkipList, z.Object.Encoding);
        Assert.Equal(4, z.Length);

        z.Delete(B("member-3"));
        z.ConvertToListpackIfNeeded(8, 3, 64);
        Assert.IsType<byte[]>(z.Object.Ptr);
        Assert.Equal(ObjEncoding.Listpack, z.Object.Encoding);
        Assert.Equal(["member-0", "member-1", "member-2"], z.All().Select(e => S(e.Ele)));
    }

    [Fact]
    public void ZSetGivesTheSameAnswersInBothEncodings()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        var lp = ZSet.CreateListpack();
        var sk = ZSet.CreateSkipList();
        for (int step = 0; step < 2000; step++)
        {
            string e = "m" + rng.Next(120);
            double s = rng.Next(50) / 4.0;
            if (rng.Next(4) == 0)
            {
                Assert.Equal(sk.Delete(B(e)), lp.Delete(B(e)));
            }
            else
            {
                var f1 = ZAddFlags.None;
                var f2 = ZAddFlags.None;
                lp.Add(s, B(e), ref f1, out double n1, long.MaxValue, long.MaxValue);
                sk.Add(s, B(e), ref f2, out double n2, long.MaxValue, long.MaxValue);
                Assert.Equal(f2, f1);
                Assert.Equal(n2, n1);
            }
            Assert.True(lp.IsListpack);
            Assert.Equal(sk.All().Select(x => (S(x.Ele), x.Score)), lp.All().Select(x => (S(x.Ele), x.Score)));
            var r = new ScoreRange(rng.Next(50) / 4.0, rng.Next(50) / 4.0, rng.Next(2) == 0, rng.Next(2) == 0);
            Assert.Equal(sk.FirstRankInRange(r, false), lp.FirstRankInRange(r, false));
            Assert.Equal(sk.FirstRankInRange(r, true), lp.FirstRankInRange(r, true));
            Assert.Equal(sk.Rank(B(e), true, out _), lp.Rank(B(e), true, out _));
        }
        var copy = lp.Duplicate();
        copy.ConvertToSkipList();
        Assert.Equal(lp.All().Select(x => S(x.Ele)), copy.All().Select(x => S(x.Ele)));
        copy.Delete(copy.All().First().Ele);
        Assert.NotEqual(lp.Length, copy.Length);
    }
}
