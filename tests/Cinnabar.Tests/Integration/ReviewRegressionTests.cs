// Regressions found in review: behaviours that once differed from Redis or endangered the loop.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Integration;

public class ReviewRegressionTests
{
    static long InfoField(RespClient c, string section, string field)
    {
        var text = c.Call("INFO", section).Text!;
        foreach (var line in text.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return long.Parse(line[(field.Length + 1)..]);
        throw new KeyNotFoundException(field);
    }

    [Fact]
    public void SetOverAStaleKeyReclaimsItAsExpiredFirst()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("DEBUG", "SET-ACTIVE-EXPIRE", "0"));
        Assert.Equal("+OK", c.CallS("SET", "stale", "v", "PX", "20"));
        Thread.Sleep(60);
        Assert.Equal("+OK", c.CallS("SET", "stale", "new", "KEEPTTL"));
        Assert.Equal(1, InfoField(c, "stats", "expired_keys"));
        // KEEPTTL must not resurrect the deadline that had already passed.
        Assert.Equal(":-1", c.CallS("PTTL", "stale"));
        Assert.Equal("\"new\"", c.CallS("GET", "stale"));
    }

    [Fact]
    public void ErrorstatsPrintInByteOrderOfCodes()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.CallS("SET", "s", "v");
        Assert.StartsWith("-WRONGTYPE", c.CallS("LPUSH", "s", "x"));
        Assert.StartsWith("-ERR", c.CallS("NOSUCHCOMMAND"));
        var lines = c.Call("INFO", "errorstats").Text!.Split("\r\n").Where(l => l.StartsWith("errorstat_", StringComparison.Ordinal)).ToList();
        Assert.Equal(["errorstat_ERR:count=1", "errorstat_WRONGTYPE:count=1"], lines);
    }

    [Fact]
    public void QueryBufferLimitCountsTheParsedArgumentsOfAPartialCommand()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "client-query-buffer-limit", "1mb"));
        // Many complete 100 KB arguments of one unfinished command: each read is consumed by the
        // parser, but the arguments stay in the buffer and must count against the limit.
        var arg = new string('a', 100 * 1024);
        c.SendRaw("*100\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n");
        try
        {
            for (int i = 0; i < 30; i++) c.SendRaw($"${arg.Length}\r\n{arg}\r\n");
        }
        catch (IOException)
        {
            // the server may close while we are still sending
        }
        Assert.True(c.IsClosedByServer());
    }

    [Fact]
    public void ClientListShowsMultiAndSubscriptionCounts()
    {
        using var fx = new ServerFixture();
        using var tx = fx.Connect();
        using var sub = fx.Connect();
        tx.CallS("MULTI");
        tx.CallS("SET", "a", "b");
        tx.CallS("GET", "a");
        sub.Send("SUBSCRIBE", "c1", "c2");
        sub.Read();
        sub.Read();
        sub.Send("PSUBSCRIBE", "p*");
        sub.Read();
        using var admin = fx.Connect();
        var lines = admin.Call("CLIENT", "LIST").Text!.Split('\n');
        Assert.Contains(lines, l => l.Contains(" multi=2 ") && !l.Contains("multi-mem=0 "));
        Assert.Contains(lines, l => l.Contains(" sub=2 psub=1 ssub=0 "));
    }

    [Fact]
    public void InstantaneousOpsAndIoCountersMoveUnderLoad()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 600) c.Call("PING");
        Assert.True(InfoField(c, "stats", "instantaneous_ops_per_sec") > 0);
        Assert.True(InfoField(c, "stats", "total_reads_processed") > 100);
        Assert.True(InfoField(c, "stats", "total_writes_processed") > 100);
        var text = c.Call("INFO", "stats").Text!;
        var kbps = text.Split("\r\n").First(l => l.StartsWith("instantaneous_input_kbps:", StringComparison.Ordinal));
        Assert.NotEqual("instantaneous_input_kbps:0.00", kbps);
    }

    /// <summary>
    /// The cached clock never lags the wall clock by a millisecond (unit/type/string's "GETEX PXAT
    /// option"): a deadline the client computes as its now + 10 s reads back as at most 10000 ms.
    /// </summary>
    [Fact]
    public void A_deadline_of_now_plus_ten_seconds_never_reads_back_above_ten_seconds()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("SET", "foo", "bar");
        for (int i = 0; i < 300; i++)
        {
            long at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 10_000;
            c.Call("GETEX", "foo", "PXAT", at.ToString(System.Globalization.CultureInfo.InvariantCulture));
            long pttl = c.Call("PTTL", "foo").Integer;
            Assert.InRange(pttl, 5000, 10_000);
            if (i % 50 == 0) Thread.Sleep(37); // land at different points of the loop's clock derivation
        }
    }
}
