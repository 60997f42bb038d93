// Streams through StackExchange.Redis: XADD with explicit and generated ids, ranges and reads,
// trimming, and consumer groups (read, pending, acknowledge, claim and autoclaim) with the
// XINFO views the client parses, on Cinnabar and redis-server 7.0.15 alike.
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisStreamTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    static string Field(StreamEntry entry, string name) => (string)entry[name]!;

    [RequiresToolsTheory("redis-server"), Targets]
    public void Entries_are_added_ranged_read_and_trimmed(Target target)
    {
        var db = targets.EmptyDatabase(target);
        Assert.Equal("1-1", db.StreamAdd("events", "type", "signup", "1-1"));
        Assert.Equal("1-2", db.StreamAdd("events", [new("type", "login"), new("user", "ann")], "1-*"));
        var generated = (string)db.StreamAdd("events", "type", "logout")!;
        Assert.Matches(@"^\d+-0$", generated);
        var ex = Assert.Throws<RedisServerException>(() => db.StreamAdd("events", "type", "late", "1-1"));
        Assert.Equal("ERR The ID specified in XADD is equal or smaller than the target stream top item", ex.Message);
        Assert.Equal(3, db.StreamLength("events"));

        var all = db.StreamRange("events");
        Assert.Equal(["1-1", "1-2", generated], all.Select(e => (string)e.Id!));
        Assert.Equal("ann", Field(all[1], "user"));
        Assert.Equal(["1-2", "1-1"], db.StreamRange("events", "1-1", "1-2", messageOrder: Order.Descending).Select(e => (string)e.Id!));
        Assert.Equal(["1-2", generated], db.StreamRead("events", "1-1").Select(e => (string)e.Id!));
        Assert.Equal(["1-2"], db.StreamRead("events", "1-1", count: 1).Select(e => (string)e.Id!));

        var both = db.StreamRead([new StreamPosition("events", "1-2"), new StreamPosition("empty", "0-0")]);
        Assert.Equal([("events", generated)], both.Select(s => ((string)s.Key!, (string)s.Entries.Single().Id!)));

        Assert.Equal(1, db.StreamDelete("events", ["1-1", "9-9"]));
        Assert.Equal(1, db.StreamTrim("events", 1));
        Assert.Equal([generated], db.StreamRange("events").Select(e => (string)e.Id!));
        var info = db.StreamInfo("events");
        Assert.Equal((1, generated, generated), (info.Length, (string)info.FirstEntry.Id!, (string)info.LastEntry.Id!));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void A_consumer_group_delivers_tracks_and_acknowledges(Target target)
    {
        var db = targets.EmptyDatabase(target);
        for (int i = 1; i <= 4; i++) db.StreamAdd("jobs", "n", i, $"{i}-0");
        Assert.True(db.StreamCreateConsumerGroup("jobs", "workers", StreamPosition.Beginning));
        var ex = Assert.Throws<RedisServerException>(() => db.StreamCreateConsumerGroup("jobs", "workers", StreamPosition.Beginning));
        Assert.Equal("BUSYGROUP Consumer Group name already exists", ex.Message);

        var forA = db.StreamReadGroup("jobs", "workers", "a", StreamPosition.NewMessages, count: 3);
        Assert.Equal(["1-0", "2-0", "3-0"], forA.Select(e => (string)e.Id!));
        var forB = db.StreamReadGroup("jobs", "workers", "b", StreamPosition.NewMessages);
        Assert.Equal(["4-0"], forB.Select(e => (string)e.Id!));
        Assert.Empty(db.StreamReadGroup("jobs", "workers", "b", StreamPosition.NewMessages));

        Assert.Equal(2, db.StreamAcknowledge("jobs", "workers", ["1-0", "2-0"]));
        var pending = db.StreamPending("jobs", "workers");
        Assert.Equal((2, "3-0", "4-0"), (pending.PendingMessageCount, (string)pending.LowestPendingMessageId!, (string)pending.HighestPendingMessageId!));
        Assert.Equal([("a", 1), ("b", 1)], pending.Consumers.Select(c => (c.Name, c.PendingMessageCount)).OrderBy(c => c.Name));
        var detail = db.StreamPendingMessages("jobs", "workers", 10, "a");
        Assert.Equal([("3-0", "a", 1)], detail.Select(p => ((string)p.MessageId!, (string)p.ConsumerName!, p.DeliveryCount)));

        var claimed = db.StreamClaim("jobs", "workers", "b", 0, ["3-0"]);
        Assert.Equal(["3-0"], claimed.Select(e => (string)e.Id!));
        var autoclaimed = db.StreamAutoClaim("jobs", "workers", "c", 0, "0-0");
        Assert.Equal(["3-0", "4-0"], autoclaimed.ClaimedEntries.Select(e => (string)e.Id!));
        Assert.Equal("0-0", autoclaimed.NextStartId);
        Assert.Empty(autoclaimed.DeletedIds);

        var group = db.StreamGroupInfo("jobs").Single();
        Assert.Equal(("workers", 3, 2, "4-0"), (group.Name, group.ConsumerCount, group.PendingMessageCount, (string?)group.LastDeliveredId));
        var consumers = db.StreamConsumerInfo("jobs", "workers").OrderBy(c => c.Name).Select(c => (c.Name, c.PendingMessageCount));
        Assert.Equal([("a", 0), ("b", 0), ("c", 2)], consumers);
        Assert.Equal(2, db.StreamDeleteConsumer("jobs", "workers", "c")); // the entries it still had pending
        Assert.True(db.StreamDeleteConsumerGroup("jobs", "workers"));
        Assert.Empty(db.StreamGroupInfo("jobs"));
    }
}
