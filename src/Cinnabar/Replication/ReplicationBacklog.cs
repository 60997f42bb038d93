// The replication backlog (Redis's repl_backlog): a fixed-size circular buffer holding the
// last repl-backlog-size bytes of the replication stream, with the global offset of its first
// byte, so a replica that reconnects can continue from its offset (PSYNC) instead of a full
// sync. Created when the first replica attaches, as in Redis, and kept while it may be needed.
namespace Cinnabar.Replication;

public sealed class ReplicationBacklog
{
    byte[] _buf;
    int _idx;        // where the next byte goes

    /// <summary>repl_backlog_histlen: valid bytes in the buffer (at most its size).</summary>
    public long HistLen { get; private set; }

    /// <summary>repl_backlog_off: the replication offset of the first byte held (master_repl_offset + 1 when empty).</summary>
    public long FirstByteOffset { get; private set; }

    public long Size => _buf.Length;

    public ReplicationBacklog(long size, long masterReplOffset)
    {
        _buf = new byte[Math.Clamp(size, 16 * 1024, Array.MaxLength)];
        FirstByteOffset = masterReplOffset + 1;
    }

    /// <summary>feedReplicationBacklog: appends the bytes, overwriting the oldest once full.</summary>
    public void Feed(ReadOnlySpan<byte> data)
    {
        if (data.Length >= _buf.Length)
        {
            // Only the tail fits: the backlog then holds exactly its size of history.
            FirstByteOffset += HistLen + data.Length - _buf.Length;
            data[^_buf.Length..].CopyTo(_buf);
            _idx = 0;
            HistLen = _buf.Length;
            return;
        }
        int first = Math.Min(data.Length, _buf.Length - _idx);
        data[..first].CopyTo(_buf.AsSpan(_idx));
        data[first..].CopyTo(_buf);
        _idx = (_idx + data.Length) % _buf.Length;
        long grown = HistLen + data.Length;
        if (grown > _buf.Length)
        {
            FirstByteOffset += grown - _buf.Length;
            grown = _buf.Length;
        }
        HistLen = grown;
    }

    /// <summary>Whether the stream from offset on (inclusive) is still held.</summary>
    public bool Contains(long offset, long masterReplOffset) =>
        offset >= FirstByteOffset && offset <= masterReplOffset + 1;

    /// <summary>addReplyReplicationBacklog: copies the held bytes from offset on to the sink.</summary>
    public void CopyFrom(long offset, Action<ReadOnlySpan<byte>> sink)
    {
        long skip = offset - FirstByteOffset;
        long len = HistLen - skip;
        if (len <= 0) return;
        int start = (int)((_idx - HistLen + skip + _buf.Length * 2L) % _buf.Length);
        int first = (int)Math.Min(len, _buf.Length - start);
        sink(_buf.AsSpan(start, first));
        if (len > first) sink(_buf.AsSpan(0, (int)(len - first)));
    }

    /// <summary>The offsets move by delta (a restarted primary continuing the history its RDB recorded).</summary>
    public void Rebase(long delta) => FirstByteOffset += delta;

    /// <summary>resizeReplicationBacklog (CONFIG SET repl-backlog-size): the history is kept as far as it fits.</summary>
    public void Resize(long size, long masterReplOffset)
    {
        size = Math.Clamp(size, 16 * 1024, Array.MaxLength);
        if (size == _buf.Length) return;
        var old = new List<byte>();
        CopyFrom(FirstByteOffset, s => old.AddRange(s.ToArray()));
        _buf = new byte[size];
        _idx = 0;
        HistLen = 0;
        FirstByteOffset = masterReplOffset + 1 - old.Count;
        Feed(old.ToArray());
    }
}
