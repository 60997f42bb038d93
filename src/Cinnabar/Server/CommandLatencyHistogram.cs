// A command's latency histogram (Redis 7.0's per-command hdr_histogram, INFO latencystats and
// LATENCY HISTOGRAM): the bucket layout of HdrHistogram with 1 ns..1 s and two significant
// figures, so percentiles and bucket bounds come out as Redis prints them. Values below 256 ns
// have a counter each; every power of two above has 128 linear sub-buckets. Recording is a
// clamp, a leading-zero count, a shift and an increment: no allocation after the counters
// exist, which is on the command's first recorded call.
using System.Numerics;

namespace Cinnabar.Server;

public sealed class CommandLatencyHistogram
{
    /// <summary>LATENCY_HISTOGRAM_MIN_VALUE / MAX_VALUE: what a recorded duration is clamped to, in ns.</summary>
    public const long MinValue = 1, MaxValue = 1_000_000_000;

    // hdr_calculate_bucket_config(1, 1e9, 2): 2*10^2 values at unit resolution round up to 256
    // sub-buckets; 23 buckets cover 1e9, laid out as 24 halves of 128 counters.
    const int SubBucketCount = 256, SubBucketHalfCount = 128, SubBucketHalfCountMagnitude = 7;
    const long SubBucketMask = SubBucketCount - 1;
    const int BucketCount = 23;
    const int CountsLen = (BucketCount + 1) * SubBucketHalfCount;

    readonly long[] _counts = new long[CountsLen];

    /// <summary>total_count: the calls recorded.</summary>
    public long TotalCount { get; private set; }

    /// <summary>updateCommandLatencyHistogram: one duration in nanoseconds, clamped to [1 ns, 1 s].</summary>
    public void Record(long ns)
    {
        if (ns < MinValue) ns = MinValue;
        else if (ns > MaxValue) ns = MaxValue;
        _counts[CountsIndex(ns)]++;
        TotalCount++;
    }

    public void Reset()
    {
        Array.Clear(_counts);
        TotalCount = 0;
    }

    static int BucketIndex(long value) => 63 - BitOperations.LeadingZeroCount((ulong)(value | SubBucketMask)) - SubBucketHalfCountMagnitude;

    static int CountsIndex(long value)
    {
        int bucket = BucketIndex(value);
        int sub = (int)(value >> bucket);
        return ((bucket + 1) << SubBucketHalfCountMagnitude) + sub - SubBucketHalfCount;
    }

    /// <summary>hdr_value_at_index: the lowest value a counter stands for.</summary>
    static long ValueAtIndex(int index)
    {
        int bucket = (index >> SubBucketHalfCountMagnitude) - 1;
        int sub = (index & (SubBucketHalfCount - 1)) + SubBucketHalfCount;
        if (bucket < 0)
        {
            sub -= SubBucketHalfCount;
            bucket = 0;
        }
        return (long)sub << bucket;
    }

    static long LowestEquivalent(long value)
    {
        int bucket = BucketIndex(value);
        return (value >> bucket) << bucket;
    }

    static long HighestEquivalent(long value)
    {
        int bucket = BucketIndex(value);
        int sub = (int)(value >> bucket);
        // A sub-bucket index past the bucket's end belongs to the next bucket's resolution.
        int size = sub >= SubBucketCount ? bucket + 1 : bucket;
        return LowestEquivalent(value) + (1L << size) - 1;
    }

    /// <summary>
    /// hdr_value_at_percentile: the value the percentile's call falls in, as the highest value
    /// of its counter (the lowest for percentile 0). The rank is at least the first call.
    /// </summary>
    public long ValueAtPercentile(double percentile)
    {
        double requested = percentile < 100.0 ? percentile : 100.0;
        long rank = (long)(requested / 100 * TotalCount + 0.5);
        rank = Math.Clamp(rank, 1, Math.Max(TotalCount, 1));
        long cumulative = 0, value = 0;
        for (int i = 0; i < CountsLen && cumulative < rank; i++)
        {
            cumulative += _counts[i];
            value = ValueAtIndex(i);
        }
        if (TotalCount == 0) return 0;
        return percentile == 0.0 ? LowestEquivalent(value) : HighestEquivalent(value);
    }

    /// <summary>
    /// fillCommandCDF's walk (hdr_iter_log_init with 1024 ns and base 2): for each power-of-two
    /// level, the highest value of the level's counter in µs and the calls at or below it;
    /// levels that add no calls are skipped. Past 1 s the last counter's bound is the level.
    /// </summary>
    public List<(long Micros, long Cumulative)> CumulativeBuckets()
    {
        var result = new List<(long, long)>();
        long level = 1024, previous = 0, cumulative = 0;
        int index = -1;
        while (cumulative < TotalCount)
        {
            long levelLowest = LowestEquivalent(level);
            // Absorb counters up to and including the first one at or past the level.
            long reached = -1;
            while (index + 1 < CountsLen)
            {
                index++;
                cumulative += _counts[index];
                long v = ValueAtIndex(index);
                if (v >= levelLowest)
                {
                    reached = HighestEquivalent(v);
                    break;
                }
            }
            if (reached < 0) reached = HighestEquivalent(ValueAtIndex(CountsLen - 1));
            if (cumulative > previous) result.Add((reached / 1000, cumulative));
            previous = cumulative;
            if (index + 1 >= CountsLen) break;
            level *= 2;
        }
        return result;
    }
}
