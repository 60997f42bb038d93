// Files written by older Redis versions (ziplist and zipmap encodings, RDB types 9, 10, 12, 13
// and 14) load as Redis 7.0 loads them, converted to listpacks or, past the thresholds, to
// hashtables and skiplists. The files and the expected contents are Redis 7.0.15's own
// (tests/integration/rdb.tcl, convert-zipmap-hash-on-load.tcl, convert-ziplist-*-on-load.tcl).
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Persistence;

public sealed class LegacyRdbLoadTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "cinnabar-legacy-rdb-" + Guid.NewGuid().ToString("N"));

    public LegacyRdbLoadTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException) { }
    }

    ServerFixture Load(string file, params (string Name, string Value)[] config)
    {
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Persistence", "Assets", file), Path.Combine(_dir, file), overwrite: true);
        return new ServerFixture(cfg =>
        {
            cfg.Dir = _dir;
            cfg.Set("dbfilename", file, startup: true);
            foreach (var (name, value) in config) cfg.Set(name, value, startup: true);
        });
    }

    static string Items(RespReply r) => string.Join(",", r.Items!.Select(i => i.Text));

    [Fact]
    public void The_encodings_file_of_Redis_4_loads_with_every_value()
    {
        using var f = Load("encodings.rdb");
        using var c = f.Connect();
        Assert.Equal("1,2,3,a,b,c,100000,6000000000", Items(c.Call("LRANGE", "list_zipped", "0", "-1")));
        Assert.Equal(24, c.Call("LLEN", "list").Integer);
        Assert.Equal("a,1,b,2,c,3", Items(c.Call("HGETALL", "hash_zipped")));
        Assert.Equal("5000000000", c.Call("HGET", "hash", "eee").Text);
        Assert.Equal("a,1,b,2,c,3", Items(c.Call("ZRANGE", "zset_zipped", "0", "-1", "WITHSCORES")));
        Assert.Equal("5000000000", c.Call("ZSCORE", "zset", "bbbb").Text);
        Assert.Equal("1,2,3,4", Items(c.Call("SORT", "set_zipped_1")));
        Assert.Equal("Hello World", c.Call("GET", "string").Text);
        Assert.Equal("10", c.Call("GET", "number").Text);
        Assert.Equal("listpack", c.Call("OBJECT", "ENCODING", "hash_zipped").Text);
        Assert.Equal("listpack", c.Call("OBJECT", "ENCODING", "zset_zipped").Text);
        Assert.Equal("quicklist", c.Call("OBJECT", "ENCODING", "list_zipped").Text);
    }

    [Fact]
    public void A_quicklist_of_ziplists_loads_as_a_quicklist()
    {
        using var f = Load("list-quicklist.rdb");
        using var c = f.Connect();
        Assert.Equal("7", c.Call("GET", "x").Text);
        Assert.Equal("7", c.Call("LPOP", "list").Text);
    }

    [Theory]
    [InlineData("hash-zipmap.rdb", "", "", "listpack")]
    [InlineData("hash-zipmap.rdb", "hash-max-ziplist-entries", "1", "hashtable")]
    [InlineData("hash-zipmap.rdb", "hash-max-ziplist-value", "1", "hashtable")]
    [InlineData("hash-ziplist.rdb", "", "", "listpack")]
    [InlineData("hash-ziplist.rdb", "hash-max-ziplist-entries", "1", "hashtable")]
    public void Zipmap_and_ziplist_hashes_convert_as_the_thresholds_say(string file, string name, string value, string encoding)
    {
        using var f = name == "" ? Load(file) : Load(file, (name, value));
        using var c = f.Connect();
        Assert.Equal(encoding, c.Call("OBJECT", "ENCODING", "hash").Text);
        Assert.Equal(2, c.Call("HLEN", "hash").Integer);
        Assert.Equal("v1,v2", Items(c.Call("HMGET", "hash", "f1", "f2")));
    }

    [Theory]
    [InlineData("", "", "listpack")]
    [InlineData("zset-max-ziplist-entries", "1", "skiplist")]
    public void A_ziplist_zset_converts_as_the_thresholds_say(string name, string value, string encoding)
    {
        using var f = name == "" ? Load("zset-ziplist.rdb") : Load("zset-ziplist.rdb", (name, value));
        using var c = f.Connect();
        Assert.Equal(encoding, c.Call("OBJECT", "ENCODING", "zset").Text);
        Assert.Equal(2, c.Call("ZCARD", "zset").Integer);
        Assert.Equal("one,1,two,2", Items(c.Call("ZRANGE", "zset", "0", "-1", "WITHSCORES")));
    }
}
