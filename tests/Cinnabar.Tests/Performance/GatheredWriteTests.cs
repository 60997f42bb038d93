// Replies that spill from the client's fixed buffer into the chunk list are written with one
// gathered send (Client.WriteToClient, like Redis's writevToClient): these tests pin that
// large and pipelined replies arrive whole and in order, across chunk boundaries.
using System.Text;
using Cinnabar.Tests.Support;

namespace Cinnabar.Tests.Performance;

public class GatheredWriteTests(ServerFixture fx) : IClassFixture<ServerFixture>
{
    [Fact]
    public void AReplyLargerThanManyChunksArrivesWhole()
    {
        using var c = fx.Connect();
        var value = string.Concat(Enumerable.Range(0, 30_000).Select(i => (char)('a' + i % 26))) + "!";
        var big = string.Concat(Enumerable.Repeat(value, 10)); // 300 KB: the fixed buffer and ~18 chunks
        Assert.Equal("OK", c.Call("SET", "gw:big", big).Text);
        Assert.Equal(big, c.Call("GET", "gw:big").Text);
    }

    [Fact]
    public void PipelinedRepliesSpanningChunksKeepTheirOrder()
    {
        using var c = fx.Connect();
        var sb = new StringBuilder();
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal("OK", c.Call("SET", $"gw:k{i}", new string((char)('A' + i % 26), 5000 + i)).Text);
            sb.Append(Encoding.ASCII.GetString(RespClient.Encode("GET", $"gw:k{i}")));
        }
        c.SendRaw(sb.ToString());
        for (int i = 0; i < 40; i++)
            Assert.Equal(new string((char)('A' + i % 26), 5000 + i), c.Read().Text);
    }
}
