// cinnabar-server: the executable. Parses `cinnabar-server [/path/to/redis.conf] [--name value ...]`
// as redis-server does, prints the banner and serves until SHUTDOWN, SIGINT or SIGTERM. With
// --sentinel (anywhere), or run under a name containing redis-sentinel, it is a Sentinel
// (checkForSentinelMode): port 26379 and protected-mode off by default, and a writable config
// file is required, since Sentinel saves its state there. -v/--version and -h/--help answer
// without starting (SpecialOptions.cs). The server owns this process: it logs to stdout.
using System.Runtime.InteropServices;
using Cinnabar;
using Cinnabar.Server;

if (SpecialOptions.Handle(args, Console.Out, Console.Error) is int exitCode) return exitCode;
var config = new ServerConfig { OwnsProcess = true };
var log = new Logger(config);
bool sentinelMode = args.Contains("--sentinel") || Path.GetFileName(Environment.GetCommandLineArgs()[0]).Contains("redis-sentinel", StringComparison.Ordinal);
if (sentinelMode)
{
    args = args.Where(a => a != "--sentinel").ToArray();
    config.SentinelMode = true;
    config.Set("port", Cinnabar.Sentinel.Sentinel.DefaultPort.ToString(System.Globalization.CultureInfo.InvariantCulture), startup: true);
    config.Set("protected-mode", "no", startup: true);
}
CinnabarServer server;
try
{
    ConfigLoader.LoadFromCommandLine(config, args);
    if (sentinelMode && SentinelConfigFileError(config) is { } sentinelError)
    {
        log.Warning(sentinelError);
        return 1;
    }
    server = new CinnabarServer(config, log);
}
catch (ConfigException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

server.BeforeLoadingData = () => Banner.PrintLogo(server);
try
{
    server.Start();
}
catch (InvalidOperationException e)
{
    if (e.Message.Length > 0) server.Log.Warning(e.Message); // an AOF failure's last line is Redis's own
    return 1;
}
Banner.PrintReady(server);

using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx =>
{
    ctx.Cancel = true;
    server.RequestShutdown("SIGINT");
});
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx =>
{
    ctx.Cancel = true;
    server.RequestShutdown("SIGTERM");
});
server.WaitForShutdown();
return 0;

// sentinelCheckConfigFile: Sentinel writes its state to its config file, so it needs one it can write.
static string? SentinelConfigFileError(ServerConfig config)
{
    if (config.ConfigFile == null) return "Sentinel needs config file on disk to save state. Exiting...";
    try
    {
        using var f = new FileStream(config.ConfigFile, FileMode.Open, FileAccess.Write);
        return null;
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
    {
        return $"Sentinel config file {config.ConfigFile} is not writable: {Logger.StrError(e)}. Exiting...";
    }
}
