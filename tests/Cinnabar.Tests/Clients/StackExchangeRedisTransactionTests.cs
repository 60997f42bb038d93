// MULTI/EXEC through StackExchange.Redis's ITransaction: commands queue and run together, and
// AddCondition (which the client turns into WATCH plus reads it checks before EXEC) commits
// only when every condition holds; otherwise nothing is applied and the queued tasks cancel.
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisTransactionTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task A_transaction_applies_its_commands_and_returns_their_replies(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var tran = db.CreateTransaction();
        var set = tran.StringSetAsync("balance", 100);
        var debit = tran.StringDecrementAsync("balance", 30);
        var log = tran.ListRightPushAsync("log", "debit 30");
        Assert.True(await tran.ExecuteAsync().WaitAsync(Bound));
        Assert.True(await set);
        Assert.Equal(70, await debit);
        Assert.Equal(1, await log);
        Assert.Equal(70, (long)db.StringGet("balance"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task A_command_that_fails_inside_exec_leaves_the_others_applied(Target target)
    {
        var db = targets.EmptyDatabase(target);
        db.StringSet("text", "not a number");
        var tran = db.CreateTransaction();
        var bad = tran.StringIncrementAsync("text");
        var good = tran.StringSetAsync("after", "ran");
        Assert.True(await tran.ExecuteAsync().WaitAsync(Bound));
        var ex = await Assert.ThrowsAsync<RedisServerException>(() => bad);
        Assert.Equal("ERR value is not an integer or out of range", ex.Message);
        Assert.True(await good);
        Assert.Equal("ran", db.StringGet("after"));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task A_met_condition_commits_and_a_broken_one_applies_nothing(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var first = db.CreateTransaction();
        first.AddCondition(Condition.KeyNotExists("lock"));
        var taken = first.StringSetAsync("lock", "owner-1");
        var logged = first.ListRightPushAsync("lock-log", "owner-1");
        Assert.True(await first.ExecuteAsync().WaitAsync(Bound));
        Assert.True(await taken);
        Assert.Equal(1, await logged);

        var second = db.CreateTransaction();
        second.AddCondition(Condition.KeyNotExists("lock"));
        var stolen = second.StringSetAsync("lock", "owner-2");
        var stolenLog = second.ListRightPushAsync("lock-log", "owner-2");
        Assert.False(await second.ExecuteAsync().WaitAsync(Bound));
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => stolen);
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => stolenLog);
        Assert.Equal("owner-1", db.StringGet("lock"));
        Assert.Equal(["owner-1"], db.ListRange("lock-log").Select(v => (string?)v));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public async Task Conditions_on_values_lengths_and_members(Target target)
    {
        var db = targets.EmptyDatabase(target);
        db.StringSet("version", "7");
        db.HashSet("doc", [new("state", "draft"), new("owner", "ann")]);
        db.ListRightPush("queue", ["a", "b"]);
        db.SortedSetAdd("ranks", [new("x", 1), new("y", 2)]);
        db.SetAdd("members", "ann");

        var passing = db.CreateTransaction();
        passing.AddCondition(Condition.StringEqual("version", "7"));
        passing.AddCondition(Condition.HashEqual("doc", "state", "draft"));
        passing.AddCondition(Condition.HashNotExists("doc", "deleted"));
        passing.AddCondition(Condition.ListLengthEqual("queue", 2));
        passing.AddCondition(Condition.ListIndexEqual("queue", 0, "a"));
        passing.AddCondition(Condition.SortedSetLengthEqual("ranks", 2));
        passing.AddCondition(Condition.SortedSetEqual("ranks", "y", 2));
        passing.AddCondition(Condition.SetContains("members", "ann"));
        passing.AddCondition(Condition.KeyExists("version"));
        passing.AddCondition(Condition.StringLengthEqual("version", 1));
        var publish = passing.HashSetAsync("doc", "state", "published");
        var bump = passing.StringIncrementAsync("version");
        Assert.True(await passing.ExecuteAsync().WaitAsync(Bound));
        Assert.False(await publish);
        Assert.Equal(8, await bump);

        var stale = db.CreateTransaction();
        stale.AddCondition(Condition.StringEqual("version", "7"));
        stale.AddCondition(Condition.HashEqual("doc", "state", "published"));
        var overwrite = stale.HashSetAsync("doc", "state", "draft");
        Assert.False(await stale.ExecuteAsync().WaitAsync(Bound));
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => overwrite);
        Assert.Equal("published", db.HashGet("doc", "state"));
        Assert.Equal("8", db.StringGet("version"));
    }
}
