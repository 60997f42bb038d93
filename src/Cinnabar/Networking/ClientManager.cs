// The server's clients and their lifecycle (Redis's networking.c role): accepting a connection
// (maxclients, protected mode, keepalive), the client index by id, the write path (clients with
// pending replies are written once per loop iteration, in beforeSleep), output buffer limits,
// the idle timeout, and freeing, at once or at the next safe point (the close-asap list).
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;

namespace Cinnabar.Networking;

public sealed class ClientManager
{
    readonly CinnabarServer _server;
    readonly Dictionary<long, Client> _byId = new(); // server.clients_index

    // server.clients as clientsCron walks it: a ring it visits a share of per call, resuming
    // where the last call stopped. A freed client's slot takes the last one (O(1)).
    readonly List<Client> _cronRing = new();
    int _cronCursor;
    readonly List<Client> _pendingWrites = new();    // server.clients_pending_write
    readonly List<Client> _closeAsap = new();        // server.clients_to_close
    long _nextClientId;

    /// <summary>
    /// The query buffer every client reads into (Redis 7.4's reusable query buffer): one hot
    /// array instead of one per connection, so it can be large (a -P 16 batch of 1 KiB values,
    /// ~17 KB, is one read). Only the client whose read is being processed uses it; leftovers
    /// move to the client's own buffer (Client.OnReadable).
    /// </summary>
    internal readonly byte[] SharedQueryBuffer = new byte[64 * 1024];

    public ClientManager(CinnabarServer server) => _server = server;

    /// <summary>The connected clients (socket clients only: fake and detached clients are not listed).</summary>
    public Dictionary<long, Client>.ValueCollection All => _byId.Values;

    public int Count => _byId.Count;

    public bool TryGet(long id, [MaybeNullWhen(false)] out Client c) => _byId.TryGetValue(id, out c);

    public bool Contains(long id) => _byId.ContainsKey(id);

    /// <summary>acceptCommonHandler: rejects over maxclients or in protected mode, else links a new client to the loop.</summary>
    internal void AcceptClient(Socket s, bool tls = false)
    {
        var config = _server.Config;
        var stats = _server.Stats;
        if (_byId.Count >= config.MaxClients)
        {
            // Written straight to the socket, best effort, as Redis does in acceptCommonHandler.
            s.Send("-ERR max number of clients reached\r\n"u8, SocketFlags.None, out _);
            stats.RejectedConnections++;
            s.Dispose();
            return;
        }
        // As in Redis 7.0 the bind address does not matter: without a password only loopback peers get in.
        if (config.ProtectedMode && _server.Acl.DefaultUser.HasFlag(Security.UserFlags.NoPass) && s.RemoteEndPoint is IPEndPoint ep && !IPAddress.IsLoopback(ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address))
        {
            s.Send(System.Text.Encoding.ASCII.GetBytes(ProtectedModeError), SocketFlags.None, out _);
            stats.RejectedConnections++;
            s.Dispose();
            return;
        }
        if (config.TcpKeepalive > 0 && s.AddressFamily != AddressFamily.Unix)
        {
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            try
            {
                s.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, config.TcpKeepalive);
                s.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, Math.Max(1, config.TcpKeepalive / 3));
                s.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
            }
            catch (SocketException) { }
        }
        var c = new Client(++_nextClientId, _server, s);
        if (tls)
            c.Tls = _server.Tls.ClientOrder is { } order ? new TlsConnection(order, _server.Tls.ServerOptions!) : new TlsConnection(_server.Tls.ServerOptions!);
        _server.Acl.SetDefaultAuth(c);
        c.Reply.OnError = stats.RecordError;
        c.Token = _server.Loop.Register(s, c, EventMask.Readable);
        _byId[c.Id] = c;
        LinkForCron(c);
        c.CountMemoryIn(_server.ClientsMemory, _server.ClientsMemory);
        stats.NumConnections++;
    }

    const string ProtectedModeError =
        "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. " +
        "In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: " +
        "1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. " +
        "2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. " +
        "3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. " +
        "4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

    /// <summary>
    /// replicationCreateMasterClient: the replication link's socket as a linked client flagged
    /// master: authenticated, its commands run without replies (REPLCONF ACK is written directly).
    /// </summary>
    internal Client CreateMasterClient(Socket s, TlsConnection? tls)
    {
        s.Blocking = false;
        var c = new Client(++_nextClientId, _server, s) { Authenticated = true, Tls = tls };
        c.Flags |= ClientFlags.Master;
        c.Reply.Enabled = false;
        c.Reply.OnError = _server.Stats.RecordError;
        c.Token = _server.Loop.Register(s, c, EventMask.Readable);
        _byId[c.Id] = c;
        LinkForCron(c);
        c.CountMemoryIn(_server.ClientsMemory, _server.ClientsMemory);
        return c;
    }

    /// <summary>A client not bound to a socket (scripts, AOF loading): runs commands, collects replies.</summary>
    public Client CreateFakeClient()
    {
        var c = new Client(++_nextClientId, _server, null) { Authenticated = true };
        c.Flags |= ClientFlags.Fake;
        return c;
    }

    /// <summary>Test seam: a client with no socket whose commands run through the real input path (Client.FeedQueryBuffer).</summary>
    internal Client CreateDetachedClient()
    {
        var c = new Client(++_nextClientId, _server, null);
        _server.Acl.SetDefaultAuth(c);
        return c;
    }

    /// <summary>freeClient: unlinks the client, lets mechanisms drop its state (CinnabarServer.FreeClientState), closes the socket. A second call is a no-op.</summary>
    public void FreeClient(Client c)
    {
        if (c.Socket == null || !_byId.Remove(c.Id)) return;
        UnlinkForCron(c);
        c.Freed = true;
        c.StopCountingMemory();
        _server.ClientEviction.Remove(c);
        _server.Pause.RemoveClient(c);
        _server.FreeClientState(c);
        try
        {
            _server.Loop.Unregister(c.Socket, c.Token);
        }
        catch (InvalidOperationException) { }
        c.Socket.Dispose();
        c.Tls?.Dispose();
        c.Output.Clear();
    }

    /// <summary>
    /// Makes a linked client a replica: the flag, and its reply list counted in the replica total,
    /// which used_memory includes and eviction leaves out (MemNotCountedForEvict). Set the flag only here.
    /// </summary>
    public void MarkReplica(Client c)
    {
        c.Flags |= ClientFlags.Replica;
        if (!_byId.ContainsKey(c.Id)) return;
        c.Output.CountMemoryIn(_server.ReplicaOutputMemory);
        _server.ClientEviction.Update(c); // a replica is counted apart and never evicted
    }

    /// <summary>Frees a client at the next safe point (freeClientAsync): used from inside a handler of another client.</summary>
    public void FreeClientAsync(Client c)
    {
        if (c.HasFlag(ClientFlags.CloseAsap)) return;
        c.Flags |= ClientFlags.CloseAsap;
        _closeAsap.Add(c);
    }

    /// <summary>Frees every client (shutdown).</summary>
    internal void FreeAll()
    {
        foreach (var c in _byId.Values.ToList()) FreeClient(c);
    }

    /// <summary>putClientInPendingWriteQueue: the reply is written in beforeSleep, unless a writable handler already waits.</summary>
    internal void QueueReplyWrite(Client c)
    {
        if (c.Socket == null || c.HasFlag(ClientFlags.PendingWrite) || c.WriteHandlerInstalled) return;
        if (!c.HasPendingReplies && !c.HasFlag(ClientFlags.CloseAfterReply)) return;
        c.Flags |= ClientFlags.PendingWrite;
        _pendingWrites.Add(c);
    }

    /// <summary>handleClientsWithPendingWrites (beforeSleep): one write per client; a short write installs the writable handler.</summary>
    internal void HandleClientsWithPendingWrites()
    {
        for (int i = 0; i < _pendingWrites.Count; i++)
        {
            var c = _pendingWrites[i];
            c.Flags &= ~ClientFlags.PendingWrite;
            if (c.Socket == null || !_byId.ContainsKey(c.Id)) continue;
            c.WriteToClient(fromHandler: false);
        }
        _pendingWrites.Clear();
    }

    /// <summary>freeClientsInAsyncFreeQueue: the last step of beforeSleep, after the writes.</summary>
    internal void FreeClientsInAsyncFreeQueue()
    {
        if (_closeAsap.Count == 0) return;
        // Index loop: freeing one client may queue more clients to close.
        for (int i = 0; i < _closeAsap.Count; i++) FreeClient(_closeAsap[i]);
        _closeAsap.Clear();
    }

    /// <summary>How often a client's reply buffer peak (rbp=) starts again: DEBUG REPLYBUFFER PEAK-RESET-TIME, -1 for never.</summary>
    public const long DefaultReplyBufferPeakResetTimeMs = 5000;

    public long ReplyBufferPeakResetTimeMs = DefaultReplyBufferPeakResetTimeMs;

    /// <summary>
    /// clientsCron, from serverCron, in Redis's order: the idle timeout, the query buffer's
    /// resize, the reply buffer's peak, the recent peak buffers, the client's memory (so a
    /// configuration change reaches idle clients too), the output buffer limits. As in Redis it
    /// visits numclients/hz clients per call (at least 5), so each client once a second however
    /// many are connected, instead of all of them at every tick.
    /// </summary>
    internal void ClientsCron()
    {
        long now = _server.NowMs;
        var config = _server.Config;
        var eviction = _server.ClientEviction;
        int peakSlot = eviction.BeginPeakSlot();
        int clients = _cronRing.Count;
        int iterations = clients / Math.Max(1, config.Hz);
        if (iterations < CronMinIterations) iterations = Math.Min(clients, CronMinIterations);
        List<Client>? toClose = null;
        for (; iterations > 0; iterations--)
        {
            if (_cronCursor >= _cronRing.Count) _cronCursor = 0;
            var c = _cronRing[_cronCursor++];
            // Replicas, monitors, the master link, blocked, postponed and subscribed clients wait by design.
            if (config.TimeoutSeconds > 0 && !c.HasFlag(ClientFlags.Master | ClientFlags.Replica | ClientFlags.Monitor | ClientFlags.Blocked | ClientFlags.PubSub)
                && !_server.Pause.IsPostponed(c) && now - c.LastInteractionMs > config.TimeoutSeconds * 1000)
            {
                _server.Log.Verbose("Closing idle client");
                (toClose ??= new()).Add(c);
                continue;
            }
            c.ResizeQueryBuffer(idle: now - c.LastInteractionMs > 2000);
            c.Output.ResetPeakIfDue(now, ReplyBufferPeakResetTimeMs);
            eviction.TrackExpansiveClient(c, peakSlot);
            eviction.Update(c);
            if (OutputBufferLimitReached(c)) (toClose ??= new()).Add(c);
        }
        if (toClose != null) foreach (var c in toClose) FreeClient(c);
    }

    /// <summary>CLIENTS_CRON_MIN_ITERATIONS.</summary>
    const int CronMinIterations = 5;

    void LinkForCron(Client c)
    {
        c.CronSlot = _cronRing.Count;
        _cronRing.Add(c);
    }

    void UnlinkForCron(Client c)
    {
        int slot = c.CronSlot;
        if (slot < 0) return;
        int last = _cronRing.Count - 1;
        var moved = _cronRing[last];
        _cronRing[slot] = moved;
        moved.CronSlot = slot;
        _cronRing.RemoveAt(last);
        c.CronSlot = -1;
    }

    /// <summary>checkClientOutputBufferLimits: hard limit at once, soft limit after its seconds.</summary>
    public bool OutputBufferLimitReached(Client c)
    {
        bool replica = c.HasFlag(ClientFlags.Replica);
        string cls = replica ? "replica" : c.HasFlag(ClientFlags.PubSub) ? "pubsub" : "normal";
        var (hard, soft, softSeconds) = _server.Config.OutputBufferLimits[cls];
        long now = _server.NowMs;
        long used = replica ? _server.Replication.ReplicaOutputBytes(c) : c.Output.ListBytes;
        if (replica)
        {
            // A replica's limit below repl-backlog-size would drop it right after a partial resync
            // the backlog allowed; Redis uses the backlog size then (the memory is shared anyway).
            long backlog = _server.Config.ReplBacklogSize;
            if (hard > 0 && hard < backlog) hard = backlog;
            if (soft > 0 && soft < backlog) soft = backlog;
        }
        bool hardReached = hard > 0 && used >= hard;
        bool softReached = soft > 0 && used >= soft;
        if (softReached)
        {
            if (c.OutputSoftLimitReachedMs == 0)
            {
                c.OutputSoftLimitReachedMs = now;
                softReached = false;
            }
            else softReached = now - c.OutputSoftLimitReachedMs > softSeconds * 1000;
        }
        else c.OutputSoftLimitReachedMs = 0;
        if (hardReached || softReached)
        {
            _server.Log.Warning($"Client {c.Describe()} scheduled to be closed ASAP for overcoming of output buffer limits.");
            _server.Stats.ClientOutbufLimitDisconnections++;
            return true;
        }
        return false;
    }

    /// <summary>Checked after each reply is produced (asyncCloseClientOnOutputBufferLimitReached).</summary>
    public void CheckOutputBufferLimitsAsync(Client c)
    {
        if (c.Socket != null && !c.HasFlag(ClientFlags.CloseAsap) && OutputBufferLimitReached(c))
        {
            c.Output.Clear();
            FreeClientAsync(c);
        }
    }
}
