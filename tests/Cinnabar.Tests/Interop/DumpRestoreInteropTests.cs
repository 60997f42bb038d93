// DUMP payloads move between redis-server 7.0.15 and Cinnabar both ways: every type and
// encoding restores with the same contents and encoding, and for encodings with a deterministic
// layout (all but hashtable sets and hashes, whose dict order differs) the DUMP bytes are equal,
// lists with plain and compressed quicklist nodes included.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Interop;

[Collection(RedisServerCollection.Name)]
public class DumpRestoreInteropTests(RedisServerFixture redis)
{
    static string Repeat(string s, int n) => string.Concat(Enumerable.Repeat(s, n));

    static string[] Cmd(params string[] head) => head;

    static string[] With(string[] head, IEnumerable<string> tail) => [.. head, .. tail];

    // name → (commands that build the key "k", a read that shows its contents, deterministic layout)
    public static TheoryData<string> Cases => new(CaseTable.Keys);

    static readonly Dictionary<string, (string[][] Setup, string[] Read, bool Deterministic)> CaseTable = new()
    {
        ["string-embstr"] = ([Cmd("SET", "k", "hello")], Cmd("GET", "k"), true),
        ["string-int8"] = ([Cmd("SET", "k", "-12")], Cmd("GET", "k"), true),
        ["string-int16"] = ([Cmd("SET", "k", "30000")], Cmd("GET", "k"), true),
        ["string-int32"] = ([Cmd("SET", "k", "-2000000000")], Cmd("GET", "k"), true),
        ["string-int64"] = ([Cmd("SET", "k", "5000000000")], Cmd("GET", "k"), true),
        ["string-not-canonical"] = ([Cmd("SET", "k", "007")], Cmd("GET", "k"), true),
        ["string-lzf"] = ([Cmd("SET", "k", Repeat("abcd", 50))], Cmd("GET", "k"), true),
        ["string-incompressible"] = ([Cmd("SET", "k", "qwertyuiopasdfghjklzxcvbnm1234567890")], Cmd("GET", "k"), true),
        ["string-binary"] = ([Cmd("SET", "k", "\0\x01\xff\r\n")], Cmd("GET", "k"), true),
        ["list-one-node"] = ([Cmd("RPUSH", "k", "a", "b", "1", "-7", "99999999999")], Cmd("LRANGE", "k", "0", "-1"), true),
        ["list-many-nodes"] = ([With(Cmd("RPUSH", "k"), Enumerable.Range(0, 3000).Select(i => "element-" + i))], Cmd("LRANGE", "k", "0", "-1"), true),
        ["list-large-elements"] = ([Cmd("RPUSH", "k", Repeat("y", 10000), Repeat("z", 9000), "small")], Cmd("LRANGE", "k", "0", "-1"), true),
        ["set-intset"] = ([Cmd("SADD", "k", "1", "-5", "70000", "5000000000")], Cmd("SMEMBERS", "k"), true),
        ["set-hashtable"] = ([With(Cmd("SADD", "k"), Enumerable.Range(0, 100).Select(i => "m" + i))], Cmd("SMEMBERS", "k"), false),
        ["set-hashtable-of-ints"] = ([With(Cmd("SADD", "k"), Enumerable.Range(0, 600).Select(i => i.ToString()))], Cmd("SMEMBERS", "k"), false),
        ["hash-listpack"] = ([Cmd("HSET", "k", "f1", "v1", "f2", "2", "f3", Repeat("x", 30))], Cmd("HGETALL", "k"), true),
        ["hash-hashtable"] = ([Cmd("HSET", "k", "f", Repeat("q", 100), "g", "1")], Cmd("HGETALL", "k"), false),
        ["zset-listpack"] = ([Cmd("ZADD", "k", "1", "a", "2.5", "b", "-inf", "c", "1e300", "d")], Cmd("ZRANGE", "k", "0", "-1", "WITHSCORES"), true),
        ["zset-skiplist"] = ([With(Cmd("ZADD", "k"), Enumerable.Range(0, 200).SelectMany(i => new[] { (i * 1.5).ToString(System.Globalization.CultureInfo.InvariantCulture), "member" + i }))], Cmd("ZRANGE", "k", "0", "-1", "WITHSCORES"), true),
        ["zset-skiplist-long-member"] = ([Cmd("ZADD", "k", "1", "a", "2", Repeat("x", 100))], Cmd("ZRANGE", "k", "0", "-1", "WITHSCORES"), true),
    };

    static string Sorted(RespReply r, string[] read) =>
        read[0] == "SMEMBERS" || read[0] == "HGETALL" ? string.Join(",", r.Items!.Select(i => i.Text).Order(StringComparer.Ordinal)) : r.ToString();

    static void Build(RespClient client, string name)
    {
        client.Call("DEL", "k");
        foreach (var cmd in CaseTable[name].Setup) Assert.False(client.Call(cmd).IsError);
    }

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(Cases))]
    public void RedisPayloadRestoresInCinnabarWithTheSameContentsAndEncoding(string name)
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        var (_, read, deterministic) = CaseTable[name];
        Build(r, name);
        var payload = r.Call("DUMP", "k");
        Assert.Equal("OK", c.Call("RESTORE", "k", "0", payload.Text!).Text);
        Assert.Equal(Sorted(r.Call(read), read), Sorted(c.Call(read), read));
        Assert.Equal(r.CallS("OBJECT", "ENCODING", "k"), c.CallS("OBJECT", "ENCODING", "k"));
        if (deterministic) Assert.Equal(payload.Text, c.Call("DUMP", "k").Text);
        r.Call("DEL", "k");
    }

    [RequiresToolsTheory("redis-server")]
    [MemberData(nameof(Cases))]
    public void CinnabarPayloadRestoresInRedisWithTheSameContentsAndEncoding(string name)
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        var (_, read, deterministic) = CaseTable[name];
        Build(c, name);
        var payload = c.Call("DUMP", "k");
        r.Call("DEL", "k");
        Assert.Equal("OK", r.Call("RESTORE", "k", "0", payload.Text!).Text);
        Assert.Equal(Sorted(c.Call(read), read), Sorted(r.Call(read), read));
        Assert.Equal(c.CallS("OBJECT", "ENCODING", "k"), r.CallS("OBJECT", "ENCODING", "k"));
        if (deterministic)
        {
            Build(r, name);
            Assert.Equal(r.Call("DUMP", "k").Text, payload.Text);
        }
        r.Call("DEL", "k");
    }

    [RequiresToolsFact("redis-server")]
    public void CompressedQuicklistNodesDumpIdenticallyAndRestoreBothWays()
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        string old = r.Call("CONFIG", "GET", "list-compress-depth").Items![1].Text!;
        try
        {
            r.Call("CONFIG", "SET", "list-compress-depth", "1");
            c.Call("CONFIG", "SET", "list-compress-depth", "1");
            var push = With(Cmd("RPUSH", "k"), Enumerable.Range(0, 5000).Select(i => "element-" + i)).ToArray();
            r.Call("DEL", "k");
            r.Call(push);
            c.Call(push);
            var payload = r.Call("DUMP", "k").Text!;
            Assert.Equal(payload, c.Call("DUMP", "k").Text);
            c.Call("DEL", "k");
            Assert.Equal("OK", c.Call("RESTORE", "k", "0", payload).Text);
            Assert.Equal(r.Call("LRANGE", "k", "0", "-1").ToString(), c.Call("LRANGE", "k", "0", "-1").ToString());
            Assert.Equal(payload, c.Call("DUMP", "k").Text);
        }
        finally
        {
            r.Call("CONFIG", "SET", "list-compress-depth", old);
            r.Call("DEL", "k");
        }
    }

    // Plain nodes next to packed ones, made by pushes, LSET both ways and LINSERT (splitting a
    // node), with inner nodes raw and compressed: the same commands give the same DUMP bytes, and
    // each side's payload restores in the other to the same bytes.
    [RequiresToolsTheory("redis-server")]
    [InlineData(0)]
    [InlineData(1)]
    public void PlainQuicklistNodesDumpIdenticallyAndRestoreBothWays(int compressDepth)
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        string old = r.Call("CONFIG", "GET", "list-compress-depth").Items![1].Text!;
        string[][] script =
        [
            With(Cmd("RPUSH", "k"), Enumerable.Range(0, 40).Select(i => i % 7 == 3 ? Repeat("plain" + i, 30) : "e" + i)),
            Cmd("LSET", "k", "5", Repeat("P", 120)),
            Cmd("LSET", "k", "3", "small"),
            Cmd("LSET", "k", "-1", Repeat("Q", 150)),
            Cmd("LSET", "k", "10", Repeat("R", 200)),
            Cmd("LINSERT", "k", "BEFORE", "e20", Repeat("S", 110)),
            Cmd("LINSERT", "k", "AFTER", "e21", "tiny"),
            Cmd("LPUSH", "k", Repeat("T", 300), "head"),
            Cmd("LREM", "k", "1", "e30"),
            Cmd("LTRIM", "k", "1", "-2"),
            Cmd("LMOVE", "k", "k", "RIGHT", "LEFT"),
        ];
        try
        {
            foreach (var side in new[] { r, c })
            {
                side.Call("CONFIG", "SET", "list-compress-depth", compressDepth.ToString(System.Globalization.CultureInfo.InvariantCulture));
                side.Call("DEL", "k");
                Assert.Equal("+OK", side.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100b"));
                try
                {
                    foreach (var cmd in script) Assert.False(side.Call(cmd).IsError, string.Join(" ", cmd.Take(3)));
                }
                finally
                {
                    side.Call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0");
                }
            }
            var payload = r.Call("DUMP", "k").Text!;
            Assert.Equal(r.Call("LRANGE", "k", "0", "-1").ToString(), c.Call("LRANGE", "k", "0", "-1").ToString());
            Assert.Equal(payload, c.Call("DUMP", "k").Text);
            Assert.Equal(r.CallS("DEBUG", "DIGEST-VALUE", "k"), c.CallS("DEBUG", "DIGEST-VALUE", "k"));
            c.Call("DEL", "k2");
            Assert.Equal("OK", c.Call("RESTORE", "k2", "0", payload).Text);
            Assert.Equal(payload, c.Call("DUMP", "k2").Text);
            r.Call("DEL", "k2");
            Assert.Equal("OK", r.Call("RESTORE", "k2", "0", c.Call("DUMP", "k").Text!).Text);
            Assert.Equal(payload, r.Call("DUMP", "k2").Text);
        }
        finally
        {
            r.Call("CONFIG", "SET", "list-compress-depth", old);
            r.Call("DEL", "k", "k2");
        }
    }

    [RequiresToolsFact("redis-server")]
    public void ListpackHashBeyondTheConfiguredLimitConvertsOnRestoreAsInRedis()
    {
        using var cinnabar = new ServerFixture();
        using var r = redis.Connect();
        using var c = cinnabar.Connect();
        r.Call("DEL", "k");
        r.Call("HSET", "k", "a", "1", "b", "2", "c", "3");
        var payload = r.Call("DUMP", "k").Text!;
        c.Call("CONFIG", "SET", "hash-max-listpack-entries", "2");
        Assert.Equal("OK", c.Call("RESTORE", "k", "0", payload).Text);
        Assert.Equal("hashtable", c.Call("OBJECT", "ENCODING", "k").Text);
        Assert.Equal(3, c.Call("HLEN", "k").Integer);
        r.Call("DEL", "k");
    }
}
