// Redis's HyperLogLog (hyperloglog.c) over its exact byte format, kept in a plain string value
// so GET/SET/DUMP move it between Cinnabar and redis-server unchanged:
//   "HYLL" <encoding: 0 dense, 1 sparse> <3 unused> <cached cardinality u64 LE, bit 63 = stale>
//   dense: 16384 6-bit registers, LSB first (12288 bytes); sparse: ZERO/XZERO/VAL run opcodes.
// Elements hash with MurmurHash64A (seed 0xadc83b19); the estimate is Ertl's improved estimator
// (hllSigma/hllTau) that Redis uses, so counts are identical for identical inputs.
// Functions work on the value where it is stored: reads take a span, register updates write in
// place. Only a change of size (a sparse opcode split or merge, promotion to dense) makes a new
// array, which keeps the bytes before the value (the key, in a [key][value] array) in front.
using System.Buffers;
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

    public static byte Encoding(ReadOnlySpan<byte> h) => h[4];

    public static bool ValidCache(ReadOnlySpan<byte> h) => (h[15] & 0x80) == 0;
    public static void InvalidateCache(Span<byte> h) => h[15] |= 0x80;
    public static ulong CachedCardinality(ReadOnlySpan<byte> h) => BinaryPrimitives.ReadUInt64LittleEndian(h[8..]);
    public static void SetCachedCardinality(Span<byte> h, ulong card) => BinaryPrimitives.WriteUInt64LittleEndian(h[8..], card);

    /// <summary>isHLLObjectOrReply's checks on the string bytes: size, magic, encoding, dense length.</summary>
    public static bool IsValidObject(ReadOnlySpan<byte> s)
    {
        if (s.Length < HeaderSize) return false;
        if (s[0] != 'H' || s[1] != 'Y' || s[2] != 'L' || s[3] != 'L') return false;
        if (s[4] > Sparse) return false;
        return s[4] != Dense || s.Length == DenseSize;
    }

    /// <summary>The size of an empty HLL: the header and the XZERO opcodes covering every register.</summary>
    public const int EmptySize = HeaderSize + (Registers + SparseXZeroMaxLen - 1) / SparseXZeroMaxLen * 2;

    /// <summary>createHLLObject: writes an empty sparse HLL into s (EmptySize bytes, zeroed).</summary>
    public static void InitEmpty(Span<byte> s)
    {
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
    }

    /// <summary>A new array holding an empty sparse HLL.</summary>
    public static byte[] Create()
    {
        var s = new byte[EmptySize];
        InitEmpty(s);
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

    /// <summary>HLL_DENSE_GET_REGISTER over an HLL's bytes (registers at HeaderSize).</summary>
    public static int DenseGet(ReadOnlySpan<byte> s, int regnum)
    {
        int bytePos = HeaderSize + regnum * Bits / 8;
        int fb = regnum * Bits & 7;
        int b0 = s[bytePos];
        int b1 = bytePos + 1 < s.Length ? s[bytePos + 1] : 0;
        return ((b0 >> fb) | (b1 << (8 - fb))) & RegisterMax;
    }

    public static void DenseSet(Span<byte> s, int regnum, int val)
    {
        int bytePos = HeaderSize + regnum * Bits / 8;
        int fb = regnum * Bits & 7, fb8 = 8 - fb;
        s[bytePos] = (byte)((s[bytePos] & ~(RegisterMax << fb)) | (val << fb));
        if (bytePos + 1 < s.Length)
            s[bytePos + 1] = (byte)((s[bytePos + 1] & ~(RegisterMax >> fb8)) | (val >> fb8));
    }

    /// <summary>hllDenseSet: raises the register; 1 when it changed.</summary>
    static int DenseSetIfGreater(Span<byte> s, int index, int count)
    {
        if (count <= DenseGet(s, index)) return 0;
        DenseSet(s, index, count);
        return 1;
    }

    // ------------------------------------------------------------------ sparse opcodes

    static bool IsZero(byte b) => (b & 0xc0) == 0;
    static bool IsXZero(byte b) => (b & 0xc0) == 0x40;
    static bool IsVal(byte b) => (b & 0x80) != 0;
    static int ZeroLen(byte b) => (b & 0x3f) + 1;
    // A truncated XZERO reads the byte after the string as 0, as Redis reads the sds terminator.
    static int XZeroLen(ReadOnlySpan<byte> s, int p) => (((s[p] & 0x3f) << 8) | (p + 1 < s.Length ? s[p + 1] : 0)) + 1;
    static int ValValue(byte b) => ((b >> 2) & 0x1f) + 1;
    static int ValLen(byte b) => (b & 0x3) + 1;
    static byte ValByte(int val, int len) => (byte)(((val - 1) << 2) | (len - 1) | 0x80);

    static void XZeroSet(Span<byte> s, int p, int len)
    {
        int l = len - 1;
        s[p] = (byte)((l >> 8) | 0x40);
        s[p + 1] = (byte)(l & 0xff);
    }

    /// <summary>
    /// hllSparseToDense: writes the dense form of sparse into dense (DenseSize zeroed bytes; header
    /// copied, encoding changed); false when the sparse data is corrupt.
    /// </summary>
    public static bool SparseToDense(ReadOnlySpan<byte> sparse, Span<byte> dense)
    {
        sparse[..HeaderSize].CopyTo(dense);
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
                while (runlen-- > 0) DenseSet(dense, idx++, regval);
                p++;
            }
        }
        return idx == Registers;
    }

    /// <summary>
    /// Promotes the sparse HLL at buf[offset..] to dense in a new array of offset + DenseSize bytes,
    /// the bytes before offset (the key) copied along; false, buf unchanged, when it is corrupt.
    /// </summary>
    public static bool ToDense(ref byte[] buf, int offset)
    {
        if (buf[offset + 4] == Dense) return true;
        var grown = new byte[offset + DenseSize];
        if (!SparseToDense(buf.AsSpan(offset), grown.AsSpan(offset))) return false;
        buf.AsSpan(0, offset).CopyTo(grown);
        buf = grown;
        return true;
    }

    /// <summary>
    /// hllSparseSet on the sparse HLL at buf[offset..]: raises register index to count, splitting
    /// the covering opcode and merging equal neighbours; promotes to dense when count exceeds 32
    /// or the size would pass maxBytes. Returns 1 when changed, 0 when not, -1 when corrupt.
    /// Opcodes change in place; a change of size replaces buf with one new array of the new size
    /// (a growth is spliced in pooled scratch first, since the merge after it may shrink it back).
    /// </summary>
    public static int SparseSet(ref byte[] buf, int offset, int index, int count, long maxBytes)
    {
        if (count > SparseValMaxValue) return Promote(ref buf, offset, index, count);
        var s = buf.AsSpan(offset);
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
        if (isVal && ValValue(op) >= count) return 0;
        int next = isXZero ? p + 2 : p + 1;

        // Replace the opcode with up to three (XZERO-VAL-XZERO is 5 bytes); a ZERO or VAL of
        // length 1 becomes a single VAL, in place.
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
        int delta = n - (isXZero ? 2 : 1);
        if (delta > 0 && end + delta > maxBytes) return Promote(ref buf, offset, index, count);
        int newEnd = end + delta;
        byte[]? scratch = null;
        var work = s;
        if (delta > 0)
        {
            scratch = ArrayPool<byte>.Shared.Rent(newEnd);
            work = scratch.AsSpan(0, newEnd);
            s[..p].CopyTo(work);
        }
        if (next < end) s[next..].CopyTo(work[(p + n)..]); // a move within s when not growing
        // A truncated final opcode leaves less room than the sequence: Redis's length keeps only what fits.
        seq[..Math.Min(n, newEnd - p)].CopyTo(work[p..]);
        newEnd = MergeAdjacentVals(work[..newEnd], prev);
        InvalidateCache(work);

        if (newEnd != end)
        {
            var resized = new byte[offset + newEnd];
            buf.AsSpan(0, offset).CopyTo(resized);
            work[..newEnd].CopyTo(resized.AsSpan(offset));
            buf = resized;
        }
        else if (scratch != null) work[..newEnd].CopyTo(s);
        if (scratch != null) ArrayPool<byte>.Shared.Return(scratch);
        return 1;
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

    /// <summary>
    /// Step 4 of hllSparseSet: merges adjacent equal VAL opcodes in the five opcodes from the one
    /// before the change, moving the rest of s down; returns the new length.
    /// </summary>
    static int MergeAdjacentVals(Span<byte> s, int prev)
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
                        s[(p + 1)..end].CopyTo(s[p..]);
                        end--;
                        continue;
                    }
                }
            }
            p++;
        }
        return end;
    }

    /// <summary>The promote step of hllSparseSet: to dense (a new array), then the register is set.</summary>
    static int Promote(ref byte[] buf, int offset, int index, int count)
    {
        if (!ToDense(ref buf, offset)) return -1;
        DenseSetIfGreater(buf.AsSpan(offset), index, count);
        return 1;
    }

    /// <summary>
    /// hllAdd on the HLL at buf[offset..]: 1 when a register changed, 0 when not, -1 for an
    /// invalid representation. Dense registers change in place; buf is replaced only when a
    /// sparse HLL changes size or is promoted.
    /// </summary>
    public static int Add(ref byte[] buf, int offset, ReadOnlySpan<byte> ele, long sparseMaxBytes)
    {
        int count = PatLen(ele, out int index);
        return buf[offset + 4] switch
        {
            Dense => DenseSetIfGreater(buf.AsSpan(offset), index, count),
            Sparse => SparseSet(ref buf, offset, index, count, sparseMaxBytes),
            _ => -1,
        };
    }
    // ------------------------------------------------------------------ counting and merging

    static void SparseRegHisto(ReadOnlySpan<byte> s, Span<int> histo, ref bool invalid)
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
    public static ulong Count(ReadOnlySpan<byte> s, out bool invalid)
    {
        invalid = false;
        Span<int> histo = stackalloc int[64];
        if (s[4] == Dense)
            for (int j = 0; j < Registers; j++) histo[DenseGet(s, j)]++;
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
    public static bool Merge(Span<byte> max, ReadOnlySpan<byte> s)
    {
        if (s[4] == Dense)
        {
            for (int i = 0; i < Registers; i++)
            {
                int v = DenseGet(s, i);
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

    /// <summary>
    /// PFMERGE's write-back into the HLL at buf[offset..]: raises register j to max[j] for every
    /// non-zero max[j] (buf may be replaced as in SparseSet); returns false when corrupt.
    /// </summary>
    public static bool SetRegisters(ref byte[] buf, int offset, ReadOnlySpan<byte> max, long sparseMaxBytes)
    {
        for (int j = 0; j < Registers; j++)
        {
            if (max[j] == 0) continue;
            if (buf[offset + 4] == Dense) DenseSetIfGreater(buf.AsSpan(offset), j, max[j]);
            else if (SparseSet(ref buf, offset, j, max[j], sparseMaxBytes) < 0) return false;
        }
        return true;
    }

    /// <summary>PFDEBUG DECODE's text: "z:len", "Z:len", "v:value,len" separated by spaces.</summary>
    public static string Decode(ReadOnlySpan<byte> s)
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
