// Runs the built cinnabar-server executable as a child process on a free loopback port, for
// tests that need a real process: kill -9 in the durability test, exit codes of a refused
// start-up. The binary is the one built next to the tests (same configuration; the test
// project references Cinnabar.Server for the build order). Output is collected; the process is
// killed by its pid on dispose. Configuration can also come from stdin ("-").
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Cinnabar.Tests.Support;

public sealed class CinnabarProcess : IDisposable
{
    readonly Process _process;
    readonly StringBuilder _log = new();

    public int Port { get; }
    public int Pid => _process.Id;

    /// <summary>src/Cinnabar.Server/bin/&lt;configuration&gt;/net10.0/cinnabar-server, next to this test build.</summary>
    public static string ExePath
    {
        get
        {
            var baseDir = AppContext.BaseDirectory;
            string config = baseDir.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
            var dir = new DirectoryInfo(baseDir);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Cinnabar.slnx"))) dir = dir.Parent;
            if (dir == null) throw new InvalidOperationException("repository root not found from " + baseDir);
            return Path.Combine(dir.FullName, "src", "Cinnabar.Server", "bin", config, "net10.0", "cinnabar-server");
        }
    }

    /// <summary>Starts the server with `dir` and the given options; returns once it answers PING (or has exited).</summary>
    public CinnabarProcess(string dir, params string[] options) : this(dir, FreePort(), options) { }

    public CinnabarProcess(string dir, int port, params string[] options) : this(null, dir, port, options) { }

    /// <summary>Starts the server with a configuration file (the first argument, as redis-server takes it), then `dir` and the options.</summary>
    public static CinnabarProcess WithConfigFile(string configFile, string dir, params string[] options) => new(configFile, dir, FreePort(), options);

    /// <summary>The same on a given port (a Sentinel whose port its config file names).</summary>
    public static CinnabarProcess WithConfigFile(string configFile, string dir, int port, params string[] options) => new(configFile, dir, port, options);

    /// <summary>
    /// Starts the server reading more configuration from stdin ("-"): the first argument without a
    /// config file, the last one after it, as redis-server takes it. The options come after the
    /// test defaults, so they override them; stdin comes before both.
    /// </summary>
    public static CinnabarProcess WithStdinConfig(string stdinConfig, string? configFile, string dir, params string[] options) =>
        new(configFile, dir, FreePort(), options, stdinConfig);

    CinnabarProcess(string? configFile, string dir, int port, string[] options, string? stdinConfig = null)
    {
        Port = port;
        var psi = new ProcessStartInfo(ExePath)
        {
            RedirectStandardInput = stdinConfig != null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dir,
        };
        if (configFile != null) psi.ArgumentList.Add(configFile);
        else if (stdinConfig != null) psi.ArgumentList.Add("-");
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--enable-debug-command", "yes" })
            psi.ArgumentList.Add(a);
        foreach (var o in options) psi.ArgumentList.Add(o);
        if (configFile != null && stdinConfig != null) psi.ArgumentList.Add("-");
        _process = Process.Start(psi)!;
        if (stdinConfig != null)
        {
            _process.StandardInput.Write(stdinConfig);
            _process.StandardInput.Close();
        }
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_log) _log.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitReady(TimeSpan.FromSeconds(30));
    }

    void WaitReady(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            try
            {
                using var c = new RespClient(Port, timeoutMs: 2000);
                if (c.CallS("PING") == "+PONG") return;
            }
            catch (SocketException) { }
            catch (IOException) { }
            Thread.Sleep(20);
        }
        if (!_process.HasExited) throw new TimeoutException("cinnabar-server did not start:\n" + Log);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, waiting (bounded) for the process to end.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout)) throw new TimeoutException("cinnabar-server did not exit:\n" + Log);
        _process.WaitForExit(); // flushes the output readers
        return _process.ExitCode;
    }

    public string Log
    {
        get { lock (_log) return _log.ToString(); }
    }

    public RespClient Connect(int timeoutMs = 10000) => new(Port, timeoutMs: timeoutMs);

    /// <summary>SIGKILL: no chance to flush anything, as a crash.</summary>
    public void KillHard()
    {
        try
        {
            if (!_process.HasExited) _process.Kill();
            _process.WaitForExit(10000);
        }
        catch (InvalidOperationException) { }
    }

    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }
}
