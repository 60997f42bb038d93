// SHUTDOWN on a primary whose replica has not acknowledged everything waits for it (up to
// shutdown-timeout), with writes paused and shutdown_in_milliseconds in INFO, so the last write
// is not lost; SHUTDOWN ABORT cancels the wait and the waiting SHUTDOWN gets Redis's error;
// SHUTDOWN NOW does not wait. The replica is made to lag by CLIENT PAUSE WRITE, which holds its
// master client's writes.
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Replication;

public class ShutdownWaitsForReplicasTests
{
    [Fact]
    public void SHUTDOWN_waits_for_a_lagging_replica_to_catch_up()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cinnabar-shutdown-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        using var primary = new CinnabarProcess(dir, "--repl-diskless-sync-delay", "0", "--shutdown-timeout", "30");
        using var replicaFx = new ServerFixture();
        using var r = replicaFx.Connect();
        using var p = primary.Connect();
        r.Call("REPLICAOF", "127.0.0.1", primary.Port.ToString());
        WaitForSync(r);
        p.Call("SET", "k", "1");
        WaitForOffsets(p, r);
        WaitFor(() => Info(p, "slave0").Contains($"offset={Info(p, "master_repl_offset")},"), "the replica's ACK");

        r.Call("CLIENT", "PAUSE", "20000", "WRITE"); // the master client's next write waits
        p.Call("INCR", "k");
        p.Send("SHUTDOWN");
        using var observer = primary.Connect();
        WaitFor(() => long.TryParse(Info(observer, "shutdown_in_milliseconds", "server"), out long ms) && ms > 0, "the primary to wait for its replica");
        Assert.True(!primary.HasExited);
        r.Call("CLIENT", "UNPAUSE");
        Assert.Equal(0, primary.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Equal("\"2\"", r.CallS("GET", "k")); // the last write reached the replica before the primary left
        WaitFor(() => primary.Log.Contains("Waiting for replicas before shutting down.") && primary.Log.Contains("ready to exit, bye bye"), "the shutdown's log lines");
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void SHUTDOWN_ABORT_cancels_the_wait_and_NOW_does_not_wait()
    {
        using var primaryFx = new ServerFixture(cfg => cfg.Set("repl-diskless-sync-delay", "0", startup: true));
        using var replicaFx = new ServerFixture();
        using var r = replicaFx.Connect();
        using var p = primaryFx.Connect();
        Assert.Equal("-ERR No shutdown in progress.", p.CallS("SHUTDOWN", "ABORT"));
        r.Call("REPLICAOF", "127.0.0.1", primaryFx.Port.ToString());
        WaitForSync(r);
        r.Call("CLIENT", "PAUSE", "20000", "WRITE");
        p.Call("SET", "k", "1");
        using var shutdown = primaryFx.Connect();
        shutdown.Send("SHUTDOWN", "NOSAVE");
        WaitFor(() => Info(p, "shutdown_in_milliseconds", "server") != "", "the shutdown to wait");
        using var writer = primaryFx.Connect();
        writer.Send("SET", "during", "wait");
        Assert.Null(writer.TryRead(TimeSpan.FromMilliseconds(100))); // writes pause while it waits
        Assert.Equal("+OK", p.CallS("SHUTDOWN", "ABORT"));
        Assert.Equal("-ERR Errors trying to SHUTDOWN. Check logs.", shutdown.Read().ToString());
        Assert.Equal("+OK", writer.Read().ToString());
        Assert.Equal("", Info(p, "shutdown_in_milliseconds", "server"));
        r.Call("CLIENT", "UNPAUSE");
    }
}
