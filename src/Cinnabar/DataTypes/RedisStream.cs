// Redis's stream (t_stream.c's low level): a rax of listpacks keyed by each node's master ID,
// every listpack in Redis's exact layout, so RDB and DUMP emit the nodes as they are:
//   master entry: count | deleted | num-fields | field_1 ... field_N | 0
//   each entry:   flags | ms-diff | seq-diff | [num-fields | field_1 | value_1 ... | value_N] | lp-count
// (with the SAMEFIELDS flag only the values follow the IDs). IDs are stored as differences from
// the master ID; lp-count lets an iterator walk a node backwards. XDEL and trimming inside a node
// flag entries DELETED; a node leaves the rax when its last live entry does. The 7.0 metadata
// (first ID, max deleted ID, entries added) keeps consumer-group lag computable.
using Cinnabar.Keyspace;
using Cinnabar.Protocol;

namespace Cinnabar.DataTypes;

public enum StreamTrimStrategy { None, MaxLen, MinId }

/// <summary>streamAddTrimArgs: what XADD and XTRIM parsed.</summary>
public struct StreamTrimArgs
{
    public StreamTrimStrategy Strategy;
    public long MaxLen;
    public StreamId MinId;
    public bool Approx;
    public long Limit;        // 0 = no limit
    public int StrategyArgIndex;
}

public enum StreamAppendResult { Ok, IdTooSmall, TooLarge }

public sealed class RedisStream : ISizedValue, IDuplicable
{
    internal const int FlagNone = 0, FlagDeleted = 1, FlagSameFields = 2;

    /// <summary>STREAM_LISTPACK_MAX_SIZE: no node grows past 1 GiB whatever stream-node-max-bytes says.</summary>
    public const long ListpackMaxSize = 1 << 30;

    /// <summary>STREAM_LISTPACK_MAX_PRE_ALLOCATE: a new node's listpack starts with this much room.</summary>
    const int ListpackMaxPreallocate = 4096;

    /// <summary>SCG_INVALID_ENTRIES_READ.</summary>
    public const long InvalidEntriesRead = -1;

    public readonly Rax<byte[]> Nodes = new();
    public long Length;
    public StreamId LastId, FirstId, MaxDeletedEntryId;
    public long EntriesAdded;

    /// <summary>Consumer groups by name, created with the first group (most streams have none).</summary>
    public Rax<StreamConsumerGroup>? Groups;

    long _nodeBytes;   // the listpack arrays' heap size
    internal long GroupBytes; // what the groups, consumers and PEL entries cost (StreamConsumerGroup keeps it)

    public long SizeInBytes => 80 + Nodes.SizeInBytes + _nodeBytes + (Groups == null ? 0 : Groups.SizeInBytes + GroupBytes);

    public static RedisObject CreateObject() => new(ObjType.Stream, ObjEncoding.Stream, new RedisStream());

    // ------------------------------------------------------------------ node bookkeeping

    internal void SetNode(ReadOnlySpan<byte> key, byte[] lp, byte[]? old)
    {
        _nodeBytes += ObjectSize.ByteArray(lp.Length) - (old == null ? 0 : ObjectSize.ByteArray(old.Length));
        Nodes.Insert(key, lp);
    }

    internal void RemoveNode(ReadOnlySpan<byte> key)
    {
        var old = Nodes.Remove(key);
        if (old != null) _nodeBytes -= ObjectSize.ByteArray(old.Length);
    }

    /// <summary>Adds a node as loaded from RDB (its listpack validated by the caller).</summary>
    public void AddLoadedNode(ReadOnlySpan<byte> masterKey, byte[] lp) => SetNode(masterKey, lp, null);

    /// <summary>lpGetInteger: a stream listpack's integers are stored as integers, but a string holding one is read too.</summary>
    internal static long GetInteger(in Listpack lp, int p)
    {
        if (!lp.Get(p, out var s, out long v)) return v;
        return RespParser.TryParseLong(s, out v) ? v : throw new InvalidDataException("stream listpack: integer expected");
    }

    static void ReplaceInteger(ref Listpack lp, ref int p, long v) => p = lp.InsertInteger(v, p, Listpack.Where.Replace);

    // ------------------------------------------------------------------ appending

    /// <summary>streamNextID: the current ms with sequence 0, or the last ID incremented when the clock is not ahead.</summary>
    public static StreamId NextId(StreamId last, long nowMs)
    {
        ulong ms = (ulong)nowMs;
        if (ms > last.Ms) return new(ms, 0);
        last.TryIncrement(out var next);
        return next;
    }

    /// <summary>
    /// streamAppendItem: adds the entry made of numFields field/value pairs at args[fieldPos..].
    /// id carries the requested ID when idGiven (seqGiven false for "ms-*") and receives the ID added.
    /// </summary>
    public StreamAppendResult Append(CommandArgs args, int fieldPos, int numFields, ref StreamId id, bool idGiven, bool seqGiven,
        long nodeMaxBytes, long nodeMaxEntries, long nowMs)
    {
        Span<byte> lastKey = stackalloc byte[StreamId.EncodedSize];
        bool haveNode = Nodes.TryGetLast(lastKey, out _, out var tail);

        // The ID: given, "ms-*" (the sequence follows the last ID's in the same ms), or generated.
        StreamId newId;
        if (idGiven)
        {
            if (seqGiven) newId = id;
            else if (LastId.Ms == id.Ms)
            {
                if (LastId.Seq == ulong.MaxValue) return StreamAppendResult.IdTooSmall;
                newId = new(LastId.Ms, LastId.Seq + 1);
            }
            else newId = id;
        }
        else newId = NextId(LastId, nowMs);
        if (newId <= LastId) return StreamAppendResult.IdTooSmall;

        long totalLen = 0;
        for (int i = 0; i < numFields * 2; i++) totalLen += args.Length(fieldPos + i);
        if (totalLen > ListpackMaxSize) return StreamAppendResult.TooLarge;

        if (nodeMaxBytes == 0 || nodeMaxBytes > ListpackMaxSize) nodeMaxBytes = ListpackMaxSize;
        Listpack lp = default;
        if (haveNode)
        {
            lp = new Listpack(tail!);
            bool full = lp.TotalBytes + totalLen >= nodeMaxBytes;
            if (!full && nodeMaxEntries != 0)
            {
                int p = lp.First();
                long count = GetInteger(lp, p) + GetInteger(lp, lp.Next(p)); // live and deleted entries
                full = count >= nodeMaxEntries;
            }
            if (full)
            {
                // The tail is done growing: it gives back its preallocated room (lpShrinkToFit).
                lp.Shrink();
                if (!ReferenceEquals(lp.Buf, tail)) SetNode(lastKey, lp.Buf, tail);
                lp = default;
            }
        }

        int flags = FlagNone;
        StreamId masterId;
        Span<byte> key = stackalloc byte[StreamId.EncodedSize];
        byte[]? oldArray;
        if (lp.IsNull)
        {
            masterId = newId;
            newId.Encode(key);
            lp = new Listpack((int)Math.Min(ListpackMaxPreallocate, nodeMaxBytes));
            lp.AppendInteger(1); // one live entry, the one being added
            lp.AppendInteger(0); // none deleted yet
            lp.AppendInteger(numFields);
            for (int i = 0; i < numFields; i++) lp.Append(args[fieldPos + i * 2]);
            lp.AppendInteger(0); // the master entry's terminator
            flags |= FlagSameFields;
            oldArray = null;
        }
        else
        {
            lastKey.CopyTo(key);
            masterId = StreamId.Decode(key);
            oldArray = lp.Buf;
            int p = lp.First();
            ReplaceInteger(ref lp, ref p, GetInteger(lp, p) + 1);
            p = lp.Next(p); // deleted
            p = lp.Next(p); // master num-fields
            long masterFields = GetInteger(lp, p);
            p = lp.Next(p);
            if (numFields == masterFields)
            {
                int i = 0;
                for (; i < masterFields; i++)
                {
                    if (!IsSameField(lp, p, args[fieldPos + i * 2])) break;
                    p = lp.Next(p);
                }
                if (i == masterFields) flags |= FlagSameFields;
            }
        }

        bool same = (flags & FlagSameFields) != 0;
        lp.AppendInteger(flags);
        lp.AppendInteger((long)(newId.Ms - masterId.Ms));
        lp.AppendInteger((long)(newId.Seq - masterId.Seq));
        if (!same) lp.AppendInteger(numFields);
        for (int i = 0; i < numFields; i++)
        {
            if (!same) lp.Append(args[fieldPos + i * 2]);
            lp.Append(args[fieldPos + i * 2 + 1]);
        }
        long lpCount = numFields + 3;
        if (!same) lpCount += numFields + 1;
        lp.AppendInteger(lpCount);

        if (!ReferenceEquals(lp.Buf, oldArray)) SetNode(key, lp.Buf, oldArray);
        Length++;
        EntriesAdded++;
        LastId = newId;
        if (Length == 1) FirstId = newId;
        id = newId;
        return StreamAppendResult.Ok;
    }

    /// <summary>Compares a master field with an entry's field as Redis does: the listpack element rendered as a string (an integer formatted).</summary>
    static bool IsSameField(in Listpack lp, int p, ReadOnlySpan<byte> field)
    {
        if (lp.Get(p, out var s, out long v)) return s.SequenceEqual(field);
        Span<byte> tmp = stackalloc byte[24];
        System.Buffers.Text.Utf8Formatter.TryFormat(v, tmp, out int w);
        return tmp[..w].SequenceEqual(field);
    }

    // ------------------------------------------------------------------ trimming

    /// <summary>streamTrim: removes entries from the head by MAXLEN or MINID; returns how many went.</summary>
    public long Trim(in StreamTrimArgs args)
    {
        if (args.Strategy == StreamTrimStrategy.None) return 0;
        long maxLen = args.MaxLen, limit = args.Limit, deleted = 0;
        Span<byte> key = stackalloc byte[StreamId.EncodedSize];
        // Trimming works on the head node: each one removed whole makes the next the head.
        while (Nodes.TryGetFirst(key, out _, out var head))
        {
            if (args.Strategy == StreamTrimStrategy.MaxLen && Length <= maxLen) break;
            var lp = new Listpack(head!);
            int p = lp.First();
            long entries = GetInteger(lp, p);
            if (limit != 0 && deleted + entries > limit) break; // the amount of work allowed is spent
            var masterId = StreamId.Decode(key);
            bool removeNode = args.Strategy == StreamTrimStrategy.MaxLen
                ? Length - entries >= maxLen
                : LastIdOfNode(lp, masterId) < args.MinId;
            if (removeNode)
            {
                RemoveNode(key);
                Length -= entries;
                deleted += entries;
                continue;
            }
            if (args.Approx) break; // only whole nodes go with ~

            // Flag entries inside this node as deleted until the target is met.
            var oldArray = lp.Buf;
            long deletedFromLp = 0;
            p = lp.Next(p); // deleted
            p = lp.Next(p); // master num-fields
            long masterFields = GetInteger(lp, p);
            p = lp.Next(p);
            for (long j = 0; j < masterFields; j++) p = lp.Next(p);
            p = lp.Next(p); // past the master terminator: the first entry
            while (p >= 0)
            {
                int flagsAt = p;
                long flags = GetInteger(lp, p);
                p = lp.Next(p);
                long msDelta = GetInteger(lp, p);
                p = lp.Next(p);
                long seqDelta = GetInteger(lp, p);
                p = lp.Next(p);
                bool stop = args.Strategy == StreamTrimStrategy.MaxLen
                    ? Length <= maxLen
                    : new StreamId(masterId.Ms + (ulong)msDelta, masterId.Seq + (ulong)seqDelta) >= args.MinId;
                if (stop) break;
                long toSkip;
                if ((flags & FlagSameFields) != 0) toSkip = masterFields;
                else
                {
                    toSkip = GetInteger(lp, p) * 2;
                    p = lp.Next(p);
                }
                while (toSkip-- > 0) p = lp.Next(p);
                p = lp.Next(p); // past lp-count: the next entry, or -1
                if ((flags & FlagDeleted) == 0)
                {
                    // Flags are 0..3, one byte either way: offsets after it do not move.
                    int at = flagsAt;
                    ReplaceInteger(ref lp, ref at, flags | FlagDeleted);
                    deletedFromLp++;
                    Length--;
                }
            }
            deleted += deletedFromLp;
            p = lp.First();
            ReplaceInteger(ref lp, ref p, entries - deletedFromLp);
            p = lp.Next(p);
            long markedDeleted = GetInteger(lp, p);
            ReplaceInteger(ref lp, ref p, markedDeleted + deletedFromLp);
            if (!ReferenceEquals(lp.Buf, oldArray)) SetNode(key, lp.Buf, oldArray);
            break; // the target was met inside this node
        }
        // Redis recomputes the first ID after every trim; it can only have moved if something went.
        if (deleted > 0) FirstId = Length == 0 ? StreamId.Min : GetEdgeId(first: true, skipTombstones: true);
        return deleted;
    }

    /// <summary>lpGetEdgeStreamID(lp, last): the ID of a node's last entry, tombstone or not.</summary>
    static StreamId LastIdOfNode(in Listpack lp, StreamId masterId)
    {
        int p = lp.Last(); // lp-count of the last entry
        long lpCount = GetInteger(lp, p);
        for (long i = 0; i < lpCount; i++) p = lp.Prev(p); // now at flags
        p = lp.Next(p);
        long ms = GetInteger(lp, p);
        p = lp.Next(p);
        long seq = GetInteger(lp, p);
        return new(masterId.Ms + (ulong)ms, masterId.Seq + (ulong)seq);
    }

    // ------------------------------------------------------------------ deleting

    /// <summary>streamDeleteItem: flags the entry with this ID deleted (removing its node if it was the last live one).</summary>
    public bool DeleteItem(StreamId id)
    {
        using var it = StreamIterator.Start(this, id, id, rev: false);
        if (!it.GetId(out var found, out _)) return false;
        it.RemoveEntry(found);
        return true;
    }

    /// <summary>streamGetEdgeID: the first or last ID (tombstones included or not); Max/Min when there is none.</summary>
    public StreamId GetEdgeId(bool first, bool skipTombstones)
    {
        using var it = StreamIterator.Start(this, null, null, rev: !first);
        it.SkipTombstones = skipTombstones;
        if (it.GetId(out var id, out _)) return id;
        return first ? StreamId.Max : StreamId.Min;
    }

    /// <summary>streamLastValidID: the last live entry's ID.</summary>
    public StreamId LastValidId() => GetEdgeId(first: false, skipTombstones: true);

    /// <summary>streamRangeHasTombstones: whether an XDEL'd ID may lie in [start, end].</summary>
    public bool RangeHasTombstones(StreamId? start, StreamId? end)
    {
        if (Length == 0 || MaxDeletedEntryId.IsZero) return false;
        if (FirstId > MaxDeletedEntryId) return false;
        var s = start ?? StreamId.Min;
        var e = end ?? StreamId.Max;
        return s <= MaxDeletedEntryId && MaxDeletedEntryId <= e;
    }

    /// <summary>
    /// streamEstimateDistanceFromFirstEverEntry: the logical read counter of id (how many entries
    /// were ever added up to it), or InvalidEntriesRead when deletions make it unknowable.
    /// </summary>
    public long EstimateDistanceFromFirstEverEntry(StreamId id)
    {
        if (EntriesAdded == 0) return 0;
        if (Length == 0 && id <= LastId) return EntriesAdded;
        int cmpLast = id.CompareTo(LastId);
        if (cmpLast == 0) return EntriesAdded;
        if (cmpLast > 0) return InvalidEntriesRead;
        int cmpIdFirst = id.CompareTo(FirstId);
        if (MaxDeletedEntryId.IsZero || MaxDeletedEntryId < FirstId)
        {
            if (cmpIdFirst < 0) return EntriesAdded - Length;
            if (cmpIdFirst == 0) return EntriesAdded - Length + 1;
        }
        return InvalidEntriesRead;
    }

    // ------------------------------------------------------------------ groups

    /// <summary>streamLookupCG.</summary>
    public StreamConsumerGroup? LookupGroup(ReadOnlySpan<byte> name) => Groups?.Find(name);

    /// <summary>streamCreateCG: null when a group of that name exists.</summary>
    public StreamConsumerGroup? CreateGroup(ReadOnlySpan<byte> name, StreamId lastId, long entriesRead)
    {
        Groups ??= new Rax<StreamConsumerGroup>();
        var cg = new StreamConsumerGroup(this, lastId, entriesRead);
        if (!Groups.TryInsert(name, cg)) return null;
        GroupBytes += StreamConsumerGroup.Overhead + name.Length;
        return cg;
    }

    /// <summary>XGROUP DESTROY's part: removes the group with its consumers and PEL.</summary>
    public bool DestroyGroup(ReadOnlySpan<byte> name)
    {
        var cg = Groups?.Remove(name);
        if (cg == null) return false;
        GroupBytes -= StreamConsumerGroup.Overhead + name.Length + cg.OwnBytes;
        return true;
    }

    // ------------------------------------------------------------------ copying

    /// <summary>streamDup (COPY): nodes, metadata and groups with their PELs, each NACK shared by its group and consumer as in the original.</summary>
    public object Duplicate()
    {
        var s = new RedisStream
        {
            Length = Length,
            LastId = LastId,
            FirstId = FirstId,
            MaxDeletedEntryId = MaxDeletedEntryId,
            EntriesAdded = EntriesAdded,
        };
        var ri = Nodes.GetIterator();
        ri.Seek(RaxSeek.First);
        while (ri.Next()) s.SetNode(ri.Key, new Listpack(ri.Value).ToArray(), null);
        if (Groups != null)
        {
            var gi = Groups.GetIterator();
            gi.Seek(RaxSeek.First);
            while (gi.Next())
            {
                var src = gi.Value;
                var dst = s.CreateGroup(gi.Key, src.LastId, src.EntriesRead)!;
                src.CopyInto(dst);
            }
        }
        return s;
    }
}
