// XREAD and XREADGROUP (t_stream.c's xreadCommand, blocked.c's serveClientsBlockedOnStreamKey):
// reads of several streams at once, served at once when any has entries past the given ID,
// else (with BLOCK) parked on the keys until an XADD, XGROUP DESTROY or the key's deletion
// makes them ready. A group read delivers entries into the group's and the consumer's PEL, or
// replays the consumer's own PEL for an ID other than ">". XREADGROUP itself never propagates:
// each delivery goes out as XCLAIM ... FORCE JUSTID LASTID, and a NOACK read's new group
// position as XGROUP SETID ... ENTRIESREAD, so replicas and the AOF hold the same PELs.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;
using static Cinnabar.Commands.StreamCommands;

namespace Cinnabar.Commands;

public static class StreamReadCommands
{
    /// <summary>XREAD_BLOCKED_DEFAULT_COUNT: a blocked read without COUNT is served at most this many entries.</summary>
    const long BlockedDefaultCount = 1000;

    [Command("xread")] static void XRead(Client c) => ReadGeneric(c, xreadgroup: false);
    [Command("xreadgroup")] static void XReadGroup(Client c) => ReadGeneric(c, xreadgroup: true);

    static void ReadGeneric(Client c, bool xreadgroup)
    {
        var args = c.Args;
        bool block = false, noack = false;
        long deadline = 0, count = 0;
        int streamsArg = 0, streamsCount = 0, groupArg = -1;
        for (int i = 1; i < args.Count; i++)
        {
            int moreArgs = args.Count - i - 1;
            if (args.Is(i, "block") && moreArgs > 0)
            {
                if (c.HasFlag(ClientFlags.Script))
                {
                    // CLIENT_DENY_BLOCKING would answer as a timeout; scripts get an error instead, as in Redis.
                    c.Reply.ErrorWithRawBytes($"{System.Text.Encoding.Latin1.GetString(args[0])} command is not allowed with BLOCK option from scripts");
                    return;
                }
                i++;
                if (!Arguments.TryGetTimeoutMs(c, i, out deadline)) return;
                block = true;
            }
            else if (args.Is(i, "count") && moreArgs > 0)
            {
                i++;
                if (!Arguments.TryGetLong(c, i, out count)) return;
                if (count < 0) count = 0;
            }
            else if (args.Is(i, "streams") && moreArgs > 0)
            {
                streamsArg = i + 1;
                streamsCount = args.Count - streamsArg;
                if (streamsCount % 2 != 0)
                {
                    // Redis 7.0 says XREAD and '$' for XREADGROUP too.
                    c.Reply.Error("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
                    return;
                }
                streamsCount /= 2;
                break;
            }
            else if (args.Is(i, "group") && moreArgs >= 2)
            {
                if (!xreadgroup)
                {
                    c.Reply.Error("The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                    return;
                }
                groupArg = i + 1;
                i += 2;
            }
            else if (args.Is(i, "noack"))
            {
                if (!xreadgroup)
                {
                    c.Reply.Error("The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                    return;
                }
                noack = true;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (streamsArg == 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (xreadgroup && groupArg < 0)
        {
            c.Reply.Error("Missing GROUP option for XREADGROUP");
            return;
        }
        // The command propagates only through what it does (XCLAIM, XGROUP SETID/CREATECONSUMER).
        c.Server.Propagation.PreventCommandPropagation();

        // No per-call arrays: IDs on the stack, groups looked up again where needed (a rax find by name).
        Span<StreamId> ids = streamsCount <= 16 ? stackalloc StreamId[streamsCount] : new StreamId[streamsCount];
        bool grouped = groupArg >= 0;
        for (int k = 0; k < streamsCount; k++)
        {
            var key = args[streamsArg + k];
            int idArg = streamsArg + streamsCount + k;
            var o = c.Db.LookupRead(key);
            if (KeyLookup.CheckType(c, o, ObjType.Stream)) return;
            if (grouped)
            {
                var g = o == null ? null : S(o).LookupGroup(args[groupArg]);
                if (g == null)
                {
                    c.Reply.ErrorWithRawBytes($"-NOGROUP No such key '{Latin1(key)}' or consumer group '{Latin1(args[groupArg])}' in XREADGROUP with GROUP option");
                    return;
                }
            }
            var idText = args[idArg];
            if (idText.SequenceEqual("$"u8))
            {
                if (xreadgroup)
                {
                    c.Reply.Error("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                    return;
                }
                ids[k] = o == null ? StreamId.Min : S(o).LastId;
                continue;
            }
            if (idText.SequenceEqual(">"u8))
            {
                if (!xreadgroup)
                {
                    c.Reply.Error("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                    return;
                }
                ids[k] = StreamId.Max; // resolved to the group's last delivered ID
                continue;
            }
            if (!TryParseId(c, idArg, out ids[k], strict: true)) return;
        }

        // Which streams can be served now (decided before anything is written: the reply's length comes first).
        Span<byte> serve = streamsCount <= 64 ? stackalloc byte[streamsCount] : new byte[streamsCount];
        int served = 0;
        for (int k = 0; k < streamsCount; k++)
        {
            var o = c.Db.LookupRead(args[streamsArg + k]);
            if (o == null) continue;
            var s = S(o);
            if (grouped)
            {
                var g = s.LookupGroup(args[groupArg])!;
                if (ids[k] != StreamId.Max) serve[k] = 2; // a history read is always served
                else if (s.Length > 0 && s.LastValidId() > g.LastId)
                {
                    serve[k] = 1;
                    ids[k] = g.LastId;
                }
            }
            else if (s.Length > 0 && s.LastValidId() > ids[k]) serve[k] = 1;
            if (serve[k] != 0) served++;
        }

        if (served > 0)
        {
            if (c.Reply.Resp3) c.Reply.MapLen(served);
            else c.Reply.ArrayLen(served);
        }
        long now = c.Server.NowMs;
        for (int k = 0; k < streamsCount; k++)
        {
            var key = args[streamsArg + k];
            var o = c.Db.Main.Find(key);
            if (o == null) continue;
            var s = S(o);
            if (grouped)
            {
                // The consumer is found or created only for a stream served now (7.0).
                if (serve[k] == 0) continue;
                var g = s.LookupGroup(args[groupArg])!;
                var w = c.Db.BeginWrite(key, o);
                var consumer = LookupOrCreateConsumer(c, w, key, g, args[groupArg], args[groupArg + 1], noack, now, out long dirty);
                ReplyStreamName(c, key);
                // Either way the ID given is the last one seen: the reply starts after it.
                ids[k].TryIncrement(out var start);
                if (serve[k] == 2) ReplyFromConsumerPel(c, s, start, count, consumer, now);
                else ReplyWithGroupRange(c, s, start, count, g, consumer, noack, key, args[groupArg], now);
                dirty++;
                w.EndWithoutSignal(dirty);
            }
            else if (serve[k] != 0)
            {
                ReplyStreamName(c, key);
                ids[k].TryIncrement(out var start);
                ReplyWithRange(c, s, start, StreamId.Max, count, rev: false);
            }
        }
        if (served > 0) return;

        if (!block)
        {
            c.Reply.NullArray();
            return;
        }
        if (BlockingKeys.DenyBlocking(c))
        {
            c.Reply.NullArray();
            return;
        }
        BlockForStreams(c, streamsArg, streamsCount, ids.ToArray(), deadline, count == 0 ? BlockedDefaultCount : count,
            groupArg < 0 ? null : args.ToArray(groupArg), groupArg < 0 ? null : args.ToArray(groupArg + 1), noack);
    }

    static string Latin1(ReadOnlySpan<byte> b) => System.Text.Encoding.Latin1.GetString(b);

    /// <summary>A served stream's header: [key, entries] in RESP2, the key of a one-entry-per-stream map in RESP3.</summary>
    static void ReplyStreamName(Client c, ReadOnlySpan<byte> key)
    {
        if (!c.Reply.Resp3) c.Reply.ArrayLen(2);
        c.Reply.Bulk(key);
    }

    /// <summary>
    /// streamLookupConsumer (refreshing its seen-time) or streamCreateConsumer with its
    /// "xgroup-createconsumer" event and dirty; a consumer created by a NOACK read propagates as
    /// XGROUP CREATECONSUMER, since no XCLAIM will create it on the replica.
    /// </summary>
    static StreamConsumer LookupOrCreateConsumer(Client c, WriteScope w, ReadOnlySpan<byte> key, StreamConsumerGroup g,
        ReadOnlySpan<byte> groupName, ReadOnlySpan<byte> name, bool noack, long now, out long dirty)
    {
        dirty = 0;
        var consumer = g.LookupConsumer(name);
        if (consumer == null)
        {
            consumer = g.CreateConsumer(name, now)!;
            dirty = 1;
            w.Notify(NotifyClass.Stream, "xgroup-createconsumer");
            if (noack) PropagateConsumerCreation(c, key, groupName, name);
        }
        consumer.SeenTime = now;
        return consumer;
    }

    // ------------------------------------------------------------------ group deliveries

    /// <summary>
    /// streamReplyWithRange with a group: the entries after the group's last ID, each moved to
    /// the group's last ID and (without NOACK) into the group's and consumer's PEL, an entry
    /// already pending elsewhere (after XGROUP SETID) being reassigned to this consumer.
    /// </summary>
    static long ReplyWithGroupRange(Client c, RedisStream s, StreamId start, long count, StreamConsumerGroup g, StreamConsumer consumer,
        bool noack, ReadOnlySpan<byte> key, ReadOnlySpan<byte> groupName, long now)
    {
        using var it = StreamIterator.Start(s, start, null, rev: false);
        long n = 0;
        while ((count == 0 || n < count) && it.GetId(out _, out _)) n++;
        c.Reply.ArrayLen(n);
        it.Restart();
        bool propagateLastId = false;
        Span<byte> idKey = stackalloc byte[StreamId.EncodedSize];
        for (long i = 0; i < n && it.GetId(out var id, out long numFields); i++)
        {
            if (id > g.LastId)
            {
                if (g.EntriesRead != RedisStream.InvalidEntriesRead && !s.RangeHasTombstones(id, null)) g.EntriesRead++;
                else if (s.EntriesAdded != 0) g.EntriesRead = s.EstimateDistanceFromFirstEverEntry(id);
                g.LastId = id;
                // Without NOACK each delivery's XCLAIM carries the last ID (LASTID) already.
                if (noack) propagateLastId = true;
            }
            ReplyEntry(c, it, id, numFields);
            if (noack) continue;
            id.Encode(idKey);
            var nack = new StreamNack(consumer, now);
            if (!g.TryAddNack(idKey, nack))
            {
                // Pending for another delivery: this consumer owns it now, delivered once.
                nack = g.Pel.Find(idKey)!;
                g.TransferNack(idKey, nack, consumer);
                nack.DeliveryTime = now;
                nack.DeliveryCount = 1;
            }
            PropagateXClaim(c, key, g, groupName, id, nack);
        }
        if (propagateLastId) PropagateGroupId(c, key, g, groupName);
        return n;
    }

    /// <summary>
    /// streamReplyWithRangeFromConsumerPEL: the consumer's own pending entries from start (a
    /// history read), each delivered again (time and count updated); an entry deleted meanwhile
    /// is its ID and a null.
    /// </summary>
    static void ReplyFromConsumerPel(Client c, RedisStream s, StreamId start, long count, StreamConsumer consumer, long now)
    {
        Span<byte> startKey = stackalloc byte[StreamId.EncodedSize];
        start.Encode(startKey);
        var ri = consumer.Pel.GetIterator();
        ri.Seek(RaxSeek.GreaterOrEqual, startKey);
        long n = 0;
        while ((count == 0 || n < count) && ri.Next()) n++;
        c.Reply.ArrayLen(n);
        ri.Seek(RaxSeek.GreaterOrEqual, startKey);
        for (long i = 0; i < n && ri.Next(); i++)
        {
            var id = StreamId.Decode(ri.Key);
            if (ReplyEntryIfExists(c, s, id))
            {
                var nack = ri.Value;
                nack.DeliveryTime = now;
                nack.DeliveryCount++;
            }
            else
            {
                c.Reply.ArrayLen(2);
                ReplyId(c, id);
                c.Reply.NullArray();
            }
        }
    }

    // ------------------------------------------------------------------ propagation

    /// <summary>streamPropagateXCLAIM: XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last-id.</summary>
    internal static void PropagateXClaim(Client c, ReadOnlySpan<byte> key, StreamConsumerGroup g, ReadOnlySpan<byte> groupName, StreamId id, StreamNack nack)
    {
        Span<byte> a = stackalloc byte[StreamId.MaxFormattedLength];
        Span<byte> b = stackalloc byte[StreamId.MaxFormattedLength];
        c.Server.Propagation.AlsoPropagate(c.Db.Id, 14).Add("XCLAIM"u8).Add(key).Add(groupName).Add(nack.Consumer.Name).Add("0"u8)
            .Add(a[..id.Format(a)]).Add("TIME"u8).Add(nack.DeliveryTime).Add("RETRYCOUNT"u8).Add(nack.DeliveryCount)
            .Add("FORCE"u8).Add("JUSTID"u8).Add("LASTID"u8).Add(b[..g.LastId.Format(b)]);
    }

    /// <summary>streamPropagateGroupID: XGROUP SETID key group last-id ENTRIESREAD n.</summary>
    internal static void PropagateGroupId(Client c, ReadOnlySpan<byte> key, StreamConsumerGroup g, ReadOnlySpan<byte> groupName)
    {
        Span<byte> a = stackalloc byte[StreamId.MaxFormattedLength];
        c.Server.Propagation.AlsoPropagate(c.Db.Id, 7).Add("XGROUP"u8).Add("SETID"u8).Add(key).Add(groupName)
            .Add(a[..g.LastId.Format(a)]).Add("ENTRIESREAD"u8).Add(g.EntriesRead);
    }

    /// <summary>streamPropagateConsumerCreation: XGROUP CREATECONSUMER key group consumer.</summary>
    internal static void PropagateConsumerCreation(Client c, ReadOnlySpan<byte> key, ReadOnlySpan<byte> groupName, ReadOnlySpan<byte> consumer) =>
        c.Server.Propagation.AlsoPropagate(c.Db.Id, 5).Add("XGROUP"u8).Add("CREATECONSUMER"u8).Add(key).Add(groupName).Add(consumer);

    // ------------------------------------------------------------------ blocking

    /// <summary>
    /// blockForKeys(BLOCKED_STREAM): waits on every stream key with the ID it must pass. When a
    /// key is ready (serveClientsBlockedOnStreamKey), a group read re-resolves its ID to the
    /// group's last delivered one; a group read whose key went away or changed type, or whose
    /// group was destroyed, is answered with an error.
    /// </summary>
    static void BlockForStreams(Client c, int streamsArg, int streamsCount, StreamId[] ids, long deadline, long count,
        byte[]? groupName, byte[]? consumerName, bool noack)
    {
        var keys = new byte[streamsCount][];
        for (int k = 0; k < streamsCount; k++) keys[k] = c.Args.ToArray(streamsArg + k);
        BlockingKeys.BlockForKeys(c, BlockType.Stream, keys, deadline, (rc, db, key) =>
        {
            int k = Array.FindIndex(keys, x => x.AsSpan().SequenceEqual(key));
            var o = db.Main.Find(key);
            if (o == null || o.Type != ObjType.Stream)
            {
                if (groupName == null) return false;
                rc.Reply.Error("-UNBLOCKED the stream key no longer exists");
                return true;
            }
            var s = S(o);
            StreamConsumerGroup? g = null;
            if (groupName != null)
            {
                g = s.LookupGroup(groupName);
                if (g == null)
                {
                    rc.Reply.Error("-NOGROUP the consumer group this client was blocked on no longer exists");
                    return true;
                }
                ids[k] = g.LastId;
            }
            if (s.LastId <= ids[k]) return false;
            rc.Server.Propagation.PreventCommandPropagation();
            ids[k].TryIncrement(out var start);
            if (rc.Reply.Resp3) rc.Reply.MapLen(1);
            else
            {
                rc.Reply.ArrayLen(1);
                rc.Reply.ArrayLen(2);
            }
            rc.Reply.Bulk(key);
            if (g == null)
            {
                ReplyWithRange(rc, s, start, StreamId.Max, count, rev: false);
                return true;
            }
            long now = rc.Server.NowMs;
            var w = db.BeginWrite(key, o);
            var consumer = LookupOrCreateConsumer(rc, w, key, g, groupName, consumerName, noack, now, out long dirty);
            ReplyWithGroupRange(rc, s, start, count, g, consumer, noack, key, groupName, now);
            w.EndWithoutSignal(dirty);
            return true;
        });
    }
}
