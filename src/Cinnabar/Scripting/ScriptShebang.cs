// The "#!lua flags=..." first line of an EVAL script (Redis's evalExtractShebangFlags) and what
// declared flags mean for the checks processCommand makes before EVAL/FCALL runs
// (scriptFlagsToCmdFlags): a script with flags is a write unless no-writes, denyoom unless
// no-writes or allow-oom, stale-allowed only with allow-stale.
using System.Text;
using Cinnabar.Commands;

namespace Cinnabar.Scripting;

public static class ScriptShebang
{
    static readonly (string Name, ScriptFlags Flag)[] Names =
    [
        ("no-writes", ScriptFlags.NoWrites),
        ("allow-oom", ScriptFlags.AllowOom),
        ("allow-stale", ScriptFlags.AllowStale),
        ("no-cluster", ScriptFlags.NoCluster),
        ("allow-cross-slot-keys", ScriptFlags.AllowCrossSlot),
    ];

    /// <summary>Parses a flags= list (comma separated); false with Redis's error on an unknown flag.</summary>
    public static bool TryParseFlags(string list, out ScriptFlags flags, out string? error)
    {
        flags = ScriptFlags.None;
        error = null;
        if (list.Length == 0) return true;
        foreach (var name in list.Split(','))
        {
            int i = Array.FindIndex(Names, n => n.Name == name);
            if (i < 0)
            {
                error = "Unexpected flag in script shebang: " + name;
                return false;
            }
            flags |= Names[i].Flag;
        }
        return true;
    }

    /// <summary>
    /// evalExtractShebangFlags: a body without "#!" runs in compatibility mode; with one, the
    /// engine must be lua and the only option flags=. shebangLength excludes the newline, so the
    /// compiled body keeps the user's line numbers.
    /// </summary>
    public static bool TryExtract(ReadOnlySpan<byte> body, out ScriptFlags flags, out int shebangLength, out string? error)
    {
        flags = ScriptFlags.EvalCompatMode;
        shebangLength = 0;
        error = null;
        if (!body.StartsWith("#!"u8)) return true;
        int nl = body.IndexOf((byte)'\n');
        if (nl < 0)
        {
            error = "Invalid script shebang";
            return false;
        }
        shebangLength = nl;
        var parts = Persistence.AofManifest.SplitArgs(Encoding.Latin1.GetString(body[..nl]));
        if (parts == null || parts.Count == 0)
        {
            error = "Invalid engine in script shebang";
            return false;
        }
        if (parts[0] != "#!lua")
        {
            error = "Unexpected engine in script shebang: " + parts[0];
            return false;
        }
        flags = ScriptFlags.None;
        for (int j = 1; j < parts.Count; j++)
        {
            if (!parts[j].StartsWith("flags=", StringComparison.Ordinal))
            {
                error = "Unknown lua shebang option: " + parts[j];
                return false;
            }
            if (!TryParseFlags(parts[j][6..], out var f, out error)) return false;
            flags |= f;
        }
        return true;
    }

    /// <summary>scriptFlagsToCmdFlags: the command flags processCommand checks for a script with declared flags.</summary>
    public static CommandFlags ToCommandFlags(CommandFlags cmdFlags, ScriptFlags flags)
    {
        if ((flags & ScriptFlags.EvalCompatMode) != 0) return cmdFlags;
        cmdFlags &= ~(CommandFlags.Stale | CommandFlags.DenyOom | CommandFlags.Write | CommandFlags.MayReplicate);
        if ((flags & (ScriptFlags.AllowOom | ScriptFlags.NoWrites)) == 0) cmdFlags |= CommandFlags.DenyOom;
        if ((flags & ScriptFlags.NoWrites) == 0) cmdFlags |= CommandFlags.Write;
        if ((flags & ScriptFlags.AllowStale) != 0) cmdFlags |= CommandFlags.Stale;
        return cmdFlags;
    }
}
