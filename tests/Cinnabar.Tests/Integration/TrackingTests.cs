// Client-side caching behaviour that the differential tests cannot pin (ids, counters,
// random eviction): CLIENT LIST flags and redir=, INFO tracking counters, the
// tracking-table-max-keys limit, cleanup on disconnect and pushes under CLIENT REPLY OFF.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Integration;

public class TrackingTests
{
    static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(150);

    static string InfoField(RespClient c, string section, string field)
    {
        string info = c.Call("INFO", section).Text!;
        var line = info.Split("\r\n").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return line[(field.Length + 1)..];
    }

    static string ClientInfoField(RespClient c, string field)
    {
        string info = c.Call("CLIENT", "INFO").Text!;
        return info.Trim().Split(' ').First(p => p.StartsWith(field + "=", StringComparison.Ordinal))[(field.Length + 1)..];
    }

    [Fact]
    public void ClientListShowsTrackingFlagsAndRedirect()
    {
        using var fx = new ServerFixture();
        using var t = fx.Connect();
        using var r = fx.Connect();
        using var w = fx.Connect();
        Assert.Equal("N", ClientInfoField(t, "flags"));
        Assert.Equal("-1", ClientInfoField(t, "redir"));
        t.Call("CLIENT", "TRACKING", "ON");
        Assert.Equal("t", ClientInfoField(t, "flags"));
        Assert.Equal("0", ClientInfoField(t, "redir"));
        string rid = r.Call("CLIENT", "ID").Text!;
        t.Call("CLIENT", "TRACKING", "OFF");
        t.Call("CLIENT", "TRACKING", "ON", "BCAST", "REDIRECT", rid);
        Assert.Equal("tB", ClientInfoField(t, "flags"));
        Assert.Equal(rid, ClientInfoField(t, "redir"));
        r.Dispose();
        Thread.Sleep(100);
        w.Call("SET", "k", "v"); // the broadcast finds the redirect target gone
        Thread.Sleep(100);
        Assert.Equal("tRB", ClientInfoField(t, "flags"));
    }

    [Fact]
    public void InfoCountsTrackingClientsKeysItemsAndPrefixes()
    {
        using var fx = new ServerFixture();
        using var a = fx.Connect();
        using var b = fx.Connect();
        using var c = fx.Connect();
        a.Call("CLIENT", "TRACKING", "ON");
        b.Call("CLIENT", "TRACKING", "ON");
        c.Call("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p:", "PREFIX", "q:");
        a.Call("MGET", "k1", "k2");
        b.Call("GET", "k1");
        Assert.Equal("3", InfoField(a, "clients", "tracking_clients"));
        Assert.Equal("2", InfoField(a, "stats", "tracking_total_keys"));
        Assert.Equal("3", InfoField(a, "stats", "tracking_total_items"));
        Assert.Equal("2", InfoField(a, "stats", "tracking_total_prefixes"));

        c.Call("SET", "k1", "x"); // invalidates and forgets k1
        Assert.Equal("1", InfoField(a, "stats", "tracking_total_keys"));
        Assert.Equal("1", InfoField(a, "stats", "tracking_total_items"));

        c.Dispose();
        b.Call("RESET");
        Thread.Sleep(100);
        Assert.Equal("1", InfoField(a, "clients", "tracking_clients"));
        Assert.Equal("0", InfoField(a, "stats", "tracking_total_prefixes"));
        a.Call("FLUSHALL");
        Assert.Equal("0", InfoField(a, "stats", "tracking_total_keys"));
    }

    [Fact]
    public void TheTableLimitEvictsKeysAndInvalidatesThem()
    {
        using var fx = new ServerFixture();
        using var t = fx.Connect();
        t.Call("HELLO", "3");
        t.Call("CONFIG", "SET", "tracking-table-max-keys", "2");
        t.Call("CLIENT", "TRACKING", "ON");
        Assert.Equal("*[_nil, _nil, _nil, _nil]", t.Call("MGET", "a", "b", "c", "d").ToString());
        // Two of the four keys are evicted at random, each with an invalidation as if modified.
        var evicted = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            var push = t.Read();
            Assert.Equal('>', push.Type);
            Assert.Equal("invalidate", push.Items![0].Text);
            evicted.Add(push.Items[1].Items![0].Text!);
        }
        t.AssertNoReply(Quiet);
        Assert.Equal(2, evicted.Distinct().Count());
        Assert.All(evicted, k => Assert.Contains(k, new[] { "a", "b", "c", "d" }));
        Assert.Equal("2", InfoField(t, "stats", "tracking_total_keys"));
    }

    [Fact]
    public void LoweringTheLimitTrimsTheTableOnAnIdleServerEvenForANoloopClient()
    {
        // As Redis's serverCron: no command follows the CONFIG SET, and the client that set it
        // (NOLOOP, redirected) still hears of the evicted key, since no client modified it.
        using var fx = new ServerFixture();
        using var t = fx.Connect();
        using var redirect = fx.Connect();
        string rid = redirect.Call("CLIENT", "ID").Text!;
        redirect.Call("SUBSCRIBE", "__redis__:invalidate");
        t.Call("CLIENT", "TRACKING", "ON", "REDIRECT", rid, "NOLOOP");
        t.Call("MSET", "k1", "1", "k2", "2");
        t.Call("MGET", "k1", "k2");
        t.Call("CONFIG", "SET", "tracking-table-max-keys", "1");
        var message = redirect.TryRead(TimeSpan.FromSeconds(2));
        Assert.NotNull(message);
        Assert.Equal("message", message!.Items![0].Text);
        Assert.Contains(message.Items[2].Items![0].Text, new[] { "k1", "k2" });
        Assert.Equal("1", InfoField(t, "stats", "tracking_total_keys"));
    }

    [Fact]
    public void InvalidationsReachAClientWithRepliesOff()
    {
        using var fx = new ServerFixture();
        using var t = fx.Connect();
        using var w = fx.Connect();
        t.Call("HELLO", "3");
        t.Call("CLIENT", "TRACKING", "ON");
        t.Call("GET", "k");
        t.Send("CLIENT", "REPLY", "OFF");
        t.AssertNoReply(Quiet);
        w.Call("SET", "k", "v");
        Assert.Equal(">[\"invalidate\", *[\"k\"]]", t.Read().ToString());
    }

    [Fact]
    public void AFreedTrackingClientIsSkippedAndLeavesNoCount()
    {
        using var fx = new ServerFixture();
        using var t = fx.Connect();
        using var other = fx.Connect();
        using var w = fx.Connect();
        t.Call("CLIENT", "TRACKING", "ON");
        other.Call("HELLO", "3");
        other.Call("CLIENT", "TRACKING", "ON");
        t.Call("GET", "k");
        other.Call("GET", "k");
        t.Dispose();
        Thread.Sleep(100);
        Assert.Equal("1", InfoField(w, "clients", "tracking_clients"));
        w.Call("SET", "k", "v");
        Assert.Equal(">[\"invalidate\", *[\"k\"]]", other.Read().ToString());
    }
}
