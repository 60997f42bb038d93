// The conversions between Redis replies and Lua values (Redis's redisProtocolToLuaType,
// luaReplyToRedisReply and luaArgsToRedisArgv in script_lua.c):
//   * a redis.call's arguments: strings as they are, integers in decimal, floats as "%.17g";
//   * a command's reply (RESP2 or RESP3 bytes from the script client) to Lua: integers, strings,
//     false for nulls (nil for RESP3's null), {ok=...}, {err=...}, arrays, {map=...}, {set=...},
//     {double=...}, {big_number=...}, {verbatim_string=...};
//   * the script's return value to the caller's reply, the reverse, numbers truncated to integers.
// Lua 5.4 keeps integers exact where Redis's 5.1 had doubles: an integer reply up to 2^63 stays exact.
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Scripting;

static class LuaReplies
{
    /// <summary>luaArgsToRedisArgv: the Lua stack's 1..argc into args, copied to arena. False when an argument is neither string nor number.</summary>
    public static bool ArgsToArgv(IntPtr l, int argc, CommandArgs args, ref byte[] arena)
    {
        args.Clear();
        args.EnsureCapacity(argc);
        int used = 0;
        Span<byte> number = stackalloc byte[32];
        for (int i = 1; i <= argc; i++)
        {
            int type = LuaNative.Type(l, i);
            scoped ReadOnlySpan<byte> bytes;
            if (type == LuaNative.TNumber)
            {
                int n;
                if (LuaNative.IsInteger(l, i) != 0) Utf8Formatter.TryFormat(LuaNative.ToInteger(l, i), number, out n);
                else n = Encoding.ASCII.GetBytes(FormatG17(LuaNative.ToNumber(l, i)), number);
                bytes = number[..n];
            }
            else if (type == LuaNative.TString) bytes = LuaNative.ToSpan(l, i);
            else return false;
            if (used + bytes.Length > arena.Length) arena = new byte[Math.Max(arena.Length * 2, used + bytes.Length)];
            bytes.CopyTo(arena.AsSpan(used));
            args.Add(arena, used, bytes.Length);
            used += bytes.Length;
        }
        return true;
    }

    /// <summary>printf's %.17g, as Redis formats a float argument.</summary>
    public static string FormatG17(double d)
    {
        if (double.IsNaN(d)) return d < 0 || double.IsNegative(d) ? "-nan" : "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        return ReplyWriter.FormatG17(d);
    }

    /// <summary>The script client's whole pending reply as one span (its buffer, or scratch when it spans chunks).</summary>
    public static ReadOnlySpan<byte> TakeReply(ReplyBuffer output, ref byte[] scratch)
    {
        if (output.ChunkCount == 0) return output.PeekHead();
        long total = output.Pending;
        if (scratch.Length < total) scratch = new byte[Math.Max(total, scratch.Length * 2)];
        var segments = new List<ArraySegment<byte>>();
        output.GetPendingSegments(segments, int.MaxValue);
        int at = 0;
        foreach (var seg in segments)
        {
            seg.AsSpan().CopyTo(scratch.AsSpan(at));
            at += seg.Count;
        }
        return scratch.AsSpan(0, at);
    }

    static int LineEnd(ReadOnlySpan<byte> r, int from) => from + r[from..].IndexOf((byte)'\r');

    static long ParseLong(ReadOnlySpan<byte> s)
    {
        Utf8Parser.TryParse(s, out long v, out _);
        return v;
    }

    /// <summary>redisProtocolToLuaType: pushes the reply starting at pos (our own server's output, so well formed) and moves pos past it.</summary>
    public static void PushReply(IntPtr l, ReadOnlySpan<byte> r, ref int pos)
    {
        LuaNative.CheckStack(l, 4);
        byte type = r[pos];
        int end = LineEnd(r, pos);
        var line = r[(pos + 1)..end];
        pos = end + 2;
        switch (type)
        {
            case (byte)':':
                LuaNative.PushInteger(l, ParseLong(line));
                return;
            case (byte)'$':
                {
                    long len = ParseLong(line);
                    if (len < 0)
                    {
                        LuaNative.PushBoolean(l, 0);
                        return;
                    }
                    LuaNative.PushBytes(l, r.Slice(pos, (int)len));
                    pos += (int)len + 2;
                    return;
                }
            case (byte)'+':
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushBytes(l, line);
                LuaNative.SetField(l, -2, "ok");
                return;
            case (byte)'-':
                LuaEngine.PushErrorTable(l, "-" + Encoding.Latin1.GetString(line), ignoreStats: true);
                return;
            case (byte)'*':
            case (byte)'>':
                {
                    long n = ParseLong(line);
                    if (n < 0)
                    {
                        LuaNative.PushBoolean(l, 0);
                        return;
                    }
                    LuaNative.CreateTable(l, (int)n, 0);
                    for (int j = 1; j <= n; j++)
                    {
                        PushReply(l, r, ref pos);
                        LuaNative.RawSetI(l, -2, j);
                    }
                    return;
                }
            case (byte)'%':
                {
                    long n = ParseLong(line);
                    LuaNative.CreateTable(l, 0, 1);
                    LuaNative.CreateTable(l, 0, (int)n);
                    for (int j = 0; j < n; j++)
                    {
                        PushReply(l, r, ref pos);
                        PushReply(l, r, ref pos);
                        SetTableOrDrop(l);
                    }
                    LuaNative.SetField(l, -2, "map");
                    return;
                }
            case (byte)'~':
                {
                    long n = ParseLong(line);
                    LuaNative.CreateTable(l, 0, 1);
                    LuaNative.CreateTable(l, 0, (int)n);
                    for (int j = 0; j < n; j++)
                    {
                        PushReply(l, r, ref pos);
                        LuaNative.PushBoolean(l, 1);
                        SetTableOrDrop(l);
                    }
                    LuaNative.SetField(l, -2, "set");
                    return;
                }
            case (byte)'_':
                LuaNative.PushNil(l);
                return;
            case (byte)'#':
                LuaNative.PushBoolean(l, line.Length > 0 && line[0] == (byte)'t' ? 1 : 0);
                return;
            case (byte)',':
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushNumber(l, ParseDouble(line));
                LuaNative.SetField(l, -2, "double");
                return;
            case (byte)'(':
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushBytes(l, line);
                LuaNative.SetField(l, -2, "big_number");
                return;
            case (byte)'=':
                {
                    long len = ParseLong(line);
                    var body = r.Slice(pos, (int)len);
                    pos += (int)len + 2;
                    LuaNative.CreateTable(l, 0, 1);
                    LuaNative.CreateTable(l, 0, 2);
                    LuaNative.PushBytes(l, body[4..]);
                    LuaNative.SetField(l, -2, "string");
                    LuaNative.PushBytes(l, body[..3]);
                    LuaNative.SetField(l, -2, "format");
                    LuaNative.SetField(l, -2, "verbatim_string");
                    return;
                }
            case (byte)'|':
                {
                    // Attributes are not shown to scripts: skip them, then the reply itself.
                    long n = ParseLong(line);
                    int top = LuaNative.GetTop(l);
                    for (int j = 0; j < 2 * n; j++) PushReply(l, r, ref pos);
                    LuaNative.SetTop(l, top);
                    PushReply(l, r, ref pos);
                    return;
                }
            default:
                LuaNative.PushNil(l);
                return;
        }
    }

    /// <summary>t[k] = v with k, v on top; a nil key (RESP3 null) is dropped as lua_settable would refuse it.</summary>
    static void SetTableOrDrop(IntPtr l)
    {
        if (LuaNative.Type(l, -2) == LuaNative.TNil)
        {
            LuaNative.Pop(l, 2);
            return;
        }
        LuaNative.RawSet(l, -3);
    }

    static double ParseDouble(ReadOnlySpan<byte> s)
    {
        var text = Encoding.ASCII.GetString(s);
        return text switch
        {
            "inf" => double.PositiveInfinity,
            "-inf" => double.NegativeInfinity,
            "nan" or "-nan" => double.NaN,
            _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
    }

    /// <summary>
    /// luaReplyToRedisReply: the value at idx replied to the caller. scriptResp is the protocol
    /// the script set (redis.setresp): under RESP2 a boolean true is 1 and false is a null.
    /// </summary>
    public static void WriteReply(IntPtr l, int idx, ReplyWriter w, int scriptResp, int depth = 0)
    {
        if (LuaNative.CheckStack(l, 4) == 0 || depth > 1000)
        {
            w.Error("reached lua stack limit");
            return;
        }
        idx = idx < 0 ? LuaNative.GetTop(l) + idx + 1 : idx;
        switch (LuaNative.Type(l, idx))
        {
            case LuaNative.TString:
                w.Bulk(LuaNative.ToSpan(l, idx));
                return;
            case LuaNative.TBoolean:
                bool b = LuaNative.ToBoolean(l, idx) != 0;
                if (scriptResp == 2)
                {
                    if (b) w.Integer(1);
                    else w.Null();
                }
                else w.Boolean(b);
                return;
            case LuaNative.TNumber:
                w.Integer(LuaNative.IsInteger(l, idx) != 0 ? LuaNative.ToInteger(l, idx) : Truncate(LuaNative.ToNumber(l, idx)));
                return;
            case LuaNative.TTable:
                WriteTable(l, idx, w, scriptResp, depth);
                return;
            default:
                w.Null();
                return;
        }
    }

    /// <summary>(long long) of a double as C does it on x86-64 (out of range and NaN give LLONG_MIN).</summary>
    static long Truncate(double d) => double.IsNaN(d) || d >= 9.2233720368547758e18 || d < -9.2233720368547758e18 ? long.MinValue : (long)d;

    static void WriteTable(IntPtr l, int idx, ReplyWriter w, int scriptResp, int depth)
    {
        // An error: {err = "..."}.
        if (RawField(l, idx, "err"u8) == LuaNative.TString)
        {
            var msg = Encoding.Latin1.GetString(LuaNative.ToSpan(l, -1));
            LuaNative.Pop(l, 1);
            bool ignoreStats = RawFieldBool(l, idx, "ignore_error_stats_update"u8);
            w.ErrorWithRawBytes("-" + msg, countInStats: !ignoreStats);
            return;
        }
        LuaNative.Pop(l, 1);
        if (RawField(l, idx, "ok"u8) == LuaNative.TString)
        {
            var ok = LuaNative.ToSpan(l, -1).ToArray();
            for (int i = 0; i < ok.Length; i++)
                if (ok[i] is (byte)'\r' or (byte)'\n') ok[i] = (byte)' ';
            LuaNative.Pop(l, 1);
            w.Status(ok);
            return;
        }
        LuaNative.Pop(l, 1);
        if (RawField(l, idx, "double"u8) == LuaNative.TNumber)
        {
            double d = LuaNative.ToNumber(l, -1);
            LuaNative.Pop(l, 1);
            w.Double(d);
            return;
        }
        LuaNative.Pop(l, 1);
        if (RawField(l, idx, "big_number"u8) == LuaNative.TString)
        {
            var digits = Encoding.Latin1.GetString(LuaNative.ToSpan(l, -1)).Replace('\r', ' ').Replace('\n', ' ');
            LuaNative.Pop(l, 1);
            w.BigNumber(digits);
            return;
        }
        LuaNative.Pop(l, 1);
        if (RawField(l, idx, "verbatim_string"u8) == LuaNative.TTable)
        {
            int v = LuaNative.GetTop(l);
            if (RawField(l, v, "format"u8) == LuaNative.TString && RawField(l, v, "string"u8) == LuaNative.TString)
            {
                var format = Encoding.Latin1.GetString(LuaNative.ToSpan(l, -2));
                var text = Encoding.UTF8.GetString(LuaNative.ToSpan(l, -1));
                LuaNative.SetTop(l, v - 1);
                w.Verbatim(text, format);
                return;
            }
            LuaNative.SetTop(l, v);
        }
        LuaNative.Pop(l, 1);
        if (RawField(l, idx, "map"u8) == LuaNative.TTable)
        {
            int m = LuaNative.GetTop(l);
            w.MapLen(CountPairs(l, m));
            LuaNative.PushNil(l);
            while (LuaNative.Next(l, m) != 0)
            {
                WriteReply(l, -2, w, scriptResp, depth + 1);
                WriteReply(l, -1, w, scriptResp, depth + 1);
                LuaNative.Pop(l, 1);
            }
            LuaNative.Pop(l, 1);
            return;
        }
        LuaNative.Pop(l, 1);
        if (RawField(l, idx, "set"u8) == LuaNative.TTable)
        {
            int s = LuaNative.GetTop(l);
            w.SetLen(CountPairs(l, s));
            LuaNative.PushNil(l);
            while (LuaNative.Next(l, s) != 0)
            {
                WriteReply(l, -2, w, scriptResp, depth + 1);
                LuaNative.Pop(l, 1);
            }
            LuaNative.Pop(l, 1);
            return;
        }
        LuaNative.Pop(l, 1);
        // An array: 1, 2, ... up to the first nil.
        int n = 0;
        while (LuaNative.RawGetI(l, idx, n + 1) != LuaNative.TNil)
        {
            LuaNative.Pop(l, 1);
            n++;
        }
        LuaNative.Pop(l, 1);
        w.ArrayLen(n);
        for (int j = 1; j <= n; j++)
        {
            LuaNative.RawGetI(l, idx, j);
            WriteReply(l, -1, w, scriptResp, depth + 1);
            LuaNative.Pop(l, 1);
        }
    }

    static int CountPairs(IntPtr l, int t)
    {
        int n = 0;
        LuaNative.PushNil(l);
        while (LuaNative.Next(l, t) != 0)
        {
            LuaNative.Pop(l, 1);
            n++;
        }
        return n;
    }

    /// <summary>Pushes t[name] without metamethods and returns its type.</summary>
    static int RawField(IntPtr l, int t, ReadOnlySpan<byte> name)
    {
        LuaNative.PushBytes(l, name);
        return LuaNative.RawGet(l, t);
    }

    static bool RawFieldBool(IntPtr l, int t, ReadOnlySpan<byte> name)
    {
        RawField(l, t, name);
        bool b = LuaNative.Type(l, -1) == LuaNative.TBoolean && LuaNative.ToBoolean(l, -1) != 0;
        LuaNative.Pop(l, 1);
        return b;
    }
}
