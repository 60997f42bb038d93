// What the cluster topology tests share: ports whose bus port is free too, redis-cli --cluster,
// CLUSTER INFO/NODES/SLOTS readers, a bounded wait, redis-server cluster nodes started by pid,
// and ClusterWriter, a client that follows -MOVED/-ASK and retries -TRYAGAIN as cluster
// clients do, keeping what it knows was acknowledged so a test can prove nothing was lost.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Cinnabar.Cluster;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Cluster;

static class ClusterTestKit
{
    public const int NodeTimeoutMs = 1000;
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(40);
    static readonly Random PortRandom = new();

    public static string[] CinnabarOptions => ["--cluster-enabled", "yes", "--cluster-node-timeout", NodeTimeoutMs.ToString(), "--appendonly", "no"];

    /// <summary>A port below 55535 whose bus port (port + 10000) is free too.</summary>
    public static int ClusterPort()
    {
        while (true)
        {
            int p = PortRandom.Next(20000, 30000);
            if (IsFree(p) && IsFree(p + 10000)) return p;
        }
    }

    static bool IsFree(int port)
    {
        try
        {
            var l = new TcpListener(IPAddress.Loopback, port);
            l.Start();
            l.Stop();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public static ToolResult Cli(params string[] args) => ToolProcess.Run("redis-cli", args, timeout: TimeSpan.FromSeconds(120));

    /// <summary>redis-cli --cluster ..., asserting it succeeded.</summary>
    public static ToolResult ClusterCli(params string[] args)
    {
        var r = Cli(["--cluster", .. args]);
        if (r.ExitCode != 0) throw new InvalidOperationException("redis-cli --cluster " + string.Join(' ', args) + " failed: " + r);
        return r;
    }

    public static string Info(int port, string field)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        foreach (var line in c.Call("CLUSTER", "INFO").Text!.Split("\r\n"))
            if (line.StartsWith(field + ":", StringComparison.Ordinal)) return line[(field.Length + 1)..];
        return "";
    }

    public static void WaitFor(Func<bool> condition, string what)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < Bound)
        {
            try
            {
                if (condition()) return;
            }
            catch (Exception e) when (e is SocketException or IOException) { }
            Thread.Sleep(100);
        }
        throw new TimeoutException($"timed out waiting for {what}");
    }

    /// <summary>Until redis-cli --cluster check is clean from the given node (every node agrees, every slot covered, none open).</summary>
    public static void WaitForAgreement(int port) =>
        WaitFor(() => Cli("--cluster", "check", $"127.0.0.1:{port}").ExitCode == 0, $"the nodes seen from {port} to agree");

    /// <summary>A one-shot call that follows -MOVED and -ASK.</summary>
    public static RespReply ClusterCall(int anyPort, params string[] args)
    {
        int port = anyPort;
        bool asking = false;
        for (int hop = 0; hop < 5; hop++)
        {
            using var c = new RespClient(port, timeoutMs: 5000);
            if (asking) c.Call("ASKING");
            var r = c.Call(args);
            if (r.IsError && (r.Text!.StartsWith("MOVED ", StringComparison.Ordinal) || r.Text.StartsWith("ASK ", StringComparison.Ordinal)))
            {
                asking = r.Text.StartsWith("ASK ", StringComparison.Ordinal);
                port = int.Parse(r.Text[(r.Text.LastIndexOf(':') + 1)..]);
                continue;
            }
            return r;
        }
        throw new InvalidOperationException("too many redirections");
    }

    public static string MyId(int port)
    {
        using var c = new RespClient(port);
        return c.Call("CLUSTER", "MYID").Text!;
    }

    public static string Nodes(int port)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        return c.Call("CLUSTER", "NODES").Text!;
    }

    public static string Role(int port)
    {
        using var c = new RespClient(port, timeoutMs: 2000);
        return c.Call("ROLE").Items![0].Text!;
    }

    /// <summary>The port of the node that owns each slot, from CLUSTER SLOTS as one node sees it.</summary>
    public static int[] SlotOwners(int port)
    {
        var owners = new int[16384];
        Array.Fill(owners, -1);
        using var c = new RespClient(port, timeoutMs: 2000);
        foreach (var range in c.Call("CLUSTER", "SLOTS").Items!)
        {
            int owner = (int)range.Items![2].Items![1].Integer;
            for (long s = range.Items[0].Integer; s <= range.Items[1].Integer; s++) owners[s] = owner;
        }
        return owners;
    }

    public static bool OwnsSlot(int port, int slot) => SlotOwners(port)[slot] == port;

    public static int SlotCount(int port) => SlotOwners(port).Count(o => o == port);

    public static int SlotOf(string key) => KeyHashSlot.Of(Encoding.UTF8.GetBytes(key));

    public static string? ReplicaOfId(int port)
    {
        foreach (var line in Nodes(port).Split('\n'))
        {
            var f = line.Split(' ');
            if (f.Length > 3 && f[2].Contains("myself")) return f[3] == "-" ? null : f[3];
        }
        return null;
    }

    /// <summary>count keys prefix:i = v:i, each SET pipelined to the owner of its slot.</summary>
    public static Dictionary<string, string> Load(int anyPort, string prefix, int count)
    {
        var data = Enumerable.Range(0, count).ToDictionary(i => prefix + i, i => "v:" + i);
        var owners = SlotOwners(anyPort);
        foreach (var group in data.GroupBy(kv => owners[SlotOf(kv.Key)]))
        {
            using var c = new RespClient(group.Key, timeoutMs: 10000);
            var batch = group.ToList();
            foreach (var (key, value) in batch) c.Send("SET", key, value);
            foreach (var (key, _) in batch)
            {
                var r = c.Read();
                if (r.Text != "OK") throw new InvalidOperationException($"SET {key} on {group.Key}: {r}");
            }
        }
        return data;
    }

    /// <summary>
    /// Every key read from the node that owns its slot, with no redirection: the value is where
    /// the cluster says it is.
    /// </summary>
    public static void AssertEveryKeyOnItsOwner(int anyPort, IReadOnlyDictionary<string, string> expected)
    {
        var owners = SlotOwners(anyPort);
        var conns = new Dictionary<int, RespClient>();
        try
        {
            foreach (var (key, value) in expected)
            {
                int owner = owners[SlotOf(key)];
                if (owner < 0) throw new InvalidOperationException($"slot {SlotOf(key)} of {key} has no owner");
                if (!conns.TryGetValue(owner, out var c)) conns[owner] = c = new RespClient(owner, timeoutMs: 5000);
                var r = c.Call("GET", key);
                if (r.Text != value) throw new InvalidOperationException($"{key} (slot {SlotOf(key)}) on its owner {owner}: expected {value}, got {r}");
            }
        }
        finally
        {
            foreach (var c in conns.Values) c.Dispose();
        }
    }

    /// <summary>
    /// A redis-server 7.0 cluster node in a directory of its own, ended by pid on Dispose.
    /// </summary>
    public sealed class RedisNode : IDisposable
    {
        readonly Process _process;
        public int Port { get; }

        public RedisNode(string dir) : this(dir, ClusterPort()) { }

        /// <summary>A node on the given port with more options (a tls-port, say).</summary>
        public RedisNode(string dir, int port, params string[] options)
        {
            Port = port;
            var psi = new ProcessStartInfo(ExternalTools.Require("redis-server")) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--cluster-enabled", "yes", "--cluster-node-timeout", NodeTimeoutMs.ToString() }.Concat(options))
                psi.ArgumentList.Add(a);
            _process = Process.Start(psi)!;
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            WaitFor(() => { using var c = new RespClient(Port, timeoutMs: 1000); return c.CallS("PING") == "+PONG"; }, "redis-server to start");
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited) _process.Kill();
                _process.WaitForExit(5000);
            }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }

    /// <summary>A temporary directory for a test's nodes, removed at the end.</summary>
    public sealed class TempRoot(string prefix) : IDisposable
    {
        public readonly string Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));

        public string Dir(string name) => Directory.CreateDirectory(System.IO.Path.Combine(Path, name)).FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, recursive: true); }
            catch (IOException) { }
        }
    }
}

/// <summary>
/// A cluster client on a thread of its own that INCRs keys until stopped. It keeps a connection
/// per node and a slot map learned from -MOVED; -ASK is followed once with ASKING; -TRYAGAIN and
/// -CLUSTERDOWN are retried. Acked counts what the server confirmed; an INCR whose reply was lost
/// (a dropped connection) is counted in Unsure, so a key's final value must lie in
/// [Acked, Acked + Unsure].
/// </summary>
sealed class ClusterWriter : IDisposable
{
    readonly string[] _keys;
    readonly int[] _slotPort = new int[16384];
    readonly Dictionary<int, RespClient> _conns = new();
    readonly Thread _thread;
    volatile bool _stop;

    public readonly long[] Acked, Unsure;
    public long Redirections, Retries;
    public Exception? Failure;

    public ClusterWriter(int anyPort, string[] keys)
    {
        _keys = keys;
        Acked = new long[keys.Length];
        Unsure = new long[keys.Length];
        Array.Fill(_slotPort, anyPort);
        _thread = new Thread(Run) { IsBackground = true, Name = "cluster writer" };
        _thread.Start();
    }

    public long Total => Acked.Sum();

    void Run()
    {
        var random = new Random(7);
        try
        {
            while (!_stop)
            {
                int k = random.Next(_keys.Length);
                Incr(k);
            }
        }
        catch (Exception e)
        {
            Failure = e;
        }
    }

    void Incr(int k)
    {
        string key = _keys[k];
        int slot = ClusterTestKit.SlotOf(key);
        int port = _slotPort[slot];
        bool asking = false;
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            if (_stop && attempt > 0) { Unsure[k]++; return; }
            RespReply r;
            var c = Connection(port);
            try
            {
                if (asking) c.Call("ASKING");
                r = c.Call("INCR", key);
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                _conns.Remove(port);
                c.Dispose();
                Unsure[k]++;
                return;
            }
            if (!r.IsError)
            {
                Acked[k]++;
                return;
            }
            string text = r.Text!;
            if (text.StartsWith("MOVED ", StringComparison.Ordinal) || text.StartsWith("ASK ", StringComparison.Ordinal))
            {
                Redirections++;
                asking = text.StartsWith("ASK ", StringComparison.Ordinal);
                port = int.Parse(text[(text.LastIndexOf(':') + 1)..]);
                if (!asking) _slotPort[slot] = port;
                continue;
            }
            if (text.StartsWith("TRYAGAIN", StringComparison.Ordinal) || text.StartsWith("CLUSTERDOWN", StringComparison.Ordinal))
            {
                Retries++;
                asking = false;
                port = _slotPort[slot];
                Thread.Sleep(5);
                continue;
            }
            throw new InvalidOperationException($"INCR {key} on {port}: {text}");
        }
        throw new InvalidOperationException($"INCR {key}: no node took it");
    }

    RespClient Connection(int port)
    {
        if (!_conns.TryGetValue(port, out var c)) _conns[port] = c = new RespClient(port, timeoutMs: 10000);
        return c;
    }

    /// <summary>Stops the thread and rethrows what stopped it early.</summary>
    public void Stop()
    {
        _stop = true;
        if (!_thread.Join(TimeSpan.FromSeconds(30))) throw new TimeoutException("the cluster writer did not stop");
        if (Failure != null) throw new InvalidOperationException("the cluster writer failed", Failure);
    }

    /// <summary>Every key read where its slot lives holds a count the writer can account for.</summary>
    public void AssertNothingLost(int anyPort)
    {
        var owners = ClusterTestKit.SlotOwners(anyPort);
        var conns = new Dictionary<int, RespClient>();
        try
        {
            for (int k = 0; k < _keys.Length; k++)
            {
                int owner = owners[ClusterTestKit.SlotOf(_keys[k])];
                if (!conns.TryGetValue(owner, out var c)) conns[owner] = c = new RespClient(owner, timeoutMs: 5000);
                var r = c.Call("GET", _keys[k]);
                long value = r.IsNull ? 0 : r.Integer;
                if (value < Acked[k] || value > Acked[k] + Unsure[k])
                    throw new InvalidOperationException($"{_keys[k]} on {owner}: {r}, acknowledged {Acked[k]}, unsure {Unsure[k]}");
            }
        }
        finally
        {
            foreach (var c in conns.Values) c.Dispose();
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join(TimeSpan.FromSeconds(30));
        foreach (var c in _conns.Values) c.Dispose();
    }
}
