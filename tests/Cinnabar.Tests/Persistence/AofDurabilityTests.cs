// The AOF's promise under a crash: the cinnabar-server process runs with appendonly yes while
// several connections write (SET of unique keys, INCR, RPUSH) and record every acknowledged
// reply; it is killed with SIGKILL at a random moment, restarted on the same files, and every
// acknowledged write must be there. appendfsync always must lose nothing; everysec reports how
// many acknowledged writes went missing (SIGKILL leaves the kernel's page cache intact, so
// only a write(2) postponed behind a slow background fsync could be lost). Kills per run:
// 20 (always) and 5 (everysec); CINNABAR_DURABILITY_KILLS sets both for a longer run.
using Cinnabar.Tests.Support;
using Xunit.Abstractions;

namespace Cinnabar.Tests.Persistence;

public sealed class AofDurabilityTests(ITestOutputHelper output) : IDisposable
{
    readonly string _dir = AofData.NewDir();

    public void Dispose() => AofData.DeleteDir(_dir);

    static int Kills(int ci) =>
        int.TryParse(Environment.GetEnvironmentVariable("CINNABAR_DURABILITY_KILLS"), out int n) && n > 0 ? n : ci;

    /// <summary>What one writer had acknowledged: keys set with their value, INCR count, list length.</summary>
    sealed class Acked(int id)
    {
        public readonly int Id = id;
        public readonly List<(string Key, string Value)> Sets = [];
        public long Incrs, Pushes;
    }

    [Fact]
    public void AppendfsyncAlwaysLosesNoAcknowledgedWriteAcrossKills()
    {
        var (lost, writes) = Run("always", Kills(20), TimeSpan.FromSeconds(150));
        output.WriteLine($"appendfsync always: {writes} acknowledged writes, {lost} lost");
        Assert.Equal(0, lost);
    }

    [Fact]
    public void AppendfsyncEverysecReportsItsLossWindow()
    {
        var (lost, writes) = Run("everysec", Kills(5), TimeSpan.FromSeconds(60));
        output.WriteLine($"appendfsync everysec: {writes} acknowledged writes, {lost} lost (SIGKILL keeps the page cache)");
        Assert.True(lost <= writes);
    }

    (long Lost, long Writes) Run(string fsync, int kills, TimeSpan budget)
    {
        var rnd = new Random(12345);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var all = new List<Acked>();
        List<Acked> previous = [];
        long lost = 0, writes = 0;
        double worstWindowMs = 0;
        long previousMs = 0;
        for (int round = 0; ; round++)
        {
            bool last = round == kills || sw.Elapsed >= budget;
            using var server = new CinnabarProcess(_dir, "--appendonly", "yes", "--appendfsync", fsync);
            Assert.False(server.HasExited, server.Log);
            // Each acknowledged write is checked once, after the restart that follows its kill.
            long lostNow = Verify(server, previous);
            lost += lostNow;
            long prevWrites = previous.Sum(a => a.Sets.Count + a.Incrs + a.Pushes);
            if (lostNow > 0 && prevWrites > 0) worstWindowMs = Math.Max(worstWindowMs, previousMs * (double)lostNow / prevWrites);
            if (last)
            {
                // Every round's writes checked again at the end: what survived one restart survives the rest.
                output.WriteLine($"appendfsync {fsync}: {Verify(server, all)} acknowledged writes missing at the end (all rounds)");
                break;
            }
            var acked = Enumerable.Range(0, 4).Select(w => new Acked(round * 10 + w)).ToList();
            var threads = acked.Select(a => new Thread(() => Write(server.Port, a))).ToList();
            var roundTime = System.Diagnostics.Stopwatch.StartNew();
            threads.ForEach(t => t.Start());
            Thread.Sleep(rnd.Next(50, 300));
            server.KillHard();
            previousMs = roundTime.ElapsedMilliseconds;
            threads.ForEach(t => t.Join(TimeSpan.FromSeconds(10)));
            all.AddRange(acked);
            previous = acked;
            writes += acked.Sum(a => a.Sets.Count + a.Incrs + a.Pushes);
        }
        output.WriteLine($"appendfsync {fsync}: worst loss window {worstWindowMs:0} ms of acknowledged writes");
        return (lost, writes);
    }

    /// <summary>One connection's writes until the server dies; a write counts once its reply was read.</summary>
    static void Write(int port, Acked a)
    {
        try
        {
            using var c = new RespClient(port, timeoutMs: 5000);
            for (long i = 0; ; i++)
            {
                switch (i % 3)
                {
                    case 0:
                        string key = $"k:{a.Id}:{i}", value = "v" + i;
                        if (c.CallS("SET", key, value) != "+OK") return;
                        a.Sets.Add((key, value));
                        break;
                    case 1:
                        if (c.Call("INCR", $"c:{a.Id}").IsError) return;
                        a.Incrs++;
                        break;
                    default:
                        if (c.Call("RPUSH", $"l:{a.Id}", a.Pushes.ToString()).IsError) return;
                        a.Pushes++;
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or InvalidOperationException) { }
    }

    /// <summary>Acknowledged writes missing after the restart (an unacknowledged one may be there too: that is allowed).</summary>
    static long Verify(CinnabarProcess server, List<Acked> all)
    {
        long lost = 0;
        using var c = server.Connect();
        foreach (var a in all)
        {
            foreach (var (key, value) in a.Sets)
                if (c.Call("GET", key).Text != value) lost++;
            long incr = c.Call("GET", $"c:{a.Id}").Text is { } n ? long.Parse(n) : 0;
            if (incr < a.Incrs) lost += a.Incrs - incr;
            long len = c.Call("LLEN", $"l:{a.Id}").Integer;
            if (len < a.Pushes) lost += a.Pushes - len;
            if (a.Pushes > 0 && c.Call("LINDEX", $"l:{a.Id}", (a.Pushes - 1).ToString()).Text != (a.Pushes - 1).ToString()) lost++;
        }
        return lost;
    }
}
