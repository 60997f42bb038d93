// The reply reader against redis-server 7.0's real replies: RESP3 after HELLO 3 (maps, verbatim
// INFO, DEBUG PROTOCOL's attribute, big number, double, booleans, push), COMMAND INFO, and a
// full sync in both transfer forms (disk: $<len>; diskless with capa eof: $EOF:<mark>). Replies
// are read in small socket reads so frames split at arbitrary points.
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Persistence;
using Cinnabar.Protocol;
using Cinnabar.Tests.Support;
using RespReply = Cinnabar.Protocol.RespReply;

namespace Cinnabar.Tests.Protocol;

public class RespReplyReaderInteropTests(RedisServerFixture redis) : IClassFixture<RedisServerFixture>
{
    sealed class Connection : IDisposable
    {
        readonly Socket _s = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        readonly byte[] _buf = new byte[64 * 1024];
        int _pos, _end;
        readonly Random _rng = new(5);
        public readonly RespReplyReader Reader = new();

        public Connection(int port)
        {
            _s.ReceiveTimeout = 20_000;
            _s.Connect(IPAddress.Loopback, port);
        }

        public void Send(params string[] argv)
        {
            var sb = new StringBuilder().Append('*').Append(argv.Length).Append("\r\n");
            foreach (var a in argv) sb.Append('$').Append(Encoding.UTF8.GetByteCount(a)).Append("\r\n").Append(a).Append("\r\n");
            _s.Send(Encoding.UTF8.GetBytes(sb.ToString()));
        }

        /// <summary>Runs the reader over the socket until it reports something other than NeedMore; reads are 1-23 bytes.</summary>
        public ReplyStatus Next(out ReadOnlySpan<byte> payload)
        {
            while (true)
            {
                if (_pos == _end)
                {
                    _pos = 0;
                    _end = _s.Receive(_buf, 0, _rng.Next(1, 24), SocketFlags.None);
                    if (_end == 0) throw new IOException("redis-server closed the connection");
                }
                var st = Reader.Read(_buf.AsSpan(_pos, _end - _pos), out int n, out payload);
                _pos += n;
                if (st != ReplyStatus.NeedMore) return st;
            }
        }

        public RespReply Call(params string[] argv)
        {
            Send(argv);
            var st = Next(out _);
            Assert.True(st == ReplyStatus.Reply, st + " " + Reader.Error);
            return Reader.Reply!;
        }

        /// <summary>Reads a whole RDB transfer, checking it chunk by chunk; returns its bytes.</summary>
        public byte[] ReadTransfer()
        {
            var ms = new MemoryStream();
            while (true)
            {
                var st = Next(out var part);
                Assert.True(st is ReplyStatus.Payload or ReplyStatus.PayloadEnd, st + " " + Reader.Error);
                ms.Write(part);
                if (st == ReplyStatus.PayloadEnd) return ms.ToArray();
            }
        }

        public void Dispose() => _s.Dispose();
    }

    [RequiresToolsFact("redis-server")]
    public void ReadsRealResp3Replies()
    {
        using var c = new Connection(redis.Port);
        var hello = c.Call("HELLO", "3");
        Assert.Equal(ReplyType.Map, hello.Type);
        Assert.Equal("redis", hello.Get("server")!.Text);
        Assert.Equal("7.0.15", hello.Get("version")!.Text);
        Assert.Equal(3, hello.Get("proto")!.Integer);
        Assert.Equal(ReplyType.Array, hello.Get("modules")!.Type);

        var info = c.Call("INFO");
        Assert.Equal(ReplyType.Verbatim, info.Type);
        Assert.Equal("txt", info.Format);
        Assert.Contains("redis_version:7.0.15", info.Text);

        var get = Assert.Single(c.Call("COMMAND", "INFO", "GET").Items);
        Assert.Equal(ReplyType.Array, get.Type);
        Assert.Equal("get", get.Items[0].Text);
        Assert.Equal(2, get.Items[1].Integer);
        Assert.Equal(ReplyType.Set, get.Items[2].Type);
        Assert.Contains(get.Items[2].Items, f => f.Type == ReplyType.Status && f.Text == "readonly");
        var keySpec = get.Items[8].Items[0];
        Assert.Equal(ReplyType.Map, keySpec.Type);
        Assert.Equal("index", keySpec.Get("begin_search")!.Get("type")!.Text);

        var attrib = c.Call("DEBUG", "PROTOCOL", "attrib");
        Assert.Equal("Some real reply following the attribute", attrib.Text);
        Assert.Equal(ReplyType.Attribute, attrib.Attributes!.Type);
        Assert.Equal("key-popularity", attrib.Attributes.Items[0].Text);
        Assert.Equal("[\"key:123\", 90]", attrib.Attributes.Items[1].ToString());

        var big = c.Call("DEBUG", "PROTOCOL", "bignum");
        Assert.Equal((ReplyType.BigNumber, "1234567999999999999999999999999999999"), (big.Type, big.Text));
        var verbatim = c.Call("DEBUG", "PROTOCOL", "verbatim");
        Assert.Equal((ReplyType.Verbatim, "txt", "This is a verbatim\nstring"), (verbatim.Type, verbatim.Format, verbatim.Text));
        Assert.Equal(3.141, c.Call("DEBUG", "PROTOCOL", "double").Double);
        Assert.Equal("#t", c.Call("DEBUG", "PROTOCOL", "true").ToString());
        Assert.Equal("#f", c.Call("DEBUG", "PROTOCOL", "false").ToString());
        Assert.Equal(ReplyType.Null, c.Call("DEBUG", "PROTOCOL", "null").Type);
        Assert.Equal("{0: #f, 1: #t, 2: #f}", c.Call("DEBUG", "PROTOCOL", "map").ToString());
        Assert.Equal(ReplyType.Set, c.Call("DEBUG", "PROTOCOL", "set").Type);
        Assert.Equal(ReplyType.Integer, c.Call("DEBUG", "PROTOCOL", "integer").Type);

        // A push message before the reply it follows (SUBSCRIBE under RESP3 replies with a push).
        var sub = c.Call("SUBSCRIBE", "news");
        Assert.Equal(">[\"subscribe\", \"news\", 1]", sub.ToString());
        Assert.Equal(ReplyType.Push, c.Call("UNSUBSCRIBE", "news").Type);
        Assert.Equal(ReplyType.Error, c.Call("NOSUCHCOMMAND").Type);
    }

    [RequiresToolsFact("redis-server")]
    public void ReadsRealResp2Replies()
    {
        using var c = new Connection(redis.Port);
        Assert.Equal("+OK", c.Call("SET", "reader:k", "v").ToString());
        Assert.Equal("\"v\"", c.Call("GET", "reader:k").ToString());
        Assert.Equal("(nil)", c.Call("GET", "reader:missing").ToString());
        Assert.Equal("(nil array)", c.Call("BLPOP", "reader:nolist", "0.01").ToString());
        Assert.Equal(ReplyType.Bulk, c.Call("INFO", "server").Type);
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsAFullSyncInBothTransferForms(bool diskless)
    {
        using (var admin = new Connection(redis.Port))
        {
            admin.Call("CONFIG", "SET", "repl-diskless-sync", diskless ? "yes" : "no");
            admin.Call("CONFIG", "SET", "repl-diskless-sync-delay", "0");
            admin.Call("SET", "reader:sync", "payload");
        }
        using var c = new Connection(redis.Port);
        c.Reader.SkipKeepaliveNewlines = true;
        // Only a replica that declares capa eof gets the diskless form.
        if (diskless) Assert.Equal("+OK", c.Call("REPLCONF", "capa", "eof", "capa", "psync2").ToString());
        var fullresync = c.Call("PSYNC", "?", "-1");
        Assert.StartsWith("FULLRESYNC ", fullresync.Text);
        c.Reader.ExpectRdbPayload();
        var rdb = c.ReadTransfer();
        Assert.Equal(diskless, c.Reader.EofMark != null);
        if (!diskless) Assert.Equal(rdb.Length, c.Reader.PayloadLength);
        Assert.Equal("REDIS0010", Encoding.ASCII.GetString(rdb, 0, 9));
        // The payload is exactly the file: its trailing CRC64 covers everything before it.
        Assert.Equal(BinaryPrimitives.ReadUInt64LittleEndian(rdb.AsSpan(^8)), Crc64.Compute(0, rdb.AsSpan(0, rdb.Length - 8)));
        Assert.True(rdb.AsSpan().IndexOf("reader:sync"u8) > 0);
        Assert.True(c.Reader.AtReplyBoundary);
    }
}
