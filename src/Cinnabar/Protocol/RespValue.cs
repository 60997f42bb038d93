// A typed RESP value tree: how static replies (the command table's COMMAND INFO and COMMAND
// DOCS entries) are stored and written back in either protocol. Loaded from the typed JSON
// that tools/gen-commands.py writes.
using System.Text.Json;

namespace Cinnabar.Protocol;

public enum RespKind
{
    Bulk,
    Status,
    Integer,
    Array,
    Map,
    Set,
    Double,
    Null,
    Verbatim,
    Boolean,
}

public sealed class RespValue
{
    public RespKind Kind;
    public string? Text;
    public long Integer;
    public RespValue[] Items = [];

    public static RespValue FromJson(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String: return new RespValue { Kind = RespKind.Bulk, Text = e.GetString() };
            case JsonValueKind.Number: return new RespValue { Kind = RespKind.Integer, Integer = e.GetInt64() };
            case JsonValueKind.Null: return new RespValue { Kind = RespKind.Null };
            case JsonValueKind.True: return new RespValue { Kind = RespKind.Boolean, Integer = 1 };
            case JsonValueKind.False: return new RespValue { Kind = RespKind.Boolean, Integer = 0 };
            case JsonValueKind.Array:
                return new RespValue { Kind = RespKind.Array, Items = e.EnumerateArray().Select(FromJson).ToArray() };
            case JsonValueKind.Object:
                var prop = e.EnumerateObject().First();
                return prop.Name switch
                {
                    "s" => new RespValue { Kind = RespKind.Status, Text = prop.Value.GetString() },
                    "m" => new RespValue { Kind = RespKind.Map, Items = prop.Value.EnumerateArray().Select(FromJson).ToArray() },
                    "set" => new RespValue { Kind = RespKind.Set, Items = prop.Value.EnumerateArray().Select(FromJson).ToArray() },
                    "d" => new RespValue { Kind = RespKind.Double, Text = prop.Value.GetString() },
                    "verbatim" => new RespValue { Kind = RespKind.Verbatim, Text = prop.Value.GetString() },
                    _ => throw new FormatException("unknown typed node " + prop.Name),
                };
            default:
                throw new FormatException("unexpected JSON " + e.ValueKind);
        }
    }

    /// <summary>For a map: the value under a bulk/status key, or null.</summary>
    public RespValue? Get(string key)
    {
        for (int i = 0; i + 1 < Items.Length; i += 2)
            if (Items[i].Text == key) return Items[i + 1];
        return null;
    }

    public void WriteTo(ReplyWriter w)
    {
        switch (Kind)
        {
            case RespKind.Bulk: w.Bulk(Text!); break;
            case RespKind.Status: w.Status(Text!); break;
            case RespKind.Integer: w.Integer(Integer); break;
            case RespKind.Null: w.Null(); break;
            case RespKind.Boolean: w.Boolean(Integer != 0); break;
            case RespKind.Double: w.Double(double.Parse(Text!, System.Globalization.CultureInfo.InvariantCulture)); break;
            case RespKind.Verbatim: w.Verbatim(Text!); break;
            case RespKind.Array:
                w.ArrayLen(Items.Length);
                foreach (var i in Items) i.WriteTo(w);
                break;
            case RespKind.Set:
                w.SetLen(Items.Length);
                foreach (var i in Items) i.WriteTo(w);
                break;
            case RespKind.Map:
                w.MapLen(Items.Length / 2);
                foreach (var i in Items) i.WriteTo(w);
                break;
        }
    }
}
