// The reactor (Redis's ae.c): one thread waits on the poller, dispatches file events to their
// handlers, runs due time events (serverCron), and calls beforeSleep before every wait so
// replies produced in this iteration are flushed with one write per client.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;

namespace Cinnabar.Networking;

public interface IFileEventHandler
{
    void OnReadable();
    void OnWritable();
}

public sealed class EventLoop : IDisposable
{
    readonly IPoller _poller;
    IFileEventHandler?[] _handlers = new IFileEventHandler?[1024];
    readonly Stack<int> _freeTokens = new();
    int _nextToken;
    readonly ReadyEvent[] _ready = new ReadyEvent[1024];

    sealed class TimeEvent
    {
        public long Id;
        public long WhenMs;
        public required Func<long> Callback; // returns ms until the next run, or -1 to stop
    }

    readonly List<TimeEvent> _timeEvents = new();
    long _nextTimeEventId;
    readonly ConcurrentQueue<Action> _posted = new();
    volatile bool _stop;
    static readonly Stopwatch Clock = Stopwatch.StartNew();

    /// <summary>Called when a callback throws: the loop thread must survive (the server logs and frees the client involved).</summary>
    public Action<Exception, IFileEventHandler?>? UnhandledError;

    // Busy polling: after a wait that returned events, the next waits poll without sleeping for
    // this long before blocking. Going to sleep in epoll_wait and being woken by the next packet
    // costs a context switch and an inter-processor wake-up per batch, which dominates when each
    // batch is small (one request per client); a loop that just worked is likely to have more
    // work within microseconds. An idle server still sleeps after one window. Like Linux's
    // net.core.busy_poll, it trades CPU for latency: CINNABAR_BUSY_POLL_US=0 turns it off.
    const int DefaultBusyPollMicroseconds = 50;
    readonly long _busyPollTicks = BusyPollTicks(Environment.GetEnvironmentVariable("CINNABAR_BUSY_POLL_US"));
    long _busyPollUntil;

    static long BusyPollTicks(string? setting)
    {
        long us = long.TryParse(setting, out long v) && v >= 0 ? Math.Min(v, 10_000) : DefaultBusyPollMicroseconds;
        return us * Stopwatch.Frequency / 1_000_000;
    }

    public Action? BeforeSleep;
    public Action? AfterSleep;

    /// <summary>Set by beforeSleep when work is pending on the loop itself (a snapshot's walk): the poller is polled, not slept in.</summary>
    public bool KeepAwake;

    /// <summary>File events the last wait returned (0: the iteration was idle).</summary>
    public int LastEventCount { get; private set; }
    public Thread? Thread { get; private set; }

    public EventLoop(IPoller poller) => _poller = poller;

    public string PollerName => _poller.Name;

    public static long MonotonicMs => Clock.ElapsedMilliseconds;

    public static IPoller CreateDefaultPoller() => EpollPoller.IsSupported ? new EpollPoller() : new SelectPoller();

    public int Register(Socket socket, IFileEventHandler handler, EventMask mask)
    {
        int token = _freeTokens.Count > 0 ? _freeTokens.Pop() : _nextToken++;
        if (token >= _handlers.Length) Array.Resize(ref _handlers, _handlers.Length * 2);
        _handlers[token] = handler;
        _poller.Add(socket, token, mask);
        return token;
    }

    public void Modify(Socket socket, int token, EventMask mask) => _poller.Modify(socket, token, mask);

    public void Unregister(Socket socket, int token)
    {
        _poller.Remove(socket, token);
        _handlers[token] = null;
        _freeTokens.Push(token);
    }

    public long AddTimeEvent(long delayMs, Func<long> callback)
    {
        var te = new TimeEvent { Id = ++_nextTimeEventId, WhenMs = MonotonicMs + delayMs, Callback = callback };
        _timeEvents.Add(te);
        return te.Id;
    }

    public void DeleteTimeEvent(long id) => _timeEvents.RemoveAll(t => t.Id == id);

    /// <summary>Runs an action on the loop thread (thread-safe).</summary>
    public void Post(Action action)
    {
        _posted.Enqueue(action);
        _poller.Wakeup();
    }

    public void Stop()
    {
        _stop = true;
        _poller.Wakeup();
    }

    public bool IsLoopThread => Thread.CurrentThread == Thread;

    public void Run()
    {
        Thread = Thread.CurrentThread;
        while (!_stop) ProcessEvents();
    }

    /// <summary>
    /// One pass without waiting and without time events (aeProcessEvents with AE_DONT_WAIT |
    /// AE_FILE_EVENTS, for processEventsWhileBlocked): beforeSleep, a poll, the ready handlers.
    /// Returns the number of file events handled.
    /// </summary>
    public int ProcessFileEventsNow()
    {
        Guarded(BeforeSleep);
        int n = _poller.Wait(_ready, 0);
        AfterSleep?.Invoke();
        DispatchReady(n); // posted actions (a signal's shutdown) wait for the loop proper
        Guarded(BeforeSleep); // the replies of this pass go out now
        return n;
    }

    void ProcessEvents()
    {
        Guarded(BeforeSleep);
        if (_stop) return;
        int timeout = _posted.IsEmpty && !KeepAwake ? NearestTimerTimeout() : 0;
        int n = 0;
        if (timeout > 0 && _busyPollTicks > 0 && Stopwatch.GetTimestamp() < _busyPollUntil)
        {
            do n = _poller.Wait(_ready, 0);
            while (n == 0 && _posted.IsEmpty && Stopwatch.GetTimestamp() < _busyPollUntil);
        }
        if (n == 0) n = _poller.Wait(_ready, _posted.IsEmpty ? timeout : 0);
        if (n > 0 && _busyPollTicks > 0) _busyPollUntil = Stopwatch.GetTimestamp() + _busyPollTicks;
        LastEventCount = n;
        AfterSleep?.Invoke();
        while (_posted.TryDequeue(out var action)) Guarded(action);
        DispatchReady(n);
        ProcessTimeEvents();
    }

    // A listener that was readable in a batch is accepted from again after every this many
    // further events of the batch. In a connection storm the kernel's accept queue (tcp-backlog,
    // 511 by default) fills while one batch serves a thousand clients; a connection that finds
    // it full has its handshake dropped and retried by the kernel a second or more later. A
    // batch without a listener event costs nothing extra.
    const int AcceptAgainEvery = 128;

    void DispatchReady(int n)
    {
        Listener? listener = null;
        int acceptAgainAt = 0;
        for (int i = 0; i < n && !_stop; i++)
        {
            var ev = _ready[i];
            // A handler may free another client in this batch, so the handler is looked up again for
            // each event. (A token freed and reused by an accept in the same batch can route a stale
            // event to the new client; its read or write then just sees WouldBlock.)
            var handler = _handlers[ev.Token];
            if (handler is Listener l)
            {
                listener = l;
                acceptAgainAt = i + AcceptAgainEvery;
            }
            else if (listener != null && i >= acceptAgainAt)
            {
                acceptAgainAt = i + AcceptAgainEvery;
                try
                {
                    listener.OnReadable();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    Report(e, listener);
                }
            }
            try
            {
                if (ev.Mask.HasFlag(EventMask.Readable)) handler?.OnReadable();
                if (ev.Mask.HasFlag(EventMask.Writable)) _handlers[ev.Token]?.OnWritable();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Report(e, handler);
            }
        }
    }

    void Guarded(Action? action)
    {
        if (action == null) return;
        try
        {
            action();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Report(e, null);
        }
    }

    void Report(Exception e, IFileEventHandler? handler)
    {
        if (UnhandledError == null) throw new InvalidOperationException("unhandled error on the event loop", e);
        UnhandledError(e, handler);
    }

    int NearestTimerTimeout()
    {
        if (_timeEvents.Count == 0) return 1000;
        long now = MonotonicMs, nearest = long.MaxValue;
        foreach (var t in _timeEvents) nearest = Math.Min(nearest, t.WhenMs);
        return (int)Math.Clamp(nearest - now, 0, 1000);
    }

    void ProcessTimeEvents()
    {
        long now = MonotonicMs;
        for (int i = 0; i < _timeEvents.Count; i++)
        {
            var t = _timeEvents[i];
            if (t.WhenMs > now) continue;
            long next;
            try
            {
                next = t.Callback();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                Report(e, null);
                next = 1000; // keep the timer (serverCron must keep running); retry later
            }
            if (next >= 0)
            {
                t.WhenMs = MonotonicMs + next;
                continue;
            }
            // The callback may have added or removed events: remove this one by identity.
            int at = _timeEvents.IndexOf(t);
            if (at >= 0)
            {
                _timeEvents.RemoveAt(at);
                if (at <= i) i--;
            }
        }
    }

    public void Dispose() => _poller.Dispose();
}
