// Sentinel's part of the config file: the `sentinel ...` lines read at start-up
// (sentinelHandleConfiguration, in Redis's order: global options, then monitor lines, then the
// per-master options that need the master) and the lines written back on every state change
// (rewriteConfigSentinelOption via CONFIG REWRITE's engine, then fsync: sentinelFlushConfig), so
// a restarted Sentinel resumes with its id, epochs, known replicas and known Sentinels.
using System.Globalization;
using Cinnabar.Server;

namespace Cinnabar.Sentinel;

public sealed partial class Sentinel
{
    static readonly string[] PreMonitorOptions =
        ["announce-ip", "announce-port", "deny-scripts-reconfig", "sentinel-user", "sentinel-pass", "current-epoch", "myid", "resolve-hostnames", "announce-hostnames"];

    /// <summary>loadSentinelConfigFromQueue: the queued lines in three passes; the first bad one is a FATAL CONFIG FILE ERROR.</summary>
    public void LoadConfig(IReadOnlyList<SentinelDirective> directives)
    {
        var pre = directives.Where(d => PreMonitorOptions.Contains(d.Argv[0], StringComparer.OrdinalIgnoreCase));
        var monitor = directives.Where(d => d.Argv[0].Equals("monitor", StringComparison.OrdinalIgnoreCase));
        var post = directives.Where(d => !d.Argv[0].Equals("monitor", StringComparison.OrdinalIgnoreCase) && !PreMonitorOptions.Contains(d.Argv[0], StringComparer.OrdinalIgnoreCase));
        foreach (var d in pre.Concat(monitor).Concat(post))
        {
            if (HandleConfiguration(d.Argv) is { } err) throw ConfigLoader.FatalAt(d.LineNumber, d.Line, err);
        }
    }

    static int Atoi(string s) => (int)ParseLong(s);

    static int YesNo(string s) => s.Equals("yes", StringComparison.OrdinalIgnoreCase) ? 1 : s.Equals("no", StringComparison.OrdinalIgnoreCase) ? 0 : -1;

    /// <summary>sentinelHandleConfiguration: one `sentinel` line's arguments; the error text, or null.</summary>
    string? HandleConfiguration(string[] argv)
    {
        string opt = argv[0].ToLowerInvariant();
        int argc = argv.Length;
        SentinelInstance? ri;
        const string NoMaster = "No such master with specified name.";
        switch (opt)
        {
            case "monitor" when argc == 5:
                {
                    int quorum = Atoi(argv[4]);
                    if (quorum <= 0) return "Quorum must be 1 or greater.";
                    if (CreateInstance(argv[1], InstanceFlags.Master, argv[2], Atoi(argv[3]), quorum, null, out var e) == null)
                        return CreateErrorText(e, InstanceFlags.Master);
                    return null;
                }
            case "down-after-milliseconds" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                ri.DownAfterPeriod = Atoi(argv[2]);
                if (ri.DownAfterPeriod <= 0) return "negative or zero time parameter.";
                PropagateDownAfterPeriod(ri);
                return null;
            case "failover-timeout" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                ri.FailoverTimeout = Atoi(argv[2]);
                return ri.FailoverTimeout <= 0 ? "negative or zero time parameter." : null;
            case "parallel-syncs" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                ri.ParallelSyncs = Atoi(argv[2]);
                return null;
            case "notification-script" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                if (!IsExecutable(argv[2])) return "Notification script seems non existing or non executable.";
                ri.NotificationScript = argv[2];
                return null;
            case "client-reconfig-script" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                if (!IsExecutable(argv[2])) return "Client reconfiguration script seems non existing or non executable.";
                ri.ClientReconfigScript = argv[2];
                return null;
            case "auth-pass" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                ri.AuthPass = argv[2];
                return null;
            case "auth-user" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                ri.AuthUser = argv[2];
                return null;
            case "current-epoch" when argc == 2:
                {
                    ulong epoch = ParseULong(argv[1]);
                    if (epoch > CurrentEpoch) CurrentEpoch = epoch;
                    return null;
                }
            case "myid" when argc == 2:
                if (argv[1].Length != 40) return "Malformed Sentinel id in myid option.";
                MyId = argv[1];
                return null;
            case "config-epoch" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                ri.ConfigEpoch = ParseULong(argv[2]);
                if (ri.ConfigEpoch > CurrentEpoch) CurrentEpoch = ri.ConfigEpoch;
                return null;
            case "leader-epoch" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                ri.LeaderEpoch = ParseULong(argv[2]);
                return null;
            case "known-slave" or "known-replica" when argc == 4:
                {
                    if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                    if (CreateInstance(null, InstanceFlags.Slave, argv[2], Atoi(argv[3]), ri.Quorum, ri, out var e) == null)
                        return CreateErrorText(e, InstanceFlags.Slave);
                    return null;
                }
            case "known-sentinel" when argc is 4 or 5:
                {
                    if (argc == 4) return null; // the old form without a run id is ignored
                    if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                    var si = CreateInstance(argv[4], InstanceFlags.Sentinel, argv[2], Atoi(argv[3]), ri.Quorum, ri, out var e);
                    if (si == null) return CreateErrorText(e, InstanceFlags.Sentinel);
                    si.RunId = argv[4];
                    TryConnectionSharing(si);
                    return null;
                }
            case "rename-command" when argc == 4:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                if (!ri.RenamedCommands.TryAdd(argv[2], argv[3])) return "Same command renamed multiple times with rename-command.";
                return null;
            case "announce-ip" when argc == 2:
                if (argv[1].Length > 0) AnnounceIp = argv[1];
                return null;
            case "announce-port" when argc == 2:
                AnnouncePort = Atoi(argv[1]);
                return null;
            case "deny-scripts-reconfig" when argc == 2:
                {
                    int v = YesNo(argv[1]);
                    if (v == -1) return "Please specify yes or no for the deny-scripts-reconfig options.";
                    DenyScriptsReconfig = v == 1;
                    return null;
                }
            case "sentinel-user" when argc == 2:
                if (argv[1].Length > 0) SentinelAuthUser = argv[1];
                return null;
            case "sentinel-pass" when argc == 2:
                if (argv[1].Length > 0) SentinelAuthPass = argv[1];
                return null;
            case "resolve-hostnames" when argc == 2:
                {
                    int v = YesNo(argv[1]);
                    if (v == -1) return "Please specify yes or no for the resolve-hostnames option.";
                    ResolveHostnames = v == 1;
                    return null;
                }
            case "announce-hostnames" when argc == 2:
                {
                    int v = YesNo(argv[1]);
                    if (v == -1) return "Please specify yes or no for the announce-hostnames option.";
                    AnnounceHostnames = v == 1;
                    return null;
                }
            case "master-reboot-down-after-period" when argc == 3:
                if ((ri = GetMaster(argv[1])) == null) return NoMaster;
                ri.MasterRebootDownAfterPeriod = Atoi(argv[2]);
                return ri.MasterRebootDownAfterPeriod < 0 ? "negative time parameter." : null;
            default:
                return "Unrecognized sentinel configuration statement.";
        }
    }

    /// <summary>access(path, X_OK).</summary>
    internal static bool IsExecutable(string path)
    {
        if (!File.Exists(path)) return false;
        if (OperatingSystem.IsWindows()) return true;
        var mode = File.GetUnixFileMode(path);
        return (mode & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0;
    }

    /// <summary>
    /// rewriteConfigSentinelOption: the lines of Sentinel's state in Redis's order, each with the
    /// option it replaces ("sentinel monitor", ...) and whether it is written when the file has no
    /// such line yet (Redis's force flag: the defaults of the three yes/no options are not).
    /// </summary>
    public List<ConfigRewrite.ExtraLine> ConfigLines()
    {
        var lines = new List<ConfigRewrite.ExtraLine>();
        void Add(string option, string line, bool force = true) => lines.Add(new ConfigRewrite.ExtraLine("sentinel " + option, line, force));
        string U(ulong v) => v.ToString(CultureInfo.InvariantCulture);
        string L(long v) => v.ToString(CultureInfo.InvariantCulture);

        Add("myid", $"sentinel myid {MyId}");
        Add("deny-scripts-reconfig", $"sentinel deny-scripts-reconfig {(DenyScriptsReconfig ? "yes" : "no")}", !DenyScriptsReconfig);
        Add("resolve-hostnames", $"sentinel resolve-hostnames {(ResolveHostnames ? "yes" : "no")}", ResolveHostnames);
        Add("announce-hostnames", $"sentinel announce-hostnames {(AnnounceHostnames ? "yes" : "no")}", AnnounceHostnames);
        foreach (var master in Masters.Values)
        {
            var masterAddr = master.CurrentMasterAddress;
            Add("monitor", $"sentinel monitor {master.Name} {Announce(masterAddr)} {masterAddr.Port} {master.Quorum}");
            if (master.DownAfterPeriod != Timings.DefaultDownAfter)
                Add("down-after-milliseconds", $"sentinel down-after-milliseconds {master.Name} {L(master.DownAfterPeriod)}");
            if (master.FailoverTimeout != Timings.DefaultFailoverTimeout)
                Add("failover-timeout", $"sentinel failover-timeout {master.Name} {L(master.FailoverTimeout)}");
            if (master.ParallelSyncs != 1)
                Add("parallel-syncs", $"sentinel parallel-syncs {master.Name} {master.ParallelSyncs}");
            if (master.NotificationScript != null)
                Add("notification-script", $"sentinel notification-script {master.Name} {master.NotificationScript}");
            if (master.ClientReconfigScript != null)
                Add("client-reconfig-script", $"sentinel client-reconfig-script {master.Name} {master.ClientReconfigScript}");
            if (master.AuthPass != null) Add("auth-pass", $"sentinel auth-pass {master.Name} {master.AuthPass}");
            if (master.AuthUser != null) Add("auth-user", $"sentinel auth-user {master.Name} {master.AuthUser}");
            if (master.MasterRebootDownAfterPeriod != 0)
                Add("master-reboot-down-after-period", $"sentinel master-reboot-down-after-period {master.Name} {L(master.MasterRebootDownAfterPeriod)}");
            Add("config-epoch", $"sentinel config-epoch {master.Name} {U(master.ConfigEpoch)}");
            Add("leader-epoch", $"sentinel leader-epoch {master.Name} {U(master.LeaderEpoch)}");
            foreach (var ri in master.Slaves.Values)
            {
                // The promoted replica of a failover in progress is written as the old master's address.
                var slaveAddr = ri.Addr.IsEqual(masterAddr) ? master.Addr : ri.Addr;
                Add("known-replica", $"sentinel known-replica {master.Name} {Announce(slaveAddr)} {slaveAddr.Port}");
            }
            foreach (var ri in master.Sentinels.Values)
            {
                if (ri.RunId == null) continue;
                Add("known-sentinel", $"sentinel known-sentinel {master.Name} {Announce(ri.Addr)} {ri.Addr.Port} {ri.RunId}");
            }
            foreach (var (oldName, newName) in master.RenamedCommands)
                Add("rename-command", $"sentinel rename-command {master.Name} {oldName} {newName}");
        }
        Add("current-epoch", $"sentinel current-epoch {U(CurrentEpoch)}");
        if (AnnounceIp != null) Add("announce-ip", "sentinel announce-ip " + ConfigRewrite.Repr(AnnounceIp));
        if (AnnouncePort != 0) Add("announce-port", $"sentinel announce-port {AnnouncePort}");
        if (SentinelAuthUser != null) Add("sentinel-user", $"sentinel sentinel-user {SentinelAuthUser}");
        if (SentinelAuthPass != null) Add("sentinel-pass", $"sentinel sentinel-pass {SentinelAuthPass}");
        return lines;
    }

    /// <summary>sentinelFlushConfig: CONFIG REWRITE of the whole file with Sentinel's state, then fsync.</summary>
    public bool FlushConfig()
    {
        var path = _server.Config.ConfigFile;
        try
        {
            if (path == null) throw new IOException("no config file");
            var users = _server.Config.GetString("aclfile").Length > 0 ? [] : _server.Acl.ConfigLines().ToList();
            ConfigRewrite.Rewrite(_server.Config, path, users, ConfigLines());
            using (var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite)) f.Flush(flushToDisk: true);
            Log.Notice("Sentinel new configuration saved on disk");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.Warning($"WARNING: Sentinel was not able to save the new configuration on disk!!!: {Logger.StrError(e)}");
            return false;
        }
    }
}
