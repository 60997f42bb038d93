// The server (Redis's redisServer + server.c), the composition root: owns the configuration,
// the databases, the command table, the event loop and every mechanism as a typed field
// created in the constructor (clients, transactions, blocking, Pub/Sub, tracking, MONITOR,
// slowlog, replication, propagation), and calls them explicitly in Redis's order from
// serverCron, beforeSleep, freeClient and the keyspace's signals. Two servers in one process
// share nothing. Embeddable: new CinnabarServer(config).Start() serves on its own loop thread
// (Embedding/EmbeddedCinnabar.cs is the documented hosting API over it).
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using Cinnabar.Commands;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Replication;
using Cinnabar.Server;
using Cinnabar.Transactions;

namespace Cinnabar;

public sealed class CinnabarServer : IKeyspaceOwner, IDisposable
{
    public const string RedisVersion = "7.0.15";

    /// <summary>REDIS_VERSION_NUM: 0x00MMmmpp (redis.REDIS_VERSION_NUM in scripts).</summary>
    public const long RedisVersionNum = (7 << 16) | (0 << 8) | 15;

    /// <summary>This build's version: the package version, from Directory.Build.props.</summary>
    public static readonly string CinnabarVersion =
        typeof(CinnabarServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];

    public readonly ServerConfig Config;
    public readonly Logger Log;
    public readonly ServerStats Stats = new();
    public readonly KeyspaceEvents Events;
    public readonly CommandTable Commands;
    /// <summary>Users, authentication and the permission check (Security/Acl.cs).</summary>
    public readonly Security.Acl Acl;
    /// <summary>The TLS options for tls-port connections (Networking/TlsContext.cs).</summary>
    public readonly TlsContext Tls = new();
    public readonly Dispatcher Dispatcher;
    public Database[] Databases { get; private set; } = [];
    public EventLoop Loop { get; private set; } = null!;
    /// <summary>The cached clock (NowMs, LruClock) refreshed by the loop, the dispatcher and serverCron.</summary>
    public readonly ServerClock Clock = new();
    /// <summary>The connected clients, their lifecycle and the write path (Networking/ClientManager.cs).</summary>
    public readonly ClientManager Clients;
    /// <summary>Per-client memory, its buckets and maxmemory-clients (Networking/ClientEviction.cs).</summary>
    public readonly ClientEviction ClientEviction;
    /// <summary>CLIENT PAUSE state and the postponed clients (Networking/ClientPause.cs).</summary>
    public readonly ClientPause Pause;
    /// <summary>MULTI/EXEC and WATCH (Transactions/Multi.cs).</summary>
    public readonly Multi Transactions;
    /// <summary>Clients blocked on keys (Keyspace/BlockingKeys.cs).</summary>
    public readonly BlockingKeys Blocking;
    public readonly PubSub.PubSub PubSub;
    /// <summary>Client-side caching invalidation (Tracking/Tracking.cs).</summary>
    public readonly Tracking.Tracking Tracking;
    public readonly Networking.Monitor Monitors;
    public readonly SlowLog SlowLog;
    public readonly LatencyMonitor Latency;
    /// <summary>watchdog-period's timer, re-armed by serverCron (Server/Watchdog.cs).</summary>
    public readonly Watchdog Watchdog;
    /// <summary>The primary side of replication and the replication history: replicas, their stream, the backlog (Replication/ReplicationPrimary.cs).</summary>
    public readonly ReplicationPrimary Replication;
    /// <summary>The replica side: REPLICAOF, the link to the primary, the master client (Replication/ReplicationReplica.cs).</summary>
    public readonly ReplicationReplica ReplicaSide;
    /// <summary>FAILOVER, the coordinated handover to a replica (Replication/Failover.cs).</summary>
    public readonly Failover Failover;
    /// <summary>The append-only file: its buffer, files, fsync and rewrite (Persistence/AppendOnlyFile.cs).</summary>
    public readonly Persistence.AppendOnlyFile Aof;
    /// <summary>Where every change to the dataset leaves (Server/Propagation.cs).</summary>
    public readonly Propagation Propagation;
    /// <summary>BGSAVE: the forkless snapshot and the save points (Persistence/BackgroundSave.cs).</summary>
    public readonly Persistence.BackgroundSave BackgroundSave;
    /// <summary>Lua scripts and functions: EVAL's cache, the running script, the busy state (Scripting/LuaScripting.cs).</summary>
    public readonly Scripting.LuaScripting Lua;
    /// <summary>MIGRATE's cached connections to target instances (Networking/MigrateSocketCache.cs).</summary>
    public readonly MigrateSocketCache MigrateSockets = new();

    /// <summary>hasActiveChildProcess: a snapshot (BGSAVE, full sync, AOF rewrite base) or an AOF rewrite is running; one at a time.</summary>
    public bool HasActiveChildProcess => BackgroundSave.ChildActive || Aof.RewriteInProgress;
    readonly List<Listener> _listeners = new();
    ActiveExpire _activeExpire = null!;
    Thread? _thread;
    readonly ManualResetEventSlim _stopped = new(false);
    readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public readonly string RunId = Server.RandomBytes.Hex(20);
    public readonly long StartTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    public long CronLoops;

    /// <summary>LASTSAVE: unix seconds of the last successful save (the start time until one happens).</summary>
    public long LastSaveTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>The cached unix time in ms (ServerClock.NowMs), as the keyspace reads it.</summary>
    public long NowMs => Clock.NowMs;
    /// <summary>server.masterhost != NULL: following a primary (REPLICAOF host port).</summary>
    public bool IsReplica => ReplicaSide.MasterHost != null;
    /// <summary>Expiry is frozen while clients are paused (the dataset must stay static) or when another mechanism asks.</summary>
    public bool ExpiryPaused
    {
        get => _expiryPaused || Pause.ClientsArePaused();
        set => _expiryPaused = value;
    }
    bool _expiryPaused;
    /// <summary>server.loading (Persistence/LoadingProgress.cs): commands without the loading flag get -LOADING.</summary>
    public bool Loading => LoadingProgress.Active;

    /// <summary>The load in progress: its INFO fields, key-load-delay, and event processing during the start-up load.</summary>
    public readonly Persistence.LoadingProgress LoadingProgress;

    /// <summary>freeClient's mechanism part, in Redis's order: blocking, WATCH, Pub/Sub, tracking, replica/monitor lists, MULTI state.</summary>
    internal void FreeClientState(Client c)
    {
        Blocking.FreeClient(c);
        Transactions.UnwatchAllKeys(c);
        PubSub.UnsubscribeAll(c, notify: false);
        Tracking.FreeClient(c);
        Replication.FreeClient(c);
        ReplicaSide.MasterClientFreed(c);
        ShutdownSequence.FreeClient(c);
        Monitors.Remove(c);
        Transactions.FreeClientMultiState(c);
    }

    /// <summary>RESET's mechanism part (clearClientConnectionState): tracking, MULTI/WATCH, Pub/Sub, MONITOR.</summary>
    public void ClearClientConnectionState(Client c)
    {
        Tracking.DisableTracking(c);
        Transactions.FreeClientMultiState(c);
        PubSub.UnsubscribeAll(c, notify: false);
        Monitors.Remove(c);
    }

    public IReadOnlyList<IPEndPoint> EndPoints => _listeners.Select(l => l.EndPoint).ToList();
    public int Port => _listeners.Count > 0 ? _listeners[0].EndPoint.Port : Config.Port;

    /// <summary>A server over config (defaults when null), logging through log (a Logger of the same config; one that writes nowhere unless the config owns the process, when null).</summary>
    public CinnabarServer(ServerConfig? config = null, Logger? log = null)
    {
        Config = config ?? log?.Config ?? new ServerConfig();
        if (log != null && log.Config != Config) throw new ArgumentException("the logger reads another configuration", nameof(log));
        Log = log ?? new Logger(Config);
        Events = new KeyspaceEvents(Config);
        Commands = Config.SentinelMode ? CommandTable.LoadSentinel() : CommandTable.LoadDefault();
        foreach (var r in Config.RenameCommands)
            if (Commands.Rename(r.Name, r.NewName) is { } renameError) throw ConfigLoader.FatalAt(r.LineNumber, r.Line, renameError);
        Acl = new Security.Acl(this);
        Acl.UpdateDefaultUserPassword(Config.RequirePass);
        Config.RequirePassChanged += Acl.UpdateDefaultUserPassword;
        Config.TlsChanged = ReconfigureTls;
        Config.ListenPortChanged = ChangeListenPort;
        Dispatcher = new Dispatcher(this);
        Evictor = new Evictor(this);
        Clients = new ClientManager(this);
        ClientEviction = new ClientEviction(this);
        Lua = new Scripting.LuaScripting(this);
        Pause = new ClientPause(this);
        Transactions = new Multi(this);
        Blocking = new BlockingKeys(this);
        PubSub = new PubSub.PubSub(this);
        Tracking = new Tracking.Tracking(this);
        Monitors = new Networking.Monitor(this);
        SlowLog = new SlowLog(this);
        Latency = new LatencyMonitor(Config);
        Watchdog = new Watchdog(Log);
        Replication = new ReplicationPrimary(this);
        ReplicaSide = new ReplicationReplica(this);
        Failover = new Failover(this);
        ShutdownSequence = new ShutdownSequence(this);
        Aof = new Persistence.AppendOnlyFile(this);
        Propagation = new Propagation(Replication, Aof);
        Config.AppendOnlyChanged = Aof.UpdateAppendOnly;
        BackgroundSave = new Persistence.BackgroundSave(this);
        LoadingProgress = new Persistence.LoadingProgress(this);
        // Keyspace notifications are Pub/Sub messages on __keyspace@N__ / __keyevent@N__ channels.
        Events.Publish = (channel, message) => PubSub.PublishMessage(channel, message, global::Cinnabar.PubSub.PubSubType.Global);
        Config.MaxMemoryChanged += UpdateMaxmemory;
        Config.ReplBacklogSizeChanged += Replication.ResizeBacklog;
        Config.MinReplicasChanged += Replication.RefreshGoodReplicasCount;
        if (Config.SentinelMode)
        {
            Log.Role = 'X';
            Sentinel = new Sentinel.Sentinel(this);
            Sentinel.LoadConfig(Config.SentinelDirectives); // a bad `sentinel` line throws ConfigException
        }
    }

    /// <summary>Sentinel mode's state (null for a data server).</summary>
    public readonly Sentinel.Sentinel? Sentinel;

    /// <summary>Cluster mode's state and redirection (null unless cluster-enabled yes).</summary>
    public Cluster.ClusterState? Cluster { get; private set; }
    public Cluster.ClusterRouting? ClusterRouting { get; private set; }

    /// <summary>Runs in Start() before the dataset is loaded (the executable prints its banner there, as redis-server does).</summary>
    public Action? BeforeLoadingData;

    /// <summary>Binds, starts the loop thread and returns once the server accepts connections.</summary>
    public void Start()
    {
        Databases = new Database[Config.Databases];
        bool indexSlots = Config.GetBool("cluster-enabled"); // immutable: a database indexes its slots for life
        for (int i = 0; i < Databases.Length; i++) Databases[i] = new Database(i, this, KeyspaceMemory, indexSlots);
        _activeExpire = new ActiveExpire(Databases, Config, Stats, Latency, () => NowMs);
        Clock.UpdateCachedTime();
        // Bound and registered before the banner and the load, as Redis's initServer (so a client
        // that read the banner's PID can connect): while the dataset loads on this thread, the
        // loader runs the loop's file events every loading-process-events-interval-bytes, so
        // clients connect and get -LOADING (or the answer of a command allowed while loading,
        // INFO); the loop thread starts after.
        Acl.LoadUsersAtStartup();
        Bind();
        if (Config.GetBool("cluster-enabled") && Sentinel == null)
        {
            Cluster = new Cluster.ClusterState(this);
            Cluster.Init(); // nodes.conf and the bus port (a failure aborts the start, as in Redis)
            ClusterRouting = new Cluster.ClusterRouting(this, Cluster);
        }
        if (Sentinel == null) ReplicaSide.ConfigureFromConfig();
        BeforeLoadingData?.Invoke();
        CreateEventLoop();
        try
        {
            LoadingProgress.ProcessEvents = true;
            if (Sentinel != null) Sentinel.IsRunning(); // a Sentinel holds no data: it starts monitoring
            else Persistence.StartupRecovery.LoadDataFromDisk(this); // AOF or RDB
        }
        catch
        {
            Clients.FreeAll();
            foreach (var l in AllListeners) l.Dispose();
            _listeners.Clear();
            _tlsListeners.Clear();
            _unixListener = null;
            Loop.Dispose();
            throw;
        }
        finally
        {
            LoadingProgress.ProcessEvents = false;
        }
        Loop.AddTimeEvent(1, ServerCron);
        _thread = new Thread(() =>
        {
            try
            {
                Loop.Run();
            }
            finally
            {
                Cleanup();
                _stopped.Set();
                if (ExitCode is int code) _completion.TrySetException(new Server.ServerExitException(code));
                else _completion.TrySetResult();
            }
        })
        {
            Name = "cinnabar-event-loop",
            IsBackground = true,
        };
        _thread.Start();
    }

    void CreateEventLoop()
    {
        Loop = new EventLoop(EventLoop.CreateDefaultPoller());
        Loop.BeforeSleep = BeforeSleep;
        Loop.UnhandledError = (e, handler) =>
        {
            Log.Warning("Unexpected error on the event loop: " + e);
            if (handler is Client c) Clients.FreeClient(c);
        };
        Loop.AfterSleep = () =>
        {
            _awakeSince = Stopwatch.GetTimestamp();
            Clock.UpdateCachedTime(_awakeSince);
        };
        foreach (var l in AllListeners) l.Token = Loop.Register(l.Socket, l, EventMask.Readable);
        Cluster?.RegisterListeners();
        _listenersRegistered = true;
    }

    bool _listenersRegistered;

    bool _processingEventsWhileBlocked;

    /// <summary>
    /// processEventsWhileBlocked: a few non-blocking passes over the file events from inside a
    /// long load (no time events: serverCron waits), with beforeSleep reduced to writing replies.
    /// </summary>
    public void ProcessEventsWhileBlocked()
    {
        ShutdownIfSignalledWhileLoading();
        _processingEventsWhileBlocked = true;
        try
        {
            for (int i = 0; i < 4; i++)
                if (Loop.ProcessFileEventsNow() == 0) break;
        }
        finally
        {
            _processingEventsWhileBlocked = false;
        }
    }

    void Bind()
    {
        // Port 0 at start-up is an ephemeral port (embedding and tests), not "no TCP" as in Redis.
        if (ListenToPort(Config.Port, tls: false, _listeners) is { } error)
            throw new InvalidOperationException($"Failed listening on port {Config.Port} (TCP), aborting.", error);
        if (_listeners.Count == 0) throw new InvalidOperationException($"Failed listening on port {Config.Port} (TCP), aborting.");
        int tlsPort = (int)Config.GetLong("tls-port");
        // tlsConfigure runs when anything uses TLS: the tls-port listeners, a replica's link, the cluster bus.
        if (UsesTls && Tls.Configure(Config) is { } tlsError)
        {
            Log.Warning(tlsError);
            throw new InvalidOperationException("Failed to configure TLS. Check logs for more info.");
        }
        if (tlsPort != 0 && ListenToPort(tlsPort, tls: true, _tlsListeners) is { } error2)
            throw new InvalidOperationException($"Failed listening on port {tlsPort} (TLS), aborting.", error2);
        string unixSocket = Config.GetString("unixsocket");
        if (unixSocket.Length > 0)
        {
            try
            {
                _unixListener = new Listener(this, unixSocket, Config.TcpBacklog, Convert.ToInt32(Config.GetString("unixsocketperm"), 8));
            }
            catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"Failed opening Unix socket: {e.Message}", e);
            }
        }
    }

    /// <summary>
    /// listenToPort: a listener on port for every bind address (a "-" address may be missing).
    /// On failure Redis's log line is written, the listeners made so far are closed and the
    /// exception returned.
    /// </summary>
    SocketException? ListenToPort(int port, bool tls, List<Listener> into)
    {
        var made = new List<Listener>();
        foreach (var raw in Config.Bind)
        {
            bool optional = raw.StartsWith('-');
            string addr = optional ? raw[1..] : raw;
            IPAddress ip = addr switch
            {
                "*" => IPAddress.Any,
                "::*" => IPAddress.IPv6Any,
                "localhost" => IPAddress.Loopback,
                _ => IPAddress.Parse(addr),
            };
            try
            {
                // An ephemeral port (0) chosen by the first address is reused for the others.
                int p = port == 0 && made.Count > 0 ? made[0].EndPoint.Port : port;
                made.Add(new Listener(this, ip, p, Config.TcpBacklog) { Tls = tls });
            }
            catch (SocketException e)
            {
                if (optional && e.SocketErrorCode is SocketError.AddressNotAvailable or SocketError.AddressFamilyNotSupported) continue;
                Log.Warning($"Could not create server TCP listening socket {addr}:{port}: bind: {e.Message}");
                foreach (var l in made) l.Dispose();
                return e;
            }
        }
        into.AddRange(made);
        return null;
    }

    /// <summary>
    /// changeListenPort (CONFIG SET port / tls-port): the listeners of that kind close, then the
    /// new port is bound on every bind address; 0 leaves none. When the new port cannot be bound
    /// the old one is bound again and CONFIG SET's error returned.
    /// </summary>
    string? ChangeListenPort(bool tls)
    {
        if (!_listenersRegistered) return null; // not started yet: Bind uses the value
        var list = tls ? _tlsListeners : _listeners;
        int port = tls ? (int)Config.GetLong("tls-port") : Config.Port;
        int oldPort = list.Count > 0 ? list[0].EndPoint.Port : 0;
        foreach (var l in list)
        {
            Loop.Unregister(l.Socket, l.Token);
            l.Dispose();
        }
        list.Clear();
        if (port == 0) return null;
        const string Failed = "Unable to listen on this port. Check server logs.";
        if (tls && Tls.ServerOptions == null && Tls.Configure(Config) is { } tlsError)
        {
            Log.Warning(tlsError);
            return Failed;
        }
        string? result = null;
        if (ListenToPort(port, tls, list) != null)
        {
            // The old port is bound again (what restoring the old value does in Redis).
            result = Failed;
            if (oldPort != 0) ListenToPort(oldPort, tls, list);
        }
        foreach (var l in list) l.Token = Loop.Register(l.Socket, l, EventMask.Readable);
        return result;
    }

    /// <summary>The unixsocket listener, when configured.</summary>
    Listener? _unixListener;

    /// <summary>The tls-port listeners, one per bind address.</summary>
    readonly List<Listener> _tlsListeners = [];

    IEnumerable<Listener> AllListeners => _listeners.Concat(_tlsListeners).Concat(_unixListener == null ? [] : [_unixListener]);

    bool UsesTls => Config.GetLong("tls-port") != 0 || Config.GetBool("tls-replication") || Config.GetBool("tls-cluster");

    /// <summary>applyTlsCfg: a changed tls-* parameter rebuilds the options new TLS connections use.</summary>
    string? ReconfigureTls()
    {
        if (!UsesTls) return null;
        var err = Tls.Configure(Config);
        if (err != null) Log.Warning(err);
        return err;
    }

    public void Stop()
    {
        if (_thread == null) return;
        Loop.Stop();
        _stopped.Wait(TimeSpan.FromSeconds(10));
        _thread = null;
    }

    /// <summary>
    /// Thread-safe (signal handlers): the shutdown is requested (shutdown_asap) and serverCron
    /// carries it out, as Redis does, so SHUTDOWN ABORT can still cancel it before then.
    /// </summary>
    public void RequestShutdown(string reason)
    {
        _signalDuringLoading = reason;
        Loop.Post(() =>
        {
            if (_signalDuringLoading == null) return; // carried out during a load already
            _signalDuringLoading = null;
            Log.Warning($"Received {reason} scheduling shutdown...");
            ShutdownSequence.SignalReceived(reason);
        });
    }

    /// <summary>A signal not yet carried out: a load that processes events checks it (whileBlockedCron).</summary>
    volatile string? _signalDuringLoading;

    /// <summary>
    /// whileBlockedCron's shutdown: a SIGTERM/SIGINT that arrives while the dataset loads (the
    /// loop proper is not running) ends the process here without saving, as Redis does.
    /// </summary>
    void ShutdownIfSignalledWhileLoading()
    {
        if (_signalDuringLoading == null || !Loading || !Config.OwnsProcess) return;
        _signalDuringLoading = null;
        Log.Warning("Received shutdown signal during loading, scheduling shutdown.");
        if (ShutdownSequence.Begin(save: false, force: false, now: true, requester: null) == ShutdownResult.Done) Environment.Exit(0);
        Log.Warning("SIGTERM received but errors trying to shut down the server, check the logs for more information");
    }

    /// <summary>The code Exit stopped an embedded server with (null while it runs or after a normal stop).</summary>
    public int? ExitCode { get; private set; }

    /// <summary>
    /// exit(code) where Redis exits on an error it cannot recover from (an AOF write or fsync
    /// failing under appendfsync always, DEBUG LOADAOF of a bad file, nodes.conf not writable,
    /// SENTINEL SIMULATE-FAILURE crash-*): cinnabar-server's process ends. An embedded server
    /// must not end its host's process: its loop stops at once instead, no reply of this
    /// iteration goes out and no further event is handled (as if the process had ended), its
    /// clients are closed and its ports released, and Completion faults with ServerExitException.
    /// The caller returns right after, as it would never have returned in Redis.
    /// </summary>
    public void Exit(int code)
    {
        if (Config.OwnsProcess) Environment.Exit(code);
        if (ExitCode != null) return;
        ExitCode = code;
        Log.Warning($"Embedded server stopped as the process would have exited (code {code})");
        Loop.Stop();
    }

    /// <summary>DEBUG PAUSE-CRON: serverCron does nothing while set.</summary>
    public bool CronPaused;

    /// <summary>SHUTDOWN, SIGTERM and SIGINT, with the wait for lagging replicas (Server/ShutdownSequence.cs).</summary>
    public readonly ShutdownSequence ShutdownSequence;

    /// <summary>Blocks until the loop thread ends (SHUTDOWN or Stop).</summary>
    public void WaitForShutdown() => _stopped.Wait();

    /// <summary>Completes once the loop thread has ended and released the ports and files (SHUTDOWN, BeginShutdown or Stop).</summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Thread-safe: SHUTDOWN NOW FORCE as a client would send it, carried out on the loop (the
    /// final save when save points are set, the AOF flushed, the loop stopped even if the save
    /// fails). Completion completes once it is done; before Start or after the end it does nothing.
    /// </summary>
    public void BeginShutdown()
    {
        if (_thread == null || Completion.IsCompleted) return;
        Loop.Post(() => ShutdownSequence.Begin(save: null, force: true, now: true, requester: null));
    }

    public void Dispose() => Stop();

    /// <summary>
    /// closeListeningSockets at the end of a shutdown: no connection is accepted from then on,
    /// even while the loop unwinds (a killed busy script, say). Cleanup deletes the Unix socket.
    /// </summary>
    internal void CloseListeningSockets()
    {
        foreach (var l in AllListeners)
        {
            if (_listenersRegistered && l.Token >= 0)
            {
                try { Loop.Unregister(l.Socket, l.Token); }
                catch (InvalidOperationException) { }
            }
            l.Dispose();
        }
    }

    void Cleanup()
    {
        Watchdog.Dispose();
        BackgroundSave.Kill(); // an embedding process that stops the server leaves no writer thread or temp file
        ReplicaSide.Close();
        Cluster?.Close();
        MigrateSockets.CloseAll();
        Clients.FreeAll();
        Aof.Dispose();
        foreach (var l in AllListeners) l.Dispose();
        _listeners.Clear();
        _tlsListeners.Clear();
        if (_unixListener != null)
        {
            try { File.Delete(Config.GetString("unixsocket")); } // Redis unlinks its socket file on exit
            catch (IOException) { }
            _unixListener = null;
        }
        Loop.Dispose();
    }

    public bool AuthRequired(Client c) => Acl.AuthRequired(c);

    /// <summary>performEvictions (Keyspace/Eviction.cs): run before every command while maxmemory is set.</summary>
    public EvictResult PerformEvictions() => Evictor.PerformEvictions();

    public readonly Evictor Evictor;

    public IDictExpandPolicy DictExpandPolicy => Evictor;

    /// <summary>A key was evicted: its DEL propagates, then WATCH/tracking and the "evicted" notification.</summary>
    internal void OnKeyEvicted(Database db, byte[] key)
    {
        Propagation.PropagateDeletion(db.Id, Config.GetBool("lazyfree-lazy-eviction") ? "UNLINK"u8 : "DEL"u8, key, joinUnit: false);
        Stats.EvictedKeys++;
        SignalModifiedKeyByServer(db, key);
        Events.Notify(NotifyClass.Evicted, "evicted", key, db.Id);
    }


    /// <summary>
    /// The running totals behind used_memory, each kept up to date where its memory changes: the
    /// databases' data, dict tables and expires entries; the linked clients' query buffers and reply
    /// lists; replicas' reply lists, which eviction does not count.
    /// </summary>
    public readonly MemoryCounter KeyspaceMemory = new(), ClientsMemory = new(), ReplicaOutputMemory = new();

    /// <summary>freeMemoryGetNotCountedMemory: replica output buffers and the replication buffer (backlog and replicas' stream) do not trigger eviction.</summary>
    public long MemNotCountedForEvict => ReplicaOutputMemory.Bytes + ReplicationBufferMemory;

    /// <summary>The running estimate of data memory plus a fixed baseline, as INFO used_memory: O(1), read before every command under maxmemory.</summary>
    public long UsedMemory => BaselineMemory + KeyspaceMemory.Bytes + ClientsMemory.Bytes + ReplicaOutputMemory.Bytes + ReplicationBufferMemory;

    /// <summary>mem_total_replication_buffers: the shared stream blocks the backlog and the replicas hold.</summary>
    public long ReplicationBufferMemory => Replication.Backlog?.Memory ?? 0;

    /// <summary>
    /// UsedMemory recounted by walking every database and every client: O(dbs + clients),
    /// for tests and debugging the running totals (a difference means a change went uncounted).
    /// </summary>
    public long ComputeUsedMemory()
    {
        long sum = BaselineMemory;
        foreach (var db in Databases) sum += db.UsedMemory + ObjectSize.KeyspaceOverhead(db);
        foreach (var c in Clients.All) sum += c.Output.ListBytes + c.QueryBufferCapacity;
        return sum + ReplicationBufferMemory;
    }

    /// <summary>MemNotCountedForEvict recounted over the clients (tests and debugging).</summary>
    public long ComputeMemNotCountedForEvict()
    {
        long overhead = 0;
        foreach (var c in Clients.All)
            if (c.HasFlag(ClientFlags.Replica)) overhead += c.Output.ListBytes;
        return overhead + ReplicationBufferMemory;
    }

    /// <summary>Memory of an empty server (the startup used_memory Redis reports is about this).</summary>
    public const long BaselineMemory = 870_000;

    // ---------------------------------------------------------------- loop hooks

    long _awakeSince;

    void BeforeSleep()
    {
        long now = Stopwatch.GetTimestamp();
        Clock.UpdateCachedTime(now);
        if (_processingEventsWhileBlocked)
        {
            Clients.HandleClientsWithPendingWrites();
            Clients.FreeClientsInAsyncFreeQueue();
            return;
        }
        Pause.ResumePostponedClients();
        Cluster?.BeforeSleep();
        Blocking.BeforeSleep();
        Tracking.BroadcastInvalidationMessages();
        if (Config.ActiveExpireEnabled && !IsReplica && !ExpiryPaused) _activeExpire.Cycle(fast: true);
        if (Failover.State == FailoverState.WaitForSync) Failover.Update();
        Replication.BeforeSleep(); // GETACK for WAIT, then WAIT clients whose replicas acknowledged
        Aof.BeforeSleep(); // before any reply is written: appendfsync always acknowledges only what is on disk
        if (ExitCode != null) return; // an embedded server's write or fsync failed: nothing more goes out
        Clients.HandleClientsWithPendingWrites();
        Clients.FreeClientsInAsyncFreeQueue();
        ClientEviction.EvictClients(); // after the writes: what the sockets took is no longer held
        // A snapshot's walk takes a slice of the loop proportional to the time the iteration spent
        // serving clients (more when idle), after their replies are written, so a BGSAVE under
        // load adds little to any command's latency.
        if (BackgroundSave.HasWork) BackgroundSave.Step(Persistence.BackgroundSave.StepBudgetTicks(now - _awakeSince, Loop.LastEventCount > 0));
        Loop.KeepAwake = BackgroundSave.KeepLoopAwake;
    }

    /// <summary>INFO's instantaneous_ops_per_sec and kbps fields.</summary>
    public readonly InstantaneousMetrics Metrics = new();

    /// <summary>serverCron: runs hz times per second.</summary>
    long ServerCron()
    {
        Clock.UpdateCachedTime();
        // Software watchdog: it fires if the loop does not come back here within the period.
        Watchdog.Schedule(Config.GetLong("watchdog-period"), Config.Hz);
        if (CronPaused) return 1000 / Math.Max(1, Config.Hz);
        CronLoops++;
        Clients.ClientsCron();
        Metrics.Track(Stats, NowMs);
        DatabasesCron();
        Blocking.HandleBlockedClientsTimeout();
        Tracking.LimitUsedSlotsIfTracking();
        if (CronLoops % Math.Max(1, Config.Hz) == 0)
        {
            // replicationCron, run_with_period(1000): the replica half, then the primary half.
            ReplicaSide.Cron();
            Replication.Cron();
            // run_with_period(1000): MIGRATE connections unused for 10 s close.
            MigrateSockets.CloseTimedOut(NowMs / 1000);
        }
        BackgroundSave.Cron();
        Replication.StartPendingFullSync();
        Aof.Cron(everySecond: CronLoops % Math.Max(1, Config.Hz) == 0);
        ShutdownSequence.Cron();
        // clusterCron, run_with_period(100).
        if (Cluster != null && (CronLoops % Math.Max(1, Config.Hz / 10) == 0)) Cluster.Cron();
        if (Sentinel != null)
        {
            Sentinel.Timer();
            return 1000 / Sentinel.Hz;
        }
        return 1000 / Math.Max(1, Config.Hz);
    }

    void DatabasesCron()
    {
        if (Config.ActiveExpireEnabled && !IsReplica && !ExpiryPaused) _activeExpire.Cycle(fast: false);
        else if (Config.ActiveExpireEnabled && IsReplica) ReplicaKeysWithExpire.ExpireKeys(Databases, NowMs); // expireSlaveKeys
        foreach (var db in Databases)
        {
            db.Main.ShrinkIfNeeded();
            db.Expires.ShrinkIfNeeded();
        }
        if (Config.ActiveRehashing)
        {
            foreach (var db in Databases)
            {
                // incrementallyRehash: 1 ms per call, main dict first.
                if (db.Main.IsRehashing) { db.Main.RehashMilliseconds(1); break; }
                if (db.Expires.IsRehashing) { db.Expires.RehashMilliseconds(1); break; }
            }
        }
    }

    public ActiveExpire ActiveExpireCycle => _activeExpire;

    /// <summary>Keys a writable replica's clients gave a TTL: this replica expires them itself (Keyspace/ReplicaKeysWithExpire.cs).</summary>
    public readonly ReplicaKeysWithExpire ReplicaKeysWithExpire = new();

    public bool ExecutingMasterCommand => Dispatcher.CurrentClient?.HasFlag(ClientFlags.Master) ?? false;

    public void RememberReplicaKeyWithExpire(Database db, ReadOnlySpan<byte> key) => ReplicaKeysWithExpire.Remember(db, key);

    /// <summary>
    /// updateMaxmemory: a lower limit set at runtime evicts from a time event (not inside the
    /// command, so the DELs follow a MULTI's EXEC in the replication stream), or refuses writes.
    /// </summary>
    void UpdateMaxmemory()
    {
        if (Config.MaxMemory == 0 || _thread == null) return;
        long used = UsedMemory - MemNotCountedForEvict;
        if (Config.MaxMemory < used)
            Log.Warning($"WARNING: the new maxmemory value set via CONFIG SET ({Config.MaxMemory}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.");
        Evictor.StartEvictionTimeProc();
    }

    // ---------------------------------------------------------------- IKeyspaceOwner

    public bool LfuPolicy => Config.LfuPolicy;

    public void TouchObject(RedisObject o)
    {
        if (Config.LfuPolicy) Eviction.LfuTouch(o, this);
        else o.Lru = (uint)Clock.LruClock;
    }

    public void InitObjectLru(RedisObject o)
    {
        o.Lru = Config.LfuPolicy ? (Eviction.LfuMinutes(NowMs) << 8) | Eviction.LfuInitVal : (uint)Clock.LruClock;
    }

    public void OnKeyspaceLookup(Database db, ReadOnlySpan<byte> key, bool hit, bool notify)
    {
        if (hit) Stats.KeyspaceHits++;
        else
        {
            if (notify) Events.Notify(NotifyClass.KeyMiss, "keymiss", key, db.Id);
            Stats.KeyspaceMisses++;
        }
    }

    /// <summary>dbAdd: clients blocked on the key may be served (RENAME, MOVE, COPY onto a waited key); the "new" event.</summary>
    public void OnStreamRemoved(Database db, ReadOnlySpan<byte> key) => Blocking.OnStreamRemoved(db, key);

    public void OnKeyAdded(Database db, ReadOnlySpan<byte> key)
    {
        Blocking.OnKeyAdded(db, key);
        Events.Notify(NotifyClass.New, "new", key, db.Id);
    }

    /// <summary>deleteExpiredKeyAndPropagate's side effects: the "expired" event, WATCH/tracking, the DEL.</summary>
    public void OnKeyExpired(Database db, byte[] key)
    {
        Events.Notify(NotifyClass.Expired, "expired", key, db.Id);
        SignalModifiedKeyByServer(db, key);
        Propagation.PropagateDeletion(db.Id, Config.GetBool("lazyfree-lazy-expire") ? "UNLINK"u8 : "DEL"u8, key, joinUnit: true);
        Stats.ExpiredKeys++;
    }

    /// <summary>
    /// A key delKeysInSlot removed (Database.DeleteKeysInSlot), fanned out as Redis 7.2 does
    /// (redis#11084; 7.0.15 deletes silently, so its replicas and AOF keep the keys): its DEL
    /// (UNLINK under lazyfree-lazy-server-del) leaves at once, WATCH and tracking are signalled
    /// with no client as the modifier, and it counts as a change. Redis tells only modules of the
    /// "del" (the key moved to another node, no client deleted it), so Pub/Sub subscribers get nothing.
    /// </summary>
    public void OnSlotKeyDeleted(Database db, RedisObject o)
    {
        var key = o.KeySpan;
        bool lazy = Config.GetBool("lazyfree-lazy-server-del");
        if (lazy && LazyFree.WouldFreeInBackground(o)) Stats.LazyfreedObjects++;
        Propagation.PropagateDeletion(db.Id, lazy ? "UNLINK"u8 : "DEL"u8, key, joinUnit: false);
        SignalModifiedKeyByServer(db, key);
        Stats.Dirty++;
    }

    /// <summary>
    /// True while the server itself (expiry, eviction) signals a change: no client is the
    /// modifier, as when Redis passes NULL to signalModifiedKey (tracking's NOLOOP relies on it).
    /// </summary>
    public bool ModifiedByServer { get; private set; }

    void SignalModifiedKeyByServer(Database db, ReadOnlySpan<byte> key)
    {
        ModifiedByServer = true;
        try
        {
            SignalModifiedKey(db, key);
        }
        finally
        {
            ModifiedByServer = false;
        }
    }

    public void OnValueFreed(RedisObject o) { }

    /// <summary>signalModifiedKey: WATCH first (touchWatchedKey), then client tracking (trackingInvalidateKey).</summary>
    public void SignalModifiedKey(Database db, ReadOnlySpan<byte> key)
    {
        Transactions.TouchWatchedKey(db, key);
        Tracking.OnKeyModified(ModifiedByServer ? null : Dispatcher.CurrentClient, key);
    }

    public void NotifyKeyspaceEvent(NotifyClass type, string eventName, ReadOnlySpan<byte> key, int dbId) =>
        Events.Notify(type, eventName, key, dbId);

    public void AddDirty(long changes) => Stats.Dirty += changes;
}
