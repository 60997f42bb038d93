// Object introspection (Redis's object.c OBJECT and MEMORY commands): ENCODING, REFCOUNT,
// IDLETIME, FREQ, and MEMORY USAGE/DOCTOR/STATS/MALLOC-STATS/PURGE. Sizes come from the
// keyspace's running estimates (ObjectSize), not from an allocator, so MEMORY figures are
// Cinnabar's own; the shapes, options and errors are Redis's.
using Cinnabar.Keyspace;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public static class ObjectCommands
{
    /// <summary>Integers 0..9999 are served from Redis's shared pool, whose refcount reads as INT_MAX.</summary>
    const int SharedIntegers = 10000;

    /// <summary>addReplyHelp: the "&lt;NAME&gt; &lt;subcommand&gt; ..." header, the lines, then HELP.</summary>
    static void ReplyHelp(Client c, string name, string[] lines)
    {
        c.Reply.ArrayLen(lines.Length + 3);
        c.Reply.Status($"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        foreach (var l in lines) c.Reply.Status(l);
        c.Reply.Status("HELP");
        c.Reply.Status("    Prints this help.");
    }

    static bool LfuPolicy(Client c) => c.Server.Config.LfuPolicy;

    /// <summary>objectCommandLookupOrReply: no LRU touch, null reply when missing.</summary>
    static RedisObject? LookupOrNull(Client c)
    {
        var o = c.Db.LookupRead(c.Args[2], touch: false, notify: false);
        if (o == null) c.Reply.Null();
        return o;
    }

    [Command("object|help")]
    static void ObjectHelp(Client c) => ReplyHelp(c, "OBJECT",
    [
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    ]);

    [Command("object|encoding")]
    static void ObjectEncoding(Client c)
    {
        var o = LookupOrNull(c);
        if (o != null) c.Reply.Bulk(RedisObject.EncodingName(o.Encoding));
    }

    [Command("object|refcount")]
    static void ObjectRefcount(Client c)
    {
        var o = LookupOrNull(c);
        if (o == null) return;
        // Cinnabar never shares value objects between keys; Redis shares small integers (unless a
        // maxmemory LRU/LFU policy needs per-key access data), and reports those as INT_MAX.
        bool policyForbidsSharing = c.Server.Config.MaxMemory != 0 &&
            (c.Server.Config.MaxMemoryPolicy.Contains("lru", StringComparison.Ordinal) || LfuPolicy(c));
        bool shared = o.Type == ObjType.String && o.Encoding == ObjEncoding.Int &&
            o.IntValue >= 0 && o.IntValue < SharedIntegers && !policyForbidsSharing;
        c.Reply.Integer(shared ? int.MaxValue : 1);
    }

    [Command("object|idletime")]
    static void ObjectIdletime(Client c)
    {
        var o = LookupOrNull(c);
        if (o == null) return;
        if (LfuPolicy(c))
        {
            c.Reply.Error("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
            return;
        }
        c.Reply.Integer(Eviction.IdleTimeMs(o, c.Server.Clock.LruClock) / 1000);
    }

    [Command("object|freq")]
    static void ObjectFreq(Client c)
    {
        var o = LookupOrNull(c);
        if (o == null) return;
        if (!LfuPolicy(c))
        {
            c.Reply.Error("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
            return;
        }
        c.Reply.Integer(Eviction.DecrAndReturn(o, c.Server.NowMs, c.Server.Config.LfuDecayTime));
    }

    // ---------------------------------------------------------------- MEMORY

    [Command("memory|help")]
    static void MemoryHelp(Client c) => ReplyHelp(c, "MEMORY",
    [
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ]);

    [Command("memory|usage")]
    static void MemoryUsage(Client c)
    {
        for (int j = 3; j < c.Args.Count; j++)
        {
            if (c.Args.Is(j, "samples") && j + 1 < c.Args.Count)
            {
                if (!Arguments.TryGetLong(c, j + 1, out long samples)) return;
                if (samples < 0)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                // The estimate is kept exactly as values change, so there is nothing to sample.
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        // Redis reads the dict directly: a key past its TTL but not yet reclaimed still has a size.
        var e = c.Db.Main.Find(c.Args[2]);
        if (e == null)
        {
            c.Reply.Null();
            return;
        }
        c.Reply.Integer(ObjectSize.OfKey(e));
    }

    [Command("memory|doctor")]
    static void MemoryDoctor(Client c) => c.Reply.Verbatim(MemoryDoctorReport(c.Server));

    /// <summary>getMemoryDoctorReport, over the checks Cinnabar can measure (size, client output buffers).</summary>
    static string MemoryDoctorReport(CinnabarServer server)
    {
        long total = server.UsedMemory;
        bool empty = total < 1024 * 1024 * 5;
        bool bigClientBuf = false;
        if (!empty)
        {
            long clientBytes = 0;
            foreach (var cl in server.Clients.All) clientBytes += cl.Output.ListBytes;
            bigClientBuf = server.Clients.Count > 0 && clientBytes / server.Clients.Count > 1024 * 200;
        }
        if (empty)
            return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. " +
                "Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
        if (!bigClientBuf)
            return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
        return "Sam, I detected a few issues in this Redis instance memory implants:\n\n" +
            " * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, " +
            "like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending " +
            "commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue " +
            "if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n" +
            "I'm here to keep you safe, Sam. I want to help you.\n";
    }

    [Command("memory|malloc-stats")]
    static void MemoryMallocStats(Client c) => c.Reply.Bulk("Stats not supported for the current allocator"u8);

    [Command("memory|purge")]
    static void MemoryPurge(Client c)
    {
        // The allocator's counterpart: ask the GC to compact and return freed memory to the OS.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        c.Reply.Ok();
    }

    [Command("memory|stats")]
    static void MemoryStats(Client c)
    {
        var server = c.Server;
        long total = server.UsedMemory;
        long startup = CinnabarServer.BaselineMemory;
        long clientsNormal = 0;
        foreach (var cl in server.Clients.All) clientsNormal += cl.Output.ListBytes + cl.QueryBufferCapacity;
        var dbs = server.Databases.Where(d => d.Main.Count > 0).ToList();
        long overheadTotal = startup + clientsNormal;
        long keys = 0;
        foreach (var d in dbs)
        {
            overheadTotal += HashtableOverhead(d.Main, ObjectSize.KeyEntryFields) + HashtableOverhead(d.Expires, ObjectSize.DictEntryOverhead) + d.SlotsIndexMemory;
            keys += d.Count;
        }
        long dataset = Math.Max(0, total - overheadTotal);
        long netUsage = Math.Max(1, total - startup);
        long rss = Environment.WorkingSet;

        var r = c.Reply;
        r.MapLen(27 + dbs.Count);
        Field(r, "peak.allocated", total);
        Field(r, "total.allocated", total);
        Field(r, "startup.allocated", startup);
        Field(r, "replication.backlog", 0);
        Field(r, "clients.slaves", 0);
        Field(r, "clients.normal", clientsNormal);
        Field(r, "cluster.links", 0);
        Field(r, "aof.buffer", 0);
        Field(r, "lua.caches", 0);
        Field(r, "functions.caches", 0);
        foreach (var d in dbs)
        {
            r.Bulk("db." + d.Id);
            r.MapLen(3);
            Field(r, "overhead.hashtable.main", HashtableOverhead(d.Main, ObjectSize.KeyEntryFields));
            Field(r, "overhead.hashtable.expires", HashtableOverhead(d.Expires, ObjectSize.DictEntryOverhead));
            Field(r, "overhead.hashtable.slot-to-keys", d.SlotsIndexMemory);
        }
        Field(r, "overhead.total", overheadTotal);
        Field(r, "keys.count", keys);
        Field(r, "keys.bytes-per-key", keys == 0 ? 0 : netUsage / keys);
        Field(r, "dataset.bytes", dataset);
        r.Bulk("dataset.percentage"); r.Double(dataset * 100.0 / netUsage);
        r.Bulk("peak.percentage"); r.Double(100.0);
        Field(r, "allocator.allocated", total);
        Field(r, "allocator.active", total);
        Field(r, "allocator.resident", rss);
        r.Bulk("allocator-fragmentation.ratio"); r.Double(1.0);
        Field(r, "allocator-fragmentation.bytes", 0);
        r.Bulk("allocator-rss.ratio"); r.Double((double)rss / Math.Max(1, total));
        Field(r, "allocator-rss.bytes", rss - total);
        r.Bulk("rss-overhead.ratio"); r.Double(1.0);
        Field(r, "rss-overhead.bytes", 0);
        r.Bulk("fragmentation"); r.Double((double)rss / Math.Max(1, total));
        Field(r, "fragmentation.bytes", rss - total);
    }

    /// <summary>The bucket arrays and entry headers of a dict (what Redis counts as hashtable overhead).</summary>
    /// <summary>
    /// The bucket arrays and entry headers of a dict (what Redis counts as hashtable overhead). The
    /// keyspace's objects are their own entries: their chain link and key fields count here.
    /// </summary>
    static long HashtableOverhead<TEntry>(EntryDict<TEntry> d, int entryBytes) where TEntry : DictEntry => d.BucketCount * 8 + d.Count * entryBytes;

    static void Field(Protocol.ReplyWriter r, string name, long value)
    {
        r.Bulk(name);
        r.Integer(value);
    }
}
