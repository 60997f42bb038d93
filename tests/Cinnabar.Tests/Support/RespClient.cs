// A small blocking RESP client for tests: sends commands as multibulk and reads replies into
// a RespReply tree that renders the way redis-cli's raw form would, so tests compare replies
// byte-for-byte between Cinnabar and redis-server.
using System.Net.Sockets;
using System.Text;

namespace Cinnabar.Tests.Support;

public sealed class RespReply
{
    public char Type;            // + - : $ * % ~ _ , # ( = > |
    public string? Text;         // simple/error/bulk/verbatim text, number as text; null for null replies
    public List<RespReply>? Items;

    public bool IsNull => Type == '_' || ((Type == '$' || Type == '*') && Text == null && Items == null);
    public bool IsError => Type == '-';
    public long Integer => long.Parse(Text!, System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A canonical one-line rendering: types included, so differences in reply type show up.</summary>
    public override string ToString()
    {
        switch (Type)
        {
            case '+': return "+" + Text;
            case '-': return "-" + Text;
            case ':': return ":" + Text;
            case '$': return Text == null ? "$nil" : "\"" + Escape(Text) + "\"";
            case '_': return "_nil";
            case ',': return "," + Text;
            case '#': return "#" + Text;
            case '(': return "(" + Text;
            case '=': return "=\"" + Escape(Text!) + "\"";
            default:
                if (Items == null) return Type + "nil";
                return Type + "[" + string.Join(", ", Items.Select(i => i.ToString())) + "]";
        }
    }

    static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s)
        {
            if (c == '"' || c == '\\') sb.Append('\\').Append(c);
            else if (c < 32 || c > 126) sb.Append($"\\x{(int)c:x2}");
            else sb.Append(c);
        }
        return sb.ToString();
    }
}

public sealed class RespClient : IDisposable
{
    readonly TcpClient _tcp;
    readonly Stream _stream;
    // An own read buffer (rather than a BufferedStream) so TryRead can tell whether a reply
    // is already buffered before it polls the socket.
    readonly byte[] _buf = new byte[65536];
    int _pos, _len;

    public RespClient(int port, string host = "127.0.0.1", int timeoutMs = 10000)
    {
        _tcp = new TcpClient();
        _tcp.Connect(host, port);
        _tcp.NoDelay = true;
        _tcp.ReceiveTimeout = timeoutMs;
        _stream = _tcp.GetStream();
    }

    /// <summary>A client over TLS: the handshake (with an optional client certificate) runs before this returns.</summary>
    public RespClient(int port, System.Net.Security.SslClientAuthenticationOptions tls, int timeoutMs = 10000)
    {
        _tcp = new TcpClient();
        _tcp.Connect("127.0.0.1", port);
        _tcp.NoDelay = true;
        _tcp.ReceiveTimeout = timeoutMs;
        var ssl = new System.Net.Security.SslStream(_tcp.GetStream());
        ssl.AuthenticateAsClient(tls);
        _stream = ssl;
    }

    public Socket Socket => _tcp.Client;

    /// <summary>How long Read waits for the next bytes before throwing an IOException.</summary>
    public TimeSpan ReadTimeout
    {
        get => TimeSpan.FromMilliseconds(_tcp.ReceiveTimeout);
        set => _tcp.ReceiveTimeout = (int)value.TotalMilliseconds;
    }

    public static byte[] Encode(params string[] args) => Encode(args.Select(a => Encoding.Latin1.GetBytes(a)).ToArray());

    public static byte[] Encode(params byte[][] args)
    {
        var ms = new MemoryStream();
        var head = Encoding.ASCII.GetBytes($"*{args.Length}\r\n");
        ms.Write(head);
        foreach (var a in args)
        {
            ms.Write(Encoding.ASCII.GetBytes($"${a.Length}\r\n"));
            ms.Write(a);
            ms.Write("\r\n"u8);
        }
        return ms.ToArray();
    }

    public void Send(params string[] args) => SendRaw(Encode(args));

    public void Send(params byte[][] args) => SendRaw(Encode(args));

    public void SendRaw(byte[] bytes) => _stream.Write(bytes);

    public void SendRaw(string s) => SendRaw(Encoding.Latin1.GetBytes(s));

    public RespReply Call(params string[] args)
    {
        Send(args);
        return Read();
    }

    public RespReply Call(params byte[][] args)
    {
        Send(args);
        return Read();
    }

    public string CallS(params string[] args) => Call(args).ToString();

    /// <summary>
    /// Reads the next reply if one starts arriving within the timeout, else returns null and
    /// leaves the connection usable. For "two clients" tests: a blocked client must not have
    /// answered yet (TryRead(short) == null), then answers once another client acts.
    /// </summary>
    public RespReply? TryRead(TimeSpan timeout)
    {
        if (_pos == _len && !_tcp.Client.Poll(timeout, SelectMode.SelectRead)) return null;
        return Read();
    }

    /// <summary>Asserts that nothing arrives within the window (a client stays blocked, no push message).</summary>
    public void AssertNoReply(TimeSpan window)
    {
        var r = TryRead(window);
        if (r != null) throw new Xunit.Sdk.XunitException("expected no reply, got " + r);
    }

    public RespReply Read()
    {
        string line = ReadLine();
        if (line.Length == 0) throw new InvalidDataException("empty reply line");
        char t = line[0];
        string rest = line[1..];
        switch (t)
        {
            case '+':
            case '-':
            case ':':
            case ',':
            case '#':
            case '(':
                return new RespReply { Type = t, Text = rest };
            case '_':
                return new RespReply { Type = '_' };
            case '$':
            case '=':
                {
                    int n = int.Parse(rest, System.Globalization.CultureInfo.InvariantCulture);
                    if (n < 0) return new RespReply { Type = '$' };
                    var buf = new byte[n + 2];
                    ReadExact(buf);
                    return new RespReply { Type = t, Text = Encoding.Latin1.GetString(buf, 0, n) };
                }
            case '*':
            case '~':
            case '>':
            case '%':
            case '|':
                {
                    int n = int.Parse(rest, System.Globalization.CultureInfo.InvariantCulture);
                    if (n < 0) return new RespReply { Type = t };
                    int count = t is '%' or '|' ? n * 2 : n;
                    var items = new List<RespReply>(count);
                    for (int i = 0; i < count; i++) items.Add(Read());
                    return new RespReply { Type = t, Items = items };
                }
            default:
                throw new InvalidDataException("bad reply line: " + line);
        }
    }

    /// <summary>
    /// Reads the RDB a primary sends after SYNC/PSYNC: "$&lt;len&gt;\r\n" then exactly len bytes,
    /// or (diskless) "$EOF:&lt;40-byte mark&gt;\r\n", the bytes and the mark; no CRLF after either
    /// (the stream follows at once). Newlines before it are the primary's keepalives.
    /// </summary>
    public byte[] ReadRdbTransfer()
    {
        SkipKeepalives();
        string line = ReadLine();
        if (!line.StartsWith('$')) throw new InvalidDataException("expected the RDB transfer, got: " + line);
        if (line.StartsWith("$EOF:"))
        {
            var mark = Encoding.ASCII.GetBytes(line[5..]);
            var data = new List<byte>();
            while (data.Count < mark.Length || !data.Skip(data.Count - mark.Length).SequenceEqual(mark))
            {
                int b = ReadByte();
                if (b < 0) throw new EndOfStreamException("connection closed in the RDB transfer");
                data.Add((byte)b);
            }
            return data.Take(data.Count - mark.Length).ToArray();
        }
        var payload = new byte[int.Parse(line[1..], System.Globalization.CultureInfo.InvariantCulture)];
        ReadExact(payload);
        return payload;
    }

    /// <summary>A reply a primary sends a replica (+FULLRESYNC, +CONTINUE), after any keepalive newlines.</summary>
    public RespReply ReadSkippingKeepalives()
    {
        SkipKeepalives();
        return Read();
    }

    /// <summary>A replica waiting for its sync gets a bare "\n" now and then: not a reply.</summary>
    void SkipKeepalives()
    {
        while (true)
        {
            if (_pos == _len && !Fill()) return;
            if (_buf[_pos] != '\n') return;
            _pos++;
        }
    }

    bool Fill()
    {
        _pos = 0;
        _len = _stream.Read(_buf, 0, _buf.Length);
        return _len > 0;
    }

    int ReadByte()
    {
        if (_pos == _len && !Fill()) return -1;
        return _buf[_pos++];
    }

    void ReadExact(byte[] dest)
    {
        int off = 0;
        while (off < dest.Length)
        {
            if (_pos == _len && !Fill()) throw new EndOfStreamException("connection closed");
            int n = Math.Min(_len - _pos, dest.Length - off);
            Buffer.BlockCopy(_buf, _pos, dest, off, n);
            _pos += n;
            off += n;
        }
    }

    string ReadLine()
    {
        var sb = new StringBuilder();
        while (true)
        {
            int b = ReadByte();
            if (b < 0) throw new EndOfStreamException("connection closed");
            if (b == '\r')
            {
                ReadByte();
                return sb.ToString();
            }
            sb.Append((char)b);
        }
    }

    /// <summary>True when the server closed the connection (reads EOF within the timeout).</summary>
    public bool IsClosedByServer(int timeoutMs = 2000)
    {
        _tcp.ReceiveTimeout = timeoutMs;
        try
        {
            return ReadByte() < 0;
        }
        catch (IOException)
        {
            return true;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _tcp.Dispose();
    }
}
