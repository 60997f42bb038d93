// Hash commands (Redis 7.0's t_hash.c): HSET family, reads, HINCRBY/HINCRBYFLOAT, HRANDFIELD
// and HSCAN over HashType's encodings (listpack, hashtable). HINCRBYFLOAT adds in an emulated
// x87 long double (LongDouble) because Redis's replies show that type's rounding digits.
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Protocol;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class HashCommands
{
    // ------------------------------------------------------------------ shared helpers

    /// <summary>
    /// hashTypeLookupWriteOrCreate: opens a write on the hash at key, created empty when missing;
    /// false after WRONGTYPE.
    /// </summary>
    static bool LookupWriteOrCreate(Client c, ReadOnlySpan<byte> key, out WriteScope w, [NotNullWhen(true)] out RedisObject? o)
    {
        o = c.Db.LookupWrite(key);
        w = default;
        if (KeyLookup.CheckType(c, o, ObjType.Hash)) return false;
        w = c.Db.BeginWrite(key, o);
        if (o == null)
        {
            o = HashType.Create();
            w.Add(o);
        }
        return true;
    }

    static bool SetField(Client c, RedisObject o, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value)
    {
        var cfg = c.Server.Config;
        return HashType.Set(o, field, value, cfg.HashMaxListpackEntries, cfg.HashMaxListpackValue);
    }

    // ------------------------------------------------------------------ writes

    [Command("hset")] static void HSet(Client c) => HSetGeneric(c, replyOk: false);
    [Command("hmset")] static void HMSet(Client c) => HSetGeneric(c, replyOk: true);

    static void HSetGeneric(Client c, bool replyOk)
    {
        if (c.Args.Count % 2 == 1)
        {
            c.Reply.Error($"wrong number of arguments for '{c.Cmd!.FullName}' command");
            return;
        }
        var key = c.Args[1];
        if (!LookupWriteOrCreate(c, key, out var w, out var o)) return;
        long maxValue = c.Server.Config.HashMaxListpackValue;
        for (int j = 2; j < c.Args.Count; j++) HashType.TryConversion(o, maxValue, c.Args[j], default);
        long created = 0;
        for (int j = 2; j < c.Args.Count; j += 2)
            if (SetField(c, o, c.Args[j], c.Args[j + 1])) created++;
        if (replyOk) c.Reply.Ok();
        else c.Reply.Integer(created);
        w.End(NotifyClass.Hash, "hset", (c.Args.Count - 2) / 2);
    }

    [Command("hsetnx")]
    static void HSetNx(Client c)
    {
        var key = c.Args[1];
        if (!LookupWriteOrCreate(c, key, out var w, out var o)) return;
        if (HashType.Exists(o, c.Args[2]))
        {
            w.EndUnchanged();
            c.Reply.Integer(0);
            return;
        }
        SetField(c, o, c.Args[2], c.Args[3]);
        c.Reply.Integer(1);
        w.End(NotifyClass.Hash, "hset");
    }

    [Command("hdel")]
    static void HDel(Client c)
    {
        var key = c.Args[1];
        if (!KeyLookup.LookupWriteOrReply(c, key, ObjType.Hash, MissingKeyReply.Zero, out var o)) return;
        var w = c.Db.BeginWrite(key, o);
        long deleted = 0;
        for (int j = 2; j < c.Args.Count; j++)
        {
            if (!HashType.Delete(o, c.Args[j])) continue;
            deleted++;
            if (HashType.Length(o) == 0) break;
        }
        if (deleted > 0) w.End(NotifyClass.Hash, "hdel", deleted, emptied: HashType.Length(o) == 0);
        else w.EndUnchanged();
        c.Reply.Integer(deleted);
    }

    [Command("hincrby")]
    static void HIncrBy(Client c)
    {
        if (!Arguments.TryGetLong(c, 3, out long incr)) return;
        var key = c.Args[1];
        if (!LookupWriteOrCreate(c, key, out var w, out var o)) return;
        long value = 0;
        var current = HashType.Get(o, c.Args[2]);
        if (current != null && !RespParser.TryParseLong(current, out value))
        {
            w.EndUnchanged();
            c.Reply.Error("hash value is not an integer");
            return;
        }
        if ((incr < 0 && value < 0 && incr < long.MinValue - value) || (incr > 0 && value > 0 && incr > long.MaxValue - value))
        {
            w.EndUnchanged();
            c.Reply.Error("increment or decrement would overflow");
            return;
        }
        value += incr;
        SetField(c, o, c.Args[2], Encoding.ASCII.GetBytes(value.ToString(CultureInfo.InvariantCulture)));
        c.Reply.Integer(value);
        w.End(NotifyClass.Hash, "hincrby");
    }

    [Command("hincrbyfloat")]
    static void HIncrByFloat(Client c)
    {
        // Long double like INCRBYFLOAT: "1e4000" and "0x10" are valid increments, "inf" is not.
        if (!LongDouble.TryParse(c.Args[3], out var incr))
        {
            c.Reply.Error(Errors.NotFloat);
            return;
        }
        if (incr.IsInfinity)
        {
            c.Reply.Error("value is NaN or Infinity");
            return;
        }
        var key = c.Args[1];
        if (!LookupWriteOrCreate(c, key, out var w, out var o)) return;
        var current = HashType.Get(o, c.Args[2]);
        var value = default(LongDouble);
        if (current != null && !LongDouble.TryParse(current, out value))
        {
            w.EndUnchanged();
            c.Reply.Error("hash value is not a float");
            return;
        }
        var sum = value + incr;
        if (sum.IsInfinity)
        {
            w.EndUnchanged();
            c.Reply.Error("increment would produce NaN or Infinity");
            return;
        }
        var formatted = Encoding.ASCII.GetBytes(sum.ToHumanString());
        SetField(c, o, c.Args[2], formatted);
        c.Reply.Bulk(formatted);
        // Replicas get the result, not the increment (float formatting may differ between platforms).
        c.Server.Propagation.ReplaceArgv(4).Add("HSET"u8).Add(key).Add(c.Args[2]).Add(formatted);
        w.End(NotifyClass.Hash, "hincrbyfloat");
    }

    // ------------------------------------------------------------------ reads

    [Command("hget")]
    static void HGet(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Hash)) return;
        var v = o == null ? null : HashType.Get(o, c.Args[2]);
        if (v == null) c.Reply.Null();
        else c.Reply.Bulk(v);
    }

    [Command("hmget")]
    static void HMGet(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Hash)) return;
        c.Reply.ArrayLen(c.Args.Count - 2);
        for (int j = 2; j < c.Args.Count; j++)
        {
            var v = o == null ? null : HashType.Get(o, c.Args[j]);
            if (v == null) c.Reply.Null();
            else c.Reply.Bulk(v);
        }
    }

    [Command("hlen")]
    static void HLen(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Hash)) return;
        c.Reply.Integer(o == null ? 0 : HashType.Length(o));
    }

    [Command("hstrlen")]
    static void HStrLen(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Hash)) return;
        c.Reply.Integer(o == null ? 0 : HashType.Get(o, c.Args[2])?.Length ?? 0);
    }

    [Command("hexists")]
    static void HExists(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Hash)) return;
        c.Reply.Integer(o != null && HashType.Exists(o, c.Args[2]) ? 1 : 0);
    }

    [Command("hkeys")] static void HKeys(Client c) => GetAllGeneric(c, keys: true, values: false);
    [Command("hvals")] static void HVals(Client c) => GetAllGeneric(c, keys: false, values: true);
    [Command("hgetall")] static void HGetAll(Client c) => GetAllGeneric(c, keys: true, values: true);

    /// <summary>genericHgetallCommand: a map for field+value (HGETALL), else a flat array.</summary>
    static void GetAllGeneric(Client c, bool keys, bool values)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.Hash)) return;
        long n = o == null ? 0 : HashType.Length(o);
        if (keys && values) c.Reply.MapLen(n);
        else c.Reply.ArrayLen(n);
        if (o == null) return;
        if (HashType.TryGetListpack(o, out var lp))
        {
            if (keys && values)
            {
                // Fields and values alternate in the listpack: all of it is the reply, in one run.
                int first = lp.First();
                lp.ReplyBulks(ref first, lp.Count, c.Reply);
                return;
            }
            for (int p = lp.First(); p >= 0; p = lp.Next(p))
            {
                if (keys) ReplyEntry(c, lp, p);
                p = lp.Next(p);
                if (values) ReplyEntry(c, lp, p);
            }
            return;
        }
        foreach (var e in ((StringDict)o.Ptr!).Entries())
        {
            if (keys) c.Reply.Bulk(e.Key);
            if (values) c.Reply.Bulk(e.Value!);
        }
    }

    static void ReplyEntry(Client c, Listpack lp, int p)
    {
        if (lp.Get(p, out var s, out long v)) c.Reply.Bulk(s);
        else c.Reply.BulkLong(v);
    }

    // ------------------------------------------------------------------ HRANDFIELD

    /// <summary>Below this ratio HRANDFIELD copies the hash and removes from the copy (HRANDFIELD_SUB_STRATEGY_MUL).</summary>
    const int HrandfieldSubStrategyMul = 3;

    [Command("hrandfield")]
    static void HRandField(Client c)
    {
        if (c.Args.Count >= 3)
        {
            if (!SetCommands.TryGetRandomCount(c, 2, out long l)) return;
            bool withValues = false;
            if (c.Args.Count > 4 || (c.Args.Count == 4 && !c.Args.Is(3, "withvalues")))
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
            if (c.Args.Count == 4)
            {
                withValues = true;
                if (l < -long.MaxValue / 2 || l > long.MaxValue / 2)
                {
                    c.Reply.Error("value is out of range");
                    return;
                }
            }
            HRandFieldWithCount(c, l, withValues);
            return;
        }
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.Hash, MissingKeyReply.Null, out var o)) return;
        c.Reply.Bulk(HashType.Random(o).Field);
    }

    static void HRandFieldWithCount(Client c, long l, bool withValues)
    {
        bool uniq = l >= 0;
        long count = Math.Abs(l);
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.Hash, MissingKeyReply.EmptyArray, out var o)) return;
        long size = HashType.Length(o);
        if (count == 0)
        {
            c.Reply.EmptyArray();
            return;
        }
        // RESP3 nests each field,value pair; RESP2 flattens them.
        bool nested = withValues && c.Reply.Resp3;
        if (!uniq || count == 1)
        {
            c.Reply.ArrayLen(withValues && !nested ? count * 2 : count);
            while (count-- > 0) ReplyPair(c, HashType.Random(o), withValues, nested);
            return;
        }
        long replySize = Math.Min(count, size);
        c.Reply.ArrayLen(withValues && !nested ? replySize * 2 : replySize);
        if (count >= size)
        {
            foreach (var pair in HashType.Pairs(o)) ReplyPair(c, pair, withValues, nested);
            return;
        }
        var picked = new StringDict();
        if (count * HrandfieldSubStrategyMul > size)
        {
            foreach (var (f, v) in HashType.Pairs(o)) picked.Add(f, v);
            while (picked.Count > count) picked.Remove(picked.Random().Key);
        }
        else
        {
            while (picked.Count < count)
            {
                var (f, v) = HashType.Random(o);
                picked.Add(f, v);
            }
        }
        foreach (var e in picked.Entries()) ReplyPair(c, (e.Key, e.Value!), withValues, nested);
    }

    static void ReplyPair(Client c, (byte[] Field, byte[] Value) pair, bool withValues, bool nested)
    {
        if (nested) c.Reply.ArrayLen(2);
        c.Reply.Bulk(pair.Field);
        if (withValues) c.Reply.Bulk(pair.Value);
    }

    // ------------------------------------------------------------------ HSCAN

    [Command("hscan")]
    static void HScan(Client c)
    {
        if (!KeyspaceCommands.TryParseScanCursor(c, 2, out ulong cursor)) return;
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            ContainerScan.ReplyEmpty(c);
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.Hash)) return;
        if (!ContainerScan.TryParseOptions(c, 3, out long count, out var pattern)) return;
        var items = new List<byte[]>();
        if (o.Ptr is StringDict d) cursor = ContainerScan.ScanDict(d.Dict, cursor, count, withValues: true, items);
        else
        {
            foreach (var (f, v) in HashType.Pairs(o))
            {
                items.Add(f);
                items.Add(v);
            }
            cursor = 0;
        }
        ContainerScan.Reply(c, cursor, items, 2, pattern);
    }
}
