// Blocking list operations with real clients over sockets: FIFO wake-up, timeouts, wake-up by
// another client's push or LMOVE, BLMOVE/BLMPOP serving, pipelined input after the wake-up,
// CLIENT UNBLOCK's hook, and a disconnected waiter leaving the registry.
using System.Diagnostics;
using Cinnabar.Keyspace;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Keyspace;

public class BlockingKeysTests(ServerFixture fx) : IClassFixture<ServerFixture>
{

    [Fact]
    public void WaitersAreServedInFifoOrder()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        using var p = fx.Connect();
        a.Send("BLPOP", "fifo:k", "0");
        fx.WaitBlocked(1);
        b.Send("BLPOP", "fifo:k", "0");
        fx.WaitBlocked(2);
        Assert.Equal(":2", p.CallS("RPUSH", "fifo:k", "first", "second"));
        Assert.Equal("*[\"fifo:k\", \"first\"]", a.Read().ToString());
        Assert.Equal("*[\"fifo:k\", \"second\"]", b.Read().ToString());
        Assert.Equal(":0", p.CallS("LLEN", "fifo:k"));
    }

    [Fact]
    public void TimeoutAnswersNullArrayOnTime()
    {
        using var a = fx.Connect();
        var sw = Stopwatch.StartNew();
        Assert.Equal("*nil", a.CallS("BLPOP", "to:k", "0.25"));
        Assert.InRange(sw.ElapsedMilliseconds, 200, 1500);
        Assert.Equal("*nil", a.CallS("BLMPOP", "0.05", "1", "to:k", "LEFT"));
        Assert.Equal("*nil", a.CallS("BRPOPLPUSH", "to:k", "to:d", "0.05"));
    }

    [Fact]
    public void LMoveIntoWatchedKeyWakesWaiter()
    {
        using var a = fx.Connect();
        using var p = fx.Connect();
        a.Send("BRPOP", "mv:dst", "other:key", "0");
        fx.WaitBlocked(1);
        p.Call("RPUSH", "mv:src", "x");
        Assert.Equal("\"x\"", p.CallS("LMOVE", "mv:src", "mv:dst", "LEFT", "LEFT"));
        Assert.Equal("*[\"mv:dst\", \"x\"]", a.Read().ToString());
    }

    [Fact]
    public void BlMoveIsServedByPushAndChainsToNextWaiter()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        using var p = fx.Connect();
        a.Send("BLMOVE", "ch:src", "ch:mid", "RIGHT", "LEFT", "0");
        fx.WaitBlocked(1);
        b.Send("BLMPOP", "0", "1", "ch:mid", "LEFT", "COUNT", "5");
        fx.WaitBlocked(2);
        p.Call("RPUSH", "ch:src", "v1");
        Assert.Equal("\"v1\"", a.Read().ToString());
        Assert.Equal("*[\"ch:mid\", *[\"v1\"]]", b.Read().ToString());
    }

    [Fact]
    public void PipelinedCommandsRunAfterWakeUp()
    {
        using var a = fx.Connect();
        using var p = fx.Connect();
        a.SendRaw([.. RespClient.Encode("BLPOP", "pl:k", "0"), .. RespClient.Encode("PING")]);
        fx.WaitBlocked(1);
        p.Call("LPUSH", "pl:k", "v");
        Assert.Equal("*[\"pl:k\", \"v\"]", a.Read().ToString());
        Assert.Equal("+PONG", a.Read().ToString());
    }

    [Fact]
    public void UnblockHookAnswersTimeoutOrError()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        a.Send("BLPOP", "ub:k", "0");
        b.Send("BLPOP", "ub:k2", "0");
        fx.WaitBlocked(2);
        var results = new List<bool>();
        var done = new ManualResetEventSlim();
        fx.Server.Loop.Post(() =>
        {
            foreach (var c in fx.Server.Clients.All.Where(c => c.HasFlag(global::Cinnabar.Networking.ClientFlags.Blocked)).OrderBy(c => c.Id).ToList())
                results.Add(c.Server.Blocking.Unblock(c, error: results.Count == 1));
            done.Set();
        });
        Assert.True(done.Wait(5000));
        Assert.Equal(new[] { true, true }, results);
        Assert.Equal("*nil", a.Read().ToString());
        Assert.Equal("-UNBLOCKED client unblocked via CLIENT UNBLOCK", b.Read().ToString());
    }

    [Fact]
    public void DisconnectedWaiterLeavesRegistry()
    {
        using var p = fx.Connect();
        var a = fx.Connect();
        a.Send("BLPOP", "dc:k", "0");
        fx.WaitBlocked(1);
        a.Dispose();
        var sw = Stopwatch.StartNew();
        while (fx.Server.Blocking.BlockedClients > 0 && sw.ElapsedMilliseconds < 5000) Thread.Sleep(5);
        p.Call("RPUSH", "dc:k", "kept");
        Assert.Equal(":1", p.CallS("LLEN", "dc:k"));
    }

    [Fact]
    public void WrongTypeDestinationAnswersErrorAndKeepsSource()
    {
        using var a = fx.Connect();
        using var p = fx.Connect();
        p.Call("SET", "wt:dst", "str");
        a.Send("BLMOVE", "wt:src", "wt:dst", "LEFT", "LEFT", "0");
        fx.WaitBlocked(1);
        p.Call("RPUSH", "wt:src", "v");
        Assert.Equal("-WRONGTYPE Operation against a key holding the wrong kind of value", a.Read().ToString());
        Assert.Equal(":1", p.CallS("LLEN", "wt:src"));
    }
}
