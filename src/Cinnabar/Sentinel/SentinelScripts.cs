// The notification-script and client-reconfig-script runner (sentinel.c's script queue): jobs
// wait in a queue of at most 256, at most 16 run at once, a script killed by a signal or exiting
// with 1 is retried up to 10 times with a doubling delay, one running longer than
// script-max-runtime is killed, and failures are reported as -script-error events.
using System.Diagnostics;
using System.Globalization;

namespace Cinnabar.Sentinel;

public sealed class SentinelScripts
{
    const int MaxQueue = 256, MaxRunning = 16, MaxRetry = 10;

    public sealed class Job
    {
        public required string[] Argv;
        public bool Running;
        public int RetryNum;
        /// <summary>While running, when it started; otherwise "not before" (0: any time).</summary>
        public long StartTime;
        public Process? Process;
        public int Pid => Process?.Id ?? 0;
    }

    readonly Sentinel _sentinel;
    readonly List<Job> _queue = [];

    public SentinelScripts(Sentinel sentinel) => _sentinel = sentinel;

    public IReadOnlyList<Job> Queue => _queue;
    public int Running { get; private set; }

    /// <summary>sentinelScheduleScriptExecution: queued; over the limit the oldest job not running is dropped.</summary>
    public void Schedule(string path, params string[] args)
    {
        _queue.Add(new Job { Argv = [path, .. args] });
        if (_queue.Count <= MaxQueue) return;
        int oldest = _queue.FindIndex(j => !j.Running);
        if (oldest >= 0) _queue.RemoveAt(oldest);
    }

    /// <summary>sentinelRunPendingScripts: the oldest jobs due first, up to the running limit.</summary>
    public void RunPending()
    {
        long now = Sentinel.Now;
        foreach (var job in _queue)
        {
            if (Running >= MaxRunning) break;
            if (job.Running) continue;
            if (job.StartTime != 0 && job.StartTime > now) continue;
            job.Running = true;
            job.StartTime = Sentinel.Now;
            job.RetryNum++;
            try
            {
                var psi = new ProcessStartInfo(job.Argv[0]) { UseShellExecute = false };
                foreach (var a in job.Argv.Skip(1)) psi.ArgumentList.Add(a);
                job.Process = Process.Start(psi);
                Running++;
                _sentinel.Event(Sentinel.LogDebug, "+script-child", null, job.Pid.ToString(CultureInfo.InvariantCulture));
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                // execve failed: Redis's child exits with 2 (not retried).
                job.Running = false;
                job.Process = null;
                _sentinel.Event(Sentinel.LogWarning, "-script-error", null, $"{job.Argv[0]} 0 2");
                job.StartTime = long.MaxValue; // removed by CollectTerminated's sweep below
            }
        }
        _queue.RemoveAll(j => !j.Running && j.StartTime == long.MaxValue);
    }

    /// <summary>sentinelCollectTerminatedScripts: exit 0 done; a signal or exit 1 retried; anything else reported.</summary>
    public void CollectTerminated()
    {
        foreach (var job in _queue.ToList())
        {
            if (!job.Running || job.Process is not { HasExited: true } p) continue;
            int code = p.ExitCode;
            // .NET reports death by signal N as 128 + N.
            int bySignal = code > 128 ? code - 128 : 0;
            int exitCode = bySignal != 0 ? 0 : code;
            _sentinel.Event(Sentinel.LogDebug, "-script-child", null, $"{job.Pid} {exitCode} {bySignal}");
            Running--;
            p.Dispose();
            job.Process = null;
            if ((bySignal != 0 || exitCode == 1) && job.RetryNum != MaxRetry)
            {
                job.Running = false;
                job.StartTime = Sentinel.Now + RetryDelay(job.RetryNum);
            }
            else
            {
                if (bySignal != 0 || exitCode != 0)
                    _sentinel.Event(Sentinel.LogWarning, "-script-error", null, $"{job.Argv[0]} {bySignal} {exitCode}");
                _queue.Remove(job);
            }
        }
    }

    /// <summary>sentinelScriptRetryDelay: script-retry-delay, doubled for every further retry.</summary>
    long RetryDelay(int retryNum)
    {
        long delay = _sentinel.Timings.ScriptRetryDelay;
        while (retryNum-- > 1) delay *= 2;
        return delay;
    }

    /// <summary>sentinelKillTimedoutScripts.</summary>
    public void KillTimedOut()
    {
        long now = Sentinel.Now;
        foreach (var job in _queue)
        {
            if (!job.Running || job.Process == null || now - job.StartTime <= _sentinel.Timings.ScriptMaxRuntime) continue;
            _sentinel.Event(Sentinel.LogWarning, "-script-timeout", null, $"{job.Argv[0]} {job.Pid}");
            try { job.Process.Kill(); }
            catch (InvalidOperationException) { }
        }
    }
}
