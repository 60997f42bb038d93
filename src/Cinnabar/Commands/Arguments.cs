// Argument parsing helpers with Redis's replies (getLongLongFromObjectOrReply and friends):
// each returns false after writing the exact error, so a handler can `if (!...) return;`.
using Cinnabar.DataTypes;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Commands;

public static class Arguments
{
    /// <summary>A C string's view of an argument, one char per byte: %s in an error stops at an embedded NUL.</summary>
    public static string CStr(ReadOnlySpan<byte> b)
    {
        int nul = b.IndexOf((byte)0);
        return System.Text.Encoding.Latin1.GetString(nul < 0 ? b : b[..nul]);
    }

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

    /// <summary>string2d: getDoubleFromObject's rules (see Strtod.TryParseWhole).</summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> s, out double value) => Strtod.TryParseWhole(s, out value);

    public static bool TryGetDouble(Client c, int i, out double value, string? error = null)
    {
        if (TryParseDouble(c.Args[i], out value)) return true;
        c.Reply.Error(error ?? Errors.NotFloat);
        return false;
    }

    /// <summary>C's atoi/atoll: leading digits after optional blanks and sign, 0 when there are none (DEBUG's numbers, the AOF manifest's seq).</summary>
    public static long Atoi(string s)
    {
        int i = 0;
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        int start = i;
        if (i < s.Length && s[i] is '+' or '-') i++;
        while (i < s.Length && char.IsAsciiDigit(s[i])) i++;
        return long.TryParse(s.AsSpan(start, i - start), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long v) ? v : 0;
    }

    public static string Upper(Client c, int i) => c.Args.ToStringAt(i).ToUpperInvariant();

    /// <summary>getTimeoutFromObjectOrReply in milliseconds: an absolute unix time, 0 for 0.</summary>
    public static bool TryGetTimeoutMs(Client c, int i, out long endMs)
    {
        endMs = 0;
        if (!TryGetLong(c, i, out long ms, "timeout is not an integer or out of range")) return false;
        if (ms < 0)
        {
            c.Reply.Error("timeout is negative");
            return false;
        }
        if (ms > 0) endMs = ms > long.MaxValue - c.Server.NowMs ? long.MaxValue : c.Server.NowMs + ms;
        return true;
    }
}
