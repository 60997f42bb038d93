// The AOF directory is Redis 7.0's format both ways: an appendonlydir written by redis-server
// 7.0.15 (RDB-preamble or AOF base, with or without timestamps) loads in Cinnabar with the same
// dataset, and one written by Cinnabar loads in redis-server. Datasets are compared as dumps
// (Cinnabar's DEBUG DIGEST bytes are not Redis's). Every redis-server is on a loopback port and
// killed by its pid.
using System.Diagnostics;
using Cinnabar.Tests.Persistence;
using Cinnabar.Tests.Support;
using static Cinnabar.Tests.Persistence.AofData;

namespace Cinnabar.Tests.Interop;

public sealed class AofInteropTests : IDisposable
{
    readonly string _dir = NewDir();

    public void Dispose() => DeleteDir(_dir);

    /// <summary>redis-server with appendonly yes on `dir`; returns once it answers PING.</summary>
    sealed class RedisAofServer : IDisposable
    {
        readonly Process _p;
        public int Port { get; } = CinnabarProcess.FreePort();

        public RedisAofServer(string dir, string preamble, string timestamps)
        {
            var psi = new ProcessStartInfo(ExternalTools.Require("redis-server"))
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes",
                         "--aof-use-rdb-preamble", preamble, "--aof-timestamp-enabled", timestamps, "--daemonize", "no" })
                psi.ArgumentList.Add(a);
            _p = Process.Start(psi)!;
            _p.BeginOutputReadLine();
            _p.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    using var c = new RespClient(Port, timeoutMs: 2000);
                    if (c.CallS("PING") == "+PONG") return;
                }
                catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException) { }
                Thread.Sleep(20);
            }
            throw new TimeoutException("redis-server did not start");
        }

        public RespClient Connect() => new(Port);

        public void Dispose()
        {
            try
            {
                if (!_p.HasExited) _p.Kill();
                _p.WaitForExit(5000);
            }
            catch (InvalidOperationException) { }
            _p.Dispose();
        }
    }

    [RequiresToolsTheory("redis-server")]
    [InlineData("yes", "no")]
    [InlineData("no", "no")]
    [InlineData("no", "yes")]
    public void AnAppendonlydirWrittenByRedisServerLoadsInCinnabar(string preamble, string timestamps)
    {
        string dump;
        using (var redis = new RedisAofServer(_dir, preamble, timestamps))
        {
            using var c = redis.Connect();
            Write(c);
            c.Call("BGREWRITEAOF");
            WaitRewrite(c);
            Write(c, "incr:");
            dump = Dump(c);
            c.Call("CONFIG", "SET", "appendfsync", "always");
            c.Call("SET", "last", "1");
            dump = Dump(c);
        }
        using var s = new AofServer(_dir);
        using var cc = s.Connect();
        Assert.Equal(dump, Dump(cc));
    }

    [RequiresToolsTheory("redis-server", "redis-check-aof")]
    [InlineData("yes", "no")]
    [InlineData("no", "yes")]
    public void AnAppendonlydirWrittenByCinnabarLoadsInRedisServer(string preamble, string timestamps)
    {
        string dump;
        using (var s = new AofServer(_dir, "aof-use-rdb-preamble", preamble, "aof-timestamp-enabled", timestamps))
        {
            using var c = s.Connect();
            Write(c);
            c.Call("BGREWRITEAOF");
            WaitRewrite(c);
            Write(c, "incr:");
            dump = Dump(c);
        }
        var check = ToolProcess.Run("redis-check-aof", [Path.Combine(_dir, "appendonlydir", "appendonly.aof.manifest")]);
        Assert.True(check.ExitCode == 0, check.ToString());
        using var redis = new RedisAofServer(_dir, preamble, timestamps);
        using var rc = redis.Connect();
        Assert.Equal(dump, Dump(rc));
    }
}
