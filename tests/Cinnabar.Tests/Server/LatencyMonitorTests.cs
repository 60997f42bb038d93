// The latency monitor's time series (a second keeps its worst sample, the all-time maximum,
// reset by name), its analysis and sparkline, and the per-command histogram's HdrHistogram
// layout: bucket bounds and percentiles come out as redis-server 7.0.15 prints them.
using Cinnabar.Server;

namespace Cinnabar.Tests.Server;

public class LatencyMonitorTests
{
    static LatencyMonitor Monitor(long threshold) => new(new ServerConfig { LatencyMonitorThreshold = threshold });

    [Fact]
    public void SamplesBelowTheThresholdOrWithTheMonitorOffAreDropped()
    {
        var off = Monitor(0);
        off.AddSampleIfNeeded(LatencyMonitor.Command, 1000);
        Assert.Empty(off.Events);
        Assert.Equal(0, off.StartMonitor());

        var on = Monitor(100);
        on.AddSampleIfNeeded(LatencyMonitor.Command, 99);
        Assert.Empty(on.Events);
        on.AddSampleIfNeeded(LatencyMonitor.Command, 100);
        Assert.Equal(100, Assert.Single(on.Events).Latest.Latency);
    }

    [Fact]
    public void ASecondKeepsItsWorstSampleAndTheSeriesItsMaximum()
    {
        var m = Monitor(1);
        m.AddSample("expire-cycle", 30);
        m.AddSample("expire-cycle", 50);
        m.AddSample("expire-cycle", 40);
        var ts = m.Find("expire-cycle")!;
        // The three samples usually share a second; across a boundary the later one holds 40 or 50.
        Assert.InRange(ts.Chronological().Count(), 1, 2);
        Assert.Equal(50, ts.Max);
        Assert.Equal(50, ts.Chronological().Max(s => s.Latency));
        Assert.Null(m.Find("EXPIRE-CYCLE"));
    }

    [Fact]
    public void ResetByNameIgnoresCaseAndResetAllCountsEvents()
    {
        var m = Monitor(1);
        m.AddSample("command", 5);
        m.AddSample("fast-command", 5);
        m.AddSample("aof-write", 5);
        Assert.Equal(1, m.Reset("COMMAND"));
        Assert.Equal(0, m.Reset("command"));
        Assert.Equal(2, m.Reset(null));
        Assert.Empty(m.Events);
    }

    [Fact]
    public void AnalyzeGivesAverageDeviationAndPeriod()
    {
        var ts = new LatencyMonitor.Series("command");
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        ts.Samples[0] = new() { Time = now - 10, Latency = 100 };
        ts.Samples[1] = new() { Time = now - 5, Latency = 300 };
        ts.Index = 2;
        ts.Max = 300;
        var stats = LatencyMonitor.Analyze(ts);
        Assert.Equal(2, stats.Samples);
        Assert.Equal(200, stats.Avg);
        Assert.Equal(100, stats.Mad);
        Assert.Equal(100, stats.Min);
        Assert.Equal(300, stats.Max);
        Assert.InRange(stats.Period, 10, 11);
    }

    [Fact]
    public void GraphScalesSamplesBetweenMinAndMax()
    {
        var ts = new LatencyMonitor.Series("command");
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        ts.Samples[0] = new() { Time = now - 120, Latency = 250 };
        ts.Samples[1] = new() { Time = now - 2, Latency = 450 };
        ts.Index = 2;
        ts.Max = 450;
        var lines = LatencyMonitor.Graph(ts).Split('\n');
        Assert.Equal("command - high 450 ms, low 250 ms (all time high 450 ms)", lines[0]);
        // Redis 7.0.15 draws 250 and 450 so: the low one at the bottom, the high one full height;
        // the labels ("2m", "2s") read downwards.
        Assert.Equal([" #", " |", " |", "_|", "  "], lines[2..7]);
        Assert.Matches("^2[23]$", lines[7]);
        Assert.Equal(["ms", ""], lines[8..]);
    }

    [Fact]
    public void HistogramBucketsAndPercentilesFollowHdrHistogram()
    {
        var h = new CommandLatencyHistogram();
        h.Record(7000); // 7 µs: the counter 6976..7007 ns
        Assert.Equal(7007, h.ValueAtPercentile(50));
        Assert.Equal(6976, h.ValueAtPercentile(0));
        // redis-server: a SET of ~7 µs is "histogram_usec 8 1" (the 8192 ns level's counter ends at 8255).
        Assert.Equal([(8L, 1L)], h.CumulativeBuckets());
        h.Record(30_000);
        h.Record(30_000);
        Assert.Equal([(8L, 1L), (33L, 3L)], h.CumulativeBuckets());
        Assert.Equal(3, h.TotalCount);
        Assert.Equal(30_079, h.ValueAtPercentile(99)); // p99=30.079 in INFO latencystats
        h.Reset();
        Assert.Equal(0, h.TotalCount);
        Assert.Empty(h.CumulativeBuckets());
    }

    [Fact]
    public void HistogramClampsToOneNanosecondAndOneSecond()
    {
        var h = new CommandLatencyHistogram();
        h.Record(0);
        Assert.Equal(1, h.ValueAtPercentile(100));
        h.Reset();
        h.Record(5_000_000_000);
        // 1 s falls in the counter 998,244,352..1,002,438,655 ns (2^22 ns wide at that magnitude).
        Assert.Equal(1_002_438_655, h.ValueAtPercentile(100));
    }
}
