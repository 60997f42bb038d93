// The active expire cycle (Redis's expire.c activeExpireCycle): samples keys with a TTL and
// deletes the expired ones, repeating on a database while more than the acceptable share of
// samples were stale, time-boxed. The slow cycle runs from serverCron with a budget of a
// percentage of the cron period; the fast cycle runs from beforeSleep for at most ~1 ms
// when the last slow cycle hit its time limit or too many keys looked stale.
using System.Diagnostics;
using Cinnabar.Server;

namespace Cinnabar.Keyspace;

public sealed class ActiveExpire
{
    const int KeysPerLoop = 20;
    const int FastDurationUs = 1000;
    const int SlowTimePerc = 25;
    const int AcceptableStale = 10;
    const int DbsPerCall = 16;

    readonly Database[] _dbs;
    readonly ServerConfig _config;
    readonly ServerStats _stats;
    readonly LatencyMonitor _latency;
    readonly Func<long> _now;

    int _currentDb;
    bool _timelimitExit;
    long _lastFastCycleUs;
    double _stalePerc;

    // Scan callback state (kept in fields so the callback delegate is allocated once).
    Database _db = null!;
    long _scanNow;
    long _expired, _sampled, _ttlSum, _ttlSamples;
    readonly Action<ExpireEntry> _visit;
    readonly List<byte[]> _toExpire = new();

    public ActiveExpire(Database[] dbs, ServerConfig config, ServerStats stats, LatencyMonitor latency, Func<long> nowMs)
    {
        _latency = latency;
        _dbs = dbs;
        _config = config;
        _stats = stats;
        _now = nowMs;
        _visit = Visit;
    }

    public double StalePercent => _stalePerc;

    /// <summary>Keys sampled and expired by the last cycle (for INFO-style introspection and tests).</summary>
    public long LastCycleSampled { get; private set; }
    public long LastCycleExpired { get; private set; }

    void Visit(ExpireEntry e)
    {
        long ttl = e.When - _scanNow;
        _sampled++;
        if (Database.IsExpiredAt(e.When, _scanNow))
        {
            _toExpire.Add(e.KeySpan.ToArray());
            return;
        }
        if (ttl <= 0) return;
        _ttlSum += ttl;
        _ttlSamples++;
    }

    /// <summary>Runs one cycle; fast = the beforeSleep variant.</summary>
    public void Cycle(bool fast)
    {
        int effort = _config.ActiveExpireEffort - 1;
        int keysPerLoop = KeysPerLoop + KeysPerLoop / 4 * effort;
        long fastDuration = FastDurationUs + FastDurationUs / 4 * effort;
        int slowTimePerc = SlowTimePerc + 2 * effort;
        int acceptableStale = AcceptableStale - effort;

        long startUs = Stopwatch.GetTimestamp() * 1_000_000 / Stopwatch.Frequency;
        if (fast)
        {
            if (!_timelimitExit && _stalePerc < acceptableStale) return;
            if (startUs < _lastFastCycleUs + fastDuration * 2) return;
            _lastFastCycleUs = startUs;
        }
        int dbsPerCall = DbsPerCall;
        if (dbsPerCall > _dbs.Length || _timelimitExit) dbsPerCall = _dbs.Length;
        long timelimitUs = fast ? fastDuration : (long)slowTimePerc * 1_000_000 / _config.Hz / 100;
        if (timelimitUs <= 0) timelimitUs = 1;
        _timelimitExit = false;
        long totalExpired = 0, totalSampled = 0;
        int iteration = 0;
        var sw = Stopwatch.StartNew();

        for (int j = 0; j < dbsPerCall && !_timelimitExit; j++)
        {
            var db = _dbs[_currentDb % _dbs.Length];
            _currentDb++;
            _db = db;
            do
            {
                iteration++;
                long num = db.Expires.Count;
                if (num == 0)
                {
                    db.AvgTtl = 0;
                    break;
                }
                long slots = db.Expires.BucketCount;
                if (slots > 4 && num * 100 / slots < 1) break; // too sparse to sample efficiently: let it shrink first
                _scanNow = _now();
                _expired = _sampled = _ttlSum = _ttlSamples = 0;
                if (num > keysPerLoop) num = keysPerLoop;
                long maxBuckets = num * 20, checkedBuckets = 0;
                while (_sampled < num && checkedBuckets < maxBuckets)
                {
                    _toExpire.Clear();
                    db.ExpiresCursor = db.Expires.Scan(db.ExpiresCursor, _visit);
                    foreach (var key in _toExpire)
                    {
                        // Re-check: the key may have been deleted as a side effect of another expiry.
                        if (db.Expires.Find(key) is { } x && Database.IsExpiredAt(x.When, _scanNow))
                        {
                            db.DeleteExpired(key);
                            _expired++;
                        }
                    }
                    checkedBuckets++;
                    if (db.ExpiresCursor == 0) break;
                }
                totalExpired += _expired;
                totalSampled += _sampled;
                if (_ttlSamples > 0)
                {
                    long avg = _ttlSum / _ttlSamples;
                    db.AvgTtl = db.AvgTtl == 0 ? avg : db.AvgTtl / 50 * 49 + avg / 50;
                }
                if ((iteration & 0xf) == 0 && sw.Elapsed.TotalMicroseconds > timelimitUs)
                {
                    _timelimitExit = true;
                    _stats.ExpiredTimeCapReachedCount++;
                    break;
                }
            } while (_sampled == 0 || _expired * 100 / _sampled > acceptableStale);
        }
        LastCycleSampled = totalSampled;
        LastCycleExpired = totalExpired;
        long elapsedUs = (long)sw.Elapsed.TotalMicroseconds;
        _stats.ExpireCycleTimeUsedUs += elapsedUs;
        _latency.AddSampleIfNeeded(LatencyMonitor.ExpireCycle, elapsedUs / 1000);
        double currentPerc = totalSampled > 0 ? (double)totalExpired / totalSampled : 0;
        _stalePerc = currentPerc * 0.05 + _stalePerc * 0.95;
        _stats.ExpiredStalePerc = _stalePerc;
    }
}
