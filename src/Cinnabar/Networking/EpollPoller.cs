// epoll(7) through P/Invoke: the Linux backend of the event loop. Level-triggered like
// Redis's ae_epoll.c; an eventfd registered under a reserved token wakes the loop when
// another thread posts work.
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Cinnabar.Networking;

public sealed unsafe partial class EpollPoller : IPoller
{
    const int EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
    const uint EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010;
    const int EFD_NONBLOCK = 0x800, EFD_CLOEXEC = 0x80000;
    public const int WakeToken = -1;

    [StructLayout(LayoutKind.Sequential, Pack = 1)]
    struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_ctl(int epfd, int op, int fd, EpollEvent* ev);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_wait(int epfd, EpollEvent* events, int maxevents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int eventfd(uint initval, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, void* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, void* buf, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    readonly int _epfd;
    readonly int _wakeFd;
    EpollEvent[] _events = new EpollEvent[1024];

    public string Name => "epoll";

    public static bool IsSupported => OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture is Architecture.X64;

    public EpollPoller()
    {
        _epfd = epoll_create1(0x80000);
        if (_epfd < 0) throw new InvalidOperationException("epoll_create1 failed: " + Marshal.GetLastPInvokeError());
        _wakeFd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        var ev = new EpollEvent { Events = EPOLLIN, Data = unchecked((ulong)WakeToken) };
        epoll_ctl(_epfd, EPOLL_CTL_ADD, _wakeFd, &ev);
    }

    static uint ToEpoll(EventMask m) => (m.HasFlag(EventMask.Readable) ? EPOLLIN : 0) | (m.HasFlag(EventMask.Writable) ? EPOLLOUT : 0);

    void Ctl(int op, Socket s, int token, EventMask mask)
    {
        var ev = new EpollEvent { Events = ToEpoll(mask), Data = (uint)token };
        if (epoll_ctl(_epfd, op, (int)s.Handle, &ev) < 0 && op != EPOLL_CTL_DEL)
            throw new InvalidOperationException($"epoll_ctl({op}) failed: {Marshal.GetLastPInvokeError()}");
    }

    public void Add(Socket socket, int token, EventMask mask) => Ctl(EPOLL_CTL_ADD, socket, token, mask);
    public void Modify(Socket socket, int token, EventMask mask) => Ctl(EPOLL_CTL_MOD, socket, token, mask);
    public void Remove(Socket socket, int token) => Ctl(EPOLL_CTL_DEL, socket, token, EventMask.None);

    public int Wait(ReadyEvent[] events, int timeoutMs)
    {
        if (_events.Length < events.Length) _events = new EpollEvent[events.Length];
        int n;
        fixed (EpollEvent* p = _events)
        {
            n = epoll_wait(_epfd, p, events.Length, timeoutMs);
        }
        if (n < 0) return 0; // EINTR
        int count = 0;
        for (int i = 0; i < n; i++)
        {
            var e = _events[i];
            int token = unchecked((int)(uint)e.Data);
            if (token == WakeToken)
            {
                ulong v;
                read(_wakeFd, &v, 8);
                continue;
            }
            var mask = EventMask.None;
            if ((e.Events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) mask |= EventMask.Readable;
            if ((e.Events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) != 0) mask |= EventMask.Writable;
            events[count++] = new ReadyEvent(token, mask);
        }
        return count;
    }

    public void Wakeup()
    {
        ulong one = 1;
        write(_wakeFd, &one, 8);
    }

    public void Dispose()
    {
        close(_wakeFd);
        close(_epfd);
    }
}
