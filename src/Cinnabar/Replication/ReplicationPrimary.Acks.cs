// What replicas acknowledge (Redis's replconf ACK handling, replicationCountAcksByOffset,
// processClientsWaitingReplicas, refreshGoodSlavesCount): WAIT's counts and GETACK requests,
// the clients blocked in WAIT answered in beforeSleep, and min-replicas-to-write's count of
// good replicas.
using Cinnabar.Networking;

namespace Cinnabar.Replication;

public sealed partial class ReplicationPrimary
{
    bool _acksArrived, _getAckRequested;

    static ReadOnlySpan<byte> GetAck => "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n"u8;

    /// <summary>replicationCountAcksByOffset: online replicas that acknowledged at least offset.</summary>
    public int CountAcksByOffset(long offset)
    {
        int n = 0;
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            if (st.Online && st.AckOffset >= offset) n++;
        }
        return n;
    }

    /// <summary>sendGetackToReplicas: REPLCONF GETACK into the stream now (a shutdown about to wait for acknowledgements).</summary>
    public void SendGetAckNow() => FeedInCurrentDb(GetAck);

    /// <summary>replicationRequestAckFromSlaves: REPLCONF GETACK goes to every replica in beforeSleep.</summary>
    public void RequestAckFromReplicas() => _getAckRequested = true;

    /// <summary>
    /// beforeSleep's part: the GETACK WAIT asked for goes into the stream, then the clients blocked
    /// in WAIT whose offset enough replicas acknowledged are answered (processClientsWaitingReplicas).
    /// </summary>
    public void BeforeSleep()
    {
        if (_getAckRequested && !_server.Pause.ClientsArePaused())
        {
            _getAckRequested = false;
            FeedInCurrentDb(GetAck);
        }
        if (!_acksArrived) return;
        _acksArrived = false;
        List<Client>? done = null;
        foreach (var c in _server.Blocking.WaitingForReplicas)
        {
            var st = c.BlockState!;
            int acks = CountAcksByOffset(st.ReplOffset);
            if (acks < st.NumReplicas) continue;
            c.Reply.Integer(acks);
            (done ??= new()).Add(c);
        }
        if (done != null) foreach (var c in done) _server.Blocking.UnblockWaitingClient(c);
    }

    /// <summary>refreshGoodSlavesCount: replicas within min-replicas-max-lag, for min-replicas-to-write.</summary>
    public void RefreshGoodReplicasCount()
    {
        long maxLag = _server.Config.MinReplicasMaxLag;
        if (_server.Config.MinReplicasToWrite == 0 || maxLag == 0) return;
        int good = 0;
        foreach (var r in _replicas)
        {
            var st = r.ReplicaState!;
            if (st.Online && (_server.NowMs - st.AckTimeMs) / 1000 <= maxLag) good++;
        }
        GoodReplicas = good;
    }

    /// <summary>checkGoodReplicasStatus: whether writes may run under min-replicas-to-write (a replica's always may).</summary>
    public bool EnoughGoodReplicas()
    {
        long min = _server.Config.MinReplicasToWrite;
        if (min == 0 || _server.Config.MinReplicasMaxLag == 0 || IsReplicaRole) return true;
        return GoodReplicas >= min;
    }
}
