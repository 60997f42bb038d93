// Plug points through which mechanisms that own per-client state (MULTI, Pub/Sub, blocking,
// tracking) report it to CLIENT LIST/INFO and act on CLIENT UNBLOCK, without the client
// commands knowing them by name. Hooks are functions of the client, so one static registry
// serves every server in the process; an unset hook means "this mechanism has no state".
namespace Cinnabar.Networking;

public static class ClientHooks
{
    /// <summary>Commands queued by MULTI (CLIENT LIST multi=); -1 is printed when not in MULTI.</summary>
    public static Func<Client, int>? MultiCount;

    /// <summary>Memory held by queued MULTI commands (multi-mem=).</summary>
    public static Func<Client, long>? MultiMemory;

    /// <summary>Channel, pattern and shard-channel subscription counts (sub=, psub=, ssub=).</summary>
    public static Func<Client, (int Channels, int Patterns, int ShardChannels)>? SubscriptionCounts;

    /// <summary>Client-side caching redirection target (redir=); -1 when tracking is off or not redirected.</summary>
    public static Func<Client, long>? TrackingRedirect;

    /// <summary>Tracking flag letters after 't' in flags= ("R" broken redirect, "B" broadcast), in Redis's order.</summary>
    public static Func<Client, string>? TrackingFlags;

    /// <summary>CLIENT UNBLOCK: unblocks a blocked client with a timeout reply (false) or an -UNBLOCKED error (true); returns whether it was unblocked.</summary>
    public static Func<Client, bool, bool>? UnblockHandler;
}
