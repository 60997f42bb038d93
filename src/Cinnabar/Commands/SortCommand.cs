// SORT and SORT_RO (Redis's sort.c): load the elements of a list, set or sorted set into a
// vector, give each a sort key (the element itself or a BY pattern's string/hash field),
// sort numerically or ALPHA, then reply or STORE a list, with GET patterns (strings, hash
// fields via "->") per element.
// As in Redis, BY without '*' means "don't sort" (lists and zsets keep their own order), and
// a sorted set is converted to the skiplist encoding by the sort itself.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class SortCommand
{
    /// <summary>redisSortObject: the element, its numeric score or its ALPHA compare key.</summary>
    sealed class SortObject(byte[] obj)
    {
        public readonly byte[] Obj = obj;
        public double Score;
        public byte[]? CmpObj;
    }

    [Command("sort")] static void Sort(Client c) => SortGeneric(c, readOnly: false);
    [Command("sort_ro")] static void SortRo(Client c) => SortGeneric(c, readOnly: true);

    static void SortGeneric(Client c, bool readOnly)
    {
        bool desc = false, alpha = false, dontSort = false;
        long limitStart = 0, limitCount = -1;
        byte[]? sortBy = null, storeKey = null;
        var getPatterns = new List<byte[]>();
        // BY and GET patterns read arbitrary keys: only for a user who may read every key.
        bool fullKeyAccess = c.Server.Acl.HasUnrestrictedKeyAccess(c.User, c.Cmd!, c.Args, KeySpecFlags.Access);
        for (int j = 2; j < c.Args.Count; j++)
        {
            int left = c.Args.Count - j - 1;
            if (c.Args.Is(j, "asc")) desc = false;
            else if (c.Args.Is(j, "desc")) desc = true;
            else if (c.Args.Is(j, "alpha")) alpha = true;
            else if (c.Args.Is(j, "limit") && left >= 2)
            {
                if (!Arguments.TryGetLong(c, j + 1, out limitStart) || !Arguments.TryGetLong(c, j + 2, out limitCount)) return;
                j += 2;
            }
            else if (!readOnly && c.Args.Is(j, "store") && left >= 1)
            {
                storeKey = c.Args.ToArray(j + 1);
                j++;
            }
            else if (c.Args.Is(j, "by") && left >= 1)
            {
                sortBy = c.Args.ToArray(j + 1);
                // A BY pattern without '*' is constant: nothing to sort, no weights to look up.
                if (Array.IndexOf(sortBy, (byte)'*') < 0) dontSort = true;
                else if (!fullKeyAccess)
                {
                    c.Reply.Error("BY option of SORT denied due to insufficient ACL permissions.");
                    return;
                }
                j++;
            }
            else if (c.Args.Is(j, "get") && left >= 1)
            {
                if (!fullKeyAccess)
                {
                    c.Reply.Error("GET option of SORT denied due to insufficient ACL permissions.");
                    return;
                }
                getPatterns.Add(c.Args.ToArray(j + 1));
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        // lookupKeyRead even with STORE, as sort.c does (hit/miss stats, "keymiss").
        var sortVal = c.Db.LookupRead(c.Args[1]);
        if (sortVal != null && sortVal.Type is not (ObjType.List or ObjType.ZSet or ObjType.Set))
        {
            c.Reply.Error(Errors.WrongType);
            return;
        }
        if (dontSort && sortVal?.Type == ObjType.Set && (storeKey != null || c.HasFlag(Networking.ClientFlags.Script)))
        {
            // A set has no order of its own: a stored result, or one a script sees, is sorted ALPHA so it is deterministic.
            dontSort = false;
            alpha = true;
            sortBy = null;
        }
        if (sortVal?.Type == ObjType.ZSet)
        {
            // sort.c converts an encoded sorted set to the skiplist before reading it: the
            // encoding changes, the value does not (no signal, event or dirty).
            var w = c.Db.BeginWrite(c.Args[1], sortVal);
            new ZSet(sortVal).ConvertToSkipList();
            w.EndUnchanged();
        }
        long vectorLen = sortVal == null ? 0 : sortVal.Type switch
        {
            ObjType.List => ((Quicklist)sortVal.Ptr!).Count,
            ObjType.Set => SetType.Size(sortVal),
            _ => new ZSet(sortVal).Length,
        };

        // LIMIT sanity checks, exactly as sort.c does them (start past the end yields nothing);
        // both inputs are first bounded by the size so start + count cannot overflow.
        long start = Math.Min(Math.Max(limitStart, 0), vectorLen);
        limitCount = Math.Min(Math.Max(limitCount, -1), vectorLen);
        long end = limitCount < 0 ? vectorLen - 1 : start + limitCount - 1;
        if (start >= vectorLen)
        {
            start = vectorLen - 1;
            end = vectorLen - 2;
        }
        if (end >= vectorLen) end = vectorLen - 1;

        var vector = new List<SortObject>();
        if (sortVal?.Type == ObjType.Set)
        {
            foreach (var e in SetType.Members(sortVal)) vector.Add(new SortObject(e));
        }
        else if (sortVal != null && dontSort)
        {
            // Lists and sorted sets keep their order; load only the LIMIT window, DESC from the tail.
            var all = sortVal.Type == ObjType.List
                ? ((Quicklist)sortVal.Ptr!).ToList()
                : new ZSet(sortVal).All().Select(e => e.Ele).ToList();
            if (desc) all.Reverse();
            for (long i = start; i <= end; i++) vector.Add(new SortObject(all[(int)i]));
            end -= start;
            start = 0;
        }
        else if (sortVal != null)
        {
            var all = sortVal.Type == ObjType.List
                ? ((Quicklist)sortVal.Ptr!).ToList()
                : new ZSet(sortVal).All().Select(e => e.Ele).ToList();
            foreach (var e in all) vector.Add(new SortObject(e));
        }

        bool conversionError = false;
        if (!dontSort)
        {
            foreach (var so in vector)
            {
                byte[]? byVal = sortBy != null ? LookupKeyByPattern(c, sortBy, so.Obj) : so.Obj;
                if (byVal == null) continue;
                if (alpha)
                {
                    if (sortBy != null) so.CmpObj = byVal;
                }
                else if (!TryStrtod(byVal, out so.Score)) conversionError = true;
            }
            var cmp = Comparer(desc, alpha, sortBy != null);
            vector.Sort(cmp);
        }

        long outputLen = getPatterns.Count > 0 ? getPatterns.Count * (end - start + 1) : end - start + 1;
        if (conversionError)
        {
            c.Reply.Error("One or more scores can't be converted into double");
            return;
        }
        if (storeKey == null)
        {
            c.Reply.ArrayLen(outputLen);
            for (long j = start; j <= end; j++)
            {
                var so = vector[(int)j];
                if (getPatterns.Count == 0) c.Reply.Bulk(so.Obj);
                foreach (var pat in getPatterns)
                {
                    var val = LookupKeyByPattern(c, pat, so.Obj);
                    if (val == null) c.Reply.Null();
                    else c.Reply.Bulk(val);
                }
            }
            return;
        }
        var list = new Quicklist(c.Server.Config.ListMaxListpackSize, c.Server.Config.ListCompressDepth);
        for (long j = start; j <= end; j++)
        {
            var so = vector[(int)j];
            if (getPatterns.Count == 0) list.PushTail(so.Obj);
            foreach (var pat in getPatterns) list.PushTail(LookupKeyByPattern(c, pat, so.Obj) ?? []);
        }
        if (outputLen > 0)
        {
            var w = c.Db.BeginWrite(storeKey);
            w.Set(new RedisObject(ObjType.List, ObjEncoding.QuickList, list));
            w.End(NotifyClass.List, "sortstore", outputLen);
            BlockingKeys.SignalKeyAsReady(c, storeKey);
        }
        else
        {
            var w = c.Db.BeginWrite(storeKey);
            if (w.Delete()) w.End(NotifyClass.Generic, "del");
        }
        c.Reply.Integer(outputLen);
    }

    /// <summary>sortCompare: numeric with a byte-order tie break, or ALPHA (missing BY values first).</summary>
    static Comparison<SortObject> Comparer(bool desc, bool alpha, bool byPattern) => (a, b) =>
    {
        int cmp;
        if (!alpha)
        {
            cmp = a.Score > b.Score ? 1 : a.Score < b.Score ? -1 : a.Obj.AsSpan().SequenceCompareTo(b.Obj);
        }
        else if (byPattern)
        {
            if (a.CmpObj == null || b.CmpObj == null) cmp = a.CmpObj == b.CmpObj ? 0 : a.CmpObj == null ? -1 : 1;
            else cmp = a.CmpObj.AsSpan().SequenceCompareTo(b.CmpObj);
        }
        else cmp = a.Obj.AsSpan().SequenceCompareTo(b.Obj);
        cmp = Math.Sign(cmp);
        return desc ? -cmp : cmp;
    };

    /// <summary>strtod as sort.c uses it: the whole string must parse ("" is 0); any ERANGE (denormals too) and NaN fail.</summary>
    static bool TryStrtod(byte[] s, out double score) =>
        Strtod.Parse(s, out score, out bool erange) == s.Length && !erange && !double.IsNaN(score);

    /// <summary>
    /// lookupKeyByPattern: "#" is the element itself; otherwise the first '*' is replaced by the
    /// element and the key read as a string, or with "->field" as a hash field. Null when missing.
    /// </summary>
    static byte[]? LookupKeyByPattern(Client c, byte[] pattern, byte[] subst)
    {
        if (pattern.Length == 1 && pattern[0] == (byte)'#') return subst;
        int star = Array.IndexOf(pattern, (byte)'*');
        if (star < 0) return null;
        int arrow = pattern.AsSpan(star + 1).IndexOf("->"u8);
        int fieldStart = -1;
        if (arrow >= 0 && star + 1 + arrow + 2 < pattern.Length) fieldStart = star + 1 + arrow + 2;
        int postfixEnd = fieldStart >= 0 ? fieldStart - 2 : pattern.Length;
        var key = new byte[star + subst.Length + (postfixEnd - star - 1)];
        pattern.AsSpan(0, star).CopyTo(key);
        subst.CopyTo(key.AsSpan(star));
        pattern.AsSpan(star + 1, postfixEnd - star - 1).CopyTo(key.AsSpan(star + subst.Length));
        var o = c.Db.LookupRead(key);
        if (o == null) return null;
        if (fieldStart >= 0) return o.Type == ObjType.Hash ? HashType.Get(o, pattern.AsSpan(fieldStart)) : null;
        return o.Type == ObjType.String ? o.StringBytes() : null;
    }
}
