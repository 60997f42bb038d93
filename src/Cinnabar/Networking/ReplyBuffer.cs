// A client's output buffer, after Redis's c->buf + c->reply: a fixed 16 KiB buffer that
// absorbs the common small reply, then a list of pooled 16 KiB chunks for large or pipelined
// replies. The fixed buffer comes from the same pool when a reply starts and goes back once it
// is written, so an idle client holds none: 10,000 clients connecting at once would otherwise
// allocate and zero 160 MiB that the GC then copies between generations (jemalloc gives Redis
// untouched pages for free). Bytes are appended at the tail and written from the head; a
// short socket write leaves the rest in place for the writable handler. Chunks are recycled
// through a per-thread pool of our own: ArrayPool.Shared keeps a few dozen arrays per size,
// fewer than 50 clients each holding several 16 KiB blocks of an LRANGE reply need, and it
// allocated the rest.
// The list's bytes are also added to a memory counter as they change (the server's once the
// client is linked), so used_memory never walks the clients.
using Cinnabar.Keyspace;

namespace Cinnabar.Networking;

public sealed class ReplyBuffer
{
    public const int ChunkSize = 16 * 1024;

    sealed class Chunk
    {
        public byte[] Data = null!;
        public int Used;
    }

    /// <summary>Chunks of the standard size, recycled on the thread that uses them (the event loop).</summary>
    static class ChunkPool
    {
        // 512 x 16 KiB = 8 MiB kept at most: enough for 50 clients with 100 KiB replies in flight.
        const int MaxPooled = 512;
        [ThreadStatic] static Stack<Chunk>? t_pool;

        public static Chunk Rent(int size)
        {
            if (size <= ChunkSize && t_pool is { } pool && pool.TryPop(out var c)) return c;
            return new Chunk { Data = GC.AllocateUninitializedArray<byte>(Math.Max(size, ChunkSize)) };
        }

        public static void Return(Chunk c)
        {
            if (c.Data.Length != ChunkSize) return; // a dedicated large block goes back to the GC
            c.Used = 0;
            var pool = t_pool ??= new Stack<Chunk>();
            if (pool.Count < MaxPooled) pool.Push(c);
        }
    }

    Chunk? _bufChunk; // the fixed buffer while it holds unsent bytes (or a reply being written)
    byte[] _buf = [];
    int _bufUsed;
    int _sentInBuf;
    int _bufPeak;
    long _bufPeakResetMs;
    readonly Queue<Chunk> _chunks = new();
    Chunk? _tail;
    int _sentInHead;
    long _chunkBytes;
    long _chunkCapacity; // the chunks' allocated bytes (Redis's reply_bytes counts block sizes)
    MemoryCounter _memory = new(); // where _chunkBytes is counted: a private total until the client is linked

    /// <summary>From now on the reply list counts in memory (the server's client or replica total); what it holds moves there.</summary>
    internal void CountMemoryIn(MemoryCounter memory)
    {
        _memory.Bytes -= _chunkBytes;
        memory.Bytes += _chunkBytes;
        _memory = memory;
    }

    /// <summary>Bytes waiting to be written (Redis's reply bytes plus the unsent fixed buffer).</summary>
    public long Pending => _bufUsed - _sentInBuf + _chunkBytes - _sentInHead;

    /// <summary>Bytes held in the chunk list: what client-output-buffer-limit counts.</summary>
    public long ListBytes => _chunkBytes;

    /// <summary>The allocated size of the chunk list's blocks (part of CLIENT LIST omem=).</summary>
    public long ListCapacity => _chunkCapacity;

    public bool HasPending => Pending > 0;

    /// <summary>Bytes in the fixed buffer (CLIENT LIST obl=).</summary>
    public int BufferBytes => _bufUsed;

    /// <summary>
    /// CLIENT LIST rbs=: the fixed buffer's size while it holds a reply, 0 while the client holds
    /// none. Redis shrinks an idle client's buffer towards 1 KiB by its recent peak; here an idle
    /// client has no buffer at all, so there is nothing to resize.
    /// </summary>
    public int FixedBufferSize => _bufChunk == null ? 0 : ChunkSize;

    /// <summary>CLIENT LIST rbp=: the most bytes the fixed buffer held since the peak was last reset.</summary>
    public int FixedBufferPeak => Math.Max(_bufPeak, _bufUsed);

    /// <summary>clientsCron: the peak starts again from what the buffer holds every periodMs (reply-buffer-peak-reset-time; negative: never).</summary>
    internal void ResetPeakIfDue(long nowMs, long periodMs)
    {
        if (periodMs < 0 || nowMs - _bufPeakResetMs < periodMs) return;
        _bufPeak = _bufUsed;
        _bufPeakResetMs = nowMs;
    }

    /// <summary>Chunks in the reply list (CLIENT LIST oll=).</summary>
    public int ChunkCount => _chunks.Count;

    /// <summary>Returns writable space of at least <paramref name="size"/> bytes (size ≤ ChunkSize), or a larger dedicated array.</summary>
    public Span<byte> GetSpan(int size)
    {
        if (_tail == null && ChunkSize - _bufUsed >= size)
        {
            if (_bufChunk == null)
            {
                _bufChunk = ChunkPool.Rent(ChunkSize);
                _buf = _bufChunk.Data;
            }
            return _buf.AsSpan(_bufUsed);
        }
        if (_tail != null && _tail.Data.Length - _tail.Used >= size) return _tail.Data.AsSpan(_tail.Used);
        var c = ChunkPool.Rent(size);
        _chunks.Enqueue(c);
        _chunkCapacity += c.Data.Length;
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
            _memory.Bytes += count;
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
            if (_sentInBuf == _bufUsed && _tail == null) ReleaseFixedBuffer();
            return;
        }
        var head = _chunks.Peek();
        _sentInHead += count;
        if (_sentInHead == head.Used)
        {
            _chunks.Dequeue();
            _chunkCapacity -= head.Data.Length;
            _chunkBytes -= head.Used;
            _memory.Bytes -= head.Used;
            _sentInHead = 0;
            ChunkPool.Return(head);
            if (_chunks.Count == 0)
            {
                _tail = null;
                ReleaseFixedBuffer();
            }
        }
    }

    /// <summary>Drops everything pending (client freed, or CLIENT REPLY OFF semantics upstream).</summary>
    public void Clear()
    {
        while (_chunks.TryDequeue(out var c)) ChunkPool.Return(c);
        _tail = null;
        _memory.Bytes -= _chunkBytes;
        _chunkBytes = 0;
        _chunkCapacity = 0;
        _sentInHead = 0;
        ReleaseFixedBuffer();
    }

    /// <summary>Everything in the fixed buffer is written: it goes back to the pool until the next reply.</summary>
    void ReleaseFixedBuffer()
    {
        if (_bufUsed > _bufPeak) _bufPeak = _bufUsed;
        _sentInBuf = _bufUsed = 0;
        if (_bufChunk == null) return;
        ChunkPool.Return(_bufChunk);
        _bufChunk = null;
        _buf = [];
    }

    /// <summary>Snapshot of the position so a reply can be discarded (CLIENT REPLY SKIP/OFF helpers).</summary>
    public long Mark => _bufUsed + _chunkBytes;
}
