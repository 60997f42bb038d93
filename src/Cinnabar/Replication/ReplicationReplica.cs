// The replica side of replication (Redis's replication.c: replicaofCommand, replicationSetMaster,
// replicationUnsetMaster, readSyncBulkPayload's end, replicationCacheMaster, replicationCron's
// replica half). REPLICAOF host port points the server at a primary; a MasterLink connects and
// handshakes; a full resync loads the RDB it brought, a partial one (+CONTINUE) keeps the
// dataset; then the socket becomes the master client, whose commands run like any client's
// (without replies) and whose applied bytes are this server's own replication stream: they go,
// unchanged, to its backlog and sub-replicas (replicationFeedStreamFromMasterStream), so offsets
// are identical down a chain. When the link drops, the master's replication id and applied
// offset are cached so the next connection asks for a partial resync; REPLICAOF NO ONE keeps
// the dataset and starts a new history with the old id as the secondary one (PSYNC2).
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Networking;

namespace Cinnabar.Replication;

/// <summary>server.cached_master: what a partial resync needs of the last primary (its id, the applied offset, the stream's db).</summary>
public sealed record CachedMaster(string ReplId, long ReplOffset, int Db);

public sealed class ReplicationReplica
{
    readonly CinnabarServer _server;
    MasterLink? _link;

    /// <summary>The bytes of a MULTI the master is sending: applied (and proxied) when its EXEC has run.</summary>
    readonly MemoryStream _pendingTransaction = new();

    public ReplicationReplica(CinnabarServer server) => _server = server;

    /// <summary>server.masterhost / masterport: null when this server is a primary.</summary>
    public string? MasterHost { get; private set; }
    public int MasterPort { get; private set; }

    public ReplState State { get; private set; } = ReplState.None;

    /// <summary>server.master: the connected primary's client (null until a sync succeeded).</summary>
    public Client? Master { get; private set; }

    public CachedMaster? Cached { get; private set; }

    /// <summary>master->reploff: stream bytes the master client has applied; read_reploff: bytes it has read.</summary>
    public long MasterReplOffset { get; private set; }

    /// <summary>
    /// replicationGetSlaveOffset: what this replica has processed of its primary's stream, from the
    /// master client or the cached one; 0 while a full sync loads (the cluster hides it meanwhile).
    /// </summary>
    public long SlaveOffset => MasterHost == null ? 0 : Master != null ? MasterReplOffset : Math.Max(Cached?.ReplOffset ?? 0, 0);
    public long MasterReadReplOffset { get; private set; }

    /// <summary>repl_down_since: unix ms when the link went down (0: never up or now connected).</summary>
    long _downSinceMs;

    /// <summary>
    /// The cluster failover's data age: ms since the primary's link last carried anything, or since
    /// it went down (a replica never linked counts as infinitely old, as repl_down_since 0 does).
    /// </summary>
    public long MasterDataAgeMs =>
        Master != null ? _server.NowMs - Master.LastInteractionMs
        : _downSinceMs != 0 ? _server.NowMs - _downSinceMs
        : long.MaxValue / 2;

    bool IsHandshaking => _link != null && State is >= ReplState.Connecting and < ReplState.Transfer;

    ReplicationPrimary History => _server.Replication;

    // ------------------------------------------------------------ REPLICAOF

    /// <summary>replicationSetMaster: follow host:port from now on; the dataset stays until a full sync replaces it.</summary>
    public void SetMaster(string host, int port)
    {
        bool wasMaster = MasterHost == null;
        MasterHost = null; // freeing the old master client must not reconnect to it
        if (Master != null) _server.Clients.FreeClient(Master);
        _server.Blocking.DisconnectAllBlockedClients(); // blocked on a primary: no write will come now
        MasterHost = host;
        MasterPort = port;
        _server.Config.Set("replicaof", $"{host} {port}", startup: true); // CONFIG GET / REWRITE show the current primary
        _server.Log.Role = 'S';
        // Replicas stay: they may continue with a partial resync once our history is settled.
        CancelHandshake(reconnect: false);
        if (wasMaster)
        {
            DiscardCachedMaster();
            CacheMasterUsingMyself();
        }
        State = ReplState.Connect;
        _server.Log.Notice($"Connecting to MASTER {host}:{port}");
        ConnectWithMaster();
    }

    /// <summary>replicaof in the configuration: a replica from the start (its RDB loads as a replica's), connecting from cron.</summary>
    public void ConfigureFromConfig()
    {
        var parts = _server.Config.GetString("replicaof").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2) return;
        MasterHost = parts[0];
        MasterPort = int.Parse(parts[1], CultureInfo.InvariantCulture);
        State = ReplState.Connect;
        _server.Log.Role = 'S';
    }

    /// <summary>replicationUnsetMaster: a primary again, with the dataset as it is and a new history.</summary>
    public void UnsetMaster()
    {
        if (MasterHost == null) return;
        MasterHost = null;
        _server.Config.Set("replicaof", "no one", startup: true);
        if (Master != null) _server.Clients.FreeClient(Master);
        DiscardCachedMaster();
        CancelHandshake(reconnect: false);
        // The inherited id stays valid as the secondary one up to here, so replicas of this
        // server (and of the old primary) can partially resync with it.
        History.ShiftReplicationId();
        History.DisconnectReplicas();
        State = ReplState.None;
        History.ForceSelectInStream();
        History.BacklogTtlRestart();
        _downSinceMs = 0;
        _server.Log.Role = 'M';
        _server.Aof.RestartAfterSyncIfNeeded();
    }

    /// <summary>replicationCacheMasterUsingMyself: a primary turned replica PSYNCs with its own id and offset.</summary>
    void CacheMasterUsingMyself()
    {
        _server.Log.Notice("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
        Cached = new CachedMaster(History.ReplId, History.MasterReplOffset, History.StreamDb);
    }

    /// <summary>At start-up, a replica whose RDB carried its replication id and offset caches them for a partial resync.</summary>
    public void CacheMasterFromRdb(string replId, long offset, int db) => Cached = new CachedMaster(replId, offset, db);

    void DiscardCachedMaster()
    {
        if (Cached == null) return;
        _server.Log.Notice("Discarding previously cached master state.");
        Cached = null;
    }

    // ------------------------------------------------------------ the link

    void ConnectWithMaster()
    {
        if (_closed) return; // shutting down: the master client's freeing must not reconnect
        _link = MasterLink.Connect(_server, this, MasterHost!, MasterPort);
        if (_link == null) return; // State stays Connect: cron retries
        State = ReplState.Connecting;
        _server.Log.Notice("MASTER <-> REPLICA sync started");
    }

    /// <summary>cancelReplicationHandshake: the link (and any partial transfer) goes; cron or an immediate retry reconnects.</summary>
    void CancelHandshake(bool reconnect)
    {
        if (_link == null) return;
        if (_disklessLoad is { } load)
        {
            // The transfer was cut: what arrived is not a dataset.
            _disklessLoad = null;
            load.Fail();
        }
        _link.Close();
        _link = null;
        State = ReplState.Connect;
        if (reconnect && MasterHost != null)
        {
            _server.Log.Notice($"Reconnecting to MASTER {MasterHost}:{MasterPort} after failure");
            ConnectWithMaster();
        }
    }

    /// <summary>A handshake or transfer step failed (the reason is logged): the link is cancelled.</summary>
    internal void LinkFailed(MasterLink link, bool reconnect)
    {
        if (!ReferenceEquals(link, _link)) return;
        CancelHandshake(reconnect);
    }

    internal ReplState LinkState => _link?.State ?? State;

    /// <summary>useDisklessLoad: swapdb always, on-empty-db only when there is nothing to lose.</summary>
    internal bool UseDisklessLoad() => _server.Config.GetString("repl-diskless-load") switch
    {
        "swapdb" => true,
        "on-empty-db" => _server.Databases.All(db => db.Count == 0),
        _ => false,
    };

    /// <summary>+CONTINUE: the dataset is kept and the master client resumes from the cached offset.</summary>
    internal void PartialResyncAccepted(Socket socket, Networking.TlsConnection? tls, string? newReplId)
    {
        _link = null;
        var cached = Cached!;
        if (newReplId != null && newReplId != cached.ReplId)
        {
            // The primary was promoted from a replica of our old primary: our history continues under its id.
            _server.Log.Warning($"Master replication ID changed to {newReplId}");
            History.AdoptNewIdKeepingOld(cached.ReplId, newReplId);
            cached = cached with { ReplId = newReplId };
            History.DisconnectReplicas(); // they must learn the new id
        }
        Cached = null;
        CreateMasterClient(socket, tls, cached.ReplOffset, cached.Db, cached.ReplId, prePsync: false);
        History.CreateBacklogIfMissing();
        _server.Log.Notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    }

    /// <summary>readSyncBulkPayload's end: the RDB replaces the dataset and the master client starts at its offset.</summary>
    internal void FullSyncPayloadReceived(MasterLink link, Socket socket, string replId, long offset, bool usedMark, string? path, Persistence.RdbInput? streamed)
    {
        // A diskless load reads the link's socket: INFO shows the transfer's progress until it ends.
        if (streamed == null) _link = null;
        State = ReplState.Transfer; // while the load runs (clients are served between keys)
        var diskless = _disklessLoad;
        _disklessLoad = null;
        if (diskless == null)
        {
            StopPersistenceForSync(fromDisk: true);
            AttachToNewMaster();
            _server.Log.Notice("MASTER <-> REPLICA sync: Flushing old data");
            Commands.KeyspaceCommands.EmptyData(_server, withFunctions: true);
            _server.Log.Notice("MASTER <-> REPLICA sync: Loading DB in memory");
            if (!LoadFromDisk(path!))
            {
                link.Tls?.Dispose();
                socket.Dispose();
                State = ReplState.Connect;
                return;
            }
        }
        else
        {
            bool loaded;
            try
            {
                diskless.Parse(streamed!);
                loaded = !usedMark || link.ReadEofMark(streamed!.Available);
            }
            catch (Persistence.RdbLoadException e)
            {
                foreach (var line in e.Lines) _server.Log.Warning(line);
                loaded = false;
            }
            _link = null;
            if (!loaded)
            {
                diskless.Fail();
                link.Tls?.Dispose();
                socket.Dispose();
                State = ReplState.Connect;
                return;
            }
            if (diskless.SwapsDb) AttachToNewMaster(); // the old dataset served the old history until now
            diskless.Complete();
        }
        // A primary that only knows SYNC gives no id or offset: a new history of our own from 0.
        bool prePsync = offset == -1;
        if (prePsync) (replId, offset) = (Server.RandomBytes.Hex(20), 0);
        CreateMasterClient(socket, link.Tls, offset, 0, replId, prePsync);
        // After a full resync our history is the primary's: its id and offset, no secondary id.
        History.AdoptHistory(replId, offset);
        History.CreateBacklogIfMissing();
        _server.Log.Notice("MASTER <-> REPLICA sync: Finished with success");
        // A diskless primary starts the stream on the first ACK.
        if (usedMark) SendAck();
        _server.Aof.RestartAfterSyncIfNeeded();
    }

    /// <summary>
    /// The primary's "$" line announced a diskless transfer: the load starts now (readSyncBulkPayload
    /// parses from the socket), so INFO shows it and clients get -LOADING, or with swapdb of the same
    /// history keep reading the old dataset.
    /// </summary>
    internal void BeginDisklessLoad(MasterLink link, long totalBytes)
    {
        StopPersistenceForSync(fromDisk: false);
        bool swap = _server.Config.GetString("repl-diskless-load") == "swapdb";
        if (!swap) AttachToNewMaster();
        _disklessLoad = DisklessLoad.Start(_server, swap, sameHistory: History.ReplId == link.MasterReplId, totalBytes);
    }

    DisklessLoad? _disklessLoad;

    /// <summary>An AOF rewrite or a BGSAVE would save data that is about to be replaced.</summary>
    void StopPersistenceForSync(bool fromDisk)
    {
        _server.Aof.StopForSync();
        if (!_server.BackgroundSave.InProgress) return;
        if (fromDisk)
            _server.Log.Notice("Replica is about to load the RDB file received from the master, but there is a pending RDB child running. Killing process and removing its temp file to avoid any race");
        _server.BackgroundSave.Kill();
    }

    /// <summary>replicationAttachToNewMaster: the cached primary goes, and our replicas follow us to the new history.</summary>
    void AttachToNewMaster()
    {
        DiscardCachedMaster();
        History.DisconnectReplicas();
        History.FreeBacklog();
    }

    /// <summary>rdbLoad of the received file, with client events processed between keys (they get -LOADING).</summary>
    bool LoadFromDisk(string path)
    {
        var progress = _server.LoadingProgress;
        bool processEvents = progress.ProcessEvents;
        progress.ProcessEvents = true;
        try
        {
            Persistence.RdbLoader.Load(_server, path, allowDuplicates: false);
            DeleteSyncFileIfUnused(path);
            return true;
        }
        catch (Persistence.RdbLoadException e)
        {
            foreach (var line in e.Lines) _server.Log.Warning(line);
            _server.Log.Warning("Failed trying to load the MASTER synchronization DB from disk, check server logs.");
            DeleteSyncFileIfUnused(path);
            Commands.KeyspaceCommands.EmptyData(_server, withFunctions: true); // never serve half a dataset
            return false;
        }
        finally
        {
            progress.ProcessEvents = processEvents;
        }
    }

    /// <summary>rdb-del-sync-files: with no save points and no AOF, the RDB the primary sent is only a transfer file.</summary>
    void DeleteSyncFileIfUnused(string path)
    {
        if (!_server.Config.GetBool("rdb-del-sync-files") || _server.Config.SaveParams.Count > 0 || _server.Aof.Active) return;
        _server.Log.Notice("Removing the RDB file obtained from the master. This replica has persistence disabled");
        try
        {
            File.Delete(path);
        }
        catch (IOException) { }
    }

    /// <summary>replicationCreateMasterClient: the link's socket as a client that runs the primary's commands without replies.</summary>
    void CreateMasterClient(Socket socket, Networking.TlsConnection? tls, long offset, int db, string replId, bool prePsync)
    {
        var c = _server.Clients.CreateMasterClient(socket, tls);
        // Stream bytes TLS decrypted with the end of the handshake or the transfer get no readable
        // event of their own: they are read once this sync's bookkeeping is done.
        if (tls is { HasBufferedPlaintext: true }) _server.Loop.Post(() => { if (!c.Freed) c.OnReadable(); });
        c.Db = _server.Databases[Math.Clamp(db, 0, _server.Databases.Length - 1)];
        Master = c;
        MasterReplId = replId;
        MasterReplOffset = MasterReadReplOffset = offset;
        _prePsync = prePsync; // CLIENT_PRE_PSYNC: no ACKs, nothing cached when the link drops
        _pendingTransaction.SetLength(0);
        State = ReplState.Connected;
        _downSinceMs = 0;
    }

    /// <summary>master->replid: the history the master client's stream belongs to.</summary>
    public string MasterReplId { get; private set; } = "";
    bool _prePsync;

    /// <summary>
    /// freeClient of the master client (replicationCacheMaster + replicationHandleMasterDisconnection):
    /// its id and applied offset are cached for a partial resync (also when REPLICAOF is
    /// switching primaries: the new one may continue the same history), and a replica still
    /// following that primary reconnects at once.
    /// </summary>
    public void MasterClientFreed(Client c)
    {
        if (!ReferenceEquals(c, Master)) return;
        Master = null;
        _pendingTransaction.SetLength(0);
        _server.Log.Warning("Connection with master lost.");
        if (!_prePsync)
        {
            _server.Log.Notice("Caching the disconnected master state.");
            Cached = new CachedMaster(MasterReplId, MasterReplOffset, c.Db.Id);
        }
        State = ReplState.Connect;
        _downSinceMs = _server.NowMs;
        if (MasterHost == null) return; // REPLICAOF is switching (or NO ONE): it connects (or discards) next
        // Reconnecting now rather than at the next cron tick keeps the backlog's chance of holding our offset.
        _server.Log.Notice($"Reconnecting to MASTER {MasterHost}:{MasterPort}");
        ConnectWithMaster();
    }

    // ------------------------------------------------------------ the stream

    /// <summary>Bytes the master client read (read_reploff).</summary>
    internal void MasterBytesRead(int n) => MasterReadReplOffset += n;

    /// <summary>
    /// After one command of the master's (or an empty line) ran: its bytes are applied, unless a
    /// MULTI is open (they wait for its EXEC, as c->reploff does), and go on to our backlog and
    /// sub-replicas exactly as received.
    /// </summary>
    internal void CommandApplied(Client master, ReadOnlySpan<byte> bytes)
    {
        if (master.HasFlag(ClientFlags.Multi))
        {
            _pendingTransaction.Write(bytes);
            return;
        }
        if (_pendingTransaction.Length > 0)
        {
            Apply(_pendingTransaction.GetBuffer().AsSpan(0, (int)_pendingTransaction.Length));
            _pendingTransaction.SetLength(0);
        }
        Apply(bytes);
    }

    void Apply(ReadOnlySpan<byte> bytes)
    {
        MasterReplOffset += bytes.Length;
        History.FeedFromMasterStream(bytes);
    }

    /// <summary>replicationSendAck: REPLCONF ACK with the applied offset, written even though the master client gets no replies.</summary>
    public void SendAck()
    {
        var m = Master;
        if (m == null) return;
        string offset = MasterReplOffset.ToString(CultureInfo.InvariantCulture);
        m.Output.Write(Encoding.ASCII.GetBytes($"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n${offset.Length}\r\n{offset}\r\n"));
        _server.Clients.QueueReplyWrite(m);
    }

    // ------------------------------------------------------------ cron and INFO

    /// <summary>replicationCron's replica half (once a second): timeouts, (re)connecting, the periodic ACK.</summary>
    public void Cron()
    {
        if (MasterHost == null) return;
        long timeoutMs = _server.Config.GetLong("repl-timeout") * 1000;
        long now = _server.NowMs;
        if (IsHandshaking && now - _link!.LastIoMs > timeoutMs)
        {
            _server.Log.Warning("Timeout connecting to the MASTER...");
            CancelHandshake(reconnect: true);
        }
        if (_link != null && _link.State == ReplState.Transfer && now - _link.LastIoMs > timeoutMs)
        {
            _server.Log.Warning("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
            CancelHandshake(reconnect: true);
        }
        if (Master != null && State == ReplState.Connected && now - Master.LastInteractionMs > timeoutMs)
        {
            _server.Log.Warning("MASTER timeout: no data nor PING received...");
            _server.Clients.FreeClient(Master);
        }
        if (State == ReplState.Connect && _link == null)
        {
            _server.Log.Notice($"Connecting to MASTER {MasterHost}:{MasterPort}");
            ConnectWithMaster();
        }
        if (Master != null && !_prePsync) SendAck();
    }

    /// <summary>The replica lines of INFO replication, after role (master_host ... replica_announced).</summary>
    public void AppendInfo(StringBuilder sb)
    {
        if (MasterHost == null) return;
        long now = _server.NowMs;
        long applied = 1, read = 1;
        if (Master != null) (applied, read) = (MasterReplOffset, MasterReadReplOffset);
        else if (Cached != null) (applied, read) = (Cached.ReplOffset, Cached.ReplOffset);
        var state = LinkState;
        void F(string name, object value) => sb.Append(name).Append(':').Append(Convert.ToString(value, CultureInfo.InvariantCulture)).Append("\r\n");
        F("master_host", MasterHost);
        F("master_port", MasterPort);
        F("master_link_status", State == ReplState.Connected ? "up" : "down");
        F("master_last_io_seconds_ago", Master != null ? (now - Master.LastInteractionMs) / 1000 : -1);
        F("master_sync_in_progress", state == ReplState.Transfer ? 1 : 0);
        F("slave_read_repl_offset", read);
        F("slave_repl_offset", applied);
        if (state == ReplState.Transfer && _link != null)
        {
            long size = _link.TransferSize, done = _link.TransferRead;
            F("master_sync_total_bytes", size);
            F("master_sync_read_bytes", done);
            F("master_sync_left_bytes", size - done);
            F("master_sync_perc", (size > 0 ? (double)done / size * 100 : 0).ToString("F2", CultureInfo.InvariantCulture));
            F("master_sync_last_io_seconds_ago", (now - _link.LastIoMs) / 1000);
        }
        if (State != ReplState.Connected) F("master_link_down_since_seconds", _downSinceMs != 0 ? (now - _downSinceMs) / 1000 : -1);
        F("slave_priority", _server.Config.GetLong("replica-priority"));
        F("slave_read_only", _server.Config.ReplicaReadOnly ? 1 : 0);
        F("replica_announced", _server.Config.GetBool("replica-announced") ? 1 : 0);
    }

    /// <summary>ROLE's replica reply: slave, host, port, the link state's name, the applied offset.</summary>
    public string RoleStateName => LinkState switch
    {
        ReplState.None => "none",
        ReplState.Connect => "connect",
        ReplState.Connecting => "connecting",
        ReplState.Transfer => "sync",
        ReplState.Connected => "connected",
        _ => "handshake",
    };

    /// <summary>The applied offset ROLE reports (-1 with no master client).</summary>
    public long RoleOffset => Master != null ? MasterReplOffset : -1;

    bool _closed;

    /// <summary>Shutdown: the link's socket and any partial temp file go; nothing reconnects.</summary>
    public void Close()
    {
        _closed = true;
        _link?.Close();
        _link = null;
    }
}
