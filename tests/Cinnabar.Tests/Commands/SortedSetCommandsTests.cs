// Sorted set commands over real sockets: BZPOPMIN served by another client's ZADD, FIFO among
// waiters, timeouts, BZMPOP's nested reply, and a large ZADD crossing the listpack limit.
using System.Diagnostics;
using Cinnabar.Keyspace;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class SortedSetCommandsTests(ServerFixture fx) : IClassFixture<ServerFixture>
{

    [Fact]
    public void BzPopMinBlocksUntilAnotherClientAddsAndPopsTheLowestScore()
    {
        using var waiter = fx.Connect();
        using var producer = fx.Connect();
        waiter.Send("BZPOPMIN", "bz:none", "bz:k", "0");
        fx.WaitBlocked(1);
        Assert.Equal(":2", producer.CallS("ZADD", "bz:k", "5", "five", "1", "one"));
        Assert.Equal("*[\"bz:k\", \"one\", \"1\"]", waiter.Read().ToString());
        Assert.Equal("*[\"five\"]", producer.CallS("ZRANGE", "bz:k", "0", "-1"));
    }

    [Fact]
    public void BlockedPopsAreServedFifoAndTimeOutWithNullArray()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        using var p = fx.Connect();
        a.Send("BZPOPMAX", "fifo:z", "0");
        fx.WaitBlocked(1);
        b.Send("BZMPOP", "0", "1", "fifo:z", "MIN", "COUNT", "5");
        fx.WaitBlocked(2);
        p.Call("ZADD", "fifo:z", "1", "a", "2", "b", "3", "c");
        Assert.Equal("*[\"fifo:z\", \"c\", \"3\"]", a.Read().ToString());
        Assert.Equal("*[\"fifo:z\", *[*[\"a\", \"1\"], *[\"b\", \"2\"]]]", b.Read().ToString());
        Assert.Equal(":0", p.CallS("EXISTS", "fifo:z"));

        var sw = Stopwatch.StartNew();
        Assert.Equal("*nil", a.CallS("BZPOPMIN", "to:z", "0.2"));
        Assert.InRange(sw.ElapsedMilliseconds, 150, 1500);
    }

    [Fact]
    public void LargeSetConvertsToSkiplistAndKeepsRanks()
    {
        using var c = fx.Connect();
        var args = new List<string> { "ZADD", "big:z" };
        for (int i = 0; i < 1000; i++)
        {
            args.Add((i % 97).ToString(System.Globalization.CultureInfo.InvariantCulture));
            args.Add("m" + i.ToString("D4", System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Equal(":1000", c.CallS(args.ToArray()));
        Assert.Equal("\"skiplist\"", c.CallS("OBJECT", "ENCODING", "big:z"));
        // Score 0 holds m0000, m0097, ...: lowest rank goes to the smallest member.
        Assert.Equal(":0", c.CallS("ZRANK", "big:z", "m0000"));
        Assert.Equal(":1", c.CallS("ZRANK", "big:z", "m0097"));
        Assert.Equal(":11", c.CallS("ZCOUNT", "big:z", "0", "0"));
        Assert.Equal(":989", c.CallS("ZREMRANGEBYSCORE", "big:z", "(0", "+inf"));
        Assert.Equal("\"skiplist\"", c.CallS("OBJECT", "ENCODING", "big:z"));
        Assert.Equal(":11", c.CallS("ZUNIONSTORE", "small:z", "1", "big:z"));
        Assert.Equal("\"listpack\"", c.CallS("OBJECT", "ENCODING", "small:z"));
        Assert.Equal(":1", c.CallS("COPY", "big:z", "copy:z"));
        Assert.Equal(":1", c.CallS("ZREM", "copy:z", "m0000"));
        Assert.Equal(":11", c.CallS("ZCARD", "big:z"));
    }

    [Fact]
    public void ZScanOverSkiplistVisitsEveryMemberWithItsScore()
    {
        using var c = fx.Connect();
        var args = new List<string> { "ZADD", "scan:z" };
        for (int i = 0; i < 500; i++) args.AddRange([(i / 2.0).ToString(System.Globalization.CultureInfo.InvariantCulture), "m" + i]);
        c.Call(args.ToArray());
        Assert.Equal("\"skiplist\"", c.CallS("OBJECT", "ENCODING", "scan:z"));
        var seen = new Dictionary<string, string>();
        string cursor = "0";
        do
        {
            var r = c.Call("ZSCAN", "scan:z", cursor, "COUNT", "20");
            cursor = r.Items![0].Text!;
            var items = r.Items[1].Items!;
            for (int i = 0; i < items.Count; i += 2) seen[items[i].Text!] = items[i + 1].Text!;
        } while (cursor != "0");
        Assert.Equal(500, seen.Count);
        Assert.Equal("249.5", seen["m499"]);
        Assert.Equal("0", seen["m0"]);
    }
}
