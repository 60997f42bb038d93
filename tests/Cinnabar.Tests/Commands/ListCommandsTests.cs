// List commands over a real socket: push/pop shapes in RESP2 and RESP3, big lists spanning
// many quicklist nodes, LINSERT/LSET/LREM/LTRIM on them, and memory accounting of the keyspace.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Commands;

public class ListCommandsTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void PopWithCountUsesNullArrayForMissingKeyAndEmptyArrayForZero()
    {
        using var c = fx.Connect();
        Assert.Equal("$nil", c.CallS("LPOP", "pc:none"));
        Assert.Equal("*nil", c.CallS("LPOP", "pc:none", "1"));
        c.CallS("RPUSH", "pc:l", "a", "b");
        Assert.Equal("*[]", c.CallS("LPOP", "pc:l", "0"));
        Assert.Equal("*[\"b\", \"a\"]", c.CallS("RPOP", "pc:l", "5"));
        Assert.Equal(":0", c.CallS("LLEN", "pc:l"));
    }

    [Fact]
    public void Resp3NullsAreUnderscore()
    {
        using var c = fx.Connect();
        c.Call("HELLO", "3");
        Assert.Equal("_nil", c.CallS("LPOP", "r3:none"));
        Assert.Equal("_nil", c.CallS("LPOP", "r3:none", "2"));
        Assert.Equal("_nil", c.CallS("LMPOP", "1", "r3:none", "LEFT"));
    }

    [Fact]
    public void LargeListAcrossManyNodesSupportsEveryOperation()
    {
        using var c = fx.Connect();
        var model = new List<string>();
        for (int i = 0; i < 3000; i += 100)
        {
            var args = new List<string> { "RPUSH", "big:l" };
            for (int j = i; j < i + 100; j++)
            {
                args.Add("value-" + j + new string('p', j % 50));
                model.Add(args[^1]);
            }
            c.Call(args.ToArray());
        }
        Assert.Equal(":3000", c.CallS("LLEN", "big:l"));
        Assert.Equal("\"" + model[1500] + "\"", c.CallS("LINDEX", "big:l", "1500"));
        Assert.Equal(":3001", c.CallS("LINSERT", "big:l", "BEFORE", model[2000], "inserted"));
        model.Insert(2000, "inserted");
        Assert.Equal("+OK", c.CallS("LSET", "big:l", "-10", "replaced"));
        model[^10] = "replaced";
        Assert.Equal(":1", c.CallS("LREM", "big:l", "0", model[100]));
        model.RemoveAt(100);
        Assert.Equal("+OK", c.CallS("LTRIM", "big:l", "10", "-10"));
        model = model.Skip(10).Take(model.Count - 19).ToList();
        var all = c.Call("LRANGE", "big:l", "0", "-1");
        Assert.Equal(model, all.Items!.Select(x => x.Text!).ToList());
        Assert.Equal(":" + (model.IndexOf("inserted")), c.CallS("LPOS", "big:l", "inserted"));
    }

    [Fact]
    public void MemoryAccountingFollowsPushesAndPops()
    {
        using var c = fx.Connect();
        long Used() => fx.Server.Databases[0].UsedMemory;
        long before = Used();
        for (int i = 0; i < 1000; i += 100)
        {
            var args = new List<string> { "RPUSH", "mem:l" };
            for (int j = i; j < i + 100; j++) args.Add("element-" + j);
            c.Call(args.ToArray());
        }
        long grown = Used() - before;
        Assert.InRange(grown, 12_000, 40_000); // ~14 bytes per element in listpacks plus node overhead
        c.Call("LPOP", "mem:l", "1000");
        Assert.Equal(before, Used());
    }
}
