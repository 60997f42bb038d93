// A RESP fuzzer run against Cinnabar and redis-server 7.0.15 side by side: each case opens a
// connection to both, sends the same bytes (a few commands as multibulk or inline frames, then
// mutated: flipped and inserted bytes, cut lengths, wrong prefixes, huge counts, truncation),
// closes its writing side and reads until the server closes. Both servers need a password
// and know an ACL user, so the cases cross NOAUTH, the unauthenticated length limits, AUTH
// and ACL denials. Every reply must be byte for byte redis-server's, and Cinnabar must still
// answer afterwards (no crash, no wedged loop). CINNABAR_FUZZ_CASES sets the count (CI runs
// 20,000; the closing note quotes a 100,000-case run).
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

public sealed class RespFuzzDifferentialTests
{
    static readonly string[][] Commands =
    [
        ["PING"], ["PING", "hello"], ["ECHO", "x y"], ["SET", "f:k", "v"], ["GET", "f:k"], ["INCR", "f:n"],
        ["DEL", "f:k"], ["HSET", "f:h", "a", "1"], ["HGETALL", "f:h"], ["LPUSH", "f:l", "x"], ["LRANGE", "f:l", "0", "-1"],
        ["APPEND", "f:k", "zz"], ["STRLEN", "f:k"], ["EXISTS", "f:k", "f:n"], ["TYPE", "f:h"], ["SELECT", "1"], ["SELECT", "0"],
        ["AUTH", "pw"], ["AUTH", "wrong"], ["AUTH", "fuzz", "fpw"], ["AUTH", "fuzz", "nope"], ["AUTH", "nobody", "x"],
        ["ACL", "WHOAMI"], ["ACL", "DRYRUN", "fuzz", "GET", "g:x"], ["ACL", "DRYRUN", "fuzz", "SET", "f:x", "1"],
        ["GET", "g:secret"], ["SET", "g:secret", "1"], ["PUBLISH", "f:chan", "m"], ["PUBLISH", "g:chan", "m"],
        ["MULTI"], ["EXEC"], ["DISCARD"], ["HELLO", "3"], ["HELLO", "2"], ["HELLO", "3", "AUTH", "fuzz", "fpw"],
        ["CLIENT", "SETNAME", "fz"], ["CLIENT", "GETNAME"], ["INCRBY", "f:n", "abc"], ["NOSUCHCMD", "a"], ["GET"],
        ["SET", "f:k"], ["ZADD", "f:z", "1", "m"], ["ZRANGE", "f:z", "0", "-1", "WITHSCORES"], ["SADD", "f:s", "a"],
        ["SISMEMBER", "f:s", "a"], ["SCARD", "f:s"], ["GETRANGE", "f:k", "0", "-1"], ["MSET", "f:a", "1", "f:b", "2"], ["MGET", "f:a", "f:b"],
    ];

    static byte[] Multibulk(string[] args) => RespClient.Encode(args);

    static byte[] Inline(string[] args) => Encoding.Latin1.GetBytes(string.Join(' ', args.Select(a => a.Contains(' ') ? "\"" + a + "\"" : a)) + "\r\n");

    static byte[] MakeCase(Random rnd)
    {
        var ms = new MemoryStream();
        if (rnd.Next(3) > 0) ms.Write(Multibulk(["AUTH", "pw"])); // most cases start authenticated
        int n = rnd.Next(1, 5);
        for (int i = 0; i < n; i++)
        {
            var cmd = Commands[rnd.Next(Commands.Length)];
            var frame = rnd.Next(4) == 0 ? Inline(cmd) : Multibulk(cmd);
            ms.Write(rnd.Next(3) == 0 ? Mutate(frame, rnd) : frame);
        }
        return ms.ToArray();
    }

    static readonly string[] Garbage = ["*", "$", "\r\n", "*-1\r\n", "*0\r\n", "$-1\r\n", "*99999999999\r\n", "$2147483648\r\n",
        "*1\r\n$-5\r\n", "*20\r\n", "$20000\r\n", "\"", "'", "\\x41", "\0", "*2\r\n$3\r\nGET\r\n", " ", "\n", "+OK\r\n", ":1\r\n"];

    static byte[] Mutate(byte[] frame, Random rnd)
    {
        var b = new List<byte>(frame);
        int ops = rnd.Next(1, 4);
        for (int i = 0; i < ops && b.Count > 0; i++)
        {
            int at = rnd.Next(b.Count);
            switch (rnd.Next(6))
            {
                case 0: b[at] = (byte)rnd.Next(256); break;
                case 1: b.RemoveRange(at, Math.Min(b.Count - at, rnd.Next(1, 6))); break;
                case 2: b.InsertRange(at, Encoding.Latin1.GetBytes(Garbage[rnd.Next(Garbage.Length)])); break;
                case 3: b.Insert(at, (byte)rnd.Next(256)); break;
                case 4: if (char.IsDigit((char)b[at])) b[at] = (byte)('0' + rnd.Next(10)); else b.Insert(at, (byte)'9'); break;
                default: b.RemoveRange(at, b.Count - at); break; // truncated frame
            }
        }
        return b.ToArray();
    }

    /// <summary>Sends the bytes, closes the writing side, returns everything until the server closes (or 3 s pass).</summary>
    static byte[] Exchange(int port, byte[] data)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Connect(IPAddress.Loopback, port);
        s.ReceiveTimeout = 3000;
        s.Send(data);
        s.Shutdown(SocketShutdown.Send);
        var ms = new MemoryStream();
        var buf = new byte[16384];
        try
        {
            int n;
            while ((n = s.Receive(buf)) > 0) ms.Write(buf, 0, n);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.ConnectionReset)
        {
            ms.Write("<no EOF>"u8);
        }
        return ms.ToArray();
    }

    static void Prepare(RespClient c)
    {
        Assert.Equal("+OK", c.CallS("ACL", "SETUSER", "fuzz", "on", ">fpw", "~f:*", "&f:*", "+@all", "-@dangerous", "-@admin"));
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "requirepass", "pw"));
    }

    /// <summary>HELLO's client id differs between the two servers (they count connections apart): it is masked.</summary>
    static byte[] MaskClientIds(byte[] reply) => Encoding.Latin1.GetBytes(
        System.Text.RegularExpressions.Regex.Replace(Encoding.Latin1.GetString(reply), "\\$2\r\nid\r\n:[0-9]+\r\n", "$$2\r\nid\r\n:N\r\n"));

    static string Show(byte[] b) => Encoding.Latin1.GetString(b).Replace("\r", "\\r").Replace("\n", "\\n");

    [RequiresToolsFact("redis-server")]
    public void Fuzzed_frames_get_redis_servers_replies_and_never_harm_the_server()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("CINNABAR_FUZZ_CASES"), out int n) ? n : 20000;
        using var redis = new RedisServerFixture();
        using var fx = new ServerFixture();
        using (var r = redis.Connect()) Prepare(r);
        using (var c = fx.Connect()) Prepare(c);
        var rnd = new Random(20261202);
        var failures = new List<string>();
        for (int i = 0; i < cases && failures.Count < 5; i++)
        {
            var data = MakeCase(rnd);
            var expected = MaskClientIds(Exchange(redis.Port, data));
            var actual = MaskClientIds(Exchange(fx.Port, data));
            if (!expected.AsSpan().SequenceEqual(actual))
                failures.Add($"case {i}: sent\n    {Show(data)}\n  redis-server\n    {Show(expected)}\n  cinnabar\n    {Show(actual)}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        using var after = fx.Connect();
        Assert.Equal("+OK", after.CallS("AUTH", "pw"));
        Assert.Equal("+PONG", after.CallS("PING"));
    }
}
