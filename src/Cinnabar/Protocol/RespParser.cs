// The RESP request parser: a resumable state machine over a client's query buffer, after
// Redis's processMultibulkBuffer/processInlineBuffer. Arguments are recorded as
// (offset, length) slices of the buffer, so the hot path copies nothing; a frame split at
// any byte boundary parses the same as a whole one because the state survives between reads.
using System.Buffers.Text;

namespace Cinnabar.Protocol;

public enum ParseStatus
{
    /// <summary>More bytes are needed; the consumed position marks where parsing resumes.</summary>
    Incomplete,
    /// <summary>A whole command is in <see cref="RespParser.Args"/>.</summary>
    Command,
    /// <summary>An empty command (e.g. a blank inline line or "*0"): nothing to execute.</summary>
    Empty,
    /// <summary>Malformed input: reply with <see cref="RespParser.Error"/> and close after the reply.</summary>
    Error,
}

public sealed class RespParser
{
    /// <summary>Longest inline request or count line Redis accepts (PROTO_INLINE_MAX_SIZE).</summary>
    public const int InlineMaxSize = 1024 * 64;

    int _multibulkLen;     // bulks still to read in the current multibulk request; 0 = none started
    long _bulkLen = -1;    // length of the bulk being read, -1 when its "$n" line is not read yet
    bool _inMultibulk;

    public readonly CommandArgs Args = new();
    public string? Error { get; private set; }

    /// <summary>Largest bulk argument accepted (proto-max-bulk-len); masters are exempt as in Redis.</summary>
    public long ProtoMaxBulkLen = 512L * 1024 * 1024;

    /// <summary>Set while the client has not authenticated: Redis caps request sizes then.</summary>
    public bool AuthRequired;

    /// <summary>Where the command being parsed begins in the buffer: bytes from here on must be kept while InProgress.</summary>
    public int CommandStart;

    /// <summary>True when a multibulk request is partially read; the buffer must keep its bytes.</summary>
    public bool InProgress => _inMultibulk;

    /// <summary>The length of the bulk whose bytes are awaited (its "$n" line read), else -1; the bytes start where parsing stopped.</summary>
    public long PendingBulkLength => _inMultibulk ? _bulkLen : -1;

    /// <summary>The query buffer moved its bytes left by <paramref name="delta"/>, maybe into a new array: fix the slices.</summary>
    public void Relocate(byte[] from, byte[] to, int delta)
    {
        Args.Relocate(from, to, delta);
        CommandStart -= delta;
    }

    public void Reset()
    {
        _multibulkLen = 0;
        _bulkLen = -1;
        _inMultibulk = false;
        Args.Clear();
        Error = null;
    }

    /// <summary>
    /// Parses at most one command from buf[pos..end). On Command/Empty, pos is past the command.
    /// On Incomplete, pos is where the next call resumes (partial state is kept).
    /// </summary>
    public ParseStatus Parse(byte[] buf, ref int pos, int end)
    {
        if (!_inMultibulk)
        {
            CommandStart = pos;
            if (pos >= end) return ParseStatus.Incomplete;
            if (buf[pos] != (byte)'*') return ParseInline(buf, ref pos, end);
        }
        return ParseMultibulk(buf, ref pos, end);
    }

    /// <summary>
    /// strchr on the query buffer, as Redis finds the end of a count or an inline line: a NUL
    /// before the byte hides it, so the request stays incomplete (until it is too big).
    /// </summary>
    static int FindBeforeNul(ReadOnlySpan<byte> s, byte b)
    {
        int i = s.IndexOfAny(b, (byte)0);
        return i >= 0 && s[i] == b ? i : -1;
    }

    ParseStatus Fail(string message)
    {
        Error = "Protocol error: " + message;
        return ParseStatus.Error;
    }

    ParseStatus ParseMultibulk(byte[] buf, ref int pos, int end)
    {
        if (!_inMultibulk)
        {
            int nl = FindBeforeNul(buf.AsSpan(pos, end - pos), (byte)'\r');
            if (nl < 0)
            {
                if (end - pos > InlineMaxSize) return Fail("too big mbulk count string");
                return ParseStatus.Incomplete;
            }
            if (nl > end - pos - 2) return ParseStatus.Incomplete; // the '\n' is not here yet
            if (!TryParseLong(buf.AsSpan(pos + 1, nl - 1), out long ll) || ll > int.MaxValue)
                return Fail("invalid multibulk length");
            if (ll > 10 && AuthRequired) return Fail("unauthenticated multibulk length");
            pos += nl + 2;
            if (ll <= 0) return ParseStatus.Empty;
            _multibulkLen = (int)ll;
            _inMultibulk = true;
            _bulkLen = -1;
            Args.Clear();
            Args.EnsureCapacity(Math.Min(_multibulkLen, 1024));
        }

        while (_multibulkLen > 0)
        {
            if (_bulkLen == -1)
            {
                int nl = FindBeforeNul(buf.AsSpan(pos, end - pos), (byte)'\r');
                if (nl < 0)
                {
                    if (end - pos > InlineMaxSize) return Fail("too big bulk count string");
                    return ParseStatus.Incomplete;
                }
                if (nl > end - pos - 2) return ParseStatus.Incomplete;
                if (buf[pos] != (byte)'$')
                    return Fail($"expected '$', got '{(char)buf[pos]}'");
                // Beyond Array.MaxLength an argument cannot be held in one buffer, whatever proto-max-bulk-len says.
                if (!TryParseLong(buf.AsSpan(pos + 1, nl - 1), out long ll) || ll < 0 || ll > ProtoMaxBulkLen || ll > Array.MaxLength - 2)
                    return Fail("invalid bulk length");
                if (ll > 16384 && AuthRequired) return Fail("unauthenticated bulk length");
                pos += nl + 2;
                _bulkLen = ll;
            }
            if (end - pos < _bulkLen + 2) return ParseStatus.Incomplete;
            Args.Add(buf, pos, (int)_bulkLen);
            pos += (int)_bulkLen + 2; // Redis skips the trailing CRLF without checking it
            _bulkLen = -1;
            _multibulkLen--;
        }
        _inMultibulk = false;
        return ParseStatus.Command;
    }

    ParseStatus ParseInline(byte[] buf, ref int pos, int end)
    {
        int nl = FindBeforeNul(buf.AsSpan(pos, end - pos), (byte)'\n');
        if (nl < 0)
        {
            if (end - pos > InlineMaxSize) return Fail("too big inline request");
            return ParseStatus.Incomplete;
        }
        int lineLen = nl;
        if (lineLen > 0 && buf[pos + lineLen - 1] == (byte)'\r') lineLen--;
        var line = buf.AsSpan(pos, lineLen);
        Args.Clear();
        if (!InlineSplitter.Split(line, Args)) return Fail("unbalanced quotes in request");
        pos += nl + 1;
        return Args.Count == 0 ? ParseStatus.Empty : ParseStatus.Command;
    }

    /// <summary>Redis's string2ll: optional '-', digits, no leading '+', no spaces, no leading zeros but "0".</summary>
    public static bool TryParseLong(ReadOnlySpan<byte> s, out long value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 20) return false;
        if (s.Length == 1 && s[0] == (byte)'0') return true;
        int i = 0;
        bool negative = false;
        if (s[0] == (byte)'-')
        {
            negative = true;
            i = 1;
            if (s.Length == 1) return false;
        }
        if (s[i] < (byte)'1' || s[i] > (byte)'9') return false;
        ulong v = 0;
        for (; i < s.Length; i++)
        {
            uint d = (uint)(s[i] - (byte)'0');
            if (d > 9) return false;
            if (v > (ulong.MaxValue - d) / 10) return false;
            v = v * 10 + d;
        }
        if (negative)
        {
            if (v > (ulong)long.MaxValue + 1) return false;
            value = (long)(0 - v);
        }
        else
        {
            if (v > long.MaxValue) return false;
            value = (long)v;
        }
        return true;
    }

    internal static bool Utf8TryParse(ReadOnlySpan<byte> s, out long v) => Utf8Parser.TryParse(s, out v, out int n) && n == s.Length;
}
