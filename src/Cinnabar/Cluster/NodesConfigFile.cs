// nodes.conf (cluster.c clusterLoadConfig / clusterSaveConfig) and CLUSTER NODES, which share a
// format: one line per node "<id> <ip:port@cport[,hostname]> <flags> <master|-> <ping-sent>
// <pong-recv> <config-epoch> <connected|disconnected> <slots...>" (for ourselves also
// "[slot->-<id>]" / "[slot-<-<id>]" for migrating / importing slots), then "vars currentEpoch N
// lastVoteEpoch M". A save that must be durable replaces the file atomically (temp, fsync,
// rename); the others are written in place as Redis 7.0 does, padded so it is never torn.
using System.Globalization;
using System.Text;
using Cinnabar.Protocol;

namespace Cinnabar.Cluster;

public static class NodesConfigFile
{
    /// <summary>clusterGenNodeDescription; usePPort: a node's plaintext port in place of its TLS one (a client not on TLS under tls-cluster).</summary>
    public static string Describe(ClusterState cluster, ClusterNode node, bool usePPort = false)
    {
        var sb = new StringBuilder(node.Name);
        int port = usePPort && node.PPort != 0 ? node.PPort : node.Port;
        sb.Append(' ').Append(node.Ip).Append(':').Append(port).Append('@').Append(node.CPort);
        if (node.Hostname.Length > 0) sb.Append(',').Append(node.Hostname);
        sb.Append(' ').Append(ClusterNode.FlagsText(node.Flags));
        sb.Append(' ').Append(node.ReplicaOf?.Name ?? "-");
        ulong epoch = node.IsSlave && node.ReplicaOf != null ? node.ReplicaOf.ConfigEpoch : node.ConfigEpoch;
        sb.Append(CultureInfo.InvariantCulture, $" {node.PingSent} {node.PongReceived} {epoch} ");
        sb.Append(node.Link != null || node.Has(NodeFlags.Myself) ? "connected" : "disconnected");
        foreach (var (start, end) in node.SlotRanges())
        {
            if (start == end) sb.Append(' ').Append(start);
            else sb.Append(CultureInfo.InvariantCulture, $" {start}-{end}");
        }
        if (node.Has(NodeFlags.Myself))
        {
            var migrating = cluster.MigratingSlotsTo;
            var importing = cluster.ImportingSlotsFrom;
            for (int j = 0; j < migrating.Length && j < importing.Length; j++)
            {
                if (migrating[j] is null && importing[j] is null) continue;
                if (migrating[j] is { } to) sb.Append(CultureInfo.InvariantCulture, $" [{j}->-{to.Name}]");
                else sb.Append(CultureInfo.InvariantCulture, $" [{j}-<-{importing[j]!.Name}]");
            }
        }
        return sb.ToString();
    }

    /// <summary>clusterGenNodesDescription: every node not matching the filter, one line each.</summary>
    public static string DescribeAll(ClusterState cluster, NodeFlags filter, bool usePPort = false)
    {
        var sb = new StringBuilder();
        foreach (var node in cluster.Nodes.Values)
        {
            if ((node.Flags & filter) != 0) continue;
            sb.Append(Describe(cluster, node, usePPort)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// clusterSaveConfig. A save that must survive a power loss (fsync: epochs, votes, a new
    /// primary) goes to a temp file that is fsynced and renamed over the old one, and the
    /// directory fsynced: the file is the old or the new configuration, never a mix. Other saves
    /// (every SETSLOT of a reshard) are written in place as Redis 7.0 writes them: one write of
    /// the new content, padded with newlines to the old length so the file is whole at every
    /// instant a process crash could stop us (the loader skips blank lines), then truncated.
    /// Replacing the file each time would cost an inode and a forced writeback per save.
    /// </summary>
    public static bool Save(ClusterState cluster, string path, bool fsync)
    {
        string content = DescribeAll(cluster, NodeFlags.Handshake)
            + string.Create(CultureInfo.InvariantCulture, $"vars currentEpoch {cluster.CurrentEpoch} lastVoteEpoch {cluster.LastVoteEpoch}\n");
        var bytes = Encoding.UTF8.GetBytes(content);
        try
        {
            if (fsync) ReplaceDurably(path, bytes);
            else WriteInPlace(path, bytes);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    static void ReplaceDurably(string path, byte[] bytes)
    {
        string tmp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            f.Write(bytes);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
        Persistence.FileSync.SyncDirectoryOf(path);
    }

    static void WriteInPlace(string path, byte[] bytes)
    {
        using var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        long oldLength = RandomAccess.GetLength(handle);
        if (oldLength > bytes.Length)
        {
            var padded = new byte[oldLength];
            bytes.CopyTo(padded, 0);
            padded.AsSpan(bytes.Length).Fill((byte)'\n');
            RandomAccess.Write(handle, padded, 0);
            RandomAccess.SetLength(handle, bytes.Length);
        }
        else RandomAccess.Write(handle, bytes, 0);
    }

    /// <summary>clusterLoadConfig: false when there is no file (or it is empty); a corrupted file stops the server as in Redis.</summary>
    public static bool Load(ClusterState cluster, string path)
    {
        string text;
        try
        {
            if (!File.Exists(path)) return false;
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"Loading the cluster node config from {path}: {e.Message}", e);
        }
        if (text.Length == 0) return false;
        long now = ClusterState.Now;
        ClusterNode? myself = null;
        foreach (var raw in text.Split('\n'))
        {
            if (raw.Length == 0) continue;
            var parts = new List<byte[]>();
            if (!InlineSplitter.Split(Encoding.UTF8.GetBytes(raw), parts)) throw Corrupted();
            var argv = parts.Select(p => Encoding.UTF8.GetString(p)).ToArray();
            if (argv.Length == 0) continue;
            if (argv[0].Equals("vars", StringComparison.OrdinalIgnoreCase))
            {
                if (argv.Length % 2 == 0) throw Corrupted();
                for (int j = 1; j < argv.Length; j += 2)
                {
                    if (argv[j].Equals("currentEpoch", StringComparison.OrdinalIgnoreCase)) cluster.CurrentEpoch = ulong.Parse(argv[j + 1], CultureInfo.InvariantCulture);
                    else if (argv[j].Equals("lastVoteEpoch", StringComparison.OrdinalIgnoreCase)) cluster.LastVoteEpoch = ulong.Parse(argv[j + 1], CultureInfo.InvariantCulture);
                    else cluster.Log.Warning($"Skipping unknown cluster config variable '{argv[j]}'");
                }
                continue;
            }
            if (argv.Length < 8 || !ClusterNode.IsValidName(argv[0])) throw Corrupted();
            var n = GetOrCreate(cluster, argv[0], now);
            string addr = argv[1];
            int comma = addr.IndexOf(',');
            n.Hostname = comma >= 0 ? addr[(comma + 1)..] : "";
            if (comma >= 0) addr = addr[..comma];
            int colon = addr.LastIndexOf(':');
            if (colon < 0) throw Corrupted();
            n.Ip = addr[..colon];
            string port = addr[(colon + 1)..];
            int at = port.IndexOf('@');
            n.Port = (int)Commands.Arguments.Atoi(at >= 0 ? port[..at] : port);
            n.CPort = at >= 0 ? (int)Commands.Arguments.Atoi(port[(at + 1)..]) : n.Port + ClusterState.PortIncr;
            foreach (var f in argv[2].Split(','))
            {
                switch (f.ToLowerInvariant())
                {
                    case "myself": myself = n; n.Flags |= NodeFlags.Myself; break;
                    case "master": n.Flags |= NodeFlags.Master; break;
                    case "slave": n.Flags |= NodeFlags.Slave; break;
                    case "fail?": n.Flags |= NodeFlags.PFail; break;
                    case "fail": n.Flags |= NodeFlags.Fail; n.FailTime = now; break;
                    case "handshake": n.Flags |= NodeFlags.Handshake; break;
                    case "noaddr": n.Flags |= NodeFlags.NoAddr; break;
                    case "nofailover": n.Flags |= NodeFlags.NoFailover; break;
                    case "noflags": break;
                    default: throw new InvalidOperationException("Unknown flag in redis cluster config file");
                }
            }
            if (argv[3] != "-")
            {
                if (!ClusterNode.IsValidName(argv[3])) throw Corrupted();
                var master = GetOrCreate(cluster, argv[3], now);
                n.ReplicaOf = master;
                master.AddReplica(n);
            }
            if (Commands.Arguments.Atoi(argv[4]) != 0) n.PingSent = now;
            if (Commands.Arguments.Atoi(argv[5]) != 0) n.PongReceived = now;
            n.ConfigEpoch = n.IsSlave && n.ReplicaOf != null ? 0 : ulong.Parse(argv[6], CultureInfo.InvariantCulture);
            for (int j = 8; j < argv.Length; j++)
            {
                string s = argv[j];
                if (s.StartsWith('['))
                {
                    int dash = s.IndexOf('-');
                    if (dash < 0) throw Corrupted();
                    char direction = s[dash + 1];
                    int slot = (int)Commands.Arguments.Atoi(s[1..dash]);
                    string other = s[(dash + 3)..].TrimEnd(']');
                    if (slot < 0 || slot >= KeyHashSlot.Slots || !ClusterNode.IsValidName(other)) throw Corrupted();
                    var cn = GetOrCreate(cluster, other, now);
                    if (direction == '>') cluster.MigratingSlotsTo[slot] = cn;
                    else cluster.ImportingSlotsFrom[slot] = cn;
                    continue;
                }
                int d = s.IndexOf('-');
                int start = (int)Commands.Arguments.Atoi(d >= 0 ? s[..d] : s), stop = d >= 0 ? (int)Commands.Arguments.Atoi(s[(d + 1)..]) : start;
                if (start < 0 || start >= KeyHashSlot.Slots || stop < 0 || stop >= KeyHashSlot.Slots) throw Corrupted();
                while (start <= stop) cluster.AddSlot(n, start++);
            }
        }
        if (myself == null) throw Corrupted();
        cluster.SetMyselfLoaded(myself);
        cluster.Log.Notice($"Node configuration loaded, I'm {myself.Name}");
        if (cluster.MaxEpoch() > cluster.CurrentEpoch) cluster.CurrentEpoch = cluster.MaxEpoch();
        return true;
    }

    static ClusterNode GetOrCreate(ClusterState cluster, string name, long now)
    {
        var n = cluster.LookupNode(name);
        if (n != null) return n;
        n = new ClusterNode(name, NodeFlags.None, now);
        cluster.AddNode(n);
        return n;
    }

    static InvalidOperationException Corrupted() => new("Unrecoverable error: corrupted cluster config file.");
}
