// The durability primitives the persistence code needs below FileStream: fdatasync on a file
// descriptor (redis_fsync is fdatasync on Linux; safe to call from another thread than the
// writer's, as the background fsync does) and fsync of a directory after a rename
// (fsyncFileDir), which .NET cannot open as a stream.
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cinnabar.Persistence;

static partial class FileSync
{
    [LibraryImport("libc", SetLastError = true)]
    private static partial int fdatasync(int fd);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fsync(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    /// <summary>redis_fsync: the file's data reaches the disk. Throws IOException with strerror's text on failure.</summary>
    public static void DataSync(SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            RandomAccess.FlushToDisk(handle);
            return;
        }
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            if (fdatasync((int)handle.DangerousGetHandle()) == -1) throw LastError();
        }
        finally
        {
            if (added) handle.DangerousRelease();
        }
    }

    /// <summary>fsyncFileDir: the directory holding path, so a rename or a new file in it survives a crash.</summary>
    public static void SyncDirectoryOf(string path)
    {
        if (!OperatingSystem.IsLinux()) return;
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        int fd = open(dir, 0); // O_RDONLY
        if (fd == -1) throw LastError();
        try
        {
            if (fsync(fd) == -1) throw LastError();
        }
        finally
        {
            close(fd);
        }
    }

    static IOException LastError() => new(Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
}
