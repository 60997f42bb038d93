// MIGRATE between Cinnabar and redis-server 7.0.15 both ways: Cinnabar's RESTORE pipeline
// (SELECT, AUTH, REPLACE, TTL) as a real Redis receives it and the errors it sends back, and
// Redis's MIGRATE received by Cinnabar, every type arriving with its contents and TTL.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Interop;

[Collection(RedisServerCollection.Name)]
public class MigrateInteropTests(RedisServerFixture redis)
{
    /// <summary>One key of each type, "mig:{type}", built on the client.</summary>
    static void BuildKeys(RespClient c)
    {
        c.Call("SET", "mig:string", "hello");
        c.Call("RPUSH", "mig:list", "a", "b", "1", "-7");
        c.Call("SADD", "mig:set", "1", "5", "70000");
        c.Call("HSET", "mig:hash", "f1", "v1", "f2", "2");
        c.Call("ZADD", "mig:zset", "1", "a", "2.5", "b");
        c.Call("XADD", "mig:stream", "1-1", "field", "value");
        c.Call("PEXPIRE", "mig:string", "20000");
    }

    static readonly string[] Keys = ["mig:string", "mig:list", "mig:set", "mig:hash", "mig:zset", "mig:stream"];

    static string[][] Reads =>
    [
        ["GET", "mig:string"],
        ["LRANGE", "mig:list", "0", "-1"],
        ["SMEMBERS", "mig:set"],
        ["HGETALL", "mig:hash"],
        ["ZRANGE", "mig:zset", "0", "-1", "WITHSCORES"],
        ["XRANGE", "mig:stream", "-", "+"],
    ];

    static void AssertArrived(RespClient to, string[] expected)
    {
        for (int i = 0; i < Reads.Length; i++) Assert.Equal(expected[i], to.CallS(Reads[i]));
        Assert.InRange(to.Call("PTTL", "mig:string").Integer, 15000, 20000);
        Assert.Equal(-1, to.Call("PTTL", "mig:list").Integer);
    }

    [RequiresToolsFact("redis-server")]
    public void CinnabarMigratesEveryTypeToRedisServer()
    {
        using var cinnabar = new ServerFixture();
        using var c = cinnabar.Connect();
        using var r = redis.Connect();
        r.Call("SELECT", "4");
        r.Call(["DEL", .. Keys]);
        BuildKeys(c);
        var expected = Reads.Select(c.CallS).ToArray();
        Assert.Equal("+OK", c.CallS(["MIGRATE", "127.0.0.1", redis.Port.ToString(), "", "4", "5000", "KEYS", .. Keys]));
        Assert.Equal(0, c.Call(["EXISTS", .. Keys]).Integer);
        AssertArrived(r, expected);

        // Redis's own BUSYKEY comes back as the target's error; REPLACE overwrites.
        c.Call("SET", "mig:string", "again");
        Assert.Equal("-ERR Target instance replied with error: BUSYKEY Target key name already exists.",
            c.CallS("MIGRATE", "127.0.0.1", redis.Port.ToString(), "mig:string", "4", "5000"));
        Assert.Equal("+OK", c.CallS("MIGRATE", "127.0.0.1", redis.Port.ToString(), "mig:string", "4", "5000", "REPLACE"));
        Assert.Equal("again", r.Call("GET", "mig:string").Text);
        Assert.Equal(-1, r.Call("PTTL", "mig:string").Integer);
        r.Call(["DEL", .. Keys]);
    }

    [RequiresToolsFact("redis-server")]
    public void CinnabarAuthenticatesToRedisServer()
    {
        using var cinnabar = new ServerFixture();
        using var c = cinnabar.Connect();
        using var r = redis.Connect();
        r.Call("ACL", "SETUSER", "mig-user", "on", ">mig-pass", "~*", "+@all");
        try
        {
            c.Call("SET", "mig:auth", "v");
            Assert.Equal("-ERR Target instance replied with error: WRONGPASS invalid username-password pair or user is disabled.",
                c.CallS("MIGRATE", "127.0.0.1", redis.Port.ToString(), "mig:auth", "0", "5000", "AUTH2", "mig-user", "wrong"));
            // The default user needs no password here, so the RESTORE after the failed AUTH ran anyway
            // (as with Redis as the source): the key stays on this side too.
            Assert.Equal(1, c.Call("EXISTS", "mig:auth").Integer);
            r.Call("DEL", "mig:auth");
            Assert.Equal("+OK", c.CallS("MIGRATE", "127.0.0.1", redis.Port.ToString(), "mig:auth", "0", "5000", "AUTH2", "mig-user", "mig-pass"));
            Assert.Equal(0, c.Call("EXISTS", "mig:auth").Integer);
            Assert.Equal("v", r.Call("GET", "mig:auth").Text);
        }
        finally
        {
            r.Call("ACL", "DELUSER", "mig-user");
            r.Call("DEL", "mig:auth");
        }
    }

    [RequiresToolsFact("redis-server")]
    public void RedisServerMigratesEveryTypeToCinnabar()
    {
        using var cinnabar = new ServerFixture();
        using var c = cinnabar.Connect();
        using var r = redis.Connect();
        r.Call(["DEL", .. Keys]);
        BuildKeys(r);
        var expected = Reads.Select(r.CallS).ToArray();
        Assert.Equal("+OK", r.CallS(["MIGRATE", "127.0.0.1", cinnabar.Port.ToString(), "", "2", "5000", "KEYS", .. Keys]));
        Assert.Equal(0, r.Call(["EXISTS", .. Keys]).Integer);
        c.Call("SELECT", "2");
        AssertArrived(c, expected);

        // Cinnabar's BUSYKEY, and COPY leaving Redis's key in place.
        r.Call("SET", "mig:string", "again");
        Assert.Equal("-ERR Target instance replied with error: BUSYKEY Target key name already exists.",
            r.CallS("MIGRATE", "127.0.0.1", cinnabar.Port.ToString(), "mig:string", "2", "5000"));
        Assert.Equal("+OK", r.CallS("MIGRATE", "127.0.0.1", cinnabar.Port.ToString(), "mig:string", "2", "5000", "COPY", "REPLACE"));
        Assert.Equal("again", c.Call("GET", "mig:string").Text);
        Assert.Equal("again", r.Call("GET", "mig:string").Text);
        r.Call("DEL", "mig:string");
    }
}
