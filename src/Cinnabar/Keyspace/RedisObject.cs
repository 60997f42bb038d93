// The object model (Redis's robj): a value's type, its encoding, and the 24-bit LRU clock or
// LFU counter that eviction reads, packed in one 32-bit word. The object is also the keyspace's
// dict entry (it derives from DictEntry: key and chain link), so a key costs no separate entry.
// Strings keep their value in the same array as the key ([key][value]; an int is 8 bytes), with
// encodings int, embstr (created at most 44 bytes long) and raw exactly when Redis would.
// Listpack-encoded hashes and sorted sets do the same: [key][listpack] in one array, which is
// both KeyBuf and Ptr, so a small container key costs the object and one array.
using System.Buffers.Binary;
using System.Buffers.Text;
using Cinnabar.DataTypes;

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

    // Bits (in DictEntry, so the object has no padding): LRU 0-23, type 24-26, the snapshot
    // mark 27, encoding 28-31: Redis's robj {type:4, encoding:4, lru:24}, with the type's unused
    // fourth bit (types go up to 6) holding the mark a forkless snapshot walks by.
    const uint LruMask = 0x00FFFFFF;
    const int TypeShift = 24, SnapshotMarkShift = 27, EncodingShift = 28;

    public ObjType Type
    {
        get => (ObjType)((Bits >> TypeShift) & 0x7);
        set => Bits = (Bits & ~(0x7u << TypeShift)) | (((uint)value & 0x7) << TypeShift);
    }

    /// <summary>
    /// The snapshot epoch bit (Persistence/Snapshot.cs): equal to the keyspace's current mark once
    /// the running snapshot has this key (or the key was linked after it started).
    /// </summary>
    public bool SnapshotMark
    {
        get => (Bits & (1u << SnapshotMarkShift)) != 0;
        set => Bits = value ? Bits | (1u << SnapshotMarkShift) : Bits & ~(1u << SnapshotMarkShift);
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

    /// <summary>
    /// The payload of a non-string type (the data structure); null for strings. A listpack hash
    /// or sorted set's Ptr is a byte[] whose listpack starts at KeyLen: linked, the array is also
    /// KeyBuf ([key][listpack]); not linked (KeyLen 0), it is the listpack alone.
    /// </summary>
    public object? Ptr;

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

    // Strings keep their value in the key's array, right after the key: KeyBuf = [key][value],
    // as Valkey 8 embeds the key in the robj. Raw and embstr values fill the rest of the array;
    // an int-encoded value is its 8 bytes (little-endian long). A string object outside the
    // keyspace has KeyLen 0 and the array is the value alone.
    RedisObject(ObjEncoding encoding, byte[] buf, int keyLen) : base(buf, keyLen)
    {
        Type = ObjType.String;
        Encoding = encoding;
    }

    static ObjEncoding StringEncodingFor(int length) => length <= EmbstrSizeLimit ? ObjEncoding.EmbStr : ObjEncoding.Raw;

    /// <summary>[key][value] in one new array.</summary>
    internal static byte[] Embed(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var buf = GC.AllocateUninitializedArray<byte>(key.Length + value.Length);
        key.CopyTo(buf);
        value.CopyTo(buf.AsSpan(key.Length));
        return buf;
    }

    /// <summary>createStringObject: embstr up to 44 bytes, raw beyond (no key yet).</summary>
    public static RedisObject CreateString(ReadOnlySpan<byte> value) => CreateString(default, value);

    /// <summary>A string object for key (its key embedded), so linking it copies nothing more.</summary>
    public static RedisObject CreateString(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value) =>
        new(StringEncodingFor(value.Length), Embed(key, value), key.Length);

    /// <summary>A raw string taking ownership of value (linking it under a key copies it once, after the key).</summary>
    public static RedisObject CreateRawString(byte[] value) => new(ObjEncoding.Raw, value, 0);

    /// <summary>A raw string for key of length zero bytes (sdsnewlen with SDS_NOINIT zeroed).</summary>
    public static RedisObject CreateRawString(ReadOnlySpan<byte> key, long length)
    {
        var buf = new byte[key.Length + length];
        key.CopyTo(buf);
        return new(ObjEncoding.Raw, buf, key.Length);
    }

    public static RedisObject CreateInt(long value) => CreateInt(default, value);

    public static RedisObject CreateInt(ReadOnlySpan<byte> key, long value)
    {
        var buf = GC.AllocateUninitializedArray<byte>(key.Length + sizeof(long));
        key.CopyTo(buf);
        var o = new RedisObject(ObjEncoding.Int, buf, key.Length);
        o.IntValue = value;
        return o;
    }

    /// <summary>
    /// tryObjectEncoding for a value about to be stored: a string that is a canonical integer
    /// of at most 20 chars becomes int; otherwise embstr/raw by length.
    /// </summary>
    public static RedisObject CreateStringEncoded(ReadOnlySpan<byte> value) => CreateStringEncoded(default, value);

    /// <summary>CreateStringEncoded with the key embedded: SET copies the value once.</summary>
    public static RedisObject CreateStringEncoded(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        if (value.Length <= 20 && Protocol.RespParser.TryParseLong(value, out long v)) return CreateInt(key, v);
        return CreateString(key, value);
    }

    public bool IsString => Type == ObjType.String;

    /// <summary>The key's array holds the value too: a string, or a listpack hash or sorted set.</summary>
    public bool KeyBufHoldsValue => Type == ObjType.String || Ptr is byte[];

    /// <summary>The listpack of a listpack hash or sorted set (a view after the key; Ptr must be its array).</summary>
    public Listpack EmbeddedListpack => new((byte[])Ptr!, KeyLen);

    /// <summary>
    /// Stores a listpack hash or sorted set's array back after a mutation, which may have moved it
    /// (the key bytes in front move with it). The caller's WriteScope re-points a TTL entry.
    /// </summary>
    public void StoreListpack(byte[] buf)
    {
        if (ReferenceEquals(KeyBuf, Ptr)) KeyBuf = buf;
        Ptr = buf;
    }

    /// <summary>A listpack built on its own (offset 0) becomes the value: copied after the key when the object has one.</summary>
    public void AdoptListpack(byte[] listpack)
    {
        if (KeyLen == 0)
        {
            Ptr = listpack;
            return;
        }
        var buf = Embed(KeySpan, new Listpack(listpack).Bytes);
        KeyBuf = buf;
        Ptr = buf;
    }

    /// <summary>A payload that is not a listpack (a conversion's result) replaces one: the key gets an array of its own.</summary>
    public void SetPayload(object payload)
    {
        if (ReferenceEquals(KeyBuf, Ptr)) KeyBuf = KeySpan.ToArray();
        Ptr = payload;
    }

    /// <summary>
    /// Gives an object about to be linked its key, unless it already carries it (the SET path
    /// creates strings with the key embedded): a string's value, or a listpack hash or sorted
    /// set's listpack, moves behind the key in a new array; other types get a key array.
    /// </summary>
    internal void AttachKey(ReadOnlySpan<byte> key)
    {
        if (KeyEquals(key)) return;
        if (IsString) KeyBuf = Embed(key, ValueArea);
        else if (Ptr is byte[])
        {
            var buf = Embed(key, EmbeddedListpack.Bytes);
            KeyBuf = buf;
            Ptr = buf;
        }
        else KeyBuf = key.ToArray();
        KeyLen = key.Length;
    }

    /// <summary>The value of an int-encoded string, stored in the 8 bytes after the key.</summary>
    public long IntValue
    {
        get => BinaryPrimitives.ReadInt64LittleEndian(new ReadOnlySpan<byte>(KeyBuf, KeyLen, sizeof(long)));
        set => BinaryPrimitives.WriteInt64LittleEndian(new Span<byte>(KeyBuf, KeyLen, sizeof(long)), value);
    }

    /// <summary>The stored bytes after the key: a raw/embstr string's value (writable in place), or an int's 8 bytes.</summary>
    public Span<byte> ValueArea => new(KeyBuf, KeyLen, KeyBuf.Length - KeyLen);

    /// <summary>A copy of the string bytes (formatting an int-encoded value).</summary>
    public byte[] StringBytes()
    {
        Span<byte> tmp = stackalloc byte[24];
        return StringSpan(tmp).ToArray();
    }

    /// <summary>Writes the string form into <paramref name="scratch"/> if int-encoded, else returns the stored bytes.</summary>
    public ReadOnlySpan<byte> StringSpan(Span<byte> scratch)
    {
        if (Encoding == ObjEncoding.Int)
        {
            Utf8Formatter.TryFormat(IntValue, scratch, out int w);
            return scratch[..w];
        }
        return new ReadOnlySpan<byte>(KeyBuf, KeyLen, KeyBuf.Length - KeyLen);
    }

    public long StringLength()
    {
        if (Encoding != ObjEncoding.Int) return KeyBuf.Length - KeyLen;
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
