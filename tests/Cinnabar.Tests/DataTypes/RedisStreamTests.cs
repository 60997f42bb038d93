// The stream's listpack nodes against a model (a sorted list of entries): random appends with
// varying field sets (SAMEFIELDS and not, integer-looking fields), deletions, MAXLEN/MINID trims
// exact and approximate, with small nodes so entries span many of them; then ranges both ways,
// the length, first/last IDs and every node's header counts.
using Cinnabar.DataTypes;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.DataTypes;

public class RedisStreamTests
{
    sealed record Entry(StreamId Id, string[] Pairs);

    static CommandArgs Args(string[] pairs)
    {
        var a = new CommandArgs();
        foreach (var p in pairs) a.Add(p);
        return a;
    }

    static string[] RandomPairs(Random r)
    {
        string[][] fieldSets = [["a", "b"], ["a", "b"], ["a", "b"], ["x"], ["1", "02", "c"], ["a", "bb"]];
        var fields = fieldSets[r.Next(fieldSets.Length)];
        var pairs = new List<string>();
        foreach (var f in fields)
        {
            pairs.Add(f);
            pairs.Add(r.Next(3) switch { 0 => r.Next(-1000, 100000).ToString(), 1 => new string('v', r.Next(0, 80)), _ => "val" + r.Next(100) });
        }
        return pairs.ToArray();
    }

    static List<Entry> Read(RedisStream s, StreamId? start, StreamId? end, bool rev)
    {
        using var it = StreamIterator.Start(s, start, end, rev);
        var list = new List<Entry>();
        while (it.GetId(out var id, out long n))
        {
            var pairs = new List<string>();
            for (long i = 0; i < n; i++)
            {
                it.GetField(out var f, out var v);
                pairs.Add(System.Text.Encoding.UTF8.GetString(f));
                pairs.Add(System.Text.Encoding.UTF8.GetString(v));
            }
            list.Add(new Entry(id, pairs.ToArray()));
        }
        return list;
    }

    static void AssertSame(RedisStream s, List<Entry> model, Random r)
    {
        Assert.Equal(model.Count, s.Length);
        var all = Read(s, null, null, rev: false);
        Assert.Equal(model.Select(e => e.Id), all.Select(e => e.Id));
        for (int i = 0; i < model.Count; i++) Assert.Equal(model[i].Pairs, all[i].Pairs);
        Assert.Equal(Enumerable.Reverse(model).Select(e => e.Id), Read(s, null, null, rev: true).Select(e => e.Id));
        if (model.Count > 0)
        {
            Assert.Equal(model[0].Id, s.FirstId);
            Assert.Equal(model[^1].Id, s.LastValidId());
            for (int k = 0; k < 10; k++)
            {
                var a = model[r.Next(model.Count)].Id;
                var b = model[r.Next(model.Count)].Id;
                if (a > b) (a, b) = (b, a);
                var expected = model.Where(e => e.Id >= a && e.Id <= b).Select(e => e.Id).ToList();
                Assert.Equal(expected, Read(s, a, b, rev: false).Select(e => e.Id));
                expected.Reverse();
                Assert.Equal(expected, Read(s, a, b, rev: true).Select(e => e.Id));
            }
        }
        // Every node's header: live + deleted entries as counted by walking it.
        long live = 0;
        var ri = s.Nodes.GetIterator();
        ri.Seek(RaxSeek.First);
        while (ri.Next())
        {
            var lp = new Listpack(ri.Value);
            Assert.True(Listpack.Validate(lp.Bytes));
            int p = lp.First();
            long count = RedisStream.GetInteger(lp, p);
            Assert.True(count > 0, "a node with no live entry must have left the rax");
            live += count;
        }
        Assert.Equal(s.Length, live);
    }

    [Theory]
    [InlineData(1, 5, 4096)]
    [InlineData(2, 100, 300)]
    [InlineData(3, 1, 4096)]
    [InlineData(4, 0, 0)]
    public void RandomHistoryMatchesTheModel(int seed, long maxEntries, long maxBytes)
    {
        var r = new Random(seed);
        var s = new RedisStream();
        var model = new List<Entry>();
        ulong ms = 1000;
        for (int step = 0; step < 600; step++)
        {
            int op = r.Next(10);
            if (op < 6)
            {
                ms += (ulong)r.Next(0, 3);
                var pairs = RandomPairs(r);
                var id = new StreamId(ms, 0);
                bool seqGiven = r.Next(2) == 0;
                if (seqGiven) id = new StreamId(ms, (ulong)r.Next(0, 5));
                var result = s.Append(Args(pairs), 0, pairs.Length / 2, ref id, idGiven: true, seqGiven, maxBytes, maxEntries, 0);
                if (result == StreamAppendResult.Ok) model.Add(new Entry(id, pairs));
                else Assert.True(s.LastId >= id);
            }
            else if (op < 8 && model.Count > 0)
            {
                var victim = model[r.Next(model.Count)];
                Assert.True(s.DeleteItem(victim.Id));
                Assert.False(s.DeleteItem(victim.Id));
                model.Remove(victim);
                if (model.Count == 0) s.FirstId = StreamId.Min;
                else s.FirstId = s.GetEdgeId(first: true, skipTombstones: true);
            }
            else if (op == 8)
            {
                var args = new StreamTrimArgs { Strategy = StreamTrimStrategy.MaxLen, MaxLen = r.Next(0, model.Count + 5), Approx = r.Next(2) == 0 };
                long removed = s.Trim(args);
                if (!args.Approx)
                {
                    int drop = Math.Max(0, model.Count - (int)args.MaxLen);
                    model.RemoveRange(0, drop);
                    Assert.Equal(drop, removed);
                }
                else model.RemoveRange(0, (int)removed);
            }
            else if (model.Count > 0)
            {
                var min = model[r.Next(model.Count)].Id;
                var args = new StreamTrimArgs { Strategy = StreamTrimStrategy.MinId, MinId = min, Approx = r.Next(2) == 0 };
                long removed = s.Trim(args);
                if (!args.Approx) Assert.Equal(model.RemoveAll(e => e.Id < min), removed);
                else model.RemoveRange(0, (int)removed);
            }
            if (step % 50 == 0) AssertSame(s, model, r);
        }
        AssertSame(s, model, r);
    }

    [Fact]
    public void AppendChoosesIdsAsRedis()
    {
        var s = new RedisStream();
        var pairs = Args(["f", "v"]);
        var id = default(StreamId);
        Assert.Equal(StreamAppendResult.Ok, s.Append(pairs, 0, 1, ref id, false, true, 4096, 100, nowMs: 5000));
        Assert.Equal(new StreamId(5000, 0), id);
        // The clock going back keeps the last ms and bumps the sequence.
        Assert.Equal(StreamAppendResult.Ok, s.Append(pairs, 0, 1, ref id, false, true, 4096, 100, nowMs: 4000));
        Assert.Equal(new StreamId(5000, 1), id);
        id = new StreamId(5000, 0);
        Assert.Equal(StreamAppendResult.Ok, s.Append(pairs, 0, 1, ref id, true, seqGiven: false, 4096, 100, 0));
        Assert.Equal(new StreamId(5000, 2), id);
        id = new StreamId(4999, 0);
        Assert.Equal(StreamAppendResult.IdTooSmall, s.Append(pairs, 0, 1, ref id, true, seqGiven: false, 4096, 100, 0));
        id = new StreamId(5000, 2);
        Assert.Equal(StreamAppendResult.IdTooSmall, s.Append(pairs, 0, 1, ref id, true, seqGiven: true, 4096, 100, 0));
        Assert.Equal(3, s.EntriesAdded);
    }

    [Theory]
    [InlineData("5", 5UL, 0UL, true)]
    [InlineData("5-3", 5UL, 3UL, true)]
    [InlineData("18446744073709551615-18446744073709551615", ulong.MaxValue, ulong.MaxValue, true)]
    [InlineData("+5-1", 5UL, 1UL, true)]
    [InlineData(" 7", 7UL, 0UL, true)]
    [InlineData("-1", 0UL, 0UL, false)]
    [InlineData("1-2-3", 0UL, 0UL, false)]
    [InlineData("18446744073709551616", 0UL, 0UL, false)]
    [InlineData("abc", 0UL, 0UL, false)]
    [InlineData("", 0UL, 0UL, false)]
    [InlineData("5-", 0UL, 0UL, false)]
    public void IdsParseAsString2ull(string text, ulong ms, ulong seq, bool ok)
    {
        Assert.Equal(ok, StreamId.TryParse(System.Text.Encoding.ASCII.GetBytes(text), out var id));
        if (ok) Assert.Equal(new StreamId(ms, seq), id);
    }
}
