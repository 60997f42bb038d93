// Runs an external tool (redis-cli, redis-benchmark, redis-check-rdb, ...) to completion with
// optional stdin, capturing stdout and stderr, and kills it when it exceeds its time limit so a
// hung server fails the test instead of hanging the run; BackgroundTool runs a long-lived one
// (redis-cli --replica) with its output collected as it comes, and kills it by pid.
using System.Diagnostics;
using System.Text;

namespace Cinnabar.Tests.Support;

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

public static class ToolProcess
{
    /// <summary>The tool with its arguments, all three streams redirected, output read as Latin-1 (bytes unchanged).</summary>
    internal static ProcessStartInfo StartInfo(string tool, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(ExternalTools.Require(tool))
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.Latin1,
            StandardErrorEncoding = Encoding.Latin1,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    public static ToolResult Run(string tool, IEnumerable<string> args, string? stdinFile = null, byte[]? stdin = null, TimeSpan? timeout = null)
    {
        var psi = ToolProcess.StartInfo(tool, args);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var feed = Task.Run(() =>
        {
            try
            {
                if (stdinFile != null)
                {
                    using var f = File.OpenRead(stdinFile);
                    f.CopyTo(p.StandardInput.BaseStream);
                }
                else if (stdin != null) p.StandardInput.BaseStream.Write(stdin);
                p.StandardInput.Close();
            }
            catch (IOException) { } // the tool exited before reading all its input
        });
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            throw new TimeoutException($"{tool} {string.Join(' ', args)} did not finish within {limit.TotalSeconds}s\n" +
                                       $"--- stdout\n{stdout.Result}\n--- stderr\n{stderr.Result}");
        }
        feed.Wait();
        return new ToolResult(p.ExitCode, stdout.Result, stderr.Result);
    }
}

/// <summary>
/// A long-running tool (redis-cli --replica, a monitor): started with its output collected line
/// by line, waited on until a predicate holds, and killed by its pid on dispose.
/// </summary>
public sealed class BackgroundTool : IDisposable
{
    readonly Process _process;
    readonly List<string> _stdout = [];
    readonly List<string> _stderr = [];

    public BackgroundTool(string tool, IEnumerable<string> args)
    {
        var psi = ToolProcess.StartInfo(tool, args);
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_stdout) _stdout.Add(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_stderr) _stderr.Add(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string[] Stdout
    {
        get { lock (_stdout) return [.. _stdout]; }
    }

    public string[] Stderr
    {
        get { lock (_stderr) return [.. _stderr]; }
    }

    /// <summary>Waits until done(stdout, stderr) holds; false when the time runs out or the tool exits first.</summary>
    public bool WaitFor(Func<string[], string[], bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (done(Stdout, Stderr)) return true;
            if (_process.HasExited)
            {
                _process.WaitForExit(); // flushes the asynchronous readers
                return done(Stdout, Stderr);
            }
            Thread.Sleep(10);
        }
        return false;
    }

    /// <summary>Waits for the tool to end by itself; false when the time runs out.</summary>
    public bool WaitForExit(TimeSpan timeout) => _process.WaitForExit(timeout);

    public override string ToString() =>
        $"pid {Pid}{(HasExited ? ", exited " + _process.ExitCode : "")}\n--- stdout\n{string.Join("\n", Stdout)}\n--- stderr\n{string.Join("\n", Stderr)}";

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
