// LRU/LFU bookkeeping on objects (evict.c): the LRU clock in seconds, and the LFU field made
// of a 16-bit minutes timestamp and an 8-bit logarithmic access counter that decays with
// lfu-decay-time. The eviction pool and the maxmemory policies build on these.
namespace Cinnabar.Keyspace;

public static class Eviction
{
    public const int LfuInitVal = 5;
    const int LruClockMax = (1 << 24) - 1;

    public static uint LfuMinutes(long nowMs) => (uint)((nowMs / 1000 / 60) & 0xFFFF);

    /// <summary>LFULogIncr: increments with probability 1/((counter-5)*factor+1).</summary>
    public static uint LogIncr(uint counter, int factor)
    {
        if (counter == 255) return 255;
        double r = Random.Shared.NextDouble();
        double baseval = counter - LfuInitVal;
        if (baseval < 0) baseval = 0;
        double p = 1.0 / (baseval * factor + 1);
        return r < p ? counter + 1 : counter;
    }

    /// <summary>LFUDecrAndReturn: the counter after decaying one per lfu-decay-time minutes elapsed.</summary>
    public static uint DecrAndReturn(RedisObject o, long nowMs, int decayTime)
    {
        uint ldt = o.Lru >> 8;
        uint counter = o.Lru & 255;
        uint now = LfuMinutes(nowMs);
        uint elapsed = now >= ldt ? now - ldt : 65535 - ldt + now;
        uint periods = decayTime > 0 ? elapsed / (uint)decayTime : 0;
        return periods > counter ? 0 : counter - periods;
    }

    public static void LfuTouch(RedisObject o, CinnabarServer server)
    {
        uint counter = DecrAndReturn(o, server.NowMs, server.Config.LfuDecayTime);
        counter = LogIncr(counter, server.Config.LfuLogFactor);
        o.Lru = (LfuMinutes(server.NowMs) << 8) | counter;
    }

    /// <summary>estimateObjectIdleTime in ms from the LRU clock.</summary>
    public static long IdleTimeMs(RedisObject o, int lruClock)
    {
        long lru = o.Lru & LruClockMax;
        return (lruClock >= lru ? lruClock - lru : LruClockMax - lru + lruClock) * 1000;
    }
}
