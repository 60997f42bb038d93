// The snapshot's I/O thread (what Redis's fork child does besides serializing): takes the chunks
// the loop serialized, keeps the CRC-64 of everything, writes it out, appends the checksum footer
// (zeros with rdbchecksum no), fsyncs every 4 MB when rdb-save-incremental-fsync is on (as
// rioSetAutoSync does) and once at the end, and closes. The loop never waits on it: it only
// enqueues, and learns the outcome through the done callback, which runs on this thread exactly
// once (after the end, a failure, or a cancel) and must post to the loop.
using System.Buffers.Binary;
using System.Collections.Concurrent;

namespace Cinnabar.Persistence;

public sealed class SnapshotWriter
{
    const long AutoSyncBytes = 4 * 1024 * 1024; // REDIS_AUTOSYNC_BYTES

    /// <summary>
    /// Chunk buffers go back and forth between the loop and this thread through the owner's free
    /// list, so a snapshot allocates only its peak of queued chunks, once, and not one array per
    /// chunk (which under a write load feeds collections that pause the loop). Below the large
    /// object heap's threshold; a bigger chunk (one huge value) gets an array of its own.
    /// </summary>
    public const int BufferSize = 80 * 1024;

    readonly Stream _out;
    readonly bool _checksum, _incrementalFsync, _rdbFooter;
    readonly Action<Exception?> _done;
    readonly ConcurrentQueue<byte[]> _free;
    readonly BlockingCollection<(byte[] Buffer, int Length)> _queue = new();
    readonly Thread _thread;
    long _queued;
    volatile bool _cancelled;

    /// <summary>Raised as the outcome when the writer was cancelled (the caller asked for it, so it is not an error to log).</summary>
    public sealed class CancelledException() : Exception("snapshot cancelled");

    /// <param name="output">Where the RDB bytes go; the writer owns and disposes it.</param>
    /// <param name="freeBuffers">Reusable BufferSize chunk buffers, shared by the owner's successive writers.</param>
    /// <param name="done">Called once on the writer thread: null on success, else why it failed.</param>
    /// <param name="rdbFooter">Append the RDB's 8-byte CRC-64 footer (not for an AOF-format base).</param>
    public SnapshotWriter(Stream output, bool checksum, bool incrementalFsync, ConcurrentQueue<byte[]> freeBuffers, Action<Exception?> done, bool rdbFooter = true)
    {
        _out = output;
        _rdbFooter = rdbFooter;
        _free = freeBuffers;
        _checksum = checksum;
        _incrementalFsync = incrementalFsync;
        _done = done;
        _thread = new Thread(Run) { Name = "cinnabar-snapshot-writer", IsBackground = true };
        _thread.Start();
    }

    /// <summary>Bytes handed over and not yet written: the memory the snapshot holds beyond the dataset.</summary>
    public long QueuedBytes => Interlocked.Read(ref _queued);

    /// <summary>Bytes handed over so far (loop thread).</summary>
    public long ProducedBytes { get; private set; }

    /// <summary>Loop thread: hands over a copy of data.</summary>
    public void Write(ReadOnlySpan<byte> data)
    {
        byte[]? buf = null;
        if (data.Length > BufferSize || !_free.TryDequeue(out buf)) buf = new byte[Math.Max(BufferSize, data.Length)];
        data.CopyTo(buf);
        Interlocked.Add(ref _queued, data.Length);
        ProducedBytes += data.Length;
        if (!_queue.IsAddingCompleted) _queue.Add((buf, data.Length));
    }

    /// <summary>Loop thread: no more data; the writer appends the footer, syncs and reports.</summary>
    public void Complete() => _queue.CompleteAdding();

    /// <summary>Loop thread: drop what is left; the writer reports CancelledException.</summary>
    public void Cancel()
    {
        _cancelled = true;
        _queue.CompleteAdding();
    }

    /// <summary>Waits for the thread to end (a cancelled writer ends as soon as its current write returns).</summary>
    public bool Join(TimeSpan timeout) => _thread.Join(timeout);

    void Recycle(byte[] buf)
    {
        if (buf.Length == BufferSize) _free.Enqueue(buf);
    }

    void Run()
    {
        Exception? error = null;
        ulong crc = 0;
        long sinceSync = 0;
        try
        {
            foreach (var (buf, len) in _queue.GetConsumingEnumerable())
            {
                try
                {
                    if (_cancelled) continue;
                    var span = buf.AsSpan(0, len);
                    if (_checksum) crc = Crc64.Compute(crc, span);
                    _out.Write(span);
                    sinceSync += len;
                    if (_incrementalFsync && sinceSync >= AutoSyncBytes && _out is FileStream fs)
                    {
                        fs.Flush(flushToDisk: true);
                        sinceSync = 0;
                    }
                }
                finally
                {
                    Interlocked.Add(ref _queued, -len);
                    Recycle(buf);
                }
            }
            if (!_cancelled)
            {
                if (_rdbFooter)
                {
                    Span<byte> footer = stackalloc byte[8];
                    BinaryPrimitives.WriteUInt64LittleEndian(footer, crc);
                    _out.Write(footer);
                }
                if (_out is FileStream fs) fs.Flush(flushToDisk: true); // fflush + fsync before the rename, as rdbSave does
                else _out.Flush();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            error = e;
            _cancelled = true;
            _done(e); // at once, so the loop stops the walk; the rest is drained unwritten
            foreach (var (buf, len) in _queue.GetConsumingEnumerable())
            {
                Interlocked.Add(ref _queued, -len);
                Recycle(buf);
            }
        }
        finally
        {
            try
            {
                _out.Dispose();
            }
            catch (IOException e)
            {
                if (error == null)
                {
                    error = e;
                    _done(e);
                }
            }
        }
        if (error == null) _done(_cancelled ? new CancelledException() : null);
    }
}
