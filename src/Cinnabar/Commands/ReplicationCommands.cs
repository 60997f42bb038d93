// The replication commands (Redis's replication.c): SYNC, PSYNC and REPLCONF, which a replica
// sends its primary (Replication/ReplicationPrimary.cs does the work); REPLICAOF / SLAVEOF, which
// point this server at a primary or make it one again (Replication/ReplicationReplica.cs);
// FAILOVER (Replication/Failover.cs); ROLE; and WAIT, which blocks a client until enough
// replicas acknowledged its writes.
using Cinnabar.Networking;

namespace Cinnabar.Commands;

public static class ReplicationCommands
{
    [Command("sync")]
    static void Sync(Client c) => c.Server.Replication.Sync(c, psync: false);

    [Command("psync")]
    static void PSync(Client c) => c.Server.Replication.Sync(c, psync: true);

    [Command("replconf")]
    static void Replconf(Client c) => c.Server.Replication.Replconf(c);

    [Command("replicaof")]
    static void ReplicaOf(Client c) => ReplicaOfGeneric(c);

    [Command("slaveof")]
    static void SlaveOf(Client c) => ReplicaOfGeneric(c);

    /// <summary>replicaofCommand: NO ONE makes this server a primary; host port follows that primary.</summary>
    static void ReplicaOfGeneric(Client c)
    {
        var server = c.Server;
        var side = server.ReplicaSide;
        if (server.Cluster != null)
        {
            c.Reply.Error("REPLICAOF not allowed in cluster mode.");
            return;
        }
        if (server.Failover.State != Replication.FailoverState.None)
        {
            c.Reply.Error("REPLICAOF not allowed while failing over.");
            return;
        }
        if (c.Args.Is(1, "no") && c.Args.Is(2, "one"))
        {
            if (side.MasterHost != null)
            {
                side.UnsetMaster();
                server.Log.Notice($"MASTER MODE enabled (user request from '{ClientCommands.InfoString(c)}')");
            }
            c.Reply.Ok();
            return;
        }
        if (c.HasFlag(ClientFlags.Replica))
        {
            // Becoming a replica drops every replica, this client included.
            c.Reply.Error("Command is not valid when client is a replica.");
            return;
        }
        if (!Arguments.TryGetLongInRange(c, 2, 0, 65535, out long port, "Invalid master port")) return;
        string host = c.Args.ToStringAt(1);
        if (side.MasterHost != null && side.MasterHost.Equals(host, StringComparison.OrdinalIgnoreCase) && side.MasterPort == port)
        {
            server.Log.Notice("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            c.Reply.Status("OK Already connected to specified master");
            return;
        }
        side.SetMaster(host, (int)port);
        server.Log.Notice($"REPLICAOF {host}:{port} enabled (user request from '{ClientCommands.InfoString(c)}')");
        c.Reply.Ok();
    }

    [Command("failover")]
    static void Failover(Client c) => c.Server.Failover.Command(c);

    /// <summary>roleCommand: master, its offset and online replicas; or slave, the primary and the link's state.</summary>
    [Command("role")]
    static void Role(Client c)
    {
        var r = c.Reply;
        var side = c.Server.ReplicaSide;
        if (side.MasterHost == null)
        {
            var online = c.Server.Replication.Replicas.Where(x => x.ReplicaState!.Online).ToList();
            r.ArrayLen(3);
            r.Bulk("master"u8);
            r.Integer(c.Server.Replication.MasterReplOffset);
            r.ArrayLen(online.Count);
            foreach (var replica in online)
            {
                var st = replica.ReplicaState!;
                r.ArrayLen(3);
                r.Bulk(st.AnnouncedIp ?? Replication.ReplicationPrimary.HostOf(replica.RemoteAddress));
                r.BulkLong(st.ListeningPort);
                r.BulkLong(st.AckOffset);
            }
            return;
        }
        r.ArrayLen(5);
        r.Bulk("slave"u8);
        r.Bulk(side.MasterHost);
        r.Integer(side.MasterPort);
        r.Bulk(side.RoleStateName);
        r.Integer(side.RoleOffset);
    }

    /// <summary>
    /// waitCommand: the number of replicas that acknowledged this client's last write, once at
    /// least numreplicas did or the timeout (ms, 0 = forever) passed; replicas are asked for an ACK.
    /// </summary>
    [Command("wait")]
    static void Wait(Client c)
    {
        var server = c.Server;
        if (server.IsReplica)
        {
            c.Reply.Error("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
            return;
        }
        if (!Arguments.TryGetLong(c, 1, out long numReplicas)) return;
        if (!Arguments.TryGetTimeoutMs(c, 2, out long deadlineMs)) return;
        long offset = c.WriteOffset;
        int acks = server.Replication.CountAcksByOffset(offset);
        if (acks >= numReplicas || Keyspace.BlockingKeys.DenyBlocking(c))
        {
            c.Reply.Integer(acks);
            return;
        }
        server.Blocking.BlockForReplicas(c, offset, numReplicas, deadlineMs);
        server.Replication.RequestAckFromReplicas();
    }
}
