// The ACL check on the hot path allocates nothing: a client authenticated as a restricted user
// (commands by bit, keys by pattern) runs GET and SET with every command checked against its
// selector, its keys extracted into the ACL's reused buffer and glob-matched, at 0 bytes per
// command in steady state. Measured as HotPathAllocationTests measures the unrestricted path.
using System.Text;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Performance.HotPathAllocationTests;

namespace Cinnabar.Tests.Performance;

public class AclAllocationTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    // No save points: the measured writes must not start a BGSAVE (see HotPathAllocationTests).
    readonly bool _noSavePoints = fx.Server.Config.Set("save", "", startup: false) == null;

    /// <summary>Creates the restricted user r (the same rules every time) and authenticates the measuring client as r.</summary>
    static byte[] AsRestrictedUser(params byte[][] more) =>
        Concat([Resp("ACL", "SETUSER", "r", "on", "nopass", "~k*", "+get", "+set"), Resp("AUTH", "r", "x"), .. more]);

    (long Allocated, string FirstReply) Measure(byte[] setup, byte[] request, int commandsPerRequest)
    {
        Assert.True(_noSavePoints);
        return HotPathAllocationTests.Measure(fx.Server, setup, request, commandsPerRequest, afterEach: null);
    }

    [Fact]
    public void GetAsARestrictedUserAllocatesNothing()
    {
        var (allocated, reply) = Measure(AsRestrictedUser(Resp("SET", "k:acl:get", "abc")), Resp("GET", "k:acl:get"), 1);
        Assert.Equal("$3\r\nabc\r\n", reply);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void SetAsARestrictedUserAllocatesNothing()
    {
        var (allocated, reply) = Measure(AsRestrictedUser(Resp("SET", "k:acl:set", "xxx")), Resp("SET", "k:acl:set", "xxx"), 1);
        Assert.Equal("+OK\r\n", reply);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void PipelinedGetSetAsARestrictedUserAllocatesNothing()
    {
        var frames = new List<byte[]>();
        for (int i = 0; i < 8; i++)
        {
            frames.Add(Resp("SET", "k:acl:p", "value-16"));
            frames.Add(Resp("GET", "k:acl:p"));
        }
        var (allocated, reply) = Measure(AsRestrictedUser(), Concat(frames.ToArray()), frames.Count);
        Assert.StartsWith("+OK\r\n$8\r\nvalue-16\r\n+OK\r\n", reply);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void TheMeasuredClientIsReallyRestricted()
    {
        // The same setup leaves the client as r: a command or key outside its rules is refused.
        string reply = OnLoop(fx.Server, () =>
        {
            var c = fx.Server.Clients.CreateDetachedClient();
            c.FeedQueryBuffer(AsRestrictedUser());
            Drain(c, null);
            c.FeedQueryBuffer(Concat(Resp("ACL", "WHOAMI"), Resp("GET", "other"), Resp("DEL", "k:acl:get")));
            var buf = new byte[4096];
            return Encoding.UTF8.GetString(buf, 0, Drain(c, buf));
        });
        Assert.Equal("-NOPERM this user has no permissions to run the 'acl|whoami' command\r\n"
            + "-NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
            + "-NOPERM this user has no permissions to run the 'del' command\r\n", reply);
    }
}
