// The sorted set value (t_zset.c's zset* API): either a listpack of member,score pairs kept in
// score order (small sets: every operation is a linear scan, as in Redis) or a skiplist plus a
// member → score dict (large sets). Commands talk only to this API, addressing elements by
// 0-based rank in a direction, so each range command is written once for both encodings.
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

public sealed class ZSet : IDuplicable, ISizedValue
{
    // The listpack encoding's array, held directly (no Listpack object); null in skiplist encoding.
    Listpack _lp;

    /// <summary>The listpack (a view; reads only), or default when skiplist-encoded.</summary>
    public Listpack Lp => _lp;
    public SkipList? Zsl { get; private set; }
    public Dict<double>? Dict { get; private set; }

    ZSet() { }

    public static ZSet CreateListpack() => new() { _lp = new Listpack() };

    public static ZSet CreateSkipList() => new() { Zsl = new SkipList(), Dict = new Dict<double>() };

    /// <summary>The encoding Redis picks for a new key holding one element of this length (zaddGenericCommand).</summary>
    public static ZSet CreateFor(long firstElementLength, long maxEntries, long maxValue) =>
        maxEntries == 0 || maxValue < firstElementLength ? CreateSkipList() : CreateListpack();

    public bool IsListpack => !_lp.IsNull;
    public ObjEncoding Encoding => IsListpack ? ObjEncoding.Listpack : ObjEncoding.SkipList;
    public long Length => IsListpack ? _lp.Count / 2 : Zsl!.Length;

    // ------------------------------------------------------------------ listpack helpers (zzl*)

    /// <summary>zzlGetScore: the score entry parsed back to a double.</summary>
    double LpScore(int p)
    {
        if (!_lp.Get(p, out var s, out long v)) return v;
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
    int LpFind(ReadOnlySpan<byte> ele, out double score)
    {
        score = 0;
        int p = _lp.First();
        if (p < 0) return -1;
        p = _lp.Find(p, ele, 1);
        if (p < 0) return -1;
        score = LpScore(_lp.Next(p));
        return p;
    }

    /// <summary>zzlInsert: before the first element with a greater (score, member).</summary>
    void LpInsert(ReadOnlySpan<byte> ele, double score)
    {
        ref var lp = ref _lp;
        for (int p = lp.First(); p >= 0; p = lp.Next(lp.Next(p)))
        {
            double s = LpScore(lp.Next(p));
            if (s > score || (s == score && LpMember(p).AsSpan().SequenceCompareTo(ele) > 0))
            {
                p = lp.Insert(ele, p, Listpack.Where.Before);
                lp.Insert(ScoreBytes(score), lp.Next(p), Listpack.Where.Before);
                return;
            }
        }
        lp.Append(ele);
        lp.Append(ScoreBytes(score));
    }

    byte[] LpMember(int p) => _lp.GetBytes(p);

    void LpDeleteAt(int p)
    {
        p = _lp.Delete(p);
        _lp.Delete(p);
    }

    // ------------------------------------------------------------------ point operations

    public bool TryGetScore(ReadOnlySpan<byte> ele, out double score)
    {
        if (IsListpack) return LpFind(ele, out score) >= 0;
        return Dict!.TryGetValue(ele, out score);
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
                    LpDeleteAt(LpFind(ele, out _));
                    LpInsert(ele, score);
                }
                else
                {
                    Zsl!.UpdateScore(cur, ele, score);
                    Dict!.Set(ele, score);
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
            Zsl!.Insert(score, key);
            Dict!.Add(key, score);
        }
        flags |= ZAddFlags.OutAdded;
        return true;
    }

    /// <summary>zsetRemoveFromSkiplist / zzlDelete: false when the member is absent.</summary>
    public bool Delete(ReadOnlySpan<byte> ele)
    {
        if (IsListpack)
        {
            int p = LpFind(ele, out _);
            if (p < 0) return false;
            LpDeleteAt(p);
            return true;
        }
        var e = Dict!.Unlink(ele);
        if (e == null) return false;
        Zsl!.Delete(e.Value, ele);
        Dict.ShrinkIfNeeded();
        return true;
    }

    /// <summary>zsetRank: 0-based rank in the given direction, or -1.</summary>
    public long Rank(ReadOnlySpan<byte> ele, bool reverse, out double score)
    {
        long len = Length;
        if (IsListpack)
        {
            long rank = 0;
            for (int p = _lp.First(); p >= 0; p = _lp.Next(_lp.Next(p)), rank++)
            {
                if (!_lp.EntryEquals(p, ele)) continue;
                score = LpScore(_lp.Next(p));
                return reverse ? len - rank - 1 : rank;
            }
            score = 0;
            return -1;
        }
        if (!Dict!.TryGetValue(ele, out score)) return -1;
        long r = Zsl!.GetRank(score, ele);
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
            long fwd = reverse ? len - 1 - rank : rank;
            int p = _lp.Seek(2 * fwd);
            while (p >= 0)
            {
                yield return (LpMember(p), LpScore(_lp.Next(p)));
                if (reverse)
                {
                    p = _lp.Prev(p);
                    if (p >= 0) p = _lp.Prev(p);
                }
                else p = _lp.Next(_lp.Next(p));
            }
            yield break;
        }
        var n = Zsl!.GetElementByRank(reverse ? len - rank : rank + 1);
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
            int p = _lp.Seek(2 * rank);
            return (LpMember(p), LpScore(_lp.Next(p)));
        }
        var n = Zsl!.GetElementByRank(rank + 1)!;
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
        var n = reverse ? Zsl!.LastInRange(r) : Zsl!.FirstInRange(r);
        if (n == null) return -1;
        long fwd = Zsl.GetRank(n.Score, n.Ele) - 1;
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
        var n = reverse ? Zsl!.LastInLexRange(r) : Zsl!.FirstInLexRange(r);
        if (n == null) return -1;
        long fwd = Zsl.GetRank(n.Score, n.Ele) - 1;
        return reverse ? Length - 1 - fwd : fwd;
    }

    // ------------------------------------------------------------------ range deletion

    /// <summary>Deletes ascending 0-based ranks [start, end] (zremrangeGeneric by rank).</summary>
    public long DeleteRangeByRank(long start, long end)
    {
        if (IsListpack)
        {
            long n = end - start + 1;
            _lp.DeleteRange(2 * start, 2 * n);
            return n;
        }
        long removed = Zsl!.DeleteRangeByRank(start + 1, end + 1, n => Dict!.Remove(n.Ele));
        Dict!.ShrinkIfNeeded();
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
        long removed = Zsl!.DeleteRangeByScore(r, n => Dict!.Remove(n.Ele));
        Dict!.ShrinkIfNeeded();
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
        long removed = Zsl!.DeleteRangeByLex(r, n => Dict!.Remove(n.Ele));
        Dict!.ShrinkIfNeeded();
        return removed;
    }

    // ------------------------------------------------------------------ conversion

    /// <summary>zsetConvert to skiplist: a fresh skiplist and dict from the listpack's pairs.</summary>
    public void ConvertToSkipList()
    {
        if (!IsListpack) return;
        var zsl = new SkipList();
        var dict = new Dict<double>();
        foreach (var (e, s) in All())
        {
            zsl.Insert(s, e);
            dict.Add(e, s);
        }
        _lp = default;
        Zsl = zsl;
        Dict = dict;
    }

    /// <summary>zsetConvertToListpackIfNeeded: used by stores that build a skiplist and may end small.</summary>
    public void ConvertToListpackIfNeeded(long maxEleLen, long maxEntries, long maxValue)
    {
        if (IsListpack || Zsl!.Length > maxEntries || maxEleLen > maxValue) return;
        var lp = new Listpack();
        for (var n = Zsl.First; n != null; n = n.Forward[0])
        {
            lp.Append(n.Ele);
            lp.Append(ScoreBytes(n.Score));
        }
        _lp = lp;
        Zsl = null;
        Dict = null;
    }

    public object Duplicate()
    {
        if (IsListpack) return new ZSet { _lp = _lp.Clone() };
        var z = CreateSkipList();
        for (var n = Zsl!.First; n != null; n = n.Forward[0])
        {
            z.Zsl!.Insert(n.Score, n.Ele);
            z.Dict!.Add(n.Ele, n.Score);
        }
        return z;
    }

    // This object: header, the listpack array and the skiplist and dict references.
    const int ObjectBytes = 40;

    // The empty skiplist encoding (this object, the SkipList with its 32-level header node, the
    // member -> score Dict), measured with GC.GetAllocatedBytesForCurrentThread.
    const int EmptySkipListBytes = 864;

    // Per member: a Node (56), the 24-byte headers of its Forward and Span arrays, a dict entry.
    // Levels (16 bytes each: a Forward and a Span slot) and the member array, shared by the node
    // and the dict, are counted exactly by the SkipList.
    const int MemberBytes = 56 + 2 * 24 + ObjectSize.DictEntryOverhead;

    /// <summary>Listpack bytes, or the skiplist's nodes, members, dict entries and the bucket table a rehash settles on.</summary>
    public long SizeInBytes => IsListpack
        ? ObjectBytes + _lp.AllocatedBytes
        : EmptySkipListBytes + Zsl!.Length * MemberBytes + Zsl.LevelSum * 16 + Zsl.ElementBytes
          + ObjectSize.ByteArray(0) + (Dict!.IsRehashing ? Dict.Table1Size : Dict.Table0Size) * 8;
}
