// Glob-style matching exactly as Redis's stringmatchlen (util.c): * ? [abc] [^a] [a-z] and
// backslash escapes, optionally case-insensitive. Used by KEYS, SCAN MATCH, CONFIG GET,
// PSUBSCRIBE and COMMAND LIST. The recursion for '*' is bounded like Redis's (nesting limit).
namespace Cinnabar.Keyspace;

public static class GlobMatcher
{
    public static bool Match(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> str, bool nocase = false)
    {
        bool skipLongerMatches = false;
        return MatchImpl(pattern, str, nocase, ref skipLongerMatches, 0);
    }

    public static bool Match(string pattern, string str, bool nocase = false) =>
        Match(System.Text.Encoding.UTF8.GetBytes(pattern), System.Text.Encoding.UTF8.GetBytes(str), nocase);

    static byte Lower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    static bool MatchImpl(ReadOnlySpan<byte> p, ReadOnlySpan<byte> s, bool nocase, ref bool skipLongerMatches, int nesting)
    {
        // Protection against abusive patterns (Redis: nesting > 1000 fails the match).
        if (nesting > 1000) return false;
        int pi = 0, si = 0;
        while (pi < p.Length && si < s.Length)
        {
            switch (p[pi])
            {
                case (byte)'*':
                    while (pi + 1 < p.Length && p[pi + 1] == (byte)'*') pi++;
                    if (pi + 1 == p.Length) return true; // trailing star matches everything
                    while (si < s.Length)
                    {
                        if (MatchImpl(p[(pi + 1)..], s[si..], nocase, ref skipLongerMatches, nesting + 1)) return true;
                        if (skipLongerMatches) return false;
                        si++;
                    }
                    skipLongerMatches = true; // no match for the rest: longer prefixes can't help
                    return false;
                case (byte)'?':
                    si++;
                    break;
                case (byte)'[':
                    {
                        pi++;
                        bool not = pi < p.Length && p[pi] == (byte)'^';
                        if (not) pi++;
                        bool match = false;
                        while (true)
                        {
                            if (pi < p.Length && p[pi] == (byte)'\\' && p.Length - pi >= 2)
                            {
                                pi++;
                                if (p[pi] == s[si]) match = true;
                            }
                            else if (pi >= p.Length || p[pi] == (byte)']')
                            {
                                break;
                            }
                            else if (p.Length - pi >= 3 && p[pi + 1] == (byte)'-')
                            {
                                int start = p[pi], end = p[pi + 2], c = s[si];
                                if (start > end) (start, end) = (end, start);
                                if (nocase)
                                {
                                    start = Lower((byte)start);
                                    end = Lower((byte)end);
                                    c = Lower((byte)c);
                                }
                                pi += 2;
                                if (c >= start && c <= end) match = true;
                            }
                            else
                            {
                                if (nocase ? Lower(p[pi]) == Lower(s[si]) : p[pi] == s[si]) match = true;
                            }
                            pi++;
                        }
                        if (pi >= p.Length) pi = p.Length - 1; // unterminated class: Redis treats end as ']'
                        if (not) match = !match;
                        if (!match) return false;
                        si++;
                        break;
                    }
                case (byte)'\\':
                    if (p.Length - pi >= 2) pi++;
                    goto default;
                default:
                    if (nocase ? Lower(p[pi]) != Lower(s[si]) : p[pi] != s[si]) return false;
                    si++;
                    break;
            }
            pi++;
            if (si == s.Length)
            {
                while (pi < p.Length && p[pi] == (byte)'*') pi++;
                break;
            }
        }
        return pi == p.Length && si == s.Length;
    }
}
