// The key extraction KeySpecs had before its allocation-free form: getKeysFromCommandWithSpecs
// over owned byte[] arguments, returning a new List. Kept verbatim as the oracle the span form
// is compared with over the whole command table (KeySpecsTests).
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Protocol;

namespace Cinnabar.Tests.Commands;

static class ListKeySpecs
{
    /// <summary>
    /// getKeysFromCommandWithSpecs: the keys of argv (argv[0] is the command name; for a
    /// subcommand argv[1] is its name). Returns null when the arguments are invalid for the specs.
    /// </summary>
    public static List<KeyReference>? GetKeys(CommandDef cmd, IReadOnlyList<byte[]> argv)
    {
        var specs = KeySpecs.Of(cmd);
        bool hasVarFlags = specs.Any(s => (s.Flags & KeySpecFlags.VariableFlags) != 0);
        bool hasRealKey = specs.Any(s => (s.Flags & KeySpecFlags.NotKey) == 0);
        if (hasRealKey && !hasVarFlags)
        {
            var keys = FromSpecs(specs, cmd.Arity, argv);
            if (keys != null) return keys;
        }
        // The spec walk failed (an incomplete or unknown spec, or bad arguments): Redis falls
        // back to the command's getkeys_proc, which the commands below have.
        return (cmd.Parent == null ? cmd.Name : "") switch
        {
            "sort" or "sort_ro" => SortKeys(argv),
            "migrate" => MigrateKeys(argv),
            "set" => SetKeys(argv),
            "bitfield" => BitfieldKeys(argv),
            _ => null,
        };
    }

    /// <summary>getKeysUsingKeySpecs with GET_KEYSPEC_DEFAULT: any invalid spec invalidates the whole result.</summary>
    static List<KeyReference>? FromSpecs(KeySpec[] specs, int arity, IReadOnlyList<byte[]> argv)
    {
        int argc = argv.Count;
        var result = new List<KeyReference>();
        foreach (var spec in specs)
        {
            if ((spec.Flags & KeySpecFlags.NotKey) != 0) continue;
            int first = 0;
            if (spec.BeginSearch == BeginSearchType.Index)
            {
                first = spec.Index;
            }
            else if (spec.BeginSearch == BeginSearchType.Keyword)
            {
                int start = spec.StartFrom > 0 ? spec.StartFrom : argc + spec.StartFrom;
                int end = spec.StartFrom > 0 ? argc - 1 : 1;
                for (int i = start; i != end; i = start <= end ? i + 1 : i - 1)
                {
                    if (i >= argc || i < 1) break;
                    if (Encoding.UTF8.GetString(argv[i]).Equals(spec.Keyword, StringComparison.OrdinalIgnoreCase))
                    {
                        first = i + 1;
                        break;
                    }
                }
                if (first == 0) continue; // keyword not found: this spec has no keys
            }
            else return null;

            int last, step;
            if (spec.FindKeys == FindKeysType.Range)
            {
                step = spec.KeyStep;
                if (spec.LastKey >= 0) last = first + spec.LastKey;
                else if (spec.Limit == 0) last = argc + spec.LastKey;
                else last = first + ((argc - first) / spec.Limit + spec.LastKey);
            }
            else if (spec.FindKeys == FindKeysType.KeyNum)
            {
                step = spec.KeyStep;
                if (spec.KeyNumIdx >= argc || first + spec.KeyNumIdx >= argc) return null;
                if (!RespParser.TryParseLong(argv[first + spec.KeyNumIdx], out long numkeys) || numkeys < 0) return null;
                first += spec.FirstKey;
                long l = first + numkeys - 1;
                if (l > int.MaxValue) return null;
                last = (int)l;
            }
            else return null;

            if (last >= argc || last < first || first >= argc) return null;
            for (int i = first; i <= last; i += step)
            {
                if (i >= argc || i < first)
                {
                    if (arity < 0) continue;
                    return null;
                }
                result.Add(new KeyReference(i, spec.Flags));
            }
            if ((spec.Flags & KeySpecFlags.Incomplete) != 0) return null;
        }
        return result;
    }

    static bool Is(byte[] arg, string word) => Encoding.UTF8.GetString(arg).Equals(word, StringComparison.OrdinalIgnoreCase);

    /// <summary>sortROGetKeys / sortGetKeys: the sorted key, plus the last STORE destination (skipping LIMIT/GET/BY operands).</summary>
    static List<KeyReference> SortKeys(IReadOnlyList<byte[]> argv)
    {
        var keys = new List<KeyReference> { new(1, KeySpecFlags.RO | KeySpecFlags.Access) };
        int storePos = -1;
        for (int i = 2; i < argv.Count; i++)
        {
            int skip = Is(argv[i], "limit") ? 2 : Is(argv[i], "get") || Is(argv[i], "by") ? 1 : 0;
            if (Is(argv[i], "store") && i + 1 < argv.Count)
            {
                // The last STORE wins, as sortCommand parses it.
                storePos = i + 1;
                skip = 1;
            }
            i += skip;
        }
        if (storePos > 0 && Is(argv[0], "sort")) keys.Add(new KeyReference(storePos, KeySpecFlags.OW | KeySpecFlags.Update));
        return keys;
    }

    /// <summary>migrateGetKeys: the key argument, or with an empty key the names after KEYS.</summary>
    static List<KeyReference> MigrateKeys(IReadOnlyList<byte[]> argv)
    {
        const KeySpecFlags flags = KeySpecFlags.RW | KeySpecFlags.Access | KeySpecFlags.Delete;
        int first = 3, num = 1;
        if (argv.Count > 6 && argv[3].Length == 0)
        {
            for (int i = 6; i < argv.Count; i++)
            {
                if (Is(argv[i], "auth")) i += 1;
                else if (Is(argv[i], "auth2")) i += 2;
                else if (Is(argv[i], "keys"))
                {
                    first = i + 1;
                    num = argv.Count - first;
                    break;
                }
            }
        }
        var keys = new List<KeyReference>();
        for (int i = 0; i < num; i++) keys.Add(new KeyReference(first + i, flags));
        return keys;
    }

    /// <summary>setGetKeys: with GET the key is read too (RW), otherwise overwritten (OW).</summary>
    static List<KeyReference> SetKeys(IReadOnlyList<byte[]> argv)
    {
        for (int i = 3; i < argv.Count; i++)
            if (Is(argv[i], "get"))
                return [new KeyReference(1, KeySpecFlags.RW | KeySpecFlags.Access | KeySpecFlags.Update)];
        return [new KeyReference(1, KeySpecFlags.OW | KeySpecFlags.Update)];
    }

    /// <summary>bitfieldGetKeys: read-only when only GET (and OVERFLOW) operations are present.</summary>
    static List<KeyReference> BitfieldKeys(IReadOnlyList<byte[]> argv)
    {
        bool readOnly = true;
        for (int i = 2; i < argv.Count; i++)
        {
            int remaining = argv.Count - i - 1;
            if (Is(argv[i], "get") && remaining >= 2) i += 2;
            else if ((Is(argv[i], "set") || Is(argv[i], "incrby")) && remaining >= 3)
            {
                readOnly = false;
                break;
            }
            else if (Is(argv[i], "overflow") && remaining >= 1) i += 1;
            else
            {
                readOnly = false;
                break;
            }
        }
        return [new KeyReference(1, readOnly ? KeySpecFlags.RO | KeySpecFlags.Access : KeySpecFlags.RW | KeySpecFlags.Access | KeySpecFlags.Update)];
    }
}
