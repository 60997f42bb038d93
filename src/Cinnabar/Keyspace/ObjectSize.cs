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
    /// <summary>Object header + fields of a RedisObject on a 64-bit runtime.</summary>
    public const int ObjectHeader = 40;

    /// <summary>Dict entry: header, key ref, value ref, next, hash.</summary>
    public const int DictEntryOverhead = 48;

    /// <summary>A byte[]: 24 bytes of header and length, data rounded up to 8.</summary>
    public static long ByteArray(int length) => 24 + ((length + 7) & ~7);

    public static long Of(RedisObject o) => ObjectHeader + o.Ptr switch
    {
        null => 0,
        byte[] b => ByteArray(b.Length),
        ISizedValue s => s.SizeInBytes,
        _ => 64,
    };

    /// <summary>Cost of one key in the keyspace: entry + key bytes + value.</summary>
    public static long OfKey(byte[] key, RedisObject value) => DictEntryOverhead + ByteArray(key.Length) + Of(value);

    /// <summary>
    /// What a database costs beyond its keys: one 8-byte slot per bucket of both dicts' tables
    /// (about 8 bytes per key at the usual fill) and one entry per key with a TTL (the expires
    /// entry shares the key bytes with the main dict). Redis counts both in used_memory too.
    /// </summary>
    public static long KeyspaceOverhead(Database db) =>
        (db.Main.BucketCount + db.Expires.BucketCount) * 8 + db.Expires.Count * DictEntryOverhead;
}
