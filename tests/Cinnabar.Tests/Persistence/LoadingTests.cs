// A long start-up load serves clients meanwhile, as Redis's processEventsWhileBlocked does: they
// connect, commands without the loading flag get -LOADING, INFO reports the loading_* progress,
// and once the load ends the same connection sees the whole dataset.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Persistence;

public sealed class LoadingTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "cinnabar-loading-" + Guid.NewGuid().ToString("N"));

    public LoadingTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException) { }
    }

    static string Info(RespClient c, string field) =>
        c.Call("INFO", "persistence").Text!.Split("\r\n").FirstOrDefault(l => l.StartsWith(field + ":"))?[(field.Length + 1)..] ?? "";

    static RespClient ConnectWithRetry(int port)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new RespClient(port);
            }
            catch (System.Net.Sockets.SocketException) when (sw.Elapsed.TotalSeconds < 20)
            {
                Thread.Sleep(10);
            }
        }
    }

    [Fact]
    public async Task Clients_get_LOADING_and_the_progress_while_the_dataset_loads()
    {
        using (var f = new ServerFixture(cfg => cfg.Dir = _dir))
        using (var c = f.Connect())
        {
            c.Call("DEBUG", "POPULATE", "20000", "key", "100");
            Assert.Equal("+OK", c.CallS("SAVE"));
        }
        int port = CinnabarProcess.FreePort();
        // 20,000 keys at 100 µs each: about two seconds of loading.
        var starting = Task.Run(() => new ServerFixture(cfg =>
        {
            cfg.Dir = _dir;
            cfg.Port = port;
            cfg.Set("key-load-delay", "100", startup: true);
            cfg.Set("loading-process-events-interval-bytes", "1024", startup: true);
        }));
        using var client = ConnectWithRetry(port);
        Assert.Equal("-LOADING Redis is loading the dataset in memory", client.CallS("GET", "key:1"));
        Assert.Equal("-LOADING Redis is loading the dataset in memory", client.CallS("PING"));
        Assert.Equal("1", Info(client, "loading")); // INFO is allowed while loading
        Assert.True(long.Parse(Info(client, "loading_total_bytes")) > 0);
        Assert.True(long.Parse(Info(client, "loading_loaded_bytes")) > 0);
        Assert.NotEqual("", Info(client, "loading_loaded_perc"));
        Assert.NotEqual("", Info(client, "loading_eta_seconds"));
        using var server = await starting.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal("0", Info(client, "loading"));
        Assert.Equal("", Info(client, "loading_total_bytes")); // the loading_* fields only while loading
        Assert.Equal("value:1", client.Call("GET", "key:1").Text![..7]);
        Assert.Equal(20000, client.Call("DBSIZE").Integer);
    }
}
