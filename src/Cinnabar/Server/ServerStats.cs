// Counters behind INFO stats (Redis's server.stat_*): totals updated on the loop thread as
// commands run, keys expire, clients connect and bytes move. errorstats counts error replies
// by their code.
namespace Cinnabar.Server;

public sealed class ServerStats
{
    public long NumCommands;
    public long NumConnections;
    public long RejectedConnections;
    public long ExpiredKeys;
    /// <summary>Running estimate of the share of sampled TTL keys found expired (0..1); INFO prints it ×100 with two decimals.</summary>
    public double ExpiredStalePerc;
    public long ExpiredTimeCapReachedCount;
    public long ExpireCycleTimeUsedUs;
    public long EvictedKeys;
    public long EvictedClients;
    /// <summary>Monotonic µs when memory first stayed over maxmemory after eviction (0 = not over), and the accumulated total.</summary>
    public long LastEvictionExceededTimeUs;
    public long TotalEvictionExceededTimeUs;
    public long KeyspaceHits;
    public long KeyspaceMisses;
    public long NetInputBytes;
    public long TotalReadsProcessed;   // socket reads that returned data (stat_total_reads_processed)
    public long TotalWritesProcessed;  // calls that wrote replies (stat_total_writes_processed)
    public long NetOutputBytes;
    public long RejectedCalls;
    public long TotalErrorReplies;
    public long Dirty;
    public long ClientQbufLimitDisconnections;
    public long ClientOutbufLimitDisconnections;
    public long UnexpectedErrorReplies;
    /// <summary>Replication (INFO stats): full syncs served, partial resyncs accepted and refused, stream bytes in (a replica) and out (to replicas).</summary>
    public long SyncFull, SyncPartialOk, SyncPartialErr;
    public long NetReplInputBytes, NetReplOutputBytes;
    /// <summary>Persistence (INFO persistence): what the last RDB load found.</summary>
    public long RdbLastLoadKeysLoaded;
    public long RdbLastLoadKeysExpired;
    public long LazyfreedObjects; // lazyfreed_objects: values and flushed keys Redis would have freed in the background (Keyspace/LazyFree.cs)
    public long PeakMemory; // used_memory_peak: the highest used_memory INFO has observed
    public readonly Dictionary<string, long> ErrorCounts = new(StringComparer.Ordinal);

    public void RecordError(string code)
    {
        TotalErrorReplies++;
        // Redis caps the errorstats table at 128 distinct codes.
        if (ErrorCounts.TryGetValue(code, out long n)) ErrorCounts[code] = n + 1;
        else if (ErrorCounts.Count < 128) ErrorCounts[code] = 1;
    }

    public void Reset()
    {
        NumCommands = NumConnections = RejectedConnections = ExpiredKeys = 0;
        ExpiredStalePerc = 0;
        ExpiredTimeCapReachedCount = ExpireCycleTimeUsedUs = EvictedKeys = EvictedClients = 0;
        LastEvictionExceededTimeUs = TotalEvictionExceededTimeUs = 0;
        KeyspaceHits = KeyspaceMisses = NetInputBytes = NetOutputBytes = RejectedCalls = TotalErrorReplies = 0;
        ClientQbufLimitDisconnections = ClientOutbufLimitDisconnections = UnexpectedErrorReplies = 0;
        TotalReadsProcessed = TotalWritesProcessed = LazyfreedObjects = 0;
        SyncFull = SyncPartialOk = SyncPartialErr = NetReplInputBytes = NetReplOutputBytes = 0;
        ErrorCounts.Clear();
    }
}
