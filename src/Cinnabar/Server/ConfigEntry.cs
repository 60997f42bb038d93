// One configuration parameter (Redis's standardConfig): its name and aliases, how a value is
// parsed and validated, how it is written back for CONFIG GET / CONFIG REWRITE, and whether
// it may change at run time. Typed kinds mirror config.c: bool, numeric (with memory units),
// enum, string, and special (multi-argument values such as client-output-buffer-limit).
using System.Globalization;

namespace Cinnabar.Server;

public enum ConfigKind
{
    Bool,
    Integer,
    Memory,
    Enum,
    String,
    Special,
}

public sealed class ConfigEntry
{
    public required string Name;
    public string[] Aliases = [];
    public ConfigKind Kind;
    public bool Immutable;
    public bool Sensitive;
    public bool Protected; // CONFIG SET only with enable-protected-configs (dir, dbfilename)
    public bool DenyLoading; // DENY_LOADING_CONFIG: CONFIG SET answers -LOADING while the dataset loads
    public bool Hidden;    // listed by CONFIG GET only when asked for by exact name
    public required string Default;
    public long Min = long.MinValue, Max = long.MaxValue;
    public string[] EnumValues = [];
    public bool EnumMulti; // several enum values at once (e.g. "no" or "keyspace-events" style flags)

    /// <summary>Validates and applies a value; returns an error text (Redis's words) or null.</summary>
    public required Func<string, string?> Apply;

    /// <summary>The value as CONFIG GET prints it.</summary>
    public required Func<string> Get;

    public static bool TryParseBool(string s, out bool v)
    {
        v = false;
        if (s.Equals("yes", StringComparison.OrdinalIgnoreCase)) { v = true; return true; }
        return s.Equals("no", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>memtoull: a number with an optional unit (k, kb, m, mb, g, gb; case-insensitive).</summary>
    public static bool TryParseMemory(string s, out long v)
    {
        v = 0;
        if (s.Length == 0 || char.IsWhiteSpace(s[0]) || char.IsWhiteSpace(s[^1])) return false;
        long mul = 1;
        string lower = s.ToLowerInvariant();
        (string suffix, long m)[] units =
        [
            ("kb", 1024), ("mb", 1024L * 1024), ("gb", 1024L * 1024 * 1024),
            ("k", 1000), ("m", 1000L * 1000), ("g", 1000L * 1000 * 1000), ("b", 1),
        ];
        foreach (var (suffix, m) in units)
        {
            if (lower.EndsWith(suffix, StringComparison.Ordinal) && lower.Length > suffix.Length && char.IsDigit(lower[^(suffix.Length + 1)]))
            {
                mul = m;
                lower = lower[..^suffix.Length];
                break;
            }
        }
        if (!long.TryParse(lower, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n)) return false;
        v = n * mul;
        return true;
    }
}
