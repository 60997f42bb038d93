// List commands (Redis's t_list.c): pushes, pops (with COUNT), ranges, LINSERT/LSET/LREM/LTRIM,
// LPOS, LMOVE/RPOPLPUSH/LMPOP and their blocking forms. Every list is a Quicklist (Redis 7.0
// reports "quicklist" for any list). Blocking forms try the non-blocking path first and
// otherwise park the client in BlockingKeys with a Serve callback that reruns the same pop.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class ListCommands
{
    // ------------------------------------------------------------------ shared helpers

    static Quicklist Ql(RedisObject o) => (Quicklist)o.Ptr!;

    static RedisObject CreateList(Client c) =>
        new(ObjType.List, ObjEncoding.QuickList, new Quicklist(c.Server.Config.ListMaxListpackSize, c.Server.Config.ListCompressDepth));

    /// <summary>getListPositionFromObjectOrReply: LEFT → head, RIGHT → tail.</summary>
    static bool TryGetWhere(Client c, int i, out bool head)
    {
        head = c.Args.Is(i, "left");
        if (head || c.Args.Is(i, "right")) return true;
        c.Reply.Error(Errors.Syntax);
        return false;
    }

    static string PushEvent(bool head) => head ? "lpush" : "rpush";
    static string PopEvent(bool head) => head ? "lpop" : "rpop";

    /// <summary>Pushes onto the list of the write scope w on key (created when missing, which wakes its waiters).</summary>
    static void PushTo(Client c, Database db, ref WriteScope w, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool head)
    {
        var o = w.Value;
        if (o == null)
        {
            o = CreateList(c);
            w.Add(o);
            c.Server.Blocking.Signal(db, key);
        }
        Ql(o).Push(value, head);
    }

    static byte[] PopFrom(RedisObject o, bool head) => Ql(o).Pop(head)!;

    /// <summary>Pops one element straight into the reply (no copy of the element, unlike PopFrom).</summary>
    static void PopAndReplyOne(Client c, RedisObject o, bool head)
    {
        var ql = Ql(o);
        var e = ql.EndEntry(head)!.Value;
        ReplyEntry(c, e);
        ql.PopEntry(e);
    }

    /// <summary>A list that elements left: its key goes away (with "del") when the write ends.</summary>
    static bool Emptied(RedisObject o) => Ql(o).Count == 0;

    static void ReplyEntry(Client c, Quicklist.Entry e)
    {
        if (Quicklist.Get(e, out var s, out long v)) c.Reply.Bulk(s);
        else c.Reply.BulkLong(v);
    }

    // ------------------------------------------------------------------ push

    [Command("lpush")] static void LPush(Client c) => PushGeneric(c, head: true, xx: false);
    [Command("rpush")] static void RPush(Client c) => PushGeneric(c, head: false, xx: false);
    [Command("lpushx")] static void LPushX(Client c) => PushGeneric(c, head: true, xx: true);
    [Command("rpushx")] static void RPushX(Client c) => PushGeneric(c, head: false, xx: true);

    static void PushGeneric(Client c, bool head, bool xx)
    {
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (KeyLookup.CheckType(c, o, ObjType.List)) return;
        if (o == null && xx)
        {
            c.Reply.Integer(0);
            return;
        }
        var w = c.Db.BeginWrite(key, o);
        for (int j = 2; j < c.Args.Count; j++) PushTo(c, c.Db, ref w, key, c.Args[j], head);
        c.Reply.Integer(Ql(w.Value!).Count);
        w.End(NotifyClass.List, PushEvent(head), c.Args.Count - 2);
    }

    // ------------------------------------------------------------------ pop

    [Command("lpop")] static void LPop(Client c) => PopGeneric(c, head: true);
    [Command("rpop")] static void RPop(Client c) => PopGeneric(c, head: false);

    static void PopGeneric(Client c, bool head)
    {
        if (c.Args.Count > 3)
        {
            c.Reply.Error($"wrong number of arguments for '{c.Cmd!.FullName}' command");
            return;
        }
        bool hasCount = c.Args.Count == 3;
        long count = 0;
        if (hasCount && !Arguments.TryGetLongInRange(c, 2, 0, long.MaxValue, out count, "value is out of range, must be positive")) return;
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (o == null)
        {
            if (hasCount) c.Reply.NullArray();
            else c.Reply.Null();
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.List)) return;
        if (hasCount && count == 0)
        {
            c.Reply.EmptyArray();
            return;
        }
        var w = c.Db.BeginWrite(key, o);
        long popped;
        if (!hasCount)
        {
            PopAndReplyOne(c, o, head);
            popped = 1;
        }
        else popped = PopRangeAndReply(c, o, head, count);
        w.End(NotifyClass.List, PopEvent(head), popped, Emptied(o));
    }

    /// <summary>listPopRangeAndReplyWithKey's inner part: an array of up to count popped elements.</summary>
    static long PopRangeAndReply(Client c, RedisObject o, bool head, long count)
    {
        long n = Math.Min(count, Ql(o).Count);
        c.Reply.ArrayLen(n);
        for (long i = 0; i < n; i++) PopAndReplyOne(c, o, head);
        return n;
    }

    // ------------------------------------------------------------------ reads

    [Command("llen")]
    static void LLen(Client c)
    {
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.List, MissingKeyReply.Zero, out var o)) return;
        c.Reply.Integer(Ql(o).Count);
    }

    [Command("lindex")]
    static void LIndex(Client c)
    {
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.List, MissingKeyReply.Null, out var o)) return;
        if (!Arguments.TryGetLong(c, 2, out long index)) return;
        var ql = Ql(o);
        var e = ql.Index(index);
        if (e == null)
        {
            c.Reply.Null();
            return;
        }
        ReplyEntry(c, e.Value);
        ql.Release(e.Value.Node);
    }

    [Command("lrange")]
    static void LRange(Client c)
    {
        if (!Arguments.TryGetLong(c, 2, out long start) || !Arguments.TryGetLong(c, 3, out long end)) return;
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.List, MissingKeyReply.EmptyArray, out var o)) return;
        var ql = Ql(o);
        long llen = ql.Count;
        if (start < 0) start += llen;
        if (end < 0) end += llen;
        if (start < 0) start = 0;
        if (start > end || start >= llen)
        {
            c.Reply.EmptyArray();
            return;
        }
        if (end >= llen) end = llen - 1;
        long rangeLen = end - start + 1;
        c.Reply.ArrayLen(rangeLen);
        ql.ReplyRange(start, rangeLen, c.Reply);
    }

    [Command("lpos")]
    static void LPos(Client c)
    {
        long rank = 1, count = -1, maxlen = 0;
        for (int j = 3; j < c.Args.Count; j++)
        {
            bool moreArgs = c.Args.Count - 1 - j > 0;
            if (c.Args.Is(j, "rank") && moreArgs)
            {
                if (!Arguments.TryGetLong(c, ++j, out rank)) return;
                if (rank == 0)
                {
                    c.Reply.Error("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                    return;
                }
            }
            else if (c.Args.Is(j, "count") && moreArgs)
            {
                if (!Arguments.TryGetLongInRange(c, ++j, 0, long.MaxValue, out count, "COUNT can't be negative")) return;
            }
            else if (c.Args.Is(j, "maxlen") && moreArgs)
            {
                if (!Arguments.TryGetLongInRange(c, ++j, 0, long.MaxValue, out maxlen, "MAXLEN can't be negative")) return;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            if (count != -1) c.Reply.EmptyArray();
            else c.Reply.Null();
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.List)) return;
        // A negative rank searches from the tail (rank = -LONG_MIN stays negative: first match, as in Redis).
        bool fromHead = rank > 0;
        if (rank < 0) rank = -rank;
        var ql = Ql(o);
        long llen = ql.Count, index = 0, matches = 0;
        var found = new List<long>();
        var ele = c.Args[2];
        var it = ql.GetIterator(fromHead);
        while ((maxlen == 0 || index < maxlen) && it.Next(out var e))
        {
            if (Quicklist.EntryEquals(e, ele))
            {
                matches++;
                if (matches >= rank)
                {
                    found.Add(fromHead ? index : llen - index - 1);
                    if (count == -1 || (count != 0 && matches - rank + 1 >= count)) break;
                }
            }
            index++;
        }
        it.Release();
        if (count != -1)
        {
            c.Reply.ArrayLen(found.Count);
            foreach (var i in found) c.Reply.Integer(i);
        }
        else if (found.Count > 0) c.Reply.Integer(found[0]);
        else c.Reply.Null();
    }

    // ------------------------------------------------------------------ in-place writes

    [Command("lset")]
    static void LSet(Client c)
    {
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (o == null)
        {
            c.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.List) || !Arguments.TryGetLong(c, 2, out long index)) return;
        var ql = Ql(o);
        var e = ql.Index(index);
        if (e == null)
        {
            c.Reply.Error(Errors.OutOfRange);
            return;
        }
        var w = c.Db.BeginWrite(key, o);
        ql.Replace(e.Value, c.Args[3]);
        c.Reply.Ok();
        w.End(NotifyClass.List, "lset");
    }

    [Command("linsert")]
    static void LInsert(Client c)
    {
        bool after;
        if (c.Args.Is(2, "after")) after = true;
        else if (c.Args.Is(2, "before")) after = false;
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var key = c.Args[1];
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.List, MissingKeyReply.Zero, out var o)) return;
        var ql = Ql(o);
        var w = c.Db.BeginWrite(key, o);
        var it = ql.GetIterator(fromHead: true);
        bool inserted = false;
        while (it.Next(out var e))
        {
            if (!Quicklist.EntryEquals(e, c.Args[3])) continue;
            ql.Insert(e, c.Args[4], after);
            inserted = true;
            break;
        }
        if (!inserted)
        {
            it.Release();
            w.EndUnchanged();
            c.Reply.Integer(-1);
            return;
        }
        w.End(NotifyClass.List, "linsert");
        c.Reply.Integer(ql.Count);
    }

    [Command("lrem")]
    static void LRem(Client c)
    {
        if (!Arguments.TryGetLong(c, 2, out long toRemove)) return;
        var key = c.Args[1];
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.List, MissingKeyReply.Zero, out var o)) return;
        var ql = Ql(o);
        long removed = 0;
        var w = c.Db.BeginWrite(key, o);
        var it = ql.GetIterator(fromHead: toRemove >= 0);
        if (toRemove < 0) toRemove = -toRemove;
        while (it.Next(out var e))
        {
            if (!Quicklist.EntryEquals(e, c.Args[3])) continue;
            it.DelEntry(e);
            removed++;
            if (toRemove != 0 && removed == toRemove) break;
        }
        it.Release();
        if (removed > 0) w.End(NotifyClass.List, "lrem", removed, Emptied(o));
        else w.EndUnchanged();
        c.Reply.Integer(removed);
    }

    [Command("ltrim")]
    static void LTrim(Client c)
    {
        if (!Arguments.TryGetLong(c, 2, out long start) || !Arguments.TryGetLong(c, 3, out long end)) return;
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (o == null)
        {
            c.Reply.Ok();
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.List)) return;
        var ql = Ql(o);
        long llen = ql.Count, ltrim, rtrim;
        if (start < 0) start += llen;
        if (end < 0) end += llen;
        if (start < 0) start = 0;
        if (start > end || start >= llen)
        {
            ltrim = llen;
            rtrim = 0;
        }
        else
        {
            if (end >= llen) end = llen - 1;
            ltrim = start;
            rtrim = llen - end - 1;
        }
        var w = c.Db.BeginWrite(key, o);
        ql.DelRange(0, ltrim);
        ql.DelRange(-rtrim, rtrim);
        w.End(NotifyClass.List, "ltrim", ltrim + rtrim, Emptied(o));
        c.Reply.Ok();
    }

    // ------------------------------------------------------------------ LMOVE family

    [Command("lmove")]
    static void LMove(Client c)
    {
        if (!TryGetWhere(c, 3, out bool from) || !TryGetWhere(c, 4, out bool to)) return;
        LMoveGeneric(c, c.Args.ToArray(1), c.Args.ToArray(2), from, to);
    }

    [Command("rpoplpush")]
    static void RPopLPush(Client c) => LMoveGeneric(c, c.Args.ToArray(1), c.Args.ToArray(2), false, true);

    static void LMoveGeneric(Client c, byte[] src, byte[] dst, bool fromHead, bool toHead)
    {
        if (!KeyLookup.LookupWriteOrReply(c, src, ObjType.List, MissingKeyReply.Null, out var so)) return;
        if (!MoveOne(c, c.Db, src, so, dst, fromHead, toHead)) return;
    }

    /// <summary>Pops from src and pushes onto dst, replying the element; false (after WRONGTYPE) when dst is not a list.</summary>
    static bool MoveOne(Client c, Database db, byte[] src, RedisObject so, byte[] dst, bool fromHead, bool toHead)
    {
        var dobj = db.LookupWrite(dst);
        if (KeyLookup.CheckType(c, dobj, ObjType.List)) return false;
        var ws = db.BeginWrite(src, so);
        var value = PopFrom(so, fromHead);
        if (ReferenceEquals(dobj, so))
        {
            // Rotating a list onto itself (a one-element list is emptied and refilled): one object
            // in one scope, so its size change is measured once; the push event still comes first.
            Ql(so).Push(value, toHead);
            ws.Notify(NotifyClass.List, PushEvent(toHead));
        }
        else
        {
            var wd = db.BeginWrite(dst, dobj);
            PushTo(c, db, ref wd, dst, value, toHead);
            wd.End(NotifyClass.List, PushEvent(toHead), dirty: 0);
        }
        c.Reply.Bulk(value);
        ws.End(NotifyClass.List, PopEvent(fromHead), 1, Emptied(so));
        return true;
    }

    /// <summary>LMPOP numkeys key... LEFT|RIGHT [COUNT n] and BLMPOP timeout numkeys ...: parsed arguments.</summary>
    static bool ParseMPop(Client c, int numKeysIdx, out List<byte[]> keys, out bool head, out long count)
    {
        keys = new();
        head = false;
        count = 1;
        if (!Arguments.TryGetLongInRange(c, numKeysIdx, 1, long.MaxValue, out long numKeys, "numkeys should be greater than 0")) return false;
        if (numKeys > c.Args.Count - numKeysIdx - 1)
        {
            c.Reply.Error($"wrong number of arguments for '{c.Cmd!.FullName}' command");
            return false;
        }
        int whereIdx = numKeysIdx + (int)numKeys + 1;
        if (whereIdx >= c.Args.Count)
        {
            c.Reply.Error(Errors.Syntax);
            return false;
        }
        for (int j = numKeysIdx + 1; j < whereIdx; j++) keys.Add(c.Args.ToArray(j));
        if (!TryGetWhere(c, whereIdx, out head)) return false;
        bool countSeen = false;
        for (int j = whereIdx + 1; j < c.Args.Count; j++)
        {
            if (c.Args.Is(j, "count") && !countSeen && j + 1 < c.Args.Count)
            {
                if (!Arguments.TryGetLongInRange(c, ++j, 1, long.MaxValue, out count, "count should be greater than 0")) return false;
                countSeen = true;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return false;
            }
        }
        return true;
    }

    [Command("lmpop")]
    static void LMPop(Client c)
    {
        if (!ParseMPop(c, 1, out var keys, out bool head, out long count)) return;
        if (!MPopFirstNonEmpty(c, keys, head, count, out bool served) || served) return;
        c.Reply.NullArray();
    }

    /// <summary>Pops from the first non-empty list among keys: [key, [elements]]. Returns false after an error.</summary>
    static bool MPopFirstNonEmpty(Client c, List<byte[]> keys, bool head, long count, out bool served)
    {
        served = false;
        foreach (var key in keys)
        {
            var o = c.Db.LookupWrite(key);
            if (o == null) continue;
            if (KeyLookup.CheckType(c, o, ObjType.List)) return false;
            if (Ql(o).Count == 0) continue;
            ServeMPop(c, c.Db, key, o, head, count);
            served = true;
            return true;
        }
        return true;
    }

    static void ServeMPop(Client c, Database db, byte[] key, RedisObject o, bool head, long count)
    {
        var w = db.BeginWrite(key, o);
        c.Reply.ArrayLen(2);
        c.Reply.Bulk(key);
        long n = PopRangeAndReply(c, o, head, count);
        // [B]LMPOP propagates as the pop it amounted to, with the count actually popped.
        c.Server.Propagation.ReplaceArgv(3).Add(head ? "LPOP"u8 : "RPOP"u8).Add(key).Add(n);
        w.End(NotifyClass.List, PopEvent(head), n, Emptied(o));
    }

    // ------------------------------------------------------------------ blocking forms

    /// <summary>getTimeoutFromObjectOrReply (seconds, fractional): absolute unix-ms deadline, 0 = forever.</summary>
    internal static bool TryGetTimeout(Client c, int i, out long deadlineMs)
    {
        deadlineMs = 0;
        // string2ld: a long double, so "1e-400" is a 1 ms timeout and "0x1p1" two seconds.
        if (!LongDouble.TryParse(c.Args[i], out var secs))
        {
            c.Reply.Error("timeout is not a float or out of range");
            return false;
        }
        long tval = secs.MultiplyCeilingToInt64(1000);
        if (tval < 0)
        {
            c.Reply.Error("timeout is negative");
            return false;
        }
        if (tval > 0) deadlineMs = tval > long.MaxValue - c.Server.NowMs ? long.MaxValue : c.Server.NowMs + tval;
        return true;
    }

    [Command("blpop")] static void BLPop(Client c) => BlockingPopGeneric(c, head: true);
    [Command("brpop")] static void BRPop(Client c) => BlockingPopGeneric(c, head: false);

    static void BlockingPopGeneric(Client c, bool head)
    {
        if (!TryGetTimeout(c, c.Args.Count - 1, out long deadline)) return;
        var keys = new List<byte[]>();
        for (int j = 1; j < c.Args.Count - 1; j++)
        {
            var key = c.Args[j];
            var o = c.Db.LookupWrite(key);
            if (o != null)
            {
                if (KeyLookup.CheckType(c, o, ObjType.List)) return;
                if (Ql(o).Count > 0)
                {
                    ServeBlockingPop(c, c.Db, c.Args.ToArray(j), o, head);
                    return;
                }
            }
            keys.Add(c.Args.ToArray(j));
        }
        if (BlockingKeys.DenyBlocking(c))
        {
            c.Reply.NullArray();
            return;
        }
        BlockingKeys.BlockForKeys(c, BlockType.List, keys, deadline, (rc, db, key) =>
        {
            var o = db.LookupWrite(key);
            if (o == null || o.Type != ObjType.List || Ql(o).Count == 0) return false;
            ServeBlockingPop(rc, db, key, o, head);
            return true;
        });
    }

    static void ServeBlockingPop(Client c, Database db, byte[] key, RedisObject o, bool head)
    {
        c.Server.Propagation.ReplaceArgv(2).Add(head ? "LPOP"u8 : "RPOP"u8).Add(key);
        var w = db.BeginWrite(key, o);
        var value = PopFrom(o, head);
        c.Reply.ArrayLen(2);
        c.Reply.Bulk(key);
        c.Reply.Bulk(value);
        w.End(NotifyClass.List, PopEvent(head), 1, Emptied(o));
    }

    [Command("blmove")]
    static void BLMove(Client c)
    {
        if (!TryGetWhere(c, 3, out bool from) || !TryGetWhere(c, 4, out bool to)) return;
        if (!TryGetTimeout(c, 5, out long deadline)) return;
        BlockingMoveGeneric(c, from, to, deadline);
    }

    [Command("brpoplpush")]
    static void BRPopLPush(Client c)
    {
        if (!TryGetTimeout(c, 3, out long deadline)) return;
        BlockingMoveGeneric(c, false, true, deadline);
    }

    static void BlockingMoveGeneric(Client c, bool fromHead, bool toHead, long deadline)
    {
        var src = c.Args.ToArray(1);
        var dst = c.Args.ToArray(2);
        var so = c.Db.LookupWrite(src);
        if (KeyLookup.CheckType(c, so, ObjType.List)) return;
        if (so != null)
        {
            if (MoveOne(c, c.Db, src, so, dst, fromHead, toHead)) PropagateAsMove(c, src, dst, c.Args.Count > 4 ? c.Args[3] : "right"u8, c.Args.Count > 4 ? c.Args[4] : "left"u8);
            return;
        }
        if (BlockingKeys.DenyBlocking(c))
        {
            c.Reply.Null(); // a blocking move in MULTI on an empty list answers at once
            return;
        }
        BlockingKeys.BlockForKeys(c, BlockType.List, [src], deadline, (rc, db, key) =>
        {
            var o = db.LookupWrite(key);
            if (o == null || o.Type != ObjType.List || Ql(o).Count == 0) return false;
            // A destination of the wrong type answers WRONGTYPE and unblocks, leaving the source intact.
            if (MoveOne(rc, db, key, o, dst, fromHead, toHead)) PropagateAsMove(rc, key, dst, fromHead ? "left"u8 : "right"u8, toHead ? "left"u8 : "right"u8);
            return true;
        });
    }

    /// <summary>A blocking move propagates as its non-blocking form: BLMOVE as LMOVE, BRPOPLPUSH as RPOPLPUSH.</summary>
    static void PropagateAsMove(Client c, ReadOnlySpan<byte> src, ReadOnlySpan<byte> dst, ReadOnlySpan<byte> from, ReadOnlySpan<byte> to)
    {
        if (c.Cmd!.Name == "brpoplpush") c.Server.Propagation.ReplaceArgv(3).Add("RPOPLPUSH"u8).Add(src).Add(dst);
        else c.Server.Propagation.ReplaceArgv(5).Add("LMOVE"u8).Add(src).Add(dst).Add(from).Add(to);
    }

    [Command("blmpop")]
    static void BLMPop(Client c)
    {
        if (!TryGetTimeout(c, 1, out long deadline)) return;
        if (!ParseMPop(c, 2, out var keys, out bool head, out long count)) return;
        if (!MPopFirstNonEmpty(c, keys, head, count, out bool served) || served) return;
        if (BlockingKeys.DenyBlocking(c))
        {
            c.Reply.NullArray();
            return;
        }
        BlockingKeys.BlockForKeys(c, BlockType.List, keys, deadline, (rc, db, key) =>
        {
            var o = db.LookupWrite(key);
            if (o == null || o.Type != ObjType.List || Ql(o).Count == 0) return false;
            ServeMPop(rc, db, key, o, head, count);
            return true;
        });
    }
}
