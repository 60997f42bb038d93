// An ACL user (acl.c's user): on/off, nopass, the payload-sanitizing flags, SHA-256 password
// hashes, and its selectors (the root one first). ACLSetUser's rule language for the user-level
// rules lives here (passwords, flags, "(...)" selectors, clearselectors, reset); every other rule
// goes to the root selector. ACLDescribeUser renders it back in the form ACL LIST and the ACL
// file use, which applied again gives the same user.
using System.Security.Cryptography;
using System.Text;

namespace Cinnabar.Security;

[Flags]
public enum UserFlags
{
    None = 0,
    Enabled = 1 << 0,
    Disabled = 1 << 1,
    NoPass = 1 << 2,
    SanitizePayload = 1 << 3,
    SkipSanitizePayload = 1 << 4,
}

public sealed class AclUser
{
    /// <summary>ACLUserFlags: the order ACL LIST and GETUSER print them in.</summary>
    public static readonly (string Name, UserFlags Flag)[] FlagNames =
    [
        ("on", UserFlags.Enabled), ("off", UserFlags.Disabled), ("nopass", UserFlags.NoPass),
        ("skip-sanitize-payload", UserFlags.SkipSanitizePayload), ("sanitize-payload", UserFlags.SanitizePayload),
    ];

    public string Name { get; }
    public UserFlags Flags = UserFlags.Disabled;
    public List<string> Passwords = [];   // lower-case hex SHA-256
    public List<AclSelector> Selectors;

    public AclUser(string name, bool allChannelsByDefault)
    {
        Name = name;
        Selectors = [new AclSelector(SelectorFlags.Root, allChannelsByDefault)];
    }

    public AclSelector Root => Selectors[0];

    public bool HasFlag(UserFlags f) => (Flags & f) != 0;

    /// <summary>The root selector allows every command, key and channel: no check needed.</summary>
    public bool Unrestricted => Selectors[0].Unrestricted;

    /// <summary>ACLCopyUser: this user takes src's rules (its name stays).</summary>
    public void CopyFrom(AclUser src)
    {
        Flags = src.Flags;
        Passwords = [.. src.Passwords];
        Selectors = src.Selectors.Select(s => s.Copy()).ToList();
    }

    public AclUser Clone(string name)
    {
        var u = new AclUser(name, false);
        u.CopyFrom(this);
        return u;
    }

    /// <summary>ACLSetUser: one rule; an empty rule does nothing.</summary>
    public AclRuleError Apply(string op, AclCommandIndex index, bool allChannelsByDefault)
    {
        if (op.Length == 0) return AclRuleError.None;
        if (Is(op, "on")) Flags = (Flags | UserFlags.Enabled) & ~UserFlags.Disabled;
        else if (Is(op, "off")) Flags = (Flags | UserFlags.Disabled) & ~UserFlags.Enabled;
        else if (Is(op, "skip-sanitize-payload")) Flags = (Flags | UserFlags.SkipSanitizePayload) & ~UserFlags.SanitizePayload;
        else if (Is(op, "sanitize-payload")) Flags = (Flags | UserFlags.SanitizePayload) & ~UserFlags.SkipSanitizePayload;
        else if (Is(op, "nopass"))
        {
            Flags |= UserFlags.NoPass;
            Passwords.Clear();
        }
        else if (Is(op, "resetpass"))
        {
            Flags &= ~UserFlags.NoPass;
            Passwords.Clear();
        }
        else if (op[0] is '>' or '#')
        {
            if (PasswordHashOf(op) is not { } hash) return AclRuleError.BadHash;
            if (!Passwords.Contains(hash)) Passwords.Add(hash);
            Flags &= ~UserFlags.NoPass;
        }
        else if (op[0] is '<' or '!')
        {
            if (PasswordHashOf(op) is not { } hash) return AclRuleError.BadHash;
            if (!Passwords.Remove(hash)) return AclRuleError.NoSuchPassword;
        }
        else if (op[0] == '(' && op[^1] == ')')
        {
            var selector = new AclSelector(SelectorFlags.None, allChannelsByDefault);
            var inner = Encoding.Latin1.GetBytes(op[1..^1]);
            var parts = new List<byte[]>();
            if (!Protocol.InlineSplitter.Split(inner, parts)) return AclRuleError.Syntax;
            foreach (var part in parts)
            {
                var err = selector.Apply(Encoding.Latin1.GetString(part), index);
                if (err != AclRuleError.None) return err;
            }
            Selectors.Add(selector);
        }
        else if (Is(op, "clearselectors")) Selectors.RemoveRange(1, Selectors.Count - 1);
        else if (Is(op, "reset"))
        {
            Apply("resetpass", index, allChannelsByDefault);
            Apply("resetkeys", index, allChannelsByDefault);
            Apply("resetchannels", index, allChannelsByDefault);
            if (allChannelsByDefault) Apply("allchannels", index, allChannelsByDefault);
            Apply("off", index, allChannelsByDefault);
            Apply("sanitize-payload", index, allChannelsByDefault);
            Apply("clearselectors", index, allChannelsByDefault);
            Apply("-@all", index, allChannelsByDefault);
        }
        else return Root.Apply(op, index);
        return AclRuleError.None;
    }

    static bool Is(string op, string word) => string.Equals(op, word, StringComparison.OrdinalIgnoreCase);

    /// <summary>"&gt;pw"/"&lt;pw": the password's hash; "#hash"/"!hash": the hash itself, null when it is not one.</summary>
    static string? PasswordHashOf(string op)
    {
        if (op[0] is '>' or '<') return HashPassword(op.AsSpan(1));
        return IsValidHash(op.AsSpan(1)) ? op[1..] : null;
    }

    /// <summary>ACLHashPassword: the lower-case hex SHA-256 of the password's bytes.</summary>
    public static string HashPassword(ReadOnlySpan<char> latin1Password)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.Latin1.GetBytes(latin1Password.ToArray()), digest);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>ACLCheckPasswordHash: exactly 64 characters of 0-9a-f.</summary>
    static bool IsValidHash(ReadOnlySpan<char> h)
    {
        if (h.Length != 64) return false;
        foreach (char ch in h)
            if (ch is not (>= '0' and <= '9' or >= 'a' and <= 'f')) return false;
        return true;
    }

    /// <summary>ACLCheckUserCredentials' password part: nopass, or one hash equal in constant time.</summary>
    public bool PasswordMatches(ReadOnlySpan<char> latin1Password)
    {
        if (HasFlag(UserFlags.NoPass)) return true;
        var hashed = Encoding.ASCII.GetBytes(HashPassword(latin1Password));
        bool ok = false;
        foreach (var p in Passwords)
            ok |= CryptographicOperations.FixedTimeEquals(hashed, Encoding.ASCII.GetBytes(p));
        return ok;
    }

    /// <summary>ACLDescribeUser: flags, "#hash"es, the root selector, then " (selector)" for each other.</summary>
    public string Describe(AclCommandIndex index)
    {
        var sb = new StringBuilder();
        foreach (var (name, flag) in FlagNames)
            if (HasFlag(flag)) sb.Append(name).Append(' ');
        foreach (var p in Passwords) sb.Append('#').Append(p).Append(' ');
        foreach (var s in Selectors)
        {
            if (s.HasFlag(SelectorFlags.Root)) sb.Append(s.Describe(index));
            else sb.Append(" (").Append(s.Describe(index)).Append(')');
        }
        return sb.ToString();
    }
}
