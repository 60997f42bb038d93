// String commands over a real connection: SET options and conflicts, expiry, counters,
// INCRBYFLOAT's long double output, ranges, LCS, and the stored encodings (checked on the
// server's own objects, on the loop thread).
using Cinnabar.Keyspace;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class StringCommandsTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void SetStoresIntEmbstrOrRawLikeRedis()
    {
        using var c = fx.Connect();
        c.Call("SET", "enc:int", "12345");
        c.Call("SET", "enc:lead0", "0123");
        c.Call("SET", "enc:emb", new string('a', 44));
        c.Call("SET", "enc:raw", new string('a', 45));
        c.Call("SET", "enc:huge", "99999999999999999999");
        Assert.Equal(ObjEncoding.Int, LoopAccess.EncodingOf(fx.Server, "enc:int"));
        Assert.Equal(ObjEncoding.EmbStr, LoopAccess.EncodingOf(fx.Server, "enc:lead0"));
        Assert.Equal(ObjEncoding.EmbStr, LoopAccess.EncodingOf(fx.Server, "enc:emb"));
        Assert.Equal(ObjEncoding.Raw, LoopAccess.EncodingOf(fx.Server, "enc:raw"));
        Assert.Equal(ObjEncoding.EmbStr, LoopAccess.EncodingOf(fx.Server, "enc:huge"));
    }

    [Fact]
    public void InPlaceOverwriteSwitchesEncodingWithTheValue()
    {
        using var c = fx.Connect();
        c.Call("SET", "ow:k", "aaaaa");
        c.Call("SET", "ow:k", "77777");
        Assert.Equal(ObjEncoding.Int, LoopAccess.EncodingOf(fx.Server, "ow:k"));
        c.Call("SET", "ow:k", "bbbbb");
        Assert.Equal(ObjEncoding.EmbStr, LoopAccess.EncodingOf(fx.Server, "ow:k"));
        Assert.Equal("\"bbbbb\"", c.CallS("GET", "ow:k"));
    }

    [Fact]
    public void AppendSetrangeMakeRawAndIncrMakesInt()
    {
        using var c = fx.Connect();
        Assert.Equal(":3", c.CallS("APPEND", "ar:k", "123"));
        Assert.Equal(ObjEncoding.Int, LoopAccess.EncodingOf(fx.Server, "ar:k"));
        Assert.Equal(":4", c.CallS("APPEND", "ar:k", "4"));
        Assert.Equal(ObjEncoding.Raw, LoopAccess.EncodingOf(fx.Server, "ar:k"));
        Assert.Equal(":1235", c.CallS("INCR", "ar:k"));
        Assert.Equal(ObjEncoding.Int, LoopAccess.EncodingOf(fx.Server, "ar:k"));
        Assert.Equal(":4", c.CallS("SETRANGE", "ar:k", "0", "9"));
        Assert.Equal(ObjEncoding.Raw, LoopAccess.EncodingOf(fx.Server, "ar:k"));
        Assert.Equal("\"9235\"", c.CallS("GET", "ar:k"));
        c.Call("INCRBYFLOAT", "ar:f", "1.5");
        Assert.Equal(ObjEncoding.EmbStr, LoopAccess.EncodingOf(fx.Server, "ar:f"));
    }

    [Fact]
    public void SetOptionConflictsAreSyntaxErrors()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR syntax error", c.CallS("SET", "so:k", "v", "NX", "XX"));
        Assert.Equal("-ERR syntax error", c.CallS("SET", "so:k", "v", "EX", "10", "PX", "100"));
        Assert.Equal("-ERR syntax error", c.CallS("SET", "so:k", "v", "KEEPTTL", "EX", "10"));
        Assert.Equal("-ERR syntax error", c.CallS("SET", "so:k", "v", "PERSIST"));
        Assert.Equal("-ERR syntax error", c.CallS("SET", "so:k", "v", "EX"));
        Assert.Equal("+OK", c.CallS("SET", "so:k", "v", "EX", "10", "EX", "100"));
        long deadline = LoopAccess.Run(fx.Server, () => fx.Server.Databases[0].GetExpire("so:k"u8));
        Assert.InRange(deadline - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 90_000, 100_000);
    }

    [Fact]
    public void SetExpireValuesAreValidated()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR invalid expire time in 'set' command", c.CallS("SET", "se:k", "v", "EX", "0"));
        Assert.Equal("-ERR invalid expire time in 'set' command", c.CallS("SET", "se:k", "v", "PX", "-1"));
        Assert.Equal("-ERR invalid expire time in 'set' command", c.CallS("SET", "se:k", "v", "EX", "9223372036854775"));
        Assert.Equal("-ERR invalid expire time in 'set' command", c.CallS("SET", "se:k", "v", "PX", "9223372036854775807"));
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("SET", "se:k", "v", "EX", "1.5"));
        Assert.Equal("-ERR invalid expire time in 'setex' command", c.CallS("SETEX", "se:k", "0", "v"));
        Assert.Equal("$nil", c.CallS("GETEX", "se:missing", "EX", "0"));
        c.Call("SET", "se:k", "v");
        Assert.Equal("-ERR invalid expire time in 'getex' command", c.CallS("GETEX", "se:k", "EX", "0"));
    }

    [Fact]
    public void SetNxXxAndGetCombine()
    {
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("SET", "sg:k", "1", "NX"));
        Assert.Equal("$nil", c.CallS("SET", "sg:k", "2", "NX"));
        Assert.Equal("\"1\"", c.CallS("SET", "sg:k", "3", "NX", "GET"));
        Assert.Equal("\"1\"", c.CallS("SET", "sg:k", "4", "XX", "GET"));
        Assert.Equal("$nil", c.CallS("SET", "sg:missing", "v", "XX"));
        Assert.Equal("$nil", c.CallS("SET", "sg:new", "v", "GET"));
        Assert.Equal("\"v\"", c.CallS("GET", "sg:new"));
        Assert.Equal(":1", c.CallS("SETNX", "sg:nx", "a"));
        Assert.Equal(":0", c.CallS("SETNX", "sg:nx", "b"));
    }

    [Fact]
    public void SetPxExpiresTheKey()
    {
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("SET", "px:k", "v", "PX", "50"));
        Assert.Equal("\"v\"", c.CallS("GET", "px:k"));
        Thread.Sleep(150);
        Assert.Equal("$nil", c.CallS("GET", "px:k"));
        Assert.Equal("+OK", c.CallS("SET", "px:past", "v", "PXAT", "1000"));
        Assert.Equal("$nil", c.CallS("GET", "px:past"));
    }

    [Fact]
    public void GetexSetsAndRemovesTheDeadline()
    {
        using var c = fx.Connect();
        c.Call("SET", "gx:k", "v");
        Assert.Equal("\"v\"", c.CallS("GETEX", "gx:k", "PX", "60000"));
        Assert.True(LoopAccess.Run(fx.Server, () => fx.Server.Databases[0].GetExpire("gx:k"u8) > 0));
        Assert.Equal("\"v\"", c.CallS("GETEX", "gx:k", "PERSIST"));
        Assert.Equal(-1, LoopAccess.Run(fx.Server, () => fx.Server.Databases[0].GetExpire("gx:k"u8)));
        Assert.Equal("-ERR syntax error", c.CallS("GETEX", "gx:k", "PERSIST", "EX", "10"));
        Assert.Equal("\"v\"", c.CallS("GETEX", "gx:k", "EXAT", "1"));
        Assert.Equal("$nil", c.CallS("GET", "gx:k"));
    }

    [Fact]
    public void CountersReportOverflowAndNonIntegers()
    {
        using var c = fx.Connect();
        Assert.Equal(":1", c.CallS("INCR", "ct:k"));
        Assert.Equal(":11", c.CallS("INCRBY", "ct:k", "10"));
        Assert.Equal(":6", c.CallS("DECRBY", "ct:k", "5"));
        Assert.Equal("-ERR decrement would overflow", c.CallS("DECRBY", "ct:k", "-9223372036854775808"));
        c.Call("SET", "ct:max", "9223372036854775807");
        Assert.Equal("-ERR increment or decrement would overflow", c.CallS("INCR", "ct:max"));
        c.Call("SET", "ct:s", "abc");
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("INCR", "ct:s"));
        c.Call("SET", "ct:ttl", "1", "EX", "100");
        c.Call("INCR", "ct:ttl");
        Assert.True(LoopAccess.Run(fx.Server, () => fx.Server.Databases[0].GetExpire("ct:ttl"u8) > 0));
    }

    [Theory]
    [InlineData("1000.1", "1000.09999999999999998")]
    [InlineData("10.5", "10.5")]
    [InlineData("5.0e3", "5000")]
    [InlineData("0x10", "16")]
    [InlineData("123456.7", "123456.70000000000000284")]
    public void IncrByFloatPrintsLongDoubleDigits(string incr, string expected)
    {
        using var c = fx.Connect();
        string key = "fl:" + incr;
        Assert.Equal("\"" + expected + "\"", c.CallS("INCRBYFLOAT", key, incr));
    }

    [Fact]
    public void IncrByFloatRejectsBadInputAndInfinity()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR value is not a valid float", c.CallS("INCRBYFLOAT", "flb:k", "abc"));
        Assert.Equal("-ERR value is not a valid float", c.CallS("INCRBYFLOAT", "flb:k", " 1"));
        Assert.Equal("-ERR increment would produce NaN or Infinity", c.CallS("INCRBYFLOAT", "flb:k", "inf"));
        c.Call("SET", "flb:s", "x");
        Assert.Equal("-ERR value is not a valid float", c.CallS("INCRBYFLOAT", "flb:s", "1"));
    }

    [Fact]
    public void RangesFollowRedisClamping()
    {
        using var c = fx.Connect();
        c.Call("SET", "rg:k", "Hello World");
        Assert.Equal("\"Hello\"", c.CallS("GETRANGE", "rg:k", "0", "4"));
        Assert.Equal("\"World\"", c.CallS("GETRANGE", "rg:k", "-5", "-1"));
        Assert.Equal("\"H\"", c.CallS("GETRANGE", "rg:k", "0", "-100"));
        Assert.Equal("\"\"", c.CallS("GETRANGE", "rg:k", "-1", "-5"));
        Assert.Equal(":10", c.CallS("SETRANGE", "rg:new", "5", "hello"));
        Assert.Equal("\"\\x00\\x00\\x00\\x00\\x00hello\"", c.CallS("GET", "rg:new"));
        Assert.Equal("-ERR offset is out of range", c.CallS("SETRANGE", "rg:new", "-1", "x"));
        Assert.Equal("-ERR string exceeds maximum allowed size (proto-max-bulk-len)", c.CallS("SETRANGE", "rg:new", "536870912", "x"));
    }

    [Fact]
    public void MsetAndMsetnx()
    {
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("MSET", "ms:a", "1", "ms:b", "2"));
        Assert.Equal("-ERR wrong number of arguments for 'mset' command", c.CallS("MSET", "ms:a", "1", "ms:b"));
        Assert.Equal(":0", c.CallS("MSETNX", "ms:a", "x", "ms:c", "y"));
        Assert.Equal("*[\"1\", \"2\", $nil]", c.CallS("MGET", "ms:a", "ms:b", "ms:c"));
        Assert.Equal(":1", c.CallS("MSETNX", "ms:c", "y", "ms:d", "z"));
    }

    [Fact]
    public void LcsIdxListsMatchesLastFirst()
    {
        using var c = fx.Connect();
        c.Call("SET", "lcs:a", "ohmytext");
        c.Call("SET", "lcs:b", "mynewtext");
        Assert.Equal("\"mytext\"", c.CallS("LCS", "lcs:a", "lcs:b"));
        Assert.Equal(":6", c.CallS("LCS", "lcs:a", "lcs:b", "LEN"));
        Assert.Equal("*[\"matches\", *[*[*[:4, :7], *[:5, :8]], *[*[:2, :3], *[:0, :1]]], \"len\", :6]",
            c.CallS("LCS", "lcs:a", "lcs:b", "IDX"));
        Assert.Equal("*[\"matches\", *[*[*[:4, :7], *[:5, :8], :4]], \"len\", :6]",
            c.CallS("LCS", "lcs:a", "lcs:b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"));
        Assert.Equal("-ERR If you want both the length and indexes, please just use IDX.", c.CallS("LCS", "lcs:a", "lcs:b", "IDX", "LEN"));
    }

    [Fact]
    public void WrongTypeIsReported()
    {
        using var c = fx.Connect();
        LoopAccess.Run(fx.Server, () =>
        {
            fx.Server.Databases[0].SetKey("wt:list"u8, new RedisObject(ObjType.List, ObjEncoding.QuickList, null));
            return 0;
        });
        const string wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value";
        Assert.Equal(wrongType, c.CallS("GET", "wt:list"));
        Assert.Equal(wrongType, c.CallS("INCR", "wt:list"));
        Assert.Equal(wrongType, c.CallS("APPEND", "wt:list", "x"));
        Assert.Equal(wrongType, c.CallS("SET", "wt:list", "x", "GET"));
        Assert.Equal("*[$nil]", c.CallS("MGET", "wt:list"));
        Assert.Equal("-ERR The specified keys must contain string values", c.CallS("LCS", "wt:list", "x"));
    }
}
