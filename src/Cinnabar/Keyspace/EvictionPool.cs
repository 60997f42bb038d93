// The eviction pool (evict.c's EvictionPoolLRU): the 16 best eviction candidates seen so far,
// kept sorted by ascending score ("idle": the higher, the better to evict). Each round samples
// maxmemory-samples keys per db with Dict.SampleEntries and inserts those that beat the pool's
// worst, so the pool approximates true LRU/LFU/TTL order with a handful of samples. Entries keep
// the key bytes (dict keys are never mutated); a key deleted meanwhile is a ghost, skipped when
// picking.
namespace Cinnabar.Keyspace;

public sealed class EvictionPool
{
    public const int Size = 16; // EVPOOL_SIZE

    /// <summary>What scoring needs, read once per eviction cycle.</summary>
    public readonly record struct ScoreContext(MaxmemoryPolicy Policy, int LruClock, uint LfuMinutes, int LfuDecayTime);

    struct Entry
    {
        public ulong Idle;
        public byte[]? Key;
        public int DbId;
    }

    readonly Entry[] _pool = new Entry[Size];
    RedisObject?[] _mainSamples = new RedisObject?[5];
    ExpireEntry?[] _expireSamples = new ExpireEntry?[5];

    /// <summary>Number of live (non-empty) slots; for tests and introspection.</summary>
    public int Count
    {
        get
        {
            int n = 0;
            foreach (var e in _pool) if (e.Key != null) n++;
            return n;
        }
    }

    /// <summary>
    /// Score of a candidate (evictionPoolPopulate): LRU idle ms, 255 minus the decayed LFU counter,
    /// or for volatile-ttl ULLONG_MAX minus the expire time (sooner expiry, higher score).
    /// </summary>
    public static ulong Score(in ScoreContext ctx, RedisObject? o, long expireAtMs)
    {
        if ((ctx.Policy & MaxmemoryPolicy.FlagLru) != 0) return (ulong)Eviction.IdleTimeMs(o!.Lru, ctx.LruClock);
        if ((ctx.Policy & MaxmemoryPolicy.FlagLfu) != 0) return 255 - Eviction.DecrAndReturn(o!.Lru, ctx.LfuMinutes, ctx.LfuDecayTime);
        return ulong.MaxValue - (ulong)expireAtMs;
    }

    /// <summary>evictionPoolPopulate: samples db's main dict (allkeys-*) or expires dict (volatile-*).</summary>
    public void Populate(Database db, int samples, in ScoreContext ctx)
    {
        if ((ctx.Policy & MaxmemoryPolicy.FlagAllKeys) != 0)
        {
            if (_mainSamples.Length < samples) _mainSamples = new RedisObject?[samples];
            int count = db.Main.SampleEntries(_mainSamples, samples);
            for (int j = 0; j < count; j++)
            {
                var de = _mainSamples[j]!;
                _mainSamples[j] = null;
                Insert(de.KeySpan, Score(ctx, de, 0), db.Id);
            }
            return;
        }
        if (_expireSamples.Length < samples) _expireSamples = new ExpireEntry?[samples];
        int n = db.Expires.SampleEntries(_expireSamples, samples);
        bool ttl = ctx.Policy == MaxmemoryPolicy.VolatileTtl;
        for (int j = 0; j < n; j++)
        {
            var de = _expireSamples[j]!;
            _expireSamples[j] = null;
            // The expires dict holds deadlines only: LRU/LFU need the object from the main dict.
            RedisObject? o = ttl ? null : db.Main.Find(de.KeySpan);
            if (!ttl && o == null) continue;
            Insert(de.KeySpan, Score(ctx, o, de.When), db.Id);
        }
    }

    /// <summary>Inserts a candidate in score order, dropping the worst entry when the pool is full.</summary>
    public void Insert(ReadOnlySpan<byte> key, ulong idle, int dbId)
    {
        var pool = _pool;
        // The first empty slot or the first entry with a score not below ours.
        int k = 0;
        while (k < Size && pool[k].Key != null && pool[k].Idle < idle) k++;
        if (k == 0 && pool[Size - 1].Key != null) return; // worse than everything in a full pool
        if (k < Size && pool[k].Key == null)
        {
            // An empty slot: nothing to move.
        }
        else if (pool[Size - 1].Key == null)
        {
            // Free space on the right: shift k..end one to the right.
            Array.Copy(pool, k, pool, k + 1, Size - k - 1);
        }
        else
        {
            // Full: insert at k-1, shifting the left part out so the worst candidate is dropped.
            k--;
            Array.Copy(pool, 1, pool, 0, k);
        }
        pool[k] = new Entry { Key = key.ToArray(), Idle = idle, DbId = dbId }; // a copy: the sampled object may be freed
    }

    /// <summary>
    /// Takes entries from best to worst, removing each; returns the first whose key still exists
    /// in the dict the policy samples, or null when only ghosts were left.
    /// </summary>
    public (Database Db, byte[] Key)? PopBest(Database[] dbs, bool allKeys)
    {
        for (int k = Size - 1; k >= 0; k--)
        {
            var e = _pool[k];
            if (e.Key == null) continue;
            _pool[k] = default;
            var db = dbs[e.DbId];
            bool live = allKeys ? db.Main.Find(e.Key) != null : db.Expires.Find(e.Key) != null;
            if (live) return (db, e.Key);
        }
        return null;
    }

    /// <summary>The keys in the pool from worst to best candidate (for tests).</summary>
    public IEnumerable<(byte[] Key, ulong Idle)> Entries()
    {
        foreach (var e in _pool)
            if (e.Key != null) yield return (e.Key, e.Idle);
    }
}
