// One entry of the command table (Redis's redisCommand): the metadata generated from
// redis-server 7.0 (arity, flags, key positions, ACL categories, docs) joined with the
// handler that implements it. Container commands (CLIENT, CONFIG, ...) hold subcommands.
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Commands;

[Flags]
public enum CommandFlags : long
{
    None = 0,
    Write = 1L << 0,
    ReadOnly = 1L << 1,
    DenyOom = 1L << 2,
    Module = 1L << 3,
    Admin = 1L << 4,
    PubSub = 1L << 5,
    NoScript = 1L << 6,
    Blocking = 1L << 8,
    Loading = 1L << 9,
    Stale = 1L << 10,
    SkipMonitor = 1L << 11,
    SkipSlowlog = 1L << 12,
    Asking = 1L << 13,
    Fast = 1L << 14,
    NoAuth = 1L << 15,
    MayReplicate = 1L << 16,
    Sentinel = 1L << 17,
    OnlySentinel = 1L << 18,
    NoMandatoryKeys = 1L << 19,
    Protected = 1L << 20,
    ModuleGetKeys = 1L << 21,
    ModuleNoCluster = 1L << 22,
    NoMulti = 1L << 23,
    MovableKeys = 1L << 24,
    AllowBusy = 1L << 25,
    ModuleGetChannels = 1L << 26,
    TouchesArbitraryKeys = 1L << 27,
    /// <summary>EVAL/FCALL and their _RO forms: the flags processCommand checks are the script's (getCommandFlags).</summary>
    ScriptDeclaredFlags = 1L << 28,
    /// <summary>CMD_NO_ASYNC_LOADING: refused with -LOADING while a replica loads its primary's data in the background.</summary>
    NoAsyncLoading = 1L << 29,
}

public delegate void CommandHandler(Client c);

public sealed class CommandDef
{
    public required string Name;          // lower case; "parent|sub" for subcommands
    public string FullName => Parent == null ? Name : Parent.Name + "|" + Name;
    public CommandDef? Parent;
    public int Arity;
    public CommandFlags Flags;
    public int FirstKey, LastKey, KeyStep;
    public string[] AclCategories = [];
    public ulong AclCategoryMask;   // bit i = Security.AclCommandIndex.Categories[i]
    public int AclId = -1;          // the command's bit in ACL selectors (ACLGetCommandID)
    public RespValue? Info;  // the COMMAND INFO entry as redis-server 7.0 returns it
    public RespValue? Docs;  // the COMMAND DOCS value
    public CommandHandler? Handler;
    public KeySpec[]? KeySpecs; // parsed from Info on first use (KeySpecs.Of)
    public Dictionary<string, CommandDef>? Subcommands;
    public Dictionary<string, CommandDef>.AlternateLookup<ReadOnlySpan<char>> SubcommandLookup;

    // Statistics (INFO commandstats).
    public long Calls, MicrosecondsTotal, RejectedCalls, FailedCalls;

    /// <summary>latency_histogram (INFO latencystats, LATENCY HISTOGRAM): created on the first call recorded with latency-tracking on.</summary>
    public Server.CommandLatencyHistogram? LatencyHistogram;

    public bool Has(CommandFlags f) => (Flags & f) != 0;

    public bool IsImplemented => Handler != null || (Subcommands != null && Subcommands.Values.Any(s => s.Handler != null));

    /// <summary>Arity check as processCommand does it: exact when positive, minimum when negative.</summary>
    public bool ArityOk(int argc) => Arity > 0 ? argc == Arity : argc >= -Arity;
}
