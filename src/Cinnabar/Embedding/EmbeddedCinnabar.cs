// The hosting API of the Cinnabar package: a server started in the host's process on its own
// event-loop thread, bound to an ephemeral loopback port by default, stopped the way SHUTDOWN
// stops it (the final save when there are save points), synchronously or asynchronously. Each
// instance is a CinnabarServer with its own configuration, data and threads: two in one
// process share nothing, and neither touches the process's console or working directory.
using System.Net;
using Cinnabar.Server;

namespace Cinnabar.Embedding;

/// <summary>
/// A Cinnabar server running inside this process. Start one with <see cref="Start(CinnabarOptions?)"/>
/// or <see cref="StartAsync(CinnabarOptions?)"/>, connect any Redis client to <see cref="EndPoint"/>
/// (or <see cref="ConnectionString"/>), and dispose it to stop it.
/// </summary>
/// <example>
/// <code>
/// await using var redis = await EmbeddedCinnabar.StartAsync();
/// using var mux = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
/// await mux.GetDatabase().StringSetAsync("k", "v");
/// </code>
/// </example>
public sealed class EmbeddedCinnabar : IDisposable, IAsyncDisposable
{
    readonly string? _temporaryDirectory; // created by Start, deleted on stop (a `dir` directive may point elsewhere)

    EmbeddedCinnabar(CinnabarServer server, string? temporaryDirectory)
    {
        Server = server;
        _temporaryDirectory = temporaryDirectory;
        EndPoint = server.EndPoints[0];
        var host = EndPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback
            : EndPoint.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : EndPoint.Address;
        ConnectionString = new IPEndPoint(host, EndPoint.Port).ToString();
    }

    /// <summary>
    /// Starts a server and returns once it accepts connections (after loading dump.rdb or the
    /// AOF from <see cref="CinnabarOptions.PersistenceDirectory"/>, if there is one).
    /// </summary>
    /// <exception cref="ConfigException">A directive is unknown or has a bad value (redis-server's message).</exception>
    /// <exception cref="InvalidOperationException">The port cannot be bound or the data cannot be loaded.</exception>
    public static EmbeddedCinnabar Start(CinnabarOptions? options = null)
    {
        options ??= new CinnabarOptions();
        bool temporary = options.PersistenceDirectory == null;
        string dir = temporary
            ? Directory.CreateTempSubdirectory("cinnabar-").FullName
            : Directory.CreateDirectory(options.PersistenceDirectory!).FullName;
        try
        {
            var config = new ServerConfig();
            ConfigLoader.LoadFromCommandLine(config, options.CommandLine(dir));
            var log = new Logger(config) { Console = options.LogWriter, Sink = options.Logger };
            var server = new CinnabarServer(config, log);
            server.Start();
            var embedded = new EmbeddedCinnabar(server, temporary ? dir : null);
            log.Notice($"Cinnabar {CinnabarServer.CinnabarVersion} (Redis {CinnabarServer.RedisVersion} compatible) ready to accept connections on {embedded.EndPoint}, dir {config.Dir}");
            return embedded;
        }
        catch
        {
            if (temporary) DeleteDirectory(dir);
            throw;
        }
    }

    /// <summary><see cref="Start(CinnabarOptions?)"/> on a thread-pool thread (the start-up load can take a while).</summary>
    public static Task<EmbeddedCinnabar> StartAsync(CinnabarOptions? options = null) => Task.Run(() => Start(options));

    /// <summary>The address and port the server listens on (the first bind address).</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>
    /// <c>host:port</c> to connect to (<c>127.0.0.1:40123</c>; a wildcard bind address as
    /// loopback), the form StackExchange.Redis's ConnectionMultiplexer.Connect and redis-cli's
    /// <c>-h</c>/<c>-p</c> take.
    /// </summary>
    public string ConnectionString { get; }

    /// <summary>The server's <c>dir</c>: the persistence directory, or the temporary one.</summary>
    public string DataDirectory => Server.Config.Dir;

    /// <summary>
    /// The server itself, for what this type does not cover (its configuration, INFO, the
    /// databases). Its members run on the event-loop thread: reading them from another
    /// thread while clients are served is a race.
    /// </summary>
    public CinnabarServer Server { get; }

    /// <summary>
    /// Completes when the server has stopped, for any reason: Stop, Dispose, or a client's
    /// SHUTDOWN. Faults with <see cref="ServerExitException"/> when it stopped on an error
    /// redis-server exits on (an AOF write or fsync failing with <c>appendfsync always</c>, for
    /// one): the host's process goes on, the server does not.
    /// </summary>
    public Task Completion => Server.Completion;

    /// <summary>
    /// Stops the server as SHUTDOWN does: the final RDB save when there are save points (the
    /// default with a persistence directory; a failed save is logged and the server stops
    /// anyway), clients disconnected, the port released. Waits until it is done. Does nothing
    /// when the server has already stopped.
    /// </summary>
    public void Stop()
    {
        Server.BeginShutdown();
        Server.WaitForShutdown();
        Released();
    }

    /// <summary><see cref="Stop"/> without blocking a thread while the server shuts down.</summary>
    /// <param name="cancellationToken">Stops the waiting, not the shutdown.</param>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Server.BeginShutdown();
        // A server that already stopped on an error (a faulted Completion) is stopped: nothing to throw here.
        await Server.Completion.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
        Released();
    }

    /// <summary>Stops the server (<see cref="Stop"/>).</summary>
    public void Dispose() => Stop();

    /// <summary>Stops the server (<see cref="StopAsync"/>).</summary>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    void Released()
    {
        if (_temporaryDirectory != null) DeleteDirectory(_temporaryDirectory);
    }

    static void DeleteDirectory(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException) { } // already gone, or a file still open elsewhere: the temp dir stays
        catch (UnauthorizedAccessException) { }
    }
}
