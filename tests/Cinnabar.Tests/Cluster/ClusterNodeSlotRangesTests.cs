// ClusterNode.SlotRanges reads the slot bitmap a word at a time (nodes.conf and CLUSTER NODES are
// built from it on every SETSLOT); checked against the slot-by-slot definition on edge cases
// (nothing, everything, word boundaries, the last slot) and random bitmaps.
using Cinnabar.Cluster;
using Xunit;

namespace Cinnabar.Tests.Cluster;

public sealed class ClusterNodeSlotRangesTests
{
    static List<(int, int)> SlotBySlot(ClusterNode n)
    {
        var ranges = new List<(int, int)>();
        int start = -1;
        for (int j = 0; j <= ClusterNode.Slots; j++)
        {
            bool bit = j < ClusterNode.Slots && n.GetSlot(j);
            if (bit && start == -1) start = j;
            if (!bit && start != -1)
            {
                ranges.Add((start, j - 1));
                start = -1;
            }
        }
        return ranges;
    }

    static ClusterNode With(params int[] slots)
    {
        var n = new ClusterNode("n", NodeFlags.Master, 0);
        foreach (int s in slots) n.SetSlot(s);
        return n;
    }

    [Fact]
    public void NoSlotsNoRanges() => Assert.Empty(With().SlotRanges());

    [Fact]
    public void EverySlotIsOneRange()
    {
        var n = With(Enumerable.Range(0, ClusterNode.Slots).ToArray());
        Assert.Equal([(0, 16383)], n.SlotRanges());
    }

    [Theory]
    [InlineData(new[] { 0 })]
    [InlineData(new[] { 16383 })]
    [InlineData(new[] { 63, 64 })]
    [InlineData(new[] { 62, 63, 65 })]
    [InlineData(new[] { 0, 2, 4, 127, 128, 129, 16382, 16383 })]
    public void EdgesMatchTheSlotBySlotDefinition(int[] slots)
    {
        var n = With(slots);
        Assert.Equal(SlotBySlot(n), n.SlotRanges());
    }

    [Fact]
    public void RandomBitmapsMatchTheSlotBySlotDefinition()
    {
        var random = new Random(42);
        for (int round = 0; round < 200; round++)
        {
            var n = new ClusterNode("n", NodeFlags.Master, 0);
            // Runs of random length, so both long ranges and single slots appear.
            int slot = 0;
            bool on = random.Next(2) == 0;
            while (slot < ClusterNode.Slots)
            {
                int run = random.Next(1, round % 2 == 0 ? 5 : 300);
                for (int j = slot; j < Math.Min(slot + run, ClusterNode.Slots); j++)
                    if (on) n.SetSlot(j);
                slot += run;
                on = !on;
            }
            Assert.Equal(SlotBySlot(n), n.SlotRanges());
        }
    }
}
