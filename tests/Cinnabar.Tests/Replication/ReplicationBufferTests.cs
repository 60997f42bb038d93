// The shared replication buffer (Redis 7.0's replBufBlock list): blocks of 16 KB to a sixteenth
// of the backlog, the backlog trimmed to repl-backlog-size only where no replica still needs a
// block, offsets located for a partial resync, rebased for a restarted primary, and trimmed
// blocks reused; and on a live server, a replica that stops reading keeps the history alive
// (the backlog outgrows its size) until it is gone.
using Cinnabar.Replication;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Support.ReplicationWait;

namespace Cinnabar.Tests.Replication;

public class ReplicationBufferTests
{
    static byte[] Bytes(int n, byte fill = (byte)'x') => Enumerable.Repeat(fill, n).ToArray();

    [Fact]
    public void Feeding_fills_the_tail_then_adds_blocks_and_locates_every_offset()
    {
        var buf = new ReplicationBuffer(16 * 1024, masterReplOffset: 100);
        Assert.Equal(101, buf.FirstByteOffset);
        Assert.True(buf.Contains(101)); // the end: nothing to send yet
        var (block, pos, added) = buf.Feed(Bytes(10), 100);
        Assert.True(added);
        Assert.Equal((101L, 0), (block.ReplOffset, pos));
        (block, pos, added) = buf.Feed(Bytes(40_000), 110);
        Assert.True(added); // 16 KB blocks: the tail's room, then new ones
        Assert.Equal(10, pos);
        Assert.Equal(40_010, buf.HistLen);
        Assert.True(buf.Contains(101) && buf.Contains(40_111) && !buf.Contains(40_112) && !buf.Contains(100));
        var (at, inBlock) = buf.Locate(20_000);
        Assert.NotNull(at);
        Assert.Equal(20_000, at!.ReplOffset + inBlock);
        Assert.Equal((byte)'x', at.Buf[inBlock]);
    }

    [Fact]
    public void The_backlog_trims_to_its_size_except_where_a_replica_still_holds_blocks()
    {
        var buf = new ReplicationBuffer(16 * 1024, 0);
        var (first, _, _) = buf.Feed(Bytes(100), 0);
        first.RefCount++; // a replica whose next byte is offset 1
        long offset = 100;
        for (int i = 0; i < 100; i++) offset += Feed(buf, offset, 1000);
        buf.Trim();
        Assert.Equal(1, buf.FirstByteOffset); // held for the replica: the backlog outgrew 16 KB
        Assert.True(buf.HistLen > 100_000);
        first.RefCount--; // the replica left
        long memory = buf.Memory;
        buf.Trim();
        Assert.True(buf.HistLen <= 2 * 16 * 1024 + 16 * 1024, $"histlen {buf.HistLen}");
        Assert.True(buf.Memory < memory);
        Assert.Equal(offset + 1 - buf.HistLen, buf.FirstByteOffset);
        Assert.False(buf.Contains(1));
    }

    static long Feed(ReplicationBuffer buf, long offset, int n)
    {
        buf.Feed(Bytes(n), offset);
        return n;
    }

    [Fact]
    public void Blocks_stay_small_for_a_big_command_and_offsets_rebase()
    {
        var buf = new ReplicationBuffer(1024 * 1024, 0);
        buf.Feed(Bytes(1_000_000), 0);
        // 1 MB backlog: blocks of at most 64 KB, so a trim can drop most of one big command.
        Assert.InRange(buf.Memory, 1_000_000, 1_100_000);
        var (b, p) = buf.Locate(999_999);
        Assert.True(b!.Size <= 64 * 1024);
        buf.Rebase(5000);
        Assert.Equal(5001, buf.FirstByteOffset);
        Assert.Equal(999_999 + 5000, b.ReplOffset + p);
    }

    [Fact]
    public void A_replica_that_stops_reading_keeps_the_history_until_it_leaves()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("repl-backlog-size", "16kb", startup: true));
        using var writer = fx.Connect();
        var replica = fx.Connect();
        replica.Send("PSYNC", "?", "-1");
        replica.ReadSkippingKeepalives();
        replica.ReadRdbTransfer();
        // The replica reads nothing more: once the socket buffers are full it holds its blocks.
        var value = new string('v', 100_000);
        for (int i = 0; i < 300; i++) writer.Call("SET", "k" + (i % 10), value);
        long histlen = long.Parse(Info(writer, "repl_backlog_histlen"));
        Assert.True(histlen > 1_000_000, $"histlen {histlen}: the lagging replica keeps the stream");
        Assert.True(long.Parse(Info(writer, "mem_total_replication_buffers", "memory")) > 1_000_000);
        replica.Dispose();
        WaitFor(() => Info(writer, "connected_slaves") == "0", "the replica to be gone");
        writer.Call("SET", "one-more", "write");
        WaitFor(() => long.Parse(Info(writer, "repl_backlog_histlen")) < 200_000, "the backlog to trim back");
    }
}
