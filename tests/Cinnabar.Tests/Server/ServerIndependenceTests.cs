// Two servers in one process share nothing: every mechanism is a field of its server, so a
// WATCH, a subscription, a blocked client, a monitor, the slowlog, tracking and a replica on
// one server never see the other's commands (tests and embedding rely on it).
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Server;

public sealed class ServerIndependenceTests : IDisposable
{
    readonly ServerFixture _a = new(), _b = new();

    public void Dispose()
    {
        _a.Dispose();
        _b.Dispose();
    }

    [Fact]
    public void WatchOnOneServerIsNotDirtiedByTheOther()
    {
        using var a = _a.Connect();
        using var b = _b.Connect();
        a.Call("WATCH", "k");
        b.Call("SET", "k", "changed");
        a.Call("MULTI");
        a.Call("SET", "k", "mine");
        Assert.Equal("*[+OK]", a.CallS("EXEC"));
    }

    [Fact]
    public void PublishReachesOnlyTheSameServersSubscribers()
    {
        using var sub = _a.Connect();
        using var a = _a.Connect();
        using var b = _b.Connect();
        sub.Call("SUBSCRIBE", "ch");
        Assert.Equal(":0", b.CallS("PUBLISH", "ch", "m"));
        Assert.Equal(":1", a.CallS("PUBLISH", "ch", "m"));
    }

    [Fact]
    public void ABlockedClientIsServedOnlyByItsOwnServer()
    {
        using var blocked = _a.Connect();
        using var a = _a.Connect();
        using var b = _b.Connect();
        blocked.Send("BLPOP", "q", "5");
        _a.WaitBlocked(1);
        Assert.Equal(0, _b.Server.Blocking.BlockedClients);
        b.Call("RPUSH", "q", "x");
        blocked.AssertNoReply(TimeSpan.FromMilliseconds(200));
        a.Call("RPUSH", "q", "y");
        Assert.Equal("*[\"q\", \"y\"]", blocked.Read().ToString());
    }

    [Fact]
    public void MonitorSlowlogTrackingAndReplicasStayOnTheirServer()
    {
        using var monitor = _a.Connect();
        using var tracking = _a.Connect();
        using var replica = _a.Connect();
        using var a = _a.Connect();
        using var b = _b.Connect();
        tracking.Call("HELLO", "3");
        tracking.Call("CLIENT", "TRACKING", "ON");
        tracking.Call("GET", "t");
        replica.Send("SYNC");
        replica.ReadRdbTransfer();
        a.Call("SLOWLOG", "RESET"); // the setup itself may have been slow (SYNC writes an RDB)
        monitor.Call("MONITOR");
        b.Call("CONFIG", "SET", "slowlog-log-slower-than", "0");
        b.Call("SET", "t", "from-b");
        monitor.AssertNoReply(TimeSpan.FromMilliseconds(200));
        tracking.AssertNoReply(TimeSpan.FromMilliseconds(100));
        replica.AssertNoReply(TimeSpan.FromMilliseconds(100));
        Assert.Equal(":0", a.CallS("SLOWLOG", "LEN"));
        Assert.Contains("connected_slaves:0", b.Call("INFO", "replication").Text);
    }
}
