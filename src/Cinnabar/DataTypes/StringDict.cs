// The "hashtable" encoding of sets and hashes: a Dict keyed by member/field bytes whose value is
// the hash value (null for sets, as Redis's set dict stores no values). It keeps a running byte
// count of keys and values so memory accounting stays O(1) per change.
using Cinnabar.Keyspace;

namespace Cinnabar.DataTypes;

public sealed class StringDict : IDuplicable, ISizedValue
{
    public readonly Dict<byte[]?> Dict = new();
    long _payloadBytes;

    public long Count => Dict.Count;

    // This object (32) and an empty Dict with its table-pair and counter arrays (144, measured
    // with GC.GetAllocatedBytesForCurrentThread), plus the header of the bucket array.
    const int FixedBytes = 32 + 144 + 24;

    // The table a rehash settles on (the new one while rehashing), not both: a lookup's rehash step
    // then never changes the size, so only writes, which adjust the accounting, do.
    public long SizeInBytes => FixedBytes + (Dict.IsRehashing ? Dict.Table1Size : Dict.Table0Size) * 8 + _payloadBytes;

    static long EntryCost(byte[] key, byte[]? value) =>
        ObjectSize.DictEntryOverhead + ObjectSize.ByteArray(key.Length) + (value == null ? 0 : ObjectSize.ByteArray(value.Length));

    public bool Contains(ReadOnlySpan<byte> key) => Dict.Find(key) != null;

    public byte[]? Get(ReadOnlySpan<byte> key) => Dict.Find(key)?.Value;

    /// <summary>Adds key (copied) with value; false when it already exists (the value is left alone).</summary>
    public bool Add(ReadOnlySpan<byte> key, byte[]? value = null)
    {
        // Look up by span first: an existing member (SADD of a member already there) copies nothing.
        var e = Dict.AddCopy(key, value);
        if (e == null) return false;
        _payloadBytes += EntryCost(e.Key, value);
        return true;
    }

    /// <summary>
    /// Adds or overwrites; true when the key is new (hashTypeSet's "insert" result). A value of
    /// the same length overwrites the stored bytes in place, as Redis reuses the sds when it fits:
    /// HSET of a 1 KiB value then allocates nothing, and the old value does not become garbage
    /// for the collector to trace and the new one does not get promoted.
    /// </summary>
    public bool Set(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var e = Dict.Find(key);
        if (e != null)
        {
            if (e.Value != null && e.Value.Length == value.Length)
            {
                value.CopyTo(e.Value);
                return false;
            }
            _payloadBytes += ObjectSize.ByteArray(value.Length) - (e.Value == null ? 0 : ObjectSize.ByteArray(e.Value.Length));
            e.Value = value.ToArray();
            return false;
        }
        Add(key, value.ToArray());
        return true;
    }

    /// <summary>Removes key, shrinking the table when it became sparse (htNeedsResize + dictResize).</summary>
    public bool Remove(ReadOnlySpan<byte> key)
    {
        var e = Dict.Unlink(key);
        if (e == null) return false;
        _payloadBytes -= EntryCost(e.Key, e.Value);
        Dict.ShrinkIfNeeded();
        return true;
    }

    /// <summary>A random entry (dictGetRandomKey: a random bucket, biased towards short chains).</summary>
    public DictEntry<byte[]?> Random() => Dict.RandomEntry()!;

    /// <summary>A fairly chosen random entry (dictGetFairRandomKey).</summary>
    public DictEntry<byte[]?> FairRandom() => Dict.FairRandomEntry()!;

    public IEnumerable<DictEntry<byte[]?>> Entries() => Dict.Entries();

    public object Duplicate()
    {
        var copy = new StringDict();
        copy.Dict.Resize(Count);
        foreach (var e in Dict.Entries()) copy.Add(e.Key, e.Value == null ? null : (byte[])e.Value.Clone());
        return copy;
    }
}
