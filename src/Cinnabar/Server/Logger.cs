// Log lines in Redis's format ("pid:M 21 Nov 2026 07:46:10.123 * message"), filtered by
// loglevel and written to stdout or the logfile. Thread-safe: background work logs too.
using System.Globalization;

namespace Cinnabar.Server;

public sealed class Logger
{
    readonly ServerConfig _config;
    readonly object _lock = new();
    readonly int _pid = Environment.ProcessId;
    public char Role = 'M';

    /// <summary>Where lines go when logfile is empty (stdout for the executable; tests may silence it).</summary>
    public TextWriter? Console = System.Console.Out;

    public Logger(ServerConfig config) => _config = config;

    static int LevelOf(string name) => name switch
    {
        "debug" => 0,
        "verbose" => 1,
        "notice" => 2,
        "warning" => 3,
        _ => 4,
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
        char mark = ".-*#"[level];
        var now = DateTime.Now;
        string line = $"{_pid}:{Role} {now.ToString("dd MMM yyyy HH:mm:ss.fff", CultureInfo.InvariantCulture)} {mark} {msg}";
        Raw(line);
    }

    /// <summary>Writes a line as is (the ASCII-art banner).</summary>
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
