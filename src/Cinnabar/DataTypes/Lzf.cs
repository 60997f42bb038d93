// LZF compression (liblzf 3.6 as vendored by Redis: lzf_c.c / lzf_d.c), used for compressed
// quicklist nodes and RDB string compression. The compressor follows lzf_c.c's VERY_FAST
// variant step for step (HLOG 16, same hash, same match rules), with the hash table empty at
// the start of each call (liblzf leaves it uninitialized), so output is liblzf's and decodes
// with any LZF decoder. Emptying 64K slots per call would cost more than compressing a short
// string, so each slot carries the number of the call that wrote it and older ones read as empty.
// Format: ctrl < 32 → ctrl+1 literal bytes; otherwise a back reference of (ctrl>>5)+2 bytes
// (7 → an extra length byte) at offset ((ctrl&31)<<8 | next byte) + 1 behind the output.
namespace Cinnabar.DataTypes;

public static class Lzf
{
    const int HLog = 16;
    const int HSize = 1 << HLog;
    const int MaxLit = 1 << 5;
    const int MaxOff = 1 << 13;
    const int MaxRef = (1 << 8) + (1 << 3);

    // A slot is (call number << 32) | (input offset + 1); only the current call's slots count.
    [ThreadStatic] static long[]? t_htab;
    [ThreadStatic] static uint t_call;

    static int Idx(uint h) => (int)(((h >> (3 * 8 - HLog)) - h * 5) & (HSize - 1));

    /// <summary>lzf_compress: returns the compressed length, or 0 if the output does not fit in output.</summary>
    public static int Compress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int inLen = input.Length, outLen = output.Length;
        if (inLen == 0 || outLen == 0) return 0;
        // Slots hold input offset + 1; 0 means empty (liblzf's "ref > in_data" rejects it too).
        var htab = t_htab ??= new long[HSize];
        long call = ++t_call;
        if (call == uint.MaxValue)
        {
            Array.Clear(htab); // every 4 billion calls: no slot may look current by wrapping
            t_call = 1;
            call = 1;
        }
        long stamp = call << 32;
        int ip = 0, op = 0, lit = 0;
        op++; // start run
        uint hval = (uint)((input[0] << 8) | (inLen > 1 ? input[1] : 0));
        while (ip < inLen - 2)
        {
            hval = (hval << 8) | input[ip + 2];
            int slot = Idx(hval);
            long entry = htab[slot];
            int refPos = (entry & ~0xFFFFFFFFL) == stamp ? (int)entry - 1 : -1;
            htab[slot] = stamp | (uint)(ip + 1);
            int off = ip - refPos - 1;
            if (refPos > 0 && off >= 0 && off < MaxOff
                && input[refPos + 2] == input[ip + 2] && input[refPos] == input[ip] && input[refPos + 1] == input[ip + 1])
            {
                int len = 2;
                int maxlen = inLen - ip - len;
                if (maxlen > MaxRef) maxlen = MaxRef;
                if (op + 3 + 1 >= outLen && op - (lit == 0 ? 1 : 0) + 3 + 1 >= outLen) return 0;
                output[op - lit - 1] = (byte)(lit - 1); // stop run
                if (lit == 0) op--; // undo run if length is zero
                do len++;
                while (len < maxlen && input[refPos + len] == input[ip + len]);
                len -= 2; // len is now #octets - 1
                ip++;
                if (len < 7) output[op++] = (byte)((off >> 8) + (len << 5));
                else
                {
                    output[op++] = (byte)((off >> 8) + (7 << 5));
                    output[op++] = (byte)(len - 7);
                }
                output[op++] = (byte)off;
                lit = 0;
                op++; // start run
                ip += len + 1;
                if (ip >= inLen - 2) break;
                // VERY_FAST: hash the two positions just before the new ip.
                ip -= 2;
                hval = (uint)((input[ip] << 8) | input[ip + 1]);
                hval = (hval << 8) | input[ip + 2];
                htab[Idx(hval)] = stamp | (uint)(ip + 1);
                ip++;
                hval = (hval << 8) | input[ip + 2];
                htab[Idx(hval)] = stamp | (uint)(ip + 1);
                ip++;
            }
            else
            {
                if (op >= outLen) return 0;
                lit++;
                output[op++] = input[ip++];
                if (lit == MaxLit)
                {
                    output[op - lit - 1] = (byte)(lit - 1);
                    lit = 0;
                    op++;
                }
            }
        }
        if (op + 3 > outLen) return 0; // at most 3 bytes can be missing here
        while (ip < inLen)
        {
            if (op >= outLen) return 0;
            lit++;
            output[op++] = input[ip++];
            if (lit == MaxLit)
            {
                if (op >= outLen) return 0;
                output[op - lit - 1] = (byte)(lit - 1);
                lit = 0;
                op++;
            }
        }
        output[op - lit - 1] = (byte)(lit - 1); // end run
        if (lit == 0) op--;
        return op;
    }

    /// <summary>lzf_decompress: returns the decompressed length, or 0 on corrupt input or when output is too small.</summary>
    public static int Decompress(ReadOnlySpan<byte> input, Span<byte> output)
    {
        int ip = 0, op = 0, inEnd = input.Length, outEnd = output.Length;
        if (inEnd == 0) return 0;
        do
        {
            int ctrl = input[ip++];
            if (ctrl < 1 << 5)
            {
                ctrl++;
                if (op + ctrl > outEnd || ip + ctrl > inEnd) return 0;
                input.Slice(ip, ctrl).CopyTo(output[op..]);
                op += ctrl;
                ip += ctrl;
            }
            else
            {
                int len = ctrl >> 5;
                int refPos = op - ((ctrl & 0x1f) << 8) - 1;
                if (ip >= inEnd) return 0;
                if (len == 7)
                {
                    len += input[ip++];
                    if (ip >= inEnd) return 0;
                }
                refPos -= input[ip++];
                if (op + len + 2 > outEnd || refPos < 0) return 0;
                len += 2;
                // Byte by byte: the reference may overlap what is being written (runs).
                for (int i = 0; i < len; i++) output[op++] = output[refPos++];
            }
        }
        while (ip < inEnd);
        return op;
    }
}
