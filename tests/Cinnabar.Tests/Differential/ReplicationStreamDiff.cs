// Compares two replication streams command by command, byte for byte, with one normalisation:
// an absolute deadline computed from the current time (PEXPIREAT/EXPIREAT's time, SET/GETEX's
// PXAT/EXAT value, RESTORE ... ABSTTL's ttl) matches when the two values are within a few
// seconds, since two servers read their clocks at different instants. Everything else must be
// identical bytes. A mismatch is reported as both streams around the first difference, then
// every differing hunk of an LCS alignment (so one missing command does not hide the rest).
using System.Globalization;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

public static class ReplicationStreamDiff
{
    const long ToleranceMs = 5000;
    const int Context = 6;

    /// <summary>Equal bytes, or equal but for deadlines within the tolerance.</summary>
    public static bool Same(ReplicatedCommand e, ReplicatedCommand a)
    {
        if (e.Raw.AsSpan().SequenceEqual(a.Raw)) return true;
        if (e.Args.Length != a.Args.Length) return false;
        for (int i = 0; i < e.Args.Length; i++)
        {
            if (e.Args[i].AsSpan().SequenceEqual(a.Args[i])) continue;
            var unit = DeadlineUnit(e, i);
            if (unit == 0 || unit != DeadlineUnit(a, i)) return false;
            if (!long.TryParse(e.Arg(i), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long x) ||
                !long.TryParse(a.Arg(i), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long y))
                return false;
            if (Math.Abs(x - y) * unit > ToleranceMs) return false;
        }
        return true;
    }

    /// <summary>1 when argument i is an absolute deadline in ms, 1000 when in seconds, 0 when it is no deadline.</summary>
    internal static int DeadlineUnit(ReplicatedCommand c, int i)
    {
        string name = c.Name.ToUpperInvariant();
        if (name == "PEXPIREAT" && i == 2) return 1;
        if (name == "EXPIREAT" && i == 2) return 1000;
        if ((name == "SET" || name == "GETEX") && i >= 3)
        {
            string flag = c.Arg(i - 1).ToUpperInvariant();
            return flag == "PXAT" ? 1 : flag == "EXAT" ? 1000 : 0;
        }
        // A stream delivery's time (XREADGROUP, XCLAIM and XAUTOCLAIM propagate as XCLAIM ... TIME <ms>).
        if (name == "XCLAIM" && i >= 6 && c.Arg(i - 1).Equals("TIME", StringComparison.OrdinalIgnoreCase)) return 1;
        if (name == "RESTORE" && i == 2 && c.Args.Skip(4).Any(a => Encoding.Latin1.GetString(a).Equals("ABSTTL", StringComparison.OrdinalIgnoreCase)))
            return 1;
        return 0;
    }

    /// <summary>Null when the streams match, else a report for the failure message.</summary>
    public static string? Report(IReadOnlyList<ReplicatedCommand> expected, IReadOnlyList<ReplicatedCommand> actual, string expectedName, string actualName)
    {
        int first = 0;
        while (first < expected.Count && first < actual.Count && Same(expected[first], actual[first])) first++;
        if (first == expected.Count && first == actual.Count) return null;

        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"the streams differ at command #{first} ({expectedName}: {expected.Count} commands, {actualName}: {actual.Count})\n");
        foreach (var (name, stream) in new[] { (expectedName, expected), (actualName, actual) })
        {
            sb.Append(CultureInfo.InvariantCulture, $"--- {name}, #{Math.Max(0, first - Context)} on:\n");
            for (int i = Math.Max(0, first - Context); i < Math.Min(stream.Count, first + Context + 1); i++)
                sb.Append(i == first ? " >> " : "    ").Append(CultureInfo.InvariantCulture, $"#{i} ").Append(stream[i]).Append('\n');
            if (first >= stream.Count) sb.Append(" >> (end of stream)\n");
        }
        sb.Append("--- every difference (- ").Append(expectedName).Append(" only, + ").Append(actualName).Append(" only, ~ same but for the bytes shown):\n");
        foreach (var line in Hunks(expected, actual)) sb.Append(line).Append('\n');
        return sb.ToString();
    }

    /// <summary>The LCS alignment's differing lines, each with the position of the last matching command before it.</summary>
    static IEnumerable<string> Hunks(IReadOnlyList<ReplicatedCommand> e, IReadOnlyList<ReplicatedCommand> a)
    {
        int n = e.Count, m = a.Count;
        var lcs = new int[n + 1, m + 1];
        for (int i = n - 1; i >= 0; i--)
            for (int j = m - 1; j >= 0; j--)
                lcs[i, j] = Same(e[i], a[j]) ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
        int x = 0, y = 0;
        string after = "(start)";
        while (x < n || y < m)
        {
            if (x < n && y < m && Same(e[x], a[y]))
            {
                after = e[x].ToString();
                x++;
                y++;
            }
            else if (x < n && y < m && lcs[x + 1, y + 1] == lcs[x, y] && SameShape(e[x], a[y]))
            {
                yield return $"~ after {after}:\n    {e[x]}   bytes {Escape(e[x].Raw)}\n    {a[y]}   bytes {Escape(a[y].Raw)}";
                x++;
                y++;
            }
            else if (y == m || (x < n && lcs[x + 1, y] >= lcs[x, y + 1]))
                yield return $"- after {after}: {e[x++]}";
            else
                yield return $"+ after {after}: {a[y++]}";
        }
    }

    static bool SameShape(ReplicatedCommand e, ReplicatedCommand a) => e.Name.Equals(a.Name, StringComparison.OrdinalIgnoreCase);

    static string Escape(byte[] raw) => new ReplicatedCommand(raw, [raw]).ToString();
}
