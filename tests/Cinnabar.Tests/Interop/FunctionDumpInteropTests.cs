// FUNCTION DUMP payloads move between redis-server 7.0.15 and Cinnabar both ways (the same
// RDB_OPCODE_FUNCTION2 records, RDB version and CRC-64), and a library restored on either side
// runs there; the payload of one library is byte-identical on both servers.
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Interop;

[Collection(RedisServerCollection.Name)]
public class FunctionDumpInteropTests(RedisServerFixture redis)
{
    const string Lib = "#!lua name=interop\nredis.register_function{function_name='greet', callback=function(keys, args) return 'hi ' .. args[1] end, flags={'no-writes'}, description='says hi'}";

    static byte[] Dump(RespClient c) => Encoding.Latin1.GetBytes(c.Call("FUNCTION", "DUMP").Text!);

    static RespReply Restore(RespClient c, byte[] payload) => c.Call("FUNCTION"u8.ToArray(), "RESTORE"u8.ToArray(), payload, "REPLACE"u8.ToArray());

    [RequiresToolsFact("redis-server")]
    public void PayloadsRestoreOnTheOtherServerAndRun()
    {
        using var cinnabar = new ServerFixture();
        using var ours = cinnabar.Connect();
        using var theirs = redis.Connect();
        theirs.Call("FUNCTION", "FLUSH");
        Assert.Equal("\"interop\"", ours.CallS("FUNCTION", "LOAD", Lib));
        Assert.Equal("\"interop\"", theirs.CallS("FUNCTION", "LOAD", Lib));
        var fromCinnabar = Dump(ours);
        Assert.Equal(Dump(theirs), fromCinnabar);

        theirs.Call("FUNCTION", "FLUSH");
        Assert.Equal("+OK", Restore(theirs, fromCinnabar).ToString());
        Assert.Equal("\"hi redis\"", theirs.CallS("FCALL_RO", "greet", "0", "redis"));

        theirs.Call("FUNCTION", "LOAD", "REPLACE", "#!lua name=other\nredis.register_function('twice', function(keys, args) return args[1] .. args[1] end)");
        ours.Call("FUNCTION", "FLUSH");
        Assert.Equal("+OK", Restore(ours, Dump(theirs)).ToString());
        Assert.Equal("\"hi cinnabar\"", ours.CallS("FCALL_RO", "greet", "0", "cinnabar"));
        Assert.Equal("\"abab\"", ours.CallS("FCALL", "twice", "0", "ab"));
        theirs.Call("FUNCTION", "FLUSH");
    }
}
