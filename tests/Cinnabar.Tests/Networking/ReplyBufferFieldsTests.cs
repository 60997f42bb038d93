// CLIENT LIST rbs= and rbp= say what a client's fixed reply buffer really is: an idle client holds
// none (rbs=0, where Redis shrinks it towards 1 KiB), the peak is the most the buffer held, and
// DEBUG REPLYBUFFER PEAK-RESET-TIME makes clientsCron start the peak again from what it holds.
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Networking;

public class ReplyBufferFieldsTests
{
    static long Field(RespClient observer, long id, string name)
    {
        string list = observer.Call("CLIENT", "LIST", "ID", id.ToString()).Text!;
        int at = list.IndexOf(" " + name + "=", StringComparison.Ordinal) + name.Length + 2;
        return long.Parse(list[at..list.IndexOf(' ', at)]);
    }

    [Fact]
    public void An_idle_client_holds_no_reply_buffer_and_its_peak_is_reset_by_the_cron()
    {
        using var fx = new ServerFixture(cfg => cfg.Set("enable-debug-command", "yes", startup: true));
        using var client = fx.Connect();
        using var observer = fx.Connect();
        long id = client.Call("CLIENT", "ID").Integer;
        Assert.Equal("+OK", observer.CallS("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never"));
        observer.Call("SET", "big", new string('x', 10_000));
        Assert.Equal(10_000, client.Call("GET", "big").Text!.Length);
        Assert.Equal(0, Field(observer, id, "rbs"));
        Assert.InRange(Field(observer, id, "rbp"), 10_000, 10_100);
        // The client's tot-mem counts no fixed buffer either.
        long totIdle = Field(observer, id, "tot-mem");
        Assert.Equal("+OK", observer.CallS("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100"));
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (Field(observer, id, "rbp") != 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.Equal(0, Field(observer, id, "rbp"));
        Assert.True(totIdle < 16384, $"tot-mem={totIdle}");
        Assert.Equal("+OK", observer.CallS("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset"));
        Assert.Equal("-ERR value is not an integer or out of range", observer.CallS("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "soon"));
    }
}
