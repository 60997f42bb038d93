// Longest common subsequence of two strings (the LCS command, t_string.c): the classic
// dynamic-programming table of LCS lengths, then one walk back from the bottom-right corner
// that yields the subsequence and the matching ranges, last match first, as Redis emits them.
namespace Cinnabar.DataTypes;

public readonly record struct LcsRange(int AStart, int AEnd, int BStart, int BEnd)
{
    public int Length => AEnd - AStart + 1;
}

public static class Lcs
{
    /// <summary>Bytes of transient table the computation needs ((|a|+1)*(|b|+1) uint32 cells).</summary>
    public static ulong TableBytes(int alen, int blen) => (ulong)(alen + 1) * (ulong)(blen + 1) * sizeof(uint);

    /// <summary>Computes the LCS string and (when ranges is non-null) every maximal matching range.</summary>
    public static byte[] Compute(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, List<LcsRange>? ranges)
    {
        int alen = a.Length, blen = b.Length, w = blen + 1;
        var lcs = new uint[(long)(alen + 1) * w];
        for (int i = 1; i <= alen; i++)
        {
            for (int j = 1; j <= blen; j++)
            {
                lcs[i * (long)w + j] = a[i - 1] == b[j - 1]
                    ? lcs[(i - 1) * (long)w + j - 1] + 1
                    : Math.Max(lcs[(i - 1) * (long)w + j], lcs[i * (long)w + j - 1]);
            }
        }
        int idx = (int)lcs[alen * (long)w + blen];
        var result = new byte[idx];
        // Walk back; a range is open while consecutive matches extend it to the left.
        int ai = alen, bj = blen;
        int aStart = -1, aEnd = 0, bStart = 0, bEnd = 0;
        while (ai > 0 && bj > 0)
        {
            bool emit = false;
            if (a[ai - 1] == b[bj - 1])
            {
                result[idx - 1] = a[ai - 1];
                if (aStart == -1)
                {
                    aStart = aEnd = ai - 1;
                    bStart = bEnd = bj - 1;
                }
                else if (aStart == ai && bStart == bj)
                {
                    aStart--;
                    bStart--;
                }
                else emit = true;
                if (aStart == 0 || bStart == 0) emit = true;
                idx--;
                ai--;
                bj--;
            }
            else
            {
                if (lcs[(ai - 1) * (long)w + bj] > lcs[ai * (long)w + bj - 1]) ai--;
                else bj--;
                if (aStart != -1) emit = true;
            }
            if (emit)
            {
                ranges?.Add(new LcsRange(aStart, aEnd, bStart, bEnd));
                aStart = -1;
            }
        }
        return result;
    }
}
