// Blocking stream reads with several real clients: XREAD BLOCK woken by XADD (every reader, not
// only the first: readers do not consume), "$" resolved when the read blocks, timeouts, group
// readers sharing new entries one at a time, and the errors a blocked XREADGROUP gets when its
// key is deleted, overwritten or flushed, or its group destroyed, while a plain XREAD keeps waiting.
using System.Diagnostics;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Streams;

public class StreamBlockingTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void XaddWakesEveryBlockedReader()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        using var p = fx.Connect();
        p.Call("XADD", "wake:s", "1-1", "old", "x");
        a.Send("XREAD", "BLOCK", "0", "STREAMS", "wake:s", "$");
        fx.WaitBlocked(1);
        b.Send("XREAD", "COUNT", "5", "BLOCK", "0", "STREAMS", "other:s", "wake:s", "0", "1-1");
        fx.WaitBlocked(2);
        Assert.Equal("\"2-1\"", p.CallS("XADD", "wake:s", "2-1", "f", "v"));
        const string served = "*[*[\"wake:s\", *[*[\"2-1\", *[\"f\", \"v\"]]]]]";
        Assert.Equal(served, a.Read().ToString());
        Assert.Equal(served, b.Read().ToString());
    }

    [Fact]
    public void BlockedReadTimesOutWithNullArray()
    {
        using var a = fx.Connect();
        var sw = Stopwatch.StartNew();
        Assert.Equal("*nil", a.CallS("XREAD", "BLOCK", "200", "STREAMS", "to:s", "$"));
        Assert.InRange(sw.ElapsedMilliseconds, 150, 2000);
    }

    [Fact]
    public void GroupReadersShareNewEntries()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        using var p = fx.Connect();
        Assert.Equal("+OK", p.CallS("XGROUP", "CREATE", "grp:s", "g", "$", "MKSTREAM"));
        a.Send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "grp:s", ">");
        fx.WaitBlocked(1);
        b.Send("XREADGROUP", "GROUP", "g", "bob", "BLOCK", "0", "STREAMS", "grp:s", ">");
        fx.WaitBlocked(2);
        p.Call("XADD", "grp:s", "1-1", "n", "1");
        // The first waiter takes the entry; the second's ID moves to the group's last ID and it keeps waiting.
        Assert.Equal("*[*[\"grp:s\", *[*[\"1-1\", *[\"n\", \"1\"]]]]]", a.Read().ToString());
        fx.WaitBlocked(1);
        p.Call("XADD", "grp:s", "2-1", "n", "2");
        Assert.Equal("*[*[\"grp:s\", *[*[\"2-1\", *[\"n\", \"2\"]]]]]", b.Read().ToString());
        Assert.Equal("*[:2, \"1-1\", \"2-1\", *[*[\"alice\", \"1\"], *[\"bob\", \"1\"]]]", p.CallS("XPENDING", "grp:s", "g"));
    }

    [Theory]
    [InlineData("DEL")]
    [InlineData("SET")]
    [InlineData("FLUSHALL")]
    public void GroupReaderLearnsItsStreamWentAway(string how)
    {
        using var a = fx.Connect();
        using var x = fx.Connect();
        using var p = fx.Connect();
        string key = "gone:" + how;
        Assert.Equal("+OK", p.CallS("XGROUP", "CREATE", key, "g", "$", "MKSTREAM"));
        a.Send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", key, ">");
        fx.WaitBlocked(1);
        x.Send("XREAD", "BLOCK", "0", "STREAMS", key, "$");
        fx.WaitBlocked(2);
        if (how == "DEL") p.Call("DEL", key);
        else if (how == "SET") p.Call("SET", key, "v");
        else p.Call("FLUSHALL");
        Assert.Equal("-UNBLOCKED the stream key no longer exists", a.Read().ToString());
        // The plain reader keeps waiting and is served by the next stream at that key.
        fx.WaitBlocked(1);
        p.Call("DEL", key);
        p.Call("XADD", key, "7-1", "f", "v");
        Assert.Equal($"*[*[\"{key}\", *[*[\"7-1\", *[\"f\", \"v\"]]]]]", x.Read().ToString());
    }

    [Fact]
    public void DestroyedGroupAnswersNoGroup()
    {
        using var a = fx.Connect();
        using var p = fx.Connect();
        Assert.Equal("+OK", p.CallS("XGROUP", "CREATE", "destroy:s", "g", "$", "MKSTREAM"));
        a.Send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "destroy:s", ">");
        fx.WaitBlocked(1);
        Assert.Equal(":1", p.CallS("XGROUP", "DESTROY", "destroy:s", "g"));
        Assert.Equal("-NOGROUP the consumer group this client was blocked on no longer exists", a.Read().ToString());
    }

    [Fact]
    public void ClientUnblockAnswersAsATimeoutOrAnError()
    {
        using var a = fx.Connect();
        using var p = fx.Connect();
        long id = a.Call("CLIENT", "ID").Integer;
        a.Send("XREAD", "BLOCK", "0", "STREAMS", "unblock:s", "$");
        fx.WaitBlocked(1);
        Assert.Equal(":1", p.CallS("CLIENT", "UNBLOCK", id.ToString()));
        Assert.Equal("*nil", a.Read().ToString());
        Assert.Equal("+OK", p.CallS("XGROUP", "CREATE", "unblock:s", "g", "$", "MKSTREAM"));
        a.Send("XREADGROUP", "GROUP", "g", "c", "BLOCK", "0", "STREAMS", "unblock:s", ">");
        fx.WaitBlocked(1);
        Assert.Equal(":1", p.CallS("CLIENT", "UNBLOCK", id.ToString(), "ERROR"));
        Assert.Equal("-UNBLOCKED client unblocked via CLIENT UNBLOCK", a.Read().ToString());
        Assert.Equal("*[\"0\", *[\"unblock:s\"]]", p.CallS("SCAN", "0", "COUNT", "1000", "TYPE", "stream", "MATCH", "unblock:*"));
    }

    [Fact]
    public void BlockInsideMultiAnswersAtOnce()
    {
        using var a = fx.Connect();
        a.Call("MULTI");
        a.Call("XREAD", "BLOCK", "0", "STREAMS", "multi:s", "$");
        Assert.Equal("*[*nil]", a.CallS("EXEC"));
        Assert.Equal("-ERR xread command is not allowed with BLOCK option from scripts",
            a.CallS("EVAL", "return redis.call('xread','block','0','streams','multi:s','$')", "0").Split(" script:")[0]);
    }
}
