// A fresh in-process server with a replica's stream attached by SYNC, for tests that read what
// call() propagates: after the RDB transfer and a first write (which takes the stream's opening
// SELECT out of the way), Next returns each propagated command as "NAME arg ..." text.
namespace Cinnabar.Tests.Support;

public sealed class ReplicaStreamTap : IDisposable
{
    readonly RespClient _replica;
    readonly bool _ownsServer;

    public ServerFixture Server { get; }

    /// <summary>A client of the server (not the replica) for the commands under test.</summary>
    public RespClient Client { get; }

    public ReplicaStreamTap() : this(new ServerFixture(), ownsServer: true) { }

    /// <summary>A replica's stream of a server the caller started (and stops: Dispose leaves it running).</summary>
    internal ReplicaStreamTap(ServerFixture server) : this(server, ownsServer: false) { }

    ReplicaStreamTap(ServerFixture server, bool ownsServer)
    {
        Server = server;
        _ownsServer = ownsServer;
        Client = Server.Connect();
        _replica = Server.Connect();
        _replica.Send("SYNC");
        _replica.ReadRdbTransfer();
        Client.Call("SET", "start", "1");
        Assert.Equal("SELECT 0", Next());
        Assert.Equal("SET start 1", Next());
    }

    /// <summary>The next propagated command, or a failure when nothing comes within 5 s.</summary>
    public string Next()
    {
        var r = _replica.TryRead(TimeSpan.FromSeconds(5)) ?? throw new Xunit.Sdk.XunitException("nothing propagated");
        return string.Join(" ", r.Items!.Select(i => i.Text));
    }

    public void Dispose()
    {
        Client.Dispose();
        _replica.Dispose();
        if (_ownsServer) Server.Dispose();
    }
}
