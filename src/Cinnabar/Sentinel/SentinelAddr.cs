// sentinelAddr: an instance's address as configured (hostname or IP) and as resolved. With
// resolve-hostnames no, only IP addresses are accepted; with yes, names are resolved and a name
// that does not resolve yet may still be kept (its IP empty) where Redis accepts it.
// announce-hostnames chooses which of the two is shown in replies, events and hello messages.
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Cinnabar.Sentinel;

public sealed class SentinelAddr
{
    public readonly string Hostname;
    public readonly string Ip;
    public readonly int Port;

    public SentinelAddr(string hostname, string ip, int port)
    {
        Hostname = hostname;
        Ip = ip;
        Port = port;
    }

    /// <summary>anetResolve: the address as text, or null (names only with resolve-hostnames).</summary>
    public static string? Resolve(string host, bool resolveHostnames)
    {
        if (IPAddress.TryParse(host, out var ip)) return ip.ToString();
        if (!resolveHostnames) return null;
        try
        {
            var all = Dns.GetHostAddresses(host);
            var pick = all.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? all.FirstOrDefault();
            return pick?.ToString();
        }
        catch (Exception e) when (e is SocketException or ArgumentException)
        {
            return null;
        }
    }

    public bool IsEqual(SentinelAddr other) => Port == other.Port && string.Equals(Ip, other.Ip, StringComparison.OrdinalIgnoreCase);

    /// <summary>sentinelAddrOrHostnameEqual: same port, and the same IP or (unresolved) the same name.</summary>
    public bool IsEqualOrSameHostname(SentinelAddr other) =>
        Port == other.Port && (Ip == other.Ip || string.Equals(Hostname, other.Hostname, StringComparison.OrdinalIgnoreCase));

    public override string ToString() => Hostname + ":" + Port.ToString(CultureInfo.InvariantCulture);
}
