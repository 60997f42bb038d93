// INFO [section ...]: the text Server/Info.cs builds, as a verbatim string in RESP3 and a bulk
// string in RESP2 (addReplyVerbatim), as Redis 7.0 replies.
using Cinnabar.Networking;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class InfoCommand
{
    [Command("info")]
    static void InfoHandler(Client c)
    {
        var sections = new List<string>(c.Args.Count - 1);
        for (int i = 1; i < c.Args.Count; i++) sections.Add(c.Args.ToStringAt(i));
        c.Reply.Verbatim(Info.Generate(c.Server, sections));
    }
}
