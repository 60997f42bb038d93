// Runs an external tool (redis-cli, redis-benchmark, redis-check-rdb, ...) to completion with
// optional stdin, capturing stdout and stderr, and kills it when it exceeds its time limit so a
// hung server fails the test instead of hanging the run.
using System.Diagnostics;
using System.Text;

namespace Cinnabar.Tests.Support;

public sealed record ToolResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

public static class ToolProcess
{
    public static ToolResult Run(string tool, IEnumerable<string> args, string? stdinFile = null, byte[]? stdin = null, TimeSpan? timeout = null)
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
