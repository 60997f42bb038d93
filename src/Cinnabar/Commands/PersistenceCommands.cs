// SAVE, BGSAVE and DEBUG RELOAD (rdb.c's saveCommand and bgsaveCommand, debug.c's "reload"):
// SAVE and RELOAD write the RDB file synchronously on the loop thread through
// Persistence/RdbFile (RELOAD then empties the dataset and loads the file back through
// Persistence/RdbLoader); BGSAVE starts the forkless snapshot of Persistence/BackgroundSave.
using Cinnabar.Networking;
using Cinnabar.Persistence;

namespace Cinnabar.Commands;

public static class PersistenceCommands
{
    /// <summary>SAVE: "+OK", or a bare "-ERR" when the file could not be written (the reason goes to the log).</summary>
    [Command("save")]
    static void Save(Client c)
    {
        if (c.Server.BackgroundSave.InProgress)
        {
            c.Reply.Error("Background save already in progress");
            return;
        }
        c.Server.BackgroundSave.Saves++;
        if (RdbFile.Save(c.Server)) c.Reply.Ok();
        else c.Reply.Error("-ERR");
    }

    /// <summary>
    /// BGSAVE [SCHEDULE]: "Background saving started", or scheduled for cron when another snapshot
    /// runs (with SCHEDULE) or the command runs inside EXEC, as Redis defers it until no child is active.
    /// </summary>
    [Command("bgsave")]
    static void BgSave(Client c)
    {
        bool schedule = false;
        if (c.Args.Count > 1)
        {
            if (c.Args.Count == 2 && c.Args.Is(1, "schedule")) schedule = true;
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }
        var bg = c.Server.BackgroundSave;
        bool inExec = c.Server.Dispatcher.ExecutionNesting > 1;
        if (bg.InProgress) c.Reply.Error("Background save already in progress");
        else if (c.Server.HasActiveChildProcess || inExec)
        {
            if (schedule || inExec)
            {
                bg.Scheduled = true;
                c.Reply.Status("Background saving scheduled");
            }
            else c.Reply.Error("Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
        else if (bg.Start()) c.Reply.Status("Background saving started");
        else c.Reply.Error("-ERR");
    }

    /// <summary>DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the dataset, load the file back.</summary>
    public static void DebugReload(Client c)
    {
        bool flush = true, save = true, merge = false;
        for (int j = 2; j < c.Args.Count; j++)
        {
            if (c.Args.Is(j, "merge")) merge = true;
            else if (c.Args.Is(j, "noflush")) flush = false;
            else if (c.Args.Is(j, "nosave")) save = false;
            else
            {
                c.Reply.Error("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
                return;
            }
        }
        if (save && !RdbFile.Save(c.Server))
        {
            c.Reply.Error("-ERR");
            return;
        }
        // MERGE with NOFLUSH lets loaded keys replace existing ones (RDBFLAGS_ALLOW_DUP).
        if (flush) KeyspaceCommands.EmptyData(c.Server, withFunctions: true);
        try
        {
            RdbLoader.Load(c.Server, RdbFile.PathOf(c.Server), allowDuplicates: merge);
        }
        catch (RdbLoadException e)
        {
            foreach (var line in e.Lines) c.Server.Log.Warning(line);
            c.Reply.Error("Error trying to load the RDB dump, check server logs.");
            return;
        }
        c.Server.Log.Warning("DB reloaded by DEBUG RELOAD");
        c.Reply.Ok();
    }
}
