// The administrative side of StackExchange.Redis's IServer: INFO as the client parses it,
// CONFIG GET/SET, CLIENT LIST and CLIENT KILL, KEYS and the SCAN paging behind IServer.Keys
// (including resuming from a saved cursor), and the small server calls (DBSIZE, TIME, ROLE).
// Where both servers describe themselves, their descriptions are compared with each other.
using Cinnabar.Tests.Support;
using StackExchange.Redis;

namespace Cinnabar.Tests.Clients;

public sealed class StackExchangeRedisAdminTests(ClientTargets targets) : IClassFixture<ClientTargets>
{
    static Dictionary<string, string> Section(IServer server, string section) =>
        server.Info(section).Single(g => g.Key.Equals(section, StringComparison.OrdinalIgnoreCase)).ToDictionary(p => p.Key, p => p.Value);

    [RequiresToolsTheory("redis-server"), Targets]
    public void Info_reports_the_version_clients_and_keyspace(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var server = targets.Server(target);
        db.StringSet("a", "1");
        db.StringSet("b", "2", TimeSpan.FromMinutes(5));
        db.HashSet("c", "f", "v");

        Assert.Equal("7.0.15", Section(server, "server")["redis_version"]);
        Assert.Equal(new Version(7, 0, 15), server.Version);
        Assert.Equal("standalone", Section(server, "server")["redis_mode"]);
        Assert.True(int.Parse(Section(server, "clients")["connected_clients"]) >= 1);
        Assert.StartsWith("keys=3,expires=1,avg_ttl=", Section(server, "keyspace")["db0"]);
        Assert.Equal("master", Section(server, "replication")["role"]);
        Assert.Contains("# Keyspace", server.InfoRaw("keyspace"));
    }

    [RequiresToolsFact("redis-server")]
    public void Info_has_the_same_sections_and_fields_as_redis_servers()
    {
        // Field values differ (pids, ports, memory), names must not: dashboards read them.
        static Dictionary<string, string[]> Shape(IServer server) =>
            server.Info("default").ToDictionary(g => g.Key, g => g.Select(p => p.Key).Order().ToArray());

        var ours = Shape(targets.Server(Target.Cinnabar));
        var theirs = Shape(targets.Server(Target.Redis));
        Assert.Equal(theirs.Keys.Order(), ours.Keys.Order());
        foreach (var section in new[] { "Server", "Clients", "Persistence", "Stats", "Replication" })
        {
            var missing = theirs[section].Except(ours[section]).ToArray();
            Assert.True(missing.Length == 0, $"INFO {section} lacks {string.Join(", ", missing)}");
        }
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Config_get_and_set_round_trip(Target target)
    {
        var server = targets.Server(target);
        Assert.Equal([new("maxmemory-policy", "noeviction")], server.ConfigGet("maxmemory-policy"));
        server.ConfigSet("maxmemory-policy", "allkeys-lru");
        try
        {
            Assert.Equal("allkeys-lru", server.ConfigGet("maxmemory-policy").Single().Value);
        }
        finally
        {
            server.ConfigSet("maxmemory-policy", "noeviction");
        }
        Assert.Equal("noeviction", server.ConfigGet("maxmemory-policy").Single().Value);
        var ex = Assert.Throws<RedisServerException>(() => server.ConfigSet("maxmemory-policy", "sometimes"));
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction", ex.Message);
    }

    [RequiresToolsFact("redis-server")]
    public void Config_get_by_pattern_matches_redis_servers_names_and_defaults()
    {
        foreach (var pattern in new[] { "*-max-*-entries", "*listpack*", "hz", "timeout", "databases", "maxmemory*" })
        {
            var ours = targets.Server(Target.Cinnabar).ConfigGet(pattern).OrderBy(p => p.Key).ToArray();
            var theirs = targets.Server(Target.Redis).ConfigGet(pattern).OrderBy(p => p.Key).ToArray();
            Assert.NotEmpty(theirs);
            Assert.Equal(theirs, ours);
        }
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Client_list_shows_a_named_client_and_kill_removes_it(Target target)
    {
        using var app = targets.Connect(target, o => o.ClientName = "billing-worker");
        app.GetDatabase().StringGet("anything");
        var server = targets.Server(target);
        var entry = server.ClientList().Single(c => c.Name == "billing-worker" && c.ClientType == ClientType.Normal);
        Assert.Equal(0, entry.Database);
        Assert.Equal("127.0.0.1", entry.Host);
        Assert.Equal("get", entry.LastCommand);
        Assert.Equal(ClientFlags.None, entry.Flags);

        Assert.Equal(1, server.ClientKill(id: entry.Id));
        Assert.DoesNotContain(server.ClientList(), c => c.Id == entry.Id);
    }

    [RequiresToolsFact("redis-server")]
    public void Client_list_has_redis_servers_fields_in_its_order()
    {
        static string[] Fields(Target target, ClientTargets targets)
        {
            var raw = targets.Server(target).ClientList().First().Raw!;
            return [.. raw.Split(' ').Select(f => f[..f.IndexOf('=')])];
        }
        Assert.Equal(Fields(Target.Redis, targets), Fields(Target.Cinnabar, targets));
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Keys_pages_through_scan_and_resumes_from_a_cursor(Target target)
    {
        var db = targets.EmptyDatabase(target);
        var server = targets.Server(target);
        for (int i = 0; i < 250; i++) db.StringSet("user:" + i, i, flags: CommandFlags.FireAndForget);
        for (int i = 0; i < 40; i++) db.StringSet("order:" + i, i, flags: CommandFlags.FireAndForget);
        Assert.Equal(290, server.DatabaseSize());

        var users = server.Keys(pattern: "user:*", pageSize: 10).Select(k => (string)k!).ToList();
        Assert.Equal(Enumerable.Range(0, 250).Select(i => "user:" + i).Order(), users.Order());

        var scan = server.Keys(pattern: "user:*", pageSize: 10);
        var firstPart = new List<string>();
        long cursor;
        int offset;
        using (var e = scan.GetEnumerator())
        {
            while (firstPart.Count < 35 && e.MoveNext()) firstPart.Add(e.Current!);
            var scanning = (IScanningCursor)scan;
            cursor = scanning.Cursor;
            offset = scanning.PageOffset;
        }
        var rest = server.Keys(pattern: "user:*", pageSize: 10, cursor: cursor, pageOffset: offset + 1).Select(k => (string)k!);
        var resumed = firstPart.Concat(rest).ToList();
        Assert.Equal(250, resumed.Distinct().Count());

        var keys = (RedisResult[])server.Execute("KEYS", "order:1*")!;
        Assert.Equal(["order:1", .. Enumerable.Range(10, 10).Select(i => "order:" + i)], keys.Select(k => (string)k!).Order());
        server.FlushDatabase();
        Assert.Equal(0, server.DatabaseSize());
    }

    [RequiresToolsTheory("redis-server"), Targets]
    public void Small_server_calls_answer(Target target)
    {
        var server = targets.Server(target);
        Assert.InRange((server.Time() - DateTime.UtcNow).Duration().TotalSeconds, 0, 5);
        Assert.Equal("hi", server.Echo("hi"));
        Assert.True(server.Ping() < TimeSpan.FromSeconds(5));
        Assert.IsType<Role.Master>(server.Role());
        Assert.Equal(ServerType.Standalone, server.ServerType);
        Assert.Equal(16, server.DatabaseCount);
        Assert.True(server.Features.Streams);
    }
}
