// A client connection this server opens to another server, driven by the event loop (what
// hiredis's async context is to Redis's Sentinel): a non-blocking connect, commands written as
// multibulk requests and queued while the connect is in progress, replies parsed incrementally
// by RespReplyReader and handed, in order, to the callback each command was sent with. After a
// SUBSCRIBE every further reply (the subscribe confirmation, then each message) goes to the
// SUBSCRIBE's callback, as hiredis does for a context in subscribe mode. A connect failure, an
// I/O error, EOF, a protocol error or an error reply nothing waits for (a refused SUBSCRIBE)
// closes the connection once and reports why. With TLS options (Sentinel's links when
// tls-replication is set, as instanceLinkNegotiateTLS) the connection is a TLS client
// (TlsConnection in the client role): queued commands wait for the TLS handshake, then are
// encrypted into its outbox, and replies are parsed from the plaintext it decrypts.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Protocol;

namespace Cinnabar.Networking;

public sealed class OutboundConnection : IFileEventHandler
{
    readonly EventLoop _loop;
    readonly Socket _socket;
    readonly SslClientAuthenticationOptions? _tlsOptions;
    TlsConnection? _tls;
    int _token = -1;
    EventMask _mask;
    bool _connected;
    readonly RespReplyReader _reader = new();
    readonly byte[] _readBuffer = new byte[16 * 1024];

    // Bytes of the requests not yet written; _outStart is where the unsent part begins.
    byte[] _out = new byte[1024];
    int _outStart, _outEnd;

    readonly Queue<(Action<RespReply>? Callback, bool Subscribe)> _callbacks = new();
    Action<RespReply>? _subscriber;

    /// <summary>Called once, on the loop, when the connection is lost or could not be made, with the reason.</summary>
    public Action<string>? Disconnected;

    public bool Closed { get; private set; }

    /// <summary>The address this side of the connection uses (the IP a Sentinel announces), once connected.</summary>
    public IPEndPoint? LocalEndPoint => _connected && !Closed ? _socket.LocalEndPoint as IPEndPoint : null;

    OutboundConnection(EventLoop loop, Socket socket, SslClientAuthenticationOptions? tls)
    {
        _loop = loop;
        _socket = socket;
        _tlsOptions = tls;
    }

    /// <summary>
    /// redisAsyncConnect: starts connecting to ip:port (over TLS with tls options); commands may
    /// be sent right away and wait for the connect.
    /// </summary>
    public static OutboundConnection Connect(EventLoop loop, IPAddress ip, int port, SslClientAuthenticationOptions? tls = null)
    {
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var conn = new OutboundConnection(loop, socket, tls);
        // The connect completes on the thread pool; its outcome runs on the loop.
        socket.ConnectAsync(new IPEndPoint(ip, port)).ContinueWith(
            t => loop.Post(() => conn.OnConnected(t.Exception?.InnerException)), TaskScheduler.Default);
        return conn;
    }

    void OnConnected(Exception? error)
    {
        if (Closed) return;
        if (error != null)
        {
            Fail((error as SocketException)?.Message ?? error.Message);
            return;
        }
        _socket.Blocking = false;
        _mask = EventMask.Readable;
        _token = _loop.Register(_socket, this, _mask);
        if (_tlsOptions != null)
        {
            // The ClientHello goes now; the queued commands once the handshake is done.
            _tls = new TlsConnection(_tlsOptions);
            if (!_tls.Flush(_socket)) Fail("Connection reset by peer");
            return;
        }
        _connected = true;
        Flush();
    }

    /// <summary>The TLS handshake moves on with each readable event; once done the connection is up.</summary>
    void AdvanceTlsHandshake()
    {
        _tls!.Receive(_socket, _readBuffer, 0, 0, out var err);
        if (_tls.HandshakeDone && _tls.Failure == null)
        {
            _connected = true;
            Flush();
            return;
        }
        if (_tls.Failure != null || err != SocketError.WouldBlock) Fail(_tls.Failure ?? "Server closed the connection");
    }

    /// <summary>redisAsyncCommand: sends argv as a multibulk request; callback (null: discard) gets its reply.</summary>
    public void Command(Action<RespReply>? callback, params string[] argv)
    {
        if (Closed) return;
        Append(argv);
        _callbacks.Enqueue((callback, false));
        if (_connected) Flush();
    }

    /// <summary>Sends SUBSCRIBE (or its renamed form): every reply from its confirmation on goes to handler.</summary>
    public void Subscribe(Action<RespReply> handler, params string[] argv)
    {
        if (Closed) return;
        Append(argv);
        _callbacks.Enqueue((handler, true));
        if (_connected) Flush();
    }

    void Append(string[] argv)
    {
        var sb = new StringBuilder().Append('*').Append(argv.Length).Append("\r\n");
        foreach (var a in argv) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        string request = sb.ToString();
        int n = Encoding.UTF8.GetByteCount(request);
        if (_outEnd + n > _out.Length)
        {
            int pending = _outEnd - _outStart;
            var bigger = pending + n > _out.Length ? new byte[Math.Max(_out.Length * 2, pending + n)] : _out;
            Buffer.BlockCopy(_out, _outStart, bigger, 0, pending);
            _out = bigger;
            _outStart = 0;
            _outEnd = pending;
        }
        _outEnd += Encoding.UTF8.GetBytes(request, 0, request.Length, _out, _outEnd);
    }

    void Flush()
    {
        if (_tls != null)
        {
            // Requests are small: all of them are encrypted, and the outbox goes as far as the socket takes it.
            try
            {
                if (_outStart < _outEnd) _tls.Write(_out.AsSpan(_outStart, _outEnd - _outStart));
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
            {
                Fail(e.Message);
                return;
            }
            _outStart = _outEnd = 0;
            if (!_tls.Flush(_socket))
            {
                Fail("Connection reset by peer");
                return;
            }
        }
        while (_outStart < _outEnd)
        {
            int n = _socket.Send(_out, _outStart, _outEnd - _outStart, SocketFlags.None, out var err);
            if (err == SocketError.WouldBlock) break;
            if (err != SocketError.Success)
            {
                Fail(new SocketException((int)err).Message);
                return;
            }
            _outStart += n;
        }
        if (_outStart == _outEnd) _outStart = _outEnd = 0;
        var want = _outStart < _outEnd || (_tls?.HasPendingOutput ?? false) ? EventMask.Readable | EventMask.Writable : EventMask.Readable;
        if (want != _mask)
        {
            _mask = want;
            _loop.Modify(_socket, _token, want);
        }
    }

    public void OnWritable()
    {
        if (Closed) return;
        if (_connected) Flush();
        else if (_tls != null && !_tls.Flush(_socket)) Fail("Connection reset by peer");
    }

    public void OnReadable()
    {
        if (Closed) return;
        if (_tls != null && !_connected)
        {
            AdvanceTlsHandshake();
            if (!_connected) return;
        }
        while (!Closed)
        {
            int n = _tls != null ? _tls.Receive(_socket, _readBuffer, 0, _readBuffer.Length, out var err)
                : _socket.Receive(_readBuffer, 0, _readBuffer.Length, SocketFlags.None, out err);
            if (err == SocketError.WouldBlock) return;
            if (err != SocketError.Success || n == 0)
            {
                if (_tls?.Failure is { } failure) Fail(failure);
                else Fail(n == 0 && err == SocketError.Success || _tls != null ? "Server closed the connection" : new SocketException((int)err).Message);
                return;
            }
            var input = new ReadOnlySpan<byte>(_readBuffer, 0, n);
            while (!Closed && input.Length > 0)
            {
                var status = _reader.Read(input, out int used, out _);
                input = input[used..];
                if (status == ReplyStatus.Error)
                {
                    Fail("Protocol error: " + _reader.Error);
                    return;
                }
                if (status != ReplyStatus.Reply) break;
                Deliver(_reader.Reply!);
            }
            // TLS may hold more decrypted bytes than the buffer took: no readable event would announce them.
            if (n < _readBuffer.Length && !(_tls?.HasBufferedPlaintext ?? false)) return;
        }
    }

    void Deliver(RespReply reply)
    {
        if (_subscriber != null)
        {
            _subscriber(reply);
            return;
        }
        // An error nothing waits for (the SUBSCRIBE's refusal, "max clients reached") ends the
        // connection, as hiredis does: a Pub/Sub link that cannot subscribe is useless.
        if (!_callbacks.TryDequeue(out var cb) || (cb.Subscribe && reply.IsError))
        {
            if (reply.IsError) Fail(reply.Text);
            return;
        }
        if (cb.Subscribe) _subscriber = cb.Callback;
        cb.Callback?.Invoke(reply);
    }

    void Fail(string why)
    {
        if (Closed) return;
        Close();
        Disconnected?.Invoke(why);
    }

    /// <summary>redisAsyncFree: closes without reporting; pending callbacks are dropped.</summary>
    public void Close()
    {
        if (Closed) return;
        Closed = true;
        _callbacks.Clear();
        _subscriber = null;
        if (_token >= 0) _loop.Unregister(_socket, _token);
        _token = -1;
        _tls?.Dispose();
        _socket.Dispose();
    }
}
