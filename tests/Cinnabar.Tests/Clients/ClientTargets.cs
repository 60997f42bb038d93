// The two servers the client tests run against: an in-process Cinnabar and Debian's
// redis-server 7.0.15, each behind its own StackExchange.Redis multiplexer. A test is a Theory
// over [Targets], written once with the values it expects, so a reply in which Cinnabar differs
// from redis-server fails as the Cinnabar row alone. One ClientTargets per test class
// (IClassFixture): classes run in parallel on servers of their own.
using System.Reflection;
using Cinnabar.Tests.Support;
using StackExchange.Redis;
using Xunit.Sdk;

namespace Cinnabar.Tests.Clients;

public enum Target
{
    Cinnabar,
    Redis,
}

public sealed class ClientTargets : IDisposable
{
    readonly ServerFixture _cinnabar = new();
    readonly RedisServerFixture _redis = new();
    readonly Lazy<ConnectionMultiplexer> _cinnabarConnection;
    readonly Lazy<ConnectionMultiplexer> _redisConnection;

    /// <summary>
    /// StackExchange.Redis completes synchronous calls on the thread pool. The test host runs
    /// classes in parallel, many of them blocking pool threads, and the pool adds threads slowly
    /// past its minimum (2 on this machine): a sync call then waits its 5 s timeout in the queue
    /// (CI saw "Timeout performing XADD ... WORKER: (Busy=10,Min=2) ... QueuedItems=13" against
    /// redis-server itself). A higher minimum lets the pool grow at once.
    /// </summary>
    static ClientTargets()
    {
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }

    public ClientTargets()
    {
        _cinnabarConnection = new(() => ConnectionMultiplexer.Connect(Options(_cinnabar.Port)));
        _redisConnection = new(() => ConnectionMultiplexer.Connect(Options(_redis.Port)));
    }

    public int Port(Target target) => target == Target.Cinnabar ? _cinnabar.Port : _redis.Port;

    /// <summary>The target's shared multiplexer (RESP2, admin commands allowed), connected on first use.</summary>
    public ConnectionMultiplexer Connection(Target target) =>
        (target == Target.Cinnabar ? _cinnabarConnection : _redisConnection).Value;

    /// <summary>A new multiplexer of the test's own (disposed by the test), for a protocol or a name of its own.</summary>
    public ConnectionMultiplexer Connect(Target target, Action<ConfigurationOptions>? configure = null)
    {
        var options = Options(Port(target));
        configure?.Invoke(options);
        return ConnectionMultiplexer.Connect(options);
    }

    public IServer Server(Target target) => Connection(target).GetServer("127.0.0.1", Port(target));

    /// <summary>Database 0 after FLUSHALL: every test starts from an empty keyspace.</summary>
    public IDatabase EmptyDatabase(Target target)
    {
        Server(target).FlushAllDatabases();
        return Connection(target).GetDatabase();
    }

    /// <summary>Options as an application sets them, with bounded timeouts so a hang fails the test.</summary>
    public static ConfigurationOptions Options(int port)
    {
        var options = new ConfigurationOptions
        {
            AllowAdmin = true,
            ConnectTimeout = 5000,
            SyncTimeout = 5000,
            AsyncTimeout = 5000,
        };
        options.EndPoints.Add("127.0.0.1", port);
        return options;
    }

    public void Dispose()
    {
        if (_cinnabarConnection.IsValueCreated) _cinnabarConnection.Value.Dispose();
        if (_redisConnection.IsValueCreated) _redisConnection.Value.Dispose();
        _redis.Dispose();
        _cinnabar.Dispose();
    }
}

/// <summary>The theory rows Target.Cinnabar and Target.Redis; pair it with [RequiresToolsTheory("redis-server")].</summary>
public sealed class TargetsAttribute : DataAttribute
{
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) =>
        [[Target.Cinnabar], [Target.Redis]];
}
