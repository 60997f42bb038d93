// A listening TCP socket (Redis's acceptTcpHandler): accepts pending connections when readable,
// makes each non-blocking with TCP_NODELAY, and hands it to ClientManager.AcceptClient, which
// enforces maxclients and protected mode and sets keepalive before the client exists.
using System.Net;
using System.Net.Sockets;

namespace Cinnabar.Networking;

public sealed class Listener : IFileEventHandler, IDisposable
{
    readonly CinnabarServer _server;
    public readonly Socket Socket;
    internal int Token;
    public IPEndPoint EndPoint => (IPEndPoint)Socket.LocalEndPoint!;

    public Listener(CinnabarServer server, IPAddress address, int port, int backlog)
    {
        _server = server;
        Socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        Socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (address.AddressFamily == AddressFamily.InterNetworkV6) Socket.DualMode = false;
        Socket.Bind(new IPEndPoint(address, port));
        Socket.Listen(backlog);
        Socket.Blocking = false;
    }

    public void OnReadable()
    {
        // Accept up to MAX_ACCEPTS_PER_CALL (1000) connections per event, like Redis.
        for (int i = 0; i < 1000; i++)
        {
            Socket s;
            try
            {
                s = Socket.Accept();
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
            s.Blocking = false;
            s.NoDelay = true;
            _server.Clients.AcceptClient(s);
        }
    }

    public void OnWritable() { }

    public void Dispose() => Socket.Dispose();
}
