// Stream commands on the hot path, measured like the others (HotPathAllocationTests): reads of
// a stream allocate nothing per call (the stream iterator is reused), and XADD allocates only the
// stream's own growth: a new listpack node (4 KiB of room, as Redis preallocates) every 100 entries.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Performance.HotPathAllocationTests;

namespace Cinnabar.Tests.Performance;

public class StreamAllocationTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    readonly bool _noSavePoints = fx.Server.Config.Set("save", "", startup: false) == null;

    static byte[] Fill(string key, int n) => Concat(Enumerable.Range(1, n).Select(i => Resp("XADD", key, $"{i}-1", "f", "v", "n", i.ToString())).ToArray());

    [Fact]
    public void RangeReadsAllocateNothing()
    {
        Assert.True(_noSavePoints);
        var (allocated, reply) = Measure(fx.Server, Fill("sa:r", 300), Resp("XRANGE", "sa:r", "150", "+", "COUNT", "10"), 1, null);
        Assert.StartsWith("*10\r\n*2\r\n$5\r\n150-1\r\n", reply);
        Assert.Equal(0, allocated);
        (allocated, reply) = Measure(fx.Server, [], Resp("XREVRANGE", "sa:r", "+", "-", "COUNT", "5"), 1, null);
        Assert.StartsWith("*5\r\n*2\r\n$5\r\n300-1\r\n", reply);
        Assert.Equal(0, allocated);
        (allocated, reply) = Measure(fx.Server, [], Resp("XREAD", "COUNT", "2", "STREAMS", "sa:r", "298-1"), 1, null);
        Assert.StartsWith("*1\r\n*2\r\n$4\r\nsa:r\r\n*2\r\n", reply);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void XaddAllocatesOnlyTheStreamsGrowth()
    {
        var (allocated, reply) = Measure(fx.Server, [], Resp("XADD", "sa:w", "*", "field", "value"), 1, null);
        Assert.Matches(@"^\$\d+\r\n\d+-\d+\r\n$", reply);
        // 10,000 entries make 100 nodes of 4 KiB plus their rax keys: about 42 bytes an entry.
        Assert.InRange(allocated, 0, 10_000 * 64);
    }
}
