// How an embedded server reports that it stopped where redis-server would have exited on an
// unrecoverable error (CinnabarServer.Exit): its Completion faults with this, carrying the exit
// code the process would have ended with. The log says what went wrong, as Redis's does.
namespace Cinnabar.Server;

public sealed class ServerExitException(int exitCode)
    : Exception($"The server stopped on an unrecoverable error, where redis-server would have exited with code {exitCode}; its log says why.")
{
    public int ExitCode { get; } = exitCode;
}
