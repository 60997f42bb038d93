// One ACL selector (acl.c's aclSelector): the commands it allows (a bitmap over the command
// ids, plus first arguments allowed for otherwise denied commands), the key patterns with their
// read/write permissions, and the channel patterns. A user's root selector holds the rules
// written outside parentheses; each "(...)" adds another, and a command runs when any selector
// allows all of it. Holds the rule language of ACLSetSelector, the check of ACLSelectorCheckCmd,
// and the best-fit description of ACLDescribeSelectorCommandRules that ACL GETUSER/LIST print;
// with the check's two helpers: the keys extracted once per check (AclKeyCache) and where the
// Pub/Sub commands keep their channels (AclChannels, db.c's commands_with_channels).
using Cinnabar.Commands;
using Cinnabar.Keyspace;
using Cinnabar.Protocol;

namespace Cinnabar.Security;

/// <summary>Why a check failed (ACL_DENIED_*; the numbers order which failure of several selectors is reported).</summary>
public enum AclDenial
{
    Ok = 0,
    Command = 1,
    Key = 2,
    Auth = 3,
    Channel = 4,
}

/// <summary>What ACLSetUser's errno says when a rule is refused.</summary>
public enum AclRuleError
{
    None,
    Syntax,             // EINVAL
    UnknownCommand,     // ENOENT
    KeyAfterAllKeys,    // EEXIST
    ChannelAfterAll,    // EISDIR
    NoSuchPassword,     // ENODEV
    BadHash,            // EBADMSG
    DuplicateUser,      // EALREADY
    FirstArgOfSubcommand, // ECHILD
}

[Flags]
public enum SelectorFlags
{
    None = 0,
    Root = 1 << 0,
    AllKeys = 1 << 1,
    AllCommands = 1 << 2,
    AllChannels = 1 << 3,
}

[Flags]
public enum KeyPermission
{
    None = 0,
    Read = 1 << 0,
    Write = 1 << 1,
    All = Read | Write,
}

public sealed class AclKeyPattern(byte[] pattern, KeyPermission permission)
{
    public byte[] Pattern { get; } = pattern;
    public KeyPermission Permission { get; set; } = permission;
}

public sealed class AclSelector
{
    public SelectorFlags Flags;
    readonly ulong[] _allowed = new ulong[AclCommandIndex.Bits / 64];
    Dictionary<int, List<string>>? _firstArgs; // command id -> allowed argv[1] values, in the order added
    public readonly List<AclKeyPattern> Patterns = [];
    public readonly List<byte[]> Channels = [];

    /// <summary>ACLCreateSelector: no permissions, except all channels when acl-pubsub-default is allchannels.</summary>
    public AclSelector(SelectorFlags flags, bool allChannelsByDefault) =>
        Flags = flags | (allChannelsByDefault ? SelectorFlags.AllChannels : SelectorFlags.None);

    AclSelector(AclSelector src)
    {
        Flags = src.Flags;
        Array.Copy(src._allowed, _allowed, _allowed.Length);
        foreach (var p in src.Patterns) Patterns.Add(new AclKeyPattern(p.Pattern, p.Permission));
        Channels.AddRange(src.Channels);
        if (src._firstArgs != null)
        {
            _firstArgs = [];
            foreach (var (id, args) in src._firstArgs) _firstArgs[id] = [.. args];
        }
    }

    public AclSelector Copy() => new(this);

    public bool HasFlag(SelectorFlags f) => (Flags & f) != 0;

    public bool Unrestricted => (Flags & (SelectorFlags.AllKeys | SelectorFlags.AllCommands | SelectorFlags.AllChannels))
        == (SelectorFlags.AllKeys | SelectorFlags.AllCommands | SelectorFlags.AllChannels);

    bool GetBit(int id) => (uint)id < AclCommandIndex.Bits && (_allowed[id >> 6] & (1UL << (id & 63))) != 0;

    void SetBit(int id, bool value)
    {
        if ((uint)id >= AclCommandIndex.Bits) return;
        if (value) _allowed[id >> 6] |= 1UL << (id & 63);
        else
        {
            _allowed[id >> 6] &= ~(1UL << (id & 63));
            Flags &= ~SelectorFlags.AllCommands;
        }
    }

    bool CanExecuteFutureCommands => GetBit(AclCommandIndex.FutureCommandsBit);

    /// <summary>ACLChangeSelectorPerm: allowing or denying a container covers its subcommands.</summary>
    void ChangePermission(CommandDef cmd, bool allow)
    {
        SetBit(cmd.AclId, allow);
        _firstArgs?.Remove(cmd.AclId);
        if (cmd.Subcommands != null)
            foreach (var sub in cmd.Subcommands.Values) SetBit(sub.AclId, allow);
    }

    void ChangeCategory(AclCommandIndex index, int category, bool allow)
    {
        ulong bit = 1UL << category;
        foreach (var cmd in index.TopLevel)
        {
            if ((cmd.AclCategoryMask & bit) != 0) ChangePermission(cmd, allow);
            if (cmd.Subcommands == null) continue;
            foreach (var sub in cmd.Subcommands.Values)
                if ((sub.AclCategoryMask & bit) != 0) ChangePermission(sub, allow);
        }
    }

    void CountCategory(AclCommandIndex index, int category, out int on, out int off)
    {
        on = off = 0;
        ulong bit = 1UL << category;
        foreach (var cmd in index.AllWithSubcommands())
        {
            if ((cmd.AclCategoryMask & bit) == 0) continue;
            if (GetBit(cmd.AclId)) on++;
            else off++;
        }
    }

    void SetAll(bool allow)
    {
        Array.Fill(_allowed, allow ? ulong.MaxValue : 0UL);
        if (allow) Flags |= SelectorFlags.AllCommands;
        else Flags &= ~SelectorFlags.AllCommands;
        _firstArgs = null;
    }

    /// <summary>ACLSetSelector: applies one rule about commands, keys or channels.</summary>
    public AclRuleError Apply(string op, AclCommandIndex index)
    {
        if (Is(op, "allkeys") || op == "~*")
        {
            Flags |= SelectorFlags.AllKeys;
            Patterns.Clear();
        }
        else if (Is(op, "resetkeys"))
        {
            Flags &= ~SelectorFlags.AllKeys;
            Patterns.Clear();
        }
        else if (Is(op, "allchannels") || op == "&*")
        {
            Flags |= SelectorFlags.AllChannels;
            Channels.Clear();
        }
        else if (Is(op, "resetchannels"))
        {
            Flags &= ~SelectorFlags.AllChannels;
            Channels.Clear();
        }
        else if (Is(op, "allcommands") || Is(op, "+@all")) SetAll(true);
        else if (Is(op, "nocommands") || Is(op, "-@all")) SetAll(false);
        else if (op[0] is '~' or '%') return AddKeyPattern(op);
        else if (op[0] == '&')
        {
            if (HasFlag(SelectorFlags.AllChannels)) return AclRuleError.ChannelAfterAll;
            if (HasSpaces(op.AsSpan(1))) return AclRuleError.Syntax;
            var pattern = Latin1(op.AsSpan(1));
            if (!Channels.Any(c => c.AsSpan().SequenceEqual(pattern))) Channels.Add(pattern);
        }
        else if (op[0] == '+' && (op.Length < 2 || op[1] != '@')) return Allow(op[1..], index);
        else if (op[0] == '-' && (op.Length < 2 || op[1] != '@'))
        {
            var cmd = index.Lookup(op[1..]);
            if (cmd == null) return AclRuleError.UnknownCommand;
            ChangePermission(cmd, false);
        }
        else if (op[0] is '+' or '-' && op.Length >= 2 && op[1] == '@')
        {
            int category = AclCommandIndex.CategoryIndex(op[2..]);
            if (category < 0) return AclRuleError.UnknownCommand;
            ChangeCategory(index, category, op[0] == '+');
        }
        else return AclRuleError.Syntax;
        return AclRuleError.None;
    }

    AclRuleError AddKeyPattern(string op)
    {
        if (HasFlag(SelectorFlags.AllKeys)) return AclRuleError.KeyAfterAllKeys;
        var permission = KeyPermission.None;
        int offset = 1;
        if (op[0] == '%')
        {
            for (; offset < op.Length; offset++)
            {
                char ch = char.ToUpperInvariant(op[offset]);
                if (ch == 'R' && (permission & KeyPermission.Read) == 0) permission |= KeyPermission.Read;
                else if (ch == 'W' && (permission & KeyPermission.Write) == 0) permission |= KeyPermission.Write;
                else if (op[offset] == '~')
                {
                    offset++;
                    break;
                }
                else return AclRuleError.Syntax;
            }
            if (permission == KeyPermission.None) return AclRuleError.Syntax;
        }
        else permission = KeyPermission.All;
        if (HasSpaces(op.AsSpan(offset))) return AclRuleError.Syntax;
        var pattern = Latin1(op.AsSpan(offset));
        var existing = Patterns.FirstOrDefault(p => p.Pattern.AsSpan().SequenceEqual(pattern));
        if (existing == null) Patterns.Add(new AclKeyPattern(pattern, permission));
        else existing.Permission |= permission;
        Flags &= ~SelectorFlags.AllKeys;
        return AclRuleError.None;
    }

    /// <summary>"+cmd", "+container|sub", or "+cmd|firstarg" for a command without subcommands.</summary>
    AclRuleError Allow(string name, AclCommandIndex index)
    {
        int bar = name.LastIndexOf('|');
        if (bar < 0)
        {
            var cmd = index.Lookup(name);
            if (cmd == null) return AclRuleError.UnknownCommand;
            ChangePermission(cmd, true);
            return AclRuleError.None;
        }
        var parent = index.Lookup(name[..bar]);
        if (parent == null) return AclRuleError.UnknownCommand;
        if (parent.Parent != null) return AclRuleError.FirstArgOfSubcommand;
        string sub = name[(bar + 1)..];
        if (sub.Length == 0) return AclRuleError.Syntax;
        if (parent.Subcommands != null)
        {
            var cmd = index.Lookup(name);
            if (cmd == null) return AclRuleError.UnknownCommand;
            ChangePermission(cmd, true);
            return AclRuleError.None;
        }
        _firstArgs ??= [];
        if (!_firstArgs.TryGetValue(parent.AclId, out var list)) _firstArgs[parent.AclId] = list = [];
        if (!list.Any(a => string.Equals(a, sub, StringComparison.OrdinalIgnoreCase))) list.Add(sub);
        index.Warn?.Invoke($"Deprecation warning: Allowing a first arg of an otherwise blocked command is a misuse of ACL and may get disabled in the future (offender: +{name})");
        return AclRuleError.None;
    }

    static bool Is(string op, string word) => string.Equals(op, word, StringComparison.OrdinalIgnoreCase);

    /// <summary>ACLStringHasSpaces: isspace() or NUL anywhere.</summary>
    public static bool HasSpaces(ReadOnlySpan<char> s)
    {
        foreach (char ch in s)
            if (ch is ' ' or '\t' or '\n' or '\v' or '\f' or '\r' or '\0') return true;
        return false;
    }

    static byte[] Latin1(ReadOnlySpan<char> s) => System.Text.Encoding.Latin1.GetBytes(s.ToArray());

    // --- checks ------------------------------------------------------------------------------

    /// <summary>
    /// ACLSelectorCheckCmd: the command (or its allowed first argument), then every key by the
    /// access its key spec declares, then the channels of (P|S)SUBSCRIBE and (S)PUBLISH.
    /// <paramref name="keys"/> is filled on first need and shared by the user's selectors.
    /// </summary>
    public AclDenial Check(CommandDef cmd, CommandArgs argv, AclKeyCache keys, out int position)
    {
        position = 0;
        if (!HasFlag(SelectorFlags.AllCommands) && !cmd.Has(CommandFlags.NoAuth) && !GetBit(cmd.AclId))
        {
            if (argv.Count < 2 || _firstArgs == null || !_firstArgs.TryGetValue(cmd.AclId, out var allowed)) return AclDenial.Command;
            if (!AnyEqualsIgnoreCase(allowed, argv[cmd.Parent != null ? 2 : 1])) return AclDenial.Command;
        }
        if (!HasFlag(SelectorFlags.AllKeys) && KeySpecs.HasKeys(cmd))
        {
            var result = keys.Get(cmd, argv);
            foreach (var k in result.Keys)
            {
                if (!KeyAllowed(argv[k.Pos], k.Flags))
                {
                    position = k.Pos;
                    return AclDenial.Key;
                }
            }
        }
        if (!HasFlag(SelectorFlags.AllChannels) && AclChannels.Of(cmd) is { } spec && spec.ChecksAccess)
        {
            int stop = spec.Count < 0 ? argv.Count : Math.Min(argv.Count, spec.Start + spec.Count);
            for (int i = spec.Start; i < stop; i++)
            {
                if (!ChannelAllowed(Channels, argv[i], spec.IsPattern))
                {
                    position = i;
                    return AclDenial.Channel;
                }
            }
        }
        return AclDenial.Ok;
    }

    static bool AnyEqualsIgnoreCase(List<string> allowed, ReadOnlySpan<byte> arg)
    {
        foreach (var a in allowed)
            if (EqualsIgnoreCase(arg, a)) return true;
        return false;
    }

    static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, string b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (char.ToLowerInvariant((char)a[i]) != char.ToLowerInvariant(b[i])) return false;
        return true;
    }

    /// <summary>ACLSelectorCheckKey: a pattern granting every permission the key spec needs matches the key.</summary>
    public bool KeyAllowed(ReadOnlySpan<byte> key, KeySpecFlags specFlags)
    {
        if (HasFlag(SelectorFlags.AllKeys)) return true;
        var needed = NeededPermission(specFlags);
        foreach (var p in Patterns)
        {
            if ((p.Permission & needed) != needed) continue;
            if (GlobMatcher.Match(p.Pattern, key)) return true;
        }
        return false;
    }

    /// <summary>ACLSelectorHasUnrestrictedKeyAccess: "~*" (or "%R~*" for reads, ...) is among the patterns.</summary>
    public bool HasUnrestrictedKeyAccess(KeySpecFlags specFlags)
    {
        if (HasFlag(SelectorFlags.AllKeys)) return true;
        var needed = NeededPermission(specFlags);
        return Patterns.Any(p => (p.Permission & needed) == needed && p.Pattern is [(byte)'*']);
    }

    static KeyPermission NeededPermission(KeySpecFlags f)
    {
        var needed = KeyPermission.None;
        if ((f & KeySpecFlags.Access) != 0) needed |= KeyPermission.Read;
        if ((f & (KeySpecFlags.Insert | KeySpecFlags.Delete | KeySpecFlags.Update)) != 0) needed |= KeyPermission.Write;
        return needed;
    }

    /// <summary>
    /// ACLCheckChannelAgainstList: a channel is matched against the patterns; a PSUBSCRIBE
    /// pattern only against an identical pattern.
    /// </summary>
    public static bool ChannelAllowed(List<byte[]> patterns, ReadOnlySpan<byte> channel, bool isPattern)
    {
        foreach (var p in patterns)
        {
            if (isPattern ? p.AsSpan().SequenceEqual(channel) : GlobMatcher.Match(p, channel)) return true;
        }
        return false;
    }

    // --- description -------------------------------------------------------------------------

    /// <summary>
    /// ACLDescribeSelectorCommandRules: "+@all" or "-@all", then the categories that best fit the
    /// bitmap (each must have more commands in common than different; fewest differences first,
    /// then most in common), then the single commands and first arguments left. Applying the
    /// result to an empty selector rebuilds this bitmap exactly (checked, as Redis checks it).
    /// </summary>
    public string DescribeCommandRules(AclCommandIndex index)
    {
        var rules = new System.Text.StringBuilder();
        var fake = new AclSelector(SelectorFlags.None, false);
        bool additive = !CanExecuteFutureCommands;
        rules.Append(additive ? "-@all " : "+@all ");
        fake.SetAll(!additive);
        var temp = new AclSelector(SelectorFlags.None, false);
        Array.Copy(_allowed, temp._allowed, _allowed.Length);
        var applied = new bool[AclCommandIndex.Categories.Length];
        while (true)
        {
            int best = -1, minDiff = int.MaxValue, maxSame = 0;
            for (int j = 0; j < AclCommandIndex.Categories.Length; j++)
            {
                if (applied[j]) continue;
                temp.CountCategory(index, j, out int on, out int off);
                int diff = additive ? off : on, same = additive ? on : off;
                if (same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)))
                {
                    best = j;
                    minDiff = diff;
                    maxSame = same;
                }
            }
            if (best == -1) break;
            fake.ChangeCategory(index, best, additive);
            temp.ChangeCategory(index, best, !additive);
            rules.Append(additive ? "+@" : "-@").Append(AclCommandIndex.Categories[best]).Append(' ');
            applied[best] = true;
        }
        foreach (var cmd in index.TopLevel)
        {
            DescribeSingle(cmd, fake, rules);
            if (cmd.Subcommands != null)
                foreach (var sub in cmd.Subcommands.Values) DescribeSingle(sub, fake, rules);
            if (!GetBit(cmd.AclId) && _firstArgs != null && _firstArgs.TryGetValue(cmd.AclId, out var args))
                foreach (var a in args) rules.Append('+').Append(cmd.FullName).Append('|').Append(a).Append(' ');
        }
        rules.Length--; // the trailing space
        if (!fake._allowed.AsSpan().SequenceEqual(_allowed))
            throw new InvalidOperationException("No bitmap match in ACLDescribeSelectorCommandRules(): " + rules);
        return rules.ToString();
    }

    void DescribeSingle(CommandDef cmd, AclSelector fake, System.Text.StringBuilder rules)
    {
        bool userBit = GetBit(cmd.AclId);
        if (userBit == fake.GetBit(cmd.AclId)) return;
        rules.Append(userBit ? '+' : '-').Append(cmd.FullName).Append(' ');
        fake.ChangePermission(cmd, userBit);
    }

    /// <summary>The key patterns as ACL GETUSER shows them ("~*" for allkeys; "" for none).</summary>
    public string DescribeKeys() => HasFlag(SelectorFlags.AllKeys) ? "~*" : string.Join(' ', Patterns.Select(PatternString));

    /// <summary>The channel patterns as ACL GETUSER shows them ("&amp;*" for allchannels; "" for none).</summary>
    public string DescribeChannels() =>
        HasFlag(SelectorFlags.AllChannels) ? "&*" : string.Join(' ', Channels.Select(ch => "&" + System.Text.Encoding.Latin1.GetString(ch)));

    /// <summary>ACLDescribeSelector: keys, channels, then the command rules, as ACL LIST writes them.</summary>
    public string Describe(AclCommandIndex index)
    {
        var sb = new System.Text.StringBuilder();
        string keys = DescribeKeys(), channels = DescribeChannels();
        if (keys.Length > 0) sb.Append(keys).Append(' ');
        // Without allchannels the list starts with resetchannels, so loading it back drops the default.
        if (!HasFlag(SelectorFlags.AllChannels)) sb.Append("resetchannels ");
        if (channels.Length > 0) sb.Append(channels).Append(' ');
        sb.Append(DescribeCommandRules(index));
        return sb.ToString();
    }

    /// <summary>sdsCatPatternString: "~p", "%R~p" or "%W~p".</summary>
    public static string PatternString(AclKeyPattern p)
    {
        string prefix = p.Permission switch
        {
            KeyPermission.All => "~",
            KeyPermission.Read => "%R~",
            KeyPermission.Write => "%W~",
            _ => throw new InvalidOperationException("Invalid key pattern flag detected"),
        };
        return prefix + System.Text.Encoding.Latin1.GetString(p.Pattern);
    }
}

/// <summary>
/// aclKeyResultCache: the command's keys, extracted once per check however many selectors look
/// at them, into a buffer reused across commands (the check allocates nothing).
/// </summary>
public sealed class AclKeyCache
{
    readonly GetKeysResult _result = new();
    bool _filled;

    public void Reset() => _filled = false;

    public GetKeysResult Get(CommandDef cmd, CommandArgs argv)
    {
        if (!_filled)
        {
            _result.Clear();
            KeySpecs.GetKeys(cmd, argv, _result);
            _filled = true;
        }
        return _result;
    }
}

/// <summary>
/// commands_with_channels (db.c): where the channels of the Pub/Sub commands are. Only publishing
/// and subscribing are checked; the unsubscribes are listed so the table matches Redis's.
/// </summary>
public sealed record AclChannels(int Start, int Count, bool IsPattern, bool ChecksAccess)
{
    static readonly AclChannels Subscribe = new(1, -1, false, true);
    static readonly AclChannels PatternSubscribe = new(1, -1, true, true);
    static readonly AclChannels Unsubscribe = new(1, -1, false, false);
    static readonly AclChannels Publish = new(1, 1, false, true);

    public static AclChannels? Of(CommandDef cmd) => cmd.Parent != null ? null : cmd.Name switch
    {
        "subscribe" or "ssubscribe" => Subscribe,
        "psubscribe" => PatternSubscribe,
        "unsubscribe" or "sunsubscribe" or "punsubscribe" => Unsubscribe,
        "publish" or "spublish" => Publish,
        _ => null,
    };
}
