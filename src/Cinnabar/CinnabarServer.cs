// The server (Redis's redisServer + server.c), the composition root: owns the configuration,
// the databases, the command table, the event loop and the mechanisms' parts (Clock, Clients,
// Pause), runs serverCron and beforeSleep, and raises the events mechanisms attach to. It is
// embeddable: new CinnabarServer(config).Start() listens and serves on its own loop thread.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Cinnabar.Commands;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar;

/// <summary>A key was modified (signalModifiedKey): WATCH and client tracking listen. The span is only valid during the call.</summary>
public delegate void KeyModifiedHandler(Database db, ReadOnlySpan<byte> key);

public sealed class CinnabarServer : IKeyspaceOwner, IDisposable
{
    public const string RedisVersion = "7.0.15";
    public const string CinnabarVersion = "0.1.0";

    public readonly ServerConfig Config;
    public readonly Logger Log;
    public readonly ServerStats Stats = new();
    public readonly KeyspaceEvents Events;
    public readonly CommandTable Commands;
    public readonly Dispatcher Dispatcher;
    public Database[] Databases { get; private set; } = [];
    public EventLoop Loop { get; private set; } = null!;
    /// <summary>The cached clock (NowMs, LruClock) refreshed by the loop, the dispatcher and serverCron.</summary>
    public readonly ServerClock Clock = new();
    /// <summary>The connected clients, their lifecycle and the write path (Networking/ClientManager.cs).</summary>
    public readonly ClientManager Clients;
    /// <summary>CLIENT PAUSE state and the postponed clients (Networking/ClientPause.cs).</summary>
    public readonly ClientPause Pause;
    readonly List<Listener> _listeners = new();
    ActiveExpire _activeExpire = null!;
    Thread? _thread;
    readonly ManualResetEventSlim _stopped = new(false);

    public readonly string RunId = Server.RandomBytes.Hex(20);
    public readonly long StartTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    public long CronLoops;

    /// <summary>LASTSAVE: unix seconds of the last successful save (the start time until one happens).</summary>
    public long LastSaveTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>The cached unix time in ms (ServerClock.NowMs), as the keyspace reads it.</summary>
    public long NowMs => Clock.NowMs;
    public bool IsReplica { get; set; }
    /// <summary>Expiry is frozen while clients are paused (the dataset must stay static) or when another mechanism asks.</summary>
    public bool ExpiryPaused
    {
        get => _expiryPaused || Pause.ClientsArePaused();
        set => _expiryPaused = value;
    }
    bool _expiryPaused;
    public bool Loading { get; set; }

    /// <summary>Invoked when a client is freed so mechanisms can drop its state (Pub/Sub, WATCH, blocking).</summary>
    public event Action<Client>? ClientFreed;

    internal void RaiseClientFreed(Client c) => ClientFreed?.Invoke(c);

    /// <summary>Invoked by RESET after the connection state it owns is cleared: MULTI/WATCH, Pub/Sub, tracking attach here.</summary>
    public event Action<Client>? ClientReset;

    public void RaiseClientReset(Client c) => ClientReset?.Invoke(c);

    /// <summary>Invoked once per serverCron run, after the built-in work.</summary>
    public event Action? Cron;

    /// <summary>Invoked in beforeSleep before replies are written (blocked clients, notifications).</summary>
    public event Action? BeforeSleepHooks;

    /// <summary>Keyspace side effects: key modified (WATCH, tracking) and expired (notification).</summary>
    public event KeyModifiedHandler? KeyModified;
    public event Action<Database, byte[]>? KeyExpired;

    public IReadOnlyList<IPEndPoint> EndPoints => _listeners.Select(l => l.EndPoint).ToList();
    public int Port => _listeners.Count > 0 ? _listeners[0].EndPoint.Port : Config.Port;

    public CinnabarServer(ServerConfig? config = null)
    {
        Config = config ?? new ServerConfig();
        Log = new Logger(Config);
        Events = new KeyspaceEvents(Config);
        Commands = CommandTable.LoadDefault();
        Dispatcher = new Dispatcher(this);
        Evictor = new Evictor(this);
        Clients = new ClientManager(this);
        Pause = new ClientPause(this);
        Config.MaxMemoryChanged += UpdateMaxmemory;
        Extensions.Initialize(this);
    }

    /// <summary>Binds, starts the loop thread and returns once the server accepts connections.</summary>
    public void Start()
    {
        Databases = new Database[Config.Databases];
        for (int i = 0; i < Databases.Length; i++) Databases[i] = new Database(i, this);
        _activeExpire = new ActiveExpire(Databases, Config, Stats, () => NowMs);
        Clock.UpdateCachedTime();
        Persistence.RdbLoader.LoadAtStartup(this); // before any client can connect, as loadDataFromDisk
        Loop = new EventLoop(EventLoop.CreateDefaultPoller());
        Loop.BeforeSleep = BeforeSleep;
        Loop.UnhandledError = (e, handler) =>
        {
            Log.Warning("Unexpected error on the event loop: " + e);
            if (handler is Client c) Clients.FreeClient(c);
        };
        Loop.AfterSleep = () => Clock.UpdateCachedTime(Stopwatch.GetTimestamp());
        Bind();
        foreach (var l in _listeners) l.Token = Loop.Register(l.Socket, l, EventMask.Readable);
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
            }
        })
        {
            Name = "cinnabar-event-loop",
            IsBackground = true,
        };
        _thread.Start();
    }

    void Bind()
    {
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
                int port = _listeners.Count > 0 && Config.Port == 0 ? _listeners[0].EndPoint.Port : Config.Port;
                _listeners.Add(new Listener(this, ip, port, Config.TcpBacklog));
            }
            catch (SocketException e)
            {
                if (optional) continue;
                throw new InvalidOperationException($"Could not create server TCP listening socket {addr}:{Config.Port}: {e.Message}", e);
            }
        }
        if (_listeners.Count == 0) throw new InvalidOperationException("Failed listening on port " + Config.Port);
    }

    public void Stop()
    {
        if (_thread == null) return;
        Loop.Stop();
        _stopped.Wait(TimeSpan.FromSeconds(10));
        _thread = null;
    }

    /// <summary>Thread-safe: asks the loop to shut down as SHUTDOWN would (signal handlers).</summary>
    public void RequestShutdown(string reason)
    {
        Loop.Post(() =>
        {
            Log.Warning($"Received {reason} scheduling shutdown...");
            // shutdown-on-sigint / shutdown-on-sigterm: "default" or flags among save, nosave, now, force.
            var flags = Config.GetString("shutdown-on-" + reason.ToLowerInvariant()).Split(' ');
            bool? save = flags.Contains("save") ? true : flags.Contains("nosave") ? false : null;
            if (PrepareForShutdown(save, force: flags.Contains("force"))) Loop.Stop();
            else Log.Warning($"{reason} received but errors trying to shut down the server, check the logs for more information");
        });
    }

    /// <summary>
    /// prepareForShutdown: the final RDB save when save points are configured (unless NOSAVE) or
    /// SAVE was asked, then the ShuttingDown hooks. False when the save failed without FORCE: the
    /// server keeps running, as Redis does.
    /// </summary>
    public bool PrepareForShutdown(bool? save, bool force)
    {
        Log.Warning("User requested shutdown...");
        if ((Config.SaveParams.Count > 0 && save != false) || save == true)
        {
            Log.Notice("Saving the final RDB snapshot before exiting.");
            if (!Persistence.RdbFile.Save(this))
            {
                if (!force)
                {
                    Log.Warning("Error trying to save the DB, can't exit.");
                    Log.Warning("Errors trying to shut down the server. Check the logs for more information.");
                    return false;
                }
                Log.Warning("Error trying to save the DB. Exit anyway.");
            }
        }
        ShuttingDown?.Invoke();
        Log.Warning("Cinnabar is now ready to exit, bye bye...");
        return true;
    }

    public event Action? ShuttingDown;

    /// <summary>Blocks until the loop thread ends (SHUTDOWN or Stop).</summary>
    public void WaitForShutdown() => _stopped.Wait();

    public void Dispose() => Stop();

    void Cleanup()
    {
        Clients.FreeAll();
        foreach (var l in _listeners) l.Dispose();
        _listeners.Clear();
        Loop.Dispose();
    }

    public bool AuthRequired(Client c) => Config.RequirePass != null && !c.Authenticated;

    /// <summary>performEvictions (Keyspace/Eviction.cs): run before every command while maxmemory is set.</summary>
    public EvictResult PerformEvictions() => Evictor.PerformEvictions();

    public readonly Evictor Evictor;

    /// <summary>A key was evicted: WATCH/tracking, the "evicted" notification, propagation hooks (KeyEvicted).</summary>
    internal void OnKeyEvicted(Database db, byte[] key)
    {
        Stats.EvictedKeys++;
        SignalModifiedKeyByServer(db, key);
        Events.Notify(NotifyClass.Evicted, "evicted", key, db.Id);
        KeyEvicted?.Invoke(db, key);
    }

    /// <summary>Raised after an eviction deleted a key (propagation of the DEL attaches here).</summary>
    public event Action<Database, byte[]>? KeyEvicted;

    /// <summary>freeMemoryGetNotCountedMemory: replica output buffers (and the AOF buffer once it exists) do not trigger eviction.</summary>
    public long MemNotCountedForEvict
    {
        get
        {
            long overhead = 0;
            foreach (var c in Clients.All)
                if (c.HasFlag(ClientFlags.Replica)) overhead += c.Output.ListBytes;
            return overhead;
        }
    }

    /// <summary>The running estimate of data memory plus a fixed baseline, as INFO used_memory.</summary>
    public long UsedMemory
    {
        get
        {
            long sum = BaselineMemory;
            foreach (var db in Databases) sum += db.UsedMemory + ObjectSize.KeyspaceOverhead(db);
            foreach (var c in Clients.All) sum += c.Output.ListBytes + c.QueryBufferCapacity;
            return sum;
        }
    }

    /// <summary>Memory of an empty server (the startup used_memory Redis reports is about this).</summary>
    public const long BaselineMemory = 870_000;

    // ---------------------------------------------------------------- loop hooks

    void BeforeSleep()
    {
        Clock.UpdateCachedTime(Stopwatch.GetTimestamp());
        Pause.ResumePostponedClients();
        BeforeSleepHooks?.Invoke();
        if (Config.ActiveExpireEnabled && !IsReplica && !ExpiryPaused) _activeExpire.Cycle(fast: true);
        Clients.HandleClientsWithPendingWrites();
        Clients.FreeClientsInAsyncFreeQueue();
    }

    /// <summary>serverCron: runs hz times per second.</summary>
    /// <summary>INFO's instantaneous_ops_per_sec and kbps fields.</summary>
    public readonly InstantaneousMetrics Metrics = new();

    long ServerCron()
    {
        Clock.UpdateCachedTime();
        CronLoops++;
        Clients.ClientsCron();
        Metrics.Track(Stats, NowMs);
        DatabasesCron();
        Cron?.Invoke();
        return 1000 / Math.Max(1, Config.Hz);
    }

    void DatabasesCron()
    {
        if (Config.ActiveExpireEnabled && !IsReplica && !ExpiryPaused) _activeExpire.Cycle(fast: false);
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

    /// <summary>updateMaxmemory: a lower limit set at runtime evicts at once (or starts refusing writes).</summary>
    void UpdateMaxmemory()
    {
        if (Config.MaxMemory == 0 || _thread == null) return;
        long used = UsedMemory - MemNotCountedForEvict;
        if (Config.MaxMemory < used)
            Log.Warning($"WARNING: the new maxmemory value set via CONFIG SET ({Config.MaxMemory}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.");
        PerformEvictions();
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

    public void OnKeyAdded(Database db, ReadOnlySpan<byte> key)
    {
        KeyAdded?.Invoke(db, key);
        Events.Notify(NotifyClass.New, "new", key, db.Id);
    }

    /// <summary>A key was created (dbAdd): blocked clients waiting on it may be served (RENAME, MOVE, COPY onto a waited key).</summary>
    public event KeyModifiedHandler? KeyAdded;

    public void OnKeyExpired(Database db, byte[] key)
    {
        Stats.ExpiredKeys++;
        Events.Notify(NotifyClass.Expired, "expired", key, db.Id);
        KeyExpired?.Invoke(db, key);
        SignalModifiedKeyByServer(db, key);
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
            KeyModified?.Invoke(db, key);
        }
        finally
        {
            ModifiedByServer = false;
        }
    }

    public void OnValueFreed(RedisObject o) { }

    public void SignalModifiedKey(Database db, ReadOnlySpan<byte> key)
    {
        KeyModified?.Invoke(db, key);
    }

    public void NotifyKeyspaceEvent(NotifyClass type, string eventName, ReadOnlySpan<byte> key, int dbId) =>
        Events.Notify(type, eventName, key, dbId);

    public void AddDirty(long changes) => Stats.Dirty += changes;
}
