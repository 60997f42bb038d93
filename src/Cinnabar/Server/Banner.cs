// The start-up banner and log lines redis-server prints, so operators and log scrapers see
// the familiar "Server initialized" / "Ready to accept connections" sequence.
namespace Cinnabar.Server;

public static class Banner
{
    /// <summary>The logo and "Server initialized": printed before the dataset is loaded, as redis-server does.</summary>
    public static void PrintLogo(CinnabarServer s)
    {
        var log = s.Log;
        log.Notice("oO0OoO0OoO0Oo Cinnabar is starting oO0OoO0OoO0Oo");
        log.Notice($"Cinnabar version={CinnabarServer.CinnabarVersion} (Redis {CinnabarServer.RedisVersion} compatible), bits=64, pid={Environment.ProcessId}, just started");
        if (s.Config.ConfigFile == null)
            log.Warning("Warning: no config file specified, using the default config. In order to specify a config file use cinnabar-server /path/to/redis.conf");
        else log.Notice("Configuration loaded");
        if (log.Enabled(2))
        {
            log.Raw($"""
                                _._
                           _.-``__ ''-._
                      _.-``    `.  `_.  ''-._           Cinnabar {CinnabarServer.CinnabarVersion} (Redis {CinnabarServer.RedisVersion} compatible) 64 bit
                  .-`` .-```.  ```\/    _.,_ ''-._
                 (    '      ,       .-`  | `,    )     Running in {(s.Sentinel != null ? "sentinel" : "standalone")} mode
                 |`-._`-...-` __...-.``-._|'` _.-'|     Port: {s.Config.Port}
                 |    `-._   `._    /     _.-'    |     PID: {Environment.ProcessId}
                  `-._    `-._  `-./  _.-'    _.-'
                 |`-._`-._    `-.__.-'    _.-'_.-'|
                 |    `-._`-._        _.-'_.-'    |
                  `-._    `-._`-.__.-'_.-'    _.-'
                 |`-._`-._    `-.__.-'    _.-'_.-'|
                 |    `-._`-._        _.-'_.-'    |
                  `-._    `-._`-.__.-'_.-'    _.-'
                      `-._    `-.__.-'    _.-'
                          `-._        _.-'
                              `-.__.-'

            """);
        }
        if (s.Sentinel != null) log.Notice($"Running mode=sentinel, port={s.Config.Port}.");
        else log.Notice("Server initialized");
    }

    /// <summary>Once loaded and bound.</summary>
    public static void PrintReady(CinnabarServer s)
    {
        var log = s.Log;
        log.Notice($"Event loop uses {s.Loop.PollerName}");
        log.Notice("Ready to accept connections tcp");
    }
}
