// Equality for byte-string keys held as byte[] in BCL dictionaries (WATCH registry, Pub/Sub
// channel maps), with a ReadOnlySpan<byte> alternate lookup so a probe with a slice of the
// query buffer allocates nothing.
namespace Cinnabar.Keyspace;

public sealed class ByteKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly ByteKeyComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => ReferenceEquals(x, y) || (x != null && y != null && x.AsSpan().SequenceEqual(y));

    public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

    public int GetHashCode(ReadOnlySpan<byte> span)
    {
        var h = new HashCode();
        h.AddBytes(span);
        return h.ToHashCode();
    }

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}
