// Runs Debian's redis-server 7.0 as a child process on a free loopback port: the oracle for
// differential tests. One per test collection ([Collection(RedisServerCollection.Name)]);
// killed on dispose. When redis-server is missing the fixture stays unstarted (the tests using
// it are skipped by [RequiresToolsFact]) unless CI=true, where it fails with the reason.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cinnabar.Tests.Support;

public sealed class RedisServerFixture : IDisposable
{
    Process? _process;
    int _port;
    readonly string _dir;
    readonly bool _ownsDir;
    readonly StringBuilder _log = new();
    readonly string[] _options;

    public RedisServerFixture() : this(null) { }

    /// <summary>
    /// A redis-server whose `dir` is the given folder (RDB file tests: it loads dump.rdb from
    /// there; the folder is left in place), or a fresh one when null; options are extra
    /// "--name", "value" arguments (an aclfile, say).
    /// </summary>
    internal RedisServerFixture(string? dir, params string[] options) : this(0, dir, options) { }

    /// <summary>The same on a given port (0: a free one), for a test that restarts a server where a client expects it.</summary>
    internal RedisServerFixture(int port, string? dir, params string[] options)
    {
        _options = options;
        _ownsDir = dir == null;
        _dir = dir ?? Path.Combine(Path.GetTempPath(), "cinnabar-redis-" + Guid.NewGuid().ToString("N"));
        var exe = ExternalTools.IsCI ? ExternalTools.Require("redis-server") : ExternalTools.Find("redis-server");
        if (exe == null) return;
        Directory.CreateDirectory(_dir);
        // A port picked by binding port 0 can be taken before redis-server binds it; retry then.
        for (int attempt = 0; attempt < 5 && _process == null; attempt++) TryStart(exe, port != 0 ? port : FreePort());
        if (_process == null) throw new InvalidOperationException("redis-server did not start:\n" + Log);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
    }

    public bool IsRunning => _process is { HasExited: false };

    public int Port => _process != null ? _port : throw new InvalidOperationException("redis-server is not installed");

    public RespClient Connect() => new(Port);

    /// <summary>redis-server's stdout/stderr so far, for failure messages.</summary>
    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    void TryStart(string exe, int port)
    {
        var psi = new ProcessStartInfo(exe)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _dir,
        };
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                     "--enable-debug-command", "yes", "--daemonize", "no", "--dir", _dir })
            psi.ArgumentList.Add(a);
        foreach (var a in _options) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline && !p.HasExited)
        {
            try
            {
                using var c = new RespClient(port, timeoutMs: 2000);
                if (c.CallS("PING") == "+PONG")
                {
                    _process = p;
                    _port = port;
                    return;
                }
            }
            catch (SocketException) { }
            catch (IOException) { }
            Thread.Sleep(20);
        }
        Kill(p);
    }

    /// <summary>A loopback port free right now (for servers whose port must be known before they start).</summary>
    internal static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    static void Kill(Process p)
    {
        try
        {
            if (!p.HasExited)
            {
                p.Kill();
                p.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        p.Dispose();
    }

    public void Dispose()
    {
        var p = Interlocked.Exchange(ref _process, null);
        if (p != null) Kill(p);
        try
        {
            if (_ownsDir && Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
        }
        catch (IOException) { }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisServerCollection : ICollectionFixture<RedisServerFixture>
{
    public const string Name = "redis-server";
}
