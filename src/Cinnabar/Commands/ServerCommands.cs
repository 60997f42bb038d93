// Server commands (Redis's server.c commandCommand family, TIME, LASTSAVE, SHUTDOWN): COMMAND
// and its subcommands answer from the command table, so only implemented commands and
// subcommands are visible; the stored COMMAND INFO / DOCS replies of redis-server 7.0 are
// re-emitted with their subcommand lists filtered to what this server implements.
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Protocol;

namespace Cinnabar.Commands;

public static class ServerCommands
{
    [Command("command")]
    static void Command(Client c)
    {
        var all = c.Server.Commands.Implemented.ToList();
        c.Reply.ArrayLen(all.Count);
        foreach (var cmd in all) WriteInfo(c.Reply, cmd);
    }

    [Command("command|count")]
    static void CommandCount(Client c) => c.Reply.Integer(c.Server.Commands.Implemented.Count());

    [Command("command|info")]
    static void CommandInfo(Client c)
    {
        if (c.Args.Count == 2)
        {
            Command(c);
            return;
        }
        c.Reply.ArrayLen(c.Args.Count - 2);
        for (int i = 2; i < c.Args.Count; i++)
        {
            var cmd = c.Server.Commands.LookupBySds(c.Args.ToStringAt(i));
            if (cmd == null) c.Reply.Null();
            else WriteInfo(c.Reply, cmd);
        }
    }

    [Command("command|docs")]
    static void CommandDocs(Client c)
    {
        var found = new List<CommandDef>();
        if (c.Args.Count == 2) found.AddRange(c.Server.Commands.Implemented);
        else
        {
            for (int i = 2; i < c.Args.Count; i++)
            {
                var cmd = c.Server.Commands.LookupBySds(c.Args.ToStringAt(i));
                if (cmd != null) found.Add(cmd);
            }
        }
        c.Reply.MapLen(found.Count);
        foreach (var cmd in found)
        {
            c.Reply.Bulk(cmd.FullName);
            WriteDocs(c.Reply, cmd);
        }
    }

    [Command("command|list")]
    static void CommandList(Client c)
    {
        Func<CommandDef, bool> filter = _ => true;
        if (c.Args.Count == 5 && c.Args.Is(2, "filterby"))
        {
            string value = c.Args.ToStringAt(4);
            if (c.Args.Is(3, "module")) filter = _ => false; // no modules are loaded
            else if (c.Args.Is(3, "aclcat")) filter = cmd => cmd.AclCategories.Any(a => a.Length > 1 && a[1..].Equals(value, StringComparison.OrdinalIgnoreCase));
            else if (c.Args.Is(3, "pattern")) filter = cmd => GlobMatcher.Match(value, cmd.FullName, nocase: true);
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        else if (c.Args.Count != 2)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var names = new List<string>();
        foreach (var cmd in c.Server.Commands.Implemented)
        {
            if (filter(cmd)) names.Add(cmd.FullName);
            foreach (var sub in ImplementedSubcommands(cmd))
                if (filter(sub)) names.Add(sub.FullName);
        }
        c.Reply.ArrayLen(names.Count);
        foreach (var n in names) c.Reply.Bulk(n);
    }

    [Command("command|getkeys")]
    static void CommandGetKeys(Client c) => GetKeysSubcommand(c, withFlags: false);

    [Command("command|getkeysandflags")]
    static void CommandGetKeysAndFlags(Client c) => GetKeysSubcommand(c, withFlags: true);

    /// <summary>getKeysSubcommandImpl: argv[2..] is a full command line.</summary>
    static void GetKeysSubcommand(Client c, bool withFlags)
    {
        var argv = new List<byte[]>(c.Args.Count - 2);
        for (int i = 2; i < c.Args.Count; i++) argv.Add(c.Args.ToArray(i));
        var cmd = c.Server.Commands.Lookup(argv[0]);
        if (cmd != null && cmd.Subcommands != null && argv.Count >= 2)
        {
            cmd = CommandTable.LookupSub(cmd, argv[1]);
            if (cmd?.Handler == null) cmd = null;
        }
        if (cmd == null)
        {
            c.Reply.Error("Invalid command specified");
            return;
        }
        if (!KeySpecs.HasKeys(cmd))
        {
            c.Reply.Error("The command has no key arguments");
            return;
        }
        if (!cmd.ArityOk(argv.Count))
        {
            c.Reply.Error("Invalid number of arguments specified for command");
            return;
        }
        var keys = new GetKeysResult();
        if (KeySpecs.GetKeys(cmd, c.Args, keys, start: 2) <= 0)
        {
            if (cmd.Has(CommandFlags.NoMandatoryKeys)) c.Reply.ArrayLen(0);
            else c.Reply.Error("Invalid arguments specified for command");
            return;
        }
        c.Reply.ArrayLen(keys.Count);
        foreach (var k in keys.Keys)
        {
            if (!withFlags)
            {
                c.Reply.Bulk(argv[k.Pos]);
                continue;
            }
            c.Reply.ArrayLen(2);
            c.Reply.Bulk(argv[k.Pos]);
            var flags = KeySpecs.FlagNamesOf(k.Flags).ToList();
            c.Reply.SetLen(flags.Count);
            foreach (var f in flags) c.Reply.Status(f);
        }
    }

    [Command("command|help")]
    static void CommandHelp(Client c) => HelpReply.Write(c, "COMMAND",
    [
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
    ]);

    static IEnumerable<CommandDef> ImplementedSubcommands(CommandDef cmd) =>
        cmd.Subcommands?.Values.Where(s => s.Handler != null) ?? [];

    /// <summary>The stored COMMAND INFO entry with the subcommand list reduced to implemented ones.</summary>
    static void WriteInfo(ReplyWriter w, CommandDef cmd)
    {
        var items = cmd.Info!.Items;
        w.ArrayLen(items.Length);
        for (int i = 0; i < items.Length; i++)
        {
            if (i != 9)
            {
                items[i].WriteTo(w);
                continue;
            }
            var subs = ImplementedSubcommands(cmd).ToList();
            w.ArrayLen(subs.Count);
            foreach (var s in subs) WriteInfo(w, s);
        }
    }

    /// <summary>The stored COMMAND DOCS map with its "subcommands" map reduced to implemented ones.</summary>
    static void WriteDocs(ReplyWriter w, CommandDef cmd)
    {
        var docs = cmd.Docs;
        if (docs == null)
        {
            w.MapLen(0);
            return;
        }
        var items = docs.Items;
        w.MapLen(items.Length / 2);
        for (int i = 0; i + 1 < items.Length; i += 2)
        {
            items[i].WriteTo(w);
            if (items[i].Text != "subcommands")
            {
                items[i + 1].WriteTo(w);
                continue;
            }
            var subs = ImplementedSubcommands(cmd).ToList();
            w.MapLen(subs.Count);
            foreach (var s in subs)
            {
                w.Bulk(s.FullName);
                WriteDocs(w, s);
            }
        }
    }

    [Command("time")]
    static void Time(Client c)
    {
        long us = DateTimeOffset.UtcNow.Ticks / 10 - DateTimeOffset.UnixEpoch.Ticks / 10;
        c.Reply.ArrayLen(2);
        c.Reply.BulkLong(us / 1_000_000);
        c.Reply.BulkLong(us % 1_000_000);
    }

    /// <summary>LASTSAVE: the time of the last successful save; with no save yet, the start time (as Redis after an empty start).</summary>
    [Command("lastsave")]
    static void LastSave(Client c) => c.Reply.Integer(c.Server.LastSaveTime);

    /// <summary>SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT].</summary>
    [Command("shutdown")]
    static void Shutdown(Client c)
    {
        bool nosave = false, save = false, abort = false, force = false, now = false;
        for (int i = 1; i < c.Args.Count; i++)
        {
            if (c.Args.Is(i, "nosave")) nosave = true;
            else if (c.Args.Is(i, "save")) save = true;
            else if (c.Args.Is(i, "now")) now = true; // no waiting for lagging replicas
            else if (c.Args.Is(i, "force")) force = true;
            else if (c.Args.Is(i, "abort")) abort = true;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        if ((abort && c.Args.Count != 2) || (nosave && save))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        if (abort)
        {
            if (c.Server.ShutdownSequence.Abort()) c.Reply.Ok();
            else c.Reply.Error("No shutdown in progress.");
            return;
        }
        // A busy script: only SHUTDOWN NOSAVE, which stops the script too (nothing is saved, its
        // half-done writes included), so the loop it runs in can end.
        if (c.Server.Lua.Busy)
        {
            if (!nosave)
            {
                c.Reply.Error(c.Server.Lua.BusyError);
                return;
            }
            c.Server.Lua.Running?.KillForShutdown();
        }
        // Done: the loop stops (no reply, as Redis exits); Waiting: the client waits with it.
        if (c.Server.ShutdownSequence.Begin(save ? true : nosave ? false : null, force, now, c) == Server.ShutdownResult.Failed)
            c.Reply.Error("Errors trying to SHUTDOWN. Check logs.");
    }
}
