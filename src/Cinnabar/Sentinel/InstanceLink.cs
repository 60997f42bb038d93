// instanceLink: the two connections a Sentinel keeps to an instance (commands, and Pub/Sub for
// the hello channel; Sentinels get only the first) with the timestamps failure detection reads.
// The link, not the instance, is what answers PINGs, so the same Sentinel seen in the context of
// several masters shares one link (refcount > 1) and is pinged once.
using Cinnabar.Networking;

namespace Cinnabar.Sentinel;

public sealed class InstanceLink
{
    /// <summary>How many instances use this link (more than one only for Sentinels).</summary>
    public int RefCount = 1;

    /// <summary>True when the commands connection, or a master's or replica's Pub/Sub connection, is missing.</summary>
    public bool Disconnected = true;

    /// <summary>Commands sent and not answered yet (at most SENTINEL_MAX_PENDING_COMMANDS per owner).</summary>
    public int PendingCommands;

    public OutboundConnection? Commands;
    public OutboundConnection? PubSub;

    public long CommandsConnectedTime, PubSubConnectedTime;
    public long PubSubLastActivity;

    /// <summary>Last time a ping got a reply meaning "available" (PONG, LOADING, MASTERDOWN).</summary>
    public long LastAvailTime;

    /// <summary>When the oldest unanswered ping was sent; 0 once a reply came.</summary>
    public long ActPingTime;

    public long LastPingTime;

    /// <summary>Last time a ping got any reply (an error too).</summary>
    public long LastPongTime;

    public long LastReconnectTime;

    public InstanceLink(long now)
    {
        // act_ping_time starts at "now": an instance never reached times out like one that stopped answering.
        ActPingTime = now;
        LastAvailTime = now;
        LastPongTime = now;
    }

    /// <summary>instanceLinkCloseConnection: closes one of the two connections; the link is reconnected later.</summary>
    public void CloseConnection(OutboundConnection? c)
    {
        if (c == null) return;
        if (Commands == c)
        {
            Commands = null;
            PendingCommands = 0;
        }
        if (PubSub == c) PubSub = null;
        Disconnected = true;
        c.Close();
    }

    public void CloseBoth()
    {
        CloseConnection(Commands);
        CloseConnection(PubSub);
    }
}
