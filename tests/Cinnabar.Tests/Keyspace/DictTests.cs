// Dict: randomized operation sequences against a Dictionary model while tables grow, shrink
// and rehash; Redis's SCAN guarantee across resizes; and the bound on rehash work per
// operation that makes growth incremental (no stop-the-world resize).
using System.Text;
using Cinnabar.Keyspace;

namespace Cinnabar.Tests.Keyspace;

public class DictTests
{
    static byte[] K(string s) => Encoding.ASCII.GetBytes(s);

    static void Check(bool condition, int seed, int step, string what) =>
        Assert.True(condition, $"seed {seed}, step {step}: {what}");

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(42)]
    [InlineData(1234)]
    public void RandomOperationsMatchADictionaryModelWhileRehashing(int seed)
    {
        var rng = new Random(seed);
        var dict = new Dict<int>();
        var model = new Dictionary<string, int>();
        bool sawGrowRehash = false, sawShrinkRehash = false;
        const int Steps = 17500;
        for (int step = 0; step < Steps; step++)
        {
            // Phases push the size up and down so both growth and shrinking happen mid-sequence.
            bool growing = (step / 2500) % 2 == 0;
            int space = 1000;
            string key = "k" + rng.Next(space);
            // While shrinking, most keys touched are present ones, so deletions drain the table.
            if (!growing && model.Count > 0 && rng.Next(2) == 0) key = model.Keys.ElementAt(rng.Next(model.Count));
            int op = rng.Next(100);
            if (op < (growing ? 45 : 4))
            {
                int v = rng.Next();
                bool added = dict.Add(K(key), v) != null;
                Check(added == !model.ContainsKey(key), seed, step, $"Add({key}) returned {added}");
                if (added) model[key] = v;
            }
            else if (op < (growing ? 55 : 5))
            {
                int v = rng.Next();
                dict.Set(K(key), v);
                model[key] = v;
            }
            else if (op < (growing ? 70 : 75))
            {
                bool removed = dict.Remove(K(key));
                Check(removed == model.Remove(key), seed, step, $"Remove({key}) returned {removed}");
            }
            else if (op < 95)
            {
                bool found = dict.TryGetValue(K(key), out int v);
                Check(found == model.TryGetValue(key, out int mv), seed, step, $"Find({key}) found={found}");
                if (found) Check(v == mv, seed, step, $"value of {key}: {v} != {mv}");
            }
            else if (op < 98)
            {
                long before = dict.Table0Size;
                if (dict.ShrinkIfNeeded() && dict.Table1Size < before) sawShrinkRehash = true;
            }
            else
            {
                dict.Rehash(rng.Next(1, 5));
            }
            if (dict.IsRehashing && dict.Table1Size > dict.Table0Size) sawGrowRehash = true;
            Check(dict.Count == model.Count, seed, step, $"Count {dict.Count} != {model.Count}");
            if (step % 1000 == 0) AssertSameContents(dict, model, seed, step);
        }
        AssertSameContents(dict, model, seed, Steps);
        Assert.True(sawGrowRehash, $"seed {seed}: no operation ran while a growing rehash was in progress");
        Assert.True(sawShrinkRehash, $"seed {seed}: the table never shrank (count {dict.Count}, table {dict.Table0Size})");
    }

    static void AssertSameContents(Dict<int> dict, Dictionary<string, int> model, int seed, int step)
    {
        var seen = new Dictionary<string, int>();
        foreach (var e in dict.Entries())
        {
            string k = Encoding.ASCII.GetString(e.Key);
            Check(seen.TryAdd(k, e.Value), seed, step, $"{k} enumerated twice");
        }
        Check(seen.Count == model.Count, seed, step, $"enumerated {seen.Count} entries, model has {model.Count}");
        foreach (var (k, v) in model)
            Check(seen.TryGetValue(k, out int dv) && dv == v, seed, step, $"{k} missing or wrong in the dict");
    }

    [Theory]
    [InlineData(7)]
    [InlineData(99)]
    [InlineData(2024)]
    public void ScanReturnsEveryElementPresentForTheWholeScanAcrossGrowAndShrink(int seed)
    {
        var rng = new Random(seed);
        var dict = new Dict<int>();
        var stable = new HashSet<string>();
        for (int i = 0; i < 100; i++)
        {
            stable.Add("s" + i);
            dict.Add(K("s" + i), i);
        }
        var transient = new List<string>();
        int next = 0;
        var returned = new HashSet<string>();
        ulong cursor = 0;
        int calls = 0;
        bool grew = false, shrank = false;
        do
        {
            cursor = dict.Scan(cursor, e => returned.Add(Encoding.ASCII.GetString(e.Key)));
            calls++;
            // Between calls: alternately flood the table (grow) and drain it (shrink), with
            // some rehash steps so scans also run while two tables are live.
            long size = dict.BucketCount;
            if ((calls / 8) % 2 == 0)
            {
                for (int i = 0; i < rng.Next(50, 400); i++)
                {
                    string k = "t" + next++;
                    transient.Add(k);
                    dict.Add(K(k), 0);
                }
            }
            else
            {
                int n = Math.Min(transient.Count, rng.Next(100, 800));
                for (int i = 0; i < n; i++)
                {
                    int idx = rng.Next(transient.Count);
                    dict.Remove(K(transient[idx]));
                    transient[idx] = transient[^1];
                    transient.RemoveAt(transient.Count - 1);
                }
                dict.ShrinkIfNeeded();
            }
            if (rng.Next(3) == 0) dict.Rehash(rng.Next(1, 20));
            if (dict.BucketCount > size) grew = true;
            if (dict.IsRehashing && dict.Table1Size < dict.Table0Size) shrank = true;
            Assert.True(calls < 1_000_000, $"seed {seed}: scan did not terminate");
        } while (cursor != 0);
        foreach (var k in stable) Assert.True(returned.Contains(k), $"seed {seed}: {k} was present for the whole scan but never returned");
        Assert.True(grew, $"seed {seed}: the table never grew during the scan");
        Assert.True(shrank, $"seed {seed}: the table never shrank during the scan");
    }

    [Fact]
    public void ScanOfAStableTableVisitsEachElementExactlyOnce()
    {
        var dict = new Dict<int>();
        for (int i = 0; i < 1000; i++) dict.Add(K("k" + i), i);
        var counts = new Dictionary<string, int>();
        ulong cursor = 0;
        do cursor = dict.Scan(cursor, e => counts[Encoding.ASCII.GetString(e.Key)] = counts.GetValueOrDefault(Encoding.ASCII.GetString(e.Key)) + 1);
        while (cursor != 0);
        Assert.Equal(1000, counts.Count);
        Assert.All(counts.Values, v => Assert.Equal(1, v));
    }

    [Fact]
    public void RehashMovesAtMostTheRequestedBucketsAndTenEmptyVisitsPerBucket()
    {
        var dict = new Dict<int>();
        for (int i = 0; i < 5000; i++) dict.Add(K("k" + i), i);
        for (int i = 0; i < 4900; i++) dict.Remove(K("k" + i)); // sparse: many empty buckets
        Assert.True(dict.ShrinkIfNeeded());
        while (dict.IsRehashing)
        {
            long moved = dict.RehashedBuckets, empty = dict.RehashEmptyVisits;
            dict.Rehash(3);
            Assert.InRange(dict.RehashedBuckets - moved, 0, 3);
            Assert.InRange(dict.RehashEmptyVisits - empty, 0, 30);
        }
        Assert.Equal(100, dict.Count);
    }

    [Fact]
    public void EachOperationOnABigTableDoesOneBucketOfRehashWork()
    {
        var dict = new Dict<int>();
        for (int i = 0; i < 65536; i++) dict.Add(K("k" + i), i); // the next Add starts a resize to 131072
        int i2 = 65536;
        dict.Add(K("k" + i2++), 0);
        Assert.True(dict.IsRehashing);
        while (dict.IsRehashing)
        {
            long moved = dict.RehashedBuckets, empty = dict.RehashEmptyVisits;
            switch (i2 % 3)
            {
                case 0: dict.Add(K("k" + i2), i2); break;
                case 1: dict.TryGetValue(K("k" + (i2 / 2)), out _); break;
                default: dict.Remove(K("k" + (i2 / 3))); break;
            }
            i2++;
            Assert.InRange(dict.RehashedBuckets - moved, 0, 1);
            Assert.InRange(dict.RehashEmptyVisits - empty, 0, 10);
        }
    }

    [Fact]
    public void GrowingToAMillionKeysRehashesIncrementally()
    {
        const int N = 1_000_000;
        var dict = new Dict<int>();
        long maxMovedPerAdd = 0, maxEmptyPerAdd = 0, addsWhileRehashing = 0, resizes = 0;
        bool wasRehashing = false;
        for (int i = 0; i < N; i++)
        {
            long moved = dict.RehashedBuckets, empty = dict.RehashEmptyVisits;
            dict.Add(K("key:" + i), i);
            maxMovedPerAdd = Math.Max(maxMovedPerAdd, dict.RehashedBuckets - moved);
            maxEmptyPerAdd = Math.Max(maxEmptyPerAdd, dict.RehashEmptyVisits - empty);
            if (dict.IsRehashing)
            {
                addsWhileRehashing++;
                if (!wasRehashing) resizes++;
            }
            wasRehashing = dict.IsRehashing;
        }
        Assert.Equal(N, dict.Count);
        Assert.Equal(1, maxMovedPerAdd);        // never more than one bucket per Add...
        Assert.InRange(maxEmptyPerAdd, 0, 10);  // ...plus at most ten empty buckets skipped
        Assert.InRange(resizes, 17, 20);        // 4 -> 1M+ buckets, one doubling at a time
        Assert.True(addsWhileRehashing > N / 4, $"only {addsWhileRehashing} adds overlapped a rehash: resizes look stop-the-world");
        for (int i = 0; i < N; i += 997) Assert.True(dict.TryGetValue(K("key:" + i), out int v) && v == i);
    }
}
