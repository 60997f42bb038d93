// Connection restore: an application's multiplexer (AbortOnConnectFail=false) outlives a server
// restart. The server runs as a process (cinnabar-server, or redis-server 7.0.15) on a fixed
// port, is killed and started again on that port, and the same multiplexer reconnects: commands
// work again against the new, empty server and the Pub/Sub subscription is re-established.
using System.Diagnostics;
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisReconnectTests : IDisposable
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    readonly string _dir = Directory.CreateTempSubdirectory("cinnabar-reconnect-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>The target's server as a process on the port; disposing it kills the process.</summary>
    IDisposable Start(Target target, int port)
    {
        if (target == Target.Redis) return new RedisServerFixture(port, null);
        var process = new CinnabarProcess(_dir, port);
        Assert.False(process.HasExited, "cinnabar-server exited:\n" + process.Log);
        return process;
    }

    static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < Bound)
        {
            try
            {
                if (condition()) return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException) { }
            Thread.Sleep(50);
        }
        Assert.Fail($"timed out after {Bound.TotalSeconds}s waiting for {what}");
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task The_multiplexer_reconnects_after_the_server_restarts(Target target)
    {
        int port = CinnabarProcess.FreePort();
        var server = Start(target, port);
        try
        {
            var options = ClientTargets.Options(port);
            options.AbortOnConnectFail = false;
            options.ReconnectRetryPolicy = new LinearRetry(100);
            options.HeartbeatInterval = TimeSpan.FromMilliseconds(200);
            using var conn = await ConnectionMultiplexer.ConnectAsync(options);
            var db = conn.GetDatabase();
            var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            await conn.GetSubscriber().SubscribeAsync(RedisChannel.Literal("after-restart"), (_, m) => received.TrySetResult(m!));
            Assert.True(db.StringSet("before", "1"));
            var failed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            conn.ConnectionFailed += (_, _) => failed.TrySetResult();

            server.Dispose();
            await failed.Task.WaitAsync(Bound);
            server = Start(target, port);

            WaitFor(() => db.Ping() >= TimeSpan.Zero, "commands to work on the restarted server");
            Assert.True(db.StringGet("before").IsNull);
            Assert.True(db.StringSet("after", "2"));
            Assert.Equal("2", db.StringGet("after"));

            using var publisher = ConnectionMultiplexer.Connect(ClientTargets.Options(port));
            WaitFor(() => publisher.GetSubscriber().Publish(RedisChannel.Literal("after-restart"), "hello") == 1, "the subscription to be restored");
            Assert.Equal("hello", await received.Task.WaitAsync(Bound));
        }
        finally
        {
            server.Dispose();
        }
    }
}
