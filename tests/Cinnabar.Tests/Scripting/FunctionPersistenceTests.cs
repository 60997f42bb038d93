// Function libraries survive what the dataset survives: SAVE and a restart (RDB_OPCODE_FUNCTION2),
// DEBUG RELOAD (which empties and reloads them; NOFLUSH fails on a library that exists), and
// FUNCTION DUMP / RESTORE with each policy, all or nothing.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Scripting;

public class FunctionPersistenceTests
{
    const string Lib = "#!lua name=mylib\nredis.register_function('hello', function(keys, args) return 'hello ' .. (args[1] or 'world') end)";

    [Fact]
    public void LibrariesSurviveSaveAndRestart()
    {
        using var fx = new ServerFixture();
        using (var c = fx.Connect())
        {
            Assert.Equal("\"mylib\"", c.CallS("FUNCTION", "LOAD", Lib));
            Assert.Equal("+OK", c.CallS("SET", "k", "v"));
            Assert.Equal("+OK", c.CallS("SAVE"));
        }
        // A second server started on the first one's directory loads its dump.rdb.
        using var again = new ServerFixture(cfg => cfg.Dir = fx.Dir);
        using var c2 = again.Connect();
        Assert.Equal("\"hello you\"", c2.CallS("FCALL", "hello", "0", "you"));
        Assert.Equal("\"v\"", c2.CallS("GET", "k"));
    }

    [Fact]
    public void DebugReloadKeepsLibrariesAndNoflushRefusesDuplicates()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("FUNCTION", "LOAD", Lib);
        Assert.Equal("+OK", c.CallS("DEBUG", "RELOAD"));
        Assert.Equal("\"hello world\"", c.CallS("FCALL", "hello", "0"));
        var r = c.Call("DEBUG", "RELOAD", "NOFLUSH");
        Assert.True(r.IsError);
        Assert.Contains("Error trying to load the RDB", r.Text);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("no")]
    public void LibrariesSurviveAnAofRewriteAndReload(string preamble)
    {
        using var fx = new ServerFixture(cfg =>
        {
            cfg.Set("appendonly", "yes", startup: true);
            cfg.Set("aof-use-rdb-preamble", preamble, startup: true);
        });
        using var c = fx.Connect();
        c.Call("FUNCTION", "LOAD", Lib);
        Assert.StartsWith("+Background append only file rewriting", c.CallS("BGREWRITEAOF"));
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (c.Call("INFO", "persistence").Text!.Contains("aof_rewrite_in_progress:1") && sw.ElapsedMilliseconds < 10000) Thread.Sleep(20);
        // The library was loaded before the rewrite: after it only the new base holds it.
        Assert.Equal("+OK", c.CallS("DEBUG", "LOADAOF"));
        Assert.Equal("\"hello world\"", c.CallS("FCALL", "hello", "0"));
    }

    [Fact]
    public void DumpAndRestoreFollowThePolicies()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        c.Call("FUNCTION", "LOAD", Lib);
        var payload = System.Text.Encoding.Latin1.GetBytes(c.Call("FUNCTION", "DUMP").Text!);
        RespReply restore(string policy)
        {
            var args = new List<byte[]> { "FUNCTION"u8.ToArray(), "RESTORE"u8.ToArray(), payload };
            if (policy.Length > 0) args.Add(System.Text.Encoding.Latin1.GetBytes(policy));
            return c.Call([.. args]);
        }
        Assert.Equal("-ERR Library mylib already exists", restore("").ToString());
        Assert.Equal("+OK", restore("REPLACE").ToString());
        c.Call("FUNCTION", "LOAD", "#!lua name=other\nredis.register_function('other', function() return 1 end)");
        Assert.Equal("+OK", restore("FLUSH").ToString());
        Assert.Equal("-ERR Function not found", c.CallS("FCALL", "other", "0"));
        Assert.Equal("\"hello world\"", c.CallS("FCALL", "hello", "0"));
        Assert.Equal("-ERR DUMP payload version or checksum are wrong", c.CallS("FUNCTION", "RESTORE", "garbage"));
    }
}
