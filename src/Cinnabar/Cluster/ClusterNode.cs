// clusterNode: one node of the cluster as this node knows it (itself included): its 40-hex name,
// flags (master/slave/myself/fail?/fail/handshake/noaddr/meet/nofailover), address and bus port,
// the slots it serves (a 16384-bit bitmap in the bus's byte order), its master or replicas, the
// ping/pong times failure detection reads, the failure reports other masters sent about it,
// and its two bus links (the one we opened, the one it opened to us).
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace Cinnabar.Cluster;

[Flags]
public enum NodeFlags : ushort
{
    None = 0,
    Master = 1,
    Slave = 2,
    PFail = 4,
    Fail = 8,
    Myself = 16,
    Handshake = 32,
    NoAddr = 64,
    Meet = 128,
    MigrateTo = 256,
    NoFailover = 512,
}

public sealed class ClusterNode
{
    public const int NameLength = 40;
    public const int Slots = KeyHashSlot.Slots;

    public string Name;
    public NodeFlags Flags;
    public ulong ConfigEpoch;
    /// <summary>The slots it serves, bit j of byte j/8 (bitmapTestBit), as the bus carries them.</summary>
    public readonly byte[] SlotBits = new byte[Slots / 8];
    public int NumSlots;
    public readonly List<ClusterNode> Replicas = [];
    public ClusterNode? ReplicaOf;
    public ulong LastInPingGossip;
    public long PingSent, PongReceived, DataReceived, FailTime, VotedTime, ReplOffsetTime, OrphanedTime;
    public long ReplOffset;
    public string Ip = "";
    public string Hostname = "";
    public int Port, PPort, CPort;
    public ClusterLink? Link;
    public ClusterLink? InboundLink;
    public readonly List<(ClusterNode Node, long Time)> FailReports = [];
    public readonly long CTime;

    public ClusterNode(string name, NodeFlags flags, long now)
    {
        Name = name;
        Flags = flags;
        CTime = now;
    }

    public bool Has(NodeFlags f) => (Flags & f) != 0;
    public bool IsMaster => Has(NodeFlags.Master);
    public bool IsSlave => Has(NodeFlags.Slave);
    public bool InHandshake => Has(NodeFlags.Handshake);
    public bool TimedOut => Has(NodeFlags.PFail);
    public bool Failed => Has(NodeFlags.Fail);

    public bool GetSlot(int slot) => (SlotBits[slot >> 3] & (1 << (slot & 7))) != 0;

    /// <summary>clusterNodeSetSlotBit: the old value.</summary>
    public bool SetSlot(int slot)
    {
        bool old = GetSlot(slot);
        SlotBits[slot >> 3] |= (byte)(1 << (slot & 7));
        if (!old) NumSlots++;
        return old;
    }

    /// <summary>clusterNodeClearSlotBit: the old value.</summary>
    public bool ClearSlot(int slot)
    {
        bool old = GetSlot(slot);
        SlotBits[slot >> 3] &= (byte)~(1 << (slot & 7));
        if (old) NumSlots--;
        return old;
    }

    /// <summary>clusterNodeAddSlave: false when already there.</summary>
    public bool AddReplica(ClusterNode replica)
    {
        if (Replicas.Contains(replica)) return false;
        Replicas.Add(replica);
        Flags |= NodeFlags.MigrateTo;
        return true;
    }

    public void RemoveReplica(ClusterNode replica)
    {
        if (!Replicas.Remove(replica)) return;
        if (Replicas.Count == 0) Flags &= ~NodeFlags.MigrateTo;
    }

    public int NonFailingReplicas => Replicas.Count(r => !r.Failed);

    static readonly (NodeFlags Flag, string Name)[] FlagNames =
    [
        (NodeFlags.Myself, "myself"), (NodeFlags.Master, "master"), (NodeFlags.Slave, "slave"), (NodeFlags.PFail, "fail?"),
        (NodeFlags.Fail, "fail"), (NodeFlags.Handshake, "handshake"), (NodeFlags.NoAddr, "noaddr"), (NodeFlags.NoFailover, "nofailover"),
    ];

    /// <summary>representClusterNodeFlags: "myself,master", or "noflags".</summary>
    public static string FlagsText(NodeFlags flags)
    {
        var parts = FlagNames.Where(f => (flags & f.Flag) != 0).Select(f => f.Name).ToList();
        return parts.Count == 0 ? "noflags" : string.Join(',', parts);
    }

    /// <summary>verifyClusterNodeId: 40 characters of [a-z0-9].</summary>
    public static bool IsValidName(ReadOnlySpan<char> name)
    {
        if (name.Length != NameLength) return false;
        foreach (char ch in name)
            if (!(ch is >= 'a' and <= 'z' or >= '0' and <= '9')) return false;
        return true;
    }

    /// <summary>The slot ranges it serves, as "0-5460" / "5461" items (CLUSTER NODES).</summary>
    /// <summary>
    /// The node's slots as ranges, in order. The bitmap is read 64 slots at a time, so a node
    /// with few ranges costs a few hundred word tests (nodes.conf is written on every SETSLOT).
    /// </summary>
    public List<(int Start, int End)> SlotRanges()
    {
        var ranges = new List<(int, int)>();
        var words = MemoryMarshal.Cast<byte, ulong>(SlotBits);
        int start = -1;
        for (int w = 0; w < words.Length; w++)
        {
            // Little-endian: bit k of word w is slot 64w + k, as GetSlot reads the bytes.
            ulong word = BitConverter.IsLittleEndian ? words[w] : BinaryPrimitives.ReverseEndianness(words[w]);
            int bit = 0;
            while (bit < 64)
            {
                if (start == -1)
                {
                    ulong set = word >> bit;
                    if (set == 0) break;
                    bit += BitOperations.TrailingZeroCount(set);
                    start = w * 64 + bit;
                }
                else
                {
                    ulong clear = ~word >> bit;
                    if (clear == 0) break;
                    bit += BitOperations.TrailingZeroCount(clear);
                    ranges.Add((start, w * 64 + bit - 1));
                    start = -1;
                }
            }
        }
        if (start != -1) ranges.Add((start, Slots - 1));
        return ranges;
    }

    public override string ToString()
    {
        var sb = new StringBuilder(Name);
        return sb.Append(' ').Append(Ip).Append(':').Append(Port).ToString();
    }
}
