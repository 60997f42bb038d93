// Client eviction (maxmemory-clients) over real sockets, each on a server configured for it: a
// client whose output buffer or query buffer takes it past the limit is freed and counted in
// evicted_clients, CLIENT NO-EVICT protects it, the percent form follows maxmemory, the largest
// clients go first; and CLIENT LIST's memory fields count as Redis 7.0.15 counts them.
using System.Diagnostics;
using Cinnabar.Networking;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public class ClientEvictionTests
{
    static ServerFixture Start(params (string Name, string Value)[] settings) =>
        new(config =>
        {
            foreach (var (n, v) in settings) Assert.Null(config.Set(n, v, startup: true));
        });

    /// <summary>The CLIENT LIST line of the client named <paramref name="name"/>, or null when it is gone.</summary>
    static Dictionary<string, string>? ClientNamed(RespClient observer, string name)
    {
        foreach (var line in observer.Call("CLIENT", "LIST").Text!.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Trim().Split(' ').Select(f => f.Split('=', 2)).ToDictionary(kv => kv[0], kv => kv.Length > 1 ? kv[1] : "");
            if (fields["name"] == name) return fields;
        }
        return null;
    }

    static long Field(RespClient observer, string name, string field) => long.Parse(ClientNamed(observer, name)![field]);

    static bool WaitFor(Func<bool> condition, int timeoutMs = 5000)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.ElapsedMilliseconds > timeoutMs) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    static RespClient Named(ServerFixture fx, string name)
    {
        var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("CLIENT", "SETNAME", name));
        return c;
    }

    /// <summary>Starts a command whose one argument of <paramref name="size"/> bytes never completes: the query buffer holds it.</summary>
    static void SendPartialArgument(RespClient c, int size)
    {
        c.SendRaw($"*2\r\n${size}\r\n");
        c.SendRaw(new byte[size]);
    }

    [Fact]
    public void AClientWhoseOutputBufferGrowsPastTheLimitIsEvicted()
    {
        using var fx = Start(("maxmemory-clients", "1mb"));
        using var observer = Named(fx, "observer");
        Assert.Equal("+OK", observer.CallS("SET", "big", new string('v', 200_000)));
        using var reader = Named(fx, "reader");
        // 100 replies of 200 KB, never read: far more than the socket buffers take.
        var get = RespClient.Encode("GET", "big");
        var pipeline = Enumerable.Range(0, 100).SelectMany(_ => get).ToArray();
        try
        {
            reader.SendRaw(pipeline);
        }
        catch (IOException)
        {
            // Evicted while still sending.
        }
        Assert.True(WaitFor(() => ClientNamed(observer, "reader") == null), "the client was not evicted");
        Assert.Equal(1, fx.Server.Stats.EvictedClients);
        Assert.Contains("evicted_clients:1\r\n", observer.Call("INFO", "stats").Text);
        Assert.NotNull(ClientNamed(observer, "observer"));
    }

    [Fact]
    public void NoEvictProtectsAClientAndTheOthersGoInstead()
    {
        using var fx = Start(("maxmemory-clients", "1mb"));
        using var observer = Named(fx, "observer");
        Assert.Equal("+OK", observer.CallS("CLIENT", "NO-EVICT", "on")); // the total stays over the limit: only protected clients remain
        using var big = Named(fx, "big");
        Assert.Equal("+OK", big.CallS("CLIENT", "NO-EVICT", "on"));
        SendPartialArgument(big, 2_000_000);
        Assert.True(WaitFor(() => Field(observer, "big", "qbuf") == 2_000_000));
        Assert.True(Field(observer, "big", "tot-mem") > 1024 * 1024);
        Assert.Contains("e", ClientNamed(observer, "big")!["flags"]);
        Thread.Sleep(200); // a few cron runs and loop iterations: still there
        Assert.NotNull(ClientNamed(observer, "big"));
        Assert.Equal(0, fx.Server.Stats.EvictedClients);

        // A client without the protection is evicted instead, though it is the smaller one.
        using var other = Named(fx, "other");
        try
        {
            SendPartialArgument(other, 300_000);
        }
        catch (IOException)
        {
            // Evicted while still sending.
        }
        Assert.True(WaitFor(() => ClientNamed(observer, "other") == null), "the unprotected client was not evicted");
        Assert.NotNull(ClientNamed(observer, "big"));
        Assert.Equal(1, fx.Server.Stats.EvictedClients);
    }

    [Fact]
    public void APercentageIsOfMaxmemoryAndNothingWithoutIt()
    {
        using var fx = Start(("maxmemory-clients", "10%"));
        using var observer = Named(fx, "observer");
        using var a = Named(fx, "a");
        Assert.Equal(0, fx.Server.ClientEviction.Limit); // no maxmemory: no limit
        SendPartialArgument(a, 500_000);
        Assert.True(WaitFor(() => Field(observer, "a", "qbuf") == 500_000));
        Assert.NotNull(ClientNamed(observer, "a"));

        // 10% of 4 MB is about 419 KB: the 500 KB argument is over it.
        Assert.Equal("+OK", observer.CallS("CONFIG", "SET", "maxmemory", "4mb"));
        Assert.Equal(4L * 1024 * 1024 / 10, fx.Server.ClientEviction.Limit);
        Assert.True(WaitFor(() => ClientNamed(observer, "a") == null), "the client was not evicted");
        Assert.Equal("10%", observer.Call("CONFIG", "GET", "maxmemory-clients").Items![1].Text);
        Assert.Equal(1, fx.Server.Stats.EvictedClients);
    }

    [Fact]
    public void TheLimitHasAFloorAndZeroTurnsEvictionOff()
    {
        using var fx = Start(("maxmemory-clients", "1"));
        Assert.Equal(ClientEviction.MinLimit, fx.Server.ClientEviction.Limit);
        using var observer = Named(fx, "observer");
        Assert.Equal("+OK", observer.CallS("CONFIG", "SET", "maxmemory-clients", "0"));
        using var a = Named(fx, "a");
        SendPartialArgument(a, 1_000_000);
        Assert.True(WaitFor(() => Field(observer, "a", "qbuf") == 1_000_000));
        Thread.Sleep(200);
        Assert.NotNull(ClientNamed(observer, "a"));
        Assert.Equal(0, fx.Server.Stats.EvictedClients);
    }

    [Fact]
    public void TheLargestClientsAreEvictedFirstAndOnlyUntilUnderTheLimit()
    {
        using var fx = Start();
        using var observer = Named(fx, "observer");
        Assert.Equal("+OK", observer.CallS("CLIENT", "NO-EVICT", "on"));
        var clients = new List<RespClient>();
        try
        {
            foreach (var (name, size) in new[] { ("small1", 100_000), ("small2", 100_000), ("large1", 1_000_000), ("large2", 1_000_000) })
            {
                var c = Named(fx, name);
                clients.Add(c);
                SendPartialArgument(c, size);
                Assert.True(WaitFor(() => Field(observer, name, "qbuf") == size));
            }
            long small = Field(observer, "small1", "tot-mem"), large = Field(observer, "large1", "tot-mem");
            long control = Field(observer, "observer", "tot-mem");
            // Room for both small clients and one large one: one large client goes, nothing else.
            Assert.Equal("+OK", observer.CallS("CONFIG", "SET", "maxmemory-clients", (2 * small + large + control).ToString()));
            Assert.True(WaitFor(() => fx.Server.Stats.EvictedClients == 1));
            Thread.Sleep(100);
            Assert.Equal(1, fx.Server.Stats.EvictedClients);
            Assert.True((ClientNamed(observer, "large1") == null) != (ClientNamed(observer, "large2") == null));
            Assert.NotNull(ClientNamed(observer, "small1"));
            Assert.NotNull(ClientNamed(observer, "small2"));
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }

    [Fact]
    public void MultiMemAndArgvMemCountAsRedisDoes()
    {
        using var fx = Start();
        using var observer = Named(fx, "observer");
        using var tx = Named(fx, "tx");
        long Mem() => Field(observer, "tx", "tot-mem");
        Assert.Equal("+OK", tx.CallS("MULTI"));
        long empty = Mem();
        Assert.Equal(0, Field(observer, "tx", "multi-mem"));
        // Figures of redis-server 7.0.15 for the same sequence: each SET a b queues argv_len_sum 5
        // plus 3 argv pointers (29 bytes); the queue reserves 2 commands, then 4 (24 bytes each).
        long[] multiMem = [29, 58, 87];
        long[] growth = [77, 29, 77];
        long before = empty;
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal("+QUEUED", tx.CallS("SET", "a", "b"));
            Assert.Equal(multiMem[i], Field(observer, "tx", "multi-mem"));
            long now = Mem();
            Assert.Equal(growth[i], now - before);
            before = now;
        }
        Assert.Equal("+QUEUED", tx.CallS("SET", "key", new string('x', 1000)));
        Assert.Equal(1117, Field(observer, "tx", "multi-mem"));
        Assert.Equal(1030, Mem() - before);
        Assert.Equal(4, tx.Call("EXEC").Items!.Count);
        Assert.Equal(0, Field(observer, "tx", "multi-mem"));
        Assert.Equal(empty, Mem());

        // WATCH costs 56 bytes a key; the running client's argv is counted (CLIENT INFO: 6 + 4).
        Assert.Equal("+OK", tx.CallS("WATCH", "k1", "k2"));
        Assert.Equal(empty + 112, Mem());
        Assert.Contains(" argv-mem=10 ", tx.Call("CLIENT", "INFO").Text);
        Assert.Equal("+OK", tx.CallS("UNWATCH"));

        // A partial command: the arguments parsed so far are argv (SET + big = 6), the big
        // argument's bytes received so far are qbuf.
        tx.SendRaw("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$100000\r\n");
        tx.SendRaw(new byte[50_000]);
        Assert.True(WaitFor(() => Field(observer, "tx", "qbuf") == 50_000));
        Assert.Equal(6, Field(observer, "tx", "argv-mem"));
        tx.SendRaw(new byte[50_000]);
        tx.SendRaw("\r\n");
        Assert.Equal("+OK", tx.Read().ToString());
        Assert.Equal(0, Field(observer, "tx", "argv-mem"));
    }

    [Fact]
    public void DebugReplybufferIsCheckedAsRedisChecksIt()
    {
        using var fx = Start();
        using var c = fx.Connect();
        // redis-server 7.0.15's replies; the fixed reply buffer here has nothing to resize.
        Assert.Equal("+OK", c.CallS("DEBUG", "REPLYBUFFER", "RESIZING", "0"));
        Assert.Equal("+OK", c.CallS("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never"));
        Assert.Equal("+OK", c.CallS("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"));
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "xx"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'REPLYBUFFER'. Try DEBUG HELP.", c.CallS("DEBUG", "REPLYBUFFER", "FOO", "1"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'REPLYBUFFER'. Try DEBUG HELP.", c.CallS("DEBUG", "REPLYBUFFER", "RESIZING"));
    }

    [Fact]
    public void MemClientsNormalFollowsTheClients()
    {
        using var fx = Start();
        using var observer = Named(fx, "observer");
        long Normal() => long.Parse(observer.Call("INFO", "memory").Text!.Split("\r\n").First(l => l.StartsWith("mem_clients_normal:"))["mem_clients_normal:".Length..]);
        long before = Normal();
        using var a = Named(fx, "a");
        SendPartialArgument(a, 300_000);
        Assert.True(WaitFor(() => Normal() >= before + 300_000));
        a.Dispose();
        Assert.True(WaitFor(() => Normal() < before + 300_000));
    }
}
