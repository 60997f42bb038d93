// Stream commands without consumer groups (Redis 7.0's t_stream.c): XADD, XRANGE/XREVRANGE,
// XLEN, XDEL, XTRIM, XSETID, and the helpers every X command shares: ID parsing with Redis's
// errors, the XADD/XTRIM trimming options, and the entry replies. XADD and XTRIM propagate
// what they did, not what was asked: a generated ID in place of "*" or "ms-*", and an
// approximate trim as the exact one it turned out to be (MAXLEN = <length> / MINID = <first id>).
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class StreamCommands
{
    public const string InvalidId = "Invalid stream ID specified as stream command argument";

    internal static RedisStream S(RedisObject o) => (RedisStream)o.Ptr!;

    /// <summary>streamParseIDOrReply (strict: streamParseStrictIDOrReply, refusing "-" and "+").</summary>
    internal static bool TryParseId(Client c, int i, out StreamId id, ulong missingSeq = 0, bool strict = false)
    {
        if (StreamId.TryParse(c.Args[i], out id, missingSeq, strict)) return true;
        c.Reply.Error(InvalidId);
        return false;
    }

    /// <summary>Strict IDs from args[first] on into ids (XDEL, XACK parse them all before acting); false after the error reply.</summary>
    internal static bool TryParseIds(Client c, int first, Span<StreamId> ids)
    {
        for (int j = 0; j < ids.Length; j++)
            if (!TryParseId(c, first + j, out ids[j], strict: true)) return false;
        return true;
    }

    /// <summary>addReplyStreamID.</summary>
    internal static void ReplyId(Client c, StreamId id)
    {
        Span<byte> tmp = stackalloc byte[StreamId.MaxFormattedLength];
        c.Reply.Bulk(tmp[..id.Format(tmp)]);
    }

    /// <summary>streamTypeLookupWriteOrCreate: the stream at key, created unless noCreate (null reply then); false after replying.</summary>
    static bool LookupWriteOrCreate(Client c, ReadOnlySpan<byte> key, bool noCreate, out WriteScope w, out RedisObject? o)
    {
        w = default;
        o = c.Db.LookupWrite(key);
        if (KeyLookup.CheckType(c, o, ObjType.Stream)) return false;
        if (o == null && noCreate)
        {
            c.Reply.Null();
            return false;
        }
        w = c.Db.BeginWrite(key, o);
        if (o == null)
        {
            o = RedisStream.CreateObject();
            w.Add(o);
        }
        return true;
    }

    // ------------------------------------------------------------------ XADD / XTRIM options

    /// <summary>
    /// streamParseAddOrTrimArgsOrReply: MAXLEN/MINID [=|~] threshold, LIMIT, and for XADD
    /// NOMKSTREAM and the ID. Returns the ID's position (XADD) or the end of the options, -1 after an error reply.
    /// </summary>
    static int ParseAddOrTrimArgs(Client c, bool xadd, out StreamTrimArgs trim, out StreamId id, out bool idGiven, out bool seqGiven, out bool noMkStream)
    {
        trim = default;
        id = default;
        idGiven = false;
        seqGiven = true;
        noMkStream = false;
        bool limitGiven = false;
        var args = c.Args;
        int i = 2;
        for (; i < args.Count; i++)
        {
            int moreArgs = args.Count - 1 - i;
            var opt = args[i];
            if (xadd && opt.Length == 1 && opt[0] == '*') break; // the common case: an auto ID
            if ((args.Is(i, "maxlen") || args.Is(i, "minid")) && moreArgs > 0)
            {
                bool maxLen = args.Is(i, "maxlen");
                if (trim.Strategy != StreamTrimStrategy.None)
                {
                    c.Reply.Error("syntax error, MAXLEN and MINID options at the same time are not compatible");
                    return -1;
                }
                trim.Approx = false;
                var next = args[i + 1];
                if (moreArgs >= 2 && next.Length == 1 && (next[0] == '~' || next[0] == '='))
                {
                    trim.Approx = next[0] == '~';
                    i++;
                }
                if (maxLen)
                {
                    if (!Arguments.TryGetLong(c, i + 1, out trim.MaxLen)) return -1;
                    if (trim.MaxLen < 0)
                    {
                        c.Reply.Error("The MAXLEN argument must be >= 0.");
                        return -1;
                    }
                    trim.Strategy = StreamTrimStrategy.MaxLen;
                }
                else
                {
                    if (!TryParseId(c, i + 1, out trim.MinId, strict: true)) return -1;
                    trim.Strategy = StreamTrimStrategy.MinId;
                }
                i++;
                trim.StrategyArgIndex = i;
            }
            else if (args.Is(i, "limit") && moreArgs > 0)
            {
                // Without LIMIT, an approximate trim does at most 100 nodes' worth of work.
                if (!Arguments.TryGetLong(c, i + 1, out trim.Limit)) return -1;
                if (trim.Limit < 0)
                {
                    c.Reply.Error("The LIMIT argument must be >= 0.");
                    return -1;
                }
                limitGiven = true;
                i++;
            }
            else if (xadd && args.Is(i, "nomkstream")) noMkStream = true;
            else if (xadd)
            {
                // Anything else is the ID (or an invalid one).
                if (!StreamId.TryParse(args[i], out id, out seqGiven, strict: true, allowAutoSeq: true))
                {
                    c.Reply.Error(InvalidId);
                    return -1;
                }
                idGiven = true;
                break;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return -1;
            }
        }

        if (trim.Limit != 0 && trim.Strategy == StreamTrimStrategy.None)
        {
            c.Reply.Error("syntax error, LIMIT cannot be used without specifying a trimming strategy");
            return -1;
        }
        if (!xadd && trim.Strategy == StreamTrimStrategy.None)
        {
            c.Reply.Error("syntax error, XTRIM must be called with a trimming strategy");
            return -1;
        }
        if (c.MustObey)
        {
            // The primary or the AOF: the argument was rewritten to what the trim did, so no limit applies.
            trim.Limit = 0;
        }
        else if (limitGiven)
        {
            if (!trim.Approx)
            {
                c.Reply.Error("syntax error, LIMIT cannot be used without the special ~ option");
                return -1;
            }
        }
        else if (trim.Approx)
        {
            trim.Limit = 100 * c.Server.Config.StreamNodeMaxEntries;
            if (trim.Limit <= 0 || trim.Limit > 1000000) trim.Limit = 1000000;
        }
        else trim.Limit = 0;
        return i;
    }

    /// <summary>
    /// The argv XADD/XTRIM propagate: the ID at idPos as added (XADD), and after an approximate
    /// trim "=" for "~" and the threshold it reached (streamRewriteApproxSpecifier, streamRewriteTrimArgument).
    /// </summary>
    static void PropagateRewritten(Client c, RedisStream s, in StreamTrimArgs trim, bool rewriteTrim, int idPos, StreamId id)
    {
        var args = c.Args;
        var argv = c.Server.Propagation.ReplaceArgv(args.Count);
        Span<byte> tmp = stackalloc byte[StreamId.MaxFormattedLength];
        for (int j = 0; j < args.Count; j++)
        {
            if (j == idPos) argv.Add(tmp[..id.Format(tmp)]);
            else if (rewriteTrim && j == trim.StrategyArgIndex - 1) argv.Add("="u8);
            else if (rewriteTrim && j == trim.StrategyArgIndex)
            {
                if (trim.Strategy == StreamTrimStrategy.MaxLen) argv.Add(s.Length);
                else argv.Add(tmp[..s.GetEdgeId(first: true, skipTombstones: false).Format(tmp)]);
            }
            else argv.Add(args[j]);
        }
    }

    // ------------------------------------------------------------------ XADD

    [Command("xadd")]
    static void XAdd(Client c)
    {
        int idPos = ParseAddOrTrimArgs(c, xadd: true, out var trim, out var id, out bool idGiven, out bool seqGiven, out bool noMkStream);
        if (idPos < 0) return;
        int fieldPos = idPos + 1;
        int pairs = c.Args.Count - fieldPos;
        if (pairs < 2 || pairs % 2 == 1)
        {
            c.Reply.Error($"wrong number of arguments for '{c.Cmd!.FullName}' command");
            return;
        }
        // 0-0 is refused before the key is looked up, so no empty stream is left behind.
        if (idGiven && seqGiven && id.IsZero)
        {
            c.Reply.Error("The ID specified in XADD must be greater than 0-0");
            return;
        }
        var key = c.Args[1];
        if (!LookupWriteOrCreate(c, key, noMkStream, out var w, out var o)) return;
        var s = S(o!);
        if (s.LastId == StreamId.Max)
        {
            w.EndUnchanged();
            c.Reply.Error("The stream has exhausted the last possible ID, unable to add more items");
            return;
        }
        var cfg = c.Server.Config;
        var result = s.Append(c.Args, fieldPos, pairs / 2, ref id, idGiven, seqGiven, cfg.StreamNodeMaxBytes, cfg.StreamNodeMaxEntries, c.Server.NowMs);
        if (result != StreamAppendResult.Ok)
        {
            w.EndUnchanged();
            c.Reply.Error(result == StreamAppendResult.IdTooSmall
                ? "The ID specified in XADD is equal or smaller than the target stream top item"
                : "Elements are too large to be stored");
            return;
        }
        ReplyId(c, id);
        // One scope for the append and the trim: the signal, "xadd" and then "xtrim", as Redis orders them.
        bool trimmed = trim.Strategy != StreamTrimStrategy.None && s.Trim(trim) > 0;
        w.End(NotifyClass.Stream, "xadd");
        if (trimmed) w.Notify(NotifyClass.Stream, "xtrim");
        if (trim.Approx || !idGiven || !seqGiven) PropagateRewritten(c, s, trim, trim.Approx, !idGiven || !seqGiven ? idPos : -1, id);
        BlockingKeys.SignalKeyAsReady(c, key);
    }

    // ------------------------------------------------------------------ XTRIM

    [Command("xtrim")]
    static void XTrim(Client c)
    {
        if (ParseAddOrTrimArgs(c, xadd: false, out var trim, out _, out _, out _, out _) < 0) return;
        var key = c.Args[1];
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.Stream, MissingKeyReply.Zero, out var o)) return;
        var s = S(o);
        var w = c.Db.BeginWrite(key, o);
        long deleted = s.Trim(trim);
        if (deleted > 0)
        {
            if (trim.Approx) PropagateRewritten(c, s, trim, rewriteTrim: true, idPos: -1, default);
            w.End(NotifyClass.Stream, "xtrim", deleted);
        }
        else w.EndUnchanged();
        c.Reply.Integer(deleted);
    }

    // ------------------------------------------------------------------ XLEN / XDEL / XSETID

    [Command("xlen")]
    static void XLen(Client c)
    {
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.Stream, MissingKeyReply.Zero, out var o)) return;
        c.Reply.Integer(S(o).Length);
    }

    [Command("xdel")]
    static void XDel(Client c)
    {
        var key = c.Args[1];
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.Stream, MissingKeyReply.Zero, out var o)) return;
        var s = S(o);
        // Every ID is checked before any is deleted: the command never half-runs.
        int n = c.Args.Count - 2;
        Span<StreamId> ids = n <= 8 ? stackalloc StreamId[n] : new StreamId[n];
        if (!TryParseIds(c, 2, ids)) return;

        var w = c.Db.BeginWrite(key, o);
        long deleted = 0;
        bool firstEntry = false;
        foreach (var id in ids)
        {
            if (!s.DeleteItem(id)) continue;
            if (id == s.FirstId) firstEntry = true;
            if (id > s.MaxDeletedEntryId) s.MaxDeletedEntryId = id;
            deleted++;
        }
        if (deleted > 0)
        {
            if (s.Length == 0) s.FirstId = StreamId.Min;
            else if (firstEntry) s.FirstId = s.GetEdgeId(first: true, skipTombstones: true);
            w.End(NotifyClass.Stream, "xdel", deleted);
        }
        else w.EndUnchanged();
        c.Reply.Integer(deleted);
    }

    [Command("xsetid")]
    static void XSetId(Client c)
    {
        if (!TryParseId(c, 2, out var id, strict: true)) return;
        long entriesAdded = -1;
        var maxXdelId = StreamId.Min;
        var args = c.Args;
        for (int i = 3; i < args.Count; i += 2)
        {
            bool more = args.Count - 1 - i > 0;
            if (args.Is(i, "entriesadded") && more)
            {
                if (!Arguments.TryGetLong(c, i + 1, out entriesAdded)) return;
                if (entriesAdded < 0)
                {
                    c.Reply.Error("entries_added must be positive");
                    return;
                }
            }
            else if (args.Is(i, "maxdeletedid") && more)
            {
                if (!TryParseId(c, i + 1, out maxXdelId, strict: true)) return;
                if (id < maxXdelId)
                {
                    c.Reply.Error("The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                    return;
                }
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var key = args[1];
        var o = c.Db.LookupWrite(key);
        if (o == null)
        {
            c.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.Stream)) return;
        var s = S(o);
        // Redis 7.0 checks the new ID against the top item only (not against the current max deleted ID).
        if (s.Length > 0)
        {
            if (id < s.LastValidId())
            {
                c.Reply.Error("The ID specified in XSETID is smaller than the target stream top item");
                return;
            }
            if (entriesAdded != -1 && s.Length > entriesAdded)
            {
                c.Reply.Error("The entries_added specified in XSETID is smaller than the target stream length");
                return;
            }
        }
        var w = c.Db.BeginWrite(key, o);
        s.LastId = id;
        if (entriesAdded != -1) s.EntriesAdded = entriesAdded;
        if (!maxXdelId.IsZero) s.MaxDeletedEntryId = maxXdelId;
        c.Reply.Ok();
        w.End(NotifyClass.Stream, "xsetid");
    }

    // ------------------------------------------------------------------ XRANGE / XREVRANGE

    [Command("xrange")] static void XRange(Client c) => RangeGeneric(c, rev: false);
    [Command("xrevrange")] static void XRevRange(Client c) => RangeGeneric(c, rev: true);

    /// <summary>streamParseIntervalIDOrReply: an ID, or "(" and an ID for an exclusive bound.</summary>
    internal static bool TryParseIntervalId(Client c, int i, out StreamId id, out bool exclusive, ulong missingSeq)
    {
        var a = c.Args[i];
        exclusive = a.Length > 1 && a[0] == '(';
        bool ok = exclusive ? StreamId.TryParse(a[1..], out id, missingSeq, strict: true) : StreamId.TryParse(a, out id, missingSeq);
        if (!ok) c.Reply.Error(InvalidId);
        return ok;
    }

    static void RangeGeneric(Client c, bool rev)
    {
        int startArg = rev ? 3 : 2, endArg = rev ? 2 : 3;
        if (!TryParseIntervalId(c, startArg, out var start, out bool startEx, 0)) return;
        if (startEx && !start.TryIncrement(out start))
        {
            c.Reply.Error("invalid start ID for the interval");
            return;
        }
        if (!TryParseIntervalId(c, endArg, out var end, out bool endEx, ulong.MaxValue)) return;
        if (endEx && !end.TryDecrement(out end))
        {
            c.Reply.Error("invalid end ID for the interval");
            return;
        }
        long count = -1;
        for (int j = 4; j < c.Args.Count; j++)
        {
            if (c.Args.Is(j, "count") && j + 1 < c.Args.Count)
            {
                if (!Arguments.TryGetLong(c, j + 1, out count)) return;
                if (count < 0) count = 0;
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.Stream, MissingKeyReply.EmptyArray, out var o)) return;
        if (count == 0)
        {
            c.Reply.NullArray();
            return;
        }
        ReplyWithRange(c, S(o), start, end, count == -1 ? 0 : count, rev);
    }

    /// <summary>streamReplyWithRange without a group: the entries in [start, end], at most count (0 = all).</summary>
    internal static long ReplyWithRange(Client c, RedisStream s, StreamId start, StreamId end, long count, bool rev)
    {
        using var it = StreamIterator.Start(s, start, end, rev);
        long n = 0;
        while ((count == 0 || n < count) && it.GetId(out _, out _)) n++;
        c.Reply.ArrayLen(n);
        it.Restart();
        for (long i = 0; i < n && it.GetId(out var id, out long numFields); i++) ReplyEntry(c, it, id, numFields);
        return n;
    }

    /// <summary>One entry as Redis replies it: [id, [field, value, ...]].</summary>
    internal static void ReplyEntry(Client c, StreamIterator it, StreamId id, long numFields)
    {
        c.Reply.ArrayLen(2);
        ReplyId(c, id);
        c.Reply.ArrayLen(numFields * 2);
        for (long f = 0; f < numFields; f++)
        {
            it.GetField(out var field, out var value);
            c.Reply.Bulk(field);
            c.Reply.Bulk(value);
        }
    }

    /// <summary>streamReplyWithRange(id, id, RAWENTRIES): the entry with this ID if it exists (false, nothing written, if not).</summary>
    internal static bool ReplyEntryIfExists(Client c, RedisStream s, StreamId id)
    {
        using var it = StreamIterator.Start(s, id, id, rev: false);
        if (!it.GetId(out var found, out long numFields)) return false;
        ReplyEntry(c, it, found, numFields);
        return true;
    }
}
