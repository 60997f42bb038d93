// XINFO (Redis 7.0's t_stream.c xinfoCommand): STREAM (its metadata with the first and last
// entries, or with FULL the entries and every group's PEL and consumers), GROUPS, CONSUMERS and
// HELP. Replies are maps (flat arrays in RESP2) with Redis's field names and order. A group's
// lag (streamReplyWithCGLag) comes from its read counter while no deletion lies after its last
// delivered ID, else from an estimate of that ID's counter, and is null when neither is known.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using static Cinnabar.Commands.StreamCommands;

namespace Cinnabar.Commands;

public static class StreamInfoCommands
{
    /// <summary>XINFO STREAM FULL shows this many entries, and PEL entries per group and consumer, unless COUNT says otherwise.</summary>
    const long FullDefaultCount = 10;

    [Command("xinfo|help")]
    static void XInfoHelp(Client c) => HelpReply.Write(c, "XINFO",
    [
        "CONSUMERS <key> <groupname>",
        "    Show consumers of <groupname>.",
        "GROUPS <key>",
        "    Show the stream consumer groups.",
        "STREAM <key> [FULL [COUNT <count>]",
        "    Show information about the stream.",
    ]);

    /// <summary>lookupKeyReadOrReply(nokeyerr) + checkType: every XINFO subcommand but HELP starts here.</summary>
    static RedisStream? Lookup(Client c)
    {
        var o = c.Db.LookupRead(c.Args[2]);
        if (o == null)
        {
            c.Reply.Error(Errors.NoSuchKey);
            return null;
        }
        return KeyLookup.CheckType(c, o, ObjType.Stream) ? null : S(o);
    }

    // ------------------------------------------------------------------ CONSUMERS / GROUPS

    /// <summary>XINFO CONSUMERS key group: name, pending count and ms since last seen, per consumer.</summary>
    [Command("xinfo|consumers")]
    static void XInfoConsumers(Client c)
    {
        var s = Lookup(c);
        if (s == null) return;
        var g = s.LookupGroup(c.Args[3]);
        if (g == null)
        {
            c.Reply.ErrorWithRawBytes($"-NOGROUP No such consumer group '{Arguments.CStr(c.Args[3])}' for key name '{Arguments.CStr(c.Args[2])}'");
            return;
        }
        long now = c.Server.NowMs;
        c.Reply.ArrayLen(g.Consumers.Count);
        var ri = g.Consumers.GetIterator();
        ri.Seek(RaxSeek.First);
        while (ri.Next())
        {
            var consumer = ri.Value;
            c.Reply.MapLen(3);
            c.Reply.Bulk("name"u8);
            c.Reply.Bulk(consumer.Name);
            c.Reply.Bulk("pending"u8);
            c.Reply.Integer(consumer.Pel.Count);
            c.Reply.Bulk("idle"u8);
            c.Reply.Integer(Math.Max(0, now - consumer.SeenTime));
        }
    }

    /// <summary>XINFO GROUPS key: name, consumers, pending, last-delivered-id, entries-read and lag, per group.</summary>
    [Command("xinfo|groups")]
    static void XInfoGroups(Client c)
    {
        var s = Lookup(c);
        if (s == null) return;
        if (s.Groups == null)
        {
            c.Reply.ArrayLen(0);
            return;
        }
        c.Reply.ArrayLen(s.Groups.Count);
        var ri = s.Groups.GetIterator();
        ri.Seek(RaxSeek.First);
        while (ri.Next())
        {
            var g = ri.Value;
            c.Reply.MapLen(6);
            c.Reply.Bulk("name"u8);
            c.Reply.Bulk(ri.Key);
            c.Reply.Bulk("consumers"u8);
            c.Reply.Integer(g.Consumers.Count);
            c.Reply.Bulk("pending"u8);
            c.Reply.Integer(g.Pel.Count);
            c.Reply.Bulk("last-delivered-id"u8);
            ReplyId(c, g.LastId);
            ReplyEntriesReadAndLag(c, s, g);
        }
    }

    /// <summary>The "entries-read" (null when unknown) and "lag" fields of a group.</summary>
    static void ReplyEntriesReadAndLag(Client c, RedisStream s, StreamConsumerGroup g)
    {
        c.Reply.Bulk("entries-read"u8);
        if (g.EntriesRead != RedisStream.InvalidEntriesRead) c.Reply.Integer(g.EntriesRead);
        else c.Reply.Null();
        c.Reply.Bulk("lag"u8);
        ReplyLag(c, s, g);
    }

    /// <summary>streamReplyWithCGLag: entries added but not yet delivered to the group, or null when unknowable.</summary>
    static void ReplyLag(Client c, RedisStream s, StreamConsumerGroup g)
    {
        if (s.EntriesAdded == 0)
        {
            c.Reply.Integer(0); // a stream that never had an entry
            return;
        }
        if (g.EntriesRead != RedisStream.InvalidEntriesRead && !s.RangeHasTombstones(g.LastId, null))
        {
            // No deletion ahead of the group: its read counter is exact.
            c.Reply.Integer(s.EntriesAdded - g.EntriesRead);
            return;
        }
        long entriesRead = s.EstimateDistanceFromFirstEverEntry(g.LastId);
        if (entriesRead != RedisStream.InvalidEntriesRead) c.Reply.Integer(s.EntriesAdded - entriesRead);
        else c.Reply.Null();
    }

    // ------------------------------------------------------------------ STREAM

    /// <summary>XINFO STREAM key [FULL [COUNT n]]: COUNT 0 shows everything, a negative one the default.</summary>
    [Command("xinfo|stream")]
    static void XInfoStream(Client c)
    {
        var s = Lookup(c);
        if (s == null) return;
        var args = c.Args;
        int optc = args.Count - 3;
        bool full = optc > 0;
        long count = FullDefaultCount;
        if (full)
        {
            if ((optc != 1 && optc != 3) || !args.Is(3, "full") || (optc == 3 && !args.Is(4, "count")))
            {
                StreamGroupCommands.SubcommandSyntaxError(c);
                return;
            }
            if (optc == 3)
            {
                if (!Arguments.TryGetLong(c, 5, out count)) return;
                if (count < 0) count = FullDefaultCount;
            }
        }

        c.Reply.MapLen(full ? 9 : 10);
        c.Reply.Bulk("length"u8);
        c.Reply.Integer(s.Length);
        c.Reply.Bulk("radix-tree-keys"u8);
        c.Reply.Integer(s.Nodes.Count);
        c.Reply.Bulk("radix-tree-nodes"u8);
        c.Reply.Integer(s.Nodes.NodeCount);
        c.Reply.Bulk("last-generated-id"u8);
        ReplyId(c, s.LastId);
        c.Reply.Bulk("max-deleted-entry-id"u8);
        ReplyId(c, s.MaxDeletedEntryId);
        c.Reply.Bulk("entries-added"u8);
        c.Reply.Integer(s.EntriesAdded);
        c.Reply.Bulk("recorded-first-entry-id"u8);
        ReplyId(c, s.FirstId);

        if (!full)
        {
            c.Reply.Bulk("groups"u8);
            c.Reply.Integer(s.Groups?.Count ?? 0);
            c.Reply.Bulk("first-entry"u8);
            ReplyEdgeEntry(c, s, rev: false);
            c.Reply.Bulk("last-entry"u8);
            ReplyEdgeEntry(c, s, rev: true);
            return;
        }

        c.Reply.Bulk("entries"u8);
        ReplyWithRange(c, s, StreamId.Min, StreamId.Max, count, rev: false);
        c.Reply.Bulk("groups"u8);
        if (s.Groups == null)
        {
            c.Reply.ArrayLen(0);
            return;
        }
        c.Reply.ArrayLen(s.Groups.Count);
        var gi = s.Groups.GetIterator();
        gi.Seek(RaxSeek.First);
        while (gi.Next()) ReplyFullGroup(c, s, gi.Key, gi.Value, count);
    }

    /// <summary>The first or last live entry as [id, [field, value, ...]], or null for an empty stream.</summary>
    static void ReplyEdgeEntry(Client c, RedisStream s, bool rev)
    {
        using var it = StreamIterator.Start(s, null, null, rev);
        if (it.GetId(out var id, out long numFields)) ReplyEntry(c, it, id, numFields);
        else c.Reply.Null();
    }

    /// <summary>One group of XINFO STREAM FULL: its PEL as [id, consumer, delivery time, deliveries], its consumers with theirs.</summary>
    static void ReplyFullGroup(Client c, RedisStream s, ReadOnlySpan<byte> name, StreamConsumerGroup g, long count)
    {
        c.Reply.MapLen(7);
        c.Reply.Bulk("name"u8);
        c.Reply.Bulk(name);
        c.Reply.Bulk("last-delivered-id"u8);
        ReplyId(c, g.LastId);
        ReplyEntriesReadAndLag(c, s, g);
        c.Reply.Bulk("pel-count"u8);
        c.Reply.Integer(g.Pel.Count);
        c.Reply.Bulk("pending"u8);
        long n = count == 0 ? g.Pel.Count : Math.Min(count, g.Pel.Count);
        c.Reply.ArrayLen(n);
        var pi = g.Pel.GetIterator();
        pi.Seek(RaxSeek.First);
        for (long i = 0; i < n && pi.Next(); i++)
        {
            var nack = pi.Value;
            c.Reply.ArrayLen(4);
            ReplyId(c, StreamId.Decode(pi.Key));
            c.Reply.Bulk(nack.Consumer.Name);
            c.Reply.Integer(nack.DeliveryTime);
            c.Reply.Integer(nack.DeliveryCount);
        }

        c.Reply.Bulk("consumers"u8);
        c.Reply.ArrayLen(g.Consumers.Count);
        var ci = g.Consumers.GetIterator();
        ci.Seek(RaxSeek.First);
        while (ci.Next())
        {
            var consumer = ci.Value;
            c.Reply.MapLen(4);
            c.Reply.Bulk("name"u8);
            c.Reply.Bulk(consumer.Name);
            c.Reply.Bulk("seen-time"u8);
            c.Reply.Integer(consumer.SeenTime);
            c.Reply.Bulk("pel-count"u8);
            c.Reply.Integer(consumer.Pel.Count);
            c.Reply.Bulk("pending"u8);
            long m = count == 0 ? consumer.Pel.Count : Math.Min(count, consumer.Pel.Count);
            c.Reply.ArrayLen(m);
            var ri = consumer.Pel.GetIterator();
            ri.Seek(RaxSeek.First);
            for (long i = 0; i < m && ri.Next(); i++)
            {
                c.Reply.ArrayLen(3);
                ReplyId(c, StreamId.Decode(ri.Key));
                c.Reply.Integer(ri.Value.DeliveryTime);
                c.Reply.Integer(ri.Value.DeliveryCount);
            }
        }
    }
}
