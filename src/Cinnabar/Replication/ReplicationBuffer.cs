// The replication buffer and the backlog (Redis 7.0's replBufBlock list, feedReplicationBuffer,
// incrementalTrimReplicationBacklog, addReplyReplicationBacklog). The stream is stored once, in
// a list of blocks, and shared: the backlog references the first block it covers, and each
// replica references the block and position of the next byte it must be sent, so N replicas
// cost no more memory than one. A block is freed when it leaves the head of the list, which
// happens when the backlog holds more than repl-backlog-size bytes and no replica still needs
// the block; a replica that lags (or waits for its snapshot) keeps blocks alive, so the backlog
// can grow past repl-backlog-size and a reconnecting replica can still continue from it.
namespace Cinnabar.Replication;

/// <summary>replBufBlock: a piece of the stream, the offset of its first byte and who still needs it.</summary>
public sealed class ReplBufBlock
{
    public readonly byte[] Buf;
    public int Used;

    /// <summary>The replication offset of Buf[0].</summary>
    public long ReplOffset;

    /// <summary>The backlog (when this is its first block) and the replicas whose next byte is here.</summary>
    public int RefCount;

    public ReplBufBlock? Next;

    public ReplBufBlock(int size, long replOffset)
    {
        Buf = new byte[size];
        ReplOffset = replOffset;
    }

    public int Size => Buf.Length;

    /// <summary>A trimmed block made new again (the buffer's spare blocks).</summary>
    internal ReplBufBlock Reset(long replOffset)
    {
        Used = 0;
        ReplOffset = replOffset;
        RefCount = 0;
        Next = null;
        return this;
    }
}

public sealed class ReplicationBuffer
{
    /// <summary>PROTO_REPLY_CHUNK_BYTES: the smallest block.</summary>
    const int MinBlock = 16 * 1024;

    /// <summary>What each block costs beyond its bytes (the list node and block header, as Redis counts them).</summary>
    const int BlockOverhead = 64;

    ReplBufBlock? _head, _tail;
    long _size;

    // Trimmed blocks of the standard size, reused for new ones: a steady stream allocates nothing.
    readonly Stack<ReplBufBlock> _spare = new();
    const int MaxSpare = 64;

    /// <summary>repl_backlog_histlen: bytes held from the backlog's first block on.</summary>
    public long HistLen { get; private set; }

    /// <summary>repl_backlog_off: the replication offset of the first byte held (master_repl_offset + 1 when empty).</summary>
    public long FirstByteOffset { get; private set; }

    /// <summary>repl_buffer_mem (mem_total_replication_buffers): every block, whoever needs it.</summary>
    public long Memory { get; private set; }

    /// <summary>repl-backlog-size: what the backlog trims down to when no replica holds the blocks.</summary>
    public long Size => _size;

    public ReplicationBuffer(long size, long masterReplOffset)
    {
        _size = Math.Max(size, 16 * 1024);
        FirstByteOffset = masterReplOffset + 1;
    }

    public ReplBufBlock? Tail => _tail;

    /// <summary>
    /// feedReplicationBuffer: appends the bytes (masterReplOffset is the offset before them),
    /// filling the tail block first, then new blocks of at least 16 KB and at most a sixteenth
    /// of the backlog (a big command spans several, so trimming never waits on one huge block).
    /// Returns where the bytes start, and whether a block was added.
    /// </summary>
    public (ReplBufBlock Block, int Pos, bool NewBlock) Feed(ReadOnlySpan<byte> data, long masterReplOffset)
    {
        ReplBufBlock? startBlock = null;
        int startPos = 0;
        bool added = false;
        long offset = masterReplOffset;
        if (_tail != null && _tail.Used < _tail.Size)
        {
            startBlock = _tail;
            startPos = _tail.Used;
            int copy = Math.Min(data.Length, _tail.Size - _tail.Used);
            data[..copy].CopyTo(_tail.Buf.AsSpan(_tail.Used));
            _tail.Used += copy;
            data = data[copy..];
            offset += copy;
            HistLen += copy;
        }
        long limit = Math.Max(_size / 16, MinBlock);
        while (data.Length > 0)
        {
            int size = (int)Math.Min(Math.Max(data.Length, MinBlock), Math.Min(limit, Array.MaxLength));
            var block = size == MinBlock && _spare.TryPop(out var spare) ? spare.Reset(offset + 1) : new ReplBufBlock(size, offset + 1);
            int copy = Math.Min(data.Length, size);
            data[..copy].CopyTo(block.Buf);
            block.Used = copy;
            if (_tail == null)
            {
                _head = block;
                block.RefCount = 1; // the backlog's reference to its first block
                FirstByteOffset = block.ReplOffset;
            }
            else _tail.Next = block;
            _tail = block;
            Memory += size + BlockOverhead;
            startBlock ??= block;
            added = true;
            data = data[copy..];
            offset += copy;
            HistLen += copy;
        }
        return (startBlock!, startPos, added);
    }

    /// <summary>Whether the stream from offset on (inclusive) is still held (the end itself is: nothing to send).</summary>
    public bool Contains(long offset) => offset >= FirstByteOffset && offset <= FirstByteOffset + HistLen;

    /// <summary>The block and position holding offset (Contains(offset) first); null when nothing is held yet.</summary>
    public (ReplBufBlock? Block, int Pos) Locate(long offset)
    {
        for (var b = _head; b != null; b = b.Next)
            if (b.ReplOffset + b.Used >= offset) return (b, (int)(offset - b.ReplOffset));
        return (null, 0);
    }

    /// <summary>
    /// incrementalTrimReplicationBacklog: while the backlog holds more than its size, drops head
    /// blocks that nobody but the backlog needs (never the last block), so memory comes back as
    /// soon as replicas move on.
    /// </summary>
    public void Trim()
    {
        while (_head is { } first && first.Next is { } next && first.RefCount == 1 && HistLen - first.Used > _size)
        {
            first.RefCount--;
            next.RefCount++;
            HistLen -= first.Used;
            Memory -= first.Size + BlockOverhead;
            _head = next;
            first.Next = null;
            FirstByteOffset = next.ReplOffset;
            if (first.Size == MinBlock && _spare.Count < MaxSpare) _spare.Push(first);
        }
    }

    /// <summary>CONFIG SET repl-backlog-size: trimmed to the new size as far as replicas allow.</summary>
    public void Resize(long size)
    {
        _size = Math.Max(size, 16 * 1024);
        Trim();
    }

    /// <summary>The offsets move by delta (a restarted primary continuing the history its RDB recorded).</summary>
    public void Rebase(long delta)
    {
        FirstByteOffset += delta;
        for (var b = _head; b != null; b = b.Next) b.ReplOffset += delta;
    }
}
