// cinnabar-server's arguments as redis-server takes them, run as a real process: -v/--version
// and -h/--help answer without starting (stdout and exit 0, stderr and exit 1, as
// redis-server), --test-memory is refused, and "-" reads configuration from stdin, alone or
// after a config file, with command-line options overriding both.
using System.Text.RegularExpressions;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Server;

public sealed class ExecutableArgumentsTests
{
    static ToolResult Run(params string[] args) => ToolProcess.Run(CinnabarProcess.ExePath, args, timeout: TimeSpan.FromSeconds(30));

    [Theory]
    [InlineData("--version")]
    [InlineData("-v")]
    public void VersionPrintsCinnabarsVersionAndTheRedisVersionItMatches(string flag)
    {
        var r = Run(flag);
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(new Regex($@"^Cinnabar server v={Regex.Escape(CinnabarServer.CinnabarVersion)} redis=7\.0\.15 sha=[0-9a-f]{{8}}:0 bits=64\n$"), r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    public void HelpPrintsTheUsageOnStderrAndExitsWithOne(string flag)
    {
        var r = Run(flag);
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("Usage: cinnabar-server [/path/to/redis.conf] [options] [-]\n", r.Stderr);
        Assert.Contains("echo 'maxmemory 128mb' | cinnabar-server -\n", r.Stderr);
        Assert.Equal("", r.Stdout);
    }

    [Fact]
    public void TestMemoryIsRefusedAsUnsupported()
    {
        var r = Run("--test-memory", "64");
        Assert.Equal(1, r.ExitCode);
        Assert.StartsWith("--test-memory is not supported by cinnabar-server", r.Stderr);
    }

    [Fact]
    public void ADashAloneReadsTheConfigurationFromStdin()
    {
        using var dir = new TempDir();
        using var server = CinnabarProcess.WithStdinConfig("maxmemory 128mb\nhz 25\n", null, dir.Path);
        using var c = server.Connect();
        Assert.Equal("*[\"maxmemory\", \"134217728\"]", c.CallS("CONFIG", "GET", "maxmemory"));
        Assert.Equal("*[\"hz\", \"25\"]", c.CallS("CONFIG", "GET", "hz"));
        // The log arrives through the process's redirected stdout, read asynchronously: it can lag the replies.
        ReplicationWait.WaitFor(() => server.Log.Contains("Reading config from stdin"), "the stdin log line");
        Assert.Contains(":C ", server.Log.Split('\n').First(l => l.Contains("Reading config from stdin")));
    }

    [Fact]
    public void StdinComesAfterTheFileAndOptionsOverrideBoth()
    {
        using var dir = new TempDir();
        string conf = System.IO.Path.Combine(dir.Path, "redis.conf");
        File.WriteAllText(conf, "hz 11\nmaxmemory 1mb\nmaxmemory-samples 3\n");
        using var server = CinnabarProcess.WithStdinConfig("hz 12\nmaxmemory 2mb\n", conf, dir.Path, "--hz", "13");
        using var c = server.Connect();
        Assert.Equal("*[\"hz\", \"13\"]", c.CallS("CONFIG", "GET", "hz"));
        Assert.Equal("*[\"maxmemory\", \"2097152\"]", c.CallS("CONFIG", "GET", "maxmemory"));
        Assert.Equal("*[\"maxmemory-samples\", \"3\"]", c.CallS("CONFIG", "GET", "maxmemory-samples"));
    }

    sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("cinnabar-args").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
