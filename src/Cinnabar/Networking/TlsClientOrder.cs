// tls-prefer-server-ciphers no: the client's cipher order wins (OpenSSL without
// SSL_OP_CIPHER_SERVER_PREFERENCE). .NET on Linux always negotiates in the server's order, so a
// connection whose ClientHello (Networking/TlsClientHello.cs) ranks the mutual suites differently
// from the configured list is accepted with a policy holding the mutual suites in the client's
// order, TLS 1.3 and TLS 1.2 each: the server's first usable suite is then the client's (a suite
// the certificate cannot serve is skipped as before). When both orders agree, or the hello cannot
// be read, the configured options are used unchanged (a null policy keeps .NET's cached SSL_CTX
// and so session resumption). A CipherSuitesPolicy is costly to build: the reordered options are
// cached per order (a few client stacks make a few orders), bounded; one per configuration.
using System.Net.Security;

namespace Cinnabar.Networking;

public sealed class TlsClientOrder
{
    const int MaxCached = 64, MaxOffered = 512;

    readonly SslServerAuthenticationOptions _configured;
    readonly Func<CipherSuitesPolicy, SslServerAuthenticationOptions> _withPolicy;
    readonly ushort[] _tls13, _tls12; // the configured suites, in the server's order
    readonly Dictionary<string, SslServerAuthenticationOptions> _cache = [];
    readonly Dictionary<string, SslServerAuthenticationOptions>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    internal TlsClientOrder(SslServerAuthenticationOptions configured, IEnumerable<TlsCipherSuite> suites,
        Func<CipherSuitesPolicy, SslServerAuthenticationOptions> withPolicy)
    {
        _configured = configured;
        _withPolicy = withPolicy;
        var ids = suites.Select(s => (ushort)s).Distinct().ToArray();
        _tls13 = ids.Where(IsTls13).ToArray();
        _tls12 = ids.Where(id => !IsTls13(id)).ToArray();
        _lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>TLS 1.3 suites are 0x13xx (RFC 8446 B.4); everything else goes to tls-ciphers' list.</summary>
    static bool IsTls13(ushort id) => id >> 8 == 0x13;

    /// <summary>The options for a connection whose first bytes are data (the configured ones when nothing is to reorder).</summary>
    public SslServerAuthenticationOptions Select(ReadOnlySpan<byte> data, out TlsClientHello.Result result)
    {
        Span<ushort> offered = stackalloc ushort[MaxOffered];
        result = TlsClientHello.Parse(data, offered, out int count);
        if (result != TlsClientHello.Result.Parsed || !OperatingSystem.IsLinux()) return _configured;
        offered = offered[..count];

        // The mutual suites in the client's order (a char per IANA id, the cache key), 1.3 first.
        Span<char> order = stackalloc char[_tls13.Length + _tls12.Length];
        int n13 = Mutual(offered, _tls13, order, out bool reordered13);
        // A side the client shares nothing with keeps the configured suites: a policy with no
        // TLS 1.3 suite would make .NET refuse an explicitly enabled TLS 1.3.
        if (n13 == 0) n13 = Fill(_tls13, order);
        int n12 = Mutual(offered, _tls12, order[n13..], out bool reordered12);
        if (n12 == 0) n12 = Fill(_tls12, order[n13..]);
        if (!reordered13 && !reordered12) return _configured;
        var key = order[..(n13 + n12)];
        if (_lookup.TryGetValue(key, out var cached)) return cached;
        var suites = new TlsCipherSuite[key.Length];
        for (int i = 0; i < key.Length; i++) suites[i] = (TlsCipherSuite)key[i];
        var options = _withPolicy(new CipherSuitesPolicy(suites));
        if (_cache.Count < MaxCached) _cache[new string(key)] = options;
        return options;
    }

    /// <summary>Writes the configured suites the client offers, in its order; reordered: that order differs from the server's.</summary>
    static int Mutual(ReadOnlySpan<ushort> offered, ReadOnlySpan<ushort> configured, Span<char> into, out bool reordered)
    {
        int n = 0;
        reordered = false;
        foreach (var id in offered)
        {
            if (!configured.Contains(id) || into[..n].Contains((char)id)) continue;
            into[n++] = (char)id;
        }
        // The server's order over the same suites is the configured list filtered by them.
        int k = 0;
        foreach (var id in configured)
        {
            if (!into[..n].Contains((char)id)) continue;
            if (into[k++] != (char)id) reordered = true;
        }
        return n;
    }

    static int Fill(ReadOnlySpan<ushort> configured, Span<char> into)
    {
        for (int i = 0; i < configured.Length; i++) into[i] = (char)configured[i];
        return configured.Length;
    }
}
