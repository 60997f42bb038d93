// The set type over its two 7.0 encodings (t_set.c's setType* functions): an Intset while every
// member is an integer (string2ll rules) and there are at most set-max-intset-entries of them,
// else a StringDict ("hashtable"). Conversion is one way, as in Redis.
using Cinnabar.Keyspace;
using Cinnabar.Protocol;

namespace Cinnabar.DataTypes;

public static class SetType
{
    /// <summary>setTypeCreate: an intset when the first member is an integer, else a hashtable.</summary>
    public static RedisObject Create(ReadOnlySpan<byte> firstMember) =>
        RespParser.TryParseLong(firstMember, out _) ? CreateIntset() : CreateHashTable();

    public static RedisObject CreateIntset() => new(ObjType.Set, ObjEncoding.IntSet, new Intset());

    public static RedisObject CreateHashTable() => new(ObjType.Set, ObjEncoding.HashTable, new StringDict());

    public static long Size(RedisObject o) => o.Ptr is Intset i ? i.Count : ((StringDict)o.Ptr!).Count;

    public static long Bytes(RedisObject o) => ((ISizedValue)o.Ptr!).SizeInBytes;

    /// <summary>setTypeAdd: true when added; converts to hashtable for a non-integer or the entry limit.</summary>
    public static bool Add(RedisObject o, ReadOnlySpan<byte> member, long maxIntsetEntries)
    {
        if (o.Ptr is Intset iset)
        {
            if (RespParser.TryParseLong(member, out long v))
            {
                if (!iset.Add(v)) return false;
                if (iset.Count > maxIntsetEntries) Convert(o);
                return true;
            }
            Convert(o);
        }
        return ((StringDict)o.Ptr!).Add(member);
    }

    public static bool Remove(RedisObject o, ReadOnlySpan<byte> member)
    {
        if (o.Ptr is Intset iset) return RespParser.TryParseLong(member, out long v) && iset.Remove(v);
        return ((StringDict)o.Ptr!).Remove(member);
    }

    public static bool IsMember(RedisObject o, ReadOnlySpan<byte> member)
    {
        if (o.Ptr is Intset iset) return RespParser.TryParseLong(member, out long v) && iset.Contains(v);
        return ((StringDict)o.Ptr!).Contains(member);
    }

    /// <summary>setTypeConvert to hashtable, presized for the current members.</summary>
    public static void Convert(RedisObject o)
    {
        var iset = (Intset)o.Ptr!;
        var d = new StringDict();
        d.Dict.Resize(iset.Count);
        for (int i = 0; i < iset.Count; i++) d.Add(Format(iset.Get(i)));
        o.Ptr = d;
        o.Encoding = ObjEncoding.HashTable;
    }

    public static byte[] Format(long v) => System.Text.Encoding.ASCII.GetBytes(v.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>setTypeNext over the whole set: intsets in ascending order, hashtables in table order.</summary>
    public static IEnumerable<byte[]> Members(RedisObject o)
    {
        if (o.Ptr is Intset iset)
        {
            for (int i = 0; i < iset.Count; i++) yield return Format(iset.Get(i));
            yield break;
        }
        foreach (var e in ((StringDict)o.Ptr!).Entries()) yield return e.Key;
    }

    /// <summary>setTypeRandomElement.</summary>
    public static byte[] Random(RedisObject o) => o.Ptr is Intset iset ? Format(iset.Random()) : ((StringDict)o.Ptr!).FairRandom().Key;
}
