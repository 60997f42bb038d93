// Redis's listpack (listpack.c): a sequence of string/integer entries packed in ONE byte
// array, byte for byte Redis's format, so RDB and DUMP can emit it as is:
//   <total-bytes u32 LE> <count u16 LE, 65535 = unknown> <entry>* <0xFF>
//   entry = <encoding+data> <backlen: the encoding+data length, 1-5 bytes, read right to left>
// Strings that are canonical integers (string2ll rules) are stored as integers, as Redis does.
// Entries are addressed by their byte offset; every mutation returns the offset to continue from.
// Listpack is a one-field struct over the byte[] (no object of its own, as Redis's robj->ptr is
// the listpack bytes): owners store the array (RedisObject.Ptr for a hash, a field elsewhere)
// and mutate through a variable or ref, since a grown listpack is a new array. The listpack may
// start at an offset in its array: a keyspace hash or sorted set keeps its key in front of it,
// [key][listpack], as strings do; growth and shrinking keep those bytes. Entry offsets are array
// indexes. The element count lives only in the header; at 65535 or more it reads "unknown" and
// is counted (lpLength).
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Numerics;
using Cinnabar.Keyspace;
using Cinnabar.Protocol;

namespace Cinnabar.DataTypes;

public struct Listpack
{
    public const int HeaderSize = 6;
    public const byte Eof = 0xFF;
    const ushort UnknownCount = 65535;

    // Encoding tags (LP_ENCODING_*).
    const byte Enc7BitUint = 0x00, Enc7BitUintMask = 0x80;
    const byte Enc6BitStr = 0x80, Enc6BitStrMask = 0xC0;
    const byte Enc13BitInt = 0xC0, Enc13BitIntMask = 0xE0;
    const byte Enc12BitStr = 0xE0, Enc12BitStrMask = 0xF0;
    const byte Enc16BitInt = 0xF1, Enc24BitInt = 0xF2, Enc32BitInt = 0xF3, Enc64BitInt = 0xF4, Enc32BitStr = 0xF0;

    byte[] _buf;
    /// <summary>Where the listpack starts in _buf (the bytes before it belong to the owner: a key).</summary>
    readonly int _base;

    public Listpack()
    {
        _buf = new byte[HeaderSize + 1];
        SetTotalBytes(HeaderSize + 1);
        _buf[HeaderSize] = Eof;
    }

    /// <summary>
    /// An empty listpack with room for capacity bytes, for a quicklist node that is about to be
    /// filled by pushes (see Quicklist.NewPushNode): it then grows without reallocating.
    /// </summary>
    public Listpack(int capacity)
    {
        _buf = new byte[Math.Max(capacity, HeaderSize + 1)];
        SetTotalBytes(HeaderSize + 1);
        _buf[HeaderSize] = Eof;
    }

    /// <summary>A view of a listpack's array (its owner's stored bytes, or serialized bytes to adopt); nothing is copied. Call Validate first for untrusted input.</summary>
    public Listpack(byte[] bytes) => _buf = bytes;

    /// <summary>A view of the listpack that starts at offset in array (after its owner's key).</summary>
    public Listpack(byte[] array, int offset)
    {
        _buf = array;
        _base = offset;
    }

    /// <summary>Where the listpack starts in Buf.</summary>
    public readonly int Offset => _base;

    /// <summary>The array index just past the EOF byte.</summary>
    readonly int End => _base + TotalBytes;

    /// <summary>The array holding the listpack (what the owner stores back after a mutation).</summary>
    public readonly byte[] Buf => _buf;

    /// <summary>True for default(Listpack): no array (an owner in another encoding).</summary>
    public readonly bool IsNull => _buf == null;

    /// <summary>lpLength: the header's count, or (when it reads 65535, "unknown") the entries counted.</summary>
    public readonly int Count
    {
        get
        {
            int n = BinaryPrimitives.ReadUInt16LittleEndian(_buf.AsSpan(_base + 4));
            if (n != UnknownCount) return n;
            n = 0;
            for (int p = First(); p >= 0; p = Next(p)) n++;
            if (n < UnknownCount) BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(_base + 4), (ushort)n);
            return n;
        }
    }

    public readonly int TotalBytes => (int)BinaryPrimitives.ReadUInt32LittleEndian(_buf.AsSpan(_base));

    /// <summary>The exact serialized form (what RDB writes).</summary>
    public readonly ReadOnlySpan<byte> Bytes => _buf.AsSpan(_base, TotalBytes);

    /// <summary>Heap bytes held: the array at its capacity (an owner's key in front included), which may exceed TotalBytes.</summary>
    public readonly long AllocatedBytes => ObjectSize.ByteArray(_buf.Length);

    public readonly byte[] ToArray() => Bytes.ToArray();

    readonly void SetTotalBytes(int n) => BinaryPrimitives.WriteUInt32LittleEndian(_buf.AsSpan(_base), (uint)n);

    /// <summary>lpSetNumElements after adding delta entries: an unknown count stays unknown (lpInsert, lpDelete).</summary>
    readonly void AddCount(int delta)
    {
        int n = BinaryPrimitives.ReadUInt16LittleEndian(_buf.AsSpan(_base + 4));
        if (n != UnknownCount) SetCount(n + delta);
    }

    readonly void SetCount(int n) => BinaryPrimitives.WriteUInt16LittleEndian(_buf.AsSpan(_base + 4), (ushort)Math.Min(n, UnknownCount));

    // ------------------------------------------------------------------ navigation

    /// <summary>Offset of the first entry, or -1 when empty.</summary>
    public readonly int First() => _buf[_base + HeaderSize] == Eof ? -1 : _base + HeaderSize;

    /// <summary>Offset of the last entry, or -1 when empty.</summary>
    public readonly int Last()
    {
        int eof = End - 1;
        return eof == _base + HeaderSize ? -1 : Prev(eof);
    }

    public readonly int Next(int p)
    {
        int q = p + EntrySize(p);
        return _buf[q] == Eof ? -1 : q;
    }

    /// <summary>The entry before p (p may be the EOF offset), or -1.</summary>
    public readonly int Prev(int p)
    {
        if (p == _base + HeaderSize) return -1;
        int q = p - 1;
        ulong len = DecodeBacklen(_buf, q, out int backlenBytes);
        return q - backlenBytes + 1 - (int)len;
    }

    /// <summary>lpSeek: the entry at index (negative counts from the tail), or -1 when out of range.</summary>
    public readonly int Seek(long index)
    {
        int count = Count;
        if (index < 0) index += count;
        if (index < 0 || index >= count) return -1;
        if (index < count / 2)
        {
            int p = First();
            for (long i = 0; i < index; i++) p = Next(p);
            return p;
        }
        int q = Last();
        for (long i = count - 1; i > index; i--) q = Prev(q);
        return q;
    }

    // ------------------------------------------------------------------ reading

    /// <summary>Reads the entry at p: returns true with the string bytes, or false with the integer value.</summary>
    public readonly bool Get(int p, out ReadOnlySpan<byte> str, out long value) => Decode(_buf, p, out str, out value, out _);

    /// <summary>The entry as bytes (integers formatted); allocates.</summary>
    public readonly byte[] GetBytes(int p)
    {
        if (Get(p, out var s, out long v)) return s.ToArray();
        Span<byte> tmp = stackalloc byte[24];
        Utf8Formatter.TryFormat(v, tmp, out int w);
        return tmp[..w].ToArray();
    }

    /// <summary>Compares the entry with a string using the listpack rules (integers compare by value).</summary>
    public readonly bool EntryEquals(int p, ReadOnlySpan<byte> s)
    {
        if (Get(p, out var str, out long v)) return str.SequenceEqual(s);
        return RespParser.TryParseLong(s, out long sv) && sv == v;
    }

    /// <summary>lpFind: first entry equal to s at or after p, comparing one entry every skip+1, or -1.</summary>
    public readonly int Find(int p, ReadOnlySpan<byte> s, int skip = 0)
    {
        bool isInt = RespParser.TryParseLong(s, out long sv);
        int skipCount = 0;
        while (p >= 0)
        {
            if (skipCount == 0)
            {
                bool isStr = Get(p, out var str, out long v);
                if (isStr ? str.SequenceEqual(s) : isInt && v == sv) return p;
                skipCount = skip;
            }
            else skipCount--;
            p = Next(p);
        }
        return -1;
    }

    /// <summary>
    /// Replies up to count entries from p on as bulk strings (addListRangeReply's inner loop):
    /// each entry is decoded once, which also gives the offset of the next, and formatted
    /// straight into the reply's free room (ReplyWriter's run API), committed once per block.
    /// Returns the entries written; p becomes the offset after the last one, or -1 at the end.
    /// </summary>
    public readonly int ReplyBulks(ref int p, int count, ReplyWriter reply)
    {
        int written = 0;
        if (!reply.Enabled)
        {
            for (; written < count && p >= 0; written++) p = Next(p);
            return written;
        }
        var buf = _buf;
        Span<byte> dst = default;
        int used = 0;
        while (written < count && p >= 0)
        {
            bool isStr = Decode(buf, p, out var str, out long v, out int encLen);
            int need = isStr ? str.Length + ReplyWriter.BulkOverhead : ReplyWriter.MaxBulkLongBytes;
            if (need > dst.Length - used)
            {
                reply.CommitRun(used);
                used = 0;
                dst = default;
                if (str.Length > ReplyWriter.MaxRunElement) reply.Bulk(str);
                else dst = reply.GetRunSpan(need);
            }
            if (dst.Length > 0) used += isStr ? ReplyWriter.FormatBulk(dst[used..], str) : ReplyWriter.FormatBulkLong(dst[used..], v);
            written++;
            int q = p + encLen + BacklenSize(encLen);
            p = buf[q] == Eof ? -1 : q;
        }
        reply.CommitRun(used);
        return written;
    }

    static bool Decode(byte[] buf, int p, out ReadOnlySpan<byte> str, out long value, out int encodedLen)
    {
        byte b = buf[p];
        str = default;
        value = 0;
        if ((b & Enc7BitUintMask) == Enc7BitUint)
        {
            value = b & 0x7F;
            encodedLen = 1;
            return false;
        }
        if ((b & Enc6BitStrMask) == Enc6BitStr)
        {
            int len = b & 0x3F;
            str = buf.AsSpan(p + 1, len);
            encodedLen = 1 + len;
            return true;
        }
        if ((b & Enc13BitIntMask) == Enc13BitInt)
        {
            int u = ((b & 0x1F) << 8) | buf[p + 1];
            value = u >= 1 << 12 ? u - (1 << 13) : u;
            encodedLen = 2;
            return false;
        }
        if ((b & Enc12BitStrMask) == Enc12BitStr)
        {
            int len = ((b & 0x0F) << 8) | buf[p + 1];
            str = buf.AsSpan(p + 2, len);
            encodedLen = 2 + len;
            return true;
        }
        switch (b)
        {
            case Enc16BitInt:
                value = BinaryPrimitives.ReadInt16LittleEndian(buf.AsSpan(p + 1));
                encodedLen = 3;
                return false;
            case Enc24BitInt:
                {
                    int u = buf[p + 1] | (buf[p + 2] << 8) | (buf[p + 3] << 16);
                    value = (u << 8) >> 8; // sign-extend 24 bits
                    encodedLen = 4;
                    return false;
                }
            case Enc32BitInt:
                value = BinaryPrimitives.ReadInt32LittleEndian(buf.AsSpan(p + 1));
                encodedLen = 5;
                return false;
            case Enc64BitInt:
                value = BinaryPrimitives.ReadInt64LittleEndian(buf.AsSpan(p + 1));
                encodedLen = 9;
                return false;
            case Enc32BitStr:
                {
                    int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(buf.AsSpan(p + 1));
                    str = buf.AsSpan(p + 5, len);
                    encodedLen = 5 + len;
                    return true;
                }
            default:
                throw new InvalidDataException($"listpack: bad encoding byte 0x{b:x2} at {p}");
        }
    }

    /// <summary>Length of the entry at p including its backlen (lpCurrentEncodedSizeUnsafe + backlen).</summary>
    public readonly int EntryLength(int p) => EntrySize(p);

    readonly int EntrySize(int p)
    {
        Decode(_buf, p, out _, out _, out int l);
        return l + BacklenSize(l);
    }

    // ------------------------------------------------------------------ encoding

    public static int BacklenSize(long l) => l <= 127 ? 1 : l < 16383 ? 2 : l < 2097151 ? 3 : l < 268435455 ? 4 : 5;

    /// <summary>lpEncodeBacklen: the high-order group first, every byte but the first flagged 128.</summary>
    static int EncodeBacklen(Span<byte> buf, long l)
    {
        int n = BacklenSize(l);
        for (int i = n - 1; i >= 0; i--)
        {
            buf[i] = (byte)((int)(l & 127) | (i == 0 ? 0 : 128));
            l >>= 7;
        }
        return n;
    }

    /// <summary>lpDecodeBacklen, reading leftwards from the entry's last byte.</summary>
    static ulong DecodeBacklen(byte[] buf, int p, out int bytes)
    {
        ulong val = 0;
        int shift = 0;
        bytes = 0;
        while (true)
        {
            byte b = buf[p];
            val |= (ulong)(b & 127) << shift;
            bytes++;
            if ((b & 128) == 0) break;
            shift += 7;
            p--;
            if (bytes > 5) throw new InvalidDataException("listpack: bad backlen");
        }
        return val;
    }

    /// <summary>Encoded size (encoding+data, without backlen) an integer takes.</summary>
    public static int IntEncodedSize(long v) =>
        v is >= 0 and <= 127 ? 1 :
        v is >= -4096 and <= 4095 ? 2 :
        v is >= -32768 and <= 32767 ? 3 :
        v is >= -8388608 and <= 8388607 ? 4 :
        v is >= int.MinValue and <= int.MaxValue ? 5 : 9;

    public static int StringEncodedSize(int len) => len < 64 ? 1 + len : len < 4096 ? 2 + len : 5 + len;

    /// <summary>Bytes an element costs in a listpack, backlen included (what quicklist fill checks use).</summary>
    public static int EntryCost(ReadOnlySpan<byte> s)
    {
        int l = RespParser.TryParseLong(s, out long v) ? IntEncodedSize(v) : StringEncodedSize(s.Length);
        return l + BacklenSize(l);
    }

    static int WriteInt(Span<byte> dst, long v)
    {
        int n = IntEncodedSize(v);
        switch (n)
        {
            case 1: dst[0] = (byte)v; break;
            case 2:
                {
                    int u = (int)(v & 0x1FFF);
                    dst[0] = (byte)(Enc13BitInt | (u >> 8));
                    dst[1] = (byte)u;
                    break;
                }
            case 3:
                dst[0] = Enc16BitInt;
                BinaryPrimitives.WriteInt16LittleEndian(dst[1..], (short)v);
                break;
            case 4:
                dst[0] = Enc24BitInt;
                dst[1] = (byte)v;
                dst[2] = (byte)(v >> 8);
                dst[3] = (byte)(v >> 16);
                break;
            case 5:
                dst[0] = Enc32BitInt;
                BinaryPrimitives.WriteInt32LittleEndian(dst[1..], (int)v);
                break;
            default:
                dst[0] = Enc64BitInt;
                BinaryPrimitives.WriteInt64LittleEndian(dst[1..], v);
                break;
        }
        return n;
    }

    static int WriteString(Span<byte> dst, ReadOnlySpan<byte> s)
    {
        int len = s.Length, h;
        if (len < 64)
        {
            dst[0] = (byte)(Enc6BitStr | len);
            h = 1;
        }
        else if (len < 4096)
        {
            dst[0] = (byte)(Enc12BitStr | (len >> 8));
            dst[1] = (byte)len;
            h = 2;
        }
        else
        {
            dst[0] = Enc32BitStr;
            BinaryPrimitives.WriteUInt32LittleEndian(dst[1..], (uint)len);
            h = 5;
        }
        s.CopyTo(dst[h..]);
        return h + len;
    }

    // ------------------------------------------------------------------ mutation
    // A mutation may move the listpack to a new array: call it on the owner's variable (a field,
    // or a local whose Buf is stored back), never on a copy that is then dropped.

    public enum Where { Before, After, Replace }

    public int Append(ReadOnlySpan<byte> s) => Insert(s, End - 1, Where.Before);
    public int Prepend(ReadOnlySpan<byte> s) => Insert(s, _base + HeaderSize, Where.Before);
    public int AppendInteger(long v) => InsertEncoded(null, v, End - 1, Where.Before);

    /// <summary>lpInsertString: inserts s before/after the entry at p, or replaces it. Returns the new entry's offset.</summary>
    public int Insert(ReadOnlySpan<byte> s, int p, Where where)
    {
        if (RespParser.TryParseLong(s, out long v)) return InsertEncoded(null, v, p, where);
        return InsertEncoded(s, 0, p, where, isString: true);
    }

    public int Replace(int p, ReadOnlySpan<byte> s) => Insert(s, p, Where.Replace);

    public int InsertInteger(long v, int p, Where where) => InsertEncoded(null, v, p, where);

    int InsertEncoded(ReadOnlySpan<byte> s, long v, int p, Where where, bool isString = false)
    {
        int encLen = isString ? StringEncodedSize(s.Length) : IntEncodedSize(v);
        int entryLen = encLen + BacklenSize(encLen);
        if (where == Where.After)
        {
            p += EntrySize(p);
            where = Where.Before;
        }
        int replacedLen = where == Where.Replace ? EntrySize(p) : 0;
        // total and newTotal are array indexes past the EOF byte (the key in front included).
        int total = End;
        int newTotal = total + entryLen - replacedLen;
        if ((uint)newTotal > uint.MaxValue / 2) throw new InvalidOperationException("listpack too large");
        if (newTotal > _buf.Length)
        {
            // Uninitialized: only the slack past the copied bytes needs the zeroes it is kept in.
            var nb = GC.AllocateUninitializedArray<byte>(GrowCapacity(newTotal, entryLen - replacedLen));
            Buffer.BlockCopy(_buf, 0, nb, 0, total);
            nb.AsSpan(total).Clear();
            _buf = nb;
        }
        // Move the tail (from the end of the replaced entry, or p) to make room.
        int tailFrom = p + replacedLen;
        Buffer.BlockCopy(_buf, tailFrom, _buf, p + entryLen, total - tailFrom);
        var dst = _buf.AsSpan(p, entryLen);
        int w = isString ? WriteString(dst, s) : WriteInt(dst, v);
        EncodeBacklen(dst[w..], w);
        if (newTotal < total) _buf.AsSpan(newTotal, total - newTotal).Clear();
        SetTotalBytes(newTotal - _base);
        if (where != Where.Replace) AddCount(1);
        return p;
    }

    /// <summary>
    /// The array length for a listpack that must hold newTotal bytes. Small listpacks (most
    /// hashes, sets, zsets and one-node lists) grow to the exact size rounded up to the 8-byte
    /// granule the runtime pads every array to anyway, as Redis reallocs to the exact size:
    /// growth slack here would be paid by millions of keys. Past SmallExactLimit, appends are
    /// amortized by growing half again, and by at least room for one more entry of the size
    /// just added: with 1 KiB values half again is less than one entry, so every push would
    /// reallocate and copy the whole node; slack stays within the next power of two, the bound
    /// of the allocator size classes Redis relies on instead.
    /// </summary>
    readonly int GrowCapacity(int newTotal, int added)
    {
        if (newTotal <= SmallExactLimit) return (newTotal + 7) & ~7;
        int len = _buf.Length;
        int want = Math.Max(len + len / 2, newTotal + added);
        // Never more slack than a power-of-two size class (jemalloc's are finer) or 4 KiB.
        int cap = Math.Min((int)Math.Min(BitOperations.RoundUpToPowerOf2((uint)newTotal), int.MaxValue), newTotal + 4096);
        return Math.Max(newTotal, Math.Min(want, cap));
    }

    const int SmallExactLimit = 256;

    /// <summary>
    /// lpDelete: removes the entry at p; returns the offset of the entry that followed, or -1.
    /// shrink: false keeps the array's capacity (a quicklist end node being popped is on its way
    /// out: shrinking it on the way copied it about twice per node, ~600 bytes per 1 KiB RPOP).
    /// </summary>
    public int Delete(int p, bool shrink = true)
    {
        int size = EntrySize(p);
        RemoveBytes(p, size, shrink);
        AddCount(-1);
        return _buf[p] == Eof ? -1 : p;
    }

    /// <summary>lpDeleteRange: removes count entries starting at index (negative from the tail).</summary>
    public void DeleteRange(long index, long count)
    {
        int p = Seek(index);
        if (p < 0 || count <= 0) return;
        int n = Count;
        if (index < 0) index += n;
        count = Math.Min(count, n - index);
        int q = p;
        for (long i = 0; i < count; i++) q += EntrySize(q);
        RemoveBytes(p, q - p);
        SetCount(n - (int)count);
    }

    void RemoveBytes(int p, int size, bool shrink = true)
    {
        int total = End;
        Buffer.BlockCopy(_buf, p + size, _buf, p, total - p - size);
        _buf.AsSpan(total - size, size).Clear();
        SetTotalBytes(total - size - _base);
        // Give memory back when the array is mostly slack.
        if (shrink && _buf.Length > 64 && _buf.Length > 2 * (total - size)) Array.Resize(ref _buf, total - size);
    }

    /// <summary>Appends every entry of other (lpMerge of two nodes).</summary>
    public void AppendAll(Listpack other)
    {
        int count = Count + other.Count;
        int add = other.TotalBytes - HeaderSize - 1;
        int total = End;
        if (total + add > _buf.Length) Array.Resize(ref _buf, total + add);
        Buffer.BlockCopy(other._buf, other._base + HeaderSize, _buf, total - 1, add + 1);
        SetTotalBytes(total + add - _base);
        SetCount(count);
    }

    /// <summary>Trims the array to the exact size (before serializing or compressing).</summary>
    public void Shrink()
    {
        if (_buf.Length != End) Array.Resize(ref _buf, End);
    }

    public readonly Listpack Clone() => new(ToArray());

    /// <summary>lpValidateIntegrity (deep): header, every entry inside bounds, backlens consistent, count right.</summary>
    public static bool Validate(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < HeaderSize + 1) return false;
        if (BinaryPrimitives.ReadUInt32LittleEndian(bytes) != bytes.Length) return false;
        if (bytes[^1] != Eof) return false;
        var buf = bytes.ToArray();
        int p = HeaderSize, n = 0;
        try
        {
            while (buf[p] != Eof)
            {
                Decode(buf, p, out _, out _, out int l);
                int bl = BacklenSize(l);
                if (p + l + bl > buf.Length - 1) return false;
                if ((int)DecodeBacklen(buf, p + l + bl - 1, out int blBytes) != l || blBytes != bl) return false;
                p += l + bl;
                n++;
            }
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentOutOfRangeException or IndexOutOfRangeException)
        {
            return false;
        }
        if (p != buf.Length - 1) return false;
        int hdr = BinaryPrimitives.ReadUInt16LittleEndian(bytes[4..]);
        return hdr == UnknownCount || hdr == n;
    }
}
