// The monitoring half of Sentinel: links to every instance (sentinelReconnectInstance), the
// periodic PING / INFO / hello PUBLISH (sentinelSendPeriodicCommands), what an INFO reply teaches
// (sentinelRefreshInstanceInfo: run id, replicas, role, the replica's view of its master, and
// the reactions: +promoted-slave, +convert-to-slave, +fix-slave-config, reconf progress), and the
// hello protocol on __sentinel__:hello by which Sentinels find each other and spread the newest
// configuration (sentinelSendHello, sentinelProcessHelloMessage). With tls-replication every
// link is made over TLS (instanceLinkNegotiateTLS).
using System.Globalization;
using System.Net;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Sentinel;

public sealed partial class Sentinel
{
    /// <summary>sentinelReconnectInstance: opens the missing connections, at most once per ping period.</summary>
    void ReconnectInstance(SentinelInstance ri)
    {
        var link = ri.Link;
        if (!link.Disconnected) return;
        if (ri.Addr.Port == 0) return; // an invalid address
        long now = Now;
        if (now - link.LastReconnectTime < Timings.PingPeriod) return;
        link.LastReconnectTime = now;

        // tls-replication: both links are TLS clients; without a usable TLS configuration none is made.
        System.Net.Security.SslClientAuthenticationOptions? tls = null;
        if (_server.Config.GetBool("tls-replication") && (tls = TlsClientOptions(ri.Addr.Ip)) == null)
        {
            EventAt(LogDebug, "-cmd-link-reconnection", ri, " #Failed to initialize TLS");
            return;
        }
        if (link.Commands == null)
        {
            if (ResolveHostnames && CreateAddr(ri.Addr.Hostname, ri.Addr.Port, acceptUnresolved: false, out _) is { } resolved)
                ri.Addr = resolved;
            if (!IPAddress.TryParse(ri.Addr.Ip, out var ip))
            {
                EventAt(LogDebug, "-cmd-link-reconnection", ri, " #Can't resolve instance hostname.");
            }
            else
            {
                var cc = OutboundConnection.Connect(_server.Loop, ip, ri.Addr.Port, tls);
                link.Commands = cc;
                link.PendingCommands = 0;
                link.CommandsConnectedTime = Now;
                cc.Disconnected = why => ConnectionLost(link, cc);
                SendAuthIfNeeded(ri, cc);
                SetClientName(ri, cc, "cmd");
                SendPing(ri); // a PING as soon as we reconnect
            }
        }
        if ((ri.IsMaster || ri.IsSlave) && link.PubSub == null && IPAddress.TryParse(ri.Addr.Ip, out var pip))
        {
            var pc = OutboundConnection.Connect(_server.Loop, pip, ri.Addr.Port, tls == null ? null : TlsClientOptions(ri.Addr.Ip));
            link.PubSub = pc;
            link.PubSubConnectedTime = Now;
            pc.Disconnected = why => ConnectionLost(link, pc);
            SendAuthIfNeeded(ri, pc);
            SetClientName(ri, pc, "pubsub");
            pc.Subscribe(reply => ReceiveHelloMessages(ri, reply), ri.MapCommand("SUBSCRIBE"), HelloChannel);
        }
        if (link.Commands != null && (ri.IsSentinel || link.PubSub != null)) link.Disconnected = false;
    }

    /// <summary>The client options for a TLS link, configuring TLS on first use (tls-replication set at run time); null when that fails.</summary>
    System.Net.Security.SslClientAuthenticationOptions? TlsClientOptions(string host)
    {
        if (_server.Tls.ClientOptions(host) is { } options) return options;
        if (_server.Tls.Configure(_server.Config) is { } error)
        {
            Log.Warning(error);
            return null;
        }
        return _server.Tls.ClientOptions(host);
    }

    /// <summary>instanceLinkConnectionError: the connection is gone; the link is made again by the timer.</summary>
    static void ConnectionLost(InstanceLink link, OutboundConnection c)
    {
        if (link.Commands == c)
        {
            link.Commands = null;
            link.PendingCommands = 0;
        }
        if (link.PubSub == c) link.PubSub = null;
        link.Disconnected = true;
    }

    /// <summary>
    /// sentinelSendAuthIfNeeded: a master's (and its replicas') auth-pass / auth-user; for
    /// Sentinels sentinel-pass / sentinel-user, or else this Sentinel's own requirepass.
    /// </summary>
    void SendAuthIfNeeded(SentinelInstance ri, OutboundConnection c)
    {
        string? pass = null, user = null;
        if (ri.IsMaster)
        {
            pass = ri.AuthPass;
            user = ri.AuthUser;
        }
        else if (ri.IsSlave)
        {
            pass = ri.Master!.AuthPass;
            user = ri.Master.AuthUser;
        }
        else if (ri.IsSentinel)
        {
            if (SentinelAuthPass != null)
            {
                pass = SentinelAuthPass;
                user = SentinelAuthUser;
            }
            else
            {
                pass = string.IsNullOrEmpty(_server.Config.RequirePass) ? null : _server.Config.RequirePass;
            }
        }
        if (pass == null) return;
        if (user == null) Send(ri, c, null, ri.MapCommand("AUTH"), pass);
        else Send(ri, c, null, ri.MapCommand("AUTH"), user, pass);
    }

    /// <summary>sentinelSetClientName: sentinel-&lt;first 8 of myid&gt;-cmd|pubsub, so CLIENT LIST shows the links.</summary>
    void SetClientName(SentinelInstance ri, OutboundConnection c, string type) =>
        Send(ri, c, null, ri.MapCommand("CLIENT"), "SETNAME", $"sentinel-{MyId[..Math.Min(8, MyId.Length)]}-{type}");

    /// <summary>redisAsyncCommand plus the pending count; the callback is skipped once the instance is released.</summary>
    void Send(SentinelInstance ri, OutboundConnection? c, Action<RespReply>? callback, params string[] argv)
    {
        if (c == null || c.Closed) return;
        var link = ri.Link;
        c.Command(reply =>
        {
            if (link.PendingCommands > 0) link.PendingCommands--;
            if (!ri.Released) callback?.Invoke(reply);
        }, argv);
        link.PendingCommands++;
    }

    /// <summary>sentinelSendPing: act_ping_time is set only when no earlier ping is still unanswered.</summary>
    bool SendPing(SentinelInstance ri)
    {
        var cc = ri.Link.Commands;
        if (cc == null || cc.Closed) return false;
        Send(ri, cc, reply => PingReply(ri, reply), ri.MapCommand("PING"));
        ri.Link.LastPingTime = Now;
        if (ri.Link.ActPingTime == 0) ri.Link.ActPingTime = ri.Link.LastPingTime;
        return true;
    }

    /// <summary>sentinelPingReplyCallback: PONG, LOADING and MASTERDOWN count as available; BUSY during SDOWN gets one SCRIPT KILL.</summary>
    void PingReply(SentinelInstance ri, RespReply r)
    {
        var link = ri.Link;
        if (r.Type is ReplyType.Status or ReplyType.Error)
        {
            string s = r.Text;
            if (s.StartsWith("PONG", StringComparison.Ordinal) || s.StartsWith("LOADING", StringComparison.Ordinal) || s.StartsWith("MASTERDOWN", StringComparison.Ordinal))
            {
                link.LastAvailTime = Now;
                link.ActPingTime = 0;
                if (ri.Has(InstanceFlags.MasterReboot) && s.StartsWith("PONG", StringComparison.Ordinal)) ri.Flags &= ~InstanceFlags.MasterReboot;
            }
            else if (s.StartsWith("BUSY", StringComparison.Ordinal) && ri.Has(InstanceFlags.SDown) && !ri.Has(InstanceFlags.ScriptKillSent))
            {
                Send(ri, link.Commands, null, ri.MapCommand("SCRIPT"), "KILL");
                ri.Flags |= InstanceFlags.ScriptKillSent;
            }
        }
        link.LastPongTime = Now;
    }

    /// <summary>
    /// sentinelSendPeriodicCommands: INFO every info-period (every second for a replica of a
    /// master in ODOWN or failover, or one that lost its master), PING when the last pong is older
    /// than min(down-after, ping-period), hello every publish-period.
    /// </summary>
    void SendPeriodicCommands(SentinelInstance ri)
    {
        var link = ri.Link;
        if (link.Disconnected) return;
        if (link.PendingCommands >= MaxPendingCommands * link.RefCount) return;
        long now = Now;
        long infoPeriod = ri.IsSlave && (ri.Master!.Has(InstanceFlags.ODown | InstanceFlags.FailoverInProgress) || ri.MasterLinkDownTime != 0)
            ? 1000
            : Timings.InfoPeriod;
        long pingPeriod = Math.Min(ri.DownAfterPeriod, Timings.PingPeriod);
        if (!ri.IsSentinel && (ri.InfoRefresh == 0 || now - ri.InfoRefresh > infoPeriod))
            Send(ri, link.Commands, reply => { if (reply.Type == ReplyType.Bulk || reply.Type == ReplyType.Verbatim) RefreshInstanceInfo(ri, reply.Text); }, ri.MapCommand("INFO"));
        if (now - link.LastPongTime > pingPeriod && now - link.LastPingTime > pingPeriod / 2) SendPing(ri);
        if (now - ri.LastPubTime > Timings.PublishPeriod) SendHello(ri);
    }

    /// <summary>sentinelMasterLooksSane: a master that says so, is not down, and answered INFO recently.</summary>
    bool MasterLooksSane(SentinelInstance master) =>
        master.IsMaster && master.RoleReported == InstanceFlags.Master && !master.Has(InstanceFlags.SDown | InstanceFlags.ODown)
        && Now - master.InfoRefresh < Timings.InfoPeriod * 2;

    /// <summary>sentinelRefreshInstanceInfo: parses an INFO reply, then acts on what changed (not in TILT).</summary>
    void RefreshInstanceInfo(SentinelInstance ri, string info)
    {
        ri.Info = info;
        ri.MasterLinkDownTime = 0;
        var role = InstanceFlags.None;
        foreach (var l in info.Split("\r\n"))
        {
            if (l.Length >= 47 && l.StartsWith("run_id:", StringComparison.Ordinal))
            {
                string id = l.Substring(7, 40);
                if (ri.RunId == null) ri.RunId = id;
                else if (ri.RunId != id)
                {
                    EventAt(LogNotice, "+reboot", ri);
                    if (ri.IsMaster && ri.MasterRebootDownAfterPeriod != 0)
                    {
                        ri.Flags |= InstanceFlags.MasterReboot;
                        ri.MasterRebootSinceTime = Now;
                    }
                    ri.RunId = id;
                }
            }
            // slave0:ip=127.0.0.1,port=9999,... (or the old slave0:<ip>,<port>,<state>)
            if (ri.IsMaster && l.Length >= 7 && l.StartsWith("slave", StringComparison.Ordinal) && char.IsAsciiDigit(l[5]))
            {
                if (ParseSlaveLine(l) is not var (ip, port)) continue;
                if (LookupSlave(ri, ip, port) == null)
                {
                    var slave = CreateInstance(null, InstanceFlags.Slave, ip, port, ri.Quorum, ri, out _);
                    if (slave != null)
                    {
                        EventAt(LogNotice, "+slave", slave);
                        FlushConfig();
                    }
                }
            }
            if (l.Length >= 32 && l.StartsWith("master_link_down_since_seconds", StringComparison.Ordinal))
                ri.MasterLinkDownTime = ParseLong(l[31..]) * 1000;
            if (l.StartsWith("role:master", StringComparison.Ordinal)) role = InstanceFlags.Master;
            else if (l.StartsWith("role:slave", StringComparison.Ordinal)) role = InstanceFlags.Slave;
            if (role == InstanceFlags.Slave)
            {
                if (l.StartsWith("master_host:", StringComparison.Ordinal))
                {
                    string host = l[12..];
                    if (ri.SlaveMasterHost == null || !string.Equals(host, ri.SlaveMasterHost, StringComparison.OrdinalIgnoreCase))
                    {
                        ri.SlaveMasterHost = host;
                        ri.SlaveConfChangeTime = Now;
                    }
                }
                if (l.StartsWith("master_port:", StringComparison.Ordinal))
                {
                    int p = (int)ParseLong(l[12..]);
                    if (ri.SlaveMasterPort != p)
                    {
                        ri.SlaveMasterPort = p;
                        ri.SlaveConfChangeTime = Now;
                    }
                }
                if (l.StartsWith("master_link_status:", StringComparison.Ordinal))
                    ri.SlaveMasterLinkUp = string.Equals(l[19..], "up", StringComparison.OrdinalIgnoreCase);
                if (l.StartsWith("slave_priority:", StringComparison.Ordinal)) ri.SlavePriority = (int)ParseLong(l[15..]);
                if (l.StartsWith("slave_repl_offset:", StringComparison.Ordinal)) ri.SlaveReplOffset = ParseLong(l[18..]);
                if (l.StartsWith("replica_announced:", StringComparison.Ordinal)) ri.ReplicaAnnounced = (int)ParseLong(l[18..]);
            }
        }
        ri.InfoRefresh = Now;

        // The acting half.
        if (role != ri.RoleReported)
        {
            ri.RoleReportedTime = Now;
            ri.RoleReported = role;
            if (role == InstanceFlags.Slave) ri.SlaveConfChangeTime = Now;
            EventAt(LogVerbose, (ri.Flags & (InstanceFlags.Master | InstanceFlags.Slave)) == role ? "+role-change" : "-role-change", ri,
                $" new reported role is {(role == InstanceFlags.Master ? "master" : "slave")}");
        }
        if (Tilt) return;

        // A replica that became a master: our promotion going through, or someone else's to undo.
        if (ri.IsSlave && role == InstanceFlags.Master)
        {
            var master = ri.Master!;
            if (ri.Has(InstanceFlags.Promoted) && master.Has(InstanceFlags.FailoverInProgress) && master.FailoverState == FailoverState.WaitPromotion)
            {
                // The new configuration gets the epoch this failover was won in, so every other Sentinel takes it.
                master.ConfigEpoch = master.FailoverEpoch;
                master.FailoverState = FailoverState.ReconfSlaves;
                master.FailoverStateChangeTime = Now;
                FlushConfig();
                EventAt(LogWarning, "+promoted-slave", ri);
                if ((SimFailureFlags & SimCrashAfterPromotion) != 0) SimFailureCrash();
                EventAt(LogWarning, "+failover-state-reconf-slaves", master);
                CallClientReconfScript(master, leader: true, "start", master.Addr, ri.Addr);
                ForceHelloUpdateForMaster(master);
            }
            else
            {
                long wait = Timings.PublishPeriod * 4;
                if (!ri.Has(InstanceFlags.Promoted) && MasterLooksSane(master) && ri.NoDownFor(wait, Now) && Now - ri.RoleReportedTime > wait)
                {
                    if (SendSlaveOf(ri, master.Addr)) EventAt(LogNotice, "+convert-to-slave", ri);
                }
            }
        }

        // A replica of another address than its master's.
        if (ri.IsSlave && role == InstanceFlags.Slave
            && (ri.SlaveMasterPort != ri.Master!.Addr.Port || !AddrEqualsHostname(ri.Master.Addr, ri.SlaveMasterHost)))
        {
            long wait = ri.Master.FailoverTimeout;
            if (MasterLooksSane(ri.Master) && ri.NoDownFor(wait, Now) && Now - ri.SlaveConfChangeTime > wait)
            {
                if (SendSlaveOf(ri, ri.Master.Addr)) EventAt(LogNotice, "+fix-slave-config", ri);
            }
        }

        // A replica being reconfigured moves on: sent -> in progress -> done.
        if (ri.IsSlave && role == InstanceFlags.Slave && ri.Has(InstanceFlags.ReconfSent | InstanceFlags.ReconfInProgress))
        {
            var promoted = ri.Master!.PromotedSlave;
            if (ri.Has(InstanceFlags.ReconfSent) && ri.SlaveMasterHost != null && promoted != null
                && AddrEqualsHostname(promoted.Addr, ri.SlaveMasterHost) && ri.SlaveMasterPort == promoted.Addr.Port)
            {
                ri.Flags &= ~InstanceFlags.ReconfSent;
                ri.Flags |= InstanceFlags.ReconfInProgress;
                EventAt(LogNotice, "+slave-reconf-inprog", ri);
            }
            if (ri.Has(InstanceFlags.ReconfInProgress) && ri.SlaveMasterLinkUp)
            {
                ri.Flags &= ~InstanceFlags.ReconfInProgress;
                ri.Flags |= InstanceFlags.ReconfDone;
                EventAt(LogNotice, "+slave-reconf-done", ri);
            }
        }
    }

    /// <summary>The ip and port of an INFO "slaveN:" line, in the new (ip=,port=) or the old (ip,port,state) form.</summary>
    static (string Ip, int Port)? ParseSlaveLine(string l)
    {
        string ip, port;
        int ipAt = l.IndexOf("ip=", StringComparison.Ordinal);
        if (ipAt < 0)
        {
            int colon = l.IndexOf(':');
            if (colon < 0) return null;
            var parts = l[(colon + 1)..].Split(',');
            if (parts.Length < 3) return null;
            ip = parts[0];
            port = parts[1];
        }
        else
        {
            int portAt = l.IndexOf("port=", StringComparison.Ordinal);
            if (portAt < 0) return null;
            ip = l[(ipAt + 3)..].Split(',')[0];
            port = l[(portAt + 5)..].Split(',')[0];
        }
        return (ip, (int)ParseLong(port));
    }

    /// <summary>atoi/strtoll, as the project's Arguments.Atoi: the leading digits (and sign); 0 when there are none.</summary>
    static long ParseLong(string s) => Commands.Arguments.Atoi(s);

    /// <summary>sentinelReceiveHelloMessages: a message on the hello channel from another Sentinel.</summary>
    void ReceiveHelloMessages(SentinelInstance ri, RespReply r)
    {
        ri.Link.PubSubLastActivity = Now;
        if (r.Type is not (ReplyType.Array or ReplyType.Push) || r.Items.Length != 3) return;
        if (r.Items.Any(i => i.Type != ReplyType.Bulk) || r.Items[0].Text != "message") return;
        string hello = r.Items[2].Text;
        if (hello.Contains(MyId, StringComparison.Ordinal)) return; // our own
        ProcessHelloMessage(hello);
    }

    /// <summary>
    /// sentinelProcessHelloMessage: "ip,port,runid,current_epoch,master_name,master_ip,master_port,
    /// master_config_epoch". An unknown Sentinel is added (one that changed address replaces its
    /// old entry), a greater epoch is adopted, and a newer master configuration switches the master.
    /// </summary>
    public void ProcessHelloMessage(string hello)
    {
        var token = hello.Split(',');
        if (token.Length != 8) return;
        var master = GetMaster(token[4]);
        if (master == null) return;
        int port = (int)ParseLong(token[1]);
        int masterPort = (int)ParseLong(token[6]);
        var si = FindByAddrAndRunId(master.Sentinels.Values, token[0], port, token[2]);
        ulong currentEpoch = ParseULong(token[3]);
        ulong masterConfigEpoch = ParseULong(token[7]);
        if (si == null)
        {
            int removed = RemoveMatchingSentinelFromMaster(master, token[2]);
            if (removed > 0)
            {
                EventAt(LogNotice, "+sentinel-address-switch", master, $" ip {token[0]} port {port} for {token[2]}");
            }
            else if (FindByAddrAndRunId(master.Sentinels.Values, token[0], port, null) is { } other)
            {
                // Another Sentinel had this address: it is gone, everywhere.
                EventAt(LogNotice, "+sentinel-invalid-addr", other);
                string obsolete = other.RunId!;
                foreach (var m in Masters.Values) RemoveMatchingSentinelFromMaster(m, obsolete);
            }
            si = CreateInstance(token[2], InstanceFlags.Sentinel, token[0], port, master.Quorum, master, out _);
            if (si != null)
            {
                if (removed == 0) EventAt(LogNotice, "+sentinel", si);
                si.RunId = token[2];
                TryConnectionSharing(si);
                if (removed > 0) UpdateSentinelAddressInAllMasters(si);
                FlushConfig();
            }
        }
        if (currentEpoch > CurrentEpoch)
        {
            CurrentEpoch = currentEpoch;
            FlushConfig();
            Event(LogWarning, "+new-epoch", master, CurrentEpoch.ToString(CultureInfo.InvariantCulture));
        }
        if (si != null && master.ConfigEpoch < masterConfigEpoch)
        {
            master.ConfigEpoch = masterConfigEpoch;
            if (masterPort != master.Addr.Port || !AddrEqualsHostname(master.Addr, token[5]))
            {
                EventAt(LogWarning, "+config-update-from", si);
                Event(LogWarning, "+switch-master", master, $"{master.Name} {Announce(master.Addr)} {master.Addr.Port} {token[5]} {masterPort}");
                var oldAddr = master.Addr;
                ResetMasterAndChangeAddress(master, token[5], masterPort);
                CallClientReconfScript(master, leader: false, "start", oldAddr, master.Addr);
            }
        }
        if (si != null) si.LastHelloTime = Now;
    }

    static ulong ParseULong(string s) => (ulong)ParseLong(s);

    /// <summary>removeMatchingSentinelFromMaster: how many Sentinels with that run id were removed.</summary>
    int RemoveMatchingSentinelFromMaster(SentinelInstance master, string? runId)
    {
        if (runId == null) return 0;
        int removed = 0;
        foreach (var ri in master.Sentinels.Values.ToList())
        {
            if (ri.RunId != runId) continue;
            master.Sentinels.Remove(ri.Name);
            Release(ri);
            removed++;
        }
        return removed;
    }

    /// <summary>sentinelTryConnectionSharing: the same Sentinel seen for another master lends its link.</summary>
    void TryConnectionSharing(SentinelInstance ri)
    {
        if (ri.RunId == null || ri.Link.RefCount > 1) return;
        foreach (var master in Masters.Values)
        {
            if (master == ri.Master) continue;
            var match = FindByAddrAndRunId(master.Sentinels.Values, null, 0, ri.RunId);
            if (match == null || match == ri) continue;
            ReleaseLink(ri.Link);
            ri.Link = match.Link;
            match.Link.RefCount++;
            return;
        }
    }

    /// <summary>sentinelUpdateSentinelAddressInAllMasters: a Sentinel that moved moves for every master; their links reconnect.</summary>
    void UpdateSentinelAddressInAllMasters(SentinelInstance ri)
    {
        int reconfigured = 0;
        foreach (var master in Masters.Values)
        {
            var match = FindByAddrAndRunId(master.Sentinels.Values, null, 0, ri.RunId);
            if (match == null) continue;
            match.Link.CloseBoth();
            if (match == ri) continue;
            match.Addr = ri.Addr;
            reconfigured++;
        }
        if (reconfigured > 0) EventAt(LogNotice, "+sentinel-address-update", ri, $" {reconfigured} additional matching instances");
    }

    /// <summary>
    /// sentinelSendHello: PUBLISH on the instance's hello channel (a Sentinel takes it through its
    /// own PUBLISH): this Sentinel's address, id and epoch, and the master's current configuration.
    /// </summary>
    bool SendHello(SentinelInstance ri)
    {
        var master = ri.IsMaster ? ri : ri.Master!;
        var masterAddr = master.CurrentMasterAddress;
        var cc = ri.Link.Commands;
        if (ri.Link.Disconnected || cc == null) return false;
        string? ip = AnnounceIp;
        if (ip == null)
        {
            var local = cc.LocalEndPoint;
            if (local == null) return false;
            var a = local.Address.IsIPv4MappedToIPv6 ? local.Address.MapToIPv4() : local.Address;
            ip = a.ToString();
        }
        // Peers reach this Sentinel where they connect with TLS when tls-replication is set.
        long tlsPort = _server.Config.GetLong("tls-port");
        int port = AnnouncePort != 0 ? AnnouncePort : _server.Config.GetBool("tls-replication") && tlsPort != 0 ? (int)tlsPort : _server.Port;
        string payload = string.Join(',', ip, port.ToString(CultureInfo.InvariantCulture), MyId, CurrentEpoch.ToString(CultureInfo.InvariantCulture),
            master.Name, Announce(masterAddr), masterAddr.Port.ToString(CultureInfo.InvariantCulture), master.ConfigEpoch.ToString(CultureInfo.InvariantCulture));
        Send(ri, cc, reply => { if (!reply.IsError) ri.LastPubTime = Now; }, ri.MapCommand("PUBLISH"), HelloChannel, payload);
        return true;
    }

    /// <summary>sentinelForceHelloUpdateForMaster: the next timer run sends hello to the master, its replicas and Sentinels.</summary>
    void ForceHelloUpdateForMaster(SentinelInstance master)
    {
        long back = Timings.PublishPeriod + 1;
        if (master.LastPubTime >= back) master.LastPubTime -= back;
        foreach (var ri in master.Sentinels.Values.Concat(master.Slaves.Values))
            if (ri.LastPubTime >= back) ri.LastPubTime -= back;
    }

    /// <summary>dropInstanceConnections: the master's and its replicas' links are closed to be made again (new credentials).</summary>
    public static void DropInstanceConnections(SentinelInstance master)
    {
        master.Link.CloseBoth();
        foreach (var s in master.Slaves.Values) s.Link.CloseBoth();
    }

    /// <summary>sentinelDropConnections: every link to another Sentinel closes (sentinel-user / sentinel-pass changed).</summary>
    public int DropSentinelConnections()
    {
        int dropped = 0;
        foreach (var m in Masters.Values)
            foreach (var si in m.Sentinels.Values)
            {
                if (si.Link.Disconnected) continue;
                si.Link.CloseBoth();
                dropped++;
            }
        return dropped;
    }
}
