// A Sentinel set-up on loopback for the failover tests: data servers (Cinnabar processes or
// Debian's redis-server) and Sentinels (Cinnabar in --sentinel mode or Debian's redis-sentinel),
// each with its own config file in a temp dir, every process ended by its pid on dispose. The
// periods are short (down-after 1 s, failover-timeout 6 s) so a failover takes seconds.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Sentinel;

public sealed class SentinelTopology : IDisposable
{
    public const string MasterName = "mymaster";
    public const int DownAfterMs = 1000;
    public const int FailoverTimeoutMs = 6000;

    readonly string _dir = Path.Combine(Path.GetTempPath(), "cinnabar-sentinel-" + Guid.NewGuid().ToString("N"));
    readonly List<IDisposable> _owned = [];

    public SentinelTopology() => Directory.CreateDirectory(_dir);

    public string Dir => _dir;

    /// <summary>A Cinnabar data server, optionally a replica of primaryPort.</summary>
    public CinnabarProcess StartCinnabar(int port, int? primaryPort = null)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_dir, "server-" + port)).FullName;
        var p = primaryPort is { } pp ? new CinnabarProcess(dir, port, "--replicaof", $"127.0.0.1 {pp}") : new CinnabarProcess(dir, port);
        _owned.Add(p);
        return p;
    }

    /// <summary>The config file a Sentinel starts from: monitor the master with quorum 2 and the short periods.</summary>
    string SentinelConfig(int port, int masterPort, int quorum)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_dir, "sentinel-" + port)).FullName;
        string conf = Path.Combine(dir, "sentinel.conf");
        File.WriteAllText(conf,
            $"port {port}\nbind 127.0.0.1\ndir \"{dir}\"\n" +
            $"sentinel monitor {MasterName} 127.0.0.1 {masterPort} {quorum}\n" +
            $"sentinel down-after-milliseconds {MasterName} {DownAfterMs}\n" +
            $"sentinel failover-timeout {MasterName} {FailoverTimeoutMs}\n");
        return conf;
    }

    /// <summary>A Cinnabar Sentinel (cinnabar-server sentinel.conf --sentinel).</summary>
    public CinnabarProcess StartCinnabarSentinel(int port, int masterPort, int quorum = 2)
    {
        string conf = SentinelConfig(port, masterPort, quorum);
        var p = CinnabarProcess.WithConfigFile(conf, Path.GetDirectoryName(conf)!, port, "--sentinel");
        _owned.Add(p);
        return p;
    }

    /// <summary>Debian's redis-sentinel 7.0 with the same config.</summary>
    public ExternalProcess StartRedisSentinel(int port, int masterPort, int quorum = 2)
    {
        string conf = SentinelConfig(port, masterPort, quorum);
        var p = new ExternalProcess(ExternalTools.Require("redis-sentinel"), port, [conf]);
        _owned.Add(p);
        return p;
    }

    /// <summary>Debian's redis-server 7.0, optionally a replica of primaryPort.</summary>
    public ExternalProcess StartRedisServer(int port, int? primaryPort = null)
    {
        string dir = Directory.CreateDirectory(Path.Combine(_dir, "redis-" + port)).FullName;
        var args = new List<string> { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--dir", dir };
        if (primaryPort is { } pp) args.AddRange(["--replicaof", $"127.0.0.1 {pp}"]);
        var p = new ExternalProcess(ExternalTools.Require("redis-server"), port, [.. args]);
        _owned.Add(p);
        return p;
    }

    /// <summary>What a Sentinel says the master's port is (SENTINEL GET-MASTER-ADDR-BY-NAME).</summary>
    public static int MasterPortSeenBy(int sentinelPort)
    {
        using var c = new RespClient(sentinelPort, timeoutMs: 2000);
        var r = c.Call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName);
        return r.Items is { Count: 2 } ? int.Parse(r.Items[1].Text!) : -1;
    }

    /// <summary>A field of SENTINEL MASTER (num-slaves, num-other-sentinels, flags, ...).</summary>
    public static string MasterField(int sentinelPort, string field)
    {
        using var c = new RespClient(sentinelPort, timeoutMs: 2000);
        var items = c.Call("SENTINEL", "MASTER", MasterName).Items!;
        for (int i = 0; i + 1 < items.Count; i += 2)
            if (items[i].Text == field) return items[i + 1].Text ?? "";
        return "";
    }

    /// <summary>Polls until the condition holds; connection errors count as "not yet".</summary>
    public static void WaitFor(Func<bool> condition, string what, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            try
            {
                if (condition()) return;
            }
            catch (Exception e) when (e is SocketException or IOException) { }
            Thread.Sleep(100);
        }
        throw new TimeoutException($"timed out after {timeout.TotalSeconds:F0} s waiting for {what}");
    }

    public void Dispose()
    {
        foreach (var p in _owned) p.Dispose();
        try { Directory.Delete(_dir, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A Debian Redis executable (redis-server, redis-sentinel) on a known port, killed by its pid on dispose.</summary>
public sealed class ExternalProcess : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _log = new();

    public int Port { get; }

    public ExternalProcess(string exe, int port, string[] args)
    {
        Port = port;
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        SentinelTopology.WaitFor(() =>
        {
            if (_process.HasExited) throw new InvalidOperationException($"{exe} exited:\n{Log}");
            using var c = new RespClient(port, timeoutMs: 1000);
            return c.CallS("PING") == "+PONG";
        }, exe + " to answer PING", TimeSpan.FromSeconds(15));
    }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public void KillHard()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(10000);
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}
