// BGSAVE without fork (rdb.c's rdbSaveBackground and backgroundSaveDoneHandlerDisk, server.c's
// save points in serverCron), and the owner of the server's one running snapshot (Redis's one
// child at a time), whatever it is for: BGSAVE writes `dir`/temp-bgsave-<pid>.rdb on the
// snapshot's writer thread and renames it over `dbfilename` on success, then a disk-target full
// sync's replicas get that file; a diskless full sync (Replication) and an AOF rewrite's base
// (AppendOnlyFile) start theirs through StartFor and get its outcome back. Stepped from beforeSleep. Also the RDB state INFO persistence reports
// (rdb_* and current_* fields), the save points and BGSAVE SCHEDULE retried from cron, and the
// -MISCONF refusal of writes after a failed save (stop-writes-on-bgsave-error). SAVE stays
// synchronous (RdbFile.Save).
using System.Diagnostics;

namespace Cinnabar.Persistence;

public sealed class BackgroundSave
{
    /// <summary>CONFIG_BGSAVE_RETRY_DELAY: seconds between attempts after a failed background save.</summary>
    const int RetryDelaySeconds = 5;

    public const string MisconfError =
        "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

    readonly CinnabarServer _server;
    Snapshot? _snapshot;
    SnapshotWriter? _writer;
    string? _tempPath;
    long _dirtyBeforeBgsave;

    /// <summary>Who started the running snapshot (Redis's child_type and rdb_child_type).</summary>
    public enum SnapshotPurpose
    {
        /// <summary>BGSAVE, a save point: the RDB file.</summary>
        Bgsave,
        /// <summary>A full sync: into memory, for replicas.</summary>
        Replicas,
        /// <summary>An AOF rewrite's RDB-preamble base (a CHILD_TYPE_AOF: not an RDB save).</summary>
        AofRewrite,
    }

    SnapshotPurpose _purpose;

    /// <summary>For the Replicas and AofRewrite purposes: the owner's completion (null error on success), run on the loop.</summary>
    Action<Exception?>? _childDone;

    /// <summary>The snapshot writers' chunk buffers, kept between snapshots (SnapshotWriter.BufferSize each).</summary>
    readonly System.Collections.Concurrent.ConcurrentQueue<byte[]> _chunkBuffers = new();

    public BackgroundSave(CinnabarServer server) => _server = server;

    /// <summary>The epoch bit keys linked now carry (Database.SnapshotMark in every db); flipped when a snapshot starts.</summary>
    public bool Mark { get; private set; }

    /// <summary>rdb_bgsave_in_progress: an RDB snapshot (BGSAVE's, or a full sync's) is being produced or written.</summary>
    public bool InProgress => _writer != null && _purpose != SnapshotPurpose.AofRewrite;

    /// <summary>The running snapshot is for replicas' sockets (a diskless full sync), not for the RDB file.</summary>
    public bool ToReplicas => _writer != null && _purpose == SnapshotPurpose.Replicas;

    /// <summary>The running snapshot is a BGSAVE to the RDB file (RDB_CHILD_TYPE_DISK): a disk-target full sync's replicas wait for it.</summary>
    public bool ToDisk => _writer != null && _purpose == SnapshotPurpose.Bgsave;

    /// <summary>rdb_bgsave_scheduled: BGSAVE SCHEDULE (or BGSAVE inside EXEC) waits for cron.</summary>
    public bool Scheduled { get; set; }

    /// <summary>stat_rdb_saves: SAVE and BGSAVE runs started.</summary>
    public long Saves { get; set; }

    /// <summary>rdb_last_bgsave_status: false after a failed save, until one succeeds.</summary>
    public bool LastStatusOk { get; set; } = true;

    /// <summary>rdb_last_bgsave_time_sec: seconds the last BGSAVE took (-1 before the first).</summary>
    public long LastDurationSeconds { get; private set; } = -1;

    /// <summary>rdb_last_cow_size: bytes the last BGSAVE's pre-write hook serialized ahead of its walk.</summary>
    public long LastCowSize { get; private set; }

    /// <summary>aof_last_cow_size: the same for the last AOF rewrite's snapshot base.</summary>
    public long LastAofCowSize { get; private set; }

    long _startUnix = -1, _lastTryUnix;

    /// <summary>rdb_current_bgsave_time_sec.</summary>
    public long CurrentDurationSeconds => InProgress ? Now - _startUnix : -1;

    /// <summary>The running snapshot (any purpose), for INFO's current_save_keys_* and current_cow_size (null when none).</summary>
    public Snapshot? Current => ChildActive ? _snapshot : null;

    static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>A snapshot of any purpose is running (an aborted one that still marks keys does not count): one at a time.</summary>
    public bool ChildActive => _writer != null;

    /// <summary>writeCommandsDeniedByDiskError for the RDB: the -MISCONF error while the last save failed.</summary>
    public string? DiskError =>
        !LastStatusOk && _server.Config.GetBool("stop-writes-on-bgsave-error") && _server.Config.SaveParams.Count > 0 ? MisconfError : null;

    /// <summary>
    /// rdbSaveBackground: starts a snapshot to a temp file; false (logged) when the file cannot be
    /// created. The caller checks that none is running.
    /// </summary>
    public bool Start()
    {
        Saves++;
        _dirtyBeforeBgsave = _server.Stats.Dirty;
        _lastTryUnix = Now;
        // Redis's child names it temp-<child pid>.rdb; with no child, a name SAVE's temp-<pid>.rdb cannot collide with.
        string tmp = Path.Combine(_server.Config.Dir, $"temp-bgsave-{Environment.ProcessId}.rdb");
        if (RdbFile.OpenTempFile(_server, tmp) is not { } fs)
        {
            LastStatusOk = false;
            return false;
        }
        SnapshotWriter? writer = null;
        writer = new SnapshotWriter(fs, _server.Config.GetBool("rdbchecksum"), _server.Config.GetBool("rdb-save-incremental-fsync"), _chunkBuffers,
            error => _server.Loop.Post(() => WriterDone(writer!, error)));
        _writer = writer;
        _tempPath = tmp;
        _purpose = SnapshotPurpose.Bgsave;
        _childDone = null;
        _snapshot = BeginSnapshot(writer, _server.Replication.SaveInfo(), aofBase: false);
        _startUnix = Now;
        // Redis names its child's pid; the snapshot runs in this process.
        _server.Log.Notice($"Background saving started by pid {Environment.ProcessId}");
        return true;
    }

    /// <summary>
    /// A snapshot for another mechanism: into memory for replicas waiting for a full sync
    /// (rdbSaveToSlavesSockets' counterpart), or into an AOF rewrite's temp base file (aof-base 1).
    /// done runs on the loop once, null on success. The caller checks that no snapshot runs.
    /// </summary>
    /// <param name="aofCommands">The keys as AOF commands instead of RDB (an AOF rewrite with aof-use-rdb-preamble no).</param>
    /// <param name="holdBack">Asked before each slice: true while the output's consumers lag (a streaming full sync's slowest replica).</param>
    /// <param name="req">What a full sync's replicas asked to leave out of the RDB (REPLCONF rdb-filter-only).</param>
    public void StartFor(SnapshotPurpose purpose, Stream output, RdbFile.ReplicationInfo? repl, Action<Exception?> done, bool aofCommands = false, Func<bool>? holdBack = null,
        Replication.ReplicaRequirements req = Replication.ReplicaRequirements.None)
    {
        SnapshotWriter? writer = null;
        writer = new SnapshotWriter(output, !aofCommands && _server.Config.GetBool("rdbchecksum"),
            incrementalFsync: purpose == SnapshotPurpose.AofRewrite && _server.Config.GetBool("aof-rewrite-incremental-fsync"), _chunkBuffers,
            error => _server.Loop.Post(() => WriterDone(writer!, error)), rdbFooter: !aofCommands);
        _writer = writer;
        _tempPath = null;
        _purpose = purpose;
        _childDone = done;
        _snapshot = BeginSnapshot(writer, repl, aofBase: purpose == SnapshotPurpose.AofRewrite, aofCommands, req);
        _snapshot.HoldBack = holdBack;
        _startUnix = Now;
    }

    /// <summary>
    /// Starts a snapshot into writer: finishes marking after an aborted one, flips the epoch bit.
    /// One without the keys (SLAVE_REQ_RDB_EXCLUDE_DATA) walks nothing, so it leaves the bit as it
    /// is: every key keeps the mark the next snapshot expects to find.
    /// </summary>
    Snapshot BeginSnapshot(SnapshotWriter writer, RdbFile.ReplicationInfo? repl, bool aofBase, bool aofCommands = false,
        Replication.ReplicaRequirements req = Replication.ReplicaRequirements.None)
    {
        if (_snapshot is { WalkDone: false } old) old.DrainNow();
        if ((req & Replication.ReplicaRequirements.RdbExcludeData) == 0)
        {
            Mark = !Mark;
            foreach (var db in _server.Databases) db.SnapshotMark = Mark;
        }
        return new Snapshot(_server, writer, Mark, repl, aofBase, aofCommands, req);
    }

    /// <summary>beforeSleep: one slice of the walk, of at most budgetTicks (StepBudgetTicks).</summary>
    public void Step(long budgetTicks)
    {
        if (_snapshot is { WalkDone: false } s) s.Step(budgetTicks);
    }

    /// <summary>The walk has work left: stepped from beforeSleep.</summary>
    public bool HasWork => _snapshot is { WalkDone: false };

    /// <summary>The loop must not sleep in the poller while the walk can go on (not held back by rdb-key-save-delay).</summary>
    public bool KeepLoopAwake => _snapshot is { WalkDone: false, Throttled: false };

    /// <summary>
    /// killRDBChild and rdbRemoveTempFile: FLUSHALL and SHUTDOWN end a running BGSAVE (the file is
    /// never renamed and the dirty count stays: the save did not happen) or full sync; the AOF's
    /// killAppendOnlyChild ends its base this way. Another purpose's owner hears CancelledException.
    /// </summary>
    public void Kill()
    {
        if (_writer is not { } writer || _snapshot is not { } snapshot) return;
        _writer = null;
        snapshot.Abort();
        writer.Join(TimeSpan.FromSeconds(10)); // a cancelled writer stops after its current chunk
        TrimChunkBuffers();
        if (_childDone is { } childDone)
        {
            _startUnix = -1;
            _childDone = null;
            if (_purpose == SnapshotPurpose.Replicas) _server.Log.Warning("Background transfer terminated by user request");
            childDone(new SnapshotWriter.CancelledException());
            return;
        }
        TryDelete(_tempPath!);
        LastDurationSeconds = Now - _startUnix;
        _startUnix = -1;
        _server.Log.Warning("Background saving terminated by user request");
        _server.Replication.DiskSaveDone(ok: false);
    }

    /// <summary>The writer thread reported (posted to the loop): rename and account, or record the failure.</summary>
    void WriterDone(SnapshotWriter writer, Exception? error)
    {
        if (!ReferenceEquals(writer, _writer)) return; // killed: already accounted
        if (error is SnapshotWriter.CancelledException) return;
        TrimChunkBuffers();
        var snapshot = _snapshot!;
        _writer = null;
        if (_childDone is { } childDone)
        {
            // backgroundSaveDoneHandlerSocket / the rewrite's done handler: the RDB file's
            // bookkeeping (dirty, lastsave, status) is untouched.
            _childDone = null;
            _startUnix = -1;
            if (error != null) snapshot.Abort();
            if (_purpose == SnapshotPurpose.AofRewrite) LastAofCowSize = snapshot.CowBytes;
            if (_purpose == SnapshotPurpose.Replicas)
                _server.Log.Notice(error == null ? "Background RDB transfer terminated with success" : "Background transfer error");
            childDone(error);
            return;
        }
        if (error == null)
        {
            try
            {
                File.Move(_tempPath!, RdbFile.PathOf(_server), overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = e;
                _server.Log.Warning($"Error moving temp DB file {Path.GetFileName(_tempPath)} on the final destination {_server.Config.GetString("dbfilename")} (in server root dir {_server.Config.Dir}): {e.Message}");
            }
        }
        else
        {
            _server.Log.Warning("Write error saving DB on disk: " + error.Message);
            snapshot.Abort();
        }
        LastDurationSeconds = Now - _startUnix;
        _startUnix = -1;
        LastCowSize = snapshot.CowBytes;
        if (error == null)
        {
            _server.Log.Notice("DB saved on disk");
            _server.Log.Notice($"RDB: {snapshot.CowBytes / (1024 * 1024)} MB of memory used by copy-on-write");
            _server.Log.Notice("Background saving terminated with success");
            _server.Stats.Dirty -= _dirtyBeforeBgsave;
            _server.LastSaveTime = Now;
            LastStatusOk = true;
        }
        else
        {
            TryDelete(_tempPath!);
            _server.Log.Warning("Background saving error");
            LastStatusOk = false;
        }
        // updateSlavesWaitingBgsave: replicas of a disk-target sync get the file (any BGSAVE's end serves them).
        _server.Replication.DiskSaveDone(error == null);
    }

    /// <summary>
    /// serverCron's part: a save point reached (dirty &gt;= changes and more than seconds since the
    /// last save; after a failure only every RetryDelaySeconds), then a scheduled BGSAVE.
    /// </summary>
    public void Cron()
    {
        if (_server.HasActiveChildProcess) return;
        long now = Now;
        bool retryAllowed = now - _lastTryUnix > RetryDelaySeconds || LastStatusOk;
        foreach (var (seconds, changes) in _server.Config.SaveParams)
        {
            if (_server.Stats.Dirty >= changes && now - _server.LastSaveTime > seconds && retryAllowed)
            {
                _server.Log.Notice($"{changes} changes in {seconds} seconds. Saving...");
                Start();
                return;
            }
        }
        if (Scheduled && retryAllowed && Start()) Scheduled = false;
    }

    /// <summary>Between snapshots the buffers of one full queue are kept (about 2.5 MB), not the peak of the last one.</summary>
    void TrimChunkBuffers()
    {
        while (_chunkBuffers.Count > 32) _chunkBuffers.TryDequeue(out _);
    }

    static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException) { }
    }

    /// <summary>The slice of loop time the walk may take: a fraction of what the iteration spent serving, more when idle.</summary>
    public static long StepBudgetTicks(long busyTicks, bool hadEvents)
    {
        long us = Stopwatch.Frequency / 1_000_000;
        if (!hadEvents) return 2_000 * us;
        return Math.Clamp(busyTicks / 5, 50 * us, 1_000 * us);
    }
}
