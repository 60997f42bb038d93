// The RESP request parser on its own: every split point of a frame parses like the whole frame
// (with the query buffer compacted and grown between reads as Client does), long pipelines,
// and malformed input with Redis's exact protocol error texts.
using System.Text;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.Protocol;

public class RespParserTests
{
    /// <summary>
    /// Feeds chunks the way Client.OnReadable does: append to a query buffer that starts small,
    /// compact unparsed bytes (and the partial command's slices) to the front, grow when full,
    /// and parse every complete command after each read.
    /// </summary>
    sealed class Harness(int initialSize = 16)
    {
        readonly RespParser _parser = new();
        byte[] _buf = new byte[initialSize];
        int _pos, _end;
        public readonly List<string[]> Commands = new();
        public string? Error;
        public long ProtoMaxBulkLen { set => _parser.ProtoMaxBulkLen = value; }
        public bool AuthRequired { set => _parser.AuthRequired = value; }

        public void Feed(ReadOnlySpan<byte> chunk)
        {
            while (chunk.Length > 0 && Error == null)
            {
                if (_pos > 0 && (_end == _buf.Length || _pos > _buf.Length / 2)) Compact();
                if (_end == _buf.Length)
                {
                    var old = _buf;
                    Array.Resize(ref _buf, _buf.Length * 2);
                    if (_parser.InProgress) _parser.Relocate(old, _buf, 0);
                }
                int n = Math.Min(chunk.Length, _buf.Length - _end);
                chunk[..n].CopyTo(_buf.AsSpan(_end));
                _end += n;
                chunk = chunk[n..];
                Process();
            }
        }

        void Compact()
        {
            int keep = _parser.InProgress ? _parser.CommandStart : _pos;
            if (keep == 0) return;
            Buffer.BlockCopy(_buf, keep, _buf, 0, _end - keep);
            if (_parser.InProgress) _parser.Relocate(_buf, _buf, keep);
            _end -= keep;
            _pos -= keep;
        }

        void Process()
        {
            while (_pos < _end)
            {
                var status = _parser.Parse(_buf, ref _pos, _end);
                if (status == ParseStatus.Incomplete) break;
                if (status == ParseStatus.Empty) continue;
                if (status == ParseStatus.Error)
                {
                    Error = _parser.Error;
                    return;
                }
                var a = _parser.Args;
                Commands.Add(Enumerable.Range(0, a.Count).Select(i => Encoding.Latin1.GetString(a[i])).ToArray());
            }
            if (_pos == _end && !_parser.InProgress) _pos = _end = 0;
        }
    }

    static byte[] B(string s) => Encoding.Latin1.GetBytes(s);

    static string Render(List<string[]> cmds) => string.Join(" | ", cmds.Select(c => string.Join(",", c)));

    public static TheoryData<string> ValidFrames() => new()
    {
        "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n",
        "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
        "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
        "*2\r\n$4\r\nECHO\r\n$40\r\n" + new string('z', 40) + "\r\n",
        "PING\r\n",
        "SET k \"a b\\x41\\n\" 'it''s'\r\n".Replace("''", "\\'"),
        "\r\n\n  ECHO   x  \r\nPING\n",
        "*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\nPING\r\n",
    };

    [Theory]
    [MemberData(nameof(ValidFrames))]
    public void EverySplitPointParsesLikeTheWholeFrame(string frame)
    {
        var bytes = B(frame);
        var whole = new Harness(1 << 16);
        whole.Feed(bytes);
        Assert.Null(whole.Error);
        Assert.NotEmpty(whole.Commands);
        string expected = Render(whole.Commands);
        for (int split = 1; split < bytes.Length; split++)
        {
            var h = new Harness();
            h.Feed(bytes.AsSpan(0, split));
            h.Feed(bytes.AsSpan(split));
            Assert.Null(h.Error);
            Assert.Equal(expected, Render(h.Commands));
        }
        var byByte = new Harness();
        foreach (var b in bytes) byByte.Feed([b]);
        Assert.Equal(expected, Render(byByte.Commands));
    }

    [Fact]
    public void SplitsParseTheRightArguments()
    {
        var h = new Harness();
        foreach (var b in B("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\nSET k \"a b\\x41\\n\"\r\n")) h.Feed([b]);
        Assert.Equal("SET,key,value | SET,k,a bA\n", Render(h.Commands));
    }

    [Fact]
    public void PipelinesOfThousandsOfCommandsInOddChunks()
    {
        var ms = new MemoryStream();
        for (int i = 0; i < 5000; i++)
        {
            ms.Write(B($"*3\r\n$3\r\nSET\r\n${("k" + i).Length}\r\nk{i}\r\n${(i * 7).ToString().Length}\r\n{i * 7}\r\n"));
            if (i % 3 == 0) ms.Write(B($"GET k{i}\r\n"));
        }
        var bytes = ms.ToArray();
        var h = new Harness();
        var rnd = new Random(42);
        for (int p = 0; p < bytes.Length;)
        {
            int n = Math.Min(rnd.Next(1, 700), bytes.Length - p);
            h.Feed(bytes.AsSpan(p, n));
            p += n;
        }
        Assert.Null(h.Error);
        Assert.Equal(5000 + 1667, h.Commands.Count);
        Assert.Equal(["SET", "k4999", "34993"], h.Commands[^1]);
        Assert.Equal(["GET", "k0"], h.Commands[1]);
    }

    [Theory]
    [InlineData("*abc\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*01\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*3000000000\r\n", "Protocol error: invalid multibulk length")]
    [InlineData("*1\r\n$abc\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$-1\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$+4\r\nPING\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\n$536870913\r\n", "Protocol error: invalid bulk length")]
    [InlineData("*1\r\nx3\r\n", "Protocol error: expected '$', got 'x'")]
    [InlineData("set \"a\r\n", "Protocol error: unbalanced quotes in request")]
    [InlineData("set 'a'b\r\n", "Protocol error: unbalanced quotes in request")]
    public void MalformedInputGetsRedisErrors(string input, string error)
    {
        var whole = new Harness();
        whole.Feed(B(input));
        Assert.Equal(error, whole.Error);
        var byByte = new Harness();
        foreach (var b in B(input)) byByte.Feed([b]);
        Assert.Equal(error, byByte.Error);
    }

    [Fact]
    public void MissingCrlfAfterBulkIsSkippedUnchecked()
    {
        // Redis skips the two bytes after a bulk without looking at them.
        var h = new Harness();
        h.Feed(B("*1\r\n$4\r\nPINGXY*1\r\n$4\r\nPING\r\n"));
        Assert.Null(h.Error);
        Assert.Equal("PING | PING", Render(h.Commands));
    }

    [Fact]
    public void OversizedLinesAreRejected()
    {
        var inline = new Harness();
        inline.Feed(B(new string('x', 64 * 1024 + 1)));
        Assert.Equal("Protocol error: too big inline request", inline.Error);
        var count = new Harness();
        count.Feed(B("*" + new string('1', 64 * 1024 + 1)));
        Assert.Equal("Protocol error: too big mbulk count string", count.Error);
        var bulk = new Harness();
        bulk.Feed(B("*1\r\n$" + new string('1', 64 * 1024 + 1)));
        Assert.Equal("Protocol error: too big bulk count string", bulk.Error);
        var fits = new Harness();
        fits.Feed(B("ECHO " + new string('x', 60 * 1024) + "\r\n"));
        Assert.Null(fits.Error);
        Assert.Single(fits.Commands);
    }

    [Fact]
    public void ProtoMaxBulkLenBoundsBulks()
    {
        var h = new Harness { ProtoMaxBulkLen = 10 };
        h.Feed(B("*2\r\n$4\r\nECHO\r\n$10\r\n0123456789\r\n"));
        Assert.Null(h.Error);
        h.Feed(B("*2\r\n$4\r\nECHO\r\n$11\r\n"));
        Assert.Equal("Protocol error: invalid bulk length", h.Error);
    }

    [Fact]
    public void UnauthenticatedClientsHaveSmallRequestLimits()
    {
        var mb = new Harness { AuthRequired = true };
        mb.Feed(B("*10\r\n"));
        Assert.Null(mb.Error);
        var mb2 = new Harness { AuthRequired = true };
        mb2.Feed(B("*11\r\n"));
        Assert.Equal("Protocol error: unauthenticated multibulk length", mb2.Error);
        var bulk = new Harness { AuthRequired = true };
        bulk.Feed(B("*1\r\n$16384\r\n"));
        Assert.Null(bulk.Error);
        var bulk2 = new Harness { AuthRequired = true };
        bulk2.Feed(B("*1\r\n$16385\r\n"));
        Assert.Equal("Protocol error: unauthenticated bulk length", bulk2.Error);
    }
}
