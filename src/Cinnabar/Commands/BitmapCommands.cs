// Bitmap commands (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and
// BITFIELD_RO over string values. Writers turn the value into a zero-padded raw string
// (lookupStringForBitCommand); readers see an int-encoded value as its decimal digits. The
// bit arithmetic lives in DataTypes/BitOps.cs.
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class BitmapCommands
{
    const string BitOffsetError = "bit offset is not an integer or out of range";

    /// <summary>
    /// getBitOffsetFromArgument: a bit offset below proto-max-bulk-len bytes; with hash, "#n"
    /// means n * bits (BITFIELD's type-width offsets).
    /// </summary>
    static bool GetBitOffset(Client c, int i, bool hash, int bits, out ulong offset)
    {
        offset = 0;
        var arg = c.Args[i];
        bool useHash = hash && bits > 0 && arg.Length > 0 && arg[0] == (byte)'#';
        if (!Protocol.RespParser.TryParseLong(useHash ? arg[1..] : arg, out long loffset))
        {
            c.Reply.Error(BitOffsetError);
            return false;
        }
        if (useHash) loffset = unchecked(loffset * bits);
        if (loffset < 0 || (!c.HasFlag(ClientFlags.Master) && (loffset >> 3) >= c.Server.Config.ProtoMaxBulkLen))
        {
            c.Reply.Error(BitOffsetError);
            return false;
        }
        offset = (ulong)loffset;
        return true;
    }

    /// <summary>
    /// lookupStringForBitCommand: the key's value as a raw string covering bit maxbit, created
    /// when missing, in the write scope w it opens on the key. Returns null after replying
    /// WRONGTYPE; the bits are the object's ValueArea. dirty says whether it was created or grown.
    /// </summary>
    static RedisObject? LookupStringForBitCommand(Client c, ulong maxbit, out bool dirty, out WriteScope w)
    {
        long bytes = (long)(maxbit >> 3) + 1;
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        dirty = false;
        w = default;
        if (KeyLookup.CheckType(c, o, ObjType.String)) return null;
        w = c.Db.BeginWrite(key, o);
        if (o == null)
        {
            o = RedisObject.CreateRawString(key, bytes);
            w.Add(o);
            dirty = true;
            return o;
        }
        long oldLen = o.StringLength();
        var raw = StringCommands.ResizeRaw(c.Db, o, bytes);
        dirty = raw.Length != oldLen;
        return o;
    }

    [Command("setbit")]
    static void SetBit(Client c)
    {
        const string bitError = "bit is not an integer or out of range";
        if (!GetBitOffset(c, 2, false, 0, out ulong offset)) return;
        if (!Arguments.TryGetLong(c, 3, out long on, bitError)) return;
        if ((on & ~1L) != 0)
        {
            c.Reply.Error(bitError);
            return;
        }
        var so = LookupStringForBitCommand(c, offset, out bool dirty, out var w);
        if (so == null) return;
        var s = so.ValueArea;
        int b = (int)(offset >> 3);
        int shift = 7 - (int)(offset & 7);
        int bitval = (s[b] >> shift) & 1;
        if (dirty || bitval != on)
        {
            s[b] = (byte)((s[b] & ~(1 << shift)) | ((int)on << shift));
            w.End(NotifyClass.String, "setbit");
        }
        else w.EndUnchanged();
        c.Reply.Integer(bitval);
    }

    [Command("getbit")]
    static void GetBit(Client c)
    {
        if (!GetBitOffset(c, 2, false, 0, out ulong offset)) return;
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.String, MissingKeyReply.Zero, out var o)) return;
        Span<byte> scratch = stackalloc byte[24];
        c.Reply.Integer(BitOps.GetBit(o.StringSpan(scratch), (long)offset));
    }

    /// <summary>
    /// Resolves BITCOUNT/BITPOS's [start end [BYTE|BIT]] into an inclusive bit range of a
    /// string of len bytes, with Redis's negative-index clamping. Returns false for an empty range.
    /// </summary>
    static bool ResolveRange(long len, long start, long end, bool isBit, out long startBit, out long endBit)
    {
        long totlen = isBit ? len << 3 : len;
        if (start < 0) start = totlen + start;
        if (end < 0) end = totlen + end;
        if (start < 0) start = 0;
        if (end < 0) end = 0;
        if (end >= totlen) end = totlen - 1;
        startBit = isBit ? start : start << 3;
        endBit = isBit ? end : (end << 3) + 7;
        return start <= end;
    }

    /// <summary>Parses the optional BYTE|BIT unit at argument i; false after a syntax error.</summary>
    static bool ParseUnit(Client c, int i, out bool isBit)
    {
        isBit = false;
        if (i >= c.Args.Count) return true;
        if (c.Args.Is(i, "bit")) isBit = true;
        else if (!c.Args.Is(i, "byte"))
        {
            c.Reply.Error(Errors.Syntax);
            return false;
        }
        return true;
    }

    [Command("bitcount")]
    static void BitCount(Client c)
    {
        // As in Redis 7.0, the key is looked up before the range is parsed.
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.String, MissingKeyReply.Zero, out var o)) return;
        Span<byte> scratch = stackalloc byte[24];
        var s = o.StringSpan(scratch);
        int argc = c.Args.Count;
        long startBit = 0, endBit = ((long)s.Length << 3) - 1;
        if (argc == 4 || argc == 5)
        {
            if (!Arguments.TryGetLong(c, 2, out long start) || !Arguments.TryGetLong(c, 3, out long end)) return;
            if (!ParseUnit(c, 4, out bool isBit)) return;
            if ((start < 0 && end < 0 && start > end) || !ResolveRange(s.Length, start, end, isBit, out startBit, out endBit))
            {
                c.Reply.Integer(0);
                return;
            }
        }
        else if (argc != 2)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (startBit > endBit)
        {
            c.Reply.Integer(0);
            return;
        }
        c.Reply.Integer(CountBits(s, startBit, endBit));
    }

    /// <summary>Set bits in [startBit, endBit]: whole bytes by popcount, the partial edge bytes masked.</summary>
    static long CountBits(ReadOnlySpan<byte> s, long startBit, long endBit)
    {
        int firstByte = (int)(startBit >> 3), lastByte = (int)(endBit >> 3);
        long count = BitOps.Popcount(s[firstByte..(lastByte + 1)]);
        int headMask = ~(0xFF >> (int)(startBit & 7)) & 0xFF; // bits before startBit
        int tailMask = (1 << (7 - (int)(endBit & 7))) - 1;     // bits after endBit
        count -= System.Numerics.BitOperations.PopCount((uint)(s[firstByte] & headMask));
        count -= System.Numerics.BitOperations.PopCount((uint)(s[lastByte] & tailMask));
        return count;
    }

    [Command("bitpos")]
    static void BitPos(Client c)
    {
        if (!Arguments.TryGetLong(c, 2, out long bit)) return;
        if (bit != 0 && bit != 1)
        {
            c.Reply.Error("The bit argument must be 1 or 0.");
            return;
        }
        // A missing key is an infinite run of zeros.
        var o = c.Db.LookupRead(c.Args[1]);
        if (o == null)
        {
            c.Reply.Integer(bit == 1 ? -1 : 0);
            return;
        }
        if (KeyLookup.CheckType(c, o, ObjType.String)) return;
        Span<byte> scratch = stackalloc byte[24];
        var s = o.StringSpan(scratch);
        int argc = c.Args.Count;
        bool endGiven = false;
        long startBit = 0, endBit = ((long)s.Length << 3) - 1;
        if (argc >= 4 && argc <= 6)
        {
            if (!Arguments.TryGetLong(c, 3, out long start)) return;
            if (!ParseUnit(c, 5, out bool isBit)) return;
            long end = s.Length - 1;
            if (argc >= 5)
            {
                if (!Arguments.TryGetLong(c, 4, out end)) return;
                endGiven = true;
            }
            if (!ResolveRange(s.Length, start, end, isBit, out startBit, out endBit))
            {
                c.Reply.Integer(-1);
                return;
            }
        }
        else if (argc != 3)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (startBit > endBit)
        {
            c.Reply.Integer(-1);
            return;
        }
        long pos = BitOps.Bitpos(s, startBit, endBit, (int)bit);
        // Looking for a clear bit without an explicit end, the string continues with zeros.
        if (pos == -1 && bit == 0 && !endGiven) pos = endBit + 1;
        c.Reply.Integer(pos);
    }

    [Command("bitop")]
    static void BitOp(Client c)
    {
        var args = c.Args;
        int op;
        if (args.Is(1, "and")) op = 0;
        else if (args.Is(1, "or")) op = 1;
        else if (args.Is(1, "xor")) op = 2;
        else if (args.Is(1, "not")) op = 3;
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (op == 3 && args.Count != 4)
        {
            c.Reply.Error("BITOP NOT must be called with a single source key.");
            return;
        }
        int numkeys = args.Count - 3;
        var sources = new byte[numkeys][];
        int maxlen = 0;
        for (int j = 0; j < numkeys; j++)
        {
            var o = c.Db.LookupRead(args[j + 3]);
            if (o == null)
            {
                sources[j] = [];
                continue;
            }
            if (KeyLookup.CheckType(c, o, ObjType.String)) return;
            sources[j] = o.StringBytes();
            maxlen = Math.Max(maxlen, sources[j].Length);
        }

        var target = args[2];
        if (maxlen > 0)
        {
            var res = new byte[maxlen];
            for (int i = 0; i < maxlen; i++)
            {
                int output = i < sources[0].Length ? sources[0][i] : 0;
                if (op == 3) output = ~output;
                for (int j = 1; j < numkeys; j++)
                {
                    int b = i < sources[j].Length ? sources[j][i] : 0;
                    output = op switch { 0 => output & b, 1 => output | b, _ => output ^ b };
                }
                res[i] = (byte)output;
            }
            var w = c.Db.BeginWrite(target);
            w.Set(RedisObject.CreateRawString(res));
            w.End(NotifyClass.String, "set");
        }
        else
        {
            var w = c.Db.BeginWrite(target);
            if (w.Delete()) w.End(NotifyClass.Generic, "del");
        }
        c.Reply.Integer(maxlen);
    }

    enum BitfieldOpcode : byte
    {
        Get,
        Set,
        IncrBy,
    }

    readonly record struct BitfieldOp(BitfieldOpcode Opcode, ulong Offset, long Value, int Bits, bool Signed, BitfieldOverflow Overflow);

    [Command("bitfield")]
    static void BitField(Client c) => BitFieldGeneric(c, readOnly: false);

    [Command("bitfield_ro")]
    static void BitFieldRo(Client c) => BitFieldGeneric(c, readOnly: true);

    /// <summary>
    /// bitfieldGeneric: parses every operation first (so a bad one changes nothing), grows
    /// the string once to the highest written bit, then runs them in order.
    /// </summary>
    static void BitFieldGeneric(Client c, bool readOnly)
    {
        var args = c.Args;
        var ops = new List<BitfieldOp>();
        var overflow = BitfieldOverflow.Wrap;
        bool onlyGets = true;
        ulong highestWrite = 0;
        for (int j = 2; j < args.Count; j++)
        {
            int remargs = args.Count - j - 1;
            BitfieldOpcode opcode;
            if (args.Is(j, "get") && remargs >= 2) opcode = BitfieldOpcode.Get;
            else if (args.Is(j, "set") && remargs >= 3) opcode = BitfieldOpcode.Set;
            else if (args.Is(j, "incrby") && remargs >= 3) opcode = BitfieldOpcode.IncrBy;
            else if (args.Is(j, "overflow") && remargs >= 1)
            {
                j++;
                if (args.Is(j, "wrap")) overflow = BitfieldOverflow.Wrap;
                else if (args.Is(j, "sat")) overflow = BitfieldOverflow.Sat;
                else if (args.Is(j, "fail")) overflow = BitfieldOverflow.Fail;
                else
                {
                    c.Reply.Error("Invalid OVERFLOW type specified");
                    return;
                }
                continue;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }

            if (!GetBitfieldType(c, j + 1, out bool signed, out int bits)) return;
            if (!GetBitOffset(c, j + 2, true, bits, out ulong offset)) return;
            long value = 0;
            if (opcode != BitfieldOpcode.Get)
            {
                onlyGets = false;
                highestWrite = Math.Max(highestWrite, offset + (ulong)bits - 1);
                if (!Arguments.TryGetLong(c, j + 3, out value)) return;
            }
            ops.Add(new BitfieldOp(opcode, offset, value, bits, signed, overflow));
            j += opcode == BitfieldOpcode.Get ? 2 : 3;
        }

        RedisObject? target = null;
        RedisObject? readValue = null;
        WriteScope w = default;
        bool grown = false;
        if (onlyGets)
        {
            readValue = c.Db.LookupRead(args[1]);
            if (KeyLookup.CheckType(c, readValue, ObjType.String)) return;
        }
        else
        {
            if (readOnly)
            {
                c.Reply.Error("BITFIELD_RO only supports the GET subcommand");
                return;
            }
            target = LookupStringForBitCommand(c, highestWrite, out grown, out w);
            if (target == null) return;
        }

        c.Reply.ArrayLen(ops.Count);
        int changes = 0;
        Span<byte> scratch = stackalloc byte[24];
        foreach (var op in ops)
        {
            if (op.Opcode == BitfieldOpcode.Get)
            {
                ReadOnlySpan<byte> src = target != null ? target.ValueArea : readValue != null ? readValue.StringSpan(scratch) : default;
                if (op.Signed) c.Reply.Integer(BitOps.GetSignedBitfield(src, op.Offset, op.Bits));
                else c.Reply.Integer((long)BitOps.GetUnsignedBitfield(src, op.Offset, op.Bits));
                continue;
            }
            // bitfieldGeneric counts a write that happened (not an OVERFLOW FAIL) if it changed the
            // value, or every one when the string was created or grown for this command.
            if (ExecuteWrite(c, target!.ValueArea, op, out bool changed) && (changed || grown)) changes++;
        }
        if (changes > 0) w.End(NotifyClass.String, "setbit", changes);
        else if (target != null) w.EndUnchanged();
    }

    /// <summary>SET replies the old value, INCRBY the new one; an overflow under FAIL writes nothing, replies nil and returns false.</summary>
    static bool ExecuteWrite(Client c, Span<byte> s, BitfieldOp op, out bool changed)
    {
        changed = false;
        bool incr = op.Opcode == BitfieldOpcode.IncrBy;
        if (op.Signed)
        {
            long oldval = BitOps.GetSignedBitfield(s, op.Offset, op.Bits);
            long newval, retval;
            int overflowed;
            if (incr)
            {
                overflowed = BitOps.CheckSignedOverflow(oldval, op.Value, op.Bits, op.Overflow, out long wrapped);
                newval = overflowed != 0 ? wrapped : unchecked(oldval + op.Value);
                retval = newval;
            }
            else
            {
                overflowed = BitOps.CheckSignedOverflow(op.Value, 0, op.Bits, op.Overflow, out long wrapped);
                newval = overflowed != 0 ? wrapped : op.Value;
                retval = oldval;
            }
            if (overflowed != 0 && op.Overflow == BitfieldOverflow.Fail)
            {
                c.Reply.Null();
                return false;
            }
            c.Reply.Integer(retval);
            BitOps.SetUnsignedBitfield(s, op.Offset, op.Bits, (ulong)newval);
            changed = oldval != newval;
        }
        else
        {
            ulong oldval = BitOps.GetUnsignedBitfield(s, op.Offset, op.Bits);
            ulong newval, retval;
            int overflowed;
            if (incr)
            {
                overflowed = BitOps.CheckUnsignedOverflow(oldval, op.Value, op.Bits, op.Overflow, out ulong wrapped);
                newval = overflowed != 0 ? wrapped : unchecked(oldval + (ulong)op.Value);
                retval = newval;
            }
            else
            {
                overflowed = BitOps.CheckUnsignedOverflow((ulong)op.Value, 0, op.Bits, op.Overflow, out ulong wrapped);
                newval = overflowed != 0 ? wrapped : (ulong)op.Value;
                retval = oldval;
            }
            if (overflowed != 0 && op.Overflow == BitfieldOverflow.Fail)
            {
                c.Reply.Null();
                return false;
            }
            c.Reply.Integer((long)retval);
            BitOps.SetUnsignedBitfield(s, op.Offset, op.Bits, newval);
            changed = oldval != newval;
        }
        return true;
    }

    /// <summary>getBitfieldTypeFromArgument: i1..i64 or u1..u63 (lower-case prefix, as Redis).</summary>
    static bool GetBitfieldType(Client c, int i, out bool signed, out int bits)
    {
        var arg = c.Args[i];
        signed = false;
        bits = 0;
        if (arg.Length > 0 && (arg[0] == (byte)'i' || arg[0] == (byte)'u'))
        {
            signed = arg[0] == (byte)'i';
            if (Protocol.RespParser.TryParseLong(arg[1..], out long n) && n >= 1 && n <= (signed ? 64 : 63))
            {
                bits = (int)n;
                return true;
            }
        }
        c.Reply.Error("Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
        return false;
    }
}
