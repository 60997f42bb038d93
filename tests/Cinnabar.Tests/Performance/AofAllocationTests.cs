// With appendonly yes every write is appended to the AOF buffer (SELECT and #TS annotations
// included) and the buffer is written to the incr file once per loop iteration: that path
// allocates nothing per command in steady state either.
using Cinnabar.Tests.Persistence;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Performance.HotPathAllocationTests;

namespace Cinnabar.Tests.Performance;

public sealed class AofAllocationTests : IDisposable
{
    readonly string _dir = AofData.NewDir();
    readonly AofServer _server;

    public AofAllocationTests() => _server = new AofServer(_dir, "appendfsync", "no", "aof-timestamp-enabled", "yes");

    public void Dispose()
    {
        _server.Dispose();
        AofData.DeleteDir(_dir);
    }

    [Fact]
    public void PipelinedWritesFedToTheAofAllocateNothing()
    {
        var server = _server.Server;
        var frames = new List<byte[]>();
        for (int i = 0; i < 4; i++)
        {
            frames.Add(Resp("SET", "aof:s", "value-1024"));
            frames.Add(Resp("INCR", "aof:n"));
            frames.Add(Resp("SELECT", "1"));
            frames.Add(Resp("LPUSH", "aof:l", "x"));
            frames.Add(Resp("RPOP", "aof:l")); // pops the oldest: the list stays one long between requests
            frames.Add(Resp("SELECT", "0"));
        }
        long sizeBefore = server.Aof.CurrentSize;
        var (allocated, reply) = Measure(server, Concat(Resp("SET", "aof:n", "1000000"), Resp("SELECT", "1"), Resp("RPUSH", "aof:l", "keeps-the-list"), Resp("SELECT", "0")), Concat(frames.ToArray()), frames.Count, () => server.Aof.BeforeSleep());
        Assert.StartsWith("+OK\r\n:1000001\r\n+OK\r\n:2\r\n$14\r\nkeeps-the-list\r\n", reply);
        Assert.True(server.Aof.CurrentSize - sizeBefore > 10_000 * 20, "the writes reached the file");
        Assert.True(allocated == 0, allocated + " " + _server.Log[^Math.Min(2000, _server.Log.Length)..]);
    }
}
