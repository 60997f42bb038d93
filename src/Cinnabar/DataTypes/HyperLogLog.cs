// Redis's HyperLogLog (hyperloglog.c) over its exact byte format, kept in a plain string value
// so GET/SET/DUMP move it between Cinnabar and redis-server unchanged:
//   "HYLL" <encoding: 0 dense, 1 sparse> <3 unused> <cached cardinality u64 LE, bit 63 = stale>
//   dense: 16384 6-bit registers, LSB first (12288 bytes); sparse: ZERO/XZERO/VAL run opcodes.
// Elements hash with MurmurHash64A (seed 0xadc83b19); the estimate is Ertl's improved estimator
// (hllSigma/hllTau) that Redis uses, so counts are identical for identical inputs.
using System.Buffers.Binary;

namespace Cinnabar.DataTypes;

public static class HyperLogLog
{
    public const int P = 14, Q = 64 - P, Registers = 1 << P, Bits = 6, RegisterMax = (1 << Bits) - 1;
    public const int HeaderSize = 16;
    public const int DenseSize = HeaderSize + (Registers * Bits + 7) / 8;
    public const byte Dense = 0, Sparse = 1, Raw = 255;
    const ulong PMask = Registers - 1;
    const int SparseValMaxValue = 32, SparseValMaxLen = 4, SparseZeroMaxLen = 64, SparseXZeroMaxLen = 16384;
    const double AlphaInf = 0.721347520444481703680;

    public const string InvalidHllError = "-INVALIDOBJ Corrupted HLL object detected";

    // ------------------------------------------------------------------ header

    public static byte Encoding(byte[] h) => h[4];

    public static bool ValidCache(byte[] h) => (h[15] & 0x80) == 0;
    public static void InvalidateCache(byte[] h) => h[15] |= 0x80;
    public static ulong CachedCardinality(byte[] h) => BinaryPrimitives.ReadUInt64LittleEndian(h.AsSpan(8));
    public static void SetCachedCardinality(byte[] h, ulong card) => BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(8), card);

    /// <summary>isHLLObjectOrReply's checks on the string bytes: size, magic, encoding, dense length.</summary>
    public static bool IsValidObject(ReadOnlySpan<byte> s)
    {
        if (s.Length < HeaderSize) return false;
        if (s[0] != 'H' || s[1] != 'Y' || s[2] != 'L' || s[3] != 'L') return false;
        if (s[4] > Sparse) return false;
        return s[4] != Dense || s.Length == DenseSize;
    }

    /// <summary>createHLLObject: a sparse HLL of XZERO opcodes covering every register.</summary>
    public static byte[] Create()
    {
        int n = (Registers + SparseXZeroMaxLen - 1) / SparseXZeroMaxLen;
        var s = new byte[HeaderSize + n * 2];
        "HYLL"u8.CopyTo(s);
        s[4] = Sparse;
        int p = HeaderSize, aux = Registers;
        while (aux > 0)
        {
            int xzero = Math.Min(SparseXZeroMaxLen, aux);
            XZeroSet(s, p, xzero);
            p += 2;
            aux -= xzero;
        }
        return s;
    }

    // ------------------------------------------------------------------ hashing

    /// <summary>MurmurHash64A, endian neutral as in Redis.</summary>
    public static ulong MurmurHash64A(ReadOnlySpan<byte> key, uint seed)
    {
        const ulong m = 0xc6a4a7935bd1e995;
        const int r = 47;
        ulong h = seed ^ unchecked((ulong)key.Length * m);
        int blocks = key.Length - (key.Length & 7);
        for (int i = 0; i < blocks; i += 8)
        {
            ulong k = BinaryPrimitives.ReadUInt64LittleEndian(key[i..]);
            k *= m;
            k ^= k >> r;
            k *= m;
            h ^= k;
            h *= m;
        }
        var tail = key[blocks..];
        switch (key.Length & 7)
        {
            case 7: h ^= (ulong)tail[6] << 48; goto case 6;
            case 6: h ^= (ulong)tail[5] << 40; goto case 5;
            case 5: h ^= (ulong)tail[4] << 32; goto case 4;
            case 4: h ^= (ulong)tail[3] << 24; goto case 3;
            case 3: h ^= (ulong)tail[2] << 16; goto case 2;
            case 2: h ^= (ulong)tail[1] << 8; goto case 1;
            case 1:
                h ^= tail[0];
                h *= m;
                break;
        }
        h ^= h >> r;
        h *= m;
        h ^= h >> r;
        return h;
    }

    /// <summary>hllPatLen: the register index and the length of the 000..1 run after the index bits.</summary>
    public static int PatLen(ReadOnlySpan<byte> ele, out int index)
    {
        ulong hash = MurmurHash64A(ele, 0xadc83b19);
        index = (int)(hash & PMask);
        hash >>= P;
        hash |= 1UL << Q;
        return System.Numerics.BitOperations.TrailingZeroCount(hash) + 1;
    }

    // ------------------------------------------------------------------ dense

    public static int DenseGet(byte[] s, int offset, int regnum)
    {
        int bytePos = offset + regnum * Bits / 8;
        int fb = regnum * Bits & 7;
        int b0 = s[bytePos];
        int b1 = bytePos + 1 < s.Length ? s[bytePos + 1] : 0;
        return ((b0 >> fb) | (b1 << (8 - fb))) & RegisterMax;
    }

    public static void DenseSet(byte[] s, int offset, int regnum, int val)
    {
        int bytePos = offset + regnum * Bits / 8;
        int fb = regnum * Bits & 7, fb8 = 8 - fb;
        s[bytePos] = (byte)((s[bytePos] & ~(RegisterMax << fb)) | (val << fb));
        if (bytePos + 1 < s.Length)
            s[bytePos + 1] = (byte)((s[bytePos + 1] & ~(RegisterMax >> fb8)) | (val >> fb8));
    }

    /// <summary>hllDenseSet: raises the register; 1 when it changed.</summary>
    static int DenseSetIfGreater(byte[] s, int index, int count)
    {
        if (count <= DenseGet(s, HeaderSize, index)) return 0;
        DenseSet(s, HeaderSize, index, count);
        return 1;
    }

    // ------------------------------------------------------------------ sparse opcodes

    static bool IsZero(byte b) => (b & 0xc0) == 0;
    static bool IsXZero(byte b) => (b & 0xc0) == 0x40;
    static bool IsVal(byte b) => (b & 0x80) != 0;
    static int ZeroLen(byte b) => (b & 0x3f) + 1;
    // A truncated XZERO reads the byte after the string as 0, as Redis reads the sds terminator.
    static int XZeroLen(byte[] s, int p) => (((s[p] & 0x3f) << 8) | (p + 1 < s.Length ? s[p + 1] : 0)) + 1;
    static int ValValue(byte b) => ((b >> 2) & 0x1f) + 1;
    static int ValLen(byte b) => (b & 0x3) + 1;
    static byte ValByte(int val, int len) => (byte)(((val - 1) << 2) | (len - 1) | 0x80);

    static void XZeroSet(byte[] s, int p, int len)
    {
        int l = len - 1;
        s[p] = (byte)((l >> 8) | 0x40);
        s[p + 1] = (byte)(l & 0xff);
    }

    /// <summary>hllSparseToDense: the dense form (header copied, encoding changed), or null when the sparse data is corrupt.</summary>
    public static byte[]? SparseToDense(byte[] sparse)
    {
        if (sparse[4] == Dense) return sparse;
        var dense = new byte[DenseSize];
        sparse.AsSpan(0, HeaderSize).CopyTo(dense);
        dense[4] = Dense;
        int idx = 0, p = HeaderSize;
        while (p < sparse.Length)
        {
            byte b = sparse[p];
            if (IsZero(b))
            {
                idx += ZeroLen(b);
                p++;
            }
            else if (IsXZero(b))
            {
                idx += XZeroLen(sparse, p);
                p += 2;
            }
            else
            {
                int runlen = ValLen(b), regval = ValValue(b);
                if (runlen + idx > Registers) break;
                while (runlen-- > 0) DenseSet(dense, HeaderSize, idx++, regval);
                p++;
            }
        }
        return idx == Registers ? dense : null;
    }

    /// <summary>
    /// hllSparseSet: raises register index to count, splitting the covering opcode and merging
    /// equal neighbours; promotes to dense when count exceeds 32 or the size would pass maxBytes.
    /// Returns 1 when changed, 0 when not, -1 when corrupt; s may be replaced.
    /// </summary>
    public static int SparseSet(ref byte[] s, int index, int count, long maxBytes)
    {
        if (count > SparseValMaxValue) return Promote(ref s, index, count);
        int end = s.Length;
        int p = HeaderSize, prev = -1, first = 0, span = 0;
        while (p < end)
        {
            int oplen = 1;
            byte b = s[p];
            if (IsZero(b)) span = ZeroLen(b);
            else if (IsVal(b)) span = ValLen(b);
            else
            {
                span = XZeroLen(s, p);
                oplen = 2;
            }
            if (index <= first + span - 1) break;
            prev = p;
            p += oplen;
            first += span;
        }
        if (span == 0 || p >= end) return -1;

        byte op = s[p];
        bool isZero = IsZero(op), isXZero = IsXZero(op), isVal = !isZero && !isXZero;
        int next = isXZero ? p + 2 : p + 1;
        int runlen = isZero ? ZeroLen(op) : isXZero ? XZeroLen(s, p) : ValLen(op);

        if (isVal)
        {
            if (ValValue(op) >= count) return 0;
            if (runlen == 1)
            {
                s[p] = ValByte(count, 1);
                return Updated(ref s, prev);
            }
        }
        if (isZero && runlen == 1)
        {
            s[p] = ValByte(count, 1);
            return Updated(ref s, prev);
        }

        // General case: split the opcode into up to three (XZERO-VAL-XZERO is 5 bytes).
        Span<byte> seq = stackalloc byte[5];
        int n = 0, last = first + span - 1;
        if (isZero || isXZero)
        {
            if (index != first) n += WriteZeros(seq[n..], index - first);
            seq[n++] = ValByte(count, 1);
            if (index != last) n += WriteZeros(seq[n..], last - index);
        }
        else
        {
            int curval = ValValue(op);
            if (index != first) seq[n++] = ValByte(curval, index - first);
            seq[n++] = ValByte(count, 1);
            if (index != last) seq[n++] = ValByte(curval, last - index);
        }
        int oldlen = isXZero ? 2 : 1;
        int delta = n - oldlen;
        if (delta > 0 && s.Length + delta > maxBytes) return Promote(ref s, index, count);
        if (delta != 0)
        {
            var grown = new byte[s.Length + delta];
            s.AsSpan(0, p).CopyTo(grown);
            if (next < s.Length) s.AsSpan(next).CopyTo(grown.AsSpan(p + n));
            s = grown;
        }
        // A truncated final opcode leaves less room than the sequence: Redis's length keeps only what fits.
        seq[..Math.Min(n, s.Length - p)].CopyTo(s.AsSpan(p));
        return Updated(ref s, prev);
    }

    static int WriteZeros(Span<byte> dst, int len)
    {
        if (len > SparseZeroMaxLen)
        {
            int l = len - 1;
            dst[0] = (byte)((l >> 8) | 0x40);
            dst[1] = (byte)(l & 0xff);
            return 2;
        }
        dst[0] = (byte)(len - 1);
        return 1;
    }

    /// <summary>Step 4 of hllSparseSet: merges adjacent equal VAL opcodes near the change, then invalidates the cache.</summary>
    static int Updated(ref byte[] s, int prev)
    {
        int p = prev >= 0 ? prev : HeaderSize;
        int end = s.Length;
        int scanlen = 5;
        while (p < end && scanlen-- > 0)
        {
            byte b = s[p];
            if (IsXZero(b))
            {
                p += 2;
                continue;
            }
            if (IsZero(b))
            {
                p++;
                continue;
            }
            if (p + 1 < end && IsVal(s[p + 1]))
            {
                int v1 = ValValue(b), v2 = ValValue(s[p + 1]);
                if (v1 == v2)
                {
                    int len = ValLen(b) + ValLen(s[p + 1]);
                    if (len <= SparseValMaxLen)
                    {
                        s[p + 1] = ValByte(v1, len);
                        var shrunk = new byte[s.Length - 1];
                        s.AsSpan(0, p).CopyTo(shrunk);
                        s.AsSpan(p + 1).CopyTo(shrunk.AsSpan(p));
                        s = shrunk;
                        end--;
                        continue;
                    }
                }
            }
            p++;
        }
        InvalidateCache(s);
        return 1;
    }

    static int Promote(ref byte[] s, int index, int count)
    {
        var dense = SparseToDense(s);
        if (dense == null) return -1;
        s = dense;
        DenseSetIfGreater(s, index, count);
        return 1;
    }

    /// <summary>hllAdd: 1 when a register changed, 0 when not, -1 for an invalid representation.</summary>
    public static int Add(ref byte[] s, ReadOnlySpan<byte> ele, long sparseMaxBytes)
    {
        int count = PatLen(ele, out int index);
        return s[4] switch
        {
            Dense => DenseSetIfGreater(s, index, count),
            Sparse => SparseSet(ref s, index, count, sparseMaxBytes),
            _ => -1,
        };
    }

    // ------------------------------------------------------------------ counting and merging

    static void SparseRegHisto(byte[] s, Span<int> histo, ref bool invalid)
    {
        int idx = 0, p = HeaderSize;
        while (p < s.Length)
        {
            byte b = s[p];
            if (IsZero(b))
            {
                int r = ZeroLen(b);
                idx += r;
                histo[0] += r;
                p++;
            }
            else if (IsXZero(b))
            {
                int r = XZeroLen(s, p);
                idx += r;
                histo[0] += r;
                p += 2;
            }
            else
            {
                int r = ValLen(b);
                idx += r;
                histo[ValValue(b)] += r;
                p++;
            }
        }
        if (idx != Registers) invalid = true;
    }

    static double Sigma(double x)
    {
        if (x == 1.0) return double.PositiveInfinity;
        double zPrime, y = 1, z = x;
        do
        {
            x *= x;
            zPrime = z;
            z += x * y;
            y += y;
        } while (zPrime != z);
        return z;
    }

    static double Tau(double x)
    {
        if (x == 0.0 || x == 1.0) return 0.0;
        double zPrime, y = 1.0, z = 1 - x;
        do
        {
            x = Math.Sqrt(x);
            zPrime = z;
            y *= 0.5;
            z -= (1 - x) * (1 - x) * y;
        } while (zPrime != z);
        return z / 3;
    }

    /// <summary>hllCount from a register histogram.</summary>
    static ulong Estimate(Span<int> histo)
    {
        double m = Registers;
        double z = m * Tau((m - histo[Q + 1]) / m);
        for (int j = Q; j >= 1; --j)
        {
            z += histo[j];
            z *= 0.5;
        }
        z += m * Sigma(histo[0] / m);
        return (ulong)Math.Round(AlphaInf * m * m / z, MidpointRounding.AwayFromZero);
    }

    /// <summary>hllCount of a dense or sparse HLL; invalid is set for a corrupt sparse representation.</summary>
    public static ulong Count(byte[] s, out bool invalid)
    {
        invalid = false;
        Span<int> histo = stackalloc int[64];
        if (s[4] == Dense)
            for (int j = 0; j < Registers; j++) histo[DenseGet(s, HeaderSize, j)]++;
        else SparseRegHisto(s, histo, ref invalid);
        return Estimate(histo);
    }

    /// <summary>hllCount of raw registers (one byte each), as PFCOUNT uses for a multi-key union.</summary>
    public static ulong CountRaw(ReadOnlySpan<byte> registers)
    {
        Span<int> histo = stackalloc int[64];
        foreach (byte r in registers) histo[r & 63]++;
        return Estimate(histo);
    }

    /// <summary>hllMerge: max[i] = MAX(max[i], hll[i]); false for a corrupt sparse HLL.</summary>
    public static bool Merge(Span<byte> max, byte[] s)
    {
        if (s[4] == Dense)
        {
            for (int i = 0; i < Registers; i++)
            {
                int v = DenseGet(s, HeaderSize, i);
                if (v > max[i]) max[i] = (byte)v;
            }
            return true;
        }
        int idx = 0, p = HeaderSize;
        while (p < s.Length)
        {
            byte b = s[p];
            if (IsZero(b))
            {
                idx += ZeroLen(b);
                p++;
            }
            else if (IsXZero(b))
            {
                idx += XZeroLen(s, p);
                p += 2;
            }
            else
            {
                int runlen = ValLen(b), regval = ValValue(b);
                if (runlen + idx > Registers) break;
                while (runlen-- > 0)
                {
                    if (regval > max[idx]) max[idx] = (byte)regval;
                    idx++;
                }
                p++;
            }
        }
        return idx == Registers;
    }

    /// <summary>Sets register j to val for every non-zero max[j] (PFMERGE's write-back); returns false when corrupt.</summary>
    public static bool SetRegisters(ref byte[] s, ReadOnlySpan<byte> max, long sparseMaxBytes)
    {
        for (int j = 0; j < Registers; j++)
        {
            if (max[j] == 0) continue;
            if (s[4] == Dense) DenseSetIfGreater(s, j, max[j]);
            else if (SparseSet(ref s, j, max[j], sparseMaxBytes) < 0) return false;
        }
        return true;
    }

    /// <summary>PFDEBUG DECODE's text: "z:len", "Z:len", "v:value,len" separated by spaces.</summary>
    public static string Decode(byte[] s)
    {
        var sb = new System.Text.StringBuilder();
        int p = HeaderSize;
        while (p < s.Length)
        {
            byte b = s[p];
            if (IsZero(b))
            {
                sb.Append("z:").Append(ZeroLen(b)).Append(' ');
                p++;
            }
            else if (IsXZero(b))
            {
                sb.Append("Z:").Append(p + 1 < s.Length ? XZeroLen(s, p) : 0).Append(' ');
                p += 2;
            }
            else
            {
                sb.Append("v:").Append(ValValue(b)).Append(',').Append(ValLen(b)).Append(' ');
                p++;
            }
        }
        return sb.ToString().Trim(' ');
    }
}
