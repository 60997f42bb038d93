// addReplyHelp: the reply of every container's HELP subcommand, a list of status lines that
// starts with "<COMMAND> <subcommand> [<arg> [value] [opt] ...]. Subcommands are:" and ends
// with the HELP entry itself.
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public static class HelpReply
{
    public static void Write(Client c, string command, string[] lines)
    {
        c.Reply.ArrayLen(lines.Length + 3);
        c.Reply.Status($"{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
        foreach (var l in lines) c.Reply.Status(l);
        c.Reply.Status("HELP");
        c.Reply.Status("    Prints this help.");
    }
}
