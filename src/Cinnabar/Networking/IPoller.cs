// The readiness-notification backend of the event loop (Redis's ae_epoll.c / ae_select.c).
// The loop registers sockets with a token and a read/write mask; Wait reports ready tokens.
using System.Net.Sockets;

namespace Cinnabar.Networking;

[Flags]
public enum EventMask
{
    None = 0,
    Readable = 1,
    Writable = 2,
}

public readonly record struct ReadyEvent(int Token, EventMask Mask);

public interface IPoller : IDisposable
{
    void Add(Socket socket, int token, EventMask mask);
    void Modify(Socket socket, int token, EventMask mask);
    void Remove(Socket socket, int token);

    /// <summary>Blocks up to timeoutMs (-1 = forever) and fills events; returns how many.</summary>
    int Wait(ReadyEvent[] events, int timeoutMs);

    /// <summary>Thread-safe: makes a blocked Wait return early (work was posted to the loop).</summary>
    void Wakeup();

    string Name { get; }
}
