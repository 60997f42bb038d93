// The shared query buffer over real sockets: a client with nothing pending holds no buffer of its
// own, a partial command or the commands behind a blocked client survive other clients' reads
// through the shared buffer, and interleaved large requests from many clients arrive intact.
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public class SharedQueryBufferTests : IClassFixture<ServerFixture>
{
    readonly ServerFixture _fx;

    public SharedQueryBufferTests(ServerFixture fx) => _fx = fx;

    /// <summary>The qbuf= and qbuf-free= fields of client <paramref name="id"/> in CLIENT LIST.</summary>
    static (long Used, long Free) QueryBufferOf(RespClient observer, long id)
    {
        string list = observer.Call("CLIENT", "LIST", "ID", id.ToString()).Text!;
        long Field(string name)
        {
            int at = list.IndexOf(" " + name + "=", StringComparison.Ordinal) + name.Length + 2;
            int end = list.IndexOf(' ', at);
            return long.Parse(list[at..end]);
        }
        return (Field("qbuf"), Field("qbuf-free"));
    }

    [Fact]
    public void AnIdleClientHoldsNoQueryBuffer()
    {
        using var idle = _fx.Connect();
        using var observer = _fx.Connect();
        long id = idle.Call("CLIENT", "ID").Integer;
        Assert.Equal("+PONG", idle.CallS("PING"));
        Assert.Equal((0, 0), QueryBufferOf(observer, id));
    }

    [Fact]
    public void APartialCommandKeepsItsBytesWhileOtherClientsReadThroughTheSharedBuffer()
    {
        using var slow = _fx.Connect();
        using var other = _fx.Connect();
        long id = slow.Call("CLIENT", "ID").Integer;
        slow.SendRaw("*3\r\n$3\r\nSET\r\n$10\r\nqb:split:k\r\n$5\r\nhel");
        Thread.Sleep(100);
        var (used, free) = QueryBufferOf(other, id);
        Assert.True(used > 0 && free > 0, $"qbuf={used} qbuf-free={free}");
        for (int i = 0; i < 50; i++) Assert.Equal("+OK", other.CallS("SET", "qb:other", new string('x', 2000 + i)));
        slow.SendRaw("lo\r\n*2\r\n$3\r\nGET\r\n$10\r\nqb:split:k\r\n");
        Assert.Equal("+OK", slow.Read().ToString());
        Assert.Equal("hello", slow.Read().Text);
    }

    [Fact]
    public void CommandsBehindABlockedCommandRunAfterItIsServed()
    {
        using var blocked = _fx.Connect();
        using var pusher = _fx.Connect();
        pusher.Call("DEL", "qb:list");
        // BLPOP and two more commands in one write: the two wait in the client's own buffer.
        blocked.SendRaw(Encoding.Latin1.GetString(RespClient.Encode("BLPOP", "qb:list", "0"))
                        + Encoding.Latin1.GetString(RespClient.Encode("SET", "qb:after", "1"))
                        + Encoding.Latin1.GetString(RespClient.Encode("GET", "qb:after")));
        _fx.WaitBlocked(1);
        for (int i = 0; i < 20; i++) Assert.Equal("+OK", pusher.CallS("SET", "qb:noise", new string('n', 3000)));
        Assert.Equal(1, pusher.Call("RPUSH", "qb:list", "v").Integer);
        var popped = blocked.Read();
        Assert.Equal("v", popped.Items![1].Text);
        Assert.Equal("+OK", blocked.Read().ToString());
        Assert.Equal("1", blocked.Read().Text);
    }

    [Fact]
    public void InterleavedLargeRequestsFromManyClientsArriveIntact()
    {
        const int clients = 12;
        var conns = Enumerable.Range(0, clients).Select(_ => _fx.Connect()).ToArray();
        try
        {
            var frames = new byte[clients][];
            for (int i = 0; i < clients; i++)
            {
                var value = new byte[40_000 + i * 997];
                for (int j = 0; j < value.Length; j++) value[j] = (byte)('a' + (i * 7 + j) % 26);
                frames[i] = RespClient.Encode(Encoding.ASCII.GetBytes("SET"), Encoding.ASCII.GetBytes($"qb:big:{i}"), value);
            }
            // Three slices per client, sent round-robin so every read interleaves with the others.
            for (int part = 0; part < 3; part++)
            {
                for (int i = 0; i < clients; i++)
                {
                    int len = frames[i].Length, from = len * part / 3, to = len * (part + 1) / 3;
                    conns[i].SendRaw(frames[i][from..to]);
                }
                Thread.Sleep(20);
            }
            for (int i = 0; i < clients; i++) Assert.Equal("+OK", conns[i].Read().ToString());
            using var check = _fx.Connect();
            for (int i = 0; i < clients; i++)
            {
                var expected = new byte[40_000 + i * 997];
                for (int j = 0; j < expected.Length; j++) expected[j] = (byte)('a' + (i * 7 + j) % 26);
                Assert.Equal(Encoding.Latin1.GetString(expected), check.Call("GET", $"qb:big:{i}").Text);
            }
        }
        finally
        {
            foreach (var c in conns) c.Dispose();
        }
    }
}
