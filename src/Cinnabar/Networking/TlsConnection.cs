// TLS for one connection on the event loop (Redis's tls.c connection type, without a thread per
// connection), in the server role (a client accepted on tls-port) or the client role (a
// replica's link to its primary with tls-replication). .NET's SslStream runs over an in-memory
// transport: the loop reads ciphertext from the non-blocking socket and feeds it in, SslStream's
// pending read (or the handshake) resumes synchronously on the loop thread and leaves plaintext
// in a buffer the reader takes from; output is encrypted with a synchronous write into an outbox
// the loop sends without blocking. Nothing here waits: a transport read with no ciphertext stays
// pending until the next readable event.
using System.Net.Security;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Cinnabar.Networking;

public sealed class TlsConnection
{
    readonly LoopTransport _transport = new();
    readonly SslStream _ssl;
    Task? _handshake;
    ValueTask<int> _pendingRead;
    bool _reading;
    readonly byte[] _plain = new byte[16 * 1024];
    int _plainStart, _plainEnd;
    bool _eof;

    public TlsConnection(SslServerAuthenticationOptions options)
    {
        _ssl = new SslStream(_transport, leaveInnerStreamOpen: true);
        _handshake = _ssl.AuthenticateAsServerAsync(options, CancellationToken.None);
    }

    /// <summary>
    /// The server role with tls-prefer-server-ciphers no: the options are chosen from the
    /// ClientHello's raw bytes (Receive reads them before they are fed), which SslStream asks
    /// for once it has read the hello itself.
    /// </summary>
    public TlsConnection(TlsClientOrder order, SslServerAuthenticationOptions configured)
    {
        _order = order;
        _selected = configured;
        _ssl = new SslStream(_transport, leaveInnerStreamOpen: true);
        _handshake = _ssl.AuthenticateAsServerAsync(s_selectOptions, this, CancellationToken.None);
    }

    // The hello's bytes while it is not whole in what was fed (rare: it normally comes in one read).
    TlsClientOrder? _order;
    SslServerAuthenticationOptions? _selected;
    byte[]? _hello;
    int _helloLength;

    static readonly ServerOptionsSelectionCallback s_selectOptions = (_, _, state, _) =>
    {
        var tls = (TlsConnection)state!;
        tls._order = null; // SslStream has the hello: whatever was chosen by now is final
        tls._hello = null;
        return ValueTask.FromResult(tls._selected!);
    };

    /// <summary>Chooses the options from the first bytes of the connection, before SslStream sees them.</summary>
    void ReadClientHello(ReadOnlySpan<byte> fed)
    {
        var order = _order!;
        if (_hello == null)
        {
            _selected = order.Select(fed, out var result);
            if (result != TlsClientHello.Result.Incomplete) _order = null;
            else
            {
                _hello = new byte[TlsClientHelloCapture];
                _helloLength = Math.Min(fed.Length, _hello.Length);
                fed[.._helloLength].CopyTo(_hello);
            }
            return;
        }
        int n = Math.Min(fed.Length, _hello.Length - _helloLength);
        fed[..n].CopyTo(_hello.AsSpan(_helloLength));
        _helloLength += n;
        _selected = order.Select(_hello.AsSpan(0, _helloLength), out var again);
        if (again != TlsClientHello.Result.Incomplete || _helloLength == _hello.Length)
        {
            _order = null;
            _hello = null;
        }
    }

    /// <summary>A record header and the largest record a hello may come in.</summary>
    const int TlsClientHelloCapture = 5 + 16384 + 2048;

    /// <summary>The client role (connTLSConnect): the ClientHello is in the outbox at once; Flush sends it.</summary>
    public TlsConnection(SslClientAuthenticationOptions options)
    {
        _ssl = new SslStream(_transport, leaveInnerStreamOpen: true);
        _handshake = _ssl.AuthenticateAsClientAsync(options, CancellationToken.None);
    }

    /// <summary>The handshake failed or the peer closed: the client is to be freed.</summary>
    public string? Failure { get; private set; }

    public bool HandshakeDone => _handshake == null;

    /// <summary>Ciphertext that could not be sent yet.</summary>
    public bool HasPendingOutput => _transport.Outbox.Count > 0;

    /// <summary>Bytes of ciphertext waiting for the socket (what SendBulk keeps bounded).</summary>
    internal int PendingOutputBytes => _transport.Outbox.Count;

    /// <summary>
    /// Reads up to 64 KiB of ciphertext the socket has, lets TLS consume it, and copies
    /// decrypted bytes into dest. Returns the plaintext bytes copied; 0 with err WouldBlock when
    /// none is ready yet (a partial record waits for the next readable event). When dest fills
    /// first, HasBufferedPlaintext says to call again.
    /// </summary>
    public int Receive(Socket socket, byte[] dest, int offset, int count, out SocketError err)
    {
        err = SocketError.Success;
        var buf = _transport.ReceiveBuffer;
        // Decrypted bytes already here are served first: the socket is read once they are taken
        // (a reader taking a byte at a time never piles ciphertext up).
        for (int reads = HasBufferedPlaintext ? 4 : 0; reads < 4 && !_eof; reads++)
        {
            int n = socket.Receive(buf, 0, buf.Length, SocketFlags.None, out var e);
            if (e == SocketError.WouldBlock) break;
            if (e != SocketError.Success || n == 0)
            {
                _transport.Feed(ReadOnlySpan<byte>.Empty); // EOF
                _eof = true;
                break;
            }
            if (_order != null) ReadClientHello(buf.AsSpan(0, n));
            _transport.Feed(buf.AsSpan(0, n));
            if (n < buf.Length) break;
        }
        int copied = 0;
        while (copied < count)
        {
            Advance(socket);
            int available = _plainEnd - _plainStart;
            if (Failure != null || available == 0) break;
            int take = Math.Min(available, count - copied);
            Buffer.BlockCopy(_plain, _plainStart, dest, offset + copied, take);
            _plainStart += take;
            copied += take;
            if (_plainStart == _plainEnd && !_reading) _plainStart = _plainEnd = 0;
        }
        // Either a read is pending (every fed byte is consumed) or plaintext waits
        // (HasBufferedPlaintext): ciphertext never sits unannounced behind a full dest.
        Advance(socket);
        if (copied > 0) return copied;
        err = Failure != null || _eof ? SocketError.ConnectionReset : SocketError.WouldBlock;
        return 0;
    }

    public enum HandshakeProgress { Pending, Done, Failed }

    /// <summary>
    /// An outgoing link's handshake moved on with what the socket has (the readable event, or a
    /// blocking caller's poll): Done once it has finished, Failed on a TLS error (Failure) or a
    /// connection closed before it finished.
    /// </summary>
    public HandshakeProgress AdvanceHandshake(Socket socket)
    {
        Receive(socket, [], 0, 0, out var err);
        if (Failure != null) return HandshakeProgress.Failed;
        if (HandshakeDone) return HandshakeProgress.Done;
        return err == SocketError.WouldBlock ? HandshakeProgress.Pending : HandshakeProgress.Failed;
    }

    /// <summary>Decrypted bytes are waiting that the last Receive had no room for.</summary>
    public bool HasBufferedPlaintext => _plainEnd > _plainStart;

    /// <summary>Moves the handshake and the decrypting read forward as far as the fed ciphertext allows.</summary>
    void Advance(Socket socket)
    {
        if (_handshake != null)
        {
            if (!_handshake.IsCompleted)
            {
                Flush(socket);
                return;
            }
            if (_handshake.IsFaulted)
            {
                Failure = _handshake.Exception?.GetBaseException().Message ?? "handshake failed";
                Flush(socket);
                return;
            }
            _handshake = null;
        }
        while (Failure == null)
        {
            if (!_reading)
            {
                if (_plainStart == _plainEnd) _plainStart = _plainEnd = 0;
                if (_plainEnd == _plain.Length) break; // the parser has not taken the last batch
                _pendingRead = _ssl.ReadAsync(_plain.AsMemory(_plainEnd));
                _reading = true;
            }
            if (!_pendingRead.IsCompleted) break;
            _reading = false;
            try
            {
                int n = _pendingRead.Result;
                if (n == 0)
                {
                    _eof = true;
                    break;
                }
                _plainEnd += n;
            }
            catch (Exception e) // any TLS failure ends this connection only
            {
                Failure = e.GetBaseException().Message;
            }
        }
        Flush(socket);
    }

    /// <summary>Encrypts plaintext (a reply) into the outbox.</summary>
    public void Write(ReadOnlySpan<byte> plaintext) => _ssl.Write(plaintext);

    /// <summary>Plaintext encrypted per step of SendBulk: what may wait in the outbox beyond the socket's buffer.</summary>
    const int BulkPiece = 64 * 1024;

    /// <summary>
    /// Encrypts and sends bulk data (a replica's RDB transfer and stream) without unbounded
    /// buffering: a piece is encrypted only while the outbox is empty, so at most one piece of
    /// ciphertext waits for the socket. Returns the plaintext bytes taken (0: the socket is full),
    /// -1 with failed on a socket or TLS error.
    /// </summary>
    public int SendBulk(Socket socket, byte[] buf, int offset, int count, out bool failed)
    {
        failed = false;
        int taken = 0;
        while (true)
        {
            if (!Flush(socket))
            {
                failed = true;
                return -1;
            }
            if (HasPendingOutput || taken == count) return taken;
            int n = Math.Min(count - taken, BulkPiece);
            try
            {
                _ssl.Write(buf, offset + taken, n);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
            {
                failed = true;
                return -1;
            }
            taken += n;
        }
    }

    /// <summary>Sends as much of the outbox as the socket takes; false when the socket failed.</summary>
    public bool Flush(Socket socket)
    {
        var box = _transport.Outbox;
        while (box.Count > 0)
        {
            var (array, start, length) = box.Peek();
            int n = socket.Send(array, start, length, SocketFlags.None, out var err);
            if (err == SocketError.WouldBlock) return true;
            if (err != SocketError.Success) return false;
            box.Consume(n);
            if (n < length) return true;
        }
        return true;
    }

    public void Dispose()
    {
        _transport.Feed(ReadOnlySpan<byte>.Empty);
        try
        {
            _ssl.Dispose();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException) { }
    }

    /// <summary>
    /// The stream under SslStream: reads take fed ciphertext (or wait for it, completing
    /// synchronously when the loop feeds more), writes go to the outbox.
    /// </summary>
    sealed class LoopTransport : Stream, IValueTaskSource<int>
    {
        public readonly byte[] ReceiveBuffer = new byte[16 * 1024];
        public readonly ByteQueue Outbox = new();
        readonly ByteQueue _inbox = new();
        ManualResetValueTaskSourceCore<int> _source; // RunContinuationsAsynchronously = false: resumes inline
        Memory<byte> _waiting;
        bool _hasWaiter, _eof;

        public void Feed(ReadOnlySpan<byte> bytes)
        {
            if (bytes.IsEmpty) _eof = true;
            else _inbox.Append(bytes);
            if (!_hasWaiter) return;
            _hasWaiter = false;
            int n = _inbox.Take(_waiting.Span);
            _waiting = default;
            _source.SetResult(n); // 0 at EOF
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_inbox.Count > 0 || _eof) return new ValueTask<int>(_inbox.Take(buffer.Span));
            _source.Reset();
            _waiting = buffer;
            _hasWaiter = true;
            return new ValueTask<int>(this, _source.Version);
        }

        public override int Read(byte[] buffer, int offset, int count) => _inbox.Take(buffer.AsSpan(offset, count));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => Outbox.Append(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => Outbox.Append(buffer);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Outbox.Append(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Outbox.Append(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override void Flush() { }
        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public override bool CanRead => true;
        public override bool CanWrite => true;
        public override bool CanSeek => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public int GetResult(short token) => _source.GetResult(token);
        public ValueTaskSourceStatus GetStatus(short token) => _source.GetStatus(token);
        public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _source.OnCompleted(continuation, state, token, flags & ~ValueTaskSourceOnCompletedFlags.FlowExecutionContext);
    }

    /// <summary>A FIFO of bytes in 16 KiB blocks; emptied blocks are kept for reuse (a steady connection allocates none).</summary>
    internal sealed class ByteQueue
    {
        readonly Queue<byte[]> _blocks = new();
        readonly Stack<byte[]> _spare = new();
        byte[]? _tail;
        int _tailUsed, _headStart;
        public int Count { get; private set; }

        public void Append(ReadOnlySpan<byte> bytes)
        {
            while (bytes.Length > 0)
            {
                if (_tail == null || _tailUsed == _tail.Length)
                {
                    _tail = _spare.Count > 0 ? _spare.Pop() : new byte[16 * 1024];
                    _tailUsed = 0;
                    _blocks.Enqueue(_tail);
                }
                int n = Math.Min(bytes.Length, _tail.Length - _tailUsed);
                bytes[..n].CopyTo(_tail.AsSpan(_tailUsed));
                _tailUsed += n;
                Count += n;
                bytes = bytes[n..];
            }
        }

        public (byte[] Array, int Start, int Length) Peek()
        {
            var head = _blocks.Peek();
            int end = ReferenceEquals(head, _tail) ? _tailUsed : head.Length;
            return (head, _headStart, end - _headStart);
        }

        public void Consume(int n)
        {
            Count -= n;
            while (n > 0)
            {
                var (head, start, length) = Peek();
                int take = Math.Min(n, length);
                _headStart += take;
                n -= take;
                if (_headStart == start + length && (!ReferenceEquals(head, _tail) || _headStart == _tailUsed))
                {
                    _blocks.Dequeue();
                    _headStart = 0;
                    if (ReferenceEquals(head, _tail)) _tail = null;
                    if (_spare.Count < 4) _spare.Push(head);
                }
            }
        }

        public int Take(Span<byte> dest)
        {
            int total = 0;
            while (Count > 0 && dest.Length > 0)
            {
                var (array, start, length) = Peek();
                int n = Math.Min(length, dest.Length);
                array.AsSpan(start, n).CopyTo(dest);
                dest = dest[n..];
                Consume(n);
                total += n;
            }
            return total;
        }
    }
}
