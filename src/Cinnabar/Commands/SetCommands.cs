// Set commands (Redis 7.0's t_set.c): membership, random pops and samples, SMOVE, the algebra
// (SINTER/SUNION/SDIFF, their STORE forms, SINTERCARD) and SSCAN. Encodings are SetType's
// (intset, hashtable). Results of the algebra are built in a fresh intset that converts as
// members arrive, so a stored result gets the encoding Redis would give it.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class SetCommands
{
    // ------------------------------------------------------------------ shared helpers

    static long MaxIntset(Client c) => c.Server.Config.SetMaxIntsetEntries;

    /// <summary>A set that members left: its key goes away (with "del") when the write ends.</summary>
    static bool Emptied(RedisObject o) => SetType.Size(o) == 0;

    static void ReplyMembers(Client c, RedisObject o, bool asSet)
    {
        long n = SetType.Size(o);
        if (asSet) c.Reply.SetLen(n);
        else c.Reply.ArrayLen(n);
        if (o.Ptr is Intset iset)
        {
            for (int i = 0; i < iset.Count; i++) c.Reply.BulkLong(iset.Get(i));
            return;
        }
        foreach (var e in ((StringDict)o.Ptr!).Entries()) c.Reply.Bulk(e.Key);
    }

    /// <summary>getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX): a count whose negation is representable.</summary>
    internal static bool TryGetRandomCount(Client c, int i, out long count)
    {
        if (!Arguments.TryGetLong(c, i, out count)) return false;
        if (count != long.MinValue) return true;
        c.Reply.Error("value is out of range, value must between -9223372036854775807 and 9223372036854775807");
        return false;
    }

    // ------------------------------------------------------------------ add / remove / query

    [Command("sadd")]
    static void SAdd(Client c)
    {
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (KeyLookup.CheckType(c, o, ObjType.Set)) return;
        var w = c.Db.BeginWrite(key, o);
        if (o == null)
        {
            o = SetType.Create(c.Args[2]);
            w.Add(o);
        }
        long added = 0;
        for (int j = 2; j < c.Args.Count; j++)
            if (SetType.Add(o, c.Args[j], MaxIntset(c))) added++;
        if (added > 0) w.End(NotifyClass.Set, "sadd", added);
        else w.EndUnchanged();
        c.Reply.Integer(added);
    }

    [Command("srem")]
    static void SRem(Client c)
    {
        var key = c.Args[1];
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.Set, MissingKeyReply.Zero, out var o)) return;
        var w = c.Db.BeginWrite(key, o);
        long deleted = 0;
        for (int j = 2; j < c.Args.Count; j++)
        {
            if (!SetType.Remove(o, c.Args[j])) continue;
            deleted++;
            if (Emptied(o)) break;
        }
        if (deleted > 0) w.End(NotifyClass.Set, "srem", deleted, Emptied(o));
        else w.EndUnchanged();
        c.Reply.Integer(deleted);
    }

    [Command("smove")]
    static void SMove(Client c)
    {
        var src = c.Args[1];
        var dst = c.Args[2];
        var ele = c.Args[3];
        var srcSet = c.Db.LookupWrite(src);
        var dstSet = c.Db.LookupWrite(dst);
        if (srcSet == null)
        {
            c.Reply.Integer(0);
            return;
        }
        if (KeyLookup.CheckType(c, srcSet, ObjType.Set) || KeyLookup.CheckType(c, dstSet, ObjType.Set)) return;
        if (srcSet == dstSet)
        {
            c.Reply.Integer(SetType.IsMember(srcSet, ele) ? 1 : 0);
            return;
        }
        var ws = c.Db.BeginWrite(src, srcSet);
        if (!SetType.Remove(srcSet, ele))
        {
            ws.EndUnchanged();
            c.Reply.Integer(0);
            return;
        }
        ws.End(NotifyClass.Set, "srem", 1, Emptied(srcSet));
        var wd = c.Db.BeginWrite(dst, dstSet);
        if (dstSet == null)
        {
            dstSet = SetType.Create(ele);
            wd.Add(dstSet);
        }
        // The destination changed (signal, event, an extra dirty) only when it did not hold ele.
        if (SetType.Add(dstSet, ele, MaxIntset(c))) wd.End(NotifyClass.Set, "sadd");
        else wd.EndUnchanged();
        c.Reply.Integer(1);
    }

    [Command("sismember")]
    static void SIsMember(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Set)) return;
        c.Reply.Integer(o != null && SetType.IsMember(o, c.Args[2]) ? 1 : 0);
    }

    [Command("smismember")]
    static void SMIsMember(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Set)) return;
        c.Reply.ArrayLen(c.Args.Count - 2);
        for (int j = 2; j < c.Args.Count; j++) c.Reply.Integer(o != null && SetType.IsMember(o, c.Args[j]) ? 1 : 0);
    }

    [Command("scard")]
    static void SCard(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Set)) return;
        c.Reply.Integer(o == null ? 0 : SetType.Size(o));
    }

    // SMEMBERS is SINTER of one key in Redis; the reply is the set itself.
    [Command("smembers")]
    static void SMembers(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Set)) return;
        if (o == null) c.Reply.SetLen(0);
        else ReplyMembers(c, o, asSet: true);
    }

    // ------------------------------------------------------------------ SPOP / SRANDMEMBER

    /// <summary>How much bigger than the remainder the set must be to pop by sampling (SPOP_MOVE_STRATEGY_MUL).</summary>
    const int SpopMoveStrategyMul = 5;

    /// <summary>Below this ratio SRANDMEMBER copies the set and removes from the copy (SRANDMEMBER_SUB_STRATEGY_MUL).</summary>
    const int SrandmemberSubStrategyMul = 3;

    [Command("spop")]
    static void SPop(Client c)
    {
        if (c.Args.Count == 3)
        {
            SPopWithCount(c);
            return;
        }
        if (c.Args.Count > 3)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var key = c.Args[1];
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.Set, MissingKeyReply.Null, out var o)) return;
        var w = c.Db.BeginWrite(key, o);
        var ele = SetType.Random(o);
        SetType.Remove(o, ele);
        // The random choice is made once, here: replicas remove the same member.
        c.Server.Propagation.ReplaceArgv(3).Add("SREM"u8).Add(key).Add(ele);
        c.Reply.Bulk(ele);
        w.End(NotifyClass.Set, "spop", 1, Emptied(o));
    }

    static void SPopWithCount(Client c)
    {
        if (!Arguments.TryGetLongInRange(c, 2, 0, long.MaxValue, out long l)) return;
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (o == null)
        {
            c.Reply.SetLen(0);
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.Set)) return;
        if (l == 0)
        {
            c.Reply.SetLen(0);
            return;
        }
        long size = SetType.Size(o), count = l;
        var w = c.Db.BeginWrite(key, o);

        if (count >= size)
        {
            // The whole set goes: reply as SUNION of the key, then delete it.
            ReplyMembers(c, UnionOf([o], MaxIntset(c)), asSet: true);
            c.Server.Propagation.ReplaceArgv(2).Add("DEL"u8).Add(key);
            w.End(NotifyClass.Set, "spop", size, emptied: true);
            return;
        }

        long remaining = size - count;
        c.Reply.SetLen(count);
        // Each popped member propagates as its own SREM, as Redis 7.0 does; SPOP itself does not.
        var propagation = c.Server.Propagation;
        propagation.PreventCommandPropagation();
        if (remaining * SpopMoveStrategyMul > count)
        {
            // Few elements leave: sample and remove them one by one.
            while (count-- > 0)
            {
                var ele = SetType.Random(o);
                c.Reply.Bulk(ele);
                propagation.AlsoPropagate(c.Db.Id, 3).Add("SREM"u8).Add(key).Add(ele);
                SetType.Remove(o, ele);
            }
        }
        else
        {
            // Most elements leave: move the few that stay into a new set and return the old one.
            RedisObject? newSet = null;
            while (remaining-- > 0)
            {
                var ele = SetType.Random(o);
                newSet ??= SetType.Create(ele);
                SetType.Add(newSet, ele, MaxIntset(c));
                SetType.Remove(o, ele);
            }
            foreach (var ele in SetType.Members(o))
            {
                c.Reply.Bulk(ele);
                propagation.AlsoPropagate(c.Db.Id, 3).Add("SREM"u8).Add(key).Add(ele);
            }
            w.Set(newSet!, keepTtl: true);
        }
        w.End(NotifyClass.Set, "spop", l);
    }

    [Command("srandmember")]
    static void SRandMember(Client c)
    {
        if (c.Args.Count == 3)
        {
            SRandMemberWithCount(c);
            return;
        }
        if (c.Args.Count > 3)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.Set, MissingKeyReply.Null, out var o)) return;
        c.Reply.Bulk(SetType.Random(o));
    }

    static void SRandMemberWithCount(Client c)
    {
        if (!TryGetRandomCount(c, 2, out long l)) return;
        bool uniq = l >= 0;
        long count = Math.Abs(l);
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.Set, MissingKeyReply.EmptyArray, out var o)) return;
        long size = SetType.Size(o);
        if (count == 0)
        {
            c.Reply.EmptyArray();
            return;
        }
        if (!uniq || count == 1)
        {
            c.Reply.ArrayLen(count);
            while (count-- > 0) c.Reply.Bulk(SetType.Random(o));
            return;
        }
        if (count >= size)
        {
            ReplyMembers(c, o, asSet: false);
            return;
        }
        var picked = new StringDict();
        if (count * SrandmemberSubStrategyMul > size)
        {
            foreach (var ele in SetType.Members(o)) picked.Add(ele);
            while (picked.Count > count) picked.Remove(picked.Random().Key);
        }
        else
        {
            while (picked.Count < count) picked.Add(SetType.Random(o));
        }
        c.Reply.ArrayLen(count);
        foreach (var e in picked.Entries()) c.Reply.Bulk(e.Key);
    }

    // ------------------------------------------------------------------ algebra

    /// <summary>
    /// Looks up the keys; false (after replying WRONGTYPE) when one is not a set. Missing keys are
    /// null. The *STORE variants read their sources with lookupKeyRead too (stats, "keymiss").
    /// </summary>
    static bool LookupSets(Client c, int first, int count, out RedisObject?[] sets)
    {
        sets = new RedisObject?[count];
        for (int j = 0; j < count; j++)
        {
            var o = c.Db.LookupRead(c.Args[first + j]);
            if (KeyLookup.CheckType(c, o, ObjType.Set)) return false;
            sets[j] = o;
        }
        return true;
    }

    static RedisObject UnionOf(RedisObject?[] sets, long maxIntset)
    {
        var dst = SetType.CreateIntset();
        foreach (var s in sets)
        {
            if (s == null) continue;
            foreach (var ele in SetType.Members(s)) SetType.Add(dst, ele, maxIntset);
        }
        return dst;
    }

    /// <summary>sinterGenericCommand: iterates the smallest set, keeping members all others hold.</summary>
    static void InterGeneric(Client c, int first, int numKeys, byte[]? dstKey, bool cardinalityOnly, long limit)
    {
        if (!LookupSets(c, first, numKeys, out var sets)) return;
        if (Array.Exists(sets, s => s == null))
        {
            if (dstKey != null) StoreResult(c, dstKey, null, "sinterstore");
            else if (cardinalityOnly) c.Reply.Integer(0);
            else c.Reply.SetLen(0);
            return;
        }
        var sorted = sets.Select(s => s!).OrderBy(SetType.Size).ToArray();
        var dst = SetType.CreateIntset();
        long cardinality = 0;
        foreach (var ele in SetType.Members(sorted[0]))
        {
            bool all = true;
            for (int j = 1; j < sorted.Length && all; j++)
                if (sorted[j] != sorted[0] && !SetType.IsMember(sorted[j], ele)) all = false;
            if (!all) continue;
            if (cardinalityOnly)
            {
                cardinality++;
                if (limit != 0 && cardinality >= limit) break;
            }
            else SetType.Add(dst, ele, MaxIntset(c));
        }
        if (cardinalityOnly) c.Reply.Integer(cardinality);
        else if (dstKey != null) StoreResult(c, dstKey, dst, "sinterstore");
        else ReplyMembers(c, dst, asSet: true);
    }

    /// <summary>Stores a result set (or deletes dst when it is empty) and replies its size.</summary>
    static void StoreResult(Client c, byte[] dstKey, RedisObject? dst, string eventName)
    {
        var w = c.Db.BeginWrite(dstKey);
        if (dst != null && SetType.Size(dst) > 0)
        {
            w.Set(dst);
            c.Reply.Integer(SetType.Size(dst));
            w.End(NotifyClass.Set, eventName);
            return;
        }
        c.Reply.Integer(0);
        if (w.Delete()) w.End(NotifyClass.Generic, "del");
    }

    /// <summary>sunionDiffGenericCommand, including its choice between the two SDIFF algorithms.</summary>
    static void UnionDiffGeneric(Client c, int first, int numKeys, byte[]? dstKey, bool diff)
    {
        if (!LookupSets(c, first, numKeys, out var sets)) return;
        bool sameSet = false;
        for (int j = 1; j < sets.Length; j++)
            if (sets[j] != null && sets[j] == sets[0]) sameSet = true;
        long maxIntset = MaxIntset(c);
        RedisObject dst;
        if (!diff) dst = UnionOf(sets, maxIntset);
        else
        {
            dst = SetType.CreateIntset();
            if (sets[0] != null && !sameSet) DiffInto(dst, sets, maxIntset);
        }
        if (dstKey == null) ReplyMembers(c, dst, asSet: true);
        else StoreResult(c, dstKey, dst, diff ? "sdiffstore" : "sunionstore");
    }

    static void DiffInto(RedisObject dst, RedisObject?[] sets, long maxIntset)
    {
        // Algorithm 1 costs about |first| * sets / 2 lookups, algorithm 2 the sum of all sizes.
        long one = 0, two = 0;
        foreach (var s in sets)
        {
            if (s == null) continue;
            one += SetType.Size(sets[0]!);
            two += SetType.Size(s);
        }
        one /= 2;
        if (one <= two)
        {
            var others = sets.Skip(1).OrderByDescending(s => s == null ? 0 : SetType.Size(s)).ToArray();
            foreach (var ele in SetType.Members(sets[0]!))
            {
                bool found = false;
                foreach (var s in others)
                {
                    if (s == null) continue;
                    if (SetType.IsMember(s, ele))
                    {
                        found = true;
                        break;
                    }
                }
                if (!found) SetType.Add(dst, ele, maxIntset);
            }
            return;
        }
        for (int j = 0; j < sets.Length; j++)
        {
            if (sets[j] == null) continue;
            foreach (var ele in SetType.Members(sets[j]!))
            {
                if (j == 0) SetType.Add(dst, ele, maxIntset);
                else SetType.Remove(dst, ele);
            }
            if (SetType.Size(dst) == 0) break;
        }
    }

    [Command("sinter")] static void SInter(Client c) => InterGeneric(c, 1, c.Args.Count - 1, null, false, 0);
    [Command("sinterstore")] static void SInterStore(Client c) => InterGeneric(c, 2, c.Args.Count - 2, c.Args.ToArray(1), false, 0);
    [Command("sunion")] static void SUnion(Client c) => UnionDiffGeneric(c, 1, c.Args.Count - 1, null, diff: false);
    [Command("sunionstore")] static void SUnionStore(Client c) => UnionDiffGeneric(c, 2, c.Args.Count - 2, c.Args.ToArray(1), diff: false);
    [Command("sdiff")] static void SDiff(Client c) => UnionDiffGeneric(c, 1, c.Args.Count - 1, null, diff: true);
    [Command("sdiffstore")] static void SDiffStore(Client c) => UnionDiffGeneric(c, 2, c.Args.Count - 2, c.Args.ToArray(1), diff: true);

    [Command("sintercard")]
    static void SInterCard(Client c)
    {
        if (!Arguments.TryGetLongInRange(c, 1, 1, long.MaxValue, out long numKeys, "numkeys should be greater than 0")) return;
        if (numKeys > c.Args.Count - 2)
        {
            c.Reply.Error("Number of keys can't be greater than number of args");
            return;
        }
        long limit = 0;
        for (int j = 2 + (int)numKeys; j < c.Args.Count; j++)
        {
            if (c.Args.Is(j, "limit") && j + 1 < c.Args.Count)
            {
                j++;
                if (!Arguments.TryGetLongInRange(c, j, 0, long.MaxValue, out limit, "LIMIT can't be negative")) return;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        InterGeneric(c, 2, (int)numKeys, null, cardinalityOnly: true, limit);
    }

    // ------------------------------------------------------------------ SSCAN

    [Command("sscan")]
    static void SScan(Client c)
    {
        if (!KeyspaceCommands.TryParseScanCursor(c, 2, out ulong cursor)) return;
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            ContainerScan.ReplyEmpty(c);
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.Set)) return;
        if (!ContainerScan.TryParseOptions(c, 3, out long count, out var pattern)) return;
        var items = new List<byte[]>();
        if (o.Ptr is StringDict d) cursor = ContainerScan.ScanDict(d.Dict, cursor, count, withValues: false, items);
        else
        {
            items.AddRange(SetType.Members(o));
            cursor = 0;
        }
        ContainerScan.Reply(c, cursor, items, 1, pattern);
    }
}
