// MIGRATE's connection cache (cluster.c's migrateCachedSocket, migrateGetSocket,
// migrateCloseSocket, migrateCloseTimedoutSockets) and the synchronous I/O done on those
// connections (syncio.c's syncWrite / syncReadLine). One connection per "host:port", at most 64,
// a random one closed to make room, each closed by serverCron after 10 s unused; each remembers
// the db it last selected so a MIGRATE to the same db sends no SELECT. The I/O blocks the loop
// with MIGRATE's timeout, as Redis's does: non-blocking sockets waited on with poll, the write
// timeout per 64 KB chunk and the read timeout per wait for more bytes. Under tls-cluster the
// connection is TLS (migrateGetSocket's connCreateTLS): the handshake is waited for within the
// timeout too, and the same waits drive TlsConnection's reads and writes.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Cinnabar.Protocol;

namespace Cinnabar.Networking;

public sealed class MigrateSocketCache
{
    /// <summary>MIGRATE_SOCKET_CACHE_ITEMS: the most connections kept.</summary>
    public const int MaxItems = 64;

    /// <summary>MIGRATE_SOCKET_CACHE_TTL: a connection unused for longer than this (seconds) is closed.</summary>
    public const int TtlSeconds = 10;

    readonly Dictionary<string, MigrateConnection> _sockets = new(StringComparer.Ordinal);

    /// <summary>INFO's migrate_cached_sockets.</summary>
    public int Count => _sockets.Count;

    /// <summary>
    /// migrateGetSocket: the cached connection to name ("host:port" as given), or a new one. Null
    /// when it cannot be created (the host does not resolve, the connect fails at once). As in 7.0,
    /// a connect still pending after the timeout is kept: the first write then fails.
    /// </summary>
    public MigrateConnection? Get(string name, string host, int port, long timeoutMs, long unixTime, SslClientAuthenticationOptions? tls = null)
    {
        if (_sockets.TryGetValue(name, out var cs))
        {
            cs.LastUseTime = unixTime;
            return cs;
        }
        if (_sockets.Count == MaxItems)
        {
            // Too many: one is dropped at random (dictGetRandomKey).
            var victim = _sockets.ElementAt(Random.Shared.Next(_sockets.Count));
            victim.Value.Dispose();
            _sockets.Remove(victim.Key);
        }
        var socket = MigrateConnection.Connect(host, port, timeoutMs);
        if (socket == null) return null;
        cs = new MigrateConnection(socket) { LastUseTime = unixTime };
        if (tls != null && !cs.Handshake(tls, timeoutMs))
        {
            cs.Dispose();
            return null;
        }
        _sockets.Add(name, cs);
        return cs;
    }

    /// <summary>migrateCloseSocket: after an I/O error the next MIGRATE connects afresh (and selects its db again).</summary>
    public void Close(string name)
    {
        if (!_sockets.Remove(name, out var cs)) return;
        cs.Dispose();
    }

    /// <summary>migrateCloseTimedoutSockets, from serverCron once a second.</summary>
    public void CloseTimedOut(long unixTime)
    {
        List<string>? expired = null;
        foreach (var (name, cs) in _sockets)
            if (unixTime - cs.LastUseTime > TtlSeconds) (expired ??= []).Add(name);
        if (expired == null) return;
        foreach (var name in expired) Close(name);
    }

    /// <summary>The server stops: every cached connection closes.</summary>
    public void CloseAll()
    {
        foreach (var cs in _sockets.Values) cs.Dispose();
        _sockets.Clear();
    }
}

/// <summary>One cached MIGRATE connection (migrateCachedSocket) with Redis's synchronous write and reply read.</summary>
public sealed class MigrateConnection : IDisposable
{
    /// <summary>SYNCIO__RESOLUTION: the shortest wait between two attempts, in ms.</summary>
    const long Resolution = 10;

    readonly Socket _socket;
    TlsConnection? _tls;
    readonly RespReplyReader _reader = new();
    readonly byte[] _in = new byte[16 * 1024];
    int _inStart, _inEnd;

    /// <summary>The db the last successful MIGRATE selected; -1 forces a SELECT.</summary>
    public long LastDbId = -1;

    /// <summary>Unix seconds of the last use, for the idle close.</summary>
    public long LastUseTime;

    /// <summary>The last failed write or read ran out of time (errno == ETIMEDOUT): MIGRATE then does not retry.</summary>
    public bool TimedOut { get; private set; }

    internal MigrateConnection(Socket socket) => _socket = socket;

    /// <summary>
    /// connBlockingConnect of 7.0: a non-blocking connect to the first address that accepts one,
    /// then a wait of up to timeoutMs for it to complete; null when none could be started.
    /// </summary>
    internal static Socket? Connect(string host, int port, long timeoutMs)
    {
        // atoi gave the port; getaddrinfo refuses a negative service and keeps 16 bits of a larger one.
        if (port < 0 || host.Length == 0) return null;
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(host, out var ip) ? [ip] : Dns.GetHostAddresses(host);
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            return null;
        }
        foreach (var ip in addresses)
        {
            var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
            try
            {
                socket.Connect(new IPEndPoint(ip, port & 0xFFFF));
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                // In progress: the wait below, as anetTcpNonBlockConnect's EINPROGRESS.
            }
            catch (SocketException)
            {
                socket.Dispose();
                continue;
            }
            socket.NoDelay = true;
            // 7.0 ignores the outcome of this wait: a refused or still pending connect shows at the first write.
            Wait(socket, SelectMode.SelectWrite, timeoutMs);
            return socket;
        }
        return null;
    }

    /// <summary>The TLS handshake of a tls-cluster MIGRATE connection, within timeoutMs; false when it fails or runs out of time.</summary>
    internal bool Handshake(SslClientAuthenticationOptions options, long timeoutMs)
    {
        var tls = _tls = new TlsConnection(options);
        long start = NowMs();
        while (true)
        {
            if (!tls.Flush(_socket)) return false;
            var progress = tls.AdvanceHandshake(_socket);
            if (progress == TlsConnection.HandshakeProgress.Failed) return false;
            if (progress == TlsConnection.HandshakeProgress.Done) return tls.Flush(_socket);
            long elapsed = NowMs() - start;
            if (elapsed >= timeoutMs) return false;
            Wait(_socket, tls.HasPendingOutput ? SelectMode.SelectWrite : SelectMode.SelectRead, Math.Max(timeoutMs - elapsed, Resolution));
        }
    }

    /// <summary>syncWrite: all of data within timeoutMs, trying before waiting; false on an error or the timeout (TimedOut).</summary>
    public bool SyncWrite(ReadOnlySpan<byte> data, long timeoutMs)
    {
        if (_tls != null) return SyncWriteTls(_tls, data, timeoutMs);
        long start = NowMs();
        long remaining = timeoutMs;
        while (true)
        {
            int n = _socket.Send(data, SocketFlags.None, out var error);
            if (error == SocketError.Success) data = data[n..];
            else if (error != SocketError.WouldBlock) return Failed(timedOut: false);
            if (data.IsEmpty) return true;
            Wait(_socket, SelectMode.SelectWrite, Math.Max(remaining, Resolution));
            long elapsed = NowMs() - start;
            if (elapsed >= timeoutMs) return Failed(timedOut: true);
            remaining = timeoutMs - elapsed;
        }
    }

    /// <summary>syncWrite over TLS: the data is encrypted at once, then the ciphertext sent within timeoutMs.</summary>
    bool SyncWriteTls(TlsConnection tls, ReadOnlySpan<byte> data, long timeoutMs)
    {
        try
        {
            tls.Write(data);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            return Failed(timedOut: false);
        }
        long start = NowMs();
        while (true)
        {
            if (!tls.Flush(_socket)) return Failed(timedOut: false);
            if (!tls.HasPendingOutput) return true;
            long elapsed = NowMs() - start;
            if (elapsed >= timeoutMs) return Failed(timedOut: true);
            Wait(_socket, SelectMode.SelectWrite, Math.Max(timeoutMs - elapsed, Resolution));
        }
    }

    /// <summary>
    /// The next reply of the target (where syncReadLine reads a line), waiting up to timeoutMs for
    /// each read of more bytes; null on an error, the connection closed, a reply that is not RESP,
    /// or the timeout (TimedOut).
    /// </summary>
    public RespReply? ReadReply(long timeoutMs)
    {
        while (true)
        {
            if (_inStart < _inEnd)
            {
                var status = _reader.Read(_in.AsSpan(_inStart, _inEnd - _inStart), out int used, out _);
                _inStart += used;
                if (status == ReplyStatus.Reply) return _reader.Reply;
                if (status == ReplyStatus.Error)
                {
                    Failed(timedOut: false);
                    return null;
                }
            }
            _inStart = _inEnd = 0;
            if (!Fill(timeoutMs)) return null;
        }
    }

    /// <summary>syncRead: some bytes into the input buffer, trying before waiting.</summary>
    bool Fill(long timeoutMs)
    {
        long start = NowMs();
        long remaining = timeoutMs;
        while (true)
        {
            int n = _tls != null ? _tls.Receive(_socket, _in, 0, _in.Length, out var error) : _socket.Receive(_in, SocketFlags.None, out error);
            if (error == SocketError.Success)
            {
                if (n == 0) return Failed(timedOut: false); // closed by the target
                _inEnd = n;
                return true;
            }
            if (error != SocketError.WouldBlock) return Failed(timedOut: false);
            Wait(_socket, SelectMode.SelectRead, Math.Max(remaining, Resolution));
            long elapsed = NowMs() - start;
            if (elapsed >= timeoutMs) return Failed(timedOut: true);
            remaining = timeoutMs - elapsed;
        }
    }

    bool Failed(bool timedOut)
    {
        TimedOut = timedOut;
        return false;
    }

    /// <summary>aeWait: poll for one event, up to ms (longer waits than poll takes at once are split).</summary>
    static void Wait(Socket socket, SelectMode mode, long ms)
    {
        const long MaxPollMs = int.MaxValue / 1000;
        try
        {
            while (ms > MaxPollMs)
            {
                if (socket.Poll((int)(MaxPollMs * 1000), mode)) return;
                ms -= MaxPollMs;
            }
            socket.Poll((int)(ms * 1000), mode);
        }
        catch (SocketException)
        {
            // An error shows in the send or receive that follows.
        }
    }

    static long NowMs() => Environment.TickCount64;

    public void Dispose()
    {
        _tls?.Dispose();
        _socket.Dispose();
    }
}
