// Bit-level helpers over string values (Redis's bitops.c): population count, first set/clear
// bit in a bit range, and BITFIELD's big-endian integer fields with Redis's overflow rules
// (WRAP, SAT, FAIL). Bits are numbered from the most significant bit of byte 0, as in Redis.
using System.Numerics;
using System.Runtime.InteropServices;

namespace Cinnabar.DataTypes;

public enum BitfieldOverflow : byte
{
    Wrap,
    Sat,
    Fail,
}

public static class BitOps
{
    /// <summary>redisPopcount: set bits in the span, eight bytes at a time.</summary>
    public static long Popcount(ReadOnlySpan<byte> s)
    {
        long count = 0;
        var words = MemoryMarshal.Cast<byte, ulong>(s);
        foreach (ulong w in words) count += BitOperations.PopCount(w);
        for (int i = words.Length * 8; i < s.Length; i++) count += BitOperations.PopCount((uint)s[i]);
        return count;
    }

    /// <summary>Bit value at a bit offset; bits past the end read as 0.</summary>
    public static int GetBit(ReadOnlySpan<byte> s, long bitOffset)
    {
        long b = bitOffset >> 3;
        if (b >= s.Length) return 0;
        return (s[(int)b] >> (7 - (int)(bitOffset & 7))) & 1;
    }

    /// <summary>
    /// The first bit equal to <paramref name="bit"/> in [startBit, endBit] (inclusive, within
    /// the string), or -1. Whole bytes in the middle are skipped with a vectorised search.
    /// </summary>
    public static long Bitpos(ReadOnlySpan<byte> s, long startBit, long endBit, int bit)
    {
        long pos = startBit;
        for (; pos <= endBit && (pos & 7) != 0; pos++)
            if (GetBit(s, pos) == bit) return pos;
        long firstByte = pos >> 3, lastFullByte = ((endBit + 1) >> 3) - 1;
        if (pos <= endBit && lastFullByte >= firstByte)
        {
            var middle = s.Slice((int)firstByte, (int)(lastFullByte - firstByte + 1));
            int idx = bit == 1 ? middle.IndexOfAnyExcept((byte)0) : middle.IndexOfAnyExcept((byte)0xFF);
            if (idx >= 0)
            {
                uint b = bit == 1 ? middle[idx] : (uint)(~middle[idx] & 0xFF);
                return (firstByte + idx) * 8 + BitOperations.LeadingZeroCount(b) - 24;
            }
            pos = (lastFullByte + 1) * 8;
        }
        for (; pos <= endBit; pos++)
            if (GetBit(s, pos) == bit) return pos;
        return -1;
    }

    /// <summary>getUnsignedBitfield: bits past the end of the string read as 0.</summary>
    public static ulong GetUnsignedBitfield(ReadOnlySpan<byte> s, ulong offset, int bits)
    {
        ulong value = 0;
        for (int j = 0; j < bits; j++, offset++)
        {
            ulong b = offset >> 3;
            uint bitval = b < (ulong)s.Length ? (uint)(s[(int)b] >> (7 - (int)(offset & 7))) & 1 : 0;
            value = (value << 1) | bitval;
        }
        return value;
    }

    public static long GetSignedBitfield(ReadOnlySpan<byte> s, ulong offset, int bits)
    {
        ulong value = GetUnsignedBitfield(s, offset, bits);
        if (bits < 64 && (value & (1UL << (bits - 1))) != 0) value |= ulong.MaxValue << bits;
        return (long)value;
    }

    /// <summary>setUnsignedBitfield: the caller has grown the string to cover the field.</summary>
    public static void SetUnsignedBitfield(Span<byte> s, ulong offset, int bits, ulong value)
    {
        for (int j = 0; j < bits; j++, offset++)
        {
            int bitval = (int)((value >> (bits - 1 - j)) & 1);
            int b = (int)(offset >> 3);
            int shift = 7 - (int)(offset & 7);
            s[b] = (byte)((s[b] & ~(1 << shift)) | (bitval << shift));
        }
    }

    /// <summary>
    /// checkUnsignedBitfieldOverflow: 0 when value+incr fits in `bits` unsigned bits, else
    /// ±1 with the WRAP/SAT replacement in <paramref name="limit"/>.
    /// </summary>
    public static int CheckUnsignedOverflow(ulong value, long incr, int bits, BitfieldOverflow ow, out ulong limit)
    {
        limit = 0;
        ulong max = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        long maxincr = unchecked((long)(max - value));
        long minincr = unchecked(-(long)value);
        if (value > max || (incr > 0 && incr > maxincr))
        {
            if (ow == BitfieldOverflow.Wrap) limit = Wrap();
            else if (ow == BitfieldOverflow.Sat) limit = max;
            return 1;
        }
        if (incr < 0 && incr < minincr)
        {
            if (ow == BitfieldOverflow.Wrap) limit = Wrap();
            else if (ow == BitfieldOverflow.Sat) limit = 0;
            return -1;
        }
        return 0;

        ulong Wrap() => unchecked(value + (ulong)incr) & ~(ulong.MaxValue << bits);
    }

    /// <summary>checkSignedBitfieldOverflow, the signed counterpart (two's complement wrap).</summary>
    public static int CheckSignedOverflow(long value, long incr, int bits, BitfieldOverflow ow, out long limit)
    {
        limit = 0;
        long max = bits == 64 ? long.MaxValue : (1L << (bits - 1)) - 1;
        long min = -max - 1;
        long maxincr = unchecked((long)((ulong)max - (ulong)value));
        long minincr = unchecked(min - value);
        if (value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr))
        {
            if (ow == BitfieldOverflow.Wrap) limit = Wrap();
            else if (ow == BitfieldOverflow.Sat) limit = max;
            return 1;
        }
        if (value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr))
        {
            if (ow == BitfieldOverflow.Wrap) limit = Wrap();
            else if (ow == BitfieldOverflow.Sat) limit = min;
            return -1;
        }
        return 0;

        long Wrap()
        {
            ulong c = unchecked((ulong)value + (ulong)incr);
            if (bits < 64)
            {
                ulong mask = ulong.MaxValue << bits;
                c = (c & (1UL << (bits - 1))) != 0 ? c | mask : c & ~mask;
            }
            return (long)c;
        }
    }
}
