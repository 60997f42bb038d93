// SLOWLOG GET / LEN / RESET / HELP (slowlog.c slowlogCommand) over the server's SlowLog.
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class SlowlogCommands
{
    [Command("slowlog|get")]
    static void SlowlogGet(Client c)
    {
        if (c.Args.Count > 3)
        {
            c.Reply.Error($"unknown subcommand or wrong number of arguments for '{c.Args.ToStringAt(1)}'. Try SLOWLOG HELP.");
            return;
        }
        long count = 10;
        if (c.Args.Count == 3 && !Arguments.TryGetLongInRange(c, 2, -1, long.MaxValue, out count, "count should be greater than or equal to -1"))
            return;
        var log = c.Server.SlowLog;
        var entries = log.Newest(count == -1 ? long.MaxValue : count).ToList();
        c.Reply.ArrayLen(entries.Count);
        foreach (var e in entries)
        {
            c.Reply.ArrayLen(6);
            c.Reply.Integer(e.Id);
            c.Reply.Integer(e.Time);
            c.Reply.Integer(e.Duration);
            c.Reply.ArrayLen(e.Args.Length);
            foreach (var a in e.Args) c.Reply.Bulk(a);
            c.Reply.Bulk(e.Peer);
            c.Reply.Bulk(e.ClientName);
        }
    }

    [Command("slowlog|len")]
    static void SlowlogLen(Client c) => c.Reply.Integer(c.Server.SlowLog.Count);

    [Command("slowlog|reset")]
    static void SlowlogReset(Client c)
    {
        c.Server.SlowLog.Reset();
        c.Reply.Ok();
    }

    [Command("slowlog|help")]
    static void SlowlogHelp(Client c) => HelpReply.Write(c, "SLOWLOG",
    [
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
    ]);
}
