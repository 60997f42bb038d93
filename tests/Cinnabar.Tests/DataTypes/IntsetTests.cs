// Intset against a SortedSet model over thousands of random adds/removes (seed printed), plus the
// exact byte layout and the int16 -> int32 -> int64 upgrade.
using Cinnabar.DataTypes;
using Xunit.Abstractions;

namespace Cinnabar.Tests.DataTypes;

public class IntsetTests(ITestOutputHelper output)
{
    [Fact]
    public void RandomOperationsMatchASortedSetModel()
    {
        int seed = Environment.TickCount;
        output.WriteLine($"seed {seed}");
        var rng = new Random(seed);
        var set = new Intset();
        var model = new SortedSet<long>();
        long[] ranges = [100, 40000, 3_000_000_000, long.MaxValue];
        for (int step = 0; step < 20000; step++)
        {
            long range = ranges[rng.Next(ranges.Length)];
            long v = range == long.MaxValue ? rng.NextInt64(long.MinValue, long.MaxValue) : rng.NextInt64(-range, range);
            if (rng.Next(3) == 0 && model.Count > 0) v = model.ElementAt(rng.Next(model.Count));
            if (rng.Next(2) == 0) Assert.Equal(model.Add(v), set.Add(v));
            else Assert.Equal(model.Remove(v), set.Remove(v));
            Assert.Equal(model.Contains(v), set.Contains(v));
            if (step % 500 == 0)
            {
                Assert.Equal(model.ToArray(), Enumerable.Range(0, set.Count).Select(set.Get).ToArray());
                if (set.Count > 0) Assert.True(Intset.Validate(set.Bytes), $"seed {seed} step {step}");
            }
        }
        Assert.Equal(model.Count, set.Count);
    }

    [Fact]
    public void LayoutIsRedisAndUpgradesWidenEveryValue()
    {
        var set = new Intset();
        set.Add(2);
        set.Add(1);
        Assert.Equal(new byte[] { 2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 2, 0 }, set.Bytes.ToArray());
        set.Add(-70000);
        Assert.Equal(4, set.Encoding);
        Assert.Equal(new long[] { -70000, 1, 2 }, new[] { set.Get(0), set.Get(1), set.Get(2) });
        set.Add(long.MaxValue);
        Assert.Equal(8, set.Encoding);
        Assert.Equal(Intset.HeaderSize + 4 * 8, set.BlobLength);
        Assert.Equal(long.MaxValue, set.Get(3));
        set.Remove(long.MaxValue);
        Assert.Equal(8, set.Encoding); // never downgraded, as in Redis
    }
}
