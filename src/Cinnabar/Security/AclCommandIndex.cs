// The command table as the ACL sees it (acl.c's view of server.orig_commands): every Redis 7.0
// command and subcommand with a permission bit (ACLGetCommandID's sequential ids, the last bit
// of the 1024 reserved for "future commands", which only +@all sets), the ACL categories in
// Redis's order with a bit each, and the strict name lookup ACL rules use ("config|get").
// Commands Cinnabar has not built yet keep their bits, so rule descriptions (which count
// commands per category) come out exactly as redis-server's.
using Cinnabar.Commands;

namespace Cinnabar.Security;

public sealed class AclCommandIndex
{
    /// <summary>USER_COMMAND_BITS_COUNT: bits in a selector's command bitmap.</summary>
    public const int Bits = 1024;

    /// <summary>The reserved bit set by +@all / allcommands: the rules allow commands that do not exist yet.</summary>
    public const int FutureCommandsBit = Bits - 1;

    /// <summary>ACLCommandCategories, in the order ACL CAT lists them and rule descriptions try them.</summary>
    public static readonly string[] Categories =
    [
        "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap", "hyperloglog",
        "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
        "transaction", "scripting",
    ];

    /// <summary>Where rule warnings go (the server's log at warning level; none for validation).</summary>
    public Action<string>? Warn { get; init; }

    readonly Dictionary<string, CommandDef> _topLevel = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Top-level commands in table order (their subcommands follow each in their own order).</summary>
    public IReadOnlyList<CommandDef> TopLevel { get; }

    public AclCommandIndex(CommandTable table)
    {
        var top = new List<CommandDef>();
        int next = 0;
        foreach (var def in table.All.Values)
        {
            if (def.Name.Contains('|')) continue; // the metadata also lists subcommands flat
            top.Add(def);
            _topLevel[def.Name] = def;
            Assign(def, ref next);
            if (def.Subcommands != null)
                foreach (var sub in def.Subcommands.Values) Assign(sub, ref next);
        }
        if (next >= FutureCommandsBit) throw new InvalidOperationException("more commands than ACL command bits");
        TopLevel = top;
    }

    static void Assign(CommandDef def, ref int next)
    {
        def.AclId = next++;
        ulong mask = 0;
        foreach (var cat in def.AclCategories)
        {
            int i = CategoryIndex(cat.StartsWith('@') ? cat[1..] : cat);
            if (i >= 0) mask |= 1UL << i;
        }
        def.AclCategoryMask = mask;
    }

    /// <summary>ACLGetCommandCategoryFlagByName: the category's bit index, or -1 (case-insensitive).</summary>
    public static int CategoryIndex(string name)
    {
        for (int i = 0; i < Categories.Length; i++)
            if (string.Equals(Categories[i], name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    /// <summary>
    /// ACLLookupCommand (lookupCommandBySdsLogic, strict): "name" or "name|sub" with one level of
    /// subcommands; a sub-name on a command without subcommands finds nothing.
    /// </summary>
    public CommandDef? Lookup(string name)
    {
        var parts = name.Split('|');
        if (parts.Length is < 1 or > 2) return null;
        if (!_topLevel.TryGetValue(parts[0], out var cmd)) return null;
        if (parts.Length == 1) return cmd;
        if (cmd.Subcommands == null) return null;
        return cmd.Subcommands.GetValueOrDefault(parts[1].ToLowerInvariant());
    }

    /// <summary>lookupCommand on an argument vector: the command, or its subcommand when it has them and one is given.</summary>
    public CommandDef? LookupArgv(string name, string? sub)
    {
        if (!_topLevel.TryGetValue(name, out var cmd)) return null;
        if (cmd.Subcommands == null || sub == null) return cmd;
        return cmd.Subcommands.GetValueOrDefault(sub.ToLowerInvariant());
    }

    /// <summary>Every command and subcommand in table order (ACL CAT's and the rule walks' order).</summary>
    public IEnumerable<CommandDef> AllWithSubcommands()
    {
        foreach (var cmd in TopLevel)
        {
            yield return cmd;
            if (cmd.Subcommands != null)
                foreach (var sub in cmd.Subcommands.Values) yield return sub;
        }
    }
}
