// Key extraction from Redis 7.0's key specs over the whole command table (implemented or not),
// as COMMAND GETKEYS and cluster routing use it.
using System.Text;
using Cinnabar.Commands;

namespace Cinnabar.Tests.Commands;

public class KeySpecsTests
{
    static readonly CommandTable Table = CommandTable.LoadDefault();

    static string? Keys(params string[] argv)
    {
        var cmd = Table.LookupAny(argv[0])!;
        var args = argv.Select(a => Encoding.UTF8.GetBytes(a)).ToList();
        var keys = KeySpecs.GetKeys(cmd, args);
        return keys == null ? null : string.Join(",", keys.Select(k => argv[k.Pos]));
    }

    [Fact]
    public void RangeSpecsWithStepAndNegativeLastKey()
    {
        Assert.Equal("a,b", Keys("mset", "a", "1", "b", "2"));
        Assert.Equal("a,b,c", Keys("del", "a", "b", "c"));
        Assert.Equal("a,b", Keys("blpop", "a", "b", "0"));
    }

    [Fact]
    public void KeynumSpecsReadTheCount()
    {
        Assert.Equal("d,a,b", Keys("zunionstore", "d", "2", "a", "b"));
        Assert.Null(Keys("zunionstore", "d", "5", "a", "b"));
        Assert.Equal("a,b", Keys("eval", "return 1", "2", "a", "b", "x"));
        Assert.Null(Keys("eval", "return 1", "0"));
        Assert.Null(Keys("lmpop", "x", "a", "left"));
    }

    [Fact]
    public void KeywordSpecsSearchForwardAndBackward()
    {
        Assert.Equal("s1,s2", Keys("xread", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"));
        Assert.Equal("k", Keys("georadiusbymember", "k", "m", "1", "km"));
        Assert.Equal("k,dst", Keys("georadiusbymember", "k", "m", "1", "km", "STORE", "dst"));
    }

    [Fact]
    public void CommandsWithIncompleteSpecsUseTheirOwnExtraction()
    {
        Assert.Equal("a,b", Keys("sort", "a", "LIMIT", "0", "1", "STORE", "b"));
        Assert.Equal("a", Keys("sort_ro", "a", "BY", "w*"));
        Assert.Equal("k1,k2", Keys("migrate", "h", "1", "", "0", "10", "KEYS", "k1", "k2"));
        Assert.Equal("key", Keys("migrate", "h", "1", "key", "0", "10"));
    }

    [Fact]
    public void VariableFlagsFollowTheArguments()
    {
        var bitfield = Table.LookupAny("bitfield")!;
        var ro = KeySpecs.GetKeys(bitfield, new[] { "bitfield", "k", "GET", "u8", "0" }.Select(Encoding.UTF8.GetBytes).ToList())!;
        Assert.Equal(KeySpecFlags.RO | KeySpecFlags.Access, ro[0].Flags);
        var rw = KeySpecs.GetKeys(bitfield, new[] { "bitfield", "k", "SET", "u8", "0", "1" }.Select(Encoding.UTF8.GetBytes).ToList())!;
        Assert.Equal(KeySpecFlags.RW | KeySpecFlags.Access | KeySpecFlags.Update, rw[0].Flags);
    }

    [Fact]
    public void NotKeySpecsAreNotKeys()
    {
        Assert.False(KeySpecs.HasKeys(Table.LookupAny("spublish")!));
        Assert.True(KeySpecs.HasKeys(Table.LookupAny("get")!));
        Assert.False(KeySpecs.HasKeys(Table.LookupAny("ping")!));
    }
}
