// The append-only file's parameters (config.c's appendonly, appendfsync, aof-* entries) as
// typed fields, because the write path reads them on every loop iteration. `appendonly` set at
// run time calls back into the AOF (updateAppendonly: startAppendOnly / stopAppendOnly), and
// its error becomes CONFIG SET's; at start-up (before a server exists) it only records the value.
namespace Cinnabar.Server;

/// <summary>appendfsync: AOF_FSYNC_NO, AOF_FSYNC_ALWAYS, AOF_FSYNC_EVERYSEC.</summary>
public enum AofFsync
{
    No,
    Always,
    Everysec,
}

public sealed partial class ServerConfig
{
    public bool AppendOnly;
    public AofFsync AppendFsync = AofFsync.Everysec;
    public bool AofTimestampEnabled;
    public bool AofLoadTruncated = true;
    public bool AofUseRdbPreamble = true;
    public bool NoAppendfsyncOnRewrite;

    /// <summary>updateAppendonly: set by the server once it runs; returns CONFIG SET's error, or null.</summary>
    public Func<bool, string?>? AppendOnlyChanged;

    void RegisterAof()
    {
        Register(new ConfigEntry
        {
            Name = "appendonly",
            Kind = ConfigKind.Bool,
            Default = "no",
            Apply = v =>
            {
                if (!ConfigEntry.TryParseBool(v, out bool b)) return "argument must be 'yes' or 'no'";
                bool previous = AppendOnly;
                AppendOnly = b;
                string? err = previous == b ? null : AppendOnlyChanged?.Invoke(b);
                if (err != null) AppendOnly = previous;
                return err;
            },
            Get = () => AppendOnly ? "yes" : "no",
        });
        Enum("appendfsync", "everysec", ["everysec", "always", "no"], v => AppendFsync = v switch
        {
            "always" => AofFsync.Always,
            "no" => AofFsync.No,
            _ => AofFsync.Everysec,
        }, () => AppendFsync switch
        {
            AofFsync.Always => "always",
            AofFsync.No => "no",
            _ => "everysec",
        });
        Bool("aof-timestamp-enabled", false, v => AofTimestampEnabled = v, () => AofTimestampEnabled);
        Bool("aof-load-truncated", true, v => AofLoadTruncated = v, () => AofLoadTruncated);
        Bool("aof-use-rdb-preamble", true, v => AofUseRdbPreamble = v, () => AofUseRdbPreamble);
        Bool("no-appendfsync-on-rewrite", false, v => NoAppendfsyncOnRewrite = v, () => NoAppendfsyncOnRewrite);
    }
}
