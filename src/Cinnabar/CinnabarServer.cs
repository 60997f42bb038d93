// The server (Redis's redisServer + server.c): owns the configuration, the databases, the
// command table, the clients and the event loop, and runs serverCron and beforeSleep. It is
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
    public readonly Dictionary<long, Client> Clients = new();
    readonly List<Listener> _listeners = new();
    readonly List<Client> _pendingWrites = new();
    readonly List<Client> _closeAsap = new();
    ActiveExpire _activeExpire = null!;
    long _nextClientId;
    Thread? _thread;
    readonly ManualResetEventSlim _stopped = new(false);

    public readonly string RunId = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(20)).ToLowerInvariant();
    public readonly long StartTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    public long CronLoops;

    /// <summary>LASTSAVE: unix seconds of the last successful save (the start time until one happens).</summary>
    public long LastSaveTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>SHUTDOWN's SAVE (true) / NOSAVE (false) choice, for the persistence hook on ShuttingDown; null = by config.</summary>
    public bool? ShutdownSave;
    public long NowMs { get; private set; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    public bool IsReplica { get; set; }
    /// <summary>Expiry is frozen while clients are paused (the dataset must stay static) or when another mechanism asks.</summary>
    public bool ExpiryPaused
    {
        get => _expiryPaused || ClientsArePaused();
        set => _expiryPaused = value;
    }
    bool _expiryPaused;
    public bool Loading { get; set; }
    public long PauseEndMs;
    public bool PauseWritesOnly;
    public int LruClock { get; private set; }

    /// <summary>Invoked when a client is freed so mechanisms can drop its state (Pub/Sub, WATCH, blocking).</summary>
    public event Action<Client>? ClientFreed;

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
        Config.MaxMemoryChanged += UpdateMaxmemory;
        Extensions.Initialize(this);
    }

    /// <summary>Binds, starts the loop thread and returns once the server accepts connections.</summary>
    public void Start()
    {
        Databases = new Database[Config.Databases];
        for (int i = 0; i < Databases.Length; i++) Databases[i] = new Database(i, this);
        _activeExpire = new ActiveExpire(Databases, Config, Stats, () => NowMs);
        Loop = new EventLoop(EventLoop.CreateDefaultPoller());
        Loop.BeforeSleep = BeforeSleep;
        Loop.UnhandledError = (e, handler) =>
        {
            Log.Warning("Unexpected error on the event loop: " + e);
            if (handler is Client c) FreeClient(c);
        };
        Loop.AfterSleep = () => UpdateCachedTime(Stopwatch.GetTimestamp());
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

    /// <summary>Test seam: a client with no socket whose commands run through the real input path (Client.FeedQueryBuffer).</summary>
    internal Client CreateDetachedClient() => new(++_nextClientId, this, null) { Authenticated = Config.RequirePass == null };

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
            PrepareForShutdown();
            Loop.Stop();
        });
    }

    /// <summary>Shutdown work before the loop stops (persistence hooks attach to ShuttingDown).</summary>
    public void PrepareForShutdown()
    {
        Log.Warning("User requested shutdown...");
        ShuttingDown?.Invoke();
        Log.Warning("Cinnabar is now ready to exit, bye bye...");
    }

    public event Action? ShuttingDown;

    /// <summary>Blocks until the loop thread ends (SHUTDOWN or Stop).</summary>
    public void WaitForShutdown() => _stopped.Wait();

    public void Dispose() => Stop();

    void Cleanup()
    {
        foreach (var c in Clients.Values.ToList()) FreeClient(c);
        foreach (var l in _listeners) l.Dispose();
        _listeners.Clear();
        Loop.Dispose();
    }

    /// <summary>Caches the unix time in ms used by expiry checks (server.mstime), reading the wall clock.</summary>
    /// <remarks>
    /// The wall clock is read by serverCron (hz times a second) and after a gap of a second;
    /// in between, the time is derived from Stopwatch timestamps (UpdateCachedTime(long)): the
    /// one the dispatcher reads anyway for a command's duration, and one per loop iteration.
    /// Both clocks advance at the same rate (NTP slews both), and a step of the wall clock is
    /// picked up at the next cron run.
    /// </remarks>
    public void UpdateCachedTime()
    {
        _monoBase = Stopwatch.GetTimestamp();
        _wallBaseMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        SetCachedTime(_wallBaseMs);
    }

    /// <summary>Advances the cached time to a Stopwatch timestamp taken after the last wall-clock read.</summary>
    public void UpdateCachedTime(long stopwatchTimestamp)
    {
        long elapsed = stopwatchTimestamp - _monoBase;
        // A long gap (a nested loop without iterations, a very slow script) falls back to the wall clock.
        if ((ulong)elapsed > (ulong)Stopwatch.Frequency) UpdateCachedTime();
        else SetCachedTime(_wallBaseMs + elapsed * 1000 / Stopwatch.Frequency);
    }

    void SetCachedTime(long ms)
    {
        NowMs = ms;
        LruClock = (int)((ms / 1000) & ((1 << 24) - 1));
    }

    long _monoBase, _wallBaseMs;

    // ---------------------------------------------------------------- clients

    internal void AcceptClient(Socket s)
    {
        if (Clients.Count >= Config.MaxClients)
        {
            // Written straight to the socket, best effort, as Redis does in acceptCommonHandler.
            s.Send("-ERR max number of clients reached\r\n"u8, SocketFlags.None, out _);
            Stats.RejectedConnections++;
            s.Dispose();
            return;
        }
        // As in Redis 7.0 the bind address does not matter: without a password only loopback peers get in.
        if (Config.ProtectedMode && Config.RequirePass == null && s.RemoteEndPoint is IPEndPoint ep && !IPAddress.IsLoopback(ep.Address.IsIPv4MappedToIPv6 ? ep.Address.MapToIPv4() : ep.Address))
        {
            s.Send(System.Text.Encoding.ASCII.GetBytes(ProtectedModeError), SocketFlags.None, out _);
            Stats.RejectedConnections++;
            s.Dispose();
            return;
        }
        if (Config.TcpKeepalive > 0)
        {
            s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            try
            {
                s.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, Config.TcpKeepalive);
                s.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, Math.Max(1, Config.TcpKeepalive / 3));
                s.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
            }
            catch (SocketException) { }
        }
        var c = new Client(++_nextClientId, this, s);
        c.Authenticated = Config.RequirePass == null;
        c.Reply.OnError = Stats.RecordError;
        c.Token = Loop.Register(s, c, EventMask.Readable);
        Clients[c.Id] = c;
        Stats.NumConnections++;
    }

    const string ProtectedModeError =
        "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. " +
        "In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: " +
        "1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. " +
        "2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. " +
        "3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. " +
        "4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

    /// <summary>A client not bound to a socket (scripts, AOF loading): runs commands, collects replies.</summary>
    public Client CreateFakeClient()
    {
        var c = new Client(++_nextClientId, this, null) { Authenticated = true };
        c.Flags |= ClientFlags.Fake;
        return c;
    }

    public void FreeClient(Client c)
    {
        if (c.Socket == null || !Clients.Remove(c.Id)) return;
        c.Freed = true;
        _postponed.Remove(c);
        ClientFreed?.Invoke(c);
        try
        {
            Loop.Unregister(c.Socket, c.Token);
        }
        catch (InvalidOperationException) { }
        c.Socket.Dispose();
        c.Output.Clear();
    }

    /// <summary>Frees a client at the next safe point (freeClientAsync): used from inside a handler of another client.</summary>
    public void FreeClientAsync(Client c)
    {
        if (c.HasFlag(ClientFlags.CloseAsap)) return;
        c.Flags |= ClientFlags.CloseAsap;
        _closeAsap.Add(c);
    }

    internal void QueueReplyWrite(Client c)
    {
        if (c.Socket == null || c.HasFlag(ClientFlags.PendingWrite) || c.WriteHandlerInstalled) return;
        if (!c.Output.HasPending && !c.HasFlag(ClientFlags.CloseAfterReply)) return;
        c.Flags |= ClientFlags.PendingWrite;
        _pendingWrites.Add(c);
    }

    public bool AuthRequired(Client c) => Config.RequirePass != null && !c.Authenticated;

    // ---------------------------------------------------------------- CLIENT PAUSE

    readonly HashSet<Client> _postponed = new();
    bool _resumePostponed;
    long _pauseTimerId;

    /// <summary>EXEC's queued commands decide whether it is a write under CLIENT PAUSE WRITE (installed by MULTI).</summary>
    public Func<Client, bool>? TransactionMayReplicate;

    /// <summary>pauseClients: the later end and the stronger mode win when pauses overlap.</summary>
    public void PauseClients(long endMs, bool writesOnly)
    {
        bool wasPaused = ClientsArePaused();
        PauseWritesOnly = wasPaused ? PauseWritesOnly && writesOnly : writesOnly;
        if (endMs > PauseEndMs || !wasPaused) PauseEndMs = Math.Max(endMs, wasPaused ? PauseEndMs : 0);
        if (PauseEndMs <= NowMs)
        {
            UnpauseClients();
            return;
        }
        // A timer wakes the loop at the end so postponed clients resume on time, not at the next cron.
        if (_pauseTimerId != 0) Loop.DeleteTimeEvent(_pauseTimerId);
        _pauseTimerId = Loop.AddTimeEvent(PauseEndMs - NowMs, () =>
        {
            _pauseTimerId = 0;
            ClientsArePaused();
            return -1;
        });
    }

    /// <summary>unpauseClients: postponed clients run their pending command in the next beforeSleep.</summary>
    public void UnpauseClients()
    {
        PauseEndMs = 0;
        PauseWritesOnly = false;
        if (_pauseTimerId != 0)
        {
            Loop.DeleteTimeEvent(_pauseTimerId);
            _pauseTimerId = 0;
        }
        if (_postponed.Count > 0) _resumePostponed = true;
    }

    /// <summary>checkClientPauseTimeoutAndReturnIfPaused: ends an expired pause as a side effect.</summary>
    public bool ClientsArePaused()
    {
        if (PauseEndMs == 0) return false;
        if (NowMs < PauseEndMs) return true;
        UnpauseClients();
        return false;
    }

    /// <summary>CLIENT PAUSE: whether this client's next command (already parsed into c.Args) must wait.</summary>
    public bool ClientsPaused(Client c)
    {
        if (!ClientsArePaused()) return false;
        // Replicas and monitors (Redis's CLIENT_SLAVE) are never paused.
        if (c.HasFlag(ClientFlags.Replica | ClientFlags.Monitor)) return false;
        var cmd = Commands.Resolve(c.Args, out bool unknownSub);
        if (cmd == null || unknownSub) return false; // rejected anyway, no need to wait
        if (!PauseWritesOnly) return true;
        bool exec = cmd.Parent == null && cmd.Name == "exec";
        return cmd.Has(CommandFlags.Write | CommandFlags.MayReplicate) || (exec && (TransactionMayReplicate?.Invoke(c) ?? false));
    }

    /// <summary>blockPostponeClient: the client keeps its unexecuted command and is resumed by UnpauseClients.</summary>
    public void PostponeClient(Client c) => _postponed.Add(c);

    public bool IsPostponed(Client c) => _postponed.Contains(c);

    void ResumePostponedClients()
    {
        if (!_resumePostponed || ClientsArePaused()) return;
        _resumePostponed = false;
        var resumed = _postponed.OrderBy(c => c.Id).ToList();
        _postponed.Clear();
        foreach (var c in resumed)
            if (Clients.ContainsKey(c.Id)) c.ProcessInputBuffer();
    }

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
            foreach (var c in Clients.Values)
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
            foreach (var c in Clients.Values) sum += c.Output.ListBytes + c.QueryBufferCapacity;
            return sum;
        }
    }

    /// <summary>Memory of an empty server (the startup used_memory Redis reports is about this).</summary>
    public const long BaselineMemory = 870_000;

    // ---------------------------------------------------------------- loop hooks

    void BeforeSleep()
    {
        UpdateCachedTime(Stopwatch.GetTimestamp());
        ResumePostponedClients();
        BeforeSleepHooks?.Invoke();
        if (Config.ActiveExpireEnabled && !IsReplica && !ExpiryPaused) _activeExpire.Cycle(fast: true);
        HandleClientsWithPendingWrites();
        FreeClientsInAsyncFreeQueue();
    }

    void HandleClientsWithPendingWrites()
    {
        for (int i = 0; i < _pendingWrites.Count; i++)
        {
            var c = _pendingWrites[i];
            c.Flags &= ~ClientFlags.PendingWrite;
            if (c.Socket == null || !Clients.ContainsKey(c.Id)) continue;
            c.WriteToClient(fromHandler: false);
        }
        _pendingWrites.Clear();
    }

    void FreeClientsInAsyncFreeQueue()
    {
        if (_closeAsap.Count == 0) return;
        // Index loop: a ClientFreed handler may queue more clients to close.
        for (int i = 0; i < _closeAsap.Count; i++) FreeClient(_closeAsap[i]);
        _closeAsap.Clear();
    }

    /// <summary>serverCron: runs hz times per second.</summary>
    long ServerCron()
    {
        UpdateCachedTime();
        CronLoops++;
        ClientsCron();
        DatabasesCron();
        Cron?.Invoke();
        return 1000 / Math.Max(1, Config.Hz);
    }

    void ClientsCron()
    {
        long now = NowMs;
        List<Client>? toClose = null;
        foreach (var c in Clients.Values)
        {
            // Replicas, monitors, the master link, blocked, postponed and subscribed clients wait by design.
            if (Config.TimeoutSeconds > 0 && !c.HasFlag(ClientFlags.Master | ClientFlags.Replica | ClientFlags.Monitor | ClientFlags.Blocked | ClientFlags.PubSub)
                && !_postponed.Contains(c) && now - c.LastInteractionMs > Config.TimeoutSeconds * 1000)
            {
                Log.Verbose("Closing idle client");
                (toClose ??= new()).Add(c);
                continue;
            }
            if (OutputBufferLimitReached(c))
                (toClose ??= new()).Add(c);
        }
        if (toClose != null) foreach (var c in toClose) FreeClient(c);
    }

    /// <summary>checkClientOutputBufferLimits: hard limit at once, soft limit after its seconds.</summary>
    public bool OutputBufferLimitReached(Client c)
    {
        string cls = c.HasFlag(ClientFlags.Replica) ? "replica" : c.HasFlag(ClientFlags.PubSub) ? "pubsub" : "normal";
        var (hard, soft, softSeconds) = Config.OutputBufferLimits[cls];
        long used = c.Output.ListBytes;
        bool hardReached = hard > 0 && used >= hard;
        bool softReached = soft > 0 && used >= soft;
        if (softReached)
        {
            if (c.OutputSoftLimitReachedMs == 0)
            {
                c.OutputSoftLimitReachedMs = NowMs;
                softReached = false;
            }
            else softReached = NowMs - c.OutputSoftLimitReachedMs > softSeconds * 1000;
        }
        else c.OutputSoftLimitReachedMs = 0;
        if (hardReached || softReached)
        {
            Log.Warning($"Client {c.Describe()} scheduled to be closed ASAP for overcoming of output buffer limits.");
            Stats.ClientOutbufLimitDisconnections++;
            return true;
        }
        return false;
    }

    /// <summary>Checked after each reply is produced (asyncCloseClientOnOutputBufferLimitReached).</summary>
    public void CheckOutputBufferLimitsAsync(Client c)
    {
        if (c.Socket != null && !c.HasFlag(ClientFlags.CloseAsap) && OutputBufferLimitReached(c))
        {
            c.Output.Clear();
            FreeClientAsync(c);
        }
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
        else o.Lru = (uint)LruClock;
    }

    public void InitObjectLru(RedisObject o)
    {
        o.Lru = Config.LfuPolicy ? (Eviction.LfuMinutes(NowMs) << 8) | Eviction.LfuInitVal : (uint)LruClock;
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

    public static long MonotonicUs => Stopwatch.GetTimestamp() * 1_000_000 / Stopwatch.Frequency;
}
