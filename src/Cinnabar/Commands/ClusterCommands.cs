// CLUSTER and its subcommands, ASKING, READONLY, READWRITE (cluster.c clusterCommand and friends)
// over Cluster/ClusterState.cs: topology (INFO, MYID, NODES, SLOTS, SHARDS, LINKS, REPLICAS),
// membership (MEET, FORGET, REPLICATE, RESET), slot ownership (ADDSLOTS[RANGE], DELSLOTS[RANGE],
// FLUSHSLOTS, SETSLOT), keys by slot (KEYSLOT, COUNTKEYSINSLOT, GETKEYSINSLOT), epochs
// (BUMPEPOCH, SET-CONFIG-EPOCH), FAILOVER, SAVECONFIG and COUNT-FAILURE-REPORTS.
using System.Globalization;
using System.Text;
using Cinnabar.Cluster;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public static class ClusterCommands
{
    const string Disabled = "This instance has cluster support disabled";

    static ClusterState? Enabled(Client c)
    {
        var cluster = c.Server.Cluster;
        if (cluster == null) c.Reply.Error(Disabled);
        return cluster;
    }

    static string Arg(Client c, int i) => c.Args.ToStringAt(i);

    [Command("asking")]
    static void Asking(Client c)
    {
        if (Enabled(c) == null) return;
        c.Asking = true;
        c.Reply.Ok();
    }

    [Command("readonly")]
    static void ReadOnly(Client c)
    {
        if (Enabled(c) == null) return;
        c.ReadOnlyCluster = true;
        c.Reply.Ok();
    }

    [Command("readwrite")]
    static void ReadWrite(Client c)
    {
        if (Enabled(c) == null) return;
        c.ReadOnlyCluster = false;
        c.Reply.Ok();
    }

    [Command("cluster|help")]
    static void Help(Client c)
    {
        if (Enabled(c) != null) HelpReply.Write(c, "CLUSTER", HelpLines);
    }

    static readonly string[] HelpLines =
    [
        "ADDSLOTS <slot> [<slot> ...]",
        "    Assign slots to current node.",
        "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Assign slots which are between <start-slot> and <end-slot> to current node.",
        "BUMPEPOCH",
        "    Advance the cluster config epoch.",
        "COUNT-FAILURE-REPORTS <node-id>",
        "    Return number of failure reports for <node-id>.",
        "COUNTKEYSINSLOT <slot>",
        "    Return the number of keys in <slot>.",
        "DELSLOTS <slot> [<slot> ...]",
        "    Delete slots information from current node.",
        "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
        "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
        "FAILOVER [FORCE|TAKEOVER]",
        "    Promote current replica node to being a master.",
        "FORGET <node-id>",
        "    Remove a node from the cluster.",
        "GETKEYSINSLOT <slot> <count>",
        "    Return key names stored by current node in a slot.",
        "FLUSHSLOTS",
        "    Delete current node own slots information.",
        "INFO",
        "    Return information about the cluster.",
        "KEYSLOT <key>",
        "    Return the hash slot for <key>.",
        "MEET <ip> <port> [<bus-port>]",
        "    Connect nodes into a working cluster.",
        "MYID",
        "    Return the node id.",
        "NODES",
        "    Return cluster configuration seen by node. Output format:",
        "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
        "REPLICATE <node-id>",
        "    Configure current node as replica to <node-id>.",
        "RESET [HARD|SOFT]",
        "    Reset current node (default: soft).",
        "SET-CONFIG-EPOCH <epoch>",
        "    Set config epoch of current node.",
        "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
        "    Set slot state.",
        "REPLICAS <node-id>",
        "    Return <node-id> replicas.",
        "SAVECONFIG",
        "    Force saving cluster configuration on disk.",
        "SLOTS",
        "    Return information about slots range mappings. Each range is made of:",
        "    start, end, master and replicas IP addresses, ports and ids",
        "SHARDS",
        "    Return information about slot range mappings and the nodes associated with them.",
        "LINKS",
        "    Return information about all network links between this node and its peers.",
        "    Output format is an array where each array element is a map containing attributes of a link",
    ];

    [Command("cluster|meet")]
    static void Meet(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (c.Args.Count > 5)
        {
            SubcommandSyntax(c);
            return;
        }
        if (!Protocol.RespParser.TryParseLong(c.Args[3], out long port))
        {
            c.Reply.Error($"Invalid TCP base port specified: {Arg(c, 3)}");
            return;
        }
        long cport = port + ClusterState.PortIncr;
        if (c.Args.Count == 5 && !Protocol.RespParser.TryParseLong(c.Args[4], out cport))
        {
            c.Reply.Error($"Invalid TCP bus port specified: {Arg(c, 4)}");
            return;
        }
        if (!cl.StartHandshake(Arg(c, 2), (int)Math.Clamp(port, -1, 70000), (int)Math.Clamp(cport, -1, 70000), out bool invalid) && invalid)
        {
            c.Reply.Error($"Invalid node address specified: {Arg(c, 2)}:{Arg(c, 3)}");
            return;
        }
        c.Reply.Ok();
    }

    static void SubcommandSyntax(Client c) =>
        c.Reply.Error($"unknown subcommand or wrong number of arguments for '{Arg(c, 1)}'. Try CLUSTER HELP.");

    [Command("cluster|nodes")]
    static void Nodes(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        c.Reply.Verbatim(NodesConfigFile.DescribeAll(cl, NodeFlags.None, cl.UsePPort(c)));
    }

    [Command("cluster|myid")]
    static void MyId(Client c)
    {
        if (Enabled(c) is { } cl) c.Reply.Bulk(cl.Myself.Name);
    }

    /// <summary>isReplicaAvailable: not failed, and with some replication progress.</summary>
    static bool ReplicaAvailable(Client c, ClusterState cl, ClusterNode node)
    {
        if (node.Failed) return false;
        long offset = node == cl.Myself ? c.Server.ReplicaSide.SlaveOffset : node.ReplOffset;
        return offset != 0;
    }

    static void NodeReply(Client c, ClusterNode node)
    {
        string type = c.Server.Config.GetString("cluster-preferred-endpoint-type");
        c.Reply.ArrayLen(4);
        if (type == "ip") c.Reply.Bulk(node.Ip);
        else if (type == "hostname") c.Reply.Bulk(node.Hostname.Length > 0 ? node.Hostname : "?");
        else c.Reply.Null();
        c.Reply.Integer(c.Server.Cluster!.PortFor(c, node));
        c.Reply.Bulk(node.Name);
        var extra = new List<(string, string)>();
        if (type != "ip") extra.Add(("ip", node.Ip));
        if (type != "hostname" && node.Hostname.Length > 0) extra.Add(("hostname", node.Hostname));
        c.Reply.MapLen(extra.Count);
        foreach (var (k, v) in extra)
        {
            c.Reply.Bulk(k);
            c.Reply.Bulk(v);
        }
    }

    /// <summary>Runs of consecutive slots with one owner, in slot order.</summary>
    static List<(int Start, int End, ClusterNode Node)> SlotRuns(ClusterState cl)
    {
        var runs = new List<(int, int, ClusterNode)>();
        ClusterNode? n = null;
        int start = -1;
        for (int i = 0; i <= KeyHashSlot.Slots; i++)
        {
            var owner = i < KeyHashSlot.Slots ? cl.Slots[i] : null;
            if (owner == n) continue;
            if (n != null) runs.Add((start, i - 1, n));
            n = owner;
            start = i;
        }
        return runs;
    }

    [Command("cluster|slots")]
    static void SlotsCommand(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        var runs = SlotRuns(cl);
        c.Reply.ArrayLen(runs.Count);
        foreach (var (start, end, n) in runs)
        {
            var replicas = n.Replicas.Where(r => ReplicaAvailable(c, cl, r)).ToList();
            c.Reply.ArrayLen(3 + replicas.Count);
            c.Reply.Integer(start);
            c.Reply.Integer(end);
            NodeReply(c, n);
            foreach (var r in replicas) NodeReply(c, r);
        }
    }

    [Command("cluster|shards")]
    static void Shards(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        var masters = cl.Nodes.Values.Where(n => n.IsMaster).ToList();
        var runs = SlotRuns(cl);
        c.Reply.ArrayLen(masters.Count);
        foreach (var m in masters)
        {
            c.Reply.MapLen(2);
            c.Reply.Bulk("slots");
            var mine = runs.Where(r => r.Node == m).ToList();
            c.Reply.ArrayLen(mine.Count * 2);
            foreach (var (s, e, _) in mine)
            {
                c.Reply.Integer(s);
                c.Reply.Integer(e);
            }
            c.Reply.Bulk("nodes");
            var nodes = new List<ClusterNode> { m };
            nodes.AddRange(m.Replicas);
            c.Reply.ArrayLen(nodes.Count);
            foreach (var node in nodes) ShardNode(c, cl, node);
        }
    }

    static void ShardNode(Client c, ClusterState cl, ClusterNode node)
    {
        long offset = node == cl.Myself
            ? (node.IsSlave ? c.Server.ReplicaSide.SlaveOffset : c.Server.Replication.MasterReplOffset)
            : node.ReplOffset;
        string health = node.Failed ? "fail" : node.IsSlave && offset == 0 ? "loading" : "online";
        // Under tls-cluster a node's port is its TLS one and pport the plaintext one (0: none announced).
        int plaintextPort = cl.TlsCluster ? node.PPort : node.Port, tlsPort = cl.TlsCluster ? node.Port : 0;
        c.Reply.MapLen(6 + (plaintextPort != 0 ? 1 : 0) + (tlsPort != 0 ? 1 : 0) + (node.Hostname.Length > 0 ? 1 : 0));
        c.Reply.Bulk("id");
        c.Reply.Bulk(node.Name);
        if (plaintextPort != 0)
        {
            c.Reply.Bulk("port");
            c.Reply.Integer(plaintextPort);
        }
        if (tlsPort != 0)
        {
            c.Reply.Bulk("tls-port");
            c.Reply.Integer(tlsPort);
        }
        c.Reply.Bulk("ip");
        c.Reply.Bulk(node.Ip);
        c.Reply.Bulk("endpoint");
        c.Reply.Bulk(c.Server.ClusterRouting!.PreferredEndpoint(node));
        if (node.Hostname.Length > 0)
        {
            c.Reply.Bulk("hostname");
            c.Reply.Bulk(node.Hostname);
        }
        c.Reply.Bulk("role");
        c.Reply.Bulk(node.IsSlave ? "replica" : "master");
        c.Reply.Bulk("replication-offset");
        c.Reply.Integer(offset);
        c.Reply.Bulk("health");
        c.Reply.Bulk(health);
    }

    [Command("cluster|flushslots")]
    static void FlushSlots(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (c.Server.Databases[0].Count != 0)
        {
            c.Reply.Error("DB must be empty to perform CLUSTER FLUSHSLOTS.");
            return;
        }
        cl.DelNodeSlots(cl.Myself);
        cl.DoBeforeSleep(ClusterState.TodoUpdateState | ClusterState.TodoSaveConfig);
        c.Reply.Ok();
    }

    static int SlotOrReply(Client c, int i)
    {
        if (!Protocol.RespParser.TryParseLong(c.Args[i], out long slot) || slot < 0 || slot >= KeyHashSlot.Slots)
        {
            c.Reply.Error("Invalid or out of range slot");
            return -1;
        }
        return (int)slot;
    }

    /// <summary>checkSlotAssignmentsOrReply.</summary>
    static bool CheckSlots(Client c, ClusterState cl, byte[] slots, bool del, int start, int end)
    {
        for (int slot = start; slot <= end; slot++)
        {
            if (del && cl.Slots[slot] == null)
            {
                c.Reply.Error($"Slot {slot} is already unassigned");
                return false;
            }
            if (!del && cl.Slots[slot] != null)
            {
                c.Reply.Error($"Slot {slot} is already busy");
                return false;
            }
            if (slots[slot]++ == 1)
            {
                c.Reply.Error($"Slot {slot} specified multiple times");
                return false;
            }
        }
        return true;
    }

    static void UpdateSlots(ClusterState cl, byte[] slots, bool del)
    {
        for (int j = 0; j < KeyHashSlot.Slots; j++)
        {
            if (slots[j] == 0) continue;
            cl.ImportingSlotsFrom[j] = null;
            if (del) cl.DelSlot(j);
            else cl.AddSlot(cl.Myself, j);
        }
        cl.DoBeforeSleep(ClusterState.TodoUpdateState | ClusterState.TodoSaveConfig);
    }

    [Command("cluster|addslots")]
    [Command("cluster|delslots")]
    static void AddDelSlots(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        bool del = Arg(c, 1).Equals("delslots", StringComparison.OrdinalIgnoreCase);
        for (int j = 2; j < c.Args.Count; j++)
            if (SlotOrReply(c, j) < 0) return;
        var slots = new byte[KeyHashSlot.Slots];
        for (int j = 2; j < c.Args.Count; j++)
        {
            int slot = SlotOrReply(c, j);
            if (!CheckSlots(c, cl, slots, del, slot, slot)) return;
        }
        UpdateSlots(cl, slots, del);
        c.Reply.Ok();
    }

    [Command("cluster|addslotsrange")]
    [Command("cluster|delslotsrange")]
    static void AddDelSlotsRange(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (c.Args.Count % 2 == 1)
        {
            c.Reply.Error($"wrong number of arguments for '{c.Cmd!.FullName}' command");
            return;
        }
        bool del = Arg(c, 1).Equals("delslotsrange", StringComparison.OrdinalIgnoreCase);
        var slots = new byte[KeyHashSlot.Slots];
        for (int j = 2; j < c.Args.Count; j += 2)
        {
            int start = SlotOrReply(c, j);
            if (start < 0) return;
            int end = SlotOrReply(c, j + 1);
            if (end < 0) return;
            if (start > end)
            {
                c.Reply.Error($"start slot number {start} is greater than end slot number {end}");
                return;
            }
            if (!CheckSlots(c, cl, slots, del, start, end)) return;
        }
        UpdateSlots(cl, slots, del);
        c.Reply.Ok();
    }

    [Command("cluster|setslot")]
    static void SetSlot(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (cl.Myself.IsSlave)
        {
            c.Reply.Error("Please use SETSLOT only with masters.");
            return;
        }
        int slot = SlotOrReply(c, 2);
        if (slot < 0) return;
        string action = Arg(c, 3).ToLowerInvariant();
        var myself = cl.Myself;
        if (action == "migrating" && c.Args.Count == 5)
        {
            if (cl.Slots[slot] != myself)
            {
                c.Reply.Error($"I'm not the owner of hash slot {slot}");
                return;
            }
            if (!KnownMaster(c, cl, Arg(c, 4), "I don't know about node", out var n)) return;
            cl.MigratingSlotsTo[slot] = n;
        }
        else if (action == "importing" && c.Args.Count == 5)
        {
            if (cl.Slots[slot] == myself)
            {
                c.Reply.Error($"I'm already the owner of hash slot {slot}");
                return;
            }
            if (!KnownMaster(c, cl, Arg(c, 4), "I don't know about node", out var n)) return;
            cl.ImportingSlotsFrom[slot] = n;
        }
        else if (action == "stable" && c.Args.Count == 4)
        {
            cl.ImportingSlotsFrom[slot] = null;
            cl.MigratingSlotsTo[slot] = null;
        }
        else if (action == "node" && c.Args.Count == 5)
        {
            if (!KnownMaster(c, cl, Arg(c, 4), "Unknown node", out var n)) return;
            long keys = cl.CountKeysInSlot(slot);
            if (cl.Slots[slot] == myself && n != myself && keys != 0)
            {
                c.Reply.Error($"Can't assign hashslot {slot} to a different node while I still hold keys for this hash slot.");
                return;
            }
            if (keys == 0 && cl.MigratingSlotsTo[slot] != null) cl.MigratingSlotsTo[slot] = null;
            bool slotWasMine = cl.Slots[slot] == myself;
            cl.DelSlot(slot);
            cl.AddSlot(n, slot);
            if (slotWasMine && n != myself && myself.NumSlots == 0 && c.Server.Config.GetBool("cluster-allow-replica-migration"))
            {
                c.Server.Log.Warning($"Configuration change detected. Reconfiguring myself as a replica of {n.Name}");
                cl.SetMaster(n);
                cl.DoBeforeSleep(ClusterState.TodoSaveConfig | ClusterState.TodoUpdateState | ClusterState.TodoFsyncConfig);
            }
            if (n == myself && cl.ImportingSlotsFrom[slot] != null)
            {
                if (cl.BumpConfigEpochWithoutConsensus()) c.Server.Log.Warning($"configEpoch updated after importing slot {slot}");
                cl.ImportingSlotsFrom[slot] = null;
                cl.BroadcastPongToAll();
            }
        }
        else
        {
            c.Reply.Error("Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
            return;
        }
        cl.DoBeforeSleep(ClusterState.TodoSaveConfig | ClusterState.TodoUpdateState);
        c.Reply.Ok();
    }

    static bool KnownMaster(Client c, ClusterState cl, string name, string unknownText, out ClusterNode node)
    {
        node = cl.LookupNode(name)!;
        if (node == null)
        {
            c.Reply.Error($"{unknownText} {name}");
            return false;
        }
        if (node.IsSlave)
        {
            c.Reply.Error("Target node is not a master");
            return false;
        }
        return true;
    }

    [Command("cluster|bumpepoch")]
    static void BumpEpoch(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        bool bumped = cl.BumpConfigEpochWithoutConsensus();
        c.Reply.Status($"{(bumped ? "BUMPED" : "STILL")} {cl.Myself.ConfigEpoch}");
    }

    [Command("cluster|info")]
    static void Info(Client c)
    {
        if (Enabled(c) is { } cl) c.Reply.Verbatim(InfoText(cl));
    }

    /// <summary>CLUSTER INFO's text (also INFO's cluster section relies on cluster_enabled only).</summary>
    public static string InfoText(ClusterState cl)
    {
        int assigned = 0, ok = 0, pfail = 0, fail = 0;
        foreach (var n in cl.Slots)
        {
            if (n == null) continue;
            assigned++;
            if (n.Failed) fail++;
            else if (n.TimedOut) pfail++;
            else ok++;
        }
        var me = cl.Myself;
        ulong myEpoch = me.IsSlave && me.ReplicaOf != null ? me.ReplicaOf.ConfigEpoch : me.ConfigEpoch;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"cluster_state:{(cl.StateOk ? "ok" : "fail")}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"cluster_slots_assigned:{assigned}\r\ncluster_slots_ok:{ok}\r\ncluster_slots_pfail:{pfail}\r\ncluster_slots_fail:{fail}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"cluster_known_nodes:{cl.Nodes.Count}\r\ncluster_size:{cl.Size}\r\ncluster_current_epoch:{cl.CurrentEpoch}\r\ncluster_my_epoch:{myEpoch}\r\n");
        long sent = 0, received = 0;
        for (int i = 0; i < ClusterMessage.TypeCount; i++)
        {
            if (cl.MessagesSent[i] == 0) continue;
            sent += cl.MessagesSent[i];
            sb.Append(CultureInfo.InvariantCulture, $"cluster_stats_messages_{ClusterMessage.TypeName(i)}_sent:{cl.MessagesSent[i]}\r\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"cluster_stats_messages_sent:{sent}\r\n");
        for (int i = 0; i < ClusterMessage.TypeCount; i++)
        {
            if (cl.MessagesReceived[i] == 0) continue;
            received += cl.MessagesReceived[i];
            sb.Append(CultureInfo.InvariantCulture, $"cluster_stats_messages_{ClusterMessage.TypeName(i)}_received:{cl.MessagesReceived[i]}\r\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"cluster_stats_messages_received:{received}\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"total_cluster_links_buffer_limit_exceeded:{cl.LinksBufferLimitExceeded}\r\n");
        return sb.ToString();
    }

    [Command("cluster|saveconfig")]
    static void SaveConfig(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (cl.SaveConfig(fsync: true)) c.Reply.Ok();
        else c.Reply.Error("error saving the cluster node config: Input/output error");
    }

    [Command("cluster|keyslot")]
    static void KeySlot(Client c)
    {
        if (Enabled(c) != null) c.Reply.Integer(KeyHashSlot.Of(c.Args[2]));
    }

    [Command("cluster|countkeysinslot")]
    static void CountKeysInSlot(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (!Arguments.TryGetLong(c, 2, out long slot)) return;
        if (slot < 0 || slot >= KeyHashSlot.Slots)
        {
            c.Reply.Error("Invalid slot");
            return;
        }
        c.Reply.Integer(cl.CountKeysInSlot((int)slot));
    }

    [Command("cluster|getkeysinslot")]
    static void GetKeysInSlot(Client c)
    {
        if (Enabled(c) == null) return;
        if (!Arguments.TryGetLong(c, 2, out long slot) || !Arguments.TryGetLong(c, 3, out long maxKeys)) return;
        if (slot < 0 || slot >= KeyHashSlot.Slots || maxKeys < 0)
        {
            c.Reply.Error("Invalid slot or number of keys");
            return;
        }
        var keys = c.Server.Databases[0].GetKeysInSlot((int)slot, (int)Math.Min(maxKeys, int.MaxValue));
        c.Reply.ArrayLen(keys.Count);
        foreach (var k in keys) c.Reply.Bulk(k);
    }

    static ClusterNode? NodeOrError(Client c, ClusterState cl, int i)
    {
        var n = cl.LookupNode(Arg(c, i));
        if (n == null) c.Reply.Error($"Unknown node {Arg(c, i)}");
        return n;
    }

    [Command("cluster|forget")]
    static void Forget(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (NodeOrError(c, cl, 2) is not { } n) return;
        if (n == cl.Myself)
        {
            c.Reply.Error("I tried hard but I can't forget myself...");
            return;
        }
        if (cl.Myself.IsSlave && cl.Myself.ReplicaOf == n)
        {
            c.Reply.Error("Can't forget my master!");
            return;
        }
        cl.BlacklistAdd(n);
        cl.DelNode(n);
        cl.DoBeforeSleep(ClusterState.TodoUpdateState | ClusterState.TodoSaveConfig);
        c.Reply.Ok();
    }

    [Command("cluster|replicate")]
    static void Replicate(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (NodeOrError(c, cl, 2) is not { } n) return;
        if (n == cl.Myself)
        {
            c.Reply.Error("Can't replicate myself");
            return;
        }
        if (n.IsSlave)
        {
            c.Reply.Error("I can only replicate a master, not a replica.");
            return;
        }
        if (cl.Myself.IsMaster && (cl.Myself.NumSlots != 0 || c.Server.Databases[0].Count != 0))
        {
            c.Reply.Error("To set a master the node must be empty and without assigned slots.");
            return;
        }
        cl.SetMaster(n);
        cl.DoBeforeSleep(ClusterState.TodoUpdateState | ClusterState.TodoSaveConfig);
        c.Reply.Ok();
    }

    [Command("cluster|replicas")]
    [Command("cluster|slaves")]
    static void Replicas(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (NodeOrError(c, cl, 2) is not { } n) return;
        if (n.IsSlave)
        {
            c.Reply.Error("The specified node is not a master");
            return;
        }
        c.Reply.ArrayLen(n.Replicas.Count);
        foreach (var r in n.Replicas) c.Reply.Bulk(NodesConfigFile.Describe(cl, r, cl.UsePPort(c)));
    }

    [Command("cluster|count-failure-reports")]
    static void CountFailureReports(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (NodeOrError(c, cl, 2) is { } n) c.Reply.Integer(cl.FailureReportsCount(n));
    }

    [Command("cluster|failover")]
    static void Failover(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        bool force = false, takeover = false;
        if (c.Args.Count == 3)
        {
            string opt = Arg(c, 2);
            if (opt.Equals("force", StringComparison.OrdinalIgnoreCase)) force = true;
            else if (opt.Equals("takeover", StringComparison.OrdinalIgnoreCase)) takeover = force = true;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        else if (c.Args.Count > 3)
        {
            SubcommandSyntax(c);
            return;
        }
        var me = cl.Myself;
        if (me.IsMaster)
        {
            c.Reply.Error("You should send CLUSTER FAILOVER to a replica");
            return;
        }
        if (me.ReplicaOf == null)
        {
            c.Reply.Error("I'm a replica but my master is unknown to me");
            return;
        }
        if (!force && (me.ReplicaOf.Failed || me.ReplicaOf.Link == null))
        {
            c.Reply.Error("Master is down or failed, please use CLUSTER FAILOVER FORCE");
            return;
        }
        cl.StartManualFailover(force, takeover);
        c.Reply.Ok();
    }

    [Command("cluster|set-config-epoch")]
    static void SetConfigEpoch(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        if (!Arguments.TryGetLong(c, 2, out long epoch)) return;
        if (epoch < 0) c.Reply.Error($"Invalid config epoch specified: {epoch}");
        else if (cl.Nodes.Count > 1) c.Reply.Error("The user can assign a config epoch only when the node does not know any other node.");
        else if (cl.Myself.ConfigEpoch != 0) c.Reply.Error("Node config epoch is already non-zero");
        else
        {
            cl.Myself.ConfigEpoch = (ulong)epoch;
            c.Server.Log.Warning($"configEpoch set to {epoch} via CLUSTER SET-CONFIG-EPOCH");
            if (cl.CurrentEpoch < (ulong)epoch) cl.CurrentEpoch = (ulong)epoch;
            cl.DoBeforeSleep(ClusterState.TodoUpdateState | ClusterState.TodoSaveConfig);
            c.Reply.Ok();
        }
    }

    [Command("cluster|reset")]
    static void Reset(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        bool hard = false;
        if (c.Args.Count == 3)
        {
            string opt = Arg(c, 2);
            if (opt.Equals("hard", StringComparison.OrdinalIgnoreCase)) hard = true;
            else if (!opt.Equals("soft", StringComparison.OrdinalIgnoreCase))
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (cl.Myself.IsMaster && c.Db.Count != 0)
        {
            c.Reply.Error("CLUSTER RESET can't be called with master nodes containing keys");
            return;
        }
        cl.Reset(hard);
        c.Reply.Ok();
    }

    [Command("cluster|links")]
    static void Links(Client c)
    {
        if (Enabled(c) is not { } cl) return;
        var links = new List<ClusterLink>();
        foreach (var n in cl.Nodes.Values)
        {
            if (n.Link != null) links.Add(n.Link);
            if (n.InboundLink != null) links.Add(n.InboundLink);
        }
        c.Reply.ArrayLen(links.Count);
        foreach (var l in links)
        {
            c.Reply.MapLen(6);
            c.Reply.Bulk("direction");
            c.Reply.Bulk(l.Inbound ? "from" : "to");
            c.Reply.Bulk("node");
            c.Reply.Bulk(l.Node!.Name);
            c.Reply.Bulk("create-time");
            c.Reply.Integer(l.CTime);
            c.Reply.Bulk("events");
            c.Reply.Bulk(l.Events);
            c.Reply.Bulk("send-buffer-allocated");
            c.Reply.Integer(l.SendBufferAllocated);
            c.Reply.Bulk("send-buffer-used");
            c.Reply.Integer(l.SendBufferUsed);
        }
    }
}
