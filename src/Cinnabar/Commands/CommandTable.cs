// The command table (Redis's server.commands): built once at start-up from the metadata
// generated from redis-server 7.0 (commands.json) and the [Command] handlers found in this
// assembly. Lookup is case-insensitive and allocation-free (an alternate span lookup).
// Commands without a handler stay in the metadata but are invisible: they answer as unknown.
// Sentinel mode has its own table (sentinel-commands.json, generated from redis-sentinel 7.0):
// the 15 commands a Sentinel serves, with [SentinelCommand] handlers where they differ.
using System.Reflection;
using System.Text.Json;
using Cinnabar.Protocol;

namespace Cinnabar.Commands;

public sealed class CommandTable
{
    readonly Dictionary<string, CommandDef> _all = new(StringComparer.Ordinal);
    readonly Dictionary<string, CommandDef>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    /// <summary>Every command of Redis 7.0 (implemented or not), by lower-case name.</summary>
    public IReadOnlyDictionary<string, CommandDef> All => _all;

    /// <summary>The implemented top-level commands: what COMMAND, COMMAND COUNT and COMMAND LIST show.</summary>
    public IEnumerable<CommandDef> Implemented => _all.Values.Where(c => c.IsImplemented);

    public CommandTable()
    {
        _lookup = _all.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public static CommandTable LoadDefault() => Load("commands.json", sentinel: false);

    /// <summary>Sentinel mode's table: redis-sentinel's commands, Sentinel's INFO, ROLE, PUBLISH and SENTINEL.</summary>
    public static CommandTable LoadSentinel() => Load("sentinel-commands.json", sentinel: true);

    static CommandTable Load(string resource, bool sentinel)
    {
        var t = new CommandTable();
        using var stream = typeof(CommandTable).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException(resource + " resource missing");
        using var doc = JsonDocument.Parse(stream);
        foreach (var prop in doc.RootElement.GetProperty("commands").EnumerateObject())
        {
            var info = RespValue.FromJson(prop.Value.GetProperty("info"));
            var docs = prop.Value.GetProperty("docs").ValueKind == JsonValueKind.Null ? null : RespValue.FromJson(prop.Value.GetProperty("docs"));
            var def = FromInfo(info, docs, null);
            t._all[def.Name] = def;
        }
        // COMMAND INFO hides the "protected" flag; Redis sets it on DEBUG and MODULE (enable-*-command).
        foreach (var name in new[] { "debug", "module" })
            if (t._all.TryGetValue(name, out var p)) p.Flags |= CommandFlags.Protected;
        // Neither does it show CMD_TOUCHES_ARBITRARY_KEYS: the keys SCAN and RANDOMKEY expire on
        // their way propagate as separate DELs, never inside MULTI/EXEC.
        foreach (var name in new[] { "scan", "randomkey" })
            if (t._all.TryGetValue(name, out var p)) p.Flags |= CommandFlags.TouchesArbitraryKeys;
        // Nor CMD_MAY_REPLICATE, which CLIENT PAUSE WRITE also holds back: commands that are not
        // writes but may feed the replication stream (PFCOUNT's cache update, PUBLISH, scripts).
        foreach (var name in new[] { "pfcount", "publish", "spublish", "eval", "evalsha", "fcall" })
            if (t._all.TryGetValue(name, out var p)) p.Flags |= CommandFlags.MayReplicate;
        foreach (var name in new[] { "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro" })
            if (t._all.TryGetValue(name, out var p)) p.Flags |= CommandFlags.ScriptDeclaredFlags;
        t.BindHandlers(typeof(CommandTable).Assembly, sentinel);
        return t;
    }

    static CommandDef FromInfo(RespValue info, RespValue? docs, CommandDef? parent)
    {
        var items = info.Items;
        string full = items[0].Text!;
        var def = new CommandDef
        {
            Name = parent == null ? full : full[(full.IndexOf('|') + 1)..],
            Parent = parent,
            Arity = (int)items[1].Integer,
            Flags = ParseFlags(items[2]),
            FirstKey = (int)items[3].Integer,
            LastKey = (int)items[4].Integer,
            KeyStep = (int)items[5].Integer,
            AclCategories = items[6].Items.Select(i => i.Text!).ToArray(),
            Info = info,
            Docs = docs,
        };
        // CMD_PROTECTED is not part of COMMAND INFO's flags; in 7.0 it marks DEBUG and MODULE.
        if (parent == null && def.Name is "debug" or "module") def.Flags |= CommandFlags.Protected;
        if (items.Length > 9 && items[9].Items.Length > 0)
        {
            def.Subcommands = new Dictionary<string, CommandDef>(StringComparer.Ordinal);
            def.SubcommandLookup = def.Subcommands.GetAlternateLookup<ReadOnlySpan<char>>();
            var subDocs = docs?.Get("subcommands");
            foreach (var sub in items[9].Items)
            {
                var sd = FromInfo(sub, subDocs?.Get(sub.Items[0].Text!), def);
                def.Subcommands[sd.Name] = sd;
            }
        }
        return def;
    }

    static CommandFlags ParseFlags(RespValue set)
    {
        var f = CommandFlags.None;
        foreach (var i in set.Items)
        {
            f |= i.Text switch
            {
                "write" => CommandFlags.Write,
                "readonly" => CommandFlags.ReadOnly,
                "denyoom" => CommandFlags.DenyOom,
                "module" => CommandFlags.Module,
                "admin" => CommandFlags.Admin,
                "pubsub" => CommandFlags.PubSub,
                "noscript" => CommandFlags.NoScript,
                "blocking" => CommandFlags.Blocking,
                "loading" => CommandFlags.Loading,
                "stale" => CommandFlags.Stale,
                "skip_monitor" => CommandFlags.SkipMonitor,
                "skip_slowlog" => CommandFlags.SkipSlowlog,
                "asking" => CommandFlags.Asking,
                "fast" => CommandFlags.Fast,
                "no_auth" => CommandFlags.NoAuth,
                "may_replicate" => CommandFlags.MayReplicate,
                "no_mandatory_keys" => CommandFlags.NoMandatoryKeys,
                "no_multi" => CommandFlags.NoMulti,
                "movablekeys" => CommandFlags.MovableKeys,
                "allow_busy" => CommandFlags.AllowBusy,
                "no_async_loading" => CommandFlags.NoAsyncLoading,
                _ => CommandFlags.None,
            };
        }
        return f;
    }

    /// <summary>
    /// Binds every [Command] static method of the assembly to its table entry; in Sentinel mode
    /// only those the table has, then the [SentinelCommand] handlers over them.
    /// </summary>
    public void BindHandlers(Assembly assembly, bool sentinel = false)
    {
        var methods = assembly.GetTypes().SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)).ToList();
        foreach (var m in methods)
            foreach (var attr in m.GetCustomAttributes<CommandAttribute>())
                Bind(attr.Name, m, strict: !sentinel);
        if (!sentinel) return;
        foreach (var m in methods)
            foreach (var attr in m.GetCustomAttributes<SentinelCommandAttribute>())
                Bind(attr.Name, m, strict: true);
    }

    void Bind(string name, MethodInfo m, bool strict)
    {
        var parts = name.Split('|');
        CommandDef? target = null;
        if (_all.TryGetValue(parts[0], out var def))
            target = parts.Length == 1 ? def : def.Subcommands?.GetValueOrDefault(parts[1]);
        if (target == null)
        {
            if (strict) throw new InvalidOperationException($"[Command(\"{name}\")] is not a command of this table");
            return;
        }
        target.Handler = m.CreateDelegate<CommandHandler>();
    }

    /// <summary>
    /// A direct-mapped cache in front of the dictionary, indexed by length and first/last byte:
    /// the few commands that dominate traffic resolve with one short byte comparison instead of
    /// a lower-casing copy and a string hash (the dictionary stays the source of truth).
    /// </summary>
    readonly (byte[] Name, CommandDef Def)[] _cache = new (byte[], CommandDef)[256];

    static int CacheSlot(ReadOnlySpan<byte> name) => (name.Length * 31 + (name[0] | 0x20) * 7 + (name[^1] | 0x20)) & 255;

    /// <summary>
    /// rename-command: the command answers to newName from now on ("" removes it), under its own
    /// name in COMMAND's replies as in Redis. The error for the config file, or null.
    /// </summary>
    public string? Rename(string name, string newName)
    {
        var def = Lookup(System.Text.Encoding.UTF8.GetBytes(name));
        if (def == null) return "No such command in rename-command";
        string key = name.ToLowerInvariant();
        _all.Remove(key);
        Array.Clear(_cache);
        if (newName.Length == 0) return null;
        return _all.TryAdd(newName.ToLowerInvariant(), def) ? null : "Target command name already exists";
    }

    /// <summary>Finds an implemented command by name, case-insensitively, without allocating.</summary>
    public CommandDef? Lookup(ReadOnlySpan<byte> name)
    {
        if (name.Length == 0) return Find(_lookup, name, implementedOnly: true);
        ref var slot = ref _cache[CacheSlot(name)];
        if (slot.Name != null && EqualsAsciiLower(name, slot.Name)) return slot.Def;
        var def = Find(_lookup, name, implementedOnly: true);
        if (def != null) slot = (LowerAscii(name), def); // the name it answers to (rename-command)
        return def;
    }

    static byte[] LowerAscii(ReadOnlySpan<byte> name)
    {
        var lower = new byte[name.Length];
        System.Text.Ascii.ToLower(name, lower, out _);
        return lower;
    }

    /// <summary>name equals the lower-case ASCII literal, ignoring the case of name.</summary>
    static bool EqualsAsciiLower(ReadOnlySpan<byte> name, byte[] lower)
    {
        if (name.Length != lower.Length) return false;
        for (int i = 0; i < name.Length; i++)
        {
            byte b = name[i];
            if ((b is >= (byte)'A' and <= (byte)'Z' ? b | 0x20 : b) != lower[i]) return false;
        }
        return true;
    }

    public static CommandDef? LookupSub(CommandDef parent, ReadOnlySpan<byte> name) =>
        parent.Subcommands == null ? null : Find(parent.SubcommandLookup, name, implementedOnly: true);

    /// <summary>lookupCommandBySds: "name" or "container|sub", implemented ones only.</summary>
    public CommandDef? LookupBySds(string name)
    {
        var parts = name.Split('|');
        if (parts.Length > 2) return null;
        var cmd = Lookup(System.Text.Encoding.UTF8.GetBytes(parts[0]));
        if (cmd == null || parts.Length == 1) return cmd;
        var sub = LookupSub(cmd, System.Text.Encoding.UTF8.GetBytes(parts[1]));
        return sub?.Handler != null ? sub : null;
    }

    /// <summary>Finds any Redis 7.0 command (implemented or not) by name.</summary>
    public CommandDef? LookupAny(string name) => _all.GetValueOrDefault(name.ToLowerInvariant());

    static CommandDef? Find(Dictionary<string, CommandDef>.AlternateLookup<ReadOnlySpan<char>> lookup, ReadOnlySpan<byte> name, bool implementedOnly)
    {
        if (name.Length > 64) return null;
        Span<char> lower = stackalloc char[name.Length];
        for (int i = 0; i < name.Length; i++)
        {
            byte b = name[i];
            lower[i] = (char)(b is >= (byte)'A' and <= (byte)'Z' ? b | 0x20 : b);
        }
        if (!lookup.TryGetValue(lower, out var def)) return null;
        if (implementedOnly && !def.IsImplemented) return null;
        return def;
    }

    /// <summary>Resolves argv to a command or subcommand (lookupCommand with subcommands).</summary>
    public CommandDef? Resolve(CommandArgs args, out bool unknownSubcommand)
    {
        unknownSubcommand = false;
        var def = Lookup(args[0]);
        if (def == null || def.Subcommands == null || args.Count < 2) return def;
        var sub = LookupSub(def, args[1]);
        if (sub == null || sub.Handler == null)
        {
            unknownSubcommand = true;
            return def;
        }
        return sub;
    }
}
