// The rest of Redis 7.0's configuration table (config.c static_configs): every parameter
// `CONFIG GET *` lists on redis-server 7.0.15, with its type, bounds, default, alias and
// immutable / protected / hidden flags. Parameters whose mechanism has no typed field yet keep
// their value in the entry itself (StoredValue) and are read with GetLong / GetBool / GetString
// until the mechanism adds a field; a name registered by RegisterCore is never registered twice.
using System.Globalization;

namespace Cinnabar.Server;

public sealed partial class ServerConfig
{
    const long IntMax = int.MaxValue, IntMin = int.MinValue, LongMax = long.MaxValue;

    /// <summary>Values of parameters without a typed field, by canonical name.</summary>
    readonly Dictionary<string, string> _stored = new(StringComparer.OrdinalIgnoreCase);

    public string GetString(string name) => Find(name)?.Get() ?? throw new ArgumentException("unknown config " + name);

    public long GetLong(string name)
    {
        var e = Find(name) ?? throw new ArgumentException("unknown config " + name);
        string v = e.Get();
        return e.Kind == ConfigKind.Memory && v.EndsWith('%') ? -long.Parse(v[..^1], CultureInfo.InvariantCulture) : long.Parse(v, CultureInfo.InvariantCulture);
    }

    public bool GetBool(string name) => GetString(name) == "yes";

    bool Registered(string name) => _entries.ContainsKey(name);

    /// <summary>A getter/setter pair over the stored value of a parameter.</summary>
    (Action<T> Set, Func<T> Get) Stored<T>(string name, T def, Func<T, string> format, Func<string, T> parse)
    {
        _stored[name] = format(def);
        return (v => _stored[name] = format(v), () => parse(_stored[name]));
    }

    void StoredBool(string name, bool def, bool immutable = false, string? alias = null)
    {
        if (Registered(name)) return;
        var (set, get) = Stored(name, def, b => b ? "yes" : "no", s => s == "yes");
        Bool(name, def, set, get, immutable, Aliases(alias));
    }

    void StoredInt(string name, long def, long min, long max, bool immutable = false, bool memory = false, string? alias = null)
    {
        if (Registered(name)) return;
        var (set, get) = Stored(name, def, v => v.ToString(CultureInfo.InvariantCulture), s => long.Parse(s, CultureInfo.InvariantCulture));
        Int(name, def, min, max, set, get, immutable, memory, Aliases(alias));
    }

    void StoredEnum(string name, string def, string[] values, bool immutable = false)
    {
        if (Registered(name)) return;
        var (set, get) = Stored(name, def, v => v, s => s);
        Enum(name, def, values, set, get, immutable);
    }

    /// <summary>
    /// A tls-* parameter (applyTlsCfg): once the server is up, a change reconfigures TLS for new
    /// connections, and a configuration that does not load is refused and rolled back.
    /// </summary>
    void TlsSetting(string name, string def, string[]? values)
    {
        if (Registered(name)) return;
        var (set, get) = Stored(name, def, v => v, s => s);
        Func<string, string?> apply = v =>
        {
            set(v);
            return null;
        };
        if (values != null) EnumChecked(name, def, values, apply, get);
        else Str(name, def, apply, get, sensitive: name.EndsWith("-pass", StringComparison.Ordinal));
        TlsApplied(name);
    }

    /// <summary>
    /// Makes a registered parameter a TLS one: its own checks first, then (once the server is up)
    /// TLS is reconfigured, and a configuration that does not load puts the old value back.
    /// </summary>
    void TlsApplied(string name)
    {
        var e = Find(name)!;
        var inner = e.Apply;
        var get = e.Get;
        e.Apply = v =>
        {
            string old = get();
            if (inner(v) is { } err) return err;
            if (_setBatch)
            {
                // CONFIG SET of several parameters: TLS is rebuilt once, from all of them (EndSetBatch).
                _tlsPending = true;
                return null;
            }
            if (TlsChanged?.Invoke() is null) return null;
            inner(old);
            return TlsUpdateError;
        };
    }

    /// <summary>Set by the server once running: reconfigures TLS, returning the error to log or null.</summary>
    public Func<string?>? TlsChanged;

    public const string TlsUpdateError = "Unable to update TLS configuration. Check server logs.";
    bool _setBatch;
    bool _tlsPending;

    /// <summary>CONFIG SET with several parameters: apply functions that need them all wait for EndSetBatch.</summary>
    public void BeginSetBatch()
    {
        _setBatch = true;
        _tlsPending = false;
    }

    /// <summary>Runs the deferred apply steps once (Redis dedups its apply functions); returns the error, or null.</summary>
    public string? EndSetBatch()
    {
        _setBatch = false;
        bool tls = _tlsPending;
        _tlsPending = false;
        return tls && TlsChanged?.Invoke() is not null ? TlsUpdateError : null;
    }

    /// <summary>After a failed batch the previous values are put back without applying them again.</summary>
    public void AbortSetBatch()
    {
        _setBatch = false;
        _tlsPending = false;
    }

    void StoredString(string name, string def, bool immutable = false, bool sensitive = false, string? alias = null, Func<string, string?>? validate = null, Action? applied = null)
    {
        if (Registered(name)) return;
        var (set, get) = Stored(name, def, v => v, s => s);
        Str(name, def, v =>
        {
            var err = validate?.Invoke(v);
            if (err != null) return err;
            set(v);
            applied?.Invoke();
            return null;
        }, get, immutable, sensitive, Aliases(alias));
    }

    /// <summary>cluster-announce-hostname changed (updateClusterHostname): the node's own hostname follows at once.</summary>
    public event Action? ClusterAnnounceHostnameChanged;

    static string[] Aliases(string? alias) => alias == null ? [] : [alias];

    void Flag(string name, Action<ConfigEntry> mark)
    {
        var e = Find(name);
        if (e != null) mark(e);
    }

    partial void RegisterMore()
    {
        // Bool configs.
        StoredBool("rdbchecksum", true, immutable: true);
        StoredBool("io-threads-do-reads", false, immutable: true);
        StoredBool("always-show-logo", false, immutable: true);
        StoredBool("rdbcompression", true);
        StoredBool("rdb-del-sync-files", false);
        StoredBool("stop-writes-on-bgsave-error", true);
        StoredBool("set-proc-title", true, immutable: true);
        StoredBool("lazyfree-lazy-eviction", false);
        StoredBool("lazyfree-lazy-expire", false);
        StoredBool("lazyfree-lazy-server-del", false);
        StoredBool("repl-disable-tcp-nodelay", false);
        StoredBool("repl-diskless-sync", true);
        StoredBool("aof-rewrite-incremental-fsync", true);
        StoredBool("no-appendfsync-on-rewrite", false);
        StoredBool("cluster-require-full-coverage", true);
        StoredBool("rdb-save-incremental-fsync", true);
        StoredBool("aof-load-truncated", true);
        StoredBool("aof-use-rdb-preamble", true);
        StoredBool("aof-timestamp-enabled", false);
        StoredBool("cluster-replica-no-failover", false, alias: "cluster-slave-no-failover");
        StoredBool("replica-lazy-flush", false, alias: "slave-lazy-flush");
        StoredBool("replica-serve-stale-data", true, alias: "slave-serve-stale-data");
        StoredBool("replica-ignore-maxmemory", true, alias: "slave-ignore-maxmemory");
        StoredBool("jemalloc-bg-thread", true);
        // activedefrag: Redis refuses "yes" without jemalloc's defragger; this server has no
        // active defragmentation either, so the same refusal applies.
        if (!Registered("activedefrag"))
        {
            var (set, get) = Stored("activedefrag", false, b => b ? "yes" : "no", s => s == "yes");
            Register(new ConfigEntry
            {
                Name = "activedefrag",
                Kind = ConfigKind.Bool,
                Default = "no",
                Apply = v =>
                {
                    if (!ConfigEntry.TryParseBool(v, out bool b)) return "argument must be 'yes' or 'no'";
                    if (b) return "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution";
                    set(b);
                    return null;
                },
                Get = () => get() ? "yes" : "no",
            });
        }
        StoredBool("syslog-enabled", false, immutable: true);
        StoredBool("cluster-enabled", false, immutable: true);
        StoredBool("appendonly", false);
        StoredBool("cluster-allow-reads-when-down", false);
        StoredBool("cluster-allow-pubsubshard-when-down", true);
        StoredBool("crash-log-enabled", true);
        StoredBool("crash-memcheck-enabled", true);
        StoredBool("use-exit-on-panic", false);
        StoredBool("disable-thp", true, immutable: true);
        StoredBool("cluster-allow-replica-migration", true);
        StoredBool("replica-announced", true);
        StoredBool("aof-disable-auto-gc", false);

        // String configs.
        StoredString("aclfile", "", immutable: true);
        StoredString("unixsocket", "", immutable: true);
        StoredString("replica-announce-ip", "", alias: "slave-announce-ip");
        StoredString("masteruser", "", sensitive: true);
        StoredString("cluster-announce-ip", "");
        StoredString("cluster-config-file", "nodes.conf", immutable: true);
        StoredString("cluster-announce-hostname", "", validate: v =>
            v.Length >= 256 ? "Hostnames must be less than 256 characters"
            : v.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '.') ? null : "Hostnames may only contain alphanumeric characters, hyphens or dots",
            applied: () => ClusterAnnounceHostnameChanged?.Invoke());
        StoredString("syslog-ident", "redis", immutable: true);
        StoredString("dbfilename", "dump.rdb", validate: v =>
            v.Contains('/') || v.Contains('\\') ? "dbfilename can't be a path, just a filename" : null);
        StoredString("appendfilename", "appendonly.aof", immutable: true);
        StoredString("appenddirname", "appendonlydir", immutable: true);
        StoredString("server_cpulist", "", immutable: true);
        StoredString("bio_cpulist", "", immutable: true);
        StoredString("aof_rewrite_cpulist", "", immutable: true);
        StoredString("bgsave_cpulist", "", immutable: true);
        StoredString("ignore-warnings", "");
        StoredString("proc-title-template", "{title} {listen-addr} {server-mode}");
        StoredString("bind-source-addr", "");
        StoredString("masterauth", "", sensitive: true);

        // Enum configs.
        StoredEnum("supervised", "no", ["upstart", "systemd", "auto", "no"], immutable: true);
        StoredEnum("syslog-facility", "local0", ["user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"], immutable: true);
        StoredEnum("repl-diskless-load", "disabled", ["disabled", "on-empty-db", "swapdb"]);
        StoredEnum("appendfsync", "everysec", ["everysec", "always", "no"]);
        StoredEnum("oom-score-adj", "no", ["no", "yes", "relative", "absolute"]);
        StoredEnum("acl-pubsub-default", "resetchannels", ["allchannels", "resetchannels"]);
        StoredEnum("sanitize-dump-payload", "no", ["no", "yes", "clients"]);
        StoredEnum("cluster-preferred-endpoint-type", "ip", ["ip", "hostname", "unknown-endpoint"]);
        StoredEnum("propagation-error-behavior", "ignore", ["ignore", "panic", "panic-on-replicas"]);
        StoredBool("replica-ignore-disk-write-errors", false);
        RegisterShutdownOnSignal("shutdown-on-sigint");
        RegisterShutdownOnSignal("shutdown-on-sigterm");

        // Integer configs.
        StoredInt("io-threads", 1, 1, 128, immutable: true);
        StoredInt("auto-aof-rewrite-percentage", 100, 0, IntMax);
        StoredInt("cluster-replica-validity-factor", 10, 0, IntMax, alias: "cluster-slave-validity-factor");
        StoredInt("list-max-listpack-size", -2, IntMin, IntMax, alias: "list-max-ziplist-size");
        StoredInt("cluster-migration-barrier", 1, 0, IntMax);
        StoredInt("active-defrag-cycle-min", 1, 1, 99);
        StoredInt("active-defrag-cycle-max", 25, 1, 99);
        StoredInt("active-defrag-threshold-lower", 10, 0, 1000);
        StoredInt("active-defrag-threshold-upper", 100, 0, 1000);
        StoredInt("replica-priority", 100, 0, IntMax, alias: "slave-priority");
        StoredInt("repl-diskless-sync-delay", 5, 0, IntMax);
        StoredInt("maxmemory-eviction-tenacity", 10, 0, 100);
        StoredInt("replica-announce-port", 0, 0, 65535, alias: "slave-announce-port");
        StoredInt("cluster-port", 0, 0, 65535, immutable: true);
        StoredInt("cluster-announce-bus-port", 0, 0, 65535);
        StoredInt("cluster-announce-port", 0, 0, 65535);
        StoredInt("cluster-announce-tls-port", 0, 0, 65535);
        StoredInt("repl-timeout", 60, 1, IntMax);
        StoredInt("repl-ping-replica-period", 10, 1, IntMax, alias: "repl-ping-slave-period");
        StoredInt("list-compress-depth", 0, 0, IntMax);
        StoredInt("rdb-key-save-delay", 0, IntMin, IntMax);
        StoredInt("key-load-delay", 0, IntMin, IntMax);
        StoredInt("watchdog-period", 0, 0, IntMax);
        StoredInt("shutdown-timeout", 10, 0, IntMax);
        StoredInt("repl-diskless-sync-max-replicas", 0, 0, IntMax);
        StoredInt("active-defrag-max-scan-fields", 1000, 1, LongMax);
        StoredInt("acllog-max-len", 128, 0, LongMax);
        StoredInt("busy-reply-threshold", 5000, 0, LongMax, alias: "lua-time-limit");
        StoredInt("cluster-node-timeout", 15000, 0, LongMax);
        StoredInt("cluster-link-sendbuf-limit", 0, 0, LongMax, memory: true);
        StoredInt("hash-max-listpack-entries", 512, 0, LongMax, alias: "hash-max-ziplist-entries");
        StoredInt("set-max-intset-entries", 512, 0, LongMax);
        StoredInt("zset-max-listpack-entries", 128, 0, LongMax, alias: "zset-max-ziplist-entries");
        StoredInt("active-defrag-ignore-bytes", 100L << 20, 1, LongMax, memory: true);
        StoredInt("hash-max-listpack-value", 64, 0, LongMax, memory: true, alias: "hash-max-ziplist-value");
        StoredInt("zset-max-listpack-value", 64, 0, LongMax, memory: true, alias: "zset-max-ziplist-value");
        StoredInt("hll-sparse-max-bytes", 3000, 0, LongMax, memory: true);
        StoredInt("tracking-table-max-keys", 1000000, 0, LongMax);
        StoredInt("repl-backlog-ttl", 3600, 0, LongMax);
        StoredInt("auto-aof-rewrite-min-size", 64L * 1024 * 1024, 0, LongMax, memory: true);
        StoredInt("loading-process-events-interval-bytes", 2 * 1024 * 1024, 1024, IntMax);
        StoredInt("socket-mark-id", 0, 0, uint.MaxValue, immutable: true);
        RegisterMaxmemoryClients();
        RegisterUnixSocketPerm();

        // TLS configs (the Debian build has TLS compiled in, so they are listed).
        StoredInt("tls-port", 0, 0, 65535);
        RebindOnChange("tls-port", tls: true);
        StoredInt("tls-session-cache-size", 20 * 1024, 0, IntMax);
        TlsApplied("tls-session-cache-size");
        StoredInt("tls-session-cache-timeout", 300, 0, IntMax);
        TlsApplied("tls-session-cache-timeout");
        StoredBool("tls-cluster", false);
        StoredBool("tls-replication", false);
        TlsSetting("tls-auth-clients", "yes", ["no", "yes", "optional"]);
        StoredBool("tls-prefer-server-ciphers", false);
        TlsApplied("tls-prefer-server-ciphers");
        StoredBool("tls-session-caching", true);
        TlsApplied("tls-session-caching");
        foreach (var name in new[]
                 {
                     "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file",
                     "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols",
                     "tls-ciphers", "tls-ciphersuites",
                 })
            TlsSetting(name, "", null);

        // Special configs.
        RegisterSave();
        RegisterOomScoreAdjValues();
        RegisterReplicaOf();
        RegisterLatencyTrackingPercentiles();

        // Flags config.c sets on parameters registered elsewhere.
        Flag("dir", e => e.Protected = true);
        Flag("dbfilename", e => e.Protected = true);
        foreach (var denyLoading in new[] { "dir", "appendonly", "repl-diskless-load" })
            Flag(denyLoading, e => e.DenyLoading = true);
        foreach (var hidden in new[] { "use-exit-on-panic", "rdb-key-save-delay", "key-load-delay", "watchdog-period", "loading-process-events-interval-bytes" })
            Flag(hidden, e => e.Hidden = true);
    }

    /// <summary>maxmemory-clients: bytes, or a percentage of maxmemory written "N%" (stored negated, as Redis does).</summary>
    void RegisterMaxmemoryClients()
    {
        if (Registered("maxmemory-clients")) return;
        _stored["maxmemory-clients"] = "0";
        Register(new ConfigEntry
        {
            Name = "maxmemory-clients",
            Kind = ConfigKind.Memory,
            Default = "0",
            Apply = v =>
            {
                if (v.EndsWith('%'))
                {
                    if (!long.TryParse(v[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out long pct))
                        return "argument must be a memory or percent value";
                    if (pct > 100) return "percentage argument must be less or equal to 100";
                    _stored["maxmemory-clients"] = pct + "%";
                    MaxMemoryClients = -pct;
                    return null;
                }
                if (!ConfigEntry.TryParseMemory(v, out long n)) return "argument must be a memory or percent value";
                if (n < 0) return "argument must be a memory or percent value";
                _stored["maxmemory-clients"] = n.ToString(CultureInfo.InvariantCulture);
                MaxMemoryClients = n;
                return null;
            },
            Get = () => _stored["maxmemory-clients"],
        });
    }

    /// <summary>unixsocketperm: an octal mode, printed in octal.</summary>
    void RegisterUnixSocketPerm()
    {
        if (Registered("unixsocketperm")) return;
        _stored["unixsocketperm"] = "0";
        Register(new ConfigEntry
        {
            Name = "unixsocketperm",
            Kind = ConfigKind.Integer,
            Default = "0",
            Immutable = true,
            Apply = v =>
            {
                long n;
                try
                {
                    n = Convert.ToInt64(v, 8);
                }
                catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
                {
                    return "argument couldn't be parsed into an integer";
                }
                if (n < 0 || n > 511) return "argument must be between 0 and 511 inclusive";
                _stored["unixsocketperm"] = Convert.ToString(n, 8);
                return null;
            },
            Get = () => _stored["unixsocketperm"],
        });
    }

    /// <summary>shutdown-on-sig*: a set of flags among save / nosave / now / force, or "default".</summary>
    void RegisterShutdownOnSignal(string name)
    {
        if (Registered(name)) return;
        _stored[name] = "default";
        string[] flags = ["default", "save", "nosave", "now", "force"];
        Register(new ConfigEntry
        {
            Name = name,
            Kind = ConfigKind.Enum,
            Default = "default",
            EnumValues = flags,
            EnumMulti = true,
            Apply = v =>
            {
                var parts = v.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 0 || parts.Any(p => !flags.Contains(p)))
                    return "argument(s) must be one of the following: " + string.Join(", ", flags);
                // Printed in the table's order, "default" only when nothing else is set.
                var set = flags.Skip(1).Where(parts.Contains).ToList();
                _stored[name] = set.Count == 0 ? "default" : string.Join(' ', set);
                return null;
            },
            Get = () => _stored[name],
        });
    }

    /// <summary>save: "seconds changes" pairs; "" disables snapshotting.</summary>
    public List<(long Seconds, long Changes)> SaveParams = [(3600, 1), (300, 100), (60, 10000)];

    void RegisterSave()
    {
        if (Registered("save")) return;
        Register(new ConfigEntry
        {
            Name = "save",
            Kind = ConfigKind.Special,
            Default = "3600 1 300 100 60 10000",
            Apply = v =>
            {
                var parts = v.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length % 2 != 0) return "Invalid save parameters";
                var parsed = new List<(long, long)>();
                for (int i = 0; i < parts.Length; i += 2)
                {
                    if (!long.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long s) ||
                        !long.TryParse(parts[i + 1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ch) || s < 1 || ch < 0)
                        return "Invalid save parameters";
                    parsed.Add((s, ch));
                }
                SaveParams = parsed;
                return null;
            },
            Get = () => string.Join(' ', SaveParams.Select(p => $"{p.Seconds} {p.Changes}")),
        });
    }

    void RegisterOomScoreAdjValues()
    {
        if (Registered("oom-score-adj-values")) return;
        _stored["oom-score-adj-values"] = "0 200 800";
        Register(new ConfigEntry
        {
            Name = "oom-score-adj-values",
            Kind = ConfigKind.Special,
            Default = "0 200 800",
            Apply = v =>
            {
                var parts = v.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 3) return "wrong number of arguments";
                var values = new long[3];
                for (int i = 0; i < 3; i++)
                {
                    if (!long.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out values[i]) || values[i] < -2000 || values[i] > 2000)
                        return "Invalid oom-score-adj-values, elements must be between -2000 and 2000.";
                }
                _stored["oom-score-adj-values"] = string.Join(' ', values);
                return null;
            },
            Get = () => _stored["oom-score-adj-values"],
        });
    }

    /// <summary>replicaof / slaveof: "host port" or "" (no master); immutable at run time (REPLICAOF is the command for that).</summary>
    void RegisterReplicaOf()
    {
        if (Registered("replicaof")) return;
        _stored["replicaof"] = "";
        Register(new ConfigEntry
        {
            Name = "replicaof",
            Aliases = ["slaveof"],
            Kind = ConfigKind.Special,
            Default = "",
            Immutable = true,
            Apply = v =>
            {
                var parts = v.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && parts[0].Equals("no", StringComparison.OrdinalIgnoreCase) && parts[1].Equals("one", StringComparison.OrdinalIgnoreCase))
                {
                    _stored["replicaof"] = "";
                    return null;
                }
                if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port > 65535)
                    return "Invalid master port";
                _stored["replicaof"] = parts[0] + " " + port;
                return null;
            },
            Get = () => _stored["replicaof"],
        });
    }

    /// <summary>
    /// latency-tracking-info-percentiles: doubles in [0, 100], printed as %f trimmed. A multi-arg
    /// config: CONFIG SET splits the value on single spaces (sdssplitlen), so an empty token is
    /// invalid, and "" alone is no percentiles at all.
    /// </summary>
    public double[] LatencyTrackingPercentiles = [50, 99, 99.9];

    void RegisterLatencyTrackingPercentiles()
    {
        if (Registered("latency-tracking-info-percentiles")) return;
        Register(new ConfigEntry
        {
            Name = "latency-tracking-info-percentiles",
            Kind = ConfigKind.Special,
            Default = "50 99 99.9",
            Apply = v =>
            {
                var parts = v.Length == 0 ? [] : v.Split(' ');
                var values = new double[parts.Length];
                for (int i = 0; i < parts.Length; i++)
                {
                    if (!DataTypes.Strtod.TryParseWhole(System.Text.Encoding.UTF8.GetBytes(parts[i]), out values[i]))
                        return "Invalid latency-tracking-info-percentiles parameters";
                    if (values[i] > 100.0 || values[i] < 0.0)
                        return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
                }
                LatencyTrackingPercentiles = values;
                return null;
            },
            Get = () => string.Join(' ', LatencyTrackingPercentiles.Select(FormatPercentile)),
        });
    }

    /// <summary>"%f" with trailing zeros (and a trailing dot) trimmed, as trimDoubleString does.</summary>
    public static string FormatPercentile(double d)
    {
        string s = d.ToString("F6", CultureInfo.InvariantCulture);
        if (s.Contains('.')) s = s.TrimEnd('0').TrimEnd('.');
        return s;
    }
}
