// What a cluster node refuses because a cluster has database 0 only (SELECT, MOVE, SWAPDB, COPY
// to another db) or because the bus owns the topology (REPLICAOF), and DEBUG CLUSTERLINK's
// argument errors, with redis-server 7.0.15's exact texts (taken from a cluster-enabled
// redis-server); COPY within db 0 still works.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Cluster;

public class ClusterModeCommandTests(SingleNodeCluster cluster) : IClassFixture<SingleNodeCluster>
{
    [Fact]
    public void Commands_that_need_another_database_are_refused()
    {
        using var c = cluster.Connect();
        c.Call("SET", "a", "1");
        Assert.Equal("-ERR SELECT is not allowed in cluster mode", c.CallS("SELECT", "1"));
        Assert.Equal("+OK", c.CallS("SELECT", "0"));
        Assert.Equal("-ERR MOVE is not allowed in cluster mode", c.CallS("MOVE", "a", "1"));
        Assert.Equal("-ERR MOVE is not allowed in cluster mode", c.CallS("MOVE", "a", "0"));
        Assert.Equal("-ERR SWAPDB is not allowed in cluster mode", c.CallS("SWAPDB", "0", "1"));
        Assert.Equal("-ERR SWAPDB is not allowed in cluster mode", c.CallS("SWAPDB", "0", "0"));
        Assert.Equal("-ERR Copying to another database is not allowed in cluster mode", c.CallS("COPY", "a", "{a}b", "DB", "1"));
        Assert.Equal(":1", c.CallS("COPY", "a", "{a}b", "DB", "0"));
        Assert.Equal(":1", c.CallS("COPY", "a", "{a}c"));
        Assert.Equal("\"1\"", c.CallS("GET", "{a}c"));
        Assert.Equal("-ERR REPLICAOF not allowed in cluster mode.", c.CallS("REPLICAOF", "127.0.0.1", "1"));
    }

    [Fact]
    public void DEBUG_CLUSTERLINK_KILL_checks_its_node_and_direction()
    {
        using var c = cluster.Connect();
        string myself = c.Call("CLUSTER", "MYID").Text!;
        Assert.Equal("-ERR Unknown node abc", c.CallS("DEBUG", "CLUSTERLINK", "KILL", "to", "abc"));
        Assert.Equal("-ERR Unknown direction sideways", c.CallS("DEBUG", "CLUSTERLINK", "KILL", "sideways", myself));
        // Myself has no links: nothing to kill (redis-server 7.0.15 crashes here).
        Assert.Equal("+OK", c.CallS("DEBUG", "CLUSTERLINK", "KILL", "all", myself));
        Assert.Equal("+PONG", c.CallS("PING"));
    }
}
