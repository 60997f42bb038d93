// CONFIG SET port / tls-port at run time (Redis's changeListenPort): the listener moves to the
// new port and the old one stops accepting; a port that cannot be bound is refused with
// Redis's error and the server keeps listening where it was; tls-port opens and closes a TLS
// listener next to the plain one.
using System.Net;
using System.Net.Sockets;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public sealed class ListenPortTests
{
    static bool Accepts(int port)
    {
        try
        {
            using var c = new RespClient(port, timeoutMs: 2000);
            return c.CallS("PING") == "+PONG";
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [Fact]
    public void Config_set_port_moves_the_listener()
    {
        using var fx = new ServerFixture();
        int old = fx.Port, moved = RedisServerFixture.FreePort();
        using (var c = fx.Connect())
        {
            Assert.Equal("+OK", c.CallS("CONFIG", "SET", "port", moved.ToString()));
            Assert.Equal("+PONG", c.CallS("PING")); // established connections stay
        }
        Assert.True(Accepts(moved), "the new port accepts");
        Assert.False(Accepts(old), "the old port is closed");
        using var again = new RespClient(moved);
        Assert.Equal(moved.ToString(), again.Call("CONFIG", "GET", "port").Items![1].Text);
    }

    [Fact]
    public void A_port_that_cannot_be_bound_is_refused_and_the_old_one_stays()
    {
        using var fx = new ServerFixture();
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            int busy = ((IPEndPoint)taken.LocalEndpoint).Port;
            using var c = fx.Connect();
            string before = c.Call("CONFIG", "GET", "port").Items![1].Text!;
            Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.",
                c.CallS("CONFIG", "SET", "port", busy.ToString()));
            Assert.Equal(before, c.Call("CONFIG", "GET", "port").Items![1].Text);
            Assert.True(Accepts(fx.Port), "still listening on the old port");
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact]
    public void Config_set_tls_port_opens_and_closes_a_TLS_listener()
    {
        using var certs = new TestCertificates();
        using var fx = new ServerFixture(cfg =>
        {
            cfg.Set("tls-cert-file", certs.ServerCertFile, startup: true);
            cfg.Set("tls-key-file", certs.ServerKeyFile, startup: true);
            cfg.Set("tls-ca-cert-file", certs.CaFile, startup: true);
        });
        int tlsPort = RedisServerFixture.FreePort();
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "tls-port", tlsPort.ToString()));
        using (var t = new RespClient(tlsPort, certs.ClientOptions(certs.Client))) Assert.Equal("+PONG", t.CallS("PING"));
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "tls-port", "0"));
        Assert.False(Accepts(tlsPort), "the TLS listener is closed");
    }
}
