// Key extraction from a command's key specs (Redis 7.0's db.c getKeysUsingKeySpecs and
// getKeysFromCommandWithSpecs): begin_search (index / keyword) then find_keys (range / keynum)
// over the argument vector. The specs are parsed once from the COMMAND INFO metadata; the few
// commands whose specs are incomplete or carry variable flags (SORT, MIGRATE, SET, BITFIELD)
// use their own extraction, as Redis falls back to their getkeys_proc. The walk reads the
// dispatcher's argument vector (slices of the query buffer) and fills a reusable GetKeysResult,
// so client tracking, ACL checks, cluster routing and COMMAND GETKEYS allocate nothing.
using Cinnabar.Protocol;

namespace Cinnabar.Commands;

[Flags]
public enum KeySpecFlags
{
    None = 0,
    RO = 1 << 0,
    RW = 1 << 1,
    OW = 1 << 2,
    RM = 1 << 3,
    Access = 1 << 4,
    Update = 1 << 5,
    Insert = 1 << 6,
    Delete = 1 << 7,
    NotKey = 1 << 8,
    Incomplete = 1 << 9,
    VariableFlags = 1 << 10,
}

public enum BeginSearchType { Unknown, Index, Keyword }

public enum FindKeysType { Unknown, Range, KeyNum }

public sealed class KeySpec
{
    public KeySpecFlags Flags;
    public BeginSearchType BeginSearch;
    public int Index;                 // begin_search index
    public string Keyword = "";       // begin_search keyword
    public int StartFrom;             // begin_search keyword startfrom
    public FindKeysType FindKeys;
    public int LastKey, KeyStep = 1, Limit;   // range
    public int KeyNumIdx, FirstKey;           // keynum (KeyStep shared)
}

/// <summary>A key found in an argument vector: its position and the flags of the spec that found it.</summary>
public readonly record struct KeyReference(int Pos, KeySpecFlags Flags);

/// <summary>
/// getKeysResult: where key extraction puts its positions. A caller keeps one and reuses it, so
/// the array only grows (past its initial 256 keys, Redis's MAX_KEYS_BUFFER) and never per call.
/// </summary>
public sealed class GetKeysResult
{
    KeyReference[] _keys = new KeyReference[256];

    public int Count { get; private set; }

    public KeyReference this[int i] => _keys[i];

    public ReadOnlySpan<KeyReference> Keys => new(_keys, 0, Count);

    internal void Clear() => Count = 0;

    internal void Add(int pos, KeySpecFlags flags)
    {
        if (Count == _keys.Length) Array.Resize(ref _keys, _keys.Length * 2);
        _keys[Count++] = new KeyReference(pos, flags);
    }
}

public static class KeySpecs
{
    static readonly (string Name, KeySpecFlags Flag)[] FlagNames =
    [
        ("RO", KeySpecFlags.RO), ("RW", KeySpecFlags.RW), ("OW", KeySpecFlags.OW), ("RM", KeySpecFlags.RM),
        ("access", KeySpecFlags.Access), ("update", KeySpecFlags.Update), ("insert", KeySpecFlags.Insert),
        ("delete", KeySpecFlags.Delete), ("not_key", KeySpecFlags.NotKey), ("incomplete", KeySpecFlags.Incomplete),
        ("variable_flags", KeySpecFlags.VariableFlags),
    ];

    /// <summary>The parsed key specs of a command (cached on the definition).</summary>
    public static KeySpec[] Of(CommandDef cmd) => cmd.KeySpecs ??= Parse(cmd.Info);

    static KeySpec[] Parse(RespValue? info)
    {
        if (info == null || info.Items.Length < 9) return [];
        var specs = new List<KeySpec>();
        foreach (var m in info.Items[8].Items)
        {
            var spec = new KeySpec();
            foreach (var f in m.Get("flags")?.Items ?? [])
                foreach (var (name, flag) in FlagNames)
                    if (f.Text == name) spec.Flags |= flag;
            var bs = m.Get("begin_search");
            var bsSpec = bs?.Get("spec");
            switch (bs?.Get("type")?.Text)
            {
                case "index":
                    spec.BeginSearch = BeginSearchType.Index;
                    spec.Index = (int)bsSpec!.Get("index")!.Integer;
                    break;
                case "keyword":
                    spec.BeginSearch = BeginSearchType.Keyword;
                    spec.Keyword = bsSpec!.Get("keyword")!.Text!;
                    spec.StartFrom = (int)bsSpec.Get("startfrom")!.Integer;
                    break;
            }
            var fk = m.Get("find_keys");
            var fkSpec = fk?.Get("spec");
            switch (fk?.Get("type")?.Text)
            {
                case "range":
                    spec.FindKeys = FindKeysType.Range;
                    spec.LastKey = (int)fkSpec!.Get("lastkey")!.Integer;
                    spec.KeyStep = (int)fkSpec.Get("keystep")!.Integer;
                    spec.Limit = (int)fkSpec.Get("limit")!.Integer;
                    break;
                case "keynum":
                    spec.FindKeys = FindKeysType.KeyNum;
                    spec.KeyNumIdx = (int)fkSpec!.Get("keynumidx")!.Integer;
                    spec.FirstKey = (int)fkSpec.Get("firstkey")!.Integer;
                    spec.KeyStep = (int)fkSpec.Get("keystep")!.Integer;
                    break;
            }
            specs.Add(spec);
        }
        return specs.ToArray();
    }

    /// <summary>doesCommandHaveKeys: a getkeys procedure or at least one spec that is a real key.</summary>
    public static bool HasKeys(CommandDef cmd) =>
        HasGetKeysProc(cmd) || Of(cmd).Any(s => (s.Flags & KeySpecFlags.NotKey) == 0);

    /// <summary>Names of the flags as COMMAND GETKEYSANDFLAGS prints them.</summary>
    public static IEnumerable<string> FlagNamesOf(KeySpecFlags flags)
    {
        foreach (var (name, flag) in FlagNames)
            if ((flags & flag) != 0) yield return name;
    }

    /// <summary>
    /// getKeysFromCommandWithSpecs: the keys of the command whose name is argv[start] (for a
    /// subcommand argv[start + 1] is its name), as positions relative to start, into result.
    /// Returns their count, or -1 when the arguments are invalid for the specs (result is then empty).
    /// </summary>
    public static int GetKeys(CommandDef cmd, CommandArgs argv, GetKeysResult result, int start = 0)
    {
        result.Clear();
        var args = new Args(argv, start);
        var specs = Of(cmd);
        bool hasVarFlags = false, hasRealKey = false;
        foreach (var s in specs)
        {
            hasVarFlags |= (s.Flags & KeySpecFlags.VariableFlags) != 0;
            hasRealKey |= (s.Flags & KeySpecFlags.NotKey) == 0;
        }
        if (hasRealKey && !hasVarFlags)
        {
            if (FromSpecs(specs, cmd.Arity, args, result)) return result.Count;
            result.Clear();
        }
        // The spec walk failed (an incomplete or unknown spec, or bad arguments): Redis falls
        // back to the command's getkeys_proc, which the commands below have.
        switch (cmd.Parent == null ? cmd.Name : "")
        {
            case "sort" or "sort_ro": SortKeys(args, result); break;
            case "migrate": MigrateKeys(args, result); break;
            case "set": SetKeys(args, result); break;
            case "bitfield": BitfieldKeys(args, result); break;
            default: return -1;
        }
        return result.Count;
    }

    /// <summary>The argument vector from the command's name on: argv[start + i] is argument i.</summary>
    readonly struct Args(CommandArgs argv, int start)
    {
        public int Count => argv.Count - start;

        public ReadOnlySpan<byte> this[int i] => argv[start + i];

        /// <summary>strcasecmp of argument i with an ASCII keyword.</summary>
        public bool Is(int i, string word)
        {
            var a = argv[start + i];
            if (a.Length != word.Length) return false;
            for (int k = 0; k < a.Length; k++)
            {
                int x = a[k], y = word[k];
                if ((uint)(x - 'A') <= 'Z' - 'A') x |= 0x20;
                if ((uint)(y - 'A') <= 'Z' - 'A') y |= 0x20;
                if (x != y) return false;
            }
            return true;
        }
    }

    static bool HasGetKeysProc(CommandDef cmd) =>
        cmd.Parent == null && cmd.Name is "sort" or "sort_ro" or "migrate" or "set" or "bitfield";

    /// <summary>getKeysUsingKeySpecs with GET_KEYSPEC_DEFAULT: any invalid spec invalidates the whole result.</summary>
    static bool FromSpecs(KeySpec[] specs, int arity, Args argv, GetKeysResult result)
    {
        int argc = argv.Count;
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
                    if (argv.Is(i, spec.Keyword))
                    {
                        first = i + 1;
                        break;
                    }
                }
                if (first == 0) continue; // keyword not found: this spec has no keys
            }
            else return false;

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
                if (spec.KeyNumIdx >= argc || first + spec.KeyNumIdx >= argc) return false;
                if (!RespParser.TryParseLong(argv[first + spec.KeyNumIdx], out long numkeys) || numkeys < 0) return false;
                first += spec.FirstKey;
                long l = first + numkeys - 1;
                if (l > int.MaxValue) return false;
                last = (int)l;
            }
            else return false;

            if (last >= argc || last < first || first >= argc) return false;
            for (int i = first; i <= last; i += step)
            {
                if (i >= argc || i < first)
                {
                    if (arity < 0) continue;
                    return false;
                }
                result.Add(i, spec.Flags);
            }
            if ((spec.Flags & KeySpecFlags.Incomplete) != 0) return false;
        }
        return true;
    }

    /// <summary>sortROGetKeys / sortGetKeys: the sorted key, plus the last STORE destination (skipping LIMIT/GET/BY operands).</summary>
    static void SortKeys(Args argv, GetKeysResult keys)
    {
        keys.Add(1, KeySpecFlags.RO | KeySpecFlags.Access);
        int storePos = -1;
        for (int i = 2; i < argv.Count; i++)
        {
            int skip = argv.Is(i, "limit") ? 2 : argv.Is(i, "get") || argv.Is(i, "by") ? 1 : 0;
            if (argv.Is(i, "store") && i + 1 < argv.Count)
            {
                // The last STORE wins, as sortCommand parses it.
                storePos = i + 1;
                skip = 1;
            }
            i += skip;
        }
        if (storePos > 0 && argv.Is(0, "sort")) keys.Add(storePos, KeySpecFlags.OW | KeySpecFlags.Update);
    }

    /// <summary>migrateGetKeys: the key argument, or with an empty key the names after KEYS.</summary>
    static void MigrateKeys(Args argv, GetKeysResult keys)
    {
        const KeySpecFlags flags = KeySpecFlags.RW | KeySpecFlags.Access | KeySpecFlags.Delete;
        int first = 3, num = 1;
        if (argv.Count > 6 && argv[3].Length == 0)
        {
            for (int i = 6; i < argv.Count; i++)
            {
                if (argv.Is(i, "auth")) i += 1;
                else if (argv.Is(i, "auth2")) i += 2;
                else if (argv.Is(i, "keys"))
                {
                    first = i + 1;
                    num = argv.Count - first;
                    break;
                }
            }
        }
        for (int i = 0; i < num; i++) keys.Add(first + i, flags);
    }

    /// <summary>setGetKeys: with GET the key is read too (RW), otherwise overwritten (OW).</summary>
    static void SetKeys(Args argv, GetKeysResult keys)
    {
        for (int i = 3; i < argv.Count; i++)
        {
            if (argv.Is(i, "get"))
            {
                keys.Add(1, KeySpecFlags.RW | KeySpecFlags.Access | KeySpecFlags.Update);
                return;
            }
        }
        keys.Add(1, KeySpecFlags.OW | KeySpecFlags.Update);
    }

    /// <summary>bitfieldGetKeys: read-only when only GET (and OVERFLOW) operations are present.</summary>
    static void BitfieldKeys(Args argv, GetKeysResult keys)
    {
        bool readOnly = true;
        for (int i = 2; i < argv.Count; i++)
        {
            int remaining = argv.Count - i - 1;
            if (argv.Is(i, "get") && remaining >= 2) i += 2;
            else if ((argv.Is(i, "set") || argv.Is(i, "incrby")) && remaining >= 3)
            {
                readOnly = false;
                break;
            }
            else if (argv.Is(i, "overflow") && remaining >= 1) i += 1;
            else
            {
                readOnly = false;
                break;
            }
        }
        keys.Add(1, readOnly ? KeySpecFlags.RO | KeySpecFlags.Access : KeySpecFlags.RW | KeySpecFlags.Access | KeySpecFlags.Update);
    }
}
