// The reply writer's bytes: RESP2 and RESP3 shapes of the same logical reply, and doubles
// formatted as C's printf("%.17g") (the values below are what glibc prints).
using System.Text;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.Protocol;

public class ReplyWriterTests
{
    static string Write(int protocol, Action<ReplyWriter> reply)
    {
        var buf = new ReplyBuffer();
        var w = new ReplyWriter(buf) { Protocol = protocol };
        reply(w);
        var sb = new StringBuilder();
        while (buf.HasPending)
        {
            var head = buf.PeekHead();
            sb.Append(Encoding.Latin1.GetString(head));
            buf.Consume(head.Length);
        }
        return sb.ToString();
    }

    public static TheoryData<string, string, string> Shapes() => new()
    {
        { "null", "$-1\r\n", "_\r\n" },
        { "nullarray", "*-1\r\n", "_\r\n" },
        { "map", "*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n", "%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n" },
        { "set", "*2\r\n$1\r\nx\r\n$1\r\ny\r\n", "~2\r\n$1\r\nx\r\n$1\r\ny\r\n" },
        { "double", "$3\r\n1.5\r\n", ",1.5\r\n" },
        { "inf", "$3\r\ninf\r\n", ",inf\r\n" },
        { "bool", ":1\r\n", "#t\r\n" },
        { "verbatim", "$2\r\nhi\r\n", "=6\r\ntxt:hi\r\n" },
        { "bignum", "$20\r\n12345678901234567890\r\n", "(12345678901234567890\r\n" },
        { "push", "*1\r\n$7\r\nmessage\r\n", ">1\r\n$7\r\nmessage\r\n" },
        { "error", "-ERR boom\r\n", "-ERR boom\r\n" },
        { "coded", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n" },
        { "integer", ":-42\r\n", ":-42\r\n" },
        { "empty", "*0\r\n", "*0\r\n" },
    };

    static void Emit(string kind, ReplyWriter w)
    {
        switch (kind)
        {
            case "null": w.Null(); break;
            case "nullarray": w.NullArray(); break;
            case "map": w.MapLen(2); w.Bulk("a"); w.Integer(1); w.Bulk("b"); w.Integer(2); break;
            case "set": w.SetLen(2); w.Bulk("x"); w.Bulk("y"); break;
            case "double": w.Double(1.5); break;
            case "inf": w.Double(double.PositiveInfinity); break;
            case "bool": w.Boolean(true); break;
            case "verbatim": w.Verbatim("hi"); break;
            case "bignum": w.BigNumber("12345678901234567890"); break;
            case "push": w.PushLen(1); w.Bulk("message"); break;
            case "error": w.Error("boom"); break;
            case "coded": w.Error(Cinnabar.Commands.Errors.WrongType); break;
            case "integer": w.Integer(-42); break;
            case "empty": w.EmptyArray(); break;
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Resp2AndResp3Shapes(string kind, string resp2, string resp3)
    {
        Assert.Equal(resp2, Write(2, w => Emit(kind, w)));
        Assert.Equal(resp3, Write(3, w => Emit(kind, w)));
    }

    [Theory]
    [InlineData(0.1, "0.10000000000000001")]
    [InlineData(0.1 + 0.2, "0.30000000000000004")]
    [InlineData(1.0 + 2.220446049250313e-16 * 2, "1.0000000000000004")]
    [InlineData(3.0000000000000004, "3.0000000000000004")]
    [InlineData(1e17, "1e+17")]
    [InlineData(1e16, "10000000000000000")]
    [InlineData(123456789012345678.0, "1.2345678901234568e+17")]
    [InlineData(1.5, "1.5")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(100.0, "100")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1.0000000000000001e-05")]
    [InlineData(1e-300, "1e-300")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(5e-324, "4.9406564584124654e-324")]
    [InlineData(-0.0, "-0")]
    [InlineData(3.14, "3.1400000000000001")]
    public void DoublesFormatLikePrintfG17(double d, string expected)
    {
        Assert.Equal(expected, ReplyWriter.FormatDouble(d));
    }

    [Fact]
    public void DisabledWriterDropsRepliesButCountsErrors()
    {
        var buf = new ReplyBuffer();
        var w = new ReplyWriter(buf) { Enabled = false };
        w.Ok();
        w.Error("x");
        Assert.False(buf.HasPending);
        Assert.Equal(1, w.ErrorsWritten);
    }

    [Fact]
    public void LargeBulkSpansChunks()
    {
        var big = new string('q', ReplyBuffer.ChunkSize * 3 + 5);
        var s = Write(2, w => w.Bulk(big));
        Assert.Equal($"${big.Length}\r\n{big}\r\n", s);
    }
}
