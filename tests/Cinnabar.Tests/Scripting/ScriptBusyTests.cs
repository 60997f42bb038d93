// A script past busy-reply-threshold: the loop goes on serving other clients, which get -BUSY
// for everything but the allow-busy commands; SCRIPT KILL / FUNCTION KILL stop a script that
// has not written (its caller gets the "killed by user" error), refuse one that has, and the
// caller's pipelined commands run after its script, never during it.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Scripting;

public class ScriptBusyTests
{
    static ServerFixture BusyServer() => new(c => c.Set("busy-reply-threshold", "50", startup: true));

    static void WaitBusy(RespClient probe)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 10000)
        {
            var r = probe.Call("PING");
            if (r.IsError && r.Text!.StartsWith("BUSY", StringComparison.Ordinal)) return;
            Thread.Sleep(10);
        }
        Assert.Fail("the script never became busy");
    }

    [Fact]
    public void BusyScriptIsKilledAndTheServerServesAgain()
    {
        using var fx = BusyServer();
        using var runner = fx.Connect();
        using var probe = fx.Connect();
        // The runner pipelines a PING after its script: it must be answered after the script, in order.
        runner.SendRaw(RespClient.Encode("EVAL", "while true do end", "0").Concat(RespClient.Encode("PING")).ToArray());
        WaitBusy(probe);
        Assert.Equal("-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", probe.CallS("GET", "x"));
        Assert.Equal("-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", probe.CallS("FUNCTION", "KILL"));
        Assert.Equal("+OK", probe.CallS("SCRIPT", "KILL"));
        var killed = runner.Read();
        Assert.True(killed.IsError);
        Assert.Contains("killed by user", killed.Text);
        Assert.Equal("+PONG", runner.Read().ToString()); // the pipelined PING, after the script
        Assert.Equal("+PONG", probe.CallS("PING"));
        Assert.Equal("-NOTBUSY No scripts in execution right now.", probe.CallS("SCRIPT", "KILL"));
    }

    [Fact]
    public void ScriptThatWroteCannotBeKilled()
    {
        using var fx = BusyServer();
        using var runner = fx.Connect();
        using var probe = fx.Connect();
        runner.Send("EVAL", "redis.call('set','w','1') local t = redis.call('time')[1] while tonumber(redis.call('time')[1]) < t + 2 do end return 'done'", "0");
        WaitBusy(probe);
        var r = probe.Call("SCRIPT", "KILL");
        Assert.StartsWith("UNKILLABLE Sorry the script already executed write commands", r.Text);
        runner.ReadTimeout = TimeSpan.FromSeconds(10);
        Assert.Equal("\"done\"", runner.Read().ToString());
        Assert.Equal("\"1\"", probe.CallS("GET", "w"));
    }

    [Fact]
    public void BusyFunctionIsKilledWithFunctionKill()
    {
        using var fx = BusyServer();
        using var runner = fx.Connect();
        using var probe = fx.Connect();
        Assert.Equal("\"spin\"", runner.CallS("FUNCTION", "LOAD", "#!lua name=spin\nredis.register_function('spin', function() while true do end end)"));
        runner.Send("FCALL", "spin", "0");
        WaitBusy(probe);
        Assert.Equal("-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.", probe.CallS("SCRIPT", "KILL"));
        var stats = probe.Call("FUNCTION", "STATS");
        Assert.Equal("spin", stats.Items![1].Items![1].Text);
        Assert.Equal("+OK", probe.CallS("FUNCTION", "KILL"));
        Assert.Contains("killed by user", runner.Read().Text);
        Assert.Equal("+PONG", probe.CallS("PING"));
    }

    [Fact]
    public void OnlyShutdownNosaveStopsABusyScript()
    {
        using var fx = BusyServer();
        using var runner = fx.Connect();
        using var probe = fx.Connect();
        runner.Send("EVAL", "redis.call('set','w','1') while true do end", "0");
        WaitBusy(probe);
        Assert.Equal("-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", probe.CallS("SHUTDOWN"));
        probe.Send("SHUTDOWN", "NOSAVE");
        Assert.True(probe.IsClosedByServer(5000), "SHUTDOWN NOSAVE ended the server");
        // The listener closed with the shutdown: a new connection is refused, not accepted and dropped.
        var e = Assert.Throws<System.Net.Sockets.SocketException>(() => new RespClient(fx.Port));
        Assert.Equal(System.Net.Sockets.SocketError.ConnectionRefused, e.SocketErrorCode);
    }

    [Fact]
    public void KeysABusyScriptMadeReadyAreServedAfterIt()
    {
        using var fx = new ServerFixture(c =>
        {
            c.Set("busy-reply-threshold", "50", startup: true);
            c.Set("enable-debug-command", "yes", startup: true);
        });
        using var waiter = fx.Connect();
        using var runner = fx.Connect();
        using var probe = fx.Connect();
        waiter.Send("BLPOP", "bq", "0");
        Assert.Equal("+OK", probe.CallS("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1"));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!probe.Call("INFO", "clients").Text!.Contains("blocked_clients:1") && DateTime.UtcNow < deadline) Thread.Sleep(10);
        runner.Send("EVAL", """
            redis.call('lpush', KEYS[1], 'y')
            while not string.find(redis.call('client', 'list'), 'abortscript') do end
            redis.call('lpush', KEYS[1], 'z')
            return 1
            """, "1", "bq");
        WaitBusy(probe); // the script runs CLIENT LIST thanks to SET-DISABLE-DENY-SCRIPTS, as in the Tcl suite
        // A command allowed while busy must not serve the BLPOP in the middle of the script.
        Assert.False(probe.Call("HELLO", "2", "SETNAME", "abortscript").IsError);
        Assert.Equal(1, runner.Read().Integer);
        var popped = waiter.Read();
        Assert.Equal(["bq", "z"], popped.Items!.Select(i => i.Text));
    }

    [Fact]
    public void LibraryLoadThatNeverEndsTimesOut()
    {
        using var fx = new ServerFixture();
        using var c = fx.Connect();
        var r = c.Call("FUNCTION", "LOAD", "#!lua name=forever\nlocal a = 1 while true do a = a + 1 end");
        Assert.Equal("-ERR Error registering functions: ERR FUNCTION LOAD timeout", r.ToString());
        Assert.Equal("*[]", c.CallS("FUNCTION", "LIST"));
    }
}
