// RESP3 through StackExchange.Redis (Protocol = RedisProtocol.Resp3): HELLO 3 is negotiated,
// typed replies (maps, sets, doubles, nulls, booleans) reach the client as those types and still
// convert to the values an application reads, and Pub/Sub pushes share the interactive
// connection with ordinary replies. The reply types are compared with redis-server's.
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisResp3Tests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    ConnectionMultiplexer ConnectResp3(Target target, bool sharedSubscription = false) =>
        targets.Connect(target, o =>
        {
            o.Protocol = RedisProtocol.Resp3;
            o.SharedSubscriptionConnection = sharedSubscription;
            o.ClientName = "resp3-client";
        });

    [RequiresToolsTheory("redis-server"), Targets]
    public void Resp3_is_negotiated_and_values_read_as_under_resp2(Target target)
    {
        targets.EmptyDatabase(target);
        using var conn = ConnectResp3(target);
        var server = conn.GetServer("127.0.0.1", targets.Port(target));
        Assert.Equal(RedisProtocol.Resp3, server.Protocol);
        var entry = server.ClientList().Single(c => c.Name == "resp3-client" && c.ClientType == ClientType.Normal);
        Assert.Equal(RedisProtocol.Resp3, entry.Protocol);

        var db = conn.GetDatabase();
        db.HashSet("h", [new("a", "1"), new("b", "2")]);
        db.SortedSetAdd("z", [new("x", 1.5), new("y", 2)]);
        db.SetAdd("s", ["p", "q"]);
        Assert.Equal([("a", "1"), ("b", "2")], db.HashGetAll("h").Select(e => ((string)e.Name!, (string)e.Value!)).Order());
        Assert.Equal(1.5, db.SortedSetScore("z", "x"));
        Assert.Equal([("x", 1.5), ("y", 2.0)], db.SortedSetRangeByRankWithScores("z").Select(e => ((string)e.Element!, e.Score)));
        Assert.Equal(["p", "q"], db.SetMembers("s").Select(v => (string)v!).Order());
        Assert.True(db.StringGet("missing").IsNull);
        Assert.Null(db.SortedSetScore("z", "missing"));
    }

    static readonly string[][] TypedCommands =
    [
        ["HGETALL", "h"],
        ["SMEMBERS", "s"],
        ["ZSCORE", "z", "x"],
        ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        ["ZPOPMIN", "z2"],
        ["GET", "missing"],
        ["HGET", "h", "missing"],
        ["EXISTS", "h"],
        ["CONFIG", "GET", "hz"],
        ["XINFO", "STREAM", "st"],
        ["XRANGE", "st", "-", "+"],
        ["EVAL", "redis.setresp(3); return redis.call('HGETALL', KEYS[1])", "1", "h"],
        ["EVAL", "return {double=3.5}", "0"],
        ["EVAL", "redis.setresp(3); return redis.call('ZSCORE', KEYS[1], 'x')", "1", "z"],
    ];

    static string Describe(RedisResult r) => r.Resp3Type switch
    {
        ResultType.Array or ResultType.Map or ResultType.Set => $"{r.Resp3Type}[{string.Join(", ", ((RedisResult[])r!).Select(Describe))}]",
        ResultType.Null => "Null",
        _ => $"{r.Resp3Type}:{r}",
    };

    [RequiresToolsFact("redis-server")]
    public void Reply_types_match_redis_servers()
    {
        var described = new[] { Target.Cinnabar, Target.Redis }.Select(target =>
        {
            targets.EmptyDatabase(target);
            using var conn = ConnectResp3(target);
            var db = conn.GetDatabase();
            db.HashSet("h", [new("a", "1")]);
            db.SetAdd("s", "p");
            db.SortedSetAdd("z", [new("x", 1.5)]);
            db.SortedSetAdd("z2", [new("m", 3)]);
            db.StreamAdd("st", "f", "v", "1-1");
            return TypedCommands.Select(c => string.Join(" ", c) + " -> " + Describe(db.Execute(c[0], c[1..]))).ToArray();
        }).ToArray();
        Assert.Equal(described[1], described[0]);
        Assert.Contains("HGETALL h -> Map[BulkString:a, BulkString:1]", described[0]);
        Assert.Contains("ZSCORE z x -> Double:1.5", described[0]);
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task Pushes_and_replies_share_one_connection(Target target)
    {
        targets.EmptyDatabase(target);
        using var conn = ConnectResp3(target, sharedSubscription: true);
        var queue = await conn.GetSubscriber().SubscribeAsync(RedisChannel.Literal("resp3-news"));
        var db = conn.GetDatabase();
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(1, await conn.GetSubscriber().PublishAsync(RedisChannel.Literal("resp3-news"), "m" + i));
            Assert.Equal(i + 1, await db.StringIncrementAsync("resp3-count"));
        }
        for (int i = 0; i < 20; i++)
        {
            var message = await queue.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal("m" + i, message.Message);
        }
        Assert.Single(conn.GetServer("127.0.0.1", targets.Port(target)).ClientList(), c => c.Name == "resp3-client");
    }
}
