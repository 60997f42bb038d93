// Client-side caching commands (the tracking part of Redis's clientCommand): CLIENT TRACKING,
// CLIENT CACHING, CLIENT GETREDIR and CLIENT TRACKINGINFO. Options are parsed and checked in
// Redis 7.0's order with its exact errors; the state and invalidation live in Tracking/Tracking.cs.
using Cinnabar.Networking;
using Cinnabar.Tracking;

namespace Cinnabar.Commands;

public static class TrackingCommands
{
    /// <summary>CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP].</summary>
    [Command("client|tracking")]
    static void ClientTracking(Client c)
    {
        var args = c.Args;
        long redir = 0;
        var options = TrackingFlags.None;
        var prefixes = new List<byte[]>();
        for (int j = 3; j < args.Count; j++)
        {
            bool moreArgs = args.Count - 1 - j > 0;
            if (args.Is(j, "redirect") && moreArgs)
            {
                j++;
                if (redir != 0)
                {
                    c.Reply.Error("A client can only redirect to a single other client");
                    return;
                }
                if (!Arguments.TryGetLong(c, j, out redir)) return;
                // The target must exist now, even though it may disconnect later.
                if (!c.Server.Clients.Contains(redir))
                {
                    c.Reply.Error("The client ID you want redirect to does not exist");
                    return;
                }
            }
            else if (args.Is(j, "bcast")) options |= TrackingFlags.Bcast;
            else if (args.Is(j, "optin")) options |= TrackingFlags.OptIn;
            else if (args.Is(j, "optout")) options |= TrackingFlags.OptOut;
            else if (args.Is(j, "noloop")) options |= TrackingFlags.NoLoop;
            else if (args.Is(j, "prefix") && moreArgs) prefixes.Add(args.ToArray(++j));
            else
            {
                c.Reply.Error(Errors.Syntax);
                return;
            }
        }

        var tracking = c.Server.Tracking;
        if (args.Is(2, "on"))
        {
            if (!CheckTrackingOptions(c, options, prefixes)) return;
            tracking.EnableTracking(c, redir, options, prefixes);
        }
        else if (args.Is(2, "off")) tracking.DisableTracking(c);
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        c.Reply.Ok();
    }

    /// <summary>The compatibility checks of CLIENT TRACKING ON, among the options and with the client's current mode.</summary>
    static bool CheckTrackingOptions(Client c, TrackingFlags options, List<byte[]> prefixes)
    {
        bool bcast = (options & TrackingFlags.Bcast) != 0;
        bool optin = (options & TrackingFlags.OptIn) != 0, optout = (options & TrackingFlags.OptOut) != 0;
        if (!bcast && prefixes.Count > 0)
        {
            c.Reply.Error("PREFIX option requires BCAST mode to be enabled");
            return false;
        }
        var st = Tracking.Tracking.StateOf(c);
        if (c.HasFlag(ClientFlags.Tracking) && st.Has(TrackingFlags.Bcast) != bcast)
        {
            c.Reply.Error("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
            return false;
        }
        if (bcast && (optin || optout))
        {
            c.Reply.Error("OPTIN and OPTOUT are not compatible with BCAST");
            return false;
        }
        if (optin && optout)
        {
            c.Reply.Error("You can't specify both OPTIN mode and OPTOUT mode");
            return false;
        }
        if ((optin && st.Has(TrackingFlags.OptOut)) || (optout && st.Has(TrackingFlags.OptIn)))
        {
            c.Reply.Error("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
            return false;
        }
        return !bcast || Tracking.Tracking.CheckPrefixCollisionsOrReply(c, prefixes) != 0;
    }

    /// <summary>CLIENT CACHING YES|NO: opts the next command in (OPTIN) or out (OPTOUT) of tracking.</summary>
    [Command("client|caching")]
    static void ClientCaching(Client c)
    {
        if (!c.HasFlag(ClientFlags.Tracking))
        {
            c.Reply.Error("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
            return;
        }
        var st = Tracking.Tracking.StateOf(c);
        if (c.Args.Is(2, "yes"))
        {
            if (!st.Has(TrackingFlags.OptIn))
            {
                c.Reply.Error("CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
                return;
            }
        }
        else if (c.Args.Is(2, "no"))
        {
            if (!st.Has(TrackingFlags.OptOut))
            {
                c.Reply.Error("CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
                return;
            }
        }
        else
        {
            c.Reply.Error(Errors.Syntax);
            return;
        }
        st.Flags |= TrackingFlags.Caching;
        c.Reply.Ok();
    }

    [Command("client|getredir")]
    static void ClientGetRedir(Client c) =>
        c.Reply.Integer(c.HasFlag(ClientFlags.Tracking) ? Tracking.Tracking.StateOf(c).Redirect : -1);

    /// <summary>CLIENT TRACKINGINFO: a map of flags (a set), redirect and prefixes.</summary>
    [Command("client|trackinginfo")]
    static void ClientTrackingInfo(Client c)
    {
        bool on = c.HasFlag(ClientFlags.Tracking);
        var st = Tracking.Tracking.StateOf(c);
        var flags = new List<string> { on ? "on" : "off" };
        if (st.Has(TrackingFlags.Bcast)) flags.Add("bcast");
        if (st.Has(TrackingFlags.OptIn))
        {
            flags.Add("optin");
            if (st.Has(TrackingFlags.Caching)) flags.Add("caching-yes");
        }
        if (st.Has(TrackingFlags.OptOut))
        {
            flags.Add("optout");
            if (st.Has(TrackingFlags.Caching)) flags.Add("caching-no");
        }
        if (st.Has(TrackingFlags.NoLoop)) flags.Add("noloop");
        if (st.Has(TrackingFlags.BrokenRedir)) flags.Add("broken_redirect");

        c.Reply.MapLen(3);
        c.Reply.Bulk("flags"u8);
        c.Reply.SetLen(flags.Count);
        foreach (var f in flags) c.Reply.Bulk(f);
        c.Reply.Bulk("redirect"u8);
        c.Reply.Integer(on ? st.Redirect : -1);
        c.Reply.Bulk("prefixes"u8);
        var prefixes = st.Prefixes;
        c.Reply.ArrayLen(prefixes?.Count ?? 0);
        if (prefixes != null) foreach (var p in prefixes) c.Reply.Bulk(p);
    }
}
