// The cipher_suites list of a TLS ClientHello, read from the raw bytes of the first record before
// SslStream sees them, for tls-prefer-server-ciphers no (Networking/TlsClientOrder.cs). Only what
// leads up to the list is walked (record header, handshake header, version, random, session id);
// the suites are the 2-byte IANA ids that .NET's TlsCipherSuite values are. Never throws: bytes
// that are not a ClientHello are Invalid, a hello not yet whole in the record is Incomplete.
using System.Buffers.Binary;

namespace Cinnabar.Networking;

public static class TlsClientHello
{
    public enum Result { Parsed, Incomplete, Invalid }

    const byte HandshakeRecord = 22, ClientHelloType = 1;
    const int MaxRecord = 16384 + 2048; // TLSPlaintext may not exceed 2^14; leave room for odd peers

    /// <summary>
    /// Writes the offered suites, in the client's order, into suites (as many as fit) and their
    /// number into count. The hello must sit in the first record, as every client sends it.
    /// </summary>
    public static Result Parse(ReadOnlySpan<byte> data, Span<ushort> suites, out int count)
    {
        count = 0;
        if (data.Length < 1) return Result.Incomplete;
        if (data[0] != HandshakeRecord) return Result.Invalid;
        if (data.Length < 5) return Result.Incomplete;
        int recordLength = BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
        if (data[1] != 3 || recordLength < 4 || recordLength > MaxRecord) return Result.Invalid;
        if (data.Length < 5 + recordLength) return Result.Incomplete;
        var body = data.Slice(5, recordLength);
        if (body[0] != ClientHelloType) return Result.Invalid;
        int helloLength = body[1] << 16 | body[2] << 8 | body[3];
        var hello = body[4..];
        // A hello longer than its record continues in the next one; the suites may still be here.
        if (helloLength < hello.Length) hello = hello[..helloLength];

        int pos = 2 + 32; // client_version, random
        if (hello.Length < pos + 1) return Truncated(helloLength, hello.Length);
        int sessionIdLength = hello[pos];
        if (sessionIdLength > 32) return Result.Invalid;
        pos += 1 + sessionIdLength;
        if (hello.Length < pos + 2) return Truncated(helloLength, hello.Length);
        int suitesLength = BinaryPrimitives.ReadUInt16BigEndian(hello[pos..]);
        if (suitesLength % 2 != 0 || suitesLength == 0) return Result.Invalid;
        pos += 2;
        if (hello.Length < pos + suitesLength) return Truncated(helloLength, hello.Length);
        var list = hello.Slice(pos, suitesLength);
        for (int i = 0; i < list.Length && count < suites.Length; i += 2)
            suites[count++] = BinaryPrimitives.ReadUInt16BigEndian(list[i..]);
        return Result.Parsed;
    }

    /// <summary>Cut short inside its own record: garbage; cut short by the record's end: the rest is in the next record.</summary>
    static Result Truncated(int helloLength, int available) => helloLength > available ? Result.Incomplete : Result.Invalid;
}
