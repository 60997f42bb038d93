// The cached clock (Redis's server.mstime / server.lruclock, updateCachedTime): the unix time in
// ms every expiry check of a command reads, and the 24-bit LRU clock objects are stamped with.
// The wall clock is read by serverCron and after a gap of a second; in between the time is
// derived from Stopwatch timestamps the loop and the dispatcher take anyway, so a command costs
// no wall-clock read.
using System.Diagnostics;

namespace Cinnabar.Server;

public sealed class ServerClock
{
    /// <summary>server.mstime: the cached unix time in ms.</summary>
    public long NowMs { get; private set; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>server.lruclock: unix seconds masked to 24 bits (LRU_CLOCK_MAX).</summary>
    public int LruClock { get; private set; }

    // The wall clock at the last read, in 100 ns ticks since the epoch: deriving milliseconds from
    // it and the elapsed monotonic time truncates once, so the cached time is never behind the
    // real one by a millisecond (a client's PXAT of now + 10 s reads back as at most 10000 ms).
    long _monoBase, _wallBaseTicks;

    /// <summary>Caches the unix time in ms, reading the wall clock.</summary>
    /// <remarks>
    /// Both clocks advance at the same rate (NTP slews both), and a step of the wall clock is
    /// picked up at the next cron run.
    /// </remarks>
    public void UpdateCachedTime()
    {
        _monoBase = Stopwatch.GetTimestamp();
        _wallBaseTicks = DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks;
        SetCachedTime(_wallBaseTicks / TimeSpan.TicksPerMillisecond);
    }

    /// <summary>Advances the cached time to a Stopwatch timestamp taken after the last wall-clock read.</summary>
    public void UpdateCachedTime(long stopwatchTimestamp)
    {
        long elapsed = stopwatchTimestamp - _monoBase;
        // A long gap (a nested loop without iterations, a very slow script) falls back to the wall clock.
        if ((ulong)elapsed > (ulong)Stopwatch.Frequency) UpdateCachedTime();
        else SetCachedTime((_wallBaseTicks + elapsed * TimeSpan.TicksPerSecond / Stopwatch.Frequency) / TimeSpan.TicksPerMillisecond);
    }

    void SetCachedTime(long ms)
    {
        NowMs = ms;
        LruClock = (int)((ms / 1000) & ((1 << 24) - 1));
    }

    /// <summary>A monotonic microsecond counter (Redis's getMonotonicUs) for durations.</summary>
    public static long MonotonicUs => Stopwatch.GetTimestamp() * 1_000_000 / Stopwatch.Frequency;
}
