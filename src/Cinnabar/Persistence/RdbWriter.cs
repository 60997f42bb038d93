// Serializes objects the way rdb.c's rdbSaveObjectType / rdbSaveObject do, into a growable
// buffer: lengths in the 6/14/32/64-bit forms, strings as RDB int encodings when they are
// canonical integers, LZF-compressed when rdbcompression is on and the string is over 20 bytes
// and shrinks, and each encoding's native blob (listpack, intset, quicklist node) as a string
// (streams: RdbStream).
// CreateDumpPayload adds the DUMP footer: RDB version and CRC-64, both little-endian.
using System.Buffers.Binary;
using System.Buffers.Text;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Protocol;

namespace Cinnabar.Persistence;

public sealed class RdbWriter
{
    byte[] _buf;
    int _pos;
    readonly bool _compression;

    public RdbWriter(bool compression, int capacity = 64)
    {
        _compression = compression;
        _buf = new byte[capacity];
    }

    public ReadOnlySpan<byte> Written => _buf.AsSpan(0, _pos);

    internal Span<byte> Grow(int n)
    {
        if (_pos + n > _buf.Length) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _pos + n));
        var s = _buf.AsSpan(_pos, n);
        _pos += n;
        return s;
    }

    /// <summary>Forgets what was written, keeping the buffer (the file writer flushes and reuses it per key).</summary>
    public void Clear() => _pos = 0;

    public void WriteRaw(ReadOnlySpan<byte> data) => data.CopyTo(Grow(data.Length));

    public void WriteByte(byte b) => Grow(1)[0] = b;

    /// <summary>rdbSaveLen: 6-bit, 14-bit (big-endian), or 0x80/0x81 followed by a 32/64-bit big-endian length.</summary>
    public void SaveLen(ulong len)
    {
        if (len < 1 << 6) WriteByte((byte)((RdbTypes.Len6Bit << 6) | (int)len));
        else if (len < 1 << 14)
        {
            var s = Grow(2);
            s[0] = (byte)((RdbTypes.Len14Bit << 6) | (int)(len >> 8));
            s[1] = (byte)len;
        }
        else if (len <= uint.MaxValue)
        {
            WriteByte(RdbTypes.Len32Bit);
            BinaryPrimitives.WriteUInt32BigEndian(Grow(4), (uint)len);
        }
        else
        {
            WriteByte(RdbTypes.Len64Bit);
            BinaryPrimitives.WriteUInt64BigEndian(Grow(8), len);
        }
    }

    /// <summary>rdbEncodeInteger: the INT8/16/32 forms, or false when the value needs more than 32 bits.</summary>
    bool TryEncodeInteger(long value)
    {
        const int Enc = RdbTypes.EncVal << 6;
        if (value is >= sbyte.MinValue and <= sbyte.MaxValue)
        {
            var s = Grow(2);
            s[0] = Enc | RdbTypes.EncInt8;
            s[1] = (byte)value;
        }
        else if (value is >= short.MinValue and <= short.MaxValue)
        {
            var s = Grow(3);
            s[0] = Enc | RdbTypes.EncInt16;
            BinaryPrimitives.WriteInt16LittleEndian(s[1..], (short)value);
        }
        else if (value is >= int.MinValue and <= int.MaxValue)
        {
            var s = Grow(5);
            s[0] = Enc | RdbTypes.EncInt32;
            BinaryPrimitives.WriteInt32LittleEndian(s[1..], (int)value);
        }
        else return false;
        return true;
    }

    /// <summary>rdbSaveLongLongAsStringObject: an int encoding, else the decimal digits as a string.</summary>
    public void SaveLongLongAsStringObject(long value)
    {
        if (TryEncodeInteger(value)) return;
        Span<byte> digits = stackalloc byte[24];
        Utf8Formatter.TryFormat(value, digits, out int n);
        SaveLen((ulong)n);
        WriteRaw(digits[..n]);
    }

    /// <summary>
    /// rdbSaveRawString: up to 11 bytes that are a canonical integer (string2ll, then ll2string
    /// gives the same bytes) become an int encoding; over 20 bytes try LZF; else length + bytes.
    /// </summary>
    public void SaveRawString(ReadOnlySpan<byte> s)
    {
        if (s.Length <= 11 && IsCanonicalInteger(s, out long v) && TryEncodeInteger(v)) return;
        if (_compression && s.Length > 20 && TrySaveLzfString(s)) return;
        SaveLen((ulong)s.Length);
        WriteRaw(s);
    }

    static bool IsCanonicalInteger(ReadOnlySpan<byte> s, out long v)
    {
        if (!RespParser.TryParseLong(s, out v)) return false;
        Span<byte> back = stackalloc byte[24];
        Utf8Formatter.TryFormat(v, back, out int n);
        return back[..n].SequenceEqual(s);
    }

    /// <summary>rdbSaveLzfStringObject: compresses into len-4 bytes at most; false when that does not fit.</summary>
    bool TrySaveLzfString(ReadOnlySpan<byte> s)
    {
        if (s.Length <= 4) return false;
        var outBuf = System.Buffers.ArrayPool<byte>.Shared.Rent(s.Length - 4);
        try
        {
            int clen = Lzf.Compress(s, outBuf.AsSpan(0, s.Length - 4));
            if (clen == 0) return false;
            SaveLzfBlob(outBuf.AsSpan(0, clen), s.Length);
            return true;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(outBuf);
        }
    }

    /// <summary>rdbSaveLzfBlob: the LZF marker, compressed length, original length, compressed bytes.</summary>
    public void SaveLzfBlob(ReadOnlySpan<byte> compressed, int originalLength)
    {
        WriteByte((RdbTypes.EncVal << 6) | RdbTypes.EncLzf);
        SaveLen((ulong)compressed.Length);
        SaveLen((ulong)originalLength);
        WriteRaw(compressed);
    }

    /// <summary>rdbSaveStringObject: int-encoded strings as integers, others as raw strings.</summary>
    public void SaveStringObject(RedisObject o)
    {
        if (o.Encoding == ObjEncoding.Int) SaveLongLongAsStringObject(o.IntValue);
        else SaveRawString(o.ValueArea);
    }

    /// <summary>rdbSaveBinaryDoubleValue: the IEEE 754 bits, little-endian.</summary>
    public void SaveBinaryDouble(double d) => BinaryPrimitives.WriteDoubleLittleEndian(Grow(8), d);

    /// <summary>rdbSaveObjectType: the type byte for the object's type and encoding.</summary>
    public void SaveObjectType(RedisObject o) => WriteByte(ObjectType(o));

    public static byte ObjectType(RedisObject o) => (o.Type, o.Encoding) switch
    {
        (ObjType.String, _) => RdbTypes.String,
        (ObjType.List, ObjEncoding.QuickList) => RdbTypes.ListQuicklist2,
        (ObjType.Set, ObjEncoding.IntSet) => RdbTypes.SetIntset,
        (ObjType.Set, ObjEncoding.HashTable) => RdbTypes.Set,
        (ObjType.ZSet, ObjEncoding.Listpack) => RdbTypes.ZSetListpack,
        (ObjType.ZSet, ObjEncoding.SkipList) => RdbTypes.ZSet2,
        (ObjType.Hash, ObjEncoding.Listpack) => RdbTypes.HashListpack,
        (ObjType.Hash, ObjEncoding.HashTable) => RdbTypes.Hash,
        (ObjType.Stream, ObjEncoding.Stream) => RdbTypes.StreamListpacks2,
        _ => throw new NotSupportedException("RDB: no serialization for " + RedisObject.TypeName(o.Type) + "/" + RedisObject.EncodingName(o.Encoding)),
    };

    /// <summary>rdbSaveObject: the value in the form its type byte announces.</summary>
    public void SaveObject(RedisObject o)
    {
        switch (o.Ptr)
        {
            case null:
                SaveStringObject(o);
                break;
            case Quicklist ql:
                SaveQuicklist(ql);
                break;
            case Intset iset:
                SaveRawString(iset.Bytes);
                break;
            case byte[]: // listpack hash or zset: robj->ptr is the listpack (after the key)
                SaveRawString(o.EmbeddedListpack.Bytes);
                break;
            case StringDict d when o.Type == ObjType.Set:
                SaveLen((ulong)d.Count);
                foreach (var e in d.Entries()) SaveRawString(e.Key);
                break;
            case StringDict d:
                SaveLen((ulong)d.Count);
                foreach (var e in d.Entries())
                {
                    SaveRawString(e.Key);
                    SaveRawString(e.Value!);
                }
                break;
            case RedisStream s:
                RdbStream.Save(this, s);
                break;
            case ZSetSkipList z:
                // From the greatest to the smallest, as Redis does, so loading inserts at the head.
                SaveLen((ulong)z.Zsl.Length);
                for (var n = z.Zsl.Tail; n != null; n = n.Backward)
                {
                    SaveRawString(n.Ele);
                    SaveBinaryDouble(n.Score);
                }
                break;
            default:
                throw new NotSupportedException("RDB: no serialization for " + RedisObject.TypeName(o.Type));
        }
    }

    /// <summary>
    /// RDB_TYPE_LIST_QUICKLIST_2: node count, then per node its container (PLAIN or PACKED) and
    /// its listpack or plain element as a string (LZF bytes kept as they are).
    /// </summary>
    void SaveQuicklist(Quicklist ql)
    {
        SaveLen((ulong)ql.Len);
        for (var n = ql.Head; n != null; n = n.Next)
        {
            SaveLen((ulong)(n.IsPlain ? RdbTypes.ContainerPlain : RdbTypes.ContainerPacked));
            if (n.CompressedBytes is { } lzf) SaveLzfBlob(lzf, n.Sz);
            else SaveRawString(n.RawBytes);
        }
    }

    /// <summary>createDumpPayload: type, object, then RDB version (2 bytes) and CRC-64 (8 bytes), little-endian.</summary>
    public static byte[] CreateDumpPayload(RedisObject o, bool compression)
    {
        var w = new RdbWriter(compression);
        w.SaveObjectType(o);
        w.SaveObject(o);
        BinaryPrimitives.WriteUInt16LittleEndian(w.Grow(2), RdbTypes.Version);
        ulong crc = Crc64.Compute(0, w.Written);
        BinaryPrimitives.WriteUInt64LittleEndian(w.Grow(8), crc);
        return w.Written.ToArray();
    }
}
