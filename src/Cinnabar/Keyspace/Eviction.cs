// maxmemory eviction (Redis's evict.c): the LRU clock and the LFU field (a 16-bit minutes
// timestamp and an 8-bit logarithmic access counter that decays with lfu-decay-time), the
// policies, and performEvictions: while used memory minus what is not counted exceeds
// maxmemory, pick the best candidate (eviction pool for LRU/LFU/TTL, a random key for the
// random policies, visiting databases round robin) and delete it through the ordinary delete
// path; give up after the maxmemory-eviction-tenacity time limit and continue in a time event.
using System.Diagnostics;
using Cinnabar.Server;

namespace Cinnabar.Keyspace;

/// <summary>maxmemory-policy as Redis encodes it: flags for what is scored and which dict is sampled.</summary>
[Flags]
public enum MaxmemoryPolicy
{
    NoEviction = 0,
    FlagLru = 1 << 0,
    FlagLfu = 1 << 1,
    FlagAllKeys = 1 << 2,
    FlagTtl = 1 << 3,
    FlagRandom = 1 << 4,
    VolatileLru = FlagLru,
    VolatileLfu = FlagLfu,
    VolatileTtl = FlagTtl,
    VolatileRandom = FlagRandom,
    AllKeysLru = FlagLru | FlagAllKeys,
    AllKeysLfu = FlagLfu | FlagAllKeys,
    AllKeysRandom = FlagRandom | FlagAllKeys,
}

/// <summary>performEvictions' outcome: memory is fine, eviction continues in the background, or nothing more can be freed.</summary>
public enum EvictResult
{
    Ok,
    Running,
    Fail,
}

public static class Eviction
{
    public const int LfuInitVal = 5;
    public const int LruClockMax = (1 << 24) - 1;

    public static MaxmemoryPolicy ParsePolicy(string name) => name switch
    {
        "volatile-lru" => MaxmemoryPolicy.VolatileLru,
        "volatile-lfu" => MaxmemoryPolicy.VolatileLfu,
        "volatile-random" => MaxmemoryPolicy.VolatileRandom,
        "volatile-ttl" => MaxmemoryPolicy.VolatileTtl,
        "allkeys-lru" => MaxmemoryPolicy.AllKeysLru,
        "allkeys-lfu" => MaxmemoryPolicy.AllKeysLfu,
        "allkeys-random" => MaxmemoryPolicy.AllKeysRandom,
        _ => MaxmemoryPolicy.NoEviction,
    };

    /// <summary>LFUGetTimeInMinutes: unix minutes, 16 bits.</summary>
    public static uint LfuMinutes(long nowMs) => (uint)((nowMs / 1000 / 60) & 0xFFFF);

    /// <summary>LFUTimeElapsed: minutes since ldt, wrapping at 16 bits as Redis does (65535 - ldt + now).</summary>
    public static uint LfuTimeElapsed(uint ldt, uint now) => now >= ldt ? now - ldt : 65535 - ldt + now;

    /// <summary>LFULogIncr: increments with probability 1/((counter-5)*factor+1).</summary>
    public static uint LogIncr(uint counter, int factor) => LogIncr(counter, factor, Random.Shared.NextDouble());

    /// <summary>LFULogIncr with the random draw r in [0,1) supplied, so the math is testable.</summary>
    public static uint LogIncr(uint counter, int factor, double r)
    {
        if (counter == 255) return 255;
        double baseval = (double)counter - LfuInitVal; // signed, as C promotes uint8_t: a decayed counter below 5 counts as 0
        if (baseval < 0) baseval = 0;
        double p = 1.0 / (baseval * factor + 1);
        return r < p ? counter + 1 : counter;
    }

    /// <summary>LFUDecrAndReturn: the counter after decaying one per lfu-decay-time minutes elapsed.</summary>
    public static uint DecrAndReturn(RedisObject o, long nowMs, int decayTime) => DecrAndReturn(o.Lru, LfuMinutes(nowMs), decayTime);

    public static uint DecrAndReturn(uint lfuField, uint nowMinutes, int decayTime)
    {
        uint ldt = lfuField >> 8;
        uint counter = lfuField & 255;
        uint periods = decayTime > 0 ? LfuTimeElapsed(ldt, nowMinutes) / (uint)decayTime : 0;
        return periods > counter ? 0 : counter - periods;
    }

    /// <summary>updateLFU: decay, then a probabilistic increment, stamped with the current minute.</summary>
    public static void LfuTouch(RedisObject o, CinnabarServer server)
    {
        uint counter = DecrAndReturn(o, server.NowMs, server.Config.LfuDecayTime);
        counter = LogIncr(counter, server.Config.LfuLogFactor);
        o.Lru = (LfuMinutes(server.NowMs) << 8) | counter;
    }

    /// <summary>estimateObjectIdleTime in ms from the LRU clock (seconds resolution, 24-bit wrap).</summary>
    public static long IdleTimeMs(RedisObject o, int lruClock) => IdleTimeMs(o.Lru, lruClock);

    public static long IdleTimeMs(uint objLru, int lruClock)
    {
        long lru = objLru & LruClockMax;
        return (lruClock >= lru ? lruClock - lru : LruClockMax - lru + lruClock) * 1000;
    }

    /// <summary>evictionTimeLimitUs: 0..500 µs linearly up to tenacity 10, then +15% per step, unlimited at 100.</summary>
    public static long TimeLimitUs(int tenacity)
    {
        if (tenacity <= 10) return 50L * tenacity;
        if (tenacity < 100) return (long)(500.0 * Math.Pow(1.15, tenacity - 10.0));
        return long.MaxValue;
    }
}

/// <summary>
/// The eviction machinery of one server: the pool, the random policies' next_db cursor, and the
/// background continuation (evictionTimeProc) started when a cycle hits its time limit.
/// </summary>
public sealed class Evictor : IDictExpandPolicy
{
    readonly CinnabarServer _server;
    readonly EvictionPool _pool = new();
    int _nextDb;
    bool _evictionProcRunning;

    public Evictor(CinnabarServer server) => _server = server;

    /// <summary>True while the background time event keeps evicting (isEvictionProcRunning).</summary>
    public bool ProcRunning => _evictionProcRunning;

    /// <summary>
    /// getMaxmemoryState: true when memory is within the limit; otherwise how much must be freed.
    /// Replica output buffers (and later the AOF buffer) are not counted, as in Redis.
    /// </summary>
    public bool MemoryWithinLimit(out long toFree)
    {
        toFree = 0;
        long maxmemory = _server.Config.MaxMemory;
        if (maxmemory == 0) return true;
        long reported = _server.UsedMemory;
        if (reported <= maxmemory) return true;
        long used = Math.Max(0, reported - _server.MemNotCountedForEvict);
        if (used <= maxmemory) return true;
        toFree = used - maxmemory;
        return false;
    }

    /// <summary>
    /// overMaxmemoryAfterAlloc: allocating moreMemory would take the counted memory over
    /// maxmemory (and so make the next command evict).
    /// </summary>
    public bool OverMaxmemoryAfterAlloc(long moreMemory)
    {
        long maxmemory = _server.Config.MaxMemory;
        if (maxmemory == 0) return false;
        long used = _server.UsedMemory;
        if (used + moreMemory <= maxmemory) return false;
        used = Math.Max(0, used - _server.MemNotCountedForEvict);
        return used + moreMemory > maxmemory;
    }

    /// <summary>Above this fill a keyspace table grows whatever it costs (HASHTABLE_MAX_LOAD_FACTOR).</summary>
    const double HashtableMaxLoadFactor = 1.618;

    /// <summary>
    /// dictExpandAllowed, for the keyspace's dicts: a table that would cross maxmemory does not
    /// grow (a rehash must not be what evicts keys) until its chains get long.
    /// </summary>
    public bool ExpandAllowed(long moreMemory, double usedRatio) =>
        usedRatio > HashtableMaxLoadFactor || !OverMaxmemoryAfterAlloc(moreMemory);

    /// <summary>isSafeToPerformEvictions: not while loading, on a replica ignoring maxmemory, or with clients paused.</summary>
    bool SafeToPerformEvictions()
    {
        if (_server.Loading) return false;
        if (_server.IsReplica && _server.Config.GetBool("replica-ignore-maxmemory")) return false;
        if (_server.Pause.ClientsArePaused()) return false;
        return true;
    }

    /// <summary>performEvictions: evicts until memory is within maxmemory, the time limit hits, or nothing is left.</summary>
    public EvictResult PerformEvictions()
    {
        // A fake Ok, as in Redis: skipping eviction here is not a success worth the metrics.
        if (!SafeToPerformEvictions()) return EvictResult.Ok;

        var result = EvictResult.Fail;
        if (MemoryWithinLimit(out long toFree))
        {
            result = EvictResult.Ok;
        }
        else
        {
            var policy = Eviction.ParsePolicy(_server.Config.MaxMemoryPolicy);
            if (policy != MaxmemoryPolicy.NoEviction) result = EvictLoop(policy, toFree);
        }
        UpdateMetrics(result);
        return result;
    }

    /// <summary>The eviction loop, reported to the latency monitor as eviction-cycle (each delete as eviction-del).</summary>
    EvictResult EvictLoop(MaxmemoryPolicy policy, long toFree)
    {
        long latency = _server.Latency.StartMonitor();
        var result = EvictKeys(policy, toFree);
        _server.Latency.EndMonitor(LatencyMonitor.EvictionCycle, latency);
        return result;
    }

    EvictResult EvictKeys(MaxmemoryPolicy policy, long toFree)
    {
        long timeLimitUs = Eviction.TimeLimitUs((int)_server.Config.GetLong("maxmemory-eviction-tenacity"));
        long start = Stopwatch.GetTimestamp();
        long freed = 0;
        int keysFreed = 0;
        var dbs = _server.Databases;
        while (freed < toFree)
        {
            var (db, key) = (policy & MaxmemoryPolicy.FlagRandom) != 0 ? PickRandom(policy, dbs) : PickFromPool(policy, dbs);
            if (key == null) return EvictResult.Fail; // nothing to free
            long before = db!.UsedMemory;
            long deleteLatency = _server.Latency.StartMonitor();
            db.Delete(key);
            _server.Latency.EndMonitor(LatencyMonitor.EvictionDel, deleteLatency);
            // Only the keyspace bytes count: buffers for the DEL's propagation are freed later.
            freed += before - db.UsedMemory;
            _server.OnKeyEvicted(db, key);
            keysFreed++;
            if (keysFreed % 16 == 0 && Stopwatch.GetElapsedTime(start).TotalMicroseconds > timeLimitUs)
            {
                // Still over the limit: keep evicting from a time event so commands are served meanwhile.
                StartEvictionTimeProc();
                break;
            }
        }
        return _evictionProcRunning ? EvictResult.Running : EvictResult.Ok;
    }

    /// <summary>startEvictionTimeProc: evicts from a time event, after the command being executed (and its MULTI) is done.</summary>
    public void StartEvictionTimeProc()
    {
        if (_evictionProcRunning) return;
        _evictionProcRunning = true;
        _server.Loop.AddTimeEvent(0, EvictionTimeProc);
    }

    /// <summary>evictionTimeProc: keeps running while eviction reports Running.</summary>
    long EvictionTimeProc()
    {
        if (PerformEvictions() == EvictResult.Running) return 0;
        _evictionProcRunning = false;
        return -1;
    }

    /// <summary>The LRU/LFU/TTL policies: refill the pool from every db, then take its best live entry.</summary>
    (Database? Db, byte[]? Key) PickFromPool(MaxmemoryPolicy policy, Database[] dbs)
    {
        bool allKeys = (policy & MaxmemoryPolicy.FlagAllKeys) != 0;
        var ctx = new EvictionPool.ScoreContext(policy, _server.Clock.LruClock, Eviction.LfuMinutes(_server.NowMs), _server.Config.LfuDecayTime);
        while (true)
        {
            long totalKeys = 0;
            // Sample every db so the choice is global, not local to one db.
            for (int i = 0; i < dbs.Length; i++)
            {
                long keys = allKeys ? dbs[i].Main.Count : dbs[i].Expires.Count;
                if (keys == 0) continue;
                _pool.Populate(dbs[i], _server.Config.MaxMemorySamples, ctx);
                totalKeys += keys;
            }
            if (totalKeys == 0) return (null, null);
            if (_pool.PopBest(dbs, allKeys) is { } best) return best;
            // Only ghosts in the pool (keys deleted since they were sampled): sample again.
        }
    }

    /// <summary>volatile-random / allkeys-random: a random key, visiting dbs round robin across calls.</summary>
    (Database? Db, byte[]? Key) PickRandom(MaxmemoryPolicy policy, Database[] dbs)
    {
        bool allKeys = (policy & MaxmemoryPolicy.FlagAllKeys) != 0;
        for (int i = 0; i < dbs.Length; i++)
        {
            _nextDb = (_nextDb + 1) % dbs.Length;
            var db = dbs[_nextDb];
            DictEntry? e = allKeys ? db.Main.RandomEntry() : db.Expires.RandomEntry();
            byte[]? key = e?.KeySpan.ToArray();
            if (key != null) return (db, key);
        }
        return (null, null);
    }

    /// <summary>stat_last_eviction_exceeded_time / stat_total_eviction_exceeded_time bookkeeping.</summary>
    void UpdateMetrics(EvictResult result)
    {
        var stats = _server.Stats;
        if (result != EvictResult.Ok)
        {
            if (stats.LastEvictionExceededTimeUs == 0) stats.LastEvictionExceededTimeUs = ServerClock.MonotonicUs;
        }
        else if (stats.LastEvictionExceededTimeUs != 0)
        {
            stats.TotalEvictionExceededTimeUs += ServerClock.MonotonicUs - stats.LastEvictionExceededTimeUs;
            stats.LastEvictionExceededTimeUs = 0;
        }
    }
}
