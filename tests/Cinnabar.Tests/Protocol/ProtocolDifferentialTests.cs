// Raw protocol bytes sent to redis-server 7.0 and to Cinnabar: the replies must be the same
// bytes and the connection must be closed (or kept) the same way. Needs redis-server on PATH:
// skipped with the reason when it is missing, a failure when CI=true.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Protocol;

public sealed class RedisServerProcess : IDisposable
{
    readonly Process? _process;
    public int Port { get; }

    public static string? FindRedisServer() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists);

    public RedisServerProcess()
    {
        var exe = FindRedisServer();
        if (exe == null)
        {
            if (Environment.GetEnvironmentVariable("CI") == "true") throw new InvalidOperationException("redis-server is required when CI=true");
            return;
        }
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        Port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        _process = Process.Start(new ProcessStartInfo(exe, $"--port {Port} --save \"\" --appendonly no --bind 127.0.0.1")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        });
        for (int i = 0; i < 100; i++)
        {
            try
            {
                using var c = new RespClient(Port);
                if (c.CallS("PING") == "+PONG") return;
            }
            catch (SocketException) { }
            Thread.Sleep(50);
        }
        throw new InvalidOperationException("redis-server did not start");
    }

    public void Dispose()
    {
        if (_process == null) return;
        _process.Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
    }
}

/// <summary>A fact that needs redis-server: skipped with the reason when it is missing and CI is not set.</summary>
public sealed class NeedsRedisServerFactAttribute : FactAttribute
{
    public NeedsRedisServerFactAttribute()
    {
        if (RedisServerProcess.FindRedisServer() == null && Environment.GetEnvironmentVariable("CI") != "true")
            Skip = "redis-server is not installed (the oracle for differential tests); CI=true makes this a failure";
    }
}

public class ProtocolDifferentialTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    static readonly string[] Cases =
    [
        "*abc\r\n", "*-1\r\nPING\r\n", "$abc\r\n", "*1\r\n$abc\r\n", "*1\r\nx3\r\n", "*1\r\n$536870913\r\n",
        "*1\r\n$4\r\nPINGXY", "*1\r\n$4\r\nPINGXYPING\r\n", "set \"a\r\n", "set 'a'b\r\n", new string('x', 70000),
        "*" + new string('1', 70000), "*1\r\n$" + new string('1', 70000), "*3000000000\r\n", "*1\r\n$-1\r\n",
        "*0\r\nPING\r\n", "\r\n\r\nPING\r\n", "*1\r\n$4\r\nPI", "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "*1\r\n$+4\r\nPING\r\n",
        "*01\r\n$4\r\nPING\r\n", "PING\nPING\r\n", "*1\r\n$4\r\nPING\r\n*1\r\n$-2\r\n", "ECHO \"\\x41\\n\" 'b\\'c'\r\n",
        "*2\r\n$4\r\nECHO\r\n$3\r\nabc", "ECHO a\"b\r\n", "*1\r\n$4\r\nQUIT\r\nPING\r\n",
    ];

    /// <summary>Sends the chunks (pausing between them), then reads until the server closes or goes quiet.</summary>
    static (string Reply, bool Closed) Exchange(int port, params string[] chunks)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Connect(IPAddress.Loopback, port);
        foreach (var chunk in chunks)
        {
            s.Send(Encoding.Latin1.GetBytes(chunk));
            Thread.Sleep(50);
        }
        s.ReceiveTimeout = 500;
        var got = new MemoryStream();
        var buf = new byte[65536];
        bool closed = false;
        try
        {
            while (true)
            {
                int n = s.Receive(buf);
                if (n == 0) { closed = true; break; }
                got.Write(buf, 0, n);
            }
        }
        catch (SocketException e)
        {
            closed = e.SocketErrorCode == SocketError.ConnectionReset;
        }
        return (Encoding.Latin1.GetString(got.ToArray()), closed);
    }

    [NeedsRedisServerFact]
    public void RawProtocolInputGetsTheSameRepliesAndClosing()
    {
        var redis = new RedisServerProcess();
        try
        {
            foreach (var input in Cases)
                Assert.Equal(Exchange(redis.Port, input), Exchange(fx.Port, input));
        }
        finally
        {
            redis.Dispose();
        }
    }

    [NeedsRedisServerFact]
    public void FramesSplitAcrossReadsAreServedLikeRedis()
    {
        var redis = new RedisServerProcess();
        try
        {
            string[][] splits =
            [
                ["*2\r\n$4\r\nECHO\r\n", "$5\r\nhello\r\n"],
                ["*2\r\n$4\r\nEC", "HO\r\n$5\r\nhel", "lo\r\n"],
                ["ECHO he", "llo\r\n"],
                ["*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$20000\r\n" + new string('v', 10000), new string('v', 10000) + "\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"],
            ];
            foreach (var chunks in splits)
                Assert.Equal(Exchange(redis.Port, chunks), Exchange(fx.Port, chunks));
        }
        finally
        {
            redis.Dispose();
        }
    }
}
