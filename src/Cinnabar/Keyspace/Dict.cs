// The hash table behind the keyspace and the hashtable encodings (Redis's dict.c): two tables,
// with incremental rehashing that moves one bucket per operation (plus time-boxed steps from
// cron) so growth never stops the world. Keys are byte strings looked up by span, so a lookup
// allocates nothing. Scan uses Redis's reverse-binary cursor, which guarantees that an element
// present for the whole scan is returned even when the table grows or shrinks in between.
// Chains are intrusive: the entry type derives from DictEntry (key and next link as plain
// fields), so the keyspace links its RedisObjects directly, with no separate entry per key; like
// Redis, entries cache no hash (a rehash recomputes SipHash; a lookup compares length, then bytes).
using System.Runtime.CompilerServices;

namespace Cinnabar.Keyspace;

/// <summary>
/// A chain node: the key is the first <see cref="KeyLen"/> bytes of <see cref="KeyBuf"/> (a
/// string object keeps its value after the key in the same array). Fields, not virtual members,
/// so the shared generic code reads them directly.
/// </summary>
public abstract class DictEntry
{
    internal DictEntry? Next;
    public byte[] KeyBuf;
    public int KeyLen;

    /// <summary>32 bits the concrete entry may use (RedisObject packs type, encoding and LRU here), filling what would be padding.</summary>
    private protected uint Bits;

    protected DictEntry(byte[] keyBuf, int keyLen)
    {
        KeyBuf = keyBuf;
        KeyLen = keyLen;
    }

    public ReadOnlySpan<byte> KeySpan => new(KeyBuf, 0, KeyLen);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool KeyEquals(ReadOnlySpan<byte> key) => KeyLen == key.Length && key.SequenceEqual(new ReadOnlySpan<byte>(KeyBuf, 0, KeyLen));
}

/// <summary>An entry that owns its key array whole and carries a value (hashtable sets/hashes, zset dicts).</summary>
public sealed class DictEntry<TValue> : DictEntry
{
    public TValue Value;

    public DictEntry(byte[] key, TValue value) : base(key, key.Length) => Value = value;

    /// <summary>The key array (the entry owns all of it).</summary>
    public byte[] Key => KeyBuf;
}

/// <summary>A dict whose entries carry a value (dict with a val field): the API the data types use.</summary>
public sealed class Dict<TValue> : EntryDict<DictEntry<TValue>>
{
    public bool TryGetValue(ReadOnlySpan<byte> key, out TValue value)
    {
        var e = Find(key);
        if (e == null)
        {
            value = default!;
            return false;
        }
        value = e.Value;
        return true;
    }

    /// <summary>Adds a new key; returns null if it already exists (dictAddRaw).</summary>
    public DictEntry<TValue>? Add(byte[] key, TValue value)
    {
        if (IsRehashing) RehashStep();
        ulong h = HashKey(key);
        if (FindWithHash(key, h) != null) return null;
        var e = new DictEntry<TValue>(key, value);
        Insert(e, h);
        return e;
    }

    /// <summary>dictAddRaw with the key duplicated only on insert: null (and no copy) when the key exists.</summary>
    public DictEntry<TValue>? AddCopy(ReadOnlySpan<byte> key, TValue value)
    {
        if (IsRehashing) RehashStep();
        ulong h = HashKey(key);
        if (FindWithHash(key, h) != null) return null;
        var e = new DictEntry<TValue>(key.ToArray(), value);
        Insert(e, h);
        return e;
    }

    /// <summary>Adds or overwrites; returns the entry.</summary>
    public DictEntry<TValue> Set(ReadOnlySpan<byte> key, TValue value)
    {
        if (IsRehashing) RehashStep();
        ulong h = HashKey(key);
        var e = FindWithHash(key, h);
        if (e != null)
        {
            e.Value = value;
            return e;
        }
        e = new DictEntry<TValue>(key.ToArray(), value);
        Insert(e, h);
        return e;
    }
}

/// <summary>Decides whether a dict may allocate a bigger table (dictType.expandAllowed).</summary>
public interface IDictExpandPolicy
{
    bool ExpandAllowed(long moreMemory, double usedRatio);
}

/// <summary>The table itself over an entry type the caller creates (the keyspace links RedisObjects).</summary>
public class EntryDict<TEntry> where TEntry : DictEntry
{
    const int InitialSize = 4;
    /// <summary>Below this fill percentage a table is shrunk (HASHTABLE_MIN_FILL).</summary>
    public const int MinFillPercent = 10;

    DictEntry?[]?[] _tables = new DictEntry?[]?[2];
    readonly long[] _used = new long[2];
    long _rehashIdx = -1;
    int _pauseRehash;

    // Memory accounting (the keyspace's dicts only): what this dict has added to _memory, kept
    // equal to its buckets' 8 bytes each plus _entryCost per entry as tables and entries change.
    MemoryCounter? _memory;
    int _entryCost;
    long _accounted;

    /// <summary>
    /// dictType.expandAllowed: asked before a table grows, with the new table's bytes and the
    /// current fill ratio; the keyspace's dicts refuse a growth that would cross maxmemory.
    /// </summary>
    internal IDictExpandPolicy? ExpandPolicy;

    public long Count => _used[0] + _used[1];
    public bool IsRehashing => _rehashIdx != -1;
    public long BucketCount => (_tables[0]?.Length ?? 0) + (_tables[1]?.Length ?? 0);
    public long Table0Size => _tables[0]?.Length ?? 0;
    public long Table1Size => _tables[1]?.Length ?? 0;

    /// <summary>Buckets moved and empty buckets skipped by rehashing since creation (bounds each step's work).</summary>
    public long RehashedBuckets { get; private set; }
    public long RehashEmptyVisits { get; private set; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong HashKey(ReadOnlySpan<byte> key) => SipHash.Hash(key);

    // Entries are stored as the base type so the chain walk is shared code; the casts back are
    // unchecked because only TEntry instances are ever linked.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static TEntry? AsEntry(DictEntry? e) => Unsafe.As<TEntry?>(e);

    public TEntry? Find(ReadOnlySpan<byte> key)
    {
        if (Count == 0) return null;
        if (IsRehashing) RehashStep();
        return FindWithHash(key, HashKey(key));
    }

    /// <summary>Find with a hash the caller computed once (HashKey) and may reuse for Link or Replace.</summary>
    public TEntry? Find(ReadOnlySpan<byte> key, ulong hash)
    {
        if (Count == 0) return null;
        if (IsRehashing) RehashStep();
        return FindWithHash(key, hash);
    }

    /// <summary>Links an entry whose key the caller just looked up and did not find, with the hash of that lookup.</summary>
    public void Link(TEntry entry, ulong hash) => Insert(entry, hash);

    /// <summary>Links entry unless its key exists (dictAdd); false when it does.</summary>
    public bool TryLink(TEntry entry)
    {
        if (IsRehashing) RehashStep();
        ulong h = HashKey(entry.KeySpan);
        if (FindWithHash(entry.KeySpan, h) != null) return false;
        Insert(entry, h);
        return true;
    }

    /// <summary>
    /// Puts replacement in old's place in its chain (old must be linked; both have the same key;
    /// hash is that key's). The keyspace's overwrite: Redis's dbSetValue swaps the value pointer.
    /// </summary>
    public void Replace(TEntry old, TEntry replacement, ulong hash)
    {
        if (ReferenceEquals(old, replacement)) return;
        for (int t = 0; t <= 1; t++)
        {
            var table = _tables[t];
            if (table == null) break;
            int idx = (int)(hash & (ulong)(table.Length - 1));
            DictEntry? prev = null;
            var e = table[idx];
            while (e != null)
            {
                if (ReferenceEquals(e, old))
                {
                    replacement.Next = old.Next;
                    if (prev == null) table[idx] = replacement;
                    else prev.Next = replacement;
                    old.Next = null;
                    return;
                }
                prev = e;
                e = e.Next;
            }
            if (!IsRehashing) break;
        }
        throw new InvalidOperationException("Replace: the entry is not linked in this dict");
    }

    private protected TEntry? FindWithHash(ReadOnlySpan<byte> key, ulong h)
    {
        for (int t = 0; t <= 1; t++)
        {
            var table = _tables[t];
            if (table == null) break;
            var e = table[(int)(h & (ulong)(table.Length - 1))];
            while (e != null)
            {
                if (e.KeyEquals(key)) return AsEntry(e);
                e = e.Next;
            }
            if (!IsRehashing) break;
        }
        return null;
    }

    private protected void Insert(TEntry entry, ulong h)
    {
        ExpandIfNeeded();
        int t = IsRehashing ? 1 : 0;
        var table = _tables[t]!;
        int idx = (int)(h & (ulong)(table.Length - 1));
        entry.Next = table[idx];
        table[idx] = entry;
        _used[t]++;
        if (_entryCost != 0) AccountEntries(1);
    }

    public bool Remove(ReadOnlySpan<byte> key) => Unlink(key) != null;

    /// <summary>Removes and returns the entry (dictUnlink), or null.</summary>
    public TEntry? Unlink(ReadOnlySpan<byte> key)
    {
        if (Count == 0) return null;
        if (IsRehashing) RehashStep();
        ulong h = HashKey(key);
        for (int t = 0; t <= 1; t++)
        {
            var table = _tables[t];
            if (table == null) break;
            int idx = (int)(h & (ulong)(table.Length - 1));
            DictEntry? prev = null;
            var e = table[idx];
            while (e != null)
            {
                if (e.KeyEquals(key))
                {
                    if (prev == null) table[idx] = e.Next;
                    else prev.Next = e.Next;
                    e.Next = null;
                    _used[t]--;
                    if (_entryCost != 0) AccountEntries(-1);
                    return AsEntry(e);
                }
                prev = e;
                e = e.Next;
            }
            if (!IsRehashing) break;
        }
        return null;
    }

    public void Clear()
    {
        _tables[0] = _tables[1] = null;
        _used[0] = _used[1] = 0;
        _rehashIdx = -1;
        Reaccount();
    }

    /// <summary>Counts this dict's tables (8 bytes a bucket) and entryCost bytes per entry in memory, from now on.</summary>
    internal void AttachMemory(MemoryCounter memory, int entryCost)
    {
        DetachMemory();
        _memory = memory;
        _entryCost = entryCost;
        Reaccount();
    }

    /// <summary>Takes back what this dict added to its counter (a flushed or swapped-out dict).</summary>
    internal void DetachMemory()
    {
        if (_memory == null) return;
        _memory.Bytes -= _accounted;
        _memory = null;
        _entryCost = 0;
        _accounted = 0;
    }

    /// <summary>The bytes this dict is counted for: ObjectSize.KeyspaceOverhead's share.</summary>
    public long AccountedMemory => _accounted;

    /// <summary>After a table is allocated, replaced or freed: rare, so it recomputes.</summary>
    void Reaccount()
    {
        if (_memory == null) return;
        long now = BucketCount * 8 + Count * _entryCost;
        _memory.Bytes += now - _accounted;
        _accounted = now;
    }

    void AccountEntries(int n)
    {
        _memory!.Bytes += n * _entryCost;
        _accounted += n * _entryCost;
    }

    void ExpandIfNeeded()
    {
        if (IsRehashing) return;
        var t0 = _tables[0];
        if (t0 == null)
        {
            _tables[0] = new DictEntry?[InitialSize];
            Reaccount();
            return;
        }
        if (_used[0] >= t0.Length &&
            (ExpandPolicy == null || ExpandPolicy.ExpandAllowed(NextPower(_used[0] + 1) * 8L, (double)_used[0] / t0.Length)))
            Resize(_used[0] + 1);
    }

    static int NextPower(long size)
    {
        long i = InitialSize;
        while (i < size) i *= 2;
        return (int)Math.Min(i, 1 << 30);
    }

    /// <summary>Starts rehashing into a table sized for <paramref name="size"/> elements.</summary>
    public bool Resize(long size)
    {
        if (IsRehashing) return false;
        int real = NextPower(size);
        if (_tables[0] != null && real == _tables[0]!.Length) return false;
        var n = new DictEntry?[real];
        if (_tables[0] == null) _tables[0] = n;
        else
        {
            _tables[1] = n;
            _rehashIdx = 0;
        }
        Reaccount();
        return true;
    }

    /// <summary>Shrinks when the fill drops under MinFillPercent (htNeedsResize + dictResize).</summary>
    public bool ShrinkIfNeeded()
    {
        var t0 = _tables[0];
        if (t0 == null || IsRehashing) return false;
        if (t0.Length > InitialSize && _used[0] * 100 / t0.Length < MinFillPercent)
            return Resize(Math.Max(_used[0], InitialSize));
        return false;
    }

    private protected void RehashStep()
    {
        if (_pauseRehash == 0) Rehash(1);
    }

    /// <summary>Moves up to n buckets to the new table, visiting at most n*10 empty buckets. Returns true if more remain.</summary>
    public bool Rehash(int n)
    {
        if (!IsRehashing) return false;
        int emptyVisits = n * 10;
        var t0 = _tables[0]!;
        var t1 = _tables[1]!;
        while (n-- > 0 && _used[0] != 0)
        {
            while (t0[_rehashIdx] == null)
            {
                _rehashIdx++;
                RehashEmptyVisits++;
                if (--emptyVisits == 0) return true;
            }
            var e = t0[_rehashIdx];
            while (e != null)
            {
                var next = e.Next;
                int idx = (int)(HashKey(new ReadOnlySpan<byte>(e.KeyBuf, 0, e.KeyLen)) & (ulong)(t1.Length - 1));
                e.Next = t1[idx];
                t1[idx] = e;
                _used[0]--;
                _used[1]++;
                e = next;
            }
            t0[_rehashIdx] = null;
            _rehashIdx++;
            RehashedBuckets++;
        }
        if (_used[0] == 0)
        {
            _tables[0] = t1;
            _used[0] = _used[1];
            _tables[1] = null;
            _used[1] = 0;
            _rehashIdx = -1;
            Reaccount();
            return false;
        }
        return true;
    }

    /// <summary>Rehashes in steps of 100 buckets for about <paramref name="ms"/> milliseconds (dictRehashMilliseconds).</summary>
    public int RehashMilliseconds(int ms)
    {
        if (_pauseRehash > 0) return 0;
        long start = Environment.TickCount64;
        int rehashes = 0;
        while (Rehash(100))
        {
            rehashes += 100;
            if (Environment.TickCount64 - start > ms) break;
        }
        return rehashes;
    }

    /// <summary>Stops incremental rehashing while an iterator that mutates values is alive.</summary>
    public void PauseRehashing() => _pauseRehash++;
    public void ResumeRehashing() => _pauseRehash--;

    /// <summary>
    /// One step of a scan (dictScan): calls <paramref name="visit"/> for every entry in the
    /// bucket(s) named by the cursor and returns the next cursor, 0 when done. The cursor's
    /// reverse-binary increment covers the same buckets in a larger or smaller table.
    /// </summary>
    public ulong Scan(ulong cursor, Action<TEntry> visit)
    {
        if (Count == 0) return 0;
        _pauseRehash++;
        try
        {
            ulong mask;
            if (!IsRehashing)
            {
                var t0 = _tables[0]!;
                mask = (ulong)t0.Length - 1;
                VisitBucket(t0, cursor & mask, visit);
                cursor |= ~mask;
                cursor = ReverseBits(cursor);
                cursor++;
                cursor = ReverseBits(cursor);
            }
            else
            {
                var small = _tables[0]!;
                var large = _tables[1]!;
                if (small.Length > large.Length) (small, large) = (large, small);
                ulong m0 = (ulong)small.Length - 1, m1 = (ulong)large.Length - 1;
                VisitBucket(small, cursor & m0, visit);
                do
                {
                    VisitBucket(large, cursor & m1, visit);
                    cursor |= ~m1;
                    cursor = ReverseBits(cursor);
                    cursor++;
                    cursor = ReverseBits(cursor);
                } while ((cursor & (m0 ^ m1)) != 0);
            }
            return cursor;
        }
        finally
        {
            _pauseRehash--;
        }
    }

    static void VisitBucket(DictEntry?[] table, ulong idx, Action<TEntry> visit)
    {
        var e = table[(int)idx];
        while (e != null)
        {
            var next = e.Next;
            visit(AsEntry(e)!);
            e = next;
        }
    }

    static ulong ReverseBits(ulong v)
    {
        v = ((v >> 1) & 0x5555555555555555UL) | ((v & 0x5555555555555555UL) << 1);
        v = ((v >> 2) & 0x3333333333333333UL) | ((v & 0x3333333333333333UL) << 2);
        v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FUL) | ((v & 0x0F0F0F0F0F0F0F0FUL) << 4);
        v = ((v >> 8) & 0x00FF00FF00FF00FFUL) | ((v & 0x00FF00FF00FF00FFUL) << 8);
        v = ((v >> 16) & 0x0000FFFF0000FFFFUL) | ((v & 0x0000FFFF0000FFFFUL) << 16);
        return (v >> 32) | (v << 32);
    }

    /// <summary>A random entry (dictGetRandomKey): random non-empty bucket, then a random element of its chain.</summary>
    public TEntry? RandomEntry()
    {
        if (Count == 0) return null;
        if (IsRehashing) RehashStep();
        var rng = Random.Shared;
        DictEntry? head;
        if (IsRehashing)
        {
            var t0 = _tables[0]!;
            var t1 = _tables[1]!;
            do
            {
                long h = _rehashIdx + rng.NextInt64(t0.Length + t1.Length - _rehashIdx);
                head = h >= t0.Length ? t1[h - t0.Length] : t0[h];
            } while (head == null);
        }
        else
        {
            var t0 = _tables[0]!;
            do head = t0[rng.Next(t0.Length)]; while (head == null);
        }
        int len = 0;
        for (var e = head; e != null; e = e.Next) len++;
        int pick = rng.Next(len);
        var r = head;
        while (pick-- > 0) r = r!.Next;
        return AsEntry(r);
    }

    [ThreadStatic] static TEntry?[]? t_fairSample;

    /// <summary>
    /// dictGetFairRandomKey: one of up to 15 entries sampled from consecutive buckets, which is
    /// far less biased towards short chains than one random bucket (SRANDMEMBER, SPOP,
    /// HRANDFIELD, RANDOMKEY); a sample that found nothing falls back to RandomEntry.
    /// </summary>
    public TEntry? FairRandomEntry()
    {
        var sample = t_fairSample ??= new TEntry?[15];
        int n = SampleEntries(sample, sample.Length);
        if (n == 0) return RandomEntry();
        var picked = sample[Random.Shared.Next(n)];
        Array.Clear(sample, 0, n);
        return picked;
    }

    /// <summary>
    /// Samples up to <paramref name="count"/> entries from random positions (dictGetSomeKeys):
    /// fast and not uniform, as used by active expiry and eviction. Visits at most count*10 buckets.
    /// </summary>
    public int SampleEntries(Span<TEntry?> output, int count)
    {
        if (count > Count) count = (int)Count;
        if (count == 0) return 0;
        for (int j = 0; j < count && IsRehashing; j++) RehashStep();
        int tables = IsRehashing ? 2 : 1;
        long maxSizeMask = Math.Max(_tables[0]!.Length, tables == 2 ? _tables[1]!.Length : 0) - 1;
        long maxSteps = count * 10L;
        long i = Random.Shared.NextInt64() & maxSizeMask;
        int stored = 0, emptyLen = 0;
        while (stored < count && maxSteps-- > 0)
        {
            for (int t = 0; t < tables; t++)
            {
                var table = _tables[t]!;
                if (tables == 2 && t == 0 && i < _rehashIdx)
                {
                    if (i >= _tables[1]!.Length) i = _rehashIdx;
                    else continue;
                }
                if (i >= table.Length) continue;
                var e = table[i];
                if (e == null)
                {
                    emptyLen++;
                    if (emptyLen >= 5 && emptyLen > count)
                    {
                        i = Random.Shared.NextInt64() & maxSizeMask;
                        emptyLen = 0;
                    }
                }
                else
                {
                    emptyLen = 0;
                    while (e != null)
                    {
                        output[stored++] = AsEntry(e);
                        e = e.Next;
                        if (stored == count) return stored;
                    }
                }
            }
            i = (i + 1) & maxSizeMask;
        }
        return stored;
    }

    /// <summary>Enumerates all entries. The dict must not be modified meanwhile except through the enumerated entries' values.</summary>
    public IEnumerable<TEntry> Entries()
    {
        for (int t = 0; t <= 1; t++)
        {
            var table = _tables[t];
            if (table == null) continue;
            for (int i = 0; i < table.Length; i++)
                for (var e = table[i]; e != null; e = e.Next)
                    yield return AsEntry(e)!;
        }
    }
}
