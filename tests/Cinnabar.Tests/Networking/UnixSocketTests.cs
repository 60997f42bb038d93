// The unixsocket listener: clients connect through the socket file (created with
// unixsocketperm), show in CLIENT LIST with addr=<path>:0 and flag U, and the file goes
// when the server stops. redis-benchmark and the Tcl suite's replication units use it.
using System.Net.Sockets;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public class UnixSocketTests
{
    static string Call(Socket s, string inline)
    {
        s.Send(Encoding.ASCII.GetBytes(inline + "\r\n"));
        var buf = new byte[4096];
        int n = s.Receive(buf);
        return Encoding.ASCII.GetString(buf, 0, n);
    }

    [Fact]
    public void Clients_connect_through_the_socket_file()
    {
        string path = Path.Combine(Path.GetTempPath(), "cinnabar-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        var fx = new ServerFixture(cfg =>
        {
            cfg.Set("unixsocket", path, startup: true);
            cfg.Set("unixsocketperm", "700", startup: true);
        });
        try
        {
            Assert.True(File.Exists(path));
            if (!OperatingSystem.IsWindows())
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(path));
            using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            s.Connect(new UnixDomainSocketEndPoint(path));
            Assert.Equal("+PONG\r\n", Call(s, "PING"));
            string list = Call(s, "CLIENT LIST");
            Assert.Contains($"addr={path}:0 laddr={path}:0 ", list);
            Assert.Contains(" flags=U ", list);
        }
        finally
        {
            fx.Dispose();
        }
        Assert.False(File.Exists(path)); // removed on shutdown, as Redis does
    }
}
