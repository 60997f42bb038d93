// Keyspace notifications of the generic and expire commands, captured at the Publish hook
// (Pub/Sub delivery is another mechanism): event names and order are Redis's.
using System.Collections.Concurrent;
using System.Text;
using Cinnabar.Server;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class KeyspaceNotificationTests : IDisposable
{
    readonly ServerFixture _fx = new(config => config.NotifyKeyspaceEvents = NotifyClass.Keyevent | NotifyClass.All);
    readonly ConcurrentQueue<string> _events = new();

    public KeyspaceNotificationTests()
    {
        _fx.Server.Events.Publish = (channel, message) =>
            _events.Enqueue(Encoding.ASCII.GetString(channel) + " " + Encoding.ASCII.GetString(message));
    }

    public void Dispose() => _fx.Dispose();

    string[] Drain()
    {
        var list = new List<string>();
        while (_events.TryDequeue(out var e)) list.Add(e);
        return list.ToArray();
    }

    [Fact]
    public void GenericCommandsEmitRedisEventNames()
    {
        using var c = _fx.Connect();
        c.Call("SET", "a", "1");
        Drain();
        c.Call("RENAME", "a", "b");
        c.Call("COPY", "b", "c");
        c.Call("MOVE", "c", "3");
        c.Call("EXPIRE", "b", "100");
        c.Call("PERSIST", "b");
        c.Call("DEL", "b", "nokey");
        Assert.Equal(
        [
            "__keyevent@0__:rename_from a", "__keyevent@0__:rename_to b",
            "__keyevent@0__:copy_to c",
            "__keyevent@0__:move_from c", "__keyevent@3__:move_to c",
            "__keyevent@0__:expire b", "__keyevent@0__:persist b",
            "__keyevent@0__:del b",
        ], Drain());
    }

    [Fact]
    public void PastDeadlineDeletesWithDelWhilePassiveExpiryEmitsExpired()
    {
        using var c = _fx.Connect();
        c.Call("SET", "x", "1");
        c.Call("SET", "y", "1");
        Drain();
        Assert.Equal(":1", c.CallS("EXPIRE", "x", "-1"));
        Assert.Equal(":1", c.CallS("PEXPIRE", "y", "1"));
        Thread.Sleep(20);
        c.Call("GET", "y");
        Assert.Equal(["__keyevent@0__:del x", "__keyevent@0__:expire y", "__keyevent@0__:expired y"], Drain());
    }
}

public class KeyspaceCommandTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void CopyIsDeepAndKeepsEncodingAndTtl()
    {
        using var c = fx.Connect();
        c.Call("SELECT", "5");
        c.Call("FLUSHDB");
        c.Call("SET", "src", new string('x', 60));
        c.Call("PEXPIRE", "src", "100000");
        Assert.Equal(":1", c.CallS("COPY", "src", "dst", "DB", "6"));
        c.Call("SELECT", "6");
        Assert.Equal("\"raw\"", c.CallS("OBJECT", "ENCODING", "dst"));
        Assert.InRange(c.Call("PTTL", "dst").Integer, 90000, 100000);
        c.Call("SELECT", "5");
        Assert.Equal(":0", c.CallS("COPY", "src", "dst", "DB", "6"));
        Assert.Equal(":1", c.CallS("COPY", "src", "dst", "DB", "6", "REPLACE"));
    }

    [Fact]
    public void ScanWithCountWalksTheWholeKeyspaceExactlyOnceWhenStable()
    {
        using var c = fx.Connect();
        c.Call("SELECT", "7");
        c.Call("FLUSHDB");
        for (int i = 0; i < 1000; i++) c.Call("SET", "s:" + i, "v");
        var seen = new List<string>();
        string cursor = "0";
        int calls = 0;
        do
        {
            var r = c.Call("SCAN", cursor, "COUNT", "10");
            cursor = r.Items![0].Text!;
            seen.AddRange(r.Items[1].Items!.Select(i => i.Text!));
            calls++;
        } while (cursor != "0");
        Assert.Equal(1000, seen.Count);
        Assert.Equal(1000, seen.Distinct().Count());
        Assert.InRange(calls, 50, 200); // about COUNT keys per call, not all at once
    }

    [Fact]
    public void SwapDbExchangesContentsForConnectedClients()
    {
        using var a = fx.Connect();
        using var b = fx.Connect();
        a.Call("SELECT", "8"); a.Call("FLUSHDB"); a.Call("SET", "k", "in8");
        b.Call("SELECT", "9"); b.Call("FLUSHDB"); b.Call("SET", "k", "in9");
        Assert.Equal("+OK", a.CallS("SWAPDB", "8", "9"));
        Assert.Equal("\"in9\"", a.CallS("GET", "k"));
        Assert.Equal("\"in8\"", b.CallS("GET", "k"));
    }
}

/// <summary>The n and m classes (not part of A): "new" from dbAdd, "keymiss" from a read lookup that misses.</summary>
public class NewAndKeyMissNotificationTests : IDisposable
{
    readonly ServerFixture _fx = new(config =>
        config.NotifyKeyspaceEvents = NotifyClass.Keyevent | NotifyClass.All | NotifyClass.New | NotifyClass.KeyMiss);
    readonly ConcurrentQueue<string> _events = new();

    public NewAndKeyMissNotificationTests()
    {
        _fx.Server.Events.Publish = (channel, message) =>
            _events.Enqueue(Encoding.ASCII.GetString(channel) + " " + Encoding.ASCII.GetString(message));
    }

    public void Dispose() => _fx.Dispose();

    string[] Drain()
    {
        var list = new List<string>();
        while (_events.TryDequeue(out var e)) list.Add(e);
        return list.ToArray();
    }

    [Fact]
    public void CreatingAKeySendsNewBeforeTheCommandsEventAndOverwritingDoesNot()
    {
        using var c = _fx.Connect();
        c.Call("SET", "a", "1");
        c.Call("SET", "a", "2");
        c.Call("RPUSH", "l", "x");
        c.Call("RENAME", "a", "b");
        Assert.Equal(
        [
            "__keyevent@0__:new a", "__keyevent@0__:set a",
            "__keyevent@0__:set a",
            "__keyevent@0__:new l", "__keyevent@0__:rpush l",
            // renameGenericCommand adds the destination (dbAdd) before it notifies.
            "__keyevent@0__:new b", "__keyevent@0__:rename_from a", "__keyevent@0__:rename_to b",
        ], Drain());
    }

    [Fact]
    public void ReadLookupsThatMissSendKeymissButWritesAndObjectDoNot()
    {
        using var c = _fx.Connect();
        c.Call("GET", "nokey");
        c.Call("EXISTS", "e1", "e2");
        c.Call("OBJECT", "ENCODING", "nokey");
        c.Call("LPOP", "nolist");
        c.Call("DEL", "nokey");
        c.Call("SINTERSTORE", "dst", "nos");
        Assert.Equal(
        [
            "__keyevent@0__:keymiss nokey",
            "__keyevent@0__:keymiss e1", "__keyevent@0__:keymiss e2",
            "__keyevent@0__:keymiss nos",
        ], Drain());
    }

    [Fact]
    public void AnExpiredKeyReadSendsExpiredThenKeymiss()
    {
        using var c = _fx.Connect();
        c.Call("DEBUG", "SET-ACTIVE-EXPIRE", "0");
        c.Call("SET", "k", "v", "PX", "1");
        Thread.Sleep(20);
        Drain();
        Assert.Equal("$nil", c.CallS("GET", "k"));
        Assert.Equal(["__keyevent@0__:expired k", "__keyevent@0__:keymiss k"], Drain());
    }
}
