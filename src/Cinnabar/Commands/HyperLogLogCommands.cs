// HyperLogLog commands (hyperloglog.c): PFADD, PFCOUNT (single key with the cached cardinality,
// several keys as a union), PFMERGE, PFDEBUG and PFSELFTEST. The HLL is an ordinary raw string
// value holding HyperLogLog's bytes (after the key in the object's array). Handlers work on a
// copy (a write may grow it: sparse growth, promotion to dense) and store it back, in place
// when the size is unchanged.
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

    /// <summary>dbUnshareStringValue: the value becomes a raw string; returns a working copy of its bytes.</summary>
    static byte[] Unshare(RedisObject o)
    {
        o.Encoding = ObjEncoding.Raw;
        return o.ValueArea.ToArray();
    }

    /// <summary>Stores the (possibly reallocated) working copy back into its object, with memory accounting.</summary>
    static void Store(Client c, RedisObject o, byte[] hll) => c.Db.SetStringValue(o, hll, ObjEncoding.Raw);

    [Command("pfadd")]
    static void PfAdd(Client c)
    {
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        long updated = 0;
        if (o == null)
        {
            o = RedisObject.CreateRawString(HyperLogLog.Create());
            c.Db.Add(key, o);
            updated++;
        }
        else if (!IsHllOrReply(c, o)) return;
        var hll = Unshare(o);
        long maxBytes = c.Server.Config.HllSparseMaxBytes;
        for (int j = 2; j < c.Args.Count; j++)
        {
            int r = HyperLogLog.Add(ref hll, c.Args[j], maxBytes);
            if (r < 0)
            {
                Store(c, o, hll);
                c.Reply.Error(HyperLogLog.InvalidHllError);
                return;
            }
            updated += r;
        }
        if (updated > 0) HyperLogLog.InvalidateCache(hll);
        Store(c, o, hll);
        if (updated > 0)
        {
            c.Server.SignalModifiedKey(c.Db, key);
            c.Server.Events.Notify(NotifyClass.String, "pfadd", key, c.Db.Id);
            c.Server.Stats.Dirty += updated;
        }
        c.Reply.Integer(updated > 0 ? 1 : 0);
    }

    [Command("pfcount")]
    static void PfCount(Client c)
    {
        if (c.Args.Count > 2)
        {
            // The union of several HLLs: merge into one byte per register, then count.
            var max = new byte[HyperLogLog.Registers];
            for (int j = 1; j < c.Args.Count; j++)
            {
                var so = c.Db.LookupRead(c.Args[j]);
                if (so == null) continue;
                if (!IsHllOrReply(c, so)) return;
                if (!HyperLogLog.Merge(max, so.ValueArea.ToArray()))
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
            // Caching modifies the value, so it counts as a write for WATCH and propagation.
            HyperLogLog.SetCachedCardinality(hll, card);
            Store(c, o, hll);
            c.Server.SignalModifiedKey(c.Db, key);
            c.Server.Stats.Dirty++;
        }
        c.Reply.Integer((long)card);
    }

    [Command("pfmerge")]
    static void PfMerge(Client c)
    {
        var max = new byte[HyperLogLog.Registers];
        bool useDense = false;
        for (int j = 1; j < c.Args.Count; j++)
        {
            var so = c.Db.LookupRead(c.Args[j]);
            if (so == null) continue;
            if (!IsHllOrReply(c, so)) return;
            var s = so.ValueArea.ToArray();
            if (HyperLogLog.Encoding(s) == HyperLogLog.Dense) useDense = true;
            if (!HyperLogLog.Merge(max, s))
            {
                c.Reply.Error(HyperLogLog.InvalidHllError);
                return;
            }
        }
        var key = c.Args[1];
        var o = c.Db.LookupWrite(key);
        if (o == null)
        {
            o = RedisObject.CreateRawString(HyperLogLog.Create());
            c.Db.Add(key, o);
        }
        var hll = Unshare(o);
        if (useDense)
        {
            var dense = HyperLogLog.SparseToDense(hll);
            if (dense == null)
            {
                c.Reply.Error(HyperLogLog.InvalidHllError);
                return;
            }
            hll = dense;
        }
        HyperLogLog.SetRegisters(ref hll, max, c.Server.Config.HllSparseMaxBytes);
        HyperLogLog.InvalidateCache(hll);
        Store(c, o, hll);
        c.Server.SignalModifiedKey(c.Db, key);
        // PFMERGE announces itself as "pfadd": in effect a mass add of elements.
        c.Server.Events.Notify(NotifyClass.String, "pfadd", key, c.Db.Id);
        c.Server.Stats.Dirty++;
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
        var hll = Unshare(o);
        switch (cmd.ToLowerInvariant())
        {
            case "getreg":
                if (!ToDense(c, o, ref hll)) return;
                c.Reply.ArrayLen(HyperLogLog.Registers);
                for (int j = 0; j < HyperLogLog.Registers; j++) c.Reply.Integer(HyperLogLog.DenseGet(hll, HyperLogLog.HeaderSize, j));
                break;
            case "decode":
                if (HyperLogLog.Encoding(hll) != HyperLogLog.Sparse)
                {
                    c.Reply.Error("HLL encoding is not sparse");
                    return;
                }
                c.Reply.Bulk(HyperLogLog.Decode(hll));
                break;
            case "encoding":
                c.Reply.Status(HyperLogLog.Encoding(hll) == HyperLogLog.Dense ? "dense" : "sparse");
                break;
            case "todense":
                bool converted = HyperLogLog.Encoding(hll) == HyperLogLog.Sparse;
                if (!ToDense(c, o, ref hll)) return;
                c.Reply.Integer(converted ? 1 : 0);
                break;
            default:
                c.Reply.Error($"Unknown PFDEBUG subcommand '{cmd}'");
                break;
        }
    }

    static bool ToDense(Client c, RedisObject o, ref byte[] hll)
    {
        if (HyperLogLog.Encoding(hll) != HyperLogLog.Sparse) return true;
        var dense = HyperLogLog.SparseToDense(hll);
        if (dense == null)
        {
            c.Reply.Error(HyperLogLog.InvalidHllError);
            return false;
        }
        hll = dense;
        Store(c, o, hll);
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
                HyperLogLog.DenseSet(dense, HyperLogLog.HeaderSize, i, r);
            }
            for (int i = 0; i < HyperLogLog.Registers; i++)
            {
                int val = HyperLogLog.DenseGet(dense, HyperLogLog.HeaderSize, i);
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
            HyperLogLog.Add(ref dense, ele, maxBytes);
            HyperLogLog.Add(ref sparse, ele, maxBytes);
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
