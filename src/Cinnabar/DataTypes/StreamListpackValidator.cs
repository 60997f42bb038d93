// streamValidateListpackIntegrity (t_stream.c): whether a stream node loaded from RDB or RESTORE
// has the layout RedisStream's code walks without checks — the master entry (count, deleted,
// num-fields, the fields, a 0 terminator), then exactly count+deleted entries, each with flags,
// ID deltas, its fields or values and an lp-count that matches. Stricter than Redis's in what
// Cinnabar relies on: flags are 0..3 (rewritten in place), entry IDs rise within the node and are
// not below the master ID, and the live/deleted counters match the entries' flags.
namespace Cinnabar.DataTypes;

public static class StreamListpackValidator
{
    /// <summary>What a valid node holds: its first and last entry IDs (tombstones included) and its live entries.</summary>
    public readonly record struct NodeSummary(StreamId FirstId, StreamId LastId, long Live);

    /// <summary>
    /// Validates a node whose listpack already passed Listpack.Validate (so every element can be
    /// walked): false when its stream layout is broken or it has no entries.
    /// </summary>
    public static bool Validate(byte[] bytes, StreamId masterId, out NodeSummary summary)
    {
        summary = default;
        var lp = new Listpack(bytes);
        int elements = lp.Count;
        int p = lp.First();
        if (!TakeInteger(lp, ref p, out long live) || live < 0) return false;
        if (!TakeInteger(lp, ref p, out long deleted) || deleted < 0) return false;
        if (!TakeInteger(lp, ref p, out long masterFields) || masterFields < 0 || masterFields > elements) return false;
        if (!Skip(lp, ref p, masterFields)) return false;
        if (!TakeInteger(lp, ref p, out long terminator) || terminator != 0) return false;

        long total = live + deleted;
        if (total <= 0 || total > elements) return false;
        StreamId first = default, prev = default;
        long liveSeen = 0;
        for (long e = 0; e < total; e++)
        {
            if (!TakeInteger(lp, ref p, out long flags) || flags is < 0 or > (RedisStream.FlagDeleted | RedisStream.FlagSameFields)) return false;
            if (!TakeInteger(lp, ref p, out long msDelta) || !TakeInteger(lp, ref p, out long seqDelta)) return false;
            var id = unchecked(new StreamId(masterId.Ms + (ulong)msDelta, masterId.Seq + (ulong)seqDelta));
            if (id < masterId || (e > 0 && id <= prev)) return false;
            if (e == 0) first = id;
            prev = id;

            long fields = masterFields, lpCount = 3 + masterFields;
            if ((flags & RedisStream.FlagSameFields) == 0)
            {
                if (!TakeInteger(lp, ref p, out fields) || fields < 0 || fields > elements) return false;
                if (!Skip(lp, ref p, fields * 2)) return false;
                lpCount = 3 + fields + fields + 1;
            }
            else if (!Skip(lp, ref p, fields)) return false;
            if (!TakeInteger(lp, ref p, out long count, last: e == total - 1) || count != lpCount) return false;
            if ((flags & RedisStream.FlagDeleted) == 0) liveSeen++;
        }
        // p < 0: nothing follows the last entry.
        if (p >= 0 || liveSeen != live) return false;
        summary = new NodeSummary(first, prev, live);
        return true;
    }

    /// <summary>lpGetIntegerIfValid at p, then p moves on (to -1 at the end, which only the node's last element may reach).</summary>
    static bool TakeInteger(in Listpack lp, ref int p, out long value, bool last = false)
    {
        value = 0;
        if (p < 0) return false;
        if (lp.Get(p, out var s, out value) && !Protocol.RespParser.TryParseLong(s, out value)) return false;
        p = lp.Next(p);
        return p >= 0 || last;
    }

    /// <summary>Steps over n elements, none of them the node's last (an lp-count always follows).</summary>
    static bool Skip(in Listpack lp, ref int p, long n)
    {
        for (long i = 0; i < n; i++)
        {
            if (p < 0) return false;
            p = lp.Next(p);
        }
        return p >= 0;
    }
}
