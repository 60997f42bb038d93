// The replica side, Cinnabar following Cinnabar on loopback: REPLICAOF, the full sync of every
// type and encoding, the stream after it, a killed link that resumes with a partial resync
// (+CONTINUE, no second full sync), a chain of three with identical offsets, REPLICAOF NO ONE
// keeping the dataset under a new id with the old one as secondary (so the old primary can
// follow it with a partial resync), the read-only replica, replica-serve-stale-data, expiry left
// to the primary, WAIT, min-replicas-to-write and ROLE. DEBUG DIGEST is compared after each step.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Replication;

public class ReplicaTests
{
    static ServerFixture Server() => new(cfg => cfg.Set("repl-diskless-sync-delay", "0", startup: true));

    static void Follow(RespClient replica, ServerFixture primary)
    {
        Assert.Equal("+OK", replica.CallS("REPLICAOF", "127.0.0.1", primary.Port.ToString()));
        WaitForSync(replica);
    }

    [Fact]
    public void Full_sync_then_the_stream_then_a_partial_resync_after_the_link_drops()
    {
        using var primaryFx = Server();
        using var replicaFx = Server();
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        PopulateEveryType(p);
        r.Call("SET", "replica-only", "dropped by the full sync");
        Assert.Equal("+OK", r.CallS("REPLICAOF", "127.0.0.1", primaryFx.Port.ToString()));
        AssertSyncsThenResumesAfterDroppedLink(p, r);
        Assert.Equal(":0", r.CallS("EXISTS", "replica-only"));
        Assert.Equal("\"1\"", r.CallS("GET", "after:two"));
    }

    [Fact]
    public void A_chain_of_three_has_identical_offsets_and_data()
    {
        using var a = Server();
        using var b = Server();
        using var c = Server();
        using var ca = a.Connect();
        using var cb = b.Connect();
        using var cc = c.Connect();
        PopulateEveryType(ca);
        Follow(cb, a);
        Follow(cc, b);
        AssertChainIdentical(ca, cb, cc);
        Assert.Equal("1", Info(cb, "connected_slaves"));
        Assert.Equal("*[\"slave\", \"127.0.0.1\", :" + b.Port + ", \"connected\", :" + Info(cc, "slave_repl_offset") + "]", cc.CallS("ROLE"));
    }

    [Fact]
    public void REPLICAOF_NO_ONE_keeps_the_data_and_the_old_primary_follows_with_a_partial_resync()
    {
        using var a = Server();
        using var b = Server();
        using var ca = a.Connect();
        using var cb = b.Connect();
        PopulateEveryType(ca);
        Follow(cb, a);
        WriteAfterSync(ca, "before-failover");
        WaitForOffsets(ca, cb);
        string oldId = Info(ca, "master_replid");
        long offset = long.Parse(Info(ca, "master_repl_offset"));

        Assert.Equal("+OK", cb.CallS("REPLICAOF", "NO", "ONE"));
        Assert.Equal("master", Info(cb, "role"));
        Assert.NotEqual(oldId, Info(cb, "master_replid"));
        Assert.Equal(oldId, Info(cb, "master_replid2"));
        Assert.Equal((offset + 1).ToString(), Info(cb, "second_repl_offset"));
        Assert.Equal(Digest(ca), Digest(cb));
        Assert.Equal("+OK", cb.CallS("SET", "written-on-new-primary", "1"));

        // The old primary becomes a replica of the promoted one: its own history is the new
        // primary's secondary id, so it continues with the backlog instead of a full sync.
        Follow(ca, b);
        WaitForOffsets(cb, ca);
        Assert.Equal("1", Info(cb, "sync_partial_ok", "stats"));
        Assert.Equal("0", Info(cb, "sync_full", "stats"));
        Assert.Equal("\"1\"", ca.CallS("GET", "written-on-new-primary"));
        Assert.Equal(Digest(ca), Digest(cb));
    }

    [Fact]
    public void A_replica_is_read_only_and_refuses_stale_reads_when_asked_to()
    {
        using var primaryFx = Server();
        using var replicaFx = Server();
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        Follow(r, primaryFx);
        Assert.Equal("-READONLY You can't write against a read only replica.", r.CallS("SET", "k", "v"));
        Assert.Equal("*[\"slave\", \"127.0.0.1\", :" + primaryFx.Port + ", \"connected\", :" + Info(r, "slave_repl_offset") + "]", r.CallS("ROLE"));
        Assert.StartsWith("-ERR WAIT cannot be used with replica instances.", r.CallS("WAIT", "1", "0"));

        // The primary goes away: with replica-serve-stale-data no only stale-flagged commands run.
        r.Call("CONFIG", "SET", "replica-serve-stale-data", "no");
        primaryFx.Dispose();
        WaitFor(() => Info(r, "master_link_status") == "down", "the link to drop");
        Assert.Equal("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", r.CallS("GET", "k"));
        Assert.StartsWith("# Replication", r.CallS("INFO", "replication").Trim('"')); // INFO is flagged stale; PING is not
        Assert.StartsWith("-MASTERDOWN", r.CallS("PING"));
        Assert.Equal("+OK", r.CallS("CONFIG", "SET", "replica-serve-stale-data", "yes"));
        Assert.Equal("$nil", r.CallS("GET", "k"));
        Assert.Contains("slave", r.CallS("ROLE"));
    }

    [Fact]
    public void A_replica_hides_expired_keys_but_waits_for_the_primarys_DEL()
    {
        using var primaryFx = Server();
        using var replicaFx = Server();
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        p.Call("DEBUG", "SET-ACTIVE-EXPIRE", "0"); // only a lookup on the primary expires the key
        Follow(r, primaryFx);
        p.Call("SET", "short", "v", "PX", "100");
        WaitForOffsets(p, r);
        Thread.Sleep(300);
        Assert.Equal("$nil", r.CallS("GET", "short")); // logically expired: hidden
        Assert.Equal(":1", r.CallS("DBSIZE")); // but still there until the primary says so
        Assert.Equal("$nil", p.CallS("GET", "short")); // the primary expires it and propagates DEL
        WaitForOffsets(p, r);
        Assert.Equal(":0", r.CallS("DBSIZE"));
    }

    [Fact]
    public void WAIT_counts_acknowledging_replicas_and_min_replicas_to_write_guards_writes()
    {
        using var primaryFx = Server();
        using var replicaFx = Server();
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        Follow(r, primaryFx);
        p.Call("SET", "k", "v");
        Assert.Equal(":1", p.CallS("WAIT", "1", "5000")); // answered when the GETACK's ACK arrives
        Assert.Equal(":1", p.CallS("WAIT", "2", "200")); // times out with the replicas that did acknowledge
        using (var idle = primaryFx.Connect()) Assert.Equal(":1", idle.CallS("WAIT", "1", "0")); // wrote nothing: offset 0 is acknowledged by all
        Assert.StartsWith("*[\"master\", :", p.CallS("ROLE"));
        Assert.Contains($"[\"127.0.0.1\", \"{replicaFx.Port}\", ", p.CallS("ROLE"));

        p.Call("CONFIG", "SET", "min-replicas-to-write", "2");
        Assert.Equal("-NOREPLICAS Not enough good replicas to write.", p.CallS("SET", "k", "v2"));
        Assert.Equal("\"v\"", p.CallS("GET", "k"));
        Assert.Equal("1", Info(p, "min_slaves_good_slaves"));
        p.Call("CONFIG", "SET", "min-replicas-to-write", "1");
        Assert.Equal("+OK", p.CallS("SET", "k", "v3"));
    }

    [Fact]
    public void REPLICAOF_errors_and_the_already_connected_answer()
    {
        using var primaryFx = Server();
        using var replicaFx = Server();
        using var r = replicaFx.Connect();
        Assert.Equal("-ERR Invalid master port", r.CallS("REPLICAOF", "127.0.0.1", "70000"));
        Assert.Equal("-ERR Invalid master port", r.CallS("REPLICAOF", "127.0.0.1", "x"));
        Assert.Equal("+OK", r.CallS("REPLICAOF", "NO", "ONE")); // already a primary: nothing to do
        Follow(r, primaryFx);
        Assert.Equal("+OK Already connected to specified master", r.CallS("SLAVEOF", "127.0.0.1", primaryFx.Port.ToString()));
        using var p = primaryFx.Connect();
        Assert.Equal("-NOMASTERLINK Can't SYNC while not connected with my master", SyncToDisconnectedReplica());
    }

    [Fact]
    public void FAILOVER_hands_the_primary_role_to_a_synced_replica_with_a_partial_resync()
    {
        using var a = Server();
        using var b = Server();
        using var ca = a.Connect();
        using var cb = b.Connect();
        Assert.Equal("-ERR FAILOVER requires connected replicas.", ca.CallS("FAILOVER"));
        PopulateEveryType(ca);
        Follow(cb, a);
        WaitForOffsets(ca, cb);
        Assert.Equal("-ERR FAILOVER with force option requires both a timeout and target HOST and IP.", ca.CallS("FAILOVER", "FORCE"));
        Assert.Equal("-ERR FAILOVER target HOST and PORT is not a replica.", ca.CallS("FAILOVER", "TO", "127.0.0.1", "1"));
        Assert.Equal("-ERR No failover in progress.", ca.CallS("FAILOVER", "ABORT"));
        Assert.Equal("-ERR FAILOVER is not valid when server is a replica.", cb.CallS("FAILOVER"));

        Assert.Equal("+OK", ca.CallS("FAILOVER", "TO", "127.0.0.1", b.Port.ToString()));
        WaitFor(() => Info(ca, "role") == "slave" && Info(ca, "master_link_status") == "up", "the old primary to follow the new one");
        Assert.Equal("master", Info(cb, "role"));
        Assert.Equal("no-failover", Info(ca, "master_failover_state"));
        Assert.Equal("1", Info(cb, "sync_partial_ok", "stats")); // the old primary continued, no full sync
        Assert.Equal("-READONLY You can't write against a read only replica.", ca.CallS("SET", "k", "v"));
        Assert.Equal("+OK", cb.CallS("SET", "k", "v"));
        WaitForOffsets(cb, ca);
        Assert.Equal(Digest(cb), Digest(ca));
    }

    [Fact]
    public void A_FAILOVER_whose_replica_never_catches_up_times_out_and_writes_resume()
    {
        using var a = Server();
        using var b = Server();
        using var ca = a.Connect();
        using var cb = b.Connect();
        Follow(cb, a);
        WaitForOffsets(ca, cb);
        cb.Call("DEBUG", "SLEEP", "0");
        // The replica stops acknowledging: its ACKs wait behind a long DEBUG SLEEP.
        using var sleeper = b.Connect();
        sleeper.Send("DEBUG", "SLEEP", "1.5");
        Thread.Sleep(50);
        ca.Call("SET", "moves-the-offset", "1");
        Assert.Equal("+OK", ca.CallS("FAILOVER", "TIMEOUT", "300"));
        Assert.Equal("waiting-for-sync", Info(ca, "master_failover_state"));
        using var writer = a.Connect();
        writer.Send("SET", "paused", "1"); // writes wait while the failover waits
        Assert.Null(writer.TryRead(TimeSpan.FromMilliseconds(100)));
        WaitFor(() => Info(ca, "master_failover_state") == "no-failover", "the failover to time out");
        Assert.Equal("+OK", writer.Read().ToString());
        Assert.Equal("master", Info(ca, "role"));
        sleeper.Read();
    }

    [Fact]
    public void A_writable_replica_expires_the_TTLs_its_clients_set_and_rewrites_expired_keys()
    {
        using var primaryFx = Server();
        using var replicaFx = Server();
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        Follow(r, primaryFx);
        p.Call("DEBUG", "SET-ACTIVE-EXPIRE", "0");
        p.Call("SET", "from-primary", "5", "PX", "10");
        WaitForOffsets(p, r);
        r.Call("CONFIG", "SET", "replica-read-only", "no");
        Thread.Sleep(50);
        // A write on the replica deletes the logically expired key and creates it again.
        Assert.Equal(":6", r.CallS("INCRBY", "from-primary", "6"));
        Assert.Equal(":-1", r.CallS("TTL", "from-primary"));
        // A TTL set by a client on the replica: the replica itself expires the key.
        r.Call("SET", "local", "v", "PX", "100");
        WaitFor(() => r.CallS("DBSIZE") == ":1", "the replica to expire its own key");
        Assert.Equal(":1", r.CallS("EXISTS", "from-primary"));
    }

    [Theory]
    [InlineData("yes", "", false)]   // no persistence: the transfer file goes
    [InlineData("yes", "900 1", true)] // save points: it is this replica's dump.rdb
    [InlineData("no", "", true)]
    public void Rdb_del_sync_files_removes_the_received_rdb_only_without_persistence(string delSyncFiles, string save, bool kept)
    {
        using var primaryFx = Server();
        using var replicaFx = new ServerFixture(cfg =>
        {
            cfg.Set("rdb-del-sync-files", delSyncFiles, startup: true);
            cfg.Set("save", save, startup: true);
        });
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        p.Call("SET", "k", "v");
        Follow(r, primaryFx);
        Assert.Equal("\"v\"", r.CallS("GET", "k"));
        Assert.Equal(kept, File.Exists(Path.Combine(replicaFx.Dir, "dump.rdb")));
        r.Call("REPLICAOF", "NO", "ONE");
    }

    /// <summary>A replica whose primary is unreachable refuses to serve a sub-replica's SYNC.</summary>
    static string SyncToDisconnectedReplica()
    {
        using var replicaFx = Server();
        using var r = replicaFx.Connect();
        r.Call("REPLICAOF", "127.0.0.1", "1"); // nothing listens there
        using var sub = replicaFx.Connect();
        return sub.CallS("PSYNC", "?", "-1");
    }
}
