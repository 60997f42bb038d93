// TLS on tls-port, served by the same event loop as plain connections: commands, big values
// and pipelines over TLS; tls-auth-clients yes/optional/no with trusted, untrusted and missing
// client certificates; plaintext and garbage on the TLS port dropped without harming the loop;
// certificates replaced with CONFIG SET (and a bad one refused); tls-ciphers in OpenSSL's
// syntax choosing the TLS 1.2 suites; a missing certificate stops
// the start-up; redis-cli --tls works against it.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public sealed class TlsTests : IDisposable
{
    readonly TestCertificates _certs = new();

    public void Dispose() => _certs.Dispose();

    static int FreePort() => RedisServerFixture.FreePort();

    (ServerFixture Server, int TlsPort) Start(string auth = "yes")
    {
        int port = FreePort();
        var fx = new ServerFixture(cfg =>
        {
            cfg.Set("tls-port", port.ToString(), startup: true);
            cfg.Set("tls-cert-file", _certs.ServerCertFile, startup: true);
            cfg.Set("tls-key-file", _certs.ServerKeyFile, startup: true);
            cfg.Set("tls-ca-cert-file", _certs.CaFile, startup: true);
            cfg.Set("tls-auth-clients", auth, startup: true);
        });
        return (fx, port);
    }

    RespClient Tls(int port, System.Security.Cryptography.X509Certificates.X509Certificate2? cert) => new(port, _certs.ClientOptions(cert));

    /// <summary>The handshake is refused, or the connection is closed at its first command.</summary>
    void AssertRefused(int port, System.Security.Cryptography.X509Certificates.X509Certificate2? cert)
    {
        try
        {
            using var c = Tls(port, cert);
            // TLS 1.3 reports a rejected client certificate after the client's handshake ends.
            var reply = c.Call("PING");
            Assert.Fail("the server answered " + reply);
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException or EndOfStreamException or InvalidDataException) { }
    }

    [Fact]
    public void Commands_big_values_and_pipelines_work_over_TLS()
    {
        var (fx, port) = Start();
        using var _ = fx;
        using var c = Tls(port, _certs.Client);
        Assert.Equal("+PONG", c.CallS("PING"));
        var big = new string('x', 3 * 1024 * 1024 + 17);
        Assert.Equal("+OK", c.CallS("SET", "big", big));
        Assert.Equal(big.Length, c.Call("GET", "big").Text!.Length);
        // A pipeline larger than one TLS record and than the query buffer's first read.
        var sb = new StringBuilder();
        for (int i = 0; i < 2000; i++) sb.Append(Encoding.ASCII.GetString(RespClient.Encode("INCR", "n")));
        c.SendRaw(sb.ToString());
        for (int i = 1; i <= 2000; i++) Assert.Equal(":" + i, c.Read().ToString());
        // The plain port serves the same dataset.
        using var plain = fx.Connect();
        Assert.Equal("\"2000\"", plain.CallS("GET", "n"));
    }

    [Fact]
    public void Pipelined_big_values_over_TLS_are_each_read_into_a_fresh_buffer()
    {
        // A big argument grows the client's own query buffer to end exactly where its command
        // ends; once that command runs the buffer is let go, while TLS still holds the next
        // commands' plaintext. The read after it must pick a buffer again (it used to throw, and
        // the connection, a replica's link to its primary among them, was dropped).
        var (fx, port) = Start();
        using var _ = fx;
        using var c = Tls(port, _certs.Client);
        var big = new string('v', 1024 * 1024 + 3);
        var pipeline = new MemoryStream();
        for (int i = 0; i < 6; i++) pipeline.Write(RespClient.Encode("SET", "big:" + i, big + i));
        pipeline.Write(RespClient.Encode("DBSIZE"));
        c.SendRaw(pipeline.ToArray());
        for (int i = 0; i < 6; i++) Assert.Equal("+OK", c.Read().ToString());
        Assert.Equal(":6", c.Read().ToString());
        Assert.Equal(big.Length + 1, c.Call("STRLEN", "big:5").Integer);
    }

    [Fact]
    public void Auth_clients_yes_requires_a_certificate_from_the_CA()
    {
        var (fx, port) = Start("yes");
        using var _ = fx;
        AssertRefused(port, null);
        AssertRefused(port, _certs.Rogue);
        using var c = Tls(port, _certs.Client);
        Assert.Equal("+PONG", c.CallS("PING"));
    }

    [Fact]
    public void Auth_clients_optional_accepts_no_certificate_but_not_an_untrusted_one()
    {
        var (fx, port) = Start("optional");
        using var _ = fx;
        using (var none = Tls(port, null)) Assert.Equal("+PONG", none.CallS("PING"));
        AssertRefused(port, _certs.Rogue);
        using var c = Tls(port, _certs.Client);
        Assert.Equal("+PONG", c.CallS("PING"));
    }

    [Fact]
    public void Auth_clients_no_needs_no_certificate()
    {
        var (fx, port) = Start("no");
        using var _ = fx;
        using var c = Tls(port, null);
        Assert.Equal("+PONG", c.CallS("PING"));
    }

    [Fact]
    public void Plaintext_and_garbage_on_the_TLS_port_are_dropped_and_the_loop_goes_on()
    {
        var (fx, port) = Start();
        using var _ = fx;
        using (var plain = new RespClient(port))
        {
            plain.Send("PING");
            Assert.True(plain.IsClosedByServer(), "a plaintext client on the TLS port must be dropped");
        }
        var rnd = new Random(7);
        for (int i = 0; i < 20; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(IPAddress.Loopback, port);
            var junk = new byte[rnd.Next(1, 4096)];
            rnd.NextBytes(junk);
            if (i % 2 == 0) junk[0] = 0x16; // looks like a handshake record
            s.Send(junk);
        }
        using var c = Tls(port, _certs.Client);
        Assert.Equal("+PONG", c.CallS("PING"));
        using var p = fx.Connect();
        Assert.Equal("+PONG", p.CallS("PING"));
    }

    [Fact]
    public void Config_set_tls_auth_clients_yes_without_a_CA_is_refused_and_rolled_back()
    {
        int port = FreePort();
        using var fx = new ServerFixture(cfg =>
        {
            cfg.Set("tls-port", port.ToString(), startup: true);
            cfg.Set("tls-cert-file", _certs.ServerCertFile, startup: true);
            cfg.Set("tls-key-file", _certs.ServerKeyFile, startup: true);
            cfg.Set("tls-auth-clients", "no", startup: true);
        });
        using var admin = fx.Connect();
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'tls-auth-clients') - Unable to update TLS configuration. Check server logs.",
            admin.CallS("CONFIG", "SET", "tls-auth-clients", "yes"));
        Assert.Equal("no", admin.Call("CONFIG", "GET", "tls-auth-clients").Items![1].Text);
        using var c = Tls(port, null);
        Assert.Equal("+PONG", c.CallS("PING"));
    }

    /// <summary>A TLS 1.2 client that offers only the given suite: PONG, or null when the handshake is refused.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    string? PingOfferingOnly(int port, System.Net.Security.TlsCipherSuite suite)
    {
        var options = _certs.ClientOptions(_certs.Client);
        options.EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12;
        options.CipherSuitesPolicy = new System.Net.Security.CipherSuitesPolicy([suite]);
        try
        {
            using var c = new RespClient(port, options);
            return c.CallS("PING");
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException) { return null; }
    }

    const System.Net.Security.TlsCipherSuite Aes128 = System.Net.Security.TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256;
    const System.Net.Security.TlsCipherSuite Aes256 = System.Net.Security.TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256;

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Tls_ciphers_in_openssl_syntax_choose_the_TLS_1_2_suites_and_a_list_of_none_is_refused()
    {
        // The cases of the suite's unit/tls "tls-ciphers behaves as expected".
        var (fx, port) = Start();
        using var _ = fx;
        using var admin = fx.Connect();
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "tls-ciphers", "DEFAULT:-AES128-SHA256"));
        Assert.Null(PingOfferingOnly(port, Aes128));
        Assert.Equal("+PONG", PingOfferingOnly(port, Aes256));
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "tls-ciphers", "!AES256-SHA256:ALL"));
        Assert.Null(PingOfferingOnly(port, Aes256));
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "tls-ciphers", "DEFAULT"));
        Assert.Equal("+PONG", PingOfferingOnly(port, Aes128));
        // A list that selects no cipher is refused; the one in use stays.
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'tls-ciphers') - Unable to update TLS configuration. Check server logs.",
            admin.CallS("CONFIG", "SET", "tls-ciphers", "NO-SUCH-CIPHER"));
        Assert.Equal("DEFAULT", admin.Call("CONFIG", "GET", "tls-ciphers").Items![1].Text);
        Assert.Equal("+PONG", PingOfferingOnly(port, Aes128));
        // Only TLS 1.3 suites configured: TLS 1.2 keeps its default ciphers.
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "tls-ciphers", "", "tls-ciphersuites", "TLS_AES_256_GCM_SHA384"));
        Assert.Equal("+PONG", PingOfferingOnly(port, Aes128));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Prefer_server_ciphers_no_lets_the_clients_order_win_and_yes_the_servers()
    {
        // unit/tls "tls-prefer-server-ciphers behaves as expected".
        var (fx, port) = Start();
        using var _ = fx;
        using var admin = fx.Connect();
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "tls-protocols", "TLSv1.2", "tls-ciphers", "AES128-SHA256:AES256-SHA256"));
        Assert.Equal(Aes256, Negotiated(port, Aes256, Aes128));
        Assert.Equal(Aes128, Negotiated(port, Aes128, Aes256));
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "tls-prefer-server-ciphers", "yes"));
        Assert.Equal(Aes128, Negotiated(port, Aes256, Aes128));
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "tls-prefer-server-ciphers", "no"));
        Assert.Equal(Aes256, Negotiated(port, Aes256, Aes128));
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    System.Net.Security.TlsCipherSuite Negotiated(int port, params System.Net.Security.TlsCipherSuite[] offered)
    {
        var options = _certs.ClientOptions(_certs.Client);
        options.EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12;
        options.CipherSuitesPolicy = new System.Net.Security.CipherSuitesPolicy(offered);
        using var tcp = new TcpClient("127.0.0.1", port);
        using var ssl = new System.Net.Security.SslStream(tcp.GetStream());
        ssl.AuthenticateAsClientAsync(options).WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        return ssl.NegotiatedCipherSuite;
    }

    [Fact]
    public void Config_set_replaces_the_certificate_for_new_connections_and_refuses_a_bad_one()
    {
        var (fx, port) = Start();
        using var _ = fx;
        using var admin = fx.Connect();
        using var before = Tls(port, _certs.Client);
        var (cert, key, _) = _certs.NewServerCertificate("CN=Server Two", 9);
        Assert.Equal("+OK", admin.CallS("CONFIG", "SET", "tls-cert-file", cert, "tls-key-file", key));
        string? subject = null;
        var options = _certs.ClientOptions(_certs.Client);
        var check = options.RemoteCertificateValidationCallback!;
        options.RemoteCertificateValidationCallback = (s, c, ch, e) =>
        {
            subject = c?.Subject;
            return check(s, c, ch, e);
        };
        using (var after = new RespClient(port, options)) Assert.Equal("+PONG", after.CallS("PING"));
        Assert.Equal("CN=Server Two", subject);
        Assert.Equal("-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - Unable to update TLS configuration. Check server logs.",
            admin.CallS("CONFIG", "SET", "tls-cert-file", Path.Combine(_certs.Dir, "missing.crt")));
        Assert.Equal(cert, admin.Call("CONFIG", "GET", "tls-cert-file").Items![1].Text);
        Assert.Equal("+PONG", before.CallS("PING")); // an established connection is untouched
    }

    [Fact]
    public void A_tls_port_without_a_certificate_stops_the_start_up()
    {
        var config = new global::Cinnabar.Server.ServerConfig { Port = 0, Bind = ["127.0.0.1"] };
        config.Set("tls-port", FreePort().ToString(), startup: true);
        using var server = new CinnabarServer(config);
        server.Log.Console = null;
        var e = Assert.Throws<InvalidOperationException>(server.Start);
        Assert.Equal("Failed to configure TLS. Check logs for more info.", e.Message);
    }

    [RequiresToolsFact("redis-cli")]
    public void Redis_cli_speaks_to_it_over_TLS()
    {
        var (fx, port) = Start();
        using var _ = fx;
        var result = ToolProcess.Run("redis-cli", ["-p", port.ToString(), "--tls", "--cacert", _certs.CaFile,
            "--cert", _certs.ClientCertFile, "--key", _certs.ClientKeyFile, "SET", "k", "over-tls"]);
        Assert.Equal("OK", result.Stdout.Trim());
        using var c = fx.Connect();
        Assert.Equal("\"over-tls\"", c.CallS("GET", "k"));
    }
}
