// Transaction commands (Redis's multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queueing, the
// WATCH registry and EXEC's run loop live in Transactions/Multi.cs; these handlers check
// the client's state and reply as Redis does.
using Cinnabar.Networking;
using Cinnabar.Transactions;

namespace Cinnabar.Commands;

public static class MultiCommands
{
    [Command("multi")]
    static void MultiCommand(Client c)
    {
        if (c.HasFlag(ClientFlags.Multi))
        {
            c.Reply.Error("MULTI calls can not be nested");
            return;
        }
        c.Flags |= ClientFlags.Multi;
        c.Reply.Ok();
    }

    [Command("exec")]
    static void ExecCommand(Client c)
    {
        if (!c.HasFlag(ClientFlags.Multi))
        {
            c.Reply.Error("EXEC without MULTI");
            return;
        }
        c.Server.Transactions.Exec(c);
    }

    [Command("discard")]
    static void DiscardCommand(Client c)
    {
        if (!c.HasFlag(ClientFlags.Multi))
        {
            c.Reply.Error("DISCARD without MULTI");
            return;
        }
        c.Server.Transactions.DiscardTransaction(c);
        c.Reply.Ok();
    }

    [Command("watch")]
    static void WatchCommand(Client c)
    {
        if (c.HasFlag(ClientFlags.Multi))
        {
            c.Reply.Error("WATCH inside MULTI is not allowed");
            return;
        }
        // No point in watching if the client is already dirty.
        if (!c.HasFlag(ClientFlags.DirtyCas))
        {
            var tx = c.Server.Transactions;
            for (int j = 1; j < c.Args.Count; j++) tx.WatchForKey(c, c.Args[j]);
        }
        c.Reply.Ok();
    }

    [Command("unwatch")]
    static void UnwatchCommand(Client c)
    {
        c.Server.Transactions.UnwatchAllKeys(c);
        c.Flags &= ~ClientFlags.DirtyCas;
        c.Reply.Ok();
    }
}
