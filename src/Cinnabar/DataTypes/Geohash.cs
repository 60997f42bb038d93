// Geohash (Redis's geohash.c and geohash_helper.c): longitude/latitude interleaved into a
// 52-bit integer (26 steps each, latitude limited to Web Mercator's ±85.05112878), stored as
// a sorted set score. A radius or box search covers the shape with the cell at an estimated
// precision plus its 8 neighbours, as Redis does, so results come out in the same order.
namespace Cinnabar.DataTypes;

public readonly record struct GeoHashBits(ulong Bits, int Step)
{
    public bool IsZero => Bits == 0 && Step == 0;
}

public struct GeoHashArea
{
    public double LongMin, LongMax, LatMin, LatMax;
}

/// <summary>A search shape (GeoShape): a circle (radius) or a box (width, height), in the unit given by Conversion.</summary>
public struct GeoShape
{
    public bool IsBox;
    public double Lon, Lat;
    public double Conversion;
    public double Radius, Width, Height;
}

public static class Geohash
{
    public const int StepMax = 26;
    public const double LatMin = -85.05112878, LatMax = 85.05112878, LongMin = -180, LongMax = 180;
    const double EarthRadiusInMeters = 6372797.560856;
    const double MercatorMax = 20037726.37;
    const double DR = Math.PI / 180.0;

    static double DegRad(double ang) => ang * DR;
    static double RadDeg(double ang) => ang / DR;

    /// <summary>Spreads the 32 bits of x over the even bit positions (interleave64's helper).</summary>
    static ulong Spread(uint v)
    {
        ulong x = v;
        x = (x | (x << 16)) & 0x0000FFFF0000FFFFUL;
        x = (x | (x << 8)) & 0x00FF00FF00FF00FFUL;
        x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0FUL;
        x = (x | (x << 2)) & 0x3333333333333333UL;
        x = (x | (x << 1)) & 0x5555555555555555UL;
        return x;
    }

    static uint Squash(ulong x)
    {
        x &= 0x5555555555555555UL;
        x = (x | (x >> 1)) & 0x3333333333333333UL;
        x = (x | (x >> 2)) & 0x0F0F0F0F0F0F0F0FUL;
        x = (x | (x >> 4)) & 0x00FF00FF00FF00FFUL;
        x = (x | (x >> 8)) & 0x0000FFFF0000FFFFUL;
        x = (x | (x >> 16)) & 0x00000000FFFFFFFFUL;
        return (uint)x;
    }

    /// <summary>geohashEncode over the given ranges; false outside the valid coordinates.</summary>
    public static bool Encode(double longitude, double latitude, int step, out GeoHashBits hash, double latRangeMin = LatMin, double latRangeMax = LatMax)
    {
        hash = default;
        if (longitude > LongMax || longitude < LongMin || latitude > LatMax || latitude < LatMin) return false;
        if (latitude < latRangeMin || latitude > latRangeMax) return false;
        double latOffset = (latitude - latRangeMin) / (latRangeMax - latRangeMin);
        double longOffset = (longitude - LongMin) / (LongMax - LongMin);
        latOffset *= 1UL << step;
        longOffset *= 1UL << step;
        hash = new GeoHashBits(Spread((uint)latOffset) | (Spread((uint)longOffset) << 1), step);
        return true;
    }

    public static GeoHashArea Decode(GeoHashBits hash)
    {
        uint ilato = Squash(hash.Bits), ilono = Squash(hash.Bits >> 1);
        double latScale = LatMax - LatMin, longScale = LongMax - LongMin;
        double cells = 1UL << hash.Step;
        return new GeoHashArea
        {
            LatMin = LatMin + (ilato * 1.0 / cells) * latScale,
            LatMax = LatMin + ((ilato + 1) * 1.0 / cells) * latScale,
            LongMin = LongMin + (ilono * 1.0 / cells) * longScale,
            LongMax = LongMin + ((ilono + 1) * 1.0 / cells) * longScale,
        };
    }

    /// <summary>decodeGeohash: a 52-bit score to the center of its cell, clamped to the valid range.</summary>
    public static (double Lon, double Lat) DecodeScore(double score)
    {
        var a = Decode(new GeoHashBits((ulong)score, StepMax));
        double lon = Math.Clamp((a.LongMin + a.LongMax) / 2, LongMin, LongMax);
        double lat = Math.Clamp((a.LatMin + a.LatMax) / 2, LatMin, LatMax);
        return (lon, lat);
    }

    /// <summary>geohashAlign52Bits.</summary>
    public static ulong Align52Bits(GeoHashBits h) => h.Bits << (52 - h.Step * 2);

    public static ulong EncodeScore(double lon, double lat)
    {
        Encode(lon, lat, StepMax, out var h);
        return Align52Bits(h);
    }

    static GeoHashBits MoveX(GeoHashBits h, int d)
    {
        if (d == 0) return h;
        ulong x = h.Bits & 0xaaaaaaaaaaaaaaaaUL, y = h.Bits & 0x5555555555555555UL;
        ulong zz = 0x5555555555555555UL >> (64 - h.Step * 2);
        if (d > 0) x += zz + 1;
        else
        {
            x |= zz;
            x -= zz + 1;
        }
        x &= 0xaaaaaaaaaaaaaaaaUL >> (64 - h.Step * 2);
        return h with { Bits = x | y };
    }

    static GeoHashBits MoveY(GeoHashBits h, int d)
    {
        if (d == 0) return h;
        ulong x = h.Bits & 0xaaaaaaaaaaaaaaaaUL, y = h.Bits & 0x5555555555555555UL;
        ulong zz = 0xaaaaaaaaaaaaaaaaUL >> (64 - h.Step * 2);
        if (d > 0) y += zz + 1;
        else
        {
            y |= zz;
            y -= zz + 1;
        }
        y &= 0x5555555555555555UL >> (64 - h.Step * 2);
        return h with { Bits = x | y };
    }

    /// <summary>geohashEstimateStepsByRadius.</summary>
    static int EstimateStepsByRadius(double rangeMeters, double lat)
    {
        if (rangeMeters == 0) return 26;
        int step = 1;
        while (rangeMeters < MercatorMax)
        {
            rangeMeters *= 2;
            step++;
        }
        step -= 2;
        if (lat > 66 || lat < -66)
        {
            step--;
            if (lat > 80 || lat < -80) step--;
        }
        return Math.Clamp(step, 1, 26);
    }

    /// <summary>geohashBoundingBox: [minLon, minLat, maxLon, maxLat] of the shape.</summary>
    static (double MinLon, double MinLat, double MaxLon, double MaxLat) BoundingBox(in GeoShape s)
    {
        double height = s.Conversion * (s.IsBox ? s.Height / 2 : s.Radius);
        double width = s.Conversion * (s.IsBox ? s.Width / 2 : s.Radius);
        double latDelta = RadDeg(height / EarthRadiusInMeters);
        double longDeltaTop = RadDeg(width / EarthRadiusInMeters / Math.Cos(DegRad(s.Lat + latDelta)));
        double longDeltaBottom = RadDeg(width / EarthRadiusInMeters / Math.Cos(DegRad(s.Lat - latDelta)));
        bool south = s.Lat < 0;
        return (south ? s.Lon - longDeltaBottom : s.Lon - longDeltaTop, s.Lat - latDelta,
                south ? s.Lon + longDeltaBottom : s.Lon + longDeltaTop, s.Lat + latDelta);
    }

    /// <summary>
    /// geohashCalculateAreasByShapeWGS84 + membersOfAllNeighbors' order: the cells to scan, as
    /// center, N, S, E, W, NE, NW, SE, SW with useless ones zeroed.
    /// </summary>
    public static GeoHashBits[] AreasByShape(in GeoShape s)
    {
        var (minLon, minLat, maxLon, maxLat) = BoundingBox(s);
        double radiusMeters = s.IsBox ? Math.Sqrt((s.Width / 2) * (s.Width / 2) + (s.Height / 2) * (s.Height / 2)) : s.Radius;
        radiusMeters *= s.Conversion;
        int steps = EstimateStepsByRadius(radiusMeters, s.Lat);
        Encode(s.Lon, s.Lat, steps, out var hash);
        var n = Neighbors(hash);
        var area = Decode(hash);
        bool decrease = Decode(n[1]).LatMax < maxLat || Decode(n[2]).LatMin > minLat ||
                        Decode(n[3]).LongMax < maxLon || Decode(n[4]).LongMin > minLon;
        if (steps > 1 && decrease)
        {
            steps--;
            Encode(s.Lon, s.Lat, steps, out hash);
            n = Neighbors(hash);
            area = Decode(hash);
        }
        if (steps >= 2)
        {
            // Indexes: 1 N, 2 S, 3 E, 4 W, 5 NE, 6 NW, 7 SE, 8 SW.
            if (area.LatMin < minLat) n[2] = n[8] = n[7] = default;
            if (area.LatMax > maxLat) n[1] = n[5] = n[6] = default;
            if (area.LongMin < minLon) n[4] = n[8] = n[6] = default;
            if (area.LongMax > maxLon) n[3] = n[7] = n[5] = default;
        }
        return n;
    }

    /// <summary>The cell and its 8 neighbours in membersOfAllNeighbors' order.</summary>
    static GeoHashBits[] Neighbors(GeoHashBits h) =>
    [
        h,
        MoveY(h, 1),
        MoveY(h, -1),
        MoveX(h, 1),
        MoveX(h, -1),
        MoveY(MoveX(h, 1), 1),
        MoveY(MoveX(h, -1), 1),
        MoveY(MoveX(h, 1), -1),
        MoveY(MoveX(h, -1), -1),
    ];

    /// <summary>geohashGetDistance: haversine on Redis's earth radius.</summary>
    public static double Distance(double lon1d, double lat1d, double lon2d, double lat2d)
    {
        double lat1r = DegRad(lat1d), lon1r = DegRad(lon1d), lat2r = DegRad(lat2d), lon2r = DegRad(lon2d);
        double u = Math.Sin((lat2r - lat1r) / 2);
        double v = Math.Sin((lon2r - lon1r) / 2);
        return 2.0 * EarthRadiusInMeters * Math.Asin(Math.Sqrt(u * u + Math.Cos(lat1r) * Math.Cos(lat2r) * v * v));
    }

    /// <summary>geoAppendIfWithinShape's test: the distance from the center when (lon, lat) is inside the shape.</summary>
    public static bool DistanceIfInShape(in GeoShape s, double lon, double lat, out double distance)
    {
        distance = 0;
        if (!s.IsBox)
        {
            distance = Distance(s.Lon, s.Lat, lon, lat);
            return distance <= s.Radius * s.Conversion;
        }
        double lonDistance = Distance(lon, lat, s.Lon, lat);
        double latDistance = Distance(lon, lat, lon, s.Lat);
        if (lonDistance > s.Width * s.Conversion / 2 || latDistance > s.Height * s.Conversion / 2) return false;
        distance = Distance(s.Lon, s.Lat, lon, lat);
        return true;
    }
}
