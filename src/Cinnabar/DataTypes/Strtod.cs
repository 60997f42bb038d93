// C's strtod (glibc, "C" locale) over bytes, and Redis's string2d on top of it. Redis parses
// every double argument with strtod (ZADD scores, GEOADD coordinates, weights, ZRANGEBYSCORE
// bounds, SORT keys), so hex floats ("0x1p4"), inf/infinity/nan spellings and ERANGE on
// overflow/underflow all show in replies. Decimal text is validated here and rounded by .NET's
// correctly rounded parser; hex text is rounded here (ties to even) so no double rounding occurs.
using System.Globalization;
using System.Numerics;

namespace Cinnabar.DataTypes;

public static class Strtod
{
    const double DblMin = 2.2250738585072014E-308; // DBL_MIN, the smallest normal double

    /// <summary>
    /// strtod: converts the longest valid prefix of s (after leading isspace) and returns the index
    /// where conversion stopped (eptr - s): 0 when nothing converts, as strtod leaves eptr at s.
    /// erange is glibc's errno == ERANGE: overflow to ±infinity, or a tiny (below DBL_MIN) result
    /// that is inexact, zero included.
    /// </summary>
    public static int Parse(ReadOnlySpan<byte> s, out double value, out bool erange)
    {
        value = 0;
        erange = false;
        int i = 0;
        while (i < s.Length && IsSpace(s[i])) i++;
        int start = i;
        bool neg = false;
        if (i < s.Length && s[i] is (byte)'+' or (byte)'-')
        {
            neg = s[i] == (byte)'-';
            i++;
        }
        var rest = s[i..];
        if (StartsWithIgnoreCase(rest, "inf"u8))
        {
            value = neg ? double.NegativeInfinity : double.PositiveInfinity;
            return i + (StartsWithIgnoreCase(rest, "infinity"u8) ? 8 : 3);
        }
        if (StartsWithIgnoreCase(rest, "nan"u8))
        {
            value = double.NaN;
            int j = i + 3;
            // "nan(n-char-sequence)" is consumed whole only when the parenthesis closes.
            if (j < s.Length && s[j] == (byte)'(')
            {
                int k = j + 1;
                while (k < s.Length && (char.IsAsciiLetterOrDigit((char)s[k]) || s[k] == (byte)'_')) k++;
                if (k < s.Length && s[k] == (byte)')') j = k + 1;
            }
            return j;
        }
        if (rest.Length > 2 && rest[0] == (byte)'0' && (rest[1] | 0x20) == 'x' && HexDigit(rest[2]) >= 0 ||
            rest.Length > 3 && rest[0] == (byte)'0' && (rest[1] | 0x20) == 'x' && rest[2] == (byte)'.' && HexDigit(rest[3]) >= 0)
        {
            int end = i + 2 + ParseHex(rest[2..], neg, out value, out erange);
            return end;
        }
        return ParseDecimal(s, start, i, out value, out erange);
    }

    /// <summary>
    /// string2d (util.c): the whole string must convert, with no leading space, no NaN, and no
    /// ERANGE overflow or underflow to zero (a denormal result is accepted).
    /// </summary>
    public static bool TryParseWhole(ReadOnlySpan<byte> s, out double value)
    {
        if (s.Length == 0 || IsSpace(s[0]) || Parse(s, out value, out bool erange) != s.Length || double.IsNaN(value) ||
            erange && (double.IsInfinity(value) || value == 0))
        {
            value = 0;
            return false;
        }
        return true;
    }

    static int ParseDecimal(ReadOnlySpan<byte> s, int start, int i, out double value, out bool erange)
    {
        value = 0;
        erange = false;
        int digits = 0;
        bool nonZero = false;
        for (; i < s.Length && IsDigit(s[i]); i++, digits++) nonZero |= s[i] != (byte)'0';
        if (i < s.Length && s[i] == (byte)'.')
            for (i++; i < s.Length && IsDigit(s[i]); i++, digits++) nonZero |= s[i] != (byte)'0';
        if (digits == 0) return 0;
        if (i < s.Length && (s[i] | 0x20) == 'e')
        {
            int j = i + 1;
            if (j < s.Length && s[j] is (byte)'+' or (byte)'-') j++;
            if (j < s.Length && IsDigit(s[j]))
            {
                while (j < s.Length && IsDigit(s[j])) j++;
                i = j;
            }
        }
        var text = s[start..i];
        double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
            CultureInfo.InvariantCulture, out value);
        if (double.IsInfinity(value)) erange = true;
        else if (value == 0) erange = nonZero;
        else if (Math.Abs(value) < DblMin) erange = Compare(text, BitConverter.DoubleToInt64Bits(Math.Abs(value)), 1074) != 0;
        // Rounded up to DBL_MIN: tiny (and so ERANGE) only if 53 bits with an unbounded exponent
        // would stay below DBL_MIN, i.e. the value is below DBL_MIN - 2^-1076 (glibc: tininess after rounding).
        else if (Math.Abs(value) == DblMin) erange = Compare(text, (1L << 54) - 1, 1076) < 0;
        return i;
    }

    /// <summary>The decimal text (below 1 in magnitude) compared exactly with m * 2^-k.</summary>
    static int Compare(ReadOnlySpan<byte> text, long m, int k)
    {
        BigInteger digits = BigInteger.Zero;
        long e10 = 0;
        int i = 0;
        if (text[0] is (byte)'+' or (byte)'-') i++;
        bool dot = false;
        for (; i < text.Length && (IsDigit(text[i]) || text[i] == (byte)'.'); i++)
        {
            if (text[i] == (byte)'.')
            {
                dot = true;
                continue;
            }
            digits = digits * 10 + (text[i] - '0');
            if (dot) e10--;
        }
        if (i < text.Length) e10 += long.Parse(text[(i + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        // digits * 10^e10 against m * 2^-k, both sides scaled by 2^k * 10^-e10.
        if (e10 >= 0) return 1;
        if (-e10 > 100_000) return -1;
        return (digits << k).CompareTo(m * BigInteger.Pow(10, (int)-e10));
    }

    /// <summary>
    /// The hex significand and optional binary exponent after "0x"; returns the length consumed.
    /// The first 16 significant digits are kept exactly, the rest fold into a sticky bit.
    /// </summary>
    static int ParseHex(ReadOnlySpan<byte> s, bool neg, out double value, out bool erange)
    {
        ulong mant = 0;
        long exp = 0;
        bool sticky = false, dot = false;
        int kept = 0, i = 0;
        for (; i < s.Length; i++)
        {
            if (s[i] == (byte)'.' && !dot)
            {
                dot = true;
                continue;
            }
            int d = HexDigit(s[i]);
            if (d < 0) break;
            if (kept < 16)
            {
                if (kept > 0 || d != 0)
                {
                    mant = mant << 4 | (uint)d;
                    kept++;
                }
                if (dot) exp -= 4;
            }
            else
            {
                sticky |= d != 0;
                if (!dot) exp += 4;
            }
        }
        if (i < s.Length && (s[i] | 0x20) == 'p')
        {
            int j = i + 1;
            bool eneg = false;
            if (j < s.Length && s[j] is (byte)'+' or (byte)'-')
            {
                eneg = s[j] == (byte)'-';
                j++;
            }
            if (j < s.Length && IsDigit(s[j]))
            {
                long p = 0;
                for (; j < s.Length && IsDigit(s[j]); j++) p = Math.Min(p * 10 + (s[j] - '0'), 1_000_000);
                exp += eneg ? -p : p;
                i = j;
            }
        }
        value = RoundToDouble(mant, exp, sticky, out bool inexact, out bool overflow, out bool tiny);
        if (neg) value = -value;
        erange = overflow || inexact && tiny;
        return i;
    }

    /// <summary>
    /// mant * 2^exp (plus a sticky fraction below mant's last bit) rounded to nearest, ties to even;
    /// tiny: below DBL_MIN even when rounded to 53 bits with an unbounded exponent (glibc's
    /// tininess after rounding), the condition for ERANGE on an inexact result.
    /// </summary>
    static double RoundToDouble(ulong mant, long exp, bool sticky, out bool inexact, out bool overflow, out bool tiny)
    {
        inexact = sticky;
        overflow = false;
        tiny = true;
        if (mant == 0) return 0;
        int nbits = 64 - BitOperations.LeadingZeroCount(mant);
        long lead = exp + nbits - 1;                  // exponent of the leading bit
        tiny = lead < -1022 && !(lead == -1023 && RoundsUpTo53Bits(mant, exp, sticky));
        long lsb = Math.Max(lead - 52, -1074);        // exponent of the last bit a double keeps here
        long shift = lsb - exp;                       // low bits of mant to drop
        ulong m;
        if (shift <= 0)
        {
            m = mant << (int)-shift;
        }
        else
        {
            bool half, below;
            if (shift > 64)
            {
                m = 0;
                half = false;
                below = true;
            }
            else
            {
                m = shift == 64 ? 0 : mant >> (int)shift;
                ulong dropped = shift == 64 ? mant : mant & ((1UL << (int)shift) - 1);
                ulong halfBit = 1UL << (int)(shift - 1);
                half = (dropped & halfBit) != 0;
                below = (dropped & (halfBit - 1)) != 0;
            }
            below |= sticky;
            inexact = half || below;
            if (half && (below || (m & 1) != 0)) m++;
            if (m == 1UL << 53)
            {
                m >>= 1;
                lsb++;
            }
        }
        if (m != 0 && lsb + 63 - BitOperations.LeadingZeroCount(m) > 1023)
        {
            overflow = true;
            return double.PositiveInfinity;
        }
        return Math.ScaleB(m, (int)lsb);
    }

    /// <summary>Whether mant * 2^exp (+ sticky), rounded to 53 significant bits, carries into the next power of two.</summary>
    static bool RoundsUpTo53Bits(ulong mant, long exp, bool sticky)
    {
        int nbits = 64 - BitOperations.LeadingZeroCount(mant);
        if (nbits <= 53) return false; // exact: a sticky tail only follows 16 full hex digits (61+ bits)
        int shift = nbits - 53;
        ulong kept = mant >> shift;
        ulong dropped = mant & ((1UL << shift) - 1);
        ulong halfBit = 1UL << (shift - 1);
        bool roundUp = (dropped & halfBit) != 0 && ((dropped & (halfBit - 1)) != 0 || sticky || (kept & 1) != 0);
        return roundUp && kept == (1UL << 53) - 1;
    }

    static int HexDigit(byte b) =>
        b is >= (byte)'0' and <= (byte)'9' ? b - '0' : (b | 0x20) is >= 'a' and <= 'f' ? (b | 0x20) - 'a' + 10 : -1;

    static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

    static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    static bool StartsWithIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> lower)
    {
        if (a.Length < lower.Length) return false;
        for (int k = 0; k < lower.Length; k++)
            if ((a[k] | 0x20) != lower[k]) return false;
        return true;
    }
}
