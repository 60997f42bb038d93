// SHUTDOWN and SIGTERM/SIGINT (Redis 7.0's prepareForShutdown, isReadyToShutdown,
// finishShutdown, abortShutdown in server.c). Unless NOW, a primary whose replicas have not
// acknowledged its whole stream waits up to shutdown-timeout seconds for them: writes pause
// (their own pause purpose), a GETACK goes out, INFO shows shutdown_in_milliseconds, and
// serverCron finishes the shutdown when every replica caught up or the time is up (SHUTDOWN
// ABORT cancels). The finish kills a running snapshot, flushes the AOF, saves the final RDB
// when asked or when save points exist (a failure keeps the server running unless FORCE), and
// gives replicas a last chance to receive their pending stream.
using Cinnabar.Networking;

namespace Cinnabar.Server;

public enum ShutdownResult
{
    /// <summary>The server is ready to exit: the loop stops.</summary>
    Done,
    /// <summary>It could not (the save failed without FORCE): it keeps running, as Redis does.</summary>
    Failed,
    /// <summary>Waiting for lagging replicas; serverCron finishes it.</summary>
    Waiting,
}

public sealed class ShutdownSequence
{
    readonly CinnabarServer _server;
    long _deadlineMs; // server.shutdown_mstime: 0 when no shutdown is waiting
    bool? _save;
    bool _force;
    readonly List<Client> _waitingClients = new(); // BLOCKED_SHUTDOWN: answered only if it fails

    public ShutdownSequence(CinnabarServer server) => _server = server;

    /// <summary>isShutdownInitiated.</summary>
    public bool Initiated => _deadlineMs != 0;

    /// <summary>INFO's shutdown_in_milliseconds while waiting for replicas.</summary>
    public long InMilliseconds => Math.Max(0, _deadlineMs - _server.NowMs);

    /// <summary>prepareForShutdown: save null means "as the save points say".</summary>
    public ShutdownResult Begin(bool? save, bool force, bool now, Client? requester)
    {
        if (Initiated)
        {
            // A second SHUTDOWN while one waits just waits with it.
            if (requester != null) Park(requester);
            return ShutdownResult.Waiting;
        }
        if (_server.Loading) save = false; // never save a dataset that is still loading
        _save = save;
        _force = force;
        _server.Log.Warning("User requested shutdown...");
        if (!now && _server.Config.GetLong("shutdown-timeout") != 0 && !ReadyToShutdown())
        {
            _deadlineMs = _server.NowMs + _server.Config.GetLong("shutdown-timeout") * 1000;
            if (!_server.Pause.ClientsArePaused()) _server.Replication.SendGetAckNow();
            _server.Pause.PauseWrites(PausePurpose.Shutdown);
            if (requester != null) Park(requester);
            _server.Log.Notice("Waiting for replicas before shutting down.");
            return ShutdownResult.Waiting;
        }
        return Finish();
    }

    void Park(Client c)
    {
        _server.Blocking.BlockForShutdown(c); // its next commands wait; answered only if the shutdown fails
        _waitingClients.Add(c);
    }

    /// <summary>isReadyToShutdown: every replica acknowledged the whole stream.</summary>
    bool ReadyToShutdown()
    {
        var repl = _server.Replication;
        foreach (var r in repl.Replicas)
            if (r.ReplicaState!.AckOffset != repl.MasterReplOffset) return false;
        return true;
    }

    string? _signal; // shutdown_asap: SIGTERM or SIGINT received, not yet carried out

    /// <summary>A SIGTERM/SIGINT: carried out by the next serverCron.</summary>
    public void SignalReceived(string reason) => _signal = reason;

    /// <summary>
    /// serverCron: a signalled shutdown starts (with shutdown-on-sigterm / -sigint's flags:
    /// "default" or save, nosave, now, force), a waiting one finishes once the replicas caught up
    /// or its time is up.
    /// </summary>
    public void Cron()
    {
        if (_signal is { } reason && !Initiated)
        {
            _signal = null;
            var flags = _server.Config.GetString("shutdown-on-" + reason.ToLowerInvariant()).Split(' ');
            bool? save = flags.Contains("save") ? true : flags.Contains("nosave") ? false : null;
            if (Begin(save, flags.Contains("force"), flags.Contains("now"), requester: null) == ShutdownResult.Failed)
                _server.Log.Warning($"{reason} received but errors trying to shut down the server, check the logs for more information");
        }
        else if (Initiated && (_server.NowMs >= _deadlineMs || ReadyToShutdown())) Finish();
    }

    /// <summary>SHUTDOWN ABORT: cancels a waiting shutdown or a signalled one not yet started; false when there is none.</summary>
    public bool Abort()
    {
        if (Initiated) Cancel();
        else if (_signal != null) _signal = null;
        else return false;
        _server.Log.Notice("Shutdown manually aborted.");
        return true;
    }

    /// <summary>finishShutdown.</summary>
    ShutdownResult Finish()
    {
        var repl = _server.Replication;
        int lagging = 0;
        foreach (var r in repl.Replicas)
        {
            var st = r.ReplicaState!;
            if (st.AckOffset == repl.MasterReplOffset) continue;
            lagging++;
            long lag = st.Online ? (_server.NowMs - st.AckTimeMs) / 1000 : 0;
            _server.Log.Notice($"Lagging replica {Replication.ReplicationPrimary.ReplicaName(r)} reported offset {repl.MasterReplOffset - st.AckOffset} behind master, lag={lag}, state={st.StateName}.");
        }
        if (repl.Replicas.Count > 0)
            _server.Log.Notice($"{repl.Replicas.Count - lagging} of {repl.Replicas.Count} replicas are in sync when shutting down.");
        var bg = _server.BackgroundSave;
        if (bg.InProgress)
        {
            _server.Log.Warning("There is a child saving an .rdb. Killing it!");
            bg.Kill();
        }
        var aof = _server.Aof;
        if (aof.State == Persistence.AofState.WaitRewrite && aof.RewriteInProgress)
        {
            // The AOF was just turned on and its first rewrite has not produced the base: exiting
            // now would leave no AOF with the dataset in it.
            if (!_force)
            {
                _server.Log.Warning("Writing initial AOF, can't exit.");
                return Failed();
            }
            _server.Log.Warning("Writing initial AOF. Exit anyway.");
        }
        aof.PrepareForShutdown();
        var config = _server.Config;
        // A Sentinel has no dataset to save (its state is in its config file).
        if (_server.Sentinel == null && ((config.SaveParams.Count > 0 && _save != false) || _save == true))
        {
            _server.Log.Notice("Saving the final RDB snapshot before exiting.");
            if (!Persistence.RdbFile.Save(_server))
            {
                if (!_force)
                {
                    _server.Log.Warning("Error trying to save the DB, can't exit.");
                    return Failed();
                }
                _server.Log.Warning("Error trying to save the DB. Exit anyway.");
            }
        }
        // flushSlavesOutputBuffers: best effort, so replicas get what is already queued for them.
        foreach (var r in repl.Replicas.ToArray()) r.WriteToClient(fromHandler: false);
        _server.CloseListeningSockets();
        _server.Log.Warning("Cinnabar is now ready to exit, bye bye...");
        _server.Loop.Stop();
        return ShutdownResult.Done;
    }

    ShutdownResult Failed()
    {
        _server.Log.Warning("Errors trying to shut down the server. Check the logs for more information.");
        Cancel();
        return ShutdownResult.Failed;
    }

    /// <summary>cancelShutdown: writes resume; SHUTDOWN clients that waited get the error.</summary>
    void Cancel()
    {
        _deadlineMs = 0;
        _save = null;
        _force = false;
        foreach (var c in _waitingClients)
        {
            c.Reply.Error("Errors trying to SHUTDOWN. Check logs.");
            _server.Blocking.UnblockWaitingClient(c);
        }
        _waitingClients.Clear();
        _server.Pause.UnpauseWrites(PausePurpose.Shutdown);
    }

    /// <summary>A parked SHUTDOWN client disconnected.</summary>
    public void FreeClient(Client c) => _waitingClients.Remove(c);
}
