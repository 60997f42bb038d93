// One reply as a server sends it (hiredis's redisReply): the RESP2 and RESP3 types, binary-safe
// payloads as byte arrays, aggregates as arrays of replies (a map's or attribute's keys and
// values alternate). RespReplyReader builds them; a replica, Sentinel and MIGRATE read them.
using System.Globalization;
using System.Text;

namespace Cinnabar.Protocol;

public enum ReplyType : byte
{
    Status,      // +
    Error,       // -
    Integer,     // :
    Bulk,        // $
    Array,       // *
    Null,        // _ (and RESP2's $-1 and *-1)
    Double,      // ,
    Boolean,     // #
    BlobError,   // !
    Verbatim,    // =
    BigNumber,   // (
    Map,         // %
    Set,         // ~
    Push,        // >
    Attribute,   // | (attached to the reply it describes, see RespReply.Attributes)
}

public sealed class RespReply
{
    public readonly ReplyType Type;

    /// <summary>The payload of a string-like reply (status, error, bulk, double, big number, verbatim text after its format).</summary>
    public readonly byte[] Bytes;

    /// <summary>An integer's value; a boolean's 1 or 0.</summary>
    public readonly long Integer;

    /// <summary>An aggregate's elements; for a map or attribute, key and value alternate.</summary>
    public RespReply[] Items;

    /// <summary>A verbatim string's three-letter format ("txt", "mkd").</summary>
    public readonly string? Format;

    /// <summary>The attribute map ('|') the server sent before this reply, when the reader keeps attributes.</summary>
    public RespReply? Attributes { get; internal set; }

    /// <summary>RESP2's null array (*-1) as opposed to the null bulk ($-1) or RESP3's '_'.</summary>
    public readonly bool NullArray;

    internal RespReply(ReplyType type, byte[] bytes, long integer = 0, string? format = null, bool nullArray = false)
    {
        Type = type;
        Bytes = bytes;
        Integer = integer;
        Format = format;
        NullArray = nullArray;
        Items = [];
    }

    internal RespReply(ReplyType type, RespReply[] items)
    {
        Type = type;
        Bytes = [];
        Items = items;
    }

    public bool IsError => Type is ReplyType.Error or ReplyType.BlobError;

    public bool IsAggregate => Type is ReplyType.Array or ReplyType.Map or ReplyType.Set or ReplyType.Push or ReplyType.Attribute;

    /// <summary>The payload as UTF-8 text (status lines, errors, bulk strings).</summary>
    public string Text => Encoding.UTF8.GetString(Bytes);

    /// <summary>A double's value (RESP3 ",": "inf", "-inf" and "nan" included).</summary>
    public double Double => Text switch
    {
        "inf" => double.PositiveInfinity,
        "-inf" => double.NegativeInfinity,
        "nan" or "-nan" => double.NaN,
        var s => double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    /// <summary>For a map (or attribute): the value under a key whose bytes equal the given text, or null.</summary>
    public RespReply? Get(string key)
    {
        var k = Encoding.UTF8.GetBytes(key);
        for (int i = 0; i + 1 < Items.Length; i += 2)
            if (Items[i].Bytes.AsSpan().SequenceEqual(k)) return Items[i + 1];
        return null;
    }

    /// <summary>A compact readable form for logs and test assertions, e.g. [1, "a", {k: #t}].</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb);
        return sb.ToString();
    }

    void Append(StringBuilder sb)
    {
        if (Attributes != null)
        {
            sb.Append('|');
            Attributes.Append(sb);
            sb.Append(' ');
        }
        switch (Type)
        {
            case ReplyType.Status: sb.Append('+').Append(Text); break;
            case ReplyType.Error: sb.Append('-').Append(Text); break;
            case ReplyType.BlobError: sb.Append('!').Append(Text); break;
            case ReplyType.Integer: sb.Append(Integer.ToString(CultureInfo.InvariantCulture)); break;
            case ReplyType.Bulk: sb.Append('"').Append(Text).Append('"'); break;
            case ReplyType.Null: sb.Append(NullArray ? "(nil array)" : "(nil)"); break;
            case ReplyType.Double: sb.Append(',').Append(Text); break;
            case ReplyType.Boolean: sb.Append(Integer != 0 ? "#t" : "#f"); break;
            case ReplyType.BigNumber: sb.Append('(').Append(Text); break;
            case ReplyType.Verbatim: sb.Append('=').Append(Format).Append(':').Append(Text); break;
            default:
                var (open, close) = Type switch
                {
                    ReplyType.Map or ReplyType.Attribute => ("{", "}"),
                    ReplyType.Set => ("~{", "}"),
                    ReplyType.Push => (">[", "]"),
                    _ => ("[", "]"),
                };
                sb.Append(open);
                bool map = Type is ReplyType.Map or ReplyType.Attribute;
                for (int i = 0; i < Items.Length; i++)
                {
                    if (i > 0) sb.Append(map && i % 2 == 1 ? ": " : ", ");
                    Items[i].Append(sb);
                }
                sb.Append(close);
                break;
        }
    }
}
