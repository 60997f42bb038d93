// What an application's tests do against Redis, here against an embedded Cinnabar: strings
// with expiry, a hash, a Lua script (Lua's native library comes with the package), the
// configuration given at start, and a second server of its own for a test that must not share.
using Cinnabar.Embedding;
using StackExchange.Redis;

namespace Cinnabar.Sample.Tests;

public sealed class CacheTests(RedisFixture redis) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task AValueWithATimeToLiveExpires()
    {
        await redis.Db.StringSetAsync("session:1", "alice", TimeSpan.FromMilliseconds(100));
        Assert.Equal("alice", (string?)await redis.Db.StringGetAsync("session:1"));
        await Task.Delay(300);
        Assert.False(await redis.Db.KeyExistsAsync("session:1"));
    }

    [Fact]
    public async Task HashFieldsCountUp()
    {
        await redis.Db.HashIncrementAsync("page:views", "home");
        await redis.Db.HashIncrementAsync("page:views", "home");
        Assert.Equal(2, (long)await redis.Db.HashGetAsync("page:views", "home"));
    }

    [Fact]
    public async Task ALuaScriptRunsOnTheServer()
    {
        var result = await redis.Db.ScriptEvaluateAsync("return redis.call('INCRBY', KEYS[1], ARGV[1]) * 2", ["counter"], [21]);
        Assert.Equal(42, (long)result);
    }

    [Fact]
    public async Task TheServerHasTheConfigurationItWasStartedWith()
    {
        var server = redis.Connection.GetServer(redis.Server.EndPoint);
        var maxmemory = await server.ConfigGetAsync("maxmemory");
        Assert.Equal("67108864", maxmemory.Single().Value);
    }

    [Fact]
    public async Task ASecondServerSharesNothingWithTheFirst()
    {
        await redis.Db.StringSetAsync("shared?", "no");
        await using var other = await EmbeddedCinnabar.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(other.ConnectionString);
        Assert.False(await connection.GetDatabase().KeyExistsAsync("shared?"));
    }
}
