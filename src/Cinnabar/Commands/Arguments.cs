// Argument parsing helpers with Redis's replies (getLongLongFromObjectOrReply and friends):
// each returns false after writing the exact error, so a handler can `if (!...) return;`.
using System.Globalization;
using System.Text;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Commands;

public static class Arguments
{
    public static bool TryGetLong(Client c, int i, out long value, string? error = null)
    {
        if (RespParser.TryParseLong(c.Args[i], out value)) return true;
        c.Reply.Error(error ?? Errors.NotInteger);
        return false;
    }

    /// <summary>getPositiveLongFromObjectOrReply / getRangeLongFromObjectOrReply.</summary>
    public static bool TryGetLongInRange(Client c, int i, long min, long max, out long value, string? error = null)
    {
        if (!RespParser.TryParseLong(c.Args[i], out value) || value < min || value > max)
        {
            c.Reply.Error(error ?? (min == 0 && max == long.MaxValue ? "value is out of range, must be positive" : Errors.NotInteger));
            return false;
        }
        return true;
    }

    /// <summary>Redis's string2ld/strtold rules for doubles: no spaces, "inf"/"-inf" allowed, NaN rejected.</summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> s, out double value)
    {
        value = 0;
        if (s.Length == 0 || s.Length > 5120) return false;
        if (IsSpace(s[0]) || IsSpace(s[^1])) return false;
        string str = Encoding.ASCII.GetString(s);
        switch (str.ToLowerInvariant())
        {
            case "inf" or "+inf" or "infinity" or "+infinity":
                value = double.PositiveInfinity;
                return true;
            case "-inf" or "-infinity":
                value = double.NegativeInfinity;
                return true;
        }
        if (!double.TryParse(str, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return false;
        // strtod accepts hex floats and such; .NET rejects them. Neither accepts NaN here.
        return !double.IsNaN(value);
    }

    static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    public static bool TryGetDouble(Client c, int i, out double value, string? error = null)
    {
        if (TryParseDouble(c.Args[i], out value)) return true;
        c.Reply.Error(error ?? Errors.NotFloat);
        return false;
    }

    public static string Upper(Client c, int i) => c.Args.ToStringAt(i).ToUpperInvariant();
}
