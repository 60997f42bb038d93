// Differential tests with several connections at once (subscriber, publisher, watcher): each
// scenario runs against redis-server 7.0 and an in-process Cinnabar and the exact sequence of
// replies and pushed messages every client receives must be the same. Scenarios that change
// the oracle's configuration restore it, as the oracle is shared by the collection.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

[Collection(RedisServerCollection.Name)]
public class MultiClientDifferentialTests(RedisServerFixture redis)
{
    delegate void Scenario(Func<RespClient> connect, List<string> log);

    void AssertSameOnBoth(Scenario scenario)
    {
        var expected = Run(() => redis.Connect(), scenario);
        using var fx = new ServerFixture();
        var actual = Run(fx.Connect, scenario);
        Assert.NotEmpty(expected);
        Assert.Equal(string.Join("\n", expected), string.Join("\n", actual));
    }

    static List<string> Run(Func<RespClient> connect, Scenario scenario)
    {
        var log = new List<string>();
        using (var admin = connect()) admin.Call("FLUSHALL");
        scenario(() =>
        {
            var c = connect();
            c.ReadTimeout = TimeSpan.FromSeconds(5);
            return c;
        }, log);
        return log;
    }

    static void Log(List<string> log, string who, RespReply r) => log.Add(who + ": " + r);

    [RequiresToolsFact("redis-server")]
    public void ChannelAndPatternSubscribersReceiveTheSameMessages()
    {
        AssertSameOnBoth((connect, log) =>
        {
            using var sub = connect();
            using var psub = connect();
            using var pub = connect();
            Log(log, "sub", sub.Call("SUBSCRIBE", "news", "sport"));
            Log(log, "sub", sub.Read());
            Log(log, "sub", sub.Call("SUBSCRIBE", "news"));
            Log(log, "psub", psub.Call("PSUBSCRIBE", "n*", "[ns]ews", "x?"));
            Log(log, "psub", psub.Read());
            Log(log, "psub", psub.Read());
            Log(log, "pub", pub.Call("PUBLISH", "news", "hello"));
            Log(log, "sub", sub.Read());
            // Redis visits matching patterns in its dict's hash order: compare as a set.
            log.AddRange(new[] { psub.Read().ToString(), psub.Read().ToString() }.Order(StringComparer.Ordinal).Select(m => "psub: " + m));
            Log(log, "pub", pub.Call("PUBLISH", "xy", "pattern only"));
            Log(log, "psub", psub.Read());
            Log(log, "pub", pub.Call("PUBLISH", "nobody", ""));
            Log(log, "psub", psub.Read());
            Log(log, "pub", pub.Call("PUBLISH", "zzz", "no receivers"));
            Log(log, "pub", pub.Call("PUBSUB", "NUMSUB", "news", "sport", "n*", "none"));
            Log(log, "pub", pub.Call("PUBSUB", "NUMPAT"));
            Log(log, "pub", Sorted(pub.Call("PUBSUB", "CHANNELS")));
            Log(log, "pub", pub.Call("PUBSUB", "CHANNELS", "s*"));
            Log(log, "sub", sub.Call("GET", "k"));
            Log(log, "sub", sub.Call("PING", "still here"));
            Log(log, "sub", sub.Call("UNSUBSCRIBE", "news", "never"));
            Log(log, "sub", sub.Read());
            Log(log, "pub", pub.Call("PUBLISH", "news", "after"));
            log.AddRange(new[] { psub.Read().ToString(), psub.Read().ToString() }.Order(StringComparer.Ordinal).Select(m => "psub: " + m));
            Log(log, "psub", psub.Call("PUNSUBSCRIBE", "x?"));
            Log(log, "pub", pub.Call("PUBSUB", "NUMPAT"));
            Log(log, "sub", sub.Call("UNSUBSCRIBE"));
            Log(log, "sub", sub.Call("UNSUBSCRIBE"));
            Log(log, "sub", sub.Call("GET", "k"));
        });
    }

    static RespReply Sorted(RespReply r)
    {
        r.Items?.Sort((a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        return r;
    }

    [RequiresToolsFact("redis-server")]
    public void Resp3SubscribersGetPushFramesAndMayRunAnyCommand()
    {
        AssertSameOnBoth((connect, log) =>
        {
            using var sub = connect();
            using var pub = connect();
            sub.Call("HELLO", "3"); // the reply holds the client id: not compared
            Log(log, "sub", sub.Call("SUBSCRIBE", "c"));
            Log(log, "sub", sub.Call("PSUBSCRIBE", "c*"));
            Log(log, "pub", pub.Call("PUBLISH", "c", "m"));
            Log(log, "sub", sub.Read());
            Log(log, "sub", sub.Read());
            Log(log, "sub", sub.Call("PING"));
            Log(log, "sub", sub.Call("GET", "nokey"));
            Log(log, "sub", sub.Call("SET", "k", "v"));
            Log(log, "sub", sub.Call("UNSUBSCRIBE", "c"));
            Log(log, "sub", sub.Call("PUNSUBSCRIBE"));
            Log(log, "sub", sub.Call("PUNSUBSCRIBE"));
            Log(log, "sub", sub.Call("MULTI"));
            Log(log, "sub", sub.Call("GET", "k"));
            Log(log, "sub", sub.Call("SUBSCRIBE", "d"));
            Log(log, "sub", sub.Call("EXEC"));
            Log(log, "pub", pub.Call("PUBLISH", "d", "x"));
            Log(log, "sub", sub.Read());
        });
    }

    [RequiresToolsFact("redis-server")]
    public void ShardChannelsAreSeparateFromGlobalChannels()
    {
        AssertSameOnBoth((connect, log) =>
        {
            using var sub = connect();
            using var pub = connect();
            Log(log, "sub", sub.Call("SSUBSCRIBE", "s1", "s2"));
            Log(log, "sub", sub.Read());
            Log(log, "sub", sub.Call("SUBSCRIBE", "s1"));
            Log(log, "pub", pub.Call("SPUBLISH", "s1", "shard"));
            Log(log, "sub", sub.Read());
            Log(log, "pub", pub.Call("PUBLISH", "s1", "global"));
            Log(log, "sub", sub.Read());
            Log(log, "pub", pub.Call("SPUBLISH", "nobody", "x"));
            Log(log, "pub", Sorted(pub.Call("PUBSUB", "SHARDCHANNELS")));
            Log(log, "pub", pub.Call("PUBSUB", "SHARDNUMSUB", "s1", "s3"));
            Log(log, "pub", pub.Call("PUBSUB", "NUMSUB", "s1"));
            Log(log, "sub", sub.Call("UNSUBSCRIBE"));
            Log(log, "sub", sub.Call("GET", "k")); // still subscribed to shard channels
            Log(log, "sub", sub.Call("SUNSUBSCRIBE", "s2"));
            Log(log, "sub", sub.Call("SUNSUBSCRIBE"));
            Log(log, "sub", sub.Call("SUNSUBSCRIBE"));
            Log(log, "sub", sub.Call("GET", "k"));
        });
    }

    [RequiresToolsFact("redis-server")]
    public void WatchIsInvalidatedByAnotherClientsWrite()
    {
        AssertSameOnBoth((connect, log) =>
        {
            using var watcher = connect();
            using var other = connect();
            Log(log, "w", watcher.Call("SET", "k", "0"));
            Log(log, "w", watcher.Call("WATCH", "k"));
            Log(log, "o", other.Call("GET", "k"));          // a read is no change
            Log(log, "w", watcher.Call("MULTI"));
            Log(log, "w", watcher.Call("SET", "k", "1"));
            Log(log, "w", watcher.Call("EXEC"));
            Log(log, "w", watcher.Call("WATCH", "k"));
            Log(log, "o", other.Call("SET", "k", "2"));
            Log(log, "w", watcher.Call("MULTI"));
            Log(log, "w", watcher.Call("SET", "k", "3"));
            Log(log, "w", watcher.Call("EXEC"));
            Log(log, "w", watcher.Call("GET", "k"));
            // Same key name in another database: not the watched key.
            Log(log, "w", watcher.Call("WATCH", "k"));
            Log(log, "o", other.Call("SELECT", "1"));
            Log(log, "o", other.Call("SET", "k", "db1"));
            Log(log, "w", watcher.Call("MULTI"));
            Log(log, "w", watcher.Call("GET", "k"));
            Log(log, "w", watcher.Call("EXEC"));
            Log(log, "o", other.Call("FLUSHALL"));
            // DEL and EXPIRE from another client.
            Log(log, "w", watcher.Call("SET", "a", "1"));
            Log(log, "w", watcher.Call("WATCH", "a"));
            Log(log, "o", other.Call("SELECT", "0"));
            Log(log, "o", other.Call("EXPIRE", "a", "100"));
            Log(log, "w", watcher.Call("MULTI"));
            Log(log, "w", watcher.Call("GET", "a"));
            Log(log, "w", watcher.Call("EXEC"));
            Log(log, "w", watcher.Call("WATCH", "a"));
            Log(log, "o", other.Call("DEL", "a"));
            Log(log, "w", watcher.Call("MULTI"));
            Log(log, "w", watcher.Call("EXEC"));
            // FLUSHDB by another client.
            Log(log, "w", watcher.Call("SET", "f", "1"));
            Log(log, "w", watcher.Call("WATCH", "f"));
            Log(log, "o", other.Call("FLUSHDB"));
            Log(log, "w", watcher.Call("MULTI"));
            Log(log, "w", watcher.Call("EXEC"));
            // RESP3: the aborted EXEC is a RESP3 null.
            watcher.Call("HELLO", "3");
            Log(log, "w", watcher.Call("SET", "r", "1"));
            Log(log, "w", watcher.Call("WATCH", "r"));
            Log(log, "o", other.Call("SET", "r", "2"));
            Log(log, "w", watcher.Call("MULTI"));
            Log(log, "w", watcher.Call("GET", "r"));
            Log(log, "w", watcher.Call("EXEC"));
            Log(log, "w", watcher.Call("MULTI"));
            Log(log, "w", watcher.Call("GET", "r"));
            Log(log, "w", watcher.Call("EXPIRE", "r", "x"));
            Log(log, "w", watcher.Call("EXEC"));
        });
    }

    [RequiresToolsFact("redis-server")]
    public void KeyspaceNotificationsReachSubscribers()
    {
        AssertSameOnBoth((connect, log) =>
        {
            using var sub = connect();
            using var cmd = connect();
            try
            {
                foreach (var flags in new[] { "Elg$", "KA", "AKE", "gx$lshzetdnmKE", "Kx", "" })
                {
                    Log(log, "c", cmd.Call("CONFIG", "SET", "notify-keyspace-events", flags));
                    Log(log, "c", cmd.Call("CONFIG", "GET", "notify-keyspace-events"));
                }
                Log(log, "c", cmd.Call("CONFIG", "SET", "notify-keyspace-events", "bogus"));
                Log(log, "c", cmd.Call("CONFIG", "SET", "notify-keyspace-events", "KEA"));
                Log(log, "s", sub.Call("PSUBSCRIBE", "__key*@0__:*"));
                Log(log, "s", sub.Call("SUBSCRIBE", "done"));
                cmd.Call("SET", "k", "v");
                cmd.Call("EXPIRE", "k", "100");
                cmd.Call("PERSIST", "k");
                cmd.Call("RENAME", "k", "k2");
                cmd.Call("DEL", "k2");
                cmd.Call("DEL", "nokey");
                cmd.Call("LPUSH", "l", "a", "b");
                cmd.Call("RPUSH", "l", "c");
                cmd.Call("LPOP", "l");
                cmd.Call("RPOP", "l", "5"); // empties the list: "rpop" then "del"
                cmd.Call("SET", "p", "v");
                cmd.Call("PEXPIRE", "p", "50");
                Thread.Sleep(120);
                Log(log, "c", cmd.Call("GET", "p")); // passive expiry
                cmd.Call("SET", "q", "v");
                cmd.Call("PEXPIRE", "q", "20");
                Thread.Sleep(600); // active expiry (hz 10)
                cmd.Call("SELECT", "1");
                cmd.Call("SET", "otherdb", "v");
                cmd.Call("PUBLISH", "done", "end");
                while (true)
                {
                    var m = sub.Read();
                    // SET's own "set" event belongs to the strings commands, which land separately;
                    // every other event here is compared.
                    if (m.Items![^1].Text == "set" || m.Items![^2].Text == "__keyevent@0__:set") continue;
                    Log(log, "s", m);
                    if (m.Items![0].Text == "message") break;
                }
            }
            finally
            {
                cmd.Call("CONFIG", "SET", "notify-keyspace-events", "");
            }
        });
    }

    [RequiresToolsFact("redis-server")]
    public void SlowSubscriberIsDisconnectedAtThePubSubOutputLimit()
    {
        AssertSameOnBoth((connect, log) =>
        {
            using var sub = connect();
            using var pub = connect();
            try
            {
                Log(log, "p", pub.Call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 32kb 0 0"));
                Log(log, "s", sub.Call("SUBSCRIBE", "big"));
                Log(log, "p", pub.Call("PUBLISH", "big", new string('x', 100_000)));
                log.Add("subscriber closed: " + sub.IsClosedByServer());
                Log(log, "p", pub.Call("PUBSUB", "NUMSUB", "big"));
                Log(log, "p", pub.Call("PUBLISH", "big", "again"));
            }
            finally
            {
                pub.Call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
            }
        });
    }
}
