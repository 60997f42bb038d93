// A second server on a port that is already taken refuses to start, as Redis does: the listener
// sets SO_REUSEADDR only (.NET's ReuseAddress would add SO_REUSEPORT on Linux and let both
// listen, splitting connections between two datasets). Redis's two log lines, exit code 1.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public class PortInUseTests
{
    [Fact]
    public void A_second_server_on_a_taken_port_exits_with_Redis_lines()
    {
        string dir = Path.Combine(Path.GetTempPath(), "cinnabar-port-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        using var first = new CinnabarProcess(dir);
        using var second = new CinnabarProcess(dir, first.Port);
        Assert.Equal(1, second.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains($"Could not create server TCP listening socket 127.0.0.1:{first.Port}: bind: Address already in use", second.Log);
        Assert.Contains($"Failed listening on port {first.Port} (TCP), aborting.", second.Log);
        using var c = first.Connect();
        Assert.Equal("+PONG", c.CallS("PING")); // the first one still serves
        Directory.Delete(dir, recursive: true);
    }
}
