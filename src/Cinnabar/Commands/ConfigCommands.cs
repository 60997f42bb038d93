// CONFIG GET / SET / RESETSTAT / REWRITE / HELP (Redis 7.0's config.c commands). CONFIG SET
// takes several name/value pairs and is all-or-nothing: every name is checked first (unknown,
// immutable, protected, duplicate), then values are applied in order and, on the first
// failure, the ones already applied are restored from their previous values.
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class ConfigCommands
{
    [Command("config|get")]
    static void ConfigGet(Client c)
    {
        var config = c.Server.Config;
        // Insertion-ordered name -> entry, without repeats (Redis collects into a dict first).
        var matches = new List<(string Name, ConfigEntry Entry)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 2; i < c.Args.Count; i++)
        {
            string pattern = c.Args.ToStringAt(i);
            if (pattern.IndexOfAny(['[', '*', '?']) < 0)
            {
                var e = config.Find(pattern);
                if (e != null && seen.Add(pattern)) matches.Add((pattern, e));
                continue;
            }
            foreach (var e in config.Entries)
            {
                if (e.Hidden) continue;
                foreach (var name in e.Aliases.Prepend(e.Name))
                    if (!seen.Contains(name) && GlobMatcher.Match(pattern, name, nocase: true) && seen.Add(name))
                        matches.Add((name, e));
            }
        }
        c.Reply.MapLen(matches.Count);
        foreach (var (name, e) in matches)
        {
            c.Reply.Bulk(name);
            c.Reply.Bulk(e.Get());
        }
    }

    [Command("config|set")]
    static void ConfigSet(Client c)
    {
        if (c.Args.Count % 2 != 0)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var config = c.Server.Config;
        int pairs = (c.Args.Count - 2) / 2;
        var entries = new ConfigEntry[pairs];
        var names = new string[pairs];
        var values = new string[pairs];
        for (int i = 0; i < pairs; i++)
        {
            names[i] = c.Args.ToStringAt(2 + i * 2);
            values[i] = c.Args.ToStringAt(3 + i * 2);
            var e = config.Find(names[i]);
            if (e == null)
            {
                c.Reply.Error($"Unknown option or number of arguments for CONFIG SET - '{names[i]}'");
                return;
            }
            string? err = null;
            if (e.Immutable) err = "can't set immutable config";
            else if (e.Protected && !ProtectedConfigAllowed(c)) err = "can't set protected config";
            else if (c.Server.Loading && e.DenyLoading)
            {
                // DENY_LOADING_CONFIG: -LOADING, which clients handle as a retry.
                c.Reply.Error("-LOADING Redis is loading the dataset in memory");
                return;
            }
            else
            {
                // An alias and its primary name are separate table entries in Redis 7.0, so only
                // the same spelling (case-insensitively) counts as a duplicate.
                for (int j = 0; j < i; j++)
                    if (entries[j] == e && names[j].Equals(names[i], StringComparison.OrdinalIgnoreCase)) err = "duplicate parameter";
            }
            if (err != null)
            {
                SetFailed(c, names[i], err);
                return;
            }
            entries[i] = e;
        }

        var previous = new string[pairs];
        config.BeginSetBatch();
        for (int i = 0; i < pairs; i++)
        {
            previous[i] = entries[i].Get();
            var err = entries[i].Apply(values[i]);
            if (err == null) continue;
            for (int j = i - 1; j >= 0; j--) entries[j].Apply(previous[j]);
            config.AbortSetBatch();
            SetFailed(c, names[i], err);
            return;
        }
        if (config.EndSetBatch() is { } applyError)
        {
            // The deferred apply failed: every parameter goes back (restoreBackupConfig).
            config.BeginSetBatch();
            for (int j = pairs - 1; j >= 0; j--) entries[j].Apply(previous[j]);
            config.AbortSetBatch();
            SetFailed(c, names.First(n => n.StartsWith("tls-", StringComparison.OrdinalIgnoreCase)), applyError);
            return;
        }
        c.Reply.Ok();
    }

    static void SetFailed(Client c, string name, string reason) =>
        c.Reply.Error($"CONFIG SET failed (possibly related to argument '{name}') - {reason}");

    static bool ProtectedConfigAllowed(Client c)
    {
        string setting = c.Server.Config.EnableProtectedConfigs;
        return setting == "yes" || (setting == "local" && c.IsLocal);
    }

    [Command("config|resetstat")]
    static void ConfigResetStat(Client c)
    {
        c.Server.Stats.Reset();
        foreach (var cmd in c.Server.Commands.All.Values)
        {
            ResetCommandStats(cmd);
            foreach (var sub in cmd.Subcommands?.Values ?? Enumerable.Empty<CommandDef>()) ResetCommandStats(sub);
        }
        c.Reply.Ok();
    }

    /// <summary>resetCommandTableStats: the counters, and the latency histogram (cleared in place, so recording stays allocation-free).</summary>
    static void ResetCommandStats(CommandDef cmd)
    {
        cmd.Calls = cmd.MicrosecondsTotal = cmd.RejectedCalls = cmd.FailedCalls = 0;
        cmd.LatencyHistogram?.Reset();
    }

    [Command("config|rewrite")]
    static void ConfigRewriteCommand(Client c)
    {
        if (c.Server.Config.ConfigFile == null)
        {
            c.Reply.Error("The server is running without a config file");
            return;
        }
        if (RewriteConfigFile(c.Server, forceAll: false) is { } error)
        {
            c.Server.Log.Warning($"CONFIG REWRITE failed: {error}");
            c.Reply.Error($"Rewriting config file: {error}");
            return;
        }
        c.Server.Log.Warning("CONFIG REWRITE executed with success.");
        c.Reply.Ok();
    }

    /// <summary>
    /// rewriteConfig: the config file with the current values (and the ACL users unless an
    /// aclfile holds them); forceAll writes every parameter, defaults included (DEBUG
    /// CONFIG-REWRITE-FORCE-ALL). The failure's text, or null.
    /// </summary>
    internal static string? RewriteConfigFile(CinnabarServer server, bool forceAll)
    {
        var path = server.Config.ConfigFile;
        if (path == null) return "Bad address"; // fopen(NULL) in Redis
        try
        {
            var users = server.Config.GetString("aclfile").Length > 0 ? [] : server.Acl.ConfigLines().ToList();
            ConfigRewrite.Rewrite(server.Config, path, users, forceAll: forceAll);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return e.Message;
        }
    }

    [Command("config|help")]
    static void ConfigHelp(Client c) => HelpReply.Write(c, "CONFIG",
    [
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    ]);
}
