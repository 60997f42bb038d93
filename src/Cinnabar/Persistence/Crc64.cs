// Redis's CRC-64 (crc64.c): the "Jones" polynomial 0xad93d23594c935a9, reflected input and
// output, initial value 0, no final xor (check value of "123456789": 0xe9c6d914c4b8d9ca). DUMP
// payloads and RDB files end with it, so a snapshot's writer and the RDB loader run it over the
// whole dataset: eight bytes per step with eight tables (slicing-by-8, what Redis's crcspeed
// does), the byte-at-a-time table for the tail.
using System.Buffers.Binary;

namespace Cinnabar.Persistence;

public static class Crc64
{
    // 0xad93d23594c935a9 with its bits reversed, for the LSB-first (reflected) update.
    const ulong ReflectedPoly = 0x95AC9329AC4BC9B5UL;

    // Tables[0] is the byte table; Tables[k][i] is the CRC of byte i followed by k zero bytes.
    static readonly ulong[][] Tables = BuildTables();

    static ulong[][] BuildTables()
    {
        var t = new ulong[8][];
        for (int k = 0; k < 8; k++) t[k] = new ulong[256];
        for (uint i = 0; i < 256; i++)
        {
            ulong crc = i;
            for (int b = 0; b < 8; b++) crc = (crc & 1) != 0 ? (crc >> 1) ^ ReflectedPoly : crc >> 1;
            t[0][i] = crc;
        }
        for (int k = 1; k < 8; k++)
            for (int i = 0; i < 256; i++) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFF];
        return t;
    }

    /// <summary>crc64(crc, s, l): continues crc over data.</summary>
    public static ulong Compute(ulong crc, ReadOnlySpan<byte> data)
    {
        var t0 = Tables[0];
        var t1 = Tables[1];
        var t2 = Tables[2];
        var t3 = Tables[3];
        var t4 = Tables[4];
        var t5 = Tables[5];
        var t6 = Tables[6];
        var t7 = Tables[7];
        while (data.Length >= 8)
        {
            crc ^= BinaryPrimitives.ReadUInt64LittleEndian(data);
            crc = t7[crc & 0xFF] ^ t6[(crc >> 8) & 0xFF] ^ t5[(crc >> 16) & 0xFF] ^ t4[(crc >> 24) & 0xFF]
                ^ t3[(crc >> 32) & 0xFF] ^ t2[(crc >> 40) & 0xFF] ^ t1[(crc >> 48) & 0xFF] ^ t0[crc >> 56];
            data = data[8..];
        }
        foreach (byte b in data) crc = t0[(byte)(crc ^ b)] ^ (crc >> 8);
        return crc;
    }
}
