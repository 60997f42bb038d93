// Bitmap commands over a real connection: SETBIT growth and errors, BITCOUNT/BITPOS ranges in
// BYTE and BIT units, BITOP, and BITFIELD's overflow modes, #offsets and BITFIELD_RO.
using Cinnabar.Keyspace;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class BitmapCommandsTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void SetbitGrowsARawStringAndReturnsTheOldBit()
    {
        using var c = fx.Connect();
        Assert.Equal(":0", c.CallS("SETBIT", "sb:k", "7", "1"));
        Assert.Equal(":1", c.CallS("SETBIT", "sb:k", "7", "0"));
        Assert.Equal(":0", c.CallS("SETBIT", "sb:k", "100", "1"));
        Assert.Equal(":13", c.CallS("STRLEN", "sb:k"));
        Assert.Equal(":1", c.CallS("GETBIT", "sb:k", "100"));
        Assert.Equal(ObjEncoding.Raw, LoopAccess.EncodingOf(fx.Server, "sb:k"));
        Assert.Equal("-ERR bit is not an integer or out of range", c.CallS("SETBIT", "sb:k", "0", "2"));
        Assert.Equal("-ERR bit offset is not an integer or out of range", c.CallS("SETBIT", "sb:k", "4294967296", "1"));
        Assert.Equal("-ERR bit offset is not an integer or out of range", c.CallS("GETBIT", "sb:k", "-1"));
    }

    [Fact]
    public void BitcountCountsByteAndBitRanges()
    {
        using var c = fx.Connect();
        c.Call("SET", "bc:k", "foobar");
        Assert.Equal(":26", c.CallS("BITCOUNT", "bc:k"));
        Assert.Equal(":6", c.CallS("BITCOUNT", "bc:k", "1", "1"));
        Assert.Equal(":17", c.CallS("BITCOUNT", "bc:k", "5", "30", "BIT"));
        Assert.Equal(":0", c.CallS("BITCOUNT", "bc:k", "-1", "-5"));
        Assert.Equal("-ERR syntax error", c.CallS("BITCOUNT", "bc:k", "1"));
        Assert.Equal(":0", c.CallS("BITCOUNT", "bc:missing", "a", "b"));
    }

    [Fact]
    public void BitposFindsBitsAndTreatsTheTailAsZeros()
    {
        using var c = fx.Connect();
        c.SendRaw(RespClient.Encode(["SET"u8.ToArray(), "bp:k"u8.ToArray(), [0xff, 0xf0, 0x00]]));
        Assert.Equal("+OK", c.Read().ToString());
        Assert.Equal(":12", c.CallS("BITPOS", "bp:k", "0"));
        Assert.Equal(":0", c.CallS("BITPOS", "bp:k", "1"));
        Assert.Equal(":16", c.CallS("BITPOS", "bp:k", "0", "2"));
        Assert.Equal(":-1", c.CallS("BITPOS", "bp:k", "1", "2"));
        Assert.Equal(":13", c.CallS("BITPOS", "bp:k", "0", "13", "13", "BIT"));
        c.SendRaw(RespClient.Encode(["SET"u8.ToArray(), "bp:full"u8.ToArray(), [0xff, 0xff]]));
        c.Read();
        Assert.Equal(":16", c.CallS("BITPOS", "bp:full", "0"));
        Assert.Equal(":-1", c.CallS("BITPOS", "bp:full", "0", "0", "-1"));
        Assert.Equal(":0", c.CallS("BITPOS", "bp:none", "0"));
        Assert.Equal(":-1", c.CallS("BITPOS", "bp:none", "1"));
        Assert.Equal("-ERR The bit argument must be 1 or 0.", c.CallS("BITPOS", "bp:k", "2"));
    }

    [Fact]
    public void BitopCombinesAndDeletesOnEmptyResult()
    {
        using var c = fx.Connect();
        c.Call("SET", "bo:a", "abc");
        c.Call("SET", "bo:b", "a");
        Assert.Equal(":3", c.CallS("BITOP", "AND", "bo:d", "bo:a", "bo:b"));
        Assert.Equal("\"a\\x00\\x00\"", c.CallS("GET", "bo:d"));
        Assert.Equal(":1", c.CallS("BITOP", "NOT", "bo:n", "bo:b"));
        Assert.Equal("\"\\x9e\"", c.CallS("GET", "bo:n"));
        Assert.Equal(ObjEncoding.Raw, LoopAccess.EncodingOf(fx.Server, "bo:n"));
        Assert.Equal(":0", c.CallS("BITOP", "OR", "bo:d", "bo:x", "bo:y"));
        Assert.Equal("$nil", c.CallS("GET", "bo:d"));
        Assert.Equal("-ERR BITOP NOT must be called with a single source key.", c.CallS("BITOP", "NOT", "bo:d", "bo:a", "bo:b"));
        Assert.Equal("-ERR syntax error", c.CallS("BITOP", "NAND", "bo:d", "bo:a"));
    }

    [Fact]
    public void BitfieldOverflowModesWrapSaturateAndFail()
    {
        using var c = fx.Connect();
        Assert.Equal("*[:0]", c.CallS("BITFIELD", "bf:k", "SET", "i8", "0", "100"));
        Assert.Equal("*[:-56]", c.CallS("BITFIELD", "bf:k", "INCRBY", "i8", "0", "100"));
        Assert.Equal("*[:127]", c.CallS("BITFIELD", "bf:k", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "500"));
        Assert.Equal("*[$nil]", c.CallS("BITFIELD", "bf:k", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "1"));
        Assert.Equal("*[:127]", c.CallS("BITFIELD", "bf:k", "GET", "i8", "0"));
        Assert.Equal("*[:0, :0]", c.CallS("BITFIELD", "bf:u", "SET", "u8", "0", "255", "OVERFLOW", "SAT", "INCRBY", "u8", "0", "-300"));
        Assert.Equal("*[:0, :200, :200]", c.CallS("BITFIELD", "bf:h", "SET", "u8", "#1", "200", "GET", "u8", "8", "GET", "u8", "#1"));
        Assert.Equal("*[:0, :-1, :9223372036854775807]", c.CallS("BITFIELD", "bf:64", "SET", "i64", "0", "-1", "GET", "i64", "0", "GET", "u63", "0"));
    }

    [Fact]
    public void BitfieldValidatesTypesAndReadOnlyVariant()
    {
        using var c = fx.Connect();
        const string typeError = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
        Assert.Equal(typeError, c.CallS("BITFIELD", "bfv:k", "GET", "u64", "0"));
        Assert.Equal(typeError, c.CallS("BITFIELD", "bfv:k", "GET", "I8", "0"));
        Assert.Equal("-ERR Invalid OVERFLOW type specified", c.CallS("BITFIELD", "bfv:k", "OVERFLOW", "FOO"));
        Assert.Equal("-ERR syntax error", c.CallS("BITFIELD", "bfv:k", "GET", "i8"));
        Assert.Equal("*[:0]", c.CallS("BITFIELD_RO", "bfv:k", "GET", "i8", "0"));
        Assert.Equal("-ERR BITFIELD_RO only supports the GET subcommand", c.CallS("BITFIELD_RO", "bfv:k", "SET", "i8", "0", "1"));
        Assert.Equal("$nil", c.CallS("GET", "bfv:k"));
    }
}
