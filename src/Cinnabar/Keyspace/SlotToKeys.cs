// Redis's slots_to_keys (cluster.c's Slot to Key API, kept by db.c): with cluster-enabled, every
// database records the keys of each of the 16384 hash slots, so CLUSTER COUNTKEYSINSLOT, CLUSTER
// GETKEYSINSLOT and dropping a slot's keys cost the slot's size, never a keyspace scan. Redis
// threads a linked list through the dict entries; here a key's RedisObject is its dict entry and
// has no spare field, so each slot holds a set of the linked objects (by reference: no key is
// copied) and a database without cluster pays one null check per write.
using Cinnabar.Cluster;

namespace Cinnabar.Keyspace;

internal sealed class SlotToKeys
{
    /// <summary>One member of a slot's set: a 16-byte entry and a 4-byte bucket, the table about 80% full.</summary>
    public const int EntryCost = 24;

    /// <summary>A slot's set while it has keys: the HashSet (64 bytes) and its two arrays at their first size.</summary>
    public const int SlotSetCost = 152;

    /// <summary>The slot table (16384 references), allocated with the first key.</summary>
    const int TableCost = KeyHashSlot.Slots * 8 + 24;

    // A slot's set exists while the slot has keys: dropped when it empties, so a slot that moved
    // away keeps no table sized for the keys it had.
    HashSet<RedisObject>?[]? _bySlot;
    MemoryCounter? _memory;

    /// <summary>The bytes this index is counted for in the keyspace's counter: ObjectSize.KeyspaceOverhead's share.</summary>
    public long AccountedMemory { get; private set; }

    /// <summary>slotToKeyAddEntry: o has just been linked under its key.</summary>
    public void Add(RedisObject o)
    {
        if (_bySlot == null)
        {
            _bySlot = new HashSet<RedisObject>?[KeyHashSlot.Slots];
            Account(TableCost);
        }
        int slot = KeyHashSlot.Of(o.KeySpan);
        var set = _bySlot[slot];
        if (set == null)
        {
            _bySlot[slot] = set = new HashSet<RedisObject>(ReferenceEqualityComparer.Instance);
            Account(SlotSetCost);
        }
        if (!set.Add(o)) throw new InvalidOperationException("slotToKeyAdd: the object is already indexed");
        Account(EntryCost);
    }

    /// <summary>slotToKeyDelEntry: o has just been unlinked (its key is still its own).</summary>
    public void Remove(RedisObject o)
    {
        int slot = KeyHashSlot.Of(o.KeySpan);
        var set = _bySlot?[slot];
        if (set == null || !set.Remove(o)) throw new InvalidOperationException("slotToKeyDel: the object is not indexed");
        Account(-EntryCost);
        if (set.Count == 0)
        {
            _bySlot![slot] = null;
            Account(-SlotSetCost);
        }
    }

    /// <summary>slotToKeyReplaceEntry: replacement took old's place under the same key (an overwrite).</summary>
    public void Replace(RedisObject old, RedisObject replacement)
    {
        var set = _bySlot?[KeyHashSlot.Of(old.KeySpan)];
        if (set == null || !set.Remove(old)) throw new InvalidOperationException("slotToKeyReplace: the object is not indexed");
        set.Add(replacement);
    }

    /// <summary>countKeysInSlot.</summary>
    public long CountInSlot(int slot) => _bySlot?[slot]?.Count ?? 0;

    /// <summary>The linked objects of slot, or null when it has none; the caller must not keep it across writes.</summary>
    internal HashSet<RedisObject>? InSlot(int slot) => _bySlot?[slot];

    /// <summary>Slots that hold at least one key, in ascending order: O(16384).</summary>
    public IEnumerable<int> NonEmptySlots()
    {
        var bySlot = _bySlot;
        if (bySlot == null) yield break;
        for (int slot = 0; slot < bySlot.Length; slot++)
            if (bySlot[slot] != null) yield return slot;
    }

    /// <summary>What AccountedMemory should be, recounted from the table: O(16384), for ComputeUsedMemory's walk.</summary>
    public long ComputeMemory()
    {
        if (_bySlot == null) return 0;
        long bytes = TableCost;
        foreach (var set in _bySlot)
            if (set != null) bytes += SlotSetCost + (long)set.Count * EntryCost;
        return bytes;
    }

    /// <summary>Counts this index in memory from now on (its database's counter; again after SWAPDB).</summary>
    internal void AttachMemory(MemoryCounter memory)
    {
        DetachMemory();
        _memory = memory;
        _memory.Bytes += AccountedMemory;
    }

    /// <summary>Takes back what this index added to its counter (dropped with its dict, or swapped out).</summary>
    internal void DetachMemory()
    {
        if (_memory != null) _memory.Bytes -= AccountedMemory;
        _memory = null;
    }

    void Account(long bytes)
    {
        AccountedMemory += bytes;
        if (_memory != null) _memory.Bytes += bytes;
    }
}
