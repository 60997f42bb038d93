// One embedded Cinnabar server for a test class (xunit's IClassFixture): started on an
// ephemeral loopback port before the first test, a StackExchange.Redis multiplexer connected
// to it, both disposed after the last test. Nothing to install, no port to pick.
using Cinnabar.Embedding;
using StackExchange.Redis;

namespace Cinnabar.Sample.Tests;

public sealed class RedisFixture : IAsyncLifetime
{
    public EmbeddedCinnabar Server { get; private set; } = null!;
    public ConnectionMultiplexer Connection { get; private set; } = null!;
    public IDatabase Db => Connection.GetDatabase();

    public async Task InitializeAsync()
    {
        Server = await EmbeddedCinnabar.StartAsync(new CinnabarOptions().Configure("maxmemory", "64mb"));
        Connection = await ConnectionMultiplexer.ConnectAsync(Server.ConnectionString + ",allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        await Connection.DisposeAsync();
        await Server.DisposeAsync();
    }
}
