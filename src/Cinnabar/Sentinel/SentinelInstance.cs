// sentinelRedisInstance: what one Sentinel knows about a monitored master, one of its replicas,
// or another Sentinel watching the same master: address, link, run id, the flags of its state
// (s_down, o_down, failover_in_progress, promoted, reconf_*), what its last INFO said, and for a
// master the replicas, the other Sentinels, the quorum and the failover's state.
namespace Cinnabar.Sentinel;

[Flags]
public enum InstanceFlags
{
    None = 0,
    Master = 1 << 0,
    Slave = 1 << 1,
    Sentinel = 1 << 2,
    SDown = 1 << 3,
    ODown = 1 << 4,
    /// <summary>A Sentinel that replied it thinks the master is down.</summary>
    MasterDown = 1 << 5,
    FailoverInProgress = 1 << 6,
    Promoted = 1 << 7,
    ReconfSent = 1 << 8,
    ReconfInProgress = 1 << 9,
    ReconfDone = 1 << 10,
    ForceFailover = 1 << 11,
    ScriptKillSent = 1 << 12,
    MasterReboot = 1 << 13,
}

public enum FailoverState
{
    None,
    WaitStart,
    SelectSlave,
    SendSlaveofNoOne,
    WaitPromotion,
    ReconfSlaves,
    UpdateConfig,
}

public sealed class SentinelInstance
{
    public const int DefaultSlavePriority = 100;

    public InstanceFlags Flags;
    public readonly string Name;
    public string? RunId;
    public ulong ConfigEpoch;
    public SentinelAddr Addr;
    public InstanceLink Link;
    public bool Released;

    public long LastPubTime, LastHelloTime, LastMasterDownReplyTime;
    public long SDownSinceTime, ODownSinceTime;
    public long DownAfterPeriod;
    public long MasterRebootDownAfterPeriod, MasterRebootSinceTime;
    /// <summary>When the last INFO reply came (0: never).</summary>
    public long InfoRefresh;
    /// <summary>rename-command: the names to send instead of SLAVEOF, CONFIG, ... (kept on the master).</summary>
    public readonly Dictionary<string, string> RenamedCommands = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The role the instance reported (Master or Slave) and since when.</summary>
    public InstanceFlags RoleReported;
    public long RoleReportedTime;
    public long SlaveConfChangeTime;

    // A master's.
    public readonly Dictionary<string, SentinelInstance> Sentinels = new(StringComparer.Ordinal);
    public readonly Dictionary<string, SentinelInstance> Slaves = new(StringComparer.Ordinal);
    public int Quorum;
    public int ParallelSyncs = 1;
    public string? AuthPass, AuthUser;

    // A replica's, from its INFO.
    public long MasterLinkDownTime;
    public int SlavePriority = DefaultSlavePriority;
    public int ReplicaAnnounced = 1;
    public long SlaveReconfSentTime;
    public readonly SentinelInstance? Master;
    public string? SlaveMasterHost;
    public int SlaveMasterPort;
    public bool SlaveMasterLinkUp;
    public long SlaveReplOffset;

    // The failover: for a master, the Sentinel that should run it; for a Sentinel, whom it voted for.
    public string? Leader;
    public ulong LeaderEpoch;
    public ulong FailoverEpoch;
    public FailoverState FailoverState;
    public long FailoverStateChangeTime, FailoverStartTime, FailoverTimeout, FailoverDelayLogged;
    public SentinelInstance? PromotedSlave;
    public string? NotificationScript, ClientReconfigScript;
    /// <summary>The last INFO reply, for SENTINEL INFO-CACHE.</summary>
    public string? Info;

    public SentinelInstance(string name, InstanceFlags flags, SentinelAddr addr, int quorum, SentinelInstance? master, long now, long defaultDownAfter, long defaultFailoverTimeout)
    {
        Name = name;
        Flags = flags;
        Addr = addr;
        Quorum = quorum;
        Master = master;
        Link = new InstanceLink(now);
        LastPubTime = LastHelloTime = LastMasterDownReplyTime = now;
        DownAfterPeriod = master?.DownAfterPeriod ?? defaultDownAfter;
        FailoverTimeout = defaultFailoverTimeout;
        RoleReported = flags & (InstanceFlags.Master | InstanceFlags.Slave);
        RoleReportedTime = SlaveConfChangeTime = now;
    }

    public bool IsMaster => (Flags & InstanceFlags.Master) != 0;
    public bool IsSlave => (Flags & InstanceFlags.Slave) != 0;
    public bool IsSentinel => (Flags & InstanceFlags.Sentinel) != 0;
    public bool Has(InstanceFlags f) => (Flags & f) != 0;

    /// <summary>sentinelRedisInstanceTypeStr.</summary>
    public string TypeName => IsMaster ? "master" : IsSlave ? "slave" : IsSentinel ? "sentinel" : "unknown";

    /// <summary>sentinelInstanceMapCommand: the command's name on this instance (renamed on its master).</summary>
    public string MapCommand(string command) =>
        (Master ?? this).RenamedCommands.TryGetValue(command, out var renamed) ? renamed : command;

    /// <summary>sentinelRedisInstanceNoDownFor: no SDOWN or ODOWN in the last ms milliseconds.</summary>
    public bool NoDownFor(long ms, long now)
    {
        long mostRecent = Math.Max(SDownSinceTime, ODownSinceTime);
        return mostRecent == 0 || now - mostRecent > ms;
    }

    /// <summary>sentinelGetCurrentMasterAddress: the promoted replica's address once the failover reached reconf-slaves.</summary>
    public SentinelAddr CurrentMasterAddress =>
        Has(InstanceFlags.FailoverInProgress) && PromotedSlave != null && FailoverState >= FailoverState.ReconfSlaves
            ? PromotedSlave.Addr
            : Addr;
}
