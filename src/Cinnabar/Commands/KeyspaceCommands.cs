// Generic keyspace commands (Redis's db.c): DEL, UNLINK, EXISTS, TYPE, TOUCH, RANDOMKEY, KEYS,
// SCAN, RENAME(NX), MOVE, COPY, SWAPDB, DBSIZE, FLUSHDB, FLUSHALL. KEYS and SCAN walk the dict
// in place (KEYS counts matches first so the reply length is known without collecting keys;
// SCAN uses the dict's reverse-binary cursor), and neither ever returns an expired key.
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Protocol;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class KeyspaceCommands
{
    const string SameObject = "source and destination objects are the same";

    // ---------------------------------------------------------------- DEL / UNLINK / EXISTS / TOUCH / TYPE

    /// <summary>
    /// delGenericCommand: lazy and sync deletion free the same way here (the GC frees values off the
    /// loop); a lazy one counts a big value in lazyfreed_objects as Redis's background free would.
    /// </summary>
    static void DelGeneric(Client c, bool lazy)
    {
        long deleted = 0;
        for (int j = 1; j < c.Args.Count; j++)
        {
            var w = c.Db.BeginWrite(c.Args[j]); // an expired key is reclaimed first, as expireIfNeeded
            if (lazy && w.Value is { } o && LazyFree.WouldFreeInBackground(o)) c.Server.Stats.LazyfreedObjects++;
            if (!w.Delete()) continue;
            w.End(NotifyClass.Generic, "del");
            deleted++;
        }
        c.Reply.Integer(deleted);
    }

    [Command("del")]
    static void Del(Client c) => DelGeneric(c, c.Server.Config.LazyfreeLazyUserDel);

    [Command("unlink")]
    static void Unlink(Client c) => DelGeneric(c, lazy: true);

    [Command("exists")]
    static void Exists(Client c)
    {
        long count = 0;
        for (int j = 1; j < c.Args.Count; j++)
            if (c.Db.LookupRead(c.Args[j], touch: false) != null) count++;
        c.Reply.Integer(count);
    }

    [Command("touch")]
    static void Touch(Client c)
    {
        long touched = 0;
        for (int j = 1; j < c.Args.Count; j++)
            if (c.Db.LookupRead(c.Args[j]) != null) touched++;
        c.Reply.Integer(touched);
    }

    [Command("type")]
    static void Type(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1], touch: false);
        c.Reply.Status(o == null ? "none" : RedisObject.TypeName(o.Type));
    }

    [Command("randomkey")]
    static void RandomKey(Client c)
    {
        var key = c.Db.RandomKey();
        if (key == null) c.Reply.Null();
        else c.Reply.Bulk(key);
    }

    [Command("dbsize")]
    static void DbSize(Client c) => c.Reply.Integer(c.Db.Count);

    // ---------------------------------------------------------------- KEYS / SCAN

    [Command("keys")]
    static void Keys(Client c)
    {
        var pattern = c.Args[1];
        bool allKeys = pattern.Length == 1 && pattern[0] == (byte)'*';
        // Two passes over the dict: nothing can change in between (one thread owns the data),
        // so the count of the first pass is the length of the second's reply.
        long n = 0;
        foreach (var e in c.Db.Main.Entries())
            if (KeysMatch(c.Db, e.KeySpan, pattern, allKeys)) n++;
        c.Reply.ArrayLen(n);
        foreach (var e in c.Db.Main.Entries())
            if (KeysMatch(c.Db, e.KeySpan, pattern, allKeys)) c.Reply.Bulk(e.KeySpan);
    }

    /// <summary>KEYS reports matching keys that are not logically expired; it never deletes while iterating.</summary>
    static bool KeysMatch(Database db, ReadOnlySpan<byte> key, ReadOnlySpan<byte> pattern, bool allKeys) =>
        (allKeys || GlobMatcher.Match(pattern, key)) && !db.IsKeyExpired(key);

    /// <summary>parseScanCursorOrReply: strtoul semantics (sign allowed, wraps), no leading space, no trailing garbage, no overflow.</summary>
    public static bool TryParseScanCursor(Client c, int i, out ulong cursor)
    {
        if (!TryStrToUl(c.Args[i], out cursor))
        {
            c.Reply.Error("invalid cursor");
            return false;
        }
        return true;
    }

    static bool TryStrToUl(ReadOnlySpan<byte> s, out ulong value)
    {
        value = 0;
        if (s.Length == 0) return true; // strtoul("") leaves the end pointer at the terminator: cursor 0
        int i = 0;
        if (s[0] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f') return false;
        bool neg = false;
        if (s[0] is (byte)'+' or (byte)'-')
        {
            neg = s[0] == (byte)'-';
            i++;
        }
        if (i == s.Length) return false; // no digits: the end pointer stays on the sign
        for (; i < s.Length; i++)
        {
            uint d = (uint)(s[i] - '0');
            if (d > 9) return false;
            if (value > (ulong.MaxValue - d) / 10) return false; // ERANGE
            value = value * 10 + d;
        }
        if (neg) value = unchecked(0UL - value);
        return true;
    }

    [Command("scan")]
    static void Scan(Client c)
    {
        if (!TryParseScanCursor(c, 1, out ulong cursor)) return;
        long count = 10;
        byte[]? pattern = null;
        string? typeName = null;
        for (int i = 2; i < c.Args.Count; i += 2)
        {
            int remaining = c.Args.Count - i;
            if (c.Args.Is(i, "count") && remaining >= 2)
            {
                if (!Arguments.TryGetLong(c, i + 1, out count)) return;
                if (count < 1)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
            }
            else if (c.Args.Is(i, "match") && remaining >= 2)
            {
                pattern = c.Args.ToArray(i + 1);
                if (pattern.Length == 1 && pattern[0] == (byte)'*') pattern = null;
            }
            else if (c.Args.Is(i, "type") && remaining >= 2)
            {
                typeName = c.Args.ToStringAt(i + 1);
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        // Visit buckets until COUNT keys are collected or COUNT*10 buckets were visited, so a
        // sparse table can't make one call walk the whole keyspace.
        var keys = new List<byte[]>();
        var dict = c.Db.Main;
        long maxIterations = count * 10;
        do
        {
            cursor = dict.Scan(cursor, e => keys.Add(e.KeySpan.ToArray()));
        } while (cursor != 0 && maxIterations-- > 0 && keys.Count < count);

        int kept = 0;
        for (int i = 0; i < keys.Count; i++)
        {
            var key = keys[i];
            if (pattern != null && !GlobMatcher.Match(pattern, key)) continue;
            if (typeName != null)
            {
                var o = c.Db.LookupRead(key, touch: false);
                string actual = o == null ? "none" : RedisObject.TypeName(o.Type);
                if (!string.Equals(actual, typeName, StringComparison.OrdinalIgnoreCase)) continue;
            }
            if (c.Db.ExpireIfNeeded(key)) continue;
            keys[kept++] = key;
        }

        c.Reply.ArrayLen(2);
        c.Reply.Bulk(System.Text.Encoding.ASCII.GetBytes(cursor.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        c.Reply.ArrayLen(kept);
        for (int i = 0; i < kept; i++) c.Reply.Bulk(keys[i]);
    }

    // ---------------------------------------------------------------- RENAME / MOVE / COPY

    static void RenameGeneric(Client c, bool nx)
    {
        var src = c.Args[1];
        var dst = c.Args[2];
        bool sameKey = src.SequenceEqual(dst);
        var o = c.Db.LookupWrite(src);
        if (o == null)
        {
            c.Reply.Error(Errors.NoSuchKey);
            return;
        }
        if (sameKey)
        {
            if (nx) c.Reply.Integer(0);
            else c.Reply.Ok();
            return;
        }
        long expire = c.Db.GetExpire(src);
        var old = c.Db.LookupWrite(dst);
        if (old != null && nx)
        {
            c.Reply.Integer(0);
            return;
        }
        var ws = c.Db.BeginWrite(src, o);
        var wd = c.Db.BeginWrite(dst, old);
        wd.Delete();
        // The object is its own dict entry: it leaves src's chain before it is linked under dst.
        ws.Detach();
        wd.Add(o);
        if (expire != -1) wd.SetExpire(expire);
        ws.End(NotifyClass.Generic, "rename_from", dirty: 0);
        wd.End(NotifyClass.Generic, "rename_to");
        if (nx) c.Reply.Integer(1);
        else c.Reply.Ok();
    }

    [Command("rename")]
    static void Rename(Client c) => RenameGeneric(c, nx: false);

    [Command("renamenx")]
    static void RenameNx(Client c) => RenameGeneric(c, nx: true);

    /// <summary>getIntFromObjectOrReply: the same message for a non-integer and an int overflow when one is given.</summary>
    static bool TryGetInt(Client c, int i, out int value, string? error = null)
    {
        value = 0;
        if (!RespParser.TryParseLong(c.Args[i], out long v))
        {
            c.Reply.Error(error ?? Errors.NotInteger);
            return false;
        }
        if (v < int.MinValue || v > int.MaxValue)
        {
            c.Reply.Error(error ?? "value is out of range, value must between -2147483648 and 2147483647");
            return false;
        }
        value = (int)v;
        return true;
    }

    static Database? SelectDb(Client c, int id) =>
        id >= 0 && id < c.Server.Databases.Length ? c.Server.Databases[id] : null;

    [Command("move")]
    static void Move(Client c)
    {
        if (c.Server.Cluster != null)
        {
            c.Reply.Error("MOVE is not allowed in cluster mode"); // a cluster has db 0 only
            return;
        }
        var key = c.Args[1];
        var src = c.Db;
        if (!TryGetInt(c, 2, out int dbid)) return;
        var dst = SelectDb(c, dbid);
        if (dst == null)
        {
            c.Reply.Error(Errors.DbIndexOutOfRange);
            return;
        }
        if (src == dst)
        {
            c.Reply.Error(SameObject);
            return;
        }
        var o = src.LookupWrite(key);
        if (o == null)
        {
            c.Reply.Integer(0);
            return;
        }
        long expire = src.GetExpire(key);
        if (dst.LookupWrite(key) != null)
        {
            c.Reply.Integer(0);
            return;
        }
        // The object itself changes database, as in Redis: no copy is needed. It is its own dict
        // entry, so it leaves src's chain before it is linked in dst.
        var ws = src.BeginWrite(key, o);
        var wd = dst.BeginWrite(key, null);
        ws.Detach();
        wd.Add(o);
        if (expire != -1) wd.SetExpire(expire);
        ws.End(NotifyClass.Generic, "move_from", dirty: 0);
        wd.End(NotifyClass.Generic, "move_to");
        c.Reply.Integer(1);
    }

    [Command("copy")]
    static void Copy(Client c)
    {
        var key = c.Args[1];
        var newKey = c.Args[2];
        var src = c.Db;
        var dst = src;
        bool replace = false;
        for (int j = 3; j < c.Args.Count; j++)
        {
            int additional = c.Args.Count - j - 1;
            if (c.Args.Is(j, "replace"))
            {
                replace = true;
            }
            else if (c.Args.Is(j, "db") && additional >= 1)
            {
                if (!TryGetInt(c, j + 1, out int dbid)) return;
                var d = SelectDb(c, dbid);
                if (d == null)
                {
                    c.Reply.Error(Errors.DbIndexOutOfRange);
                    return;
                }
                dst = d;
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (c.Server.Cluster != null && (src.Id != 0 || dst.Id != 0))
        {
            c.Reply.Error("Copying to another database is not allowed in cluster mode");
            return;
        }
        if (src == dst && key.SequenceEqual(newKey))
        {
            c.Reply.Error(SameObject);
            return;
        }
        var o = src.LookupRead(key);
        if (o == null)
        {
            c.Reply.Integer(0);
            return;
        }
        long expire = src.GetExpire(key);
        var old = dst.LookupWrite(newKey);
        if (old != null && !replace)
        {
            c.Reply.Integer(0);
            return;
        }
        var copy = ObjectDuplication.Duplicate(o);
        var w = dst.BeginWrite(newKey, old);
        w.Delete();
        w.Add(copy);
        if (expire != -1) w.SetExpire(expire);
        w.End(NotifyClass.Generic, "copy_to");
        c.Reply.Integer(1);
    }

    // ---------------------------------------------------------------- SWAPDB / FLUSHDB / FLUSHALL

    [Command("swapdb")]
    static void SwapDb(Client c)
    {
        if (c.Server.Cluster != null)
        {
            c.Reply.Error("SWAPDB is not allowed in cluster mode");
            return;
        }
        if (!TryGetInt(c, 1, out int id1, "invalid first DB index")) return;
        if (!TryGetInt(c, 2, out int id2, "invalid second DB index")) return;
        var db1 = SelectDb(c, id1);
        var db2 = SelectDb(c, id2);
        if (db1 == null || db2 == null)
        {
            c.Reply.Error(Errors.DbIndexOutOfRange);
            return;
        }
        // Clients keep their Database objects (and ids); only the contents trade places.
        if (db1 != db2)
        {
            // WATCHers of either db see the other's keys appear (touchAllWatchedKeysInDb both ways).
            c.Server.Transactions.TouchAllWatchedKeysInDb(db1, db2);
            c.Server.Transactions.TouchAllWatchedKeysInDb(db2, db1);
            db1.SwapWith(db2);
            // Clients blocked in either db now see the other's keys (scanDatabaseForReadyKeys).
            var blocking = c.Server.Blocking;
            blocking.ScanDatabaseForReadyKeys(db1);
            blocking.ScanDatabaseForReadyKeys(db2);
        }
        c.Server.Stats.Dirty++;
        c.Reply.Ok();
    }

    /// <summary>getFlushCommandFlags: [ASYNC|SYNC] or nothing. Returns false after replying a syntax error.</summary>
    /// <summary>
    /// getFlushCommandFlags: ASYNC, SYNC, or lazyfree-lazy-user-flush. Dropping the dicts is O(1)
    /// either way (the garbage collector frees the values off the loop, which is what ASYNC asks
    /// for, and SYNC loses nothing by it); async counts the keys in lazyfreed_objects, as Redis's
    /// background free of the old dicts does.
    /// </summary>
    static bool ParseFlushFlags(Client c, out bool async)
    {
        async = false;
        if (c.Args.Count > 2 || (c.Args.Count == 2 && !c.Args.Is(1, "async") && !c.Args.Is(1, "sync")))
        {
            c.Reply.Error(Errors.Syntax);
            return false;
        }
        async = c.Args.Count == 2 ? c.Args.Is(1, "async") : c.Server.Config.LazyfreeLazyUserFlush;
        return true;
    }

    [Command("flushdb")]
    static void FlushDb(Client c)
    {
        if (!ParseFlushFlags(c, out bool async)) return;
        c.Server.Transactions.TouchAllWatchedKeysInDb(c.Db, null); // signalFlushedDb
        long removed = c.Db.Flush();
        c.Server.Stats.Dirty += removed;
        if (async) c.Server.Stats.LazyfreedObjects += removed;
        c.Server.Blocking.ScanDatabaseForReadyKeys(c.Db); // group readers of a flushed stream are answered
        c.Server.Tracking.InvalidateKeysOnFlush();
        // Replicas and the AOF see a FLUSHDB of an empty db too.
        c.Server.Propagation.ForceCommandPropagation(PropagationTargets.All);
        c.Reply.Ok();
    }

    [Command("flushall")]
    static void FlushAll(Client c)
    {
        if (!ParseFlushFlags(c, out bool async)) return;
        // flushAllDataAndResetRDB. Redis 7.0 adds the keys removed and nothing more: an empty
        // FLUSHALL propagates because it forces its propagation, not through dirty. A running
        // BGSAVE is killed, and with save points the now empty dataset is saved at once (which
        // resets the dirty count).
        var server = c.Server;
        long removed = EmptyData(server);
        server.Stats.Dirty += removed;
        if (async) server.Stats.LazyfreedObjects += removed;
        if (server.BackgroundSave.InProgress) server.BackgroundSave.Kill();
        if (server.Config.SaveParams.Count > 0) Persistence.RdbFile.Save(server);
        c.Server.Propagation.ForceCommandPropagation(PropagationTargets.All);
        c.Reply.Ok();
    }

    /// <summary>
    /// emptyData(-1): empties every database, signalling WATCH and tracking, and with
    /// withFunctions the function libraries too (a load replacing the dataset: DEBUG RELOAD, a
    /// full sync; FLUSHALL keeps them, as EMPTYDB_NOFUNCTIONS). Returns the keys removed.
    /// </summary>
    public static long EmptyData(CinnabarServer server, bool withFunctions = false)
    {
        if (withFunctions) server.Lua.Functions.Flush();
        long removed = 0;
        foreach (var db in server.Databases)
        {
            server.Transactions.TouchAllWatchedKeysInDb(db, null); // signalFlushedDb
            removed += db.Flush();
            server.Blocking.ScanDatabaseForReadyKeys(db); // signalFlushedDb: group readers of a flushed stream are answered
        }
        server.Tracking.InvalidateKeysOnFlush();
        server.ReplicaKeysWithExpire.Clear(); // flushSlaveKeysWithExpireList
        return removed;
    }
}
