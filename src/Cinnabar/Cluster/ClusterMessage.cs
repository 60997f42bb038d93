// The cluster bus's wire format (cluster.h clusterMsg), byte for byte as Redis 7.0 lays it out so
// a Cinnabar node and a redis-server node understand each other: a 2256-byte header ("RCmb",
// total length, version 1, ports, type, gossip count, current and config epochs, replication
// offset, sender name, its slots bitmap, its master's name, announced IP, extension count,
// flags, cluster state, message flags) followed by the type's body: 104-byte gossip entries
// (+ 8-byte-aligned ping extensions) for PING/PONG/MEET, a node name for FAIL, channel and
// message for PUBLISH, epoch + name + slots for UPDATE; AUTH requests/acks and MFSTART are a
// bare header. Integers are big-endian (htonl/htons/htonu64).
using System.Buffers.Binary;
using System.Text;

namespace Cinnabar.Cluster;

public enum MessageType : ushort
{
    Ping = 0,
    Pong = 1,
    Meet = 2,
    Fail = 3,
    Publish = 4,
    FailoverAuthRequest = 5,
    FailoverAuthAck = 6,
    Update = 7,
    MfStart = 8,
    Module = 9,
    PublishShard = 10,
}

public static class ClusterMessage
{
    public const int TypeCount = 11;
    public const int HeaderSize = 2256;
    public const int GossipSize = 104;
    public const int IpLength = 46;
    public const ushort ProtocolVersion = 1;

    // Header offsets (the static_asserts of cluster.h).
    public const int OffTotlen = 4, OffVer = 8, OffPort = 10, OffType = 12, OffCount = 14, OffCurrentEpoch = 16,
        OffConfigEpoch = 24, OffOffset = 32, OffSender = 40, OffMySlots = 80, OffSlaveOf = 2128, OffMyIp = 2168,
        OffExtensions = 2214, OffPPort = 2246, OffCPort = 2248, OffFlags = 2250, OffState = 2252, OffMFlags = 2253;

    public const byte MFlagPaused = 1, MFlagForceAck = 2, MFlagExtData = 4;
    public const ushort ExtHostname = 0;

    public static string TypeName(int type) => type switch
    {
        0 => "ping",
        1 => "pong",
        2 => "meet",
        3 => "fail",
        4 => "publish",
        10 => "publishshard",
        5 => "auth-req",
        6 => "auth-ack",
        7 => "update",
        8 => "mfstart",
        9 => "module",
        _ => "unknown",
    };

    public static ushort U16(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt16BigEndian(b[at..]);
    public static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32BigEndian(b[at..]);
    public static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64BigEndian(b[at..]);
    public static void Put16(Span<byte> b, int at, int v) => BinaryPrimitives.WriteUInt16BigEndian(b[at..], (ushort)v);
    public static void Put32(Span<byte> b, int at, uint v) => BinaryPrimitives.WriteUInt32BigEndian(b[at..], v);
    public static void Put64(Span<byte> b, int at, ulong v) => BinaryPrimitives.WriteUInt64BigEndian(b[at..], v);

    /// <summary>A fixed-size C string field: the bytes up to the first NUL.</summary>
    public static string CString(ReadOnlySpan<byte> b, int at, int size)
    {
        var field = b.Slice(at, size);
        int nul = field.IndexOf((byte)0);
        return Encoding.ASCII.GetString(nul < 0 ? field : field[..nul]);
    }

    /// <summary>A 40-byte node name field (no terminator).</summary>
    public static string Name(ReadOnlySpan<byte> b, int at) => Encoding.ASCII.GetString(b.Slice(at, ClusterNode.NameLength));

    public static void PutString(Span<byte> b, int at, string s, int size)
    {
        var field = b.Slice(at, size);
        field.Clear();
        Encoding.ASCII.GetBytes(s.AsSpan(0, Math.Min(s.Length, size)), field);
    }

    public static bool IsNullName(ReadOnlySpan<byte> b, int at) => b.Slice(at, ClusterNode.NameLength).IndexOfAnyExcept((byte)0) < 0;

    /// <summary>One gossip entry about a node (clusterSetGossipEntry).</summary>
    public static void PutGossip(Span<byte> b, int at, ClusterNode n)
    {
        PutString(b, at, n.Name, ClusterNode.NameLength);
        Put32(b, at + 40, (uint)(n.PingSent / 1000));
        Put32(b, at + 44, (uint)(n.PongReceived / 1000));
        PutString(b, at + 48, n.Ip, IpLength);
        Put16(b, at + 94, n.Port);
        Put16(b, at + 96, n.CPort);
        Put16(b, at + 98, (ushort)n.Flags);
        Put16(b, at + 100, n.PPort);
        Put16(b, at + 102, 0);
    }

    /// <summary>A gossip entry as read: name, pong time (seconds), address, ports, flags.</summary>
    public readonly record struct Gossip(string Name, uint PingSent, uint PongReceived, string Ip, int Port, int CPort, NodeFlags Flags, int PPort);

    public static Gossip ReadGossip(ReadOnlySpan<byte> b, int at) => new(
        Name(b, at), U32(b, at + 40), U32(b, at + 44), CString(b, at + 48, IpLength),
        U16(b, at + 94), U16(b, at + 96), (NodeFlags)U16(b, at + 98), U16(b, at + 100));

    /// <summary>EIGHT_BYTE_ALIGN.</summary>
    public static int Align8(int n) => (n + 7) / 8 * 8;
}
