// The hosting API (Embedding/EmbeddedCinnabar.cs) as a test project uses it: an ephemeral
// loopback port, redis.conf names through Configure, a persistence directory that keeps the
// data across a stop and a start, stop and dispose both ways, and two servers in one process
// that share nothing (data, configuration, working directory).
using System.Net;
using System.Net.Sockets;
using Cinnabar.Embedding;
using Cinnabar.Server;
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Embedding;

public sealed class EmbeddedCinnabarTests
{
    [Fact]
    public async Task StartsOnAnEphemeralLoopbackPortThatAClientLibraryReaches()
    {
        await using var redis = await EmbeddedCinnabar.StartAsync();
        Assert.Equal(IPAddress.Loopback, redis.EndPoint.Address);
        Assert.NotEqual(0, redis.EndPoint.Port);
        Assert.Equal($"127.0.0.1:{redis.EndPoint.Port}", redis.ConnectionString);
        using var mux = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var db = mux.GetDatabase();
        Assert.True(await db.StringSetAsync("greeting", "hello"));
        Assert.Equal("hello", (string?)await db.StringGetAsync("greeting"));
    }

    [Fact]
    public void TwoServersInOneProcessHaveTheirOwnDataAndConfiguration()
    {
        using var a = EmbeddedCinnabar.Start(new CinnabarOptions().Configure("maxmemory", "10mb"));
        using var b = EmbeddedCinnabar.Start();
        Assert.NotEqual(a.EndPoint.Port, b.EndPoint.Port);
        using var ca = new RespClient(a.EndPoint.Port);
        using var cb = new RespClient(b.EndPoint.Port);
        ca.Call("SET", "k", "from-a");
        Assert.Equal("$nil", cb.CallS("GET", "k"));
        Assert.Equal("*[\"maxmemory\", \"10485760\"]", ca.CallS("CONFIG", "GET", "maxmemory"));
        Assert.Equal("*[\"maxmemory\", \"0\"]", cb.CallS("CONFIG", "GET", "maxmemory"));
        a.Stop();
        Assert.Equal("+PONG", cb.CallS("PING"));
    }

    [Fact]
    public void ConfigureTakesRedisConfNamesAndValues()
    {
        var options = new CinnabarOptions()
            .Configure("maxmemory", "100mb")
            .Configure("maxmemory-policy", "allkeys-lru")
            .Configure("save", "900 1 300 10")
            .Configure("user", "app", "on", ">secret", "~app:*", "+@all");
        using var redis = EmbeddedCinnabar.Start(options);
        using var c = new RespClient(redis.EndPoint.Port);
        Assert.Equal("*[\"maxmemory\", \"104857600\"]", c.CallS("CONFIG", "GET", "maxmemory"));
        Assert.Equal("*[\"maxmemory-policy\", \"allkeys-lru\"]", c.CallS("CONFIG", "GET", "maxmemory-policy"));
        Assert.Equal("*[\"save\", \"900 1 300 10\"]", c.CallS("CONFIG", "GET", "save"));
        Assert.Equal("+OK", c.CallS("AUTH", "app", "secret"));
        Assert.StartsWith("-NOPERM", c.CallS("SET", "other", "v"));
    }

    [Fact]
    public void AnUnknownDirectiveFailsTheStartWithRedisServersMessage()
    {
        var e = Assert.Throws<ConfigException>(() => EmbeddedCinnabar.Start(new CinnabarOptions().Configure("maxmemroy", "1mb")));
        Assert.Contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***", e.Message);
        Assert.Contains(">>> 'maxmemroy \"1mb\"'", e.Message);
        Assert.Throws<ArgumentException>(() => new CinnabarOptions().Configure("--port", "1"));
    }

    [Fact]
    public async Task APersistenceDirectoryKeepsTheDataAcrossAStopAndAStart()
    {
        var dir = Path.Combine(Path.GetTempPath(), "cinnabar-embed-" + Guid.NewGuid().ToString("N"));
        try
        {
            await using (var first = await EmbeddedCinnabar.StartAsync(new CinnabarOptions { PersistenceDirectory = dir }))
            {
                Assert.Equal(Path.GetFullPath(dir), first.DataDirectory);
                using var c = new RespClient(first.EndPoint.Port);
                c.Call("RPUSH", "list", "a", "b");
            }
            Assert.True(File.Exists(Path.Combine(dir, "dump.rdb")), "stopping with save points writes dump.rdb");
            await using (var second = await EmbeddedCinnabar.StartAsync(new CinnabarOptions { PersistenceDirectory = dir }))
            {
                using var c = new RespClient(second.EndPoint.Port);
                Assert.Equal("*[\"a\", \"b\"]", c.CallS("LRANGE", "list", "0", "-1"));
                File.Delete(Path.Combine(dir, "dump.rdb"));
                c.Call("SET", "saved", "now");
                Assert.Equal("+OK", c.CallS("SAVE"));
                Assert.True(File.Exists(Path.Combine(dir, "dump.rdb")), "SAVE writes into the persistence directory");
            }
            Assert.True(Directory.Exists(dir), "a persistence directory stays");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void WithoutAPersistenceDirectoryNothingIsSavedAndTheTemporaryDirectoryGoes()
    {
        string dir;
        using (var redis = EmbeddedCinnabar.Start())
        {
            dir = redis.DataDirectory;
            Assert.True(Directory.Exists(dir));
            using var c = new RespClient(redis.EndPoint.Port);
            Assert.Equal("*[\"save\", \"\"]", c.CallS("CONFIG", "GET", "save"));
            c.Call("SET", "k", "v");
        }
        Assert.False(Directory.Exists(dir));
    }

    [Fact]
    public async Task StopAndDisposeReleaseThePortSyncOrAsyncAndRepeatHarmlessly()
    {
        var sync = EmbeddedCinnabar.Start();
        int syncPort = sync.EndPoint.Port;
        sync.Stop();
        Assert.True(sync.Completion.IsCompleted);
        AssertRefused(syncPort);
        sync.Dispose(); // already stopped: nothing to do

        var async = await EmbeddedCinnabar.StartAsync();
        int asyncPort = async.EndPoint.Port;
        await async.StopAsync();
        Assert.True(async.Completion.IsCompleted);
        AssertRefused(asyncPort);
        await async.DisposeAsync();
    }

    [Fact]
    public async Task AClientsShutdownCompletesTheServer()
    {
        await using var redis = await EmbeddedCinnabar.StartAsync();
        using (var c = new RespClient(redis.EndPoint.Port))
        {
            c.Send("SHUTDOWN", "NOSAVE");
            Assert.True(c.IsClosedByServer());
        }
        await redis.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        AssertRefused(redis.EndPoint.Port);
    }

    [Fact]
    public void TheDirDirectiveLeavesTheProcessWorkingDirectoryAlone()
    {
        var dir = Directory.CreateTempSubdirectory("cinnabar-embed-dir").FullName;
        string cwd = Directory.GetCurrentDirectory();
        try
        {
            using var redis = EmbeddedCinnabar.Start(new CinnabarOptions().Configure("dir", dir));
            Assert.Equal(dir, redis.DataDirectory);
            Assert.Equal(cwd, Directory.GetCurrentDirectory());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    static void AssertRefused(int port)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var e = Assert.Throws<SocketException>(() => s.Connect(IPAddress.Loopback, port));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    /// <summary>
    /// Where redis-server exits (here DEBUG LOADAOF of an AOF with a bad record), an embedded
    /// server stops instead: the host process goes on, the client gets no reply and is closed,
    /// and Completion faults with the exit code the process would have had.
    /// </summary>
    [Fact]
    public async Task AnErrorRedisExitsOnStopsTheEmbeddedServerNotTheProcess()
    {
        var options = new CinnabarOptions().Configure("appendonly", "yes").Configure("enable-debug-command", "yes");
        var redis = EmbeddedCinnabar.Start(options);
        using var c = new RespClient(redis.EndPoint.Port);
        Assert.Equal("+OK", c.CallS("SET", "k", "v"));
        var incr = Directory.GetFiles(Path.Combine(redis.DataDirectory, "appendonlydir"), "*.incr.aof").Single();
        File.AppendAllText(incr, "!not a command\r\n");
        c.Send("DEBUG", "LOADAOF");
        Assert.True(c.IsClosedByServer(5000));
        var exit = await Assert.ThrowsAsync<ServerExitException>(() => redis.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, exit.ExitCode);
        Assert.Throws<SocketException>(() => new TcpClient().Connect(redis.EndPoint)); // the port is released
        await redis.StopAsync(); // already stopped: returns without throwing
    }
}
