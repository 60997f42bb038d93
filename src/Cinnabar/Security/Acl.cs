// Redis 7.0's access control (acl.c), one instance per server: the users (the default user is
// requirepass's), authentication, the permission check every command passes in the
// dispatcher, MULTI/EXEC and scripts (ACLCheckAllUserCommandPerm), the security log, and the
// users' lifecycle: ACL SETUSER stages changes on a copy and applies them whole, DELUSER and
// ACL LOAD disconnect the clients of removed users, revoked channels disconnect subscribers.
// Users come from `user` lines of the configuration or from the aclfile, never both.
using System.Text;
using Cinnabar.Commands;
using Cinnabar.Networking;
using Cinnabar.Protocol;
using Cinnabar.Server;

namespace Cinnabar.Security;

public sealed class Acl
{
    readonly CinnabarServer _server;
    readonly SortedDictionary<string, AclUser> _users = new(StringComparer.Ordinal);
    readonly AclKeyCache _keys = new();

    public AclCommandIndex Commands { get; }
    public AclUser DefaultUser { get; }
    public AclLog Log { get; } = new();

    public Acl(CinnabarServer server)
    {
        _server = server;
        Commands = new AclCommandIndex(server.Commands) { Warn = server.Log.Warning };
        DefaultUser = CreateDefaultUser();
        _users[DefaultUser.Name] = DefaultUser;
    }

    /// <summary>acl-pubsub-default: whether a new user or selector starts with every channel.</summary>
    public bool AllChannelsByDefault => _server.Config.GetString("acl-pubsub-default") == "allchannels";

    AclUser CreateDefaultUser()
    {
        var u = new AclUser("default", AllChannelsByDefault);
        foreach (var op in new[] { "+@all", "~*", "&*", "on", "nopass" }) u.Apply(op, Commands, AllChannelsByDefault);
        return u;
    }

    /// <summary>The users in name order (the rax's order: ACL LIST, USERS, SAVE).</summary>
    public IEnumerable<AclUser> Users => _users.Values;

    public AclUser? GetUser(string name) => _users.GetValueOrDefault(name);

    /// <summary>ACLUpdateDefaultUserPassword: requirepass sets the default user's only password (none: nopass).</summary>
    public void UpdateDefaultUserPassword(string? password)
    {
        DefaultUser.Apply("resetpass", Commands, AllChannelsByDefault);
        DefaultUser.Apply(password == null ? "nopass" : ">" + Latin1Of(password), Commands, AllChannelsByDefault);
    }

    static string Latin1Of(string utf16) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(utf16));

    // --- authentication ----------------------------------------------------------------------

    /// <summary>clientSetDefaultAuth: a new connection is the default user, authenticated when it needs no password.</summary>
    public void SetDefaultAuth(Client c)
    {
        c.User = DefaultUser;
        c.Authenticated = DefaultUser.HasFlag(UserFlags.NoPass) && !DefaultUser.HasFlag(UserFlags.Disabled);
    }

    /// <summary>authRequired: the default user needs a password (or is off) and the client has not authenticated.</summary>
    public bool AuthRequired(Client c) =>
        (!DefaultUser.HasFlag(UserFlags.NoPass) || DefaultUser.HasFlag(UserFlags.Disabled)) && !c.Authenticated;

    /// <summary>ACLAuthenticateUser: on success the client is that user; a failure is logged (reason auth).</summary>
    public bool Authenticate(Client c, byte[] username, byte[] password)
    {
        var u = GetUser(Encoding.Latin1.GetString(username));
        if (u != null && !u.HasFlag(UserFlags.Disabled) && u.PasswordMatches(Encoding.Latin1.GetString(password)))
        {
            c.Authenticated = true;
            c.User = u;
            return true;
        }
        AddLogEntry(c, AclDenial.Auth, c.HasFlag(ClientFlags.Multi) ? AclLogContext.Multi : AclLogContext.TopLevel, 0,
            Encoding.Latin1.GetString(username), c.Args[0].ToArray());
        return false;
    }

    // --- permission checks -------------------------------------------------------------------

    /// <summary>
    /// ACLCheckAllUserCommandPerm: allowed when any selector allows the command with its keys and
    /// channels; otherwise the denial to report is the command when no selector got past it, else
    /// the key or channel at the highest position. A null user (the primary, the AOF) runs anything.
    /// </summary>
    public AclDenial Check(AclUser? user, CommandDef cmd, CommandArgs argv, out int position)
    {
        position = 0;
        if (user == null || user.Unrestricted) return AclDenial.Ok;
        var relevant = AclDenial.Command;
        int lastPosition = 0;
        _keys.Reset();
        foreach (var s in user.Selectors)
        {
            var result = s.Check(cmd, argv, _keys, out int pos);
            if (result == AclDenial.Ok) return AclDenial.Ok;
            if (result > relevant || (result == relevant && pos > lastPosition))
            {
                relevant = result;
                lastPosition = pos;
            }
        }
        position = lastPosition;
        return relevant;
    }

    /// <summary>processCommand's ACL step: null when allowed, else the -NOPERM error (the denial is logged).</summary>
    public string? CheckClientCommand(Client c, CommandDef cmd)
    {
        var denial = Check(c.User, cmd, c.Args, out int pos);
        if (denial == AclDenial.Ok) return null;
        AddLogEntry(c, denial, c.HasFlag(ClientFlags.Multi) ? AclLogContext.Multi : AclLogContext.TopLevel, pos, null, null);
        return denial switch
        {
            AclDenial.Command => $"-NOPERM this user has no permissions to run the '{cmd.FullName}' command",
            AclDenial.Key => "-NOPERM this user has no permissions to access one of the keys used as arguments",
            AclDenial.Channel => "-NOPERM this user has no permissions to access one of the channels used as arguments",
            _ => "no permission",
        };
    }

    /// <summary>getAclErrorMessage: the reason as scripts and EXEC's re-check word it.</summary>
    public static string ErrorMessage(AclDenial d) => d switch
    {
        AclDenial.Command => "can't run this command or subcommand",
        AclDenial.Key => "can't access at least one of the keys mentioned in the command arguments",
        AclDenial.Channel => "can't publish to the channel mentioned in the command",
        _ => "lacking the permissions for the command",
    };

    /// <summary>ACLUserCheckCmdWithUnrestrictedKeyAccess: a selector allows the command and every key for this access (SORT's BY/GET).</summary>
    public bool HasUnrestrictedKeyAccess(AclUser? user, CommandDef cmd, CommandArgs argv, KeySpecFlags access)
    {
        if (user == null || user.Unrestricted) return true;
        _keys.Reset();
        foreach (var s in user.Selectors)
            if (s.Check(cmd, argv, _keys, out _) == AclDenial.Ok && s.HasUnrestrictedKeyAccess(access)) return true;
        return false;
    }

    /// <summary>ACLUserCheckChannelPerm: any selector allows the channel (or pattern, literally).</summary>
    public static bool ChannelAllowed(AclUser? user, ReadOnlySpan<byte> channel, bool isPattern)
    {
        if (user == null) return true;
        foreach (var s in user.Selectors)
        {
            if (s.HasFlag(SelectorFlags.AllChannels)) return true;
            if (AclSelector.ChannelAllowed(s.Channels, channel, isPattern)) return true;
        }
        return false;
    }

    /// <summary>addACLLogEntry: the object is the command's name, the key or channel at argpos, or what the caller gives.</summary>
    public void AddLogEntry(Client c, AclDenial reason, AclLogContext context, int argpos, string? username, byte[]? obj)
    {
        var e = new AclLogEntry
        {
            Reason = reason,
            Context = context,
            Username = username ?? c.User?.Name ?? "",
            CreatedMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            Object = obj ?? reason switch
            {
                AclDenial.Command => Encoding.ASCII.GetBytes(c.Cmd?.FullName ?? ""),
                AclDenial.Key or AclDenial.Channel => c.Args[argpos].ToArray(),
                AclDenial.Auth => c.Args[0].ToArray(),
                _ => [],
            },
        };
        var real = c.HasFlag(ClientFlags.Script) && _server.Lua.Running is { } run ? run.Caller : c;
        e.ClientInfo = ClientCommands.InfoString(real);
        Log.Add(e, _server.Config.GetLong("acllog-max-len"));
    }

    // --- users -------------------------------------------------------------------------------

    /// <summary>
    /// ACLMergeSelectorArguments: a selector may be spread over several arguments ("(+get", "~x)").
    /// Returns null for an unmatched parenthesis (its argument's index in invalidIndex).
    /// </summary>
    public static List<string>? MergeSelectorArguments(IReadOnlyList<string> args, out int invalidIndex)
    {
        invalidIndex = -1;
        var merged = new List<string>();
        StringBuilder? selector = null;
        int open = -1;
        for (int j = 0; j < args.Count; j++)
        {
            string op = args[j];
            if (op.Length > 0 && op[0] == '(' && op[^1] != ')')
            {
                selector = new StringBuilder(op);
                open = j;
                continue;
            }
            if (open != -1)
            {
                selector!.Append(' ').Append(op);
                if (op.Length > 0 && op[^1] == ')')
                {
                    open = -1;
                    merged.Add(selector.ToString());
                }
                continue;
            }
            merged.Add(op);
        }
        if (open != -1)
        {
            invalidIndex = open;
            return null;
        }
        return merged;
    }

    /// <summary>ACLSetUserStringError.</summary>
    public static string RuleErrorText(AclRuleError e) => e switch
    {
        AclRuleError.UnknownCommand => "Unknown command or category name in ACL",
        AclRuleError.Syntax => "Syntax error",
        AclRuleError.KeyAfterAllKeys => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
        AclRuleError.ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
        AclRuleError.NoSuchPassword => "The password you are trying to remove from the user does not exist",
        AclRuleError.BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
        AclRuleError.DuplicateUser => "Duplicate user found. A user can only be defined once in config files",
        AclRuleError.FirstArgOfSubcommand => "Allowing first-arg of a subcommand is not supported",
        _ => "Wrong format",
    };

    /// <summary>
    /// ACL SETUSER's body: the rules go to a copy of the user (or a new one), and only when all of
    /// them apply does the copy replace it. Returns null or the error reply.
    /// </summary>
    public string? SetUser(string name, IReadOnlyList<string> rules)
    {
        var merged = MergeSelectorArguments(rules, out int invalid);
        if (merged == null) return $"Unmatched parenthesis in acl selector starting at '{rules[invalid]}'.";
        var existing = GetUser(name);
        var temp = existing?.Clone(name) ?? new AclUser(name, AllChannelsByDefault);
        foreach (var op in merged)
        {
            var err = temp.Apply(op, Commands, AllChannelsByDefault);
            if (err != AclRuleError.None) return $"Error in ACL SETUSER modifier '{op}': {RuleErrorText(err)}";
        }
        if (existing != null) KillPubSubClientsIfNeeded(temp, existing);
        if (existing == null) _users[name] = existing = new AclUser(name, AllChannelsByDefault);
        existing.CopyFrom(temp);
        return null;
    }

    /// <summary>ACL DELUSER: removes the users (never default) and disconnects their clients.</summary>
    public int DeleteUsers(IEnumerable<string> names)
    {
        int deleted = 0;
        foreach (var name in names)
        {
            if (!_users.Remove(name, out var u)) continue;
            DisconnectClientsOf(u);
            deleted++;
        }
        return deleted;
    }

    /// <summary>
    /// ACLFreeUserAndKillClients' client part: each client of the user becomes the unauthenticated
    /// default user and is closed (the one running this command after its reply).
    /// </summary>
    void DisconnectClientsOf(AclUser u)
    {
        var current = _server.Dispatcher.CurrentClient;
        foreach (var c in _server.Clients.All.ToList())
        {
            if (c.User != u) continue;
            c.User = DefaultUser;
            c.Authenticated = false;
            if (c == current) c.Flags |= ClientFlags.CloseAfterReply;
            else _server.Clients.FreeClientAsync(c);
        }
    }

    /// <summary>
    /// ACLKillPubsubClientsIfNeeded: when the new rules no longer cover every channel pattern the
    /// old ones had, subscribers of the user whose channels or patterns are not allowed any more
    /// are disconnected.
    /// </summary>
    void KillPubSubClientsIfNeeded(AclUser updated, AclUser original)
    {
        if (updated.Selectors.Any(s => s.HasFlag(SelectorFlags.AllChannels))) return;
        var upcoming = updated.Selectors.SelectMany(s => s.Channels).ToList();
        // An original selector with every channel is never covered by a list of patterns.
        bool covered = !original.Selectors.Any(s => s.HasFlag(SelectorFlags.AllChannels))
            && original.Selectors.SelectMany(s => s.Channels).All(ch => upcoming.Any(u => u.AsSpan().SequenceEqual(ch)));
        if (covered) return;
        foreach (var c in _server.Clients.All.ToList())
        {
            if (c.User != original || !c.HasFlag(ClientFlags.PubSub)) continue;
            var subs = c.PubSubState;
            if (subs == null) continue;
            bool kill = subs.Patterns.Any(p => !AclSelector.ChannelAllowed(upcoming, p, isPattern: true))
                || subs.Channels.Any(ch => !AclSelector.ChannelAllowed(upcoming, ch, isPattern: false))
                || subs.ShardChannels.Any(ch => !AclSelector.ChannelAllowed(upcoming, ch, isPattern: false));
            if (kill) _server.Clients.FreeClient(c);
        }
    }

    // --- configuration and the ACL file ------------------------------------------------------

    /// <summary>The read-only index `user` lines are checked against, built once for the process (no server's state).</summary>
    static readonly Lazy<AclCommandIndex> ValidationIndex = new(() => new AclCommandIndex(CommandTable.LoadDefault()));

    /// <summary>
    /// ACLAppendUserForLoading's check of a `user` line while the configuration is read: the rules
    /// must apply to a scratch user (unknown commands pass: modules could add them). Returns null
    /// or the error, with the index Redis reports it at.
    /// </summary>
    public static string? ValidateUserDeclaration(IReadOnlyList<string> argv, out int errorIndex)
    {
        errorIndex = 0;
        var merged = MergeSelectorArguments(argv.Skip(2).ToList(), out int invalid);
        if (merged == null)
        {
            errorIndex = invalid;
            return RuleErrorText(AclRuleError.None);
        }
        var index = ValidationIndex.Value;
        var scratch = new AclUser("__fakeuser__", false);
        for (int j = 0; j < merged.Count; j++)
        {
            var err = scratch.Apply(merged[j], index, false);
            if (err != AclRuleError.None && err != AclRuleError.UnknownCommand)
            {
                errorIndex = j;
                return RuleErrorText(err);
            }
        }
        return null;
    }

    /// <summary>
    /// ACLLoadUsersAtStartup: the users of the configuration's `user` lines, then the aclfile;
    /// both at once, or any error, stops the start-up (the exception's message is logged).
    /// </summary>
    public void LoadUsersAtStartup()
    {
        string aclfile = _server.Config.GetString("aclfile");
        var configured = _server.Config.UserDeclarations;
        if (aclfile.Length > 0 && configured.Count > 0)
            throw new InvalidOperationException("Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.");
        foreach (var argv in configured)
        {
            string name = argv[1];
            if (AclSelector.HasSpaces(name))
            {
                _server.Log.Warning("Spaces not allowed in ACL usernames");
                throw new InvalidOperationException("Critical error while loading ACLs. Exiting.");
            }
            if (!_users.TryGetValue(name, out var u))
                _users[name] = u = new AclUser(name, AllChannelsByDefault);
            else u.Apply("reset", Commands, AllChannelsByDefault); // only the default user can be here already
            var rules = MergeSelectorArguments(argv.Skip(2).ToList(), out _)!;
            foreach (var op in rules)
            {
                var err = u.Apply(op, Commands, AllChannelsByDefault);
                if (err == AclRuleError.None) continue;
                _server.Log.Warning($"Error loading ACL rule '{op}' for the user named '{name}': {RuleErrorText(err)}");
                throw new InvalidOperationException("Critical error while loading ACLs. Exiting.");
            }
            if (u.HasFlag(UserFlags.Disabled))
                _server.Log.Notice($"The user '{name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.");
        }
        if (aclfile.Length > 0 && LoadFromFile(aclfile) is { } errors)
            throw new InvalidOperationException("Aborting Redis startup because of ACL errors: " + errors);
    }

    /// <summary>
    /// ACLLoadFromFile: every line is "user name rules..." (blank lines allowed); the users are
    /// built aside and replace the current ones only when the whole file is valid. The default
    /// user keeps its identity (it is copied into). Returns null or the errors, in one line.
    /// </summary>
    public string? LoadFromFile(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path, Encoding.Latin1);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"Error loading ACLs, opening file '{path}': {Logger.StrError(e)}";
        }
        var errors = new StringBuilder();
        var users = new SortedDictionary<string, AclUser>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int linenum = i + 1;
            string line = lines[i].Trim(' ', '\t', '\r', '\n');
            if (line.Length == 0) continue;
            var argv = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (argv.Length == 0) continue;
            if (argv[0] != "user" || argv.Length < 2)
            {
                errors.Append($"{path}:{linenum} should start with user keyword followed by the username. ");
                continue;
            }
            if (AclSelector.HasSpaces(argv[1]))
            {
                errors.Append($"'{path}:{linenum}: username '{argv[1]}' contains invalid characters. ");
                continue;
            }
            if (users.ContainsKey(argv[1]))
            {
                errors.Append($"WARNING: Duplicate user '{argv[1]}' found on line {linenum}. ");
                continue;
            }
            var u = users[argv[1]] = new AclUser(argv[1], AllChannelsByDefault);
            var merged = MergeSelectorArguments(argv.Skip(2).ToList(), out _);
            if (merged == null)
            {
                errors.Append($"{path}:{linenum}: Unmatched parenthesis in selector definition.");
                continue;
            }
            bool syntaxError = false;
            foreach (var raw in merged)
            {
                string op = raw.Trim('\t', '\r', '\n');
                var err = u.Apply(op, Commands, AllChannelsByDefault);
                if (err == AclRuleError.None) continue;
                if (err == AclRuleError.UnknownCommand)
                    errors.Append($"{path}:{linenum}: Error in applying operation '{op}': {RuleErrorText(err)}. ");
                else if (!syntaxError)
                {
                    errors.Append($"{path}:{linenum}: {RuleErrorText(err)}. ");
                    syntaxError = true;
                }
            }
        }
        if (errors.Length > 0)
            return errors.Append("WARNING: ACL errors detected, no change to the previously active ACL rules was performed").ToString();
        var newDefault = users.GetValueOrDefault("default") ?? CreateDefaultUser();
        DefaultUser.CopyFrom(newDefault);
        users["default"] = DefaultUser;
        foreach (var old in _users.Values.ToList())
            if (old != DefaultUser) DisconnectClientsOf(old);
        _users.Clear();
        foreach (var (name, u) in users) _users[name] = u;
        return null;
    }

    /// <summary>ACLSaveToFile: every user as "user name rules" written to a temp file renamed over the aclfile.</summary>
    public bool SaveToFile(string path)
    {
        var sb = new StringBuilder();
        foreach (var u in _users.Values) sb.Append("user ").Append(u.Name).Append(' ').Append(u.Describe(Commands)).Append('\n');
        string tmp = $"{path}.tmp-{Environment.ProcessId}-{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}";
        try
        {
            File.WriteAllText(tmp, sb.ToString(), Encoding.Latin1);
            File.Move(tmp, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _server.Log.Warning($"Writing ACL file for ACL SAVE: {Logger.StrError(e)}");
            try { File.Delete(tmp); }
            catch (IOException) { }
            return false;
        }
    }

    /// <summary>The users as `user` lines for CONFIG REWRITE (rewriteConfigUserOption), when no aclfile is used.</summary>
    public IEnumerable<string> ConfigLines() => _users.Values.Select(u => "user " + u.Name + " " + u.Describe(Commands));
}
