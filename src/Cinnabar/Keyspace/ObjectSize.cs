// Memory accounting: the bytes a value costs, estimated from its representation so INFO
// used_memory and MEMORY USAGE are cheap and maxmemory eviction has a running total. The
// keyspace adds/subtracts these sizes as keys are set, changed and deleted.
namespace Cinnabar.Keyspace;

public interface ISizedValue
{
    /// <summary>Approximate heap bytes of the data structure (excluding the RedisObject header).</summary>
    long SizeInBytes { get; }
}

public static class ObjectSize
{
    /// <summary>
    /// A RedisObject on a 64-bit runtime: header 16, chain link, key array ref, key length and
    /// the packed type/encoding/LRU word, Ptr. It is also the key's dict entry.
    /// </summary>
    public const int ObjectHeader = 48;

    /// <summary>The dict-entry part of a RedisObject (chain link, key ref, key length): MEMORY STATS' hashtable overhead.</summary>
    public const int KeyEntryFields = 20;

    /// <summary>A DictEntry&lt;T&gt; or ExpireEntry: header 16, next, key ref, key length + spare word, value.</summary>
    public const int DictEntryOverhead = 48;

    /// <summary>A byte[]: 24 bytes of header and length, data rounded up to 8.</summary>
    public static long ByteArray(int length) => 24 + ((length + 7) & ~7);

    /// <summary>An object and its payload; a string's or listpack hash/zset's array holds its key too (the key's bytes count here).</summary>
    public static long Of(RedisObject o) => ObjectHeader + (o.IsString ? ByteArray(o.KeyBuf.Length) : PayloadSize(o.Ptr));

    /// <summary>A non-string payload: a data structure's own estimate, or a listpack's array (with the key in front when linked).</summary>
    public static long PayloadSize(object? ptr) => ptr switch
    {
        null => 0,
        byte[] listpack => ByteArray(listpack.Length),
        ISizedValue s => s.SizeInBytes,
        _ => 64,
    };

    /// <summary>Cost of one key in the keyspace: the object (its own dict entry), its key and payload.</summary>
    public static long OfKey(RedisObject o) => o.KeyBufHoldsValue ? Of(o) : ByteArray(o.KeyLen) + Of(o);

    /// <summary>
    /// What a database costs beyond its keys: one 8-byte slot per bucket of both dicts' tables
    /// (about 8 bytes per key at the usual fill) and one entry per key with a TTL (the expires
    /// entry shares the key bytes with the main dict), and with cluster-enabled the slot index.
    /// Redis counts all of them in used_memory too.
    /// </summary>
    public static long KeyspaceOverhead(Database db) =>
        (db.Main.BucketCount + db.Expires.BucketCount) * 8 + db.Expires.Count * DictEntryOverhead + db.ComputeSlotsIndexMemory();
}
