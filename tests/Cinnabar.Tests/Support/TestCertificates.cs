// Certificates for TLS tests, made in-process with .NET's CertificateRequest (no openssl, none
// committed): a CA, a server certificate for 127.0.0.1/localhost and a client certificate
// signed by it, and a "rogue" client certificate signed by nobody the server trusts. The PEM
// files (what tls-cert-file, tls-key-file and tls-ca-cert-file read) go to a temporary
// directory removed on dispose.
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Cinnabar.Tests.Support;

public sealed class TestCertificates : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("cinnabar-tls-").FullName;
    public string CaFile => Path.Combine(Dir, "ca.crt");
    public string ServerCertFile => Path.Combine(Dir, "server.crt");
    public string ServerKeyFile => Path.Combine(Dir, "server.key");
    public string ClientCertFile => Path.Combine(Dir, "client.crt");
    public string ClientKeyFile => Path.Combine(Dir, "client.key");

    public X509Certificate2 Ca { get; }
    public X509Certificate2 Client { get; }
    public X509Certificate2 Rogue { get; }

    public TestCertificates()
    {
        using var caKey = RSA.Create(2048);
        var caReq = new CertificateRequest("CN=Cinnabar Test CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caReq.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caReq.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Ca = caReq.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddDays(60));
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());
        WriteLeaf("CN=Server", server: true, ServerCertFile, ServerKeyFile, serial: 1);
        Client = WriteLeaf("CN=Client", server: false, ClientCertFile, ClientKeyFile, serial: 2);
        using var rogueKey = RSA.Create(2048);
        var rogueReq = new CertificateRequest("CN=Rogue", rogueKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Rogue = Reload(rogueReq.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30)));
    }

    /// <summary>Writes another server certificate pair (for CONFIG SET tls-cert-file) and returns its files.</summary>
    public (string Cert, string Key, X509Certificate2 Certificate) NewServerCertificate(string subject, int serial)
    {
        string cert = Path.Combine(Dir, $"server{serial}.crt"), key = Path.Combine(Dir, $"server{serial}.key");
        return (cert, key, WriteLeaf(subject, server: true, cert, key, serial));
    }

    X509Certificate2 WriteLeaf(string subject, bool server, string certFile, string keyFile, int serial)
    {
        using var key = RSA.Create(2048);
        var req = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var usage = new OidCollection { new Oid(server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2") };
        req.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usage, false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            req.CertificateExtensions.Add(san.Build());
        }
        using var signed = req.Create(Ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30), [(byte)serial, 1, 2, 3]);
        File.WriteAllText(certFile, signed.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return Reload(signed.CopyWithPrivateKey(key));
    }

    /// <summary>A certificate whose private key outlives the RSA object that made it (SslStream needs it later).</summary>
    static X509Certificate2 Reload(X509Certificate2 withKey) =>
        X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);

    /// <summary>Client options: trust the test CA for the server, present the given certificate (or none).</summary>
    public SslClientAuthenticationOptions ClientOptions(X509Certificate2? clientCertificate) => new()
    {
        TargetHost = "localhost",
        ClientCertificates = clientCertificate == null ? null : [clientCertificate],
        RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            if (cert == null) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(Ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(X509CertificateLoader.LoadCertificate(cert.GetRawCertData()));
        },
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (IOException) { }
    }
}
