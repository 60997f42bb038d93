// BGREWRITEAOF and DEBUG LOADAOF (aof.c's bgrewriteaofCommand, debug.c's "loadaof"): thin
// handlers over Persistence/AppendOnlyFile and Persistence/StartupRecovery.
using Cinnabar.Networking;
using Cinnabar.Persistence;

namespace Cinnabar.Commands;

public static class AofCommands
{
    /// <summary>BGREWRITEAOF: started now, or scheduled while another background job runs or inside EXEC.</summary>
    [Command("bgrewriteaof")]
    static void BgRewriteAof(Client c)
    {
        var aof = c.Server.Aof;
        if (aof.RewriteInProgress) c.Reply.Error("Background append only file rewriting already in progress");
        else if (aof.HasActiveChildProcess() || c.Server.Dispatcher.ExecutionNesting > 1)
        {
            aof.RewriteScheduled = true;
            aof.ConsecutiveFailures = 0; // a manual rewrite is not held back by the failure limit
            c.Reply.Status("Background append only file rewriting scheduled");
        }
        else if (aof.RewriteBackground()) c.Reply.Status("Background append only file rewriting started");
        else c.Reply.Error("Can't execute an AOF background rewriting. Please check the server logs for more information.");
    }

    /// <summary>DEBUG LOADAOF: flush the AOF, empty the dataset, load it back from the files.</summary>
    public static void DebugLoadAof(Client c)
    {
        if (StartupRecovery.DebugLoadAof(c.Server)) c.Reply.Ok();
    }
}
