// Replication over TLS (tls-replication yes): a replica connecting to its primary's tls-port
// with a client certificate, for Cinnabar following Cinnabar (diskless and disk-target full
// syncs, loaded to disk or from memory, megabytes of RDB and stream pushed through TLS, a killed
// link resumed with +CONTINUE, a replica that stops reading holding no more than one piece of
// ciphertext on the primary) and both ways with Debian's redis-server 7.0.15, whose TLS port
// and ports come from 7700-7799. A primary whose certificate the replica's CA does not trust
// never gets the link up. DEBUG DIGEST must agree after each step; redis-server is ended by pid.
using System.Net;
using System.Net.Sockets;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Replication;

public sealed class TlsReplicationTests : IDisposable
{
    readonly TestCertificates _certs = new();

    public void Dispose() => _certs.Dispose();

    /// <summary>A Cinnabar with a tls-port (returned), tls-replication, the test CA and the client certificate for its links.</summary>
    (ServerFixture Server, int TlsPort) Cinnabar(params (string Name, string Value)[] config)
    {
        int tlsPort = RedisServerFixture.FreePort();
        var fx = new ServerFixture(cfg =>
        {
            cfg.Set("repl-diskless-sync-delay", "0", startup: true);
            cfg.Set("tls-port", tlsPort.ToString(), startup: true);
            cfg.Set("tls-cert-file", _certs.ServerCertFile, startup: true);
            cfg.Set("tls-key-file", _certs.ServerKeyFile, startup: true);
            cfg.Set("tls-client-cert-file", _certs.ClientCertFile, startup: true);
            cfg.Set("tls-client-key-file", _certs.ClientKeyFile, startup: true);
            cfg.Set("tls-ca-cert-file", _certs.CaFile, startup: true);
            cfg.Set("tls-replication", "yes", startup: true);
            foreach (var (name, value) in config) cfg.Set(name, value, startup: true);
        });
        return (fx, tlsPort);
    }

    /// <summary>A free port in 7700-7799 (the range these oracle tests own), not the one given.</summary>
    static int OraclePort(int except = 0)
    {
        int start = Random.Shared.Next(100);
        for (int i = 0; i < 100; i++)
        {
            int port = 7700 + (start + i) % 100;
            if (port == except) continue;
            try
            {
                var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                l.Stop();
                return port;
            }
            catch (SocketException) { }
        }
        throw new InvalidOperationException("no free port in 7700-7799");
    }

    /// <summary>redis-server with a plain port (the fixture's checks) and a TLS port (returned) for replication.</summary>
    (RedisServerFixture Server, int TlsPort) RedisServer(params string[] config)
    {
        int port = OraclePort(), tlsPort = OraclePort(port);
        var redis = new RedisServerFixture(port, null, "--tls-port", tlsPort.ToString(), "--tls-cert-file", _certs.ServerCertFile,
            "--tls-key-file", _certs.ServerKeyFile, "--tls-client-cert-file", _certs.ClientCertFile, "--tls-client-key-file", _certs.ClientKeyFile,
            "--tls-ca-cert-file", _certs.CaFile, "--tls-replication", "yes", "--repl-diskless-sync-delay", "0");
        using var c = redis.Connect();
        for (int i = 0; i < config.Length; i += 2) c.Call("CONFIG", "SET", config[i], config[i + 1]);
        return (redis, tlsPort);
    }

    /// <summary>Values larger than a TLS record and than the socket buffers, in the RDB and in the stream.</summary>
    static void WriteBigValues(RespClient c, string prefix)
    {
        var value = new string('b', 1024 * 1024 + 3);
        for (int i = 0; i < 6; i++) c.Call("SET", $"{prefix}:big:{i}", value + i);
    }

    [Theory]
    [InlineData("yes", "disabled")] // $EOF from the snapshot's chunks, to a temp file
    [InlineData("no", "disabled")]  // $<size> from the saved file
    [InlineData("no", "swapdb")]
    [InlineData("yes", "swapdb")]   // loaded from the TLS connection as it arrives
    public void A_replica_over_TLS_syncs_streams_and_resumes_after_a_dropped_link(string disklessSync, string disklessLoad)
    {
        var (primaryFx, primaryTls) = Cinnabar(("repl-diskless-sync", disklessSync));
        using var _p = primaryFx;
        var (replicaFx, _) = Cinnabar(("repl-diskless-load", disklessLoad));
        using var _r = replicaFx;
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        PopulateEveryType(p);
        WriteBigValues(p, "rdb");
        Assert.Equal("+OK", r.CallS("REPLICAOF", "127.0.0.1", primaryTls.ToString()));
        WaitForSync(r);
        WriteBigValues(p, "stream");
        WaitForOffsets(p, r);
        Assert.Equal(Digest(p), Digest(r));
        AssertSyncsThenResumesAfterDroppedLink(p, r);
        Assert.Equal(":1", p.CallS("WAIT", "1", "5000"));
    }

    [Fact]
    public void A_replica_without_a_client_certificate_of_its_own_presents_the_server_one()
    {
        var (primaryFx, primaryTls) = Cinnabar();
        using var _p = primaryFx;
        var (replicaFx, _) = Cinnabar(("tls-client-cert-file", ""), ("tls-client-key-file", ""));
        using var _r = replicaFx;
        using var p = primaryFx.Connect();
        using var r = replicaFx.Connect();
        p.Call("SET", "k", "v");
        r.Call("REPLICAOF", "127.0.0.1", primaryTls.ToString());
        WaitForSync(r);
        Assert.Equal("\"v\"", r.CallS("GET", "k"));
    }

    [Fact]
    public void A_primary_the_replica_does_not_trust_never_gets_the_link_up()
    {
        var (primaryFx, primaryTls) = Cinnabar();
        using var _p = primaryFx;
        using var other = new TestCertificates(); // another CA: the primary's chain does not lead to it
        var (replicaFx, _) = Cinnabar(("tls-ca-cert-file", other.CaFile));
        using var _r = replicaFx;
        using var r = replicaFx.Connect();
        r.Call("REPLICAOF", "127.0.0.1", primaryTls.ToString());
        Thread.Sleep(1500); // a connect attempt and a cron retry
        Assert.Equal("down", Info(r, "master_link_status"));
        using var p = primaryFx.Connect();
        Assert.Equal("0", Info(p, "connected_slaves"));
    }

    [Theory]
    [InlineData("yes")] // the snapshot's chunks
    [InlineData("no")]  // the saved file
    public void A_TLS_replica_that_stops_reading_holds_at_most_one_piece_of_ciphertext_on_the_primary(string disklessSync)
    {
        var (primaryFx, primaryTls) = Cinnabar(("repl-diskless-sync", disklessSync), ("rdbcompression", "no"));
        using var _p = primaryFx;
        using var p = primaryFx.Connect();
        p.Call("DEBUG", "POPULATE", "300", "key", "100000"); // a 30 MB RDB: far more than the socket buffers take
        using var replica = new RespClient(primaryTls, _certs.ClientOptions(_certs.Client));
        Assert.Equal("+OK", replica.CallS("REPLCONF", "capa", "eof", "capa", "psync2"));
        replica.Send("PSYNC", "?", "-1"); // and nothing read from here on
        long Sent() => Commands.LoopAccess.Run(primaryFx.Server, () => primaryFx.Server.Clients.All.Where(c => c.ReplicaState != null).Sum(c => c.ReplicaState!.RdbSent));
        WaitFor(() => Sent() > 0, "the transfer to start");
        // Let the socket fill: the sent count stops moving.
        long last = -1;
        WaitFor(() =>
        {
            Thread.Sleep(300);
            long now = Sent();
            bool still = now == last;
            last = now;
            return still;
        }, "the transfer to stall on the full socket");
        Assert.True(last < 20_000_000, $"{last} bytes sent to a replica that reads nothing");
        int outbox = Commands.LoopAccess.Run(primaryFx.Server, () => primaryFx.Server.Clients.All.Where(c => c.ReplicaState != null).Sum(c => c.Tls!.PendingOutputBytes));
        Assert.InRange(outbox, 1, 64 * 1024 + 4 * 1024); // one 64 KiB piece (at most) and its records' overhead
        Assert.Equal("+PONG", p.CallS("PING"));
    }

    [Theory]
    [InlineData("yes", "disabled")]
    [InlineData("no", "disabled")]
    [InlineData("yes", "swapdb")]
    public void A_Cinnabar_replica_follows_redis_server_over_TLS(string disklessSync, string disklessLoad)
    {
        var (redis, redisTls) = RedisServer("repl-diskless-sync", disklessSync);
        using var _p = redis;
        var (replicaFx, _) = Cinnabar(("repl-diskless-load", disklessLoad));
        using var _r = replicaFx;
        using var p = redis.Connect();
        using var r = replicaFx.Connect();
        PopulateEveryType(p);
        WriteBigValues(p, "rdb");
        r.Call("REPLICAOF", "127.0.0.1", redisTls.ToString());
        try
        {
            WaitForSync(r);
            WriteBigValues(p, "stream");
            AssertSyncsThenResumesAfterDroppedLink(p, r);
            string offset = Info(p, "master_repl_offset");
            WaitFor(() => Info(p, "slave0").Contains($"offset={offset},"), "REPLCONF ACK of offset " + offset);
        }
        finally
        {
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("yes")]
    [InlineData("no")]
    public void A_redis_server_replica_follows_Cinnabar_over_TLS(string disklessSync)
    {
        var (primaryFx, primaryTls) = Cinnabar(("repl-diskless-sync", disklessSync));
        using var _p = primaryFx;
        var (redis, _) = RedisServer();
        using var _r = redis;
        using var p = primaryFx.Connect();
        using var r = redis.Connect();
        PopulateEveryType(p);
        WriteBigValues(p, "rdb");
        r.Call("REPLICAOF", "127.0.0.1", primaryTls.ToString());
        try
        {
            WaitForSync(r);
            WriteBigValues(p, "stream");
            AssertSyncsThenResumesAfterDroppedLink(p, r);
            Assert.Equal(":1", p.CallS("WAIT", "1", "5000"));
        }
        finally
        {
            r.Call("REPLICAOF", "NO", "ONE");
        }
    }
}
