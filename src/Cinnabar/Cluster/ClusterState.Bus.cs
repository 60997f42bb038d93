// The cluster bus protocol (cluster.c clusterProcessPacket and the senders): PING/PONG/MEET
// with gossip about a tenth of the nodes (and every PFAIL node) plus the hostname extension,
// the handshake that gives a MEET-ed node its real name, address updates, role and slot
// changes learned from headers (clusterUpdateSlotsConfigWith, UPDATE to a node with a stale
// view), failure reports → FAIL by a majority of masters, FAIL, PUBLISH/PUBLISHSHARD, the
// failover votes and MFSTART.
using System.Text;

namespace Cinnabar.Cluster;

public sealed partial class ClusterState
{
    /// <summary>DEBUG DROP-CLUSTER-PACKET-FILTER: the message type dropped on arrival (-1: none).</summary>
    public int DropPacketFilter = -1;

    /// <summary>clusterBuildMessageHdr: a header about this node (or its master's slots and epoch for a replica).</summary>
    byte[] BuildHeader(MessageType type, int bodySize)
    {
        var buf = new byte[ClusterMessage.HeaderSize + bodySize];
        var master = Myself.IsSlave && Myself.ReplicaOf != null ? Myself.ReplicaOf : Myself;
        "RCmb"u8.CopyTo(buf);
        ClusterMessage.Put16(buf, ClusterMessage.OffVer, ClusterMessage.ProtocolVersion);
        ClusterMessage.Put16(buf, ClusterMessage.OffType, (ushort)type);
        ClusterMessage.PutString(buf, ClusterMessage.OffSender, Myself.Name, ClusterNode.NameLength);
        string announceIp = Config.GetString("cluster-announce-ip");
        if (announceIp.Length > 0) ClusterMessage.PutString(buf, ClusterMessage.OffMyIp, announceIp, ClusterMessage.IpLength - 1);
        DeriveAnnouncedPorts(out int port, out int pport, out int cport);
        master.SlotBits.CopyTo(buf.AsSpan(ClusterMessage.OffMySlots));
        if (Myself.ReplicaOf != null) ClusterMessage.PutString(buf, ClusterMessage.OffSlaveOf, Myself.ReplicaOf.Name, ClusterNode.NameLength);
        ClusterMessage.Put16(buf, ClusterMessage.OffPort, port);
        ClusterMessage.Put16(buf, ClusterMessage.OffPPort, pport);
        ClusterMessage.Put16(buf, ClusterMessage.OffCPort, cport);
        ClusterMessage.Put16(buf, ClusterMessage.OffFlags, (ushort)Myself.Flags);
        buf[ClusterMessage.OffState] = StateOk ? (byte)0 : (byte)1;
        ClusterMessage.Put64(buf, ClusterMessage.OffCurrentEpoch, CurrentEpoch);
        ClusterMessage.Put64(buf, ClusterMessage.OffConfigEpoch, master.ConfigEpoch);
        ClusterMessage.Put64(buf, ClusterMessage.OffOffset, (ulong)MyReplOffset);
        if (Myself.IsMaster && _mfEnd != 0) buf[ClusterMessage.OffMFlags] |= ClusterMessage.MFlagPaused;
        ClusterMessage.Put32(buf, ClusterMessage.OffTotlen, (uint)buf.Length);
        return buf;
    }

    /// <summary>clusterSendPing: a PING, PONG or MEET with gossip about max(3, nodes/10) random nodes and all PFAIL ones.</summary>
    internal void SendPing(ClusterLink link, MessageType type)
    {
        _pingsSent++;
        int freshNodes = Nodes.Count - 2;
        int wanted = Math.Min(Math.Max(Nodes.Count / 10, 3), freshNodes);
        var gossip = new List<ClusterNode>();
        var all = Nodes.Values.ToList();
        int maxIterations = wanted * 3;
        while (freshNodes > 0 && gossip.Count < wanted && maxIterations-- > 0)
        {
            var n = all[_random.Next(all.Count)];
            if (n == Myself || n.Has(NodeFlags.PFail)) continue;
            if (n.Has(NodeFlags.Handshake | NodeFlags.NoAddr) || (n.Link == null && n.NumSlots == 0))
            {
                freshNodes--;
                continue;
            }
            if (n.LastInPingGossip == _pingsSent) continue;
            gossip.Add(n);
            n.LastInPingGossip = _pingsSent;
            freshNodes--;
        }
        foreach (var n in all)
            if (n.Has(NodeFlags.PFail) && !n.Has(NodeFlags.Handshake | NodeFlags.NoAddr)) gossip.Add(n);

        byte[] hostname = Myself.Hostname.Length > 0 ? Encoding.ASCII.GetBytes(Myself.Hostname) : [];
        int extSize = hostname.Length > 0 ? 8 + ClusterMessage.Align8(hostname.Length + 1) : 0;
        if (!link.Inbound && type == MessageType.Ping) link.Node!.PingSent = Now;
        var buf = BuildHeader(type, gossip.Count * ClusterMessage.GossipSize + extSize);
        for (int i = 0; i < gossip.Count; i++) ClusterMessage.PutGossip(buf, ClusterMessage.HeaderSize + i * ClusterMessage.GossipSize, gossip[i]);
        if (extSize > 0)
        {
            int at = ClusterMessage.HeaderSize + gossip.Count * ClusterMessage.GossipSize;
            ClusterMessage.Put32(buf, at, (uint)extSize);
            ClusterMessage.Put16(buf, at + 4, ClusterMessage.ExtHostname);
            hostname.CopyTo(buf.AsSpan(at + 8));
            buf[ClusterMessage.OffMFlags] |= ClusterMessage.MFlagExtData;
            ClusterMessage.Put16(buf, ClusterMessage.OffExtensions, 1);
        }
        ClusterMessage.Put16(buf, ClusterMessage.OffCount, gossip.Count);
        link.Send(buf);
    }

    /// <summary>clusterBroadcastMessage: to every node with a link, not in handshake.</summary>
    void Broadcast(byte[] msg)
    {
        foreach (var node in Nodes.Values.ToList())
        {
            if (node.Link == null || node.Has(NodeFlags.Myself | NodeFlags.Handshake)) continue;
            node.Link.Send(msg);
        }
    }

    /// <summary>clusterBroadcastPong: to all nodes, or only the replicas of our shard.</summary>
    void BroadcastPong(bool localSlavesOnly)
    {
        foreach (var node in Nodes.Values.ToList())
        {
            if (node.Link == null || node == Myself || node.InHandshake) continue;
            if (localSlavesOnly && !(node.IsSlave && node.ReplicaOf != null && (node.ReplicaOf == Myself || node.ReplicaOf == Myself.ReplicaOf))) continue;
            SendPing(node.Link, MessageType.Pong);
        }
    }

    void SendFail(string nodename)
    {
        var buf = BuildHeader(MessageType.Fail, ClusterNode.NameLength);
        ClusterMessage.PutString(buf, ClusterMessage.HeaderSize, nodename, ClusterNode.NameLength);
        Broadcast(buf);
    }

    void SendUpdate(ClusterLink? link, ClusterNode node)
    {
        if (link == null) return;
        var buf = BuildHeader(MessageType.Update, 8 + ClusterNode.NameLength + KeyHashSlot.Slots / 8);
        ClusterMessage.Put64(buf, ClusterMessage.HeaderSize, node.ConfigEpoch);
        ClusterMessage.PutString(buf, ClusterMessage.HeaderSize + 8, node.Name, ClusterNode.NameLength);
        node.SlotBits.CopyTo(buf.AsSpan(ClusterMessage.HeaderSize + 8 + ClusterNode.NameLength));
        link.Send(buf);
    }

    byte[] PublishMessage(MessageType type, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message)
    {
        var buf = BuildHeader(type, 8 + channel.Length + message.Length);
        ClusterMessage.Put32(buf, ClusterMessage.HeaderSize, (uint)channel.Length);
        ClusterMessage.Put32(buf, ClusterMessage.HeaderSize + 4, (uint)message.Length);
        channel.CopyTo(buf.AsSpan(ClusterMessage.HeaderSize + 8));
        message.CopyTo(buf.AsSpan(ClusterMessage.HeaderSize + 8 + channel.Length));
        return buf;
    }

    /// <summary>clusterPropagatePublish: PUBLISH to the whole cluster; SPUBLISH to the other nodes of our shard.</summary>
    public void PropagatePublish(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, bool sharded)
    {
        if (!sharded)
        {
            Broadcast(PublishMessage(MessageType.Publish, channel, message));
            return;
        }
        var msg = PublishMessage(MessageType.PublishShard, channel, message);
        var master = Myself.IsMaster ? Myself : Myself.ReplicaOf;
        if (master == null) return;
        foreach (var n in new[] { master }.Concat(master.Replicas))
            if (n != Myself) n.Link?.Send(msg);
    }

    /// <summary>getNodeFromLinkAndMsg: the link's node (unless in handshake), else the sender by name, bound to an inbound link.</summary>
    ClusterNode? SenderOf(ClusterLink link, string senderName)
    {
        if (link.Node != null && !link.Node.InHandshake) return link.Node;
        var sender = LookupNode(senderName);
        if (sender != null && link.Node == null)
        {
            sender.InboundLink = link;
            link.Node = sender;
        }
        return sender;
    }

    /// <summary>clusterProcessPacket: false when the link was freed while processing.</summary>
    internal bool ProcessPacket(ClusterLink link, ReadOnlySpan<byte> msg)
    {
        uint totlen = ClusterMessage.U32(msg, ClusterMessage.OffTotlen);
        int type = ClusterMessage.U16(msg, ClusterMessage.OffType);
        long now = Now;
        if (type < ClusterMessage.TypeCount) MessagesReceived[type]++;
        if (totlen < 16 || totlen > msg.Length) return true;
        if (ClusterMessage.U16(msg, ClusterMessage.OffVer) != ClusterMessage.ProtocolVersion) return true;
        if (type == DropPacketFilter)
        {
            Log.Warning("Dropping packet that matches debug drop filter");
            return true;
        }
        var flags = (NodeFlags)ClusterMessage.U16(msg, ClusterMessage.OffFlags);
        int extensions = ClusterMessage.U16(msg, ClusterMessage.OffExtensions);
        uint explen;
        var mtype = (MessageType)type;
        if (mtype is MessageType.Ping or MessageType.Pong or MessageType.Meet)
        {
            int count = ClusterMessage.U16(msg, ClusterMessage.OffCount);
            explen = (uint)(ClusterMessage.HeaderSize + ClusterMessage.GossipSize * count);
            if ((msg[ClusterMessage.OffMFlags] & ClusterMessage.MFlagExtData) != 0)
            {
                for (int e = 0; e < extensions; e++)
                {
                    if (explen + 8 > totlen) return true;
                    uint extlen = ClusterMessage.U32(msg, (int)explen);
                    if (extlen % 8 != 0)
                    {
                        Log.Warning($"Received a {ClusterMessage.TypeName(type)} packet without proper padding ({extlen} bytes)");
                        return true;
                    }
                    if (totlen - explen < extlen)
                    {
                        Log.Warning($"Received invalid {ClusterMessage.TypeName(type)} packet with extension data that exceeds total packet length ({totlen})");
                        return true;
                    }
                    explen += extlen;
                }
            }
        }
        else if (mtype == MessageType.Fail) explen = ClusterMessage.HeaderSize + ClusterNode.NameLength;
        else if (mtype is MessageType.Publish or MessageType.PublishShard)
        {
            if (totlen < ClusterMessage.HeaderSize + 8) return true;
            explen = ClusterMessage.HeaderSize + 8 + ClusterMessage.U32(msg, ClusterMessage.HeaderSize) + ClusterMessage.U32(msg, ClusterMessage.HeaderSize + 4);
        }
        else if (mtype is MessageType.FailoverAuthRequest or MessageType.FailoverAuthAck or MessageType.MfStart) explen = ClusterMessage.HeaderSize;
        else if (mtype == MessageType.Update) explen = ClusterMessage.HeaderSize + 8 + ClusterNode.NameLength + KeyHashSlot.Slots / 8;
        else if (mtype == MessageType.Module)
        {
            if (totlen < ClusterMessage.HeaderSize + 16) return true;
            explen = ClusterMessage.HeaderSize + 16 - 3 + ClusterMessage.U32(msg, ClusterMessage.HeaderSize + 8);
        }
        else explen = totlen;
        if (totlen != explen)
        {
            Log.Warning($"Received invalid {ClusterMessage.TypeName(type)} packet of length {totlen} but expected length {explen}");
            return true;
        }

        string senderName = ClusterMessage.Name(msg, ClusterMessage.OffSender);
        var sender = SenderOf(link, senderName);
        if (sender != null) sender.DataReceived = now;
        ulong senderCurrentEpoch = 0, senderConfigEpoch = 0;
        if (sender != null && !sender.InHandshake)
        {
            senderCurrentEpoch = ClusterMessage.U64(msg, ClusterMessage.OffCurrentEpoch);
            senderConfigEpoch = ClusterMessage.U64(msg, ClusterMessage.OffConfigEpoch);
            if (senderCurrentEpoch > CurrentEpoch) CurrentEpoch = senderCurrentEpoch;
            if (senderConfigEpoch > sender.ConfigEpoch)
            {
                sender.ConfigEpoch = senderConfigEpoch;
                DoBeforeSleep(TodoSaveConfig | TodoFsyncConfig);
            }
            sender.ReplOffset = (long)ClusterMessage.U64(msg, ClusterMessage.OffOffset);
            sender.ReplOffsetTime = now;
            if (_mfEnd != 0 && Myself.IsSlave && Myself.ReplicaOf == sender && (msg[ClusterMessage.OffMFlags] & ClusterMessage.MFlagPaused) != 0 && _mfMasterOffset == -1)
            {
                _mfMasterOffset = sender.ReplOffset;
                DoBeforeSleep(TodoHandleManualFailover);
                Log.Warning($"Received replication offset for paused master manual failover: {_mfMasterOffset}");
            }
        }

        if (mtype is MessageType.Ping or MessageType.Meet)
        {
            // A MEET (or any PING while we have no address) tells us our own address.
            if ((mtype == MessageType.Meet || Myself.Ip.Length == 0) && Config.GetString("cluster-announce-ip").Length == 0)
            {
                string? ip = link.LocalIp;
                if (ip != null && ip != Myself.Ip)
                {
                    Myself.Ip = ip;
                    Log.Warning($"IP address for this node updated to {Myself.Ip}");
                    DoBeforeSleep(TodoSaveConfig);
                }
            }
            if (sender == null && mtype == MessageType.Meet)
            {
                var node = new ClusterNode(Server.RandomBytes.Hex(20), NodeFlags.Handshake, now)
                {
                    Ip = AnnouncedIpOrPeer(link, msg),
                    Port = ClusterMessage.U16(msg, ClusterMessage.OffPort),
                    PPort = ClusterMessage.U16(msg, ClusterMessage.OffPPort),
                    CPort = ClusterMessage.U16(msg, ClusterMessage.OffCPort),
                };
                AddNode(node);
                DoBeforeSleep(TodoSaveConfig);
                ProcessGossipSection(msg, link, null);
            }
            SendPing(link, MessageType.Pong);
        }

        if (mtype is MessageType.Ping or MessageType.Pong or MessageType.Meet)
        {
            if (!link.Inbound)
            {
                var linkNode = link.Node!;
                if (linkNode.InHandshake)
                {
                    if (sender != null)
                    {
                        Log.Verbose($"Handshake: we already know node {sender.Name}, updating the address if needed.");
                        if (NodeUpdateAddressIfNeeded(sender, link, msg)) DoBeforeSleep(TodoSaveConfig | TodoUpdateState);
                        DelNode(linkNode);
                        return false;
                    }
                    RenameNode(linkNode, senderName);
                    Log.Debug($"Handshake with node {linkNode.Name} completed.");
                    linkNode.Flags &= ~NodeFlags.Handshake;
                    linkNode.Flags |= flags & (NodeFlags.Master | NodeFlags.Slave);
                    DoBeforeSleep(TodoSaveConfig);
                }
                else if (linkNode.Name != senderName)
                {
                    Log.Debug($"PONG contains mismatching sender ID. About node {linkNode.Name} added {now - linkNode.CTime} ms ago, having flags {(int)linkNode.Flags}");
                    linkNode.Flags |= NodeFlags.NoAddr;
                    linkNode.Ip = "";
                    linkNode.Port = linkNode.PPort = linkNode.CPort = 0;
                    link.Free();
                    DoBeforeSleep(TodoSaveConfig);
                    return false;
                }
            }
            if (sender != null)
            {
                sender.Flags &= ~NodeFlags.NoFailover;
                sender.Flags |= flags & NodeFlags.NoFailover;
            }
            if (sender != null && mtype == MessageType.Ping && !sender.InHandshake && NodeUpdateAddressIfNeeded(sender, link, msg))
                DoBeforeSleep(TodoSaveConfig | TodoUpdateState);
            if (!link.Inbound && mtype == MessageType.Pong)
            {
                var ln = link.Node!;
                ln.PongReceived = now;
                ln.PingSent = 0;
                if (ln.TimedOut)
                {
                    ln.Flags &= ~NodeFlags.PFail;
                    DoBeforeSleep(TodoSaveConfig | TodoUpdateState);
                }
                else if (ln.Failed) ClearNodeFailureIfNeeded(ln);
            }

            // Role switches.
            if (sender != null)
            {
                if (ClusterMessage.IsNullName(msg, ClusterMessage.OffSlaveOf)) SetNodeAsMaster(sender);
                else
                {
                    var master = LookupNode(ClusterMessage.Name(msg, ClusterMessage.OffSlaveOf));
                    if (sender.IsMaster)
                    {
                        DelNodeSlots(sender);
                        sender.Flags &= ~(NodeFlags.Master | NodeFlags.MigrateTo);
                        sender.Flags |= NodeFlags.Slave;
                        DoBeforeSleep(TodoSaveConfig | TodoUpdateState);
                    }
                    if (master != null && sender.ReplicaOf != master)
                    {
                        sender.ReplicaOf?.RemoveReplica(sender);
                        master.AddReplica(sender);
                        sender.ReplicaOf = master;
                        DoBeforeSleep(TodoSaveConfig);
                    }
                }
            }

            // Slots: update from a master claiming a different set; tell a stale sender with UPDATE.
            var claimed = msg.Slice(ClusterMessage.OffMySlots, KeyHashSlot.Slots / 8);
            ClusterNode? senderMaster = sender == null ? null : sender.IsMaster ? sender : sender.ReplicaOf;
            bool dirtySlots = senderMaster != null && !senderMaster.SlotBits.AsSpan().SequenceEqual(claimed);
            if (sender != null && sender.IsMaster && dirtySlots) UpdateSlotsConfigWith(sender, senderConfigEpoch, claimed);
            if (sender != null && dirtySlots)
            {
                for (int j = 0; j < KeyHashSlot.Slots; j++)
                {
                    if ((claimed[j >> 3] & (1 << (j & 7))) == 0) continue;
                    var owner = Slots[j];
                    if (owner == sender || owner == null) continue;
                    if (owner.ConfigEpoch > senderConfigEpoch)
                    {
                        Log.Verbose($"Node {sender.Name} has old slots configuration, sending an UPDATE message about {owner.Name}");
                        SendUpdate(sender.Link, owner);
                        break;
                    }
                }
            }
            if (sender != null && Myself.IsMaster && sender.IsMaster && senderConfigEpoch == Myself.ConfigEpoch) HandleConfigEpochCollision(sender);
            if (sender != null)
            {
                ProcessGossipSection(msg, link, sender);
                ProcessPingExtensions(msg, sender);
            }
        }
        else if (mtype == MessageType.Fail)
        {
            string about = ClusterMessage.Name(msg, ClusterMessage.HeaderSize);
            if (sender != null)
            {
                var failing = LookupNode(about);
                if (failing != null && !failing.Has(NodeFlags.Fail | NodeFlags.Myself))
                {
                    Log.Notice($"FAIL message received from {senderName} about {about}");
                    failing.Flags |= NodeFlags.Fail;
                    failing.FailTime = now;
                    failing.Flags &= ~NodeFlags.PFail;
                    DoBeforeSleep(TodoSaveConfig | TodoUpdateState);
                }
            }
            else Log.Notice($"Ignoring FAIL message from unknown node {senderName} about {about}");
        }
        else if (mtype is MessageType.Publish or MessageType.PublishShard)
        {
            if (sender == null) return true;
            int clen = (int)ClusterMessage.U32(msg, ClusterMessage.HeaderSize);
            int mlen = (int)ClusterMessage.U32(msg, ClusterMessage.HeaderSize + 4);
            var channel = msg.Slice(ClusterMessage.HeaderSize + 8, clen);
            var message = msg.Slice(ClusterMessage.HeaderSize + 8 + clen, mlen);
            _server.PubSub.PublishMessage(channel, message, mtype == MessageType.PublishShard ? PubSub.PubSubType.ShardType : PubSub.PubSubType.Global);
        }
        else if (mtype == MessageType.FailoverAuthRequest)
        {
            if (sender == null) return true;
            SendFailoverAuthIfNeeded(sender, msg);
        }
        else if (mtype == MessageType.FailoverAuthAck)
        {
            if (sender == null) return true;
            if (sender.IsMaster && sender.NumSlots > 0 && senderCurrentEpoch >= _failoverAuthEpoch)
            {
                _failoverAuthCount++;
                DoBeforeSleep(TodoHandleFailover);
            }
        }
        else if (mtype == MessageType.MfStart)
        {
            if (sender == null || sender.ReplicaOf != Myself) return true;
            ResetManualFailover();
            _mfEnd = now + ManualFailoverTimeout;
            _mfSlave = sender;
            _server.Pause.PauseWrites(Networking.PausePurpose.Failover);
            Log.Warning($"Manual failover requested by replica {sender.Name}.");
            SendPing(link, MessageType.Ping);
        }
        else if (mtype == MessageType.Update)
        {
            if (sender == null) return true;
            ulong reported = ClusterMessage.U64(msg, ClusterMessage.HeaderSize);
            var n = LookupNode(ClusterMessage.Name(msg, ClusterMessage.HeaderSize + 8));
            if (n == null || n.ConfigEpoch >= reported) return true;
            if (n.IsSlave) SetNodeAsMaster(n);
            n.ConfigEpoch = reported;
            DoBeforeSleep(TodoSaveConfig | TodoFsyncConfig);
            UpdateSlotsConfigWith(n, reported, msg.Slice(ClusterMessage.HeaderSize + 8 + ClusterNode.NameLength, KeyHashSlot.Slots / 8));
        }
        else if (mtype != MessageType.Module)
        {
            Log.Warning($"Received unknown packet type: {type}");
        }
        return !link.Freed;
    }

    /// <summary>nodeIp2String: the announced IP in the header, else the peer's address.</summary>
    static string AnnouncedIpOrPeer(ClusterLink link, ReadOnlySpan<byte> msg)
    {
        string announced = ClusterMessage.CString(msg, ClusterMessage.OffMyIp, ClusterMessage.IpLength);
        return announced.Length > 0 ? announced : link.PeerIp ?? "";
    }

    /// <summary>nodeUpdateAddressIfNeeded: a node pinging from a new address gets it (its outbound link is remade).</summary>
    bool NodeUpdateAddressIfNeeded(ClusterNode node, ClusterLink link, ReadOnlySpan<byte> msg)
    {
        if (link == node.Link) return false;
        string ip = AnnouncedIpOrPeer(link, msg);
        int port = ClusterMessage.U16(msg, ClusterMessage.OffPort), pport = ClusterMessage.U16(msg, ClusterMessage.OffPPort), cport = ClusterMessage.U16(msg, ClusterMessage.OffCPort);
        if (node.Port == port && node.CPort == cport && node.PPort == pport && node.Ip == ip) return false;
        node.Ip = ip;
        node.Port = port;
        node.PPort = pport;
        node.CPort = cport;
        node.Link?.Free();
        node.Flags &= ~NodeFlags.NoAddr;
        Log.Warning($"Address updated for node {node.Name}, now {node.Ip}:{node.Port}");
        if (Myself.IsSlave && Myself.ReplicaOf == node) _server.ReplicaSide.SetMaster(node.Ip, node.Port);
        return true;
    }

    /// <summary>clusterProcessGossipSection: failure reports from masters, pong times, addresses, and nodes to add.</summary>
    void ProcessGossipSection(ReadOnlySpan<byte> msg, ClusterLink link, ClusterNode? sender)
    {
        int count = ClusterMessage.U16(msg, ClusterMessage.OffCount);
        sender ??= link.Node ?? LookupNode(ClusterMessage.Name(msg, ClusterMessage.OffSender));
        for (int i = 0; i < count; i++)
        {
            var g = ClusterMessage.ReadGossip(msg, ClusterMessage.HeaderSize + i * ClusterMessage.GossipSize);
            var node = LookupNode(g.Name);
            if (node != null)
            {
                if (sender != null && sender.IsMaster && node != Myself)
                {
                    if ((g.Flags & (NodeFlags.Fail | NodeFlags.PFail)) != 0)
                    {
                        if (AddFailureReport(node, sender)) Log.Verbose($"Node {sender.Name} reported node {node.Name} as not reachable.");
                        MarkNodeAsFailingIfNeeded(node);
                    }
                    else if (DelFailureReport(node, sender)) Log.Verbose($"Node {sender.Name} reported node {node.Name} is back online.");
                }
                if ((g.Flags & (NodeFlags.Fail | NodeFlags.PFail)) == 0 && node.PingSent == 0 && FailureReportsCount(node) == 0)
                {
                    long pongTime = g.PongReceived * 1000L;
                    if (pongTime <= Now + 500 && pongTime > node.PongReceived) node.PongReceived = pongTime;
                }
                if (node.Has(NodeFlags.Fail | NodeFlags.PFail) && (g.Flags & NodeFlags.NoAddr) == 0 && (g.Flags & (NodeFlags.Fail | NodeFlags.PFail)) == 0
                    && (!string.Equals(node.Ip, g.Ip, StringComparison.OrdinalIgnoreCase) || node.Port != g.Port || node.CPort != g.CPort))
                {
                    node.Link?.Free();
                    node.Ip = g.Ip;
                    node.Port = g.Port;
                    node.PPort = g.PPort;
                    node.CPort = g.CPort;
                    node.Flags &= ~NodeFlags.NoAddr;
                }
            }
            else if (sender != null && (g.Flags & NodeFlags.NoAddr) == 0 && !BlacklistExists(g.Name) && ClusterNode.IsValidName(g.Name))
            {
                AddNode(new ClusterNode(g.Name, g.Flags, Now) { Ip = g.Ip, Port = g.Port, PPort = g.PPort, CPort = g.CPort });
            }
        }
    }

    /// <summary>clusterProcessPingExtensions: the hostname extension (its absence clears the hostname).</summary>
    void ProcessPingExtensions(ReadOnlySpan<byte> msg, ClusterNode sender)
    {
        int extensions = ClusterMessage.U16(msg, ClusterMessage.OffExtensions);
        int at = ClusterMessage.HeaderSize + ClusterMessage.U16(msg, ClusterMessage.OffCount) * ClusterMessage.GossipSize;
        string? hostname = null;
        for (int e = 0; e < extensions && at + 8 <= msg.Length; e++)
        {
            int len = (int)ClusterMessage.U32(msg, at);
            int type = ClusterMessage.U16(msg, at + 4);
            if (type == ClusterMessage.ExtHostname) hostname = ClusterMessage.CString(msg, at + 8, Math.Max(0, len - 8));
            else Log.Warning($"Received unknown extension type {type}");
            if (len <= 0) break;
            at += len;
        }
        sender.Hostname = hostname ?? "";
    }

    /// <summary>markNodeAsFailingIfNeeded: PFAIL here plus failure reports from a majority of masters → FAIL, broadcast.</summary>
    void MarkNodeAsFailingIfNeeded(ClusterNode node)
    {
        int neededQuorum = Size / 2 + 1;
        if (!node.TimedOut || node.Failed) return;
        int failures = FailureReportsCount(node);
        if (Myself.IsMaster) failures++;
        if (failures < neededQuorum) return;
        Log.Notice($"Marking node {node.Name} as failing (quorum reached).");
        node.Flags &= ~NodeFlags.PFail;
        node.Flags |= NodeFlags.Fail;
        node.FailTime = Now;
        SendFail(node.Name);
        DoBeforeSleep(TodoUpdateState | TodoSaveConfig);
    }

    /// <summary>clearNodeFailureIfNeeded: a reachable replica or slot-less master at once; a master with slots after 2 node timeouts.</summary>
    void ClearNodeFailureIfNeeded(ClusterNode node)
    {
        long now = Now;
        if (node.IsSlave || node.NumSlots == 0)
        {
            Log.Notice($"Clear FAIL state for node {node.Name}: {(node.IsSlave ? "replica" : "master without slots")} is reachable again.");
            node.Flags &= ~NodeFlags.Fail;
            DoBeforeSleep(TodoUpdateState | TodoSaveConfig);
        }
        if (node.IsMaster && node.NumSlots > 0 && now - node.FailTime > NodeTimeout * 2)
        {
            Log.Notice($"Clear FAIL state for node {node.Name}: is reachable again and nobody is serving its slots after some time.");
            node.Flags &= ~NodeFlags.Fail;
            DoBeforeSleep(TodoUpdateState | TodoSaveConfig);
        }
    }

    /// <summary>
    /// clusterUpdateSlotsConfigWith: slots claimed with a greater config epoch move to the sender
    /// (not those we import); a master left without slots follows the new owner, and keys of
    /// slots lost while still serving others are deleted.
    /// </summary>
    void UpdateSlotsConfigWith(ClusterNode sender, ulong senderConfigEpoch, ReadOnlySpan<byte> slots)
    {
        var curMaster = Myself.IsMaster ? Myself : Myself.ReplicaOf;
        ClusterNode? newMaster = null;
        var dirty = new List<int>();
        int senderSlots = 0, migratedOurSlots = 0;
        if (sender == Myself)
        {
            Log.Warning("Discarding UPDATE message about myself.");
            return;
        }
        for (int j = 0; j < KeyHashSlot.Slots; j++)
        {
            if ((slots[j >> 3] & (1 << (j & 7))) == 0) continue;
            senderSlots++;
            if (Slots[j] == sender) continue;
            if (ImportingSlotsFrom[j] != null) continue;
            if (Slots[j] == null || Slots[j]!.ConfigEpoch < senderConfigEpoch)
            {
                if (Slots[j] == Myself && CountKeysInSlot(j) > 0) dirty.Add(j);
                if (Slots[j] == curMaster)
                {
                    newMaster = sender;
                    migratedOurSlots++;
                }
                DelSlot(j);
                AddSlot(sender, j);
                DoBeforeSleep(TodoSaveConfig | TodoUpdateState | TodoFsyncConfig);
            }
        }
        if (newMaster != null && curMaster!.NumSlots == 0 && (Config.GetBool("cluster-allow-replica-migration") || senderSlots == migratedOurSlots))
        {
            Log.Warning($"Configuration change detected. Reconfiguring myself as a replica of {sender.Name}");
            SetMaster(sender);
            DoBeforeSleep(TodoSaveConfig | TodoUpdateState | TodoFsyncConfig);
        }
        else if (Myself.ReplicaOf?.ReplicaOf is { } grandMaster)
        {
            Log.Warning($"I'm a sub-replica! Reconfiguring myself as a replica of grandmaster {grandMaster.Name}");
            SetMaster(grandMaster);
            DoBeforeSleep(TodoSaveConfig | TodoUpdateState | TodoFsyncConfig);
        }
        else
        {
            foreach (int j in dirty) _server.Databases[0].DeleteKeysInSlot(j);
        }
    }
}
