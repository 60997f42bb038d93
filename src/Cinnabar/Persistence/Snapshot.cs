// A point-in-time RDB image of the whole dataset, taken without fork (DESIGN.md §5). Redis forks
// and lets the kernel copy pages the parent writes; here the loop thread serializes the dataset
// itself, a time-boxed slice per loop iteration, while clients keep writing:
//   - at the start the snapshot flips the keyspace's epoch bit: every linked key now carries the
//     old mark, every key linked from now on the new one (Database stamps it), and it captures
//     each database's dicts;
//   - the walk visits the captured dicts with the SCAN cursor (which survives rehashing) and
//     serializes each key that still has the old mark, then marks it;
//   - the write scope's pre-write hook (IPreWriteHook) serializes a key of the old mark *before*
//     it changes, gets a new TTL or leaves, so the file holds its value at the start; that work is
//     the forkless counterpart of copy-on-write and is what INFO's cow sizes report;
//   - FLUSHDB/SWAPDB replace or exchange a database's dicts; the snapshot keeps walking the dicts
//     it captured, so their keys stay in the image and no flush has to wait for it.
// Bytes leave in chunks for a SnapshotWriter thread (CRC-64, file I/O, fsync). No locks, no second
// copy of the dataset. Keys of one database may be interleaved with another's, each run behind
// its SELECTDB, which RDB loaders (Redis's included) accept. For an AOF rewrite with
// aof-use-rdb-preamble no the same walk writes the keys as commands (AofRewriter's forms, each
// run behind a SELECT) instead of RDB.
using System.Diagnostics;
using Cinnabar.Keyspace;

namespace Cinnabar.Persistence;

public sealed class Snapshot : IPreWriteHook
{
    /// <summary>Serialized bytes go to the writer in chunks of about this size.</summary>
    const int ChunkSize = 64 * 1024;

    /// <summary>
    /// The walk pauses while the writer has this much unwritten (the hook never pauses): enough to
    /// keep the writer busy, small enough that the chunk buffers it takes are few (each one
    /// allocated is garbage-collector work the write load then pays for).
    /// </summary>
    const long MaxQueuedBytes = 2 * 1024 * 1024;

    readonly CinnabarServer _server;
    readonly bool _mark;
    readonly CapturedDb[] _dbs;
    readonly RdbWriter? _w;            // the RDB format
    readonly AofRewriter.Writer? _aof; // the AOF-command format
    readonly SnapshotWriter _writer;
    readonly Action<RedisObject> _visit;
    readonly long _keyDelayUs;
    readonly long _startTicks = Stopwatch.GetTimestamp();

    int _walkDb;
    ulong _cursor;
    int _outDb = -1;
    bool _walkDone, _discard;

    /// <summary>One database as it was when the snapshot began: its dicts and their sizes (RESIZEDB).</summary>
    sealed class CapturedDb(EntryDict<RedisObject> main, EntryDict<ExpireEntry> expires)
    {
        public readonly EntryDict<RedisObject> Main = main;
        public readonly EntryDict<ExpireEntry> Expires = expires;
        public readonly long Keys = main.Count, Volatile = expires.Count;
        public bool Selected;
    }

    /// <summary>Keys in the dataset at the start (current_save_keys_total).</summary>
    public long KeysTotal { get; }

    /// <summary>Keys serialized so far, by the walk or the hook (current_save_keys_processed).</summary>
    public long KeysProcessed { get; private set; }

    /// <summary>Bytes the pre-write hook serialized ahead of the walk: what fork's copy-on-write would have copied.</summary>
    public long CowBytes { get; private set; }

    /// <summary>The last step stopped for rdb-key-save-delay or HoldBack: the loop may sleep until its next timer or event.</summary>
    public bool Throttled { get; private set; }

    /// <summary>True while whoever reads the output lags too far behind: the walk waits (a replica's socket event wakes the loop).</summary>
    public Func<bool>? HoldBack { get; set; }

    /// <summary>The walk has visited every captured key: the image is complete once the writer drains.</summary>
    public bool WalkDone => _walkDone;

    /// <summary>
    /// Starts a snapshot of server's dataset into writer: writes the header and AUX fields now;
    /// the keys follow through Step and the pre-write hook. mark is the epoch bit keys linked from
    /// now on carry (the caller flips the server's mark to it before calling). req filters a full
    /// sync's RDB as rdbSaveRio does: without data it captures no database (no walk, no hook: the
    /// file is the header, the functions unless excluded too, and EOF).
    /// </summary>
    public Snapshot(CinnabarServer server, SnapshotWriter writer, bool mark, RdbFile.ReplicationInfo? repl, bool aofBase = false, bool aofCommands = false,
        Replication.ReplicaRequirements req = Replication.ReplicaRequirements.None)
    {
        _server = server;
        _writer = writer;
        _mark = mark;
        if (aofCommands) _aof = new AofRewriter.Writer(new ToWriter(writer));
        else _w = new RdbWriter(server.Config.GetBool("rdbcompression"), ChunkSize + 4096);
        _visit = o => Save(_walkDb, o);
        _keyDelayUs = server.Config.GetLong("rdb-key-save-delay");
        bool excludeData = (req & Replication.ReplicaRequirements.RdbExcludeData) != 0;
        var dbs = excludeData ? Array.Empty<Database>() : server.Databases;
        _dbs = new CapturedDb[dbs.Length];
        for (int i = 0; i < dbs.Length; i++)
        {
            _dbs[i] = new CapturedDb(dbs[i].Main, dbs[i].Expires);
            KeysTotal += dbs[i].Count;
        }
        if (_w != null) RdbFile.WriteHeader(server, _w, repl, aofBase, withFunctions: (req & Replication.ReplicaRequirements.RdbExcludeFunctions) == 0);
        else
        {
            if (server.Config.AofTimestampEnabled) AofRewriter.WriteTimestamp(_aof!);
            AofRewriter.WriteFunctions(server, _aof!); // the libraries as they are now, at the snapshot's start
        }
        foreach (var db in dbs) db.PreWriteHook = this;
    }

    /// <summary>
    /// One slice of the walk, for at most budgetTicks of Stopwatch time (rdb-key-save-delay slows it
    /// to one key per that many microseconds, as Redis's child sleeps). True once the walk is done.
    /// </summary>
    public bool Step(long budgetTicks)
    {
        if (_walkDone) return true;
        Throttled = false;
        if (!_discard && _writer.QueuedBytes > MaxQueuedBytes) return false;
        if (!_discard && HoldBack?.Invoke() == true)
        {
            Throttled = true;
            return false;
        }
        long now = Stopwatch.GetTimestamp();
        long deadline = budgetTicks >= long.MaxValue - now ? long.MaxValue : now + budgetTicks;
        long allowed = _keyDelayUs > 0 && !_discard ? (long)Stopwatch.GetElapsedTime(_startTicks).TotalMicroseconds / _keyDelayUs + 1 : long.MaxValue;
        int buckets = 0;
        while (_walkDb < _dbs.Length)
        {
            if (KeysProcessed >= allowed)
            {
                Throttled = true;
                return false;
            }
            var main = _dbs[_walkDb].Main;
            if (main.Count > 0) _cursor = main.Scan(_cursor, _visit);
            if (main.Count == 0 || _cursor == 0)
            {
                _walkDb++;
                _cursor = 0;
            }
            if ((++buckets & 15) == 0 && Stopwatch.GetTimestamp() >= deadline) return false;
        }
        FinishWalk();
        return true;
    }

    /// <summary>The walk is over: EOF, the last chunk, and the hooks come off (every key now has the new mark).</summary>
    void FinishWalk()
    {
        _walkDone = true;
        foreach (var db in _server.Databases)
            if (ReferenceEquals(db.PreWriteHook, this)) db.PreWriteHook = null;
        if (_discard) return;
        if (_w != null)
        {
            _w.WriteByte(RdbTypes.OpEof);
            FlushChunk();
        }
        else _aof!.Flush();
        _writer.Complete();
    }

    /// <summary>
    /// Stops producing output (FLUSHALL, SHUTDOWN, a write error): the writer is cancelled, but
    /// the walk goes on marking keys without serializing them, so the next snapshot finds every
    /// live key with the old mark. It ends at once when no captured dict is live any more.
    /// </summary>
    public void Abort()
    {
        if (_discard) return;
        _discard = true;
        _writer.Cancel();
        if (!AnyCapturedDictLive()) FinishWalk();
    }

    /// <summary>Completes an aborted walk synchronously (marking only): before a new snapshot starts.</summary>
    public void DrainNow()
    {
        while (!Step(long.MaxValue)) { }
    }

    bool AnyCapturedDictLive()
    {
        foreach (var db in _server.Databases)
            foreach (var c in _dbs)
                if (ReferenceEquals(db.Main, c.Main)) return true;
        return false;
    }

    public void BeforeWrite(Database db, RedisObject o)
    {
        if (o.SnapshotMark == _mark) return;
        int j = CapturedIndexOf(db.Main, db.Id);
        if (j < 0)
        {
            o.SnapshotMark = _mark;
            return;
        }
        long before = _writer.ProducedBytes + Buffered;
        Save(j, o);
        CowBytes += _writer.ProducedBytes + Buffered - before;
    }

    /// <summary>Nothing to do: the flushed or swapped dicts stay captured and the walk covers them.</summary>
    public void BeforeFlush(Database db) { }

    /// <summary>Which captured database a live dict is (SWAPDB moves dicts between databases).</summary>
    int CapturedIndexOf(EntryDict<RedisObject> main, int hint)
    {
        if (hint < _dbs.Length && ReferenceEquals(_dbs[hint].Main, main)) return hint;
        for (int i = 0; i < _dbs.Length; i++)
            if (ReferenceEquals(_dbs[i].Main, main)) return i;
        return -1;
    }

    /// <summary>Serializes a key as it is now, which is as it was at the start (the hook runs before any change), and marks it.</summary>
    void Save(int dbIndex, RedisObject o)
    {
        if (o.SnapshotMark == _mark) return; // the SCAN cursor may return a key twice
        o.SnapshotMark = _mark;
        KeysProcessed++;
        if (_discard) return;
        var db = _dbs[dbIndex];
        long expire = db.Expires.Count == 0 ? -1 : db.Expires.Find(o.KeySpan)?.When ?? -1;
        if (_aof != null)
        {
            if (_outDb != dbIndex) AofRewriter.WriteSelect(_aof, dbIndex);
            _outDb = dbIndex;
            AofRewriter.WriteKey(_aof, o, expire);
            _aof.FlushIfFull();
            return;
        }
        var w = _w!;
        if (_outDb != dbIndex)
        {
            w.WriteByte(RdbTypes.OpSelectDb);
            w.SaveLen((ulong)dbIndex);
            if (!db.Selected)
            {
                db.Selected = true;
                w.WriteByte(RdbTypes.OpResizeDb);
                w.SaveLen((ulong)db.Keys);
                w.SaveLen((ulong)db.Volatile);
            }
            _outDb = dbIndex;
        }
        RdbFile.SaveKeyValuePair(w, o, expire);
        if (w.Written.Length >= ChunkSize) FlushChunk();
    }

    /// <summary>Serialized bytes not yet handed to the writer.</summary>
    long Buffered => _w?.Written.Length ?? _aof!.Pending;

    void FlushChunk()
    {
        if (_w!.Written.Length == 0) return;
        _writer.Write(_w.Written);
        _w.Clear();
    }

    /// <summary>The AOF-command format's block writer hands its full blocks to the snapshot's writer thread.</summary>
    sealed class ToWriter(SnapshotWriter writer) : Stream
    {
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.Length > 0) writer.Write(buffer);
        }
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
