// A load in progress (Redis's startLoading, loadingAbsProgress, stopLoading and the
// rdbLoadProgressCallback/processEventsWhileBlocked pair): whether the server is loading (the
// dispatcher answers -LOADING meanwhile), how far it is for INFO's loading_* fields, the test
// knob key-load-delay, and, while the start-up load runs, a pass over the event loop every
// loading-process-events-interval-bytes so clients are accepted and answered during a long load.
using System.Diagnostics;

namespace Cinnabar.Persistence;

public sealed class LoadingProgress(CinnabarServer server)
{
    long _nextEventsAt, _delayUs, _fileStart;
    readonly Stopwatch _clock = new();

    /// <summary>server.loading: a load is running.</summary>
    public bool Active { get; private set; }

    /// <summary>
    /// server.async_loading: a replica's swapdb load of the same history, into temporary
    /// databases while the old dataset keeps serving reads (only no-async-loading commands are refused).
    /// </summary>
    public bool Async { get; private set; }

    /// <summary>Set while Start() loads the dataset on its own thread, before the loop thread runs: only then are events processed from the loader.</summary>
    public bool ProcessEvents { get; set; }

    public long StartTimeUnix { get; private set; }
    public long TotalBytes { get; private set; }
    public long LoadedBytes { get; private set; }

    /// <summary>loading_rdb_used_mem: the used-mem AUX field of the RDB being loaded (0 when none).</summary>
    public long RdbUsedMem { get; set; }

    /// <summary>startLoading: totalBytes is what the files to load hold (INFO loading_total_bytes).</summary>
    public void Start(long totalBytes, bool async = false)
    {
        Active = true;
        Async = async;
        StartTimeUnix = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        TotalBytes = totalBytes;
        LoadedBytes = 0;
        _fileStart = 0;
        RdbUsedMem = 0;
        _nextEventsAt = server.Config.GetLong("loading-process-events-interval-bytes");
        _delayUs = server.Config.GetLong("key-load-delay");
        _clock.Restart();
    }

    public void Stop() => Active = Async = false;

    /// <summary>A file of the load begins (the RDB, or each AOF base and incr file): positions given to Progress count from here.</summary>
    public void BeginFile() => _fileStart = LoadedBytes;

    /// <summary>
    /// After each key (or command) loaded: the current file has been read up to position. Sleeps
    /// key-load-delay microseconds when set, and processes events once another interval's worth
    /// of bytes has been read.
    /// </summary>
    public void Progress(long position)
    {
        long loadedBytes = _fileStart + position;
        LoadedBytes = loadedBytes;
        if (_delayUs != 0) DebugDelay(_delayUs);
        if (!ProcessEvents || loadedBytes < _nextEventsAt) return;
        _nextEventsAt = loadedBytes + server.Config.GetLong("loading-process-events-interval-bytes");
        server.ProcessEventsWhileBlocked();
    }

    /// <summary>
    /// debugDelay: a negative delay -N sleeps 1 µs once in N calls on average, as Redis's does.
    /// Whole milliseconds sleep; what is below the OS timer's grain spins.
    /// </summary>
    static void DebugDelay(long us)
    {
        if (us < 0) us = Random.Shared.NextInt64(-us) == 0 ? 1 : 0;
        if (us >= 1000) Thread.Sleep((int)Math.Min(us / 1000, int.MaxValue));
        long until = Stopwatch.GetTimestamp() + us % 1000 * Stopwatch.Frequency / 1_000_000;
        while (Stopwatch.GetTimestamp() < until) Thread.SpinWait(20);
    }

    /// <summary>loading_loaded_perc.</summary>
    public double LoadedPercent => TotalBytes == 0 ? 0 : 100.0 * LoadedBytes / TotalBytes;

    /// <summary>loading_eta_seconds: the remaining bytes at the rate so far (1 until there is a rate, as Redis).</summary>
    public long EtaSeconds
    {
        get
        {
            double elapsed = _clock.Elapsed.TotalSeconds;
            if (LoadedBytes == 0 || elapsed <= 0) return 1;
            return (long)((TotalBytes - LoadedBytes) / (LoadedBytes / elapsed));
        }
    }
}
