// ASP.NET Core's IDistributedCache backed by Microsoft.Extensions.Caching.StackExchangeRedis, as
// an application configures it: set, get, refresh with a sliding expiry, absolute expiry and
// remove. The cache keeps an entry as a hash (data, absexp, sldexp) with a TTL, so the tests also
// read that hash and its TTL with a plain client to see what the cache wrote and refreshed.
using Cinnabar.Tests.Support;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.StackExchangeRedis;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class DistributedCacheTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    RedisCache Cache(Target target) =>
        new(Options.Create(new RedisCacheOptions { ConfigurationOptions = ClientTargets.Options(targets.Port(target)), InstanceName = "app:" }));

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task Set_get_and_remove_an_entry(Target target)
    {
        var db = targets.EmptyDatabase(target);
        using var cache = Cache(target);
        IDistributedCache distributed = cache;
        Assert.Null(await distributed.GetAsync("profile:42"));

        byte[] payload = [.. Enumerable.Range(0, 300).Select(i => (byte)i)];
        await distributed.SetAsync("profile:42", payload, new DistributedCacheEntryOptions());
        Assert.Equal(payload, await distributed.GetAsync("profile:42"));
        distributed.SetString("greeting", "hello");
        Assert.Equal("hello", distributed.GetString("greeting"));

        Assert.Equal(RedisType.Hash, db.KeyType("app:profile:42"));
        Assert.Equal(payload, (byte[]?)db.HashGet("app:profile:42", "data"));
        Assert.Null(db.KeyTimeToLive("app:profile:42"));

        await distributed.RemoveAsync("profile:42");
        Assert.Null(await distributed.GetAsync("profile:42"));
        Assert.False(db.KeyExists("app:profile:42"));
        Assert.Equal("hello", distributed.GetString("greeting"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task Refresh_restores_the_sliding_expiry(Target target)
    {
        var db = targets.EmptyDatabase(target);
        using var cache = Cache(target);
        IDistributedCache distributed = cache;
        await distributed.SetStringAsync("session", "state", new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMinutes(1) });
        Assert.InRange(db.KeyTimeToLive("app:session")!.Value.TotalSeconds, 55, 60);

        // As if most of the window had passed: a refresh puts the full window back.
        db.KeyExpire("app:session", TimeSpan.FromSeconds(5));
        await distributed.RefreshAsync("session");
        Assert.InRange(db.KeyTimeToLive("app:session")!.Value.TotalSeconds, 55, 60);

        // A read refreshes too.
        db.KeyExpire("app:session", TimeSpan.FromSeconds(5));
        Assert.Equal("state", await distributed.GetStringAsync("session"));
        Assert.InRange(db.KeyTimeToLive("app:session")!.Value.TotalSeconds, 55, 60);
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task An_absolute_expiry_caps_the_sliding_window_and_ends_the_entry(Target target)
    {
        var db = targets.EmptyDatabase(target);
        using var cache = Cache(target);
        IDistributedCache distributed = cache;
        await distributed.SetStringAsync("capped", "v", new DistributedCacheEntryOptions
        {
            SlidingExpiration = TimeSpan.FromMinutes(1),
            AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(20),
        });
        Assert.InRange(db.KeyTimeToLive("app:capped")!.Value.TotalSeconds, 15, 20);
        await distributed.RefreshAsync("capped");
        Assert.InRange(db.KeyTimeToLive("app:capped")!.Value.TotalSeconds, 15, 20);

        // The cache sets whole-second TTLs (EXPIRE), so the shortest entry lives one second.
        await distributed.SetStringAsync("brief", "v", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(1) });
        Assert.Equal("v", await distributed.GetStringAsync("brief"));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (await distributed.GetStringAsync("brief") != null && DateTime.UtcNow < deadline) await Task.Delay(25);
        Assert.Null(await distributed.GetStringAsync("brief"));
        Assert.False(db.KeyExists("app:brief"));
    }
}
