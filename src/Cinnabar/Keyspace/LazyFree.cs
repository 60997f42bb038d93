// Redis's lazyfree.c bookkeeping. Redis hands a big value (or a whole flushed database) to a
// background thread so freeing it does not stall the loop, and counts what that thread freed in
// INFO's lazyfreed_objects. In Cinnabar the garbage collector frees off the loop whatever the
// command, so nothing is handed over; what is kept is Redis's decision and its count: a value
// whose free effort (lazyfreeGetFreeEffort) is over 64 allocations, deleted lazily (UNLINK, or
// DEL under lazyfree-lazy-user-del), and the keys of an asynchronously flushed database.
using Cinnabar.DataTypes;

namespace Cinnabar.Keyspace;

public static class LazyFree
{
    /// <summary>LAZYFREE_THRESHOLD: values cheaper to free than this many allocations are freed inline.</summary>
    public const int Threshold = 64;

    /// <summary>lazyfreeGetFreeEffort: roughly the allocations freeing the value takes.</summary>
    public static long FreeEffort(RedisObject o) => o.Ptr switch
    {
        Quicklist ql => ql.Len,
        StringDict d => d.Count,
        ZSetSkipList z => z.Zsl.Length,
        RedisStream s => StreamEffort(s),
        _ => 1,
    };

    /// <summary>Every node is one allocation; every group and its PEL entries too (the first group's PEL size standing for all).</summary>
    static long StreamEffort(RedisStream s)
    {
        long effort = s.Nodes.NodeCount;
        if (s.Groups is { Count: > 0 } groups)
        {
            var it = groups.GetIterator();
            it.Seek(RaxSeek.First);
            it.Next();
            effort += groups.Count * (1 + it.Value.Pel.Count);
        }
        return effort;
    }

    /// <summary>freeObjAsync's choice: whether deleting o lazily would go to the background thread.</summary>
    public static bool WouldFreeInBackground(RedisObject o) => FreeEffort(o) > Threshold;
}
