// The commands of Sentinel mode (sentinel.c sentinelCommand, sentinelInfoCommand,
// sentinelRoleCommand, sentinelPublishCommand): SENTINEL and its subcommands over the
// Sentinel's state, INFO with the Sentinel section, ROLE, and the PUBLISH that only takes hello
// messages (other Sentinels deliver their hellos to us with it).
using System.Globalization;
using System.Text;
using Cinnabar.Networking;
using Cinnabar.Sentinel;

namespace Cinnabar.Commands;

public static class SentinelCommands
{
    static Sentinel.Sentinel S(Client c) => c.Server.Sentinel!;

    static string Arg(Client c, int i) => c.Args.ToStringAt(i);

    /// <summary>sentinelGetMasterByNameOrReplyError.</summary>
    static SentinelInstance? MasterOrError(Client c, int i)
    {
        var ri = S(c).GetMaster(Arg(c, i));
        if (ri == null) c.Reply.Error("No such master with that name");
        return ri;
    }

    [SentinelCommand("sentinel|help")]
    static void Help(Client c) => HelpReply.Write(c, "SENTINEL",
    [
        "CKQUORUM <master-name>",
        "    Check if the current Sentinel configuration is able to reach the quorum",
        "    needed to failover a master and the majority needed to authorize the",
        "    failover.",
        "CONFIG SET <param> <value>",
        "    Set a global Sentinel configuration parameter.",
        "CONFIG GET <param>",
        "    Get global Sentinel configuration parameter.",
        "DEBUG [<param> <value> ...]",
        "    Show a list of configurable time parameters and their values (milliseconds).",
        "    Or update current configurable parameters values (one or more).",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    Return the ip and port number of the master with that name.",
        "FAILOVER <master-name>",
        "    Manually failover a master node without asking for agreement from other",
        "    Sentinels",
        "FLUSHCONFIG",
        "    Force Sentinel to rewrite its configuration on disk, including the current",
        "    Sentinel state.",
        "INFO-CACHE <master-name>",
        "    Return last cached INFO output from masters and all its replicas.",
        "IS-MASTER-DOWN-BY-ADDR <ip> <port> <current-epoch> <runid>",
        "    Check if the master specified by ip:port is down from current Sentinel's",
        "    point of view.",
        "MASTER <master-name>",
        "    Show the state and info of the specified master.",
        "MASTERS",
        "    Show a list of monitored masters and their state.",
        "MONITOR <name> <ip> <port> <quorum>",
        "    Start monitoring a new master with the specified name, ip, port and quorum.",
        "MYID",
        "    Return the ID of the Sentinel instance.",
        "PENDING-SCRIPTS",
        "    Get pending scripts information.",
        "REMOVE <master-name>",
        "    Remove master from Sentinel's monitor list.",
        "REPLICAS <master-name>",
        "    Show a list of replicas for this master and their state.",
        "RESET <pattern>",
        "    Reset masters for specific master name matching this pattern.",
        "SENTINELS <master-name>",
        "    Show a list of Sentinel instances for this master and their state.",
        "SET <master-name> <option> <value> [<option> <value> ...]",
        "    Set configuration parameters for certain masters.",
        "SIMULATE-FAILURE [CRASH-AFTER-ELECTION] [CRASH-AFTER-PROMOTION] [HELP]",
        "    Simulate a Sentinel crash.",
    ]);

    [SentinelCommand("sentinel|masters")]
    static void Masters(Client c) => ReplyInstances(c, S(c).Masters.Values);

    [SentinelCommand("sentinel|master")]
    static void Master(Client c)
    {
        if (MasterOrError(c, 2) is { } ri) ReplyInstance(c, ri);
    }

    [SentinelCommand("sentinel|replicas")]
    [SentinelCommand("sentinel|slaves")]
    static void Replicas(Client c)
    {
        if (MasterOrError(c, 2) is { } ri) ReplyInstances(c, ri.Slaves.Values);
    }

    [SentinelCommand("sentinel|sentinels")]
    static void Sentinels(Client c)
    {
        if (MasterOrError(c, 2) is { } ri) ReplyInstances(c, ri.Sentinels.Values);
    }

    [SentinelCommand("sentinel|myid")]
    static void MyId(Client c) => c.Reply.Bulk(S(c).MyId);

    /// <summary>
    /// IS-MASTER-DOWN-BY-ADDR ip port current-epoch runid: whether we see that master SDOWN (never
    /// in TILT), and with a run id other than "*", our vote for the epoch: [down, leader, epoch].
    /// </summary>
    [SentinelCommand("sentinel|is-master-down-by-addr")]
    static void IsMasterDownByAddr(Client c)
    {
        var s = S(c);
        if (!Arguments.TryGetLong(c, 3, out long port) || !Arguments.TryGetLong(c, 4, out long reqEpoch)) return;
        var ri = s.FindMasterByAddr(Arg(c, 2), (int)port);
        bool isDown = !s.Tilt && ri != null && ri.Has(InstanceFlags.SDown) && ri.IsMaster;
        string? leader = null;
        ulong leaderEpoch = 0;
        string runId = Arg(c, 5);
        if (ri != null && ri.IsMaster && !runId.Equals("*", StringComparison.OrdinalIgnoreCase))
            leader = s.VoteLeader(ri, (ulong)reqEpoch, runId, out leaderEpoch);
        c.Reply.ArrayLen(3);
        c.Reply.Integer(isDown ? 1 : 0);
        c.Reply.Bulk(leader ?? "*");
        c.Reply.Integer((long)leaderEpoch);
    }

    [SentinelCommand("sentinel|reset")]
    static void Reset(Client c) => c.Reply.Integer(S(c).ResetMastersByPattern(Arg(c, 2), Sentinel.Sentinel.ResetGenerateEvent));

    [SentinelCommand("sentinel|get-master-addr-by-name")]
    static void GetMasterAddrByName(Client c)
    {
        var s = S(c);
        var ri = s.GetMaster(Arg(c, 2));
        if (ri == null)
        {
            c.Reply.NullArray();
            return;
        }
        var addr = ri.CurrentMasterAddress;
        c.Reply.ArrayLen(2);
        c.Reply.Bulk(s.Announce(addr));
        c.Reply.BulkLong(addr.Port);
    }

    [SentinelCommand("sentinel|failover")]
    static void Failover(Client c)
    {
        var s = S(c);
        if (MasterOrError(c, 2) is not { } ri) return;
        if (ri.Has(InstanceFlags.FailoverInProgress))
        {
            c.Reply.Error("-INPROG Failover already in progress");
            return;
        }
        if (s.SelectSlave(ri) == null)
        {
            c.Reply.Error("-NOGOODSLAVE No suitable replica to promote");
            return;
        }
        c.Server.Log.Warning($"Executing user requested FAILOVER of '{ri.Name}'");
        s.StartFailover(ri);
        ri.Flags |= InstanceFlags.ForceFailover;
        c.Reply.Ok();
    }

    [SentinelCommand("sentinel|pending-scripts")]
    static void PendingScripts(Client c)
    {
        var queue = S(c).Scripts.Queue;
        long now = Sentinel.Sentinel.Now;
        c.Reply.ArrayLen(queue.Count);
        foreach (var job in queue)
        {
            c.Reply.MapLen(5);
            c.Reply.Bulk("argv");
            c.Reply.ArrayLen(job.Argv.Length);
            foreach (var a in job.Argv) c.Reply.Bulk(a);
            c.Reply.Bulk("flags");
            c.Reply.Bulk(job.Running ? "running" : "scheduled");
            c.Reply.Bulk("pid");
            c.Reply.BulkLong(job.Pid);
            if (job.Running)
            {
                c.Reply.Bulk("run-time");
                c.Reply.BulkLong(now - job.StartTime);
            }
            else
            {
                c.Reply.Bulk("run-delay");
                c.Reply.BulkLong(job.StartTime != 0 ? Math.Max(0, job.StartTime - now) : 0);
            }
            c.Reply.Bulk("retry-num");
            c.Reply.BulkLong(job.RetryNum);
        }
    }

    [SentinelCommand("sentinel|monitor")]
    static void Monitor(Client c)
    {
        var s = S(c);
        if (!Arguments.TryGetLong(c, 5, out long quorum, "Invalid quorum")) return;
        if (!Arguments.TryGetLong(c, 4, out long port, "Invalid port")) return;
        if (quorum <= 0)
        {
            c.Reply.Error("Quorum must be 1 or greater.");
            return;
        }
        if (SentinelAddr.Resolve(Arg(c, 3), s.ResolveHostnames) == null)
        {
            c.Reply.Error("Invalid IP address or hostname specified");
            return;
        }
        var ri = s.CreateInstance(Arg(c, 2), InstanceFlags.Master, Arg(c, 3), (int)Math.Clamp(port, int.MinValue, int.MaxValue), (int)quorum, null, out var error);
        if (ri == null)
        {
            c.Reply.Error(Sentinel.Sentinel.CreateErrorText(error, InstanceFlags.Master));
            return;
        }
        FlushConfigAndReply(c);
        s.EventAt(Sentinel.Sentinel.LogWarning, "+monitor", ri, $" quorum {ri.Quorum}");
    }

    [SentinelCommand("sentinel|flushconfig")]
    static void FlushConfig(Client c) => FlushConfigAndReply(c);

    static void FlushConfigAndReply(Client c)
    {
        if (S(c).FlushConfig()) c.Reply.Ok();
        else c.Reply.Error("Failed to save config file. Check server logs.");
    }

    [SentinelCommand("sentinel|remove")]
    static void Remove(Client c)
    {
        var s = S(c);
        if (MasterOrError(c, 2) is not { } ri) return;
        s.EventAt(Sentinel.Sentinel.LogWarning, "-monitor", ri);
        s.RemoveMaster(ri);
        FlushConfigAndReply(c);
    }

    [SentinelCommand("sentinel|ckquorum")]
    static void CkQuorum(Client c)
    {
        if (MasterOrError(c, 2) is not { } ri) return;
        int result = S(c).IsQuorumReachable(ri, out int usable);
        if (result == 0)
        {
            c.Reply.Status($"OK {usable} usable Sentinels. Quorum and failover authorization can be reached");
            return;
        }
        var e = new StringBuilder($"-NOQUORUM {usable} usable Sentinels. ");
        if ((result & 1) != 0) e.Append("Not enough available Sentinels to reach the specified quorum for this master");
        if ((result & 2) != 0)
        {
            if ((result & 1) != 0) e.Append(". ");
            e.Append("Not enough available Sentinels to reach the majority and authorize a failover");
        }
        c.Reply.Error(e.ToString());
    }

    [SentinelCommand("sentinel|config")]
    static void Config(Client c)
    {
        string sub = Arg(c, 2);
        if (sub.Equals("set", StringComparison.OrdinalIgnoreCase) && c.Args.Count == 5) ConfigSet(c);
        else if (sub.Equals("get", StringComparison.OrdinalIgnoreCase) && c.Args.Count == 4) ConfigGet(c);
        else c.Reply.Error("Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.");
    }

    /// <summary>sentinelConfigSetCommand: the global options; new sentinel credentials drop the links to Sentinels.</summary>
    static void ConfigSet(Client c)
    {
        var s = S(c);
        string o = Arg(c, 3), val = Arg(c, 4);
        bool dropConns = false;
        int yn = val.Equals("yes", StringComparison.OrdinalIgnoreCase) ? 1 : val.Equals("no", StringComparison.OrdinalIgnoreCase) ? 0 : -1;
        switch (o.ToLowerInvariant())
        {
            case "resolve-hostnames":
                if (yn < 0) goto badfmt;
                s.ResolveHostnames = yn == 1;
                break;
            case "announce-hostnames":
                if (yn < 0) goto badfmt;
                s.AnnounceHostnames = yn == 1;
                break;
            case "announce-ip":
                s.AnnounceIp = val;
                break;
            case "announce-port":
                if (!Protocol.RespParser.TryParseLong(c.Args[4], out long port) || port < 0 || port > 65535) goto badfmt;
                s.AnnouncePort = (int)port;
                break;
            case "sentinel-user":
                s.SentinelAuthUser = val.Length == 0 ? null : val;
                dropConns = true;
                break;
            case "sentinel-pass":
                s.SentinelAuthPass = val.Length == 0 ? null : val;
                dropConns = true;
                break;
            default:
                c.Reply.Error($"Invalid argument '{o}' to SENTINEL CONFIG SET");
                return;
        }
        FlushConfigAndReply(c);
        if (dropConns) s.DropSentinelConnections();
        return;
    badfmt:
        c.Reply.Error($"Invalid value '{val}' to SENTINEL CONFIG SET '{o}'");
    }

    static void ConfigGet(Client c)
    {
        var s = S(c);
        string pattern = Arg(c, 3);
        var pairs = new List<(string, string)>
        {
            ("resolve-hostnames", s.ResolveHostnames ? "yes" : "no"),
            ("announce-hostnames", s.AnnounceHostnames ? "yes" : "no"),
            ("announce-ip", s.AnnounceIp ?? ""),
            ("announce-port", s.AnnouncePort.ToString(CultureInfo.InvariantCulture)),
            ("sentinel-user", s.SentinelAuthUser ?? ""),
            ("sentinel-pass", s.SentinelAuthPass ?? ""),
        };
        var matches = pairs.Where(p => Keyspace.GlobMatcher.Match(pattern, p.Item1, nocase: true)).ToList();
        c.Reply.MapLen(matches.Count);
        foreach (var (k, v) in matches)
        {
            c.Reply.Bulk(k);
            c.Reply.Bulk(v);
        }
    }

    /// <summary>INFO-CACHE [master ...]: per master, [ms since refresh, INFO text] for it and each replica.</summary>
    [SentinelCommand("sentinel|info-cache")]
    static void InfoCache(Client c)
    {
        var s = S(c);
        long now = Sentinel.Sentinel.Now;
        var masters = new List<SentinelInstance>();
        for (int i = 2; i < c.Args.Count; i++)
            if (s.GetMaster(Arg(c, i)) is { } m && !masters.Contains(m)) masters.Add(m);
        c.Reply.ArrayLen(masters.Count * 2);
        foreach (var ri in masters)
        {
            c.Reply.Bulk(ri.Name);
            c.Reply.ArrayLen(ri.Slaves.Count + 1);
            CachedInfo(c, ri.InfoRefresh != 0 ? now - ri.InfoRefresh : 0, ri.Info);
            // Redis tests the master's info_refresh here, not the replica's.
            foreach (var sri in ri.Slaves.Values) CachedInfo(c, ri.InfoRefresh != 0 ? now - sri.InfoRefresh : 0, sri.Info);
        }
    }

    static void CachedInfo(Client c, long age, string? info)
    {
        c.Reply.ArrayLen(2);
        c.Reply.Integer(age);
        if (info != null) c.Reply.Bulk(info);
        else c.Reply.Null();
    }

    [SentinelCommand("sentinel|simulate-failure")]
    static void SimulateFailure(Client c)
    {
        var s = S(c);
        s.SimFailureFlags = 0;
        for (int j = 2; j < c.Args.Count; j++)
        {
            string a = Arg(c, j);
            if (a.Equals("crash-after-election", StringComparison.OrdinalIgnoreCase))
            {
                s.SimFailureFlags |= Sentinel.Sentinel.SimCrashAfterElection;
                c.Server.Log.Warning("Failure simulation: this Sentinel will crash after being successfully elected as failover leader");
            }
            else if (a.Equals("crash-after-promotion", StringComparison.OrdinalIgnoreCase))
            {
                s.SimFailureFlags |= Sentinel.Sentinel.SimCrashAfterPromotion;
                c.Server.Log.Warning("Failure simulation: this Sentinel will crash after promoting the selected replica to master");
            }
            else if (a.Equals("help", StringComparison.OrdinalIgnoreCase))
            {
                c.Reply.ArrayLen(2);
                c.Reply.Bulk("crash-after-election");
                c.Reply.Bulk("crash-after-promotion");
                return;
            }
            else
            {
                c.Reply.Error("Unknown failure simulation specified");
                return;
            }
        }
        c.Reply.Ok();
    }

    static readonly (string Name, Func<SentinelTimings, long> Get, Action<SentinelTimings, long> Set)[] DebugParams =
    [
        ("info-period", t => t.InfoPeriod, (t, v) => t.InfoPeriod = v),
        ("ping-period", t => t.PingPeriod, (t, v) => t.PingPeriod = v),
        ("ask-period", t => t.AskPeriod, (t, v) => t.AskPeriod = v),
        ("publish-period", t => t.PublishPeriod, (t, v) => t.PublishPeriod = v),
        ("default-down-after", t => t.DefaultDownAfter, (t, v) => t.DefaultDownAfter = v),
        ("default-failover-timeout", t => t.DefaultFailoverTimeout, (t, v) => t.DefaultFailoverTimeout = v),
        ("tilt-trigger", t => t.TiltTrigger, (t, v) => t.TiltTrigger = v),
        ("tilt-period", t => t.TiltPeriod, (t, v) => t.TiltPeriod = v),
        ("slave-reconf-timeout", t => t.SlaveReconfTimeout, (t, v) => t.SlaveReconfTimeout = v),
        ("min-link-reconnect-period", t => t.MinLinkReconnectPeriod, (t, v) => t.MinLinkReconnectPeriod = v),
        ("election-timeout", t => t.ElectionTimeout, (t, v) => t.ElectionTimeout = v),
        ("script-max-runtime", t => t.ScriptMaxRuntime, (t, v) => t.ScriptMaxRuntime = v),
        ("script-retry-delay", t => t.ScriptRetryDelay, (t, v) => t.ScriptRetryDelay = v),
    ];

    /// <summary>DEBUG: the periods (in Redis's order, upper-case), or set one or more of them.</summary>
    [SentinelCommand("sentinel|debug")]
    static void Debug(Client c)
    {
        var t = S(c).Timings;
        if (c.Args.Count == 2)
        {
            c.Reply.MapLen(DebugParams.Length);
            foreach (var p in DebugParams)
            {
                c.Reply.Bulk(p.Name.ToUpperInvariant());
                c.Reply.BulkLong(p.Get(t));
            }
            return;
        }
        for (int j = 2; j < c.Args.Count; j++)
        {
            string option = Arg(c, j);
            int moreArgs = c.Args.Count - 1 - j;
            int idx = Array.FindIndex(DebugParams, p => p.Name.Equals(option, StringComparison.OrdinalIgnoreCase));
            if (idx < 0 || moreArgs <= 0)
            {
                c.Reply.Error($"Unknown option or number of arguments for SENTINEL DEBUG '{option}'");
                return;
            }
            j++;
            if (!Protocol.RespParser.TryParseLong(c.Args[j], out long ll) || ll <= 0)
            {
                c.Reply.Error($"Invalid argument '{Arg(c, j)}' for SENTINEL DEBUG '{option}'");
                return;
            }
            DebugParams[idx].Set(t, ll);
        }
        c.Reply.Ok();
    }

    /// <summary>
    /// sentinelSetCommand: option/value pairs applied in order, each logged as a +set event
    /// (auth-pass as ******); the config is saved if anything changed, even after an error.
    /// </summary>
    [SentinelCommand("sentinel|set")]
    static void Set(Client c)
    {
        var s = S(c);
        if (MasterOrError(c, 2) is not { } ri) return;
        int changes = 0;
        int badArg = 0;
        string option = "";
        for (int j = 3; j < c.Args.Count; j++)
        {
            int moreArgs = c.Args.Count - 1 - j;
            option = Arg(c, j);
            int oldJ = j;
            bool redacted = false;
            long ll;
            switch (option.ToLowerInvariant())
            {
                case "down-after-milliseconds" when moreArgs > 0:
                    if (!PositiveArg(c, ++j, out ll)) { badArg = j; goto badfmt; }
                    ri.DownAfterPeriod = ll;
                    Sentinel.Sentinel.PropagateDownAfterPeriod(ri);
                    break;
                case "failover-timeout" when moreArgs > 0:
                    if (!PositiveArg(c, ++j, out ll)) { badArg = j; goto badfmt; }
                    ri.FailoverTimeout = ll;
                    break;
                case "parallel-syncs" when moreArgs > 0:
                    if (!PositiveArg(c, ++j, out ll)) { badArg = j; goto badfmt; }
                    ri.ParallelSyncs = (int)Math.Min(ll, int.MaxValue);
                    break;
                case "notification-script" or "client-reconfig-script" when moreArgs > 0:
                    {
                        string value = Arg(c, ++j);
                        bool notification = option.Equals("notification-script", StringComparison.OrdinalIgnoreCase);
                        if (s.DenyScriptsReconfig)
                        {
                            c.Reply.Error("Reconfiguration of scripts path is denied for security reasons. Check the deny-scripts-reconfig configuration directive in your Sentinel configuration");
                            goto seterr;
                        }
                        if (value.Length > 0 && !Sentinel.Sentinel.IsExecutable(value))
                        {
                            c.Reply.Error(notification ? "Notification script seems non existing or non executable" : "Client reconfiguration script seems non existing or non executable");
                            goto seterr;
                        }
                        if (notification) ri.NotificationScript = value.Length > 0 ? value : null;
                        else ri.ClientReconfigScript = value.Length > 0 ? value : null;
                        break;
                    }
                case "auth-pass" when moreArgs > 0:
                    {
                        string value = Arg(c, ++j);
                        ri.AuthPass = value.Length > 0 ? value : null;
                        Sentinel.Sentinel.DropInstanceConnections(ri);
                        redacted = true;
                        break;
                    }
                case "auth-user" when moreArgs > 0:
                    {
                        string value = Arg(c, ++j);
                        ri.AuthUser = value.Length > 0 ? value : null;
                        Sentinel.Sentinel.DropInstanceConnections(ri);
                        break;
                    }
                case "quorum" when moreArgs > 0:
                    if (!PositiveArg(c, ++j, out ll)) { badArg = j; goto badfmt; }
                    ri.Quorum = (int)Math.Min(ll, int.MaxValue);
                    break;
                case "rename-command" when moreArgs > 1:
                    {
                        string oldName = Arg(c, ++j), newName = Arg(c, ++j);
                        if (oldName.Length == 0 || newName.Length == 0)
                        {
                            badArg = newName.Length > 0 ? j - 1 : j;
                            goto badfmt;
                        }
                        ri.RenamedCommands.Remove(oldName);
                        if (!oldName.Equals(newName, StringComparison.OrdinalIgnoreCase)) ri.RenamedCommands[oldName] = newName;
                        break;
                    }
                case "master-reboot-down-after-period" when moreArgs > 0:
                    if (!Protocol.RespParser.TryParseLong(c.Args[++j], out ll) || ll < 0) { badArg = j; goto badfmt; }
                    ri.MasterRebootDownAfterPeriod = ll;
                    break;
                default:
                    c.Reply.Error($"Unknown option or number of arguments for SENTINEL SET '{option}'");
                    goto seterr;
            }
            changes++;
            int numArgs = j - oldJ + 1;
            string detail = numArgs switch
            {
                2 => $" {Arg(c, oldJ)} {(redacted ? "******" : Arg(c, oldJ + 1))}",
                3 => $" {Arg(c, oldJ)} {Arg(c, oldJ + 1)} {Arg(c, oldJ + 2)}",
                _ => $" {Arg(c, oldJ)}",
            };
            s.EventAt(Sentinel.Sentinel.LogWarning, "+set", ri, detail);
        }
        if (changes > 0) FlushConfigAndReply(c);
        return;
    badfmt:
        c.Reply.Error($"Invalid argument '{Arg(c, badArg)}' for SENTINEL SET '{option}'");
    seterr:
        if (changes > 0) s.FlushConfig();
    }

    static bool PositiveArg(Client c, int i, out long v) => Protocol.RespParser.TryParseLong(c.Args[i], out v) && v > 0;

    /// <summary>addReplyDictOfRedisInstances: unannounced replicas (replica-announced no) are left out.</summary>
    static void ReplyInstances(Client c, IEnumerable<SentinelInstance> instances)
    {
        var list = instances.Where(ri => !(ri.IsSlave && ri.ReplicaAnnounced == 0)).ToList();
        c.Reply.ArrayLen(list.Count);
        foreach (var ri in list) ReplyInstance(c, ri);
    }

    /// <summary>addReplySentinelRedisInstance: the instance's fields as a map, in Redis's order.</summary>
    static void ReplyInstance(Client c, SentinelInstance ri)
    {
        var s = S(c);
        long now = Sentinel.Sentinel.Now;
        var fields = new List<(string, object)>
        {
            ("name", ri.Name),
            ("ip", s.Announce(ri.Addr)),
            ("port", (long)ri.Addr.Port),
            ("runid", ri.RunId ?? ""),
            ("flags", FlagsText(ri)),
            ("link-pending-commands", (long)ri.Link.PendingCommands),
            ("link-refcount", (long)ri.Link.RefCount),
        };
        if (ri.Has(InstanceFlags.FailoverInProgress)) fields.Add(("failover-state", FailoverStateName(ri.FailoverState)));
        fields.Add(("last-ping-sent", ri.Link.ActPingTime != 0 ? now - ri.Link.ActPingTime : 0));
        fields.Add(("last-ok-ping-reply", now - ri.Link.LastAvailTime));
        fields.Add(("last-ping-reply", now - ri.Link.LastPongTime));
        if (ri.Has(InstanceFlags.SDown)) fields.Add(("s-down-time", now - ri.SDownSinceTime));
        if (ri.Has(InstanceFlags.ODown)) fields.Add(("o-down-time", now - ri.ODownSinceTime));
        fields.Add(("down-after-milliseconds", ri.DownAfterPeriod));
        if (ri.IsMaster || ri.IsSlave)
        {
            fields.Add(("info-refresh", ri.InfoRefresh != 0 ? now - ri.InfoRefresh : 0));
            fields.Add(("role-reported", ri.RoleReported == InstanceFlags.Master ? "master" : "slave"));
            fields.Add(("role-reported-time", now - ri.RoleReportedTime));
        }
        if (ri.IsMaster)
        {
            fields.Add(("config-epoch", (long)ri.ConfigEpoch));
            fields.Add(("num-slaves", (long)ri.Slaves.Count));
            fields.Add(("num-other-sentinels", (long)ri.Sentinels.Count));
            fields.Add(("quorum", (long)ri.Quorum));
            fields.Add(("failover-timeout", ri.FailoverTimeout));
            fields.Add(("parallel-syncs", (long)ri.ParallelSyncs));
            if (ri.NotificationScript != null) fields.Add(("notification-script", ri.NotificationScript));
            if (ri.ClientReconfigScript != null) fields.Add(("client-reconfig-script", ri.ClientReconfigScript));
        }
        if (ri.IsSlave)
        {
            fields.Add(("master-link-down-time", ri.MasterLinkDownTime));
            fields.Add(("master-link-status", ri.SlaveMasterLinkUp ? "ok" : "err"));
            fields.Add(("master-host", ri.SlaveMasterHost ?? "?"));
            fields.Add(("master-port", (long)ri.SlaveMasterPort));
            fields.Add(("slave-priority", (long)ri.SlavePriority));
            fields.Add(("slave-repl-offset", ri.SlaveReplOffset));
            fields.Add(("replica-announced", (long)ri.ReplicaAnnounced));
        }
        if (ri.IsSentinel)
        {
            fields.Add(("last-hello-message", now - ri.LastHelloTime));
            fields.Add(("voted-leader", ri.Leader ?? "?"));
            fields.Add(("voted-leader-epoch", (long)ri.LeaderEpoch));
        }
        c.Reply.MapLen(fields.Count);
        foreach (var (k, v) in fields)
        {
            c.Reply.Bulk(k);
            if (v is long n) c.Reply.BulkLong(n);
            else c.Reply.Bulk((string)v);
        }
    }

    static string FlagsText(SentinelInstance ri)
    {
        var f = new List<string>();
        if (ri.Has(InstanceFlags.SDown)) f.Add("s_down");
        if (ri.Has(InstanceFlags.ODown)) f.Add("o_down");
        if (ri.IsMaster) f.Add("master");
        if (ri.IsSlave) f.Add("slave");
        if (ri.IsSentinel) f.Add("sentinel");
        if (ri.Link.Disconnected) f.Add("disconnected");
        if (ri.Has(InstanceFlags.MasterDown)) f.Add("master_down");
        if (ri.Has(InstanceFlags.FailoverInProgress)) f.Add("failover_in_progress");
        if (ri.Has(InstanceFlags.Promoted)) f.Add("promoted");
        if (ri.Has(InstanceFlags.ReconfSent)) f.Add("reconf_sent");
        if (ri.Has(InstanceFlags.ReconfInProgress)) f.Add("reconf_inprog");
        if (ri.Has(InstanceFlags.ReconfDone)) f.Add("reconf_done");
        if (ri.Has(InstanceFlags.ForceFailover)) f.Add("force_failover");
        if (ri.Has(InstanceFlags.ScriptKillSent)) f.Add("script_kill_sent");
        return string.Join(',', f);
    }

    static string FailoverStateName(FailoverState s) => s switch
    {
        FailoverState.None => "none",
        FailoverState.WaitStart => "wait_start",
        FailoverState.SelectSlave => "select_slave",
        FailoverState.SendSlaveofNoOne => "send_slaveof_noone",
        FailoverState.WaitPromotion => "wait_promotion",
        FailoverState.ReconfSlaves => "reconf_slaves",
        FailoverState.UpdateConfig => "update_config",
        _ => "unknown",
    };

    /// <summary>sentinelInfoCommand: server, clients, cpu, stats and the Sentinel section (a plain bulk, as redis-sentinel replies).</summary>
    [SentinelCommand("info")]
    static void Info(Client c)
    {
        string[] sentinelSections = ["server", "clients", "cpu", "stats", "sentinel"];
        var requested = new List<string>();
        for (int i = 1; i < c.Args.Count; i++) requested.Add(Arg(c, i).ToLowerInvariant());
        bool all = requested.Count == 0 || requested.Any(r => r is "all" or "everything" or "default");
        var wanted = all ? sentinelSections.ToList() : sentinelSections.Where(requested.Contains).ToList();
        var text = new StringBuilder(Server.Info.Generate(c.Server, wanted.Where(w => w != "sentinel").DefaultIfEmpty("__none__").ToList()));
        if (wanted.Contains("sentinel"))
        {
            var s = S(c);
            if (text.Length > 0) text.Append("\r\n");
            text.Append("# Sentinel\r\n");
            text.Append("sentinel_masters:").Append(s.Masters.Count).Append("\r\n");
            text.Append("sentinel_tilt:").Append(s.Tilt ? 1 : 0).Append("\r\n");
            text.Append("sentinel_tilt_since_seconds:").Append(s.Tilt ? (Sentinel.Sentinel.Now - s.TiltStartTime) / 1000 : -1).Append("\r\n");
            text.Append("sentinel_running_scripts:").Append(s.Scripts.Running).Append("\r\n");
            text.Append("sentinel_scripts_queue_length:").Append(s.Scripts.Queue.Count).Append("\r\n");
            text.Append("sentinel_simulate_failure_flags:").Append(s.SimFailureFlags).Append("\r\n");
            int id = 0;
            foreach (var ri in s.Masters.Values)
            {
                string status = ri.Has(InstanceFlags.ODown) ? "odown" : ri.Has(InstanceFlags.SDown) ? "sdown" : "ok";
                text.Append(CultureInfo.InvariantCulture,
                    $"master{id++}:name={ri.Name},status={status},address={s.Announce(ri.Addr)}:{ri.Addr.Port},slaves={ri.Slaves.Count},sentinels={ri.Sentinels.Count + 1}\r\n");
            }
        }
        c.Reply.Bulk(text.ToString());
    }

    /// <summary>sentinelRoleCommand: ["sentinel", [monitored master names]].</summary>
    [SentinelCommand("role")]
    static void Role(Client c)
    {
        var s = S(c);
        c.Reply.ArrayLen(2);
        c.Reply.Bulk("sentinel"u8);
        c.Reply.ArrayLen(s.Masters.Count);
        foreach (var ri in s.Masters.Values) c.Reply.Bulk(ri.Name);
    }

    /// <summary>sentinelPublishCommand: only hello messages, processed as if heard on an instance's channel.</summary>
    [SentinelCommand("publish")]
    static void Publish(Client c)
    {
        if (Arg(c, 1) != Sentinel.Sentinel.HelloChannel)
        {
            c.Reply.Error("Only HELLO messages are accepted by Sentinel instances.");
            return;
        }
        S(c).ProcessHelloMessage(Arg(c, 2));
        c.Reply.Integer(1);
    }
}
