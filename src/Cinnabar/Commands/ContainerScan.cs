// scanGenericCommand for the commands that scan one value (SSCAN, HSCAN, ZSCAN): option parsing
// with Redis's errors and the reply. Compact encodings (intset, listpack) return everything in
// one call with cursor 0, as Redis does; hashtables use Dict.Scan's reverse-binary cursor and
// stop after COUNT elements or COUNT*10 buckets.
using Cinnabar.Keyspace;
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public static class ContainerScan
{
    /// <summary>The empty scan reply for a missing key (shared.emptyscan).</summary>
    public static void ReplyEmpty(Client c)
    {
        c.Reply.ArrayLen(2);
        c.Reply.Bulk("0"u8);
        c.Reply.ArrayLen(0);
    }

    /// <summary>Parses COUNT and MATCH from index <paramref name="start"/>; TYPE is only for SCAN, so it is a syntax error here.</summary>
    public static bool TryParseOptions(Client c, int start, out long count, out byte[]? pattern)
    {
        count = 10;
        pattern = null;
        for (int i = start; i < c.Args.Count; i += 2)
        {
            int remaining = c.Args.Count - i;
            if (c.Args.Is(i, "count") && remaining >= 2)
            {
                if (!Arguments.TryGetLong(c, i + 1, out count)) return false;
                if (count < 1)
                {
                    c.Reply.Error(Errors.Syntax);
                    return false;
                }
            }
            else if (c.Args.Is(i, "match") && remaining >= 2)
            {
                pattern = c.Args.ToArray(i + 1);
                if (pattern.Length == 1 && pattern[0] == (byte)'*') pattern = null;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return false;
            }
        }
        return true;
    }

    /// <summary>One scan step over a hashtable: collects keys (and values when withValues) into items.</summary>
    public static ulong ScanDict(Dict<byte[]?> dict, ulong cursor, long count, bool withValues, List<byte[]> items)
    {
        long maxIterations = count * 10;
        int stride = withValues ? 2 : 1;
        do
        {
            cursor = dict.Scan(cursor, e =>
            {
                items.Add(e.Key);
                if (withValues) items.Add(e.Value!);
            });
        } while (cursor != 0 && maxIterations-- > 0 && items.Count / stride < count);
        return cursor;
    }

    /// <summary>Filters items (groups of <paramref name="stride"/>, matched on the first) and replies [cursor, items].</summary>
    public static void Reply(Client c, ulong cursor, List<byte[]> items, int stride, byte[]? pattern)
    {
        int kept = items.Count;
        if (pattern != null)
        {
            kept = 0;
            for (int i = 0; i < items.Count; i += stride)
            {
                if (!GlobMatcher.Match(pattern, items[i])) continue;
                for (int k = 0; k < stride; k++) items[kept++] = items[i + k];
            }
        }
        c.Reply.ArrayLen(2);
        c.Reply.Bulk(System.Text.Encoding.ASCII.GetBytes(cursor.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        c.Reply.ArrayLen(kept);
        for (int i = 0; i < kept; i++) c.Reply.Bulk(items[i]);
    }
}
