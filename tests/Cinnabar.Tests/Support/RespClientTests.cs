// Pins the test client's behaviours that other tests rely on: TryRead returns null without
// disturbing the connection, a read timeout surfaces as SocketError.TimedOut (the differential
// runner's "no reply"), and RESP3 replies after HELLO 3 parse into typed nodes.
using System.Net;
using System.Net.Sockets;

namespace Cinnabar.Tests.Support;

public class RespClientTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void TryReadReturnsNullWhenNothingArrivesAndTheConnectionStaysUsable()
    {
        using var c = fx.Connect();
        Assert.Null(c.TryRead(TimeSpan.FromMilliseconds(50)));
        c.Send("PING");
        Assert.Equal("+PONG", c.TryRead(TimeSpan.FromSeconds(5))?.ToString());
        c.AssertNoReply(TimeSpan.FromMilliseconds(20));
        Assert.Equal("+PONG", c.CallS("PING"));
    }

    [Fact]
    public void TryReadReturnsAReplyAlreadyBuffered()
    {
        using var c = fx.Connect();
        c.SendRaw(RespClient.Encode("PING").Concat(RespClient.Encode("ECHO", "x")).ToArray());
        Assert.Equal("+PONG", c.Read().ToString());
        // The second reply likely arrived in the same read and sits in the client's buffer.
        Assert.Equal("\"x\"", c.TryRead(TimeSpan.FromSeconds(5))?.ToString());
    }

    [Fact]
    public void ReadTimeoutSurfacesAsTimedOutSocketError()
    {
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        try
        {
            using var c = new RespClient(((IPEndPoint)silent.LocalEndpoint).Port, timeoutMs: 100);
            var e = Assert.Throws<IOException>(() => c.Read());
            Assert.Equal(SocketError.TimedOut, Assert.IsType<SocketException>(e.InnerException).SocketErrorCode);
        }
        finally
        {
            silent.Stop();
        }
    }

    [Fact]
    public void Hello3RepliesParseAsResp3Types()
    {
        using var c = fx.Connect();
        var hello = c.Call("HELLO", "3");
        Assert.Equal('%', hello.Type);
        Assert.Equal("_nil", c.CallS("GET", "respclient:missing"));
    }
}
