// A stream DUMP payload as data, for tests that need to take one apart: parsed from the RDB
// type-19 form (rdb.c's stream layout), changed, and serialized again as type 19 or the 5.0-6.2
// type 15 (no first ID, max deleted ID, entries added or group read counters) with a fresh
// footer. Tests use it to mask the time-dependent bytes (consumer seen time, NACK delivery time),
// to build type-15 payloads and to craft corrupt ones; ListpackOf builds a node from elements.
using System.Buffers.Binary;
using System.Text;
using Cinnabar.DataTypes;
using Cinnabar.Persistence;

namespace Cinnabar.Tests.Support;

public sealed class StreamPayload
{
    public sealed record Node(byte[] Key, byte[] Listpack);

    public sealed record Nack(byte[] Id, long DeliveryTime, ulong DeliveryCount);

    public sealed record Consumer(byte[] Name, long SeenTime, List<byte[]> Pel);

    public sealed record Group(byte[] Name, StreamId LastId, ulong EntriesRead, List<Nack> Pel, List<Consumer> Consumers);

    public List<Node> Nodes = [];
    public ulong Length;
    public StreamId LastId, FirstId, MaxDeletedId;
    public ulong EntriesAdded;
    public List<Group> Groups = [];

    public static StreamPayload Parse(string payload) => Parse(Encoding.Latin1.GetBytes(payload));

    public static StreamPayload Parse(byte[] payload)
    {
        var r = new RdbReader(payload);
        Assert.Equal(RdbTypes.StreamListpacks2, r.ReadByte());
        var p = new StreamPayload();
        ulong nodes = r.LoadLen();
        for (ulong i = 0; i < nodes; i++) p.Nodes.Add(new Node(r.LoadString(), r.LoadString()));
        p.Length = r.LoadLen();
        p.LastId = Id(ref r);
        p.FirstId = Id(ref r);
        p.MaxDeletedId = Id(ref r);
        p.EntriesAdded = r.LoadLen();
        ulong groups = r.LoadLen();
        for (ulong g = 0; g < groups; g++)
        {
            var group = new Group(r.LoadString(), Id(ref r), r.LoadLen(), [], []);
            ulong pel = r.LoadLen();
            for (ulong i = 0; i < pel; i++)
                group.Pel.Add(new Nack(r.ReadBytes(16).ToArray(), BinaryPrimitives.ReadInt64LittleEndian(r.ReadBytes(8)), r.LoadLen()));
            ulong consumers = r.LoadLen();
            for (ulong i = 0; i < consumers; i++)
            {
                var c = new Consumer(r.LoadString(), BinaryPrimitives.ReadInt64LittleEndian(r.ReadBytes(8)), []);
                ulong owned = r.LoadLen();
                for (ulong j = 0; j < owned; j++) c.Pel.Add(r.ReadBytes(16).ToArray());
                group.Consumers.Add(c);
            }
            p.Groups.Add(group);
        }
        Assert.Equal(payload.Length - 10, r.Position); // only the footer follows
        return p;
    }

    static StreamId Id(ref RdbReader r)
    {
        ulong ms = r.LoadLen();
        return new StreamId(ms, r.LoadLen());
    }

    /// <summary>The payload with every consumer seen time and NACK delivery time zeroed (the bytes that depend on when commands ran).</summary>
    public static string MaskTimes(string payload)
    {
        var p = Parse(payload);
        foreach (var g in p.Groups)
        {
            for (int i = 0; i < g.Pel.Count; i++) g.Pel[i] = g.Pel[i] with { DeliveryTime = 0 };
            for (int i = 0; i < g.Consumers.Count; i++) g.Consumers[i] = g.Consumers[i] with { SeenTime = 0 };
        }
        return p.Serialize();
    }

    /// <summary>The payload, as RDB_TYPE_STREAM_LISTPACKS_2 or (v1) RDB_TYPE_STREAM_LISTPACKS, with the version 10 footer.</summary>
    public string Serialize(bool v1 = false, bool compression = true)
    {
        var w = new RdbWriter(compression);
        w.WriteByte(v1 ? RdbTypes.StreamListpacks : RdbTypes.StreamListpacks2);
        w.SaveLen((ulong)Nodes.Count);
        foreach (var n in Nodes)
        {
            w.SaveRawString(n.Key);
            w.SaveRawString(n.Listpack);
        }
        w.SaveLen(Length);
        SaveId(w, LastId);
        if (!v1)
        {
            SaveId(w, FirstId);
            SaveId(w, MaxDeletedId);
            w.SaveLen(EntriesAdded);
        }
        w.SaveLen((ulong)Groups.Count);
        foreach (var g in Groups)
        {
            w.SaveRawString(g.Name);
            SaveId(w, g.LastId);
            if (!v1) w.SaveLen(g.EntriesRead);
            w.SaveLen((ulong)g.Pel.Count);
            foreach (var n in g.Pel)
            {
                w.WriteRaw(n.Id);
                BinaryPrimitives.WriteInt64LittleEndian(w.Grow(8), n.DeliveryTime);
                w.SaveLen(n.DeliveryCount);
            }
            w.SaveLen((ulong)g.Consumers.Count);
            foreach (var c in g.Consumers)
            {
                w.SaveRawString(c.Name);
                BinaryPrimitives.WriteInt64LittleEndian(w.Grow(8), c.SeenTime);
                w.SaveLen((ulong)c.Pel.Count);
                foreach (var id in c.Pel) w.WriteRaw(id);
            }
        }
        return WithFooter(w.Written);
    }

    static void SaveId(RdbWriter w, StreamId id)
    {
        w.SaveLen(id.Ms);
        w.SaveLen(id.Seq);
    }

    /// <summary>Object bytes with the DUMP footer: RDB version 10 and the CRC-64, little-endian.</summary>
    public static string WithFooter(ReadOnlySpan<byte> body)
    {
        var p = new byte[body.Length + 10];
        body.CopyTo(p);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(body.Length), RdbTypes.Version);
        BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(body.Length + 2), Crc64.Compute(0, p.AsSpan(0, body.Length + 2)));
        return Encoding.Latin1.GetString(p);
    }

    /// <summary>A listpack of the given elements: longs as integers, strings as strings.</summary>
    public static byte[] ListpackOf(params object[] elements)
    {
        var lp = new Listpack();
        foreach (var e in elements)
        {
            if (e is long or int) lp.AppendInteger(Convert.ToInt64(e));
            else lp.Append(Encoding.Latin1.GetBytes((string)e));
        }
        return lp.ToArray();
    }

    public static byte[] Key(ulong ms, ulong seq) => new StreamId(ms, seq).ToKey();
}
