// Sentinel mode in process: the command table a Sentinel serves, the SENTINEL subcommands' replies
// and errors (texts as redis-sentinel 7.0.15 gives them), votes, the config file it writes, and
// the refusals at start-up (a bad `sentinel` line, `sentinel` outside Sentinel mode, no config file).
using Cinnabar.Server;
using Cinnabar.Tests.Support;
using Xunit;

namespace Cinnabar.Tests.Sentinel;

public sealed class SentinelCommandTests : IDisposable
{
    readonly string _conf = Path.Combine(Path.GetTempPath(), "cinnabar-sentinel-test-" + Guid.NewGuid().ToString("N") + ".conf");
    readonly ServerFixture _fixture;
    readonly int _deadPort = CinnabarProcess.FreePort();

    public SentinelCommandTests()
    {
        File.WriteAllText(_conf, $"sentinel monitor mymaster 127.0.0.1 {_deadPort} 2\n");
        _fixture = new ServerFixture(c =>
        {
            c.SentinelMode = true;
            c.ConfigFile = _conf;
            ConfigLoader.LoadFromString(c, File.ReadAllText(_conf), Path.GetTempPath());
        });
    }

    public void Dispose()
    {
        _fixture.Dispose();
        File.Delete(_conf);
    }

    RespClient Connect() => _fixture.Connect();

    [Fact]
    public void Only_the_sentinel_command_table_is_served()
    {
        using var c = Connect();
        Assert.Equal("-ERR unknown command 'get', with args beginning with: 'x' ", c.CallS("get", "x"));
        Assert.Equal("-ERR unknown command 'config', with args beginning with: 'get' 'port' ", c.CallS("config", "get", "port"));
        Assert.Equal("15", c.CallS("COMMAND", "COUNT").TrimStart(':'));
        Assert.Equal("-ERR unknown subcommand 'foo'. Try SENTINEL HELP.", c.CallS("SENTINEL", "foo"));
        Assert.Equal("-ERR wrong number of arguments for 'sentinel|masters' command", c.CallS("SENTINEL", "MASTERS", "x"));
        Assert.Equal("-ERR Only HELLO messages are accepted by Sentinel instances.", c.CallS("PUBLISH", "a", "b"));
        var role = c.Call("ROLE");
        Assert.Equal("sentinel", role.Items![0].Text);
        Assert.Equal("mymaster", role.Items[1].Items![0].Text);
        string info = c.Call("INFO").Text!;
        Assert.Contains("redis_mode:sentinel", info);
        Assert.Contains("# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n", info);
        Assert.Contains($"master0:name=mymaster,status=", info);
        Assert.DoesNotContain("# Keyspace", info);
    }

    [Fact]
    public void Monitor_and_set_validate_as_redis_sentinel_does()
    {
        using var c = Connect();
        Assert.Equal("-ERR Quorum must be 1 or greater.", c.CallS("SENTINEL", "MONITOR", "m2", "127.0.0.1", "7000", "0"));
        Assert.Equal("-ERR Invalid IP address or hostname specified", c.CallS("SENTINEL", "MONITOR", "m2", "nohost", "7000", "1"));
        Assert.Equal("-ERR Duplicate master name.", c.CallS("SENTINEL", "MONITOR", "mymaster", "127.0.0.1", "7000", "1"));
        Assert.Equal("-ERR Invalid port", c.CallS("SENTINEL", "MONITOR", "m3", "127.0.0.1", "abc", "1"));
        Assert.Equal("-ERR No such master with that name", c.CallS("SENTINEL", "MASTER", "nope"));
        Assert.True(c.Call("SENTINEL", "GET-MASTER-ADDR-BY-NAME", "nope").IsNull);
        Assert.Equal("-ERR Invalid argument 'x' for SENTINEL SET 'quorum'", c.CallS("SENTINEL", "SET", "mymaster", "quorum", "x"));
        Assert.Equal("-ERR Unknown option or number of arguments for SENTINEL SET 'foo'", c.CallS("SENTINEL", "SET", "mymaster", "foo", "1"));
        Assert.StartsWith("-ERR Reconfiguration of scripts path is denied", c.CallS("SENTINEL", "SET", "mymaster", "notification-script", "/bin/true"));
        Assert.Equal("-ERR Invalid argument 'foo' to SENTINEL CONFIG SET", c.CallS("SENTINEL", "CONFIG", "SET", "foo", "1"));
        Assert.Equal("-ERR Invalid value '70000' to SENTINEL CONFIG SET 'announce-port'", c.CallS("SENTINEL", "CONFIG", "SET", "announce-port", "70000"));
        Assert.Equal("-ERR Only SENTINEL CONFIG GET <option> / SET <option> <value> are supported.", c.CallS("SENTINEL", "CONFIG", "foo"));
        Assert.Equal("-ERR Unknown option or number of arguments for SENTINEL DEBUG 'foo'", c.CallS("SENTINEL", "DEBUG", "foo"));
        Assert.Equal("-ERR Invalid argument '0' for SENTINEL DEBUG 'info-period'", c.CallS("SENTINEL", "DEBUG", "info-period", "0"));
        Assert.Equal("-ERR Unknown failure simulation specified", c.CallS("SENTINEL", "SIMULATE-FAILURE", "foo"));
        Assert.Equal("-NOGOODSLAVE No suitable replica to promote", c.CallS("SENTINEL", "FAILOVER", "mymaster"));
        Assert.Equal("-NOQUORUM 1 usable Sentinels. Not enough available Sentinels to reach the specified quorum for this master", c.CallS("SENTINEL", "CKQUORUM", "mymaster"));

        Assert.Equal("+OK", c.CallS("SENTINEL", "SET", "mymaster", "quorum", "1", "down-after-milliseconds", "1234", "auth-pass", "secret"));
        Assert.Equal("+OK 1 usable Sentinels. Quorum and failover authorization can be reached", c.CallS("SENTINEL", "CKQUORUM", "mymaster"));
        var master = c.Call("SENTINEL", "MASTER", "mymaster").Items!;
        Assert.Equal("1234", Field(master, "down-after-milliseconds"));
        Assert.Equal("1", Field(master, "quorum"));
        string conf = File.ReadAllText(_conf);
        Assert.Contains("sentinel down-after-milliseconds mymaster 1234", conf);
        Assert.Contains("sentinel auth-pass mymaster secret", conf);
        Assert.Contains($"sentinel monitor mymaster 127.0.0.1 {_deadPort} 1", conf);

        var debug = c.Call("SENTINEL", "DEBUG").Items!;
        Assert.Equal(["INFO-PERIOD", "PING-PERIOD", "ASK-PERIOD", "PUBLISH-PERIOD", "DEFAULT-DOWN-AFTER", "DEFAULT-FAILOVER-TIMEOUT", "TILT-TRIGGER",
            "TILT-PERIOD", "SLAVE-RECONF-TIMEOUT", "MIN-LINK-RECONNECT-PERIOD", "ELECTION-TIMEOUT", "SCRIPT-MAX-RUNTIME", "SCRIPT-RETRY-DELAY"],
            debug.Where((_, i) => i % 2 == 0).Select(i => i.Text));
        Assert.Equal("+OK", c.CallS("SENTINEL", "REMOVE", "mymaster"));
        Assert.Empty(c.Call("SENTINEL", "MASTERS").Items!);
        Assert.DoesNotContain("sentinel monitor", File.ReadAllText(_conf));
    }

    static string Field(List<RespReply> map, string name)
    {
        for (int i = 0; i + 1 < map.Count; i += 2)
            if (map[i].Text == name) return map[i + 1].Text!;
        return "";
    }

    [Fact]
    public void A_sentinel_votes_once_per_epoch_and_adopts_greater_epochs()
    {
        using var c = Connect();
        string a = new('a', 40), b = new('b', 40);
        var first = c.Call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", _deadPort.ToString(), "5", a).Items!;
        Assert.Equal(a, first[1].Text);
        Assert.Equal("5", first[2].Text);
        var second = c.Call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", _deadPort.ToString(), "5", b).Items!;
        Assert.Equal(a, second[1].Text); // the vote of epoch 5 stays
        var next = c.Call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.1", _deadPort.ToString(), "6", b).Items!;
        Assert.Equal(b, next[1].Text);
        var unknown = c.Call("SENTINEL", "IS-MASTER-DOWN-BY-ADDR", "127.0.0.2", "1", "7", b).Items!;
        Assert.Equal(["0", "*", "0"], unknown.Select(i => i.Text));
        string conf = File.ReadAllText(_conf);
        Assert.Contains("sentinel current-epoch 6", conf);
        Assert.Contains("sentinel leader-epoch mymaster 6", conf);
        Assert.Matches("sentinel myid [0-9a-f]{40}", conf);
    }

    [Fact]
    public void A_hello_through_publish_adds_the_sentinel_and_its_epoch()
    {
        using var c = Connect();
        string id = new('c', 40);
        Assert.Equal(":1", c.CallS("PUBLISH", "__sentinel__:hello", $"127.0.0.1,26999,{id},3,mymaster,127.0.0.1,{_deadPort},0"));
        var sentinels = c.Call("SENTINEL", "SENTINELS", "mymaster").Items!;
        Assert.Single(sentinels);
        Assert.Equal(id, Field(sentinels[0].Items!, "runid"));
        Assert.Contains($"sentinel known-sentinel mymaster 127.0.0.1 26999 {id}", File.ReadAllText(_conf));
        Assert.Contains("sentinel current-epoch 3", File.ReadAllText(_conf));
    }

    [Fact]
    public void Bad_sentinel_config_lines_are_fatal()
    {
        var config = new ServerConfig { SentinelMode = true };
        ConfigLoader.LoadFromString(config, "sentinel down-after-milliseconds nope 1000\n", Path.GetTempPath());
        var e = Assert.Throws<ConfigException>(() => new CinnabarServer(config));
        Assert.Contains("*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***", e.Message);
        Assert.Contains(">>> 'sentinel down-after-milliseconds nope 1000'\nNo such master with specified name.", e.Message);

        var plain = new ServerConfig();
        var e2 = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFromString(plain, "sentinel monitor m 127.0.0.1 6379 2\n", Path.GetTempPath()));
        Assert.EndsWith("sentinel directive while not in sentinel mode", e2.Message);
    }

    [Fact]
    public void A_sentinel_without_a_config_file_refuses_to_start()
    {
        using var p = new CinnabarProcess(Path.GetTempPath(), "--sentinel");
        Assert.Equal(1, p.WaitForExit(TimeSpan.FromSeconds(20)));
        Assert.Contains("Sentinel needs config file on disk to save state. Exiting...", p.Log);
    }
}
