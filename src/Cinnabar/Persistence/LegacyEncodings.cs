// The compact encodings of RDB files older than 7.0 (ziplist.c and zipmap.c), read only: Redis
// 7.0 loads ziplist-encoded lists, hashes and sorted sets (RDB types 10, 12, 13, 14) and zipmap
// hashes (type 9) written by Redis 2.x-6.x, and converts them to its own encodings on load, so a
// file from an old Redis can be moved to Cinnabar. Each reader validates the whole blob first and
// yields the entries as byte strings (integers as their decimal text), or reports corruption.
using System.Buffers.Binary;
using System.Buffers.Text;

namespace Cinnabar.Persistence;

public static class LegacyEncodings
{
    const byte ZipEnd = 0xFF, ZipBigPrevLen = 0xFE;

    /// <summary>
    /// The entries of a ziplist (zlbytes, zltail, zllen, entries, 0xFF), or null when the blob is
    /// not a well-formed ziplist (ziplistValidateIntegrity with deep checks).
    /// </summary>
    public static List<byte[]>? ZiplistEntries(ReadOnlySpan<byte> zl)
    {
        const int Header = 10;
        if (zl.Length < Header + 1) return null;
        if (BinaryPrimitives.ReadUInt32LittleEndian(zl) != zl.Length || zl[^1] != ZipEnd) return null;
        int tail = (int)BinaryPrimitives.ReadUInt32LittleEndian(zl[4..]);
        int declared = BinaryPrimitives.ReadUInt16LittleEndian(zl[8..]);
        var entries = new List<byte[]>();
        int p = Header, prevStart = -1, prevLen = 0;
        while (p < zl.Length - 1)
        {
            int start = p;
            int prevlen;
            if (zl[p] < ZipBigPrevLen)
            {
                prevlen = zl[p];
                p += 1;
            }
            else
            {
                if (zl[p] != ZipBigPrevLen || p + 5 > zl.Length) return null;
                prevlen = (int)BinaryPrimitives.ReadUInt32LittleEndian(zl[(p + 1)..]);
                p += 5;
            }
            if (prevlen != prevLen) return null;
            if (p >= zl.Length - 1) return null;
            byte enc = zl[p];
            byte[] value;
            if ((enc >> 6) != 3)
            {
                int len, hdr;
                switch (enc >> 6)
                {
                    case 0: len = enc & 0x3F; hdr = 1; break;
                    case 1:
                        if (p + 2 > zl.Length) return null;
                        len = ((enc & 0x3F) << 8) | zl[p + 1];
                        hdr = 2;
                        break;
                    default:
                        if (enc != 0x80 || p + 5 > zl.Length) return null;
                        len = (int)BinaryPrimitives.ReadUInt32BigEndian(zl[(p + 1)..]);
                        hdr = 5;
                        break;
                }
                p += hdr;
                if (len < 0 || p + len > zl.Length - 1) return null;
                value = zl.Slice(p, len).ToArray();
                p += len;
            }
            else
            {
                p++;
                long v;
                switch (enc)
                {
                    case 0xC0: if (!Fits(zl, p, 2)) return null; v = BinaryPrimitives.ReadInt16LittleEndian(zl[p..]); p += 2; break;
                    case 0xD0: if (!Fits(zl, p, 4)) return null; v = BinaryPrimitives.ReadInt32LittleEndian(zl[p..]); p += 4; break;
                    case 0xE0: if (!Fits(zl, p, 8)) return null; v = BinaryPrimitives.ReadInt64LittleEndian(zl[p..]); p += 8; break;
                    case 0xF0:
                        if (!Fits(zl, p, 3)) return null;
                        v = (zl[p] | (zl[p + 1] << 8) | (zl[p + 2] << 16)) << 8 >> 8; // 24-bit, sign-extended
                        p += 3;
                        break;
                    case 0xFE: if (!Fits(zl, p, 1)) return null; v = (sbyte)zl[p]; p += 1; break;
                    default:
                        if (enc < 0xF1 || enc > 0xFD) return null;
                        v = (enc & 0x0F) - 1; // immediate 0..12
                        break;
                }
                value = Format(v);
            }
            entries.Add(value);
            prevStart = start;
            prevLen = p - start;
        }
        if (p != zl.Length - 1) return null;
        if ((entries.Count == 0 ? Header : prevStart) != tail) return null;
        if (declared != ushort.MaxValue && declared != entries.Count) return null;
        return entries;
    }

    static bool Fits(ReadOnlySpan<byte> zl, int p, int n) => p + n <= zl.Length - 1;

    static byte[] Format(long v)
    {
        Span<byte> digits = stackalloc byte[24];
        Utf8Formatter.TryFormat(v, digits, out int n);
        return digits[..n].ToArray();
    }

    /// <summary>
    /// The field/value pairs of a zipmap (zmlen, then len key len free value[+free] per pair,
    /// 0xFF), flattened, or null when malformed (zipmapValidateIntegrity).
    /// </summary>
    public static List<byte[]>? ZipmapEntries(ReadOnlySpan<byte> zm)
    {
        if (zm.Length < 2 || zm[^1] != ZipEnd) return null;
        var entries = new List<byte[]>();
        int p = 1;
        while (true)
        {
            if (p >= zm.Length) return null;
            if (zm[p] == ZipEnd) break;
            if (!ReadLen(zm, ref p, out int klen) || p + klen > zm.Length - 1) return null;
            entries.Add(zm.Slice(p, klen).ToArray());
            p += klen;
            if (!ReadLen(zm, ref p, out int vlen) || p >= zm.Length - 1) return null;
            int free = zm[p++];
            if (p + vlen + free > zm.Length - 1) return null;
            entries.Add(zm.Slice(p, vlen).ToArray());
            p += vlen + free;
        }
        if (p != zm.Length - 1) return null;
        return entries;
    }

    /// <summary>zipmapDecodeLength: one byte below 254, else 254 and a 4-byte little-endian length.</summary>
    static bool ReadLen(ReadOnlySpan<byte> zm, ref int p, out int len)
    {
        len = 0;
        if (p >= zm.Length - 1) return false;
        byte b = zm[p];
        if (b < 254)
        {
            len = b;
            p++;
            return true;
        }
        if (b != 254 || p + 5 > zm.Length - 1) return false;
        len = (int)BinaryPrimitives.ReadUInt32LittleEndian(zm[(p + 1)..]);
        p += 5;
        return len >= 0;
    }
}
