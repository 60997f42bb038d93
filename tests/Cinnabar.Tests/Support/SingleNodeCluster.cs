// An in-process server in cluster mode that serves every slot itself: cluster-enabled, its bus on
// a free port (the default, port + 10000, is out of range for half the ephemeral ports), all
// 16384 slots added, and cluster_state:ok (a master waits 2 s after start, as Redis's
// CLUSTER_WRITABLE_DELAY). For tests of keyed commands in cluster mode; one per test class.
namespace Cinnabar.Tests.Support;

public sealed class SingleNodeCluster : IDisposable
{
    public ServerFixture Fixture { get; }
    public CinnabarServer Server => Fixture.Server;

    public SingleNodeCluster()
    {
        Fixture = new ServerFixture(config =>
        {
            Assert.Null(config.Set("cluster-enabled", "yes", startup: true));
            Assert.Null(config.Set("cluster-port", RedisServerFixture.FreePort().ToString(), startup: true));
        });
        using var c = Fixture.Connect();
        Assert.Equal("+OK", c.CallS("CLUSTER", "ADDSLOTSRANGE", "0", "16383"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!c.Call("CLUSTER", "INFO").Text!.Contains("cluster_state:ok", StringComparison.Ordinal))
        {
            Assert.True(sw.ElapsedMilliseconds < 10_000, "the cluster state did not become ok");
            Thread.Sleep(50);
        }
    }

    public RespClient Connect() => Fixture.Connect();

    public void Dispose() => Fixture.Dispose();
}
