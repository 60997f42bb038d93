// The commands a replica sends its primary (Redis's syncCommand and replconfCommand):
// SYNC and PSYNC start a full synchronization, REPLCONF carries the replica's listening port,
// capabilities and acknowledged offset. The work is in Replication/ReplicationPrimary.cs.
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
}
