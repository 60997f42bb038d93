// A listening socket (Redis's acceptTcpHandler and acceptUnixHandler): TCP on bind/port, or the
// Unix domain socket of `unixsocket` (created with `unixsocketperm`). It accepts pending
// connections when readable, makes each non-blocking (TCP_NODELAY for TCP) and hands it to
// ClientManager.AcceptClient, which enforces maxclients and protected mode (TCP only, as in
// Redis) and sets keepalive before the client exists. A tls-port listener's clients get a
// TlsConnection. The cluster bus listener hands its sockets to the cluster instead.
using System.Net;
using System.Net.Sockets;

namespace Cinnabar.Networking;

public sealed partial class Listener : IFileEventHandler, IDisposable
{
    readonly CinnabarServer _server;
    public readonly Socket Socket;
    internal int Token;
    /// <summary>The TCP address bound (kept, so it still reads after a shutdown closed the socket); null for the Unix socket.</summary>
    public IPEndPoint EndPoint { get; } = null!;
    public bool IsUnix => Socket.AddressFamily == AddressFamily.Unix;
    /// <summary>A tls-port listener: its connections speak TLS.</summary>
    public bool Tls { get; init; }

    /// <summary>Where accepted sockets go instead of becoming clients (the cluster bus listener).</summary>
    public Action<Socket>? Accepted { get; init; }

    const int SolSocket = 1, SoReuseAddr = 2; // Linux's <sys/socket.h>

    public Listener(CinnabarServer server, IPAddress address, int port, int backlog)
    {
        _server = server;
        Socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // SO_REUSEADDR only, as anetTcpServer: .NET's ReuseAddress also sets SO_REUSEPORT on Linux,
        // which would let a second server bind the same port and split the connections.
        if (OperatingSystem.IsLinux()) Socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
        else Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (address.AddressFamily == AddressFamily.InterNetworkV6) Socket.DualMode = false;
        Socket.Bind(new IPEndPoint(address, port));
        EndPoint = (IPEndPoint)Socket.LocalEndPoint!;
        Socket.Listen(backlog);
        Socket.Blocking = false;
    }

    /// <summary>The Unix domain socket at path (a stale socket file is replaced), with the given mode when non-zero.</summary>
    public Listener(CinnabarServer server, string path, int backlog, int mode)
    {
        _server = server;
        if (File.Exists(path)) File.Delete(path); // anetUnixServer unlinks first
        Socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        Socket.Bind(new UnixDomainSocketEndPoint(path));
        if (mode != 0 && !OperatingSystem.IsWindows()) File.SetUnixFileMode(path, (UnixFileMode)mode);
        Socket.Listen(backlog);
        Socket.Blocking = false;
    }

    public void OnReadable()
    {
        // Accept up to MAX_ACCEPTS_PER_CALL (1000) connections per event, like Redis.
        for (int i = 0; i < 1000; i++)
        {
            Socket? s;
            try
            {
                s = OperatingSystem.IsLinux() ? AcceptNonBlocking() : Socket.Accept();
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                return;
            }
            catch (SocketException e)
            {
                _server.Log.Verbose("Accepting client connection: " + e.Message);
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            if (s == null) return;
            s.Blocking = false;
            if (!IsUnix) s.NoDelay = true;
            if (Accepted != null) Accepted(s);
            else _server.Clients.AcceptClient(s, Tls);
        }
    }

    public void OnWritable() { }

    const int SockNonBlock = 0x800, SockCloExec = 0x80000, EAgain = 11;

    [System.Runtime.InteropServices.LibraryImport("libc", SetLastError = true)]
    private static partial int accept4(nint sockfd, nint addr, nint addrlen, int flags);

    /// <summary>
    /// accept4 with SOCK_NONBLOCK: null when nothing is pending. Socket.Accept reports that with
    /// an exception, which at the end of every readable event costs more than the accept itself
    /// when thousands of clients connect at once.
    /// </summary>
    Socket? AcceptNonBlocking()
    {
        int fd = accept4(Socket.Handle, 0, 0, SockNonBlock | SockCloExec);
        if (fd >= 0) return new Socket(new SafeSocketHandle(fd, ownsHandle: true));
        int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        if (errno == EAgain) return null;
        throw new SocketException(errno);
    }

    public void Dispose() => Socket.Dispose();
}
