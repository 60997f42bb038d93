// Connection limits over real sockets, each on a server configured for it: maxclients,
// client-query-buffer-limit, proto-max-bulk-len, client-output-buffer-limit (hard and soft),
// timeout, tcp-keepalive and protected mode.
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public class LimitsTests
{
    static ServerFixture Start(params (string Name, string Value)[] settings) =>
        new(config =>
        {
            foreach (var (n, v) in settings) Assert.Null(config.Set(n, v, startup: true));
        });

    /// <summary>Reads and discards whatever arrives until the server closes the connection.</summary>
    static bool DrainsToClose(RespClient c, int timeoutMs)
    {
        c.Socket.ReceiveTimeout = timeoutMs;
        var buf = new byte[1 << 16];
        try
        {
            while (true)
                if (c.Socket.Receive(buf) == 0) return true;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset)
        {
            return true;
        }
        catch (SocketException)
        {
            return false; // timed out: still open
        }
    }

    [Fact]
    public void MaxClientsRejectsTheExtraConnection()
    {
        using var fx = Start(("maxclients", "2"));
        using var a = fx.Connect();
        using var b = fx.Connect();
        Assert.Equal("+PONG", a.CallS("PING"));
        Assert.Equal("+PONG", b.CallS("PING"));
        using var c = fx.Connect();
        Assert.Equal("-ERR max number of clients reached", c.Read().ToString());
        Assert.True(c.IsClosedByServer());
        Assert.Equal(1, fx.Server.Stats.RejectedConnections);
    }

    [Fact]
    public void QueryBufferLimitClosesTheClient()
    {
        using var fx = Start(("client-query-buffer-limit", "1mb"));
        using var c = fx.Connect();
        c.SendRaw("*2\r\n$3\r\nget\r\n$3000000\r\n");
        var chunk = new byte[64 * 1024];
        Array.Fill(chunk, (byte)'x');
        try
        {
            for (int i = 0; i < 24; i++) c.SendRaw(chunk);
        }
        catch (IOException)
        {
            // The server may close while we are still sending.
        }
        Assert.True(DrainsToClose(c, 5000));
        using var d = fx.Connect();
        Assert.Equal("+PONG", d.CallS("PING"));
    }

    [Fact]
    public void ProtoMaxBulkLenRejectsLongerBulks()
    {
        using var fx = Start(("proto-max-bulk-len", "1mb"));
        using var c = fx.Connect();
        c.SendRaw("*1\r\n$1048577\r\n");
        Assert.Equal("-ERR Protocol error: invalid bulk length", c.Read().ToString());
        Assert.True(c.IsClosedByServer());
        using var d = fx.Connect();
        var exact = new string('y', 1024 * 1024);
        Assert.Equal("+OK", d.CallS("SET", "big", exact));
    }

    [Fact]
    public void OutputBufferHardLimitDisconnectsAPipelinerThatDoesNotRead()
    {
        using var fx = Start(("client-output-buffer-limit", "normal 1mb 0 0"));
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("SET", "big", new string('v', 256 * 1024)));
        var ms = new MemoryStream();
        for (int i = 0; i < 64; i++) ms.Write(RespClient.Encode("GET", "big"));
        c.SendRaw(ms.ToArray());
        Assert.True(DrainsToClose(c, 5000));
        Assert.True(fx.Server.Stats.ClientOutbufLimitDisconnections >= 1);
    }

    [Fact]
    public void OutputBufferSoftLimitDisconnectsAfterItsSeconds()
    {
        using var fx = Start(("client-output-buffer-limit", "normal 0 512kb 1"));
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("SET", "big", new string('v', 256 * 1024)));
        var ms = new MemoryStream();
        for (int i = 0; i < 200; i++) ms.Write(RespClient.Encode("GET", "big"));
        c.SendRaw(ms.ToArray());
        Thread.Sleep(300);
        Assert.Equal(0, fx.Server.Stats.ClientOutbufLimitDisconnections); // over the soft limit, but not for 1 s yet
        Thread.Sleep(2000);
        Assert.Equal(1, fx.Server.Stats.ClientOutbufLimitDisconnections);
        Assert.Empty(fx.Server.Clients.All);
        Assert.True(DrainsToClose(c, 3000));
    }

    [Fact]
    public void IdleClientsAreClosedAfterTimeoutButNotMonitors()
    {
        using var fx = Start(("timeout", "1"));
        using var idle = fx.Connect();
        using var monitor = fx.Connect();
        Assert.Equal("+OK", monitor.CallS("MONITOR"));
        Assert.Equal("+PONG", idle.CallS("PING"));
        Assert.True(idle.IsClosedByServer(4000));
        Assert.False(monitor.IsClosedByServer(500));
    }

    [Fact]
    public void TcpKeepaliveIsAppliedToAcceptedSockets()
    {
        using var fx = Start(("tcp-keepalive", "120"));
        using var c = fx.Connect();
        long id = c.Call("CLIENT", "ID").Integer;
        Assert.True(fx.Server.Clients.TryGet(id, out var client));
        var s = client.Socket!;
        Assert.Equal(1, (int)s.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!);
        Assert.Equal(120, (int)s.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime)!);
    }

    internal static IPAddress? NonLoopbackIPv4() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    /// <summary>
    /// Protected mode (Redis 7.0: whatever the bind address) refuses peers that are not loopback
    /// while no password is set. A connection to this host's own non-loopback address has that
    /// address as its peer, so it exercises the refusal without a second machine.
    /// </summary>
    [NeedsNonLoopbackAddressFact]
    public void ProtectedModeRefusesNonLoopbackPeersWithoutPassword()
    {
        var ip = NonLoopbackIPv4();
        using var fx = Start(("bind", "*"), ("protected-mode", "yes"));
        using (var local = fx.Connect()) Assert.Equal("+PONG", local.CallS("PING"));
        using var remote = new RespClient(fx.Port, ip!.ToString());
        var reply = remote.Read();
        Assert.StartsWith("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user.", reply.ToString());
        Assert.True(remote.IsClosedByServer());

        using var open = Start(("bind", "*"), ("protected-mode", "no"));
        using var remote2 = new RespClient(open.Port, ip.ToString());
        Assert.Equal("+PONG", remote2.CallS("PING"));

        using var withPass = Start(("bind", "*"), ("protected-mode", "yes"), ("requirepass", "pw"));
        using var remote3 = new RespClient(withPass.Port, ip.ToString());
        Assert.Equal("-NOAUTH Authentication required.", remote3.CallS("PING"));
    }
}

/// <summary>Skips (saying why) on a machine whose only address is loopback.</summary>
public sealed class NeedsNonLoopbackAddressFactAttribute : FactAttribute
{
    public NeedsNonLoopbackAddressFactAttribute()
    {
        if (LimitsTests.NonLoopbackIPv4() == null) Skip = "no non-loopback IPv4 address on this machine to connect from";
    }
}
