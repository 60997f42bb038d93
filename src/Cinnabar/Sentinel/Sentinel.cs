// Sentinel mode (sentinel.c): the server started with --sentinel monitors masters instead of
// holding data. This file is the global state (sentinelState: myid, current epoch, the masters,
// TILT), the instance tables and the timer that drives everything (sentinelTimer, run from
// serverCron at a randomly varying hz so Sentinels started together drift apart and do not ask
// for votes in lock-step). The links and the hello protocol are in Sentinel.Links.cs, failure
// detection and failover in Sentinel.Failover.cs, the config in SentinelConfig.cs, the commands
// in SentinelCommands.cs.
using System.Globalization;
using System.Text;
using Cinnabar.Server;

namespace Cinnabar.Sentinel;

public sealed partial class Sentinel
{
    public const int DefaultPort = 26379;
    public const string HelloChannel = "__sentinel__:hello";
    const int MaxPendingCommands = 100;
    const int MaxDesync = 1000;
    const int DefaultHz = 10;

    readonly CinnabarServer _server;
    readonly Random _random = new();

    /// <summary>The periods SENTINEL DEBUG shows and sets (sentinel_info_period, ...), in milliseconds.</summary>
    public readonly SentinelTimings Timings = new();

    /// <summary>This Sentinel's id (40 hex characters), chosen at first start and kept in the config file.</summary>
    public string MyId = "";
    public ulong CurrentEpoch;

    /// <summary>The monitored masters by name.</summary>
    public readonly Dictionary<string, SentinelInstance> Masters = new(StringComparer.Ordinal);

    public bool Tilt;
    public long TiltStartTime;
    long _previousTime;

    public string? AnnounceIp;
    public int AnnouncePort;
    public bool DenyScriptsReconfig = true;
    public string? SentinelAuthPass, SentinelAuthUser;
    public bool ResolveHostnames, AnnounceHostnames;

    /// <summary>SENTINEL SIMULATE-FAILURE flags: 1 crash after election, 2 crash after promotion.</summary>
    public int SimFailureFlags;
    public const int SimCrashAfterElection = 1, SimCrashAfterPromotion = 2;

    /// <summary>The timer's current frequency (server.hz, re-drawn from 10..19 on every run).</summary>
    public int Hz { get; private set; } = DefaultHz;

    public readonly SentinelScripts Scripts;

    public Sentinel(CinnabarServer server)
    {
        _server = server;
        _previousTime = Now;
        Scripts = new SentinelScripts(this);
    }

    /// <summary>mstime(): wall-clock milliseconds, as TILT needs to notice the clock jumping.</summary>
    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    internal Logger Log => _server.Log;

    /// <summary>
    /// sentinelIsRunning: a Sentinel without an id picks one and saves it; the id is logged and a
    /// +monitor event generated for every configured master.
    /// </summary>
    public void IsRunning()
    {
        if (MyId.Length == 0)
        {
            MyId = RandomBytes.Hex(20);
            FlushConfig();
        }
        Log.Warning($"Sentinel ID is {MyId}");
        foreach (var m in Masters.Values) EventAt(LogWarning, "+monitor", m, $" quorum {m.Quorum}");
    }

    // Log levels as sentinelEvent takes them.
    internal const int LogDebug = 0, LogVerbose = 1, LogNotice = 2, LogWarning = 3;

    /// <summary>
    /// sentinelEvent with "%@": the message starts with the instance ("master mymaster 127.0.0.1
    /// 6379", and "@ master ip port" after a replica or Sentinel); then it is logged, published on
    /// the channel named after the event (unless debug) and, for warnings, given to the master's
    /// notification script.
    /// </summary>
    internal void EventAt(int level, string type, SentinelInstance ri, string suffix = "")
    {
        var master = ri.IsMaster ? null : ri.Master;
        string msg = master != null
            ? $"{ri.TypeName} {ri.Name} {Announce(ri.Addr)} {ri.Addr.Port} @ {master.Name} {Announce(master.Addr)} {master.Addr.Port}"
            : $"{ri.TypeName} {ri.Name} {Announce(ri.Addr)} {ri.Addr.Port}";
        Event(level, type, ri, msg + suffix);
    }

    /// <summary>sentinelEvent without an instance prefix.</summary>
    internal void Event(int level, string type, SentinelInstance? ri, string msg)
    {
        Log.Write(level, $"{type} {msg}");
        if (level != LogDebug)
            _server.PubSub.PublishMessage(Encoding.UTF8.GetBytes(type), Encoding.UTF8.GetBytes(msg), PubSub.PubSubType.Global);
        if (level == LogWarning && ri != null)
        {
            var master = ri.IsMaster ? ri : ri.Master;
            if (master?.NotificationScript is { } script) Scripts.Schedule(script, type, msg);
        }
    }

    /// <summary>announceSentinelAddr: the hostname with announce-hostnames, else the IP.</summary>
    public string Announce(SentinelAddr a) => AnnounceHostnames ? a.Hostname : a.Ip;

    /// <summary>announceSentinelAddrAndPort: "ip:port", IPv6 in brackets (a replica's name).</summary>
    public string AnnounceWithPort(SentinelAddr a)
    {
        string addr = Announce(a);
        string port = a.Port.ToString(CultureInfo.InvariantCulture);
        return addr.Contains(':') ? $"[{addr}]:{port}" : $"{addr}:{port}";
    }

    public enum CreateError { None, Busy, NoEnt, Invalid }

    /// <summary>createSentinelAddr: null when the port is out of range or the host does not resolve (unless acceptUnresolved with resolve-hostnames).</summary>
    public SentinelAddr? CreateAddr(string hostname, int port, bool acceptUnresolved, out CreateError error)
    {
        error = CreateError.None;
        if (port < 0 || port > 65535)
        {
            error = CreateError.Invalid;
            return null;
        }
        string? ip = SentinelAddr.Resolve(hostname, ResolveHostnames);
        if (ip == null)
        {
            Log.Warning($"Failed to resolve hostname '{hostname}'");
            if (ResolveHostnames && acceptUnresolved) ip = "";
            else
            {
                error = CreateError.NoEnt;
                return null;
            }
        }
        return new SentinelAddr(hostname, ip, port);
    }

    /// <summary>
    /// createSentinelRedisInstance: a master (into Masters), a replica (named ip:port, into its
    /// master's replicas) or a Sentinel (into its master's Sentinels); null with the reason when
    /// the address is bad or the name/address is taken.
    /// </summary>
    public SentinelInstance? CreateInstance(string? name, InstanceFlags flags, string hostname, int port, int quorum, SentinelInstance? master, out CreateError error)
    {
        var addr = CreateAddr(hostname, port, acceptUnresolved: true, out error);
        if (addr == null) return null;
        string key = (flags & InstanceFlags.Slave) != 0 ? AnnounceWithPort(addr) : name!;
        var table = (flags & InstanceFlags.Master) != 0 ? Masters
            : (flags & InstanceFlags.Slave) != 0 ? master!.Slaves
            : master!.Sentinels;
        if (table.ContainsKey(key))
        {
            error = CreateError.Busy;
            return null;
        }
        var ri = new SentinelInstance(key, flags, addr, quorum, master, Now, Timings.DefaultDownAfter, Timings.DefaultFailoverTimeout);
        table[key] = ri;
        return ri;
    }

    /// <summary>sentinelCheckCreateInstanceErrors.</summary>
    public static string CreateErrorText(CreateError error, InstanceFlags role) => error switch
    {
        CreateError.Busy => (role & InstanceFlags.Master) != 0 ? "Duplicate master name."
            : (role & InstanceFlags.Slave) != 0 ? "Duplicate hostname and port for replica."
            : "Duplicate runid for sentinel.",
        CreateError.NoEnt => "Can't resolve instance hostname.",
        CreateError.Invalid => "Invalid port number.",
        _ => "Unknown Error for creating instances.",
    };

    /// <summary>releaseSentinelRedisInstance: its replicas and Sentinels go too; a shared link stays with its other owners.</summary>
    internal void Release(SentinelInstance ri)
    {
        foreach (var s in ri.Sentinels.Values) Release(s);
        foreach (var s in ri.Slaves.Values) Release(s);
        ri.Sentinels.Clear();
        ri.Slaves.Clear();
        ri.Released = true;
        ReleaseLink(ri.Link);
        if (ri.IsSlave && ri.Has(InstanceFlags.Promoted) && ri.Master != null && ri.Master.PromotedSlave == ri)
            ri.Master.PromotedSlave = null;
    }

    static void ReleaseLink(InstanceLink link)
    {
        if (--link.RefCount == 0) link.CloseBoth();
    }

    /// <summary>Removes a master (SENTINEL REMOVE) with everything it holds.</summary>
    public void RemoveMaster(SentinelInstance master)
    {
        Masters.Remove(master.Name);
        Release(master);
    }

    public SentinelInstance? GetMaster(string name) => Masters.GetValueOrDefault(name);

    /// <summary>getSentinelRedisInstanceByAddrAndRunID: by address (resolved as given), by run id, or both.</summary>
    internal SentinelInstance? FindByAddrAndRunId(IEnumerable<SentinelInstance> instances, string? addr, int port, string? runId)
    {
        SentinelAddr? wanted = null;
        if (addr != null)
        {
            wanted = CreateAddr(addr, port, acceptUnresolved: true, out _);
            if (wanted == null) return null;
        }
        foreach (var ri in instances)
        {
            if (runId != null && ri.RunId == null) continue;
            if ((runId == null || ri.RunId == runId) && (wanted == null || ri.Addr.IsEqualOrSameHostname(wanted)))
                return ri;
        }
        return null;
    }

    /// <summary>A monitored master by address (SENTINEL IS-MASTER-DOWN-BY-ADDR).</summary>
    public SentinelInstance? FindMasterByAddr(string ip, int port) => FindByAddrAndRunId(Masters.Values, ip, port, null);

    /// <summary>sentinelRedisInstanceLookupSlave: a master's replica by address.</summary>
    internal SentinelInstance? LookupSlave(SentinelInstance master, string host, int port)
    {
        var addr = CreateAddr(host, port, acceptUnresolved: false, out _);
        return addr == null ? null : master.Slaves.GetValueOrDefault(AnnounceWithPort(addr));
    }

    /// <summary>sentinelAddrEqualsHostname: the host (resolved now) is the address's IP.</summary>
    internal bool AddrEqualsHostname(SentinelAddr a, string? host)
    {
        if (host == null) return false;
        string? ip = SentinelAddr.Resolve(host, ResolveHostnames);
        return ip != null && string.Equals(a.Ip, ip, StringComparison.OrdinalIgnoreCase);
    }

    public const int ResetNoSentinels = 1, ResetGenerateEvent = 2;

    /// <summary>
    /// sentinelResetMaster: replicas (and, unless told otherwise, Sentinels) forgotten, runtime
    /// flags and the failover cleared, links dropped to be made again.
    /// </summary>
    public void ResetMaster(SentinelInstance ri, int flags)
    {
        foreach (var s in ri.Slaves.Values) Release(s);
        ri.Slaves.Clear();
        if ((flags & ResetNoSentinels) == 0)
        {
            foreach (var s in ri.Sentinels.Values) Release(s);
            ri.Sentinels.Clear();
        }
        ri.Link.CloseBoth();
        ri.Flags &= InstanceFlags.Master;
        ri.Leader = null;
        ri.FailoverState = FailoverState.None;
        ri.FailoverStateChangeTime = 0;
        ri.FailoverStartTime = 0;
        ri.PromotedSlave = null;
        ri.RunId = null;
        ri.SlaveMasterHost = null;
        long now = Now;
        ri.Link.ActPingTime = now;
        ri.Link.LastPingTime = 0;
        ri.Link.LastAvailTime = now;
        ri.Link.LastPongTime = now;
        ri.RoleReportedTime = now;
        ri.RoleReported = InstanceFlags.Master;
        if ((flags & ResetGenerateEvent) != 0) EventAt(LogWarning, "+reset-master", ri);
    }

    /// <summary>sentinelResetMastersByPattern: SENTINEL RESET's count of masters reset.</summary>
    public int ResetMastersByPattern(string pattern, int flags)
    {
        int reset = 0;
        foreach (var ri in Masters.Values.ToList())
        {
            if (!Keyspace.GlobMatcher.Match(Encoding.UTF8.GetBytes(pattern), Encoding.UTF8.GetBytes(ri.Name), nocase: false)) continue;
            ResetMaster(ri, flags);
            reset++;
        }
        return reset;
    }

    /// <summary>
    /// sentinelResetMasterAndChangeAddress (+switch-master): the master takes the new address and
    /// keeps its Sentinels; its replicas are re-created from their addresses, without the one that
    /// became the master and with the old master's address added, so it is reconfigured when it returns.
    /// </summary>
    public bool ResetMasterAndChangeAddress(SentinelInstance master, string hostname, int port)
    {
        var newAddr = CreateAddr(hostname, port, acceptUnresolved: false, out _);
        if (newAddr == null) return false;
        var slaves = master.Slaves.Values.Where(s => !s.Addr.IsEqual(newAddr)).Select(s => s.Addr).ToList();
        if (!newAddr.IsEqual(master.Addr)) slaves.Add(master.Addr);
        ResetMaster(master, ResetNoSentinels);
        master.Addr = newAddr;
        master.ODownSinceTime = 0;
        master.SDownSinceTime = 0;
        foreach (var a in slaves)
        {
            var slave = CreateInstance(null, InstanceFlags.Slave, a.Hostname, a.Port, master.Quorum, master, out _);
            if (slave != null) EventAt(LogNotice, "+slave", slave);
        }
        FlushConfig();
        return true;
    }

    /// <summary>sentinelPropagateDownAfterPeriod: a master's down-after-milliseconds applies to its replicas and Sentinels.</summary>
    public static void PropagateDownAfterPeriod(SentinelInstance master)
    {
        foreach (var ri in master.Slaves.Values) ri.DownAfterPeriod = master.DownAfterPeriod;
        foreach (var ri in master.Sentinels.Values) ri.DownAfterPeriod = master.DownAfterPeriod;
    }

    /// <summary>sentinelTimer: one pass over every instance, the scripts, and a new hz.</summary>
    public void Timer()
    {
        CheckTiltCondition();
        HandleInstances(Masters.Values.ToList());
        Scripts.RunPending();
        Scripts.CollectTerminated();
        Scripts.KillTimedOut();
        Hz = DefaultHz + _random.Next(DefaultHz);
    }

    /// <summary>sentinelCheckTiltCondition: the timer ran after a negative or too long interval: act on nothing for tilt-period.</summary>
    void CheckTiltCondition()
    {
        long now = Now;
        long delta = now - _previousTime;
        if (delta < 0 || delta > Timings.TiltTrigger)
        {
            Tilt = true;
            TiltStartTime = Now;
            Event(LogWarning, "+tilt", null, "#tilt mode entered");
        }
        _previousTime = Now;
    }

    /// <summary>sentinelHandleDictOfRedisInstances: masters, then their replicas and Sentinels; a finished failover switches the master last.</summary>
    void HandleInstances(List<SentinelInstance> instances)
    {
        SentinelInstance? switchToPromoted = null;
        foreach (var ri in instances)
        {
            if (ri.Released) continue;
            HandleInstance(ri);
            if (ri.IsMaster && !ri.Released)
            {
                HandleInstances(ri.Slaves.Values.ToList());
                HandleInstances(ri.Sentinels.Values.ToList());
                if (ri.FailoverState == FailoverState.UpdateConfig) switchToPromoted = ri;
            }
        }
        if (switchToPromoted != null) FailoverSwitchToPromotedSlave(switchToPromoted);
    }

    /// <summary>sentinelHandleRedisInstance: the monitoring half always, the acting half unless in TILT.</summary>
    void HandleInstance(SentinelInstance ri)
    {
        ReconnectInstance(ri);
        SendPeriodicCommands(ri);
        if (Tilt)
        {
            if (Now - TiltStartTime < Timings.TiltPeriod) return;
            Tilt = false;
            Event(LogWarning, "-tilt", null, "#tilt mode exited");
        }
        CheckSubjectivelyDown(ri);
        if (ri.IsMaster)
        {
            CheckObjectivelyDown(ri);
            if (StartFailoverIfNeeded(ri)) AskMasterStateToOtherSentinels(ri, forced: true);
            FailoverStateMachine(ri);
            AskMasterStateToOtherSentinels(ri, forced: false);
        }
    }

    /// <summary>sentinelSimFailureCrash.</summary>
    void SimFailureCrash()
    {
        Log.Warning("Sentinel CRASH because of SENTINEL simulate-failure");
        _server.Exit(99);
    }
}

/// <summary>The periods Redis keeps in sentinel_*_period globals; SENTINEL DEBUG reads and sets them.</summary>
public sealed class SentinelTimings
{
    public long InfoPeriod = 10000;
    public long PingPeriod = 1000;
    public long AskPeriod = 1000;
    public long PublishPeriod = 2000;
    public long DefaultDownAfter = 30000;
    public long TiltTrigger = 2000;
    public long TiltPeriod = 30000;
    public long SlaveReconfTimeout = 10000;
    public long MinLinkReconnectPeriod = 15000;
    public long ElectionTimeout = 10000;
    public long ScriptMaxRuntime = 60000;
    public long ScriptRetryDelay = 30000;
    public long DefaultFailoverTimeout = 180000;
}
