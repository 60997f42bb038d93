// Helpers shared by the AOF tests: an in-process server over a given `dir` (restartable on the
// same files, its log captured), a mixed dataset that exercises every AOF form (multi-db,
// batches over 64 items, TTLs, MULTI/EXEC), and a canonical dump of a dataset to compare two
// servers (Cinnabar's DEBUG DIGEST is not Redis's, so interop compares dumps).
using System.Text;
using Cinnabar.Server;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Persistence;

public sealed class AofServer : IDisposable
{
    readonly StringWriter _log = new();
    public CinnabarServer Server { get; }

    public AofServer(string dir, params string[] options)
    {
        var config = new ServerConfig { Port = 0, Bind = ["127.0.0.1"], Dir = dir };
        config.Set("enable-debug-command", "yes", startup: true);
        config.Set("save", "", startup: true);
        config.Set("appendonly", "yes", startup: true);
        for (int i = 0; i < options.Length; i += 2) Assert.Null(config.Set(options[i], options[i + 1], startup: true));
        Server = new CinnabarServer(config);
        Server.Log.Console = TextWriter.Synchronized(_log);
        Server.Start();
    }

    public string Log => _log.ToString();

    public RespClient Connect() => new(Server.Port);

    public void Dispose() => Server.Stop();

    /// <summary>Starting must fail: returns the log (the server refused to load).</summary>
    public static string StartFails(string dir, params string[] options)
    {
        var config = new ServerConfig { Port = 0, Bind = ["127.0.0.1"], Dir = dir };
        config.Set("save", "", startup: true);
        config.Set("appendonly", "yes", startup: true);
        for (int i = 0; i < options.Length; i += 2) config.Set(options[i], options[i + 1], startup: true);
        var server = new CinnabarServer(config);
        var log = new StringWriter();
        server.Log.Console = TextWriter.Synchronized(log);
        Assert.Throws<InvalidOperationException>(server.Start);
        return log.ToString();
    }
}

public static class AofData
{
    public static string NewDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), "cinnabar-aof-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void DeleteDir(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException) { }
    }

    /// <summary>Strings, ints, lists/sets/hashes/zsets both small and past 64 items, TTLs, a transaction, three dbs.</summary>
    public static void Write(RespClient c, string prefix = "")
    {
        Assert.Equal("+OK", c.CallS("SET", prefix + "s", "hello"));
        c.Call("SET", prefix + "n", "12345");
        c.Call("INCRBY", prefix + "n", "5");
        c.Call("SET", prefix + "ttl", "v", "EX", "1000");
        c.Call("SET", prefix + "pttl", "v");
        c.Call("PEXPIRE", prefix + "pttl", "5000000");
        c.Call("RPUSH", prefix + "l", "a", "b", "1", "2");
        for (int i = 0; i < 150; i++) c.Call("RPUSH", prefix + "biglist", "item" + i);
        c.Call("SADD", prefix + "iset", "1", "2", "3");
        c.Call("SADD", prefix + "sset", "x", "y");
        for (int i = 0; i < 130; i++) c.Call("SADD", prefix + "bigset", "m" + i);
        c.Call("HSET", prefix + "h", "f1", "v1", "f2", "2");
        for (int i = 0; i < 600; i++) c.Call("HSET", prefix + "bighash", "f" + i, "v" + i);
        c.Call("ZADD", prefix + "z", "1.5", "a", "-2", "b", "3", "c");
        for (int i = 0; i < 200; i++) c.Call("ZADD", prefix + "bigz", (i * 0.25).ToString(System.Globalization.CultureInfo.InvariantCulture), "e" + i);
        c.Call("MULTI");
        c.Call("SET", prefix + "tx1", "1");
        c.Call("INCR", prefix + "tx2");
        Assert.Equal("*[+OK, :1]", c.CallS("EXEC"));
        c.Call("DEL", prefix + "s2");
        c.Call("SET", prefix + "gone", "x");
        c.Call("DEL", prefix + "gone");
        c.Call("SELECT", "2");
        c.Call("SET", prefix + "db2", "two");
        c.Call("LPUSH", prefix + "db2list", "z");
        c.Call("SELECT", "5");
        c.Call("HSET", prefix + "db5", "k", "v");
        c.Call("SELECT", "0");
    }

    /// <summary>Every key of dbs 0..15 with its type, contents (order-free where the type is) and whether it has a TTL.</summary>
    public static string Dump(RespClient c)
    {
        var lines = new List<string>();
        for (int db = 0; db < 16; db++)
        {
            c.Call("SELECT", db.ToString());
            var keys = c.Call("KEYS", "*").Items!.Select(k => k.Text!).ToList();
            foreach (var k in keys)
            {
                string type = c.Call("TYPE", k).Text!;
                string content = type switch
                {
                    "string" => c.CallS("GET", k),
                    "list" => c.CallS("LRANGE", k, "0", "-1"),
                    "set" => string.Join(",", c.Call("SMEMBERS", k).Items!.Select(i => i.Text).Order(StringComparer.Ordinal)),
                    "hash" => string.Join(",", Pairs(c.Call("HGETALL", k)).Order(StringComparer.Ordinal)),
                    "zset" => c.CallS("ZRANGE", k, "0", "-1", "WITHSCORES"),
                    _ => "?",
                };
                bool ttl = c.Call("PTTL", k).Integer > 0;
                lines.Add($"{db} {k} {type} {content} ttl={ttl}");
            }
        }
        c.Call("SELECT", "0");
        lines.Sort(StringComparer.Ordinal);
        return string.Join("\n", lines);
    }

    static IEnumerable<string> Pairs(RespReply r)
    {
        var items = r.Items!;
        for (int i = 0; i + 1 < items.Count; i += 2) yield return items[i].Text + "=" + items[i + 1].Text;
    }

    public static string Info(RespClient c, string field)
    {
        var text = c.Call("INFO", "persistence").Text!;
        foreach (var line in text.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return line[(field.Length + 1)..];
        return "";
    }

    /// <summary>Waits until no rewrite is in progress or scheduled (waitForBgrewriteaof).</summary>
    public static void WaitRewrite(RespClient c)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.ElapsedMilliseconds < 10000 && (Info(c, "aof_rewrite_in_progress") != "0" || Info(c, "aof_rewrite_scheduled") != "0")) Thread.Sleep(20);
        Assert.Equal("0", Info(c, "aof_rewrite_in_progress"));
    }

    public static string IncrPath(string dir, int seq) => Path.Combine(dir, "appendonlydir", $"appendonly.aof.{seq}.incr.aof");

    public static string Manifest(string dir) => File.ReadAllText(Path.Combine(dir, "appendonlydir", "appendonly.aof.manifest"));

    public static void Append(string path, string text) => File.AppendAllText(path, text, Encoding.Latin1);
}
