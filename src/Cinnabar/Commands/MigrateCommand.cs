// MIGRATE (cluster.c's migrateCommand): moves keys to another instance by sending each one's
// DUMP payload as RESTORE (RESTORE-ASKING with cluster-enabled) with its remaining TTL, after
// AUTH and a SELECT when the cached connection last selected another db, all in one pipelined
// write, then reading one reply per command. The I/O is synchronous and blocks the loop up to
// the timeout per step, as in Redis (Networking/MigrateSocketCache.cs). Keys the target
// acknowledged are deleted here unless COPY, and the command propagates as DEL of exactly those.
// A socket error before anything was acknowledged is retried once on a fresh connection, unless
// it was a timeout.
using System.Buffers.Text;
using System.Text;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Persistence;
using Cinnabar.Protocol;
using Cinnabar.Server;

namespace Cinnabar.Commands;

static class MigrateCommand
{
    /// <summary>The parsed options: argument indexes of the AUTH/AUTH2 credentials (-1 when absent).</summary>
    readonly record struct Options(bool Copy, bool Replace, int Username, int Password, long Timeout, long DbId);

    /// <summary>
    /// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
    /// [AUTH2 username password] [KEYS key [key ...]].
    /// </summary>
    [Command("migrate")]
    static void Migrate(Client c)
    {
        var args = c.Args;
        bool copy = false, replace = false;
        int username = -1, password = -1;
        int firstKey = 3, numKeys = 1; // without KEYS only the key argument moves
        for (int j = 6; j < args.Count; j++)
        {
            int moreArgs = args.Count - 1 - j;
            if (args.Is(j, "copy")) copy = true;
            else if (args.Is(j, "replace")) replace = true;
            else if (args.Is(j, "auth"))
            {
                if (moreArgs == 0)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                password = ++j;
            }
            else if (args.Is(j, "auth2"))
            {
                if (moreArgs < 2)
                {
                    c.Reply.Error(Errors.Syntax);
                    return;
                }
                username = ++j;
                password = ++j;
            }
            else if (args.Is(j, "keys"))
            {
                if (args.Length(3) != 0)
                {
                    c.Reply.Error("When using MIGRATE KEYS option, the key argument must be set to the empty string");
                    return;
                }
                firstKey = j + 1;
                numKeys = args.Count - j - 1; // all the remaining arguments are keys
                break;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (!Arguments.TryGetLong(c, 5, out long timeout) || !Arguments.TryGetLong(c, 4, out long dbId)) return;
        if (timeout <= 0) timeout = 1000;

        // A missing key is not an error (it often just expired): NOKEY says there was nothing to move.
        var keys = new List<int>(numKeys);
        var values = new List<RedisObject>(numKeys);
        for (int j = 0; j < numKeys; j++)
        {
            if (c.Db.LookupRead(args[firstKey + j]) is not { } o) continue;
            keys.Add(firstKey + j);
            values.Add(o);
        }
        if (keys.Count == 0)
        {
            c.Reply.Status("NOKEY");
            return;
        }

        var options = new Options(copy, replace, username, password, timeout, dbId);
        string host = Encoding.Latin1.GetString(args[1]);
        string name = host + ":" + Encoding.Latin1.GetString(args[2]);
        int port = Atoi(args[2]);
        var cache = c.Server.MigrateSockets;
        bool mayRetry = true;
        while (true)
        {
            // Under tls-cluster MIGRATE speaks TLS to the target, as the nodes announce their TLS ports.
            var tls = c.Server.Config.GetBool("tls-cluster") ? c.Server.Tls.ClientOptions(host) : null;
            var cs = cache.Get(name, host, port, timeout, c.Server.NowMs / 1000, tls);
            if (cs == null)
            {
                c.Reply.Error("-IOERR error or timeout connecting to the client");
                return;
            }
            if (Transfer(c, cs, cache, name, options, keys, values, ref mayRetry, out bool writeError)) return;

            // socket_err: the connection is dropped (so the next one selects its db again); a
            // closed cached connection is common, so a fresh one is tried once unless this was a timeout.
            cache.Close(name);
            if (!cs.TimedOut && mayRetry)
            {
                mayRetry = false;
                continue;
            }
            c.Reply.Error($"-IOERR error or timeout {(writeError ? "writing" : "reading")} to target instance");
            return;
        }
    }

    /// <summary>
    /// One attempt on a connection: true when MIGRATE has replied (OK or the target's error),
    /// false for a socket error the caller handles (close, maybe retry, IOERR).
    /// </summary>
    static bool Transfer(Client c, MigrateConnection cs, MigrateSocketCache cache, string name, Options o,
        List<int> keys, List<RedisObject> values, ref bool mayRetry, out bool writeError)
    {
        writeError = false;
        var args = c.Args;
        var cmd = new RespCommandBuffer();
        if (o.Password >= 0)
        {
            cmd.BeginArray(o.Username >= 0 ? 3 : 2);
            cmd.Bulk("AUTH"u8);
            if (o.Username >= 0) cmd.Bulk(args[o.Username]);
            cmd.Bulk(args[o.Password]);
        }
        bool select = cs.LastDbId != o.DbId;
        if (select)
        {
            cmd.BeginArray(2);
            cmd.Bulk("SELECT"u8);
            BulkLong(cmd, o.DbId);
        }

        // Serializing large values takes time: a key found alive above may have expired since,
        // and is left out (the arrays are compacted so a retry sends the same keys).
        bool compression = c.Server.Config.GetBool("rdbcompression");
        var restore = c.Server.Config.GetBool("cluster-enabled") ? "RESTORE-ASKING"u8 : "RESTORE"u8;
        int nonExpired = 0;
        for (int j = 0; j < keys.Count; j++)
        {
            int keyIndex = keys[j];
            var value = values[j];
            long ttl = 0;
            long expireAt = c.Db.GetExpire(args[keyIndex]);
            if (expireAt != -1)
            {
                ttl = expireAt - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                if (ttl < 0) continue;
                if (ttl < 1) ttl = 1;
            }
            keys[nonExpired] = keyIndex;
            values[nonExpired++] = value;
            cmd.BeginArray(o.Replace ? 5 : 4);
            cmd.Bulk(restore);
            cmd.Bulk(args[keyIndex]);
            BulkLong(cmd, ttl);
            cmd.Bulk(RdbWriter.CreateDumpPayload(value, compression));
            if (o.Replace) cmd.Bulk("REPLACE"u8);
        }
        keys.RemoveRange(nonExpired, keys.Count - nonExpired);
        values.RemoveRange(nonExpired, values.Count - nonExpired);

        // The whole pipeline in 64 KB chunks, each within the timeout.
        var buf = cmd.Span;
        for (int pos = 0; pos < buf.Length;)
        {
            int n = Math.Min(64 * 1024, buf.Length - pos);
            if (!cs.SyncWrite(buf.Slice(pos, n), o.Timeout))
            {
                writeError = true;
                return false;
            }
            pos += n;
        }

        RespReply? authReply = null, selectReply = null;
        if (o.Password >= 0 && (authReply = cs.ReadReply(o.Timeout)) == null) return false;
        if (select && (selectReply = cs.ReadReply(o.Timeout)) == null) return false;

        // One reply per RESTORE. A failed AUTH or SELECT fails every key; the first error is the reply.
        bool errorFromTarget = false, socketError = false;
        List<int>? acknowledged = o.Copy ? null : new List<int>(keys.Count);
        int k;
        for (k = 0; k < keys.Count; k++)
        {
            var reply = cs.ReadReply(o.Timeout);
            if (reply == null)
            {
                socketError = true;
                break;
            }
            var error = authReply is { IsError: true } ? authReply : selectReply is { IsError: true } ? selectReply : reply.IsError ? reply : null;
            if (error != null)
            {
                if (errorFromTarget) continue;
                cs.LastDbId = -1; // the selected db is no longer known
                errorFromTarget = true;
                c.Reply.ErrorWithRawBytes("Target instance replied with error: " + Encoding.Latin1.GetString(error.Bytes));
            }
            else if (acknowledged != null)
            {
                // Not COPY: the key the target now holds is removed here.
                var w = c.Db.BeginWrite(args[keys[k]]);
                w.Delete();
                w.End(NotifyClass.Generic, "del");
                acknowledged.Add(keys[k]);
            }
        }

        // A retry only when nothing was processed: the first reply never came, and not by a timeout.
        if (!errorFromTarget && socketError && k == 0 && mayRetry && !cs.TimedOut) return false;
        if (socketError) cache.Close(name);

        // Replicas and the AOF see DEL of the keys the target acknowledged, not MIGRATE.
        if (acknowledged is { Count: > 0 })
        {
            var argv = c.Server.Propagation.ReplaceArgv(acknowledged.Count + 1).Add("DEL"u8);
            foreach (int keyIndex in acknowledged) argv.Add(args[keyIndex]);
        }

        if (!errorFromTarget && socketError)
        {
            mayRetry = false; // some keys may have moved: IOERR, no retry
            return false;
        }
        if (!errorFromTarget)
        {
            // Even with a socket error after the replies the SELECT succeeded: the next MIGRATE to this db skips it.
            cs.LastDbId = o.DbId;
            c.Reply.Ok();
        }
        return true;
    }

    static void BulkLong(RespCommandBuffer cmd, long value)
    {
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out int n);
        cmd.Bulk(digits[..n]);
    }

    /// <summary>atoi: leading blanks, an optional sign and the digits that follow; 0 when there are none.</summary>
    static int Atoi(ReadOnlySpan<byte> s)
    {
        int i = 0;
        while (i < s.Length && s[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r') i++;
        bool negative = false;
        if (i < s.Length && s[i] is (byte)'+' or (byte)'-') negative = s[i++] == (byte)'-';
        long v = 0;
        for (; i < s.Length && (uint)(s[i] - '0') <= 9; i++)
            v = Math.Min(v * 10 + (s[i] - '0'), (long)int.MaxValue + 1);
        if (negative) v = -v;
        return (int)Math.Clamp(v, int.MinValue, int.MaxValue);
    }
}
