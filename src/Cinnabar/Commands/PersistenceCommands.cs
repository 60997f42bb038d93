// SAVE and DEBUG RELOAD (rdb.c's saveCommand, debug.c's "reload"): both write the RDB file
// synchronously on the loop thread through Persistence/RdbFile; RELOAD then empties the dataset
// and loads the file back through Persistence/RdbLoader. There is no BGSAVE: nothing forks here,
// so "Background save already in progress" cannot happen.
using Cinnabar.Networking;
using Cinnabar.Persistence;

namespace Cinnabar.Commands;

public static class PersistenceCommands
{
    /// <summary>SAVE: "+OK", or a bare "-ERR" when the file could not be written (the reason goes to the log).</summary>
    [Command("save")]
    static void Save(Client c)
    {
        if (RdbFile.Save(c.Server)) c.Reply.Ok();
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
        if (flush) KeyspaceCommands.EmptyData(c.Server);
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
