// DEBUG DIGEST and DEBUG DIGEST-VALUE's hash (Redis's debug.c: xorDigest, mixDigest,
// xorObjectDigest, computeDatasetDigest), byte for byte, so a Cinnabar replica and a
// redis-server primary (or the reverse) can be compared with one command. Unordered things (keys,
// set members, hash fields, sorted set elements) are XORed together as SHA1s (xorDigest: digest
// ^= SHA1(data)) so their order does not matter; ordered things (list elements, a key's parts)
// are mixed: digest = SHA1(digest ^ SHA1(data)). Members stored as integers are digested as their decimal text, scores as %.17g;
// a stream mixes its live entries in ID order.
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;

namespace Cinnabar.Commands;

public static class DatasetDigest
{
    /// <summary>computeDatasetDigest: every db's id mixed in, then each key's digest XORed in; 20 zero bytes for an empty dataset.</summary>
    public static byte[] Compute(IEnumerable<Database> databases)
    {
        var final = new byte[20];
        Span<byte> aux = stackalloc byte[4];
        foreach (var db in databases)
        {
            if (db.Count == 0) continue;
            BinaryPrimitives.WriteUInt32BigEndian(aux, (uint)db.Id);
            Mix(final, aux);
            var digest = new byte[20];
            foreach (var o in db.Main.Entries())
            {
                Array.Clear(digest);
                Mix(digest, o.KeySpan);
                XorObject(db, o.KeySpan, digest, o);
                XorHash(final, digest);
            }
        }
        return final;
    }

    /// <summary>xorObjectDigest: the value's type and contents (and whether it has a TTL) mixed into digest.</summary>
    public static void XorObject(Database db, ReadOnlySpan<byte> key, byte[] digest, RedisObject o)
    {
        Span<byte> aux = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(aux, (uint)o.Type);
        Mix(digest, aux);
        var element = new byte[20];
        switch (o.Type)
        {
            case ObjType.String:
                Mix(digest, o.StringBytes());
                break;
            case ObjType.List:
                var ql = (Quicklist)o.Ptr!;
                var it = ql.GetIterator(fromHead: true);
                while (it.Next(out var e)) Mix(digest, Quicklist.GetBytes(e));
                it.Release();
                break;
            case ObjType.Set:
                foreach (var member in SetType.Members(o)) XorHash(digest, member);
                break;
            case ObjType.ZSet:
                foreach (var (ele, score) in SortedSetCommands.Zs(o).All())
                {
                    Array.Clear(element);
                    Mix(element, ele);
                    Mix(element, Encoding.ASCII.GetBytes(Protocol.ReplyWriter.FormatDouble(score)));
                    XorHash(digest, element);
                }
                break;
            case ObjType.Hash:
                foreach (var (field, value) in HashType.Pairs(o))
                {
                    Array.Clear(element);
                    Mix(element, field);
                    Mix(element, value);
                    XorHash(digest, element);
                }
                break;
            case ObjType.Stream:
                DigestStream(digest, (RedisStream)o.Ptr!);
                break;
            default:
                throw new NotSupportedException("DEBUG DIGEST: no digest for " + RedisObject.TypeName(o.Type));
        }
        if (db.GetExpire(key) != -1) XorHash(digest, "!!expire!!"u8);
    }

    /// <summary>Each live entry mixed in order: its ID as "ms.seq" (a dot, as debug.c formats it), then every field and value; groups are not part of it.</summary>
    static void DigestStream(byte[] digest, RedisStream s)
    {
        Span<byte> id = stackalloc byte[StreamId.MaxFormattedLength];
        using var it = StreamIterator.Start(s, null, null, rev: false);
        while (it.GetId(out var entryId, out long numFields))
        {
            Utf8Formatter.TryFormat(entryId.Ms, id, out int n);
            id[n++] = (byte)'.';
            Utf8Formatter.TryFormat(entryId.Seq, id[n..], out int m);
            Mix(digest, id[..(n + m)]);
            for (long i = 0; i < numFields; i++)
            {
                it.GetField(out var field, out var value);
                Mix(digest, field);
                Mix(digest, value);
            }
        }
    }

    /// <summary>xorDigest: digest ^= SHA1(data).</summary>
    static void XorHash(byte[] digest, ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[20];
        SHA1.HashData(data, hash);
        for (int i = 0; i < 20; i++) digest[i] ^= hash[i];
    }

    /// <summary>mixDigest: digest = SHA1(digest ^ SHA1(data)), so order matters.</summary>
    static void Mix(byte[] digest, ReadOnlySpan<byte> data)
    {
        XorHash(digest, data);
        SHA1.HashData(digest, digest);
    }

    public static string Hex(byte[] digest) => Convert.ToHexString(digest).ToLowerInvariant();
}
