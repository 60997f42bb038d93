// The sorted set value (t_zset.c's zset* API): a listpack of member,score pairs in score order
// (small sets, linear scans as in Redis) or a skiplist plus a member → score dict. Commands talk
// only to this API, by 0-based rank in a direction, so each range command serves both encodings.
// ZSet is a view of the RedisObject (t_zset.c takes the robj): a listpack zset's Ptr is the
// listpack's byte[] (with the key in front once linked, RedisObject.EmbeddedListpack), stored
// back after each write as it may move; only the skiplist encoding has an object of its own
// (ZSetSkipList, Redis's `zset` struct).
using System.Buffers.Text;
using Cinnabar.Commands;
using Cinnabar.Keyspace;

namespace Cinnabar.DataTypes;

[Flags]
public enum ZAddFlags
{
    None = 0,
    // Input flags.
    Incr = 1 << 0,
    Nx = 1 << 1,
    Xx = 1 << 2,
    Gt = 1 << 3,
    Lt = 1 << 4,
    // Output flags.
    OutNop = 1 << 5,
    OutNan = 1 << 6,
    OutAdded = 1 << 7,
    OutUpdated = 1 << 8,
}

/// <summary>Redis's `zset` struct: the skiplist encoding's skiplist and member → score dict.</summary>
public sealed class ZSetSkipList : IDuplicable, ISizedValue
{
    public readonly SkipList Zsl = new();
    public readonly Dict<double> Dict = new();

    public object Duplicate()
    {
        var z = new ZSetSkipList();
        for (var n = Zsl.First; n != null; n = n.Forward[0])
        {
            z.Zsl.Insert(n.Score, n.Ele);
            z.Dict.Add(n.Ele, n.Score);
        }
        return z;
    }

    // The empty encoding (this object, the SkipList with its 32-level header node, the member ->
    // score Dict), measured with GC.GetAllocatedBytesForCurrentThread.
    const int EmptyBytes = 856;

    // Per member: a Node (56), the 24-byte headers of its Forward and Span arrays, a dict entry.
    // Levels (16 bytes each: a Forward and a Span slot) and the member array, shared by the node
    // and the dict, are counted exactly by the SkipList.
    const int MemberBytes = 56 + 2 * 24 + ObjectSize.DictEntryOverhead;

    /// <summary>The skiplist's nodes, members, dict entries and the bucket table a rehash settles on.</summary>
    public long SizeInBytes =>
        EmptyBytes + Zsl.Length * MemberBytes + Zsl.LevelSum * 16 + Zsl.ElementBytes
        + ObjectSize.ByteArray(0) + (Dict.IsRehashing ? Dict.Table1Size : Dict.Table0Size) * 8;
}

/// <summary>A sorted set key's value seen through its object: every write lands on the object (Ptr, Encoding).</summary>
public readonly struct ZSet
{
    readonly RedisObject _o;

    public ZSet(RedisObject o) => _o = o;

    /// <summary>The object holding the value (what the keyspace stores).</summary>
    public RedisObject Object => _o;

    /// <summary>The listpack (a view of Ptr; listpack encoding only) for reads; writes go through ZSet, which stores the array back.</summary>
    public Listpack Lp => _o.EmbeddedListpack;
    ZSetSkipList Skl => (ZSetSkipList)_o.Ptr!;

    public SkipList? Zsl => (_o.Ptr as ZSetSkipList)?.Zsl;
    public Dict<double>? Dict => (_o.Ptr as ZSetSkipList)?.Dict;

    public static ZSet CreateListpack() => new(new RedisObject(ObjType.ZSet, ObjEncoding.Listpack, new Listpack().Buf));

    public static ZSet CreateSkipList() => new(new RedisObject(ObjType.ZSet, ObjEncoding.SkipList, new ZSetSkipList()));

    /// <summary>The encoding Redis picks for a new key holding one element of this length (zaddGenericCommand).</summary>
    public static ZSet CreateFor(long firstElementLength, long maxEntries, long maxValue) =>
        maxEntries == 0 || maxValue < firstElementLength ? CreateSkipList() : CreateListpack();

    public bool IsListpack => _o.Ptr is byte[];
    public ObjEncoding Encoding => _o.Encoding;
    public long Length => IsListpack ? Lp.Count / 2 : Skl.Zsl.Length;

    // ------------------------------------------------------------------ listpack helpers (zzl*)

    /// <summary>zzlGetScore: the score entry parsed back to a double.</summary>
    static double LpScore(Listpack lp, int p)
    {
        if (!lp.Get(p, out var s, out long v)) return v;
        Strtod.Parse(s, out double d, out _);
        return d;
    }

    /// <summary>d2string: integral scores (-0 included) as integers, which the listpack stores as integers; others as %.17g.</summary>
    static byte[] ScoreBytes(double score)
    {
        if (score == Math.Floor(score) && Math.Abs(score) < 1e17)
        {
            Span<byte> tmp = stackalloc byte[24];
            Utf8Formatter.TryFormat((long)score, tmp, out int w);
            return tmp[..w].ToArray();
        }
        return System.Text.Encoding.ASCII.GetBytes(Protocol.ReplyWriter.FormatDouble(score));
    }

    /// <summary>zzlFind: offset of the member entry, or -1.</summary>
    static int LpFind(Listpack lp, ReadOnlySpan<byte> ele, out double score)
    {
        score = 0;
        int p = lp.First();
        if (p < 0) return -1;
        p = lp.Find(p, ele, 1);
        if (p < 0) return -1;
        score = LpScore(lp, lp.Next(p));
        return p;
    }

    /// <summary>zzlInsert: before the first element with a greater (score, member); stores the array back.</summary>
    void LpInsert(ReadOnlySpan<byte> ele, double score)
    {
        var lp = Lp;
        int p = lp.First();
        for (; p >= 0; p = lp.Next(lp.Next(p)))
        {
            double s = LpScore(lp, lp.Next(p));
            if (s > score || (s == score && lp.GetBytes(p).AsSpan().SequenceCompareTo(ele) > 0)) break;
        }
        if (p >= 0)
        {
            p = lp.Insert(ele, p, Listpack.Where.Before);
            lp.Insert(ScoreBytes(score), lp.Next(p), Listpack.Where.Before);
        }
        else
        {
            lp.Append(ele);
            lp.Append(ScoreBytes(score));
        }
        _o.StoreListpack(lp.Buf);
    }

    /// <summary>zzlDelete: the member entry at p and its score; stores the array back.</summary>
    void LpDeleteAt(int p)
    {
        var lp = Lp;
        p = lp.Delete(p);
        lp.Delete(p);
        _o.StoreListpack(lp.Buf);
    }

    // ------------------------------------------------------------------ point operations

    public bool TryGetScore(ReadOnlySpan<byte> ele, out double score)
    {
        if (IsListpack) return LpFind(Lp, ele, out score) >= 0;
        return Skl.Dict.TryGetValue(ele, out score);
    }

    /// <summary>
    /// zsetAdd: adds or updates one member honouring NX/XX/GT/LT/INCR; converts the listpack to a
    /// skiplist when the set would exceed the configured limits. Returns false only for a NaN result.
    /// </summary>
    public bool Add(double score, ReadOnlySpan<byte> ele, ref ZAddFlags flags, out double newScore, long maxEntries, long maxValue)
    {
        bool incr = (flags & ZAddFlags.Incr) != 0, nx = (flags & ZAddFlags.Nx) != 0, xx = (flags & ZAddFlags.Xx) != 0;
        bool gt = (flags & ZAddFlags.Gt) != 0, lt = (flags & ZAddFlags.Lt) != 0;
        flags &= ~(ZAddFlags.OutNop | ZAddFlags.OutNan | ZAddFlags.OutAdded | ZAddFlags.OutUpdated);
        newScore = score;
        if (double.IsNaN(score))
        {
            flags |= ZAddFlags.OutNan;
            return false;
        }
        if (TryGetScore(ele, out double cur))
        {
            if (nx)
            {
                flags |= ZAddFlags.OutNop;
                return true;
            }
            if (incr)
            {
                score += cur;
                if (double.IsNaN(score))
                {
                    flags |= ZAddFlags.OutNan;
                    return false;
                }
            }
            if ((lt && score >= cur) || (gt && score <= cur))
            {
                flags |= ZAddFlags.OutNop;
                return true;
            }
            newScore = score;
            if (score != cur)
            {
                if (IsListpack)
                {
                    LpDeleteAt(LpFind(Lp, ele, out _));
                    LpInsert(ele, score);
                }
                else
                {
                    Skl.Zsl.UpdateScore(cur, ele, score);
                    Skl.Dict.Set(ele, score);
                }
                flags |= ZAddFlags.OutUpdated;
            }
            return true;
        }
        if (xx)
        {
            flags |= ZAddFlags.OutNop;
            return true;
        }
        if (IsListpack && (Length + 1 > maxEntries || ele.Length > maxValue)) ConvertToSkipList();
        if (IsListpack) LpInsert(ele, score);
        else
        {
            var key = ele.ToArray();
            Skl.Zsl.Insert(score, key);
            Skl.Dict.Add(key, score);
        }
        flags |= ZAddFlags.OutAdded;
        return true;
    }

    /// <summary>zsetRemoveFromSkiplist / zzlDelete: false when the member is absent.</summary>
    public bool Delete(ReadOnlySpan<byte> ele)
    {
        if (IsListpack)
        {
            int p = LpFind(Lp, ele, out _);
            if (p < 0) return false;
            LpDeleteAt(p);
            return true;
        }
        var z = Skl;
        var e = z.Dict.Unlink(ele);
        if (e == null) return false;
        z.Zsl.Delete(e.Value, ele);
        z.Dict.ShrinkIfNeeded();
        return true;
    }

    /// <summary>zsetRank: 0-based rank in the given direction, or -1.</summary>
    public long Rank(ReadOnlySpan<byte> ele, bool reverse, out double score)
    {
        long len = Length;
        if (IsListpack)
        {
            var lp = Lp;
            long rank = 0;
            for (int p = lp.First(); p >= 0; p = lp.Next(lp.Next(p)), rank++)
            {
                if (!lp.EntryEquals(p, ele)) continue;
                score = LpScore(lp, lp.Next(p));
                return reverse ? len - rank - 1 : rank;
            }
            score = 0;
            return -1;
        }
        if (!Skl.Dict.TryGetValue(ele, out score)) return -1;
        long r = Skl.Zsl.GetRank(score, ele);
        return reverse ? len - r : r - 1;
    }

    // ------------------------------------------------------------------ iteration by rank

    /// <summary>Elements from a 0-based rank onwards in the given direction (ascending or descending score).</summary>
    public IEnumerable<(byte[] Ele, double Score)> FromRank(long rank, bool reverse)
    {
        long len = Length;
        if (rank < 0 || rank >= len) yield break;
        if (IsListpack)
        {
            // The view of the array at the start: a write during the iteration is a caller's bug, as in Redis.
            var lp = Lp;
            long fwd = reverse ? len - 1 - rank : rank;
            int p = lp.Seek(2 * fwd);
            while (p >= 0)
            {
                yield return (lp.GetBytes(p), LpScore(lp, lp.Next(p)));
                if (reverse)
                {
                    p = lp.Prev(p);
                    if (p >= 0) p = lp.Prev(p);
                }
                else p = lp.Next(lp.Next(p));
            }
            yield break;
        }
        var n = Skl.Zsl.GetElementByRank(reverse ? len - rank : rank + 1);
        while (n != null)
        {
            yield return (n.Ele, n.Score);
            n = reverse ? n.Backward : n.Forward[0];
        }
    }

    /// <summary>The element at a 0-based ascending rank (in range): O(log n) on a skiplist, a seek on a listpack.</summary>
    public (byte[] Ele, double Score) ElementAt(long rank)
    {
        if (IsListpack)
        {
            var lp = Lp;
            int p = lp.Seek(2 * rank);
            return (lp.GetBytes(p), LpScore(lp, lp.Next(p)));
        }
        var n = Skl.Zsl.GetElementByRank(rank + 1)!;
        return (n.Ele, n.Score);
    }

    /// <summary>Every element in ascending order.</summary>
    public IEnumerable<(byte[] Ele, double Score)> All() => FromRank(0, false);

    /// <summary>0-based rank (in the direction) of the first element inside the score range, or -1.</summary>
    public long FirstRankInRange(ScoreRange r, bool reverse)
    {
        if (IsListpack)
        {
            long rank = 0;
            foreach (var (_, s) in FromRank(0, reverse))
            {
                if (reverse ? r.ValueLteMax(s) : r.ValueGteMin(s)) return r.Contains(s) ? rank : -1;
                rank++;
            }
            return -1;
        }
        var zsl = Skl.Zsl;
        var n = reverse ? zsl.LastInRange(r) : zsl.FirstInRange(r);
        if (n == null) return -1;
        long fwd = zsl.GetRank(n.Score, n.Ele) - 1;
        return reverse ? Length - 1 - fwd : fwd;
    }

    /// <summary>0-based rank (in the direction) of the first element inside the lex range, or -1.</summary>
    public long FirstRankInLexRange(LexRange r, bool reverse)
    {
        if (IsListpack)
        {
            if (r.IsEmpty) return -1;
            long rank = 0;
            foreach (var (e, _) in FromRank(0, reverse))
            {
                if (reverse ? r.ValueLteMax(e) : r.ValueGteMin(e)) return r.Contains(e) ? rank : -1;
                rank++;
            }
            return -1;
        }
        var zsl = Skl.Zsl;
        var n = reverse ? zsl.LastInLexRange(r) : zsl.FirstInLexRange(r);
        if (n == null) return -1;
        long fwd = zsl.GetRank(n.Score, n.Ele) - 1;
        return reverse ? Length - 1 - fwd : fwd;
    }

    // ------------------------------------------------------------------ range deletion

    /// <summary>Deletes ascending 0-based ranks [start, end] (zremrangeGeneric by rank).</summary>
    public long DeleteRangeByRank(long start, long end)
    {
        if (IsListpack)
        {
            long n = end - start + 1;
            var lp = Lp;
            lp.DeleteRange(2 * start, 2 * n);
            _o.StoreListpack(lp.Buf);
            return n;
        }
        var dict = Skl.Dict;
        long removed = Skl.Zsl.DeleteRangeByRank(start + 1, end + 1, n => dict.Remove(n.Ele));
        dict.ShrinkIfNeeded();
        return removed;
    }

    public long DeleteRangeByScore(ScoreRange r)
    {
        if (IsListpack)
        {
            long first = FirstRankInRange(r, false);
            if (first < 0) return 0;
            long last = first;
            foreach (var (_, s) in FromRank(first + 1, false))
            {
                if (!r.ValueLteMax(s)) break;
                last++;
            }
            return DeleteRangeByRank(first, last);
        }
        var dict = Skl.Dict;
        long removed = Skl.Zsl.DeleteRangeByScore(r, n => dict.Remove(n.Ele));
        dict.ShrinkIfNeeded();
        return removed;
    }

    public long DeleteRangeByLex(LexRange r)
    {
        if (IsListpack)
        {
            long first = FirstRankInLexRange(r, false);
            if (first < 0) return 0;
            long last = first;
            foreach (var (e, _) in FromRank(first + 1, false))
            {
                if (!r.ValueLteMax(e)) break;
                last++;
            }
            return DeleteRangeByRank(first, last);
        }
        var dict = Skl.Dict;
        long removed = Skl.Zsl.DeleteRangeByLex(r, n => dict.Remove(n.Ele));
        dict.ShrinkIfNeeded();
        return removed;
    }

    // ------------------------------------------------------------------ conversion

    /// <summary>zsetConvert to skiplist: a fresh skiplist and dict from the listpack's pairs.</summary>
    public void ConvertToSkipList()
    {
        if (!IsListpack) return;
        var z = new ZSetSkipList();
        foreach (var (e, s) in All())
        {
            z.Zsl.Insert(s, e);
            z.Dict.Add(e, s);
        }
        _o.SetPayload(z);
        _o.Encoding = ObjEncoding.SkipList;
    }

    /// <summary>zsetConvertToListpackIfNeeded: used by stores that build a skiplist and may end small.</summary>
    public void ConvertToListpackIfNeeded(long maxEleLen, long maxEntries, long maxValue)
    {
        if (IsListpack || Skl.Zsl.Length > maxEntries || maxEleLen > maxValue) return;
        var lp = new Listpack();
        for (var n = Skl.Zsl.First; n != null; n = n.Forward[0])
        {
            lp.Append(n.Ele);
            lp.Append(ScoreBytes(n.Score));
        }
        _o.AdoptListpack(lp.Buf);
        _o.Encoding = ObjEncoding.Listpack;
    }

    /// <summary>A deep copy in a new object of the same encoding.</summary>
    public ZSet Duplicate() => new(ObjectDuplication.Duplicate(_o));

    /// <summary>The listpack array at its capacity, or the skiplist encoding's estimate.</summary>
    public long SizeInBytes => ObjectSize.PayloadSize(_o.Ptr);
}
