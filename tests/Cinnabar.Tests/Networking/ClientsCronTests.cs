// clientsCron visits numclients/hz clients per call, resuming where the last call stopped (a
// ring with swap-remove): every client is still visited about once a second however many are
// connected, and freeing clients in between never skips the rest. Pinned through the idle
// timeout, which only the cron applies.
using System.Net.Sockets;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public class ClientsCronTests
{
    [Fact]
    public void Every_one_of_many_idle_clients_is_timed_out_while_others_come_and_go()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("timeout", "1", startup: true));
        var idle = new List<Socket>();
        for (int i = 0; i < 120; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect("127.0.0.1", fx.Port);
            idle.Add(s);
        }
        using var observer = fx.Connect();
        // Clients connecting and leaving meanwhile move others within the ring.
        for (int i = 0; i < 20; i++)
        {
            using var brief = fx.Connect();
            Assert.Equal("+PONG", brief.CallS("PING"));
            Thread.Sleep(25);
        }
        var deadline = DateTime.UtcNow.AddSeconds(10);
        long connected;
        do
        {
            Assert.Equal("+PONG", observer.CallS("PING")); // the observer stays active, so it is not timed out
            connected = observer.Call("INFO", "clients").Text!.Split("\r\n").First(l => l.StartsWith("connected_clients:", StringComparison.Ordinal)) is var line
                ? long.Parse(line["connected_clients:".Length..]) : -1;
            if (connected == 1) break;
            Thread.Sleep(100);
        } while (DateTime.UtcNow < deadline);
        Assert.Equal(1, connected);
        foreach (var s in idle)
        {
            s.ReceiveTimeout = 2000;
            Assert.Equal(0, s.Receive(new byte[16])); // closed by the server
            s.Dispose();
        }
    }
}
