// A key created by RENAME, MOVE, COPY or brought in by SWAPDB wakes clients blocked on it, as
// dbAdd's signalKeyAsReady and SWAPDB's scanDatabaseForReadyKeys do in Redis; a string does not.
using System.Diagnostics;
using Cinnabar.Keyspace;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Keyspace;

public class BlockingWakeByKeyCreationTests(ServerFixture fx) : IClassFixture<ServerFixture>
{

    [Fact]
    public void RenameOntoAWaitedKeyServesTheWaiter()
    {
        using var a = fx.Connect();
        using var p = fx.Connect();
        a.Send("BLPOP", "rn:dst", "0");
        fx.WaitBlocked(1);
        p.Call("RPUSH", "rn:src", "x", "y");
        Assert.Equal("+OK", p.CallS("RENAME", "rn:src", "rn:dst"));
        Assert.Equal("*[\"rn:dst\", \"x\"]", a.Read().ToString());
        Assert.Equal(":1", p.CallS("LLEN", "rn:dst"));
    }

    [Fact]
    public void CopyAndMoveServeWaitersAndAStringDoesNot()
    {
        using var a = fx.Connect();
        using var p = fx.Connect();
        a.Send("BZPOPMIN", "cp:dst", "0");
        fx.WaitBlocked(1);
        p.Call("SET", "cp:str", "v");
        Assert.Equal(":1", p.CallS("COPY", "cp:str", "cp:dst"));
        Assert.Null(a.TryRead(TimeSpan.FromMilliseconds(200)));
        p.Call("DEL", "cp:dst");
        p.Call("ZADD", "cp:z", "1", "m");
        Assert.Equal(":1", p.CallS("COPY", "cp:z", "cp:dst"));
        Assert.Equal("*[\"cp:dst\", \"m\", \"1\"]", a.Read().ToString());

        a.Send("BLPOP", "mv:k", "0");
        fx.WaitBlocked(1);
        p.Call("SELECT", "1");
        p.Call("RPUSH", "mv:k", "from-db1");
        Assert.Equal(":1", p.CallS("MOVE", "mv:k", "0"));
        Assert.Equal("*[\"mv:k\", \"from-db1\"]", a.Read().ToString());
    }

    [Fact]
    public void SwapDbServesWaitersOfBothDatabases()
    {
        using var a = fx.Connect();
        using var p = fx.Connect();
        a.Send("SELECT", "0");
        a.Read();
        a.Send("BRPOP", "sw:k", "0");
        fx.WaitBlocked(1);
        p.Call("SELECT", "2");
        p.Call("RPUSH", "sw:k", "swapped-in");
        Assert.Equal("+OK", p.CallS("SWAPDB", "0", "2"));
        Assert.Equal("*[\"sw:k\", \"swapped-in\"]", a.Read().ToString());
        p.Call("SWAPDB", "0", "2");
    }

    [Fact]
    public void AReadyKeyIsServedToWaitersOfItsTypeOnly()
    {
        using var list = fx.Connect();
        using var zset = fx.Connect();
        using var p = fx.Connect();
        list.Send("BLPOP", "mixed:k", "0");
        fx.WaitBlocked(1);
        zset.Send("BZPOPMIN", "mixed:k", "0");
        fx.WaitBlocked(2);
        Assert.Equal(":1", p.CallS("ZADD", "mixed:k", "1", "a"));
        Assert.Equal("*[\"mixed:k\", \"a\", \"1\"]", zset.Read().ToString());
        Assert.Null(list.TryRead(TimeSpan.FromMilliseconds(200)));
        Assert.Equal(":1", p.CallS("RPUSH", "mixed:k", "x"));
        Assert.Equal("*[\"mixed:k\", \"x\"]", list.Read().ToString());
    }
}
