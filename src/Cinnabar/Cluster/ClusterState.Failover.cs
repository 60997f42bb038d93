// Cluster failover (cluster.c): a replica of a FAIL master with slots waits 500 ms + random
// 500 ms + 1 s per better-offset sibling (its rank), asks every master for a vote in a new
// epoch (FAILOVER_AUTH_REQUEST), and with votes from a majority of the masters takes its
// master's slots with that epoch (clusterFailoverReplaceYourMaster) and tells everyone with
// PONGs. Masters vote once per epoch, not twice for the same master within 2 node timeouts, and
// only for a claim as new as their view of the slots. Manual failover (CLUSTER FAILOVER) pauses
// the master's writes until the replica caught up; FORCE skips that, TAKEOVER skips the vote.
// Replica migration moves a spare replica to a master left with none.
namespace Cinnabar.Cluster;

public sealed partial class ClusterState
{
    const long ManualFailoverTimeout = 5000;
    const long SlaveMigrationDelay = 5000;
    const int CantFailoverNone = 0, CantFailoverDataAge = 1, CantFailoverWaitingDelay = 2, CantFailoverExpired = 3, CantFailoverWaitingVotes = 4;
    const int CantFailoverRelogPeriodSeconds = 300;

    void RequestFailoverAuth()
    {
        var buf = BuildHeader(MessageType.FailoverAuthRequest, 0);
        if (_mfEnd != 0) buf[ClusterMessage.OffMFlags] |= ClusterMessage.MFlagForceAck;
        Broadcast(buf);
    }

    void SendFailoverAuth(ClusterNode node)
    {
        if (node.Link == null) return;
        node.Link.Send(BuildHeader(MessageType.FailoverAuthAck, 0));
    }

    void SendMFStart(ClusterNode node)
    {
        if (node.Link == null) return;
        node.Link.Send(BuildHeader(MessageType.MfStart, 0));
    }

    /// <summary>clusterSendFailoverAuthIfNeeded: the vote a master gives a replica asking for one.</summary>
    void SendFailoverAuthIfNeeded(ClusterNode node, ReadOnlySpan<byte> request)
    {
        var master = node.ReplicaOf;
        ulong reqCurrentEpoch = ClusterMessage.U64(request, ClusterMessage.OffCurrentEpoch);
        ulong reqConfigEpoch = ClusterMessage.U64(request, ClusterMessage.OffConfigEpoch);
        bool forceAck = (request[ClusterMessage.OffMFlags] & ClusterMessage.MFlagForceAck) != 0;
        if (Myself.IsSlave || Myself.NumSlots == 0) return;
        if (reqCurrentEpoch < CurrentEpoch)
        {
            Log.Warning($"Failover auth denied to {node.Name}: reqEpoch ({reqCurrentEpoch}) < curEpoch({CurrentEpoch})");
            return;
        }
        if (LastVoteEpoch == CurrentEpoch)
        {
            Log.Warning($"Failover auth denied to {node.Name}: already voted for epoch {CurrentEpoch}");
            return;
        }
        if (node.IsMaster || master == null || (!master.Failed && !forceAck))
        {
            if (node.IsMaster) Log.Warning($"Failover auth denied to {node.Name}: it is a master node");
            else if (master == null) Log.Warning($"Failover auth denied to {node.Name}: I don't know its master");
            else Log.Warning($"Failover auth denied to {node.Name}: its master is up");
            return;
        }
        if (Now - master.VotedTime < NodeTimeout * 2)
        {
            Log.Warning($"Failover auth denied to {node.Name}: can't vote about this master before {NodeTimeout * 2 - (Now - master.VotedTime)} milliseconds");
            return;
        }
        var claimed = request.Slice(ClusterMessage.OffMySlots, KeyHashSlot.Slots / 8);
        for (int j = 0; j < KeyHashSlot.Slots; j++)
        {
            if ((claimed[j >> 3] & (1 << (j & 7))) == 0) continue;
            if (Slots[j] == null || Slots[j]!.ConfigEpoch <= reqConfigEpoch) continue;
            Log.Warning($"Failover auth denied to {node.Name}: slot {j} epoch ({Slots[j]!.ConfigEpoch}) > reqEpoch ({reqConfigEpoch})");
            return;
        }
        LastVoteEpoch = CurrentEpoch;
        master.VotedTime = Now;
        DoBeforeSleep(TodoSaveConfig | TodoFsyncConfig);
        SendFailoverAuth(node);
        Log.Warning($"Failover auth granted to {node.Name} for epoch {CurrentEpoch}");
    }

    /// <summary>clusterGetSlaveRank: siblings (that may fail over) with a greater replication offset.</summary>
    int GetSlaveRank()
    {
        var master = Myself.ReplicaOf;
        if (master == null) return 0;
        long myOffset = MyReplOffset;
        return master.Replicas.Count(r => r != Myself && !r.Has(NodeFlags.NoFailover) && r.ReplOffset > myOffset);
    }

    void LogCantFailover(int reason)
    {
        long nologFailTime = NodeTimeout + 5000;
        long nowSeconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (reason == _cantFailoverReason && nowSeconds - _lastCantFailoverLog < CantFailoverRelogPeriodSeconds) return;
        _cantFailoverReason = reason;
        if (Myself.ReplicaOf is { Failed: true } m && Now - m.FailTime < nologFailTime) return;
        string msg = reason switch
        {
            CantFailoverDataAge => "Disconnected from master for longer than allowed. Please check the 'cluster-replica-validity-factor' configuration option.",
            CantFailoverWaitingDelay => "Waiting the delay before I can start a new failover.",
            CantFailoverExpired => "Failover attempt expired.",
            CantFailoverWaitingVotes => "Waiting for votes, but majority still not reached.",
            _ => "Unknown reason code.",
        };
        _lastCantFailoverLog = nowSeconds;
        Log.Warning($"Currently unable to failover: {msg}");
    }

    /// <summary>clusterFailoverReplaceYourMaster: become a master with the old master's slots, save, tell everyone.</summary>
    void FailoverReplaceYourMaster()
    {
        var oldMaster = Myself.ReplicaOf;
        if (Myself.IsMaster || oldMaster == null) return;
        SetNodeAsMaster(Myself);
        _server.ReplicaSide.UnsetMaster();
        for (int j = 0; j < KeyHashSlot.Slots; j++)
        {
            if (!oldMaster.GetSlot(j)) continue;
            DelSlot(j);
            AddSlot(Myself, j);
        }
        UpdateState();
        SaveConfigOrDie(fsync: true);
        BroadcastPong(localSlavesOnly: false);
        ResetManualFailover();
    }

    /// <summary>clusterHandleSlaveFailover: the automatic (or manual) election of this replica.</summary>
    void HandleSlaveFailover()
    {
        long authAge = Now - _failoverAuthTime;
        int neededQuorum = Size / 2 + 1;
        bool manualFailover = _mfEnd != 0 && _mfCanStart;
        _todoBeforeSleep &= ~TodoHandleFailover;
        long authTimeout = Math.Max(NodeTimeout * 2, 2000);
        long authRetryTime = authTimeout * 2;
        if (Myself.IsMaster || Myself.ReplicaOf == null || (!Myself.ReplicaOf.Failed && !manualFailover)
            || (Config.GetBool("cluster-replica-no-failover") && !manualFailover) || Myself.ReplicaOf.NumSlots == 0)
        {
            _cantFailoverReason = CantFailoverNone;
            return;
        }
        long dataAge = _server.ReplicaSide.MasterDataAgeMs;
        if (dataAge > NodeTimeout) dataAge -= NodeTimeout;
        long validityFactor = Config.GetLong("cluster-replica-validity-factor");
        if (validityFactor != 0 && dataAge > Config.GetLong("repl-ping-replica-period") * 1000 + NodeTimeout * validityFactor && !manualFailover)
        {
            LogCantFailover(CantFailoverDataAge);
            return;
        }
        if (authAge > authRetryTime)
        {
            _failoverAuthTime = Now + 500 + _random.Next(500);
            _failoverAuthCount = 0;
            _failoverAuthSent = false;
            _failoverAuthRank = GetSlaveRank();
            _failoverAuthTime += _failoverAuthRank * 1000;
            if (_mfEnd != 0)
            {
                _failoverAuthTime = Now;
                _failoverAuthRank = 0;
                DoBeforeSleep(TodoHandleFailover);
            }
            Log.Warning($"Start of election delayed for {_failoverAuthTime - Now} milliseconds (rank #{_failoverAuthRank}, offset {MyReplOffset}).");
            BroadcastPong(localSlavesOnly: true);
            return;
        }
        if (!_failoverAuthSent && _mfEnd == 0)
        {
            int newRank = GetSlaveRank();
            if (newRank > _failoverAuthRank)
            {
                long added = (newRank - _failoverAuthRank) * 1000L;
                _failoverAuthTime += added;
                _failoverAuthRank = newRank;
                Log.Warning($"Replica rank updated to #{newRank}, added {added} milliseconds of delay.");
            }
        }
        if (Now < _failoverAuthTime)
        {
            LogCantFailover(CantFailoverWaitingDelay);
            return;
        }
        if (authAge > authTimeout)
        {
            LogCantFailover(CantFailoverExpired);
            return;
        }
        if (!_failoverAuthSent)
        {
            CurrentEpoch++;
            _failoverAuthEpoch = CurrentEpoch;
            Log.Warning($"Starting a failover election for epoch {CurrentEpoch}.");
            RequestFailoverAuth();
            _failoverAuthSent = true;
            DoBeforeSleep(TodoSaveConfig | TodoUpdateState | TodoFsyncConfig);
            return;
        }
        if (_failoverAuthCount >= neededQuorum)
        {
            Log.Warning("Failover election won: I'm the new master.");
            if (Myself.ConfigEpoch < _failoverAuthEpoch)
            {
                Myself.ConfigEpoch = _failoverAuthEpoch;
                Log.Warning($"configEpoch set to {Myself.ConfigEpoch} after successful failover");
            }
            FailoverReplaceYourMaster();
        }
        else LogCantFailover(CantFailoverWaitingVotes);
    }

    /// <summary>clusterHandleSlaveMigration: the smallest-named replica of the best-served master moves to an orphaned one.</summary>
    void HandleSlaveMigration(int maxSlaves)
    {
        var myMaster = Myself.ReplicaOf;
        if (!StateOk || myMaster == null) return;
        int okSlaves = myMaster.Replicas.Count(r => !r.Failed && !r.TimedOut);
        if (okSlaves <= Config.GetLong("cluster-migration-barrier")) return;
        ClusterNode candidate = Myself;
        ClusterNode? target = null;
        foreach (var node in Nodes.Values)
        {
            int ok = 0;
            bool orphaned = !(node.IsSlave || node.Failed) && node.Has(NodeFlags.MigrateTo);
            if (node.IsMaster) ok = node.NonFailingReplicas;
            if (ok > 0) orphaned = false;
            if (orphaned)
            {
                if (target == null && node.NumSlots > 0) target = node;
                if (node.OrphanedTime == 0) node.OrphanedTime = Now;
            }
            else node.OrphanedTime = 0;
            if (ok == maxSlaves)
                foreach (var r in node.Replicas)
                    if (string.CompareOrdinal(r.Name, candidate.Name) < 0) candidate = r;
        }
        if (target != null && candidate == Myself && Now - target.OrphanedTime > SlaveMigrationDelay)
        {
            Log.Warning($"Migrating to orphaned master {target.Name}");
            SetMaster(target);
        }
    }

    void ResetManualFailover()
    {
        if (_mfSlave != null) _server.Pause.UnpauseWrites(Networking.PausePurpose.Failover);
        _mfEnd = 0;
        _mfCanStart = false;
        _mfSlave = null;
        _mfMasterOffset = -1;
    }

    void ManualFailoverCheckTimeout()
    {
        if (_mfEnd == 0 || _mfEnd >= Now) return;
        Log.Warning("Manual failover timed out.");
        ResetManualFailover();
    }

    /// <summary>clusterHandleManualFailover: the replica may start once it processed the paused master's offset.</summary>
    void HandleManualFailover()
    {
        if (_mfEnd == 0 || _mfCanStart || _mfMasterOffset == -1) return;
        if (_mfMasterOffset == MyReplOffset)
        {
            _mfCanStart = true;
            Log.Warning("All master replication stream processed, manual failover can start.");
            DoBeforeSleep(TodoHandleFailover);
            return;
        }
        DoBeforeSleep(TodoHandleManualFailover);
    }

    /// <summary>CLUSTER FAILOVER [FORCE|TAKEOVER] once its preconditions are checked.</summary>
    public void StartManualFailover(bool force, bool takeover)
    {
        ResetManualFailover();
        _mfEnd = Now + ManualFailoverTimeout;
        if (takeover)
        {
            Log.Warning("Taking over the master (user request).");
            BumpConfigEpochWithoutConsensus();
            FailoverReplaceYourMaster();
        }
        else if (force)
        {
            Log.Warning("Forced failover user request accepted.");
            _mfCanStart = true;
        }
        else
        {
            Log.Warning("Manual failover user request accepted.");
            SendMFStart(Myself.ReplicaOf!);
        }
    }
}
