// The RDB file loader (rdb.c's rdbLoad / rdbLoadRio): checks the "REDIS" signature and version,
// walks the opcodes (AUX, SELECTDB, RESIZEDB, EXPIRETIME(_MS), IDLE, FREQ, EOF), loads each key
// through RdbReader, skips keys already expired (as a master does) and verifies the CRC-64
// footer. The file is read whole into memory and parsed from the span: simple, and a start-up
// or DEBUG RELOAD load is not on a latency-sensitive path. Failures carry Redis's log texts.
using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Cinnabar.Keyspace;

namespace Cinnabar.Persistence;

/// <summary>Loading failed; Lines are what Redis logs for the same failure, in order.</summary>
public sealed class RdbLoadException(params string[] lines) : Exception(string.Join(" ", lines))
{
    public IReadOnlyList<string> Lines { get; } = lines;
}

public static class RdbLoader
{
    /// <summary>What a load found: keys added and keys skipped because they had expired (INFO rdb_last_load_keys_*).</summary>
    public readonly record struct LoadResult(long KeysLoaded, long KeysExpired, RdbFile.ReplicationInfo? Replication = null);

    /// <summary>
    /// loadDataFromDisk for the RDB case, at start-up: a missing file is an empty dataset; a bad one
    /// logs Redis's lines and throws InvalidOperationException so the server does not start.
    /// </summary>
    public static LoadResult? LoadAtStartup(CinnabarServer server)
    {
        string path = RdbFile.PathOf(server);
        if (!File.Exists(path)) return null;
        var sw = Stopwatch.StartNew();
        server.LoadingProgress.Start(new FileInfo(path).Length);
        LoadResult result;
        try
        {
            // A primary's start-up load propagates the deletion of the keys it drops as expired
            // (RDBFLAGS_FEED_REPL), so replicas that continue with a partial resync drop them too.
            result = Load(server, path, allowDuplicates: false, feedExpired: !server.IsReplica);
        }
        catch (RdbLoadException e)
        {
            foreach (var line in e.Lines) server.Log.Warning(line);
            throw new InvalidOperationException("Terminating server after rdb file reading failure.", e);
        }
        finally
        {
            server.LoadingProgress.Stop();
        }
        server.Log.Notice($"DB loaded from disk: {sw.Elapsed.TotalSeconds:0.000} seconds");
        return result;
    }

    /// <summary>rdbLoad: reads path into the server's databases; allowDuplicates replaces existing keys (DEBUG RELOAD MERGE).</summary>
    public static LoadResult Load(CinnabarServer server, string path, bool allowDuplicates, bool keepExpired = false, bool feedExpired = false)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RdbLoadException($"Fatal error loading the DB: {e.Message}. Exiting.");
        }
        return LoadBytes(server, data, allowDuplicates, keepExpired, feedExpired);
    }

    /// <summary>
    /// A replica's diskless load (repl-diskless-load on-empty-db / swapdb): the RDB its primary
    /// sent, from memory, into dbs and functions (swapdb's temporary ones, or the live ones);
    /// expired keys are kept.
    /// </summary>
    public static LoadResult LoadFromMemory(CinnabarServer server, byte[] data, Database[] dbs, Scripting.FunctionLibraries functions) =>
        LoadBytes(server, data, allowDuplicates: false, keepExpired: true, feedExpired: false, new LoadTarget(dbs, functions));

    /// <summary>rdbLoadingCtx: the databases and function libraries a load fills.</summary>
    readonly record struct LoadTarget(Database[] Dbs, Scripting.FunctionLibraries Functions)
    {
        public static LoadTarget Live(CinnabarServer server) => new(server.Databases, server.Lua.Functions);
    }

    static LoadResult LoadBytes(CinnabarServer server, byte[] data, bool allowDuplicates, bool keepExpired, bool feedExpired, LoadTarget? target = null)
    {
        var progress = server.LoadingProgress;
        bool own = !progress.Active; // DEBUG RELOAD and a replica's sync load outside start-up: loading for its duration
        if (own) progress.Start(data.Length);
        progress.BeginFile();
        LoadResult result;
        try
        {
            result = LoadRio(server, target ?? LoadTarget.Live(server), data, allowDuplicates, out _, keepExpired, feedExpired);
        }
        finally
        {
            if (own) progress.Stop();
        }
        server.Stats.RdbLastLoadKeysLoaded = result.KeysLoaded;
        server.Stats.RdbLastLoadKeysExpired = result.KeysExpired;
        server.Log.Notice($"Done loading RDB, keys loaded: {result.KeysLoaded}, keys expired: {result.KeysExpired}.");
        return result;
    }

    /// <summary>
    /// rdbLoadRio with RDBFLAGS_AOF_PREAMBLE: an AOF base file (or a pre-7.0 AOF's preamble) in
    /// RDB format, from the start of data; end is where the RDB stops (an AOF tail may follow).
    /// </summary>
    internal static LoadResult LoadPreamble(CinnabarServer server, byte[] data, out int end)
    {
        var result = LoadRio(server, LoadTarget.Live(server), data, allowDuplicates: false, out end);
        server.Stats.RdbLastLoadKeysLoaded = result.KeysLoaded;
        server.Stats.RdbLastLoadKeysExpired = result.KeysExpired;
        server.Log.Notice($"Done loading RDB, keys loaded: {result.KeysLoaded}, keys expired: {result.KeysExpired}.");
        return result;
    }

    static RdbLoadException ShortRead() => new(
        "Short read or OOM loading DB. Unrecoverable error, aborting now.",
        "Internal error in RDB reading: Unexpected EOF reading RDB file");

    static RdbLoadException Corrupt(string what) => new("Internal error in RDB reading: " + what);

    /// <summary>rdbLoadRio over the whole file's bytes.</summary>
    static LoadResult LoadRio(CinnabarServer server, LoadTarget target, byte[] data, bool allowDuplicates, out int end, bool keepExpired = false, bool feedExpired = false)
    {
        if (data.Length < 9) throw ShortRead();
        if (!data.AsSpan(0, 5).SequenceEqual("REDIS"u8))
            throw new RdbLoadException("Wrong signature trying to load DB from file");
        if (!int.TryParse(Encoding.ASCII.GetString(data, 5, 4), out int version) || version < 1 || version > RdbTypes.Version)
            throw new RdbLoadException($"Can't handle RDB format version {Encoding.ASCII.GetString(data, 5, 4)}");

        var r = new RdbReader(data);
        r.ReadBytes(9);
        var dbs = target.Dbs;
        var db = dbs[0];
        long expireMs = -1, loaded = 0, expired = 0;
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        bool master = !server.IsReplica && !keepExpired;
        var aux = new ReplicationAux();
        var progress = server.LoadingProgress;
        byte[] keyScratch = new byte[64], valueScratch = new byte[64];
        try
        {
            while (true)
            {
                byte type = r.ReadByte();
                switch (type)
                {
                    case RdbTypes.OpExpireTime:
                        expireMs = BinaryPrimitives.ReadInt32LittleEndian(r.ReadBytes(4)) * 1000L;
                        continue;
                    case RdbTypes.OpExpireTimeMs:
                        expireMs = BinaryPrimitives.ReadInt64LittleEndian(r.ReadBytes(8));
                        continue;
                    case RdbTypes.OpFreq:
                    case RdbTypes.OpIdle:
                        // LFU frequency / LRU idle time: hints for eviction; the key starts fresh here.
                        if (type == RdbTypes.OpFreq) r.ReadByte();
                        else r.LoadLen();
                        continue;
                    case RdbTypes.OpEof:
                        break;
                    case RdbTypes.OpSelectDb:
                        ulong dbid = r.LoadLen();
                        if (dbid >= (ulong)dbs.Length)
                            throw new RdbLoadException($"FATAL: Data file was created with a Redis server configured to handle more than {dbs.Length} databases. Exiting");
                        db = dbs[(int)dbid];
                        continue;
                    case RdbTypes.OpResizeDb:
                        // dictExpand: the db's tables are sized for its keys up front, so the load
                        // does not grow (and rehash) them a doubling at a time.
                        ulong dbSize = r.LoadLen(), expiresSize = r.LoadLen();
                        if (db.Main.Count == 0 && dbSize > 0) db.Main.Resize((long)Math.Min(dbSize, int.MaxValue));
                        if (db.Expires.Count == 0 && expiresSize > 0) db.Expires.Resize((long)Math.Min(expiresSize, int.MaxValue));
                        continue;
                    case RdbTypes.OpAux:
                        LogAuxField(server, r.LoadString(), r.LoadString(), aux);
                        continue;
                    case RdbTypes.OpModuleAux:
                        throw Corrupt("Module auxiliary data found but no modules are loaded (Cinnabar has no module API)");
                    case RdbTypes.OpFunction:
                        throw Corrupt("Pre-GA function format not supported");
                    case RdbTypes.OpFunction2:
                        target.Functions.LoadFromRdb(r.LoadString(), replace: allowDuplicates);
                        continue;
                    default:
                        if (!RdbTypes.IsObjectType(type)) throw Corrupt($"Unknown RDB encoding type {type}");
                        // Most keys are strings: built straight from views of the file with the
                        // key embedded, one allocation each; other types read their key first.
                        var keyView = r.LoadStringView(ref keyScratch);
                        RedisObject val;
                        try
                        {
                            val = type == RdbTypes.String
                                ? RedisObject.CreateStringEncoded(keyView, r.LoadStringView(ref valueScratch))
                                : WithKey(keyView, r.LoadObject(type, server.Config));
                        }
                        catch (RdbFormatException e) when (e is not RdbShortReadException)
                        {
                            throw Corrupt($"Bad data format loading key '{Encoding.UTF8.GetString(keyView)}': {e.Message}");
                        }
                        // rdbLoadRio: a master drops keys that expired while the file sat on disk.
                        if (master && expireMs != -1 && expireMs < now)
                        {
                            expired++;
                            if (feedExpired) server.Replication.FeedExpiredAtLoad(db.Id, val.KeySpan);
                        }
                        else
                        {
                            AddKey(db, val, allowDuplicates);
                            if (expireMs != -1) db.SetExpire(val.KeySpan, expireMs);
                            loaded++;
                        }
                        expireMs = -1;
                        progress.Progress(r.Position);
                        continue;
                }
                break;
            }
            if (version >= 5) VerifyChecksum(server, data, r.Position, r.ReadBytes(8));
            end = r.Position;
        }
        catch (RdbShortReadException)
        {
            throw ShortRead();
        }
        catch (RdbFormatException e)
        {
            throw Corrupt(e.Message);
        }
        return new LoadResult(loaded, expired, aux.Complete);
    }

    /// <summary>rdbSaveInfo as a load finds it: the repl-id, repl-offset and repl-stream-db aux fields.</summary>
    sealed class ReplicationAux
    {
        public string? Id;
        public long Offset = -1;
        public int StreamDb = -1;

        public RdbFile.ReplicationInfo? Complete => Id is { Length: 40 } && Offset != -1 && StreamDb != -1 ? new(StreamDb, Id, Offset) : null;
    }

    /// <summary>A non-string value gets its key array now (the view dies with the next read).</summary>
    static RedisObject WithKey(ReadOnlySpan<byte> key, RedisObject val)
    {
        val.KeyBuf = key.ToArray();
        val.KeyLen = key.Length;
        return val;
    }

    /// <summary>dbAddRDBLoad: val carries its key; a duplicate is an error unless allowed (DEBUG RELOAD MERGE replaces).</summary>
    static void AddKey(Database db, RedisObject val, bool allowDuplicates)
    {
        if (db.TryAddForLoad(val)) return;
        if (!allowDuplicates) throw Corrupt($"RDB has duplicated key '{Encoding.UTF8.GetString(val.KeySpan)}' in DB {db.Id}");
        db.Delete(val.KeySpan);
        db.TryAddForLoad(val);
    }

    /// <summary>The 8-byte footer: zero means saved with rdbchecksum no; otherwise it must match (when rdbchecksum is on here).</summary>
    static void VerifyChecksum(CinnabarServer server, byte[] data, int end, ReadOnlySpan<byte> footer)
    {
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(footer);
        if (!server.Config.GetBool("rdbchecksum")) return;
        if (stored == 0)
        {
            server.Log.Notice("RDB file was saved with checksum disabled: no check performed.");
            return;
        }
        ulong expected = Crc64.Compute(0, data.AsSpan(0, end));
        if (stored != expected)
            throw new RdbLoadException($"Wrong RDB checksum expected: ({expected:x}) got ({stored:x}). Aborting now.",
                "Internal error in RDB reading: RDB CRC error");
    }

    /// <summary>The AUX fields Redis reports while loading; the others are skipped, as unknown ones are.</summary>
    static void LogAuxField(CinnabarServer server, byte[] key, byte[] value, ReplicationAux aux)
    {
        string k = Encoding.ASCII.GetString(key), v = Encoding.UTF8.GetString(value);
        switch (k)
        {
            case "repl-id":
                aux.Id = v;
                break;
            case "repl-offset" when long.TryParse(v, out long offset):
                aux.Offset = offset;
                break;
            case "repl-stream-db" when int.TryParse(v, out int streamDb):
                aux.StreamDb = streamDb;
                break;
            case "redis-ver":
                server.Log.Notice("Loading RDB produced by version " + v);
                break;
            case "ctime" when long.TryParse(v, out long ctime):
                server.Log.Notice($"RDB age {Math.Max(0, DateTimeOffset.UtcNow.ToUnixTimeSeconds() - ctime)} seconds");
                break;
            case "used-mem" when long.TryParse(v, out long mem):
                server.Log.Notice($"RDB memory usage when created {mem / (1024.0 * 1024):0.00} Mb");
                server.LoadingProgress.RdbUsedMem = mem;
                break;
        }
    }
}
