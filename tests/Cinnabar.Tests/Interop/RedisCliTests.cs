// Interop with the real redis-cli against an in-process Cinnabar: one-shot commands, quoted
// arguments typed the way users type them, --pipe mass insertion and RESP3 sessions (-3).
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Interop;

public class RedisCliTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    ToolResult Cli(params string[] args) => ToolProcess.Run("redis-cli", ["-p", fx.Port.ToString(), .. args]);

    ToolResult CliStdin(string input, params string[] args) =>
        ToolProcess.Run("redis-cli", ["-p", fx.Port.ToString(), .. args], stdin: Encoding.Latin1.GetBytes(input));

    [RequiresToolsFact("redis-cli")]
    public void SetThenGetRoundTrips()
    {
        var set = Cli("SET", "cli:key", "cli value");
        Assert.True(set.ExitCode == 0, set.ToString());
        Assert.Equal("OK\n", set.Stdout);
        Assert.Equal("cli value\n", Cli("GET", "cli:key").Stdout);
        using var c = fx.Connect();
        Assert.Equal("\"cli value\"", c.CallS("GET", "cli:key"));
    }

    [RequiresToolsFact("redis-cli")]
    public void FormattedOutputShowsNilAndQuotedStrings()
    {
        Assert.Equal("(nil)\n", Cli("--no-raw", "GET", "cli:missing").Stdout);
        Cli("SET", "cli:fmt", "a b");
        Assert.Equal("\"a b\"\n", Cli("--no-raw", "GET", "cli:fmt").Stdout);
    }

    [RequiresToolsFact("redis-cli")]
    public void ErrorRepliesAreShownWithTheirCode()
    {
        var r = Cli("--no-raw", "GET");
        Assert.Equal("(error) ERR wrong number of arguments for 'get' command\n", r.Stdout);
    }

    [RequiresToolsFact("redis-cli")]
    public void CommandsFromStdinKeepQuotedArguments()
    {
        // Without command arguments redis-cli reads one command per line and splits it with
        // sdssplitargs, so the quoting and \x escapes reach the server already decoded.
        var r = CliStdin("SET cli:q \"hello world\"\nSET 'cli:single q' 'it''s'\nSET cli:hex \"\\x41\\x42\\n\"\nGET cli:q\n");
        Assert.True(r.ExitCode == 0, r.ToString());
        using var c = fx.Connect();
        Assert.Equal("\"hello world\"", c.CallS("GET", "cli:q"));
        Assert.Equal("\"AB\\x0a\"", c.CallS("GET", "cli:hex"));
        Assert.EndsWith("hello world\n", r.Stdout);
    }

    [RequiresToolsFact("redis-cli")]
    public void PipeModeInsertsTenThousandKeys()
    {
        string file = Path.Combine(Path.GetTempPath(), $"cinnabar-pipe-{Guid.NewGuid():N}.txt");
        try
        {
            using (var f = File.Create(file))
            {
                for (int i = 0; i < 10_000; i++) f.Write(RespClient.Encode("SET", "pipe:key:" + i, "value:" + i));
            }
            var r = ToolProcess.Run("redis-cli", ["-p", fx.Port.ToString(), "--pipe"], stdinFile: file);
            Assert.True(r.ExitCode == 0, r.ToString());
            Assert.Contains("errors: 0, replies: 10000", r.Stdout);
            using var c = fx.Connect();
            Assert.Equal("\"value:0\"", c.CallS("GET", "pipe:key:0"));
            Assert.Equal("\"value:9999\"", c.CallS("GET", "pipe:key:9999"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [RequiresToolsFact("redis-cli")]
    public void Resp3SessionReportsProtocol3()
    {
        // -3 makes redis-cli open the session with HELLO 3; HELLO's map reply then shows proto 3.
        var r = Cli("-3", "--no-raw", "HELLO");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("1# \"server\" => \"redis\"", r.Stdout);
        Assert.Contains("\"proto\" => (integer) 3", r.Stdout);
        Assert.Equal("(nil)\n", Cli("-3", "--no-raw", "GET", "cli:resp3-missing").Stdout);
    }
}
