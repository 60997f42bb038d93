// A restart does not cost a full sync: the RDB saved at shutdown records the replication id and
// offset (repl-id, repl-offset, repl-stream-db), so a restarted replica asks for a partial
// resync from where it was, and a restarted primary keeps its old history as the secondary id
// so its replicas continue with +CONTINUE. The restarted server is a real cinnabar-server
// process in a temp dir, ended by its pid.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Replication;

public class RestartPartialSyncTests
{
    static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "cinnabar-restart-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Fact]
    public void A_restarted_replica_continues_with_a_partial_resync_from_its_RDB()
    {
        using var primaryFx = new ServerFixture(cfg => cfg.Set("repl-diskless-sync-delay", "0", startup: true));
        using var p = primaryFx.Connect();
        PopulateEveryType(p);
        string dir = TempDir();
        int port = CinnabarProcess.FreePort();
        string[] options = ["--replicaof", "127.0.0.1", primaryFx.Port.ToString()];
        using (var replica = new CinnabarProcess(dir, port, options))
        using (var r = replica.Connect())
        {
            WaitForSync(r);
            WriteAfterSync(p, "before-restart");
            WaitForOffsets(p, r);
            r.Send("SHUTDOWN", "SAVE");
            Assert.Equal(0, replica.WaitForExit(TimeSpan.FromSeconds(20)));
        }
        WriteAfterSync(p, "while-down");
        using (var replica = new CinnabarProcess(dir, port, options))
        using (var r = replica.Connect())
        {
            WaitForSync(r);
            WaitForOffsets(p, r);
            Assert.Equal(Digest(p), Digest(r));
            // The process's output is read asynchronously: the line may trail the sync a little.
            WaitFor(() => replica.Log.Contains("Trying a partial resynchronization"), "the replica's PSYNC log line");
        }
        Assert.Equal("1", Info(p, "sync_full", "stats"));
        Assert.Equal("1", Info(p, "sync_partial_ok", "stats"));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void A_restarted_primary_lets_its_replica_continue_under_a_new_id()
    {
        string dir = TempDir();
        int port = CinnabarProcess.FreePort();
        using var replicaFx = new ServerFixture();
        using var r = replicaFx.Connect();
        string oldId;
        using (var primary = new CinnabarProcess(dir, port, "--repl-diskless-sync-delay", "0"))
        using (var p = primary.Connect())
        {
            PopulateEveryType(p);
            r.Call("REPLICAOF", "127.0.0.1", port.ToString());
            WaitForSync(r);
            WriteAfterSync(p, "before-restart");
            WaitForOffsets(p, r);
            oldId = Info(p, "master_replid");
            p.Send("SHUTDOWN", "SAVE");
            Assert.Equal(0, primary.WaitForExit(TimeSpan.FromSeconds(20)));
        }
        using (var primary = new CinnabarProcess(dir, port, "--repl-diskless-sync-delay", "0"))
        using (var p = primary.Connect())
        {
            Assert.Equal(oldId, Info(p, "master_replid2"));
            WaitForSync(r);
            WriteAfterSync(p, "after-restart");
            WaitForOffsets(p, r);
            Assert.Equal(Digest(p), Digest(r));
            Assert.Equal("0", Info(p, "sync_full", "stats"));
            Assert.Equal("1", Info(p, "sync_partial_ok", "stats"));
            Assert.Equal(Info(p, "master_replid"), Info(r, "master_replid"));
        }
        r.Call("REPLICAOF", "NO", "ONE");
        Directory.Delete(dir, recursive: true);
    }
}
