// Pub/Sub commands (Redis's pubsub.c): (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and
// PUBSUB introspection. The subscription state and message delivery live in PubSub/PubSub.cs;
// handlers here loop over their arguments and keep CLIENT_PUBSUB in step.
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.PubSub;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class PubSubCommands
{
    [Command("subscribe")]
    static void Subscribe(Client c)
    {
        var ps = c.Server.PubSub;
        for (int j = 1; j < c.Args.Count; j++) ps.SubscribeChannel(c, c.Args[j], PubSubType.Global);
    }

    [Command("ssubscribe")]
    static void SSubscribe(Client c)
    {
        // Inside EXEC the client is CLIENT_DENY_BLOCKING: it expects one reply per command.
        if (c.HasFlag(ClientFlags.Multi))
        {
            c.Reply.Error("SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
            return;
        }
        var ps = c.Server.PubSub;
        for (int j = 1; j < c.Args.Count; j++) ps.SubscribeChannel(c, c.Args[j], PubSubType.ShardType);
    }

    [Command("psubscribe")]
    static void PSubscribe(Client c)
    {
        var ps = c.Server.PubSub;
        for (int j = 1; j < c.Args.Count; j++) ps.SubscribePattern(c, c.Args[j]);
    }

    [Command("unsubscribe")]
    static void Unsubscribe(Client c) => GenericUnsubscribe(c, PubSubType.Global);

    [Command("sunsubscribe")]
    static void SUnsubscribe(Client c) => GenericUnsubscribe(c, PubSubType.ShardType);

    static void GenericUnsubscribe(Client c, PubSubType type)
    {
        var ps = c.Server.PubSub;
        if (c.Args.Count == 1) ps.UnsubscribeAllChannels(c, notify: true, type);
        else
            for (int j = 1; j < c.Args.Count; j++) ps.UnsubscribeChannel(c, c.Args[j], notify: true, type);
        PubSub.PubSub.UpdatePubSubFlag(c);
    }

    [Command("punsubscribe")]
    static void PUnsubscribe(Client c)
    {
        var ps = c.Server.PubSub;
        if (c.Args.Count == 1) ps.UnsubscribeAllPatterns(c, notify: true);
        else
            for (int j = 1; j < c.Args.Count; j++) ps.UnsubscribePattern(c, c.Args[j], notify: true);
        PubSub.PubSub.UpdatePubSubFlag(c);
    }

    // Messages reach replicas' subscribers too: PUBLISH and SPUBLISH propagate to replicas (not to
    // the AOF); in a cluster they go over the bus instead (PUBLISH to every node, SPUBLISH to the shard).
    [Command("publish")]
    static void Publish(Client c)
    {
        c.Reply.Integer(c.Server.PubSub.PublishMessage(c.Args[1], c.Args[2], PubSubType.Global));
        if (c.Server.Cluster is { } cluster) cluster.PropagatePublish(c.Args[1], c.Args[2], sharded: false);
        else c.Server.Propagation.ForceCommandPropagation(PropagationTargets.Repl);
    }

    [Command("spublish")]
    static void SPublish(Client c)
    {
        c.Reply.Integer(c.Server.PubSub.PublishMessage(c.Args[1], c.Args[2], PubSubType.ShardType));
        if (c.Server.Cluster is { } cluster) cluster.PropagatePublish(c.Args[1], c.Args[2], sharded: true);
        else c.Server.Propagation.ForceCommandPropagation(PropagationTargets.Repl);
    }

    [Command("pubsub|channels")]
    static void PubSubChannels(Client c) => ChannelList(c, c.Server.PubSub.Channels);

    [Command("pubsub|shardchannels")]
    static void PubSubShardChannels(Client c) => ChannelList(c, c.Server.PubSub.ShardChannels);

    /// <summary>channelList: the active channels, filtered by an optional glob pattern.</summary>
    static void ChannelList(Client c, Dictionary<byte[], List<Client>> channels)
    {
        if (c.Args.Count > 3)
        {
            SubcommandSyntaxError(c);
            return;
        }
        var matched = new List<byte[]>();
        foreach (var ch in channels.Keys)
            if (c.Args.Count == 2 || GlobMatcher.Match(c.Args[2], ch)) matched.Add(ch);
        c.Reply.ArrayLen(matched.Count);
        foreach (var ch in matched) c.Reply.Bulk(ch);
    }

    [Command("pubsub|numsub")]
    static void PubSubNumSub(Client c) => NumSub(c, c.Server.PubSub.Channels);

    [Command("pubsub|shardnumsub")]
    static void PubSubShardNumSub(Client c) => NumSub(c, c.Server.PubSub.ShardChannels);

    /// <summary>Pairs of channel and subscriber count, pattern subscribers excluded; an array even in RESP3.</summary>
    static void NumSub(Client c, Dictionary<byte[], List<Client>> channels)
    {
        var lookup = channels.GetAlternateLookup<ReadOnlySpan<byte>>();
        c.Reply.ArrayLen((c.Args.Count - 2) * 2);
        for (int j = 2; j < c.Args.Count; j++)
        {
            c.Reply.Bulk(c.Args[j]);
            c.Reply.Integer(lookup.TryGetValue(c.Args[j], out var l) ? l.Count : 0);
        }
    }

    [Command("pubsub|numpat")]
    static void PubSubNumPat(Client c) => c.Reply.Integer(c.Server.PubSub.Patterns.Count);

    static readonly string[] Help =
    [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    ];

    [Command("pubsub|help")]
    static void PubSubHelp(Client c)
    {
        c.Reply.ArrayLen(Help.Length);
        foreach (var line in Help) c.Reply.Status(line);
    }

    /// <summary>addReplySubcommandSyntaxError: the subcommand as the user typed it.</summary>
    static void SubcommandSyntaxError(Client c)
    {
        string sub = c.Args.ToStringAt(1);
        if (sub.Length > 128) sub = sub[..128];
        c.Reply.Error($"unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP.");
    }
}
