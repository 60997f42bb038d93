// The reply vocabulary (Redis's addReply* family) for RESP2 and RESP3. A handler writes the
// logical reply once (a map, a set, a double, a null) and the client's protocol version
// decides the bytes: in RESP2 a map becomes a flat array of 2N, a double a bulk string, a
// null a $-1 or *-1 as Redis would send it.
using System.Buffers.Text;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Cinnabar.Networking;

namespace Cinnabar.Protocol;

public sealed class ReplyWriter
{
    readonly ReplyBuffer _out;

    /// <summary>2 or 3, switched by HELLO.</summary>
    public int Protocol = 2;

    /// <summary>When false (CLIENT REPLY OFF/SKIP, or a fake client) replies are dropped.</summary>
    public bool Enabled = true;

    /// <summary>
    /// CLIENT_PUSHING: a push the client did not ask for with a command (a Pub/Sub message or
    /// subscription confirmation, an invalidation) goes out even under CLIENT REPLY OFF/SKIP.
    /// Returns the state EndPush restores.
    /// </summary>
    public bool BeginPush()
    {
        bool was = Enabled;
        Enabled = true;
        return was;
    }

    public void EndPush(bool was) => Enabled = was;

    /// <summary>Called with the error code (first word) of every error reply: errorstats.</summary>
    public Action<string>? OnError;

    /// <summary>The text of the last error written, as the handler gave it (the replication links' CRITICAL log quotes it).</summary>
    public string? LastError;

    /// <summary>Errors written since the last reset: the dispatcher uses it for failed_calls.</summary>
    public int ErrorsWritten;

    /// <summary>
    /// ErrorsWritten when call() last counted this client's command: errors a nested call (a
    /// command inside EXEC) already counted are not the outer command's failure, as Redis's
    /// prev_err_count has it.
    /// </summary>
    public int ErrorsAccounted;

    public ReplyWriter(ReplyBuffer output) => _out = output;

    public bool Resp3 => Protocol >= 3;

    static readonly byte[] Crlf = "\r\n"u8.ToArray();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    void Raw(ReadOnlySpan<byte> bytes)
    {
        if (Enabled) _out.Write(bytes);
    }

    void PrefixedNumber(byte prefix, long n)
    {
        if (!Enabled) return;
        var span = _out.GetSpan(24);
        span[0] = prefix;
        Utf8Formatter.TryFormat(n, span[1..], out int w);
        span[1 + w] = (byte)'\r';
        span[2 + w] = (byte)'\n';
        _out.Advance(w + 3);
    }

    public void Ok() => Raw("+OK\r\n"u8);
    public void Pong() => Raw("+PONG\r\n"u8);
    public void Queued() => Raw("+QUEUED\r\n"u8);

    public void Status(string s)
    {
        if (!Enabled) return;
        Raw("+"u8);
        Raw(Encoding.UTF8.GetBytes(s));
        Raw(Crlf);
    }

    public void Status(ReadOnlySpan<byte> s)
    {
        Raw("+"u8);
        Raw(s);
        Raw(Crlf);
    }

    /// <summary>An error reply, with addReplyError's rule: "-CODE text" carries its own code, anything else gets "ERR ".</summary>
    public void Error(string message) => Error(message, Encoding.UTF8);

    /// <summary>
    /// An error whose text embeds raw client bytes, carried one byte per char (Latin-1): they go
    /// back to the client byte for byte, as Redis echoes arguments in its error replies.
    /// </summary>
    /// <remarks>
    /// countInStats false: an error already counted in errorstats when it was first replied (a
    /// script's redis.call error passed on to the EVAL caller); the command still counts as failed.
    /// </remarks>
    public void ErrorWithRawBytes(string latin1Message, bool countInStats = true) => Error(latin1Message, Encoding.Latin1, countInStats);

    /// <summary>
    /// The errorstats code of a "-CODE msg" error, as afterErrorReply takes it: the text up to the
    /// first space within the first 32 bytes; an error with no space there counts as ERR.
    /// </summary>
    public static string ErrorCode(string error)
    {
        int sp = error.AsSpan(0, Math.Min(error.Length, 32)).IndexOf(' ');
        return sp < 0 ? "ERR" : error[1..sp];
    }

    void Error(string message, Encoding encoding, bool countInStats = true)
    {
        ErrorsWritten++;
        // Newlines would break the protocol; Redis replaces them with spaces.
        if (message.Contains('\r') || message.Contains('\n')) message = message.Replace('\r', ' ').Replace('\n', ' ');
        bool hasCode = message.Length > 0 && message[0] == '-';
        if (countInStats) OnError?.Invoke(hasCode ? ErrorCode(message) : "ERR");
        LastError = message;
        message = hasCode ? message[1..] : "ERR " + message;
        if (!Enabled) return;
        Raw("-"u8);
        Raw(encoding.GetBytes(message));
        Raw(Crlf);
    }


    public void Integer(long n)
    {
        if (n == 0) { Raw(":0\r\n"u8); return; }
        if (n == 1) { Raw(":1\r\n"u8); return; }
        PrefixedNumber((byte)':', n);
    }

    public void Bulk(ReadOnlySpan<byte> s)
    {
        if (!Enabled) return;
        if (s.Length <= ReplyBuffer.ChunkSize - 32)
        {
            var span = _out.GetSpan(s.Length + 32);
            span[0] = (byte)'$';
            Utf8Formatter.TryFormat(s.Length, span[1..], out int w);
            span[1 + w] = (byte)'\r';
            span[2 + w] = (byte)'\n';
            s.CopyTo(span[(3 + w)..]);
            int p = 3 + w + s.Length;
            span[p] = (byte)'\r';
            span[p + 1] = (byte)'\n';
            _out.Advance(p + 2);
            return;
        }
        PrefixedNumber((byte)'$', s.Length);
        Raw(s);
        Raw(Crlf);
    }

    public void Bulk(string s) => Bulk(Encoding.UTF8.GetBytes(s));

    // ---------------------------------------------------------------- runs of bulk strings
    // A container reply (LRANGE's elements) is many small bulks in a row. Writing each with
    // Bulk() asks the buffer for room, formats and advances per element; a run instead takes
    // the free room of the current block once, formats elements into it back to back with the
    // static Format* helpers, and commits the bytes once when the room runs out or the run ends.

    /// <summary>Most bytes FormatBulk adds around a string: '$', up to 10 length digits, two CRLFs.</summary>
    public const int BulkOverhead = 15;

    /// <summary>Most bytes FormatBulkLong writes: "$20\r\n-9223372036854775808\r\n".</summary>
    public const int MaxBulkLongBytes = 27;

    /// <summary>Largest element a run takes; a longer one goes through Bulk().</summary>
    public const int MaxRunElement = ReplyBuffer.ChunkSize - BulkOverhead;

    /// <summary>Free room of at least min bytes (min ≤ ReplyBuffer.ChunkSize) at the reply's end; fill it, then CommitRun.</summary>
    public Span<byte> GetRunSpan(int min) => _out.GetSpan(min);

    /// <summary>Commits n bytes written into the span from GetRunSpan.</summary>
    public void CommitRun(int n)
    {
        if (n > 0) _out.Advance(n);
    }

    /// <summary>Writes "$len\r\n" s "\r\n" at dst (room: s.Length + BulkOverhead); returns the bytes written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int FormatBulk(Span<byte> dst, ReadOnlySpan<byte> s)
    {
        dst[0] = (byte)'$';
        int w = 1 + FormatLength(dst[1..], s.Length);
        dst[w] = (byte)'\r';
        dst[w + 1] = (byte)'\n';
        s.CopyTo(dst[(w + 2)..]);
        int p = w + 2 + s.Length;
        dst[p] = (byte)'\r';
        dst[p + 1] = (byte)'\n';
        return p + 2;
    }

    /// <summary>The decimal form of n as a bulk string at dst (room: MaxBulkLongBytes), as BulkLong writes it.</summary>
    public static int FormatBulkLong(Span<byte> dst, long n)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(n, digits, out int len);
        return FormatBulk(dst, digits[..len]);
    }

    /// <summary>A non-negative length in decimal: one or two digits (the common element sizes) without the general formatter.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static int FormatLength(Span<byte> dst, int n)
    {
        if ((uint)n < 10)
        {
            dst[0] = (byte)('0' + n);
            return 1;
        }
        if ((uint)n < 100)
        {
            dst[0] = (byte)('0' + n / 10);
            dst[1] = (byte)('0' + n % 10);
            return 2;
        }
        Utf8Formatter.TryFormat(n, dst, out int w);
        return w;
    }

    /// <summary>A bulk string holding the decimal form of n (addReplyBulkLongLong).</summary>
    public void BulkLong(long n)
    {
        Span<byte> tmp = stackalloc byte[24];
        Utf8Formatter.TryFormat(n, tmp, out int w);
        Bulk(tmp[..w]);
    }

    /// <summary>A null bulk string ($-1 in RESP2, _ in RESP3).</summary>
    public void Null() => Raw(Resp3 ? "_\r\n"u8 : "$-1\r\n"u8);

    /// <summary>A null array (*-1 in RESP2, _ in RESP3).</summary>
    public void NullArray() => Raw(Resp3 ? "_\r\n"u8 : "*-1\r\n"u8);

    public void ArrayLen(long n)
    {
        if (n == 0) { Raw("*0\r\n"u8); return; }
        PrefixedNumber((byte)'*', n);
    }

    public void EmptyArray() => Raw("*0\r\n"u8);

    /// <summary>A map of n pairs; in RESP2 an array of 2n elements.</summary>
    public void MapLen(long n) => PrefixedNumber(Resp3 ? (byte)'%' : (byte)'*', Resp3 ? n : 2 * n);

    /// <summary>A set of n elements; in RESP2 an array.</summary>
    public void SetLen(long n) => PrefixedNumber(Resp3 ? (byte)'~' : (byte)'*', n);

    /// <summary>An attribute-free push frame (>n) in RESP3; a plain array in RESP2 (Pub/Sub messages).</summary>
    public void PushLen(long n) => PrefixedNumber(Resp3 ? (byte)'>' : (byte)'*', n);

    public void Boolean(bool b)
    {
        if (Resp3) Raw(b ? "#t\r\n"u8 : "#f\r\n"u8);
        else Raw(b ? ":1\r\n"u8 : ":0\r\n"u8);
    }

    /// <summary>A double: RESP3 ",d", RESP2 a bulk string, formatted as Redis's %.17g.</summary>
    public void Double(double d)
    {
        string s = FormatDouble(d);
        if (Resp3)
        {
            Raw(","u8);
            Raw(Encoding.ASCII.GetBytes(s));
            Raw(Crlf);
        }
        else Bulk(Encoding.ASCII.GetBytes(s));
    }

    /// <summary>A big number: RESP3 "(n", RESP2 a bulk string.</summary>
    public void BigNumber(string digits)
    {
        if (Resp3) { Raw("("u8); Raw(Encoding.ASCII.GetBytes(digits)); Raw(Crlf); }
        else Bulk(digits);
    }

    /// <summary>A verbatim string: RESP3 "=len\r\ntxt:...", RESP2 a bulk string.</summary>
    public void Verbatim(string text, string format = "txt")
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        if (!Resp3) { Bulk(bytes); return; }
        PrefixedNumber((byte)'=', bytes.Length + 4);
        Raw(Encoding.ASCII.GetBytes(format + ":"));
        Raw(bytes);
        Raw(Crlf);
    }

    /// <summary>Pre-encoded protocol bytes (shared replies, MONITOR lines, passthrough).</summary>
    public void Protocol_(ReadOnlySpan<byte> raw) => Raw(raw);

    /// <summary>Redis's %.17g for doubles with inf/-inf/nan spelled as Redis does.</summary>
    public static string FormatDouble(double d)
    {
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (double.IsNaN(d)) return "nan";
        return FormatG17(d);
    }

    /// <summary>C's printf("%.17g").</summary>
    public static string FormatG17(double d)
    {
        if (d == 0) return double.IsNegative(d) ? "-0" : "0";
        string r = d.ToString("E16", CultureInfo.InvariantCulture); // d.dddddddddddddddde+XXX
        int ePos = r.IndexOf('E');
        int exp = int.Parse(r.AsSpan(ePos + 1), CultureInfo.InvariantCulture);
        bool neg = r[0] == '-';
        string mant = r[(neg ? 1 : 0)..ePos].Replace(".", "");
        // %g: use scientific if exp < -4 or exp >= precision(17)
        string body;
        if (exp < -4 || exp >= 17)
        {
            string m = mant.TrimEnd('0');
            string frac = m.Length > 1 ? "." + m[1..] : "";
            body = m[0] + frac + "e" + (exp < 0 ? "-" : "+") + Math.Abs(exp).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (exp >= 0)
        {
            string intPart = mant[..(exp + 1)];
            string fracPart = mant[(exp + 1)..].TrimEnd('0');
            body = fracPart.Length > 0 ? intPart + "." + fracPart : intPart;
        }
        else
        {
            string fracPart = (new string('0', -exp - 1) + mant).TrimEnd('0');
            body = "0." + fracPart;
        }
        return neg ? "-" + body : body;
    }
}
