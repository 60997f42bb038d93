// Quicklist.ReplyRange (LRANGE's bulk run through Listpack.ReplyBulks) writes the same bytes as
// replying element by element with ReplyWriter.Bulk/BulkLong: integers of every listpack width,
// empty and long strings (past a 16 KiB reply block, which leave the run for Bulk), ranges
// starting and ending inside nodes, several fills and compressed inner nodes, plain nodes,
// RESP2 and RESP3, and nothing at all while replies are off.
using System.Globalization;
using System.Text;
using Cinnabar.DataTypes;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.DataTypes;

public class QuicklistReplyRangeTests
{
    static string Drain(ReplyBuffer buf)
    {
        var sb = new StringBuilder();
        while (buf.HasPending)
        {
            var head = buf.PeekHead();
            sb.Append(Encoding.Latin1.GetString(head));
            buf.Consume(head.Length);
        }
        return sb.ToString();
    }

    static string Reply(int protocol, Action<ReplyWriter> write)
    {
        var buf = new ReplyBuffer();
        write(new ReplyWriter(buf) { Protocol = protocol });
        return Drain(buf);
    }

    /// <summary>The element-by-element reply LRANGE wrote before the run path (addReplyBulk per element).</summary>
    static void ReplyOneByOne(Quicklist ql, long start, long count, ReplyWriter w)
    {
        var it = ql.GetIteratorAtIndex(start, forward: true)!.Value;
        while (count-- > 0 && it.Next(out var e))
        {
            if (Quicklist.Get(e, out var s, out long v)) w.Bulk(s);
            else w.BulkLong(v);
        }
        it.Release();
    }

    static readonly string[] Values =
    [
        "0", "127", "128", "-1", "-4096", "4095", "4096", "-32768", "32767", "32768", "-8388608", "8388608",
        "-2147483648", "2147483648", "-9223372036854775808", "9223372036854775807", "007", "1.5", "",
        "x", new string('a', 63), new string('b', 64), new string('c', 4095), new string('d', 4096),
        new string('e', ReplyBuffer.ChunkSize - 20), new string('f', ReplyBuffer.ChunkSize + 5), "tail",
    ];

    [Theory]
    [InlineData(-2, 0, 2, 0)]
    [InlineData(3, 1, 2, 0)]
    [InlineData(1, 2, 3, 0)]
    [InlineData(-5, 0, 2, 0)]
    [InlineData(-2, 1, 2, 64)]
    [InlineData(2, 0, 3, 1)]
    public void ReplyRangeWritesTheSameBytesAsOneBulkPerElement(int fill, int compressDepth, int protocol, int packedThreshold)
    {
        // A packed threshold (0: the default) puts the longer elements in plain nodes.
        Assert.True(Quicklist.TrySetPackedThreshold((ulong)packedThreshold));
        try
        {
            ReplyRangeMatchesOneByOne(fill, compressDepth, protocol);
        }
        finally
        {
            Quicklist.TrySetPackedThreshold(0);
        }
    }

    static void ReplyRangeMatchesOneByOne(int fill, int compressDepth, int protocol)
    {
        var ql = new Quicklist(fill, compressDepth);
        var r = new Random(fill * 31 + compressDepth);
        var values = Values.Concat(Enumerable.Range(0, 300).Select(i => r.Next(3) switch
        {
            0 => r.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture),
            1 => new string((char)('g' + r.Next(10)), r.Next(0, 120)),
            _ => "v" + i,
        })).ToList();
        foreach (var v in values) ql.PushTail(Encoding.Latin1.GetBytes(v));
        long n = ql.Count;
        foreach (var (start, count) in new (long, long)[] { (0, n), (0, 1), (1, 99), (5, 17), (n - 3, 3), (20, 200), (n - 1, 1), (7, n - 7) })
        {
            string expected = Reply(protocol, w => ReplyOneByOne(ql, start, count, w));
            string actual = Reply(protocol, w => ql.ReplyRange(start, count, w));
            Assert.True(expected == actual, $"range {start}+{count} differs");
            ql.Verify();
        }
    }

    [Fact]
    public void ReplyRangeWritesNothingWhileRepliesAreOff()
    {
        var ql = new Quicklist();
        for (int i = 0; i < 50; i++) ql.PushTail(Encoding.ASCII.GetBytes("e" + i));
        var buf = new ReplyBuffer();
        ql.ReplyRange(0, 50, new ReplyWriter(buf) { Enabled = false });
        Assert.False(buf.HasPending);
    }
}
