// Raw protocol bytes sent to redis-server 7.0 and to Cinnabar: the replies must be the same
// bytes and the connection must be closed (or kept) the same way. Needs redis-server on PATH:
// RequiresToolsFact skips with the reason when it is missing (a failure when CI=true).
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Protocol;

public class ProtocolDifferentialTests(ServerFixture fx, RedisServerFixture redis) : IClassFixture<ServerFixture>, IClassFixture<RedisServerFixture>
{
    static readonly string[] Cases =
    [
        "*abc\r\n", "*-1\r\nPING\r\n", "$abc\r\n", "*1\r\n$abc\r\n", "*1\r\nx3\r\n", "*1\r\n$536870913\r\n",
        "*1\r\n$4\r\nPINGXY", "*1\r\n$4\r\nPINGXYPING\r\n", "set \"a\r\n", "set 'a'b\r\n", new string('x', 70000),
        "*" + new string('1', 70000), "*1\r\n$" + new string('1', 70000), "*3000000000\r\n", "*1\r\n$-1\r\n",
        "*0\r\nPING\r\n", "\r\n\r\nPING\r\n", "*1\r\n$4\r\nPI", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "*1\r\n$+4\r\nPING\r\n",
        "*01\r\n$4\r\nPING\r\n", "PING\nPING\r\n", "*1\r\n$4\r\nPING\r\n*1\r\n$-2\r\n", "ECHO \"\\x41\\n\" 'b\\'c'\r\n",
        "*2\r\n$4\r\nECHO\r\n$3\r\nabc", "ECHO a\"b\r\n", "*1\r\n$4\r\nQUIT\r\nPING\r\n",
    ];

    /// <summary>Sends the chunks (pausing between them), then reads until the server closes or goes quiet.</summary>
    static (string Reply, bool Closed) Exchange(int port, params string[] chunks)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Connect(IPAddress.Loopback, port);
        foreach (var chunk in chunks)
        {
            s.Send(Encoding.Latin1.GetBytes(chunk));
            Thread.Sleep(50);
        }
        s.ReceiveTimeout = 500;
        var got = new MemoryStream();
        var buf = new byte[65536];
        bool closed = false;
        try
        {
            while (true)
            {
                int n = s.Receive(buf);
                if (n == 0) { closed = true; break; }
                got.Write(buf, 0, n);
            }
        }
        catch (SocketException e)
        {
            closed = e.SocketErrorCode == SocketError.ConnectionReset;
        }
        return (Encoding.Latin1.GetString(got.ToArray()), closed);
    }

    [RequiresToolsFact("redis-server")]
    public void RawProtocolInputGetsTheSameRepliesAndClosing()
    {
        foreach (var input in Cases)
            Assert.Equal(Exchange(redis.Port, input), Exchange(fx.Port, input));
    }

    [RequiresToolsFact("redis-server")]
    public void FramesSplitAcrossReadsAreServedLikeRedis()
    {
        string[][] splits =
            [
                ["*2\r\n$4\r\nECHO\r\n", "$5\r\nhello\r\n"],
                ["*2\r\n$4\r\nEC", "HO\r\n$5\r\nhel", "lo\r\n"],
                ["ECHO he", "llo\r\n"],
                ["*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n" + new string('v', 10000), new string('v', 10000) + "\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"],
            ];
        foreach (var chunks in splits)
            Assert.Equal(Exchange(redis.Port, chunks), Exchange(fx.Port, chunks));
    }
}
