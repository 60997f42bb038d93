// Pub/Sub confirmations and messages are pushes (Redis's CLIENT_PUSHING): a subscriber that
// turned replies off with CLIENT REPLY OFF or SKIP still receives them, in RESP2 and RESP3,
// and keyspace notifications reach it the same way. Each case runs on redis-server 7.0.15 and
// on Cinnabar and the two transcripts must be equal.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.PubSub;

[Collection(RedisServerCollection.Name)]
public class PubSubPushTests(RedisServerFixture redis)
{
    static List<string> Transcript(Func<RespClient> connect, int protocol, string replyMode)
    {
        using var sub = connect();
        using var pub = connect();
        var seen = new List<string>();
        if (protocol == 3) sub.Call("HELLO", "3");
        pub.Call("CONFIG", "SET", "notify-keyspace-events", "KA");
        sub.Send("CLIENT", "REPLY", replyMode);
        if (replyMode == "SKIP") sub.AssertNoReply(TimeSpan.FromMilliseconds(100));
        sub.Send("SUBSCRIBE", "news");
        seen.Add(sub.Read().ToString());
        sub.Send("PSUBSCRIBE", "__keyspace@0__:push:*");
        seen.Add(sub.Read().ToString());
        seen.Add(pub.CallS("PUBLISH", "news", "hello"));
        seen.Add(sub.Read().ToString());
        pub.Call("SET", "push:k", "v");
        seen.Add(sub.Read().ToString());
        sub.Send("UNSUBSCRIBE", "news");
        seen.Add(sub.Read().ToString());
        pub.Call("CONFIG", "SET", "notify-keyspace-events", "");
        return seen;
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData(2, "OFF")]
    [InlineData(3, "OFF")]
    [InlineData(3, "SKIP")]
    public void SubscribersReceivePushesWithRepliesTurnedOff(int protocol, string replyMode)
    {
        using var cinnabar = new ServerFixture();
        var expected = Transcript(redis.Connect, protocol, replyMode);
        var actual = Transcript(cinnabar.Connect, protocol, replyMode);
        Assert.Equal(expected, actual);
        Assert.Contains(actual, line => line.Contains("hello"));
    }
}
