// Streams in RDB (rdb.c's OBJ_STREAM branches of rdbSaveObject / rdbLoadObject): the nodes as they
// are (16-byte master ID, listpack), the length and last ID, the 7.0 metadata (first ID, max
// deleted ID, entries added: RDB_TYPE_STREAM_LISTPACKS_2), then each group in name order with its
// last ID and read counter, its PEL (raw IDs with delivery time and count) and its consumers
// (name, seen time, the raw IDs of their PEL, resolved against the group PEL on load so each NACK
// is one object shared by both). RDB_TYPE_STREAM_LISTPACKS (5.0-6.2) loads with the metadata
// derived as Redis derives it. Loading validates every node and the PEL ownership before the
// stream is used, so a corrupt payload fails with RdbFormatException and nothing half-built.
using System.Buffers.Binary;
using System.Text;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;

namespace Cinnabar.Persistence;

public static class RdbStream
{
    // ------------------------------------------------------------------ saving

    /// <summary>rdbSaveObject for OBJ_STREAM, in the RDB_TYPE_STREAM_LISTPACKS_2 form.</summary>
    public static void Save(RdbWriter w, RedisStream s)
    {
        w.SaveLen((ulong)s.Nodes.Count);
        var ri = s.Nodes.GetIterator();
        ri.Seek(RaxSeek.First);
        while (ri.Next())
        {
            w.SaveRawString(ri.Key);
            w.SaveRawString(new Listpack(ri.Value).Bytes);
        }
        w.SaveLen((ulong)s.Length);
        SaveId(w, s.LastId);
        SaveId(w, s.FirstId);
        SaveId(w, s.MaxDeletedEntryId);
        w.SaveLen((ulong)s.EntriesAdded);

        var groups = s.Groups;
        w.SaveLen(groups == null ? 0 : (ulong)groups.Count);
        if (groups == null) return;
        var gi = groups.GetIterator();
        gi.Seek(RaxSeek.First);
        while (gi.Next())
        {
            var cg = gi.Value;
            w.SaveRawString(gi.Key);
            SaveId(w, cg.LastId);
            w.SaveLen(unchecked((ulong)cg.EntriesRead)); // -1 (unknown) goes out as a 64-bit length, as Redis's uint64 cast does
            SavePel(w, cg.Pel, nacks: true);
            w.SaveLen((ulong)cg.Consumers.Count);
            var ci = cg.Consumers.GetIterator();
            ci.Seek(RaxSeek.First);
            while (ci.Next())
            {
                w.SaveRawString(ci.Key);
                SaveMillisecondTime(w, ci.Value.SeenTime);
                SavePel(w, ci.Value.Pel, nacks: false);
            }
        }
    }

    static void SaveId(RdbWriter w, StreamId id)
    {
        w.SaveLen(id.Ms);
        w.SaveLen(id.Seq);
    }

    /// <summary>rdbSaveMillisecondTime: 8 bytes, little-endian.</summary>
    static void SaveMillisecondTime(RdbWriter w, long ms) => BinaryPrimitives.WriteInt64LittleEndian(w.Grow(8), ms);

    /// <summary>rdbSaveStreamPEL: the count, then each raw 128-bit ID, with the NACK's delivery time and count for a group PEL.</summary>
    static void SavePel(RdbWriter w, Rax<StreamNack> pel, bool nacks)
    {
        w.SaveLen((ulong)pel.Count);
        var pi = pel.GetIterator();
        pi.Seek(RaxSeek.First);
        while (pi.Next())
        {
            w.WriteRaw(pi.Key);
            if (!nacks) continue;
            SaveMillisecondTime(w, pi.Value.DeliveryTime);
            w.SaveLen(unchecked((ulong)pi.Value.DeliveryCount));
        }
    }

    // ------------------------------------------------------------------ loading

    static RdbFormatException Corrupt(string what) => new("RDB: " + what);

    /// <summary>A group PEL entry read before the consumers that own it: its NACK points here until one claims it.</summary>
    static readonly StreamConsumer Unclaimed = new([], 0);

    /// <summary>rdbLoadObject for RDB_TYPE_STREAM_LISTPACKS (15) and RDB_TYPE_STREAM_LISTPACKS_2 (19).</summary>
    public static RedisObject Load(ref RdbReader r, int type)
    {
        var s = new RedisStream();
        bool v2 = type == RdbTypes.StreamListpacks2;
        ulong nodes = r.LoadLen();
        long live = 0;
        StreamId lastEntry = default;
        for (ulong i = 0; i < nodes; i++)
        {
            var key = r.LoadString();
            if (key.Length != StreamId.EncodedSize) throw Corrupt("Stream node key entry is not the size of a stream ID");
            var lp = r.LoadString();
            if (!Listpack.Validate(lp)) throw Corrupt("Stream listpack integrity check failed.");
            if (new Listpack(lp).First() < 0) throw Corrupt("Empty listpack inside stream");
            var masterId = StreamId.Decode(key);
            if (!StreamListpackValidator.Validate(lp, masterId, out var node)) throw Corrupt("Stream listpack integrity check failed.");
            if (s.Nodes.ContainsKey(key)) throw Corrupt("Listpack re-added with existing key");
            // Nodes come in rax order and never overlap: XADD opens a node only past the last ID.
            if (i > 0 && node.FirstId <= lastEntry) throw Corrupt("Stream node IDs are not in order");
            s.AddLoadedNode(key, lp);
            live += node.Live;
            lastEntry = node.LastId;
        }

        s.Length = LoadCount(ref r);
        s.LastId = LoadId(ref r);
        if (v2)
        {
            s.FirstId = LoadId(ref r);
            s.MaxDeletedEntryId = LoadId(ref r);
            s.EntriesAdded = unchecked((long)r.LoadLen());
        }
        else
        {
            // A 5.0-6.2 stream: entries_added starts at the length, no tombstone is known, and the
            // first ID is the first live entry's (the group read counters are estimated from these).
            s.MaxDeletedEntryId = StreamId.Min;
            s.EntriesAdded = s.Length;
            s.FirstId = s.GetEdgeId(first: true, skipTombstones: true);
        }
        if (s.Length != live) throw Corrupt("Stream length inconsistent with rax entries");
        if (nodes > 0 && s.LastId < lastEntry) throw Corrupt("Stream last ID is smaller than its last entry");

        ulong groups = r.LoadLen();
        for (ulong g = 0; g < groups; g++) LoadGroup(ref r, s, v2);
        return new RedisObject(ObjType.Stream, ObjEncoding.Stream, s);
    }

    static void LoadGroup(ref RdbReader r, RedisStream s, bool v2)
    {
        var name = r.LoadString();
        var lastId = LoadId(ref r);
        long entriesRead = v2 ? unchecked((long)r.LoadLen()) : s.EstimateDistanceFromFirstEverEntry(lastId);
        var cg = s.CreateGroup(name, lastId, entriesRead)
            ?? throw Corrupt("Duplicated consumer group name " + Encoding.UTF8.GetString(name));

        // The global PEL: NACKs without an owner until the consumers' PELs name them.
        var pending = new Rax<StreamNack>();
        ulong pelSize = r.LoadLen();
        for (ulong i = 0; i < pelSize; i++)
        {
            var rawId = r.ReadBytes(StreamId.EncodedSize);
            long deliveryTime = LoadMillisecondTime(ref r);
            long deliveryCount = unchecked((long)r.LoadLen());
            if (!pending.TryInsert(rawId, new StreamNack(Unclaimed, deliveryTime, deliveryCount)))
                throw Corrupt("Duplicated global PEL entry loading stream consumer group");
        }

        ulong consumers = r.LoadLen();
        for (ulong i = 0; i < consumers; i++)
        {
            var consumer = cg.CreateConsumer(r.LoadString(), 0) ?? throw Corrupt("Duplicate stream consumer detected.");
            consumer.SeenTime = LoadMillisecondTime(ref r);
            ulong owned = r.LoadLen();
            for (ulong j = 0; j < owned; j++)
            {
                var rawId = r.ReadBytes(StreamId.EncodedSize);
                var nack = pending.Find(rawId) ?? throw Corrupt("Consumer entry not found in group global PEL");
                if (!ReferenceEquals(nack.Consumer, Unclaimed)) throw Corrupt("Duplicated consumer PEL entry loading a stream consumer group");
                nack.Consumer = consumer;
                cg.TryAddNack(rawId, nack);
            }
        }
        // Every pending entry has an owner (Redis checks it under sanitize-dump-payload; a NACK
        // without a consumer is not representable here).
        if (cg.Pel.Count != pending.Count) throw Corrupt("Stream CG PEL entry without consumer");
    }

    static StreamId LoadId(ref RdbReader r)
    {
        ulong ms = r.LoadLen();
        return new StreamId(ms, r.LoadLen());
    }

    static long LoadCount(ref RdbReader r)
    {
        ulong n = r.LoadLen();
        return n <= long.MaxValue ? (long)n : throw Corrupt("Stream length inconsistent with rax entries");
    }

    /// <summary>rdbLoadMillisecondTime (RDB 9 and later: little-endian).</summary>
    static long LoadMillisecondTime(ref RdbReader r) => BinaryPrimitives.ReadInt64LittleEndian(r.ReadBytes(8));
}
