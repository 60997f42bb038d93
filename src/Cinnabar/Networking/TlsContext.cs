// The server's TLS configuration (tls.c's tlsConfigure): the certificate and key (PEM, the key
// optionally encrypted with tls-key-file-pass), the CA that client certificates must chain to
// (tls-ca-cert-file / tls-ca-cert-dir), tls-auth-clients yes|no|optional, tls-protocols,
// tls-ciphersuites and tls-ciphers (Networking/TlsCipherList.cs); cluster bus peers always need
// a certificate from the CA. For outgoing connections (a replica's link with tls-replication, a
// cluster bus link with tls-cluster): the client certificate (tls-client-cert-file /
// tls-client-key-file, else the server's) and the same CA for the peer's chain, with no
// hostname check, as OpenSSL's SSL_VERIFY_PEER in Redis. tls-session-caching maps to
// AllowTlsResume; with tls-prefer-server-ciphers no, ClientOrder (TlsClientOrder.cs) reorders
// the suites to the client's ClientHello. Built at start-up when tls-port,
// tls-replication or tls-cluster is set and again when a tls-* parameter changes with CONFIG
// SET; connections made afterwards use the new options.
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Cinnabar.Server;

namespace Cinnabar.Networking;

public sealed class TlsContext
{
    /// <summary>The options new TLS connections are accepted with (null until configured).</summary>
    public SslServerAuthenticationOptions? ServerOptions { get; private set; }

    /// <summary>
    /// The options a cluster bus connection is accepted with under tls-cluster: a certificate from
    /// the CA is required whatever tls-auth-clients says (TLS_CLIENT_AUTH_YES in clusterAcceptHandler).
    /// </summary>
    public SslServerAuthenticationOptions? PeerServerOptions { get; private set; }

    /// <summary>
    /// With tls-prefer-server-ciphers no, chooses per ClientHello the options that let the
    /// client's cipher order win for connections on tls-port (null: the server's order).
    /// </summary>
    public TlsClientOrder? ClientOrder { get; private set; }

    // What outgoing connections present and trust (null until configured).
    SslStreamCertificateContext? _clientCertificate;
    X509Certificate2Collection _clientTrust = [];
    SslProtocols _clientProtocols;
    CipherSuitesPolicy? _clientSuites;

    /// <summary>
    /// Options for one outgoing TLS connection (connTLSConnect), or null when TLS is not
    /// configured. The peer's certificate must chain to the configured CA; its name is not
    /// checked (Redis verifies the chain only), so a primary addressed by IP needs no SAN.
    /// </summary>
    public SslClientAuthenticationOptions? ClientOptions(string host)
    {
        if (_clientCertificate == null) return null;
        var trust = _clientTrust;
        var options = new SslClientAuthenticationOptions
        {
            // An IP is not sent as SNI; a name is, as OpenSSL clients send it when asked.
            TargetHost = host,
            ClientCertificateContext = _clientCertificate,
            EnabledSslProtocols = _clientProtocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            RemoteCertificateValidationCallback = (_, peer, _, _) => peer != null && ChainsTo(peer, trust),
        };
        if (_clientSuites != null && OperatingSystem.IsLinux()) options.CipherSuitesPolicy = _clientSuites;
        return options;
    }

    /// <summary>tlsConfigure: null on success, else what to log (the options in use stay as they were).</summary>
    public string? Configure(ServerConfig config)
    {
        string certFile = config.GetString("tls-cert-file"), keyFile = config.GetString("tls-key-file");
        if (certFile.Length == 0) return "No tls-cert-file configured!";
        if (keyFile.Length == 0) return "No tls-key-file configured!";
        X509Certificate2 cert;
        try
        {
            string pass = config.GetString("tls-key-file-pass");
            cert = pass.Length > 0 ? LoadWithPassword(certFile, keyFile, pass) : X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            return $"Failed to load certificate: {certFile}: {e.Message}";
        }
        var trust = new X509Certificate2Collection();
        string caFile = config.GetString("tls-ca-cert-file"), caDir = config.GetString("tls-ca-cert-dir");
        try
        {
            if (caFile.Length > 0) trust.ImportFromPemFile(caFile);
            if (caDir.Length > 0)
                foreach (var f in Directory.EnumerateFiles(caDir)) trust.ImportFromPemFile(f);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException)
        {
            return $"Failed to configure CA certificate(s) file/directory: {e.Message}";
        }
        // The client certificate: tls-client-cert-file and tls-client-key-file when both are set.
        X509Certificate2 clientCert = cert;
        string clientCertFile = config.GetString("tls-client-cert-file"), clientKeyFile = config.GetString("tls-client-key-file");
        if (clientCertFile.Length > 0 && clientKeyFile.Length > 0)
        {
            try
            {
                string pass = config.GetString("tls-client-key-file-pass");
                clientCert = pass.Length > 0 ? LoadWithPassword(clientCertFile, clientKeyFile, pass) : X509Certificate2.CreateFromPemFile(clientCertFile, clientKeyFile);
            }
            catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
            {
                return $"Failed to load certificate: {clientCertFile}: {e.Message}";
            }
        }
        string auth = config.GetString("tls-auth-clients");
        bool peersVerified = auth != "no" || config.GetBool("tls-replication") || config.GetBool("tls-cluster");
        if (peersVerified && trust.Count == 0) return "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!";
        if (ParseProtocols(config.GetString("tls-protocols")) is not { } protocols) return $"Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.";
        // tls-ciphersuites (TLS 1.3) and tls-ciphers (TLS 1.2 and older) make one .NET policy; the
        // side not configured keeps OpenSSL's defaults, as Redis leaves it to OpenSSL.
        CipherSuitesPolicy? suitesPolicy = null;
        string suites = config.GetString("tls-ciphersuites"), ciphers = config.GetString("tls-ciphers");
        var list = new List<TlsCipherSuite>();
        if (OperatingSystem.IsLinux())
        {
            if (suites.Length == 0) list.AddRange(TlsCipherList.DefaultTls13);
            foreach (var name in suites.Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                if (char.IsAsciiDigit(name[0]) || !Enum.TryParse<TlsCipherSuite>(name, out var suite)) return "Failed to configure ciphersuites: " + suites;
                list.Add(suite);
            }
            if (ciphers.Length == 0) list.AddRange(TlsCipherList.Default);
            else if (TlsCipherList.Parse(ciphers) is { } selected) list.AddRange(selected);
            else return "Failed to configure ciphers: " + ciphers;
            if (suites.Length > 0 || ciphers.Length > 0) suitesPolicy = new CipherSuitesPolicy(list);
        }
        var serverCertificate = SslStreamCertificateContext.Create(cert, additionalCertificates: null, offline: true);

        // One shape for both kinds of accepted connection; only who must present a certificate differs.
        bool resume = config.GetBool("tls-session-caching");
        SslServerAuthenticationOptions Accepting(string clientAuth, CipherSuitesPolicy? policy)
        {
            var o = new SslServerAuthenticationOptions
            {
                ServerCertificateContext = serverCertificate,
                ClientCertificateRequired = clientAuth != "no",
                EnabledSslProtocols = protocols,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                AllowRenegotiation = false,
                // tls-session-caching no: OpenSSL's server session cache is off (SSL_SESS_CACHE_OFF).
                AllowTlsResume = resume,
                RemoteCertificateValidationCallback = (_, peer, _, _) => peer == null ? clientAuth != "yes" : ChainsTo(peer, trust),
            };
            if (policy != null && OperatingSystem.IsLinux()) o.CipherSuitesPolicy = policy;
            return o;
        }
        var options = Accepting(auth, suitesPolicy);
        var peerOptions = Accepting("yes", suitesPolicy);
        ServerOptions = options;
        PeerServerOptions = peerOptions;
        ClientOrder = !config.GetBool("tls-prefer-server-ciphers") && OperatingSystem.IsLinux()
            ? new TlsClientOrder(options, list, policy => Accepting(auth, policy))
            : null;
        _clientCertificate = SslStreamCertificateContext.Create(clientCert, additionalCertificates: null, offline: true);
        _clientTrust = trust;
        _clientProtocols = protocols;
        _clientSuites = suitesPolicy;
        return null;
    }

    /// <summary>An encrypted key with the password; a key that is not encrypted loads as it is (OpenSSL ignores the password then).</summary>
    static X509Certificate2 LoadWithPassword(string certFile, string keyFile, string pass)
    {
        try
        {
            return X509Certificate2.CreateFromEncryptedPemFile(certFile, pass, keyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            return X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
    }

    /// <summary>A client certificate must chain to one of the configured CAs.</summary>
    static bool ChainsTo(X509Certificate peer, X509Certificate2Collection trust)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trust);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(peer as X509Certificate2 ?? new X509Certificate2(peer));
    }

    /// <summary>tls-protocols: "TLSv1.2 TLSv1.3" by default (an empty value).</summary>
    static SslProtocols? ParseProtocols(string value)
    {
        if (value.Length == 0) return SslProtocols.Tls12 | SslProtocols.Tls13;
        var p = SslProtocols.None;
        foreach (var word in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
#pragma warning disable SYSLIB0039 // TLS 1.0/1.1 are accepted as Redis accepts them in the configuration
            p |= word.ToLowerInvariant() switch
            {
                "tlsv1" => SslProtocols.Tls,
                "tlsv1.1" => SslProtocols.Tls11,
                "tlsv1.2" => SslProtocols.Tls12,
                "tlsv1.3" => SslProtocols.Tls13,
                _ => (SslProtocols)(-1),
            };
#pragma warning restore SYSLIB0039
            if ((int)p == -1) return null;
        }
        return p;
    }
}
