// The object model (Redis's robj): a value's type, its encoding, and the 24-bit LRU clock or
// LFU counter that eviction reads, packed in one 32-bit word. The object is also the keyspace's
// dict entry (it derives from DictEntry: key and chain link), so a key costs no separate entry.
// Strings are stored as a long (encoding int) or a byte array (embstr when created at most 44
// bytes long, raw otherwise), exactly when Redis would.
using System.Buffers.Text;

namespace Cinnabar.Keyspace;

public enum ObjType : byte
{
    String = 0,
    List = 1,
    Set = 2,
    ZSet = 3,
    Hash = 4,
    Stream = 6,
}

public enum ObjEncoding : byte
{
    Raw = 0,
    Int = 1,
    HashTable = 2,
    ZipMap = 3,
    LinkedList = 4,
    ZipList = 5,
    IntSet = 6,
    SkipList = 7,
    EmbStr = 8,
    QuickList = 9,
    Stream = 10,
    Listpack = 11,
}

public sealed class RedisObject : DictEntry
{
    /// <summary>Strings up to this length are created embstr (OBJ_ENCODING_EMBSTR_SIZE_LIMIT).</summary>
    public const int EmbstrSizeLimit = 44;

    // Bits (in DictEntry, so the object has no padding): LRU 0-23, type 24-27, encoding 28-31,
    // the 32-bit word of Redis's robj {type:4, encoding:4, lru:24}.
    const uint LruMask = 0x00FFFFFF;
    const int TypeShift = 24, EncodingShift = 28;

    public ObjType Type
    {
        get => (ObjType)((Bits >> TypeShift) & 0xF);
        set => Bits = (Bits & ~(0xFu << TypeShift)) | (((uint)value & 0xF) << TypeShift);
    }

    public ObjEncoding Encoding
    {
        get => (ObjEncoding)(Bits >> EncodingShift);
        set => Bits = (Bits & ~(0xFu << EncodingShift)) | (((uint)value & 0xF) << EncodingShift);
    }

    /// <summary>LRU clock (seconds, 24 bits) or, under an LFU policy, minutes&lt;&lt;8 | log counter.</summary>
    public uint Lru
    {
        get => Bits & LruMask;
        set => Bits = (Bits & ~LruMask) | (value & LruMask);
    }

    /// <summary>The payload: byte[] for raw/embstr strings, the data structure for other types.</summary>
    public object? Ptr;

    /// <summary>The value of an int-encoded string.</summary>
    public long IntValue;

    /// <summary>
    /// An object not yet in a keyspace has an empty key; Database.Add/SetKey give it its key
    /// when they link it (the object is its own dict entry).
    /// </summary>
    public RedisObject(ObjType type, ObjEncoding encoding, object? ptr) : base([], 0)
    {
        Type = type;
        Encoding = encoding;
        Ptr = ptr;
    }

    /// <summary>createStringObject: embstr up to 44 bytes, raw beyond.</summary>
    public static RedisObject CreateString(ReadOnlySpan<byte> value) =>
        new(ObjType.String, value.Length <= EmbstrSizeLimit ? ObjEncoding.EmbStr : ObjEncoding.Raw, value.ToArray());

    public static RedisObject CreateRawString(byte[] value) => new(ObjType.String, ObjEncoding.Raw, value);

    public static RedisObject CreateInt(long value) => new(ObjType.String, ObjEncoding.Int, null) { IntValue = value };

    /// <summary>
    /// tryObjectEncoding for a value about to be stored: a string that is a canonical integer
    /// of at most 20 chars becomes int; otherwise embstr/raw by length.
    /// </summary>
    public static RedisObject CreateStringEncoded(ReadOnlySpan<byte> value)
    {
        if (value.Length <= 20 && Protocol.RespParser.TryParseLong(value, out long v)) return CreateInt(v);
        return CreateString(value);
    }

    public bool IsString => Type == ObjType.String;

    /// <summary>The string bytes (formatting an int-encoded value). Allocates only for ints.</summary>
    public byte[] StringBytes()
    {
        if (Encoding == ObjEncoding.Int)
        {
            Span<byte> tmp = stackalloc byte[24];
            Utf8Formatter.TryFormat(IntValue, tmp, out int w);
            return tmp[..w].ToArray();
        }
        return (byte[])Ptr!;
    }

    /// <summary>Writes the string form into <paramref name="scratch"/> if int-encoded, else returns the stored bytes.</summary>
    public ReadOnlySpan<byte> StringSpan(Span<byte> scratch)
    {
        if (Encoding == ObjEncoding.Int)
        {
            Utf8Formatter.TryFormat(IntValue, scratch, out int w);
            return scratch[..w];
        }
        return (byte[])Ptr!;
    }

    public long StringLength()
    {
        if (Encoding != ObjEncoding.Int) return ((byte[])Ptr!).Length;
        Span<byte> tmp = stackalloc byte[24];
        Utf8Formatter.TryFormat(IntValue, tmp, out int w);
        return w;
    }

    public static string EncodingName(ObjEncoding e) => e switch
    {
        ObjEncoding.Raw => "raw",
        ObjEncoding.Int => "int",
        ObjEncoding.HashTable => "hashtable",
        ObjEncoding.ZipMap => "zipmap",
        ObjEncoding.LinkedList => "linkedlist",
        ObjEncoding.ZipList => "ziplist",
        ObjEncoding.IntSet => "intset",
        ObjEncoding.SkipList => "skiplist",
        ObjEncoding.EmbStr => "embstr",
        ObjEncoding.QuickList => "quicklist",
        ObjEncoding.Stream => "stream",
        ObjEncoding.Listpack => "listpack",
        _ => "unknown",
    };

    public static string TypeName(ObjType t) => t switch
    {
        ObjType.String => "string",
        ObjType.List => "list",
        ObjType.Set => "set",
        ObjType.ZSet => "zset",
        ObjType.Hash => "hash",
        ObjType.Stream => "stream",
        _ => "none",
    };
}
