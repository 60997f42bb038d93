// The primary side of replication and the server's replication history (Redis's replication.c:
// syncCommand, masterTryPartialResynchronization, replconfCommand, replicationFeedSlaves,
// replicationCron). The history is the replication id, the secondary id (PSYNC2) with the
// offset up to which it is valid, master_repl_offset and the backlog; a replica's history is its
// primary's (ReplicationReplica feeds it the master stream unchanged). A replica sends SYNC or
// PSYNC <replid> <offset>: when the id is ours (or the secondary one, up to its offset) and the
// backlog still holds that offset it gets +CONTINUE and the backlog from there; otherwise
// +FULLRESYNC <replid> <offset> and an RDB of the dataset: a BGSAVE to dbfilename, then
// "$<size>" and the file; or with repl-diskless-sync and capa eof "$EOF:<mark>", the bytes as
// the snapshot writes them and the mark, after repl-diskless-sync-delay seconds for more
// replicas to arrive. Either way the RDB is the forkless snapshot (Persistence/Snapshot) taken
// while clients keep writing; what they write meanwhile goes to the backlog, and a replica gets
// the backlog from the snapshot's start offset
// right after the RDB (a diskless one after its first REPLCONF ACK, as Redis starts the stream),
// so its stream continues exactly at the snapshot's point in time. A replica that sent REPLCONF
// rdb-only 1 (redis-cli --rdb) gets the RDB alone and is closed after it; one that sent
// rdb-filter-only (--functions-rdb) gets a filtered RDB, always streamed to its socket, from a
// snapshot shared only with replicas asking for the same filter. The stream's way out to each
// replica is ReplicationPrimary.Output.cs, the acknowledgements (WAIT, min-replicas) are
// ReplicationPrimary.Acks.cs, and the per-replica state is ReplicaState.cs.
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Cinnabar.Networking;
using Cinnabar.Persistence;

namespace Cinnabar.Replication;

public sealed partial class ReplicationPrimary
{
    const string NoReplId = "0000000000000000000000000000000000000000";

    readonly CinnabarServer _server;
    readonly List<Client> _replicas = new();
    ReplicationBuffer? _backlog; // the shared replication buffer and the backlog over it (null: no history kept)
    long _noReplicasSinceMs;
    long _cronLoops;

    /// <summary>server.slaveseldb: the db of the last command sent to replicas; -1 forces a SELECT.</summary>
    int _replicaSelectedDb = -1;

    /// <summary>master_replid: the history this server's stream belongs to.</summary>
    public string ReplId { get; private set; } = Server.RandomBytes.Hex(20);

    /// <summary>master_replid2: the previous history (before a promotion), valid up to SecondReplIdOffset.</summary>
    public string ReplId2 { get; private set; } = NoReplId;

    /// <summary>second_repl_offset: the last offset + 1 a PSYNC with ReplId2 may ask for (-1: none).</summary>
    public long SecondReplIdOffset { get; private set; } = -1;

    /// <summary>master_repl_offset: bytes of stream produced (or, on a replica, received) since the history began.</summary>
    public long MasterReplOffset { get; private set; }

    /// <summary>repl_good_slaves_count: online replicas whose last ACK is within min-replicas-max-lag.</summary>
    public int GoodReplicas { get; private set; }

    public ReplicationPrimary(CinnabarServer server) => _server = server;

    bool IsReplicaRole => _server.ReplicaSide.MasterHost != null;

    /// <summary>Whether propagated commands go anywhere: the backlog keeps history (a replica's stream is its primary's, not its own commands).</summary>
    public bool FeedsReplicas => _backlog != null && !IsReplicaRole;

    public IReadOnlyList<Client> Replicas => _replicas;
    public ReplicationBuffer? Backlog => _backlog;

    /// <summary>
    /// replicationFeedSlaves: SELECT first when the db changed, then the command, into the
    /// backlog and every online replica's output buffer.
    /// </summary>
    public void Feed(int db, ReadOnlySpan<byte> command)
    {
        if (_backlog == null || IsReplicaRole) return;
        if (db != _replicaSelectedDb)
        {
            Span<byte> select = stackalloc byte[40];
            Write(select[..FormatSelect(select, db)]);
            _replicaSelectedDb = db;
        }
        Write(command);
    }

    /// <summary>A command sent in whatever db the stream is in (the periodic PING, GETACK, DEBUG REPLICATE): no SELECT.</summary>
    public void FeedInCurrentDb(ReadOnlySpan<byte> command)
    {
        if (_backlog != null && !IsReplicaRole) Write(command);
    }

    /// <summary>replicationFeedStreamFromMasterStream: a replica's applied master stream, unchanged, to its backlog and sub-replicas.</summary>
    public void FeedFromMasterStream(ReadOnlySpan<byte> bytes)
    {
        if (_backlog != null) Write(bytes);
    }

    /// <summary>*2 $6 SELECT $n db, formatted without allocating (a pipeline that alternates dbs sends one per command).</summary>
    static int FormatSelect(Span<byte> into, int db)
    {
        Span<byte> digits = stackalloc byte[11];
        Utf8Formatter.TryFormat(db, digits, out int n);
        int pos = 0;
        "*2\r\n$6\r\nSELECT\r\n$"u8.CopyTo(into);
        pos += 17;
        Utf8Formatter.TryFormat(n, into[pos..], out int w);
        pos += w;
        "\r\n"u8.CopyTo(into[pos..]);
        pos += 2;
        digits[..n].CopyTo(into[pos..]);
        pos += n;
        "\r\n"u8.CopyTo(into[pos..]);
        return pos + 2;
    }

    // ------------------------------------------------------------ the history

    /// <summary>changeReplicationId: a new random history id.</summary>
    void ChangeReplicationId() => ReplId = Server.RandomBytes.Hex(20);

    /// <summary>clearReplicationId2: no previous history.</summary>
    void ClearReplicationId2()
    {
        ReplId2 = NoReplId;
        SecondReplIdOffset = -1;
    }

    /// <summary>
    /// shiftReplicationId (a replica promoted): the inherited id becomes the secondary one, valid up
    /// to the current offset, so the old primary's other replicas can partially resync with us.
    /// </summary>
    public void ShiftReplicationId()
    {
        ReplId2 = ReplId;
        SecondReplIdOffset = MasterReplOffset + 1;
        ChangeReplicationId();
        _server.Log.Warning($"Setting secondary replication ID to {ReplId2}, valid up to offset: {SecondReplIdOffset}. New replication ID is {ReplId}");
    }

    /// <summary>After a full sync a replica's history is its primary's: that id and offset, no secondary id.</summary>
    public void AdoptHistory(string replId, long offset)
    {
        ReplId = replId;
        MasterReplOffset = offset;
        ClearReplicationId2();
    }

    /// <summary>+CONTINUE with a new id: our old id stays valid as the secondary one up to here.</summary>
    public void AdoptNewIdKeepingOld(string oldId, string newId)
    {
        ReplId2 = oldId;
        SecondReplIdOffset = MasterReplOffset + 1;
        ReplId = newId;
    }

    /// <summary>
    /// A primary restarted from an RDB that carried its replication id and offset: that history
    /// continues as the secondary id, and the offset (with the backlog, which holds the DELs of
    /// keys the load found expired) is rebased onto it, so replicas that followed it can
    /// partially resync and drop those keys too.
    /// </summary>
    public void RestoreAsMaster(string replId, long offset)
    {
        ReplId2 = replId;
        SecondReplIdOffset = offset + 1;
        MasterReplOffset += offset;
        _backlog ??= new ReplicationBuffer(_server.Config.ReplBacklogSize, 0);
        _backlog.Rebase(offset);
        _noReplicasSinceMs = _server.NowMs;
    }

    /// <summary>rdbLoad with RDBFLAGS_FEED_REPL: a key the start-up load dropped as expired leaves as DEL (UNLINK).</summary>
    public void FeedExpiredAtLoad(int db, ReadOnlySpan<byte> key)
    {
        if (_backlog == null) return;
        _server.Propagation.PropagateDeletion(db, _server.Config.GetBool("lazyfree-lazy-expire") ? "UNLINK"u8 : "DEL"u8, key, joinUnit: false);
    }

    /// <summary>The RDB had no replication history: no backlog and no offset, as a fresh primary.</summary>
    public void DiscardLoadBacklog()
    {
        _backlog = null;
        MasterReplOffset = 0;
        _replicaSelectedDb = -1;
    }

    /// <summary>A replica's backlog exists from its first sync on, sub-replicas or not, in case it is promoted.</summary>
    public void CreateBacklogIfMissing() => _backlog ??= new ReplicationBuffer(_server.Config.ReplBacklogSize, MasterReplOffset);

    /// <summary>freeReplicationBacklog: a replica about to load a new primary's data: our sub-replicas can't continue the old stream.</summary>
    public void FreeBacklog() => _backlog = null;

    /// <summary>The next command sent to replicas starts with a SELECT (a replica promoted: its stream's db is unknown).</summary>
    public void ForceSelectInStream() => _replicaSelectedDb = -1;

    /// <summary>The backlog's time to live counts from now (a promotion: replicas have not reconnected yet).</summary>
    public void BacklogTtlRestart() => _noReplicasSinceMs = _server.NowMs;

    /// <summary>repl-stream-db for the RDB aux field: the db the stream is in (0 when none was selected yet).</summary>
    public int StreamDb => _replicaSelectedDb == -1 ? 0 : _replicaSelectedDb;

    /// <summary>disconnectSlaves: every replica reconnects (and learns the new id, or resyncs from scratch).</summary>
    public void DisconnectReplicas()
    {
        foreach (var r in _replicas.ToArray()) _server.Clients.FreeClient(r);
    }

    // ------------------------------------------------------------ SYNC / PSYNC

    /// <summary>
    /// syncCommand: SYNC, or PSYNC &lt;replid&gt; &lt;offset&gt;. A partial resync when the
    /// history and the backlog allow it; otherwise a full one: +FULLRESYNC (PSYNC), then, once
    /// the snapshot is complete, the RDB and the stream (FullSyncSnapshotDone).
    /// </summary>
    public void Sync(Client c, bool psync)
    {
        if (c.HasFlag(ClientFlags.Replica)) return; // already a replica: ignored, as Redis does
        var replicaSide = _server.ReplicaSide;
        // PSYNC <replid> <offset> FAILOVER: our primary hands over (FAILOVER on its side); we promote first.
        if (psync && c.Args.Count > 3 && c.Args.Is(3, "failover"))
        {
            if (!c.Args.ToStringAt(1).Equals(ReplId, StringComparison.OrdinalIgnoreCase))
            {
                c.Reply.Error("PSYNC FAILOVER replid must match my replid.");
                return;
            }
            replicaSide.UnsetMaster();
            _server.Log.Notice($"MASTER MODE enabled (failover request from '{Commands.ClientCommands.InfoString(c)}')");
        }
        if (_server.Failover.State != FailoverState.None)
        {
            c.Reply.Error("-NOMASTERLINK Can't SYNC while failing over");
            return;
        }
        if (replicaSide.MasterHost != null && replicaSide.State != ReplState.Connected)
        {
            c.Reply.Error("-NOMASTERLINK Can't SYNC while not connected with my master");
            return;
        }
        if (c.Output.HasPending)
        {
            c.Reply.Error("SYNC and PSYNC are invalid with pending output");
            return;
        }
        var state = c.ReplicaState ??= new ReplicaState();
        // A filtered RDB is only ever streamed to sockets, never written over dbfilename.
        if ((state.Req & ReplicaRequirements.RdbMask) != 0 && !state.CapaEof)
        {
            c.Reply.Error("Filtered replica requires EOF capability");
            return;
        }
        string name = ReplicaName(c);
        _server.Log.Notice($"Replica {name} asks for synchronization");
        if (psync)
        {
            string requested = c.Args.ToStringAt(1);
            if (!Commands.Arguments.TryGetLong(c, 2, out long offset))
            {
                _server.Log.Warning($"Replica {name} asks for synchronization but with a wrong offset");
                return;
            }
            if (TryPartialResynchronization(c, requested, offset))
            {
                _server.Stats.SyncPartialOk++;
                return;
            }
            if (requested != "?") _server.Stats.SyncPartialErr++;
        }
        else state.PrePsync = true;
        _server.Stats.SyncFull++;
        state.State = ReplicaSyncState.WaitBgsaveStart;
        state.PendingFullResync = psync;
        state.AckTimeMs = state.SyncRequestMs = _server.NowMs;
        _server.Clients.MarkReplica(c); // its output buffer stops counting toward maxmemory
        _replicas.Add(c);
        if (_replicas.Count == 1 && _backlog == null)
        {
            // A backlog created from scratch starts a new history: nobody can continue an old one.
            ChangeReplicationId();
            ClearReplicationId2();
            _backlog = new ReplicationBuffer(_server.Config.ReplBacklogSize, MasterReplOffset);
            _server.Log.Notice($"Replication backlog created, my new replication IDs are '{ReplId}' and '{ReplId2}'");
        }
        var bg = _server.BackgroundSave;
        if (bg.ToDisk)
        {
            // A BGSAVE to disk is running: usable when another replica with the same requirements
            // waits for it, since the stream written after it began is referenced from that
            // replica's start offset on (an rdb-only one keeps no stream: only rdb-only ones join it).
            if (_replicas.Exists(r => r != c && r.ReplicaState!.State == ReplicaSyncState.WaitBgsaveEnd
                    && (!r.ReplicaState.RdbOnly || state.RdbOnly) && r.ReplicaState.Req == state.Req)
                && _backlog!.Contains(_syncStartOffset + 1))
            {
                state.State = ReplicaSyncState.WaitBgsaveEnd;
                state.SyncStartOffset = _syncStartOffset;
                if (!state.RdbOnly && _backlog.Locate(_syncStartOffset + 1) is ({ } block, int pos)) Attach(state, block, pos);
                if (psync) WriteFullResync(c, _syncStartOffset);
                _server.Log.Notice("Waiting for end of BGSAVE for SYNC");
            }
            else _server.Log.Notice("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
            return;
        }
        if (bg.ToReplicas)
        {
            _server.Log.Notice("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
            return;
        }
        if (_server.Config.GetBool("repl-diskless-sync") && state.CapaEof && _server.Config.GetLong("repl-diskless-sync-delay") > 0)
        {
            // Started by cron after the delay, so replicas arriving meanwhile share the transfer.
            _server.Log.Notice("Delay next BGSAVE for diskless SYNC");
            return;
        }
        if (_server.HasActiveChildProcess)
        {
            _server.Log.Notice("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed");
            return;
        }
        StartFullSyncSnapshot(state.Req);
    }

    /// <summary>
    /// masterTryPartialResynchronization: the id must be ours, or our secondary one with an offset
    /// it covers, and the backlog must still hold the offset; then +CONTINUE and the backlog from there.
    /// </summary>
    bool TryPartialResynchronization(Client c, string requested, long offset)
    {
        string name = ReplicaName(c);
        bool primaryId = requested.Equals(ReplId, StringComparison.OrdinalIgnoreCase);
        bool secondaryId = requested.Equals(ReplId2, StringComparison.OrdinalIgnoreCase);
        if (!primaryId && (!secondaryId || offset > SecondReplIdOffset))
        {
            if (requested == "?") _server.Log.Notice($"Full resync requested by replica {name}");
            else if (!primaryId && !secondaryId)
                _server.Log.Notice($"Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{requested}', my replication IDs are '{ReplId}' and '{ReplId2}')");
            else
                _server.Log.Notice($"Partial resynchronization not accepted: Requested offset for second ID was {offset}, but I can reply up to {SecondReplIdOffset}");
            return false;
        }
        if (_backlog == null || !_backlog.Contains(offset))
        {
            _server.Log.Notice($"Unable to partial resync with replica {name} for lack of backlog (Replica request was: {offset}).");
            if (offset > MasterReplOffset)
                _server.Log.Warning($"Warning: replica {name} tried to PSYNC with an offset that is greater than the master replication offset.");
            return false;
        }
        var state = c.ReplicaState!;
        state.State = ReplicaSyncState.Online;
        state.AckTimeMs = _server.NowMs;
        _server.Clients.MarkReplica(c);
        _replicas.Add(c);
        c.Output.Write(Encoding.ASCII.GetBytes(state.CapaPsync2 ? $"+CONTINUE {ReplId}\r\n" : "+CONTINUE\r\n"));
        long sent = _backlog.FirstByteOffset + _backlog.HistLen - offset;
        // The replica's reference starts at offset: the backlog's bytes from there are its stream.
        if (_backlog.Locate(offset) is ({ } block, int pos)) Attach(state, block, pos);
        _server.Log.Notice($"Partial resynchronization request from {name} accepted. Sending {sent} bytes of backlog starting from offset {offset}.");
        _server.Clients.QueueReplyWrite(c);
        RefreshGoodReplicasCount();
        return true;
    }

    static void WriteFullResync(Client c, long offset) =>
        c.Output.Write(Encoding.ASCII.GetBytes($"+FULLRESYNC {c.Server.Replication.ReplId} {offset}\r\n"));

    long _syncStartOffset;
    SyncRdb? _syncRdb;
    bool _syncUsesEofMark;
    byte[]? _syncEofMark;

    /// <summary>
    /// startBgsaveForReplication: one snapshot for every replica waiting to start with the
    /// requirements req (the others wait for the next one); the stream after it starts with a
    /// SELECT, and each of them references it in the shared buffer from its first write on.
    /// Diskless ($EOF, streamed to the sockets as the snapshot is written) when every one of them
    /// has capa eof and repl-diskless-sync is on or the RDB is filtered (a filtered RDB must not
    /// overwrite dbfilename; Sync refused filtered replicas without capa eof); otherwise a BGSAVE
    /// to dbfilename whose file they get when it ends (DiskSaveDone).
    /// </summary>
    void StartFullSyncSnapshot(ReplicaRequirements req)
    {
        bool allEof = true;
        foreach (var r in _replicas)
            if (r.ReplicaState!.State == ReplicaSyncState.WaitBgsaveStart && r.ReplicaState.Req == req) allEof &= r.ReplicaState.CapaEof;
        bool filtered = (req & ReplicaRequirements.RdbMask) != 0;
        bool socketTarget = allEof && (filtered || _server.Config.GetBool("repl-diskless-sync"));
        _server.Log.Notice($"Starting BGSAVE for SYNC with target: {(socketTarget ? "replicas sockets" : "disk")}");
        _replicaSelectedDb = -1; // replicationSetupSlaveForFullResync
        _syncStartOffset = MasterReplOffset;
        _syncUsesEofMark = socketTarget;
        if (!socketTarget)
        {
            // rdbSaveBackground: a real BGSAVE (it updates lastsave and the dirty count, and
            // stays useful with save points even when its replicas leave).
            if (!_server.BackgroundSave.Start())
            {
                RefuseWaitingReplicas();
                return;
            }
            _rdbGeneratedByReplication = true;
            SetUpWaitingReplicas(req);
            return;
        }
        // Diskless: "$EOF:<mark>" now, and each chunk streams to the replicas as the snapshot writes it.
        _syncEofMark = Encoding.ASCII.GetBytes(Server.RandomBytes.Hex(20)); // one per transfer, as Redis's child
        var rdb = _syncRdb = new SyncRdb(() => _server.Loop.Post(SyncRdbAppended));
        var header = Encoding.ASCII.GetBytes($"$EOF:{Encoding.ASCII.GetString(_syncEofMark)}\r\n");
        SetUpWaitingReplicas(req);
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            if (st.State != ReplicaSyncState.WaitBgsaveEnd) continue;
            r.Output.Write(header);
            st.RdbChunks = rdb;
            st.RdbChunk = st.RdbPos = 0;
            st.RdbSent = st.LastPartialWriteMs = 0;
        }
        _server.BackgroundSave.StartFor(BackgroundSave.SnapshotPurpose.Replicas, rdb, SaveInfo(), FullSyncSnapshotDone, holdBack: SlowestReplicaLags, req: req);
        // Redis names its child's pid; the snapshot runs in this process.
        _server.Log.Notice($"Background RDB transfer started by pid {Environment.ProcessId}");
    }

    /// <summary>replicationSetupSlaveForFullResync for each replica waiting to start with requirements req: +FULLRESYNC with the snapshot's offset.</summary>
    void SetUpWaitingReplicas(ReplicaRequirements req)
    {
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            if (st.State != ReplicaSyncState.WaitBgsaveStart || st.Req != req) continue;
            st.State = ReplicaSyncState.WaitBgsaveEnd;
            st.SyncStartOffset = _syncStartOffset;
            if (st.PendingFullResync) WriteFullResync(r, _syncStartOffset);
            _server.Clients.QueueReplyWrite(r);
        }
    }

    /// <summary>The BGSAVE for a disk-target sync could not start: its replicas get Redis's error and are closed after it.</summary>
    void RefuseWaitingReplicas()
    {
        _server.Log.Warning("BGSAVE for replication failed");
        foreach (var r in _replicas.ToArray())
        {
            if (r.ReplicaState!.State != ReplicaSyncState.WaitBgsaveStart) continue;
            _replicas.Remove(r);
            r.Reply.Error("BGSAVE failed, replication can't continue");
            r.Flags |= ClientFlags.CloseAfterReply;
            _server.Clients.QueueReplyWrite(r);
        }
        if (_replicas.Count == 0) _noReplicasSinceMs = _server.NowMs;
    }

    /// <summary>
    /// updateSlavesWaitingBgsave for a BGSAVE to disk (any BGSAVE: a user's or a save point's
    /// serves the replicas attached to it too): each waiting replica opens the saved file and
    /// gets "$&lt;size&gt;" and its bytes (SendBulk), then the stream since the save began; a
    /// failed or killed save drops them, and they reconnect.
    /// </summary>
    public void DiskSaveDone(bool ok)
    {
        foreach (var r in _replicas.ToArray())
        {
            var st = r.ReplicaState!;
            if (st.State != ReplicaSyncState.WaitBgsaveEnd) continue;
            if (!ok)
            {
                _server.Log.Warning("SYNC failed. BGSAVE child returned an error");
                _server.Clients.FreeClientAsync(r);
                continue;
            }
            FileStream file;
            try
            {
                file = new FileStream(RdbFile.PathOf(_server), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _server.Log.Warning($"SYNC failed. Can't open/stat DB after BGSAVE: {e.Message}");
                _server.Clients.FreeClientAsync(r);
                continue;
            }
            r.Output.Write(Encoding.ASCII.GetBytes($"${file.Length}\r\n"));
            st.RdbFile = file;
            st.RdbFileBuffer = System.Buffers.ArrayPool<byte>.Shared.Rent(SendBulkBufferSize);
            st.RdbBufPos = st.RdbBufLen = 0;
            st.RdbSent = st.LastPartialWriteMs = 0;
            st.State = ReplicaSyncState.SendBulk;
            _server.Clients.QueueReplyWrite(r);
        }
    }

    /// <summary>How much of the saved file a replica's send reads at a time (Redis reads PROTO_IOBUF_LEN per writable event and sends it).</summary>
    const int SendBulkBufferSize = 64 * 1024;

    /// <summary>The disk-target sync's file is sent: replicaPutOnline and replicaStartCommandStream.</summary>
    void SendBulkDone(Client r)
    {
        var st = r.ReplicaState!;
        CloseRdbFile(st);
        if (PutRdbOnlyReplicaAside(r)) return;
        st.State = ReplicaSyncState.Online;
        st.AckTimeMs = _server.NowMs;
        _server.Log.Notice($"Synchronization with replica {ReplicaName(r)} succeeded");
        RefreshGoodReplicasCount();
    }

    /// <summary>
    /// replicaPutOnline for an rdb-only replica: it never goes online (no stream, not counted by
    /// WAIT, min-replicas or INFO); it is closed once the rest of its RDB has left. False for any
    /// other replica.
    /// </summary>
    bool PutRdbOnlyReplicaAside(Client r)
    {
        if (!r.ReplicaState!.RdbOnly) return false;
        r.ReplicaState.State = ReplicaSyncState.RdbTransmitted;
        _server.Log.Notice($"RDB transfer completed, rdb only replica ({ReplicaName(r)}) should be disconnected asap");
        r.Flags |= ClientFlags.CloseAfterReply;
        return true;
    }

    static void CloseRdbFile(ReplicaState st)
    {
        if (st.RdbFile == null) return;
        st.RdbFile.Dispose();
        st.RdbFile = null;
        System.Buffers.ArrayPool<byte>.Shared.Return(st.RdbFileBuffer!);
        st.RdbFileBuffer = null;
    }

    /// <summary>RDBGeneratedByReplication: dbfilename was written for a disk-target sync (rdb-del-sync-files may remove it).</summary>
    bool _rdbGeneratedByReplication;

    /// <summary>
    /// removeRDBUsedToSyncReplicas (replicationCron): with rdb-del-sync-files, no save points and
    /// no AOF, the file a disk-target sync wrote is deleted once no replica waits for or reads it.
    /// </summary>
    void RemoveRdbUsedToSyncReplicas()
    {
        if (!_server.Config.GetBool("rdb-del-sync-files"))
        {
            _rdbGeneratedByReplication = false;
            return;
        }
        if (!_rdbGeneratedByReplication || _server.Config.SaveParams.Count > 0 || _server.Aof.Active) return;
        foreach (var r in _replicas)
            if (r.ReplicaState!.State is ReplicaSyncState.WaitBgsaveStart or ReplicaSyncState.WaitBgsaveEnd or ReplicaSyncState.SendBulk) return;
        string path = RdbFile.PathOf(_server);
        if (!File.Exists(path)) return;
        _rdbGeneratedByReplication = false;
        _server.Log.Notice("Removing the RDB file used to feed replicas in a persistence-less instance");
        try
        {
            File.Delete(path);
        }
        catch (IOException) { }
    }

    /// <summary>RDB bytes a streaming sync may have produced beyond what its slowest replica has taken (Redis's pipe and socket buffers).</summary>
    const long MaxUnsentRdbBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Before each slice of a streaming sync's snapshot: the chunks every replica has sent are
    /// released, and the walk waits while the slowest replica is more than MaxUnsentRdbBytes
    /// behind, as Redis's parent stops reading the rdb pipe until every replica drained.
    /// </summary>
    bool SlowestReplicaLags()
    {
        if (_syncRdb is not { } rdb) return false;
        int minChunk = int.MaxValue;
        long minSent = long.MaxValue;
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            if (!ReferenceEquals(st.RdbChunks, rdb)) continue;
            minChunk = Math.Min(minChunk, st.RdbChunk);
            minSent = Math.Min(minSent, st.RdbSent);
        }
        if (minChunk == int.MaxValue) return false;
        rdb.ReleaseBelow(minChunk);
        return rdb.Length - minSent > MaxUnsentRdbBytes;
    }

    /// <summary>A streaming sync's snapshot wrote a chunk (posted from its writer thread): its replicas send it.</summary>
    void SyncRdbAppended()
    {
        foreach (var r in _replicas)
            if (r.ReplicaState!.RdbChunks is { } rdb && ReferenceEquals(rdb, _syncRdb)) _server.Clients.QueueReplyWrite(r);
    }

    /// <summary>
    /// replicationStartPendingFork (serverCron): replicas waiting to start get their snapshot once
    /// nothing else runs and, for a diskless sync, the oldest waited repl-diskless-sync-delay
    /// seconds or repl-diskless-sync-max-replicas are waiting.
    /// </summary>
    public void StartPendingFullSync()
    {
        if (_server.HasActiveChildProcess) return;
        int waiting = 0;
        long maxIdleMs = 0;
        ReplicaRequirements req = ReplicaRequirements.None;
        foreach (var r in _replicas)
        {
            if (r.ReplicaState!.State != ReplicaSyncState.WaitBgsaveStart) continue;
            // The first waiting replica's requirements decide this snapshot; other ones wait for a later one.
            if (waiting == 0) req = r.ReplicaState.Req;
            else if (r.ReplicaState.Req != req) continue;
            waiting++;
            maxIdleMs = Math.Max(maxIdleMs, _server.NowMs - r.ReplicaState.SyncRequestMs);
        }
        if (waiting == 0) return;
        var config = _server.Config;
        long maxReplicas = config.GetLong("repl-diskless-sync-max-replicas");
        if (!config.GetBool("repl-diskless-sync") || (maxReplicas > 0 && waiting >= maxReplicas)
            || maxIdleMs >= config.GetLong("repl-diskless-sync-delay") * 1000)
            StartFullSyncSnapshot(req);
    }

    /// <summary>
    /// updateSlavesWaitingBgsave for a diskless sync: the snapshot is complete (error null) or
    /// failed. Its replicas got the chunks as they were written; the EOF mark ends the RDB, and
    /// the stream produced since the snapshot began follows each one's first REPLCONF ACK. A
    /// failure drops them.
    /// </summary>
    void FullSyncSnapshotDone(Exception? error)
    {
        var rdb = _syncRdb!;
        _syncRdb = null;
        rdb.Complete = error == null;
        int served = 0;
        foreach (var r in _replicas.ToArray())
        {
            var st = r.ReplicaState!;
            if (st.State != ReplicaSyncState.WaitBgsaveEnd) continue;
            if (error != null)
            {
                _server.Log.Warning("SYNC failed. BGSAVE child returned an error");
                _server.Clients.FreeClient(r);
                continue;
            }
            st.RdbTrailer = _syncEofMark;
            _server.Log.Notice($"Streamed RDB transfer with replica {ReplicaName(r)} succeeded (socket). Waiting for REPLCONF ACK from replica to enable streaming");
            served++;
            _server.Clients.QueueReplyWrite(r);
            if (PutRdbOnlyReplicaAside(r)) continue;
            st.StreamOnAck = true;
            st.State = ReplicaSyncState.Online;
            st.AckTimeMs = _server.NowMs;
        }
        if (error == null) _server.Log.Notice($"Diskless rdb transfer, done reading from pipe, {served} replicas still up.");
        _syncEofMark = null;
        RefreshGoodReplicasCount();
    }

    /// <summary>replicaStartCommandStream: a diskless replica's first ACK: the stream since its snapshot began follows.</summary>
    void StartCommandStream(Client r)
    {
        r.ReplicaState!.StreamOnAck = false;
        _server.Log.Notice($"Synchronization with replica {ReplicaName(r)} succeeded");
        _server.Clients.QueueReplyWrite(r);
    }

    /// <summary>
    /// rdbPopulateSaveInfo: the replication id and offset (and the stream's db) every RDB records,
    /// so a restarted server can continue the history: a primary's when it has a backlog, a
    /// replica's with the db of its master client (connected or cached).
    /// </summary>
    public RdbFile.ReplicationInfo? SaveInfo()
    {
        var replicaSide = _server.ReplicaSide;
        if (!IsReplicaRole) return _backlog == null ? null : new RdbFile.ReplicationInfo(StreamDb, ReplId, MasterReplOffset);
        if (replicaSide.Master != null) return new RdbFile.ReplicationInfo(replicaSide.Master.Db.Id, ReplId, MasterReplOffset);
        if (replicaSide.Cached != null) return new RdbFile.ReplicationInfo(replicaSide.Cached.Db, ReplId, MasterReplOffset);
        return null;
    }

    /// <summary>CONFIG SET repl-backlog-size takes effect at once.</summary>
    public void ResizeBacklog() => _backlog?.Resize(_server.Config.ReplBacklogSize);

    /// <summary>replicationGetSlaveName: the announced ip (or the peer address) and the listening port.</summary>
    internal static string ReplicaName(Client c)
    {
        string ip = c.ReplicaState?.AnnouncedIp ?? HostOf(c.RemoteAddress);
        int port = c.ReplicaState?.ListeningPort ?? 0;
        return port != 0 ? $"{ip}:{port}" : $"{ip}:<unknown-replica-port>";
    }

    internal static string HostOf(string address)
    {
        int colon = address.LastIndexOf(':');
        return colon < 0 ? address : address[..colon].Trim('[', ']');
    }

    // ------------------------------------------------------------ REPLCONF

    /// <summary>replconfCommand: option/value pairs a replica sends before and after SYNC.</summary>
    public void Replconf(Client c)
    {
        var args = c.Args;
        if (args.Count % 2 == 0)
        {
            c.Reply.Error(Commands.Errors.Syntax);
            return;
        }
        var state = c.ReplicaState ??= new ReplicaState();
        for (int j = 1; j < args.Count; j += 2)
        {
            if (args.Is(j, "listening-port"))
            {
                if (!Commands.Arguments.TryGetLong(c, j + 1, out long port)) return;
                state.ListeningPort = (int)port;
            }
            else if (args.Is(j, "ip-address"))
            {
                string ip = args.ToStringAt(j + 1);
                if (ip.Length >= 46)
                {
                    c.Reply.Error($"REPLCONF ip-address provided by replica instance is too long: {ip.Length} bytes");
                    return;
                }
                state.AnnouncedIp = ip;
            }
            else if (args.Is(j, "capa"))
            {
                if (args.Is(j + 1, "eof")) state.CapaEof = true;
                else if (args.Is(j + 1, "psync2")) state.CapaPsync2 = true;
            }
            else if (args.Is(j, "ack"))
            {
                // An ACK never gets a reply: the replica does not read one.
                if (!c.HasFlag(ClientFlags.Replica)) return;
                if (!long.TryParse(args.ToStringAt(j + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long offset)) return;
                if (offset > state.AckOffset) state.AckOffset = offset;
                state.AckTimeMs = _server.NowMs;
                if (state.StreamOnAck && state.Online) StartCommandStream(c);
                RefreshGoodReplicasCount();
                _acksArrived = true;
                return;
            }
            else if (args.Is(j, "getack"))
            {
                // The primary asks for our applied offset (WAIT on it): answered even to the master client.
                if (c.HasFlag(ClientFlags.Master)) _server.ReplicaSide.SendAck();
                return;
            }
            else if (args.Is(j, "rdb-only"))
            {
                // The RDB alone, no stream (redis-cli --rdb): the connection closes after the transfer.
                if (!Commands.Arguments.TryGetLong(c, j + 1, out long rdbOnly)) return;
                if (rdbOnly is < 0 or > 1)
                {
                    c.Reply.Error("value is out of range, value must between 0 and 1");
                    return;
                }
                state.RdbOnly = rdbOnly == 1;
            }
            else if (args.Is(j, "rdb-filter-only"))
            {
                // "Include" filters for the RDB: everything is excluded but what is named, and
                // "functions" is the only filter there is ("" asks for an RDB of AUX fields alone).
                if (AofManifest.SplitArgs(args.ToStringAt(j + 1)) is not { } filters)
                {
                    c.Reply.Error("Missing rdb-filter-only values");
                    return;
                }
                state.Req |= ReplicaRequirements.RdbExcludeData | ReplicaRequirements.RdbExcludeFunctions;
                foreach (string filter in filters)
                {
                    if (!filter.Equals("functions", StringComparison.OrdinalIgnoreCase))
                    {
                        c.Reply.Error($"Unsupported rdb-filter-only option: {filter}");
                        return;
                    }
                    state.Req &= ~ReplicaRequirements.RdbExcludeFunctions;
                }
            }
            else
            {
                c.Reply.Error($"Unrecognized REPLCONF option: {args.ToStringAt(j)}");
                return;
            }
        }
        c.Reply.Ok();
    }

    // ------------------------------------------------------------ cron and lifecycle

    /// <summary>
    /// replicationCron (once a second): PING replicas every repl-ping-replica-period seconds,
    /// drop replicas silent for repl-timeout, free the backlog repl-backlog-ttl seconds after
    /// the last replica left.
    /// </summary>
    public void Cron()
    {
        _cronLoops++;
        // Not during a FAILOVER or a shutdown waiting for acknowledgements: the PING would move our
        // offset past what the replicas acknowledged.
        if (_replicas.Count > 0 && _cronLoops % Math.Max(1, _server.Config.GetLong("repl-ping-replica-period")) == 0 && !_server.Pause.FailoverPaused && !_server.ShutdownSequence.Initiated)
            FeedInCurrentDb("*1\r\n$4\r\nping\r\n"u8);
        // Replicas waiting for their RDB get a newline now and then, so their repl-timeout does not fire.
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            if (st.State == ReplicaSyncState.WaitBgsaveStart || (st.State == ReplicaSyncState.WaitBgsaveEnd && !_syncUsesEofMark))
            {
                r.Output.Write("\n"u8);
                _server.Clients.QueueReplyWrite(r);
            }
        }
        long timeoutMs = _server.Config.GetLong("repl-timeout") * 1000;
        foreach (var r in _replicas.ToArray())
        {
            var st = r.ReplicaState!;
            // A streaming sync's replica whose socket has taken nothing for repl-timeout.
            if (((st.State == ReplicaSyncState.WaitBgsaveEnd && _syncUsesEofMark) || st.State == ReplicaSyncState.RdbTransmitted) && st.LastPartialWriteMs != 0
                && _server.NowMs - st.LastPartialWriteMs > timeoutMs)
            {
                _server.Log.Warning($"Disconnecting timedout replica (full sync): {ReplicaName(r)}");
                _server.Clients.FreeClient(r);
                continue;
            }
            if (!st.Online || st.PrePsync) continue;
            if (_server.NowMs - st.AckTimeMs > timeoutMs)
            {
                _server.Log.Warning($"Disconnecting timedout replica (streaming sync): {ReplicaName(r)}");
                _server.Clients.FreeClient(r);
            }
        }
        RemoveRdbUsedToSyncReplicas();
        long ttl = _server.Config.GetLong("repl-backlog-ttl");
        // A replica keeps its backlog: it may be promoted, and its replicas may continue then.
        if (_replicas.Count == 0 && _backlog != null && ttl > 0 && !IsReplicaRole && _server.NowMs - _noReplicasSinceMs > ttl * 1000)
        {
            _backlog = null;
            _server.Log.Notice($"Replication backlog freed after {ttl} seconds without connected replicas.");
        }
        RefreshGoodReplicasCount();
    }

    /// <summary>freeClient of a replica: it leaves the list; the backlog's TTL starts with the last one.</summary>
    public void FreeClient(Client c)
    {
        if (!c.HasFlag(ClientFlags.Replica) || !_replicas.Remove(c)) return;
        _server.Log.Notice($"Connection with replica {ReplicaName(c)} lost.");
        Release(c.ReplicaState!);
        CloseRdbFile(c.ReplicaState!);
        if (_replicas.Count == 0) _noReplicasSinceMs = _server.NowMs;
        // The full sync's snapshot serves nobody once its last replica is gone; a BGSAVE to disk
        // still does when save points make the file matter.
        var bg = _server.BackgroundSave;
        if (c.ReplicaState!.State == ReplicaSyncState.WaitBgsaveEnd
            && !_replicas.Exists(r => r.ReplicaState!.State == ReplicaSyncState.WaitBgsaveEnd))
        {
            if (bg.ToReplicas)
            {
                _server.Log.Warning("Diskless rdb transfer, last replica dropped, killing fork child.");
                bg.Kill();
            }
            else if (bg.ToDisk && _server.Config.SaveParams.Count == 0) bg.Kill();
        }
        RefreshGoodReplicasCount();
    }

    /// <summary>The INFO replication lines of the replicas: slaveN:ip=...,port=...,state=online,offset=...,lag=...</summary>
    public void AppendReplicaInfo(StringBuilder sb)
    {
        int i = 0;
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            if (st.StateName.Length == 0) continue; // an rdb-only replica whose RDB is out: not listed, as Redis
            string ip = st.AnnouncedIp ?? HostOf(r.RemoteAddress);
            long lag = (_server.NowMs - st.AckTimeMs) / 1000;
            sb.Append(CultureInfo.InvariantCulture, $"slave{i++}:ip={ip},port={st.ListeningPort},state={st.StateName},offset={st.AckOffset},lag={lag}\r\n");
        }
    }
}
