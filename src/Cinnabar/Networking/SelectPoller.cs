// The portable poller: Socket.Select over the registered sockets (Redis's ae_select.c).
// O(n) per wait, so it is the fallback for platforms without epoll, not the Linux path.
using System.Net.Sockets;

namespace Cinnabar.Networking;

public sealed class SelectPoller : IPoller
{
    readonly Dictionary<Socket, (int Token, EventMask Mask)> _sockets = new();
    volatile bool _woken;

    public string Name => "select";

    public void Add(Socket socket, int token, EventMask mask) => _sockets[socket] = (token, mask);
    public void Modify(Socket socket, int token, EventMask mask) => _sockets[socket] = (token, mask);
    public void Remove(Socket socket, int token) => _sockets.Remove(socket);

    public int Wait(ReadyEvent[] events, int timeoutMs)
    {
        var read = new List<Socket>();
        var write = new List<Socket>();
        foreach (var (s, (_, m)) in _sockets)
        {
            if (m.HasFlag(EventMask.Readable)) read.Add(s);
            if (m.HasFlag(EventMask.Writable)) write.Add(s);
        }
        // Select cannot be woken from another thread; cap the wait so posted work runs soon.
        int wait = timeoutMs < 0 || timeoutMs > 10 ? 10 : timeoutMs;
        if (_woken) wait = 0;
        _woken = false;
        if (read.Count == 0 && write.Count == 0)
        {
            Thread.Sleep(wait);
            return 0;
        }
        try
        {
            Socket.Select(read.Count > 0 ? read : null, write.Count > 0 ? write : null, null, wait * 1000);
        }
        catch (SocketException)
        {
            return 0;
        }
        var merged = new Dictionary<int, EventMask>();
        foreach (var s in read) merged[_sockets[s].Token] = EventMask.Readable;
        foreach (var s in write)
        {
            int t = _sockets[s].Token;
            merged[t] = merged.GetValueOrDefault(t) | EventMask.Writable;
        }
        int n = 0;
        foreach (var (t, m) in merged)
        {
            if (n == events.Length) break;
            events[n++] = new ReadyEvent(t, m);
        }
        return n;
    }

    public void Wakeup() => _woken = true;

    public void Dispose() { }
}
