// Sorted set commands (Redis's t_zset.c): ZADD and friends, ranges by rank/score/lex in both
// directions (one generic ZRANGE path with a result handler that either replies or stores),
// range removal, pops (with ZMPOP and the blocking forms), set algebra and ZSCAN. Handlers
// speak to the ZSet API only, so the listpack and skiplist encodings share every code path.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Protocol;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class SortedSetCommands
{
    // ------------------------------------------------------------------ shared helpers

    /// <summary>The sorted set view of a zset object (the listpack array or the skiplist encoding in Ptr).</summary>
    internal static ZSet Zs(RedisObject o) => new(o);

    internal static RedisObject CreateZSetObject(Client c, long firstElementLength) =>
        Wrap(ZSet.CreateFor(firstElementLength, c.Server.Config.ZsetMaxListpackEntries, c.Server.Config.ZsetMaxListpackValue));

    internal static RedisObject Wrap(ZSet z) => z.Object;

    /// <summary>zsetAdd with the server's limits, which keep the object's encoding in step.</summary>
    internal static bool ZsetAdd(Client c, RedisObject o, double score, ReadOnlySpan<byte> ele, ref ZAddFlags flags, out double newScore) =>
        Zs(o).Add(score, ele, ref flags, out newScore, c.Server.Config.ZsetMaxListpackEntries, c.Server.Config.ZsetMaxListpackValue);

    /// <summary>A sorted set that elements left: its key goes away (with "del") when the write ends.</summary>
    static bool Emptied(RedisObject o) => Zs(o).Length == 0;

    /// <summary>zslParseRange: "(" marks an exclusive bound; NaN is rejected.</summary>
    internal static bool TryParseRange(ReadOnlySpan<byte> min, ReadOnlySpan<byte> max, out ScoreRange range)
    {
        range = default;
        if (!ParseBound(min, out double lo, out bool loEx) || !ParseBound(max, out double hi, out bool hiEx)) return false;
        range = new ScoreRange(lo, hi, loEx, hiEx);
        return true;
    }

    /// <summary>One zslParseRange bound: strtod must consume the whole string ("" is 0, leading spaces and overflow pass).</summary>
    static bool ParseBound(ReadOnlySpan<byte> s, out double v, out bool ex)
    {
        ex = s.Length > 0 && s[0] == (byte)'(';
        if (ex) s = s[1..];
        return Strtod.Parse(s, out v, out _) == s.Length && !double.IsNaN(v);
    }

    static void ReplyElements(Client c, List<(byte[] Ele, double Score)> items, bool withScores)
    {
        c.Reply.ArrayLen(withScores && !c.Reply.Resp3 ? items.Count * 2 : items.Count);
        foreach (var (e, s) in items)
        {
            if (withScores && c.Reply.Resp3) c.Reply.ArrayLen(2);
            c.Reply.Bulk(e);
            if (withScores) c.Reply.Double(s);
        }
    }

    // ------------------------------------------------------------------ ZADD / ZINCRBY

    [Command("zadd")] static void ZAdd(Client c) => ZAddGeneric(c, ZAddFlags.None);
    [Command("zincrby")] static void ZIncrBy(Client c) => ZAddGeneric(c, ZAddFlags.Incr);

    /// <summary>GEOADD's rewritten "ZADD key [NX|XX] [CH] score member ..." vector.</summary>
    internal static void ZAddFromGeo(Client c) => ZAddGeneric(c, ZAddFlags.None);

    static void ZAddGeneric(Client c, ZAddFlags flags)
    {
        var key = c.Args[1];
        bool ch = false;
        int scoreIdx = 2;
        for (; scoreIdx < c.Args.Count; scoreIdx++)
        {
            if (c.Args.Is(scoreIdx, "nx")) flags |= ZAddFlags.Nx;
            else if (c.Args.Is(scoreIdx, "xx")) flags |= ZAddFlags.Xx;
            else if (c.Args.Is(scoreIdx, "ch")) ch = true;
            else if (c.Args.Is(scoreIdx, "incr")) flags |= ZAddFlags.Incr;
            else if (c.Args.Is(scoreIdx, "gt")) flags |= ZAddFlags.Gt;
            else if (c.Args.Is(scoreIdx, "lt")) flags |= ZAddFlags.Lt;
            else break;
        }
        bool incr = (flags & ZAddFlags.Incr) != 0, nx = (flags & ZAddFlags.Nx) != 0, xx = (flags & ZAddFlags.Xx) != 0;
        bool gt = (flags & ZAddFlags.Gt) != 0, lt = (flags & ZAddFlags.Lt) != 0;
        int elements = c.Args.Count - scoreIdx;
        if (elements % 2 != 0 || elements == 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        elements /= 2;
        if (nx && xx)
        {
            c.Reply.Error("XX and NX options at the same time are not compatible");
            return;
        }
        if ((gt && nx) || (lt && nx) || (gt && lt))
        {
            c.Reply.Error("GT, LT, and/or NX options at the same time are not compatible");
            return;
        }
        if (incr && elements > 1)
        {
            c.Reply.Error("INCR option supports a single increment-element pair");
            return;
        }
        Span<double> scores = elements <= 16 ? stackalloc double[elements] : new double[elements];
        for (int j = 0; j < elements; j++)
            if (!Arguments.TryGetDouble(c, scoreIdx + j * 2, out scores[j])) return;

        var o = c.Db.LookupWrite(key);
        if (KeyLookup.CheckType(c, o, ObjType.ZSet)) return;
        long added = 0, updated = 0, processed = 0;
        double score = 0;
        if (o == null && xx)
        {
            ReplyZAdd(c, incr, ch, 0, 0, 0, 0);
            return;
        }
        var w = c.Db.BeginWrite(key, o);
        if (o == null)
        {
            o = CreateZSetObject(c, c.Args.Length(scoreIdx + 1));
            w.Add(o);
        }
        for (int j = 0; j < elements; j++)
        {
            var f = flags;
            if (!ZsetAdd(c, o, scores[j], c.Args[scoreIdx + j * 2 + 1], ref f, out score))
            {
                c.Reply.Error("resulting score is not a number (NaN)");
                break;
            }
            if ((f & ZAddFlags.OutAdded) != 0) added++;
            if ((f & ZAddFlags.OutUpdated) != 0) updated++;
            if ((f & ZAddFlags.OutNop) == 0) processed++;
            if (j == elements - 1) ReplyZAdd(c, incr, ch, added, updated, processed, score);
        }
        if (added + updated > 0)
        {
            w.End(NotifyClass.ZSet, incr ? "zincr" : "zadd", added + updated);
            if (added > 0) BlockingKeys.SignalKeyAsReady(c, key);
        }
        else w.EndUnchanged();
    }

    static void ReplyZAdd(Client c, bool incr, bool ch, long added, long updated, long processed, double score)
    {
        if (incr)
        {
            if (processed > 0) c.Reply.Double(score);
            else c.Reply.Null();
        }
        else c.Reply.Integer(ch ? added + updated : added);
    }

    // ------------------------------------------------------------------ ZREM / ZREMRANGEBY*

    [Command("zrem")]
    static void ZRem(Client c)
    {
        var key = c.Args[1];
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.ZSet, MissingKeyReply.Zero, out var o)) return;
        long deleted = 0;
        var w = c.Db.BeginWrite(key, o);
        for (int j = 2; j < c.Args.Count; j++)
        {
            if (Zs(o).Delete(c.Args[j])) deleted++;
            if (Emptied(o)) break;
        }
        if (deleted > 0) w.End(NotifyClass.ZSet, "zrem", deleted, Emptied(o));
        else w.EndUnchanged();
        c.Reply.Integer(deleted);
    }

    enum RangeType { Auto, Rank, Score, Lex }

    [Command("zremrangebyrank")] static void ZRemRangeByRank(Client c) => ZRemRangeGeneric(c, RangeType.Rank);
    [Command("zremrangebyscore")] static void ZRemRangeByScore(Client c) => ZRemRangeGeneric(c, RangeType.Score);
    [Command("zremrangebylex")] static void ZRemRangeByLex(Client c) => ZRemRangeGeneric(c, RangeType.Lex);

    static void ZRemRangeGeneric(Client c, RangeType type)
    {
        var key = c.Args[1];
        long start = 0, end = 0;
        ScoreRange range = default;
        LexRange? lex = null;
        switch (type)
        {
            case RangeType.Rank:
                if (!Arguments.TryGetLong(c, 2, out start) || !Arguments.TryGetLong(c, 3, out end)) return;
                break;
            case RangeType.Score:
                if (!TryParseRange(c.Args[2], c.Args[3], out range))
                {
                    c.Reply.Error("min or max is not a float");
                    return;
                }
                break;
            default:
                if (!LexRange.TryParse(c.Args[2], c.Args[3], out lex))
                {
                    c.Reply.Error("min or max not valid string range item");
                    return;
                }
                break;
        }
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.ZSet, MissingKeyReply.Zero, out var o)) return;
        long deleted;
        var w = c.Db.BeginWrite(key, o);
        if (type == RangeType.Rank)
        {
            long llen = Zs(o).Length;
            if (start < 0) start += llen;
            if (end < 0) end += llen;
            if (start < 0) start = 0;
            if (start > end || start >= llen)
            {
                w.EndUnchanged();
                c.Reply.Integer(0);
                return;
            }
            if (end >= llen) end = llen - 1;
            deleted = Zs(o).DeleteRangeByRank(start, end);
        }
        else if (type == RangeType.Score) deleted = Zs(o).DeleteRangeByScore(range);
        else deleted = Zs(o).DeleteRangeByLex(lex!);
        if (deleted > 0)
        {
            string ev = type switch { RangeType.Rank => "zremrangebyrank", RangeType.Score => "zremrangebyscore", _ => "zremrangebylex" };
            w.End(NotifyClass.ZSet, ev, deleted, Emptied(o));
        }
        else w.EndUnchanged();
        c.Reply.Integer(deleted);
    }

    // ------------------------------------------------------------------ point reads

    [Command("zcard")]
    static void ZCard(Client c)
    {
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.ZSet, MissingKeyReply.Zero, out var o)) return;
        c.Reply.Integer(Zs(o).Length);
    }

    [Command("zscore")]
    static void ZScore(Client c)
    {
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.ZSet, MissingKeyReply.Null, out var o)) return;
        if (Zs(o).TryGetScore(c.Args[2], out double s)) c.Reply.Double(s);
        else c.Reply.Null();
    }

    [Command("zmscore")]
    static void ZMScore(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.ZSet)) return;
        c.Reply.ArrayLen(c.Args.Count - 2);
        for (int j = 2; j < c.Args.Count; j++)
        {
            if (o != null && Zs(o).TryGetScore(c.Args[j], out double s)) c.Reply.Double(s);
            else c.Reply.Null();
        }
    }

    [Command("zrank")] static void ZRank(Client c) => ZRankGeneric(c, reverse: false);
    [Command("zrevrank")] static void ZRevRank(Client c) => ZRankGeneric(c, reverse: true);

    static void ZRankGeneric(Client c, bool reverse)
    {
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.ZSet, MissingKeyReply.Null, out var o)) return;
        long rank = Zs(o).Rank(c.Args[2], reverse, out _);
        if (rank >= 0) c.Reply.Integer(rank);
        else c.Reply.Null();
    }

    [Command("zcount")]
    static void ZCount(Client c)
    {
        if (!TryParseRange(c.Args[2], c.Args[3], out var range))
        {
            c.Reply.Error("min or max is not a float");
            return;
        }
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.ZSet, MissingKeyReply.Zero, out var o)) return;
        var z = Zs(o);
        long first = z.FirstRankInRange(range, false);
        if (first < 0)
        {
            c.Reply.Integer(0);
            return;
        }
        long last = z.FirstRankInRange(range, true);
        c.Reply.Integer(z.Length - last - first);
    }

    [Command("zlexcount")]
    static void ZLexCount(Client c)
    {
        if (!LexRange.TryParse(c.Args[2], c.Args[3], out var range))
        {
            c.Reply.Error("min or max not valid string range item");
            return;
        }
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.ZSet, MissingKeyReply.Zero, out var o)) return;
        var z = Zs(o);
        long first = z.FirstRankInLexRange(range, false);
        if (first < 0)
        {
            c.Reply.Integer(0);
            return;
        }
        long last = z.FirstRankInLexRange(range, true);
        c.Reply.Integer(z.Length - last - first);
    }

    // ------------------------------------------------------------------ ZRANGE family

    [Command("zrange")] static void ZRange(Client c) => ZRangeGeneric(c, 1, store: false, RangeType.Auto, null);
    [Command("zrangestore")] static void ZRangeStore(Client c) => ZRangeGeneric(c, 2, store: true, RangeType.Auto, null);
    [Command("zrevrange")] static void ZRevRange(Client c) => ZRangeGeneric(c, 1, store: false, RangeType.Rank, true);
    [Command("zrangebyscore")] static void ZRangeByScore(Client c) => ZRangeGeneric(c, 1, store: false, RangeType.Score, false);
    [Command("zrevrangebyscore")] static void ZRevRangeByScore(Client c) => ZRangeGeneric(c, 1, store: false, RangeType.Score, true);
    [Command("zrangebylex")] static void ZRangeByLex(Client c) => ZRangeGeneric(c, 1, store: false, RangeType.Lex, false);
    [Command("zrevrangebylex")] static void ZRevRangeByLex(Client c) => ZRangeGeneric(c, 1, store: false, RangeType.Lex, true);

    /// <summary>zrangeGenericCommand: options, range parsing, lookup, then the rank/score/lex walker.</summary>
    static void ZRangeGeneric(Client c, int argStart, bool store, RangeType type, bool? reverse)
    {
        var key = c.Args[argStart];
        int minIdx = argStart + 1, maxIdx = argStart + 2;
        long offset = 0, limit = -1;
        bool withScores = false;
        for (int j = argStart + 3; j < c.Args.Count; j++)
        {
            int left = c.Args.Count - j - 1;
            if (!store && c.Args.Is(j, "withscores")) withScores = true;
            else if (c.Args.Is(j, "limit") && left >= 2)
            {
                if (!Arguments.TryGetLong(c, j + 1, out offset) || !Arguments.TryGetLong(c, j + 2, out limit)) return;
                j += 2;
            }
            else if (reverse == null && c.Args.Is(j, "rev")) reverse = true;
            else if (type == RangeType.Auto && c.Args.Is(j, "bylex")) type = RangeType.Lex;
            else if (type == RangeType.Auto && c.Args.Is(j, "byscore")) type = RangeType.Score;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        bool rev = reverse ?? false;
        if (type == RangeType.Auto) type = RangeType.Rank;
        if (limit != -1 && type == RangeType.Rank)
        {
            c.Reply.Error("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
            return;
        }
        if (withScores && type == RangeType.Lex)
        {
            c.Reply.Error("syntax error, WITHSCORES not supported in combination with BYLEX");
            return;
        }
        if (rev && type != RangeType.Rank) (minIdx, maxIdx) = (maxIdx, minIdx);

        long start = 0, end = 0;
        ScoreRange range = default;
        LexRange? lex = null;
        switch (type)
        {
            case RangeType.Rank:
                if (!Arguments.TryGetLong(c, minIdx, out start) || !Arguments.TryGetLong(c, maxIdx, out end)) return;
                break;
            case RangeType.Score:
                if (!TryParseRange(c.Args[minIdx], c.Args[maxIdx], out range))
                {
                    c.Reply.Error("min or max is not a float");
                    return;
                }
                break;
            default:
                if (!LexRange.TryParse(c.Args[minIdx], c.Args[maxIdx], out lex))
                {
                    c.Reply.Error("min or max not valid string range item");
                    return;
                }
                break;
        }

        var o = c.Db.LookupRead(key);
        if (KeyLookup.CheckType(c, o, ObjType.ZSet)) return;
        var items = new List<(byte[] Ele, double Score)>();
        if (o != null)
        {
            var z = Zs(o);
            switch (type)
            {
                case RangeType.Rank:
                    RangeByRank(z, start, end, rev, items);
                    break;
                case RangeType.Score:
                    RangeWhile(z, z.FirstRankInRange(range, rev), rev, offset, limit, e => rev ? range.ValueGteMin(e.Score) : range.ValueLteMax(e.Score), items);
                    break;
                default:
                    RangeWhile(z, z.FirstRankInLexRange(lex!, rev), rev, offset, limit, e => rev ? lex!.ValueGteMin(e.Ele) : lex!.ValueLteMax(e.Ele), items);
                    break;
            }
        }
        if (store) StoreRange(c, c.Args.ToArray(1), items);
        else ReplyElements(c, items, withScores);
    }

    /// <summary>genericZrangebyrankCommand's index normalisation.</summary>
    static void RangeByRank(ZSet z, long start, long end, bool reverse, List<(byte[], double)> items)
    {
        long llen = z.Length;
        if (start < 0) start += llen;
        if (end < 0) end += llen;
        if (start < 0) start = 0;
        if (start > end || start >= llen) return;
        if (end >= llen) end = llen - 1;
        long n = end - start + 1;
        foreach (var e in z.FromRank(start, reverse))
        {
            if (n-- == 0) break;
            items.Add(e);
        }
    }

    /// <summary>Score/lex walkers: skip offset elements unchecked, then take up to limit while in range.</summary>
    static void RangeWhile(ZSet z, long firstRank, bool reverse, long offset, long limit, Func<(byte[] Ele, double Score), bool> inRange, List<(byte[], double)> items)
    {
        if (firstRank < 0 || offset < 0) return;
        foreach (var e in z.FromRank(firstRank + offset, reverse))
        {
            if (limit-- == 0 || !inRange(e)) break;
            items.Add(e);
        }
    }

    /// <summary>zrangeResultFinalizeStore: a non-empty result replaces dst, an empty one deletes it.</summary>
    static void StoreRange(Client c, byte[] dst, List<(byte[] Ele, double Score)> items)
    {
        if (items.Count > 0)
        {
            var o = Wrap(ZSet.CreateListpack());
            foreach (var (e, s) in items)
            {
                var f = ZAddFlags.None;
                Zs(o).Add(s, e, ref f, out _, c.Server.Config.ZsetMaxListpackEntries, c.Server.Config.ZsetMaxListpackValue);
            }
            var w = c.Db.BeginWrite(dst);
            w.Set(o);
            c.Reply.Integer(items.Count);
            w.End(NotifyClass.ZSet, "zrangestore");
            BlockingKeys.SignalKeyAsReady(c, dst);
            return;
        }
        c.Reply.Integer(0);
        var wd = c.Db.BeginWrite(dst);
        if (wd.Delete()) wd.End(NotifyClass.Generic, "del");
    }

    // ------------------------------------------------------------------ pops

    [Command("zpopmin")] static void ZPopMin(Client c) => ZPopMinMax(c, max: false);
    [Command("zpopmax")] static void ZPopMax(Client c) => ZPopMinMax(c, max: true);

    static void ZPopMinMax(Client c, bool max)
    {
        if (c.Args.Count > 3)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        long count = -1;
        if (c.Args.Count == 3 && !Arguments.TryGetLongInRange(c, 2, 0, long.MaxValue, out count, "value is out of range, must be positive")) return;
        GenericZpop(c, [c.Args.ToArray(1)], max, emitKey: false, count, nested: c.Reply.Resp3 && count != -1, nilWhenEmpty: false);
    }

    /// <summary>genericZpopCommand: pops from the first existing key; the reply shape depends on the caller.</summary>
    static void GenericZpop(Client c, byte[][] keys, bool max, bool emitKey, long count, bool nested, bool nilWhenEmpty)
    {
        RedisObject? o = null;
        byte[]? key = null;
        foreach (var k in keys)
        {
            o = c.Db.LookupWrite(k);
            if (o == null) continue;
            if (KeyLookup.CheckType(c, o, ObjType.ZSet)) return;
            key = k;
            break;
        }
        if (o == null)
        {
            if (nilWhenEmpty) c.Reply.NullArray();
            else c.Reply.EmptyArray();
            return;
        }
        if (count == 0)
        {
            c.Reply.EmptyArray();
            return;
        }
        if (count == -1) count = 1;
        long n = PopAndReply(c, c.Db, key!, o, max, emitKey, count, nested);
        if (emitKey) PropagateAsZpop(c, key!, max, n); // ZMPOP
    }

    /// <summary>ZMPOP and the blocking pops propagate as ZPOPMIN/ZPOPMAX (with the count actually popped when they take one).</summary>
    static void PropagateAsZpop(Client c, ReadOnlySpan<byte> key, bool max, long count)
    {
        var cmd = max ? "ZPOPMAX"u8 : "ZPOPMIN"u8;
        if (count < 0) c.Server.Propagation.ReplaceArgv(2).Add(cmd).Add(key);
        else c.Server.Propagation.ReplaceArgv(3).Add(cmd).Add(key).Add(count);
    }

    /// <summary>Pops up to count elements into the reply; returns how many were popped.</summary>
    static long PopAndReply(Client c, Database db, byte[] key, RedisObject o, bool max, bool emitKey, long count, bool nested)
    {
        var z = Zs(o);
        long n = Math.Min(count, z.Length);
        if (!nested && !emitKey) c.Reply.ArrayLen(n * 2);
        else if (nested && !emitKey) c.Reply.ArrayLen(n);
        else if (!nested && emitKey)
        {
            c.Reply.ArrayLen(n * 2 + 1);
            c.Reply.Bulk(key);
        }
        else
        {
            c.Reply.ArrayLen(2);
            c.Reply.Bulk(key);
            c.Reply.ArrayLen(n);
        }
        var w = db.BeginWrite(key, o);
        for (long i = 0; i < n; i++)
        {
            var (e, s) = z.ElementAt(max ? z.Length - 1 : 0);
            z.Delete(e);
            if (nested) c.Reply.ArrayLen(2);
            c.Reply.Bulk(e);
            c.Reply.Double(s);
        }
        w.End(NotifyClass.ZSet, max ? "zpopmax" : "zpopmin", n, Emptied(o));
        return n;
    }

    static bool TryGetMinMax(Client c, int i, out bool max)
    {
        max = c.Args.Is(i, "max");
        if (max || c.Args.Is(i, "min")) return true;
        c.Reply.Error(Errors.Syntax);
        return false;
    }

    [Command("zmpop")] static void ZMPop(Client c) => ZMPopGeneric(c, 1, block: false);
    [Command("bzmpop")] static void BZMPop(Client c) => ZMPopGeneric(c, 2, block: true);

    /// <summary>zmpopGenericCommand: numkeys, keys, MIN|MAX, [COUNT n].</summary>
    static void ZMPopGeneric(Client c, int numKeysIdx, bool block)
    {
        long deadline = 0;
        if (block && !ListCommands.TryGetTimeout(c, 1, out deadline)) return;
        if (!Arguments.TryGetLongInRange(c, numKeysIdx, 1, long.MaxValue, out long numKeys, "numkeys should be greater than 0")) return;
        long whereIdx = numKeys >= c.Args.Count ? c.Args.Count : numKeysIdx + numKeys + 1;
        if (whereIdx >= c.Args.Count)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (!TryGetMinMax(c, (int)whereIdx, out bool max)) return;
        long count = -1;
        for (int j = (int)whereIdx + 1; j < c.Args.Count; j++)
        {
            if (c.Args.Is(j, "count") && j + 1 < c.Args.Count && count == -1)
            {
                if (!Arguments.TryGetLongInRange(c, j + 1, 1, long.MaxValue, out count, "count should be greater than 0")) return;
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (count == -1) count = 1;
        var keys = new byte[numKeys][];
        for (int i = 0; i < numKeys; i++) keys[i] = c.Args.ToArray(numKeysIdx + 1 + i);
        if (block) BlockingZpop(c, keys, max, deadline, count, nested: true, nilWhenEmpty: true);
        else GenericZpop(c, keys, max, emitKey: true, count, nested: true, nilWhenEmpty: true);
    }

    [Command("bzpopmin")] static void BZPopMin(Client c) => BZPopMinMax(c, max: false);
    [Command("bzpopmax")] static void BZPopMax(Client c) => BZPopMinMax(c, max: true);

    static void BZPopMinMax(Client c, bool max)
    {
        if (!ListCommands.TryGetTimeout(c, c.Args.Count - 1, out long deadline)) return;
        var keys = new byte[c.Args.Count - 2][];
        for (int i = 0; i < keys.Length; i++) keys[i] = c.Args.ToArray(i + 1);
        BlockingZpop(c, keys, max, deadline, -1, nested: false, nilWhenEmpty: false);
    }

    /// <summary>blockingGenericZpopCommand: pop now from the first non-empty key, else block.</summary>
    static void BlockingZpop(Client c, byte[][] keys, bool max, long deadline, long count, bool nested, bool nilWhenEmpty)
    {
        foreach (var key in keys)
        {
            var o = c.Db.LookupWrite(key);
            if (o == null) continue;
            if (KeyLookup.CheckType(c, o, ObjType.ZSet)) return;
            if (Zs(o).Length == 0) continue;
            long n = PopAndReply(c, c.Db, key, o, max, emitKey: true, count == -1 ? 1 : count, nested);
            PropagateAsZpop(c, key, max, count == -1 ? -1 : n);
            return;
        }
        if (BlockingKeys.DenyBlocking(c))
        {
            c.Reply.NullArray();
            return;
        }
        BlockingKeys.BlockForKeys(c, BlockType.ZSet, keys, deadline, (rc, db, key) =>
        {
            var o = db.LookupWrite(key);
            if (o == null || o.Type != ObjType.ZSet || Zs(o).Length == 0) return false;
            long n = PopAndReply(rc, db, key, o, max, emitKey: true, count == -1 ? 1 : count, nested);
            PropagateAsZpop(rc, key, max, count == -1 ? -1 : n);
            return true;
        });
    }

    // ------------------------------------------------------------------ ZRANDMEMBER

    [Command("zrandmember")]
    static void ZRandMember(Client c)
    {
        if (c.Args.Count >= 3)
        {
            if (!SetCommands.TryGetRandomCount(c, 2, out long count)) return;
            bool withScores = false;
            if (c.Args.Count > 4 || (c.Args.Count == 4 && !c.Args.Is(3, "withscores")))
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
            if (c.Args.Count == 4)
            {
                withScores = true;
                if (count < -long.MaxValue / 2 || count > long.MaxValue / 2) // the reply's length doubles
                {
                    c.Reply.Error("value is out of range");
                    return;
                }
            }
            RandMemberWithCount(c, count, withScores);
            return;
        }
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.ZSet, MissingKeyReply.Null, out var o)) return;
        var z = Zs(o);
        c.Reply.Bulk(z.ElementAt(Random.Shared.NextInt64(z.Length)).Ele);
    }

    /// <summary>
    /// zrandmemberWithCountCommand: negative counts may repeat, positive ones return distinct
    /// members. As in Redis, only the "most of the set" case copies the set; a negative count and
    /// a small positive count pick ranks (O(log n) each on a skiplist) and reply as they go.
    /// </summary>
    static void RandMemberWithCount(Client c, long count, bool withScores)
    {
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.ZSet, MissingKeyReply.EmptyArray, out var o)) return;
        var z = Zs(o);
        long size = z.Length;
        // CASE 1: a negative count, repetitions allowed.
        if (count < 0)
        {
            long n = -count;
            ReplyElementsLen(c, n, withScores);
            // A listpack is small but seeking in it is linear: decode it once (lpRandomPairs walks it too).
            var small = z.IsListpack ? z.All().ToArray() : null;
            for (long i = 0; i < n; i++)
            {
                long r = Random.Shared.NextInt64(size);
                ReplyElement(c, small != null ? small[r] : z.ElementAt(r), withScores);
            }
            return;
        }
        // CASE 2: the whole set.
        if (count >= size)
        {
            ReplyElementsLen(c, size, withScores);
            foreach (var e in z.All()) ReplyElement(c, e, withScores);
            return;
        }
        // CASE 3 (and a listpack, Redis's CASE 2.5): most of the set, so copy it and keep a random part.
        if (z.IsListpack || count * 3 > size)
        {
            var all = z.All().ToArray();
            for (int i = 0; i < count; i++)
            {
                int j = Random.Shared.Next(i, all.Length);
                (all[i], all[j]) = (all[j], all[i]);
            }
            ReplyElementsLen(c, count, withScores);
            for (int i = 0; i < count; i++) ReplyElement(c, all[i], withScores);
            return;
        }
        // CASE 4: few members of a large set: draw distinct ranks.
        var ranks = new HashSet<long>((int)count);
        ReplyElementsLen(c, count, withScores);
        while (ranks.Count < count)
        {
            long r = Random.Shared.NextInt64(size);
            if (ranks.Add(r)) ReplyElement(c, z.ElementAt(r), withScores);
        }
    }

    static void ReplyElementsLen(Client c, long n, bool withScores) =>
        c.Reply.ArrayLen(withScores && !c.Reply.Resp3 ? n * 2 : n);

    static void ReplyElement(Client c, (byte[] Ele, double Score) e, bool withScores)
    {
        if (withScores && c.Reply.Resp3) c.Reply.ArrayLen(2);
        c.Reply.Bulk(e.Ele);
        if (withScores) c.Reply.Double(e.Score);
    }

    // ------------------------------------------------------------------ set algebra

    enum SetOp { Union, Inter, Diff }
    enum Aggregate { Sum, Min, Max }

    [Command("zunion")] static void ZUnion(Client c) => ZSetOpGeneric(c, null, 1, SetOp.Union);
    [Command("zinter")] static void ZInter(Client c) => ZSetOpGeneric(c, null, 1, SetOp.Inter);
    [Command("zdiff")] static void ZDiff(Client c) => ZSetOpGeneric(c, null, 1, SetOp.Diff);
    [Command("zunionstore")] static void ZUnionStore(Client c) => ZSetOpGeneric(c, c.Args.ToArray(1), 2, SetOp.Union);
    [Command("zinterstore")] static void ZInterStore(Client c) => ZSetOpGeneric(c, c.Args.ToArray(1), 2, SetOp.Inter);
    [Command("zdiffstore")] static void ZDiffStore(Client c) => ZSetOpGeneric(c, c.Args.ToArray(1), 2, SetOp.Diff);

    /// <summary>An input of the set algebra (zsetopsrc): a zset, a plain set (every score 1.0), or nothing.</summary>
    sealed record Source(ZSet? Z, RedisObject? Set, double Weight)
    {
        public bool Exists => Z != null || Set != null;
        public long Length => Z?.Length ?? (Set != null ? SetType.Size(Set) : 0);

        public IEnumerable<(byte[] Ele, double Score)> All() =>
            Z != null ? Z.Value.All() : Set != null ? SetType.Members(Set).Select(m => (m, 1.0)) : [];

        public bool TryGetScore(ReadOnlySpan<byte> ele, out double score)
        {
            score = 1.0;
            if (Z != null) return Z.Value.TryGetScore(ele, out score);
            return Set != null && SetType.IsMember(Set, ele);
        }
    }

    /// <summary>The *STORE variants read their sources with lookupKeyRead too, as 7.0 does (stats, "keymiss").</summary>
    static Source? LookupSource(Client c, int i, double weight)
    {
        var o = c.Db.LookupRead(c.Args[i]);
        if (o != null && o.Type is not (ObjType.ZSet or ObjType.Set))
        {
            c.Reply.Error(Errors.WrongType);
            return null;
        }
        return new Source(o?.Type == ObjType.ZSet ? Zs(o) : null, o?.Type == ObjType.Set ? o : null, weight);
    }

    /// <summary>zunionInterDiffGenericCommand.</summary>
    static void ZSetOpGeneric(Client c, byte[]? dst, int numKeysIdx, SetOp op)
    {
        if (!Arguments.TryGetLong(c, numKeysIdx, out long setNum)) return;
        if (setNum < 1)
        {
            c.Reply.Error($"at least 1 input key is needed for '{c.Cmd!.FullName}' command");
            return;
        }
        if (setNum > c.Args.Count - (numKeysIdx + 1))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var src = new Source[setNum];
        var weights = new double[setNum];
        int j = numKeysIdx + 1;
        for (int i = 0; i < setNum; i++, j++)
        {
            var found = LookupSource(c, j, 1);
            if (found == null) return;
            src[i] = found;
            weights[i] = 1;
        }
        var aggregate = Aggregate.Sum;
        bool withScores = false;
        while (j < c.Args.Count)
        {
            int remaining = c.Args.Count - j;
            if (op != SetOp.Diff && remaining >= setNum + 1 && c.Args.Is(j, "weights"))
            {
                j++;
                for (int i = 0; i < setNum; i++, j++)
                    if (!Arguments.TryGetDouble(c, j, out weights[i], "weight value is not a float")) return;
            }
            else if (op != SetOp.Diff && remaining >= 2 && c.Args.Is(j, "aggregate"))
            {
                j++;
                if (c.Args.Is(j, "sum")) aggregate = Aggregate.Sum;
                else if (c.Args.Is(j, "min")) aggregate = Aggregate.Min;
                else if (c.Args.Is(j, "max")) aggregate = Aggregate.Max;
                else
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                j++;
            }
            else if (dst == null && c.Args.Is(j, "withscores"))
            {
                j++;
                withScores = true;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        for (int i = 0; i < setNum; i++) src[i] = src[i] with { Weight = weights[i] };

        var result = Compute(src, op, aggregate, long.MaxValue, out _);
        if (dst == null)
        {
            var items = new List<(byte[], double)>();
            for (var n = result.Zsl!.First; n != null; n = n.Forward[0]) items.Add((n.Ele, n.Score));
            ReplyElements(c, items, withScores);
            return;
        }
        if (result.Length > 0)
        {
            long maxEleLen = 0;
            for (var n = result.Zsl!.First; n != null; n = n.Forward[0]) maxEleLen = Math.Max(maxEleLen, n.Ele.Length);
            result.ConvertToListpackIfNeeded(maxEleLen, c.Server.Config.ZsetMaxListpackEntries, c.Server.Config.ZsetMaxListpackValue);
            var w = c.Db.BeginWrite(dst);
            w.Set(Wrap(result));
            c.Reply.Integer(result.Length);
            w.End(NotifyClass.ZSet, op switch { SetOp.Union => "zunionstore", SetOp.Inter => "zinterstore", _ => "zdiffstore" });
            BlockingKeys.SignalKeyAsReady(c, dst);
            return;
        }
        c.Reply.Integer(0);
        var wd = c.Db.BeginWrite(dst);
        if (wd.Delete()) wd.End(NotifyClass.Generic, "del");
    }

    /// <summary>zunionInterAggregate: +inf + -inf is taken as 0, as Redis does.</summary>
    static double AggregateScores(double target, double val, Aggregate a)
    {
        switch (a)
        {
            case Aggregate.Sum:
                target += val;
                return double.IsNaN(target) ? 0 : target;
            case Aggregate.Min:
                return val < target ? val : target;
            default:
                return val > target ? val : target;
        }
    }

    static double Weighted(double weight, double score)
    {
        double v = weight * score;
        return double.IsNaN(v) ? 0 : v;
    }

    /// <summary>The result set (a skiplist zset, as Redis builds it); for INTER stops counting at limit (ZINTERCARD).</summary>
    static ZSet Compute(Source[] src, SetOp op, Aggregate aggregate, long limit, out long cardinality)
    {
        var dst = ZSet.CreateSkipList();
        cardinality = 0;
        if (op == SetOp.Inter)
        {
            // Walk the smallest input and probe the others (zuiCompareByCardinality).
            var order = src.OrderBy(s => s.Length).ToArray();
            if (!order[0].Exists || order[0].Length == 0) return dst;
            foreach (var (e, s) in order[0].All())
            {
                double score = Weighted(order[0].Weight, s);
                bool all = true;
                for (int i = 1; i < order.Length; i++)
                {
                    if (!order[i].TryGetScore(e, out double other))
                    {
                        all = false;
                        break;
                    }
                    score = AggregateScores(score, Weighted(order[i].Weight, other), aggregate);
                }
                if (!all) continue;
                cardinality++;
                if (limit != long.MaxValue)
                {
                    if (cardinality >= limit) break;
                    continue;
                }
                dst.Zsl!.Insert(score, e);
                dst.Dict!.Add(e, score);
            }
            return dst;
        }
        if (op == SetOp.Union)
        {
            var acc = new Dict<double>();
            var order = new List<byte[]>();
            foreach (var s in src.OrderBy(s => s.Length))
            {
                foreach (var (e, sc) in s.All())
                {
                    double v = Weighted(s.Weight, sc);
                    var de = acc.Find(e);
                    if (de == null)
                    {
                        acc.Add(e, v);
                        order.Add(e);
                    }
                    else de.Value = AggregateScores(de.Value, v, aggregate);
                }
            }
            foreach (var e in order)
            {
                acc.TryGetValue(e, out double v);
                dst.Zsl!.Insert(v, e);
                dst.Dict!.Add(e, v);
            }
            return dst;
        }
        foreach (var (e, s) in src[0].All())
        {
            bool found = false;
            for (int i = 1; i < src.Length && !found; i++)
                found = src[i].TryGetScore(e, out _);
            if (found) continue;
            dst.Zsl!.Insert(s, e);
            dst.Dict!.Add(e, s);
        }
        return dst;
    }

    [Command("zintercard")]
    static void ZInterCard(Client c)
    {
        if (!Arguments.TryGetLong(c, 1, out long numKeys)) return;
        if (numKeys < 1)
        {
            c.Reply.Error("at least 1 input key is needed for 'zintercard' command");
            return;
        }
        if (numKeys > c.Args.Count - 2)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        long limit = 0;
        for (int j = 2 + (int)numKeys; j < c.Args.Count; j++)
        {
            if (c.Args.Is(j, "limit") && j + 1 < c.Args.Count)
            {
                if (!Arguments.TryGetLongInRange(c, j + 1, 0, long.MaxValue, out limit, "LIMIT can't be negative")) return;
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var src = new Source[numKeys];
        for (int i = 0; i < numKeys; i++)
        {
            var found = LookupSource(c, 2 + i, 1);
            if (found == null) return;
            src[i] = found;
        }
        Compute(src, SetOp.Inter, Aggregate.Sum, limit == 0 ? long.MaxValue - 1 : limit, out long card);
        c.Reply.Integer(card);
    }

    // ------------------------------------------------------------------ ZSCAN

    [Command("zscan")]
    static void ZScan(Client c)
    {
        if (!KeyspaceCommands.TryParseScanCursor(c, 2, out ulong cursor)) return;
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            ContainerScan.ReplyEmpty(c);
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.ZSet) || !ContainerScan.TryParseOptions(c, 3, out long count, out var pattern)) return;
        var z = Zs(o);
        var items = new List<byte[]>();
        if (z.IsListpack)
        {
            // A listpack is returned whole in one call, its scores as the listpack stores them.
            var lp = z.Lp;
            for (int p = lp.First(); p >= 0; p = lp.Next(p)) items.Add(lp.GetBytes(p));
            cursor = 0;
        }
        else
        {
            long maxIterations = count * 10;
            do
            {
                cursor = z.Dict!.Scan(cursor, e =>
                {
                    items.Add(e.Key);
                    items.Add(System.Text.Encoding.ASCII.GetBytes(ReplyWriter.FormatDouble(e.Value)));
                });
            } while (cursor != 0 && maxIterations-- > 0 && items.Count / 2 < count);
        }
        ContainerScan.Reply(c, cursor, items, 2, pattern);
    }
}
