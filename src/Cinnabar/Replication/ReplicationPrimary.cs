// The primary side of replication (Redis's replication.c: syncCommand, replconfCommand,
// replicationFeedSlaves, replicationCron). A replica sends SYNC or PSYNC; it gets
// +FULLRESYNC <replid> <offset> (PSYNC only), an RDB of the dataset as a "$<len>\r\n" bulk
// without trailing CRLF, and from then on every propagated command, with SELECT whenever the
// db differs from the last one sent. The RDB is the forkless snapshot (Persistence/Snapshot)
// taken into memory while clients keep writing; what they write meanwhile goes to the backlog,
// and a replica gets the backlog from the snapshot's start offset right after the RDB, so its
// stream continues exactly where the snapshot's point in time is. Replicas that ask while that
// snapshot runs share it; those that ask during a BGSAVE wait for the next one.
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Cinnabar.Networking;
using Cinnabar.Persistence;

namespace Cinnabar.Replication;

/// <summary>What a primary knows of one attached replica (the slave fields of Redis's client struct).</summary>
public sealed class ReplicaState
{
    public int ListeningPort;
    public string? AnnouncedIp;
    public bool CapaEof, CapaPsync2;

    /// <summary>SYNC instead of PSYNC (CLIENT_PRE_PSYNC): an old replica that never sends REPLCONF ACK.</summary>
    public bool PrePsync;

    /// <summary>Attached and streaming (SLAVE_STATE_ONLINE); false until the RDB was queued.</summary>
    public bool Online;

    /// <summary>SLAVE_STATE_WAIT_BGSAVE_START: waiting for a snapshot to start (one for a BGSAVE was running).</summary>
    public bool WaitBgsaveStart;

    /// <summary>Asked with PSYNC while waiting to start: +FULLRESYNC goes out when the snapshot starts, with its offset.</summary>
    public bool PendingFullResync;

    public long AckOffset;
    public long AckTimeMs;
}

public sealed class ReplicationPrimary
{
    readonly CinnabarServer _server;
    readonly List<Client> _replicas = new();
    ReplicationBacklog? _backlog;
    long _noReplicasSinceMs;
    long _cronLoops;

    /// <summary>server.slaveseldb: the db of the last command sent to replicas; -1 forces a SELECT.</summary>
    int _replicaSelectedDb = -1;

    /// <summary>master_replid: the history this primary's stream belongs to.</summary>
    public string ReplId { get; } = Server.RandomBytes.Hex(20);

    /// <summary>master_repl_offset: bytes of stream produced since the history began.</summary>
    public long MasterReplOffset { get; private set; }

    public ReplicationPrimary(CinnabarServer server) => _server = server;

    /// <summary>Whether propagated commands go anywhere: a replica is attached or the backlog keeps history.</summary>
    public bool FeedsReplicas => _backlog != null;

    public IReadOnlyList<Client> Replicas => _replicas;
    public ReplicationBacklog? Backlog => _backlog;

    /// <summary>
    /// replicationFeedSlaves: SELECT first when the db changed, then the command, into the
    /// backlog and every online replica's output buffer.
    /// </summary>
    public void Feed(int db, ReadOnlySpan<byte> command)
    {
        if (_backlog == null) return;
        if (db != _replicaSelectedDb)
        {
            Span<byte> select = stackalloc byte[40];
            Write(select[..FormatSelect(select, db)]);
            _replicaSelectedDb = db;
        }
        Write(command);
    }

    /// <summary>A command sent in whatever db the stream is in (the periodic PING): no SELECT.</summary>
    void FeedInCurrentDb(ReadOnlySpan<byte> command) => Write(command);

    void Write(ReadOnlySpan<byte> bytes)
    {
        _backlog!.Feed(bytes);
        MasterReplOffset += bytes.Length;
        foreach (var r in _replicas)
        {
            if (!r.ReplicaState!.Online || r.HasFlag(ClientFlags.CloseAsap)) continue;
            r.Output.Write(bytes);
            _server.Clients.QueueReplyWrite(r);
            // A replica that can't keep up is dropped at client-output-buffer-limit replica.
            if (r.Output.ListBytes > 0) _server.Clients.CheckOutputBufferLimitsAsync(r);
        }
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

    // ------------------------------------------------------------ SYNC / PSYNC

    /// <summary>
    /// syncCommand: SYNC, or PSYNC &lt;replid&gt; &lt;offset&gt;. A partial resync is not served
    /// yet, so every request gets a full one: FULLRESYNC (PSYNC), then, once the snapshot is
    /// complete, the RDB and the stream (FullSyncSnapshotDone).
    /// </summary>
    public void Sync(Client c, bool psync)
    {
        if (c.HasFlag(ClientFlags.Replica)) return; // already a replica: ignored, as Redis does
        if (c.Output.HasPending)
        {
            c.Reply.Error("SYNC and PSYNC are invalid with pending output");
            return;
        }
        string name = ReplicaName(c);
        _server.Log.Notice($"Replica {name} asks for synchronization");
        if (psync)
        {
            string requested = c.Args.ToStringAt(1);
            if (requested != "?")
                _server.Log.Notice($"Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{requested}', my replication IDs are '{ReplId}' and '{new string('0', 40)}')");
            else _server.Log.Notice($"Full resync requested by replica {name}");
        }
        var state = c.ReplicaState ??= new ReplicaState();
        state.PrePsync = !psync;
        state.AckTimeMs = _server.NowMs;
        _server.Clients.MarkReplica(c); // its output buffer stops counting toward maxmemory
        _replicas.Add(c);
        CreateBacklogIfNeeded();
        var bg = _server.BackgroundSave;
        if (bg.ToReplicas)
        {
            // A full sync's snapshot is running: this replica shares it (same RDB, same start offset).
            if (psync) c.Reply.Protocol_(Encoding.ASCII.GetBytes($"+FULLRESYNC {ReplId} {_syncStartOffset}\r\n"));
            _server.Log.Notice("Waiting for end of BGSAVE for SYNC");
            return;
        }
        if (_server.HasActiveChildProcess)
        {
            state.WaitBgsaveStart = true;
            state.PendingFullResync = psync;
            _server.Log.Notice("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
            return;
        }
        StartFullSyncSnapshot(psync ? c : null);
    }

    long _syncStartOffset;
    RdbBuffer? _syncRdb;

    /// <summary>
    /// startBgsaveForReplication: one snapshot into memory for every replica waiting to start; the
    /// stream after it starts with a SELECT and is read back from the backlog from this offset.
    /// </summary>
    void StartFullSyncSnapshot(Client? psyncNow)
    {
        _replicaSelectedDb = -1; // replicationSetupSlaveForFullResync
        _syncStartOffset = MasterReplOffset;
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            if (!st.WaitBgsaveStart) continue;
            st.WaitBgsaveStart = false;
            if (st.PendingFullResync) r.Reply.Protocol_(Encoding.ASCII.GetBytes($"+FULLRESYNC {ReplId} {_syncStartOffset}\r\n"));
            _server.Clients.QueueReplyWrite(r);
        }
        if (psyncNow != null) psyncNow.Reply.Protocol_(Encoding.ASCII.GetBytes($"+FULLRESYNC {ReplId} {_syncStartOffset}\r\n"));
        _server.Log.Notice("Starting BGSAVE for SYNC with target: replicas sockets");
        _syncRdb = new RdbBuffer();
        _server.BackgroundSave.StartFor(BackgroundSave.SnapshotPurpose.Replicas, _syncRdb, SaveInfo(), FullSyncSnapshotDone);
    }

    /// <summary>replicationStartPendingFork (serverCron): replicas that waited for a BGSAVE to end get their snapshot.</summary>
    public void StartPendingFullSync()
    {
        if (_server.HasActiveChildProcess) return;
        foreach (var r in _replicas)
            if (r.ReplicaState!.WaitBgsaveStart)
            {
                StartFullSyncSnapshot(null);
                return;
            }
    }

    /// <summary>
    /// updateSlavesWaitingBgsave: the snapshot is complete (error null) or failed. Each waiting
    /// replica gets $len, the RDB, then the stream produced since the snapshot began (from the
    /// backlog), and is online; a failure, or a backlog that no longer holds that stream, drops it.
    /// </summary>
    void FullSyncSnapshotDone(Exception? error)
    {
        var rdb = _syncRdb!;
        _syncRdb = null;
        foreach (var r in _replicas.ToArray())
        {
            var st = r.ReplicaState!;
            if (st.Online || st.WaitBgsaveStart) continue;
            string name = ReplicaName(r);
            if (error != null)
            {
                _server.Log.Warning("SYNC failed. BGSAVE child returned an error");
                _server.Clients.FreeClient(r);
                continue;
            }
            if (_backlog == null || !_backlog.Contains(_syncStartOffset + 1, MasterReplOffset))
            {
                _server.Log.Warning($"Client {name} scheduled to be closed ASAP: the writes made during its full sync no longer fit in the replication backlog (repl-backlog-size)");
                _server.Clients.FreeClient(r);
                continue;
            }
            r.Reply.Protocol_(Encoding.ASCII.GetBytes($"${rdb.Length}\r\n"));
            foreach (var (chunk, len) in rdb.Chunks) r.Output.Write(chunk.AsSpan(0, len));
            _backlog.CopyFrom(_syncStartOffset + 1, r.Output.Write);
            st.Online = true;
            st.AckTimeMs = _server.NowMs;
            _server.Log.Notice($"Synchronization with replica {name} succeeded");
            _server.Clients.QueueReplyWrite(r);
        }
    }

    /// <summary>The RDB of a full sync, in the chunks the snapshot's writer thread wrote (never disposed away).</summary>
    sealed class RdbBuffer : Stream
    {
        public readonly List<(byte[] Chunk, int Length)> Chunks = new();
        long _length;

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Chunks.Add((buffer.ToArray(), buffer.Length));
            _length += buffer.Length;
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    /// <summary>
    /// rdbPopulateSaveInfo: a primary with a backlog records its replication id and offset (and
    /// the stream's db) in every RDB it saves, so a restarted server could continue the history.
    /// </summary>
    public RdbFile.ReplicationInfo? SaveInfo() =>
        _backlog == null ? null : new RdbFile.ReplicationInfo(_replicaSelectedDb == -1 ? 0 : _replicaSelectedDb, ReplId, MasterReplOffset);

    void CreateBacklogIfNeeded()
    {
        if (_backlog != null) return;
        _backlog = new ReplicationBacklog(_server.Config.ReplBacklogSize, MasterReplOffset);
        _server.Log.Notice($"Replication backlog created, my new replication IDs are '{ReplId}' and '{new string('0', 40)}'");
    }

    /// <summary>CONFIG SET repl-backlog-size takes effect at once.</summary>
    public void ResizeBacklog() => _backlog?.Resize(_server.Config.ReplBacklogSize, MasterReplOffset);

    /// <summary>replicationGetSlaveName: the announced ip (or the peer address) and the listening port.</summary>
    static string ReplicaName(Client c)
    {
        string ip = c.ReplicaState?.AnnouncedIp ?? HostOf(c.RemoteAddress);
        int port = c.ReplicaState?.ListeningPort ?? 0;
        return port != 0 ? $"{ip}:{port}" : $"{ip}:<unknown-replica-port>";
    }

    static string HostOf(string address)
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
                return;
            }
            else if (args.Is(j, "getack"))
            {
                return; // sent by a primary to its replica; a primary has nothing to answer
            }
            else if (args.Is(j, "rdb-only") || args.Is(j, "rdb-filter-only"))
            {
                // Accepted so tools that ask for the RDB alone (redis-cli --rdb) can sync.
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
        if (_replicas.Count > 0 && _cronLoops % Math.Max(1, _server.Config.GetLong("repl-ping-replica-period")) == 0)
            FeedInCurrentDb("*1\r\n$4\r\nping\r\n"u8);
        long timeoutMs = _server.Config.GetLong("repl-timeout") * 1000;
        foreach (var r in _replicas.ToArray())
        {
            var st = r.ReplicaState!;
            if (!st.Online || st.PrePsync) continue;
            if (_server.NowMs - st.AckTimeMs > timeoutMs)
            {
                _server.Log.Warning($"Disconnecting timedout replica (streaming sync): {ReplicaName(r)}");
                _server.Clients.FreeClient(r);
            }
        }
        long ttl = _server.Config.GetLong("repl-backlog-ttl");
        if (_replicas.Count == 0 && _backlog != null && ttl > 0 && _server.NowMs - _noReplicasSinceMs > ttl * 1000)
        {
            _backlog = null;
            _server.Log.Notice($"Replication backlog freed after {ttl} seconds without connected replicas.");
        }
    }

    /// <summary>freeClient of a replica: it leaves the list; the backlog's TTL starts with the last one.</summary>
    public void FreeClient(Client c)
    {
        if (!c.HasFlag(ClientFlags.Replica) || !_replicas.Remove(c)) return;
        _server.Log.Notice($"Connection with replica {ReplicaName(c)} lost.");
        if (_replicas.Count == 0) _noReplicasSinceMs = _server.NowMs;
    }

    /// <summary>The INFO replication lines of the replicas: slaveN:ip=...,port=...,state=online,offset=...,lag=...</summary>
    public void AppendReplicaInfo(StringBuilder sb)
    {
        int i = 0;
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            string ip = st.AnnouncedIp ?? HostOf(r.RemoteAddress);
            long lag = (_server.NowMs - st.AckTimeMs) / 1000;
            sb.Append(CultureInfo.InvariantCulture, $"slave{i++}:ip={ip},port={st.ListeningPort},state={(st.Online ? "online" : "wait_bgsave")},offset={st.AckOffset},lag={lag}\r\n");
        }
    }
}
