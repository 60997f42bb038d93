// HyperLogLog commands (hyperloglog.c): PFADD, PFCOUNT (single key with the cached cardinality,
// several keys as a union), PFMERGE, PFDEBUG and PFSELFTEST. The HLL is an ordinary raw string
// value holding HyperLogLog's bytes after the key in the object's [key][value] array, and the
// handlers change it there, as Redis changes the sds: register updates and PFCOUNT's cached
// cardinality are written in place (inside a WriteScope), sources are read as spans, and only a
// sparse HLL that changes size or turns dense gets a new array, which the object adopts
// (Database.AdoptStringBuffer).
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class HyperLogLogCommands
{
    /// <summary>isHLLObjectOrReply: WRONGTYPE for non-strings and for strings that are not an HLL.</summary>
    static bool IsHllOrReply(Client c, RedisObject o)
    {
        if (KeyLookup.CheckType(c, o, ObjType.String)) return false;
        if (o.Encoding != ObjEncoding.Int && HyperLogLog.IsValidObject(o.ValueArea)) return true;
        c.Reply.Error("-WRONGTYPE Key is not a valid HyperLogLog string value.");
        return false;
    }

    /// <summary>createHLLObject with the key embedded: an empty sparse HLL, raw encoded.</summary>
    static RedisObject CreateHll(ReadOnlySpan<byte> key)
    {
        var o = RedisObject.CreateRawString(key, HyperLogLog.EmptySize);
        HyperLogLog.InitEmpty(o.ValueArea);
        return o;
    }

    /// <summary>dbUnshareStringValue: the value becomes raw (an embstr HLL written by SET), its bytes stay where they are.</summary>
    static Span<byte> Unshare(RedisObject o)
    {
        o.Encoding = ObjEncoding.Raw;
        return o.ValueArea;
    }

    /// <summary>After a write that may have moved the HLL to a new [key][value] array: the object adopts it.</summary>
    static void Store(Client c, RedisObject o, byte[] buf)
    {
        if (!ReferenceEquals(buf, o.KeyBuf)) c.Db.AdoptStringBuffer(o, buf);
    }

    [Command("pfadd")]
    static void PfAdd(Client c)
    {
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        long updated = 0;
        if (o != null && !IsHllOrReply(c, o)) return;
        var w = c.Db.BeginWrite(key, o);
        if (o == null)
        {
            o = CreateHll(key);
            w.Add(o);
            updated++;
        }
        else Unshare(o);
        var buf = o.KeyBuf;
        long maxBytes = c.Server.Config.HllSparseMaxBytes;
        for (int j = 2; j < c.Args.Count; j++)
        {
            int r = HyperLogLog.Add(ref buf, o.KeyLen, c.Args[j], maxBytes);
            if (r < 0)
            {
                Store(c, o, buf);
                w.EndUnchanged();
                c.Reply.Error(HyperLogLog.InvalidHllError);
                return;
            }
            updated += r;
        }
        if (updated > 0) HyperLogLog.InvalidateCache(buf.AsSpan(o.KeyLen));
        Store(c, o, buf);
        if (updated > 0) w.End(NotifyClass.String, "pfadd", updated);
        else w.EndUnchanged();
        c.Reply.Integer(updated > 0 ? 1 : 0);
    }

    [Command("pfcount")]
    static void PfCount(Client c)
    {
        if (c.Args.Count > 2)
        {
            // The union of several HLLs: merge into one byte per register (on the stack, as
            // Redis's max[HLL_REGISTERS]), then count.
            Span<byte> max = stackalloc byte[HyperLogLog.Registers];
            for (int j = 1; j < c.Args.Count; j++)
            {
                var so = c.Db.LookupRead(c.Args[j]);
                if (so == null) continue;
                if (!IsHllOrReply(c, so)) return;
                if (!HyperLogLog.Merge(max, so.ValueArea))
                {
                    c.Reply.Error(HyperLogLog.InvalidHllError);
                    return;
                }
            }
            c.Reply.Integer((long)HyperLogLog.CountRaw(max));
            return;
        }
        var key = c.Args[1];
        var o = c.Db.LookupRead(key);
        if (o == null)
        {
            c.Reply.Integer(0);
            return;
        }
        if (!IsHllOrReply(c, o)) return;
        var hll = Unshare(o);
        ulong card;
        if (HyperLogLog.ValidCache(hll)) card = HyperLogLog.CachedCardinality(hll);
        else
        {
            card = HyperLogLog.Count(hll, out bool invalid);
            if (invalid)
            {
                c.Reply.Error(HyperLogLog.InvalidHllError);
                return;
            }
            // Caching modifies the stored value, so it counts as a write for WATCH and propagation
            // (with no keyspace event, as in Redis).
            var w = c.Db.BeginWrite(key, o);
            HyperLogLog.SetCachedCardinality(hll, card);
            w.End(NotifyClass.None, null);
        }
        c.Reply.Integer((long)card);
    }

    [Command("pfmerge")]
    static void PfMerge(Client c)
    {
        Span<byte> max = stackalloc byte[HyperLogLog.Registers];
        bool useDense = false;
        for (int j = 1; j < c.Args.Count; j++)
        {
            var so = c.Db.LookupRead(c.Args[j]);
            if (so == null) continue;
            if (!IsHllOrReply(c, so)) return;
            var s = so.ValueArea;
            if (HyperLogLog.Encoding(s) == HyperLogLog.Dense) useDense = true;
            if (!HyperLogLog.Merge(max, s))
            {
                c.Reply.Error(HyperLogLog.InvalidHllError);
                return;
            }
        }
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        var w = c.Db.BeginWrite(key, o);
        if (o == null)
        {
            o = CreateHll(key);
            w.Add(o);
        }
        else Unshare(o);
        var buf = o.KeyBuf;
        if (useDense && !HyperLogLog.ToDense(ref buf, o.KeyLen))
        {
            w.EndUnchanged();
            c.Reply.Error(HyperLogLog.InvalidHllError);
            return;
        }
        HyperLogLog.SetRegisters(ref buf, o.KeyLen, max, c.Server.Config.HllSparseMaxBytes);
        HyperLogLog.InvalidateCache(buf.AsSpan(o.KeyLen));
        Store(c, o, buf);
        // PFMERGE announces itself as "pfadd": in effect a mass add of elements.
        w.End(NotifyClass.String, "pfadd");
        c.Reply.Ok();
    }

    [Command("pfdebug")]
    static void PfDebug(Client c)
    {
        string cmd = c.Args.ToStringAt(1);
        var key = c.Args[2];
        var o = c.Db.LookupWrite(key);
        if (o == null)
        {
            c.Reply.Error("The specified key does not exist");
            return;
        }
        if (!IsHllOrReply(c, o)) return;
        Unshare(o);
        switch (cmd.ToLowerInvariant())
        {
            case "getreg":
                if (!ToDense(c, key, o)) return;
                var dense = o.ValueArea;
                c.Reply.ArrayLen(HyperLogLog.Registers);
                for (int j = 0; j < HyperLogLog.Registers; j++) c.Reply.Integer(HyperLogLog.DenseGet(dense, j));
                break;
            case "decode":
                if (HyperLogLog.Encoding(o.ValueArea) != HyperLogLog.Sparse)
                {
                    c.Reply.Error("HLL encoding is not sparse");
                    return;
                }
                c.Reply.Bulk(HyperLogLog.Decode(o.ValueArea));
                break;
            case "encoding":
                c.Reply.Status(HyperLogLog.Encoding(o.ValueArea) == HyperLogLog.Dense ? "dense" : "sparse");
                break;
            case "todense":
                bool converted = HyperLogLog.Encoding(o.ValueArea) == HyperLogLog.Sparse;
                if (!ToDense(c, key, o)) return;
                c.Reply.Integer(converted ? 1 : 0);
                break;
            default:
                c.Reply.Error($"Unknown PFDEBUG subcommand '{cmd}'");
                break;
        }
    }

    /// <summary>
    /// PFDEBUG's sparse-to-dense conversion: the object adopts the dense array. An encoding
    /// change, so Redis counts it dirty (to propagate it) but neither signals nor notifies.
    /// </summary>
    static bool ToDense(Client c, ReadOnlySpan<byte> key, RedisObject o)
    {
        if (HyperLogLog.Encoding(o.ValueArea) != HyperLogLog.Sparse) return true;
        var buf = o.KeyBuf;
        if (!HyperLogLog.ToDense(ref buf, o.KeyLen))
        {
            c.Reply.Error(HyperLogLog.InvalidHllError);
            return false;
        }
        var w = c.Db.BeginWrite(key, o);
        c.Db.AdoptStringBuffer(o, buf);
        w.EndUnchanged();
        c.Server.Stats.Dirty++;
        return true;
    }

    const int SelfTestCycles = 1000;

    /// <summary>
    /// PFSELFTEST: register access on random values, then ten million distinct elements added to a
    /// dense and a sparse HLL that must agree and stay within six standard errors at each power of ten.
    /// </summary>
    [Command("pfselftest")]
    static void PfSelfTest(Client c)
    {
        var rng = new Random();
        var dense = new byte[HyperLogLog.DenseSize];
        "HYLL"u8.CopyTo(dense);
        var bytes = new byte[HyperLogLog.Registers];
        for (int j = 0; j < SelfTestCycles; j++)
        {
            for (int i = 0; i < HyperLogLog.Registers; i++)
            {
                int r = rng.Next() & HyperLogLog.RegisterMax;
                bytes[i] = (byte)r;
                HyperLogLog.DenseSet(dense, i, r);
            }
            for (int i = 0; i < HyperLogLog.Registers; i++)
            {
                int val = HyperLogLog.DenseGet(dense, i);
                if (val != bytes[i])
                {
                    c.Reply.Error($"TESTFAILED Register {i} should be {bytes[i]} but is {val}");
                    return;
                }
            }
        }

        Array.Clear(dense, HyperLogLog.HeaderSize, dense.Length - HyperLogLog.HeaderSize);
        var sparse = HyperLogLog.Create();
        long maxBytes = c.Server.Config.HllSparseMaxBytes;
        double relerr = 1.04 / Math.Sqrt(HyperLogLog.Registers);
        long checkpoint = 1;
        ulong seed = (ulong)rng.NextInt64();
        Span<byte> ele = stackalloc byte[8];
        for (long j = 1; j <= 10_000_000; j++)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(ele, (ulong)j ^ seed);
            HyperLogLog.Add(ref dense, 0, ele, maxBytes);
            HyperLogLog.Add(ref sparse, 0, ele, maxBytes);
            if (j != checkpoint) continue;
            if (j < maxBytes / 2 && HyperLogLog.Encoding(sparse) != HyperLogLog.Sparse)
            {
                c.Reply.Error("TESTFAILED sparse encoding not used");
                return;
            }
            ulong denseCount = HyperLogLog.Count(dense, out _);
            if (denseCount != HyperLogLog.Count(sparse, out _))
            {
                c.Reply.Error("TESTFAILED dense/sparse disagree");
                return;
            }
            long abserr = Math.Abs(checkpoint - (long)denseCount);
            long maxerr = (long)Math.Ceiling(relerr * 6 * checkpoint);
            if (j == 10) maxerr = 1;
            if (abserr > maxerr)
            {
                c.Reply.Error($"TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}");
                return;
            }
            checkpoint *= 10;
        }
        c.Reply.Ok();
    }
}
