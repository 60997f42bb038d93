// What a host sets before starting an embedded server (EmbeddedCinnabar): redis.conf directives
// by their own names, applied exactly as `cinnabar-server --name value` would apply them, a
// persistence directory, and where the log goes. Nothing is read from the process's
// environment, its working directory or its console.
using Microsoft.Extensions.Logging;

namespace Cinnabar.Embedding;

/// <summary>Settings for <see cref="EmbeddedCinnabar.Start(CinnabarOptions?)"/>.</summary>
public sealed class CinnabarOptions
{
    readonly List<string> _arguments = [];

    /// <summary>
    /// Sets a redis.conf directive, with redis.conf's name and values: <c>Configure("maxmemory", "100mb")</c>,
    /// <c>Configure("save", "60 1000")</c>, <c>Configure("user", "app", "on", "&gt;secret", "~*", "+@all")</c>.
    /// Each value is one argument, as after <c>--name</c> on cinnabar-server's command line. Calls
    /// apply in order, as redis.conf lines do: a later value replaces an earlier one, and
    /// <c>save</c> and <c>user</c> lines add up. Names and values are checked when the server
    /// starts (<see cref="Cinnabar.Server.ConfigException"/>, with redis-server's message).
    /// </summary>
    /// <remarks>
    /// The defaults differ from redis-server's where a test needs them to: <c>port 0</c> (an
    /// ephemeral port, see <see cref="EmbeddedCinnabar.EndPoint"/>), <c>bind 127.0.0.1</c>, and
    /// without a <see cref="PersistenceDirectory"/>, <c>save ""</c> in a temporary directory.
    /// </remarks>
    /// <returns>These options, for chaining.</returns>
    public CinnabarOptions Configure(string name, params string[] values)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.StartsWith('-') || name.Any(char.IsWhiteSpace))
            throw new ArgumentException($"'{name}' is not a directive name (write it as in redis.conf: \"maxmemory\")", nameof(name));
        _arguments.Add("--" + name);
        _arguments.AddRange(values.Length == 0 ? [""] : values);
        return this;
    }

    /// <summary>
    /// The server's <c>dir</c>: dump.rdb and the AOF are written there (SAVE, BGSAVE, SHUTDOWN and
    /// stopping the server, with Redis's default save points) and loaded from there at start.
    /// Created when missing; left in place on stop. When null, the server works in a new
    /// temporary directory with no save points, deleted when it stops.
    /// </summary>
    public string? PersistenceDirectory { get; set; }

    /// <summary>
    /// Receives the server's log lines that pass <c>loglevel</c> (notice by default): debug as
    /// Trace, verbose as Debug, notice as Information, warning as Warning.
    /// </summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// Receives the same lines in redis-server's format (<c>pid:M 03 Dec 2026 10:00:00.000 * ...</c>),
    /// for example <see cref="Console.Out"/>. Null (the default): the server writes nothing
    /// except to a <c>logfile</c> it is configured with.
    /// </summary>
    public TextWriter? LogWriter { get; set; }

    /// <summary>The command line equivalent: the embedding defaults, then every Configure call in order.</summary>
    internal string[] CommandLine(string dir)
    {
        var args = new List<string> { "--port", "0", "--bind", "127.0.0.1", "--dir", dir };
        if (PersistenceDirectory == null) args.AddRange(["--save", ""]);
        args.AddRange(_arguments);
        return [.. args];
    }
}
