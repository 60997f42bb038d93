// The latency monitor (Redis's latency.c): mechanisms that may stall the event loop report how
// long they took, and a duration of at least latency-monitor-threshold ms becomes a sample in
// that event's time series: 160 slots, one per second (a second keeps its worst), plus the
// all-time maximum. Below the threshold a report is one comparison, so call() can offer every
// command. LATENCY LATEST / HISTORY / GRAPH / DOCTOR read the series; RESET drops them.
using System.Globalization;
using System.Text;

namespace Cinnabar.Server;

public sealed class LatencyMonitor
{
    /// <summary>LATENCY_TS_LEN: seconds of samples an event keeps.</summary>
    public const int SeriesLength = 160;

    /// <summary>The event names Cinnabar records, as Redis names them.</summary>
    public const string Command = "command", FastCommand = "fast-command", CommandUnblocking = "command-unblocking",
        ExpireCycle = "expire-cycle", EvictionCycle = "eviction-cycle", EvictionDel = "eviction-del",
        AofWrite = "aof-write", AofWritePendingFsync = "aof-write-pending-fsync", AofWriteActiveChild = "aof-write-active-child",
        AofWriteAlone = "aof-write-alone", AofFsyncAlways = "aof-fsync-always";

    /// <summary>One second's worst latency; Time 0 marks an unused slot.</summary>
    public struct Sample
    {
        public long Time;
        public long Latency;
    }

    /// <summary>latencyTimeSeries: a ring of samples, Index the next slot to write.</summary>
    public sealed class Series(string name)
    {
        public readonly string Name = name;
        public readonly Sample[] Samples = new Sample[SeriesLength];
        public int Index;
        public long Max;

        /// <summary>The samples oldest first, unused slots skipped.</summary>
        public IEnumerable<Sample> Chronological()
        {
            for (int j = 0; j < SeriesLength; j++)
            {
                var s = Samples[(Index + j) % SeriesLength];
                if (s.Time != 0) yield return s;
            }
        }

        public Sample Latest => Samples[(Index + SeriesLength - 1) % SeriesLength];
    }

    readonly ServerConfig _config;
    // Few events exist (a dozen names), so a list keeps creation order and a scan finds one.
    readonly List<Series> _events = [];

    public LatencyMonitor(ServerConfig config) => _config = config;

    public IReadOnlyList<Series> Events => _events;

    /// <summary>Case-sensitive, as Redis's dict of event names.</summary>
    public Series? Find(string name) => _events.Find(s => s.Name == name);

    /// <summary>latencyAddSampleIfNeeded: records ms when the monitor is on and ms reaches the threshold.</summary>
    public void AddSampleIfNeeded(string eventName, long ms)
    {
        long threshold = _config.LatencyMonitorThreshold;
        if (threshold != 0 && ms >= threshold) AddSample(eventName, ms);
    }

    /// <summary>latencyStartMonitor: a start timestamp, or 0 while the monitor is off (nothing to measure).</summary>
    public long StartMonitor() => _config.LatencyMonitorThreshold != 0 ? System.Diagnostics.Stopwatch.GetTimestamp() : 0;

    /// <summary>latencyEndMonitor + latencyAddSampleIfNeeded for a StartMonitor timestamp.</summary>
    public void EndMonitor(string eventName, long start)
    {
        if (start == 0) return;
        AddSampleIfNeeded(eventName, (long)System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }

    /// <summary>latencyAddSample: the series is created on first use; a second keeps its worst sample.</summary>
    public void AddSample(string eventName, long ms)
    {
        var ts = Find(eventName);
        if (ts == null)
        {
            ts = new Series(eventName);
            _events.Add(ts);
        }
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (ms > ts.Max) ts.Max = ms;
        int prev = (ts.Index + SeriesLength - 1) % SeriesLength;
        if (ts.Samples[prev].Time == now)
        {
            if (ms > ts.Samples[prev].Latency) ts.Samples[prev].Latency = ms;
            return;
        }
        ts.Samples[ts.Index] = new Sample { Time = now, Latency = ms };
        ts.Index = (ts.Index + 1) % SeriesLength;
    }

    /// <summary>latencyResetEvent: drops the named event (case-insensitive), or every event for null; returns how many.</summary>
    public int Reset(string? eventName)
    {
        if (eventName == null)
        {
            int n = _events.Count;
            _events.Clear();
            return n;
        }
        return _events.RemoveAll(s => string.Equals(s.Name, eventName, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>latencyStats: what analyzeLatencyForEvent derives from one series.</summary>
    public readonly record struct Stats(long AllTimeHigh, long Avg, long Min, long Max, long Mad, int Samples, long Period);

    /// <summary>analyzeLatencyForEvent: count, min, max, average, mean absolute deviation and the seconds covered.</summary>
    public static Stats Analyze(Series ts)
    {
        int samples = 0;
        long min = 0, max = 0, sum = 0, oldest = 0;
        foreach (var s in ts.Samples)
        {
            if (s.Time == 0) continue;
            samples++;
            if (samples == 1) min = max = s.Latency;
            else
            {
                min = Math.Min(min, s.Latency);
                max = Math.Max(max, s.Latency);
            }
            sum += s.Latency;
            if (oldest == 0 || s.Time < oldest) oldest = s.Time;
        }
        if (samples == 0) return new Stats(ts.Max, 0, 0, 0, 0, 0, 0);
        long avg = sum / samples;
        long period = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - oldest;
        if (period == 0) period = 1;
        long deviation = 0;
        foreach (var s in ts.Samples)
            if (s.Time != 0) deviation += Math.Abs(avg - s.Latency);
        return new Stats(ts.Max, avg, min, max, deviation / samples, samples, period);
    }

    const int GraphColumns = 80;

    /// <summary>latencyCommandGenSparkeline: the header, a rule, and the sparkline labelled with how long ago each sample was.</summary>
    public static string Graph(Series ts)
    {
        var seq = new Sparkline();
        long min = 0, max = 0;
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var s in ts.Chronological())
        {
            if (seq.Length == 0) min = max = s.Latency;
            else
            {
                max = Math.Max(max, s.Latency);
                min = Math.Min(min, s.Latency);
            }
            long elapsed = now - s.Time;
            string label = elapsed < 60 ? elapsed + "s"
                : elapsed < 3600 ? elapsed / 60 + "m"
                : elapsed < 3600 * 24 ? elapsed / 3600 + "h"
                : elapsed / (3600 * 24) + "d";
            seq.Add(s.Latency, label);
        }
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{ts.Name} - high {max} ms, low {min} ms (all time high {ts.Max} ms)\n");
        sb.Append('-', GraphColumns).Append('\n');
        seq.Render(sb, GraphColumns, 4, fill: true);
        return sb.ToString();
    }

    /// <summary>createLatencyReport: LATENCY DOCTOR's text, each event's figures and the advice they call for, in Redis's words.</summary>
    public string Doctor()
    {
        var report = new StringBuilder();
        if (_events.Count == 0 && _config.LatencyMonitorThreshold == 0)
        {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
        }
        var advice = new Advice();
        int advices = 0, eventnum = 0;
        foreach (var ts in _events)
        {
            eventnum++;
            if (eventnum == 1) report.Append("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            var ls = Analyze(ts);
            report.Append(CultureInfo.InvariantCulture,
                $"{eventnum}. {ts.Name}: {ls.Samples} latency spikes (average {ls.Avg}ms, mean deviation {ls.Mad}ms, period {(double)ls.Period / ls.Samples:F2} sec). Worst all time event {ts.Max}ms.");
            advices += advice.ForEvent(ts.Name, _config);
            report.Append('\n');
        }
        if (AnonHugePagesBytes() > 0)
        {
            advice.DisableThp = true;
            advices++;
        }
        if (eventnum == 0 && advices == 0)
        {
            report.Append("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        }
        else if (eventnum > 0 && advices == 0)
        {
            report.Append("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        }
        else
        {
            report.Append("\nI have a few advices for you:\n\n");
            advice.Write(report, _config);
        }
        return report.ToString();
    }

    /// <summary>The advise_* flags of createLatencyReport.</summary>
    sealed class Advice
    {
        public bool SlowlogEnabled, SlowlogTuning, SlowlogInspect, Scheduler, LocalDisk, Ssd, DataWriteback,
            DiskContention, NoAppendfsync, RelaxFsyncPolicy, WriteLoadInfo, Hz, LargeObjects, MassEviction, DisableThp;

        /// <summary>Sets the flags an event calls for; returns the number of advices it adds.</summary>
        public int ForEvent(string name, ServerConfig config)
        {
            int n = 0;
            switch (name.ToLowerInvariant())
            {
                case "command":
                    if (config.SlowlogLogSlowerThan < 0) { SlowlogEnabled = true; n++; }
                    else if (config.SlowlogLogSlowerThan / 1000 > config.LatencyMonitorThreshold) { SlowlogTuning = true; n++; }
                    SlowlogInspect = LargeObjects = true;
                    n += 2;
                    break;
                case "fast-command":
                    Scheduler = true;
                    n++;
                    break;
                case "aof-write-pending-fsync":
                    LocalDisk = DiskContention = Ssd = DataWriteback = true;
                    n += 4;
                    break;
                case "aof-write-active-child":
                    NoAppendfsync = DataWriteback = Ssd = true;
                    n += 3;
                    break;
                case "aof-write-alone":
                    LocalDisk = DataWriteback = Ssd = true;
                    n += 3;
                    break;
                case "aof-fsync-always":
                    RelaxFsyncPolicy = true;
                    n++;
                    break;
                case "aof-fstat" or "rdb-unlink-temp-file":
                    DiskContention = LocalDisk = true;
                    n += 2;
                    break;
                case "aof-rewrite-diff-write" or "aof-rename":
                    WriteLoadInfo = DataWriteback = Ssd = LocalDisk = true;
                    n += 4;
                    break;
                case "expire-cycle":
                    Hz = LargeObjects = true;
                    n += 2;
                    break;
                case "eviction-del":
                    LargeObjects = true;
                    n++;
                    break;
                case "eviction-cycle":
                    MassEviction = true;
                    n++;
                    break;
            }
            return n;
        }

        public void Write(StringBuilder r, ServerConfig config)
        {
            ulong threshold = (ulong)config.LatencyMonitorThreshold * 1000;
            if (SlowlogEnabled)
                r.Append(CultureInfo.InvariantCulture, $"- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.\n");
            if (SlowlogTuning)
                r.Append(CultureInfo.InvariantCulture, $"- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold}'.\n");
            if (SlowlogInspect)
                r.Append("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
            if (Scheduler)
                r.Append("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n"
                    + "  1) Lower the system load.\n"
                    + "  2) Use a computer / VM just for Redis if you are running other software in the same system.\n"
                    + "  3) Check if you have a \"noisy neighbour\" problem.\n"
                    + "  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n"
                    + "  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
            if (LocalDisk)
                r.Append("- It is strongly advised to use local disks for persistence, especially if you are using AOF. Remote disks provided by platform-as-a-service providers are known to be slow.\n");
            if (Ssd)
                r.Append("- SSD disks are able to reduce fsync latency, and total time needed for snapshotting and AOF log rewriting (resulting in smaller memory usage and smaller final AOF rewrite buffer flushes). With extremely high write load SSD disks can be a good option. However Redis should perform reasonably with high load using normal disks. Use this advice as a last resort.\n");
            if (DataWriteback)
                r.Append("- Mounting ext3/4 filesystems with data=writeback can provide a performance boost compared to data=ordered, however this mode of operation provides less guarantees, and sometimes it can happen that after a hard crash the AOF file will have a half-written command at the end and will require to be repaired before Redis restarts.\n");
            if (DiskContention)
                r.Append("- Try to lower the disk contention. This is often caused by other disk intensive processes running in the same computer (including other Redis instances).\n");
            if (NoAppendfsync)
                r.Append("- Assuming from the point of view of data safety this is viable in your environment, you could try to enable the 'no-appendfsync-on-rewrite' option, so that fsync will not be performed while there is a child rewriting the AOF file or producing an RDB file (the moment where there is high disk contention).\n");
            if (RelaxFsyncPolicy && config.AppendFsync == AofFsync.Always)
                r.Append("- Your fsync policy is set to 'always'. It is very hard to get good performances with such a setup, if possible try to relax the fsync policy to 'onesec'.\n");
            if (WriteLoadInfo)
                r.Append("- Latency during the AOF atomic rename operation or when the final difference is flushed to the AOF file at the end of the rewrite, sometimes is caused by very high write load, causing the AOF buffer to get very large. If possible try to send less commands to accomplish the same work, or use Lua scripts to group multiple operations into a single EVALSHA call.\n");
            if (Hz && config.Hz < 100)
                r.Append("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
            if (LargeObjects)
                r.Append("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
            if (MassEviction)
                r.Append("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
            if (DisableThp)
                r.Append("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        }
    }

    /// <summary>THPGetAnonHugePagesSize: the AnonHugePages of every mapping in /proc/self/smaps, in bytes (0 where there is none).</summary>
    static long AnonHugePagesBytes()
    {
        try
        {
            long total = 0;
            foreach (var line in File.ReadLines("/proc/self/smaps"))
            {
                if (!line.StartsWith("AnonHugePages:", StringComparison.Ordinal)) continue;
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length >= 2 && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long kb)) total += kb * 1024;
            }
            return total;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }
}
