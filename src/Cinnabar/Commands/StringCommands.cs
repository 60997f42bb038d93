// String commands (Redis's t_string.c): GET/SET and their variants, counters, ranges, LCS.
// Handlers follow Redis's shape (look up, check type, act, reply) with the shared generic
// helpers SetGeneric, GetGeneric, IncrDecr and MsetGeneric. GET, SET, INCR and MGET allocate
// nothing in steady state: SET overwrites a same-length string in place (values are never
// shared between keys) and INCR updates an int-encoded value in place.
using System.Text;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Protocol;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class StringCommands
{
    /// <summary>The options parseExtendedStringArgumentsOrReply understands (OBJ_SET_* and friends).</summary>
    [Flags]
    enum SetFlags
    {
        None = 0,
        NX = 1 << 0,
        XX = 1 << 1,
        Get = 1 << 2,
        KeepTtl = 1 << 3,
        Persist = 1 << 4,
        EX = 1 << 5,
        PX = 1 << 6,
        EXAT = 1 << 7,
        PXAT = 1 << 8,
        AnyExpire = EX | PX | EXAT | PXAT,
    }

    enum ExtendedFor
    {
        Set,
        Get,
    }

    /// <summary>What SET-like commands reply on success and when NX/XX aborts: SET's OK/nil or SETNX's 1/0.</summary>
    enum SetReplyStyle
    {
        OkOrNull,
        OneOrZero,
    }

    // ------------------------------------------------------------------ GET / SET family

    [Command("get")]
    static void Get(Client c) => GetGeneric(c);

    /// <summary>getGenericCommand: replies with the value, nil, or WRONGTYPE (then returns false).</summary>
    static bool GetGeneric(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            c.Reply.Null();
            return true;
        }
        if (KeyLookup.CheckType(c, o, ObjType.String)) return false;
        ReplyString(c, o);
        return true;
    }

    [Command("set")]
    static void Set(Client c)
    {
        var flags = SetFlags.None;
        int expireIdx = 0;
        if (c.Args.Count > 3 && !ParseExtendedStringArguments(c, ExtendedFor.Set, out flags, out expireIdx)) return;
        SetGeneric(c, flags, 2, expireIdx, SetReplyStyle.OkOrNull);
    }

    [Command("setnx")]
    static void SetNx(Client c) => SetGeneric(c, SetFlags.NX, 2, 0, SetReplyStyle.OneOrZero);

    [Command("setex")]
    static void SetEx(Client c) => SetGeneric(c, SetFlags.EX, 3, 2, SetReplyStyle.OkOrNull);

    [Command("psetex")]
    static void PSetEx(Client c) => SetGeneric(c, SetFlags.PX, 3, 2, SetReplyStyle.OkOrNull);

    /// <summary>
    /// parseExtendedStringArgumentsOrReply: the NX/XX/GET/KEEPTTL/PERSIST/EX/PX/EXAT/PXAT
    /// options, with Redis's exact conflict rules (a repeated EX is allowed, EX after PX is not).
    /// </summary>
    static bool ParseExtendedStringArguments(Client c, ExtendedFor cmd, out SetFlags flags, out int expireIdx)
    {
        flags = SetFlags.None;
        expireIdx = 0;
        var args = c.Args;
        int first = cmd == ExtendedFor.Set ? 3 : 2;
        for (int j = first; j < args.Count; j++)
        {
            bool hasNext = j < args.Count - 1;
            bool set = cmd == ExtendedFor.Set;
            if (args.Is(j, "nx") && (flags & SetFlags.XX) == 0 && set) flags |= SetFlags.NX;
            else if (args.Is(j, "xx") && (flags & SetFlags.NX) == 0 && set) flags |= SetFlags.XX;
            else if (args.Is(j, "get") && set) flags |= SetFlags.Get;
            else if (args.Is(j, "keepttl") && (flags & (SetFlags.Persist | SetFlags.AnyExpire)) == 0 && set) flags |= SetFlags.KeepTtl;
            else if (args.Is(j, "persist") && !set && (flags & (SetFlags.KeepTtl | SetFlags.AnyExpire)) == 0) flags |= SetFlags.Persist;
            else if (TryExpireOption(args, j, "ex", SetFlags.EX, hasNext, ref flags)
                || TryExpireOption(args, j, "px", SetFlags.PX, hasNext, ref flags)
                || TryExpireOption(args, j, "exat", SetFlags.EXAT, hasNext, ref flags)
                || TryExpireOption(args, j, "pxat", SetFlags.PXAT, hasNext, ref flags))
            {
                expireIdx = ++j;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return false;
            }
        }
        return true;
    }

    /// <summary>An expire option is accepted when no other TTL option (nor KEEPTTL/PERSIST) was given and a value follows.</summary>
    static bool TryExpireOption(CommandArgs args, int j, string name, SetFlags flag, bool hasNext, ref SetFlags flags)
    {
        if (!args.Is(j, name) || !hasNext) return false;
        var conflicts = (SetFlags.KeepTtl | SetFlags.Persist | SetFlags.AnyExpire) & ~flag;
        if ((flags & conflicts) != 0) return false;
        flags |= flag;
        return true;
    }

    /// <summary>getExpireMillisecondsOrReply: the absolute unix-ms deadline for the option at argument i.</summary>
    static bool GetExpireMilliseconds(Client c, int i, SetFlags flags, out long ms)
    {
        if (!Arguments.TryGetLong(c, i, out ms)) return false;
        bool seconds = (flags & (SetFlags.EX | SetFlags.EXAT)) != 0;
        if (ms <= 0 || (seconds && ms > long.MaxValue / 1000))
        {
            InvalidExpire(c);
            return false;
        }
        if (seconds) ms *= 1000;
        if ((flags & (SetFlags.EX | SetFlags.PX)) != 0) ms = unchecked(ms + c.Server.NowMs);
        if (ms <= 0)
        {
            InvalidExpire(c);
            return false;
        }
        return true;
    }

    static void InvalidExpire(Client c) => c.Reply.Error($"invalid expire time in '{c.Cmd!.FullName}' command");

    /// <summary>setGenericCommand: SET, SETNX, SETEX and PSETEX.</summary>
    static void SetGeneric(Client c, SetFlags flags, int valueIdx, int expireIdx, SetReplyStyle style)
    {
        long ms = 0;
        if (expireIdx != 0 && !GetExpireMilliseconds(c, expireIdx, flags, out ms)) return;
        if ((flags & SetFlags.Get) != 0 && !GetGeneric(c)) return;

        var key = c.Args[1];
        var existing = c.Db.LookupWrite(key);
        bool found = existing != null;
        if (((flags & SetFlags.NX) != 0 && found) || ((flags & SetFlags.XX) != 0 && !found))
        {
            if ((flags & SetFlags.Get) == 0)
            {
                if (style == SetReplyStyle.OneOrZero) c.Reply.Integer(0);
                else c.Reply.Null();
            }
            return;
        }

        var w = c.Db.BeginWrite(key, existing);
        StoreString(ref w, key, existing, c.Args[valueIdx], (flags & SetFlags.KeepTtl) != 0);
        if (expireIdx != 0) w.SetExpire(ms);
        w.End(NotifyClass.String, "set");
        if (expireIdx != 0)
        {
            w.Notify(NotifyClass.Generic, "expire");
            // Propagated as SET key value PXAT <absolute ms>: a replica or the AOF applies the same deadline.
            c.Server.Propagation.ReplaceArgv(5).Add("SET"u8).Add(key).Add(c.Args[valueIdx]).Add("PXAT"u8).Add(ms);
        }
        else if ((flags & SetFlags.Get) != 0) PropagateWithoutGet(c);
        if ((flags & SetFlags.Get) == 0)
        {
            if (style == SetReplyStyle.OneOrZero) c.Reply.Integer(1);
            else c.Reply.Ok();
        }
    }

    /// <summary>SET ... GET propagates without its GET arguments (replicas have no one to reply to).</summary>
    static void PropagateWithoutGet(Client c)
    {
        var args = c.Args;
        int argc = 0;
        for (int j = 0; j < args.Count; j++)
            if (j < 3 || !args.Is(j, "get")) argc++;
        var argv = c.Server.Propagation.ReplaceArgv(argc);
        for (int j = 0; j < args.Count; j++)
            if (j < 3 || !args.Is(j, "get")) argv.Add(args[j]);
    }

    /// <summary>
    /// setKey with tryObjectEncoding, inside the caller's write scope on key (existing is the
    /// current value, already looked up). An existing string is reused when the new value fits
    /// it exactly, so steady-state overwrites allocate nothing.
    /// </summary>
    static void StoreString(ref WriteScope w, ReadOnlySpan<byte> key, RedisObject? existing, ReadOnlySpan<byte> value, bool keepTtl)
    {
        if (existing != null && existing.Type == ObjType.String && TryOverwriteInPlace(existing, value))
        {
            if (!keepTtl) w.RemoveExpire();
            return;
        }
        // The new object carries the key: its array is [key][value], so the value is copied once.
        w.Set(RedisObject.CreateStringEncoded(key, value), keepTtl);
    }

    /// <summary>Writes the new value into the existing [key][value] array when it has exactly the room needed.</summary>
    static bool TryOverwriteInPlace(RedisObject o, ReadOnlySpan<byte> value)
    {
        if (value.Length <= 20 && RespParser.TryParseLong(value, out long v))
        {
            if (o.ValueArea.Length != sizeof(long)) return false;
            o.Encoding = ObjEncoding.Int;
            o.IntValue = v;
            return true;
        }
        if (o.ValueArea.Length != value.Length) return false;
        value.CopyTo(o.ValueArea);
        o.Encoding = value.Length <= RedisObject.EmbstrSizeLimit ? ObjEncoding.EmbStr : ObjEncoding.Raw;
        return true;
    }

    [Command("getex")]
    static void GetEx(Client c)
    {
        if (!ParseExtendedStringArguments(c, ExtendedFor.Get, out var flags, out int expireIdx)) return;
        var key = c.Args[1];
        if (!KeyLookup.LookupReadOrReply(c, key, ObjType.String, MissingKeyReply.Null, out var o)) return;
        long ms = 0;
        if (expireIdx != 0 && !GetExpireMilliseconds(c, expireIdx, flags, out ms)) return;

        // Reply first: the key may be deleted right below.
        ReplyString(c, o);
        if ((flags & (SetFlags.EXAT | SetFlags.PXAT)) != 0 && ms <= c.Server.NowMs && !c.Server.IsReplica && !c.Server.Loading)
        {
            PropagateAsDeletion(c, key);
            var w = c.Db.BeginWrite(key, o);
            w.Delete();
            w.End(NotifyClass.Generic, "del");
        }
        else if (expireIdx != 0)
        {
            c.Server.Propagation.ReplaceArgv(3).Add("PEXPIREAT"u8).Add(key).Add(ms);
            var w = c.Db.BeginWrite(key, o);
            w.SetExpire(ms);
            w.End(NotifyClass.Generic, "expire");
        }
        else if ((flags & SetFlags.Persist) != 0 && c.Db.GetExpire(key) != -1)
        {
            c.Server.Propagation.ReplaceArgv(2).Add("PERSIST"u8).Add(key);
            var w = c.Db.BeginWrite(key, o);
            w.RemoveExpire();
            w.End(NotifyClass.Generic, "persist");
        }
    }

    /// <summary>A key deleted because its new deadline has passed propagates as DEL (UNLINK under lazyfree-lazy-expire).</summary>
    internal static void PropagateAsDeletion(Client c, ReadOnlySpan<byte> key) =>
        c.Server.Propagation.ReplaceArgv(2).Add(c.Server.Config.GetBool("lazyfree-lazy-expire") ? "UNLINK"u8 : "DEL"u8).Add(key);

    [Command("getdel")]
    static void GetDel(Client c)
    {
        if (!GetGeneric(c)) return;
        var w = c.Db.BeginWrite(c.Args[1]);
        if (w.Delete())
        {
            c.Server.Propagation.ReplaceArgv(2).Add("DEL"u8).Add(c.Args[1]);
            w.End(NotifyClass.Generic, "del");
        }
    }

    [Command("getset")]
    static void GetSet(Client c)
    {
        if (!GetGeneric(c)) return;
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        var w = c.Db.BeginWrite(key, o);
        StoreString(ref w, key, o, c.Args[2], keepTtl: false);
        w.End(NotifyClass.String, "set");
        c.Server.Propagation.ReplaceArgv(3).Add("SET"u8).Add(key).Add(c.Args[2]);
    }

    [Command("mget")]
    static void MGet(Client c)
    {
        int n = c.Args.Count - 1;
        c.Reply.ArrayLen(n);
        for (int j = 1; j <= n; j++)
        {
            var o = c.Db.LookupRead(c.Args[j]);
            if (o == null || o.Type != ObjType.String) c.Reply.Null();
            else ReplyString(c, o);
        }
    }

    [Command("mset")]
    static void MSet(Client c) => MSetGeneric(c, nx: false);

    [Command("msetnx")]
    static void MSetNx(Client c) => MSetGeneric(c, nx: true);

    /// <summary>msetGenericCommand: MSETNX sets nothing (and replies 0) if any key exists.</summary>
    static void MSetGeneric(Client c, bool nx)
    {
        var args = c.Args;
        if (args.Count % 2 == 0)
        {
            c.Reply.Error($"wrong number of arguments for '{c.Cmd!.FullName}' command");
            return;
        }
        if (nx)
        {
            for (int j = 1; j < args.Count; j += 2)
            {
                if (c.Db.LookupWrite(args[j]) != null)
                {
                    c.Reply.Integer(0);
                    return;
                }
            }
        }
        for (int j = 1; j < args.Count; j += 2)
        {
            var o = c.Db.LookupWrite(args[j]);
            var w = c.Db.BeginWrite(args[j], o);
            StoreString(ref w, args[j], o, args[j + 1], keepTtl: false);
            w.End(NotifyClass.String, "set");
        }
        if (nx) c.Reply.Integer(1);
        else c.Reply.Ok();
    }

    // ------------------------------------------------------------------ counters

    [Command("incr")]
    static void Incr(Client c) => IncrDecr(c, 1);

    [Command("decr")]
    static void Decr(Client c) => IncrDecr(c, -1);

    [Command("incrby")]
    static void IncrBy(Client c)
    {
        if (!Arguments.TryGetLong(c, 2, out long incr)) return;
        IncrDecr(c, incr);
    }

    [Command("decrby")]
    static void DecrBy(Client c)
    {
        if (!Arguments.TryGetLong(c, 2, out long decr)) return;
        if (decr == long.MinValue)
        {
            c.Reply.Error("decrement would overflow");
            return;
        }
        IncrDecr(c, -decr);
    }

    /// <summary>incrDecrCommand: an int-encoded value is updated in place; the TTL is kept.</summary>
    static void IncrDecr(Client c, long incr)
    {
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (KeyLookup.CheckType(c, o, ObjType.String)) return;
        long value = 0;
        if (o != null && !TryGetLongFromObject(o, out value))
        {
            c.Reply.Error(Errors.NotInteger);
            return;
        }
        if ((incr < 0 && value < 0 && incr < long.MinValue - value) ||
            (incr > 0 && value > 0 && incr > long.MaxValue - value))
        {
            c.Reply.Error("increment or decrement would overflow");
            return;
        }
        value += incr;
        var w = c.Db.BeginWrite(key, o);
        if (o == null)
        {
            w.Add(RedisObject.CreateInt(key, value));
        }
        else
        {
            // An int is 8 bytes after the key: rewritten in place, or a raw digit string's array is resized once.
            if (o.Encoding != ObjEncoding.Int)
            {
                c.Db.ResizeStringValue(o, sizeof(long));
                o.Encoding = ObjEncoding.Int;
            }
            o.IntValue = value;
        }
        w.End(NotifyClass.String, "incrby");
        c.Reply.Integer(value);
    }

    /// <summary>getLongLongFromObject for a string value: int encoding, or a canonical decimal string.</summary>
    static bool TryGetLongFromObject(RedisObject o, out long value)
    {
        if (o.Encoding == ObjEncoding.Int)
        {
            value = o.IntValue;
            return true;
        }
        return RespParser.TryParseLong(o.ValueArea, out value);
    }

    /// <summary>incrbyfloatCommand: long double arithmetic (see LongDouble), stored as the formatted string.</summary>
    [Command("incrbyfloat")]
    static void IncrByFloat(Client c)
    {
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (KeyLookup.CheckType(c, o, ObjType.String)) return;
        LongDouble value = default;
        if (o != null)
        {
            if (o.Encoding == ObjEncoding.Int) value = LongDouble.FromLong(o.IntValue);
            else if (!LongDouble.TryParse(o.ValueArea, out value))
            {
                c.Reply.Error(Errors.NotFloat);
                return;
            }
        }
        if (!LongDouble.TryParse(c.Args[2], out var incr))
        {
            c.Reply.Error(Errors.NotFloat);
            return;
        }
        var sum = value + incr;
        if (sum.IsInfinity)
        {
            c.Reply.Error("increment would produce NaN or Infinity");
            return;
        }
        var formatted = Encoding.ASCII.GetBytes(sum.ToHumanString());
        var w = c.Db.BeginWrite(key, o);
        w.Set(RedisObject.CreateString(key, formatted), keepTtl: true);
        w.End(NotifyClass.String, "incrbyfloat");
        // Float formatting may differ between platforms: replicas get the result, not the increment.
        c.Server.Propagation.ReplaceArgv(4).Add("SET"u8).Add(key).Add(formatted).Add("KEEPTTL"u8);
        c.Reply.Bulk(formatted);
    }

    // ------------------------------------------------------------------ lengths and ranges

    [Command("strlen")]
    static void StrLen(Client c)
    {
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.String, MissingKeyReply.Zero, out var o)) return;
        c.Reply.Integer(o.StringLength());
    }

    [Command("append")]
    static void Append(Client c)
    {
        var key = c.Args[1];
        var append = c.Args[2];
        var o = c.Db.LookupWrite(key);
        long totlen;
        WriteScope w;
        if (o == null)
        {
            var created = RedisObject.CreateStringEncoded(key, append);
            w = c.Db.BeginWrite(key, null);
            w.Add(created);
            totlen = created.StringLength();
        }
        else
        {
            if (KeyLookup.CheckType(c, o, ObjType.String)) return;
            long oldLen = o.StringLength();
            if (!CheckStringLength(c, oldLen, append.Length)) return;
            w = c.Db.BeginWrite(key, o);
            var grown = ResizeRaw(c.Db, o, oldLen + append.Length);
            append.CopyTo(grown[(int)oldLen..]);
            totlen = grown.Length;
        }
        w.End(NotifyClass.String, "append");
        c.Reply.Integer(totlen);
    }

    [Command("setrange")]
    static void SetRange(Client c)
    {
        var key = c.Args[1];
        var value = c.Args[3];
        if (!Arguments.TryGetLong(c, 2, out long offset)) return;
        if (offset < 0)
        {
            c.Reply.Error("offset is out of range");
            return;
        }
        var o = c.Db.LookupWrite(key);
        Span<byte> bytes;
        WriteScope w;
        if (o == null)
        {
            if (value.Length == 0)
            {
                c.Reply.Integer(0);
                return;
            }
            if (!CheckStringLength(c, offset, value.Length)) return;
            var created = RedisObject.CreateRawString(key, offset + value.Length);
            w = c.Db.BeginWrite(key, null);
            w.Add(created);
            bytes = created.ValueArea;
        }
        else
        {
            if (KeyLookup.CheckType(c, o, ObjType.String)) return;
            long olen = o.StringLength();
            if (value.Length == 0)
            {
                c.Reply.Integer(olen);
                return;
            }
            if (!CheckStringLength(c, offset, value.Length)) return;
            w = c.Db.BeginWrite(key, o);
            bytes = ResizeRaw(c.Db, o, Math.Max(olen, offset + value.Length));
        }
        value.CopyTo(bytes[(int)offset..]);
        w.End(NotifyClass.String, "setrange");
        c.Reply.Integer(bytes.Length);
    }

    [Command("getrange")]
    static void GetRange(Client c) => GetRangeGeneric(c);

    [Command("substr")]
    static void Substr(Client c) => GetRangeGeneric(c);

    /// <summary>getrangeCommand: inclusive byte range with negative indexes from the end.</summary>
    static void GetRangeGeneric(Client c)
    {
        if (!Arguments.TryGetLong(c, 2, out long start) || !Arguments.TryGetLong(c, 3, out long end)) return;
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            c.Reply.Bulk(ReadOnlySpan<byte>.Empty);
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.String)) return;
        Span<byte> scratch = stackalloc byte[24];
        var str = o.StringSpan(scratch);
        long len = str.Length;
        if (start < 0 && end < 0 && start > end)
        {
            c.Reply.Bulk(ReadOnlySpan<byte>.Empty);
            return;
        }
        if (start < 0) start = len + start;
        if (end < 0) end = len + end;
        if (start < 0) start = 0;
        if (end < 0) end = 0;
        if (end >= len) end = len - 1;
        if (start > end || len == 0) c.Reply.Bulk(ReadOnlySpan<byte>.Empty);
        else c.Reply.Bulk(str.Slice((int)start, (int)(end - start + 1)));
    }

    // ------------------------------------------------------------------ LCS

    [Command("lcs")]
    static void LcsCommand(Client c)
    {
        var oa = c.Db.LookupRead(c.Args[1]);
        var ob = c.Db.LookupRead(c.Args[2]);
        if ((oa != null && oa.Type != ObjType.String) || (ob != null && ob.Type != ObjType.String))
        {
            c.Reply.Error("The specified keys must contain string values");
            return;
        }
        bool getLen = false, getIdx = false, withMatchLen = false;
        long minMatchLen = 0;
        for (int j = 3; j < c.Args.Count; j++)
        {
            bool moreArgs = j < c.Args.Count - 1;
            if (c.Args.Is(j, "idx")) getIdx = true;
            else if (c.Args.Is(j, "len")) getLen = true;
            else if (c.Args.Is(j, "withmatchlen")) withMatchLen = true;
            else if (c.Args.Is(j, "minmatchlen") && moreArgs)
            {
                if (!Arguments.TryGetLong(c, j + 1, out minMatchLen)) return;
                if (minMatchLen < 0) minMatchLen = 0;
                j++;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if (getIdx && getLen)
        {
            c.Reply.Error("If you want both the length and indexes, please just use IDX.");
            return;
        }
        byte[] a = oa?.StringBytes() ?? [], b = ob?.StringBytes() ?? [];
        if (Lcs.TableBytes(a.Length, b.Length) > (ulong)c.Server.Config.ProtoMaxBulkLen)
        {
            c.Reply.Error("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
            return;
        }
        var ranges = getIdx ? new List<LcsRange>() : null;
        var lcs = Lcs.Compute(a, b, ranges);
        if (getIdx)
        {
            c.Reply.MapLen(2);
            c.Reply.Bulk("matches"u8);
            int emitted = 0;
            foreach (var r in ranges!)
                if (minMatchLen == 0 || r.Length >= minMatchLen) emitted++;
            c.Reply.ArrayLen(emitted);
            foreach (var r in ranges)
            {
                if (minMatchLen != 0 && r.Length < minMatchLen) continue;
                c.Reply.ArrayLen(withMatchLen ? 3 : 2);
                c.Reply.ArrayLen(2);
                c.Reply.Integer(r.AStart);
                c.Reply.Integer(r.AEnd);
                c.Reply.ArrayLen(2);
                c.Reply.Integer(r.BStart);
                c.Reply.Integer(r.BEnd);
                if (withMatchLen) c.Reply.Integer(r.Length);
            }
            c.Reply.Bulk("len"u8);
            c.Reply.Integer(lcs.Length);
        }
        else if (getLen) c.Reply.Integer(lcs.Length);
        else c.Reply.Bulk(lcs);
    }

    // ------------------------------------------------------------------ shared helpers (also used by BitmapCommands)

    /// <summary>Bulk reply of a string value in either encoding.</summary>
    internal static void ReplyString(Client c, RedisObject o)
    {
        if (o.Encoding == ObjEncoding.Int) c.Reply.BulkLong(o.IntValue);
        else c.Reply.Bulk(o.ValueArea);
    }

    /// <summary>checkStringLength: the result of growing a string must fit proto-max-bulk-len (the primary is obeyed).</summary>
    internal static bool CheckStringLength(Client c, long size, long append)
    {
        if (c.HasFlag(ClientFlags.Master)) return true;
        long total = unchecked(size + append);
        if (total > c.Server.Config.ProtoMaxBulkLen || total < size || total < append || total > Array.MaxLength)
        {
            c.Reply.Error("string exceeds maximum allowed size (proto-max-bulk-len)");
            return false;
        }
        return true;
    }

    /// <summary>
    /// dbUnshareStringValue + sdsgrowzero: turns o into a raw string of at least newLength
    /// bytes (zero padded), keeping its contents, inside the caller's write scope on o's key.
    /// Returns the value bytes, writable in place (they live after the key in the object's array).
    /// </summary>
    internal static Span<byte> ResizeRaw(Database db, RedisObject o, long newLength)
    {
        if (o.Encoding == ObjEncoding.Int)
        {
            Span<byte> scratch = stackalloc byte[24];
            var digits = o.StringSpan(scratch);
            db.ResizeStringValue(o, Math.Max(newLength, digits.Length));
            digits.CopyTo(o.ValueArea);
            o.ValueArea[digits.Length..].Clear();
        }
        else if (o.ValueArea.Length < newLength)
        {
            db.ResizeStringValue(o, newLength);
        }
        o.Encoding = ObjEncoding.Raw;
        return o.ValueArea;
    }

}
