// Deserializes what RdbWriter (or redis-server) wrote, as rdb.c's rdbLoadObjectType /
// rdbLoadObject do: lengths, int- and LZF-encoded strings, binary doubles, and every 7.0 value
// type, choosing encodings the way Redis does on load (a listpack or intset past the current
// limits converts; a hashtable set/hash/skiplist that fits the limits loads compact). Malformed
// input throws RdbFormatException, which RESTORE reports as "Bad data format".
using System.Buffers.Binary;
using System.Buffers.Text;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Protocol;
using Cinnabar.Server;

namespace Cinnabar.Persistence;

public class RdbFormatException(string message) : Exception(message);

/// <summary>The data ended inside an object or opcode (rdb.c's "Short read" / eoferr path), as opposed to malformed contents.</summary>
public sealed class RdbShortReadException() : RdbFormatException("RDB: unexpected end of data");

public ref struct RdbReader
{
    readonly ReadOnlySpan<byte> _data;
    int _pos;

    public RdbReader(ReadOnlySpan<byte> data) => _data = data;

    public readonly int Position => _pos;

    static RdbFormatException Corrupt(string what) => new("RDB: " + what);

    ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0) throw Corrupt("negative length");
        if (_pos + n > _data.Length) throw new RdbShortReadException();
        var s = _data.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public byte ReadByte() => Take(1)[0];

    /// <summary>The next n raw bytes (opcode operands such as expire times and the EOF checksum).</summary>
    public ReadOnlySpan<byte> ReadBytes(int n) => Take(n);

    /// <summary>rdbLoadObjectType: a type byte Redis 7.0 knows, else an error.</summary>
    public int LoadObjectType()
    {
        int t = ReadByte();
        if (!RdbTypes.IsObjectType(t)) throw Corrupt("unknown object type " + t);
        return t;
    }

    /// <summary>rdbLoadLenByRef: a length, or (isEncoded) the special string encoding after an RDB_ENCVAL prefix.</summary>
    public ulong LoadLen(out bool isEncoded)
    {
        isEncoded = false;
        byte b = ReadByte();
        switch (b >> 6)
        {
            case RdbTypes.EncVal:
                isEncoded = true;
                return (ulong)(b & 0x3F);
            case RdbTypes.Len6Bit:
                return (ulong)(b & 0x3F);
            case RdbTypes.Len14Bit:
                return (ulong)(((b & 0x3F) << 8) | ReadByte());
        }
        if (b == RdbTypes.Len32Bit) return BinaryPrimitives.ReadUInt32BigEndian(Take(4));
        if (b == RdbTypes.Len64Bit) return BinaryPrimitives.ReadUInt64BigEndian(Take(8));
        throw Corrupt("unknown length encoding " + b);
    }

    public ulong LoadLen()
    {
        ulong len = LoadLen(out bool enc);
        if (enc) throw Corrupt("encoded value where a length was expected");
        return len;
    }

    int LoadLength()
    {
        ulong len = LoadLen();
        if (len > int.MaxValue) throw Corrupt("length too large");
        return (int)len;
    }

    /// <summary>rdbGenericLoadStringObject: plain, int-encoded (as its decimal digits) or LZF-compressed.</summary>
    public byte[] LoadString()
    {
        ulong len = LoadLen(out bool encoded);
        if (!encoded)
        {
            if (len > int.MaxValue) throw Corrupt("string too long");
            return Take((int)len).ToArray();
        }
        switch ((int)len)
        {
            case RdbTypes.EncInt8:
                return FormatInteger((sbyte)ReadByte());
            case RdbTypes.EncInt16:
                return FormatInteger(BinaryPrimitives.ReadInt16LittleEndian(Take(2)));
            case RdbTypes.EncInt32:
                return FormatInteger(BinaryPrimitives.ReadInt32LittleEndian(Take(4)));
            case RdbTypes.EncLzf:
                return LoadLzfString();
        }
        throw Corrupt("unknown string encoding " + len);
    }

    /// <summary>
    /// LoadString without a copy where it can: a plain string is a view of the file's bytes; an
    /// int-encoded or LZF one is decoded into scratch (grown as needed, reused by the caller).
    /// The view is valid until scratch is used again.
    /// </summary>
    public ReadOnlySpan<byte> LoadStringView(ref byte[] scratch)
    {
        ulong len = LoadLen(out bool encoded);
        if (!encoded)
        {
            if (len > int.MaxValue) throw Corrupt("string too long");
            return Take((int)len);
        }
        long v;
        switch ((int)len)
        {
            case RdbTypes.EncInt8: v = (sbyte)ReadByte(); break;
            case RdbTypes.EncInt16: v = BinaryPrimitives.ReadInt16LittleEndian(Take(2)); break;
            case RdbTypes.EncInt32: v = BinaryPrimitives.ReadInt32LittleEndian(Take(4)); break;
            case RdbTypes.EncLzf:
                {
                    int clen = LoadLength();
                    int olen = LoadLength();
                    var compressed = Take(clen);
                    if (olen == 0) throw Corrupt("LZF string of length zero");
                    if (scratch.Length < olen) scratch = new byte[Math.Max(olen, scratch.Length * 2)];
                    if (Lzf.Decompress(compressed, scratch.AsSpan(0, olen)) != olen) throw Corrupt("invalid LZF compressed string");
                    return scratch.AsSpan(0, olen);
                }
            default: throw Corrupt("unknown string encoding " + len);
        }
        if (scratch.Length < 24) scratch = new byte[64];
        Utf8Formatter.TryFormat(v, scratch, out int n);
        return scratch.AsSpan(0, n);
    }

    static byte[] FormatInteger(long v)
    {
        Span<byte> digits = stackalloc byte[24];
        Utf8Formatter.TryFormat(v, digits, out int n);
        return digits[..n].ToArray();
    }

    /// <summary>rdbLoadLzfStringObject: compressed length, original length, and data that must decompress to exactly that length.</summary>
    byte[] LoadLzfString()
    {
        int clen = LoadLength();
        int len = LoadLength();
        var compressed = Take(clen);
        if (len == 0) throw Corrupt("LZF string of length zero");
        var output = new byte[len];
        if (Lzf.Decompress(compressed, output) != len) throw Corrupt("invalid LZF compressed string");
        return output;
    }

    /// <summary>rdbLoadBinaryDoubleValue.</summary>
    public double LoadBinaryDouble() => BinaryPrimitives.ReadDoubleLittleEndian(Take(8));

    /// <summary>rdbLoadObject for the value types Cinnabar has, with the encodings the config asks for.</summary>
    public RedisObject LoadObject(int type, ServerConfig cfg)
    {
        return type switch
        {
            RdbTypes.String => RedisObject.CreateStringEncoded(LoadString()),
            RdbTypes.List => LoadLinkedList(cfg),
            RdbTypes.ListQuicklist2 => LoadQuicklist(cfg),
            RdbTypes.Set => LoadSet(cfg),
            RdbTypes.SetIntset => LoadIntset(cfg),
            RdbTypes.Hash => LoadHash(cfg),
            RdbTypes.HashListpack => LoadHashListpack(cfg),
            RdbTypes.ZSet or RdbTypes.ZSet2 => LoadZSet(type, cfg),
            RdbTypes.ZSetListpack => LoadZSetListpack(cfg),
            RdbTypes.StreamListpacks or RdbTypes.StreamListpacks2 => RdbStream.Load(ref this, type),
            RdbTypes.ListZiplist => LoadListFromEntries(Ziplist(LoadString()), cfg),
            RdbTypes.ListQuicklist => LoadQuicklistOfZiplists(cfg),
            RdbTypes.HashZiplist => LoadHashFromPairs(Pairs(Ziplist(LoadString())), cfg),
            RdbTypes.HashZipmap => LoadHashFromPairs(Pairs(LegacyEncodings.ZipmapEntries(LoadString()) ?? throw Corrupt("Zipmap integrity check failed.")), cfg),
            RdbTypes.ZSetZiplist => LoadZSetFromPairs(Pairs(Ziplist(LoadString())), cfg),
            _ => throw Corrupt("unsupported object type " + type),
        };
    }

    // ---- the ziplist and zipmap types of files written before 7.0, converted as Redis 7.0 converts them

    List<byte[]> Ziplist(byte[] blob) => LegacyEncodings.ZiplistEntries(blob) ?? throw Corrupt("Ziplist integrity check failed.");

    List<byte[]> Pairs(List<byte[]> entries)
    {
        if (entries.Count == 0 || entries.Count % 2 != 0) throw Corrupt("ziplist of pairs with " + entries.Count + " entries");
        return entries;
    }

    /// <summary>RDB_TYPE_LIST_ZIPLIST: the elements pushed onto a new quicklist.</summary>
    RedisObject LoadListFromEntries(List<byte[]> entries, ServerConfig cfg)
    {
        if (entries.Count == 0) throw Corrupt("empty list");
        var ql = new Quicklist(cfg.ListMaxListpackSize, cfg.ListCompressDepth);
        foreach (var e in entries) ql.PushTail(e);
        return new RedisObject(ObjType.List, ObjEncoding.QuickList, ql);
    }

    /// <summary>RDB_TYPE_LIST_QUICKLIST (3.2-6.2): nodes that are ziplists, their elements pushed in order; empty ones skipped.</summary>
    RedisObject LoadQuicklistOfZiplists(ServerConfig cfg)
    {
        ulong nodes = LoadLen();
        if (nodes == 0) throw Corrupt("empty quicklist");
        var ql = new Quicklist(cfg.ListMaxListpackSize, cfg.ListCompressDepth);
        for (ulong i = 0; i < nodes; i++)
            foreach (var e in Ziplist(LoadString())) ql.PushTail(e);
        if (ql.Count == 0) throw Corrupt("empty quicklist");
        return new RedisObject(ObjType.List, ObjEncoding.QuickList, ql);
    }

    /// <summary>RDB_TYPE_HASH_ZIPLIST / HASH_ZIPMAP: field/value pairs, a listpack while they fit, duplicates refused.</summary>
    RedisObject LoadHashFromPairs(List<byte[]> pairs, ServerConfig cfg)
    {
        var o = HashType.Create();
        if (pairs.Count / 2 > cfg.HashMaxListpackEntries) HashType.Convert(o);
        for (int i = 0; i < pairs.Count; i += 2)
            if (!HashType.Set(o, pairs[i], pairs[i + 1], long.MaxValue, cfg.HashMaxListpackValue)) throw Corrupt("duplicate hash fields detected");
        return o;
    }

    /// <summary>RDB_TYPE_ZSET_ZIPLIST: member/score pairs (scores as text), a listpack while they fit.</summary>
    RedisObject LoadZSetFromPairs(List<byte[]> pairs, ServerConfig cfg)
    {
        var zs = ZSet.CreateSkipList();
        var z = (ZSetSkipList)zs.Object.Ptr!;
        long maxEleLen = 0;
        for (int i = 0; i < pairs.Count; i += 2)
        {
            var ele = pairs[i];
            if (!Strtod.TryParseWhole(pairs[i + 1], out double score) || double.IsNaN(score)) throw Corrupt("invalid zset score");
            if (z.Dict.Find(ele) != null) throw Corrupt("duplicate zset fields detected");
            maxEleLen = Math.Max(maxEleLen, ele.Length);
            z.Zsl.Insert(score, ele);
            z.Dict.Add(ele, score);
        }
        zs.ConvertToListpackIfNeeded(maxEleLen, cfg.ZsetMaxListpackEntries, cfg.ZsetMaxListpackValue);
        return zs.Object;
    }

    /// <summary>RDB_TYPE_LIST (pre-3.2 files): a count and the elements, pushed onto a new quicklist.</summary>
    RedisObject LoadLinkedList(ServerConfig cfg)
    {
        ulong len = LoadLen();
        if (len == 0) throw Corrupt("empty list");
        var ql = new Quicklist(cfg.ListMaxListpackSize, cfg.ListCompressDepth);
        for (ulong i = 0; i < len; i++) ql.PushTail(LoadString());
        return new RedisObject(ObjType.List, ObjEncoding.QuickList, ql);
    }

    /// <summary>
    /// RDB_TYPE_LIST_QUICKLIST_2: each node becomes a node as it is, a packed node's listpack or
    /// a plain node's element (whatever this server's packed threshold); an empty string is
    /// corrupt, empty listpacks are skipped, as Redis does.
    /// </summary>
    RedisObject LoadQuicklist(ServerConfig cfg)
    {
        ulong nodes = LoadLen();
        if (nodes == 0) throw Corrupt("empty quicklist");
        var ql = new Quicklist(cfg.ListMaxListpackSize, cfg.ListCompressDepth);
        for (ulong i = 0; i < nodes; i++)
        {
            ulong container = LoadLen();
            if (container is not (RdbTypes.ContainerPlain or RdbTypes.ContainerPacked)) throw Corrupt("quicklist container " + container);
            var data = LoadString();
            if (data.Length == 0) throw Corrupt("empty quicklist node");
            if (container == RdbTypes.ContainerPlain)
            {
                ql.AppendPlainNode(data);
                continue;
            }
            if (!Listpack.Validate(data)) throw Corrupt("listpack integrity check failed");
            if (new Listpack(data).Count == 0) continue;
            ql.AppendListpack(data);
        }
        if (ql.Count == 0) throw Corrupt("empty quicklist");
        return new RedisObject(ObjType.List, ObjEncoding.QuickList, ql);
    }

    /// <summary>RDB_TYPE_SET: an intset while members are integers and the count fits set-max-intset-entries, else a hashtable.</summary>
    RedisObject LoadSet(ServerConfig cfg)
    {
        ulong len = LoadLen();
        if (len == 0) throw Corrupt("empty set");
        long maxEntries = Math.Min(cfg.SetMaxIntsetEntries, 1L << 30);
        var o = (long)Math.Min(len, long.MaxValue) > maxEntries ? SetType.CreateHashTable() : SetType.CreateIntset();
        for (ulong i = 0; i < len; i++)
        {
            // An intset member that is not an integer converts the set (setTypeAdd does it).
            if (!SetType.Add(o, LoadString(), long.MaxValue)) throw Corrupt("duplicate set members detected");
        }
        return o;
    }

    /// <summary>RDB_TYPE_SET_INTSET: the intset blob, converted to a hashtable when it has more than set-max-intset-entries.</summary>
    RedisObject LoadIntset(ServerConfig cfg)
    {
        var blob = LoadString();
        if (!Intset.Validate(blob)) throw Corrupt("intset integrity check failed");
        var o = new RedisObject(ObjType.Set, ObjEncoding.IntSet, new Intset(blob));
        if (SetType.Size(o) > cfg.SetMaxIntsetEntries) SetType.Convert(o);
        return o;
    }

    /// <summary>RDB_TYPE_HASH: a listpack while the pairs fit hash-max-listpack-entries/-value, else a hashtable.</summary>
    RedisObject LoadHash(ServerConfig cfg)
    {
        ulong len = LoadLen();
        if (len == 0) throw Corrupt("empty hash");
        var o = HashType.Create();
        if ((long)Math.Min(len, long.MaxValue) > cfg.HashMaxListpackEntries) HashType.Convert(o);
        for (ulong i = 0; i < len; i++)
        {
            var field = LoadString();
            var value = LoadString();
            if (!HashType.Set(o, field, value, long.MaxValue, cfg.HashMaxListpackValue)) throw Corrupt("duplicate hash fields detected");
        }
        return o;
    }

    /// <summary>RDB_TYPE_HASH_LISTPACK: the listpack as the hash, converted when it has more fields than hash-max-listpack-entries.</summary>
    RedisObject LoadHashListpack(ServerConfig cfg)
    {
        var lp = LoadPairListpack();
        var o = new RedisObject(ObjType.Hash, ObjEncoding.Listpack, lp);
        if (HashType.Length(o) > cfg.HashMaxListpackEntries) HashType.Convert(o);
        return o;
    }

    /// <summary>A listpack of pairs (hash or zset): valid, non-empty, an even number of entries.</summary>
    byte[] LoadPairListpack()
    {
        var blob = LoadString();
        if (!Listpack.Validate(blob)) throw Corrupt("listpack integrity check failed");
        int count = new Listpack(blob).Count;
        if (count == 0 || count % 2 != 0) throw Corrupt("listpack of pairs with " + count + " entries");
        return blob;
    }

    /// <summary>RDB_TYPE_ZSET / ZSET_2: a skiplist (scores as text or binary), converted to a listpack afterwards when small enough.</summary>
    RedisObject LoadZSet(int type, ServerConfig cfg)
    {
        ulong len = LoadLen();
        if (len == 0) throw Corrupt("empty sorted set");
        var zs = ZSet.CreateSkipList();
        var z = (ZSetSkipList)zs.Object.Ptr!;
        long maxEleLen = 0;
        for (ulong i = 0; i < len; i++)
        {
            var ele = LoadString();
            double score = type == RdbTypes.ZSet2 ? LoadBinaryDouble() : LoadTextDouble();
            if (double.IsNaN(score)) throw Corrupt("zset with NaN score detected");
            maxEleLen = Math.Max(maxEleLen, ele.Length);
            if (z.Dict.Find(ele) != null) throw Corrupt("duplicate zset fields detected");
            z.Zsl.Insert(score, ele);
            z.Dict.Add(ele, score);
        }
        zs.ConvertToListpackIfNeeded(maxEleLen, cfg.ZsetMaxListpackEntries, cfg.ZsetMaxListpackValue);
        return zs.Object;
    }

    /// <summary>rdbLoadDoubleValue (RDB_TYPE_ZSET): a length byte, then the text; 253/254/255 are nan/+inf/-inf.</summary>
    double LoadTextDouble()
    {
        byte len = ReadByte();
        switch (len)
        {
            case 255: return double.NegativeInfinity;
            case 254: return double.PositiveInfinity;
            case 253: return double.NaN;
        }
        if (!Strtod.TryParseWhole(Take(len), out double d)) throw Corrupt("invalid double");
        return d;
    }

    /// <summary>RDB_TYPE_ZSET_LISTPACK: the listpack as the zset, converted when it has more members than zset-max-listpack-entries.</summary>
    RedisObject LoadZSetListpack(ServerConfig cfg)
    {
        var zs = new ZSet(new RedisObject(ObjType.ZSet, ObjEncoding.Listpack, LoadPairListpack()));
        if (zs.Length > cfg.ZsetMaxListpackEntries) zs.ConvertToSkipList();
        return zs.Object;
    }

    /// <summary>verifyDumpPayload: at least the 10-byte footer, a version Redis 7.0 reads, and a matching CRC-64.</summary>
    public static bool VerifyDumpPayload(ReadOnlySpan<byte> p)
    {
        if (p.Length < 10) return false;
        var footer = p[^10..];
        int version = BinaryPrimitives.ReadUInt16LittleEndian(footer);
        if (version > RdbTypes.Version) return false;
        ulong crc = Crc64.Compute(0, p[..^8]);
        return crc == BinaryPrimitives.ReadUInt64LittleEndian(footer[2..]);
    }
}
