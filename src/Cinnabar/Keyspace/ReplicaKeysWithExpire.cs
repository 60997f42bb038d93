// Keys a client gave a TTL on a writable replica (Redis's expire.c: rememberSlaveKeyWithExpire,
// expireSlaveKeys, flushSlaveKeysWithExpireList). A replica never expires keys itself: its
// primary's DEL does it. But a key written on the replica by a client (replica-read-only no)
// has no primary to expire it, so the replica remembers it, with the dbs it was set in, and
// serverCron deletes those whose TTL passed. Keys from the primary are never added (their
// expiry is the primary's), and the list is emptied when the whole dataset is.
namespace Cinnabar.Keyspace;

public sealed class ReplicaKeysWithExpire
{
    // Key → bitmap of the dbs (the first 64) where a client set a TTL on it.
    readonly Dictionary<byte[], ulong> _keys = new(ByteKeyComparer.Instance);

    public int Count => _keys.Count;

    /// <summary>rememberSlaveKeyWithExpire.</summary>
    public void Remember(Database db, ReadOnlySpan<byte> key)
    {
        if (db.Id >= 64) return; // as Redis: only the first 64 dbs are tracked
        var alternate = _keys.GetAlternateLookup<ReadOnlySpan<byte>>();
        alternate.TryGetValue(key, out ulong dbs);
        alternate[key] = dbs | (1UL << db.Id);
    }

    /// <summary>expireSlaveKeys (serverCron on a replica): deletes the remembered keys whose TTL passed; forgets those with none.</summary>
    public void ExpireKeys(Database[] databases, long nowMs)
    {
        if (_keys.Count == 0) return;
        List<(byte[] Key, ulong Left)>? changed = null;
        foreach (var (key, bits) in _keys)
        {
            ulong left = bits;
            for (int id = 0; id < 64 && id < databases.Length; id++)
            {
                if ((bits & (1UL << id)) == 0) continue;
                var db = databases[id];
                long when = db.GetExpire(key);
                if (when == -1) left &= ~(1UL << id); // persisted, or gone
                else if (Database.IsExpiredAt(when, nowMs))
                {
                    db.DeleteExpired(key);
                    left &= ~(1UL << id);
                }
            }
            if (left != bits) (changed ??= new()).Add((key, left));
        }
        if (changed == null) return;
        foreach (var (key, left) in changed)
        {
            if (left == 0) _keys.Remove(key);
            else _keys[key] = left;
        }
    }

    /// <summary>flushSlaveKeysWithExpireList: the whole dataset was emptied (FLUSHALL, a full sync).</summary>
    public void Clear() => _keys.Clear();
}
