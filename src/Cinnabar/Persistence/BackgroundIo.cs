// Redis's bio.c for the AOF: one background thread that runs file jobs the event loop must not
// wait for — fdatasync of the AOF (appendfsync everysec), fsync-and-close of an AOF the loop
// moved away from, and unlink of history files. Jobs run in submission order, so a close never
// overtakes a pending fsync of the same file. The loop reads the pending count
// (aof_pending_bio_fsync, aofFsyncInProgress) and the last fsync status (aof_bio_fsync_status)
// without locks.
using System.Collections.Concurrent;
using Microsoft.Win32.SafeHandles;

namespace Cinnabar.Persistence;

public sealed class BackgroundIo : IDisposable
{
    readonly BlockingCollection<(int Kind, SafeFileHandle? Handle, FileStream? File, string? Path)> _jobs = new();
    readonly Thread _thread;
    int _pendingFsync;
    volatile string? _fsyncError;

    const int Fsync = 0, FsyncAndClose = 1, Unlink = 2;

    public BackgroundIo()
    {
        _thread = new Thread(Run) { Name = "cinnabar-bio-aof", IsBackground = true };
        _thread.Start();
    }

    /// <summary>bioPendingJobsOfType(BIO_AOF_FSYNC): fsyncs submitted and not finished.</summary>
    public int PendingFsyncs => Volatile.Read(ref _pendingFsync);

    /// <summary>aof_bio_fsync_status / errno: the error of the last failed background fsync, null when it succeeded.</summary>
    public string? FsyncError
    {
        get => _fsyncError;
        set => _fsyncError = value;
    }

    /// <summary>bioCreateFsyncJob: fdatasync the file off the loop.</summary>
    public void SubmitFsync(SafeFileHandle handle)
    {
        Interlocked.Increment(ref _pendingFsync);
        _jobs.Add((Fsync, handle, null, null));
    }

    /// <summary>bioCreateCloseJob(fd, need_fsync): fsync then close (the file is no longer the loop's).</summary>
    public void SubmitFsyncAndClose(FileStream file) => _jobs.Add((FsyncAndClose, file.SafeFileHandle, file, null));

    /// <summary>bg_unlink: delete a file off the loop.</summary>
    public void SubmitUnlink(string path) => _jobs.Add((Unlink, null, null, path));

    void Run()
    {
        foreach (var (kind, handle, file, path) in _jobs.GetConsumingEnumerable())
        {
            try
            {
                switch (kind)
                {
                    case Fsync:
                        if (!handle!.IsClosed) FileSync.DataSync(handle);
                        _fsyncError = null;
                        break;
                    case FsyncAndClose:
                        if (!handle!.IsClosed) FileSync.DataSync(handle);
                        file!.Dispose();
                        break;
                    case Unlink:
                        File.Delete(path!);
                        break;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
            {
                if (kind == Fsync) _fsyncError = e.Message;
                if (kind == FsyncAndClose) file!.Dispose();
            }
            finally
            {
                if (kind == Fsync) Interlocked.Decrement(ref _pendingFsync);
            }
        }
    }

    /// <summary>Runs the jobs already submitted, then stops the thread.</summary>
    public void Dispose()
    {
        _jobs.CompleteAdding();
        _thread.Join(TimeSpan.FromSeconds(10));
    }
}
