// Cluster redirection in the dispatcher's checks (cluster.c getNodeByQuery and
// clusterRedirectClient): the keys of a command (or of every queued command at EXEC), from the
// command table's key specs, must hash to one slot; that slot's owner serves it, anyone else
// answers -MOVED, a migrating slot with missing keys -ASK (or -TRYAGAIN when only some are
// there), an importing slot serves ASKING clients, a replica serves READONLY clients' reads of
// its master's slots, and a cluster that is down answers -CLUSTERDOWN. Commands without keys,
// and the primary's stream, are never redirected. Allocation-free: one reused key result.
using Cinnabar.Commands;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Cluster;

public sealed class ClusterRouting
{
    readonly CinnabarServer _server;
    readonly ClusterState _cluster;
    readonly GetKeysResult _keys = new();

    public ClusterRouting(CinnabarServer server, ClusterState cluster)
    {
        _server = server;
        _cluster = cluster;
    }

    enum Redir { None, CrossSlot, Unstable, Ask, Moved, DownState, DownUnbound, DownRoState }

    /// <summary>
    /// processCommand's cluster step: the redirection error, or null when this node serves the
    /// command. <paramref name="flags"/> are getCommandFlags's: a script's shebang decides whether
    /// EVAL writes, so a READONLY replica sends a writing script to its primary.
    /// </summary>
    public string? Check(Client c, CommandDef cmd, CommandFlags flags)
    {
        c.Slot = -1;
        if (c.MustObey) return null;
        bool isExec = cmd.Parent == null && cmd.Name == "exec";
        var top = cmd.Parent ?? cmd;
        if (!isExec && !cmd.Has(CommandFlags.MovableKeys) && KeySpecs.Of(cmd).Length == 0 && !HasPubSubShardChannel(top)) return null;
        var n = GetNodeByQuery(c, cmd, flags, isExec, out int slot, out var code, out bool hasKeys);
        if (hasKeys) c.Slot = slot;
        if (n == _cluster.Myself && code == Redir.None) return null;
        return RedirectError(c, n, slot, code);
    }

    /// <summary>
    /// scriptVerifyClusterState: a script's redis.call may only touch keys this node serves, and
    /// (unless the script allows cross-slot keys) only the slot of the keys it declared or touched first.
    /// </summary>
    public string? CheckScriptCall(Client scriptClient, CommandDef cmd, Client caller, bool allowCrossSlot)
    {
        if (caller.MustObey) return null;
        scriptClient.Asking = caller.Asking;
        scriptClient.ReadOnlyCluster = caller.ReadOnlyCluster;
        var n = GetNodeByQuery(scriptClient, cmd, cmd.Flags, isExec: false, out int slot, out var code, out bool hasKeys);
        if (n != _cluster.Myself || code != Redir.None)
        {
            return code switch
            {
                Redir.DownRoState => "Script attempted to execute a write command while the cluster is down and readonly",
                Redir.DownState => "Script attempted to execute a command while the cluster is down",
                _ => $"Script attempted to access a non local key in a cluster node script: {scriptClient.Server.Lua.Running?.FunctionName ?? ""}",
            };
        }
        if (hasKeys && !allowCrossSlot)
        {
            if (caller.Slot == -1) caller.Slot = slot;
            else if (caller.Slot != slot) return "Script attempted to access keys that do not hash to the same slot";
        }
        return null;
    }

    static bool HasPubSubShardChannel(CommandDef top) => top.Name is "ssubscribe" or "sunsubscribe" or "spublish";

    ClusterNode? GetNodeByQuery(Client c, CommandDef cmd, CommandFlags flags, bool isExec, out int slot, out Redir code, out bool hasKeys)
    {
        code = Redir.None;
        slot = 0;
        hasKeys = false;
        var myself = _cluster.Myself;
        if (isExec && !c.HasFlag(ClientFlags.Multi)) return myself;
        var top = cmd.Parent ?? cmd;
        bool isPubSubShard = HasPubSubShardChannel(top);
        ClusterNode? n = null;
        CommandArgs? firstArgs = null;
        int firstPos = 0;
        bool multipleKeys = false, migratingSlot = false, importingSlot = false;
        int missingKeys = 0, existingKeys = 0;

        // EXEC checks every queued command as one; anything else is a transaction of one.
        int count = isExec ? c.MultiState!.Commands.Count : 1;
        for (int i = 0; i < count; i++)
        {
            var (mcmd, margv) = isExec ? c.MultiState!.Commands[i] : (cmd, c.Args);
            int numKeys = ShardChannelsOrKeys(mcmd, margv);
            for (int j = 0; j < numKeys; j++)
            {
                var key = margv[_keys[j].Pos];
                int thisSlot = KeyHashSlot.Of(key);
                if (firstArgs == null)
                {
                    hasKeys = true;
                    firstArgs = margv;
                    firstPos = _keys[j].Pos;
                    slot = thisSlot;
                    n = _cluster.Slots[slot];
                    if (n == null)
                    {
                        code = Redir.DownUnbound;
                        return null;
                    }
                    if (n == myself && _cluster.MigratingSlotsTo[slot] != null) migratingSlot = true;
                    else if (_cluster.ImportingSlotsFrom[slot] != null) importingSlot = true;
                }
                else if (!key.SequenceEqual(firstArgs[firstPos]))
                {
                    if (slot != thisSlot)
                    {
                        code = Redir.CrossSlot;
                        return null;
                    }
                    multipleKeys = true;
                }
                if ((migratingSlot || importingSlot) && !isPubSubShard)
                {
                    if (_server.Databases[0].Lookup(key, touch: false) == null) missingKeys++;
                    else existingKeys++;
                }
            }
        }
        if (n == null) return myself;

        if (!_cluster.StateOk)
        {
            if (isPubSubShard)
            {
                if (!_server.Config.GetBool("cluster-allow-pubsubshard-when-down"))
                {
                    code = Redir.DownState;
                    return null;
                }
            }
            else if (!_server.Config.GetBool("cluster-allow-reads-when-down"))
            {
                code = Redir.DownState;
                return null;
            }
            else if ((flags & CommandFlags.Write) != 0)
            {
                code = Redir.DownRoState;
                return null;
            }
        }
        if ((migratingSlot || importingSlot) && top.Name == "migrate") return myself;
        if (migratingSlot && missingKeys > 0)
        {
            if (existingKeys > 0)
            {
                code = Redir.Unstable;
                return null;
            }
            code = Redir.Ask;
            return _cluster.MigratingSlotsTo[slot];
        }
        if (importingSlot && (c.Asking || cmd.Has(CommandFlags.Asking)))
        {
            if (multipleKeys && missingKeys > 0)
            {
                code = Redir.Unstable;
                return null;
            }
            return myself;
        }
        bool isWrite = (flags & CommandFlags.Write) != 0 || (isExec && Transactions.Multi.TransactionHasWrite(c));
        if ((c.ReadOnlyCluster || isPubSubShard) && !isWrite && myself.IsSlave && myself.ReplicaOf == n) return myself;
        if (n != myself) code = Redir.Moved;
        return n;
    }

    /// <summary>The keys of a command, or the channels of SSUBSCRIBE / SUNSUBSCRIBE / SPUBLISH (their "keys" for routing).</summary>
    int ShardChannelsOrKeys(CommandDef cmd, CommandArgs argv)
    {
        var top = cmd.Parent ?? cmd;
        if (HasPubSubShardChannel(top))
        {
            _keys.Clear();
            int last = top.Name == "spublish" ? 1 : argv.Count - 1;
            for (int i = 1; i <= last && i < argv.Count; i++) _keys.Add(i, KeySpecFlags.None);
            return _keys.Count;
        }
        return KeySpecs.GetKeys(cmd, argv, _keys);
    }

    /// <summary>clusterRedirectClient's texts.</summary>
    string RedirectError(Client c, ClusterNode? n, int slot, Redir code) => code switch
    {
        Redir.CrossSlot => "-CROSSSLOT Keys in request don't hash to the same slot",
        Redir.Unstable => "-TRYAGAIN Multiple keys request during rehashing of slot",
        Redir.DownState => "-CLUSTERDOWN The cluster is down",
        Redir.DownRoState => "-CLUSTERDOWN The cluster is down and only accepts read commands",
        Redir.DownUnbound => "-CLUSTERDOWN Hash slot not served",
        _ => $"-{(code == Redir.Ask ? "ASK" : "MOVED")} {slot} {PreferredEndpoint(n!)}:{_cluster.PortFor(c, n!)}",
    };

    /// <summary>getPreferredEndpoint (cluster-preferred-endpoint-type).</summary>
    public string PreferredEndpoint(ClusterNode n) => _server.Config.GetString("cluster-preferred-endpoint-type") switch
    {
        "hostname" => n.Hostname.Length > 0 ? n.Hostname : "?",
        "unknown-endpoint" => "",
        _ => n.Ip,
    };

    /// <summary>clusterRedirectBlockedClientIfNeeded: a client blocked on a key whose slot moved away (or a down cluster) is unblocked with the redirection.</summary>
    public string? BlockedClientRedirect(Client c, ReadOnlySpan<byte> key, bool lastCommandWrites)
    {
        if (!_cluster.StateOk) return "-CLUSTERDOWN The cluster is down";
        int slot = KeyHashSlot.Of(key);
        var node = _cluster.Slots[slot];
        var myself = _cluster.Myself;
        if (c.ReadOnlyCluster && !lastCommandWrites && myself.IsSlave && myself.ReplicaOf == node) node = myself;
        if (node == myself || _cluster.ImportingSlotsFrom[slot] != null) return null;
        return node == null ? "-CLUSTERDOWN Hash slot not served" : $"-MOVED {slot} {PreferredEndpoint(node)}:{_cluster.PortFor(c, node)}";
    }
}
