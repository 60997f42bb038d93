// The software watchdog (watchdog-period): serverCron re-arms it, so it logs Redis's "WATCHDOG
// TIMER EXPIRED" block only when the loop stays away from serverCron for the period, and never
// once the period is back to 0.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Server;

public class WatchdogTests
{
    [Fact]
    public void A_loop_busy_for_longer_than_watchdog_period_is_logged_and_an_idle_one_is_not()
    {
        using var fx = new ServerFixture(null);
        var log = new StringWriter();
        fx.Server.Log.Console = TextWriter.Synchronized(log);
        using var c = fx.Connect();
        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "watchdog-period", "200"));
        Thread.Sleep(500); // idle: serverCron re-arms the timer ten times a second
        Assert.DoesNotContain("WATCHDOG TIMER EXPIRED", log.ToString());
        Assert.Equal("+OK", c.CallS("DEBUG", "SLEEP", "0.6")); // the loop is stuck in one command
        Thread.Sleep(100);
        string text = log.ToString();
        Assert.Contains("--- WATCHDOG TIMER EXPIRED ---", text);
        Assert.Contains("--------", text);

        Assert.Equal("+OK", c.CallS("CONFIG", "SET", "watchdog-period", "0"));
        Thread.Sleep(200);
        int before = log.ToString().Length;
        Assert.Equal("+OK", c.CallS("DEBUG", "SLEEP", "0.5"));
        Assert.DoesNotContain("WATCHDOG", log.ToString()[before..]);
    }
}
