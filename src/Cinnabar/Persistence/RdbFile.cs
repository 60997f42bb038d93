// The RDB file writer (rdb.c's rdbSave / rdbSaveRio / rdbSaveInfoAuxFields / rdbSaveDb /
// rdbSaveKeyValuePair): "REDIS0010", the AUX fields 7.0 writes, per non-empty db SELECTDB +
// RESIZEDB and its keys (expire time, type, key, value through RdbWriter), EOF and the CRC-64 of
// everything before it. Synchronous on the loop thread (SAVE, SHUTDOWN, DEBUG RELOAD): the file
// goes to temp-<pid>.rdb in `dir` and is renamed over `dbfilename`, so a reader never sees half.
using System.Buffers.Binary;
using Cinnabar.Keyspace;

namespace Cinnabar.Persistence;

public static class RdbFile
{
    /// <summary>The file the server saves to and loads from: `dir`/`dbfilename`.</summary>
    public static string PathOf(CinnabarServer server) =>
        Path.Combine(server.Config.Dir, server.Config.GetString("dbfilename"));

    /// <summary>
    /// rdbSave: writes the dataset to `dir`/`dbfilename` through a temp file. On success resets the
    /// dirty counter and records the save time, as Redis does; on failure logs why and returns false.
    /// </summary>
    public static bool Save(CinnabarServer server)
    {
        string tmp = Path.Combine(server.Config.Dir, $"temp-{Environment.ProcessId}.rdb");
        if (OpenTempFile(server, tmp) is not { } fs) return false;
        try
        {
            using (fs)
            {
                WriteRdb(server, fs, server.Replication.SaveInfo());
                fs.Flush(flushToDisk: true); // fflush + fsync before the rename, as rdbSave does
            }
            File.Move(tmp, PathOf(server), overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            server.Log.Warning("Write error saving DB on disk: " + e.Message);
            TryDelete(tmp);
            return false;
        }
        server.Log.Notice("DB saved on disk");
        server.Stats.Dirty = 0;
        server.LastSaveTime = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        server.BackgroundSave.LastStatusOk = true;
        return true;
    }

    /// <summary>Creates a temp RDB file in `dir`, or logs Redis's "Failed opening the temp RDB file" and returns null.</summary>
    internal static FileStream? OpenTempFile(CinnabarServer server, string path)
    {
        try
        {
            return new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            server.Log.Warning($"Failed opening the temp RDB file {Path.GetFileName(path)} (in server root dir {server.Config.Dir}) for saving: {e.Message}");
            return null;
        }
    }

    static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException) { }
    }

    /// <summary>rdbSaveInfo: the replication state a primary's RDB for a replica carries (repl-stream-db, repl-id, repl-offset).</summary>
    public readonly record struct ReplicationInfo(int StreamDb, string ReplId, long Offset);

    /// <summary>rdbSaveRio: the whole file, CRC-64 accumulated as bytes go out (8 zero bytes with rdbchecksum no).</summary>
    public static void WriteRdb(CinnabarServer server, Stream output, ReplicationInfo? repl = null, bool aofBase = false)
    {
        var w = new RdbWriter(server.Config.GetBool("rdbcompression"), 1 << 16);
        ulong crc = 0;
        void Flush()
        {
            crc = Crc64.Compute(crc, w.Written);
            output.Write(w.Written);
            w.Clear();
        }

        WriteHeader(server, w, repl, aofBase);
        foreach (var db in server.Databases)
        {
            if (db.Count == 0) continue;
            w.WriteByte(RdbTypes.OpSelectDb);
            w.SaveLen((ulong)db.Id);
            w.WriteByte(RdbTypes.OpResizeDb);
            w.SaveLen((ulong)db.Count);
            w.SaveLen((ulong)db.Expires.Count);
            foreach (var o in db.Main.Entries())
            {
                SaveKeyValuePair(w, o, db.GetExpire(o.KeySpan));
                if (w.Written.Length >= 1 << 16) Flush();
            }
        }
        w.WriteByte(RdbTypes.OpEof);
        Flush();
        Span<byte> footer = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(footer, server.Config.GetBool("rdbchecksum") ? crc : 0);
        output.Write(footer);
    }

    /// <summary>The signature and version, rdbSaveInfoAuxFields, then the function libraries (unless a replica's filter excludes them): what precedes the first key.</summary>
    internal static void WriteHeader(CinnabarServer server, RdbWriter w, ReplicationInfo? repl, bool aofBase = false, bool withFunctions = true)
    {
        w.WriteRaw("REDIS0010"u8);
        SaveInfoAuxFields(server, w, repl, aofBase);
        if (withFunctions) server.Lua.Functions.SaveToRdb(w); // rdbSaveFunctions: the libraries come before the keys
    }

    /// <summary>rdbSaveInfoAuxFields: the replication fields only in a snapshot for replicas (or with a backlog); aof-base 1 in an AOF's base.</summary>
    static void SaveInfoAuxFields(CinnabarServer server, RdbWriter w, ReplicationInfo? repl, bool aofBase)
    {
        SaveAuxField(w, "redis-ver", CinnabarServer.RedisVersion);
        SaveAuxField(w, "redis-bits", (IntPtr.Size * 8).ToString());
        SaveAuxField(w, "ctime", DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString());
        SaveAuxField(w, "used-mem", server.UsedMemory.ToString());
        if (repl is { } r)
        {
            SaveAuxField(w, "repl-stream-db", r.StreamDb.ToString());
            SaveAuxField(w, "repl-id", r.ReplId);
            SaveAuxField(w, "repl-offset", r.Offset.ToString());
        }
        SaveAuxField(w, "aof-base", aofBase ? "1" : "0");
    }

    /// <summary>rdbSaveAuxFieldStrStr / StrInt: both go through rdbSaveRawString, so numbers come out int-encoded.</summary>
    static void SaveAuxField(RdbWriter w, string key, string value)
    {
        w.WriteByte(RdbTypes.OpAux);
        w.SaveRawString(System.Text.Encoding.ASCII.GetBytes(key));
        w.SaveRawString(System.Text.Encoding.ASCII.GetBytes(value));
    }

    /// <summary>rdbSaveKeyValuePair: [EXPIRETIME_MS + 8-byte LE ms], type, key, value (no IDLE/FREQ: only under an LRU/LFU policy in Redis).</summary>
    internal static void SaveKeyValuePair(RdbWriter w, RedisObject o, long expireMs)
    {
        if (expireMs != -1)
        {
            w.WriteByte(RdbTypes.OpExpireTimeMs);
            Span<byte> ms = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(ms, expireMs);
            w.WriteRaw(ms);
        }
        w.SaveObjectType(o);
        w.SaveRawString(o.KeySpan);
        w.SaveObject(o);
    }
}
