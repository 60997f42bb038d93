// SipHash-1-2 keyed with a random per-process seed, the hash Redis's dict uses (siphash.c):
// fast on short keys and resistant to hash-flooding because the seed is secret.
using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Cinnabar.Keyspace;

public static class SipHash
{
    static readonly ulong K0, K1;

    static SipHash()
    {
        Span<byte> seed = stackalloc byte[16];
        Server.RandomBytes.Fill(seed);
        K0 = BinaryPrimitives.ReadUInt64LittleEndian(seed);
        K1 = BinaryPrimitives.ReadUInt64LittleEndian(seed[8..]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Round(ref ulong v0, ref ulong v1, ref ulong v2, ref ulong v3)
    {
        v0 += v1; v1 = BitOperations.RotateLeft(v1, 13); v1 ^= v0; v0 = BitOperations.RotateLeft(v0, 32);
        v2 += v3; v3 = BitOperations.RotateLeft(v3, 16); v3 ^= v2;
        v0 += v3; v3 = BitOperations.RotateLeft(v3, 21); v3 ^= v0;
        v2 += v1; v1 = BitOperations.RotateLeft(v1, 17); v1 ^= v2; v2 = BitOperations.RotateLeft(v2, 32);
    }

    public static ulong Hash(ReadOnlySpan<byte> data)
    {
        ulong v0 = 0x736f6d6570736575UL ^ K0, v1 = 0x646f72616e646f6dUL ^ K1;
        ulong v2 = 0x6c7967656e657261UL ^ K0, v3 = 0x7465646279746573UL ^ K1;
        int len = data.Length, end = len - (len % 8);
        for (int i = 0; i < end; i += 8)
        {
            ulong m = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(i, 8));
            v3 ^= m;
            Round(ref v0, ref v1, ref v2, ref v3);
            v0 ^= m;
        }
        ulong b = (ulong)len << 56;
        var tail = data[end..];
        for (int i = 0; i < tail.Length; i++) b |= (ulong)tail[i] << (8 * i);
        v3 ^= b;
        Round(ref v0, ref v1, ref v2, ref v3);
        v0 ^= b;
        v2 ^= 0xff;
        Round(ref v0, ref v1, ref v2, ref v3);
        Round(ref v0, ref v1, ref v2, ref v3);
        return v0 ^ v1 ^ v2 ^ v3;
    }
}
