// The software watchdog (debug.c's watchdogScheduleSignal and watchdogSignalHandler): with
// watchdog-period set, serverCron re-arms a one-shot timer every time it runs, so the timer
// fires only when the loop has not reached serverCron for that long (a slow command, or a load,
// which runs outside the loop proper as Redis's does). Redis's SIGALRM handler logs the main
// thread's stack; .NET cannot walk another running thread's stack, so Cinnabar logs Redis's own
// words for a build without backtrace support between the same two lines.
namespace Cinnabar.Server;

public sealed class Watchdog : IDisposable
{
    readonly Logger _log;
    readonly Timer _timer;
    bool _armed;

    public Watchdog(Logger log)
    {
        _log = log;
        _timer = new Timer(_ => Expired(), null, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>
    /// serverCron's watchdogScheduleSignal: the timer goes off periodMs from now (at least two
    /// cron periods, as enableWatchdog rounds it up), or is stopped when periodMs is 0.
    /// </summary>
    public void Schedule(long periodMs, int hz)
    {
        if (periodMs <= 0)
        {
            if (_armed) _timer.Change(Timeout.Infinite, Timeout.Infinite);
            _armed = false;
            return;
        }
        long minPeriod = 1000 / Math.Max(1, hz) * 2;
        _timer.Change(Math.Max(periodMs, minPeriod), Timeout.Infinite);
        _armed = true;
    }

    /// <summary>watchdogSignalHandler, on a timer thread: the loop has been away from serverCron for the whole period.</summary>
    void Expired()
    {
        _log.Warning("\n--- WATCHDOG TIMER EXPIRED ---");
        _log.Warning("Sorry: no support for backtrace().");
        _log.Warning("--------\n");
    }

    public void Dispose() => _timer.Dispose();
}
