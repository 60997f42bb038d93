// Consumer groups end to end over a socket: XGROUP's subcommands, deliveries to several
// consumers with XREADGROUP, XACK, XPENDING (summary, ranges, IDLE), XCLAIM and XAUTOCLAIM
// (with entries deleted from the stream), lag and entries-read, XINFO in RESP2 and RESP3, and a
// blocked XREADGROUP woken by XGROUP DESTROY. The expected replies are redis-server 7.0.15's;
// delivery times are set with XCLAIM TIME where a reply depends on them, and replies carrying
// clock readings compare through Masked.
using System.Text.RegularExpressions;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Streams;

public partial class ConsumerGroupTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    /// <summary>A reply with its clock readings blanked: unix-ms timestamps become T, idle times N.</summary>
    static string Masked(string reply)
    {
        reply = TimestampRegex().Replace(reply, ":T");
        reply = IdleFieldRegex().Replace(reply, "$1N");
        return PendingIdleRegex().Replace(reply, "$1N$2");
    }

    [GeneratedRegex(@":\d{12,}")]
    private static partial Regex TimestampRegex();

    [GeneratedRegex("(\"idle\", :)\\d+")]
    private static partial Regex IdleFieldRegex();

    /// <summary>XPENDING's extended entries: [id, consumer, idle, deliveries].</summary>
    [GeneratedRegex("(\\*\\[\"[^\"]*\", \"[^\"]*\", :)\\d+(, :\\d+\\])")]
    private static partial Regex PendingIdleRegex();

    [Fact]
    public void XGroupSubcommandsReplyAndFailAsRedis()
    {
        using var c = fx.Connect();
        c.Call("XADD", "xg:s", "1-1", "a", "1");
        c.Call("XADD", "xg:s", "2-1", "b", "2");
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "xg:s", "g", "0"));
        Assert.Equal("-BUSYGROUP Consumer Group name already exists", c.CallS("XGROUP", "CREATE", "xg:s", "g", "$"));
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "xg:s", "g2", "$", "ENTRIESREAD", "2"));
        Assert.Equal("-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.", c.CallS("XGROUP", "CREATE", "xg:none", "g", "0"));
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "xg:mk", "g", "$", "MKSTREAM"));
        Assert.Equal(":0", c.CallS("XLEN", "xg:mk"));
        Assert.Equal("-ERR value for ENTRIESREAD must be positive or -1", c.CallS("XGROUP", "CREATE", "xg:s", "g3", "0", "ENTRIESREAD", "-2"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.", c.CallS("XGROUP", "CREATE", "xg:s", "g3", "0", "FOO"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'CREATE'. Try XGROUP HELP.", c.CallS("XGROUP", "CREATE", "xg:s", "g3", "0", "MKSTREAM", "ENTRIESREAD", "1", "x"));
        Assert.Equal("-ERR Invalid stream ID specified as stream command argument", c.CallS("XGROUP", "CREATE", "xg:s", "g3", "+"));
        Assert.Equal("+OK", c.CallS("XGROUP", "SETID", "xg:s", "g", "1-1", "ENTRIESREAD", "1"));
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("XGROUP", "SETID", "xg:s", "g3", "0", "ENTRIESREAD", "x"));
        Assert.Equal("-NOGROUP No such consumer group 'nog' for key name 'xg:s'", c.CallS("XGROUP", "SETID", "xg:s", "nog", "0"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.", c.CallS("XGROUP", "SETID", "xg:s", "g", "0", "MKSTREAM"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'SETID'. Try XGROUP HELP.", c.CallS("XGROUP", "SETID", "xg:s", "g", "0", "ENTRIESREAD", "1", "ENTRIESREAD", "2"));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"1-1\", \"entries-read\", :1, \"lag\", :1], *[\"name\", \"g2\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"2-1\", \"entries-read\", :2, \"lag\", :0]]", c.CallS("XINFO", "GROUPS", "xg:s"));
        Assert.Equal("+OK", c.CallS("XGROUP", "SETID", "xg:s", "g", "+"));
        Assert.Equal("+OK", c.CallS("XGROUP", "SETID", "xg:s", "g2", "0"));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"18446744073709551615-18446744073709551615\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"g2\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"0-0\", \"entries-read\", $nil, \"lag\", :2]]", c.CallS("XINFO", "GROUPS", "xg:s"));
        Assert.Equal(":1", c.CallS("XGROUP", "CREATECONSUMER", "xg:s", "g", "alice"));
        Assert.Equal(":0", c.CallS("XGROUP", "CREATECONSUMER", "xg:s", "g", "alice"));
        Assert.Equal("-NOGROUP No such consumer group 'nog' for key name 'xg:s'", c.CallS("XGROUP", "CREATECONSUMER", "xg:s", "nog", "alice"));
        Assert.Equal(":0", c.CallS("XGROUP", "DELCONSUMER", "xg:s", "g", "alice"));
        Assert.Equal(":0", c.CallS("XGROUP", "DELCONSUMER", "xg:s", "g", "alice"));
        Assert.Equal(":1", c.CallS("XGROUP", "DESTROY", "xg:s", "g2"));
        Assert.Equal(":0", c.CallS("XGROUP", "DESTROY", "xg:s", "g2"));
        Assert.Equal("-ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.", c.CallS("XGROUP", "DESTROY", "xg:none", "g"));
        c.Call("SET", "xg:str", "v");
        Assert.Equal("-WRONGTYPE Operation against a key holding the wrong kind of value", c.CallS("XGROUP", "CREATE", "xg:str", "g", "0", "MKSTREAM"));
        Assert.Equal("-ERR unknown subcommand 'FOO'. Try XGROUP HELP.", c.CallS("XGROUP", "FOO", "xg:s", "g"));
        Assert.Equal("-ERR wrong number of arguments for 'xgroup|create' command", c.CallS("XGROUP", "CREATE", "xg:s", "g"));
        Assert.Equal("*[+XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, +CREATE <key> <groupname> <id|$> [option], +    Create a new consumer group. Options are:, +    * MKSTREAM, +      Create the empty stream if it does not exist., +    * ENTRIESREAD entries_read, +      Set the group's entries_read counter (internal use)., +CREATECONSUMER <key> <groupname> <consumer>, +    Create a new consumer in the specified group., +DELCONSUMER <key> <groupname> <consumer>, +    Remove the specified consumer., +DESTROY <key> <groupname>, +    Remove the specified group., +SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read], +    Set the current group ID and entries_read counter., +HELP, +    Prints this help.]", c.CallS("XGROUP", "HELP"));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"18446744073709551615-18446744073709551615\", \"entries-read\", $nil, \"lag\", $nil]]", c.CallS("XINFO", "GROUPS", "xg:s"));
    }

    [Fact]
    public void SeveralConsumersReadAcknowledgeAndReplayTheirHistory()
    {
        using var c = fx.Connect();
        c.Call("XADD", "cg:s", "1-1", "f", "1");
        c.Call("XADD", "cg:s", "2-1", "f", "2");
        c.Call("XADD", "cg:s", "3-1", "f", "3");
        c.Call("XADD", "cg:s", "4-1", "f", "4");
        c.Call("XADD", "cg:s", "5-1", "f", "5");
        c.Call("XADD", "cg:s", "6-1", "f", "6");
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "cg:s", "g", "0"));
        Assert.Equal("*[*[\"cg:s\", *[*[\"1-1\", *[\"f\", \"1\"]], *[\"2-1\", *[\"f\", \"2\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "cg:s", ">"));
        Assert.Equal("*[*[\"cg:s\", *[*[\"3-1\", *[\"f\", \"3\"]], *[\"4-1\", *[\"f\", \"4\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "bob", "COUNT", "2", "STREAMS", "cg:s", ">"));
        Assert.Equal("*[*[\"cg:s\", *[*[\"5-1\", *[\"f\", \"5\"]], *[\"6-1\", *[\"f\", \"6\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "cg:s", ">"));
        Assert.Equal("*nil", c.CallS("XREADGROUP", "GROUP", "g", "carol", "STREAMS", "cg:s", ">"));
        Assert.Equal("*[:6, \"1-1\", \"6-1\", *[*[\"alice\", \"2\"], *[\"bob\", \"2\"], *[\"carol\", \"2\"]]]", c.CallS("XPENDING", "cg:s", "g"));
        // a history read starts after the ID given and sees only the reader's own entries
        Assert.Equal("*[*[\"cg:s\", *[*[\"1-1\", *[\"f\", \"1\"]], *[\"2-1\", *[\"f\", \"2\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "cg:s", "0"));
        Assert.Equal("*[*[\"cg:s\", *[*[\"2-1\", *[\"f\", \"2\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "cg:s", "1-1"));
        Assert.Equal("*[*[\"cg:s\", *[*[\"3-1\", *[\"f\", \"3\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "cg:s", "0"));
        Assert.Equal(":2", c.CallS("XACK", "cg:s", "g", "1-1", "3-1", "9-9"));
        Assert.Equal(":0", c.CallS("XACK", "cg:s", "g", "1-1"));
        Assert.Equal("*[:4, \"2-1\", \"6-1\", *[*[\"alice\", \"1\"], *[\"bob\", \"1\"], *[\"carol\", \"2\"]]]", c.CallS("XPENDING", "cg:s", "g"));
        Assert.Equal("*[*[\"2-1\", \"alice\", :N, :3], *[\"4-1\", \"bob\", :N, :1], *[\"5-1\", \"carol\", :N, :1], *[\"6-1\", \"carol\", :N, :1]]", Masked(c.CallS("XPENDING", "cg:s", "g", "-", "+", "10")));
        Assert.Equal("*[*[\"5-1\", \"carol\", :N, :1], *[\"6-1\", \"carol\", :N, :1]]", Masked(c.CallS("XPENDING", "cg:s", "g", "-", "+", "10", "carol")));
        Assert.Equal("*[]", c.CallS("XPENDING", "cg:s", "g", "-", "+", "10", "nobody"));
        Assert.Equal("*[*[\"cg:s\", *[*[\"2-1\", *[\"f\", \"2\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "alice", "STREAMS", "cg:s", "0"));
        Assert.Equal("*[*[\"2-1\", \"alice\", :N, :4]]", Masked(c.CallS("XPENDING", "cg:s", "g", "2-1", "2-1", "1")));
        Assert.Equal("*[*[\"name\", \"alice\", \"pending\", :1, \"idle\", :N], *[\"name\", \"bob\", \"pending\", :1, \"idle\", :N], *[\"name\", \"carol\", \"pending\", :2, \"idle\", :N]]", Masked(c.CallS("XINFO", "CONSUMERS", "cg:s", "g")));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :3, \"pending\", :4, \"last-delivered-id\", \"6-1\", \"entries-read\", :6, \"lag\", :0]]", c.CallS("XINFO", "GROUPS", "cg:s"));
        Assert.Equal(":2", c.CallS("XGROUP", "DELCONSUMER", "cg:s", "g", "carol"));
        Assert.Equal("*[:2, \"2-1\", \"4-1\", *[*[\"alice\", \"1\"], *[\"bob\", \"1\"]]]", c.CallS("XPENDING", "cg:s", "g"));
        Assert.Equal(":2", c.CallS("XACK", "cg:s", "g", "2-1", "4-1"));
        Assert.Equal("*[:0, $nil, $nil, *nil]", c.CallS("XPENDING", "cg:s", "g"));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :2, \"pending\", :0, \"last-delivered-id\", \"6-1\", \"entries-read\", :6, \"lag\", :0]]", c.CallS("XINFO", "GROUPS", "cg:s"));
    }

    [Fact]
    public void XAckParsesEveryIdBeforeAcknowledgingAny()
    {
        using var c = fx.Connect();
        c.Call("XADD", "ack:s", "1-1", "f", "1");
        c.Call("XADD", "ack:s", "2-1", "f", "2");
        c.Call("XGROUP", "CREATE", "ack:s", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "ack:s", ">");
        Assert.Equal("-ERR Invalid stream ID specified as stream command argument", c.CallS("XACK", "ack:s", "g", "1-1", "x"));
        Assert.Equal("-ERR Invalid stream ID specified as stream command argument", c.CallS("XACK", "ack:s", "g", "1-1", "+"));
        Assert.Equal("*[:2, \"1-1\", \"2-1\", *[*[\"c\", \"2\"]]]", c.CallS("XPENDING", "ack:s", "g"));
        Assert.Equal(":0", c.CallS("XACK", "ack:s", "nog", "1-1"));
        Assert.Equal(":0", c.CallS("XACK", "ack:none", "g", "x"));
        Assert.Equal(":1", c.CallS("XACK", "ack:s", "g", "1", "2-1"));
        Assert.Equal("*[:1, \"1-1\", \"1-1\", *[*[\"c\", \"1\"]]]", c.CallS("XPENDING", "ack:s", "g"));
    }

    [Fact]
    public void XPendingIdleKeepsEntriesDeliveredLongEnoughAgo()
    {
        using var c = fx.Connect();
        c.Call("XADD", "idle:s", "1-1", "f", "1");
        c.Call("XADD", "idle:s", "2-1", "f", "2");
        c.Call("XADD", "idle:s", "3-1", "f", "3");
        c.Call("XADD", "idle:s", "4-1", "f", "4");
        c.Call("XGROUP", "CREATE", "idle:s", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "idle:s", ">");
        // 1-1 and 3-1 delivered at unix time 1 s (long ago), 2-1 and 4-1 just now
        Assert.Equal("*[\"1-1\"]", c.CallS("XCLAIM", "idle:s", "g", "c1", "0", "1-1", "TIME", "1000", "JUSTID"));
        Assert.Equal("*[\"3-1\"]", c.CallS("XCLAIM", "idle:s", "g", "c2", "0", "3-1", "TIME", "1000", "JUSTID"));
        Assert.Equal("*[\"4-1\"]", c.CallS("XCLAIM", "idle:s", "g", "c2", "0", "4-1", "JUSTID"));
        Assert.Equal("*[*[\"1-1\", \"c1\", :T, :1], *[\"3-1\", \"c2\", :T, :1]]", Masked(c.CallS("XPENDING", "idle:s", "g", "IDLE", "3600000", "-", "+", "10")));
        Assert.Equal("*[*[\"1-1\", \"c1\", :T, :1]]", Masked(c.CallS("XPENDING", "idle:s", "g", "IDLE", "3600000", "-", "+", "1")));
        Assert.Equal("*[*[\"3-1\", \"c2\", :T, :1]]", Masked(c.CallS("XPENDING", "idle:s", "g", "IDLE", "3600000", "2-1", "+", "10")));
        Assert.Equal("*[*[\"3-1\", \"c2\", :T, :1]]", Masked(c.CallS("XPENDING", "idle:s", "g", "IDLE", "3600000", "-", "+", "10", "c2")));
        Assert.Equal("*[]", Masked(c.CallS("XPENDING", "idle:s", "g", "IDLE", "3600000", "(1-1", "+", "10", "c1")));
        Assert.Equal("*[*[\"1-1\", \"c1\", :T, :1], *[\"2-1\", \"c1\", :N, :1], *[\"3-1\", \"c2\", :T, :1], *[\"4-1\", \"c2\", :N, :1]]", Masked(c.CallS("XPENDING", "idle:s", "g", "IDLE", "0", "-", "+", "10")));
        Assert.Equal("*[*[\"2-1\", \"c1\", :N, :1], *[\"3-1\", \"c2\", :T, :1]]", Masked(c.CallS("XPENDING", "idle:s", "g", "(1-1", "(4-1", "10")));
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("XPENDING", "idle:s", "g", "IDLE", "x", "-", "+", "10"));
        Assert.Equal("-ERR syntax error", c.CallS("XPENDING", "idle:s", "g", "IDLE", "10", "-", "+"));
        Assert.Equal("-ERR syntax error", c.CallS("XPENDING", "idle:s", "g", "-", "+"));
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("XPENDING", "idle:s", "g", "-", "+", "x"));
        Assert.Equal("-ERR Invalid stream ID specified as stream command argument", c.CallS("XPENDING", "idle:s", "g", "x", "+", "10"));
        Assert.Equal("-ERR invalid end ID for the interval", c.CallS("XPENDING", "idle:s", "g", "-", "(0-0", "10"));
        Assert.Equal("-NOGROUP No such key 'idle:s' or consumer group 'nog'", c.CallS("XPENDING", "idle:s", "nog", "-", "+", "10"));
        // the same delivery times drive XCLAIM's and XAUTOCLAIM's min-idle-time
        Assert.Equal("*[\"1-1\"]", c.CallS("XCLAIM", "idle:s", "g", "c3", "3600000", "1-1", "2-1", "JUSTID"));
        Assert.Equal("*[\"0-0\", *[\"3-1\"], *[]]", c.CallS("XAUTOCLAIM", "idle:s", "g", "c3", "3600000", "0", "JUSTID"));
        Assert.Equal("*[*[\"1-1\", \"c3\", :N, :1], *[\"2-1\", \"c1\", :N, :1], *[\"3-1\", \"c3\", :N, :1], *[\"4-1\", \"c2\", :N, :1]]", Masked(c.CallS("XPENDING", "idle:s", "g", "-", "+", "10")));
    }

    [Fact]
    public void XClaimSetsOwnerDeliveryTimeAndCount()
    {
        using var c = fx.Connect();
        c.Call("XADD", "cl:s", "1-1", "f", "1");
        c.Call("XADD", "cl:s", "2-1", "f", "2");
        c.Call("XADD", "cl:s", "3-1", "f", "3");
        c.Call("XADD", "cl:s", "4-1", "f", "4");
        c.Call("XADD", "cl:s", "5-1", "f", "5");
        c.Call("XGROUP", "CREATE", "cl:s", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "c1", "COUNT", "3", "STREAMS", "cl:s", ">");
        Assert.Equal("*[*[\"1-1\", *[\"f\", \"1\"]]]", c.CallS("XCLAIM", "cl:s", "g", "c2", "0", "1-1", "TIME", "1000"));
        Assert.Equal("*[\"2-1\", \"3-1\"]", c.CallS("XCLAIM", "cl:s", "g", "c2", "0", "2-1", "3-1", "TIME", "2000", "RETRYCOUNT", "5", "JUSTID"));
        Assert.Equal("*[]", c.CallS("XCLAIM", "cl:s", "g", "c2", "0", "4-1"));
        Assert.Equal("*[\"4-1\", \"5-1\"]", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "4-1", "5-1", "FORCE", "TIME", "3000", "JUSTID"));
        Assert.Equal("*[]", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "99-0", "FORCE"));
        Assert.Equal("*[*[\"1-1\", *[\"f\", \"1\"]], *[\"1-1\", *[\"f\", \"1\"]]]", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "1-1", "1-1", "TIME", "4000"));
        Assert.Equal("*[\"length\", :5, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"5-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :5, \"recorded-first-entry-id\", \"1-1\", \"entries\", *[*[\"1-1\", *[\"f\", \"1\"]], *[\"2-1\", *[\"f\", \"2\"]], *[\"3-1\", *[\"f\", \"3\"]], *[\"4-1\", *[\"f\", \"4\"]], *[\"5-1\", *[\"f\", \"5\"]]], \"groups\", *[*[\"name\", \"g\", \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", :2, \"pel-count\", :5, \"pending\", *[*[\"1-1\", \"c3\", :N, :4], *[\"2-1\", \"c2\", :N, :5], *[\"3-1\", \"c2\", :N, :5], *[\"4-1\", \"c3\", :N, :1], *[\"5-1\", \"c3\", :N, :1]], \"consumers\", *[*[\"name\", \"c1\", \"seen-time\", :T, \"pel-count\", :0, \"pending\", *[]], *[\"name\", \"c2\", \"seen-time\", :T, \"pel-count\", :2, \"pending\", *[*[\"2-1\", :2000, :5], *[\"3-1\", :2000, :5]]], *[\"name\", \"c3\", \"seen-time\", :T, \"pel-count\", :3, \"pending\", *[*[\"1-1\", :4000, :4], *[\"4-1\", :3000, :1], *[\"5-1\", :3000, :1]]]]]]]", Masked(c.CallS("XINFO", "STREAM", "cl:s", "FULL")));
        Assert.Equal("*[\"2-1\"]", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "2-1", "LASTID", "10-0", "JUSTID"));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :3, \"pending\", :5, \"last-delivered-id\", \"10-0\", \"entries-read\", :3, \"lag\", :2]]", c.CallS("XINFO", "GROUPS", "cl:s"));
        Assert.Equal("*[]", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "9-9", "LASTID", "11-0"));
        Assert.Equal("*[]", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "9-9", "LASTID", "1-0"));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :3, \"pending\", :5, \"last-delivered-id\", \"11-0\", \"entries-read\", :3, \"lag\", :2]]", c.CallS("XINFO", "GROUPS", "cl:s"));
        Assert.Equal("-ERR Invalid min-idle-time argument for XCLAIM", c.CallS("XCLAIM", "cl:s", "g", "c3", "x", "1-1"));
        Assert.Equal("-ERR Invalid IDLE option argument for XCLAIM", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "1-1", "IDLE", "x"));
        Assert.Equal("-ERR Invalid TIME option argument for XCLAIM", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "1-1", "TIME", "x"));
        Assert.Equal("-ERR Invalid RETRYCOUNT option argument for XCLAIM", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "1-1", "RETRYCOUNT", "x"));
        Assert.Equal("-ERR Invalid stream ID specified as stream command argument", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "1-1", "LASTID", "+"));
        Assert.Equal("-ERR Unrecognized XCLAIM option 'FOO'", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "1-1", "FOO"));
        Assert.Equal("-ERR Unrecognized XCLAIM option '+'", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "+"));
        Assert.Equal("-ERR Unrecognized XCLAIM option 'IDLE'", c.CallS("XCLAIM", "cl:s", "g", "c3", "0", "1-1", "IDLE"));
        Assert.Equal("-NOGROUP No such key 'cl:s' or consumer group 'nog'", c.CallS("XCLAIM", "cl:s", "nog", "c3", "0", "1-1"));
        Assert.Equal("-NOGROUP No such key 'cl:none' or consumer group 'g'", c.CallS("XCLAIM", "cl:none", "g", "c3", "x", "1-1"));
        c.Call("SET", "cl:str", "v");
        Assert.Equal("-WRONGTYPE Operation against a key holding the wrong kind of value", c.CallS("XCLAIM", "cl:str", "g", "c3", "0", "1-1"));
    }

    [Fact]
    public void XClaimDropsEntriesDeletedFromTheStream()
    {
        using var c = fx.Connect();
        c.Call("XADD", "del:s", "1-1", "f", "1");
        c.Call("XADD", "del:s", "2-1", "f", "2");
        c.Call("XADD", "del:s", "3-1", "f", "3");
        c.Call("XGROUP", "CREATE", "del:s", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "del:s", ">");
        c.Call("XDEL", "del:s", "2-1");
        Assert.Equal("*[*[\"del:s\", *[*[\"1-1\", *[\"f\", \"1\"]], *[\"2-1\", *nil], *[\"3-1\", *[\"f\", \"3\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "del:s", "0"));
        Assert.Equal("*[\"1-1\", \"3-1\"]", c.CallS("XCLAIM", "del:s", "g", "c2", "0", "1-1", "2-1", "3-1", "JUSTID"));
        Assert.Equal("*[:2, \"1-1\", \"3-1\", *[*[\"c2\", \"2\"]]]", c.CallS("XPENDING", "del:s", "g"));
        Assert.Equal("*[*[\"del:s\", *[]]]", c.CallS("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "del:s", "0"));
        Assert.Equal("*[*[\"del:s\", *[*[\"1-1\", *[\"f\", \"1\"]], *[\"3-1\", *[\"f\", \"3\"]]]]]", c.CallS("XREADGROUP", "GROUP", "g", "c2", "STREAMS", "del:s", "0"));
    }

    [Fact]
    public void XAutoClaimPagesThroughThePelAndReportsDeletedEntries()
    {
        using var c = fx.Connect();
        c.Call("XADD", "ac:s", "1-1", "f", "1");
        c.Call("XADD", "ac:s", "2-1", "f", "2");
        c.Call("XADD", "ac:s", "3-1", "f", "3");
        c.Call("XADD", "ac:s", "4-1", "f", "4");
        c.Call("XADD", "ac:s", "5-1", "f", "5");
        c.Call("XADD", "ac:s", "6-1", "f", "6");
        c.Call("XADD", "ac:s", "7-1", "f", "7");
        c.Call("XADD", "ac:s", "8-1", "f", "8");
        c.Call("XGROUP", "CREATE", "ac:s", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "ac:s", ">");
        Assert.Equal("*[\"4-1\", *[*[\"1-1\", *[\"f\", \"1\"]], *[\"2-1\", *[\"f\", \"2\"]], *[\"3-1\", *[\"f\", \"3\"]]], *[]]", c.CallS("XAUTOCLAIM", "ac:s", "g", "c2", "0", "0", "COUNT", "3"));
        Assert.Equal("*[\"7-1\", *[\"4-1\", \"5-1\", \"6-1\"], *[]]", c.CallS("XAUTOCLAIM", "ac:s", "g", "c2", "0", "4-1", "COUNT", "3", "JUSTID"));
        Assert.Equal("*[\"0-0\", *[\"7-1\", \"8-1\"], *[]]", c.CallS("XAUTOCLAIM", "ac:s", "g", "c2", "0", "7-1", "COUNT", "3", "JUSTID"));
        Assert.Equal("*[:8, \"1-1\", \"8-1\", *[*[\"c2\", \"8\"]]]", c.CallS("XPENDING", "ac:s", "g"));
        c.Call("XDEL", "ac:s", "2-1", "3-1", "5-1");
        // a deleted entry leaves the PEL, is reported in the third element and counts against COUNT
        Assert.Equal("*[\"3-1\", *[\"1-1\"], *[\"2-1\"]]", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "0", "COUNT", "2", "JUSTID"));
        Assert.Equal("*[\"6-1\", *[*[\"4-1\", *[\"f\", \"4\"]]], *[\"3-1\", \"5-1\"]]", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "3-1", "COUNT", "3"));
        Assert.Equal("*[\"0-0\", *[*[\"7-1\", *[\"f\", \"7\"]], *[\"8-1\", *[\"f\", \"8\"]]], *[]]", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "(6-1"));
        Assert.Equal("*[\"0-0\", *[], *[]]", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "+"));
        Assert.Equal("*[:5, \"1-1\", \"8-1\", *[*[\"c2\", \"1\"], *[\"c3\", \"4\"]]]", c.CallS("XPENDING", "ac:s", "g"));
        Assert.Equal("-ERR COUNT must be > 0", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "0", "COUNT", "0"));
        Assert.Equal("-ERR COUNT must be > 0", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "0", "COUNT", "x"));
        Assert.Equal("-ERR COUNT must be > 0", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "0", "COUNT", "576460752303423488"));
        Assert.Equal("-ERR Insufficient memory, failed allocating transient memory, COUNT too high.", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "0", "COUNT", "576460752303423487"));
        Assert.Equal("-ERR Invalid min-idle-time argument for XAUTOCLAIM", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "x", "0"));
        Assert.Equal("-ERR Invalid stream ID specified as stream command argument", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "x"));
        Assert.Equal("-ERR invalid start ID for the interval", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "(18446744073709551615-18446744073709551615"));
        Assert.Equal("-ERR syntax error", c.CallS("XAUTOCLAIM", "ac:s", "g", "c3", "0", "0", "FOO"));
        Assert.Equal("-NOGROUP No such key 'ac:s' or consumer group 'nog'", c.CallS("XAUTOCLAIM", "ac:s", "nog", "c3", "0", "0"));
        Assert.Equal("-ERR COUNT must be > 0", c.CallS("XAUTOCLAIM", "ac:s", "nog", "c3", "0", "0", "COUNT", "0"));
    }

    [Fact]
    public void XAutoClaimLooksAtTenEntriesPerCount()
    {
        using var c = fx.Connect();
        c.Call("XADD", "at:s", "1-1", "f", "1");
        c.Call("XADD", "at:s", "2-1", "f", "1");
        c.Call("XADD", "at:s", "3-1", "f", "1");
        c.Call("XADD", "at:s", "4-1", "f", "1");
        c.Call("XADD", "at:s", "5-1", "f", "1");
        c.Call("XADD", "at:s", "6-1", "f", "1");
        c.Call("XADD", "at:s", "7-1", "f", "1");
        c.Call("XADD", "at:s", "8-1", "f", "1");
        c.Call("XADD", "at:s", "9-1", "f", "1");
        c.Call("XADD", "at:s", "10-1", "f", "1");
        c.Call("XADD", "at:s", "11-1", "f", "1");
        c.Call("XADD", "at:s", "12-1", "f", "1");
        c.Call("XADD", "at:s", "13-1", "f", "1");
        c.Call("XADD", "at:s", "14-1", "f", "1");
        c.Call("XADD", "at:s", "15-1", "f", "1");
        c.Call("XADD", "at:s", "16-1", "f", "1");
        c.Call("XADD", "at:s", "17-1", "f", "1");
        c.Call("XADD", "at:s", "18-1", "f", "1");
        c.Call("XADD", "at:s", "19-1", "f", "1");
        c.Call("XADD", "at:s", "20-1", "f", "1");
        c.Call("XADD", "at:s", "21-1", "f", "1");
        c.Call("XADD", "at:s", "22-1", "f", "1");
        c.Call("XGROUP", "CREATE", "at:s", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "at:s", ">");
        Assert.Equal("*[\"11-1\", *[], *[]]", c.CallS("XAUTOCLAIM", "at:s", "g", "c2", "3600000", "0", "COUNT", "1"));
        Assert.Equal("*[\"21-1\", *[], *[]]", c.CallS("XAUTOCLAIM", "at:s", "g", "c2", "3600000", "11-1", "COUNT", "1"));
        Assert.Equal("*[\"21-1\", *[], *[]]", c.CallS("XAUTOCLAIM", "at:s", "g", "c2", "3600000", "0", "COUNT", "2"));
        Assert.Equal("*[\"0-0\", *[], *[]]", c.CallS("XAUTOCLAIM", "at:s", "g", "c2", "3600000", "0", "COUNT", "3"));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :1, \"pending\", :22, \"last-delivered-id\", \"22-1\", \"entries-read\", :22, \"lag\", :0]]", c.CallS("XINFO", "GROUPS", "at:s"));
    }

    [Fact]
    public void ConsumersAreCreatedOnlyWhenTheyGetSomething()
    {
        using var c = fx.Connect();
        c.Call("XADD", "lz:s", "1-1", "f", "1");
        c.Call("XGROUP", "CREATE", "lz:s", "g", "$");
        Assert.Equal("*nil", c.CallS("XREADGROUP", "GROUP", "g", "reader", "STREAMS", "lz:s", ">"));
        Assert.Equal("*nil", c.CallS("XREADGROUP", "GROUP", "g", "reader", "BLOCK", "10", "STREAMS", "lz:s", ">"));
        Assert.Equal("*[]", c.CallS("XCLAIM", "lz:s", "g", "claimer", "0", "1-1"));
        Assert.Equal("*[]", c.CallS("XCLAIM", "lz:s", "g", "claimer", "0", "7-7", "FORCE"));
        Assert.Equal("*[\"0-0\", *[], *[]]", c.CallS("XAUTOCLAIM", "lz:s", "g", "autoclaimer", "0", "0"));
        Assert.Equal("*[*[\"name\", \"g\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"1-1\", \"entries-read\", $nil, \"lag\", :0]]", c.CallS("XINFO", "GROUPS", "lz:s"));
        Assert.Equal("*[*[\"lz:s\", *[]]]", c.CallS("XREADGROUP", "GROUP", "g", "historian", "STREAMS", "lz:s", "0"));
        Assert.Equal("*[\"1-1\"]", c.CallS("XCLAIM", "lz:s", "g", "forcer", "0", "1-1", "FORCE", "JUSTID"));
        Assert.Equal("*[*[\"name\", \"forcer\", \"pending\", :1, \"idle\", :N], *[\"name\", \"historian\", \"pending\", :0, \"idle\", :N]]", Masked(c.CallS("XINFO", "CONSUMERS", "lz:s", "g")));
    }

    [Fact]
    public void LagAndEntriesReadFollowDeletions()
    {
        using var c = fx.Connect();
        c.Call("XADD", "lag:s", "1-1", "f", "1");
        c.Call("XADD", "lag:s", "2-1", "f", "2");
        c.Call("XADD", "lag:s", "3-1", "f", "3");
        c.Call("XADD", "lag:s", "4-1", "f", "4");
        c.Call("XADD", "lag:s", "5-1", "f", "5");
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "lag:s", "a", "0"));
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "lag:s", "b", "$"));
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "lag:s", "c", "3-1"));
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "lag:s", "d", "3-1", "ENTRIESREAD", "3"));
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"0-0\", \"entries-read\", $nil, \"lag\", :5], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", :0], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", :2]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        Assert.Equal("*[*[\"lag:s\", *[*[\"1-1\", *[\"f\", \"1\"]], *[\"2-1\", *[\"f\", \"2\"]]]]]", c.CallS("XREADGROUP", "GROUP", "a", "r", "COUNT", "2", "STREAMS", "lag:s", ">"));
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :1, \"pending\", :2, \"last-delivered-id\", \"2-1\", \"entries-read\", :2, \"lag\", :3], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", :0], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", :2]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        Assert.Equal(":1", c.CallS("XDEL", "lag:s", "4-1"));
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :1, \"pending\", :2, \"last-delivered-id\", \"2-1\", \"entries-read\", :2, \"lag\", $nil], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", :0], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", $nil]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        Assert.Equal("*[*[\"lag:s\", *[*[\"3-1\", *[\"f\", \"3\"]]]]]", c.CallS("XREADGROUP", "GROUP", "a", "r", "COUNT", "1", "STREAMS", "lag:s", ">"));
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :1, \"pending\", :3, \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", :0], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", $nil]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        Assert.Equal("*[*[\"lag:s\", *[*[\"5-1\", *[\"f\", \"5\"]]]]]", c.CallS("XREADGROUP", "GROUP", "a", "r", "STREAMS", "lag:s", ">"));
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :1, \"pending\", :4, \"last-delivered-id\", \"5-1\", \"entries-read\", :5, \"lag\", :0], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", :0], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", $nil]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        c.Call("XADD", "lag:s", "6-1", "f", "6");
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :1, \"pending\", :4, \"last-delivered-id\", \"5-1\", \"entries-read\", :5, \"lag\", :1], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", $nil]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        Assert.Equal("+OK", c.CallS("XGROUP", "SETID", "lag:s", "c", "5-1", "ENTRIESREAD", "5"));
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :1, \"pending\", :4, \"last-delivered-id\", \"5-1\", \"entries-read\", :5, \"lag\", :1], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", :5, \"lag\", :1], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", $nil]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        Assert.Equal(":1", c.CallS("XDEL", "lag:s", "1-1"));
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "lag:s", "e", "0"));
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :1, \"pending\", :4, \"last-delivered-id\", \"5-1\", \"entries-read\", :5, \"lag\", :1], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", $nil], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", :5, \"lag\", :1], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", $nil], *[\"name\", \"e\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"0-0\", \"entries-read\", $nil, \"lag\", $nil]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        Assert.Equal(":4", c.CallS("XTRIM", "lag:s", "MAXLEN", "0"));
        Assert.Equal("*[*[\"name\", \"a\", \"consumers\", :1, \"pending\", :4, \"last-delivered-id\", \"5-1\", \"entries-read\", :5, \"lag\", :1], *[\"name\", \"b\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", $nil, \"lag\", :0], *[\"name\", \"c\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"5-1\", \"entries-read\", :5, \"lag\", :1], *[\"name\", \"d\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"3-1\", \"entries-read\", :3, \"lag\", :3], *[\"name\", \"e\", \"consumers\", :0, \"pending\", :0, \"last-delivered-id\", \"0-0\", \"entries-read\", $nil, \"lag\", :0]]", c.CallS("XINFO", "GROUPS", "lag:s"));
        Assert.Equal("*[\"length\", :0, \"radix-tree-keys\", :0, \"radix-tree-nodes\", :1, \"last-generated-id\", \"6-1\", \"max-deleted-entry-id\", \"4-1\", \"entries-added\", :6, \"recorded-first-entry-id\", \"0-0\", \"groups\", :5, \"first-entry\", $nil, \"last-entry\", $nil]", c.CallS("XINFO", "STREAM", "lag:s"));
    }

    [Fact]
    public void XInfoStreamShowsMetadataEntriesAndGroups()
    {
        using var c = fx.Connect();
        Assert.Equal("-ERR no such key", c.CallS("XINFO", "STREAM", "inf:none"));
        c.Call("XADD", "inf:s", "1-1", "a", "1");
        c.Call("XADD", "inf:s", "2-1", "b", "2", "c", "3");
        c.Call("XADD", "inf:s", "3-1", "a", "4");
        Assert.Equal("*[\"length\", :3, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"3-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :3, \"recorded-first-entry-id\", \"1-1\", \"groups\", :0, \"first-entry\", *[\"1-1\", *[\"a\", \"1\"]], \"last-entry\", *[\"3-1\", *[\"a\", \"4\"]]]", c.CallS("XINFO", "STREAM", "inf:s"));
        Assert.Equal("*[\"length\", :3, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"3-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :3, \"recorded-first-entry-id\", \"1-1\", \"entries\", *[*[\"1-1\", *[\"a\", \"1\"]], *[\"2-1\", *[\"b\", \"2\", \"c\", \"3\"]], *[\"3-1\", *[\"a\", \"4\"]]], \"groups\", *[]]", c.CallS("XINFO", "STREAM", "inf:s", "FULL"));
        c.Call("XGROUP", "CREATE", "inf:s", "g", "0");
        c.Call("XGROUP", "CREATE", "inf:s", "h", "$");
        Assert.Equal("*[\"1-1\", \"2-1\"]", c.CallS("XCLAIM", "inf:s", "g", "c", "0", "1-1", "2-1", "FORCE", "TIME", "5000", "JUSTID"));
        Assert.Equal("*[\"length\", :3, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"3-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :3, \"recorded-first-entry-id\", \"1-1\", \"entries\", *[*[\"1-1\", *[\"a\", \"1\"]], *[\"2-1\", *[\"b\", \"2\", \"c\", \"3\"]], *[\"3-1\", *[\"a\", \"4\"]]], \"groups\", *[*[\"name\", \"g\", \"last-delivered-id\", \"0-0\", \"entries-read\", $nil, \"lag\", :3, \"pel-count\", :2, \"pending\", *[*[\"1-1\", \"c\", :N, :1], *[\"2-1\", \"c\", :N, :1]], \"consumers\", *[*[\"name\", \"c\", \"seen-time\", :T, \"pel-count\", :2, \"pending\", *[*[\"1-1\", :5000, :1], *[\"2-1\", :5000, :1]]]]], *[\"name\", \"h\", \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", :0, \"pel-count\", :0, \"pending\", *[], \"consumers\", *[]]]]", Masked(c.CallS("XINFO", "STREAM", "inf:s", "FULL")));
        Assert.Equal("*[\"length\", :3, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"3-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :3, \"recorded-first-entry-id\", \"1-1\", \"entries\", *[*[\"1-1\", *[\"a\", \"1\"]]], \"groups\", *[*[\"name\", \"g\", \"last-delivered-id\", \"0-0\", \"entries-read\", $nil, \"lag\", :3, \"pel-count\", :2, \"pending\", *[*[\"1-1\", \"c\", :N, :1]], \"consumers\", *[*[\"name\", \"c\", \"seen-time\", :T, \"pel-count\", :2, \"pending\", *[*[\"1-1\", :5000, :1]]]]], *[\"name\", \"h\", \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", :0, \"pel-count\", :0, \"pending\", *[], \"consumers\", *[]]]]", Masked(c.CallS("XINFO", "STREAM", "inf:s", "FULL", "COUNT", "1")));
        Assert.Equal("*[\"length\", :3, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"3-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :3, \"recorded-first-entry-id\", \"1-1\", \"entries\", *[*[\"1-1\", *[\"a\", \"1\"]], *[\"2-1\", *[\"b\", \"2\", \"c\", \"3\"]], *[\"3-1\", *[\"a\", \"4\"]]], \"groups\", *[*[\"name\", \"g\", \"last-delivered-id\", \"0-0\", \"entries-read\", $nil, \"lag\", :3, \"pel-count\", :2, \"pending\", *[*[\"1-1\", \"c\", :N, :1], *[\"2-1\", \"c\", :N, :1]], \"consumers\", *[*[\"name\", \"c\", \"seen-time\", :T, \"pel-count\", :2, \"pending\", *[*[\"1-1\", :5000, :1], *[\"2-1\", :5000, :1]]]]], *[\"name\", \"h\", \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", :0, \"pel-count\", :0, \"pending\", *[], \"consumers\", *[]]]]", Masked(c.CallS("XINFO", "STREAM", "inf:s", "full", "count", "0")));
        Assert.Equal("*[\"length\", :3, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"3-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :3, \"recorded-first-entry-id\", \"1-1\", \"entries\", *[*[\"1-1\", *[\"a\", \"1\"]], *[\"2-1\", *[\"b\", \"2\", \"c\", \"3\"]], *[\"3-1\", *[\"a\", \"4\"]]], \"groups\", *[*[\"name\", \"g\", \"last-delivered-id\", \"0-0\", \"entries-read\", $nil, \"lag\", :3, \"pel-count\", :2, \"pending\", *[*[\"1-1\", \"c\", :N, :1], *[\"2-1\", \"c\", :N, :1]], \"consumers\", *[*[\"name\", \"c\", \"seen-time\", :T, \"pel-count\", :2, \"pending\", *[*[\"1-1\", :5000, :1], *[\"2-1\", :5000, :1]]]]], *[\"name\", \"h\", \"last-delivered-id\", \"3-1\", \"entries-read\", $nil, \"lag\", :0, \"pel-count\", :0, \"pending\", *[], \"consumers\", *[]]]]", Masked(c.CallS("XINFO", "STREAM", "inf:s", "FULL", "COUNT", "-1")));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.", c.CallS("XINFO", "STREAM", "inf:s", "FULL", "COUNT"));
        Assert.Equal("-ERR value is not an integer or out of range", c.CallS("XINFO", "STREAM", "inf:s", "FULL", "COUNT", "x"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.", c.CallS("XINFO", "STREAM", "inf:s", "FULL", "LIMIT", "1"));
        Assert.Equal("-ERR unknown subcommand or wrong number of arguments for 'STREAM'. Try XINFO HELP.", c.CallS("XINFO", "STREAM", "inf:s", "LIMIT"));
        Assert.Equal("-NOGROUP No such consumer group 'nog' for key name 'inf:s'", c.CallS("XINFO", "CONSUMERS", "inf:s", "nog"));
        Assert.Equal("-ERR no such key", c.CallS("XINFO", "GROUPS", "inf:none"));
        Assert.Equal("-ERR no such key", c.CallS("XINFO", "CONSUMERS", "inf:none", "g"));
        Assert.Equal("-ERR unknown subcommand 'FOO'. Try XINFO HELP.", c.CallS("XINFO", "FOO", "inf:s"));
        Assert.Equal("*[+XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, +CONSUMERS <key> <groupname>, +    Show consumers of <groupname>., +GROUPS <key>, +    Show the stream consumer groups., +STREAM <key> [FULL [COUNT <count>], +    Show information about the stream., +HELP, +    Prints this help.]", c.CallS("XINFO", "HELP"));
        c.Call("XDEL", "inf:s", "1-1", "2-1", "3-1");
        Assert.Equal("*[\"length\", :0, \"radix-tree-keys\", :0, \"radix-tree-nodes\", :1, \"last-generated-id\", \"3-1\", \"max-deleted-entry-id\", \"3-1\", \"entries-added\", :3, \"recorded-first-entry-id\", \"0-0\", \"groups\", :2, \"first-entry\", $nil, \"last-entry\", $nil]", c.CallS("XINFO", "STREAM", "inf:s"));
        c.Call("SET", "inf:str", "v");
        Assert.Equal("-WRONGTYPE Operation against a key holding the wrong kind of value", c.CallS("XINFO", "STREAM", "inf:str"));
    }

    [Fact]
    public void Resp3RepliesAreMaps()
    {
        using var c = fx.Connect();
        c.Call("HELLO", "3");
        c.Call("XADD", "r3:s", "1-1", "a", "1");
        c.Call("XGROUP", "CREATE", "r3:s", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "r3:s", ">");
        Assert.Equal("%[\"length\", :1, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"1-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :1, \"recorded-first-entry-id\", \"1-1\", \"groups\", :1, \"first-entry\", *[\"1-1\", *[\"a\", \"1\"]], \"last-entry\", *[\"1-1\", *[\"a\", \"1\"]]]", c.CallS("XINFO", "STREAM", "r3:s"));
        Assert.Equal("%[\"length\", :1, \"radix-tree-keys\", :1, \"radix-tree-nodes\", :2, \"last-generated-id\", \"1-1\", \"max-deleted-entry-id\", \"0-0\", \"entries-added\", :1, \"recorded-first-entry-id\", \"1-1\", \"entries\", *[*[\"1-1\", *[\"a\", \"1\"]]], \"groups\", *[%[\"name\", \"g\", \"last-delivered-id\", \"1-1\", \"entries-read\", :1, \"lag\", :0, \"pel-count\", :1, \"pending\", *[*[\"1-1\", \"c\", :T, :1]], \"consumers\", *[%[\"name\", \"c\", \"seen-time\", :T, \"pel-count\", :1, \"pending\", *[*[\"1-1\", :T, :1]]]]]]]", Masked(c.CallS("XINFO", "STREAM", "r3:s", "FULL")));
        Assert.Equal("*[%[\"name\", \"g\", \"consumers\", :1, \"pending\", :1, \"last-delivered-id\", \"1-1\", \"entries-read\", :1, \"lag\", :0]]", c.CallS("XINFO", "GROUPS", "r3:s"));
        Assert.Equal("*[%[\"name\", \"c\", \"pending\", :1, \"idle\", :N]]", Masked(c.CallS("XINFO", "CONSUMERS", "r3:s", "g")));
        Assert.Equal("*[:1, \"1-1\", \"1-1\", *[*[\"c\", \"1\"]]]", c.CallS("XPENDING", "r3:s", "g"));
        Assert.Equal("*[*[\"1-1\", \"c\", :N, :1]]", Masked(c.CallS("XPENDING", "r3:s", "g", "-", "+", "10")));
        Assert.Equal("+OK", c.CallS("XGROUP", "CREATE", "r3:s", "e", "$"));
        Assert.Equal("*[:0, _nil, _nil, _nil]", c.CallS("XPENDING", "r3:s", "e"));
        Assert.Equal("*[\"0-0\", *[\"1-1\"], *[]]", c.CallS("XAUTOCLAIM", "r3:s", "g", "c", "0", "0", "JUSTID"));
        c.Call("XDEL", "r3:s", "1-1");
        Assert.Equal("%[\"length\", :0, \"radix-tree-keys\", :0, \"radix-tree-nodes\", :1, \"last-generated-id\", \"1-1\", \"max-deleted-entry-id\", \"1-1\", \"entries-added\", :1, \"recorded-first-entry-id\", \"0-0\", \"groups\", :2, \"first-entry\", _nil, \"last-entry\", _nil]", c.CallS("XINFO", "STREAM", "r3:s"));
    }

    [Fact]
    public void BlockedXReadGroupIsAnsweredNoGroupWhenTheGroupIsDestroyed()
    {
        using var c = fx.Connect();
        using var reader = fx.Connect();
        c.Call("XADD", "bl:s", "1-1", "f", "1");
        c.Call("XGROUP", "CREATE", "bl:s", "g", "$");
        reader.Send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "bl:s", ">");
        fx.WaitBlocked(1);
        Assert.Equal("*[]", c.CallS("XINFO", "CONSUMERS", "bl:s", "g"));
        Assert.Equal(":1", c.CallS("XGROUP", "DESTROY", "bl:s", "g"));
        Assert.Equal("-NOGROUP the consumer group this client was blocked on no longer exists", reader.Read().ToString());

        // A blocked reader served by an XADD gets the entry pending, acknowledged like any other.
        c.Call("XGROUP", "CREATE", "bl:s", "g", "$");
        reader.Send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "bl:s", ">");
        fx.WaitBlocked(1);
        c.Call("XADD", "bl:s", "2-1", "f", "2");
        Assert.Equal("*[*[\"bl:s\", *[*[\"2-1\", *[\"f\", \"2\"]]]]]", reader.Read().ToString());
        Assert.Equal("*[:1, \"2-1\", \"2-1\", *[*[\"alice\", \"1\"]]]", c.CallS("XPENDING", "bl:s", "g"));
        Assert.Equal(":1", c.CallS("XACK", "bl:s", "g", "2-1"));
        Assert.Equal("*[:0, $nil, $nil, *nil]", c.CallS("XPENDING", "bl:s", "g"));

        reader.Send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "bl:s", ">");
        fx.WaitBlocked(1);
        c.Call("DEL", "bl:s");
        Assert.Equal("-UNBLOCKED the stream key no longer exists", reader.Read().ToString());
    }

    [Fact]
    public void IdleTimesCountFromTheLastDelivery()
    {
        using var c = fx.Connect();
        c.Call("XADD", "it:s", "1-1", "f", "1");
        c.Call("XGROUP", "CREATE", "it:s", "g", "0");
        c.Call("XREADGROUP", "GROUP", "g", "c1", "STREAMS", "it:s", ">");
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        c.Call("XCLAIM", "it:s", "g", "c1", "0", "1-1", "IDLE", "500000", "JUSTID");
        long idle = c.Call("XPENDING", "it:s", "g", "-", "+", "1").Items![0].Items![2].Integer;
        long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Assert.InRange(idle, 500000, 500000 + (after - before) + 1000);
        // A delivery time in the future is taken as now.
        c.Call("XCLAIM", "it:s", "g", "c1", "0", "1-1", "TIME", (after + 10_000_000).ToString(), "JUSTID");
        Assert.InRange(c.Call("XPENDING", "it:s", "g", "-", "+", "1").Items![0].Items![2].Integer, 0, 1000);
        // XPENDING does not count as the consumer being seen; XCLAIM does.
        var consumer = c.Call("XINFO", "CONSUMERS", "it:s", "g").Items![0];
        Assert.Equal("idle", consumer.Items![4].Text);
        Assert.InRange(consumer.Items[5].Integer, 0, 1000);
    }
}
