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
    /// sends, read from the socket as it is parsed, into dbs and functions (swapdb's temporary
    /// ones, or the live ones); expired keys are kept. Bytes past the RDB stay in the input.
    /// </summary>
    public static LoadResult LoadFromStream(CinnabarServer server, RdbInput input, Database[] dbs, Scripting.FunctionLibraries functions) =>
        LoadInput(server, input, allowDuplicates: false, keepExpired: true, feedExpired: false, new LoadTarget(dbs, functions));

    /// <summary>rdbLoadingCtx: the databases and function libraries a load fills.</summary>
    readonly record struct LoadTarget(Database[] Dbs, Scripting.FunctionLibraries Functions)
    {
        public static LoadTarget Live(CinnabarServer server) => new(server.Databases, server.Lua.Functions);
    }

    static LoadResult LoadBytes(CinnabarServer server, byte[] data, bool allowDuplicates, bool keepExpired, bool feedExpired) =>
        LoadInput(server, new RdbInput(data), allowDuplicates, keepExpired, feedExpired, LoadTarget.Live(server));

    static LoadResult LoadInput(CinnabarServer server, RdbInput input, bool allowDuplicates, bool keepExpired, bool feedExpired, LoadTarget target)
    {
        var progress = server.LoadingProgress;
        bool own = !progress.Active; // DEBUG RELOAD and a replica's sync load outside start-up: loading for its duration
        if (own) progress.Start(input.Available.Length);
        progress.BeginFile();
        LoadResult result;
        try
        {
            result = LoadRio(server, target, input, allowDuplicates, keepExpired, feedExpired, out _);
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
        var result = LoadRio(server, target, new RdbInput(data), allowDuplicates, keepExpired, feedExpired, out long endAt);
        end = (int)endAt;
        return result;
    }

    /// <summary>What rdbLoadRio carries from one record to the next.</summary>
    sealed class LoadState(CinnabarServer server, LoadTarget target, bool allowDuplicates, bool keepExpired, bool feedExpired)
    {
        public readonly CinnabarServer Server = server;
        public readonly LoadTarget Target = target;
        public readonly bool AllowDuplicates = allowDuplicates, FeedExpired = feedExpired;
        // rdbLoadRio: a master drops keys that expired while the file sat on disk.
        public readonly bool DropExpired = !server.IsReplica && !keepExpired;
        public readonly long Now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        public readonly ReplicationAux Aux = new();
        public Database Db = target.Dbs[0];
        public long ExpireMs = -1, Loaded, Expired;
        public byte[] KeyScratch = new byte[64], ValueScratch = new byte[64];
    }

    /// <summary>
    /// rdbLoadRio: record after record from the input; a record cut by the end of what has been
    /// read is parsed again after reading more (a stream), or is a short read (the end of the
    /// source). A record takes effect only once it has been read whole. endAt is where the RDB
    /// ends (after its checksum).
    /// </summary>
    static LoadResult LoadRio(CinnabarServer server, LoadTarget target, RdbInput input, bool allowDuplicates, bool keepExpired, bool feedExpired, out long endAt)
    {
        while (input.Available.Length < 9)
            if (!input.Fill(9 - input.Available.Length)) throw ShortRead();
        var header = input.Available[..9];
        if (!header[..5].SequenceEqual("REDIS"u8))
            throw new RdbLoadException("Wrong signature trying to load DB from file");
        string versionText = Encoding.ASCII.GetString(header[5..9]);
        if (!int.TryParse(versionText, out int version) || version < 1 || version > RdbTypes.Version)
            throw new RdbLoadException($"Can't handle RDB format version {versionText}");
        input.Consume(9);

        var st = new LoadState(server, target, allowDuplicates, keepExpired, feedExpired);
        try
        {
            while (true)
            {
                var available = input.Available;
                var r = new RdbReader(available);
                Record record;
                try
                {
                    record = ReadRecord(ref r, st);
                }
                catch (RdbShortReadException)
                {
                    // At least as much again as this record has used, so a big value is re-read a few times at most.
                    if (!input.Fill(Math.Max(available.Length, 16 * 1024))) throw;
                    continue;
                }
                input.Consume(r.Position);
                if (record == Record.Eof) break;
                if (record == Record.Key) server.LoadingProgress.Progress(input.Position);
            }
            if (version >= 5)
            {
                while (input.Available.Length < 8)
                    if (!input.Fill(8 - input.Available.Length)) throw new RdbShortReadException();
                VerifyChecksum(server, input, input.Available[..8]);
                input.Consume(8);
            }
            endAt = input.Position;
        }
        catch (RdbShortReadException)
        {
            throw ShortRead();
        }
        catch (RdbFormatException e)
        {
            throw Corrupt(e.Message);
        }
        return new LoadResult(st.Loaded, st.Expired, st.Aux.Complete);
    }

    enum Record { Opcode, Key, Eof }

    /// <summary>One record: an opcode with its operands, a key with its value, or the EOF opcode.</summary>
    static Record ReadRecord(ref RdbReader r, LoadState st)
    {
        byte type = r.ReadByte();
        switch (type)
        {
            case RdbTypes.OpExpireTime:
                st.ExpireMs = BinaryPrimitives.ReadInt32LittleEndian(r.ReadBytes(4)) * 1000L;
                return Record.Opcode;
            case RdbTypes.OpExpireTimeMs:
                st.ExpireMs = BinaryPrimitives.ReadInt64LittleEndian(r.ReadBytes(8));
                return Record.Opcode;
            case RdbTypes.OpFreq:
            case RdbTypes.OpIdle:
                // LFU frequency / LRU idle time: hints for eviction; the key starts fresh here.
                if (type == RdbTypes.OpFreq) r.ReadByte();
                else r.LoadLen();
                return Record.Opcode;
            case RdbTypes.OpEof:
                return Record.Eof;
            case RdbTypes.OpSelectDb:
                ulong dbid = r.LoadLen();
                var dbs = st.Target.Dbs;
                if (dbid >= (ulong)dbs.Length)
                    throw new RdbLoadException($"FATAL: Data file was created with a Redis server configured to handle more than {dbs.Length} databases. Exiting");
                st.Db = dbs[(int)dbid];
                return Record.Opcode;
            case RdbTypes.OpResizeDb:
                // dictExpand: the db's tables are sized for its keys up front, so the load
                // does not grow (and rehash) them a doubling at a time.
                ulong dbSize = r.LoadLen(), expiresSize = r.LoadLen();
                if (st.Db.Main.Count == 0 && dbSize > 0) st.Db.Main.Resize((long)Math.Min(dbSize, int.MaxValue));
                if (st.Db.Expires.Count == 0 && expiresSize > 0) st.Db.Expires.Resize((long)Math.Min(expiresSize, int.MaxValue));
                return Record.Opcode;
            case RdbTypes.OpAux:
                LogAuxField(st.Server, r.LoadString(), r.LoadString(), st.Aux);
                return Record.Opcode;
            case RdbTypes.OpModuleAux:
                throw Corrupt("Module auxiliary data found but no modules are loaded (Cinnabar has no module API)");
            case RdbTypes.OpFunction:
                throw Corrupt("Pre-GA function format not supported");
            case RdbTypes.OpFunction2:
                st.Target.Functions.LoadFromRdb(r.LoadString(), replace: st.AllowDuplicates);
                return Record.Opcode;
            default:
                if (!RdbTypes.IsObjectType(type)) throw Corrupt($"Unknown RDB encoding type {type}");
                // Most keys are strings: built straight from views of the file with the
                // key embedded, one allocation each; other types read their key first.
                var keyView = r.LoadStringView(ref st.KeyScratch);
                RedisObject val;
                try
                {
                    val = type == RdbTypes.String
                        ? RedisObject.CreateStringEncoded(keyView, r.LoadStringView(ref st.ValueScratch))
                        : WithKey(keyView, r.LoadObject(type, st.Server.Config));
                }
                catch (RdbFormatException e) when (e is not RdbShortReadException)
                {
                    throw Corrupt($"Bad data format loading key '{Encoding.UTF8.GetString(keyView)}': {e.Message}");
                }
                if (st.DropExpired && st.ExpireMs != -1 && st.ExpireMs < st.Now)
                {
                    st.Expired++;
                    if (st.FeedExpired) st.Server.Replication.FeedExpiredAtLoad(st.Db.Id, val.KeySpan);
                }
                else
                {
                    AddKey(st.Db, val, st.AllowDuplicates);
                    if (st.ExpireMs != -1) st.Db.SetExpire(val.KeySpan, st.ExpireMs);
                    st.Loaded++;
                }
                st.ExpireMs = -1;
                return Record.Key;
        }
    }

    /// <summary>rdbSaveInfo as a load finds it: the repl-id, repl-offset and repl-stream-db aux fields.</summary>
    sealed class ReplicationAux
    {
        public string? Id;
        public long Offset = -1;
        public int StreamDb = -1;

        public RdbFile.ReplicationInfo? Complete => Id is { Length: 40 } && Offset != -1 && StreamDb != -1 ? new(StreamDb, Id, Offset) : null;
    }

    /// <summary>A non-string value gets its key now (the view dies with the next read): a key array, or in front of a listpack.</summary>
    static RedisObject WithKey(ReadOnlySpan<byte> key, RedisObject val)
    {
        val.AttachKey(key);
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
    /// <summary>The footer against the CRC-64 of everything before it (the input is positioned at the footer).</summary>
    static void VerifyChecksum(CinnabarServer server, RdbInput input, ReadOnlySpan<byte> footer)
    {
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(footer);
        if (!server.Config.GetBool("rdbchecksum") || !input.Checksummed) return;
        if (stored == 0)
        {
            server.Log.Notice("RDB file was saved with checksum disabled: no check performed.");
            return;
        }
        ulong expected = input.ChecksumUpTo(input.Position);
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
