// The RDB format's constants (rdb.h): object type bytes, the length/encoding prefixes of
// rdbSaveLen and the special string encodings, the quicklist node containers and the format
// version Redis 7.0 writes (10). Names follow rdb.h so a reader can grep Redis for them.
namespace Cinnabar.Persistence;

public static class RdbTypes
{
    /// <summary>RDB_VERSION of Redis 7.0: DUMP payloads carry it and RESTORE accepts it or older.</summary>
    public const int Version = 10;

    // Object types (rdbSaveObjectType / rdbLoadObjectType).
    public const byte String = 0;
    public const byte List = 1;
    public const byte Set = 2;
    public const byte ZSet = 3;
    public const byte Hash = 4;
    public const byte ZSet2 = 5;
    public const byte Module2 = 7;
    public const byte HashZipmap = 9;
    public const byte ListZiplist = 10;
    public const byte SetIntset = 11;
    public const byte ZSetZiplist = 12;
    public const byte HashZiplist = 13;
    public const byte ListQuicklist = 14;
    public const byte StreamListpacks = 15;
    public const byte HashListpack = 16;
    public const byte ZSetListpack = 17;
    public const byte ListQuicklist2 = 18;
    public const byte StreamListpacks2 = 19;

    /// <summary>rdbIsObjectType: the type bytes an RDB object may start with in 7.0.</summary>
    public static bool IsObjectType(int t) => t is >= 0 and <= 7 or >= 9 and <= 19;

    // File opcodes (RDB_OPCODE_*): the bytes in a type position that are not objects.
    public const byte OpFunction2 = 245;
    public const byte OpFunction = 246;
    public const byte OpModuleAux = 247;
    public const byte OpIdle = 248;
    public const byte OpFreq = 249;
    public const byte OpAux = 250;
    public const byte OpResizeDb = 251;
    public const byte OpExpireTimeMs = 252;
    public const byte OpExpireTime = 253;
    public const byte OpSelectDb = 254;
    public const byte OpEof = 255;

    // Length prefixes: the top two bits of the first byte (RDB_6BITLEN, RDB_14BITLEN, RDB_ENCVAL)
    // or a whole byte for the 32/64-bit forms.
    public const int Len6Bit = 0;
    public const int Len14Bit = 1;
    public const byte Len32Bit = 0x80;
    public const byte Len64Bit = 0x81;
    public const int EncVal = 3;

    // Special string encodings after an RDB_ENCVAL prefix.
    public const int EncInt8 = 0;
    public const int EncInt16 = 1;
    public const int EncInt32 = 2;
    public const int EncLzf = 3;

    // Quicklist node containers (QUICKLIST_NODE_CONTAINER_PLAIN / _PACKED).
    public const int ContainerPlain = 1;
    public const int ContainerPacked = 2;
}
