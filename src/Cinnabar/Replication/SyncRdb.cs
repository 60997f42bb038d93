// The RDB of a diskless full sync as the forkless snapshot produces it: the snapshot's writer
// thread appends chunks, the event loop streams each to the "$EOF:<mark>" transfer's replicas
// as it arrives, as Redis's rdb child writes into the replicas' sockets, so a replica starts
// loading at once instead of after the whole snapshot. Every replica of one sync shares the same
// chunks; those every replica has sent are dropped, and the snapshot waits for the slowest
// replica, as Redis's rdb child waits on its pipe. (A disk-target sync sends the saved file.)
namespace Cinnabar.Replication;

public sealed class SyncRdb : Stream
{
    readonly List<(byte[] Chunk, int Length)> _chunks = new();
    readonly Action? _appended;
    long _length;

    /// <param name="appended">Called on the writer thread after each chunk (a streaming sync posts a write to the loop).</param>
    public SyncRdb(Action? appended = null) => _appended = appended;

    /// <summary>The snapshot ended well: no chunk follows the ones there are (set on the loop).</summary>
    public bool Complete { get; set; }

    /// <summary>Chunks written so far.</summary>
    public int Count
    {
        get
        {
            lock (_chunks) return _chunks.Count;
        }
    }

    public (byte[] Chunk, int Length) this[int index]
    {
        get
        {
            lock (_chunks) return _chunks[index];
        }
    }

    /// <summary>
    /// Every replica of a streaming sync is past the chunks before index: their bytes can go (a
    /// slow replica holds back the snapshot instead, so the transfer never sits whole in memory).
    /// </summary>
    public void ReleaseBelow(int index)
    {
        lock (_chunks)
        {
            for (int i = _released; i < Math.Min(index, _chunks.Count); i++) _chunks[i] = ([], _chunks[i].Length);
            _released = Math.Max(_released, Math.Min(index, _chunks.Count));
        }
    }

    int _released;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        var copy = buffer.ToArray(); // the writer reuses its buffer
        lock (_chunks)
        {
            _chunks.Add((copy, copy.Length));
            _length += copy.Length;
        }
        _appended?.Invoke();
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;

    public override long Length
    {
        get
        {
            lock (_chunks) return _length;
        }
    }

    public override long Position { get => Length; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
