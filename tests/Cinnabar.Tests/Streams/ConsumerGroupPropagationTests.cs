// What consumer-group commands leave in the replication stream, as redis-server 7.0.15 writes
// it to its AOF: XGROUP and XACK as themselves; XREADGROUP's deliveries, XCLAIM and XAUTOCLAIM
// as one XCLAIM ... FORCE JUSTID LASTID per entry (also for an entry dropped from the PEL
// because it was deleted), a NOACK read and a LASTID-only XCLAIM as XGROUP SETID ... ENTRIESREAD;
// a history read and claims that claim nothing propagate nothing. Delivery times are masked.
using System.Text.RegularExpressions;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Streams;

public sealed partial class ConsumerGroupPropagationTests : IDisposable
{
    readonly ReplicaStreamTap _tap = new();
    ServerFixture _fx => _tap.Server;
    RespClient _c => _tap.Client;

    public void Dispose() => _tap.Dispose();

    [GeneratedRegex(@"TIME \d+")]
    private static partial Regex TimeRegex();

    string Next()
    {
        return TimeRegex().Replace(_tap.Next(), "TIME T");
    }

    void Expect(params string[] commands)
    {
        foreach (var cmd in commands) Assert.Equal(cmd, Next());
    }

    /// <summary>A marker write proves nothing else was propagated before it.</summary>
    void AssertNothingPropagatedBefore(string marker)
    {
        _c.Call("SET", marker, "1");
        Assert.Equal($"SET {marker} 1", Next());
    }

    [Fact]
    public void GroupCommandsPropagateAsRedisDoes()
    {
        _c.Call("XADD", "s", "1-1", "f", "1");
        _c.Call("XADD", "s", "2-1", "f", "2");
        _c.Call("XADD", "s", "3-1", "f", "3");
        _c.Call("XGROUP", "CREATE", "s", "g", "0");
        Expect("XADD s 1-1 f 1", "XADD s 2-1 f 2", "XADD s 3-1 f 3", "XGROUP CREATE s g 0");

        _c.Call("XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">");
        Expect("MULTI",
            "XCLAIM s g c1 0 1-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
            "XCLAIM s g c1 0 2-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 2-1",
            "EXEC");
        _c.Call("XREADGROUP", "GROUP", "g", "c2", "NOACK", "STREAMS", "s", ">");
        Expect("MULTI", "XGROUP CREATECONSUMER s g c2", "XGROUP SETID s g 3-1 ENTRIESREAD 3", "EXEC");
        _c.Call("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", "0");
        _c.Call("XACK", "s", "g", "1-1", "9-9");
        Expect("XACK s g 1-1 9-9");
        _c.Call("XACK", "s", "g", "1-1");
        AssertNothingPropagatedBefore("marker1");

        // XCLAIM passes the ID on as written; a LASTID alone moves the group by XGROUP SETID.
        _c.Call("XCLAIM", "s", "g", "c3", "0", "2", "2-1", "RETRYCOUNT", "4", "JUSTID");
        Expect("XCLAIM s g c3 0 2-1 TIME T RETRYCOUNT 4 FORCE JUSTID LASTID 3-1");
        _c.Call("XCLAIM", "s", "g", "c3", "0", "9-9", "LASTID", "9-0");
        Expect("XGROUP SETID s g 9-0 ENTRIESREAD 3");
        _c.Call("XCLAIM", "s", "g", "c3", "0", "9-9");
        AssertNothingPropagatedBefore("marker2");

        // An entry deleted from the stream leaves the PEL as an XCLAIM to its old owner.
        _c.Call("XDEL", "s", "2-1");
        Expect("XDEL s 2-1");
        _c.Call("XCLAIM", "s", "g", "c4", "0", "2-1");
        Expect("XCLAIM s g c3 0 2-1 TIME T RETRYCOUNT 4 FORCE JUSTID LASTID 9-0");
        _c.Call("XCLAIM", "s", "g", "c4", "0", "3-1", "FORCE", "TIME", "1000");
        Expect("XCLAIM s g c4 0 3-1 TIME T RETRYCOUNT 2 FORCE JUSTID LASTID 9-0");
        _c.Call("XAUTOCLAIM", "s", "g", "c5", "0", "0");
        Expect("XCLAIM s g c5 0 3-1 TIME T RETRYCOUNT 3 FORCE JUSTID LASTID 9-0");
        _c.Call("XAUTOCLAIM", "s", "g", "c5", "100000000", "0");
        AssertNothingPropagatedBefore("marker3");

        _c.Call("XGROUP", "SETID", "s", "g", "0");
        _c.Call("XGROUP", "DELCONSUMER", "s", "g", "c5");
        _c.Call("XGROUP", "DESTROY", "s", "g");
        Expect("XGROUP SETID s g 0", "XGROUP DELCONSUMER s g c5", "XGROUP DESTROY s g");
    }

    [Fact]
    public void XAutoClaimOfSeveralEntriesIsOneTransaction()
    {
        _c.Call("XADD", "a", "1-1", "f", "1");
        _c.Call("XADD", "a", "2-1", "f", "2");
        _c.Call("XADD", "a", "3-1", "f", "3");
        _c.Call("XGROUP", "CREATE", "a", "g", "0");
        _c.Call("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "a", ">");
        Expect("XADD a 1-1 f 1", "XADD a 2-1 f 2", "XADD a 3-1 f 3", "XGROUP CREATE a g 0", "MULTI");
        Expect("XCLAIM a g c1 0 1-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
            "XCLAIM a g c1 0 2-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 2-1",
            "XCLAIM a g c1 0 3-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 3-1", "EXEC");
        _c.Call("XDEL", "a", "2-1");
        Expect("XDEL a 2-1");
        Assert.Equal("*[\"0-0\", *[\"1-1\", \"3-1\"], *[\"2-1\"]]", _c.CallS("XAUTOCLAIM", "a", "g", "c2", "0", "0", "JUSTID"));
        Expect("MULTI",
            "XCLAIM a g c2 0 1-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 3-1",
            "XCLAIM a g c1 0 2-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 3-1",
            "XCLAIM a g c2 0 3-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 3-1",
            "EXEC");
    }
}
