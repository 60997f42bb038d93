// The redis-benchmark container rows (LPUSH, RPOP, SADD, HSET, ZADD, LRANGE) allocate nothing per
// command beyond the data they store: each command runs 10,000 times through the real Dispatcher
// on the event-loop thread with a fake client, as StringAllocationTests does, after a warm-up
// that creates the keys. Members come from a small fixed pool, as redis-benchmark's
// __rand_int__ keyspace makes most SADD/HSET/ZADD hit an existing member in steady state.
using System.Text;
using Cinnabar.Protocol;
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Commands;

public class ContainerAllocationTests(ServerFixture fx, ITestOutputHelper output) : IClassFixture<ServerFixture>
{
    static CommandArgs Args(params string[] parts)
    {
        var a = new CommandArgs();
        foreach (var p in parts) a.Add(Encoding.ASCII.GetBytes(p));
        return a;
    }

    const int Commands = 10_000;
    const long Slack = 1024; // as StringAllocationTests: nothing per command, whatever the count

    /// <summary>Bytes allocated over 10,000 runs of the rotation, after a warm-up.</summary>
    long BytesAllocated(string name, CommandArgs[] rotation, CommandArgs[]? setup = null, string? dropKey = null)
    {
        long allocated = LoopAccess.Run(fx.Server, () =>
        {
            var client = fx.Server.Clients.CreateFakeClient();
            foreach (var cmd in setup ?? [])
            {
                client.Args = cmd;
                fx.Server.Dispatcher.ProcessCommand(client);
            }
            void RunAll(int n)
            {
                for (int i = 0; i < n; i++)
                {
                    client.Args = rotation[i % rotation.Length];
                    fx.Server.Dispatcher.ProcessCommand(client);
                    client.Output.Clear(); // the loop writes replies out every iteration
                }
            }
            RunAll(2_000);
            // A command descheduled past slowlog-log-slower-than on a loaded machine (CPU-bound
            // tests run alongside) would be logged, which allocates: not what is measured here.
            long slowlog = fx.Server.Config.SlowlogLogSlowerThan;
            fx.Server.Config.SlowlogLogSlowerThan = -1;
            // Tiered JIT can allocate once on this thread when it installs optimised code inside
            // the window (more likely under load); a real per-command allocation shows in every
            // attempt, so the least of a few attempts is the measurement (as HotPathAllocationTests).
            long least = long.MaxValue;
            for (int attempt = 0; attempt < 5 && least > Slack; attempt++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                RunAll(Commands);
                least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            }
            fx.Server.Config.SlowlogLogSlowerThan = slowlog;
            if (dropKey != null)
            {
                // Large values: free them for the heap measurements of tests running alongside.
                client.Args = Args("DEL", dropKey);
                fx.Server.Dispatcher.ProcessCommand(client);
                client.Output.Clear();
            }
            return least;
        });
        output.WriteLine($"{name}: {allocated} bytes over {Commands} commands");
        return allocated;
    }

    static CommandArgs[] Pool(Func<int, CommandArgs> make, int n = 100) => Enumerable.Range(0, n).Select(make).ToArray();

    [Fact]
    public void SaddOfExistingMembersAllocatesNothing()
    {
        Assert.InRange(BytesAllocated("SADD 100 members", Pool(i => Args("SADD", "alloc:set", "element:" + i))), 0, Slack);
        Assert.InRange(BytesAllocated("SADD 1000 members", Pool(i => Args("SADD", "alloc:bigset", "element:" + i), 1000)), 0, Slack);
    }

    [Fact]
    public void HsetOfExistingFieldsAllocatesNothing()
    {
        // listpack: the value is rewritten inside the listpack; hashtable: the field is looked up
        // by span and a value of the same length overwrites the stored bytes in place.
        Assert.InRange(BytesAllocated("HSET listpack", Pool(i => Args("HSET", "alloc:hash", "element:" + i, "xxx"))), 0, Slack);
        Assert.InRange(BytesAllocated("HSET hashtable", Pool(i => Args("HSET", "alloc:bighash", "element:" + i, "xxx"), 1000)), 0, Slack);
    }

    [Fact]
    public void ZaddOfExistingMembersAllocatesNothing()
    {
        Assert.InRange(BytesAllocated("ZADD listpack", Pool(i => Args("ZADD", "alloc:zset", i.ToString(), "element:" + i))), 0, Slack);
        Assert.InRange(BytesAllocated("ZADD skiplist", Pool(i => Args("ZADD", "alloc:bigzset", i.ToString(), "element:" + i), 1000)), 0, Slack);
    }

    [Fact]
    public void LpushRpopAllocateNothingBeyondTheListpack()
    {
        // Elements live inside quicklist listpacks; RPOP replies from the listpack before deleting.
        var setup = Pool(i => Args("RPUSH", "alloc:list", "xxx"), 500);
        Assert.InRange(BytesAllocated("LPUSH/RPOP", [Args("LPUSH", "alloc:list", "xxx"), Args("RPOP", "alloc:list")], setup), 0, Slack);
    }

    [Fact]
    public void LrangeAllocatesNothing()
    {
        var setup = Pool(i => Args("RPUSH", "alloc:range", "xxx"), 600);
        Assert.InRange(BytesAllocated("LRANGE_100", [Args("LRANGE", "alloc:range", "0", "99")], setup), 0, Slack);
        Assert.InRange(BytesAllocated("LRANGE_600", [Args("LRANGE", "alloc:range", "0", "599")], setup), 0, Slack);
    }

    [Fact]
    public void ZaddMovingAMemberAllocatesOnlyItsNewSkiplistNode()
    {
        // Each score change unlinks the node and inserts a new one (zslUpdateScore); the update and
        // rank vectors are per-thread scratch, so only the node (~130 bytes) is allocated.
        var moves = Enumerable.Range(0, 1000).SelectMany(i => new[]
        {
            Args("ZADD", "alloc:moving", i.ToString(), "element:" + i),
            Args("ZADD", "alloc:moving", (i + 5000).ToString(), "element:" + i),
        }).ToArray();
        Assert.InRange(BytesAllocated("ZADD skiplist moves", moves), 0, 200 * Commands);
    }

    // ------------------------------------------------------------------ 1 KiB values (-d 1024)

    static readonly string KiB = new('v', 1024);

    [Fact]
    public void HsetOverwritingA1KiBValueOfTheSameLengthAllocatesNothing()
    {
        // redis-benchmark's HSET row rewrites one field of a hashtable-encoded hash (values past
        // hash-max-listpack-value); the stored bytes are overwritten in place.
        Assert.InRange(BytesAllocated("HSET 1KiB overwrite", [Args("HSET", "alloc:kib:hash", "element:__rand_int__", KiB)]), 0, Slack);
    }

    [Fact]
    public void LpushOf1KiBValuesAllocatesOneNodePerFullNode()
    {
        // Pushes fill the head node's listpack, allocated at the 8 KiB node limit when the list
        // already has a full node: ~8.2 KB per seven pushes (~1.2 KB per push, the value is
        // 1,031 bytes in the listpack). Growing the node by reallocation allocated 2.6 KB per push.
        // Each push is paired with an RPOP (which allocates nothing) so the list stays ~700 KB.
        var setup = Pool(i => Args("LPUSH", "alloc:kib:lpush", KiB, KiB, KiB, KiB, KiB, KiB, KiB), 100);
        long bytes = BytesAllocated("LPUSH+RPOP 1KiB", [Args("LPUSH", "alloc:kib:lpush", KiB), Args("RPOP", "alloc:kib:lpush")], setup, dropKey: "alloc:kib:lpush");
        Assert.InRange(bytes, 1024 * Commands / 2, 1300 * Commands / 2);
    }

    [Fact]
    public void RpopOf1KiBValuesAllocatesNothing()
    {
        // Enough elements for the warm-up and one measured attempt (the first attempt measures 0
        // when nothing allocates); popping leaves the end node's capacity alone instead of
        // shrinking it on the way out (~600 bytes per pop when it did).
        var setup = Pool(i => Args("LPUSH", "alloc:kib:rpop", KiB, KiB, KiB, KiB, KiB, KiB, KiB, KiB, KiB, KiB), 1_300);
        Assert.InRange(BytesAllocated("RPOP 1KiB", [Args("RPOP", "alloc:kib:rpop")], setup, dropKey: "alloc:kib:rpop"), 0, Slack);
    }

    [Fact]
    public void LrangeOf1KiBValuesAllocatesNothing()
    {
        // The reply (100 KiB) spans seven 16 KiB blocks of the client's reply list; the blocks
        // (array and chunk object) come back to the reply buffer's pool once written.
        var setup = Pool(i => Args("RPUSH", "alloc:kib:range", KiB), 200);
        Assert.InRange(BytesAllocated("LRANGE_100 1KiB", [Args("LRANGE", "alloc:kib:range", "0", "99")], setup, dropKey: "alloc:kib:range"), 0, Slack);
    }
}
