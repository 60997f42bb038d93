// Differential check of the configuration registry: CONFIG GET * on a freshly started
// redis-server 7.0 and on Cinnabar must list the same names with the same default values,
// except for the parameters listed here whose value depends on how each process was started.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

public class ConfigDefaultsTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    /// <summary>Intentional differences, each with its reason.</summary>
    static readonly Dictionary<string, string> Differences = new()
    {
        ["port"] = "each server listens on its own ephemeral port",
        ["dir"] = "each process has its own working directory",
        ["bind"] = "the test fixture binds 127.0.0.1 only",
        ["enable-debug-command"] = "the test fixture enables DEBUG",
        ["save"] = "the oracle is started with --save '' to keep the disk clean",
        ["appendonly"] = "the oracle is started with --appendonly no (the default, listed for clarity)",
    };

    [Fact]
    public void ConfigGetStarMatchesRedisNamesAndDefaults()
    {
        // The oracle is required (.ci/run installs Debian's redis-server when missing).
        int port = FreePort();
        using var redis = Process.Start(new ProcessStartInfo("/usr/bin/redis-server", $"--port {port} --save \"\" --appendonly no --bind 127.0.0.1")
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
        try
        {
            var oracle = Fetch(port, retries: 50);
            using var c = fx.Connect();
            var ours = ToMap(c.Call("CONFIG", "GET", "*"));
            var missing = oracle.Keys.Except(ours.Keys).Order().ToList();
            var extra = ours.Keys.Except(oracle.Keys).Order().ToList();
            Assert.True(missing.Count == 0, "missing: " + string.Join(", ", missing));
            Assert.True(extra.Count == 0, "extra: " + string.Join(", ", extra));
            var wrong = oracle.Where(kv => !Differences.ContainsKey(kv.Key) && ours[kv.Key] != kv.Value)
                .Select(kv => $"{kv.Key}: redis '{kv.Value}' cinnabar '{ours[kv.Key]}'").ToList();
            Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        }
        finally
        {
            redis.Kill();
            redis.WaitForExit();
        }
    }

    static Dictionary<string, string> Fetch(int port, int retries)
    {
        for (int i = 0; ; i++)
        {
            try
            {
                using var c = new RespClient(port);
                return ToMap(c.Call("CONFIG", "GET", "*"));
            }
            catch (SocketException) when (i < retries)
            {
                Thread.Sleep(100);
            }
        }
    }

    static Dictionary<string, string> ToMap(RespReply r)
    {
        var items = r.Items!;
        var map = new Dictionary<string, string>();
        for (int i = 0; i + 1 < items.Count; i += 2) map[items[i].Text!] = items[i + 1].Text!;
        return map;
    }

    static int FreePort() => RedisServerFixture.FreePort();
}
