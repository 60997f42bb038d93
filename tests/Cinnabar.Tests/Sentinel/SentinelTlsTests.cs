// A Sentinel with tls-replication yes, in process, monitoring a TLS primary and replica (also in
// process, replicating over TLS): its command and Pub/Sub links are TLS clients, it learns the
// replica at the TLS port the replica announced, and a SENTINEL FAILOVER promotes the replica
// and points the old primary at the new one's TLS port, where it syncs over TLS.
using Cinnabar.Server;
using Cinnabar.Tests.Support;
using Xunit;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Sentinel;

public sealed class SentinelTlsTests : IDisposable
{
    readonly TestCertificates _certs = new();
    readonly string _conf = Path.Combine(Path.GetTempPath(), "cinnabar-sentinel-tls-" + Guid.NewGuid().ToString("N") + ".conf");

    public void Dispose()
    {
        _certs.Dispose();
        File.Delete(_conf);
    }

    string TlsConfig(int tlsPort) =>
        $"tls-port {tlsPort}\ntls-cert-file {_certs.ServerCertFile}\ntls-key-file {_certs.ServerKeyFile}\n" +
        $"tls-client-cert-file {_certs.ClientCertFile}\ntls-client-key-file {_certs.ClientKeyFile}\n" +
        $"tls-ca-cert-file {_certs.CaFile}\ntls-replication yes\n";

    ServerFixture DataServer(int tlsPort) => new(cfg =>
    {
        ConfigLoader.LoadFromString(cfg, TlsConfig(tlsPort) + "repl-diskless-sync-delay 0\n", Path.GetTempPath());
    });

    /// <summary>An INFO replication field over a connection of its own.</summary>
    static string InfoOf(ServerFixture fx, string field)
    {
        using var c = fx.Connect();
        return Info(c, field);
    }

    static string Field(RespReply reply, string name)
    {
        var items = reply.Items!;
        for (int i = 0; i + 1 < items.Count; i += 2)
            if (items[i].Text == name) return items[i + 1].Text ?? "";
        return "";
    }

    [Fact]
    public void A_sentinel_monitors_and_fails_over_over_TLS()
    {
        int primaryTls = RedisServerFixture.FreePort(), replicaTls = RedisServerFixture.FreePort(), sentinelTls = RedisServerFixture.FreePort();
        using var primaryFx = DataServer(primaryTls);
        using var replicaFx = DataServer(replicaTls);
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        p.Call("SET", "k", "before");
        r.Call("REPLICAOF", "127.0.0.1", primaryTls.ToString());
        WaitForSync(r);
        // The replica announced its TLS port to the primary.
        Assert.Contains($"port={replicaTls},", Info(p, "slave0"));

        File.WriteAllText(_conf, TlsConfig(sentinelTls) +
            $"sentinel monitor mymaster 127.0.0.1 {primaryTls} 1\nsentinel down-after-milliseconds mymaster 1000\nsentinel failover-timeout mymaster 6000\n");
        using var sentinelFx = new ServerFixture(c =>
        {
            c.SentinelMode = true;
            c.ConfigFile = _conf;
            ConfigLoader.LoadFromString(c, File.ReadAllText(_conf), Path.GetTempPath());
        });
        using var s = sentinelFx.Connect();
        // INFO over the TLS command link found the replica; its own link to it is up too.
        WaitFor(() => Field(s.Call("SENTINEL", "MASTER", "mymaster"), "num-slaves") == "1", "the replica's discovery", TimeSpan.FromSeconds(30));
        WaitFor(() => s.Call("SENTINEL", "REPLICAS", "mymaster").Items is [var replica] && Field(replica, "flags") == "slave"
            && Field(replica, "port") == replicaTls.ToString() && Field(replica, "master-link-status") == "ok",
            "the sentinel's TLS link to the replica and its INFO", TimeSpan.FromSeconds(30));
        Assert.Equal("master", Field(s.Call("SENTINEL", "MASTER", "mymaster"), "flags"));

        Assert.Equal("+OK", s.CallS("SENTINEL", "FAILOVER", "mymaster"));
        WaitFor(() => s.Call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster").Items is [_, var port] && port.Text == replicaTls.ToString(),
            "the switch to the replica", TimeSpan.FromSeconds(30));
        // The Sentinel's reconfiguration kills normal clients (CLIENT KILL TYPE normal): new connections from here on.
        WaitFor(() => InfoOf(replicaFx, "role") == "master", "the replica's promotion", TimeSpan.FromSeconds(30));
        // The old primary follows the new one at its TLS port, over TLS.
        WaitFor(() => InfoOf(primaryFx, "master_port") == replicaTls.ToString() && InfoOf(primaryFx, "master_link_status") == "up",
            "the old primary to follow", TimeSpan.FromSeconds(30));
        using var newPrimary = replicaFx.Connect();
        using var oldPrimary = primaryFx.Connect();
        Assert.Equal("+OK", newPrimary.CallS("SET", "k", "after"));
        WaitForOffsets(newPrimary, oldPrimary);
        Assert.Equal("\"after\"", oldPrimary.CallS("GET", "k"));
    }
}
