// FAILOVER, Redis 7.0's coordinated failover (replication.c: failoverCommand,
// updateFailoverStatus, abortFailover, clearFailoverState). The primary pauses writes, waits
// until a replica (the one named with TO, or any) has acknowledged its whole stream, then
// becomes a replica of it, sending PSYNC <replid> <offset> FAILOVER; the replica, seeing its own
// history's id, promotes itself (REPLICAOF NO ONE) before answering, so the old primary
// continues with a partial resync under the new id. TIMEOUT aborts a failover whose replica
// never caught up, unless FORCE, which fails over anyway; ABORT cancels one in progress.
using Cinnabar.Networking;

namespace Cinnabar.Replication;

/// <summary>server.failover_state.</summary>
public enum FailoverState
{
    None,
    WaitForSync,
    InProgress,
}

public sealed class Failover
{
    readonly CinnabarServer _server;
    string? _targetHost;
    int _targetPort;
    long _endMs;
    bool _force;

    public Failover(CinnabarServer server) => _server = server;

    public FailoverState State { get; private set; }

    /// <summary>INFO's master_failover_state.</summary>
    public string StateName => State switch
    {
        FailoverState.WaitForSync => "waiting-for-sync",
        FailoverState.InProgress => "failover-in-progress",
        _ => "no-failover",
    };

    /// <summary>failoverCommand: FAILOVER [TO host port [FORCE]] [TIMEOUT ms] | FAILOVER ABORT.</summary>
    public void Command(Client c)
    {
        var args = c.Args;
        if (args.Count == 2 && args.Is(1, "abort"))
        {
            if (State == FailoverState.None)
            {
                c.Reply.Error("No failover in progress.");
                return;
            }
            Abort("Failover manually aborted");
            c.Reply.Ok();
            return;
        }
        long timeoutMs = 0, port = 0;
        bool force = false;
        string? host = null;
        for (int j = 1; j < args.Count; j++)
        {
            if (args.Is(j, "timeout") && j + 1 < args.Count && timeoutMs == 0)
            {
                if (!Commands.Arguments.TryGetLong(c, j + 1, out timeoutMs)) return;
                if (timeoutMs <= 0)
                {
                    c.Reply.Error("FAILOVER timeout must be greater than 0");
                    return;
                }
                j++;
            }
            else if (args.Is(j, "to") && j + 2 < args.Count && host == null)
            {
                if (!Commands.Arguments.TryGetLong(c, j + 2, out port)) return;
                host = args.ToStringAt(j + 1);
                j += 2;
            }
            else if (args.Is(j, "force") && !force) force = true;
            else
            {
                c.Reply.Error(Commands.Errors.Syntax);
                return;
            }
        }
        if (State != FailoverState.None)
        {
            c.Reply.Error("FAILOVER already in progress.");
            return;
        }
        if (_server.IsReplica)
        {
            c.Reply.Error("FAILOVER is not valid when server is a replica.");
            return;
        }
        if (_server.Replication.Replicas.Count == 0)
        {
            c.Reply.Error("FAILOVER requires connected replicas.");
            return;
        }
        if (force && (timeoutMs == 0 || host == null))
        {
            c.Reply.Error("FAILOVER with force option requires both a timeout and target HOST and IP.");
            return;
        }
        if (host != null)
        {
            var replica = FindReplica(host, (int)port);
            if (replica == null)
            {
                c.Reply.Error("FAILOVER target HOST and PORT is not a replica.");
                return;
            }
            if (!replica.ReplicaState!.Online)
            {
                c.Reply.Error("FAILOVER target replica is not online.");
                return;
            }
            _targetHost = host;
            _targetPort = (int)port;
            _server.Log.Notice($"FAILOVER requested to {host}:{port}.");
        }
        else _server.Log.Notice("FAILOVER requested to any replica.");
        _endMs = timeoutMs > 0 ? _server.NowMs + timeoutMs : 0;
        _force = force;
        State = FailoverState.WaitForSync;
        _server.Pause.PauseWrites(PausePurpose.Failover);
        c.Reply.Ok();
    }

    Client? FindReplica(string host, int port)
    {
        foreach (var r in _server.Replication.Replicas)
        {
            var st = r.ReplicaState!;
            string ip = st.AnnouncedIp ?? ReplicationPrimary.HostOf(r.RemoteAddress);
            if (ip.Equals(host, StringComparison.OrdinalIgnoreCase) && st.ListeningPort == port) return r;
        }
        return null;
    }

    /// <summary>
    /// updateFailoverStatus (beforeSleep while waiting): the timeout (abort, or with FORCE fail
    /// over regardless), else the first replica whose ACK reached our offset becomes the primary.
    /// </summary>
    public void Update()
    {
        if (State != FailoverState.WaitForSync) return;
        var repl = _server.Replication;
        if (_endMs != 0 && _endMs <= _server.NowMs)
        {
            if (_force)
            {
                _server.Log.Notice($"FAILOVER to {_targetHost}:{_targetPort} time out exceeded, failing over.");
                Start();
            }
            else Abort("Replica never caught up before timeout");
            return;
        }
        Client? replica = null;
        if (_targetHost != null) replica = FindReplica(_targetHost, _targetPort);
        else
        {
            foreach (var r in repl.Replicas)
            {
                var st = r.ReplicaState!;
                if (st.AckOffset != repl.MasterReplOffset) continue;
                replica = r;
                _targetHost = st.AnnouncedIp ?? ReplicationPrimary.HostOf(r.RemoteAddress);
                _targetPort = st.ListeningPort;
                break;
            }
        }
        if (replica != null && replica.ReplicaState!.AckOffset == repl.MasterReplOffset)
        {
            _server.Log.Notice($"Failover target {_targetHost}:{_targetPort} is synced, failing over.");
            Start();
        }
    }

    /// <summary>FAILOVER_IN_PROGRESS: this server follows the target; its PSYNC carries FAILOVER.</summary>
    void Start()
    {
        State = FailoverState.InProgress;
        _server.ReplicaSide.SetMaster(_targetHost!, _targetPort);
    }

    /// <summary>The target answered PSYNC FAILOVER: done (clearFailoverState), or it refused (abort).</summary>
    internal void PsyncAnswered(bool accepted)
    {
        if (State != FailoverState.InProgress) return;
        if (accepted) Clear();
        else Abort("Failover target rejected psync request");
    }

    /// <summary>abortFailover: back to a primary if it had already turned, writes resume.</summary>
    public void Abort(string reason)
    {
        if (State == FailoverState.None) return;
        _server.Log.Notice(_targetHost != null
            ? $"FAILOVER to {_targetHost}:{_targetPort} aborted: {reason}"
            : $"FAILOVER to any replica aborted: {reason}");
        if (State == FailoverState.InProgress) _server.ReplicaSide.UnsetMaster();
        Clear();
    }

    void Clear()
    {
        State = FailoverState.None;
        _targetHost = null;
        _targetPort = 0;
        _endMs = 0;
        _force = false;
        _server.Pause.UnpauseWrites(PausePurpose.Failover);
    }
}
