// A full sync from the forkless snapshot: the RDB a replica receives is the dataset at the
// moment its snapshot began, and the writes made while the snapshot ran follow the RDB in the
// stream, so the replica ends up with exactly the primary's data; a second replica that asks
// meanwhile shares the snapshot; one that asks during a BGSAVE waits for the next snapshot. A
// disk-target sync is a real BGSAVE of dbfilename whose file the replicas get.
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Replication;

public class FullSyncSnapshotTests
{
    static string Command(RespReply r) => string.Join(" ", r.Items!.Select(i => i.Text));

    static string Info(RespClient c, string section, string field) =>
        c.Call("INFO", section).Text!.Split("\r\n").First(l => l.StartsWith(field + ":"))[(field.Length + 1)..];

    [Fact]
    public void Writes_made_during_the_snapshot_follow_the_rdb_in_the_stream()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("save", "", startup: true));
        using var writer = fx.Connect();
        writer.Call("DEBUG", "POPULATE", "500");
        writer.Call("CONFIG", "SET", "rdb-key-save-delay", "1000"); // about 0.5 s of walk
        using var replica = fx.Connect();
        replica.Send("PSYNC", "?", "-1");
        var fullResync = replica.Read().Text!.Split(' ');
        Assert.Equal("FULLRESYNC", fullResync[0]);
        Assert.Equal(Info(writer, "replication", "master_repl_offset"), fullResync[2]); // the snapshot's point in the stream
        Assert.Equal("1", Info(writer, "persistence", "rdb_bgsave_in_progress"));
        Assert.Contains("state=wait_bgsave", writer.CallS("INFO", "replication"));
        writer.Call("SET", "key:1", "changed-during-sync");
        writer.Call("DEL", "key:2");
        writer.Call("SET", "new", "x");
        Assert.Equal("1", Info(writer, "persistence", "rdb_bgsave_in_progress")); // still running: the writes were mid-snapshot

        var rdb = Encoding.Latin1.GetString(replica.ReadRdbTransfer());
        Assert.Contains("value:1", rdb); // key:1 as it was when the snapshot began
        Assert.Contains("key:2", rdb);
        Assert.DoesNotContain("changed-during-sync", rdb);
        Assert.DoesNotContain("new", rdb);
        Assert.Equal("SELECT 0", Command(replica.Read()));
        Assert.Equal("SET key:1 changed-during-sync", Command(replica.Read()));
        Assert.Equal("DEL key:2", Command(replica.Read()));
        Assert.Equal("SET new x", Command(replica.Read()));
        writer.Call("SET", "after", "1");
        Assert.Equal("SET after 1", Command(replica.Read()));
        Assert.Contains("state=online", writer.CallS("INFO", "replication"));
    }

    [Fact]
    public void A_replica_asking_while_the_snapshot_runs_shares_it()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("save", "", startup: true));
        using var writer = fx.Connect();
        writer.Call("DEBUG", "POPULATE", "300");
        writer.Call("CONFIG", "SET", "rdb-key-save-delay", "1000");
        using var first = fx.Connect();
        first.Send("PSYNC", "?", "-1");
        var a = first.Read().Text!;
        writer.Call("SET", "between", "1");
        using var second = fx.Connect();
        second.Send("PSYNC", "?", "-1");
        var b = second.Read().Text!;
        Assert.Equal(a, b); // same snapshot, same replication offset
        foreach (var r in new[] { first, second })
        {
            var rdb = Encoding.Latin1.GetString(r.ReadRdbTransfer());
            Assert.DoesNotContain("between", rdb);
            Assert.Equal("SELECT 0", Command(r.Read()));
            Assert.Equal("SET between 1", Command(r.Read()));
        }
    }

    [Fact]
    public void A_replica_asking_during_a_BGSAVE_waits_for_the_next_snapshot()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("save", "", startup: true));
        using var writer = fx.Connect();
        writer.Call("DEBUG", "POPULATE", "200");
        writer.Call("CONFIG", "SET", "rdb-key-save-delay", "1000");
        Assert.Equal("+Background saving started", writer.CallS("BGSAVE"));
        using var replica = fx.Connect();
        replica.Send("PSYNC", "?", "-1");
        Assert.Null(replica.TryRead(TimeSpan.FromMilliseconds(100))); // +FULLRESYNC waits for the snapshot to start
        writer.Call("SET", "during-bgsave", "1"); // before the replica's snapshot: in its RDB
        writer.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
        var fullResync = replica.ReadSkippingKeepalives(); // newlines keep the waiting replica's link alive
        Assert.StartsWith("FULLRESYNC", fullResync.Text);
        var rdb = Encoding.Latin1.GetString(replica.ReadRdbTransfer());
        Assert.Contains("during-bgsave", rdb);
        writer.Call("SET", "after", "1");
        Assert.Equal("SELECT 0", Command(replica.Read()));
        Assert.Equal("SET after 1", Command(replica.Read()));
    }

    [Fact]
    public void FLUSHALL_during_the_snapshot_drops_the_waiting_replica()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("save", "", startup: true));
        using var writer = fx.Connect();
        writer.Call("DEBUG", "POPULATE", "500");
        writer.Call("CONFIG", "SET", "rdb-key-save-delay", "1000");
        using var replica = fx.Connect();
        replica.Send("SYNC");
        Thread.Sleep(50);
        writer.Call("FLUSHALL");
        Assert.True(replica.IsClosedByServer());
        Assert.Equal("0", Info(writer, "persistence", "rdb_bgsave_in_progress"));
        Assert.Equal("0", Info(writer, "replication", "connected_slaves"));
    }

    /// <summary>
    /// A streaming (diskless) full sync goes at its slowest replica's pace, as Redis's rdb child
    /// waits on its pipe: a replica that reads nothing holds the snapshot back (the transfer is
    /// never produced whole into memory), and after repl-timeout it is dropped as Redis drops it,
    /// which ends the snapshot that served nobody else.
    /// </summary>
    [Fact]
    public void A_replica_that_stops_reading_holds_a_streaming_sync_back_and_times_out()
    {
        using var fx = new ServerFixture(cfg =>
        {
            cfg.Set("save", "", startup: true);
            cfg.Set("repl-diskless-sync", "yes", startup: true);
            cfg.Set("repl-diskless-sync-delay", "0", startup: true);
            cfg.Set("rdbcompression", "no", startup: true);
        });
        var log = new StringWriter();
        fx.Server.Log.Console = TextWriter.Synchronized(log);
        using var c = fx.Connect();
        c.Call("DEBUG", "POPULATE", "4000", "key", "10000"); // 40 MB of RDB, ten times the lag allowed
        using var replica = fx.Connect();
        replica.Socket.ReceiveBufferSize = 64 * 1024;
        replica.Call("REPLCONF", "capa", "eof");
        replica.Send("PSYNC", "?", "-1");
        Assert.StartsWith("FULLRESYNC", replica.Read().Text!);
        Thread.Sleep(1500); // far longer than the walk of 40 MB takes unhindered
        Assert.Equal("1", Info(c, "persistence", "rdb_bgsave_in_progress"));
        Assert.Contains("state=wait_bgsave", c.CallS("INFO", "replication"));
        c.Call("CONFIG", "SET", "repl-timeout", "1");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (Info(c, "persistence", "rdb_bgsave_in_progress") != "0" && sw.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(50);
        Assert.Equal("0", Info(c, "persistence", "rdb_bgsave_in_progress"));
        string text = log.ToString();
        Assert.Contains("Disconnecting timedout replica (full sync): ", text);
        Assert.Contains("Diskless rdb transfer, last replica dropped, killing fork child.", text);
        Assert.Equal("0", Info(c, "replication", "connected_slaves"));
    }

    static void WaitUntil(Func<bool> condition, int timeoutMs = 10_000)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!condition() && sw.ElapsedMilliseconds < timeoutMs) Thread.Sleep(20);
        Assert.True(condition(), "condition not reached in time");
    }

    /// <summary>
    /// With repl-diskless-sync no the snapshot is a BGSAVE to dbfilename, as Redis's disk-target
    /// sync: it counts as a save (lastsave, the dirty count) and the replica gets that file.
    /// </summary>
    [Fact]
    public void A_disk_target_sync_is_a_BGSAVE_of_dbfilename_and_sends_that_file()
    {
        using var fx = new ServerFixture(cfg =>
        {
            cfg.Set("save", "", startup: true);
            cfg.Set("repl-diskless-sync", "no", startup: true);
        });
        var log = new StringWriter();
        fx.Server.Log.Console = TextWriter.Synchronized(log);
        using var writer = fx.Connect();
        writer.Call("DEBUG", "POPULATE", "1000");
        writer.Call("SET", "before", "1");
        Assert.Equal("1", Info(writer, "persistence", "rdb_changes_since_last_save"));
        string path = Path.Combine(fx.Dir, "dump.rdb");
        Assert.False(File.Exists(path));
        using var replica = fx.Connect();
        replica.Call("REPLCONF", "capa", "eof"); // capable of diskless, but the primary's config decides
        replica.Send("PSYNC", "?", "-1");
        Assert.StartsWith("FULLRESYNC", replica.ReadSkippingKeepalives().Text);
        var rdb = replica.ReadRdbTransfer();
        Assert.Equal(File.ReadAllBytes(path), rdb);
        Assert.Equal("0", Info(writer, "persistence", "rdb_changes_since_last_save"));
        Assert.Equal("ok", Info(writer, "persistence", "rdb_last_bgsave_status"));
        writer.Call("SET", "after", "1");
        Assert.Equal("SELECT 0", Command(replica.Read()));
        Assert.Equal("SET after 1", Command(replica.Read()));
        string text = log.ToString();
        Assert.Contains("Starting BGSAVE for SYNC with target: disk", text);
        Assert.Contains("Background saving terminated with success", text);
        Assert.Contains("Synchronization with replica ", text);
        Assert.Contains("state=online", writer.CallS("INFO", "replication"));
    }

    /// <summary>
    /// freeClient's rule for a disk-target sync: when its last waiting replica leaves, the BGSAVE
    /// is killed unless save points make the file worth finishing.
    /// </summary>
    [Fact]
    public void A_disk_target_sync_left_by_its_replicas_is_killed_only_without_save_points()
    {
        using var fx = new ServerFixture(cfg =>
        {
            cfg.Set("save", "", startup: true);
            cfg.Set("repl-diskless-sync", "no", startup: true);
        });
        using var c = fx.Connect();
        c.Call("DEBUG", "POPULATE", "10");
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "1000000"); // a second per key
        var first = fx.Connect();
        var second = fx.Connect();
        first.Send("SYNC");
        second.Send("SYNC");
        WaitUntil(() => Info(c, "replication", "connected_slaves") == "2");
        Assert.Equal("1", Info(c, "persistence", "rdb_bgsave_in_progress"));
        Assert.Contains("state=wait_bgsave", c.CallS("INFO", "replication"));
        first.Dispose();
        WaitUntil(() => Info(c, "replication", "connected_slaves") == "1");
        Thread.Sleep(100);
        Assert.Equal("1", Info(c, "persistence", "rdb_bgsave_in_progress")); // the other one still waits for it
        second.Dispose();
        WaitUntil(() => Info(c, "persistence", "rdb_bgsave_in_progress") == "0");

        c.Call("CONFIG", "SET", "save", "900 1");
        using var third = fx.Connect();
        third.Send("SYNC");
        WaitUntil(() => Info(c, "persistence", "rdb_bgsave_in_progress") == "1");
        third.Dispose();
        WaitUntil(() => Info(c, "replication", "connected_slaves") == "0");
        Thread.Sleep(200);
        Assert.Equal("1", Info(c, "persistence", "rdb_bgsave_in_progress")); // with save points the save goes on
        c.Call("CONFIG", "SET", "rdb-key-save-delay", "0");
        WaitUntil(() => Info(c, "persistence", "rdb_bgsave_in_progress") == "0");
        Assert.True(File.Exists(Path.Combine(fx.Dir, "dump.rdb")));
    }

    /// <summary>rdb-del-sync-files: a persistence-less primary removes the file it saved only to feed its replicas.</summary>
    [Fact]
    public void Rdb_del_sync_files_removes_the_file_saved_for_replicas()
    {
        using var fx = new ServerFixture(cfg =>
        {
            cfg.Set("save", "", startup: true);
            cfg.Set("repl-diskless-sync", "no", startup: true);
            cfg.Set("rdb-del-sync-files", "yes", startup: true);
        });
        var log = new StringWriter();
        fx.Server.Log.Console = TextWriter.Synchronized(log);
        using var c = fx.Connect();
        c.Call("DEBUG", "POPULATE", "100");
        using var replica = fx.Connect();
        replica.Send("SYNC");
        Assert.NotEmpty(replica.ReadRdbTransfer());
        string path = Path.Combine(fx.Dir, "dump.rdb");
        WaitUntil(() => !File.Exists(path), 5000); // replicationCron, once a second
        Assert.Contains("Removing the RDB file used to feed replicas in a persistence-less instance", log.ToString());
    }
}
