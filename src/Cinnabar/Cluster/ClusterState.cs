// clusterState (cluster.c): what this node knows of the cluster — itself, every node by name, the
// owner of each of the 16384 slots and the slots being migrated or imported, the epochs, the
// cluster state (ok/fail) — and the work driven from the server: clusterInit (nodes.conf or a
// fresh random name, the bus listener on port + 10000), clusterCron every 100 ms (links,
// pings, PFAIL, replica failover and migration), clusterBeforeSleep (state update, config save).
// The bus messages are in ClusterState.Bus.cs, failover in ClusterState.Failover.cs.
using System.Net;
using System.Net.Sockets;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Cluster;

public sealed partial class ClusterState
{
    public const int PortIncr = 10000;
    const int BlacklistTtlSeconds = 60;

    // todo_before_sleep flags.
    public const int TodoHandleFailover = 1, TodoUpdateState = 2, TodoSaveConfig = 4, TodoFsyncConfig = 8, TodoHandleManualFailover = 16;

    readonly CinnabarServer _server;
    readonly Random _random = new();
    internal EventLoop Loop => _server.Loop;
    internal Logger Log => _server.Log;
    ServerConfig Config => _server.Config;

    public ClusterNode Myself { get; private set; } = null!;
    public ulong CurrentEpoch;
    public bool StateOk;
    /// <summary>Masters serving at least one slot.</summary>
    public int Size = 1;
    public readonly Dictionary<string, ClusterNode> Nodes = new(StringComparer.Ordinal);
    readonly Dictionary<string, long> _blacklist = new(StringComparer.OrdinalIgnoreCase);
    public readonly ClusterNode?[] MigratingSlotsTo = new ClusterNode?[KeyHashSlot.Slots];
    public readonly ClusterNode?[] ImportingSlotsFrom = new ClusterNode?[KeyHashSlot.Slots];
    public readonly ClusterNode?[] Slots = new ClusterNode?[KeyHashSlot.Slots];

    // Replica election state.
    long _failoverAuthTime;
    int _failoverAuthCount;
    bool _failoverAuthSent;
    int _failoverAuthRank;
    ulong _failoverAuthEpoch;
    int _cantFailoverReason;
    long _lastCantFailoverLog;
    // Manual failover state.
    long _mfEnd;
    ClusterNode? _mfSlave;
    long _mfMasterOffset = -1;
    bool _mfCanStart;
    public ulong LastVoteEpoch;
    int _todoBeforeSleep;

    public readonly long[] MessagesSent = new long[ClusterMessage.TypeCount];
    public readonly long[] MessagesReceived = new long[ClusterMessage.TypeCount];
    int _statsPfailNodes;
    public long LinksBufferLimitExceeded;
    ulong _pingsSent;
    long _iteration;
    long _firstUpdateStateCall, _amongMinorityTime;

    readonly List<Listener> _busListeners = [];
    readonly HashSet<ClusterLink> _links = [];
    string _configPath = "";

    public ClusterState(CinnabarServer server) => _server = server;

    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    internal long NodeTimeout => Config.GetLong("cluster-node-timeout");

    /// <summary>clusterInit: nodes.conf or a new node named at random; the bus listens on cluster-port or port + 10000.</summary>
    public void Init()
    {
        _configPath = Path.Combine(Config.Dir, Config.GetString("cluster-config-file"));
        if (!NodesConfigFile.Load(this, _configPath))
        {
            Myself = new ClusterNode(RandomBytes.Hex(20), NodeFlags.Myself | NodeFlags.Master, Now);
            Log.Notice($"No cluster configuration found, I'm {Myself.Name}");
            AddNode(Myself);
            SaveConfigOrDie(fsync: true);
        }
        // The bus port follows the port clients are told about: tls-port under tls-cluster.
        int port = ClientPort;
        int clusterPort = (int)Config.GetLong("cluster-port");
        if (clusterPort == 0 && port > 65535 - PortIncr)
            throw new InvalidOperationException("Redis port number too high. Cluster communication port is 10,000 port numbers higher than your Redis port. Your Redis port number must be 55535 or less.");
        int cport = clusterPort != 0 ? clusterPort : port + PortIncr;
        foreach (var raw in Config.Bind)
        {
            string addr = raw.TrimStart('-');
            var ip = addr switch { "*" => IPAddress.Any, "::*" => IPAddress.IPv6Any, "localhost" => IPAddress.Loopback, _ => IPAddress.Parse(addr) };
            try
            {
                _busListeners.Add(new Listener(_server, ip, cport, Config.TcpBacklog) { Accepted = AcceptBusConnection });
            }
            catch (SocketException e)
            {
                if (raw.StartsWith('-')) continue;
                Log.Warning($"Could not create server TCP listening socket {addr}:{cport}: bind: {e.Message}");
                foreach (var l in _busListeners) l.Dispose();
                throw new InvalidOperationException($"Failed listening on port {cport} (cluster), aborting.", e);
            }
        }
        DeriveAnnouncedPorts(out Myself.Port, out Myself.PPort, out Myself.CPort);
        ResetManualFailover();
        UpdateMyselfFlags();
        string announceIp = Config.GetString("cluster-announce-ip");
        if (announceIp.Length > 0) Myself.Ip = announceIp;
        Myself.Hostname = Config.GetString("cluster-announce-hostname");
        Config.ClusterAnnounceHostnameChanged += UpdateMyselfHostname;
    }

    /// <summary>clusterUpdateMyselfHostname: CONFIG SET cluster-announce-hostname shows at once (CLUSTER SLOTS, NODES, the next ping).</summary>
    void UpdateMyselfHostname()
    {
        string hostname = Config.GetString("cluster-announce-hostname");
        if (hostname == Myself.Hostname) return;
        Myself.Hostname = hostname;
        DoBeforeSleep(TodoSaveConfig);
    }

    /// <summary>The bus listeners are registered on the loop once it exists.</summary>
    public void RegisterListeners()
    {
        foreach (var l in _busListeners) l.Token = Loop.Register(l.Socket, l, EventMask.Readable);
    }

    void AcceptBusConnection(Socket s)
    {
        // While loading, UPDATE messages could touch the dataset: connections wait (clusterAcceptHandler).
        var peer = s.RemoteEndPoint as IPEndPoint;
        Log.Verbose($"Accepting cluster node connection from {peer?.Address}:{peer?.Port}");
        // clusterAcceptHandler: with tls-cluster the peer must present a certificate from the CA.
        var tls = TlsCluster && _server.Tls.PeerServerOptions is { } options ? new TlsConnection(options) : null;
        _links.Add(ClusterLink.Accept(this, s, Now, tls));
    }

    internal void LinkConnected(ClusterLink link)
    {
        var node = link.Node!;
        long oldPingSent = node.PingSent;
        SendPing(link, node.Has(NodeFlags.Meet) ? MessageType.Meet : MessageType.Ping);
        if (oldPingSent != 0) node.PingSent = oldPingSent;
        node.Flags &= ~NodeFlags.Meet;
    }

    internal void LinkFreed(ClusterLink link) => _links.Remove(link);

    /// <summary>deriveAnnouncedPorts: the client port, the plaintext port (TLS only) and the bus port, as announced.</summary>
    void DeriveAnnouncedPorts(out int port, out int pport, out int cport)
    {
        bool tlsCluster = TlsCluster;
        port = ClientPort;
        pport = tlsCluster ? _server.Port : 0;
        int clusterPort = (int)Config.GetLong("cluster-port");
        cport = clusterPort != 0 ? clusterPort : port + PortIncr;
        int announcePort = (int)Config.GetLong("cluster-announce-port"), announceTlsPort = (int)Config.GetLong("cluster-announce-tls-port");
        if (tlsCluster && announceTlsPort != 0)
        {
            port = announceTlsPort;
            pport = announcePort;
        }
        else if (announcePort != 0) port = announcePort;
        int announceBusPort = (int)Config.GetLong("cluster-announce-bus-port");
        if (announceBusPort != 0) cport = announceBusPort;
    }

    /// <summary>The port nodes announce to clients: tls-port under tls-cluster (the plaintext one goes as pport).</summary>
    int ClientPort => TlsCluster ? (int)Config.GetLong("tls-port") : _server.Port;

    /// <summary>tls-cluster: the bus speaks TLS, and nodes announce their tls-port to clients.</summary>
    internal bool TlsCluster => Config.GetBool("tls-cluster");

    /// <summary>TLS options for the bus links under tls-cluster.</summary>
    internal TlsContext Tls => _server.Tls;

    /// <summary>
    /// The port to give a client for a node: under tls-cluster a client that is not on TLS gets
    /// the node's plaintext port when it has one (use_pport in clusterRedirectClient, CLUSTER
    /// NODES and SLOTS).
    /// </summary>
    public int PortFor(Client c, ClusterNode n) => UsePPort(c) && n.PPort != 0 ? n.PPort : n.Port;

    public bool UsePPort(Client c) => TlsCluster && c.Tls == null;

    /// <summary>clusterUpdateMyselfFlags: nofailover follows cluster-replica-no-failover.</summary>
    public void UpdateMyselfFlags()
    {
        var old = Myself.Flags;
        Myself.Flags &= ~NodeFlags.NoFailover;
        if (Config.GetBool("cluster-replica-no-failover")) Myself.Flags |= NodeFlags.NoFailover;
        if (Myself.Flags != old) DoBeforeSleep(TodoSaveConfig | TodoUpdateState);
    }

    public void DoBeforeSleep(int flags) => _todoBeforeSleep |= flags;

    // ---- nodes ----

    public void AddNode(ClusterNode n) => Nodes.Add(n.Name, n);

    internal void SetMyselfLoaded(ClusterNode n) => Myself = n;

    /// <summary>clusterBroadcastPong(CLUSTER_BROADCAST_ALL): the new configuration, to everyone, now.</summary>
    public void BroadcastPongToAll() => BroadcastPong(localSlavesOnly: false);

    public ClusterNode? LookupNode(string name) => ClusterNode.IsValidName(name) ? Nodes.GetValueOrDefault(name) : null;

    /// <summary>clusterDelNode: its slots unassigned, its failure reports dropped, its links closed.</summary>
    public void DelNode(ClusterNode delnode)
    {
        for (int j = 0; j < KeyHashSlot.Slots; j++)
        {
            if (ImportingSlotsFrom[j] == delnode) ImportingSlotsFrom[j] = null;
            if (MigratingSlotsTo[j] == delnode) MigratingSlotsTo[j] = null;
            if (Slots[j] == delnode) DelSlot(j);
        }
        foreach (var node in Nodes.Values)
            if (node != delnode) DelFailureReport(node, delnode);
        foreach (var r in delnode.Replicas) r.ReplicaOf = null;
        if (delnode.IsSlave && delnode.ReplicaOf != null) delnode.ReplicaOf.RemoveReplica(delnode);
        Nodes.Remove(delnode.Name);
        delnode.Link?.Free();
        delnode.InboundLink?.Free();
    }

    /// <summary>clusterRenameNode: a handshake node takes the name its first PONG gives.</summary>
    void RenameNode(ClusterNode node, string newName)
    {
        Log.Debug($"Renaming node {node.Name} into {newName}");
        Nodes.Remove(node.Name);
        node.Name = newName;
        AddNode(node);
    }

    public void BlacklistAdd(ClusterNode node)
    {
        BlacklistCleanup();
        _blacklist[node.Name] = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + BlacklistTtlSeconds;
    }

    bool BlacklistExists(string name)
    {
        BlacklistCleanup();
        return _blacklist.ContainsKey(name);
    }

    void BlacklistCleanup()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var (k, v) in _blacklist.ToList())
            if (v < now) _blacklist.Remove(k);
    }

    /// <summary>clusterStartHandshake: a node in handshake (random name, MEET flag) for a valid address not already in handshake.</summary>
    public bool StartHandshake(string ip, int port, int cport, out bool invalid)
    {
        invalid = false;
        if (!IPAddress.TryParse(ip, out var addr) || port <= 0 || port > 65535 || cport <= 0 || cport > 65535)
        {
            invalid = true;
            return false;
        }
        string norm = addr.ToString();
        if (Nodes.Values.Any(n => n.InHandshake && string.Equals(n.Ip, norm, StringComparison.OrdinalIgnoreCase) && n.Port == port && n.CPort == cport))
            return false;
        var node = new ClusterNode(RandomBytes.Hex(20), NodeFlags.Handshake | NodeFlags.Meet, Now) { Ip = norm, Port = port, CPort = cport };
        AddNode(node);
        return true;
    }

    // ---- failure reports ----

    bool AddFailureReport(ClusterNode failing, ClusterNode sender)
    {
        int i = failing.FailReports.FindIndex(r => r.Node == sender);
        if (i >= 0)
        {
            failing.FailReports[i] = (sender, Now);
            return false;
        }
        failing.FailReports.Add((sender, Now));
        return true;
    }

    void CleanupFailureReports(ClusterNode node)
    {
        long maxTime = NodeTimeout * 2;
        long now = Now;
        node.FailReports.RemoveAll(r => now - r.Time > maxTime);
    }

    bool DelFailureReport(ClusterNode node, ClusterNode sender)
    {
        int i = node.FailReports.FindIndex(r => r.Node == sender);
        if (i < 0) return false;
        node.FailReports.RemoveAt(i);
        CleanupFailureReports(node);
        return true;
    }

    public int FailureReportsCount(ClusterNode node)
    {
        CleanupFailureReports(node);
        return node.FailReports.Count;
    }

    // ---- slots ----

    public bool AddSlot(ClusterNode n, int slot)
    {
        if (Slots[slot] != null) return false;
        bool old = n.SetSlot(slot);
        // A master's first slot makes it a replica-migration target if other masters have replicas.
        if (!old && n.NumSlots == 1 && Nodes.Values.Any(x => !x.IsSlave && x.Replicas.Count > 0)) n.Flags |= NodeFlags.MigrateTo;
        Slots[slot] = n;
        return true;
    }

    public bool DelSlot(int slot)
    {
        var n = Slots[slot];
        if (n == null) return false;
        // The shard that served the slot (myself, or my primary) drops its channels' subscribers.
        if (n == Myself || Myself.ReplicaOf == n) _server.PubSub.RemoveShardChannelsInSlot(slot);
        n.ClearSlot(slot);
        Slots[slot] = null;
        return true;
    }

    public int DelNodeSlots(ClusterNode node)
    {
        int deleted = 0;
        for (int j = 0; j < KeyHashSlot.Slots; j++)
        {
            if (!node.GetSlot(j)) continue;
            DelSlot(j);
            deleted++;
        }
        return deleted;
    }

    public void CloseAllSlots()
    {
        Array.Clear(MigratingSlotsTo);
        Array.Clear(ImportingSlotsFrom);
    }

    public long CountKeysInSlot(int slot) => _server.Databases[0].CountKeysInSlot(slot);

    // ---- epochs ----

    public ulong MaxEpoch()
    {
        ulong max = Nodes.Values.Select(n => n.ConfigEpoch).DefaultIfEmpty(0UL).Max();
        return Math.Max(max, CurrentEpoch);
    }

    /// <summary>clusterBumpConfigEpochWithoutConsensus: a new config epoch unless ours is already the greatest and non-zero.</summary>
    public bool BumpConfigEpochWithoutConsensus()
    {
        ulong maxEpoch = MaxEpoch();
        if (Myself.ConfigEpoch != 0 && Myself.ConfigEpoch == maxEpoch) return false;
        CurrentEpoch++;
        Myself.ConfigEpoch = CurrentEpoch;
        DoBeforeSleep(TodoSaveConfig | TodoFsyncConfig);
        Log.Warning($"New configEpoch set to {Myself.ConfigEpoch}");
        return true;
    }

    /// <summary>clusterHandleConfigEpochCollision: of two masters with one epoch, the smaller name moves on.</summary>
    void HandleConfigEpochCollision(ClusterNode sender)
    {
        if (sender.ConfigEpoch != Myself.ConfigEpoch || !sender.IsMaster || !Myself.IsMaster) return;
        if (string.CompareOrdinal(sender.Name, Myself.Name) <= 0) return;
        CurrentEpoch++;
        Myself.ConfigEpoch = CurrentEpoch;
        SaveConfigOrDie(fsync: true);
        Log.Verbose($"WARNING: configEpoch collision with node {sender.Name}. configEpoch set to {Myself.ConfigEpoch}");
    }

    // ---- roles ----

    /// <summary>clusterSetNodeAsMaster.</summary>
    void SetNodeAsMaster(ClusterNode n)
    {
        if (n.IsMaster) return;
        if (n.ReplicaOf != null)
        {
            n.ReplicaOf.RemoveReplica(n);
            if (n != Myself) n.Flags |= NodeFlags.MigrateTo;
        }
        n.Flags &= ~NodeFlags.Slave;
        n.Flags |= NodeFlags.Master;
        n.ReplicaOf = null;
        DoBeforeSleep(TodoSaveConfig | TodoUpdateState);
    }

    /// <summary>clusterSetMaster: this node becomes a replica of n (replication follows).</summary>
    public void SetMaster(ClusterNode n)
    {
        if (Myself.IsMaster)
        {
            Myself.Flags &= ~(NodeFlags.Master | NodeFlags.MigrateTo);
            Myself.Flags |= NodeFlags.Slave;
            CloseAllSlots();
        }
        else Myself.ReplicaOf?.RemoveReplica(Myself);
        Myself.ReplicaOf = n;
        n.AddReplica(Myself);
        _server.ReplicaSide.SetMaster(n.Ip, n.Port);
        ResetManualFailover();
    }

    /// <summary>clusterReset: forget the others and the slots; a replica becomes an empty master; HARD also renames and zeroes the epochs.</summary>
    public void Reset(bool hard)
    {
        if (Myself.IsSlave)
        {
            SetNodeAsMaster(Myself);
            _server.ReplicaSide.UnsetMaster();
            foreach (var db in _server.Databases) db.Flush();
        }
        CloseAllSlots();
        ResetManualFailover();
        for (int j = 0; j < KeyHashSlot.Slots; j++) DelSlot(j);
        foreach (var node in Nodes.Values.ToList())
            if (node != Myself) DelNode(node);
        if (hard)
        {
            CurrentEpoch = 0;
            LastVoteEpoch = 0;
            Myself.ConfigEpoch = 0;
            Log.Warning("configEpoch set to 0 via CLUSTER RESET HARD");
            Nodes.Remove(Myself.Name);
            Myself.Name = RandomBytes.Hex(20);
            AddNode(Myself);
            Log.Notice($"Node hard reset, now I'm {Myself.Name}");
        }
        DoBeforeSleep(TodoSaveConfig | TodoUpdateState | TodoFsyncConfig);
    }

    // ---- state ----

    const int MaxRejoinDelay = 5000, MinRejoinDelay = 500, WritableDelay = 2000;

    /// <summary>clusterUpdateState: ok when every slot is served by a reachable master (full coverage) and we are in the majority.</summary>
    public void UpdateState()
    {
        _todoBeforeSleep &= ~TodoUpdateState;
        long now = Now;
        if (_firstUpdateStateCall == 0) _firstUpdateStateCall = now;
        if (Myself.IsMaster && !StateOk && now - _firstUpdateStateCall < WritableDelay) return;
        bool ok = true;
        // Every slot has an owner that is not failing: AddSlot/DelSlot keep Slots[] and the owners'
        // bitmaps in step, so the owners' slot counts add up to 16384 exactly when each slot is
        // owned (what Redis learns by visiting the 16384 slots, for a few nodes).
        int assigned = 0;
        bool ownerFailed = false;
        foreach (var node in Nodes.Values)
        {
            if (node.NumSlots == 0) continue;
            assigned += node.NumSlots;
            ownerFailed |= node.Failed;
        }
        if (Config.GetBool("cluster-require-full-coverage") && (assigned != KeyHashSlot.Slots || ownerFailed)) ok = false;
        int reachable = 0;
        Size = 0;
        foreach (var node in Nodes.Values)
        {
            if (!node.IsMaster || node.NumSlots == 0) continue;
            Size++;
            if (!node.Has(NodeFlags.Fail | NodeFlags.PFail)) reachable++;
        }
        if (reachable < Size / 2 + 1)
        {
            ok = false;
            _amongMinorityTime = now;
        }
        if (ok == StateOk) return;
        long rejoinDelay = Math.Clamp(NodeTimeout, MinRejoinDelay, MaxRejoinDelay);
        if (ok && Myself.IsMaster && now - _amongMinorityTime < rejoinDelay) return;
        Log.Warning($"Cluster state changed: {(ok ? "ok" : "fail")}");
        StateOk = ok;
    }

    /// <summary>clusterBeforeSleep: what event handlers asked for (failover, state, config save).</summary>
    public void BeforeSleep()
    {
        int flags = _todoBeforeSleep;
        _todoBeforeSleep = 0;
        if ((flags & TodoHandleManualFailover) != 0)
        {
            if (Myself.IsSlave)
            {
                HandleManualFailover();
                HandleSlaveFailover();
            }
        }
        else if ((flags & TodoHandleFailover) != 0) HandleSlaveFailover();
        if ((flags & TodoUpdateState) != 0) UpdateState();
        if ((flags & TodoSaveConfig) != 0) SaveConfigOrDie((flags & TodoFsyncConfig) != 0);
    }

    public bool SaveConfig(bool fsync)
    {
        _todoBeforeSleep &= ~TodoSaveConfig;
        if (fsync) _todoBeforeSleep &= ~TodoFsyncConfig;
        return NodesConfigFile.Save(this, _configPath, fsync);
    }

    public void SaveConfigOrDie(bool fsync)
    {
        if (SaveConfig(fsync)) return;
        Log.Warning("Fatal: can't update cluster config file.");
        _server.Exit(1);
    }

    /// <summary>clusterCron: every 100 ms (serverCron at the default hz).</summary>
    public void Cron()
    {
        _iteration++;
        UpdateMyselfFlags(); // CONFIG SET cluster-replica-no-failover reaches the flags (and the next ping's header)
        long now = Now;
        long handshakeTimeout = Math.Max(NodeTimeout, 1000);
        _statsPfailNodes = 0;
        long linksMemory = 0;
        foreach (var node in Nodes.Values.ToList())
        {
            // Buffers are shrunk, links still over cluster-link-sendbuf-limit freed (and
            // reconnected below), and what is left counted for INFO's mem_cluster_links.
            if (!node.Has(NodeFlags.Myself))
            {
                node.Link?.ShrinkSendBuffer();
                node.InboundLink?.ShrinkSendBuffer();
                FreeLinkOnBufferLimitReached(node.Link);
                FreeLinkOnBufferLimitReached(node.InboundLink);
                linksMemory += (node.Link?.SendBufferAllocated ?? 0) + (node.InboundLink?.SendBufferAllocated ?? 0);
            }
            if (node.Has(NodeFlags.Myself | NodeFlags.NoAddr)) continue;
            if (node.Has(NodeFlags.PFail)) _statsPfailNodes++;
            if (node.InHandshake && now - node.CTime > handshakeTimeout)
            {
                DelNode(node);
                continue;
            }
            if (node.Link == null)
            {
                var link = ClusterLink.Connect(this, node, now);
                if (link == null)
                {
                    if (node.PingSent == 0) node.PingSent = Now;
                    continue;
                }
                _links.Add(link);
            }
        }
        LinksMemory = linksMemory;

        // Every second, ping the one of five random nodes with the oldest pong.
        if (_iteration % 10 == 0)
        {
            ClusterNode? minPongNode = null;
            long minPong = 0;
            var all = Nodes.Values.ToList();
            for (int j = 0; j < 5 && all.Count > 0; j++)
            {
                var n = all[_random.Next(all.Count)];
                if (n.Link == null || n.PingSent != 0) continue;
                if (n.Has(NodeFlags.Myself | NodeFlags.Handshake)) continue;
                if (minPongNode == null || minPong > n.PongReceived)
                {
                    minPongNode = n;
                    minPong = n.PongReceived;
                }
            }
            if (minPongNode != null) SendPing(minPongNode.Link!, MessageType.Ping);
        }

        int orphanedMasters = 0, maxSlaves = 0, thisSlaves = 0;
        bool updateState = false;
        foreach (var node in Nodes.Values.ToList())
        {
            now = Now;
            if (node.Has(NodeFlags.Myself | NodeFlags.NoAddr | NodeFlags.Handshake)) continue;
            if (Myself.IsSlave && node.IsMaster && !node.Failed)
            {
                int okSlaves = node.NonFailingReplicas;
                if (okSlaves == 0 && node.NumSlots > 0 && node.Has(NodeFlags.MigrateTo)) orphanedMasters++;
                if (okSlaves > maxSlaves) maxSlaves = okSlaves;
                if (Myself.ReplicaOf == node) thisSlaves = okSlaves;
            }
            long pingDelay = now - node.PingSent;
            long dataDelay = now - node.DataReceived;
            if (node.Link != null && now - node.Link.CTime > NodeTimeout && node.PingSent != 0
                && pingDelay > NodeTimeout / 2 && dataDelay > NodeTimeout / 2)
                node.Link.Free();
            if (node.Link != null && node.PingSent == 0 && now - node.PongReceived > NodeTimeout / 2)
            {
                SendPing(node.Link, MessageType.Ping);
                continue;
            }
            if (_mfEnd != 0 && Myself.IsMaster && _mfSlave == node && node.Link != null)
            {
                SendPing(node.Link, MessageType.Ping);
                continue;
            }
            if (node.PingSent == 0) continue;
            long nodeDelay = Math.Min(pingDelay, dataDelay);
            if (nodeDelay > NodeTimeout && !node.Has(NodeFlags.PFail | NodeFlags.Fail))
            {
                Log.Debug($"*** NODE {node.Name} possibly failing");
                node.Flags |= NodeFlags.PFail;
                updateState = true;
            }
        }

        // A replica that knows its master but does not replicate yet starts replicating.
        if (Myself.IsSlave && _server.ReplicaSide.MasterHost == null && Myself.ReplicaOf is { } master && !master.Has(NodeFlags.NoAddr))
            _server.ReplicaSide.SetMaster(master.Ip, master.Port);

        ManualFailoverCheckTimeout();
        if (Myself.IsSlave)
        {
            HandleManualFailover();
            HandleSlaveFailover();
            if (orphanedMasters > 0 && maxSlaves >= 2 && thisSlaves == maxSlaves && Config.GetBool("cluster-allow-replica-migration"))
                HandleSlaveMigration(maxSlaves);
        }
        if (updateState || !StateOk) UpdateState();
        // clientsCronHandleTimeout's cluster part: blocked clients whose slot moved away are redirected.
        if (_server.ClusterRouting is { } routing && _server.Blocking.BlockedClients > 0)
            _server.Blocking.RedirectBlockedClients((c, key) => routing.BlockedClientRedirect(c, key, c.LastCmd?.Has(Commands.CommandFlags.Write) ?? false));
    }

    public long ConnectionsCount => (Nodes.Count - 1) * 2L;

    /// <summary>INFO memory's mem_cluster_links: the links' send buffers, summed by the cron.</summary>
    public long LinksMemory { get; private set; }

    /// <summary>freeClusterLinkOnBufferLimitReached: a peer that stopped reading must not grow our memory without bound.</summary>
    void FreeLinkOnBufferLimitReached(ClusterLink? link)
    {
        long limit = Config.GetLong("cluster-link-sendbuf-limit");
        if (link == null || limit == 0 || link.SendBufferAllocated <= limit) return;
        Log.Warning($"Freeing cluster link({(link.Inbound ? "from" : "to")} node {link.Node?.Name ?? ""}, used memory: {link.SendBufferAllocated}) due to exceeding send buffer memory limit.");
        link.Free();
        LinksBufferLimitExceeded++;
    }

    /// <summary>Links and listeners close with the server.</summary>
    public void Close()
    {
        foreach (var link in _links.ToList()) link.Free();
        foreach (var l in _busListeners) l.Dispose();
        _busListeners.Clear();
    }

    /// <summary>The replication offset this node announces: the primary's, or what a replica processed.</summary>
    long MyReplOffset => Myself.IsSlave ? _server.ReplicaSide.SlaveOffset : _server.Replication.MasterReplOffset;
}
