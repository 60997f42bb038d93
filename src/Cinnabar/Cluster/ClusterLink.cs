// clusterLink: one TCP connection of the cluster bus, on the event loop. An outbound link is
// opened by the cron to a known node (its first message is a PING, or a MEET for a node met by
// CLUSTER MEET); an inbound link is accepted on the bus port and learns its node from the first
// message. Reading follows clusterReadHandler: 8 bytes (signature and total length, checked),
// then the rest of the message, handed whole to ClusterState.ProcessPacket. Writing appends to
// a send buffer flushed when the socket is writable. With tls-cluster both ends speak TLS
// (Networking/TlsConnection.cs, on the loop like every other TLS connection): an accepted link
// requires the peer's certificate, an outbound one sends its first message once its handshake
// is done; the send buffer is encrypted into the connection's outbox as it is flushed.
using System.Net;
using System.Net.Sockets;
using Cinnabar.Networking;

namespace Cinnabar.Cluster;

public sealed class ClusterLink : IFileEventHandler
{
    const int RcvbufInit = 1024;

    readonly ClusterState _cluster;
    readonly Socket _socket;
    int _token = -1;
    EventMask _mask;
    bool _connected;
    TlsConnection? _tls;

    public readonly long CTime;
    /// <summary>The node at the other end: known from the start for outbound links, learned for inbound ones.</summary>
    public ClusterNode? Node;
    public readonly bool Inbound;
    public bool Freed { get; private set; }

    byte[] _rcvbuf = new byte[RcvbufInit];
    int _rcvlen;
    byte[] _sndbuf = new byte[1024];
    int _sndStart, _sndEnd;

    ClusterLink(ClusterState cluster, Socket socket, ClusterNode? node, long now)
    {
        _cluster = cluster;
        _socket = socket;
        Node = node;
        Inbound = node == null;
        CTime = now;
        if (node != null) node.Link = this;
    }

    /// <summary>An accepted bus connection: reads until its node is known.</summary>
    public static ClusterLink Accept(ClusterState cluster, Socket socket, long now, TlsConnection? tls)
    {
        var link = new ClusterLink(cluster, socket, null, now) { _connected = true, _tls = tls };
        link._mask = EventMask.Readable;
        link._token = cluster.Loop.Register(socket, link, EventMask.Readable);
        return link;
    }

    /// <summary>clusterNodeCronHandleReconnect's connect: the first PING (or MEET) goes once connected.</summary>
    public static ClusterLink? Connect(ClusterState cluster, ClusterNode node, long now)
    {
        if (!IPAddress.TryParse(node.Ip, out var ip)) return null;
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var link = new ClusterLink(cluster, socket, node, now);
        socket.ConnectAsync(new IPEndPoint(ip, node.CPort)).ContinueWith(
            t => cluster.Loop.Post(() => link.OnConnected(t.Exception?.InnerException)), TaskScheduler.Default);
        return link;
    }

    void OnConnected(Exception? error)
    {
        if (Freed) return;
        if (error != null)
        {
            ConnectFailed((error as SocketException)?.Message ?? error.Message);
            return;
        }
        _socket.Blocking = false;
        _mask = EventMask.Readable;
        if (_cluster.TlsCluster)
        {
            // connTLSConnect: the ClientHello goes now; the link counts as connected once the handshake ends.
            if (_cluster.Tls.ClientOptions(Node!.Ip) is not { } options)
            {
                ConnectFailed("TLS is not configured");
                return;
            }
            _tls = new TlsConnection(options);
            _token = _cluster.Loop.Register(_socket, this, _mask);
            Flush();
            return;
        }
        _token = _cluster.Loop.Register(_socket, this, _mask);
        HandshakeDone();
    }

    /// <summary>clusterLinkConnectHandler: the first PING (or MEET) is queued and sent.</summary>
    void HandshakeDone()
    {
        _connected = true;
        _cluster.LinkConnected(this);
        Flush();
    }

    void ConnectFailed(string why)
    {
        _cluster.Log.Verbose($"Connection with Node {Node!.Name} at {Node.Ip}:{Node.CPort} failed: {why}");
        // Redis's connect to a dead loopback port fails at once, and then counts as a ping
        // sent: without it a node that died with no ping pending would never turn PFAIL.
        if (Node.PingSent == 0) Node.PingSent = ClusterState.Now;
        Free();
    }

    public long SendBufferAllocated => _sndbuf.Length;
    public long SendBufferUsed => _sndEnd - _sndStart + (_tls?.PendingOutputBytes ?? 0);

    /// <summary>
    /// clusterNodeCronResizeBuffers: a send buffer whose free space is more than four times what
    /// it holds shrinks to what it holds (the buffer grows by doubling, as sds does).
    /// </summary>
    public void ShrinkSendBuffer()
    {
        int used = _sndEnd - _sndStart;
        if ((_sndbuf.Length - used) / 4 <= used) return;
        var smaller = used == 0 ? [] : new byte[used];
        Buffer.BlockCopy(_sndbuf, _sndStart, smaller, 0, used);
        _sndbuf = smaller;
        _sndStart = 0;
        _sndEnd = used;
    }
    public string Events => !_connected ? "" : (_mask & EventMask.Writable) != 0 ? "rw" : "r";

    /// <summary>
    /// clusterSendMessage: queued and counted, written when the socket reports writable (the
    /// next loop iteration), as Redis installs a write handler. So a command's reply, written
    /// in beforeSleep, leaves before the bus messages the command caused: after SETSLOT NODE
    /// redis-cli tells the other nodes itself before our PONG does, as with redis-server.
    /// </summary>
    public void Send(ReadOnlySpan<byte> msg)
    {
        if (Freed) return;
        int type = ClusterMessage.U16(msg, ClusterMessage.OffType);
        if (type < ClusterMessage.TypeCount) _cluster.MessagesSent[type]++;
        if (_sndEnd + msg.Length > _sndbuf.Length)
        {
            int pending = _sndEnd - _sndStart;
            var bigger = pending + msg.Length > _sndbuf.Length ? new byte[Math.Max(_sndbuf.Length * 2, Math.Max(pending + msg.Length, RcvbufInit))] : _sndbuf;
            Buffer.BlockCopy(_sndbuf, _sndStart, bigger, 0, pending);
            _sndbuf = bigger;
            _sndStart = 0;
            _sndEnd = pending;
        }
        msg.CopyTo(_sndbuf.AsSpan(_sndEnd));
        _sndEnd += msg.Length;
        if (_connected) SetEvents();
    }

    /// <summary>Writable interest while anything is queued that the socket could take (the event loop's mask follows the buffer).</summary>
    void SetEvents()
    {
        bool pending = _tls == null ? _sndStart < _sndEnd : _tls.HasPendingOutput || (_tls.HandshakeDone && _sndStart < _sndEnd);
        var want = pending ? EventMask.Readable | EventMask.Writable : EventMask.Readable;
        if (want != _mask && _token >= 0)
        {
            _mask = want;
            _cluster.Loop.Modify(_socket, _token, want);
        }
    }

    void Flush()
    {
        if (_tls != null)
        {
            FlushTls(_tls);
            return;
        }
        while (_sndStart < _sndEnd)
        {
            int n = _socket.Send(_sndbuf, _sndStart, _sndEnd - _sndStart, SocketFlags.None, out var err);
            if (err == SocketError.WouldBlock) break;
            if (err != SocketError.Success || n <= 0)
            {
                _cluster.Log.Debug($"I/O error writing to node link: {err}");
                Free();
                return;
            }
            _sndStart += n;
        }
        if (_sndStart == _sndEnd) _sndStart = _sndEnd = 0;
        SetEvents();
    }

    /// <summary>The queued messages are encrypted (once the handshake is done) and as much ciphertext sent as the socket takes.</summary>
    void FlushTls(TlsConnection tls)
    {
        try
        {
            if (tls.HandshakeDone && _sndStart < _sndEnd)
            {
                tls.Write(_sndbuf.AsSpan(_sndStart, _sndEnd - _sndStart));
                _sndStart = _sndEnd = 0;
            }
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            _cluster.Log.Debug($"I/O error writing to node link: {e.Message}");
            Free();
            return;
        }
        if (!tls.Flush(_socket))
        {
            _cluster.Log.Debug("I/O error writing to node link: connection reset");
            Free();
            return;
        }
        SetEvents();
    }

    public void OnWritable()
    {
        if (!Freed) Flush();
    }

    public void OnReadable()
    {
        if (!_connected && _tls != null)
        {
            // An outbound TLS link: the handshake moves on with each readable event.
            switch (_tls.AdvanceHandshake(_socket))
            {
                case TlsConnection.HandshakeProgress.Failed:
                    ConnectFailed(_tls.Failure ?? "connection closed");
                    return;
                case TlsConnection.HandshakeProgress.Pending:
                    SetEvents();
                    return;
            }
            HandshakeDone();
        }
        while (!Freed)
        {
            int want;
            if (_rcvlen < 8) want = 8 - _rcvlen;
            else
            {
                if (_rcvlen == 8)
                {
                    uint totlen = ClusterMessage.U32(_rcvbuf, ClusterMessage.OffTotlen);
                    if (!_rcvbuf.AsSpan(0, 4).SequenceEqual("RCmb"u8) || totlen < MinLength)
                    {
                        _cluster.Log.Warning("Bad message length or signature received from Cluster bus.");
                        Free();
                        return;
                    }
                    if (totlen > _rcvbuf.Length) Array.Resize(ref _rcvbuf, (int)totlen);
                }
                want = (int)ClusterMessage.U32(_rcvbuf, ClusterMessage.OffTotlen) - _rcvlen;
            }
            int n = _tls != null ? _tls.Receive(_socket, _rcvbuf, _rcvlen, want, out var err) : _socket.Receive(_rcvbuf, _rcvlen, want, SocketFlags.None, out err);
            if (err == SocketError.WouldBlock)
            {
                if (_tls != null) SetEvents(); // handshake records of an accepted link may wait for the socket
                return;
            }
            if (err != SocketError.Success || n == 0)
            {
                _cluster.Log.Debug($"I/O error reading from node link: {_tls?.Failure ?? (n == 0 ? "connection closed" : err.ToString())}");
                Free();
                return;
            }
            _rcvlen += n;
            if (_rcvlen >= 8 && _rcvlen == ClusterMessage.U32(_rcvbuf, ClusterMessage.OffTotlen))
            {
                bool valid = _cluster.ProcessPacket(this, _rcvbuf.AsSpan(0, _rcvlen));
                if (!valid || Freed) return;
                if (_rcvbuf.Length > RcvbufInit) _rcvbuf = new byte[RcvbufInit];
                _rcvlen = 0;
            }
        }
    }

    /// <summary>CLUSTERMSG_MIN_LEN: a whole header (the smallest message).</summary>
    const int MinLength = ClusterMessage.HeaderSize;

    /// <summary>The local address of this connection (our IP as the peer sees it).</summary>
    public string? LocalIp => (_socket.LocalEndPoint as IPEndPoint)?.Address is { } a ? (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).ToString() : null;

    /// <summary>The peer's address (for an inbound link's MEET sender).</summary>
    public string? PeerIp => (_socket.RemoteEndPoint as IPEndPoint)?.Address is { } a ? (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).ToString() : null;

    /// <summary>freeClusterLink: the socket closes; the node forgets this link.</summary>
    public void Free()
    {
        if (Freed) return;
        Freed = true;
        if (_token >= 0) _cluster.Loop.Unregister(_socket, _token);
        _token = -1;
        _tls?.Dispose();
        _socket.Dispose();
        if (Node != null)
        {
            if (Node.Link == this) Node.Link = null;
            else if (Node.InboundLink == this) Node.InboundLink = null;
        }
        _cluster.LinkFreed(this);
    }
}
