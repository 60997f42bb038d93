// Lists with PLAIN quicklist nodes in RDB_TYPE_LIST_QUICKLIST_2 (container 1: the element as a
// string, int-encoded when it is an integer; container 2: the listpack): DEBUG
// QUICKLIST-PACKED-THRESHOLD as Redis replies, DUMP bytes equal to redis-server 7.0.15's for
// the same commands (the payload below is what it dumped), RESTORE of that payload and DEBUG
// RELOAD keeping every node as it is, and an empty plain node refused as corrupt.
using System.Buffers.Binary;
using Cinnabar.Persistence;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Persistence;

public class QuicklistPlainNodeRdbTests
{
    static string Latin1(byte[] b) => System.Text.Encoding.Latin1.GetString(b);

    // redis-server 7.0.15, list-max-listpack-size -2, list-compress-depth 0, after
    // DEBUG QUICKLIST-PACKED-THRESHOLD 5b, RPUSH k aa bb ccccc dd 12345678 ee ff, LSET k 0 zzzzzz,
    // LSET k 2 c, LINSERT k BEFORE dd wwwwwwww: DUMP k. Seven nodes: plain, packed, packed,
    // plain, packed, plain (int-encoded 12345678), packed.
    const string RedisPayloadHex =
        "120701067a7a7a7a7a7a020b0b000000010082626203ff020a0a0000000100816302ff0108777777777777777702" +
        "0b0b000000010082646403ff01c24e61bc00020f0f00000002008265650382666603ff0a002e72055b1c69d0fe";

    static readonly string[] Elements = ["zzzzzz", "bb", "c", "wwwwwwww", "dd", "12345678", "ee", "ff"];

    static void Build(RespClient c, string key)
    {
        Assert.Equal("+OK", c.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5b"));
        try
        {
            c.Call("RPUSH", key, "aa", "bb", "ccccc", "dd", "12345678", "ee", "ff");
            c.Call("LSET", key, "0", "zzzzzz");
            c.Call("LSET", key, "2", "c");
            c.Call("LINSERT", key, "BEFORE", "dd", "wwwwwwww");
        }
        finally
        {
            Assert.Equal("+OK", c.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"));
        }
    }

    static string[] Range(RespClient c, string key) => c.Call("LRANGE", key, "0", "-1").Items!.Select(i => i.Text!).ToArray();

    [Fact]
    public void DebugQuicklistPackedThresholdTakesMemoryValuesUpTo4GbAsRedis()
    {
        using var server = new ServerFixture();
        using var c = server.Connect();
        const string err = "-ERR argument must be a memory value bigger than 1 and smaller than 4gb";
        Assert.Equal("+OK", c.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1b"));
        Assert.Equal("+OK", c.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100"));
        Assert.Equal("+OK", c.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0"));
        Assert.Equal(err, c.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "-1"));
        Assert.Equal(err, c.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1x"));
        Assert.Equal(err, c.CallS("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "4gb"));
    }

    [Fact]
    public void PlainNodesDumpAsRedisAndSurviveDebugReload()
    {
        using var server = new ServerFixture();
        using var c = server.Connect();
        Build(c, "pl:k");
        Assert.Equal(Elements, Range(c, "pl:k"));
        var expected = Latin1(Convert.FromHexString(RedisPayloadHex));
        Assert.Equal(expected, c.Call("DUMP", "pl:k").Text);
        Assert.Contains("ql_nodes:7 ", c.Call("DEBUG", "OBJECT", "pl:k").Text);
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD"));
        Assert.Equal(expected, c.Call("DUMP", "pl:k").Text);
        Assert.Equal(Elements, Range(c, "pl:k"));
    }

    [Fact]
    public void RedisPayloadWithPlainNodesRestoresNodeForNode()
    {
        using var server = new ServerFixture();
        using var c = server.Connect();
        var payload = Latin1(Convert.FromHexString(RedisPayloadHex));
        Assert.Equal("OK", c.Call("RESTORE", "pl:r", "0", payload).Text);
        Assert.Equal(Elements, Range(c, "pl:r"));
        Assert.Equal("quicklist", c.Call("OBJECT", "ENCODING", "pl:r").Text);
        Assert.Equal(payload, c.Call("DUMP", "pl:r").Text); // plain nodes stay plain whatever the threshold
        Assert.Equal("12345678", c.Call("LINDEX", "pl:r", "5").Text);
        Assert.Equal(":1", c.CallS("LREM", "pl:r", "0", "wwwwwwww"));
        Assert.Equal(":7", c.CallS("LLEN", "pl:r"));
    }

    [Fact]
    public void EmptyPlainNodeIsBadDataFormat()
    {
        using var server = new ServerFixture();
        using var c = server.Connect();
        byte[] body = [RdbTypes.ListQuicklist2, 1, 1, 0];
        var p = new byte[body.Length + 10];
        body.CopyTo(p, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(p.AsSpan(body.Length), RdbTypes.Version);
        BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(body.Length + 2), Crc64.Compute(0, p.AsSpan(0, body.Length + 2)));
        Assert.Equal("-ERR Bad data format", c.CallS("RESTORE", "pl:bad", "0", Latin1(p)));
    }
}
