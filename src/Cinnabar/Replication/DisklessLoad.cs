// A replica's diskless load (readSyncBulkPayload with repl-diskless-load on-empty-db or swapdb):
// from the primary's "$" line the server is loading. on-empty-db empties the dataset and loads
// into it. swapdb loads into temporary databases and function libraries, so the live dataset is
// untouched until the new one is whole: then they swap, and a failed or cut transfer discards the
// temporary ones. When the primary continues the replica's own history (same replication id), the
// old dataset keeps serving reads meanwhile (async_loading: only no-async-loading commands get
// -LOADING). The RDB is parsed as it comes off the socket (never held whole), with client events
// processed between keys and while the primary is slow, as Redis's rdbLoadRio does with
// processEventsWhileBlocked.
using Cinnabar.Keyspace;
using Cinnabar.Scripting;

namespace Cinnabar.Replication;

public sealed class DisklessLoad
{
    readonly CinnabarServer _server;

    /// <summary>swapdb's temporary databases and libraries (null for on-empty-db: the live ones are loaded).</summary>
    readonly Database[]? _tempDbs;
    readonly FunctionLibraries? _tempFunctions;

    DisklessLoad(CinnabarServer server, bool swap)
    {
        _server = server;
        if (!swap) return;
        bool indexSlots = server.Cluster != null;
        _tempDbs = new Database[server.Databases.Length];
        for (int i = 0; i < _tempDbs.Length; i++) _tempDbs[i] = new Database(i, server, server.KeyspaceMemory, indexSlots);
        _tempFunctions = new FunctionLibraries(server);
    }

    public bool SwapsDb => _tempDbs != null;

    /// <summary>Where the RDB's keys go: the temporary databases, or the live ones.</summary>
    public Database[] TargetDbs => _tempDbs ?? _server.Databases;

    public FunctionLibraries TargetFunctions => _tempFunctions ?? _server.Lua.Functions;

    /// <summary>
    /// startLoading for a transfer of totalBytes (0 when EOF-marked). on-empty-db empties the
    /// dataset first (the caller has attached to the new history); swapdb loads beside it, and
    /// serves it meanwhile when sameHistory.
    /// </summary>
    public static DisklessLoad Start(CinnabarServer server, bool swap, bool sameHistory, long totalBytes)
    {
        if (!swap)
        {
            server.Log.Notice("MASTER <-> REPLICA sync: Flushing old data");
            Commands.KeyspaceCommands.EmptyData(server, withFunctions: true);
        }
        var load = new DisklessLoad(server, swap);
        server.Log.Notice("MASTER <-> REPLICA sync: Loading DB in memory");
        server.LoadingProgress.Start(totalBytes, async: swap && sameHistory);
        return load;
    }

    /// <summary>
    /// rdbLoadRioWithLoadingCtx into the targets, reading the primary's socket as it goes and
    /// processing client events between keys. Throws RdbLoadException (the load then ends with
    /// Fail). What the input holds past the RDB's end is left in it (the EOF mark).
    /// </summary>
    public void Parse(Persistence.RdbInput input)
    {
        var progress = _server.LoadingProgress;
        bool processEvents = progress.ProcessEvents;
        progress.ProcessEvents = true;
        try
        {
            Persistence.RdbLoader.LoadFromStream(_server, input, TargetDbs, TargetFunctions);
        }
        finally
        {
            progress.ProcessEvents = processEvents;
        }
    }

    /// <summary>
    /// The load succeeded: swapdb's databases and libraries trade places with the live ones
    /// (swapMainDbWithTempDb), and the old ones are dropped. Loading ends.
    /// </summary>
    public void Complete()
    {
        if (_tempDbs != null)
        {
            _server.Log.Notice("MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
            var live = _server.Databases;
            for (int i = 0; i < live.Length; i++)
            {
                // Clients keep their Database objects; WATCHers and blocked readers see the new keys.
                _server.Transactions.TouchAllWatchedKeysInDb(live[i], _tempDbs[i]);
                live[i].SwapWith(_tempDbs[i]);
                _server.Blocking.ScanDatabaseForReadyKeys(live[i]);
            }
            _server.Tracking.InvalidateKeysOnFlush();
            _server.ReplicaKeysWithExpire.Clear();
            _server.Lua.SwapFunctions(_tempFunctions!).Flush();
            DropTempDbs();
            _server.Log.Notice("MASTER <-> REPLICA sync: Discarding old DB in background");
        }
        _server.Stats.Dirty++; // the dataset changed without a save
        _server.LoadingProgress.Stop();
    }

    /// <summary>
    /// The transfer or the parse failed: swapdb drops what it loaded and the live dataset stays
    /// as it was; on-empty-db empties the half-loaded one. Loading ends.
    /// </summary>
    public void Fail()
    {
        _server.LoadingProgress.Stop();
        _server.Log.Warning("Failed trying to load the MASTER synchronization DB from socket, check server logs.");
        if (_tempDbs != null)
        {
            DropTempDbs();
            _tempFunctions!.Flush();
            _server.Log.Notice("MASTER <-> REPLICA sync: Discarding temporary DB in background");
        }
        else Commands.KeyspaceCommands.EmptyData(_server, withFunctions: true); // never serve half a dataset
    }

    /// <summary>disklessLoadDiscardTempDb: their keys leave the memory count (the collector frees them).</summary>
    void DropTempDbs()
    {
        foreach (var db in _tempDbs!) db.Flush();
    }
}
