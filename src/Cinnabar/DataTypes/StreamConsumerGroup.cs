// Consumer groups (stream.h's streamCG, streamConsumer, streamNACK): a group's last delivered
// ID and 7.0 read counter, its pending entries list (PEL: delivered, not yet acknowledged IDs),
// and its consumers, each with its own PEL. A NACK (delivery time and count, owning consumer)
// is one object shared by the group PEL and its consumer's PEL, as in Redis: both are raxes
// keyed by the 128-bit ID, so ranges and XPENDING walk them in ID order.
namespace Cinnabar.DataTypes;

public sealed class StreamNack
{
    /// <summary>Unix ms of the last delivery.</summary>
    public long DeliveryTime;
    public long DeliveryCount;
    public StreamConsumer Consumer;

    public StreamNack(StreamConsumer consumer, long deliveryTime, long deliveryCount = 1)
    {
        Consumer = consumer;
        DeliveryTime = deliveryTime;
        DeliveryCount = deliveryCount;
    }
}

public sealed class StreamConsumer(byte[] name, long seenTime)
{
    public readonly byte[] Name = name;

    /// <summary>Unix ms of the consumer's last interaction (XINFO CONSUMERS' idle).</summary>
    public long SeenTime = seenTime;

    public readonly Rax<StreamNack> Pel = new();
}

public sealed class StreamConsumerGroup
{
    /// <summary>What a group costs besides its name: the object and its two raxes.</summary>
    internal const int Overhead = 200;
    const int NackBytes = 64 + 2 * 96; // the NACK and its key in both PELs
    const int ConsumerBytes = 160;

    readonly RedisStream _stream;
    public StreamId LastId;

    /// <summary>entries_read: the logical read counter (RedisStream.InvalidEntriesRead when unknown).</summary>
    public long EntriesRead;

    public readonly Rax<StreamNack> Pel = new();
    public readonly Rax<StreamConsumer> Consumers = new();

    /// <summary>Bytes of this group's consumers and NACKs (accounted in the stream's GroupBytes).</summary>
    internal long OwnBytes;

    internal StreamConsumerGroup(RedisStream stream, StreamId lastId, long entriesRead)
    {
        _stream = stream;
        LastId = lastId;
        EntriesRead = entriesRead;
    }

    void Account(long delta)
    {
        OwnBytes += delta;
        _stream.GroupBytes += delta;
    }

    /// <summary>streamLookupConsumer (without the seen-time refresh: callers decide).</summary>
    public StreamConsumer? LookupConsumer(ReadOnlySpan<byte> name) => Consumers.Find(name);

    /// <summary>streamCreateConsumer: null when it exists.</summary>
    public StreamConsumer? CreateConsumer(ReadOnlySpan<byte> name, long nowMs)
    {
        var consumer = new StreamConsumer(name.ToArray(), nowMs);
        if (!Consumers.TryInsert(name, consumer)) return null;
        Account(ConsumerBytes + name.Length);
        return consumer;
    }

    /// <summary>streamDelConsumer: the consumer goes with its pending entries (removed from the group PEL too). Returns how many were pending.</summary>
    public long DeleteConsumer(StreamConsumer consumer)
    {
        long pending = consumer.Pel.Count;
        var it = consumer.Pel.GetIterator();
        it.Seek(RaxSeek.First);
        while (it.Next()) Pel.Remove(it.Key);
        Account(-pending * NackBytes - ConsumerBytes - consumer.Name.Length);
        Consumers.Remove(consumer.Name);
        return pending;
    }

    /// <summary>A NACK for id owned by consumer in both PELs (false, nothing changed, when the group PEL has id already).</summary>
    public bool TryAddNack(ReadOnlySpan<byte> idKey, StreamNack nack)
    {
        if (!Pel.TryInsert(idKey, nack)) return false;
        nack.Consumer.Pel.Insert(idKey, nack);
        Account(NackBytes);
        return true;
    }

    /// <summary>Moves a pending entry to another consumer's PEL (XCLAIM, a re-delivery after XGROUP SETID).</summary>
    public void TransferNack(ReadOnlySpan<byte> idKey, StreamNack nack, StreamConsumer to)
    {
        nack.Consumer.Pel.Remove(idKey);
        nack.Consumer = to;
        to.Pel.Insert(idKey, nack);
    }

    /// <summary>XACK's part: removes id from the group and its consumer's PEL; false when it was not pending.</summary>
    public bool Acknowledge(ReadOnlySpan<byte> idKey)
    {
        var nack = Pel.Remove(idKey);
        if (nack == null) return false;
        nack.Consumer.Pel.Remove(idKey);
        Account(-NackBytes);
        return true;
    }

    /// <summary>streamDup's part for a group: consumers, then the PEL with each NACK recreated once and shared.</summary>
    internal void CopyInto(StreamConsumerGroup dst)
    {
        var ci = Consumers.GetIterator();
        ci.Seek(RaxSeek.First);
        while (ci.Next()) dst.CreateConsumer(ci.Key, ci.Value.SeenTime);
        var pi = Pel.GetIterator();
        pi.Seek(RaxSeek.First);
        while (pi.Next())
        {
            var src = pi.Value;
            var owner = dst.Consumers.Find(src.Consumer.Name)!;
            dst.TryAddNack(pi.Key, new StreamNack(owner, src.DeliveryTime, src.DeliveryCount));
        }
    }
}
