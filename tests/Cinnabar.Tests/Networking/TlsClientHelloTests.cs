// The ClientHello reader behind tls-prefer-server-ciphers no: the suites of a handcrafted hello,
// and truncated or garbage input answered with Incomplete or Invalid, never an exception.
using Cinnabar.Networking;

namespace Cinnabar.Tests.Networking;

public sealed class TlsClientHelloTests
{
    /// <summary>A TLS 1.2 record holding a ClientHello that offers the given suites.</summary>
    static byte[] Hello(params ushort[] suites)
    {
        var hello = new List<byte> { 3, 3 };
        hello.AddRange(new byte[32]); // random
        hello.Add(32);
        hello.AddRange(new byte[32]); // session id
        hello.Add((byte)(suites.Length * 2 >> 8));
        hello.Add((byte)(suites.Length * 2));
        foreach (var s in suites)
        {
            hello.Add((byte)(s >> 8));
            hello.Add((byte)s);
        }
        hello.AddRange([1, 0, 0, 0]); // compression null, no extensions
        var hs = new List<byte> { 1, 0, (byte)(hello.Count >> 8), (byte)hello.Count };
        hs.AddRange(hello);
        var record = new List<byte> { 22, 3, 1, (byte)(hs.Count >> 8), (byte)hs.Count };
        record.AddRange(hs);
        return [.. record];
    }

    [Fact]
    public void The_offered_suites_are_read_in_the_clients_order()
    {
        var suites = new ushort[16];
        Assert.Equal(TlsClientHello.Result.Parsed, TlsClientHello.Parse(Hello(0x003D, 0x003C, 0x1301), suites, out int n));
        Assert.Equal([0x003D, 0x003C, 0x1301], suites[..n]);
    }

    [Fact]
    public void Truncated_and_garbage_input_is_refused_without_throwing()
    {
        var hello = Hello(0x003D, 0x003C);
        var suites = new ushort[16];
        for (int len = 0; len < hello.Length; len++)
            Assert.Equal(TlsClientHello.Result.Incomplete, TlsClientHello.Parse(hello.AsSpan(0, len), suites, out _));
        Assert.Equal(TlsClientHello.Result.Invalid, TlsClientHello.Parse("*1\r\n$4\r\nPING\r\n"u8, suites, out _));
        var rng = new Random(7);
        for (int i = 0; i < 2000; i++)
        {
            var junk = new byte[rng.Next(0, 300)];
            rng.NextBytes(junk);
            if (junk.Length > 0 && rng.Next(2) == 0) junk[0] = 22;
            TlsClientHello.Parse(junk, suites, out int n);
            Assert.InRange(n, 0, suites.Length);
        }
        // A session id longer than 32 bytes is not a hello.
        var bad = (byte[])hello.Clone();
        bad[5 + 4 + 34] = 200;
        Assert.Equal(TlsClientHello.Result.Invalid, TlsClientHello.Parse(bad, suites, out _));
    }
}
