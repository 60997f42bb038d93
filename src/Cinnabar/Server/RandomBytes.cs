// Secret random bytes for the dict hash seed and the run id (Redis's getRandomBytes): read from
// /dev/urandom where it exists, so starting the server does not load OpenSSL (libcrypto and
// .NET's cryptography assembly are ~5 MB of resident memory, a tenth of an empty server); the
// runtime's cryptographic generator is the fallback elsewhere.
using System.Security.Cryptography;

namespace Cinnabar.Server;

public static class RandomBytes
{
    public static void Fill(Span<byte> into)
    {
        try
        {
            using var urandom = new FileStream("/dev/urandom", FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0);
            int done = 0;
            while (done < into.Length)
            {
                int n = urandom.Read(into[done..]);
                if (n <= 0) break;
                done += n;
            }
            if (done == into.Length) return;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        RandomNumberGenerator.Fill(into);
    }

    /// <summary>A lower-case hex string of <paramref name="bytes"/> random bytes (run_id is 20).</summary>
    public static string Hex(int bytes)
    {
        Span<byte> b = stackalloc byte[bytes];
        Fill(b);
        return Convert.ToHexString(b).ToLowerInvariant();
    }
}
