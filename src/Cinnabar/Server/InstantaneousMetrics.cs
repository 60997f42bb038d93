// INFO's instantaneous_* fields (server.c trackInstantaneousMetric): every 100 ms serverCron
// samples the growth of a counter per second into a ring of 16 samples; the reported value is
// the ring's average, so it reflects roughly the last 1.6 seconds.
namespace Cinnabar.Server;

public sealed class InstantaneousMetrics
{
    const int Samples = 16;       // STATS_METRIC_SAMPLES
    const int PeriodMs = 100;     // run_with_period(100)

    sealed class Metric
    {
        public long LastSampleMs, LastValue;
        public readonly long[] Ring = new long[Samples];
        public int Index;
    }

    readonly Metric _ops = new(), _netInput = new(), _netOutput = new();
    long _lastRunMs;

    /// <summary>Called from serverCron; samples when at least 100 ms passed since the last sample.</summary>
    public void Track(ServerStats stats, long nowMs)
    {
        if (nowMs - _lastRunMs < PeriodMs) return;
        _lastRunMs = nowMs;
        Sample(_ops, stats.NumCommands, nowMs);
        Sample(_netInput, stats.NetInputBytes, nowMs);
        Sample(_netOutput, stats.NetOutputBytes, nowMs);
    }

    static void Sample(Metric m, long value, long nowMs)
    {
        long elapsed = nowMs - m.LastSampleMs;
        long delta = value - m.LastValue;
        m.Ring[m.Index] = elapsed > 0 && m.LastSampleMs != 0 ? delta * 1000 / elapsed : 0;
        m.Index = (m.Index + 1) % Samples;
        m.LastSampleMs = nowMs;
        m.LastValue = value;
    }

    static long Average(Metric m)
    {
        long sum = 0;
        foreach (long v in m.Ring) sum += v;
        return sum / Samples;
    }

    public long OpsPerSec => Average(_ops);
    public double InputKbps => Average(_netInput) / 1024.0;
    public double OutputKbps => Average(_netOutput) / 1024.0;
}
