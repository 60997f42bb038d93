// A replica's diskless load (repl-diskless-load swapdb and on-empty-db), Cinnabar following
// Cinnabar: the load begins with the primary's "$" line (INFO loading:1, -LOADING), swapdb of
// another history keeps the old dataset untouched when the transfer is cut, swapdb of the same
// history serves the old keys and functions meanwhile (async_loading:1, only no-async-loading
// commands and DENY_LOADING configs refused), and a completed swapdb load exposes the new
// dataset and functions. The primary's rdb-key-save-delay holds the transfer open.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Replication;

public class DisklessLoadTests
{
    static ServerFixture Primary() => new(cfg =>
    {
        cfg.Set("repl-diskless-sync", "yes", startup: true);
        cfg.Set("repl-diskless-sync-delay", "0", startup: true);
        cfg.Set("rdbcompression", "no", startup: true);
    });

    static ServerFixture Replica(string disklessLoad) => new(cfg => cfg.Set("repl-diskless-load", disklessLoad, startup: true));

    const string Loading = "-LOADING Redis is loading the dataset in memory";

    [Fact]
    public void Swapdb_of_another_history_is_loading_and_keeps_the_old_dataset_when_the_transfer_is_cut()
    {
        using var primaryFx = Primary();
        using var replicaFx = Replica("swapdb");
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        r.Call("DEBUG", "POPULATE", "200", "slave", "10");
        r.Call("SET", "mykey", "myvalue");
        p.Call("DEBUG", "POPULATE", "1000", "master", "1000");
        p.Call("CONFIG", "SET", "rdb-key-save-delay", "5000"); // 5 s of transfer
        r.Call("REPLICAOF", "127.0.0.1", primaryFx.Port.ToString());
        try
        {
            WaitFor(() => Info(r, "loading", "persistence") == "1", "the replica to be loading");
            Assert.Equal("0", Info(r, "async_loading", "persistence"));
            Assert.Equal(Loading, r.CallS("GET", "mykey"));
            p.Call("CONFIG", "SET", "repl-diskless-sync-delay", "5"); // no second sync at once
            Assert.Equal(":1", p.CallS("CLIENT", "KILL", "TYPE", "replica"));
            WaitFor(() => Info(r, "loading", "persistence") == "0", "the cut load to end");
            Assert.Equal("\"myvalue\"", r.CallS("GET", "mykey"));
            Assert.Equal(":201", r.CallS("DBSIZE"));
        }
        finally
        {
            p.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }

    /// <summary>A replica that follows the primary (same history) and then holds keys and a function of its own.</summary>
    static void FollowThenDiverge(RespClient p, RespClient r, int primaryPort)
    {
        r.Call("CONFIG", "SET", "replica-read-only", "no");
        r.Call("REPLICAOF", "127.0.0.1", primaryPort.ToString());
        WaitForSync(r);
        r.Call("DEBUG", "POPULATE", "500", "slave", "10");
        r.Call("SET", "mykey", "myvalue");
        r.Call("FUNCTION", "LOAD", "#!lua name=test\nredis.register_function('test', function() return 'hello1' end)");
        p.Call("DEBUG", "POPULATE", "500", "master", "1000");
        p.Call("FUNCTION", "LOAD", "#!lua name=test\nredis.register_function('test', function() return 'hello2' end)");
        // A backlog too small for what follows: the replica's next sync is a full one, of the same history.
        p.Call("CONFIG", "SET", "repl-backlog-size", "16384");
        p.Call("MULTI");
        p.Call("CLIENT", "KILL", "TYPE", "replica");
        for (int i = 0; i < 10; i++) p.Call("SET", "filler:" + i, new string('A', 16384));
        p.Call("EXEC");
    }

    [Fact]
    public void Swapdb_of_the_same_history_serves_the_old_dataset_while_loading_and_keeps_it_when_cut()
    {
        using var primaryFx = Primary();
        using var replicaFx = Replica("swapdb");
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        p.Call("CONFIG", "SET", "rdb-key-save-delay", "10000"); // 10 ms a key: the transfer outlasts the test
        try
        {
            FollowThenDiverge(p, r, primaryFx.Port);
            WaitFor(() => Info(r, "async_loading", "persistence") == "1", "the replica to be async loading");
            Assert.Equal("0", Info(r, "loading", "persistence"));
            Assert.Equal("\"myvalue\"", r.CallS("GET", "mykey"));
            Assert.Equal("\"hello1\"", r.CallS("FCALL", "test", "0"));
            Assert.Equal(":501", r.CallS("DBSIZE"));
            Assert.Equal(Loading, r.CallS("CONFIG", "SET", "appendonly", "no"));
            Assert.Equal(Loading, r.CallS("REPLICAOF", "NO", "ONE"));

            p.Call("CONFIG", "SET", "repl-diskless-sync-delay", "5");
            p.Call("CLIENT", "KILL", "TYPE", "replica");
            WaitFor(() => Info(r, "async_loading", "persistence") == "0", "the cut load to end");
            Assert.Equal("\"myvalue\"", r.CallS("GET", "mykey"));
            Assert.Equal("\"hello1\"", r.CallS("FCALL", "test", "0"));
            Assert.Equal(":501", r.CallS("DBSIZE"));
        }
        finally
        {
            p.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }

    [Fact]
    public void A_completed_swapdb_load_exposes_the_new_dataset_and_functions()
    {
        using var primaryFx = Primary();
        using var replicaFx = Replica("swapdb");
        var log = new StringWriter();
        replicaFx.Server.Log.Console = TextWriter.Synchronized(log);
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        FollowThenDiverge(p, r, primaryFx.Port);
        try
        {
            WaitFor(() => Info(p, "sync_full", "stats") == "2" && Info(r, "master_link_status") == "up", "the second full sync to complete");
            WaitForOffsets(p, r);
            Assert.Equal("$nil", r.CallS("GET", "mykey"));
            Assert.Equal("\"hello2\"", r.CallS("FCALL", "test", "0"));
            Assert.Equal(":510", r.CallS("DBSIZE"));
            Assert.Equal(Digest(p), Digest(r));
            Assert.Contains("MASTER <-> REPLICA sync: Swapping active DB with loaded DB", log.ToString());
        }
        finally
        {
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }

    [Fact]
    public void On_empty_db_is_loading_from_the_first_byte_and_ends_identical()
    {
        using var primaryFx = Primary();
        using var replicaFx = Replica("on-empty-db");
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        p.Call("DEBUG", "POPULATE", "300", "master", "100");
        p.Call("CONFIG", "SET", "rdb-key-save-delay", "3000");
        r.Call("REPLICAOF", "127.0.0.1", primaryFx.Port.ToString());
        try
        {
            WaitFor(() => Info(r, "loading", "persistence") == "1", "the replica to be loading");
            Assert.Equal(Loading, r.CallS("GET", "master:1"));
            Assert.Equal("1", Info(r, "master_sync_in_progress"));
            p.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
            WaitForSync(r);
            WaitForOffsets(p, r);
            Assert.Equal("0", Info(r, "loading", "persistence"));
            Assert.Equal(Digest(p), Digest(r));
        }
        finally
        {
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }

    /// <summary>
    /// The replica parses the RDB as it comes off the socket (rioConnRead), so keys are loaded
    /// while the primary is still sending, and a transfer cut in the middle is a short read of
    /// the RDB, logged as Redis logs it.
    /// </summary>
    [Fact]
    public void A_diskless_load_parses_as_the_bytes_arrive_and_a_cut_is_a_short_read()
    {
        using var primaryFx = Primary();
        using var replicaFx = Replica("on-empty-db");
        var log = new StringWriter();
        replicaFx.Server.Log.Console = TextWriter.Synchronized(log);
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        p.Call("DEBUG", "POPULATE", "400", "master", "1000");
        p.Call("CONFIG", "SET", "rdb-key-save-delay", "10000"); // 10 ms a key: 4 s of transfer
        r.Call("REPLICAOF", "127.0.0.1", primaryFx.Port.ToString());
        try
        {
            WaitFor(() => Info(r, "loading", "persistence") == "1", "the replica to be loading");
            // The parser's position moves while the primary is still sending.
            WaitFor(() => long.Parse(Info(r, "loading_loaded_bytes", "persistence")) > 20_000, "keys to be parsed during the transfer");
            Assert.Equal("1", Info(r, "loading", "persistence"));
            Assert.True(long.Parse(Info(r, "master_sync_read_bytes")) >= long.Parse(Info(r, "loading_loaded_bytes", "persistence")));
            p.Call("CONFIG", "SET", "repl-diskless-sync-delay", "5");
            Assert.Equal(":1", p.CallS("CLIENT", "KILL", "TYPE", "replica"));
            WaitFor(() => Info(r, "loading", "persistence") == "0", "the cut load to end");
            string text = log.ToString();
            Assert.Contains("Short read or OOM loading DB. Unrecoverable error, aborting now.", text);
            Assert.Contains("Internal error in RDB reading", text);
            Assert.Contains("Failed trying to load the MASTER synchronization DB from socket, check server logs.", text);
            Assert.Equal(":0", r.CallS("DBSIZE")); // on-empty-db never serves half a dataset
            p.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
            p.Call("CONFIG", "SET", "repl-diskless-sync-delay", "0");
            WaitForSync(r);
            WaitForOffsets(p, r);
            Assert.Equal(Digest(p), Digest(r));
        }
        finally
        {
            p.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }
}
