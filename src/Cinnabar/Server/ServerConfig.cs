// The server's configuration: typed fields the hot paths read directly, and the registry of
// named parameters (ConfigEntry) that redis.conf, command-line options, CONFIG GET/SET and
// CONFIG REWRITE go through, with Redis 7.0's names, aliases, defaults and validation.
using System.Globalization;
using Cinnabar.Networking;

namespace Cinnabar.Server;

public sealed partial class ServerConfig
{
    // Typed values, updated by the registry's setters.
    public int Port = 6379;
    public string[] Bind = ["127.0.0.1", "-::1"];
    public int Hz = 10;
    public bool DynamicHz = true;
    public int Databases = 16;
    public int MaxClients = 10000;
    public long TimeoutSeconds;
    public int TcpKeepalive = 300;
    public int TcpBacklog = 511;
    public bool ProtectedMode = true;
    public string? RequirePass;
    public long ProtoMaxBulkLen = 512L * 1024 * 1024;
    public long ClientQueryBufferLimit = 1024L * 1024 * 1024;
    public string LogLevel = "notice";
    public string LogFile = "";
    public long MaxMemory;

    /// <summary>maxmemory-clients: bytes, or a percentage of maxmemory stored negated (-7 for "7%"); 0 = no client eviction.</summary>
    public long MaxMemoryClients;

    public string MaxMemoryPolicy = "noeviction";

    /// <summary>Raised when maxmemory is set (the server evicts at once if the new limit is lower).</summary>
    public event Action? MaxMemoryChanged;

    /// <summary>Set by the server once running: rebinds the TCP (false) or TLS (true) listeners to the new port; returns the error or null.</summary>
    public Func<bool, string?>? ListenPortChanged;

    /// <summary>updatePort / applyTLSPort: once running, a new value rebinds; if that fails the value goes back.</summary>
    void RebindOnChange(string name, bool tls)
    {
        var e = Find(name)!;
        var setValue = e.Apply;
        var get = e.Get;
        e.Apply = v =>
        {
            string old = get();
            if (setValue(v) is { } err) return err;
            if (ListenPortChanged?.Invoke(tls) is not { } bindError) return null;
            setValue(old); // the server is listening on the old port again
            return bindError;
        };
    }

    /// <summary>Raised when requirepass is set: it is the default ACL user's password (none: nopass).</summary>
    public event Action<string?>? RequirePassChanged;

    /// <summary>The `user name rules...` lines of the configuration, in order, for the ACL to load at start-up.</summary>
    public readonly List<string[]> UserDeclarations = [];

    /// <summary>
    /// The server is its process (the cinnabar-server executable), as redis-server is: the log
    /// goes to stdout when logfile is empty and `dir` changes the working directory. False for a
    /// server embedded in another process: it writes nowhere unless asked (Logger.Console,
    /// Logger.Sink, logfile) and leaves the process's working directory alone.
    /// </summary>
    public bool OwnsProcess;

    /// <summary>server.sentinel_mode: started as `--sentinel` (or as redis-sentinel); set before the config is read.</summary>
    public bool SentinelMode;

    /// <summary>The `sentinel ...` lines of the config file (queueSentinelConfig), handed to Sentinel once the whole file is read.</summary>
    public readonly List<SentinelDirective> SentinelDirectives = [];

    /// <summary>The `rename-command` lines, in order, applied to the command table when the server is built.</summary>
    public readonly List<RenameCommandDirective> RenameCommands = [];

    /// <summary>repl-backlog-size: an existing backlog is resized at once (resizeReplicationBacklog).</summary>
    public long ReplBacklogSize = 1024 * 1024;
    public event Action? ReplBacklogSizeChanged;

    /// <summary>maxmemory-policy is an LFU one: the object's LRU field holds the LFU counter.</summary>
    public bool LfuPolicy;
    public int MaxMemorySamples = 5;
    public int ActiveExpireEffort = 1;
    public bool ActiveExpireEnabled = true;
    public bool ReplicaReadOnly = true;

    /// <summary>min-replicas-to-write / min-replicas-max-lag: read before every write, so typed; a change recounts the good replicas.</summary>
    public long MinReplicasToWrite, MinReplicasMaxLag = 10;

    /// <summary>busy-reply-threshold (lua-time-limit): ms before a running script lets the loop answer -BUSY.</summary>
    public long BusyReplyThreshold = 5000;
    public event Action? MinReplicasChanged;
    public string EnableDebugCommand = "no";
    public string EnableProtectedConfigs = "no";
    public string EnableModuleCommand = "no";
    public long SlowlogLogSlowerThan = 10000;
    public int SlowlogMaxLen = 128;
    /// <summary>latency-monitor-threshold: ms from which an event's duration is a latency sample (0: the monitor is off).</summary>
    public long LatencyMonitorThreshold;
    /// <summary>latency-tracking: per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM).</summary>
    public bool LatencyTracking = true;
    public bool ActiveRehashing = true;
    public string Dir = Directory.GetCurrentDirectory();
    public string? ConfigFile;
    public bool Daemonize;
    public string PidFile = "";
    public int LfuLogFactor = 10;
    public int LfuDecayTime = 1;
    public bool LazyfreeLazyUserDel;
    public bool LazyfreeLazyUserFlush;
    public int ListMaxListpackSize = -2;
    public int ListCompressDepth;
    public long HashMaxListpackEntries = 512;
    public long StreamNodeMaxBytes = 4096;
    public long StreamNodeMaxEntries = 100;
    public long HashMaxListpackValue = 64;
    public long SetMaxIntsetEntries = 512;
    public long HllSparseMaxBytes = 3000;
    public long ZsetMaxListpackEntries = 128;
    public long ZsetMaxListpackValue = 64;

    /// <summary>client-output-buffer-limit per class: hard, soft (bytes), soft seconds.</summary>
    public readonly Dictionary<string, (long Hard, long Soft, long SoftSeconds)> OutputBufferLimits = new()
    {
        ["normal"] = (0, 0, 0),
        ["replica"] = (256L * 1024 * 1024, 64L * 1024 * 1024, 60),
        ["pubsub"] = (32L * 1024 * 1024, 8L * 1024 * 1024, 60),
    };

    readonly Dictionary<string, ConfigEntry> _entries = new(StringComparer.OrdinalIgnoreCase);
    readonly List<ConfigEntry> _ordered = new();

    public IReadOnlyList<ConfigEntry> Entries => _ordered;

    public ServerConfig()
    {
        RegisterCore();
        RegisterMore();
    }

    /// <summary>Registration of the remaining Redis 7.0 parameters lives in ServerConfig.Registry.cs.</summary>
    partial void RegisterMore();

    public ConfigEntry? Find(string name) => _entries.GetValueOrDefault(name);

    public void Register(ConfigEntry e)
    {
        _entries[e.Name] = e;
        foreach (var a in e.Aliases) _entries[a] = e;
        _ordered.Add(e);
    }

    /// <summary>Sets a parameter by name (config file, command line, CONFIG SET). Returns an error or null.</summary>
    public string? Set(string name, string value, bool startup)
    {
        var e = Find(name);
        if (e == null) return "Unknown option or number of arguments for CONFIG SET - '" + name + "'";
        if (e.Immutable && !startup) return $"CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config";
        return e.Apply(value);
    }

    // Helpers that build entries in config.c's style.
    public void Bool(string name, bool def, Action<bool> set, Func<bool> get, bool immutable = false, params string[] aliases) =>
        Register(new ConfigEntry
        {
            Name = name,
            Aliases = aliases,
            Kind = ConfigKind.Bool,
            Default = def ? "yes" : "no",
            Immutable = immutable,
            Apply = v =>
            {
                if (!ConfigEntry.TryParseBool(v, out bool b)) return "argument must be 'yes' or 'no'";
                set(b);
                return null;
            },
            Get = () => get() ? "yes" : "no",
        });

    public void Int(string name, long def, long min, long max, Action<long> set, Func<long> get, bool immutable = false, bool memory = false, params string[] aliases) =>
        Register(new ConfigEntry
        {
            Name = name,
            Aliases = aliases,
            Kind = memory ? ConfigKind.Memory : ConfigKind.Integer,
            Default = def.ToString(CultureInfo.InvariantCulture),
            Min = min,
            Max = max,
            Immutable = immutable,
            Apply = v =>
            {
                long n;
                if (memory)
                {
                    // memtoull: no sign, so a negative size is not a memory value at all.
                    if (!ConfigEntry.TryParseMemory(v, out n) || n < 0) return "argument must be a memory value";
                }
                else if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out n))
                    return "argument couldn't be parsed into an integer";
                if (n < min || n > max)
                    return $"argument must be between {min} and {max} inclusive";
                set(n);
                return null;
            },
            Get = () => get().ToString(CultureInfo.InvariantCulture),
        });

    public void Enum(string name, string def, string[] values, Action<string> set, Func<string> get, bool immutable = false, params string[] aliases) =>
        EnumChecked(name, def, values, v =>
        {
            set(v);
            return null;
        }, get, immutable, aliases);

    /// <summary>An enum whose apply step may refuse a valid value (its error is CONFIG SET's reply).</summary>
    public void EnumChecked(string name, string def, string[] values, Func<string, string?> apply, Func<string> get, bool immutable = false, params string[] aliases) =>
        Register(new ConfigEntry
        {
            Name = name,
            Aliases = aliases,
            Kind = ConfigKind.Enum,
            Default = def,
            EnumValues = values,
            Immutable = immutable,
            Apply = v =>
            {
                var match = values.FirstOrDefault(x => x.Equals(v, StringComparison.OrdinalIgnoreCase));
                if (match == null) return "argument(s) must be one of the following: " + string.Join(", ", values);
                return apply(match);
            },
            Get = get,
        });

    public void Str(string name, string def, Func<string, string?> apply, Func<string> get, bool immutable = false, bool sensitive = false, params string[] aliases) =>
        Register(new ConfigEntry
        {
            Name = name,
            Aliases = aliases,
            Kind = ConfigKind.String,
            Default = def,
            Immutable = immutable,
            Sensitive = sensitive,
            Apply = apply,
            Get = get,
        });

    /// <summary>notify-keyspace-events as flags.</summary>
    public NotifyClass NotifyKeyspaceEvents;

    void RegisterCore()
    {
        Str("notify-keyspace-events", "", v =>
        {
            if (!KeyspaceEvents.TryParseFlags(v, out var f)) return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
            NotifyKeyspaceEvents = f;
            return null;
        }, () => KeyspaceEvents.FlagsToString(NotifyKeyspaceEvents));
        RegisterAof();
        Int("port", 6379, 0, 65535, v => Port = (int)v, () => Port);
        RebindOnChange("port", tls: false);
        // Redis's built-in default is "* -::*" guarded by protected mode; Cinnabar's embedded default
        // is loopback only (the README's first command must not expose a server). CONFIG GET shows it.
        Str("bind", "127.0.0.1 -::1", v =>
        {
            Bind = v.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return null;
        }, () => string.Join(' ', Bind));
        Int("hz", 10, 0, int.MaxValue, v => Hz = (int)Math.Clamp(v, 1, 500), () => Hz);
        Bool("dynamic-hz", true, v => DynamicHz = v, () => DynamicHz);
        Int("databases", 16, 1, int.MaxValue, v => Databases = (int)v, () => Databases, immutable: true);
        Int("maxclients", 10000, 1, uint.MaxValue, v => MaxClients = (int)Math.Min(v, int.MaxValue), () => MaxClients);
        Int("timeout", 0, 0, int.MaxValue, v => TimeoutSeconds = v, () => TimeoutSeconds);
        Int("tcp-keepalive", 300, 0, int.MaxValue, v => TcpKeepalive = (int)v, () => TcpKeepalive);
        Int("tcp-backlog", 511, 0, int.MaxValue, v => TcpBacklog = (int)v, () => TcpBacklog, immutable: true);
        Bool("protected-mode", true, v => ProtectedMode = v, () => ProtectedMode);
        Str("requirepass", "", v =>
        {
            RequirePass = v.Length == 0 ? null : v;
            RequirePassChanged?.Invoke(RequirePass);
            return null;
        }, () => RequirePass ?? "", sensitive: true);
        Int("proto-max-bulk-len", 512L * 1024 * 1024, 1024 * 1024, long.MaxValue, v => ProtoMaxBulkLen = v, () => ProtoMaxBulkLen, memory: true);
        Int("client-query-buffer-limit", 1024L * 1024 * 1024, 1024 * 1024, long.MaxValue, v => ClientQueryBufferLimit = v, () => ClientQueryBufferLimit, memory: true);
        Enum("loglevel", "notice", ["debug", "verbose", "notice", "warning"], v => LogLevel = v, () => LogLevel);
        Str("logfile", "", v =>
        {
            LogFile = v;
            return null;
        }, () => LogFile, immutable: true);
        Int("repl-backlog-size", 1024 * 1024, 1, long.MaxValue, v =>
        {
            ReplBacklogSize = v;
            ReplBacklogSizeChanged?.Invoke();
        }, () => ReplBacklogSize, memory: true);
        Int("maxmemory", 0, 0, long.MaxValue, v =>
        {
            MaxMemory = v;
            MaxMemoryChanged?.Invoke();
        }, () => MaxMemory, memory: true);
        Enum("maxmemory-policy", "noeviction",
            ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"],
            v =>
            {
                MaxMemoryPolicy = v;
                LfuPolicy = v.EndsWith("lfu", StringComparison.Ordinal);
            }, () => MaxMemoryPolicy);
        Int("maxmemory-samples", 5, 1, int.MaxValue, v => MaxMemorySamples = (int)v, () => MaxMemorySamples);
        Int("active-expire-effort", 1, 1, 10, v => ActiveExpireEffort = (int)v, () => ActiveExpireEffort);
        Bool("replica-read-only", true, v => ReplicaReadOnly = v, () => ReplicaReadOnly, false, "slave-read-only");
        Int("busy-reply-threshold", 5000, 0, long.MaxValue, v => BusyReplyThreshold = v, () => BusyReplyThreshold, false, false, "lua-time-limit");
        Int("min-replicas-to-write", 0, 0, int.MaxValue, v =>
        {
            MinReplicasToWrite = v;
            MinReplicasChanged?.Invoke();
        }, () => MinReplicasToWrite, false, false, "min-slaves-to-write");
        Int("min-replicas-max-lag", 10, 0, int.MaxValue, v =>
        {
            MinReplicasMaxLag = v;
            MinReplicasChanged?.Invoke();
        }, () => MinReplicasMaxLag, false, false, "min-slaves-max-lag");
        Enum("enable-debug-command", "no", ["no", "yes", "local"], v => EnableDebugCommand = v, () => EnableDebugCommand, immutable: true);
        Enum("enable-protected-configs", "no", ["no", "yes", "local"], v => EnableProtectedConfigs = v, () => EnableProtectedConfigs, immutable: true);
        Enum("enable-module-command", "no", ["no", "yes", "local"], v => EnableModuleCommand = v, () => EnableModuleCommand, immutable: true);
        Int("slowlog-log-slower-than", 10000, -1, long.MaxValue, v => SlowlogLogSlowerThan = v, () => SlowlogLogSlowerThan);
        Int("slowlog-max-len", 128, 0, long.MaxValue, v => SlowlogMaxLen = (int)Math.Min(v, int.MaxValue), () => SlowlogMaxLen);
        Int("latency-monitor-threshold", 0, 0, long.MaxValue, v => LatencyMonitorThreshold = v, () => LatencyMonitorThreshold);
        Bool("latency-tracking", true, v => LatencyTracking = v, () => LatencyTracking);
        Bool("activerehashing", true, v => ActiveRehashing = v, () => ActiveRehashing);
        Str("dir", "", v =>
        {
            if (!Directory.Exists(v)) return "No such file or directory";
            Dir = Path.GetFullPath(v);
            if (OwnsProcess) Directory.SetCurrentDirectory(Dir); // the data files are under Dir either way
            return null;
        }, () => Dir);
        Bool("daemonize", false, v => Daemonize = v, () => Daemonize, immutable: true);
        Str("pidfile", "", v =>
        {
            PidFile = v;
            return null;
        }, () => PidFile, immutable: true);
        Int("lfu-log-factor", 10, 0, int.MaxValue, v => LfuLogFactor = (int)v, () => LfuLogFactor);
        Int("lfu-decay-time", 1, 0, int.MaxValue, v => LfuDecayTime = (int)v, () => LfuDecayTime);
        Bool("lazyfree-lazy-user-del", false, v => LazyfreeLazyUserDel = v, () => LazyfreeLazyUserDel);
        Bool("lazyfree-lazy-user-flush", false, v => LazyfreeLazyUserFlush = v, () => LazyfreeLazyUserFlush);
        Int("list-max-listpack-size", -2, int.MinValue, int.MaxValue, v => ListMaxListpackSize = (int)v, () => ListMaxListpackSize, aliases: "list-max-ziplist-size");
        Int("list-compress-depth", 0, 0, int.MaxValue, v => ListCompressDepth = (int)v, () => ListCompressDepth);
        Int("stream-node-max-bytes", 4096, 0, long.MaxValue, v => StreamNodeMaxBytes = v, () => StreamNodeMaxBytes, memory: true);
        Int("stream-node-max-entries", 100, 0, long.MaxValue, v => StreamNodeMaxEntries = v, () => StreamNodeMaxEntries);
        Int("hash-max-listpack-entries", 512, 0, long.MaxValue, v => HashMaxListpackEntries = v, () => HashMaxListpackEntries, aliases: "hash-max-ziplist-entries");
        Int("hash-max-listpack-value", 64, 0, long.MaxValue, v => HashMaxListpackValue = v, () => HashMaxListpackValue, memory: true, aliases: "hash-max-ziplist-value");
        Int("set-max-intset-entries", 512, 0, long.MaxValue, v => SetMaxIntsetEntries = v, () => SetMaxIntsetEntries);
        Int("hll-sparse-max-bytes", 3000, 0, long.MaxValue, v => HllSparseMaxBytes = v, () => HllSparseMaxBytes, memory: true);
        Int("zset-max-listpack-entries", 128, 0, long.MaxValue, v => ZsetMaxListpackEntries = v, () => ZsetMaxListpackEntries, aliases: "zset-max-ziplist-entries");
        Int("zset-max-listpack-value", 64, 0, long.MaxValue, v => ZsetMaxListpackValue = v, () => ZsetMaxListpackValue, memory: true, aliases: "zset-max-ziplist-value");
        Register(new ConfigEntry
        {
            Name = "client-output-buffer-limit",
            Kind = ConfigKind.Special,
            Default = "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
            Apply = SetOutputBufferLimits,
            Get = () => string.Join(' ', new[] { "normal", "replica", "pubsub" }.Select(k =>
            {
                var (h, s, sec) = OutputBufferLimits[k];
                return $"{(k == "replica" ? "slave" : k)} {h} {s} {sec}";
            })),
        });
    }

    string? SetOutputBufferLimits(string v)
    {
        var parts = v.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length % 4 != 0) return "Wrong number of arguments in buffer limit configuration.";
        var parsed = new List<(string, long, long, long)>();
        for (int i = 0; i < parts.Length; i += 4)
        {
            string cls = parts[i].ToLowerInvariant();
            if (cls == "slave") cls = "replica";
            if (cls is not ("normal" or "replica" or "pubsub")) return "Invalid client class specified in buffer limit configuration.";
            if (!ConfigEntry.TryParseMemory(parts[i + 1], out long hard) || !ConfigEntry.TryParseMemory(parts[i + 2], out long soft) ||
                !long.TryParse(parts[i + 3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long secs) || hard < 0 || soft < 0 || secs < 0)
                return "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
            parsed.Add((cls, hard, soft, secs));
        }
        foreach (var (cls, h, s, sec) in parsed) OutputBufferLimits[cls] = (h, s, sec);
        return null;
    }

    /// <summary>Whether a protected command (DEBUG, MODULE) may run for this client (enable-*-command).</summary>
    public bool ProtectedCommandAllowed(string command, Client c)
    {
        string setting = command switch
        {
            "debug" => EnableDebugCommand,
            "module" => EnableModuleCommand,
            _ => "yes",
        };
        return setting == "yes" || (setting == "local" && c.IsLocal);
    }
}

/// <summary>One `rename-command &lt;name&gt; &lt;new-name&gt;` line ("" removes the command), and where it was read (for the FATAL error).</summary>
public sealed record RenameCommandDirective(string Name, string NewName, int LineNumber, string Line);

/// <summary>One `sentinel &lt;option&gt; ...` config line: its arguments after "sentinel", and where it was read (for the FATAL error).</summary>
public sealed record SentinelDirective(string[] Argv, int LineNumber, string Line);
