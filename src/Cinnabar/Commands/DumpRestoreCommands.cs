// DUMP, RESTORE and RESTORE-ASKING (cluster.c's dumpCommand / restoreCommand): a value's RDB
// serialization with the version and CRC-64 footer, and its reverse. The format lives in
// Persistence/ (RdbWriter, RdbReader); these handlers only look up, check the options, act and
// reply as Redis does. MIGRATE, which sends these payloads, is in MigrateCommand.cs.
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Persistence;
using Cinnabar.Server;

namespace Cinnabar.Commands;

static class DumpRestoreCommands
{
    const string BusyKey = "-BUSYKEY Target key name already exists.";

    [Command("dump")]
    static void Dump(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            c.Reply.Null();
            return;
        }
        c.Reply.Bulk(RdbWriter.CreateDumpPayload(o, c.Server.Config.GetBool("rdbcompression")));
    }

    /// <summary>
    /// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency].
    /// RESTORE-ASKING is the same command with the "asking" flag, what MIGRATE sends in cluster mode.
    /// </summary>
    [Command("restore")]
    [Command("restore-asking")]
    static void Restore(Client c)
    {
        long lfuFreq = -1, lruIdle = -1;
        bool replace = false, absTtl = false;
        for (int j = 4; j < c.Args.Count; j++)
        {
            int additional = c.Args.Count - j - 1;
            if (c.Args.Is(j, "replace")) replace = true;
            else if (c.Args.Is(j, "absttl")) absTtl = true;
            else if (c.Args.Is(j, "idletime") && additional >= 1 && lfuFreq == -1)
            {
                if (!Arguments.TryGetLong(c, j + 1, out lruIdle)) return;
                if (lruIdle < 0)
                {
                    c.Reply.Error("Invalid IDLETIME value, must be >= 0");
                    return;
                }
                j++;
            }
            else if (c.Args.Is(j, "freq") && additional >= 1 && lruIdle == -1)
            {
                if (!Arguments.TryGetLong(c, j + 1, out lfuFreq)) return;
                if (lfuFreq is < 0 or > 255)
                {
                    c.Reply.Error("Invalid FREQ value, must be >= 0 and <= 255");
                    return;
                }
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var key = c.Args[1];
        if (!replace && c.Db.LookupWrite(key) != null)
        {
            c.Reply.Error(BusyKey);
            return;
        }
        if (!Arguments.TryGetLong(c, 2, out long ttl)) return;
        if (ttl < 0)
        {
            c.Reply.Error("Invalid TTL value, must be >= 0");
            return;
        }
        var payload = c.Args[3];
        if (!RdbReader.VerifyDumpPayload(payload))
        {
            c.Reply.Error("DUMP payload version or checksum are wrong");
            return;
        }
        RedisObject obj;
        try
        {
            var reader = new RdbReader(payload);
            obj = reader.LoadObject(reader.LoadObjectType(), c.Server.Config);
        }
        catch (RdbFormatException)
        {
            c.Reply.Error("Bad data format");
            return;
        }

        var w = c.Db.BeginWrite(key);
        bool deleted = replace && w.Delete();
        if (ttl != 0 && !absTtl) ttl = unchecked(ttl + c.Server.NowMs);
        // checkAlreadyExpired: the key would be gone at once, so only the deletion happens.
        if (ttl != 0 && ttl <= c.Server.NowMs && !c.Server.Loading && !c.Server.IsReplica)
        {
            if (deleted)
            {
                c.Server.Propagation.ReplaceArgv(2).Add("DEL"u8).Add(key);
                w.End(NotifyClass.Generic, "del");
            }
            c.Reply.Ok();
            return;
        }

        w.Add(obj);
        if (ttl != 0) w.SetExpire(ttl);
        if (ttl != 0 && !absTtl)
        {
            // Propagated with the absolute deadline: argv[2] becomes it and ABSTTL is appended.
            var argv = c.Server.Propagation.ReplaceArgv(c.Args.Count + 1).Add(c.Args[0]).Add(key).Add(ttl);
            for (int j = 3; j < c.Args.Count; j++) argv.Add(c.Args[j]);
            argv.Add("ABSTTL"u8);
        }
        SetLruOrLfu(c.Server, obj, lfuFreq, lruIdle);
        w.End(NotifyClass.Generic, "restore");
        c.Reply.Ok();
    }

    /// <summary>objectSetLRUOrLFU: FREQ sets the LFU counter under an LFU policy, IDLETIME backdates the LRU clock otherwise.</summary>
    static void SetLruOrLfu(CinnabarServer server, RedisObject o, long lfuFreq, long lruIdle)
    {
        if (server.Config.LfuPolicy)
        {
            if (lfuFreq >= 0) o.Lru = (Eviction.LfuMinutes(server.NowMs) << 8) | (uint)lfuFreq;
        }
        else if (lruIdle >= 0)
        {
            long lruAbs = server.Clock.LruClock - lruIdle;
            // The LRU clock wraps: a negative absolute time is made positive as Redis does.
            if (lruAbs < 0) lruAbs += Eviction.LruClockMax;
            o.Lru = (uint)lruAbs;
        }
    }
}
