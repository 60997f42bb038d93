// What a primary keeps per attached replica (the slave fields of Redis's client struct): its
// announced address and capabilities, what it wants of the RDB (rdb-only, rdb-filter-only),
// where its synchronization stands, its place in the full sync's RDB transfer (the snapshot's
// chunks, or the file a disk-target sync saved) and in the shared replication buffer, and its
// acknowledged offset.
namespace Cinnabar.Replication;

/// <summary>slave->replstate: where an attached replica's synchronization stands.</summary>
public enum ReplicaSyncState
{
    /// <summary>SLAVE_STATE_WAIT_BGSAVE_START: waiting for a snapshot to start.</summary>
    WaitBgsaveStart,
    /// <summary>SLAVE_STATE_WAIT_BGSAVE_END: its snapshot runs; the RDB goes out when it ends (a diskless one as it is written).</summary>
    WaitBgsaveEnd,
    /// <summary>SLAVE_STATE_SEND_BULK: a disk-target sync's file is being sent; the stream follows it.</summary>
    SendBulk,
    /// <summary>SLAVE_STATE_ONLINE: the RDB (or +CONTINUE) was queued; it gets the stream.</summary>
    Online,
    /// <summary>SLAVE_STATE_RDB_TRANSMITTED: an rdb-only replica's RDB is out; it is closed once the bytes have left, never online.</summary>
    RdbTransmitted,
}

/// <summary>
/// slave_req: what a replica wants in its full sync's RDB (REPLCONF rdb-filter-only). A filtered
/// RDB is always produced for the replicas' sockets, never into dbfilename, and only replicas with
/// the same requirements share one snapshot.
/// </summary>
[Flags]
public enum ReplicaRequirements
{
    /// <summary>SLAVE_REQ_NONE: the whole dataset.</summary>
    None = 0,
    /// <summary>SLAVE_REQ_RDB_EXCLUDE_DATA: no keys (the AUX fields stay).</summary>
    RdbExcludeData = 1,
    /// <summary>SLAVE_REQ_RDB_EXCLUDE_FUNCTIONS: no function libraries.</summary>
    RdbExcludeFunctions = 2,
    /// <summary>SLAVE_REQ_RDB_MASK: any filter at all.</summary>
    RdbMask = RdbExcludeData | RdbExcludeFunctions,
}

/// <summary>What a primary knows of one attached replica (the slave fields of Redis's client struct).</summary>
public sealed class ReplicaState
{
    public int ListeningPort;
    public string? AnnouncedIp;
    public bool CapaEof, CapaPsync2;

    /// <summary>SYNC instead of PSYNC (CLIENT_PRE_PSYNC): an old replica that never sends REPLCONF ACK.</summary>
    public bool PrePsync;

    /// <summary>CLIENT_REPL_RDBONLY (REPLCONF rdb-only 1): it wants the RDB alone: no stream, closed after the transfer.</summary>
    public bool RdbOnly;

    /// <summary>slave_req: the RDB filter it asked for (REPLCONF rdb-filter-only).</summary>
    public ReplicaRequirements Req;

    public ReplicaSyncState State;

    /// <summary>Asked with PSYNC while waiting to start: +FULLRESYNC goes out when the snapshot starts, with its offset.</summary>
    public bool PendingFullResync;

    /// <summary>repl_start_cmd_stream_on_ack: after a diskless RDB the stream starts with the replica's first ACK.</summary>
    public bool StreamOnAck;

    /// <summary>When it asked for a full sync: how long it has waited (repl-diskless-sync-delay).</summary>
    public long SyncRequestMs;

    /// <summary>
    /// The full sync's RDB still to send: the snapshot's chunks, shared by every replica of that
    /// sync (no copy per replica), this replica's position in them, then the EOF mark (diskless,
    /// set when the snapshot is complete; until then the chunks stream as they come).
    /// </summary>
    public SyncRdb? RdbChunks;
    public int RdbChunk, RdbPos;
    public byte[]? RdbTrailer;

    /// <summary>
    /// repldbfd: a disk-target sync's RDB file (the BGSAVE's dbfilename), opened for this replica
    /// when the save ended and sent from its start through RdbFileBuffer (RdbBufPos of RdbBufLen
    /// read bytes sent); null when none.
    /// </summary>
    public FileStream? RdbFile;
    public byte[]? RdbFileBuffer;
    public int RdbBufPos, RdbBufLen;

    /// <summary>RDB bytes sent so far (how far behind the snapshot this replica is).</summary>
    public long RdbSent;

    /// <summary>repl_last_partial_write: ms of the first send the socket did not take whole since it last drained (0: drained).</summary>
    public long LastPartialWriteMs;

    /// <summary>ref_repl_buf_node / ref_block_pos: where in the shared replication buffer its next stream byte is (null until its stream starts).</summary>
    public ReplBufBlock? RefBlock;
    public int RefPos;

    /// <summary>The offset its full sync's RDB stands for: the stream it gets starts right after.</summary>
    public long SyncStartOffset;

    public long AckOffset;
    public long AckTimeMs;

    /// <summary>Attached and streaming.</summary>
    public bool Online => State == ReplicaSyncState.Online;

    /// <summary>replstateToString: the state INFO replication shows.</summary>
    public string StateName => State switch
    {
        ReplicaSyncState.Online => "online",
        ReplicaSyncState.SendBulk => "send_bulk",
        ReplicaSyncState.RdbTransmitted => "",
        _ => "wait_bgsave",
    };
}
