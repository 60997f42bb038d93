// A connected client (Redis's client struct, networking.c): its socket, query buffer and
// parser state, reply buffer, selected database, protocol version and flags. Reads append to
// the query buffer and every complete command is executed in order; replies accumulate and
// are written once per loop iteration in beforeSleep, with the writable handler installed
// only after a short write. A client with no unparsed bytes owns no query buffer: it reads
// into the loop's shared one (as Redis 7.4's reusable query buffer) and only bytes left over
// after processing (a partial command, a blocked or paused client's next commands) move into
// a private buffer, which clientsCron takes back once the client has been idle for a while.
// The buffer's capacity is kept in a memory counter (the server's while the client is linked)
// wherever the buffer changes, so used_memory never walks the clients. A big argument (32 KiB or
// more, Redis's PROTO_MBULK_BIG_ARG) gets a buffer sized to hold exactly its command, not a
// doubled one. What the client holds in Redis's terms is counted after each command and each
// read and write, for client eviction (Networking/ClientEviction.cs).
using System.Net;
using System.Net.Sockets;
using Cinnabar.Keyspace;
using Cinnabar.Protocol;
using Cinnabar.PubSub;
using Cinnabar.Tracking;
using Cinnabar.Transactions;

namespace Cinnabar.Networking;

[Flags]
public enum ClientFlags
{
    None = 0,
    CloseAfterReply = 1 << 0,
    CloseAsap = 1 << 1,
    Multi = 1 << 2,
    DirtyCas = 1 << 3,
    DirtyExec = 1 << 4,
    Blocked = 1 << 5,
    PubSub = 1 << 6,
    Monitor = 1 << 7,
    Master = 1 << 8,
    Replica = 1 << 9,
    Tracking = 1 << 10,
    NoEvict = 1 << 11,
    ReplyOff = 1 << 12,
    ReplySkipNext = 1 << 13,
    ReplySkip = 1 << 14,
    PendingWrite = 1 << 15,
    Unblocked = 1 << 16,
    Fake = 1 << 17,
    NoTouch = 1 << 18,
    Script = 1 << 19,
    ProtectedClosed = 1 << 20,
}

public sealed class Client : IFileEventHandler
{
    const int InitialQueryBuffer = 16 * 1024;

    public readonly long Id;
    public readonly CinnabarServer Server;
    public readonly Socket? Socket;
    /// <summary>Set for a connection accepted on tls-port: its bytes go through TLS (Networking/TlsConnection.cs).</summary>
    public TlsConnection? Tls;
    internal int Token = -1;

    /// <summary>Its place in ClientManager's cron ring (-1 when not linked).</summary>
    internal int CronSlot = -1;
    internal bool WriteHandlerInstalled;

    /// <summary>Set by FreeClient: a handler that freed its own client stops the batch (cheaper than a dictionary probe per command).</summary>
    internal bool Freed;

    /// <summary>mustObeyClient: the primary's link or the AOF loader, whose commands were already checked where they first ran.</summary>
    public bool MustObey => HasFlag(ClientFlags.Master) || (HasFlag(ClientFlags.Fake) && !HasFlag(ClientFlags.Script));

    public string? Name;
    public string? LibName;
    public string? LibVersion;
    public ClientFlags Flags;

    /// <summary>CLIENT_ASKING: the next command may use a slot being imported (cleared after it, unless in MULTI).</summary>
    public bool Asking;

    /// <summary>CLIENT_READONLY (READONLY): a cluster replica serves this client's reads of its master's slots.</summary>
    public bool ReadOnlyCluster;

    /// <summary>c->slot: the slot of the current command's keys in a cluster (-1: none), which its script's keys must match.</summary>
    public int Slot = -1;
    public Database Db;
    public bool Authenticated;
    /// <summary>The ACL user (null: unrestricted, as the primary's and the AOF's clients).</summary>
    public Security.AclUser? User;

    public readonly ReplyBuffer Output = new();
    public readonly ReplyWriter Reply;
    public readonly RespParser Parser = new();

    /// <summary>The argument vector of the command being executed.</summary>
    public CommandArgs Args;

    /// <summary>The command being executed and the last one executed (CLIENT LIST cmd=).</summary>
    public Commands.CommandDef? Cmd, LastCmd;

    byte[]? _query;    // null (nothing pending), the shared buffer while a read is processed, or _ownQuery
    byte[]? _ownQuery; // where bytes left between reads wait; kept while the client is busy
    int _qpos, _qend;
    public long QueryBufferPeak;
    MemoryCounter _queryMemory = new(); // where QueryBufferCapacity is counted: a private total until the client is linked
    int _queryAccounted;
    int _recentQueryPeak; // the largest pending request since the last clientsCron (querybuf_peak)

    /// <summary>c->woff: the replication offset right after this client's last propagated write (WAIT waits for it).</summary>
    public long WriteOffset;

    public readonly long CreatedMs;
    public long LastInteractionMs;
    public long OutputSoftLimitReachedMs;

    // updateClientMemUsage's state (Networking/ClientEviction.cs): the usage last counted, its
    // type, and the memory usage bucket the client is linked in (-1: none) with its neighbours.
    internal long LastMemoryUsage;
    internal int LastMemoryType;
    internal int MemBucket = -1;
    internal Client? MemPrev, MemNext;

    /// <summary>
    /// addr and laddr, formatted on first use and kept (Redis's cached peer id): most clients
    /// never need them, and at a connection storm the lookups and strings would cost more than
    /// the rest of the accept.
    /// </summary>
    public string RemoteAddress => _remoteAddress ??= FormatEndpoint(remote: true);
    public string LocalAddress => _localAddress ??= FormatEndpoint(remote: false);
    string? _remoteAddress, _localAddress;

    // The state other mechanisms keep per client (Redis's c->mstate and c->watched_keys,
    // c->bpop, c->pubsub_*, the client_tracking_* fields): created on first use by the
    // mechanism that owns it, null for a client that never used it.
    public MultiState? MultiState;
    public BlockState? BlockState;
    public ClientPubSub? PubSubState;
    public ClientTracking? TrackingState;
    public Replication.ReplicaState? ReplicaState;

    public Client(long id, CinnabarServer server, Socket? socket)
    {
        Id = id;
        Server = server;
        Socket = socket;
        Reply = new ReplyWriter(Output);
        Args = Parser.Args;
        Db = server.Databases[0];
        CreatedMs = server.NowMs;
        LastInteractionMs = CreatedMs;
        if (socket == null) _remoteAddress = _localAddress = "";
        else if (socket.AddressFamily == AddressFamily.Unix)
        {
            // A Unix socket client: addr is the socket's path with port 0, as Redis formats it.
            _remoteAddress = _localAddress = server.Config.GetString("unixsocket") + ":0";
            IsUnixSocket = true;
        }
    }

    /// <summary>anetFormatAddr of the peer or the local end; "?:0" once the socket is gone, as Redis's failed lookup.</summary>
    string FormatEndpoint(bool remote)
    {
        IPEndPoint? ep;
        try
        {
            ep = (remote ? Socket?.RemoteEndPoint : Socket?.LocalEndPoint) as IPEndPoint;
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
            ep = null;
        }
        if (ep == null) return "?:0";
        var addr = ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address;
        return addr.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{addr}]:{ep.Port}" : $"{addr}:{ep.Port}";
    }

    public bool HasFlag(ClientFlags f) => (Flags & f) != 0;

    /// <summary>CLIENT_UNIX_SOCKET: connected through the unixsocket listener (CLIENT LIST flag U).</summary>
    public bool IsUnixSocket { get; }

    /// <summary>Connected over loopback or the Unix socket (enable-debug-command local, protected mode).</summary>
    public bool IsLocal => IsUnixSocket || (Socket?.RemoteEndPoint is IPEndPoint ep && IPAddress.IsLoopback(ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address));

    public int QueryBufferLength => _qend - _qpos;
    public int QueryBufferCapacity => (_query ?? _ownQuery)?.Length ?? 0;

    /// <summary>The client's own query buffer (the shared one it may be reading into is the server's): what its query buffer costs.</summary>
    public int OwnQueryBufferBytes => _ownQuery?.Length ?? 0;

    /// <summary>PROTO_MBULK_BIG_ARG: an argument this long gets a query buffer sized for it.</summary>
    const int BigArgument = 32 * 1024;

    /// <summary>Where the bulk being read ends (its CRLF included) when it is a big argument, else -1.</summary>
    int BigArgumentEnd()
    {
        long len = Parser.PendingBulkLength;
        return len >= BigArgument ? (int)Math.Min(_qpos + len + 2, Array.MaxLength) : -1;
    }

    /// <summary>After the query buffer changed (adopted, grown, moved, released): the counter follows its capacity.</summary>
    void AccountQueryBuffer()
    {
        int capacity = QueryBufferCapacity;
        _queryMemory.Bytes += capacity - _queryAccounted;
        _queryAccounted = capacity;
    }

    /// <summary>
    /// The client's buffers count in the server's totals from now on (it is linked): the query
    /// buffer in clients, the reply list in output (the replica total for a replica).
    /// </summary>
    internal void CountMemoryIn(MemoryCounter clients, MemoryCounter output)
    {
        _queryMemory.Bytes -= _queryAccounted;
        clients.Bytes += _queryAccounted;
        _queryMemory = clients;
        Output.CountMemoryIn(output);
    }

    /// <summary>An unlinked client's buffers no longer count toward used memory.</summary>
    internal void StopCountingMemory() => CountMemoryIn(new MemoryCounter(), new MemoryCounter());

    bool UsesSharedQueryBuffer => ReferenceEquals(_query, Server.Clients.SharedQueryBuffer);

    public void OnReadable()
    {
        if (Socket == null) return;
        // A client whose script is running (busy, the loop serving others meanwhile) reads
        // nothing until it ends: its next commands wait in the socket (Redis's protectClient).
        if (ReferenceEquals(Server.Lua.Running?.Caller, this)) return;
        if (HasFlag(ClientFlags.CloseAfterReply | ClientFlags.CloseAsap))
        {
            // Level-triggered epoll would report the unread bytes forever: stop watching reads.
            Server.Loop.Modify(Socket, Token, WriteHandlerInstalled ? EventMask.Writable : EventMask.None);
            return;
        }
        try
        {
            ReadQueryFromSocket(Socket);
            // TLS may hold decrypted bytes the query buffer had no room for: no readable event would
            // announce them. (Each read picks its buffer again: the last one's processing may have
            // let the client's own buffer go.)
            while (Tls is { HasBufferedPlaintext: true } && !Freed && !HasFlag(ClientFlags.CloseAfterReply | ClientFlags.CloseAsap))
                ReadQueryFromSocket(Socket);
        }
        finally
        {
            if (UsesSharedQueryBuffer) ReleaseSharedQueryBuffer();
        }
    }

    /// <summary>
    /// The buffer the next read goes into: the shared one when the client holds none, or when its
    /// own holds only a few leftover bytes (the tail of a pipeline split by the last read), which go
    /// in front of the read so a batch larger than 16 KiB still arrives in one read, as Redis reads
    /// into its query buffer's whole allocation.
    /// </summary>
    void PickQueryBuffer()
    {
        var shared = Server.Clients.SharedQueryBuffer;
        if (_query == null)
        {
            _query = shared;
            _qpos = _qend = 0;
        }
        else if (!ReferenceEquals(_query, shared) && _qend - PendingStart <= shared.Length / 4) MoveQuery(shared, PendingStart);
        AccountQueryBuffer();
    }

    void ReadQueryFromSocket(Socket socket)
    {
        PickQueryBuffer();
        if (!MakeRoomFor(1))
        {
            // One contiguous request can't grow past the largest .NET array (about 2 GB).
            Server.Log.Warning($"Closing client whose request does not fit in a query buffer: {Describe()}");
            Server.Clients.FreeClient(this);
            return;
        }
        var query = _query!;
        SocketError err;
        int n = Tls != null ? Tls.Receive(socket, query, _qend, query.Length - _qend, out err) : socket.Receive(query, _qend, query.Length - _qend, SocketFlags.None, out err);
        if (Tls is { HasPendingOutput: true }) Server.Clients.QueueReplyWrite(this); // handshake records still to send
        if (err == SocketError.WouldBlock) return;
        if (err != SocketError.Success || n == 0)
        {
            if (Tls?.Failure is { } failure) Server.Log.Verbose($"Error accepting a client connection: {failure} (addr={RemoteAddress} laddr={LocalAddress})");
            Server.Clients.FreeClient(this);
            return;
        }
        _qend += n;
        if (HasFlag(ClientFlags.Master))
        {
            Server.Stats.NetReplInputBytes += n;
            Server.ReplicaSide.MasterBytesRead(n);
        }
        else Server.Stats.NetInputBytes += n;
        Server.Stats.TotalReadsProcessed++;
        LastInteractionMs = Server.NowMs;
        // The partial command's parsed arguments still live in the buffer: they count too.
        int held = _qend - PendingStart;
        if (held > QueryBufferPeak) QueryBufferPeak = held;
        if (held > _recentQueryPeak) _recentQueryPeak = held;
        if (!HasFlag(ClientFlags.Master) && held > Server.Config.ClientQueryBufferLimit)
        {
            Server.Log.Warning($"Closing client that reached max query buffer length: {Describe()} (qbuf initial bytes: {InitialBytes()})");
            Server.Stats.ClientQbufLimitDisconnections++;
            Server.Clients.FreeClient(this);
            return;
        }
        ProcessInputBuffer();
    }

    /// <summary>
    /// Test seam: appends bytes to the query buffer as a socket read would and processes them on the
    /// calling thread, so the parser, dispatcher and reply writer run without a socket.
    /// </summary>
    internal void FeedQueryBuffer(ReadOnlySpan<byte> bytes)
    {
        _query ??= _ownQuery ??= new byte[InitialQueryBuffer];
        AccountQueryBuffer();
        if (!MakeRoomFor(bytes.Length)) throw new InvalidOperationException("request larger than the largest array");
        bytes.CopyTo(_query!.AsSpan(_qend));
        _qend += bytes.Length;
        ProcessInputBuffer();
    }

    /// <summary>
    /// Makes room for <paramref name="bytes"/> more at the end of the query buffer: unparsed bytes
    /// move to the front when that frees enough (or they sit past the middle), and the buffer
    /// doubles while still short; a buffer that grows is the client's own from then on. False
    /// when the request can't fit in one .NET array.
    /// </summary>
    bool MakeRoomFor(int bytes)
    {
        if (_qpos > 0 && (_qend + bytes > _query!.Length || _qpos > _query.Length / 2)) Compact();
        while (_qend + bytes > _query!.Length)
        {
            if (_query.Length >= Array.MaxLength) return false;
            var old = _query;
            int bigEnd = BigArgumentEnd();
            long size = bigEnd >= _qend + bytes ? bigEnd : Math.Min((long)_query.Length * 2, Array.MaxLength);
            Array.Resize(ref _query, (int)size);
            if (Parser.InProgress) Parser.Relocate(old, _query, 0);
            _ownQuery = _query;
            AccountQueryBuffer();
        }
        return true;
    }

    /// <summary>Where the bytes still needed begin: the partial command's start, or the next unparsed byte.</summary>
    int PendingStart => Parser.InProgress ? Parser.CommandStart : _qpos;

    /// <summary>Moves the bytes from <paramref name="keep"/> on (and a partial command's parsed arguments) to the front of <paramref name="to"/>.</summary>
    void MoveQuery(byte[] to, int keep)
    {
        var from = _query!;
        int remaining = _qend - keep;
        Buffer.BlockCopy(from, keep, to, 0, remaining);
        if (Parser.InProgress) Parser.Relocate(from, to, keep);
        _query = to;
        _qend = remaining;
        _qpos -= keep;
        AccountQueryBuffer();
    }

    /// <summary>
    /// The client's script became busy and the loop serves other clients, whose reads reuse the
    /// shared query buffer: the running command's argv and the unparsed bytes after it move out of it.
    /// </summary>
    internal void DetachFromSharedQueryBuffer()
    {
        Args = Args.Clone();
        if (UsesSharedQueryBuffer) ReleaseSharedQueryBuffer();
    }

    /// <summary>
    /// After processing a read made into the shared buffer: nothing left means the client holds
    /// no buffer; unparsed bytes (and a partial command's parsed arguments) move to its own.
    /// </summary>
    void ReleaseSharedQueryBuffer()
    {
        int keep = PendingStart;
        int remaining = _qend - keep;
        if (remaining <= 0 || Freed)
        {
            _query = null;
            _qpos = _qend = 0;
            AccountQueryBuffer();
            return;
        }
        // A big argument's buffer holds its whole command (sdsMakeRoomForNonGreedy), so it is read in place.
        int bigEnd = BigArgumentEnd();
        int needed = Math.Max(remaining, bigEnd - keep);
        if (_ownQuery == null || _ownQuery.Length < needed) _ownQuery = new byte[Math.Max(InitialQueryBuffer, needed)];
        MoveQuery(_ownQuery, keep);
        Server.ClientEviction.Update(this); // the client holds a buffer of its own now
    }

    /// <summary>
    /// clientsCronResizeQueryBuffer: with nothing pending, a client idle for 2 seconds gives its
    /// own buffer back, and a busy one keeps it unless it is more than twice what its largest
    /// request since the last call needed (a pipeline of big requests reuses its buffer instead
    /// of growing a new one, on the large object heap, for every batch).
    /// </summary>
    internal void ResizeQueryBuffer(bool idle)
    {
        int peak = _recentQueryPeak;
        _recentQueryPeak = 0;
        if (_query != null || _ownQuery == null) return;
        if (idle || (_ownQuery.Length > InitialQueryBuffer && peak < _ownQuery.Length / 2))
        {
            _ownQuery = null;
            AccountQueryBuffer();
        }
    }

    /// <summary>Moves unconsumed bytes (and the partial command's parsed arguments) to the front.</summary>
    void Compact()
    {
        int keep = PendingStart;
        if (keep == 0) return;
        int remaining = _qend - keep;
        var query = _query!;
        Buffer.BlockCopy(query, keep, query, 0, remaining);
        if (Parser.InProgress) Parser.Relocate(query, query, keep);
        _qend = remaining;
        _qpos -= keep;
    }

    /// <summary>Parses and executes every complete command in the query buffer (processInputBuffer).</summary>
    public void ProcessInputBuffer()
    {
        Server.Dispatcher.BreakTimestampChain();
        while (_qpos < _qend)
        {
            var query = _query!;
            if (HasFlag(ClientFlags.Blocked | ClientFlags.CloseAfterReply | ClientFlags.CloseAsap)) break;
            // The primary's stream waits while a script is busy: -BUSY would lose its writes.
            if (HasFlag(ClientFlags.Master) && Server.Lua.Busy) break;
            Parser.AuthRequired = !Authenticated && Server.Acl.AuthRequired(this);
            Parser.ProtoMaxBulkLen = HasFlag(ClientFlags.Master) ? long.MaxValue : Server.Config.ProtoMaxBulkLen;
            var status = Parser.Parse(query, ref _qpos, _qend);
            if (status == ParseStatus.Incomplete) break;
            if (status == ParseStatus.Empty)
            {
                if (HasFlag(ClientFlags.Master)) Server.ReplicaSide.CommandApplied(this, query.AsSpan(Parser.CommandStart, _qpos - Parser.CommandStart));
                continue;
            }
            if (status == ParseStatus.Error)
            {
                Server.Log.Verbose($"Protocol error ({Parser.Error}) from client: {Describe()}");
                Reply.ErrorWithRawBytes(Parser.Error!); // it may quote the offending byte
                Flags |= ClientFlags.CloseAfterReply;
                Parser.Reset();
                _qpos = _qend;
                break;
            }
            Args = Parser.Args;
            if (Server.Pause.Active && Server.Pause.MustPostpone(this))
            {
                // Keep the command's bytes and parse it again when the pause ends (blockPostponeClient).
                _qpos = Parser.CommandStart;
                Server.Pause.BlockPostponeClient(this);
                break;
            }
            int commandStart = Parser.CommandStart;
            Server.Dispatcher.ProcessCommand(this);
            if (Freed)
            {
                Server.Dispatcher.BreakTimestampChain();
                return;
            }
            // The primary's stream: what ran is applied (and goes on to our own replicas) as received.
            if (HasFlag(ClientFlags.Master)) Server.ReplicaSide.CommandApplied(this, query.AsSpan(commandStart, _qpos - commandStart));
            CommandProcessed();
        }
        // A partial command keeps its parsed arguments as offsets into the buffer: rewind only when none is pending.
        if (_qpos == _qend && !Parser.InProgress)
        {
            _qpos = _qend = 0;
            if (!UsesSharedQueryBuffer)
            {
                _query = null; // the client's own buffer waits for the next leftovers (or clientsCron)
                AccountQueryBuffer();
            }
        }
        Server.Dispatcher.BreakTimestampChain();
        // A big request not drained by the loop above (a partial big argument) counts now.
        Server.ClientEviction.Update(this);
        Server.Clients.QueueReplyWrite(this);
    }

    /// <summary>After each command (resetClient): CLIENT REPLY SKIP lasts one command; output limits are checked.</summary>
    void CommandProcessed()
    {
        Flags &= ~ClientFlags.ReplySkip;
        if (HasFlag(ClientFlags.ReplySkipNext))
        {
            Flags |= ClientFlags.ReplySkip;
            Flags &= ~ClientFlags.ReplySkipNext;
        }
        Reply.Enabled = !HasFlag(ClientFlags.ReplyOff | ClientFlags.ReplySkip | ClientFlags.Master); // the primary reads no replies
        // Only the reply list counts toward client-output-buffer-limit, so most commands skip the check.
        if (Output.ListBytes > 0) Server.Clients.CheckOutputBufferLimitsAsync(this);
        // The output buffer's growth from the command counts before the next one may evict (processCommandAndResetClient).
        Server.ClientEviction.Update(this);
    }

    /// <summary>Bytes in the query buffer, already executed ones of this batch included (CLIENT LIST qbuf of the running client).</summary>
    public int QueryBufferUsed => _qend;

    readonly List<ArraySegment<byte>> _writeSegments = new(16);

    /// <summary>Writes as much pending output as the socket takes (writeToClient). Returns false if the client was freed.</summary>
    public bool WriteToClient(bool fromHandler)
    {
        if (Socket == null) return true;
        long total = 0;
        if (Tls != null)
        {
            // Replies are encrypted into the TLS outbox, which goes out as far as the socket takes it.
            while (Output.HasPending)
            {
                var head = Output.PeekHead();
                Tls.Write(head);
                total += head.Length;
                Output.ConsumeAcross(head.Length);
            }
            if (!Tls.Flush(Socket))
            {
                Server.Clients.FreeClient(this);
                return false;
            }
        }
        while (Output.HasPending)
        {
            int n;
            long attempted;
            SocketError err;
            if (Output.ChunkCount == 0)
            {
                var head = Output.PeekHead();
                attempted = head.Length;
                n = Socket.Send(head, SocketFlags.None, out err);
            }
            else
            {
                // A reply that spilled into the chunk list goes out in one sendmsg, as Redis's writev
                // (16 blocks stay within the runtime's stack-allocated iovec array: no allocation).
                attempted = Output.GetPendingSegments(_writeSegments, 16);
                n = Socket.Send(_writeSegments, SocketFlags.None, out err);
            }
            if (err == SocketError.WouldBlock) break;
            if (err != SocketError.Success)
            {
                Server.Clients.FreeClient(this);
                return false;
            }
            Output.ConsumeAcross(n);
            total += n;
            if (n < attempted) break;
            // Like Redis (NET_MAX_WRITES_PER_EVENT), don't starve others for one huge reply.
            if (total > 64 * 1024 * 1024 && !HasFlag(ClientFlags.Replica)) break;
        }
        // A replica's RDB transfer and stream come from shared buffers once its own replies are out.
        if (ReplicaState != null && !Output.HasPending)
        {
            total += Server.Replication.WriteReplicaData(this, Socket, out bool failed);
            if (failed)
            {
                Server.Clients.FreeClient(this);
                return false;
            }
        }
        if (HasFlag(ClientFlags.Replica)) Server.Stats.NetReplOutputBytes += total;
        else Server.Stats.NetOutputBytes += total;
        Server.Stats.TotalWritesProcessed++;
        if (total > 0 && !HasFlag(ClientFlags.Master)) LastInteractionMs = Server.NowMs;
        if (!HasPendingReplies)
        {
            if (WriteHandlerInstalled)
            {
                Server.Loop.Modify(Socket, Token, EventMask.Readable);
                WriteHandlerInstalled = false;
            }
            if (HasFlag(ClientFlags.CloseAfterReply))
            {
                Server.Clients.FreeClient(this);
                return false;
            }
        }
        else if (!WriteHandlerInstalled)
        {
            var read = HasFlag(ClientFlags.CloseAfterReply | ClientFlags.CloseAsap) ? EventMask.None : EventMask.Readable;
            Server.Loop.Modify(Socket, Token, read | EventMask.Writable);
            WriteHandlerInstalled = true;
        }
        if (total > 0) Server.ClientEviction.Update(this);
        return true;
    }

    /// <summary>clientHasPendingReplies: replies in the buffer, or for a replica stream bytes it has not been sent.</summary>
    internal bool HasPendingReplies => Output.HasPending || (Tls?.HasPendingOutput ?? false)
        || (ReplicaState != null && Replication.ReplicationPrimary.HasPendingStream(ReplicaState));

    public void OnWritable()
    {
        // AE_BARRIER (appendfsync always): a reply produced in this iteration must not leave
        // before beforeSleep has written and fsynced the AOF; the writable event fires again
        // next iteration (level-triggered) and beforeSleep writes it after the flush.
        if (Server.Aof.HoldsUnsyncedWrites) return;
        WriteToClient(fromHandler: true);
    }

    /// <summary>The first 64 bytes of the pending request, quoted as Redis's sdscatrepr does.</summary>
    string InitialBytes()
    {
        int start = PendingStart;
        var span = _query.AsSpan(start, Math.Min(64, _qend - start)); // an empty span when there is no buffer
        var sb = new System.Text.StringBuilder("\"");
        foreach (byte b in span)
        {
            if (b == '\\' || b == '"') sb.Append('\\').Append((char)b);
            else if (b == '\n') sb.Append("\\n");
            else if (b == '\r') sb.Append("\\r");
            else if (b >= 32 && b < 127) sb.Append((char)b);
            else sb.Append("\\x").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.Append('"').ToString();
    }

    /// <summary>A short description for logs (Redis's catClientInfoString, abridged).</summary>
    public string Describe() => $"id={Id} addr={RemoteAddress} laddr={LocalAddress} name={Name ?? ""}";
}
