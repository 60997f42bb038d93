// What each consumer-group command does besides its reply, as redis-server 7.0.15 does it: the
// dirty count (rdb_changes_since_last_save), whether a WATCH on the key fails (only a MKSTREAM
// that adds the key does, among the group commands: Redis signals no group change), and the
// keyevents. Consumers created by XREADGROUP, XCLAIM and XAUTOCLAIM count and notify as
// XGROUP CREATECONSUMER; a claim that claims nothing changes nothing.
using System.Collections.Concurrent;
using System.Text;
using Cinnabar.Server;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Streams;

public sealed class ConsumerGroupSideEffectTests : IDisposable
{
    readonly ServerFixture _fx = new(config => config.NotifyKeyspaceEvents = NotifyClass.Keyevent | NotifyClass.All);
    readonly ConcurrentQueue<string> _events = new();

    public ConsumerGroupSideEffectTests()
    {
        _fx.Server.Events.Publish = (channel, _) =>
        {
            var ch = Encoding.ASCII.GetString(channel);
            _events.Enqueue(ch[(ch.IndexOf(':') + 1)..]);
        };
    }

    public void Dispose() => _fx.Dispose();

    static readonly (string Command, long Dirty, bool WatchFails, string Events)[] Steps =
    [
        ("XADD s 1-1 a 1", 1, true, "xadd"),
        ("XADD s 2-1 a 1", 1, true, "xadd"),
        ("XADD s 3-1 a 1", 1, true, "xadd"),
        ("XADD s 4-1 a 1", 1, true, "xadd"),
        ("XGROUP CREATE s g 0", 1, false, "xgroup-create"),
        ("XGROUP CREATE mk g 0 MKSTREAM", 1, true, "xgroup-create"),
        ("XGROUP SETID s g 0", 1, false, "xgroup-setid"),
        ("XGROUP CREATECONSUMER s g c0", 1, false, "xgroup-createconsumer"),
        ("XGROUP CREATECONSUMER s g c0", 0, false, ""),
        ("XREADGROUP GROUP g c1 COUNT 2 STREAMS s >", 2, false, "xgroup-createconsumer"),
        ("XREADGROUP GROUP g c1 COUNT 1 STREAMS s 0", 1, false, ""),
        ("XREADGROUP GROUP g c2 NOACK COUNT 1 STREAMS s >", 2, false, "xgroup-createconsumer"),
        ("XREADGROUP GROUP g c2 NOACK COUNT 1 STREAMS s >", 1, false, ""),
        ("XACK s g 1-1 9-9", 1, false, ""),
        ("XCLAIM s g c3 0 2-1 3-1", 2, false, "xgroup-createconsumer"),
        ("XCLAIM s g c3 0 99-1", 0, false, ""),
        ("XCLAIM s g c3 0 2-1 LASTID 5-0", 1, false, ""),
        ("XCLAIM s g c4 0 99-1 LASTID 6-0", 1, false, ""),
        ("XCLAIM s g c4 99999999 2-1", 0, false, ""),
        ("XCLAIM s g c4 0 3-1 FORCE", 2, false, "xgroup-createconsumer"),
        ("XCLAIM s g c4 0 99-1 FORCE", 0, false, ""),
        ("XAUTOCLAIM s g c5 0 0 COUNT 1", 2, false, "xgroup-createconsumer"),
        ("XAUTOCLAIM s g c5 0 0", 2, false, ""),
        ("XAUTOCLAIM s g c6 999999999 0", 0, false, ""),
        ("XDEL s 3-1", 1, true, "xdel"),
        ("XAUTOCLAIM s g c6 0 0", 3, false, "xgroup-createconsumer"),
        ("XDEL s 2-1", 1, true, "xdel"),
        ("XCLAIM s g c7 0 2-1", 1, false, ""),
        ("XGROUP DELCONSUMER s g c1", 1, false, "xgroup-delconsumer"),
        ("XGROUP DELCONSUMER s g nobody", 0, false, ""),
        ("XGROUP DESTROY s g", 1, false, "xgroup-destroy"),
        ("XGROUP DESTROY s g", 0, false, ""),
    ];

    static long Dirty(RespClient c)
    {
        var info = c.Call("INFO", "persistence").Text!;
        var line = info.Split("\r\n").First(l => l.StartsWith("rdb_changes_since_last_save:", StringComparison.Ordinal));
        return long.Parse(line[(line.IndexOf(':') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public void DirtyWatchAndEventsMatchRedis()
    {
        using var c = _fx.Connect();
        using var watcher = _fx.Connect();
        foreach (var (command, dirty, watchFails, events) in Steps)
        {
            var args = command.Split(' ');
            var key = args[0] == "XGROUP" ? args[2] : args[1] == "GROUP" ? args[^2] : args[1];
            watcher.Call("WATCH", key);
            _events.Clear();
            long before = Dirty(c);
            c.Call(args);
            Assert.True(dirty == Dirty(c) - before, $"{command}: dirty +{Dirty(c) - before}, expected +{dirty}");
            Assert.Equal(events, string.Join(" ", _events));
            watcher.Call("MULTI");
            watcher.Call("PING");
            Assert.True(watchFails == watcher.Call("EXEC").IsNull, $"{command}: WATCH {(watchFails ? "kept" : "failed")}");
        }
    }
}
