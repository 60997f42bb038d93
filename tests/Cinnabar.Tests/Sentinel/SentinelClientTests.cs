// A Sentinel-aware client against Cinnabar Sentinels: StackExchange.Redis connects with a
// service name, finds the primary through SENTINEL GET-MASTER-ADDR-BY-NAME, and after the
// primary is killed follows the failover to the promoted replica (it listens for +switch-master
// on the Sentinels' Pub/Sub), so an application keeps writing through the same multiplexer.
using Cinnabar.Tests.Support;
using StackExchange.Redis;
using Xunit;

namespace Cinnabar.Tests.Sentinel;

public sealed class SentinelClientTests
{
    [Fact]
    public void StackExchange_Redis_follows_a_failover_through_the_sentinels()
    {
        using var topo = new SentinelTopology();
        int[] ports = [.. Enumerable.Range(0, 5).Select(_ => CinnabarProcess.FreePort())];
        var primary = topo.StartCinnabar(ports[0]);
        topo.StartCinnabar(ports[1], ports[0]);
        int[] sentinels = [ports[2], ports[3], ports[4]];
        foreach (int s in sentinels) topo.StartCinnabarSentinel(s, ports[0]);
        foreach (int s in sentinels)
        {
            SentinelTopology.WaitFor(() => SentinelTopology.MasterField(s, "num-slaves") == "1", "replica discovery", TimeSpan.FromSeconds(30));
            SentinelTopology.WaitFor(() => SentinelTopology.MasterField(s, "num-other-sentinels") == "2", "sentinel discovery", TimeSpan.FromSeconds(30));
        }

        var options = new ConfigurationOptions { ServiceName = SentinelTopology.MasterName, AbortOnConnectFail = false, ConnectTimeout = 2000, SyncTimeout = 2000 };
        foreach (int s in sentinels) options.EndPoints.Add("127.0.0.1", s);
        using var conn = ConnectionMultiplexer.Connect(options);
        var db = conn.GetDatabase();
        Assert.True(db.StringSet("written", "before"));
        using (var c = primary.Connect()) Assert.Equal("before", c.Call("GET", "written").Text);

        primary.KillHard();
        SentinelTopology.WaitFor(() =>
        {
            try
            {
                return db.StringSet("written", "after") && conn.GetEndPoints().Any(e => conn.GetServer(e) is { IsConnected: true, IsReplica: false } srv && srv.EndPoint.ToString()!.EndsWith(":" + ports[1]));
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return false;
            }
        }, "StackExchange.Redis to write to the promoted replica", TimeSpan.FromSeconds(45));
        using var promoted = new RespClient(ports[1]);
        Assert.Equal("after", promoted.Call("GET", "written").Text);
    }
}
