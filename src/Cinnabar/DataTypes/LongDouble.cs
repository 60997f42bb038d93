// x87 80-bit long double arithmetic as HINCRBYFLOAT needs it: Redis parses with strtold, adds in
// long double and prints "%.17Lf", so its replies show the 64-bit mantissa's rounding
// ("5005.60000000000000009"). A value is mantissa * 2^exponent with |mantissa| < 2^64; parsing
// and addition round to nearest-even from the exact value (BigInteger), as the FPU does.
using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace Cinnabar.DataTypes;

public readonly partial struct LongDouble
{
    const int MantissaBits = 64;
    const int MaxExponent = 16384; // values >= 2^16384 overflow to infinity

    readonly BigInteger _mantissa;
    readonly int _exponent;

    LongDouble(BigInteger mantissa, int exponent)
    {
        _mantissa = mantissa;
        _exponent = exponent;
    }

    public bool IsInfinity => !_mantissa.IsZero && (long)_mantissa.GetBitLength() + _exponent > MaxExponent;

    [GeneratedRegex(@"^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$")]
    private static partial Regex DecimalSyntax();

    /// <summary>strtold of a decimal string (inf/nan/hex excluded: callers validated with string2ld first).</summary>
    public static bool TryParse(string s, out LongDouble value)
    {
        value = default;
        var m = DecimalSyntax().Match(s);
        if (!m.Success || m.Groups[2].Length + m.Groups[3].Length == 0) return false;
        var digits = BigInteger.Parse("0" + m.Groups[2].Value + m.Groups[3].Value, CultureInfo.InvariantCulture);
        if (!int.TryParse(m.Groups[4].Success && m.Groups[4].Length > 0 ? m.Groups[4].Value : "0", NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int exp10)) return false;
        exp10 -= m.Groups[3].Length;
        if (exp10 > 5000 || exp10 < -5000) return false;
        if (m.Groups[1].Value == "-") digits = -digits;
        BigInteger num = digits, den = BigInteger.One;
        if (exp10 >= 0) num *= BigInteger.Pow(10, exp10);
        else den = BigInteger.Pow(10, -exp10);
        value = RoundRational(num, den, 0);
        return true;
    }

    /// <summary>Rounds num/den * 2^exp to a 64-bit mantissa, nearest-even.</summary>
    static LongDouble RoundRational(BigInteger num, BigInteger den, int exp)
    {
        if (num.IsZero) return default;
        int sign = num.Sign;
        num = BigInteger.Abs(num);
        // Shift so the quotient has at least 65 bits, then round the extra low bits away.
        int shift = MantissaBits + 2 - (int)(num.GetBitLength() - den.GetBitLength());
        BigInteger scaledNum = shift >= 0 ? num << shift : num;
        BigInteger scaledDen = shift >= 0 ? den : den << -shift;
        var q = BigInteger.DivRem(scaledNum, scaledDen, out var rem);
        int e = exp - shift;
        int extra = (int)q.GetBitLength() - MantissaBits;
        var low = q & ((BigInteger.One << extra) - 1);
        var half = BigInteger.One << (extra - 1);
        q >>= extra;
        e += extra;
        if (low > half || (low == half && (!rem.IsZero || !q.IsEven))) q += 1;
        if (q.GetBitLength() > MantissaBits)
        {
            q >>= 1;
            e++;
        }
        return new LongDouble(sign < 0 ? -q : q, e);
    }

    public static LongDouble operator +(LongDouble a, LongDouble b)
    {
        if (a._mantissa.IsZero) return b;
        if (b._mantissa.IsZero) return a;
        int e = Math.Min(a._exponent, b._exponent);
        var sum = (a._mantissa << (a._exponent - e)) + (b._mantissa << (b._exponent - e));
        return RoundRational(sum, BigInteger.One, e);
    }

    /// <summary>ld2string(LD_STR_HUMAN): "%.17Lf" (exact value, nearest-even) without trailing zeros or point.</summary>
    public string ToHumanString()
    {
        BigInteger scaled;
        var pow = BigInteger.Pow(10, 17);
        if (_exponent >= 0) scaled = (_mantissa << _exponent) * pow;
        else
        {
            var num = BigInteger.Abs(_mantissa) * pow;
            var den = BigInteger.One << -_exponent;
            scaled = BigInteger.DivRem(num, den, out var rem);
            var twice = rem * 2;
            if (twice > den || (twice == den && !scaled.IsEven)) scaled += 1;
            if (_mantissa.Sign < 0) scaled = -scaled;
        }
        bool negative = scaled.Sign < 0;
        string digits = BigInteger.Abs(scaled).ToString(CultureInfo.InvariantCulture).PadLeft(18, '0');
        string s = digits[..^17] + "." + digits[^17..];
        s = s.TrimEnd('0').TrimEnd('.');
        // "%.17Lf" keeps the sign of a negative value that rounds to zero; Redis then turns "-0" into "0".
        if (negative || (_mantissa.Sign < 0 && s == "0")) s = "-" + s;
        return s == "-0" ? "0" : s;
    }
}
