// What a starting server loads (server.c's main: aofLoadManifestFromDisk, loadDataFromDisk,
// aofOpenIfNeededOnServerStart, aofDelHistoryFiles): the AOF when appendonly is yes (its
// manifest is read either way, so a later CONFIG SET appendonly yes continues its sequence),
// else the RDB file. A failure logs Redis's lines and throws InvalidOperationException, which
// the executable turns into exit code 1: the server never serves a half-loaded dataset.
using System.Diagnostics;

namespace Cinnabar.Persistence;

public static class StartupRecovery
{
    public static void LoadDataFromDisk(CinnabarServer server)
    {
        try
        {
            server.Aof.LoadManifestFromDisk();
            if (server.Config.AppendOnly) LoadAof(server);
            else
            {
                // A primary's backlog is ready before the load: it receives the DELs of keys found expired.
                if (!server.IsReplica) server.Replication.CreateBacklogIfMissing();
                var repl = RdbLoader.LoadAtStartup(server)?.Replication;
                if (repl != null) RestoreReplicationHistory(server, repl.Value);
                else if (!server.IsReplica) server.Replication.DiscardLoadBacklog();
            }
            server.Aof.OpenIfNeededOnServerStart();
            server.Aof.DelHistoryFiles();
        }
        catch (AofException e)
        {
            foreach (var line in e.Lines) server.Log.Warning(line);
            throw new InvalidOperationException("", e); // Redis exits after the AOF's own lines, adding none
        }
    }

    /// <summary>
    /// The replication id and offset the RDB recorded: a replica caches them as its master's, to
    /// ask for a partial resync; a primary keeps them as its secondary id, so the replicas that
    /// followed it before the restart can continue.
    /// </summary>
    static void RestoreReplicationHistory(CinnabarServer server, RdbFile.ReplicationInfo repl)
    {
        if (server.IsReplica)
        {
            server.Replication.AdoptHistory(repl.ReplId, repl.Offset);
            server.ReplicaSide.CacheMasterFromRdb(repl.ReplId, repl.Offset, repl.StreamDb);
        }
        else server.Replication.RestoreAsMaster(repl.ReplId, repl.Offset);
    }

    /// <summary>loadDataFromDisk's AOF branch.</summary>
    static void LoadAof(CinnabarServer server)
    {
        var sw = Stopwatch.StartNew();
        var ret = AofLoader.LoadAppendOnlyFiles(server);
        if (ret is AofLoadStatus.Failed or AofLoadStatus.OpenErr) throw new AofException();
        server.Stats.Dirty = 0; // what was loaded is already on disk
        if (ret != AofLoadStatus.NotExist)
            server.Log.Notice($"DB loaded from append only file: {sw.Elapsed.TotalSeconds:0.000} seconds");
    }

    /// <summary>
    /// DEBUG LOADAOF: the buffer is written, the dataset emptied and the AOF loaded again from its
    /// manifest. A failure exits, as Redis does: the dataset would be partial (an embedded
    /// server stops instead: CinnabarServer.Exit). False then, and nothing is replied.
    /// </summary>
    public static bool DebugLoadAof(CinnabarServer server)
    {
        server.Aof.FlushIfOn();
        Commands.KeyspaceCommands.EmptyData(server, withFunctions: true);
        try
        {
            server.Aof.LoadManifestFromDisk();
            server.Aof.DelHistoryFiles();
        }
        catch (AofException e)
        {
            foreach (var line in e.Lines) server.Log.Warning(line);
            server.Exit(1);
            return false;
        }
        var ret = AofLoader.LoadAppendOnlyFiles(server);
        if (ret != AofLoadStatus.Ok && ret != AofLoadStatus.Empty)
        {
            server.Exit(1);
            return false;
        }
        server.Stats.Dirty = 0;
        server.Log.Warning("Append Only File loaded by DEBUG LOADAOF");
        return true;
    }
}
