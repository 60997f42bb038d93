// Log lines in Redis's format ("pid:M 21 Nov 2026 07:46:10.123 * message"), filtered by
// loglevel and written to the logfile, else to Console (stdout for the executable, nothing for
// an embedded server unless its host asks), and to the host's ILogger when one is given.
// Thread-safe: background work logs too.
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Cinnabar.Server;

public sealed class Logger
{
    readonly ServerConfig _config;
    readonly object _lock = new();
    readonly int _pid = Environment.ProcessId;
    public char Role = 'M';

    /// <summary>Where lines go when logfile is empty: stdout when the server owns its process (ServerConfig.OwnsProcess), else none until set.</summary>
    public TextWriter? Console;

    /// <summary>The host's logger (embedding): every line that passes loglevel, as the bare message at the matching LogLevel.</summary>
    public ILogger? Sink;

    public Logger(ServerConfig config)
    {
        _config = config;
        Console = config.OwnsProcess ? System.Console.Out : null;
    }

    /// <summary>The configuration this logger reads loglevel and logfile from.</summary>
    public ServerConfig Config => _config;

    static int LevelOf(string name) => name switch
    {
        "debug" => 0,
        "verbose" => 1,
        "notice" => 2,
        "warning" => 3,
        _ => 4,
    };

    /// <summary>Redis's levels as Microsoft.Extensions.Logging's: debug, verbose, notice, warning.</summary>
    static LogLevel SinkLevel(int level) => level switch
    {
        0 => LogLevel.Trace,
        1 => LogLevel.Debug,
        2 => LogLevel.Information,
        _ => LogLevel.Warning,
    };

    public bool Enabled(int level) => level >= LevelOf(_config.LogLevel);

    public void Debug(string msg) => Write(0, msg);
    public void Verbose(string msg) => Write(1, msg);
    public void Notice(string msg) => Write(2, msg);
    public void Warning(string msg) => Write(3, msg);

    /// <summary>strerror(errno) for a failed file operation, as Redis's messages quote it.</summary>
    public static string StrError(Exception e) => e switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        _ => e.Message,
    };

    public void Write(int level, string msg)
    {
        if (!Enabled(level)) return;
        if (Sink is { } sink && sink.IsEnabled(SinkLevel(level)))
            sink.Log(SinkLevel(level), default, msg, null, static (m, _) => m);
        if (_config.LogFile.Length == 0 && Console == null) return;
        char mark = ".-*#"[level];
        var now = DateTime.Now;
        string line = $"{_pid}:{Role} {now.ToString("dd MMM yyyy HH:mm:ss.fff", CultureInfo.InvariantCulture)} {mark} {msg}";
        Raw(line);
    }

    /// <summary>Writes a line as is to the logfile or Console (the ASCII-art banner; not for the Sink).</summary>
    public void Raw(string text)
    {
        lock (_lock)
        {
            if (_config.LogFile.Length > 0)
            {
                try { File.AppendAllText(_config.LogFile, text + "\n"); }
                catch (IOException) { }
            }
            else Console?.WriteLine(text);
        }
    }
}
