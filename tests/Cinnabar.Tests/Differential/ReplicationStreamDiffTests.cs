// The replication-stream comparison's one normalisation, pinned: deadlines computed from the
// clock (PEXPIREAT's time, SET's PXAT/EXAT value, RESTORE ... ABSTTL's ttl) match within a
// few seconds; every other byte, including a deadline given in another slot, must be equal.
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Differential;

public class ReplicationStreamDiffTests
{
    static ReplicatedCommand Cmd(params string[] args) =>
        new(RespClient.Encode(args), args.Select(a => Encoding.Latin1.GetBytes(a)).ToArray());

    [Fact]
    public void DeadlinesMatchWithinFiveSeconds()
    {
        Assert.True(ReplicationStreamDiff.Same(Cmd("PEXPIREAT", "k", "1796166000000"), Cmd("PEXPIREAT", "k", "1796166004999")));
        Assert.True(ReplicationStreamDiff.Same(Cmd("SET", "k", "v", "PXAT", "1796166000000"), Cmd("SET", "k", "v", "PXAT", "1796165998000")));
        Assert.True(ReplicationStreamDiff.Same(Cmd("SET", "k", "v", "EXAT", "1796166000"), Cmd("SET", "k", "v", "EXAT", "1796166004")));
        Assert.True(ReplicationStreamDiff.Same(Cmd("RESTORE", "k", "1796166000000", "x", "ABSTTL"), Cmd("RESTORE", "k", "1796166001000", "x", "ABSTTL")));
        Assert.False(ReplicationStreamDiff.Same(Cmd("PEXPIREAT", "k", "1796166000000"), Cmd("PEXPIREAT", "k", "1796166005001")));
        Assert.False(ReplicationStreamDiff.Same(Cmd("SET", "k", "v", "EXAT", "1796166000"), Cmd("SET", "k", "v", "EXAT", "1796166006")));
    }

    [Fact]
    public void EverythingButADeadlineMustBeTheSameBytes()
    {
        Assert.False(ReplicationStreamDiff.Same(Cmd("SET", "k", "1796166000000"), Cmd("SET", "k", "1796166000001")));
        Assert.False(ReplicationStreamDiff.Same(Cmd("RESTORE", "k", "1000", "x"), Cmd("RESTORE", "k", "1001", "x")));
        Assert.False(ReplicationStreamDiff.Same(Cmd("set", "k", "v"), Cmd("SET", "k", "v")));
        Assert.False(ReplicationStreamDiff.Same(Cmd("SET", "k", "v", "PXAT", "1"), Cmd("SET", "k", "v", "PX", "1")));
        Assert.True(ReplicationStreamDiff.Same(Cmd("SET", "k", "v"), Cmd("SET", "k", "v")));
    }

    [Fact]
    public void TheReportShowsBothStreamsAroundTheFirstDifferenceAndEveryHunk()
    {
        var redis = new List<ReplicatedCommand> { Cmd("SELECT", "0"), Cmd("MULTI"), Cmd("DEL", "k"), Cmd("SET", "k", "w"), Cmd("EXEC") };
        var subject = new List<ReplicatedCommand> { Cmd("SELECT", "0"), Cmd("DEL", "k"), Cmd("SET", "k", "w") };
        Assert.Null(ReplicationStreamDiff.Report(redis, redis, "a", "b"));
        var report = ReplicationStreamDiff.Report(redis, subject, "redis-server", "cinnabar")!;
        Assert.StartsWith("the streams differ at command #1 (redis-server: 5 commands, cinnabar: 3)", report);
        Assert.Contains(" >> #1 \"MULTI\"", report);
        Assert.Contains(" >> #1 \"DEL\",\"k\"", report);
        Assert.Contains("- after \"SELECT\",\"0\": \"MULTI\"", report);
        Assert.Contains("- after \"SET\",\"k\",\"w\": \"EXEC\"", report);
    }
}
