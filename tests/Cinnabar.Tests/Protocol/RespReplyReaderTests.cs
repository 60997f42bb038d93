// The RESP reply reader on its own: every RESP2/RESP3 type, every split point of a stream of
// frames (two pieces, byte by byte, random chunks), nested aggregates and attributes, the limits,
// malformed input, and both RDB transfer forms a primary sends after +FULLRESYNC.
using System.Text;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.Protocol;

public class RespReplyReaderTests
{
    /// <summary>What a stream produced: replies as RespReply.ToString, transfers as "payload(len,crc)", errors as "error: ...".</summary>
    sealed class Events
    {
        public readonly List<string> Items = new();
        public readonly MemoryStream Payload = new();
        public readonly List<byte[]> Payloads = new();
    }

    /// <summary>
    /// Feeds the chunks in order as socket reads would deliver them, handing every event to the
    /// list. expectRdbAfter: after a reply whose text starts with it, the next '$' is a transfer.
    /// </summary>
    static Events Feed(RespReplyReader r, IEnumerable<byte[]> chunks, string? expectRdbAfter = null)
    {
        var ev = new Events();
        foreach (var chunk in chunks)
        {
            var span = chunk.AsSpan();
            while (true)
            {
                var st = r.Read(span, out int n, out var payload);
                span = span[n..];
                if (st == ReplyStatus.NeedMore)
                {
                    Assert.True(span.IsEmpty, "NeedMore with input left over");
                    break;
                }
                if (st == ReplyStatus.Error)
                {
                    ev.Items.Add("error: " + r.Error);
                    return ev;
                }
                if (st == ReplyStatus.Reply)
                {
                    ev.Items.Add(r.Reply!.ToString());
                    if (expectRdbAfter != null && r.Reply.Text.StartsWith(expectRdbAfter, StringComparison.Ordinal)) r.ExpectRdbPayload();
                    continue;
                }
                ev.Payload.Write(payload);
                if (st == ReplyStatus.PayloadEnd)
                {
                    ev.Payloads.Add(ev.Payload.ToArray());
                    ev.Items.Add($"payload({ev.Payload.Length})");
                    ev.Payload.SetLength(0);
                }
            }
        }
        return ev;
    }

    static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    static IEnumerable<byte[]> Whole(byte[] data) => [data];

    static IEnumerable<byte[]> ByteByByte(byte[] data) => data.Select(b => new[] { b });

    static IEnumerable<byte[]> SplitAt(byte[] data, int at) => [data[..at], data[at..]];

    static IEnumerable<byte[]> RandomChunks(byte[] data, int seed, int max = 17)
    {
        var rng = new Random(seed);
        for (int i = 0; i < data.Length;)
        {
            int n = Math.Min(data.Length - i, rng.Next(0, max + 1)); // empty reads included
            yield return data[i..(i + n)];
            i += n;
        }
    }

    static string One(string frame, RespReplyReader? r = null)
    {
        var ev = Feed(r ?? new RespReplyReader(), Whole(B(frame)));
        return Assert.Single(ev.Items);
    }

    public static TheoryData<string, string> Types => new()
    {
        { "+OK\r\n", "+OK" },
        { "+\r\n", "+" },
        { "-ERR unknown command 'foo'\r\n", "-ERR unknown command 'foo'" },
        { ":0\r\n", "0" },
        { ":-9223372036854775808\r\n", "-9223372036854775808" },
        { "$5\r\nhello\r\n", "\"hello\"" },
        { "$0\r\n\r\n", "\"\"" },
        { "$4\r\na\r\nb\r\n", "\"a\r\nb\"" },
        { "$-1\r\n", "(nil)" },
        { "*-1\r\n", "(nil array)" },
        { "*0\r\n", "[]" },
        { "*3\r\n:1\r\n$1\r\na\r\n+s\r\n", "[1, \"a\", +s]" },
        { "_\r\n", "(nil)" },
        { ",3.14\r\n", ",3.14" },
        { ",-1.5e+10\r\n", ",-1.5e+10" },
        { ",inf\r\n", ",inf" },
        { ",-inf\r\n", ",-inf" },
        { ",nan\r\n", ",nan" },
        { "#t\r\n", "#t" },
        { "#f\r\n", "#f" },
        { "!21\r\nSYNTAX invalid syntax\r\n", "!SYNTAX invalid syntax" },
        { "=15\r\ntxt:Some string\r\n", "=txt:Some string" },
        { "(3492890328409238509324850943850943825024385\r\n", "(3492890328409238509324850943850943825024385" },
        { "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", "{+first: 1, +second: 2}" },
        { "%0\r\n", "{}" },
        { "~3\r\n+a\r\n+b\r\n:1\r\n", "~{+a, +b, 1}" },
        { ">3\r\n+message\r\n+chan\r\n$2\r\nhi\r\n", ">[+message, +chan, \"hi\"]" },
        { "|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n", "|{+ttl: 3600} \"v\"" },
        { "|0\r\n:1\r\n", "|{} 1" },
    };

    [Theory]
    [MemberData(nameof(Types))]
    public void EveryTypeParses(string frame, string expected) => Assert.Equal(expected, One(frame));

    [Fact]
    public void TypedAccessorsExposeTheValues()
    {
        var r = new RespReplyReader();
        Assert.Equal(ReplyType.Integer, Read(r, ":42\r\n").Type);
        Assert.Equal(42, r.Reply!.Integer);
        Assert.Equal(3.5, Read(r, ",3.5\r\n").Double);
        Assert.True(double.IsPositiveInfinity(Read(r, ",inf\r\n").Double));
        Assert.Equal(1, Read(r, "#t\r\n").Integer);
        var v = Read(r, "=8\r\nmkd:# hi\r\n");
        Assert.Equal(("mkd", "# hi"), (v.Format, v.Text));
        var map = Read(r, "%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n");
        Assert.Equal("redis", map.Get("server")!.Text);
        Assert.True(Read(r, "!3\r\nERR\r\n").IsError);
        Assert.True(Read(r, "*-1\r\n").NullArray);
        Assert.False(Read(r, "$-1\r\n").NullArray);
        var bin = Read(r, "$3\r\n\0\xff\n\r\n");
        Assert.Equal(new byte[] { 0, 0xff, (byte)'\n' }, bin.Bytes);
    }

    static RespReply Read(RespReplyReader r, string frame)
    {
        Assert.Equal(ReplyStatus.Reply, r.Read(B(frame), out int n, out _));
        Assert.Equal(frame.Length, n);
        return r.Reply!;
    }

    /// <summary>Every sample frame, one after another: a stream that crosses every type boundary.</summary>
    static readonly string Stream = string.Concat(Types.Select(row => (string)row[0])) +
        "*2\r\n%1\r\n+k\r\n*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n~0\r\n=5\r\ntxt:x\r\n" + "$10\r\n0123456789\r\n";

    static List<string> Expected() => Feed(new RespReplyReader(), Whole(B(Stream))).Items;

    [Fact]
    public void TheSampleStreamParsesWhole()
    {
        var items = Expected();
        Assert.Equal(Types.Count() + 2, items.Count);
        Assert.Equal("[{+k: [|{+a: +b} 1, ~{}]}, =txt:x]", items[^2]);
        Assert.DoesNotContain(items, i => i.StartsWith("error", StringComparison.Ordinal));
    }

    [Fact]
    public void EverySplitPointParsesLikeTheWholeStream()
    {
        var expected = Expected();
        var data = B(Stream);
        for (int at = 0; at <= data.Length; at++)
            Assert.Equal(expected, Feed(new RespReplyReader(), SplitAt(data, at)).Items);
    }

    [Fact]
    public void ByteByByteParsesLikeTheWholeStream() =>
        Assert.Equal(Expected(), Feed(new RespReplyReader(), ByteByByte(B(Stream))).Items);

    [Fact]
    public void RandomChunksParseLikeTheWholeStream()
    {
        var expected = Expected();
        for (int seed = 0; seed < 200; seed++)
            Assert.Equal(expected, Feed(new RespReplyReader(), RandomChunks(B(Stream), seed)).Items);
    }

    [Fact]
    public void AReplyIsReturnedAsSoonAsItsLastByteArrivesAndNotBefore()
    {
        var r = new RespReplyReader();
        var frame = B("*2\r\n$3\r\nabc\r\n:7\r\n");
        for (int i = 0; i < frame.Length - 1; i++)
        {
            Assert.Equal(ReplyStatus.NeedMore, r.Read(frame.AsSpan(i, 1), out int n, out _));
            Assert.Equal(1, n);
            Assert.False(r.AtReplyBoundary);
        }
        Assert.Equal(ReplyStatus.Reply, r.Read(frame.AsSpan(^1), out _, out _));
        Assert.True(r.AtReplyBoundary);
        Assert.Equal("[\"abc\", 7]", r.Reply!.ToString());
    }

    [Fact]
    public void DeeplyNestedAggregatesCloseInOrder()
    {
        var sb = new StringBuilder();
        for (int i = 0; i < 40; i++) sb.Append("*2\r\n:").Append(i).Append("\r\n");
        sb.Append("%1\r\n+k\r\n~1\r\n>1\r\n_\r\n");
        var reply = One(sb.ToString());
        var expected = new StringBuilder();
        for (int i = 0; i < 40; i++) expected.Append('[').Append(i).Append(", ");
        expected.Append("{+k: ~{>[(nil)]}}").Append(']', 40);
        Assert.Equal(expected.ToString(), reply);
    }

    [Fact]
    public void AttributesAttachToTheValueTheyPrecedeAtTheirLevel()
    {
        var reply = One("|1\r\n+top\r\n#t\r\n*2\r\n|1\r\n+inner\r\n:1\r\n$1\r\nx\r\n:2\r\n");
        Assert.Equal("|{+top: #t} [|{+inner: 1} \"x\", 2]", reply);
    }

    [Fact]
    public void AttributesAreSkippedWhenNotKept()
    {
        var r = new RespReplyReader { KeepAttributes = false };
        Assert.Equal("[\"x\", 2]", One("|1\r\n+top\r\n#t\r\n*2\r\n|1\r\n+inner\r\n:1\r\n$1\r\nx\r\n:2\r\n", r));
    }

    [Fact]
    public void AnAggregateAnnouncedLongerThanItsElementsSoFarGrowsAsTheyArrive()
    {
        var sb = new StringBuilder("*5000\r\n");
        for (int i = 0; i < 5000; i++) sb.Append(':').Append(i).Append("\r\n");
        var r = new RespReplyReader();
        Feed(r, RandomChunks(B(sb.ToString()), 1, 300));
        Assert.Equal(5000, r.Reply!.Items.Length);
        Assert.Equal(4999, r.Reply.Items[^1].Integer);
    }

    public static TheoryData<string, string> Malformed => new()
    {
        { "x\r\n", "Protocol error: invalid reply type byte 'x'" },
        { "\n+OK\r\n", "Protocol error: invalid reply type byte '\\x0a'" },
        { ":12a\r\n", "Protocol error: invalid integer reply" },
        { ":\r\n", "Protocol error: invalid integer reply" },
        { "+OK\n", "Protocol error: reply line not terminated by CRLF" },
        { "$3\r\nabcd\r\n", "Protocol error: bulk payload not terminated by CRLF" },
        { "$3\r\nabc\n", "Protocol error: bulk payload not terminated by CRLF" },
        { "$-2\r\n", "Protocol error: invalid bulk length" },
        { "$x\r\n", "Protocol error: invalid bulk length" },
        { "!-1\r\n", "Protocol error: invalid bulk length" },
        { "$?\r\n", "Protocol error: streamed strings are not supported" },
        { "*?\r\n", "Protocol error: streamed aggregates are not supported" },
        { "%-1\r\n", "Protocol error: invalid aggregate length" },
        { "*-2\r\n", "Protocol error: invalid aggregate length" },
        { "_x\r\n", "Protocol error: invalid null reply" },
        { "#x\r\n", "Protocol error: invalid boolean reply" },
        { ",1.2.3\r\n", "Protocol error: invalid double reply" },
        { ",\r\n", "Protocol error: invalid double reply" },
        { "(12x\r\n", "Protocol error: invalid big number reply" },
        { "=3\r\ntxt\r\n", "Protocol error: verbatim string without a format" },
        { "=5\r\ntxt-x\r\n", "Protocol error: verbatim string without a format" },
        { "*2\r\n:1\r\n?\r\n", "Protocol error: invalid reply type byte '?'" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedInputIsAProtocolErrorAtEverySplitPoint(string frame, string error)
    {
        var data = B(frame);
        for (int at = 0; at <= data.Length; at++)
            Assert.Equal("error: " + error, Feed(new RespReplyReader(), SplitAt(data, at)).Items.Last());
    }

    [Fact]
    public void AFailedReaderStaysFailed()
    {
        var r = new RespReplyReader();
        Assert.Equal(ReplyStatus.Error, r.Read(B("@\r\n"), out _, out _));
        Assert.Equal(ReplyStatus.Error, r.Read(B("+OK\r\n"), out int n, out _));
        Assert.Equal(0, n);
    }

    [Fact]
    public void LimitsAreProtocolErrors()
    {
        Assert.Equal("error: Protocol error: bulk length 11 exceeds the limit of 10",
            Feed(new RespReplyReader { MaxBulkLength = 10 }, Whole(B("$11\r\n"))).Items.Single());
        Assert.Equal("\"0123456789\"", Feed(new RespReplyReader { MaxBulkLength = 10 }, Whole(B("$10\r\n0123456789\r\n"))).Items.Single());
        Assert.Equal("error: Protocol error: bulk length 536870913 exceeds the limit of 536870912",
            Feed(new RespReplyReader(), Whole(B("$536870913\r\n"))).Items.Single());
        Assert.Equal("error: Protocol error: aggregate length 4 exceeds the limit of 3",
            Feed(new RespReplyReader { MaxAggregateLength = 3 }, Whole(B("*4\r\n"))).Items.Single());
        Assert.Equal("error: Protocol error: aggregate length 4 exceeds the limit of 3",
            Feed(new RespReplyReader { MaxAggregateLength = 3 }, Whole(B("%4\r\n"))).Items.Single());
        Assert.Equal("[1, 2, 3]", Feed(new RespReplyReader { MaxAggregateLength = 3 }, Whole(B("*3\r\n:1\r\n:2\r\n:3\r\n"))).Items.Single());
        // Depth 3 is fine, depth 4 is not; an attribute is a level too.
        Assert.Equal("[[[1]]]", Feed(new RespReplyReader { MaxDepth = 3 }, Whole(B("*1\r\n*1\r\n*1\r\n:1\r\n"))).Items.Single());
        Assert.Equal("error: Protocol error: replies nested deeper than 3 levels",
            Feed(new RespReplyReader { MaxDepth = 3 }, Whole(B("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"))).Items.Single());
        Assert.Equal("error: Protocol error: replies nested deeper than 3 levels",
            Feed(new RespReplyReader { MaxDepth = 3 }, Whole(B("*1\r\n*1\r\n|1\r\n*1\r\n"))).Items.Single());
        // A line longer than 64 KiB fails as soon as it is known to be too long, even unterminated.
        Assert.Equal("error: Protocol error: too big reply line",
            Feed(new RespReplyReader(), RandomChunks(B("+" + new string('x', 70_000)), 3, 5000)).Items.Single());
        Assert.Equal("+" + new string('x', 65_000), Feed(new RespReplyReader(), ByteByByte(B("+" + new string('x', 65_000) + "\r\n"))).Items.Single());
    }

    [Fact]
    public void ReadingSmallRepliesAllocatesOnlyTheReplies()
    {
        // Per reply: the RespReply (72 bytes) and, for strings, its payload array; nothing per byte
        // of input and nothing for a reply split across reads.
        var sb = new StringBuilder();
        for (int i = 0; i < 1000; i++) sb.Append(":123456\r\n+OK\r\n$20\r\n01234567890123456789\r\n");
        var data = B(sb.ToString());
        var r = new RespReplyReader();
        void Run()
        {
            for (int at = 0; at < data.Length;)
            {
                int n = Math.Min(7, data.Length - at); // frames split at every offset
                var span = data.AsSpan(at, n);
                while (!span.IsEmpty)
                {
                    r.Read(span, out int used, out _);
                    span = span[used..];
                }
                at += n;
            }
        }
        Run();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Run();
        long perTriple = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000;
        // 3 replies (3 x 72) + "OK" (32) + a 20-byte bulk (48) = 296.
        Assert.InRange(perTriple, 1, 300);
    }

    // ------------------------------------------------------------ RDB transfers

    static byte[] RandomPayload(int length, int seed)
    {
        var p = new byte[length];
        new Random(seed).NextBytes(p);
        return p;
    }

    static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    static readonly byte[] Mark = B("0123456789abcdef0123456789abcdef01234567");

    [Fact]
    public void ACountedTransferIsHandedOutExactlyAtEverySplitPoint()
    {
        var payload = RandomPayload(300, 1);
        // No CRLF after the payload: the next reply starts right after its last byte.
        var stream = Concat(B("+FULLRESYNC 8de1787ba490483314a4d30f1c628bc5025eb761 0\r\n\n\n$300\r\n"), payload, B("+after\r\n"));
        for (int at = 0; at <= stream.Length; at++)
        {
            var ev = Feed(new RespReplyReader(), SplitAt(stream, at), expectRdbAfter: "FULLRESYNC");
            Assert.Equal(["+FULLRESYNC 8de1787ba490483314a4d30f1c628bc5025eb761 0", "payload(300)", "+after"], ev.Items);
            Assert.Equal(payload, ev.Payloads[0]);
        }
        Assert.Equal(payload, Feed(new RespReplyReader(), ByteByByte(stream), "FULLRESYNC").Payloads.Single());
    }

    [Fact]
    public void AnEmptyCountedTransferEndsAtItsHeader()
    {
        var ev = Feed(new RespReplyReader(), Whole(B("+FULLRESYNC x 0\r\n$0\r\n:1\r\n")), "FULLRESYNC");
        Assert.Equal(["+FULLRESYNC x 0", "payload(0)", "1"], ev.Items);
    }

    [Fact]
    public void AnEofMarkedTransferIsHandedOutExactlyAtEverySplitPoint()
    {
        // The payload holds prefixes of the mark, so held-back bytes must be released correctly.
        var payload = Concat(RandomPayload(50, 2), Mark[..39], RandomPayload(3, 3), Mark[..20], Mark[..1], RandomPayload(10, 4));
        var stream = Concat(B("+FULLRESYNC r 0\r\n$EOF:"), Mark, B("\r\n"), payload, Mark, B("+after\r\n"));
        for (int at = 0; at <= stream.Length; at++)
        {
            var r = new RespReplyReader();
            var ev = Feed(r, SplitAt(stream, at), expectRdbAfter: "FULLRESYNC");
            Assert.Equal(["+FULLRESYNC r 0", $"payload({payload.Length})", "+after"], ev.Items);
            Assert.Equal(payload, ev.Payloads[0]);
            Assert.Equal(Mark, r.EofMark);
        }
        Assert.Equal(payload, Feed(new RespReplyReader(), ByteByByte(stream), "FULLRESYNC").Payloads.Single());
        for (int seed = 0; seed < 300; seed++)
            Assert.Equal(payload, Feed(new RespReplyReader(), RandomChunks(stream, seed, 60), "FULLRESYNC").Payloads.Single());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(39)]
    [InlineData(40)]
    [InlineData(41)]
    public void ShortEofMarkedTransfersEnd(int length)
    {
        var payload = RandomPayload(length, length);
        var stream = Concat(B("$EOF:"), Mark, B("\r\n"), payload, Mark);
        for (int at = 0; at <= stream.Length; at++)
        {
            var r = new RespReplyReader();
            r.ExpectRdbPayload();
            Assert.Equal(payload, Feed(r, SplitAt(stream, at)).Payloads.Single());
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ALargeTransferStreamsThroughWithoutBeingBuffered(bool eofMark)
    {
        // 8 MiB in reads of up to 64 KiB: each read's bytes go out at once (all but the 39 an EOF
        // mark could start with), and nothing near the payload's size is allocated.
        const int size = 8 << 20;
        var payload = RandomPayload(size, 7);
        var header = eofMark ? Concat(B("$EOF:"), Mark, B("\r\n")) : B($"$" + size + "\r\n");
        var stream = Concat(header, payload, eofMark ? Mark : []);
        var r = new RespReplyReader();
        r.ExpectRdbPayload();
        long delivered = 0, fed = 0, worstLag = 0;
        ulong crc = 0;
        bool ended = false;
        var chunks = RandomChunks(stream, 11, 64 * 1024).ToList(); // the test's own copies are made before measuring
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        foreach (var chunk in chunks)
        {
            var span = chunk.AsSpan();
            fed += span.Length;
            while (!span.IsEmpty || !ended)
            {
                var st = r.Read(span, out int n, out var part);
                span = span[n..];
                delivered += part.Length;
                crc = Cinnabar.Persistence.Crc64.Compute(crc, part);
                if (st == ReplyStatus.PayloadEnd) ended = true;
                if (st == ReplyStatus.NeedMore || ended) break;
            }
            if (!ended) worstLag = Math.Max(worstLag, fed - header.Length - delivered);
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Assert.True(ended);
        Assert.Equal(size, delivered);
        Assert.Equal(Cinnabar.Persistence.Crc64.Compute(0, payload), crc);
        Assert.InRange(worstLag, 0, eofMark ? RespReplyReader.EofMarkSize - 1 : 0);
        Assert.InRange(allocated, 0, 64 * 1024);
    }

    [Fact]
    public void KeepaliveNewlinesAreSkippedBeforeATransferAndWhenAsked()
    {
        var ev = Feed(new RespReplyReader { SkipKeepaliveNewlines = true }, Whole(B("\n\n+FULLRESYNC r 0\r\n\n\n\n$2\r\nab+OK\r\n")), "FULLRESYNC");
        Assert.Equal(["+FULLRESYNC r 0", "payload(2)", "+OK"], ev.Items);
        // Without the option a newline before a reply is malformed.
        Assert.StartsWith("error:", Feed(new RespReplyReader(), Whole(B("\n+OK\r\n"))).Items.Single());
    }

    [Fact]
    public void AnErrorInPlaceOfTheTransferIsAReplyAndCancelsIt()
    {
        var r = new RespReplyReader();
        r.ExpectRdbPayload();
        var ev = Feed(r, Whole(B("-ERR Can't SYNC while not connected with my master\r\n$1\r\nx\r\n")));
        Assert.Equal(["-ERR Can't SYNC while not connected with my master", "\"x\""], ev.Items);
    }

    [Fact]
    public void AMalformedTransferHeaderIsAProtocolError()
    {
        var r = new RespReplyReader();
        r.ExpectRdbPayload();
        Assert.Equal("error: Protocol error: invalid EOF mark in the transfer header", Feed(r, Whole(B("$EOF:abc\r\n"))).Items.Single());
        r = new RespReplyReader();
        r.ExpectRdbPayload();
        Assert.Equal("error: Protocol error: invalid transfer length", Feed(r, Whole(B("$-1\r\n"))).Items.Single());
    }
}
