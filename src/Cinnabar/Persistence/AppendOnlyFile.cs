// The append-only file (Redis 7.0's aof.c, multi-part): every propagated command is appended
// to aof_buf in RESP form (feedAppendOnlyFile: SELECT when the db changes, #TS annotations with
// aof-timestamp-enabled), and beforeSleep writes the buffer to the current INCR file before any
// reply goes out (flushAppendOnlyFile). appendfsync always fsyncs in that same call — one write
// and one fdatasync per loop iteration for all its clients (group commit); everysec hands the
// fsync to the background thread at most once a second; no leaves it to the kernel. A rewrite
// opens a new INCR file first (new writes go there), then produces a new BASE from the dataset
// of that moment, and when it finishes the manifest names the new base and the new incr; the
// old files become history and are deleted. The base is the forkless snapshot
// (Persistence/Snapshot, taken while clients write), in RDB or as commands as
// aof-use-rdb-preamble says, and its completion runs the rewrite's done handler.
using System.Diagnostics;
using System.Buffers.Text;
using Cinnabar.Server;

namespace Cinnabar.Persistence;

/// <summary>server.aof_state: AOF_OFF, AOF_ON, AOF_WAIT_REWRITE (enabled at run time, waiting for its first base).</summary>
public enum AofState
{
    Off,
    On,
    WaitRewrite,
}

public sealed class AppendOnlyFile : IDisposable
{
    const int RewriteLimitThreshold = 3, RewriteLimitMaxMinutes = 60; // AOF_REWRITE_LIMITE_*
    const int WriteLogErrorRate = 30; // AOF_WRITE_LOG_ERROR_RATE seconds

    readonly CinnabarServer _server;
    readonly BackgroundIo _bio = new();

    public AofState State { get; private set; }
    public AofManifest Manifest { get; private set; } = new();

    FileStream? _file; // server.aof_fd, written with pwrite at _fileOffset (RandomAccess: no allocation per write)
    Microsoft.Win32.SafeHandles.SafeFileHandle? _handle; // _file's, read once (the property is not free)
    long _fileOffset;
    byte[] _buf = new byte[4096]; // server.aof_buf
    int _bufLen;
    int _selectedDb = -1;
    long _curTimestamp;

    /// <summary>aof_current_size, aof_last_incr_size, aof_rewrite_base_size, aof_fsync_offset.</summary>
    public long CurrentSize, LastIncrSize, RewriteBaseSize, FsyncOffset;
    long _lastFsync, _flushPostponedStart, _lastWriteErrorLog;

    /// <summary>aof_delayed_fsync: writes that could not wait any longer for a slow background fsync.</summary>
    public long DelayedFsync;

    /// <summary>aof_last_write_status and the error text behind it (strerror(aof_last_write_errno)).</summary>
    public bool LastWriteOk = true;
    string _lastWriteError = "";

    // The rewrite "child": its base's snapshot, whose completion calls BackgroundRewriteDone.
    public bool RewriteInProgress { get; private set; }
    public bool RewriteScheduled;
    bool _childPreamble;
    long _rewriteTimeStart = -1;
    public long RewriteTimeLast { get; private set; } = -1;
    public bool LastBgrewriteOk = true;
    public long Rewrites, ConsecutiveFailures;
    int _nextDelayMinutes;
    long _nextRewriteTime;

    public AppendOnlyFile(CinnabarServer server)
    {
        _server = server;
        State = server.Config.AppendOnly ? AofState.On : AofState.Off;
    }

    ServerConfig Config => _server.Config;
    string FileName => Config.GetString("appendfilename");
    public string DirPath => Path.Combine(Config.Dir, Config.GetString("appenddirname"));
    string PathOf(string name) => Path.Combine(DirPath, name);
    long UnixTime => _server.Clock.NowMs / 1000;
    static int Pid => Environment.ProcessId;

    /// <summary>Whether propagated commands are fed here (server.aof_state != AOF_OFF).</summary>
    public bool Active => State != AofState.Off;

    /// <summary>aof_buffer_length / mem_aof_buffer.</summary>
    public int BufferLength => _bufLen;

    /// <summary>
    /// appendfsync always with commands not yet written and fsynced: replies must wait for the
    /// flush in beforeSleep (Redis installs write handlers with AE_BARRIER for this).
    /// </summary>
    public bool HoldsUnsyncedWrites => _bufLen > 0 && _file != null && Config.AppendFsync == AofFsync.Always;

    /// <summary>DEBUG AOF-FLUSH-SLEEP: microseconds to sleep before each write of a non-empty buffer (Redis's test knob).</summary>
    public long FlushSleepUs;
    public long BufferMemory => _buf.Length;
    public int PendingBioFsync => _bio.PendingFsyncs;
    public long CurrentRewriteTimeSec => _rewriteTimeStart == -1 ? -1 : DateTimeOffset.UtcNow.ToUnixTimeSeconds() - _rewriteTimeStart;

    /// <summary>hasActiveChildProcess: this rewrite, or any snapshot (BGSAVE, a full sync).</summary>
    public bool HasActiveChildProcess() => _server.HasActiveChildProcess;

    // ------------------------------------------------------------ feeding

    /// <summary>
    /// feedAppendOnlyFile: the command (already RESP) in db, after a #TS annotation when the
    /// second changed and a SELECT when the db differs from the last one written. Appends to
    /// the buffer only (no allocation once it has grown to the working size).
    /// </summary>
    public void Feed(int db, ReadOnlySpan<byte> command)
    {
        bool buffering = State == AofState.On || (State == AofState.WaitRewrite && RewriteInProgress);
        if (Config.AofTimestampEnabled)
        {
            long now = UnixTime;
            if (_curTimestamp < now)
            {
                _curTimestamp = now;
                if (buffering) AppendTimestamp(now);
            }
        }
        if (db != _selectedDb)
        {
            if (buffering) AppendSelect(db);
            _selectedDb = db;
        }
        if (buffering) Append(command);
    }

    void AppendTimestamp(long ts)
    {
        Span<byte> line = stackalloc byte[32];
        "#TS:"u8.CopyTo(line);
        Utf8Formatter.TryFormat(ts, line[4..], out int n);
        "\r\n"u8.CopyTo(line[(4 + n)..]);
        Append(line[..(6 + n)]);
    }

    void AppendSelect(int db)
    {
        Span<byte> digits = stackalloc byte[11];
        Utf8Formatter.TryFormat(db, digits, out int n);
        Span<byte> cmd = stackalloc byte[48];
        "*2\r\n$6\r\nSELECT\r\n$"u8.CopyTo(cmd);
        int pos = 17;
        Utf8Formatter.TryFormat(n, cmd[pos..], out int w);
        pos += w;
        "\r\n"u8.CopyTo(cmd[pos..]);
        pos += 2;
        digits[..n].CopyTo(cmd[pos..]);
        pos += n;
        "\r\n"u8.CopyTo(cmd[pos..]);
        Append(cmd[..(pos + 2)]);
    }

    void Append(ReadOnlySpan<byte> bytes)
    {
        if (_bufLen + bytes.Length > _buf.Length) Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _bufLen + bytes.Length));
        bytes.CopyTo(_buf.AsSpan(_bufLen));
        _bufLen += bytes.Length;
    }

    // ------------------------------------------------------------ writing

    /// <summary>
    /// flushAppendOnlyFile: writes the buffer to the current incr file and fsyncs as appendfsync
    /// says. With everysec and a background fsync still running, the write waits up to two
    /// seconds (unless forced). A write error with appendfsync always exits, as Redis does: the
    /// replies are already in the output buffers and the change can't be rolled back.
    /// </summary>
    public void Flush(bool force)
    {
        if (_file == null) return;
        bool syncInProgress = false;
        var fsync = Config.AppendFsync;
        if (_bufLen == 0)
        {
            // everysec: a buffer written within the last second still gets its fsync.
            if (fsync == AofFsync.Everysec && FsyncOffset != CurrentSize && UnixTime > _lastFsync && !(syncInProgress = _bio.PendingFsyncs != 0))
            {
                TryFsync(fsync, syncInProgress);
            }
            return;
        }
        if (FlushSleepUs > 0) Thread.Sleep(TimeSpan.FromMicroseconds(FlushSleepUs));
        if (fsync == AofFsync.Everysec) syncInProgress = _bio.PendingFsyncs != 0;
        if (fsync == AofFsync.Everysec && !force && syncInProgress)
        {
            if (_flushPostponedStart == 0)
            {
                _flushPostponedStart = UnixTime;
                return;
            }
            if (UnixTime - _flushPostponedStart < 2) return;
            DelayedFsync++;
            _server.Log.Notice("Asynchronous AOF fsync is taking too long (disk is busy?). Writing the AOF buffer without waiting for fsync to complete, this may slow down Redis.");
        }
        _flushPostponedStart = 0;
        long latency = _server.Latency.StartMonitor();
        try
        {
            RandomAccess.Write(_handle!, _buf.AsSpan(0, _bufLen), _fileOffset);
            _fileOffset += _bufLen;
        }
        catch (IOException e)
        {
            if (UnixTime - _lastWriteErrorLog > WriteLogErrorRate)
            {
                _server.Log.Warning("Error writing to the AOF file: " + e.Message);
                _lastWriteErrorLog = UnixTime;
            }
            _lastWriteError = e.Message;
            if (fsync == AofFsync.Always)
            {
                _server.Log.Warning("Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                _server.Exit(1);
                return;
            }
            // The data stays in the buffer; writes are refused (MISCONF) until a write succeeds.
            LastWriteOk = false;
            return;
        }
        // A slow write is logged under what else was going on, and under aof-write for all of them.
        _server.Latency.EndMonitor(syncInProgress ? LatencyMonitor.AofWritePendingFsync
            : HasActiveChildProcess() ? LatencyMonitor.AofWriteActiveChild : LatencyMonitor.AofWriteAlone, latency);
        _server.Latency.EndMonitor(LatencyMonitor.AofWrite, latency);
        if (!LastWriteOk)
        {
            _server.Log.Warning("AOF write error looks solved, Redis can write again.");
            LastWriteOk = true;
        }
        CurrentSize += _bufLen;
        LastIncrSize += _bufLen;
        _bufLen = 0;
        if (_buf.Length > 1 << 20) _buf = new byte[4096]; // a burst's buffer is not kept forever
        TryFsync(fsync, syncInProgress);
    }

    void TryFsync(AofFsync fsync, bool syncInProgress)
    {
        // no-appendfsync-on-rewrite: no fsync while a rewrite does its I/O.
        if (Config.NoAppendfsyncOnRewrite && HasActiveChildProcess()) return;
        if (fsync == AofFsync.Always)
        {
            long latency = _server.Latency.StartMonitor();
            try
            {
                FileSync.DataSync(_handle!);
            }
            catch (IOException e)
            {
                _server.Log.Warning($"Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e.Message}. Exiting...");
                _server.Exit(1);
                return;
            }
            _server.Latency.EndMonitor(LatencyMonitor.AofFsyncAlways, latency);
            FsyncOffset = CurrentSize;
            _lastFsync = UnixTime;
        }
        else if (fsync == AofFsync.Everysec && UnixTime > _lastFsync)
        {
            if (!syncInProgress)
            {
                _bio.SubmitFsync(_handle!);
                FsyncOffset = CurrentSize;
            }
            _lastFsync = UnixTime;
        }
    }

    /// <summary>writeCommandsDeniedByDiskError for the AOF: the -MISCONF error while the last write or background fsync failed.</summary>
    public string? WriteDeniedError
    {
        get
        {
            if (State == AofState.Off) return null;
            if (!LastWriteOk) return "-MISCONF Errors writing to the AOF file: " + _lastWriteError;
            if (_bio.FsyncError is { } e) return "-MISCONF Errors writing to the AOF file: " + e;
            return null;
        }
    }

    /// <summary>aof_last_write_status as INFO shows it (the background fsync's status included).</summary>
    public bool WriteStatusOk => LastWriteOk && _bio.FsyncError == null;

    // ------------------------------------------------------------ start-up

    /// <summary>aofLoadManifestFromDisk: a missing directory or manifest is an empty manifest (an upgrade may follow).</summary>
    public void LoadManifestFromDisk()
    {
        Manifest = new AofManifest();
        if (!Directory.Exists(DirPath)) return;
        string path = PathOf(AofManifest.ManifestName(FileName));
        if (!File.Exists(path)) return;
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AofException($"Fatal error: can't open the AOF manifest file {path} for reading: {e.Message}");
        }
        Manifest = AofManifest.Parse(data);
    }

    /// <summary>
    /// aofOpenIfNeededOnServerStart: with the AOF on, a server starting from nothing writes a
    /// base first; then the last incr file is opened for appending (a new one when there is
    /// none) and the manifest persisted. Any failure stops the start.
    /// </summary>
    public void OpenIfNeededOnServerStart()
    {
        if (State != AofState.On) return;
        CreateDir();
        int incrCount = Manifest.Incr.Count;
        if (Manifest.Base == null && incrCount == 0)
        {
            string baseName = Manifest.NewBaseFileNameAndMarkPreAsHistory(FileName, Config.AofUseRdbPreamble);
            if (!RewriteAppendOnlyFile(PathOf(baseName), Config.AofUseRdbPreamble)) throw new AofException();
            _server.Log.Notice($"Creating AOF base file {baseName} on server start");
        }
        string aofName = Manifest.LastIncrAofName(FileName);
        try
        {
            _file = OpenForAppend(PathOf(aofName));
            _fileOffset = _file.Length;
            _handle = _file.SafeFileHandle;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AofException($"Can't open the append-only file {aofName}: {e.Message}");
        }
        if (!PersistManifest(Manifest)) throw new AofException();
        LastIncrSize = _file.Length;
        _server.Log.Notice(incrCount > 0 ? $"Opening AOF incr file {aofName} on server start" : $"Creating AOF incr file {aofName} on server start");
    }

    void CreateDir()
    {
        try
        {
            Directory.CreateDirectory(DirPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AofException($"Can't open or create append-only dir {Config.GetString("appenddirname")}: {e.Message}");
        }
    }

    static FileStream OpenForAppend(string path) => new(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    static FileStream OpenTruncated(string path) => new(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    /// <summary>The loaded files' total: the sizes the rewrite policy and INFO start from (loadAppendOnlyFiles' tail).</summary>
    internal void SetLoadedSizes(long totalSize, long baseSize)
    {
        CurrentSize = totalSize;
        RewriteBaseSize = baseSize;
        FsyncOffset = totalSize;
    }

    /// <summary>aofUpgradePrepare: a pre-7.0 `dir`/appendonly.aof becomes the base of a new manifest in appenddirname.</summary>
    internal void UpgradePrepare()
    {
        CreateDir();
        var am = Manifest;
        am.Base = new AofInfo(FileName, 1, AofFileType.Base);
        am.CurrBaseFileSeq = 1;
        am.Dirty = true;
        if (!PersistManifest(am)) throw new AofException();
        try
        {
            File.Move(Path.Combine(Config.Dir, FileName), PathOf(FileName));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AofException($"Error trying to move the old AOF file {FileName} into dir {Config.GetString("appenddirname")}: {e.Message}");
        }
        _server.Log.Notice($"Successfully migrated an old-style AOF file ({FileName}) into the AOF directory ({Config.GetString("appenddirname")}).");
    }

    // ------------------------------------------------------------ manifest on disk

    /// <summary>persistAofManifest / writeAofManifestFile: temp file, fsync, rename, fsync of the directory.</summary>
    public bool PersistManifest(AofManifest am)
    {
        if (!am.Dirty) return true;
        string tmpName = AofManifest.TempManifestName(FileName), name = AofManifest.ManifestName(FileName);
        string tmp = PathOf(tmpName), path = PathOf(name);
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
            {
                fs.Write(System.Text.Encoding.Latin1.GetBytes(am.Format()));
                FileSync.DataSync(fs.SafeFileHandle);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.Warning($"Error trying to write the temporary AOF manifest file {tmpName}: {e.Message}");
            return false;
        }
        try
        {
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.Warning($"Error trying to rename the temporary AOF manifest file {tmpName} into {name}: {e.Message}");
            return false;
        }
        try
        {
            FileSync.SyncDirectoryOf(path);
        }
        catch (IOException e)
        {
            _server.Log.Warning($"Fail to fsync AOF directory {path}: {e.Message}.");
            return false;
        }
        am.Dirty = false;
        return true;
    }

    /// <summary>aofDelHistoryFiles: history files go (in the background) unless aof-disable-auto-gc.</summary>
    public void DelHistoryFiles()
    {
        if (Manifest.History.Count == 0 || Config.GetBool("aof-disable-auto-gc")) return;
        foreach (var h in Manifest.History)
        {
            _server.Log.Notice($"Removing the history file {h.FileName} in the background");
            _bio.SubmitUnlink(PathOf(h.FileName));
        }
        Manifest.History.Clear();
        Manifest.Dirty = true;
        PersistManifest(Manifest);
    }

    // ------------------------------------------------------------ rewrite

    /// <summary>
    /// A base written synchronously on the loop, at start-up (the dataset is empty then): RDB or
    /// the rewriteAppendOnlyFileRio commands. A rewrite's base is the forkless snapshot instead
    /// (StartSnapshotBase).
    /// </summary>
    void WriteBase(Stream output, bool rdbPreamble)
    {
        if (rdbPreamble) RdbFile.WriteRdb(_server, output, aofBase: true);
        else AofRewriter.Write(_server, output, Config.AofTimestampEnabled);
    }

    /// <summary>
    /// The base as a forkless snapshot (Persistence/Snapshot) into the temp rewrite file, in RDB
    /// (aof-use-rdb-preamble yes) or as commands, taken while clients write, which the new incr
    /// file already receives; its completion is the rewrite's done handler. False (logged) when
    /// the temp file cannot be created.
    /// </summary>
    bool StartSnapshotBase(bool rdbPreamble)
    {
        FileStream fs;
        try
        {
            fs = new FileStream(TempRewriteFile, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.Warning("Write error writing append only file on disk: " + e.Message);
            return false;
        }
        _server.BackgroundSave.StartFor(BackgroundSave.SnapshotPurpose.AofRewrite, fs, repl: null, error =>
        {
            if (error is SnapshotWriter.CancelledException) return; // KillAppendOnlyChild accounted for it
            if (error != null) _server.Log.Warning("Write error writing append only file on disk: " + error.Message);
            else _server.Log.Notice($"Successfully created the temporary AOF base file {Path.GetFileName(TempRewriteFile)}");
            if (RewriteInProgress) BackgroundRewriteDone(error == null);
        }, aofCommands: !rdbPreamble);
        return true;
    }


    /// <summary>rewriteAppendOnlyFile: the base into temp-rewriteaof-&lt;pid&gt;.aof in `dir`, fsynced, renamed to path.</summary>
    bool RewriteAppendOnlyFile(string path, bool rdbPreamble)
    {
        string tmp = Path.Combine(Config.Dir, $"temp-rewriteaof-{Pid}.aof");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                WriteBase(fs, rdbPreamble);
                fs.Flush(flushToDisk: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.Warning("Write error writing append only file on disk: " + e.Message);
            TryDelete(tmp);
            return false;
        }
        try
        {
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.Warning("Error moving temp append only file on the final destination: " + e.Message);
            TryDelete(tmp);
            return false;
        }
        return true;
    }

    static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    string TempRewriteFile => Path.Combine(Config.Dir, $"temp-rewriteaof-bg-{Pid}.aof");

    /// <summary>
    /// rewriteAppendOnlyFileBackground: a new incr file takes the writes from now on, then the
    /// base of this moment is produced; the switch to it happens in BackgroundRewriteDone.
    /// </summary>
    public bool RewriteBackground()
    {
        if (HasActiveChildProcess()) return false;
        try
        {
            Directory.CreateDirectory(DirPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.Warning($"Can't open or create append-only dir {Config.GetString("appenddirname")}: {e.Message}");
            LastBgrewriteOk = false;
            return false;
        }
        _selectedDb = -1; // the new incr file starts with a SELECT
        Flush(force: true);
        if (!OpenNewIncrAofForAppend())
        {
            LastBgrewriteOk = false;
            return false;
        }
        Rewrites++;
        _server.Log.Notice($"Background append only file rewriting started by pid {Pid}");
        RewriteScheduled = false;
        _rewriteTimeStart = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        RewriteInProgress = true;
        _childPreamble = Config.AofUseRdbPreamble;
        if (!StartSnapshotBase(_childPreamble))
        {
            RewriteInProgress = false;
            _rewriteTimeStart = -1;
            LastBgrewriteOk = false;
            return false;
        }
        return true;
    }

    /// <summary>
    /// openNewIncrAofForAppend: the next incr file (or, waiting for the first rewrite, the temp
    /// incr file) becomes the write target, with the manifest persisted first so a crash never
    /// loses what goes to it; the old file is fsynced and closed in the background.
    /// </summary>
    bool OpenNewIncrAofForAppend()
    {
        if (State == AofState.Off) return true;
        AofManifest? temp = null;
        string name;
        if (State == AofState.WaitRewrite) name = AofManifest.TempIncrName(FileName);
        else
        {
            temp = Manifest.Dup();
            name = temp.NewIncrAofName(FileName);
        }
        FileStream next;
        try
        {
            next = OpenTruncated(PathOf(name));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.Warning($"Can't open the append-only file {name}: {e.Message}");
            return false;
        }
        if (temp != null && !PersistManifest(temp))
        {
            next.Dispose();
            return false;
        }
        _server.Log.Notice($"Creating AOF incr file {name} on background rewrite");
        if (_file != null)
        {
            _bio.SubmitFsyncAndClose(_file);
            FsyncOffset = CurrentSize;
            _lastFsync = UnixTime;
        }
        _file = next;
        _handle = next.SafeFileHandle;
        _fileOffset = 0;
        LastIncrSize = 0;
        if (temp != null) Manifest = temp;
        return true;
    }

    /// <summary>
    /// backgroundRewriteDoneHandler: the new base replaces the old one in the manifest (renamed
    /// into appenddirname), the incr files it covers become history and are deleted, and an AOF
    /// waiting for its first rewrite switches on.
    /// </summary>
    void BackgroundRewriteDone(bool ok)
    {
        RewriteInProgress = false;
        if (ok) FinishRewrite();
        else
        {
            LastBgrewriteOk = false;
            ConsecutiveFailures++;
            _server.Log.Warning("Background AOF rewrite terminated with error");
        }
        TryDelete(TempRewriteFile);
        if (State == AofState.WaitRewrite)
        {
            _bufLen = 0;
            string tempIncr = AofManifest.TempIncrName(FileName);
            _server.Log.Notice($"Removing the temp incr aof file {tempIncr} in the background");
            _bio.SubmitUnlink(PathOf(tempIncr));
        }
        RewriteTimeLast = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - _rewriteTimeStart;
        _rewriteTimeStart = -1;
        if (State == AofState.WaitRewrite) RewriteScheduled = true;
    }

    void FinishRewrite()
    {
        _server.Log.Notice("Background AOF rewrite terminated with success");
        string tmp = TempRewriteFile;
        var temp = Manifest.Dup();
        string newBase = temp.NewBaseFileNameAndMarkPreAsHistory(FileName, _childPreamble);
        string newBasePath = PathOf(newBase);
        if (!TryRename(tmp, newBasePath, out var err))
        {
            _server.Log.Warning($"Error trying to rename the temporary AOF base file {Path.GetFileName(tmp)} into {newBasePath}: {err}");
            Failed();
            return;
        }
        _server.Log.Notice($"Successfully renamed the temporary AOF base file {Path.GetFileName(tmp)} into {newBase}");
        string? newIncrPath = null;
        if (State == AofState.WaitRewrite)
        {
            string tempIncr = AofManifest.TempIncrName(FileName);
            string newIncr = temp.NewIncrAofName(FileName);
            newIncrPath = PathOf(newIncr);
            if (!TryRename(PathOf(tempIncr), newIncrPath, out err))
            {
                _server.Log.Warning($"Error trying to rename the temporary AOF incr file {PathOf(tempIncr)} into {newIncrPath}: {err}");
                _bio.SubmitUnlink(newBasePath);
                Failed();
                return;
            }
            _server.Log.Notice($"Successfully renamed the temporary AOF incr file {tempIncr} into {newIncr}");
        }
        temp.MarkRewrittenIncrAofAsHistory(_file != null);
        if (!PersistManifest(temp))
        {
            _bio.SubmitUnlink(newBasePath);
            if (newIncrPath != null) _bio.SubmitUnlink(newIncrPath);
            Failed();
            return;
        }
        Manifest = temp;
        if (_file != null)
        {
            _selectedDb = -1;
            CurrentSize = new FileInfo(newBasePath).Length + LastIncrSize;
            RewriteBaseSize = CurrentSize;
            FsyncOffset = CurrentSize;
            _lastFsync = UnixTime;
        }
        DelHistoryFiles();
        LastBgrewriteOk = true;
        ConsecutiveFailures = 0;
        _server.Log.Notice("Background AOF rewrite finished successfully");
        if (State == AofState.WaitRewrite) State = AofState.On;
    }

    void Failed()
    {
        LastBgrewriteOk = false;
        ConsecutiveFailures++;
    }

    static bool TryRename(string from, string to, out string error)
    {
        try
        {
            File.Move(from, to, overwrite: true);
            error = "";
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return false;
        }
    }

    /// <summary>killAppendOnlyChild: a rewrite whose base is done but not yet switched to is dropped.</summary>
    void KillAppendOnlyChild()
    {
        if (!RewriteInProgress) return;
        _server.Log.Notice($"Killing running AOF rewrite child: {Pid}");
        _server.BackgroundSave.Kill(); // the base's snapshot; its writer is joined before the file goes
        TryDelete(TempRewriteFile);
        RewriteInProgress = false;
        _rewriteTimeStart = -1;
    }

    /// <summary>aofRewriteLimited: after 3 consecutive failures automatic rewrites back off 1, 2, 4 ... 60 minutes.</summary>
    bool RewriteLimited()
    {
        if (ConsecutiveFailures < RewriteLimitThreshold)
        {
            _nextDelayMinutes = 0;
            _nextRewriteTime = 0;
            return false;
        }
        if (_nextRewriteTime != 0)
        {
            if (UnixTime < _nextRewriteTime) return true;
            _nextRewriteTime = 0;
            return false;
        }
        _nextDelayMinutes = _nextDelayMinutes == 0 ? 1 : Math.Min(_nextDelayMinutes * 2, RewriteLimitMaxMinutes);
        _nextRewriteTime = UnixTime + _nextDelayMinutes * 60;
        _server.Log.Warning($"Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {_nextDelayMinutes} minutes");
        return true;
    }

    // ------------------------------------------------------------ CONFIG SET appendonly

    /// <summary>updateAppendonly: CONFIG SET appendonly at run time; the error is CONFIG SET's.</summary>
    public string? UpdateAppendOnly(bool enabled)
    {
        if (!enabled && State != AofState.Off) StopAppendOnly();
        else if (enabled && State == AofState.Off && !StartAppendOnly()) return "Unable to turn on AOF. Check server logs.";
        return null;
    }

    /// <summary>A replica about to load its primary's RDB: the AOF stops (a rewrite would save data being replaced).</summary>
    public void StopForSync()
    {
        if (State != AofState.Off) StopAppendOnly();
    }

    /// <summary>restartAOFAfterSYNC: with appendonly yes, the AOF starts again from a rewrite of the synced dataset.</summary>
    public void RestartAfterSyncIfNeeded()
    {
        if (!Config.AppendOnly || State != AofState.Off) return;
        for (int retry = 0; retry < 10; retry++)
        {
            if (StartAppendOnly()) return;
            _server.Log.Warning("Failed enabling the AOF after successful master synchronization! Trying it again in one second.");
        }
        _server.Log.Warning("FATAL: this replica instance finished the synchronization with its master, but the AOF can't be turned on.");
    }

    /// <summary>stopAppendOnly: flush, fsync and close; the rewrite in progress is dropped.</summary>
    void StopAppendOnly()
    {
        Flush(force: true);
        if (_file != null)
        {
            try
            {
                FileSync.DataSync(_file.SafeFileHandle);
                FsyncOffset = CurrentSize;
                _lastFsync = UnixTime;
            }
            catch (IOException e)
            {
                _server.Log.Warning("Fail to fsync the AOF file: " + e.Message);
            }
            _bio.SubmitFsyncAndClose(_file); // after any background fsync still queued for it
            _file = null;
        }
        _selectedDb = -1;
        State = AofState.Off;
        RewriteScheduled = false;
        LastIncrSize = 0;
        KillAppendOnlyChild();
        _bufLen = 0;
    }

    /// <summary>startAppendOnly: AOF_WAIT_REWRITE until a rewrite has produced the base (inside EXEC it is only scheduled).</summary>
    bool StartAppendOnly()
    {
        State = AofState.WaitRewrite;
        if (_server.Dispatcher.ExecutionNesting > 1)
        {
            RewriteScheduled = true;
            _server.Log.Warning("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
        }
        else
        {
            if (RewriteInProgress)
            {
                _server.Log.Warning("AOF was enabled but there is already an AOF rewriting in background. Stopping background AOF and starting a rewrite now.");
                KillAppendOnlyChild();
            }
            if (!RewriteBackground())
            {
                State = AofState.Off;
                _server.Log.Warning("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
                return false;
            }
        }
        _lastFsync = UnixTime;
        if (_bio.FsyncError != null)
        {
            _server.Log.Warning("AOF reopen, just ignore the AOF fsync error in bio job");
            _bio.FsyncError = null;
        }
        if (!LastWriteOk)
        {
            _server.Log.Warning("AOF reopen, just ignore the last error.");
            LastWriteOk = true;
        }
        return true;
    }

    // ------------------------------------------------------------ loop hooks

    /// <summary>beforeSleep's part: the buffer reaches the file (and the disk, with always) before any reply is written.</summary>
    public void BeforeSleep()
    {
        if (State != AofState.Off) Flush(force: false);
    }

    /// <summary>
    /// serverCron's part: a scheduled rewrite starts, automatic
    /// rewrite on growth, a postponed flush retried, and once a second a failed write retried.
    /// </summary>
    public void Cron(bool everySecond)
    {
        if (!HasActiveChildProcess() && RewriteScheduled && !RewriteLimited()) RewriteBackground();
        else
        {
            long perc = Config.GetLong("auto-aof-rewrite-percentage");
            if (State == AofState.On && perc > 0 && CurrentSize > Config.GetLong("auto-aof-rewrite-min-size"))
            {
                long b = RewriteBaseSize != 0 ? RewriteBaseSize : 1;
                long growth = CurrentSize * 100 / b - 100;
                if (growth >= perc && !RewriteLimited())
                {
                    _server.Log.Notice($"Starting automatic rewriting of AOF on {growth}% growth");
                    RewriteBackground();
                }
            }
        }
        if (State != AofState.Off && _flushPostponedStart != 0) Flush(force: false);
        if (everySecond && State != AofState.Off && !LastWriteOk) Flush(force: false);
    }

    /// <summary>prepareForShutdown's part: the rewrite is dropped, the buffer written and fsynced.</summary>
    public void PrepareForShutdown()
    {
        if (State == AofState.Off) return;
        KillAppendOnlyChild();
        _server.Log.Notice("Calling fsync() on the AOF file.");
        Flush(force: true);
        if (_file != null)
        {
            try
            {
                FileSync.DataSync(_file.SafeFileHandle);
            }
            catch (IOException e)
            {
                _server.Log.Warning("Fail to fsync the AOF file: " + e.Message);
            }
        }
    }

    /// <summary>DEBUG LOADAOF's first step: with the AOF on, what is buffered is written.</summary>
    public void FlushIfOn()
    {
        if (State == AofState.On) Flush(force: true);
    }

    /// <summary>While loading, the AOF is off so replayed commands (an EXEC) are not fed back into it.</summary>
    internal AofState SuspendForLoading()
    {
        var old = State;
        State = AofState.Off;
        return old;
    }

    internal void ResumeAfterLoading(AofState old) => State = old;

    /// <summary>Closes the file (after writing what is buffered) and stops the background thread.</summary>
    public void Dispose()
    {
        if (_file != null)
        {
            try
            {
                Flush(force: true);
            }
            catch (IOException) { }
            _bio.SubmitFsyncAndClose(_file);
            _file = null;
        }
        _bio.Dispose();
    }

    internal static long NowUs => Stopwatch.GetTimestamp() * 1_000_000 / Stopwatch.Frequency;
}
