// Consumer-group commands (Redis 7.0's t_stream.c): XGROUP CREATE/SETID/DESTROY/CREATECONSUMER/
// DELCONSUMER/HELP, XACK, XPENDING, XCLAIM and XAUTOCLAIM. Group changes are not key
// modifications for WATCH (Redis calls no signalModifiedKey for them, except when MKSTREAM adds
// the key); they count as dirty and fire xgroup-* events. XCLAIM and XAUTOCLAIM never propagate
// as themselves: each pending entry they claim, or drop because its stream entry was deleted,
// goes out as the idempotent XCLAIM ... FORCE JUSTID LASTID that XREADGROUP emits too.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;
using static Cinnabar.Commands.StreamCommands;
using static Cinnabar.Commands.StreamReadCommands;

namespace Cinnabar.Commands;

public static class StreamGroupCommands
{
    /// <summary>XAUTOCLAIM's COUNT is at most LONG_MAX / max(sizeof(streamID), attempts factor).</summary>
    const long AutoClaimMaxCount = long.MaxValue / 16;

    /// <summary>XAUTOCLAIM examines at most COUNT * 10 PEL entries.</summary>
    const long AutoClaimAttemptsFactor = 10;

    /// <summary>
    /// XAUTOCLAIM allocates COUNT stream IDs (16 bytes each) up front with ztrymalloc, which fails
    /// past what the process can map; on the reference machine (Linux x86-64, jemalloc) that is 80 TiB.
    /// </summary>
    const long AutoClaimMaxTransientBytes = 80L << 40;

    // ------------------------------------------------------------------ shared helpers

    /// <summary>addReplySubcommandSyntaxError: the subcommand as typed (at most 128 bytes), the command upper-cased.</summary>
    internal static void SubcommandSyntaxError(Client c)
    {
        var sub = Arguments.CStr(c.Args[1]);
        if (sub.Length > 128) sub = sub[..128];
        c.Reply.ErrorWithRawBytes($"unknown subcommand or wrong number of arguments for '{sub}'. Try {Arguments.CStr(c.Args[0]).ToUpperInvariant()} HELP.");
    }

    /// <summary>
    /// The stream at args[1] and its group args[2] for XPENDING, XCLAIM and XAUTOCLAIM: false after
    /// WRONGTYPE or their -NOGROUP (a missing key and a missing group answer alike).
    /// </summary>
    static bool LookupGroupOrReply(Client c, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RedisObject? o,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StreamConsumerGroup? g)
    {
        g = null;
        o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Stream)) return false;
        g = o == null ? null : S(o).LookupGroup(c.Args[2]);
        if (o != null && g != null) return true;
        c.Reply.ErrorWithRawBytes($"-NOGROUP No such key '{Arguments.CStr(c.Args[1])}' or consumer group '{Arguments.CStr(c.Args[2])}'");
        return false;
    }

    /// <summary>The range start of XPENDING and XAUTOCLAIM: "(" moves it one ID up.</summary>
    static bool TryParseRangeStart(Client c, int i, out StreamId start)
    {
        if (!TryParseIntervalId(c, i, out start, out bool ex, 0)) return false;
        if (ex && !start.TryIncrement(out start))
        {
            c.Reply.Error("invalid start ID for the interval");
            return false;
        }
        return true;
    }

    /// <summary>streamPropagateXCLAIM with the ID as the client wrote it (XCLAIM passes its argv on).</summary>
    static void PropagateXClaimArg(Client c, ReadOnlySpan<byte> key, StreamConsumerGroup g, ReadOnlySpan<byte> groupName, ReadOnlySpan<byte> idArg, StreamNack nack)
    {
        Span<byte> b = stackalloc byte[StreamId.MaxFormattedLength];
        c.Server.Propagation.AlsoPropagate(c.Db.Id, 14).Add("XCLAIM"u8).Add(key).Add(groupName).Add(nack.Consumer.Name).Add("0"u8)
            .Add(idArg).Add("TIME"u8).Add(nack.DeliveryTime).Add("RETRYCOUNT"u8).Add(nack.DeliveryCount)
            .Add("FORCE"u8).Add("JUSTID"u8).Add("LASTID"u8).Add(b[..g.LastId.Format(b)]);
    }

    /// <summary>
    /// The consumer XCLAIM/XAUTOCLAIM hand entries to, found (its seen-time refreshed) or created
    /// (streamCreateConsumer: an xgroup-createconsumer event and a dirty) only once an entry is claimed.
    /// </summary>
    static StreamConsumer ClaimingConsumer(Client c, WriteScope w, StreamConsumerGroup g, ReadOnlySpan<byte> name, long now, ref long dirty)
    {
        var consumer = g.LookupConsumer(name);
        if (consumer != null)
        {
            consumer.SeenTime = now;
            return consumer;
        }
        consumer = g.CreateConsumer(name, now)!;
        dirty++;
        w.Notify(NotifyClass.Stream, "xgroup-createconsumer");
        return consumer;
    }

    // ------------------------------------------------------------------ XGROUP

    /// <summary>
    /// xgroupCommand's common part for the subcommands with a key: CREATE's MKSTREAM, CREATE's
    /// and SETID's ENTRIESREAD, the key (it must exist unless MKSTREAM) and, for SETID,
    /// CREATECONSUMER and DELCONSUMER, the group. False after an error reply.
    /// </summary>
    static bool XGroupPrologue(Client c, bool create, bool setid, bool groupRequired,
        out RedisObject? o, out StreamConsumerGroup? cg, out bool mkstream, out long entriesRead)
    {
        o = null;
        cg = null;
        mkstream = false;
        entriesRead = RedisStream.InvalidEntriesRead;
        var args = c.Args;
        for (int i = 5; i < args.Count;)
        {
            if (create && args.Is(i, "mkstream"))
            {
                mkstream = true;
                i++;
            }
            else if ((create || setid) && args.Is(i, "entriesread") && i + 1 < args.Count)
            {
                if (!Arguments.TryGetLong(c, i + 1, out entriesRead)) return false;
                if (entriesRead < 0 && entriesRead != RedisStream.InvalidEntriesRead)
                {
                    c.Reply.Error("value for ENTRIESREAD must be positive or -1");
                    return false;
                }
                i += 2;
            }
            else
            {
                SubcommandSyntaxError(c);
                return false;
            }
        }

        o = c.Db.LookupWrite(args[2]);
        if (KeyLookup.CheckType(c, o, ObjType.Stream)) return false;
        if (mkstream) return true;
        if (o == null)
        {
            c.Reply.Error("The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
            return false;
        }
        cg = S(o).LookupGroup(args[3]);
        if (cg == null && groupRequired)
        {
            c.Reply.ErrorWithRawBytes($"-NOGROUP No such consumer group '{Arguments.CStr(args[3])}' for key name '{Arguments.CStr(args[2])}'");
            return false;
        }
        return true;
    }

    [Command("xgroup|help")]
    static void XGroupHelp(Client c) => HelpReply.Write(c, "XGROUP",
    [
        "CREATE <key> <groupname> <id|$> [option]",
        "    Create a new consumer group. Options are:",
        "    * MKSTREAM",
        "      Create the empty stream if it does not exist.",
        "    * ENTRIESREAD entries_read",
        "      Set the group's entries_read counter (internal use).",
        "CREATECONSUMER <key> <groupname> <consumer>",
        "    Create a new consumer in the specified group.",
        "DELCONSUMER <key> <groupname> <consumer>",
        "    Remove the specified consumer.",
        "DESTROY <key> <groupname>",
        "    Remove the specified group.",
        "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
        "    Set the current group ID and entries_read counter.",
    ]);

    /// <summary>XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n]: without ENTRIESREAD the read counter is unknown.</summary>
    [Command("xgroup|create")]
    static void XGroupCreate(Client c)
    {
        if (!XGroupPrologue(c, create: true, setid: false, groupRequired: false, out var o, out _, out _, out long entriesRead)) return;
        var args = c.Args;
        if (args.Count > 8)
        {
            SubcommandSyntaxError(c);
            return;
        }
        StreamId id;
        if (args[4].SequenceEqual("$"u8)) id = o == null ? StreamId.Min : S(o).LastId;
        else if (!TryParseId(c, 4, out id, strict: true)) return;

        var key = args[2];
        var w = c.Db.BeginWrite(key, o);
        bool added = o == null;
        if (added)
        {
            // MKSTREAM, now that nothing can fail: the one XGROUP change WATCH sees.
            o = RedisStream.CreateObject();
            w.Add(o);
        }
        if (S(o!).CreateGroup(args[3], id, entriesRead) == null)
        {
            w.EndUnchanged();
            c.Reply.Error("-BUSYGROUP Consumer Group name already exists");
            return;
        }
        c.Reply.Ok();
        if (added) w.End(NotifyClass.Stream, "xgroup-create");
        else
        {
            w.Notify(NotifyClass.Stream, "xgroup-create");
            w.EndWithoutSignal(1);
        }
    }

    /// <summary>XGROUP SETID key group id|$ [ENTRIESREAD n]: "-" and "+" are accepted; the counter is unknown unless given.</summary>
    [Command("xgroup|setid")]
    static void XGroupSetId(Client c)
    {
        if (!XGroupPrologue(c, create: false, setid: true, groupRequired: true, out var o, out var cg, out _, out long entriesRead)) return;
        var args = c.Args;
        if (args.Count != 5 && args.Count != 7)
        {
            SubcommandSyntaxError(c);
            return;
        }
        StreamId id;
        if (args[4].SequenceEqual("$"u8)) id = S(o!).LastId;
        else if (!TryParseId(c, 4, out id)) return;
        var w = c.Db.BeginWrite(args[2], o);
        cg!.LastId = id;
        cg.EntriesRead = entriesRead;
        c.Reply.Ok();
        w.Notify(NotifyClass.Stream, "xgroup-setid");
        w.EndWithoutSignal(1);
    }

    /// <summary>XGROUP DESTROY key group: 1 or 0; readers blocked on the group are woken to get -NOGROUP.</summary>
    [Command("xgroup|destroy")]
    static void XGroupDestroy(Client c)
    {
        if (!XGroupPrologue(c, create: false, setid: false, groupRequired: false, out var o, out var cg, out _, out _)) return;
        if (cg == null)
        {
            c.Reply.Integer(0);
            return;
        }
        var key = c.Args[2];
        var w = c.Db.BeginWrite(key, o);
        S(o!).DestroyGroup(c.Args[3]);
        c.Reply.Integer(1);
        w.Notify(NotifyClass.Stream, "xgroup-destroy");
        w.EndWithoutSignal(1);
        BlockingKeys.SignalKeyAsReady(c, key);
    }

    /// <summary>XGROUP CREATECONSUMER key group consumer: 1 when created, 0 when it exists.</summary>
    [Command("xgroup|createconsumer")]
    static void XGroupCreateConsumer(Client c)
    {
        if (!XGroupPrologue(c, create: false, setid: false, groupRequired: true, out var o, out var cg, out _, out _)) return;
        var name = c.Args[4];
        if (cg!.LookupConsumer(name) != null)
        {
            c.Reply.Integer(0);
            return;
        }
        var w = c.Db.BeginWrite(c.Args[2], o);
        cg.CreateConsumer(name, c.Server.NowMs);
        c.Reply.Integer(1);
        w.Notify(NotifyClass.Stream, "xgroup-createconsumer");
        w.EndWithoutSignal(1);
    }

    /// <summary>XGROUP DELCONSUMER key group consumer: how many entries were pending for it (they leave the group's PEL too).</summary>
    [Command("xgroup|delconsumer")]
    static void XGroupDelConsumer(Client c)
    {
        if (!XGroupPrologue(c, create: false, setid: false, groupRequired: true, out var o, out var cg, out _, out _)) return;
        var consumer = cg!.LookupConsumer(c.Args[4]);
        if (consumer == null)
        {
            c.Reply.Integer(0);
            return;
        }
        var w = c.Db.BeginWrite(c.Args[2], o);
        long pending = cg.DeleteConsumer(consumer);
        c.Reply.Integer(pending);
        w.Notify(NotifyClass.Stream, "xgroup-delconsumer");
        w.EndWithoutSignal(1);
    }

    // ------------------------------------------------------------------ XACK

    /// <summary>
    /// XACK key group id...: how many of the IDs were pending. A missing key or group acknowledges
    /// nothing; every ID is parsed before any is acknowledged, so the command never half-runs.
    /// </summary>
    [Command("xack")]
    static void XAck(Client c)
    {
        var key = c.Args[1];
        var o = c.Db.LookupRead(key);
        if (KeyLookup.CheckType(c, o, ObjType.Stream)) return;
        var g = o == null ? null : S(o).LookupGroup(c.Args[2]);
        if (g == null)
        {
            c.Reply.Integer(0);
            return;
        }
        int n = c.Args.Count - 3;
        Span<StreamId> ids = n <= 8 ? stackalloc StreamId[n] : new StreamId[n];
        if (!TryParseIds(c, 3, ids)) return;

        var w = c.Db.BeginWrite(key, o);
        long acknowledged = 0;
        Span<byte> idKey = stackalloc byte[StreamId.EncodedSize];
        foreach (var id in ids)
        {
            id.Encode(idKey);
            if (g.Acknowledge(idKey)) acknowledged++;
        }
        w.EndWithoutSignal(acknowledged);
        c.Reply.Integer(acknowledged);
    }

    // ------------------------------------------------------------------ XPENDING

    /// <summary>
    /// XPENDING key group [[IDLE ms] start end count [consumer]]. The summary: how many entries
    /// are pending, the smallest and largest pending ID, and each consumer with entries pending.
    /// The extended form: [id, consumer, ms since the last delivery, deliveries] per entry in the
    /// range (of one consumer's PEL when named), skipping those idle less than IDLE ms.
    /// </summary>
    [Command("xpending")]
    static void XPending(Client c)
    {
        var args = c.Args;
        bool justInfo = args.Count == 3;
        if (args.Count != 3 && (args.Count < 6 || args.Count > 9))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        // The range is parsed first: a syntax error wins over a missing group.
        StreamId start = default, end = default;
        long count = 0, minIdle = 0;
        int consumerArg = -1;
        if (args.Count >= 6)
        {
            int startIdx = 3;
            if (args.Is(3, "idle"))
            {
                if (!Arguments.TryGetLong(c, 4, out minIdle)) return;
                if (args.Count < 8)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                startIdx += 2;
            }
            if (!Arguments.TryGetLong(c, startIdx + 2, out count)) return;
            if (count < 0) count = 0;
            if (!TryParseRangeStart(c, startIdx, out start)) return;
            if (!TryParseIntervalId(c, startIdx + 1, out end, out bool endEx, ulong.MaxValue)) return;
            if (endEx && !end.TryDecrement(out end))
            {
                c.Reply.Error("invalid end ID for the interval");
                return;
            }
            if (startIdx + 3 < args.Count) consumerArg = startIdx + 3;
        }

        if (!LookupGroupOrReply(c, out var o, out var g)) return;

        if (justInfo) ReplyPendingSummary(c, g);
        else ReplyPendingRange(c, g, start, end, count, minIdle, consumerArg);
    }

    static void ReplyPendingSummary(Client c, StreamConsumerGroup g)
    {
        c.Reply.ArrayLen(4);
        c.Reply.Integer(g.Pel.Count);
        if (g.Pel.Count == 0)
        {
            c.Reply.Null();
            c.Reply.Null();
            c.Reply.NullArray();
            return;
        }
        var ri = g.Pel.GetIterator();
        ri.Seek(RaxSeek.First);
        ri.Next();
        ReplyId(c, StreamId.Decode(ri.Key));
        ri.Seek(RaxSeek.Last);
        ri.Next();
        ReplyId(c, StreamId.Decode(ri.Key));

        var ci = g.Consumers.GetIterator();
        long withPending = 0;
        ci.Seek(RaxSeek.First);
        while (ci.Next())
            if (ci.Value.Pel.Count > 0) withPending++;
        c.Reply.ArrayLen(withPending);
        ci.Seek(RaxSeek.First);
        while (ci.Next())
        {
            var consumer = ci.Value;
            if (consumer.Pel.Count == 0) continue;
            c.Reply.ArrayLen(2);
            c.Reply.Bulk(consumer.Name);
            c.Reply.BulkLong(consumer.Pel.Count);
        }
    }

    /// <summary>consumerArg: the argument naming the consumer whose PEL is read, -1 for the group's.</summary>
    static void ReplyPendingRange(Client c, StreamConsumerGroup g, StreamId start, StreamId end, long count, long minIdle, int consumerArg)
    {
        var pel = g.Pel;
        if (consumerArg >= 0)
        {
            // A consumer named but unknown owns nothing (and looking it up does not refresh it).
            var consumer = g.LookupConsumer(c.Args[consumerArg]);
            if (consumer == null)
            {
                c.Reply.ArrayLen(0);
                return;
            }
            pel = consumer.Pel;
        }
        long now = c.Server.NowMs;
        Span<byte> startKey = stackalloc byte[StreamId.EncodedSize];
        Span<byte> endKey = stackalloc byte[StreamId.EncodedSize];
        start.Encode(startKey);
        end.Encode(endKey);

        // Two passes over the same entries: the reply's length comes first.
        var ri = pel.GetIterator();
        long n = 0;
        ri.Seek(RaxSeek.GreaterOrEqual, startKey);
        for (long left = count; left > 0 && ri.Next() && ri.Key.SequenceCompareTo(endKey) <= 0;)
        {
            if (minIdle != 0 && now - ri.Value.DeliveryTime < minIdle) continue;
            n++;
            left--;
        }
        c.Reply.ArrayLen(n);
        ri.Seek(RaxSeek.GreaterOrEqual, startKey);
        for (long i = 0; i < n && ri.Next();)
        {
            var nack = ri.Value;
            if (minIdle != 0 && now - nack.DeliveryTime < minIdle) continue;
            i++;
            c.Reply.ArrayLen(4);
            ReplyId(c, StreamId.Decode(ri.Key));
            c.Reply.Bulk(nack.Consumer.Name);
            c.Reply.Integer(Math.Max(0, now - nack.DeliveryTime));
            c.Reply.Integer(nack.DeliveryCount);
        }
    }

    // ------------------------------------------------------------------ XCLAIM

    /// <summary>
    /// XCLAIM key group consumer min-idle-time id... [IDLE ms] [TIME ms] [RETRYCOUNT n] [FORCE]
    /// [JUSTID] [LASTID id]: the pending entries idle at least min-idle-time ms move to consumer
    /// (FORCE creates those not pending), delivered at now (or IDLE/TIME) with their count
    /// incremented (unless JUSTID) or set by RETRYCOUNT. A pending entry whose stream entry was
    /// deleted leaves the PEL. LASTID raises the group's last delivered ID (for replicas and the AOF).
    /// </summary>
    [Command("xclaim")]
    static void XClaim(Client c)
    {
        var args = c.Args;
        var key = args[1];
        if (!LookupGroupOrReply(c, out var o, out var g)) return;
        var s = S(o);
        if (!Arguments.TryGetLong(c, 4, out long minIdle, "Invalid min-idle-time argument for XCLAIM")) return;
        if (minIdle < 0) minIdle = 0;

        // The IDs run up to the first argument that is not one: the options start there.
        int j = 5;
        while (j < args.Count && StreamId.TryParse(args[j], out _, strict: true)) j++;
        int lastIdArg = j - 1;

        long now = c.Server.NowMs;
        long retryCount = -1, deliveryTime = -1;
        bool force = false, justId = false;
        var lastId = StreamId.Min;
        for (; j < args.Count; j++)
        {
            bool moreArgs = args.Count - 1 - j > 0;
            if (args.Is(j, "force")) force = true;
            else if (args.Is(j, "justid")) justId = true;
            else if (args.Is(j, "idle") && moreArgs)
            {
                j++;
                if (!Arguments.TryGetLong(c, j, out long idle, "Invalid IDLE option argument for XCLAIM")) return;
                deliveryTime = now - idle;
            }
            else if (args.Is(j, "time") && moreArgs)
            {
                j++;
                if (!Arguments.TryGetLong(c, j, out deliveryTime, "Invalid TIME option argument for XCLAIM")) return;
            }
            else if (args.Is(j, "retrycount") && moreArgs)
            {
                j++;
                if (!Arguments.TryGetLong(c, j, out retryCount, "Invalid RETRYCOUNT option argument for XCLAIM")) return;
            }
            else if (args.Is(j, "lastid") && moreArgs)
            {
                j++;
                if (!TryParseId(c, j, out lastId, strict: true)) return;
            }
            else
            {
                c.Reply.ErrorWithRawBytes($"Unrecognized XCLAIM option '{Arguments.CStr(args[j])}'");
                return;
            }
        }
        // A delivery time in the future or before the epoch is taken as now: a client's clock
        // running a little ahead is no reason to fail.
        if (deliveryTime < 0 || deliveryTime > now) deliveryTime = now;

        var w = c.Db.BeginWrite(key, o);
        long dirty = 0;
        bool propagateLastId = false;
        if (lastId > g.LastId)
        {
            g.LastId = lastId;
            propagateLastId = true;
        }

        StreamConsumer? consumer = null;
        var claimed = new List<StreamId>();
        Span<byte> idKey = stackalloc byte[StreamId.EncodedSize];
        for (int k = 5; k <= lastIdArg; k++)
        {
            StreamId.TryParse(args[k], out var id, strict: true);
            id.Encode(idKey);
            var nack = g.Pel.Find(idKey);

            if (!StreamEntryExists(s, id))
            {
                // Deleted from the stream: its pending entry goes (and so it does on replicas).
                if (nack != null)
                {
                    PropagateXClaimArg(c, key, g, args[2], args[k], nack);
                    propagateLastId = false;
                    dirty++;
                    g.Acknowledge(idKey);
                }
                continue;
            }
            if (nack == null)
            {
                if (!force) continue;
                // FORCE: a new pending entry, whatever its idle time.
                consumer ??= ClaimingConsumer(c, w, g, args[3], now, ref dirty);
                nack = new StreamNack(consumer, now);
                g.TryAddNack(idKey, nack);
            }
            else
            {
                if (minIdle != 0 && now - nack.DeliveryTime < minIdle) continue;
                consumer ??= ClaimingConsumer(c, w, g, args[3], now, ref dirty);
                if (nack.Consumer != consumer) g.TransferNack(idKey, nack, consumer);
            }
            nack.DeliveryTime = deliveryTime;
            if (retryCount >= 0) nack.DeliveryCount = retryCount;
            else if (!justId) nack.DeliveryCount++;
            claimed.Add(id);
            PropagateXClaimArg(c, key, g, args[2], args[k], nack);
            propagateLastId = false; // the XCLAIM carries LASTID
            dirty++;
        }
        if (propagateLastId)
        {
            PropagateGroupId(c, key, g, args[2]);
            dirty++;
        }
        w.EndWithoutSignal(dirty);
        c.Server.Propagation.PreventCommandPropagation();

        c.Reply.ArrayLen(claimed.Count);
        foreach (var id in claimed)
        {
            if (justId) ReplyId(c, id);
            else ReplyEntryIfExists(c, s, id);
        }
    }

    /// <summary>streamEntryExists: whether the stream holds a live entry with this ID.</summary>
    static bool StreamEntryExists(RedisStream s, StreamId id)
    {
        using var it = StreamIterator.Start(s, id, id, rev: false);
        return it.GetId(out _, out _);
    }

    // ------------------------------------------------------------------ XAUTOCLAIM

    /// <summary>
    /// XAUTOCLAIM key group consumer min-idle-time start [COUNT n] [JUSTID]: XCLAIM over the
    /// group's PEL from start, claiming up to COUNT (100) entries idle at least min-idle-time
    /// and looking at no more than COUNT * 10. Replies [next start or 0-0, claimed entries, IDs of
    /// deleted entries it removed from the PEL]; each removal counts against COUNT too.
    /// </summary>
    [Command("xautoclaim")]
    static void XAutoClaim(Client c)
    {
        var args = c.Args;
        if (!Arguments.TryGetLong(c, 4, out long minIdle, "Invalid min-idle-time argument for XAUTOCLAIM")) return;
        if (minIdle < 0) minIdle = 0;
        if (!TryParseRangeStart(c, 5, out var start)) return;
        long count = 100;
        bool justId = false;
        for (int j = 6; j < args.Count; j++)
        {
            bool moreArgs = args.Count - 1 - j > 0;
            if (args.Is(j, "count") && moreArgs)
            {
                if (!Arguments.TryGetLongInRange(c, j + 1, 1, AutoClaimMaxCount, out count, "COUNT must be > 0")) return;
                j++;
            }
            else if (args.Is(j, "justid")) justId = true;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var key = args[1];
        if (!LookupGroupOrReply(c, out var o, out var g)) return;
        if (count > AutoClaimMaxTransientBytes / StreamId.EncodedSize)
        {
            c.Reply.Error("Insufficient memory, failed allocating transient memory, COUNT too high.");
            return;
        }
        var s = S(o);

        var w = c.Db.BeginWrite(key, o);
        long dirty = 0, now = c.Server.NowMs, attempts = count * AutoClaimAttemptsFactor;
        StreamConsumer? consumer = null;
        var claimed = new List<StreamId>();
        var deleted = new List<StreamId>();
        Span<byte> idKey = stackalloc byte[StreamId.EncodedSize];
        start.Encode(idKey);
        var ri = g.Pel.GetIterator();
        ri.Seek(RaxSeek.GreaterOrEqual, idKey);
        while (attempts-- > 0 && count > 0 && ri.Next())
        {
            var nack = ri.Value;
            ri.Key.CopyTo(idKey);
            var id = StreamId.Decode(idKey);
            if (!StreamEntryExists(s, id))
            {
                PropagateXClaim(c, key, g, args[2], id, nack);
                dirty++;
                g.Acknowledge(idKey);
                deleted.Add(id);
                ri.Seek(RaxSeek.GreaterOrEqual, idKey); // the PEL changed under the iterator
                count--;
                continue;
            }
            if (minIdle != 0 && now - nack.DeliveryTime < minIdle) continue;
            consumer ??= ClaimingConsumer(c, w, g, args[3], now, ref dirty);
            if (nack.Consumer != consumer) g.TransferNack(idKey, nack, consumer);
            nack.DeliveryTime = now;
            if (!justId) nack.DeliveryCount++;
            claimed.Add(id);
            count--;
            PropagateXClaim(c, key, g, args[2], id, nack);
            dirty++;
        }
        // The next PEL entry is where the following call starts (0-0: the scan is complete).
        var next = ri.Next() ? StreamId.Decode(ri.Key) : StreamId.Min;
        w.EndWithoutSignal(dirty);
        c.Server.Propagation.PreventCommandPropagation();

        c.Reply.ArrayLen(3);
        ReplyId(c, next);
        c.Reply.ArrayLen(claimed.Count);
        foreach (var id in claimed)
        {
            if (justId) ReplyId(c, id);
            else ReplyEntryIfExists(c, s, id);
        }
        c.Reply.ArrayLen(deleted.Count);
        foreach (var id in deleted) ReplyId(c, id);
    }
}
