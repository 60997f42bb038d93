// Placeholder until the slot-index change lands: CRC16-XMODEM and Redis's hash tags.
namespace Cinnabar.Cluster;

public static class KeyHashSlot
{
    public const int Slots = 16384;

    public static int Of(ReadOnlySpan<byte> key)
    {
        int s = key.IndexOf((byte)'{');
        if (s >= 0)
        {
            int e = key[(s + 1)..].IndexOf((byte)'}');
            if (e > 0) return Crc16(key.Slice(s + 1, e)) & 0x3FFF;
        }
        return Crc16(key) & 0x3FFF;
    }

    public static ushort Crc16(ReadOnlySpan<byte> data)
    {
        ushort crc = 0;
        foreach (byte b in data)
        {
            crc ^= (ushort)(b << 8);
            for (int i = 0; i < 8; i++) crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
        }
        return crc;
    }
}
