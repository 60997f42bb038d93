// An exact emulation of the x87 80-bit long double (64-bit mantissa, round-half-even) that
// INCRBYFLOAT computes with: Redis parses with strtold, adds in long double and prints with
// "%.17Lf", so "INCRBYFLOAT k 1000.1" replies 1000.09999999999999998. A double cannot
// reproduce those digits, so values are kept as mantissa * 2^exponent in BigIntegers; it is
// only used off the hot path (INCRBYFLOAT and its float parsing).
using System.Numerics;

namespace Cinnabar.DataTypes;

public readonly struct LongDouble
{
    const int MantissaBits = 64;
    const int MaxExponent = 16384 - MantissaBits; // values reach at most 2^16384 (exclusive)
    const int MinExponent = -16445;               // smallest subnormal; below this is zero

    public readonly bool Negative;
    public readonly BigInteger Mantissa; // 0, or exactly 64 bits
    public readonly int Exponent;        // value = Mantissa * 2^Exponent
    public readonly bool IsInfinity;

    LongDouble(bool negative, BigInteger mantissa, int exponent, bool infinity = false)
    {
        Negative = negative;
        Mantissa = mantissa;
        Exponent = exponent;
        IsInfinity = infinity;
    }

    public bool IsZero => !IsInfinity && Mantissa.IsZero;

    static LongDouble Infinity(bool negative) => new(negative, BigInteger.Zero, 0, true);

    public static LongDouble FromLong(long v) =>
        v == 0 ? default : FromRational(v < 0, BigInteger.Abs(v), BigInteger.One, 0);

    /// <summary>Rounds num/den * 2^exp2 (num, den > 0) to the nearest long double, ties to even.</summary>
    static LongDouble FromRational(bool negative, BigInteger num, BigInteger den, long exp2)
    {
        if (num.IsZero) return new LongDouble(negative, BigInteger.Zero, 0);
        // Scale so the quotient has 66 or 67 bits: two guard bits plus a sticky remainder.
        int s = (int)(MantissaBits + 2 - (num.GetBitLength() - den.GetBitLength()));
        BigInteger q = s >= 0 ? BigInteger.DivRem(num << s, den, out var r) : BigInteger.DivRem(num, den << -s, out r);
        long exp = exp2 - s;
        int drop = (int)q.GetBitLength() - MantissaBits;
        BigInteger kept = q >> drop;
        BigInteger rest = q - (kept << drop);
        int cmp = rest.CompareTo(BigInteger.One << (drop - 1));
        if (cmp > 0 || (cmp == 0 && (!r.IsZero || !kept.IsEven))) kept += 1;
        exp += drop;
        if (kept.GetBitLength() > MantissaBits)
        {
            kept >>= 1;
            exp++;
        }
        if (exp > MaxExponent) return Infinity(negative);
        if (exp < MinExponent) return new LongDouble(negative, BigInteger.Zero, 0);
        return new LongDouble(negative, kept, (int)exp);
    }

    /// <summary>
    /// string2ld: strtold over the whole input (decimal, hex "0x1p3", inf/infinity), rejecting
    /// leading spaces, trailing garbage, NaN, overflow to infinity and underflow to zero.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out LongDouble value)
    {
        value = default;
        if (s.Length == 0 || s.Length >= 5 * 1024) return false;
        if (IsSpace(s[0])) return false;
        int i = 0;
        bool neg = false;
        if (s[0] == (byte)'+' || s[0] == (byte)'-')
        {
            neg = s[0] == (byte)'-';
            i = 1;
        }
        var rest = s[i..];
        if (EqualsIgnoreCase(rest, "inf"u8) || EqualsIgnoreCase(rest, "infinity"u8))
        {
            value = Infinity(neg);
            return true;
        }
        bool hex = rest.Length > 2 && rest[0] == (byte)'0' && (rest[1] | 0x20) == 'x';
        if (hex) i += 2;
        int radix = hex ? 16 : 10;
        BigInteger digits = BigInteger.Zero;
        int ndigits = 0, fracDigits = 0, significant = 0;
        bool dot = false;
        for (; i < s.Length; i++)
        {
            byte b = s[i];
            if (b == (byte)'.' && !dot)
            {
                dot = true;
                continue;
            }
            int d = DigitValue(b, radix);
            if (d < 0) break;
            ndigits++;
            if (dot) fracDigits++;
            if (d != 0 || significant > 0) significant++;
            digits = digits * radix + d;
        }
        if (ndigits == 0) return false;
        long exp = 0;
        if (i < s.Length && (s[i] | 0x20) == (hex ? 'p' : 'e'))
        {
            int j = i + 1;
            bool eneg = false;
            if (j < s.Length && (s[j] == (byte)'+' || s[j] == (byte)'-'))
            {
                eneg = s[j] == (byte)'-';
                j++;
            }
            if (j < s.Length && s[j] >= (byte)'0' && s[j] <= (byte)'9')
            {
                for (; j < s.Length && s[j] >= (byte)'0' && s[j] <= (byte)'9'; j++)
                    exp = Math.Min(exp * 10 + (s[j] - '0'), 1_000_000);
                if (eneg) exp = -exp;
                i = j;
            }
        }
        if (i != s.Length) return false;
        if (digits.IsZero)
        {
            value = new LongDouble(neg, BigInteger.Zero, 0);
            return true;
        }
        if (hex)
        {
            value = FromRational(neg, digits, BigInteger.One, exp - 4L * fracDigits);
        }
        else
        {
            long e10 = exp - fracDigits;
            long magnitude = e10 + significant; // the value is below 10^magnitude
            if (magnitude > 5000) return false;  // far beyond LDBL_MAX (~1.19e4932)
            if (magnitude < -5000) return false; // far below the smallest subnormal
            value = e10 >= 0
                ? FromRational(neg, digits * BigInteger.Pow(10, (int)e10), BigInteger.One, 0)
                : FromRational(neg, digits, BigInteger.Pow(10, (int)-e10), 0);
        }
        // ERANGE: overflow to HUGE_VAL or underflow to zero makes string2ld fail.
        return !value.IsInfinity && !value.IsZero;
    }

    static int DigitValue(byte b, int radix)
    {
        if (b >= (byte)'0' && b <= (byte)'9') return b - '0';
        if (radix == 16)
        {
            int l = b | 0x20;
            if (l >= 'a' && l <= 'f') return l - 'a' + 10;
        }
        return -1;
    }

    static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> lower)
    {
        if (a.Length != lower.Length) return false;
        for (int k = 0; k < a.Length; k++)
            if ((a[k] | 0x20) != lower[k]) return false;
        return true;
    }

    /// <summary>a + b rounded once, as the FPU does; infinities make the caller's NaN/Infinity check fire.</summary>
    public static LongDouble operator +(LongDouble a, LongDouble b)
    {
        if (a.IsInfinity || b.IsInfinity) return Infinity(a.IsInfinity ? a.Negative : b.Negative);
        if (a.IsZero && b.IsZero) return new LongDouble(a.Negative && b.Negative, BigInteger.Zero, 0);
        if (a.IsZero) return b;
        if (b.IsZero) return a;
        int e = Math.Min(a.Exponent, b.Exponent);
        BigInteger x = a.Mantissa << (a.Exponent - e);
        BigInteger y = b.Mantissa << (b.Exponent - e);
        BigInteger sum = (a.Negative ? -x : x) + (b.Negative ? -y : y);
        if (sum.IsZero) return default; // exact cancellation gives +0 in round-to-nearest
        return FromRational(sum.Sign < 0, BigInteger.Abs(sum), BigInteger.One, e);
    }

    /// <summary>
    /// (long long) ceill(this * k) as getTimeoutFromObjectOrReply computes it: the product rounded
    /// once to a long double, its ceiling, then x86's conversion, which gives LLONG_MIN when out of range.
    /// </summary>
    public long MultiplyCeilingToInt64(long k)
    {
        if (IsInfinity) return long.MinValue;
        var p = FromRational(Negative != (k < 0), Mantissa * BigInteger.Abs(k), BigInteger.One, Exponent);
        if (p.IsInfinity) return long.MinValue;
        if (p.IsZero) return 0;
        BigInteger whole;
        if (p.Exponent >= 0)
        {
            whole = p.Mantissa << p.Exponent;
        }
        else
        {
            whole = p.Mantissa >> -p.Exponent;
            bool fraction = !(p.Mantissa & ((BigInteger.One << -p.Exponent) - 1)).IsZero;
            if (fraction && !p.Negative) whole += 1; // ceiling: up for positives, truncation for negatives
        }
        if (p.Negative) whole = -whole;
        return whole >= long.MinValue && whole <= long.MaxValue ? (long)whole : long.MinValue;
    }

    static readonly BigInteger Pow10_17 = BigInteger.Pow(10, 17);

    /// <summary>ld2string(LD_STR_HUMAN): "%.17Lf" with trailing zeros (and a bare '.') removed, "-0" as "0".</summary>
    public string ToHumanString()
    {
        BigInteger scaled;
        if (Exponent >= 0)
        {
            scaled = (Mantissa << Exponent) * Pow10_17;
        }
        else
        {
            var den = BigInteger.One << -Exponent;
            scaled = BigInteger.DivRem(Mantissa * Pow10_17, den, out var r);
            int cmp = (r << 1).CompareTo(den);
            if (cmp > 0 || (cmp == 0 && !scaled.IsEven)) scaled += 1;
        }
        string digits = scaled.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(18, '0');
        string s = digits[..^17] + "." + digits[^17..];
        s = s.TrimEnd('0');
        if (s.EndsWith('.')) s = s[..^1];
        if (Negative) s = "-" + s;
        return s == "-0" ? "0" : s;
    }
}
