// Starts an in-process Cinnabar server on an ephemeral loopback port for integration tests.
// One instance per test class (IClassFixture); tests use distinct keys or FLUSHALL.
namespace Cinnabar.Tests.Support;

public sealed class ServerFixture : IDisposable
{
    public CinnabarServer Server { get; }
    public int Port => Server.Port;

    public ServerFixture() : this(null) { }

    /// <summary>For tests that need a server with their own configuration (not as a class fixture).</summary>
    internal ServerFixture(Action<global::Cinnabar.Server.ServerConfig>? configure)
    {
        // Each server gets its own empty dir: SHUTDOWN and SAVE write dump.rdb there, and start-up
        // loads it, so servers must not share one. (An in-process server's "dir" never changes
        // the test process's working directory: ServerConfig.OwnsProcess is false.)
        Directory.CreateDirectory(Dir);
        var config = new global::Cinnabar.Server.ServerConfig { Port = 0, Bind = ["127.0.0.1"], Dir = Dir };
        config.Set("enable-debug-command", "yes", startup: true);
        configure?.Invoke(config);
        Server = new CinnabarServer(config);
        Server.Log.Console = null;
        Server.Start();
    }

    public RespClient Connect() => new(Port);

    /// <summary>Waits until at least n clients are blocked on keys (a blocking command reached the server).</summary>
    public void WaitBlocked(int n)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var blocking = Server.Blocking;
        while (blocking.BlockedClients < n && sw.ElapsedMilliseconds < 5000) Thread.Sleep(5);
        Assert.True(blocking.BlockedClients >= n, "client did not block");
    }

    /// <summary>The server's `dir` (where dump.rdb goes), deleted on dispose.</summary>
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "cinnabar-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        Server.Stop();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException) { }
    }
}
