// The ACL command (acl.c's aclCommand): SETUSER, DELUSER, GETUSER, LIST, USERS, WHOAMI, CAT,
// GENPASS, LOG, DRYRUN, LOAD, SAVE and HELP, over the users of Security/Acl.cs. Replies and
// error texts are Redis 7.0.15's; SETUSER's arguments never reach the slow log (SlowLog redacts them).
using System.Text;
using Cinnabar.Networking;
using Cinnabar.Security;

namespace Cinnabar.Commands;

public static class AclCommands
{
    static string Latin1(ReadOnlySpan<byte> b) => Encoding.Latin1.GetString(b);

    static void SubcommandSyntaxError(Client c) => StreamGroupCommands.SubcommandSyntaxError(c);

    [Command("acl|setuser")]
    static void SetUser(Client c)
    {
        string name = Latin1(c.Args[2]);
        if (AclSelector.HasSpaces(name))
        {
            c.Reply.Error("Usernames can't contain spaces or null characters");
            return;
        }
        var rules = new List<string>();
        for (int i = 3; i < c.Args.Count; i++) rules.Add(Latin1(c.Args[i]));
        var err = c.Server.Acl.SetUser(name, rules);
        if (err != null) c.Reply.ErrorWithRawBytes(err);
        else c.Reply.Ok();
    }

    [Command("acl|deluser")]
    static void DelUser(Client c)
    {
        var names = new List<string>();
        for (int i = 2; i < c.Args.Count; i++) names.Add(Latin1(c.Args[i]));
        if (names.Contains("default"))
        {
            c.Reply.Error("The 'default' user cannot be removed");
            return;
        }
        c.Reply.Integer(c.Server.Acl.DeleteUsers(names));
    }

    [Command("acl|getuser")]
    static void GetUser(Client c)
    {
        var acl = c.Server.Acl;
        var u = acl.GetUser(Latin1(c.Args[2]));
        if (u == null)
        {
            c.Reply.Null();
            return;
        }
        var r = c.Reply;
        r.MapLen(6);
        r.Bulk("flags"u8);
        var flags = AclUser.FlagNames.Where(f => u.HasFlag(f.Flag)).ToList();
        r.SetLen(flags.Count);
        foreach (var (flagName, _) in flags) r.Bulk(flagName);
        r.Bulk("passwords"u8);
        r.ArrayLen(u.Passwords.Count);
        foreach (var p in u.Passwords) r.Bulk(p);
        DescribeSelector(c, u.Root, acl.Commands);
        r.Bulk("selectors"u8);
        r.ArrayLen(u.Selectors.Count - 1);
        foreach (var s in u.Selectors.Skip(1))
        {
            r.MapLen(3);
            DescribeSelector(c, s, acl.Commands);
        }
    }

    /// <summary>aclAddReplySelectorDescription: commands, keys and channels, three fields.</summary>
    static void DescribeSelector(Client c, AclSelector s, AclCommandIndex index)
    {
        var r = c.Reply;
        r.Bulk("commands"u8);
        r.Bulk(s.DescribeCommandRules(index));
        r.Bulk("keys"u8);
        r.Bulk(Encoding.Latin1.GetBytes(s.DescribeKeys()));
        r.Bulk("channels"u8);
        r.Bulk(Encoding.Latin1.GetBytes(s.DescribeChannels()));
    }

    [Command("acl|list")]
    static void List(Client c)
    {
        var acl = c.Server.Acl;
        var users = acl.Users.ToList();
        c.Reply.ArrayLen(users.Count);
        foreach (var u in users) c.Reply.Bulk(Encoding.Latin1.GetBytes("user " + u.Name + " " + u.Describe(acl.Commands)));
    }

    [Command("acl|users")]
    static void Users(Client c)
    {
        var users = c.Server.Acl.Users.ToList();
        c.Reply.ArrayLen(users.Count);
        foreach (var u in users) c.Reply.Bulk(Encoding.Latin1.GetBytes(u.Name));
    }

    [Command("acl|whoami")]
    static void WhoAmI(Client c)
    {
        if (c.User == null) c.Reply.Null();
        else c.Reply.Bulk(Encoding.Latin1.GetBytes(c.User.Name));
    }

    const string NoAclFile = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

    /// <summary>The aclfile LOAD and SAVE work on; false (after Redis's error) when none is configured.</summary>
    static bool TryGetAclFile(Client c, out string path)
    {
        path = c.Server.Config.GetString("aclfile");
        if (path.Length > 0) return true;
        c.Reply.Error(NoAclFile);
        return false;
    }

    [Command("acl|load")]
    static void Load(Client c)
    {
        if (!TryGetAclFile(c, out var path)) return;
        if (c.Server.Acl.LoadFromFile(path) is { } errors) c.Reply.ErrorWithRawBytes(errors);
        else c.Reply.Ok();
    }

    [Command("acl|save")]
    static void Save(Client c)
    {
        if (!TryGetAclFile(c, out var path)) return;
        if (c.Server.Acl.SaveToFile(path)) c.Reply.Ok();
        else c.Reply.Error("There was an error trying to save the ACLs. Please check the server logs for more information");
    }

    [Command("acl|cat")]
    static void Cat(Client c)
    {
        if (c.Args.Count > 3)
        {
            SubcommandSyntaxError(c);
            return;
        }
        if (c.Args.Count == 2)
        {
            c.Reply.ArrayLen(AclCommandIndex.Categories.Length);
            foreach (var cat in AclCommandIndex.Categories) c.Reply.Bulk(cat);
            return;
        }
        string name = Latin1(c.Args[2]);
        int category = AclCommandIndex.CategoryIndex(name);
        if (category < 0)
        {
            c.Reply.ErrorWithRawBytes($"Unknown category '{(name.Length > 128 ? name[..128] : name)}'");
            return;
        }
        var names = c.Server.Acl.Commands.AllWithSubcommands().Where(d => (d.AclCategoryMask & (1UL << category)) != 0).ToList();
        c.Reply.ArrayLen(names.Count);
        foreach (var d in names) c.Reply.Bulk(d.FullName);
    }

    [Command("acl|genpass")]
    static void GenPass(Client c)
    {
        if (c.Args.Count > 3)
        {
            SubcommandSyntaxError(c);
            return;
        }
        long bits = 256;
        if (c.Args.Count == 3 && !Arguments.TryGetLong(c, 2, out bits)) return;
        if (bits <= 0 || bits > 4096)
        {
            c.Reply.Error("ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
            return;
        }
        int chars = (int)(bits + 3) / 4;
        c.Reply.Bulk(Server.RandomBytes.Hex((chars + 1) / 2)[..chars]);
    }

    [Command("acl|log")]
    static void Log(Client c)
    {
        if (c.Args.Count > 3)
        {
            SubcommandSyntaxError(c);
            return;
        }
        var log = c.Server.Acl.Log;
        long count = 10;
        if (c.Args.Count == 3)
        {
            if (c.Args.Is(2, "reset"))
            {
                log.Reset();
                c.Reply.Ok();
                return;
            }
            if (!Arguments.TryGetLong(c, 2, out count)) return;
            if (count < 0) count = 0;
        }
        count = Math.Min(count, log.Count);
        var r = c.Reply;
        r.ArrayLen(count);
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var e in log.Newest.Take((int)count))
        {
            r.MapLen(7);
            r.Bulk("count"u8); r.Integer(e.Count);
            r.Bulk("reason"u8); r.Bulk(e.ReasonName);
            r.Bulk("context"u8); r.Bulk(e.ContextName);
            r.Bulk("object"u8); r.Bulk(e.Object);
            r.Bulk("username"u8); r.Bulk(Encoding.Latin1.GetBytes(e.Username));
            r.Bulk("age-seconds"u8); r.Double((now - e.CreatedMs) / 1000.0);
            r.Bulk("client-info"u8); r.Bulk(e.ClientInfo);
        }
    }

    [Command("acl|dryrun")]
    static void DryRun(Client c)
    {
        var acl = c.Server.Acl;
        var u = acl.GetUser(Latin1(c.Args[2]));
        if (u == null)
        {
            c.Reply.ErrorWithRawBytes($"User '{Latin1(c.Args[2])}' not found");
            return;
        }
        var argv = new Protocol.CommandArgs();
        for (int i = 3; i < c.Args.Count; i++) argv.Add(c.Args.ToArray(i));
        var cmd = acl.Commands.LookupArgv(Latin1(argv[0]), argv.Count > 1 ? Latin1(argv[1]) : null);
        if (cmd == null)
        {
            c.Reply.ErrorWithRawBytes($"Command '{Latin1(argv[0])}' not found");
            return;
        }
        if (!cmd.ArityOk(argv.Count))
        {
            c.Reply.Error($"wrong number of arguments for '{cmd.FullName}' command");
            return;
        }
        var denial = acl.Check(u, cmd, argv, out int pos);
        switch (denial)
        {
            case AclDenial.Ok: c.Reply.Ok(); break;
            case AclDenial.Command: c.Reply.Bulk($"This user has no permissions to run the '{cmd.FullName}' command"); break;
            case AclDenial.Key: c.Reply.Bulk(Encoding.Latin1.GetBytes($"This user has no permissions to access the '{Latin1(argv[pos])}' key")); break;
            default: c.Reply.Bulk(Encoding.Latin1.GetBytes($"This user has no permissions to access the '{Latin1(argv[pos])}' channel")); break;
        }
    }

    [Command("acl|help")]
    static void Help(Client c) => HelpReply.Write(c, "ACL",
    [
        "CAT [<category>]",
        "    List all commands that belong to <category>, or all command categories",
        "    when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "DRYRUN <username> <command> [<arg> ...]",
        "    Returns whether the user can execute the given command without executing the command.",
        "GETUSER <username>",
        "    Get the user's details.",
        "GENPASS [<bits>]",
        "    Generate a secure 256-bit user password. The optional `bits` argument can",
        "    be used to specify a different size.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "LOG [<count> | RESET]",
        "    Show the ACL log entries.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username.",
    ]);
}
