// Per-client memory and client eviction (Redis 7.0's maxmemory-clients, networking.c and
// server.c): getClientMemoryUsage counts what a client holds (reply list, query buffer, argv,
// MULTI queue and WATCHes, subscriptions, tracking prefixes, the fixed reply buffer and the
// client itself); updateClientMemUsage, called where Redis calls it (after each command, after
// a read was processed, after a write, on a publish or invalidation to the client, in
// clientsCron), keeps the per-type totals behind INFO mem_clients_normal and files each
// evictable client in one of the memory usage buckets, one per power of two (up to 32 KiB,
// 64 KiB, ..., over 4 GiB); evictClients (before each command and in beforeSleep) frees clients from the largest
// bucket down while the normal and Pub/Sub clients' total is at or over the limit. A bucket is
// an intrusive list through the clients, so moving a client costs a few integer operations.
using System.Numerics;

namespace Cinnabar.Networking;

/// <summary>
/// getClientType: the classes CLIENT LIST/KILL TYPE, client-output-buffer-limit and the client
/// memory totals use (Redis's CLIENT_TYPE_* order).
/// </summary>
public enum ClientType
{
    Normal = 0,
    Replica = 1,
    PubSub = 2,
    Master = 3,
}

public sealed class ClientEviction
{
    /// <summary>CLIENT_MEM_USAGE_BUCKET_MIN_LOG/MAX_LOG: bucket 0 holds clients up to 32 KiB, the last those over 4 GiB.</summary>
    public const int BucketMinLog = 15, BucketMaxLog = 33, Buckets = 1 + BucketMaxLog - BucketMinLog;

    /// <summary>getClientEvictionLimit's floor: a smaller setting would leave no way to talk to the server.</summary>
    public const long MinLimit = 128 * 1024;

    // Fixed sizes the accounting adds, as Redis's sizeof()s do: the client object and what it owns
    // besides its buffers; a reply chunk's object, array header and queue slot; a queued command's
    // slot (sizeof(multiCmd)); a WATCHed key (listNode + watchedKey); a pattern (listNode); a
    // channel's dict entry and bucket pointer; a radix tree node of the tracking prefixes.
    public const long ClientStructSize = 4 * 1024;
    public const long ReplyChunkOverhead = 64;
    const long QueuedCommandSize = 24, WatchedKeySize = 56, PatternSize = 24, DictEntrySize = 24, DictSlotSize = 8, RaxNodeSize = 32;

    sealed class Bucket
    {
        public Client? Head, Tail;
        public long MemUsageSum;
    }

    readonly CinnabarServer _server;
    readonly Bucket[] _buckets = new Bucket[Buckets];

    /// <summary>server.stat_clients_type_memory: the last counted usage of the linked clients, by type.</summary>
    readonly long[] _typeMemory = new long[4];

    // clientsCronTrackExpansiveClients: the largest input and output buffers seen in each of the last seconds.
    const int PeakSlots = 8;
    readonly long[] _peakInput = new long[PeakSlots], _peakOutput = new long[PeakSlots];

    public ClientEviction(CinnabarServer server)
    {
        _server = server;
        for (int i = 0; i < Buckets; i++) _buckets[i] = new Bucket();
    }

    public long TypeMemory(ClientType type) => _typeMemory[(int)type];

    /// <summary>INFO mem_clients_normal: every client that is not a replica (Redis adds the master's too).</summary>
    public long NormalClientsMemory => _typeMemory[(int)ClientType.Normal] + _typeMemory[(int)ClientType.PubSub] + _typeMemory[(int)ClientType.Master];

    /// <summary>The total of one bucket (tests).</summary>
    internal long BucketMemory(int bucket) => _buckets[bucket].MemUsageSum;

    /// <summary>getClientType: a MONITOR client counts as normal even though Redis flags it as a replica.</summary>
    public static ClientType TypeOf(Client c)
    {
        if (c.HasFlag(ClientFlags.Master)) return ClientType.Master;
        if (c.HasFlag(ClientFlags.Replica) && !c.HasFlag(ClientFlags.Monitor)) return ClientType.Replica;
        if (c.HasFlag(ClientFlags.PubSub)) return ClientType.PubSub;
        return ClientType.Normal;
    }

    /// <summary>
    /// getClientOutputBufferMemoryUsage: the reply list's blocks (allocated size plus their
    /// overhead; the fixed buffer is rbs, not omem), or for a replica its share of the stream.
    /// </summary>
    public long OutputBufferMemoryUsage(Client c)
    {
        if (c.HasFlag(ClientFlags.Replica) && !c.HasFlag(ClientFlags.Monitor) && c.ReplicaState != null)
            return _server.Replication.ReplicaOutputBytes(c);
        return c.Output.ListCapacity + c.Output.ChunkCount * ReplyChunkOverhead;
    }

    /// <summary>c->argv_len_sum plus the argv array: the arguments the client holds (those of a partial command, or of the one it runs or is blocked in).</summary>
    public long ArgvMemory(Client c) => ArgvHeld(c) ? c.Args.LengthSum + 8L * c.Args.Count : 0;

    /// <summary>CLIENT LIST argv-mem=: c->argv_len_sum.</summary>
    public long ArgvLengthSum(Client c) => ArgvHeld(c) ? c.Args.LengthSum : 0;

    bool ArgvHeld(Client c) => c.Parser.InProgress || ReferenceEquals(_server.Dispatcher.CurrentClient, c) || c.HasFlag(ClientFlags.Blocked);

    /// <summary>getClientMemoryUsage: everything the client holds, in Redis's terms; outputMemory is the omem= part.</summary>
    public long MemoryUsage(Client c, out long outputMemory)
    {
        long mem = outputMemory = OutputBufferMemoryUsage(c);
        mem += c.OwnQueryBufferBytes;
        mem += ClientStructSize + c.Output.FixedBufferSize;
        mem += ArgvMemory(c);
        if (c.MultiState is { } ms) mem += ms.ArgvLenSums + ms.Watched.Count * WatchedKeySize + ms.AllocCount * QueuedCommandSize;
        if (c.PubSubState is { } ps)
            mem += ps.Patterns.Count * PatternSize + DictMemUsage(ps.Channels.Count) + DictMemUsage(ps.ShardChannels.Count);
        // An underestimate, as Redis's: about one radix tree node per prefix.
        if (c.TrackingState?.Prefixes is { Count: > 0 } prefixes) mem += (prefixes.Count + 1) * RaxNodeSize;
        return mem;
    }

    /// <summary>dictMemUsage of a Redis dict of n entries: the entries and a power-of-two table (at least 4 slots).</summary>
    static long DictMemUsage(int n) => n == 0 ? 0 : n * DictEntrySize + (long)BitOperations.RoundUpToPowerOf2((uint)Math.Max(n, 4)) * DictSlotSize;

    /// <summary>
    /// getClientEvictionLimit: maxmemory-clients in bytes, or its percentage of maxmemory (none
    /// without maxmemory); at least 128 KiB; 0 when client eviction is off.
    /// </summary>
    public long Limit
    {
        get
        {
            long setting = _server.Config.MaxMemoryClients;
            long limit;
            if (setting < 0 && _server.Config.MaxMemory > 0) limit = (long)((double)_server.Config.MaxMemory * -setting / 100);
            else if (setting > 0) limit = setting;
            else return 0;
            return Math.Max(limit, MinLimit);
        }
    }

    /// <summary>
    /// updateClientMemUsage: counts the client's memory again, moves the difference into its
    /// type's total and files it in the bucket of its size, or out of the buckets when it may not
    /// be evicted (replicas, the master, CLIENT NO-EVICT). Only linked clients are counted.
    /// </summary>
    public void Update(Client c)
    {
        if (c.Freed || c.Socket == null) return;
        long mem = MemoryUsage(c, out _);
        var type = TypeOf(c);
        if ((int)type != c.LastMemoryType)
        {
            _typeMemory[c.LastMemoryType] -= c.LastMemoryUsage;
            _typeMemory[(int)type] += mem;
            c.LastMemoryType = (int)type;
        }
        else _typeMemory[(int)type] += mem - c.LastMemoryUsage;

        bool allowEviction = type is ClientType.Normal or ClientType.PubSub && !c.HasFlag(ClientFlags.NoEvict);
        if (c.MemBucket >= 0)
        {
            _buckets[c.MemBucket].MemUsageSum -= c.LastMemoryUsage;
            if (!allowEviction) Unlink(c);
        }
        if (allowEviction)
        {
            int b = BucketOf(mem);
            _buckets[b].MemUsageSum += mem;
            if (b != c.MemBucket)
            {
                if (c.MemBucket >= 0) Unlink(c);
                Link(c, b);
            }
        }
        c.LastMemoryUsage = mem;
    }

    /// <summary>freeClient's part: the client's memory leaves its type's total and its bucket.</summary>
    public void Remove(Client c)
    {
        _typeMemory[c.LastMemoryType] -= c.LastMemoryUsage;
        if (c.MemBucket >= 0)
        {
            _buckets[c.MemBucket].MemUsageSum -= c.LastMemoryUsage;
            Unlink(c);
        }
        c.LastMemoryUsage = 0;
    }

    /// <summary>getMemUsageBucket: log2 of the usage, clamped to the bucket range.</summary>
    static int BucketOf(long mem)
    {
        int log = mem > 0 ? 64 - BitOperations.LeadingZeroCount((ulong)mem) : 0;
        return Math.Clamp(log, BucketMinLog, BucketMaxLog) - BucketMinLog;
    }

    void Link(Client c, int b)
    {
        var bucket = _buckets[b];
        c.MemBucket = b;
        c.MemPrev = bucket.Tail;
        c.MemNext = null;
        if (bucket.Tail != null) bucket.Tail.MemNext = c;
        else bucket.Head = c;
        bucket.Tail = c;
    }

    void Unlink(Client c)
    {
        var bucket = _buckets[c.MemBucket];
        if (c.MemPrev != null) c.MemPrev.MemNext = c.MemNext;
        else bucket.Head = c.MemNext;
        if (c.MemNext != null) c.MemNext.MemPrev = c.MemPrev;
        else bucket.Tail = c.MemPrev;
        c.MemPrev = c.MemNext = null;
        c.MemBucket = -1;
    }

    /// <summary>
    /// evictClients: while the normal and Pub/Sub clients together use the limit or more (the
    /// NO-EVICT ones count but stay), frees clients from the largest bucket down, each logged
    /// with its CLIENT LIST line and counted in evicted_clients.
    /// </summary>
    public void EvictClients()
    {
        long limit = Limit;
        if (limit == 0) return;
        int b = Buckets - 1;
        Client? next = _buckets[b].Head;
        while (_typeMemory[(int)ClientType.Normal] + _typeMemory[(int)ClientType.PubSub] >= limit)
        {
            if (next != null)
            {
                var c = next;
                next = c.MemNext;
                _server.Log.Notice("Evicting client: " + Commands.ClientCommands.InfoString(c));
                _server.Clients.FreeClient(c);
                _server.Stats.EvictedClients++;
            }
            else
            {
                if (--b < 0)
                {
                    _server.Log.Warning("Over client maxmemory after evicting all evictable clients");
                    break;
                }
                next = _buckets[b].Head;
            }
        }
    }

    /// <summary>clientsCron's per-second slot: the next one is cleared, so each holds one second's peaks.</summary>
    internal int BeginPeakSlot()
    {
        int slot = (int)(_server.NowMs / 1000 % PeakSlots);
        int zero = (slot + 1) % PeakSlots;
        _peakInput[zero] = _peakOutput[zero] = 0;
        return slot;
    }

    /// <summary>clientsCronTrackExpansiveClients: the query buffer and argv, and the output buffer, against this second's peaks.</summary>
    internal void TrackExpansiveClient(Client c, int slot)
    {
        long input = c.OwnQueryBufferBytes + ArgvMemory(c);
        long output = OutputBufferMemoryUsage(c);
        if (input > _peakInput[slot]) _peakInput[slot] = input;
        if (output > _peakOutput[slot]) _peakOutput[slot] = output;
    }

    /// <summary>getExpansiveClientsInfo: INFO client_recent_max_input_buffer and client_recent_max_output_buffer.</summary>
    public (long Input, long Output) RecentMaxBuffers()
    {
        long i = 0, o = 0;
        for (int j = 0; j < PeakSlots; j++)
        {
            i = Math.Max(i, _peakInput[j]);
            o = Math.Max(o, _peakOutput[j]);
        }
        return (i, o);
    }
}
