// The stream's way out to replicas (Redis 7.0's feedReplicationBuffer fan-out and
// _writeToClient for replicas): each write goes once into the shared replication buffer, a
// replica whose stream starts there takes a reference, and its socket write sends first the
// rest of its full sync's RDB (from the snapshot's shared chunks, or from the file a disk-target
// sync saved), then the stream from its reference, block by block; what it still holds is what
// client-output-buffer-limit measures. A replica connected over TLS gets the same bytes through
// its TlsConnection, encrypted a piece at a time while the socket keeps up; a plain one gets
// them straight from the shared buffers (no copy).
using Cinnabar.Networking;

namespace Cinnabar.Replication;

public sealed partial class ReplicationPrimary
{
    /// <summary>
    /// The stream goes into the shared buffer once; a replica that has no reference yet (its
    /// stream starts here) takes one, and online ones are queued for writing. A new block means
    /// memory grew: the output buffer limits are checked and the backlog trimmed.
    /// </summary>
    void Write(ReadOnlySpan<byte> bytes)
    {
        var (block, pos, added) = _backlog!.Feed(bytes, MasterReplOffset);
        MasterReplOffset += bytes.Length;
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            // canFeedReplicaReplBuffer: not one waiting to start, an rdb-only one, or one being closed.
            if (st.State == ReplicaSyncState.WaitBgsaveStart || st.RdbOnly || r.HasFlag(ClientFlags.CloseAsap)) continue;
            if (st.RefBlock == null) Attach(st, block, pos);
            if (st.Online && !st.StreamOnAck) _server.Clients.QueueReplyWrite(r);
            // A replica that can't keep up is dropped at client-output-buffer-limit replica.
            if (added) _server.Clients.CheckOutputBufferLimitsAsync(r);
        }
        if (added) _backlog.Trim();
    }

    static void Attach(ReplicaState st, ReplBufBlock block, int pos)
    {
        st.RefBlock = block;
        st.RefPos = pos;
        block.RefCount++;
    }

    /// <summary>freeReplicaReferencedReplBuffer: the replica no longer holds its block; the backlog may shrink.</summary>
    void Release(ReplicaState st)
    {
        if (st.RefBlock == null) return;
        st.RefBlock.RefCount--;
        st.RefBlock = null;
        st.RefPos = 0;
        _backlog?.Trim();
    }

    /// <summary>
    /// _writeToClient for a replica, after its own replies (+FULLRESYNC and the transfer's header,
    /// +CONTINUE): the rest of its full sync's RDB from the snapshot's shared chunks and the EOF
    /// mark, then the shared stream from its reference on, moving the reference block by block
    /// (the backlog trims what nobody needs any more). Returns the bytes written; failed on a
    /// socket error.
    /// </summary>
    internal long WriteReplicaData(Client c, System.Net.Sockets.Socket socket, out bool failed)
    {
        failed = false;
        var st = c.ReplicaState!;
        // A replica dropped for its output limit gets nothing more (handleClientsWithPendingWrites skips CLOSE_ASAP).
        if (c.HasFlag(ClientFlags.CloseAsap)) return 0;
        long total = 0;
        var tls = c.Tls;
        if (st.RdbChunks != null)
        {
            total += WriteTransfer(st, socket, tls, _server.NowMs, out failed);
            if (failed || st.RdbChunks != null) return total; // the stream waits for the whole RDB
        }
        if (st.RdbFile != null)
        {
            total += SendBulkToReplica(c, socket, out failed);
            if (failed || st.RdbFile != null) return total;
        }
        if (st.RefBlock == null || !st.Online || st.StreamOnAck) return total;
        while (true)
        {
            var b = st.RefBlock!;
            if (st.RefPos < b.Used)
            {
                int n = Send(socket, tls, b.Buf, st.RefPos, b.Used - st.RefPos, out failed);
                if (n <= 0) break;
                st.RefPos += n;
                total += n;
                if (st.RefPos < b.Used) break; // the socket took less: wait for writable
            }
            if (b.Next is not { } next) break;
            b.RefCount--;
            next.RefCount++;
            st.RefBlock = next;
            st.RefPos = 0;
            _backlog?.Trim();
        }
        return total;
    }

    /// <summary>The RDB chunks from the replica's position, then (once complete) the EOF mark; RdbChunks goes null when all is sent.</summary>
    static long WriteTransfer(ReplicaState st, System.Net.Sockets.Socket socket, TlsConnection? tls, long nowMs, out bool failed)
    {
        failed = false;
        long total = 0;
        var chunks = st.RdbChunks!;
        while (st.RdbChunk < chunks.Count)
        {
            var (chunk, len) = chunks[st.RdbChunk];
            int n = Send(socket, tls, chunk, st.RdbPos, len - st.RdbPos, out failed);
            st.RdbPos += Math.Max(n, 0);
            st.RdbSent += Math.Max(n, 0);
            total += Math.Max(n, 0);
            if (st.RdbPos < len)
            {
                // The socket is full: the replica is slow (or stopped) since this moment.
                if (st.LastPartialWriteMs == 0) st.LastPartialWriteMs = nowMs;
                return total;
            }
            st.RdbChunk++;
            st.RdbPos = 0;
        }
        st.LastPartialWriteMs = 0;
        if (!chunks.Complete) return total; // a streaming sync: more chunks come as the snapshot writes them
        if (st.RdbTrailer is { } trailer)
        {
            int n = Send(socket, tls, trailer, st.RdbPos, trailer.Length - st.RdbPos, out failed);
            if (n <= 0) return total;
            st.RdbPos += n;
            total += n;
            if (st.RdbPos < trailer.Length) return total;
        }
        st.RdbChunks = null; // done: the snapshot's chunks can go once every replica is through
        st.RdbTrailer = null;
        st.RdbChunk = st.RdbPos = 0;
        return total;
    }

    /// <summary>
    /// sendBulkToSlave: the saved RDB file from where this replica is, read a buffer at a time
    /// and sent until the socket is full; at its end the replica goes online and its stream
    /// (referenced since the save began) follows.
    /// </summary>
    long SendBulkToReplica(Client c, System.Net.Sockets.Socket socket, out bool failed)
    {
        failed = false;
        var st = c.ReplicaState!;
        var buf = st.RdbFileBuffer!;
        long total = 0;
        while (true)
        {
            if (st.RdbBufPos == st.RdbBufLen)
            {
                int read;
                try
                {
                    read = st.RdbFile!.Read(buf, 0, SendBulkBufferSize);
                }
                catch (IOException e)
                {
                    _server.Log.Warning($"Read error sending DB to replica: {e.Message}");
                    failed = true;
                    return total;
                }
                if (read == 0)
                {
                    SendBulkDone(c);
                    return total;
                }
                st.RdbBufPos = 0;
                st.RdbBufLen = read;
            }
            int n = Send(socket, c.Tls, buf, st.RdbBufPos, st.RdbBufLen - st.RdbBufPos, out failed);
            if (n <= 0) return total;
            st.RdbBufPos += n;
            st.RdbSent += n;
            total += n;
        }
    }

    /// <summary>A non-blocking send (through TLS for a TLS replica): the bytes taken, 0 when the socket is full, -1 with failed on an error.</summary>
    static int Send(System.Net.Sockets.Socket socket, TlsConnection? tls, byte[] buf, int offset, int count, out bool failed)
    {
        failed = false;
        if (count == 0) return 0;
        if (tls != null) return tls.SendBulk(socket, buf, offset, count, out failed);
        int n = socket.Send(buf, offset, count, System.Net.Sockets.SocketFlags.None, out var err);
        if (err == System.Net.Sockets.SocketError.WouldBlock) return 0;
        if (err == System.Net.Sockets.SocketError.Success) return n;
        failed = true;
        return -1;
    }

    /// <summary>Test seam: the replica's pending stream counts as sent, as a socket that took it all would.</summary>
    internal void SkipStream(Client c)
    {
        var st = c.ReplicaState!;
        if (st.RefBlock == null || _backlog?.Tail is not { } tail) return;
        st.RefBlock.RefCount--;
        tail.RefCount++;
        st.RefBlock = tail;
        st.RefPos = tail.Used;
        _backlog.Trim();
    }

    /// <summary>Whether a replica has RDB or stream bytes left to send (its own replies aside).</summary>
    internal static bool HasPendingStream(ReplicaState st) =>
        (st.RdbChunks is { } rdb && (st.RdbChunk < rdb.Count || rdb.Complete)) || st.RdbFile != null || (st.RefBlock is { } b && st.Online && !st.StreamOnAck && (st.RefPos < b.Used || b.Next != null));

    /// <summary>
    /// getClientOutputBufferMemoryUsage for a replica: the shared blocks from its reference to the
    /// end (what it keeps alive), not its own replies (the RDB transfer does not count, as in Redis).
    /// </summary>
    public long ReplicaOutputBytes(Client c)
    {
        if (c.ReplicaState?.RefBlock is not { } b || _backlog?.Tail is not { } tail) return 0;
        return tail.ReplOffset + tail.Size - b.ReplOffset;
    }
}
