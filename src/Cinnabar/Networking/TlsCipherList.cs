// tls-ciphers: the TLS 1.2 (and older) cipher list in OpenSSL's cipher-string language, which
// Redis hands to SSL_CTX_set_cipher_list, turned into the IANA suites .NET's CipherSuitesPolicy
// takes. The part of the language supported: elements separated by ':', ',' or spaces, each an
// OpenSSL cipher name (AES128-SHA256, ECDHE-RSA-AES256-GCM-SHA384, ...) or one of DEFAULT, ALL,
// HIGH (the known suites in OpenSSL 3's default order), optionally prefixed with '-' (remove),
// '!' (remove for good) or '+' (move to the end). As OpenSSL, names it does not know are
// skipped, and a list that selects nothing is an error.
using System.Net.Security;

namespace Cinnabar.Networking;

static class TlsCipherList
{
    /// <summary>OpenSSL's name of each TLS 1.2 suite .NET can negotiate, in OpenSSL 3's DEFAULT order.</summary>
    static readonly (string Name, TlsCipherSuite Suite)[] Known =
    [
        ("ECDHE-ECDSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
        ("ECDHE-RSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
        ("DHE-RSA-AES256-GCM-SHA384", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384),
        ("ECDHE-ECDSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
        ("ECDHE-RSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        ("DHE-RSA-CHACHA20-POLY1305", TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
        ("ECDHE-ECDSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
        ("ECDHE-RSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
        ("DHE-RSA-AES128-GCM-SHA256", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256),
        ("ECDHE-ECDSA-AES256-SHA384", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384),
        ("ECDHE-RSA-AES256-SHA384", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384),
        ("DHE-RSA-AES256-SHA256", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA256),
        ("ECDHE-ECDSA-AES128-SHA256", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256),
        ("ECDHE-RSA-AES128-SHA256", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256),
        ("DHE-RSA-AES128-SHA256", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA256),
        ("ECDHE-ECDSA-AES256-SHA", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA),
        ("ECDHE-RSA-AES256-SHA", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA),
        ("DHE-RSA-AES256-SHA", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CBC_SHA),
        ("ECDHE-ECDSA-AES128-SHA", TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA),
        ("ECDHE-RSA-AES128-SHA", TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA),
        ("DHE-RSA-AES128-SHA", TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CBC_SHA),
        ("AES256-GCM-SHA384", TlsCipherSuite.TLS_RSA_WITH_AES_256_GCM_SHA384),
        ("AES128-GCM-SHA256", TlsCipherSuite.TLS_RSA_WITH_AES_128_GCM_SHA256),
        ("AES256-SHA256", TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA256),
        ("AES128-SHA256", TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA256),
        ("AES256-SHA", TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA),
        ("AES128-SHA", TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA),
    ];

    /// <summary>OpenSSL 3's default TLS 1.3 suites, used when tls-ciphersuites is empty.</summary>
    public static readonly TlsCipherSuite[] DefaultTls13 =
    [
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
    ];

    /// <summary>The TLS 1.2 suites DEFAULT selects (what an empty tls-ciphers leaves in place).</summary>
    public static IEnumerable<TlsCipherSuite> Default => Known.Select(k => k.Suite);

    /// <summary>The suites the cipher string selects, in order; null when it selects none (SSL_CTX_set_cipher_list fails).</summary>
    public static List<TlsCipherSuite>? Parse(string value)
    {
        var list = new List<TlsCipherSuite>();
        var banned = new HashSet<TlsCipherSuite>();
        foreach (var element in value.Split([':', ',', ' '], StringSplitOptions.RemoveEmptyEntries))
        {
            char op = element[0] is '-' or '!' or '+' ? element[0] : '\0';
            var matched = Select(op == '\0' ? element : element[1..]);
            switch (op)
            {
                case '-':
                    list.RemoveAll(matched.Contains);
                    break;
                case '!':
                    list.RemoveAll(matched.Contains);
                    banned.UnionWith(matched);
                    break;
                case '+':
                    var moved = list.Where(matched.Contains).ToList();
                    list.RemoveAll(matched.Contains);
                    list.AddRange(moved);
                    break;
                default:
                    foreach (var suite in matched)
                        if (!banned.Contains(suite) && !list.Contains(suite)) list.Add(suite);
                    break;
            }
        }
        return list.Count > 0 ? list : null;
    }

    /// <summary>The suites one element names: a keyword's set, one cipher, or none for a name OpenSSL would not know either.</summary>
    static List<TlsCipherSuite> Select(string name)
    {
        if (name.Equals("DEFAULT", StringComparison.OrdinalIgnoreCase) || name.Equals("ALL", StringComparison.OrdinalIgnoreCase)
            || name.Equals("HIGH", StringComparison.OrdinalIgnoreCase))
            return Default.ToList();
        return Known.Where(k => k.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(k => k.Suite).ToList();
    }
}
