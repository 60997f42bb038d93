// A replica's connection to its primary before it carries the stream (Redis's connectWithMaster,
// syncWithMaster, slaveTryPartialResynchronization and readSyncBulkPayload): the non-blocking
// connect, the handshake (PING, AUTH, REPLCONF listening-port / ip-address / capa, PSYNC), and
// for a full resync the RDB transfer, in the "$<len>" or the "$EOF:<mark>" form, to a temp file
// (repl-diskless-load disabled) or to memory (on-empty-db, swapdb; the load begins at the "$" line:
// Replication/DisklessLoad.cs). Every step runs on the event
// loop from readable events; replies are read a byte at a time up to their newline, as Redis's
// syncReadLine does, so nothing past a reply is consumed from the socket. The outcome goes to
// ReplicationReplica: a partial resync (+CONTINUE) or a payload to load, with the socket handed
// over to become the master client. With tls-replication the link is a TLS client
// (Networking/TlsConnection.cs in the client role): the TLS handshake runs on the same readable
// events before PING, and every read and write of the handshake, the transfer and the diskless
// load goes through it; the connection, with any plaintext it already decrypted, is what the
// master client gets.
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cinnabar.Replication;

/// <summary>server.repl_state: where the link to the primary stands.</summary>
public enum ReplState
{
    None,
    Connect,
    Connecting,
    ReceivePingReply,
    ReceiveAuthReply,
    ReceivePortReply,
    ReceiveIpReply,
    ReceiveCapaReply,
    ReceivePsyncReply,
    Transfer,
    Connected,
}

internal sealed class MasterLink : Networking.IFileEventHandler
{
    /// <summary>CONFIG_RUN_ID_SIZE: the EOF mark of a diskless transfer is 40 bytes.</summary>
    const int EofMarkLength = 40;

    readonly CinnabarServer _server;
    readonly ReplicationReplica _owner;
    readonly Socket _socket;
    readonly string _host;
    Networking.TlsConnection? _tls;
    int _token = -1;
    bool _closed;
    readonly StringBuilder _line = new();
    bool _sentSyncFallback;

    public ReplState State { get; private set; } = ReplState.Connecting;

    /// <summary>repl_transfer_lastio: ms of the last byte read (the handshake and transfer timeouts).</summary>
    public long LastIoMs;

    /// <summary>From +FULLRESYNC: the primary's replication id and the offset the RDB stands for (-1: SYNC, pre-PSYNC primary).</summary>
    public string MasterReplId = "";
    public long MasterInitialOffset = -1;

    // The transfer: repl_transfer_size (-1 until the $ line is read; 0 with an EOF mark), bytes read.
    public long TransferSize = -1;
    public long TransferRead;
    bool _useMark;
    byte[] _eofMark = [];
    readonly byte[] _lastBytes = new byte[EofMarkLength];
    FileStream? _tempFile;
    string? _tempPath;
    bool _diskless; // repl-diskless-load: the RDB is parsed from the socket as it arrives
    bool _markSeen; // the EOF mark has been read: the diskless transfer is complete
    readonly byte[] _readBuffer = new byte[16 * 1024];
    readonly byte[] _one = new byte[1];

    public MasterLink(CinnabarServer server, ReplicationReplica owner, Socket socket, string host)
    {
        _server = server;
        _owner = owner;
        _socket = socket;
        _host = host;
        LastIoMs = server.NowMs;
    }

    /// <summary>The link's TLS connection (tls-replication), handed over with the socket.</summary>
    public Networking.TlsConnection? Tls => _tls;

    /// <summary>connectWithMaster: resolves and connects without blocking the loop; null (with Redis's log line) when it can't start.</summary>
    public static MasterLink? Connect(CinnabarServer server, ReplicationReplica owner, string host, int port)
    {
        Socket socket;
        IPEndPoint ep;
        try
        {
            var ip = IPAddress.TryParse(host, out var parsed) ? parsed : Dns.GetHostAddresses(host).First();
            ep = new IPEndPoint(ip, port);
            socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        }
        catch (Exception e) when (e is SocketException or ArgumentException or InvalidOperationException)
        {
            server.Log.Warning($"Unable to connect to MASTER: {e.Message}");
            return null;
        }
        var link = new MasterLink(server, owner, socket, host);
        // The connect completes on the thread pool; its outcome runs on the loop.
        socket.ConnectAsync(ep).ContinueWith(t => server.Loop.Post(() => link.Connected(t.Exception?.InnerException)), TaskScheduler.Default);
        return link;
    }

    /// <summary>The non-blocking connect finished: the handshake starts with PING.</summary>
    void Connected(Exception? error)
    {
        if (_closed) return;
        if (error != null)
        {
            _server.Log.Warning($"Error condition on socket for SYNC: {(error as SocketException)?.Message ?? error.Message}");
            _owner.LinkFailed(this, reconnect: false);
            return;
        }
        _socket.Blocking = false;
        LastIoMs = _server.NowMs;
        if (_server.Config.GetBool("tls-replication"))
        {
            // tls-replication set at run time configures TLS on first use (tlsConfigure when enabled).
            var options = _server.Tls.ClientOptions(_host);
            if (options == null && _server.Tls.Configure(_server.Config) is { } tlsError)
            {
                _server.Log.Warning(tlsError);
                _server.Log.Warning("Unable to connect to MASTER: Failed to configure TLS");
                _owner.LinkFailed(this, reconnect: false);
                return;
            }
            _tls = new Networking.TlsConnection(options ?? _server.Tls.ClientOptions(_host)!);
            _token = _server.Loop.Register(_socket, this, Networking.EventMask.Readable);
            // The ClientHello; PING follows once the TLS handshake is done (the connect handler fires then).
            if (!_tls.Flush(_socket))
            {
                _server.Log.Warning("Error condition on socket for SYNC: Connection refused");
                _owner.LinkFailed(this, reconnect: false);
            }
            return;
        }
        _token = _server.Loop.Register(_socket, this, Networking.EventMask.Readable);
        StartHandshake();
    }

    void StartHandshake()
    {
        _server.Log.Notice("Non blocking connect for SYNC fired the event.");
        State = ReplState.ReceivePingReply;
        // An inline PING: the primary may ask for AUTH (-NOAUTH), which still proves it is there.
        Send("PING\r\n");
    }

    /// <summary>The TLS handshake moves on with each readable event; a failure ends the attempt as a failed connect.</summary>
    void AdvanceTlsHandshake()
    {
        var progress = _tls!.AdvanceHandshake(_socket);
        if (progress == Networking.TlsConnection.HandshakeProgress.Done)
        {
            LastIoMs = _server.NowMs;
            StartHandshake();
            return;
        }
        if (progress == Networking.TlsConnection.HandshakeProgress.Failed)
        {
            _server.Log.Warning($"Error condition on socket for SYNC: {_tls.Failure ?? "Connection reset by peer"}");
            _owner.LinkFailed(this, reconnect: false);
        }
    }

    /// <summary>A read from the link: through TLS when the link has it.</summary>
    int Receive(byte[] buffer, int offset, int count, out SocketError err) =>
        _tls != null ? _tls.Receive(_socket, buffer, offset, count, out err) : _socket.Receive(buffer, offset, count, SocketFlags.None, out err);

    bool Send(string command)
    {
        try
        {
            var bytes = Encoding.UTF8.GetBytes(command);
            if (_tls != null)
            {
                _tls.Write(bytes);
                while (true)
                {
                    if (!_tls.Flush(_socket)) throw new SocketException((int)SocketError.ConnectionReset);
                    if (!_tls.HasPendingOutput) return true;
                    Thread.Yield();
                }
            }
            int sent = 0;
            // Handshake commands are a few bytes on a fresh connection: the send buffer takes them whole.
            while (sent < bytes.Length)
            {
                int n = _socket.Send(bytes, sent, bytes.Length - sent, SocketFlags.None, out var err);
                if (err == SocketError.WouldBlock) { Thread.Yield(); continue; }
                if (err != SocketError.Success) throw new SocketException((int)err);
                sent += n;
            }
            return true;
        }
        catch (Exception e) when (e is SocketException or IOException or InvalidOperationException)
        {
            _server.Log.Warning($"Sending command to master in replication handshake: -Writing to master: {e.Message}");
            _owner.LinkFailed(this, reconnect: false);
            return false;
        }
    }

    /// <summary>Inline command from arguments (sendCommand): the handshake's arguments hold no spaces.</summary>
    /// <summary>sendCommandArgv: a multibulk request, so any byte (a NUL in masterauth) passes.</summary>
    static string MultiBulk(params string[] args)
    {
        var sb = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var a in args) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
        return sb.ToString();
    }

    public void OnWritable() { }

    public void OnReadable()
    {
        if (_closed) return;
        if (State == ReplState.Connecting && _tls != null)
        {
            AdvanceTlsHandshake();
            return;
        }
        if (State == ReplState.Transfer && TransferSize != -1)
        {
            ReadPayload();
            return;
        }
        // One reply line, read a byte at a time so nothing after it leaves the socket (or TLS's plaintext).
        var one = _one;
        while (true)
        {
            int n = Receive(one, 0, 1, out var err);
            if (err == SocketError.WouldBlock) return;
            if (err != SocketError.Success || n == 0)
            {
                string why = n == 0 && err == SocketError.Success ? "connection lost" : err.ToString();
                if (State == ReplState.Transfer) _server.Log.Warning($"I/O error reading bulk count from MASTER: {why}");
                else _server.Log.Warning($"Master closed the connection during the replication handshake ({why})");
                _owner.LinkFailed(this, reconnect: State == ReplState.Transfer);
                return;
            }
            _server.Stats.NetReplInputBytes++;
            LastIoMs = _server.NowMs;
            if (one[0] == '\n')
            {
                string line = _line.ToString().TrimEnd('\r');
                _line.Clear();
                OnLine(line);
                if (_closed) return;
                if (State == ReplState.Transfer && TransferSize != -1)
                {
                    // Payload bytes TLS already decrypted get no readable event of their own.
                    if (_tls is { HasBufferedPlaintext: true }) ReadPayload();
                    return;
                }
                continue;
            }
            _line.Append((char)one[0]);
            if (_line.Length > 64 * 1024)
            {
                _server.Log.Warning("Bad protocol from MASTER: reply line too long");
                _owner.LinkFailed(this, reconnect: false);
                return;
            }
        }
    }

    void OnLine(string line)
    {
        switch (State)
        {
            case ReplState.ReceivePingReply:
                // -NOAUTH, -NOPERM and the old "operation not permitted" mean the primary answered.
                if (line.StartsWith('-') && !line.StartsWith("-NOAUTH") && !line.StartsWith("-NOPERM") && !line.StartsWith("-ERR operation not permitted"))
                {
                    _server.Log.Warning($"Error reply to PING from master: '{line}'");
                    _owner.LinkFailed(this, reconnect: false);
                    return;
                }
                _server.Log.Notice("Master replied to PING, replication can continue...");
                SendHandshake();
                return;
            case ReplState.ReceiveAuthReply:
                if (line.StartsWith('-'))
                {
                    _server.Log.Warning($"Unable to AUTH to MASTER: {line}");
                    _owner.LinkFailed(this, reconnect: false);
                    return;
                }
                State = ReplState.ReceivePortReply;
                return;
            case ReplState.ReceivePortReply:
                if (line.StartsWith('-')) _server.Log.Notice($"(Non critical) Master does not understand REPLCONF listening-port: {line}");
                State = _server.Config.GetString("replica-announce-ip").Length > 0 ? ReplState.ReceiveIpReply : ReplState.ReceiveCapaReply;
                return;
            case ReplState.ReceiveIpReply:
                if (line.StartsWith('-')) _server.Log.Notice($"(Non critical) Master does not understand REPLCONF ip-address: {line}");
                State = ReplState.ReceiveCapaReply;
                return;
            case ReplState.ReceiveCapaReply:
                if (line.StartsWith('-')) _server.Log.Notice($"(Non critical) Master does not understand REPLCONF capa: {line}");
                SendPsync();
                return;
            case ReplState.ReceivePsyncReply:
                OnPsyncReply(line);
                return;
            case ReplState.Transfer:
                OnBulkHeader(line);
                return;
        }
    }

    /// <summary>REPL_STATE_SEND_HANDSHAKE: AUTH (masterauth), REPLCONF listening-port, ip-address, capa; pipelined.</summary>
    void SendHandshake()
    {
        var config = _server.Config;
        var sb = new StringBuilder();
        string auth = config.GetString("masterauth"), user = config.GetString("masteruser");
        if (auth.Length > 0) sb.Append(user.Length > 0 ? MultiBulk("AUTH", user, auth) : MultiBulk("AUTH", auth));
        // The port a replica of ours, or a Sentinel, reaches us on: the TLS one when replication uses TLS.
        long announcePort = config.GetLong("replica-announce-port"), tlsPort = config.GetLong("tls-port");
        long port = announcePort != 0 ? announcePort : config.GetBool("tls-replication") && tlsPort != 0 ? tlsPort : _server.Port;
        sb.Append(MultiBulk("REPLCONF", "listening-port", port.ToString()));
        string announceIp = config.GetString("replica-announce-ip");
        if (announceIp.Length > 0) sb.Append(MultiBulk("REPLCONF", "ip-address", announceIp));
        sb.Append(MultiBulk("REPLCONF", "capa", "eof", "capa", "psync2"));
        State = auth.Length > 0 ? ReplState.ReceiveAuthReply : ReplState.ReceivePortReply;
        Send(sb.ToString());
    }

    /// <summary>slaveTryPartialResynchronization's writing half: PSYNC with the cached master's id and next offset, or "? -1".</summary>
    void SendPsync()
    {
        State = ReplState.ReceivePsyncReply;
        var cached = _owner.Cached;
        string replId = "?", offset = "-1";
        if (cached != null)
        {
            (replId, offset) = (cached.ReplId, (cached.ReplOffset + 1).ToString());
            _server.Log.Notice($"Trying a partial resynchronization (request {replId}:{offset}).");
        }
        else _server.Log.Notice("Partial resynchronization not possible (no cached master)");
        // A primary handing over (FAILOVER) asks its target to promote itself first.
        Send(_server.Failover.State == FailoverState.InProgress ? MultiBulk("PSYNC", replId, offset, "FAILOVER") : MultiBulk("PSYNC", replId, offset));
    }

    /// <summary>slaveTryPartialResynchronization's reading half: +FULLRESYNC, +CONTINUE, a retryable error, or no PSYNC at all.</summary>
    void OnPsyncReply(string reply)
    {
        if (reply.Length == 0) return; // a newline keeps the link alive while the primary prepares
        // A FAILOVER in progress ends here: accepted with either resync, aborted otherwise.
        _server.Failover.PsyncAnswered(reply.StartsWith("+FULLRESYNC") || reply.StartsWith("+CONTINUE"));
        if (_closed) return;
        if (reply.StartsWith("+FULLRESYNC"))
        {
            var parts = reply.Split(' ');
            if (parts.Length >= 3 && parts[1].Length == 40 && long.TryParse(parts[2], out long offset))
            {
                MasterReplId = parts[1];
                MasterInitialOffset = offset;
                _server.Log.Notice($"Full resync from master: {MasterReplId}:{offset}");
            }
            else
            {
                _server.Log.Warning("Master replied with wrong +FULLRESYNC syntax.");
                MasterReplId = "";
                MasterInitialOffset = -1;
            }
            StartTransfer();
            return;
        }
        if (reply.StartsWith("+CONTINUE"))
        {
            _server.Log.Notice("Successful partial resynchronization with master.");
            string newId = reply.Length > 10 ? reply[10..].Trim() : "";
            Detach();
            _owner.PartialResyncAccepted(_socket, _tls, newId.Length == 40 ? newId : null);
            return;
        }
        if (reply.StartsWith("-NOMASTERLINK") || reply.StartsWith("-LOADING"))
        {
            _server.Log.Notice($"Master is currently unable to PSYNC but should be in the future: {reply}");
            _owner.LinkFailed(this, reconnect: false);
            return;
        }
        if (reply.StartsWith("-ERR") && !_sentSyncFallback)
        {
            // A primary without PSYNC: SYNC, whose RDB comes without +FULLRESYNC (offset unknown).
            _server.Log.Warning($"Unexpected reply to PSYNC from master: {reply}");
            _server.Log.Notice("Retrying with SYNC...");
            _sentSyncFallback = true;
            MasterInitialOffset = -1;
            if (!Send("SYNC\r\n")) return;
            StartTransfer();
            return;
        }
        _server.Log.Warning($"Unexpected reply to PSYNC from master: {reply}");
        _owner.LinkFailed(this, reconnect: false);
    }

    /// <summary>Prepares to receive the RDB: a temp file for a disk load; a diskless one is parsed from the socket.</summary>
    void StartTransfer()
    {
        if (_owner.UseDisklessLoad())
        {
            _diskless = true;
        }
        else
        {
            _tempPath = Path.Combine(_server.Config.Dir, $"temp-{DateTimeOffset.UtcNow.ToUnixTimeSeconds()}.{Environment.ProcessId}.rdb");
            try
            {
                _tempFile = new FileStream(_tempPath, FileMode.Create, FileAccess.Write, FileShare.Read, 0);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _server.Log.Warning($"Opening the temp file needed for MASTER <-> REPLICA synchronization: {e.Message}");
                _owner.LinkFailed(this, reconnect: false);
                return;
            }
        }
        State = ReplState.Transfer;
        TransferSize = -1;
        TransferRead = 0;
        LastIoMs = _server.NowMs;
    }

    /// <summary>readSyncBulkPayload's first line: "$len", "$EOF:mark", a newline (keepalive) or an error.</summary>
    void OnBulkHeader(string line)
    {
        if (line.Length == 0) return;
        if (line[0] == '-')
        {
            _server.Log.Warning($"MASTER aborted replication with an error: {line[1..]}");
            _owner.LinkFailed(this, reconnect: false);
            return;
        }
        if (line[0] != '$')
        {
            _server.Log.Warning($"Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?");
            _owner.LinkFailed(this, reconnect: false);
            return;
        }
        string target = _diskless ? "to parser" : "to disk";
        if (line.StartsWith("$EOF:") && line.Length >= 5 + EofMarkLength)
        {
            _useMark = true;
            _eofMark = Encoding.ASCII.GetBytes(line.Substring(5, EofMarkLength));
            Array.Clear(_lastBytes);
            TransferSize = 0;
            _server.Log.Notice($"MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {target}");
        }
        else
        {
            if (!long.TryParse(line.AsSpan(1), out long size) || size < 0)
            {
                _server.Log.Warning($"Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), are you sure the host and port are right?");
                _owner.LinkFailed(this, reconnect: false);
                return;
            }
            TransferSize = size;
            _server.Log.Notice($"MASTER <-> REPLICA sync: receiving {size} bytes from master {target}");
        }
        if (_diskless)
        {
            LoadFromSocket();
            return;
        }
        if (!_useMark && TransferSize == 0) PayloadComplete();
    }

    /// <summary>
    /// readSyncBulkPayload's diskless branch: the socket leaves the event loop and the load reads
    /// it as the parser needs bytes (rioConnRead), so the transfer is never held whole; client
    /// events are processed between keys and while waiting for the primary's next bytes.
    /// </summary>
    void LoadFromSocket()
    {
        _owner.BeginDisklessLoad(this, TransferSize);
        Detach();
        var input = new Persistence.RdbInput(ReadForLoad, _server.Config.GetBool("rdbchecksum"));
        _owner.FullSyncPayloadReceived(this, _socket, MasterReplId, MasterInitialOffset, _useMark, path: null, input);
    }

    /// <summary>
    /// rioConnRead: up to count bytes of the transfer (never past an announced length, so the
    /// stream after it stays in the socket), waiting at most repl-timeout for them; 0 when the
    /// link is lost or timed out, which the load reports as a short read.
    /// </summary>
    int ReadForLoad(byte[] buffer, int offset, int count)
    {
        if (!_useMark) count = (int)Math.Min(count, TransferSize - TransferRead);
        if (count <= 0 || _markSeen) return 0;
        long lastIo = Environment.TickCount64;
        while (true)
        {
            int n = Receive(buffer, offset, count, out var err);
            if (err == SocketError.WouldBlock)
            {
                if (Environment.TickCount64 - lastIo > _server.Config.GetLong("repl-timeout") * 1000)
                {
                    _server.Log.Warning("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
                    return 0;
                }
                // The loop serves other clients while the primary is slow (they get -LOADING, or
                // the old dataset with async loading), then waits a little for the socket.
                _server.ProcessEventsWhileBlocked();
                _socket.Poll(10_000, SelectMode.SelectRead);
                continue;
            }
            if (err != SocketError.Success || n == 0) return 0; // the load logs the short read, as Redis's rdbLoad does
            _server.Stats.NetReplInputBytes += n;
            TransferRead += n;
            LastIoMs = _server.NowMs;
            // The primary sends nothing after the mark until our first ACK: the transfer ends here.
            if (_useMark) _markSeen = RememberLastBytes(buffer.AsSpan(offset, n));
            return n;
        }
    }

    /// <summary>
    /// After a diskless load with an EOF mark: the 40 bytes after the RDB (some may already be
    /// in leftover, read past the RDB's end) must be the mark the "$EOF:" line announced.
    /// </summary>
    public bool ReadEofMark(ReadOnlySpan<byte> leftover)
    {
        var mark = new byte[EofMarkLength];
        int have = Math.Min(leftover.Length, EofMarkLength);
        leftover[..have].CopyTo(mark);
        while (have < EofMarkLength)
        {
            int n = ReadForLoad(mark, have, EofMarkLength - have);
            if (n == 0) break;
            have += n;
        }
        if (have == EofMarkLength && leftover.Length <= EofMarkLength && mark.AsSpan().SequenceEqual(_eofMark)) return true;
        _server.Log.Warning("Replication stream EOF marker is broken");
        return false;
    }

    /// <summary>readSyncBulkPayload's data part: exactly the announced bytes (or up to the EOF mark), then the load.</summary>
    void ReadPayload()
    {
        while (!_closed)
        {
            int want = _readBuffer.Length;
            if (!_useMark) want = (int)Math.Min(want, TransferSize - TransferRead);
            int n = Receive(_readBuffer, 0, want, out var err);
            if (err == SocketError.WouldBlock) return;
            if (err != SocketError.Success || n == 0)
            {
                _server.Log.Warning($"I/O error trying to sync with MASTER: {(n == 0 && err == SocketError.Success ? "connection lost" : err.ToString())}");
                _owner.LinkFailed(this, reconnect: true);
                return;
            }
            _server.Stats.NetReplInputBytes += n;
            LastIoMs = _server.NowMs;
            var data = _readBuffer.AsSpan(0, n);
            bool eof = _useMark && RememberLastBytes(data);
            try
            {
                _tempFile!.Write(data);
            }
            catch (IOException e)
            {
                _server.Log.Warning($"Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {e.Message}");
                _owner.LinkFailed(this, reconnect: false);
                return;
            }
            TransferRead += n;
            if (!_useMark && TransferRead == TransferSize) eof = true;
            if (eof)
            {
                PayloadComplete();
                return;
            }
        }
    }

    /// <summary>Keeps the transfer's last 40 bytes; true when they are the EOF mark.</summary>
    bool RememberLastBytes(ReadOnlySpan<byte> data)
    {
        if (data.Length >= EofMarkLength) data[^EofMarkLength..].CopyTo(_lastBytes);
        else
        {
            Buffer.BlockCopy(_lastBytes, data.Length, _lastBytes, 0, EofMarkLength - data.Length);
            data.CopyTo(_lastBytes.AsSpan(EofMarkLength - data.Length));
        }
        return _lastBytes.AsSpan().SequenceEqual(_eofMark);
    }

    /// <summary>The whole RDB is on disk (the EOF mark removed): the socket is handed over and the file loaded.</summary>
    void PayloadComplete()
    {
        string path;
        try
        {
            if (_useMark) _tempFile!.SetLength(TransferRead - EofMarkLength);
            _tempFile!.Flush(flushToDisk: true);
            _tempFile.Dispose();
            _tempFile = null;
            path = Persistence.RdbFile.PathOf(_server);
            File.Move(_tempPath!, path, overwrite: true);
            _tempPath = null;
        }
        catch (IOException e)
        {
            _server.Log.Warning($"Failed trying to rename the temp DB into {_server.Config.GetString("dbfilename")} in MASTER <-> REPLICA synchronization: {e.Message}");
            _owner.LinkFailed(this, reconnect: true);
            return;
        }
        Detach();
        _owner.FullSyncPayloadReceived(this, _socket, MasterReplId, MasterInitialOffset, _useMark, path, streamed: null);
    }

    /// <summary>The socket leaves this handler (it becomes the master client's, or is closed by Close).</summary>
    void Detach()
    {
        _closed = true;
        if (_token >= 0)
        {
            _server.Loop.Unregister(_socket, _token);
            _token = -1;
        }
    }

    /// <summary>cancelReplicationHandshake / replicationAbortSyncTransfer: the socket closes and a partial temp file goes.</summary>
    public void Close()
    {
        Detach();
        _tls?.Dispose();
        _socket.Dispose();
        _tempFile?.Dispose();
        _tempFile = null;
        if (_tempPath != null)
        {
            try { File.Delete(_tempPath); }
            catch (IOException) { }
            _tempPath = null;
        }
    }
}
