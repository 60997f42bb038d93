// Keyspace notifications from string and bitmap commands carry Redis's event names
// (captured at the KeyspaceEvents.Publish hook, which Pub/Sub installs in a full server).
using System.Collections.Concurrent;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class StringNotificationTests
{
    [Fact]
    public void WritesNotifyWithRedisEventNames()
    {
        using var fx = new ServerFixture(c => c.Set("notify-keyspace-events", "E$g", startup: true));
        var events = new ConcurrentQueue<string>();
        fx.Server.Events.Publish = (channel, message) =>
            events.Enqueue(Encoding.ASCII.GetString(channel).Replace("__keyevent@0__:", "") + " " + Encoding.ASCII.GetString(message));
        using var c = fx.Connect();
        c.Call("SET", "k", "1", "EX", "100");
        c.Call("INCR", "k");
        c.Call("INCRBYFLOAT", "k", "1.5");
        c.Call("APPEND", "k", "x");
        c.Call("SETRANGE", "k", "0", "y");
        c.Call("GETEX", "k", "PERSIST");
        c.Call("SETBIT", "b", "1", "1");
        c.Call("BITFIELD", "b", "SET", "u8", "0", "1");
        c.Call("GETDEL", "k");
        c.Call("SETBIT", "b", "1", "0"); // bit already clear: no change, no event (as redis-server 7.0.15)
        Assert.Equal(
            ["set k", "expire k", "incrby k", "incrbyfloat k", "append k", "setrange k", "persist k", "setbit b", "setbit b", "del k"],
            events.ToArray());
    }
}
