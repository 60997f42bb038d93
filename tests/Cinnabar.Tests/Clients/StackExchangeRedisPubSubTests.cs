// Pub/Sub through StackExchange.Redis's ISubscriber: channel and pattern subscriptions with
// handlers and ordered message queues, the receiver counts PUBLISH returns, unsubscribing, and
// the PUBSUB introspection IServer exposes. Every wait for a message is bounded.
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisPubSubTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(5);

    static async Task<ChannelMessage> Next(ChannelMessageQueue queue) => await queue.ReadAsync().AsTask().WaitAsync(Bound);

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task A_channel_subscriber_receives_messages_in_order(Target target)
    {
        using var listener = targets.Connect(target);
        var queue = await listener.GetSubscriber().SubscribeAsync(RedisChannel.Literal("orders"));
        var publisher = targets.Connection(target).GetSubscriber();
        for (int i = 0; i < 50; i++) Assert.Equal(1, await publisher.PublishAsync(RedisChannel.Literal("orders"), "order-" + i));
        Assert.Equal(0, await publisher.PublishAsync(RedisChannel.Literal("nobody-listens"), "x"));
        for (int i = 0; i < 50; i++)
        {
            var message = await Next(queue);
            Assert.Equal("orders", message.Channel.ToString());
            Assert.Equal("order-" + i, message.Message);
        }
        await queue.UnsubscribeAsync();
        Assert.Equal(0, await publisher.PublishAsync(RedisChannel.Literal("orders"), "after"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task A_pattern_subscriber_sees_the_matching_channel(Target target)
    {
        using var listener = targets.Connect(target);
        var received = new TaskCompletionSource<(string Channel, string Message)>(TaskCreationOptions.RunContinuationsAsynchronously);
        await listener.GetSubscriber().SubscribeAsync(RedisChannel.Pattern("news.*"), (channel, message) => received.TrySetResult((channel.ToString(), message!)));
        var publisher = targets.Connection(target).GetSubscriber();
        Assert.Equal(0, await publisher.PublishAsync(RedisChannel.Literal("weather.today"), "rain"));
        Assert.Equal(1, await publisher.PublishAsync(RedisChannel.Literal("news.tech"), "release"));
        Assert.Equal(("news.tech", "release"), await received.Task.WaitAsync(Bound));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task Channel_and_pattern_subscribers_both_receive_a_message(Target target)
    {
        using var first = targets.Connect(target);
        using var second = targets.Connect(target);
        var byChannel = await first.GetSubscriber().SubscribeAsync(RedisChannel.Literal("events.login"));
        var byPattern = await second.GetSubscriber().SubscribeAsync(RedisChannel.Pattern("events.*"));
        Assert.Equal(2, await targets.Connection(target).GetSubscriber().PublishAsync(RedisChannel.Literal("events.login"), "ann"));
        Assert.Equal("ann", (await Next(byChannel)).Message);
        var fromPattern = await Next(byPattern);
        Assert.Equal(("events.login", "ann"), (fromPattern.Channel.ToString(), (string?)fromPattern.Message));
        Assert.Equal("events.*", fromPattern.SubscriptionChannel.ToString());
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task The_server_reports_channels_patterns_and_subscriber_counts(Target target)
    {
        using var listener = targets.Connect(target);
        var sub = listener.GetSubscriber();
        await sub.SubscribeAsync(RedisChannel.Literal("intro.a"));
        await sub.SubscribeAsync(RedisChannel.Literal("intro.b"));
        await sub.SubscribeAsync(RedisChannel.Pattern("intro.*"));
        var server = targets.Server(target);
        Assert.Equal(["intro.a", "intro.b"], server.SubscriptionChannels(RedisChannel.Pattern("intro.*")).Select(c => c.ToString()).Order());
        Assert.Equal(1, server.SubscriptionSubscriberCount(RedisChannel.Literal("intro.a")));
        Assert.Equal(0, server.SubscriptionSubscriberCount(RedisChannel.Literal("intro.c")));
        Assert.Equal(1, server.SubscriptionPatternCount());
        await sub.UnsubscribeAllAsync();
        Assert.Empty(server.SubscriptionChannels(RedisChannel.Pattern("intro.*")));
        Assert.Equal(0, server.SubscriptionPatternCount());
    }
}
