// How a mechanism (transactions, Pub/Sub, blocking, monitor, ...) attaches itself to a server
// without the server knowing it by name: each implements IServerMechanism and is found by
// reflection once, when the server is constructed, and installs its hooks and client state.
namespace Cinnabar.Server;

public interface IServerMechanism
{
    void Install(CinnabarServer server);
}

public static class Extensions
{
    public static void Initialize(CinnabarServer server)
    {
        var types = typeof(Extensions).Assembly.GetTypes()
            .Where(t => typeof(IServerMechanism).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
            .OrderBy(t => t.FullName, StringComparer.Ordinal);
        foreach (var t in types)
        {
            var m = (IServerMechanism)Activator.CreateInstance(t)!;
            m.Install(server);
        }
    }
}
