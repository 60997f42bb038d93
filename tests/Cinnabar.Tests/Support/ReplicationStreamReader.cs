// A replica's view of a primary for tests: sends SYNC (or PSYNC ? -1), reads the +FULLRESYNC
// line, skips the "$<len>\r\n" RDB payload (keeping its length and header) and then splits the
// raw command stream into RESP arrays of bulk strings, each kept with its exact bytes. Every
// read has a deadline, so a primary that stops sending fails the test instead of hanging it.
// Newlines a primary sends while it prepares the RDB (keep-alives) are skipped before "$";
// after the payload every byte must belong to a command.
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Cinnabar.Tests.Support;

/// <summary>One propagated command: its exact bytes on the wire and its arguments.</summary>
public sealed class ReplicatedCommand(byte[] raw, byte[][] args)
{
    public byte[] Raw { get; } = raw;
    public byte[][] Args { get; } = args;

    public string Name => Encoding.Latin1.GetString(Args[0]);

    public string Arg(int i) => Encoding.Latin1.GetString(Args[i]);

    /// <summary>redis-cli --replica's CSV form: "set","k","v" (quotes, backslashes and non-printables escaped).</summary>
    public override string ToString() => string.Join(",", Args.Select(a => Quote(a)));

    static string Quote(byte[] a)
    {
        var sb = new StringBuilder("\"");
        foreach (byte b in a)
        {
            if (b == '"' || b == '\\') sb.Append('\\').Append((char)b);
            else if (b == '\n') sb.Append("\\n");
            else if (b == '\r') sb.Append("\\r");
            else if (b < 32 || b > 126) sb.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            else sb.Append((char)b);
        }
        return sb.Append('"').ToString();
    }
}

public sealed class ReplicationStreamReader : IDisposable
{
    readonly Socket _socket;
    readonly byte[] _chunk = new byte[65536];
    // Bytes received but not yet consumed: [_start, _buffer.Count).
    readonly List<byte> _buffer = [];
    int _start;

    /// <summary>The +FULLRESYNC line without its CRLF (PSYNC only; null after SYNC).</summary>
    public string? FullResync { get; private set; }

    /// <summary>The length the primary announced for the RDB payload.</summary>
    public long RdbLength { get; private set; }

    /// <summary>The payload's first bytes (up to 9): "REDIS0010" for an RDB of Redis 7.0.</summary>
    public byte[] RdbHeader { get; private set; } = [];

    /// <summary>Keep-alive newlines the primary sent before the payload.</summary>
    public int NewlinesBeforePayload { get; private set; }

    /// <summary>Every command read so far, in stream order.</summary>
    public List<ReplicatedCommand> Commands { get; } = [];

    ReplicationStreamReader(int port)
    {
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect("127.0.0.1", port);
    }

    /// <summary>Attaches as a replica with SYNC (the old protocol: no +FULLRESYNC line).</summary>
    public static ReplicationStreamReader Sync(int port, TimeSpan timeout) => Attach(port, "SYNC", timeout);

    /// <summary>Attaches as a replica with PSYNC ? -1 (a full resynchronisation is forced).</summary>
    public static ReplicationStreamReader Psync(int port, TimeSpan timeout) => Attach(port, "PSYNC", timeout);

    static ReplicationStreamReader Attach(int port, string how, TimeSpan timeout)
    {
        var r = new ReplicationStreamReader(port);
        try
        {
            var deadline = DateTime.UtcNow + timeout;
            r._socket.Send(how == "SYNC" ? RespClient.Encode("SYNC") : RespClient.Encode("PSYNC", "?", "-1"));
            if (how == "PSYNC")
            {
                r.FullResync = r.ReadLine(deadline, skipNewlines: true);
                if (!r.FullResync.StartsWith("+FULLRESYNC ", StringComparison.Ordinal))
                    throw new InvalidDataException("PSYNC ? -1 was answered with " + r.FullResync);
            }
            string bulk = r.ReadLine(deadline, skipNewlines: true);
            if (bulk.Length < 2 || bulk[0] != '$' || !long.TryParse(bulk.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out long len))
                throw new InvalidDataException($"{how} was answered with {bulk} instead of $<length> (an RDB payload)");
            r.RdbLength = len;
            r.RdbHeader = r.Skip(len, 9, deadline);
            return r;
        }
        catch
        {
            r.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads commands until one satisfies last (it is included) and returns all commands read
    /// so far; throws a TimeoutException (with the stream so far) when it does not come in time.
    /// </summary>
    public List<ReplicatedCommand> ReadUntil(Func<ReplicatedCommand, bool> last, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        if (Commands.Any(last)) return Commands;
        while (true)
        {
            while (TryParseCommand() is { } c)
            {
                Commands.Add(c);
                if (last(c)) return Commands;
            }
            if (!Receive(deadline))
                throw new TimeoutException($"the awaited command did not arrive within {timeout.TotalSeconds}s; stream so far:\n" +
                                           string.Join("\n", Commands) + Pending());
        }
    }

    /// <summary>Reads whatever commands arrive until the stream has been quiet for the window.</summary>
    public List<ReplicatedCommand> ReadQuiet(TimeSpan quiet)
    {
        while (true)
        {
            while (TryParseCommand() is { } c) Commands.Add(c);
            if (!Receive(DateTime.UtcNow + quiet)) return Commands;
        }
    }

    string Pending() => _buffer.Count > _start
        ? "\n(unparsed: " + Encoding.Latin1.GetString(_buffer.GetRange(_start, Math.Min(200, _buffer.Count - _start)).ToArray()) + ")"
        : "";

    /// <summary>Receives more bytes; false when nothing arrived before the deadline.</summary>
    bool Receive(DateTime deadline)
    {
        var left = deadline - DateTime.UtcNow;
        if (left <= TimeSpan.Zero || !_socket.Poll(left, SelectMode.SelectRead)) return false;
        int n = _socket.Receive(_chunk);
        if (n == 0) throw new EndOfStreamException("the primary closed the replication connection" + Pending());
        if (_start > 0 && _start == _buffer.Count)
        {
            _buffer.Clear();
            _start = 0;
        }
        _buffer.AddRange(new ArraySegment<byte>(_chunk, 0, n));
        return true;
    }

    string ReadLine(DateTime deadline, bool skipNewlines)
    {
        while (true)
        {
            if (skipNewlines)
                while (_start < _buffer.Count && _buffer[_start] == '\n')
                {
                    _start++;
                    NewlinesBeforePayload++;
                }
            int end = _buffer.IndexOf((byte)'\n', _start);
            if (end > _start)
            {
                var line = Encoding.Latin1.GetString(_buffer.GetRange(_start, end - _start).ToArray()).TrimEnd('\r');
                _start = end + 1;
                return line;
            }
            if (!Receive(deadline)) throw new TimeoutException("no reply line from the primary" + Pending());
        }
    }

    /// <summary>Consumes n bytes and returns their first keep bytes.</summary>
    byte[] Skip(long n, int keep, DateTime deadline)
    {
        var head = new List<byte>(keep);
        while (n > 0)
        {
            if (_start == _buffer.Count && !Receive(deadline))
                throw new TimeoutException($"the RDB payload stopped with {n} bytes still to come");
            int take = (int)Math.Min(n, _buffer.Count - _start);
            for (int i = 0; i < take && head.Count < keep; i++) head.Add(_buffer[_start + i]);
            _start += take;
            n -= take;
        }
        return head.ToArray();
    }

    /// <summary>Parses one complete command at the read position, or returns null when it is not all here yet.</summary>
    ReplicatedCommand? TryParseCommand()
    {
        int p = _start;
        if (p == _buffer.Count) return null;
        if (_buffer[p] != '*')
            throw new InvalidDataException("the command stream holds something other than a RESP array" + Pending());
        if (!TryReadNumber(ref p, out long count)) return null;
        if (count < 1) throw Bad("array length");
        var args = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            if (p == _buffer.Count) return null;
            if (_buffer[p] != '$') throw Bad("bulk string");
            if (!TryReadNumber(ref p, out long len)) return null;
            if (len < 0) throw Bad("bulk length");
            if (_buffer.Count - p < len + 2) return null;
            args[i] = _buffer.GetRange(p, (int)len).ToArray();
            if (_buffer[p + (int)len] != '\r' || _buffer[p + (int)len + 1] != '\n') throw Bad("CRLF after a bulk string");
            p += (int)len + 2;
        }
        var raw = _buffer.GetRange(_start, p - _start).ToArray();
        _start = p;
        return new ReplicatedCommand(raw, args);
    }

    InvalidDataException Bad(string what) => new("malformed " + what + " in the command stream" + Pending());

    /// <summary>Reads "&lt;type&gt;&lt;digits&gt;\r\n" at p; false when the line is incomplete.</summary>
    bool TryReadNumber(ref int p, out long value)
    {
        value = 0;
        int end = _buffer.IndexOf((byte)'\n', p);
        if (end < 0) return false;
        if (end - p < 3 || _buffer[end - 1] != '\r') throw Bad("length line");
        var text = Encoding.ASCII.GetString(_buffer.GetRange(p + 1, end - 1 - (p + 1)).ToArray());
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value)) throw Bad("length line");
        p = end + 1;
        return true;
    }

    public void Dispose() => _socket.Dispose();
}
