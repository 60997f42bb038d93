// The acting half of Sentinel: subjective down (no valid reply within down-after-milliseconds,
// or a master reporting itself a replica for too long), objective down (enough Sentinels agree:
// SENTINEL IS-MASTER-DOWN-BY-ADDR), the leader election (one vote per epoch, majority of the
// known Sentinels and at least the quorum), and the failover state machine: wait_start →
// select_slave → send_slaveof_noone → wait_promotion → reconf_slaves → update_config, which
// ends with +switch-master and the master's address replaced by the promoted replica's.
using System.Globalization;

namespace Cinnabar.Sentinel;

public sealed partial class Sentinel
{
    /// <summary>sentinelCheckSubjectivelyDown, with the reconnection of links that look stuck.</summary>
    void CheckSubjectivelyDown(SentinelInstance ri)
    {
        var link = ri.Link;
        long now = Now;
        long elapsed = 0;
        if (link.ActPingTime != 0) elapsed = now - link.ActPingTime;
        else if (link.Disconnected) elapsed = now - link.LastAvailTime;

        // A commands link with a ping pending for half the timeout (and no error replies) is remade.
        if (link.Commands != null && now - link.CommandsConnectedTime > Timings.MinLinkReconnectPeriod
            && link.ActPingTime != 0 && now - link.ActPingTime > ri.DownAfterPeriod / 2 && now - link.LastPongTime > ri.DownAfterPeriod / 2)
            link.CloseConnection(link.Commands);
        // So is a Pub/Sub link silent for three publish periods (we hear our own hellos on it).
        if (link.PubSub != null && now - link.PubSubConnectedTime > Timings.MinLinkReconnectPeriod
            && now - link.PubSubLastActivity > Timings.PublishPeriod * 3)
            link.CloseConnection(link.PubSub);

        bool down = elapsed > ri.DownAfterPeriod
            || (ri.IsMaster && ri.RoleReported == InstanceFlags.Slave && now - ri.RoleReportedTime > ri.DownAfterPeriod + Timings.InfoPeriod * 2)
            || (ri.Has(InstanceFlags.MasterReboot) && now - ri.MasterRebootSinceTime > ri.MasterRebootDownAfterPeriod);
        if (down)
        {
            if (!ri.Has(InstanceFlags.SDown))
            {
                EventAt(LogWarning, "+sdown", ri);
                ri.SDownSinceTime = Now;
                ri.Flags |= InstanceFlags.SDown;
            }
        }
        else if (ri.Has(InstanceFlags.SDown))
        {
            EventAt(LogWarning, "-sdown", ri);
            ri.Flags &= ~(InstanceFlags.SDown | InstanceFlags.ScriptKillSent);
        }
    }

    /// <summary>sentinelCheckObjectivelyDown: SDOWN here plus enough Sentinels that said "down" reach the quorum.</summary>
    void CheckObjectivelyDown(SentinelInstance master)
    {
        int quorum = 0;
        bool odown = false;
        if (master.Has(InstanceFlags.SDown))
        {
            quorum = 1 + master.Sentinels.Values.Count(ri => ri.Has(InstanceFlags.MasterDown));
            if (quorum >= master.Quorum) odown = true;
        }
        if (odown)
        {
            if (!master.Has(InstanceFlags.ODown))
            {
                EventAt(LogWarning, "+odown", master, $" #quorum {quorum}/{master.Quorum}");
                master.Flags |= InstanceFlags.ODown;
                master.ODownSinceTime = Now;
            }
        }
        else if (master.Has(InstanceFlags.ODown))
        {
            EventAt(LogWarning, "-odown", master);
            master.Flags &= ~InstanceFlags.ODown;
        }
    }

    /// <summary>
    /// sentinelAskMasterStateToOtherSentinels: while the master is SDOWN, every connected Sentinel
    /// is asked (at most once per ask-period unless forced) whether it agrees, and, once a failover
    /// started, for its vote. Answers older than five ask periods are forgotten.
    /// </summary>
    void AskMasterStateToOtherSentinels(SentinelInstance master, bool forced)
    {
        foreach (var ri in master.Sentinels.Values)
        {
            long elapsed = Now - ri.LastMasterDownReplyTime;
            if (elapsed > Timings.AskPeriod * 5)
            {
                ri.Flags &= ~InstanceFlags.MasterDown;
                ri.Leader = null;
            }
            if (!master.Has(InstanceFlags.SDown)) continue;
            if (ri.Link.Disconnected) continue;
            if (!forced && Now - ri.LastMasterDownReplyTime < Timings.AskPeriod) continue;
            var peer = ri;
            Send(ri, ri.Link.Commands, reply => ReceiveIsMasterDownReply(peer, reply),
                ri.MapCommand("SENTINEL"), "is-master-down-by-addr", Announce(master.Addr), master.Addr.Port.ToString(CultureInfo.InvariantCulture),
                CurrentEpoch.ToString(CultureInfo.InvariantCulture), master.FailoverState > FailoverState.None ? MyId : "*");
        }
    }

    /// <summary>sentinelReceiveIsMasterDownReply: [down 0|1, leader runid or "*", leader epoch].</summary>
    void ReceiveIsMasterDownReply(SentinelInstance ri, Protocol.RespReply r)
    {
        if (r.Type != Protocol.ReplyType.Array || r.Items.Length != 3
            || r.Items[0].Type != Protocol.ReplyType.Integer || r.Items[1].Type != Protocol.ReplyType.Bulk || r.Items[2].Type != Protocol.ReplyType.Integer)
            return;
        ri.LastMasterDownReplyTime = Now;
        if (r.Items[0].Integer == 1) ri.Flags |= InstanceFlags.MasterDown;
        else ri.Flags &= ~InstanceFlags.MasterDown;
        string leader = r.Items[1].Text;
        if (leader != "*")
        {
            if ((long)ri.LeaderEpoch != r.Items[2].Integer)
                Log.Warning($"{ri.Name} voted for {leader} {(ulong)r.Items[2].Integer}");
            ri.Leader = leader;
            ri.LeaderEpoch = (ulong)r.Items[2].Integer;
        }
    }

    /// <summary>
    /// sentinelVoteLeader: a greater epoch is adopted; the first request of an epoch gets the vote
    /// (and a Sentinel that voted for another waits before starting its own failover). Returns the
    /// vote held for the master (maybe an earlier one) and its epoch.
    /// </summary>
    public string? VoteLeader(SentinelInstance master, ulong reqEpoch, string reqRunId, out ulong leaderEpoch)
    {
        if (reqEpoch > CurrentEpoch)
        {
            CurrentEpoch = reqEpoch;
            FlushConfig();
            Event(LogWarning, "+new-epoch", master, CurrentEpoch.ToString(CultureInfo.InvariantCulture));
        }
        if (master.LeaderEpoch < reqEpoch && CurrentEpoch <= reqEpoch)
        {
            master.Leader = reqRunId;
            master.LeaderEpoch = CurrentEpoch;
            FlushConfig();
            Event(LogWarning, "+vote-for-leader", master, $"{master.Leader} {master.LeaderEpoch}");
            if (!string.Equals(master.Leader, MyId, StringComparison.OrdinalIgnoreCase))
                master.FailoverStartTime = Now + _random.Next(MaxDesync);
        }
        leaderEpoch = master.LeaderEpoch;
        return master.Leader;
    }

    /// <summary>
    /// sentinelGetLeader: the votes of the known Sentinels for this epoch plus ours (for the most
    /// voted one, or ourselves); a winner needs a majority of all voters and at least the quorum.
    /// </summary>
    string? GetLeader(SentinelInstance master, ulong epoch)
    {
        var counters = new Dictionary<string, int>(StringComparer.Ordinal);
        int voters = master.Sentinels.Count + 1;
        foreach (var ri in master.Sentinels.Values)
            if (ri.Leader != null && ri.LeaderEpoch == CurrentEpoch)
                counters[ri.Leader] = counters.GetValueOrDefault(ri.Leader) + 1;
        string? winner = null;
        int maxVotes = 0;
        foreach (var (id, votes) in counters)
        {
            if (votes > maxVotes)
            {
                maxVotes = votes;
                winner = id;
            }
        }
        string? myVote = VoteLeader(master, epoch, winner ?? MyId, out ulong leaderEpoch);
        if (myVote != null && leaderEpoch == epoch)
        {
            int votes = counters.GetValueOrDefault(myVote) + 1;
            counters[myVote] = votes;
            if (votes > maxVotes)
            {
                maxVotes = votes;
                winner = myVote;
            }
        }
        int votersQuorum = voters / 2 + 1;
        if (winner != null && (maxVotes < votersQuorum || maxVotes < master.Quorum)) winner = null;
        return winner;
    }

    /// <summary>
    /// sentinelSendSlaveOf: a transaction of SLAVEOF (NO ONE without an address), CONFIG REWRITE
    /// and CLIENT KILL TYPE normal / pubsub, so the instance's clients reconnect and ask again.
    /// Replies are not read: the next INFO shows the effect.
    /// </summary>
    bool SendSlaveOf(SentinelInstance ri, SentinelAddr? addr)
    {
        var cc = ri.Link.Commands;
        if (cc == null || cc.Closed) return false;
        string host = addr == null ? "NO" : Announce(addr);
        string port = addr == null ? "ONE" : addr.Port.ToString(CultureInfo.InvariantCulture);
        Send(ri, cc, null, ri.MapCommand("MULTI"));
        Send(ri, cc, null, ri.MapCommand("SLAVEOF"), host, port);
        Send(ri, cc, null, ri.MapCommand("CONFIG"), "REWRITE");
        Send(ri, cc, null, ri.MapCommand("CLIENT"), "KILL", "TYPE", "normal");
        Send(ri, cc, null, ri.MapCommand("CLIENT"), "KILL", "TYPE", "pubsub");
        Send(ri, cc, null, ri.MapCommand("EXEC"));
        return true;
    }

    /// <summary>sentinelStartFailover: a new epoch, +try-failover, and a start delayed by up to a second.</summary>
    public void StartFailover(SentinelInstance master)
    {
        master.FailoverState = FailoverState.WaitStart;
        master.Flags |= InstanceFlags.FailoverInProgress;
        master.FailoverEpoch = ++CurrentEpoch;
        Event(LogWarning, "+new-epoch", master, CurrentEpoch.ToString(CultureInfo.InvariantCulture));
        EventAt(LogWarning, "+try-failover", master);
        master.FailoverStartTime = Now + _random.Next(MaxDesync);
        master.FailoverStateChangeTime = Now;
    }

    /// <summary>sentinelStartFailoverIfNeeded: ODOWN, none in progress, and the last attempt two failover timeouts ago.</summary>
    bool StartFailoverIfNeeded(SentinelInstance master)
    {
        if (!master.Has(InstanceFlags.ODown)) return false;
        if (master.Has(InstanceFlags.FailoverInProgress)) return false;
        if (Now - master.FailoverStartTime < master.FailoverTimeout * 2)
        {
            if (master.FailoverDelayLogged != master.FailoverStartTime)
            {
                var when = DateTimeOffset.FromUnixTimeMilliseconds(master.FailoverStartTime + master.FailoverTimeout * 2).ToLocalTime();
                master.FailoverDelayLogged = master.FailoverStartTime;
                // ctime's layout: "Wed Dec  2 21:39:04 2026" (the day padded to two).
                string ctime = string.Create(CultureInfo.InvariantCulture, $"{when:ddd MMM} {when.Day,2} {when:HH:mm:ss yyyy}");
                Log.Warning($"Next failover delay: I will not start a failover before {ctime}");
            }
            return false;
        }
        StartFailover(master);
        return true;
    }

    /// <summary>
    /// sentinelSelectSlave: among replicas that are up, connected, answered pings lately, have a
    /// fresh INFO, lost their master not too long ago and have a non-zero priority: lowest
    /// priority, then greatest replication offset, then smallest run id.
    /// </summary>
    public SentinelInstance? SelectSlave(SentinelInstance master)
    {
        long now = Now;
        long maxMasterDownTime = (master.Has(InstanceFlags.SDown) ? now - master.SDownSinceTime : 0) + master.DownAfterPeriod * 10;
        var candidates = new List<SentinelInstance>();
        foreach (var slave in master.Slaves.Values)
        {
            if (slave.Has(InstanceFlags.SDown | InstanceFlags.ODown)) continue;
            if (slave.Link.Disconnected) continue;
            if (now - slave.Link.LastAvailTime > Timings.PingPeriod * 5) continue;
            if (slave.SlavePriority == 0) continue;
            long infoValidity = master.Has(InstanceFlags.SDown) ? Timings.PingPeriod * 5 : Timings.InfoPeriod * 3;
            if (now - slave.InfoRefresh > infoValidity) continue;
            if (slave.MasterLinkDownTime > maxMasterDownTime) continue;
            candidates.Add(slave);
        }
        candidates.Sort(CompareSlavesForPromotion);
        return candidates.Count > 0 ? candidates[0] : null;
    }

    static int CompareSlavesForPromotion(SentinelInstance a, SentinelInstance b)
    {
        if (a.SlavePriority != b.SlavePriority) return a.SlavePriority - b.SlavePriority;
        if (a.SlaveReplOffset != b.SlaveReplOffset) return a.SlaveReplOffset > b.SlaveReplOffset ? -1 : 1;
        if (a.RunId == null && b.RunId == null) return 0;
        if (a.RunId == null) return 1;
        if (b.RunId == null) return -1;
        return string.Compare(a.RunId, b.RunId, StringComparison.OrdinalIgnoreCase);
    }

    void FailoverStateMachine(SentinelInstance ri)
    {
        if (!ri.Has(InstanceFlags.FailoverInProgress)) return;
        switch (ri.FailoverState)
        {
            case FailoverState.WaitStart: FailoverWaitStart(ri); break;
            case FailoverState.SelectSlave: FailoverSelectSlave(ri); break;
            case FailoverState.SendSlaveofNoOne: FailoverSendSlaveOfNoOne(ri); break;
            case FailoverState.WaitPromotion: FailoverWaitPromotion(ri); break;
            case FailoverState.ReconfSlaves: FailoverReconfNextSlave(ri); break;
        }
    }

    /// <summary>sentinelFailoverWaitStart: go on when elected (or forced); give up after the election timeout.</summary>
    void FailoverWaitStart(SentinelInstance ri)
    {
        string? leader = GetLeader(ri, ri.FailoverEpoch);
        bool isLeader = leader != null && string.Equals(leader, MyId, StringComparison.OrdinalIgnoreCase);
        if (!isLeader && !ri.Has(InstanceFlags.ForceFailover))
        {
            long electionTimeout = Math.Min(Timings.ElectionTimeout, ri.FailoverTimeout);
            if (Now - ri.FailoverStartTime > electionTimeout)
            {
                EventAt(LogWarning, "-failover-abort-not-elected", ri);
                AbortFailover(ri);
            }
            return;
        }
        EventAt(LogWarning, "+elected-leader", ri);
        if ((SimFailureFlags & SimCrashAfterElection) != 0) SimFailureCrash();
        ri.FailoverState = FailoverState.SelectSlave;
        ri.FailoverStateChangeTime = Now;
        EventAt(LogWarning, "+failover-state-select-slave", ri);
    }

    void FailoverSelectSlave(SentinelInstance ri)
    {
        var slave = SelectSlave(ri);
        if (slave == null)
        {
            EventAt(LogWarning, "-failover-abort-no-good-slave", ri);
            AbortFailover(ri);
            return;
        }
        EventAt(LogWarning, "+selected-slave", slave);
        slave.Flags |= InstanceFlags.Promoted;
        ri.PromotedSlave = slave;
        ri.FailoverState = FailoverState.SendSlaveofNoOne;
        ri.FailoverStateChangeTime = Now;
        EventAt(LogNotice, "+failover-state-send-slaveof-noone", slave);
    }

    void FailoverSendSlaveOfNoOne(SentinelInstance ri)
    {
        var promoted = ri.PromotedSlave!;
        if (promoted.Link.Disconnected)
        {
            if (Now - ri.FailoverStateChangeTime > ri.FailoverTimeout)
            {
                EventAt(LogWarning, "-failover-abort-slave-timeout", ri);
                AbortFailover(ri);
            }
            return;
        }
        if (!SendSlaveOf(promoted, null)) return;
        EventAt(LogNotice, "+failover-state-wait-promotion", promoted);
        ri.FailoverState = FailoverState.WaitPromotion;
        ri.FailoverStateChangeTime = Now;
    }

    /// <summary>The promotion shows in the replica's INFO (RefreshInstanceInfo); here only its timeout.</summary>
    void FailoverWaitPromotion(SentinelInstance ri)
    {
        if (Now - ri.FailoverStateChangeTime > ri.FailoverTimeout)
        {
            EventAt(LogWarning, "-failover-abort-slave-timeout", ri);
            AbortFailover(ri);
        }
    }

    /// <summary>sentinelFailoverDetectEnd: every reachable replica reconfigured, or the failover timeout (with a best-effort SLAVEOF to the rest).</summary>
    void FailoverDetectEnd(SentinelInstance master)
    {
        long elapsed = Now - master.FailoverStateChangeTime;
        if (master.PromotedSlave == null || master.PromotedSlave.Has(InstanceFlags.SDown)) return;
        int notReconfigured = master.Slaves.Values.Count(s => !s.Has(InstanceFlags.Promoted | InstanceFlags.ReconfDone) && !s.Has(InstanceFlags.SDown));
        bool timeout = false;
        if (elapsed > master.FailoverTimeout)
        {
            notReconfigured = 0;
            timeout = true;
            EventAt(LogWarning, "+failover-end-for-timeout", master);
        }
        if (notReconfigured == 0)
        {
            EventAt(LogWarning, "+failover-end", master);
            master.FailoverState = FailoverState.UpdateConfig;
            master.FailoverStateChangeTime = Now;
        }
        if (!timeout) return;
        foreach (var slave in master.Slaves.Values)
        {
            if (slave.Has(InstanceFlags.Promoted | InstanceFlags.ReconfDone | InstanceFlags.ReconfSent)) continue;
            if (slave.Link.Disconnected) continue;
            if (SendSlaveOf(slave, master.PromotedSlave.Addr))
            {
                EventAt(LogNotice, "+slave-reconf-sent-be", slave);
                slave.Flags |= InstanceFlags.ReconfSent;
            }
        }
    }

    /// <summary>sentinelFailoverReconfNextSlave: SLAVEOF the promoted replica, parallel-syncs at a time.</summary>
    void FailoverReconfNextSlave(SentinelInstance master)
    {
        int inProgress = master.Slaves.Values.Count(s => s.Has(InstanceFlags.ReconfSent | InstanceFlags.ReconfInProgress));
        foreach (var slave in master.Slaves.Values)
        {
            if (inProgress >= master.ParallelSyncs) break;
            if (slave.Has(InstanceFlags.Promoted | InstanceFlags.ReconfDone)) continue;
            // One that did not move on in time counts as done; a misconfiguration is fixed later.
            if (slave.Has(InstanceFlags.ReconfSent) && Now - slave.SlaveReconfSentTime > Timings.SlaveReconfTimeout)
            {
                EventAt(LogNotice, "-slave-reconf-sent-timeout", slave);
                slave.Flags &= ~InstanceFlags.ReconfSent;
                slave.Flags |= InstanceFlags.ReconfDone;
            }
            if (slave.Has(InstanceFlags.ReconfSent | InstanceFlags.ReconfInProgress)) continue;
            if (slave.Link.Disconnected) continue;
            if (SendSlaveOf(slave, master.PromotedSlave!.Addr))
            {
                slave.Flags |= InstanceFlags.ReconfSent;
                slave.SlaveReconfSentTime = Now;
                EventAt(LogNotice, "+slave-reconf-sent", slave);
                inProgress++;
            }
        }
        FailoverDetectEnd(master);
    }

    /// <summary>sentinelFailoverSwitchToPromotedSlave: +switch-master, and the master becomes the promoted replica's address.</summary>
    void FailoverSwitchToPromotedSlave(SentinelInstance master)
    {
        var r = master.PromotedSlave ?? master;
        Event(LogWarning, "+switch-master", master, $"{master.Name} {Announce(master.Addr)} {master.Addr.Port} {Announce(r.Addr)} {r.Addr.Port}");
        ResetMasterAndChangeAddress(master, r.Addr.Hostname, r.Addr.Port);
    }

    /// <summary>sentinelAbortFailover: only before the promotion is acknowledged.</summary>
    void AbortFailover(SentinelInstance ri)
    {
        ri.Flags &= ~(InstanceFlags.FailoverInProgress | InstanceFlags.ForceFailover);
        ri.FailoverState = FailoverState.None;
        ri.FailoverStateChangeTime = Now;
        if (ri.PromotedSlave != null)
        {
            ri.PromotedSlave.Flags &= ~InstanceFlags.Promoted;
            ri.PromotedSlave = null;
        }
    }

    /// <summary>sentinelCallClientReconfScript: "&lt;master&gt; leader|observer start &lt;from-ip&gt; &lt;from-port&gt; &lt;to-ip&gt; &lt;to-port&gt;".</summary>
    void CallClientReconfScript(SentinelInstance master, bool leader, string state, SentinelAddr from, SentinelAddr to)
    {
        if (master.ClientReconfigScript == null) return;
        Scripts.Schedule(master.ClientReconfigScript, master.Name, leader ? "leader" : "observer", state,
            Announce(from), from.Port.ToString(CultureInfo.InvariantCulture), Announce(to), to.Port.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>sentinelIsQuorumReachable for CKQUORUM: flags 1 = no quorum, 2 = no majority to authorize.</summary>
    public int IsQuorumReachable(SentinelInstance master, out int usable)
    {
        usable = 1 + master.Sentinels.Values.Count(ri => !ri.Has(InstanceFlags.SDown | InstanceFlags.ODown));
        int voters = master.Sentinels.Count + 1;
        int result = 0;
        if (usable < master.Quorum) result |= 1;
        if (usable < voters / 2 + 1) result |= 2;
        return result;
    }
}
