// Geo commands (Redis's geo.c) over sorted sets whose scores are 52-bit geohashes. GEOADD
// rewrites itself into ZADD as Redis does; searches scan the 9 covering cells by score range
// and filter by true distance (one georadiusGeneric for GEORADIUS*, GEOSEARCH, GEOSEARCHSTORE).
// Distances print with 4 decimals; coordinates in Redis's "human" long double form.
using System.Globalization;
using Cinnabar.DataTypes;
using Cinnabar.Keyspace;
using Cinnabar.Networking;
using Cinnabar.Protocol;
using Cinnabar.Server;

namespace Cinnabar.Commands;

public static class GeoCommands
{
    [Flags]
    enum SearchFlags { RadiusCoords = 1, RadiusMember = 2, NoStore = 4, GeoSearch = 8, GeoSearchStore = 16 }

    sealed class GeoPoint
    {
        public double Lon, Lat, Dist, Score;
        public byte[] Member = [];
    }

    /// <summary>extractLongLatOrReply: two doubles within the valid geohash coordinates.</summary>
    static bool TryGetLongLat(Client c, int i, out double lon, out double lat)
    {
        lat = 0;
        if (!Arguments.TryGetDouble(c, i, out lon) || !Arguments.TryGetDouble(c, i + 1, out lat)) return false;
        if (lon < Geohash.LongMin || lon > Geohash.LongMax || lat < Geohash.LatMin || lat > Geohash.LatMax)
        {
            c.Reply.Error(string.Create(CultureInfo.InvariantCulture, $"invalid longitude,latitude pair {lon:F6},{lat:F6}"));
            return false;
        }
        return true;
    }

    /// <summary>extractUnitOrReply: meters per unit, or -1 after replying.</summary>
    static double ExtractUnit(Client c, int i)
    {
        if (c.Args.Is(i, "m")) return 1;
        if (c.Args.Is(i, "km")) return 1000;
        if (c.Args.Is(i, "ft")) return 0.3048;
        if (c.Args.Is(i, "mi")) return 1609.34;
        c.Reply.Error("unsupported unit provided. please use M, KM, FT, MI");
        return -1;
    }

    static bool TryGetDistance(Client c, int i, out double conversion, out double radius)
    {
        conversion = 0;
        if (!Arguments.TryGetDouble(c, i, out radius, "need numeric radius")) return false;
        if (radius < 0)
        {
            c.Reply.Error("radius cannot be negative");
            return false;
        }
        conversion = ExtractUnit(c, i + 1);
        return conversion >= 0;
    }

    static bool TryGetBox(Client c, int i, out double conversion, out double width, out double height)
    {
        conversion = 0;
        height = 0;
        if (!Arguments.TryGetDouble(c, i, out width, "need numeric width") || !Arguments.TryGetDouble(c, i + 1, out height, "need numeric height")) return false;
        if (height < 0 || width < 0)
        {
            c.Reply.Error("height or width cannot be negative");
            return false;
        }
        conversion = ExtractUnit(c, i + 2);
        return conversion >= 0;
    }

    /// <summary>addReplyHumanLongDouble: %.17Lf with trailing zeros (and a bare point) removed.</summary>
    internal static string HumanDouble(double d)
    {
        string s = d.ToString("F17", CultureInfo.InvariantCulture);
        if (s.Contains('.')) s = s.TrimEnd('0').TrimEnd('.');
        return s == "-0" ? "0" : s;
    }

    static void ReplyHumanDouble(Client c, double d)
    {
        string s = HumanDouble(d);
        if (c.Reply.Resp3)
        {
            c.Reply.Protocol_(System.Text.Encoding.ASCII.GetBytes("," + s + "\r\n"));
        }
        else c.Reply.Bulk(s);
    }

    /// <summary>addReplyDoubleDistance: "%.4f" as a bulk string in both protocols.</summary>
    static void ReplyDistance(Client c, double d) => c.Reply.Bulk(d.ToString("F4", CultureInfo.InvariantCulture));

    // ------------------------------------------------------------------ GEOADD

    [Command("geoadd")]
    static void GeoAdd(Client c)
    {
        bool xx = false, nx = false;
        int longIdx = 2;
        for (; longIdx < c.Args.Count; longIdx++)
        {
            if (c.Args.Is(longIdx, "nx")) nx = true;
            else if (c.Args.Is(longIdx, "xx")) xx = true;
            else if (!c.Args.Is(longIdx, "ch")) break;
        }
        if ((c.Args.Count - longIdx) % 3 != 0 || (xx && nx))
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        int elements = (c.Args.Count - longIdx) / 3;
        var argv = new List<byte[]> { "zadd"u8.ToArray() };
        for (int i = 1; i < longIdx; i++) argv.Add(c.Args.ToArray(i));
        for (int i = 0; i < elements; i++)
        {
            if (!TryGetLongLat(c, longIdx + i * 3, out double lon, out double lat)) return;
            argv.Add(System.Text.Encoding.ASCII.GetBytes(Geohash.EncodeScore(lon, lat).ToString(CultureInfo.InvariantCulture)));
            argv.Add(c.Args.ToArray(longIdx + i * 3 + 2));
        }
        // replaceClientCommandVector + zaddCommand: GEOADD is a ZADD of encoded scores, and
        // propagates as that ZADD; the slowlog and MONITOR still see the GEOADD the client sent.
        var zadd = new CommandArgs();
        zadd.SetFrom(argv);
        var original = c.Args;
        c.Args = zadd;
        try
        {
            SortedSetCommands.ZAddFromGeo(c);
        }
        finally
        {
            c.Args = original;
        }
        var propagated = c.Server.Propagation.ReplaceArgv(zadd.Count);
        for (int i = 0; i < zadd.Count; i++) propagated.Add(zadd[i]);
    }

    // ------------------------------------------------------------------ GEODIST / GEOHASH / GEOPOS

    [Command("geodist")]
    static void GeoDist(Client c)
    {
        double toMeter = 1;
        if (!KeyLookup.LookupReadOrReply(c, c.Args[1], ObjType.ZSet, MissingKeyReply.Null, out var o)) return;
        if (c.Args.Count == 5)
        {
            toMeter = ExtractUnit(c, 4);
            if (toMeter < 0) return;
        }
        else if (c.Args.Count > 5)
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        var z = SortedSetCommands.Zs(o);
        if (!z.TryGetScore(c.Args[2], out double s1) || !z.TryGetScore(c.Args[3], out double s2))
        {
            c.Reply.Null();
            return;
        }
        var (lon1, lat1) = Geohash.DecodeScore(s1);
        var (lon2, lat2) = Geohash.DecodeScore(s2);
        ReplyDistance(c, Geohash.Distance(lon1, lat1, lon2, lat2) / toMeter);
    }

    [Command("geohash")]
    static void GeoHashCommand(Client c)
    {
        const string alphabet = "0123456789bcdefghjkmnpqrstuvwxyz";
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.ZSet)) return;
        c.Reply.ArrayLen(c.Args.Count - 2);
        for (int j = 2; j < c.Args.Count; j++)
        {
            if (o == null || !SortedSetCommands.Zs(o).TryGetScore(c.Args[j], out double score))
            {
                c.Reply.Null();
                continue;
            }
            // Scores use latitude range ±85.05; the standard geohash string uses ±90, so re-encode.
            var (lon, lat) = Geohash.DecodeScore(score);
            Geohash.Encode(lon, lat, 26, out var h, -90, 90);
            var buf = new byte[11];
            for (int i = 0; i < 11; i++)
            {
                int idx = i == 10 ? 0 : (int)((h.Bits >> (52 - (i + 1) * 5)) & 0x1f);
                buf[i] = (byte)alphabet[idx];
            }
            c.Reply.Bulk(buf);
        }
    }

    [Command("geopos")]
    static void GeoPos(Client c)
    {
        var o = c.Db.LookupRead(c.Args[1]);
        if (KeyLookup.CheckType(c, o, ObjType.ZSet)) return;
        c.Reply.ArrayLen(c.Args.Count - 2);
        for (int j = 2; j < c.Args.Count; j++)
        {
            if (o == null || !SortedSetCommands.Zs(o).TryGetScore(c.Args[j], out double score))
            {
                c.Reply.NullArray();
                continue;
            }
            var (lon, lat) = Geohash.DecodeScore(score);
            c.Reply.ArrayLen(2);
            ReplyHumanDouble(c, lon);
            ReplyHumanDouble(c, lat);
        }
    }

    // ------------------------------------------------------------------ searches

    [Command("georadius")] static void GeoRadius(Client c) => GeoRadiusGeneric(c, 1, SearchFlags.RadiusCoords);
    [Command("georadius_ro")] static void GeoRadiusRo(Client c) => GeoRadiusGeneric(c, 1, SearchFlags.RadiusCoords | SearchFlags.NoStore);
    [Command("georadiusbymember")] static void GeoRadiusByMember(Client c) => GeoRadiusGeneric(c, 1, SearchFlags.RadiusMember);
    [Command("georadiusbymember_ro")] static void GeoRadiusByMemberRo(Client c) => GeoRadiusGeneric(c, 1, SearchFlags.RadiusMember | SearchFlags.NoStore);
    [Command("geosearch")] static void GeoSearch(Client c) => GeoRadiusGeneric(c, 1, SearchFlags.GeoSearch);
    [Command("geosearchstore")] static void GeoSearchStore(Client c) => GeoRadiusGeneric(c, 2, SearchFlags.GeoSearch | SearchFlags.GeoSearchStore);

    static bool LongLatFromMember(Client c, ZSet z, int i, ref GeoShape shape)
    {
        if (!z.TryGetScore(c.Args[i], out double score))
        {
            c.Reply.Error("could not decode requested zset member");
            return false;
        }
        (shape.Lon, shape.Lat) = Geohash.DecodeScore(score);
        return true;
    }

    /// <summary>georadiusGeneric: parse, find candidates in the covering cells, sort, reply or store.</summary>
    static void GeoRadiusGeneric(Client c, int srcKeyIdx, SearchFlags flags)
    {
        byte[]? storeKey = null;
        bool storeDist = false;
        var zobj = c.Db.LookupRead(c.Args[srcKeyIdx]);
        if (KeyLookup.CheckType(c, zobj, ObjType.ZSet)) return;
        ZSet? z = zobj == null ? null : SortedSetCommands.Zs(zobj);
        int baseArgs;
        var shape = new GeoShape();
        if (flags.HasFlag(SearchFlags.RadiusCoords))
        {
            baseArgs = 6;
            if (!TryGetLongLat(c, 2, out shape.Lon, out shape.Lat)) return;
            if (!TryGetDistance(c, baseArgs - 2, out shape.Conversion, out shape.Radius)) return;
        }
        else if (flags.HasFlag(SearchFlags.RadiusMember) && z == null) baseArgs = 5;
        else if (flags.HasFlag(SearchFlags.RadiusMember))
        {
            baseArgs = 5;
            if (!LongLatFromMember(c, z!.Value, 2, ref shape)) return;
            if (!TryGetDistance(c, baseArgs - 2, out shape.Conversion, out shape.Radius)) return;
        }
        else
        {
            baseArgs = 2;
            if (flags.HasFlag(SearchFlags.GeoSearchStore))
            {
                baseArgs = 3;
                storeKey = c.Args.ToArray(1);
            }
        }

        bool withDist = false, withHash = false, withCoords = false, fromMember = false, fromLoc = false, byRadius = false, byBox = false, any = false;
        int sort = 0; // 0 none, 1 asc, 2 desc
        long count = 0;
        bool geoSearch = flags.HasFlag(SearchFlags.GeoSearch);
        int remaining = c.Args.Count - baseArgs;
        for (int i = 0; i < remaining; i++)
        {
            int a = baseArgs + i;
            if (c.Args.Is(a, "withdist")) withDist = true;
            else if (c.Args.Is(a, "withhash")) withHash = true;
            else if (c.Args.Is(a, "withcoord")) withCoords = true;
            else if (c.Args.Is(a, "any")) any = true;
            else if (c.Args.Is(a, "asc")) sort = 1;
            else if (c.Args.Is(a, "desc")) sort = 2;
            else if (c.Args.Is(a, "count") && i + 1 < remaining)
            {
                if (!Arguments.TryGetLong(c, a + 1, out count)) return;
                if (count <= 0)
                {
                    c.Reply.Error("COUNT must be > 0");
                    return;
                }
                i++;
            }
            else if ((c.Args.Is(a, "store") || c.Args.Is(a, "storedist")) && i + 1 < remaining && !flags.HasFlag(SearchFlags.NoStore) && !geoSearch)
            {
                storeKey = c.Args.ToArray(a + 1);
                storeDist = c.Args.Is(a, "storedist");
                i++;
            }
            else if (c.Args.Is(a, "storedist") && geoSearch && flags.HasFlag(SearchFlags.GeoSearchStore)) storeDist = true;
            else if (c.Args.Is(a, "frommember") && i + 1 < remaining && geoSearch && !fromLoc)
            {
                if (z != null && !LongLatFromMember(c, z.Value, a + 1, ref shape)) return;
                fromMember = true;
                i++;
            }
            else if (c.Args.Is(a, "fromlonlat") && i + 2 < remaining && geoSearch && !fromMember)
            {
                if (!TryGetLongLat(c, a + 1, out shape.Lon, out shape.Lat)) return;
                fromLoc = true;
                i += 2;
            }
            else if (c.Args.Is(a, "byradius") && i + 2 < remaining && geoSearch && !byBox)
            {
                if (!TryGetDistance(c, a + 1, out shape.Conversion, out shape.Radius)) return;
                shape.IsBox = false;
                byRadius = true;
                i += 2;
            }
            else if (c.Args.Is(a, "bybox") && i + 3 < remaining && geoSearch && !byRadius)
            {
                if (!TryGetBox(c, a + 1, out shape.Conversion, out shape.Width, out shape.Height)) return;
                shape.IsBox = true;
                byBox = true;
                i += 3;
            }
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        if (storeKey != null && (withDist || withHash || withCoords))
        {
            c.Reply.Error($"{(flags.HasFlag(SearchFlags.GeoSearchStore) ? "GEOSEARCHSTORE" : "STORE option in GEORADIUS")} is not compatible with WITHDIST, WITHHASH and WITHCOORD options");
            return;
        }
        if (geoSearch && !(fromMember || fromLoc))
        {
            c.Reply.Error($"exactly one of FROMMEMBER or FROMLONLAT can be specified for {c.Args.ToStringAt(0)}");
            return;
        }
        if (geoSearch && !(byRadius || byBox))
        {
            c.Reply.Error($"exactly one of BYRADIUS and BYBOX can be specified for {c.Args.ToStringAt(0)}");
            return;
        }
        if (any && count == 0)
        {
            c.Reply.Error("the ANY argument requires COUNT argument");
            return;
        }
        if (z == null)
        {
            if (storeKey != null)
            {
                var w = c.Db.BeginWrite(storeKey);
                if (w.Delete()) w.End(NotifyClass.Generic, "del");
                c.Reply.Integer(0);
            }
            else c.Reply.EmptyArray();
            return;
        }
        // COUNT needs the closest N, so it implies ASC unless ANY asked for the first N found.
        if (count != 0 && sort == 0 && !any) sort = 1;

        var points = MembersOfAllNeighbors(z.Value, shape, any ? count : 0);
        if (points.Count == 0 && storeKey == null)
        {
            c.Reply.EmptyArray();
            return;
        }
        long returned = count == 0 || points.Count < count ? points.Count : count;
        if (sort != 0)
        {
            Comparison<GeoPoint> cmp = (a, b) => a.Dist.CompareTo(b.Dist);
            points.Sort(sort == 1 ? cmp : (a, b) => cmp(b, a));
        }
        if (storeKey == null)
        {
            int optionLength = (withDist ? 1 : 0) + (withCoords ? 1 : 0) + (withHash ? 1 : 0);
            c.Reply.ArrayLen(returned);
            for (int i = 0; i < returned; i++)
            {
                var gp = points[i];
                gp.Dist /= shape.Conversion;
                if (optionLength > 0) c.Reply.ArrayLen(optionLength + 1);
                c.Reply.Bulk(gp.Member);
                if (withDist) ReplyDistance(c, gp.Dist);
                if (withHash) c.Reply.Integer((long)gp.Score);
                if (withCoords)
                {
                    c.Reply.ArrayLen(2);
                    ReplyHumanDouble(c, gp.Lon);
                    ReplyHumanDouble(c, gp.Lat);
                }
            }
            return;
        }
        if (returned > 0)
        {
            var dst = ZSet.CreateSkipList();
            long maxEleLen = 0;
            for (int i = 0; i < returned; i++)
            {
                var gp = points[i];
                gp.Dist /= shape.Conversion;
                double score = storeDist ? gp.Dist : gp.Score;
                maxEleLen = Math.Max(maxEleLen, gp.Member.Length);
                dst.Zsl!.Insert(score, gp.Member);
                dst.Dict!.Add(gp.Member, score);
            }
            dst.ConvertToListpackIfNeeded(maxEleLen, c.Server.Config.ZsetMaxListpackEntries, c.Server.Config.ZsetMaxListpackValue);
            var w = c.Db.BeginWrite(storeKey);
            w.Set(SortedSetCommands.Wrap(dst));
            w.End(NotifyClass.ZSet, geoSearch ? "geosearchstore" : "georadiusstore", returned);
            BlockingKeys.SignalKeyAsReady(c, storeKey);
        }
        else
        {
            var w = c.Db.BeginWrite(storeKey);
            if (w.Delete()) w.End(NotifyClass.Generic, "del");
        }
        c.Reply.Integer(returned);
    }

    /// <summary>membersOfAllNeighbors: each non-zero cell (skipping a repeat of the previous one) scanned as the score range [min, max).</summary>
    static List<GeoPoint> MembersOfAllNeighbors(ZSet z, in GeoShape shape, long limit)
    {
        var result = new List<GeoPoint>();
        var cells = Geohash.AreasByShape(shape);
        int lastProcessed = 0;
        for (int i = 0; i < cells.Length; i++)
        {
            if (cells[i].IsZero) continue;
            if (lastProcessed != 0 && cells[i] == cells[lastProcessed]) continue;
            if (result.Count > 0 && limit > 0 && result.Count >= limit) break;
            double min = Geohash.Align52Bits(cells[i]);
            double max = Geohash.Align52Bits(cells[i] with { Bits = cells[i].Bits + 1 });
            var range = new ScoreRange(min, max, false, true);
            long first = z.FirstRankInRange(range, false);
            if (first >= 0)
            {
                foreach (var (e, s) in z.FromRank(first, false))
                {
                    if (!range.ValueLteMax(s)) break;
                    var (lon, lat) = Geohash.DecodeScore(s);
                    if (Geohash.DistanceIfInShape(shape, lon, lat, out double d))
                        result.Add(new GeoPoint { Lon = lon, Lat = lat, Dist = d, Score = s, Member = e });
                    if (result.Count > 0 && limit > 0 && result.Count >= limit) break;
                }
            }
            lastProcessed = i;
        }
        return result;
    }
}
