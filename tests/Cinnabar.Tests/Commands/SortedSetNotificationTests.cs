// Keyspace notifications of sorted set, geo and SORT commands, captured at the Publish hook:
// the event names and their order are the ones redis-server 7.0 emits for the same script.
using System.Collections.Concurrent;
using System.Text;
using Cinnabar.Server;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class SortedSetNotificationTests : IDisposable
{
    readonly ServerFixture _fx = new(config => config.NotifyKeyspaceEvents = NotifyClass.Keyevent | NotifyClass.All);
    readonly ConcurrentQueue<string> _events = new();

    public SortedSetNotificationTests()
    {
        _fx.Server.Events.Publish = (channel, message) =>
            _events.Enqueue(Encoding.ASCII.GetString(channel)["__keyevent@0__:".Length..] + " " + Encoding.ASCII.GetString(message));
    }

    public void Dispose() => _fx.Dispose();

    [Fact]
    public void ZSetGeoAndSortCommandsEmitRedisEventsInOrder()
    {
        using var c = _fx.Connect();
        string[][] script =
        [
            ["ZADD", "z", "1", "a", "2", "b"], ["ZINCRBY", "z", "1", "a"], ["ZREM", "z", "a"], ["ZPOPMIN", "z"],
            ["ZADD", "z", "1", "a"], ["ZREMRANGEBYSCORE", "z", "0", "5"], ["ZADD", "s", "1", "a", "2", "b"],
            ["ZRANGESTORE", "d", "s", "0", "-1"], ["ZUNIONSTORE", "u", "1", "s"], ["ZINTERSTORE", "i", "1", "s"],
            ["ZDIFFSTORE", "df", "1", "s"], ["GEOADD", "g", "1", "1", "m"], ["RPUSH", "l", "1"], ["SORT", "l", "STORE", "st"],
            ["GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km"], ["ZMPOP", "1", "s", "MAX", "COUNT", "5"],
            ["ZADD", "z", "XX", "1", "nosuch"], ["ZREM", "z", "nosuch"],
        ];
        foreach (var cmd in script) Assert.False(c.Call(cmd).IsError, string.Join(' ', cmd));
        Assert.Equal(
        [
            "zadd z", "zincr z", "zrem z", "zpopmin z", "del z", "zadd z", "zremrangebyscore z", "del z", "zadd s",
            "zrangestore d", "zunionstore u", "zinterstore i", "zdiffstore df", "zadd g", "rpush l", "sortstore st",
            "geosearchstore gs", "zpopmax s", "del s",
        ], _events.ToArray());
    }
}
