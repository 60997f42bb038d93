// Key lookup with Redis's replies for a missing key or a value of the wrong type: db.c's
// lookupKeyReadOrReply/lookupKeyWriteOrReply and object.c's checkType, shared by every type's
// command family. The reply for a missing key is an enum, not a delegate, so a lookup allocates
// nothing; handlers call these where Redis does, keeping its order of type checks and parsing.
using System.Diagnostics.CodeAnalysis;
using Cinnabar.Keyspace;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

/// <summary>What a command answers when its key does not exist (Redis's shared.czero, null, emptyarray, nullarray).</summary>
public enum MissingKeyReply
{
    Zero,
    Null,
    EmptyArray,
    NullArray,
}

public static class KeyLookup
{
    /// <summary>checkType: replies WRONGTYPE and returns true when o exists and is not of type.</summary>
    public static bool CheckType(Client c, RedisObject? o, ObjType type)
    {
        if (o == null || o.Type == type) return false;
        c.Reply.Error(Errors.WrongType);
        return true;
    }

    /// <summary>lookupKeyReadOrReply + checkType: false after replying for a missing key or a wrong type.</summary>
    public static bool LookupReadOrReply(Client c, ReadOnlySpan<byte> key, ObjType type, MissingKeyReply missing, [NotNullWhen(true)] out RedisObject? o)
    {
        o = c.Db.LookupRead(key);
        return Found(c, o, type, missing);
    }

    /// <summary>lookupKeyWriteOrReply + checkType: false after replying for a missing key or a wrong type.</summary>
    public static bool LookupWriteOrReply(Client c, ReadOnlySpan<byte> key, ObjType type, MissingKeyReply missing, [NotNullWhen(true)] out RedisObject? o)
    {
        o = c.Db.LookupWrite(key);
        return Found(c, o, type, missing);
    }

    static bool Found(Client c, [NotNullWhen(true)] RedisObject? o, ObjType type, MissingKeyReply missing)
    {
        if (o == null)
        {
            switch (missing)
            {
                case MissingKeyReply.Zero: c.Reply.Integer(0); break;
                case MissingKeyReply.Null: c.Reply.Null(); break;
                case MissingKeyReply.EmptyArray: c.Reply.EmptyArray(); break;
                case MissingKeyReply.NullArray: c.Reply.NullArray(); break;
            }
            return false;
        }
        return !CheckType(c, o, type);
    }
}
