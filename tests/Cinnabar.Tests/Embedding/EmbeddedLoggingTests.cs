// Where an embedded server's log goes: nowhere by default (not the console: a test runner's
// output stays the host's), to the host's ILogger at the mapped levels, to a TextWriter in
// redis-server's line format when one is given. The console test runs alone (it redirects
// the process's Console.Out).
using System.Text.RegularExpressions;
using Cinnabar.Embedding;
using Microsoft.Extensions.Logging;

namespace Cinnabar.Tests.Embedding;

[CollectionDefinition(nameof(ConsoleCapture), DisableParallelization = true)]
public sealed class ConsoleCapture;

[Collection(nameof(ConsoleCapture))]
public sealed class EmbeddedLoggingTests
{
    [Fact]
    public void NothingIsWrittenToTheConsoleByDefault()
    {
        var original = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        try
        {
            using (var redis = EmbeddedCinnabar.Start(new CinnabarOptions().Configure("loglevel", "debug")))
            {
                using var c = new Support.RespClient(redis.EndPoint.Port);
                c.Call("SET", "k", "v");
            }
        }
        finally
        {
            Console.SetOut(original);
        }
        Assert.Equal("", captured.ToString());
    }

    [Fact]
    public void TheHostsILoggerReceivesTheLinesAtTheMappedLevels()
    {
        var logger = new ListLogger();
        using (var redis = EmbeddedCinnabar.Start(new CinnabarOptions { Logger = logger }.Configure("loglevel", "verbose")))
        {
            using var c = new Support.RespClient(redis.EndPoint.Port);
            c.SendRaw("*x\r\n"); // logged at verbose: "Protocol error (...) from client: ..."
            Assert.True(c.Read().IsError);
        }
        var lines = logger.Lines;
        Assert.Contains(lines, l => l.Level == LogLevel.Information && l.Message.Contains("ready to accept connections on 127.0.0.1:"));
        Assert.Contains(lines, l => l.Level == LogLevel.Debug && l.Message.StartsWith("Protocol error (", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Level == LogLevel.Warning && l.Message == "User requested shutdown...");
        Assert.DoesNotContain(lines, l => l.Level == LogLevel.Trace); // debug lines stay below loglevel verbose
    }

    [Fact]
    public void ALogWriterGetsRedisServersLineFormat()
    {
        var writer = new StringWriter();
        using (EmbeddedCinnabar.Start(new CinnabarOptions { LogWriter = TextWriter.Synchronized(writer) })) { }
        var first = writer.ToString().Split('\n')[0];
        Assert.Matches(new Regex($@"^{Environment.ProcessId}:M \d\d [A-Z][a-z]{{2}} \d{{4}} \d\d:\d\d:\d\d\.\d{{3}} \* Cinnabar .* ready to accept connections on 127\.0\.0\.1:\d+"), first);
    }

    sealed class ListLogger : ILogger
    {
        readonly List<(LogLevel Level, string Message)> _lines = [];

        public List<(LogLevel Level, string Message)> Lines
        {
            get { lock (_lines) return [.. _lines]; }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_lines) _lines.Add((logLevel, formatter(state, exception)));
        }
    }
}
