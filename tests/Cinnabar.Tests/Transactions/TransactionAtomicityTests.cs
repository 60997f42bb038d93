// Concurrency tests of MULTI/EXEC and WATCH on Cinnabar: many clients at once, checked by
// invariants (no interleaving inside EXEC, no lost update with WATCH-based check-and-set), and
// the cleanup of WATCH and Pub/Sub state when a client disconnects.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Transactions;

public class TransactionAtomicityTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void ConcurrentMultiIncrExecEndWithExactTotals()
    {
        const int clients = 8, perClient = 200;
        Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = clients }, _ =>
        {
            using var c = fx.Connect();
            for (int i = 0; i < perClient; i++)
            {
                Assert.Equal("+OK", c.CallS("MULTI"));
                Assert.Equal("+QUEUED", c.CallS("INCR", "tx:a"));
                Assert.Equal("+QUEUED", c.CallS("INCRBY", "tx:b", "2"));
                var r = c.Call("EXEC");
                Assert.Equal(2, r.Items!.Count);
                // Atomic: both counters moved together, so b is always exactly twice a.
                Assert.Equal(r.Items[0].Integer * 2, r.Items[1].Integer);
            }
        });
        using var check = fx.Connect();
        Assert.Equal("\"" + clients * perClient + "\"", check.CallS("GET", "tx:a"));
        Assert.Equal("\"" + clients * perClient * 2 + "\"", check.CallS("GET", "tx:b"));
    }

    [Fact]
    public void WatchCheckAndSetLoopsLoseNoUpdate()
    {
        const int clients = 8, perClient = 100;
        using (var c = fx.Connect()) c.Call("SET", "cas:counter", "0");
        int retries = 0;
        Parallel.For(0, clients, new ParallelOptions { MaxDegreeOfParallelism = clients }, _ =>
        {
            using var c = fx.Connect();
            for (int i = 0; i < perClient; i++)
            {
                while (true)
                {
                    c.Call("WATCH", "cas:counter");
                    long v = long.Parse(c.Call("GET", "cas:counter").Text!);
                    c.Call("MULTI");
                    c.Call("SET", "cas:counter", (v + 1).ToString());
                    if (!c.Call("EXEC").IsNull) break;
                    Interlocked.Increment(ref retries);
                }
            }
        });
        using var check = fx.Connect();
        Assert.Equal((clients * perClient).ToString(), check.Call("GET", "cas:counter").Text);
    }

    [Fact]
    public async Task ExecRunsTheQueueWithoutInterleaving()
    {
        const int writers = 4, readers = 2, rounds = 200;
        int torn = 0, reads = 0;
        var tasks = new List<Task>();
        for (int w = 0; w < writers; w++)
        {
            int id = w;
            tasks.Add(Task.Run(() =>
            {
                using var c = fx.Connect();
                for (int i = 0; i < rounds; i++)
                {
                    string v = $"{id}-{i}";
                    c.Call("MULTI");
                    c.Call("SET", "pair:a", v);
                    c.Call("SET", "pair:b", v);
                    Assert.Equal("*[+OK, +OK]", c.CallS("EXEC"));
                }
            }));
        }
        for (int r = 0; r < readers; r++)
        {
            tasks.Add(Task.Run(() =>
            {
                using var c = fx.Connect();
                for (int i = 0; i < rounds; i++)
                {
                    c.Call("MULTI");
                    c.Call("GET", "pair:a");
                    c.Call("GET", "pair:b");
                    var r2 = c.Call("EXEC");
                    Interlocked.Increment(ref reads);
                    if (r2.Items![0].Text != r2.Items[1].Text) Interlocked.Increment(ref torn);
                }
            }));
        }
        await Task.WhenAll(tasks);
        Assert.Equal(readers * rounds, reads);
        Assert.Equal(0, torn);
    }

    [Fact]
    public void DisconnectDropsWatchesAndSubscriptions()
    {
        using var observer = fx.Connect();
        using (var gone = fx.Connect())
        {
            gone.Call("WATCH", "disc:k");
            gone.Call("SUBSCRIBE", "disc:ch");
            gone.Call("PSUBSCRIBE", "disc:*");
            Assert.Equal("*[\"disc:ch\", :1]", observer.CallS("PUBSUB", "NUMSUB", "disc:ch"));
        }
        // The server notices the close on its next loop iteration.
        string numsub = "";
        for (int i = 0; i < 100 && numsub != "*[\"disc:ch\", :0]"; i++)
        {
            Thread.Sleep(20);
            numsub = observer.CallS("PUBSUB", "NUMSUB", "disc:ch");
        }
        Assert.Equal("*[\"disc:ch\", :0]", numsub);
        Assert.Equal(":0", observer.CallS("PUBLISH", "disc:ch", "x"));
        Assert.Equal(":0", observer.CallS("PUBSUB", "NUMPAT"));
        observer.Call("SET", "disc:k", "v"); // touching a key nobody watches any more must not fail
        Assert.Equal("$nil", observer.CallS("GET", "nokey"));
    }
}
