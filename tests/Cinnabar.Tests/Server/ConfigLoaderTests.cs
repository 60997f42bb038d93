// redis.conf and command-line parsing: directives, quoting, include, units, Redis's fatal errors.
using Cinnabar.Server;

namespace Cinnabar.Tests.Server;

public class ConfigLoaderTests
{
    [Fact]
    public void DirectivesWithUnitsAndQuotesApply()
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromString(c, "# comment\nport 6390\nmaxmemory 100mb\nrequirepass \"p w\"\n  hz 20  \nclient-query-buffer-limit 2gb\n", "/");
        Assert.Equal(6390, c.Port);
        Assert.Equal(100L * 1024 * 1024, c.MaxMemory);
        Assert.Equal("p w", c.RequirePass);
        Assert.Equal(20, c.Hz);
        Assert.Equal(2L * 1024 * 1024 * 1024, c.ClientQueryBufferLimit);
    }

    [Theory]
    [InlineData("port 7000\n", "3600 1 300 100 60 10000")] // no save line: Redis's defaults
    [InlineData("save 900 1\n", "900 1")]
    [InlineData("save 900 1\nsave 300 10\n", "900 1 300 10")] // later lines add points
    [InlineData("save\n", "")] // bare save (what the Tcl suite writes for save ""): none
    [InlineData("save 900 1\nsave\n", "900 1")]
    [InlineData("save 900 1\nsave \"\"\n", "")] // save "" removes them all
    public void SaveLinesAccumulateAsRedisReadsThem(string text, string expected)
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromString(c, text, "/");
        Assert.Equal(expected, c.GetString("save"));
    }

    [Fact]
    public void MemoryUnitsFollowRedis()
    {
        Assert.True(ConfigEntry.TryParseMemory("1k", out long k) && k == 1000);
        Assert.True(ConfigEntry.TryParseMemory("1kb", out long kb) && kb == 1024);
        Assert.True(ConfigEntry.TryParseMemory("1GB", out long gb) && gb == 1L << 30);
        Assert.True(ConfigEntry.TryParseMemory("5m", out long m) && m == 5_000_000);
        Assert.False(ConfigEntry.TryParseMemory("abc", out _));
    }

    [Fact]
    public void IncludeReadsAnotherFileRelativeToTheFirst()
    {
        var dir = Directory.CreateTempSubdirectory("cinnabar-conf");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "extra.conf"), "timeout 42\n");
            File.WriteAllText(Path.Combine(dir.FullName, "main.conf"), "include extra.conf\nport 7001\n");
            var c = new ServerConfig();
            ConfigLoader.LoadFromCommandLine(c, [Path.Combine(dir.FullName, "main.conf"), "--hz", "50"]);
            Assert.Equal(42, c.TimeoutSeconds);
            Assert.Equal(7001, c.Port);
            Assert.Equal(50, c.Hz);
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void CommandLineOptionsOverrideAndTakeSeveralValues()
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromCommandLine(c, ["--port", "6400", "--bind", "127.0.0.1", "::1", "--client-output-buffer-limit", "normal", "1mb", "512kb", "10"]);
        Assert.Equal(6400, c.Port);
        Assert.Equal(["127.0.0.1", "::1"], c.Bind);
        Assert.Equal((1L << 20, 512L * 1024, 10L), c.OutputBufferLimits["normal"]);
    }

    [Fact]
    public void ADashFirstOrLastReadsStdinBeforeTheOptions()
    {
        var first = new ServerConfig();
        ConfigLoader.LoadFromCommandLine(first, ["-", "--hz", "30"], new StringReader("hz 20\nmaxmemory 1mb\n"));
        Assert.Equal(30, first.Hz);
        Assert.Equal(1L << 20, first.MaxMemory);
        Assert.Null(first.ConfigFile);
        var last = new ServerConfig();
        ConfigLoader.LoadFromCommandLine(last, ["--hz", "30", "-"], new StringReader("timeout 7\n"));
        Assert.Equal(30, last.Hz);
        Assert.Equal(7, last.TimeoutSeconds);
    }

    [Fact]
    public void ADashInTheMiddleIsAValueAsInRedis()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromCommandLine(new ServerConfig(), ["--hz", "30", "-", "--timeout", "7"], new StringReader("")));
        Assert.Contains(">>> 'hz \"30\" \"-\"'", e.Message);
    }

    [Fact]
    public void AnOptionWithoutAValueTakesTheNextArgumentEvenWithDashes()
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromCommandLine(c, ["--requirepass", "--not-an-option", "--port", "7001"]);
        Assert.Equal("--not-an-option", c.RequirePass);
        Assert.Equal(7001, c.Port);
    }

    [Theory]
    [InlineData("--save", "--port", "7002")] // `--save --port 7002`: save "" (Redis keeps the pre-7.0.1 meaning)
    [InlineData("--port", "7002", "--save")] // a trailing --save
    public void ABareSaveOptionMeansNoSavePoints(params string[] args)
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromCommandLine(c, args);
        Assert.Equal("", c.GetString("save"));
        Assert.Equal(7002, c.Port);
    }

    [Fact]
    public void AnOptionAndItsValueCanBeOneArgument()
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromCommandLine(c, ["--port 7003", "--hz", "40"]);
        Assert.Equal(7003, c.Port);
        Assert.Equal(40, c.Hz);
    }

    [Fact]
    public void BadDirectiveIsAFatalErrorInRedisFormat()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromString(new ServerConfig(), "port 6379\nnosuchthing 1\n", "/"));
        Assert.Contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***", e.Message);
        Assert.Contains("Reading the configuration file, at line 2", e.Message);
        Assert.Contains(">>> 'nosuchthing 1'", e.Message);
        Assert.Contains("Bad directive or wrong number of arguments", e.Message);
    }

    [Fact]
    public void InvalidValueReportsTheEntrysReason()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromString(new ServerConfig(), "maxmemory lots\n", "/"));
        Assert.Contains("argument must be a memory value", e.Message);
        var e2 = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromString(new ServerConfig(), "protected-mode maybe\n", "/"));
        Assert.Contains("argument must be 'yes' or 'no'", e2.Message);
    }

    [Fact]
    public void UnbalancedQuotesAreRejected()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromString(new ServerConfig(), "requirepass \"abc\n", "/"));
        Assert.Contains("Unbalanced quotes in configuration line", e.Message);
    }

    [Fact]
    public void RenameCommandRenamesOrRemovesACommandAndRefusesWhatRedisRefuses()
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromString(c, "rename-command flushdb badger\nrename-command CONFIG \"\"\n", "/");
        using var server = new CinnabarServer(c);
        Assert.Null(server.Commands.Lookup("flushdb"u8));
        Assert.Null(server.Commands.Lookup("config"u8));
        Assert.Equal("flushdb", server.Commands.Lookup("BADGER"u8)!.Name); // COMMAND shows its own name
        Assert.NotNull(server.Commands.Lookup("get"u8));

        var unknown = new ServerConfig();
        ConfigLoader.LoadFromString(unknown, "port 1\nrename-command nosuch x\n", "/");
        var e = Assert.Throws<ConfigException>(() => new CinnabarServer(unknown));
        Assert.EndsWith("at line 2\n>>> 'rename-command nosuch x'\nNo such command in rename-command", e.Message);

        var taken = new ServerConfig();
        ConfigLoader.LoadFromString(taken, "rename-command get set\n", "/");
        Assert.EndsWith("Target command name already exists", Assert.Throws<ConfigException>(() => new CinnabarServer(taken)).Message);
    }

    [Fact]
    public void ShutdownOnSignalFlagsAreOneDirectiveWithSeveralArguments()
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromString(c, "shutdown-on-sigterm nosave now\n", "/");
        Assert.Equal("nosave now", c.GetString("shutdown-on-sigterm"));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromString(new ServerConfig(), "shutdown-on-sigint\n", "/"));
        Assert.EndsWith("argument(s) must be one of the following: default, save, nosave, now, force", e.Message);
    }

    [Fact]
    public void ForcedRewriteWritesEveryParameterAndReadsBackTheSame()
    {
        var dir = Directory.CreateTempSubdirectory("cinnabar-rewrite-").FullName;
        try
        {
            string path = Path.Combine(dir, "redis.conf");
            File.WriteAllText(path, "port 7001\n");
            var c = new ServerConfig();
            ConfigLoader.LoadFromString(c, File.ReadAllText(path), dir);
            Assert.Null(c.Set("shutdown-on-sigterm", "nosave now", startup: false));
            ConfigRewrite.Rewrite(c, path, [], forceAll: true);
            string text = File.ReadAllText(path);
            Assert.Contains("\nsave 3600 1\n", text); // the save points are written even as defaults
            Assert.Contains("\nmaxmemory-policy noeviction\n", text); // a default, forced
            var back = new ServerConfig();
            ConfigLoader.LoadFromString(back, text, dir);
            foreach (var e in c.Entries) Assert.Equal(e.Get(), back.Find(e.Name)!.Get());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("replicaof 127.0.0.1 7000\n")]
    [InlineData("replicaof \"127.0.0.1 7000\"\n")] // --replicaof "127.0.0.1 7000" on the command line
    public void ReplicaofTakesTwoArgumentsOrOneThatSplitsInTwo(string text)
    {
        var c = new ServerConfig();
        ConfigLoader.LoadFromString(c, text, "/");
        Assert.Equal("127.0.0.1 7000", c.GetString("replicaof"));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromString(new ServerConfig(), "replicaof \"--127.0.0.1\"\n", "/"));
        Assert.EndsWith("wrong number of arguments", e.Message);
    }

    [Fact]
    public void DirAppendonlyAndReplDisklessLoadAreDeniedWhileLoading()
    {
        var c = new ServerConfig();
        Assert.Equal(["appendonly", "dir", "repl-diskless-load"], c.Entries.Where(e => e.DenyLoading).Select(e => e.Name).Order());
    }
}
