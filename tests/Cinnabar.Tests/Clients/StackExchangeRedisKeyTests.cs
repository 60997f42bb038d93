// The keyspace through StackExchange.Redis: existence, type, rename, copy, dump/restore, object
// encodings, and expiry (relative and absolute, Redis 7.0's EXPIRE options, GETEX, KEEPTTL, and
// a key that expires while the client waits), on Cinnabar and redis-server 7.0.15 alike.
using System.Diagnostics;
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisKeyTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    [RequiresToolsTheory("redis-server"), Targets]
    public void Keys_exist_rename_copy_and_delete(Target target)
    {
        var db = targets.EmptyDatabase(target);
        db.StringSet("s", "v");
        db.ListRightPush("l", "x");
        db.HashSet("h", "f", "v");
        Assert.Equal(2, db.KeyExists(["s", "l", "missing"]));
        Assert.Equal(RedisType.String, db.KeyType("s"));
        Assert.Equal(RedisType.List, db.KeyType("l"));
        Assert.Equal(RedisType.Hash, db.KeyType("h"));
        Assert.Equal(RedisType.None, db.KeyType("missing"));

        Assert.True(db.KeyRename("s", "s2"));
        Assert.False(db.KeyRename("l", "s2", When.NotExists));
        Assert.True(db.KeyCopy("s2", "s3"));
        Assert.False(db.KeyCopy("s2", "s3"));
        Assert.True(db.KeyCopy("s2", "s3", replace: true));
        Assert.Equal("v", db.StringGet("s3"));
        Assert.Equal(1, db.KeyTouch(["s3", "missing"]));
        Assert.Equal(3, db.KeyDelete(["s2", "s3", "l", "missing"]));
        Assert.Equal("h", db.KeyRandom());
        var ex = Assert.Throws<RedisServerException>(() => db.KeyRename("missing", "other"));
        Assert.Equal("ERR no such key", ex.Message);
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Object_encodings_follow_the_value(Target target)
    {
        // Redis 7.0's encodings: lists are quicklists and sets of strings hashtables at any size.
        var db = targets.EmptyDatabase(target);
        db.StringSet("int", 12345);
        db.StringSet("short", "hello");
        db.StringSet("long", new string('x', 100));
        db.ListRightPush("list", ["a", "b"]);
        db.SetAdd("intset", [1, 2, 3]);
        db.SetAdd("strset", ["a", "b"]);
        db.HashSet("hash", "f", "v");
        db.SortedSetAdd("zset", "m", 1);
        db.SortedSetAdd("bigzset", [.. Enumerable.Range(0, 200).Select(i => new SortedSetEntry("member" + i, i))]);
        Assert.Equal(
            ["int", "embstr", "raw", "quicklist", "intset", "hashtable", "listpack", "listpack", "skiplist"],
            new RedisKey[] { "int", "short", "long", "list", "intset", "strset", "hash", "zset", "bigzset" }.Select(k => db.KeyEncoding(k)));
        Assert.Null(db.KeyEncoding("missing"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Dump_and_restore_round_trip_a_value(Target target)
    {
        var db = targets.EmptyDatabase(target);
        db.SortedSetAdd("z", [new("a", 1), new("b", 2)]);
        var payload = db.KeyDump("z");
        Assert.NotNull(payload);
        db.KeyRestore("z2", payload, TimeSpan.FromMinutes(1));
        Assert.Equal([("a", 1.0), ("b", 2.0)], db.SortedSetRangeByRankWithScores("z2").Select(e => ((string)e.Element!, e.Score)));
        Assert.InRange(db.KeyTimeToLive("z2")!.Value.TotalSeconds, 50, 60);
        var ex = Assert.Throws<RedisServerException>(() => db.KeyRestore("z2", payload));
        Assert.Equal("BUSYKEY Target key name already exists.", ex.Message);
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Expiry_is_set_read_and_cleared(Target target)
    {
        var db = targets.EmptyDatabase(target);
        Assert.True(db.StringSet("k", "v", TimeSpan.FromSeconds(100)));
        Assert.InRange(db.KeyTimeToLive("k")!.Value.TotalSeconds, 90, 100);
        var at = DateTime.UtcNow.AddHours(1);
        Assert.True(db.KeyExpire("k", at));
        Assert.InRange((db.KeyExpireTime("k")!.Value - at).Duration().TotalSeconds, 0, 2);

        // Redis 7.0's EXPIRE NX/XX/GT/LT
        Assert.False(db.KeyExpire("k", TimeSpan.FromSeconds(10), ExpireWhen.HasNoExpiry));
        Assert.False(db.KeyExpire("k", TimeSpan.FromHours(5), ExpireWhen.LessThanCurrentExpiry));
        Assert.True(db.KeyExpire("k", TimeSpan.FromHours(5), ExpireWhen.GreaterThanCurrentExpiry));
        Assert.InRange(db.KeyTimeToLive("k")!.Value.TotalHours, 4.9, 5);

        Assert.True(db.StringSet("k", "v2", null, keepTtl: true));
        Assert.InRange(db.KeyTimeToLive("k")!.Value.TotalHours, 4.9, 5);
        Assert.True(db.KeyPersist("k"));
        Assert.Null(db.KeyTimeToLive("k"));
        Assert.Null(db.KeyExpireTime("k"));
        Assert.False(db.KeyPersist("k"));
        Assert.True(db.KeyExpire("k", TimeSpan.FromSeconds(30), ExpireWhen.HasNoExpiry));

        Assert.Equal("v2", db.StringGetSetExpiry("k", TimeSpan.FromSeconds(200)));
        Assert.InRange(db.KeyTimeToLive("k")!.Value.TotalSeconds, 190, 200);
        Assert.Equal("v2", db.StringGetSetExpiry("k", null));
        Assert.Null(db.KeyTimeToLive("k"));
        Assert.False(db.KeyExpire("missing", TimeSpan.FromSeconds(1)));
        Assert.Null(db.KeyTimeToLive("missing"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void A_key_expires_while_the_client_waits(Target target)
    {
        var db = targets.EmptyDatabase(target);
        db.StringSet("short-lived", "v", TimeSpan.FromMilliseconds(100));
        db.StringSet("kept", "v");
        Assert.Equal("v", db.StringGet("short-lived"));
        var sw = Stopwatch.StartNew();
        while (db.KeyExists("short-lived") && sw.Elapsed < TimeSpan.FromSeconds(5)) Thread.Sleep(20);
        Assert.False(db.KeyExists("short-lived"));
        Assert.True(db.StringGet("short-lived").IsNull);
        Assert.Equal(1, targets.Server(target).DatabaseSize());
    }
}
