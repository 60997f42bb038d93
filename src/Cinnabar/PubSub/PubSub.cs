// Pub/Sub (Redis's pubsub.c): channels, patterns and shard channels. The server keeps
// channel -> subscribers (in subscription order) and pattern -> subscribers maps; each client
// keeps its own subscriptions. Two PubSubType values (global and shard) drive one set of
// generic subscribe/unsubscribe/publish functions, as in Redis. Messages are written straight
// into each subscriber's reply buffer (an array in RESP2, a push frame in RESP3) and the
// pubsub output-buffer limit is checked right after, so a slow subscriber is dropped instead
// of slowing the publisher. Keyspace notifications are published through the same path.
using Cinnabar.Keyspace;
using Cinnabar.Networking;

namespace Cinnabar.PubSub;

/// <summary>A client's subscriptions (c->pubsub_channels, c->pubsub_patterns, c->pubsub_shard_channels).</summary>
public sealed class ClientPubSub
{
    public readonly HashSet<byte[]> Channels = new(ByteKeyComparer.Instance);
    public readonly List<byte[]> Patterns = new();
    public readonly HashSet<byte[]> ShardChannels = new(ByteKeyComparer.Instance);

    public int Total => Channels.Count + Patterns.Count + ShardChannels.Count;
}

/// <summary>Redis's pubsubtype: which maps and reply words a family of commands uses.</summary>
public sealed class PubSubType
{
    public required bool Shard;
    public required byte[] SubscribeMsg, UnsubscribeMsg, MessageBulk;

    public static readonly PubSubType Global = new()
    {
        Shard = false,
        SubscribeMsg = "subscribe"u8.ToArray(),
        UnsubscribeMsg = "unsubscribe"u8.ToArray(),
        MessageBulk = "message"u8.ToArray(),
    };

    public static readonly PubSubType ShardType = new()
    {
        Shard = true,
        SubscribeMsg = "ssubscribe"u8.ToArray(),
        UnsubscribeMsg = "sunsubscribe"u8.ToArray(),
        MessageBulk = "smessage"u8.ToArray(),
    };

    public HashSet<byte[]> ClientChannels(ClientPubSub s) => Shard ? s.ShardChannels : s.Channels;

    /// <summary>The count in (un)subscribe replies: channels + patterns, or shard channels alone.</summary>
    public int SubscriptionCount(ClientPubSub s) => Shard ? s.ShardChannels.Count : s.Channels.Count + s.Patterns.Count;
}

public sealed class PubSub
{
    static readonly byte[] PSubscribeMsg = "psubscribe"u8.ToArray(), PUnsubscribeMsg = "punsubscribe"u8.ToArray(), PMessageBulk = "pmessage"u8.ToArray();

    readonly CinnabarServer _server;

    public readonly Dictionary<byte[], List<Client>> Channels = new(ByteKeyComparer.Instance);
    public readonly Dictionary<byte[], List<Client>> ShardChannels = new(ByteKeyComparer.Instance);
    public readonly Dictionary<byte[], List<Client>> Patterns = new(ByteKeyComparer.Instance);

    public PubSub(CinnabarServer server) => _server = server;

    /// <summary>CLIENT LIST sub=, psub=, ssub=.</summary>
    public static (int Channels, int Patterns, int ShardChannels) SubscriptionCounts(Client c) =>
        c.PubSubState is { } s ? (s.Channels.Count, s.Patterns.Count, s.ShardChannels.Count) : (0, 0, 0);

    Dictionary<byte[], List<Client>> ServerChannels(PubSubType type) => type.Shard ? ShardChannels : Channels;

    /// <summary>Drops every subscription of the client (freeClient, RESET), optionally replying per channel.</summary>
    public void UnsubscribeAll(Client c, bool notify)
    {
        if (c.PubSubState == null) return;
        UnsubscribeAllChannels(c, notify, PubSubType.Global);
        UnsubscribeAllChannels(c, notify, PubSubType.ShardType);
        UnsubscribeAllPatterns(c, notify);
        c.Flags &= ~ClientFlags.PubSub;
    }

    /// <summary>Clears CLIENT_PUBSUB once no subscription of any kind is left.</summary>
    public static void UpdatePubSubFlag(Client c)
    {
        if (c.PubSubState == null || c.PubSubState.Total == 0) c.Flags &= ~ClientFlags.PubSub;
    }

    // ------------------------------------------------------------ replies

    // Confirmations and messages are pushes (CLIENT_PUSHING): they reach a client under CLIENT REPLY OFF too.

    void AddReplyPubsubSubscribed(Client c, byte[] channel, byte[] word, int count)
    {
        bool enabled = c.Reply.BeginPush();
        c.Reply.PushLen(3);
        c.Reply.Bulk(word);
        c.Reply.Bulk(channel);
        c.Reply.Integer(count);
        c.Reply.EndPush(enabled);
    }

    void AddReplyPubsubUnsubscribed(Client c, byte[]? channel, byte[] word, int count)
    {
        bool enabled = c.Reply.BeginPush();
        c.Reply.PushLen(3);
        c.Reply.Bulk(word);
        if (channel == null) c.Reply.Null();
        else c.Reply.Bulk(channel);
        c.Reply.Integer(count);
        c.Reply.EndPush(enabled);
    }

    // ------------------------------------------------------------ channels

    /// <summary>pubsubSubscribeChannel: subscribe once, reply every time.</summary>
    public void SubscribeChannel(Client c, ReadOnlySpan<byte> channel, PubSubType type)
    {
        var state = (c.PubSubState ??= new());
        var mine = type.ClientChannels(state);
        var lookup = mine.GetAlternateLookup<ReadOnlySpan<byte>>();
        if (!lookup.TryGetValue(channel, out var ch))
        {
            ch = channel.ToArray();
            mine.Add(ch);
            var map = ServerChannels(type);
            if (!map.TryGetValue(ch, out var clients)) map[ch] = clients = new List<Client>(1);
            clients.Add(c);
        }
        c.Flags |= ClientFlags.PubSub;
        AddReplyPubsubSubscribed(c, ch, type.SubscribeMsg, type.SubscriptionCount(state));
    }

    /// <summary>pubsubUnsubscribeChannel: returns whether the client was subscribed.</summary>
    public bool UnsubscribeChannel(Client c, ReadOnlySpan<byte> channel, bool notify, PubSubType type)
    {
        var state = (c.PubSubState ??= new());
        var mine = type.ClientChannels(state);
        bool removed = mine.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var ch);
        if (removed)
        {
            mine.Remove(ch!);
            var map = ServerChannels(type);
            var clients = map[ch!];
            clients.Remove(c);
            if (clients.Count == 0) map.Remove(ch!);
        }
        if (notify) AddReplyPubsubUnsubscribed(c, ch ?? channel.ToArray(), type.UnsubscribeMsg, type.SubscriptionCount(state));
        return removed;
    }

    /// <summary>pubsubUnsubscribeAllChannels: one reply per channel, or one with a null channel when there were none.</summary>
    public int UnsubscribeAllChannels(Client c, bool notify, PubSubType type)
    {
        var state = (c.PubSubState ??= new());
        var all = type.ClientChannels(state).ToArray();
        foreach (var ch in all) UnsubscribeChannel(c, ch, notify, type);
        if (notify && all.Length == 0) AddReplyPubsubUnsubscribed(c, null, type.UnsubscribeMsg, type.SubscriptionCount(state));
        return all.Length;
    }

    /// <summary>
    /// removeChannelsInSlot: this shard no longer serves the slot, so every client subscribed to
    /// one of its shard channels is unsubscribed from it (and told, with sunsubscribe).
    /// </summary>
    public void RemoveShardChannelsInSlot(int slot)
    {
        if (ShardChannels.Count == 0) return;
        foreach (var (channel, clients) in ShardChannels.ToArray())
        {
            if (Cluster.KeyHashSlot.Of(channel) != slot) continue;
            foreach (var c in clients.ToArray())
            {
                UnsubscribeChannel(c, channel, notify: true, PubSubType.ShardType);
                UpdatePubSubFlag(c);
                _server.Clients.QueueReplyWrite(c); // not the client whose command runs: its push needs a write
            }
        }
    }

    // ------------------------------------------------------------ patterns

    public void SubscribePattern(Client c, ReadOnlySpan<byte> pattern)
    {
        var state = (c.PubSubState ??= new());
        byte[]? pat = null;
        foreach (var p in state.Patterns)
            if (pattern.SequenceEqual(p)) { pat = p; break; }
        if (pat == null)
        {
            pat = pattern.ToArray();
            state.Patterns.Add(pat);
            if (!Patterns.TryGetValue(pat, out var clients)) Patterns[pat] = clients = new List<Client>(1);
            clients.Add(c);
        }
        c.Flags |= ClientFlags.PubSub;
        AddReplyPubsubSubscribed(c, pat, PSubscribeMsg, PubSubType.Global.SubscriptionCount(state));
    }

    public bool UnsubscribePattern(Client c, ReadOnlySpan<byte> pattern, bool notify)
    {
        var state = (c.PubSubState ??= new());
        int i = state.Patterns.Count - 1;
        while (i >= 0 && !pattern.SequenceEqual(state.Patterns[i])) i--;
        byte[] pat = i >= 0 ? state.Patterns[i] : pattern.ToArray();
        if (i >= 0)
        {
            state.Patterns.RemoveAt(i);
            var clients = Patterns[pat];
            clients.Remove(c);
            if (clients.Count == 0) Patterns.Remove(pat);
        }
        if (notify) AddReplyPubsubUnsubscribed(c, pat, PUnsubscribeMsg, PubSubType.Global.SubscriptionCount(state));
        return i >= 0;
    }

    public int UnsubscribeAllPatterns(Client c, bool notify)
    {
        var state = (c.PubSubState ??= new());
        var all = state.Patterns.ToArray();
        foreach (var p in all) UnsubscribePattern(c, p, notify);
        if (notify && all.Length == 0) AddReplyPubsubUnsubscribed(c, null, PUnsubscribeMsg, PubSubType.Global.SubscriptionCount(state));
        return all.Length;
    }

    // ------------------------------------------------------------ publish

    /// <summary>pubsubPublishMessage: deliver to channel subscribers, then (global only) to matching patterns; returns the receivers.</summary>
    public int PublishMessage(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> message, PubSubType type)
    {
        int receivers = 0;
        var map = ServerChannels(type);
        if (map.GetAlternateLookup<ReadOnlySpan<byte>>().TryGetValue(channel, out var clients))
        {
            // No copies: delivery only appends replies and at worst marks a client CloseAsap (freed
            // later, in beforeSleep), so no subscription list changes while these loops run.
            for (int i = 0; i < clients.Count; i++)
            {
                var c = clients[i];
                if (!CanWrite(c)) { receivers++; continue; }
                bool enabled = c.Reply.BeginPush();
                c.Reply.PushLen(3);
                c.Reply.Bulk(type.MessageBulk);
                c.Reply.Bulk(channel);
                c.Reply.Bulk(message);
                c.Reply.EndPush(enabled);
                AfterWrite(c);
                receivers++;
            }
        }
        if (type.Shard || Patterns.Count == 0) return receivers;
        foreach (var (pattern, pclients) in Patterns)
        {
            if (!GlobMatcher.Match(pattern, channel)) continue;
            for (int i = 0; i < pclients.Count; i++)
            {
                var c = pclients[i];
                receivers++;
                if (!CanWrite(c)) continue;
                bool enabled = c.Reply.BeginPush();
                c.Reply.PushLen(4);
                c.Reply.Bulk(PMessageBulk);
                c.Reply.Bulk(pattern);
                c.Reply.Bulk(channel);
                c.Reply.Bulk(message);
                c.Reply.EndPush(enabled);
                AfterWrite(c);
            }
        }
        return receivers;
    }

    // A client already scheduled to close gets nothing more (prepareClientToWrite refuses it).
    static bool CanWrite(Client c) => !c.HasFlag(ClientFlags.CloseAsap);

    void AfterWrite(Client c)
    {
        _server.Clients.CheckOutputBufferLimitsAsync(c);
        _server.ClientEviction.Update(c); // the message may make the receiver evictable
        _server.Clients.QueueReplyWrite(c);
    }
}
