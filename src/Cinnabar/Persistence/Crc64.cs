// Redis's CRC-64 (crc64.c): the "Jones" polynomial 0xad93d23594c935a9, reflected input and
// output, initial value 0, no final xor (check value of "123456789": 0xe9c6d914c4b8d9ca). DUMP
// payloads and RDB files end with it. A byte-at-a-time table over the reflected polynomial is
// enough here: payloads are checksummed once per DUMP/RESTORE, not on a hot path.
namespace Cinnabar.Persistence;

public static class Crc64
{
    // 0xad93d23594c935a9 with its bits reversed, for the LSB-first (reflected) update.
    const ulong ReflectedPoly = 0x95AC9329AC4BC9B5UL;

    static readonly ulong[] Table = BuildTable();

    static ulong[] BuildTable()
    {
        var t = new ulong[256];
        for (uint i = 0; i < 256; i++)
        {
            ulong crc = i;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ ReflectedPoly : crc >> 1;
            t[i] = crc;
        }
        return t;
    }

    /// <summary>crc64(crc, s, l): continues crc over data.</summary>
    public static ulong Compute(ulong crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = Table[(byte)(crc ^ b)] ^ (crc >> 8);
        return crc;
    }
}
