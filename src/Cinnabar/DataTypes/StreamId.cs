// A stream entry ID (stream.h's streamID): milliseconds and a sequence number, both unsigned
// 64-bit, ordered by ms then seq. In the rax it is the 128-bit big-endian key (streamEncodeID),
// so byte order is ID order. Parsing follows streamGenericParseIDOrReply: "-" and "+", "<ms>",
// "<ms>-<seq>" and (for XADD) "<ms>-*", with each number read by string2ull (strtoull's rules).
using System.Buffers.Binary;
using System.Buffers.Text;

namespace Cinnabar.DataTypes;

public readonly record struct StreamId(ulong Ms, ulong Seq) : IComparable<StreamId>
{
    public const int EncodedSize = 16;

    /// <summary>"ms-seq" at its longest: two 20-digit numbers and the dash.</summary>
    public const int MaxFormattedLength = 41;

    public static readonly StreamId Min = new(0, 0);
    public static readonly StreamId Max = new(ulong.MaxValue, ulong.MaxValue);

    public bool IsZero => Ms == 0 && Seq == 0;

    public int CompareTo(StreamId other) => Ms != other.Ms ? Ms.CompareTo(other.Ms) : Seq.CompareTo(other.Seq);

    public static bool operator <(StreamId a, StreamId b) => a.CompareTo(b) < 0;
    public static bool operator >(StreamId a, StreamId b) => a.CompareTo(b) > 0;
    public static bool operator <=(StreamId a, StreamId b) => a.CompareTo(b) <= 0;
    public static bool operator >=(StreamId a, StreamId b) => a.CompareTo(b) >= 0;

    /// <summary>streamEncodeID: the rax key.</summary>
    public void Encode(Span<byte> dst)
    {
        BinaryPrimitives.WriteUInt64BigEndian(dst, Ms);
        BinaryPrimitives.WriteUInt64BigEndian(dst[8..], Seq);
    }

    public byte[] ToKey()
    {
        var k = new byte[EncodedSize];
        Encode(k);
        return k;
    }

    public static StreamId Decode(ReadOnlySpan<byte> key) =>
        new(BinaryPrimitives.ReadUInt64BigEndian(key), BinaryPrimitives.ReadUInt64BigEndian(key[8..]));

    /// <summary>streamIncrID: the next ID, or false at the last possible one.</summary>
    public bool TryIncrement(out StreamId next)
    {
        if (Seq == ulong.MaxValue)
        {
            if (Ms == ulong.MaxValue)
            {
                next = this;
                return false;
            }
            next = new(Ms + 1, 0);
            return true;
        }
        next = new(Ms, Seq + 1);
        return true;
    }

    /// <summary>streamDecrID: the previous ID, or false at 0-0.</summary>
    public bool TryDecrement(out StreamId prev)
    {
        if (Seq == 0)
        {
            if (Ms == 0)
            {
                prev = this;
                return false;
            }
            prev = new(Ms - 1, ulong.MaxValue);
            return true;
        }
        prev = new(Ms, Seq - 1);
        return true;
    }

    /// <summary>The "ms-seq" form Redis replies with; returns the bytes written.</summary>
    public int Format(Span<byte> dst)
    {
        Utf8Formatter.TryFormat(Ms, dst, out int a);
        dst[a++] = (byte)'-';
        Utf8Formatter.TryFormat(Seq, dst[a..], out int b);
        return a + b;
    }

    public byte[] ToBytes()
    {
        Span<byte> tmp = stackalloc byte[MaxFormattedLength];
        return tmp[..Format(tmp)].ToArray();
    }

    public override string ToString() => $"{Ms}-{Seq}";

    /// <summary>
    /// streamGenericParseIDOrReply. missingSeq fills an ID given as "ms" only; strict refuses
    /// "-" and "+"; allowAutoSeq accepts "ms-*" (seqGiven false). False means the caller replies
    /// "Invalid stream ID specified as stream command argument".
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out StreamId id, ulong missingSeq = 0, bool strict = false, bool allowAutoSeq = false) =>
        TryParse(s, out id, out _, missingSeq, strict, allowAutoSeq);

    public static bool TryParse(ReadOnlySpan<byte> s, out StreamId id, out bool seqGiven, ulong missingSeq = 0, bool strict = false, bool allowAutoSeq = false)
    {
        id = default;
        seqGiven = true;
        if (s.Length > 127) return false;
        // The C string ends at an embedded NUL.
        int nul = s.IndexOf((byte)0);
        if (nul >= 0) s = s[..nul];
        if (s.Length == 1 && (s[0] == '-' || s[0] == '+'))
        {
            if (strict) return false;
            id = s[0] == '-' ? Min : Max;
            return true;
        }
        int dash = s.IndexOf((byte)'-');
        var msPart = dash < 0 ? s : s[..dash];
        if (!TryParseULong(msPart, out ulong ms)) return false;
        ulong seq = missingSeq;
        if (dash >= 0)
        {
            var seqPart = s[(dash + 1)..];
            if (allowAutoSeq && seqPart.Length == 1 && seqPart[0] == '*')
            {
                seq = 0;
                seqGiven = false;
            }
            else if (!TryParseULong(seqPart, out seq)) return false;
        }
        id = new(ms, seq);
        return true;
    }

    /// <summary>string2ull: string2ll for a non-negative value, else strtoull (spaces, a sign, wrap of "-n") with nothing after the digits.</summary>
    static bool TryParseULong(ReadOnlySpan<byte> s, out ulong value)
    {
        value = 0;
        if (Protocol.RespParser.TryParseLong(s, out long ll))
        {
            if (ll < 0) return false;
            value = (ulong)ll;
            return true;
        }
        if (s.Length == 0) return false;
        int i = 0;
        while (i < s.Length && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) i++;
        bool negative = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
        int start = i;
        ulong v = 0;
        for (; i < s.Length && s[i] >= '0' && s[i] <= '9'; i++)
        {
            ulong d = (ulong)(s[i] - '0');
            if (v > (ulong.MaxValue - d) / 10) return false; // ERANGE
            v = v * 10 + d;
        }
        if (i == start || i != s.Length) return false;
        value = negative ? unchecked(0 - v) : v;
        return true;
    }
}
