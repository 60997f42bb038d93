// Deep copies of values for COPY (Redis's dupStringObject, listTypeDup, setTypeDup, ...).
// A string copies its bytes or int and keeps its encoding; every other data structure
// implements IDuplicable on the object it stores in RedisObject.Ptr and copies itself, so
// this file need not know the layouts of lists, sets, hashes, sorted sets or streams. A payload
// that is a bare byte[] (a listpack-encoded hash or sorted set) is copied as bytes, without the
// key the array holds in front of the listpack.
namespace Cinnabar.Keyspace;

/// <summary>Implemented by the payload (RedisObject.Ptr) of every non-string type.</summary>
public interface IDuplicable
{
    /// <summary>An independent deep copy: mutating either afterwards must not affect the other.</summary>
    object Duplicate();
}

public static class ObjectDuplication
{
    /// <summary>A new object with the same type, encoding and contents (LRU/LFU left for the keyspace to set).</summary>
    public static RedisObject Duplicate(RedisObject o)
    {
        if (o.Type == ObjType.String)
        {
            // byte[] values are mutated in place by APPEND and SETRANGE, so the copy owns new bytes.
            var copy = RedisObject.CreateRawString(o.ValueArea.ToArray());
            copy.Encoding = o.Encoding;
            return copy;
        }
        if (o.Ptr is byte[]) return new RedisObject(o.Type, o.Encoding, o.EmbeddedListpack.ToArray());
        if (o.Ptr is IDuplicable d) return new RedisObject(o.Type, o.Encoding, d.Duplicate());
        throw new NotSupportedException($"values of type {RedisObject.TypeName(o.Type)} ({o.Ptr?.GetType().Name}) cannot be duplicated: the type must implement IDuplicable");
    }
}
