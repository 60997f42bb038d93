// Runs code on a started server's event-loop thread (where all keyspace access must happen)
// and waits for the result: used to inspect objects and to measure per-command allocation.
using System.Text;
using Cinnabar.Keyspace;

namespace Cinnabar.Tests.Commands;

internal static class LoopAccess
{
    public static T Run<T>(CinnabarServer server, Func<T> f)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Loop.Post(() =>
        {
            try { tcs.SetResult(f()); }
            catch (Exception e) { tcs.SetException(e); }
        });
        return tcs.Task.WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
    }

    /// <summary>The encoding of a key in db 0, or null when missing.</summary>
    public static ObjEncoding? EncodingOf(CinnabarServer server, string key) =>
        Run(server, () => server.Databases[0].Main.Find(Encoding.UTF8.GetBytes(key))?.Encoding);
}
