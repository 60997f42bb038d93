// The RESP reply reader (hiredis's redisReader, and replication.c's readSyncBulkPayload): an
// incremental parser of what a server sends, for a replica reading its primary, Sentinel and
// MIGRATE. Every byte handed in is consumed into resumable state (a partial line, a partly filled
// bulk, an explicit stack of open aggregates), so any split point parses like the whole frame and
// nothing is parsed twice. After +FULLRESYNC the RDB transfer ($<len> or diskless $EOF:<mark>) is
// handed out as slices of the caller's input, never buffered whole; only the last 39 bytes of an
// EOF-marked transfer wait in a small hold buffer until they are known not to start the mark.
using System.Buffers.Text;

namespace Cinnabar.Protocol;

public enum ReplyStatus
{
    /// <summary>All input was consumed into partial state: call again with more bytes.</summary>
    NeedMore,
    /// <summary>A whole reply is in <see cref="RespReplyReader.Reply"/>.</summary>
    Reply,
    /// <summary>A chunk of the RDB transfer is in the payload span (it may be empty); more follows.</summary>
    Payload,
    /// <summary>The RDB transfer is complete; the payload span holds its last chunk (maybe empty).</summary>
    PayloadEnd,
    /// <summary>Malformed input or a limit exceeded: <see cref="RespReplyReader.Error"/> says which; the reader stays failed.</summary>
    Error,
}

public sealed class RespReplyReader
{
    /// <summary>Longest line (simple string, error, length header) accepted, as Redis's PROTO_INLINE_MAX_SIZE.</summary>
    public const int MaxLineLength = 64 * 1024;

    /// <summary>The diskless transfer's end mark length (RDB_EOF_MARK_SIZE).</summary>
    public const int EofMarkSize = 40;

    /// <summary>Largest bulk payload accepted (proto-max-bulk-len's default).</summary>
    public long MaxBulkLength = 512L * 1024 * 1024;

    /// <summary>Deepest nesting of aggregates (attributes included); a top-level array is depth 1.</summary>
    public int MaxDepth = 64;

    /// <summary>Most elements of one aggregate (a map counts its pairs).</summary>
    public long MaxAggregateLength = 1L << 28;

    /// <summary>Attach attribute maps ('|') to the reply they precede (RespReply.Attributes); otherwise they are skipped.</summary>
    public bool KeepAttributes = true;

    /// <summary>
    /// A bare '\n' before a top-level reply is a keepalive, not an error: a primary sends them after
    /// PSYNC while it prepares the RDB (and during a transfer to disk). Always on before a transfer header.
    /// </summary>
    public bool SkipKeepaliveNewlines;

    enum State { Type, Line, BulkBody, BulkCrlf, PayloadCounted, PayloadEof }

    struct Frame
    {
        public RespReply Node;
        public long Count;   // elements expected (a map's or attribute's 2 per pair)
        public int Filled;
    }

    State _state = State.Type;
    byte _type;
    byte[] _line = new byte[64];
    int _lineLen;
    byte[] _bulk = [];
    int _bulkFilled;
    int _crlfSeen;
    Frame[] _stack = new Frame[8];
    RespReply?[] _attributes = new RespReply?[9]; // a pending attribute map per depth
    int _depth;

    bool _expectPayload;
    long _payloadLeft;
    readonly byte[] _mark = new byte[EofMarkSize];
    readonly byte[] _hold = new byte[2 * EofMarkSize]; // the transfer's undecided tail, and a window for the mark
    int _holdLen;
    int _holdShift; // hold bytes handed out by the last call, dropped at the start of the next

    public RespReply? Reply { get; private set; }
    public string? Error { get; private set; }

    /// <summary>The diskless transfer's mark, once its header is read (null for a $&lt;len&gt; transfer).</summary>
    public byte[]? EofMark { get; private set; }

    /// <summary>The length the transfer header announced ($&lt;len&gt;), or -1 for the EOF-marked form.</summary>
    public long PayloadLength { get; private set; } = -1;

    /// <summary>True between the end of a reply and the start of the next: no partial state is held.</summary>
    public bool AtReplyBoundary => _state == State.Type && _depth == 0 && _attributes[0] == null;

    /// <summary>
    /// The next '$' header opens an RDB transfer (after +FULLRESYNC): "$&lt;len&gt;" followed by exactly len
    /// bytes with no trailing CRLF, or "$EOF:&lt;40 bytes&gt;" followed by the payload and the same 40 bytes.
    /// An error reply in its place is returned as a reply.
    /// </summary>
    public void ExpectRdbPayload()
    {
        if (!AtReplyBoundary) throw new InvalidOperationException("a reply is partially read");
        _expectPayload = true;
    }

    /// <summary>
    /// Consumes bytes from input until one event: a whole reply, a chunk of an RDB transfer (a
    /// slice of input or of the hold buffer, valid until the next call), more bytes needed, or an
    /// error. consumed says how much of input was used; the rest must be passed again.
    /// </summary>
    public ReplyStatus Read(ReadOnlySpan<byte> input, out int consumed, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        consumed = 0;
        if (Error != null) return ReplyStatus.Error;
        int pos = 0;
        while (true)
        {
            switch (_state)
            {
                case State.Type:
                    {
                        if (pos == input.Length) return Done(ReplyStatus.NeedMore, pos, out consumed);
                        byte b = input[pos];
                        if (b == (byte)'\n' && _depth == 0 && _attributes[0] == null && (SkipKeepaliveNewlines || _expectPayload))
                        {
                            pos++;
                            continue;
                        }
                        if (!IsTypeByte(b)) return Fail($"invalid reply type byte '{Printable(b)}'", pos, out consumed);
                        _type = b;
                        _lineLen = 0;
                        _state = State.Line;
                        pos++;
                        break;
                    }
                case State.Line:
                    {
                        var rest = input[pos..];
                        int nl = rest.IndexOf((byte)'\n');
                        if (nl < 0)
                        {
                            if (_lineLen + rest.Length > MaxLineLength + 1) return Fail("too big reply line", input.Length, out consumed);
                            AppendLine(rest);
                            return Done(ReplyStatus.NeedMore, input.Length, out consumed);
                        }
                        ReadOnlySpan<byte> line;
                        if (_lineLen == 0) line = rest[..nl];
                        else
                        {
                            AppendLine(rest[..nl]);
                            line = _line.AsSpan(0, _lineLen);
                        }
                        pos += nl + 1;
                        if (line.Length > MaxLineLength + 1) return Fail("too big reply line", pos, out consumed);
                        if (line.Length == 0 || line[^1] != (byte)'\r') return Fail("reply line not terminated by CRLF", pos, out consumed);
                        _lineLen = 0;
                        var status = OnLine(line[..^1]);
                        if (status == ReplyStatus.Error) return Done(status, pos, out consumed);
                        if (status == ReplyStatus.Reply) return Done(status, pos, out consumed);
                        if (status == ReplyStatus.PayloadEnd) // an empty counted transfer
                        {
                            _state = State.Type;
                            return Done(status, pos, out consumed);
                        }
                        break;
                    }
                case State.BulkBody:
                    {
                        int n = Math.Min(_bulk.Length - _bulkFilled, input.Length - pos);
                        input.Slice(pos, n).CopyTo(_bulk.AsSpan(_bulkFilled));
                        _bulkFilled += n;
                        pos += n;
                        if (_bulkFilled < _bulk.Length) return Done(ReplyStatus.NeedMore, pos, out consumed);
                        _crlfSeen = 0;
                        _state = State.BulkCrlf;
                        break;
                    }
                case State.BulkCrlf:
                    {
                        while (_crlfSeen < 2)
                        {
                            if (pos == input.Length) return Done(ReplyStatus.NeedMore, pos, out consumed);
                            if (input[pos] != (_crlfSeen == 0 ? (byte)'\r' : (byte)'\n'))
                                return Fail("bulk payload not terminated by CRLF", pos, out consumed);
                            _crlfSeen++;
                            pos++;
                        }
                        var bytes = _bulk;
                        _bulk = [];
                        _state = State.Type;
                        if (_type == (byte)'=')
                        {
                            if (bytes.Length < 4 || bytes[3] != (byte)':') return Fail("verbatim string without a format", pos, out consumed);
                            if (Emit(new RespReply(ReplyType.Verbatim, bytes.AsSpan(4).ToArray(), format: FormatName(bytes.AsSpan(0, 3)))))
                                return Done(ReplyStatus.Reply, pos, out consumed);
                        }
                        else if (Emit(new RespReply(_type == (byte)'!' ? ReplyType.BlobError : ReplyType.Bulk, bytes)))
                            return Done(ReplyStatus.Reply, pos, out consumed);
                        break;
                    }
                case State.PayloadCounted:
                    {
                        int n = (int)Math.Min(_payloadLeft, input.Length - pos);
                        payload = input.Slice(pos, n);
                        pos += n;
                        _payloadLeft -= n;
                        if (_payloadLeft > 0) return Done(n > 0 ? ReplyStatus.Payload : ReplyStatus.NeedMore, pos, out consumed);
                        _state = State.Type;
                        return Done(ReplyStatus.PayloadEnd, pos, out consumed);
                    }
                case State.PayloadEof:
                    {
                        var status = ReadEofPayload(input[pos..], out int used, out payload);
                        return Done(status, pos + used, out consumed);
                    }
            }
        }
    }

    static ReplyStatus Done(ReplyStatus status, int pos, out int consumed)
    {
        consumed = pos;
        return status;
    }

    ReplyStatus Fail(string message, int pos, out int consumed)
    {
        consumed = pos;
        Fail(message);
        return ReplyStatus.Error;
    }

    ReplyStatus Fail(string message)
    {
        Error = "Protocol error: " + message;
        return ReplyStatus.Error;
    }

    static bool IsTypeByte(byte b) => b is (byte)'+' or (byte)'-' or (byte)':' or (byte)'$' or (byte)'*' or (byte)'_' or (byte)','
        or (byte)'#' or (byte)'!' or (byte)'=' or (byte)'(' or (byte)'%' or (byte)'~' or (byte)'>' or (byte)'|';

    static string Printable(byte b) => b is >= 32 and < 127 ? ((char)b).ToString() : $"\\x{b:x2}";

    void AppendLine(ReadOnlySpan<byte> bytes)
    {
        if (_lineLen + bytes.Length > _line.Length) Array.Resize(ref _line, Math.Max(_line.Length * 2, _lineLen + bytes.Length));
        bytes.CopyTo(_line.AsSpan(_lineLen));
        _lineLen += bytes.Length;
    }

    /// <summary>A complete header or simple line (without its CRLF) for the type byte read before it.</summary>
    ReplyStatus OnLine(ReadOnlySpan<byte> line)
    {
        switch (_type)
        {
            case (byte)'+': return EmitScalar(new RespReply(ReplyType.Status, line.ToArray()));
            case (byte)'-': return EmitScalar(new RespReply(ReplyType.Error, line.ToArray()));
            case (byte)':':
                if (!RespParser.TryParseLong(line, out long v)) return Fail("invalid integer reply");
                return EmitScalar(new RespReply(ReplyType.Integer, [], v));
            case (byte)'_':
                if (line.Length != 0) return Fail("invalid null reply");
                return EmitScalar(new RespReply(ReplyType.Null, []));
            case (byte)'#':
                if (line.Length != 1 || (line[0] != (byte)'t' && line[0] != (byte)'f')) return Fail("invalid boolean reply");
                return EmitScalar(new RespReply(ReplyType.Boolean, [], line[0] == (byte)'t' ? 1 : 0));
            case (byte)',':
                if (!IsDouble(line)) return Fail("invalid double reply");
                return EmitScalar(new RespReply(ReplyType.Double, line.ToArray()));
            case (byte)'(':
                if (!IsBigNumber(line)) return Fail("invalid big number reply");
                return EmitScalar(new RespReply(ReplyType.BigNumber, line.ToArray()));
            case (byte)'$' or (byte)'!' or (byte)'=':
                return OnBulkHeader(line);
            default:
                return OnAggregateHeader(line);
        }
    }

    ReplyStatus EmitScalar(RespReply r)
    {
        _state = State.Type;
        return Emit(r) ? ReplyStatus.Reply : ReplyStatus.NeedMore;
    }

    ReplyStatus OnBulkHeader(ReadOnlySpan<byte> line)
    {
        if (_type == (byte)'$' && _expectPayload && _depth == 0) return OnPayloadHeader(line);
        if (line.Length > 0 && line[0] == (byte)'?') return Fail("streamed strings are not supported");
        if (!RespParser.TryParseLong(line, out long len) || len < -1) return Fail("invalid bulk length");
        if (len == -1)
        {
            if (_type != (byte)'$') return Fail("invalid bulk length");
            return EmitScalar(new RespReply(ReplyType.Null, []));
        }
        if (len > MaxBulkLength || len > Array.MaxLength) return Fail($"bulk length {len} exceeds the limit of {MaxBulkLength}");
        _bulk = len == 0 ? [] : GC.AllocateUninitializedArray<byte>((int)len);
        _bulkFilled = 0;
        _state = State.BulkBody;
        return ReplyStatus.NeedMore;
    }

    ReplyStatus OnPayloadHeader(ReadOnlySpan<byte> line)
    {
        _expectPayload = false;
        if (line.StartsWith("EOF:"u8))
        {
            if (line.Length != 4 + EofMarkSize) return Fail("invalid EOF mark in the transfer header");
            line[4..].CopyTo(_mark);
            EofMark = _mark.ToArray();
            PayloadLength = -1;
            _holdLen = _holdShift = 0;
            _state = State.PayloadEof;
            return ReplyStatus.NeedMore;
        }
        if (!RespParser.TryParseLong(line, out long len) || len < 0) return Fail("invalid transfer length");
        EofMark = null;
        PayloadLength = len;
        _payloadLeft = len;
        if (len == 0) return ReplyStatus.PayloadEnd;
        _state = State.PayloadCounted;
        return ReplyStatus.NeedMore;
    }

    ReplyStatus OnAggregateHeader(ReadOnlySpan<byte> line)
    {
        if (line.Length > 0 && line[0] == (byte)'?') return Fail("streamed aggregates are not supported");
        if (!RespParser.TryParseLong(line, out long len) || len < -1) return Fail("invalid aggregate length");
        var type = _type switch
        {
            (byte)'*' => ReplyType.Array,
            (byte)'%' => ReplyType.Map,
            (byte)'~' => ReplyType.Set,
            (byte)'>' => ReplyType.Push,
            _ => ReplyType.Attribute,
        };
        if (len == -1)
        {
            if (type != ReplyType.Array) return Fail("invalid aggregate length");
            return EmitScalar(new RespReply(ReplyType.Null, [], nullArray: true));
        }
        if (len > MaxAggregateLength) return Fail($"aggregate length {len} exceeds the limit of {MaxAggregateLength}");
        if (_depth == MaxDepth) return Fail($"replies nested deeper than {MaxDepth} levels");
        long count = type is ReplyType.Map or ReplyType.Attribute ? len * 2 : len;
        if (count > Array.MaxLength) return Fail($"aggregate length {len} exceeds the limit of {MaxAggregateLength}");
        // A huge announced length does not allocate up front: the element array grows as they arrive.
        var node = new RespReply(type, count == 0 ? [] : new RespReply[Math.Min(count, 1024)]);
        _state = State.Type;
        if (count == 0) return Emit(node) ? ReplyStatus.Reply : ReplyStatus.NeedMore;
        if (_depth == _stack.Length)
        {
            Array.Resize(ref _stack, _stack.Length * 2);
            Array.Resize(ref _attributes, _stack.Length + 1);
        }
        _stack[_depth++] = new Frame { Node = node, Count = count };
        return ReplyStatus.NeedMore;
    }

    /// <summary>
    /// Places a finished value in the open aggregate (closing every aggregate it completes) or, at
    /// the top, makes it the reply: true then. An attribute map is kept for the next value at its level.
    /// </summary>
    bool Emit(RespReply value)
    {
        while (true)
        {
            if (value.Type == ReplyType.Attribute)
            {
                _attributes[_depth] = KeepAttributes ? value : null;
                return false;
            }
            if (_attributes[_depth] is { } attrs)
            {
                value.Attributes = attrs;
                _attributes[_depth] = null;
            }
            if (_depth == 0)
            {
                Reply = value;
                _expectPayload = false; // an error (or any reply) in place of the transfer header cancels it
                return true;
            }
            ref var f = ref _stack[_depth - 1];
            var items = f.Node.Items;
            if (f.Filled == items.Length)
            {
                Array.Resize(ref items, (int)Math.Min((long)items.Length * 2, f.Count));
                f.Node.Items = items;
            }
            items[f.Filled++] = value;
            if (f.Filled < f.Count) return false;
            value = f.Node;
            f = default;
            _depth--;
        }
    }

    /// <summary>
    /// The diskless transfer: input is payload until the 40-byte mark. Bytes that could still be
    /// the start of the mark are held back (at most 39), and handed out once more input shows they
    /// are not; the mark may straddle any number of reads.
    /// </summary>
    ReplyStatus ReadEofPayload(ReadOnlySpan<byte> input, out int used, out ReadOnlySpan<byte> payload)
    {
        payload = default;
        used = 0;
        if (_holdShift > 0)
        {
            _hold.AsSpan(_holdShift, _holdLen - _holdShift).CopyTo(_hold);
            _holdLen -= _holdShift;
            _holdShift = 0;
        }
        if (_holdLen == 0)
        {
            int at = input.IndexOf(_mark);
            if (at >= 0)
            {
                payload = input[..at];
                used = at + EofMarkSize;
                return EndEofPayload();
            }
            int keep = Math.Min(EofMarkSize - 1, input.Length);
            payload = input[..^keep];
            input[^keep..].CopyTo(_hold);
            _holdLen = keep;
            used = input.Length;
            return payload.Length > 0 ? ReplyStatus.Payload : ReplyStatus.NeedMore;
        }
        // Held bytes (fewer than 40) plus up to 40 new ones: any mark starting in the held part ends in this window.
        int held = _holdLen;
        int k = Math.Min(input.Length, EofMarkSize);
        input[..k].CopyTo(_hold.AsSpan(held));
        int window = held + k;
        int found = _hold.AsSpan(0, window).IndexOf(_mark);
        if (found >= 0 && found < held)
        {
            payload = _hold.AsSpan(0, found);
            used = found + EofMarkSize - held;
            return EndEofPayload();
        }
        if (k == EofMarkSize)
        {
            // No mark starts in the held bytes: they are payload; the input is examined from its start next call.
            payload = _hold.AsSpan(0, held);
            _holdShift = held;
            _holdLen = held;
            return ReplyStatus.Payload;
        }
        // The input ran out inside the window: only bytes that cannot begin the mark go out.
        _holdLen = window;
        used = k;
        int decided = Math.Max(0, window - (EofMarkSize - 1));
        payload = _hold.AsSpan(0, decided);
        _holdShift = decided;
        return decided > 0 ? ReplyStatus.Payload : ReplyStatus.NeedMore;
    }

    ReplyStatus EndEofPayload()
    {
        _holdLen = _holdShift = 0;
        _state = State.Type;
        return ReplyStatus.PayloadEnd;
    }

    static string FormatName(ReadOnlySpan<byte> f) =>
        f.SequenceEqual("txt"u8) ? "txt" : f.SequenceEqual("mkd"u8) ? "mkd" : System.Text.Encoding.ASCII.GetString(f);

    /// <summary>RESP3 doubles: a decimal or exponent form, or inf/-inf/nan.</summary>
    static bool IsDouble(ReadOnlySpan<byte> s)
    {
        if (s.SequenceEqual("inf"u8) || s.SequenceEqual("-inf"u8) || s.SequenceEqual("nan"u8) || s.SequenceEqual("-nan"u8)) return true;
        return s.Length > 0 && Utf8Parser.TryParse(s, out double _, out int n, 'G') && n == s.Length;
    }

    static bool IsBigNumber(ReadOnlySpan<byte> s)
    {
        int i = s.Length > 0 && (s[0] == (byte)'-' || s[0] == (byte)'+') ? 1 : 0;
        if (i == s.Length) return false;
        for (; i < s.Length; i++)
            if ((uint)(s[i] - '0') > 9) return false;
        return true;
    }
}
