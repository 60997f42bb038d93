// The bytes an RDB load parses (rdb.c's rio): a whole file already in memory, or a stream read
// as the parser needs it (a replica's diskless load reads the primary's socket, as Redis's
// rioConnRead does, so the transfer is never held whole in memory). The parser sees a window of
// available bytes; a record cut at the window's end is parsed again once Fill has read more.
// Bytes the parser has finished with are dropped from the window, after the CRC-64 of the file
// has taken them in.
namespace Cinnabar.Persistence;

public sealed class RdbInput
{
    /// <summary>Reads up to count bytes into buffer at offset; 0 at the end of the source (or a failed read).</summary>
    public delegate int ReadFunc(byte[] buffer, int offset, int count);

    const int InitialWindow = 64 * 1024;

    byte[] _buffer;
    int _start, _end;
    readonly ReadFunc? _read;
    bool _ended;

    // The CRC-64 of the bytes before _crcUpTo (an absolute offset in the file).
    ulong _crc;
    long _crcUpTo;

    /// <summary>A whole file: nothing more can be read.</summary>
    public RdbInput(byte[] whole)
    {
        _buffer = whole;
        _end = whole.Length;
        _ended = true;
    }

    /// <summary>A stream, read on demand; checksummed: the CRC-64 is computed as bytes leave the window (rdbchecksum).</summary>
    public RdbInput(ReadFunc read, bool checksummed)
    {
        _buffer = new byte[InitialWindow];
        _read = read;
        Checksummed = checksummed;
    }

    /// <summary>Whether ChecksumUpTo can be asked (a whole file always can: it computes at the end).</summary>
    public bool Checksummed { get; } = true;

    /// <summary>The bytes read and not yet consumed.</summary>
    public ReadOnlySpan<byte> Available => _buffer.AsSpan(_start, _end - _start);

    /// <summary>The absolute offset in the file of Available's first byte.</summary>
    public long Position { get; private set; }

    /// <summary>The parser is done with the next n bytes.</summary>
    public void Consume(int n)
    {
        _start += n;
        Position += n;
    }

    /// <summary>
    /// Reads at least atLeast more bytes (fewer only when the source ends); false when nothing
    /// more came. The window grows to hold what is not yet consumed plus atLeast.
    /// </summary>
    public bool Fill(int atLeast)
    {
        if (_ended || _read == null) return false;
        int pending = _end - _start;
        if (_buffer.Length - _end < atLeast)
        {
            // The consumed prefix leaves the window: the checksum takes it in first.
            TakeIntoChecksum(Position);
            var target = pending + atLeast > _buffer.Length ? new byte[Math.Max(_buffer.Length * 2, pending + atLeast)] : _buffer;
            Buffer.BlockCopy(_buffer, _start, target, 0, pending);
            _buffer = target;
            _start = 0;
            _end = pending;
        }
        int added = 0;
        while (added < atLeast)
        {
            int n = _read(_buffer, _end, _buffer.Length - _end);
            if (n <= 0)
            {
                _ended = true;
                break;
            }
            _end += n;
            added += n;
        }
        return added > 0;
    }

    /// <summary>The CRC-64 of the file's bytes before the absolute offset end (not yet dropped from the window).</summary>
    public ulong ChecksumUpTo(long end)
    {
        TakeIntoChecksum(end);
        return _crc;
    }

    void TakeIntoChecksum(long end)
    {
        if (!Checksummed || end <= _crcUpTo) return;
        int from = _start - (int)(Position - _crcUpTo);
        _crc = Crc64.Compute(_crc, _buffer.AsSpan(from, (int)(end - _crcUpTo)));
        _crcUpTo = end;
    }
}
