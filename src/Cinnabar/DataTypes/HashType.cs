// The hash type over its two encodings (t_hash.c's hashType* functions): a Listpack of
// consecutive field,value entries while there are at most hash-max-listpack-entries fields and
// no field or value is longer than hash-max-listpack-value bytes, else a StringDict
// ("hashtable"). Conversion is one way, as in Redis. A listpack hash's RedisObject.Ptr is the
// listpack's byte[] (robj->ptr in Redis), which once the key is linked also holds the key in
// front ([key][listpack], RedisObject.EmbeddedListpack); writes store the array back, as it may move.
using Cinnabar.Keyspace;

namespace Cinnabar.DataTypes;

public static class HashType
{
    public static RedisObject Create() => new(ObjType.Hash, ObjEncoding.Listpack, new Listpack().Buf);

    /// <summary>The listpack of a listpack-encoded hash (a view of Ptr), or false for a hashtable.</summary>
    public static bool TryGetListpack(RedisObject o, out Listpack lp)
    {
        if (o.Ptr is byte[] b)
        {
            lp = new Listpack(b, o.KeyLen);
            return true;
        }
        lp = default;
        return false;
    }

    public static long Length(RedisObject o) => TryGetListpack(o, out var lp) ? lp.Count / 2 : ((StringDict)o.Ptr!).Count;

    public static long Bytes(RedisObject o) => ObjectSize.PayloadSize(o.Ptr);

    /// <summary>hashTypeTryConversion: converts before a write that brings a too-long string into a listpack.</summary>
    public static void TryConversion(RedisObject o, long maxValue, ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (o.Ptr is byte[] && (a.Length > maxValue || b.Length > maxValue)) Convert(o);
    }

    /// <summary>Offset of the field's value in a listpack, or -1.</summary>
    static int FindValue(Listpack lp, ReadOnlySpan<byte> field)
    {
        int p = lp.First();
        if (p < 0) return -1;
        p = lp.Find(p, field, skip: 1);
        return p < 0 ? -1 : lp.Next(p);
    }

    /// <summary>hashTypeGetValue as bytes (integers formatted), or null.</summary>
    public static byte[]? Get(RedisObject o, ReadOnlySpan<byte> field)
    {
        if (TryGetListpack(o, out var lp))
        {
            int v = FindValue(lp, field);
            return v < 0 ? null : lp.GetBytes(v);
        }
        return ((StringDict)o.Ptr!).Get(field);
    }

    public static bool Exists(RedisObject o, ReadOnlySpan<byte> field) =>
        TryGetListpack(o, out var lp) ? FindValue(lp, field) >= 0 : ((StringDict)o.Ptr!).Contains(field);

    /// <summary>hashTypeSet: true when the field is new. Converts on a long string or too many entries.</summary>
    public static bool Set(RedisObject o, ReadOnlySpan<byte> field, ReadOnlySpan<byte> value, long maxEntries, long maxValue)
    {
        TryConversion(o, maxValue, field, value);
        if (TryGetListpack(o, out var lp))
        {
            int v = FindValue(lp, field);
            if (v >= 0)
            {
                lp.Replace(v, value);
                o.StoreListpack(lp.Buf);
                return false;
            }
            lp.Append(field);
            lp.Append(value);
            o.StoreListpack(lp.Buf);
            if (lp.Count / 2 > maxEntries) Convert(o);
            return true;
        }
        return ((StringDict)o.Ptr!).Set(field, value);
    }

    /// <summary>hashTypeDelete: true when the field existed.</summary>
    public static bool Delete(RedisObject o, ReadOnlySpan<byte> field)
    {
        if (TryGetListpack(o, out var lp))
        {
            int p = lp.First();
            if (p < 0 || (p = lp.Find(p, field, skip: 1)) < 0) return false;
            p = lp.Delete(p);
            lp.Delete(p);
            o.StoreListpack(lp.Buf);
            return true;
        }
        return ((StringDict)o.Ptr!).Remove(field);
    }

    /// <summary>hashTypeConvertListpack: moves every pair into a presized hashtable.</summary>
    public static void Convert(RedisObject o)
    {
        var lp = o.EmbeddedListpack;
        var d = new StringDict();
        d.Dict.Resize(lp.Count / 2);
        for (int p = lp.First(); p >= 0; p = lp.Next(lp.Next(p)))
            d.Add(lp.GetBytes(p), lp.GetBytes(lp.Next(p)));
        o.SetPayload(d);
        o.Encoding = ObjEncoding.HashTable;
    }

    /// <summary>Every field,value pair in encoding order (listpack order, or table order).</summary>
    public static IEnumerable<(byte[] Field, byte[] Value)> Pairs(RedisObject o)
    {
        if (TryGetListpack(o, out var lp))
        {
            for (int p = lp.First(); p >= 0; p = lp.Next(lp.Next(p)))
                yield return (lp.GetBytes(p), lp.GetBytes(lp.Next(p)));
            yield break;
        }
        foreach (var e in ((StringDict)o.Ptr!).Entries()) yield return (e.Key, e.Value!);
    }

    /// <summary>A random pair (hashTypeRandomElement / lpRandomPair).</summary>
    public static (byte[] Field, byte[] Value) Random(RedisObject o)
    {
        if (TryGetListpack(o, out var lp))
        {
            int p = lp.Seek(2L * System.Random.Shared.Next(lp.Count / 2));
            return (lp.GetBytes(p), lp.GetBytes(lp.Next(p)));
        }
        var e = ((StringDict)o.Ptr!).FairRandom();
        return (e.Key, e.Value!);
    }
}
