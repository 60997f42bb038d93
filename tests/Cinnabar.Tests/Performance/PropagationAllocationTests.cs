// With a replica attached every write is serialized into the replication stream (the shared
// replication buffer the backlog and the replica reference): that path allocates nothing per
// command either. The replica's output and stream are drained after each request, as its socket
// write would, so trimmed blocks and pooled chunks are reused.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Performance.HotPathAllocationTests;

namespace Cinnabar.Tests.Performance;

public sealed class PropagationAllocationTests : IDisposable
{
    readonly ServerFixture _fx = new();
    readonly RespClient _replica;

    public PropagationAllocationTests()
    {
        _replica = _fx.Connect();
        _replica.Send("SYNC");
        _replica.ReadRdbTransfer();
    }

    public void Dispose()
    {
        _replica.Dispose();
        _fx.Dispose();
    }

    void DrainReplica()
    {
        var replicas = _fx.Server.Replication.Replicas; // indexed: an interface enumerator would allocate
        for (int i = 0; i < replicas.Count; i++)
        {
            Drain(replicas[i], null);
            _fx.Server.Replication.SkipStream(replicas[i]); // the shared stream, as the socket would take it
        }
    }

    [Fact]
    public void PipelinedWritesPropagatedToAReplicaAllocateNothing()
    {
        var frames = new List<byte[]>();
        for (int i = 0; i < 4; i++)
        {
            frames.Add(Resp("SET", "prop:s", "value-1024"));
            frames.Add(Resp("INCR", "prop:n"));
            frames.Add(Resp("GET", "prop:s"));
            frames.Add(Resp("LPUSH", "prop:l", "x"));
            frames.Add(Resp("RPOP", "prop:l")); // pops the oldest: the list stays one long between requests
        }
        var (allocated, reply) = Measure(_fx.Server, Concat(Resp("SET", "prop:n", "1000000"), Resp("RPUSH", "prop:l", "keeps-the-list")), Concat(frames.ToArray()), frames.Count, DrainReplica);
        Assert.StartsWith("+OK\r\n:1000001\r\n$10\r\nvalue-1024\r\n:2\r\n$14\r\nkeeps-the-list\r\n", reply);
        Assert.True(_fx.Server.Replication.MasterReplOffset > 10_000 * 20, "the writes reached the stream");
        Assert.Equal(0, allocated);
    }
}
