// CLIENT PAUSE (Redis's pauseClients / unpauseClients / blockPostponeClient in networking.c and
// blocked.c): while a pause lasts, a client whose next command must wait keeps it unexecuted in
// its query buffer and is parked here; when the pause ends (timeout or CLIENT UNPAUSE) the
// parked clients run their pending commands in the next beforeSleep, in client-id order. A
// FAILOVER and a shutdown waiting for replicas pause writes too, each for its own duration
// (PAUSE_DURING_FAILOVER, PAUSE_DURING_SHUTDOWN): the pauses are independent, and CLIENT
// UNPAUSE ends only the command's.
using Cinnabar.Commands;

namespace Cinnabar.Networking;

/// <summary>Who, besides CLIENT PAUSE, pauses writes (Redis's pause purposes).</summary>
[Flags]
public enum PausePurpose
{
    None = 0,
    Failover = 1,
    Shutdown = 2,
}

public sealed class ClientPause
{
    readonly CinnabarServer _server;
    readonly HashSet<Client> _postponed = new();
    bool _resumePostponed;
    long _pauseTimerId;

    /// <summary>server.client_pause_end_time: unix ms when the pause ends; 0 when not paused.</summary>
    public long EndMs;

    /// <summary>client_pause_type WRITE (true) or ALL (false).</summary>
    public bool WritesOnly;

    PausePurpose _writePauses;

    /// <summary>PAUSE_DURING_FAILOVER: writes wait until the coordinated failover ends or aborts.</summary>
    public bool FailoverPaused => (_writePauses & PausePurpose.Failover) != 0;

    public ClientPause(CinnabarServer server) => _server = server;

    /// <summary>Whether any pause may be in force (the input path's cheap check before MustPostpone).</summary>
    public bool Active => EndMs != 0 || _writePauses != 0;

    /// <summary>FAILOVER or a waiting shutdown starts: writes (and expiry, eviction, the replication PING) pause until it ends.</summary>
    public void PauseWrites(PausePurpose purpose) => _writePauses |= purpose;

    /// <summary>That purpose ended: postponed writes run in the next beforeSleep (unless another pause holds them).</summary>
    public void UnpauseWrites(PausePurpose purpose)
    {
        _writePauses &= ~purpose;
        if (_postponed.Count > 0) _resumePostponed = true;
    }

    /// <summary>pauseClients: the later end and the stronger mode win when pauses overlap.</summary>
    public void PauseClients(long endMs, bool writesOnly)
    {
        bool wasPaused = ClientsArePaused();
        WritesOnly = wasPaused ? WritesOnly && writesOnly : writesOnly;
        if (endMs > EndMs || !wasPaused) EndMs = Math.Max(endMs, wasPaused ? EndMs : 0);
        long now = _server.NowMs;
        if (EndMs <= now)
        {
            UnpauseClients();
            return;
        }
        // A timer wakes the loop at the end so postponed clients resume on time, not at the next cron.
        var loop = _server.Loop;
        if (_pauseTimerId != 0) loop.DeleteTimeEvent(_pauseTimerId);
        _pauseTimerId = loop.AddTimeEvent(EndMs - now, () =>
        {
            _pauseTimerId = 0;
            ClientsArePaused();
            return -1;
        });
    }

    /// <summary>unpauseClients: postponed clients run their pending command in the next beforeSleep.</summary>
    public void UnpauseClients()
    {
        EndMs = 0;
        WritesOnly = false;
        if (_pauseTimerId != 0)
        {
            _server.Loop.DeleteTimeEvent(_pauseTimerId);
            _pauseTimerId = 0;
        }
        if (_postponed.Count > 0) _resumePostponed = true;
    }

    /// <summary>checkClientPauseTimeoutAndReturnIfPaused: ends an expired CLIENT PAUSE as a side effect.</summary>
    public bool ClientsArePaused() => CommandPauseActive() || _writePauses != 0;

    bool CommandPauseActive()
    {
        if (EndMs == 0) return false;
        if (_server.NowMs < EndMs) return true;
        UnpauseClients();
        return false;
    }

    /// <summary>Whether this client's next command (already parsed into c.Args) must wait for the pause to end.</summary>
    public bool MustPostpone(Client c)
    {
        if (!ClientsArePaused()) return false;
        // Replicas and monitors (Redis's CLIENT_SLAVE) are never paused.
        if (c.HasFlag(ClientFlags.Replica | ClientFlags.Monitor)) return false;
        var cmd = _server.Commands.Resolve(c.Args, out bool unknownSub);
        if (cmd == null || unknownSub) return false; // rejected anyway, no need to wait
        if (CommandPauseActive() && !WritesOnly) return true;
        bool exec = cmd.Parent == null && cmd.Name == "exec";
        // A script's declared flags decide (a no-writes script is neither a write nor may-replicate).
        var flags = cmd.Has(CommandFlags.ScriptDeclaredFlags) ? _server.Lua.CommandFlagsFor(c, cmd) : cmd.Flags;
        return (flags & (CommandFlags.Write | CommandFlags.MayReplicate)) != 0 || (exec && Transactions.Multi.TransactionMayReplicate(c));
    }

    /// <summary>blockPostponeClient: the client keeps its unexecuted command and is resumed by UnpauseClients.</summary>
    public void BlockPostponeClient(Client c) => _postponed.Add(c);

    public bool IsPostponed(Client c) => _postponed.Contains(c);

    /// <summary>A freed client is forgotten (called by FreeClient before the mechanisms drop its state).</summary>
    internal void RemoveClient(Client c) => _postponed.Remove(c);

    /// <summary>Run in beforeSleep: once the pause is over, each postponed client processes its buffered input.</summary>
    internal void ResumePostponedClients()
    {
        // A client whose command must still wait (a write under the other pause) parks again.
        if (!_resumePostponed || CommandPauseActive() && !WritesOnly) return;
        _resumePostponed = false;
        var resumed = _postponed.OrderBy(c => c.Id).ToList();
        _postponed.Clear();
        foreach (var c in resumed)
            if (_server.Clients.Contains(c.Id)) c.ProcessInputBuffer();
    }
}
