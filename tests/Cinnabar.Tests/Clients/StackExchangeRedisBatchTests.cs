// Pipelining as StackExchange.Redis does it: many async commands in flight on one connection,
// an IBatch sent as one write, fire-and-forget commands, and several threads sharing the
// multiplexer. Replies must come back in order and complete the right tasks.
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisBatchTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task Pipelined_commands_complete_in_order(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var increments = Enumerable.Range(0, 2000).Select(_ => db.StringIncrementAsync("counter")).ToArray();
        var results = await Task.WhenAll(increments).WaitAsync(Bound);
        Assert.Equal(Enumerable.Range(1, 2000).Select(i => (long)i), results);
        Assert.Equal(2000, (long)db.StringGet("counter"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task A_batch_runs_its_commands_together(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var batch = db.CreateBatch();
        var set = batch.StringSetAsync("a", "1");
        var push = batch.ListRightPushAsync("l", ["x", "y", "z"]);
        var incr = batch.StringIncrementAsync("a", 41);
        var range = batch.ListRangeAsync("l", 0, -1);
        var missing = batch.StringGetAsync("missing");
        var wrongType = batch.StringIncrementAsync("l");
        batch.Execute();

        Assert.True(await set.WaitAsync(Bound));
        Assert.Equal(3, await push.WaitAsync(Bound));
        Assert.Equal(42, await incr.WaitAsync(Bound));
        Assert.Equal(["x", "y", "z"], (await range.WaitAsync(Bound)).Select(v => (string?)v));
        Assert.True((await missing.WaitAsync(Bound)).IsNull);
        var ex = await Assert.ThrowsAsync<RedisServerException>(() => wrongType.WaitAsync(Bound));
        Assert.Equal("WRONGTYPE Operation against a key holding the wrong kind of value", ex.Message);
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Fire_and_forget_writes_land_before_a_later_read(Target target)
    {
        var db = targets.EmptyDatabase(target);
        for (int i = 0; i < 500; i++) db.SetAdd("fired", i, CommandFlags.FireAndForget);
        Assert.Equal(500, db.SetLength("fired"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task Threads_sharing_the_multiplexer_get_their_own_replies(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                string key = $"w{w}:{i}";
                await db.StringSetAsync(key, $"{w}-{i}");
                Assert.Equal($"{w}-{i}", await db.StringGetAsync(key));
            }
        }));
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1600, targets.Server(target).DatabaseSize());
    }
}
