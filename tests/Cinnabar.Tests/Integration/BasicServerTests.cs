// Smoke tests over a real socket: the server answers, pipelines are served in order.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Integration;

public class BasicServerTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void PingAnswersPong()
    {
        using var c = fx.Connect();
        Assert.Equal("+PONG", c.CallS("PING"));
        Assert.Equal("\"hi\"", c.CallS("PING", "hi"));
    }

    [Fact]
    public void PipelineOfThousandsIsServedInOrder()
    {
        using var c = fx.Connect();
        var ms = new MemoryStream();
        for (int i = 0; i < 5000; i++) ms.Write(RespClient.Encode("SET", "pipe:" + i, i.ToString()));
        for (int i = 0; i < 5000; i++) ms.Write(RespClient.Encode("GET", "pipe:" + i));
        c.SendRaw(ms.ToArray());
        for (int i = 0; i < 5000; i++) Assert.Equal("+OK", c.Read().ToString());
        for (int i = 0; i < 5000; i++) Assert.Equal("\"" + i + "\"", c.Read().ToString());
    }

    [Fact]
    public void UnknownCommandShowsArgsPreview()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR unknown command 'nosuch', with args beginning with: 'a' 'b' ", c.CallS("nosuch", "a", "b"));
    }

    [Fact]
    public void ProtocolErrorClosesAfterReply()
    {
        using var c = fx.Connect();
        c.SendRaw("*abc\r\n");
        Assert.Equal("-ERR Protocol error: invalid multibulk length", c.Read().ToString());
        Assert.True(c.IsClosedByServer());
    }

    [Fact]
    public void CommandSplitAfterACompleteArgumentKeepsEarlierArguments()
    {
        using var c = fx.Connect();
        c.SendRaw("*3\r\n$3\r\nSET\r\n$5\r\nsplit\r\n");
        Thread.Sleep(100); // let the server consume the first part alone
        c.SendRaw("$5\r\nhello\r\n");
        Assert.Equal("+OK", c.Read().ToString());
        Assert.Equal("\"hello\"", c.CallS("GET", "split"));
    }
}
