// A client's output buffer, after Redis's c->buf + c->reply: a fixed 16 KiB buffer that
// absorbs the common small reply, then a list of pooled 16 KiB chunks for large or pipelined
// replies. Bytes are appended at the tail and written from the head; a short socket write
// leaves the rest in place for the writable handler.
using System.Buffers;

namespace Cinnabar.Networking;

public sealed class ReplyBuffer
{
    public const int ChunkSize = 16 * 1024;

    sealed class Chunk
    {
        public byte[] Data = null!;
        public int Used;
    }

    readonly byte[] _buf = new byte[ChunkSize];
    int _bufUsed;
    int _sentInBuf;
    readonly Queue<Chunk> _chunks = new();
    Chunk? _tail;
    int _sentInHead;
    long _chunkBytes;

    /// <summary>Bytes waiting to be written (Redis's reply bytes plus the unsent fixed buffer).</summary>
    public long Pending => _bufUsed - _sentInBuf + _chunkBytes - _sentInHead;

    /// <summary>Bytes held in the chunk list: what client-output-buffer-limit counts.</summary>
    public long ListBytes => _chunkBytes;

    public bool HasPending => Pending > 0;

    /// <summary>Bytes in the fixed buffer (CLIENT LIST obl=).</summary>
    public int BufferBytes => _bufUsed;

    /// <summary>Chunks in the reply list (CLIENT LIST oll=).</summary>
    public int ChunkCount => _chunks.Count;

    /// <summary>Returns writable space of at least <paramref name="size"/> bytes (size ≤ ChunkSize), or a larger dedicated array.</summary>
    public Span<byte> GetSpan(int size)
    {
        if (_tail == null && ChunkSize - _bufUsed >= size) return _buf.AsSpan(_bufUsed);
        if (_tail != null && _tail.Data.Length - _tail.Used >= size) return _tail.Data.AsSpan(_tail.Used);
        var c = new Chunk { Data = ArrayPool<byte>.Shared.Rent(Math.Max(size, ChunkSize)) };
        _chunks.Enqueue(c);
        _tail = c;
        return c.Data.AsSpan();
    }

    public void Advance(int count)
    {
        if (_tail == null) _bufUsed += count;
        else
        {
            _tail.Used += count;
            _chunkBytes += count;
        }
    }

    public void Write(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var span = GetSpan(Math.Min(data.Length, ChunkSize));
            int n = Math.Min(span.Length, data.Length);
            data[..n].CopyTo(span);
            Advance(n);
            data = data[n..];
        }
    }

    /// <summary>The next contiguous block of unsent bytes.</summary>
    public ReadOnlySpan<byte> PeekHead()
    {
        if (_sentInBuf < _bufUsed) return _buf.AsSpan(_sentInBuf, _bufUsed - _sentInBuf);
        if (_chunks.TryPeek(out var head)) return head.Data.AsSpan(_sentInHead, head.Used - _sentInHead);
        return default;
    }

    /// <summary>
    /// Fills <paramref name="into"/> with up to <paramref name="max"/> unsent blocks, oldest
    /// first, for one gathered write (Redis 7.0's writevToClient). Returns their total length.
    /// </summary>
    public long GetPendingSegments(List<ArraySegment<byte>> into, int max)
    {
        into.Clear();
        long bytes = 0;
        if (_sentInBuf < _bufUsed)
        {
            into.Add(new ArraySegment<byte>(_buf, _sentInBuf, _bufUsed - _sentInBuf));
            bytes += _bufUsed - _sentInBuf;
        }
        bool first = true;
        foreach (var c in _chunks)
        {
            if (into.Count == max) break;
            int from = first ? _sentInHead : 0;
            first = false;
            if (c.Used - from == 0) continue;
            into.Add(new ArraySegment<byte>(c.Data, from, c.Used - from));
            bytes += c.Used - from;
        }
        return bytes;
    }

    /// <summary>Marks <paramref name="count"/> bytes as written, across as many blocks as they cover.</summary>
    public void ConsumeAcross(long count)
    {
        while (count > 0)
        {
            int head = PeekHead().Length;
            int n = (int)Math.Min(head, count);
            Consume(n);
            count -= n;
        }
    }

    /// <summary>Marks <paramref name="count"/> bytes of the head block as written.</summary>
    public void Consume(int count)
    {
        if (_sentInBuf < _bufUsed)
        {
            _sentInBuf += count;
            if (_sentInBuf == _bufUsed && _tail == null) _sentInBuf = _bufUsed = 0;
            return;
        }
        var head = _chunks.Peek();
        _sentInHead += count;
        if (_sentInHead == head.Used)
        {
            _chunks.Dequeue();
            _chunkBytes -= head.Used;
            _sentInHead = 0;
            ArrayPool<byte>.Shared.Return(head.Data);
            if (_chunks.Count == 0)
            {
                _tail = null;
                _sentInBuf = _bufUsed = 0;
            }
        }
    }

    /// <summary>Drops everything pending (client freed, or CLIENT REPLY OFF semantics upstream).</summary>
    public void Clear()
    {
        while (_chunks.TryDequeue(out var c)) ArrayPool<byte>.Shared.Return(c.Data);
        _tail = null;
        _chunkBytes = 0;
        _sentInHead = 0;
        _sentInBuf = _bufUsed = 0;
    }

    /// <summary>Snapshot of the position so a reply can be discarded (CLIENT REPLY SKIP/OFF helpers).</summary>
    public long Mark => _bufUsed + _chunkBytes;
}
